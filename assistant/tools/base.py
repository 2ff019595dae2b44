"""What a tool is: a name, a description and JSON-schema arguments the model sees, and ``run`` acting
for the signed-in user only, through the same services and selectors as the pages and the API.

Bad arguments raise ``ToolError``: its message goes back to the model as the tool's result (``ok``
false), so that it can correct the call; it is never an exception that ends the chat. A tool that
changes the user's data (``mutates``) answers an ``undo`` the chat stores with its audit record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class ToolError(Exception):
    """The call cannot run as given; ``message`` says what to change (e.g. which argument, what is allowed)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ToolOutcome:
    """What a tool answered: ``result`` (JSON-able) goes back to the model and to the tool card;
    ``links`` for the card (``{"label", "url"}``: the alert, coin or watchlist it touched); ``undo``
    (mutating tools) what ``Tool.undo`` needs to take the change back."""

    result: dict | list
    links: list[dict] = field(default_factory=list)
    undo: dict | None = None


class Tool(Protocol):
    name: str
    description: str
    parameters: dict  # JSON schema of the arguments (an object)
    mutates: bool

    def run(self, *, user, arguments: dict) -> ToolOutcome:
        """Act for ``user`` with ``arguments`` (already a dict; check every field: the model can send anything)."""
        ...

    def undo(self, *, user, undo: dict) -> None:
        """Take back what ``run`` did (mutating tools only); a no-op when it is already gone."""
        ...
