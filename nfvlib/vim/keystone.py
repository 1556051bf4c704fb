"""Talking to a VIM's Keystone: validate credentials, discover regions and Heat.

Every keystoneauth1 error is translated here, where it enters nfvlib:
a URL that does not answer is :class:`VimUnreachable`, credentials Keystone
refuses (HTTP 401, at any step) are :class:`AuthFailed`, a URL that answers
but is not Keystone v3, or a request Keystone finds too large (HTTP 413), is
:class:`InvalidInput`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from nfvlib.exceptions import AuthFailed, BackendError, InvalidInput, VimUnreachable
from nfvlib.models import VimCredentials

if TYPE_CHECKING:
    from keystoneauth1.access import AccessInfo
    from keystoneauth1.identity.base import BaseIdentityPlugin
    from keystoneauth1.session import Session

#: Seconds to wait for Keystone or Heat to answer one request.
DEFAULT_TIMEOUT = 10.0


@dataclass(frozen=True)
class Discovery:
    """What registration learns from a VIM's Keystone."""

    project_id: str
    regions: tuple[str, ...]
    orchestration_endpoints: dict[str, str] = field(default_factory=dict)


def build_session(creds: VimCredentials, timeout: float = DEFAULT_TIMEOUT) -> Session:
    """A keystoneauth1 session authenticating with project-scoped password auth."""
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3

    if creds.password is None:
        raise InvalidInput("no password to authenticate with",
                           hint="give the password in the config file")
    auth = v3.Password(
        auth_url=creds.auth_url, username=creds.username, password=creds.password,
        project_name=creds.project_name,
        project_domain_name=creds.project_domain_name,
        user_domain_name=creds.user_domain_name)
    return ks_session.Session(auth=auth, verify=creds.cert_verify, timeout=timeout)


def discover(creds: VimCredentials,
             timeout: float = DEFAULT_TIMEOUT) -> tuple[Discovery, Any]:
    """Validate ``creds`` against the VIM's Keystone and read its regions.

    Steps: reach ``auth_url`` unauthenticated; project-scoped password auth;
    ``GET /v3/regions``; the catalog's orchestration endpoint per region.
    Returns the discovery and the authenticated session.
    """
    session = build_session(creds, timeout)
    _check_keystone_answers(session, creds.auth_url)
    access = _authenticate(session, creds)
    regions = _list_regions(session, creds.auth_url)
    endpoints = orchestration_endpoints(access)
    # A region known only from the catalog still counts.
    all_regions = tuple(dict.fromkeys([*regions, *sorted(endpoints)]))
    return Discovery(project_id=access.project_id or "", regions=all_regions,
                     orchestration_endpoints=endpoints), session


def orchestration_endpoints(access: Any) -> dict[str, str]:
    """Public Heat URL per region from a token's service catalog."""
    found = access.service_catalog.get_endpoints(
        service_type="orchestration", interface="public")
    return {ep.get("region_id") or ep.get("region") or "": ep["url"]
            for ep in found.get("orchestration", [])}


def probe_heat(session: Any, endpoints: dict[str, str]) -> dict[str, str]:
    """GET each region's Heat stack list; return region -> problem for failures."""
    from keystoneauth1 import exceptions as ks_exc

    problems: dict[str, str] = {}
    for region, url in sorted(endpoints.items()):
        try:
            resp = session.get(url.rstrip("/") + "/stacks", params={"limit": 1},
                               raise_exc=False)
        except ks_exc.ConnectionError as exc:
            problems[region] = f"Heat at {url} did not answer ({_reason(exc)})"
            continue
        if resp.status_code != 200:
            problems[region] = f"Heat at {url} answered HTTP {resp.status_code}"
    return problems


def authenticate(creds: VimCredentials,
                 timeout: float = DEFAULT_TIMEOUT) -> tuple[Session, AccessInfo]:
    """Authenticate; return ``(session, access)`` or raise a translated error."""
    session = build_session(creds, timeout)
    return session, _authenticate(session, creds)


