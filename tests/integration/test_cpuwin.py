"""vmatlas debug's CPU window, driven through tmux (send-keys,
capture-pane) against dbgfix: each pane's content and every key (F2, F4,
F7, F8, S-F8, F9, ^C/F12, ^G, Enter/^F, ^D, ^E, ^P/Backspace, Tab, ':',
F1, edit in place, resizing), and quitting or a signal leaving an attached
process exactly as it was."""
import os
import re
import shlex
import signal
import time

from lib import FIXTURES, VMATLAS, no_sanitizer_reports
from test_debug import start_spin, status_of, stop_spin, text_pages
from test_tui import Screen as _TuiScreen

DBGFIX = os.path.join(FIXTURES, "dbgfix")


class Screen(_TuiScreen):
    """vmatlas debug ARGS in a tmux pane (xterm keys: S-F8, C-F8, C-Left)"""

    def __init__(self, args, w=80, h=24, term="xterm-256color"):
        import shutil
        import tempfile
        from lib import Skip
        if not shutil.which("tmux"):
            raise Skip("no tmux")
        self.dir = tempfile.mkdtemp(prefix="vmatlas-cpu-")
        self.sock = os.path.join(self.dir, "sock")
        cmd = " ".join(shlex.quote(a) for a in [os.path.abspath(VMATLAS), "debug"] + [str(a) for a in args])
        inner = f"trap : INT; TERM={term} {cmd} 2>{self.dir}/stderr; echo EXIT=$?; stty -a; sleep 600"
        self.tmux("new-session", "-d", "-x", str(w), "-y", str(h), "sh", "-c", inner)


ARROW = re.compile(r"^(.)=>(.{4}|.{6}) ([0-9a-f]{12}) ", re.M)  # mark, pc, the arrows' gutter


def left(text):
    """the left column's lines (the disassembly, memory and log panes)"""
    return [l[:42] for l in text.splitlines()]


def up_arrow_from(lines, jl):
    """the row a jump at row jl draws its line up to (VT100 line drawing
    as tmux captures it: m lower corner, l upper corner, x vertical, q
    horizontal, n crossing; the gutter's last column the arrow head),
    None when there is no such line"""
    end = re.match(r"^.{3}(.*?) [0-9a-f]{12} ", lines[jl]).end(1) - 1  # the heads' column
    g = lines[jl][3:end]
    if "m" not in g:
        return None
    col = 3 + g.index("m")
    if any(ch not in "qn" for ch in lines[jl][col + 1:end + 1]):
        return None
    for i in range(jl - 1, -1, -1):
        ch = lines[i][col]
        if ch == "l":
            ok = lines[i][end] == ">" and all(c in "qn" for c in lines[i][col + 1:end])
            return i if ok else None
        if ch not in "xn":
            return None
    return None


def pc_is(text, addr):
    """the pc arrow is on addr (False also while a redraw is half done:
    ncurses leaves the rest for later when keys are waiting)"""
    m = ARROW.search("\n".join(left(text)))
    return bool(m) and int(m.group(3), 16) == addr


def pc_of(text):
    m = ARROW.search("\n".join(left(text)))
    assert m, text
    return int(m.group(3), 16)


def insns(text):
    """(bp mark, pc arrow, address, text) of the disassembly rows"""
    out = []
    for l in left(text):
        m = re.match(r"^([ *])(=>|  )(.{4}|.{6}) ([0-9a-f]{12}) (.*)$", l)
        if m:
            out.append((m.group(1) == "*", m.group(2) == "=>", int(m.group(4), 16), m.group(5).rstrip()))
    return out


def sel_addr(s):
    """the status line's address (the cursor of the focused pane)"""
    last = s.text().rstrip("\n").splitlines()[-1]
    m = re.search(r"quit\s+([0-9a-f]+) ", last)
    assert m, last
    return int(m.group(1), 16)


def reg(text, name):
    m = re.search(r"\b%s +([0-9a-f]{16})" % name, text)
    assert m, (name, text)
    return int(m.group(1), 16)


