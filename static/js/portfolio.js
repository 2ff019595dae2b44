// The portfolio page: holdings' live figures recomputed from the live prices that /ws brings (app.js
// swaps the price cells), the value history chart, and the transaction form's time zone.
// The server's figures are exact decimals; these live ones are for display between reloads.
(function () {
  "use strict";

  const money = (x) => x.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const number = (text) => parseFloat(String(text).replace(/,/g, "").replace("%", ""));
  const signClass = (x) => (x > 0 ? "pos" : x < 0 ? "neg" : "");

  function setFigure(cell, value, text) {
    if (!cell) return;
    cell.textContent = text;
    cell.classList.remove("pos", "neg");
    const sign = signClass(value);
    if (sign && cell.dataset.field !== "value" && cell.dataset.total !== "value") cell.classList.add(sign);
  }

  // --- Live holdings ----------------------------------------------------------------------------
  function rowFigures(row) {
    const price = number(row.querySelector("span.price").textContent);
    const quantity = Number(row.dataset.quantity);
    const cost = Number(row.dataset.cost);
    const realized = Number(row.dataset.realized);
    const invested = Number(row.dataset.invested);
    const change = number(row.querySelector("[data-change]").textContent);
    const value = quantity * price;
    const before = change > -100 ? price / (1 + change / 100) : 0;
    return {
      value, cost, realized, invested,
      unrealized: value - cost,
      change24h: Number.isFinite(change) ? quantity * (price - before) : 0,
    };
  }

  function recompute() {
    const table = document.getElementById("holdings");
    if (!table) return;
    const rows = Array.from(table.querySelectorAll("tbody tr[data-symbol]"));
    const figures = rows.map((row) => [row, rowFigures(row)]);
    if (figures.some(([, f]) => !Number.isFinite(f.value))) return;
    const total = { value: 0, cost: 0, unrealized: 0, realized: 0, invested: 0, change24h: 0 };
    figures.forEach(([, f]) => Object.keys(total).forEach((k) => (total[k] += f[k])));
    figures.forEach(([row, f]) => {
      const cell = (name) => row.querySelector(`[data-field="${name}"]`);
      setFigure(cell("value"), f.value, money(f.value));
      setFigure(cell("unrealized_pnl"), f.unrealized, money(f.unrealized));
      const pnl = f.invested ? ((f.realized + f.unrealized) / f.invested) * 100 : null;
      setFigure(cell("pnl_percent"), pnl, pnl === null ? "—" : money(pnl) + " %");
      setFigure(cell("change_24h_value"), f.change24h, money(f.change24h));
      const share = total.value ? (f.value / total.value) * 100 : null;
      setFigure(cell("allocation_percent"), 0, share === null ? "—" : share.toFixed(1) + " %");
    });
    const totalCell = (name) => document.querySelector(`[data-total="${name}"]`);
    setFigure(totalCell("value"), total.value, money(total.value));
    setFigure(totalCell("unrealized_pnl"), total.unrealized, money(total.unrealized));
    const pnl = total.invested ? ((total.realized + total.unrealized) / total.invested) * 100 : null;
    setFigure(totalCell("pnl_percent"), pnl, pnl === null ? "—" : money(pnl) + " %");
    setFigure(totalCell("change_24h_value"), total.change24h, money(total.change24h));
  }

  let pending = false;
  const observer = new MutationObserver(() => {
    if (pending) return;
    pending = true; // one recomputation per message, however many prices it carried
    requestAnimationFrame(() => {
      pending = false;
      recompute();
    });
  });

  function watchPrices() {
    observer.disconnect();
    document.querySelectorAll("#holdings span.price, #holdings [data-change]").forEach((cell) => {
      observer.observe(cell, { childList: true, characterData: true, subtree: true });
    });
  }

  function subscribeHoldings() {
    const live = window.scalpaiboardLive;
    const symbols = Array.from(document.querySelectorAll("#holdings tr[data-symbol]")).map((r) => r.dataset.symbol);
    if (live && symbols.length) live.send({ action: "subscribe", symbols: symbols });
  }

  // --- The transaction form: the browser's time zone goes with a datetime-local value ----------
  function fillTimeZone() {
    document.querySelectorAll("input[name=tz_offset]").forEach((input) => {
      input.value = String(new Date().getTimezoneOffset());
    });
  }

  // --- Value history --------------------------------------------------------------------------
  let chart = null;
  let series = null;

  function historyState(text, retry) {
    const state = document.getElementById("history-state");
    if (!state) return;
    state.hidden = !text;
    state.replaceChildren();
    if (!text) return;
    if (text === "loading") {
      const spinner = document.createElement("span");
      spinner.className = "spinner";
      state.append(spinner, " Loading the history…");
      return;
    }
    state.append(text);
    if (retry) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "button small";
      button.textContent = "Retry";
      button.addEventListener("click", loadHistory);
      state.append(" ", button);
    }
  }

  function ensureChart(box) {
    if (chart || !window.LightweightCharts) return;
    const LC = window.LightweightCharts;
    chart = LC.createChart(box, {
      autoSize: true,
      layout: { background: { color: "transparent" }, textColor: "#8a93a6", attributionLogo: false },
      grid: { vertLines: { color: "#1a2133" }, horzLines: { color: "#1a2133" } },
      rightPriceScale: { borderColor: "#232c40" },
      timeScale: { borderColor: "#232c40" },
    });
    series = chart.addSeries(LC.AreaSeries, {
      lineColor: "#3861fb", topColor: "rgba(56,97,251,0.35)", bottomColor: "rgba(56,97,251,0.02)", lineWidth: 2,
      priceFormat: { type: "price", precision: 2, minMove: 0.01 },
    });
    box.portfolioChart = { chart, series }; // for the browser tests
  }

  function loadHistory() {
    const box = document.getElementById("history-chart");
    if (!box) return;
    historyState("loading");
    fetch(`${box.dataset.url}?days=${box.dataset.days}`, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((response) => {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then((points) => {
        ensureChart(box);
        if (!series) return historyState("The chart library did not load.", true);
        series.setData(points.map((p) => ({ time: p.date, value: Number(p.value) })));
        chart.timeScale().fitContent();
        const empty = points.every((p) => Number(p.value) === 0);
        historyState(empty ? "No holdings in this period: the history starts with your first transaction." : "");
      })
      .catch(() => historyState("The history could not be loaded.", true));
  }

  function rangeButtons() {
    const box = document.getElementById("history-chart");
    document.querySelectorAll(".history-range [data-days]").forEach((button) => {
      button.addEventListener("click", () => {
        box.dataset.days = button.dataset.days;
        document.querySelectorAll(".history-range [data-days]").forEach((b) => {
          b.classList.toggle("active", b === button);
          b.setAttribute("aria-pressed", b === button ? "true" : "false");
        });
        loadHistory();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    fillTimeZone();
    watchPrices();
    rangeButtons();
    // The chart library loads deferred too, before this script (document order).
    loadHistory();
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id !== "portfolio-body") return;
    fillTimeZone();
    watchPrices();
    subscribeHoldings();
    loadHistory(); // a transaction changes the history
  });
})();
