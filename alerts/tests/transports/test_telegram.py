"""Telegram through the local Bot API: the sendMessage call, HTML with the user's text escaped, long
messages split, Telegram's errors sorted into permanent and transient, pacing before each send."""

from __future__ import annotations

import pytest

from alerts.models import Channel
from alerts.tests.telegram_imitation import (
    BAD_GATEWAY,
    BLOCKED,
    CHAT_NOT_FOUND,
    KICKED,
    SERVER_ERROR,
    migrated,
    too_many_requests,
)
from alerts.transports import Message, Paced, TransportError, transport_for
from alerts.transports.telegram import (
    MAX_LENGTH,
    TRANSPORT,
    bot_username,
    chat_id_refusal,
    telegram_call,
    telegram_lines,
    telegram_parts,
)

MESSAGE = Message(subject="BTC alert", text="BTC: price crossing 100000 (1m) at 100012.5", webhook_id="msg_1")


def chat(chat_id: str = "5001") -> Channel:
    return Channel(kind="telegram", chat_id=chat_id)


def test_the_transport_of_telegram_channels_is_this_one():
    assert transport_for("telegram") is TRANSPORT


def test_a_message_is_one_sendmessage_in_html_with_the_subject_in_bold(telegram_api):
    TRANSPORT.send(chat(), MESSAGE)
    (sent,) = telegram_api.messages
    assert sent.chat_id == "5001"
    assert sent.parse_mode == "HTML"
    assert sent.text == "<b>BTC alert</b>\nBTC: price crossing 100000 (1m) at 100012.5"
    assert sent.params["link_preview_options"] == {"is_disabled": True}
    assert sent.plain == "BTC alert\nBTC: price crossing 100000 (1m) at 100012.5"


def test_user_text_is_escaped_so_telegram_shows_it_as_written(telegram_api):
    text = '<script>alert("x")</script> & <b>not bold</b> &amp;'
    TRANSPORT.send(chat(), Message(subject="A <b> & B", text=text))
    (sent,) = telegram_api.messages
    assert sent.plain == f"A <b> & B\n{text}"
    assert sent.text.startswith("<b>A &lt;b&gt; &amp; B</b>\n&lt;script&gt;")


def test_the_link_to_the_alert_is_an_escaped_anchor(telegram_api):
    TRANSPORT.send(chat(), Message(subject="S", text="T", link="https://board.example/alerts/3?a=1&b=2"))
    assert telegram_api.messages[0].text.endswith(
        '\n<a href="https://board.example/alerts/3?a=1&amp;b=2">Open the alert</a>'
    )


def test_a_10000_character_message_is_sent_as_3_messages_cut_between_lines(telegram_api, settings):
    text = "\n".join(f"{i:02d}" + "x" * 97 for i in range(100)) + "\n"  # 100 lines of 99, each + a newline
    assert len(text) == 10_000
    TRANSPORT.send(chat(), Message(subject="Digest", text=text))
    sent = telegram_api.messages
    assert len(sent) == 3
    assert all(len(m.text) <= MAX_LENGTH for m in sent)
    assert "\n".join(m.plain for m in sent) == "Digest\n" + text.rstrip("\n")
    assert all(len(line) == 99 for m in sent[1:] for line in m.plain.split("\n"))  # no line cut in two


def test_a_line_longer_than_a_message_is_cut_outside_entities(telegram_api):
    text = "&<>" * 2500  # 7,500 characters, 32,500 once escaped
    TRANSPORT.send(chat(), Message(subject="Long", text=text))
    sent = telegram_api.messages  # each one parsed by the imitation: a cut entity would be a 400
    assert len(sent) == 8
    assert "".join(m.plain for m in sent) == "Long\n" + text


def test_parts_fill_messages_but_never_cut_a_tag():
    lines = ["<b>" + "t" * 100 + "</b>", "x" * 5000]
    parts = telegram_parts(lines, limit=1000)
    assert parts[0].startswith("<b>" + "t" * 100 + "</b>\n")
    assert all(len(p) <= 1000 for p in parts)
    assert "".join(p.removeprefix(lines[0] + "\n") for p in parts) == "x" * 5000


def test_lines_of_a_message_without_a_subject_or_link():
    assert telegram_lines(Message(subject="", text="a\nb", link="/alerts/3")) == ["a", "b"]


