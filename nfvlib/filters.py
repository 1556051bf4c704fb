"""SOL013 attribute-based filters and attribute selectors, for local mode.

A filter (ETSI GS NFV-SOL 013, 5.2) is one or more terms joined by ``;``,
all of which must hold::

    (eq,operationState,FAILED_TEMP);(in,operation,SCALE,HEAL)
    (neq,instantiatedVnfInfo/flavourId,simple)
    (cont,vnfInstanceName,'web,db')            # a value with , ( ) ; or ' is quoted
    (eq,vimConnectionInfo/*/vimId,<vim id>)    # * : every entry of a map or array

Operators: ``eq neq gt gte lt lte`` take one value, ``in nin cont ncont``
one or more. An attribute path walks ``/``-separated names through the
SOL003/SOL005 JSON shape of a record. An array on the way is searched: a
positive term (eq, in, cont, gt, ...) holds when any element satisfies it, a
negative one (neq, nin, ncont) when none satisfies its positive twin. A
missing attribute satisfies only the negative operators. Numbers and
booleans compare as such (``true``/``false``), everything else as text.

Remote mode sends the same text to Tacker as ``filter=``; local mode parses
it with :func:`parse_filter` and tests records with :meth:`Filter.matches`,
so both modes accept the same grammar.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable

from nfvlib.exceptions import InvalidInput

#: operator -> whether it takes exactly one value
OPERATORS = {"eq": True, "neq": True, "gt": True, "gte": True, "lt": True, "lte": True,
             "in": False, "nin": False, "cont": False, "ncont": False}
#: negative operator -> the positive operator it negates
_NEGATION = {"neq": "eq", "nin": "in", "ncont": "cont"}
_HINT = ("write (op,attribute,value[,value...]) terms joined by ';', op one of "
         + ", ".join(OPERATORS))
#: The longest filter text accepted.
MAX_FILTER_CHARS = 8192


@dataclass(frozen=True)
class Term:
    """One ``(op,attribute/path,value...)`` term."""

    op: str
    path: tuple[str, ...]
    values: tuple[str, ...]

    def matches(self, record: Any) -> bool:
        """Whether ``record`` (a SOL JSON mapping) satisfies this term."""
        positive = _NEGATION.get(self.op, self.op)
        if len(self.path) == 1 and positive in ("eq", "in"):
            # The common case (a plain attribute against text), without the walk.
            value = record.get(self.path[0]) if isinstance(record, Mapping) else None
            if isinstance(value, str):
                return (value in self.values) is (self.op == positive)
        found = any(_compare(positive, value, self.values)
                    for value in _resolve(record, self.path))
        return not found if self.op in _NEGATION else found


@dataclass(frozen=True)
class Filter:
    """A parsed filter: every term must hold."""

    terms: tuple[Term, ...]
    text: str

    def matches(self, record: Any) -> bool:
        """Whether ``record`` satisfies every term."""
        return all(term.matches(record) for term in self.terms)

    def attributes(self) -> set[str]:
        """The top-level attribute names the filter reads."""
        return {term.path[0] for term in self.terms}

    def __str__(self) -> str:
        return self.text


def parse_filter(text: str | None, *, attributes: Sequence[str] | None = None
                 ) -> Filter | None:
    """Parse a SOL013 filter (None for None or blank text).

    ``attributes``, if given, are the top-level names a record has; a term
    naming another one is refused, so a typo is not an empty result.
    Raises :class:`InvalidInput` naming the faulty term.
    """
    if text is None or not text.strip():
        return None
    if len(text) > MAX_FILTER_CHARS:
        raise InvalidInput(f"filter is {len(text)} characters long, more than "
                           f"{MAX_FILTER_CHARS}")
    terms = []
    for raw in _split_terms(text):
        term = _parse_term(raw)
        if attributes is not None and term.path[0] not in attributes:
            raise InvalidInput(f"filter term {_show(raw)}: no attribute "
                               f"{term.path[0]!r} to filter by",
                               hint="use one of " + ", ".join(sorted(attributes)))
        terms.append(term)
    return Filter(tuple(terms), text.strip())


def quote(value: str) -> str:
    """A value as a filter term holds it: quoted when it has , ( ) ; or '."""
    if any(c in value for c in ",();'") or value != value.strip():
        return "'" + value.replace("'", "''") + "'"
    return value


def eq_filter(pairs: Mapping[str, Any]) -> str:
    """``(eq,attr,value);...`` for every pair (enum values by their value)."""
    return ";".join(f"(eq,{key},{quote(str(getattr(value, 'value', value)))})"
                    for key, value in pairs.items())


# -- parsing -------------------------------------------------------------------

