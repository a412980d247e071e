#!/usr/bin/env python3
"""Dump every Wine DLL (all parts): vmatlas image -a beside readpe -A (pev)
and objdump -x over the same files, one process per file as each is used.
The goal: faster than both.

    bench/image_wine.py [--build DIR] [--dir WINE_DLL_DIR] [--runs N]
"""
import argparse
import glob
import os
import statistics
import subprocess
import time


def run_all(cmd, files):
    """seconds to run cmd on every file, and how many it failed on"""
    failed = 0
    t = time.perf_counter()
    for f in files:
        p = subprocess.run(cmd + [f], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        failed += p.returncode != 0
    return time.perf_counter() - t, failed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--dir", default="/usr/lib/x86_64-linux-gnu/wine/x86_64-windows")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    files = sorted(glob.glob(os.path.join(a.dir, "*.dll")))
    size = sum(os.path.getsize(f) for f in files)
    tools = [
        ("vmatlas image -a", [os.path.join(a.build, "vmatlas"), "image", "-a"]),
        ("readpe -A", ["readpe", "-A"]),
        ("objdump -x", ["x86_64-w64-mingw32-objdump", "-x"]),
    ]
    res = []
    for name, cmd in tools:
        runs = [run_all(cmd, files) for _ in range(a.runs)]
        res.append((name, statistics.median(r[0] for r in runs), runs[0][1]))
    print(f"{len(files)} DLLs, {size / (1 << 20):.0f} MiB, every part of each; median of {a.runs}")
    for name, s, failed in res:
        print(f"  {name:20s} {s:7.2f} s  ({failed} failed)")
    print(f"  vmatlas: {res[1][1] / res[0][1]:.1f}x faster than readpe, {res[2][1] / res[0][1]:.1f}x faster than objdump")


if __name__ == "__main__":
    main()
