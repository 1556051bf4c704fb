"""Bounded, safe reading of the files and values an operator hands to nfvlib.

Config files, request files and descriptors come from other people and other
tools. Everything read through this module is bounded:

* :func:`read_text_file` reads at most ``limit`` bytes (``/dev/zero`` or a
  huge file fails at once) and insists on UTF-8;
* :func:`load_yaml` uses a safe loader after one pass over the parser's events
  that bounds nesting depth and the size of the document once YAML aliases
  are expanded (a few hundred bytes of ``&a [*a, *a, ...]`` can otherwise
  stand for billions of nodes), and refuses an alias to the collection that
  contains it;
* :func:`load_json` bounds nesting depth and refuses ``NaN``/``Infinity``;
* :func:`short` formats any value for an error message in a few dozen
  characters, however large or deeply nested the value is.

Every failure is an :class:`~nfvlib.exceptions.InvalidInput` with one line
naming the input (``what``) and the problem.
"""

from __future__ import annotations

import os
import reprlib
from typing import TYPE_CHECKING, Any, Iterable

from nfvlib.exceptions import InvalidInput

if TYPE_CHECKING:
    import yaml

#: Default size limit of an input file (1 MiB).
DEFAULT_LIMIT = 1024 * 1024
#: Default bound of nesting (mappings and lists inside each other).
MAX_DEPTH = 64
#: Default bound of the nodes of a YAML document with its aliases expanded.
MAX_NODES = 100_000

_SHORT_LIMIT = 40


def short(value: Any, limit: int = _SHORT_LIMIT) -> str:
    """``repr(value)`` cut to about ``limit`` characters, safe for any value.

    Strings are cut before they are formatted and containers are formatted
    a few levels and items deep only, so a huge or alias-expanded value costs
    no more than a small one. Control characters come out escaped.
    """
    if isinstance(value, (str, bytes, bytearray)):
        if isinstance(value, str):
            text, unit = repr(value[:limit]), "characters"
        else:
            text, unit = repr(bytes(value[:limit])), "bytes"
        if len(value) <= limit and len(text) <= limit + 3:
            return text
        return f"{text[:limit]}... ({len(value)} {unit})"
    bounded = reprlib.Repr()
    bounded.maxlevel = 2
    bounded.maxdict = bounded.maxlist = bounded.maxtuple = bounded.maxset = 4
    bounded.maxstring = bounded.maxother = limit
    bounded.maxlong = limit
    try:
        text = bounded.repr(value)
    except Exception:  # a foreign object whose __repr__ fails
        text = f"<{type(value).__name__}>"
    if len(text) > limit:
        text = text[:limit] + "..."
    return text


def display_path(path: str | os.PathLike[str]) -> str:
    """A path for a message: the user's own text, bounded and escaped."""
    text = os.fsdecode(path)
    if len(text) > 200 or not text.isprintable():
        return short(text, 200)
    return text


def read_text_file(path: str | os.PathLike[str], limit: int = DEFAULT_LIMIT,
                   what: str = "file") -> str:
    """Read a UTF-8 text file of at most ``limit`` bytes.

    ``what`` names the input in messages (e.g. ``"config file"``).
    """
    name = display_path(path)
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InvalidInput(f"cannot read {what} {name}: {reason}",
                           hint=f"check the path of the {what}") from exc
    except ValueError as exc:  # open() refuses a path holding a NUL character
        raise InvalidInput(f"cannot read {what} {name}: the path holds a NUL character",
                           hint=f"check the path of the {what}") from exc
    if len(data) > limit:
        raise InvalidInput(f"{what} {name} is larger than {_size(limit)}",
                           hint=f"give a {what} of at most {_size(limit)}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{what} {name} is not UTF-8 text "
                           f"(byte {exc.start + 1} is not valid)",
                           hint="save it as UTF-8") from exc


def _size(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB"
    if limit % 1024 == 0:
        return f"{limit // 1024} KiB"
    return f"{limit} bytes"


# ---------------------------------------------------------------- YAML

class _Refused(Exception):
    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem)
        self.problem = problem
        self.mark = mark


def check_yaml_bounds(text: str, *, max_depth: int = MAX_DEPTH,
                      max_nodes: int = MAX_NODES) -> None:
    """Refuse YAML nested too deeply or too large once its aliases are expanded.

    One pass over the parser's events (libyaml's when available), before
    anything is built: it keeps only the open collections and the expanded
    size of each anchor, so a bomb is refused at the alias that crosses the
    bound, in milliseconds. Syntax errors are left to the loader, which
    reports them in its own words.
    """
    import yaml

    parsers: list[type[yaml.SafeLoader] | type[yaml.CSafeLoader]] = [yaml.SafeLoader]
    if hasattr(yaml, "CSafeLoader"):
        parsers.insert(0, yaml.CSafeLoader)
    for parser in parsers:
        try:
            _walk_events(yaml.parse(text, Loader=parser), max_depth, max_nodes)
            return
        except yaml.MarkedYAMLError as exc:
            # libyaml stops at 1000 open flow collections while scanning ahead.
            if "maximum nesting depth" in str(exc.problem):
                raise _Refused(f"nesting is deeper than {max_depth} levels",
                               exc.problem_mark) from None
        except yaml.YAMLError:
            pass
        # A syntax error: where libyaml and PyYAML disagree, the document is
        # walked again by PyYAML, whose loader reads it next.


