"""The layer check (scripts/layers.py, `make layers`): the project's own
objects pass it, and a tree with a back edge of each kind fails it."""
import os
import subprocess
import tempfile

from lib import BUILD

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "layers.py")


def check(tree, build):
    return subprocess.run(["python3", SCRIPT, build], cwd=tree, capture_output=True, text=True)


def test_project_has_no_back_edge():
    p = check(ROOT, os.path.abspath(BUILD))
    assert p.returncode == 0, p.stdout + p.stderr
    assert " 0 back edges" in p.stdout, p.stdout


def make_tree(files):
    """files: {"src/x/y.c": source}; compiled into build/obj/src/x/y.o"""
    tree = tempfile.mkdtemp(prefix="vmatlas-layers-")
    os.makedirs(os.path.join(tree, "include", "vmatlas"))
    for path, text in files.items():
        full = os.path.join(tree, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
    for path in files:
        full = os.path.join(tree, path)
        if path.endswith(".c"):
            obj = os.path.join(tree, "build", "obj", path[:-2] + ".o")
            os.makedirs(os.path.dirname(obj), exist_ok=True)
            subprocess.run(["cc", "-c", "-I", os.path.join(tree, "src"), full, "-o", obj], check=True)
    return tree


def test_back_edges_are_found():
    down = make_tree({
        "src/base/a.c": "int base_a(void) { return 1; }\n",
        "src/ops/b.c": "int base_a(void);\nint ops_b(void) { return base_a(); }\n",
    })
    p = check(down, "build")
    assert p.returncode == 0 and " 0 back edges" in p.stdout, p.stdout

    up = make_tree({
        "src/base/a.c": "int ops_b(void);\nint base_a(void) { return ops_b(); }\n",
        "src/ops/b.c": "int ops_b(void) { return 2; }\n",
    })
    p = check(up, "build")
    assert p.returncode == 1, p.stdout
    assert "call    base/a -> ops/b (ops_b)" in p.stdout, p.stdout

    across = make_tree({
        "src/target/linux/a.c": "int md_b(void);\nint lx_a(void) { return md_b(); }\n",
        "src/target/minidump/b.c": "int md_b(void) { return 2; }\n",
    })
    p = check(across, "build")
    assert p.returncode == 1 and "one backend uses another" in p.stdout, p.stdout

    include_up = make_tree({
        "src/model/m.c": '#include "annotate/x.h"\nint model_m(void) { return X; }\n',
        "src/annotate/x.h": "#define X 3\n",
    })
    p = check(include_up, "build")
    assert p.returncode == 1 and "include model/m -> annotate/x.h" in p.stdout, p.stdout

    common_to_backend = make_tree({
        "src/target/target.c": "int lx_open(void);\nint vm_open(void) { return lx_open(); }\n",
        "src/target/linux/l.c": "int lx_open(void) { return 2; }\n",
    })
    p = check(common_to_backend, "build")
    assert p.returncode == 1 and "only target/registry may" in p.stdout, p.stdout
