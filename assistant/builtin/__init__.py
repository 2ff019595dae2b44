"""The built-in assistant: answers without any AI provider by reading plain commands for the seven tools
(see ``adapter.BuiltinAdapter``)."""

from assistant.builtin.adapter import MODEL, BuiltinAdapter

__all__ = ["MODEL", "BuiltinAdapter"]
