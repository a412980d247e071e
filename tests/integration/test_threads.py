"""vmatlas threads: call stacks against eu-stack, start routines, stack use,
and threads that come and go while they are read."""
import json
import re
import subprocess

from lib import FIXTURES, assert_not_held, fixture, no_sanitizer_reports, run, run_json, wait_blocked


def eu_stack(pid):
    """{tid: [pc, ...]} as eu-stack unwinds them"""
    out = subprocess.run(["eu-stack", "-p", str(pid)], capture_output=True, text=True).stdout
    res, tid = {}, None
    for line in out.splitlines():
        m = re.match(r"TID (\d+):", line)
        if m:
            tid = int(m.group(1))
            res[tid] = []
            continue
        m = re.match(r"#\d+\s+0x([0-9a-f]+)", line)
        if m and tid is not None:
            res[tid].append(int(m.group(1), 16))
    return res


def functions(th):
    return [f["function"] for f in th["frames"]]


def by_tid(doc):
    return {t["tid"]: t for t in doc["threads"]}


def check_against_eu_stack(name, prefix=False):
    with fixture(name=name) as (p, t):
        wait_blocked(t["pid"])   # both unwinds must see the same moment
        doc = run_json(["threads", str(t["pid"])])
        eu = eu_stack(t["pid"])
        assert_not_held(t["pid"])
    threads = by_tid(doc)
    assert set(threads) == set(eu), (set(threads), set(eu))
    for tid, pcs in eu.items():
        ours = [int(f["pc"], 16) for f in threads[tid]["frames"]]
        if prefix:
            ours = ours[:len(pcs)]
        assert ours == pcs, (name, tid, [hex(x) for x in ours], [hex(x) for x in pcs])
    return t, threads


def test_stacks_match_eu_stack():
    t, th = check_against_eu_stack("stacks")
    assert functions(th[t["alpha"]])[1:6] == ["block", "level3", "level2", "level1", "alpha"]
    beta = functions(th[t["beta"]])
    assert beta[1] == "block" and beta[2:8] == ["recurse"] * 6 and beta[8] == "beta"
    gamma = th[t["gamma"]]["frames"]
    names = [f["function"] for f in gamma]
    i = names.index("on_usr1")
    assert names[:i + 1][-3:] == ["block", "in_handler", "on_usr1"]
    assert gamma[i + 1].get("signal") and gamma[i + 1]["function"] == "__restore_rt"
    assert names[i + 3] == "waiting"
    for tid in (t["alpha"], t["beta"], t["gamma"]):
        x = th[tid]
        assert x["start_source"] == "thread_db" and x["start_symbol"] == "stacks!" + x["name"].replace("gamma", "gamma_")
        assert x["frames"][0]["method"] == "registers" and x["frames"][1]["method"] == "cfi"
        assert x["frames"][1]["file"].endswith("tests/fixtures/stacks.c") and x["frames"][1]["line"] > 0
        for f in x["frames"]:
            assert f["sp"] is not None
        sps = [int(f["sp"], 16) for f in x["frames"]]
        assert sps == sorted(sps)   # the stack grows down: callers are above
    main = next(x for x in th.values() if x["main"])
    assert main["start_source"] == "entry" and main["start_symbol"] == "stacks!_start"


def test_static_and_32bit_programs():
    t, th = check_against_eu_stack("stacks-static")
    assert functions(th[t["alpha"]])[1:6] == ["block", "level3", "level2", "level1", "alpha"]
    assert th[t["beta"]]["start_symbol"] == "stacks-static!beta"
    # on i386 eu-stack (and gdb) stop at main, whose CFI realigns the
    # stack; vmatlas goes on to __libc_start_main and _start
    t, th = check_against_eu_stack("stacks32", prefix=True)
    assert functions(th[t["alpha"]])[2:7] == ["block", "level3", "level2", "level1", "alpha"]


