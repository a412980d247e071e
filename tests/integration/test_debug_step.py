"""vmatlas debug's step and next by source line against gdb's own on the
same program (gdb in batch mode gives the truth; skipped without gdb):
is_stmt rows, prologues skipped as gdb skips them, calls into a library
with line info through the PLT (lazy and immediate binding), calls into
code without line info stepped over; PLT stubs named in the disassembly
as objdump names them (x86-64 and i386)."""
import json
import os
import re
import shutil
import subprocess

from lib import FIXTURES, VMATLAS, Skip, no_sanitizer_reports

STEPFIX = os.path.join(FIXTURES, "stepfix")
DBGFIX = os.path.join(FIXTURES, "dbgfix")


def gdb_lines(prog, args, bp, cmd, n, env):
    """the source line gdb shows at the breakpoint and after each of n cmds"""
    if not shutil.which("gdb"):
        raise Skip("no gdb")
    argv = ["gdb", "-q", "-batch", "-nx", "-ex", "set pagination off", "-ex", "set debuginfod enabled off",
            "-ex", f"break {bp}", "-ex", "run"] + ["-ex", cmd] * n + ["-ex", "kill", "--args", prog] + list(args)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       stdin=subprocess.DEVNULL, env=env, timeout=120)
    # "31\t  int r = step_leaf(n);" (or "27\t./stdio-common/fprintf.c: No such file")
    return [int(m.group(1)) for m in re.finditer(r"^(\d+)\t", p.stdout, re.M)]


def vm_stops(prog, args, bp, cmd, n, env):
    """vmatlas's stops (line, where) at the breakpoint and after each cmd"""
    script = "\n".join([f"break {bp}", "continue"] + [cmd] * n + ["kill"]) + "\n"
    p = subprocess.run([VMATLAS, "debug", "--json", "--batch", "-", "--", prog] + list(args), input=script,
                       capture_output=True, text=True, env=env, timeout=120)
    no_sanitizer_reports(p.stderr)
    assert p.returncode == 0, p.stderr[-2000:]
    out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")]
    return [(o.get("line"), o["where"]) for o in out if o.get("event") in ("breakpoint", "stopped")]


def compare(prog, args, bp, cmd, n, binding=None):
    env = dict(os.environ)
    env.pop("LD_BIND_NOW", None)
    env.pop("LD_BIND_NOT", None)
    if binding:
        env[binding] = "1"
    truth = gdb_lines(prog, args, bp, cmd, n, env)
    ours = vm_stops(prog, args, bp, cmd, n, env)
    assert len(truth) == n + 1, truth  # every step stopped on a line
    assert [l for l, _ in ours] == truth, (ours, truth)
    return ours


def test_step_into_library_through_plt_as_gdb():
    # into step_leaf (no prologue), step_framed (push rbp; mov rbp,rsp:
    # skipped), visible_add and visible_call_static in libvisible.so
    # (through the PLT, bound lazily), visible_static; strlen folded
    ours = compare(STEPFIX, [], "step_main", "step", 16)
    where = [w for _, w in ours]
    assert "libvisible.so!visible_add" in where and "libvisible.so!visible_static" in where
    assert any(w.startswith("stepfix!step_framed+") for w in where)  # past its prologue


def test_step_through_bound_plt_as_gdb():
    ours = compare(STEPFIX, [], "step_main", "step", 16, binding="LD_BIND_NOW")
    assert "libvisible.so!visible_call_static" in [w for _, w in ours]


def test_step_through_plt_never_bound_as_gdb():
    # LD_BIND_NOT: the binder never writes the slot; the function is where
    # it jumps with the stub's stack
    ours = compare(STEPFIX, [], "step_main", "step", 16, binding="LD_BIND_NOT")
    assert "libvisible.so!visible_call_static" in [w for _, w in ours]


def test_next_over_library_calls_as_gdb():
    ours = compare(STEPFIX, [], "step_main", "next", 8)
    assert all(w.startswith("stepfix!") for _, w in ours)


def test_step_next_on_dbgfix_as_gdb():
    # dbg_target is called from dbg_lines; libc's code below has no line
    # info unless its debug file is installed: either way as gdb
    compare(DBGFIX, ["lines"], "dbg_lines", "step", 5)
    compare(DBGFIX, ["lines"], "dbg_lines", "next", 4)


