// pgdr dashboard: fetches the JSON API and draws every chart as inline SVG. No libraries, no
// network access beyond this origin. Each chart's <svg> carries data-chart and data-marks
// (how many data marks it drew) so that tests can check that it was drawn.
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const C = { ok: "#2e9d5b", warn: "#d9a400", bad: "#d64545", grid: "#e3e7ee", ink: "#1d2430",
              muted: "#6b7585", accent: "#3b6fd8", soft: "#c9d6f2" };

  function el(tag, attrs, parent) {
    const e = document.createElementNS(NS, tag);
    for (const k in attrs) e.setAttribute(k, attrs[k]);
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, attrs) {
    const t = el("text", Object.assign({ x: x, y: y, "font-size": 11, fill: C.muted }, attrs || {}), parent);
    t.textContent = s;
    return t;
  }
  function svg(boxId, name, w, h) {
    const box = document.getElementById(boxId);
    box.textContent = "";
    const s = el("svg", { viewBox: "0 0 " + w + " " + h, class: "chart", "data-chart": name,
                          role: "img", "aria-label": name }, box);
    s.dataset.marks = "0";
    return s;
  }
  function mark(s, n) { s.dataset.marks = String(Number(s.dataset.marks) + (n || 1)); }
  function human(n) {
    const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0;
    while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : n.toFixed(0)) + " " + u[i];
  }
  function dur(s) {
    if (s == null) return "–";
    if (s >= 172800) return (s / 86400).toFixed(1) + " d";
    if (s >= 7200) return (s / 3600).toFixed(1) + " h";
    if (s >= 120) return (s / 60).toFixed(0) + " min";
    return s.toFixed(0) + " s";
  }
  const t = (iso) => new Date(iso).getTime();
  function short(ms) { return new Date(ms).toISOString().slice(5, 16).replace("T", " "); }

  function drawAge(st, hist) {
    const s = svg("c-age", "backup-age", 320, 170);
    const latest = st.backups.latest;
    const limit = hist.limits.backup_max_age_s;
    const cx = 160, cy = 130, r = 100;
    const arc = (f, color, width) => {
      const a0 = Math.PI, a1 = Math.PI * (1 - Math.min(1, f));
      const x0 = cx + r * Math.cos(a0), y0 = cy - r * Math.sin(a0);
      const x1 = cx + r * Math.cos(a1), y1 = cy - r * Math.sin(a1);
      return el("path", { d: `M ${x0} ${y0} A ${r} ${r} 0 0 1 ${x1} ${y1}`, fill: "none",
                          stroke: color, "stroke-width": width, "stroke-linecap": "round" }, s);
    };
    arc(1, C.grid, 18);
    if (!latest) {
      text(s, cx, cy - 20, "no backup", { "text-anchor": "middle", "font-size": 22, fill: C.bad });
      return;
    }
    const f = latest.age_s / limit;
    const color = f > 1 ? C.bad : f > 0.75 ? C.warn : C.ok;
    arc(Math.max(f, 0.01), color, 18).setAttribute("class", "mark");
    mark(s);
    text(s, cx, cy - 22, dur(latest.age_s), { "text-anchor": "middle", "font-size": 30, fill: C.ink,
                                              "font-weight": 600 });
    text(s, cx, cy + 2, latest.type + " · " + latest.id, { "text-anchor": "middle" });
    text(s, cx - r, cy + 22, "0", { "text-anchor": "middle" });
    text(s, cx + r, cy + 22, "limit " + dur(limit), { "text-anchor": "middle" });
  }

  function drawSuccess(hist) {
    const s = svg("c-success", "backup-success", 320, 170);
    const days = hist.backup_success.days, n = days.length;
    const max = Math.max(1, ...days.map((d) => d.success + d.failed));
    const x0 = 28, w = 320 - x0 - 6, h = 110, y0 = 130, bw = w / n;
    for (let i = 0; i <= 2; i++) {
      const y = y0 - (h * i) / 2;
      el("line", { x1: x0, x2: 320 - 6, y1: y, y2: y, stroke: C.grid }, s);
      text(s, x0 - 4, y + 4, String(Math.round((max * i) / 2)), { "text-anchor": "end" });
    }
    days.forEach((d, i) => {
      const hs = (h * d.success) / max, hf = (h * d.failed) / max;
      if (d.success) { el("rect", { class: "mark", x: x0 + i * bw + 1, y: y0 - hs, width: bw - 2, height: hs, fill: C.ok }, s); mark(s); }
      if (d.failed) { el("rect", { class: "mark", x: x0 + i * bw + 1, y: y0 - hs - hf, width: bw - 2, height: hf, fill: C.bad }, s); mark(s); }
    });
    text(s, x0, 150, days[0].day.slice(5));
    text(s, 320 - 6, 150, days[n - 1].day.slice(5), { "text-anchor": "end" });
    const rate = hist.backup_success.rate;
    text(s, 320 - 6, 14, rate == null ? "no scheduled runs yet" : (rate * 100).toFixed(1) + " % of " +
         hist.backup_success.runs + " runs succeeded", { "text-anchor": "end", fill: C.ink, "font-size": 12 });
  }

  function drawWindow(hist) {
    const s = svg("c-window", "pitr-window", 680, 90);
    const w = hist.window;
    if (!w.start) { text(s, 340, 45, "nothing restorable yet", { "text-anchor": "middle", fill: C.bad, "font-size": 16 }); return; }
    const a = t(w.start), b = t(w.end), now = t(hist.time);
    const lo = Math.min(a, ...w.backups.map(t)), hi = Math.max(b, now);
    const span = Math.max(1, hi - lo), X = (v) => 20 + ((v - lo) / span) * 640;
    el("line", { x1: 20, x2: 660, y1: 40, y2: 40, stroke: C.grid, "stroke-width": 2 }, s);
    el("rect", { class: "mark", x: X(a), y: 28, width: Math.max(2, X(b) - X(a)), height: 24, rx: 4, fill: C.soft, stroke: C.accent }, s);
    mark(s);
    w.backups.forEach((bt) => { el("line", { class: "mark", x1: X(t(bt)), x2: X(t(bt)), y1: 22, y2: 58, stroke: C.accent, "stroke-width": 2 }, s); mark(s); });
    el("line", { x1: X(now), x2: X(now), y1: 18, y2: 62, stroke: C.ink, "stroke-dasharray": "3 2" }, s);
    text(s, X(a), 76, short(a), { "text-anchor": "start" });
    text(s, X(b), 76, short(b), { "text-anchor": "end" });
    text(s, 340, 14, "restorable to any second: " + dur((b - a) / 1000) + " · " + w.backups.length + " backups",
         { "text-anchor": "middle", fill: C.ink, "font-size": 12 });
  }

  function lineChart(s, pts, opts) {
    // pts: [{x: ms, y: value, color?}]
    const x0 = 64, x1 = 312, y0 = 130, y1 = 20;
    if (!pts.length) { text(s, 160, 80, opts.empty, { "text-anchor": "middle", "font-size": 14 }); return; }
    const xs = pts.map((p) => p.x), ys = pts.map((p) => p.y);
    const xmin = Math.min(...xs), xmax = Math.max(...xs) + (xs.length === 1 ? 1 : 0);
    const ymax = Math.max(...ys) * 1.1 || 1;
    const X = (v) => x0 + ((v - xmin) / Math.max(1, xmax - xmin)) * (x1 - x0);
    const Y = (v) => y0 - (v / ymax) * (y0 - y1);
    for (let i = 0; i <= 2; i++) {
      const v = (ymax * i) / 2;
      el("line", { x1: x0, x2: x1, y1: Y(v), y2: Y(v), stroke: C.grid }, s);
      text(s, x0 - 4, Y(v) + 4, opts.fmt(v), { "text-anchor": "end" });
    }
    const d = pts.map((p, i) => (i ? "L" : "M") + X(p.x).toFixed(1) + " " + Y(p.y).toFixed(1)).join(" ");
    if (opts.area) {
      el("path", { d: d + ` L ${X(xmax).toFixed(1)} ${y0} L ${X(xmin).toFixed(1)} ${y0} Z`, fill: C.soft, opacity: 0.7 }, s);
    }
    el("path", { class: "mark", d: d, fill: "none", stroke: C.accent, "stroke-width": 2 }, s);
    mark(s);
    pts.forEach((p) => { el("circle", { class: "mark", cx: X(p.x), cy: Y(p.y), r: 3.5, fill: p.color || C.accent }, s); mark(s); });
    text(s, x0, 150, short(xmin));
    text(s, x1, 150, short(xmax), { "text-anchor": "end" });
  }

  function drawStorage(hist) {
    const s = svg("c-storage", "storage-trend", 320, 200);
    const pts = hist.storage.trend.map((p) => ({ x: t(p.time), y: p.bytes }));
    lineChart(s, pts, { fmt: human, area: true, empty: "no backups yet" });
    const kinds = Object.entries(hist.storage.by_kind).sort((a, b) => b[1] - a[1]);
    const total = kinds.reduce((acc, k) => acc + k[1], 0) || 1;
    const palette = [C.accent, "#7aa2ea", "#9bb7ef", "#b9cdf4", "#d3e0f8", "#e6edfb", "#eef3fc", "#f5f8fd"];
    let x = 20;
    kinds.forEach(([k, v], i) => {
      const w = (v / total) * 280;
      el("rect", { class: "mark", x: x, y: 166, width: Math.max(1, w), height: 12, fill: palette[i % palette.length] }, s);
      mark(s);
      if (w > 50) text(s, x + 3, 194, k + " " + human(v));
      x += w;
    });
    text(s, 312, 14, "repository " + human(total), { "text-anchor": "end", fill: C.ink, "font-size": 12 });
  }

  function drawDrills(hist) {
    const s = svg("c-drills", "drill-rto", 320, 170);
    const pts = hist.drills.filter((d) => d.rto_s != null || d.seconds != null)
      .map((d) => ({ x: t(d.time), y: d.rto_s != null ? d.rto_s : d.seconds, color: d.passed ? C.ok : C.bad }));
    lineChart(s, pts, { fmt: (v) => dur(v), empty: "no drills yet" });
    if (hist.drills.length) {
      const last = hist.drills[hist.drills.length - 1];
      text(s, 312, 14, "last: " + (last.passed ? "PASSED" : "FAILED") + ", RTO " + dur(last.rto_s),
           { "text-anchor": "end", fill: last.passed ? C.ok : C.bad, "font-size": 12 });
    }
  }

  function drawExports(hist) {
    const s = svg("c-exports", "exports", 320, 80);
    const ok = hist.exports.available;
    el("circle", { class: "mark", cx: 20, cy: 40, r: 9, fill: ok ? C.ok : C.muted }, s);
    mark(s);
    const label = text(s, 38, 44, ok ? "monthly exports scheduled" : "not available in this version",
                       { fill: C.ink, "font-size": 13 });
    el("title", {}, label).textContent = hist.exports.detail || "";
  }

  function drawAlerts(st) {
    const rows = st.alerts;
    const s = svg("c-alerts", "alerts", 320, 22 * rows.length + 10);
    rows.forEach((a, i) => {
      const y = 18 + i * 22;
      const color = a.state === "firing" ? (a.severity === "critical" ? C.bad : C.warn) : a.state === "pending" ? C.warn : C.ok;
      el("circle", { class: "mark", cx: 10, cy: y - 4, r: 6, fill: color }, s);
      mark(s);
      const label = text(s, 24, y, a.name.replace(/_/g, " ") + (a.state === "firing" ? " — " + a.summary.slice(0, 40) : ""),
                         { fill: a.state === "firing" ? color : C.ink, "font-size": 12 });
      const title = el("title", {}, label);
      title.textContent = a.summary;
    });
  }

  function drawJobs(st) {
    const rows = st.jobs;
    const s = svg("c-jobs", "jobs", 680, 22 * rows.length + 10);
    rows.forEach((j, i) => {
      const y = 18 + i * 22;
      const last = j.last || {};
      const color = j.unavailable ? C.muted : j.last_error ? C.warn : last.status === "failed" ? C.bad : last.status ? C.ok : C.grid;
      el("rect", { class: "mark", x: 2, y: y - 11, width: 12, height: 12, rx: 3, fill: color }, s);
      mark(s);
      text(s, 22, y, j.kind, { fill: C.ink, "font-size": 12, "font-weight": 600 });
      text(s, 130, y, j.schedule);
      const what = j.unavailable ? j.unavailable
        : j.running ? "running now"
        : j.last_error ? "retrying: " + j.last_error
        : last.status ? last.status + " " + (last.finished || "").slice(0, 19).replace("T", " ") + " (" + dur(last.seconds) + ")"
        : "not run yet";
      text(s, 250, y, what.slice(0, 70));
      if (j.next && !j.unavailable) text(s, 676, y, "next " + j.next.slice(0, 19).replace("T", " "), { "text-anchor": "end" });
    });
  }

  async function getJSON(path) {
    const r = await fetch(location.origin + path, { credentials: "same-origin", cache: "no-store" });
    if (!r.ok) throw new Error(path + ": HTTP " + r.status);
    return r.json();
  }

  async function refresh() {
    try {
      const [st, hist] = await Promise.all([getJSON("/api/status"), getJSON("/api/history")]);
      drawAge(st, hist); drawSuccess(hist); drawWindow(hist); drawStorage(hist);
      drawDrills(hist); drawExports(hist); drawAlerts(st); drawJobs(st);
      const worst = st.alerts.filter((a) => a.state === "firing").map((a) => a.severity);
      const o = document.getElementById("overall");
      o.className = "pill " + (worst.includes("critical") ? "critical" : worst.length ? "warning" : "ok");
      o.textContent = worst.length ? worst.length + " alert(s) firing" : "protected";
      document.getElementById("updated").textContent = "facts of " + st.time.slice(0, 19).replace("T", " ") + " UTC";
      document.body.dataset.ready = "1";
      delete document.body.dataset.error;
    } catch (e) {
      document.body.dataset.error = String(e);
      document.getElementById("overall").textContent = "cannot load: " + e.message;
    }
  }
  refresh();
  setInterval(refresh, 30000);
})();
