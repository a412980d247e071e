"""vmatlas heap on known malloc/free patterns (where glibc's rules fix
every chunk's list), with and without libc's symbols, on 64- and 32-bit
programs, with damaged heaps, and beside another allocator."""
import json
import os
import subprocess
import tempfile

from lib import FIXTURES, fixture, no_sanitizer_reports, run, run_json


def chunks_by_addr(doc):
    return {int(c["addr"], 16): c for h in doc["heaps"] for c in h.get("chunks", [])}


def check_patterns(name, env=None):
    with fixture(name=name) as (p, t):
        r = subprocess.run([os.path.join(os.path.dirname(FIXTURES), "vmatlas"), "heap", str(t["pid"]),
                            "--blocks", "--json"], capture_output=True, text=True, env=env, timeout=60)
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
    chunks = chunks_by_addr(doc)
    for b in t["blocks"]:
        c = chunks.get(b["chunk"])
        assert c, (name, hex(b["chunk"]))
        assert c["size"] == b["size"], (c, b)
        if b["free"]:
            assert c["state"] == "free" and c["bin"] == b["bin"], (name, c, b)
        else:
            assert c["state"] == "used" and c["bin"] is None, (name, c, b)
            assert c["usable"] >= 8 and int(c["user"], 16) == b["user"]
    assert len(doc["arenas"]) == 3 and doc["arenas"][0]["main"]
    main = doc["arenas"][0]["bins"]
    assert (main["tcache"]["count"], main["fastbin"]["count"], main["unsorted"]["count"],
            main["small"]["count"], main["large"]["count"]) == (14, 1, 1, 1, 1)
    for i, a in enumerate(doc["arenas"]):
        segs = [h for h in doc["heaps"] if h["id"] == i]
        used = sum(c["size"] for h in segs for c in h["chunks"] if c["state"] == "used")
        free = sum(c["size"] for h in segs for c in h["chunks"] if c["state"] == "free")
        assert (a["in_use"], a["free"]) == (used, free)
        top = [c for h in segs for c in h["chunks"] if c["state"] == "top"]
        assert len(top) == 1 and int(top[0]["addr"], 16) == int(a["top"], 16)
    # the chunks tile each heap: no gaps, no overlaps
    for h in doc["heaps"]:
        if h["kind"] == "mmapped":
            continue
        cs = sorted((int(c["addr"], 16), c["size"]) for c in h["chunks"])
        for (a1, s1), (a2, _) in zip(cs, cs[1:]):
            assert a1 + s1 == a2
    assert doc["problems"] == []
    return doc


def test_bins_follow_glibc_rules():
    doc = check_patterns("heapfix")
    assert doc["main_arena_source"] == "symbol" and doc["tcache_source"] == "thread_db"
    assert doc["version"]


def test_without_libc_symbols():
    with tempfile.TemporaryDirectory() as d:
        doc = check_patterns("heapfix", env=dict(os.environ, VMATLAS_DEBUG_DIR=d))
    assert doc["main_arena_source"] == "scan" and doc["tcache_source"] == "scan"


def test_32bit():
    doc = check_patterns("heapfix32")
    assert doc["main_arena_source"] == "scan"  # no 32-bit libc debug symbols


def test_damaged_heaps():
    expect = {"size": "bad chunk size 0x3", "loop": "fastbin 0: the list loops",
              "bk": "bin 1: corrupted double-linked list"}
    for mode, what in expect.items():
        with fixture("--corrupt", mode, name="heapfix") as (p, t):
            r = run(["heap", str(t["pid"]), "--json", "--blocks"], timeout=30)
            text = run(["heap", str(t["pid"])], timeout=30)
            m = run(["map", str(t["pid"]), "--json"], timeout=30)
        for x in (r, text, m):
            no_sanitizer_reports(x.stderr)
            assert x.returncode == 0, x.stderr
        doc = json.loads(r.stdout)
        probs = [x["what"] for x in doc["problems"]]
        assert any(what in p for p in probs), (mode, probs)
        assert "Problems" in text.stdout
        if mode == "size":
            assert any(h["cut_short"] for h in doc["heaps"])
            assert int(doc["problems"][0]["addr"], 16) == t["victim"]


