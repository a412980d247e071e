"""winlive.py's rerun of a Wine start that failed for Wine's own reason
(USD_CLASH: wine64's brk heap where Wine maps KUSER_SHARED_DATA, about
one start in a few thousand), made to happen: libusdclash.so
(tests/fixtures/libs/usdclash.c), preloaded into wine64, takes that page
for the first N starts of a program, and Wine fails there with its own
message and status. run_wine, popen_wine and tmux_command (the ones every
Wine start of the suite goes through) start such a program again; a
failure of vmatlas.exe itself is never run again."""
import json
import os
import shlex
import shutil
import subprocess
import tempfile

from lib import FIXTURES, Skip
from test_tui import Screen
from winlive import (ATTEMPTS, ENV, EXE, FIXTURE, ROOT, USD_CLASH, WINE, _ready, first_line, live, popen_wine, reruns,
                     run_wine, tmux_command)

CLASH = os.path.abspath(os.path.join(FIXTURES, "libusdclash.so"))
# ENV without a stress run's random failures (winlive.py): the counts here are exact
PLAIN = {k: v for k, v in ENV.items() if not k.startswith("VMATLAS_USDCLASH") and k != "LD_PRELOAD"}


def clash_env(d, prog, fail=1):
    """ENV with the first `fail` starts of prog (in its path) failing as
    Wine fails for the address clash; each start is a line of d/starts"""
    _ready()
    if not os.path.exists(CLASH):
        raise Skip("no libusdclash.so (make fixtures)")
    return dict(PLAIN, LD_PRELOAD=CLASH, VMATLAS_USDCLASH_LOG=os.path.join(d, "starts"),
                VMATLAS_USDCLASH_FAIL=str(fail), VMATLAS_USDCLASH_PROG=prog)


def starts(d):
    try:
        with open(os.path.join(d, "starts")) as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def test_winrerun_the_failure_is_wines_own():
    """the preloaded page gives what the clash gives: status 1, Wine's
    line, nothing of the program run (its --version printed nothing)"""
    with tempfile.TemporaryDirectory() as d:
        env = clash_env(d, "vmatlas.exe")
        p = subprocess.run([WINE, EXE, "--version"], capture_output=True, text=True, env=env, timeout=120,
                           stdin=subprocess.DEVNULL)
        assert (p.returncode, p.stdout) == (1, ""), (p.returncode, p.stdout, p.stderr)
        assert USD_CLASH in p.stderr and "c0000018" in p.stderr, p.stderr
        p = subprocess.run([WINE, EXE, "--version"], capture_output=True, text=True, env=env, timeout=120,
                           stdin=subprocess.DEVNULL)
        assert p.returncode == 0 and p.stdout.startswith("vmatlas "), (p.returncode, p.stdout, p.stderr)
        assert len(starts(d)) == 2


def test_winrerun_run_wine_starts_again():
    with tempfile.TemporaryDirectory() as d:
        p = run_wine([WINE, EXE, "--version"], capture_output=True, text=True, env=clash_env(d, "vmatlas.exe"),
                     timeout=120, stdin=subprocess.DEVNULL)
        assert p.returncode == 0 and p.stdout.startswith("vmatlas ") and p.wine_starts == 2, (p, p.stderr)
        assert len(starts(d)) == 2


def test_winrerun_a_program_vmatlas_starts():
    """debug -- dbgwin.exe: the program vmatlas.exe starts is the one
    Wine cannot start; vmatlas.exe fails ("cannot start"), and the whole
    run is made again. The 64-bit build and dbgwin.exe whatever
    VMATLAS_WINARCH and VMATLAS_WINFIX say: the rerun is the subject, and
    a 32-bit program runs in Wine's 32-bit loader, which cannot preload
    the 64-bit libusdclash.so (nor does the debugger take a 32-bit
    process yet)"""
    exe = os.path.join(ROOT, "build", "win64", "vmatlas.exe")
    dbgwin = os.path.join(ROOT, "build", "win64", "fixtures", "dbgwin.exe")
    if not os.path.exists(exe) or not os.path.exists(dbgwin):
        raise Skip("no 64-bit vmatlas.exe or dbgwin.exe (make windows)")
    with tempfile.TemporaryDirectory() as d:
        env = clash_env(d, "dbgwin.exe")
        p = run_wine([WINE, exe, "debug", "--json", "--batch", "-", "--", dbgwin, "3"], input="kill\n",
                     capture_output=True, text=True, env=env, timeout=180)
        assert p.returncode == 0 and p.wine_starts == 2, (p.returncode, p.stdout, p.stderr)
        assert json.loads(p.stdout.splitlines()[-1]) == {"command": "kill", "ok": True, "result": "killed"}
        assert len(starts(d)) == 2 and all("dbgwin.exe" in s for s in starts(d)), starts(d)


