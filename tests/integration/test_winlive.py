"""The live Windows backend (target/windows) in the Windows build, run
under Wine against livefix.exe, which prints its own truth: its
VirtualQuery walk, its EnumProcessModules list, its threads with TEBs and
NT_TIB stack limits, and a marker string's addresses (winlive.py).

Where Wine differs from Windows: Wine writes no working-set data the
backend reads (it has none yet: RSS stays unknown, checked below), and
its mapped-file names come partly as \\??\\C:\\... (turned into C:\\...)."""
import json
import os
import subprocess
import tempfile

import schema
from lib import Skip, run, run_json
from winlive import (ENV, FIXBITS, FIXTURE, ROOT, WINARCH, WINE, WINE32, WINFIX, _ready, first_line, live, popen_wine, run_wine,
                     seen_path, vmatlas, vmatlas_json)

_schema = {}


def checked(name, args):
    """vmatlas.exe ARGS --json, valid against docs/json-schema.json"""
    if not _schema:
        with open(os.path.join(ROOT, "docs", "json-schema.json")) as f:
            _schema.update(json.load(f))
    doc = vmatlas_json(args)
    schema.validate(_schema, name, doc)
    return doc

MEM_COMMIT, MEM_RESERVE = 0x1000, 0x2000
TYPES = {0x1000000: "image", 0x40000: "mapped", 0x20000: "private"}
RWX = {0x01: "---", 0x02: "r--", 0x04: "rw-", 0x08: "rw-", 0x10: "--x", 0x20: "r-x", 0x40: "rwx", 0x80: "rwx"}


def regions_of(m):
    return {int(r["base"], 16): r for a in m["allocations"] for r in a["regions"]}


def test_winlive_map_regions_match_virtualquery():
    _, truth = live()
    m = checked("map", ["map", str(truth["pid"])])
    assert m["target"]["kind"] == "windows-process" and m["target"]["pid"] == truth["pid"]
    assert m["target"]["bits"] == FIXBITS and m["target"]["os"] == "windows"
    got = regions_of(m)
    want = truth["regions"]
    assert len(got) == len(want), f"{len(got)} regions, VirtualQuery says {len(want)}"
    for w in want:
        base = int(w["base"], 16)
        r = got.get(base)
        assert r, f"no region at {w['base']}"
        assert r["size"] == w["size"], (w, r)
        assert r["state"] == {MEM_COMMIT: "commit", MEM_RESERVE: "reserve"}[w["state"]], (w, r)
        assert r["type"] == TYPES[w["type"]], (w, r)
        assert int(r["alloc_base"], 16) == int(w["alloc_base"], 16), (w, r)
        if w["state"] == MEM_COMMIT:
            assert r["prot"][:3] == RWX[w["protect"] & 0xff], (w, r)
            flags = set(r.get("protect_flags", []))
            assert ("guard" in flags) == bool(w["protect"] & 0x100), (w, r)
            assert ("nocache" in flags) == bool(w["protect"] & 0x200), (w, r)
            assert ("writecombine" in flags) == bool(w["protect"] & 0x400), (w, r)
        assert r["alloc_protect"][:3] == RWX[w["alloc_protect"] & 0xff], (w, r)
    # the blocks made with known protections, by name
    pg = truth["page_size"]
    g = int(truth["guard"], 16)
    assert "guard" in got[g + pg]["protect_flags"] and got[g + 2 * pg]["prot"].startswith("r--")
    assert "nocache" in got[int(truth["nocache"], 16)]["protect_flags"]
    wc = [w for w in want if w["base"] == truth["writecombine"]][0]
    if wc["protect"] & 0x400:
        assert "writecombine" in got[int(truth["writecombine"], 16)]["protect_flags"]
    else:  # Wine drops PAGE_WRITECOMBINE (VirtualQuery says plain PAGE_READWRITE)
        assert wc["protect"] == 0x04 and "protect_flags" not in got[int(truth["writecombine"], 16)]
    assert got[int(truth["reserved"], 16)]["state"] == "reserve"
    # Wine answers QueryWorkingSetEx for the calling process only (on
    # Windows any process opened with PROCESS_QUERY_INFORMATION): RSS is
    # unknown here, not 0 (test_winlive_self checks the statistics)
    assert m["total"]["rss"] is None


