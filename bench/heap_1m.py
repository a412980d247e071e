#!/usr/bin/env python3
"""Walk a heap of 1,000,000 chunks: `vmatlas heap --blocks` beside gdb
walking the same chunk chain (from the brk heap's start to main_arena's
top) through its Python API, in one run. gdb has no heap walk of its own;
the script below is the least it takes to visit every chunk.

    bench/heap_1m.py [--build DIR] [--count N]
"""
import argparse
import json
import os
import subprocess
import tempfile
import time

GDB_WALK = r'''
import gdb
inf = gdb.selected_inferior()
top = int(gdb.parse_and_eval("main_arena.top"))
start = [int(l.split("-")[0], 16) for l in open("/proc/%d/maps" % inf.pid) if "[heap]" in l][0]
p, n = start, 0
while p < top:
    size = int.from_bytes(inf.read_memory(p + 8, 8).tobytes(), "little") & ~7
    if size == 0:
        break
    p += size
    n += 1
print("chunks", n)
'''


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--count", type=int, default=1_000_000)
    a = ap.parse_args()
    vm = os.path.join(a.build, "vmatlas")
    fx = subprocess.Popen([os.path.join(a.build, "fixtures", "heapfix"), "--many", str(a.count)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(GDB_WALK)
        script = f.name
    try:
        pid = str(json.loads(fx.stdout.readline())["pid"])
        res = []
        for name, cmd in (("vmatlas heap", [vm, "heap", pid]),
                          ("vmatlas heap --blocks --json", [vm, "heap", pid, "--blocks", "--json"]),
                          ("gdb (python chunk walk)", ["gdb", "-q", "-batch", "-p", pid, "-x", script])):
            t = time.perf_counter()
            subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=3600)
            res.append((name, time.perf_counter() - t))
        doc = json.loads(subprocess.run([vm, "heap", pid, "--json"], capture_output=True,
                                        text=True).stdout)
        nchunks = sum(h["in_use_chunks"] + h["free_chunks"] + 1 for h in doc["heaps"])
    finally:
        os.unlink(script)
        fx.stdin.close()
        fx.wait()
    print(f"a heap of {nchunks:,} chunks")
    for name, s in res:
        print(f"  {name:32s} {s:8.2f} s")
    print(f"  vmatlas (every chunk, as JSON) is {res[2][1] / res[1][1]:.0f}x faster than gdb")


if __name__ == "__main__":
    main()
