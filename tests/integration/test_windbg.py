"""The debugger on a live Windows process (target/windows/win_control*.c)
in the Windows build, run under Wine against dbgwin.exe, which prints its
truth (its pid and main thread, the addresses of dbgw_target, of the
globals it writes and of its own page, the first bytes of dbgw_target
and the page's protection by VirtualQuery) and then one line per round
of its loop with those bytes and that protection again, so that a test
sees it run on unchanged once vmatlas let it go. Instruction lengths
come from the mingw objdump.

Where Wine differs from Windows: the page of dbgw_page is PAGE_WRITECOPY
under Wine (an image's .bss); the original value, whatever it is, must
come back. In all three arrangements (winlive.py): with an i386 fixture
(VMATLAS_WINFIX=win32: WoW64 under the 64-bit build, native under the
32-bit one) the names are the i386 COFF symbols (a leading underscore),
the arguments are on the stack (cdecl), the pc is eip and the lengths
come from i686-w64-mingw32-objdump."""
import json
import os
import re
import subprocess
import threading
import time

import schema
from lib import Skip
from winlive import FIXDIR, ENV, EXE, ROOT, WINARCH, WINE, WINE32, WINFIX, _ready, first_line, popen_wine, run_wine

DBGWIN = os.path.join(FIXDIR, "dbgwin.exe")
I386 = WINFIX == "win32"
OBJDUMP = ("i686" if I386 else "x86_64") + "-w64-mingw32-objdump"
PC = "eip" if I386 else "rip"
# the first and second integer argument at a function's first
# instruction: rcx, rdx by the x64 convention; on the stack past the
# return address by cdecl
ARG1, ARG2 = ("[esp+4]", "[esp+8]") if I386 else ("rcx", "rdx")
# pedll.dll's build of the fixture's bitness (tests/fixtures/win/build.sh)
PEDLL = "pedll32.dll" if I386 else "pedll.dll"


def sym(name):
    """a C function or global of dbgwin.exe as vmatlas names it, once nm
    has it: an i386 COFF table spells it with the C compiler's decoration
    (a leading underscore, and @N on a __stdcall function such as
    dbgw_worker), which vmatlas leaves out as dbghelp does"""
    if "nm" not in _state:
        try:
            out = subprocess.run([OBJDUMP.replace("objdump", "nm"), DBGWIN], capture_output=True, text=True,
                                 check=True).stdout
        except FileNotFoundError:
            raise Skip("no " + OBJDUMP.replace("objdump", "nm"))
        _state["nm"] = {l.split()[-1] for l in out.splitlines() if l.strip()}
    for cand in ([name] if not I386 else ["_" + name] + sorted(n for n in _state["nm"]
                                                              if re.fullmatch(r"_%s@\d+" % name, n))):
        if cand in _state["nm"]:
            return name
    raise AssertionError("nm names no %s in %s" % (name, DBGWIN))


def decorated(name):
    """the name as nm spells it in dbgwin.exe (the same on x64)"""
    sym(name)
    return next((c for c in ["_" + name] + sorted(_state["nm"]) if I386 and
                 (c == "_" + name or re.fullmatch(r"_%s@\d+" % name, c)) and c in _state["nm"]), name)


def pedll():
    """the path of the pedll.dll of the fixture's bitness (skip without)"""
    dll = os.path.join(os.path.abspath(os.environ.get("VMATLAS_BUILD", "build")), "fixtures", "win", PEDLL)
    if not os.path.exists(DBGWIN) or not os.path.exists(dll):
        raise Skip("no dbgwin.exe or %s (make windows fixtures)" % PEDLL)
    return "Z:" + dll.replace("/", "\\")
with open(os.path.join(ROOT, "docs", "json-schema.json")) as _f:
    SCHEMA = json.load(_f)

_state = {}