def test_winrerun_vmatlas_failures_are_not_run_again():
    """vmatlas.exe's own failure (no such process) comes back at once;
    Wine failing every time comes back after ATTEMPTS starts, as it is"""
    p = run_wine([WINE, EXE, "map", "4000000000"], capture_output=True, text=True, env=PLAIN, timeout=120,
                 stdin=subprocess.DEVNULL)
    assert p.returncode == 1 and p.wine_starts == 1 and len(p.stderr.splitlines()) == 1, p.stderr
    assert p.stderr.startswith("vmatlas: "), p.stderr
    with tempfile.TemporaryDirectory() as d:
        p = run_wine([WINE, EXE, "--version"], capture_output=True, text=True, env=clash_env(d, "vmatlas.exe", 99),
                     timeout=120, stdin=subprocess.DEVNULL)
        assert (p.returncode, p.stdout, p.wine_starts) == (1, "", ATTEMPTS) and USD_CLASH in p.stderr, p.stderr
        assert len(starts(d)) == ATTEMPTS
    p, got = popen_wine([WINE, EXE, "map", "4000000000"], first_line, stdin=subprocess.DEVNULL,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=PLAIN)
    assert (got, p.returncode, p.wine_starts) == ("", 1, 1), (got, p.returncode)
    assert p.stderr.read().startswith("vmatlas: ")  # kept for the caller


def test_winrerun_popen_wine_starts_again():
    """livefix.exe, its stderr ours (copied by a thread), then to a file
    (what the failed start wrote there is dropped): its truth each time
    from the second start"""
    with tempfile.TemporaryDirectory() as d:
        for k, err in enumerate((None, os.path.join(d, "err"))):
            f = open(err, "w") if err else None
            p, line = popen_wine([WINE, FIXTURE], first_line, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=f, text=True, env=clash_env(d, "livefix.exe", 2 * k + 1))
            if f:
                f.close()
            try:
                assert p.wine_starts == 2 and json.loads(line)["pid"] > 0, line
            finally:
                p.stdin.close()
                p.wait(timeout=60)
            assert len(starts(d)) == 2 * k + 2
        with open(os.path.join(d, "err")) as f:
            assert USD_CLASH not in f.read()


def test_winrerun_tmux_command_starts_again():
    """the tmux sessions' command, run by a shell: the status, output and
    stderr of the second start; the rerun noted beside the stderr file;
    vmatlas.exe's own failure once, as it is"""
    with tempfile.TemporaryDirectory() as d:
        err = os.path.join(d, "stderr")
        sh = tmux_command([WINE, EXE, "--version"], err)
        p = subprocess.run(["sh", "-c", sh], capture_output=True, text=True, env=clash_env(d, "vmatlas.exe"),
                           timeout=120, stdin=subprocess.DEVNULL)
        with open(err) as f:
            text = f.read()
        assert p.returncode == 0 and p.stdout.startswith("vmatlas ") and USD_CLASH not in text, (p, text)
        assert len(reruns(err)) == 1 and "(2 of" in reruns(err)[0] and len(starts(d)) == 2, reruns(err)
        sh = tmux_command([WINE, EXE, "map", "4000000000"], err + "2")
        p = subprocess.run(["sh", "-c", sh], capture_output=True, text=True, env=PLAIN, timeout=120,
                           stdin=subprocess.DEVNULL)
        with open(err + "2") as f:
            text = f.read()
        assert p.returncode == 1 and text.startswith("vmatlas: ") and len(text.splitlines()) == 1, text
        assert reruns(err + "2") == []


class ClashScreen(Screen):
    """vmatlas.exe tui ARGS through tmux_command in a tmux session (as
    test_wintui's), its first start failing as Wine fails"""

    def __init__(self, d, args):
        if not shutil.which("tmux"):
            raise Skip("no tmux")
        env = clash_env(d, "vmatlas.exe")
        self.dir = tempfile.mkdtemp(prefix="vmatlas-winrerun-")
        self.sock = os.path.join(self.dir, "sock")
        self.err = os.path.join(self.dir, "stderr")
        pairs = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()
                         if k in ("WINEPREFIX", "WINEDEBUG", "LD_PRELOAD") or k.startswith("VMATLAS_USDCLASH"))
        cmd = tmux_command([WINE, EXE, "tui"] + list(args), self.err)
        self.tmux("new-session", "-d", "-x", "100", "-y", "30", "sh", "-c",
                  f"trap : INT; env {pairs} {cmd}; echo EXIT=$?; sleep 600")


def test_winrerun_in_a_terminal():
    """the tui on a terminal, its first start failing: the second one's
    screen, quit with status 0, the stderr file without Wine's line"""
    _, truth = live()
    with tempfile.TemporaryDirectory() as d, ClashScreen(d, [truth["pid"]]) as s:
        s.wait("Allocations", timeout=60)
        s.keys("q")
        text = s.wait("EXIT=", timeout=60)
        assert "EXIT=0" in text, text
        assert len(starts(d)) == 2 and len(reruns(s.err)) == 1, (starts(d), reruns(s.err))
        with open(s.err) as f:
            assert USD_CLASH not in f.read()
