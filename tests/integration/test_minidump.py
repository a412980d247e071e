"""Minidumps as targets: one written under Wine by a fixture that prints
its own threads, TEBs, modules and memory (the truth); the public test
dumps in ../shared/corpora/minidump (checked against pefile where they
hold image headers); and small dumps made here for the streams Wine does
not write (MemoryInfoList with every protection and type)."""
import glob
import json
import os
import shutil
import struct
import subprocess
import tempfile

from lib import BUILD, FIXTURES, Skip, no_sanitizer_reports, regions, region_of, run, run_json
from test_errors import one_error_line
from winlive import ENV, WINE, run_wine

HERE = os.path.dirname(os.path.abspath(__file__))

def _corpus():
    """$VMATLAS_CORPORA/minidump, ../shared/corpora/minidump from the
    repository, or /work/shared/corpora/minidump (from a worktree)"""
    for c in (os.path.join(os.environ.get("VMATLAS_CORPORA", "/nonexistent"), "minidump"),
              os.path.join(HERE, "..", "..", "..", "shared", "corpora", "minidump"),
              "/work/shared/corpora/minidump"):
        if glob.glob(os.path.join(c, "*.dmp")):
            return os.path.normpath(c)
    return os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "corpora", "minidump"))


CORPUS = _corpus()
SYSTEM_PYTHON = "/usr/bin/python3"   # the one with python3-pefile


_cache = {}


def wine_dump_cached(mode=""):
    """one run of the fixture per mode for all tests: (truth, dump path)"""
    if mode not in _cache:
        import atexit
        d = tempfile.mkdtemp()
        atexit.register(shutil.rmtree, d, True)
        exe = os.path.join(FIXTURES, "win", "dumpfix.exe")
        if not os.path.exists(exe) or not os.path.exists(WINE):
            raise Skip("no mingw-w64 fixture or no wine64")
        env = dict(ENV, WINEPREFIX=os.path.abspath(os.path.join(BUILD, "wineprefix")))
        out = os.path.join(d, "w.dmp")
        p = run_wine([WINE, os.path.abspath(exe), out] + ([mode] if mode else []), capture_output=True,
                     text=True, env=env, timeout=600, stdin=subprocess.DEVNULL)
        assert p.returncode == 0, p.stderr[-2000:]
        _cache[mode] = (json.loads(p.stdout.strip().splitlines()[-1]), out)
    return _cache[mode]


def wine_dump(d):
    """(truth, dump path) of the fixture's plain run, for other suites; d is
    unused (the one cached dump serves everyone)"""
    return wine_dump_cached()


def test_wine_dump_symbols():
    """#16 item 1: exports from the images in dump memory (checked against
    GetProcAddress in the process), the COFF symbol table of the
    executable's file on disk (mingw keeps it), and a PE registered by
    hand: its exports where pefile puts them"""
    truth, dmp = wine_dump_cached()
    for name, addr in truth["procs"]:
        sy = run_json(["sym", dmp, hex(addr)])[0]
        # at the very address of an export of that name (ntdll exports
        # Nt and Zw names of one stub)
        assert sy["offset"] == 0 and sy["symbol"].lstrip("NtZw") == name.lstrip("NtZw"), (name, hex(addr), sy)
        ex = run_json(["exports", dmp, "--find", name])
        got = [e for e in ex if e["name"] == name]
        assert addr in [int(e["addr"], 16) for e in got], (name, hex(addr), got)
    for fn in ("recurse", "worker", "bottom"):
        sy = run_json(["sym", dmp, hex(truth[fn] + 3)])[0]
        assert (sy["module"], sy["symbol"], sy["offset"]) == ("dumpfix.exe", fn, 3), (fn, sy)
    mods = run_json(["modules", dmp, "--symbols"])["modules"]
    srcs = {m["name"].lower(): m.get("symbols") for m in mods}
    assert "file:coff" in str(srcs["dumpfix.exe"]) and "memory:exports" in str(srcs["ntdll.dll"]), srcs
    # a PE registered by hand at an address of our choosing
    dll = os.path.join(FIXTURES, "win", "pedll.dll")
    code = ("import pefile,sys,json; p=pefile.PE(sys.argv[1]); print(json.dumps([(e.name.decode() if e.name "
            "else None, e.address, bool(e.forwarder)) for e in p.DIRECTORY_ENTRY_EXPORT.symbols]))")
    p = subprocess.run([SYSTEM_PYTHON, "-c", code, dll], capture_output=True, text=True)
    if p.returncode != 0:
        raise Skip("no pefile")
    base = 0x50000000
    ex = run_json(["exports", dmp, "--add-module", f"{dll}={base:#x}"])
    got = {(e["name"], int(e["addr"], 16)) for e in ex if e["module"] == "pedll.dll" and not e["forwarder"]}
    assert {e["name"] for e in ex if e["module"] == "pedll.dll" and e["forwarder"]} == \
        {n for n, a, fwd in json.loads(p.stdout) if fwd}
    want = [(n, base + a) for n, a, fwd in json.loads(p.stdout) if n and not fwd]
    assert want and all(w in got for w in want), (want, sorted(got)[:20])


def test_wine_dump_x64_unwind():
    """#16 item 2: each worker's stack, unwound from .pdata, holds exactly
    its recursion depth of recurse() frames between bottom() and worker(),
    then kernel32 and ntdll's thread start; every frame from pdata"""
    truth, dmp = wine_dump_cached()
    th = {t["tid"]: t for t in run_json(["threads", dmp, "--frames", "1000"])["threads"]}
    for w in truth["threads"]:
        fr = th[w["tid"]]["frames"]
        fns = [f["function"] for f in fr]
        assert "bottom" in fns and "worker" in fns, fns
        i, j = fns.index("bottom"), fns.index("worker")
        assert fns[i + 1:j] == ["recurse"] * w["depth"], (w, fns)
        assert all(f["method"] == "pdata" for f in fr[1:]), [f["method"] for f in fr]
        # return addresses: inside the function, and the stack pointer
        # climbs inside the thread's stack
        for f in fr[i + 1:j]:
            assert truth["recurse"] < int(f["pc"], 16) < truth["worker"], f
        sps = [int(f["sp"], 16) for f in fr]
        assert sps == sorted(sps) and len(set(sps)) == len(sps), sps
        assert all(w["stack_limit"] <= sp <= w["stack_base"] for sp in sps), (w, sps)
        assert fns[-1] == "RtlUserThreadStart" and "BaseThreadInitThunk" in fns, fns
    # the crash: from the faulting instruction in bottom() down to main
    truth, dmp = wine_dump_cached("crash")
    th = {t["tid"]: t for t in run_json(["threads", dmp, "--frames", "1000"])["threads"]}
    fr = th[truth["main_tid"]]["frames"]
    fns = [f["function"] for f in fr]
    assert int(fr[0]["pc"], 16) == truth["crash"]["rip"] and fns[0] == "bottom", fr[0]
    assert fns[1:1 + truth["crash"]["depth"]] == ["recurse"] * truth["crash"]["depth"], fns
    assert fns[1 + truth["crash"]["depth"]] == "main", fns


