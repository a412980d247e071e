"""Issue #15, Linux items: answers that were wrong on real programs
(symbol sizes, C++ names, exports, whatis without RTTI, freeze, a main
thread gone, deleted libraries), checked on fixtures that print their
truth and on real programs."""
import json
import os
import re
import shutil
import subprocess
import time

from lib import FIXTURES, Skip, fixture, run, run_json


def sym1(pid, addr, *extra):
    return run_json(["sym", str(pid), hex(addr)] + list(extra))[0]


def test_symbol_size_respected():
    """past a sized symbol's end an address is the module's, not
    symbol+off (gdb and eu-stack say ??)"""
    with fixture(name="symfix") as (p, t):
        pid = t["pid"]
        inside = sym1(pid, t["sized_obj"] + 4)
        past = sym1(pid, t["sized_obj"] + 8)
        past2 = sym1(pid, t["sized_obj"] + 12)
        # _end is unsized and ends the image: what lies past it is no section's
        mods = {m["name"]: m for m in run_json(["modules", str(pid)])["modules"]}
        nm = subprocess.run(["nm", os.path.join(FIXTURES, "symfix")], capture_output=True, text=True).stdout
        end = int(re.search(r"^([0-9a-f]+) B _end$", nm, re.M).group(1), 16)
        after_end = sym1(pid, end + int(mods["symfix"]["load_bias"], 16) + 8)
    assert inside["symbol"] == "sized_obj" and inside["offset"] == 4
    for r in (past, past2):
        assert r["symbol"] is None and r["module"] == "symfix", r
        assert re.fullmatch(r"symfix\+0x[0-9a-f]+", r["text"]), r
    assert after_end["symbol"] is None, after_end


def test_second_executable_mapping_of_a_module_file_is_named_by_the_module():
    """V8 maps node's builtins a second time, executable, near its JIT
    code: an address there is the module's byte of the same file
    (node!Builtins_...+0x100), not "in no module". symfix maps its own
    file so; the file offset of main comes from readelf's program
    headers. A mapping only read stays data."""
    exe = os.path.join(FIXTURES, "symfix")
    nm = subprocess.run(["nm", exe], capture_output=True, text=True).stdout
    main = int(re.search(r"^([0-9a-f]+) T main$", nm, re.M).group(1), 16)
    ph = subprocess.run(["readelf", "-lW", exe], capture_output=True, text=True).stdout
    off = None
    for m in re.finditer(r"^\s*LOAD\s+0x([0-9a-f]+) 0x([0-9a-f]+) \S+ 0x([0-9a-f]+)", ph, re.M):
        p_off, p_va, p_filesz = (int(x, 16) for x in m.groups())
        if p_va <= main < p_va + p_filesz:
            off = main - p_va + p_off
    assert off is not None, ph
    for flag, named in (("--map-file-exec", True), ("--map-file", False)):
        with fixture(flag, exe, name="symfix") as (p, t):
            pid = t["pid"]
            bias = int({m["name"]: m for m in run_json(["modules", str(pid)])["modules"]}["symfix"]["load_bias"], 16)
            got = sym1(pid, t["mapped"] + off + 3)
            text = run(["sym", str(pid), hex(t["mapped"] + off + 3)]).stdout
        if named:
            assert (got["module"], got["symbol"], got["offset"]) == ("symfix", "main", 3), got
            assert int(got["alias_of"], 16) == bias + main + 3, got
            assert "a second mapping of its file" in text, text
        else:
            assert got["module"] is None and "alias_of" not in got, got


