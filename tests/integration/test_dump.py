"""vmatlas dump: bytes against /proc/PID/mem, holes, ELF output, modes."""
import os
import stat
import struct
import subprocess
import tempfile

from lib import VMATLAS, fixture, run, run_json


def mem(pid, addr, n):
    with open(f"/proc/{pid}/mem", "rb") as f:
        f.seek(addr)
        return f.read(n)


def test_raw_and_holes():
    with tempfile.TemporaryDirectory() as d, fixture(name="searchfix") as (p, t):
        pid = str(t["pid"])
        big = os.path.join(d, "big.bin")
        doc = run_json(["dump", pid, hex(t["big"] + 5), "-o", big])   # the region holding it
        want = mem(t["pid"], int(doc["addr"], 16), doc["size"])
        eof = os.path.join(d, "eof.bin")
        e = run_json(["dump", pid, hex(t["eof"]), "-o", eof])
        part = os.path.join(d, "part.bin")
        run_json(["dump", pid, hex(t["straddle"]), "--size", "16", "-o", part])
        with open(big, "rb") as f:
            assert f.read() == want
        assert stat.S_IMODE(os.stat(big).st_mode) == 0o600
        assert int(doc["addr"], 16) <= t["big"] and doc["size"] >= t["big_size"] and doc["holes"] == []
        with open(eof, "rb") as f:
            data = f.read()
        assert len(data) == 3 * 4096 and data[64:75] == b"VMATLAS-EOF" and data[4096:] == bytes(8192)
        assert e["holes"] == [{"addr": hex(t["eof"] + 4096), "size": 8192}]
        with open(part, "rb") as f:
            assert f.read() == b"VMATLAS-STRADDLE"
        assert sorted(os.listdir(d)) == ["big.bin", "eof.bin", "part.bin"]  # no temporaries left


def test_elf_format():
    with tempfile.TemporaryDirectory() as d, fixture() as (p, t):
        pid = str(t["pid"])
        out = os.path.join(d, "layout.core")
        doc = run_json(["dump", pid, "layout", "-o", out, "--format", "elf"])   # a module: its image
        mods = {m["name"]: m for m in run_json(["modules", pid])["modules"]}
        base, size = int(mods["layout"]["base"], 16), mods["layout"]["size"]
        hdr = subprocess.run(["readelf", "-hlW", out], capture_output=True, text=True).stdout
        with open(out, "rb") as f:
            blob = f.read()
        # each PT_LOAD holds what /proc/PID/mem holds at its address
        phoff, = struct.unpack_from("<Q", blob, 32)
        phnum, = struct.unpack_from("<H", blob, 56)
        loads = [struct.unpack_from("<IIQQQQQQ", blob, phoff + 56 * i) for i in range(phnum)]
        for (typ, flags, off, va, pa, filesz, memsz, align) in loads:
            assert typ == 1 and filesz in (0, memsz)
            if filesz:
                assert blob[off:off + filesz] == mem(t["pid"], va, filesz)
        assert loads[0][3] == base and sum(l[5] for l in loads) == size
    assert "CORE (Core file)" in hdr and int(doc["addr"], 16) == base


def test_errors():
    with tempfile.TemporaryDirectory() as d, fixture() as (p, t):
        pid = str(t["pid"])
        r1 = run(["dump", pid, "0x10", "-o", os.path.join(d, "x")])
        r2 = run(["dump", pid, "0x10"])
        r3 = run(["dump", pid, hex(t["split"]["addr"]), "-o", "/nonexistent/dir/x"])
        r4 = run(["dump", pid, "[heap]", "-o", os.path.join(d, "y"), "--format", "zip"])
        assert os.listdir(d) == []
    assert r1.returncode == 1 and "no region" in r1.stderr
    assert r2.returncode == 2 and "-o FILE" in r2.stderr
    assert r3.returncode == 1 and "/nonexistent/dir/x" in r3.stderr
    assert r4.returncode == 2


def test_holes_are_holes():
    """A range past the user address space is an error; one over unmapped
    space is too, unless --fill writes zeros there (and says where)."""
    with tempfile.TemporaryDirectory() as d, fixture() as (p, t):
        pid = str(t["pid"])
        out = os.path.join(d, "x")
        q = run(["dump", pid, hex(t["split"]["addr"]), "--size", "0x7fffffffffffffff", "-o", out])
        assert q.returncode == 1 and "user address space" in q.stderr, q.stderr
        # the reservation's neighbourhood: find a gap right after a region
        doc = run_json(["map", pid, "--all", "--flat"])
        regs = [r for r in doc["regions"]] if "regions" in doc else [r for a in doc["allocations"] for r in a["regions"]]
        gap = next(r for r in regs if r["state"] == "free" and int(r["base"], 16) > 0x10000 and r["size"] >= 8192)
        start = int(gap["base"], 16) - 4096      # the last page of the region before it, then the gap
        q = run(["dump", pid, hex(start), "--size", "8192", "-o", out])
        assert q.returncode == 1 and "not mapped" in q.stderr and "--fill" in q.stderr, q.stderr
        assert not os.path.exists(out)
        res = run_json(["dump", pid, hex(start), "--size", "8192", "-o", out, "--fill"])
        with open(out, "rb") as f:
            data = f.read()
        assert len(data) == 8192 and data[4096:] == bytes(4096)
        assert {"addr": hex(start + 4096), "size": 4096} in res["holes"], res["holes"]
        # the same to a stream: the zeros are written out
        q = subprocess.run([VMATLAS, "dump", pid,
                            hex(start), "--size", "8192", "-o", "-", "--fill"], capture_output=True)
        assert q.returncode == 0 and q.stdout == data, (q.returncode, len(q.stdout), q.stderr)
        # a gigabyte of unmapped space to a file: a hole, no disk blocks
        # (a region a core claims but does not hold costs no disk either)
        big = next(r for r in regs if r["state"] == "free" and int(r["base"], 16) > 0x10000 and r["size"] >= 2 << 30)
        res = run_json(["dump", pid, big["base"], "--size", str(1 << 30), "-o", out, "--fill", "--force"])
        st = os.stat(out)
        assert st.st_size == 1 << 30 and st.st_blocks * 512 < (1 << 20), (st.st_size, st.st_blocks)
        assert res["holes"] == [{"addr": big["base"], "size": 1 << 30}], res["holes"]
