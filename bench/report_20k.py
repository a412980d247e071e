#!/usr/bin/env python3
"""vmatlas report on a process with 20,000 mappings: the time to write the
page, its size, and the time headless Chromium takes to show it (from
navigation to the page drawn: the script done and two frames painted),
with the numbers the issue asks for beside them (under 2 s, under 20 MB).

    bench/report_20k.py [--build DIR] [--runs N] [--maps N]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import chromium  # noqa: E402
from benchlib import median_ms  # noqa: E402

DRAWN = ("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => "
         "r([performance.now(), +document.body.dataset.renderMs]))))")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--maps", type=int, default=20000)
    a = ap.parse_args()
    vm = os.path.join(a.build, "vmatlas")
    fx = subprocess.Popen([os.path.join(a.build, "fixtures", "layout"), "--maps", str(a.maps)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "map.html")
        try:
            pid = str(json.loads(fx.stdout.readline())["pid"])
            with open(f"/proc/{pid}/maps") as f:
                nmaps = sum(1 for _ in f)
            write_ms = median_ms([vm, "report", pid, "-o", out], a.runs, check=True)
            map_ms = median_ms([vm, "map", pid, "--json"], a.runs, check=True)
            regions = sum(len(x["regions"]) for x in
                          json.loads(subprocess.run([vm, "map", pid, "--json"], capture_output=True,
                                                    check=True).stdout)["allocations"])
        finally:
            fx.stdin.close()
            fx.wait()
        size = os.path.getsize(out)
        print(f"process with {nmaps} mappings ({regions} regions in the map)")
        print(f"  vmatlas map --json          {map_ms:8.1f} ms (median of {a.runs})")
        print(f"  vmatlas report -o FILE      {write_ms:8.1f} ms (median of {a.runs})")
        print(f"  page size                   {size / 1e6:8.2f} MB   (budget 20 MB)")
        if not chromium.find():
            print("  (no chromium: the browser's time not measured)")
            return
        drawn, script, rows = [], [], None
        for _ in range(a.runs):
            with chromium.Browser() as b:
                p = b.open("file://" + out)
                p.wait_for("document.body && document.body.dataset.ready === '1'", timeout=60)
                ms, in_page = p.eval(DRAWN, await_promise=True)
                drawn.append(ms)
                script.append(in_page)
                rows = p.eval("document.querySelectorAll('#tree tr.region').length")
                assert not p.errors, p.errors
        assert rows == regions, (rows, regions)
        print(f"  chromium: script done       {statistics.median(script):8.1f} ms after navigation (median of {a.runs})")
        print(f"  chromium: page drawn        {statistics.median(drawn):8.1f} ms after navigation"
              f" (median of {a.runs}, max {max(drawn):.1f}; budget 2000 ms)")
        print(f"  region rows in the page     {rows:8d}")


if __name__ == "__main__":
    main()
