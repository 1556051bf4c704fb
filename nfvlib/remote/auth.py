"""A keystoneauth1 session for remote mode from the usual ``OS_*`` variables."""

from __future__ import annotations

from typing import Any, Mapping

from nfvlib.exceptions import InvalidInput


def session_from_env(env: Mapping[str, str]) -> Any:
    """Build a password (or token) session from ``OS_AUTH_URL`` and friends."""
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3

    auth_url = env.get("OS_AUTH_URL")
    if not auth_url:
        raise InvalidInput("remote mode needs OS_AUTH_URL and credentials",
                           hint="source your openrc, or use local mode")
    if env.get("OS_TOKEN"):
        auth = v3.Token(auth_url=auth_url, token=env["OS_TOKEN"],
                        project_name=env.get("OS_PROJECT_NAME"),
                        project_domain_name=env.get("OS_PROJECT_DOMAIN_NAME", "Default"))
    else:
        missing = [k for k in ("OS_USERNAME", "OS_PASSWORD", "OS_PROJECT_NAME")
                   if not env.get(k)]
        if missing:
            raise InvalidInput(f"remote mode needs {', '.join(missing)}",
                               hint="source your openrc, or use local mode")
        auth = v3.Password(
            auth_url=auth_url, username=env["OS_USERNAME"],
            password=env["OS_PASSWORD"], project_name=env["OS_PROJECT_NAME"],
            user_domain_name=env.get("OS_USER_DOMAIN_NAME", "Default"),
            project_domain_name=env.get("OS_PROJECT_DOMAIN_NAME", "Default"))
    verify: Any = env.get("OS_CACERT") or not env.get("OS_INSECURE")
    return ks_session.Session(auth=auth, verify=verify)
