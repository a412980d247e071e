"""The debugger's CPU window in the Windows build (tui/cpu_*.c over the
console curses of base/win/, the watcher tui/win/cpu_watch.c), under
Wine in a tmux pane as test_wintui.py runs the tui, against dbgwin.exe
and its printed truth: the disassembly at the stopped rip and at
dbgw_target as objdump decodes it, the registers, a step, a breakpoint
set in the window and hit, the pause (Ctrl-C and F12 through
vm_dbg_interrupt: DebugBreakProcess), quitting that leaves the process
running unchanged, and a step over (F8) or a finish (u) of a call that
never returns stopped by Ctrl-C, the window saying where.

Wine on a Unix terminal: the terminal keeps ISIG while Wine's console
reads it, so Ctrl-C reaches vmatlas as the console's Ctrl-C event (a
SIGINT turned into CTRL_C_EVENT), not as a key; the watcher's console
control handler takes it as a pause while the target runs. F12 comes
as a key. Shift-F8 does not reach the console (Wine's conhost has no
xterm modifiers on function keys): 'u' finishes. A program started by
the window shares its console, and Wine's conhost draws what it writes
on the terminal over the window (Windows would write it into the
console's other buffer, not shown): dbgwin.exe block prints nothing.
The registers are read from their column (a blank one before it ends
the disassembly's rows). With an i386 dbgwin.exe (VMATLAS_WINFIX=win32,
either build) the window shows eip, eflags and the other 32-bit
registers, the names are the i386 symbols' and the argument is on the
stack (its pane)."""
import os
import re
import shlex
import shutil
import subprocess
import tempfile

from lib import Skip
from test_cpuwin import pc_of
from test_tui import Screen
from test_windbg import DBGWIN, I386, OBJDUMP, PC, Fixture, insn_len, runs_on_unchanged, sym
from winlive import ENV, EXE, WINE, _ready, tmux_command


class WinCpu(Screen):
    """vmatlas.exe debug ARGS under Wine in a detached tmux session; after
    it ends the pane shows EXIT=status"""

    def __init__(self, args, w=120, h=40, env=None):
        if not shutil.which("tmux"):
            raise Skip("no tmux")
        _ready()
        if not os.path.exists(DBGWIN):
            raise Skip("no dbgwin.exe (make windows)")
        self.dir = tempfile.mkdtemp(prefix="vmatlas-wincpu-")
        self.sock = os.path.join(self.dir, "sock")
        env = " ".join([f"{k}={shlex.quote(ENV[k])}" for k in ("WINEPREFIX", "WINEDEBUG")] +
                       [f"{k}={shlex.quote(v)}" for k, v in (env or {}).items()])
        cmd = tmux_command([WINE, EXE, "debug"] + list(args), os.path.join(self.dir, "stderr"))
        inner = f"trap : INT; env {env} {cmd}; echo EXIT=$?; sleep 600"
        self.tmux("new-session", "-d", "-x", str(w), "-y", str(h), "sh", "-c", inner)

    def log(self):
        """the log pane's lines (the left column under its heading)"""
        lines = self.text().splitlines()
        at = next(i for i, l in enumerate(lines) if l.startswith("-- Log"))
        return [l[:66].rstrip() for l in lines[at + 1:-1] if l[:66].strip()]


def insns(text, col=66):
    """(bp mark, pc arrow, address, text) of the disassembly rows (the
    left column: at 120 columns, 66 wide)"""
    out = []
    for l in text.splitlines():
        m = re.match(r"^([ *])(=>|  )(.{4}|.{6}) ([0-9a-f]{12}) (.*)$", l[:col])
        if m:
            out.append((m.group(1) == "*", m.group(2) == "=>", int(m.group(4), 16), m.group(5).rstrip()))
    return out


FLAGS = "eflags" if I386 else "rflags"


