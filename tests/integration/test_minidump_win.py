"""Windows depth beyond test_minidump.py (#16): export forwarders, the
PEB/TEB/KUSER_SHARED_DATA layouts, the OS version, 32-bit unwinding,
DWARF in mingw PE images; each against pefile, binutils, the fixture's own
truth or the public dumps' known answers."""
import json
import os
import shutil
import struct
import subprocess
import tempfile

from lib import FIXTURES, Skip, no_sanitizer_reports, run, run_json
from test_minidump import CORPUS, SYSTEM_PYTHON, wine_dump_cached

WINE64 = "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows"


def pefile_exports(path):
    """[(name or None, ordinal, rva, forwarder or None)], image base"""
    code = ("import pefile,sys,json; p=pefile.PE(sys.argv[1]); print(json.dumps([p.OPTIONAL_HEADER.ImageBase, "
            "[(e.name.decode() if e.name else None, e.ordinal, e.address, e.forwarder.decode() if e.forwarder "
            "else None) for e in p.DIRECTORY_ENTRY_EXPORT.symbols]]))")
    p = subprocess.run([SYSTEM_PYTHON, "-c", code, path], capture_output=True, text=True)
    if p.returncode != 0:
        raise Skip("no pefile")
    base, ex = json.loads(p.stdout)
    return ex, base


def test_exports_forwarders_of_a_file():
    """exports FILE.dll and image: Wine's kernel32 forwards ~100 names to
    ntdll and kernelbase; each is a forwarder (no address), every other
    export is at ImageBase+RVA, as pefile says"""
    k32 = os.path.join(WINE64, "kernel32.dll")
    if not os.path.exists(k32):
        raise Skip("no Wine kernel32.dll")
    truth, base = pefile_exports(k32)
    fwd = {(n or f"#{o}", f) for n, o, a, f in truth if f}
    assert len(fwd) > 20, fwd
    ex = run_json(["exports", k32])
    got_fwd = {(e["name"], e["forwarder"]) for e in ex if e["forwarder"]}
    assert got_fwd == fwd, (sorted(got_fwd ^ fwd)[:10])
    assert all(e["addr"] is None and e["kind"] == "forwarder" for e in ex if e["forwarder"])
    want = {(n or f"#{o}", base + a) for n, o, a, f in truth if not f}
    got = {(e["name"], int(e["addr"], 16)) for e in ex if not e["forwarder"]}
    assert got == want, sorted(got ^ want)[:10]
    # the text: "-> NTDLL.RtlAllocateHeap", in exports and in image
    p = run(["exports", k32, "--find", "HeapAlloc"])
    assert p.returncode == 0 and "kernel32.dll!HeapAlloc -> NTDLL.RtlAllocateHeap" in p.stdout, p.stdout
    p = run(["image", "--exports", k32])
    assert p.returncode == 0 and "forwarder  HeapAlloc -> NTDLL.RtlAllocateHeap" in p.stdout, p.stdout
    # by address: an address inside the export directory names no forwarder
    fw_rva = next(a for n, o, a, f in truth if f)
    p = run(["exports", k32, "--find", hex(base + fw_rva)])
    assert "->" not in p.stdout, p.stdout


def test_exports_forwarders_in_a_dump():
    """the Wine dump's kernel32 (read from dump memory): the same
    forwarders as the file on disk; sym never names an address by one"""
    truth, dmp = wine_dump_cached()
    k32 = os.path.join(WINE64, "kernel32.dll")
    want, _ = pefile_exports(k32)
    fwd = {(n or f"#{o}", f) for n, o, a, f in want if f}
    ex = run_json(["exports", dmp, "--module", "kernel32.dll"])
    got = {(e["name"], e["forwarder"]) for e in ex if e["forwarder"]}
    assert got == fwd, sorted(got ^ fwd)[:10]
    mods = run_json(["modules", dmp])["modules"]
    kbase = next(int(m["base"], 16) for m in mods if m["name"].lower() == "kernel32.dll")
    fwd_names = {n for n, f in fwd}
    for n, o, a, f in want:
        if f:
            sy = run_json(["sym", dmp, hex(kbase + a)])[0]
            assert sy.get("symbol") not in fwd_names, (n, sy)
            break
    p = run(["exports", dmp, "--find", "HeapAlloc"])
    assert p.returncode == 0 and "kernel32.dll!HeapAlloc -> NTDLL.RtlAllocateHeap" in p.stdout, p.stdout
    no_sanitizer_reports(p.stderr)