def test_winlive_map_modules_match_enumprocessmodules():
    _, truth = live()
    m = vmatlas_json(["map", str(truth["pid"])])
    mods = {int(x["base"], 16): x for x in m["modules"]}
    for w in truth["modules"]:
        x = mods.get(int(w["base"], 16))
        assert x, f"{w['path']} at {w['base']} missing"
        assert x["size"] == w["size"] and x["path"].lower() == seen_path(w["path"]).lower(), (w, x)
        # the target's list, the PEB's loader list and the region scan agree
        assert {"loader", "peb_ldr", "regions"} <= set(x["sources"]), x
        # each module's bitness, from its own header: under Wine 8 a 32-bit
        # process has 32-bit modules only (Windows' WoW64 adds 64-bit ones)
        assert x["bits"] == FIXBITS, x
    assert len(m["modules"]) == len(truth["modules"])


def test_winlive_threads_teb_and_stacks():
    _, truth = live()
    m = vmatlas_json(["map", str(truth["pid"])])
    got = {t["tid"]: t for t in m["threads"]}
    assert set(got) == {t["tid"] for t in truth["threads"]}
    for i, w in enumerate(truth["threads"]):
        t = got[w["tid"]]
        assert int(t["tls"], 16) == int(w["teb"], 16), (w, t)
        lo, hi = int(w["stack_limit"], 16), int(w["stack_base"], 16)
        assert int(t["stack"]["base"], 16) == lo and int(t["stack"]["base"], 16) + t["stack"]["size"] == hi, (w, t)
        assert lo <= int(t["sp"], 16) < hi, (w, t)
        assert t["main"] == (i == 0)
        if truth["named"]:
            assert t["name"] == w["name"], (w, t)
    # the threads command: the start routine from NtQueryInformationThread
    th = checked("threads", ["threads", str(truth["pid"])])
    starts = [t.get("start_symbol") or "" for t in th["threads"]]
    assert sum("livefix.exe!worker" in s for s in starts) == 2, starts
    assert all(t["start_source"] == "system" for t in th["threads"] if t.get("start")), th["threads"]
    # the states from the system's process list: Wine 8 says Initialized
    # for every thread (shown as '?'); Windows' Running/Waiting as R/S
    assert all(t["state"] in "RSDTX?" for t in th["threads"]), th["threads"]


def test_winlive_search_and_view_find_the_marker():
    _, truth = live()
    pid = str(truth["pid"])
    s = checked("search", ["search", pid, "--ascii", truth["marker"], "--include-ro"])
    hits = {int(h["addr"], 16) for h in s["hits"]}
    assert int(truth["marker_addr"], 16) in hits, (truth["marker_addr"], s["hits"])
    assert int(truth["heap_marker_addr"], 16) in hits, (truth["heap_marker_addr"], s["hits"])
    v = vmatlas(["view", pid, truth["marker_addr"], str(len(truth["marker"]))])
    assert v.returncode == 0, v.stderr
    assert truth["marker"][:16] in v.stdout, v.stdout


def test_winlive_ps_and_open_by_name():
    _, truth = live()
    ps = checked("ps", ["ps"])["processes"]
    me = [p for p in ps if p["pid"] == truth["pid"]]
    assert len(me) == 1 and me[0]["name"].lower() == "livefix.exe" and me[0]["bits"] == FIXBITS, me
    assert me[0]["exe"] and me[0]["exe"].lower().endswith("livefix.exe")
    m = vmatlas_json(["map", "livefix.exe"])
    assert m["target"]["pid"] == truth["pid"]


def test_winlive_errors():
    p = vmatlas(["map", "4000000000"])
    assert p.returncode == 1 and p.stderr.count("\n") == 1, p.stderr
    p = vmatlas(["search", "self", "--regex", "(a"])  # TRE (or its stand-in) refuses it
    assert p.returncode == 2 and p.stderr.count("\n") == 1, p.stderr


