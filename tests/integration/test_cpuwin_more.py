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
    checked = branches = 0
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
                # (a call through the PLT is named after its stub, or after
                # the function the GOT slot is bound to in another module)
                tgt = int(ins["target"], 16) - bias
                if "@plt>" in ref[f][a]:  # the stub, or the function it is bound to
                    stub = re.search(r"<(\S+@plt)>", ref[f][a]).group(1)
                    assert (tgt == int(want_ops, 16) and ops == "cpufix!" + stub) or ops.startswith("libc.so.6!"), \
                        (f, hex(a), ins, ref[f][a])
                else:
                    assert tgt == int(want_ops, 16), (f, hex(a), ins, ref[f][a])
                    assert ops.startswith("cpufix!"), (f, hex(a), ins, ref[f][a])
                    branches += 1
            else:
                assert ops == want_ops, (f, hex(a), ins["text"], ref[f][a])
            checked += 1
    assert checked > 50 and branches > 3, (checked, branches)
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


# ---- the window (tmux) ----

def cmd(s, line):
    s.keys(":")
    s.literal(line)
    s.keys("Enter", settle=0.3)


def underlined(esc_line):
    """the visible characters of a captured line (capture-pane -e) and,
    for each, whether it is underlined"""
    chars, flags, on = [], [], False
    for m in re.finditer(r"\x1b\[([0-9;]*)m|\x1b[()][0-9A-Za-z]|[\x0e\x0f]|([^\x1b\x0e\x0f])", esc_line):
        if m.group(2) is not None:
            chars.append(m.group(2))
            flags.append(on)
        elif m.group(0).startswith("\x1b["):
            for p in (m.group(1) or "0").split(";"):
                if p in ("0", ""):
                    on = False
                elif p == "4":
                    on = True
                elif p == "24":
                    on = False
    return "".join(chars), flags


def test_window_syntax_toggle():
    from test_cpuwin import Screen, insns
    out = run(["set syntax att", "disasm main 6", "quit"], prog=DBGFIX)[0]
    att = [i["text"] for i in results(out, "disasm")[0]["insns"]]
    with Screen(["--at-main", "--", DBGFIX, "calls", "2"], w=120, h=40) as s:
        t = s.wait("stopped at dbgfix!main")
        intel = [r[3] for r in insns(t)][:6]
        assert not any("%" in x for x in intel), intel
        s.keys("a")
        t = s.wait("Disassembly AT&T")
        got = [re.sub(r"^[0-9a-f]{16} +", "", r[3]) for r in insns(t)][:6]
        assert got == [a[:len(g)] for a, g in zip(att, got)] and all("%" in g for g in got[:2]), (got, att)
        cmd(s, "set syntax intel")
        t = s.wait(lambda x: "Disassembly AT&T" not in x and insns(x))
        assert [r[3] for r in insns(t)][:6] == intel
        s.keys("a")
        s.wait("Disassembly AT&T")
        cmd(s, "disasm main 1")  # the command line's disasm follows the toggle
        s.wait(lambda x: re.search(r"\bpush +%r", x))
        s.keys("F1")
        h = s.wait("AT&T syntax")
        for k in ("f80", "ymm0-15", "bpm or watch", "ret #N"):
            assert k in h, (k, h)
        s.keys("q")
        s.keys("q")


