"""vmatlas tui and vmatlas report in the Windows build, under Wine.

The tui runs in a tmux pane as on Linux (test_tui.py's Screen: send-keys,
capture-pane): Wine 8 runs a console program on a Unix terminal through
its conhost, which draws the console's screen buffer (what our curses
layer, src/base/win/curses_screen.c, writes with WriteConsoleOutputW) on
the terminal and turns the terminal's keys into console input records.
What Wine does differently from Windows, and is not tested here: a resize
of the terminal does not reach the console (no WINDOW_BUFFER_SIZE_EVENT;
the size stays as at the start). Ctrl-C (the console's Ctrl-C event, the
C runtime's SIGINT) ends the tui, and the program then ends as the C
runtime ends one on a SIGINT raised with the default action: status 3
(Linux dies of SIGINT: 130).

The report of a minidump is compared with the Linux build's report of the
same file: the page is the same byte for byte where the Windows build
unwinds the stacks as the Linux build does (x64 Windows dumps: .pdata);
for the others only the call stacks differ (the Windows build has no
DWARF or frame-pointer unwinder: docs/windows.md)."""
import os
import re
import shlex
import shutil
import tempfile

from lib import Skip, run, run_json
from test_report import embedded
from test_tui import CORPUS, Screen, bases, ended, rows
from winlive import ENV, EXE, FIXBITS, FIXTURE, WINE, live, tmux_command, vmatlas, vmatlas_json


class WinScreen(Screen):
    """vmatlas.exe tui ARGS under Wine in a detached tmux session of w x h;
    after it ends the pane shows EXIT=status and the terminal modes"""

    def __init__(self, args, w=100, h=30):
        if not shutil.which("tmux"):
            raise Skip("no tmux")
        vmatlas(["--help"])  # Wine's server up, or a Skip
        self.dir = tempfile.mkdtemp(prefix="vmatlas-wintui-")
        self.sock = os.path.join(self.dir, "sock")
        env = " ".join(f"{k}={shlex.quote(ENV[k])}" for k in ("WINEPREFIX", "WINEDEBUG"))
        cmd = tmux_command([WINE, EXE, "tui"] + list(args), os.path.join(self.dir, "stderr"))
        # Wine's console (conhost, a process of its own) gives the terminal
        # its modes back when it ends, which may be just after the
        # program's status has come: stty -a once they are back (or 10 s)
        back = "for i in $(seq 100); do stty -a | grep -q ' icanon' && break; sleep 0.1; done"
        inner = f"trap : INT; env {env} {cmd}; echo EXIT=$?; {back}; stty -a; sleep 600"
        self.tmux("new-session", "-d", "-x", str(w), "-y", str(h), "sh", "-c", inner)


def all_rows(s):
    """every tree row, paging down from the top ('g': Wine's console on a
    Unix terminal knows Home and End only as xterm's ESC [ H and ESC [ F,
    not as the ESC [ 1 ~ and ESC [ 4 ~ tmux sends; they come as key code 0)"""
    s.keys("g", settle=0.5)
    seen, last, still = [], None, 0
    for _ in range(200):
        t = s.text()
        for r in rows(t):
            if r not in seen:
                seen.append(r)
        # the end: two pages down that changed nothing (Wine's console
        # may take a moment to draw one)
        still = still + 1 if t == last else 0
        if still == 2:
            break
        last = t
        s.keys("NPage", settle=0.3)
    return seen


def suspended_threads(pid):
    return [t for t in vmatlas_json(["threads", str(pid)])["threads"] if t.get("state") == "T"]


