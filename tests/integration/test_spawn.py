"""vmatlas map -- PROGRAM: started, mapped at its entry point, then killed
(or left running with --keep)."""
import json
import os
import subprocess
import tempfile
import time

from lib import FIXTURES, VMATLAS, assert_not_held, kill_quietly, run


def gone(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def needed_libs(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout
    return [l.split("[")[1].split("]")[0] for l in out.splitlines() if "(NEEDED)" in l]


def test_spawn_maps_at_entry_and_kills():
    exe = os.path.join(FIXTURES, "layout")
    p = run(["map", "--json", "--", exe, "--quiet"])
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    pid = doc["target"]["pid"]
    assert doc["target"]["exe"] == os.path.realpath(exe)
    # at the entry point: every needed library is loaded, no thread created yet
    names = {m["name"] for m in doc["modules"]}
    for lib in needed_libs(exe):
        assert lib in names, (lib, names)
    assert len(doc["threads"]) == 1
    entry = next(m for m in doc["modules"] if m["name"] == "layout")["entry"]
    assert doc["threads"][0]["pc"] == entry
    assert gone(pid)


def test_spawn_run_and_keep():
    exe = os.path.join(FIXTURES, "layout")
    # the kept program inherits vmatlas's stdout: give it a file, not a pipe
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.run([VMATLAS, "map", "--json", "--run", "400", "--keep", "--", exe,
                            "--quiet", "--threads", "4"], stdout=out, stderr=err, timeout=60)
        err.seek(0)
        assert p.returncode == 0, err.read()
        out.seek(0)
        doc = json.load(out)
    pid = doc["target"]["pid"]
    try:
        assert len(doc["threads"]) == 5
        assert any(a["usage"] == "heap" for a in doc["allocations"])
        time.sleep(0.05)
        assert not gone(pid)
        assert_not_held(pid)
    finally:
        kill_quietly(pid)


def test_spawn_program_that_exits_early():
    p = run(["map", "--run", "300", "--", "true"])
    assert p.returncode == 1 and "exited" in p.stderr, p.stderr
