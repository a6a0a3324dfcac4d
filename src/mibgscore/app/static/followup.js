"use strict";
// Follow-up page: prior and current scans side by side (anterior and posterior), linked zoom;
// each lesion drawn with its pairing: persisting (the pair's letter on both scans), resolved
// (prior only), new (current only).
(async () => {
  const { boot } = MIBG;
  const W = boot.words;
  if (!boot.prior_id) return;
  const viewer = new Viewer(document.getElementById("viewer"), document.getElementById("readout"));
  viewer.words = W;
  const R = W.right_marker, L = W.left_marker;
  const names = Object.fromEntries(boot.schemes.siopen.map(s => [s.key, s.name]));
  viewer.showSegments = false;
  viewer.showFindings = false;
  // lesion id -> its pairing, per study
  const status = { [boot.prior_id]: new Map(), [boot.study_id]: new Map() };
  for (const p of (boot.pairing || { pairs: [] }).pairs) {
    if (p.prior) status[boot.prior_id].set(p.prior.id, p);
    if (p.current) status[boot.study_id].set(p.current.id, p);
  }
  const COLOURS = { persisting: "#e67700", resolved: "#2b8a3e", new: "#c92a2a" };
  for (const [sid, name] of [[boot.prior_id, W.prior_short], [boot.study_id, W.current]]) {
    const meta = await (await fetch(`/api/studies/${sid}`)).json();
    const lesions = (meta.lesions || []).filter(l => !l.rejected).map(l => {
      const pair = status[sid].get(l.id);
      return Object.assign({}, l, { n: pair && pair.tag ? pair.tag : l.id, segment: l.siopen,
        segmentName: `${names[l.siopen] || l.siopen}${pair ? " · " + W[pair.status] : ""}`, pairing: pair ? pair.status : null });
    });
    for (const v of meta.views) {
      const arr = await fetchArray(`/api/studies/${sid}/views/${v}`, Float32Array);
      const p = viewer.addPanel({ id: `${sid}-${v}`, label: `${name} ${meta.study_date || ""} · ${W[v]}`, ...arr,
        spacing: meta.spacing_mm, mirror: v === "posterior", markers: v === "posterior" ? [L, R] : [R, L] });
      p.ownLesions = lesions;
    }
  }
  // each panel draws its own study's lesions, coloured by pairing
  viewer.drawLesions = (ctx, p) => {
    ctx.lineWidth = 2;
    ctx.font = "bold 12px system-ui, sans-serif";
    const rad = viewer.radius();
    for (const l of p.ownLesions || []) {
      const { x, y } = viewer.toDisplay(p, l.row, l.col);
      ctx.strokeStyle = ctx.fillStyle = COLOURS[l.pairing] || "#e03131";
      ctx.setLineDash(l.pairing === "resolved" ? [4, 3] : []);
      ctx.beginPath();
      if (l.kind === "diffuse") ctx.rect(x - 6, y - 6, 12, 12); else ctx.arc(x, y, rad, 0, 2 * Math.PI);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillText(l.pairing === "new" ? `${W.new}` : String(l.n), x + Math.max(8, 4 * viewer.scale), y - 6);
    }
  };
  // hover: the lesion of the panel under the cursor, with its segment's name
  viewer.lesionAt = (p, x, y) => (p.ownLesions || []).find(l => {
    const d = viewer.toDisplay(p, l.row, l.col);
    return Math.hypot(d.x - x, d.y - y) < Math.max(9, 4 * viewer.scale);
  }) || null;
  viewer.draw();
  document.getElementById("viewer").mibgViewer = viewer;   // for the browser tests
  const hi = document.getElementById("win-hi");
  if (viewer.panels.length) hi.value = viewer.panels[0].hi;
  hi.addEventListener("input", () => viewer.setWindow("all", null, +hi.value));
  document.getElementById("show-lesions").addEventListener("change", e => { viewer.showLesions = e.target.checked; viewer.draw(); });
  document.getElementById("zoom-in").addEventListener("click", () => viewer.zoom(1.25));
  document.getElementById("zoom-out").addEventListener("click", () => viewer.zoom(0.8));
  document.getElementById("zoom-reset").addEventListener("click", () => viewer.reset());
  document.body.dataset.viewerReady = "1";
})();
