#!/usr/bin/env python3
"""Capturing a live JVM: `vmatlas capture PID -o CORE` beside gdb's `gcore
-o CORE PID`, the usual way to keep a running process for later, on one
java process (a small program with a few threads and some heap, run by
Debian's java 17 with its default heap reservation). Both are timed over
--runs captures each, with the size of the file each writes: a JVM
reserves gigabytes it never touches, which gcore writes out.

    bench/capture_java.py [--build DIR] [--runs N] [--dir DIR]
"""
import argparse
import os
import shutil
import subprocess
import tempfile

from benchlib import times_s

PROGRAM = """
import java.util.*;
public class Hold {
    public static void main(String[] a) throws Exception {
        List<byte[]> keep = new ArrayList<>();
        for (int i = 0; i < 2000; i++) keep.add(new byte[16384]);
        for (int i = 0; i < 8; i++) {
            Thread t = new Thread(() -> { try { Thread.sleep(1 << 30); } catch (InterruptedException e) { } });
            t.setDaemon(true);
            t.start();
        }
        System.out.println("ready " + ProcessHandle.current().pid() + " " + keep.size());
        System.in.read();
    }
}
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--dir", default=None, help="where to write the cores (default: a temporary directory)")
    a = ap.parse_args()
    vm = os.path.join(a.build, "vmatlas")
    for tool in ("java", "gcore"):
        if not shutil.which(tool):
            raise SystemExit(f"capture_java.py: no {tool}")
    with tempfile.TemporaryDirectory(dir=a.dir) as d:
        src = os.path.join(d, "Hold.java")
        with open(src, "w") as f:
            f.write(PROGRAM)
        jv = subprocess.Popen(["java", src], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            line = jv.stdout.readline().split()
            if not line or line[0] != "ready":
                raise SystemExit("capture_java.py: the java program did not start")
            pid = line[1]
            core, gcore = os.path.join(d, "vm.core"), os.path.join(d, "gcore")
            vt = times_s([vm, "capture", pid, "-o", core], a.runs, check=True)
            vsize = os.path.getsize(core)
            os.unlink(core)
            gt = times_s(["gcore", "-o", gcore, pid], a.runs, check=True)
            gfile = gcore + "." + pid
            gsize = os.path.getsize(gfile)
            os.unlink(gfile)
        finally:
            jv.stdin.close()
            jv.wait()
    vm_s, g_s = sorted(vt)[len(vt) // 2], sorted(gt)[len(gt) // 2]
    print(f"java pid {pid}; median of {a.runs} captures each")
    print(f"  vmatlas capture   {vm_s:8.2f} s   file {vsize / 2**20:9.0f} MiB")
    print(f"  gcore             {g_s:8.2f} s   file {gsize / 2**20:9.0f} MiB")
    print(f"  vmatlas capture is {g_s / vm_s:.1f}x faster than gcore, its file {gsize / vsize:.1f}x smaller")


if __name__ == "__main__":
    main()
