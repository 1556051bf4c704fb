"""The shape of a JSON value, for comparing records from two backends."""

from __future__ import annotations

from typing import Any


def key_paths(value: Any, path: tuple[str, ...] = ()) -> set[tuple[tuple[str, ...], str]]:
    """Every key path of a JSON value (list items under "[]"), with its type."""
    found = {(path, type(value).__name__)}
    if isinstance(value, dict):
        for key, item in value.items():
            found |= key_paths(item, path + (key,))
    elif isinstance(value, list):
        for item in value:
            found |= key_paths(item, path + ("[]",))
    return found
