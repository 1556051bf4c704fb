"""Checks of LCM requests against the ETSI GS NFV-SOL 003 request schemas.

Each request is checked when it is made, before anything is written: its
shape first (bounded nesting and size, JSON values only, no NaN or
Infinity), then the JSON Schema of its type in ``nfvlib/lcm/schemas/``,
written from SOL003's tables (field names, types, cardinalities). A request
that does not fit gives one :class:`~nfvlib.exceptions.InvalidInput` line
naming the JSON path of the first problem, e.g.
``instantiate request: $.localizationLanguage must be a string, not an integer``.

>>> validate("InstantiateVnfRequest", {"flavourId": "simple"})
{'flavourId': 'simple'}
"""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from typing import Any, Mapping

from nfvlib.exceptions import InvalidInput
from nfvlib.inputs import short

#: Deepest nesting of objects and arrays a request may have.
MAX_DEPTH = 32
#: Most values (objects, arrays, strings, numbers, ...) a request may hold.
MAX_VALUES = 100_000
#: Most characters of all the strings and keys of a request together.
MAX_TEXT = 4 * 1024 * 1024

#: What each schema is called in messages.
_WHAT = {"InstantiateVnfRequest": "instantiate request",
         "ScaleVnfRequest": "scale request",
         "HealVnfRequest": "heal request",
         "TerminateVnfRequest": "terminate request"}
SCHEMAS = tuple(_WHAT)
#: The ``vimType`` values of the VIMs local mode drives (OpenStack's).
OPENSTACK_VIM_TYPES = ("ETSINFV.OPENSTACK_KEYSTONE.V_3", "ETSINFV.OPENSTACK_KEYSTONE.V_2")


def validate(schema: str, request: Any) -> dict[str, Any]:
    """Check ``request`` against the SOL003 schema ``schema`` (e.g. ``"ScaleVnfRequest"``).

    Returns the request as a plain dict; an InstantiateVnfRequest's
    ``vimConnectionInfo`` in the array form (SOL003 v2.6.1) comes back as
    the map form (v3.x), keyed by each entry's ``id``. Raises
    :class:`InvalidInput` naming the request and the JSON path at fault.
    """
    what = _WHAT[schema]
    if isinstance(request, Mapping):
        request = {key: dict(value) if isinstance(value, Mapping) else value
                   for key, value in request.items()}
    check_shape(request, what)
    if not isinstance(request, dict):
        raise InvalidInput(f"{what} must be a JSON object, not {_json_type(request)}")
    # plain JSON from here on: tuples are lists
    plain: dict[str, Any] = json.loads(json.dumps(request))
    error = _best_error(_validator(schema), plain)
    if error is not None:
        raise InvalidInput(f"{what}: {_describe(error)}", hint=_hint(error))
    infos = plain.get("vimConnectionInfo")
    if isinstance(infos, list):
        ids = [info["id"] for info in infos]
        if len(set(ids)) != len(ids):
            raise InvalidInput(f"{what}: $.vimConnectionInfo has two entries with the "
                               "same id", hint="give each entry its own id")
        plain["vimConnectionInfo"] = {info["id"]: info for info in infos}
    return plain


