#!/usr/bin/env python3
"""Snapshot with page hashes of a process with 1 GiB of data: vmatlas
snapshot --data beside a plain process_vm_readv copy of the same memory
(bench/readall.c: the floor) and gdb's gcore (the usual way to keep a
process's memory to compare later). Prints GB/s; the goal is >= 2 GB/s.

    bench/snapshot_1g.py [--build DIR] [--mib N] [--runs N]
"""
import argparse
import json
import os
import subprocess
import tempfile

from benchlib import median_s, build_readall


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    vm = os.path.join(a.build, "vmatlas")
    readall = build_readall(a.build)
    fx = subprocess.Popen([os.path.join(a.build, "fixtures", "searchfix"), "--fill", str(a.mib)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    with tempfile.TemporaryDirectory() as d:
        try:
            pid = str(json.loads(fx.stdout.readline())["pid"])
            snap, core = os.path.join(d, "a.snap"), os.path.join(d, "core")
            total = int(subprocess.run([readall, pid, "--readable"], capture_output=True, text=True).stdout)
            res = [
                ("raw copy (floor)", median_s([readall, pid, "--readable"], a.runs)),
                ("vmatlas snapshot --data", median_s([vm, "snapshot", pid, "-o", snap, "--data"], a.runs)),
                ("vmatlas snapshot", median_s([vm, "snapshot", pid, "-o", snap], a.runs)),
                ("gcore", median_s(["gcore", "-o", core, pid], 1)),
            ]
            subprocess.run([vm, "snapshot", pid, "-o", snap, "--data"], check=True, capture_output=True)
            size = os.path.getsize(snap)
        finally:
            fx.stdin.close()
            fx.wait()
    print(f"{total / (1 << 30):.2f} GiB of readable memory, median of {a.runs} "
          f"(gcore once); the snapshot with hashes is {size / (1 << 20):.1f} MiB")
    for name, s in res:
        print(f"  {name:28s} {s * 1000:9.1f} ms  {total / s / 1e9:6.2f} GB/s")
    print(f"  vmatlas snapshot --data: {total / res[1][1] / 1e9:.2f} GB/s, {res[1][1] / res[0][1]:.2f}x the raw copy, "
          f"{res[3][1] / res[1][1]:.1f}x faster than gcore")


if __name__ == "__main__":
    main()
