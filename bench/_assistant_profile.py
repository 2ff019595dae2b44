"""Where a built-in answer's time goes: ``assistant.loop.chat_run`` called in the benchmark's own
process (the same database and Redis as the worker), timed per event and under cProfile.

The first answers warm the caches, as the worker's had been; the last ``runs`` are timed: for each,
the milliseconds from the start of the run to each event it appends to the relay (a wrapper around
``RelayWriter.emit``), then one more under cProfile, summarised by cumulative time.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time

from _stack import fmt, percentile, table


def _answer(user, text: str):
    from assistant.models import Conversation, Message

    conversation = Conversation.objects.create(user=user, title=text[:50])
    Message.objects.create(conversation=conversation, role=Message.Role.USER, content=text)
    return Message.objects.create(conversation=conversation, role=Message.Role.ASSISTANT)


def builtin_profile(text: str, *, runs: int = 20, top: int = 25) -> str:
    """The split per event over ``runs`` answers, and a cProfile of one more, as printable text."""
    from django.contrib.auth import get_user_model

    from assistant import loop
    from assistant.relay import RelayWriter

    user = get_user_model().objects.create_user(username="bench-profile", email="bench-profile@example.com")
    marks: list[tuple[str, float]] = []
    emit = RelayWriter.emit

    def timed_emit(self, event, data):
        marks.append((event, time.perf_counter()))
        return emit(self, event, data)

    RelayWriter.emit = timed_emit
    try:
        for _ in range(3):
            loop.chat_run(message_id=_answer(user, text).pk)
        splits: dict[str, list[float]] = {}
        for _ in range(runs):
            message = _answer(user, text)
            marks.clear()
            started = time.perf_counter()
            loop.chat_run(message_id=message.pk)
            for event in dict.fromkeys(e for e, _ in marks):  # first of each, in order
                at = next(t for e, t in marks if e == event)
                splits.setdefault(event, []).append((at - started) * 1000)
        profiler = cProfile.Profile()
        message = _answer(user, text)
        profiler.enable()
        loop.chat_run(message_id=message.pk)
        profiler.disable()
    finally:
        RelayWriter.emit = emit
    rows = [
        [f"run start -> first {e}", *(fmt(percentile(sorted(v), p), 1) for p in (50, 95))] for e, v in splits.items()
    ]
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    profile = "\n".join(line for line in out.getvalue().splitlines() if line.strip())
    return table(["in this process (ms)", "p50", "p95"], rows) + "\n\ncProfile of one answer (cumulative):\n" + profile


def relay_profile(provider_url: str, *, top: int = 20) -> str:
    """cProfile (by own time) of one provider answer written in this process: what a worker spends per
    token between the provider's stream and the relay."""
    from django.contrib.auth import get_user_model

    from assistant import loop
    from providers.services import provider_create

    user = get_user_model().objects.create_user(username="bench-profile-relay", email="bench-relay@example.com")
    data = {"kind": "openai", "model": "gpt-imitation", "api_key": "sk-bench-0123456789", "base_url": provider_url}
    provider_create(user=user, data=data)
    loop.chat_run(message_id=_answer(user, "warm up").pk)
    profiler = cProfile.Profile()
    message = _answer(user, "Write 300 words")
    profiler.enable()
    loop.chat_run(message_id=message.pk)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    return "\n".join(line for line in out.getvalue().splitlines() if line.strip())
