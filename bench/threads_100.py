#!/usr/bin/env python3
"""Unwind every thread of a 100-thread process: `vmatlas threads` beside
`gdb -batch -ex 'thread apply all bt'` and `eu-stack`, in one run.

    bench/threads_100.py [--build DIR] [--threads N] [--runs N]
"""
import argparse
import json
import os
import subprocess

from benchlib import median_s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--threads", type=int, default=96)  # + 5 named ones = 101
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    vm = os.path.join(a.build, "vmatlas")
    fx = subprocess.Popen([os.path.join(a.build, "fixtures", "stacks"), "--threads", str(a.threads)],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        pid = str(json.loads(fx.stdout.readline())["pid"])
        n = len(os.listdir(f"/proc/{pid}/task"))
        cmds = [("vmatlas threads", [vm, "threads", pid]),
                ("vmatlas threads --no-lines", [vm, "threads", pid, "--no-lines"]),
                ("eu-stack -p", ["eu-stack", "-p", pid]),
                ("gdb thread apply all bt", ["gdb", "-q", "-batch", "-p", pid, "-ex",
                                             "thread apply all bt"])]
        res = [(name, median_s(c, a.runs)) for name, c in cmds]
    finally:
        fx.stdin.close()
        fx.wait()
    print(f"unwinding all {n} threads, median of {a.runs} runs")
    for name, s in res:
        print(f"  {name:28s} {s * 1000:8.1f} ms")
    print(f"  with file:line vmatlas is {res[3][1] / res[0][1]:.1f}x faster than gdb; "
          f"without, {res[2][1] / res[1][1]:.1f}x faster than eu-stack (which prints none)")


if __name__ == "__main__":
    main()