class Fixture:
    """dbgwin.exe running under Wine, its round lines collected"""

    def __init__(self, exe=DBGWIN):
        self.p, line = popen_wine([WINE, exe], first_line, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True, env=ENV)
        assert line, "dbgwin.exe printed nothing"
        self.truth = json.loads(line)
        self.lines = []
        self.lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            with self.lock:
                self.lines.append(line.strip())

    def rounds_after(self, n0, count=5, timeout=60):
        """count round lines printed after the n0-th line"""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self.lock:
                got = self.lines[n0:]
            if len(got) >= count:
                return [dict(zip(["round", "counter", "code", "main_code", "protect"], re.match(
                    r"round (\d+) counter (\d+) code ([0-9a-f]+) main ([0-9a-f]+) protect (\d+)", l).groups()))
                    for l in got[:count]]
            time.sleep(0.2)
        raise AssertionError("dbgwin.exe stopped running: %r" % self.lines[-3:])

    def seen(self):
        with self.lock:
            return len(self.lines)

    def stop(self):
        self.p.stdin.close()
        try:
            self.p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def fixture():
    _ready()
    if not os.path.exists(DBGWIN):
        raise Skip("no dbgwin.exe (make windows)")
    if "fix" not in _state:
        f = Fixture()
        import atexit
        atexit.register(f.stop)
        _state["fix"] = f
    return _state["fix"]


def debug(commands, target, env=None, expect_rc=0):
    """vmatlas.exe debug --json --batch - TARGET: the JSON lines (each
    valid against docs/json-schema.json) and stderr"""
    p = run_wine([WINE, EXE, "debug", "--json", "--batch", "-"] + list(target), input="\n".join(commands) + "\n",
                 capture_output=True, text=True, env=dict(ENV, **(env or {})), timeout=180)
    if expect_rc is not None:
        assert p.returncode == expect_rc, (p.returncode, p.stdout[-3000:], p.stderr[-3000:])
    out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{\"")]
    for doc in out:
        if "command" in doc or "event" in doc:
            schema.validate(SCHEMA, "debug", doc)
    return out, p.stderr


def events(out, kind):
    return [o for o in out if o.get("event") == kind]


def results(out, command):
    return [o for o in out if o.get("command") == command]


def runs_on_unchanged(f, n0):
    """after the debugger let go: the loop goes on, with dbgw_target's
    bytes and the page's protection as they were before"""
    rs = f.rounds_after(n0 + 2, 4)  # the first ones may be from before the detach
    t = f.truth
    for r in rs:
        assert r["code"] == t["code"] and r["main_code"] == t["main_code"], (r, t)
        assert int(r["protect"]) == t["protect"], (r, t["protect"])
    assert int(rs[-1]["counter"]) > int(rs[0]["counter"])


def insn_len(addr):
    """the length of the instruction at addr in dbgwin.exe, by objdump"""
    try:
        d = subprocess.run([OBJDUMP, "-d", DBGWIN], capture_output=True, text=True, check=True).stdout
    except FileNotFoundError:
        raise Skip("no " + OBJDUMP)
    m = re.search(r"^\s*%x:\s+((?:[0-9a-f]{2} )+)" % addr, d, re.M)
    assert m, "objdump has no instruction at 0x%x" % addr
    return len(m.group(1).split())


def test_windbg_int3_breakpoint_step_regs_and_detach():
    f = fixture()
    t = f.truth
    target = int(t["target"], 16)
    out, err = debug(["break " + sym("dbgw_target"), "continue", "print " + ARG1, "regs", "disasm %s 1" % PC,
                      "stepi", "regs", "bt", "continue", "detach"], [str(t["pid"])])
    n0 = f.seen()
    assert int(results(out, "break")[0]["addr"], 16) == target
    hits = events(out, "breakpoint")
    assert len(hits) == 2 and all(int(h["pc"], 16) == target for h in hits), hits
    assert hits[0]["tid"] == t["main_tid"] and hits[0]["where"] == "dbgwin.exe!" + sym("dbgw_target")
    # the argument of dbgw_target(0x5eed): in rcx (x64), on the stack (cdecl)
    assert results(out, "print")[0]["value"] == t["arg"]
    r0, r1 = (x["regs"] for x in results(out, "regs"))
    assert int(r0["rip"], 16) == target
    if I386:  # the i386 registers in the low halves, nothing above
        assert all(int(v, 16) < 1 << 32 for v in r0.values()) and all(int(r0["r%d" % i], 16) == 0 for i in
                                                                         range(8, 16)), r0
    else:
        assert int(r0["rcx"], 16) == int(t["arg"], 16)
    # one instruction: rip moves by its length (objdump's)
    n = insn_len(target)
    assert results(out, "disasm")[0]["insns"][0]["len"] == n
    assert int(events(out, "stopped")[0]["pc"], 16) == target + n
    assert int(r1["rip"], 16) == target + n
    # the x64 unwinder from .pdata, the i386 one by frames and scans:
    # dbgw_target called by main
    frames = results(out, "bt")[0]["frames"]
    assert frames[0]["where"].startswith("dbgwin.exe!" + sym("dbgw_target")), frames
    assert frames[1]["where"].startswith("dbgwin.exe!" + sym("main")), frames
    assert results(out, "detach")[0]["result"] == "detached"
    runs_on_unchanged(f, n0)