def test_map_carries_arenas():
    with fixture(name="heapfix") as (p, t):
        doc = run_json(["map", str(t["pid"])])
        heap = run_json(["heap", str(t["pid"])])
    found = {}
    for a in doc["allocations"]:
        for r in a["regions"]:
            for c in r["contents"]:
                if c["kind"] == "heap" and c["name"].startswith("malloc arena"):
                    found[c["name"]] = c
    assert set(found) == {"malloc arena 0", "malloc arena 1", "malloc arena 2"}
    a0 = heap["arenas"][0]
    assert f"{a0['in_use_chunks']} chunks in use ({a0['in_use']} bytes)" in found["malloc arena 0"]["detail"]


def test_options_and_other_allocators():
    with fixture(name="heapfix") as (p, t):
        one = run_json(["heap", str(t["pid"]), "--arena", "1"])
        bad = run(["heap", str(t["pid"]), "--arena", "9"])
    assert len(one["arenas"]) == 1 and one["arenas"][0]["id"] == 1
    assert all(h["id"] == 1 for h in one["heaps"]) and "chunks" not in one["heaps"][0]
    assert bad.returncode == 1 and "no arena 9" in bad.stderr
    je = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
    if not os.path.exists(je):
        return
    q = subprocess.Popen(["sleep", "30"], env=dict(os.environ, LD_PRELOAD=je))
    try:
        import time
        time.sleep(0.2)
        r = run(["heap", str(q.pid)])
    finally:
        q.kill()
        q.wait()
    assert r.returncode == 1 and "libjemalloc.so.2, not glibc malloc" in r.stderr, r.stderr


def test_static_program():
    """glibc's startup takes the start of a static program's brk heap for
    TLS: the chunks begin after it."""
    with fixture(name="stacks-static") as (p, t):
        doc = run_json(["heap", str(t["pid"]), "--blocks"])
    assert doc["main_arena_source"] == "symbol" and doc["problems"] == []
    brk = next(h for h in doc["heaps"] if h["kind"] == "brk")
    assert brk["in_use_chunks"] > 0 and not brk["cut_short"]
    assert brk["chunks"][-1]["state"] == "top"


def check_core_heap(core, truth):
    """the heap of a core against the fixture's truth, and the map's brk
    heap where malloc's chunks are"""
    doc = run_json(["heap", core, "--blocks"])
    chunks = chunks_by_addr(doc)
    for b in truth["blocks"]:
        c = chunks.get(b["chunk"])
        assert c and c["size"] == b["size"], (core, hex(b["chunk"]))
        assert (c["state"] == "free") == b["free"] and (not b["free"] or c["bin"] == b["bin"]), (c, b)
    assert doc["problems"] == [], doc["problems"]
    brk = next(h for h in doc["heaps"] if h["kind"] == "brk")
    assert not brk["cut_short"] and brk["chunks"][-1]["state"] == "top"
    m = run_json(["map", core])
    heaps = [r for a in m["allocations"] if a["details"] == "brk heap (main arena)" for r in a["regions"]]
    main0 = min(b["chunk"] for b in truth["blocks"] if b["arena"] == 0)
    assert len(heaps) == 1 and int(heaps[0]["base"], 16) <= main0 < int(heaps[0]["base"], 16) + heaps[0]["size"], heaps


def test_nopie_cores():
    """#15 item 1: a position-dependent program's .bss tail is a mapping of
    its own after the executable; a core does not name [heap], and the
    brk heap is where mp_.sbrk_base and the main arena's top say, in
    kernel, gcore and capture cores alike"""
    import shutil
    from test_core import kernel_core
    with tempfile.TemporaryDirectory() as d:
        cores = []
        try:
            truth, _maps, _tids, core = kernel_core(d, "heapfix-nopie")
            cores.append((core, truth))
            piped = os.path.join(d, "piped.core")   # capture -, the core_pattern pipe mode
            with open(core, "rb") as f:
                run_json(["capture", "-", "-o", piped], stdin=f)
            cores.append((piped, truth))
        except Exception as e:  # noqa: BLE001 (no kernel cores here: the others still count)
            print("  (no kernel core:", e, ")")
        with fixture(name="heapfix-nopie") as (p, truth):
            live = run_json(["heap", str(p.pid)])
            assert live["problems"] == []
            out = os.path.join(d, "c.core")
            run_json(["capture", str(p.pid), "-o", out])
            cores.append((out, truth))
            if shutil.which("gcore"):
                g = subprocess.run(["gcore", "-o", os.path.join(d, "g"), str(p.pid)], capture_output=True,
                                   timeout=120)
                if g.returncode == 0:
                    cores.append((os.path.join(d, f"g.{p.pid}"), truth))
        assert len(cores) >= 2
        for core, truth in cores:
            check_core_heap(core, truth)


