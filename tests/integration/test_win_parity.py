"""Parity: the Windows build (build/win64/vmatlas.exe under Wine) against
the Linux build on the same files. Every file command the Linux tests run
(image on PE, COFF, archives and ELF; exports of a DLL; map, modules,
threads, env, view, whatis, search, sym, exports, dump, snapshot and diff
on minidumps and ELF cores; errors) is run by both, and standard output,
standard error and the exit status must be the same bytes (no CR before
LF, the same formats). Only what must differ is normalised, each named in
NORMALISE and in docs/windows.md with the differences that are intended.

Paths go to Wine as the Linux build gets them: Wine maps an absolute
Unix path to drive Z:, so both builds print the same path."""
import glob
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile

from lib import FIXTURES, VMATLAS, Skip, fixture, run, wait_blocked
from test_minidump import CORPUS
from winlive import ENV, EXE, WINE, _ready, private_mode, run_wine

# what differs on purpose (docs/windows.md "Parity with the Linux build")
NORMALISE = [
    # call stacks past the first frame: the Linux build unwinds through
    # libdwfl and frame pointers; the Windows build only by x64 .pdata
    # (threads/win/, winsym's area): the frames are compared apart
    # libthread_db is not in the Windows build
    (re.compile(rb'"thread_db": "[^"]*"'), b'"thread_db": "-"'),
    # how long a search took
    (re.compile(rb" searched \(\d+\.\d+ s\)"), b" searched (T s)"),
    (re.compile(rb'"seconds": [0-9.e-]+'), b'"seconds": T'),
]


def both(args, stdin=None):
    """(linux, windows) CompletedProcess (bytes) of the same command"""
    _ready()
    lx = subprocess.run([VMATLAS] + args, capture_output=True, input=stdin, timeout=120,
                        stdin=None if stdin is not None else subprocess.DEVNULL)
    # the "silent status 1" seen about once per full run was Wine's, not
    # ours: its start failing to map KUSER_SHARED_DATA at 0x7ffe0000 where
    # the kernel happened to put wine64's brk heap (exit(1) after an err of
    # the virtual channel, silent under -all). run_wine makes such a start
    # again (winlive.py, docs/windows.md "What Wine does differently")
    win = run_wine([WINE, EXE] + args, capture_output=True, input=stdin, env=ENV, timeout=120,
                   stdin=None if stdin is not None else subprocess.DEVNULL)
    return lx, win


# symbols of Windows modules that dbghelp finds on disk (Wine's own DLLs:
# the Windows build names them from their debug information, the Linux
# build from exports): masked on dumps made under Wine
SYMBOLS = re.compile(rb"([\w.-]+\.(?:dll|exe|DLL|EXE))!([^\s\"]+)")
_mask = []


def norm(b):
    for pat, rep in NORMALISE:
        b = pat.sub(rep, b)
    if _mask:
        b = SYMBOLS.sub(rb"\1!SYM", b)
    return b


def diff_text(a, b, n=12):
    la, lb = a.decode(errors="replace").splitlines(), b.decode(errors="replace").splitlines()
    out = []
    for i in range(max(len(la), len(lb))):
        x = la[i] if i < len(la) else "<none>"
        y = lb[i] if i < len(lb) else "<none>"
        if x != y:
            out.append(f"line {i + 1}:\n  linux:   {x!r}\n  windows: {y!r}")
            if len(out) >= n:
                break
    return "\n".join(out)


def same(args, stdin=None, strip_frames=False):
    """both builds give the same status, stdout and stderr; the Linux
    build's stdout"""
    lx, win = both(args, stdin)
    what = " ".join(args)
    assert lx.returncode == win.returncode, \
        f"{what}: exit {lx.returncode} on Linux, {win.returncode} on Windows\n{lx.stderr!r}\n{win.stderr!r}"
    assert b"\r\n" not in win.stdout or b"\r\n" in lx.stdout, f"{what}: CRLF in the Windows output"
    lo, wo = norm(lx.stdout), norm(win.stdout)
    if strip_frames:
        lo, wo = first_frames(lo), first_frames(wo)
    assert lo == wo, f"{what}: stdout differs\n{diff_text(lo, wo)}"
    assert norm(lx.stderr) == norm(win.stderr), f"{what}: stderr differs\n{diff_text(lx.stderr, win.stderr)}"
    return lx.stdout


