"use strict";
(() => {
  const form = document.getElementById("user-form");
  form.addEventListener("submit", async e => {
    e.preventDefault();
    const d = Object.fromEntries(new FormData(form).entries());
    const msg = document.getElementById("user-message");
    try {
      const resp = await fetch("/api/users", { method: "POST", headers: { "Content-Type": "application/json", "X-CSRF-Token": form.dataset.csrf }, body: JSON.stringify(d) });
      const data = await resp.json();
      if (!resp.ok) throw new Error(data.detail);
      location.reload();
    } catch (err) { msg.textContent = err.message; msg.className = "error"; }
  });
})();