def test_static_tcache():
    """#15 item 3: a static program's main thread has a tcache too (its
    TLS block sits below the thread pointer)"""
    doc = check_patterns("heapfix-static")
    assert doc["tcache_source"] == "tls" and doc["main_arena_source"] == "symbol"


def test_static_stripped():
    """a stripped static program (busybox-static): no libc module and no
    main_arena symbol, glibc's data inside the executable, found by a scan"""
    doc = check_patterns("heapfix-static-stripped")
    assert doc["main_arena_source"] == "scan"


def first_pages_present(pid, addrs):
    """whether each page is in memory or swap, from /proc/PID/pagemap"""
    import struct
    out = []
    with open(f"/proc/{pid}/pagemap", "rb", 0) as f:
        for a in addrs:
            f.seek(a // 4096 * 8)
            out.append(struct.unpack("<Q", f.read(8))[0] >> 62 != 0)
    return out


def check_mmapped(target, truth, chunks=None, others=()):
    """heap and map of a target against malloc's own count of its mmapped
    chunks (truth: n_mmaps, mmapped_mem) and, where the fixture knows
    them, the chunks themselves and the memory merged with them"""
    heap = run_json(["heap", target, "--blocks"])
    doc = run_json(["map", target])
    text = run(["map", target])
    assert (heap["mmapped"]["count"], heap["mmapped"]["bytes"]) == (truth["n_mmaps"], truth["mmapped_mem"]), \
        (target, heap["mmapped"], truth)
    mm = {int(h["base"], 16): h["size"] for h in heap["heaps"] if h["kind"] == "mmapped"}
    if chunks is not None:
        assert mm == {c["chunk"]: c["size"] for c in chunks}, (target, mm)
    allocs = {int(a["base"], 16): a for a in doc["allocations"]}
    for base, size in mm.items():
        a = allocs.get(base)
        assert a and a["size"] == size and a["usage"] == "heap", (target, hex(base), a)
        assert a["details"] == "large malloc chunk (mmapped)", a
        assert len(a["regions"]) == 1 and any(x["name"] == "mmapped chunk" for x in a["regions"][0]["contents"])
    for o in others:
        a = allocs.get(o["base"])
        assert a and a["usage"] != "heap", (target, hex(o["base"]), a)
    assert "mp_.n_mmaps" not in text.stderr, text.stderr
    return mm


def test_mmapped_chunks_inside_mappings():
    """#15 item 2: mmapped chunks the kernel merged with the mappings
    beside them are found by their headers (checked against
    mp_.n_mmaps), and the map splits each VMA into one allocation per
    mmap: the chunk, and the rest"""
    from lib import proc_maps
    with fixture(name="heapmmap") as (p, t):
        starts = {m["start"] for m in proc_maps(p.pid)}
        if all(c["chunk"] in starts for c in t["chunks"]):
            raise Exception("the kernel merged nothing: the test proves nothing here")
        assert t["n_mmaps"] == len(t["chunks"])
        check_mmapped(str(p.pid), t, t["chunks"], t["others"])


def test_mmapped_chunks_untouched_start():
    """#15 item 2, python's layout: each chunk has a mapping merged below
    it that was never written, so the VMA's first page is not in memory
    and no chunk begins it. Found live (without faulting that page in)
    and in a capture core; the map splits them off"""
    from lib import proc_maps
    with tempfile.TemporaryDirectory() as d, fixture("untouched", name="heapmmap") as (p, t):
        vmas = [m for m in proc_maps(p.pid) if any(m["start"] < c["chunk"] < m["end"] for c in t["chunks"])]
        unwritten = [m["start"] for m, there in zip(vmas, first_pages_present(p.pid, [m["start"] for m in vmas]))
                     if not there]
        assert unwritten, ("no chunk inside a VMA whose first page is not in memory", vmas)
        assert t["n_mmaps"] == len(t["chunks"])
        check_mmapped(str(p.pid), t, t["chunks"], t["others"])
        assert not any(first_pages_present(p.pid, unwritten)), "vmatlas faulted pages in"
        core = os.path.join(d, "c.core")
        run_json(["capture", str(p.pid), "-o", core])
        check_mmapped(core, t, t["chunks"], t["others"])


def test_pages_of_split_vmas_are_each_pieces_own():
    """map --pages reads the page tables before anything reads the
    target (a read of a page never touched brings it in: the zero page),
    and a VMA the map splits (an mmapped chunk merged with the mapping
    below it) gives each piece its own runs and totals: each piece's
    present pages are those /proc/PID/pagemap said before vmatlas ran"""
    import struct
    from lib import proc_maps
    with fixture("untouched", name="heapmmap") as (p, t):
        before = {}
        with open(f"/proc/{p.pid}/pagemap", "rb", 0) as f:
            for m in proc_maps(p.pid):
                if m["path"] or m["start"] >= 1 << 47:
                    continue
                n = (m["end"] - m["start"]) // 4096
                f.seek(m["start"] // 4096 * 8)
                for k, e in enumerate(struct.unpack(f"<{n}Q", f.read(8 * n))):
                    before[m["start"] + k * 4096] = e >> 62 != 0
        doc = run_json(["map", str(p.pid), "--pages", "--json"])
        regions = [r for a in doc["allocations"] for r in a["regions"]]
        split = [r for r in regions if r.get("vma_continues")]
        assert split, "the map split no VMA"
        pieces = split + [r for r in regions if any(int(s["base"], 16) + s["size"] == int(r["base"], 16)
                                                      for s in split)]
        for r in pieces:
            base, n = int(r["base"], 16), r["size"] // 4096
            present = sum(before[base + k * 4096] for k in range(n))
            assert r["pages"]["present"] == present, (r["base"], r["pages"], present)
            assert sum(x["count"] for x in r["pages"]["runs"]) == n, r["base"]
            assert all(base <= int(x["addr"], 16) < base + r["size"] for x in r["pages"]["runs"]), r["base"]


PYTHON_BIG_DICT = """
import ctypes, json, sys, threading, time
d = {i: str(i) for i in range(2_000_000)}
for _ in range(3):
    threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
class MI(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MI
mi = libc.mallinfo2()
print(json.dumps({"pid": __import__("os").getpid(), "n_mmaps": mi.hblks, "mmapped_mem": mi.hblkhd}), flush=True)
sys.stdin.read()
"""


def test_python_mmapped_chunks():
    """#15 item 2 on Debian's python3 with three threads and a big dict:
    its chunks share VMAs with its allocator's arenas, some below pages it
    never touched. Every chunk malloc counts (mallinfo2 in the process
    itself) is found, live, in a capture core and in a gcore, each an
    allocation of its own in the map"""
    import shutil
    from lib import Skip, proc_maps
    py = "/usr/bin/python3"
    if not os.path.exists(py):
        raise Skip("no Debian python3")
    p = subprocess.Popen([py, "-c", PYTHON_BIG_DICT], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        t = json.loads(p.stdout.readline())
        starts = {m["start"] for m in proc_maps(p.pid)}
        live = check_mmapped(str(p.pid), t)
        if all(c in starts for c in live):
            raise Exception("the kernel merged no chunk with other memory: the test proves nothing here")
        with tempfile.TemporaryDirectory() as d:
            core = os.path.join(d, "c.core")
            run_json(["capture", str(p.pid), "-o", core])
            assert check_mmapped(core, t) == live
            os.unlink(core)
            if shutil.which("gcore"):
                g = subprocess.run(["gcore", "-o", os.path.join(d, "g"), str(p.pid)], capture_output=True,
                                   timeout=300)
                if g.returncode == 0:
                    assert check_mmapped(os.path.join(d, f"g.{p.pid}"), t) == live
    finally:
        p.stdin.close()
        p.wait(timeout=30)


def test_gcore_reserved_memory():
    """#15 item 11: gdb writes PROT_NONE memory as readable: the arenas'
    reserved tails (where heap_info's mprotect_size ends) and the thread
    stacks' guards are reserved again, and a diff of the live process
    against its gcore reports no re-protection of them"""
    import shutil
    from lib import Skip
    if not shutil.which("gcore"):
        raise Skip("no gcore")
    with tempfile.TemporaryDirectory() as d, fixture(name="heapfix") as (p, t):
        snap = os.path.join(d, "a.snap")
        run_json(["snapshot", str(p.pid), "-o", snap])
        g = subprocess.run(["gcore", "-o", os.path.join(d, "g"), str(p.pid)], capture_output=True, timeout=120)
        if g.returncode != 0:
            raise Skip("gcore failed")
        core = os.path.join(d, f"g.{p.pid}")
        doc = run_json(["map", core])
        diff = run_json(["diff", snap, core])
    tails = [a for a in doc["allocations"] if a["details"] == "glibc arena heap"]
    assert len(tails) == 2
    for a in tails:
        assert [r["state"] for r in a["regions"]] == ["commit", "reserve"], a
        assert a["regions"][1]["prot"] == "---p"
    stacks = [a for a in doc["allocations"] if a["usage"] == "stack" and len(a["regions"]) == 2]
    assert len(stacks) == 2 and all(a["regions"][0]["state"] == "reserve" for a in stacks), stacks
    bad = [c for c in diff["regions"]["changed"]
           if c["before"]["path"] != "[vsyscall]" and ("reprotected" in c["what"] or "state" in c["what"])]
    assert bad == [], bad


def test_blocks_listing():
    """#15 usability: `heap --blocks` lists the chunks heap by heap, each
    with a header, fd/bk of free chunks as their lists keep them (tcache
    and fastbin links revealed from safe-linking) and the first bytes of
    each chunk"""
    with fixture(name="heapfix") as (p, t):
        doc = run_json(["heap", str(p.pid), "--blocks"])
        text = run(["heap", str(p.pid), "--blocks"]).stdout
    truth = {b["chunk"]: b for b in t["blocks"]}
    users = {b["user"] for b in t["blocks"]}
    arenas = [int(a["addr"], 16) for a in doc["arenas"]]
    for h in doc["heaps"]:
        for c in h["chunks"]:
            if c["state"] != "free":
                assert "fd" not in c
                continue
            fd = int(c["fd"], 16)
            if c["bin"] in ("tcache", "fastbin"):
                # the next entry: a user pointer (tcache) or a chunk (fastbin) of the same list, or the end
                assert "bk" not in c
                assert fd == 0 or fd in users or fd in truth, (c, hex(fd))
            else:
                bk = int(c["bk"], 16)
                # alone in its bin: both links go back to the bin's head in main_arena
                assert fd == bk and 0 < fd - arenas[0] < 0x1000, c
    assert text.count("\nbrk heap ") == 1 and text.count("\narena heap ") == 2, text[:2000]
    for b in t["blocks"]:
        if not b["free"] and b["arena"] == 0:
            line = next(x for x in text.splitlines() if x.strip().startswith(f"{b['chunk']:016x}"))
            assert "11 11 11 11" in line, line


def test_debian_python_core():
    """#15 items 1, 2 on a real program: Debian's python3 is position
    dependent, with a .bss tail of its own; its kernel core's brk heap is
    where mp_.sbrk_base says, and the mmapped chunks are as many as
    mp_.n_mmaps (gdb reads both from the same core)"""
    import resource
    import shutil
    from lib import Skip
    py = "/usr/bin/python3"
    if not os.path.exists(py) or not shutil.which("gdb"):
        raise Skip("no Debian python3 or no gdb")
    with open("/proc/sys/kernel/core_pattern") as f:
        if f.read().strip() != "core":
            raise Skip("kernel cores go elsewhere here")

    def unlimited():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([py, "-c", "import os\nx = [bytearray(300000) for _ in range(3)]\n"
                        "d = {i: str(i) for i in range(200000)}\nos.abort()"],
                       cwd=d, preexec_fn=unlimited, capture_output=True, timeout=60)
        cores = [f for f in os.listdir(d) if f.startswith("core")]
        if not cores:
            raise Skip("no core written")
        core = os.path.join(d, cores[0])
        g = subprocess.run(["gdb", "-q", "-batch", "-nx", "-ex", "p/x mp_.sbrk_base", "-ex", "p mp_.n_mmaps",
                            py, core], capture_output=True, text=True, timeout=120).stdout
        vals = [line.split("=", 1)[1].strip() for line in g.splitlines() if line.startswith("$")]
        if len(vals) != 2:
            raise Skip("gdb cannot read mp_ (no libc debug symbols)")
        sbrk, n_mmaps = int(vals[0].split()[0], 16), int(vals[1])
        doc = run_json(["heap", core])
        m = run_json(["map", core])
    brk = next(h for h in doc["heaps"] if h["kind"] == "brk")
    assert int(brk["base"], 16) - sbrk < 16 and not brk["cut_short"], (brk, hex(sbrk))
    assert doc["arenas"][0]["in_use_chunks"] > 100 and doc["problems"] == [], doc["problems"]
    assert doc["mmapped"]["count"] == n_mmaps, (doc["mmapped"], n_mmaps)
    heaps = [a for a in m["allocations"] if a["details"] == "brk heap (main arena)"]
    assert len(heaps) == 1 and int(heaps[0]["base"], 16) == sbrk, heaps
