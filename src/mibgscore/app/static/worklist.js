"use strict";
// Worklist: list, filter and search studies; upload DICOM files, folders or zips.
(() => {
  const { boot, api, el } = MIBG;
  const W = boot.words;
  const body = document.getElementById("worklist-body");
  const search = document.getElementById("search");
  const statusFilter = document.getElementById("status-filter");
  let rows = [];
  let timer = null;

  function statusCell(r) {
    const badge = el("span", { class: `badge status-${r.status}`, text: boot.status_words[r.status] || r.status });
    const cell = el("td", {}, badge);
    if (r.progress) {
      const p = r.progress;
      cell.append(" ", p.state === "queued"
        ? el("span", { class: "muted", text: `${W.queued} #${p.position + 1}` })
        : el("progress", { max: "1", value: String(p.fraction), title: W.scoring_progress }));
    }
    if (r.error) cell.append(el("div", { class: "error small", text: r.error }));
    return cell;
  }

  function render() {
    const q = search.value.trim().toLowerCase();
    const st = statusFilter.value;
    const shown = rows.filter(r => (!st || r.status === st) && (!q ||
      [r.display_name, r.patient_name, r.patient_id, r.description, r.study_date].join(" ").toLowerCase().includes(q)));
    const focused = document.activeElement && document.activeElement.classList.contains("study-row")
      ? document.activeElement.dataset.study : null;
    body.replaceChildren();
    if (!shown.length) {
      body.append(el("tr", {}, el("td", { colspan: "11", class: "muted", text: W.no_studies })));
      return;
    }
    // rows come in the order of what needs doing (to read, to sign, ...), then newest first
    for (const r of shown) {
      const open = el("span", { class: "row-links" }, el("a", { class: "button", href: `/studies/${r.id}`, text: W.open }));
      if (r.prior_id && r.siopen_total != null)   // a follow-up only where a prior study exists
        open.append(" ", el("a", { class: "button followup-link", href: `/studies/${r.id}/followup`, text: W.followup }));
      if (boot.role === "admin")
        open.append(" ", el("button", { class: "danger", text: W.delete, onclick: async () => {
          if (!confirm(W.confirm_delete)) return;
          await api("DELETE", `/api/studies/${r.id}`);
          load();
        } }));
      // the final score is the reader's: before a reading, the automatic total, marked "auto"
      const final = r.siopen_total == null ? el("td", { class: "num", text: "—" })
        : r.read ? el("td", { class: "num strong final", text: r.siopen_total })
        : el("td", { class: "num final-auto", title: W.auto_total, text: `${W.auto_short} ${r.siopen_total}` });
      const tr = el("tr", { "data-study": r.id, class: "study-row", tabindex: "0" },
        el("td", {}, el("a", { href: `/studies/${r.id}`, text: r.display_name || "—", tabindex: "-1" })),
        el("td", { text: r.patient_id || "—" }),
        el("td", { text: r.age_years == null ? "—" : r.age_years.toFixed(1) }),
        el("td", { text: r.study_date || "—" }),
        el("td", { text: r.description || "" }),
        statusCell(r),
        el("td", { class: `todo todo-${r.todo || "done"}`, text: r.todo ? W["todo_" + r.todo] : "" }),
        el("td", { class: "num", text: r.auto_siopen_total == null ? "—" : r.auto_siopen_total }),
        final,
        el("td", { text: r.reader || "" }),
        el("td", {}, open));
      tr.addEventListener("dblclick", () => { location.href = `/studies/${r.id}`; });
      tr.addEventListener("keydown", e => {
        if (e.target !== tr) return;
        if (e.key === "Enter") { location.href = `/studies/${r.id}`; e.preventDefault(); }
        else if (e.key === "ArrowDown" && tr.nextElementSibling) { tr.nextElementSibling.focus(); e.preventDefault(); }
        else if (e.key === "ArrowUp" && tr.previousElementSibling) { tr.previousElementSibling.focus(); e.preventDefault(); }
      });
      body.append(tr);
    }
    // keyboard: the first row (the first study to do) has the focus; ↑/↓ choose, Enter opens
    const again = focused && body.querySelector(`tr[data-study="${focused}"]`);
    if (again) again.focus();
    else if (!document.activeElement || document.activeElement === document.body) {
      const first = body.querySelector("tr.study-row");
      if (first) first.focus();
    }
  }

  async function load() {
    try {
      rows = await api("GET", "/api/studies");
    } catch (e) {
      if (e.status === 401) { location.href = "/login"; return; }
      throw e;
    }
    render();
    clearTimeout(timer);
    if (rows.some(r => r.status === "new" || r.status === "scoring")) timer = setTimeout(load, 1500);
  }

  function upload(files) {
    if (!files.length) return;
    const form = new FormData();
    for (const f of files) form.append("files", f, f.webkitRelativePath || f.name);  // a folder keeps its tree
    const bar = document.getElementById("upload-progress");
    const msg = document.getElementById("upload-message");
    bar.hidden = false; bar.value = 0; msg.textContent = W.importing;
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/studies/upload");
    xhr.setRequestHeader("X-CSRF-Token", boot.csrf);
    xhr.upload.onprogress = e => { if (e.lengthComputable) bar.value = 100 * e.loaded / e.total; };
    xhr.onload = () => {
      bar.hidden = true;
      let data = {};
      try { data = JSON.parse(xhr.responseText); } catch (_) { /* not JSON */ }
      if (xhr.status !== 200) { msg.textContent = data.detail || xhr.statusText; msg.className = "error"; return; }
      const parts = [W.imported.replace("{n}", data.imported.length)];
      if (data.duplicates.length) parts.push(W.duplicates.replace("{n}", data.duplicates.length));
      msg.className = data.errors.length ? "error" : "ok";
      msg.textContent = parts.concat(data.errors).join(" · ");
      load();
    };
    xhr.send(form);
  }

  document.getElementById("upload-files").addEventListener("change", e => upload([...e.target.files]));
  document.getElementById("upload-folder").addEventListener("change", e => upload([...e.target.files]));
  const zone = document.getElementById("dropzone");
  zone.addEventListener("dragover", e => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", e => { e.preventDefault(); zone.classList.remove("over"); upload([...e.dataTransfer.files]); });
  search.addEventListener("input", render);
  statusFilter.addEventListener("change", render);
  load();
})();