def fields(doc):
    """{name or name[index]: value} of a view --as --json document"""
    out = {}
    for f in doc["fields"]:
        k = f["name"] + (f"[{f['index']}]" if "index" in f else "")
        v = f["value"]
        out[k] = int(v, 16) if isinstance(v, str) and v.startswith("0x") else v
    return out


def offsets(doc):
    return {f["name"] + (f"[{f['index']}]" if "index" in f else ""): f["offset"] for f in doc["fields"]}


def test_peb_teb_kuser_against_the_api():
    """#16: the whole PEB, each worker's TEB and KUSER_SHARED_DATA decoded
    from the Wine dump hold what the process's own API calls said: the
    OS version (RtlGetVersion), processors, session, heap, image base,
    loader data, parameters; TEB self, client id, stack, last error, a TLS
    slot, the stack's allocation base; the processor feature bytes
    (IsProcessorFeaturePresent) and the active processor count"""
    truth, dmp = wine_dump_cached()
    doc = run_json(["view", dmp, "--as", "peb", "$peb"])
    assert int(doc["addr"], 16) == truth["peb"] and doc["size"] == 0x7c8, doc["size"]
    p = fields(doc)
    os_ = truth["os"]
    want = {"ImageBaseAddress": truth["image_base"], "ProcessHeap": truth["process_heap"], "Ldr": truth["ldr"],
            "ProcessParameters": truth["params"], "NumberOfProcessors": truth["nproc"],
            "SessionId": truth["session"], "OSMajorVersion": os_["major"], "OSMinorVersion": os_["minor"],
            "OSBuildNumber": os_["build"], "OSPlatformId": os_["platform"]}
    assert {k: p[k] for k in want} == want, {k: p[k] for k in want}
    for i, th in enumerate(truth["threads"]):
        t = fields(run_json(["view", dmp, "--as", "teb", f"$teb@{th['tid']}"]))
        want = {"NtTib.Self": th["teb"], "NtTib.StackBase": th["stack_base"], "NtTib.StackLimit": th["stack_limit"],
                "ClientId.UniqueProcess": truth["pid"], "ClientId.UniqueThread": th["tid"],
                "ProcessEnvironmentBlock": truth["peb"], "LastErrorValue": truth["last_errors"][i],
                f"TlsSlots[{truth['tls_index']}]": truth["tls_values"][i], "DeallocationStack": truth["dealloc"][i]}
        assert {k: t.get(k) for k in want} == want, (th, {k: t.get(k) for k in want})
    k = fields(run_json(["view", dmp, "--as", "kuser_shared_data", "$kuser"]))
    assert (k["NtMajorVersion"], k["NtMinorVersion"], k["NtBuildNumber"] & 0xffff) == \
        (os_["major"], os_["minor"], os_["build"]), k
    assert [k.get(f"ProcessorFeatures[{i}]", 0) for i in range(64)] == truth["features"]
    assert k["ActiveProcessorCount"] == truth["active_processors"]
    # the text: the whole structure, its long names aligned
    t = run(["view", dmp, "--as", "teb", "$teb"])
    assert t.returncode == 0 and "+0x1480  TlsSlots[" in t.stdout or "+0x1478  DeallocationStack" in t.stdout
    # Wine keeps a 32-bit TEB 0x2000 above each 64-bit one (WowTebOffset
    # 0: the classic place), naming itself and a 32-bit PEB 0x1000 above
    # the 64-bit PEB, as WoW64 lays them out
    t32 = run_json(["view", dmp, "--as", "teb32", "$teb32"])
    assert int(t32["addr"], 16) == truth["main_teb"] + 0x2000 and t32["size"] == 0x1000, t32["addr"]
    f32 = fields(t32)
    assert f32["NtTib.Self"] == truth["main_teb"] + 0x2000, f32["NtTib.Self"]
    p32 = run_json(["view", dmp, "--as", "peb32", "$peb32"])
    assert int(p32["addr"], 16) == f32["ProcessEnvironmentBlock"] == truth["peb"] + 0x1000 and \
        p32["size"] == 0x480, p32["addr"]
    no_sanitizer_reports(t.stderr)