def test_exception_context():
    """#16 item 3: the crashing thread is shown with the exception's
    context (.ecxr): on breakpad's stack_exhaustion.dmp the walk from it
    goes through the whole exhausted stack; on null_read_av.dmp it
    starts at the faulting instruction. An exception naming a thread the
    list lacks is a warning."""
    for name, least in (("breakpad-stack_exhaustion.dmp", 247), ("breakpad-null_read_av.dmp", 6)):
        path = os.path.join(CORPUS, name)
        if not os.path.exists(path):
            raise Skip(f"no {path}")
        exc = run_json(["map", path])["target"]["exception"]
        th = [t for t in run_json(["threads", path, "--frames", "1000"])["threads"] if t["tid"] == exc["tid"]][0]
        assert th.get("exception_context") is True, th
        assert int(th["frames"][0]["pc"], 16) == int(exc["addr"], 16) == int(th["pc"], 16), (th["frames"][0], exc)
        assert len(th["frames"]) >= least, (name, len(th["frames"]))
        assert "exception record's context" in run(["threads", path]).stdout
    with open(os.path.join(CORPUS, "breakpad-null_read_av.dmp"), "rb") as f:
        data = bytearray(f.read())
    # the exception stream's thread id: no such thread
    nstreams, dir_at = struct.unpack_from("<II", data, 8)
    for i in range(nstreams):
        t, size, rva = struct.unpack_from("<III", data, dir_at + 12 * i)
        if t == 6:
            struct.pack_into("<I", data, rva, 0xfffffff0)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "x.dmp")
        with open(path, "wb") as f:
            f.write(data)
        doc = run_json(["map", path])
        assert any("not in the thread list" in w for w in doc["warnings"]), doc["warnings"]


def test_thread_without_context():
    """#16 item 6: Wine writes no context for the thread that writes the
    dump: it keeps its TEB, its stack from the TEB, and the map labels
    that stack"""
    truth, dmp = wine_dump_cached()
    th = {t["tid"]: t for t in run_json(["threads", dmp])["threads"]}[truth["main_tid"]]
    assert th["pc"] is None and int(th["tls"], 16) == truth["main_teb"], th
    st = th["stack"]
    assert st and int(st["base"], 16) < int(st["top"], 16) and st["used"] is None, st
    doc = run_json(["map", dmp])
    stacks = [c for r in regions(doc) for c in r["contents"] if c["kind"] == "stack" and c.get("tid") == truth["main_tid"]]
    assert stacks and int(stacks[0]["addr"], 16) == int(st["base"], 16), stacks
    assert region_of(doc, int(st["base"], 16))["usage"] == "stack"
    assert "thread pointer (TCB)" not in run(["map", dmp]).stdout
    assert "glibc" not in run(["threads", dmp]).stdout


def test_unknown_protection():
    """#16 item 5: without a MemoryInfoList protection is unknown: said so
    in text and JSON, and the default search covers that memory (the
    fixture's pattern block is found); a search over 0 bytes warns"""
    truth, dmp = wine_dump_cached()
    doc = run_json(["map", dmp])
    blk = region_of(doc, truth["block"])
    assert blk["prot"] == "unknown", blk
    assert all(r["prot"] == "unknown" for r in regions(doc) if r["state"] != "free")
    line = [x for x in run(["map", dmp, "--flat"]).stdout.splitlines() if x.startswith("%016x" % int(blk["base"], 16))]
    assert line and "????" in line[0], line
    pat = bytes((i * 7 + 3) & 0xff for i in range(16)).hex()
    p = run(["search", dmp, "--hex", pat, "--json"])
    assert p.returncode == 0 and truth["block"] in [int(h["addr"], 16) for h in json.loads(p.stdout)["hits"]], p
    assert "0 bytes searched" not in p.stderr
    # a range the dump holds nothing of
    p = run(["search", dmp, "--ascii", "x", "--from", "0x7ff000000000", "--to", "0x7ff000100000"])
    assert p.returncode == 0 and "warning: search: 0 bytes searched" in p.stderr, p


def dump_streams(data):
    """{type: (size, rva)} of a minidump's stream directory"""
    n, at = struct.unpack_from("<II", data, 8)
    return {t: (size, rva) for t, size, rva in (struct.unpack_from("<III", data, at + 12 * i) for i in range(n))}


def file_offset(data, addr):
    """where a minidump's Memory64List keeps the byte at addr"""
    size, rva = dump_streams(data)[9]
    n, off = struct.unpack_from("<QQ", data, rva)
    for i in range(n):
        a, sz = struct.unpack_from("<QQ", data, rva + 16 + 16 * i)
        if a <= addr < a + sz:
            return off + addr - a
        off += sz
    return None


def test_modules_without_module_list():
    """#16 item 7: a dump without a ModuleList: the modules are found by
    their PE headers in memory and in the PEB's loader list, at the
    bases, sizes and names the process itself listed; a module only one
    source has is flagged; a loader list that loops is a warning"""
    truth, dmp = wine_dump_cached()
    with open(dmp, "rb") as f:
        data = bytearray(f.read())
    n, at = struct.unpack_from("<II", data, 8)
    for i in range(n):
        if struct.unpack_from("<I", data, at + 12 * i)[0] == 4:
            struct.pack_into("<I", data, at + 12 * i, 0xfff0)   # an unknown stream now
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "nomods.dmp")
        with open(path, "wb") as f:
            f.write(data)
        mods = {int(x["base"], 16): x for x in run_json(["modules", path])["modules"]}
        for tm in truth["modules"]:
            x = mods.get(tm["base"])
            assert x and x["size"] == tm["size"] and {"regions", "peb_ldr"} <= set(x["sources"]), (tm, x)
            assert "loader" not in x["sources"] and x["name"].lower() == tm["path"].split("\\")[-1].lower(), x
        # symbols and call stacks work from these as from the list
        sy = run_json(["sym", path, hex(truth["recurse"] + 3)])[0]
        assert (sy["module"], sy["symbol"]) == ("dumpfix.exe", "recurse"), sy
        # the loader list made to loop: the third entry points back to the second
        env = run_json(["env", path])
        ldr = env["loader_list"]
        assert len(ldr) >= 3
        off = file_offset(data, int(ldr[2]["entry"], 16))
        struct.pack_into("<Q", data, off, int(ldr[1]["entry"], 16))
        with open(path, "wb") as f:
            f.write(data)
        p = run(["env", path])
        assert p.returncode == 0 and "loops back" in p.stderr, p.stderr
        env = run_json(["env", path])
        assert len(env["loader_list"]) == 3 and "loops" in env["loader_list_note"], env["loader_list_note"]
        assert any("loops back" in w for w in run_json(["map", path])["warnings"])


