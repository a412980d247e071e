"""vmatlas view and whatis: bytes against /proc/PID/mem, structures against
readelf and the other commands, expressions, errors."""
import json
import os
import re
import struct
import subprocess

from lib import FIXTURES, fixture, run, run_json


def mem(pid, addr, n):
    with open(f"/proc/{pid}/mem", "rb") as f:
        f.seek(addr)
        return f.read(n)


def test_units_against_proc_mem():
    with fixture() as (p, t):
        pid, addr = t["pid"], t["shared_file"]["addr"]
        raw = mem(pid, addr, 64)
        doc = run_json(["view", str(pid), hex(addr), "64"])
        text = run(["view", str(pid), hex(addr), "--as", "ascii"]).stdout
        u32 = run(["view", str(pid), hex(addr), "16", "--as", "u32"]).stdout
        f64 = run(["view", str(pid), hex(addr), "16", "--as", "f64"]).stdout
        i32 = run(["view", str(pid), hex(addr), "16", "--as", "i32"]).stdout
        hexd = run(["view", str(pid), hex(addr), "32"]).stdout
    assert bytes.fromhex(doc["bytes"]) == raw and doc["len"] == 64
    assert '"vmatlas shared file mapping"' in text
    vals = [int(x, 16) for x in u32.split()[1:5]]
    assert vals == list(struct.unpack("<4I", raw[:16]))
    assert [float(x) for x in f64.split()[1:3]] == list(struct.unpack("<2d", raw[:16]))
    assert [int(x) for x in i32.split()[1:5]] == list(struct.unpack("<4i", raw[:16]))
    assert "|vmatlas shared f|" in hexd


def test_pointers_and_expressions():
    with fixture() as (p, t):
        pid = str(t["pid"])
        env = run_json(["env", pid])
        exports = run_json(["exports", pid, "--find", "malloc", "--module", "libc.so.6", "--exported"])
        malloc = next(int(x["addr"], 16) for x in exports if x["name"] == "malloc")
        doc = run_json(["view", pid, "[libc.so.6!__environ]", "32", "--as", "ptr"])
        e1 = run_json(["view", pid, "libc.so.6!malloc", "16"])
        e2 = run_json(["view", pid, "malloc + 0x10 - 2*8", "8"])
        th = run_json(["threads", pid])["threads"]
        w = th[1]
        sp = run_json(["view", pid, f"rsp@{w['tid']}", "8", "--as", "ptr"])
        deref = run_json(["view", pid, f"[rsp@{w['tid']}]", "8"])
        bad = run(["view", pid, "0x10+", "8"])
        nosym = run(["view", pid, "libc.so.6!no_such_thing"])
        gap = run(["view", pid, "0x10"])
        resv = run(["view", pid, hex(t["reserve"]["addr"])])
    live = [x["addr"] for x in env["environ"]["live"]]
    assert [v["value"] for v in doc["values"]] == live[:4]
    assert all(v["points_to"].startswith("[stack]") for v in doc["values"])
    assert int(e1["addr"], 16) == malloc and int(e2["addr"], 16) == malloc
    assert int(sp["addr"], 16) == int(w["sp"], 16)
    assert int(deref["addr"], 16) == int(sp["values"][0]["value"], 16)
    assert bad.returncode == 2 and "column 6" in bad.stderr
    assert nosym.returncode == 1 and "no symbol 'libc.so.6!no_such_thing'" in nosym.stderr
    assert gap.returncode == 1 and "nothing is mapped there" in gap.stderr
    assert resv.returncode == 1 and "reserve ---p" in resv.stderr and "not readable" in resv.stderr


def readelf_header(path):
    out = subprocess.run(["readelf", "-hW", path], capture_output=True, text=True).stdout
    get = lambda k: re.search(rf"{k}:\s+(\S+)", out).group(1)
    return int(get("Entry point address"), 16), int(get("Number of program headers"))