def test_winlive_32bit_build_refuses_a_64bit_process():
    """the 32-bit build sees no more than the low 4 GiB of a 64-bit
    process (ReadProcessMemory, VirtualQueryEx): it refuses to open one,
    in one line naming the 64-bit build; its ps lists it, 64 bits"""
    exe32 = os.path.join(ROOT, "build", "win32", "vmatlas.exe")
    fix64 = os.path.join(ROOT, "build", "win64", "fixtures", "livefix.exe")
    _ready()
    for f in (exe32, fix64, WINE32):
        if not os.path.exists(f):
            raise Skip(f"no {f} (make windows; Debian's wine32)")
    def livefix64s():
        return {x["pid"] for x in vmatlas_json(["ps"])["processes"]
                if (x["exe"] or "").lower().endswith("\\win64\\fixtures\\livefix.exe")}

    p, line = popen_wine([WINE, fix64], first_line, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         env=ENV)
    try:
        assert line, "the 64-bit livefix.exe printed nothing"
        pid = json.loads(line)["pid"]
        for args in (["map", str(pid)], ["threads", str(pid)], ["capture", str(pid), "-o", os.devnull]):
            r = run_wine([WINE, exe32] + args, capture_output=True, text=True, env=ENV, timeout=120,
                         stdin=subprocess.DEVNULL)
            assert r.returncode == 1 and r.stdout == "", (args, r.returncode, r.stdout)
            assert r.stderr == f"vmatlas: process {pid} is 64-bit: the 32-bit build of vmatlas cannot read it " \
                               "whole (use the 64-bit vmatlas.exe)\n", r.stderr
        # a 64-bit program it would start: refused so, and not left running
        # (Windows refuses the debugging start itself; Wine allows it)
        before = livefix64s()
        r = run_wine([WINE, exe32, "map", "--", fix64], capture_output=True, text=True, env=ENV, timeout=120,
                     stdin=subprocess.DEVNULL)
        assert r.returncode == 1 and r.stdout == "" and len(r.stderr.splitlines()) == 1, (r.returncode, r.stderr)
        assert "64-bit" in r.stderr and "(use the 64-bit vmatlas.exe)" in r.stderr, r.stderr
        r = run_wine([WINE, exe32, "ps", "--json"], capture_output=True, text=True, env=ENV, timeout=120,
                     stdin=subprocess.DEVNULL)
        assert r.returncode == 0, r.stderr
        procs = json.loads(r.stdout)["processes"]
        me = [x for x in procs if x["pid"] == pid]
        assert len(me) == 1 and me[0]["bits"] == 64, me
        assert livefix64s() <= before
    finally:
        p.stdin.close()
        p.wait(timeout=30)


