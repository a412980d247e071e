"""Issue #15, Linux usability items: what a new user met on real
programs (busybox-static, stripped static binaries, cores), checked on
fixtures and on programs .ci/run installs."""
import os
import re
import shutil
import struct
import subprocess
import tempfile
import time

from lib import FIXTURES, Skip, fixture, run, run_json, wait_blocked


def busybox():
    path = shutil.which("busybox")
    if not path:
        raise Skip("no busybox (busybox-static)")
    out = subprocess.run(["file", "-L", path], capture_output=True, text=True).stdout if shutil.which("file") else ""
    return path


def test_static_program_has_no_loader_list_warning():
    """busybox-static: no loader's list at all, so its images are not
    "not in the loader's list"; one line says why there is none"""
    bb = busybox()
    p = subprocess.Popen([bb, "sleep", "30"])
    try:
        time.sleep(0.2)
        text = run(["modules", str(p.pid)]).stdout
        doc = run_json(["modules", str(p.pid)])
    finally:
        p.kill()
        p.wait()
    if any("loader" in m["sources"] for m in doc["modules"]):
        raise Skip("this busybox is dynamically linked")
    assert "not in the loader's list" not in text, text
    assert "no loader's list: a statically linked program" in text


def test_stripped_static_threads_say_no_raw_libdwfl_message():
    bb = busybox()
    p = subprocess.Popen([bb, "sleep", "30"])
    try:
        time.sleep(0.2)
        text = run(["threads", str(p.pid)]).stdout
    finally:
        p.kill()
        p.wait()
    assert "No DWARF information found" not in text and "(No " not in text, text


def test_map_pages_in_free_space_is_an_error():
    with fixture() as (p, t):
        r = run(["map", str(t["pid"]), "--pages", "0x10000"])
    assert r.returncode == 1 and "0x10000 is in no region" in r.stderr, (r.returncode, r.stderr)


def test_usage_bogus_lists_the_valid_values():
    with fixture() as (p, t):
        r = run(["map", str(t["pid"]), "--usage", "bogus"])
    assert r.returncode == 2
    assert "usages: image, mapped, shareable, heap, stack, private, system, reserved, free" in r.stderr, r.stderr


def test_sym_stdin_goes_on_past_a_bad_line():
    """as addr2line: '??' for a line that is no address, then the rest"""
    with fixture() as (p, t):
        r = run(["sym", str(t["pid"]), "--stdin"], input="0x10\nnot-an-address\n0x20\n")
        j = run(["sym", str(t["pid"]), "--stdin", "--json"], input="0x10\nnope\n0x20\n")
    lines = r.stdout.splitlines()
    assert r.returncode == 0 and len(lines) == 3, (r.returncode, r.stdout, r.stderr)
    assert lines[1] == "not-an-address  ??" and lines[2].startswith("0x20")
    assert "1 line on standard input was not an address" in r.stderr
    import json
    doc = json.loads(j.stdout)
    assert len(doc) == 3 and doc[1]["text"] == "??" and doc[1]["input"] == "nope"


def test_scan_one_candidate_grammar():
    with tempfile.TemporaryDirectory() as d, fixture(name="symfix") as (p, t):
        s = os.path.join(d, "s.scan")
        # the sized object's second word is in one place only
        r = run(["scan", "start", str(t["pid"]), "--u64", str(0x2222222222222222), "-o", s])
    assert re.search(r"round 1: 1 candidate \(u64\)", r.stdout), r.stdout


def test_core_without_statistics_shows_unknown_not_zero():
    """a core has no smaps: RSS, private and shared are unknown ("–" in
    the text, null in JSON), not 0 B"""
    with tempfile.TemporaryDirectory() as d, fixture() as (p, t):
        gc = subprocess.run(["gcore", "-o", os.path.join(d, "g"), str(t["pid"])], capture_output=True,
                            text=True, timeout=120)
        core = os.path.join(d, f"g.{t['pid']}")
        if not os.path.exists(core):
            raise Skip("gcore wrote no core: " + gc.stderr[-300:])
        text = run(["map", core]).stdout
        doc = run_json(["map", core])
    rows = {l.split()[0]: l for l in text.splitlines()[:20] if l.split()}
    assert "0 B" not in rows["total"].split("     ")[2:4] and "\u2013" in rows["total"], rows["total"]
    assert "\u2013" in rows["image"], rows["image"]
    total = doc["total"]
    assert total["rss"] is None and total["committed"] > 0, total


