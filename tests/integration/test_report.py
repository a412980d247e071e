"""vmatlas report: the HTML page, opened in headless Chromium (Debian's
chromium package, driven over the DevTools protocol: chromium.py). The
page loads with no console error, a screenshot of it is not blank, it has
one region row per region of 'map --json', and its search box filters by
address, path and text. Strings from the target (file names here) cannot
end the data's script element or add markup. Without Chromium the browser
tests skip and say so."""
import collections
import json
import os
import stat
import subprocess
import sys
import tempfile

import chromium
from lib import Skip, fixture, no_sanitizer_reports, run, run_json, regions, stepping, wait_blocked

READY = "document.body && document.body.dataset.ready === '1'"
VISIBLE = ("Array.from(document.querySelectorAll('#tree tr.region'))"
           ".filter(r => r.offsetParent !== null && !r.closest('.hidden')).length")


def need_chromium():
    if not chromium.find():
        raise Skip("no chromium: the report's browser tests need Debian's chromium package "
                   "(scripts/deps.sh test installs it)")


def report(args, out):
    p = run(["report"] + list(args) + ["-o", out, "--json"], timeout=120)
    assert p.returncode == 0, f"report failed ({p.returncode}): {p.stderr}"
    no_sanitizer_reports(p.stderr)
    doc = json.loads(p.stdout)
    assert doc["file"] == out and doc["bytes"] == os.path.getsize(out)
    return doc


def embedded(path):
    """the JSON document the page carries"""
    with open(path, encoding="utf-8") as f:
        html = f.read()
    start = html.index('<script type="application/json" id="vmatlas-data">') + len(
        '<script type="application/json" id="vmatlas-data">')
    return json.loads(html[start:html.index("</script>", start)]), html


def search(page, q):
    page.eval("(() => { const s = document.getElementById('search'); s.value = %s;"
              " s.dispatchEvent(new Event('input')); s.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter'}));"
              " return 1; })()" % json.dumps(q))
    return page.eval(VISIBLE)


def not_blank(png, colours=((240, 138, 60), (155, 111, 209))):
    w, h, rows = chromium.png_pixels(png)
    counts = collections.Counter(px for r in rows for px in r)
    top = counts.most_common(1)[0][1]
    assert len(counts) > 50, f"the screenshot has {len(counts)} colours"
    assert top < 0.85 * w * h, f"the screenshot is {top * 100 // (w * h)}% one colour"
    # the picture's usage colours are there (heap orange, image purple)
    for colour in colours:
        assert counts[colour] > 500, f"colour {colour}: {counts[colour]} pixels"


def test_report_of_a_process_in_chromium():
    with tempfile.TemporaryDirectory() as d, fixture("--threads", 2) as (p, t):
        pid = t["pid"]
        wait_blocked(pid)
        out = os.path.join(d, "map.html")
        doc = report([str(pid)], out)
        want = run_json(["map", str(pid)])
        assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
        assert sorted(os.listdir(d)) == ["map.html"]
        data, html = embedded(out)
        n = len(regions(want))
        assert doc["regions"] == n == len(regions(data["map"]))
        assert [r["base"] for r in regions(data["map"])] == [r["base"] for r in regions(want)]
        assert data["source"] == "target" and data["threads"]["threads"] and data["env"]["argv"]
        # self-contained: nothing to fetch
        for bad in ("http://", "https://", "<link", "src=", "@import", "url("):
            assert bad not in html, bad
        assert len(html) < 2 << 20
        run_browser_checks(out, want, n)