def _show(text: str) -> str:
    text = text.strip()
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _split_terms(text: str) -> list[str]:
    """The ``(...)`` terms of ``text``, split at ``;`` outside quotes."""
    terms: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == "'":
            quoted = not quoted
        if char == ";" and not quoted:
            terms.append("".join(current))
            current = []
        else:
            current.append(char)
    if quoted:
        raise InvalidInput(f"filter {_show(text)} has an unterminated quote",
                           hint="close every quoted value with ' (write '' for a quote)")
    terms.append("".join(current))
    return terms


def _parse_term(raw: str) -> Term:
    text = raw.strip()
    if not (text.startswith("(") and text.endswith(")")):
        raise InvalidInput(f"cannot parse filter term {_show(raw)}", hint=_HINT)
    fields = _split_fields(text[1:-1], raw)
    if len(fields) < 3:
        raise InvalidInput(f"filter term {_show(raw)} needs an operator, an attribute "
                           "and a value", hint=_HINT)
    op, attribute, values = fields[0].strip(), fields[1].strip(), tuple(fields[2:])
    if op not in OPERATORS:
        raise InvalidInput(f"filter term {_show(raw)}: unknown operator {op!r}",
                           hint=_HINT)
    if OPERATORS[op] and len(values) != 1:
        raise InvalidInput(f"filter term {_show(raw)}: {op} takes exactly one value, "
                           f"not {len(values)}", hint="use in or nin for several values")
    path = tuple(attribute.split("/"))
    if not all(path):
        raise InvalidInput(f"filter term {_show(raw)}: attribute {attribute!r} has an "
                           "empty name", hint="separate names with one '/'")
    return Term(op, path, values)


def _split_fields(body: str, raw: str) -> list[str]:
    """Split at ``,`` outside quotes; a quoted field loses its quotes ('' is ')."""
    fields: list[str] = []
    i, n = 0, len(body)
    while True:
        if i < n and body[i] == "'":
            value, i = _quoted(body, i + 1, raw)
            if i < n and body[i] != ",":
                raise InvalidInput(f"filter term {_show(raw)}: text after a quoted value",
                                   hint="quote the whole value")
        else:
            end = body.find(",", i)
            end = n if end < 0 else end
            value = body[i:end]
            if "'" in value or "(" in value or ")" in value:
                raise InvalidInput(f"filter term {_show(raw)}: value {value!r} must be "
                                   "quoted", hint="write it as '...' (a quote as '')")
            i = end
        fields.append(value)
        if i >= n:
            return fields
        i += 1  # the comma


def _quoted(body: str, i: int, raw: str) -> tuple[str, int]:
    out = []
    while i < len(body):
        if body[i] == "'":
            if body[i + 1:i + 2] == "'":
                out.append("'")
                i += 2
                continue
            return "".join(out), i + 1
        out.append(body[i])
        i += 1
    raise InvalidInput(f"filter term {_show(raw)} has an unterminated quote")


# -- evaluation ----------------------------------------------------------------

_MISSING = object()


def _resolve(value: Any, path: tuple[str, ...]) -> list[Any]:
    """Every leaf ``path`` reaches from ``value``; arrays and ``*`` fan out."""
    current = [value]
    for name in path:
        following = []
        for item in current:
            following.extend(_step(item, name))
        current = following
        if not current:
            return []
    leaves: list[Any] = []
    for item in current:
        if isinstance(item, list | tuple):
            leaves.extend(item)
        else:
            leaves.append(item)
    return leaves


def _step(item: Any, name: str) -> list[Any]:
    if isinstance(item, list | tuple):
        return [v for element in item for v in _step(element, name)]
    if isinstance(item, Mapping):
        if name == "*":
            return list(item.values())
        if name == "@key":
            return list(item.keys())
        value = item.get(name, _MISSING)
        return [] if value is _MISSING or value is None else [value]
    return []


def _compare(op: str, actual: Any, values: tuple[str, ...]) -> bool:
    if isinstance(actual, Mapping):
        return False
    if op in ("eq", "in"):
        return any(_equal(actual, v) for v in values)
    if op == "cont":
        text = _text(actual)
        return any(v in text for v in values)
    ordered = _order(actual, values[0])
    if ordered is None:
        return False
    left, right = ordered
    return bool({"gt": left > right, "gte": left >= right,
                 "lt": left < right, "lte": left <= right}[op])


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(getattr(value, "value", value))


def _equal(actual: Any, wanted: str) -> bool:
    if isinstance(actual, bool) or not isinstance(actual, int | float):
        return _text(actual) == wanted
    try:
        return float(actual) == float(wanted)
    except ValueError:
        return False


def _order(actual: Any, wanted: str) -> tuple[Any, Any] | None:
    if isinstance(actual, int | float) and not isinstance(actual, bool):
        try:
            return float(actual), float(wanted)
        except ValueError:
            return None
    return _text(actual), wanted


# -- attribute selectors (SOL013 5.3) ---------------------------------------------

def split_names(text: str | None) -> list[str]:
    """``a,b/c`` as ``["a", "b/c"]`` (empty for None)."""
    return [n.strip() for n in (text or "").split(",") if n.strip()]


