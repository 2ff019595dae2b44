"""The assistant's chat page in a real browser on a real server: the built-in assistant (no provider)
creates an alert, shown on its tool card and then on the alerts page; a provider's answer streams in
with its tool card, cost and time, and Stop keeps what came; an answer's Markdown is drawn, and markup
in it (an <img onerror>, a javascript: link) shows as text, never as an element."""

from __future__ import annotations

import os
import re

import pytest
from django.conf import settings

from assistant.models import Conversation, Message
from assistant.tests.chat_helpers import claude, claude_for  # noqa: F401 (the fixture)
from providers.tests.imitation_script import ScriptedToolCall, Turn
from tests.processes import BIN, processes, wait_for
from tests.test_browser import CHROMIUM, page  # noqa: F401 (the fixture)
from tests.test_browser_alerts import in_thread

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Chromium is not installed (apt-get install chromium)"),
    # One test process at a time uses the broker's `ai` queue: another's worker would take its answers.
    pytest.mark.xdist_group("ai-queue"),
]


@pytest.fixture
def server(seeded_market, tmp_path):
    """Daphne with the feed inside it (embedded: answers are written in its threads), or on the full
    stack run_feed beside it and an ``ai`` worker that writes the answers, as docker-compose runs them."""
    with processes(tmp_path) as group:
        if not settings.REDIS_URL:
            yield group.daphne(FEED_EMBEDDED="true")
            return
        env = {"FEED_EMBEDDED": "false", "CELERY_BROKER_URL": settings.REDIS_URL}
        argv = ["-A", "scalpaiboard", "worker", "-Q", "ai", "--pool", "threads", "--concurrency", "4", "--purge"]
        group.start("ai", str(BIN / "celery"), *argv, "-n", "ai-browser@%h", "-l", "info", **env)
        group.feed(**env)
        address = group.daphne(**env)
        wait_for(lambda: "ready" in group.log("ai"), what="the ai worker", logs=group)
        yield address


PASSWORD = "a long pass phrase"
HOSTILE = (
    "## Found **2** coins\n\n"
    "| Coin | RSI |\n|---|---|\n| BTC | 28.1 |\n| ETH | `27.4` |\n\n"
    "- see [BTC](/coins/BTC)\n- and [this](javascript:window.__xss=1)\n\n"
    '<img src=x onerror="window.__xss=1"> and <script>window.__xss=2</script>\n\n'
    "```\n<b>code</b>\n```"
)


@pytest.fixture
def trader(seeded_market, django_user_model):
    """A trader (created before the browser starts: see ``page``)."""
    return django_user_model.objects.create_user("trader", password=PASSWORD, email="t@example.com")


def log_in(tab) -> None:
    tab.goto(tab.base + "/accounts/login/?next=/assistant")
    tab.fill("input[name=username]", "trader")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("form button[type=submit]")
    tab.wait_for_url(re.compile(r"/assistant$"))
    tab.wait_for_selector("#live-status.live")  # the page's socket: the chat goes over it


def alerts_of(username: str) -> list[tuple[str, dict]]:
    from alerts.models import Alert

    return [(a.coin.symbol, a.condition) for a in Alert.objects.filter(user__username=username).select_related("coin")]


def test_the_built_in_assistant_makes_an_alert_seen_on_its_card_and_the_alerts_page(trader, page):  # noqa: F811
    pytest.importorskip("assistant.builtin", reason="the built-in assistant (assistant/builtin) is not merged yet")
    log_in(page)
    page.click(".chat-example[data-prompt='alert me when BTC crosses 100000']")
    page.wait_for_selector(".chat-msg.user .chat-bubble >> text=alert me when BTC crosses 100000")
    card = page.wait_for_selector(".tool-card.ok:has(.tool-name:text('create_alert'))")
    assert "BTC" in card.inner_text()
    page.wait_for_selector(".chat-msg.assistant:not(.running) .badge.cost")
    assert page.text_content(".chat-msg.assistant .badge.cost") == "$0.00"
    assert re.fullmatch(r"\d+ ms|\d+\.\d s", page.text_content(".chat-msg.assistant .latency"))
    assert page.is_visible(".tool-card .tool-action button.undo")
    page.wait_for_url(re.compile(r"/assistant/\d+$"))  # the new conversation's own address
    page.wait_for_selector("#conversation-list .conversation.current")

    made = in_thread(alerts_of, "trader")
    assert len(made) == 1 and made[0][0] == "BTC", made
    link = card.query_selector(".tool-links a")
    assert link is not None and re.fullmatch(r"/alerts/\d+", link.get_attribute("href"))
    link.click()
    page.wait_for_url(re.compile(r"/alerts/\d+$"))
    page.goto(page.base + "/alerts")
    page.wait_for_selector("text=BTC")
    assert "100,000" in page.inner_text("main") or "100000" in page.inner_text("main")


