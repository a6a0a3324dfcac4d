"use strict";
// The PACS pane (search, import), the PACS settings page, and on a study's page the sending
// status of its signed results ("sent" with the time, or the error and a retry button).
(() => {
  const { api, el } = MIBG;
  const call = api;
  const say = (node, text, ok) => { node.textContent = text; node.className = ok ? "ok" : "error"; };

  // --- the PACS pane ---------------------------------------------------------------------
  function pane() {
    const form = document.getElementById("pacs-search");
    if (!form) return;
    const body = document.getElementById("pacs-results");
    const msg = document.getElementById("pacs-message");
    const button = document.getElementById("pacs-import");
    const selected = () => [...body.querySelectorAll("input[type=checkbox]:checked")].map(c => c.value);
    const refreshButton = () => { button.disabled = selected().length === 0; };
    async function search() {
      const params = new URLSearchParams([...new FormData(form).entries()].filter(([, v]) => v));
      msg.textContent = "Searching…"; msg.className = "muted";
      try {
        const data = await call("GET", "/api/pacs/search?" + params);
        body.replaceChildren(...data.studies.map(s => el("tr", { "data-uid": s.study_uid },
          el("td", {}, el("input", { type: "checkbox", value: s.study_uid, "aria-label": "select", onchange: refreshButton })),
          el("td", { text: (s.patient_name || "").replace(/\^/g, " ") }), el("td", { text: s.patient_id }),
          el("td", { text: s.study_date || "" }), el("td", { text: s.description }),
          el("td", { class: "num", text: s.instances ?? "" }),
          el("td", { text: s.mibg ? "MIBG" : "no" , class: s.mibg ? "ok" : "muted" }),
          el("td", {}, s.study_id ? el("a", { href: `/studies/${s.study_id}`, class: "badge", text: s.status }) : el("span", { class: "muted", text: "not imported" })))));
        if (!data.studies.length) body.replaceChildren(el("tr", {}, el("td", { colspan: 8, class: "muted", text: "No NM study found." })));
        msg.textContent = `${data.studies.length} NM studies, ${data.studies.filter(s => s.mibg).length} MIBG.`; msg.className = "muted";
      } catch (err) { say(msg, err.message, false); }
      refreshButton();
    }
    form.addEventListener("submit", e => { e.preventDefault(); search(); });
    button.addEventListener("click", async () => {
      button.disabled = true; msg.textContent = "Importing…"; msg.className = "muted";
      try {
        const r = await call("POST", "/api/pacs/import", { study_uids: selected(), with_prior: document.getElementById("pacs-with-prior").checked });
        say(msg, `${r.imported.length} imported (${r.priors.length} earlier), ${r.duplicates.length} already here` + (r.errors.length ? `; ${r.errors.join(" ")}` : "."), !r.errors.length);
        await search();
      } catch (err) { say(msg, err.message, false); refreshButton(); }
    });
    search();
  }

  // --- settings --------------------------------------------------------------------------
  function settings() {
    const form = document.getElementById("pacs-connection-form");
    if (!form) return;
    form.addEventListener("submit", async e => {
      e.preventDefault();
      const d = Object.fromEntries([...new FormData(form).entries()].filter(([, v]) => v !== ""));
      for (const k of ["port", "our_port"]) if (d[k] !== undefined) d[k] = Number(d[k]);
      d.send_results = form.elements.send_results.checked;
      try { await call("POST", "/api/pacs/connections", d); location.reload(); }
      catch (err) { say(document.getElementById("pacs-connection-message"), err.message, false); }
    });
    document.querySelectorAll(".pacs-test").forEach(b => b.addEventListener("click", async () => {
      const out = document.getElementById(`pacs-test-${b.dataset.id}`);
      out.textContent = "…"; out.className = "muted";
      try { const r = await call("POST", `/api/pacs/connections/${b.dataset.id}/test`); say(out, r.message, r.ok); }
      catch (err) { say(out, err.message, false); }
    }));
    document.querySelectorAll(".pacs-delete").forEach(b => b.addEventListener("click", async () => {
      if (!confirm("Delete this PACS connection?")) return;
      await call("DELETE", `/api/pacs/connections/${b.dataset.id}`); location.reload();
    }));
  }

  // --- a study's sending status ------------------------------------------------------------
  function sending() {
    const m = location.pathname.match(/^\/studies\/(\d+)$/);
    const bar = document.querySelector("header.topbar");
    if (!m || !bar) return;
    const box = el("span", { id: "pacs-status", role: "status", class: "muted" });
    bar.insertBefore(box, bar.querySelector(".spacer")?.nextSibling || null);
    async function show() {
      let s;
      try { s = await call("GET", `/api/pacs/studies/${m[1]}`); } catch { return; }
      if (s.state === "none") { box.replaceChildren(); }
      else if (s.state === "sent") { box.className = "ok"; box.replaceChildren(`PACS: sent ${new Date(s.sent_at).toLocaleString()}`); }
      else if (s.state === "error") {
        box.className = "error";
        box.replaceChildren(`PACS: not sent — ${s.error} `, el("button", { class: "link", id: "pacs-retry", text: "Retry", onclick: async () => {
          box.replaceChildren("PACS: sending…"); try { await call("POST", `/api/pacs/studies/${m[1]}/retry`); } catch (err) { /* shown below */ } show(); } }));
      } else { box.className = "muted"; box.replaceChildren("PACS: waiting to send…"); }
      if (s.configured && s.state !== "sent") setTimeout(show, 5000);
    }
    show();
    document.addEventListener("mibg:signed", show);
  }

  document.addEventListener("DOMContentLoaded", () => { pane(); settings(); sending(); });
})();
