"""The debugger's batch mode and the console's control events in the
Windows build, under Wine (base/win/console_signals.c: Ctrl-C and
Ctrl-Break are SIGINT, the console closed, logoff and shutdown SIGTERM,
all through a console control handler of ours), against dbgwin.exe and
its printed truth.

Wine on a Unix terminal (a tmux pane) turns the terminal's SIGINT into
CTRL_C_EVENT: a Ctrl-C while `continue` runs pauses the target (an
interrupt event; an attached process is broken into with
DebugBreakProcess, a program vmatlas started shares its console and its
own DBG_CONTROL_C is the stop), the session goes on. A Ctrl-C at the
prompt with nothing running leaves vmatlas reading (Wine's console read
goes on; Windows would give a fresh prompt). The test_windbg.py Ctrl-C
test covers commands from a pipe: the pause, then with nothing running
the cleanup, the process let go unchanged.

Ctrl-Break: tests/fixtures/win/ctrlgrp.exe starts vmatlas.exe in a
process group of its own and sends CTRL_BREAK_EVENT to it with
GenerateConsoleCtrlEvent. Wine 8 fails that call (ERROR_INVALID_HANDLE,
on its console over a Unix terminal and on one from AllocConsole alike):
the test then skips, saying so. CTRL_CLOSE_EVENT, CTRL_LOGOFF_EVENT and
CTRL_SHUTDOWN_EVENT cannot be produced under Wine here (no console
window to close, no session to end): not tested. An i386 dbgwin.exe
(VMATLAS_WINFIX=win32) is named by its i386 symbols (test_windbg.sym)
and its argument is on the stack."""
import os
import re
import subprocess
import tempfile
import time

from lib import Skip
from test_windbg import ARG1, DBGWIN, Fixture, runs_on_unchanged, sym
from test_wincpu import WinCpu
from winlive import FIXDIR, ENV, EXE, ROOT, WINE, _ready, popen_wine

CTRLGRP = os.path.join(FIXDIR, "ctrlgrp.exe")


def prompts(s):
    return s.stderr().count("(vmatlas) ")


def history(s):
    """the whole pane, its scrolled-off lines too, wrapped lines joined"""
    return s.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", "0").stdout


