"""Running the Windows build (build/win64/vmatlas.exe, `make windows`)
under Wine: one private WINEPREFIX under build/, one wineserver kept
alive (wineserver -p) for every Windows test of the run, and the live
fixture (livefix.exe) started once and shared. Skips when wine64, the
Windows build or the fixture is absent."""
import atexit
import json
import os
import subprocess
import sys

from lib import BUILD, Skip

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
WINE = "/usr/lib/wine/wine64"
WINESERVER = "/usr/lib/wine/wineserver"
EXE = os.path.join(ROOT, "build", "win64", "vmatlas.exe")
FIXTURE = os.path.join(ROOT, "build", "win64", "fixtures", "livefix.exe")
PRIVFILE = os.path.join(ROOT, "build", "win64", "fixtures", "privfile.exe")
PREFIX = os.environ.get("VMATLAS_WINEPREFIX", os.path.join(ROOT, "build", "wineprefix"))
# Wine's messages off, but for the one start failure run_wine() knows
# (USD_CLASH): it is an err of the virtual channel, silent under -all
ENV = dict(os.environ, WINEDEBUG="-all,err+virtual", WINEPREFIX=PREFIX, VMATLAS_WINLIVE="1")
# Debian's Wine 8 has no preloader: wine64 is a non-PIE executable at
# 0x7d000000 and the kernel puts its brk heap at a random address up to
# 1 GiB above it (randomize_va_space 2); Wine then maps
# KUSER_SHARED_DATA at the fixed 0x7ffe0000, and when the heap is there
# (about one start in a few thousand: seen once in 2000 starts, 8 at a
# time) virtual_alloc_first_teb fails with STATUS_CONFLICTING_ADDRESSES
# and exits with status 1 before the program is loaded or the wineserver
# knows of the process: "err:virtual:virtual_alloc_first_teb wine:
# failed to map the shared user data: c0000018". Such a start is made
# again: nothing of the program ran.
USD_CLASH = "failed to map the shared user data"

_state = {}


def _ready():
    """skip unless everything is there; start the persistent wineserver"""
    if os.path.basename(os.path.normpath(BUILD)) == "san":
        raise Skip("the Windows build is not sanitized: its tests run in the plain build's suite")
    for f, what in ((WINE, "wine64"), (EXE, "build/win64/vmatlas.exe (make windows)"), (FIXTURE, "livefix.exe")):
        if not os.path.exists(f):
            raise Skip(f"no {what}")
    if "server" not in _state:
        # persistent until killed: every wine start after this one is quick
        os.makedirs(PREFIX, exist_ok=True)  # the first wine run fills it (once)
        subprocess.run([WINESERVER, "-p"], env=ENV, check=True, timeout=60)
        # the first program started brings up Wine's services, which
        # stay with the server and would hold any pipe they inherited:
        # start them with none
        subprocess.run([WINE, EXE, "--help"], env=ENV, timeout=600, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _state["server"] = True
        atexit.register(lambda: subprocess.run([WINESERVER, "-k"], env=ENV, timeout=60))


def run_wine(cmd, **kw):
    """subprocess.run(cmd, **kw) with stderr captured, once more (up to
    twice) when Wine could not start it for the address clash of
    USD_CLASH, with a note on our stderr"""
    for attempt in range(3):
        p = subprocess.run(cmd, **kw)
        err = p.stderr.decode(errors="replace") if isinstance(p.stderr, bytes) else p.stderr or ""
        if not (p.returncode == 1 and USD_CLASH in err and not p.stdout):
            break
        print(f"note: wine could not map KUSER_SHARED_DATA for {' '.join(map(str, cmd[1:]))}: started again",
              file=sys.stderr)
    return p


def vmatlas(args, timeout=120):
    """vmatlas.exe ARGS under Wine: CompletedProcess (text)"""
    _ready()
    return run_wine([WINE, EXE] + list(args), capture_output=True, text=True, env=ENV, timeout=timeout,
                    stdin=subprocess.DEVNULL)


def vmatlas_json(args):
    p = vmatlas(list(args) + ["--json"])
    assert p.returncode == 0, f"vmatlas.exe {' '.join(args)} failed ({p.returncode}): {p.stderr[-2000:]}"
    return json.loads(p.stdout)


def live():
    """(Popen, truth) of the one live fixture, started on first use; it
    ends when the run does (its stdin closes)"""
    _ready()
    if "fixture" not in _state:
        p = subprocess.Popen([WINE, FIXTURE], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=ENV)
        line = p.stdout.readline()
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
