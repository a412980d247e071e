"""Windows depth beyond test_minidump.py (#16): export forwarders, the
PEB/TEB/KUSER_SHARED_DATA layouts, the OS version, 32-bit unwinding,
DWARF in mingw PE images; each against pefile, binutils, the fixture's own
truth or the public dumps' known answers."""
import json
import os
import subprocess

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