def test_wintui_live_regions_keys_memory_quit():
    _, truth = live()
    pid = truth["pid"]
    doc = vmatlas_json(["map", str(pid), "--all"])
    marker = int(truth["marker_addr"], 16)
    with WinScreen([pid]) as s:
        text = s.wait("Allocations")
        lines = text.splitlines()
        assert f"pid {pid} (livefix.exe)" in lines[0] and "live" in lines[0], lines[0]
        assert len(lines) <= 30 and all(len(l) <= 100 for l in lines)
        assert lines[1].startswith("[") and lines[1].endswith("]") and len(lines[1]) == 100, lines[1]
        assert f"Allocations {len(bases(doc))}/{len(doc['allocations'])}" in text, text
        # every allocation of the map, in order, paging down
        assert [a for a, _ in all_rows(s)] == bases(doc)
        # a key moves the selection: the details follow it, and the
        # selected row is drawn reversed (black on white)
        s.keys("g")
        b0, b1 = bases(doc)[:2]
        s.wait(lambda t: re.search(rf"allocation 0*{b0:x}-", t))
        s.keys("Down", settle=0.5)
        text = s.wait(lambda t: re.search(rf"allocation 0*{b1:x}-", t))
        # addresses as wide as the process's user space: 12 digits, 8 for 32 bits
        aw = 12 if FIXBITS == 64 else 8
        sel = [l for l in s.text(escapes=True).splitlines() if f"{b1:0{aw}x}" in l]
        assert sel and "\x1b[30m\x1b[47m" in sel[0], sel
        # the marker's allocation found, the memory view at the marker
        s.prompt("/", hex(marker))
        s.keys("Enter")
        s.wait("memory view")
        s.prompt("g", hex(marker))
        # the marker's row of 16 bytes (a 32-bit fixture's marker is not
        # 16-aligned): its bytes from their column on
        row, off = marker & ~15, marker & 15
        mk = truth["marker"].encode()[:16 - off]
        head, hexes = f"{row:0{aw}x}  ", " ".join(f"{b:02x}" for b in mk)
        if not off:
            hexes += f" |{mk.decode()}|"

        def shown(t):
            return any(l.startswith(head) and l[len(head) + 3 * off:].startswith(hexes) for l in t.splitlines())
        s.wait(lambda t: f"bytes at {marker:0{aw}x}" in t and "livefix.exe!marker" in t and shown(t))
        s.keys("q")
        s.wait("Allocations")
        s.keys("q")
        status, text = ended(s)
        assert status == 0, (status, s.stderr())
        # the console's own screen back: nothing of the tui above EXIT=
        assert "Allocations" not in text and "VMATLAS" not in text, text
    assert not suspended_threads(pid)


def test_wintui_colors_and_ctrl_c():
    _, truth = live()
    pid = truth["pid"]
    colour = re.compile(r"\x1b\[(3[1-6]|4[1-6])m")  # red .. cyan, not black or white
    with WinScreen([pid]) as s:
        s.wait("Allocations")
        assert colour.search(s.text(escapes=True)), "no colours"
        # (Wine's console draws row by row: wait for the whole of what is checked)
        s.keys("F1")
        s.wait(lambda t: "vmatlas tui: keys" in t and "find an address" in t)
        s.keys("q")
        s.wait("Allocations")
        # Ctrl-C: the C runtime's SIGINT (the console's Ctrl-C event),
        # the tui ends, the console restored, the target not left suspended
        s.keys("C-c")
        status, text = ended(s)
        assert status == 3, (status, s.stderr())
        assert "Allocations" not in text, text
    with WinScreen(["--no-color", pid]) as s:
        s.wait("Allocations")
        plain = s.text(escapes=True)
        assert not colour.search(plain), repr(plain[:400])
        s.keys("q")
        assert ended(s)[0] == 0
    assert not suspended_threads(pid)


def test_wintui_spawned_program_killed_on_quit():
    """tui -- livefix.exe: held at the loader's breakpoint, killed on q"""
    vmatlas(["--help"])
    with WinScreen(["--", FIXTURE]) as s:
        text = s.wait(lambda t: "Allocations" in t and "held at its entry point" in t)
        m = re.search(r"pid (\d+) \(livefix.exe\)", text)
        assert m and "live" in text.splitlines()[0], text
        pid = int(m.group(1))
        assert pid in [p["pid"] for p in vmatlas_json(["ps"])["processes"]]
        s.keys("q")
        assert ended(s)[0] == 0, s.stderr()
    assert pid not in [p["pid"] for p in vmatlas_json(["ps"])["processes"]]


