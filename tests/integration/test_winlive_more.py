"""More of the Linux test list on a live Windows process (livefix.exe under
Wine, winlive.py), for what test_winlive.py does not cover: view and dump
at known addresses, snapshot and diff across a change the fixture makes
(each line on its stdin sets the first byte of its 'change' page and it
answers 'ok'), whatis of its PEB, TEB, stack and module, its environment
block, the errors' exit statuses, and the files that hold target memory:
owner-only from their creation, never put in place of a directory or a
link."""
import os
import stat
import tempfile

from winlive import ENV, live, private_mode, privfile, vmatlas, vmatlas_json

SYSTEM = "S-1-5-18"  # Wine's DACL of a file always grants Local System
EVERYONE = "S-1-1-0"
# FILE_ALL_ACCESS less FILE_EXECUTE (src/base/win/private_file.h)
PRIVATE_ACCESS = 0x1F01FF & ~0x20
FILE_READ_DATA, FILE_WRITE_DATA = 0x1, 0x2
SE_DACL_PRESENT, SE_DACL_PROTECTED = 0x4, 0x1000


def set_change_byte(p, ch):
    p.stdin.write(ch + "\n")
    p.stdin.flush()
    assert p.stdout.readline().strip() == "ok"


def test_winlive_view_and_dump_known_bytes():
    _, truth = live()
    pid, pg = str(truth["pid"]), truth["page_size"]
    t = vmatlas(["view", pid, truth["change"], "16"])
    assert t.returncode == 0 and t.stdout.count("11 11") >= 4, t.stdout
    with tempfile.TemporaryDirectory() as d:
        # a whole region by its address: the page the fixture filled
        out = os.path.join(d, "change.bin")
        r = vmatlas_json(["dump", pid, truth["change"], "-o", out])
        assert r["written"] == pg and os.path.getsize(out) == pg, r
        with open(out, "rb") as f:
            got = f.read()
        assert got[1:] == b"\x11" * (pg - 1) and got[0] in (0x11, ord("Z")), got[:16]
        # --size from inside the data: the marker's bytes
        m = truth["marker"].encode()
        out2 = os.path.join(d, "marker.bin")
        r = vmatlas_json(["dump", pid, truth["marker_addr"], "--size", str(len(m)), "-o", out2])
        with open(out2, "rb") as f:
            assert f.read() == m
        # ELF core-style: a file the Linux build's image reads
        out3 = os.path.join(d, "change.elf")
        assert vmatlas(["dump", pid, truth["change"], "--format", "elf", "-o", out3]).returncode == 0
        with open(out3, "rb") as f:
            assert f.read(4) == b"\x7fELF"
        # written whole or not at all: nothing else left in the directory
        assert sorted(os.listdir(d)) == ["change.bin", "change.elf", "marker.bin"], os.listdir(d)
        # an existing file is replaced
        assert vmatlas(["dump", pid, truth["marker_addr"], "--size", "4", "-o", out]).returncode == 0
        assert os.path.getsize(out) == 4


def test_winlive_snapshot_then_diff_sees_the_changed_page():
    p, truth = live()
    pid = str(truth["pid"])
    change = int(truth["change"], 16)
    with tempfile.TemporaryDirectory() as d:
        snap = os.path.join(d, "s.snap")
        set_change_byte(p, "\x11")
        assert vmatlas(["snapshot", "--data", pid, "-o", snap]).returncode == 0
        before = vmatlas_json(["diff", snap, pid])
        assert change not in {int(x["addr"], 16) for x in before["pages_changed"]}, before["pages_changed"]
        set_change_byte(p, "Z")
        try:
            after = vmatlas_json(["diff", snap, pid])
            pages = {int(x["addr"], 16): x for x in after["pages_changed"]}
            assert change in pages and pages[change]["size"] == truth["page_size"], after["pages_changed"]
            assert not after["regions"]["added"] and not after["regions"]["removed"]
            v = vmatlas(["view", pid, truth["change"], "1"])
            assert "5a" in v.stdout.split("\n")[0].lower(), v.stdout
            t = vmatlas(["diff", snap, pid])
            assert t.returncode == 0 and "%016x" % change in t.stdout, t.stdout
        finally:
            set_change_byte(p, "\x11")