def test_markup_in_an_answer_shows_as_text_and_its_markdown_is_drawn(trader, page):  # noqa: F811
    def stored():
        conversation = Conversation.objects.create(user=trader, title='<img src=x onerror="window.__xss=3">')
        Message.objects.create(conversation=conversation, role="user", content="<b>oversold</b> coins?")
        Message.objects.create(
            conversation=conversation, role="assistant", content=HOSTILE, provider="Built-in assistant",
            model="built-in", cost_usd=0, latency_ms=840,
        )  # fmt: skip
        return conversation.pk

    conversation_id = in_thread(stored)
    log_in(page)
    page.goto(f"{page.base}/assistant/{conversation_id}")
    page.wait_for_selector(".chat-msg.assistant .md table")
    assert page.inner_text(".chat-msg.assistant .md h4") == "Found 2 coins"
    assert page.inner_text(".chat-msg.assistant .md strong") == "2"
    cells = page.eval_on_selector_all(".chat-msg.assistant .md td", "cells => cells.map((c) => c.textContent)")
    assert cells == ["BTC", "28.1", "ETH", "27.4"]
    links = page.eval_on_selector_all(".chat-msg.assistant .md a", "links => links.map((a) => a.getAttribute('href'))")
    assert links == ["/coins/BTC"]  # the javascript: one is its label only
    text = page.inner_text(".chat-msg.assistant .md")
    assert '<img src=x onerror="window.__xss=1">' in text and "<script>window.__xss=2</script>" in text
    assert page.inner_text(".chat-msg.assistant .md pre code") == "<b>code</b>"
    assert page.inner_text(".chat-msg.user .chat-bubble") == "<b>oversold</b> coins?"
    title = page.inner_text(f"#conversation-{conversation_id} .conversation-title")
    assert title == '<img src=x onerror="window.__xss=3">'
    for where in (".chat-msg", "#conversation-list"):
        assert page.query_selector(f"{where} img, {where} script, {where} b") is None, where
    page.wait_for_timeout(300)  # an onerror would have run by now
    assert page.evaluate("() => window.__xss") is None


def hostile_chunks() -> tuple[str, ...]:
    """The hostile answer in small pieces, as a model streams it: tags and links cut mid-way."""
    return tuple(HOSTILE[i : i + 7] for i in range(0, len(HOSTILE), 7))


def test_a_providers_answer_streams_in_with_its_tool_card_and_markup_as_text(trader, claude, page):  # noqa: F811
    arguments = '{"symbol": "BTC", "condition": {"kind": "crossing_up", "level": 100000}}'
    claude.script(
        [
            Turn(tool_calls=(ScriptedToolCall("toolu_1", "create_alert", (arguments[:20], arguments[20:])),)),
            Turn(text=hostile_chunks(), input_tokens=900, output_tokens=12, delay=0.01),
        ]
    )
    provider = in_thread(lambda: claude_for(trader, claude, name="Claude").pk)
    log_in(page)
    assert page.input_value("#chat-provider") == str(provider)
    page.fill("#chat-input", "alert me when BTC crosses 100000 and list the oversold coins")
    page.press("#chat-input", "Enter")
    card = page.wait_for_selector(".tool-card.ok:has(.tool-name:text('create_alert'))")
    assert "symbol=BTC" in card.inner_text()
    assert re.fullmatch(r"/alerts/\d+", card.query_selector(".tool-links a").get_attribute("href"))
    page.wait_for_selector(".chat-msg.assistant:not(.running) .badge.cost")
    # Two requests: the tool call's (10 in, 5 out) and the answer's (900 in, 12 out), at $3 and $15 a million.
    assert page.text_content(".chat-msg.assistant .badge.cost") == "$0.0030"
    assert "Claude · claude-sonnet-4-5" in page.inner_text(".chat-msg.assistant .chat-meta")  # provider, model
    text = page.inner_text(".chat-msg.assistant .md")
    assert '<img src=x onerror="window.__xss=1">' in text and "<script>window.__xss=2</script>" in text
    links = page.eval_on_selector_all(".chat-msg.assistant .md a", "links => links.map((a) => a.getAttribute('href'))")
    assert links == ["/coins/BTC"]
    assert page.query_selector(".chat-msg img, .chat-msg script, .chat-msg .md b") is None
    assert page.evaluate("() => window.__xss") is None
    assert [symbol for symbol, _ in in_thread(alerts_of, "trader")] == ["BTC"]

    card.query_selector("button.undo").click()  # the card's undo takes the alert back
    page.wait_for_selector(".tool-action[data-state=undone]")
    assert in_thread(alerts_of, "trader") == []


