#!/usr/bin/env python3
"""The man page and the shell completions, made from the command table.

    scripts/gen_docs.py VMATLAS OUTDIR

runs `VMATLAS --dump-commands` (the table of src/cli/commands.c as JSON)
and writes OUTDIR/vmatlas.1, OUTDIR/completions/vmatlas.bash and
OUTDIR/completions/_vmatlas (zsh); a file is rewritten only when its text
changes. A command or option added to the table is documented and
completed with no other edit. The prose the table does not hold (TARGET,
expressions, exit status, examples from README.md) is here."""
import json
import os
import re
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def load(vmatlas):
    out = subprocess.run([vmatlas, "--dump-commands"], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


# ---- the man page ----

def esc(s):
    """text for troff: backslashes, dashes, and a leading . or '"""
    s = s.replace("\\", "\\e").replace("-", "\\-")
    return "\n".join(("\\&" + line) if line.startswith((".", "'")) else line for line in s.split("\n"))


def para(text):
    """paragraphs of help text: blank lines split them; an indented line
    stays on its own line"""
    out = []
    for block in re.split(r"\n\s*\n", text.strip("\n")):
        lines = block.split("\n")
        out.append(".PP")
        for ln in lines:
            if ln.startswith(" "):
                out.append(".br")
                out.append(esc(ln.strip()))
            else:
                out.append(esc(ln))
    return out


def opt_label(o, sharing=()):
    names = []
    if o["short"]:
        names.append(f"\\fB\\-{esc(o['short'])}\\fR")
    for x in (o,) + tuple(sharing):
        names.append(f"\\fB\\-\\-{esc(x['name'])}\\fR")
    s = ", ".join(names)
    if o["value"]:
        v = f"\\fI{esc(o['value'])}\\fR"
        s += f" [{v}]" if o["value_optional"] else f" {v}"
    return s


def man_options(opts):
    out = []
    heading = None
    i = 0
    while i < len(opts):
        o = opts[i]
        if o["heading"] != heading and o["heading"]:
            out += [".PP", f"\\fI{esc(o['heading'])}\\fR"]
        heading = o["heading"]
        shared = []
        while i + 1 < len(opts) and opts[i + 1]["shares_help"]:
            shared.append(opts[i + 1])
            i += 1
        out += [".TP", opt_label(o, shared)]
        h = (o["help"] or "").replace("\n", " ")
        if o["repeatable"]:
            h += " (repeatable)"
        out.append(esc(h))
        if o["choices"] and len(o["choices"]) <= 40:
            out.append(".br")
            out.append("Values: " + ", ".join(f"\\fB{esc(c)}\\fR" for c in o["choices"]) + ".")
        i += 1
    return out


def readme_examples():
    """the command lines of README.md's "Using it" block, with their comments"""
    text = open(os.path.join(ROOT, "README.md")).read()
    m = re.search(r"## Using it\s*```sh\n(.*?)```", text, re.S)
    return m.group(1).rstrip("\n").split("\n") if m else []


TARGET_EXTRA = """\
A live process is read through /proc/PID and process_vm_readv(2); its
threads are stopped only while their registers are read, one at a time,
unless \\-\\-freeze stops them all for the whole run. An ELF core file
(written by the kernel, gcore or vmatlas capture) and a Windows minidump
(MDMP) are read from the file; commands that need a live process
(capture, track, scan) refuse them. Snapshot files are TARGETs of diff
only; image reads PE, COFF, ELF files and archives."""

EXPR = """\
ADDR and the options that take an address (\\-\\-from, \\-\\-to,
\\-\\-ptr\\-to, \\-\\-pages ...) are expressions:
.PP
.nf
.RS
expr   := term (('+' | '\\-') term)*
term   := factor ('*' factor)*
factor := NUMBER | SYMBOL | REGISTER | '[' expr ']' | '(' expr ')'
.RE
.fi
.TP
.I NUMBER
0x1f00 (hex) or 7936 (decimal).
.TP
.I SYMBOL
module!name (libc.so.6!malloc), or a name alone (the first module that
defines it).
.TP
.I REGISTER
name@TID (rsp@1234), or the name alone for the main thread: the registers
the target reports (rip, rsp, rbp, fs_base ... on x86\\-64).
.TP
.I [expr]
the pointer\\-sized word at expr.
.PP
Examples: 'libc.so.6!environ', '[rsp@1234]+8', 'main_arena+0x60'."""

EXIT = """\
.TP
.B 0
success (also when the reader of the output goes away early, as with
| head: vmatlas then stops quietly).
.TP
.B 1
a runtime error: no such process, permission denied (with what is
missing), a zombie or kernel thread, a process that exits while it is
read, an unreadable or damaged file, a name (module, symbol, thread,
arena) that the target does not have, an incomplete map where the
command needs a whole one.
.TP
.B 2
a usage error: an unknown command or option, a missing or malformed
argument or value.
.PP
Every error is one line on standard error, "vmatlas: ..."; warnings
("vmatlas: warning: ...") do not change the status; an error is never
reported with a status of 128 or more. Interrupted by SIGINT, SIGTERM,
SIGHUP or SIGQUIT, vmatlas releases every thread, removes a half\\-written
output file and dies of that signal (the shell shows 128+N). SIGPIPE (the
reader of the output went away) ends it quietly with 0, or 1 when an output
file was lost with it."""

ENV = """\
.TP
.B VMATLAS_DEBUG_DIR
where separate debug files are looked for, by build id and
\\&.gnu_debuglink (default /usr/lib/debug).
.TP
.B NO_COLOR
when set, \\-\\-color auto does not color.
.TP
.B TERM
\\-\\-color auto colors only on a terminal whose TERM is not "dumb"."""


def man_page(d):
    v = d["version"]
    out = [f'.TH VMATLAS 1 "" "vmatlas {esc(v)}" "User Commands"',
           ".\\\" Generated by scripts/gen_docs.py from 'vmatlas --dump-commands': do not edit.",
           ".SH NAME", "vmatlas \\- the annotated memory map of a process, and the tools around it",
           ".SH SYNOPSIS"]
    for c in d["commands"]:
        for u in c["usage"]:
            out += [".br", f"\\fBvmatlas {esc(c['name'])}\\fR {esc(u)}"]
    out += [".br", "\\fBvmatlas help\\fR [\\fICOMMAND\\fR]", ".br", "\\fBvmatlas \\-\\-version\\fR"]
    out += [".SH DESCRIPTION",
            "vmatlas answers one question as well as it can be answered: what is in a process's",
            "address space, and what is it doing there? It builds an annotated memory map of a",
            "process \\(em every region, the allocation it belongs to, and what lies inside it",
            "(image sections, thread stacks and their guards, thread pointers, heaps, system",
            "data) \\(em with a summary by usage on top, and the tools around that map: view,",
            "search, dump, snapshot and diff memory, symbolize addresses, scan for changing",
            "values, track writes, and dump executable images.",
            ".PP",
            "Every command prints text for people and, with \\-\\-json, JSON for programs",
            "(documented in docs/json.md, with a JSON Schema in docs/json\\-schema.json).",
            ".SH TARGET"]
    out += para(d["target"])
    out += para(TARGET_EXTRA)
    out += [".SH COMMANDS"]
    for c in d["commands"]:
        out += [f".SS {esc(c['name'])} \\(em {esc(c['summary'])}", ".nf"]
        for u in c["usage"]:
            out.append(f"\\fBvmatlas {esc(c['name'])}\\fR {esc(u)}")
        out.append(".fi")
        out += para(c["about"])
        if c["options"]:
            out += man_options(c["options"])
        if c["notes"]:
            out += para(c["notes"])
        if c["modes"]:
            accepts = {m["name"]: m["accepts"] for m in c["modes"]}
        else:
            accepts = {c["name"]: c["accepts"]}
        takes_target_opts = any("freeze" in a for a in accepts.values())
        common = ["\\-\\-" + esc(o["name"]) for o in d["options"]["target"]] if takes_target_opts else []
        common += ["\\-\\-" + esc(o["name"]) for o in d["options"]["base"]]
        out += [".PP", "Also: " + ", ".join(common) + " (see COMMON OPTIONS)."]
        if c["modes"] and takes_target_opts:
            with_t = [m for m, a in accepts.items() if "freeze" in a]
            out.append(f"The target options go with {', '.join(with_t)} only.")
    out += [".SH COMMON OPTIONS", "Every command that reads a TARGET takes these:"]
    out += man_options(d["options"]["target"])
    out += [".PP", "Every command takes these:"]
    out += man_options(d["options"]["base"])
    out += [".PP", "Long options may be shortened to a unique prefix; \\-\\-name=value and",
            "\\-\\-name value are the same. 'vmatlas help COMMAND' and 'vmatlas COMMAND \\-\\-help'",
            "print a command's help; 'vmatlas \\-\\-version' prints the version."]
    out += [".SH ADDRESS EXPRESSIONS", EXPR, ".SH EXIT STATUS", EXIT, ".SH ENVIRONMENT", ENV]
    out += [".SH EXAMPLES", ".nf"]
    for line in readme_examples():
        out.append(esc(line))
    out += [".fi", ".SH FILES", ".TP", ".B docs/json.md, docs/json\\-schema.json",
            "the JSON output, in words and as a JSON Schema.",
            ".TP", ".B docs/snapshot.md", "the snapshot and scan file formats.",
            ".TP", ".B docs/track.md", "write tracking.",
            ".SH SEE ALSO", "pmap(1), gdb(1), eu\\-stack(1), readelf(1), proc(5), core(5)"]
    return "\n".join(out) + "\n"


# ---- completions ----

def all_modes(c):
    """(mode name or None, the options it accepts)"""
    if c["modes"]:
        return [(m["name"], m["accepts"], m["takes_target"]) for m in c["modes"]]
    return [(None, c["accepts"], c["takes_target"])]


def option_words(d, c, accepts):
    opts = {o["name"]: o for o in c["options"] + d["options"]["target"] + d["options"]["base"]}
    words = []
    for n in accepts:
        o = opts[n]
        words.append("--" + n)
        if o["short"]:
            words.append("-" + o["short"])
    return sorted(set(words))


def value_table(d, c):
    """option -> its choices (several rows of one name: all their values)"""
    vals = {}
    for o in c["options"] + d["options"]["target"] + d["options"]["base"]:
        if o["choices"]:
            vals.setdefault(o["name"], [])
            vals["name" if False else o["name"]] += [x for x in o["choices"] if x not in vals[o["name"]]]
    return vals


def takes_value(d, c):
    out = set()
    for o in c["options"] + d["options"]["target"] + d["options"]["base"]:
        if o["value"] and not o["value_optional"]:
            out.add("--" + o["name"])
            if o["short"]:
                out.add("-" + o["short"])
    return out


FILE_VALUES = ("FILE", "STATE", "DIR", "DIRS")


def bash_completion(d):
    cmds = [c["name"] for c in d["commands"]]
    L = ["# bash completion for vmatlas. Generated by scripts/gen_docs.py from",
         "# 'vmatlas --dump-commands': do not edit.",
         "",
         "# PIDs, each with its process name as the description",
         "_vmatlas_pids()",
         "{",
         "    local p cur=$1",
         "    for p in /proc/[0-9]*; do",
         "        p=${p#/proc/}",
         "        [[ $p == \"$cur\"* ]] && COMPREPLY+=(\"$p\")",
         "    done",
         "    # one match: keep it; several: show 'PID (name)' when listing",
         "    if ((${#COMPREPLY[@]} > 1)) && [[ ${COMP_TYPE:-} == 63 ]]; then",
         "        local i n",
         "        for i in \"${!COMPREPLY[@]}\"; do",
         "            n=; read -r n 2>/dev/null < \"/proc/${COMPREPLY[i]}/comm\"",
         "            COMPREPLY[i]=\"${COMPREPLY[i]}(${n:-?})\"",
         "        done",
         "    fi",
         "}",
         "",
         "# a TARGET: self, a PID, or a file (core, minidump)",
         "_vmatlas_target()",
         "{",
         "    local cur=$1",
         "    if [[ $cur == [0-9]* ]]; then",
         "        _vmatlas_pids \"$cur\"",
         "    else",
         "        [[ self == \"$cur\"* ]] && COMPREPLY+=(self)",
         "        compopt -o filenames 2>/dev/null",
         "        COMPREPLY+=($(compgen -f -- \"$cur\"))",
         "        [[ -z $cur ]] && _vmatlas_pids \"\"",
         "    fi",
         "}",
         "",
         "_vmatlas()",
         "{",
         "    local cur prev cmd mode i",
         "    COMPREPLY=()",
         "    cur=${COMP_WORDS[COMP_CWORD]}",
         "    prev=${COMP_WORDS[COMP_CWORD-1]}",
         "    if ((COMP_CWORD == 1)); then",
         f"        COMPREPLY=($(compgen -W '{' '.join(cmds)} help --help --version' -- \"$cur\"))",
         "        return",
         "    fi",
         "    cmd=${COMP_WORDS[1]}",
         "    mode=${COMP_WORDS[2]}",
         "    # after '--': the program and its arguments",
         "    for ((i = 2; i < COMP_CWORD; i++)); do",
         "        if [[ ${COMP_WORDS[i]} == -- ]]; then",
         "            if ((i + 1 == COMP_CWORD)); then COMPREPLY=($(compgen -c -- \"$cur\")); else",
         "                compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")); fi",
         "            return",
         "        fi",
         "    done",
         "    local opts='' modes='' target=0 vals='' valopts=''",
         "    case $cmd in",
         f"    help) COMPREPLY=($(compgen -W '{' '.join(cmds)}' -- \"$cur\")); return ;;"]
    for c in d["commands"]:
        L.append(f"    {c['name']})")
        tv = sorted(takes_value(d, c))
        L.append(f"        valopts='{' '.join(tv)}'")
        if c["modes"]:
            L.append(f"        modes='{' '.join(m['name'] for m in c['modes'])}'")
            L.append("        if ((COMP_CWORD == 2)); then COMPREPLY=($(compgen -W \"$modes --help\" -- \"$cur\")); return; fi")
            L.append("        case $mode in")
            for name, acc, tt in all_modes(c):
                L.append(f"        {name}) opts='{' '.join(option_words(d, c, acc))}'; target={int(tt)} ;;")
            L.append("        *) return ;;")
            L.append("        esac")
        else:
            _, acc, tt = all_modes(c)[0]
            L.append(f"        opts='{' '.join(option_words(d, c, acc))}'; target={int(tt)}")
        # option values
        L.append("        case $prev in")
        for n, v in value_table(d, c).items():
            L.append(f"        --{n}) COMPREPLY=($(compgen -W '{' '.join(v)}' -- \"$cur\")); return ;;")
        fileopts = sorted({"--" + o["name"] for o in c["options"] + d["options"]["target"]
                           if o["value"] in FILE_VALUES} |
                          {"-" + o["short"] for o in c["options"] if o["short"] and o["value"] in FILE_VALUES})
        if fileopts:
            pat = "|".join(fileopts)
            L.append(f"        {pat}) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\")); return ;;")
        L.append("        esac")
        L.append("        ;;")
    L += ["    *) return ;;",
          "    esac",
          "    # the value of an option that takes one: nothing to offer",
          "    if [[ \" $valopts \" == *\" $prev \"* ]]; then",
          "        compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- \"$cur\"))",
          "        return",
          "    fi",
          "    if [[ $cur == -* ]]; then",
          "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))",
          "    elif ((target)); then",
          "        _vmatlas_target \"$cur\"",
          "    else",
          "        compopt -o filenames 2>/dev/null",
          "        COMPREPLY=($(compgen -f -- \"$cur\"))",
          "    fi",
          "}",
          "complete -F _vmatlas vmatlas",
          ""]
    return "\n".join(L)


