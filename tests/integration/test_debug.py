"""vmatlas debug in batch mode, against dbgfix (which prints its truth on
stderr): breakpoints, conditions, pass counts, log-only, watchpoints,
stepping, writes, threads, fork and exec, crashes, and leaving a process
exactly as it was (detach, SIGINT)."""
import json
import os
import re
import signal
import subprocess
import tempfile
import time

import schema
from lib import FIXTURES, VMATLAS, Skip, fixture, no_sanitizer_reports, run, run_json

DBGFIX = os.path.join(FIXTURES, "dbgfix")
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "json-schema.json")) as _f:
    SCHEMA = json.load(_f)


def debug(commands, args=(), prog=None, timeout=60, expect_rc=0):
    """Run vmatlas debug --json with commands (a list of lines); returns
    (results+events as dicts, the program's stderr lines, vmatlas stderr)."""
    with tempfile.NamedTemporaryFile("w", suffix=".dbg", delete=False) as f:
        f.write("\n".join(commands) + "\n")
        path = f.name
    try:
        argv = [VMATLAS, "debug", "--json", "--batch", path] + list(args)
        if prog is not None:
            argv += ["--", DBGFIX] + [str(a) for a in prog]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    finally:
        os.unlink(path)
    no_sanitizer_reports(p.stderr)
    if expect_rc is not None:
        assert p.returncode == expect_rc, (p.returncode, p.stdout[-3000:], p.stderr[-3000:])
    out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    for doc in out:  # every line as docs/json-schema.json says
        schema.validate(SCHEMA, "debug", doc)
    return out, p.stderr.splitlines(), p.stderr


def events(out, kind):
    return [o for o in out if o.get("event") == kind]


def results(out, command):
    return [o for o in out if o.get("command") == command]


def truth_of(stderr_lines):
    for l in stderr_lines:
        if l.startswith('{"pid"'):
            return json.loads(l)
    raise AssertionError("no truth line: %r" % stderr_lines[:5])


def test_gdb_register_spellings_mean_the_same_registers():
    # $pc $sp $fp $ps and $REG as gdb writes them, checked against the plain names
    out, err, _ = debug(["break dbg_target", "continue",
                         "print rip", "print $pc", "print rsp", "print $sp", "print rbp", "print $fp",
                         "print eflags", "print $ps", "print rdi", "print $rdi", "print $edi + 1",
                         "print sp", "quit"], prog=["calls", 3])
    v = [r["value"] for r in results(out, "print")]
    assert len(v) == 12, out
    assert v[0] == v[1] and v[2] == v[3] and v[4] == v[5] and v[6] == v[7] and v[8] == v[9], v
    assert int(v[10], 16) == int(v[9], 16) + 1
    assert int(v[11], 16) == int(v[2], 16) & 0xffff  # plain "sp" stays the 16-bit part
    assert int(v[0], 16) != 0 and int(v[2], 16) != 0


def test_break_by_symbol_stops_each_call():
    out, err, _ = debug(["break dbg_target", "continue", "print rdi", "continue", "print rdi",
                         "delete all", "continue"], prog=["calls", 5])
    hits = events(out, "breakpoint")
    assert [h["hits"] for h in hits] == [1, 2]
    assert all(h["where"] == "dbgfix!dbg_target" and h["stopped"] for h in hits)
    assert hits[0]["file"].endswith("dbgfix.c") and hits[0]["line"] > 0
    assert [r["value"] for r in results(out, "print")] == ["0x0", "0x1"]
    assert "sum 20 counter 10" in err  # 0+1+...+4 summed cumulatively
    assert events(out, "exit")[0]["status"] == 7


def test_conditional_and_pass_count():
    out, err, _ = debug(["break dbg_target if rdi == 3 || rdi == 7", "continue", "print rdi", "continue",
                         "print rdi", "info breakpoints", "continue"], prog=["calls", 10])
    assert [r["value"] for r in results(out, "print")] == ["0x3", "0x7"]
    assert results(out, "info")[0]["breakpoints"][0]["hits"] == 2
    assert events(out, "exit")
    out, err, _ = debug(["break dbg_target pass 4", "continue", "print rdi", "continue", "print rdi",
                         "kill"], prog=["calls", 10])
    assert [r["value"] for r in results(out, "print")] == ["0x3", "0x4"]
    assert results(out, "kill")[0]["result"] == "killed"


def test_log_only_breakpoint_exact_text_and_count():
    n = 200
    out, err, _ = debug(['break dbg_target log "i={rdi} counter={qword [dbg_counter]:x}" group g', "continue",
                         "info breakpoints"], prog=["calls", n])
    logs = events(out, "log")
    assert len(logs) == n
    counter = 0
    for i, l in enumerate(logs):
        assert l["text"] == "i=%d counter=0x%x" % (i, counter), l
        assert not l["stopped"]
        counter += i
    assert results(out, "info")[0]["breakpoints"][0]["hits"] == n
    assert not events(out, "breakpoint")
    assert "sum %d counter %d" % (sum(sum(range(i + 1)) for i in range(n)), sum(range(n))) in err


def test_enable_disable_group_and_tbreak():
    out, err, _ = debug(["break dbg_target group a", "disable group a", "tbreak dbg_target", "continue",
                         "print rdi", "info breakpoints", "enable 1", "continue", "print rdi", "quit"],
                        prog=["calls", 5])
    assert [r["value"] for r in results(out, "print")] == ["0x0", "0x1"]
    bps = results(out, "info")[0]["breakpoints"]
    assert len(bps) == 1 and bps[0]["id"] == 1 and not bps[0]["enabled"]


def test_watchpoint_sees_every_write_and_no_other():
    out, err, _ = debug(["watch dbg_watched"] + ["continue"] * 6, prog=["watch", 5])
    w = events(out, "watchpoint")
    assert [(int(e["old"], 16), int(e["new"], 16)) for e in w] == [(i, i + 1) for i in range(5)]
    t = truth_of(err)
    assert all(e["addr"] == t["watched"] and e["len"] == 8 for e in w)
    assert events(out, "exit")[0]["status"] == 7


def test_watch_errors():
    out, err, _ = debug(["watch dbg_watched", "watch dbg_neighbor", "watch dbg_counter", "watch dbg_value LEN 4",
                         "watch dbg_value+4 LEN 4", "watch dbg_watched+1 LEN 4", "delete 4",
                         "watch dbg_watched+1 LEN 4", "watch dbg_value LEN 3"], prog=["watch", 1], expect_rc=1)
    r = results(out, "watch")
    assert [x["ok"] for x in r] == [True, True, True, True, False, False, False, False]
    assert "four debug registers" in r[4]["error"]
    assert "not aligned" in r[6]["error"]
    assert "1, 2, 4 or 8" in r[7]["error"]


def test_finish_returns_value_and_register_memory_writes():
    out, err, _ = debug(["break dbg_answer", "continue", "finish", "set rax = 0x42", "print rax",
                         "write dbg_value 09000000", "print dword [dbg_value]", "continue"], prog=["answer"])
    ret = events(out, "return")
    assert ret and ret[0]["value"] == "0x1234abcd" and ret[0]["where"].startswith("dbgfix!main")
    assert "answer 0x42 value 9" in err


