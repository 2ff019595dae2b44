// The assistant's tool cards (the same markup as assistant/templates/assistant/_tool_card.html): the
// tool's name and arguments, then its result, the links to what it touched and its undo, confirm or
// decline buttons (HTMX posts to the page's endpoints). Every text is a text node.
(function () {
  "use strict";

  const SUMMARY_CHARS = 160;
  const SUMMARY_PARTS = 5; // a result's first fields: the card links to the rest

  function el(name, className, text) {
    const node = document.createElement(name);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function toolCard(data) {
    const card = el("div", "tool-card running");
    card.dataset.call = data.id || "";
    const head = el("div", "tool-head");
    head.appendChild(el("span", "tool-name", data.name || "tool"));
    const status = el("span", "tool-status");
    status.appendChild(el("span", "spinner"));
    head.appendChild(status);
    card.appendChild(head);
    const args = argumentsSummary(data.arguments);
    if (args) card.appendChild(el("div", "tool-args small muted", args));
    return card;
  }

  function fillCard(card, data) {
    card.className = "tool-card " + (data.ok ? "ok" : "failed");
    card.querySelector(".tool-status").textContent = data.ok ? "ok" : "error";
    const summary = resultSummary(data.result, data.ok);
    if (summary) card.appendChild(el("div", "tool-result small", summary));
    const links = (data.links || []).filter((link) => link && window.scalpaiboardMarkdown.safeUrl(link.url));
    if (links.length) {
      const box = el("div", "tool-links small");
      links.forEach((link) => {
        const anchor = el("a", "", link.label || link.url);
        anchor.href = window.scalpaiboardMarkdown.safeUrl(link.url);
        box.appendChild(anchor);
      });
      card.appendChild(box);
    }
    if (data.action && data.action.id) card.appendChild(actionPart(data.action));
  }

  function actionPart(action) {
    const id = Number(action.id);
    const box = el("div", "tool-action");
    box.id = "action-" + id;
    box.dataset.state = action.state || "";
    const button = (change, label) => {
      const b = el("button", "button small " + change, label);
      b.type = "button";
      b.setAttribute("hx-post", document.getElementById("chat").dataset.actionUrl + id + "/" + change);
      b.setAttribute("hx-target", "#action-" + id);
      b.setAttribute("hx-swap", "outerHTML");
      return b;
    };
    if (action.state === "proposed") {
      box.appendChild(el("span", "small muted", "Proposed: nothing changed yet."));
      box.appendChild(button("confirm", "Confirm"));
      box.appendChild(button("decline", "Decline"));
    } else {
      box.appendChild(el("span", "small muted", "Done."));
      if (action.undo) box.appendChild(button("undo", "Undo"));
    }
    if (window.htmx) window.htmx.process(box);
    return box;
  }

  function clip(text) {
    return text.length <= SUMMARY_CHARS ? text : text.slice(0, SUMMARY_CHARS - 1) + "…";
  }

  function argumentsSummary(args) {
    if (!args || typeof args !== "object" || Array.isArray(args)) return args ? clip(JSON.stringify(args)) : "";
    return clip(
      Object.entries(args)
        .map(([key, value]) => key + "=" + (typeof value === "string" ? value : JSON.stringify(value)))
        .join(", "),
    );
  }

  // The same rule as assistant/views.py result_summary().
  function resultSummary(result, ok) {
    if (result === null || result === undefined) return "";
    if (ok === false) {
      if (result && typeof result === "object" && "error" in result) return clip(String(result.error));
      return clip(typeof result === "string" ? result : JSON.stringify(result));
    }
    if (Array.isArray(result)) return result.length + (result.length === 1 ? " item" : " items");
    if (typeof result === "object") {
      const parts = [];
      Object.entries(result).forEach(([key, value]) => {
        if (Array.isArray(value)) parts.push(value.length + " " + key);
        else if (value !== null && value !== "" && typeof value !== "object") parts.push(key + ": " + value);
      });
      return clip(parts.slice(0, SUMMARY_PARTS).join(", "));
    }
    return clip(String(result));
  }

  window.scalpaiboardCards = { toolCard: toolCard, fillCard: fillCard };
})();