def ended(s):
    t = s.wait(lambda x: "EXIT=" in x and "icanon" in x)  # stty's lines come after EXIT=
    assert "icanon" in t and "-icanon" not in t and " echo " in t, t
    no_sanitizer_reports(s.stderr())
    return t


def batch(args, *lines):
    import subprocess
    p = subprocess.run([VMATLAS, "debug", "--batch", "-"] + args, input="\n".join(lines) + "\n", text=True,
                       capture_output=True, timeout=60)
    return p.stdout


def test_panes_and_keys_80x24():
    with Screen(["--at-main", "--", DBGFIX, "calls", "5"]) as s:
        t = s.wait("stopped at dbgfix!main")
        for pane in ("Disassembly", "Registers", "Memory", "Stack", "Log"):
            assert pane in t, t
        assert "dbgfix.c:" in t  # the source line above the code
        assert pc_of(t) == reg(t, "rip")
        assert re.search(r" ret #1 libc", t), t  # main's return address into libc, frame 1
        assert re.search(r"^[0-9a-f]{12} [0-9a-f]{2} ", t, re.M)  # memory rows (u8)
        # F1: every key
        s.keys("F1")
        h = s.wait("step into")
        for k in ("F9", "F8", "F4", "F2", "^G", "^D", "^E", "^P", "Tab", "S-F8"):
            assert k in h, (k, h)
        s.keys("q")
        s.wait("Disassembly")
        # s: source lines off and on
        s.keys("s")
        assert "dbgfix.c:" not in "\n".join(left(s.text()))
        s.keys("s")
        # ^G to dbg_target in the disassembly, F2 there: a mark
        s.prompt("C-g", "dbg_target")
        t = s.wait(lambda x: insns(x) and sel_addr(s) == insns(x)[0][2])
        target = insns(t)[0][2]
        s.keys("F2")
        t = s.wait(lambda x: insns(x) and insns(x)[0][0])
        m = re.search(r"breakpoint (\d+) at 0x([0-9a-f]+)", t)
        assert m and int(m.group(2), 16) == target, t
        bp = int(m.group(1))
        # ^Right nudges the origin a byte, ^Left back
        s.keys("C-Right")
        t = s.wait(lambda x: insns(x) and insns(x)[0][2] == target + 1)
        s.keys("C-Left")
        s.wait(lambda x: insns(x) and insns(x)[0][2] == target)
        # F9: hit, the arrow on the marked row, the log says so
        s.keys("F9")
        t = s.wait("breakpoint %d, hit 1" % bp)
        assert pc_of(t) == target and reg(t, "rip") == target
        rows = insns(t)
        assert rows[0][:3] == (True, True, target)
        # F7 moves the arrow as stepi does: to the next instruction
        nxt = rows[1][2]
        s.keys("F7")
        s.wait(lambda x: pc_of(x) == nxt)
        # the registers the step changed are highlighted, the others not
        e = s.text(escapes=True)
        assert re.search(r"\x1b\[[0-9;]*mrip ", e), e
        assert not re.search(r"\x1b\[[0-9;]*mrbx ", e), e
        # S-F8 (step out): back in main after the call, 'returned' in the log
        s.keys("S-F8")
        t = s.wait("returned")
        ret = pc_of(t)
        assert "dbgfix!main" in s.text().splitlines()[-1] or True
        # F4 (run to the cursor) to the call that returned there (the
        # loop's next one: a 5-byte call dbgfix!dbg_target), F8 over it
        call, after = ret - 5, ret
        # the breakpoint would stop inside: disable it with ':'
        s.keys(":")
        s.literal("disable %d" % bp)
        s.keys("Enter", settle=0.3)
        s.prompt("C-g", "0x%x" % call)
        s.wait(lambda x: sel_addr(s) == call)
        s.keys("F4")
        s.wait(lambda x: pc_of(x) == call)
        s.keys("F8")
        t = s.wait(lambda x: pc_of(x) == after)
        # registers: Tab to them, Enter on rax, a new value
        s.keys("Tab", "Down", "Down", "Down")  # rip rflags flags rax
        s.prompt("Enter", "0x1234")
        t = s.wait(lambda x: "0000000000001234" in x)
        s.keys(":")
        s.literal("print rax")
        s.keys("Enter")
        s.wait("0x1234 (4660)")
        # memory: Tab, ^G to dbg_value, u8, edit to 2a
        s.keys("Tab")
        s.prompt("C-g", "dbg_value")
        t = s.wait(lambda x: "dbgfix!dbg_value" in x.splitlines()[-1])
        value = sel_addr(s)
        assert re.search(r"^%012x 05 00 00 00" % value, t, re.M), t
        s.prompt("e", "2a")
        s.wait(lambda x: re.search(r"^%012x 2a 00 00 00" % value, x, re.M))
        s.keys(":")
        s.literal("print dword [dbg_value]")
        s.keys("Enter")
        s.wait("0x2a (42)")
        # units: 3 = u32, 1 = u8
        s.keys("3")
        s.wait(lambda x: re.search(r"^%012x 0000002a" % value, x, re.M))
        s.keys("1")
        # stack: Enter on [rsp] (a return address? whatever it is) follows
        s.keys("Tab")
        t = s.text()
        sp = reg(t, "rsp")
        s.keys("C-d")  # follow as data: the memory pane at [rsp]
        t = s.wait(lambda x: "Memory" in x and sel_addr(s) != sp)
        s.keys("C-p")  # back: memory at dbg_value again
        s.wait(lambda x: sel_addr(s) == value)
        # registers: rip followed as code (^E) shows the pc; Backspace back
        s.keys("Tab", "Tab", "Tab")  # memory -> stack -> log -> disassembly
        s.prompt("C-g", "dbg_answer")
        answer = s.wait(lambda x: insns(x) and insns(x)[0][3].startswith(("push", "mov", "endbr", "sub", "xor", "lea")))
        ans = insns(answer)[0][2]
        s.keys("Tab")  # registers
        s.keys("C-e")  # rax (0x1234) as code: cannot read, but the pane moved
        s.wait(lambda x: insns(x) == [] or insns(x)[0][2] != ans)
        s.keys("BSpace")
        s.wait(lambda x: insns(x) and insns(x)[0][2] == ans)
        # resizing: '+' grows the focused pane (the disassembly)
        # (^E and back left the focus on the disassembly)
        before = [i for i, l in enumerate(s.text().splitlines()) if "Memory" in l]
        s.keys("+", "+")
        after_rows = [i for i, l in enumerate(s.text().splitlines()) if "Memory" in l]
        assert after_rows[0] == before[0] + 2, (before, after_rows)
        s.keys("-", "-")
        assert [i for i, l in enumerate(s.text().splitlines()) if "Memory" in l] == before
        # '>' narrows the right column: the Registers heading moves right
        col = s.text().splitlines()[1].index("Registers")
        s.keys(">", ">")
        assert s.text().splitlines()[1].index("Registers") == col + 4
        s.keys("<", "<")
        # jump arrows: main's loop, jnz back up to the call's line
        s.prompt("C-g", "0x%x" % (call - 3))
        t = s.wait(lambda x: insns(x) and insns(x)[0][2] == call - 3)
        rows = insns(t)
        jnz = [r for r in rows if r[3].startswith("jnz") or r[3].startswith("jne")]
        assert jnz, rows
        # its line goes up from the jnz (a lower corner) to its target's row
        # (an upper corner, the arrow head) in the gutter (columns 3-6)
        lines = left(t)
        jl = next(i for i, l in enumerate(lines) if re.match(r"^.{7} %012x " % jnz[0][2], l))
        assert up_arrow_from(lines, jl) is not None, lines
        # ^F on the call follows it (the code of dbg_target), ^P back
        s.keys("Down")
        s.wait(lambda x: sel_addr(s) == call)
        s.keys("C-f")
        s.wait(lambda x: insns(x) and insns(x)[0][2] == target)
        s.keys("C-p")
        s.wait(lambda x: insns(x) and insns(x)[0][2] == call - 3)
        # stack: Enter on the slot at rsp follows its value
        s.keys("Tab", "Tab", "Tab")  # registers, memory, stack
        t = s.text()
        m = re.search(r"\+0000 ([0-9a-f]{16})", t)  # the slot at rsp
        assert m, t
        s.keys("Enter")
        t = s.wait(lambda x: sel_addr(s) == int(m.group(1), 16))
        s.keys("BSpace")
        # registers: the flags row takes ZF=1; f shows the FPU/SSE registers
        s.keys("Tab", "Tab", "Tab", "Tab")  # log, disassembly, registers
        s.keys("PPage", "Down", "Down")  # rip, rflags, the flags
        zf = bool(reg(s.text(), "rflags") & 0x40)
        s.prompt("Enter", "ZF=%d" % (not zf))
        s.wait(lambda x: bool(reg(x, "rflags") & 0x40) != zf)
        assert "ZF%d" % (not zf) in s.text()
        s.keys("f")
        s.wait(lambda x: "Registers FPU/SSE" in x and re.search(r"st0 +\S", x) and "fcw   037f" in x)
        s.keys("f")
        s.wait("rflags")
        # C-F8 and u step out as S-F8: into dbg_target (F7 over the call), out
        s.keys("Tab", "Tab", "Tab", "Tab")  # back to the disassembly
        s.prompt("C-g", "0x%x" % call)
        s.keys("F4")
        s.wait(lambda x: pc_of(x) == call)
        s.keys("F7")
        s.wait(lambda x: pc_of(x) == target)
        s.keys("C-F8")
        s.wait(lambda x: pc_of(x) == after)
        s.prompt("C-g", "0x%x" % call)
        s.keys("F4")
        s.wait(lambda x: pc_of(x) == call)
        s.keys("F7")
        s.wait(lambda x: pc_of(x) == target)
        s.keys("u")
        s.wait(lambda x: pc_of(x) == after)
        # the log scrolls: Tab x4 to it, Up, then Home
        s.keys("Tab", "Tab", "Tab", "Tab", *["PPage"] * 12)
        s.wait("stopped at dbgfix!main")  # the redraw may lag the keys on a busy machine
        s.keys("q")
        t = ended(s)
        assert "EXIT=0" in t


