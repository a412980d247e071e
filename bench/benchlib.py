"""What the benchmark scripts share: timing a command, and building the
raw-copy floor (readall.c)."""
import os
import statistics
import subprocess
import time


def median_s(cmd, runs, check=False):
    """median wall time of cmd over runs, in seconds (output discarded)"""
    return statistics.median(times_s(cmd, runs, check))


def times_s(cmd, runs, check=False):
    """the wall time of each of runs runs of cmd, in seconds"""
    ts = []
    for _ in range(runs):
        t = time.perf_counter()
        # no timeout: with one, subprocess polls the child with growing
        # sleeps (0.5 ms, 1 ms, 2 ms...), and a 1.3 ms run measures 3.5 ms
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=check)
        ts.append(time.perf_counter() - t)
    return ts


def median_ms(cmd, runs, check=False):
    return median_s(cmd, runs, check) * 1000


def build_tool(build, name):
    """bench/NAME.c compiled into BUILD/bench/NAME; its path"""
    out = os.path.join(build, "bench", name)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    subprocess.run(["cc", "-O2", os.path.join(os.path.dirname(os.path.abspath(__file__)), name + ".c"), "-o", out],
                   check=True)
    return out


def build_readall(build):
    """bench/readall.c compiled into BUILD/bench/readall; its path"""
    return build_tool(build, "readall")
