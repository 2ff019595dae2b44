// The coin page's price alert: a click on the chart picks a price, a dashed line marks it and a small
// form asks to confirm (the level can be edited there); confirming creates a crossing alert through
// the alert form's view (HTMX), and the line stays, solid, while the page is open.
(function () {
  "use strict";

  const PENDING = "#f0b90b";
  const SET = "#16c784";

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

    chart.subscribeClick((param) => {
      if (!param.point) return;
      const price = candles.coordinateToPrice(param.point.y);
      if (!(price > 0)) return;
      delete form.dataset.created;
      level.value = rounded(price);
      result.textContent = "";
      form.hidden = false;
      form.style.top = `${Math.max(0, Math.min(param.point.y, box.clientHeight - 60))}px`;
      drawLine(price, PENDING, "alert?");
      level.focus();
    });

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
