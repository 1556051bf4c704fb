"""Reading VIM config files as python-tackerclient accepts them.

A config file is YAML with the keys ``auth_url``, ``username``, ``password``,
``project_name``, ``project_domain_name``, ``user_domain_name``,
``cert_verify`` (a boolean or the strings 'True'/'False') and ``type``
(``openstack``).
"""

from __future__ import annotations

import os
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

from nfvlib.exceptions import InvalidInput

REQUIRED_KEYS = ("auth_url", "username", "password", "project_name")
OPTIONAL_KEYS = ("project_domain_name", "user_domain_name", "cert_verify", "type")
SUPPORTED_TYPES = ("openstack",)
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def load_config_file(path: str | os.PathLike, *, partial: bool = False) -> dict[str, Any]:
    """Read and check a VIM config file; return its normalised keys.

    With ``partial`` (an update), any subset of the keys may be given.
    """
    import yaml

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise InvalidInput(f"cannot read config file {path}: {exc.strerror}",
                           hint="check the path given to --config-file") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"config file {path} is not UTF-8 text",
                           hint="save it as UTF-8") from exc
    try:
        data = yaml.load(text, Loader=_loader_keeping_numbers_as_typed())
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise InvalidInput(f"config file {path} is not valid YAML{where}: {problem}",
                           hint="fix the YAML syntax") from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        kind = "list" if isinstance(data, list) else "single value"
        raise InvalidInput(f"config file {path} must hold a YAML mapping of keys, "
                           f"not a {kind}",
                           hint="write one 'key: value' per line")
    return parse_config(data, source=str(path), partial=partial)


def parse_config(data: Mapping[str, Any], *, source: str = "config",
                 partial: bool = False) -> dict[str, Any]:
    """Check and normalise a VIM config mapping (see :func:`load_config_file`)."""
    known = REQUIRED_KEYS + OPTIONAL_KEYS
    unknown = sorted(str(k) for k in data if k not in known)
    if unknown:
        raise InvalidInput(f"{source}: unknown key(s) {', '.join(unknown)}",
                           hint=f"accepted keys are {', '.join(known)}")
    if not partial:
        missing = [k for k in REQUIRED_KEYS if data.get(k) in (None, "")]
        if missing:
            raise InvalidInput(f"{source}: missing key(s) {', '.join(missing)}",
                               hint="add them to the config file")
    if partial and not data:
        raise InvalidInput(f"{source} holds no keys",
                           hint="give the keys to change, e.g. 'password: ...'")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key == "cert_verify":
            out[key] = _boolean(value, source)
        elif key == "type":
            if value not in SUPPORTED_TYPES:
                raise InvalidInput(f"{source}: VIM type {value!r} is not supported",
                                   hint="use 'type: openstack'")
            out[key] = value
        elif key == "auth_url":
            out[key] = normalize_auth_url(_scalar(key, value, source), source)
        else:
            out[key] = _scalar(key, value, source)
    return out


def normalize_auth_url(url: str, source: str = "config") -> str:
    """Check an auth URL and make it end in ``/v3``, as Tacker does."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{source}: auth_url {url!r} is not an http(s) URL",
                           hint="use e.g. 'auth_url: http://keystone:5000/v3'")
    path = parts.path.rstrip("/")
    if not path.endswith("/v3"):
        path += "/v3"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _loader_keeping_numbers_as_typed():
    """A safe YAML loader that leaves numbers as the text the user typed.

    Every value of a VIM config is a string or a boolean: ``password: 0123``
    must stay ``'0123'``, not become the octal number 83.
    """
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    for tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
        Loader.add_constructor(tag, lambda loader, node: loader.construct_scalar(node))
    return Loader


def _scalar(key: str, value: Any, source: str) -> str:
    # Mappings given directly (not from a file) may still hold numbers.
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidInput(f"{source}: {key} must be a string, "
                           f"not {type(value).__name__}",
                           hint=f"quote the value of {key}")
    text = str(value)
    if not text.strip():
        raise InvalidInput(f"{source}: {key} is empty", hint=f"give a value for {key}")
    return text


def _boolean(value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InvalidInput(f"{source}: cert_verify must be True or False, not {value!r}",
                       hint="write 'cert_verify: True' or 'cert_verify: False'")
