"""Reading VIM config files as python-tackerclient accepts them.

A config file is YAML with the keys ``auth_url``, ``username``, ``password``,
``project_name``, ``project_domain_name``, ``user_domain_name``,
``cert_verify`` (a boolean or the strings 'True'/'False') and ``type``
(``openstack``).

The file is read through :mod:`nfvlib.inputs`: bounded in size, nesting and
YAML alias expansion. Values are bounded as Keystone bounds them, so an
oversized field is refused here rather than by Keystone's HTTP 413.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import urlsplit, urlunsplit

from nfvlib.exceptions import InvalidInput
from nfvlib.inputs import display_path, load_yaml, read_text_file, short

if TYPE_CHECKING:
    import yaml

REQUIRED_KEYS = ("auth_url", "username", "password", "project_name")
OPTIONAL_KEYS = ("project_domain_name", "user_domain_name", "cert_verify", "type")
SUPPORTED_TYPES = ("openstack",)
_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}
#: A VIM config file is a handful of short lines.
FILE_LIMIT = 64 * 1024
#: Longest value Keystone accepts per key (its identity and resource schemas,
#: ``[identity] max_password_length``); auth_url is bounded to a sane URL.
MAX_LENGTHS = {"auth_url": 2048, "username": 255, "password": 4096,
               "project_name": 64, "project_domain_name": 64,
               "user_domain_name": 64}


def load_config_file(path: str | os.PathLike[str], *, partial: bool = False) -> dict[str, Any]:
    """Read and check a VIM config file; return its normalised keys.

    With ``partial`` (an update), any subset of the keys may be given.
    """
    name = display_path(path)
    try:
        text = read_text_file(path, FILE_LIMIT, "config file")
    except InvalidInput as exc:
        if exc.message.startswith("cannot read"):
            exc.hint = "check the path given to --config-file"
        raise
    # A config file is flat: a few levels and a few hundred values at most.
    data = load_yaml(text, f"config file {name}",
                     loader=_loader_keeping_numbers_as_typed(),
                     max_depth=8, max_nodes=1000)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        kind = "list" if isinstance(data, list) else "single value"
        raise InvalidInput(f"config file {name} must hold a YAML mapping of keys, "
                           f"not a {kind}",
                           hint="write one 'key: value' per line")
    return parse_config(data, source=name, partial=partial)


def parse_config(data: Mapping[str, Any], *, source: str = "config",
                 partial: bool = False) -> dict[str, Any]:
    """Check and normalise a VIM config mapping (see :func:`load_config_file`)."""
    known = REQUIRED_KEYS + OPTIONAL_KEYS
    unknown = sorted(k if isinstance(k, str) and k.isprintable() and len(k) <= 40
                     else short(k) for k in data if k not in known)
    if unknown:
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        raise InvalidInput(f"{source}: unknown key(s) {', '.join(unknown[:5])}{more}",
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
                raise InvalidInput(f"{source}: VIM type {short(value)} is not supported",
                                   hint="use 'type: openstack'")
            out[key] = value
        elif key == "auth_url":
            out[key] = normalize_auth_url(_scalar(key, value, source), source)
        else:
            out[key] = _scalar(key, value, source)
    return out


def normalize_auth_url(url: str, source: str = "config") -> str:
    """Check an auth URL and make it end in ``/v3``, as Tacker does.

    The whole URL is checked here (scheme, host name or address, port), so
    that no malformed URL reaches requests or urllib3, whose errors are not
    meant for users.
    """
    example = "use e.g. 'auth_url: http://keystone:5000/v3'"
    text = url.strip()
    bad = next((i for i, c in enumerate(text) if not c.isprintable() or c.isspace()),
               None)
    if bad is not None:
        raise InvalidInput(f"{source}: auth_url {short(url)} holds {_char(text[bad])} "
                           f"at position {bad + 1}", hint=example)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535"
        raise InvalidInput(f"{source}: auth_url {short(url)} is not a valid URL "
                           f"({str(exc)[:60]})", hint=example) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{source}: auth_url {short(url)} is not an http(s) URL",
                           hint=example)
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(f"{source}: auth_url must not hold a user name or "
                           "password", hint="give them as username and password")
    if port == 0:
        raise InvalidInput(f"{source}: auth_url {short(url)} has port 0",
                           hint="give a port from 1 to 65535")
    _check_host(parts.hostname, url, source)
    path = parts.path.rstrip("/")
    if not path.endswith("/v3"):
        path += "/v3"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _check_host(host: str, url: str, source: str) -> None:
    """Refuse a host that is neither an IP address nor a valid (IDNA) name."""
    import ipaddress

    if ":" in host:  # only IPv6 literals hold colons once urlsplit is done
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise InvalidInput(f"{source}: auth_url {short(url)} has an invalid "
                               "IPv6 address", hint="write it as http://[::1]:5000/v3"
                               ) from None
        return
    try:
        ascii_host = host.rstrip(".").encode("idna").decode("ascii")
    except UnicodeError:
        ascii_host = ""
    labels = ascii_host.split(".")
    if not ascii_host or len(ascii_host) > 253 or any(
            not label or len(label) > 63 or not all(c.isalnum() or c in "-_"
                                                    for c in label)
            for label in labels):
        raise InvalidInput(f"{source}: auth_url {short(url)} has an invalid host "
                           "name (each dot-separated label: 1 to 63 letters, digits "
                           "or hyphens)", hint="check the host name in auth_url")


def _char(c: str) -> str:
    """A character named safely, e.g. ``a newline (U+000A)``."""
    import unicodedata

    names = {"\n": "a newline", "\t": "a tab", "\r": "a carriage return",
             "\x1b": "an escape character", " ": "a space"}
    if c in names:
        label = names[c]
    elif unicodedata.name(c, ""):
        label = f"the character {unicodedata.name(c)}"
    else:
        label = "a control character"
    return f"{label} (U+{ord(c):04X})"


def check_text(value: str, what: str, max_length: int) -> str:
    """Refuse text longer than ``max_length`` or holding control characters.

    Control and format characters (Unicode categories Cc and Cf: newline,
    tab, escape, DEL, zero-width and direction marks...) would break tables
    and terminals wherever the text is shown later.
    """
    import unicodedata

    if len(value) > max_length:
        raise InvalidInput(f"{what} is {len(value)} characters long; at most "
                           f"{max_length} are accepted", hint=f"shorten the {what}")
    for i, c in enumerate(value):
        if unicodedata.category(c) in ("Cc", "Cf"):
            raise InvalidInput(f"{what} {short(value)} holds {_char(c)} at position "
                               f"{i + 1}", hint="use printable characters only")
    return value


def _loader_keeping_numbers_as_typed() -> type[yaml.SafeLoader]:
    """A safe YAML loader that leaves numbers as the text the user typed.

    Every value of a VIM config is a string or a boolean: ``password: 0123``
    must stay ``'0123'``, not become the octal number 83.
    """
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    def as_typed(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
        return loader.construct_scalar(node)

    for tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float"):
        Loader.add_constructor(tag, as_typed)
    return Loader


def _scalar(key: str, value: Any, source: str) -> str:
    # Mappings given directly (not from a file) may still hold numbers.
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidInput(f"{source}: {key} must be a string, "
                           f"not {type(value).__name__}",
                           hint=f"quote the value of {key}")
    if isinstance(value, int) and value.bit_length() > 64:
        raise InvalidInput(f"{source}: {key} is not a value Keystone accepts",
                           hint=f"quote the value of {key}")
    text = str(value)
    if not text.strip():
        raise InvalidInput(f"{source}: {key} is empty", hint=f"give a value for {key}")
    limit = MAX_LENGTHS.get(key)
    if limit is not None and len(text) > limit:
        raise InvalidInput(f"{source}: {key} is {len(text)} characters long; "
                           f"Keystone accepts at most {limit}",
                           hint=f"check the value of {key}")
    if key != "password":  # shown later in tables; a password never is
        check_text(text, f"{source}: {key}", len(text))
    return text


def _boolean(value: Any, source: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise InvalidInput(f"{source}: cert_verify must be True or False, not "
                       f"{short(value)}",
                       hint="write 'cert_verify: True' or 'cert_verify: False'")
