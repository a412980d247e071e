"""vmatlas image: PE images against pefile (Wine's DLLs and our mingw
fixtures), COFF objects and archives against binutils, ELF files against
readelf; hostile (truncated) files end cleanly."""
import glob
import json
import os
import re
import subprocess
import tempfile

from lib import BUILD, Skip, no_sanitizer_reports, run, run_json
from test_errors import one_error_line

WIN = os.path.join(BUILD, "fixtures", "win")
WINE64 = "/usr/lib/x86_64-linux-gnu/wine/x86_64-windows"
WINE32 = "/usr/lib/x86_64-linux-gnu/wine/i386-windows"
TRUTH = os.path.join(os.path.dirname(__file__), "pefile_truth.py")
RELOC_NAMES = {0: "ABSOLUTE", 1: "HIGH", 2: "LOW", 3: "HIGHLOW", 4: "HIGHADJ", 10: "DIR64"}


def need(path):
    if not os.path.exists(path):
        raise Skip(f"{path} is missing (scripts/deps.sh test installs it)")


def pefile_truth(paths):
    need("/usr/bin/python3")
    p = subprocess.run(["/usr/bin/python3", TRUTH] + paths, capture_output=True, text=True, timeout=900)
    if "No module named 'pefile'" in p.stderr:
        raise Skip("python3-pefile is not installed")
    assert p.returncode == 0, p.stderr[-2000:]
    return {d["path"]: d["truth"] for d in map(json.loads, p.stdout.splitlines())}


def sample_dlls():
    """the fixtures, and a spread of Wine's DLLs (every 12th by name, under 4 MB)"""
    files = [os.path.join(WIN, n) for n in ("pedll.dll", "pedll-s.dll", "pedll32.dll")]
    for f in files:
        need(f)
    wine = sorted(f for f in glob.glob(WINE64 + "/*.dll") if os.path.getsize(f) < 4 << 20)
    picked = wine[::12] + [f for f in wine if os.path.basename(f) in ("kernel32.dll", "ntdll.dll", "user32.dll",
                                                                       "comctl32.dll", "msvcrt.dll")]
    picked += sorted(glob.glob(WINE32 + "/*.dll"))
    return files + sorted(set(picked))


def ours(path):
    p = run(["image", "-a", "--json", path], timeout=120)
    assert p.returncode == 0, (path, p.stderr)
    no_sanitizer_reports(p.stderr)
    return json.loads(p.stdout)


def fn_list(dll):
    return [[f["name"], f["ordinal"], f["hint"]] for f in dll["functions"]]


def compare(path, t, o):
    where = os.path.basename(path)
    assert o["format"] == "pe" and o["bits"] == t["bits"], where
    h = o["headers"]
    assert h["machine_id"] == t["machine"] and o["timestamp"] == t["timestamp"], where
    assert h["characteristics"] == t["characteristics"], where
    assert int(o["entry_rva"], 16) == t["entry_rva"] and int(o["image_base"], 16) == t["image_base"], where
    oh = h["optional_header"]
    assert (oh["dll_characteristics"], oh["size_of_image"], oh["checksum"]) == \
        (t["dll_characteristics"], t["size_of_image"], t["checksum"]), where
    secs = [{"name": s["name"], "va": int(s["va"], 16), "vsize": s["vsize"], "raw_offset": s["raw_offset"],
             "raw_size": s["raw_size"], "flags": s["flags"]} for s in o["sections"]]
    for mine, theirs in zip(secs, t["sections"]):
        if theirs["name"].startswith("/"):   # pefile leaves long names as "/4"; we look them up
            mine["name"] = theirs["name"]
    assert secs == t["sections"], where
    assert [[int(d["rva"], 16), d["size"]] for d in o["directories"]] == t["directories"][:16], where
    assert [{"dll": d["dll"], "functions": fn_list(d)} for d in o["imports"]] == t["imports"], where
    assert [{"dll": d["dll"], "functions": fn_list(d)} for d in o["delay_imports"]] == t["delay_imports"], where
    if t["exports"]:
        e = o["exports"]
        assert e["dll_name"] == t["exports"]["dll_name"] and e["base"] == t["exports"]["base"], where
        mine = sorted([[x["ordinal"], x["name"], int(x["rva"], 16), x["forwarder"]] for x in e["entries"]],
                      key=lambda x: (x[0], x[1] or ""))
        assert mine == t["exports"]["entries"], where
    else:
        assert o["exports"]["entries"] == [], where
    if t["relocations"]:
        r = o["relocations"]
        assert len(r["blocks"]) == t["relocations"]["blocks"], where
        assert r["by_type"] == {RELOC_NAMES[int(k)]: v for k, v in t["relocations"]["by_type"].items()}, where
    res = [[x.get("type_id", x["type"]), x.get("id", x.get("name")), x["lang"], int(x["rva"], 16), x["size"]]
           for x in o["resources"]]
    assert sorted(map(str, res)) == sorted(map(str, t["resources"])), where
    dbg = [{"type": d["type_id"], "size": d["size"], "rva": int(d["rva"], 16)} for d in o["debug"]]
    assert dbg == [{k: d[k] for k in ("type", "size", "rva")} for d in t["debug"]], where
    for mine, theirs in zip(o["debug"], t["debug"]):
        if "pdb" in theirs:
            assert mine["pdb"] == theirs["pdb"], where
            if "age" in theirs:
                assert mine["age"] == theirs["age"], where
    if t["tls_callbacks"] is not None:
        assert [int(c, 16) for c in o["tls"]["callbacks"]] == t["tls_callbacks"], where
    else:
        assert o["tls"] is None, where
    assert (o["overlay"]["offset"] if o["overlay"] else None) == t["overlay"], where
    if t["rich"]:
        assert o["rich"]["key"] == t["rich"]["key"], where
        assert [[e["product"], e["build"], e["count"]] for e in o["rich"]["entries"]] == t["rich"]["entries"], where
        assert o["rich"]["checksum_valid"] == (t["rich"]["checksum"] == t["rich"]["key"]), where
    else:
        assert o["rich"] is None, where


