"use strict";
// Reading page: viewer + score panel. Every click saves at once (with the study version);
// a 409 from the server means someone else changed the reading: we say so and save nothing.
// The grades are never computed here: the server recomputes SIOPEN and Curie from the lesion
// list plus the reader's overrides and returns both.
(() => {
  const { boot, api, el } = MIBG;
  const W = boot.words;
  const id = boot.study_id;
  const SIOPEN = boot.schemes.siopen, CURIE = boot.schemes.curie;
  const MAX = boot.max_grades;   // highest grade of each segment table in use
  const REASONS = ["physiological", "artefact", "injection_site"];
  const PRESETS = [[0, 100], [0, 50], [0, 25], [0, 10]];   // window presets, % of the maximum
  let study = null;
  let selected = -1;             // index into SIOPEN; -1: none (nothing is selected on opening)
  let viewer = null, geoPanel = null;
  let views = {};
  let preset = -1;               // index into PRESETS; -1: the automatic window

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
  const pct = x => `${Math.round(100 * x)} %`;

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
        el("td", {}, el("span", { class: "swatch", style: `background: rgb(${SEG_COLORS[i % 12].join(",")})` }), seg.name,
          el("span", { class: "flag check-flag", title: W.check_title, text: ` ⚠ ${W.check}` }),
          el("span", { class: "flag override-flag", title: W.overridden_title, text: ` ◆ ${W.overridden}` })),
        el("td", { class: "num conf", title: W.confidence_title }),
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
      cb.append(el("tr", { "data-segment": seg.key }, el("td", {}, seg.name,
        el("span", { class: "flag override-flag", text: " ◆" })), el("td", { class: "num auto" }), el("td", {}, btns)));
    }
  }

  function fill() {
    const s = study;
    const auto = s.auto;
    const locked = s.locked || !auto;
    const check = new Set(s.check || []);
    for (const [scheme, rows, body] of [["siopen", SIOPEN, "siopen-body"], ["curie", CURIE, "curie-body"]]) {
      const over = (s.overridden || {})[scheme] || {};
      for (const seg of rows) {
        const tr = $(body).querySelector(`tr[data-segment="${seg.key}"]`);
        const a = auto ? auto[scheme].segments[seg.key] : null;
        const f = s[scheme] ? s[scheme][seg.key] : null;
        tr.querySelector(".auto").textContent = a ?? "—";
        tr.classList.toggle("edited", a !== null && f !== a);
        tr.classList.toggle("overridden", seg.key in over);
        const of = tr.querySelector(".override-flag");
        if (of) of.title = over[seg.key] && over[seg.key].startsWith("siopen:")
          ? W.overridden_via.replace("{segment}", segName("siopen", over[seg.key].slice(7))) : W.overridden_title;
        if (scheme === "siopen") {
          const c = (s.confidence || {})[seg.key];
          tr.querySelector(".conf").textContent = c === undefined ? "" : Math.round(100 * c);
          tr.classList.toggle("check", check.has(seg.key));
        }
        tr.querySelectorAll("button.g").forEach(b => {
          const g = +b.dataset.grade;
          b.classList.toggle("on", g === f);
          b.classList.toggle("is-auto", g === a);
          b.setAttribute("aria-checked", g === f ? "true" : "false");
          b.disabled = locked;
        });
      }
    }
    $("siopen-total").textContent = s.siopen_total ?? "—";
    $("siopen-auto-total").textContent = auto ? auto.siopen.total : "—";
    $("curie-total").textContent = s.curie_total ?? "—";
    $("curie-auto-total").textContent = auto ? auto.curie.total : "—";
    $("status-badge").textContent = W["status_" + s.status] || s.status;
    $("status-badge").className = `badge status-${s.status}`;
    $("accept-all").disabled = locked;
    $("impression").disabled = s.locked;
    $("sign").hidden = s.locked; $("sign").disabled = !auto;
    $("amend").hidden = !s.locked;
    for (const b of document.querySelectorAll(".edit-tool")) b.disabled = locked;
    if (locked && viewer && viewer.mode !== "inspect") setMode("inspect");
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
    if (viewer) {
      viewer.setLesions(lesionsForViewer());
      viewer.check = new Set(SIOPEN.map((x, i) => check.has(x.key) ? i + 1 : 0).filter(Boolean));
      viewer.draw();
    }
    highlightRow();
  }

  function segName(scheme, key) {
    const seg = (scheme === "curie" ? CURIE : SIOPEN).find(x => x.key === key);
    return seg ? seg.name : key;
  }

  function reasonWord(r) { return W["reason_" + r] || r; }

  function changesText(d) {
    const parts = [];
    for (const scheme of ["siopen", "curie"]) {
      for (const [k, [a, b]] of Object.entries((d.changes || {})[scheme] || {})) {
        parts.push(`${scheme === "siopen" ? "SIOPEN" : "Curie"} ${segName(scheme, k)} ${a} → ${b}`);
      }
    }
    return parts.length ? ` (${parts.join(", ")})` : "";
  }

  function describe(h) {
    const d = h.detail || {};
    switch (h.action) {
      case "grade": return `${d.scheme === "curie" ? "Curie" : "SIOPEN"} ${segName(d.scheme, d.segment)}: ${d.from} → ${d.to} (${W.automatic} ${d.auto})` +
        (d.overridden ? ` · ${W.overridden}` : "") + changesText({ changes: Object.fromEntries(Object.entries(d.changes || {}).map(([sc, v]) =>
          [sc, Object.fromEntries(Object.entries(v).filter(([k]) => !(sc === d.scheme && k === d.segment)))])) });
      case "lesion": return (d.to === "added" ? `${W.lesion_added} #${d.lesion} (${W[d.kind] || d.kind}, ${segName("siopen", d.segment)})`
        : d.to ? `${W.lesion_rejected} #${d.lesion}: ${reasonWord(d.to)}` : `${W.lesion_restored} #${d.lesion}`) + changesText(d);
      case "scored": return `${W.automatic} SIOPEN ${d.siopen_total}, Curie ${d.curie_total}`;
      case "sign": return `${W.sign}: SIOPEN ${d.siopen_total} (${W.automatic} ${d.auto_siopen_total})` + (d.edited && d.edited.length ? `, ${W.edited}: ${d.edited.length}` : "");
      case "amend": return `${W.amend}: «${d.reason}»`;
      case "accept_all": return W.accept_all;
      case "impression": return `${W.impression} (${d.to_length})`;
      default: return h.action;
    }
  }

  function lesionsForViewer() {
    const labelOf = key => SIOPEN.findIndex(s => s.key === key) + 1;
    return (study.lesions || []).map(l => Object.assign({}, l, {
      n: l.id, segment: l.siopen, label: labelOf(l.siopen), segmentName: segName("siopen", l.siopen) }));
  }

  function lesionText(l) {
    const extent = l.fraction != null ? ` (${pct(l.fraction)})` : "";
    const who = l.source === "auto" ? `${W.confidence} ${pct(l.confidence)}` : W.added_by_reader;
    return `#${l.id} ${W[l.kind] || l.kind}${extent} · ${who}`;
  }

  function lesionActions(l) {
    const box = el("span", { class: "lesion-actions" });
    if (study.locked) return box;
    if (l.rejected) box.append(el("button", { class: "small", text: W.restore, onclick: () => editLesion(l.id, null) }));
    else if (l.source !== "auto") box.append(el("button", { class: "small", text: W.remove, onclick: () => editLesion(l.id, "added_in_error") }));
    else for (const r of REASONS) box.append(el("button", { class: "small", "data-reason": r, title: W.reject_as.replace("{reason}", reasonWord(r)), text: reasonWord(r), onclick: () => editLesion(l.id, r) }));
    return box;
  }

  function highlightRow() {
    document.querySelectorAll("#siopen-body tr").forEach((tr, i) => tr.classList.toggle("selected", i === selected));
    const list = $("lesion-list");
    if (selected < 0) {
      list.replaceChildren(el("p", { class: "muted", text: W.choose_segment }));
      return;
    }
    const seg = SIOPEN[selected];
    list.replaceChildren(el("h3", { text: W.lesions_in.replace("{segment}", seg.name) }));
    const ls = (study && study.lesions || []).filter(l => l.siopen === seg.key || (l.siopen_fractions && seg.key in l.siopen_fractions));
    if (!ls.length) list.append(el("p", { class: "muted", text: W.no_lesions }));
    else {
      const ul = el("ul");
      for (const l of ls) {
        ul.append(el("li", { class: l.rejected ? "rejected" : "", "data-lesion": l.id },
          el("span", { text: lesionText(l) + (l.rejected ? ` · ${W.rejected}: ${reasonWord(l.rejected)}` : "") }), " ", lesionActions(l)));
      }
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
  const editLesion = (lesion, rejected) => {
    closeMenu();
    return call("PUT", `/api/studies/${id}/lesions/${lesion}`, () => ({ rejected, version: study.version }));
  };

  // --- the menu over a lesion clicked on the image: reject with a reason, or restore
  function closeMenu() { $("lesion-menu").hidden = true; }
  function openMenu(l, ev) {
    const m = $("lesion-menu");
    m.replaceChildren(el("div", { class: "menu-title", text: `${lesionText(l)} · ${segName("siopen", l.siopen)}` }));
    if (l.rejected) m.append(el("div", { class: "muted", text: `${W.rejected}: ${reasonWord(l.rejected)}` }));
    const acts = lesionActions(l);
    acts.classList.add("menu-actions");
    if (!l.rejected && l.source === "auto" && !study.locked) m.append(el("span", { class: "muted", text: W.reject_label }));
    m.append(acts, el("button", { class: "small", text: "✕", title: "Esc", onclick: closeMenu }));
    const host = $("viewer").getBoundingClientRect();
    m.style.left = `${Math.min(ev.clientX - host.left + 12, host.width - 260)}px`;
    m.style.top = `${ev.clientY - host.top + 12}px`;
    m.hidden = false;
    const first = m.querySelector(".menu-actions button");
    if (first) first.focus();
  }

  // --- edit modes: inspect (click a lesion to reject it), add a focus, paint a diffuse region
  function setMode(mode) {
    const cur = viewer ? viewer.mode : "inspect";
    const next = cur === mode ? "inspect" : mode;
    if (viewer) viewer.mode = next;
    $("mode-focus").classList.toggle("on", next === "focus");
    $("mode-paint").classList.toggle("on", next === "paint");
    $("mode-focus").setAttribute("aria-pressed", next === "focus");
    $("mode-paint").setAttribute("aria-pressed", next === "paint");
    $("viewer").dataset.mode = next;
    $("mode-hint").textContent = next === "focus" ? W.hint_focus : next === "paint" ? W.hint_paint : W.hint_inspect;
  }

  function onImageClick(panel, px, lesion, ev) {
    if (!study || !study.auto) return;
    if (viewer.mode === "focus" && !study.locked) {
      call("POST", `/api/studies/${id}/lesions`, () => ({ row: px.row, col: px.col, version: study.version }));
      return;
    }
    if (lesion) {
      const i = SIOPEN.findIndex(s => s.key === lesion.siopen);
      if (i >= 0) select(i, false);
      openMenu(lesion, ev);
      return;
    }
    closeMenu();
    const lab = panel.segMap ? panel.segMap[px.row * panel.cols + px.col] : 0;
    if (lab) select(lab - 1);   // a click on a bone selects its segment
  }

  function onPaint(dabs) {
    if (!study || study.locked || !study.auto) return;
    call("POST", `/api/studies/${id}/lesions/diffuse`, () => ({ strokes: dabs, version: study.version }));
  }

  async function load() {
    study = await api("GET", `/api/studies/${id}`);
    fill();
    if (!study.auto && !["failed"].includes(study.status)) setTimeout(load, 1500);
    else if (!viewer) await buildViewer();
  }

  async function buildViewer() {
    viewer = new Viewer($("viewer"), $("readout"));
    viewer.words = W;
    viewer.checkBelow = study.check_below || 0.7;
    viewer.onClick = onImageClick;
    viewer.onPaint = onPaint;
    $("viewer").mibgViewer = viewer;   // for the browser tests
    const R = W.right_marker, L = W.left_marker;
    const spacing = study.spacing_mm;
    const [seg, regions, ...arrays] = await Promise.all([
      study.maps.includes("siopen_map") ? fetchArray(`/api/studies/${id}/maps/siopen_map`, Uint8Array) : null,
      study.auto ? api("GET", `/api/studies/${id}/diffuse`) : null,
      ...study.views.map(v => fetchArray(`/api/studies/${id}/views/${v}`, Float32Array))]);
    const segMap = seg ? seg.data : null;
    viewer.regions = regions;
    study.views.forEach((v, i) => { views[v] = arrays[i]; });
    viewer.lesions = lesionsForViewer();
    viewer.findings = (study.auto ? study.auto.findings : []).map(f => Object.assign({}, f, {
      text: W["finding_" + f.label] || f.label.replace(/_/g, " ") }));
    if (views.anterior) viewer.addPanel({ id: "anterior", label: W.anterior, ...views.anterior, spacing, segMap, markers: [R, L] });
    if (views.posterior) viewer.addPanel({ id: "posterior", label: W.posterior, ...views.posterior, spacing, segMap, mirror: true, markers: [L, R] });
    viewer.setHighlight(selected + 1);
    showWindow();
    fill();
    document.body.dataset.viewerReady = "1";
  }

  function toggleGeo(on) {
    if (on && !geoPanel && views.anterior && views.posterior) {
      geoPanel = viewer.addPanel({ id: "geomean", label: W.geomean, data: geometricMean(views.anterior.data, views.posterior.data),
        rows: views.anterior.rows, cols: views.anterior.cols, spacing: study.spacing_mm, segMap: viewer.panels[0].segMap, markers: [W.right_marker, W.left_marker] });
      viewer.setHighlight(viewer.highlight);
    } else if (!on && geoPanel) { viewer.removePanel(geoPanel); geoPanel = null; }
  }

  // --- window: sliders, presets with their numbers
  const lo = $("win-lo"), hi = $("win-hi"), target = $("win-target");
  function showWindow() {
    const p = viewer && viewer.panels[target.value === "all" ? 0 : +target.value];
    if (!p) return;
    lo.value = p.lo; hi.value = p.hi;
    $("win-value").textContent = `${Math.round(p.lo)}–${Math.round(p.hi)} %`;
    document.querySelectorAll("#presets button").forEach((b, i) => b.classList.toggle("on", i === preset));
  }
  function applyWindow(l, h) { if (viewer) { viewer.setWindow(target.value, l, Math.max(h, l + 1)); showWindow(); } }
  lo.addEventListener("input", () => { preset = -1; applyWindow(+lo.value, +hi.value); });
  hi.addEventListener("input", () => { preset = -1; applyWindow(+lo.value, +hi.value); });
  target.addEventListener("change", showWindow);
  PRESETS.forEach(([a, b], i) => $("presets").append(el("button", { "data-preset": i, title: `W: ${a}–${b} %`, text: `${a}–${b} %`,
    onclick: () => { preset = i; applyWindow(a, b); } })));
  const nextPreset = () => { preset = (preset + 1) % PRESETS.length; applyWindow(...PRESETS[preset]); };

  $("show-segments").addEventListener("change", e => { viewer.showSegments = e.target.checked; viewer.draw(); });
  $("show-lesions").addEventListener("change", e => { viewer.showLesions = e.target.checked; viewer.draw(); });
  $("show-findings").addEventListener("change", e => { viewer.showFindings = e.target.checked; viewer.draw(); });
  $("show-geomean").addEventListener("change", e => toggleGeo(e.target.checked));
  $("invert").addEventListener("change", e => viewer.setInvert(e.target.checked));
  $("zoom-in").addEventListener("click", () => viewer.zoom(1.25));
  $("zoom-out").addEventListener("click", () => viewer.zoom(0.8));
  $("zoom-reset").addEventListener("click", () => viewer.reset());
  $("mode-focus").addEventListener("click", () => setMode("focus"));
  $("mode-paint").addEventListener("click", () => setMode("paint"));
  $("accept-all").addEventListener("click", () => call("POST", `/api/studies/${id}/accept-all`, () => ({ version: study.version })));
  let impTimer = null;
  const saveImpression = () => {
    clearTimeout(impTimer);
    return call("PUT", `/api/studies/${id}/impression`, () => (study.locked || $("impression").value === study.impression)
      ? null : { text: $("impression").value, version: study.version });
  };
  $("impression").addEventListener("input", () => { clearTimeout(impTimer); impTimer = setTimeout(saveImpression, 800); });
  $("impression").addEventListener("blur", saveImpression);

  // --- sign: a dialog whose Sign button has the focus (Enter signs, Esc cancels)
  function askSign() {
    if (!study || study.locked || !study.auto) return;
    $("sign-summary").textContent = W.sign_summary.replace("{siopen}", study.siopen_total).replace("{curie}", study.curie_total);
    $("sign-dialog").showModal();
    $("sign-ok").focus();
  }
  $("sign").addEventListener("click", askSign);
  $("sign-dialog").addEventListener("close", async () => {
    if ($("sign-dialog").returnValue !== "ok") return;
    if (!(await saveImpression())) return;
    await call("POST", `/api/studies/${id}/sign`, () => ({ version: study.version }));
  });
  $("amend").addEventListener("click", () => { $("amend-reason").value = ""; $("amend-dialog").showModal(); });
  $("amend-dialog").addEventListener("close", () => {
    const reason = $("amend-reason").value.trim();
    if ($("amend-dialog").returnValue === "ok" && reason)
      call("POST", `/api/studies/${id}/amend`, () => ({ reason, version: study.version }));
  });

  async function nextStudy() {
    const rows = await api("GET", "/api/studies");
    const todo = rows.filter(r => r.id !== id && (r.todo === "read" || r.todo === "sign"));
    if (todo.length) location.href = `/studies/${todo[0].id}`;
    else banner(W.no_next, "info");
  }
  $("next-study").addEventListener("click", nextStudy);

  function nextCheck() {
    const flagged = SIOPEN.map((s, i) => (study.check || []).includes(s.key) ? i : -1).filter(i => i >= 0);
    if (!flagged.length) { banner(W.nothing_to_check, "info"); return; }
    select(flagged.find(i => i > selected) ?? flagged[0]);
  }

  document.addEventListener("keydown", e => {
    const tag = (e.target.tagName || "").toLowerCase();
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && !document.querySelector("dialog[open]")) {
      if (tag === "textarea") saveImpression();
      askSign(); e.preventDefault(); return;
    }
    if (tag === "textarea" || tag === "input" || tag === "select" || e.ctrlKey || e.metaKey || e.altKey) {
      if (e.key === "Escape" && tag === "textarea") e.target.blur();
      return;
    }
    if (document.querySelector("dialog[open]")) return;
    if (e.key === "Escape") { closeMenu(); setMode("inspect"); return; }
    if (!$("lesion-menu").hidden && tag === "button") return;   // the menu's buttons take Enter
    const seg = selected >= 0 ? SIOPEN[selected] : null;
    const editable = study && study.auto && !study.locked;
    if (e.key === "ArrowDown") { select(selected + 1); e.preventDefault(); }
    else if (e.key === "ArrowUp") { select(selected < 0 ? -1 : selected - 1); e.preventDefault(); }
    else if (/^[0-9]$/.test(e.key) && +e.key <= MAX.siopen && editable) {
      if (seg) setGrade("siopen", seg.key, +e.key);
      else banner(W.choose_segment, "info");
      e.preventDefault();
    }
    else if (e.key === "Enter" && tag !== "button" && editable && seg) {
      setGrade("siopen", seg.key, study.auto.siopen.segments[seg.key]); select(selected + 1); e.preventDefault();
    }
    else if ((e.key === "a" || e.key === "A") && editable) $("accept-all").click();
    else if (e.key === "c" || e.key === "C") { nextCheck(); e.preventDefault(); }
    else if ((e.key === "f" || e.key === "F") && editable) setMode("focus");
    else if ((e.key === "d" || e.key === "D") && editable) setMode("paint");
    else if (e.key === "s" || e.key === "S") $("show-segments").click();
    else if (e.key === "l" || e.key === "L") $("show-lesions").click();
    else if (e.key === "u" || e.key === "U") $("show-findings").click();
    else if (e.key === "g" || e.key === "G") $("show-geomean").click();
    else if (e.key === "w" || e.key === "W") nextPreset();
    else if (e.key === "+" || e.key === "=") viewer.zoom(1.25);
    else if (e.key === "-") viewer.zoom(0.8);
    else if (e.key === "i" || e.key === "I") { $("impression").focus(); e.preventDefault(); }
    else if (e.key === "n" || e.key === "N") nextStudy();
  });

  buildTables();
  setMode("inspect");
  load();
})();
