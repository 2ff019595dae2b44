// The analysis page's chart: candlesticks and volume with switchable overlays (SMA, EMA, Bollinger
// bands), RSI and MACD panes, support/resistance lines and detected patterns, all from the analysis
// API. The last bar moves live through the page's one WebSocket (app.js's candle hook); indicator
// values follow every few seconds, and everything reloads when a bar closes.
(function () {
  "use strict";

  const UP = "#16c784";
  const DOWN = "#ea3943";
  const MUTED = "#8a93a6";
  const LINE_COLORS = { sma: ["#f0b90b", "#e8833a", "#d9534f", "#b05cc8", "#8e6cef", "#c9a227"], ema: ["#4fc3f7", "#4f8cff", "#3ddbd9", "#7cb342", "#26a69a", "#90caf9"] };
  const PATTERN_COLORS = { bullish: UP, bearish: DOWN, neutral: "#f5a524" };
  const REFRESH_MS = 5000;
  const PANE_SERIES = { rsi: 1, macd: 2, macd_signal: 2 }; // the rest of the lines overlay the price
  const VISIBLE_BARS = 200; // shown at first (the rest is a scroll away): recent patterns stay readable
  const LABEL_PX = 18; // the height of a label on the price scale (12 px text and its padding)
  const RSI_LEVELS = [70, 30];

  // Indicator values from the API (no series) by series column, to move the last point of each line.
  function latestColumns(analysis) {
    const out = {};
    Object.entries(analysis.indicators).forEach(([name, reading]) => {
      const v = reading.value;
      if (v == null) return;
      if (name === "macd") Object.assign(out, { macd: v.macd, macd_signal: v.signal, macd_hist: v.histogram });
      else if (name === "bbands") Object.assign(out, { bb_upper: v.upper, bb_middle: v.middle, bb_lower: v.lower });
      else if (name === "stoch") Object.assign(out, { stoch_k: v.k, stoch_d: v.d });
      else out[name] = v;
    });
    return out;
  }

  // Enough decimals for the size of the values (the price filter's rule): 97,000.50 / 0.0109440.
  function priceFormat(values, digits = 4) {
    const largest = Math.max(...values.filter((v) => v != null).map(Math.abs), 0);
    const decimals = largest > 0 ? Math.max(2, Math.min(10, digits - Math.floor(Math.log10(largest)))) : 2;
    return { type: "price", precision: decimals, minMove: Math.pow(10, -decimals) };
  }

  function lineData(times, values) {
    return times.map((time, i) => (values[i] == null ? { time } : { time, value: values[i] }));
  }

  function init() {
    const box = document.getElementById("analysis-chart");
    if (!box || !window.LightweightCharts) return;
    const LC = window.LightweightCharts;
    const live = window.scalpaiboardLive;
    const state = document.getElementById("analysis-state");
    const legend = document.getElementById("analysis-legend");
    const symbol = box.dataset.symbol;
    let timeframe = box.dataset.timeframe;
    let lastTime = 0;
    let loading = 0; // the number of the latest load, so that an older answer is dropped
    let busy = false;
    let reloadTimer = null;
    let fitted = false; // fit the whole history once per timeframe, then keep the trader's zoom

    const chart = LC.createChart(box, {
      autoSize: true,
      // The logo would sit on the MACD pane; the caption under the chart credits TradingView instead.
      layout: { background: { color: "transparent" }, textColor: MUTED, attributionLogo: false, panes: { separatorColor: "#232c40" } },
      grid: { vertLines: { color: "#1a2133" }, horzLines: { color: "#1a2133" } },
      rightPriceScale: { borderColor: "#232c40" },
      timeScale: { borderColor: "#232c40", timeVisible: true, secondsVisible: false },
      crosshair: { mode: LC.CrosshairMode.Normal },
    });
    const quiet = { lastValueVisible: false, priceLineVisible: false, crosshairMarkerVisible: false };
    const candles = chart.addSeries(LC.CandlestickSeries, {
      upColor: UP, downColor: DOWN, borderVisible: false, wickUpColor: UP, wickDownColor: DOWN,
    }, 0);
    const volume = chart.addSeries(LC.HistogramSeries, { ...quiet, priceFormat: { type: "volume" }, priceScaleId: "volume" }, 0);
    chart.priceScale("volume", 0).applyOptions({ scaleMargins: { top: 0.82, bottom: 0 } });
    candles.priceScale().applyOptions({ scaleMargins: { top: 0.06, bottom: 0.22 } });
    const markers = LC.createSeriesMarkers(candles, []);

    // RSI on its whole 0-100 range, so that the 70 and 30 lines are always in view. Its scale labels
    // only 70, 30 and the last value: tick labels there would sit under those (the pane is short).
    const rsi = chart.addSeries(LC.LineSeries, {
      color: "#b05cc8", lineWidth: 2, priceLineVisible: false,
      priceFormat: { type: "custom", minMove: 0.1, formatter: (v) => v.toFixed(1), tickmarksFormatter: (values) => values.map(() => "") },
      autoscaleInfoProvider: () => ({ priceRange: { minValue: 0, maxValue: 100 } }),
    }, 1);
    rsi.priceScale().applyOptions({ scaleMargins: { top: 0.08, bottom: 0.08 } });
    RSI_LEVELS.forEach((price) => rsi.createPriceLine({ price, color: price > 50 ? DOWN : UP, lineStyle: LC.LineStyle.Dashed, lineWidth: 1 }));
    const macdHist = chart.addSeries(LC.HistogramSeries, { ...quiet }, 2);
    const macdLine = chart.addSeries(LC.LineSeries, { ...quiet, color: "#4f8cff", lineWidth: 2 }, 2);
    const macdSignal = chart.addSeries(LC.LineSeries, { ...quiet, color: "#f0b90b", lineWidth: 1 }, 2);
    const panes = chart.panes();
    panes[0].setStretchFactor(3);
    panes[1].setStretchFactor(1);
    panes[2].setStretchFactor(1);
    box.scalpaiboardChart = { chart, candles, rsi }; // for the browser tests: where labels are drawn

    // Series by column name, and the overlay group each belongs to (for the toggles).
    const columns = { rsi: rsi, macd: macdLine, macd_signal: macdSignal };
    const groups = { sma: [], ema: [], bbands: [] };
    let priceLines = [];
    let labelled = []; // the price lines with a label on the price scale, and their prices
    let patternSeries = [];
    let lastClose = null;
    let prices = priceFormat([]);

    const overlayOn = (name) => {
      const input = document.querySelector(`input[data-overlay="${name}"]`);
      return !input || input.checked;
    };
    const volumeBar = (bar) => ({
      time: bar.time, value: bar.volume, color: bar.close >= bar.open ? "rgba(22,199,132,0.45)" : "rgba(234,57,67,0.45)",
    });
    const histBar = (time, value) => ({ time, value, color: value >= 0 ? "rgba(22,199,132,0.6)" : "rgba(234,57,67,0.6)" });
    let lastRsi = null;
    const showLegend = (bar, rsiValue) => {
      if (!bar) return;
      if (rsiValue !== undefined) lastRsi = rsiValue;
      const r = lastRsi == null ? "" : `  RSI ${lastRsi.toFixed(1)}`;
      legend.textContent = `O ${bar.open}  H ${bar.high}  L ${bar.low}  C ${bar.close}${r}`;
    };

    // --- price-scale labels -----------------------------------------------------------------------
    // Labels that would overlap (a narrow chart, levels close together) keep the one nearer the
    // last price; the others stay lines without a label (the summary beside the chart lists them).
    function declutterLabels() {
      declutterQueued = false;
      const height = chart.paneSize(0).height;
      const taken = [candles.priceToCoordinate(lastClose)];
      const byDistance = (a, b) => Math.abs(a.price - lastClose) - Math.abs(b.price - lastClose);
      [...labelled].sort(byDistance).forEach(({ line, price }) => {
        const y = candles.priceToCoordinate(price);
        const room = y != null && y >= 0 && y <= height && taken.every((t) => t == null || Math.abs(t - y) >= LABEL_PX);
        if (room) taken.push(y);
        if (line.options().axisLabelVisible !== room) line.applyOptions({ axisLabelVisible: room });
      });
    }
    // After the chart's own redraw in the same frame, when coordinates follow the new price range.
    let declutterQueued = false;
    function queueDeclutter() {
      if (!declutterQueued) requestAnimationFrame(declutterLabels);
      declutterQueued = true;
    }
    chart.timeScale().subscribeVisibleLogicalRangeChange(queueDeclutter);
    chart.timeScale().subscribeSizeChange(queueDeclutter);

    // --- overlays -----------------------------------------------------------------------------
    function overlaySeries(name) {
      if (columns[name]) return columns[name];
      const group = name.startsWith("sma_") ? "sma" : name.startsWith("ema_") ? "ema" : name.startsWith("bb_") ? "bbands" : null;
      if (!group) return null;
      const colors = LINE_COLORS[group] || [];
      const options = group === "bbands"
        ? { color: "rgba(138,147,166,0.8)", lineWidth: 1, lineStyle: name === "bb_middle" ? LC.LineStyle.Dotted : LC.LineStyle.Solid }
        : { color: colors[groups[group].length % colors.length], lineWidth: 1 };
      const series = chart.addSeries(LC.LineSeries, { ...quiet, ...options, visible: overlayOn(group) }, 0);
      columns[name] = series;
      groups[group].push(series);
      return series;
    }

    // Which colour is which line: the overlays drawn now, by group. Swatches are coloured through
    // the CSSOM: the Content-Security-Policy refuses style attributes in HTML.
    function keyItem(color, label) {
      const item = document.createElement("span");
      const swatch = document.createElement("i");
      swatch.style.background = color;
      item.append(swatch, label);
      return item;
    }

    function drawKey(data) {
      const key = document.getElementById("analysis-key");
      if (!key) return;
      key.replaceChildren();
      Object.entries(groups).forEach(([group, members]) => {
        if (group === "bbands" || !overlayOn(group)) return;
        Object.keys(data).filter((name) => name.startsWith(group + "_")).forEach((name) => {
          key.append(keyItem(columns[name].options().color, name.replace("_", " ").toUpperCase()));
        });
      });
      if (overlayOn("bbands")) key.append(keyItem("rgba(138,147,166,0.8)", "Bollinger"));
    }

    function drawSeries(data) {
      const times = data.time;
      const bars = times.map((time, i) => ({ time, open: data.open[i], high: data.high[i], low: data.low[i], close: data.close[i], volume: data.volume[i] }));
      candles.setData(bars);
      volume.setData(bars.map(volumeBar));
      macdHist.setData(times.map((time, i) => (data.macd_hist[i] == null ? { time } : histBar(time, data.macd_hist[i]))));
      Object.keys(data).forEach((name) => {
        if (["time", "open", "high", "low", "close", "volume", "macd_hist", "atr", "stoch_k", "stoch_d", "volume_sma"].includes(name)) return;
        const series = overlaySeries(name);
        if (series) series.setData(lineData(times, data[name]));
      });
      Object.entries(columns).forEach(([name, series]) => {
        if (!(name in data)) series.setData([]); // a length no longer asked for
      });
      lastTime = times.length ? times[times.length - 1] : 0;
      lastClose = times.length ? data.close[times.length - 1] : null;
      prices = priceFormat(data.close.slice(-1));
      [candles, ...Object.entries(columns).filter(([name]) => !(name in PANE_SERIES)).map(([, series]) => series)]
        .forEach((series) => series.applyOptions({ priceFormat: prices }));
      const macdFormat = priceFormat([...data.macd, ...data.macd_hist], 2);
      [macdHist, macdLine, macdSignal].forEach((series) => series.applyOptions({ priceFormat: macdFormat }));
      drawKey(data);
      showLegend(bars[bars.length - 1], data.rsi[data.rsi.length - 1]);
      return bars.length;
    }

    // --- levels and patterns --------------------------------------------------------------------
    function drawLevels(analysis) {
      priceLines.forEach((line) => candles.removePriceLine(line));
      priceLines = [];
      labelled = labelled.filter(({ series }) => series !== candles);
      box.dataset.levels = "0";
      if (!overlayOn("levels")) return;
      const pivots = analysis.levels.pivots.value || {};
      Object.entries(pivots).forEach(([name, price]) => {
        const color = name === "P" ? MUTED : name.startsWith("R") ? "rgba(234,57,67,0.55)" : "rgba(22,199,132,0.55)";
        priceLines.push(candles.createPriceLine({ price, color, lineWidth: 1, lineStyle: LC.LineStyle.Dashed, axisLabelVisible: false, title: name }));
      });
      [["support", UP, "S"], ["resistance", DOWN, "R"]].forEach(([side, color, letter]) => {
        analysis.levels[side].forEach((level) => {
          const line = candles.createPriceLine({ price: level.price, color, lineWidth: 2, lineStyle: LC.LineStyle.Solid, axisLabelVisible: true, title: `${letter} ×${level.touches}` });
          priceLines.push(line);
          labelled.push({ series: candles, line, price: level.price });
        });
      });
      box.dataset.levels = String(priceLines.length);
      queueDeclutter();
    }

    function drawPatterns(patterns) {
      patternSeries.forEach((series) => chart.removeSeries(series));
      labelled = labelled.filter(({ series }) => !patternSeries.includes(series));
      patternSeries = [];
      const shown = overlayOn("patterns") ? patterns : [];
      const pointMarkers = [];
      const strongest = shown.reduce((best, p) => (!best || p.confidence > best.confidence ? p : best), null);
      shown.forEach((pattern) => {
        const color = PATTERN_COLORS[pattern.direction] || MUTED;
        const seen = new Set();
        const points = pattern.points
          .filter(([time]) => time <= lastTime && !seen.has(time) && seen.add(time))
          .sort((a, b) => a[0] - b[0]);
        const series = chart.addSeries(LC.LineSeries, { ...quiet, color, lineWidth: 2, priceFormat: prices }, 0);
        series.setData(points.map(([time, value]) => ({ time, value })));
        patternSeries.push(series);
        points.forEach(([time, price, label], i) => {
          // The first point carries the pattern's name: the right edge is crowded with price labels.
          const text = i === 0 ? `${pattern.kind.replace(/_/g, " ")} ${Math.round(pattern.confidence * 100)}%` : label;
          pointMarkers.push({ time, position: "atPriceMiddle", price, shape: "circle", size: 0.6, color, text });
        });
        if (pattern === strongest) {
          [["breakout", LC.LineStyle.Dotted], ["target", LC.LineStyle.LargeDashed]].forEach(([title, lineStyle]) => {
            const price = pattern[title];
            labelled.push({ series, price, line: series.createPriceLine({ price, color, lineWidth: 1, lineStyle, title }) });
          });
        }
      });
      markers.setMarkers(pointMarkers.sort((a, b) => a.time - b.time));
      box.dataset.patterns = String(shown.length);
      // The toggle is on and the chart shows nothing: say that the scan found nothing.
      document.getElementById("analysis-patterns-none").hidden = !overlayOn("patterns") || shown.length > 0;
      queueDeclutter();
    }

    // --- loading ----------------------------------------------------------------------------------
    async function getJson(url) {
      const response = await fetch(url, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      return response.json();
    }

    let lastAnalysis = null;
    let lastPatterns = [];

    async function load() {
      const request = ++loading;
      busy = true;
      delete box.dataset.loaded;
      state.hidden = false;
      state.innerHTML = '<span class="spinner"></span> Loading chart…';
      try {
        const [analysis, found] = await Promise.all([
          getJson(`${box.dataset.analysisUrl}?timeframe=${timeframe}&series=true`),
          getJson(`${box.dataset.patternsUrl}?timeframe=${timeframe}`),
        ]);
        if (request !== loading) return; // a newer timeframe was chosen meanwhile
        const count = drawSeries(analysis.series);
        lastAnalysis = analysis;
        lastPatterns = found.patterns;
        drawLevels(analysis);
        drawPatterns(found.patterns);
        if (!fitted) chart.timeScale().setVisibleLogicalRange({ from: Math.max(0, count - VISIBLE_BARS), to: count + 3 });
        fitted = true;
        state.hidden = !!count;
        if (!count) state.textContent = "No candles for this timeframe yet.";
        box.dataset.loaded = String(count);
        box.dataset.panes = String(chart.panes().length);
      } catch (error) {
        if (request !== loading) return;
        state.hidden = false;
        state.innerHTML = `Could not load the analysis: ${error.message}. <button type="button" class="tf">Retry</button>`;
        state.querySelector("button").onclick = load;
      } finally {
        if (request === loading) busy = false;
      }
    }

    // The last point of every indicator follows the forming bar (the server steps it from the closed bars).
    async function refreshLatest() {
      if (busy || !lastTime) return;
      try {
        const analysis = await getJson(`${box.dataset.analysisUrl}?timeframe=${timeframe}`);
        if (analysis.timeframe !== timeframe || analysis.time == null || analysis.time < lastTime) return;
        const values = latestColumns(analysis);
        Object.entries(values).forEach(([name, value]) => {
          if (columns[name]) columns[name].update({ time: analysis.time, value });
        });
        if (values.macd_hist != null) macdHist.update(histBar(analysis.time, values.macd_hist));
        if (values.rsi != null) lastRsi = values.rsi;
        box.dataset.indicatorsUpdated = String(Date.now());
      } catch (error) {
        // The summary beside the chart shows the error banner; the chart keeps its last values.
      }
    }

    function scheduleReload() {
      clearTimeout(reloadTimer);
      reloadTimer = setTimeout(load, 1500); // let the feed store the bar that just closed
    }

    const handler = {
      subscribe() {
        if (live) live.send({ action: "subscribe", channel: "candles", symbol: symbol, timeframe: timeframe });
      },
      onCandle(message) {
        if (message.symbol !== symbol || message.timeframe !== timeframe || message.time < lastTime || !lastTime) return;
        const bar = { time: message.time, open: message.open, high: message.high, low: message.low, close: message.close, volume: message.volume };
        if (bar.time > lastTime) scheduleReload(); // a bar closed: indicators, levels and patterns move on
        candles.update(bar);
        volume.update(volumeBar(bar));
        lastTime = bar.time;
        lastClose = bar.close;
        showLegend(bar);
        queueDeclutter();
        box.dataset.lastUpdate = String(Date.now());
      },
    };
    if (live) live.addCandleHandler(handler);

    // --- controls ---------------------------------------------------------------------------------
    if (live) live.timeframeButtons(box, symbol, (chosen) => {
      timeframe = chosen;
      lastTime = 0;
      fitted = false;
      const field = document.getElementById("analysis-timeframe");
      if (field) field.value = timeframe;
      document.body.dispatchEvent(new Event("analysis-timeframe")); // the summary follows (htmx)
      load().then(() => handler.subscribe());
    });

    document.querySelectorAll("input[data-overlay]").forEach((input) => {
      input.addEventListener("change", () => {
        const name = input.dataset.overlay;
        if (groups[name]) groups[name].forEach((series) => series.applyOptions({ visible: input.checked }));
        if (groups[name] && lastAnalysis) drawKey(lastAnalysis.series);
        if (name === "levels" && lastAnalysis) drawLevels(lastAnalysis);
        if (name === "patterns") drawPatterns(lastPatterns);
      });
    });

    load();
    setInterval(refreshLatest, REFRESH_MS);
  }

  document.addEventListener("DOMContentLoaded", init);
})();
