"""Checking a tool's arguments against its JSON schema (assistant/tools/schemas.py), and the lookups every
tool shares (a coin by symbol, one of the user's watchlists by name), each refusal a ToolError naming
the argument and what is allowed, so that the model can correct its call.

The model can send anything: wrong types, NaN, 10**400, text with NUL, fields the schema lacks. Only the
subset of JSON Schema the tools' schemas use is understood (type, enum, minimum, maximum, required,
additionalProperties, items)."""

from __future__ import annotations

import math

from django.urls import reverse

from assistant.tools.base import ToolError
from markets.models import Coin
from markets.selectors import coin_get
from watchlists.models import Watchlist
from watchlists.selectors import watchlist_default_get, watchlists_list

MAX_TEXT = 200  # an argument's text, unless its schema says otherwise: symbols, names, patterns
LIMIT = 1e15  # numbers beyond are typos, and overflow some databases
MAX_ARRAY = 1000  # items of an array argument (export rows)
TYPE_WORDS = {
    "string": "text",
    "number": "a number",
    "integer": "a whole number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a JSON object",
    "null": "null",
}


def shown(value, *, length: int = 30) -> str:
    """A value as an error message may quote it: short, without NUL or line breaks."""
    text = repr(value)
    text = text.replace("\x00", "\\x00")
    return text if len(text) <= length else text[:length] + "…"


def printable(name: str, *, length: int = 40) -> str:
    """A key as a path in a message: NUL and lone surrogates escaped (the message is stored and sent on)."""
    return name.encode("utf-8", "backslashreplace").decode().replace("\x00", "\\x00")[:length]


def arguments_check(arguments, schema: dict) -> dict:
    """The arguments the schema allows, checked; raises ToolError naming the first bad one."""
    if not isinstance(arguments, dict):
        raise ToolError("arguments: must be a JSON object of named arguments.")
    properties = schema.get("properties", {})
    if schema.get("additionalProperties") is False:
        unknown = [name for name in arguments if name not in properties]
        if unknown:
            allowed = ", ".join(properties) or "none"
            name = printable(unknown[0])
            raise ToolError(f"{name}: unknown argument; allowed: {allowed}.")
    for name in schema.get("required", []):
        if arguments.get(name) is None:
            wanted = properties.get(name, {})
            raise ToolError(f"{name}: required ({wanted.get('description') or _describe(wanted)}).")
    return {name: value_check(value, properties.get(name, {}), path=name) for name, value in arguments.items()}


def texts_check(value, *, path: str = "") -> None:
    """Every text in ``value`` (keys too, however deep) without NUL and valid Unicode: PostgreSQL refuses
    both in text, and no argument needs them. Raises ToolError naming the path (``rows[2].note``)."""
    pending = [(path, value)]
    while pending:  # iterative: a deeply nested argument must not exhaust the stack
        where, item = pending.pop()
        if isinstance(item, str):
            _text_valid(item, path=where or "arguments")
        elif isinstance(item, dict):
            for key, inner in item.items():
                name = printable(key)
                inner_path = f"{where}.{name}" if where else name
                _text_valid(key, path=inner_path)
                pending.append((inner_path, inner))
        elif isinstance(item, list):
            pending.extend((f"{where}[{i}]", inner) for i, inner in enumerate(item))


def _text_valid(text: str, *, path: str) -> None:
    if "\x00" in text:
        raise ToolError(f"{path}: text must not contain NUL characters.")
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate, e.g. from "\ud800" in the model's JSON
        raise ToolError(f"{path}: text must be valid Unicode (no lone surrogates).") from None


def value_check(value, schema: dict, *, path: str):
    """``value`` checked against ``schema``; raises ToolError naming ``path``."""
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    if types and not any(_is(value, kind) for kind in types):
        raise ToolError(f"{path}: must be {_describe(schema)}; got {shown(value)}.")
    if "enum" in schema and value not in schema["enum"]:
        raise ToolError(f"{path}: must be one of {', '.join(map(str, schema['enum']))}; got {shown(value)}.")
    if isinstance(value, str):
        return _text_check(value, path=path)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _number_check(value, schema, path=path)
    if isinstance(value, list):
        if len(value) > MAX_ARRAY:
            raise ToolError(f"{path}: at most {MAX_ARRAY} items ({len(value)} given).")
        items = schema.get("items", {})
        return [value_check(item, items, path=f"{path}[{i}]") for i, item in enumerate(value)]
    return value


