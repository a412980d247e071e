"""vmatlas debug's batch mode and Ctrl-C (SIGINT), against dbgfix spin
(an attached process, started apart from vmatlas's process group): while
a command runs the target, SIGINT pauses it (an interrupt event, the
session goes on: regs, bt, continue, detach); at a terminal's prompt a
Ctrl-C with nothing running gives a fresh prompt; reading a pipe, a
SIGINT with nothing running lets the target go and ends vmatlas. Each
time the process is left as it was: its code without our int3, not
traced, running (read from /proc). And a program vmatlas started at the
terminal, which gets the Ctrl-C too: one pause, and no SIGSTOP of ours
left to stop it once detached."""
import contextlib
import json
import os
import select
import shlex
import signal
import subprocess
import time

import schema
from lib import VMATLAS, no_sanitizer_reports
from test_debug import SCHEMA, start_spin, status_of, stop_spin, text_pages
from test_tui import Screen as _TuiScreen


_pending = {}


def read_until(d, pred, timeout=30):
    """JSON lines from vmatlas's stdout until pred(doc); all of them (read
    from the descriptor: select() does not see a file object's buffer)"""
    got = []
    fd = d.stdout.fileno()
    buf = _pending.pop(fd, b"")
    deadline = time.time() + timeout
    while True:
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            doc = json.loads(line)
            schema.validate(SCHEMA, "debug", doc)
            got.append(doc)
            if pred(doc):
                _pending[fd] = buf
                return got
        r, _, _ = select.select([fd], [], [], max(0.0, deadline - time.time()))
        chunk = os.read(fd, 65536) if r else b""
        if not chunk:
            raise AssertionError(f"not seen in time; got {got!r}")
        buf += chunk


def wait_running(pid, timeout=15):
    """until the target runs (not in a tracing stop): continue is busy"""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if status_of(pid)[0] != "t":
            return
        time.sleep(0.01)
    raise AssertionError("the target never ran")


def left_as_it_was(p, before):
    time.sleep(0.05)
    assert text_pages(p.pid) == before
    state, tracer = status_of(p.pid)
    assert tracer == 0 and state in ("R", "S"), state
    assert "counter" in stop_spin(p)