def test_symbols_of_unloaded_sections_name_nothing():
    """a symbol in a section that is not loaded (glibc's
    __evoke_link_warning_stty, value 0 in .gnu.warning.stty) named the
    module's ELF header: readelf says where it is, no memory is it"""
    exe = os.path.join(FIXTURES, "symfix")
    syms = subprocess.run(["readelf", "-sW", exe], capture_output=True, text=True).stdout
    secs = subprocess.run(["readelf", "-SW", exe], capture_output=True, text=True).stdout
    m = re.search(r"^\s*\d+: 0+ +\d+ OBJECT +LOCAL +DEFAULT +(\d+) nonalloc_sym$", syms, re.M)
    assert m, syms
    sec = re.search(rf"^\s*\[\s*{m.group(1)}\] (\S+)\s+PROGBITS\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S*)\s+\d+\s+\d+\s+\d+$",
                    secs, re.M)
    assert sec and sec.group(1) == ".vmatlas_nonalloc" and "A" not in sec.group(2), secs
    with fixture(name="symfix") as (p, t):
        pid = t["pid"]
        mods = {m["name"]: m for m in run_json(["modules", str(pid)])["modules"]}
        base = int(mods["symfix"]["base"], 16)
        for addr in (base, base + 8):
            r = sym1(pid, addr)
            assert r["module"] == "symfix" and r["symbol"] != "nonalloc_sym", r


def test_cpp_names_demangled_by_default():
    """sym, threads, exports and whatis demangle C++ names as gdb does;
    --no-demangle keeps them as the tables spell them"""
    with fixture(name="cppnorti") as (p, t):
        pid = str(t["pid"])
        s = run_json(["sym", pid, hex(t["run"])])[0]
        raw = run_json(["sym", pid, hex(t["run"]), "--no-demangle"])[0]
        th = run_json(["threads", pid, "--no-lines"])
        text = run(["threads", pid, "--no-lines"]).stdout
        ex = run_json(["exports", pid, "--find", "Worker"])
        ex_raw = run_json(["exports", pid, "--find", "_ZN3app", "--no-demangle"])
    assert s["symbol"] == "app::Worker::run(int)" and s["mangled"] == "_ZN3app6Worker3runEi", s
    assert s["text"] == "cppnorti!app::Worker::run(int)"
    assert raw["symbol"] == "_ZN3app6Worker3runEi" and "mangled" not in raw
    funcs = [f["function"] for f in th["threads"][0]["frames"]]
    assert "app::Worker::run(int)" in funcs, funcs
    assert "cppnorti!app::Worker::run(int)+0x" in text
    assert any(x["name"] == "app::Worker::run(int)" for x in ex), ex
    assert any(x["name"] == "_ZN3app6Worker3runEi" for x in ex_raw), ex_raw


def test_whatis_class_without_rtti():
    """-fno-rtti: no typeinfo; the class comes from the vtable's symbol"""
    with fixture(name="cppnorti") as (p, t):
        pid = str(t["pid"])
        doc = run_json(["whatis", pid, hex(t["object"])])[0]
        text = run(["whatis", pid, hex(t["object"])]).stdout
    assert doc["object"]["class"] == "app::PerProcessOptions", doc["object"]
    assert doc["object"]["addr"] == hex(t["object"])
    assert "vtable for app::PerProcessOptions+0x10" in text, text


def test_exports_one_row_per_symbol_with_versions_and_aliases():
    """libc's malloc once (the debug file's .symtab and .dynsym are one
    symbol), with its version; --find ADDR names every alias"""
    with fixture(name="symfix") as (p, t):
        pid = str(t["pid"])
        rows = run_json(["exports", pid, "--module", "libc.so.6"])
        malloc = [r for r in rows if r["name"] == "malloc"]
        at = run_json(["exports", pid, "--find", malloc[0]["addr"]])
        memcpy = [r for r in rows if r["name"] == "memcpy"]
        text = run(["exports", pid, "--find", "memcpy", "--module", "libc.so.6"]).stdout
    keys = [(r["name"], r["version"], r["addr"]) for r in rows]
    assert len(keys) == len(set(keys)), [k for k in keys if keys.count(k) > 1][:5]
    assert len(malloc) == 1 and malloc[0]["version"] == "GLIBC_2.2.5" and malloc[0]["default_version"]
    names = {r["name"] for r in at}
    assert {"malloc", "__libc_malloc"} <= names, names
    assert all(r["addr"] == malloc[0]["addr"] for r in at)
    # the two memcpy of x86-64 libc: the default one and the old one
    if len(memcpy) == 2:
        assert {r["version"] for r in memcpy} == {"GLIBC_2.14", "GLIBC_2.2.5"}
        assert "libc.so.6!memcpy@@GLIBC_2.14" in text and "libc.so.6!memcpy@GLIBC_2.2.5" in text