def _walk_events(events: Any, max_depth: int, max_nodes: int) -> None:
    import yaml

    starts = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
    ends = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
    anchors: dict[str | None, int] = {}  # anchor -> expanded size of its finished node
    open_: list[list[Any]] = []    # [expanded size so far, anchor] per collection
    total = 0
    for event in events:
        if isinstance(event, starts):
            if len(open_) >= max_depth:
                raise _Refused(f"nesting is deeper than {max_depth} levels",
                               event.start_mark)
            open_.append([1, event.anchor])
            total += 1
            continue
        if isinstance(event, ends):
            size, anchor = open_.pop()
            if anchor is not None:
                anchors[anchor] = size
        elif isinstance(event, yaml.ScalarEvent):
            size = 1
            total += 1
            if event.anchor is not None:
                anchors[event.anchor] = 1
        elif isinstance(event, yaml.AliasEvent):
            if any(anchor == event.anchor for _, anchor in open_):
                raise _Refused(f"alias *{short(event.anchor)[1:-1]} refers to the "
                               "collection that contains it", event.start_mark)
            size = anchors.get(event.anchor, 1)  # undefined: the loader says so
            total += size
        else:
            continue
        if open_:
            open_[-1][0] += size
        if total > max_nodes:
            raise _Refused(f"the document has more than {max_nodes} values once "
                           "its aliases (*name) are expanded", event.start_mark)


def load_yaml(text: str, what: str = "file", *,
              loader: type[yaml.SafeLoader] | type[yaml.CSafeLoader] | None = None,
              max_depth: int = MAX_DEPTH, max_nodes: int = MAX_NODES) -> Any:
    """Parse one YAML document safely and within bounds.

    ``loader`` is a ``yaml.SafeLoader`` subclass (e.g. one with extra
    constructors; default: libyaml's ``CSafeLoader`` when available). The
    bounds are checked by :func:`check_yaml_bounds` before it runs.
    """
    import yaml

    try:
        check_yaml_bounds(text, max_depth=max_depth, max_nodes=max_nodes)
        if loader is None:
            loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        return yaml.load(text, Loader=loader)  # noqa: S506 - a SafeLoader
    except _Refused as exc:
        raise InvalidInput(f"{what} is refused{_where(exc.mark)}: {exc.problem}",
                           hint="write the values out plainly") from None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or "invalid YAML"
        mark = getattr(exc, "problem_mark", None)
        raise InvalidInput(f"{what} is not valid YAML{_where(mark)}: "
                           f"{_clip(problem)}", hint="fix the YAML syntax") from exc
    except RecursionError:
        # Whether the parser or the depth check below stops a deep document
        # depends on the interpreter's stack: say the same either way.
        raise InvalidInput(f"{what} is nested deeper than {max_depth} levels",
                           hint=f"use at most {max_depth} levels") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InvalidInput(f"{what} holds a value that cannot be read: "
                           f"{_clip(str(exc))}", hint="fix the value") from exc


def _where(mark: Any) -> str:
    if mark is None:
        return ""
    return f" at line {mark.line + 1}, column {mark.column + 1}"


def _clip(text: str, limit: int = 120) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


# ---------------------------------------------------------------- JSON

def load_json(text: str, what: str = "file", *, max_depth: int = MAX_DEPTH,
              allow_nan: bool = False) -> Any:
    """Parse JSON with nesting bounded; ``NaN``/``Infinity`` are refused."""
    import json

    def constant(name: str) -> float:
        if allow_nan:
            return float(name)
        raise _Refused(f"{name} is not a JSON number", None)

    try:
        data = json.loads(text, parse_constant=constant)
    except _Refused as exc:
        raise InvalidInput(f"{what} is not valid JSON: {exc.problem}",
                           hint="give a finite number") from None
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"{what} is not valid JSON at line {exc.lineno}, "
                           f"column {exc.colno}: {exc.msg}",
                           hint="fix the JSON syntax") from exc
    except RecursionError:
        # Whether the parser or the depth check below stops a deep document
        # depends on the interpreter's stack: say the same either way.
        raise InvalidInput(f"{what} is nested deeper than {max_depth} levels",
                           hint=f"use at most {max_depth} levels") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise InvalidInput(f"{what} holds a value that cannot be read: "
                           f"{_clip(str(exc))}", hint="fix the value") from exc
    if depth(data) > max_depth:
        raise InvalidInput(f"{what} is nested deeper than {max_depth} levels",
                           hint=f"use at most {max_depth} levels")
    return data


def depth(value: Any) -> int:
    """How many lists/mappings are nested in ``value`` (iterative, no recursion)."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest
