#!/usr/bin/env python3
"""Walk a heap of 1,000,000 chunks: `vmatlas heap --blocks` beside gdb
walking the same chunk chain (from the brk heap's start to main_arena's
top) through its Python API, in one run. gdb has no heap walk of its own;
the script below is the least it takes to visit every chunk.

A second heap of N chunks of 200 bytes with every other one freed puts
about half a million chunks on the unsorted and small lists (#15): the
walk follows each list link by link, all over the heap.

    bench/heap_1m.py [--build DIR] [--count N] [--runs R]
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


def start(build, args):
    fx = subprocess.Popen([os.path.join(build, "fixtures", "heapfix")] + args,
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    return fx, str(json.loads(fx.stdout.readline())["pid"])


def timed(cmd, runs):
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=3600)
        ts.append(time.perf_counter() - t)
    return sorted(ts)[len(ts) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    vm = os.path.join(a.build, "vmatlas")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(GDB_WALK)
        script = f.name
    fx, pid = start(a.build, ["--many", str(a.count)])
    try:
        res = []
        for name, cmd in (("vmatlas heap", [vm, "heap", pid]),
                          ("vmatlas heap --blocks --json", [vm, "heap", pid, "--blocks", "--json"]),
                          ("gdb (python chunk walk)", ["gdb", "-q", "-batch", "-p", pid, "-x", script])):
            res.append((name, timed(cmd, 1 if name.startswith("gdb") else a.runs)))
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

    fx, pid = start(a.build, ["--many", str(a.count), "--size", "200", "--free-every", "2"])
    try:
        doc = json.loads(subprocess.run([vm, "heap", pid, "--json"], capture_output=True,
                                        text=True).stdout)
        nchunks = sum(h["in_use_chunks"] + h["free_chunks"] + 1 for h in doc["heaps"])
        nfree = sum(x["free_chunks"] for x in doc["arenas"])
        lists = ", ".join(f"{k} {v['count']:,}" for k, v in doc["arenas"][0]["bins"].items() if v["count"])
        res = [(name, timed(cmd, a.runs)) for name, cmd in
               (("vmatlas heap", [vm, "heap", pid]),
                ("vmatlas heap --blocks --json", [vm, "heap", pid, "--blocks", "--json"]))]
    finally:
        fx.stdin.close()
        fx.wait()
    print(f"a heap of {nchunks:,} chunks, every other one freed: {nfree:,} free ({lists})")
    for name, s in res:
        print(f"  {name:32s} {s:8.2f} s")


if __name__ == "__main__":
    main()
