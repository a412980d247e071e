#!/usr/bin/env python3
"""vmatlas map on a process with 20,000 mappings, beside the kernel's own
cost of producing smaps (`cat /proc/PID/smaps`, the floor) and `pmap -X`.
Runs each command in turn, repeatedly, and prints medians and ratios.

    bench/map_20k.py [--build DIR] [--runs N] [--maps N]
"""
import argparse
import json
import os
import subprocess

from benchlib import median_ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=21)
    ap.add_argument("--maps", type=int, default=20000)
    a = ap.parse_args()
    vm = os.path.join(a.build, "vmatlas")
    fx = subprocess.Popen([os.path.join(a.build, "fixtures", "layout"), "--maps", str(a.maps)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        pid = str(json.loads(fx.stdout.readline())["pid"])
        with open(f"/proc/{pid}/maps") as f:
            nmaps = sum(1 for _ in f)
        cmds = [
            ("cat /proc/PID/smaps (floor)", ["cat", f"/proc/{pid}/smaps"]),
            ("vmatlas map", [vm, "map", pid]),
            ("vmatlas map --json", [vm, "map", pid, "--json"]),
            ("vmatlas map --no-stats", [vm, "map", pid, "--no-stats"]),
            ("pmap -X", ["pmap", "-X", pid]),
        ]
        for _, c in cmds:  # warm up
            subprocess.run(c, stdout=subprocess.DEVNULL, check=True)
        res = [(name, median_ms(c, a.runs)) for name, c in cmds]
    finally:
        fx.stdin.close()
        fx.wait()
    floor = res[0][1]
    print(f"process with {nmaps} mappings, median of {a.runs} runs")
    for name, ms in res:
        print(f"  {name:30s} {ms:8.1f} ms   {ms / floor:5.2f}x floor")


if __name__ == "__main__":
    main()
