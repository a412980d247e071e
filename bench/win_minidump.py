#!/usr/bin/env python3
"""The Windows build under Wine beside the Linux build: `map` of one
minidump (by default the one dumpfix.exe writes of itself under Wine,
~110 MB), median of N runs each. Wine's own start-up is measured with
`vmatlas.exe --version` and shown apart.

    bench/win_minidump.py [--dump FILE] [--runs N]
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

WINE = "/usr/lib/wine/wine64"


def timed(cmd, env, runs):
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
                       env=env, check=True)
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dump")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    d = tempfile.mkdtemp()
    # $WINEPREFIX when set (a new prefix takes a minute to fill)
    env = dict(os.environ, WINEDEBUG="-all")
    env.setdefault("WINEPREFIX", os.path.join(d, "prefix"))
    os.makedirs(env["WINEPREFIX"], exist_ok=True)
    # a persistent server, unless one of this prefix runs already
    ours = subprocess.run(["/usr/lib/wine/wineserver", "-p"], env=env).returncode == 0
    try:
        dump = a.dump
        if not dump:
            dump = os.path.join(d, "w.dmp")
            subprocess.run([WINE, "build/fixtures/win/dumpfix.exe", dump], env=env, check=True,
                           stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        start = timed([WINE, "build/win64/vmatlas.exe", "--version"], env, a.runs)
        win = timed([WINE, "build/win64/vmatlas.exe", "map", dump], env, a.runs)
        lx = timed(["build/vmatlas", "map", dump], env, a.runs)
        print(f"map of {os.path.getsize(dump) / (1 << 20):.0f} MiB minidump, median of {a.runs}")
        print(f"  Linux build            {lx:6.2f} s")
        print(f"  Windows build (Wine)   {win:6.2f} s  (Wine start-up alone {start:.2f} s)")
    finally:
        if ours:
            subprocess.run(["/usr/lib/wine/wineserver", "-k"], env=env)


if __name__ == "__main__":
    main()
