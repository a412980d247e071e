"""The command line itself: help made from the command table, the
options parsed from it, and the map's warnings after every command."""
import os
import re
import tempfile

from lib import fixture, run
from test_errors import one_error_line


def commands():
    p = run(["--help"])
    assert p.returncode == 0
    block = p.stdout.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
    return [line.split()[0] for line in block.splitlines()]


def test_help_for_every_command():
    names = commands()
    assert len(names) >= 17 and "diff" in names and "track" in names
    top = run(["--help"]).stdout
    for kind in ("'self'", "core file", "minidump", "-- PROGRAM"):
        assert kind in top, kind
    for name in names:
        a, b, c = run(["help", name]), run([name, "--help"]), run([name, "-h"])
        assert a.returncode == b.returncode == c.returncode == 0, (name, a.stderr, b.stderr)
        assert a.stdout == b.stdout == c.stdout and a.stderr == b.stderr == "", name
        assert a.stdout.startswith(f"usage: vmatlas {name} "), name
        # every option it shows is one it takes: unknown ones fail before --help
        for opt in sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*", a.stdout))):
            if opt in ("--TYPE",):
                continue
            p = run([name] + ([] if name not in ("scan", "track") else ["start"]) + [opt, "--help"])
            assert "unknown option" not in p.stderr, (name, opt, p.stderr)
    one_error_line(run(["help", "frobnicate"]), 2, "unknown command")
    assert "--threads" in run(["search", "--help"]).stdout


def test_targets_named_in_help():
    for name in ("map", "modules", "sym", "exports", "threads", "view", "search", "dump", "snapshot",
                 "whatis", "heap", "env", "scan"):
        out = run([name, "--help"]).stdout
        for kind in ("'self'", "core file", "minidump", "-- PROGRAM"):
            assert kind in out, (name, kind)
    assert "snapshot file" in run(["diff", "--help"]).stdout


def test_pages_after_options_with_values():
    """--pages ADDR then TARGET, after other options that take a value."""
    with fixture() as (p, t), tempfile.TemporaryDirectory() as d:
        pid, addr = str(t["pid"]), hex(t["split"]["addr"])
        for args in (["--sysroot", d, "--pages", addr, pid],
                     ["--color", "never", "--solib-path", d, "--pages", addr, pid],
                     ["--pages", addr, "--sysroot", d, pid],
                     [pid, "--sysroot", d, "--pages", addr],
                     ["--pages=" + addr, pid]):
            r = run(["map"] + args + ["--json"])
            assert r.returncode == 0, (args, r.stderr)
            import json
            doc = json.loads(r.stdout)
            with_pages = [x for a in doc["allocations"] for x in a["regions"] if "pages" in x]
            assert len(with_pages) == 1 and int(with_pages[0]["base"], 16) <= int(addr, 16), args
        # without ADDR: every committed region (the value of --sysroot is
        # no TARGET, so the last word is not taken for ADDR)
        for args in (["--sysroot", d, "--pages", pid], ["--solib-path", d, "--pages", pid],
                     ["--pages", "--sysroot", d, pid]):
            r = run(["map"] + args)
            assert r.returncode == 0 and "Present/Shared" in r.stdout, (args, r.stderr)


def test_view_struct_at_nothing():
    """A structure that cannot be decoded at an address nothing is mapped
    at: the one-byte probe says why."""
    with fixture() as (p, t):
        r = run(["view", str(t["pid"]), "--as", "ehdr", "--force", "0x1000"])
    one_error_line(r, 1, "cannot read 0x1000")


def test_warnings_after_every_map_command():
    """A map's warnings go to stderr whatever the command built it for."""
    bad = ["--add-module", "nosuch.so=0x10000"]
    with fixture() as (p, t), tempfile.TemporaryDirectory() as d:
        pid = str(t["pid"])
        for args in (["map", pid], ["modules", pid], ["sym", pid, "0x1000"], ["exports", pid, "--find", "zzzq"],
                     ["threads", pid], ["view", pid, "rsp", "8"], ["search", pid, "--ascii", "zzqq"],
                     ["dump", pid, "[stack]", "-o", os.path.join(d, "dump")], ["whatis", pid, "rsp"],
                     ["heap", pid], ["env", pid], ["snapshot", pid, "-o", os.path.join(d, "snap")],
                     ["scan", "start", pid, "--u32", "7", "-o", os.path.join(d, "scan")]):
            r = run(args + bad)
            assert r.returncode == 0, (args, r.stderr)
            assert "vmatlas: warning: --add-module nosuch.so" in r.stderr, (args, r.stderr)
