// Inline SVG line charts for the status page: no library, so the page works
// offline. Every label goes in through textContent, never as markup.
"use strict";
window.EdgeflushCharts = (function () {
  const NS = "http://www.w3.org/2000/svg";
  const W = 720, PLOT = 190, L = 64, R = 16, T = 14, B = 44, ROW = 16, PER_ROW = 2;
  const COLORS = ["#1f6feb", "#d9480f", "#2b8a3e", "#862e9c", "#c92a2a", "#0b7285", "#5c940d", "#a61e4d"];

  function svg(tag, attrs, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }

  function clock(ms) {
    const d = new Date(ms);
    const p = (n) => String(n).padStart(2, "0");
    return p(d.getUTCHours()) + ":" + p(d.getUTCMinutes()) + ":" + p(d.getUTCSeconds());
  }

  function day(ms) {
    return new Date(ms).toISOString().slice(0, 10);
  }

  // The smallest 1, 2 or 5 times a power of ten at or above v: round ticks.
  function nice(v) {
    if (!(v > 0)) return 1;
    const exp = Math.pow(10, Math.floor(Math.log10(v)));
    const f = v / exp;
    return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * exp;
  }

  // series: [{name, points: [[x_ms, y], ...]}]; fmtY formats a y value.
  function lineChart(label, series, fmtY) {
    const all = series.flatMap((s) => s.points);
    const Y0 = T + PLOT;
    const H = Y0 + B + ROW * Math.ceil(series.length / PER_ROW);
    const root = svg("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label });
    root.appendChild(svg("title", {}, label));
    if (all.length === 0) return root;
    let x0 = Math.min(...all.map((p) => p[0]));
    let x1 = Math.max(...all.map((p) => p[0]));
    if (x1 - x0 < 1000) { x0 -= 30000; x1 += 30000; }
    const y1 = nice(Math.max(...all.map((p) => p[1])) * 1.05);
    const sx = (x) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
    const sy = (y) => Y0 - (y / y1) * PLOT;

    for (let i = 0; i <= 4; i++) {
      const v = (y1 * i) / 4, y = sy(v);
      root.appendChild(svg("line", { class: "grid", x1: L, x2: W - R, y1: y, y2: y }));
      root.appendChild(svg("text", { x: L - 6, y: y + 4, "text-anchor": "end" }, fmtY(v)));
    }
    root.appendChild(svg("line", { class: "axis", x1: L, x2: L, y1: T, y2: Y0 }));
    root.appendChild(svg("line", { class: "axis", x1: L, x2: W - R, y1: Y0, y2: Y0 }));
    for (let i = 0; i <= 4; i++) {
      const v = x0 + ((x1 - x0) * i) / 4, x = sx(v);
      const anchor = i === 0 ? "start" : i === 4 ? "end" : "middle";
      root.appendChild(svg("text", { x: x, y: Y0 + 16, "text-anchor": anchor }, clock(v)));
    }
    root.appendChild(svg("text", { x: L, y: Y0 + 30 }, "time (UTC), " + day(x0)));

    series.forEach((s, i) => {
      const color = COLORS[i % COLORS.length];
      const pts = s.points.slice().sort((a, b) => a[0] - b[0]);
      if (pts.length > 1) {
        const d = pts.map((p) => sx(p[0]).toFixed(1) + "," + sy(p[1]).toFixed(1)).join(" ");
        root.appendChild(svg("polyline", { points: d, fill: "none", stroke: color, "stroke-width": 1.5 }));
      }
      for (const p of pts) {
        const c = svg("circle", { cx: sx(p[0]).toFixed(1), cy: sy(p[1]).toFixed(1), r: 3, fill: color });
        c.appendChild(svg("title", {}, s.name + " at " + clock(p[0]) + ": " + fmtY(p[1])));
        root.appendChild(c);
      }
      const lx = L + (i % PER_ROW) * 320, ly = Y0 + B + ROW * Math.floor(i / PER_ROW) + 8;
      root.appendChild(svg("rect", { x: lx, y: ly - 9, width: 10, height: 10, fill: color }));
      root.appendChild(svg("text", { x: lx + 14, y: ly }, s.name));
    });
    return root;
  }

  return { lineChart: lineChart };
})();
