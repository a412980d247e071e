"""Running the Windows build (build/win64/vmatlas.exe, `make windows`)
under Wine: one private WINEPREFIX under build/, one wineserver kept
alive (wineserver -p) for every Windows test of the run, and the live
fixture (livefix.exe) started once and shared. Skips when wine64, the
Windows build or the fixture is absent."""
import atexit
import io
import json
import os
import shlex
import signal
import stat
import subprocess
import sys
import tempfile
import threading

from lib import BUILD, Skip

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
WINE = "/usr/lib/wine/wine64"
WINESERVER = "/usr/lib/wine/wineserver"
# which build of vmatlas.exe runs (win64 or win32), and which bitness the
# fixtures it reads are: VMATLAS_WINFIX=win32 makes them WoW64 processes
# (Debian's wine32 must be there: scripts/deps.sh wine32); `make check`
# (tests/run.sh) runs the Windows tests in both of those arrangements
# after the default one
WINARCH = os.environ.get("VMATLAS_WINARCH", "win64")
WINFIX = os.environ.get("VMATLAS_WINFIX", WINARCH)
if WINARCH not in ("win64", "win32") or WINFIX not in ("win64", "win32"):
    raise SystemExit("VMATLAS_WINARCH and VMATLAS_WINFIX are win64 or win32")
EXE = os.path.join(ROOT, "build", WINARCH, "vmatlas.exe")
# the fixtures' bitness: what vmatlas.exe must say of them
FIXBITS = 32 if WINFIX == "win32" else 64
FIXDIR = os.path.join(ROOT, "build", WINFIX, "fixtures")
FIXTURE = os.path.join(FIXDIR, "livefix.exe")
PRIVFILE = os.path.join(FIXDIR, "privfile.exe")
# a 32-bit fixture or build runs in Wine's 32-bit loader (wine32)
WINE32 = "/usr/lib/wine/wine"
PREFIX = os.environ.get("VMATLAS_WINEPREFIX", os.path.join(ROOT, "build", "wineprefix"))
# Wine's messages off, but for the one start failure run_wine() knows
# (USD_CLASH): it is an err of the virtual channel, silent under -all
WINEDEBUG = "-all,err+virtual"
ENV = dict(os.environ, WINEDEBUG=WINEDEBUG, WINEPREFIX=PREFIX, VMATLAS_WINLIVE="1")
# Debian's Wine 8 has no preloader: wine64 is a non-PIE executable at
# 0x7d000000 and the kernel puts its brk heap at a random address up to
# 1 GiB above it (randomize_va_space 2); Wine then maps
# KUSER_SHARED_DATA at the fixed 0x7ffe0000, and when the heap is there
# (about one start in a few thousand: seen once in 2000 starts, 8 at a
# time) virtual_alloc_first_teb fails with STATUS_CONFLICTING_ADDRESSES
# and exits with status 1 before the program is loaded or the wineserver
# knows of the process: "err:virtual:virtual_alloc_first_teb wine:
# failed to map the shared user data: c0000018". The same happens to a
# program a Windows program starts (vmatlas.exe -- PROG, a fixture's
# child: each is a wine64 of its own, with our stderr); the parent then
# fails (vmatlas: "cannot start PROG (error 1359)"). A run that failed
# with that line on its stderr is made again (ATTEMPTS in all): nothing
# of the program ran, or the program Wine could not start did not.
# Every Wine start of the suite goes through run_wine, popen_wine or
# tmux_command; test_winrerun.py makes the failure happen (an
# LD_PRELOAD taking that page, tests/fixtures/libs/usdclash.c).
USD_CLASH = "err:virtual:virtual_alloc_first_teb wine: failed to map the shared user data"
ATTEMPTS = 3
# a stress run: VMATLAS_USDCLASH_RATE=R in our environment makes one start
# in R of our programs (a Unix path; Wine's own are C:\windows\...) fail
# as USD_CLASH says (test_winrerun.py), each listed in
# build/usdclash.log.failed: every one must be made again
if os.environ.get("VMATLAS_USDCLASH_RATE"):
    ENV.update(LD_PRELOAD=os.path.abspath(os.path.join(BUILD, "fixtures", "libusdclash.so")), VMATLAS_USDCLASH_FAIL="0",
               VMATLAS_USDCLASH_LOG=os.path.join(ROOT, "build", "usdclash.log"), VMATLAS_USDCLASH_PROG="/")

_state = {}