def test_stop_ends_a_streaming_answer_keeping_what_came(trader, claude, page):  # noqa: F811
    claude.script([Turn(text=tuple(f"word{i} " for i in range(400)), delay=0.03)])
    in_thread(lambda: claude_for(trader, claude))
    log_in(page)
    page.fill("#chat-input", "write a lot")
    page.click("#chat-send")
    page.wait_for_function("() => document.querySelector('.chat-msg.assistant .md').textContent.includes('word5 ')")
    assert page.is_visible("#chat-stop") and page.is_disabled("#chat-send")
    page.click("#chat-stop")
    page.wait_for_selector(".chat-msg.assistant.incomplete .badge.warn")
    shown = page.inner_text(".chat-msg.assistant .md")
    assert "word5" in shown and "word399" not in shown
    assert page.is_hidden("#chat-stop") and page.is_enabled("#chat-send")


# The page's socket, kept by the test; and a switch that makes the page miss what arrives, as if the
# connection were down (window's capturing listener runs before the page's own on document).
KEEP_SOCKET = """document.addEventListener("htmx:wsOpen", (event) => { window.__socket = event.detail.socketWrapper; });
window.addEventListener("htmx:wsBeforeMessage", (event) => {
  if (window.__offline) { event.stopImmediatePropagation(); event.preventDefault(); }
}, true);"""
DROP = """() => { window.__offline = true;
  document.body.dispatchEvent(new CustomEvent("htmx:wsClose", { bubbles: true, detail: {} })); }"""
BACK = """() => { window.__offline = false; const detail = { socketWrapper: window.__socket };
  document.body.dispatchEvent(new CustomEvent("htmx:wsOpen", { bubbles: true, detail: detail })); }"""


def test_a_page_whose_socket_drops_mid_answer_gets_the_rest_once(trader, claude, page):  # noqa: F811
    words = [f"w{i} " for i in range(150)]
    claude.script([Turn(text=tuple(words), delay=0.02)])
    in_thread(lambda: claude_for(trader, claude))
    page.add_init_script(KEEP_SOCKET)
    log_in(page)
    page.fill("#chat-input", "count")
    page.click("#chat-send")
    page.wait_for_function("() => document.querySelector('.chat-msg.assistant .md').textContent.includes('w5 ')")
    page.evaluate(DROP)
    page.wait_for_timeout(600)  # some thirty tokens go by unseen
    missed = page.inner_text(".chat-msg.assistant .md")
    assert "w149" not in missed
    page.evaluate(BACK)  # the page subscribes again after the last event it saw
    page.wait_for_selector(".chat-msg.assistant:not(.running) .badge.cost")
    shown = page.inner_text(".chat-msg.assistant .md").split()
    sent = [word.strip() for word in words]
    missing, twice = sorted(set(sent) - set(shown)), sorted({w for w in shown if shown.count(w) > 1})
    assert shown == sent, f"missing {missing}, twice {twice}"  # nothing lost, nothing twice, in order


def test_asked_before_acting_the_card_proposes_and_confirm_makes_the_alert(trader, claude, page):  # noqa: F811
    arguments = '{"symbol": "BTC", "condition": {"kind": "crossing_up", "level": 100000}}'
    claude.script(
        [
            Turn(tool_calls=(ScriptedToolCall("toolu_1", "create_alert", (arguments,)),)),
            Turn(text=("I proposed the alert: confirm it on its card.",)),
        ]
    )
    in_thread(lambda: claude_for(trader, claude))
    log_in(page)
    page.check("#ask-before-acting")  # saved at once (HTMX), the switch swapped back in
    page.wait_for_function("() => document.querySelector('#ask-before-acting').checked")
    page.wait_for_load_state("networkidle")
    page.fill("#chat-input", "alert me when BTC crosses 100000")
    page.press("#chat-input", "Enter")
    page.wait_for_selector(".chat-msg.assistant:not(.running) .badge.cost")
    page.wait_for_selector(".tool-action[data-state=proposed] button.confirm")
    assert in_thread(alerts_of, "trader") == []
    page.click(".tool-action button.confirm")
    page.wait_for_selector(".tool-action[data-state=done] button.undo")
    assert [symbol for symbol, _ in in_thread(alerts_of, "trader")] == ["BTC"]

    # The sidebar: the new conversation is there, found by a search, renamed in place.
    page.wait_for_selector("#conversation-list .conversation.current")
    page.fill("#chat-q", "nothing like it")
    page.wait_for_selector("#conversation-list .conversation-none")
    page.fill("#chat-q", "BTC")
    item = page.wait_for_selector("#conversation-list .conversation.current")
    item.query_selector("summary").click()
    page.fill("#conversation-list .conversation.current input[name=title]", "BTC at 100k")
    page.click("#conversation-list .conversation.current .conversation-rename button")
    page.wait_for_selector("#conversation-list .conversation-title:text('BTC at 100k')")