def test_wine_dump_against_its_truth():
    with tempfile.TemporaryDirectory() as d:
        truth, dmp = wine_dump_cached()
        m = run(["map", dmp, "--json"])
        no_sanitizer_reports(m.stderr)
        assert m.returncode == 0, m.stderr
        doc = json.loads(m.stdout)
        t = doc["target"]
        assert t["kind"] == "minidump" and t["os"] == "windows" and t["bits"] == 64 and t["pid"] == truth["pid"]
        assert "partial" in m.stderr      # Wine writes no MemoryInfoList: said so
        # modules: those the process listed, at the same bases and sizes
        mods = {int(x["base"], 16): x for x in doc["modules"]}
        for tm in truth["modules"]:
            x = mods.get(tm["base"])
            assert x, f"module {tm} missing"
            assert set(x["sources"]) == {"loader", "regions", "peb_ldr"}, x   # listed, its header in memory, in PEB.Ldr
            assert x["size"] == tm["size"] and x["path"].lower() == tm["path"].lower(), (x, tm)
        # the executable's sections come from its PE header in dump memory:
        # where pefile puts them in the file
        exe = [x for x in doc["modules"] if (x["path"] or "").lower().endswith("dumpfix.exe") and "loader" in x["sources"]][0]
        secs = pefile_sections(os.path.join(FIXTURES, "win", "dumpfix.exe"))
        base = int(exe["base"], 16)
        placed = {(c["name"], int(c["addr"], 16)) for r in regions(doc) for c in r["contents"]
                  if c["kind"] == "section"}
        for name, rva in secs:
            assert (name, base + rva) in placed, (name, hex(base + rva), sorted(placed)[:20])
        # each module's header in dump memory, read by pefile: SizeOfImage
        # is the size the module list gives
        for mod in doc["modules"]:
            out = os.path.join(d, "h")
            v = run_json(["dump", dmp, mod["base"], "--size", "4096", "-o", out])
            assert not v["holes"], (mod, v)
            with open(out, "rb") as f:
                assert pefile_size_of_image(f.read()) == mod["size"], mod
        # threads: the fixture's, each with its TEB as thread pointer
        th = run_json(["threads", dmp])
        by_tid = {x["tid"]: x for x in th["threads"]}
        assert set(by_tid) == {truth["main_tid"]} | {w["tid"] for w in truth["threads"]}
        for w in truth["threads"]:
            assert int(by_tid[w["tid"]]["tls"], 16) == w["teb"], (by_tid[w["tid"]], w)
            assert by_tid[w["tid"]]["stack"], by_tid[w["tid"]]
        # the PEB through the TEBs, its process parameters and environment
        env = run_json(["env", dmp])
        assert int(env["peb"]["addr"], 16) == truth["peb"]
        assert env["command_line"] == truth["command_line"]
        assert env["current_directory"].rstrip("\\") == truth["cwd"].rstrip("\\")
        assert env["image_path"].lower() == exe["path"].lower()
        assert int(env["peb"]["ImageBaseAddress"], 16) == base
        assert int(env["peb"]["ProcessHeap"], 16) == truth["process_heap"]
        assert "VMATLAS_FIXTURE=dump-42" in [x["value"] for x in env["environment"]]
        ldr = {int(x["base"], 16): x for x in env["loader_list"]}
        for tm in truth["modules"]:
            assert tm["base"] in ldr and ldr[tm["base"]]["size"] == tm["size"], tm
        # ... and on the map: TEBs, the PEB, the process heap, KUSER_SHARED_DATA
        named = {(c["name"], int(c["addr"], 16)) for r in regions(doc) for c in r["contents"]}
        assert ("PEB", truth["peb"]) in named
        for w in truth["threads"] + [{"teb": truth["main_teb"]}]:
            assert ("TEB", w["teb"]) in named, w
        assert ("process heap", truth["process_heap"]) in named
        assert ("KUSER_SHARED_DATA", 0x7ffe0000) in named
        assert region_of(doc, truth["process_heap"])["usage"] == "heap"
        for w in truth["threads"]:
            st = by_tid[w["tid"]]["stack"]
            assert int(st["base"], 16) == w["stack_limit"] and int(st["top"], 16) == w["stack_base"], (st, w)
        teb = run_json(["view", dmp, hex(truth["main_teb"]), "--as", "teb"])
        f = {x["name"]: x for x in teb["fields"]}
        assert int(f["ProcessEnvironmentBlock"]["value"], 16) == truth["peb"]
        assert int(f["ClientId.UniqueThread"]["value"], 16) == truth["main_tid"]
        pp = run_json(["view", dmp, env["peb"]["ProcessParameters"], "--as", "process_parameters"])
        f = {x["name"]: x for x in pp["fields"]}
        assert f["CommandLine.Buffer"]["string"] == truth["command_line"]
        ks = run_json(["view", dmp, "0x7ffe0000", "--as", "kuser_shared_data"])
        f = {x["name"]: x for x in ks["fields"]}
        assert f["NtSystemRoot"]["value"].lower().startswith("c:\\windows")
        # memory: the pattern the fixture wrote
        v = run_json(["dump", dmp, hex(truth["block"]), "--size", "256", "-o", os.path.join(d, "blk")])
        assert not v["holes"], v
        with open(os.path.join(d, "blk"), "rb") as f:
            assert f.read() == bytes((i * 7 + 3) & 0xff for i in range(256)), v
        blk = region_of(doc, truth["block"])
        assert blk and blk["state"] == "commit"


def pefile_sections(path):
    code = ("import pefile,sys,json; p=pefile.PE(sys.argv[1], fast_load=True); "
            "print(json.dumps([(s.Name.rstrip(b'\\0').decode(), s.VirtualAddress) for s in p.sections]))")
    p = subprocess.run([SYSTEM_PYTHON, "-c", code, path], capture_output=True, text=True)
    if p.returncode != 0:
        raise Skip("no pefile")
    return [tuple(x) for x in json.loads(p.stdout)]


def pefile_size_of_image(data):
    code = ("import pefile,sys; p=pefile.PE(data=open(sys.argv[1],'rb').read(), fast_load=True); "
            "print(p.OPTIONAL_HEADER.SizeOfImage)")
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        p = subprocess.run([SYSTEM_PYTHON, "-c", code, f.name], capture_output=True, text=True)
    return int(p.stdout) if p.returncode == 0 else None


def test_corpus():
    files = sorted(glob.glob(os.path.join(CORPUS, "*.dmp")))
    if not files:
        raise Skip(f"no corpus at {CORPUS}")
    for path in files:
        p = run(["map", path, "--json"])
        no_sanitizer_reports(p.stderr)
        if "invalid" in os.path.basename(path):
            assert p.returncode in (0, 1), (path, p.stderr)
            continue
        assert p.returncode == 0, (path, p.stderr)
        doc = json.loads(p.stdout)
        assert doc["target"]["kind"] == "minidump"
        for sub in (["threads"], ["modules"], ["env"]):
            q = run(sub + [path])
            no_sanitizer_reports(q.stderr)
            assert q.returncode in (0, 1), (sub, path, q.stderr)
    xsave = os.path.join(CORPUS, "breakpad-tiny-exe-with-cet-xsave.dmp")
    if os.path.exists(xsave):
        doc = run_json(["map", xsave])
        assert doc["target"]["bits"] == 64
        assert any(r["state"] == "reserve" for r in regions(doc))   # from its MemoryInfoList
        # its README: HandleData and UnloadedModuleList are in it; and the
        # PEB's command line names the executable the module list names
        env = run_json(["env", xsave])
        assert env["handles"] > 0 and env["unloaded_modules"], env
        assert doc["target"]["exe"].split("\\")[-1] in env["command_line"]


# ---- dumps made here ----

