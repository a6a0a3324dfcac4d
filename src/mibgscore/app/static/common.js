"use strict";
// Shared helpers: JSON API calls with the CSRF header, language choice, logout.
const MIBG = (() => {
  const bootEl = document.getElementById("boot");
  const boot = bootEl ? JSON.parse(bootEl.textContent) : {};
  const csrfFrom = () => boot.csrf || (document.getElementById("logout") || {}).dataset?.csrf;

  async function api(method, url, body) {
    const opts = { method, headers: { "X-CSRF-Token": csrfFrom() }, credentials: "same-origin" };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    const resp = await fetch(url, opts);
    let data = null;
    const type = resp.headers.get("content-type") || "";
    if (type.includes("json")) data = await resp.json();
    if (resp.status === 401) { location.href = "/login"; }
    if (!resp.ok) {
      const err = new Error((data && data.detail) || resp.statusText);
      err.status = resp.status;
      err.data = data;
      throw err;
    }
    return data;
  }

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k === "style") e.style.cssText = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined && v !== false) e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  document.addEventListener("DOMContentLoaded", () => {
    const lang = document.getElementById("language-select");
    if (lang) lang.addEventListener("change", async () => {
      await api("PUT", "/api/me/language", { language: lang.value });
      location.reload();
    });
    const out = document.getElementById("logout");
    if (out) out.addEventListener("click", async () => {
      await api("POST", "/logout");
      location.href = "/login";
    });
  });
  return { boot, api, el };
})();
