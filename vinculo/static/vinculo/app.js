// Vínculo UI helpers: HTMX settings, keyboard shortcuts, the quick log form and dialogs.
// Plain ES2017, no build step; every feature degrades to ordinary links and forms without it.
(function () {
  "use strict";

  // --- HTMX: swap validation errors (422) and conflicts (409) like successful responses, so
  // a form comes back with its messages next to the fields. Other 4xx/5xx are not swapped.
  if (window.htmx) {
    htmx.config.responseHandling = [
      { code: "204", swap: false },
      { code: "[23]..", swap: true },
      { code: "409", swap: true, error: false },
      { code: "422", swap: true, error: false },
      { code: "[45]..", swap: false, error: true },
      { code: "...", swap: false },
    ];
  }

  function isTyping(el) {
    if (!el) return false;
    if (el.isContentEditable) return true;
    var tag = el.tagName;
    if (tag === "TEXTAREA" || tag === "SELECT") return true;
    if (tag !== "INPUT") return false;
    var type = (el.type || "").toLowerCase();
    return ["checkbox", "radio", "button", "submit", "reset", "range", "color"].indexOf(type) < 0;
  }

  function announce(message) {
    var region = document.getElementById("global-status");
    if (!region || !message) return;
    region.textContent = "";
    // A fresh text node after a tick makes screen readers announce repeated messages too.
    window.setTimeout(function () {
      region.textContent = message;
      region.classList.add("is-visible");
      window.setTimeout(function () { region.classList.remove("is-visible"); }, 5000);
    }, 50);
  }

  function openDialog(dialog) {
    if (!dialog || dialog.open) return;
    dialog.showModal();
  }

  function closeDialog(dialog) {
    if (dialog && dialog.open) dialog.close();
  }

  // --- The global "log an interaction" dialog -----------------------------------------------
  function openQuickLog() {
    var dialog = document.getElementById("quick-log-dialog");
    if (!dialog) return;
    var input = document.getElementById("quick-log-customer-q");
    var formBox = document.getElementById("quick-log-dialog-form");
    openDialog(dialog);
    // On a customer's page the customer is already known: load their form straight away.
    var embedded = document.querySelector("form[data-quick-log]:not(#quick-log-dialog form)");
    if (embedded && window.htmx && formBox && !formBox.querySelector("form")) {
      var url = embedded.getAttribute("action") + "?where=dialog";
      htmx.ajax("GET", url, { target: formBox, swap: "innerHTML" });
    } else if (input) {
      input.focus();
      input.select();
    }
  }

  function resetQuickLog() {
    var results = document.getElementById("quick-log-customer-results");
    var formBox = document.getElementById("quick-log-dialog-form");
    var input = document.getElementById("quick-log-customer-q");
    if (results) results.innerHTML = "";
    if (formBox) formBox.innerHTML = "";
    if (input) input.value = "";
  }

  // --- Keyboard shortcuts ------------------------------------------------------------------
  var pendingG = 0;

  document.addEventListener("keydown", function (event) {
    var config = document.getElementById("vinculo-shortcuts");
    if (!config) return; // not signed in
    var target = event.target;

    // Alt+L works everywhere, even while typing.
    if (event.altKey && !event.ctrlKey && !event.metaKey && (event.key === "l" || event.key === "L" || event.code === "KeyL")) {
      if (config.dataset.canLog) {
        event.preventDefault();
        openQuickLog();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(target)) return;
    if (document.querySelector("dialog[open]")) return; // a dialog has the keyboard
    // Inside the quick log form single letters pick choices (see below), not shortcuts.
    if (target && target.closest && target.closest("form[data-quick-log]")) return;

    var key = event.key;
    var now = Date.now();
    if (pendingG && now - pendingG < 1500) {
      pendingG = 0;
      if (key === "d") { event.preventDefault(); window.location.href = config.dataset.myDayUrl; return; }
      if (key === "c") { event.preventDefault(); window.location.href = config.dataset.customersUrl; return; }
    }
    if (key === "g") { pendingG = now; return; }
    pendingG = 0;
    if (key === "l" && config.dataset.canLog) {
      event.preventDefault();
      openQuickLog();
    } else if (key === "/") {
      var search = document.querySelector("header input[type=search]");
      if (search) { event.preventDefault(); search.focus(); search.select(); }
    } else if (key === "?") {
      event.preventDefault();
      openDialog(document.getElementById("shortcuts-dialog"));
    }
  });

  // --- The quick log form ------------------------------------------------------------------
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var form = target && target.closest && target.closest("form[data-quick-log]");
    if (!form) return;
    // Ctrl/Cmd+Enter saves from anywhere, Enter saves from any field but the notes.
    if (event.key === "Enter") {
      var inTextarea = target.tagName === "TEXTAREA";
      var onButton = target.tagName === "BUTTON" || target.tagName === "A";
      if ((event.ctrlKey || event.metaKey) || (!inTextarea && !onButton && !event.shiftKey)) {
        event.preventDefault();
        form.requestSubmit();
      }
      return;
    }
    // On a radio: its group's letter/digit picks that choice (c = call, 1 = tomorrow...).
    if (target.type === "radio" && !event.ctrlKey && !event.metaKey && !event.altKey && event.key.length === 1) {
      var radios = form.querySelectorAll('input[type=radio][name="' + target.name + '"]');
      for (var i = 0; i < radios.length; i++) {
        if (radios[i].dataset.key === event.key.toLowerCase()) {
          event.preventDefault();
          radios[i].checked = true;
          radios[i].focus();
          radios[i].dispatchEvent(new Event("change", { bubbles: true }));
          return;
        }
      }
    }
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    var form = target && target.closest && target.closest("form[data-quick-log]");
    if (!form) return;
    // "On date…" moves to the date input; typing a date selects "on date…".
    if (target.name === "follow_up" && target.value === "date") {
      var date = form.querySelector('input[name="follow_up_date"]');
      if (date) date.focus();
    } else if (target.name === "follow_up_date" && target.value) {
      var onDate = form.querySelector('input[name="follow_up"][value="date"]');
      if (onDate) onDate.checked = true;
    }
  });

  // After a swap: focus the first field with an error, else what the server marked autofocus.
  document.addEventListener("htmx:afterSwap", function (event) {
    var root = event.detail && event.detail.target;
    if (!root) return;
    // An outerHTML swap leaves the old element detached: find its replacement by id.
    if (!root.isConnected && root.id) root = document.getElementById(root.id);
    if (!root || !root.querySelector) return;
    if (root.id === "quick-log-dialog-form") {
      var results = document.getElementById("quick-log-customer-results");
      if (results) results.innerHTML = "";
    }
    var form = root.matches("form[data-quick-log]") ? root : root.querySelector("form[data-quick-log]");
    if (!form) return;
    var invalid = form.querySelector("[aria-invalid=true]");
    if (invalid && invalid.tagName === "FIELDSET") invalid = invalid.querySelector("input:checked, input");
    var focusEl = invalid || form.querySelector("[autofocus]");
    if (focusEl) focusEl.focus();
  });

  // A logged interaction: the dialog closes and the message is announced.
  document.body && document.body.addEventListener("interaction-logged", function (event) {
    var dialog = document.getElementById("quick-log-dialog");
    var fromDialog = dialog && dialog.open && dialog.contains(event.target);
    if (fromDialog) {
      closeDialog(dialog);
      resetQuickLog();
      announce(event.detail && event.detail.message);
    }
  });

  // --- The customer picker: ↓/↑ move between the results, Enter picks ----------------------
  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (!target || !target.closest) return;
    var picker = document.getElementById("quick-log-customer-results");
    if (!picker) return;
    var inInput = target.id === "quick-log-customer-q";
    var inResults = picker.contains(target);
    if (!inInput && !inResults) return;
    var buttons = Array.prototype.slice.call(picker.querySelectorAll("button[data-customer-pick]"));
    if (!buttons.length) return;
    var index = buttons.indexOf(target);
    if (event.key === "ArrowDown") {
      event.preventDefault();
      buttons[Math.min(index + 1, buttons.length - 1)].focus();
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      if (index <= 0) document.getElementById("quick-log-customer-q").focus();
      else buttons[index - 1].focus();
    } else if (event.key === "Enter" && inInput) {
      event.preventDefault();
      pickCustomer(buttons[0]);
    }
  });

  // Loading the form is done here rather than with hx-get on each result, so a fast Enter
  // works even before htmx has processed freshly swapped results.
  function pickCustomer(button) {
    var box = document.getElementById("quick-log-dialog-form");
    if (!button || !box || !window.htmx) return;
    htmx.ajax("GET", button.dataset.url, { target: box, swap: "innerHTML" });
  }

  document.addEventListener("click", function (event) {
    var pick = event.target.closest && event.target.closest("button[data-customer-pick]");
    if (pick) pickCustomer(pick);
    var closer = event.target.closest && event.target.closest("[data-close-dialog]");
    if (closer) closeDialog(closer.closest("dialog"));
  });

  // Esc closes a <dialog> natively; reset the log dialog whenever it closes.
  document.addEventListener("close", function (event) {
    if (event.target && event.target.id === "quick-log-dialog") resetQuickLog();
  }, true);

  // A click on the backdrop closes a dialog too.
  document.addEventListener("click", function (event) {
    var el = event.target;
    if (el && el.tagName === "DIALOG" && el.open) closeDialog(el);
  });

  // --- Relative times: <time datetime="…" data-relative> reads "3 days ago" / "hace 3 días"
  // in the page's language. The server sends the date itself (shown without JavaScript), so
  // no page formats relative times per row (decision 0014).
  var relative = window.Intl && Intl.RelativeTimeFormat
    ? new Intl.RelativeTimeFormat(document.documentElement.lang || "en", { numeric: "auto" })
    : null;
  var UNITS = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
    ["hour", 3600], ["minute", 60], ["second", 1]];
  function relativeTimes(root) {
    if (!relative || !root || !root.querySelectorAll) return;
    root.querySelectorAll("time[data-relative]").forEach(function (el) {
      var at = Date.parse(el.getAttribute("datetime"));
      if (isNaN(at)) return;
      var seconds = (at - Date.now()) / 1000;
      for (var i = 0; i < UNITS.length; i++) {
        if (Math.abs(seconds) >= UNITS[i][1] || i === UNITS.length - 1) {
          el.textContent = relative.format(Math.round(seconds / UNITS[i][1]), UNITS[i][0]);
          return;
        }
      }
    });
  }
  relativeTimes(document);
  document.addEventListener("htmx:load", function (event) { relativeTimes(event.detail.elt); });
})();