def make_dump(meminfo, memory, arch=9):
    """a minidump with SystemInfo, MemoryInfoList (base, alloc_base,
    alloc_prot, size, state, protect, type) and a Memory64List"""
    streams = []
    sysinfo = struct.pack("<HHHBBIIII", arch, 6, 0, 4, 1, 10, 0, 19045, 2) + b"\0" * 32
    streams.append((7, sysinfo))
    mi = struct.pack("<IIQ", 16, 48, len(meminfo))
    for base, abase, aprot, size, state, prot, typ in meminfo:
        mi += struct.pack("<QQIIQIIII", base, abase, aprot, 0, size, state, prot, typ, 0)
    streams.append((16, mi))
    head = 32 + 12 * 3
    body = b""
    offsets = []
    for t, data in streams:
        offsets.append((t, len(data), head + len(body)))
        body += data
    m64_at = head + len(body)
    data_at = m64_at + 16 + 16 * len(memory)
    m64 = struct.pack("<QQ", len(memory), data_at) + b"".join(struct.pack("<QQ", a, len(b)) for a, b in memory)
    offsets.append((9, len(m64), m64_at))
    hdr = struct.pack("<4sIIIIIQ", b"MDMP", 0xa793, 3, 32, 0, 0, 0)
    direc = b"".join(struct.pack("<III", t, n, r) for t, n, r in offsets)
    return hdr + direc + body + m64 + b"".join(b for _, b in memory)


def test_memory_info_list_model():
    C, R, IMG, MAP, PRV = 0x1000, 0x2000, 0x1000000, 0x40000, 0x20000
    info = [
        (0x10000, 0x10000, 0x04, 0x2000, C, 0x04, PRV),        # rw private
        (0x12000, 0x10000, 0x04, 0x1000, C, 0x104, PRV),       # rw + guard (a stack guard)
        (0x13000, 0x10000, 0x04, 0xd000, R, 0, PRV),           # reserved
        (0x400000, 0x400000, 0x80, 0x1000, C, 0x02, IMG),      # image header
        (0x401000, 0x400000, 0x80, 0x3000, C, 0x20, IMG),      # image code (rx)
        (0x404000, 0x400000, 0x80, 0x1000, C, 0x08, IMG),      # writecopy
        (0x500000, 0x500000, 0x04, 0x1000, C, 0x204, MAP),     # mapped, nocache
        (0x600000, 0x600000, 0x04, 0x1000, C, 0x404, PRV),     # writecombine
    ]
    memory = [(0x10000, bytes(range(256)) * 32)]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.dmp")
        with open(path, "wb") as f:
            f.write(make_dump(info, memory))
        doc = run_json(["map", path])
        got = {int(r["base"], 16): r for r in regions(doc) if r["state"] != "free"}
        want = {0x10000: ("commit", "rw-p", "private"), 0x12000: ("commit", "rw-p", "private"),
                0x13000: ("reserve", "---p", "private"), 0x400000: ("commit", "r--p", "image"),
                0x401000: ("commit", "r-xp", "image"), 0x404000: ("commit", "rw-p", "image"),
                0x500000: ("commit", "rw-p", "mapped"), 0x600000: ("commit", "rw-p", "private")}
        for base, (state, prot, typ) in want.items():
            r = got[base]
            assert (r["state"], r["prot"], r["type"]) == (state, prot, typ), (hex(base), r)
        assert got[0x12000]["protect_flags"] == ["guard"], got[0x12000]
        assert got[0x500000]["protect_flags"] == ["nocache"]
        assert got[0x600000]["protect_flags"] == ["writecombine"]
        assert got[0x404000]["protect_flags"] == ["copy"]
        assert got[0x401000]["alloc_base"] == "0x400000" and got[0x401000]["alloc_protect"] == "rwxc"
        assert got[0x10000].get("dumped") is None and got[0x401000]["dumped"] == 0
        # the text map says them too: modifiers, and AllocationProtect where it differs
        text = {int(l.split()[0], 16): l for l in run(["map", path]).stdout.splitlines()
                if l.startswith("  0")}
        assert "[guard]" in text[0x12000] and "[nocache]" in text[0x500000], text
        assert "[writecombine]" in text[0x600000] and "[writecopy; allocated rwxc]" in text[0x404000], text
        assert "[allocated rwxc]" in text[0x401000] and "[" not in text[0x10000], text
        # what the dump holds reads back; what it does not is an error
        v = run(["dump", path, "0x10000", "--size", "8192", "-o", os.path.join(d, "o")])
        assert v.returncode == 0, v.stderr
        with open(os.path.join(d, "o"), "rb") as f:
            assert f.read() == memory[0][1]
        one_error_line(run(["view", path, "0x401000", "16"]), 1, "holds no bytes")


def test_damaged_dumps():
    good = make_dump([(0x10000, 0x10000, 4, 0x1000, 0x1000, 4, 0x20000)], [(0x10000, b"x" * 4096)])
    with tempfile.TemporaryDirectory() as d:
        for cut in (len(good) - 100, 200, 60, 40, 31, 8):
            path = os.path.join(d, f"c{cut}")
            with open(path, "wb") as f:
                f.write(good[:cut])
            p = run(["map", path])
            no_sanitizer_reports(p.stderr)
            assert p.returncode in (0, 1), (cut, p.stderr)
            if p.returncode:
                assert len(p.stderr.strip().splitlines()) == 1, p.stderr
        # absurd counts: the stream directory says 2^32-1 streams
        bad = bytearray(good)
        struct.pack_into("<I", bad, 8, 0xffffffff)
        path = os.path.join(d, "absurd")
        with open(path, "wb") as f:
            f.write(bad)
        one_error_line(run(["map", path]), 1, "stream directory")


