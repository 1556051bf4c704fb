"""Secrets inside LCM requests: which keys are secret, sealing, unsealing, masking.

The rule, in one place. A mapping key names a secret when, split into words
at camelCase humps, underscores, hyphens, dots and spaces (``adminPassword``
-> ``admin password``, ``OS_PASSWORD`` -> ``os password``):

- its LAST word is one of :data:`SECRET_WORDS` (``password``, ``passwd``,
  ``passphrase``, ``secret``, ``token``), or
- its last two words are one of :data:`SECRET_PAIRS` (``private key``,
  ``api key``, ``secret key``), or
- the whole key is one of :data:`SECRET_NAMES` (``authorization``).

So ``password``, ``adminPassword``, ``vim_password``, ``bearer_token``,
``client_secret``, ``privateKey`` and ``ssh-private-key`` are secrets;
``tokenLifetime``, ``secretName`` and ``passwordPolicy`` are not. A secret
key's whole value is secret, whatever its type (text, number, list, object).

A request is kept in the store *sealed*: each secret value is replaced by
``sealed:v1:<key id>:<Fernet token of its JSON>``, made with a vault key the
store owns, so the worker can :func:`unseal` it and give Heat and lifecycle
scripts the real value. What is shown (library results, ``op show``, logs,
errors) is :func:`mask`-ed: every secret value is ``***``.
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping, TypeGuard

from nfvlib.exceptions import VaultError
from nfvlib.models import MASK

SECRET_WORDS = frozenset({"password", "passwd", "passphrase", "secret", "token"})
SECRET_PAIRS = frozenset({("private", "key"), ("api", "key"), ("secret", "key")})
SECRET_NAMES = frozenset({"authorization"})

#: Purpose under which the store records the vault key that seals requests.
REQUEST_KEY_PURPOSE = "lcm-request"

_PREFIX = "sealed:v1:"
_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")


def words(name: str) -> list[str]:
    """``name`` split into lower-case words (camelCase, snake_case, kebab-case)."""
    return [w.lower() for w in _WORDS.findall(name)]


def is_secret_key(name: Any) -> bool:
    """Whether a mapping key names a secret value (see the module's rule)."""
    if not isinstance(name, str):
        return False
    parts = words(name)
    if not parts:
        return False
    if parts[-1] in SECRET_WORDS or "".join(parts) in SECRET_NAMES:
        return True
    return len(parts) >= 2 and (parts[-2], parts[-1]) in SECRET_PAIRS


def mask(value: Any) -> Any:
    """A copy of ``value`` with every secret value (clear or sealed) as ``***``."""
    if isinstance(value, Mapping):
        return {k: MASK if is_secret_key(k) else mask(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask(v) for v in value]
    return value


def seal(value: Any, vault: Any, key_id: str) -> Any:
    """A copy of ``value`` with every secret value encrypted with ``key_id``."""
    if isinstance(value, Mapping):
        return {k: _seal_one(v, vault, key_id) if is_secret_key(k)
                else seal(v, vault, key_id) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [seal(v, vault, key_id) for v in value]
    return value


def unseal(value: Any, vault: Any) -> Any:
    """A copy of a :func:`seal`-ed value with the secrets decrypted.

    A secret value that is not sealed (e.g. ``***`` from a request stored
    before sealing existed) is left as it is.
    """
    if isinstance(value, Mapping):
        return {k: _unseal_one(v, vault) if is_secret_key(k) else unseal(v, vault)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [unseal(v, vault) for v in value]
    return value


def is_sealed(value: Any) -> TypeGuard[str]:
    """Whether ``value`` is one sealed secret."""
    return isinstance(value, str) and value.startswith(_PREFIX)


def _seal_one(value: Any, vault: Any, key_id: str) -> str:
    if is_sealed(value):
        return value
    return f"{_PREFIX}{key_id}:{vault.encrypt(key_id, json.dumps(value))}"


def _unseal_one(value: Any, vault: Any) -> Any:
    if not is_sealed(value):
        return value
    key_id, _, token = value[len(_PREFIX):].partition(":")
    if not key_id or not token:
        raise VaultError("a sealed request value is damaged",
                         hint="submit the request again")
    return json.loads(vault.decrypt(key_id, token))


def contains_secret(value: Any) -> bool:
    """Whether any mapping inside ``value`` has a secret key."""
    if isinstance(value, Mapping):
        return any(is_secret_key(k) or contains_secret(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(contains_secret(v) for v in value)
    return False


def secret_values(value: Any) -> set[str]:
    """The clear secret values inside ``value``, as text and as JSON text.

    A script's output or message may echo what it was given; :func:`scrub`
    removes these from it before it is kept anywhere.
    """
    found: set[str] = set()

    def collect(item: Any) -> None:
        if isinstance(item, Mapping):
            for _, inner in item.items():
                collect(inner)
        elif isinstance(item, (list, tuple)):
            for inner in item:
                collect(inner)
        elif item is not None and not isinstance(item, bool):
            found.add(str(item))
            found.add(json.dumps(item)[1:-1] if isinstance(item, str) else str(item))

    def walk(item: Any) -> None:
        if isinstance(item, Mapping):
            for key, inner in item.items():
                if is_secret_key(key):
                    collect(inner)
                else:
                    walk(inner)
        elif isinstance(item, (list, tuple)):
            for inner in item:
                walk(inner)

    walk(value)
    return {text for text in found if len(text) >= 3}


def scrub(text: str, values: set[str]) -> str:
    """``text`` with every one of ``values`` replaced by ``***`` (longest first)."""
    for value in sorted(values, key=len, reverse=True):
        text = text.replace(value, MASK)
    return text
