"""A request as a plan of tool calls: the calls to make now, and the calls to make for each coin the
screener finds ("…with a double bottom? watch them and tell me when RSI crosses 50").

Each clause of the request is read by the first command family that understands it (``FAMILIES``, in
order); a family reads the clause and adds calls to the plan. ``Context`` carries what earlier clauses
set: the coin they named ("analyse ETH and alert me when it crosses 4000"), and the screen whose coins
"them" means.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from assistant.builtin.text import clauses, quoted
from assistant.builtin.vocabulary import Vocabulary


@dataclass(frozen=True)
class Call:
    """A tool call: the tool's name and its arguments (valid against assistant/tools/schemas.py)."""

    name: str
    arguments: dict


@dataclass(frozen=True)
class FollowUp:
    """A call to make once the screen has answered: for each coin found (``symbol`` filled in), or once
    with the found rows (``rows``: an export of the results)."""

    name: str
    arguments: dict
    per_coin: bool = True


@dataclass(frozen=True)
class Clause:
    """One command of the request: its text (quotes taken out), the quoted name and the coins it names."""

    text: str
    lower: str
    name: str | None
    symbols: list[str]


@dataclass
class Context:
    """What the clauses read so far set, for the next ones."""

    subject: list[str] = field(default_factory=list)  # the coins named last ("it")
    screen: dict | None = None  # the screen's arguments, when the plan screens the market


@dataclass
class Plan:
    calls: list[Call] = field(default_factory=list)
    follow_ups: list[FollowUp] = field(default_factory=list)
    # Clauses that named a command but not enough to act on it, as hints for the answer.
    hints: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.calls and not self.follow_ups


# A family reads a clause and adds to the plan; it answers False when the clause is not its own.
Family = Callable[[Clause, Context, Plan], bool]


def plan_for(text: str, vocabulary: Vocabulary) -> Plan:
    """The tool calls ``text`` asks for (an empty plan when it asks for none this assistant knows)."""
    from assistant.builtin.families import FAMILIES

    plan, context = Plan(), Context()
    for part in clauses(text[:2000]):
        clause = clause_of(part, vocabulary)
        next((family for family in FAMILIES if family(clause, context, plan)), None)
    return plan


def clause_of(text: str, vocabulary: Vocabulary) -> Clause:
    name, rest = quoted(text)
    return Clause(text=rest, lower=rest.lower(), name=name, symbols=vocabulary.symbols_in(rest))


def coins_for(clause: Clause, context: Context) -> list[str] | None:
    """The coins a clause acts on: those it names, else "it" (the subject); None when it means the
    screen's coins ("them") or names none."""
    if clause.symbols:
        context.subject = clause.symbols
        return clause.symbols
    if context.screen is not None:
        return None
    return context.subject or None
