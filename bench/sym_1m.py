#!/usr/bin/env python3
"""Symbolize 1,000,000 random addresses across a process's modules:
`vmatlas sym --stdin` beside `eu-addr2line -p PID -f` on the same
addresses, in one run. The table-building cost is measured separately
(one address) and subtracted to give the lookup rate. With --pe, the
same over the PE modules of the minidump the Wine fixture writes of
itself (exports from dump memory, COFF symbols and DWARF of dumpfix.exe),
beside the ELF rate (#16: the same rate for PE modules).

    bench/sym_1m.py [--build DIR] [--count N] [--pe]
"""
import argparse
import json
import os
import random
import resource
import subprocess
import tempfile
import time


CPU = {}  # the CPU time (user + system) of the last run of each command


def timed(cmd, stdin_path):
    """wall time of one run; its CPU time goes to CPU (a loaded machine
    stretches the wall time, not the CPU time)"""
    with open(stdin_path) as f:
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        subprocess.run(cmd, stdin=f, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        wall = time.perf_counter() - t
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        CPU[(tuple(cmd), stdin_path)] = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
        return wall


def random_addrs(path, mods, count):
    rnd = random.Random(1)
    with open(path, "w") as f:
        for _ in range(count):
            m = rnd.choice(mods)
            f.write(hex(int(m["base"], 16) + rnd.randrange(m["size"])) + "\n")


def pe_rates(vm, build, count, tmp):
    """[(name, setup, total)] of vmatlas sym over a Wine minidump's modules"""
    exe = os.path.abspath(os.path.join(build, "fixtures", "win", "dumpfix.exe"))
    env = dict(os.environ, WINEDEBUG="-all", WINEPREFIX=os.path.abspath(os.path.join(build, "wineprefix")))
    dmp = os.path.join(tmp, "w.dmp")
    subprocess.run(["/usr/lib/wine/wine64", exe, dmp], env=env, check=True, capture_output=True,
                   stdin=subprocess.DEVNULL)
    mods = json.loads(subprocess.run([vm, "modules", dmp, "--json"], capture_output=True, text=True,
                                     check=True).stdout)["modules"]
    mods = [m for m in mods if m["size"] and m.get("format") == "pe"]
    addrs, one = os.path.join(tmp, "pe_addrs"), os.path.join(tmp, "pe_one")
    random_addrs(addrs, mods, count)
    with open(one, "w") as f:
        f.write(hex(int(mods[0]["base"], 16)) + "\n")
    res = []
    for name, cmd in (("PE: vmatlas sym --no-lines", [vm, "sym", dmp, "--stdin", "--no-lines"]),
                      ("PE: vmatlas sym (file:line)", [vm, "sym", dmp, "--stdin"])):
        res.append((name, timed(cmd, one), timed(cmd, addrs), CPU[(tuple(cmd), addrs)]))
    os.unlink(dmp)
    return res, len(mods)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--count", type=int, default=1_000_000)
    ap.add_argument("--pe", action="store_true", help="also PE modules of a Wine minidump")
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
        addrs = os.path.join(tmp, "addrs")
        random_addrs(addrs, mods, a.count)
        one = os.path.join(tmp, "one")
        with open(one, "w") as f:
            f.write(hex(int(mods[0]["base"], 16)) + "\n")
        res = []
        for name, cmd in (("vmatlas sym --no-lines", [vm, "sym", pid, "--stdin", "--no-lines"]),
                          ("vmatlas sym (file:line)", [vm, "sym", pid, "--stdin"]),
                          ("eu-addr2line -f", ["eu-addr2line", "-p", pid, "-f"])):
            setup = timed(cmd, one)
            total = timed(cmd, addrs)
            res.append((name, setup, total, CPU[(tuple(cmd), addrs)]))
        pe, npe = pe_rates(vm, a.build, a.count, tmp) if a.pe else ([], 0)
    finally:
        fx.stdin.close()
        fx.wait()
        for f in os.listdir(tmp):
            os.unlink(os.path.join(tmp, f))
        os.rmdir(tmp)
    print(f"{a.count} random addresses over {len(mods)} modules")
    print(f"  {'':26s} {'setup':>9s} {'total':>9s} {'addresses/s':>14s} {'cpu':>8s} {'per cpu s':>12s}")
    for name, setup, total, cpu in res:
        rate = a.count / max(total - setup, 1e-9)
        print(f"  {name:26s} {setup * 1000:7.1f}ms {total:8.2f}s {rate:14,.0f} {cpu:7.2f}s {a.count / cpu:12,.0f}")
    if pe:
        print(f"{a.count} random addresses over the {npe} PE modules of a Wine minidump")
        for name, setup, total, cpu in pe:
            rate = a.count / max(total - setup, 1e-9)
            print(f"  {name:26s} {setup * 1000:7.1f}ms {total:8.2f}s {rate:14,.0f} {cpu:7.2f}s {a.count / cpu:12,.0f}")
        print(f"  PE rate / ELF rate (CPU time): no lines {res[0][3] / pe[0][3]:.2f}, "
              f"with lines {res[1][3] / pe[1][3]:.2f}")
    base = res[2][2]
    print(f"  vmatlas (no lines) is {base / res[0][2]:.0f}x faster than eu-addr2line, "
          f"with lines {base / res[1][2]:.0f}x")


if __name__ == "__main__":
    main()
