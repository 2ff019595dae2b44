"""The conversation as the model is sent it: the system prompt, earlier turns (with their tool calls
and results, so that any provider carries on from any other), and this answer's rounds so far; the
oldest turns are left out when it would not fit the model's context."""

from __future__ import annotations

from assistant.models import Message
from assistant.prompt import system_prompt
from providers.adapters.base import Message as Turn
from providers.adapters.base import ToolCall
from providers.completion import prompt_tokens_estimate

CONTEXT_TOKENS = 24_000  # what the history may take, counted generously; most models take far more
MAX_EARLIER = 60


def history_for(message: Message, user, *, round_texts: list[dict], calls: list[dict]) -> list[Turn]:
    """The request's messages for ``message`` (the assistant message being written)."""
    earlier = list(
        Message.objects.filter(conversation_id=message.conversation_id, id__lt=message.pk).order_by("-id")[:MAX_EARLIER]
    )[::-1]
    turns = [_turns_of(m) for m in earlier]
    current = _rounds(round_texts, calls)
    system = [Turn("system", system_prompt(user=user))]
    sizes = [prompt_tokens_estimate(t, ()) for t in turns]
    budget = CONTEXT_TOKENS - prompt_tokens_estimate(system + current, ())
    while len(turns) > 1 and sum(sizes) > budget:
        turns.pop(0)  # the oldest turn first; the question being answered always stays
        sizes.pop(0)
    return [*system, *(turn for group in turns for turn in group), *current]


def _turns_of(message: Message) -> list[Turn]:
    if message.role == Message.Role.USER:
        return [Turn("user", message.content)]
    if not message.rounds:
        return [Turn("assistant", message.content)] if message.content else []
    return _rounds(message.rounds, message.tool_calls)


def _rounds(rounds: list[dict], calls: list[dict]) -> list[Turn]:
    turns = []
    for number, round_ in enumerate(rounds):
        made = [c for c in calls if c.get("round") == number]
        tool_calls = tuple(ToolCall(c["id"], c["name"], c.get("arguments") or {}) for c in made)
        if round_.get("text") or tool_calls:
            turns.append(Turn("assistant", round_.get("text", ""), tool_calls=tool_calls))
        turns += [
            Turn("tool", c.get("content", ""), tool_call_id=c["id"], name=c["name"], is_error=not c.get("ok"))
            for c in made
        ]
    return turns
