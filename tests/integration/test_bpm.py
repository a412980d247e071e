"""Memory breakpoints (bpm) against bpmfix, which prints its truth on
stderr: every access to the watched ranges (instruction, kind, address,
size) and a checksum of its data. vmatlas must report exactly those hits
and the checksum must be the one of a run without a debugger."""
import json
import os
import re
import subprocess
import tempfile

import schema
from lib import FIXTURES, VMATLAS, no_sanitizer_reports

BPMFIX = os.path.join(FIXTURES, "bpmfix")
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "json-schema.json")) as _f:
    SCHEMA = json.load(_f)

RANGES = ["bpm rw bpm_buf+0x800 16 --pages", "bpm w bpm_buf+0x1800 16 --pages",
          "bpm r bpm_buf+0x2800 16 --pages", "bpm w bpm_buf+0xffc 8 --pages"]
NHITS = 15  # as many as bpmfix's truth has


def run(commands, json_out=True, timeout=60):
    with tempfile.NamedTemporaryFile("w", suffix=".dbg", delete=False) as f:
        f.write("\n".join(commands) + "\n")
        path = f.name
    try:
        argv = [VMATLAS, "debug"] + (["--json"] if json_out else []) + ["--batch", path, "--", BPMFIX]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    finally:
        os.unlink(path)
    no_sanitizer_reports(p.stderr)
    out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")] if json_out else p.stdout
    if json_out:
        for doc in out:
            schema.validate(SCHEMA, "debug", doc)
    truth = None
    for l in p.stderr.splitlines():
        if l.startswith('{"buf"'):
            # after a detach the program writes it while vmatlas may still
            # write its own lines: a line cut by another is not the truth
            try:
                truth = json.loads(l)
            except ValueError:
                pass
    return p, out, truth


def native_truth():
    p = subprocess.run([BPMFIX], capture_output=True, text=True, timeout=60)
    return json.loads([l for l in p.stderr.splitlines() if l.startswith('{"buf"')][0])


def test_bpm_reports_exactly_the_truth_and_the_program_sees_nothing():
    p, out, truth = run(["break bpm_start", "break bpm_done", "continue"] + RANGES + ["info bpm"] +
                        ["continue"] * NHITS + ["continue", "delete all", "continue"])
    assert p.returncode == 0, (p.stdout[-3000:], p.stderr[-3000:])
    assert truth, p.stderr[-2000:]
    hits = [o for o in out if o.get("event") == "watchpoint"]
    got = sorted((int(h["pc"], 16), h["access"][0], int(h["addr"], 16), h["len"]) for h in hits)
    want = sorted((t["pc"], t["kind"], t["addr"], t["size"]) for t in truth["truth"])
    assert got == want, (got, want)
    assert all(h["pages"] and h["insn"] for h in hits)
    # the one stop after the hits is bpm_done's
    assert [o["id"] for o in out if o.get("event") == "breakpoint"] == [1, 2]
    assert truth["checksum"] == native_truth()["checksum"]
    info = [o for o in out if o.get("command") == "info"][0]["breakpoints"]
    assert [(b["kind"], b["access"], b["len"], b["pages"]) for b in info] == [
        ("bpm", "rw", 16, True), ("bpm", "w", 16, True), ("bpm", "r", 16, True), ("bpm", "w", 8, True)]


def test_bpm_write_shows_old_and_new_bytes_and_instruction_text():
    p, out, truth = run(["break bpm_start", "continue", "bpm w bpm_buf+0x1800 16 --pages", "continue", "kill"],
                        json_out=False)
    m = re.search(r"memory breakpoint 2, thread \d+, write of 16 bytes at 0x[0-9a-f]+ by bpmfix!main\+0x[0-9a-f]+ "
                  r"\(.*bpmfix.c:\d+\): movdqu \[\w+\], xmm1, ([0-9a-f]{32}) -> (f{32})", out)
    assert m, out


