"""ELF core files as targets (kernel-written, gcore, vmatlas capture):
regions against /proc/PID/maps read just before the dump, threads
against /proc/PID/task, call stacks against gdb and eu-stack."""
import os
import re
import resource
import shutil
import signal
import stat
import subprocess
import tempfile

from lib import (FIXTURES, Skip, assert_not_held, fixture, no_sanitizer_reports, proc_maps, regions, vmas,
                 region_of, run, run_json, wait_blocked)
from test_errors import one_error_line

PSEUDO_KEEP = ("[heap]", "[stack]", "[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]")


def tids(pid):
    return sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))


def kernel_core(d, name="layout"):
    """Run a fixture in d, let the kernel dump it (SIGSEGV), return
    (truth, /proc maps before the dump, tids, core path)"""
    with open("/proc/sys/kernel/core_pattern") as f:
        pattern = f.read().strip()
    if pattern.startswith("|") or "/" in pattern:
        raise Skip(f"kernel cores go elsewhere here (core_pattern {pattern!r})")

    def unlimited():
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    p = subprocess.Popen([os.path.join(os.path.abspath(FIXTURES), name)], cwd=d, stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, text=True, preexec_fn=unlimited)
    import json
    truth = json.loads(p.stdout.readline())
    wait_blocked(p.pid)
    maps, threads = proc_maps(p.pid), tids(p.pid)
    os.kill(p.pid, signal.SIGSEGV)
    p.wait(timeout=30)
    p.stdin.close()
    cores = [f for f in os.listdir(d) if f.startswith("core")]
    if not cores:
        raise Skip("the kernel wrote no core file here")
    return truth, maps, threads, os.path.join(d, cores[0])


def check_regions(doc, maps, exact_prot=True):
    """every mapping of /proc/PID/maps is a region of the core's map"""
    got = {int(r["base"], 16): r for r in vmas([r for r in regions(doc) if r["state"] != "free"])}
    for m in maps:
        r = got.get(m["start"])
        assert r, f"{m} missing from the core's map"
        assert r["size"] == m["end"] - m["start"], (m, r)
        path = m["path"]
        if path and path.startswith("/"):
            assert r["path"] == path.replace(" (deleted)", ""), (m, r)
            assert int(r["offset"], 16) == m["offset"], (m, r)
        elif path in PSEUDO_KEEP:
            assert r["path"] == path, (m, r)
        if exact_prot:
            assert r["prot"][:3] == m["perms"][:3], (m, r)


def test_kernel_core_map_threads_stacks():
    with tempfile.TemporaryDirectory() as d:
        truth, maps, threads, core = kernel_core(d)
        doc = run_json(["map", core])
        t = doc["target"]
        assert t["kind"] == "elf-core" and t["pid"] == truth["pid"] and t["bits"] == 64
        assert t["signal"]["number"] == signal.SIGSEGV and t["signal"]["name"] == "SEGV"
        check_regions(doc, maps)
        # PROT_NONE and never-written memory are not in a kernel core: said so
        reserve = region_of(doc, truth["reserve"]["addr"])
        assert reserve["dumped"] == 0 and reserve["state"] == "reserve"
        named = region_of(doc, truth["named"]["addr"])
        assert named["dumped"] == 0 and not named["from_file"]
        p = run(["view", core, hex(truth["named"]["addr"]), "16"])
        one_error_line(p, 1, "holds no bytes", hex(truth["named"]["addr"]))
        # the text of libc is not in the core: it is read from the file
        libc = [r for r in regions(doc) if r["path"] and "libc.so" in r["path"] and "x" in r["prot"]]
        assert libc and libc[0]["dumped"] == 0 and libc[0]["from_file"], libc
        assert any(m["name"].startswith("libc.so") for m in doc["modules"])
        # threads: those /proc listed, with stacks where the fixture put them
        th = run_json(["threads", core])
        assert sorted(x["tid"] for x in th["threads"]) == threads
        by_tid = {x["tid"]: x for x in th["threads"]}
        for w in truth["threads"]:
            x = by_tid[w["tid"]]
            assert int(x["stack"]["base"], 16) == w["stack_lo"], (x["stack"], w)
            assert [f for f in x["frames"] if f.get("function") == "worker_main"], x["frames"]
        main = by_tid[truth["pid"]]
        assert [f for f in main["frames"] if f.get("function") == "main"], main["frames"]
        # argv and the environment, found on the dumped initial stack
        env = run_json(["env", core])
        assert env["argv"][0]["value"].endswith("/layout")