def _ready():
    """skip unless everything is there; start the persistent wineserver"""
    if os.path.basename(os.path.normpath(BUILD)) == "san":
        raise Skip("the Windows build is not sanitized: its tests run in the plain build's suite")
    need = [(WINE, "wine64"), (EXE, f"build/{WINARCH}/vmatlas.exe (make windows)"), (FIXTURE, "livefix.exe")]
    if "win32" in (WINARCH, WINFIX):
        need.append((WINE32, "wine32 (Debian's wine32:i386, for 32-bit Windows programs)"))
    for f, what in need:
        if not os.path.exists(f):
            raise Skip(f"no {what}")
    if "server" not in _state:
        # persistent until killed: every wine start after this one is quick
        os.makedirs(PREFIX, exist_ok=True)  # the first wine run fills it (once)
        if subprocess.run([WINESERVER, "-p"], env=ENV, timeout=60).returncode != 0:
            # a server of an earlier run that was killed holds the prefix
            # (-p refuses then): end it and start ours
            subprocess.run([WINESERVER, "-k"], env=ENV, timeout=60)
            subprocess.run([WINESERVER, "-w"], env=ENV, timeout=60)
            subprocess.run([WINESERVER, "-p"], env=ENV, check=True, timeout=60)
        # the first program started brings up Wine's services, which
        # stay with the server and would hold any pipe they inherited:
        # start them with none (stderr to a file, for run_wine to read)
        with tempfile.TemporaryFile() as err:
            run_wine([WINE, EXE, "--help"], env=ENV, timeout=600, stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=err)
        _state["server"] = True
        atexit.register(lambda: subprocess.run([WINESERVER, "-k"], env=ENV, timeout=60))


def wine_clash(returncode, err):
    """a run ended by Wine failing to start a program of it (USD_CLASH):
    a failure status with Wine's line on its stderr"""
    if isinstance(err, bytes):
        err = err.decode(errors="replace")
    return returncode not in (0, None) and USD_CLASH in (err or "")


def _note(cmd, attempt):
    print(f"note: wine could not map KUSER_SHARED_DATA for {' '.join(map(str, cmd[1:]))}: started again "
          f"({attempt + 2} of {ATTEMPTS})", file=sys.stderr, flush=True)


class _FileErr:
    """stderr going to a regular file: what a start wrote there is read
    from where the file was before it; rewind() drops it for the next"""

    def __init__(self, f):
        self.fd = f if isinstance(f, int) else f.fileno()
        if hasattr(f, "flush"):
            f.flush()
        if not stat.S_ISREG(os.fstat(self.fd).st_mode):
            raise ValueError("a Wine start's stderr must be captured or a regular file, to see Wine's message")
        self.at = os.lseek(self.fd, 0, os.SEEK_CUR)

    def text(self):
        with open(f"/proc/self/fd/{self.fd}", "rb") as f:  # ours may be write-only
            f.seek(self.at)
            return f.read().decode(errors="replace")

    def rewind(self):
        os.ftruncate(self.fd, self.at)
        os.lseek(self.fd, self.at, os.SEEK_SET)


def _file_err(kw):
    e = kw.get("stderr")
    if e in (subprocess.DEVNULL, subprocess.STDOUT):
        raise ValueError("a Wine start's stderr must be captured or a regular file, to see Wine's message")
    return None if kw.get("capture_output") or e in (None, subprocess.PIPE) else _FileErr(e)


def run_wine(cmd, **kw):
    """subprocess.run(cmd, **kw), its stderr captured (or a regular
    file), made again (ATTEMPTS in all) when Wine could not start it or a
    program it started (wine_clash), with a note on our stderr. The
    result's wine_starts says how many runs it took."""
    ferr = _file_err(kw)
    if ferr is None and not kw.get("capture_output") and kw.get("stderr") != subprocess.PIPE:
        raise ValueError("run_wine needs stderr captured, to see Wine's message")
    for attempt in range(ATTEMPTS):
        p = subprocess.run(cmd, **kw)
        if not wine_clash(p.returncode, ferr.text() if ferr else p.stderr) or attempt == ATTEMPTS - 1:
            break
        if ferr:
            ferr.rewind()
        _note(cmd, attempt)
    p.wine_starts = attempt + 1
    return p


def _forward(pipe, head):
    """copy a child's stderr to ours as it comes, its first 64 KiB kept"""
    fd = pipe.fileno()
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        if len(head) < 65536:
            head += b[:65536 - len(head)]
        os.write(sys.stderr.fileno(), b)


def popen_wine(cmd, started, **kw):
    """subprocess.Popen(cmd, **kw), then started(p) (say, its first
    line): (p, what started gave). When that is nothing (or a broken
    pipe) and p ended as wine_clash says, started again (ATTEMPTS in
    all). Its stderr: as asked when PIPE or a regular file; otherwise
    copied to ours by a thread (Wine's message must be seen). p.wine_starts
    says how many starts it took."""
    for attempt in range(ATTEMPTS):
        ferr, head, kw2 = _file_err(kw), bytearray(), dict(kw)
        if kw.get("stderr") is None:
            kw2["stderr"] = subprocess.PIPE
        p = subprocess.Popen(cmd, **kw2)
        copier = None
        if kw.get("stderr") is None:
            copier = threading.Thread(target=_forward, args=(p.stderr, head), daemon=True)
            copier.start()
        try:
            got = started(p)
        except BrokenPipeError:
            got = None
        p.wine_starts = attempt + 1
        if got:
            return p, got
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            return p, got  # still running: not Wine's start failure
        if copier:
            copier.join(timeout=30)
            err = bytes(head)
        elif ferr:
            err = ferr.text()
        else:
            err = p.stderr.read()
            p.stderr = io.StringIO(err) if isinstance(err, str) else io.BytesIO(err)  # for the caller
        if not wine_clash(p.returncode, err) or attempt == ATTEMPTS - 1:
            return p, got
        for f in (p.stdin, p.stdout, p.stderr):
            if f:
                try:
                    f.close()
                except OSError:
                    pass  # a broken pipe's buffered write
        if ferr:
            ferr.rewind()
        _note(cmd, attempt)