def test_winlive_wow64_from_the_64bit_build():
    """the 64-bit build on a 32-bit livefix.exe (a WoW64 process), in
    the default arrangement too (VMATLAS_WINFIX=win32 runs every test so):
    32 bits, each thread's TEB32 and stack, each module 32-bit and named
    by the file the process has (SysWOW64's), the SEH handler named as
    the DWARF of Wine's i386 ntdll.dll says (addr2line), and its capture
    read by the Linux build as the 32-bit process"""
    if WINFIX == "win32":
        raise Skip("VMATLAS_WINFIX=win32 runs every test of this file on a 32-bit fixture")
    fix32 = os.path.join(ROOT, "build", "win32", "fixtures", "livefix.exe")
    ntdll = "/usr/lib/i386-linux-gnu/wine/i386-windows/ntdll.dll"
    _ready()
    for f in (fix32, WINE32, ntdll):
        if not os.path.exists(f):
            raise Skip(f"no {f} (make windows; Debian's wine32)")
    p, line = popen_wine([WINE, fix32], first_line, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                         env=ENV)
    try:
        assert line, "the 32-bit livefix.exe printed nothing"
        truth = json.loads(line)
        pid = str(truth["pid"])
        exe64 = os.path.join(ROOT, "build", "win64", "vmatlas.exe")

        def v64(args):
            r = run_wine([WINE, exe64] + args + ["--json"], capture_output=True, text=True, env=ENV, timeout=120,
                         stdin=subprocess.DEVNULL)
            assert r.returncode == 0, (args, r.stderr)
            return json.loads(r.stdout)
        m = v64(["map", pid])
        assert (m["target"]["bits"], m["target"]["arch"]) == (32, "i386"), m["target"]
        teb = {t["tid"]: int(t["teb"], 16) for t in truth["threads"]}
        assert {t["tid"]: int(t["tls"], 16) for t in m["threads"]} == teb
        mods = {int(x["base"], 16): x for x in m["modules"]}
        sys32 = "c:\\windows\\system32\\"
        for w in truth["modules"]:
            x = mods[int(w["base"], 16)]
            want = w["path"].lower()
            if want.startswith(sys32):
                want = "c:\\windows\\syswow64\\" + want[len(sys32):]
            assert (x["bits"], x["path"].lower()) == (32, want), (w, x)
        th = v64(["threads", pid])["threads"]
        main = [t for t in th if t["tid"] == truth["threads"][0]["tid"]][0]
        assert int(truth["threads"][0]["stack_limit"], 16) <= int(main["sp"], 16) < \
            int(truth["threads"][0]["stack_base"], 16), main
        handler = int(main["seh"]["records"][-1]["handler"], 16)
        base = int(next(x["base"] for x in m["modules"] if x["name"].lower() == "ntdll.dll"), 16)
        image_base = next(int(l.split()[1], 16) for l in subprocess.run(
            ["x86_64-w64-mingw32-objdump", "-p", ntdll], capture_output=True, text=True).stdout.splitlines()
            if l.startswith("ImageBase"))
        fn = subprocess.run(["x86_64-w64-mingw32-addr2line", "-f", "-e", ntdll, hex(handler - base + image_base)],
                            capture_output=True, text=True).stdout.split()[0]
        assert main["seh"]["records"][-1]["handler_symbol"].split("+")[0] == "ntdll.dll!" + fn, (main["seh"], fn)
        with tempfile.TemporaryDirectory() as d:
            dmp = os.path.join(d, "wow64.dmp")
            v64(["capture", pid, "-o", dmp])
            dm = run_json(["map", dmp])
            assert (dm["target"]["bits"], dm["target"]["arch"]) == (32, "i386"), dm["target"]
            assert {t["tid"]: int(t["tls"], 16) for t in dm["threads"]} == teb
            assert {t["tid"]: t["sp"] for t in dm["threads"]} == {t["tid"]: t["sp"] for t in m["threads"]}
    finally:
        p.stdin.close()
        p.wait(timeout=30)


def test_winlive_self():
    m = checked("map", ["map", "self"])
    assert m["target"]["name"] == "vmatlas.exe" and len(m["threads"]) >= 1
    names = {x["name"].lower() for x in m["modules"]}
    assert {"vmatlas.exe", "ntdll.dll", "kernel32.dll"} <= names, names
    # the working set (QueryWorkingSetEx, which Wine answers for the
    # calling process): every committed region has statistics within its
    # size; the PE header pages the annotators read are resident
    exe = next(x for x in m["modules"] if x["name"].lower() == "vmatlas.exe")
    regs = regions_of(m)
    for r in regs.values():
        if r["state"] == "commit":
            assert r["rss"] is not None and 0 <= r["rss"] <= r["size"], r
            assert r["private"] + r["shared"] == r["rss"], r
            # what the working set does not say is unknown, not 0
            assert all(r[k] is None for k in ("pss", "private_dirty", "swap", "referenced", "thp_eligible")), r
        else:
            assert r.get("rss") is None, r
    head = regs[int(exe["base"], 16)]
    assert head["size"] == 4096 and head["rss"] == 4096, head
    assert m["total"]["rss"] == sum(r["rss"] for r in regs.values() if r["state"] == "commit")
    assert m["total"]["swap"] is None, m["total"]


def test_winlive_env_and_modules():
    _, truth = live()
    pid = str(truth["pid"])
    e = checked("env", ["env", pid])
    text = json.dumps(e)
    # the PEB's process parameters, read through ReadProcessMemory
    assert "livefix.exe" in text and "VMATLAS_WINLIVE=1" in text, text[:2000]
    # the open handles: the fixture's named event among them, by type and name
    ev = [h for h in e["handle_list"] if int(h["handle"], 16) == int(truth["event_handle"], 16)]
    assert len(ev) == 1 and ev[0]["type"] == "Event" and ev[0]["name"].endswith("\\" + truth["event_name"]), ev
    m = checked("modules", ["modules", pid])
    assert {x["name"].lower() for x in m["modules"]} >= {"livefix.exe", "ntdll.dll", "kernel32.dll"}
    # the PEB's heap list as the PEB holds it (view decodes it), and
    # under Wine, which leaves it empty in both bitnesses, env says so
    # beside the process heap, which heap walks
    peb = vmatlas_json(["view", pid, "$peb", "--as", "peb"])
    (nheaps,) = [int(f["value"], 16) for f in peb["fields"] if f["name"] == "NumberOfHeaps"]
    text = vmatlas(["env", pid]).stdout
    if nheaps == 0:
        assert "heaps: 0 (the PEB lists none, as under Wine;" in text, text
        assert vmatlas_json(["heap", pid])["heaps"], "heap finds no heap"
    else:
        assert "(the PEB says" in text, text