def note_names(core):
    """(owner, type) of every note, as eu-readelf reads them"""
    out = subprocess.run(["eu-readelf", "-n", core], capture_output=True, text=True, check=True).stdout
    return re.findall(r"^\s+(\S+)\s+\d+\s+(\S+)", out, re.M)


def test_capture_from_stdin():
    """`capture - -o FILE`, the core_pattern pipe mode: the kernel's core
    fed on standard input comes out whole, plus the vmatlas note, and
    reads the same (gdb, eu-stack, vmatlas) with the saved map"""
    with tempfile.TemporaryDirectory() as d:
        truth, maps, threads, core = kernel_core(d)
        out = os.path.join(d, "piped.core")
        with open(core, "rb") as f:
            res = run_json(["capture", "-", "-o", out], stdin=f)
        assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
        assert res["bytes"] == os.path.getsize(out) and res["threads"] == len(threads)
        assert sorted(os.listdir(d)) == sorted([os.path.basename(core), "piped.core"])
        # the kernel's bytes are all there: only the ELF header changed
        with open(core, "rb") as a, open(out, "rb") as b:
            ka, kb = a.read(), b.read()
        assert kb[64:len(ka)] == ka[64:] and kb[:32] == ka[:32]
        # its notes, and ours
        before, after = note_names(core), note_names(out)
        assert len(after) == len(before) + 1 and after[:-1] == before and after[-1][0] == "VMATLAS", \
            (before, after)
        # gdb and eu-stack: every thread
        exe = os.path.join(FIXTURES, "layout")
        bt = gdb_bt(out, exe)
        for tid in threads:
            assert f"LWP {tid}" in bt, bt[-3000:]
        assert re.search(r"in main \(", bt), bt[-3000:]
        es = subprocess.run(["eu-stack", "--core", out, "-e", exe], capture_output=True, text=True, timeout=60)
        assert sorted(int(x) for x in re.findall(r"^TID (\d+):", es.stdout, re.M)) == threads, es.stdout
        # vmatlas: the saved map is the map of the kernel's core
        direct, saved = run_json(["map", core]), run_json(["map", out])
        key = lambda doc: [(r["base"], r["size"], r["prot"], r["path"], r.get("dumped")) for r in regions(doc)]
        assert key(saved) == key(direct)
        assert sorted(t["tid"] for t in saved["threads"]) == threads
        check_regions(saved, maps)
        th = run_json(["threads", out])
        main = [x for x in th["threads"] if x["tid"] == truth["pid"]][0]
        assert [f for f in main["frames"] if f.get("function") == "main"], main["frames"]
        # a core with our note already, and what is not a core: refused,
        # nothing left behind
        with open(out, "rb") as f:
            p = run(["capture", "-", "-o", os.path.join(d, "again.core")], stdin=f)
        one_error_line(p, 1, "vmatlas map already")
        p = run(["capture", "-", "-o", os.path.join(d, "junk.core")], input="not a core\n")
        one_error_line(p, 1, "not an ELF core")
        p = run(["capture", "-", "-o", os.path.join(d, "x.core"), "--private-only"], input="")
        one_error_line(p, 2, "--private-only")
        assert sorted(os.listdir(d)) == sorted([os.path.basename(core), "piped.core"])


