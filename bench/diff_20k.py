#!/usr/bin/env python3
"""Diff of two snapshots of a process with 20,000 regions, taken before and
after it unmaps, re-protects and maps a few hundred: vmatlas diff beside
GNU diff of the two /proc/PID/maps texts saved at the same moments (what
one does without vmatlas; it knows nothing of modules, threads or heaps).
The goal is under 100 ms.

    bench/diff_20k.py [--build DIR] [--maps N] [--runs N]
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile

from benchlib import median_ms


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--maps", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=21)
    a = ap.parse_args()
    vm = os.path.join(a.build, "vmatlas")
    fx = subprocess.Popen([os.path.join(a.build, "fixtures", "layout"), "--maps", str(a.maps), "--churn"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    with tempfile.TemporaryDirectory() as d:
        try:
            pid = str(json.loads(fx.stdout.readline())["pid"])
            A, B = os.path.join(d, "a.snap"), os.path.join(d, "b.snap")
            MA, MB = os.path.join(d, "a.maps"), os.path.join(d, "b.maps")
            subprocess.run([vm, "snapshot", pid, "-o", A, "--heap-blocks"], check=True, capture_output=True)
            shutil.copy(f"/proc/{pid}/maps", MA)
            fx.stdin.write("\n")
            fx.stdin.flush()
            fx.stdout.readline()   # the churn is done
            subprocess.run([vm, "snapshot", pid, "-o", B, "--heap-blocks"], check=True, capture_output=True)
            shutil.copy(f"/proc/{pid}/maps", MB)
        finally:
            fx.stdin.close()
            fx.wait()
        doc = json.loads(subprocess.run([vm, "diff", A, B, "--json"], capture_output=True, text=True,
                                        check=True).stdout)
        with open(MA) as f:
            nmaps = sum(1 for _ in f)
        res = [
            ("vmatlas diff", median_ms([vm, "diff", A, B], a.runs)),
            ("vmatlas diff --json", median_ms([vm, "diff", A, B, "--json"], a.runs)),
            ("diff a.maps b.maps", median_ms(["diff", MA, MB], a.runs)),
        ]
    r = doc["regions"]
    print(f"{nmaps} mappings; {len(r['added'])} regions added, {len(r['removed'])} removed, "
          f"{len(r['changed'])} changed; median of {a.runs} runs")
    for name, ms in res:
        print(f"  {name:24s} {ms:8.1f} ms")


if __name__ == "__main__":
    main()