def test_os_version_in_the_map_header():
    """the SystemInfo stream's version: the Wine dump's equals RtlGetVersion
    in the process (with its service pack string); breakpad's XP dump is
    5.1.2600 Service Pack 2 (as its own stackwalker prints it); a Linux
    dump written by breakpad has none"""
    truth, dmp = wine_dump_cached()
    o = truth["os"]
    doc = run_json(["map", dmp])["target"]["os_version"]
    assert (doc["major"], doc["minor"], doc["build"], doc["platform_id"], doc["product_type"]) == \
        (o["major"], o["minor"], o["build"], o["platform"], o["product_type"]), doc
    assert doc["csd"] == (o["csd"] or None), doc
    head = run(["map", dmp]).stdout.splitlines()[1]
    assert head.startswith(f"Windows {o['major']}.{o['minor']} build {o['build']}"), head
    if o["csd"]:
        assert o["csd"] in head, head
    xp = os.path.join(CORPUS, "breakpad-minidump2.dmp")
    if os.path.exists(xp):
        assert "Windows 5.1 build 2600, Service Pack 2, workstation" in run(["map", xp]).stdout
        assert run_json(["map", xp])["target"]["os_version"]["csd"] == "Service Pack 2"
    lx = os.path.join(CORPUS, "breakpad-linux_inline.dmp")
    if os.path.exists(lx):
        assert "os_version" not in run_json(["map", lx])["target"]

    for name in os.listdir(CORPUS) if os.path.isdir(CORPUS) else []:
        # the public dumps hold their SystemInfo stream: it stays the source,
        # and their PEB and KUSER_SHARED_DATA (where held) agree with it
        if name.endswith(".dmp"):
            d = run_json(["map", os.path.join(CORPUS, name)])
            v = d["target"].get("os_version")
            assert v is None or v["source"] == "systeminfo", (name, v)
            assert not [w for w in d.get("warnings", []) if "OS version" in w], (name, d["warnings"])


def patched_dump(dmp, out, drop=(), build=None):
    """a copy of dmp whose streams of the types in drop are renamed to an
    unused type, and whose SystemInfo build number is `build` if given"""
    b = bytearray(open(dmp, "rb").read())
    n, d = struct.unpack_from("<II", b, 8)
    found = False
    for i in range(n):
        t, _size, rva = struct.unpack_from("<III", b, d + 12 * i)
        if t in drop:
            struct.pack_into("<I", b, d + 12 * i, 0xfff00 + t)
        if t == 7:  # SystemInfoStream: BuildNumber at +16
            found = True
            if build is not None:
                struct.pack_into("<I", b, rva + 16, build)
    assert found
    with open(out, "wb") as f:
        f.write(b)
    return out