def test_kernel_core_32bit():
    with tempfile.TemporaryDirectory() as d:
        truth, maps, threads, core = kernel_core(d, "layout32")
        doc = run_json(["map", core])
        assert doc["target"]["bits"] == 32 and doc["target"]["arch"] == "i386"
        check_regions(doc, maps)
        th = run_json(["threads", core])
        assert sorted(x["tid"] for x in th["threads"]) == threads
        for x in th["threads"]:
            assert x["tls"], x   # gs base from NT_386_TLS
        # through the pipe mode: the 32-bit headers moved to the end
        out = os.path.join(d, "piped.core")
        with open(core, "rb") as f:
            run_json(["capture", "-", "-o", out], stdin=f)
        saved = run_json(["map", out])
        assert [r["base"] for r in regions(saved)] == [r["base"] for r in regions(doc)]
        check_regions(saved, maps)
        bt = gdb_bt(out, os.path.join(FIXTURES, "layout32"))
        for tid in threads:
            assert f"LWP {tid}" in bt, bt[-3000:]


def gcore_of(pid, d):
    """gdb's core of pid in d (skips without gcore); pid is let go"""
    if not shutil.which("gcore"):
        raise Skip("no gcore")
    g = subprocess.run(["gcore", "-o", os.path.join(d, "g"), str(pid)], capture_output=True, text=True, timeout=120)
    assert_not_held(pid)
    if g.returncode != 0:
        raise Skip(f"gcore failed: {g.stderr[-300:]}")
    return os.path.join(d, f"g.{pid}")


def test_gcore():
    with tempfile.TemporaryDirectory() as d, fixture() as (p, truth):
        wait_blocked(p.pid)
        maps, threads = proc_maps(p.pid), tids(p.pid)
        core = gcore_of(p.pid, d)
        doc = run_json(["map", core])
    # gcore leaves out read-only file mappings (they come back from NT_FILE)
    # and writes PROT_NONE memory as readable zeros: only the extents count
    check_regions(doc, [m for m in maps if m["path"] not in ("[vvar]", "[vvar_vclock]", "[vsyscall]")], exact_prot=False)
    assert sorted(t["tid"] for t in doc["threads"]) == threads
    assert {m["name"] for m in doc["modules"]} >= {"layout", "libc.so.6"}
    # gdb's NT_FILE says page size 1 (its offsets are bytes): AT_PAGESZ counts
    assert doc["target"]["page_size"] == os.sysconf("SC_PAGE_SIZE"), doc["target"]


def load_segments(core):
    """(vaddr, file offset, filesz) of each writable PT_LOAD of a 64-bit
    core (gdb writes PROT_NONE memory as read-only: not those)"""
    import struct
    with open(core, "rb") as f:
        h = f.read(64)
        phoff, = struct.unpack_from("<Q", h, 32)
        phentsize, phnum = struct.unpack_from("<HH", h, 54)
        f.seek(phoff)
        ph = f.read(phentsize * phnum)
    out = []
    for i in range(phnum):
        typ, flags, off, va, _, filesz, _, _ = struct.unpack_from("<IIQQQQQQ", ph, i * phentsize)
        if typ == 1 and filesz and flags & 2:
            out.append((va, off, filesz))
    return out


def test_gcore_reads_across_file_boundaries():
    """gdb does not page-align its segments in the file: a page of memory
    lies across a 64 KiB boundary of the file (so across any smaller
    power-of-two window's edge too). Each such page reads whole, as the
    file holds it, and every thread's guard is found (its page of zeros
    read whole)."""
    with tempfile.TemporaryDirectory() as d, fixture() as (p, truth):
        wait_blocked(p.pid)
        core = gcore_of(p.pid, d)
        pages = []
        for va, off, filesz in load_segments(core):
            for k in range(0, filesz - 4095, 4096):
                if (off + k) // 65536 != (off + k + 4095) // 65536:
                    pages.append((va + k, off + k))
        if not pages:
            raise Skip("this gdb writes page-aligned segments")
        with open(core, "rb") as f:
            for va, off in pages[:40]:
                f.seek(off)
                want = f.read(4096)
                got = run_json(["view", core, hex(va), "4096"])
                assert got["bytes"] == want.hex(), hex(va)
        doc = run_json(["threads", core])
    workers = [t for t in doc["threads"] if not t["main"]]
    assert workers
    for t in workers:
        assert t["stack"].get("guard_size"), t
    assert all(t.get("start") for t in workers), workers


