"""The Tacker REST transport: a keystoneauth1 adapter and error mapping."""

from __future__ import annotations

from typing import Any, Mapping

from nfvlib.config import DEFAULT_REMOTE_TIMEOUT
from nfvlib.exceptions import (AuthFailed, BackendError, Conflict, InvalidInput,
                               NotFound, Unreachable)

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
        message = _error_message(resp)
        status = resp.status_code
        if status == 404:
            raise not_found(message)
        if status == 409:
            raise Conflict(message)
        if status in (400, 422):
            raise InvalidInput(message)
        if status in (401, 403):
            raise AuthFailed(message)
        raise BackendError(f"Tacker answered HTTP {status}: {message}")


def _error_message(resp: Any) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip()[:200] or f"HTTP {resp.status_code}"
    if isinstance(body, dict):
        for key in ("TackerError", "NeutronError"):
            if isinstance(body.get(key), dict):
                return str(body[key].get("message") or body[key])
        if "detail" in body:  # SOL013 ProblemDetails
            return str(body["detail"])
        if "message" in body:
            return str(body["message"])
        if len(body) == 1:  # {"itemNotFound": {"message": ..., "code": 404}}
            (fault,) = body.values()
            if isinstance(fault, dict) and "message" in fault:
                return str(fault["message"])
    return str(body)[:200]