def test_structures():
    with fixture(name="heapfix") as (p, t):
        pid = str(t["pid"])
        mods = {m["name"]: m for m in run_json(["modules", pid])["modules"]}
        env = run_json(["env", pid])
        heap = run_json(["heap", pid])
        exe = mods["heapfix"]
        eh = run_json(["view", pid, exe["base"], "--as", "ehdr"])
        ph = run_json(["view", pid, exe["base"] + "+64", "3", "--as", "phdr"])
        ms = run_json(["view", pid, heap["main_arena"], "--as", "malloc_state"])
        lm = run_json(["view", pid, env["link_map"][2]["addr"], "--as", "link_map"])
        rd = run_json(["view", pid, "ld-linux-x86-64.so.2!_r_debug", "--as", "r_debug"])
        au = run_json(["view", pid, "[libc.so.6!__environ]", "--as", "ptr", "8"])
        a1 = heap["arenas"][1]
        hi = run_json(["view", pid, hex(int(a1["addr"], 16) & ~((64 << 20) - 1)), "--as", "heap_info"])
        ch = run_json(["view", pid, hex(t["blocks"][0]["chunk"]), "--as", "malloc_chunk"])
        text = run(["view", pid, "ld-linux-x86-64.so.2!_r_debug", "--as", "r_debug"]).stdout
        unknown = run(["view", pid, "0x10", "--as", "no_struct"])
    f = lambda d, n: next(x for x in d["fields"] if x["name"] == n)
    entry, phnum = readelf_header(os.path.join(FIXTURES, "heapfix"))
    assert f(eh, "e_ident")["value"].startswith("7f454c46")
    assert int(f(eh, "e_entry")["value"], 16) == entry and int(f(eh, "e_phnum")["value"], 16) == phnum
    # LEN structures: a list of them, each with its own fields
    assert len(ph) == 3 and all(x["size"] == 56 and len(x["fields"]) == 8 for x in ph)
    assert [x["name"] for x in ph[0]["fields"]][:2] == ["p_type", "p_flags"]
    assert int(ph[1]["addr"], 16) == int(ph[0]["addr"], 16) + 56
    assert int(f(ms, "top")["value"], 16) == int(heap["arenas"][0]["top"], 16)
    assert f(ms, "system_mem")["value"] == hex(heap["arenas"][0]["system_mem"])
    assert f(lm, "l_name")["string"] == env["link_map"][2]["name"]
    assert f(lm, "l_addr")["value"] == env["link_map"][2]["l_addr"]
    assert f(rd, "r_version")["value"] == 1 and f(rd, "r_map")["value"] == env["link_map"][0]["addr"]
    assert f(hi, "ar_ptr")["value"] == a1["addr"] and "pagesize" in [x["name"] for x in hi["fields"]]
    assert int(f(ch, "mchunk_size")["value"], 16) & ~7 == t["blocks"][0]["size"]
    assert "r_brk" in text and "_dl_debug_state" in text
    assert unknown.returncode == 2 and "no_struct" in unknown.stderr
    del au


def test_whatis():
    with fixture(name="cppobj") as (p, t):
        pid = str(t["pid"])
        doc = run_json(["whatis", pid, hex(t["circle"]), hex(t["box"] + 12), hex(t["plain"]), "rsp",
                        "0x10", "libc.so.6!malloc+3"])
    circle, box, plain, stack, gap, code = doc
    assert circle["object"]["class"] == "shapes::Circle" and circle["heap"]["state"] == "used"
    assert box["object"]["class"] == "shapes::Box<long>" and int(box["object"]["addr"], 16) == t["box"]
    assert plain["object"] is None and plain["heap"]["user"] == hex(t["plain"])
    assert stack["thread"]["in_use"] and stack["allocation"]["usage"] == "stack"
    assert gap["region"] is None and gap["free_gap"]
    assert code["symbol"] == "libc.so.6!malloc+0x3"
    assert any(c["name"] == ".text" for c in code["contents"])
    with fixture(name="heapfix") as (p, t):
        freed = next(b for b in t["blocks"] if b["free"] and b["bin"] == "tcache")
        used = next(b for b in t["blocks"] if not b["free"])
        doc = run_json(["whatis", str(t["pid"]), hex(freed["user"] + 4), hex(used["user"])])
        text = run(["whatis", str(t["pid"]), hex(freed["user"])]).stdout
    assert doc[0]["heap"]["state"] == "free" and doc[0]["heap"]["bin"] == "tcache"
    assert doc[1]["heap"]["state"] == "used"
    assert "FREE (in the tcache)" in text
