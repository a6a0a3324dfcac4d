"use strict";
// Canvas viewer: whole-body views side by side at one scale, linked zoom/pan, window as % of
// max, inverted grey, segment map and numbered lesions, counts under the cursor.
// Pixel data arrive in the anterior orientation (patient's right on the viewer's left); a
// panel with `mirror: true` is drawn flipped left-right (the posterior view as seen from behind).

const SEG_COLORS = [
  [230, 25, 75], [60, 180, 75], [0, 130, 200], [245, 130, 48], [145, 30, 180], [70, 240, 240],
  [240, 50, 230], [210, 245, 60], [250, 190, 212], [0, 128, 128], [170, 110, 40], [128, 0, 0],
];

async function fetchArray(url, type) {
  const resp = await fetch(url, { credentials: "same-origin" });
  if (!resp.ok) throw new Error(`${url}: ${resp.status}`);
  const buf = await resp.arrayBuffer();
  return { data: new type(buf), rows: +resp.headers.get("X-Rows"), cols: +resp.headers.get("X-Cols") };
}

class Viewer {
  constructor(container, readout, opts = {}) {
    this.container = container;
    this.readout = readout;
    this.panels = [];
    this.scale = 1; this.ox = 0; this.oy = 0;   // display px per mm, offset (px)
    this.showSegments = opts.showSegments ?? true;
    this.showLesions = opts.showLesions ?? true;
    this.invert = true;
    this.highlight = 0;            // segment label (1-based) highlighted, 0 none
    this.lesions = [];             // [{n, row, col, segment, kind, confidence, label}]
    this.onLesionHover = null;
    this.fitted = false;
    window.addEventListener("resize", () => this.layout());
  }

  addPanel(p) {
    // p: {label, data: Float32Array, rows, cols, spacing: [r, c], mirror, markers: [left, right],
    //     segMap: Uint8Array|null, lo, hi}
    const wrap = document.createElement("div");
    wrap.className = "panel-view";
    const title = document.createElement("div");
    title.className = "view-label";
    title.textContent = p.label;
    const canvas = document.createElement("canvas");
    canvas.setAttribute("aria-label", p.label);
    canvas.dataset.view = p.id || p.label;
    wrap.append(title, canvas);
    this.container.append(wrap);
    let max = 0;
    for (let i = 0; i < p.data.length; i++) if (p.data[i] > max) max = p.data[i];
    const panel = Object.assign({ lo: 0, hi: defaultUpper(p.data, max), mirror: false, segMap: null,
      markers: ["R", "L"] }, p, { wrap, canvas, max: max || 1, img: document.createElement("canvas"), seg: null });
    panel.img.width = p.cols; panel.img.height = p.rows;
    this.panels.push(panel);
    this.bind(panel);
    this.renderImage(panel);
    this.renderSegments(panel);
    this.fitted = false;
    this.layout();
    return panel;
  }

  removePanel(panel) {
    panel.wrap.remove();
    this.panels = this.panels.filter(p => p !== panel);
    this.fitted = false;
    this.layout();
  }

  renderImage(p) {
    const ctx = p.img.getContext("2d");
    const im = ctx.createImageData(p.cols, p.rows);
    const lo = p.max * p.lo / 100, hi = Math.max(p.max * p.hi / 100, lo + 1e-6);
    const k = 255 / (hi - lo);
    const d = im.data;
    for (let r = 0; r < p.rows; r++) {
      for (let c = 0; c < p.cols; c++) {
        const src = r * p.cols + (p.mirror ? p.cols - 1 - c : c);
        let g = (p.data[src] - lo) * k;
        g = g < 0 ? 0 : g > 255 ? 255 : g;
        if (this.invert) g = 255 - g;
        const o = 4 * (r * p.cols + c);
        d[o] = d[o + 1] = d[o + 2] = g; d[o + 3] = 255;
      }
    }
    ctx.putImageData(im, 0, 0);
  }