def test_set_flags_and_subregisters():
    out, err, _ = debug(["break dbg_answer", "continue", "set rax = 0x1122334455667788", "set al = 0xff",
                         "set ah = 1", "print rax", "set eax = 5", "print rax", "set ZF = 1", "print ZF",
                         "set ZF = 0", "print ZF", "print ax", "kill"], prog=["answer"])
    assert [r["value"] for r in results(out, "print")] == ["0x11223344556601ff", "0x5", "0x1", "0x0", "0x5"]


def test_stepi_nexti_step_next():
    out, err, _ = debug(["break dbg_lines", "continue", "regs", "stepi", "regs", "next", "next", "step",
                         "bt", "finish", "kill"], prog=["lines"])
    regs = results(out, "regs")
    assert regs[0]["regs"]["rip"] != regs[1]["regs"]["rip"]
    stops = events(out, "stopped")
    assert len(stops) >= 3
    # step from dbg_lines into dbg_target: a line of dbgfix.c, in dbg_target
    into = stops[-1]
    bt = results(out, "bt")[0]["frames"]
    if into["where"].startswith("dbgfix!dbg_target"):
        assert bt[1]["where"].startswith("dbgfix!dbg_lines")
    # the last step leaves dbg_lines for main's fprintf call: into libc
    # when its debug file is installed, as gdb (test_debug_step.py)
    assert all(s["file"].endswith("dbgfix.c") for s in stops[1:-1])
    lines = [s["line"] for s in stops[1:]]
    assert len(set(lines)) == len(lines)  # each next moved to another line
    assert events(out, "return")


def test_nexti_steps_over_call():
    out, err, _ = debug(["break dbg_lines", "continue", "until dbg_target", "finish", "kill"], prog=["lines"])
    st = events(out, "stopped")
    assert st and st[0]["where"] == "dbgfix!dbg_target"
    assert events(out, "return")[0]["where"].startswith("dbgfix!dbg_lines")


def test_threads_started_while_attached():
    n = 4
    out, err, _ = debug(["break dbg_thread_fn", "watch dbg_counter"] + ["continue"] * (2 * n + 1),
                        prog=["threads", n])
    starts = {e["tid"] for e in events(out, "thread-start")}
    assert len(starts) == n
    hits = events(out, "breakpoint")
    assert {h["tid"] for h in hits} == starts
    # each thread's write to dbg_counter is seen, in that thread
    w = events(out, "watchpoint")
    assert {e["tid"] for e in w} == starts
    assert len(events(out, "thread-exit")) == n
    assert "counter %d" % sum(range(1, n + 1)) in err


def test_fork_child_detached_unpatched_and_exec():
    out, err, _ = debug(["break dbg_target", "continue", "print rdi", "continue"], prog=["fork"])
    forks = events(out, "fork")
    assert len(forks) == 1 and not forks[0]["vfork"]
    # the child ran dbg_target 3 times over the int3 and exec'd: it would
    # have died of SIGTRAP with the int3 left in it
    assert "child counter 300" in err
    assert "sum 1 counter 1" in err  # the exec'd child: calls 2
    assert "child status 7 parent counter 1" in err
    assert [r["value"] for r in results(out, "print")] == ["0x1"]


def test_exec_event_drops_breakpoints():
    out, err, _ = debug(["break dbg_target", "continue"], prog=["exec"])
    ex = events(out, "exec")
    assert len(ex) == 1 and ex[0]["exe"].endswith("dbgfix")
    assert not events(out, "breakpoint")
    assert events(out, "exit")[0]["status"] == 7
    assert "sum 4 counter 3" in err


def test_exec_of_another_program_names_it():
    """sh -c 'exec echo': the exec event named the old program (sh: the
    target's facts, its exe among them, were kept from before the exec)"""
    echo = os.path.realpath("/bin/echo")
    p = subprocess.run([VMATLAS, "debug", "--json", "--batch", "-", "--", "/bin/sh", "-c", "exec /bin/echo hi"],
                       input="continue\n", capture_output=True, text=True, timeout=60)
    no_sanitizer_reports(p.stderr)
    out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    ex = events(out, "exec")
    assert len(ex) == 1 and ex[0]["exe"] == echo, (ex, echo)
    assert events(out, "exit")[0]["status"] == 0


def test_crash_stops_with_fault_address():
    out, err, _ = debug(["continue", "regs", "continue"], prog=["crash"])
    c = events(out, "crash")
    assert len(c) == 1
    c = c[0]
    assert c["signal"] == "SIGSEGV" and c["fault_addr"] == "0x10" and c["si_code_name"] == "SEGV_MAPERR"
    assert c["stopped"] and c["where"].startswith("dbgfix!main")
    assert results(out, "regs")[0]["regs"]["rip"] == c["pc"]
    assert events(out, "exit")[0]["signal"] == "SIGSEGV"


def test_handle_signal_nostop_nopass():
    out, err, _ = debug(["handle SIGSEGV nopass", "continue", "kill"], prog=["crash"])
    assert results(out, "handle")[0]["ok"]


def test_disasm_names_calls_and_masks_int3():
    out, err, _ = debug(["break dbg_target", "break dbg_lines", "continue", "disasm dbg_lines 12",
                         "mem dbg_target 1 u8", "disasm main 40", "kill"], prog=["lines"])
    # through the PLT, once bound: the libc function
    assert any(i["text"].startswith("call libc.so.6!") for i in results(out, "disasm")[1]["insns"])
    ins = results(out, "disasm")[0]["insns"]
    assert ins[0]["breakpoint"] and ins[0]["pc"]
    assert ins[0]["bytes"][:2] != "cc"
    assert any(i["text"] == "call dbgfix!dbg_target" for i in ins), [i["text"] for i in ins]
    assert results(out, "mem")[0]["values"][0] != 0xcc


# ---- attached processes: left exactly as they were ----

