"""Issue #15, Linux items: answers that were wrong on real programs
(symbol sizes, C++ names, exports, whatis without RTTI, freeze, a main
thread gone, deleted libraries), checked on fixtures that print their
truth and on real programs."""
import json
import os
import re
import shutil
import subprocess
import time

from lib import FIXTURES, Skip, fixture, run, run_json


def sym1(pid, addr, *extra):
    return run_json(["sym", str(pid), hex(addr)] + list(extra))[0]


def test_symbol_size_respected():
    """past a sized symbol's end an address is the module's, not
    symbol+off (gdb and eu-stack say ??)"""
    with fixture(name="symfix") as (p, t):
        pid = t["pid"]
        inside = sym1(pid, t["sized_obj"] + 4)
        past = sym1(pid, t["sized_obj"] + 8)
        past2 = sym1(pid, t["sized_obj"] + 12)
        # _end is unsized and ends the image: what lies past it is no section's
        mods = {m["name"]: m for m in run_json(["modules", str(pid)])["modules"]}
        nm = subprocess.run(["nm", os.path.join(FIXTURES, "symfix")], capture_output=True, text=True).stdout
        end = int(re.search(r"^([0-9a-f]+) B _end$", nm, re.M).group(1), 16)
        after_end = sym1(pid, end + int(mods["symfix"]["load_bias"], 16) + 8)
    assert inside["symbol"] == "sized_obj" and inside["offset"] == 4
    for r in (past, past2):
        assert r["symbol"] is None and r["module"] == "symfix", r
        assert re.fullmatch(r"symfix\+0x[0-9a-f]+", r["text"]), r
    assert after_end["symbol"] is None, after_end
