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
  // views come as uint16 counts when they fit (half the bytes); X-Dtype says which
  if (type === Float32Array && url.includes("/views/")) url += (url.includes("?") ? "&" : "?") + "dtype=uint16";
  const resp = await fetch(url, { credentials: "same-origin" });
  if (!resp.ok) throw new Error(`${url}: ${resp.status}`);
  const buf = await resp.arrayBuffer();
  const data = resp.headers.get("X-Dtype") === "uint16" ? type.from(new Uint16Array(buf)) : new type(buf);
  return { data, rows: +resp.headers.get("X-Rows"), cols: +resp.headers.get("X-Cols") };
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
    this.lesions = [];             // [{n, row, col, segment, kind, confidence, label, rejected, source}]
    this.findings = [];            // normal uptake: [{label, text, row, col}]
    this.showFindings = opts.showFindings ?? true;
    this.regions = null;           // {rows, cols, runs: [[row, c0, c1, label]]}: automatic diffuse involvement
    this.check = new Set();        // segment labels (1-based) whose grade should be checked
    this.checkBelow = 0.7;         // lesions under this confidence are drawn as "check"
    this.mode = "inspect";         // "inspect" | "focus" (click adds a focus) | "paint" (drag paints)
    this.brush = 4;                // paint brush radius, image pixels
    this.stroke = null;            // dabs [row, col, radius] of the region being painted
    this.onClick = null;           // (panel, {row, col}, lesion|null, event) on a click without drag
    this.onPaint = null;           // (dabs) when a painted stroke ends
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
    this.renderRegions(panel);
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
    // outlines only (never a fill: the uptake under a segment stays visible); the selected
    // segment's outline is drawn twice as thick and opaque, the others fainter
    if (!p.segMap) { p.seg = null; return; }
    if (!p.seg) { p.seg = document.createElement("canvas"); p.seg.width = p.cols; p.seg.height = p.rows; }
    const ctx = p.seg.getContext("2d");
    const im = ctx.createImageData(p.cols, p.rows);
    const d = im.data, m = p.segMap, R = p.rows, C = p.cols;
    const differs = (src, lab, k) => {
      const r = Math.floor(src / C), c = src % C;
      return (c >= k && m[src - k] !== lab) || (c < C - k && m[src + k] !== lab) ||
        (r >= k && m[src - k * C] !== lab) || (r < R - k && m[src + k * C] !== lab);
    };
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < C; c++) {
        const src = r * C + (p.mirror ? C - 1 - c : c);
        const lab = m[src];
        if (!lab) continue;
        const hl = this.highlight === lab;
        const edge = differs(src, lab, 1) || (hl && differs(src, lab, 2));
        if (!edge) continue;
        const col = SEG_COLORS[(lab - 1) % SEG_COLORS.length];
        const o = 4 * (r * C + c);
        d[o] = col[0]; d[o + 1] = col[1]; d[o + 2] = col[2];
        d[o + 3] = hl ? 255 : this.highlight ? 70 : 150;
      }
    }
    ctx.putImageData(im, 0, 0);
    if (!p.centres) p.centres = segmentCentres(p);
  }

  // the automatic diffuse regions and the regions the reader painted, hatched (image grid)
  renderRegions(p) {
    if (!p.reg) { p.reg = document.createElement("canvas"); p.reg.width = p.cols; p.reg.height = p.rows; }
    const R = p.rows, C = p.cols;
    const lab = new Int16Array(R * C);   // 0 none, lesion index + 1
    const byLabel = new Map();
    this.lesions.forEach((l, i) => { if (l.kind === "diffuse" && l.source === "auto") byLabel.set(l.label, i + 1); });
    if (this.regions) for (const [r, c0, c1, L] of this.regions.runs) {
      const i = byLabel.get(L);
      if (i && r < R) for (let c = c0; c <= c1 && c < C; c++) lab[r * C + c] = i;
    }
    this.lesions.forEach((l, i) => {
      for (const [r0, c0, rad] of l.strokes || []) {
        for (let r = Math.max(0, Math.floor(r0 - rad)); r <= Math.min(R - 1, r0 + rad); r++) {
          for (let c = Math.max(0, Math.floor(c0 - rad)); c <= Math.min(C - 1, c0 + rad); c++) {
            if ((r - r0) ** 2 + (c - c0) ** 2 <= rad * rad) lab[r * C + c] = i + 1;
          }
        }
      }
    });
    this.regionLabels = lab;
    const ctx = p.reg.getContext("2d");
    const im = ctx.createImageData(C, R);
    const d = im.data;
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < C; c++) {
        const src = r * C + (p.mirror ? C - 1 - c : c);
        const i = lab[src];
        if (!i) continue;
        const l = this.lesions[i - 1];
        const edge = (c > 0 && lab[src - 1] !== i) || (c < C - 1 && lab[src + 1] !== i) ||
          (r > 0 && lab[src - C] !== i) || (r < R - 1 && lab[src + C] !== i);
        const hatch = (r + c) % 5 === 0;
        if (!edge && !hatch) continue;
        const col = l.rejected ? [134, 142, 150] : l.source === "auto" ? [190, 75, 219] : [247, 103, 7];
        const o = 4 * (r * C + c);
        d[o] = col[0]; d[o + 1] = col[1]; d[o + 2] = col[2];
        d[o + 3] = edge ? 255 : (l.rejected ? 110 : 210);
      }
    }
    ctx.putImageData(im, 0, 0);
  }

  setLesions(lesions) {
    this.lesions = lesions;
    for (const p of this.panels) this.renderRegions(p);
    this.draw();
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
        this.drawChecks(ctx, p);
      }
      if (this.showLesions && p.reg) {
        ctx.imageSmoothingEnabled = false;
        ctx.drawImage(p.reg, this.ox, this.oy, W, H);
      }
      if (this.showFindings) this.drawFindings(ctx, p);
      if (this.showLesions && p.lesions !== false) this.drawLesions(ctx, p);
      if (this.stroke) this.drawStroke(ctx, p);
      // R/L markers: the patient's side on each edge of this panel
      ctx.font = "bold 16px system-ui, sans-serif";
      ctx.fillStyle = "#d9480f";
      ctx.fillText(p.markers[0], 8, 22);
      const wCss = p.canvas.width / p.dpr;
      ctx.fillText(p.markers[1], wCss - 20, 22);
    }
  }

  radius() { return Math.max(7, 4 * this.scale); }

  drawLesions(ctx, p) {
    ctx.lineWidth = 2;
    ctx.font = "bold 12px system-ui, sans-serif";
    const rad = this.radius();
    for (const l of this.lesions) {
      const { x, y } = this.toDisplay(p, l.row, l.col);
      const on = !this.highlight || l.label === this.highlight;
      const colour = l.rejected ? "#868e96" : l.source !== "auto" ? "#d9480f"
        : l.kind === "diffuse" ? "#be4bdb" : l.confidence < this.checkBelow ? "#f08c00" : "#e03131";
      ctx.globalAlpha = on ? 1 : 0.35;
      ctx.strokeStyle = colour; ctx.fillStyle = colour;
      ctx.setLineDash(l.rejected ? [3, 3] : l.confidence < this.checkBelow && l.source === "auto" ? [6, 3] : []);
      ctx.beginPath();
      if (l.kind === "diffuse") ctx.rect(x - 4, y - 4, 8, 8);   // the region itself is hatched
      else ctx.arc(x, y, rad, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.setLineDash([]);
      if (l.rejected) {   // a cross over a rejected lesion
        ctx.beginPath(); ctx.moveTo(x - rad * 0.7, y - rad * 0.7); ctx.lineTo(x + rad * 0.7, y + rad * 0.7);
        ctx.moveTo(x + rad * 0.7, y - rad * 0.7); ctx.lineTo(x - rad * 0.7, y + rad * 0.7); ctx.stroke();
      } else if (l.source !== "auto" && l.kind === "focal") {
        ctx.beginPath(); ctx.moveTo(x - 4, y); ctx.lineTo(x + 4, y); ctx.moveTo(x, y - 4); ctx.lineTo(x, y + 4); ctx.stroke();
      }
      ctx.fillText(String(l.n), x + Math.max(8, 4 * this.scale), y - 6);
      ctx.globalAlpha = 1;
    }
  }

  drawFindings(ctx, p) {
    ctx.font = "11px system-ui, sans-serif";
    ctx.lineWidth = 1.5;
    for (const f of this.findings) {
      const { x, y } = this.toDisplay(p, f.row, f.col);
      const aside = f.label === "not_bone";   // a candidate set aside: marked, not labelled
      ctx.strokeStyle = ctx.fillStyle = aside ? "#adb5bd" : "#1971c2";
      const k = aside ? 3 : 5;
      ctx.beginPath();
      ctx.moveTo(x, y - k); ctx.lineTo(x + k, y); ctx.lineTo(x, y + k); ctx.lineTo(x - k, y); ctx.closePath();
      ctx.stroke();
      if (aside) continue;
      const text = f.text;
      const w = ctx.measureText(text).width;
      ctx.fillStyle = "rgba(255,255,255,0.8)";
      ctx.fillRect(x + 7, y - 6, w + 4, 13);
      ctx.fillStyle = "#1864ab";
      ctx.fillText(text, x + 9, y + 4);
    }
  }

  drawChecks(ctx, p) {
    if (!p.centres) return;
    ctx.font = "bold 13px system-ui, sans-serif";
    for (const lab of this.check) {
      const c = p.centres.get(lab);
      if (!c) continue;
      const { x, y } = this.toDisplay(p, c.row, c.col);
      const text = `⚠ ${this.words && this.words.check ? this.words.check : "check"}`;
      ctx.globalAlpha = !this.highlight || this.highlight === lab ? 1 : 0.5;
      const w = ctx.measureText(text).width;
      ctx.fillStyle = "rgba(255,244,219,0.9)";
      ctx.fillRect(x - w / 2 - 3, y - 11, w + 6, 16);
      ctx.fillStyle = "#c25e00";
      ctx.fillText(text, x - w / 2, y + 2);
      ctx.globalAlpha = 1;
    }
  }

  drawStroke(ctx, p) {
    ctx.fillStyle = "rgba(217,72,15,0.35)";
    for (const [r, c, rad] of this.stroke) {
      const { x, y } = this.toDisplay(p, r, c);
      ctx.beginPath();
      ctx.arc(x, y, Math.max(1, rad * this.scale * p.spacing[1]), 0, 2 * Math.PI);
      ctx.fill();
    }
  }

  // the lesion under display point (x, y) of panel p: a marker, or a diffuse region's pixel
  lesionAt(p, x, y) {
    const rad = Math.max(9, 4 * this.scale);
    for (const l of this.lesions) {
      const d = this.toDisplay(p, l.row, l.col);
      if (Math.hypot(d.x - x, d.y - y) < rad) return l;
    }
    const { row, col } = this.toImage(p, x, y);
    const ri = Math.floor(row), ci = Math.floor(col);
    if (this.regionLabels && ri >= 0 && ri < p.rows && ci >= 0 && ci < p.cols) {
      const i = this.regionLabels[ri * p.cols + (p.mirror ? p.cols - 1 - ci : ci)];
      if (i) return this.lesions[i - 1];
    }
    return null;
  }

  // display point -> anterior-frame pixel (row, col), or null outside the image
  anteriorPixel(p, x, y) {
    const { row, col } = this.toImage(p, x, y);
    const ri = Math.floor(row), ci = Math.floor(col);
    if (ri < 0 || ri >= p.rows || ci < 0 || ci >= p.cols) return null;
    return { row: ri, col: p.mirror ? p.cols - 1 - ci : ci };
  }

  bind(p) {
    let drag = null;
    const c = p.canvas;
    c.addEventListener("wheel", e => {
      e.preventDefault();
      const r = c.getBoundingClientRect();
      this.zoom(e.deltaY < 0 ? 1.2 : 1 / 1.2, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    const dab = (x, y) => {
      const px = this.anteriorPixel(p, x, y);
      if (px) { this.stroke.push([px.row, px.col, this.brush]); this.draw(); }
    };
    c.addEventListener("mousedown", e => {
      drag = { x: e.clientX, y: e.clientY, x0: e.clientX, y0: e.clientY, moved: false };
      if (this.mode === "paint") {
        const r = c.getBoundingClientRect();
        this.stroke = [];
        dab(e.clientX - r.left, e.clientY - r.top);
      }
    });
    window.addEventListener("mouseup", e => {
      if (!drag) return;
      const was = drag; drag = null;
      if (this.mode === "paint" && this.stroke) {
        const dabs = this.stroke; this.stroke = null;
        this.draw();
        if (dabs.length && this.onPaint) this.onPaint(dabs);
        return;
      }
      if (!was.moved && e.target === c && this.onClick) {
        const r = c.getBoundingClientRect();
        const x = e.clientX - r.left, y = e.clientY - r.top;
        const px = this.anteriorPixel(p, x, y);
        if (px) this.onClick(p, px, this.showLesions ? this.lesionAt(p, x, y) : null, e);
      }
    });
    c.addEventListener("mousemove", e => {
      const r = c.getBoundingClientRect();
      const x = e.clientX - r.left, y = e.clientY - r.top;
      if (drag) {
        if (Math.hypot(e.clientX - drag.x0, e.clientY - drag.y0) > 3) drag.moved = true;
        if (this.mode === "paint") dab(x, y);
        else if (drag.moved) {
          this.ox += e.clientX - drag.x; this.oy += e.clientY - drag.y;
          this.draw();
        }
        drag.x = e.clientX; drag.y = e.clientY;
      }
      const { row, col } = this.toImage(p, x, y);
      const ri = Math.floor(row), ci = Math.floor(col);
      if (ri >= 0 && ri < p.rows && ci >= 0 && ci < p.cols) {
        const src = ri * p.cols + (p.mirror ? p.cols - 1 - ci : ci);
        const aCol = p.mirror ? p.cols - 1 - ci : ci;
        const w = this.words || {};
        let text = `${p.label} · ${w.row || "row"} ${ri}, ${w.col || "col"} ${aCol} · ${p.data[src].toFixed(0)} ${w.counts || "counts"}`;
        const hit = this.showLesions ? this.lesionAt(p, x, y) : null;
        const what = l => `#${l.n} ${l.segmentName} (${w[l.kind] || l.kind}, ${w.confidence || "confidence"} ${Math.round(100 * l.confidence)} %)` +
          (l.rejected ? ` · ${w.rejected || "rejected"}: ${w["reason_" + l.rejected] || l.rejected}` : "");
        if (hit) text += ` · ${what(hit)}`;
        else if (this.showFindings) {
          const f = this.findings.find(f => { const d = this.toDisplay(p, f.row, f.col); return Math.hypot(d.x - x, d.y - y) < 8; });
          if (f) text += ` · ${w.normal_uptake || "normal uptake"}: ${f.text}`;
        }
        c.title = hit ? what(hit) : "";
        if (this.readout) this.readout.textContent = text;
      }
    });
    c.addEventListener("mouseleave", () => { if (this.readout) this.readout.textContent = ""; });
  }
}

// The centre of each segment label in a panel's segment map (anterior frame), for the
// "check" flags drawn on the image.
function segmentCentres(p) {
  const acc = new Map();
  const m = p.segMap;
  for (let r = 0; r < p.rows; r += 2) {
    for (let c = 0; c < p.cols; c += 2) {
      const lab = m[r * p.cols + c];
      if (!lab) continue;
      const a = acc.get(lab) || { top: r, tc: 0, tn: 0 };
      if (r <= a.top + 6) { a.tc += c; a.tn++; }
      acc.set(lab, a);
    }
  }
  // the flag sits just above the segment's top, at the middle of its top rows
  const out = new Map();
  for (const [lab, a] of acc) out.set(lab, { row: Math.max(0, a.top - 3), col: a.tc / Math.max(1, a.tn) });
  return out;
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