def test_seh_chain_32bit():
    """a 32-bit dump with a TEB and a stack holding three
    EXCEPTION_REGISTRATION_RECORDs, the last ending the chain"""
    teb, stack, mod = 0x7ffdf000, 0x120000, 0x400000
    recs = [0x12f000, 0x12f400, 0x12fe00]
    handlers = [mod + 0x1100, mod + 0x1200, mod + 0x1300]
    stk = bytearray(0x10000)
    for i, at in enumerate(recs):
        nxt = recs[i + 1] if i + 1 < len(recs) else 0xffffffff
        struct.pack_into("<II", stk, at - stack, nxt, handlers[i])
    tebb = bytearray(0x1000)
    struct.pack_into("<III", tebb, 0, recs[0], stack + 0x10000, stack)   # ExceptionList, StackBase, StackLimit
    ctx = bytearray(716)
    struct.pack_into("<I", ctx, 184, mod + 0x1000)   # eip
    struct.pack_into("<I", ctx, 196, recs[0] - 0x40)  # esp
    sysinfo = struct.pack("<HHHBBIIII", 0, 6, 0, 4, 1, 10, 0, 19045, 2) + b"\0" * 32
    memory = [(stack, bytes(stk)), (teb, bytes(tebb))]
    ndir = 4
    head = 32 + 12 * ndir
    ctx_at = head
    threads_at = ctx_at + len(ctx)
    threads = struct.pack("<I", 1) + struct.pack("<IIIIQQII", 7, 0, 0, 0, teb, stack, 0, 0) + \
        struct.pack("<II", len(ctx), ctx_at)
    sys_at = threads_at + len(threads)
    tinfo = struct.pack("<III", 12, 64, 1) + struct.pack("<IIIIQQQQQQ", 7, 0, 0, 0, 0, 0, 0, 0, mod + 0x1500, 1)
    tinfo_at = sys_at + len(sysinfo)
    m64_at = tinfo_at + len(tinfo)
    data_at = m64_at + 16 + 16 * len(memory)
    m64 = struct.pack("<QQ", len(memory), data_at) + b"".join(struct.pack("<QQ", a, len(b)) for a, b in memory)
    hdr = struct.pack("<4sIIIIIQ", b"MDMP", 0xa793, ndir, 32, 0, 0, 0)
    direc = struct.pack("<III", 3, len(threads), threads_at) + struct.pack("<III", 7, len(sysinfo), sys_at) + \
        struct.pack("<III", 17, len(tinfo), tinfo_at) + struct.pack("<III", 9, len(m64), m64_at)
    data = hdr + direc + bytes(ctx) + threads + sysinfo + tinfo + m64 + b"".join(b for _, b in memory)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "seh.dmp")
        with open(path, "wb") as f:
            f.write(data)
        th = run_json(["threads", path])["threads"][0]
        assert int(th["tls"], 16) == teb
        assert int(th["start"], 16) == mod + 0x1500 and th["start_source"] == "dump"   # ThreadInfoList
        chain = th["seh"]
        # whatis on a record names it
        wi = run_json(["whatis", path, hex(recs[1] + 4)])[0]["thread"]
        assert wi["seh_record"]["index"] == 1 and int(wi["seh_record"]["handler"], 16) == handlers[1], wi
        assert chain["complete"]
        assert [int(r["addr"], 16) for r in chain["records"]] == recs
        assert [int(r["handler"], 16) for r in chain["records"]] == handlers
        # the stack from NT_TIB
        assert int(th["stack"]["base"], 16) == stack and int(th["stack"]["top"], 16) == stack + 0x10000
        # a loop (a record pointing back down the stack) stops the walk
        bad = bytearray(data)
        off = len(data) - len(tebb) - len(stk) + (recs[1] - stack)
        struct.pack_into("<I", bad, off, recs[0])
        with open(path, "wb") as f:
            f.write(bad)
        chain = run_json(["threads", path])["threads"][0]["seh"]
        assert not chain["complete"] and len(chain["records"]) == 2


# A process forked from this one starts with our RSS as its peak: the
# kernel keeps the high-water mark across exec, and this test process may
# hold hundreds of MB by now (CI saw 564 MB "used" by a 20 MB search). So
# vmatlas is forked by a fresh, small process that reports its peak.
MEASURE = """
import os, signal, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, st, ru = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(ru.ru_maxrss * 1024))
if os.WIFSIGNALED(st):
    signal.signal(os.WTERMSIG(st), signal.SIG_DFL)
    os.kill(os.getpid(), os.WTERMSIG(st))
sys.exit(os.waitstatus_to_exitcode(st))
"""


def run_measured(args, timeout=60):
    """vmatlas args: (returncode, stdout, stderr, peak RSS in bytes)"""
    import signal
    import sys
    import threading
    from lib import VMATLAS
    with tempfile.NamedTemporaryFile("r") as rss:
        p = subprocess.Popen([sys.executable, "-c", MEASURE, rss.name, VMATLAS] + args, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
        timer = threading.Timer(timeout, lambda: os.killpg(p.pid, signal.SIGKILL))
        timer.start()
        out, err = p.communicate()
        timer.cancel()
        peak = int(rss.read() or 0)
    return p.returncode, out, err, peak


def test_hostile_ranges_are_bounded():
    """A region claiming most of the 64-bit space: search, snapshot --data
    and diff finish in bounded time and memory, reading only what the file
    holds; the map clips it to the address space."""
    C, PRV = 0x1000, 0x20000
    info = [
        (0x10000, 0x10000, 0x04, 0x1000, C, 0x04, PRV),
        (0x20000002000, 0x20000002000, 0x04, 0x7ffffde000000000, C, 0x04, PRV),
    ]
    memory = [(0x10000, b"needle".ljust(4096, b"\0")), (0x20000002000, b"needle".ljust(8192, b"\0"))]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "h.dmp")
        with open(path, "wb") as f:
            f.write(make_dump(info, memory))
        snap = os.path.join(d, "h.snap")
        for args in (["search", path, "--ascii", "needle", "--json"], ["snapshot", path, "--data", "-o", snap],
                     ["diff", snap, path, "--json"], ["dump", path, "0x20000002000", "-o", os.path.join(d, "x")]):
            rc, out, err, rss = run_measured(args)
            no_sanitizer_reports(err)
            assert rc in (0, 1) and rss < (512 << 20), (args, rc, err, rss)
            if args[0] == "search":
                hits = sorted(int(h["addr"], 16) for h in json.loads(out)["hits"])
                assert hits == [0x10000, 0x20000002000], hits
            if args[0] != "dump":
                assert rc == 0, (args, err)
            else:   # the region claims far more than the file holds
                assert rc == 1 and "holds no bytes" in err and "--fill" in err, err
        doc = run_json(["map", path])
        top = max(int(r["base"], 16) + r["size"] for r in regions(doc) if r["state"] != "free")
        assert top <= 1 << 56, hex(top)
        assert any("address space" in w for w in doc.get("warnings") or []), doc.get("warnings")


# ---- x64 unwinding on a dump made here ----

def build_dump(streams, memory):
    """a minidump of streams [(type, bytes)] where bytes may be a function
    of the stream's own file offset, and a Memory64List of memory
    [(addr, bytes)]"""
    n = len(streams) + 1
    at = 32 + 12 * n
    direc, body = [], b""
    for t, data in streams:
        if callable(data):
            data = data(at + len(body))
        direc.append((t, len(data), at + len(body)))
        body += data
    m64_at = at + len(body)
    data_at = m64_at + 16 + 16 * len(memory)
    m64 = struct.pack("<QQ", len(memory), data_at) + b"".join(struct.pack("<QQ", a, len(b)) for a, b in memory)
    direc.append((9, len(m64), m64_at))
    hdr = struct.pack("<4sIIIIIQ", b"MDMP", 0xa793, n, 32, 0, 0, 0)
    return hdr + b"".join(struct.pack("<III", *d) for d in direc) + body + m64 + b"".join(b for _, b in memory)


def sysinfo_stream(arch=9):
    return (7, struct.pack("<HHHBBIIII", arch, 6, 0, 4, 1, 10, 0, 19045, 2) + b"\0" * 32)


def module_stream(mods):
    """mods: [(base, size, name)]"""
    def make(at):
        names_at = at + 4 + 108 * len(mods)
        out, names = struct.pack("<I", len(mods)), b""
        for base, size, name in mods:
            u = name.encode("utf-16-le")
            out += struct.pack("<QIIII", base, size, 0, 0x5f000000, names_at + len(names)) + b"\0" * 84
            names += struct.pack("<I", len(u)) + u + b"\0\0"
        return out + names
    return (4, make)


