"""vmatlas env against /proc/PID/{cmdline,environ,auxv} and the changes the
fixture made with setenv/unsetenv."""
import os
import struct
import subprocess

from lib import FIXTURES, region_of, run, run_json


def start_envfix():
    env = dict(os.environ, VMATLAS_CHANGED="before", VMATLAS_REMOVED="gone")
    p = subprocess.Popen([os.path.join(FIXTURES, "envfix"), "one", "two words", ""],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    import json
    return p, json.loads(p.stdout.readline())["pid"]


def test_env_against_proc():
    p, pid = start_envfix()
    try:
        doc = run_json(["env", str(pid)])
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmdline = f.read().split(b"\0")[:-1]
        with open(f"/proc/{pid}/environ", "rb") as f:
            environ = f.read().split(b"\0")[:-1]
        with open(f"/proc/{pid}/auxv", "rb") as f:
            raw = f.read()
        text = run(["env", str(pid)]).stdout
        m = run_json(["map", str(pid), "--usage", "stack"])
    finally:
        p.stdin.close()
        p.wait()
    assert [a["value"].encode() for a in doc["argv"]] == cmdline
    assert [a["value"].encode() for a in doc["envp"]] == environ
    assert doc["exe"] == os.path.realpath(os.path.join(FIXTURES, "envfix"))
    assert doc["cwd"] == os.getcwd()
    live = doc["environ"]
    assert live["valid"]
    assert live["added"] == ["VMATLAS_ADDED=added value"]
    assert live["changed"] == [{"live": "VMATLAS_CHANGED=after", "initial": "VMATLAS_CHANGED=before"}]
    assert live["removed"] == ["VMATLAS_REMOVED=gone"]
    assert len(live["live"]) == len(environ)   # one added, one removed
    pairs = [struct.unpack_from("<QQ", raw, i) for i in range(0, len(raw), 16)]
    pairs = [p for p in pairs if p[0] != 0]
    assert [(a["type"], int(a["value"], 16)) for a in doc["auxv"]] == pairs
    names = {a["name"]: a for a in doc["auxv"]}
    assert names["AT_EXECFN"]["string"] == os.path.join(FIXTURES, "envfix")
    assert names["AT_PLATFORM"]["string"] == "x86_64"
    assert [l["module"] for l in doc["link_map"]][:2] == ["envfix", "linux-vdso.so.1"]
    assert {"clock_gettime", "gettimeofday"} <= {v["name"] for v in doc["vdso"]}
    assert "~" in text and "VMATLAS_CHANGED=after   (was before)" in text
    assert "- " in text and "AT_RANDOM" in text
    # and on the map: where they live
    contents = {}
    for a in m["allocations"]:
        for r in a["regions"]:
            for c in r["contents"]:
                contents[c["name"]] = c
    argv = contents["argv pointers"]
    assert argv["size"] == (len(cmdline) + 1) * 8
    assert int(contents["argv strings"]["addr"], 16) == int(doc["argv"][0]["addr"], 16)
    assert int(contents["AT_RANDOM"]["addr"], 16) == int(names["AT_RANDOM"]["value"], 16)
    assert contents["auxv"]["size"] == (len(pairs) + 1) * 16
