"""vmatlas map on live processes, checked against /proc, readelf and the
truth the layout fixture prints about itself."""
import os
import re
import subprocess

from lib import (alloc_of, fixture, proc_maps, region_of, regions, run, run_json, vmas,
                 no_sanitizer_reports, assert_not_held, FIXTURES)

PAGE = 4096


def nonfree(doc):
    """the regions but free gaps, as the kernel's VMAs"""
    return vmas([r for r in regions(doc) if r["state"] != "free"])


LAYOUTS = ("layout", "layout32")


def test_regions_match_proc_maps():
    for name in LAYOUTS:
        regions_match_proc_maps(name)


def regions_match_proc_maps(name):
    with fixture(name=name) as (p, truth):
        doc = run_json(["map", str(truth["pid"])])
        want = proc_maps(truth["pid"])
    got = nonfree(doc)
    assert len(got) == len(want), (len(got), len(want))
    for g, w in zip(got, want):
        assert int(g["base"], 16) == w["start"], (g, w)
        assert g["size"] == w["end"] - w["start"], (g, w)
        assert g["prot"] == w["perms"], (g, w)
        assert int(g["offset"], 16) == w["offset"], (g, w)
        path = w["path"]
        if path and path.endswith(" (deleted)"):
            path = path[: -len(" (deleted)")]
            assert g.get("deleted") is True
        assert g["path"] == path, (g, w)
        if w["perms"].startswith("---"):
            assert g["state"] == "reserve"
        else:
            assert g["state"] == "commit"


def test_layout_truth():
    for name in LAYOUTS:
        layout_truth(name)


def layout_truth(name):
    with fixture(name=name) as (p, t):
        doc = run_json(["map", str(t["pid"])])
    assert doc["target"]["bits"] == t["bits"]
    # the PROT_NONE reservation is an allocation of its own
    a = alloc_of(doc, t["reserve"]["addr"])
    assert a["usage"] == "reserved" and int(a["base"], 16) == t["reserve"]["addr"]
    assert a["size"] == t["reserve"]["size"]
    # a mapping split in three by mprotect stays one allocation
    a = alloc_of(doc, t["split"]["addr"])
    assert int(a["base"], 16) == t["split"]["addr"] and a["size"] == t["split"]["size"], a
    assert [r["prot"] for r in a["regions"]] == ["rw-p", "r--p", "rw-p"]
    assert [r["size"] for r in a["regions"]] == t["split"]["pieces"]
    assert a["usage"] == "private"
    # file and shared memory
    a = alloc_of(doc, t["shared_file"]["addr"])
    assert a["usage"] == "mapped" and a["regions"][0]["prot"] == "rw-s"
    assert a["regions"][0]["path"] == t["shared_file"]["path"]
    a = alloc_of(doc, t["shared_anon"]["addr"])
    assert a["usage"] == "shareable" and a["regions"][0]["type"] == "shareable"
    # executable memory without an image
    r = region_of(doc, t["code"]["addr"])
    assert any(c["kind"] == "code" for c in r["contents"]), r
    # an ELF file mapped as data is a mapping, not an image or module
    a = alloc_of(doc, t["elf_data"]["addr"])
    assert a["usage"] == "mapped", a
    assert not any(int(m["base"], 16) == t["elf_data"]["addr"] for m in doc["modules"])
    # malloc: the brk heap, and a large block with a mapping of its own
    for addr in t["small"]:
        a = alloc_of(doc, addr)
        assert a["usage"] == "heap" and a["details"].startswith("brk heap"), a
    chunk = t["big"]["addr"] - 2 * t["bits"] // 8   # the chunk header is two words
    a = alloc_of(doc, t["big"]["addr"])
    assert a["usage"] == "heap", a
    assert any(c["kind"] == "heap" and int(c["addr"], 16) == chunk
               and c["size"] >= t["big"]["size"] for c in region_of(doc, chunk)["contents"])


def test_threads_and_stacks():
    for name in LAYOUTS:
        threads_and_stacks(name)


