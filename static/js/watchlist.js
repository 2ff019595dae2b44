// The watchlist page: live changes, reordering by drag (HTML5 drag and drop) or arrow keys, and the
// table's counts as coins are removed. Prices arrive as the same /ws fragments as on every page
// (app.js swaps them in); the changes measured from a fixed price (7d, 30d, since added) follow
// the price here, from the base price each cell carries (watchlists/page_rows.py).
(function () {
  "use strict";

  const ROWS = "#watchlist-rows tr[data-symbol]";

  // --- Live changes ---------------------------------------------------------------------------
  const priceIn = (element) => parseFloat(element.textContent.replace(/,/g, ""));

  function changeShow(cell, price) {
    const base = parseFloat(cell.dataset.base);
    if (!(base > 0)) return;
    const change = (price / base - 1) * 100;
    cell.textContent = (change >= 0 ? "+" : "") + change.toFixed(2) + "%";
    cell.classList.remove("pos", "neg", "flat");
    cell.classList.add(change > 0 ? "pos" : change < 0 ? "neg" : "flat");
  }

  document.addEventListener("htmx:oobBeforeSwap", (event) => {
    const { target, fragment } = event.detail;
    if (!target.id || !target.id.startsWith("p-")) return;
    const row = target.closest(ROWS);
    const next = fragment.firstElementChild;
    if (!row || !next) return;
    const price = priceIn(next);
    if (!(price > 0)) return;
    row.querySelectorAll("[data-base]").forEach((cell) => changeShow(cell, price));
    row.dataset.liveAt = String(Date.now()); // for the browser test: this row followed a price
  });

  // --- Errors ---------------------------------------------------------------------------------
  function showError(text) {
    const banner = document.getElementById("error-banner");
    if (!banner) return;
    banner.textContent = text;
    banner.hidden = false;
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers"))["X-CSRFToken"];
    } catch (error) {
      return "";
    }
  }

  // --- Order ----------------------------------------------------------------------------------
  const reorderable = () => {
    const table = document.getElementById("watchlist");
    return !!table && table.dataset.reorder === "on";
  };

  async function orderSave(moved) {
    const box = document.getElementById("watchlist-table");
    const body = new URLSearchParams();
    document.querySelectorAll(ROWS).forEach((row) => body.append("symbols", row.dataset.symbol));
    try {
      const response = await fetch(box.dataset.orderUrl, {
        method: "POST",
        headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/x-www-form-urlencoded" },
        body: body,
      });
      if (!response.ok) throw new Error((await response.text()) || `the server answered ${response.status}`);
      moved.classList.remove("saved");
      void moved.offsetWidth;
      moved.classList.add("saved");
      box.dataset.orderSaved = String(Date.now());
    } catch (error) {
      showError(`Could not save the new order: ${error.message} The list shows the order it has.`);
      window.htmx.ajax("GET", window.location.href, { target: "#watchlist-table" });
    }
  }

  // Drag: a row becomes draggable while its handle is held, so that text and inputs stay selectable.
  let dragged = null;
  document.addEventListener("pointerdown", (event) => {
    const handle = event.target.closest && event.target.closest(".drag-handle");
    if (handle && reorderable()) handle.closest("tr").draggable = true;
  });
  document.addEventListener("dragstart", (event) => {
    const row = event.target.closest && event.target.closest(ROWS);
    if (!row || !row.draggable) return;
    dragged = row;
    row.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", row.dataset.symbol);
  });

  function dropMark(row, after) {
    document.querySelectorAll(".drop-before, .drop-after").forEach((r) => r.classList.remove("drop-before", "drop-after"));
    if (row) row.classList.add(after ? "drop-after" : "drop-before");
  }

  const isAfter = (row, event) => {
    const box = row.getBoundingClientRect();
    return event.clientY > box.top + box.height / 2;
  };

  document.addEventListener("dragover", (event) => {
    if (!dragged) return;
    const row = event.target.closest && event.target.closest(ROWS);
    if (!row) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    dropMark(row === dragged ? null : row, isAfter(row, event));
  });
  document.addEventListener("drop", (event) => {
    if (!dragged) return;
    const row = event.target.closest && event.target.closest(ROWS);
    event.preventDefault();
    if (row && row !== dragged) {
      row.parentNode.insertBefore(dragged, isAfter(row, event) ? row.nextSibling : row);
      orderSave(dragged);
    }
  });
  document.addEventListener("dragend", () => {
    if (!dragged) return;
    dragged.classList.remove("dragging");
    dragged.draggable = false;
    dragged = null;
    dropMark(null);
  });

  // Keys: arrow up / down on a row's handle moves it one place.
  document.addEventListener("keydown", (event) => {
    const handle = event.target.closest && event.target.closest(".drag-handle");
    if (!handle || !reorderable() || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
    event.preventDefault();
    const row = handle.closest("tr");
    const other = event.key === "ArrowUp" ? row.previousElementSibling : row.nextElementSibling;
    if (!other || !other.matches("tr[data-symbol]")) return;
    row.parentNode.insertBefore(row, event.key === "ArrowUp" ? other : other.nextSibling);
    handle.focus();
    orderSave(row);
  });

  // --- Rename and delete: one pop-up form open at a time, closed by Escape or a click elsewhere ---
  const pops = () => document.querySelectorAll("details.action-pop[open]");
  document.addEventListener("toggle", (event) => {
    const opened = event.target;
    if (!opened.matches || !opened.matches("details.action-pop") || !opened.open) return;
    pops().forEach((other) => { if (other !== opened) other.open = false; });
    const field = opened.querySelector("input:not([type=hidden])");
    if (field) field.focus();
  }, true);
  document.addEventListener("click", (event) => {
    pops().forEach((pop) => { if (!pop.contains(event.target)) pop.open = false; });
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") pops().forEach((pop) => { pop.open = false; });
  });

  // --- Counts as coins go ---------------------------------------------------------------------
  function countsShow() {
    const count = document.querySelectorAll(ROWS).length;
    const shown = document.getElementById("item-count");
    if (shown) shown.textContent = `${count} coin${count === 1 ? "" : "s"}`;
    const tab = document.querySelector(".list-tab.active [data-count]");
    if (tab) tab.textContent = String(count);
    const rows = document.getElementById("watchlist-rows");
    if (rows && count === 0 && !rows.querySelector(".empty-row")) {
      rows.innerHTML = '<tr class="empty-row"><td colspan="13" class="empty"><strong>No coins on this list.</strong><br>Add one above, or click the ☆ beside any coin on the Markets page.</td></tr>';
    }
  }

  // The remove button goes with its row, so its own later events reach no listener: count after
  // the swap that its beforeSwap announces.
  document.addEventListener("htmx:beforeSwap", (event) => {
    if (event.detail.elt.matches(".remove") && event.detail.xhr.status < 300) setTimeout(countsShow, 0);
  });
  // A row saved (its note, target or stop) flashes once.
  document.addEventListener("htmx:load", (event) => {
    const row = event.detail.elt;
    if (row.matches && row.matches(ROWS) && !row.querySelector(".invalid")) row.classList.add("saved");
  });
})();