def test_window_f80_ymm_stack_and_watched_bytes():
    from test_cpuwin import Screen, sel_addr
    with Screen(["--", CPUFIX], w=200, h=50) as s:
        s.wait("Disassembly")
        avx = avx_cpu()
        if avx:
            cmd(s, "break cpu_ymm_here")
            s.keys("F9")
            s.wait("breakpoint 1, hit 1")
            truth = json.loads(next(l for l in s.stderr().splitlines() if l.startswith('{"pid"')))
            s.keys("Tab", "f")  # the registers: FPU/SSE/AVX
            t = s.wait("Registers FPU/SSE/AVX")
            for i in (0, 1, 7):
                hi, lo = truth["ymm"][i][:32], truth["ymm"][i][32:]
                assert re.search(r"ymm%-2d %s\s*\n.*? {6}%s" % (i, hi, lo), t), (i, t)
            s.keys("f", "BTab")
        cmd(s, "break cpu_stop")
        s.keys("F9")
        s.wait(lambda x: re.search(r"breakpoint \d+, hit 1", x) and "cpu_stop" in x)
        truth = json.loads(next(l for l in s.stderr().splitlines() if l.startswith('{"pid"')))
        # the stack: names and the frame boundary (the return address underlined)
        t = s.wait("heap chunk")
        heap = int(truth["heap"], 16)
        assert "heap chunk 0x%x (in use, 48 B)+0x8" % heap in t, t
        assert re.search(r"%016x stack of thread \d+" % int(truth["other"], 16), t), t
        assert "cpufix!cpu_f80+0x20" in t
        e = s.text(escapes=True).splitlines()
        ret = [l for l in e if "ret #1 cpufix!main+0x" in underlined(l)[0]]
        assert ret, t
        text, fl = underlined(ret[0])
        assert fl[text.index("ret #1")], ret[0]
        # memory: f80 units at cpu_f80
        s.keys("Tab", "Tab")  # registers, memory
        s.prompt("C-g", "cpu_f80")
        s.wait(lambda x: "cpufix!cpu_f80" in x.splitlines()[-1])
        base = sel_addr(s)
        s.keys("9")
        t = s.wait("Memory f80")
        # 10-byte units, two a row: the first is 1.5, the one at +0x28 (in
        # cpu_f80[2]'s bytes +8) is not a value of the fixture
        assert re.search(r"^%012x 1\.5 +" % base, t, re.M), t
        s.prompt("C-g", "cpu_f80+48")
        t = s.wait(lambda x: re.search(r"^%012x 1e\+4000 " % (base + 48), x, re.M))
        s.prompt("C-g", "cpu_f80+%d" % (16 * 15))
        s.wait(lambda x: re.search(r"^%012x unnormal " % (base + 16 * 15), x, re.M))
        s.prompt("C-g", "cpu_f80+%d" % (16 * 14))
        s.wait(lambda x: re.search(r"^%012x 3\.36210314311e-4932 " % (base + 16 * 14), x, re.M))
        # edit in place: 2.25 at cpu_f80, the batch command sees it
        s.prompt("C-g", "cpu_f80")
        s.prompt("e", "2.25")
        s.wait(lambda x: re.search(r"^%012x 2\.25 " % base, x, re.M))
        cmd(s, "mem cpu_f80 1 f80")
        s.wait(lambda x: re.search(r"^0x%x: 2\.25 " % base, x, re.M))
        # watched bytes: a bpm on 4 bytes at cpu_f80+18 (page protection),
        # u8: exactly those cells underlined
        cmd(s, "bpm w cpu_f80+18 4 --pages")
        s.wait("memory breakpoint")
        s.keys("1")
        s.prompt("C-g", "cpu_f80+16")
        s.wait(lambda x: re.search(r"^%012x [0-9a-f]{2} " % (base + 16), x, re.M))
        row = next(l for l in s.text(escapes=True).splitlines()
                   if underlined(l)[0].startswith("%012x " % (base + 16)))
        text, fl = underlined(row)
        marks = [fl[13 + 3 * k] and fl[14 + 3 * k] for k in range(16)]
        # the cursor cell (0) keeps its highlight; 2-5 are the watched bytes
        assert marks[2:6] == [True] * 4 and not any(marks[6:]) and not marks[1], (marks, row)
        cmd(s, "delete all")
        s.wait(lambda x: True)
        row = next(l for l in s.text(escapes=True).splitlines()
                   if underlined(l)[0].startswith("%012x " % (base + 16)))
        assert not any(underlined(row)[1][15:60]), row
        s.keys("q")