def test_pe_against_pefile():
    files = sample_dlls()
    truth = pefile_truth(files)
    checked = 0
    for f in files:
        compare(f, truth[f], ours(f))
        checked += 1
    assert checked >= 30, checked


def test_fixture_contents():
    """what the fixture was built with (pedll.c, pedll.def, pedll.rc)"""
    need(os.path.join(WIN, "pedll.dll"))
    for name, bits in (("pedll-s.dll", 64), ("pedll32.dll", 32)):
        o = ours(os.path.join(WIN, name))
        assert o["bits"] == bits and o["dll"] is True
        e = {x["name"]: x for x in o["exports"]["entries"]}
        assert set(e) == {"pedll_add", "pedll_name", "pedll_counter", "pedll_tick", "pedll_forward", None}
        assert e["pedll_forward"]["forwarder"] == "kernel32.GetTickCount"
        assert e[None]["ordinal"] == 7 and e[None]["rva"] == e["pedll_add"]["rva"]   # by ordinal only
        dlls = {d["dll"].lower(): [f["name"] for f in d["functions"]] for d in o["imports"]}
        assert "gettickcount" in [n.lower() for n in dlls["kernel32.dll"]]
        assert len(o["tls"]["callbacks"]) >= 1
        types = {r["type"] for r in o["resources"]}
        assert {"VERSION", "STRING"} <= types
    full = ours(os.path.join(WIN, "pedll.dll"))
    names = {s["name"] for s in full["symbols"]}
    assert {"pedll_add", "pedll_name", "DllMain"} <= names   # the COFF symbol table of the unstripped DLL
    assert any(s["name"] == ".debug_info" for s in full["sections"])   # a long name, from the string table


def test_rva_and_offset():
    need(os.path.join(WIN, "pedll-s.dll"))
    path = os.path.join(WIN, "pedll-s.dll")
    o = ours(path)
    text = [s for s in o["sections"] if s["name"] == ".text"][0]
    rva = int(text["va"], 16) + 0x10
    p = run(["image", path, "--rva", hex(rva)])
    want = text["raw_offset"] + 0x10
    assert p.returncode == 0 and f"file offset {hex(want)} (.text)" in p.stdout, p.stdout
    p = run(["image", path, "--offset", hex(want)])
    assert f"RVA {hex(rva)} (.text)" in p.stdout, p.stdout
    p = run(["image", path, "--hex", ".text"])
    assert p.returncode == 0 and p.stdout.count("\n") == text["raw_size"] // 16 + 1


