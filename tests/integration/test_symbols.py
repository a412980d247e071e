"""Modules from two sources, symbols, exports: checked against the fixture's
own dlsym(), nm, readelf and addr2line."""
import json
import os
import re
import shutil
import subprocess
import tempfile

from lib import FIXTURES, Skip, fixture, no_sanitizer_reports, region_of, regions, run, run_json
from lib import proc_maps as proc_maps_of


def nm_defined(path, dynamic=False):
    """{name: value} of defined text/data symbols"""
    args = ["nm", "--defined-only"] + (["-D"] if dynamic else []) + [path]
    out = subprocess.run(args, capture_output=True, text=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TtDdBbRrW":
            syms.setdefault(parts[2].split("@")[0], int(parts[0], 16))
    return syms


def sym_json(pid, *addrs, extra=()):
    return run_json(["sym", str(pid)] + [hex(a) for a in addrs] + list(extra))


def mods_by_name(doc):
    return {m["name"]: m for m in doc["modules"]}


def test_modules_from_two_sources():
    with fixture(name="modfix") as (p, t):
        doc = run_json(["modules", str(t["pid"])])
        text = run(["modules", str(t["pid"])]).stdout
    mods = mods_by_name(doc)
    assert mods["libvisible.so"]["sources"] == ["loader", "regions"]
    assert mods["libc.so.6"]["sources"] == ["loader", "regions"]
    # unlinked from the loader's list after dlopen: the region scan finds it
    assert mods["libhidden.so"]["sources"] == ["regions"]
    assert int(mods["libhidden.so"]["load_bias"], 16) == t["hidden_base"]
    # mapped by hand: only the region scan knows it
    assert mods["libmanual.so"]["sources"] == ["regions"]
    assert int(mods["libmanual.so"]["base"], 16) == t["manual_base"]
    # its code alone, no header: nobody finds it
    assert not any(int(m["base"], 16) == t["manual2_base"] for m in doc["modules"])
    for name in ("libhidden.so", "libmanual.so"):
        assert re.search(rf"^! {re.escape(name)} at 0x[0-9a-f]+: not in the loader's list", text, re.M)
    assert "! libvisible.so" not in text
    # the deleted copy
    deleted = next(m for m in doc["modules"] if m["path"] == t["deleted_path"])
    assert deleted.get("deleted") is True and deleted["sources"] == ["loader", "regions"]
    # ld.so's own name in its link_map differs from its real path
    ld = next(m for m in doc["modules"] if m["name"].startswith("ld-linux"))
    assert "link_map" in ld and "dynamic" in ld
    # the same build ids readelf -n sees
    for m in doc["modules"]:
        if m["path"] and os.path.exists(m["path"]) and not m.get("deleted"):
            notes = subprocess.run(["readelf", "-n", m["path"]], capture_output=True, text=True).stdout
            bid = re.search(r"Build ID: ([0-9a-f]+)", notes)
            assert bid and m["build_id"] == bid.group(1), m


def test_sym_matches_dlsym_and_nm():
    with fixture(name="modfix") as (p, t):
        pid = t["pid"]
        names = ["fixture_static_func", "fixture_global_func", "visible_add", "visible_call_static",
                 "visible_counter", "hidden_func", "hidden_data", "malloc"]
        doc = sym_json(pid, *[t[n] for n in names])
        off = sym_json(pid, t["hidden_func"] + 5, t["hidden_data"] + 8)
        # every function nm sees in the program, at its live address
        exe = mods_by_name(run_json(["modules", str(pid)]))["modfix"]
        bias = int(exe["load_bias"], 16)
        funcs = nm_defined(os.path.join(FIXTURES, "modfix"))
        many = sym_json(pid, *[v + bias for v in funcs.values()])
    for n, r in zip(names, doc):
        assert r["symbol"] == n and r["offset"] == 0, (n, r)
        assert r["text"].endswith("!" + n)
    assert off[0]["symbol"] == "hidden_func" and off[0]["offset"] == 5
    assert off[1]["symbol"] == "hidden_data" and off[1]["offset"] == 8
    assert off[0]["text"] == "libhidden.so!hidden_func+0x5"
    by_addr = {}
    for name, v in funcs.items():
        by_addr.setdefault(v, set()).add(name)
    for (name, v), r in zip(funcs.items(), many):
        assert r["module"] == "modfix" and r["offset"] == 0, (name, r)
        assert r["symbol"] in by_addr[v], (name, r)


def addr2line(path, link_addr):
    out = subprocess.run(["addr2line", "-e", path, hex(link_addr)], capture_output=True,
                         text=True).stdout.strip()
    f, _, line = out.rpartition(":")
    return f, int(line.split()[0]) if line.split()[0].isdigit() else 0


def test_lines_match_addr2line():
    exe = os.path.join(FIXTURES, "modfix")
    lib = os.path.join(FIXTURES, "libvisible.so")
    with fixture(name="modfix") as (p, t):
        pid = t["pid"]
        mods = mods_by_name(run_json(["modules", str(pid)]))
        probes = [(exe, mods["modfix"], t["fixture_static_func"] + d) for d in (0, 4, 9)]
        probes += [(lib, mods["libvisible.so"], t["visible_call_static"] + d) for d in (0, 6)]
        doc = sym_json(pid, *[a for _, _, a in probes])
    for (path, mod, addr), r in zip(probes, doc):
        f, line = addr2line(path, addr - int(mod["load_bias"], 16))
        assert r.get("line") == line, (r, f, line)
        assert os.path.realpath(r["file"]) == os.path.realpath(f), (r, f)


def test_stripped_with_debug_link():
    v = os.path.join(FIXTURES, "variants")
    with fixture(name="variants/modfix-stripped") as (p, t):
        doc = sym_json(t["pid"], t["fixture_static_func"])
        mods = run_json(["modules", "--symbols", str(t["pid"])])
    r = doc[0]
    assert r["symbol"] == "fixture_static_func" and r["line"] > 0, r
    src = next(m["symbols"] for m in mods["modules"] if m["name"] == "modfix-stripped")
    assert "debug:" in src and "modfix-stripped.debug" in src, src
    # without the debug file only the dynamic symbols are left
    with tempfile.TemporaryDirectory() as d:
        # a copy: the mapped path decides where the debug link is looked for
        shutil.copy(os.path.join(v, "modfix-stripped"), d)
        for f in os.listdir(v):
            if f.endswith(".so"):
                os.symlink(os.path.realpath(os.path.join(v, f)), os.path.join(d, f))
        with fixture(name=os.path.relpath(os.path.join(d, "modfix-stripped"), FIXTURES)) as (p, t):
            doc = sym_json(t["pid"], t["fixture_static_func"], t["fixture_global_func"])
    # a program exports nothing of its own: the module is all that is left
    for r, name in zip(doc, ("fixture_static_func", "fixture_global_func")):
        assert r["module"] == "modfix-stripped" and r["symbol"] != name and "file" not in r, r


def test_minidebuginfo():
    with fixture(name="variants/modfix-mini") as (p, t):
        doc = sym_json(t["pid"], t["fixture_static_func"] + 2)
        mods = run_json(["modules", "--symbols", str(t["pid"])])
    assert doc[0]["symbol"] == "fixture_static_func" and doc[0]["offset"] == 2
    src = next(m["symbols"] for m in mods["modules"] if m["name"] == "modfix-mini")
    assert "minidebuginfo:symtab" in src, src


def test_add_module():
    lib = os.path.join(FIXTURES, "libmanual2.so")
    func = nm_defined(lib)["manual2_func"]
    with fixture(name="modfix") as (p, t):
        pid, base = t["pid"], t["manual2_base"]
        plain = sym_json(pid, base + func)
        by_name = sym_json(pid, base + func, extra=["--add-module", f"libmanual2.so={hex(base)}"])
        by_path = sym_json(pid, base + func + 1,
                           extra=["--add-module", f"{lib}={hex(base)},0x4000"])
        mods = run_json(["modules", str(pid), "--add-module", f"{lib}={base}"])
        # a module the region scan already has: the manual source is added
        both = run_json(["modules", str(pid), "--add-module", f"libmanual.so={hex(t['manual_base'])}"])
        bad = run(["sym", str(pid), "0x10", "--add-module", "nonsense"])
    assert plain[0]["module"] is None and plain[0]["region"]["path"] == os.path.realpath(lib)
    assert by_name[0]["text"] == "libmanual2.so!manual2_func", by_name
    assert by_path[0]["symbol"] == "manual2_func" and by_path[0]["offset"] == 1
    m = next(x for x in mods["modules"] if x["name"] == "libmanual2.so")
    assert m["sources"] == ["manual"] and int(m["base"], 16) == base
    m = next(x for x in both["modules"] if x["name"] == "libmanual.so")
    assert m["sources"] == ["regions", "manual"]
    assert bad.returncode == 2 and "--add-module" in bad.stderr


def test_exports():
    with fixture(name="modfix") as (p, t):
        pid = str(t["pid"])
        found = run_json(["exports", pid, "--find", "hidden_"])
        glob = run_json(["exports", pid, "--find", "visible_*", "--module", "libvisible.so"])
        near = run_json(["exports", pid, "--find", hex(t["visible_add"] + 3)])
        libc = run_json(["exports", pid, "--module", "libc.so.6", "--exported"])
        text = run(["exports", pid, "--find", "hidden_func"])
        none = run(["exports", pid, "--find", "no_such_symbol_anywhere"])
        badmod = run(["exports", pid, "--module", "nope.so"])
    names = {(x["module"], x["name"]): x for x in found}
    assert int(names[("libhidden.so", "hidden_func")]["addr"], 16) == t["hidden_func"]
    assert names[("libhidden.so", "hidden_data")]["kind"] == "object"
    assert names[("libhidden.so", "hidden_func")]["size"] > 0
    assert {x["name"] for x in glob} == {"visible_add", "visible_call_static", "visible_counter"}
    assert len(near) == 1 and near[0]["name"] == "visible_add"
    want = nm_defined("/usr/lib/x86_64-linux-gnu/libc.so.6", dynamic=True)
    got = {x["name"] for x in libc}
    assert len(got & set(want)) >= 0.95 * len(want), (len(got), len(want))
    assert all(x["exported"] for x in libc)
    assert "libhidden.so!hidden_func" in text.stdout
    # no match is an error with nothing on stdout (#15)
    assert none.returncode == 1 and none.stdout == "" and "nothing matches" in none.stderr
    assert badmod.returncode == 1 and "nope.so" in badmod.stderr


def test_directories_match_readelf():
    exe = os.path.join(FIXTURES, "modfix")
    with fixture(name="modfix") as (p, t):
        doc = run_json(["map", str(t["pid"])])
    mod = next(m for m in doc["modules"] if m["name"] == "modfix")
    bias = int(mod["load_bias"], 16)
    dirs = {}
    for r in regions(doc):
        for c in r["contents"]:
            if c["kind"] == "directory" and c.get("module") == "modfix":
                dirs[c["name"]] = (int(c["addr"], 16), c["size"])
    dyn = subprocess.run(["readelf", "-dW", exe], capture_output=True, text=True).stdout
    tags = dict(re.findall(r"\((\w+)\)\s+(0x[0-9a-f]+|\d+)", dyn))
    secs = {m[0]: (int(m[1], 16), int(m[2], 16)) for m in
            re.findall(r"\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)",
                       subprocess.run(["readelf", "-SW", exe], capture_output=True, text=True).stdout)}
    assert dirs["DT_SYMTAB"] == (int(tags["SYMTAB"], 16) + bias, secs[".dynsym"][1])
    assert dirs["DT_STRTAB"] == (int(tags["STRTAB"], 16) + bias, int(tags["STRSZ"].split()[0]))
    assert dirs["DT_GNU_HASH"] == (secs[".gnu.hash"][0] + bias, secs[".gnu.hash"][1])
    assert dirs["DT_VERSYM"] == (secs[".gnu.version"][0] + bias, secs[".gnu.version"][1])
    assert dirs["DT_JMPREL"][0] == int(tags["JMPREL"], 16) + bias
    assert dirs["DT_INIT_ARRAY"] == (secs[".init_array"][0] + bias, secs[".init_array"][1])
    assert dirs["DYNAMIC"][0] == secs[".dynamic"][0] + bias
    assert dirs["GNU_EH_FRAME"][0] == secs[".eh_frame_hdr"][0] + bias
    assert "GNU_RELRO" in dirs and "NOTE" in dirs and "INTERP" in dirs
    libc = [c for r in regions(doc) for c in r["contents"]
            if c.get("module") == "libc.so.6" and c["name"] == "TLS"]
    assert libc and libc[0]["size"] > 0


def test_hostile_images_and_bad_addresses():
    with fixture(name="modfix") as (p, t):
        pid = str(t["pid"])
        m = run(["map", pid, "--json", "-c"])
        s = run(["sym", pid, hex(t["hostile"][1] + 16), hex(t["hostile"][0])])
        bad = run(["sym", pid, "0xzz"])
        none = run(["sym", pid])
        free = run_json(["sym", pid, "0x10"])
        # an expression, as for view: a module's symbol, and one that is not
        viewed = run_json(["view", pid, "libc.so.6!getpid", "16"])
        named = run_json(["sym", pid, "libc.so.6!getpid", "libc.so.6!getpid+2"])
        unknown = run(["sym", pid, "libc.so.6!no_such_symbol_here"])
    for r in (m, s):
        assert r.returncode == 0, r.stderr
        no_sanitizer_reports(r.stderr)
    doc = json.loads(m.stdout)
    img = next(x for x in doc["modules"] if int(x["base"], 16) == t["hostile"][1])
    assert img["name"] == "[anonymous image]" and img["sources"] == ["regions"]
    for r in regions(doc):
        for c in r["contents"]:
            if c.get("module") == "[anonymous image]":  # clipped to the image
                assert int(c["addr"], 16) + c["size"] <= int(img["base"], 16) + img["size"]
    assert bad.returncode == 2 and "not a number" in bad.stderr, bad.stderr
    assert none.returncode == 2
    # (libc names the address by an alias of getpid's as well)
    assert named[0]["addr"] == viewed["addr"] and named[0]["symbol"].endswith("getpid"), (named, viewed)
    assert int(named[1]["addr"], 16) == int(viewed["addr"], 16) + 2, named
    assert unknown.returncode == 1 and len(unknown.stderr.strip().splitlines()) == 1, unknown.stderr
    assert free[0]["module"] is None and free[0]["region"] is None
    assert region_of(doc, t["hostile"][0])["usage"] != "image"


def test_thread_pcs_carry_symbols():
    with fixture(name="layout") as (p, t):
        doc = run_json(["map", str(t["pid"])])
    for th in doc["threads"]:
        assert th["pc_symbol"].startswith("libc.so.6!"), th



def versioned_pairs(lib):
    """{name: (default version's value, hidden version's value)} for the
    functions lib exports in two versions, the hidden (compat) one first
    in the table: the one a first match in the table would wrongly take"""
    out = subprocess.run(["readelf", "-W", "--dyn-syms", lib], capture_output=True, text=True).stdout
    seen = {}
    for line in out.splitlines():
        m = re.match(r"\s*(\d+): ([0-9a-f]+)\s+\d+ FUNC\s+GLOBAL\s+\S+\s+\d+ ([^@\s]+)(@@?)(\S+)", line)
        if m:
            seen.setdefault(m.group(3), []).append((int(m.group(1)), int(m.group(2), 16), m.group(4) == "@@"))
    pairs = {}
    for name, vs in seen.items():
        dflt = [v for v in vs if v[2]]
        hidden = [v for v in vs if not v[2]]
        if dflt and hidden and min(h[0] for h in hidden) < dflt[0][0] and dflt[0][1] != hidden[0][1]:
            pairs[name] = (dflt[0][1], hidden[0][1])
    return pairs


def test_name_binds_to_the_default_version():
    """`libc.so.6!pthread_cond_timedwait` is the @@GLIBC_2.3.2 function the
    program calls, not the hidden @GLIBC_2.2.5 compat one listed first
    (a breakpoint there never hit): as readelf lists the versions"""
    with fixture() as (p, truth):
        maps = [m for m in proc_maps_of(p.pid) if m["path"] and os.path.basename(m["path"]) == "libc.so.6"]
        if not maps:
            raise Skip("no libc.so.6 in the fixture")
        lib, base = maps[0]["path"], min(m["start"] for m in maps)
        pairs = versioned_pairs(lib)
        if not pairs:
            raise Skip(f"{lib} has no function in two versions")
        for name, (dflt, hidden) in sorted(pairs.items())[:8]:
            for expr in (f"libc.so.6!{name}", name):
                got = run_json(["view", str(p.pid), expr, "1"])
                assert int(got["addr"], 16) == base + dflt, (expr, got["addr"], hex(base + dflt), hex(base + hidden))
