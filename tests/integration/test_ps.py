"""vmatlas ps on Linux, against /proc and the fixtures it starts (the
Windows build's ps is in test_winlive.py)."""
import json
import os
import pwd

from lib import fixture, run, run_json
import schema

HERE = os.path.dirname(os.path.abspath(__file__))


def load_schema():
    with open(os.path.join(HERE, "..", "..", "docs", "json-schema.json")) as f:
        return json.load(f)


def test_ps_lists_fixtures_with_bits_user_and_parent():
    with fixture(name="layout") as (p64, _), fixture(name="layout32") as (p32, _):
        doc = run_json(["ps"])
        schema.validate(load_schema(), "ps", doc)
        by = {x["pid"]: x for x in doc["processes"]}
        me = pwd.getpwuid(os.getuid()).pw_name
        for p, bits in ((p64, 64), (p32, 32)):
            x = by[p.pid]
            with open(f"/proc/{p.pid}/comm") as f:
                assert x["name"] == f.read().strip()
            assert x["exe"] == os.path.realpath(f"/proc/{p.pid}/exe")
            assert x["ppid"] == os.getpid() and x["user"] == me and x["bits"] == bits, x
        pids = [x["pid"] for x in doc["processes"]]
        assert pids == sorted(pids) and os.getpid() in by
        # a word keeps those whose name or executable holds it
        some = run_json(["ps", "layout32"])["processes"]
        assert p32.pid in {x["pid"] for x in some} and p64.pid not in {x["pid"] for x in some}
        assert all("layout32" in (x["name"] + (x["exe"] or "")) for x in some)
        text = run(["ps", "layout"])
        assert text.returncode == 0
        rows = {int(l.split()[0]): l.split() for l in text.stdout.splitlines()[1:]}
        assert rows[p64.pid][2] == "64" and rows[p32.pid][2] == "32" and rows[p64.pid][3] == me
