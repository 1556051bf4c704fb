"""Where nfvlib keeps its files, read from the environment in one place.

=====================  ===========================  ==================================
what                   environment variable         default
=====================  ===========================  ==================================
store (SQLite file)    ``NFV_STORE``                ``$XDG_DATA_HOME/nfvkit/nfv.sqlite``
vault key directory    ``NFV_KEY_DIR``              ``$XDG_CONFIG_HOME/nfvkit/keys``
cache (virtualenvs)    ``NFV_CACHE_DIR``            ``$XDG_CACHE_HOME/nfvkit``
data directory         ``NFV_DATA_DIR``             ``$XDG_DATA_HOME/nfvkit``
=====================  ===========================  ==================================

``NFV_DATA_DIR`` (or ``data_dir=``) moves the store, the sandbox state and the
vault keys (to ``<data dir>/keys``) together, so two data directories never
share anything; ``NFV_STORE`` and ``NFV_KEY_DIR`` override single paths.

``NFV_ON_FAILURE`` is the escalation policy of local-mode operation requests
that do not give one (``--on-failure``), e.g. ``retry:2,rollback,fallback``
(:func:`default_on_failure`; :mod:`nfvlib.lcm.policy`). Unset: none, a failed
operation stays FAILED_TEMP.

Remote mode reads the usual ``OS_*`` variables (:mod:`nfvlib.remote.auth`);
its booleans (``OS_INSECURE``) go through :func:`env_bool` and its request
timeout (``OS_NFV_TIMEOUT``, seconds, default :data:`DEFAULT_REMOTE_TIMEOUT`)
through :func:`env_timeout`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from nfvlib.exceptions import InvalidInput

#: Seconds a remote request may take to connect, and then to answer.
DEFAULT_REMOTE_TIMEOUT = 60.0
_TRUE = frozenset(("true", "yes", "1", "on"))
_FALSE = frozenset(("false", "no", "0", "off"))


def parse_bool(value: str | bool, name: str) -> bool:
    """``true/yes/1/on`` or ``false/no/0/off`` (any case); else :class:`InvalidInput`."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidInput(f"{name}={value!r} is not a boolean",
                       hint="use true/false, yes/no, 1/0 or on/off")


def env_bool(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    """A boolean environment variable; unset or empty is ``default``."""
    value = env.get(name)
    return default if value is None or not value.strip() else parse_bool(value, name)


def parse_timeout(value: str | float, name: str = "timeout") -> float:
    """A positive number of seconds; else :class:`InvalidInput`."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise InvalidInput(f"{name}={value!r} is not a positive number of seconds",
                           hint=f"e.g. {name}={DEFAULT_REMOTE_TIMEOUT:g}")
    return seconds


def env_timeout(env: Mapping[str, str], name: str = "OS_NFV_TIMEOUT",
                default: float = DEFAULT_REMOTE_TIMEOUT) -> float:
    """A timeout in seconds from the environment; unset or empty is ``default``."""
    value = env.get(name)
    return default if value is None or not value.strip() else parse_timeout(value, name)


def environment(env: Mapping[str, str] | None = None) -> Mapping[str, str]:
    """``env``, or the process environment when None: nfvlib's one read of it."""
    return os.environ if env is None else env


def nfv_mode(env: Mapping[str, str] | None = None, default: str = "local") -> str:
    """The mode named by ``OS_NFV_MODE`` (``local`` or ``remote``), else ``default``."""
    return environment(env).get("OS_NFV_MODE") or default


def tacker_api_version(env: Mapping[str, str] | None = None) -> str:
    """Tacker's VNF LCM API major version (``OS_TACKER_API_VERSION``), default ``"2"``."""
    return environment(env).get("OS_TACKER_API_VERSION") or "2"


def nfv_api_version(env: Mapping[str, str] | None = None, default: str = "1") -> str:
    """The OpenStackClient plugin's API version (``OS_NFV_API_VERSION``)."""
    return environment(env).get("OS_NFV_API_VERSION", default)


def tenant_id(env: Mapping[str, str] | None = None) -> str:
    """The tenant recorded on new VIMs in local mode (``NFV_TENANT_ID``, else ``local``)."""
    return environment(env).get("NFV_TENANT_ID") or "local"


def heat_stall_seconds(default: float, env: Mapping[str, str] | None = None) -> float:
    """The stall limit of a stack wait (``NFV_HEAT_STALL_SECONDS``), else ``default``."""
    return env_timeout(environment(env), "NFV_HEAT_STALL_SECONDS", default)


#: The environment variable holding the default escalation policy.
ON_FAILURE_ENV = "NFV_ON_FAILURE"


def default_on_failure(env: Mapping[str, str] | None = None) -> str | None:
    """The default escalation policy text (``NFV_ON_FAILURE``), None when unset."""
    value = environment(env).get(ON_FAILURE_ENV)
    return value if value and value.strip() else None


def _xdg(env: Mapping[str, str], var: str, fallback: str) -> Path:
    value = env.get(var)
    if value and os.path.isabs(value):
        return Path(value)
    return Path(env.get("HOME") or os.path.expanduser("~")) / fallback


@dataclass(frozen=True)
class Paths:
    """The files and directories nfvlib uses."""

    data_dir: Path
    store_file: Path
    key_dir: Path
    cache_dir: Path

    @property
    def sandbox_dir(self) -> Path:
        """Where sandbox services keep their state, logs and pid files."""
        return self.data_dir / "sandbox"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *,
                 data_dir: str | os.PathLike[str] | None = None,
                 store_file: str | os.PathLike[str] | None = None,
                 key_dir: str | os.PathLike[str] | None = None) -> Paths:
        """Resolve paths from explicit arguments, then the environment, then XDG."""
        env = environment(env)
        explicit_data = data_dir or env.get("NFV_DATA_DIR")
        data = Path(explicit_data
                    or _xdg(env, "XDG_DATA_HOME", ".local/share") / "nfvkit")
        store = Path(store_file or env.get("NFV_STORE") or data / "nfv.sqlite")
        default_keys = (data / "keys" if explicit_data
                        else _xdg(env, "XDG_CONFIG_HOME", ".config") / "nfvkit" / "keys")
        keys = Path(key_dir or env.get("NFV_KEY_DIR") or default_keys)
        cache = Path(env.get("NFV_CACHE_DIR")
                     or _xdg(env, "XDG_CACHE_HOME", ".cache") / "nfvkit")
        return cls(data_dir=data.expanduser(), store_file=store.expanduser(),
                   key_dir=keys.expanduser(), cache_dir=cache.expanduser())