def test_os_version_from_the_peb_and_kuser():
    """#16: the Wine dump without its SystemInfo stream still gives the
    version RtlGetVersion gave, from the PEB (source "peb"); without its
    thread list too (no TEB, so no PEB), from KUSER_SHARED_DATA; a
    SystemInfo stream patched to another build is shown as the dump says
    with a warning naming both versions"""
    truth, dmp = wine_dump_cached()
    o = truth["os"]
    d = tempfile.mkdtemp()
    try:
        nosys = patched_dump(dmp, os.path.join(d, "nosys.dmp"), drop=(7,))
        doc = run_json(["map", nosys])
        v = doc["target"]["os_version"]
        assert (v["major"], v["minor"], v["build"], v["platform_id"], v["source"]) == \
            (o["major"], o["minor"], o["build"], o["platform"], "peb"), v
        # Wine's PEB leaves OSCSDVersion 0 though RtlGetVersion says SP1
        peb = fields(run_json(["view", dmp, "--as", "peb", "$peb"]))
        assert v["csd"] == (f"Service Pack {peb['OSCSDVersion'] >> 8}" if peb["OSCSDVersion"] >> 8 else None), v
        assert doc["target"]["os"] == "windows", doc["target"]
        assert not [w for w in doc.get("warnings", []) if "OS version" in w], doc["warnings"]
        t = run(["map", nosys])
        assert f"Windows {o['major']}.{o['minor']} build {o['build']} [from the PEB]" in t.stdout.splitlines()[1], \
            t.stdout[:300]
        nothr = patched_dump(dmp, os.path.join(d, "nothr.dmp"), drop=(7, 3))
        v = run_json(["map", nothr])["target"]["os_version"]
        assert (v["major"], v["minor"], v["build"], v["source"]) == (o["major"], o["minor"], o["build"], "kuser"), v
        other = o["build"] + 1000
        bad = patched_dump(dmp, os.path.join(d, "bad.dmp"), build=other)
        doc = run_json(["map", bad])
        v = doc["target"]["os_version"]
        assert (v["build"], v["source"]) == (other, "systeminfo"), v
        want = (f"the OS version differs between sources: systeminfo {o['major']}.{o['minor']}.{other}, "
                f"peb {o['major']}.{o['minor']}.{o['build']}")
        assert [w for w in doc["warnings"] if w.startswith(want)], doc["warnings"]
        t = run(["map", bad])
        assert want in t.stderr, t.stderr
        # the untouched dump: every source agrees
        doc = run_json(["map", dmp])
        assert not [w for w in doc.get("warnings", []) if "OS version" in w], doc["warnings"]
        no_sanitizer_reports(t.stderr)
    finally:
        shutil.rmtree(d, True)

# winternl.h and ntddk.h clash: one file each
OFFSETS_C = [r"""
#include <windows.h>
#include <winternl.h>
#include <stddef.h>
#define O(s, f) const unsigned long off_##s##_##f = offsetof(s, f);
O(PEB, Ldr) O(PEB, ProcessParameters) O(PEB, AtlThunkSListPtr) O(PEB, AtlThunkSListPtr32)
O(PEB, PostProcessInitRoutine) O(PEB, SessionId) O(PEB, BeingDebugged)
O(TEB, ProcessEnvironmentBlock) O(TEB, TlsSlots) O(TEB, ReservedForOle) O(TEB, TlsExpansionSlots)
""", r"""
#include <ntddk.h>
#include <stddef.h>
#define O(s, f) const unsigned long off_##s##_##f = offsetof(s, f);
O(KUSER_SHARED_DATA, NtProductType) O(KUSER_SHARED_DATA, NtMajorVersion) O(KUSER_SHARED_DATA, ProcessorFeatures)
O(KUSER_SHARED_DATA, SystemExpirationDate) O(KUSER_SHARED_DATA, SuiteMask) O(KUSER_SHARED_DATA, ActiveConsoleId)
O(KUSER_SHARED_DATA, NumberOfPhysicalPages) O(KUSER_SHARED_DATA, SafeBootMode) O(KUSER_SHARED_DATA, TestRetInstruction)
O(KUSER_SHARED_DATA, TickCount) O(KUSER_SHARED_DATA, Cookie) O(KUSER_SHARED_DATA, ConsoleSessionForegroundProcessId)
O(KUSER_SHARED_DATA, NtSystemRoot) O(KUSER_SHARED_DATA, TimeZoneId)
"""]