def threads_and_stacks(name):
    with fixture("--threads", 5, name=name) as (p, t):
        doc = run_json(["map", str(t["pid"])])
        tids = sorted(int(x) for x in os.listdir(f"/proc/{t['pid']}/task"))
    assert sorted(th["tid"] for th in doc["threads"]) == tids
    by_tid = {th["tid"]: th for th in doc["threads"]}
    arenas = 0
    main = by_tid[t["main_tid"]]
    assert main["main"] and main["stack"] is not None
    assert region_of(doc, int(main["sp"], 16))["path"] == "[stack]"
    for w in t["threads"]:
        th = by_tid[w["tid"]]
        assert th["name"] == w["name"], th
        # the stack region is exactly what pthread_getattr_np reports
        assert int(th["stack"]["base"], 16) == w["stack_lo"], (th, w)
        assert th["stack"]["size"] == w["stack_size"], (th, w)
        sp = int(th["sp"], 16)
        assert w["stack_lo"] <= sp < w["stack_lo"] + w["stack_size"]
        assert th["stack"]["guard_size"] == w["guard"], (th, w)
        a = alloc_of(doc, w["stack_lo"])
        assert a["usage"] == "stack" and int(a["base"], 16) == w["stack_lo"] - w["guard"]
        guard = a["regions"][0]
        assert guard["state"] == "reserve" and guard["size"] == w["guard"]
        assert any(c["kind"] == "guard" and c.get("tid") == w["tid"] for c in guard["contents"])
        stack = a["regions"][1]
        assert any(c["kind"] == "stack" and c.get("tid") == w["tid"] for c in stack["contents"])
        # glibc puts the thread pointer at the top of the stack mapping
        tls = int(th["tls"], 16)
        assert w["stack_lo"] < tls < w["stack_lo"] + w["stack_size"]
        assert any(c["kind"] == "tls" and c.get("tid") == w["tid"] for c in stack["contents"])
        # each thread's malloc went to a heap: a secondary arena's
        # (glibc caps the arenas at 8 per core, 2 on 32-bit) or the main one
        a = alloc_of(doc, w["block"])
        assert a["usage"] == "heap", a
        if a["details"] == "glibc arena heap":
            heap_max = (64 << 20) if t["bits"] == 64 else (1 << 20)   # glibc's HEAP_MAX_SIZE
            assert int(a["base"], 16) % heap_max == 0, a
            items = a["regions"][0]["contents"]
            heap = [c for c in items if c["name"] == "arena heap"]
            assert heap and heap[0]["detail"].startswith("arena 0x"), items
            # the walk's counts beside it do not name the arena again
            walk = [c for c in items if c["name"].startswith("malloc arena ")]
            assert walk and "chunks in use" in walk[0]["detail"], items
            assert not walk[0]["detail"].startswith("arena 0x"), walk
            assert a["regions"][-1]["state"] == "reserve"   # the reserved tail
            arenas += 1
        else:
            assert a["details"] == "brk heap (main arena)", a
    assert arenas >= 1


def readelf_sections(path):
    out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True).stdout
    secs = []
    for line in out.splitlines():
        m = re.match(r"\s*\[\s*\d+\]\s+(\S+)\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)"
                     r"\s+\S+\s+(\S*)", line)
        if m and "A" in m.group(6) and int(m.group(3), 16) and not \
                ("T" in m.group(6) and m.group(2) == "NOBITS"):
            secs.append((m.group(1), int(m.group(3), 16), int(m.group(5), 16)))
    return secs


def test_sections_match_readelf():
    for name in LAYOUTS:
        sections_match_readelf(name)


def sections_match_readelf(name):
    exe = os.path.realpath(os.path.join(FIXTURES, name))
    with fixture(name=name) as (p, t):
        doc = run_json(["map", str(t["pid"])])
    mods = {m["path"]: m for m in doc["modules"] if m["path"]}
    libc = next(path for path in mods if os.path.basename(path).startswith("libc.so"))
    for path in (exe, libc):
        mod = mods[path]
        bias = int(mod["load_bias"], 16)
        got = {}
        for r in regions(doc):
            for c in r["contents"]:
                if c["kind"] == "section" and c.get("module") == mod["name"]:
                    got.setdefault(c["name"], set()).add((int(c["addr"], 16), c["size"]))
        want = readelf_sections(path)
        assert want, path
        for name, addr, size in want:
            assert (addr + bias, size) in got.get(name, set()), (path, name, got.get(name))
            # placed on the region that holds its first byte
            assert any(c["name"] == name for c in region_of(doc, addr + bias)["contents"])


def test_modules_and_build_ids():
    for name in LAYOUTS:
        modules_and_build_ids(name)


