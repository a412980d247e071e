#!/usr/bin/env python3
"""The torture run (`make torture`): real and seed files of every kind
vmatlas reads, mutated at random, through every command that reads
them, each run bounded in time and memory. A run fails when vmatlas dies
of a signal (a crash), runs past its time (a hang), grows past the memory
bound, exits 128 or more, prints a sanitizer report, or prints more than
one error line. Ends with "N passed, N failed"; failing inputs are kept
in build/torture/failed/.

    tests/torture.py [--seconds N] [--seed S] [BUILD_DIR]
"""
import glob
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# generous: a 200 MB core may hold millions of heap chunks, and the
# sanitizer build is several times slower; a hang or a runaway is far past
TIME_LIMIT = 90          # seconds a run may take
RSS_LIMIT = 3 << 30      # bytes a run may use
SAN_REPORTS = ("AddressSanitizer", "runtime error:", "LeakSanitizer", "UndefinedBehavior")


def seeds():
    """(kind, bytes) of every starting file"""
    out = []
    for kind in ("core", "minidump", "elf", "snapshot", "scan", "pe"):
        for path in sorted(glob.glob(os.path.join(HERE, "fuzz", "seeds", kind, "*"))):
            data = open(path, "rb").read()
            if kind == "pe":           # the fuzzer's first byte picks the mode
                data = data[1:]
            out.append((kind, data))
    for path in sorted(glob.glob(os.path.join(ROOT, "..", "shared", "corpora", "minidump", "*.dmp"))):
        out.append(("minidump", open(path, "rb").read()))
    for path in sorted(glob.glob("/usr/lib/x86_64-linux-gnu/wine/x86_64-windows/*.dll"))[:20]:
        out.append(("pe", open(path, "rb").read()))
    return out


def real_files(build, d):
    """a capture core, a gcore core, a snapshot with page hashes, a scan
    file of a fixture"""
    vm = os.path.join(build, "vmatlas")
    fix = os.path.join(build, "fixtures", "layout")
    if not os.path.exists(fix):
        return []
    p = subprocess.Popen([fix], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    out = []
    try:
        p.stdout.readline()
        pid = str(p.pid)
        for kind, args, name in (("core", ["capture", pid], "c.core"), ("snapshot", ["snapshot", pid, "--data"], "s.snap"),
                                 ("scan", ["scan", "start", pid, "--u8", "90"], "s.scan")):
            path = os.path.join(d, name)
            try:
                ok = subprocess.run([vm] + args + ["-o", path], capture_output=True, timeout=300).returncode == 0
            except subprocess.TimeoutExpired:
                ok = False   # a slow machine: go on without this input
            if ok:
                out.append((kind, open(path, "rb").read()))
        if shutil.which("gcore"):    # gdb's cores leave out read-only file mappings
            g = os.path.join(d, "g")
            try:
                subprocess.run(["gcore", "-o", g, pid], capture_output=True, timeout=300)
            except subprocess.TimeoutExpired:
                pass
            if os.path.exists(f"{g}.{pid}"):
                out.append(("core", open(f"{g}.{pid}", "rb").read()))
    finally:
        p.stdin.close()
        p.wait(timeout=10)
    return out


def mutate(rng, data):
    b = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if not b:
            break
        op = rng.randrange(6)
        at = rng.randrange(len(b))
        if op == 0:                                  # flip bits
            b[at] ^= 1 << rng.randrange(8)
        elif op == 1:                                # a big or odd number
            v = rng.choice([0xff, 0x7f, 0x80, 0, 1])
            for k in range(rng.choice([1, 2, 4, 8])):
                if at + k < len(b):
                    b[at + k] = v
        elif op == 2:                                # cut
            del b[rng.randrange(len(b)):]
        elif op == 3:                                # copy a piece elsewhere
            n = rng.randint(1, 64)
            src = rng.randrange(len(b))
            b[at:at + n] = b[src:src + n]
        elif op == 4:                                # a random word
            for k in range(8):
                if at + k < len(b):
                    b[at + k] = rng.randrange(256)
        else:                                        # insert
            b[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(b)


def commands(kind, path, d):
    out = os.path.join(d, "out")
    if kind in ("core", "minidump"):
        return [["map", path], ["map", path, "--json", "--all"], ["threads", path], ["modules", path, "--symbols"],
                ["heap", path, "--blocks"], ["env", path], ["exports", path, "--find", "a*"],
                ["search", path, "--ascii", "a"], ["search", path, "--hex", "00 ?? 00"],
                ["snapshot", path, "--data", "-o", out], ["whatis", path, "0x400000"],
                ["view", path, "0x400000", "64"], ["dump", path, "0x400000", "-o", out, "--fill"]]
    if kind in ("pe", "elf"):
        return [["image", "-a", path], ["image", "-a", "--json", path]]
    if kind == "snapshot":
        return [["diff", path, path], ["diff", path, path, "--json"], ["map", path]]
    if kind == "scan":
        return [["scan", "list", path]]
    return []


def run_one(vm, args):
    """(problem or None, stderr)"""
    p = subprocess.Popen([vm] + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                         start_new_session=True)
    timed_out = []

    def kill():
        timed_out.append(True)
        os.killpg(p.pid, signal.SIGKILL)
    timer = threading.Timer(TIME_LIMIT, kill)
    timer.start()
    err = p.stderr.read().decode(errors="replace")
    _, status, ru = os.wait4(p.pid, 0)
    timer.cancel()
    p.returncode = os.waitstatus_to_exitcode(status)
    rss = ru.ru_maxrss * 1024
    if timed_out:
        return f"hang (over {TIME_LIMIT} s)", err
    if p.returncode < 0:
        return f"killed by signal {-p.returncode}", err
    if p.returncode >= 128:
        return f"exit status {p.returncode}", err
    if rss > RSS_LIMIT:
        return f"used {rss >> 20} MiB", err
    if any(s in err for s in SAN_REPORTS):
        return "sanitizer report", err
    lines = [l for l in err.splitlines() if l and "warning" not in l]
    if p.returncode and len(lines) != 1:
        return f"{len(lines)} error lines", err
    return None, err


def main():
    args = sys.argv[1:]
    seconds, seed = 120, int(time.time())
    while args and args[0].startswith("--"):
        if args[0] == "--seconds":
            seconds = int(args[1])
        elif args[0] == "--seed":
            seed = int(args[1])
        args = args[2:]
    build = args[0] if args else "build"
    vm = os.path.join(build, "vmatlas")
    rng = random.Random(seed)
    faildir = os.path.join(build, "torture", "failed")
    os.makedirs(faildir, exist_ok=True)
    print(f"== torture: seed {seed}, {seconds} s", flush=True)
    passed = failed = 0
    with tempfile.TemporaryDirectory() as d:
        pool = seeds() + real_files(build, d)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            kind, data = rng.choice(pool)
            path = os.path.join(d, "input")
            with open(path, "wb") as f:
                f.write(mutate(rng, data))
            for cmd in commands(kind, path, d):
                if time.monotonic() >= end:
                    break
                problem, err = run_one(vm, cmd)
                if problem is None:
                    passed += 1
                    continue
                failed += 1
                keep = os.path.join(faildir, f"{kind}-{failed}")
                shutil.copy(path, keep)
                print(f"FAIL vmatlas {' '.join(c if c != path else keep for c in cmd)}: {problem}\n"
                      f"     {err.strip()[-300:]}", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