def run_browser_checks(out, want, n):
    need_chromium()
    with chromium.Browser() as b:
        page = b.open("file://" + out)
        page.wait_for(READY)
        assert page.errors == [], page.errors
        assert page.eval("document.querySelectorAll('#tree tr.region').length") == n
        assert page.eval("+document.body.dataset.regions") == n
        firsts = page.eval("Array.from(document.querySelectorAll('#tree tr.region'))"
                           ".map(r => r.cells.length === 8 ? r.cells[0].textContent.replace('\u25b8', '') : null)")
        assert [int(a, 16) for a in firsts] == [int(r["base"], 16) for r in regions(want)]
        not_blank(page.screenshot())
        assert page.eval(VISIBLE) == n
        assert page.eval("document.querySelectorAll('details.thread').length") == 3
        assert page.eval("document.querySelectorAll('#modtable tbody tr').length") == len(want["modules"])

        # an address inside one region: that region alone, and selected
        libc = [r for r in regions(want) if r["path"] and "libc.so" in r["path"] and "x" in r["prot"]][0]
        inside = "0x%x" % (int(libc["base"], 16) + 0x123)
        assert search(page, inside) == 1
        assert page.eval("document.querySelector('#tree tr.sel td').textContent").endswith(
            libc["base"][2:].lstrip("0"))
        assert libc["path"] in page.eval("document.getElementById('detail').textContent")
        # a path: every region of the file, and fewer than all
        by_path = [r for r in regions(want) if r["path"] and "libc.so" in r["path"]]
        shown = search(page, "libc.so")
        assert len(by_path) <= shown < n, (len(by_path), shown, n)
        # text from the contents: a thread's name labels its stack
        assert 1 <= search(page, "worker-1") < n
        assert search(page, "no such thing anywhere") == 0
        assert "0 of %d" % n in page.eval("document.getElementById('search-count').textContent")
        assert search(page, "") == n
        # the summary filters by usage
        page.eval("document.querySelector('table.summary tr[data-usage=\"stack\"]').click(), 1")
        stacks = sum(len(a["regions"]) for a in want["allocations"] if a["usage"] == "stack")
        assert page.eval(VISIBLE) == stacks
        # a click on the strip selects a region and shows it
        page.eval("document.querySelector('table.summary tr[data-usage=\"stack\"]').click(), 1")
        page.eval("(() => { const c = document.getElementById('strip'), r = c.getBoundingClientRect();"
                  " for (const t of ['mousedown', 'mouseup']) c.dispatchEvent(new MouseEvent(t,"
                  " {clientX: r.left + r.width / 2, clientY: r.top + 10, bubbles: true})); return 1; })()")
        assert page.eval("document.querySelectorAll('#tree tr.sel').length") == 1
        assert "range" in page.eval("document.getElementById('detail').textContent")
        assert page.errors == [], page.errors


HOSTILE_DIR = "<"
HOSTILE_FILE = "script><img src=x onerror=\"window.pwned=1\">&amp;'\u2028.bin"
HOLDER = """
import mmap, sys
f = open(sys.argv[1], "rb")
m = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
print("ready", flush=True)
sys.stdin.read()
"""


