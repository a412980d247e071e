#!/usr/bin/env python3
"""Finding large malloc chunks (mmapped) in Debian's python3 with three
threads and a 2,000,000-entry dict (about 300 MB of anonymous memory, the
chunks merged with python's arenas, some below pages never written), and
in the same process with one more chunk whose header is overwritten: the
count never agrees with mp_.n_mmaps there, so the map probes the head of
every page in memory of all anonymous read-write memory (the worst case).
Beside it, gdb printing mp_.n_mmaps (the count alone, no search).

    bench/heap_mmapped.py [--build DIR] [--runs R]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import time

PY = """
import ctypes, json, os, sys, threading, time
d = {i: str(i) for i in range(2_000_000)}
for _ in range(3):
    threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
if sys.argv[1] == "overwritten":
    p = libc.malloc(64 << 20)
    ctypes.memset(p, 1, 64 << 20)
    ctypes.c_size_t.from_address(p - 8).value = 0x1234560
print(json.dumps({"pid": os.getpid()}), flush=True)
sys.stdin.read()
"""


def timed(cmd, runs):
    """median wall and CPU (user + system) seconds of cmd: on a shared,
    loaded machine the CPU time is the steadier figure"""
    wall, cpu = [], []
    for _ in range(runs):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wall.append(time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return statistics.median(wall), statistics.median(cpu)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    vm = os.path.join(a.build, "vmatlas")
    for case in ("as is", "overwritten"):
        p = subprocess.Popen(["/usr/bin/python3", "-c", PY, case], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             text=True)
        try:
            pid = str(json.loads(p.stdout.readline())["pid"])
            r = subprocess.run([vm, "heap", pid, "--json"], capture_output=True, text=True)
            n = json.loads(r.stdout)["mmapped"]["count"]
            warn = [x for x in r.stderr.splitlines() if "mp_" in x]
            res = [(name, timed(cmd, a.runs)) for name, cmd in (
                ("vmatlas heap", [vm, "heap", pid]),
                ("vmatlas map --no-stats", [vm, "map", "--no-stats", pid]),
                ("vmatlas map", [vm, "map", pid]),
                ("gdb -p PID 'p mp_.n_mmaps'", ["gdb", "-q", "-batch", "-p", pid, "-ex", "p mp_.n_mmaps"]))]
        finally:
            p.stdin.close()
            p.wait()
        print(f"python3, {case}: {n} chunks found" + (f" ({warn[0].split('heap: ', 1)[1][:60]}...)" if warn else ""))
        for name, (w, c) in res:
            print(f"  {name:32s} {w:6.2f} s  (CPU {c:5.3f} s)")


if __name__ == "__main__":
    main()