def thread_stream(threads):
    """threads: [(tid, teb, {reg: value})], x64 contexts"""
    offs = {"rax": 120, "rcx": 128, "rdx": 136, "rbx": 144, "rsp": 152, "rbp": 160, "rsi": 168, "rdi": 176,
            "r12": 216, "rip": 248}
    def make(at):
        ctx_at = at + 4 + 48 * len(threads)
        out, ctxs = struct.pack("<I", len(threads)), b""
        for tid, teb, regs in threads:
            c = bytearray(1232)
            for k, v in regs.items():
                struct.pack_into("<Q", c, offs[k], v)
            out += struct.pack("<IIIIQQIIII", tid, 0, 0, 0, teb, 0, 0, 0, len(c), ctx_at + len(ctxs))
            ctxs += bytes(c)
        return out + ctxs
    return (3, make)


def pe_image_bytes(size, pdata_rva, pdata, blobs):
    """a PE32+ image as mapped: one section over everything past the
    headers, the exception directory at pdata_rva, blobs {rva: bytes}"""
    img = bytearray(size)
    img[0:2] = b"MZ"
    struct.pack_into("<I", img, 0x3c, 0x80)
    img[0x80:0x84] = b"PE\0\0"
    struct.pack_into("<HHIIIHH", img, 0x84, 0x8664, 1, 0x5f000000, 0, 0, 240, 0x22)
    opt = 0x98
    struct.pack_into("<HBBIIIII", img, opt, 0x20b, 14, 0, 0xf000, 0, 0, 0x1000, 0x1000)
    struct.pack_into("<QII", img, opt + 24, 0x400000, 0x1000, 0x200)
    struct.pack_into("<II", img, opt + 56, size, 0x400)
    struct.pack_into("<H", img, opt + 68, 3)
    struct.pack_into("<I", img, opt + 108, 16)
    struct.pack_into("<II", img, opt + 112 + 3 * 8, pdata_rva, len(pdata))
    sec = opt + 240
    struct.pack_into("<8sIIIIIIHHI", img, sec, b".text", size - 0x1000, 0x1000, size - 0x1000, 0x1000, 0, 0, 0, 0,
                     0x60000020)
    img[pdata_rva:pdata_rva + len(pdata)] = pdata
    for rva, b in blobs.items():
        img[rva:rva + len(b)] = b
    return bytes(img)


def unwind_info(prolog, codes, freg=0, foff=0, flags=0, chain=None):
    """codes: [(offset, op, info, [extra 16-bit slots])] in the order
    they are stored (the last prolog instruction first)"""
    slots = b""
    for off, op, info, extra in codes:
        slots += struct.pack("<BB", off, op | info << 4) + b"".join(struct.pack("<H", x) for x in extra)
    count = len(slots) // 2
    if count % 2:
        slots += b"\0\0"
    out = struct.pack("<BBBB", 1 | flags << 3, prolog, count, freg | foff << 4) + slots
    if chain:
        out += struct.pack("<III", *chain)
    return out


def test_x64_unwind_codes():
    """every kind of unwind code, a chained info, a machine frame, an
    epilog at an exact pc, a leaf; then frame pointers and a stack scan
    where no image describes the code"""
    B = 0x400000
    data, top, rsp_f5 = unwind_dump(B)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "unw.dmp")
        with open(path, "wb") as f:
            f.write(data)
        th = {t["tid"]: t for t in run_json(["threads", path])["threads"]}
        fr = th[1]["frames"]
        got = [(int(f["pc"], 16) - B, f["method"], f.get("signal", False)) for f in fr]
        assert got == [(0x1050, "registers", False), (0x1130, "pdata", False), (0x1290, "pdata", False),
                       (0x1340, "pdata", False), (0x1480, "pdata", True), (0x1600, "pdata", False)], (got, th[1])
        assert int(fr[4]["sp"], 16) == rsp_f5, fr
        assert int(fr[5]["sp"], 16) == top - 8, fr
        got = [(int(f["pc"], 16), f["method"]) for f in th[2]["frames"]]
        assert got == [(0x900010, "registers"), (B + 0x1705, "fp")], th[2]
        got = [(int(f["pc"], 16), f["method"]) for f in th[3]["frames"]]
        assert got == [(0x900010, "registers"), (B + 0x1705, "scan")], th[3]
        # the same dump without the image in it: its unwind information
        # from the file on disk, found by name in --image-path
        img = data[-0x20000:-0x10000]
        assert img[:2] == b"MZ"
        nodump, _, _ = unwind_dump(B, with_image=False)
        with open(path, "wb") as f:
            f.write(nodump)
        with open(os.path.join(d, "UNW.dll"), "wb") as f:
            f.write(img)
        fr = run_json(["threads", path])["threads"][0]["frames"]
        assert "pdata" not in [f["method"] for f in fr], fr
        fr = run_json(["threads", path, "--image-path", "/nonexistent:" + d])["threads"][0]["frames"]
        got = [(int(f["pc"], 16) - B, f["method"]) for f in fr]
        assert got == [(0x1050, "registers"), (0x1130, "pdata"), (0x1290, "pdata"), (0x1340, "pdata"),
                       (0x1480, "pdata"), (0x1600, "pdata")], got