def reg(text, name, col=66):
    """a register's value in the right column (at 120 columns: from 66),
    8 digits for an i386 target, 16 for x64"""
    right = "\n".join(l[col:] for l in text.splitlines())
    m = re.search(r"^%s +([0-9a-f]{%d})\b" % (name, 8 if I386 else 16), right, re.M)
    assert m, (name, text)
    return int(m.group(1), 16)


def objdump_rows(start, n):
    """(address, mnemonic) of the n instructions from start in dbgwin.exe"""
    try:
        d = subprocess.run([OBJDUMP, "-d", "-M", "intel", DBGWIN], capture_output=True, text=True,
                           check=True).stdout
    except FileNotFoundError:
        raise Skip("no " + OBJDUMP)
    rows = [(int(m.group(1), 16), m.group(2)) for m in
            re.finditer(r"^\s*([0-9a-f]+):\s+(?:[0-9a-f]{2} )+\s*\t(\S+)", d, re.M)]
    i = next(k for k, r in enumerate(rows) if r[0] == start)
    return rows[i:i + n]


def ended(s):
    t = s.wait("EXIT=", timeout=60)
    return int(re.search(r"EXIT=(\d+)", t).group(1))


def test_wincpu_attached_break_step_pause_and_quit():
    if not shutil.which("tmux"):
        raise Skip("no tmux")
    _ready()  # the persistent wineserver before the fixture starts one
    if not os.path.exists(DBGWIN):
        raise Skip("no dbgwin.exe (make windows)")
    f = Fixture()
    try:
        t = f.truth
        target = int(t["target"], 16)
        with WinCpu([t["pid"]]) as s:
            # attached: stopped where the main thread was (its Sleep), the
            # pc arrow on rip, the log naming the place
            text = s.wait(lambda x: "Disassembly" in x and FLAGS in x and "stopped at" in x, timeout=60)
            assert f"pid {t['pid']}" in text.splitlines()[0] and f"thread {t['main_tid']}" in text.splitlines()[0]
            assert pc_of(text) == reg(text, PC), text
            if I386:
                assert not re.search(r"\b(rax|r15|rip)\b", text), text
            assert re.match(r"stopped at \S+\.dll!", s.log()[0]), s.log()
            # ^G to dbgw_target: the rows are objdump's instructions
            s.prompt("C-g", sym("dbgw_target"))
            text = s.wait(lambda x: insns(x) and insns(x)[0][2] == target)
            want = objdump_rows(target, 5)
            got = [(a, txt.split()[0]) for _, _, a, txt in insns(text)[:5]]
            assert got == want, (got, want)
            # F2 there, F9: hit, rip and the pc arrow on it, the argument in
            # rcx (x64) or in the stack pane's slot past the return address
            s.keys("F2")
            s.wait(lambda x: insns(x) and insns(x)[0][0])
            s.keys("F9")
            text = s.wait(lambda x: "breakpoint 1, hit 1" in x and pc_of(x) == target, timeout=60)
            assert reg(text, PC) == target, text
            if I386:
                assert re.search(r"(%012x|\+0004) %08x\b" % (reg(text, "esp") + 4, int(t["arg"], 16)), text), text
            else:
                assert reg(text, "rcx") == int(t["arg"], 16), text
            assert f"thread {t['main_tid']} at dbgwin.exe!{sym('dbgw_target')}" in "\n".join(s.log())
            # F7: one instruction, its length by objdump
            s.keys("F7")
            text = s.wait(lambda x: pc_of(x) == target + insn_len(target))
            assert reg(text, PC) == target + insn_len(target)
            # the breakpoint out (':' delete), F9: it runs; Ctrl-C pauses
            s.keys(":")
            s.literal("delete 1")
            s.keys("Enter", settle=0.5)
            s.wait(lambda x: insns(x) and not any(r[0] for r in insns(x)))
            s.keys("F9")
            s.wait("running...")
            s.keys("C-c")
            s.wait(lambda x: sum(l.startswith("interrupted, thread") for l in s.log()) == 1, timeout=60)
            # F9 again, F12 pauses too
            s.keys("F9")
            s.wait("running...")
            s.keys("F12")
            s.wait(lambda x: sum(l.startswith("interrupted, thread") for l in s.log()) == 2, timeout=60)
            text = s.text()
            assert pc_of(text) == reg(text, PC)
            n0 = f.seen()
            # q: detached, the process runs on as before
            s.keys("q")
            assert ended(s) == 0, s.stderr()
        runs_on_unchanged(f, n0)
    finally:
        f.stop()


