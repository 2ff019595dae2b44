// The assistant's chat page: sends questions over the page's one /ws socket (the `chat` channel),
// draws the streamed answer (Markdown as DOM nodes: assistant_markdown.js), its tool cards, cost and
// response time; Stop cancels; a socket that reconnects mid-answer subscribes again after the last
// event seen, so the rest of the answer arrives. Nothing the model sends is ever set as HTML.
(function () {
  "use strict";

  const md = window.scalpaiboardMarkdown;
  const STOP_GRACE_MS = 8000; // after Stop, how long to wait for the answer's last event
  const cards = window.scalpaiboardCards;

  let socket = null;
  let current = null; // the answer being written: {messageId, lastSeq, article, text, cards, ...}

  const $ = (id) => document.getElementById(id);
  const chat = () => $("chat");

  function el(name, className, text) {
    const node = document.createElement(name);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // --- the socket -------------------------------------------------------------------------------
  document.addEventListener("htmx:wsOpen", (event) => {
    socket = event.detail.socketWrapper;
    if (!chat()) return;
    if (current && current.messageId && !current.finished) {
      current.askedAfter = current.lastSeq;
      send({ action: "subscribe", channel: "chat", message_id: current.messageId, after: current.lastSeq });
    } else if (current && !current.finished) {
      // The question went out but the socket dropped before its answer had an id: it may or may not run.
      fail("The connection dropped before the answer started. Reload the conversation, or ask again.");
    }
  });
  document.addEventListener("htmx:wsClose", () => {
    socket = null;
  });

  function send(message) {
    if (!socket) return false;
    socket.send(JSON.stringify(message));
    return true;
  }

  document.addEventListener("htmx:wsBeforeMessage", (event) => {
    const text = event.detail.message;
    if (!chat() || typeof text !== "string" || text[0] !== "{") return;
    let message;
    try {
      message = JSON.parse(text);
    } catch (error) {
      return;
    }
    if (message.type === "chat") onChat(message);
    else if (message.type === "error" && current && !current.finished) onSocketError(message.message);
  });

  function onSocketError(text) {
    // Errors are not tied to a frame; while a question waits for its answer, this one is about it.
    if (!current.messageId) fail(text);
    else showError(text);
  }

  // --- asking -----------------------------------------------------------------------------------
  function ask(text) {
    text = text.trim();
    if (!text || (current && !current.finished)) return;
    hideError();
    const message = { action: "chat", message: text };
    const conversation = chat().dataset.conversation;
    if (conversation) message.conversation_id = Number(conversation);
    const provider = $("chat-provider").value; // empty: the built-in assistant (no provider configured)
    if (provider) {
      message.provider_id = Number(provider);
      const model = $("chat-model").value.trim();
      if (model) message.model = model;
    }
    if (!send(message)) {
      showError("Not connected to the server: reconnecting… try again in a moment.");
      return;
    }
    $("chat-empty").hidden = true;
    const user = el("article", "chat-msg user");
    user.appendChild(el("div", "chat-bubble", text));
    $("chat-log").appendChild(user);
    start(newAnswer(), null);
    $("chat-input").value = "";
  }

  function newAnswer() {
    const article = el("article", "chat-msg assistant running");
    article.appendChild(el("div", "tool-cards"));
    const body = el("div", "md");
    article.appendChild(body);
    const thinking = el("div", "chat-thinking small muted");
    thinking.appendChild(el("span", "spinner"));
    thinking.appendChild(document.createTextNode(" Thinking…"));
    article.appendChild(thinking);
    article.appendChild(el("footer", "chat-meta small muted"));
    $("chat-log").appendChild(article);
    return article;
  }

  function start(article, messageId) {
    current = {
      messageId: messageId,
      lastSeq: 0,
      article: article,
      text: "",
      cards: new Map(),
      usage: null,
      askedAfter: null, // the seq a resubscription asked to replay after
      finished: false,
      stopping: false,
      drawPending: false,
    };
    if (messageId) article.dataset.message = String(messageId);
    setBusy(true);
    scrollDown(true);
  }

  function setBusy(busy) {
    $("chat-send").disabled = busy;
    $("chat-stop").hidden = !busy;
    $("chat-stop").disabled = false;
    chat().classList.toggle("busy", busy);
  }

  // --- the answer's events ----------------------------------------------------------------------
  function onChat(message) {
    if (!current || current.finished) return;
    if (current.messageId === null) {
      current.messageId = message.message_id;
      current.article.dataset.message = String(message.message_id);
      if (current.stopping) stop();
    }
    if (message.message_id !== current.messageId || message.seq <= current.lastSeq) return; // seen already
    if (message.seq > current.lastSeq + 1) {
      // Events were missed (the socket was down): ask for them after the last one seen, once, and
      // take nothing out of order meanwhile; the replay comes in order.
      if (current.askedAfter !== current.lastSeq) {
        current.askedAfter = current.lastSeq;
        send({ action: "subscribe", channel: "chat", message_id: current.messageId, after: current.lastSeq });
      }
      return;
    }
    current.lastSeq = message.seq;
    const data = message.data || {};
    const handler = EVENTS[message.event];
    if (handler) handler(data);
  }

  const EVENTS = {
    conversation(data) {
      if (data.id && String(data.id) !== chat().dataset.conversation) {
        chat().dataset.conversation = String(data.id);
        history.replaceState(null, "", chat().dataset.pageUrl + "/" + data.id);
        const current = document.querySelector(".chat-search input[name=current]");
        if (current) current.value = String(data.id); // the sidebar's searches mark it as the one shown
        refreshConversations(); // the new conversation appears in the list at once
      }
    },
    token(data) {
      current.text += data.text || "";
      thinkingDone();
      scheduleDraw();
    },
    tool_call(data) {
      thinkingDone();
      const card = cards.toolCard(data);
      current.cards.set(data.id, card);
      current.article.querySelector(".tool-cards").appendChild(card);
      scrollDown();
    },
    tool_result(data) {
      let card = current.cards.get(data.id);
      if (!card) {
        card = cards.toolCard(data);
        current.article.querySelector(".tool-cards").appendChild(card);
      }
      cards.fillCard(card, data);
      scrollDown();
    },
    usage(data) {
      current.usage = data;
    },
    done(data) {
      finish(data);
    },
    error(data) {
      showInAnswer(data.message || "The answer failed.");
      finish(null);
    },
  };

  function thinkingDone() {
    const thinking = current.article.querySelector(".chat-thinking");
    if (thinking) thinking.remove();
  }

  function scheduleDraw() {
    if (current.drawPending) return;
    current.drawPending = true;
    const answer = current;
    requestAnimationFrame(() => {
      answer.drawPending = false;
      md.renderInto(answer.article.querySelector(".md"), answer.text);
      scrollDown();
    });
  }

  function finish(done) {
    if (!current || current.finished) return;
    const answer = current;
    answer.finished = true;
    thinkingDone();
    md.renderInto(answer.article.querySelector(".md"), answer.text);
    answer.article.classList.remove("running");
    if (answer.stopping) answer.article.classList.add("incomplete");
    meta(answer, done);
    setBusy(false);
    refreshConversations();
    scrollDown();
    $("chat-input").focus();
  }

  function fail(text) {
    showInAnswer(text);
    finish(null);
  }

  function showInAnswer(text) {
    if (!current) return;
    thinkingDone();
    current.article.insertBefore(el("p", "chat-msg-error neg small", text), current.article.querySelector("footer"));
  }

  function meta(answer, done) {
    const footer = answer.article.querySelector("footer");
    footer.replaceChildren();
    if (answer.stopping) footer.appendChild(el("span", "badge warn", "stopped"));
    if (answer.usage && answer.usage.provider) {
      const model = answer.usage.model ? " · " + answer.usage.model : "";
      footer.appendChild(el("span", "", answer.usage.provider + model));
    }
    if (done) {
      const cost = el("span", "badge cost", usd(done.cost_usd));
      cost.title = "Cost of this answer";
      footer.appendChild(cost);
      if (done.latency_ms != null) {
        const latency = el("span", "latency", duration(done.latency_ms));
        latency.title = "Response time";
        footer.appendChild(latency);
      }
    }
  }

  // The same rule as assistant/views.py seconds(): milliseconds under a second, then tenths.
  function duration(ms) {
    return ms < 1000 ? Math.round(ms) + " ms" : (ms / 1000).toFixed(1) + " s";
  }

  // The same rule as assistant/views.py usd().
  function usd(value) {
    if (value === null || value === undefined) return "cost unknown";
    const amount = Number(value);
    if (amount === 0) return "$0.00";
    if (amount < 0.0001) return "< $0.0001";
    return "$" + amount.toFixed(amount < 0.01 ? 4 : 2);
  }

  // --- stop, errors, the sidebar ------------------------------------------------------------------
  function stop() {
    if (!current || current.finished) return;
    current.stopping = true;
    $("chat-stop").disabled = true;
    if (!current.messageId) return; // sent as soon as the answer has an id
    send({ action: "cancel", channel: "chat", message_id: current.messageId });
    const answer = current;
    setTimeout(() => {
      if (current === answer && !answer.finished) finish(null); // the run did not say it ended: stop waiting
    }, STOP_GRACE_MS);
  }

  function showError(text) {
    const banner = $("chat-error");
    banner.textContent = text;
    banner.hidden = false;
  }

  function hideError() {
    $("chat-error").hidden = true;
  }

  function refreshConversations() {
    if (!window.htmx) return;
    const search = document.querySelector(".chat-search");
    const params = new URLSearchParams({ q: $("chat-q").value, current: chat().dataset.conversation || "" });
    const url = search.getAttribute("hx-get") + "?" + params.toString();
    window.htmx.ajax("GET", url, { target: "#conversation-list", swap: "outerHTML" });
  }

  // The log follows the answer as it grows while the reader is at its end; one who scrolled up to
  // read stays where they are (until they ask again, or scroll back down).
  let following = true;

  function scrollDown(always) {
    const log = $("chat-log");
    if (always) following = true;
    if (following) log.scrollTop = log.scrollHeight;
  }

  function watchScroll() {
    const log = $("chat-log");
    log.addEventListener("scroll", () => {
      following = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
    });
  }

  // --- the page -----------------------------------------------------------------------------------
  function init() {
    if (!chat()) return;
    document.querySelectorAll("#chat-log [data-markdown]").forEach((node) => {
      md.renderInto(node, node.textContent);
      node.removeAttribute("data-markdown"); // drawn: its white space is the blocks' now
    });
    $("chat-form").addEventListener("submit", (event) => {
      event.preventDefault();
      ask($("chat-input").value);
    });
    $("chat-input").addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        ask($("chat-input").value);
      }
    });
    $("chat-stop").addEventListener("click", stop);
    document.querySelectorAll(".chat-example").forEach((button) => {
      button.addEventListener("click", () => ask(button.dataset.prompt));
    });
    $("chat-provider").addEventListener("change", providerChanged);
    providerChanged();
    const side = $("chat-side");
    $("chat-side-open").addEventListener("click", () => {
      side.classList.add("open");
      $("chat-side-open").setAttribute("aria-expanded", "true");
    });
    $("chat-side-close").addEventListener("click", () => {
      side.classList.remove("open");
      $("chat-side-open").setAttribute("aria-expanded", "false");
    });
    watchScroll();
    resumeRunning();
    scrollDown(true);
  }

  function providerChanged() {
    const option = $("chat-provider").selectedOptions[0];
    const model = $("chat-model");
    const builtin = !option || !option.value;
    model.disabled = builtin;
    model.placeholder = builtin ? "built-in" : option.dataset.model || "model";
    if (builtin) model.value = "";
  }

  // A page opened (or reloaded) while an answer is still being written follows it from its start.
  function resumeRunning() {
    const running = document.querySelector("#chat-log article.assistant[data-running]");
    if (!running) return;
    running.querySelector(".md").replaceChildren();
    running.querySelectorAll(".tool-card").forEach((card) => card.remove());
    if (!running.querySelector(".tool-cards")) running.insertBefore(el("div", "tool-cards"), running.firstChild);
    start(running, Number(running.dataset.message));
    if (socket) send({ action: "subscribe", channel: "chat", message_id: current.messageId, after: 0 });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