def gdb_bt(core, exe):
    p = subprocess.run(["gdb", "-batch", "-nx", "-c", core, exe, "-ex", "thread apply all bt"],
                       capture_output=True, text=True, timeout=120)
    return p.stdout + p.stderr


def test_capture_gdb_eu_stack_and_map():
    with tempfile.TemporaryDirectory() as d, fixture() as (p, truth):
        wait_blocked(p.pid)
        live = run_json(["map", str(p.pid)])
        threads = tids(p.pid)
        core = os.path.join(d, "cap.core")
        res = run_json(["capture", str(p.pid), "-o", core])
        assert_not_held(p.pid)
        assert res["threads"] == len(threads) and res["bytes"] == os.path.getsize(core)
        assert stat.S_IMODE(os.stat(core).st_mode) == 0o600
        assert os.listdir(d) == ["cap.core"]
        exe = os.path.join(FIXTURES, "layout")
        # gdb: every thread, and main() on the main thread's stack
        out = gdb_bt(core, exe)
        for tid in threads:
            assert f"LWP {tid}" in out, out[-3000:]
        assert re.search(r"in main \(", out), out[-3000:]
        assert "worker_main" in out
        # eu-stack: the same threads
        es = subprocess.run(["eu-stack", "--core", core, "-e", exe], capture_output=True, text=True, timeout=60)
        assert sorted(int(x) for x in re.findall(r"^TID (\d+):", es.stdout, re.M)) == threads, es.stdout + es.stderr
        assert "main" in es.stdout
        # vmatlas: the saved map, whole (statistics included)
        doc = run_json(["map", core])
        assert doc["target"]["kind"] == "elf-core"
        assert [r["base"] for r in regions(doc)] == [r["base"] for r in regions(live)]
        assert any(r.get("rss") for r in regions(doc))
        assert not any(r.get("dumped") is not None for r in regions(doc) if "r" in r["prot"] and
                       r["state"] == "commit" and r["type"] not in ("special",))
        th = run_json(["threads", core])
        assert sorted(x["tid"] for x in th["threads"]) == threads
        main = [x for x in th["threads"] if x["tid"] == truth["pid"]][0]
        assert [f for f in main["frames"] if f.get("function") == "main"], main["frames"]
        # what the process had in memory: the heap blocks the fixture made
        small = truth["small"][0]
        a = run(["view", core, hex(small), "16"])
        b = run(["view", str(p.pid), hex(small), "16"])
        assert a.returncode == 0 and a.stdout == b.stdout, (a.stderr, a.stdout, b.stdout)


def private_dirty_ranges(pid):
    out, cur = [], None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                cur = [int(x, 16) for x in line.split()[0].split("-")]
            elif line.startswith("Private_Dirty:") and cur and int(line.split()[1]) > 0:
                out.append(tuple(cur))
    return out


def test_capture_private_only():
    with tempfile.TemporaryDirectory() as d, fixture() as (p, truth):
        wait_blocked(p.pid)
        full, priv = os.path.join(d, "full"), os.path.join(d, "priv")
        run_json(["capture", str(p.pid), "-o", full])
        res = run_json(["capture", str(p.pid), "-o", priv, "--private-only"])
        assert_not_held(p.pid)
        assert res["private_only"] and os.path.getsize(priv) < os.path.getsize(full)
        doc = run_json(["map", priv])
        shared = region_of(doc, truth["shared_file"]["addr"])
        assert shared["dumped"] == 0 and not shared["from_file"]   # writable: not from the file
        p2 = run(["view", priv, hex(truth["shared_file"]["addr"]), "16"])
        one_error_line(p2, 1, "holds no bytes")
        # images: the header page only, the rest read back from the files;
        # a text mapping the process itself wrote (copy-on-write: Private_Dirty
        # in smaps, e.g. a debugger's breakpoint) is private memory and goes in
        dirty = private_dirty_ranges(p.pid)
        text = [r for r in regions(doc) if r["type"] == "image" and "x" in r["prot"]]
        assert text
        for r in text:
            base = int(r["base"], 16)
            assert r.get("from_file") or any(lo <= base < hi for lo, hi in dirty), (r, dirty)
        out = gdb_bt(priv, os.path.join(FIXTURES, "layout"))
        assert re.search(r"in main \(", out), out[-3000:]
        th = run_json(["threads", priv])
        assert len(th["threads"]) == 1 + len(truth["threads"])


