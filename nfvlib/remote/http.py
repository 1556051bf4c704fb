"""The Tacker REST transport: a keystoneauth1 adapter and error mapping."""

from __future__ import annotations

from typing import Any, Mapping

from nfvlib.config import DEFAULT_REMOTE_TIMEOUT
from nfvlib.exceptions import (AuthFailed, BackendError, Conflict, InvalidInput,
                               NfvError, NotFound, Unreachable, VimUnreachable)

SERVICE_TYPE = "nfv-orchestration"
#: Seconds a request may take to connect, and then to answer.
DEFAULT_TIMEOUT = DEFAULT_REMOTE_TIMEOUT


class TackerApi:
    """JSON calls to a Tacker server, errors translated to nfvlib's tree."""

    def __init__(self, session: Any, *, endpoint_override: str | None = None,
                 region_name: str | None = None, interface: str = "public",
                 timeout: float | None = DEFAULT_TIMEOUT) -> None:
        """``timeout``: seconds each request may take to connect, and then to
        answer (None: the session's own timeout, if any)."""
        from keystoneauth1 import adapter

        self._adapter = adapter.Adapter(
            session, service_type=SERVICE_TYPE, region_name=region_name,
            interface=interface, endpoint_override=endpoint_override)
        self.timeout = timeout

    def call(self, method: str, url: str, *, json: Any = None,
             not_found: type[NotFound] = NotFound) -> Any:
        """Send one request; return the decoded JSON body (None when empty)."""
        resp = self.send(method, url, json=json, not_found=not_found)
        return resp.json() if resp.content else None

    def send(self, method: str, url: str, *, json: Any = None, data: bytes | None = None,
             headers: Mapping[str, str] | None = None,
             params: Mapping[str, str] | None = None,
             not_found: type[NotFound] = NotFound) -> Any:
        """Send one request (JSON or raw ``data``); return the response object.

        Use it where the caller needs response headers (``Location``,
        ``Link``), request headers (``Version``) or a non-JSON body.
        """
        from keystoneauth1 import exceptions as ks_exc

        extra: dict[str, Any] = {}
        if data is not None:
            extra["data"] = data
        if headers:
            extra["headers"] = dict(headers)
        if params:
            extra["params"] = dict(params)
        if self.timeout is not None:
            extra["timeout"] = self.timeout
        try:
            resp = self._adapter.request(url, method, json=json, raise_exc=False, **extra)
        except ks_exc.EndpointNotFound as exc:
            raise Unreachable("no Tacker endpoint (nfv-orchestration) in the catalog",
                              hint="check OS_AUTH_URL and the region, or use "
                                   "--os-nfv-mode local") from exc
        except ks_exc.Unauthorized as exc:
            raise AuthFailed(f"Keystone refused the credentials: {exc.message}",
                             hint="check the OS_* variables or clouds.yaml") from exc
        except ks_exc.ConnectTimeout as exc:
            # The message names the URL: Tacker's, or Keystone's while authenticating.
            limit = f" within {self.timeout:g} s" if self.timeout is not None else ""
            raise Unreachable(f"the server did not answer{limit}: "
                              f"{' '.join(str(exc.message).split())}",
                              hint="check that the server is up, or raise "
                                   "OS_NFV_TIMEOUT") from exc
        except ks_exc.ConnectionError as exc:
            raise Unreachable(f"the Tacker server did not answer: {exc}",
                              hint="check the endpoint and that the server is up"
                              ) from exc
        if resp.status_code < 400:
            return resp
        raise error_from_response(resp, not_found=not_found)


#: Tacker's ``TackerError.type`` -> the error local mode raises for the same
#: cause. Tacker answers most of these with HTTP 500, so the type decides.
_TACKER_TYPES: dict[str, type[NfvError]] = {
    "VimDefaultDuplicateException": Conflict,
    "DuplicateEntity": Conflict,
    "VimInUseException": Conflict,
    "VimUnauthorizedException": AuthFailed,
    "VimConnectionException": VimUnreachable,
    "VimRegionNotFoundException": InvalidInput,
    "VimKeyNotFoundException": BackendError,
}


def error_from_response(resp: Any, *, not_found: type[NotFound] = NotFound) -> NfvError:
    """The one mapping of a Tacker error answer to nfvlib's exception tree.

    Decided by ``TackerError.type`` first (Tacker's VIM errors are HTTP 500
    with a typed body), then by the HTTP status (ProblemDetails' ``status``
    when the body has one). ``not_found`` is the NotFound subclass of the
    resource asked for.
    """
    message = _error_message(resp)
    kind = _tacker_error_type(resp)
    if kind is not None:
        if kind in _TACKER_TYPES:
            return _TACKER_TYPES[kind](message)
        if kind.endswith(("NotFound", "NotFoundException")):
            return not_found(message)
        if kind.endswith(("InUse", "InUseException")):
            return Conflict(message)
    status = resp.status_code
    if status == 404:
        return not_found(message)
    if status == 409:
        return Conflict(message)
    if status in (400, 422):
        return InvalidInput(message)
    if status in (401, 403):
        return AuthFailed(message)
    return BackendError(f"Tacker answered HTTP {status}: {message}")


def _json_body(resp: Any) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def _tacker_error_type(resp: Any) -> str | None:
    body = _json_body(resp)
    if isinstance(body, dict) and isinstance(body.get("TackerError"), dict):
        kind = body["TackerError"].get("type")
        return str(kind) if kind else None
    return None


def _one_line(text: str, limit: int = 200) -> str:
    """Text (HTML tags removed) on one line, at most ``limit`` characters."""
    import re

    plain = re.sub(r"<[^>]*>", " ", text)
    line = " ".join(plain.split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


def _error_message(resp: Any) -> str:
    body = _json_body(resp)
    if body is None:
        return _one_line(resp.text or "") or f"HTTP {resp.status_code}"
    if isinstance(body, dict):
        for key in ("TackerError", "NeutronError"):
            if isinstance(body.get(key), dict):
                return str(body[key].get("message") or body[key])
        if "detail" in body:  # SOL013 ProblemDetails
            return _one_line(str(body["detail"]), 400)
        if "message" in body:
            return str(body["message"])
        if len(body) == 1:  # {"itemNotFound": {"message": ..., "code": 404}}
            (fault,) = body.values()
            if isinstance(fault, dict) and "message" in fault:
                return str(fault["message"])
    return str(body)[:200]
