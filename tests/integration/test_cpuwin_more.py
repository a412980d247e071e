"""The CPU window's syntax, units, registers and stack names, through the
batch mode (the same engine calls as the panes) and through tmux, against
cpufix (which prints its truth on stderr) and objdump."""
import json
import os
import re
import subprocess
import tempfile

import schema
from lib import FIXTURES, VMATLAS, Skip, no_sanitizer_reports

CPUFIX = os.path.join(FIXTURES, "cpufix")
DBGFIX = os.path.join(FIXTURES, "dbgfix")
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "json-schema.json")) as _f:
    SCHEMA = json.load(_f)


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
    for doc in out if json_out else []:  # every line as docs/json-schema.json says
        schema.validate(SCHEMA, "debug", doc)
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


# ---- f80, ymm, the stack's names ----

def test_f80_values_as_printf_says():
    # each long double of cpu_f80 (16 bytes apart) as one f80 unit
    out, truth, _ = run(["break cpu_stop", "continue"] + ["mem cpu_f80+%d 1 f80" % (16 * i) for i in range(18)] +
                        ["mem cpu_f80 2 f80", "quit"])
    mems = results(out, "mem")
    got = [m["values"][0] for m in mems[:18]]
    assert got == truth["f80_truth"], list(zip(got, truth["f80_truth"]))
    # packed: the second unit starts 10 bytes on (in the padding of the first)
    assert mems[18]["values"][0] == truth["f80_truth"][0]
    out, truth, _ = run(["break cpu_stop", "continue", "mem cpu_f80+32 1 f80", "quit"], json_out=False)
    assert re.search(r"^0x[0-9a-f]+: %s$" % re.escape(truth["f80_truth"][2]), out, re.M), out


def avx_cpu():
    with open("/proc/cpuinfo") as f:
        return re.search(r"^flags\s*:.*\bavx\b", f.read(), re.M) is not None


def test_regs_avx_shows_ymm():
    if not avx_cpu():
        raise Skip("no AVX on this CPU")
    out, truth, _ = run(["break cpu_ymm_here", "continue", "regs avx", "regs all", "regs", "regs foo", "quit"], rc=1)
    assert truth["avx"]
    r = results(out, "regs")
    assert r[0]["ymm"] == {"ymm%d" % i: "0x" + v for i, v in enumerate(truth["ymm"])}, r[0]
    assert r[1]["ymm"] == r[0]["ymm"] and "rax" in r[1]["regs"] and r[1]["x87"]["fcw"] == "0x037f", r[1]
    assert "ymm" not in r[2] and "regs" in r[2]
    assert not r[3]["ok"]
    # the text form
    text, truth, _ = run(["break cpu_ymm_here", "continue", "regs avx", "quit"], json_out=False)
    for i, v in enumerate(truth["ymm"]):
        assert re.search(r"^ymm%d +0x%s$" % (i, v), text, re.M), (i, text)


def test_stack_names_heap_thread_symbol_and_frames():
    out, truth, _ = run(["break cpu_stop", "continue", "stack 40", "bt", "quit"])
    slots = {int(s["addr"], 16): s for s in results(out, "stack")[0]["slots"]}
    base = int(truth["slots"], 16)
    heap = int(truth["heap"], 16)
    # slots[0] = p + 8, [1] the other thread's local, [2] &cpu_f80[2], [3] cpu_stop
    assert slots[base]["name"] == "heap chunk 0x%x (in use, 48 B)+0x8" % heap, slots[base]
    assert int(slots[base]["value"], 16) == heap + 8
    assert re.match(r"^stack of thread \d+$", slots[base + 8]["name"]), slots[base + 8]
    assert int(slots[base + 8]["value"], 16) == int(truth["other"], 16)
    assert slots[base + 8]["name"] != "stack of thread %d" % truth["pid"]
    assert slots[base + 16]["name"] == "cpufix!cpu_f80+0x20", slots[base + 16]
    assert slots[base + 24]["name"] == "cpufix!cpu_stop", slots[base + 24]
    # frames: the return address into main ends frame 0, is marked, and
    # the slots after it are main's (frame 1)
    frames = results(out, "bt")[0]["frames"]
    ret = [s for s in slots.values() if s["ret"]]
    assert ret and ret[0]["frame"] == 0 and int(ret[0]["value"], 16) == int(frames[1]["pc"], 16), ret
    assert int(ret[0]["addr"], 16) + 8 == int(frames[1]["sp"], 16)
    assert slots[base]["frame"] == 1
    # the text form: the frame lines and the ret mark
    text, truth, _ = run(["break cpu_stop", "continue", "stack 8", "quit"], json_out=False)
    assert re.search(r"^-- frame #0 cpufix!cpu_stop$", text, re.M), text
    assert re.search(r"^0x[0-9a-f]{16} [0-9a-f]{16} ret #1 cpufix!main\+0x[0-9a-f]+$", text, re.M), text
    assert re.search(r"^-- frame #1 cpufix!main\+0x[0-9a-f]+$", text, re.M), text