def until(s, pred, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        text = history(s)
        if pred(text):
            return text
        time.sleep(0.2)
    raise AssertionError("never seen: %s" % history(s)[-3000:])


def command(s, text, done):
    """type a command line at the prompt; until done is in the pane"""
    s.literal(text)
    s.keys("Enter")
    return until(s, lambda x: done in x)


def running(f, timeout=60):
    """until dbgwin.exe prints rounds again: continue runs"""
    n0 = f.seen()
    f.rounds_after(n0, 2, timeout)


def interrupts(text):
    return re.findall(r'\{"event":"interrupt","tid":(\d+),"pc":"(0x[0-9a-f]+)"', text)


def test_winint_ctrl_c_pauses_continue_at_the_prompt_attached():
    _ready()
    if not os.path.exists(DBGWIN):
        raise Skip("no dbgwin.exe (make windows)")
    f = Fixture()
    try:
        t = f.truth
        with WinCpu(["--json", t["pid"]], w=220, h=50) as s:
            s.wait(lambda x: prompts(s) == 1, timeout=60)
            for n in (1, 2):
                s.literal("continue")
                s.keys("Enter")
                running(f)
                s.keys("C-c")
                text = until(s, lambda x: len(interrupts(x)) == n and prompts(s) == n + 1)
                assert text.count('{"command":"continue","ok":true}') == n, text
            # paused: the loop prints nothing
            n0 = f.seen()
            time.sleep(1)
            assert f.seen() == n0, "dbgwin.exe ran on while paused"
            # nothing running: vmatlas goes on reading
            s.keys("C-c")
            time.sleep(1)
            assert "EXIT=" not in history(s)
            tid, pc = interrupts(history(s))[-1]
            text = command(s, "regs", '{"command":"regs","ok":true')
            assert re.search(r'"command":"regs","ok":true,"tid":%s,.*"rip":"%s"' % (tid, pc), text.replace("\n", "")), text
            text = command(s, "detach", "EXIT=")
            assert "EXIT=0" in text and '"result":"detached"' in text, text
        runs_on_unchanged(f, f.seen())
    finally:
        f.stop()


def test_winint_ctrl_c_pauses_a_started_program_sharing_the_console():
    """dbgwin.exe block, started by vmatlas: it waits for ever in
    dbgw_block; its own DBG_CONTROL_C is the pause, shown on the thread
    that was current (the main thread, in the wait); quit kills it"""
    _ready()
    if not os.path.exists(DBGWIN):
        raise Skip("no dbgwin.exe (make windows)")
    with WinCpu(["--json", "--", DBGWIN, "block"], w=220, h=50) as s:
        s.wait(lambda x: prompts(s) == 1, timeout=60)
        for n in (1, 2):
            s.literal("continue")
            s.keys("Enter")
            time.sleep(2)  # nothing to see: it waits
            s.keys("C-c")
            until(s, lambda x: len(interrupts(x)) == n and prompts(s) == n + 1)
        text = command(s, "bt", '{"command":"bt"')
        assert "dbgwin.exe!" + sym("dbgw_block") in text and "dbgwin.exe!" + sym("main") in text, text
        assert len({tid for tid, _ in interrupts(text)}) == 1, text  # the thread in the wait, each time
        text = command(s, "quit", "EXIT=")
        assert "EXIT=0" in text and '"result":"killed"' in text, text


def winpath(p):
    return "Z:" + os.path.abspath(p).replace("/", "\\")


def test_winint_ctrl_break_pauses_then_ends_vmatlas_letting_go():
    """Ctrl-Break to vmatlas.exe's process group while continue runs: the
    pause (as Ctrl-C); again with nothing running (commands from a pipe):
    the cleanup, the process runs on unchanged (the C runtime's SIGBREAK
    would end vmatlas without it, and the debug API would kill it)"""
    _ready()
    for f_, what in ((DBGWIN, "dbgwin.exe"), (CTRLGRP, "ctrlgrp.exe")):
        if not os.path.exists(f_):
            raise Skip(f"no {what} (make windows)")
    f = Fixture()
    d = tempfile.mkdtemp(prefix="vmatlas-winint-")
    sig, err = os.path.join(d, "sig"), os.path.join(d, "err")

    def send(what):
        with open(sig + ".tmp", "w") as x:
            x.write(what + "\n")
        os.rename(sig + ".tmp", sig)
        end = time.monotonic() + 60
        while os.path.exists(sig) and time.monotonic() < end:
            time.sleep(0.1)
        with open(err) as x:
            said = x.read()
        if "GenerateConsoleCtrlEvent: error" in said:
            raise Skip("Wine cannot send a console control event to a process group: " + said.strip())
        assert "sent " + what in said, said

    def begin(p):
        p.stdin.write("break %s if %s == 12345\ncontinue\n" % (sym("dbgw_target"), ARG1))
        p.stdin.flush()
        return p.stdout.readline()

    p = None
    try:
        t = f.truth
        with open(err, "w") as e:
            p, first = popen_wine([WINE, CTRLGRP, winpath(sig), winpath(EXE), "debug", "--json", "--batch", "-",
                                   str(t["pid"])], begin, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=e,
                                  text=True, env=ENV)
        assert '"command":"break"' in first, first
        running(f)
        send("break")
        seen = []
        for line in p.stdout:
            seen.append(line)
            if '"command":"continue"' in line:
                break
        assert sum('"event":"interrupt"' in l for l in seen) == 1, seen
        send("break")  # nothing running, no prompt: the cleanup
        p.wait(timeout=60)  # stdin still open: the event ended it
        assert p.returncode != 0
        p.stdin.close()
        runs_on_unchanged(f, f.seen())
    finally:
        if p and p.poll() is None:
            p.kill()
        f.stop()