def test_a_429_surfaces_telegram_s_retry_after(telegram_api):
    telegram_api.fail(5001, too_many_requests(3))
    with pytest.raises(TransportError) as raised:
        TRANSPORT.send(chat(), MESSAGE)
    assert not raised.value.permanent
    assert raised.value.retry_after == 3
    assert raised.value.message == "Telegram: Too Many Requests: retry after 3"


@pytest.mark.parametrize("failure", [BLOCKED, KICKED, CHAT_NOT_FOUND])
def test_a_blocked_bot_or_an_unknown_chat_is_permanent(telegram_api, failure):
    telegram_api.fail(5001, failure)
    with pytest.raises(TransportError) as raised:
        TRANSPORT.send(chat(), MESSAGE)
    assert raised.value.permanent
    assert raised.value.message == f"Telegram: {failure.description}"
    assert telegram_api.messages == []


@pytest.mark.parametrize("failure", [SERVER_ERROR, BAD_GATEWAY])
def test_telegram_s_server_errors_are_transient(telegram_api, failure):
    telegram_api.fail(5001, failure)
    with pytest.raises(TransportError) as raised:
        TRANSPORT.send(chat(), MESSAGE)
    assert not raised.value.permanent
    assert raised.value.retry_after is None


def test_an_unreachable_telegram_is_transient(telegram_api, settings):
    settings.TELEGRAM_API_URL = "http://127.0.0.1:9"
    with pytest.raises(TransportError) as raised:
        TRANSPORT.send(chat(), MESSAGE)
    assert not raised.value.permanent
    assert raised.value.message.startswith("cannot reach Telegram: ConnectError")


def test_a_wrong_bot_token_is_transient_not_a_reason_to_disable_the_chat(telegram_api, settings):
    settings.TELEGRAM_BOT_TOKEN = "999:wrong"
    with pytest.raises(TransportError) as raised:
        TRANSPORT.send(chat(), MESSAGE)
    assert not raised.value.permanent
    assert raised.value.message == "Telegram: Unauthorized"
    assert "999:wrong" not in str(raised.value)


@pytest.mark.django_db
def test_a_group_upgraded_to_a_supergroup_is_followed_to_its_new_id(telegram_api, user):
    channel = Channel.objects.create(user=user, kind="telegram", chat_id="-4001")
    telegram_api.fail(-4001, migrated(-1004001))
    TRANSPORT.send(channel, MESSAGE)
    assert [m.chat_id for m in telegram_api.messages] == ["-1004001"]
    channel.refresh_from_db()
    assert channel.chat_id == "-1004001"


def test_a_second_message_to_a_chat_within_a_second_is_paced_not_sent(telegram_api):
    TRANSPORT.send(chat(), MESSAGE)
    with pytest.raises(Paced) as put_off:
        TRANSPORT.send(chat(), MESSAGE)
    assert 0.9 < put_off.value.wait <= 1.04  # the next bot slot (1/30 s) a second later
    assert len(telegram_api.messages) == 1
    TRANSPORT.send(chat("5002"), MESSAGE)  # another chat is not held
    assert len(telegram_api.messages) == 2


# --- the client -----------------------------------------------------------------------------------


def test_telegram_call_answers_the_result(telegram_api):
    me = telegram_call("getMe")
    assert me["is_bot"] is True
    assert me["username"] == "scalpaiboard_test_bot"


def test_the_bot_username_is_asked_once(telegram_api):
    assert bot_username() == bot_username() == "scalpaiboard_test_bot"
    assert [c.method for c in telegram_api.calls] == ["getMe"]


def test_without_a_bot_token_telegram_is_not_configured(settings):
    settings.TELEGRAM_BOT_TOKEN = ""
    with pytest.raises(TransportError) as raised:
        telegram_call("getMe")
    assert raised.value.message == "Telegram is not configured: TELEGRAM_BOT_TOKEN is empty"


@pytest.mark.parametrize("value", ["123456789", "-1001234567890", "@alerts_channel", 42, -100])
def test_chat_ids_numbers_and_channel_usernames_are_accepted(value):
    assert chat_id_refusal(value) is None


@pytest.mark.parametrize("value", ["", "abc", "12ab", "0", "@ab", "@1channel", "12 34", None, True, 1.5])
def test_other_chat_ids_are_refused_saying_what_is_allowed(value):
    assert chat_id_refusal(value) == (
        "must be a numeric chat id (such as 123456789, or -1001234567890 for a group) or a channel's @username"
    )
