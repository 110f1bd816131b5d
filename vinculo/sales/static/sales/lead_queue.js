// Keyboard shortcuts for "My queue": j/k (or ↓/↑) move between leads, Enter opens one,
// c marks it contacted, q qualifies it, x converts, d jumps to the disqualify reason.
// Every action is also a plain button/link, so the page works without this script.
(function () {
  "use strict";
  function items() { return Array.from(document.querySelectorAll(".queue-item")); }
  function current() { return document.activeElement && document.activeElement.closest(".queue-item"); }
  function move(delta) {
    const all = items();
    if (!all.length) return;
    const i = all.indexOf(current());
    const next = all[Math.max(0, Math.min(all.length - 1, i < 0 ? 0 : i + delta))];
    next.focus();
  }
  // "g" starts the site-wide two-key shortcuts (g d, g c): the key after it is theirs.
  let afterG = 0;
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
    const tag = (ev.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || ev.target.isContentEditable) return;
    if (document.querySelector("dialog[open]")) return;
    if (ev.key === "g") { afterG = Date.now(); return; }
    if (afterG && Date.now() - afterG < 1500) { afterG = 0; return; }
    afterG = 0;
    const item = current();
    const click = function (action) {
      const el = item && item.querySelector('[data-action="' + action + '"]');
      if (el) { ev.preventDefault(); el.click(); }
    };
    switch (ev.key) {
      case "j": case "ArrowDown": ev.preventDefault(); move(1); break;
      case "k": case "ArrowUp": ev.preventDefault(); move(-1); break;
      case "Enter":
        if (item && ev.target === item) { ev.preventDefault(); item.querySelector("a.lead-name").click(); }
        break;
      case "c": click("contacted"); break;
      case "q": click("qualified"); break;
      case "x": click("convert"); break;
      case "d":
        if (item) { const r = item.querySelector('input[name="reason"]'); if (r) { ev.preventDefault(); r.focus(); } }
        break;
    }
  });
})();