def unwind_dump(B, with_image=True):
    """the dump of test_x64_unwind_codes (also a fuzzing seed): (bytes,
    the top of the stack, F5's stack pointer)"""
    PUSH, LARGE, SMALL, SETFP, SAVE, XMM128, MACH = 0, 1, 2, 3, 4, 8, 10
    infos = {
        "F1": unwind_info(0x10, [(8, SMALL, 3, []), (4, PUSH, 3, []), (1, PUSH, 5, [])]),
        "F2": unwind_info(0x14, [(0x14, SETFP, 0, []), (0x0f, SAVE, 12, [2]), (0x0a, LARGE, 1, [0x120, 0]),
                                 (1, PUSH, 5, [])], freg=5, foff=2),
        "F3p": unwind_info(0x10, [(0x10, SETFP, 0, []), (0x0a, XMM128, 6, [0]), (4, SMALL, 1, [])], freg=12, foff=1),
        "F4": unwind_info(8, [(8, SMALL, 1, []), (0, MACH, 0, [])]),
        "F5": unwind_info(5, [(5, SMALL, 4, []), (1, PUSH, 3, [])]),
    }
    info_rva, at = {}, 0x2000
    for k, v in infos.items():
        info_rva[k] = at
        at += (len(v) + 3) & ~3
    info_rva["F3s"] = at
    blobs = {info_rva[k]: v for k, v in infos.items()}
    blobs[at] = unwind_info(0, [], flags=4, chain=(0x1200, 0x1280, info_rva["F3p"]))
    blobs[0x1480] = bytes([0x48, 0x83, 0xc4, 0x28, 0x5b, 0xc3])   # add rsp,0x28; pop rbx; ret
    blobs[0x1700] = bytes([0xe8, 0, 0, 0, 0])                       # call: 0x1705 returns from it
    fns = [(0x1000, 0x1100, "F1"), (0x1100, 0x1200, "F2"), (0x1200, 0x1280, "F3p"), (0x1280, 0x1300, "F3s"),
           (0x1300, 0x1400, "F4"), (0x1400, 0x1500, "F5")]
    pdata = b"".join(struct.pack("<III", b, e, info_rva[k]) for b, e, k in fns)
    img = pe_image_bytes(0x10000, 0x3000, pdata, blobs)
    # the stack, built from the outermost frame in
    stack_lo, top = 0x200000, 0x20f000
    mem = {}
    sp = top

    def push(v):
        nonlocal sp
        sp -= 8
        mem[sp] = v
    push(0)                 # where the code at 0x401600 (no entry: a leaf) returns: the end
    push(B + 0x1600)        # F5's return address
    push(0x1111)            # F5: push rbx
    sp -= 0x28              # F5: sub rsp, 0x28
    rsp_f5 = sp             # interrupted in F5's epilog
    for v in (0x2b, rsp_f5, 0x246, 0x33, B + 0x1480):   # the machine frame
        push(v)
    sp -= 16                # F4: sub rsp, 16
    push(B + 0x1340)        # F4 called F3
    sp -= 16                # F3: sub rsp, 16 ...
    r12_f3 = sp + 16        # ... lea r12, [rsp + 16]
    push(B + 0x1290)        # F3's second fragment called F2
    push(0x5555)            # F2: push rbp
    sp -= 0x120
    frame_f2 = sp
    mem[frame_f2 + 16] = r12_f3   # F2: mov [rsp + 16], r12
    rbp_f2 = frame_f2 + 32        # F2: lea rbp, [rsp + 32]
    push(B + 0x1130)        # F2 called F1
    push(rbp_f2)            # F1: push rbp
    push(0x7777)            # F1: push rbx
    sp -= 0x20
    rsp0 = sp
    # thread 2: code outside any image, a frame-pointer chain
    fp2 = top - 0x100
    mem[fp2], mem[fp2 + 8], mem[fp2 + 16] = 0, B + 0x1705, 0
    # thread 3: no frame pointer: a scan finds the return address
    mem[top - 0x200], mem[top - 0x1f8], mem[top - 0x1f0], mem[top - 0x1e8] = 0x1234, B + 0x1100, B + 0x1705, 0
    stk = bytearray(top + 0x1000 - stack_lo)
    for a, v in mem.items():
        struct.pack_into("<Q", stk, a - stack_lo, v)
    threads = [(1, 0, {"rip": B + 0x1050, "rsp": rsp0, "rbp": 0xdead, "r12": 0xbad}),
               (2, 0, {"rip": 0x900010, "rsp": top - 0x180, "rbp": fp2}),
               (3, 0, {"rip": 0x900010, "rsp": top - 0x200, "rbp": 0})]
    data = build_dump([sysinfo_stream(), thread_stream(threads), module_stream([(B, 0x10000, "C:\\t\\UNW.dll")])],
                      ([(B, img)] if with_image else []) + [(stack_lo, bytes(stk))])
    return data, top, rsp_f5


def meminfo_stream(meminfo):
    """(base, alloc_base, alloc_prot, size, state, protect, type) each"""
    mi = struct.pack("<IIQ", 16, 48, len(meminfo))
    for base, abase, aprot, size, state, prot, typ in meminfo:
        mi += struct.pack("<QQIIQIIII", base, abase, aprot, 0, size, state, prot, typ, 0)
    return (16, mi)


def test_allocation_base_exact():
    """#16 item 4: with a MemoryInfoList, AllocationBase alone draws the
    allocations: a stack's reserve, guard and committed top are one
    allocation with its neighbours apart; every corpus dump that has the
    list gives allocations of one base each, no base split in two"""
    C, R, PRV = 0x1000, 0x2000, 0x20000
    info = [
        (0x100000, 0x100000, 0x04, 0x10000, C, 0x04, PRV),     # an allocation below
        (0x110000, 0x110000, 0x04, 0xd000, R, 0, PRV),          # the stack: reserve,
        (0x11d000, 0x110000, 0x04, 0x1000, C, 0x104, PRV),      # guard,
        (0x11e000, 0x110000, 0x04, 0x2000, C, 0x04, PRV),       # committed top
        (0x120000, 0x120000, 0x04, 0x1000, C, 0x04, PRV),       # two allocations above,
        (0x121000, 0x120000, 0x04, 0x1000, C, 0x02, PRV),       # the first in two parts
        (0x122000, 0x122000, 0x04, 0x1000, C, 0x04, PRV),
    ]
    threads = [(5, 0, {"rip": 0x1000, "rsp": 0x11f800})]
    data = build_dump([sysinfo_stream(), thread_stream(threads), meminfo_stream(info)],
                      [(0x11e000, b"\1" * 0x2000)])
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "a.dmp")
        with open(path, "wb") as f:
            f.write(data)
        doc = run_json(["map", path])
        got = [(int(a["base"], 16), a["size"], a["usage"]) for a in doc["allocations"] if a["usage"] != "free"]
        assert got == [(0x100000, 0x10000, "private"), (0x110000, 0x10000, "stack"), (0x120000, 0x2000, "private"),
                       (0x122000, 0x1000, "private")], got
    files = [f for f in sorted(glob.glob(os.path.join(CORPUS, "*.dmp"))) if "invalid" not in f]
    if not files:
        raise Skip(f"no corpus at {CORPUS}")
    for path in files:
        doc = run_json(["map", path])
        prev = None
        for a in doc["allocations"]:
            if a["usage"] == "free":
                prev = None
                continue
            bases = {r.get("alloc_base") for r in a["regions"]}
            assert len(bases) == 1, (path, a["base"], bases)
            ab = a["regions"][0].get("alloc_base")
            assert not ab or ab != prev, (path, a["base"], "split allocation")
            prev = a["regions"][-1].get("alloc_base")


def test_damaged_streams_are_warnings():
    """#16 item 8: a stream too short for its header, a MemoryInfoList
    entry past the end of the address space: warnings on the map, not
    silence; memory only absent from a partial dump is not called a free
    gap"""
    C, PRV = 0x1000, 0x20000
    info = [(0x10000, 0x10000, 0x04, 0x1000, C, 0x04, PRV),
            (0x20000, 0x20000, 0x04, 0xffffffffffff0000, C, 0x04, PRV)]
    data = build_dump([sysinfo_stream(), (3, b"\1\0\0"), meminfo_stream(info)], [(0x10000, b"a" * 0x1000)])
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "d.dmp")
        with open(path, "wb") as f:
            f.write(data)
        doc = run_json(["map", path])
        w = " | ".join(doc["warnings"])
        assert "ThreadList is too short" in w and "past the end of the address space" in w, w
        bases = [int(r["base"], 16) for r in regions(doc) if r["state"] != "free"]
        assert bases == [0x10000, 0x20000], bases
    truth, dmp = wine_dump_cached()
    p = run(["view", dmp, "0x7ff000000000", "16"])
    assert p.returncode == 1 and "does not hold it" in p.stderr and "free gap" not in p.stderr, p.stderr
    p = run(["whatis", dmp, "0x7ff000000000"])
    assert "not in the minidump" in p.stdout and "free gap" not in p.stdout, p.stdout