def mingw_offsets(cc, d):
    """{(struct, field): offset} as mingw-w64's headers lay them out, read
    from the assembly of files of offsetof constants"""
    out = {}
    for i, text in enumerate(OFFSETS_C):
        src = os.path.join(d, f"o{i}.c")
        with open(src, "w") as f:
            f.write(text)
        ddk = f"/usr/{cc[:-4]}/include/ddk"  # ntddk.h includes <wdm.h> from there
        p = subprocess.run([cc, "-S", "-O0", "-I", ddk, "-o", "-", src], capture_output=True, text=True)
        if p.returncode != 0:
            raise Skip(f"{cc}: {p.stderr[-300:]}")
        label = None
        for line in p.stdout.splitlines():
            line = line.strip().lstrip("_")  # i686 symbols start with _
            if line.startswith("off_") and line.endswith(":"):
                label = line[4:-1]
            elif label and line.split()[0] in (".long", ".quad"):
                s, f = ("KUSER_SHARED_DATA", label[18:]) if label.startswith("KUSER") else label.split("_", 1)
                out[(s, f)] = int(line.split()[1], 0)
                label = None
    return out


def test_windows_layouts_against_mingw_headers():
    """the offsets of the PEB, TEB and KUSER_SHARED_DATA fields mingw-w64's
    headers name (the rest of theirs is Reserved arrays), for x86-64 and
    i686, against view --as peb/teb (and peb32/teb32) and kuser_shared_data"""
    import tempfile
    truth, dmp = wine_dump_cached()
    names = {"PEB": "peb", "TEB": "teb", "KUSER_SHARED_DATA": "kuser_shared_data"}
    with tempfile.TemporaryDirectory() as d:
        for cc, bits in (("x86_64-w64-mingw32-gcc", 64), ("i686-w64-mingw32-gcc", 32)):
            want = mingw_offsets(cc, d)
            assert len(want) >= 20, want
            for struct, as_ in names.items():
                name = as_ + ("32" if bits == 32 and struct != "KUSER_SHARED_DATA" else "")
                ours = offsets(run_json(["view", dmp, "--as", name, "$peb"]))
                for (s, f), off in want.items():
                    if s != struct:
                        continue
                    got = ours.get(f, ours.get(f + "[0]", ours.get(f + ".LowPart")))
                    assert got == off, (cc, struct, f, got, off)


def frames_of(dmp, n=1000):
    return {t["tid"]: t for t in run_json(["threads", dmp, "--frames", str(n)])["threads"]}


def test_x86_stack_of_breakpads_test_app():
    """#16: breakpad's XP test dump (minidump2.dmp) without symbols: the
    crashing thread's 4 frames, pc and sp of each, as rust-minidump's own
    test of this dump without symbols asserts them (frame 3 by the frame
    pointer: kernel32's BaseProcessStart)"""
    dmp = os.path.join(CORPUS, "breakpad-minidump2.dmp")
    if not os.path.exists(dmp):
        raise Skip("no breakpad-minidump2.dmp")
    t = frames_of(dmp)[3060]
    got = [(int(f["pc"], 16), int(f["sp"], 16), f["method"]) for f in t["frames"]]
    assert got == [(0x0040429e, 0x0012fe84, "registers"), (0x00404200, 0x0012fe90, "fp"),
                   (0x004053ec, 0x0012ff78, "fp"), (0x7c816fd7, 0x0012ffc8, "fp")], got
    assert t["frames"][3]["module"].lower() == "kernel32.dll"