def test_winlive_capture_writes_a_minidump_vmatlas_opens():
    _, truth = live()
    pid = str(truth["pid"])
    with tempfile.TemporaryDirectory() as d:
        dmp = os.path.join(d, "live.dmp")
        c = checked("capture", ["capture", pid, "-o", dmp])
        assert c["bytes"] == os.path.getsize(dmp) and c["threads"] == len(truth["threads"]), c
        # the Linux build opens it: the same bitness, threads and TEBs
        # (the 32-bit ones: the 64-bit build's dump of a 32-bit process is
        # an AMD64 dump of its 64-bit side, read as the 32-bit process by
        # md_wow64.c), each thread's sp in its stack, modules, and the
        # marker where the process has it
        m = run_json(["map", dmp])
        assert m["target"]["kind"] == "minidump" and m["target"]["pid"] == truth["pid"]
        assert m["target"]["bits"] == FIXBITS, m["target"]
        assert {t["tid"]: int(t["tls"], 16) for t in m["threads"]} == \
            {t["tid"]: int(t["teb"], 16) for t in truth["threads"]}
        for t in truth["threads"]:
            got = [x for x in m["threads"] if x["tid"] == t["tid"]][0]
            assert int(t["stack_limit"], 16) <= int(got["sp"], 16) < int(t["stack_base"], 16), (t, got)
        bases = {int(x["base"], 16) for x in m["modules"]}
        assert {int(x["base"], 16) for x in truth["modules"]} <= bases
        assert all(x["bits"] == FIXBITS for x in m["modules"] if x["name"].lower() in
                   [w["path"].lower().rsplit("\\", 1)[-1] for w in truth["modules"]]), m["modules"]
        s = run_json(["search", dmp, "--ascii", truth["marker"], "--include-ro"])
        hits = {int(h["addr"], 16) for h in s["hits"]}
        assert {int(truth["marker_addr"], 16), int(truth["heap_marker_addr"], 16)} <= hits, s["hits"]
        # --private-only: MiniDumpWithPrivateReadWriteMemory instead of
        # full memory. Windows puts the heap in (the heap marker); Wine's
        # dbghelp ignores the flag and writes the thread stacks only:
        # check what it gives, and say so
        small = os.path.join(d, "small.dmp")
        c2 = checked("capture", ["capture", pid, "-o", small, "--private-only"])
        assert c2["bytes"] < c["bytes"] and c2["private_only"] and c2["threads"] == len(truth["threads"])
        s = run_json(["search", small, "--ascii", truth["marker"], "--include-ro"])
        hits = {int(h["addr"], 16) for h in s["hits"]}
        assert int(truth["marker_addr"], 16) not in hits, s["hits"]
        wow64 = FIXBITS == 32 and WINARCH == "win64"
        small_threads = run_json(["map", small])["threads"]
        assert {t["tid"] for t in small_threads} == {t["tid"] for t in truth["threads"]}
        if int(truth["heap_marker_addr"], 16) not in hits and not wow64:  # Wine
            # (of a 32-bit process, Wine's 64-bit dbghelp writes the
            # stacks its TEB64s name, the 64-bit side's, and neither the
            # TEBs nor the images: nothing of the 32-bit side to read)
            for t in small_threads:
                v = run(["view", small, t["sp"], "16"])
                assert v.returncode == 0, (t, v.stderr)