def test_winlive_whatis_peb_teb_stack_module():
    _, truth = live()
    pid = str(truth["pid"])
    main = truth["threads"][0]
    inside_stack = hex(int(main["stack_base"], 16) - 64)
    exe = truth["modules"][0]
    w = vmatlas_json(["whatis", pid, truth["peb"], main["teb"], inside_stack, exe["base"], truth["marker_addr"]])
    peb, teb, stack, mod, marker = w
    assert {(c["kind"], c["name"]) for c in peb["contents"]} >= {("sysdata", "PEB")}, peb
    assert any(c["name"] == "TEB" and c["detail"] == f"TEB of thread {main['tid']}" for c in teb["contents"]), teb
    assert stack["region"]["usage"] == "stack" and stack["thread"]["tid"] == main["tid"], stack
    assert mod["module"].lower() == "livefix.exe" and mod["region"]["type"] == "image", mod
    assert any(c["name"] == "PE header" for c in mod["contents"]), mod
    assert marker["module"].lower() == "livefix.exe", marker
    t = vmatlas(["whatis", pid, truth["peb"]])
    assert t.returncode == 0 and "PEB" in t.stdout, t.stdout


def test_winlive_env_block_is_the_fixtures():
    """the environment the fixture was started with (Wine passes the Unix
    environment through, adding its own) is its PEB's block"""
    _, truth = live()
    e = vmatlas_json(["env", str(truth["pid"])])
    got = {}
    for x in e["environment"]:
        k, _, v = x["value"].partition("=")
        got[k.upper()] = v
    for k in ("VMATLAS_WINLIVE", "WINEDEBUG"):
        assert got.get(k) == ENV[k], (k, got.get(k))
    assert e["peb"]["addr"] == truth["peb"], e["peb"]
    assert int(e["environment_block"], 16) == int(e["environment"][0]["addr"], 16)


def test_winlive_error_statuses():
    """every failure: status 1 (2 for usage), one line, never >= 128"""
    _, truth = live()
    pid = str(truth["pid"])
    cases = [(["map", "4000000000"], 1), (["view", pid, "0x10", "16"], 1), (["whatis", pid, "nosuch!sym"], 1),
             (["dump", pid, "0x10", "-o", "Z:\\nonexistent\\dir\\x.bin"], 1), (["view", pid], 2),
             (["map", pid, "--nosuch"], 2), (["threads", pid, "--tid", "1"], 1),
             (["search", pid, "--hex", "ZZ"], 2), (["map", "nosuch-process.exe"], 1),
             (["track", "start", pid], 1), (["nosuch-command"], 2)]
    for args, status in cases:
        r = vmatlas(args)
        assert r.returncode == status and len(r.stderr.splitlines()) == 1 and r.stdout == "", (args, r)
    # a command of the Linux build says why it is not here
    r = vmatlas(["track", "probe"])
    assert "not in this build" in r.stderr and "snapshot" in r.stderr, r.stderr


def test_winlive_private_descriptor():
    """the descriptor the Windows build creates its files with, as it is
    built: owner the token's user, a protected DACL of one ACE allowing
    that user read, write and delete (no execute), nothing inherited"""
    d = privfile(["sd"])
    assert d["valid"] and d["user"] and d["owner"] == d["user"], d
    assert d["control"] & (SE_DACL_PRESENT | SE_DACL_PROTECTED) == SE_DACL_PRESENT | SE_DACL_PROTECTED, d
    assert d["aces"] == [{"type": 0, "flags": 0, "mask": PRIVATE_ACCESS, "sid": d["user"]}], d


def owner_only(path, acl, user):
    """the file's mode on the Linux side and its DACL as Wine reports it
    are owner-only (the DACL: the user and Local System, nobody else)"""
    mode = os.stat(path).st_mode
    assert stat.S_ISREG(mode), path
    assert mode & 0o777 == private_mode(), f"{path}: mode {mode & 0o777:o}, not {private_mode():o}"
    assert acl["error"] == 0 and acl["owner"] == user and acl["dacl_present"], (path, acl)
    sids = {a["sid"] for a in acl["aces"]}
    assert sids <= {user, SYSTEM} and all(a["type"] == 0 for a in acl["aces"]), (path, acl)
    mine = [a for a in acl["aces"] if a["sid"] == user]
    assert mine and mine[0]["mask"] & (FILE_READ_DATA | FILE_WRITE_DATA) == FILE_READ_DATA | FILE_WRITE_DATA