def zq(s):
    """a zsh _arguments description: no brackets or colons unescaped"""
    return s.replace("\\", "\\\\").replace("'", "'\\''").replace("[", "\\[").replace("]", "\\]").replace(":", "\\:")


def zsh_spec(d, c, accepts):
    opts = {}
    for o in c["options"] + d["options"]["target"] + d["options"]["base"]:
        opts.setdefault(o["name"], []).append(o)
    specs = []
    for n in accepts:
        rows = opts[n]
        o = rows[0]
        help_ = zq(((o["help"] or "").split("\n")[0]))
        choices = []
        for r in rows:
            choices += [x for x in (r["choices"] or []) if x not in choices]
        if o["value"] and not o["value_optional"]:
            if choices:
                action = "(" + " ".join(choices) + ")"
            elif o["value"] in FILE_VALUES:
                action = "_files"
            else:
                action = " "
            val = ":" + zq(o["value"]) + ":" + action
        else:
            val = ""
        rep = "*" if o["repeatable"] else ""
        if o["short"]:
            specs.append(f"'{rep}(-{o['short']} --{n})'{{-{o['short']},--{n}}}'[{help_}]{val}'")
        else:
            specs.append(f"'{rep}--{n}[{help_}]{val}'")
    return specs


def zsh_completion(d):
    L = ["#compdef vmatlas",
         "# zsh completion for vmatlas. Generated by scripts/gen_docs.py from",
         "# 'vmatlas --dump-commands': do not edit.",
         "",
         "_vmatlas_targets() {",
         "  local -a pids",
         "  local p n",
         "  for p in /proc/<->(N); do",
         "    n=; { n=$(<$p/comm) } 2>/dev/null",
         "    pids+=(\"${p#/proc/}:${n:-?}\")",
         "  done",
         "  _alternative 'pids:process:(( ${(q)pids} ))' 'self:self:(self)' 'files:file:_files'",
         "}",
         "",
         "_vmatlas() {",
         "  local -a commands",
         "  commands=("]
    for c in d["commands"]:
        L.append(f"    '{c['name']}:{zq(c['summary'])}'")
    L += ["    'help:the help of a command'",
          "  )",
          "  if (( CURRENT == 2 )); then",
          "    _describe -t commands 'vmatlas command' commands",
          "    _arguments '--help[the help]' '--version[the version]'",
          "    return",
          "  fi",
          "  local cmd=$words[2]",
          "  local -a args",
          "  case $cmd in",
          "  help) (( CURRENT == 3 )) && _describe -t commands 'vmatlas command' commands; return ;;"]
    for c in d["commands"]:
        L.append(f"  {c['name']})")
        if c["modes"]:
            L.append("    if (( CURRENT == 3 )); then")
            L.append(f"      _values 'mode' {' '.join(m['name'] for m in c['modes'])}")
            L.append("      return")
            L.append("    fi")
            L.append("    case $words[3] in")
            for name, acc, tt in all_modes(c):
                L.append(f"    {name})")
                L.append("      args=(")
                L += ["        " + s for s in zsh_spec(d, c, acc)]
                L.append("      )")
                if tt:
                    L.append("      args+=('*:target:_vmatlas_targets')")
                else:
                    L.append("      args+=('*:file:_files')")
                L.append("      ;;")
            L.append("    *) return ;;")
            L.append("    esac")
            L.append("    shift words; (( CURRENT-- ))")
        else:
            _, acc, tt = all_modes(c)[0]
            L.append("    args=(")
            L += ["      " + s for s in zsh_spec(d, c, acc)]
            L.append("    )")
            L.append("    args+=('*:target:_vmatlas_targets')" if tt else "    args+=('*:file:_files')")
        L.append("    ;;")
    L += ["  *) return ;;",
          "  esac",
          "  shift words; (( CURRENT-- ))",
          "  _arguments -s -S $args",
          "}",
          "",
          "_vmatlas \"$@\"",
          ""]
    return "\n".join(L)


def write(path, text):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    try:
        if open(path).read() == text:
            return
    except OSError:
        pass
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gen_docs.py VMATLAS OUTDIR")
    d = load(sys.argv[1])
    out = sys.argv[2]
    write(os.path.join(out, "vmatlas.1"), man_page(d))
    write(os.path.join(out, "completions", "vmatlas.bash"), bash_completion(d))
    write(os.path.join(out, "completions", "_vmatlas"), zsh_completion(d))


if __name__ == "__main__":
    main()