def modules_and_build_ids(name):
    with fixture(name=name) as (p, t):
        doc = run_json(["map", str(t["pid"])])
    names = [m["name"] for m in doc["modules"]]
    assert name in names and "linux-vdso.so.1" in names, names
    assert any(n.startswith("libc.so") for n in names) and any(n.startswith("ld-linux") for n in names)
    for m in doc["modules"]:
        assert m["sources"] == ["loader", "regions"], m
        assert m["format"] == "elf" and m["bits"] == t["bits"]
        if not m["path"]:
            continue
        notes = subprocess.run(["readelf", "-n", m["path"]], capture_output=True, text=True).stdout
        bid = re.search(r"Build ID: ([0-9a-f]+)", notes)
        if bid:
            assert m["build_id"] == bid.group(1), (m, bid.group(1))
        # the module covers the regions of its file
        base, size = int(m["base"], 16), m["size"]
        for r in regions(doc):
            if r["path"] == m["path"] and r["type"] == "image":
                assert base <= int(r["base"], 16) and int(r["base"], 16) + r["size"] <= base + size


def test_summary_adds_up():
    with fixture() as (p, t):
        doc = run_json(["map", str(t["pid"]), "--all"])
    rows = {r["usage"]: r for r in doc["summary"]}
    total = doc["total"]
    for key in ("size", "committed", "rss", "private", "shared", "blocks"):
        assert sum(r[key] for u, r in rows.items() if u != "free") == total[key], key
    regs = [r for r in regions(doc) if r["state"] != "free"]
    assert total["size"] == sum(r["size"] for r in regs)
    assert total["rss"] == sum(r["rss"] for r in regs)
    assert total["committed"] == sum(r["size"] for r in regs if r["state"] == "commit")
    assert total["blocks"] == sum(1 for a in doc["allocations"] if a["usage"] != "free")
    for u, r in rows.items():
        sizes = [a["size"] for a in doc["allocations"] if a["usage"] == u]
        assert r["largest"] == (max(sizes) if sizes else 0), u
    # with --all the free gaps and the regions tile the user address space
    allr = regions(doc)
    for a, b in zip(allr, allr[1:]):
        if int(b["base"], 16) < 1 << 63:
            assert int(a["base"], 16) + a["size"] == int(b["base"], 16)
    assert rows["free"]["size"] + sum(r["size"] for r in regs if int(r["base"], 16) < 1 << 63) \
        == int(doc["target"]["user_top"], 16)


def test_text_output():
    with fixture() as (p, t):
        pid = str(t["pid"])
        out = run(["map", pid])
        flat = run(["map", pid, "--flat"])
        heap = run(["map", pid, "--usage", "heap,stack"])
        colour = run(["map", pid, "--color", "always"])
        contents = run(["map", pid, "-c"])
    assert out.returncode == 0 and out.stderr == ""
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"pid {pid} (layout)")
    assert any(l.startswith("Usage ") for l in lines[:4])
    assert any(l.startswith("total ") for l in lines) and "\033[" not in out.stdout
    assert "\033[" in colour.stdout
    # the tree: allocation lines, then indented region lines
    assert any(l.startswith("  ") and "rw-p" in l for l in lines)
    assert all(not l.startswith("  ") for l in flat.stdout.splitlines())
    # a flat line names its stack once, not as allocation and again as item
    stacks = [l for l in flat.stdout.splitlines() if re.search(r"stack of (main )?thread \d+", l)]
    assert stacks, flat.stdout
    for l in stacks:
        assert len(re.findall(r"stack of (?:main )?thread \d+", l)) == 1, l
    tree = heap.stdout.split("Address", 1)[1]
    allocs = [l for l in tree.splitlines()[1:] if l and not l.startswith(" ")]
    assert allocs and all(re.match(r"[0-9a-f]+\s+[\d.]+ \S+\s+(heap|stack) ", l) for l in allocs), allocs
    assert ".text" in contents.stdout and "section" in contents.stdout