# -- records as filters see them ---------------------------------------------------
# A local filter tests the very JSON record that ``-f json`` shows and a Tacker
# server would send (:mod:`nfvlib.sol003`). The record is built only when a
# term reads an attribute beyond the model's plain fields, so filtering
# 100,000 occurrences by state or instance costs no record building.

class _LazyRecord(Mapping[str, Any]):
    """A SOL record whose plain fields are given and the rest built on first use."""

    __slots__ = ("_plain", "_build", "_full")

    def __init__(self, plain: dict[str, Any], build: Callable[[], dict[str, Any]]) -> None:
        self._plain = plain
        self._build = build
        self._full: dict[str, Any] | None = None

    def _record(self) -> dict[str, Any]:
        if self._full is None:
            self._full = self._build()
        return self._full

    def __getitem__(self, key: str) -> Any:
        if key in self._plain:
            value = self._plain[key]
            if value is None:
                raise KeyError(key)
            return value
        return self._record()[key]

    def get(self, key: str, default: Any = None) -> Any:
        if key in self._plain:
            value = self._plain[key]
            return default if value is None else value
        return self._record().get(key, default)

    def __iter__(self) -> Iterator[str]:
        return iter(self._record())

    def __len__(self) -> int:
        return len(self._record())


def _enum(value: Any) -> Any:
    return getattr(value, "value", value)


def package_record(info: Any) -> Mapping[str, Any]:
    """A :class:`~nfvlib.models.PackageInfo` as SOL005 VnfPkgInfo."""
    from nfvlib import sol003

    return _LazyRecord({
        "id": info.id, "vnfdId": info.vnfd_id, "vnfProvider": info.vnf_provider,
        "vnfProductName": info.vnf_product_name,
        "vnfSoftwareVersion": info.vnf_software_version, "vnfdVersion": info.vnfd_version,
        "onboardingState": _enum(info.onboarding_state),
        "operationalState": info.operational_state, "usageState": info.usage_state,
    }, lambda: sol003.vnf_package(info))


def vnf_record(vnf: Any) -> Mapping[str, Any]:
    """A :class:`~nfvlib.models.VnfInstance` as SOL003 VnfInstance."""
    from nfvlib import sol003

    return _LazyRecord({
        "id": vnf.id, "vnfdId": vnf.vnfd_id, "vnfProvider": vnf.vnf_provider or "",
        "vnfProductName": vnf.vnf_product_name or "",
        "vnfSoftwareVersion": vnf.vnf_software_version or "",
        "vnfdVersion": vnf.vnfd_version or "",
        "instantiationState": _enum(vnf.instantiation_state),
        # left out when empty, as the record leaves them out (None: absent)
        "vnfInstanceName": vnf.name or None,
        "vnfInstanceDescription": vnf.description or None,
    }, lambda: sol003.vnf_instance(vnf))


def op_occ_record(op: Any) -> Mapping[str, Any]:
    """A :class:`~nfvlib.models.OpOcc` as SOL003 VnfLcmOpOcc."""
    from nfvlib import sol003

    return _LazyRecord({
        "id": op.id, "operationState": _enum(op.state), "vnfInstanceId": op.vnf_instance_id,
        "operation": _enum(op.operation), "startTime": op.start_time,
        "stateEnteredTime": op.state_entered_time,
    }, lambda: sol003.op_occ(op))


def subscription_record(sub: Any) -> Mapping[str, Any]:
    """A :class:`~nfvlib.models.Subscription` as SOL003 LccnSubscription."""
    return {"id": sub.id, "callbackUri": sub.callback_uri, "filter": sub.filter,
            "verbosity": sub.verbosity, "_links": sub.links}


#: Top-level attribute names a filter may use, per record kind.
PACKAGE_ATTRIBUTES = ("id", "vnfdId", "vnfProvider", "vnfProductName", "vnfSoftwareVersion",
                      "vnfdVersion", "onboardingState", "operationalState", "usageState",
                      "userDefinedData", "checksum", "softwareImages",
                      "additionalArtifacts", "_links")
VNF_ATTRIBUTES = ("id", "vnfInstanceName", "vnfInstanceDescription", "vnfdId",
                  "vnfProvider", "vnfProductName", "vnfSoftwareVersion", "vnfdVersion",
                  "vnfPkgId", "instantiationState", "vimConnectionInfo",
                  "instantiatedVnfInfo", "metadata", "extensions",
                  "vnfConfigurableProperties", "_links")
OP_OCC_ATTRIBUTES = ("id", "operationState", "stateEnteredTime", "startTime",
                     "vnfInstanceId", "grantId", "operation", "isAutomaticInvocation",
                     "operationParams", "isCancelPending", "cancelMode", "error",
                     "resourceChanges", "changedInfo", "changedExtConnectivity", "_links")
SUBSCRIPTION_ATTRIBUTES = ("id", "filter", "callbackUri", "verbosity", "_links")