def test_stack_use_and_high_water():
    with fixture(name="stacks") as (p, t):
        doc = run_json(["threads", str(t["pid"])])
        maps = run_json(["map", str(t["pid"])])
    th = by_tid(doc)
    d = th[t["delta"]]
    st = d["stack"]
    # deep() once put 64 KiB on this stack; it returned, so little is used now
    assert st["high_water"] >= 64 * 1024 > st["used"], st
    assert st["used"] == int(st["top"], 16) - int(d["sp"], 16)
    for x in th.values():
        base, size = int(x["stack"]["base"], 16), x["stack"]["size"]
        assert base < int(x["sp"], 16) < base + size
        assert x["stack"]["high_water"] >= x["stack"]["used"] - 256
        if not x["main"]:
            # glibc's thread control block sits at the top of the mapping
            assert int(x["stack"]["top"], 16) == int(x["tls"], 16)
            assert x["stack"]["guard_size"] > 0
    # the same stacks the map found
    mt = {x["tid"]: x for x in maps["threads"]}
    for tid, x in th.items():
        assert x["stack"]["base"] == mt[tid]["stack"]["base"]


def test_options_and_text():
    with fixture(name="stacks") as (p, t):
        pid = str(t["pid"])
        one = run_json(["threads", pid, "--tid", str(t["beta"]), "--frames", "3"])
        text = run(["threads", pid, "--regs"])
        missing = run(["threads", pid, "--tid", "1"])
        bad = run(["threads", pid, "--frames", "0"])
    assert len(one["threads"]) == 1 and len(one["threads"][0]["frames"]) == 3
    regs = one["threads"][0]["registers"]
    assert {"rip", "rsp", "rbp", "fs_base"} <= set(regs)
    assert regs["rip"] == one["threads"][0]["pc"]
    assert text.returncode == 0 and "Thread %d \"alpha\"" % t["alpha"] in text.stdout
    assert re.search(r"#1\s+(?:[0-9a-f-]+\s+){2}[0-9a-f]+\s+stacks!block\+0x[0-9a-f]+\s+\S+stacks\.c:\d+", text.stdout)
    assert "<signal frame>" in text.stdout and "rip" in text.stdout
    assert missing.returncode == 1 and "no thread 1" in missing.stderr
    assert bad.returncode == 2


def test_threads_that_come_and_go():
    with fixture("--churn", 4, name="stacks") as (p, t):
        for _ in range(15):
            r = run(["threads", str(t["pid"]), "--json"])
            no_sanitizer_reports(r.stderr)
            assert r.returncode == 0, r.stderr
            doc = json.loads(r.stdout)
            assert {t["alpha"], t["beta"], t["gamma"]} <= {x["tid"] for x in doc["threads"]}
        assert_not_held(t["pid"])
        assert p.poll() is None


def present_pages(pid, base, size):
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        f.seek(base // 4096 * 8)
        raw = f.read(size // 4096 * 8)
    return sum(1 for i in range(0, len(raw), 8) if int.from_bytes(raw[i:i + 8], "little") >> 63)


def test_reading_does_not_fault_pages_in():
    """Looking must not touch: no command may fault zero pages into the
    target's untouched stack pages."""
    with fixture(name="stacks") as (p, t):
        pid = str(t["pid"])
        doc = run_json(["map", pid, "--no-stats"])
        stacks = [(int(x["stack"]["base"], 16), x["stack"]["size"]) for x in doc["threads"]
                  if not x["main"]]
        before = [present_pages(t["pid"], b, s) for b, s in stacks]
        for args in (["map"], ["map", "--no-stats"], ["threads"], ["modules"], ["exports"],
                     ["sym", "0x10"]):
            r = run([args[0], pid] + args[1:])
            assert r.returncode == 0, r.stderr
        after = [present_pages(t["pid"], b, s) for b, s in stacks]
    assert before == after, (before, after)
    assert any(n < size // 4096 // 2 for n, (_, size) in zip(after, stacks))
