"use strict";
// The Models page: models side by side, adaptation with progress, activation, rescoring.
(() => {
  const { api, el } = MIBG;
  const $ = id => document.getElementById(id);
  let polling = null;

  const fmt = (v, digits) => (v === null || v === undefined) ? "–" : Number(v).toFixed(digits);
  const pct = v => (v === null || v === undefined) ? "–" : `${Math.round(100 * v)} %`;
  const sha = m => (m && m.sha256) ? m.sha256.slice(0, 12) : "";

  function say(text, ok) {
    const m = $("model-message");
    m.textContent = text || "";
    m.className = ok ? "ok" : "error";
  }

  // One pair of cells: before and after, the better one in bold.
  function pair(f, key, digits, lowerIsBetter, asPct) {
    if (!f) return [el("td", { class: "num muted", text: "–" }), el("td", { class: "num muted", text: "–" })];
    const b = f.before[key], a = f.after[key];
    const show = v => asPct ? pct(v) : fmt(v, digits);
    const shown = v => asPct ? Math.round(100 * v) : Number(Number(v).toFixed(digits));
    const known = v => v !== null && v !== undefined;
    // the better figure in bold, where it differs as shown
    const better = (known(a) && known(b) && shown(a) !== shown(b))
      ? ((lowerIsBetter ? a < b : a > b) ? "after" : "before") : null;
    return [el("td", { class: "num" + (better === "before" ? " strong" : ""), text: show(b) }),
            el("td", { class: "num" + (better === "after" ? " strong" : ""), text: show(a),
                       title: key === "icc_a1" && f.after.icc_a1_ci ? `95 % CI ${fmt(f.after.icc_a1_ci[0], 3)} to ${fmt(f.after.icc_a1_ci[1], 3)}` : null })];
  }

  function modelRow(m) {
    const name = el("td", {}, el("strong", { text: m.name }), " ",
      m.model ? el("span", { class: "muted small", text: `${m.model.version || ""} · ${sha(m.model)}` }) : null);
    const action = el("td", {});
    if (m.active) action.append(el("span", { class: "badge status-signed", text: "active" }));
    else if (!m.error) action.append(el("button", { type: "button", class: "activate", "data-key": m.key,
      text: "Activate", onclick: () => activate(m.key, m.name) }));
    const tr = el("tr", { "data-key": m.key, class: m.active ? "active-model" : "" }, name);
    if (m.error) {
      tr.append(el("td", { colspan: 13, class: "error model-refusal", text: m.error }), action);
      return tr;
    }
    if (m.key === "shipped") {
      tr.append(el("td", { class: "muted", text: "bundled" }),
                el("td", { colspan: 11, class: "muted small",
                           text: "The shipped model's figures on each centre's studies are the “before” columns of the models adapted from it." }),
                el("td", {}), action);
      return tr;
    }
    const f = m.figures;
    tr.append(el("td", { text: (m.created || "").replace("T", " ").slice(0, 16) }),
              el("td", { class: "num", text: m.n_studies === undefined ? "–" : `${m.n_studies} (${m.n_patients})` }),
              ...pair(f, "icc_a1", 3, false), ...pair(f, "mae", 2, true), ...pair(f, "weighted_kappa", 3, false),
              ...pair(f, "threshold_3", 0, false, true), ...pair(f, "normals_scored_0", 0, false, true),
              el("td", {}, m.report ? el("a", { href: m.report, target: "_blank", rel: "noopener", text: "report" }) : "–"),
              action);
    return tr;
  }

  function render(state) {
    const a = state.active;
    $("active-model").textContent = `scoring with ${a.label}`;
    const w = $("model-warning");
    w.hidden = !state.warning;
    w.textContent = state.warning || "";
    const rb = $("rollback");
    rb.disabled = !state.previous;
    rb.textContent = state.previous ? `Roll back to ${state.previous}` : "Roll back";
    $("models-body").replaceChildren(...state.models.map(modelRow));
    $("signed-count").textContent = `${state.signed_studies} signed studies (at least ${state.min_studies} needed)`;
    $("model-history").replaceChildren(...state.history.map(h =>
      el("li", { text: `${h.at.replace("T", " ").slice(0, 19)} · ${h.action} ${h.name} · ${h.by}` })));
    showJob(state.job);
  }

  function showJob(job) {
    const bar = $("adapt-progress"), status = $("adapt-status");
    const running = job && job.state === "running";
    bar.hidden = !running;
    $("adapt-signed").disabled = !!running;
    if (!job) { status.textContent = ""; return; }
    bar.value = Math.round(100 * job.fraction);
    if (running) {
      const what = job.phase === "scoring" ? `scoring ${job.done} of ${job.total} studies` : job.phase;
      const eta = job.eta_seconds !== null ? ` · about ${Math.max(1, Math.round(job.eta_seconds))} s left` : "";
      status.textContent = `adapting ${job.name}: ${what}${eta}`;
      status.className = "";
      if (!polling) polling = setInterval(poll, 1000);
    } else {
      status.textContent = job.state === "done"
        ? `${job.name} adapted in ${Math.round(job.seconds)} s; compare its figures above before activating it.`
        : job.error;
      status.className = job.state === "done" ? "ok" : "error";
    }
  }

  async function poll() {
    try {
      const { job } = await api("GET", "/api/models/adaptation");
      if (!job || job.state !== "running") {
        clearInterval(polling);
        polling = null;
        await refresh();
        showJob(job);
      } else showJob(job);
    } catch (err) { say(err.message); }
  }

  async function refresh() {
    render(await api("GET", "/api/models"));
    const studies = await api("GET", "/api/models/studies");
    $("model-studies-body").replaceChildren(...(studies.length ? studies.map(studyRow)
      : [el("tr", {}, el("td", { colspan: 6, class: "muted", text: "no studies" }))]));
  }

  function studyRow(st) {
    const model = st.model ? el("span", { class: st.active_model ? "" : "muted",
      title: st.model_sha256 || "", text: `${st.model} ${(st.model_sha256 || "").slice(0, 8)}` }) : "–";
    const btn = el("button", { type: "button", class: "rescore", text: "Rescore",
      disabled: st.locked || ["new", "scoring"].includes(st.status) ? "disabled" : null,
      title: st.locked ? "signed: amend the reading first" : null,
      onclick: () => rescore(st) });
    return el("tr", { "data-study": st.id },
      el("td", {}, el("a", { href: `/studies/${st.id}`, text: st.patient_id || "?" })),
      el("td", { text: st.study_date || "" }),
      el("td", {}, el("span", { class: `badge status-${st.status}`, text: st.status })),
      el("td", {}, model, st.active_model ? el("span", { class: "small ok", text: " active" }) : null),
      el("td", { class: "num", text: st.auto_siopen_total ?? "–" }),
      el("td", {}, btn));
  }

  async function activate(key, name) {
    try { render(await api("POST", "/api/models/activate", { key })); say(`${name} is now the active model.`, true); await refresh(); }
    catch (err) { say(err.message); }
  }

  async function rescore(st) {
    try {
      const r = await api("POST", `/api/studies/${st.id}/rescore`, { version: st.version });
      say(`study ${st.patient_id || st.id} rescored: automatic SIOPEN total ${r.auto_siopen_total}.`, true);
      await refresh();
    } catch (err) { say(err.message); }
  }

  $("rollback").addEventListener("click", async () => {
    try { render(await api("POST", "/api/models/rollback")); say(`rolled back; scoring with ${$("active-model").textContent.replace("scoring with ", "")}.`, true); await refresh(); }
    catch (err) { say(err.message); }
  });

  $("adapt-form").addEventListener("submit", async e => {
    e.preventDefault();
    try { const { job } = await api("POST", "/api/models/adapt", { name: $("adapt-name").value }); say(""); showJob(job); }
    catch (err) { say(err.message); }
  });

  $("adapt-file").addEventListener("change", async () => {
    const file = $("adapt-file").files[0];
    if (!file) return;
    const form = new FormData();
    form.append("name", $("adapt-name").value);
    form.append("readings", file);
    try {
      const resp = await fetch("/api/models/adapt/upload", { method: "POST", body: form,
        headers: { "X-CSRF-Token": MIBG.boot.csrf }, credentials: "same-origin" });
      const data = await resp.json();
      if (!resp.ok) throw new Error(data.detail);
      say("");
      showJob(data.job);
    } catch (err) { say(err.message); }
    $("adapt-file").value = "";
  });

  const d = new Date();
  $("adapt-name").value = `centre-${d.toISOString().slice(0, 10)}`;
  refresh().catch(err => say(err.message));
})();
