#!/usr/bin/env python3
"""The thread run (`make tsan`): the commands that read a target from
several threads at once (snapshot --data hashes pages in two, search
scans in up to eight) under ThreadSanitizer, on every kind of target: a
live process, vmatlas's own core of it, gdb's core of it (its read-only
file mappings are read from the files) and minidumps. A run fails when
ThreadSanitizer reports anything or vmatlas fails. Ends with
"N passed, N failed".

    tests/tsan.py BUILD_DIR     (a build made with SANITIZE=thread)
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TIME_LIMIT = 120     # seconds a run may take (each takes about one)
# a report, and the line TSan prints instead when it cannot run at all
TSAN_SIGNS = ("WARNING: ThreadSanitizer", "ThreadSanitizer:")


def commands(target, d):
    out = os.path.join(d, "out")
    return [["snapshot", target, "--data", "-o", out, "--force"],
            ["search", target, "--ascii", "layout", "--include-ro", "--exec", "--threads", "8"],
            ["search", target, "--regex", "[a-z]{6}", "--threads", "8", "--max", "5000"],
            ["search", target, "--u8", "0", "--include-ro", "--threads", "4", "--max", "200000"]]


def run(vm, args):
    """(problem or None, stderr tail)"""
    try:
        p = subprocess.run([vm] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                           stdin=subprocess.DEVNULL, timeout=TIME_LIMIT)
        err = p.stderr.decode(errors="replace")
        # TSan cannot lay out its shadow under some kernels' address
        # randomisation: run that one again without it
        if "unexpected memory mapping" in err and shutil.which("setarch"):
            p = subprocess.run(["setarch", os.uname().machine, "-R", vm] + args, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=TIME_LIMIT)
            err = p.stderr.decode(errors="replace")
    except subprocess.TimeoutExpired:
        return f"hang (over {TIME_LIMIT} s)", ""
    if any(s in err for s in TSAN_SIGNS):
        return "ThreadSanitizer report", err[-3000:]
    if p.returncode != 0:
        return f"exit status {p.returncode}", err[-300:]
    return None, ""


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build/tsan"
    vm = os.path.join(build, "vmatlas")
    fix = os.path.join(build, "fixtures", "layout")
    passed = failed = 0

    def check(label, args):
        nonlocal passed, failed
        problem, err = run(vm, args)
        if problem is None:
            passed += 1
            print(f"ok   {label}: {' '.join(args[:2])}", flush=True)
        else:
            failed += 1
            print(f"FAIL {label}: vmatlas {' '.join(args)}: {problem}\n{err}", flush=True)

    print("== threads under ThreadSanitizer", flush=True)
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.Popen([fix], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            p.stdout.readline()      # the fixture is ready
            pid = str(p.pid)
            targets = [("live", pid)]
            core = os.path.join(d, "c.core")
            check("capture", ["capture", pid, "-o", core])
            if os.path.exists(core):
                targets.append(("core", core))
            if shutil.which("gcore"):
                g = os.path.join(d, "g")
                subprocess.run(["gcore", "-o", g, pid], capture_output=True, timeout=300)
                if os.path.exists(f"{g}.{pid}"):
                    targets.append(("gcore", f"{g}.{pid}"))
            dumps = sorted(glob.glob(os.path.join(ROOT, "..", "shared", "corpora", "minidump", "*.dmp")),
                           key=os.path.getsize)
            targets += [("minidump", x) for x in dumps[-2:]]
            for label, target in targets:
                for args in commands(target, d):
                    check(label, args)
        finally:
            p.stdin.close()
            p.wait(timeout=10)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