def test_f9_pause_and_quit_detaches():
    p, truth = start_spin()
    try:
        before = text_pages(p.pid)
        with Screen([str(p.pid)], w=120, h=40) as s:
            s.wait("Disassembly")
            s.keys("F9")
            s.wait("running")
            s.keys("C-c")
            s.wait("interrupt")
            s.keys("F9")
            s.wait("running")
            s.keys("F12")
            t = s.wait(lambda x: x.count("interrupt") >= 2)
            # a breakpoint at dbg_target, hit
            s.prompt("C-g", truth["target"])
            s.keys("F2")
            s.keys("F9")
            t = s.wait("breakpoint 1, hit 1")
            assert pc_of(t) == int(truth["target"], 16)
            s.keys("q")
            ended(s)
        time.sleep(0.05)
        assert text_pages(p.pid) == before
        state, tracer = status_of(p.pid)
        assert tracer == 0 and state in ("R", "S"), state
        assert "counter" in stop_spin(p)
    finally:
        if p.poll() is None:
            p.kill()


def test_the_programs_own_output_is_painted_over_after_a_run_and_on_ctrl_l():
    """python3 printing to the terminal the window is on: while it runs
    its lines go there (and scroll the screen); once paused, the whole
    window is painted again (it stayed scribbled over, the title line
    scrolled away); ^L paints it again too (junk written to the tty)"""
    code = "import time\nwhile 1:\n print('TICKTICK', flush=True)\n time.sleep(0.02)"
    with Screen(["--", "/usr/bin/python3", "-c", code], w=120, h=40) as s:
        s.wait("Disassembly")
        s.keys("F9")
        s.wait("TICKTICK")
        s.keys("F12")
        t = s.wait(lambda x: "interrupted" in x and "TICKTICK" not in x)
        assert t.startswith(" vmatlas debug"), t
        tty = s.tmux("display-message", "-p", "-t", "0", "#{pane_tty}").stdout.strip()
        with open(tty, "w") as f:
            f.write("\x1b[5;5HJUNKJUNK")
        s.wait("JUNKJUNK")
        s.keys("C-l")
        s.wait(lambda x: "JUNKJUNK" not in x and "interrupted" in x)
        s.keys("q")
        ended(s)


