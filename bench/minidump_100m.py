#!/usr/bin/env python3
"""Mapping a 100 MB minidump: `vmatlas map DUMP` on the full-memory dump
the Wine fixture (dumpfix.exe) writes of itself, beside reading the file
once (`cat DUMP > /dev/null`, the floor). No Linux tool reads minidumps
(gdb and eu-readelf do not), so the floor is the only peer here. The goal
is under a second.

    bench/minidump_100m.py [--build DIR] [--runs N]
"""
import argparse
import json
import os
import subprocess
import tempfile

from benchlib import median_s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    vm = os.path.join(a.build, "vmatlas")
    exe = os.path.abspath(os.path.join(a.build, "fixtures", "win", "dumpfix.exe"))
    env = dict(os.environ, WINEDEBUG="-all", WINEPREFIX=os.path.abspath(os.path.join(a.build, "wineprefix")))
    with tempfile.TemporaryDirectory() as d:
        dmp = os.path.join(d, "w.dmp")
        subprocess.run(["/usr/lib/wine/wine64", exe, dmp], env=env, check=True, capture_output=True,
                       stdin=subprocess.DEVNULL)
        doc = json.loads(subprocess.run([vm, "map", dmp, "--json"], capture_output=True, text=True).stdout)
        res = [
            ("vmatlas map", median_s([vm, "map", dmp], a.runs)),
            ("vmatlas map --json", median_s([vm, "map", dmp, "--json"], a.runs)),
            ("vmatlas threads", median_s([vm, "threads", dmp], a.runs)),
            ("cat > /dev/null (floor)", median_s(["sh", "-c", f"cat {dmp} > /dev/null"], a.runs)),
        ]
        nreg = sum(len(al["regions"]) for al in doc["allocations"])
        print(f"minidump of {os.path.getsize(dmp) / 2**20:.0f} MiB, {nreg} regions, "
              f"{len(doc['modules'])} modules; median of {a.runs} runs")
        for name, s in res:
            print(f"  {name:24s} {s:8.3f} s")


if __name__ == "__main__":
    main()
