// The coin page's price alert: a click on the chart picks a price, a dashed line marks it and a small
// form asks to confirm; the line can be dragged to another price (or the level typed) before that.
// Confirming creates a crossing alert through the alert form's view (HTMX), and the line stays,
// solid, while the page is open.
(function () {
  "use strict";

  const PENDING = "#f0b90b";
  const SET = "#16c784";
  const GRAB_PX = 6; // how near the line a press grabs it
  const GAP_PX = 8; // between the line and the form

  // The decimals the page's price format gives a price of this size (market_format.price).
  function rounded(price) {
    const decimals = Math.max(2, Math.min(10, 4 - Math.floor(Math.log10(price))));
    return price.toFixed(decimals);
  }

  function init() {
    const box = document.getElementById("chart");
    const form = document.getElementById("price-alert");
    if (!box || !form || !box.scalpaiboardChart) return;
    const LC = window.LightweightCharts;
    const { chart, candles } = box.scalpaiboardChart;
    const level = form.querySelector("input[name=level]");
    const result = document.getElementById("price-alert-result");
    let line = null;

    function drawLine(price, color, title) {
      if (line) candles.removePriceLine(line);
      line = candles.createPriceLine({ price, color, lineWidth: 2, lineStyle: color === SET ? LC.LineStyle.Solid : LC.LineStyle.Dashed, axisLabelVisible: true, title });
    }

    function cancel() {
      form.hidden = true;
      if (line && !form.dataset.created) candles.removePriceLine(line);
      line = null;
    }

    // The form sits just above the line (below it near the top), never on it: the line stays grabbable.
    function place(price, y) {
      level.value = rounded(price);
      const height = form.offsetHeight || 48;
      const top = y > height + GAP_PX ? y - height - GAP_PX : y + GAP_PX;
      form.style.top = `${Math.min(top, box.clientHeight - height)}px`;
      drawLine(price, PENDING, "alert?");
    }

    let dragged = false; // the click that ends a drag places nothing
    chart.subscribeClick((param) => {
      if (dragged) {
        dragged = false;
        return;
      }
      if (!param.point) return;
      const price = candles.coordinateToPrice(param.point.y);
      if (!(price > 0)) return;
      delete form.dataset.created;
      result.textContent = "";
      form.hidden = false; // first, so that place() knows the form's height
      place(price, param.point.y);
      level.focus();
    });

    // Dragging the pending line: the chart stops panning while the line moves with the pointer.
    const yOf = (event) => event.clientY - box.getBoundingClientRect().top;
    const onLine = (y) => !form.hidden && !form.dataset.created && line && Math.abs(candles.priceToCoordinate(line.options().price) - y) <= GRAB_PX;
    let dragging = false;
    box.addEventListener("pointerdown", (event) => {
      if (!onLine(yOf(event))) return;
      dragging = true;
      chart.applyOptions({ handleScroll: false, handleScale: false });
      box.setPointerCapture(event.pointerId);
    }, true);
    // Capturing: the chart's own handlers must not swallow the events while a line moves.
    box.addEventListener("pointermove", (event) => {
      const y = yOf(event);
      if (!dragging) {
        box.classList.toggle("grab-line", !!onLine(y));
        return;
      }
      const price = candles.coordinateToPrice(y);
      if (price > 0) place(price, y);
      dragged = true;
    }, true);
    const drop = () => {
      if (!dragging) return;
      dragging = false;
      chart.applyOptions({ handleScroll: true, handleScale: true });
      setTimeout(() => (dragged = false), 0); // after the chart's click, if it sends one
    };
    box.addEventListener("pointerup", drop, true);
    box.addEventListener("pointercancel", drop, true);

    level.addEventListener("input", () => {
      const price = parseFloat(level.value);
      if (price > 0) drawLine(price, PENDING, "alert?");
    });
    document.getElementById("price-alert-cancel").addEventListener("click", cancel);
    form.addEventListener("keydown", (event) => {
      if (event.key === "Escape") cancel();
    });

    document.addEventListener("htmx:afterSwap", (event) => {
      if (event.detail.target !== result) return;
      const created = result.querySelector("[data-created]");
      if (!created) return;
      form.dataset.created = created.dataset.created;
      drawLine(parseFloat(level.value), SET, "alert");
      line = null; // kept on the chart: the next click draws a new one
    });
  }

  document.addEventListener("DOMContentLoaded", init);
})();