def test_winlive_snapshot_and_diff():
    """the Windows build writes snapshots (zstd from Debian's source:
    test_windeps.py): the Linux build reads them, and the Windows build
    diffs them against the live process"""
    _, truth = live()
    pid = str(truth["pid"])
    with tempfile.TemporaryDirectory() as d:
        snap = os.path.join(d, "w.snap")
        s = checked("snapshot", ["snapshot", pid, "-o", snap])
        assert s["bytes"] == os.path.getsize(snap) and s["regions"] >= len(truth["regions"])
        same = run_json(["diff", snap, snap])
        assert not any(same["regions"][k] for k in ("added", "removed", "changed")), same["regions"]
        live_diff = checked("diff", ["diff", snap, pid])
        assert not live_diff["regions"]["added"] and not live_diff["regions"]["removed"], live_diff["regions"]
        assert not live_diff["threads"]["added"] and not live_diff["threads"]["removed"]


def test_windows_builds_are_console_pes_with_system_dlls_only():
    """both Windows builds (make windows) are console programs that need
    no DLL beyond Windows' own (libgcc and winpthreads linked statically);
    VMATLAS_WINARCH=win32 runs the 32-bit one's tests (Debian's wine32)"""
    built = [a for a in ("win64", "win32") if os.path.exists(os.path.join(ROOT, "build", a, "vmatlas.exe"))]
    if not built:
        raise Skip("no Windows build (make windows)")
    for arch, bits, machine in (("win64", 64, "AMD64"), ("win32", 32, "I386")):
        exe = os.path.join(ROOT, "build", arch, "vmatlas.exe")
        if arch not in built:
            continue
        d = run_json(["image", exe])
        assert (d["format"], d["bits"], d["machine"], d["subsystem"]) == ("pe", bits, machine, "WINDOWS_CUI"), d
        dlls = {i["dll"].lower() for i in d["imports"]}
        assert dlls <= {"advapi32.dll", "dbghelp.dll", "kernel32.dll", "msvcrt.dll", "ntdll.dll", "psapi.dll"}, dlls


def test_winlive_spawn_at_the_loader_breakpoint():
    """'-- PROG': started under the debug API and mapped at the loader's
    breakpoint (static imports loaded, main not yet run: one thread, no
    truth printed), then killed"""
    live()  # the Wine server and its services up
    p = vmatlas(["map", "--json", "--", FIXTURE])
    assert p.returncode == 0, p.stderr
    m = json.loads(p.stdout)  # alone: the program never reached main to print its truth
    assert m["target"]["name"] == "livefix.exe" and len(m["threads"]) == 1, m["threads"]
    names = {x["name"].lower() for x in m["modules"]}
    assert {"livefix.exe", "ntdll.dll", "kernel32.dll", "msvcrt.dll"} <= names, names
    pids = {x["pid"] for x in vmatlas_json(["ps"])["processes"]}
    assert m["target"]["pid"] not in pids, "the spawned program was left running"
    # --run: it runs first; this one ends at once (its stdin is empty)
    r = vmatlas(["map", "--run", "3000", "--", FIXTURE])
    assert r.returncode == 1 and "exited within 3000 ms" in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr


def test_winlive_freeze_holds_then_lets_go():
    """--freeze: every thread suspended (NtSuspendProcess) while the map is
    read, and resumed after: a thread's previous suspend count says so"""
    _, truth = live()
    pid = str(truth["pid"])
    m = checked("map", ["map", pid, "--freeze"])
    assert m["frozen"] and {t["state"] for t in m["threads"]} == {"T"}, m["threads"]
    after = checked("threads", ["threads", pid])
    assert "T" not in {t["state"] for t in after["threads"]}, after["threads"]
    # vmatlas cannot hold itself: the map says it was not frozen
    assert checked("map", ["map", "self", "--freeze"])["frozen"] is False


def test_winlive_exports_glob():
    """exports --find GLOB: the Windows build's own fnmatch (base/win)"""
    _, truth = live()
    pid = str(truth["pid"])
    got = {(x["module"].lower(), x["name"]) for x in vmatlas_json(["exports", pid, "--find", "NtClos[a-f]"])}
    assert got == {("ntdll.dll", "NtClose")}, got
    got = {x["name"] for x in vmatlas_json(["exports", pid, "--module", "kernel32.dll", "--find", "GetProcA*ess"])}
    assert got == {"GetProcAddress"}, got
    got = {x["name"] for x in vmatlas_json(["exports", pid, "--module", "ntdll.dll", "--find", "Nt?lose"])}
    assert got == {"NtClose"}, got
    r = vmatlas(["exports", pid, "--find", "NtClos[!e]"])
    assert r.returncode == 1 and r.stdout == "", r.stdout