def test_pages():
    with fixture() as (p, t):
        pid, addr = t["pid"], t["split"]["addr"]
        doc = run_json(["map", str(pid), "--pages", hex(addr)])
        text = run(["map", str(pid), "--pages", hex(addr)])
        # ground truth: read pagemap ourselves
        with open(f"/proc/{pid}/pagemap", "rb") as f:
            f.seek(addr // PAGE * 8)
            raw = f.read(4 * 8)
    r = region_of(doc, addr)
    assert r["pages"]["present"] == 4 and r["pages"]["swapped"] == 0
    runs = r["pages"]["runs"]
    assert sum(x["count"] for x in runs) == r["size"] // PAGE
    assert int(runs[0]["addr"], 16) == addr
    want = sum(1 for i in range(4) if int.from_bytes(raw[8 * i:8 * i + 8], "little") >> 63)
    assert want == 4
    assert all("present" in x["flags"] and "exclusive" in x["flags"] for x in runs)
    if os.geteuid() == 0:
        assert r["pages"]["mapcount_known"] and all(x["mapcount"] == 1 for x in runs)
    # only that region got page detail
    assert sum(1 for x in regions(doc) if "pages" in x) == 1
    assert "Present/Shared" in text.stdout
    with fixture() as (p, t):
        doc = run_json(["map", str(t["pid"]), "--pages"])
    assert all("pages" in x for x in regions(doc) if x["state"] == "commit" and x["type"] != "special")


def test_freeze_releases_every_thread():
    with fixture("--threads", 8) as (p, t):
        doc = run_json(["map", str(t["pid"]), "--freeze"])
        assert doc["frozen"] is True
        assert len(doc["threads"]) == 9
        assert_not_held(t["pid"])
        doc = run_json(["map", str(t["pid"])])
        assert doc["frozen"] is False
        assert all(th["sp"] is not None for th in doc["threads"])
        assert_not_held(t["pid"])
        assert p.poll() is None


def test_map_self():
    doc = run_json(["map", "self"])
    assert doc["target"]["exe"] == os.path.realpath(os.path.join(os.path.dirname(FIXTURES), "vmatlas"))
    assert doc["threads"][0]["stack"] is not None
    assert any(m["name"] == "vmatlas" for m in doc["modules"])


def test_other_programs():
    """bash, python3 with threads: complete, exact maps."""
    progs = [["bash", "-c", "read x"],
             ["python3", "-c", "import threading,sys\n"
              "ts=[threading.Thread(target=sys.stdin.read) for _ in range(3)]\n"
              "[t.start() for t in ts]\nprint('ready',flush=True)\n[t.join() for t in ts]"]]
    for argv in progs:
        p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            if argv[0] == "python3":
                p.stdout.readline()
            else:
                import time
                time.sleep(0.2)
            out = run(["map", str(p.pid), "--json"])
            want = proc_maps(p.pid)
            assert out.returncode == 0, out.stderr
            no_sanitizer_reports(out.stderr)
            import json
            doc = json.loads(out.stdout)
            got = nonfree(doc)
            assert [(int(r["base"], 16), r["size"]) for r in got] == \
                [(w["start"], w["end"] - w["start"]) for w in want]
            stacks = [th for th in doc["threads"] if th["stack"]]
            assert len(stacks) == len(doc["threads"]), doc["threads"]
            assert_not_held(p.pid)
        finally:
            p.stdin.close()
            p.wait(timeout=10)


def test_map_faults_nothing_in():
    """Reading headers must not bring pages of mapped files into memory:
    the ELF file mapped as data was never touched, and stays so."""
    import struct
    with fixture() as (p, t):
        addr, size = t["elf_data"]["addr"], t["elf_data"]["size"]

        def resident():
            with open(f"/proc/{t['pid']}/pagemap", "rb") as f:
                f.seek(addr // 4096 * 8)
                n = size // 4096
                return sum(1 for e in struct.unpack(f"<{n}Q", f.read(8 * n)) if e >> 62)
        before = resident()
        doc = run_json(["map", str(t["pid"])])
        after = resident()
    assert before == 0 and after == 0, (before, after)
    a = alloc_of(doc, addr)
    assert any(c["name"] == "ELF header" for r in a["regions"] for c in r.get("contents", []))


def test_anonymous_grouping():
    """#15 item 12: adjacent anonymous regions with the same protection are
    separate mmaps; one whose protection changes from region to region
    (a reserved tail, a re-protected middle, a guard below) is one; the
    JSON says which groupings are proven and which are guessed"""
    with fixture(name="groupfix") as (p, t):
        doc = run_json(["map", str(t["pid"])])
    allocs = {int(a["base"], 16): a for a in doc["allocations"]}
    for want in t["allocs"]:
        a = allocs.get(want["base"])
        assert a, hex(want["base"])
        assert (a["size"], len(a["regions"]), a["grouping"]) == (want["size"], want["regions"], "heuristic"), \
            (want, a)
    for a in doc["allocations"]:
        if a["usage"] == "free":
            assert "grouping" not in a
        elif a["usage"] in ("image", "stack") or a["details"] == "brk heap (main arena)":
            assert a["grouping"] == "exact", a
