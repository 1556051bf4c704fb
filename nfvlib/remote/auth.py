"""A keystoneauth1 session for remote mode from ``OS_CLOUD`` or ``OS_*`` variables.

As with OpenStackClient: ``OS_CLOUD`` names a cloud in ``clouds.yaml``
(``OS_CLIENT_CONFIG_FILE``, ``./clouds.yaml``, ``~/.config/openstack/...``),
read by openstacksdk's :mod:`openstack.config`, which osc-lib depends on;
otherwise ``OS_AUTH_URL`` with a password or ``OS_TOKEN``. ``OS_INSECURE``
and ``OS_CACERT`` override TLS verification in both cases, and every request
of the session is bounded by ``OS_NFV_TIMEOUT`` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from nfvlib.config import env_bool, env_timeout
from nfvlib.exceptions import InvalidInput


@dataclass(frozen=True)
class RemoteSettings:
    """Where and how remote mode talks to the cloud."""

    #: an authenticated keystoneauth1 session (its ``timeout`` set)
    session: Any
    #: the region whose Tacker endpoint the catalog lookup picks
    region_name: str | None = None
    interface: str = "public"
    #: a Tacker URL used instead of the catalog (``OS_TACKER_URL``)
    endpoint_override: str | None = None
    #: seconds each request may take to connect, and then to answer
    timeout: float | None = None


def settings_from_env(env: Mapping[str, str], *,
                      timeout: float | None = None) -> RemoteSettings:
    """Remote settings from ``OS_CLOUD`` (clouds.yaml), else ``OS_AUTH_URL`` and friends.

    ``timeout`` (else ``OS_NFV_TIMEOUT``, else 60 s) bounds every request.
    """
    seconds = timeout if timeout is not None else env_timeout(env)
    verify = _verify_override(env)
    if env.get("OS_CLOUD"):
        session, region, interface = _cloud_session(env, env["OS_CLOUD"], verify,
                                                    seconds)
    else:
        session = _env_session(env, True if verify is None else verify, seconds)
        region = env.get("OS_REGION_NAME") or None
        interface = env.get("OS_INTERFACE") or "public"
    return RemoteSettings(session=session, region_name=region, interface=interface,
                          endpoint_override=env.get("OS_TACKER_URL") or None,
                          timeout=seconds)


def session_from_env(env: Mapping[str, str], *, timeout: float | None = None) -> Any:
    """The session of :func:`settings_from_env`."""
    return settings_from_env(env, timeout=timeout).session


def _verify_override(env: Mapping[str, str]) -> bool | str | None:
    """``verify`` for requests from OS_INSECURE / OS_CACERT; None: not set."""
    if env.get("OS_INSECURE", "").strip():
        if env_bool(env, "OS_INSECURE"):
            return False
    elif not env.get("OS_CACERT"):
        return None
    return env.get("OS_CACERT") or True


def _env_session(env: Mapping[str, str], verify: bool | str, timeout: float) -> Any:
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3

    auth_url = env.get("OS_AUTH_URL")
    if not auth_url:
        raise InvalidInput("remote mode needs OS_CLOUD, or OS_AUTH_URL and credentials",
                           hint="source your openrc or set OS_CLOUD, or use local mode")
    auth: v3.Token | v3.Password
    if env.get("OS_TOKEN"):
        auth = v3.Token(auth_url=auth_url, token=env["OS_TOKEN"],
                        project_name=env.get("OS_PROJECT_NAME"),
                        project_domain_name=env.get("OS_PROJECT_DOMAIN_NAME", "Default"))
    else:
        missing = [k for k in ("OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME")
                   if not env.get(k)]
        if missing:
            raise InvalidInput(f"remote mode needs {', '.join(missing)}",
                               hint="source your openrc or set OS_CLOUD, or use "
                                    "local mode")
        auth = v3.Password(
            auth_url=auth_url, username=env["OS_USERNAME"],
            password=env["OS_PASSWORD"], project_name=env["OS_PROJECT_NAME"],
            user_domain_name=env.get("OS_USER_DOMAIN_NAME", "Default"),
            project_domain_name=env.get("OS_PROJECT_DOMAIN_NAME", "Default"))
    return ks_session.Session(auth=auth, verify=verify, timeout=timeout)


def _cloud_session(env: Mapping[str, str], cloud: str, verify: bool | str | None,
                   timeout: float) -> tuple[Any, str | None, str]:
    """A session, region and interface for a clouds.yaml cloud, as OSC builds them."""
    from keystoneauth1 import exceptions as ks_exc
    from openstack import exceptions as sdk_exc
    from openstack.config import OpenStackConfig

    overrides: dict[str, Any] = {}
    if env.get("OS_REGION_NAME"):
        overrides["region_name"] = env["OS_REGION_NAME"]
    if verify is False:
        overrides["insecure"] = True
    elif isinstance(verify, str):
        overrides.update(verify=True, cacert=verify)
    files = [env["OS_CLIENT_CONFIG_FILE"]] if env.get("OS_CLIENT_CONFIG_FILE") else None
    try:
        region = OpenStackConfig(config_files=files).get_one(cloud=cloud, **overrides)
        session = region.get_session()
    except (sdk_exc.ConfigException, ks_exc.ClientException) as exc:
        message = " ".join(str(exc).split())
        raise InvalidInput(f"cannot use cloud {cloud!r} (OS_CLOUD): {message}",
                           hint="check its entry in clouds.yaml (OS_CLIENT_CONFIG_FILE)"
                           ) from exc
    if session.timeout is None:  # clouds.yaml's api_timeout wins for Keystone
        session.timeout = timeout
    # clouds.yaml may list interfaces in preference order: keystoneauth's
    # Adapter takes such a list as it takes one name, which is what
    # RemoteSettings.interface (and Client, which passes it on) declare.
    return (session, region.get_region_name() or None,  # type: ignore[return-value]
            region.get_interface() or "public")
