#!/usr/bin/env python3
"""Memory breakpoints (bpm, issue #14) beside a hardware watchpoint and
gdb's software watchpoint, on bpmfix's loops:

  - per hit: K writes to bpm_buf+0x800 caught by a debug register
    (`bpm w ... 8`), by page protection (`--pages`: the faulting
    instruction emulated, the default; and with `set bpm-emulate off`,
    lifted, stepped and re-protected as before) and by userfaultfd
    write-protection (`--uffd`), each a log-only breakpoint (no stop of
    the batch), the run without it taken off;
  - sparse hits in a long run: N iterations off the watched page, a
    write to the watched bytes every EVERY-th; vmatlas --pages against
    gdb's software watchpoint (`set can-use-hw-watchpoints 0`);
  - the worst case: K writes to unwatched bytes of a watched page (page
    protection emulated, stepped; userfaultfd).

    bench/bpm.py [--build DIR] [--hits K] [--long N] [--gdb-long N] [--runs N]
"""
import argparse
import os
import statistics
import subprocess
import tempfile
import time

from benchlib import median_s


def interleaved(cmds, runs):
    """median wall time of each command, the commands taken in turn runs
    times (the machine's load then weighs on each alike)"""
    ts = {k: [] for k in cmds}
    for _ in range(runs):
        for k, c in cmds.items():
            t = time.perf_counter()
            subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            ts[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in ts.items()}


def batch(lines):
    f = tempfile.NamedTemporaryFile("w", suffix=".dbg", delete=False)
    f.write("\n".join(lines) + "\n")
    f.close()
    return f.name


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--hits", type=int, default=2000)
    ap.add_argument("--long", type=int, default=20_000_000)
    ap.add_argument("--gdb-long", type=int, default=5000)
    ap.add_argument("--every", type=int, default=250)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    vm = os.path.join(a.build, "vmatlas")
    fx = os.path.join(a.build, "fixtures", "bpmfix")
    files = []

    def vmd(prog, *lines):
        path = batch(["break bpm_start", "continue"] + list(lines) + ["continue"])
        files.append(path)
        return [vm, "debug", "--batch", path, "--", fx] + prog

    def gdb(prog, *ex):
        path = batch(["break bpm_start", "run"] + list(ex) + ["continue"])
        files.append(path)
        return ["gdb", "-q", "-nx", "-batch", "-x", path, "--args", fx] + prog

    watch_sw = ["set can-use-hw-watchpoints 0", "watch *(long *)&bpm_buf[0x800]", "commands", "silent",
                "continue", "end"]

    try:
        hits = ["sparse", str(a.hits), "1"]
        m = interleaved({"base": vmd(hits), "dr": vmd(hits, 'bpm w bpm_buf+0x800 8 log "hit"'),
                         "pg": vmd(hits, 'bpm w bpm_buf+0x800 8 log "hit" --pages'),
                         "step": vmd(hits, "set bpm-emulate off", 'bpm w bpm_buf+0x800 8 log "hit" --pages'),
                         "uf": vmd(hits, 'bpm w bpm_buf+0x800 8 log "hit" --uffd')}, a.runs)
        dr, pg, pg_step, uf = (m[k] - m["base"] for k in ("dr", "pg", "step", "uf"))

        longp = ["sparse", str(a.long), str(a.long // 20)]
        base_long = median_s(vmd(longp), a.runs)
        pg_long = median_s(vmd(longp, 'bpm w bpm_buf+0x800 8 log "hit" --pages'), a.runs) - base_long
        off_long = median_s(vmd(longp, 'bpm w bpm_buf+0x2800 8 log "hit" --pages'), a.runs) - base_long

        gl = ["sparse", str(a.gdb_long), str(a.every)]
        base_g = median_s(gdb(gl), 1)
        sw_g = median_s(gdb(gl, *watch_sw), 1) - base_g
        base_gv = median_s(vmd(gl), a.runs)
        pg_gv = median_s(vmd(gl, 'bpm w bpm_buf+0x800 8 log "hit" --pages'), a.runs) - base_gv

        hot = ["hot", str(a.hits)]
        m = interleaved({"base": vmd(hot), "pg": vmd(hot, 'bpm w bpm_buf+0x800 8 log "hit" --pages'),
                         "step": vmd(hot, "set bpm-emulate off", 'bpm w bpm_buf+0x800 8 log "hit" --pages'),
                         "uf": vmd(hot, 'bpm w bpm_buf+0x800 8 log "hit" --uffd')}, a.runs)
        hot_pg, hot_step, hot_uf = (m[k] - m["base"] for k in ("pg", "step", "uf"))
    finally:
        for f in files:
            os.unlink(f)
    print(f"per hit, {a.hits} hits (log-only, no stop), median of {a.runs} interleaved runs, the run without it "
          f"taken off:")
    print(f"  debug register   {dr / a.hits * 1e6:8.1f} us a hit")
    print(f"  page protection  {pg / a.hits * 1e6:8.1f} us a hit ({pg / dr:.2f}x the debug register), "
          f"the instruction emulated")
    print(f"  page protection  {pg_step / a.hits * 1e6:8.1f} us a hit ({pg_step / dr:.2f}x), "
          f"lifted, stepped, re-protected (bpm-emulate off)")
    print(f"  userfaultfd      {uf / a.hits * 1e6:8.1f} us a hit ({uf / dr:.2f}x)")
    print(f"{a.long:,} iterations, 20 hits: page protection costs {pg_long:.3f} s; "
          f"a breakpoint on another page {off_long:.3f} s (accesses off the watched pages)")
    # vmatlas's part (a few hits) can be under the noise of a run: the
    # whole runs are compared too, vmatlas's start-up and all
    nh = a.gdb_long // a.every
    print(f"{a.gdb_long:,} iterations, a hit every {a.every} ({nh} hits): gdb software watchpoint {sw_g:.2f} s "
          f"above its run without it, vmatlas --pages {pg_gv:.4f} s; whole runs: gdb {base_g + sw_g:.2f} s, "
          f"vmatlas {base_gv + pg_gv:.3f} s: {(base_g + sw_g) / (base_gv + pg_gv):,.0f}x; gdb's watchpoint "
          f"against {nh} hits at the per-hit cost above: {sw_g / max(nh * pg / a.hits, 1e-6):,.0f}x")
    print(f"worst case, {a.hits} writes to unwatched bytes of a watched page: "
          f"{hot_pg / a.hits * 1e6:.1f} us an access emulated, {hot_step / a.hits * 1e6:.1f} us stepped, "
          f"{hot_uf / a.hits * 1e6:.1f} us by userfaultfd (emulated)")


if __name__ == "__main__":
    main()
