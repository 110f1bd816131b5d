// The pipeline board: drag and drop (plain HTML5 drag events) and the per-card "Move to…"
// forms post to the move endpoint and swap the board with the server's answer (also on a
// 409 conflict or a 422 asking for the lost reason). Without this script the forms post
// normally and the server redirects back.
(function () {
  "use strict";

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function board() {
    return document.getElementById("pipeline-board");
  }

  function announce(message) {
    var region = document.getElementById("board-status");
    if (!region || !message) return;
    region.textContent = "";
    window.setTimeout(function () { region.textContent = message; }, 50);
  }

  function swap(html) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html.trim();
    var fresh = tpl.content.querySelector("#pipeline-board");
    var old = board();
    if (!fresh || !old) {
      window.location.reload();
      return;
    }
    old.replaceWith(fresh);
    if (window.htmx) window.htmx.process(fresh);
    announce(fresh.dataset.message);
    var reason = fresh.querySelector("#lost-reason");
    if (reason) {
      reason.focus();
      return;
    }
    var moved = fresh.dataset.moved && document.getElementById("opp-card-" + fresh.dataset.moved);
    if (moved) moved.focus();
  }

  function post(url, data) {
    var current = board();
    if (current) {
      if (current.dataset.owner) data.set("owner", current.dataset.owner);
      current.setAttribute("aria-busy", "true");
    }
    return fetch(url, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrf(), "HX-Request": "true" },
    })
      .then(function (resp) { return resp.text(); })
      .then(swap)
      .catch(function () {
        if (current) current.removeAttribute("aria-busy");
        window.location.reload();
      });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("move-form")) return;
    if (!form.closest("#pipeline-board")) return;
    event.preventDefault();
    post(form.action, new FormData(form));
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-board-cancel]");
    if (!link) return;
    event.preventDefault();
    fetch(link.href, { headers: { "HX-Request": "true" }, credentials: "same-origin" })
      .then(function (resp) { return resp.text(); })
      .then(swap);
  });

  // --- drag and drop ---------------------------------------------------------------------------
  var dragged = null;

  function clearTargets() {
    document.querySelectorAll(".board-column.drop-target").forEach(function (col) {
      col.classList.remove("drop-target");
    });
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest('.board-card[draggable="true"]');
    if (!card) return;
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.dataset.oppId);
    card.classList.add("dragging");
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    clearTargets();
  });

  document.addEventListener("dragover", function (event) {
    if (!dragged) return;
    var col = event.target.closest && event.target.closest(".board-column");
    if (!col) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    if (!col.classList.contains("drop-target")) {
      clearTargets();
      col.classList.add("drop-target");
    }
  });

  document.addEventListener("drop", function (event) {
    if (!dragged) return;
    var col = event.target.closest && event.target.closest(".board-column");
    if (!col) return;
    event.preventDefault();
    var card = dragged;
    var others = Array.prototype.filter.call(col.querySelectorAll(".board-card"), function (c) {
      return c !== card;
    });
    var position = others.length;
    for (var i = 0; i < others.length; i++) {
      var rect = others[i].getBoundingClientRect();
      if (event.clientY < rect.top + rect.height / 2) {
        position = i;
        break;
      }
    }
    var data = new FormData();
    data.set("stage", col.dataset.stageId);
    data.set("position", String(position));
    data.set("version", card.dataset.version);
    card.classList.remove("dragging");
    dragged = null;
    clearTargets();
    post(card.dataset.moveUrl, data);
  });
})();