def test_windbg_hardware_execute_and_write_also_in_new_threads():
    f = fixture()
    t = f.truth
    target = int(t["target"], 16)
    out, err = debug(["hbreak " + decorated("dbgw_target"), "continue", "print " + ARG1, "info breakpoints", "delete all",
                      "watch " + sym("dbgw_thread_var"), "continue", "print " + PC, "continue", "detach"],
                     [str(t["pid"])])
    n0 = f.seen()
    w = events(out, "watchpoint")
    assert len(w) == 3, out
    # hbreak: Dr0 on execution, no int3 written
    b = results(out, "info")[0]["breakpoints"][0]
    assert b["kind"] == "watch" and b["slot"] == 0 and int(b["addr"], 16) == target, b
    assert int(w[0]["pc"], 16) == target and results(out, "print")[0]["value"] == t["arg"]
    # dbgw_worker writes its own thread id into dbgw_thread_var: each hit
    # is in a thread started after the watchpoint was set
    started = [e["tid"] for e in events(out, "thread-start")]
    for hit in w[1:]:
        assert int(hit["addr"], 16) == int(t["thread_var"], 16)
        assert hit["tid"] in started, (hit, started)
        assert int(hit["new"], 16) == hit["tid"], hit
        assert hit["where"].startswith("dbgwin.exe!" + sym("dbgw_worker")), hit
    runs_on_unchanged(f, n0)


def test_windbg_memory_breakpoints_by_page_protection():
    f = fixture()
    t = f.truth
    page = int(t["page"], 16)
    out, err = debug(["bpm r %s 1" % t["read_at"], "continue", "delete all",
                      "bpm w %s 1 --pages" % t["write_at"], "continue", "delete all",
                      "bpm rw %s 0x100" % t["page"], "continue", "continue", "detach"], [str(t["pid"])])
    n0 = f.seen()
    hits = events(out, "watchpoint")
    assert len(hits) == 4, out
    assert all(h["pages"] for h in hits)
    # a read (PAGE_NOACCESS), a write (PAGE_READONLY): the instruction
    # that made it, and the address the fixture printed
    assert hits[0]["access"] == "r" and int(hits[0]["addr"], 16) == int(t["read_at"], 16)
    assert "0x%x" % int(t["read_at"], 16) in hits[0]["insn"] and hits[0]["insn"].startswith("movzx")
    assert hits[1]["access"] == "w" and int(hits[1]["addr"], 16) == int(t["write_at"], 16)
    assert "0x%x" % int(t["write_at"], 16) in hits[1]["insn"] and hits[1]["insn"].startswith("mov ")
    # the write happened: the byte after is the one before plus one
    assert int(hits[1]["new"], 16) == (int(hits[1]["old"], 16) + 1) & 0xff
    # a range over both: the read that follows the write just seen, then
    # the next round's write, in program order
    assert [h["access"] for h in hits[2:]] == ["r", "w"], hits[2:]
    assert [int(h["addr"], 16) for h in hits[2:]] == [int(t["read_at"], 16), int(t["write_at"], 16)]
    assert all(page <= int(h["addr"], 16) < page + 0x100 for h in hits[2:])
    runs_on_unchanged(f, n0)


