#!/usr/bin/env python3
"""The cost of system calls while memory breakpoints hold pages (issue
#14): vmatlas then runs the target with PTRACE_SYSCALL to catch calls
whose buffers lie on a watched page, so every system call of every
thread stops twice (entry and exit) in vmatlas. bpmfix "sys N" makes N
getppid calls; timed natively, under vmatlas with no breakpoint, and
with a page breakpoint on a page the calls never touch.

    bench/bpm_sys.py [--build DIR] [--calls N] [--runs N]
"""
import argparse
import os
import tempfile

from benchlib import median_s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--calls", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    vm = os.path.join(a.build, "vmatlas")
    fx = os.path.join(a.build, "fixtures", "bpmfix")
    prog = [fx, "sys", str(a.calls)]
    files = []

    def vmd(*lines):
        f = tempfile.NamedTemporaryFile("w", suffix=".dbg", delete=False)
        f.write("\n".join(["break bpm_start", "continue"] + list(lines) + ["continue"]) + "\n")
        f.close()
        files.append(f.name)
        return [vm, "debug", "--batch", f.name, "--"] + prog

    try:
        native = median_s(prog, a.runs)
        plain = median_s(vmd(), a.runs)
        watched = median_s(vmd("bpm w bpm_buf+0x800 8 --pages"), a.runs)
    finally:
        for f in files:
            os.unlink(f)
    n = a.calls
    print(f"{n:,} getppid calls, median of {a.runs} runs:")
    print(f"  native                              {native:.3f} s ({native / n * 1e6:.2f} us a call)")
    print(f"  under vmatlas, no memory breakpoint {plain:.3f} s")
    print(f"  with a page breakpoint (syscalls traced) {watched:.3f} s: "
          f"{(watched - plain) / n * 1e6:.2f} us more a call")


if __name__ == "__main__":
    main()