def test_wintui_minidump_and_not_a_target():
    dmp = os.path.join(CORPUS, "node-minidump-windows.dmp")
    if not os.path.exists(dmp):
        raise Skip(f"no {dmp}")
    doc = run_json(["map", dmp, "--all"])  # the Linux build's map
    with WinScreen([dmp], w=132, h=43) as s:
        text = s.wait("Allocations")
        assert "minidump" in text.splitlines()[0]
        assert f"Allocations {len(bases(doc))}/{len(doc['allocations'])}" in text
        assert [a for a, _ in all_rows(s)] == bases(doc)
        stack = next(a for a in doc["allocations"] if a["usage"] == "stack")
        s.prompt("/", "stack of main thread")
        s.wait(lambda t: re.search(rf"allocation 0*{int(stack['base'], 16):x}-", t))
        s.keys("q")
        assert ended(s)[0] == 0
    # a PE file is not a target (as on Linux): one line, status 1, the
    # console untouched
    with WinScreen([FIXTURE]) as s, Screen([FIXTURE]) as linux:
        status, _ = ended(s)
        assert (status, s.stderr()) == ended(linux)[:1] + (linux.stderr(),), (s.stderr(), linux.stderr())
        assert status == 1 and "not a vmatlas snapshot" in s.stderr() and len(s.stderr().splitlines()) == 1
    # no console: the usage error before the target is opened
    p = vmatlas(["tui", dmp])
    assert p.returncode == 2 and "needs a terminal" in p.stderr, p


def test_winreport_minidump_equals_linux():
    dumps = sorted(f for f in os.listdir(CORPUS) if f.endswith(".dmp")) if os.path.isdir(CORPUS) else []
    if not dumps:
        raise Skip(f"no minidumps in {CORPUS}")
    vmatlas(["--help"])  # Skip without Wine or the Windows build
    same = 0
    with tempfile.TemporaryDirectory() as d:
        for name in dumps:
            dmp = os.path.join(CORPUS, name)
            lin, win = os.path.join(d, "lin.html"), os.path.join(d, "win.html")
            p = run(["report", dmp, "-o", lin])
            assert p.returncode == 0, (name, p.stderr)
            q = vmatlas(["report", dmp, "-o", win])
            assert q.returncode == 0, (name, q.stderr)
            counts = re.compile(r"^report: (\d+ regions in \d+ allocations) to ")
            assert counts.match(q.stdout).group(1) == counts.match(p.stdout).group(1), (name, p.stdout, q.stdout)
            # the same page around the data, the same data but for the
            # time it was made and the call stacks
            (ja, ha), (jb, hb) = embedded(lin), embedded(win)
            strip = re.compile(r'(<script type="application/json" id="vmatlas-data">).*?(</script>)', re.S)
            assert strip.sub(r"\1\2", ha) == strip.sub(r"\1\2", hb), name
            assert ja.keys() == jb.keys(), name
            for k in ja:
                if k not in ("threads", "generated"):
                    assert ja[k] == jb[k], (name, k)
            if ja["threads"] == jb["threads"]:
                same += 1
                continue
            # the Windows build has no DWARF or frame-pointer unwinder
            ta, tb = ja["threads"], jb["threads"]
            assert ta.keys() == tb.keys() and len(ta["threads"]) == len(tb["threads"]), name
            if ta["thread_db"] != tb["thread_db"]:
                assert "not in the Windows build" in tb["thread_db"], (name, tb["thread_db"])
            for x, y in zip(ta["threads"], tb["threads"]):
                rest = lambda t: {k: v for k, v in t.items() if k not in ("frames", "unwind_note")}
                assert rest(x) == rest(y), (name, x, y)
                # the Windows build's stack is the Linux build's, cut short
                # (its last frame then has no return address found)
                fx, fy = x["frames"], y["frames"]
                assert 1 <= len(fy) <= len(fx), (name, fx, fy)
                assert fy[:-1] == fx[:len(fy) - 1], (name, fx, fy)
                assert fy[-1] == fx[len(fy) - 1] or fy[-1] == dict(fx[len(fy) - 1], return_address=None), (name, fx, fy)
    # the x64 Windows dumps unwind alike (.pdata): all of their pages the same
    assert same >= 2, same