def test_bpm_delete_restores_protection_and_pass_condition_group():
    # pass 2: the first hit of R0 (the store) is not reported, the load is;
    # disabling the group then lets everything run
    p, out, truth = run(["break bpm_start", "continue", "bpm rw bpm_buf+0x800 16 pass 2 group g --pages",
                         "continue", "disable group g", "info bpm", "continue"])
    assert p.returncode == 0, p.stderr[-2000:]
    hits = [o for o in out if o.get("event") == "watchpoint"]
    assert len(hits) == 1 and hits[0]["access"] == "r" and hits[0]["len"] == 4
    assert [o for o in out if o.get("event") == "exit"][0]["status"] == 0
    assert truth["checksum"] == native_truth()["checksum"]


def test_bpm_uses_a_debug_register_when_one_fits_else_pages():
    p, out, truth = run(["break bpm_start", "continue", "bpm w bpm_buf+0x800 8", "bpm w bpm_buf+0x801 8",
                         "bpm r bpm_buf+0x2800 8", "info bpm", "kill"])
    set_ = [o for o in out if o.get("command") == "bpm"]
    assert [s["ok"] for s in set_] == [True, True, True]
    assert [s["pages"] for s in set_] == [False, True, True]  # aligned w: DR; unaligned, read-only: pages
    assert "slot" in set_[0]


def test_bpm_refuses_vdso_and_unmapped_and_bad_usage():
    p, out, truth = run(["bpm r 0 16", "bpm w 0x10 4 --pages", "bpm q bpm_buf 4", "bpm w bpm_buf",
                         "kill"])
    r = [o for o in out if o.get("command") == "bpm"]
    assert [x["ok"] for x in r] == [False, False, False, False]
    assert "not mapped" in r[0]["error"] and "usage" in r[2]["error"] and "usage" in r[3]["error"]


def test_bpm_detach_leaves_original_protections():
    # detached with the pages protected: the program must run on unharmed
    p, out, truth = run(["break bpm_start", "continue"] + RANGES + ["detach"])
    assert p.returncode == 0, p.stderr[-2000:]
    # the program keeps running after detach: wait for its truth line
    # (it is the debugger's child; vmatlas waits for it before exiting or
    # the test finds its output in stderr)
    if truth is not None:
        assert truth["checksum"] == native_truth()["checksum"]


