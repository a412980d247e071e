#!/usr/bin/env python3
"""The layer check (`make layers`): every call and every #include in src/
must go from a layer to the same layer or one below it, never up, and
never from one target backend to another. Calls are read from the built
objects (nm: each undefined symbol is matched to the object defining it);
includes from the sources. The layer order is the table below and
src/README.md.

usage: scripts/layers.py BUILD_DIR
"""
import os, re, subprocess, sys

# folder under src/ -> rank; a call may go to an equal or lower rank, but
# between two folders of the same rank only through a lower one
LAYERS = [
    ("base", 0), ("model", 1), ("formats", 2), ("target", 3),
    ("symbols", 4), ("threads", 5), ("heap", 6), ("process", 6),
    ("annotate", 7), ("pipeline", 8), ("ops", 9), ("debug", 10),
    ("tui", 11), ("report", 11),
    # the command line is the top: its commands call the front ends
    ("cli", 12),
]
RANK = dict(LAYERS)
BACKENDS = "target/"          # target/NAME/ folders are backends
REGISTRY = "target/registry"  # the one file that names the backends


def unit(path):
    """src/a/b/c.o or src/a/b/c.h -> 'a/b/c' (no extension)"""
    p = path.split("src/", 1)[1] if "src/" in path else path
    return os.path.splitext(p)[0]


def folder(u):
    return u.split("/")[0]


def backend(u):
    parts = u.split("/")
    return parts[1] if parts[0] == "target" and len(parts) > 2 else None


def allowed(a, b):
    """may unit a use unit b?"""
    fa, fb = folder(a), folder(b)
    if fa not in RANK or fb not in RANK:
        return False, "unknown layer (add the folder to scripts/layers.py)"
    if fa == fb == "target":
        ba, bb = backend(a), backend(b)
        if ba and bb and ba != bb:
            return False, "one backend uses another"
        if bb and a != REGISTRY and not ba:
            return False, "common target code uses a backend (only %s may)" % REGISTRY
        if ba and b == REGISTRY:
            return False, "a backend uses the registry"
        return True, ""
    if fa == fb:
        return True, ""
    if RANK[fb] < RANK[fa]:
        return True, ""
    if RANK[fb] == RANK[fa]:
        return False, "%s and %s are one layer: neither may use the other" % (fa, fb)
    return False, "%s (layer %d) uses %s (layer %d)" % (fa, RANK[fa], fb, RANK[fb])


def nm(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True, check=True).stdout
    defs, undef = [], []
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "TDBRCVW":
            defs.append(f[2])
        elif len(f) == 2 and f[0] == "U":
            undef.append(f[1])
    return defs, undef


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    objroot = os.path.join(build, "obj", "src")
    objs = []
    for d, _, files in os.walk(objroot):
        objs += [os.path.join(d, f) for f in files if f.endswith(".o")]
    if not objs:
        print("layers: no objects under %s: build first" % objroot)
        return 2
    srcs = set()
    for d, _, files in os.walk("src"):
        srcs |= {os.path.join(d, f) for f in files if f.endswith((".c", ".h"))}
    defined_by, uses = {}, {}
    for o in sorted(objs):
        u = unit(o)
        if not os.path.exists(os.path.join("src", u + ".c")):
            continue  # a stale object of a removed source
        defs, undef = nm(o)
        for s in defs:
            defined_by[s] = u
        uses[u] = undef
    bad = []
    for u, undef in sorted(uses.items()):
        for s in undef:
            v = defined_by.get(s)
            if v and v != u:
                ok, why = allowed(u, v)
                if not ok:
                    bad.append("call    %s -> %s (%s): %s" % (u, v, s, why))
    # public headers: the layer of the lowest object defining what they declare
    pub_layer = {}
    for h in os.listdir("include/vmatlas"):
        text = open(os.path.join("include/vmatlas", h)).read()
        names = set(re.findall(r"\b(vm_\w+)\s*\(", text))
        owners = [defined_by[n] for n in names if n in defined_by]
        if owners:
            pub_layer[h] = min(owners, key=lambda x: RANK.get(folder(x), 99))
    inc = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
    for src in sorted(srcs):
        u = unit(src)
        here = os.path.dirname(src)
        for name in inc.findall(open(src).read()):
            if name.startswith("vmatlas/"):
                v = pub_layer.get(name[len("vmatlas/"):])
                if not v:
                    continue
                ok, why = allowed(u, v)
                # a public header belongs to its lowest layer, a folder
                if not ok and folder(v) != folder(u) and RANK.get(folder(v), 99) > RANK.get(folder(u), 99):
                    bad.append("include %s -> %s (declares %s's functions): %s" % (u, name, folder(v), why))
                continue
            path = os.path.normpath(os.path.join(here, name))
            if not os.path.exists(path):
                path = os.path.join("src", name)
            if not os.path.exists(path):
                continue
            v = unit(path)
            if v != u:
                ok, why = allowed(u, v)
                if not ok:
                    bad.append("include %s -> %s: %s" % (u, name, why))
    for b in bad:
        print("layers: " + b)
    print("layers: %d objects, %d sources, %d back edges" % (len(uses), len(srcs), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
