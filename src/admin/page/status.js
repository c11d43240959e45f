// Fetches /api/status and /api/traffic every few seconds and renders them.
// Everything that came from outside (URLs, reasons, notes, vhosts) goes into
// the page through textContent, so it is always shown as text, never markup.
"use strict";
(function () {
  const REFRESH_MS = 5000;
  const LIMIT = 200;
  const TRAFFIC_SINCE = "24h";
  const $ = (id) => document.getElementById(id);
  const charts = window.EdgeflushCharts;
  let token = null;
  let timer = null;

  // The token travels in the fragment (/#token=...), which browsers never
  // send to the server, so it cannot end up in an access log; it is then
  // kept for this tab only and removed from the address bar.
  function readToken() {
    const m = /(?:^#|&)token=([^&]*)/.exec(location.hash);
    if (m) {
      token = decodeURIComponent(m[1]);
      try { sessionStorage.setItem("edgeflush-token", token); } catch (_) { /* storage off: keep it in memory */ }
      history.replaceState(null, "", location.pathname + location.search);
      return;
    }
    try { token = sessionStorage.getItem("edgeflush-token"); } catch (_) { token = null; }
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null) e.setAttribute(k, String(v));
    }
    for (const c of children) {
      if (c === undefined || c === null) continue;
      e.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function table(head, rows, numeric) {
    const num = new Set(numeric || []);
    const tr = el("tr", {}, ...head.map((h, i) => el("th", { class: num.has(i) ? "num" : null }, h)));
    return el("table", {}, el("thead", {}, tr), el("tbody", {}, ...rows));
  }

  function replace(id, ...nodes) {
    $(id).replaceChildren(...nodes);
  }

  function empty(text) {
    return el("p", { class: "empty" }, text);
  }

  function when(ms) {
    if (ms === null || ms === undefined) return "—";
    const iso = new Date(ms).toISOString().replace("T", " ").slice(0, 19) + " UTC";
    return iso + " (" + ago(Date.now() - ms) + ")";
  }

  function ago(ms) {
    return ms < 0 ? "in " + dur(-ms) : dur(ms) + " ago";
  }

  function dur(ms) {
    if (ms < 1000) return Math.round(ms) + " ms";
    if (ms < 60000) return (ms / 1000).toFixed(1) + " s";
    if (ms < 3600000) return (ms / 60000).toFixed(1) + " min";
    return (ms / 3600000).toFixed(1) + " h";
  }

  function count(n) {
    if (n >= 1e9) return (n / 1e9).toFixed(1) + "G";
    if (n >= 1e6) return (n / 1e6).toFixed(1) + "M";
    if (n >= 1e4) return (n / 1e3).toFixed(1) + "k";
    return String(n >= 100 ? Math.round(n) : Math.round(n * 10) / 10);
  }

  async function getJson(path) {
    const headers = token ? { Authorization: "Bearer " + token } : {};
    const r = await fetch(path, { headers: headers, cache: "no-store" });
    let body = null;
    try { body = await r.json(); } catch (_) { body = null; }
    return { status: r.status, body: body };
  }

  function summary(s) {
    const q = s.queue || {};
    const problems = (s.ready && s.ready.problems) || {};
    const bad = [], warn = [];
    if (problems.api_auth) bad.push("API auth failing");
    if (q.failed) bad.push(q.failed + (q.failed === 1 ? " dead letter" : " dead letters"));
    if (q.unconfirmed) warn.push(q.unconfirmed + " unconfirmed");
    for (const k of Object.keys(problems)) if (k !== "api_auth") bad.push("not ready: " + k);
    const inFlight = (q.pending || 0) + (q.sent || 0) + (q.flushed || 0);
    const tail = inFlight ? " · " + inFlight + " in flight" : "";
    const node = $("summary");
    if (bad.length) { node.className = "summary bad"; node.textContent = bad.concat(warn).join(" · ") + tail; }
    else if (warn.length) { node.className = "summary warn"; node.textContent = warn.join(" · ") + tail; }
    else { node.className = "summary ok"; node.textContent = "OK" + tail; }
  }

  function renderQueue(q) {
    const order = ["pending", "sent", "flushed", "confirmed", "failed", "unconfirmed"];
    const names = order.filter((k) => k in q).concat(Object.keys(q).filter((k) => !order.includes(k)));
    const rows = names.map((k) => el("tr", { "data-state": k },
      el("td", { class: q[k] ? "state-" + k : "muted" }, k), el("td", { class: "num" }, q[k])));
    const t = table(["state", "purges"], rows, [1]);
    t.className = "narrow";
    replace("queue", t);
  }

  function renderReady(r) {
    const problems = Object.entries((r && r.problems) || {});
    if (!problems.length) { replace("ready", el("p", { class: "state-confirmed" }, "ready: no problems")); return; }
    replace("ready", table(["component", "problem"],
      problems.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", { class: "reason" }, v)))));
  }

  function renderSites(recent, activity) {
    const sites = new Map();
    // The store's per-site figures are authoritative; recent purges add the
    // origin of the last change and what is still in flight.
    for (const a of activity || []) {
      sites.set(a.site, { seen: a.last_change, origin: null, confirmed: a.last_confirmed, open: 0, exact: true });
    }
    for (const p of recent) {
      const s = sites.get(p.site) || { seen: null, origin: null, confirmed: null, open: 0 };
      if (s.seen === null || p.enqueued_at >= s.seen) { s.seen = p.enqueued_at; s.origin = p.origin; }
      if (!s.exact && p.state === "confirmed" && p.confirmed_at && (s.confirmed === null || p.confirmed_at > s.confirmed)) s.confirmed = p.confirmed_at;
      if (["pending", "sent", "flushed"].includes(p.state)) s.open += 1;
      sites.set(p.site, s);
    }
    if (!sites.size) { replace("sites", empty("no purges yet")); return; }
    const rows = [...sites.entries()].sort().map(([name, s]) => el("tr", { "data-site": name },
      el("td", {}, name), el("td", {}, when(s.seen)),
      el("td", { class: "reason" }, s.origin ? s.origin.kind + ": " + s.origin.reference : "—"),
      el("td", {}, when(s.confirmed)), el("td", { class: "num" }, s.open)));
    replace("sites", table(["site", "last change seen", "from", "last confirmed purge", "in flight"], rows, [4]),
      el("p", { class: "muted" }, "in flight: among the " + recent.length + " most recent purges"));
  }

  function renderBatches(batches) {
    if (!batches.length) { replace("batches", empty("no batches yet")); return; }
    const rows = batches.map((b) => {
      const latency = b.finished_at ? dur(b.finished_at - b.created_at) : "running for " + dur(Date.now() - b.created_at);
      return el("tr", { "data-batch": b.id },
        el("td", { class: "num" }, b.id), el("td", {}, b.vhost), el("td", { class: "state-" + b.state }, b.state),
        el("td", { class: "num" }, b.size), el("td", { class: "num" }, b.attempts), el("td", {}, when(b.created_at)),
        el("td", {}, b.flushed_at ? dur(b.flushed_at - b.created_at) : "—"), el("td", {}, latency),
        el("td", { class: "reason" }, b.error || ""));
    });
    replace("batches", table(["id", "vhost", "state", "size", "retries", "created", "accepted after", "completed after", "error"],
      rows, [0, 3, 4]));
  }

  function renderDead(dead) {
    if (!dead.length) { replace("dead", empty("no dead letters")); return; }
    const rows = dead.map((p) => el("tr", { "data-dead": p.id },
      el("td", { class: "num" }, p.id), el("td", {}, p.site), el("td", { class: "url" }, p.url),
      el("td", { class: "reason" }, p.error || "(no reason recorded)"), el("td", { class: "num" }, p.attempts),
      el("td", { class: "reason" }, p.origin ? p.origin.kind + ": " + p.origin.reference : ""), el("td", {}, when(p.updated_at))));
    replace("dead", table(["id", "site", "url", "reason", "attempts", "from", "given up"], rows, [0, 4]));
  }

  function renderCompletion(batches, recent) {
    const perBatch = batches.filter((b) => b.finished_at).map((b) => [b.finished_at, (b.finished_at - b.created_at) / 1000]);
    const perPurge = recent.filter((p) => p.state === "confirmed" && p.confirmed_at)
      .map((p) => [p.confirmed_at, (p.confirmed_at - p.enqueued_at) / 1000]);
    if (!perBatch.length && !perPurge.length) { replace("completion-chart", empty("no finished batches yet")); return; }
    const series = [{ name: "batch: created → finished", points: perBatch }, { name: "purge: enqueued → confirmed", points: perPurge }];
    replace("completion-chart", charts.lineChart("purge completion time in seconds", series, (v) => dur(v * 1000)));
  }

  // Numeric leaves of a snapshot, named by their path ("status.2xx").
  function leaves(v, prefix, out) {
    if (typeof v === "number" && isFinite(v)) out[prefix] = v;
    else if (v && typeof v === "object" && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) leaves(x, prefix ? prefix + "." + k : k, out);
    }
    return out;
  }

  function snapshots(body) {
    const list = Array.isArray(body) ? body : (body && (body.snapshots || body.items || body.traffic)) || [];
    const out = [];
    for (const s of list) {
      if (!s || typeof s !== "object") continue;
      let fig = s.figures || s.snapshot || s.raw || s.data || s.body || null;
      if (typeof fig === "string") { try { fig = JSON.parse(fig); } catch (_) { fig = null; } }
      let at = s.taken_at_ms ?? s.at ?? s.taken_at ?? s.time ?? s.ts;
      if (typeof at === "string") at = Date.parse(at);
      if (typeof at !== "number" || !isFinite(at)) continue;
      if (at < 1e11) at *= 1000; // seconds, not milliseconds
      const vhost = String(s.vhost ?? (fig && fig.vhost) ?? "?");
      const figures = leaves(fig || {}, "", {});
      const key = Object.keys(figures).find((k) => k === "requests" || k.endsWith(".requests")) || Object.keys(figures)[0];
      if (key !== undefined) out.push({ vhost: vhost, at: at, field: key, value: figures[key] });
    }
    return out;
  }

  function renderTraffic(res) {
    if (res.status === 404) { replace("traffic", empty("no traffic snapshots yet")); return; }
    if (res.status !== 200) { replace("traffic", empty("traffic unavailable (HTTP " + res.status + ")")); return; }
    const snaps = snapshots(res.body);
    if (!snaps.length) { replace("traffic", empty("no traffic snapshots yet")); return; }
    const byVhost = new Map();
    for (const s of snaps) {
      const k = s.vhost + " " + s.field;
      if (!byVhost.has(k)) byVhost.set(k, { name: s.vhost + " (" + s.field + ")", points: [] });
      byVhost.get(k).points.push([s.at, s.value]);
    }
    replace("traffic", charts.lineChart("traffic per vhost", [...byVhost.values()], count),
      el("p", { class: "muted" }, snaps.length + " snapshots over the last " + TRAFFIC_SINCE));
  }

  function showError(text) {
    const e = $("error");
    e.textContent = text;
    e.hidden = !text;
  }

  function needToken() {
    $("auth").hidden = false;
    const s = $("summary");
    s.className = "summary warn";
    s.textContent = token ? "the admin API refused this token" : "the admin API needs the bearer token";
  }

  async function refresh() {
    try {
      const res = await getJson("/api/status?limit=" + LIMIT);
      if (res.status === 401) { needToken(); return; }
      $("auth").hidden = true;
      if (res.status !== 200 || !res.body) {
        showError("/api/status answered HTTP " + res.status + ((res.body && res.body.error) ? ": " + res.body.error : ""));
        return;
      }
      const s = res.body, recent = s.recent || [], batches = s.batches || [];
      summary(s);
      renderQueue(s.queue || {});
      renderReady(s.ready);
      renderSites(recent, s.sites);
      renderCompletion(batches, recent);
      renderBatches(batches);
      renderDead(s.dead_letters || []);
      showError("");
      renderTraffic(await getJson("/api/traffic?since=" + TRAFFIC_SINCE));
      $("updated").textContent = "updated " + new Date().toISOString().replace("T", " ").slice(0, 19) + " UTC";
    } catch (e) {
      $("summary").className = "summary bad";
      $("summary").textContent = "daemon unreachable";
      showError("cannot reach the daemon: " + (e && e.message ? e.message : e));
    } finally {
      clearTimeout(timer);
      timer = setTimeout(refresh, REFRESH_MS);
    }
  }

  $("auth").addEventListener("submit", (ev) => {
    ev.preventDefault();
    token = $("token").value.trim() || null;
    $("token").value = "";
    try { if (token) sessionStorage.setItem("edgeflush-token", token); } catch (_) { /* memory only */ }
    clearTimeout(timer);
    refresh();
  });

  readToken();
  refresh();
})();
