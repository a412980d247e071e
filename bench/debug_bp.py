#!/usr/bin/env python3
"""The debugger's speed beside gdb's on the same loop (dbgfix calls N:
dbg_target called N times): a breakpoint whose condition is never true,
a log-only breakpoint (gdb: dprintf), stepi, and attaching to and
detaching from a 100-thread process.

    bench/debug_bp.py [--build DIR] [--calls N] [--runs N]

Each time is the whole run less the same run without the breakpoint, so
what is left is the breakpoint's cost; per hit = that / N.
"""
import argparse
import json
import os
import subprocess
import tempfile

import statistics

from benchlib import build_tool, median_s, times_s


def batch(lines):
    f = tempfile.NamedTemporaryFile("w", suffix=".dbg", delete=False)
    f.write("\n".join(lines) + "\n")
    f.close()
    return f.name


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--calls", type=int, default=20000)
    ap.add_argument("--steps", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--threads", type=int, default=96)
    a = ap.parse_args()
    vm = os.path.join(a.build, "vmatlas")
    fx = os.path.join(a.build, "fixtures", "dbgfix")
    prog = [fx, "calls", str(a.calls)]
    files = []

    def vmd(*lines):
        path = batch(list(lines))
        files.append(path)
        return [vm, "debug", "--batch", path, "--"] + prog

    def gdb(*ex):
        cmd = ["gdb", "-q", "-nx", "-batch"]
        for e in ex:
            cmd += ["-ex", e]
        return cmd + ["--args"] + prog

    never = "rdi == 0x7fffffffffff"
    rows, best = [], []
    try:
        base_vm_t = times_s(vmd("continue"), a.runs)
        base_gdb_t = times_s(gdb("run"), a.runs)
        base_vm, base_gdb = statistics.median(base_vm_t), statistics.median(base_gdb_t)
        for name, cmd, base in [
            ("vmatlas break if (false)", vmd(f"break dbg_target if {never}", "continue"), base_vm),
            ("gdb break if (false)", gdb(f"break dbg_target if $rdi == 0x7fffffffffff", "run"), base_gdb),
            ("vmatlas break log", vmd('break dbg_target log "i={rdi}"', "continue"), base_vm),
            ("gdb dprintf", gdb('dprintf dbg_target,"i=%lu\\n",$rdi', "run"), base_gdb),
        ]:
            ts = times_s(cmd, a.runs)
            t = statistics.median(ts) - base
            rows.append((name, t, t / a.calls * 1e6))
            # the least disturbed run of each (a shared machine's load
            # comes and goes within seconds)
            b = min(ts) - min(base_vm_t if name.startswith("vmatlas") else base_gdb_t)
            best.append((name, b, b / a.calls * 1e6))
        # stepi: N steps from main, less the run without them
        steps_vm = median_s(vmd("break main", "continue", f"stepi {a.steps}", "kill"), a.runs) - \
            median_s(vmd("break main", "continue", "kill"), a.runs)
        steps_gdb = median_s(gdb("break main", "run", f"stepi {a.steps}", "kill"), a.runs) - \
            median_s(gdb("break main", "run", "kill"), a.runs)
        # the floor: a bare ptrace loop, nothing else (bench/ptrace_floor.c)
        floor = build_tool(a.build, "ptrace_floor")

        def floor_us(mode, n):
            return statistics.median(float(subprocess.run([floor, mode, str(n)], capture_output=True, text=True,
                                                          check=True).stdout) for _ in range(a.runs))
        floor_hit = floor_us("break", a.calls)
        floor_step = floor_us("step", a.steps)
        # attach + detach: a 100-thread process
        st = subprocess.Popen([os.path.join(a.build, "fixtures", "stacks"), "--threads", str(a.threads)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            pid = str(json.loads(st.stdout.readline())["pid"])
            nthreads = len(os.listdir(f"/proc/{pid}/task"))
            det = batch(["detach"])
            files.append(det)
            attach_vm = median_s([vm, "debug", "--batch", det, pid], a.runs * 3)
            attach_gdb = median_s(["gdb", "-q", "-nx", "-batch", "-p", pid, "-ex", "detach"], a.runs)
        finally:
            st.stdin.close()
            st.wait()
    finally:
        for f in files:
            os.unlink(f)
    print(f"{a.calls} hits of a breakpoint on dbgfix's dbg_target, median of {a.runs} runs "
          f"(the run without it taken off)")
    for name, t, us in rows:
        print(f"  {name:28s} {t:7.3f} s  {us:7.1f} us a hit")
    print(f"  false condition: vmatlas {rows[1][1] / rows[0][1]:.1f}x gdb's rate; "
          f"log: {rows[3][1] / rows[2][1]:.1f}x")
    print(f"best of {a.runs} (each tool's least disturbed run):")
    for name, t, us in best:
        print(f"  {name:28s} {t:7.3f} s  {us:7.1f} us a hit")
    print(f"  false condition: vmatlas {best[1][1] / best[0][1]:.1f}x gdb's rate; "
          f"log: {best[3][1] / best[2][1]:.1f}x")
    print(f"  bare ptrace loop (trap, restore, step, re-insert): {floor_hit:.1f} us a hit")
    print(f"stepi {a.steps}: vmatlas {a.steps / steps_vm:,.0f} steps/s, gdb {a.steps / steps_gdb:,.0f} steps/s, "
          f"bare PTRACE_SINGLESTEP loop {1e6 / floor_step:,.0f} steps/s")
    print(f"attach + detach, {nthreads} threads (whole command): vmatlas {attach_vm * 1000:.1f} ms, "
          f"gdb {attach_gdb * 1000:.1f} ms")


if __name__ == "__main__":
    main()
