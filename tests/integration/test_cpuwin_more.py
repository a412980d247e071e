"""The CPU window's syntax, units, registers and stack names, through the
batch mode (the same engine calls as the panes) and through tmux, against
cpufix (which prints its truth on stderr) and objdump."""
import json
import os
import re
import subprocess
import tempfile

from lib import FIXTURES, VMATLAS, Skip, no_sanitizer_reports

CPUFIX = os.path.join(FIXTURES, "cpufix")
DBGFIX = os.path.join(FIXTURES, "dbgfix")


def run(lines, prog=CPUFIX, json_out=True, rc=0):
    """vmatlas debug --batch on prog: (JSON docs or text, truth, stderr)"""
    with tempfile.NamedTemporaryFile("w", suffix=".dbg", delete=False) as f:
        f.write("\n".join(lines) + "\n")
        path = f.name
    try:
        argv = [VMATLAS, "debug"] + (["--json"] if json_out else []) + ["--batch", path, "--", prog]
        p = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    finally:
        os.unlink(path)
    no_sanitizer_reports(p.stderr)
    assert p.returncode == rc, (p.stdout[-3000:], p.stderr[-3000:])
    truth = None
    for l in p.stderr.splitlines():
        if l.startswith('{"pid"'):
            truth = json.loads(l)
    out = [json.loads(l) for l in p.stdout.splitlines() if l.startswith("{")] if json_out else p.stdout
    return out, truth, p.stderr


def results(out, command):
    return [o for o in out if o.get("command") == command]


# ---- AT&T syntax against objdump -M att ----

ALIAS = {"movabs": "mov", "jnz": "jne", "jz": "je", "jnbe": "ja", "jnb": "jae", "jnae": "jb", "jc": "jb", "jnc": "jae",
         "jna": "jbe", "jnle": "jg", "jnl": "jge", "jnge": "jl", "jng": "jle", "jp": "jp", "jpe": "jp",
         "jpo": "jnp", "cmovnz": "cmovne", "cmovz": "cmove", "setnz": "setne", "setz": "sete",
         "cmovnbe": "cmova", "cmovnb": "cmovae", "cmovb": "cmovb", "cmovnle": "cmovg", "cmovnl": "cmovge",
         "cmovle": "cmovle", "setnbe": "seta", "setnle": "setg", "setnl": "setge", "setb": "setb",
         "setnb": "setae", "setbe": "setbe", "cmovbe": "cmovbe", "cmovl": "cmovl", "setl": "setl",
         "setle": "setle"}


def norm(text):
    """(mnemonic, operands): comments and <symbol> suffixes dropped, blanks
    after commas gone"""
    text = re.sub(r"\s+#.*$", "", text)
    text = re.sub(r"\s*<[^>]*>", "", text).strip()
    parts = text.split(None, 1)
    while parts and parts[0] in ("bnd", "notrack", "rep", "repz", "repe", "lock", "data16", "cs", "ds"):
        rest = parts[1].split(None, 1) if len(parts) > 1 else []
        parts = [parts[0] + " " + rest[0]] + rest[1:] if rest else parts[:1]
    mn = parts[0] if parts else ""
    ops = re.sub(r",\s+", ",", parts[1]) if len(parts) > 1 else ""
    ops = re.sub(r"(^|[,*])0x0\(", r"\1(", ops)  # an encoded zero displacement (%r13, %rbp)
    last = mn.split()[-1] if mn else mn
    mn = mn.replace(last, ALIAS.get(last, last)) if last else mn
    return mn, ops


def same_mnemonic(a, b):
    """equal, or one with the other's AT&T size suffix (objdump writes
    fldt and movl where the operand size is implicit)"""
    return a == b or (len(a) == len(b) + 1 and a.startswith(b) and a[-1] in "bwlqst") or \
        (len(b) == len(a) + 1 and b.startswith(a) and b[-1] in "bwlqst")


def objdump_att(path, func):
    p = subprocess.run(["objdump", "-d", "-M", "att", "--no-show-raw-insn", "--disassemble=" + func, path],
                       capture_output=True, text=True, check=True)
    rows = {}
    for l in p.stdout.splitlines():
        m = re.match(r"^\s+([0-9a-f]+):\t(.*)$", l)
        if m and m.group(2).strip():
            rows[int(m.group(1), 16)] = m.group(2)
    return rows


def nm_addr(path, name):
    p = subprocess.run(["nm", path], capture_output=True, text=True, check=True)
    for l in p.stdout.splitlines():
        f = l.split()
        if len(f) == 3 and f[2] == name:
            return int(f[0], 16)
    raise AssertionError(name)


def test_att_syntax_agrees_with_objdump():
    funcs = ["main", "cpu_stop", "load_ymm", "other"]
    ref = {f: objdump_att(CPUFIX, f) for f in funcs}
    cmds = ["set syntax att", "print main"]
    cmds += ["disasm %s %d" % (f, len(ref[f])) for f in funcs]
    cmds += ["set syntax intel", "disasm main 3", "quit"]
    out, _, _ = run(cmds)
    bias = int(results(out, "print")[0]["value"], 16) - nm_addr(CPUFIX, "main")
    dis = results(out, "disasm")
    checked = 0
    for f, d in zip(funcs, dis):
        assert d["ok"], d
        for ins in d["insns"]:
            a = int(ins["addr"], 16) - bias
            assert a in ref[f], (f, hex(a), ins)
            want_mn, want_ops = norm(ref[f][a])
            mn, ops = norm(ins["text"])
            assert same_mnemonic(mn, want_mn), (f, hex(a), ins["text"], ref[f][a])
            if "target" in ins and re.match(r"^[0-9a-f]+$", want_ops):
                # a direct branch: named in both syntaxes; the target agrees
                tgt = int(ins["target"], 16) - bias
                plt = int(want_ops, 16)
                assert tgt == plt or not ops.startswith(("%", "(", "$")), (f, hex(a), ins, ref[f][a])
                assert "!" in ops or ops.startswith(("0x", "cpufix")), ins
            else:
                assert ops == want_ops, (f, hex(a), ins["text"], ref[f][a])
            checked += 1
    assert checked > 50, checked
    # and back to Intel: no % registers
    intel = dis[-1]["insns"]
    assert not any("%" in i["text"] for i in intel), intel
    # a bad value is an error
    out, _, _ = run(["set syntax foo", "quit"], rc=1)
    assert not results(out, "set")[0]["ok"]
