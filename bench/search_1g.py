#!/usr/bin/env python3
"""Search a process with 1 GiB of data for a string: vmatlas beside
`gdb -batch -p PID -ex 'find ...'` (over the 1 GiB region: gdb's find
takes one range), scanmem, and a plain process_vm_readv copy of the same
memory (bench/readall.c: the floor, no search can beat reading the bytes).

    bench/search_1g.py [--build DIR] [--mib N] [--runs N]
"""
import argparse
import json
import os
import shutil
import subprocess

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
    try:
        pid = str(json.loads(fx.stdout.readline())["pid"])
        m = json.loads(subprocess.run([vm, "map", pid, "--json", "--no-stats"], capture_output=True,
                                      text=True, check=True).stdout)
        big = max((r for al in m["allocations"] for r in al["regions"]), key=lambda r: r["size"])
        lo, hi = int(big["base"], 16), int(big["base"], 16) + big["size"]
        needle = "VMATLAS-NEEDLE"
        total = int(subprocess.run([readall, pid], capture_output=True, text=True).stdout)
        res = [
            ("raw copy (floor)", median_s([readall, pid], a.runs)),
            ("vmatlas search", median_s([vm, "search", pid, "--ascii", needle], a.runs)),
            ("vmatlas search --threads 1", median_s([vm, "search", pid, "--ascii", needle, "--threads", "1"], a.runs)),
            ("raw copy, 1 GiB region", median_s([readall, pid, hex(lo), hex(hi)], a.runs)),
            ("vmatlas, 1 GiB region", median_s([vm, "search", pid, "--ascii", needle, "--from", hex(lo),
                                             "--to", hex(hi)], a.runs)),
            ("gdb find, 1 GiB region", median_s(["gdb", "-q", "-batch", "-p", pid, "-ex",
                                              f'find {hex(lo)}, {hex(hi - 1)}, "{needle}"'], 1)),
        ]
        if shutil.which("scanmem"):   # Debian's scanmem; optional
            res.append(("scanmem", median_s(["scanmem", "-p", pid, "-c",
                                             f'option scan_data_type string;" {needle};exit'], 1)))
    finally:
        fx.stdin.close()
        fx.wait()
    print(f"searching {total / (1 << 30):.2f} GiB of writable memory for a string, median of {a.runs}")
    for name, s in res:
        print(f"  {name:30s} {s * 1000:9.1f} ms")
    print(f"  vmatlas: {res[1][1] / res[0][1]:.2f}x the raw copy; "
          f"over the 1 GiB region {res[5][1] / res[4][1]:.0f}x faster than gdb's find"
          + (f"; {res[6][1] / res[1][1]:.0f}x faster than scanmem" if len(res) > 6 else " (no scanmem here)"))


if __name__ == "__main__":
    main()