def test_winlive_output_files_are_owner_only():
    """dump, snapshot, capture, scan and report write owner-only files
    (docs/windows.md): mode 0660 less the umask under Wine, never a bit
    for others, a DACL of the user alone (and SYSTEM, which Wine always
    adds); a file the user made readable to everyone is replaced by an
    owner-only one; no temporary left behind"""
    _, truth = live()
    pid = str(truth["pid"])
    with tempfile.TemporaryDirectory() as d:
        outs = {k: os.path.join(d, k) for k in ("dump.bin", "snap", "cap.dmp", "scan", "report.html", "old.bin")}
        # the control: a file everyone may read shows Everyone in its DACL
        with open(outs["old.bin"], "wb") as f:
            f.write(b"old")
        os.chmod(outs["old.bin"], 0o644)
        acl = privfile(["acl", outs["old.bin"]])["files"][0]
        assert EVERYONE in {a["sid"] for a in acl["aces"]}, acl
        for args in (["dump", pid, truth["change"], "-o", outs["dump.bin"]],
                     ["snapshot", pid, "-o", outs["snap"]],
                     ["capture", pid, "-o", outs["cap.dmp"]],
                     ["scan", "start", pid, "--u32", "0x11111111", "-o", outs["scan"]],
                     ["report", pid, "-o", outs["report.html"]],
                     ["dump", pid, truth["change"], "-o", outs["old.bin"]]):
            r = vmatlas(args)
            assert r.returncode == 0, (args, r.stderr)
        got = privfile(["acl"] + list(outs.values()))
        for path, acl in zip(outs.values(), got["files"]):
            owner_only(path, acl, got["user"])
        assert os.path.getsize(outs["old.bin"]) == truth["page_size"]
        assert sorted(os.listdir(d)) == sorted(outs), os.listdir(d)


def test_winlive_output_never_replaces_a_directory_or_link():
    """-o naming a directory, or a link (Wine shows a Unix symbolic link
    to a directory as a reparse point): one line, status 1, the node left
    as it was and no temporary beside it; a directory that appears by the
    time of the rename is refused there too (privfile calls the rename
    itself); NUL, a character device, is written to, not replaced"""
    _, truth = live()
    pid = str(truth["pid"])
    with tempfile.TemporaryDirectory() as d:
        sub = os.path.join(d, "sub")
        os.mkdir(sub)
        link = os.path.join(d, "link")
        os.symlink(sub, link)
        for out, what in ((sub, "is a directory: not replaced"), (link, "is a symbolic link (not followed): not replaced")):
            for cmd in (["dump", pid, truth["change"], "-o", out], ["snapshot", pid, "-o", out],
                        ["capture", pid, "-o", out], ["report", pid, "-o", out]):
                r = vmatlas(cmd)
                assert r.returncode == 1 and r.stdout == "", (cmd, r)
                assert r.stderr.splitlines() == [f"vmatlas: {cmd[0]}: {out} {what}"], (cmd, r.stderr)
        assert os.path.isdir(sub) and not os.path.islink(sub) and os.listdir(sub) == []
        assert os.path.islink(link) and os.readlink(link) == sub
        assert sorted(os.listdir(d)) == ["link", "sub"], os.listdir(d)
        src = os.path.join(d, "src")
        with open(src, "wb") as f:
            f.write(b"x")
        for to in (sub, link):
            r = privfile(["rename", src, to])
            assert r["rc"] == -1 and r["strerror"] == "Is a directory", r
        assert os.path.exists(src) and os.listdir(sub) == []
        r = vmatlas(["dump", pid, truth["change"], "-o", "NUL"])
        assert r.returncode == 0, r.stderr
        # its size is none, as /dev/null's on Linux (it was whatever the
        # stack held: stat fails on NUL)
        r = vmatlas(["snapshot", pid, "-o", "NUL"])
        assert r.returncode == 0 and r.stdout.splitlines()[0].endswith(" to NUL (0 B)"), (r.stdout, r.stderr)
        assert sorted(os.listdir(d)) == ["link", "src", "sub"], os.listdir(d)