def objdump(tool, args, path):
    p = subprocess.run([tool] + args + [path], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_coff_object_and_archive():
    obj, lib = os.path.join(WIN, "pedll.o"), os.path.join(WIN, "libpedll.a")
    need(obj)
    o = run_json(["image", obj])
    assert o["format"] == "coff" and o["machine"] == "AMD64"
    # objdump -h: Idx Name Size VMA LMA File-off Algn
    rows = re.findall(r"^\s*\d+\s+(\S+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+[0-9a-f]+\s+([0-9a-f]+)", 
                      objdump("x86_64-w64-mingw32-objdump", ["-h"], obj), re.M)
    mine = [(s["name"], s["raw_size"], s["raw_offset"]) for s in o["sections"]]
    assert [(n, int(sz, 16), int(off, 16)) for n, sz, off in rows] == mine
    relocs = {s["name"]: len(s.get("relocs", [])) for s in o["sections"]}
    rtext = objdump("x86_64-w64-mingw32-objdump", ["-r", "-j", ".text"], obj)
    assert relocs[".text"] == len(re.findall(r"^[0-9a-f]{16} IMAGE_REL", rtext, re.M)) > 0
    syms = objdump("x86_64-w64-mingw32-objdump", ["-t"], obj)
    assert len(o["symbols"]) == len(re.findall(r"^\[\s*\d+\]", syms, re.M))
    byname = {s["name"]: s for s in o["symbols"]}
    assert byname[".file"]["file"] == "pedll.c"
    assert byname[".text"]["section_definition"]["relocations"] == relocs[".text"]
    a = run_json(["image", lib])
    members = [m["name"] for m in a["members"] if not m["index"]]
    listed = subprocess.run(["x86_64-w64-mingw32-ar", "t", lib], capture_output=True, text=True).stdout.split()
    assert members == listed
    first = listed[0]
    m = run_json(["image", lib, "--member", first])
    assert m["format"] == "coff"


def test_elf_against_readelf():
    for path in ("/bin/ls", "/lib/x86_64-linux-gnu/libc.so.6", os.path.join(BUILD, "fixtures", "layout32")):
        o = run_json(["image", "-a", path])
        out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True).stdout
        rows = re.findall(r"^\s*\[\s*(\d+)\]\s+(\S*)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", out, re.M)
        want = [(name if name != "NULL" else "", int(addr, 16), int(off, 16), int(size, 16))
                for _, name, _, addr, off, size in rows]
        mine = [(s["name"], int(s["addr"], 16), s["offset"], s["size"]) for s in o["sections"]]
        # readelf prints an empty name's type in the name column for section 0
        assert mine[1:] == want[1:], path
        ph = subprocess.run(["readelf", "-lW", path], capture_output=True, text=True).stdout
        loads = re.findall(r"^\s*LOAD\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)", ph, re.M)
        mine_loads = [(s["offset"], int(s["vaddr"], 16), s["filesz"], s["memsz"]) for s in o["segments"] if s["type"] == "LOAD"]
        assert mine_loads == [tuple(int(x, 16) for x in l) for l in loads], path
        syms = subprocess.run(["readelf", "--dyn-syms", "-W", path], capture_output=True, text=True).stdout
        m = re.search(r"Symbol table '\.dynsym' contains (\d+) entries", syms)
        dyn = [t for t in o["symtabs"] if t["section"] == ".dynsym"]
        assert dyn and int(m.group(1)) == dyn[0]["count"], path
        # relocations: readelf -r's count per section, and the first entry
        rel = subprocess.run(["readelf", "-rW", path], capture_output=True, text=True).stdout
        counts = dict(re.findall(r"Relocation section '(\S+)' at offset 0x[0-9a-f]+ contains (\d+) entr", rel))
        mine = {r["section"]: r["entries"] for r in o["relocations"] if r["section"] in counts}
        assert mine == {k: int(v) for k, v in counts.items()}, path
        first = re.search(r"contains \d+ entr\S+:\n.*\n\s*([0-9a-f]+)\s+([0-9a-f]+)", rel)
        r0 = o["relocations"][0]["relocs"][0]
        assert int(r0["offset"], 16) == int(first.group(1), 16), path
        # versions: the names readelf -V says are needed
        ver = subprocess.run(["readelf", "-VW", path], capture_output=True, text=True).stdout
        need = set(re.findall(r"Name: (\S+)\s+Flags: \S+\s+Version: \d+", ver))
        assert {v["name"] for v in o["versions"]["needed"]} == need, path
        # notes: as many as readelf -n lists, build id included
        notes = subprocess.run(["readelf", "-nW", path], capture_output=True, text=True).stdout
        assert len(o["notes"]) == len(re.findall(r"^\s+(?:GNU|stapsdt|Go|FDO)\s+0x[0-9a-f]+", notes, re.M)), path
        bid = re.search(r"Build ID: ([0-9a-f]+)", notes)
        if bid:
            assert o["build_id"] == bid.group(1), path