def _is(value, kind: str) -> bool:
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    python = {"string": str, "boolean": bool, "array": list, "object": dict, "null": type(None)}
    return isinstance(value, python[kind])


def _describe(schema: dict) -> str:
    types = schema.get("type")
    types = [types] if isinstance(types, str) else list(types or [])
    words = " or ".join(TYPE_WORDS.get(kind, kind) for kind in types) or "a value"
    if "enum" in schema:
        return f"one of {', '.join(map(str, schema['enum']))}"
    if "minimum" in schema and "maximum" in schema:
        return f"{words} from {schema['minimum']:g} to {schema['maximum']:g}"
    if "minimum" in schema:
        return f"{words} of at least {schema['minimum']:g}"
    return words


def _text_check(value: str, *, path: str) -> str:
    if "\x00" in value:
        raise ToolError(f"{path}: must be text without NUL characters.")
    if len(value) > MAX_TEXT:
        raise ToolError(f"{path}: at most {MAX_TEXT} characters ({len(value)} given).")
    return value


def _number_check(value: int | float, schema: dict, *, path: str) -> int | float:
    low, high = schema.get("minimum", -LIMIT), schema.get("maximum", LIMIT)
    if not low <= value <= high:  # NaN too: it compares with nothing
        allowed = _describe({**schema, "minimum": low, "maximum": high})
        raise ToolError(f"{path}: must be {allowed}; got {shown(value)}.")
    return value


# --- Lookups shared by the tools -----------------------------------------------------------------------


def coin_of(symbol, *, path: str = "symbol") -> Coin:
    """The listed coin named ``symbol`` (any case); ToolError naming ``path`` otherwise."""
    if not isinstance(symbol, str) or not symbol.strip():
        raise ToolError(f"{path}: must be a coin's symbol, e.g. BTC.")
    try:
        coin = coin_get(symbol=symbol.strip())
    except Coin.DoesNotExist:
        coin = None
    if coin is None or not coin.is_active:
        raise ToolError(f"{path}: unknown coin {shown(symbol.strip().upper())}; use filter_coins to find listed coins.")
    return coin


def watchlist_named(*, user, name: str | None, path: str = "watchlist") -> Watchlist:
    """The user's list named ``name`` (any case), or the default list without a name. Only the user's
    lists are looked at: another user's list of that name is simply not found."""
    if name is None:
        return watchlist_default_get(user=user)
    lists = list(watchlists_list(user=user))
    wanted = name.strip().casefold()
    found = next((w for w in lists if w.name.casefold() == wanted), None)
    if found is None:
        yours = ", ".join(repr(w.name) for w in lists[:20])
        raise ToolError(f"{path}: you have no watchlist named {shown(name, length=60)}; yours: {yours}.")
    return found


def coin_link(symbol: str) -> dict:
    return {"label": symbol, "url": reverse("markets:coin", args=[symbol])}


def watchlist_link(watchlist: Watchlist) -> dict:
    return {"label": watchlist.name, "url": reverse("watchlist-detail", args=[watchlist.pk])}


def id_of(undo, name: str) -> int | None:
    """A positive database id from an undo record (None when it is not one: nothing to undo)."""
    value = undo.get(name) if isinstance(undo, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
        return None
    return value


def rounded(value, digits: int = 6):
    """Floats (in lists and dicts too) to ``digits`` significant digits: what the model reads, compactly."""
    if isinstance(value, float):
        return float(f"{value:.{digits}g}") if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(item, digits) for item in value]
    return value


class ReadOnly:
    """A tool that changes nothing: nothing to undo."""

    mutates = False

    def undo(self, *, user, undo: dict) -> None:
        return None