  renderSegments(p) {
    if (!p.segMap) { p.seg = null; return; }
    if (!p.seg) { p.seg = document.createElement("canvas"); p.seg.width = p.cols; p.seg.height = p.rows; }
    const ctx = p.seg.getContext("2d");
    const im = ctx.createImageData(p.cols, p.rows);
    const d = im.data, m = p.segMap, R = p.rows, C = p.cols;
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < C; c++) {
        const src = r * C + (p.mirror ? C - 1 - c : c);
        const lab = m[src];
        if (!lab) continue;
        // outline pixels (a neighbour differs) drawn stronger than the fill
        const edge = (c > 0 && m[src - 1] !== lab) || (c < C - 1 && m[src + 1] !== lab) ||
          (r > 0 && m[src - C] !== lab) || (r < R - 1 && m[src + C] !== lab);
        const col = SEG_COLORS[(lab - 1) % SEG_COLORS.length];
        const hl = this.highlight === lab;
        const o = 4 * (r * C + c);
        d[o] = col[0]; d[o + 1] = col[1]; d[o + 2] = col[2];
        d[o + 3] = hl ? (edge ? 255 : 110) : this.highlight ? (edge ? 70 : 0) : (edge ? 200 : 28);
      }
    }
    ctx.putImageData(im, 0, 0);
  }

  setHighlight(label) {
    this.highlight = label;
    for (const p of this.panels) this.renderSegments(p);
    this.draw();
  }

  setWindow(target, lo, hi) {
    this.panels.forEach((p, i) => {
      if (target === "all" || String(i) === String(target)) {
        if (lo !== null) p.lo = lo;
        if (hi !== null) p.hi = hi;
        this.renderImage(p);
      }
    });
    this.draw();
  }

  setInvert(v) { this.invert = v; for (const p of this.panels) this.renderImage(p); this.draw(); }

  layout() {
    if (!this.panels.length) return;
    const width = this.container.clientWidth;
    const height = Math.max(300, this.container.clientHeight);
    const w = Math.floor(width / this.panels.length) - 8;
    for (const p of this.panels) {
      const dpr = window.devicePixelRatio || 1;
      p.canvas.width = w * dpr; p.canvas.height = (height - 24) * dpr;
      p.canvas.style.width = `${w}px`; p.canvas.style.height = `${height - 24}px`;
      p.dpr = dpr;
    }
    if (!this.fitted) this.fit();
    this.draw();
  }

  fit() {
    // fit the body (rows and columns holding counts), not the whole camera field
    const p = this.panels[0];
    if (!p) return;
    const w = p.canvas.width / p.dpr, h = p.canvas.height / p.dpr;
    let top = Infinity, bottom = -Infinity, left = Infinity, right = -Infinity;
    for (const q of this.panels) {
      const b = q.bbox || (q.bbox = bodyBox(q));
      top = Math.min(top, b.top * q.spacing[0]); bottom = Math.max(bottom, b.bottom * q.spacing[0]);
      left = Math.min(left, b.left * q.spacing[1]); right = Math.max(right, b.right * q.spacing[1]);
    }
    const mmH = bottom - top, mmW = right - left;
    this.scale = Math.min(h / mmH, w / mmW) * 0.96;
    this.ox = (w - mmW * this.scale) / 2 - left * this.scale;
    this.oy = (h - mmH * this.scale) / 2 - top * this.scale;
    this.fitted = true;
  }

  zoom(factor, cx, cy) {
    const p = this.panels[0];
    if (!p) return;
    if (cx === undefined) { cx = p.canvas.width / p.dpr / 2; cy = p.canvas.height / p.dpr / 2; }
    this.ox = cx - (cx - this.ox) * factor;
    this.oy = cy - (cy - this.oy) * factor;
    this.scale *= factor;
    this.draw();
  }

  reset() { this.fitted = false; this.layout(); }

  // display position (css px) -> image (row, col) in the panel's own drawing (mirrored if so)
  toImage(p, x, y) {
    return { row: (y - this.oy) / (this.scale * p.spacing[0]), col: (x - this.ox) / (this.scale * p.spacing[1]) };
  }

  toDisplay(p, row, col) {
    const c = p.mirror ? p.cols - 1 - col : col;
    return { x: this.ox + (c + 0.5) * this.scale * p.spacing[1], y: this.oy + (row + 0.5) * this.scale * p.spacing[0] };
  }

  draw() {
    for (const p of this.panels) {
      const ctx = p.canvas.getContext("2d");
      ctx.setTransform(p.dpr, 0, 0, p.dpr, 0, 0);
      ctx.fillStyle = this.invert ? "#fff" : "#000";
      ctx.fillRect(0, 0, p.canvas.width, p.canvas.height);
      ctx.imageSmoothingEnabled = this.scale * p.spacing[1] < 3;
      const W = p.cols * p.spacing[1] * this.scale, H = p.rows * p.spacing[0] * this.scale;
      ctx.drawImage(p.img, this.ox, this.oy, W, H);
      if (this.showSegments && p.seg) {
        ctx.imageSmoothingEnabled = false;
        ctx.drawImage(p.seg, this.ox, this.oy, W, H);
      }
      if (this.showLesions && p.lesions !== false) this.drawLesions(ctx, p);
      // R/L markers: the patient's side on each edge of this panel
      ctx.font = "bold 16px system-ui, sans-serif";
      ctx.fillStyle = "#d9480f";
      ctx.fillText(p.markers[0], 8, 22);
      const wCss = p.canvas.width / p.dpr;
      ctx.fillText(p.markers[1], wCss - 20, 22);
    }
  }

  drawLesions(ctx, p) {
    ctx.lineWidth = 2;
    ctx.font = "bold 12px system-ui, sans-serif";
    for (const l of this.lesions) {
      const { x, y } = this.toDisplay(p, l.row, l.col);
      const on = !this.highlight || l.label === this.highlight;
      ctx.strokeStyle = on ? (l.kind === "diffuse" ? "#7048e8" : "#e03131") : "rgba(224,49,49,0.3)";
      ctx.beginPath();
      ctx.arc(x, y, Math.max(7, 4 * this.scale), 0, 2 * Math.PI);
      ctx.stroke();
      ctx.fillStyle = ctx.strokeStyle;
      ctx.fillText(String(l.n), x + Math.max(8, 4 * this.scale), y - 6);
    }
  }

  bind(p) {
    let drag = null;
    const c = p.canvas;
    c.addEventListener("wheel", e => {
      e.preventDefault();
      const r = c.getBoundingClientRect();
      this.zoom(e.deltaY < 0 ? 1.2 : 1 / 1.2, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    c.addEventListener("mousedown", e => { drag = { x: e.clientX, y: e.clientY }; });
    window.addEventListener("mouseup", () => { drag = null; });
    c.addEventListener("mousemove", e => {
      const r = c.getBoundingClientRect();
      const x = e.clientX - r.left, y = e.clientY - r.top;
      if (drag) {
        this.ox += e.clientX - drag.x; this.oy += e.clientY - drag.y;
        drag = { x: e.clientX, y: e.clientY };
        this.draw();
      }
      const { row, col } = this.toImage(p, x, y);
      const ri = Math.floor(row), ci = Math.floor(col);
      if (ri >= 0 && ri < p.rows && ci >= 0 && ci < p.cols) {
        const src = ri * p.cols + (p.mirror ? p.cols - 1 - ci : ci);
        const aCol = p.mirror ? p.cols - 1 - ci : ci;
        const w = this.words || {};
        let text = `${p.label} · ${w.row || "row"} ${ri}, ${w.col || "col"} ${aCol} · ${p.data[src].toFixed(0)} ${w.counts || "counts"}`;
        let hit = null;
        if (this.showLesions) {
          for (const l of this.lesions) {
            const d = this.toDisplay(p, l.row, l.col);
            if (Math.hypot(d.x - x, d.y - y) < Math.max(9, 4 * this.scale)) { hit = l; break; }
          }
        }
        if (hit) text += ` · #${hit.n} ${hit.segmentName} (${hit.kind}, ${Math.round(100 * hit.confidence)} %)`;
        c.title = hit ? `#${hit.n} ${hit.segmentName}: ${hit.kind}, confidence ${Math.round(100 * hit.confidence)} %` : "";
        if (this.readout) this.readout.textContent = text;
      }
    });
    c.addEventListener("mouseleave", () => { if (this.readout) this.readout.textContent = ""; });
  }
}

// Rows and columns of the body in a panel's drawing (mirrored if so): where the smoothed
// profile of counts exceeds 2 % of its maximum, with a small margin; the whole field otherwise.
function bodyBox(p) {
  const rows = new Float64Array(p.rows), cols = new Float64Array(p.cols);
  for (let r = 0; r < p.rows; r++) {
    for (let c = 0; c < p.cols; c++) {
      const v = p.data[r * p.cols + c];
      rows[r] += v; cols[p.mirror ? p.cols - 1 - c : c] += v;
    }
  }
  const extent = (prof, n) => {
    let max = 0;
    for (const v of prof) if (v > max) max = v;
    let a = 0, b = n - 1;
    while (a < n && prof[a] < 0.02 * max) a++;
    while (b > a && prof[b] < 0.02 * max) b--;
    const pad = Math.round(0.04 * n);
    return [Math.max(0, a - pad), Math.min(n, b + 1 + pad)];
  };
  const [top, bottom] = extent(rows, p.rows), [left, right] = extent(cols, p.cols);
  if (bottom - top < 0.2 * p.rows) return { top: 0, bottom: p.rows, left: 0, right: p.cols };
  return { top, bottom, left, right };
}

// Default upper threshold (% of max): the 99.7th percentile of the counts inside the body, so
// that bone and lesions show even when the liver or the bladder is far hotter.
function defaultUpper(data, max) {
  if (!max) return 100;
  const sample = [];
  const step = Math.max(1, Math.floor(data.length / 50000));
  for (let i = 0; i < data.length; i += step) if (data[i] > 0.02 * max) sample.push(data[i]);
  if (sample.length < 10) return 100;
  sample.sort((a, b) => a - b);
  const q = sample[Math.floor(0.997 * (sample.length - 1))];
  return Math.max(2, Math.min(100, Math.round(100 * q / max)));
}

function geometricMean(a, b) {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = Math.sqrt(Math.max(a[i], 0) * Math.max(b[i], 0));
  return out;
}
