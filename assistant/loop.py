"""The chat loop: stream → tool calls → run the tools → results → continue, up to ``MAX_ROUNDS``
rounds, then an answer with what it has. One run writes one assistant message and its events
(assistant/relay.py); it runs in a Celery worker (queue ``ai``) or, embedded, in a thread of the server.
"""

from __future__ import annotations

import logging
import time
from contextlib import closing
from decimal import Decimal

from django.core.cache import cache

from assistant import actions
from assistant.history import history_for
from assistant.models import Message
from assistant.relay import RelayWriter
from providers.adapters.base import Options, ProviderError, TextDelta, ToolCall
from providers.completion import Charged, NoProvider, Served, completion_stream

logger = logging.getLogger(__name__)
MAX_ROUNDS = 8
MAX_TOKENS = 2048
BUILTIN = "Built-in assistant"
CANCEL_CHECK_SECONDS = 0.2
STOPPED = "stopped by the user"


def cancel_key(message_id: int) -> str:
    return f"assistant:cancel:{message_id}"


class Cancelled(Exception):
    pass


class ChatRun:
    """One answer being written: its events, its message, and the rounds it took."""

    def __init__(self, message: Message, *, provider_id: int | None, model: str | None):
        self.message = message
        self.user = message.conversation.user
        self.provider_id, self.model = provider_id, model
        self.writer = RelayWriter(message.pk)
        self.started = time.perf_counter()
        self.text: list[str] = []
        self.calls: list[dict] = []
        self.rounds: list[dict] = []
        self.checked = 0.0
        self.builtin = False

    def run(self) -> None:
        self.writer.emit("conversation", {"id": self.message.conversation_id, "message_id": self.message.pk})
        try:
            self._rounds()
            self._finish(incomplete=False, error="")
        except Cancelled:
            self._finish(incomplete=True, error=STOPPED)
        except ProviderError as failed:
            self._finish(incomplete=True, error=failed.message)
        except Exception:
            logger.exception("Chat run of message %s failed", self.message.pk)
            self._finish(incomplete=True, error="The assistant failed on the server; the error is logged.")

    def _rounds(self) -> None:
        propose = actions.ask_before_acting(self.user)
        for number in range(MAX_ROUNDS + 1):
            last = number == MAX_ROUNDS  # out of rounds: answer with what it has, no more tools
            history = history_for(self.message, self.user, round_texts=self.rounds, calls=self.calls)
            calls = self._round(history, tools=not last)
            if not calls:
                return
            for call in calls:
                self._tool(call, number, propose)

    def _round(self, history, *, tools: bool) -> list[ToolCall]:
        from assistant.tools import tool_specs

        round_ = {"text": "", "calls": []}
        self.rounds.append(round_)
        calls = []
        with closing(self._stream(history, tool_specs() if tools else [])) as events:
            for event in events:
                self._event(event, round_, calls)
        return calls

    def _event(self, event, round_: dict, calls: list[ToolCall]) -> None:
        self._check_cancel()
        if isinstance(event, TextDelta):
            round_["text"] += event.text
            self.text.append(event.text)
            self.writer.emit("token", {"text": event.text})
        elif isinstance(event, ToolCall):
            calls.append(event)
            round_["calls"].append(event.id)
            self.writer.emit("tool_call", {"id": event.id, "name": event.name, "arguments": event.arguments})
        elif isinstance(event, Served):
            round_.update(provider=event.provider, model=event.model)
        elif isinstance(event, Charged):
            self._usage(round_, event)

    def _stream(self, history, tools):
        if not self.builtin:
            try:
                yield from completion_stream(
                    user=self.user, messages=history, tools=tools, provider_id=self.provider_id,
                    model=self.model, max_tokens=MAX_TOKENS, conversation_id=self.message.conversation_id,
                )  # fmt: skip
                return
            except NoProvider:
                if self.provider_id is not None:
                    raise
                self.builtin = True
        yield from self._builtin(history, tools)

    def _builtin(self, history, tools):
        from assistant.builtin import BuiltinAdapter
        from providers.adapters.base import Usage

        yield Served(0, BUILTIN, "builtin", "built-in", Decimal(0))
        for event in BuiltinAdapter().stream(history, tools, Options(model="built-in")):
            if isinstance(event, Usage):
                continue
            yield event
        yield Charged(0, BUILTIN, "built-in", Usage(), Decimal(0), 0, 0)

    def _usage(self, round_: dict, charged: Charged) -> None:
        cost = None if charged.cost_usd is None else _decimal(charged.cost_usd)
        usage = {
            "provider": charged.provider, "model": charged.model,
            "input_tokens": charged.usage.input_tokens, "cached_input_tokens": charged.usage.cached_input_tokens,
            "output_tokens": charged.usage.output_tokens, "cost_usd": cost,
        }  # fmt: skip
        round_.update(usage)
        self.writer.emit("usage", usage)

    def _tool(self, call: ToolCall, number: int, propose: bool) -> None:
        reply = actions.tool_call_run(user=self.user, call=call, message=self.message, propose=propose)
        event = reply.event()
        self.calls.append({**event, "arguments": call.arguments, "round": number, "content": reply.content()})
        self.writer.emit("tool_result", event)

    def _check_cancel(self) -> None:
        now = time.monotonic()
        if now - self.checked >= CANCEL_CHECK_SECONDS:
            self.checked = now
            if cache.get(cancel_key(self.message.pk)):
                raise Cancelled

    def _finish(self, *, incomplete: bool, error: str) -> None:
        latency_ms = round((time.perf_counter() - self.started) * 1000)
        cost = self._store(incomplete=incomplete, error=error, latency_ms=latency_ms)
        if error and error != STOPPED:  # the last event either way: an error, or the answer done
            self.writer.emit("error", {"message": error})
        else:
            self.writer.emit("done", {"message_id": self.message.pk, "latency_ms": latency_ms, "cost_usd": cost})

    def _store(self, *, incomplete: bool, error: str, latency_ms: int) -> str | None:
        costs = [r.get("cost_usd") for r in self.rounds if "provider" in r]
        total = None if any(c is None for c in costs) else _decimal(sum((Decimal(c) for c in costs), Decimal(0)))
        served = next((r for r in reversed(self.rounds) if "provider" in r), {})
        Message.objects.filter(pk=self.message.pk).update(
            content="".join(self.text), tool_calls=self.calls, rounds=self.rounds,
            provider=served.get("provider", ""), model=served.get("model", ""),
            input_tokens=sum(r.get("input_tokens", 0) for r in self.rounds),
            cached_input_tokens=sum(r.get("cached_input_tokens", 0) for r in self.rounds),
            output_tokens=sum(r.get("output_tokens", 0) for r in self.rounds),
            cost_usd=None if total is None else Decimal(total), latency_ms=latency_ms,
            incomplete=incomplete, error=error[:1000],
        )  # fmt: skip
        return total


def _decimal(value: Decimal) -> str:
    return format(value.normalize(), "f") if value else "0"


def chat_run(*, message_id: int, provider_id: int | None = None, model: str | None = None) -> None:
    """Write the answer of assistant message ``message_id`` (the entry point of the task and the thread)."""
    message = Message.objects.select_related("conversation__user").get(pk=message_id)
    ChatRun(message, provider_id=provider_id, model=model).run()
