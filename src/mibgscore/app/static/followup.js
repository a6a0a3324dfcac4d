"use strict";
// Follow-up page: prior and current scans side by side (anterior and posterior), linked zoom.
(async () => {
  const { boot } = MIBG;
  const W = boot.words;
  if (!boot.prior_id) return;
  const viewer = new Viewer(document.getElementById("viewer"), document.getElementById("readout"));
  viewer.words = W;
  const R = W.right_marker, L = W.left_marker;
  viewer.showSegments = false;
  for (const [sid, name] of [[boot.prior_id, W.prior], [boot.study_id, W.current]]) {
    const meta = await (await fetch(`/api/studies/${sid}`)).json();
    const lesions = meta.auto ? meta.auto.lesions : [];
    for (const v of meta.views) {
      const arr = await fetchArray(`/api/studies/${sid}/views/${v}`, Float32Array);
      const p = viewer.addPanel({ id: `${sid}-${v}`, label: `${name} ${meta.study_date || ""} · ${W[v]}`, ...arr,
        spacing: meta.spacing_mm, mirror: v === "posterior", markers: v === "posterior" ? [L, R] : [R, L] });
      p.ownLesions = lesions.map((l, i) => Object.assign({}, l, { n: i + 1, segmentName: l.segment }));
    }
  }
  // each panel draws its own study's lesions
  const base = viewer.drawLesions.bind(viewer);
  viewer.drawLesions = (ctx, p) => { viewer.lesions = p.ownLesions || []; base(ctx, p); };
  viewer.draw();
  const hi = document.getElementById("win-hi");
  if (viewer.panels.length) hi.value = viewer.panels[0].hi;
  hi.addEventListener("input", () => viewer.setWindow("all", null, +hi.value));
  document.getElementById("show-lesions").addEventListener("change", e => { viewer.showLesions = e.target.checked; viewer.draw(); });
  document.getElementById("zoom-in").addEventListener("click", () => viewer.zoom(1.25));
  document.getElementById("zoom-out").addEventListener("click", () => viewer.zoom(0.8));
  document.getElementById("zoom-reset").addEventListener("click", () => viewer.reset());
  document.body.dataset.viewerReady = "1";
})();