# -- steps -----------------------------------------------------------------
def _check_keystone_answers(session: Any, auth_url: str) -> None:
    from keystoneauth1 import exceptions as ks_exc

    try:
        resp = session.get(auth_url, authenticated=False, raise_exc=False)
    except ks_exc.SSLError as exc:
        raise VimUnreachable(
            f"TLS verification of {auth_url} failed ({_reason(exc)})",
            hint="install the site's CA certificate, or set 'cert_verify: False'"
        ) from exc
    except ks_exc.ConnectionError as exc:
        raise VimUnreachable(
            f"Keystone at {auth_url} did not answer ({_reason(exc)})",
            hint="check auth_url and that the VIM is up") from exc
    try:
        body = resp.json()
    except ValueError:
        body = None
    if resp.status_code >= 400 or not isinstance(body, dict) or "version" not in body:
        raise InvalidInput(
            f"{auth_url} answered HTTP {resp.status_code} but is not a Keystone v3 "
            "endpoint",
            hint="set auth_url to the Keystone URL, e.g. http://HOST:5000/v3")


def _authenticate(session: Session, creds: VimCredentials) -> AccessInfo:
    from keystoneauth1 import exceptions as ks_exc

    # build_session gives every session a password (identity) plugin.
    auth = cast("BaseIdentityPlugin", session.auth)
    try:
        return auth.get_access(session)
    except ks_exc.Unauthorized as exc:
        raise AuthFailed(
            f"Keystone at {creds.auth_url} refused user {creds.username!r} "
            f"(domain {creds.user_domain_name!r}) for project "
            f"{creds.project_name!r} (domain {creds.project_domain_name!r})",
            hint="check username, password, project_name and the domain names, "
                 "and that the user has a role on the project") from exc
    except ks_exc.ConnectionError as exc:
        raise VimUnreachable(
            f"Keystone at {creds.auth_url} did not answer ({_reason(exc)})",
            hint="check auth_url and that the VIM is up") from exc
    except ks_exc.RequestEntityTooLarge as exc:
        raise _too_large(creds.auth_url) from exc
    except ks_exc.HttpError as exc:
        raise BackendError(
            f"Keystone at {creds.auth_url} failed to authenticate: HTTP "
            f"{exc.http_status} {_clip(exc.message)}") from exc
    except ks_exc.ClientException as exc:  # e.g. a token without a catalog
        raise BackendError(f"Keystone at {creds.auth_url} failed to authenticate: "
                           f"{_clip(str(exc))}") from exc


def _list_regions(session: Any, auth_url: str) -> list[str]:
    from keystoneauth1 import exceptions as ks_exc

    try:
        resp = session.get(auth_url.rstrip("/") + "/regions")
    except ks_exc.ConnectionError as exc:
        raise VimUnreachable(f"Keystone at {auth_url} did not answer "
                             f"({_reason(exc)})") from exc
    except ks_exc.Unauthorized as exc:
        raise AuthFailed(f"Keystone at {auth_url} refused the new token when listing "
                         "regions (HTTP 401)",
                         hint="check the credentials and that the user has a role "
                              "on the project") from exc
    except ks_exc.RequestEntityTooLarge as exc:
        raise _too_large(auth_url) from exc
    except ks_exc.HttpError as exc:
        raise BackendError(f"Keystone at {auth_url} refused to list regions: HTTP "
                           f"{exc.http_status}") from exc
    try:
        return [str(r["id"]) for r in resp.json().get("regions", [])]
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise BackendError(f"Keystone at {auth_url} answered the region list with "
                           "something that is not one") from exc


def _too_large(auth_url: str) -> InvalidInput:
    return InvalidInput(f"Keystone at {auth_url} refused the request as too large "
                        "(HTTP 413)",
                        hint="check the lengths of username, password, project "
                             "and domain names in the config file")


def _clip(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def _reason(exc: Exception) -> str:
    """A short cause for a connection error, without URLs repeated or stack dumps."""
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known",
                   "timed out", "No route to host", "certificate verify failed"):
        if marker in text:
            return marker
    return text.splitlines()[0][:120] if text else type(exc).__name__
