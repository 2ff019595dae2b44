"""Running the model's tool calls for the signed-in user: the result the model gets back, the audit
record of a change (with its undo), and proposals instead of changes when the user asked to be asked."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

from assistant.models import AssistantSettings, Message, ToolAction
from providers.adapters.base import ToolCall

logger = logging.getLogger(__name__)
MAX_RESULT_CHARS = 20_000  # what goes back to the model of one result


@dataclass
class ToolReply:
    """One call's outcome: ``result`` for the model and the card; ``action`` the audit record, if any."""

    call: ToolCall
    ok: bool
    result: dict | list
    links: list[dict] = field(default_factory=list)
    action: ToolAction | None = None

    def event(self) -> dict:
        action = None
        if self.action is not None:
            undoable = self.action.state == ToolAction.State.DONE and self.action.undo is not None
            action = {"id": self.action.pk, "state": self.action.state, "undo": undoable}
        return {"id": self.call.id, "name": self.call.name, "ok": self.ok, "result": self.result,
                "links": self.links, "action": action}  # fmt: skip

    def content(self) -> str:
        text = json.dumps(self.result, default=str)
        return text if len(text) <= MAX_RESULT_CHARS else text[:MAX_RESULT_CHARS] + "… (cut)"


def ask_before_acting(user) -> bool:
    return AssistantSettings.objects.filter(user=user, ask_before_acting=True).exists()


def tool_call_run(*, user, call: ToolCall, message: Message, propose: bool) -> ToolReply:
    """Run ``call`` for ``user``: bad arguments come back as an error the model can correct."""
    from assistant.tools import TOOLS, ToolError, tool_run

    if call.invalid_arguments is not None:
        return ToolReply(call, False, {"error": "The arguments were not a JSON object: send an object."})
    tool = TOOLS.get(call.name)
    if tool is None:
        return ToolReply(call, False, {"error": f"No tool named {call.name!r}; tools: {', '.join(TOOLS)}."})
    if tool.mutates and propose:
        action = _audit(user, message, call, ToolAction.State.PROPOSED, {}, None)
        result = {"proposed": True, "status": "Waiting for the user to confirm or decline on the tool card."}
        return ToolReply(call, True, result, action=action)
    try:
        outcome = tool_run(user=user, name=call.name, arguments=call.arguments)
    except ToolError as refused:
        return ToolReply(call, False, {"error": refused.message})
    except Exception:
        logger.exception("Tool %s failed on call %s", call.name, call.id)
        return ToolReply(call, False, {"error": "The tool failed on the server; try other arguments or later."})
    action = _audit(user, message, call, ToolAction.State.DONE, outcome.result, outcome.undo) if tool.mutates else None
    return ToolReply(call, True, outcome.result, outcome.links, action)


def _audit(user, message, call, state, result, undo) -> ToolAction:
    return ToolAction.objects.create(
        user=user, message=message, tool=call.name, call_id=call.id[:200], arguments=call.arguments,
        result=result if isinstance(result, dict) else {"rows": result}, undo=undo, state=state,
    )  # fmt: skip