def test_report_escapes_names_from_the_target():
    """a mapped file whose path holds '</script>' and markup stays text"""
    with tempfile.TemporaryDirectory() as d:
        os.mkdir(os.path.join(d, HOSTILE_DIR))
        path = os.path.join(d, HOSTILE_DIR, HOSTILE_FILE)
        assert "</script><img" in path
        with open(path, "wb") as f:
            f.write(b"\0" * 8192)
        holder = subprocess.Popen([sys.executable, "-c", HOLDER, path], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "ready"
            out = os.path.join(d, "map.html")
            report([str(holder.pid)], out)
        finally:
            holder.stdin.close()
            holder.wait()
        data, html = embedded(out)
        assert "</script><img" not in html and "<img" not in html
        assert path in [r["path"] for r in regions(data["map"])]

        need_chromium()
        with chromium.Browser() as b:
            page = b.open("file://" + out)
            page.wait_for(READY)
            assert page.errors == [], page.errors
            assert page.eval("document.querySelectorAll('img').length") == 0
            assert page.eval("window.pwned === undefined")
            assert search(page, "onerror") >= 1
            cells = page.eval("Array.from(document.querySelectorAll('#tree tr.region td:nth-child(8)')).map(t => t.textContent)")
            assert any(path in c for c in cells), path


def test_report_diff_of_two_snapshots():
    with tempfile.TemporaryDirectory() as d, stepping("changefix") as (p, t, step):
        pid = t["pid"]
        a, b = os.path.join(d, "a.snap"), os.path.join(d, "b.snap")
        run_json(["snapshot", str(pid), "-o", a])
        step()
        run_json(["snapshot", str(pid), "-o", b])
        diff = run_json(["diff", a, b])
        out = os.path.join(d, "diff.html")
        doc = report([a, "--diff", b], out)
        one = os.path.join(d, "b.html")
        report([b], one)           # a snapshot alone is a TARGET too
        live = os.path.join(d, "live.html")
        report([a, "--diff", str(pid)], live)   # a snapshot and the process now
        now, _ = embedded(live)
        assert now["b"] == str(pid) and now["map"]["target"]["pid"] == pid
        assert now["diff"]["regions"]["added"] == diff["regions"]["added"]
        data, _ = embedded(out)
        alone, _ = embedded(one)
        diff_browser_checks(out, doc, diff)
    assert data["source"] == "diff" and data["diff"] == diff
    assert doc["regions"] == len(regions(data["map"])) == len(regions(alone["map"]))
    assert alone["source"] == "snapshot" and alone["diff"] is None
    added, removed = diff["regions"]["added"], diff["regions"]["removed"]
    assert added and removed and diff["regions"]["changed"]


def diff_browser_checks(out, doc, diff):
    added, removed = diff["regions"]["added"], diff["regions"]["removed"]
    need_chromium()
    with chromium.Browser() as br:
        page = br.open("file://" + out)
        page.wait_for(READY)
        assert page.errors == [], page.errors
        assert page.eval("document.querySelectorAll('#tree tr.region').length") == doc["regions"]
        assert page.eval("document.querySelectorAll('#changes tr.row-added').length") == \
            len(added) + len(diff["modules"]["added"]) + len(diff["threads"]["added"])
        assert page.eval("document.querySelectorAll('#changes tr.row-removed').length") == \
            len(removed) + len(diff["modules"]["removed"]) + len(diff["threads"]["removed"])
        assert page.eval("document.querySelectorAll('#tree tr.region.added').length") == len(added)
        assert page.eval("document.querySelectorAll('#tree tr.region.changed').length") == \
            len(diff["regions"]["changed"])
        not_blank(page.screenshot(), colours=((155, 111, 209),))


def test_report_output_rules():
    with tempfile.TemporaryDirectory() as d, fixture() as (p, t):
        pid = str(t["pid"])
        r = run(["report", pid])
        assert r.returncode == 2 and "no -o FILE" in r.stderr, r.stderr
        # a symbolic link is not replaced, nor what it points to
        target = os.path.join(d, "precious")
        with open(target, "w") as f:
            f.write("keep")
        link = os.path.join(d, "link.html")
        os.symlink(target, link)
        r = run(["report", pid, "-o", link])
        assert r.returncode == 1 and r.stderr.startswith("vmatlas: report: "), r.stderr
        assert os.path.islink(link) and open(target).read() == "keep"
        r = run(["report", pid, "-o", d])
        assert r.returncode == 1, r.stderr
        # '-' is standard output: the page itself, and nothing else
        r = run(["report", pid, "-o", "-"])
        assert r.returncode == 0 and r.stdout.startswith("<!DOCTYPE html>") and r.stdout.endswith("</html>\n")
        assert sorted(os.listdir(d)) == ["link.html", "precious"]
        r = run(["report", "-o", os.path.join(d, "x.html"), "--diff", "x", "--", "/bin/true"])
        assert r.returncode == 2, r.stderr


def test_report_and_diff_take_a_process_name():
    """a process name is a TARGET for report and diff as for map (it was
    taken for a snapshot file that was not there); a missing file with a
    path is still said to be a missing file"""
    with tempfile.TemporaryDirectory() as d:
        name = "vmrpt%d" % (os.getpid() % 10**9)
        exe = os.path.join(d, name)
        with open("/bin/sleep", "rb") as f, open(exe, "wb") as g:
            g.write(f.read())
        os.chmod(exe, 0o755)
        p = subprocess.Popen([exe, "60"])
        try:
            wait_blocked(p.pid)
            doc = report([name], os.path.join(d, "r.html"))
            data, _ = embedded(os.path.join(d, "r.html"))
            assert data["map"]["target"]["pid"] == p.pid, data["map"]["target"]
            snap = os.path.join(d, "s.vms")
            assert run(["snapshot", str(p.pid), "-o", snap]).returncode == 0
            r = run(["diff", snap, name])
            assert r.returncode == 0, r.stderr
            r = run(["diff", os.path.join(d, "nosuch.vms"), name])
            assert r.returncode == 1 and "nosuch.vms" in r.stderr and "No such file" in r.stderr, r.stderr
        finally:
            p.kill()
            p.wait()


def file_target_page(path, d):
    """the report of a core or minidump: as many rows as 'map --json' has"""
    out = os.path.join(d, "file.html")
    doc = report([path], out)
    want = run_json(["map", path])
    n = len(regions(want))
    assert doc["regions"] == n
    data, _ = embedded(out)
    assert data["env"] is not None and data["threads"]["threads"]
    need_chromium()
    with chromium.Browser() as b:
        page = b.open("file://" + out)
        page.wait_for(READY)
        assert page.errors == [], page.errors
        assert page.eval("document.querySelectorAll('#tree tr.region').length") == n
        assert page.eval("document.querySelectorAll('details.thread').length") == len(data["threads"]["threads"])
        not_blank(page.screenshot(), colours=((155, 111, 209),))
    return data


def test_report_of_a_core_file():
    from test_core import kernel_core
    with tempfile.TemporaryDirectory() as d:
        _, _, threads, core = kernel_core(d)
        data = file_target_page(core, d)
        assert len(data["threads"]["threads"]) == len(threads)


def test_report_of_a_minidump():
    from test_minidump import wine_dump
    with tempfile.TemporaryDirectory() as d:
        _, dmp = wine_dump(d)
        data = file_target_page(dmp, d)
        assert data["map"]["target"]["os"] == "windows" and "peb" in data["env"]


def test_report_of_many_regions():
    """an allocation of thousands of regions shows 500 at first and the
    rest on demand; every row is in the page, and a search finds any"""
    with tempfile.TemporaryDirectory() as d, fixture("--maps", 2000) as (p, t):
        wait_blocked(t["pid"])
        out = os.path.join(d, "map.html")
        report([str(t["pid"])], out)
        want = run_json(["map", str(t["pid"])])
        n = len(regions(want))
        big = max(want["allocations"], key=lambda a: len(a["regions"]))
        assert n > 2000 and len(big["regions"]) > 1000, (n, len(big["regions"]))
        need_chromium()
        with chromium.Browser() as b:
            page = b.open("file://" + out)
            page.wait_for(READY)
            assert page.errors == [], page.errors
            assert page.eval("document.querySelectorAll('#tree tr.region').length") == n
            page.eval("document.getElementById('open-all').click(), 1")
            shown = page.eval(VISIBLE)
            assert shown < n and shown >= 500, shown
            # a region far down the big allocation: found, selected, shown
            far = big["regions"][-3]
            assert search(page, "0x%x" % (int(far["base"], 16) + 8)) == 1
            assert page.eval("document.querySelector('#tree tr.sel td').textContent").endswith(far["base"][2:].lstrip("0"))
            assert search(page, "") >= 500
            page.eval("document.querySelectorAll('#tree tr.more-row a.all').forEach(a => a.click()), 1")
            assert page.eval(VISIBLE) == n
            # shown, every row has its cells: the region's address first
            firsts = page.eval("Array.from(document.querySelectorAll('#tree tr.region'))"
                               ".map(r => r.cells.length === 8 ? r.cells[0].textContent.replace('\u25b8', '') : null)")
            assert [int(a, 16) for a in firsts] == [int(r["base"], 16) for r in regions(want)]
            assert page.errors == [], page.errors
