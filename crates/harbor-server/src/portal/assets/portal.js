// Harbor-rs portal: progressive enhancement only; every page works without it.
"use strict";
document.addEventListener("click", (e) => {
  const b = e.target.closest("[data-copy]");
  if (!b) return;
  const el = document.getElementById(b.dataset.copy);
  if (!el) return;
  const text = el.textContent.trim();
  const done = () => { const t = b.textContent; b.textContent = "Copied"; setTimeout(() => { b.textContent = t; }, 1500); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => select(el));
  } else {
    select(el);
    try { document.execCommand("copy"); done(); } catch (_) { /* selected for a manual copy */ }
  }
});
function select(el) {
  const r = document.createRange(); r.selectNodeContents(el);
  const s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
}
document.addEventListener("submit", (e) => {
  const q = e.target.dataset && e.target.dataset.confirm;
  if (q && !window.confirm(q)) e.preventDefault();
});
// Label colours (data-color is #rgb or #rrggbb, checked by the server), with black or
// white text, whichever reads better.
for (const el of document.querySelectorAll("[data-color]")) {
  let hex = el.dataset.color.slice(1);
  if (hex.length === 3) hex = hex.split("").map((c) => c + c).join("");
  const n = parseInt(hex, 16);
  if (Number.isNaN(n)) continue;
  const luma = 0.299 * ((n >> 16) & 255) + 0.587 * ((n >> 8) & 255) + 0.114 * (n & 255);
  el.style.backgroundColor = "#" + hex;
  el.style.color = luma > 150 ? "#000" : "#fff";
}
// A registry type with a fixed URL (Docker Hub): its option carries data-url; choosing it
// fills the URL field and locks it (the server uses the fixed URL whatever is sent).
for (const sel of document.querySelectorAll("select[data-url-field]")) {
  const field = document.getElementById(sel.dataset.urlField);
  if (!field) continue;
  const sync = () => {
    const opt = sel.selectedOptions[0];
    const url = opt && opt.dataset.url;
    if (url) { field.value = url; field.readOnly = true; }
    else if (field.readOnly) { field.value = ""; field.readOnly = false; }
  };
  sel.addEventListener("change", sync);
  sync();
}