def test_core_errors_and_damage():
    with tempfile.TemporaryDirectory() as d:
        with fixture() as (p, truth):
            wait_blocked(p.pid)
            core = os.path.join(d, "c")
            run_json(["capture", str(p.pid), "-o", core])
            data = open(core, "rb").read()
        damaged(d, core, data)


def damaged(d, core, data):
    # cut short: what is left still maps, with warnings, never a crash
    for cut in (len(data) // 2, 4096, 200, 64, 20):
        path = os.path.join(d, f"cut{cut}")
        with open(path, "wb") as f:
            f.write(data[:cut])
        r = run(["map", path])
        no_sanitizer_reports(r.stderr)
        assert r.returncode in (0, 1), (cut, r.returncode, r.stderr)
        if r.returncode == 1:
            assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    # not a core at all
    path = os.path.join(d, "junk")
    with open(path, "wb") as f:
        f.write(b"\x7fELF" + b"\0" * 60)
    one_error_line(run(["map", path]), 1, "not a core file")
    one_error_line(run(["capture", "--help-not"]), 2)
    # capture wants a live process
    one_error_line(run(["capture", core, "-o", os.path.join(d, "x")]), 1, "live process")


def test_files_the_core_names_may_be_fifos():
    """A core whose program (and so its loader list and NT_FILE) names a
    path that is now a FIFO: every command finishes, none blocks opening it."""
    with tempfile.TemporaryDirectory() as d:
        prog = os.path.join(d, "prog")
        shutil.copy(os.path.join(FIXTURES, "layout"), prog)

        def unlimited():
            resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        p = subprocess.Popen([prog], cwd=d, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                             preexec_fn=unlimited)
        p.stdout.readline()
        wait_blocked(p.pid)
        core = os.path.join(d, "prog.core")
        res = run_json(["capture", str(p.pid), "-o", core])
        assert res["threads"] >= 1
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=30)
        os.unlink(prog)
        os.mkfifo(prog)
        for cmd in (["map"], ["modules"], ["threads"], ["heap"], ["env"], ["exports", "--find", "main"],
                    ["sym", core, "0x401000"], ["whatis", core, "0x401000"]):
            q = run(cmd + ([] if core in cmd else [core]), timeout=30)
            assert q.returncode in (0, 1), (cmd, q.returncode, q.stderr)
        # a FIFO given where a file is read
        for cmd in (["image", prog], ["map", prog], ["diff", prog, core],
                    ["map", "self", "--add-module", prog + "=0x10000"]):
            q = run(cmd, timeout=30)
            assert "not a regular file" in q.stderr, (cmd, q.stderr)


def test_capture_text_counts_in_words():
    """"1 thread", not "1 threads": the counts as the JSON gives them"""
    p = subprocess.Popen(["sleep", "60"])
    try:
        with tempfile.TemporaryDirectory() as d:
            core = os.path.join(d, "c")
            out = run(["capture", str(p.pid), "-o", core])
            assert out.returncode == 0, out.stderr
            doc = run_json(["map", core])
    finally:
        p.kill()
        p.wait()
    assert len(doc["threads"]) == 1
    assert re.match(rf"\d+ regions \(.* of memory\), 1 thread to {re.escape(core)} \(", out.stdout), out.stdout