def first_frames(b):
    """threads --json with each thread's stack cut to its first frame, the
    first frame's return address and the unwinder's note dropped (how far
    the walk goes is the unwinder's, which differs: NORMALISE)"""
    doc = json.loads(b)
    for t in doc.get("threads", []):
        fr = t.get("frames") or []
        # file:line come from DWARF through libdw (not in the Windows build)
        t["frames"] = [dict(fr[0], return_address=None, file=None, line=None)] if fr else []
        t.pop("unwind_note", None)
        # the start routine of a Linux thread comes from libthread_db (not in
        # the Windows build: there it is unknown)
        if t.get("start_source") == "thread_db" or t.get("start", 0) is None:
            for k in ("start", "start_symbol", "start_source"):
                t.pop(k, None)
    return json.dumps(doc, indent=1, sort_keys=True).encode()


# --- files: PE, COFF, archives, ELF ----------------------------------------

def pe_files():
    win = os.path.join(FIXTURES, "win")
    files = [os.path.join(win, f) for f in ("pedll.dll", "pedll-s.dll", "pedll32.dll", "pedll.o", "libpedll.a",
                                            "dumpfix.exe", "heapfix.exe")]
    files = [f for f in files if os.path.exists(f)]
    if not files:
        raise Skip("no Windows fixtures (tests/fixtures/win/build.sh)")
    return files + [EXE]


def test_win_parity_image_pe_coff_archive():
    for f in pe_files():
        for opts in ([], ["--json"], ["-a"], ["-a", "--json"], ["--hex", ".text"], ["--rva", "0x1000"],
                     ["--offset", "0x400", "--json"]):
            if f.endswith(".a") and opts[:1] in (["-a"], ["--hex"], ["--rva"], ["--offset"]):
                continue
            same(["image", f] + opts)
    a = os.path.join(FIXTURES, "win", "libpedll.a")
    if os.path.exists(a):
        members = json.loads(same(["image", a, "--json"]))
        names = [m["name"] for m in members["members"]][:3]
        for n in names:
            same(["image", a, "--member", n])
            same(["image", a, "--member", n, "--json"])


def test_win_parity_image_elf():
    for name in ("layout", "layout32", "libvisible.so", "heapfix-static"):
        f = os.path.join(FIXTURES, name)
        if not os.path.exists(f):
            continue
        for opts in ([], ["--json"], ["-a"], ["-a", "--json"], ["--hex", ".rodata"], ["--rva", "0x1000"]):
            same(["image", f] + opts)


def test_win_parity_exports_of_files():
    for f in pe_files():
        if f.endswith((".dll", ".exe")):
            same(["exports", f])
            same(["exports", f, "--json"])
    dll = os.path.join(FIXTURES, "win", "pedll.dll")
    if os.path.exists(dll):
        for q in ("pedll_", "Fwd", "nosuch"):
            same(["exports", dll, "--find", q])


