"""JSON request files given to `vnflcm` commands, as python-tackerclient takes them.

A file that cannot be read, is not JSON or does not hold a JSON object gives
one :class:`~nfvlib.exceptions.InvalidInput` line naming the file (and, for a
JSON error, its line and column). Files are read bounded: at most
:data:`MAX_REQUEST_BYTES`, nesting at most :data:`MAX_REQUEST_DEPTH` levels,
and ``NaN``/``Infinity`` are refused.
"""

from __future__ import annotations

from typing import Any

#: The only top-level key of an ``--additional-param-file``.
ADDITIONAL_PARAMS = "additionalParams"
#: Largest request file read, in bytes: ``/dev/zero`` or a huge file fails at once.
MAX_REQUEST_BYTES = 4 * 1024 * 1024
#: Deepest nesting of objects and arrays in a request file.
MAX_REQUEST_DEPTH = 32


def load_request_file(path: str) -> dict[str, Any]:
    """The JSON object held by ``path`` (at most :data:`MAX_REQUEST_BYTES`)."""
    from nfvlib.exceptions import InvalidInput
    from nfvlib.inputs import load_json, read_text_file

    what = f"request file {_name(path)}"
    body = load_json(read_text_file(path, MAX_REQUEST_BYTES, "request file"), what,
                     max_depth=MAX_REQUEST_DEPTH)
    if not isinstance(body, dict):
        raise InvalidInput(f"{what} must hold a JSON object, not {_json_type(body)}")
    return body


def load_additional_params(path: str | None) -> dict[str, Any] | None:
    """The ``additionalParams`` object of an ``--additional-param-file``.

    The file is shaped as tackerclient's samples: ``{"additionalParams":
    {...}}``. None when no file is given.
    """
    if path is None:
        return None
    from nfvlib.exceptions import InvalidInput
    from nfvlib.inputs import short

    body = load_request_file(path)
    unknown = sorted(set(body) - {ADDITIONAL_PARAMS})
    if unknown:
        raise InvalidInput(f"request file {_name(path)} has unknown key(s) "
                           f"{', '.join(short(k) for k in unknown[:3])}",
                           hint=f'put the parameters under "{ADDITIONAL_PARAMS}"')
    params = body.get(ADDITIONAL_PARAMS, {})
    if not isinstance(params, dict):
        raise InvalidInput(f'"{ADDITIONAL_PARAMS}" in request file {_name(path)} must be a '
                           f"JSON object, not {_json_type(params)}")
    return params


def _name(path: str) -> str:
    """The file name for a message, bounded and with control characters escaped."""
    from nfvlib.inputs import short

    return path if len(path) <= 200 and path.isprintable() else short(path, 200)


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
