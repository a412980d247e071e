"""vmatlas tui, driven through tmux (send-keys, capture-pane): the screen
against `vmatlas map --json` for a live fixture, a core and a minidump,
and every key: filter, expand, sort, find, free space, memory view (units,
go, follow, back), search, dump, whatis, refresh and auto-refresh with
the changes marked, help, colours, resizes, and the terminal restored and
the target left running on every way out."""
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time

from lib import (VMATLAS, Skip, assert_not_held, fixture, no_sanitizer_reports, run, run_json, stepping,
                 wait_blocked)

HERE = os.path.dirname(os.path.abspath(__file__))
# ../shared of the checkout, or of the folder of worktrees it is in
CORPUS = next((c for c in (os.path.normpath(os.path.join(HERE, *[".."] * n, "shared", "corpora", "minidump"))
                           for n in (3, 4)) if os.path.isdir(c)), "../shared/corpora/minidump")
ROW = re.compile(r"^[ +~!*#w-][+\- ][ |] ([0-9a-f]{8,16}) +(\S+ \S)")


class Screen:
    """vmatlas ARGS in a detached tmux session of w x h; after it ends the
    pane shows EXIT=status and the terminal modes (stty -a)."""

    def __init__(self, args, w=80, h=24, term="screen-256color"):
        if not shutil.which("tmux"):
            raise Skip("no tmux")
        self.dir = tempfile.mkdtemp(prefix="vmatlas-tui-")
        self.sock = os.path.join(self.dir, "sock")
        cmd = " ".join(shlex.quote(a) for a in [os.path.abspath(VMATLAS), "tui"] + [str(a) for a in args])
        # the shell outlives a ^C to the foreground group (a trap, which
        # vmatlas does not inherit)
        inner = f"trap : INT; TERM={term} {cmd} 2>{self.dir}/stderr; echo EXIT=$?; stty -a; sleep 600"
        self.tmux("new-session", "-d", "-x", str(w), "-y", str(h), "sh", "-c", inner)

    def tmux(self, *a, check=True):
        return subprocess.run(["tmux", "-S", self.sock, "-f", "/dev/null"] + list(a), capture_output=True,
                              text=True, check=check, timeout=20)

    def text(self, escapes=False):
        return self.tmux("capture-pane", "-p", *(["-e"] if escapes else []), "-t", "0").stdout

    def keys(self, *k, settle=0.15):
        for x in k:
            self.tmux("send-keys", "-t", "0", x)
        time.sleep(settle)

    def literal(self, s):
        self.tmux("send-keys", "-t", "0", "-l", s)

    def wait(self, what, timeout=15):
        """until what (a string, or a function of the text) is on the screen"""
        deadline = time.time() + timeout
        t = ""
        while time.time() < deadline:
            t = self.text()
            if (what(t) if callable(what) else what in t):
                return t
            time.sleep(0.1)
        raise AssertionError(f"never on the screen: {what!r}\n{t}")

    def prompt(self, key, text):
        """a key that asks on the bottom line, the text, Enter"""
        self.keys(key)
        self.keys("C-u")
        self.literal(text)
        self.keys("Enter", settle=0.3)

    def vmatlas_pid(self):
        sh = int(self.tmux("display", "-p", "-t", "0", "#{pane_pid}").stdout)
        for _ in range(50):
            try:
                with open(f"/proc/{sh}/task/{sh}/children") as f:
                    kids = [int(x) for x in f.read().split()]
                if kids:
                    return kids[0]
            except FileNotFoundError:
                pass
            time.sleep(0.05)
        raise AssertionError("vmatlas is not running in the pane")

    def stderr(self):
        try:
            with open(os.path.join(self.dir, "stderr")) as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def close(self):
        self.tmux("kill-server", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def rows(text):
    """(address, size text) of each tree row on the screen"""
    return [(int(m.group(1), 16), m.group(2)) for m in (ROW.match(l) for l in text.splitlines()) if m]


def all_rows(s):
    """every tree row, paging down from the top"""
    s.keys("Home")
    seen, last = [], None
    for _ in range(200):
        t = s.text()
        for r in rows(t):
            if r not in seen:
                seen.append(r)
        if t == last:
            break
        last = t
        s.keys("NPage")
    return seen


def bases(doc, free=False):
    return [int(a["base"], 16) for a in doc["allocations"] if free or a["usage"] != "free"]


def fmt_size(v):
    """base/format.c's fmt_size"""
    if v < 1024:
        return f"{v} B"
    d, u = 1024, 0
    while u < 5 and v // d >= 1024:
        d *= 1024
        u += 1
    unit = "KMGTPE"[u]
    if v // d < 10:
        q, r = divmod(v * 10, d)
        if r * 2 > d or (r * 2 == d and q & 1):
            q += 1
        return f"{q // 10}.{q % 10} {unit}"
    q, r = divmod(v, d)
    if r * 2 > d or (r * 2 == d and q & 1):
        q += 1
    return f"{q} {unit}"


def ended(s, crash=False):
    t = s.wait(lambda x: "EXIT=" in x and "icanon" in x[x.index("EXIT="):])
    status = int(re.search(r"EXIT=(\d+)", t).group(1))
    modes = t[t.index("EXIT="):]
    if not crash:
        no_sanitizer_reports(s.stderr())
    assert re.search(r"(?<!-)icanon", modes) and re.search(r"(?<![-a-z])echo\b", modes), modes
    return status, t


def test_needs_a_terminal():
    with fixture() as (p, t):
        r = run(["tui", str(t["pid"])], stdin=subprocess.DEVNULL)
        assert_not_held(t["pid"])
    assert r.returncode == 2 and "needs a terminal" in r.stderr, r
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    r = run(["tui", "--refresh", "0", "1"])
    assert r.returncode == 2, r
    r = run(["tui", "--json", "1"])
    assert r.returncode == 2 and "--json" in r.stderr and len(r.stderr.strip().splitlines()) == 1, r


def test_live_80x24_against_the_map():
    with fixture() as (p, t):
        pid = t["pid"]
        wait_blocked(pid)
        doc = run_json(["map", str(pid), "--all"])
        with Screen([pid]) as s:
            first = s.wait("Allocations")
            lines = first.splitlines()
            assert all(len(l) <= 80 for l in lines) and len(lines) <= 24
            assert f"pid {pid} (layout)" in lines[0] and "live" in lines[0]
            # the strip: the whole width, every usage a letter, a caret under the selection
            assert lines[1].startswith("[") and lines[1].endswith("]") and len(lines[1]) == 80
            assert set(lines[1][1:-1]) <= set("IMSHKPYR."), lines[1]
            assert "^ " + format(bases(doc)[0], "x") in lines[2]
            n_alloc = len(doc["allocations"])
            assert f"Allocations {len(bases(doc))}/{n_alloc}" in first
            got = all_rows(s)
            assert [a for a, _ in got] == bases(doc), (got, bases(doc))
            sizes = {int(a["base"], 16): fmt_size(a["size"]) for a in doc["allocations"]}
            assert all(sizes[a] == z for a, z in got), got
            # details of the first allocation
            s.keys("Home")
            a0 = doc["allocations"][0] if doc["allocations"][0]["usage"] != "free" else doc["allocations"][1]
            b0 = int(a0["base"], 16)
            text = s.text()
            assert f"allocation {b0:x}-{b0 + a0['size']:x}" in text, text
            # the caret follows the selection along the strip, left to right
            carets = []
            for b in bases(doc)[:6]:
                line = s.text().splitlines()[2]
                assert re.search(rf"\^ {b:x}|{b:x} \^", line), (line, hex(b))
                carets.append(line.index("^"))
                s.keys("Down")
            assert carets == sorted(carets) and carets[0] < carets[-1], carets
            s.keys("q")
            status, _ = ended(s)
        assert_not_held(pid)
    assert status == 0


def test_summary_and_usage_filter_big_terminal():
    with fixture() as (p, t):
        pid = t["pid"]
        wait_blocked(pid)
        doc = run_json(["map", str(pid), "--all"])
        with Screen([pid], w=200, h=60) as s:
            text = s.wait("Summary by usage")
            summ = {r["usage"]: r for r in doc["summary"]}
            for usage, r in summ.items():
                if usage == "free":
                    continue
                line = next(l for l in text.splitlines() if re.match(rf"^. {usage} ", l))
                f = line[2:].split()
                # usage size(2) committed(2) rss(2) private(2) shared(2) blocks largest(2)
                assert " ".join(f[1:3]) == fmt_size(r["size"]), (line, r)
                assert int(f[11]) == r["blocks"], (line, r)
            assert "State" in text and "Private" in text   # the wide columns
            # Tab to the summary, down to heap, Enter: heap only
            s.keys("Tab")
            order = ["image", "mapped", "shareable", "heap"]
            for _ in range(order.index("heap")):
                s.keys("Down")
            s.keys("Enter")
            text = s.wait("usage: heap")
            heap = [int(a["base"], 16) for a in doc["allocations"] if a["usage"] == "heap"]
            assert [a for a, _ in rows(text)] == heap, text
            assert f"Allocations {len(heap)}/" in text
            s.keys("Enter")   # again: everything
            text = s.wait(lambda x: "usage: heap" not in x)
            assert f"Allocations {len(bases(doc))}/" in text
            s.keys("q")
            ended(s)


def test_expand_sort_find_free():
    with fixture() as (p, t):
        pid = t["pid"]
        wait_blocked(pid)
        doc = run_json(["map", str(pid), "--all"])
        with Screen([pid], w=120, h=50) as s:
            s.wait("Allocations")
            # find by path: the shared file's allocation is selected
            path = t["shared_file"]["path"]
            s.prompt("/", os.path.basename(path))
            text = s.wait(f"find: {os.path.basename(path)}")
            addr = t["shared_file"]["addr"]
            assert f"allocation {addr:x}-" in text, text
            # find by address: the split allocation's second piece, its region selected
            piece = t["split"]["addr"] + t["split"]["pieces"][0]
            s.prompt("/", hex(piece))
            text = s.wait(f"region {piece:x}-")
            al = next(a for a in doc["allocations"] if int(a["base"], 16) <= piece < int(a["base"], 16) + a["size"])
            regs = [int(r["base"], 16) for r in al["regions"]]
            shown = [a for a, _ in rows(text)]
            i = shown.index(int(al["base"], 16))
            assert shown[i + 1:i + 1 + len(regs)] == regs, (shown, regs)
            # collapse it again with Left (on a region: to its allocation)
            s.keys("Left")
            text = s.text()
            assert f"allocation {int(al['base'], 16):x}-" in text
            assert not [l for l in text.splitlines() if re.match(r"^..\| ", l)], text
            # sort by size ('>': the next column), then descending ('i')
            s.keys(">")
            s.keys("i")
            text = s.wait("sort: Size (desc)")
            sizes = {int(a["base"], 16): a["size"] for a in doc["allocations"]}
            got = [sizes[a] for a in (x for x, _ in all_rows(s)) if a in sizes]
            assert got == sorted(got, reverse=True) and len(got) == len(bases(doc)), got
            s.keys("<", "i")
            s.wait("sort: Address")
            # free space shown and hidden
            s.keys("a")
            s.wait("free shown")
            got = [a for a, _ in all_rows(s)]
            assert got == bases(doc, free=True), (got, bases(doc, free=True))
            s.keys("a")
            s.wait(lambda x: "free shown" not in x)
            # expand all, collapse all
            s.keys("*")
            # every allocation of more than one region shows its regions under it
            want = []
            for a in doc["allocations"]:
                if a["usage"] != "free":
                    want.append(int(a["base"], 16))
                    if len(a["regions"]) > 1:
                        want += [int(r["base"], 16) for r in a["regions"]]
            assert [a for a, _ in all_rows(s)] == want
            s.keys("c")
            assert len(all_rows(s)) == len(bases(doc))
            s.keys("q")
            ended(s)
        assert_not_held(pid)


def mem(pid, addr, n):
    with open(f"/proc/{pid}/mem", "rb") as f:
        f.seek(addr)
        return f.read(n)


def test_memory_view_units_go_follow_back():
    with fixture() as (p, t):
        pid = t["pid"]
        wait_blocked(pid)
        addr = t["shared_file"]["addr"]
        env_at = run_json(["view", str(pid), "libc.so.6!__environ", "8", "--as", "ptr"])
        environ_addr = int(env_at["addr"], 16)
        environ = int.from_bytes(mem(pid, environ_addr, 8), "little")
        with Screen([pid]) as s:
            s.wait("Allocations")
            s.prompt("/", hex(addr))
            s.keys("Enter")
            text = s.wait("memory view")
            assert f"bytes at {addr:x}" in text
            assert "|vmatlas shared f|" in text and "76 6d 61 74 6c 61 73 20" in text
            s.keys("u")
            assert "words at" in s.text() and "6d76 7461" in s.text()
            s.keys("u", "u")
            text = s.text()
            assert "qwords at" in text and "2073616c74616d76" in text
            s.keys("u")
            assert "chars at" in s.text()
            s.keys("u")
            assert "bytes at" in s.text()
            # go to an expression, follow the pointer there, back twice
            s.prompt("g", "libc.so.6!__environ")
            text = s.wait(f"at {environ_addr:x}")
            assert f"= 0x{environ:x}" in text and "[stack]" in text or "stack" in text, text
            s.keys("f")
            text = s.wait(f"at {environ:x}")
            s.keys("b")
            s.wait(f"at {environ_addr:x}")
            s.keys("b")
            s.wait(f"bytes at {addr:x}")
            s.keys("b")
            assert "nowhere to go back" in s.text()
            # a bad expression: an error on the bottom line, the view stays
            s.prompt("g", "0x10+")
            assert "go:" in s.text() and f"at {addr:x}" in s.text()
            s.keys("q")
            s.wait("Allocations")
            s.keys("q")
            status, _ = ended(s)
        assert_not_held(pid)
    assert status == 0


def test_search_dump_whatis():
    with fixture() as (p, t), tempfile.TemporaryDirectory() as d:
        pid = t["pid"]
        wait_blocked(pid)
        addr, size = t["shared_file"]["addr"], t["shared_file"]["size"]
        expect = run_json(["search", str(pid), "--ascii", "vmatlas shared file mapping", "--include-ro"])
        hits = [int(h["addr"], 16) if isinstance(h, dict) else int(h, 16) for h in
                (expect["hits"] if isinstance(expect, dict) else expect)]
        with Screen([pid]) as s:
            s.wait("Allocations")
            s.prompt("s", "vmatlas shared file mapping")
            text = s.wait("hit")
            assert re.search(rf"\b{len(hits)} hits?\b", text), (text, hits)
            for h in hits[:10]:
                assert f"{h:x}" in text
            s.keys("Enter")
            s.wait(f"bytes at {hits[0]:x}")
            s.keys("q", "q")
            s.wait("Allocations")
            # hex with a wildcard, a number
            s.prompt("s", "hex 76 6d ?? 74 6c 61 73 20 73 68")
            assert f"{addr:x}" in s.wait("hit")
            s.keys("q")
            # pointers into the shared file's region: the fixture keeps one
            want = run_json(["search", str(pid), "--ptr-to", hex(addr), "--include-ro"])
            want_hits = [int(h["addr"], 16) for h in want["hits"]]
            s.prompt("s", f"ptr-to {hex(addr)}")
            text = s.wait("hit")
            assert re.search(rf"\b{len(want_hits)} hits?\b", text), (text, want_hits)
            for h in want_hits[:10]:
                assert f"{h:x}" in text
            s.keys("q")
            # dump the selected region to a file
            s.prompt("/", hex(addr))
            out = os.path.join(d, "region.bin")
            s.prompt("d", out)
            s.wait(f"dump: {size} bytes to {out}")
            with open(out, "rb") as f:
                assert f.read() == mem(pid, addr, size)
            # whatis
            s.prompt("w", hex(addr + 8))
            text = s.wait("whatis")
            assert f"region      {addr:x}-{addr + size:x}" in text and "+0x8" in text, text
            s.keys("q")
            s.prompt("w", "libc.so.6!malloc")
            assert "libc.so.6!malloc" in s.wait("symbol")
            s.keys("q", "q")
            ended(s)
        assert_not_held(pid)


def detail_of(s, addr):
    s.prompt("/", hex(addr))
    return s.text()


def test_refresh_marks_the_changes():
    with stepping("changefix") as (p, t, step):
        pid = t["pid"]
        with Screen([pid], w=160, h=50) as s:
            s.wait("Allocations")
            s.keys("r")
            s.wait("changes: 0 added, 0 removed, 0 resized, 0 re-protected")
            step()
            time.sleep(0.3)
            s.keys("r")
            text = s.wait("changes:")
            m = re.search(r"changes: (\d+) added, (\d+) removed, (\d+) resized, (\d+) re-protected", text)
            added, removed, resized, reprot = map(int, m.groups())
            assert added >= 1 and removed >= 1 and resized >= 1 and reprot >= 1, text
            assert_not_held(pid)
            assert "[added]" in detail_of(s, t["new"])
            assert "[resized]" in detail_of(s, t["grow"])
            assert "[re-protected]" in detail_of(s, t["prot"])
            # pages written: 3 of the 8 data pages; the quiet ones only read
            assert "written since the last refresh: 12 K" in detail_of(s, t["data"])
            assert "written since" not in detail_of(s, t["quiet_anon"])
            assert "written since" not in detail_of(s, t["quiet_file"])
            assert re.search(r"re-protected, \d.* written", s.text())
            text = detail_of(s, t["gone"])
            assert "removed since the last refresh" in text and "(removed)" in text
            assert re.search(rf"^-- {t['gone']:x} ", text.replace("\n- ", "\n-- "), re.M) or f"{t['gone']:x}" in text
            # marks in the tree: + for the added, ~ resized, ! re-protected
            marks = {int(m.group(2), 16): m.group(1) for m in
                     (re.match(r"^([ +~!*#w-])[+\- ][ |] ([0-9a-f]+) ", l) for l in s.text().splitlines()) if m}
            assert marks.get(t["gone"]) == "-", marks
            s.keys("q")
            status, _ = ended(s)
        assert status == 0
        assert_not_held(pid)


def test_auto_refresh():
    with stepping("changefix") as (p, t, step):
        pid = t["pid"]
        with Screen(["--refresh", "1", pid], w=120, h=40) as s:
            s.wait("auto-refresh")
            step()
            s.wait(lambda x: re.search(r"changes: [1-9]\d* added", x), timeout=10)
            s.keys("q")
            ended(s)
        assert_not_held(pid)


def test_core():
    with fixture() as (p, t), tempfile.TemporaryDirectory() as d:
        core = os.path.join(d, "layout.core")
        wait_blocked(t["pid"])
        run_json(["capture", str(t["pid"]), "-o", core])
        doc = run_json(["map", core, "--all"])
        with Screen([core]) as s:
            text = s.wait("Allocations")
            assert "elf-core" in text.splitlines()[0]
            assert [a for a, _ in all_rows(s)] == bases(doc)
            s.keys("r")
            assert "not a live process" in s.text()
            s.prompt("/", hex(t["shared_file"]["addr"]))
            s.keys("Enter")
            assert "|vmatlas shared f|" in s.wait("memory view")
            s.keys("q", "q")
            status, _ = ended(s)
    assert status == 0


def test_minidump():
    dmp = os.path.join(CORPUS, "node-minidump-windows.dmp")
    if not os.path.exists(dmp):
        raise Skip(f"no {dmp}")
    doc = run_json(["map", dmp, "--all"])
    with Screen([dmp], w=132, h=43) as s:
        text = s.wait("Allocations")
        assert "minidump" in text.splitlines()[0]
        assert f"Allocations {len(bases(doc))}/{len(doc['allocations'])}" in text
        assert [a for a, _ in all_rows(s)] == bases(doc)
        stack = next(a for a in doc["allocations"] if a["usage"] == "stack")
        s.prompt("/", "stack of main thread")
        text = s.text()
        assert re.search(rf"allocation 0*{int(stack['base'], 16):x}-", text), text
        s.keys("q")
        status, _ = ended(s)
    assert status == 0


def test_help_colors_resize():
    with fixture() as (p, t):
        pid = t["pid"]
        wait_blocked(pid)
        with Screen([pid]) as s:
            s.wait("Allocations")
            s.keys("F1")
            text = s.wait("vmatlas tui: keys")
            assert "find an address" in text
            s.keys("q")
            s.keys("?")
            s.wait("vmatlas tui: keys")
            s.keys("Escape")
            s.wait("Allocations")
            colored = s.text(escapes=True)
            assert re.search(r"\x1b\[[0-9;]*(3[0-7]|4[0-7])[;m]", colored), "no colours"
            # resize: the wide columns come, then go
            s.tmux("resize-window", "-t", "0", "-x", "140", "-y", "45")
            text = s.wait("State")
            assert "Private" in text and len(text.splitlines()[1]) == 140
            s.tmux("resize-window", "-t", "0", "-x", "80", "-y", "24")
            s.wait(lambda x: "State" not in x and len(x.splitlines()[1]) == 80)
            s.keys("q")
            ended(s)
        with Screen(["--no-color", pid]) as s:
            s.wait("Allocations")
            plain = s.text(escapes=True)
            assert not re.search(r"\x1b\[[0-9;]*(3[0-7]|4[0-7]|38;5;\d+)[;m]", plain), repr(plain[:400])
            s.keys("q")
            ended(s)
        assert_not_held(pid)


def test_signals_restore_the_terminal():
    with fixture() as (p, t):
        pid = t["pid"]
        wait_blocked(pid)
        for sig, key in ((signal.SIGTERM, None), (signal.SIGINT, "C-c"), (signal.SIGHUP, None)):
            with Screen([pid]) as s:
                s.wait("Allocations")
                if key:
                    s.keys(key)
                else:
                    os.kill(s.vmatlas_pid(), sig)
                status, _ = ended(s)
                assert status == 128 + sig, (sig, status)
                assert "Allocations" not in s.text().split("EXIT=")[1]
            assert_not_held(pid)
    # a crash (here a SIGSEGV sent by hand): the terminal restored, then
    # the default action (or the sanitizer's report in a sanitizer build)
    with fixture() as (p, t):
        pid = t["pid"]
        wait_blocked(pid)
        with Screen([pid]) as s:
            s.wait("Allocations")
            os.kill(s.vmatlas_pid(), signal.SIGSEGV)
            status, _ = ended(s, crash=True)
            assert status == 128 + signal.SIGSEGV or "Sanitizer" in s.stderr(), (status, s.stderr())
        assert_not_held(pid)
    # a bad target: one clear line, the terminal untouched
    with Screen(["/nonexistent/core"]) as s:
        status, text = ended(s)
        assert status == 1 and len(s.stderr().strip().splitlines()) == 1, s.stderr()


def test_snapshot():
    with fixture() as (p, t), tempfile.TemporaryDirectory() as d:
        pid = t["pid"]
        wait_blocked(pid)
        snap = os.path.join(d, "layout.snap")
        run_json(["snapshot", str(pid), "-o", snap])
        doc = run_json(["map", str(pid), "--all"])
        junk = os.path.join(d, "junk")
        with open(junk, "w") as f:
            f.write("not a snapshot\n")
        with Screen([snap]) as s:
            text = s.wait(lambda x: "Allocations" in x and "no memory to read" in x)
            assert "snapshot" in text.splitlines()[0]
            assert [a for a, _ in all_rows(s)] == bases(doc)
            addr = t["shared_file"]["addr"]
            s.prompt("/", hex(addr))
            s.keys("Enter")
            text = s.wait("memory view")
            assert f"{addr:x}  ?? ?? ??" in text, text
            s.keys("q")
            s.prompt("w", hex(addr + 8))
            assert f"region      {addr:x}-" in s.wait("whatis")
            s.keys("q")
            s.prompt("v", "[rsp]")
            assert "no memory" in s.text()
            s.keys("r")
            assert "not a live process" in s.text()
            s.keys("q")
            status, _ = ended(s)
        assert status == 0
        with Screen([junk]) as s:
            status, _ = ended(s)
            assert status == 1 and "snapshot" in s.stderr() and len(s.stderr().strip().splitlines()) == 1, s.stderr()


def details(s):
    """every line of the details pane: focus it, page through it"""
    s.keys("Tab", "Tab")
    assert "[> Details" in s.text()
    out = []
    for _ in range(20):
        t = s.text().splitlines()
        i = next(k for k, l in enumerate(t) if "Details" in l and l.startswith("[>"))
        for l in t[i + 1:-1]:
            if l.strip() and l not in out:
                out.append(l)
        before = t
        s.keys("NPage")
        if s.text().splitlines() == before:
            break
    s.keys("Tab")
    return out


def test_details_pane():
    with fixture() as (p, t):
        pid = t["pid"]
        wait_blocked(pid)
        doc = run_json(["map", str(pid), "--all"])
        exe = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(VMATLAS)), "fixtures", "layout"))
        text_r = next(r for a in doc["allocations"] for r in a["regions"]
                      if r.get("prot") == "r-xp" and r.get("path") == exe)
        mod = next(m for m in doc["modules"] if m["path"] == exe)
        base = int(text_r["base"], 16)
        with Screen([pid], w=132, h=50) as s:
            s.wait("Allocations")
            s.prompt("/", hex(base))
            lines = details(s)
            joined = "\n".join(lines)
            assert lines[0].startswith(f"region {base:x}-{base + text_r['size']:x} {fmt_size(text_r['size'])} commit r-xp image"), lines
            assert f"RSS {fmt_size(text_r['rss'])}" in joined and f"private clean {fmt_size(text_r['private_clean'])}" in joined
            assert f"module {mod['name']}  elf 64-bit  base {int(mod['base'], 16):x}" in joined
            assert f"build-id {mod['build_id']}" in joined and exe in joined
            assert re.search(r"^symbols: .*symtab", joined, re.M), joined
            assert f"contents ({len(text_r['contents'])}):" in joined
            for c in text_r["contents"]:
                assert re.search(rf"^  {int(c['addr'], 16):x} +{re.escape(fmt_size(c['size']))}  {c['kind']} +{re.escape(c['name'])}",
                                 joined, re.M), (c, joined)
            # a thread's stack: its thread and guard
            s.prompt("/", "stack of main thread")
            joined = "\n".join(details(s))
            assert "stack of main thread" in joined
            s.keys("q")
            ended(s)


def test_sort_by_every_column():
    with fixture() as (p, t):
        pid = t["pid"]
        wait_blocked(pid)
        doc = run_json(["map", str(pid), "--all"])
        usage_order = ["image", "mapped", "shareable", "heap", "stack", "private", "system", "reserved", "free"]
        usage_of = {int(a["base"], 16): a["usage"] for a in doc["allocations"]}
        with Screen([pid], w=132, h=40) as s:
            s.wait("Allocations")
            for col in ("Size", "Usage", "State", "Prot", "Type", "RSS", "Private", "Details", "Address"):
                s.keys(">")
                text = s.wait(f"sort: {col}")
                assert f"{col}^" in text, text
                if col == "Usage":
                    got = [usage_order.index(usage_of[a]) for a, _ in all_rows(s)]
                    assert got == sorted(got), got
            s.keys("<")
            s.wait("sort: Details")
            s.keys("i")
            s.wait("sort: Details (desc)")
            assert "Detailsv" in s.text()
            s.keys("q")
            ended(s)