def test_bpm_fork_child_gets_original_protections():
    with tempfile.NamedTemporaryFile("w", suffix=".dbg", delete=False) as f:
        f.write("break bpm_start\ncontinue\nbpm rw bpm_buf+0x800 16 --pages\ncontinue\ncontinue\n")
        path = f.name
    try:
        p = subprocess.run([VMATLAS, "debug", "--json", "--batch", path, "--", BPMFIX, "fork"],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    finally:
        os.unlink(path)
    assert "child status 0" in p.stderr, (p.stdout[-2000:], p.stderr[-2000:])
    out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    assert [o for o in out if o.get("event") == "fork"]
    assert not [o for o in out if o.get("event") == "watchpoint"]


def run_mode(mode, commands, timeout=120):
    with tempfile.NamedTemporaryFile("w", suffix=".dbg", delete=False) as f:
        f.write("\n".join(commands) + "\n")
        path = f.name
    try:
        p = subprocess.run([VMATLAS, "debug", "--json", "--batch", path, "--", BPMFIX] + mode,
                           capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    finally:
        os.unlink(path)
    no_sanitizer_reports(p.stderr)
    out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    for doc in out:
        schema.validate(SCHEMA, "debug", doc)
    docs = [json.loads(l) for l in p.stderr.splitlines() if l.startswith("{")]
    return p, out, docs[-1] if docs else None


def native_mode(mode):
    p = subprocess.run([BPMFIX] + mode, capture_output=True, text=True, timeout=60)
    return json.loads([l for l in p.stderr.splitlines() if l.startswith("{")][-1])


def hits_of(out):
    return sorted((int(h["pc"], 16), h["access"][0], int(h["addr"], 16), h["len"])
                  for h in out if h.get("event") == "watchpoint")


def truth_of(truth):
    return sorted((t["pc"], t["kind"], t["addr"], t["size"]) for t in truth["truth"])


def test_bpm_follows_the_programs_mprotect_madvise_mremap_munmap():
    p, out, truth = run_mode(["mm"], ["break bpm_start", "break bpm_done", "continue",
                                      "bpm rw [bpm_mm]+0x800 16 --pages", "bpm w [bpm_mm]+0x1800 8 --pages",
                                      "bpm w [bpm_mm]+0x2800 8 --pages"] + ["continue"] * 7 +
                             ["info bpm", "delete all", "continue"])
    assert p.returncode == 0 and truth, (p.stdout[-3000:], p.stderr[-3000:])
    assert hits_of(out) == truth_of(truth)
    logs = [o["text"] for o in out if o.get("event") == "log"]
    assert [t.split(":")[1].strip() for t in logs] == ["its memory was remapped"] * 3 + ["its memory was unmapped"]
    assert logs[3].startswith("bpm 5 removed")
    info = [o for o in out if o.get("command") == "info"][0]["breakpoints"]
    assert [b["id"] for b in info] == [3, 4]  # 5 went with its page
    native = native_mode(["mm"])
    # the program's own protections stand (page 1 made read-only while
    # watched for writes), its data as without the debugger
    assert truth["perms"] == native["perms"] == "rw-p r--p none"
    assert truth["checksum"] == native["checksum"]


def test_bpm_signal_handler_on_an_alternate_stack_in_watched_pages():
    # the session stops for the signal (continue, or stepi into the
    # handler), or lets it through
    for how in ("stop", "stepi", "nostop"):
        cmds = (["handle SIGUSR1 nostop"] if how == "nostop" else []) + [
            "break bpm_start", "break bpm_done", "continue",
            "bpm rw bpm_sigstk+0x1010 8 --pages", "bpm rw bpm_sigstk+0x2010 8 --pages"]
        if how == "stepi":
            cmds += ["continue", "stepi"]
        cmds += ["continue"] * (7 if how == "stop" else 6 if how == "stepi" else 5) + ["delete all", "continue"]
        p, out, truth = run_mode(["sig"], cmds)
        assert p.returncode == 0 and truth, (p.stdout[-3000:], p.stderr[-3000:])
        if how == "stepi":
            st = [o for o in out if o.get("event") == "stopped"]
            assert len(st) == 1 and "on_usr1" in st[0]["where"], st
        assert hits_of(out) == truth_of(truth) and len(truth["truth"]) == 4
        assert not [o for o in out if o.get("event") == "crash"]
        assert [o for o in out if o.get("event") == "exit"][0]["status"] == 0
        assert truth["checksum"] == native_mode(["sig"])["checksum"]


def test_bpm_signals_during_steps_are_delivered_after_reprotection():
    # SIGALRM every 2 ms while writes to page 2 are stepped over it; each
    # handler reads the watched bytes: as many hits as handler runs
    p, out, truth = run_mode(["alarm", "1500"], [
        "break bpm_start", "break bpm_done", "continue", "bpm r bpm_buf+0x2808 4 log \"alarm\" --pages",
        "continue", "delete all", "continue"])
    assert p.returncode == 0 and truth, (p.stdout[-3000:], p.stderr[-3000:])
    logs = [o for o in out if o.get("event") == "log" and o.get("text") == "alarm"]
    assert truth["alarms"] >= 3 and len(logs) == truth["alarms"], (len(logs), truth)


def test_bpm_other_threads_are_held_while_one_steps_over_a_lifted_page():
    # one thread's writes to unwatched bytes of page 1 are stepped over
    # the lifted page while another writes the watched bytes 300 times
    p, out, truth = run_mode(["hammer", "300"], [
        "break bpm_start", "break bpm_done", "continue", "bpm w bpm_buf+0x1800 8 log \"hammer\" --pages",
        "continue", "delete all", "continue"])
    assert p.returncode == 0 and truth, (p.stdout[-3000:], p.stderr[-3000:])
    logs = [o for o in out if o.get("event") == "log" and o.get("text") == "hammer"]
    assert len(logs) == truth["writes"] == 300


def test_bpm_system_call_that_waits_for_a_held_thread():
    # read() into over R0 waits for another thread's write: run alone it
    # would wait for ever; it runs again with the others, fails with
    # EFAULT on the protected page and is made again alone
    # (or, single-threaded, for a child process: its pages stay lifted)
    for mode in (["pipe"], ["pipe", "fork"]):
        p, out, truth = run_mode(mode, ["break bpm_start", "break bpm_done", "continue",
                                        "bpm rw bpm_buf+0x800 16 --pages", "continue", "continue",
                                        "delete all", "continue"])
        assert p.returncode == 0 and truth, (p.stdout[-3000:], p.stderr[-3000:])
        assert hits_of(out) == truth_of(truth) and len(truth["truth"]) == 1
        hit = [o for o in out if o.get("event") == "watchpoint"][0]
        assert hit["insn"] == "syscall (read)" and hit["new_bytes"] == "70" * 16, hit
        assert truth["checksum"] == native_mode(mode)["checksum"]


def test_bpm_condition_variable_on_a_watched_page():
    # a condition variable in unwatched bytes of a page with no access:
    # the kernel's read of its futex word would fail with EFAULT (glibc
    # aborts); the wait runs with the page lifted, then waits with it
    # protected again while the signalling thread runs
    p, out, truth = run_mode(["futex"], ["break bpm_start", "break bpm_done", "continue",
                                         "bpm rw bpm_buf+0x800 16 --pages", "continue", "delete all", "continue"])
    assert p.returncode == 0 and truth, (p.stdout[-3000:], p.stderr[-3000:])
    assert not [o for o in out if o.get("event") in ("watchpoint", "crash")]
    assert [o for o in out if o.get("event") == "exit"][0]["status"] == 0
    assert truth["checksum"] == native_mode(["futex"])["checksum"] == 2


def test_bpm_on_the_program_break_goes_when_brk_gives_it_back():
    p, out, truth = run_mode(["brk"], ["break bpm_start", "break bpm_done", "continue",
                                       "bpm w [bpm_brk]+0x10 8 --pages", "continue", "continue", "info bpm",
                                       "continue"])
    assert p.returncode == 0 and truth, (p.stdout[-3000:], p.stderr[-3000:])
    assert hits_of(out) == truth_of(truth) and len(truth["truth"]) == 1
    assert [o["text"] for o in out if o.get("event") == "log"] == ["bpm 3 removed: its memory was unmapped"]
    assert [o for o in out if o.get("command") == "info"][0]["breakpoints"] == []
    assert truth["checksum"] == native_mode(["brk"])["checksum"]


def faults(out):
    return [o for o in out if o.get("command") == "info" and "page_faults" in o][-1]["page_faults"]


def test_bpm_faults_are_emulated_and_the_same_hits_come_out_stepped():
    # the same truth with the faulting instructions emulated (the default)
    # and with every one stepped over a lifted page (bpm-emulate off)
    for emulate in ("on", "off"):
        p, out, truth = run(["break bpm_start", "break bpm_done", "continue", "set bpm-emulate " + emulate] + RANGES +
                            ["continue"] * NHITS + ["continue", "info bpm", "delete all", "continue"], timeout=300)
        assert p.returncode == 0, (p.stdout[-3000:], p.stderr[-3000:])
        hits = [o for o in out if o.get("event") == "watchpoint"]
        got = sorted((int(h["pc"], 16), h["access"][0], int(h["addr"], 16), h["len"]) for h in hits)
        want = sorted((t["pc"], t["kind"], t["addr"], t["size"]) for t in truth["truth"])
        assert got == want, (emulate, got, want)
        assert truth["checksum"] == native_truth()["checksum"]
        assert truth["flags"] & 0x100 == 0
        f = faults(out)
        if emulate == "on":
            # the plain, SSE, AVX moves, REP MOVSB/STOSB, the straddling
            # store, pushf, the hot data: all emulated; the string
            # compares and loads are stepped (three REPE CMPSB, a REPNE
            # SCASB, a REP LODSB)
            assert f["emulated"] > 3000 and f["stepped"] == 5, f
        else:
            assert f["emulated"] == 0 and f["stepped"] > 3000, f


def test_bpm_hot_unwatched_writes_are_all_emulated():
    with tempfile.NamedTemporaryFile("w", suffix=".dbg", delete=False) as f:
        f.write("\n".join(["break bpm_start", "continue", 'bpm w bpm_buf+0x800 8 log "hit" --pages', "break bpm_done",
                           "continue", "info bpm", "kill"]) + "\n")
        path = f.name
    try:
        p = subprocess.run([VMATLAS, "debug", "--json", "--batch", path, "--", BPMFIX, "hot", "500"],
                           capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(path)
    out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    f = faults(out)
    assert f == {"emulated": 500, "stepped": 0, "uffd": 0}, f


def test_bpm_fast_mode_steps_with_threads_running():
    # fast mode, nothing emulated: every fault is a step with the other
    # threads let go. Its race (another thread may touch the lifted page
    # unseen during a step) can lose a hit of bpmfix's two threads; the
    # single-threaded ones are all there and nothing else is reported.
    # Log-only breakpoints: one continue runs to bpm_done, hits lost or not
    logged = [r.replace(" --pages", ' log "hit" --pages') for r in RANGES]
    p, out, truth = run(["break bpm_start", "break bpm_done", "continue", "set bpm-emulate off", "set bpm-mode fast"] +
                        logged + ["continue", "info bpm", "delete all", "continue"], timeout=300)
    assert p.returncode == 0, (p.stdout[-3000:], p.stderr[-3000:])
    assert all(o["ok"] for o in out if "command" in o), out
    got = sorted(int(o["pc"], 16) for o in out if o.get("event") == "log")
    want = [t["pc"] for t in truth["truth"]]
    assert set(got) <= set(want) and len(got) <= len(want), (got, want)
    assert set(want[:-2]) <= set(got), (got, want)  # the last two: the threads'
    assert truth["checksum"] == native_truth()["checksum"]
    f = faults(out)
    assert f["stepped"] > 3000 and f["emulated"] == 0, f
    assert [o for o in out if o.get("command") == "info"][-1]["bpm_mode"] == "fast"
    assert [o for o in out if o.get("event") == "breakpoint"][-1]["where"].endswith("bpm_done")


def test_bpm_uffd_write_protection_reports_the_writes():
    # write-only breakpoints by userfaultfd on R0 (as w), R1 and R3 (which
    # straddles pages 0 and 1): every write of the truth, nothing else
    uffd = ["bpm w bpm_buf+0x800 16 --uffd", "bpm w bpm_buf+0x1800 16 --uffd", "bpm w bpm_buf+0xffc 8 --uffd"]
    p, out, truth = run(["break bpm_start", "break bpm_done", "continue"] + uffd +
                        ["bpm r bpm_buf+0x10 4 --uffd", "bpm w bpm_buf+0x1810 4 --pages", "info bpm",
                         # the debugger's own write there: lifted around it (bpm_buf[i] = i * 7)
                         "write bpm_buf+0x1810 41", "mem bpm_buf+0x1810 1", "write bpm_buf+0x1810 70"] +
                        ["continue"] * 6 + ["continue", "info bpm", "delete all", "continue"])
    assert p.returncode == 1 and "2 commands failed" in p.stderr, (p.stdout[-3000:], p.stderr[-3000:])
    r = [o for o in out if o.get("command") == "bpm"]
    assert [x["ok"] for x in r] == [True, True, True, False, False], r
    assert "writes only" in r[3]["error"] and "do not share a page" in r[4]["error"]
    assert [x["ok"] for x in out if x.get("command") == "write"] == [True, True]
    assert [x for x in out if x.get("command") == "mem"][0]["values"] == [0x41]
    hits = [o for o in out if o.get("event") == "watchpoint"]
    got = sorted((int(h["pc"], 16), h["access"][0], int(h["addr"], 16), h["len"]) for h in hits)
    want = sorted((t["pc"], t["kind"], t["addr"], t["size"]) for t in truth["truth"] if t["kind"] == "w")
    assert got == want, (got, want)
    assert truth["checksum"] == native_truth()["checksum"]
    info = [o for o in out if o.get("command") == "info"]
    assert all(b["uffd"] for b in info[0]["breakpoints"])
    f = faults(out)
    assert f["uffd"] > 1000 and f["uffd"] == f["emulated"] + f["stepped"], f


def test_bpm_uffd_detach_and_kill_of_vmatlas_leave_nothing():
    # detached, or vmatlas killed by SIGTERM, with --uffd breakpoints armed:
    # the program writes the watched bytes afterwards and must not die of
    # SIGBUS (the userfaultfd is closed before its threads are let go)
    uffd = ["bpm w bpm_buf+0x800 16 --uffd", "bpm w bpm_buf+0x1800 16 --uffd"]
    p, out, truth = run(["break bpm_start", "continue"] + uffd + ["detach"])
    assert p.returncode == 0, p.stderr[-2000:]
    if truth is not None:
        assert truth["checksum"] == native_truth()["checksum"]
    with tempfile.NamedTemporaryFile("w", suffix=".dbg", delete=False) as f:
        f.write("\n".join(['bpm w bpm_buf+0x800 8 log "x" --uffd', "continue"]) + "\n")
        path = f.name
    try:
        # a long run writing bpm_buf+0x800 every 1000th iteration; vmatlas
        # attached by pid, killed by SIGTERM while the breakpoint is armed
        fx = subprocess.Popen([BPMFIX, "sparse", "300000000", "1000"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
        dbg = subprocess.Popen([VMATLAS, "debug", "--batch", path, str(fx.pid)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
        seen = 0
        for line in dbg.stdout:
            seen += line.strip() == "x"
            if seen >= 20:
                break
        dbg.terminate()
        dbg.wait(timeout=60)
        fx.wait(timeout=120)
        assert seen >= 20, dbg.stderr.read()
        assert fx.returncode == 0, (fx.returncode, dbg.stderr.read())
    finally:
        os.unlink(path)


def test_bpm_other_vmatlas_sees_original_protections():
    # a debug session holds bpms on bpm_buf's pages 0 (rw: PROT_NONE) and 1
    # (w: read-only); a second vmatlas's map shows rw-p there with a note,
    # view and dump read the bytes, search finds them. A file whose
    # protections do not match /proc/PID/maps is not believed.
    d = tempfile.mkdtemp()
    fifo = os.path.join(d, "cmds")
    os.mkfifo(fifo)
    dbg = subprocess.Popen([VMATLAS, "debug", "--json", "--batch", fifo, "--", BPMFIX], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    w = open(fifo, "w")
    try:
        w.write("break bpm_start\ncontinue\nbpm rw bpm_buf+0x800 16 --pages\nbpm w bpm_buf+0x1800 16 --pages\n"
                "print bpm_buf\n")
        w.flush()
        buf = None
        for line in dbg.stdout:
            o = json.loads(line)
            if o.get("command") == "print":
                buf = int(o["value"], 16)
                break
        assert buf, dbg.stderr.read()
        pid = int(subprocess.run(["pgrep", "-P", str(dbg.pid), "-x", "bpmfix"], capture_output=True,
                                 text=True).stdout.split()[0])
        with open(f"/proc/{pid}/maps") as f:
            kernel = {int(l.split("-")[0], 16): l.split()[1] for l in f}
        assert kernel[buf] == "---p" and kernel[buf + 0x1000] == "r--p", kernel

        def regions_at():
            m = json.loads(subprocess.run([VMATLAS, "map", "--json", "--flat", str(pid)], capture_output=True,
                                          text=True, check=True).stdout)
            return {int(r["base"], 16): r for a in m["allocations"] for r in a["regions"]}
        rs = regions_at()
        for a in (buf, buf + 0x1000):
            assert rs[a]["prot"] == "rw-p" and rs[a]["state"] == "commit" and rs[a]["bpm_debugger"] == dbg.pid, rs[a]
        assert "bpm_debugger" not in rs.get(buf + 0x2000, {})
        text = subprocess.run([VMATLAS, "map", str(pid)], capture_output=True, text=True).stdout
        assert f"(original protection; vmatlas debugger PID {dbg.pid} has bpm on this page)" in text
        # the bytes: bpmfix fills bpm_buf[i] = i * 7
        v = subprocess.run([VMATLAS, "view", str(pid), hex(buf + 0x800), "16"], capture_output=True, text=True)
        want = bytes((0x800 + i) * 7 & 0xff for i in range(16))
        assert " ".join(f"{b:02x}" for b in want) in v.stdout, v.stdout + v.stderr
        s = json.loads(subprocess.run([VMATLAS, "search", "--json", str(pid), "--hex", want[:10].hex(" ")],
                                      capture_output=True, text=True).stdout)
        found = [int(h["addr"], 16) for h in s["hits"]]
        assert buf + 0x800 in found and buf + 0x1800 in found, found
        out = os.path.join(d, "page0")
        r = subprocess.run([VMATLAS, "dump", str(pid), hex(buf), "--size", "4096", "-o", out], capture_output=True,
                           text=True)
        assert r.returncode == 0, r.stderr
        with open(out, "rb") as f:
            assert f.read() == bytes(i * 7 & 0xff for i in range(4096))
        # a file claiming a protection the page does not have: ignored
        pub = f"/tmp/vmatlas-{os.geteuid()}/bpm-{pid}"
        with open(pub) as f:
            good = f.read()
        assert f"page {buf:x} rw- ---" in good, good
        os.chmod(pub, 0o600)
        with open(pub, "w") as f:
            f.write(good.replace(f"page {buf:x} rw- ---", f"page {buf:x} rw- r--"))
        rs = regions_at()
        assert rs[buf]["prot"] == "---p" and "bpm_debugger" not in rs[buf], rs[buf]
        with open(pub, "w") as f:
            f.write(good)
        w.write("info bpm\ndetach\n")
        w.close()
        w = None
        dbg.wait(timeout=60)
        assert not os.path.exists(pub)
    finally:
        if w:
            w.close()
        if dbg.poll() is None:
            dbg.kill()
            dbg.wait()
        for f in os.listdir(d):
            os.unlink(os.path.join(d, f))
        os.rmdir(d)


def test_bpm_emulation_keeps_the_programs_protections():
    # a write to a read-only page under a bpm r: not emulated through the
    # debugger's access (which could write there), the program faults as
    # it would without the debugger
    native = subprocess.run([BPMFIX, "rowrite"], capture_output=True)
    assert native.returncode == -11
    with tempfile.NamedTemporaryFile("w", suffix=".dbg", delete=False) as f:
        f.write("\n".join(["break bpm_start", "continue", "bpm r ro_data 8 --pages", "continue", "info bpm",
                           "kill"]) + "\n")
        path = f.name
    try:
        p = subprocess.run([VMATLAS, "debug", "--json", "--batch", path, "--", BPMFIX, "rowrite"],
                           capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(path)
    out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    crash = [o for o in out if o.get("event") == "crash"]
    ro = int([o for o in out if o.get("command") == "bpm"][0]["addr"], 16)
    assert crash and crash[0]["signal"] == "SIGSEGV" and int(crash[0]["fault_addr"], 16) == ro + 0x40, out
    assert faults(out)["emulated"] == 0


def test_bpm_by_debug_register_hits_as_a_bpm():
    """a bpm a debug register holds reports its hit as a memory breakpoint
    (access, the bytes before and after), as one by pages does: it read
    "watchpoint 2 ... 0x.. -> 0x.." as if `watch` had set it"""
    cmds = ["break bpm_start", "continue", "bpm w bpm_buf+0x800 8", "continue", "print qword [bpm_buf+0x800]", "kill"]
    p, out, truth = run(cmds)
    assert [o["pages"] for o in out if o.get("command") == "bpm"] == [False]
    hits = [o for o in out if o.get("event") == "watchpoint"]
    assert len(hits) == 1, out
    h = hits[0]
    assert h["access"] == "w" and h["pages"] is False and h["len"] == 8 and h["id"] == 2, h
    now = [o for o in out if o.get("command") == "print"][0]["value"]
    assert int(h["new"], 16) == int(now, 16), (h, now)
    assert h["new_bytes"] == int(h["new"], 16).to_bytes(8, "little").hex(), h
    assert h["old_bytes"] == int(h["old"], 16).to_bytes(8, "little").hex(), h
    p, text, _ = run(cmds, json_out=False)
    line = [l for l in text.splitlines() if "bpm_buf" not in l and " 2, thread" in l]
    assert line and re.match(r"memory breakpoint 2, thread \d+, write of 8 bytes at 0x[0-9a-f]+ just before "
                             r"bpmfix!\S+ .*, [0-9a-f]{16} -> [0-9a-f]{16}$", line[0]), text