def first_line(p):
    """popen_wine's started for a fixture that prints its truth first"""
    return p.stdout.readline()


def tmux_command(cmd, stderr):
    """a shell command running cmd with its stderr to the file stderr,
    through this file (main below): Wine's start made again in the
    terminal as run_wine does; its notes go to stderr + ".reruns"
    """
    here = os.path.abspath(__file__)
    return " ".join(shlex.quote(a) for a in [sys.executable, here] + [str(a) for a in cmd]) + \
        " 2>" + shlex.quote(stderr)


def reruns(stderr):
    """the notes of tmux_command's reruns ([] when none)"""
    try:
        with open(stderr + ".reruns") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return []


def vmatlas(args, timeout=120):
    """vmatlas.exe ARGS under Wine: CompletedProcess (text)"""
    _ready()
    return run_wine([WINE, EXE] + list(args), capture_output=True, text=True, env=ENV, timeout=timeout,
                    stdin=subprocess.DEVNULL)


def vmatlas_json(args):
    p = vmatlas(list(args) + ["--json"])
    assert p.returncode == 0, f"vmatlas.exe {' '.join(args)} failed ({p.returncode}): {p.stderr[-2000:]}"
    return json.loads(p.stdout)


def seen_path(path):
    """a file a 32-bit fixture names, as the 64-bit build names it: the
    redirector gave the fixture SysWOW64's file for System32's name
    (vmatlas.exe's win_wow64.c)"""
    sys32 = "c:\\windows\\system32\\"
    if WINARCH == "win64" and WINFIX == "win32" and path.lower().startswith(sys32):
        return "C:\\windows\\syswow64\\" + path[len(sys32):]
    return path


def live():
    """(Popen, truth) of the one live fixture, started on first use; it
    ends when the run does (its stdin closes)"""
    _ready()
    if "fixture" not in _state:
        p, line = popen_wine([WINE, FIXTURE], first_line, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=ENV)
        assert line, "livefix.exe printed nothing"

        def stop():
            p.stdin.close()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        atexit.register(stop)
        _state["fixture"] = (p, json.loads(line))
    return _state["fixture"]


def privfile(args):
    """privfile.exe ARGS (the Windows build's owner-only descriptor, a
    file's DACL as Wine reports it, its rename): the JSON it prints"""
    _ready()
    if not os.path.exists(PRIVFILE):
        raise Skip("no privfile.exe (make windows)")
    p = run_wine([WINE, PRIVFILE] + list(args), capture_output=True, text=True, env=ENV, timeout=120,
                 stdin=subprocess.DEVNULL)
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def _wineserver_umask():
    """the umask of the wineserver of PREFIX (it creates the files), from
    /proc; None when it is not found"""
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as f:
                if not f.read().startswith("wineserver"):
                    continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                if f"WINEPREFIX={PREFIX}".encode() not in f.read().split(b"\0"):
                    continue
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("Umask:"):
                        return int(line.split()[1], 8)
        except OSError:
            continue
    return None


def private_mode():
    """the Unix mode Wine gives a file the Windows build creates with its
    owner-only DACL: Wine's server (sd_to_mode) maps an ACE whose SID is
    in the creator's token, with the owner in it too, to the user and
    group bits: rw-rw----, then the wineserver's umask (docs/windows.md)"""
    _ready()
    um = _wineserver_umask()
    assert um is not None, f"no wineserver for {PREFIX} in /proc"
    return 0o660 & ~um


def main(cmd):
    """tmux_command's side, in the terminal: cmd, its stderr ours (a
    regular file), made again as run_wine does; our status is its"""
    # the terminal's Ctrl-C is for the program: ignored here (not even a
    # handler of ours woken: the tests' Ctrl-C races in Wine, the
    # debugger's console handler against its debuggee's DBG_CONTROL_C,
    # went the other way more often then), the default in the program
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    ferr = _FileErr(2)
    for attempt in range(ATTEMPTS):
        rc = subprocess.call(cmd, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        if not wine_clash(rc, ferr.text()) or attempt == ATTEMPTS - 1:
            break
        ferr.rewind()
        with open(os.readlink("/proc/self/fd/2") + ".reruns", "a") as f:
            f.write(f"wine could not map KUSER_SHARED_DATA for {' '.join(cmd[1:])}: started again "
                    f"({attempt + 2} of {ATTEMPTS})\n")
    return 128 - rc if rc < 0 else rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