@contextlib.contextmanager
def spin_batch():
    """dbgfix spin and vmatlas debug --json --batch - attached to it over
    pipes: (process, truth, its code pages before, vmatlas); both killed
    at the end if still there"""
    p, t = start_spin()
    d = None
    try:
        before = text_pages(p.pid)
        d = subprocess.Popen([VMATLAS, "debug", "--json", "--batch", "-", str(p.pid)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        yield p, t, before, d
    finally:
        if d and d.poll() is None:
            d.kill()
        if p.poll() is None:
            p.kill()


def test_sigint_pauses_continue_and_the_session_goes_on():
    with spin_batch() as (p, t, before, d):
        # a condition never true: continue runs until paused, the int3 in
        d.stdin.write(f"break {t['target']} if rdi == 99\ncontinue\n")
        d.stdin.flush()
        read_until(d, lambda o: o.get("command") == "break")
        for round in range(2):
            wait_running(p.pid)
            d.send_signal(signal.SIGINT)
            got = read_until(d, lambda o: o.get("command") == "continue")
            ev = [o for o in got if o.get("event") == "interrupt"]
            assert len(ev) == 1 and ev[0]["stopped"], got
            assert got[-1]["ok"], got
            state, tracer = status_of(p.pid)
            assert state == "t" and tracer == d.pid, (state, tracer)  # held, paused
            d.stdin.write("regs\nbt\n" + ("continue\n" if round == 0 else ""))
            d.stdin.flush()
            regs = read_until(d, lambda o: o.get("command") == "regs")[-1]
            bt = read_until(d, lambda o: o.get("command") == "bt")[-1]
            assert regs["ok"] and bt["ok"], (regs, bt)
            assert int(regs["regs"]["rip"], 16) == int(ev[0]["pc"], 16)
            assert int(bt["frames"][0]["pc"], 16) == int(ev[0]["pc"], 16)
            assert any("main" in f.get("where", "") for f in bt["frames"]), bt
        d.stdin.write("detach\n")
        d.stdin.flush()
        assert read_until(d, lambda o: o.get("command") == "detach")[-1]["result"] == "detached"
        d.stdin.close()
        assert d.wait(timeout=20) == 0
        no_sanitizer_reports(d.stderr.read())
        left_as_it_was(p, before)


def test_sigint_with_nothing_running_on_a_pipe_lets_go_and_ends():
    """the pause first (the int3 in), then a SIGINT between commands:
    today's cleanup, the target let go as it was"""
    with spin_batch() as (p, t, before, d):
        d.stdin.write(f"break {t['target']} if rdi == 99\nwatch dbg_neighbor\ncontinue\n")
        d.stdin.flush()
        read_until(d, lambda o: o.get("command") == "watch")
        wait_running(p.pid)
        d.send_signal(signal.SIGINT)
        read_until(d, lambda o: o.get("command") == "continue")
        with open(f"/proc/{p.pid}/mem", "rb", buffering=0) as mem:
            mem.seek(int(t["target"], 16))
            assert mem.read(1) == b"\xcc"  # paused with the breakpoint in
        d.send_signal(signal.SIGINT)  # vmatlas waits for a line
        assert d.wait(timeout=20) == -signal.SIGINT
        d.stdin.close()
        no_sanitizer_reports(d.stderr.read())
        left_as_it_was(p, before)


class Prompt(_TuiScreen):
    """vmatlas debug --json PID at a terminal (tmux): the (vmatlas) prompt
    on stderr, the JSON lines on stdout, both on the screen"""

    def __init__(self, args, w=220, h=50):
        import shutil
        import tempfile
        from lib import Skip
        if not shutil.which("tmux"):
            raise Skip("no tmux")
        self.dir = tempfile.mkdtemp(prefix="vmatlas-prompt-")
        self.sock = os.path.join(self.dir, "sock")
        cmd = " ".join(shlex.quote(a) for a in [os.path.abspath(VMATLAS), "debug", "--json"] + [str(a) for a in args])
        inner = f"trap : INT; {cmd}; echo EXIT=$?; sleep 600"
        self.tmux("new-session", "-d", "-x", str(w), "-y", str(h), "sh", "-c", inner)


def test_ctrl_c_at_the_prompt_pauses_continue_and_gives_a_fresh_prompt():
    p, t = start_spin()
    try:
        before = text_pages(p.pid)
        with Prompt([p.pid]) as s:
            s.wait("(vmatlas)")
            s.literal(f"break {t['target']} if rdi == 99")
            s.keys("Enter")
            s.wait(lambda x: x.count("(vmatlas)") == 2)
            s.literal("continue")
            s.keys("Enter")
            wait_running(p.pid)
            s.keys("C-c")
            txt = s.wait(lambda x: x.count("(vmatlas)") == 3)
            assert '"event":"interrupt"' in txt and '{"command":"continue","ok":true}' in txt, txt
            assert status_of(p.pid) == ("t", s.vmatlas_pid())
            s.keys("C-c")  # nothing running: a fresh prompt, vmatlas goes on
            txt = s.wait(lambda x: x.count("(vmatlas)") == 4)
            assert "EXIT=" not in txt and status_of(p.pid)[0] == "t", txt
            s.literal("regs")
            s.keys("Enter")
            s.wait('{"command":"regs","ok":true')
            s.literal("detach")
            s.keys("Enter")
            txt = s.wait("EXIT=")
            assert "EXIT=0" in txt and '"result":"detached"' in txt, txt
            no_sanitizer_reports(txt)
        left_as_it_was(p, before)
    finally:
        if p.poll() is None:
            p.kill()


def test_ctrl_c_that_a_started_program_gets_too_pauses_once_and_detach_leaves_it_running():
    """dbgfix spin started by vmatlas at the terminal: it is in the
    terminal's foreground process group, so the Ctrl-C is its SIGINT too,
    besides vmatlas's SIGSTOP. The SIGINT comes first (the lower number):
    it is the pause, the SIGSTOP still to come is swallowed by the next
    continue, or taken before detach (else the process would stop once
    let go)"""
    with Prompt(["--keep", "--", os.path.join(os.path.dirname(VMATLAS), "fixtures", "dbgfix"), "spin"]) as s:
        s.wait(lambda x: x.count("(vmatlas)") == 1)
        v = s.vmatlas_pid()
        with open(f"/proc/{v}/task/{v}/children") as f:
            pid = int(f.read().split()[0])
        try:
            for n in (1, 2):
                s.literal("continue")
                s.keys("Enter")
                wait_running(pid)
                s.keys("C-c")
                txt = s.wait(lambda x: x.count("(vmatlas)") == n + 1)
                assert txt.count('"event":"interrupt"') == n and '"event":"signal"' not in txt, txt
                assert status_of(pid) == ("t", s.vmatlas_pid())
            s.literal("detach")
            s.keys("Enter")
            txt = s.wait("EXIT=")
            assert "EXIT=0" in txt and '"result":"detached"' in txt, txt
            no_sanitizer_reports(txt)
            time.sleep(0.2)
            state, tracer = status_of(pid)
            assert tracer == 0 and state in ("R", "S"), state  # not T: no SIGSTOP left
        finally:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_pause_asked_before_a_run_starts_is_taken():
    """a Ctrl-C that comes while finish or until looks before it runs
    (the unwind, the breakpoint to run to): VMATLAS_TEST_PAUSE_BEFORE_RUN
    asks the pause at that moment. It stops the run into dbg_block's
    endless poll at once; it used to be refused then, and the command ran
    for ever"""
    from test_debug import DBGFIX
    cmds = "break dbg_block\ncontinue\nfinish\nprint rip\nuntil main\nprint rip\nkill\n"
    env = dict(os.environ, VMATLAS_TEST_PAUSE_BEFORE_RUN="1")
    p = subprocess.run([VMATLAS, "debug", "--json", "--batch", "-", "--at-main", "--", DBGFIX, "block"],
                       input=cmds, env=env, capture_output=True, text=True, timeout=60)
    no_sanitizer_reports(p.stderr)
    out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    for doc in out:
        schema.validate(SCHEMA, "debug", doc)
    assert p.returncode == 0, (p.returncode, out, p.stderr[-2000:])
    # each run command: one interrupt event, then its own result, ok
    seq = [o.get("event") or o.get("command") for o in out if o.get("event") or o.get("command")]
    i = seq.index("finish")
    assert seq[i - 1] == "interrupt" and seq[seq.index("until") - 1] == "interrupt", seq
    ints = [o for o in out if o.get("event") == "interrupt"]
    assert len(ints) == 2 and all(e["stopped"] and "dbg_block" in e["where"] for e in ints), ints
    assert all(r["ok"] for r in out if r.get("command") in ("finish", "until", "print")), out


def test_a_second_sigint_while_the_first_pause_is_taken_leaves_no_sigstop():
    """two SIGINTs for one pause (Ctrl-C twice, or timeout(1), which
    passes a SIGINT to its child and again to its process group): the
    second came as the first pause's SIGSTOP was taken and sent another,
    which stopped the process (State T, not traced) once detached.
    VMATLAS_TEST_PAUSE_AGAIN=1 asks the second pause at that moment"""
    p, t = start_spin()
    d = None
    try:
        before = text_pages(p.pid)
        env = dict(os.environ, VMATLAS_TEST_PAUSE_AGAIN="1")
        d = subprocess.Popen([VMATLAS, "debug", "--json", "--batch", "-", str(p.pid)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        d.stdin.write(f"break {t['target']} if rdi == 99\ncontinue\n")
        d.stdin.flush()
        read_until(d, lambda o: o.get("command") == "break")
        wait_running(p.pid)
        d.send_signal(signal.SIGINT)
        got = read_until(d, lambda o: o.get("command") == "continue")
        assert len([o for o in got if o.get("event") == "interrupt"]) == 1, got
        d.stdin.write("detach\n")
        d.stdin.close()
        assert d.wait(timeout=20) == 0
        no_sanitizer_reports(d.stderr.read())
        left_as_it_was(p, before)
    finally:
        if d and d.poll() is None:
            d.kill()
        if p.poll() is None:
            p.kill()