def test_sighup_detaches_and_restores():
    # stopped in the window, or running (F9: vmatlas waits in the engine)
    for sig, running in ((signal.SIGHUP, False), (signal.SIGTERM, False), (signal.SIGINT, True),
                         (signal.SIGHUP, True)):
        p, truth = start_spin()
        try:
            before = text_pages(p.pid)
            with Screen([str(p.pid)]) as s:
                s.wait("Disassembly")
                # spin calls dbg_target, never dbg_answer: F9 runs on with
                # an int3 in place
                s.prompt("C-g", truth["answer"] if running else truth["target"])
                s.keys("F2")
                s.wait("breakpoint 1 at")
                if running:
                    s.keys("F9")
                    s.wait("running")
                os.kill(s.vmatlas_pid(), sig)
                t = s.wait("EXIT=")
                assert "-icanon" not in t, t
            time.sleep(0.05)
            assert text_pages(p.pid) == before
            state, tracer = status_of(p.pid)
            assert tracer == 0 and state in ("R", "S"), state
            assert "counter" in stop_spin(p)
        finally:
            if p.poll() is None:
                p.kill()


def test_step_over_and_finish_of_a_blocking_call_interrupted():
    """dbgfix block: dbg_block polls nothing for ever. F8 on its call and
    u (finish) inside the poll never end by themselves: ^C stops them,
    the log says where (the same thread, inside the poll)"""
    with Screen(["--at-main", "--", DBGFIX, "block"], w=120, h=40) as s:
        s.wait("stopped at dbgfix!main")
        s.prompt("C-g", "dbg_target")
        s.keys("F2")
        s.wait(lambda x: insns(x) and insns(x)[0][0])
        s.keys("F9")
        text = s.wait(lambda x: re.search(r"breakpoint \d+, hit 1, thread (\d+) ", x))
        tid = re.search(r"breakpoint \d+, hit 1, thread (\d+) ", text).group(1)
        s.keys("u")
        text = s.wait("returned")
        for _ in range(10):  # F8 until the pc is on the call of dbg_block
            row = next(l[:66] for l in text.splitlines() if ARROW.match(l))
            if re.search(r" call dbgfix!dbg_block\b", row):
                break
            pc = pc_of(text)
            s.keys("F8")
            text = s.wait(lambda x: ARROW.search("\n".join(left(x))) and pc_of(x) != pc)
        else:
            raise AssertionError("no call of dbg_block:\n" + text)
        call = pc_of(text)
        for key in ("F8", "u"):  # over the call; then out of the poll
            s.keys(key)
            s.wait("running")
            n = s.text().count("interrupted")
            s.keys("C-c")
            text = s.wait(lambda x: x.count("interrupted") > n)
            lines = text.splitlines()
            log = [l[:66].rstrip() for l in lines[[l.startswith("-- Log") for l in lines].index(True) + 1:-1]]
            log = [l for l in log if l]
            # the pause is the last word: the call did not return
            assert log[-1].startswith(f"interrupted, thread {tid} at libc.so.6!"), log
            assert pc_of(text) != call, text
        s.keys("q")
        t = ended(s)
        assert "EXIT=0" in t


