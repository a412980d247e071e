/* vmatlas report: draws the page from the JSON in #vmatlas-data (see
 * src/cli/cmd_report.c for its shape). Plain JavaScript, no libraries, no
 * network. Every string that came from the target goes through esc()
 * before it reaches innerHTML, or is set as textContent. */
(function () {
"use strict";

var PHASES = { start: Math.round(performance.now()) };
function phase(n) { PHASES[n] = Math.round(performance.now()); }
var D = JSON.parse(document.getElementById("vmatlas-data").textContent);
var M = D.map;
var INFO = M.target || {};
phase("parsed");
var AW = INFO.bits === 32 ? 8 : 12; /* address width in hex digits */
var USAGES = ["image", "mapped", "shareable", "heap", "stack", "private", "system", "reserved", "free"];

/* ---- helpers ---- */

var ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
function esc(s) {
	return s === null || s === undefined ? "" : String(s).replace(/[&<>"']/g, function (c) { return ESC[c]; });
}
function big(a) { return typeof a === "string" ? BigInt(a) : BigInt(a || 0); }
function hex(b) {
	var s = b.toString(16);
	return "0x" + (s.length < AW ? "0".repeat(AW - s.length) + s : s);
}
function addr(a) { return a === null || a === undefined ? "" : hex(big(a)); }
function fmtSize(n) {
	if (n === null || n === undefined) return "";
	if (n < 1024) return n + " B";
	var u = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"], v = n / 1024, i = 0;
	while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
	return (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2)) + " " + u[i];
}
function num(n) { return n === null || n === undefined ? "" : Number(n).toLocaleString("en-US"); }
function $(id) { return document.getElementById(id); }
function el(tag, cls, html) {
	var e = document.createElement(tag);
	if (cls) e.className = cls;
	if (html !== undefined) e.innerHTML = html;
	return e;
}
function basename(p) {
	if (!p) return "";
	var i = Math.max(p.lastIndexOf("/"), p.lastIndexOf("\\"));
	return i >= 0 && i < p.length - 1 ? p.slice(i + 1) : p;
}
function cssVar(name) { return getComputedStyle(document.documentElement).getPropertyValue(name).trim(); }
var COLOR = {};
USAGES.forEach(function (u) { COLOR[u] = cssVar("--u-" + u) || "#999"; });
/* reserved (not committed) space: the usage's colour, faded */
var LIGHT = {};
USAGES.forEach(function (u) {
	var m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(COLOR[u]), b = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(cssVar("--bg"));
	var bg = b ? [1, 2, 3].map(function (k) { return parseInt(b[k], 16); }) : [251, 251, 250];
	LIGHT[u] = m ? "rgb(" + [1, 2, 3].map(function (k) { return Math.round(parseInt(m[k], 16) * 0.35 + bg[k - 1] * 0.65); }).join(",") + ")" : COLOR[u];
});
function swatch(u) { return '<span class="swatch" style="background:' + esc(COLOR[u] || "#999") + '"></span>'; }
function addrLink(a) {
	if (a === null || a === undefined) return "";
	return '<a class="go mono" data-addr="' + esc(addr(a)) + '">' + esc(addr(a)) + "</a>";
}

/* ---- the regions, flattened in address order ---- */

var R = [];      /* {r: json, a: alloc index, base, end (BigInt), text} */
var ALLOC = M.allocations || [];
ALLOC.forEach(function (al, ai) {
	(al.regions || []).forEach(function (r) {
		var base = big(r.base), end = base + BigInt(r.size || 0);
		var t = [hex(base), r.usage, r.type, r.state, r.prot, r.path, al.details];
		(r.contents || []).forEach(function (c) { t.push(c.kind, c.name, c.detail, c.module, c.tid); });
		R.push({ r: r, a: ai, base: base, end: end, text: t.join("\u0001").toLowerCase(), i: R.length });
	});
});
var ALLOC_FIRST = [];
(function () { var k = 0; ALLOC.forEach(function (al, ai) { ALLOC_FIRST[ai] = k; k += (al.regions || []).length; }); })();

/* the region holding address x (BigInt), or -1 */
function regionAt(x) {
	var lo = 0, hi = R.length - 1;
	while (lo <= hi) {
		var mid = (lo + hi) >> 1;
		if (x < R[mid].base) hi = mid - 1;
		else if (x >= R[mid].end) lo = mid + 1;
		else return mid;
	}
	return -1;
}

function regionDetails(r) {
	if (r.path) return r.path + (r.deleted ? " (deleted)" : "");
	var names = [];
	(r.contents || []).some(function (c) {
		names.push(c.name || c.kind);
		return names.length >= 3;
	});
	return names.join(", ");
}

phase("regions");

/* what changed, in a diff report: region bases of B */
var DIFF = D.diff;
var ADDED = new Set(), CHANGED = new Set();
if (DIFF && DIFF.regions) {
	(DIFF.regions.added || []).forEach(function (r) { ADDED.add(big(r.base)); });
	(DIFF.regions.changed || []).forEach(function (c) { CHANGED.add(big(c.after.base)); });
}

/* ---- the frame of the page ---- */

var app = $("app");
var title = (INFO.name || "process") + (INFO.pid ? " (pid " + INFO.pid + ")" : "");
document.title = "vmatlas: " + (D.source === "diff" ? "diff " : "") + title;

function headerHtml() {
	var facts = [INFO.kind, [INFO.os, INFO.arch, INFO.bits ? INFO.bits + "-bit" : ""].filter(Boolean).join(" "),
		INFO.exe, M.frozen ? "frozen" : "", M.incomplete ? "incomplete" : ""].filter(Boolean);
	var src = D.source === "diff" ? "A: " + D.a + " \u2192 B: " + D.b : D.source === "snapshot" ? "snapshot " + D.a : "";
	if (src) facts.push(src);
	if (D.generated) facts.push("report of " + new Date(D.generated * 1000).toISOString().replace("T", " ").slice(0, 19) + " UTC");
	var nav = ["picture", "selected", "summary", "allocations", "modules", "threads", "heap", "env"];
	if (DIFF) nav.unshift("changes");
	return '<h1>vmatlas \u2014 ' + esc(title) + "</h1>" +
		'<span class="facts">' + esc(facts.join(" \u00b7 ")) + "</span>" +
		'<input id="search" type="search" placeholder="Search (/): address (0x7f\u2026), path or text" autocomplete="off" spellcheck="false">' +
		'<span id="search-count"></span>' +
		"<nav>" + nav.map(function (n) { return '<a href="#' + n + '">' + n + "</a>"; }).join("") + "</nav>";
}

app.innerHTML = "";
var hdr = el("header", "top", headerHtml());
document.body.insertBefore(hdr, app);
var main = el("main");
app.appendChild(main);
var tip = el("div");
tip.id = "tip";
document.body.appendChild(tip);

function section(id, title, sub) {
	var s = el("section");
	s.id = id;
	s.innerHTML = "<h2>" + esc(title) + (sub ? '<span class="sub">' + esc(sub) + "</span>" : "") + "</h2>";
	main.appendChild(s);
	return s;
}

if ((M.warnings || []).length) {
	var w = section("warnings", "Warnings", M.warnings.length + "");
	w.insertAdjacentHTML("beforeend", M.warnings.map(function (x) { return '<div class="warn">' + esc(x) + "</div>"; }).join(""));
}

/* ---- what changed (diff reports) ---- */

function regionTable(list, cls) {
	if (!list || !list.length) return '<p class="note">none</p>';
	return '<div class="tbl-scroll"><table><thead><tr><th>Address</th><th class="num">Size</th><th>Prot</th><th>State</th><th>Usage</th><th>Path</th></tr></thead><tbody>' +
		list.map(function (r) {
			return '<tr class="' + cls + '"><td class="addr">' + addrLink(r.base) + '</td><td class="num">' + esc(fmtSize(r.size)) +
				'</td><td class="mono">' + esc(r.prot) + "</td><td>" + esc(r.state) + "</td><td>" + swatch(r.usage) + esc(r.usage) +
				'</td><td class="path">' + esc(r.path) + "</td></tr>";
		}).join("") + "</tbody></table></div>";
}

if (DIFF) {
	var ds = section("changes", "What changed", "from A to B (the map below is B)");
	var rg = DIFF.regions || {}, md = DIFF.modules || {}, th = DIFF.threads || {}, hp = DIFF.heaps || {};
	var h = '<div class="kv">' +
		"<div>regions</div><div>" + (rg.added || []).length + " added, " + (rg.removed || []).length + " removed, " + (rg.changed || []).length + " changed</div>" +
		"<div>modules</div><div>" + (md.added || []).length + " loaded, " + (md.removed || []).length + " unloaded</div>" +
		"<div>threads</div><div>" + (th.added || []).length + " started, " + (th.removed || []).length + " ended</div>" +
		"<div>pages</div><div>" + (DIFF.pages_changed ? DIFF.pages_changed.length + " runs of pages changed" : "no page hashes on both sides") + "</div></div>";
	h += "<h3>Regions added</h3>" + regionTable(rg.added, "row-added");
	h += "<h3>Regions removed</h3>" + regionTable(rg.removed, "row-removed");
	h += "<h3>Regions changed</h3>";
	if (!(rg.changed || []).length) h += '<p class="note">none</p>';
	else h += '<div class="tbl-scroll"><table><thead><tr><th>Address</th><th>What</th><th>Before</th><th>After</th><th>Path</th></tr></thead><tbody>' +
		rg.changed.map(function (c) {
			var b = c.before, a = c.after;
			return '<tr class="row-changed"><td class="addr">' + addrLink(a.base) + "</td><td>" + esc((c.what || []).join(", ")) +
				'</td><td class="mono">' + esc(fmtSize(b.size) + " " + b.prot + " " + b.state) + '</td><td class="mono">' +
				esc(fmtSize(a.size) + " " + a.prot + " " + a.state) + '</td><td class="path">' + esc(a.path) + "</td></tr>";
		}).join("") + "</tbody></table></div>";
	function modList(list, cls) {
		if (!list || !list.length) return '<p class="note">none</p>';
		return "<table><tbody>" + list.map(function (m) {
			return '<tr class="' + cls + '"><td class="addr">' + esc(addr(m.base)) + "</td><td>" + esc(m.name) + '</td><td class="path">' + esc(m.path) + "</td></tr>";
		}).join("") + "</tbody></table>";
	}
	function thrList(list, cls) {
		if (!list || !list.length) return '<p class="note">none</p>';
		return "<table><tbody>" + list.map(function (t) {
			return '<tr class="' + cls + '"><td class="num">' + esc(t.tid) + "</td><td>" + esc(t.name) + "</td></tr>";
		}).join("") + "</tbody></table>";
	}
	h += '<div class="cols"><div><h3>Modules loaded</h3>' + modList(md.added, "row-added") + "</div><div><h3>Modules unloaded</h3>" + modList(md.removed, "row-removed") + "</div></div>";
	h += '<div class="cols"><div><h3>Threads started</h3>' + thrList(th.added, "row-added") + "</div><div><h3>Threads ended</h3>" + thrList(th.removed, "row-removed") + "</div></div>";
	h += "<h3>Heaps</h3>";
	if (!(hp.arenas || []).length) h += '<p class="note">no arenas on either side</p>';
	else h += "<table><thead><tr><th>Arena</th><th class=\"num\">In use (A \u2192 B)</th><th class=\"num\">Chunks</th><th class=\"num\">System memory</th></tr></thead><tbody>" +
		hp.arenas.map(function (x) {
			function ab(v, f) { return esc((v[0] === null ? "\u2014" : f(v[0])) + " \u2192 " + (v[1] === null ? "\u2014" : f(v[1]))); }
			return '<tr><td class="addr">' + esc(addr(x.addr)) + '</td><td class="num">' + ab(x.in_use, fmtSize) + '</td><td class="num">' + ab(x.chunks, num) +
				'</td><td class="num">' + ab(x.system_mem, fmtSize) + "</td></tr>";
		}).join("") + "</tbody></table>";
	if (hp.allocated || hp.freed)
		h += '<p class="note">' + (hp.allocated || []).length + " blocks allocated, " + (hp.freed || []).length + " freed</p>";
	if (DIFF.pages_changed && DIFF.pages_changed.length) {
		var pc = DIFF.pages_changed, shown = pc.slice(0, 2000);
		h += "<h3>Pages whose contents changed</h3>" + '<div class="tbl-scroll"><table><thead><tr><th>Address</th><th class="num">Size</th><th>Region</th><th>Usage</th><th>Path</th></tr></thead><tbody>' +
			shown.map(function (p) {
				return '<tr><td class="addr">' + addrLink(p.addr) + '</td><td class="num">' + esc(fmtSize(p.size)) + '</td><td class="addr">' + esc(addr(p.region)) +
					"</td><td>" + esc(p.usage) + '</td><td class="path">' + esc(p.path) + "</td></tr>";
			}).join("") + "</tbody></table></div>" + (pc.length > shown.length ? '<p class="note">the first ' + shown.length + " of " + pc.length + "</p>" : "");
	}
	ds.insertAdjacentHTML("beforeend", h);
}

/* ---- the picture: a strip and a treemap ---- */

var pic = section("picture", "Address space",
	"to scale, free space compressed; hover names a region, click selects it; wheel zooms the strip, drag pans, double-click resets");
pic.insertAdjacentHTML("beforeend", '<div class="picture"><canvas id="strip"></canvas><div class="strip-scale"><span id="strip-lo"></span><span id="strip-hi"></span></div>' +
	'<div class="tm-bar">Treemap area: <label><input type="radio" name="area" value="committed" checked> committed</label> ' +
	'<label><input type="radio" name="area" value="size"> address space</label> <label><input type="radio" name="area" value="rss"> resident</label>' +
	' <span class="note">(lighter in the strip: reserved, not committed)</span></div>' +
	'<canvas id="treemap"></canvas><div class="legend">' +
	USAGES.map(function (u) { return '<span><span class="sw" style="background:' + esc(COLOR[u]) + '"></span>' + esc(u) + "</span>"; }).join("") +
	"</div></div>");

/* segments of the strip: each region, and the free gaps between them */
var SEG = [];        /* {ri: region index or -1, lo, hi (BigInt) } */
var mapped = 0;
R.forEach(function (x) { mapped += Number(x.end - x.base); });
(function () {
	var prev = 0n, gaps = [];
	R.forEach(function (x) {
		if (x.base > prev) gaps.push(SEG.length), SEG.push({ ri: -1, lo: prev, hi: x.base });
		SEG.push({ ri: x.i, lo: x.base, hi: x.end });
		prev = x.end > prev ? x.end : prev;
	});
	var top = INFO.user_top ? big(INFO.user_top) : 0n;
	if (top > prev) gaps.push(SEG.length), SEG.push({ ri: -1, lo: prev, hi: top });
	/* a gap counts at most `cap`: all of them together at most ~1/4 of the mapped space */
	var cap = Math.max(mapped / Math.max(50, gaps.length * 4), 4096);
	SEG.forEach(function (s) {
		var n = Number(s.hi - s.lo);
		s.w = s.ri < 0 ? Math.min(n, cap) : Math.max(n, 1);
	});
})();
var CUM = new Float64Array(SEG.length + 1);
for (var si = 0; si < SEG.length; si++) CUM[si + 1] = CUM[si] + SEG[si].w;
var TOTALW = CUM[SEG.length] || 1;
var SEG_OF_REGION = new Int32Array(R.length);
SEG.forEach(function (s, k) { if (s.ri >= 0) SEG_OF_REGION[s.ri] = k; });
var view = { lo: 0, hi: TOTALW };

function segAtW(wv) {
	var lo = 0, hi = SEG.length - 1;
	while (lo < hi) {
		var mid = (lo + hi + 1) >> 1;
		if (CUM[mid] <= wv) lo = mid; else hi = mid - 1;
	}
	return lo;
}
/* an address's place on the strip, in weight units */
function addrToW(x) {
	var lo = 0, hi = SEG.length - 1;
	while (lo <= hi) {
		var mid = (lo + hi) >> 1, s = SEG[mid];
		if (x < s.lo) hi = mid - 1;
		else if (x >= s.hi) lo = mid + 1;
		else return CUM[mid] + s.w * Number(x - s.lo) / Number(s.hi - s.lo);
	}
	return lo >= SEG.length ? TOTALW : CUM[lo];
}

var selected = -1;
var strip = $("strip"), sctx = strip.getContext("2d");
var hatch = null;

function fitCanvas(c) {
	var dpr = window.devicePixelRatio || 1, r = c.getBoundingClientRect();
	var w = Math.max(100, Math.round(r.width)), h = Math.round(r.height);
	if (c.width !== Math.round(w * dpr) || c.height !== Math.round(h * dpr)) {
		c.width = Math.round(w * dpr);
		c.height = Math.round(h * dpr);
	}
	var ctx = c.getContext("2d");
	ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
	return { w: w, h: h, ctx: ctx };
}

function drawStrip() {
	var f = fitCanvas(strip), ctx = f.ctx, W = f.w, H = 32, span = view.hi - view.lo;
	ctx.clearRect(0, 0, W, f.h);
	if (!hatch) {
		var p = document.createElement("canvas");
		p.width = p.height = 6;
		var pc = p.getContext("2d");
		pc.fillStyle = COLOR.free; pc.fillRect(0, 0, 6, 6);
		pc.strokeStyle = cssVar("--line") || "#ccc"; pc.beginPath(); pc.moveTo(0, 6); pc.lineTo(6, 0); pc.stroke();
		hatch = ctx.createPattern(p, "repeat");
	}
	var k0 = segAtW(view.lo), lastX = -1, lastColor = "";
	for (var k = k0; k < SEG.length && CUM[k] < view.hi; k++) {
		var s = SEG[k];
		var x0 = (CUM[k] - view.lo) / span * W, x1 = (CUM[k + 1] - view.lo) / span * W;
		var color = s.ri < 0 ? hatch : R[s.ri].r.state === "reserve" ? LIGHT[R[s.ri].r.usage] : COLOR[R[s.ri].r.usage] || "#999";
		/* many regions in one pixel: draw the pixel once */
		if (x1 - x0 < 1 && Math.floor(x0) === lastX && color === lastColor) continue;
		ctx.fillStyle = color;
		ctx.fillRect(x0, 0, Math.max(x1 - x0, 1), H);
		lastX = Math.floor(x0); lastColor = color;
	}
	/* what changed (diff): ticks under the strip */
	function tick(x, color) {
		var px = (addrToW(x) - view.lo) / span * W;
		if (px < 0 || px > W) return;
		ctx.fillStyle = color; ctx.fillRect(px - 1, H + 1, 2, 5);
	}
	if (DIFF && DIFF.regions) {
		(DIFF.regions.removed || []).forEach(function (r) { tick(big(r.base), "#d0324b"); });
		(DIFF.regions.changed || []).forEach(function (c) { tick(big(c.after.base), "#e0a000"); });
		(DIFF.regions.added || []).forEach(function (r) { tick(big(r.base), "#2e9d3a"); });
	}
	if (selected >= 0) {
		var k2 = SEG_OF_REGION[selected];
		var a0 = (CUM[k2] - view.lo) / span * W, a1 = (CUM[k2 + 1] - view.lo) / span * W;
		var mx = Math.min(Math.max((a0 + a1) / 2, 0), W);
		ctx.strokeStyle = cssVar("--fg") || "#000"; ctx.lineWidth = 2;
		ctx.strokeRect(Math.max(a0, 0) - 1, 1, Math.max(Math.min(a1, W) - Math.max(a0, 0), 1) + 2, H - 2);
		ctx.fillStyle = cssVar("--fg") || "#000";
		ctx.beginPath(); ctx.moveTo(mx, H + 1); ctx.lineTo(mx - 6, H + 12); ctx.lineTo(mx + 6, H + 12); ctx.closePath(); ctx.fill();
	}
	var s0 = SEG[segAtW(view.lo)], s1 = SEG[segAtW(Math.max(view.hi - 1e-9, 0))];
	$("strip-lo").textContent = s0 ? hex(s0.lo) : "";
	$("strip-hi").textContent = s1 ? hex(s1.hi) : "";
}

function segText(s) {
	if (s.ri < 0) return "free  " + hex(s.lo) + "\u2013" + hex(s.hi) + "  " + fmtSize(Number(s.hi - s.lo));
	var x = R[s.ri], r = x.r;
	return hex(x.base) + "\u2013" + hex(x.end) + "  " + fmtSize(r.size) + "  " + r.usage + " " + (r.prot || r.state) +
		(r.path ? "\n" + r.path : regionDetails(r) ? "\n" + regionDetails(r) : "");
}
function showTip(ev, text) {
	tip.textContent = text;
	tip.style.display = "block";
	var x = ev.clientX + 14, y = ev.clientY + 14, r = tip.getBoundingClientRect();
	if (x + r.width > window.innerWidth) x = Math.max(0, ev.clientX - r.width - 8);
	if (y + r.height > window.innerHeight) y = Math.max(0, ev.clientY - r.height - 8);
	tip.style.left = x + "px"; tip.style.top = y + "px";
}
function hideTip() { tip.style.display = "none"; }
function stripSeg(ev) {
	var r = strip.getBoundingClientRect();
	return SEG.length ? segAtW(view.lo + (ev.clientX - r.left) / r.width * (view.hi - view.lo)) : -1;
}
var drag = null;
strip.addEventListener("mousemove", function (ev) {
	if (drag) {
		var r = strip.getBoundingClientRect(), d = (ev.clientX - drag.x) / r.width * (drag.hi - drag.lo);
		var lo = Math.min(Math.max(drag.lo - d, 0), TOTALW - (drag.hi - drag.lo));
		view.lo = lo; view.hi = lo + (drag.hi - drag.lo); drag.moved = true;
		drawStrip();
		return;
	}
	var k = stripSeg(ev);
	if (k >= 0) showTip(ev, segText(SEG[k]));
});
strip.addEventListener("mouseleave", function () { hideTip(); drag = null; });
strip.addEventListener("mousedown", function (ev) { drag = { x: ev.clientX, lo: view.lo, hi: view.hi, moved: false }; });
strip.addEventListener("mouseup", function (ev) {
	var moved = drag && drag.moved;
	drag = null;
	if (moved) return;
	var k = stripSeg(ev);
	if (k >= 0 && SEG[k].ri >= 0) selectRegion(SEG[k].ri, true);
});
strip.addEventListener("wheel", function (ev) {
	ev.preventDefault();
	var r = strip.getBoundingClientRect(), f = (ev.clientX - r.left) / r.width, span = view.hi - view.lo;
	var at = view.lo + f * span, ns = span * (ev.deltaY < 0 ? 0.8 : 1.25);
	ns = Math.min(Math.max(ns, TOTALW / 1e7), TOTALW);
	view.lo = Math.min(Math.max(at - f * ns, 0), TOTALW - ns); view.hi = view.lo + ns;
	drawStrip();
}, { passive: false });
strip.addEventListener("dblclick", function () { view.lo = 0; view.hi = TOTALW; drawStrip(); });

/* the treemap: usage, then owner (module or file, else what the
 * allocation holds), then allocations, each area its size */
var tmap = $("treemap"), LEAVES = [], GROUPS = [];
function owner(al) {
	var rs = al.regions || [];
	for (var i = 0; i < rs.length; i++) if (rs[i].path) return basename(rs[i].path);
	if (al.usage === "stack") return "stacks";
	if (al.usage === "heap") return "heap";
	return al.details && al.details.length < 40 ? al.details : al.usage;
}
var AREA = "committed", TREE = null;
function allocArea(al) {
	if (AREA === "size") return al.size;
	var v = 0;
	(al.regions || []).forEach(function (r) {
		if (AREA === "rss") v += r.rss || 0;
		else if (r.state === "commit") v += r.size;
	});
	return v;
}
function buildTree() {
	var byUsage = {};
	ALLOC.forEach(function (al, ai) {
		var v = al.usage === "free" ? 0 : allocArea(al);
		if (!v) return;
		var u = byUsage[al.usage] || (byUsage[al.usage] = { name: al.usage, v: 0, kids: {} });
		var o = owner(al), g = u.kids[o] || (u.kids[o] = { name: o, v: 0, kids: [] });
		g.kids.push({ v: v, ai: ai });
		g.v += v; u.v += v;
	});
	return Object.keys(byUsage).map(function (k) {
		var u = byUsage[k];
		u.kids = Object.keys(u.kids).map(function (o) { var g = u.kids[o]; g.kids.sort(function (a, b) { return b.v - a.v; }); return g; });
		u.kids.sort(function (a, b) { return b.v - a.v; });
		return u;
	}).sort(function (a, b) { return b.v - a.v; });
}
TREE = buildTree();

/* squarified treemap (Bruls, Huizing, van Wijk) of items sorted by v, largest first */
function squarify(items, x, y, w, h, out) {
	var total = 0;
	items.forEach(function (it) { total += it.v; });
	if (!(total > 0) || w <= 0 || h <= 0) return;
	var scale = w * h / total, i = 0;
	while (i < items.length) {
		var side = Math.min(w, h), s = 0, mn = Infinity, mx = 0, best = Infinity, j = i;
		while (j < items.length) {
			var a = items[j].v * scale, s2 = s + a, mn2 = Math.min(mn, a), mx2 = Math.max(mx, a);
			var worst = Math.max(side * side * mx2 / (s2 * s2), s2 * s2 / (side * side * mn2));
			if (j > i && worst > best) break;
			best = worst; s = s2; mn = mn2; mx = mx2; j++;
		}
		if (w >= h) {
			var cw = s / h, yy = y;
			for (var k = i; k < j; k++) { var rh = items[k].v * scale / cw; out.push({ x: x, y: yy, w: cw, h: rh, it: items[k] }); yy += rh; }
			x += cw; w -= cw;
		} else {
			var ch = s / w, xx = x;
			for (var k2 = i; k2 < j; k2++) { var rw = items[k2].v * scale / ch; out.push({ x: xx, y: y, w: rw, h: ch, it: items[k2] }); xx += rw; }
			y += ch; h -= ch;
		}
		i = j;
	}
}

function drawTreemap() {
	var f = fitCanvas(tmap), ctx = f.ctx, W = f.w, H = f.h;
	ctx.clearRect(0, 0, W, H);
	LEAVES = []; GROUPS = [];
	var tops = [];
	squarify(TREE, 0, 0, W, H, tops);
	var line = cssVar("--panel") || "#fff";
	ctx.font = "12px system-ui, sans-serif";
	ctx.textBaseline = "top";
	tops.forEach(function (t) {
		var u = t.it, head = t.h > 40 && t.w > 60 ? 16 : 0, groups = [];
		squarify(u.kids, t.x + 1, t.y + 1 + head, t.w - 2, t.h - 2 - head, groups);
		groups.forEach(function (g) {
			var leaves = [];
			GROUPS.push({ x: g.x, y: g.y, w: g.w, h: g.h, name: g.it.name, usage: u.name, v: g.it.v });
			squarify(g.it.kids, g.x, g.y, g.w, g.h, leaves);
			leaves.forEach(function (l) {
				ctx.fillStyle = COLOR[u.name] || "#999";
				ctx.fillRect(l.x, l.y, l.w, l.h);
				if (l.w > 3 && l.h > 3) { ctx.strokeStyle = "rgba(0,0,0,0.18)"; ctx.lineWidth = 0.5; ctx.strokeRect(l.x + 0.25, l.y + 0.25, l.w - 0.5, l.h - 0.5); }
				LEAVES.push({ x: l.x, y: l.y, w: l.w, h: l.h, ai: l.it.ai, group: g.it.name, usage: u.name });
			});
			ctx.strokeStyle = line; ctx.lineWidth = 1.5;
			ctx.strokeRect(g.x, g.y, g.w, g.h);
			if (g.w > 50 && g.h > 18) {
				ctx.fillStyle = "rgba(0,0,0,0.78)";
				ctx.save(); ctx.beginPath(); ctx.rect(g.x, g.y, g.w, g.h); ctx.clip();
				ctx.fillText(g.it.name, g.x + 4, g.y + 3);
				ctx.restore();
			}
		});
		ctx.strokeStyle = line; ctx.lineWidth = 3;
		ctx.strokeRect(t.x, t.y, t.w, t.h);
		if (head) {
			ctx.fillStyle = cssVar("--fg") || "#000";
			ctx.save(); ctx.beginPath(); ctx.rect(t.x, t.y, t.w, head); ctx.clip();
			ctx.font = "600 12px system-ui, sans-serif";
			ctx.fillText(u.name + "  " + fmtSize(u.v), t.x + 4, t.y + 2);
			ctx.restore();
			ctx.font = "12px system-ui, sans-serif";
		}
	});
	if (selected >= 0) {
		var ai = R[selected].a;
		LEAVES.forEach(function (l) {
			if (l.ai !== ai) return;
			ctx.strokeStyle = cssVar("--fg") || "#000"; ctx.lineWidth = 2.5;
			ctx.strokeRect(l.x + 1, l.y + 1, Math.max(l.w - 2, 2), Math.max(l.h - 2, 2));
		});
	}
}
function leafAt(ev) {
	var r = tmap.getBoundingClientRect(), x = ev.clientX - r.left, y = ev.clientY - r.top;
	for (var i = LEAVES.length - 1; i >= 0; i--) {
		var l = LEAVES[i];
		if (x >= l.x && x < l.x + l.w && y >= l.y && y < l.y + l.h) return l;
	}
	return null;
}
tmap.addEventListener("mousemove", function (ev) {
	var l = leafAt(ev);
	if (!l) { hideTip(); return; }
	var al = ALLOC[l.ai];
	showTip(ev, l.usage + " \u00b7 " + l.group + "\n" + addr(al.base) + "  " + fmtSize(al.size) + (AREA !== "size" ? " (" + fmtSize(allocArea(al)) + " " + AREA + ")" : "") + "  " +
		(al.regions || []).length + " region" + ((al.regions || []).length === 1 ? "" : "s") + (al.details ? "\n" + al.details : ""));
});
tmap.addEventListener("mouseleave", hideTip);
pic.querySelectorAll('input[name="area"]').forEach(function (r) {
	r.addEventListener("change", function () { AREA = r.value; TREE = buildTree(); drawTreemap(); });
});
tmap.addEventListener("click", function (ev) {
	var l = leafAt(ev);
	if (l && (ALLOC[l.ai].regions || []).length) selectRegion(ALLOC_FIRST[l.ai], true);
});

/* ---- the selected region ---- */

var sel = section("selected", "Selected region");
var detail = el("div", "", '<p class="note">Click a region in the picture or in the tree below.</p>');
detail.id = "detail";
sel.appendChild(detail);

function contentsTable(r) {
	var cs = r.contents || [];
	if (!cs.length) return '<p class="note">no contents found in this region</p>';
	return '<table><thead><tr><th>Address</th><th class="num">Size</th><th>Kind</th><th>Name</th><th>Module</th><th>Detail</th></tr></thead><tbody>' +
		cs.map(function (c) {
			return '<tr><td class="addr">' + esc(addr(c.addr)) + '</td><td class="num">' + esc(fmtSize(c.size)) + "</td><td>" + esc(c.kind) +
				"</td><td>" + esc(c.name) + (c.tid ? " (thread " + esc(c.tid) + ")" : "") + "</td><td>" + esc(c.module) + '</td><td class="path">' + esc(c.detail) + "</td></tr>";
		}).join("") + "</tbody></table>";
}

function showDetail(i) {
	var x = R[i], r = x.r, al = ALLOC[x.a];
	var rows = [
		["range", hex(x.base) + " \u2013 " + hex(x.end)], ["size", fmtSize(r.size) + " (" + num(r.size) + " bytes)"],
		["usage", r.usage], ["state", r.state], ["protection", r.prot], ["type", r.type],
		["path", r.path ? r.path + (r.deleted ? " (deleted)" : "") : null], ["offset", r.path ? r.offset : null],
		["device, inode", r.inode ? r.dev + " " + r.inode : null],
		["allocation", addr(al.base) + " (" + fmtSize(al.size) + ", " + (al.regions || []).length + ((al.regions || []).length === 1 ? " region)" : " regions)") + (al.details ? ": " + al.details : "")],
		["alloc base / protect", r.alloc_base ? addr(r.alloc_base) + " " + r.alloc_protect : null],
		["held in the file", r.dumped !== undefined ? fmtSize(r.dumped) : null],
	];
	if (r.rss !== undefined && r.pss === null) // a Windows working set: no more is known
		rows.push(["RSS", fmtSize(r.rss)], ["private / shared", fmtSize(r.private) + " / " + fmtSize(r.shared)],
			["locked", fmtSize(r.locked)]);
	else if (r.rss !== undefined)
		rows.push(["RSS / PSS", fmtSize(r.rss) + " / " + fmtSize(r.pss)],
			["private clean / dirty", fmtSize(r.private_clean) + " / " + fmtSize(r.private_dirty)],
			["shared clean / dirty", fmtSize(r.shared_clean) + " / " + fmtSize(r.shared_dirty)],
			["swap, locked", fmtSize(r.swap) + ", " + fmtSize(r.locked)]);
	if (r.pages) rows.push(["pages", r.pages.present + " present, " + (r.pages.swapped === null ? "" : r.pages.swapped + " swapped, ") + r.pages.exclusive + " exclusive, " + r.pages.shared + " shared"]);
	if (ADDED.has(x.base)) rows.push(["change", "added since A"]);
	if (CHANGED.has(x.base)) rows.push(["change", "changed since A"]);
	detail.innerHTML = "<dl>" + rows.filter(function (p) { return p[1] !== null && p[1] !== undefined && p[1] !== ""; })
		.map(function (p) { return "<dt>" + esc(p[0]) + "</dt><dd>" + esc(p[1]) + "</dd>"; }).join("") + "</dl>" +
		"<h3>Contents</h3>" + contentsTable(r);
}

/* ---- the summary by usage (a filter too) ---- */

var sum = section("summary", "Summary by usage", "click a usage to show only its allocations");
var usageFilter = null;
(function () {
	var cols = [["size", "Size"], ["committed", "Committed"], ["rss", "RSS"], ["private", "Private"], ["shared", "Shared"], ["swap", "Swap"], ["blocks", "Blocks"], ["largest", "Largest"]];
	var h = '<table class="summary"><thead><tr><th>Usage</th>' + cols.map(function (c) { return '<th class="num">' + c[1] + "</th>"; }).join("") + "</tr></thead><tbody>";
	(M.summary || []).forEach(function (s) {
		if (!s.size && !s.blocks) return;
		h += '<tr data-usage="' + esc(s.usage) + '"><td>' + swatch(s.usage) + esc(s.usage) + "</td>" +
			cols.map(function (c) { return '<td class="num">' + esc(c[0] === "blocks" ? num(s[c[0]]) : fmtSize(s[c[0]])) + "</td>"; }).join("") + "</tr>";
	});
	if (M.total)
		h += '<tr class="total" data-usage=""><td>total</td>' + cols.map(function (c) { return '<td class="num">' + esc(c[0] === "blocks" ? num(M.total[c[0]]) : fmtSize(M.total[c[0]])) + "</td>"; }).join("") + "</tr>";
	sum.insertAdjacentHTML("beforeend", h + "</tbody></table>");
	sum.querySelector("tbody").addEventListener("click", function (ev) {
		var tr = ev.target.closest("tr");
		if (!tr) return;
		var u = tr.getAttribute("data-usage") || null;
		usageFilter = usageFilter === u ? null : u;
		sum.querySelectorAll("tr").forEach(function (t) { t.classList.toggle("on", !!usageFilter && t.getAttribute("data-usage") === usageFilter); });
		applyFilter();
	});
})();

/* ---- the allocation tree ---- */

var NREG = R.length;
var LIMIT = 500;   /* regions an allocation shows at first (fitRows) */
var ALLOC_LIMIT = 1000, allocLim = ALLOC_LIMIT;   /* allocations the tree shows at first (fitAllocs) */
var OPEN_ALL = NREG <= 3000;
var at = section("allocations", "Allocations and regions",
	ALLOC.length + " allocations, " + NREG + " regions; \u25b8 opens an allocation or a region's contents");
at.insertAdjacentHTML("beforeend", '<p><a id="open-all">open all</a> \u00b7 <a id="close-all">close all</a></p>' +
	'<div id="tree-wrap"><table id="tree"><colgroup><col style="width:11.5em"><col style="width:6.5em"><col style="width:8em"><col style="width:4.5em">' +
	'<col style="width:5em"><col style="width:6.5em"><col style="width:6.5em"><col></colgroup><thead><tr><th>Address</th><th class="num">Size</th><th>Usage / type</th><th>Prot</th><th>State</th>' +
	'<th class="num">RSS</th><th class="num">Private</th><th>Details</th></tr></thead></table></div>');
var tree = $("tree");
(function () {
	var parts = [];
	ALLOC.forEach(function (al, ai) {
		var rs = al.regions || [], rss = 0, priv = 0, has = false;
		rs.forEach(function (r) { if (r.rss !== undefined) { has = true; rss += r.rss; priv += r.private; } });
		parts.push('<tbody class="alloc' + (OPEN_ALL ? "" : " closed") + (ai >= ALLOC_LIMIT ? " over" : "") + '" data-a="' + ai + '"><tr class="alloc-row"><td><span class="tw">' + (OPEN_ALL ? "\u25be" : "\u25b8") + "</span>" +
			hex(big(al.base)) + '</td><td class="num">' + esc(fmtSize(al.size)) + "</td><td>" + swatch(al.usage) + esc(al.usage) +
			'</td><td></td><td></td><td class="num">' + (has ? esc(fmtSize(rss)) : "") + '</td><td class="num">' + (has ? esc(fmtSize(priv)) : "") +
			'</td><td class="path">' + esc(al.details) + (rs.length > 1 ? ' <span class="badge">' + rs.length + " regions</span>" : "") + "</td></tr>");
		var k = ALLOC_FIRST[ai];
		rs.forEach(function (r, j) {
			var x = R[k + j], cls = "region" + (ADDED.has(x.base) ? " added" : CHANGED.has(x.base) ? " changed" : "") + (j >= LIMIT ? " over" : "");
			/* rows not shown at first get their cells when they are (fillRows) */
			var shown = OPEN_ALL && j < LIMIT && ai < ALLOC_LIMIT;
			parts.push('<tr class="' + cls + '" data-r="' + (k + j) + '">' + (shown ? cells(k + j) : "") + "</tr>");
		});
		parts.push("</tbody>");
	});
	var html = parts.join("");
	phase("tree-html");
	tree.insertAdjacentHTML("beforeend", html);
})();
var ROWS = tree.querySelectorAll("tr.region");   /* in the order of R */
/* a region row's cells; lean (20,000 of them must parse fast): their
 * style comes from #tree's columns, end tags are implied */
function cells(i) {
	var x = R[i], r = x.r, nc = (r.contents || []).length;
	return "<td>" + (nc ? '<span class="tw">\u25b8</span>' : "") + hex(x.base) +
		"<td>" + esc(fmtSize(r.size)) + "<td>" + esc(r.type) + "<td>" + esc(r.prot) + "<td>" + esc(r.state) +
		"<td>" + (r.rss !== undefined ? esc(fmtSize(r.rss)) : "") + "<td>" +
		(r.rss !== undefined ? esc(fmtSize(r.private)) : "") + "<td>" + esc(regionDetails(r)) +
		(nc ? ' <span class="badge">' + nc + "</span>" : "") +
		(ADDED.has(x.base) ? ' <span class="badge new">added</span>' : CHANGED.has(x.base) ? ' <span class="badge chg">changed</span>' : "");
}
/* the cells of the rows of an open allocation that are shown */
var batch = false;
function fillRows(tb) {
	if (tb.classList.contains("closed") || tb.classList.contains("hidden") || tb.classList.contains("over")) return;
	var ai = +tb.getAttribute("data-a"), first = ALLOC_FIRST[ai], nr = (ALLOC[ai].regions || []).length;
	for (var i = first; i < first + nr; i++) {
		var row = ROWS[i];
		if (!row.firstChild && !row.classList.contains("hidden") && !row.classList.contains("over")) row.innerHTML = cells(i);
	}
}
var TBODY = Array.prototype.slice.call(tree.tBodies);   /* one per allocation, in order */
function tbodyOf(ai) { return TBODY[ai]; }
function rowOf(i) { return ROWS[i]; }

function setOpen(tb, open) {
	if (tb.classList.contains("closed") === open) {
		tb.classList.toggle("closed", !open);
		tb.firstChild.firstChild.firstChild.textContent = open ? "\u25be" : "\u25b8";   /* tr.alloc-row > td > span.tw */
	}
	if (open && !batch) fillRows(tb);
}
/* An allocation shows at most tb.lim of its (matching) regions, so that
 * opening one of 20,000 regions, or a search that matches them all, lays
 * out a few hundred rows; a last row offers the rest. Every row stays in
 * the page. */
function fitRows(tb, init) {
	var ai = +tb.getAttribute("data-a"), first = ALLOC_FIRST[ai], nr = (ALLOC[ai].regions || []).length;
	if (nr <= LIMIT && !tb.more) return;
	var lim = tb.lim || LIMIT, shown = 0, over = init ? nr - LIMIT : 0;
	for (var i = first; !init && i < first + nr; i++) {
		var row = ROWS[i], hide = false;
		if (!row.classList.contains("hidden")) hide = ++shown > lim;
		row.classList.toggle("over", hide);
		if (hide) over++;
	}
	if (!tb.more) {
		tb.more = el("tr", "more-row");
		tb.appendChild(tb.more);
		tb.more.addEventListener("click", function (ev) {
			var a = ev.target.closest("a");
			if (!a) return;
			tb.lim = a.classList.contains("all") ? Infinity : (tb.lim || LIMIT) + LIMIT;
			fitRows(tb);
		});
	}
	if (!init && !batch) fillRows(tb);
	tb.more.classList.toggle("hidden", !over);
	tb.more.innerHTML = '<td colspan="8">' + num(over) + " more region" + (over === 1 ? "" : "s") + " not shown: <a>show " +
		Math.min(over, LIMIT) + " more</a>" + (over > LIMIT ? ' \u00b7 <a class="all">show all (slow)</a>' : "") + "</td>";
}
for (var tbi = 0; tbi < TBODY.length; tbi++) fitRows(TBODY[tbi], true);
/* the same for the allocations: at most allocLim of those that match */
var moreAllocs = el("tbody", "more-allocs");
tree.appendChild(moreAllocs);
moreAllocs.addEventListener("click", function (ev) {
	var a = ev.target.closest("a");
	if (!a) return;
	allocLim = a.classList.contains("all") ? Infinity : allocLim + ALLOC_LIMIT;
	fitAllocs();
});
function fitAllocs(init) {
	var shown = 0, over = init ? Math.max(ALLOC.length - ALLOC_LIMIT, 0) : 0;
	for (var k = 0; !init && k < ALLOC.length; k++) {
		var tb = TBODY[k], hide = false;
		if (!tb.classList.contains("hidden")) hide = ++shown > allocLim && !(selected >= 0 && R[selected].a === k);
		tb.classList.toggle("over", hide);
		if (hide) over++;
	}
	if (!init && !batch) TBODY.forEach(fillRows);
	moreAllocs.classList.toggle("hidden", !over);
	moreAllocs.innerHTML = over ? '<tr class="more-row"><td colspan="8">' + num(over) + " more allocation" + (over === 1 ? "" : "s") +
		" not shown: <a>show " + Math.min(over, ALLOC_LIMIT) + " more</a>" + (over > ALLOC_LIMIT ? ' \u00b7 <a class="all">show all (slow)</a>' : "") + "</td></tr>" : "";
}
fitAllocs(true);
phase("tree");

function toggleContents(tr) {
	var i = +tr.getAttribute("data-r"), r = R[i].r, next = tr.nextElementSibling, tw = tr.querySelector(".tw");
	if (next && next.classList.contains("content")) {
		while (next && next.classList.contains("content")) { var n = next.nextElementSibling; next.remove(); next = n; }
		if (tw) tw.textContent = "\u25b8";
		return;
	}
	var h = (r.contents || []).map(function (c) {
		return '<tr class="content"><td>' + esc(addr(c.addr)) + '</td><td class="num">' + esc(fmtSize(c.size)) + "</td><td>" + esc(c.kind) +
			'</td><td></td><td></td><td></td><td></td><td class="path">' + esc(c.name) + (c.tid ? " (thread " + esc(c.tid) + ")" : "") +
			(c.module ? " \u00b7 " + esc(c.module) : "") + (c.detail ? " \u00b7 " + esc(c.detail) : "") + "</td></tr>";
	}).join("");
	tr.insertAdjacentHTML("afterend", h);
	if (tw) tw.textContent = "\u25be";
}
tree.addEventListener("click", function (ev) {
	var tr = ev.target.closest("tr");
	if (!tr) return;
	if (tr.classList.contains("alloc-row")) {
		var tb = tr.parentNode;
		setOpen(tb, tb.classList.contains("closed"));
		return;
	}
	if (tr.classList.contains("region")) {
		if (ev.target.classList.contains("tw")) toggleContents(tr);
		selectRegion(+tr.getAttribute("data-r"), false);
	}
});
$("open-all").addEventListener("click", function () { for (var i = 0; i < TBODY.length; i++) setOpen(TBODY[i], true); });
$("close-all").addEventListener("click", function () { for (var i = 0; i < TBODY.length; i++) setOpen(TBODY[i], false); });

function selectRegion(i, scroll) {
	var old = tree.querySelector("tr.sel");
	if (old) old.classList.remove("sel");
	selected = i;
	var tb = tbodyOf(R[i].a), tr = rowOf(i);
	if (tb) { setOpen(tb, true); tb.classList.remove("hidden"); tb.classList.remove("over"); }
	if (tr && tr.classList.contains("over")) {
		tb.lim = Math.max(tb.lim || LIMIT, i - ALLOC_FIRST[R[i].a] + 50);
		tr.classList.remove("hidden");
		fitRows(tb);
	}
	if (tr) {
		tr.classList.remove("hidden");
		tr.classList.add("sel");
		if (!tr.firstChild) tr.innerHTML = cells(i);
		if (scroll) {
			var wrap = $("tree-wrap");
			wrap.scrollTop = Math.max(0, tr.offsetTop - wrap.clientHeight / 3);
		}
	}
	/* keep the region in the strip's view */
	var k = SEG_OF_REGION[i];
	if (CUM[k + 1] < view.lo || CUM[k] > view.hi) {
		var span = view.hi - view.lo, c = (CUM[k] + CUM[k + 1]) / 2;
		view.lo = Math.min(Math.max(c - span / 2, 0), TOTALW - span); view.hi = view.lo + span;
	}
	showDetail(i);
	drawStrip();
	drawTreemap();
}
function goAddr(a) {
	var i = regionAt(big(a));
	if (i >= 0) {
		selectRegion(i, true);
		$("selected").scrollIntoView({ block: "start" });
	}
}
document.addEventListener("click", function (ev) {
	var g = ev.target.closest && ev.target.closest("a.go");
	if (g) { ev.preventDefault(); goAddr(g.getAttribute("data-addr")); }
});

/* ---- modules: the loader's list against the scan of the regions ---- */

var MODS = M.modules || [];
(function () {
	var both = 0, onlyL = 0, onlyR = 0;
	MODS.forEach(function (m) {
		var s = m.sources || [], l = s.indexOf("loader") >= 0, r = s.indexOf("regions") >= 0;
		if (l && r) both++; else if (l) onlyL++; else if (r) onlyR++;
	});
	var ms = section("modules", "Modules", MODS.length + " modules: " + both + " in both the loader list and the region scan, " +
		onlyL + " only in the loader list, " + onlyR + " only found in the regions");
	if (!MODS.length) { ms.insertAdjacentHTML("beforeend", '<p class="note">no modules</p>'); return; }
	ms.insertAdjacentHTML("beforeend", '<div class="tbl-scroll"><table id="modtable"><thead><tr><th>Name</th><th>Base</th><th class="num">Size</th><th>Found by</th><th>Format</th><th>Path</th><th>Build id</th></tr></thead><tbody>' +
		MODS.map(function (m) {
			var s = m.sources || [], l = s.indexOf("loader") >= 0, r = s.indexOf("regions") >= 0;
			var flag = l && !r ? ' <span class="badge bad">not in the regions</span>' : r && !l && s.indexOf("manual") < 0 ? ' <span class="badge bad">not in the loader list</span>' : "";
			return '<tr data-text="' + esc([m.name, m.path, addr(m.base)].join(" ").toLowerCase()) + '"><td>' + esc(m.name) + flag + '</td><td class="addr">' + addrLink(m.base) + '</td><td class="num">' + esc(fmtSize(m.size)) +
				"</td><td>" + esc(s.join(", ")) + "</td><td>" + esc((m.format || "") + (m.bits ? " " + m.bits + "-bit" : "") + (m.type ? " " + m.type : "")) +
				'</td><td class="path">' + esc(m.path) + (m.deleted ? " (deleted)" : "") + '</td><td class="mono">' + esc(m.build_id) + "</td></tr>";
		}).join("") + "</tbody></table></div>");
})();

/* ---- threads: stacks and call stacks ---- */

(function () {
	var T = D.threads && D.threads.threads ? D.threads.threads : M.threads || [];
	var ts = section("threads", "Threads", T.length + " thread" + (T.length === 1 ? "" : "s") +
		(D.threads && D.threads.thread_db && D.threads.thread_db !== "ok" ? " (start routines: " + D.threads.thread_db + ")" : ""));
	if (!T.length) { ts.insertAdjacentHTML("beforeend", '<p class="note">no threads</p>'); return; }
	ts.insertAdjacentHTML("beforeend", T.map(function (t) {
		var st = t.stack, frames = t.frames || [];
		var kv = [["pc", t.pc ? addrLink(t.pc) + (t.pc_symbol ? " " + esc(t.pc_symbol) : frames[0] ? " " + esc(frames[0].symbol) : "") : "unknown"],
			["sp", t.sp ? addrLink(t.sp) : "unknown"]];
		if (st) {
			kv.push(["stack", addrLink(st.base) + " \u2013 " + esc(addr(big(st.base) + BigInt(st.size))) + " (" + esc(fmtSize(st.size)) + ")"]);
			if (st.used !== undefined) kv.push(["in use", esc(fmtSize(st.used)) + (st.high_water !== undefined ? ", high-water " + esc(fmtSize(st.high_water)) : "")]);
			if (st.guard) kv.push(["guard", addrLink(st.guard) + " (" + esc(fmtSize(st.guard_size)) + ")"]);
		}
		if (t.tls) kv.push(["thread pointer", addrLink(t.tls)]);
		if (t.start) kv.push(["start", addrLink(t.start) + " " + esc(t.start_symbol) + (t.start_source ? ' <span class="note">(' + esc(t.start_source) + ")</span>" : "")]);
		var h = '<details class="thread" data-text="' + esc([t.tid, t.name, t.pc_symbol].concat(frames.map(function (f) { return f.symbol; })).join(" ").toLowerCase()) + '"' +
			(T.length <= 8 ? " open" : "") + "><summary><b>" + esc(t.tid) + "</b> " + esc(t.name) + (t.main ? ' <span class="badge">main</span>' : "") +
			' <span class="note">' + esc(t.state) + (st && st.used !== undefined ? " \u00b7 stack " + fmtSize(st.used) + " of " + fmtSize(st.size) + " in use" : "") +
			(frames.length ? " \u00b7 " + frames.length + " frames" : "") + "</span></summary>";
		h += '<div class="kv">' + kv.map(function (p) { return "<div>" + esc(p[0]) + "</div><div>" + p[1] + "</div>"; }).join("") + "</div>";
		if (frames.length)
			h += '<table class="frames"><thead><tr><th class="num">#</th><th>PC</th><th>Function</th><th>Source</th><th>How</th></tr></thead><tbody>' +
				frames.map(function (f, k) {
					return '<tr><td class="num">' + k + '</td><td class="addr">' + esc(addr(f.pc)) + "</td><td>" + esc(f.symbol) + (f.signal ? ' <span class="badge">signal</span>' : "") +
						'</td><td class="path">' + esc(f.file ? f.file + ":" + f.line : "") + "</td><td>" + esc(f.method) + "</td></tr>";
				}).join("") + "</tbody></table>";
		if (t.unwind_note) h += '<p class="note">' + esc(t.unwind_note) + "</p>";
		if (t.registers) h += "<details><summary>registers</summary><div class=\"kv mono\">" + Object.keys(t.registers).map(function (k) {
			return "<div>" + esc(k) + "</div><div>" + esc(t.registers[k]) + "</div>";
		}).join("") + "</div></details>";
		return h + "</details>";
	}).join(""));
})();

/* ---- the heap ---- */

/* the NT heaps of a Windows target: heaps, then segments and large blocks */
function ntHeap(H) {
	var h = '<table><thead><tr><th class="num">Heap</th><th>Address</th><th>Found by</th><th class="num">Segments</th><th class="num">Large blocks</th>' +
		'<th class="num">Committed</th><th class="num">In use</th><th class="num">Blocks</th><th class="num">Free</th><th class="num">Free blocks</th><th class="num">Largest free</th><th>Front end</th></tr></thead><tbody>' +
		(H.heaps || []).map(function (x) {
			/* the LFH's user blocks are busy back-end blocks: what their headers count */
			var fe = x.front_end || "?";
			if (x.lfh_user_blocks)
				fe += ": " + num(x.lfh_blocks) + " blocks, " + num(x.lfh_busy) + " busy, in " + num(x.lfh_user_blocks) + " user blocks";
			return '<tr><td class="num">' + esc(x.id) + (x.process ? ' <span class="badge">process</span>' : "") + '</td><td class="addr">' + addrLink(x.addr) + "</td><td>" + esc(x.source) +
				'</td><td class="num">' + esc(num(x.segments)) + '</td><td class="num">' + esc(num(x.large_blocks)) + '</td><td class="num">' + esc(fmtSize(x.committed)) +
				'</td><td class="num">' + esc(fmtSize(x.in_use)) + '</td><td class="num">' + esc(num(x.in_use_blocks)) + '</td><td class="num">' + esc(fmtSize(x.free)) +
				'</td><td class="num">' + esc(num(x.free_blocks)) + '</td><td class="num">' + esc(fmtSize(x.largest_free)) + "</td><td>" + esc(fe) + "</td></tr>";
		}).join("") + "</tbody></table>";
	if ((H.segments || []).length)
		h += '<h3>Segments</h3><div class="tbl-scroll"><table><thead><tr><th>Kind</th><th>Base</th><th class="num">Size</th><th class="num">Committed</th><th class="num">Heap</th><th class="num">In use</th><th class="num">Blocks</th><th class="num">Free</th><th class="num">Free blocks</th></tr></thead><tbody>' +
			H.segments.map(function (g) {
				return "<tr><td>" + esc(g.kind) + (g.cut_short ? ' <span class="badge bad">cut short</span>' : "") + '</td><td class="addr">' + addrLink(g.base) + '</td><td class="num">' +
					esc(fmtSize(g.size)) + '</td><td class="num">' + esc(fmtSize(g.committed)) + '</td><td class="num">' + esc(g.heap) + '</td><td class="num">' + esc(fmtSize(g.in_use)) +
					'</td><td class="num">' + esc(num(g.in_use_blocks)) + '</td><td class="num">' + esc(fmtSize(g.free)) + '</td><td class="num">' + esc(num(g.free_blocks)) + "</td></tr>";
			}).join("") + "</tbody></table></div>";
	if ((H.problems || []).length)
		h += "<h3>Problems</h3>" + H.problems.map(function (p) { return '<div class="warn">' + esc(addr(p.addr)) + " " + esc(p.what) + "</div>"; }).join("");
	return h;
}

(function () {
	var H = D.heap || {}, hs = section("heap", "Heap", H.allocator ? H.allocator + (H.version || H.layout ? " " + (H.version || H.layout) : "") : "");
	if (H.allocator === "nt") { hs.insertAdjacentHTML("beforeend", ntHeap(H)); return; }
	if (!H.arenas) { hs.insertAdjacentHTML("beforeend", '<p class="note">' + esc(H.note || "no heap report") + "</p>"); return; }
	var h = '<table><thead><tr><th class="num">Arena</th><th>Address</th><th class="num">System memory</th><th class="num">In use</th><th class="num">Chunks</th>' +
		'<th class="num">Free</th><th class="num">Free chunks</th><th class="num">Largest free</th><th class="num">Fragmentation</th><th class="num">Top</th></tr></thead><tbody>' +
		H.arenas.map(function (a) {
			return '<tr><td class="num">' + esc(a.id) + (a.main ? ' <span class="badge">main</span>' : "") + '</td><td class="addr">' + addrLink(a.addr) + '</td><td class="num">' +
				esc(fmtSize(a.system_mem)) + '</td><td class="num">' + esc(fmtSize(a.in_use)) + '</td><td class="num">' + esc(num(a.in_use_chunks)) + '</td><td class="num">' +
				esc(fmtSize(a.free)) + '</td><td class="num">' + esc(num(a.free_chunks)) + '</td><td class="num">' + esc(fmtSize(a.largest_free)) + '</td><td class="num">' +
				esc(((a.fragmentation || 0) * 100).toFixed(1)) + ' %</td><td class="num">' + esc(fmtSize(a.top_size)) + "</td></tr>";
		}).join("") + "</tbody></table>";
	if ((H.heaps || []).length)
		h += '<h3>Heaps</h3><div class="tbl-scroll"><table><thead><tr><th>Kind</th><th>Base</th><th class="num">Size</th><th class="num">Arena</th><th class="num">In use</th><th class="num">Chunks</th><th class="num">Free</th><th class="num">Free chunks</th></tr></thead><tbody>' +
			H.heaps.map(function (g) {
				return "<tr><td>" + esc(g.kind) + (g.cut_short ? ' <span class="badge bad">cut short</span>' : "") + '</td><td class="addr">' + addrLink(g.base) + '</td><td class="num">' +
					esc(fmtSize(g.size)) + '</td><td class="num">' + (g.id >= 0 ? esc(g.id) : "\u2014") + '</td><td class="num">' + esc(fmtSize(g.in_use)) + '</td><td class="num">' + esc(num(g.in_use_chunks)) +
					'</td><td class="num">' + esc(fmtSize(g.free)) + '</td><td class="num">' + esc(num(g.free_chunks)) + "</td></tr>";
			}).join("") + "</tbody></table></div>";
	if (H.mmapped) h += '<p class="note">large mmapped chunks: ' + esc(num(H.mmapped.count)) + " (" + esc(fmtSize(H.mmapped.bytes)) + ")</p>";
	if ((H.problems || []).length)
		h += "<h3>Problems</h3>" + H.problems.map(function (p) { return '<div class="warn">' + esc(addr(p.addr)) + " " + esc(p.what) + "</div>"; }).join("");
	hs.insertAdjacentHTML("beforeend", h);
})();

/* ---- the process environment (any shape: Linux or the PEB) ---- */

function isAddr(k, v) { return typeof v === "string" && /^0x[0-9a-f]+$/i.test(v); }
function render(v, depth) {
	if (v === null || v === undefined) return '<span class="note">\u2014</span>';
	if (Array.isArray(v)) {
		if (!v.length) return '<span class="note">none</span>';
		if (v.every(function (x) { return x && typeof x === "object" && !Array.isArray(x); })) {
			var keys = [];
			v.forEach(function (x) { Object.keys(x).forEach(function (k) { if (keys.indexOf(k) < 0) keys.push(k); }); });
			return '<div class="tbl-scroll"><table><thead><tr>' + keys.map(function (k) { return "<th>" + esc(k) + "</th>"; }).join("") + "</tr></thead><tbody>" +
				v.map(function (x) {
					return "<tr>" + keys.map(function (k) { return '<td class="' + (isAddr(k, x[k]) ? "addr" : "path") + '">' + (typeof x[k] === "object" && x[k] !== null ? render(x[k], depth + 1) : esc(x[k])) + "</td>"; }).join("") + "</tr>";
				}).join("") + "</tbody></table></div>";
		}
		return "<ul>" + v.map(function (x) { return "<li>" + render(x, depth + 1) + "</li>"; }).join("") + "</ul>";
	}
	if (typeof v === "object")
		return '<div class="kv">' + Object.keys(v).map(function (k) { return "<div>" + esc(k) + "</div><div>" + render(v[k], depth + 1) + "</div>"; }).join("") + "</div>";
	return esc(v);
}
(function () {
	var E = D.env, es = section("env", "Process environment");
	if (!E) { es.insertAdjacentHTML("beforeend", '<p class="note">' + (D.source === "target" ? "not read" : "not kept in a snapshot") + "</p>"); return; }
	var OPEN = { argv: 1, exe: 1, cwd: 1, environ: 0, peb: 1, params: 1 };
	es.insertAdjacentHTML("beforeend", Object.keys(E).map(function (k) {
		var v = E[k];
		if (v === null || typeof v !== "object") return '<div class="kv"><div>' + esc(k) + "</div><div>" + esc(v) + "</div></div>";
		var n = Array.isArray(v) ? " (" + v.length + ")" : "";
		return "<details" + (OPEN[k] ? " open" : "") + "><summary>" + esc(k) + n + "</summary>" + render(v, 0) + "</details>";
	}).join(""));
})();

/* ---- search: address, path or text ---- */

var search = $("search"), count = $("search-count"), timer = 0, lastQ = "";
function applyFilter() {
	var q = search.value.trim().toLowerCase(), n = 0;
	var m = /^(0x)?([0-9a-f]{1,16})$/.exec(q), at = -1;
	if (m && (m[1] || m[2].length >= 5)) at = regionAt(BigInt("0x" + m[2]));
	var active = q !== "" || usageFilter !== null;
	var hitAlloc = new Uint8Array(ALLOC.length);
	batch = true;
	for (var i = 0; i < NREG; i++) {
		var x = R[i], ok = true;
		if (usageFilter !== null && ALLOC[x.a].usage !== usageFilter) ok = false;
		else if (q) ok = i === at || x.text.indexOf(q) >= 0;
		if (ok) { n++; hitAlloc[x.a] = 1; }
		var row = ROWS[i];
		row.classList.toggle("hidden", active && !ok);
		row.classList.toggle("hit", !!q && ok);
	}
	for (var k = 0; k < TBODY.length; k++) {
		var tb = TBODY[k], ai = +tb.getAttribute("data-a");
		tb.classList.toggle("hidden", active && !hitAlloc[ai]);
		if (q && hitAlloc[ai]) setOpen(tb, true);
		fitRows(tb);
	}
	fitAllocs();
	batch = false;
	TBODY.forEach(fillRows);
	document.querySelectorAll("#modtable tbody tr, details.thread").forEach(function (e) {
		e.classList.toggle("hidden", !!q && (e.getAttribute("data-text") || "").indexOf(q) < 0 && !(at >= 0 && e.tagName === "TR" && regionAt(big(e.querySelector("a.go").getAttribute("data-addr"))) === at));
	});
	count.textContent = active ? n + " of " + NREG + " regions" : NREG + " regions";
	count.setAttribute("data-shown", n);
	if (at >= 0 && q !== lastQ) selectRegion(at, true);
	lastQ = q;
}
search.addEventListener("input", function () {
	clearTimeout(timer);
	timer = setTimeout(applyFilter, NREG > 5000 ? 200 : 60);
});
search.addEventListener("keydown", function (ev) {
	if (ev.key === "Enter") { clearTimeout(timer); applyFilter(); }
	if (ev.key === "Escape") { search.value = ""; clearTimeout(timer); applyFilter(); }
});
count.textContent = NREG + " regions";
/* '/' goes to the search box, as in the terminal UI */
document.addEventListener("keydown", function (ev) {
	var t = ev.target.tagName;
	if (ev.key === "/" && t !== "INPUT" && t !== "TEXTAREA" && !ev.ctrlKey && !ev.metaKey && !ev.altKey) {
		ev.preventDefault();
		search.focus();
		search.select();
	}
});

/* ---- draw, and say when it is done (tests and the bench read this) ---- */

var redraw = 0;
window.addEventListener("resize", function () {
	cancelAnimationFrame(redraw);
	redraw = requestAnimationFrame(function () { drawStrip(); drawTreemap(); });
});
phase("sections");
drawStrip();
phase("strip");
drawTreemap();
phase("drawn");
void document.body.offsetHeight;
phase("layout");
document.body.setAttribute("data-phases", JSON.stringify(PHASES));
document.body.setAttribute("data-regions", NREG);
document.body.setAttribute("data-render-ms", Math.round(performance.now()));
document.body.setAttribute("data-ready", "1");
})();
