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
  // Axis ticks: 0 and steps of 1, 2 or 5 × 10^k in a unit (integers for counts, binary units
  // for bytes, s/min/h for durations), up to the first tick at or above the largest value.
  function nice(raw) {
    const p = Math.pow(10, Math.floor(Math.log10(raw)));
    return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= raw - 1e-9 * p);
  }
  function ticks(max, unit, integer) {
    const v = Math.max(max / unit, integer ? 1 : 1e-9);
    const step = Math.max(nice(v / 4), integer ? 1 : 0);
    const out = [];
    for (let k = 0; out.length === 0 || out[out.length - 1] < v - 1e-9; k++) out.push(k * step);
    const dec = step < 1 ? Math.ceil(-Math.log10(step) - 1e-9) : 0;
    return { values: out.map((x) => x * unit), top: out[out.length - 1] * unit, dec: dec };
  }
  function byteTicks(max) {
    const u = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0;
    while (max >= 1024 && i < u.length - 1) { max /= 1024; i++; }
    const tk = ticks(max * Math.pow(1024, i), Math.pow(1024, i), i === 0);
    tk.fmt = (v) => (v / Math.pow(1024, i)).toFixed(tk.dec) + " " + u[i];
    return tk;
  }
  function countTicks(max) {
    const tk = ticks(max, 1, true);
    tk.fmt = (v) => String(Math.round(v));
    return tk;
  }
  function durTicks(max) {
    const [unit, name] = max >= 7200 ? [3600, "h"] : max >= 120 ? [60, "min"] : [1, "s"];
    const tk = ticks(max, unit, false);
    tk.fmt = (v) => (v / unit).toFixed(tk.dec) + " " + name;
    return tk;
  }
  function yAxis(s, tk, X0, X1, Y) {
    s.dataset.ymax = String(tk.top);
    s.dataset.ticks = tk.values.map(tk.fmt).join("|");
    tk.values.forEach((v) => {
      el("line", { x1: X0, x2: X1, y1: Y(v), y2: Y(v), stroke: C.grid }, s);
      text(s, X0 - 4, Y(v) + 4, tk.fmt(v), { "text-anchor": "end", class: "tick" });
    });
  }
  const t = (iso) => new Date(iso).getTime();
  function short(ms) { return new Date(ms).toISOString().slice(5, 16).replace("T", " "); }

  function drawAge(st, hist) {
    const s = svg("c-age", "backup-age", 320, 176);
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
    if (!latest && st.rds) {  // RDS mode: AWS takes the backups (the RDS card has their lag)
      text(s, cx, cy - 20, "AWS takes the backups", { "text-anchor": "middle", "font-size": 18, fill: C.muted });
      text(s, cx, cy + 8, "see the RDS instance below", { "text-anchor": "middle" });
      return;
    }
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
    text(s, cx, cy + 40, latest.type + " · " + latest.id, { "text-anchor": "middle" });
    text(s, cx - r, cy + 22, "0", { "text-anchor": "middle" });
    text(s, cx + r, cy + 22, "limit " + dur(limit), { "text-anchor": "middle" });
  }

  function drawSuccess(hist) {
    // scheduled runs (job records, failed ones included) plus manual backups (the catalog)
    const s = svg("c-success", "backup-success", 320, 170);
    const bs = hist.backup_success, days = bs.days, n = days.length;
    const tk = countTicks(Math.max(1, ...days.map((d) => d.success + d.failed)));
    const x0 = 34, x1 = 314, h = 110, y0 = 130, bw = (x1 - x0) / n;
    const Y = (v) => y0 - (h * v) / tk.top;
    yAxis(s, tk, x0, x1, Y);
    s.dataset.succeeded = String(bs.succeeded); s.dataset.failed = String(bs.failed);
    s.dataset.manual = String(bs.manual);
    days.forEach((d, i) => {
      const x = x0 + i * bw + 1, w = Math.max(1, bw - 2);
      if (d.success) { el("rect", { class: "mark", x: x, y: Y(d.success), width: w, height: y0 - Y(d.success), fill: C.ok }, s); mark(s); }
      if (d.failed) { el("rect", { class: "mark", x: x, y: Y(d.success + d.failed), width: w, height: y0 - Y(d.failed), fill: C.bad }, s); mark(s); }
    });
    text(s, x0, 150, days[0].day.slice(5));
    text(s, x1, 150, days[n - 1].day.slice(5), { "text-anchor": "end" });
    const cap = bs.runs ? bs.succeeded + " of " + bs.runs + " backups succeeded (" + (bs.rate * 100).toFixed(0) +
      " %), " + bs.manual + " manual" : "no backups in 30 days";
    text(s, x1, 14, cap, { "text-anchor": "end", fill: C.ink, "font-size": 12, class: "caption" });
    text(s, x0, 166, "backups per day: ok", { "font-size": 10 });
    text(s, x1, 166, bs.failed + " failed", { "text-anchor": "end", "font-size": 10, fill: bs.failed ? C.bad : C.muted });
  }

  function drawWindow(st, hist) {
    const s = svg("c-window", "pitr-window", 680, 90);
    const w = hist.window;
    if (!w.start && st.rds) { text(s, 340, 45, "no pgdr backups: the RDS instance's window is in its card", { "text-anchor": "middle", fill: C.muted, "font-size": 14 }); return; }
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
    // pts: [{x: ms, y: value, color?}]; opts.extra: further labelled points [{x, y, color}]
    const x0 = 64, x1 = 312, y0 = 130, y1 = 30;
    if (!pts.length) { text(s, 160, 80, opts.empty, { "text-anchor": "middle", "font-size": 14 }); return; }
    const all = pts.concat(opts.extra || []);
    const xs = all.map((p) => p.x), ys = all.map((p) => p.y);
    const xmin = Math.min(...xs), xmax = Math.max(...xs) + (xs.length === 1 ? 1 : 0);
    const tk = opts.ticks(Math.max(...ys));
    const X = (v) => x0 + ((v - xmin) / Math.max(1, xmax - xmin)) * (x1 - x0);
    const Y = (v) => y0 - (v / tk.top) * (y0 - y1);
    yAxis(s, tk, x0, x1, Y);
    const d = pts.map((p, i) => (i ? "L" : "M") + X(p.x).toFixed(1) + " " + Y(p.y).toFixed(1)).join(" ");
    if (opts.area) {
      const last = pts[pts.length - 1].x;
      el("path", { d: d + ` L ${X(last).toFixed(1)} ${y0} L ${X(pts[0].x).toFixed(1)} ${y0} Z`, fill: C.soft, opacity: 0.7 }, s);
    }
    el("path", { class: "mark", d: d, fill: "none", stroke: C.accent, "stroke-width": 2 }, s);
    mark(s);
    pts.forEach((p) => { el("circle", { class: "mark", cx: X(p.x), cy: Y(p.y), r: 3.5, fill: p.color || C.accent }, s); mark(s); });
    (opts.extra || []).forEach((p) => {
      el("rect", { class: "mark", x: X(p.x) - 4, y: Y(p.y) - 4, width: 8, height: 8, fill: p.color }, s); mark(s);
    });
    text(s, x0, 150, short(xmin));
    text(s, x1, 150, short(xmax), { "text-anchor": "end" });
  }

  function drawStorage(hist) {
    // two labelled series on one byte axis: the backups' stored data over time, and what the
    // whole repository holds now (data + WAL + index + manifests), the number `pgdr status` shows
    const s = svg("c-storage", "storage-trend", 320, 214);
    const st = hist.storage;
    const pts = st.trend.map((p) => ({ x: t(p.time), y: p.bytes }));
    s.dataset.total = String(st.total_bytes); s.dataset.data = String(st.data_bytes);
    lineChart(s, pts, { ticks: byteTicks, area: true, empty: "no backups yet",
                        extra: pts.length ? [{ x: t(hist.time), y: st.total_bytes, color: C.ink }] : [] });
    el("line", { x1: 20, x2: 34, y1: 10, y2: 10, stroke: C.accent, "stroke-width": 2 }, s);
    text(s, 40, 14, "backup data " + human(st.data_bytes), { fill: C.ink, "font-size": 12, class: "caption" });
    el("rect", { x: 172, y: 6, width: 8, height: 8, fill: C.ink }, s);
    text(s, 186, 14, "repository " + human(st.total_bytes), { fill: C.ink, "font-size": 12, class: "caption" });
    const kinds = Object.entries(st.by_kind).sort((a, b) => b[1] - a[1]);
    const total = st.total_bytes || 1;
    const palette = [C.accent, "#7aa2ea", "#9bb7ef", "#b9cdf4", "#d3e0f8", "#e6edfb", "#eef3fc", "#f5f8fd"];
    let x = 20;
    text(s, 20, 172, "repository now, by kind:", { "font-size": 10 });
    kinds.forEach(([k, v], i) => {
      const w = (v / total) * 280;
      el("rect", { class: "mark", x: x, y: 178, width: Math.max(1, w), height: 12, fill: palette[i % palette.length] }, s);
      mark(s);
      if (w > 50) text(s, x + 3, 206, k + " " + human(v));
      x += w;
    });
  }

  function drawDrills(hist) {
    const s = svg("c-drills", "drill-rto", 320, 170);
    const pts = hist.drills.filter((d) => d.rto_s != null || d.seconds != null)
      .map((d) => ({ x: t(d.time), y: d.rto_s != null ? d.rto_s : d.seconds, color: d.passed ? C.ok : C.bad }));
    lineChart(s, pts, { ticks: durTicks, empty: "no drills yet" });
    if (hist.drills.length) {
      const last = hist.drills[hist.drills.length - 1];
      text(s, 312, 14, "last: " + (last.passed ? "PASSED" : "FAILED") + ", RTO " + dur(last.rto_s),
           { "text-anchor": "end", fill: last.passed ? C.ok : C.bad, "font-size": 12, class: "caption" });
    }
  }

  // Exports: the state (ok / late / failed / unconfigured / unknown) and the newest complete
  // export's numbers, read by the daemon from that export's _manifest.json (/api/status).
  function drawExports(st) {
    const e = st.exports;
    const s = svg("c-exports", "exports", 320, 112);
    const color = { ok: C.ok, late: C.warn, failed: C.bad }[e.state] || C.muted;
    s.dataset.state = e.state;
    el("circle", { class: "mark", cx: 14, cy: 16, r: 8, fill: color }, s);
    mark(s);
    const head = text(s, 30, 21, e.state.toUpperCase() + (e.latest ? ", last " + dur(e.latest.age_s) + " ago" : ""),
                      { fill: C.ink, "font-size": 13, class: "caption" });
    el("title", {}, head).textContent = e.detail || "";
    const last = e.latest;
    if (!last) {
      text(s, 10, 48, e.configured ? "no complete export yet" : "not configured: [exports] url", { fill: C.ink });
      text(s, 10, 68, e.detail.length > 52 ? e.detail.slice(0, 51) + "…" : e.detail);
      return;
    }
    s.dataset.export = last.id;
    s.dataset.rows = String(last.rows);
    s.dataset.bytes = String(last.bytes);
    s.dataset.tables = String(last.tables);
    text(s, 10, 46, "export " + last.id, { fill: C.ink, class: "export-id" });
    text(s, 10, 64, "finished " + last.finished.slice(0, 19).replace("T", " ") + " UTC (" + dur(last.seconds) + ")");
    text(s, 10, 86, last.tables + " tables · " + last.rows + " rows · " + human(last.bytes),
         { fill: C.ink, "font-size": 13, class: "export-numbers" });
    text(s, 10, 104, e.complete + " complete" + (e.incomplete ? ", " + e.incomplete + " incomplete" : ""));
  }

  // Alerts as wrapping HTML (never cut): a dot in the severity colour AND the severity in
  // words, the state, and the whole summary (the failing segment, the drill's reason...).
  // An HTML element with a class and text (never markup), appended to its parent.
  function html(parent, tag, cls, s) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (s !== undefined) e.textContent = s;
    if (parent) parent.appendChild(e);
    return e;
  }

  // A chart drawn as HTML: its card emptied, one container marked for the tests.
  function htmlChart(id, tag, cls, chart, marks) {
    const box = document.getElementById(id);
    box.textContent = "";
    const e = html(box, tag, cls);
    e.dataset.chart = chart;
    e.dataset.marks = String(marks);
    return e;
  }

  const SEV = { critical: "bad", warning: "warn" };
  function drawAlerts(st) {
    const ul = htmlChart("c-alerts", "ul", "alerts", "alerts", st.alerts.length);
    st.alerts.forEach((a) => {
      const level = a.state === "firing" ? SEV[a.severity] || "warn" : a.state === "pending" ? "pending" : "ok";
      const li = html(null, "li", "alert " + level);
      li.dataset.alert = a.name;
      const add = (cls, s) => html(li, "span", cls, s);
      add("dot", "").setAttribute("aria-hidden", "true");
      add("name", a.name.replace(/_/g, " "));
      add("sev", a.state === "firing" ? a.severity.toUpperCase() : a.state === "pending" ? "pending (" + a.severity + ")" : "ok");
      if (a.state !== "ok" && a.summary) add("summary", a.summary);
      ul.appendChild(li);
    });
  }

  // Text that does not fit its box (cut at the card edge): counted into body[data-clipped] so
  // that a test can tell the whole text is readable.
  function clipped() {
    let n = 0;
    document.querySelectorAll(".card, .card *").forEach((e) => {
      if (e.scrollWidth > e.clientWidth + 1 && getComputedStyle(e).overflowX !== "visible") n++;
    });
    if (document.documentElement.scrollWidth > document.documentElement.clientWidth) n++;
    document.querySelectorAll(".alerts li span, .jobs-table td").forEach((e) => {
      const r = e.getBoundingClientRect(), c = e.closest(".card").getBoundingClientRect();
      if (r.right > c.right + 0.5 || r.left < c.left - 0.5) n++;
    });
    return n;
  }

  // Jobs as an HTML table that wraps: a retry's or a failed run's whole error is readable.
  function drawJobs(st) {
    const table = htmlChart("c-jobs", "table", "jobs-table", "jobs", st.jobs.length);
    const cell = (tr, cls, s) => html(tr, "td", cls, s);
    st.jobs.forEach((j) => {
      const last = j.last || {};
      const level = j.unavailable ? "na" : j.last_error ? "warn" : last.status === "failed" ? "bad" : last.status ? "ok" : "none";
      const tr = html(null, "tr", "job " + level);
      tr.dataset.job = j.kind;
      cell(tr, "dot", "").setAttribute("aria-hidden", "true");
      cell(tr, "kind", j.kind);
      cell(tr, "schedule", j.schedule);
      const when = (last.finished || "").slice(0, 19).replace("T", " ");
      cell(tr, "what", j.unavailable ? j.unavailable
        : j.running ? "running now"
        : j.last_error ? "retrying: " + j.last_error
        : last.status === "failed" ? "failed " + when + ": " + (last.error || "")
        : last.status ? last.status + " " + when + " (" + dur(last.seconds) + ")"
        : "not run yet");
      cell(tr, "next", j.next && !j.unavailable ? "next " + j.next.slice(0, 19).replace("T", " ") : "");
      table.appendChild(tr);
    });
  }

  // RDS mode ([rds] configured): the instance's point-in-time state as `pgdr status` says
  // it, coloured by its two alerts; the card and its grid row exist only in RDS mode.
  function drawRds(st) {
    const r = st.rds, card = document.getElementById("rds-card");
    card.hidden = !r;
    document.querySelector("main").classList.toggle("rds-mode", Boolean(r));
    if (!r) return;
    const firing = (name) => st.alerts.some((a) => a.name === name && a.state === "firing");
    const level = !r.up || r.pitr_lag_s === null || firing("rds_rpo") ? "bad" : firing("rds_retention") ? "warn" : "ok";
    const ul = htmlChart("c-rds", "ul", "rds " + level, "rds", 1);
    ul.dataset.instance = r.instance;
    ul.dataset.level = level;
    const head = html(ul, "li", "head");
    html(head, "span", "dot", "").setAttribute("aria-hidden", "true");
    if (!r.up) {
      html(head, "span", "what", r.instance + ": unreachable");
      html(ul, "li", "error", r.error || "");
      return;
    }
    html(head, "span", "what", r.instance + ": " + (r.pitr_lag_s === null
      ? "no restorable time (automated backups off)" : "restorable to " + dur(r.pitr_lag_s) + " ago"));
    if (r.latest_restorable) {
      html(ul, "li", "latest", "latest restorable time " + r.latest_restorable.slice(0, 19).replace("T", " ") + " UTC");
    }
    html(ul, "li", "retention", "automated backups kept " + r.retention_days + " day(s); [rds.policy] asks " + r.policy_days);
  }

  async function getJSON(path) {
    const r = await fetch(location.origin + path, { credentials: "same-origin", cache: "no-store" });
    if (!r.ok) throw new Error(path + ": HTTP " + r.status);
    return r.json();
  }

  async function refresh() {
    try {
      const [st, hist] = await Promise.all([getJSON("/api/status"), getJSON("/api/history")]);
      drawAge(st, hist); drawSuccess(hist); drawWindow(st, hist); drawStorage(hist);
      drawDrills(hist); drawExports(st); drawAlerts(st); drawJobs(st); drawRds(st);
      const worst = st.alerts.filter((a) => a.state === "firing").map((a) => a.severity);
      const o = document.getElementById("overall");
      o.className = "pill " + (worst.includes("critical") ? "critical" : worst.length ? "warning" : "ok");
      o.textContent = worst.length ? worst.length + " alert(s) firing" : "protected";
      document.getElementById("updated").textContent = "facts of " + st.time.slice(0, 19).replace("T", " ") + " UTC";
      document.body.dataset.clipped = String(clipped());
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