def test_batch_mode_unchanged_without_a_terminal():
    out = batch(["--at-main", "--", DBGFIX, "calls", "2"], "print rip", "quit")
    assert "dbgfix!main" in out


def test_units_exit_and_a_small_terminal():
    with Screen(["--at-main", "--", DBGFIX, "calls", "3"], w=120, h=40) as s:
        s.wait("stopped at dbgfix!main")
        s.keys("Tab", "Tab")  # registers, memory
        s.prompt("C-g", "dbg_value")
        s.wait(lambda x: "dbgfix!dbg_value" in x.splitlines()[-1])
        value = sel_addr(s)
        for key, unit, shown in (("2", "u16", "0005 0000"), ("4", "u64", "0000000000000005"),
                                 ("5", "f32", "7.00649e-45"), ("7", "ascii", None), ("8", "utf16", None),
                                 ("6", "f64", None), ("1", "u8", "05 00 00 00")):
            s.keys(key)
            t = s.wait("Memory %s" % unit)
            if shown:
                assert re.search(r"^%012x %s" % (value, re.escape(shown)), t, re.M), (unit, t)
        # f64: a new value written as a number
        s.keys("6")
        s.prompt("e", "2.5")
        s.wait(lambda x: re.search(r"^%012x 2\.5\b" % value, x, re.M))
        s.keys("1")
        # a terminal too small says so, and comes back
        s.tmux("resize-window", "-t", "0", "-x", "50", "-y", "12")
        s.wait("needs 60x14")
        s.tmux("resize-window", "-t", "0", "-x", "80", "-y", "24")
        s.wait("Disassembly")
        # F9 to the end: the exit in the log and the title
        s.keys("F9")
        t = s.wait("process exited with status 7")
        assert "exited" in t.splitlines()[0]
        s.keys("F7")  # nothing to step: a message, no crash
        s.wait("not running")
        s.keys("q")
        assert "EXIT=0" in ended(s)


