"use strict";
// Reading page: viewer + score panel. Every click saves at once (PUT with the study version);
// a 409 from the server means someone else changed the reading: we say so and save nothing.
(() => {
  const { boot, api, el } = MIBG;
  const W = boot.words;
  const id = boot.study_id;
  const SIOPEN = boot.schemes.siopen, CURIE = boot.schemes.curie;
  const MAX = boot.max_grades;   // highest grade of each segment table in use
  let study = null;
  let selected = 0;              // index into SIOPEN
  let viewer = null, geoPanel = null;
  let views = {};

  const $ = s => document.getElementById(s);
  const banner = (text, kind = "error") => {
    const b = $("banner");
    b.hidden = !text; b.className = `banner ${kind}`; b.replaceChildren();
    if (text) {
      b.append(text);
      if (kind === "error") b.append(" ", el("button", { text: W.reload, onclick: () => location.reload() }));
    }
  };
  const saveState = t => { $("save-state").textContent = t; };

  function gradeTitle(scheme, g) { return W[(scheme === "siopen" ? "grade_" : "curie_") + g] || String(g); }

  function buildTables() {
    const sb = $("siopen-body");
    SIOPEN.forEach((seg, i) => {
      const btns = el("div", { class: "grades", role: "radiogroup", "aria-label": seg.name });
      for (let g = 0; g <= MAX.siopen; g++) {
        btns.append(el("button", { class: "g", "data-grade": g, title: gradeTitle("siopen", g), role: "radio", tabindex: "-1",
          onclick: ev => { ev.stopPropagation(); select(i); setGrade("siopen", seg.key, g); } }, String(g)));
      }
      const tr = el("tr", { "data-segment": seg.key, tabindex: "0", class: "seg-row",
        onclick: () => select(i), onfocus: () => { if (selected !== i) select(i, false); } },
        el("td", {}, el("span", { class: "swatch", style: `background: rgb(${SEG_COLORS[i % 12].join(",")})` }), seg.name),
        el("td", { class: "num auto" }), el("td", {}, btns));
      sb.append(tr);
    });
    const cb = $("curie-body");
    for (const seg of CURIE) {
      const btns = el("div", { class: "grades small" });
      for (let g = 0; g <= MAX.curie; g++) {
        btns.append(el("button", { class: "g", "data-grade": g, title: gradeTitle("curie", g), tabindex: "-1",
          onclick: () => setGrade("curie", seg.key, g) }, String(g)));
      }
      cb.append(el("tr", { "data-segment": seg.key }, el("td", { text: seg.name }), el("td", { class: "num auto" }), el("td", {}, btns)));
    }
  }

  function fill() {
    const s = study;
    const auto = s.auto;
    const locked = s.locked || !auto;
    for (const [scheme, rows, body] of [["siopen", SIOPEN, "siopen-body"], ["curie", CURIE, "curie-body"]]) {
      for (const seg of rows) {
        const tr = $(body).querySelector(`tr[data-segment="${seg.key}"]`);
        const a = auto ? auto[scheme].segments[seg.key] : null;
        const f = s[scheme] ? s[scheme][seg.key] : null;
        tr.querySelector(".auto").textContent = a ?? "—";
        tr.classList.toggle("edited", a !== null && f !== a);
        tr.querySelectorAll("button.g").forEach(b => {
          const g = +b.dataset.grade;
          b.classList.toggle("on", g === f);
          b.classList.toggle("is-auto", g === a);
          b.setAttribute("aria-checked", g === f ? "true" : "false");
          b.disabled = locked;
        });
      }
    }
    const tot = o => o ? Object.values(o).reduce((x, y) => x + y, 0) : "—";
    $("siopen-total").textContent = tot(s.siopen);
    $("siopen-auto-total").textContent = auto ? auto.siopen.total : "—";
    $("curie-total").textContent = tot(s.curie);
    $("curie-auto-total").textContent = auto ? auto.curie.total : "—";
    $("status-badge").textContent = W["status_" + s.status] || s.status;
    $("status-badge").className = `badge status-${s.status}`;
    $("accept-all").disabled = locked;
    $("impression").disabled = s.locked;
    $("sign").hidden = s.locked; $("sign").disabled = !auto;
    $("amend").hidden = !s.locked;
    $("signed-line").textContent = s.signed_at ? W.signed_by.replace("{who}", s.signed_by).replace("{when}", s.signed_at.replace("T", " ").replace("Z", " UTC")) : "";
    const hist = $("history");
    hist.replaceChildren();
    for (const h of s.history) {
      hist.append(el("li", {}, el("time", { text: h.at.replace("T", " ").replace("Z", "") }), ` ${h.user}: `, describe(h)));
    }
    if (s.status === "failed" && s.error) banner(s.error, "info");
    const warn = $("warnings");
    const warnings = (auto && auto.warnings) || [];
    warn.hidden = !warnings.length;
    warn.replaceChildren(...warnings.map(w => el("li", { text: w })));
    const prog = $("scoring-progress");
    prog.hidden = !!auto;
    if (!auto && s.progress) $("score-bar").value = s.progress.fraction;
    highlightRow();
  }

  function segName(scheme, key) {
    const seg = (scheme === "curie" ? CURIE : SIOPEN).find(x => x.key === key);
    return seg ? seg.name : key;
  }

  function describe(h) {
    const d = h.detail || {};
    switch (h.action) {
      case "grade": return `${d.scheme.toUpperCase()} ${segName(d.scheme, d.segment)}: ${d.from} → ${d.to} (${W.automatic} ${d.auto})`;
      case "scored": return `${W.automatic} SIOPEN ${d.siopen_total}, Curie ${d.curie_total}`;
      case "sign": return `${W.sign}: SIOPEN ${d.siopen_total} (${W.automatic} ${d.auto_siopen_total})` + (d.edited && d.edited.length ? `, ${W.edited}: ${d.edited.length}` : "");
      case "amend": return `${W.amend}: «${d.reason}»`;
      case "accept_all": return W.accept_all;
      case "impression": return `${W.impression} (${d.to_length})`;
      default: return h.action;
    }
  }

  function highlightRow() {
    document.querySelectorAll("#siopen-body tr").forEach((tr, i) => tr.classList.toggle("selected", i === selected));
    const seg = SIOPEN[selected];
    const list = $("lesion-list");
    list.replaceChildren(el("h3", { text: W.lesions_in.replace("{segment}", seg.name) }));
    const ls = viewer ? viewer.lesions.filter(l => l.segment === seg.key) : [];
    if (!ls.length) list.append(el("p", { class: "muted", text: W.no_lesions }));
    else {
      const ul = el("ul");
      for (const l of ls) ul.append(el("li", { text: `#${l.n} ${W[l.kind] || l.kind}${l.fraction != null ? ` (${Math.round(100 * l.fraction)} %)` : ""} · ${W.confidence} ${Math.round(100 * l.confidence)} % · ${W.row} ${l.row}, ${W.col} ${l.col}` }));
      list.append(ul);
    }
  }

  function select(i, focus = true) {
    selected = (i + SIOPEN.length) % SIOPEN.length;
    highlightRow();
    if (viewer) viewer.setHighlight(selected + 1);
    if (focus) document.querySelector(`#siopen-body tr[data-segment="${SIOPEN[selected].key}"]`).focus({ preventScroll: false });
  }

  // Edits are sent one after the other; each body is built when its turn comes, so that it
  // carries the version the previous edit returned.
  let chain = Promise.resolve(true);
  function call(method, url, makeBody) {
    const run = () => send(method, url, makeBody);
    chain = chain.then(run, run);
    return chain;
  }

  async function send(method, url, makeBody) {
    const body = makeBody ? makeBody() : undefined;
    if (body === null) return true;   // nothing to save
    saveState(W.saving);
    try {
      const data = await api(method, url, body);
      if (data) study = Object.assign(study, data);
      banner("");
      saveState(`${W.saved} ✓`);
      fill();
      return true;
    } catch (e) {
      saveState("");
      banner(e.status === 409 || e.status === 403 ? e.message : `${W.error}: ${e.message}`);
      return false;
    }
  }

  const setGrade = (scheme, segment, grade) =>
    call("PUT", `/api/studies/${id}/grades`, () => ({ scheme, segment, grade, version: study.version }));

  async function load() {
    study = await api("GET", `/api/studies/${id}`);
    fill();
    if (!study.auto && !["failed"].includes(study.status)) setTimeout(load, 1500);
    else if (study.auto && !viewer) await buildViewer();
    else if (!viewer) await buildViewer();
  }

  async function buildViewer() {
    viewer = new Viewer($("viewer"), $("readout"));
    viewer.words = W;
    const R = W.right_marker, L = W.left_marker;
    const spacing = study.spacing_mm;
    const [seg, ...arrays] = await Promise.all([
      study.maps.includes("siopen_map") ? fetchArray(`/api/studies/${id}/maps/siopen_map`, Uint8Array) : null,
      ...study.views.map(v => fetchArray(`/api/studies/${id}/views/${v}`, Float32Array))]);
    const segMap = seg ? seg.data : null;
    study.views.forEach((v, i) => { views[v] = arrays[i]; });
    const labelOf = key => SIOPEN.findIndex(s => s.key === key) + 1;
    viewer.lesions = (study.auto ? study.auto.lesions : []).map((l, i) => Object.assign({}, l, {
      n: i + 1, label: labelOf(l.segment), segmentName: segName("siopen", l.segment) }));
    if (views.anterior) viewer.addPanel({ id: "anterior", label: W.anterior, ...views.anterior, spacing, segMap, markers: [R, L] });
    if (views.posterior) viewer.addPanel({ id: "posterior", label: W.posterior, ...views.posterior, spacing, segMap, mirror: true, markers: [L, R] });
    viewer.setHighlight(selected + 1);
    const first = viewer.panels[0];
    if (first) { $("win-lo").value = first.lo; $("win-hi").value = first.hi; }
    highlightRow();
    document.body.dataset.viewerReady = "1";
  }

  function toggleGeo(on) {
    if (on && !geoPanel && views.anterior && views.posterior) {
      geoPanel = viewer.addPanel({ id: "geomean", label: W.geomean, data: geometricMean(views.anterior.data, views.posterior.data),
        rows: views.anterior.rows, cols: views.anterior.cols, spacing: study.spacing_mm, segMap: viewer.panels[0].segMap, markers: [W.right_marker, W.left_marker] });
      viewer.setHighlight(viewer.highlight);
    } else if (!on && geoPanel) { viewer.removePanel(geoPanel); geoPanel = null; }
  }

  // --- controls ---
  const lo = $("win-lo"), hi = $("win-hi"), target = $("win-target");
  lo.addEventListener("input", () => viewer && viewer.setWindow(target.value, +lo.value, Math.max(+hi.value, +lo.value + 1)));
  hi.addEventListener("input", () => viewer && viewer.setWindow(target.value, +lo.value, Math.max(+hi.value, +lo.value + 1)));
  target.addEventListener("change", () => {
    const p = viewer && viewer.panels[target.value === "all" ? 0 : +target.value];
    if (p) { lo.value = p.lo; hi.value = p.hi; }
  });
  $("show-segments").addEventListener("change", e => { viewer.showSegments = e.target.checked; viewer.draw(); });
  $("show-lesions").addEventListener("change", e => { viewer.showLesions = e.target.checked; viewer.draw(); });
  $("show-geomean").addEventListener("change", e => toggleGeo(e.target.checked));
  $("invert").addEventListener("change", e => viewer.setInvert(e.target.checked));
  $("zoom-in").addEventListener("click", () => viewer.zoom(1.25));
  $("zoom-out").addEventListener("click", () => viewer.zoom(0.8));
  $("zoom-reset").addEventListener("click", () => viewer.reset());
  $("accept-all").addEventListener("click", () => call("POST", `/api/studies/${id}/accept-all`, () => ({ version: study.version })));
  let impTimer = null;
  const saveImpression = () => {
    clearTimeout(impTimer);
    return call("PUT", `/api/studies/${id}/impression`, () => (study.locked || $("impression").value === study.impression)
      ? null : { text: $("impression").value, version: study.version });
  };
  $("impression").addEventListener("input", () => { clearTimeout(impTimer); impTimer = setTimeout(saveImpression, 800); });
  $("impression").addEventListener("blur", saveImpression);
  $("sign").addEventListener("click", async () => {
    if (!(await saveImpression())) return;
    if (confirm(W.confirm_sign)) await call("POST", `/api/studies/${id}/sign`, () => ({ version: study.version }));
  });
  $("amend").addEventListener("click", () => { $("amend-reason").value = ""; $("amend-dialog").showModal(); });
  $("amend-dialog").addEventListener("close", () => {
    const reason = $("amend-reason").value.trim();
    if ($("amend-dialog").returnValue === "ok" && reason)
      call("POST", `/api/studies/${id}/amend`, () => ({ reason, version: study.version }));
  });

  async function nextStudy() {
    const rows = await api("GET", "/api/studies");
    const todo = rows.filter(r => r.id !== id && (r.status === "scored" || r.status === "in_review"));
    if (todo.length) location.href = `/studies/${todo[0].id}`;
    else banner(W.no_next, "info");
  }
  $("next-study").addEventListener("click", nextStudy);

  document.addEventListener("keydown", e => {
    const tag = (e.target.tagName || "").toLowerCase();
    if (tag === "textarea" || tag === "input" || tag === "select" || e.ctrlKey || e.metaKey || e.altKey) {
      if (e.key === "Escape" && tag === "textarea") e.target.blur();
      return;
    }
    if (document.querySelector("dialog[open]")) return;
    const seg = SIOPEN[selected];
    if (e.key === "ArrowDown") { select(selected + 1); e.preventDefault(); }
    else if (e.key === "ArrowUp") { select(selected - 1); e.preventDefault(); }
    else if (/^[0-9]$/.test(e.key) && +e.key <= MAX.siopen && study.auto && !study.locked) { setGrade("siopen", seg.key, +e.key); e.preventDefault(); }
    else if (e.key === "Enter" && tag !== "button" && study.auto && !study.locked) {
      setGrade("siopen", seg.key, study.auto.siopen.segments[seg.key]); select(selected + 1); e.preventDefault();
    }
    else if ((e.key === "a" || e.key === "A") && study.auto && !study.locked) $("accept-all").click();
    else if (e.key === "s" || e.key === "S") $("show-segments").click();
    else if (e.key === "l" || e.key === "L") $("show-lesions").click();
    else if (e.key === "g" || e.key === "G") $("show-geomean").click();
    else if (e.key === "+" || e.key === "=") viewer.zoom(1.25);
    else if (e.key === "-") viewer.zoom(0.8);
    else if (e.key === "i" || e.key === "I") { $("impression").focus(); e.preventDefault(); }
    else if (e.key === "n" || e.key === "N") nextStudy();
  });

  buildTables();
  load();
})();
