"""The output files of the Windows build (base/atomic_file.c with
base/win/osfile.c) under Wine: the temporaries a dead run left beside an
output are swept by the next run, and only those (a live run's, another
user's, a directory, another output's stay); a file owned by another
user is not replaced without --force, and the error names its owner.

What Wine gives (Wine 8, checked by privfile.exe, the fixture linking
osfile.c itself): a Unix file owned by the wineserver's uid is owned by
the token's user, one owned by any other uid by NT AUTHORITY\\ANONYMOUS
LOGON (S-1-5-7), which is how a foreign owner is made here (as root:
chown). SetNamedSecurityInfo of another owner succeeds but is not kept
(the owner stays the uid's): test_winout_owner_sids checks which. A file
owned by BUILTIN\\Administrators cannot be made under Wine: that rule is
checked on SIDs against Wine's token (where the group is enabled)."""
import os
import tempfile

from lib import Skip
from winlive import live, privfile, vmatlas

ANON, ADMINS, USERS, EVERYONE = "S-1-5-7", "S-1-5-32-544", "S-1-5-32-545", "S-1-1-0"
SE_GROUP_ENABLED, SE_GROUP_USE_FOR_DENY_ONLY = 0x4, 0x10
ANON_NAME = "NT AUTHORITY\\ANONYMOUS LOGON"


def winpath(p):
    """a Unix path as Wine's Z: drive names it, with backslashes"""
    return "Z:" + p.replace("/", "\\")


def write(path, data=b"x"):
    with open(path, "wb") as f:
        f.write(data)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def test_winout_stale_temporaries_of_dead_runs_swept():
    """out.bin.vmatlas-PID-XXXXXX of a dead process (privfile.exe's, after
    it exited) is removed by the next dump to out.bin; one of a live
    process (livefix.exe), another user's, a directory of that name and
    another output's temporary stay. The output is named by a Windows
    path (Z:\\...\\out.bin: the directory split at backslashes)"""
    _, truth = live()
    pid, live_pid = str(truth["pid"]), truth["pid"]
    dead = privfile(["pid"])["pid"]  # exited when privfile returns
    assert dead != live_pid
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "out.bin")
        stale = f"{out}.vmatlas-{dead}-abcdef"
        kept = {f"{out}.vmatlas-{live_pid}-abcdef": "a live run's",
                f"{d}/other.bin.vmatlas-{dead}-abcdef": "another output's"}
        write(stale)
        for k in kept:
            write(k)
        sub = f"{out}.vmatlas-{dead}-dirdir"
        os.mkdir(sub)
        kept[sub] = "a directory"
        if os.geteuid() == 0:
            theirs = f"{out}.vmatlas-{dead}-theirs"
            write(theirs)
            os.chown(theirs, 65534, 65534)
            kept[theirs] = "another user's"
            assert privfile(["owner", theirs])["files"][0]["ours"] == 0
        assert privfile(["owner", stale])["files"][0]["ours"] == 1
        r = vmatlas(["dump", pid, truth["change"], "-o", winpath(out)])
        assert r.returncode == 0, r.stderr
        assert not os.path.exists(stale), os.listdir(d)
        for k, what in kept.items():
            assert os.path.exists(k), (what, os.listdir(d))
        assert sorted(os.listdir(d)) == sorted(["out.bin"] + [os.path.basename(k) for k in kept]), os.listdir(d)
        assert os.path.getsize(out) == truth["page_size"]


def test_winout_foreign_owner_refused_without_force():
    """a file of another Unix uid (owner ANONYMOUS LOGON under Wine) is
    refused by dump and snapshot with one line naming that owner, status
    1, left as it was and nothing beside it; --force replaces it, and the
    new file is ours"""
    if os.geteuid() != 0:
        raise Skip("making another user's file needs root (chown)")
    _, truth = live()
    pid = str(truth["pid"])
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "theirs.bin")
        write(out, b"theirs")
        os.chown(out, 65534, 65534)
        o = privfile(["owner", out])["files"][0]
        assert o == {"error": 0, "owner": ANON, "ours": 0, "errno": 0, "who": ANON_NAME}, o
        for cmd in (["dump", pid, truth["change"], "-o", out], ["snapshot", pid, "-o", out]):
            r = vmatlas(cmd)
            assert r.returncode == 1 and r.stdout == "", (cmd, r)
            want = f"vmatlas: {cmd[0]}: {out} belongs to another user ({ANON_NAME}): not replaced without --force"
            assert r.stderr.splitlines() == [want], (cmd, r.stderr)
            assert read(out) == b"theirs" and os.stat(out).st_uid == 65534
            assert os.listdir(d) == ["theirs.bin"], os.listdir(d)
        r = vmatlas(["dump", pid, truth["change"], "-o", out, "--force"])
        assert r.returncode == 0, r.stderr
        assert os.path.getsize(out) == truth["page_size"] and os.stat(out).st_uid == 0
        assert privfile(["owner", out])["files"][0]["ours"] == 1
        # ours now: replaced without --force
        r = vmatlas(["dump", pid, truth["marker_addr"], "--size", "4", "-o", out])
        assert r.returncode == 0 and read(out) == truth["marker"].encode()[:4], r.stderr
        assert os.listdir(d) == ["theirs.bin"], os.listdir(d)


def test_winout_owner_sids():
    """whose a SID is, against the token Wine gives (printed by the
    fixture): the user's is ours; BUILTIN\\Administrators is ours exactly
    when the token has it enabled and not deny-only (Wine's token: an
    elevated administrator's); Users (enabled, but not the owner an
    elevated token's files get), Everyone and ANONYMOUS LOGON are not.
    Then SetNamedSecurityInfo of ANONYMOUS LOGON as a file's owner: if Wine
    keeps it, vmatlas.exe refuses the file; Wine 8 does not (the owner
    stays the uid's, the user): the file is then replaced"""
    t = privfile(["ours", ADMINS, USERS, EVERYONE, ANON])
    user = t["user"]
    u = privfile(["ours", user])["sids"][0]
    assert u["ours"] == 1, u
    admins = [g["attributes"] for g in t["groups"] if g["sid"] == ADMINS]
    admin_ours = int(bool(admins) and bool(admins[0] & SE_GROUP_ENABLED)
                     and not admins[0] & SE_GROUP_USE_FOR_DENY_ONLY)
    got = {s["sid"]: (s["ours"], s["name"]) for s in t["sids"]}
    assert got == {ADMINS: (admin_ours, "BUILTIN\\Administrators"), USERS: (0, "BUILTIN\\Users"),
                   EVERYONE: (0, "Everyone"), ANON: (0, ANON_NAME)}, (got, t["groups"])
    _, truth = live()
    pid = str(truth["pid"])
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "set.bin")
        write(out, b"set")
        assert privfile(["setowner", ANON, out]) == {"error": 0}
        o = privfile(["owner", out])["files"][0]
        r = vmatlas(["dump", pid, truth["change"], "-o", out])
        if o["owner"] == ANON:
            assert o["ours"] == 0 and r.returncode == 1 and "belongs to another user" in r.stderr, (o, r)
            assert read(out) == b"set"
        else:
            # Wine 8: not kept
            assert o["owner"] == user and o["ours"] == 1, o
            assert r.returncode == 0 and os.path.getsize(out) == truth["page_size"], r.stderr
