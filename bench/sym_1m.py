#!/usr/bin/env python3
"""Symbolize 1,000,000 random addresses across a process's modules:
`vmatlas sym --stdin` beside `eu-addr2line -p PID -f` on the same
addresses, in one run. The table-building cost is measured separately
(one address) and subtracted to give the lookup rate.

    bench/sym_1m.py [--build DIR] [--count N]
"""
import argparse
import json
import os
import random
import subprocess
import tempfile
import time


def timed(cmd, stdin_path):
    with open(stdin_path) as f:
        t = time.perf_counter()
        subprocess.run(cmd, stdin=f, stdout=subprocess.DEVNULL, check=True)
        return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--count", type=int, default=1_000_000)
    a = ap.parse_args()
    vm = os.path.join(a.build, "vmatlas")
    fx = subprocess.Popen([os.path.join(a.build, "fixtures", "modfix")], stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE, text=True)
    tmp = tempfile.mkdtemp()
    try:
        pid = str(json.loads(fx.stdout.readline())["pid"])
        mods = json.loads(subprocess.run([vm, "modules", pid, "--json"], capture_output=True,
                                         text=True, check=True).stdout)["modules"]
        mods = [m for m in mods if m["size"]]
        rnd = random.Random(1)
        addrs = os.path.join(tmp, "addrs")
        with open(addrs, "w") as f:
            for _ in range(a.count):
                m = rnd.choice(mods)
                f.write(hex(int(m["base"], 16) + rnd.randrange(m["size"])) + "\n")
        one = os.path.join(tmp, "one")
        with open(one, "w") as f:
            f.write(hex(int(mods[0]["base"], 16)) + "\n")
        res = []
        for name, cmd in (("vmatlas sym --no-lines", [vm, "sym", pid, "--stdin", "--no-lines"]),
                          ("vmatlas sym (file:line)", [vm, "sym", pid, "--stdin"]),
                          ("eu-addr2line -f", ["eu-addr2line", "-p", pid, "-f"])):
            setup = timed(cmd, one)
            total = timed(cmd, addrs)
            res.append((name, setup, total))
    finally:
        fx.stdin.close()
        fx.wait()
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    print(f"{a.count} random addresses over {len(mods)} modules")
    print(f"  {'':26s} {'setup':>9s} {'total':>9s} {'addresses/s':>14s}")
    for name, setup, total in res:
        rate = a.count / max(total - setup, 1e-9)
        print(f"  {name:26s} {setup * 1000:7.1f}ms {total:8.2f}s {rate:14,.0f}")
    base = res[2][2]
    print(f"  vmatlas (no lines) is {base / res[0][2]:.0f}x faster than eu-addr2line, "
          f"with lines {base / res[1][2]:.0f}x")


if __name__ == "__main__":
    main()