def test_windbg_memory_breakpoints_by_guard_page():
    f = fixture()
    t = f.truth
    out, err = debug(["bpm r %s 1 --guard" % t["read_at"], "continue", "continue", "info breakpoints", "delete all",
                      "bpm w %s 1 --guard" % t["write_at"], "continue", "continue", "detach"], [str(t["pid"])])
    n0 = f.seen()
    b = results(out, "info")[0]["breakpoints"][0]
    assert b["guard"] and b["pages"] and b["hits"] == 2, b
    hits = events(out, "watchpoint")
    assert [h["access"] for h in hits] == ["r", "r", "w", "w"], out
    # a guard page faults once: each hit after the first needs the guard
    # put back after the step
    for h, at in zip(hits, [t["read_at"]] * 2 + [t["write_at"]] * 2):
        assert int(h["addr"], 16) == int(at, 16) and "0x%x" % int(at, 16) in h["insn"], h
    assert int(hits[3]["new"], 16) == (int(hits[2]["new"], 16) + 1) & 0xff
    runs_on_unchanged(f, n0)


def test_windbg_exception_as_a_signal():
    """an access violation: SIGSEGV with the address and the NTSTATUS"""
    _ready()
    if not os.path.exists(DBGWIN):
        raise Skip("no dbgwin.exe (make windows)")
    out, err = debug(["continue", "kill"], ["--", DBGWIN, "crash"])
    c = events(out, "crash")[0]
    assert c["signal"] == "SIGSEGV" and c["si_code_name"] == "SEGV_MAPERR", c
    assert c["exception"] == "0xc0000005" and int(c["fault_addr"], 16) == 0x10, c
    assert c["where"].startswith("dbgwin.exe!" + sym("main")), c


def test_windbg_started_program_and_its_exit():
    _ready()
    if not os.path.exists(DBGWIN):
        raise Skip("no dbgwin.exe (make windows)")
    out, err = debug(["break " + sym("dbgw_target"), "continue", "continue", "info breakpoints", "delete all",
                      "continue"],
                     ["--", DBGWIN, "3"])
    assert len(events(out, "breakpoint")) == 2
    ex = events(out, "exit")
    assert len(ex) == 1 and ex[0]["status"] == 7, out


def test_windbg_unsupported_and_errors():
    f = fixture()
    t = f.truth
    n0 = f.seen()
    out, err = debug(["bpm w %s 1 --uffd" % t["write_at"], "detach"], [str(t["pid"])], expect_rc=1)
    r = results(out, "bpm")[0]
    assert not r["ok"] and "write-protection" in r["error"], r
    runs_on_unchanged(f, n0)
    p = run_wine([WINE, EXE, "debug", "--batch", "-", "4000000000"], input="", capture_output=True, text=True,
                 env=ENV, timeout=120)
    assert p.returncode == 1 and p.stderr.count("\n") == 1, p.stderr


def test_windbg_crash_of_vmatlas_lets_the_process_go():
    """vmatlas dying of a signal (its cleanup handlers) with an int3, a
    debug register and a protected page in the process: all put back,
    the process detached and running"""
    f = fixture()
    t = f.truth
    out, err = debug(["break " + sym("dbgw_target"), "watch " + sym("dbgw_counter"),
                      "bpm r %s 1 --pages" % t["read_at"], "continue",
                      "test-crash"], [str(t["pid"])], env={"VMATLAS_TEST_CRASH": "segv"}, expect_rc=None)
    n0 = f.seen()
    assert len(results(out, "continue")) == 1
    runs_on_unchanged(f, n0)