def test_null_read_av_frames_and_seh_chain():
    """#16 item 3 of the issue: null_read_av.dmp. The issue counted 7
    frames; a breakpad-style walk (frame pointers, then a stack scan past
    the end of the ebp chain) gets 7 because its scan takes the word at the
    last frame's sp, crashme.exe+0x8210 (the start routine handed to
    _RtlUserThreadStart as its argument, whose own return address already
    shows as frame 2, +0x821f), for a 7th frame. The ebp chain ends there
    on its own ([ebp] and [ebp+4] both 0): 6 frames from the fault address,
    each frame's SEH record where MSVC puts it (C++ EH at ebp-0xc in main,
    SEH4 at ebp-0x10 in __tmainCRTStartup and __RtlUserThreadStart), the
    chain found on the stack since the dump lacks the TEB"""
    dmp = os.path.join(CORPUS, "breakpad-null_read_av.dmp")
    if not os.path.exists(dmp):
        raise Skip("no breakpad-null_read_av.dmp")
    doc = run_json(["map", dmp])
    t = frames_of(dmp)[1192]
    pcs = [int(f["pc"], 16) for f in t["frames"]]
    assert pcs[0] == int(doc["target"]["exception"]["addr"], 16) == 0x90a6cd
    assert pcs == [0x90a6cd, 0x9083d8, 0x90821f, 0x75f03677, 0x772e9d42, 0x772e9d15], [hex(p) for p in pcs]
    assert [f["method"] for f in t["frames"]] == ["registers"] + ["fp"] * 5
    assert not t.get("unwind_note"), t.get("unwind_note")
    seh = t["seh"]
    assert seh["complete"] and seh["found_by"] == "stack", seh
    recs = [int(r["addr"], 16) for r in seh["records"]]
    ebp0 = int(t["registers"]["ebp"], 16)
    sps = [int(f["sp"], 16) for f in t["frames"]]
    # frame k's ebp is frame k+1's sp - 8
    assert recs == [ebp0 - 0xc, sps[2] - 8 - 0x10, sps[5] - 8 - 0x10], ([hex(r) for r in recs], hex(ebp0))
    # the word a scan would take for a 7th frame
    word = run_json(["view", dmp, hex(sps[5]), "4", "--as", "u32"])
    assert word["bytes"] == "10829000", word["bytes"]