def test_open_a_process_by_name():
    """`vmatlas map NAME`: the one process called NAME; several: a list
    to choose from, with their PIDs and command lines"""
    import json
    import random
    with tempfile.TemporaryDirectory() as d:
        name = f"vmx{random.randrange(10**6)}"
        exe = os.path.join(d, name)
        shutil.copy(os.path.join(FIXTURES, "symfix"), exe)
        procs = []
        try:
            for _ in range(2):
                p = subprocess.Popen([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                procs.append((p, json.loads(p.stdout.readline())))
                if len(procs) == 1:
                    one = run_json(["modules", name])
            two = run(["modules", name])
        finally:
            for p, _ in procs:
                p.stdin.close()
                p.wait()
        none = run(["modules", name])
    assert any(m["name"] == name for m in one["modules"]), one
    pids = [t["pid"] for _, t in procs]
    assert two.returncode == 1 and f"2 processes are called '{name}'" in two.stderr, two.stderr
    assert all(str(pid) in two.stderr for pid in pids)
    assert none.returncode == 1 and "not a process id, 'self', a process name or a readable file" in none.stderr


def jit_frames(*args):
    with fixture(*args, name="symfix") as (p, t):
        pid = str(t["pid"])
        wait_blocked(t["pid"])  # the JIT thread in its read
        th = run_json(["threads", pid, "--tid", str(t["tid_jit"]), "--no-lines"])["threads"][0]
        text = run(["map", pid]).stdout
        sym = run_json(["sym", pid, hex(t["jit"] + 4)])[0]
    return t, th, text, sym


def test_jit_code_labelled_and_frames_named():
    """anonymous executable memory is labelled as such; a frame in it is
    [jit]+off, and the stack goes on past it (frame pointers)"""
    t, th, text, sym = jit_frames()
    line = next(l for l in text.splitlines() if l.strip().startswith(f"{t['jit']:016x}") and "commit" in l)
    assert "anonymous executable memory (JIT?)" in line, line
    names = [f["symbol"] for f in th["frames"]]
    k = next(i for i, n in enumerate(names) if n.startswith("[jit]"))
    assert names[k] == "[jit]+0x12", names
    assert names[k + 1].startswith("symfix!jit_thread+"), names
    assert sym["text"] == "[jit]+0x4" and sym["module"] is None


def test_jit_frames_named_by_the_perf_map():
    t, th, text, sym = jit_frames("--perf-map")
    names = [f["symbol"] for f in th["frames"]]
    assert "[jit]!jitted_fn+0x12" in names, names
    assert sym["text"] == "[jit]!jitted_fn+0x4" and sym["symbol"] == "jitted_fn"


def test_overwritten_argv_and_environment_in_one_line():
    """a process title written over argv and the environment (nginx):
    one line says so and shows what the area holds now; the live
    environment (moved to the heap) is listed, no empty 'removed' rows"""
    env = {"FOO": "bar", "LONGER": "y" * 40}
    p = subprocess.Popen([os.path.join(FIXTURES, "symfix"), "--title", "a", "bb"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, env=env)
    import json
    try:
        t = json.loads(p.stdout.readline())
        text = run(["env", str(t["pid"])]).stdout
        doc = run_json(["env", str(t["pid"])])
        plain = run(["env", "self"]).stdout
    finally:
        p.stdin.close()
        p.wait()
    assert 'overwritten by the process (a process title); they now say: "symfix: worker process"' in text, text
    head = text.split("auxv:")[0]
    assert "[1]" not in head and "  - " not in head, head
    assert "FOO=bar" in head
    assert doc["area_overwritten"] is True and doc["area_now"] == "symfix: worker process"
    assert "overwritten" not in plain and "argv: " in plain


def test_stack_in_use_has_one_definition():
    """map's "stack in use" and threads' "in use" are the same bytes: from
    sp up to where the stack starts (below a thread's control block)"""
    with fixture("--threads", 2) as (p, t):
        pid = str(t["pid"])
        wait_blocked(t["pid"])  # every sp where it stays
        doc = run_json(["map", pid])
        th = run_json(["threads", pid, "--no-lines"])
    used = {}
    for a in doc["allocations"]:
        for r in a["regions"]:
            for c in r.get("contents", []):
                if c["name"] == "stack in use":
                    used[c["tid"]] = c["size"]
    assert used
    for x in th["threads"]:
        if x["tid"] in used:
            assert x["stack"]["used"] == used[x["tid"]], (x["tid"], x["stack"], used[x["tid"]])


def test_details_column_says_each_thing_once():
    """the details column: sections (no segment types or dynamic tags
    beside them: those with -c), each name once, repeats counted"""
    with fixture(name="modfix") as (p, t):
        pid = str(t["pid"])
        flat = run(["map", pid, "--flat"]).stdout
        full = run(["map", pid, "-c"]).stdout
    for line in flat.splitlines():
        if ": " not in line or " image " not in line:
            continue
        details = line.split(": ", 1)[1]
        names = [n.strip() for n in details.split(", ")]
        assert len(names) == len(set(names)), line
        if any(n.startswith(".") for n in names):
            assert not any(n.startswith("DT_") or n in ("DYNAMIC", "GNU_RELRO", "NOTE", "GNU_EH_FRAME")
                           for n in names), line
    assert re.search(r"\b\d+ link_map entries\b", flat), [l for l in flat.splitlines() if "link_map" in l]
    assert "DT_SYMTAB" in full and "GNU_RELRO" in full


def test_view_of_a_copy_relocated_variable_reads_the_copy_in_use():
    """libc.so.6!environ: the executable holds the copy (COPY relocation)
    every module is bound to; the library's original is unused"""
    with fixture(name="symfix") as (p, t):
        pid = str(t["pid"])
        doc = run_json(["view", pid, "libc.so.6!environ", "8"])
    assert int(doc["addr"], 16) == t["copy"], (doc["addr"], hex(t["copy"]))
    assert int.from_bytes(bytes.fromhex(doc["bytes"]), "little") == t["environ_value"]


def test_regex_literal_prefilter_finds_the_same():
    """search --regex with a literal every match holds (the prefilter)
    finds what the same expression without one finds, straddling the
    read chunks included"""
    with fixture(name="searchfix") as (p, t):
        pid = str(t["pid"])
        cases = [("VMATLAS-(START|STRADDLE|END)", "[V][M][A][T][L][A][S]-(START|STRADDLE|END)"),
                 ("VMATLAS-S[A-Z]+", "[V][M][A][T][L][A][S]-[S][A-Z]+"),
                 ("x*VMATLAS-E?ND", "x*[V][M][A][T][L][A][S]-E?[N][D]"),
                 ("(VMATLAS)+-START", "([V][M][A][T][L][A][S])+-[S][T][A][R][T]")]
        for fast, slow in cases:
            a = run_json(["search", pid, "--regex", fast, "--include-ro"])
            b = run_json(["search", pid, "--regex", slow, "--include-ro"])
            ha = sorted(h["addr"] for h in a["hits"])
            hb = sorted(h["addr"] for h in b["hits"])
            assert ha == hb and ha, (fast, ha, hb)


def test_minidump_without_statistics_shows_unknown_not_zero():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    dmps = [os.path.join(root, *up, "shared", "corpora", "minidump", "breakpad-ascii_read_av.dmp")
            for up in ([".."], ["..", ".."])]
    dmp = next((d for d in dmps if os.path.exists(d)), None)
    if not dmp:
        raise Skip("no minidump corpus")
    text = run(["map", dmp]).stdout
    doc = run_json(["map", dmp])
    total = next(l for l in text.splitlines() if l.startswith("total"))
    assert "\u2013" in total and doc["total"]["rss"] is None, total