def vmatlas_pid(p, args):
    """the Linux process of the vmatlas.exe that wine64 started as p: p
    itself for the 64-bit build; wine64 hands a 32-bit program to a
    32-bit process of its own (p goes on as start.exe), found in /proc by
    its command line and our WINEPREFIX"""
    if WINARCH == "win64":
        return p.pid
    want = ["vmatlas.exe"] + list(args)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
            with open("/proc/%s/environ" % pid, "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if argv[:1] and argv[0].replace("\\", "/").endswith("/vmatlas.exe") and argv[1:] == want[1:] and \
                ("WINEPREFIX=" + ENV["WINEPREFIX"]).encode() in env and "start.exe" not in argv[0]:
            return int(pid)
    raise AssertionError("no 32-bit vmatlas.exe process for %r" % args)


def test_windbg_ctrl_c_pauses_continue_then_idle_ctrl_c_lets_the_process_go():
    """Ctrl-C (Wine turns SIGINT into CTRL_C_EVENT; our console control
    handler runs on a thread of its own) while vmatlas waits in
    WaitForDebugEvent: the pause (an interrupt event, DebugBreakProcess),
    regs and bt at the place it names; a Ctrl-C again with nothing
    running (commands from a pipe) ends vmatlas with an int3 in main, a
    debug register and a protected page in the process: all put back,
    detached, running"""
    f = fixture()
    t = f.truth

    def begin(p):
        p.stdin.write("\n".join(["break " + sym("main"), "watch " + sym("dbgw_counter"),
                                  "bpm r %s 1 --pages" % t["read_at"],
                                  "continue", "continue", "delete 2", "delete 3", "continue"]) + "\n")
        p.stdin.flush()
        return p.stdout.readline()
    p, first = popen_wine([WINE, EXE, "debug", "--json", "--batch", "-", str(t["pid"])], begin,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    # the last continue waits for ever (main is not called again): the
    # thread starts of the loop say it runs
    seen = [first]
    while sum('"thread-start"' in l for l in seen) < 2:
        line = p.stdout.readline()
        if not line:
            break
        seen.append(line)
    assert sum('"command":"continue"' in l for l in seen) == 2, seen
    pid = vmatlas_pid(p, ["debug", "--json", "--batch", "-", str(t["pid"])])
    os.kill(pid, 2)  # SIGINT
    for line in p.stdout:
        seen.append(line)
        if '"command":"continue"' in line:
            break
    assert json.loads(seen[-1])["ok"], seen[-1]
    ev = [json.loads(l) for l in seen if '"event":"interrupt"' in l]
    assert len(ev) == 1 and ev[0]["stopped"], seen
    p.stdin.write("regs\nbt\n")
    p.stdin.flush()
    got = {}
    for line in p.stdout:
        doc = json.loads(line)
        if doc.get("command") in ("regs", "bt"):
            got[doc["command"]] = doc
            if len(got) == 2:
                break
    pc = int(ev[0]["pc"], 16)
    assert int(got["regs"]["regs"]["rip"], 16) == pc and int(got["bt"]["frames"][0]["pc"], 16) == pc, got
    os.kill(pid, 2)  # nothing running, no prompt: the cleanup, vmatlas ends
    try:
        p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise AssertionError("vmatlas.exe did not end at Ctrl-C")
    assert p.returncode != 0
    runs_on_unchanged(f, f.seen())


def test_windbg_breakpoint_met_by_several_threads_then_deleted():
    """three threads calling dbgw_target without a pause: their int3 hits
    wait in the debug API's queue while one is handled (seen under Wine:
    a few a run); one met after its breakpoint was deleted is run as the
    original instruction, not reported as the program's own int3
    (SIGTRAP). The backend rewinds such a thread itself, and the debug
    layer knows the site for a while too: either one suffices here."""
    _ready()
    if not os.path.exists(DBGWIN):
        raise Skip("no dbgwin.exe (make windows)")
    out, err = debug(["break " + sym("dbgw_target")] + ["continue"] * 30 +
                     ["delete all", "break " + decorated("dbgw_worker")] +
                     ["continue"] * 3 + ["kill"], ["--", DBGWIN, "spin"])
    hits = events(out, "breakpoint")
    assert len(hits) == 33, out[-5:]
    assert len({h["tid"] for h in hits[:30]}) > 1, "only one thread met the breakpoint"
    assert all(h["where"] == "dbgwin.exe!" + sym("dbgw_worker") for h in hits[30:]), hits[30:]
    assert not events(out, "signal") and not events(out, "crash"), out


def test_windbg_avx_state():
    """regs avx: the ymm registers through CONTEXT_XSTATE (Wine gives it);
    dbgw_avx loads 32 known bytes into ymm5 before it calls dbgw_target"""
    _ready()
    if not os.path.exists(DBGWIN):
        raise Skip("no dbgwin.exe (make windows)")
    p = run_wine([WINE, EXE, "debug", "--json", "--batch", "-", "--", DBGWIN, "avx"],
                 input="break %s\ncontinue\nregs avx\nregs all\nkill\n" % sym("dbgw_target"), capture_output=True,
                 text=True, env=ENV, timeout=180)
    docs = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    truth = next(d for d in docs if "avx" in d)
    if not truth["avx"]:
        raise Skip("no AVX on this CPU")
    regs = [d for d in docs if d.get("command") == "regs"]
    assert regs and all(r["ok"] for r in regs), (regs, p.stderr)
    want = int.from_bytes(bytes.fromhex(truth["ymm5"]), "little")
    assert int(regs[0]["ymm"]["ymm5"], 16) == want, (regs[0]["ymm"]["ymm5"], truth)
    # the FXSAVE image (CONTEXT.FltSave): x87 control word and MXCSR as the
    # fixture read them itself (the loop does not change them)
    x87 = regs[1]["x87"]
    assert int(x87["fcw"], 16) == truth["fcw"] and int(x87["mxcsr"], 16) == truth["mxcsr"], (x87, truth)


def test_windbg_dll_loads_and_pending_breakpoint():
    """LOAD_DLL/UNLOAD_DLL: the map and symbols built again, module events,
    and a breakpoint on a symbol of a DLL not loaded yet set when it is
    (dbgwin.exe loads pedll.dll, calls pedll_add(2, 3), unloads it).
    What vmatlas changed in a DLL is forgotten when it goes (the next
    test: its breakpoints go back to pending)."""
    _ready()
    dll = pedll()
    out, err = debug(["break pedll_add", "continue", "print " + ARG1, "print " + ARG2, "delete all",
                      "break " + sym("dbgw_worker"),
                      "continue", "kill"],
                     ["--", DBGWIN, "dll", dll])
    assert results(out, "break")[0].get("pending"), out[:3]
    hits = events(out, "breakpoint")
    # pedll_add is also exported by ordinal alone (#7), at the same address
    assert len(hits) == 2 and hits[0]["where"] in (PEDLL + "!pedll_add", PEDLL + "!#7"), hits
    assert hits[1]["where"] == "dbgwin.exe!" + sym("dbgw_worker"), hits
    assert [r["value"] for r in results(out, "print")] == ["0x2", "0x3"]
    seq = [(o["event"], o.get("name", "").lower()) for o in out
           if o.get("event") in ("module-load", "module-unload", "breakpoint")]
    first = seq.index(("breakpoint", ""))
    assert ("module-load", PEDLL) in seq[:first], seq
    # FreeLibrary before the round's thread (dbgw_worker's hit)
    between = seq[first + 1:seq.index(("breakpoint", ""), first + 1)]
    assert between == [("module-unload", PEDLL)], seq


def test_windbg_breakpoint_in_unloaded_dll_pending_and_hit_again():
    """FreeLibrary: the breakpoint in pedll.dll goes back to pending (as
    gdb's on a shared library's unload), its int3 forgotten with the DLL
    (nothing written where it was); LoadLibrary again: set again and hit
    again, twice, with the arguments of pedll_add(2, 3)"""
    _ready()
    dll = pedll()
    out, err = debug(["break pedll_add", "continue", "print " + ARG2, "continue", "print " + ARG2, "continue",
                      "info breakpoints", "kill"], ["--", DBGWIN, "dll", dll])
    hits = events(out, "breakpoint")
    assert len(hits) == 3 and all(h["where"] in (PEDLL + "!pedll_add", PEDLL + "!#7") for h in hits), hits
    assert [h["hits"] for h in hits] == [1, 2, 3], hits
    assert [r["value"] for r in results(out, "print")] == ["0x3", "0x3"]
    seq = [(o["event"], o.get("name", "").lower()) for o in out
           if o.get("event") in ("module-load", "module-unload", "breakpoint")]
    seq = [x for x in seq if x[1] in (PEDLL, "")]
    assert seq[:2] == [("module-load", PEDLL), ("breakpoint", "")], seq
    # between two hits: the unload, then the load again
    assert seq[2:] == [("module-unload", PEDLL), ("module-load", PEDLL), ("breakpoint", "")] * 2, seq
    b = results(out, "info")[0]["breakpoints"][0]
    assert not b.get("pending") and b["hits"] == 3, b
    assert not events(out, "signal") and not events(out, "crash"), out


def test_windbg_data_breakpoints_in_unloaded_dll_are_removed():
    """FreeLibrary: a watchpoint (debug register) and a memory breakpoint
    by page protection in pedll.dll's data would watch whatever is mapped
    there next: both are removed with a log event saying why (the page's
    protection is not put back on memory that is gone), while the code
    breakpoint goes pending and is hit again. They watch 0x100 bytes past
    pedll_counter, which nothing writes (pedll_counter itself is written
    on every thread's attach by the DLL's TLS callback), on the same page:
    that page's faults are stepped over as misses."""
    _ready()
    dll = pedll()
    out, err = debug(["break pedll_add", "continue", "watch pedll_counter + 0x100",
                      "bpm w pedll_counter + 0x100 4 --pages", "info breakpoints", "continue", "info breakpoints",
                      "continue", "info breakpoints", "kill"], ["--", DBGWIN, "dll", dll])
    assert [r["ok"] for r in results(out, "watch") + results(out, "bpm")] == [True, True], out
    infos = [sorted(b["kind"] for b in r["breakpoints"]) for r in results(out, "info")]
    assert infos == [["bpm", "break", "watch"], ["break"], ["break"]], infos
    logs = [e["text"].lower() for e in events(out, "log")]
    assert "watchpoint 2 removed: its module %s was unloaded" % PEDLL in logs, logs
    assert "bpm 3 removed: its module %s was unloaded" % PEDLL in logs, logs
    hits = events(out, "breakpoint")
    assert len(hits) == 3 and all(h["where"] in (PEDLL + "!pedll_add", PEDLL + "!#7") for h in hits), hits
    assert not events(out, "watchpoint") and not events(out, "bpm"), out
    assert not events(out, "signal") and not events(out, "crash"), out


def test_windbg_32bit_build_refuses_a_64bit_process():
    """build/win32/vmatlas.exe cannot hold a 64-bit process's context (nor
    see it whole): one line naming the 64-bit build, status 1, for one it attaches to (which
    runs on untouched) and for one it started (killed); whatever the
    arrangement"""
    _ready()
    exe32 = os.path.join(ROOT, "build", "win32", "vmatlas.exe")
    dbg64 = os.path.join(ROOT, "build", "win64", "fixtures", "dbgwin.exe")
    for f_, what in ((exe32, "build/win32/vmatlas.exe"), (dbg64, "build/win64/fixtures/dbgwin.exe"),
                     (WINE32, "wine32")):
        if not os.path.exists(f_):
            raise Skip("no " + what)
    f = Fixture(dbg64)
    try:
        for target in ([str(f.truth["pid"])], ["--", dbg64, "3"]):
            p = run_wine([WINE, exe32, "debug", "--json", "--batch", "-"] + target, input="regs\n",
                         capture_output=True, text=True, env=ENV, timeout=180)
            assert p.returncode == 1 and p.stdout == "", (p.returncode, p.stdout, p.stderr)
            # refused as the target opens (the debugger's own refusal,
            # "debug it with the 64-bit build", is behind it)
            assert p.stderr.count("\n") == 1 and "64-bit" in p.stderr and \
                "(use the 64-bit vmatlas.exe)" in p.stderr, p.stderr
        runs_on_unchanged(f, f.seen())
    finally:
        f.stop()