def test_win_parity_hostile_and_odd_files():
    """cut, empty, directory, missing, garbage: the same refusal, the same
    status"""
    with tempfile.TemporaryDirectory() as d:
        src = [f for f in pe_files() if f.endswith(".dll")][0]
        data = open(src, "rb").read()
        elf = open(os.path.join(FIXTURES, "layout"), "rb").read()
        cases = {"cut.dll": data[:700], "cut2.dll": data[:len(data) // 2], "empty": b"",
                 "garbage": bytes(range(256)) * 8, "cut.elf": elf[:200], "mz": b"MZ" + b"\0" * 62}
        bad = bytearray(data)
        lfanew = int.from_bytes(bad[0x3c:0x40], "little")
        bad[lfanew + 6:lfanew + 8] = (0xffff).to_bytes(2, "little")  # NumberOfSections
        cases["nsec.dll"] = bytes(bad)
        for name, b in cases.items():
            p = os.path.join(d, name)
            with open(p, "wb") as f:
                f.write(b)
            for cmd in (["image", p], ["image", p, "--json"], ["map", p], ["exports", p]):
                same(cmd)
        for p in (d, os.path.join(d, "missing.dmp")):
            for cmd in (["image", p], ["map", p], ["view", p, "0x1000"]):
                same(cmd)


# --- minidumps --------------------------------------------------------------

def dumps():
    files = sorted(glob.glob(os.path.join(CORPUS, "*.dmp")))
    if not files:
        raise Skip("no minidump corpus")
    return files


def test_win_parity_minidump_maps():
    """every dump of the corpus: the map (text, JSON, --all, --flat,
    --contents), modules, env, and threads up to the first frame"""
    for f in dumps():
        for opts in ([], ["--json"], ["--all", "--flat"], ["-c"]):
            same(["map", f] + opts)
        same(["modules", f, "--json"])
        same(["env", f])
        same(["env", f, "--json"])
        same(["threads", f, "--json"], strip_frames=True)


def addresses(f):
    """addresses the memory commands are pointed at: the first thread's
    sp and pc, a module base, a region inside and a byte past every region"""
    m = json.loads(run(["map", f, "--json"]).stdout)
    regs = [r for a in m["allocations"] for r in a["regions"] if r["state"] == "commit"]
    th = m["threads"]
    out = {}
    if th:
        out["sp"], out["pc"] = th[0]["sp"], th[0]["pc"]
    if m["modules"]:
        out["mod"] = m["modules"][0]["base"]
        out["modname"] = m["modules"][0]["name"]
    if regs:
        r = max(regs, key=lambda r: r["size"])
        out["region"] = r["base"]
        out["region_end"] = hex(int(r["base"], 16) + r["size"] - 8)
    # the region a dump writes: the first thread's stack (held by every
    # dump), else the smallest region
    held = [r for r in regs if th and th[0]["sp"] and
            int(r["base"], 16) <= int(th[0]["sp"], 16) < int(r["base"], 16) + r["size"]]
    if held or regs:
        out["dumped"] = (held or sorted(regs, key=lambda r: r["size"]))[0]["base"]
    return m, {k: v for k, v in out.items() if v is not None}


def memory_commands(f, a, d):
    """the commands of test_view, test_search, test_symbols and test_dump
    that read a file target, at the addresses a"""
    cmds = []
    for k in ("sp", "pc", "mod", "region", "region_end"):
        if k not in a:
            continue
        cmds += [["view", f, a[k], "64"], ["view", f, a[k], "32", "--as", "u64", "--json"],
                 ["view", f, a[k], "16", "--as", "u32"], ["whatis", f, a[k]], ["whatis", f, a[k], "--json"],
                 ["sym", f, a[k], "--no-lines"]]
    if "sp" in a:
        cmds += [["view", f, "--as", "ptr", a["sp"], "64"], ["whatis", f, a["sp"], a.get("pc", "0x0"), "0x10"]]
    if "modname" in a:
        cmds += [["search", f, "--ascii", a["modname"][:6], "--include-ro", "--threads", "1", "--max", "20"],
                 ["search", f, "--utf16", a["modname"][:4], "--include-ro", "--json", "--threads", "1", "--max", "20"],
                 ["search", f, "--hex", "4D 5A ?? 00", "--include-ro", "--threads", "1", "--max", "20"],
                 ["search", f, "--ptr-to", a["modname"], "--threads", "1", "--max", "20", "--json"],
                 ["exports", f, "--find", "Create", "--json"]]
    cmds += [["search", f, "--u32", "0", "--threads", "1", "--max", "5"], ["search", f, "--ptr-to", "[stack]", "--threads", "1", "--max", "10"],
             ["view", f, "0x10", "16"], ["whatis", f, "0xffffffffffff0000"], ["sym", f, "nosuch!x", "--no-lines"],
             ["search", f, "--f64", "1.5", "--threads", "1", "--max", "3"]]
    if "region" in a:
        cmds += [["search", f, "--u8", "0", "--from", a["region"], "--to", a["region_end"], "--threads", "1", "--max", "3"]]
    return cmds


def check_memory_and_dumps(f, d):
    m, a = addresses(f)
    for cmd in memory_commands(f, a, d):
        same(cmd)
    if "dumped" in a:
        # dump: the same status and message, and the same bytes written
        for fmt in ("raw", "elf"):
            lo, wo = os.path.join(d, "l." + fmt), os.path.join(d, "w." + fmt)
            lx = subprocess.run([VMATLAS, "dump", f, a["dumped"], "--format", fmt, "-o", lo], capture_output=True,
                                timeout=120, stdin=subprocess.DEVNULL)
            win = run_wine([WINE, EXE, "dump", f, a["dumped"], "--format", fmt, "-o", wo],
                           capture_output=True, env=ENV, timeout=120, stdin=subprocess.DEVNULL)
            assert (lx.returncode, norm(lx.stderr)) == (win.returncode, norm(win.stderr)), (lx, win)
            assert lx.stdout.replace(lo.encode(), b"OUT") == win.stdout.replace(wo.encode(), b"OUT")
            if lx.returncode == 0:
                with open(lo, "rb") as x, open(wo, "rb") as y:
                    assert x.read() == y.read(), f"dump {f} {fmt}: other bytes"
                # owner-only both: 0600 on Linux; under Wine the owner-only
                # DACL the file is created with, as Wine maps it (winlive.py)
                assert os.stat(lo).st_mode & 0o777 == 0o600
                assert os.stat(wo).st_mode & 0o777 == private_mode(), oct(os.stat(wo).st_mode)
                os.unlink(lo)
                os.unlink(wo)
            else:
                assert not os.path.exists(lo) and not os.path.exists(wo)
    # snapshot: either build reads the other's; diff of the same is empty
    ls, ws = os.path.join(d, "l.snap"), os.path.join(d, "w.snap")
    assert run(["snapshot", f, "-o", ls]).returncode == 0
    w = run_wine([WINE, EXE, "snapshot", f, "-o", ws], capture_output=True, env=ENV, timeout=120,
                 stdin=subprocess.DEVNULL)
    assert w.returncode == 0, w.stderr
    assert os.stat(ls).st_mode & 0o777 == 0o600 and os.stat(ws).st_mode & 0o777 == private_mode()
    same(["diff", ws, ws])
    same(["diff", ws, ws, "--json"])
    same(["diff", ws, f, "--json"])
    lx = run(["diff", ls, ws, "--json"])
    assert lx.returncode == 0, lx.stderr
    doc = json.loads(lx.stdout)
    assert not any(doc["regions"][k] for k in ("added", "removed", "changed")), doc["regions"]


def test_win_parity_minidump_memory_commands():
    picks = ["node-minidump-windows.dmp", "breakpad-minidump2.dmp", "rust-minidump-linux-mini.dmp",
             "breakpad-thread_name_list.dmp", "breakpad-tiny-exe-with-cet-xsave.dmp", "rust-minidump-invalid-range.dmp"]
    files = [f for f in dumps() if os.path.basename(f) in picks]
    with tempfile.TemporaryDirectory() as d:
        for f in files:
            check_memory_and_dumps(f, d)


# --- ELF cores ----------------------------------------------------------------

def cores(d):
    """a kernel core and a gcore core of the layout fixture (no vmatlas
    snapshot inside: see test_win_parity_vmatlas_core)"""
    out = []
    with open("/proc/sys/kernel/core_pattern") as f:
        pattern = f.read().strip()
    if not pattern.startswith("|") and "/" not in pattern:
        def unlimited():
            resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        p = subprocess.Popen([os.path.join(os.path.abspath(FIXTURES), "layout")], cwd=d, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, preexec_fn=unlimited)
        p.stdout.readline()
        wait_blocked(p.pid)
        os.kill(p.pid, signal.SIGABRT)  # 6 on Linux, 22 in msvcrt: named as Linux names it
        p.wait(timeout=30)
        p.stdin.close()
        out += [os.path.join(d, c) for c in os.listdir(d) if c.startswith("core")]
    if shutil.which("gcore"):
        with fixture(name="layout") as (p, _):
            g = subprocess.run(["gcore", "-o", os.path.join(d, "g"), str(p.pid)], capture_output=True, timeout=120)
        got = glob.glob(os.path.join(d, "g.*"))
        if g.returncode == 0 and got:
            out.append(got[0])
    if not out:
        raise Skip("neither a kernel core nor gcore here")
    return out


def test_win_parity_elf_cores():
    with tempfile.TemporaryDirectory() as d:
        for f in cores(d):
            for opts in ([], ["--json"], ["--all", "--flat"], ["-c"]):
                same(["map", f] + opts)
            same(["modules", f])
            same(["modules", f, "--json"])
            same(["env", f])
            same(["env", f, "--json"])
            same(["threads", f, "--json"], strip_frames=True)
            w = os.path.join(d, "work")
            os.makedirs(w, exist_ok=True)
            check_memory_and_dumps(f, w)


def test_win_parity_vmatlas_core():
    """a core the Linux build captured carries its map as a compressed
    snapshot note, which the Windows build cannot decompress yet (no zstd
    for mingw: docs/windows.md): one clear line and status 1, or, once it
    can, the same output"""
    with tempfile.TemporaryDirectory() as d:
        core = os.path.join(d, "v.core")
        with fixture(name="layout") as (p, _):
            assert run(["capture", str(p.pid), "-o", core]).returncode == 0
        lx, win = both(["map", core, "--json"])
        assert lx.returncode == 0
        if win.returncode == 0:
            assert norm(lx.stdout) == norm(win.stdout)
        else:
            assert win.returncode == 1 and win.stdout == b"" and win.stderr.count(b"\n") == 1, win.stderr
            assert b"zstd" in win.stderr, win.stderr


# --- usage and errors ------------------------------------------------------------

def test_win_parity_usage_and_errors():
    """usage errors (2), unknown commands and options, help: the same text
    and status"""
    dll = pe_files()[0]
    dmp = dumps()[0]
    for cmd in (["--version"], ["help", "map"], ["map", "--help"], ["image", "--help"], ["nosuch"],
                ["map"], ["map", dmp, "--nosuch"], ["view", dmp], ["view", dmp, "zz!"],
                ["image", dll, "--rva"], ["image", dll, "--member", "x"], ["search", dmp],
                ["search", dmp, "--hex", "GG"], ["search", dmp, "--u8", "300"], ["dump", dmp, "0x1000"],
                ["diff", dmp], ["map", dmp, "--threads", "9"], ["exports"], ["threads", dmp, "--tid", "x"],
                ["map", dmp, "--color", "purple"], ["search", dmp, "--ascii", ""]):
        same(cmd)


def test_win_parity_output_refusals():
    """an output file named by a directory, or by a symbolic link (to a
    directory: Wine shows no link to a file as one), is refused by both
    builds with the same line and status, and nothing is written"""
    dmp = next(f for f in dumps() if "dumped" in addresses(f)[1])
    at = addresses(dmp)[1]["dumped"]
    with tempfile.TemporaryDirectory() as d:
        sub = os.path.join(d, "sub")
        os.mkdir(sub)
        link = os.path.join(d, "link")
        os.symlink(sub, link)
        for out in (sub, link):
            for cmd in (["snapshot", dmp, "-o", out], ["report", dmp, "-o", out], ["dump", dmp, at, "-o", out]):
                lx, _ = both(cmd)
                assert lx.returncode == 1 and lx.stderr.splitlines()[-1].endswith(b": not replaced"), lx.stderr
                same(cmd)
        assert os.listdir(sub) == [] and sorted(os.listdir(d)) == ["link", "sub"], os.listdir(d)


def test_win_parity_past_4_gib():
    """a minidump (sparse) whose memory lies past 4 GiB into the file: the
    Windows build's reads take 64-bit offsets (pread on mingw with
    _FILE_OFFSET_BITS=64), and its size, map and bytes are the Linux
    build's"""
    import struct
    big, lo, hi = 1 << 32, 0x10000000, 0x7ff000000000
    mark = b"VMATLAS-PAST-4GIB" + bytes(range(64, 111))
    hdr_streams = 2
    sysinfo = struct.pack("<HHHBBIIII", 9, 6, 0, 4, 1, 10, 0, 19045, 2) + b"\0" * 32
    sys_at = 32 + 12 * hdr_streams
    m64_at = sys_at + len(sysinfo)
    data_at = m64_at + 16 + 32
    m64 = struct.pack("<QQ", 2, data_at) + struct.pack("<QQ", lo, big) + struct.pack("<QQ", hi, len(mark))
    head = struct.pack("<4sIIIIIQ", b"MDMP", 0xa793, hdr_streams, 32, 0, 0, 0) + \
        struct.pack("<III", 7, len(sysinfo), sys_at) + struct.pack("<III", 9, len(m64), m64_at) + sysinfo + m64
    with tempfile.TemporaryDirectory() as d:
        f = os.path.join(d, "big.dmp")
        with open(f, "wb") as out:
            out.write(head)
            out.seek(data_at + big - 8)
            out.write(b"LASTWORD")  # the last 8 bytes of the 4 GiB range
            out.write(mark)
        # each reads the 4 GiB of zeros (the annotators look at every
        # region): a few commands only
        for cmd in (["map", f, "--json"], ["view", f, hex(hi), str(len(mark))],
                    ["search", f, "--ascii", "VMATLAS-PAST", "--from", hex(hi)]):
            same(cmd)
        v = run_wine([WINE, EXE, "view", f, hex(hi), "17"], capture_output=True, env=ENV, timeout=60,
                     stdin=subprocess.DEVNULL)
        assert b"VMATLAS-PAST-4GIB" in v.stdout.replace(b"\n", b"") or b"VMATLAS-PAST-4GI" in v.stdout, v.stdout
        v = run_wine([WINE, EXE, "view", f, hex(lo + big - 8), "8"], capture_output=True, env=ENV, timeout=60,
                     stdin=subprocess.DEVNULL)
        assert b"LASTWORD" in v.stdout, v.stdout


def wine_dumps(d):
    """minidumps written under Wine: dumpfix.exe's own (MiniDumpWriteDump
    of itself) and the Windows build's capture of the live fixture"""
    from test_minidump import wine_dump_cached
    from winlive import live
    _, dmp = wine_dump_cached()
    _, truth = live()
    cap = os.path.join(d, "live.dmp")
    c = run_wine([WINE, EXE, "capture", str(truth["pid"]), "-o", cap], capture_output=True, env=ENV,
                 timeout=120, stdin=subprocess.DEVNULL)
    assert c.returncode == 0, c.stderr
    return [dmp, cap]


def test_win_parity_wine_minidumps():
    """dumps of Windows processes made under Wine, with PEB, TEBs and
    KUSER_SHARED_DATA in them: the same maps, structures and memory (the
    symbols of Wine's DLLs masked: SYMBOLS)"""
    _mask.append(True)
    try:
        with tempfile.TemporaryDirectory() as d:
            for f in wine_dumps(d):
                for opts in ([], ["--json"], ["-c"]):
                    same(["map", f] + opts)
                same(["modules", f, "--json"])
                same(["env", f])
                same(["env", f, "--json"])
                same(["threads", f, "--json"], strip_frames=True)
                for s in (["--as", "peb", "$peb"], ["--as", "teb", "$teb"], ["--as", "kuser_shared_data", "$kuser"],
                          ["--as", "peb", "$peb", "--json"]):
                    same(["view", f] + s)
                w = os.path.join(d, "work")
                os.makedirs(w, exist_ok=True)
                check_memory_and_dumps(f, w)
    finally:
        _mask.clear()
