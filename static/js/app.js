// Scalpaiboard pages: live prices over /ws (HTML fragments that htmx's ws extension delivers),
// the connection badge, error banners, and the coin chart fed by JSON candle messages.
(function () {
  "use strict";

  let socket = null; // the ws extension's socket wrapper, once open
  const candleHandlers = new Set();

  function send(message) {
    if (socket) socket.send(JSON.stringify(message));
  }

  // Other page scripts (the analysis chart) follow candles through this page's one socket.
  window.scalpaiboardLive = {
    addCandleHandler(handler) {
      candleHandlers.add(handler);
      if (socket) handler.subscribe();
    },
    send: send,
    timeframeButtons: timeframeButtons,
  };

  // A chart's timeframe buttons (coin page, analysis page): on a switch the old candle stream is
  // dropped, the chart's data-timeframe, the pressed button and the URL follow, then the page
  // loads the new timeframe in ``switched(timeframe)``.
  function timeframeButtons(box, symbol, switched) {
    document.querySelectorAll(".tf[data-timeframe]").forEach((button) => {
      button.addEventListener("click", () => {
        const previous = box.dataset.timeframe;
        const timeframe = button.dataset.timeframe;
        if (timeframe === previous) return;
        send({ action: "unsubscribe", channel: "candles", symbol: symbol, timeframe: previous });
        box.dataset.timeframe = timeframe;
        document.querySelectorAll(".tf[data-timeframe]").forEach((b) => {
          b.classList.toggle("active", b === button);
          b.setAttribute("aria-selected", b === button ? "true" : "false");
        });
        const url = new URL(window.location);
        url.searchParams.set("timeframe", timeframe);
        history.replaceState(null, "", url);
        switched(timeframe);
      });
    });
  }

  // --- Which symbols this page shows: subscribe to exactly those ---------------------------
  function visibleSymbols() {
    const symbols = new Set();
    document.querySelectorAll("[data-symbol]").forEach((el) => symbols.add(el.dataset.symbol));
    return Array.from(symbols);
  }

  function resubscribe() {
    if (!socket) return;
    send({ action: "unsubscribe", symbols: "*" });
    const symbols = visibleSymbols();
    if (symbols.length) send({ action: "subscribe", symbols: symbols });
    candleHandlers.forEach((handler) => handler.subscribe());
  }

  // --- Connection badge ---------------------------------------------------------------------
  function setStatus(state, text) {
    const badge = document.getElementById("live-status");
    if (!badge) return;
    badge.className = "live-status " + state;
    badge.querySelector("span").textContent = text;
  }

  document.addEventListener("htmx:wsConnecting", () => setStatus("connecting", "Connecting…"));
  document.addEventListener("htmx:wsOpen", (event) => {
    socket = event.detail.socketWrapper;
    setStatus("live", "Live");
    resubscribe();
  });
  document.addEventListener("htmx:wsClose", () => {
    socket = null;
    setStatus("down", "Reconnecting…");
  });
  document.addEventListener("htmx:wsError", () => setStatus("down", "Connection error"));

  // JSON messages (candles, acknowledgements, errors) are ours; HTML fragments are htmx's.
  document.addEventListener("htmx:wsBeforeMessage", (event) => {
    const text = event.detail.message;
    if (typeof text !== "string" || text[0] !== "{") return;
    event.preventDefault();
    let message;
    try {
      message = JSON.parse(text);
    } catch (error) {
      return;
    }
    if (message.type === "candle") candleHandlers.forEach((handler) => handler.onCandle(message));
    else if (message.type === "error") console.warn("Live data:", message.message);
  });

  // --- Live figures -------------------------------------------------------------------------
  // The feed's fragments replace a page's figures (span.num) out of band, a few hundred a message
  // on a full table. Each is updated in place, text and class: htmx's own out-of-band swap fires an
  // event for every element swapped so far after each one (quadratic: 100 rows froze the page).
  document.addEventListener("htmx:oobBeforeSwap", (event) => {
    const { target, fragment } = event.detail;
    const next = fragment.firstElementChild;
    if (!next || !target.matches("span.num") || !next.matches("span.num")) return;
    event.detail.shouldSwap = false;
    if (target.classList.contains("price")) flashOnMove(target, priceIn(next));
    target.textContent = next.textContent;
    target.className = next.className;
  });

  // Prices tick every second, so a flash on every tick kept each cell tinted. A cell flashes (the
  // CSS animation: 0.6 s) when its price has moved FLASH_MOVE from where it stood at its last flash:
  // ticks leave it clear, a run or a jump stands out.
  const FLASH_MOVE = 0.0005; // 0.05 %
  const priceIn = (cell) => parseFloat(cell.textContent.replace(/,/g, ""));

  function flashOnMove(cell, price) {
    const from = Number(cell.dataset.flashFrom) || priceIn(cell);
    if (!(price > 0 && from > 0) || Math.abs(price / from - 1) < FLASH_MOVE) return;
    cell.dataset.flashFrom = String(price);
    delete cell.dataset.flash;
    void cell.offsetWidth; // let the style see the flash end, so that a new one starts over
    cell.dataset.flash = price > from ? "up" : "down";
  }

  // --- Table swaps and errors ---------------------------------------------------------------
  // Empty filters stay out of the request (and so out of the address bar).
  document.addEventListener("htmx:configRequest", (event) => {
    const params = event.detail.parameters;
    const names = params instanceof FormData ? Array.from(params.keys()) : Object.keys(params);
    names.forEach((name) => {
      const value = params instanceof FormData ? params.get(name) : params[name];
      if (value === "" || value == null) {
        if (params instanceof FormData) params.delete(name);
        else delete params[name];
      }
    });
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target.id === "coin-table") {
      const ordering = new URL(window.location).searchParams.get("ordering") || "";
      const field = document.querySelector("#coin-filters input[name=ordering]");
      if (field) field.value = ordering;
      resubscribe();
    }
    hideError();
  });

  function showError(text) {
    const banner = document.getElementById("error-banner");
    if (!banner) return;
    banner.textContent = text;
    banner.hidden = false;
  }
  function hideError() {
    const banner = document.getElementById("error-banner");
    if (banner && !banner.hidden) banner.hidden = true;
  }
  document.addEventListener("htmx:responseError", (event) => {
    showError("The server could not answer (" + event.detail.xhr.status + "). Retrying shortly.");
  });
  document.addEventListener("htmx:sendError", () => showError("Cannot reach the server. Check your connection; retrying."));

  // --- Page furniture (here, not inline: the Content-Security-Policy refuses inline code) ----
  document.addEventListener("DOMContentLoaded", () => {
    const toggle = document.querySelector(".menu-toggle");
    if (!toggle) return;
    toggle.addEventListener("click", () => {
      toggle.setAttribute("aria-expanded", String(document.body.classList.toggle("nav-open")));
    });
  });

  // Order book rows carry their depth as data; the bar behind each is drawn from the CSS variable
  // set here through the CSSOM (a style attribute in the fragment would be refused by the policy).
  // afterSwap comes before the browser paints the new rows; htmx:load would come a settle later.
  document.addEventListener("htmx:afterSwap", (event) => {
    event.detail.target.querySelectorAll("tr[data-depth]").forEach((row) => {
      row.style.setProperty("--depth", row.dataset.depth + "%");
    });
  });

  // --- Coin chart ---------------------------------------------------------------------------
  function initChart() {
    const box = document.getElementById("chart");
    if (!box || !window.LightweightCharts) return;
    const LC = window.LightweightCharts;
    const state = document.getElementById("chart-state");
    const legend = document.getElementById("chart-legend");
    const chart = LC.createChart(box, {
      autoSize: true,
      // The logo would sit on the candles; the page credits TradingView under the chart instead.
      layout: { background: { color: "transparent" }, textColor: "#8a93a6", attributionLogo: false },
      grid: { vertLines: { color: "#1a2133" }, horzLines: { color: "#1a2133" } },
      rightPriceScale: { borderColor: "#232c40" },
      timeScale: { borderColor: "#232c40", timeVisible: true, secondsVisible: false },
      crosshair: { mode: LC.CrosshairMode.Normal },
    });
    const candles = chart.addSeries(LC.CandlestickSeries, {
      upColor: "#16c784", downColor: "#ea3943", borderVisible: false, wickUpColor: "#16c784", wickDownColor: "#ea3943",
    });
    // No volume label: it would sit among the prices on the one visible scale.
    const volume = chart.addSeries(LC.HistogramSeries, {
      priceFormat: { type: "volume" }, priceScaleId: "volume", lastValueVisible: false, priceLineVisible: false,
    });
    chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
    candles.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.25 } });

    box.scalpaiboardChart = { chart, candles }; // for the browser tests: where the last candle is drawn
    const symbol = box.dataset.symbol;
    let timeframe = box.dataset.timeframe;
    let lastTime = 0;
    let loading = 0;

    const volumeBar = (bar) => ({
      time: bar.time, value: bar.volume, color: bar.close >= bar.open ? "rgba(22,199,132,0.45)" : "rgba(234,57,67,0.45)",
    });
    const showLegend = (bar) => {
      if (bar) legend.textContent = `O ${bar.open}  H ${bar.high}  L ${bar.low}  C ${bar.close}`;
    };

    async function load() {
      const request = ++loading;
      state.hidden = false;
      state.innerHTML = '<span class="spinner"></span> Loading candles…';
      try {
        const response = await fetch(`${box.dataset.candlesUrl}?timeframe=${timeframe}&limit=500`, { headers: { Accept: "application/json" } });
        if (!response.ok) throw new Error(`the server answered ${response.status}`);
        const bars = await response.json();
        if (request !== loading) return; // a newer timeframe was chosen meanwhile
        candles.setData(bars);
        volume.setData(bars.map(volumeBar));
        lastTime = bars.length ? bars[bars.length - 1].time : 0;
        showLegend(bars[bars.length - 1]);
        chart.timeScale().fitContent();
        state.hidden = !!bars.length;
        if (!bars.length) state.textContent = "No candles for this timeframe yet.";
        box.dataset.loaded = String(bars.length);
      } catch (error) {
        state.hidden = false;
        state.innerHTML = `Could not load candles: ${error.message}. <button type="button" class="tf">Retry</button>`;
        state.querySelector("button").onclick = load;
      }
    }

    const handler = {
      subscribe() {
        send({ action: "subscribe", channel: "candles", symbol: symbol, timeframe: timeframe });
      },
      onCandle(message) {
        if (message.symbol !== symbol || message.timeframe !== timeframe || message.time < lastTime) return;
        const bar = { time: message.time, open: message.open, high: message.high, low: message.low, close: message.close, volume: message.volume };
        candles.update(bar);
        volume.update(volumeBar(bar));
        lastTime = bar.time;
        showLegend(bar);
        box.dataset.lastUpdate = String(Date.now());
      },
    };
    candleHandlers.add(handler);

    timeframeButtons(box, symbol, (chosen) => {
      timeframe = chosen;
      load().then(() => handler.subscribe());
    });
    load();
    handler.subscribe();
  }

  document.addEventListener("DOMContentLoaded", initChart);
})();
