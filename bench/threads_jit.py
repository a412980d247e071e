#!/usr/bin/env python3
"""`vmatlas threads` where issue #15 found it slow, beside eu-stack and gdb:
a JIT runtime (node: 7 threads, a 180,000-symbol executable, JIT code
without CFI) and a process with 20,000 mappings (the layout fixture).
Goal: within 1.5x eu-stack with --no-lines, never slower than gdb with
lines.

    bench/threads_jit.py [--build DIR] [--runs N] [--no-node] [--maps N]
"""
import argparse
import json
import os
import shutil
import subprocess
import tempfile
import time

import resource
import statistics

from benchlib import median_s


def median_cpu_s(cmd, runs):
    """median CPU time (user + system) of cmd: what a loaded machine does
    not inflate the way it inflates wall time"""
    ts = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        ts.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return statistics.median(ts)

NODE_PROGRAM = """
const { Worker } = require('worker_threads');
function hot(n) { let s = 0; for (let i = 0; i < n; i++) s += Math.sqrt(i) * Math.sin(i); return s; }
for (let i = 0; i < 200; i++) hot(100000);          // JIT-compiled by now
console.log(JSON.stringify({ pid: process.pid }));
setInterval(() => hot(1000), 1000);
"""


def side_by_side(title, pid, vm, runs):
    cmds = [("vmatlas threads --no-lines", [vm, "threads", pid, "--no-lines"]),
            ("eu-stack -p", ["eu-stack", "-p", pid]),
            ("vmatlas threads", [vm, "threads", pid]),
            ("gdb thread apply all bt", ["gdb", "-q", "-batch", "-p", pid, "-ex", "thread apply all bt"])]
    res = [(name, median_s(c, runs), median_cpu_s(c, runs)) for name, c in cmds]
    print(f"{title}, median of {runs} runs (wall, and CPU: user + system)")
    for name, s, cpu in res:
        print(f"  {name:28s} {s * 1000:8.1f} ms wall  {cpu * 1000:8.1f} ms CPU")
    print(f"  --no-lines: {res[0][1] / res[1][1]:.2f}x eu-stack wall, {res[0][2] / res[1][2]:.2f}x CPU; "
          f"with lines: {res[2][1] / res[3][1]:.2f}x gdb wall, {res[2][2] / res[3][2]:.2f}x CPU")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--maps", type=int, default=20000)
    ap.add_argument("--no-node", action="store_true")
    a = ap.parse_args()
    vm = os.path.join(a.build, "vmatlas")
    node = shutil.which("node")
    if node and not a.no_node:
        with tempfile.NamedTemporaryFile("w", suffix=".js", delete=False) as f:
            f.write(NODE_PROGRAM)
        p = subprocess.Popen([node, f.name], stdout=subprocess.PIPE, text=True)
        try:
            pid = str(json.loads(p.stdout.readline())["pid"])
            time.sleep(0.5)
            n = len(os.listdir(f"/proc/{pid}/task"))
            side_by_side(f"node {subprocess.run([node, '--version'], capture_output=True, text=True).stdout.strip()}"
                         f" ({n} threads, JIT)", pid, vm, a.runs)
        finally:
            p.kill()
            p.wait()
            os.unlink(f.name)
    else:
        print("(no node: the JIT case is skipped)")
    fx = subprocess.Popen([os.path.join(a.build, "fixtures", "layout"), "--maps", str(a.maps)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        pid = str(json.loads(fx.stdout.readline())["pid"])
        with open(f"/proc/{pid}/maps") as f:
            nmaps = sum(1 for _ in f)
        side_by_side(f"layout fixture with {nmaps} mappings", pid, vm, a.runs)
    finally:
        fx.stdin.close()
        fx.wait()


if __name__ == "__main__":
    main()