def test_hostile_files():
    need(os.path.join(WIN, "pedll.dll"))
    with open(os.path.join(WIN, "pedll.dll"), "rb") as f:
        blob = f.read()
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "cut.dll")
        for cut in (2, 63, 64, 0x80, 0x100, 0x180, 0x200, 0x400, 0x1000, len(blob) // 2, len(blob) - 1):
            with open(path, "wb") as f:
                f.write(blob[:cut])
            p = run(["image", "-a", path, "--json"])
            no_sanitizer_reports(p.stderr)
            assert p.returncode in (0, 1), (cut, p.returncode, p.stderr)
            if p.returncode == 1:
                one_error_line(p, 1, "cut.dll")
            else:
                assert json.loads(p.stdout)["warnings"], cut   # something was cut short, and it says so
        text = os.path.join(d, "notes.txt")
        with open(text, "w") as f:
            f.write("hello\n")
        one_error_line(run(["image", text]), 1, "not a PE, COFF, ELF or archive")
        one_error_line(run(["image", os.path.join(d, "none")]), 1, "cannot open")
        one_error_line(run(["image"]), 2, "no FILE")
        one_error_line(run(["image", "--bogus", text]), 2)


def test_odd_files():
    """the odd PE files tests/fuzz/make_pe_seeds.py makes: a dump with the
    damage named, or one clean error line"""
    gen = os.path.join(os.path.dirname(__file__), "..", "fuzz", "make_pe_seeds.py")
    expect = {"ok": None, "resource-cycle": "loops back", "export-absurd": "at most", "import-no-end": "runs off",
              "overlapping": "overlap", "reloc-bad-size": "outside the directory", "short-opt": "short of",
              "sections-past-end": "past the end", "rva-outside": "cannot be read", "zero-sized": "empty",
              "name-unterminated": "terminated", "lfanew-past-end": 1, "no-pe-signature": 1,
              "import-fanout": "more thunks than the image holds", "import-bad-name": "rest of its table left out"}
    with tempfile.TemporaryDirectory() as d:
        subprocess.run(["python3", gen, d], check=True)
        seen = set()
        for seed in sorted(os.listdir(d)):
            name = seed[len("odd-"):]
            path = os.path.join(d, name + ".dll")
            with open(os.path.join(d, seed), "rb") as f, open(path, "wb") as g:
                g.write(f.read()[1:])
            p = run(["image", "-a", "--json", path])
            no_sanitizer_reports(p.stderr)
            # the output is bounded by what the file holds
            assert len(p.stdout) < 64 * os.path.getsize(path) + (1 << 20), (name, len(p.stdout))
            want = expect.get(name, "?")
            if want == 1:
                one_error_line(p, 1, name)
            else:
                assert p.returncode == 0, (name, p.stderr)
                warnings = json.loads(p.stdout)["warnings"]
                if want is None:
                    assert warnings is None, (name, warnings)
                elif want != "?":
                    assert warnings and want in warnings, (name, warnings)
            seen.add(name)
    assert set(expect) <= seen


def test_section_name_table_claimed_past_the_end():
    """an ELF whose section name table claims 15 MiB, more than the file
    holds: the claim is not allocated or read, the dump says why and goes
    on (names empty), the file's other tables as before"""
    src = os.path.join(BUILD, "fixtures", "layout")
    if not os.path.exists(src):
        raise Skip("no layout fixture (make fixtures)")
    import struct
    with open(src, "rb") as f:
        blob = bytearray(f.read())
    shoff, = struct.unpack_from("<Q", blob, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", blob, 0x3a)
    at = shoff + shstrndx * shentsize + 0x20  # Elf64_Shdr.sh_size
    struct.pack_into("<Q", blob, at, 15 << 20)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bigclaim")
        with open(path, "wb") as f:
            f.write(blob)
        p = run(["image", "--json", path])
        no_sanitizer_reports(p.stderr)
        assert p.returncode == 0, p.stderr
        doc = json.loads(p.stdout)
        assert "section name table is unreadable (past the end of the file)" in (doc["warnings"] or ""), doc
        assert len(doc.get("sections", [])) == shnum, len(doc.get("sections", []))
