"""Symbols and call stacks of a live Windows process in the Windows build
(dbghelp: symbols/win/, StackWalk64: threads/win/), under Wine, against
symfix.exe, which prints its own truth: the addresses of its static
functions, the lines of the calls in its chain f1 -> f2 -> f3 ->
WaitForSingleObject (where a worker thread waits), and the addresses of
C++ functions. binutils' addr2line and c++filt are the other ground
truth, and the Linux build reading a minidump of the same process.

Where Wine differs: Wine 8's dbghelp reads DWARF 2 to 4 only (the fixture
is built with -gdwarf-4; gcc 12 writes 5 by default), and gives a DWARF
file name as a DOS path (Z:\\work\\...: compared as the Unix path it
stands for); Windows' own dbghelp reads no DWARF at all, only PDBs.

A 32-bit symfix.exe (VMATLAS_WINFIX=win32, from either build): nm names
its C functions with i386's decoration (_f1, _worker@4, __Z... for C++),
which vmatlas takes off as dbghelp does; its stacks are walked by frame
pointers and scans (x86_unwind.c), StackWalk64 by
IMAGE_FILE_MACHINE_I386 with the DWARF CFI Wine's dbghelp reads."""
import atexit
import json
import os
import re
import subprocess
import tempfile

from lib import Skip, run_json
from winlive import FIXBITS, FIXDIR, ENV, EXE, ROOT, WINE, _ready, first_line, popen_wine, run_wine, vmatlas_json

FIX = os.path.join(FIXDIR, "symfix.exe")
# Wine's own DLLs of the fixture's bitness
WINE_DLLS = "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows" if FIXBITS == 64 else \
    "/usr/lib/i386-linux-gnu/wine/i386-windows"
_state = {}


def symfix():
    """the truth of the one symfix.exe, started on first use"""
    _ready()
    if not os.path.exists(FIX):
        raise Skip("no symfix.exe (make windows)")
    if "truth" not in _state:
        p, line = popen_wine([WINE, FIX], first_line, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             env=ENV)
        assert line, "symfix.exe printed nothing"

        def stop():
            p.stdin.close()
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        atexit.register(stop)
        _state["truth"] = json.loads(line)
    return _state["truth"]


def unix(path):
    """Wine's Z:\\a\\b as the Unix path /a/b"""
    if path and path[:3].upper() == "Z:\\":
        return path[2:].replace("\\", "/")
    return path


