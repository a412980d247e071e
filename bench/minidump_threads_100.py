#!/usr/bin/env python3
"""Every call stack of a 100-thread Windows minidump with full memory:
`vmatlas threads DUMP` on the dump the Wine fixture writes of itself with
100 recursing workers (dumpfix.exe OUT threads 100: .pdata unwinding,
COFF symbols, file:line from the image's own DWARF). No Linux tool reads
minidumps, so the floor is reading the stack memory once. Goal (#16):
under 0.2 s. Wall time on a shared machine swings with its load; the CPU
time (user + system) is the stable figure.

    bench/minidump_threads_100.py [--build DIR] [--runs N] [--threads N]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import tempfile
import time


def timed(cmd, runs):
    """(median wall s, median cpu s) of cmd over runs"""
    wall, cpu = [], []
    for _ in range(runs):
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        wall.append(time.perf_counter() - t)
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime)
    return statistics.median(wall), statistics.median(cpu)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--threads", type=int, default=100)
    a = ap.parse_args()
    vm = os.path.join(a.build, "vmatlas")
    exe = os.path.abspath(os.path.join(a.build, "fixtures", "win", "dumpfix.exe"))
    env = dict(os.environ, WINEDEBUG="-all", WINEPREFIX=os.path.abspath(os.path.join(a.build, "wineprefix")))
    with tempfile.TemporaryDirectory() as d:
        dmp = os.path.join(d, "w.dmp")
        out = subprocess.run(["/usr/lib/wine/wine64", exe, dmp, "threads", str(a.threads)], env=env, check=True,
                             capture_output=True, text=True, stdin=subprocess.DEVNULL).stdout
        truth = json.loads(out.strip().splitlines()[-1])
        doc = json.loads(subprocess.run([vm, "threads", dmp, "--json", "--frames", "1000"], capture_output=True,
                                        text=True, check=True).stdout)
        nframes = sum(len(t["frames"]) for t in doc["threads"])
        # what is timed must be right: each worker's recursion, frame by frame
        depth = {t["tid"]: t["depth"] for t in truth["threads"]}
        wrong = [t["tid"] for t in doc["threads"] if t["tid"] in depth and
                 sum(f.get("function") == "recurse" for f in t["frames"]) != depth[t["tid"]]]
        assert len(depth) == a.threads and not wrong, wrong
        res = [("vmatlas threads", timed([vm, "threads", dmp], a.runs)),
               ("vmatlas threads --no-lines", timed([vm, "threads", dmp, "--no-lines"], a.runs)),
               ("vmatlas map", timed([vm, "map", dmp], a.runs))]
        print(f"minidump of {os.path.getsize(dmp) / 2**20:.0f} MiB, {len(doc['threads'])} threads, "
              f"{nframes} frames (every worker's recursion depth checked); median of {a.runs} runs")
        print(f"  {'':28s} {'wall':>8s} {'cpu':>8s}")
        for name, (w, c) in res:
            print(f"  {name:28s} {w:7.3f}s {c:7.3f}s")


if __name__ == "__main__":
    main()