def test_i386_and_keys_typed_ahead():
    with Screen(["--at-main", "--", DBGFIX + "32", "calls", "3"]) as s:
        t = s.wait("stopped at dbgfix32!main")
        assert re.search(r"\beip +[0-9a-f]{8}\b", t) and re.search(r"\besp +[0-9a-f]{8}\b", t), t
        assert "rax" not in t and "r15" not in t
        rows = insns(t)
        assert rows[0][1]
        # four F7 typed at once (one write): four steps, none lost, no
        # stray bytes of a key cut in two (the origin stays)
        s.tmux("send-keys", "-t", "0", "F7", "F7", "F7", "F7")
        t = s.wait(lambda x: pc_is(x, rows[4][2]))
        time.sleep(0.5)
        t = s.text()
        assert pc_of(t) == rows[4][2] and insns(t)[0][2] == rows[0][2], t
        # and four more, each its own write while the steps run
        s.keys("F7", "F7", "F7", "F7", settle=0)
        t = s.wait(lambda x: pc_is(x, rows[8][2]))
        time.sleep(0.5)
        assert pc_of(s.text()) == rows[8][2], s.text()
        # many at once: where the pc is after them is where the batch mode's
        # is after as many stepi (a name: module+offset does not move)
        n = 24
        s.tmux("send-keys", "-t", "0", *["F7"] * n)
        out = batch(["--at-main", "--", DBGFIX + "32", "calls", "3"], "stepi %d" % (8 + n), "print eip", "quit")
        want = re.search(r"^0x[0-9a-f]+ \(\d+\) (\S+)$", out, re.M).group(1)
        at_want = re.compile(r"quit\s+[0-9a-f]+ %s " % re.escape(want))
        s.wait(lambda x: at_want.search(x.rstrip("\n").splitlines()[-1] + " "), timeout=30)
        time.sleep(0.5)  # and no step more
        last = s.text().rstrip("\n").splitlines()[-1]
        assert at_want.search(last + " ") and pc_of(s.text()) == sel_addr(s), (want, last)
        t = s.text()
        # the stack in 4-byte slots
        assert re.search(r"\+0004 [0-9a-f]{8}\b", t), t
        # eax edited in place
        s.keys("Tab", "Down", "Down", "Down")  # eip eflags flags eax
        s.prompt("Enter", "0x77")
        s.wait(lambda x: re.search(r"\beax +00000077\b", x))
        s.keys("q")
        assert "EXIT=0" in ended(s)