def addr2line(addrs):
    p = subprocess.run(["x86_64-w64-mingw32-addr2line", "-e", FIX] + [hex(a) for a in addrs],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise Skip("no x86_64-w64-mingw32-addr2line")
    return [(f, int(l)) for f, l in (x.rsplit(":", 1) for x in p.stdout.split())]


def test_winsym_static_functions_named_with_lines():
    """no export covers symfix's static functions: their names (COFF)
    and their lines (dbghelp reading the DWARF) as addr2line says"""
    t = symfix()
    fns = ("f1", "f2", "f3", "worker")
    addrs = [t[fn] + k for fn in fns for k in (0, 5, 9)]
    got = vmatlas_json(["sym", str(t["pid"])] + [hex(a) for a in addrs])
    assert [s["symbol"] for s in got] == [fn for fn in fns for _ in range(3)], got
    assert [s["offset"] for s in got] == [0, 5, 9] * len(fns)
    assert [(unix(s.get("file")), s.get("line")) for s in got] == addr2line(addrs), got
    mods = {m["name"]: m for m in vmatlas_json(["modules", str(t["pid"]), "--symbols"])["modules"]}
    assert "dbghelp:dwarf" in mods["symfix.exe"]["symbols"].split(","), mods["symfix.exe"]
    # without --no-lines only
    plain = vmatlas_json(["sym", str(t["pid"]), hex(t["f3"]), "--no-lines"])
    assert plain[0]["symbol"] == "f3" and "file" not in plain[0], plain


def frames_of(t, extra_env=None, cwd=None):
    env = dict(ENV, **(extra_env or {}))
    p = run_wine([WINE, EXE, "threads", str(t["pid"]), "--json"], capture_output=True, text=True, env=env,
                 timeout=120, stdin=subprocess.DEVNULL, cwd=cwd)
    assert p.returncode == 0, p.stderr[-2000:]
    return {x["tid"]: x for x in json.loads(p.stdout)["threads"]}


def test_winsym_stack_of_the_waiting_thread():
    """the worker's stack: f3, f2, f1, worker in order, each at the line
    of its call as the fixture's __LINE__ says, and as addr2line says for
    the return address - 1"""
    t = symfix()
    th = frames_of(t)[t["tid"]]
    fr = th["frames"]
    names = [f.get("function") for f in fr]
    assert "f3" in names, names
    k = names.index("f3")
    assert names[k:k + 4] == ["f3", "f2", "f1", "worker"], names
    assert all(f["module"] == "symfix.exe" for f in fr[k:k + 4])
    # below f3: the wait, in kernelbase/ntdll
    assert k >= 1 and all(f["module"] in ("ntdll.dll", "kernelbase.dll", "kernel32.dll") for f in fr[:k]), fr[:k]
    chain = fr[k:k + 4]
    assert [f.get("line") for f in chain] == [t["line_wait"], t["line_f3"], t["line_f2"], t["line_f1"]], chain
    assert all(os.path.basename(unix(f["file"])) == t["file"] for f in chain), chain
    pcs = [int(f["pc"], 16) for f in chain]
    assert [(unix(f["file"]), f["line"]) for f in chain] == addr2line([pc - 1 for pc in pcs])
    # each pc is a return address inside the function named
    for f, fn in zip(chain, ("f3", "f2", "f1", "worker")):
        assert t[fn] < int(f["pc"], 16) < t[fn] + 0x80, (fn, f)


def test_winsym_wine_dll_lines_as_their_debug_info_has_them():
    """Wine's own DLLs are built with "." as their compilation directory:
    dbghelp joins their file names with vmatlas.exe's current directory,
    where they are not. Shown as the DWARF has them (addr2line on the
    DLL, for the return address - 1), relative; with such a file there,
    its full path (before: Z:\\CWD\\dlls\\kernelbase\\sync.c, whatever
    the directory)"""
    dll = os.path.join(WINE_DLLS, "kernelbase.dll")
    if not os.path.exists(dll):
        raise Skip(f"no {dll}")
    t = symfix()
    image_base = next(int(l.split()[1], 16) for l in subprocess.run(
        ["x86_64-w64-mingw32-objdump", "-p", dll], capture_output=True, text=True).stdout.splitlines()
        if l.startswith("ImageBase"))
    base = int(next(m["base"] for m in vmatlas_json(["map", str(t["pid"])])["modules"]
                    if m["name"].lower() == "kernelbase.dll"), 16)
    with tempfile.TemporaryDirectory() as d:
        fr = [f for th in frames_of(t, cwd=d).values() for f in th["frames"][1:]
              if f["module"] == "kernelbase.dll" and f.get("file")]
        assert fr, "no kernelbase.dll frame with a line"
        p = subprocess.run(["x86_64-w64-mingw32-addr2line", "-e", dll] +
                           [hex(int(f["pc"], 16) - 1 - base + image_base) for f in fr], capture_output=True, text=True)
        # the files (dbghelp and binutils put inlined code on different lines)
        want = [os.path.normpath(y.rsplit(":", 1)[0]) for y in p.stdout.split()]
        assert [f["file"].replace("\\", "/") for f in fr] == want, (fr, want)
        assert want[0].startswith("dlls/kernelbase/"), want
        os.makedirs(os.path.join(d, os.path.dirname(want[0])))
        open(os.path.join(d, want[0]), "w").close()
        there = [f["file"] for th in frames_of(t, cwd=d).values() for f in th["frames"][1:]
                 if f["module"] == "kernelbase.dll" and f.get("file")]
        assert unix(there[0]) == os.path.join(d, want[0]), (there, d)


def test_winsym_stackwalk64_agrees_with_pdata():
    """dbghelp's StackWalk64 (VMATLAS_UNWIND=stackwalk64) and our .pdata
    unwinder give every thread the same frames (a 32-bit fixture: the same
    frames of its own code)"""
    t = symfix()
    ours, theirs = frames_of(t), frames_of(t, {"VMATLAS_UNWIND": "stackwalk64"})
    assert set(ours) == set(theirs) and t["tid"] in ours
    for tid in ours:
        a, b = ours[tid]["frames"], theirs[tid]["frames"]
        assert len(a) >= 3, a
        assert b[0]["method"] == "registers" and {f["method"] for f in b[1:]} == {"stackwalk64"}, b
        if FIXBITS == 64:
            assert [(f["pc"], f["sp"]) for f in a] == [(f["pc"], f["sp"]) for f in b], (tid, a, b)
            assert {f["method"] for f in a[1:]} <= {"pdata", "fp"}, a
            continue
        # 32-bit: no unwind tables in the image; ours by frame pointers
        # and scans, which also find a system call stub's caller that
        # StackWalk64 passes over (Wine's dbghelp reads the DWARF CFI of
        # its DLLs), and miss a caller that called through a register and
        # kept no frame (BaseThreadInitThunk under a worker): the
        # fixture's own frames are the same, and both end at the thread's
        # first frame
        mine = [f["pc"] for f in a if f["module"] == "symfix.exe"]
        assert mine and mine == [f["pc"] for f in b if f["module"] == "symfix.exe"], (tid, a, b)
        assert (a[-1]["pc"], a[-1]["sp"]) == (b[-1]["pc"], b[-1]["sp"]), (tid, a, b)
        assert {f["method"] for f in a[1:]} <= {"fp", "scan"}, a


def test_winsym_cpp_names_as_cxxfilt_and_the_linux_build():
    """C++ names demangled by the Windows build (__cxa_demangle) as by
    c++filt and by the Linux build (libiberty), on a minidump of the same
    process (and the Windows build on that dump as on the process); the
    mangled name as nm lists it"""
    t = symfix()
    nm = subprocess.run(["x86_64-w64-mingw32-nm", FIX], capture_output=True, text=True)
    if nm.returncode != 0:
        raise Skip("no x86_64-w64-mingw32-nm")
    by_addr = {}
    for line in nm.stdout.splitlines():
        f = line.split()
        # i386's C decoration: one underscore more (__Z...), taken off
        name = f[2][1:] if FIXBITS == 32 and len(f) == 3 and f[2].startswith("__Z") else f[2] if len(f) == 3 else ""
        if len(f) == 3 and f[1] in "Tt" and name.startswith("_Z") and "." not in name:
            by_addr[int(f[0], 16)] = name
    addrs = t["cpp"]
    assert len(addrs) == 10 and all(a in by_addr for a in addrs), [hex(a) for a in addrs]
    mangled = [by_addr[a] for a in addrs]
    filt = subprocess.run(["c++filt"], input="\n".join(mangled) + "\n", capture_output=True, text=True)
    assert filt.returncode == 0
    want = filt.stdout.split("\n")[:len(mangled)]
    win = vmatlas_json(["sym", str(t["pid"])] + [hex(a) for a in addrs])
    assert [s["symbol"] for s in win] == want, win
    assert [s["mangled"] for s in win] == mangled
    with tempfile.TemporaryDirectory() as d:
        dmp = os.path.join(d, "symfix.dmp")
        vmatlas_json(["capture", str(t["pid"]), "-o", dmp])
        lin = run_json(["sym", dmp] + [hex(a) for a in addrs])
        assert [s["symbol"] for s in lin] == want, lin
        # and the same lines, libdw's against dbghelp's where dbghelp has
        # one: Wine's has none for the lambda's invoker and for total(),
        # whose first instruction is inlined vector::size() (libdw and
        # addr2line say stl_vector.h there)
        both = [(unix(w.get("file")), w.get("line"), l.get("file"), l.get("line")) for w, l in zip(win, lin)
                if w.get("line")]
        assert len(both) >= 8 and all(a[:2] == a[2:] for a in both), both
        # the Windows build on the dump: dbghelp on the image file too
        dwin = vmatlas_json(["sym", dmp] + [hex(a) for a in addrs])
        assert [(s["symbol"], s.get("file"), s.get("line")) for s in dwin] == \
            [(s["symbol"], s.get("file"), s.get("line")) for s in win], dwin


def test_winsym_32bit_stacks_of_minidumps():
    """32-bit stacks in the Windows build: by frame pointers, scans and
    SEH records (x86_unwind.c) as the Linux build gives them, and by
    StackWalk64 with IMAGE_FILE_MACHINE_I386 (by the build
    VMATLAS_WINARCH picks: the 32-bit one too) on breakpad's 32-bit
    dumps, which follows the same frame-pointer chains"""
    from test_minidump import CORPUS
    dumps = {"breakpad-minidump2.dmp": 3060, "breakpad-null_read_av.dmp": 1192}
    for name, tid in dumps.items():
        dmp = os.path.join(CORPUS, name)
        if not os.path.exists(dmp):
            raise Skip("no " + name)
        lin = {t["tid"]: t for t in run_json(["threads", dmp])["threads"]}
        win = frames_of({"pid": dmp})
        sw = frames_of({"pid": dmp}, {"VMATLAS_UNWIND": "stackwalk64"})
        assert set(lin) == set(win) == set(sw)
        for t in lin:
            want = [(f["pc"], f["sp"], f["method"]) for f in lin[t]["frames"]]
            assert [(f["pc"], f["sp"], f["method"]) for f in win[t]["frames"]] == want, (name, t)
        fp = [(f["pc"], f["sp"]) for f in lin[tid]["frames"]]
        assert [f["method"] for f in lin[tid]["frames"][1:]] == ["fp"] * (len(fp) - 1) and len(fp) >= 4
        assert [(f["pc"], f["sp"]) for f in sw[tid]["frames"]] == fp, (name, sw[tid]["frames"])
        assert [f["method"] for f in sw[tid]["frames"]] == ["registers"] + ["stackwalk64"] * (len(fp) - 1)


def dwarf_lines(path):
    """{line: [is_stmt addresses]} of symfix.c in the image's DWARF, as
    the mingw objdump decodes it"""
    tool = ("i686" if FIXBITS == 32 else "x86_64") + "-w64-mingw32-objdump"
    try:
        out = subprocess.run([tool, "--dwarf=decodedline", path], capture_output=True, text=True,
                             check=True).stdout
    except FileNotFoundError:
        raise Skip("no " + tool)
    rows = {}
    for m in re.finditer(r"^symfix\.c\s+(\d+)\s+(0x[0-9a-f]+)(.*)$", out, re.M):
        if m.group(3).rstrip().endswith("x"):
            rows.setdefault(int(m.group(1)), []).append(int(m.group(2), 16))
    assert rows, out[:2000]
    return rows


def test_winsym_break_file_line():
    """break FILE:LINE in the Windows build (dbghelp's line table, as
    libdw's on Linux): a breakpoint at the line's lowest address that
    objdump's decoded DWARF gives, the name in any case and with or
    without its directories; a line without code gives way to the next
    that has some; hit there on the fixture's first run of f1, where bt
    names that line; a file no module has is the command's error"""
    _ready()
    if not os.path.exists(FIX):
        raise Skip("no symfix.exe (make windows)")
    from test_windbg import debug, events, results
    with open(os.path.join(ROOT, "tests", "fixtures", "win", "symfix.c")) as f:
        src = f.read().splitlines()
    ret = next(i + 1 for i, l in enumerate(src) if "return r + 3 + sink;" in l)  # in f1
    call = ret - 1  # f1's call of f2
    blank = next(i + 1 for i, l in enumerate(src) if i + 1 < ret and not l.strip() and i + 1 > 20)
    rows = dwarf_lines(FIX)
    after_blank = min(n for n in rows if n >= blank)
    assert after_blank > blank, (blank, rows)
    want = [min(rows[ret]), min(rows[call]), min(rows[ret]), min(rows[after_blank])]
    out, err = debug(["break symfix.c:%d" % ret, "break tests/fixtures/win/symfix.c:%d" % call,
                      "break SYMFIX.C:%d" % ret, "break symfix.c:%d" % blank, "break nosuch.c:3",
                      "delete 2", "delete 4", "continue", "bt", "kill"], ["--", FIX], expect_rc=1)
    got = [int(b["addr"], 16) for b in results(out, "break") if b["ok"]]
    assert got == want, ([hex(a) for a in got], [hex(a) for a in want])
    bad = [b for b in results(out, "break") if not b["ok"]]
    assert len(bad) == 1 and "nosuch.c:3" in bad[0]["error"], bad
    hit = events(out, "breakpoint")
    assert hit and int(hit[0]["pc"], 16) == min(rows[ret]), hit
    f0 = results(out, "bt")[0]["frames"][0]
    assert re.match(r"symfix\.exe!f1\+0x", f0["where"]) and int(f0["pc"], 16) == min(rows[ret]), f0
    assert f0.get("line") == ret and f0.get("file", "").lower().endswith("symfix.c"), f0
    assert hit[0]["line"] == ret, hit


def test_winsym_break_file_line_in_the_program_first():
    """a main.c of the program's own: break main.c:N goes there, not into
    the main.c of one of Wine's DLLs (kernelbase has one, and lies
    lower): the program's lines are asked first"""
    _ready()
    cc = ("i686" if FIXBITS == 32 else "x86_64") + "-w64-mingw32-gcc"
    from test_windbg import debug, results
    with tempfile.TemporaryDirectory() as d:
        src = os.path.join(d, "main.c")
        with open(src, "w") as f:
            f.write("#include <stdio.h>\nvolatile int v;\n\nint main(void)\n{\n"
                    "\tv = 1;\n\tprintf(\"%d\\n\", v);\n\treturn 0;\n}\n")
        exe = os.path.join(d, "main.exe")
        try:
            subprocess.run([cc, "-O1", "-gdwarf-4", src, "-o", exe], check=True, capture_output=True)
        except FileNotFoundError:
            raise Skip("no " + cc)
        out, err = debug(["break main.c:6", "kill"], ["--", exe])
        b = results(out, "break")
        assert b and b[0]["ok"] and b[0]["where"].startswith("main.exe!main"), (b, err)
