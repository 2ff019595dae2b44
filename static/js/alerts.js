// Alert pages: live rows in the manager and bulk selection, the form's preview, and the small
// charts (backtest preview, history) with a marker at each firing.
(function () {
  "use strict";

  const MARKER = "#f0b90b";

  // --- live: a notification for an alert refreshes its row, or its history --------------------
  document.body.addEventListener("alert:fired", (event) => {
    const id = event.detail.alert_id;
    if (!id || !window.htmx) return;
    const row = document.getElementById(`alert-${id}`);
    if (row) {
      const checked = row.querySelector("input[name=ids]").checked;
      htmx.ajax("GET", `/alerts/${id}`, { target: row, swap: "outerHTML" }).then(() => {
        const fresh = document.getElementById(`alert-${id}`);
        if (fresh) fresh.querySelector("input[name=ids]").checked = checked;
        fresh && fresh.classList.add("just-fired");
      });
    }
    const history = document.getElementById("alert-history");
    if (history && history.dataset.alert === String(id)) htmx.trigger(history, "alert-fired");
  });

  // --- bulk selection --------------------------------------------------------------------------
  function boxes() {
    return Array.from(document.querySelectorAll("#alert-table input[name=ids]"));
  }

  function showSelection() {
    const label = document.getElementById("bulk-count");
    if (!label) return;
    const n = boxes().filter((box) => box.checked).length;
    label.textContent = n ? `${n} selected` : "None selected";
    document.querySelectorAll("#bulk-form button").forEach((button) => (button.disabled = n === 0));
    const all = document.getElementById("select-all");
    if (all) all.checked = n > 0 && n === boxes().length;
  }

  document.addEventListener("change", (event) => {
    if (event.target.id === "select-all") boxes().forEach((box) => (box.checked = event.target.checked));
    if (event.target.id === "select-all" || event.target.name === "ids") showSelection();
  });
  document.addEventListener("htmx:afterSettle", showSelection);
  document.addEventListener("DOMContentLoaded", showSelection);

  // Deleting asks first (htmx's own hx-confirm cannot tell which button submitted the form).
  document.addEventListener("htmx:confirm", (event) => {
    const submitter = event.detail.triggeringEvent && event.detail.triggeringEvent.submitter;
    if (!submitter || submitter.value !== "delete" || event.detail.elt.id !== "bulk-form") return;
    event.preventDefault();
    const n = boxes().filter((box) => box.checked).length;
    if (window.confirm(`Delete ${n} alert${n === 1 ? "" : "s"} and their history? This cannot be undone.`)) {
      event.detail.issueRequest(true);
    }
  });

  // --- the form: the preview button --------------------------------------------------------------
  document.addEventListener("DOMContentLoaded", () => {
    const button = document.getElementById("preview-button");
    const box = document.getElementById("backtest");
    if (button && box) button.addEventListener("click", () => htmx.trigger(box, "preview"));
  });

  // --- small charts ------------------------------------------------------------------------------
  function markersFor(firings, seconds) {
    const byBar = new Map();
    firings.forEach((firing) => {
      const t = typeof firing.time === "number" ? firing.time : Date.parse(firing.time) / 1000;
      const bar = Math.floor(t / seconds) * seconds;
      byBar.set(bar, (byBar.get(bar) || 0) + 1);
    });
    return Array.from(byBar.entries())
      .sort((a, b) => a[0] - b[0])
      .map(([time, n]) => ({ time, position: "aboveBar", shape: "arrowDown", color: MARKER, text: n > 1 ? `×${n}` : "" }));
  }

  const SECONDS = { "1m": 60, "5m": 300, "15m": 900, "1h": 3600, "4h": 14400, "1d": 86400 };

  async function drawChart(box) {
    if (box.dataset.drawn || !window.LightweightCharts) return;
    box.dataset.drawn = "1";
    const LC = window.LightweightCharts;
    const state = box.querySelector(".chart-state");
    const timeframe = box.dataset.timeframe;
    const firings = JSON.parse(box.dataset.firings || "[]");
    try {
      const url = `${box.dataset.candlesUrl}?timeframe=${timeframe}&limit=${box.dataset.bars || 500}`;
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      const bars = await response.json();
      if (!bars.length) {
        state.textContent = "No candles stored for this period yet.";
        return;
      }
      const chart = LC.createChart(box, {
        autoSize: true,
        layout: { background: { color: "transparent" }, textColor: "#8a93a6", attributionLogo: false },
        grid: { vertLines: { visible: false }, horzLines: { color: "#1a2133" } },
        rightPriceScale: { borderColor: "#232c40" },
        timeScale: { borderColor: "#232c40", timeVisible: true, secondsVisible: false },
        handleScroll: false,
        handleScale: false,
      });
      const line = chart.addSeries(LC.AreaSeries, {
        lineColor: "#4f8cff", topColor: "rgba(79,140,255,0.25)", bottomColor: "rgba(79,140,255,0)", lineWidth: 2,
        priceLineVisible: false,
      });
      line.setData(bars.map((bar) => ({ time: bar.time, value: bar.close })));
      const first = bars[0].time;
      const shown = firings.filter((f) => (typeof f.time === "number" ? f.time : Date.parse(f.time) / 1000) >= first);
      LC.createSeriesMarkers(line, markersFor(shown, SECONDS[timeframe] || 3600));
      chart.timeScale().fitContent();
      // Scrolling is off: a resized chart shows the whole period again, not a stretch of empty time.
      new ResizeObserver(() => chart.timeScale().fitContent()).observe(box);
      state.hidden = true;
      box.dataset.markers = String(shown.length);
    } catch (error) {
      state.textContent = `Could not load the chart: ${error.message}.`;
    }
  }

  function drawCharts(root) {
    (root || document).querySelectorAll(".mini-chart").forEach(drawChart);
  }
  document.addEventListener("DOMContentLoaded", () => drawCharts());
  document.addEventListener("htmx:afterSettle", (event) => drawCharts(event.detail.elt));
})();