def check_shape(value: Any, what: str) -> None:
    """Refuse what JSON cannot hold or what is too big to check.

    Nesting deeper than :data:`MAX_DEPTH`, more than :data:`MAX_VALUES`
    values or :data:`MAX_TEXT` characters, keys that are not strings, NaN or
    Infinity, and values of types other than JSON's. Iterative: no deep
    recursion whatever the input.
    """
    count = text = 0
    stack: list[tuple[Any, str, int]] = [(value, "$", 0)]
    while stack:
        item, path, level = stack.pop()
        count += 1
        if count > MAX_VALUES:
            raise InvalidInput(f"{what} holds more than {MAX_VALUES} values")
        if isinstance(item, dict):
            if level >= MAX_DEPTH:
                raise InvalidInput(f"{what}: {path} is nested deeper than {MAX_DEPTH} "
                                   "levels")
            for key, child in item.items():
                if not isinstance(key, str):
                    raise InvalidInput(f"{what}: {path} has a key {short(key)} that is "
                                       "not a string")
                text += len(key)
                stack.append((child, _child_path(path, key)[:200], level + 1))
        elif isinstance(item, (list, tuple)):
            if level >= MAX_DEPTH:
                raise InvalidInput(f"{what}: {path} is nested deeper than {MAX_DEPTH} "
                                   "levels")
            stack.extend((child, f"{path}[{index}]", level + 1)
                         for index, child in enumerate(item))
        elif isinstance(item, str):
            text += len(item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise InvalidInput(f"{what}: {path} is {item}, not a JSON number",
                                   hint="give a finite number")
        elif item is not None and not isinstance(item, (bool, int)):
            raise InvalidInput(f"{what}: {path} is a {type(item).__name__}, which JSON "
                               "cannot hold")
        if text > MAX_TEXT:
            raise InvalidInput(f"{what} holds more than {MAX_TEXT} characters of text")


def _child_path(path: str, key: str) -> str:
    if key.isidentifier() and len(key) <= 64:
        return f"{path}.{key}"
    return f"{path}[{short(key)}]"


@cache
def _validator(schema: str) -> Any:
    # jsonschema has no type hints of its own (types-jsonschema is not installed).
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    folder = resources.files("nfvlib.lcm") / "schemas"
    registry = Registry()
    documents = {}
    for name in ("common", *SCHEMAS):
        document = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
        documents[name] = document
        registry = registry.with_resource(document["$id"], Resource.from_contents(document))
    return Draft202012Validator(documents[schema], registry=registry)


def _best_error(validator: Any, request: dict[str, Any]) -> Any:
    """The most relevant error: the deepest one along the first failing branch."""
    from jsonschema.exceptions import best_match

    return best_match(validator.iter_errors(request))


def _json_path(error: Any) -> str:
    path = "$"
    for part in error.absolute_path:
        path = f"{path}[{part}]" if isinstance(part, int) else _child_path(path, part)
    return path if len(path) <= 160 else path[:160] + "..."


def _describe(error: Any) -> str:
    """One line for a jsonschema error that never formats an unbounded value."""
    path = _json_path(error)
    kind, expected, value = error.validator, error.validator_value, error.instance
    if kind == "type":
        wanted = expected if isinstance(expected, str) else " or ".join(expected)
        return f"{path} must be {_article(wanted)}, not {_json_type(value)}"
    if kind == "required":
        missing = [name for name in expected if name not in value]
        return f"{path}.{missing[0] if missing else expected[0]} is missing"
    if kind == "additionalProperties":
        known = error.schema.get("properties", {})
        unknown = sorted(k for k in value if k not in known)
        names = ", ".join(short(k) for k in unknown[:3])
        return f"{path} has unknown field(s) {names}"
    if kind == "enum":
        listed = [str(item) for item in expected]
        choices = " or ".join(filter(None, (", ".join(listed[:-1]), listed[-1])))
        return f"{path} is {short(value)}, not {choices}"
    if kind in ("minimum", "maximum"):
        word = "at least" if kind == "minimum" else "at most"
        return f"{path} is {short(value)}; it must be {word} {expected}"
    if kind in ("minLength", "maxLength"):
        if kind == "minLength":
            return f"{path} must not be empty"
        return f"{path} is {len(value)} characters long, more than {expected}"
    if kind in ("minItems", "maxItems", "minProperties", "maxProperties"):
        unit = "entries"
        word = "at least" if kind.startswith("min") else "at most"
        return f"{path} has {len(value)} {unit}; it must have {word} {expected}"
    if kind == "oneOf":
        return f"{path} must be an object of named entries or an array of entries"
    return f"{path} does not match the SOL003 schema ({kind})"


def _hint(error: Any) -> str | None:
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        return f"the known fields are {', '.join(known)}" if known else None
    if list(error.absolute_path)[-1:] == ["vimType"]:
        return "local mode drives OpenStack VIMs only"
    return None


def _article(type_name: str) -> str:
    names = {"object": "an object", "array": "an array", "string": "a string",
             "integer": "an integer", "number": "a number", "boolean": "a boolean",
             "null": "null"}
    return names.get(type_name, type_name)


def _json_type(value: Any) -> str:
    """The JSON name of a decoded value's type, with an article."""
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "null"
    if isinstance(value, int):
        return "an integer"
    return "a number"