def test_handle_list():
    """#16 item 8: HandleData as a list, not only a count: each handle
    with its type and name, as a parse of the stream here reads them"""
    path = os.path.join(CORPUS, "breakpad-tiny-exe-with-cet-xsave.dmp")
    if not os.path.exists(path):
        raise Skip(f"no {path}")
    with open(path, "rb") as f:
        data = f.read()

    def mdstr(rva):
        if not rva:
            return None
        n = struct.unpack_from("<I", data, rva)[0]
        return data[rva + 4:rva + 4 + n].decode("utf-16-le")
    size, rva = dump_streams(data)[12]
    hsz, dsz, n = struct.unpack_from("<III", data, rva)
    want = []
    for i in range(n):
        h, tn, on, attr, acc, hc, pc = struct.unpack_from("<QIIIIII", data, rva + hsz + dsz * i)
        want.append((h, mdstr(tn), mdstr(on), acc))
    env = run_json(["env", path])
    got = [(int(x["handle"], 16), x["type"], x["name"], x["granted_access"]) for x in env["handle_list"]]
    assert got == want and env["handles"] == n, (got[:5], want[:5])


def test_frames_on_the_stack():
    """the CallStack columns: each frame's stack pointer and return
    address; whatis on a stack address names the frame it is in"""
    truth, dmp = wine_dump_cached()
    w = truth["threads"][1]
    th = [t for t in run_json(["threads", dmp, "--frames", "1000"])["threads"] if t["tid"] == w["tid"]][0]
    fr = th["frames"]
    for a, b in zip(fr, fr[1:]):
        assert a["return_address"] == b["pc"], (a, b)
    assert fr[-1]["return_address"] is None
    k = [f["function"] for f in fr].index("recurse") + 3
    addr = int(fr[k]["sp"], 16) + 8
    wi = run_json(["whatis", dmp, hex(addr)])[0]["thread"]
    assert wi["tid"] == w["tid"] and wi["frame"]["index"] == k and "!recurse+" in wi["frame"]["symbol"], wi
    text = run(["threads", dmp]).stdout
    assert "Child-SP" in text and "RetAddr" in text
    text = run(["whatis", dmp, hex(addr)]).stdout
    assert f"frame       #{k} dumpfix.exe!recurse+" in text, text


def test_pdb_public_symbols():
    """PDB public symbols (MSF, the DBI stream's symbol records) for a PE
    registered by hand, found by the CodeView name or in --symbol-path
    and only with the image's GUID; checked against llvm-pdbutil's
    publics placed through pefile's sections"""
    tools = [shutil.which(x) for x in ("clang", "lld-link", "llvm-pdbutil")]
    if not all(tools):
        raise Skip("no clang, lld-link or llvm-pdbutil")
    src = os.path.join(HERE, "..", "fixtures", "win", "pdbfix.c")
    with tempfile.TemporaryDirectory() as d:
        def build(out):
            obj = os.path.join(d, "pdbfix.obj")
            subprocess.run(["clang", "--target=x86_64-pc-windows-msvc", "-O1", "-gcodeview", "-c", src, "-o", obj],
                           check=True)
            subprocess.run(["lld-link", "/nologo", "/entry:mainCRTStartup", "/subsystem:console", "/nodefaultlib",
                            "/debug", "/pdb:" + os.path.join(out, "pdbfix.pdb"), "/out:" + os.path.join(out, "pdbfix.exe"),
                            obj], check=True)
        a, b = os.path.join(d, "a"), os.path.join(d, "b")
        os.mkdir(a)
        os.mkdir(b)
        build(a)
        pub = subprocess.run(["llvm-pdbutil", "dump", "-publics", os.path.join(a, "pdbfix.pdb")], capture_output=True,
                             text=True, check=True).stdout
        import re
        recs = re.findall(r"S_PUB32 \[size = \d+\] `([^`]+)`\s*\n\s*flags = [^,]*, addr = (\d+):(\d+)",
                          pub)
        code = ("import pefile,sys,json; p=pefile.PE(sys.argv[1]); print(json.dumps([s.VirtualAddress for s in p.sections]))")
        p = subprocess.run([SYSTEM_PYTHON, "-c", code, os.path.join(a, "pdbfix.exe")], capture_output=True, text=True)
        if p.returncode != 0:
            raise Skip("no pefile")
        secs = json.loads(p.stdout)
        assert len(recs) >= 4, pub
        base = 0x50000000
        want = {n: base + secs[int(s) - 1] + int(o) for n, s, o in recs}   # llvm-pdbutil prints decimals
        truth, dmp = wine_dump_cached()
        exe = os.path.join(a, "pdbfix.exe")
        # the PDB where the CodeView record says it is
        for name, addr in want.items():
            sy = run_json(["sym", dmp, "--add-module", f"{exe}={base:#x}", hex(addr)])[0]
            assert (sy["symbol"], sy["offset"]) == (name, 0), (name, sy)
        # moved: found in --symbol-path; a PDB of another build is not taken
        os.rename(os.path.join(a, "pdbfix.pdb"), os.path.join(b, "pdbfix.pdb"))
        name, addr = sorted(want.items())[0]
        args = ["sym", dmp, "--add-module", f"{exe}={base:#x}", hex(addr)]
        assert run_json(args)[0]["symbol"] is None
        assert run_json(args + ["--symbol-path", "/nonexistent:" + b])[0]["symbol"] == name
        mods = run_json(["modules", dmp, "--add-module", f"{exe}={base:#x}", "--symbols", "--symbol-path", b])
        assert [m["symbols"] for m in mods["modules"] if m["name"] == "pdbfix.exe"] == \
            [f"pdb:{b}/pdbfix.pdb"], mods
        other = os.path.join(d, "c")
        os.mkdir(other)
        with open(src) as f:
            text = f.read()
        src2 = os.path.join(d, "pdbfix2.c")
        with open(src2, "w") as f:
            f.write(text + "\nint pdbfix_other;\n")
        src, keep = src2, src
        build(other)   # a different GUID under the same name
        src = keep
        assert run_json(args + ["--symbol-path", other])[0]["symbol"] is None


def test_peb_fields_the_dump_lacks_are_null():
    """#16 item 8: env --json gives null, not 0x0, for PEB fields the dump
    does not hold (here it holds the PEB's first 0x28 bytes only)"""
    teb, peb = 0x7ffde000, 0x7ffdf000
    tebb = bytearray(0x1000)
    struct.pack_into("<Q", tebb, 0x60, peb)
    pebb = bytearray(0x28)
    pebb[2] = 1                                      # BeingDebugged
    struct.pack_into("<Q", pebb, 0x10, 0x140000000)  # ImageBaseAddress; Ldr, ProcessParameters 0
    data = build_dump([sysinfo_stream(), thread_stream([(9, teb, {"rip": 0x1000, "rsp": 0x2000})])],
                      [(teb, bytes(tebb)), (peb, bytes(pebb))])
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "p.dmp")
        with open(path, "wb") as f:
            f.write(data)
        p = run_json(["env", path])["peb"]
        assert int(p["addr"], 16) == peb and p["BeingDebugged"] == 1, p
        assert int(p["ImageBaseAddress"], 16) == 0x140000000, p
        assert p["ProcessHeap"] is None and p["NumberOfHeaps"] is None and p["ProcessHeaps"] is None, p