def noacs_term(d):
    """xterm-256color without line drawing (acsc), compiled into d"""
    import shutil
    if not shutil.which("infocmp") or not shutil.which("tic"):
        raise Skip("no infocmp/tic")
    src = subprocess.run(["infocmp", "-x", "xterm-256color"], capture_output=True, text=True, check=True).stdout
    src = re.sub(r"\b(acsc|smacs|rmacs|enacs)=[^,]*,", "", src)
    src = re.sub(r"^xterm-256color\|[^,]*,", "xterm-noacs|xterm without line drawing,", src, flags=re.M)
    with open(os.path.join(d, "noacs.src"), "w") as f:
        f.write(src)
    subprocess.run(["tic", "-x", "-o", d, os.path.join(d, "noacs.src")], check=True, capture_output=True)
    return "xterm-noacs"


def test_window_jump_arrows_as_lines():
    from test_cpuwin import Screen, insns, left, up_arrow_from
    # a backward jump in main (the loop of "calls") and its target
    out = run(["disasm main 200", "quit"], prog=DBGFIX)[0]
    ins = results(out, "disasm")[0]["insns"]
    back = next(i for i in ins if "target" in i and int(i["target"], 16) < int(i["addr"], 16) and
                int(i["target"], 16) >= int(ins[0]["addr"], 16) and not i["text"].startswith("call"))
    span = int(back["addr"], 16) - int(back["target"], 16)
    assert 0 < span < 40, back
    tmp = tempfile.mkdtemp(prefix="vmatlas-terminfo-")
    old = os.environ.get("TERMINFO")
    try:
        for term, pieces in (("xterm-256color", {"m": "m", "l": "l", "x": "x", "q": "q", "n": "n"}),
                             (None, {"m": "+", "l": "+", "x": "|", "q": "-", "n": "+"})):
            if term is None:
                term = noacs_term(tmp)
                os.environ["TERMINFO"] = tmp
            with Screen(["--at-main", "--", DBGFIX, "calls", "2"], w=100, h=40, term=term) as s:
                t = s.wait("stopped at dbgfix!main")
                # main's first jump goes past the pane: its line runs down
                # from a corner on its row to an arrow on the pane's last row
                lines = left(t)
                rows = [i for i, l in enumerate(lines) if re.match(r"^.{7} [0-9a-f]{12} ", l)]
                j = next(i for i in rows if re.match(r"^.{7} [0-9a-f]{12} j", lines[i]))
                col = 3 + lines[j][3:7].index(pieces["l"])
                last = next(i for i, l in enumerate(lines) if "Memory" in l) - 1  # the pane's last row
                assert lines[last][col] == "v", (term, lines)
                assert all(lines[i][col] == pieces["x"] for i in range(j + 1, last)), (term, lines)
                assert all(c in pieces["q"] for c in lines[j][col + 1:7]), (term, lines[j])
                # the loop: go to the jump's target, the line up from the jump
                main = int(ins[0]["addr"], 16)
                off = int(back["target"], 16) - main
                s.prompt("C-g", "main+0x%x" % off)
                t = s.wait(lambda x: insns(x) and "main+0x%x " % off in x.splitlines()[-1])
                tgt = insns(t)[0][2]
                jmp = tgt + span
                tr = str.maketrans({v: k for k, v in pieces.items() if v != "+"})
                lines = [l.translate(tr) for l in left(t)]
                jl = next(i for i, l in enumerate(lines) if re.match(r"^.{7} %012x " % jmp, l))
                if pieces["l"] == "+":  # ASCII corners: above the jump upper, at it lower
                    lines = [l[:3] + l[3:7].replace("+", "m" if i == jl else "l") + l[7:] for i, l in enumerate(lines)]
                top = up_arrow_from(lines, jl)
                assert top is not None and re.match(r"^.{7} %012x " % tgt, lines[top]), (term, lines)
                s.keys("q")
    finally:
        if old is None:
            os.environ.pop("TERMINFO", None)
        else:
            os.environ["TERMINFO"] = old
