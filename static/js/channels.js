// Settings → Notifications: copy buttons (a new webhook's secret, the verification snippets), the
// quiet hours' time zone defaulting to the browser's, and the live delivery log pausing while the
// page is hidden (htmx's own trigger filters would need eval, which the CSP forbids).
(function () {
  "use strict";

  // --- copy buttons: data-copy names the element whose text goes to the clipboard ---------------
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-copy]");
    if (!button) return;
    const source = document.querySelector(button.dataset.copy);
    if (!source) return;
    copy(source.textContent.trim()).then(
      () => flash(button, "Copied"),
      () => {
        select(source);
        flash(button, "Press Ctrl+C");
      },
    );
  });

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return Promise.reject(new Error("no clipboard here (plain http)"));
  }

  // Selects the text, so that the user can copy it by hand where the clipboard is not allowed.
  function select(element) {
    const range = document.createRange();
    range.selectNodeContents(element);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function flash(button, text) {
    const label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    button.textContent = text;
    button.classList.add("copied");
    clearTimeout(button._copyTimer);
    button._copyTimer = setTimeout(() => {
      button.textContent = label;
      button.classList.remove("copied");
    }, 1800);
  }

  // --- quiet hours: a new channel's time zone is the browser's, unless the user chose one ------
  function localTimezone(root) {
    let zone = "";
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (error) {
      return;
    }
    root.querySelectorAll("select[data-local-timezone]").forEach((select) => {
      const form = select.closest("form");
      const isNew = form && form.querySelector("input[name=kind]"); // the add form, not an edit
      const untouched = !form.querySelector("input[name=quiet_start]").value;
      if (isNew && untouched && select.querySelector(`option[value="${CSS.escape(zone)}"]`)) select.value = zone;
    });
  }
  document.addEventListener("DOMContentLoaded", () => localTimezone(document));
  document.addEventListener("htmx:afterSettle", (event) => localTimezone(event.detail.elt));

  // --- the live log: no polling while the page is hidden, one refresh when it shows again -------
  document.addEventListener("htmx:beforeRequest", (event) => {
    if (document.hidden && event.detail.elt.id === "delivery-log") event.preventDefault();
  });
  document.addEventListener("visibilitychange", () => {
    const log = document.getElementById("delivery-log");
    if (document.hidden || !log || !window.htmx) return;
    htmx.ajax("GET", log.getAttribute("hx-get"), { source: log, target: log, swap: "outerHTML" });
  });
})();