def gdb_stops(prog, bp, cmd, n):
    """gdb's stops at the breakpoint and after each of n cmds: a line
    number, or the function's name where it has no line info"""
    if not shutil.which("gdb"):
        raise Skip("no gdb")
    argv = ["gdb", "-q", "-batch", "-nx", "-ex", "set pagination off", "-ex", "set debuginfod enabled off",
            "-ex", f"break {bp}", "-ex", "run"] + ["-ex", cmd] * n + ["-ex", "kill", "--args", prog]
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       stdin=subprocess.DEVNULL, timeout=120)
    out = []
    for l in p.stdout.splitlines():
        m = re.match(r"^(\d+)\t|^(?:Breakpoint \d+, )?0x[0-9a-f]+ in (\w+) \(\)", l)
        if m:
            out.append(int(m.group(1)) if m.group(1) else m.group(2))
    return out


def test_step_next_in_code_without_lines_as_gdb():
    """stopped in step_nolines (assembly, no line rows, with its CFI):
    step and next go through it as gdb does ("single stepping until exit
    from function"): step into step_leaf, which has lines, back into
    step_nolines (a stop without a line) and out to main's next line;
    next over step_leaf, out to main's next line at once; before, each
    moved one instruction"""
    for cmd in ("step", "next"):
        truth = gdb_stops(STEPFIX, "step_nolines", cmd, 4)
        assert len(truth) == 5 and truth[0] == "step_nolines", truth
        ours = vm_stops(STEPFIX, [], "step_nolines", cmd, 4, dict(os.environ))
        got = [l if l else re.sub(r"^stepfix!(\w+)(\+0x[0-9a-f]+)?$", r"\1", w) for l, w in ours]
        assert got == truth, (cmd, ours, truth)
        if cmd == "step":
            assert ours[1][1] == "stepfix!step_leaf", ours  # after its prologue (it has none)
        else:
            assert not any("step_leaf" in w for _, w in ours) and ours[1][1].startswith("stepfix!main+"), ours


def objdump_plt_calls(prog, fn):
    """{address: "name@plt"} of the calls to PLT stubs in fn, by objdump"""
    if not shutil.which("objdump"):
        raise Skip("no objdump")
    out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", prog], capture_output=True, text=True).stdout
    calls, inside = {}, False
    for line in out.splitlines():
        if re.match(r"^[0-9a-f]+ <", line):
            inside = line.endswith(f"<{fn}>:")
        m = re.match(r"^\s*([0-9a-f]+):\s+call\s+[0-9a-f]+ <([^>]+@plt)>", line)
        if inside and m:
            calls[int(m.group(1), 16)] = m.group(2)
    return calls


def test_plt_calls_named_as_objdump_64_and_32():
    for prog, fn in ((STEPFIX, "step_main"), (DBGFIX + "32", "main"), (DBGFIX, "main")):
        if not os.path.exists(prog):
            continue  # the 32-bit one needs gcc-multilib
        calls = objdump_plt_calls(prog, fn)
        assert calls, prog
        p = subprocess.run([VMATLAS, "debug", "--json", "--batch", "-", "--", prog, "calls", "1"],
                           input=f"disasm {fn} 80\nkill\n", capture_output=True, text=True, timeout=60)
        no_sanitizer_reports(p.stderr)
        res = [json.loads(l) for l in p.stdout.splitlines() if '"command":"disasm"' in l][0]
        insns = res["insns"]
        base = int(insns[0]["addr"], 16)
        nm = subprocess.run(["nm", prog], capture_output=True, text=True).stdout
        first = [int(f[0], 16) for f in (l.split() for l in nm.splitlines()) if len(f) == 3 and f[2] == fn][0]
        last = int(insns[-1]["addr"], 16) - base + first
        calls = {a: n for a, n in calls.items() if a <= last}  # the ones disassembled
        assert calls, prog
        seen = 0
        for i in insns:
            name = calls.get(int(i["addr"], 16) - base + first)
            if name:
                # unbound stubs by their name; bound ones by the function
                assert name in i["text"] or ("!" + name[:-4]) in i["text"], (i, name)
                seen += 1
        assert seen == len(calls), (prog, seen, calls)
