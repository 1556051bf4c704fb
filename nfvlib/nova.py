"""A thin Nova (compute v2.1) driver: start, stop and reboot servers, and wait.

``POST /servers/{id}/action`` with ``{"os-start": null}``, ``{"os-stop":
null}`` or ``{"reboot": {"type": "SOFT" | "HARD"}}`` answers 202; Nova
answers 409 when the server is in a state that does not allow the action
(e.g. starting an ACTIVE server). Waits poll ``GET /servers/{id}`` until
its ``status`` is the wanted one (ACTIVE, SHUTOFF); ERROR or an unknown
status fails at once.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Mapping, cast

from nfvlib.exceptions import (Conflict, NovaError, ServerNotFound, VimUnreachable,
                               WaitTimeout)

POLL_FIRST = 0.2
POLL_CAP = 2.0
#: Statuses a server passes through on its way to ACTIVE or SHUTOFF.
_TRANSIENT = frozenset({"REBOOT", "HARD_REBOOT", "BUILD", "MIGRATING", "RESIZE",
                        "VERIFY_RESIZE", "REVERT_RESIZE", "PASSWORD", "REBUILD"})


class NovaClient:
    """Server actions of one Nova endpoint."""

    def __init__(self, session: Any, *, region_name: str | None = None,
                 endpoint_override: str | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        from keystoneauth1 import adapter

        self._adapter = adapter.Adapter(
            session, service_type="compute", interface="public", region_name=region_name,
            endpoint_override=endpoint_override)
        self.region_name = region_name
        self._sleep = sleep
        self._clock = clock

    def _call(self, method: str, url: str, *, json: Any = None) -> Any:
        from keystoneauth1 import exceptions as ks_exc

        try:
            resp = self._adapter.request(url, method, json=json, raise_exc=False)
        except ks_exc.EndpointNotFound as exc:
            raise VimUnreachable(f"no compute (Nova) endpoint in region {self.region_name}",
                                 hint="check the VIM's catalog") from exc
        except ks_exc.ConnectionError as exc:
            raise VimUnreachable(f"Nova in region {self.region_name} did not answer",
                                 hint="check the VIM with 'nfv vim check'") from exc
        if resp.status_code == 404:
            raise ServerNotFound(f"Nova: {_explain(resp)} ({url})")
        if resp.status_code == 409:
            raise Conflict(f"Nova refused {method} {url}: {_explain(resp)}",
                           hint="see the server's status; use --force to skip the "
                                "graceful stop")
        if resp.status_code >= 400:
            raise NovaError(f"Nova refused {method} {url}: HTTP {resp.status_code} "
                            f"{_explain(resp)}")
        if not resp.content or "json" not in resp.headers.get("Content-Type", ""):
            return None
        return resp.json()

    def get_server(self, server_id: str) -> dict[str, Any]:
        """The server as Nova shows it."""
        return cast(dict[str, Any], self._call("GET", f"/servers/{server_id}")["server"])

    def start(self, server_id: str) -> None:
        """Ask Nova to start a SHUTOFF server."""
        self._call("POST", f"/servers/{server_id}/action", json={"os-start": None})

    def stop(self, server_id: str) -> None:
        """Ask Nova to stop (shut off) an ACTIVE server."""
        self._call("POST", f"/servers/{server_id}/action", json={"os-stop": None})

    def reboot(self, server_id: str, *, hard: bool = False) -> None:
        """Ask Nova to reboot a server (SOFT, or HARD)."""
        self._call("POST", f"/servers/{server_id}/action",
                   json={"reboot": {"type": "HARD" if hard else "SOFT"}})

    def wait_for_status(self, server_id: str, status: str, *, timeout: float = 600,
                        progress: Callable[[Mapping[str, Any]], None] | None = None
                        ) -> dict[str, Any]:
        """Poll until the server's status is ``status``; return the server.

        ERROR, or any status that is neither ``status`` nor on the way to it,
        raises :class:`NovaError`; running past ``timeout`` raises WaitTimeout.
        """
        from nfvlib._wait import Backoff

        backoff = Backoff(first=POLL_FIRST, cap=POLL_CAP, timeout=timeout,
                          clock=self._clock, sleep=self._sleep)
        while True:
            server = self.get_server(server_id)
            now = str(server.get("status", ""))
            if progress is not None:
                progress(server)
            if now == status:
                return server
            if now not in _TRANSIENT and not (status == "SHUTOFF" and now == "ACTIVE") \
                    and not (status == "ACTIVE" and now == "SHUTOFF"):
                fault = (server.get("fault") or {}).get("message") or ""
                raise NovaError(f"server {server_id} is {now}, not {status}"
                                + (f": {fault}" if fault else ""))
            if backoff.expired():
                raise WaitTimeout(f"server {server_id} still {now} after {timeout:.0f} s, "
                                  f"waiting for {status}", last_seen=now, timeout=timeout)
            backoff.pause()


def _explain(resp: Any) -> str:
    try:
        body = resp.json()
    except ValueError:
        text: str = resp.text
        return text.strip()[:200]
    if isinstance(body, dict) and body:
        inner = next(iter(body.values()))
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:300]
    return str(body)[:300]
