#!/usr/bin/env python3
"""Writes the snapshot fuzzer's seeds from real snapshots of the changefix
fixture: whole files (first byte 1) and their decompressed payloads (first
byte: flags << 1), as tests/fuzz/fuzz_snapshot.c takes them. Run from the
top directory after `make fixtures`, when the format changes."""
import json
import os
import subprocess
import tempfile

OUT = "tests/fuzz/seeds/snapshot"


def main():
    os.makedirs(OUT, exist_ok=True)
    p = subprocess.Popen(["build/fixtures/changefix"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    pid = str(json.loads(p.stdout.readline())["pid"])
    with tempfile.TemporaryDirectory() as d:
        snap = os.path.join(d, "s.snap")

        def seed(name, opts, flags):
            subprocess.run(["build/vmatlas", "snapshot", pid, "-o", snap] + opts, check=True, capture_output=True)
            with open(snap, "rb") as f:
                blob = f.read()
            raw = subprocess.run(["zstd", "-dc"], input=blob[40:], capture_output=True, check=True).stdout
            with open(f"{OUT}/file-{name}", "wb") as f:
                f.write(b"\x01" + blob)
            with open(f"{OUT}/payload-{name}", "wb") as f:
                f.write(bytes([flags << 1]) + raw)
        seed("plain", [], 0)
        seed("blocks", ["--heap-blocks"], 2)
        p.stdin.write("\n")
        p.stdin.flush()
        p.stdout.readline()
        seed("data", ["--data", "--heap-blocks"], 3)
    p.stdin.close()
    p.wait()


if __name__ == "__main__":
    main()