def test_wincpu_step_over_and_finish_of_a_blocking_call_interrupted():
    """dbgwin.exe block: dbgw_block waits for an event nobody sets. F8 on
    its call and u (finish) inside the wait never end by themselves:
    Ctrl-C stops them, the log says where (inside the wait), the window
    shows it; q kills the program started"""
    blocking_call_interrupted({})


def test_wincpu_our_late_ctrl_c_is_the_pause_the_targets_made():
    """the same with vmatlas's own Ctrl-C event taken 1.5 s late
    (VMATLAS_TEST_LATE_CTRL), after the target's DBG_CONTROL_C ended the
    run, as on a loaded machine: it is the same pause, not a Ctrl-C at
    the stopped window (which ends it; before, it ended vmatlas with the
    C runtime's SIGINT exit, 3)"""
    blocking_call_interrupted({"VMATLAS_TEST_LATE_CTRL": "1500"})


def blocking_call_interrupted(env):
    with WinCpu(["--", DBGWIN, "block"], env=env) as s:
        s.wait(lambda x: "Disassembly" in x and "stopped at" in x, timeout=60)
        s.prompt("C-g", sym("dbgw_target"))
        s.keys("F2")
        s.wait(lambda x: insns(x) and insns(x)[0][0])
        s.keys("F9")
        s.wait("breakpoint 1, hit 1", timeout=60)
        tid = re.search(r"breakpoint 1, hit 1, thread (\d+) ", "\n".join(s.log())).group(1)
        s.keys("u")  # back in main, after the call of dbgw_target
        text = s.wait("returned", timeout=60)
        # F8 until the pc is on the call of dbgw_block
        for _ in range(10):
            row = next(r for r in insns(text) if r[1])
            if re.match(r"call dbgwin\.exe!%s\b" % re.escape(sym("dbgw_block")), row[3]):
                break
            s.keys("F8")
            text = s.wait(lambda x: insns(x) and any(r[1] for r in insns(x)) and pc_of(x) != row[2])
        else:
            raise AssertionError("no call of dbgw_block after dbgw_target's:\n" + text)
        call = row[2]
        s.keys("F8")
        s.wait("running...")
        s.keys("C-c")
        text = s.wait(lambda x: any(l.startswith("interrupted, thread") for l in s.log()), timeout=60)
        where = next(l for l in s.log() if l.startswith("interrupted"))
        # the thread that was stepped, inside the wait (ntdll, kernelbase
        # ...), not back in main; the Ctrl-C the program got too (its
        # DBG_CONTROL_C, on a thread of its own) is that same pause
        assert where.startswith(f"interrupted, thread {tid} at ") and ".dll!" in where, where
        assert not re.search(r"dbgwin\.exe!%s" % sym("main"), where) and pc_of(text) != call, (where, text)
        assert not any("SIGINT" in l for l in s.log()), s.log()
        assert pc_of(text) == reg(text, PC)
        # finish from there: the wait goes on; Ctrl-C again
        s.keys("u")
        s.wait("running...")
        s.keys("C-c")
        s.wait(lambda x: sum(l.startswith("interrupted, thread") for l in s.log()) == 2, timeout=60)
        assert not any("returned" in l for l in s.log()[-3:]), s.log()
        assert re.match(f"interrupted, thread {tid} at ", s.log()[-1]) and not any("SIGINT" in l for l in s.log())
        s.keys("q")
        assert ended(s) == 0, s.stderr()