def addr2line(exe, addrs):
    p = subprocess.run(["x86_64-w64-mingw32-addr2line", "-e", exe] + [hex(a) for a in addrs],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise Skip("no x86_64-w64-mingw32-addr2line")
    return [(f, int(l)) for f, l in (x.rsplit(":", 1) for x in p.stdout.split())]


def test_dwarf_lines_of_a_mingw_pe():
    """#16: dumpfix.exe is built with -g, so its DWARF stays in its own
    .debug_* sections; sym and threads give file:line from them, as
    binutils' addr2line for PE says (a frame above the first at its
    call: pc - 1)"""
    truth, dmp = wine_dump_cached()
    exe = os.path.join(FIXTURES, "win", "dumpfix.exe")
    addrs = [truth[fn] + k for fn in ("recurse", "worker", "bottom") for k in (0, 3, 9)]
    got = [(s.get("file"), s.get("line")) for s in run_json(["sym", dmp] + [hex(a) for a in addrs])]
    assert got == addr2line(exe, addrs), list(zip(map(hex, addrs), got))
    frames = [(int(f["pc"], 16), f) for t in run_json(["threads", dmp])["threads"]
              for k, f in enumerate(t["frames"]) if f["module"] == "dumpfix.exe" and k > 0]
    assert len(frames) > 20, len(frames)
    want = addr2line(exe, [pc - 1 for pc, _ in frames])
    assert [(f.get("file"), f.get("line")) for _, f in frames] == want
    assert any(f.get("line") and f["function"] == "recurse" for _, f in frames)
    mods = {m["name"]: m for m in run_json(["modules", dmp, "--symbols"])["modules"]}
    assert "file:dwarf" in mods["dumpfix.exe"]["symbols"], mods["dumpfix.exe"]
    # a 32-bit image, placed by hand away from its preferred base
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        src, exe32 = os.path.join(d, "t32.c"), os.path.join(d, "t32.exe")
        with open(src, "w") as f:
            f.write("int g(int x) { return x * 3 + 1; }\nint f(int x) { return g(x) + 2; }\n"
                    "int main(int c, char **v) { (void)v; return f(c); }\n")
        p = subprocess.run(["i686-w64-mingw32-gcc", "-O1", "-g", "-o", exe32, src], capture_output=True)
        if p.returncode != 0:
            raise Skip("no i686-w64-mingw32-gcc")
        nm = subprocess.run(["i686-w64-mingw32-nm", exe32], capture_output=True, text=True).stdout
        fns = {l.split()[2]: int(l.split()[0], 16) for l in nm.splitlines() if l.endswith((" _f", " _g"))}
        base = 0x50000000
        for name, va in fns.items():
            s = run_json(["sym", dmp, "--add-module", f"{exe32}={base:#x}", hex(va - 0x400000 + base + 1)])[0]
            p = subprocess.run(["i686-w64-mingw32-addr2line", "-e", exe32, hex(va + 1)], capture_output=True,
                               text=True)
            f, l = p.stdout.strip().rsplit(":", 1)
            # nm's name less the i386 C decoration ("_f": f), as dbghelp
            # and the Microsoft debuggers show it
            assert (s["symbol"], s.get("file"), s.get("line")) == (name[1:], f, int(l)), (name, s)


# ---- 32-bit code without frame pointers, as a Windows dump ----

FPO_C = r"""
#include <stdio.h>
#include <unistd.h>
volatile int sink;
__attribute__((noinline)) int leaf3(int x) { char b[8]; b[0] = (char)x; if (read(0, b, 1) < 0) sink++; return b[0] + x; }
__attribute__((noinline)) int mid2(int x) { int r = leaf3(x * 3) + 1; sink += r; return r * 2; }
__attribute__((noinline)) int top1(int x) { int r = mid2(x + 5) - 1; sink += r; return r + 7; }
int main(void) { printf("%d\n", getpid()); fflush(stdout); return top1(sink) & 1; }
"""


def x86_minidump(regs, memory, modules):
    """a minidump of one i386 thread: SystemInfo (Windows NT), ThreadList
    with an x86 CONTEXT, ModuleList [(base, size, name)], Memory64List
    [(addr, bytes)], the stack last"""
    import struct
    sysinfo = struct.pack("<HHHBBIIII", 0, 6, 0, 1, 1, 10, 0, 19045, 2) + b"\0" * 32
    ctx = bytearray(0x2cc)
    struct.pack_into("<I", ctx, 0, 0x1003f)
    for name, off in (("edi", 0x9c), ("esi", 0xa0), ("ebx", 0xa4), ("edx", 0xa8), ("ecx", 0xac), ("eax", 0xb0),
                      ("ebp", 0xb4), ("eip", 0xb8), ("eflags", 0xc0), ("esp", 0xc4)):
        struct.pack_into("<I", ctx, off, regs.get(name, 0))
    names = [("C:\\fpo\\" + n).encode("utf-16-le") for _, _, n in modules]
    head = 32 + 12 * 4
    sys_at = head
    ctx_at = sys_at + len(sysinfo)
    name_at, at = [], ctx_at + len(ctx)
    for n in names:
        name_at.append(at)
        at += 4 + len(n) + 2
    tl_at = at
    ml_at = tl_at + 4 + 48
    m64_at = ml_at + 4 + 108 * len(modules)
    data_at = m64_at + 16 + 16 * len(memory)
    offs, at = [], data_at
    for _, b in memory:
        offs.append(at)
        at += len(b)
    stack_addr, stack = memory[-1]
    tl = struct.pack("<I", 1) + struct.pack("<IIIIQQIIII", 1234, 0, 0x20, 0, 0, stack_addr, len(stack), offs[-1],
                                            len(ctx), ctx_at)
    ml = struct.pack("<I", len(modules)) + b"".join(
        struct.pack("<QIIII", base, size, 0, 0, name_at[i]) + b"\0" * 84 for i, (base, size, _) in enumerate(modules))
    m64 = struct.pack("<QQ", len(memory), data_at) + b"".join(struct.pack("<QQ", a, len(b)) for a, b in memory)
    hdr = struct.pack("<4sIIIIIQ", b"MDMP", 0xa793, 4, 32, 0, 0, 0)
    direc = struct.pack("<III", 7, len(sysinfo), sys_at) + struct.pack("<III", 3, len(tl), tl_at) + \
        struct.pack("<III", 4, len(ml), ml_at) + struct.pack("<III", 9, len(m64), m64_at)
    out = hdr + direc + sysinfo + bytes(ctx) + b"".join(struct.pack("<I", len(n)) + n + b"\0\0" for n in names) + \
        tl + ml + m64
    assert len(out) == data_at, (len(out), data_at)
    return out + b"".join(b for a, b in memory)


def test_x86_fpo_stack_against_gdb():
    """#16: 32-bit code built without frame pointers (gcc -m32 -O2
    -fomit-frame-pointer), stopped in a read() three calls deep; its
    registers, stack and code written as a Windows i386 minidump. gdb,
    with the DWARF CFI, says the call chain; vmatlas, with no unwind
    information at all, finds the same frames in the program by scanning
    the stack for return addresses whose calls decode, each frame marked
    as a scan"""
    import re
    import tempfile
    from lib import kill_quietly, wait_blocked
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "fpo.c"), os.path.join(d, "fpo")
        with open(src, "w") as f:
            f.write(FPO_C)
        p = subprocess.run(["gcc", "-m32", "-O2", "-fomit-frame-pointer", "-fno-asynchronous-unwind-tables",
                            "-fno-pie", "-no-pie", "-g", "-o", exe, src], capture_output=True, text=True)
        if p.returncode != 0:
            raise Skip("no 32-bit gcc: " + p.stderr[-200:])
        fx = subprocess.Popen([exe], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            pid = int(fx.stdout.readline())
            wait_blocked(pid)
            g = subprocess.run(["gdb", "-q", "-batch", "-p", str(pid), "-ex", "set backtrace past-main on",
                                "-ex", "info registers", "-ex", "bt"],
                               capture_output=True, text=True, timeout=120)
            regs = {m.group(1): int(m.group(2), 16)
                    for m in re.finditer(r"^(e\w\w|eflags)\s+0x([0-9a-f]+)", g.stdout, re.M)}
            bt = [int(m.group(1), 16) for m in re.finditer(r"^#\d+\s+0x([0-9a-f]+) in ", g.stdout, re.M)]
            if "esp" not in regs or len(bt) < 4:
                raise Skip("gdb could not attach: " + g.stdout[-300:] + g.stderr[-300:])
            maps = [l.split() for l in open(f"/proc/{pid}/maps")]
            spans, code = {}, []
            for l in maps:
                if len(l) < 6 or not (l[5].startswith("/") or l[5] == "[vdso]"):
                    continue
                lo, hi = (int(x, 16) for x in l[0].split("-"))
                old = spans.get(l[5], (lo, hi))
                spans[l[5]] = (min(old[0], lo), max(old[1], hi))
                if "x" in l[1]:
                    code.append((lo, hi))
            stack = [tuple(int(x, 16) for x in l[0].split("-")) for l in maps if len(l) > 5 and l[5] == "[stack]"][0]
            memory = []
            with open(f"/proc/{pid}/mem", "rb") as mem:
                for lo, hi in code:
                    mem.seek(lo)
                    memory.append((lo, mem.read(hi - lo)))
                sp = regs["esp"] & ~0xfff
                mem.seek(sp)
                memory.append((sp, mem.read(stack[1] - sp)))
        finally:
            kill_quietly(fx.pid)
            fx.wait()
        # every module Windows would list: the program, libc, ld.so, the vdso
        modules = [(lo, hi - lo, os.path.basename(p).strip("[]")) for p, (lo, hi) in spans.items()]
        base, end = spans[exe]
        dmp = os.path.join(d, "fpo.dmp")
        with open(dmp, "wb") as f:
            f.write(x86_minidump(regs, memory, modules))
        t = run_json(["threads", dmp])["threads"][0]
        if os.environ.get("VMATLAS_KEEP_FPO"):
            import shutil
            shutil.copy(dmp, os.environ["VMATLAS_KEEP_FPO"])
        ours = [(int(f["pc"], 16), f["method"]) for f in t["frames"]]
        assert [pc for pc, _ in ours] == bt, ([hex(p) for p, _ in ours], [hex(p) for p in bt])
        mine = [m for pc, m in ours if base <= pc < end]
        assert len(mine) == 5 and all(m == "scan" for m in mine[:4]), ours  # leaf3, mid2, top1, main, _start