def start_spin():
    p = subprocess.Popen([DBGFIX, "spin"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    truth = json.loads(p.stderr.readline())
    return p, truth


def text_pages(pid):
    """the executable mappings of pid: {start: bytes}, read from /proc"""
    out = {}
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb") as mem:
        for line in maps:
            f = line.split()
            if "x" not in f[1] or len(f) < 6 or not f[5].startswith("/"):
                continue
            lo, hi = (int(x, 16) for x in f[0].split("-"))
            mem.seek(lo)
            out[lo] = mem.read(hi - lo)
    return out


def status_of(pid):
    with open(f"/proc/{pid}/status") as f:
        st = dict(l.split(":", 1) for l in f if ":" in l)
    return st["State"].split()[0], int(st["TracerPid"])


def stop_spin(p):
    p.stdin.close()
    line = p.stderr.read()
    assert p.wait(timeout=10) == 7, line
    return line


def test_attach_detach_leaves_text_identical_and_running():
    p, t = start_spin()
    try:
        before = text_pages(p.pid)
        out, err, _ = debug([f"break {t['target']}", "break dbg_answer", "watch dbg_counter", "continue",
                             "print rdi", "continue", "info breakpoints", "detach"], args=[str(p.pid)])
        assert len(events(out, "breakpoint")) == 1 and len(events(out, "watchpoint")) == 1
        assert results(out, "detach")[0]["result"] == "detached"
        time.sleep(0.05)
        assert text_pages(p.pid) == before
        state, tracer = status_of(p.pid)
        assert tracer == 0 and state in ("R", "S"), state
        tail = stop_spin(p)
        assert "counter" in tail
    finally:
        if p.poll() is None:
            p.kill()


def test_disasm_agrees_with_objdump_on_libc():
    """Instruction boundaries of every function in libc's .text, decoded
    by vmatlas (Zydis) and by objdump -d."""
    exe = os.path.join(os.environ.get("VMATLAS_BUILD", "build"), "unit-tests")
    libc = "/lib/x86_64-linux-gnu/libc.so.6"
    if not os.path.exists(libc):
        raise Skip("no " + libc)
    try:
        subprocess.run(["objdump", "--version"], capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        raise Skip("no objdump")
    p = subprocess.run([exe, "--disasm-check", libc], capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    assert "functions agree" in p.stdout, p.stdout[-2000:]


def test_module_load_and_unload_events():
    out, err, _ = debug(["continue"], prog=["dlopen"])
    loads = [e["name"] for e in events(out, "module-load")]
    unloads = [e["name"] for e in events(out, "module-unload")]
    assert "libm.so.6" in loads and "libm.so.6" in unloads
    assert "dlopen ok" in err


def test_at_main_and_quit_kills_launched():
    out, err, _ = debug(["regs", "quit"], args=["--at-main"], prog=["calls", 1])
    t = truth_of(err) if any(l.startswith('{"pid"') for l in err) else None
    rip = results(out, "regs")[0]["regs"]["rip"]
    assert events(out, "breakpoint")[0]["where"] == "dbgfix!main"
    assert rip == events(out, "breakpoint")[0]["pc"]
    assert results(out, "quit")[0]["result"] == "killed"
    assert not any(l.startswith("sum") for l in err)
    assert t is None  # main had not printed yet


def test_at_main_without_main_symbol_fails_before_running():
    """--at-main on a stripped program (busybox-static) ran it to its end:
    one clear error, the program killed before its first instruction (it
    prints its truth line first thing in main)"""
    prog = os.path.join(FIXTURES, "heapfix-static-stripped")
    with tempfile.NamedTemporaryFile("w", suffix=".dbg") as f:
        f.write("regs\nquit\n")
        f.flush()
        p = subprocess.run([VMATLAS, "debug", "--at-main", "--batch", f.name, "--", prog], capture_output=True,
                           text=True, timeout=60, stdin=subprocess.DEVNULL)
    no_sanitizer_reports(p.stderr)
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert p.stderr.count("\n") == 1 and "no symbol main" in p.stderr, p.stderr
    assert "pid" not in p.stdout, p.stdout


def test_at_main_of_a_stripped_dynamic_program_finds_main_through_libc():
    """python3 as Debian ships it has no symbol main: --at-main failed.
    main is __libc_start_main's first argument: the stop is there, as
    gdb reads it (rdi at __libc_start_main), before python3 printed"""
    import shutil
    from lib import Skip
    if not shutil.which("gdb") or not os.path.exists("/usr/bin/python3"):
        raise Skip("no gdb or /usr/bin/python3")
    argv = ["/usr/bin/python3", "-c", "print('ran')"]
    ex = ["set startup-with-shell off", "set breakpoint pending on", "break __libc_start_main", "run", "p/x $rdi",
          "kill"]
    g = subprocess.run(["gdb", "-nx", "-q", "-batch"] + [a for e in ex for a in ("-ex", e)] +
                       ["--args", argv[0], "-c", "pass"],
                       capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
    m = re.search(r"^\$1 = (0x[0-9a-f]+)$", g.stdout, re.M)
    assert m, g.stdout + g.stderr
    p = subprocess.run([VMATLAS, "debug", "--json", "--at-main", "--batch", "-", "--"] + argv,
                       input="print rip\nquit\n", capture_output=True, text=True, timeout=60)
    no_sanitizer_reports(p.stderr)
    assert p.returncode == 0, (p.stdout, p.stderr)
    out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    bp = events(out, "breakpoint")
    assert len(bp) == 1 and bp[0]["id"] == 1, out  # the stop on __libc_start_main not shown
    exe = os.path.realpath("/usr/bin/python3")
    with open(exe, "rb") as f:
        pie = f.read(18)[16] == 3  # e_type ET_DYN: rdi and rip both relocated alike
    assert int(results(out, "print")[0]["value"], 16) == int(m.group(1), 16) or pie, (out, m.group(1))
    assert "ran" not in p.stdout


def test_break_file_line_where_gdb_puts_it():
    """break FILE:LINE (gdb's): it was taken for a symbol of a library to
    come, pending for ever, and the program ran to its end. Each line of
    dbg_lines and around it at the address gdb chooses (a line without
    code: the next one with some; a function's first line: past its
    prologue); a line no module has is an error"""
    import shutil
    from lib import Skip
    if not shutil.which("gdb"):
        raise Skip("no gdb")
    lines = range(78, 92)
    ex = [a for n in lines for a in ("-ex", f"break dbgfix.c:{n}")] + ["-ex", "info breakpoints"]
    g = subprocess.run(["gdb", "-nx", "-q", "-batch"] + ex + [DBGFIX], capture_output=True, text=True, timeout=120)
    want = [int(a, 16) for a in re.findall(r"^\d+\s+breakpoint\s+keep\s+y\s+(0x[0-9a-f]+) in ", g.stdout, re.M)]
    assert len(want) == len(lines), g.stdout + g.stderr
    out, err, _ = debug([f"break dbgfix.c:{n}" for n in lines] + ["break dbgfix.c:99999", "continue"],
                        prog=["lines"], expect_rc=1)
    got = results(out, "break")
    assert len(got) == len(lines) + 1 and not got[-1]["ok"] and "dbgfix.c:99999" in got[-1]["error"], got
    nm = subprocess.run(["nm", DBGFIX], capture_output=True, text=True).stdout
    syms = {f[2]: int(f[0], 16) for f in (l.split() for l in nm.splitlines()) if len(f) == 3}
    for n, w, r in zip(lines, want, got):
        m = re.match(r"^dbgfix!(\w+)(?:\+0x([0-9a-f]+))?$", r["where"])
        assert r["ok"] and m, (n, r)
        assert syms[m.group(1)] + int(m.group(2) or "0", 16) == w, (n, hex(w), r)
    # and the program stops there: dbg_lines' first line is its first stop
    assert events(out, "breakpoint")[0]["line"] in lines, events(out, "breakpoint")


def test_info_threads_names_each_thread_as_proc_does():
    """info threads with each thread's name (comm, set by
    pthread_setname_np: a JVM's 23 threads told apart), as /proc has it"""
    from lib import fixture
    with fixture(name="stacks") as (p, t):
        pid = t["pid"]
        comm = {}
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/comm") as f:
                comm[int(tid)] = f.read().rstrip("\n")
        out, err, _ = debug(["info threads", "detach"], args=[str(pid)])
    th = results(out, "info")[0]["threads"]
    assert {x["tid"]: x.get("name") for x in th} == comm, (th, comm)
    assert "alpha" in comm.values()


def test_unknown_name_in_a_program_that_loads_nothing_is_an_error():
    """a stripped static program (no dynamic linker, no _dl_debug_state)
    will load no module that could have the name: an error, not a
    breakpoint pending forever; a dynamic program, or a static one that
    can dlopen, keeps it pending"""
    for prog, pending in (("heapfix-static-stripped", False), ("heapfix-static", True), ("dbgfix", True)):
        with tempfile.NamedTemporaryFile("w", suffix=".dbg") as f:
            f.write("break no_such_function_here\nquit\n")
            f.flush()
            p = subprocess.run([VMATLAS, "debug", "--json", "--batch", f.name, "--", os.path.join(FIXTURES, prog)],
                               capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        no_sanitizer_reports(p.stderr)
        out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith('{"command"')]
        b = results(out, "break")[0]
        if pending:
            assert b["ok"] and b["pending"], (prog, b)
        else:
            assert not b["ok"] and "loads no modules" in b["error"], (prog, b)


def test_quit_detaches_attached_and_errors():
    p, t = start_spin()
    try:
        out, err, _ = debug(["break dbg_target", "continue", "quit"], args=[str(p.pid)])
        assert results(out, "quit")[0]["result"] == "detached"
        time.sleep(0.05)
        assert status_of(p.pid)[1] == 0
        assert p.poll() is None
        # one debugger at a time: a second attach fails clearly
        r = subprocess.run([VMATLAS, "debug", "--batch", "/dev/null", "/nonexistent-core"], capture_output=True,
                           text=True)
        assert r.returncode == 1 and r.stderr.count("\n") == 1
        stop_spin(p)
    finally:
        if p.poll() is None:
            p.kill()


def test_sigterm_while_stopped_leaves_target_running():
    p, t = start_spin()
    try:
        before = text_pages(p.pid)
        d = subprocess.Popen([VMATLAS, "debug", "--json", "--batch", "-", str(p.pid)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        d.stdin.write("break dbg_target\nwatch dbg_counter\ncontinue\n")
        d.stdin.flush()
        line = d.stdout.readline()
        while '"event":"breakpoint"' not in line:
            line = d.stdout.readline()
            assert line
        assert status_of(p.pid)[0] == "t"  # stopped by us
        d.send_signal(signal.SIGTERM)
        d.wait(timeout=10)
        time.sleep(0.05)
        assert text_pages(p.pid) == before
        state, tracer = status_of(p.pid)
        assert tracer == 0 and state in ("R", "S"), state
        stop_spin(p)
    finally:
        if p.poll() is None:
            p.kill()


def test_signals_stop_and_pass_as_handled():
    out, err, _ = debug(["continue"] * 4, prog=["signal"])
    s = events(out, "signal")
    assert len(s) == 3 and all(e["signal"] == "SIGUSR1" and e["stopped"] for e in s)
    assert "signals 3" in err
    out, err, _ = debug(["handle SIGUSR1 nostop nopass", "continue"], prog=["signal"])
    s = events(out, "signal")
    assert len(s) == 3 and not any(e["stopped"] for e in s)
    assert "signals 0" in err


def test_quit_after_the_exit_says_exited():
    """the process gone by itself: quit (or kill, detach) neither killed
    nor let it go (quit said "killed")"""
    for end in ("quit", "kill", "detach"):
        out, err, _ = debug(["continue", end], prog=["calls", 1])
        assert events(out, "exit") and results(out, end)[0]["result"] == "exited", out


def test_handle_sigsegv_nostop_pass_lets_the_programs_handler_take_it():
    """a program that catches its own SIGSEGV (a JVM's implicit null
    checks and safepoint polls): 'handle SIGSEGV nostop pass' runs it
    through, each fault reported, none a stop; it used to stop at every
    one whatever handle said. By default each one stops."""
    out, err, _ = debug(["handle SIGSEGV nostop pass", "continue"], prog=["segv"])
    c = events(out, "crash")
    assert len(c) == 3 and not any(e["stopped"] for e in c), c
    assert all(e["signal"] == "SIGSEGV" and e["fault_addr"] == "0x10" for e in c), c
    assert "segv caught 3" in err and events(out, "exit"), (err, out)
    out, err, _ = debug(["continue"] * 4, prog=["segv"])
    c = events(out, "crash")
    assert len(c) == 3 and all(e["stopped"] for e in c), c
    assert "segv caught 3" in err
    # noprint (as gdb's: implies nostop): not even reported
    out, err, _ = debug(["handle SIGSEGV noprint pass", "continue"], prog=["segv"])
    assert not events(out, "crash") and "segv caught 3" in err and events(out, "exit"), (out, err)
    out, err, _ = debug(["handle SIGSEGV noprint bogus", "continue", "continue", "continue", "continue"],
                        prog=["segv"], expect_rc=1)
    assert len(events(out, "crash")) == 3, out  # a bad word: nothing changed


def test_abort_is_a_crash():
    out, err, _ = debug(["continue", "bt", "continue"], prog=["abort"])
    c = events(out, "crash")
    assert len(c) == 1 and c[0]["signal"] == "SIGABRT" and c[0]["si_code_name"] == "SI_TKILL"
    assert any(f["where"].startswith("libc.so.6!abort") for f in results(out, "bt")[0]["frames"])
    assert events(out, "exit")[0]["signal"] == "SIGABRT"


def test_execution_watchpoint_runs_on():
    out, err, _ = debug(["watch dbg_answer x", "continue", "continue"], prog=["answer"])
    w = events(out, "watchpoint")
    assert len(w) == 1 and w[0]["where"] == "dbgfix!dbg_answer"
    assert "answer 0x1234abcd value 5" in err
    assert events(out, "exit")[0]["status"] == 7


def test_vfork_child_runs_without_int3_and_parent_keeps_them():
    out, err, _ = debug(["break dbg_target", "continue", "print rdi", "continue"], prog=["vfork"])
    f = events(out, "fork")
    assert len(f) == 1 and f[0]["vfork"]
    assert [r["value"] for r in results(out, "print")] == ["0x1"]
    assert "vfork child status 3 counter 101" in err
    assert not events(out, "signal")  # SIGCHLD is not reported unless asked


def test_i386_program():
    global DBGFIX
    exe = DBGFIX + "32"
    if not os.path.exists(exe):
        raise Skip("no 32-bit fixture (gcc-multilib)")
    saved, DBGFIX = DBGFIX, exe
    try:
        out, err, _ = debug(["break dbg_target", "continue", "print dword [esp+4]", "disasm eip 2", "bt",
                             "finish", "continue", "print dword [esp+4]", "delete all", "break dbg_answer",
                             "continue"], prog=["calls", 3])
    finally:
        DBGFIX = saved
    assert [r["value"] for r in results(out, "print")] == ["0x0", "0x1"]
    assert results(out, "disasm")[0]["insns"][0]["breakpoint"]
    frames = results(out, "bt")[0]["frames"]
    assert frames[0]["where"] == "dbgfix32!dbg_target" and frames[1]["where"].startswith("dbgfix32!main")
    assert events(out, "return")[0]["value"] == "0x0"
    assert "sum 4 counter 3" in err


def test_log_breakpoints_on_every_instruction_change_nothing():
    """A log-only breakpoint on each instruction of dbg_lines, dbg_target
    and the start of main: each is run by the debugger (emulated) or
    stepped over; the program must compute exactly what it does alone."""
    out, err, _ = debug(["disasm dbg_lines 40", "disasm dbg_target 12", "disasm main 60", "kill"], prog=["lines"])
    cmds = []
    for res, fn in zip(results(out, "disasm"), ["dbg_lines", "dbg_target", "main"]):
        base = int(res["insns"][0]["addr"], 16)
        for i in res["insns"]:
            if not i["where"].startswith("dbgfix!" + fn):
                break
            off = int(i["addr"], 16) - base
            cmds.append(f'break {fn}+{off} log "{fn}+{off}"')
            if i["text"].startswith("ret"):
                break
    assert len(cmds) > 20
    out, err, _ = debug(cmds + ["continue"], prog=["lines"])
    assert "lines 6" in err
    logs = events(out, "log")
    assert any(l["text"] == "dbg_target+0" for l in logs) and any(l["text"] == "dbg_lines+0" for l in logs)
    assert events(out, "exit")[0]["status"] == 7


def test_log_breakpoints_in_libc():
    fns = ["malloc", "free", "fprintf", "vfprintf", "strcmp", "getpid", "write", "strtoull", "fflush", "exit"]
    out, err, _ = debug([f'break libc.so.6!{f} log "{f}"' for f in fns] + ["continue"], prog=["calls", 10])
    assert all(r["ok"] for r in results(out, "break")), results(out, "break")
    assert "sum 165 counter 45" in err
    seen = {l["text"] for l in events(out, "log")}
    assert {"fprintf", "getpid", "exit"} <= seen, seen


def test_pending_breakpoint_set_when_its_library_loads():
    out, err, _ = debug(["break libm.so.6!cbrt", "info breakpoints", "continue", "bt", "info breakpoints",
                         "continue"], prog=["dlopen"])
    assert results(out, "break")[0]["pending"]
    infos = results(out, "info")
    assert infos[0]["breakpoints"][0]["pending"] and not infos[1]["breakpoints"][0]["pending"]
    hit = events(out, "breakpoint")
    assert len(hit) == 1 and hit[0]["where"] == "libm.so.6!cbrt"
    assert results(out, "bt")[0]["frames"][1]["where"].startswith("dbgfix!main")
    assert "cbrt 3" in err


def test_breakpoint_in_unloaded_library_goes_pending_and_comes_back():
    """dlclose: a breakpoint in libm goes back to pending (as gdb's), its
    int3 forgotten, not written again where libm was; set again when
    libm is loaded again, and hit there (dbgfix loads, calls cbrt and
    unloads libm three times)"""
    out, err, _ = debug(["break libm.so.6!cbrt", "continue", "continue", "continue", "info breakpoints",
                         "continue"], prog=["dlopen", 3])
    seq = [(o["event"], o.get("name", "")) for o in out if o.get("event") in ("module-load", "module-unload",
                                                                               "breakpoint")]
    libm = [x for x in seq if x[1] in ("libm.so.6", "")]
    assert libm == [("module-load", "libm.so.6"), ("breakpoint", "")] + [
        ("module-unload", "libm.so.6"), ("module-load", "libm.so.6"), ("breakpoint", "")] * 2 + [
        ("module-unload", "libm.so.6")], seq
    hits = events(out, "breakpoint")
    assert [h["where"] for h in hits] == ["libm.so.6!cbrt"] * 3, hits
    # the third load's hit counted on the same breakpoint; pending again
    # only after the last unload (the final continue runs to the exit)
    assert [h.get("hits") for h in hits] == [1, 2, 3], hits
    b = results(out, "info")[0]["breakpoints"][0]
    assert not b.get("pending") and b["hits"] == 3, b
    assert sum(l == "cbrt 3" for l in err) == 3, err
    assert events(out, "exit")[0]["status"] == 7


def test_data_breakpoints_in_unloaded_library_are_removed():
    """dlclose: a watchpoint (debug register) and a memory breakpoint by
    page protection on libm's signgam would watch whatever is mapped there
    next: both are removed with a log event saying why, the code
    breakpoint goes pending and is hit again on the next load, and no
    watch or bpm hit comes from the later loads"""
    out, err, _ = debug(["break libm.so.6!cbrt", "continue", "watch libm.so.6!signgam", "bpm w libm.so.6!signgam 4 --pages",
                         "info breakpoints", "continue", "info breakpoints", "continue", "info breakpoints",
                         "continue", "info breakpoints"], prog=["dlopen", 3])
    assert [r["ok"] for r in results(out, "watch") + results(out, "bpm")] == [True, True], out
    infos = [sorted(b["kind"] for b in r["breakpoints"]) for r in results(out, "info")]
    assert infos == [["bpm", "break", "watch"], ["break"], ["break"], ["break"]], infos
    # after the last unload: pending, where it was in libm (not what is
    # at its old address now)
    last = results(out, "info")[-1]["breakpoints"][0]
    libm = [e for e in events(out, "module-load") if e["name"] == "libm.so.6"][-1]
    hit = events(out, "breakpoint")[-1]
    want = "libm.so.6+0x%x (unloaded)" % (int(hit["pc"], 16) - int(libm["base"], 16))
    assert last["pending"] and last["where"] == want, (last, want)
    logs = [e["text"] for e in events(out, "log")]
    assert "watchpoint 2 removed: its module libm.so.6 was unloaded" in logs, logs
    # the bpm goes with the munmap (seen as a system call) or, at the
    # latest, with the unload
    assert ("bpm 3 removed: its memory was unmapped" in logs
            or "bpm 3 removed: its module libm.so.6 was unloaded" in logs), logs
    hits = events(out, "breakpoint")
    assert [h["where"] for h in hits] == ["libm.so.6!cbrt"] * 3, hits
    assert not events(out, "watchpoint") and not events(out, "bpm"), out
    assert sum(l == "cbrt 3" for l in err) == 3, err
    assert events(out, "exit")[0]["status"] == 7


def test_bt_limits_to_the_innermost_or_outermost_frames():
    """bt N and bt -N as gdb's: the first N frames of the whole
    backtrace, or its last N; a bad count is an error"""
    out, err, _ = debug(["break dbg_target", "continue", "bt", "bt 2", "bt -1", "bt 0", "bt x"], prog=["calls", 2],
                        expect_rc=1)
    bts = [r for r in results(out, "bt")]
    full, two, last = bts[0]["frames"], bts[1]["frames"], bts[2]["frames"]
    assert len(full) >= 3 and full[0]["where"].startswith("dbgfix!dbg_target"), full
    assert two == full[:2] and last == full[-1:], (two, last, full)
    assert [r["ok"] for r in bts] == [True, True, True, False, False], bts


def test_step_counts_are_the_steps_one_by_one():
    """next N, nexti N, step N as gdb's: the same places as N single
    commands; continue and finish refuse an argument they would ignore"""
    def stops(cmds, expect_rc=0):
        out, _, _ = debug(["break dbg_target", "continue"] + cmds + ["kill"], prog=["calls", 5], expect_rc=expect_rc)
        return [e["where"] for e in events(out, "stopped")], out
    counted, _ = stops(["next 2", "nexti 3", "step 2"])
    single, _ = stops(["next", "next", "nexti", "nexti", "nexti", "step", "step"])
    assert len(single) == 7 and counted == single, (counted, single)
    # a breakpoint met on the way ends the count there
    hit, out = stops(["nexti 1000"])
    assert len(events(out, "breakpoint")) == 2 and len(hit) < 1000, hit
    _, out = stops(["continue 2", "finish x", "next x", "nexti 0"], expect_rc=1)
    assert [r["ok"] for r in out if r.get("command") in ("continue", "finish", "next", "nexti")] == \
        [True, False, False, False, False], out


def test_traced_by_another_debugger_is_a_clear_error():
    p, t = start_spin()
    try:
        r = subprocess.run(["gdb", "-q", "-nx", "-batch", "-p", str(p.pid), "-ex",
                            f"shell {VMATLAS} debug --batch /dev/null {p.pid}; echo status=$?", "-ex", "detach"],
                           capture_output=True, text=True, timeout=60)
        assert f"cannot trace thread {p.pid} of process {p.pid}" in r.stdout + r.stderr, r.stdout + r.stderr
        assert "status=1" in r.stdout
        stop_spin(p)
    finally:
        if p.poll() is None:
            p.kill()


def test_log_breakpoints_hit_by_many_threads_at_once():
    n = 48
    out, err, _ = debug(['break dbg_target log "t {rdi}"', 'break dbg_thread_fn log "f"', "continue"],
                        prog=["threads", n])
    texts = sorted(l["text"] for l in events(out, "log"))
    assert texts == sorted(["f"] * n + ["t %d" % i for i in range(1, n + 1)])
    assert len({l["tid"] for l in events(out, "log")}) == n
    assert "counter %d" % (n * (n + 1) // 2) in err


def test_bad_commands_are_errors_not_crashes():
    bad = ["break", "break if", "break main if", "break main pass", "break main pass x", "break main log",
           'break main log "{"', 'break main log "{nosuch}"', "break 0x10", "watch", "watch 0x10 LEN 16",
           "mem", "mem nosuch", "mem 0 4 u8", "disasm 0", "disasm main 0", "write", "write main zz",
           "write main 123", "print [", "print " + "(" * 100 + "1" + ")" * 100, "print 1 +", "print 1 / 0",
           "x", "delete", "delete 99", "enable group", "enable group nosuch", "disable 99", "handle",
           "handle SIGFOO stop", "handle SIGUSR1 maybe", "thread 0", "thread x", "until", "until nosuch",
           "set", "set rax", "set nosuch = 1", "info", "info nosuch", "frobnicate", "stepi x",
           "print byte [0]", "mem 0xffffffffffffffff 16 u64"]
    out, err, stderr = debug(bad + ["print 1", "kill"], prog=["calls", 1], expect_rc=1)
    res = [o for o in out if "command" in o]
    assert len(res) == len(bad) + 2
    assert [r["ok"] for r in res[:-2]] == [False] * len(bad), [r for r in res[:-2] if r["ok"]]
    assert all(r["error"] for r in res[:-2])
    assert res[-2]["value"] == "0x1" and res[-1]["result"] == "killed"
    assert "%d commands failed" % len(bad) in stderr


def test_write_under_a_breakpoint_survives_detach():
    # an int3 on dbg_value's first byte (data, never run), then a write
    # there: detach must leave the written byte, not the first one
    out, err, _ = debug(["break dbg_value", "write dbg_value 09", "mem dbg_value 1 u8", "break dbg_answer",
                         "continue", "detach"], args=["--keep"], prog=["answer"])
    assert results(out, "mem")[0]["values"] == [9]
    assert results(out, "detach")[0]["result"] == "detached"
    assert "answer 0x1234abcd value 9" in err


def debugreg7(pid):
    """DR7 of pid, read through a second ptrace attach (seize, interrupt,
    PEEKUSER, detach): what vmatlas left in the thread"""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.restype = ctypes.c_long
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    assert libc.ptrace(0x4206, pid, None, None) == 0, ctypes.get_errno()  # PTRACE_SEIZE
    try:
        assert libc.ptrace(0x4207, pid, None, None) == 0  # PTRACE_INTERRUPT
        os.waitpid(pid, 0x40000000)  # __WALL
        dr7_offset = 848 + 7 * 8  # offsetof(struct user, u_debugreg[7])
        ctypes.set_errno(0)
        v = libc.ptrace(3, pid, ctypes.c_void_p(dr7_offset), None)  # PTRACE_PEEKUSER
        assert ctypes.get_errno() == 0
        return v
    finally:
        libc.ptrace(17, pid, None, None)  # PTRACE_DETACH


def test_vmatlas_crash_leaves_target_unpatched_and_running():
    """vmatlas crashing itself (VMATLAS_TEST_CRASH) while stopped at a
    breakpoint with a watchpoint set: its crash handler puts the int3s
    back, clears the debug registers, detaches, then dies of the signal"""
    import resource
    crashes = {"segv": signal.SIGSEGV, "bus": signal.SIGBUS, "ill": signal.SIGILL, "fpe": signal.SIGFPE,
               "abort": signal.SIGABRT}
    for how, sig in crashes.items():
        p, t = start_spin()
        try:
            before = text_pages(p.pid)
            assert debugreg7(p.pid) == 0
            env = dict(os.environ, VMATLAS_TEST_CRASH=how)
            d = subprocess.Popen([VMATLAS, "debug", "--json", "--batch", "-", str(p.pid)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                                 preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_CORE, (0, 0)))
            out, _ = d.communicate("break dbg_target\nbreak dbg_answer\nwatch dbg_counter\ncontinue\n"
                                   "test-crash\nprint 1\n", timeout=30)
            assert d.returncode == -sig, (how, d.returncode)
            assert '"event":"breakpoint"' in out  # it was stopped, with the int3s in
            assert '"command":"print"' not in out  # it died at test-crash
            time.sleep(0.05)
            assert text_pages(p.pid) == before, how
            state, tracer = status_of(p.pid)
            assert tracer == 0 and state in ("R", "S"), (how, state)
            assert debugreg7(p.pid) == 0, how
            assert "counter" in stop_spin(p)
        finally:
            if p.poll() is None:
                p.kill()


def test_follow_fork_child():
    """--follow-fork=child (and `set follow-fork child`): the session goes
    on with the child (its breakpoints and watchpoint kept in it), the
    parent is let go without an int3 or debug register and runs on: it
    calls dbg_target itself, which an int3 left in it would kill"""
    for args, first in (["--follow-fork=child"], []), ([], ["set follow-fork child"]):
        out, err, _ = debug(first + ["break dbg_target", "watch dbg_counter", "continue", "print rdi"] +
                            ["continue"] * 8, args=args, prog=["fork"], expect_rc=None)
        child = [int(l.split()[2]) for l in err if l.startswith("child pid ")]
        assert len(child) == 1, err
        forks = events(out, "fork")
        assert len(forks) == 1 and forks[0]["followed"] and forks[0]["child"] == child[0]
        hits = events(out, "breakpoint")
        assert len(hits) == 3 and all(h["tid"] == child[0] for h in hits)
        assert [r["value"] for r in results(out, "print")] == ["0x64"]
        w = events(out, "watchpoint")  # the debug registers set again in the child
        assert len(w) == 3 and all(e["tid"] == child[0] for e in w)
        assert "child counter 300" in err
        assert events(out, "exec") and events(out, "exit")[0]["status"] == 7  # the child's
        assert "child status 7 parent counter 1" in err  # the parent ran on, unpatched
    # the default still lets the child go
    out, err, _ = debug(["set follow-fork parent", "break dbg_target", "continue", "continue"], prog=["fork"])
    assert not events(out, "fork")[0]["followed"]


def test_i386_log_breakpoints_on_every_instruction_change_nothing():
    """The same on the i386 fixture: push, mov, lea, calls and endbr32 are
    run by the debugger in a 32-bit process too (4-byte stack slots,
    addresses wrapping at 4 GiB), the rest stepped over"""
    global DBGFIX
    exe = DBGFIX + "32"
    if not os.path.exists(exe):
        raise Skip("no 32-bit fixture (gcc-multilib)")
    saved, DBGFIX = DBGFIX, exe
    try:
        out, err, _ = debug(["disasm dbg_target 40", "disasm main 60", "kill"], prog=["calls", 3])
        cmds = []
        for res, fn in zip(results(out, "disasm"), ["dbg_target", "main"]):
            base = int(res["insns"][0]["addr"], 16)
            for i in res["insns"]:
                if not i["where"].startswith("dbgfix32!" + fn):
                    break
                off = int(i["addr"], 16) - base
                cmds.append(f'break {fn}+{off} log "{fn}+{off}"')
                if i["text"].startswith("ret"):
                    break
        assert len(cmds) > 20
        out, err, _ = debug(cmds + ["continue"], prog=["calls", 3])
    finally:
        DBGFIX = saved
    assert "sum 4 counter 3" in err
    logs = events(out, "log")
    assert sum(l["text"] == "dbg_target+0" for l in logs) == 3
    assert events(out, "exit")[0]["status"] == 7


def test_hbreak_and_no_guard_pages_on_linux():
    """hbreak: a debug register on execution (watch EXPR x); bpm --guard
    needs guard pages (Windows' PAGE_GUARD): Linux has none, and says so"""
    out, err, _ = debug(["hbreak dbg_target", "continue", "print rdi", "info breakpoints", "delete all",
                         "bpm r dbg_watched 8 --guard", "continue"], prog=["calls", 3], expect_rc=1)
    w = events(out, "watchpoint")
    assert len(w) == 1 and w[0]["where"] == "dbgfix!dbg_target", w
    assert results(out, "print")[0]["value"] == "0x0"
    b = results(out, "info")[0]["breakpoints"][0]
    assert b["kind"] == "watch" and b["slot"] == 0, b
    r = results(out, "bpm")[0]
    assert not r["ok"] and "no guard pages" in r["error"], r
    assert events(out, "exit")[0]["status"] == 7


def test_cpp_names_demangled_as_threads_shows_them():
    """C++ frames, breakpoints and hits read as c++filt spells them (as
    `vmatlas threads` shows them), mangled only with --no-demangle"""
    cpp = os.path.join(FIXTURES, "cppobj")
    mangled = "_ZNK6shapes6Circle4areaEv"
    want = subprocess.run(["c++filt", mangled], capture_output=True, text=True).stdout.strip()
    assert want == "shapes::Circle::area() const"
    cmds = [f"break {mangled}", "continue", "bt", "quit"]
    for args, name in (([], want), (["--no-demangle"], mangled)):
        with tempfile.NamedTemporaryFile("w", suffix=".dbg") as f:
            f.write("\n".join(cmds) + "\n")
            f.flush()
            p = subprocess.run([VMATLAS, "debug", "--json", "--batch", f.name] + args + ["--", cpp],
                               capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        no_sanitizer_reports(p.stderr)
        assert p.returncode == 0, p.stderr
        # (the fixture prints its truth on the same stdout)
        out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith('{"command"') or l.startswith('{"event"')]
        assert results(out, "break")[0]["where"] == f"cppobj!{name}", out
        assert events(out, "breakpoint")[0]["where"] == f"cppobj!{name}", out
        frames = results(out, "bt")[0]["frames"]
        assert frames[0]["where"] == f"cppobj!{name}" and frames[1]["where"].startswith("cppobj!main+"), frames


def test_break_on_a_cpp_name_as_it_reads():
    """`break shapes::Circle::area` (as gdb takes it: the demangled name,
    any parameters) stops where the mangled name does; sym and view take
    it too, at the address nm -C gives"""
    cpp = os.path.join(FIXTURES, "cppobj")
    nm = subprocess.run(["nm", "-C", cpp], capture_output=True, text=True).stdout.splitlines()
    want = {l.split(" ", 2)[2]: int(l.split()[0], 16) for l in nm if " W " in l or " T " in l}
    cmds = ["break shapes::Circle::area", "break shapes::Circle::~Circle", "break shapes::Nothing::here",
            "continue", "bt", "quit"]
    with tempfile.NamedTemporaryFile("w", suffix=".dbg") as f:
        f.write("\n".join(cmds) + "\n")
        f.flush()
        p = subprocess.run([VMATLAS, "debug", "--json", "--batch", f.name, "--", cpp],
                           capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    no_sanitizer_reports(p.stderr)
    out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith('{"command"') or l.startswith('{"event"')]
    brk = results(out, "break")
    assert brk[0]["where"] == "cppobj!shapes::Circle::area() const", brk
    assert brk[1]["where"] == "cppobj!shapes::Circle::~Circle()", brk
    # no such function: pending, as any name no module has yet
    assert brk[2].get("pending") or not brk[2]["ok"], brk[2]
    assert events(out, "breakpoint")[0]["where"] == "cppobj!shapes::Circle::area() const", out
    with fixture(name="cppobj") as (fp, t):
        pid = str(t["pid"])
        base = int(run_json(["sym", pid, "main"])[0]["addr"], 16) - want["main"]
        got = run_json(["sym", pid, "shapes::Circle::area", "cppobj!shapes::Circle::area"])
        assert [int(g["addr"], 16) - base for g in got] == [want["shapes::Circle::area() const"]] * 2, got
        assert got[0]["symbol"] == "shapes::Circle::area() const", got


def test_break_on_a_cpp_overload_and_a_template():
    """gdb's ways to name what a bare name cannot: an overload with its
    parameter list in single quotes (spaces as one likes), a template's
    arguments before :: (Box<long>::area); sym, view and break take
    them, at the addresses nm -C gives"""
    cpp = os.path.join(FIXTURES, "cppobj")
    nm = subprocess.run(["nm", "-C", cpp], capture_output=True, text=True).stdout.splitlines()
    want = {l.split(" ", 2)[2]: int(l.split()[0], 16) for l in nm if " W " in l or " T " in l}
    names = {"'shapes::scale(double, int)'": "shapes::scale(double, int)",
             "'shapes::scale(double,int)'": "shapes::scale(double, int)",
             "'shapes::scale(double)'": "shapes::scale(double)",
             "cppobj!'shapes::scale(double)'": "shapes::scale(double)",
             "shapes::Box<long>::area": "shapes::Box<long>::area() const",
             "'shapes::Box<long>::area() const'": "shapes::Box<long>::area() const"}
    assert want["shapes::scale(double)"] != want["shapes::scale(double, int)"]
    with fixture(name="cppobj") as (fp, t):
        pid = str(t["pid"])
        base = int(run_json(["sym", pid, "main"])[0]["addr"], 16) - want["main"]
        got = run_json(["sym", pid] + list(names))
        assert [int(g["addr"], 16) - base for g in got] == [want[v] for v in names.values()], got
        assert [g["symbol"] for g in got] == list(names.values()), got
        r = run(["view", pid, "'shapes::scale(double, int)'", "--json"])
        assert int(json.loads(r.stdout)["addr"], 16) - base == want["shapes::scale(double, int)"], r.stdout
        r = run(["sym", pid, "'shapes::scale(int)'"])
        assert r.returncode == 1 and "no symbol" in r.stderr, r
    cmds = ["break 'shapes::scale(double, int)'", "break shapes::Box<long>::area", "continue", "continue", "kill"]
    with tempfile.NamedTemporaryFile("w", suffix=".dbg") as f:
        f.write("\n".join(cmds) + "\n")
        f.flush()
        p = subprocess.run([VMATLAS, "debug", "--json", "--batch", f.name, "--", cpp],
                           capture_output=True, text=True, timeout=60, input="x")
    no_sanitizer_reports(p.stderr)
    out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith('{"command"') or l.startswith('{"event"')]
    assert [b["where"] for b in results(out, "break")] == ["cppobj!shapes::scale(double, int)",
                                                           "cppobj!shapes::Box<long>::area() const"], out
    assert [e["where"] for e in events(out, "breakpoint")] == ["cppobj!shapes::Box<long>::area() const",
                                                               "cppobj!shapes::scale(double, int)"], out


def test_threads_with_an_unreported_hit_stand_at_the_breakpoint():
    """all-stop: when several threads run into a breakpoint together, one
    hit is reported and the others wait, one byte past the int3, inside
    the instruction it replaced; `info threads` shows them at the
    breakpoint (their hits come next), never at dbg_answer+0x1"""
    for _ in range(5):
        out, err, _ = debug(["break dbg_answer", "continue", "info threads", "continue", "kill"],
                            prog=["race", 16])
        hit = events(out, "breakpoint")
        threads = results(out, "info")[0]["threads"]
        assert all(not t["where"].startswith("dbgfix!dbg_answer+") for t in threads), threads
        waiting = [t for t in threads if t["tid"] != hit[0]["tid"] and t["where"] == "dbgfix!dbg_answer"]
        if waiting:
            # such a thread's hit is the next one, at the breakpoint itself
            assert hit[1]["tid"] in [t["tid"] for t in waiting] and hit[1]["pc"] == hit[0]["pc"], hit
            assert all(int(t["pc"], 16) == int(hit[0]["pc"], 16) for t in waiting), waiting
            return
    raise Skip("no two threads met the breakpoint together in five runs")


def test_break_on_ifunc_stops_where_it_was_bound():
    """`break strlen` (an IFUNC of glibc: the symbol is its resolver, run
    once at binding) stops in the function the loader bound it to, at
    each of the 3 calls dbgfix makes after setting it, as in gdb; it
    used to sit on the resolver and never stop"""
    libc = subprocess.run(["readelf", "-W", "--dyn-syms", "/lib/x86_64-linux-gnu/libc.so.6"], capture_output=True,
                          text=True).stdout
    if not re.search(r" IFUNC +GLOBAL +DEFAULT +\d+ strlen@@", libc):
        raise Skip("strlen is no IFUNC in this glibc")
    out, err, _ = debug(["break dbg_target", "continue", "break strlen", "continue", "bt 2", "continue",
                         "continue", "continue"], prog=["ifunc", 3])
    brk = results(out, "break")[1]
    hits = [h for h in events(out, "breakpoint") if h["id"] == brk["id"]]
    assert len(hits) == 3, out
    assert all(h["pc"] == brk["addr"] and h["where"].startswith("libc.so.6!") and h["where"] != "libc.so.6!strlen"
               for h in hits), (brk, hits)
    frames = results(out, "bt")[0]["frames"]
    assert frames[1]["where"].startswith("dbgfix!main+"), frames
    assert events(out, "exit") and any(l.startswith("strlen total") for l in err), (out, err)


def test_break_on_ifunc_before_its_first_call():
    """`break strlen` at main of a lazily bound program, before any call
    bound its PLT slot: the breakpoint goes where libc's own IRELATIVE
    relocation bound strlen at load time (the resolver chooses once per
    CPU), so the first call, through the lazy binding, stops there too:
    4 hits at the same place, none on the resolver (it sat there, hit
    once inside the loader, then never)"""
    libc = subprocess.run(["readelf", "-W", "--dyn-syms", "/lib/x86_64-linux-gnu/libc.so.6"], capture_output=True,
                          text=True).stdout
    if not re.search(r" IFUNC +GLOBAL +DEFAULT +\d+ strlen@@", libc):
        raise Skip("strlen is no IFUNC in this glibc")
    dyn = subprocess.run(["readelf", "-d", DBGFIX], capture_output=True, text=True).stdout
    if "BIND_NOW" in dyn or re.search(r"Flags:.* NOW", dyn) or os.environ.get("LD_BIND_NOW"):
        raise Skip("dbgfix is bound at load (BIND_NOW): nothing is lazy")
    out, err, _ = debug(["break strlen", "continue", "continue", "continue", "continue", "continue"],
                        args=["--at-main"], prog=["ifunc", 3])
    brk = results(out, "break")[0]
    hits = [h for h in events(out, "breakpoint") if h["id"] == brk["id"]]
    assert len(hits) == 4, out
    assert all(h["pc"] == brk["addr"] and h["where"].startswith("libc.so.6!") and h["where"] != "libc.so.6!strlen"
               for h in hits), (brk, hits)
    assert events(out, "exit") and any(l.startswith("strlen total") for l in err), (out, err)


def test_detach_puts_queued_hits_back_unreported():
    """threads that ran into a breakpoint together: one hit is reported,
    the others wait on the int3. A detach then puts them back on the
    instruction the int3 replaced, unreported (as gdb: the user let go
    after the last stop; they used to come out as hits 2..16 after the
    detach), a thread our stop caught just after its int3 ran (its
    SIGTRAP still pending: it died of it once let go, 1 run in 5) too,
    and the started program runs on after `detach` (it was killed as
    vmatlas ended): all 16 racers end, every time"""
    for _ in range(8):
        out, err, _ = debug(["break dbg_answer", "continue", "detach"], prog=["race", 16])
        hits = events(out, "breakpoint")
        assert len(hits) == 1 and hits[0]["hits"] == 1, hits
        assert results(out, "detach") and any(l == "raced 16" for l in err), (out, err)


def test_sigterm_while_racers_hit_a_breakpoint_leaves_every_racer_alive():
    """vmatlas ended by SIGTERM just as 16 threads ran into a breakpoint
    together (an attached process: the cleanup lets it go). Threads that
    had run the int3 and were not yet reported, stopped on its SIGTRAP or
    with it still pending, are put back on the instruction the int3
    replaced (the detach's own take_pending_int3, on the signal path
    too): the racers all end, and the process prints its "raced 16"."""
    for _ in range(8):
        p = subprocess.Popen([DBGFIX, "pause", "race", "16"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        d = None
        try:
            json.loads(p.stderr.readline())
            d = subprocess.Popen([VMATLAS, "debug", "--json", "--batch", "-", str(p.pid)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            d.stdin.write("break dbg_answer\ncontinue\n")
            d.stdin.flush()
            line = d.stdout.readline()
            while '"command":"break"' not in line:
                assert line, d.stderr.read()
                line = d.stdout.readline()
            p.stdin.write("go\n")  # the racers start
            p.stdin.flush()
            while '"event":"breakpoint"' not in line:
                line = d.stdout.readline()
                assert line, d.stderr.read()
            d.send_signal(signal.SIGTERM)
            d.wait(timeout=20)
            no_sanitizer_reports(d.stderr.read())
            p.stdin.close()
            rc = p.wait(timeout=20)
            rest = p.stderr.read()
            assert rc == 7 and "raced 16" in rest, (rc, rest)
        finally:
            for x in (d, p):
                if x and x.poll() is None:
                    x.kill()
