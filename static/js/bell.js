// The bell (signed-in pages): follows the user's notifications over the page's one /ws socket,
// counts the unread ones live, shows a toast for each, opens the dropdown of recent ones, and tells
// the page (the alert manager, an alert's history) which alert fired.
(function () {
  "use strict";

  const TOAST_MS = 6000;
  const MAX_SHOWN = 99;

  function bell() {
    return {
      button: document.getElementById("bell-button"),
      menu: document.getElementById("bell-menu"),
      count: document.getElementById("bell-count"),
    };
  }

  function setCount(value) {
    const count = bell().count;
    if (!count) return;
    const n = Math.max(0, value);
    count.dataset.count = String(n);
    count.textContent = n > MAX_SHOWN ? MAX_SHOWN + "+" : String(n);
    count.hidden = n === 0;
  }

  // --- the socket: subscribe on every (re)connection; a reconnection re-reads the count -------
  let connections = 0;
  document.addEventListener("htmx:wsOpen", (event) => {
    event.detail.socketWrapper.send(JSON.stringify({ action: "subscribe", channel: "notifications" }));
    connections += 1;
    if (connections > 1) refreshMenu(); // notifications may have come while the socket was down
  });

  document.addEventListener("htmx:wsClose", () => {
    const box = document.getElementById("bell");
    if (box) delete box.dataset.live;
  });

  document.addEventListener("htmx:wsBeforeMessage", (event) => {
    const text = event.detail.message;
    if (typeof text !== "string" || text.indexOf("notification") < 0) return;
    let message;
    try {
      message = JSON.parse(text);
    } catch (error) {
      return;
    }
    if (message.type === "notification") arrived(message);
    else if (message.type === "subscribed" && message.channel === "notifications") {
      document.getElementById("bell").dataset.live = "1"; // following: what fires from now on rings here
    }
  });

  function arrived(notification) {
    if (notification.unread) setCount(Number(bell().count.dataset.count || 0) + 1);
    toast(notification);
    prependToMenu(notification);
    document.body.dispatchEvent(new CustomEvent("alert:fired", { detail: notification }));
  }

  // --- toasts and the open dropdown: text only, never HTML from the message ------------------
  function toast(notification) {
    const box = document.getElementById("toasts");
    if (!box) return;
    const item = document.createElement("a");
    item.className = "toast";
    item.href = notification.alert_id ? `/alerts/${notification.alert_id}` : "/alerts";
    item.textContent = notification.message;
    box.appendChild(item);
    setTimeout(() => item.remove(), TOAST_MS);
  }

  function prependToMenu(notification) {
    const list = document.getElementById("bell-list");
    if (!list || bell().menu.hidden) return; // a closed menu reloads when it opens
    list.querySelectorAll(".bell-empty").forEach((empty) => empty.remove());
    const item = document.createElement("li");
    item.className = "notification unread";
    item.dataset.notification = String(notification.id);
    const link = document.createElement("a");
    link.href = notification.alert_id ? `/alerts/${notification.alert_id}` : "/alerts";
    const text = document.createElement("span");
    text.className = "n-message";
    text.textContent = notification.message;
    const when = document.createElement("span");
    when.className = "muted small";
    when.textContent = notification.fired_at.replace("T", " ").replace(/\.\d+Z$/, " UTC");
    link.append(text, when);
    item.appendChild(link);
    list.prepend(item);
  }

  // --- the dropdown ------------------------------------------------------------------------
  function refreshMenu() {
    const menu = bell().menu;
    if (menu && window.htmx) htmx.trigger(menu, "bell-open");
  }

  function toggle(open) {
    const { button, menu } = bell();
    menu.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
    if (open) refreshMenu();
  }

  document.addEventListener("DOMContentLoaded", () => {
    const { button, menu } = bell();
    if (!button) return;
    button.addEventListener("click", () => toggle(menu.hidden));
    document.addEventListener("click", (event) => {
      if (!menu.hidden && !event.target.closest("#bell")) toggle(false);
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !menu.hidden) {
        toggle(false);
        button.focus();
      }
    });
  });
})();
