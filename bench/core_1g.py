#!/usr/bin/env python3
"""Mapping a 1 GiB core: `vmatlas map CORE` beside `eu-readelf -n CORE`
(its notes: threads, files, auxv) and `gdb -batch -c CORE -ex 'info proc
mappings'` on the same core, which `vmatlas capture` writes of a process
holding 1 GiB of data (searchfix --fill). The goal is under a second and
faster than both. The capture holds the map vmatlas saved; a gcore core of
the same process (when gdb's gcore is there) is mapped from scratch.

    bench/core_1g.py [--build DIR] [--mib N] [--runs N] [--dir DIR]
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile

from benchlib import median_s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--mib", type=int, default=1024)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--dir", default=None, help="where to write the core (default: a temporary directory)")
    a = ap.parse_args()
    vm = os.path.join(a.build, "vmatlas")
    exe = os.path.join(a.build, "fixtures", "searchfix")
    with tempfile.TemporaryDirectory(dir=a.dir) as d:
        core = os.path.join(d, "big.core")
        fx = subprocess.Popen([exe, "--fill", str(a.mib)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            pid = str(json.loads(fx.stdout.readline())["pid"])
            cap = json.loads(subprocess.run([vm, "capture", pid, "-o", core, "--json"], capture_output=True,
                                            text=True, check=True).stdout)
            gcore = os.path.join(d, "big.gcore")
            have_gcore = shutil.which("gcore") and subprocess.run(
                ["gcore", "-o", gcore, pid], capture_output=True).returncode == 0
            if have_gcore and not os.path.exists(gcore):
                gcore += "." + pid
        finally:
            fx.stdin.close()
            fx.wait()
        gdb = ["gdb", "-batch", "-nx", "-c", core, exe, "-ex", "info proc mappings"]
        res = [
            ("vmatlas map", median_s([vm, "map", core], a.runs, check=True)),
            ("vmatlas map --json", median_s([vm, "map", core, "--json"], a.runs, check=True)),
            ("eu-readelf -n", median_s(["eu-readelf", "-n", core], a.runs, check=True)),
            ("gdb info proc mappings", median_s(gdb, a.runs, check=True)),
        ]
        if have_gcore:
            res += [
                ("gcore: vmatlas map", median_s([vm, "map", gcore], a.runs, check=True)),
                ("gcore: vmatlas map --json", median_s([vm, "map", gcore, "--json"], a.runs, check=True)),
                ("gcore: eu-readelf -n", median_s(["eu-readelf", "-n", gcore], a.runs, check=True)),
            ]
        print(f"core of {cap['memory'] / 2**30:.2f} GiB of memory, {cap['segments']} segments, "
              f"file {cap['bytes'] / 2**30:.2f} GiB; median of {a.runs} runs")
        for name, s in res:
            print(f"  {name:26s} {s * 1000:9.2f} ms")
        print(f"  vmatlas map is {res[2][1] / res[0][1]:.2f}x eu-readelf -n, {res[3][1] / res[0][1]:.1f}x gdb")
        if have_gcore:
            print(f"  on the gcore core: {res[6][1] / res[4][1]:.2f}x eu-readelf -n")


if __name__ == "__main__":
    main()