def test_exports_find_nothing_is_an_error():
    with fixture(name="symfix") as (p, t):
        r = run(["exports", str(t["pid"]), "--find", "no_such_symbol_anywhere"])
    assert r.returncode != 0 and r.stdout == "", (r.returncode, r.stdout)
    assert "nothing matches 'no_such_symbol_anywhere'" in r.stderr


def seize(tid):
    """trace one thread from this process (as a debugger would hold it);
    returns the function that lets it go"""
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
    if libc.ptrace(0x4206, tid, None, None) != 0:  # PTRACE_SEIZE
        raise Skip(f"cannot trace {tid}: errno {ctypes.get_errno()}")

    def release():
        libc.ptrace(0x4207, tid, None, None)  # PTRACE_INTERRUPT
        os.waitpid(tid, 0x40000000)            # __WALL: its stop
        libc.ptrace(17, tid, None, None)       # PTRACE_DETACH
    return release


def test_freeze_names_the_thread_and_its_tracer():
    """a thread another process traces: --freeze names that very thread
    (the list it came from was freed first) and who traces it; threads
    says the same in one parenthesis"""
    with fixture(name="symfix") as (p, t):
        pid, tid = t["pid"], t["tid_jit"]
        release = seize(tid)
        try:
            r = run(["map", str(pid), "--freeze"], timeout=20)
            th = run(["threads", str(pid), "--no-lines"], timeout=20).stdout
            doc = run_json(["threads", str(pid), "--no-lines"], timeout=20)
        finally:
            release()
    me = os.getpid()
    assert r.returncode != 0
    assert f"cannot freeze process {pid}: thread {tid} is traced by process {me} (python" in r.stderr, r.stderr
    assert f"only pc and sp are known: the thread could not be stopped: process {me} traces it" in th, th
    assert "((" not in th and "))" not in th
    t2 = next(x for x in doc["threads"] if x["tid"] == tid)
    assert t2["tracer"] == me


def test_main_thread_exited_others_run():
    """the main thread called pthread_exit: the process is no zombie
    while other threads run; its maps, memory and argv are read through
    a live thread's /proc files"""
    with fixture("--main-exit", name="symfix") as (p, t):
        pid = t["pid"]
        for _ in range(100):
            if open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z":
                break
            time.sleep(0.01)
        doc = run_json(["map", str(pid)])
        frozen = run(["map", str(pid), "--freeze"])
        th = run_json(["threads", str(pid), "--no-lines"])
        s = sym1(pid, t["sized_obj"])
        env = run_json(["env", str(pid)])
        with open(f"/proc/{pid}/task/{t['tid_jit']}/maps") as f:
            nmaps = sum(1 for _ in f)
    assert len([r for a in doc["allocations"] for r in a["regions"] if r["state"] != "free"]) >= nmaps - 1
    assert frozen.returncode == 0, frozen.stderr
    main = next(x for x in th["threads"] if x["tid"] == pid)
    assert main["state"] == "Z" and "exited" in main["unwind_note"], main
    assert any(x["tid"] == t["tid_jit"] and x["frames"] for x in th["threads"])
    assert s["symbol"] == "sized_obj"
    assert any("symfix" in a.get("value", a.get("text", "")) for a in env["argv"]), env["argv"]


