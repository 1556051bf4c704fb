"""JSON request files given to `vnflcm` commands, as python-tackerclient takes them.

A file that cannot be read, is not JSON or does not hold a JSON object gives
one :class:`~nfvlib.exceptions.InvalidInput` line naming the file (and, for a
JSON error, its line and column).
"""

from __future__ import annotations

import json
from typing import Any

#: The only top-level key of an ``--additional-param-file``.
ADDITIONAL_PARAMS = "additionalParams"


def load_request_file(path: str) -> dict[str, Any]:
    """The JSON object held by ``path``."""
    from nfvlib.exceptions import InvalidInput

    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InvalidInput(f"cannot read request file {path}: {reason}") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"request file {path} is not UTF-8 text") from exc
    try:
        body = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"request file {path} is not valid JSON: {exc.msg} at line "
                           f"{exc.lineno} column {exc.colno}") from exc
    if not isinstance(body, dict):
        raise InvalidInput(f"request file {path} must hold a JSON object, not "
                           f"{_json_type(body)}")
    return body


def load_additional_params(path: str | None) -> dict[str, Any] | None:
    """The ``additionalParams`` object of an ``--additional-param-file``.

    The file is shaped as tackerclient's samples: ``{"additionalParams":
    {...}}``. None when no file is given.
    """
    if path is None:
        return None
    from nfvlib.exceptions import InvalidInput

    body = load_request_file(path)
    unknown = sorted(set(body) - {ADDITIONAL_PARAMS})
    if unknown:
        raise InvalidInput(f"request file {path} has unknown key(s) {', '.join(unknown)}",
                           hint=f'put the parameters under "{ADDITIONAL_PARAMS}"')
    params = body.get(ADDITIONAL_PARAMS, {})
    if not isinstance(params, dict):
        raise InvalidInput(f'"{ADDITIONAL_PARAMS}" in request file {path} must be a '
                           f"JSON object, not {_json_type(params)}")
    return params


def _json_type(value: Any) -> str:
    """The JSON name of a decoded value's type."""
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    return "a number"