def test_text_map_says_deleted():
    """a deleted .so: the text map says "(deleted)" as modules and the
    JSON do"""
    with fixture(name="modfix") as (p, t):
        pid = str(t["pid"])
        tree = run(["map", pid]).stdout
        flat = run(["map", pid, "--flat"]).stdout
    path = t["deleted_path"]
    for text in (tree, flat):
        lines = [l for l in text.splitlines() if path in l]
        assert lines and all(f"{path} (deleted)" in l for l in lines), lines


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M).group(1))


def test_capture_keeps_rss_states_and_fp_registers():
    """capture: clean file pages come from the file (the target's RSS does
    not grow by the 16 MiB file it maps and never touched), each thread's
    state is the one before the freeze (not 't'), and gdb sees the SSE
    registers (NT_PRFPREG, NT_X86_XSTATE)"""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        big = os.path.join(d, "big")
        with open(big, "wb") as f:
            f.write(bytes(range(256)) * (16 << 12))
        os.posix_fadvise(os.open(big, os.O_RDONLY), 0, 0, os.POSIX_FADV_DONTNEED)
        core = os.path.join(d, "core")
        with fixture("--map-file", big, name="symfix") as (p, t):
            pid = t["pid"]
            time.sleep(0.1)
            before = rss_kb(pid)
            res = run_json(["capture", str(pid), "-o", core])
            after = rss_kb(pid)
            live_bytes = run(["view", str(pid), hex(t["mapped"] + 0x12345), "32"]).stdout
        assert after - before < 2048, (before, after)
        core_bytes = run(["view", core, hex(t["mapped"] + 0x12345), "32"]).stdout
        assert core_bytes == live_bytes, (core_bytes, live_bytes)
        th = run_json(["threads", core, "--no-lines"])
        assert res["threads"] == len(th["threads"]) == 2
        assert all(x["state"] != "t" for x in th["threads"]), [x["state"] for x in th["threads"]]
        readelf = subprocess.run(["readelf", "-n", core], capture_output=True, text=True).stdout
        assert readelf.count("NT_FPREGSET") == 2 and readelf.count("NT_X86_XSTATE") == 2, readelf
        g = subprocess.run(["gdb", "-batch", "-ex", "info registers xmm0", os.path.join(FIXTURES, "symfix"), core],
                           capture_output=True, text=True, timeout=60)
        assert "xmm0" in g.stdout and "<unavailable>" not in g.stdout, g.stdout + g.stderr


def test_capture_pipe_reads_proc_of_the_dying_process():
    """`capture - --pid %P`: what only /proc knows (thread names, smaps)
    goes into the map while the kernel still holds the process"""
    import tempfile
    with tempfile.TemporaryDirectory() as d, fixture("--threads", 2) as (p, t):
        pid = t["pid"]
        gc = subprocess.run(["gcore", "-o", os.path.join(d, "g"), str(pid)], capture_output=True, text=True,
                            timeout=120)
        core = os.path.join(d, f"g.{pid}")
        if not os.path.exists(core):
            raise Skip("gcore wrote no core: " + gc.stderr[-300:])
        live = run_json(["threads", str(pid), "--no-lines"])
        plain, piped = os.path.join(d, "plain"), os.path.join(d, "piped")
        with open(core, "rb") as f:
            run_json(["capture", "-", "-o", plain], stdin=f)
        with open(core, "rb") as f:
            run_json(["capture", "-", "--pid", str(pid), "-o", piped], stdin=f)
        bad = run(["capture", str(pid), "--pid", str(pid), "-o", os.path.join(d, "x")])
        got = {x["tid"]: x["name"] for x in run_json(["threads", piped, "--no-lines"])["threads"]}
        m_plain, m_piped = run_json(["map", plain]), run_json(["map", piped])
    names = {x["tid"]: x["name"] for x in live["threads"]}
    assert got == names, (got, names)
    assert any(n.startswith("worker") for n in names.values()), names
    rss = lambda doc: sum(r.get("rss") or 0 for a in doc["allocations"] for r in a["regions"])
    assert rss(m_piped) > 0 and rss(m_piped) != rss(m_plain)
    assert bad.returncode == 2 and "--pid goes with '-'" in bad.stderr
