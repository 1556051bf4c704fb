"""A thin Heat (orchestration v1) REST driver over a keystoneauth1 session.

Every call goes to the VIM's Heat in the given region, found in the service
catalog exactly as for any OpenStack site. Waiting is bounded, backs off from
fast to capped polls, and treats an unknown status as a failure.
"""

from __future__ import annotations

import time
from typing import (TYPE_CHECKING, Any, Callable, Iterable, Literal, Mapping, Sequence, cast,
                    overload)

# HeatError, StackNotFound and StackStalled are defined in nfvlib.exceptions and
# stay importable from here.
from nfvlib.exceptions import (HeatError, StackExists, StackNotFound, StackStalled,
                               VimUnreachable, WaitTimeout)

if TYPE_CHECKING:
    from nfvlib._wait import Backoff

#: First and largest pause between two polls of a stack, in seconds (each
#: pause 1.5 times the last). Short actions (a failed create, the delete of a
#: small stack) end within a few tenths of a second: the first polls come
#: quickly. A busy Heat answers a GET of a stack in 20-100 ms, so a wait
#: never asks more than about five times a second.
POLL_FIRST = 0.05
POLL_CAP = 0.2


class HeatClient:
    """Stacks, resources and events of one Heat endpoint."""

    def __init__(self, session: Any, *, region_name: str | None = None,
                 endpoint_override: str | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        from keystoneauth1 import adapter

        self._adapter = adapter.Adapter(
            session, service_type="orchestration", interface="public",
            region_name=region_name, endpoint_override=endpoint_override)
        self.region_name = region_name
        self._sleep = sleep
        self._clock = clock
        self._refreshed_at: float | None = None
        #: Number of HTTP requests sent (benchmarks count them).
        self.requests = 0

    # -- transport ------------------------------------------------------------
    def _call(self, method: str, url: str, *, json: Any = None,
              params: Mapping[str, Any] | None = None, ok: Iterable[int] = (),
              key: str | None = None) -> Any:
        """Send one request; the decoded JSON body (its ``key`` member if given).

        An answer without that member is not from a working Heat (a server
        that took over the port, say): :class:`VimUnreachable`, like no
        answer at all. The body is untyped JSON: callers cast it to the shape
        Heat's API reference gives.
        """
        from keystoneauth1 import exceptions as ks_exc

        self.requests += 1
        try:
            resp = self._adapter.request(url, method, json=json, params=params,
                                         raise_exc=False)
        except ks_exc.EndpointNotFound as exc:
            raise VimUnreachable(
                f"no orchestration (Heat) endpoint in region {self.region_name}",
                hint="check the VIM's regions with 'vim show'") from exc
        except ks_exc.ConnectionError as exc:
            self._refresh_catalog()
            raise VimUnreachable(f"Heat in region {self.region_name} did not answer",
                                 hint="check the VIM with 'nfv vim check'") from exc
        if resp.status_code == 404:
            raise StackNotFound(f"Heat: {_explain(resp)} ({url})")
        if resp.status_code == 409 and _error_type(resp) == "StackExists":
            raise StackExists(f"Heat: {_explain(resp)}")
        if resp.status_code >= 400 and resp.status_code not in ok:
            raise HeatError(f"Heat refused {method} {url}: HTTP {resp.status_code} "
                            f"{_explain(resp)}")
        body = None
        if resp.content and "json" in resp.headers.get("Content-Type", ""):
            try:
                body = resp.json()
            except ValueError:
                body = None
        if key is None:
            return body
        if not isinstance(body, dict) or key not in body:
            self._refresh_catalog()
            raise VimUnreachable(
                f"Heat in region {self.region_name} answered {method} {url} with HTTP "
                f"{resp.status_code} but no {key!r}", hint="check the VIM with "
                "'nfv vim check'")
        return body[key]

    def _refresh_catalog(self) -> None:
        """Authenticate afresh at the next request (at most every 5 s).

        The catalog then names Heat where it is now: a restarted Heat may
        listen on another port (the sandbox's does when its port was taken).
        """
        now = self._clock()
        if self._refreshed_at is not None and now - self._refreshed_at < 5:
            return
        self._refreshed_at = now
        try:
            self._adapter.session.invalidate()
        except Exception:  # noqa: BLE001 - a plugin that cannot; the old catalog stays
            pass

    # -- stacks ---------------------------------------------------------------
    def create_stack(self, name: str, template: str, *,
                     parameters: Mapping[str, Any] | None = None,
                     files: Mapping[str, str] | None = None,
                     environment: Mapping[str, Any] | None = None,
                     disable_rollback: bool = True,
                     timeout_mins: int | None = None,
                     tags: Iterable[str] = ()) -> str:
        """Create a stack; return its id. ``template`` is YAML or JSON text.

        A stack of that name raises :class:`StackExists`."""
        body: dict[str, Any] = {
            "stack_name": name, "template": template,
            "parameters": dict(parameters or {}), "files": dict(files or {}),
            "environment": dict(environment or {}),
            "disable_rollback": disable_rollback}
        if timeout_mins:
            body["timeout_mins"] = timeout_mins
        if tags:
            body["tags"] = ",".join(tags)
        return cast(str, self._call("POST", "/stacks", json=body, key="stack")["id"])

    def get_stack(self, name_or_id: str) -> dict[str, Any]:
        """The stack (a name is resolved by Heat's redirect)."""
        return cast(dict[str, Any], self._call("GET", f"/stacks/{name_or_id}", key="stack"))

    def update_stack(self, stack: Mapping[str, Any], *,
                     parameters: Mapping[str, Any] | None = None,
                     environment: Mapping[str, Any] | None = None,
                     files: Mapping[str, str] | None = None,
                     template: str | None = None, patch: bool = True) -> None:
        """Update a stack; PATCH merges parameters and environment."""
        body: dict[str, Any] = {}
        if parameters is not None:
            body["parameters"] = dict(parameters)
        if environment is not None:
            body["environment"] = dict(environment)
        if files is not None:
            body["files"] = dict(files)
        if template is not None:
            body["template"] = template
        elif not patch:
            raise ValueError("a PUT update needs the template")
        self._call("PATCH" if patch else "PUT", _stack_url(stack), json=body)

    def delete_stack(self, stack: Mapping[str, Any]) -> None:
        """Ask Heat to delete a stack (a missing stack is not an error)."""
        try:
            self._call("DELETE", _stack_url(stack))
        except StackNotFound:
            return

    def stack_action(self, stack: Mapping[str, Any], action: str) -> None:
        """suspend, resume, check or cancel_update."""
        self._call("POST", _stack_url(stack) + "/actions", json={action: None})

    def mark_unhealthy(self, stack_name: str, stack_id: str, resource_name: str,
                       reason: str, unhealthy: bool = True) -> None:
        """Mark a resource (un)healthy: Heat replaces or removes it on next update."""
        self._call("PATCH", f"/stacks/{stack_name}/{stack_id}/resources/{resource_name}",
                   json={"mark_unhealthy": unhealthy, "resource_status_reason": reason})

    def wait_until_quiet(self, stack: Mapping[str, Any], *, timeout: float = 120,
                         resources: Sequence[Mapping[str, Any]] | None = None) -> None:
        """Wait until no resource of the stack (nested included) is IN_PROGRESS.

        Needed before updating a stack whose last update failed: Heat's
        convergence engine marks the parent failed while sibling nested stacks
        still run, and an update sent then cancels them. ``resources``, the
        stack's resources just listed (nested_depth 5), spares the first read.
        """
        backoff = self._backoff(timeout)
        while True:
            rows = (resources if resources is not None
                    else self.list_resources(stack, nested_depth=5))
            resources = None
            busy = [r for r in rows
                    if str(r.get("resource_status", "")).endswith("_IN_PROGRESS")]
            if not busy:
                return
            if backoff.expired():
                raise WaitTimeout(f"stack {stack.get('stack_name')} still has "
                                  f"{len(busy)} resource(s) in progress after "
                                  f"{timeout:.0f} s", timeout=timeout)
            backoff.pause()

    def list_stacks(self) -> list[dict[str, Any]]:
        """Every stack Heat shows this project."""
        return cast(list[dict[str, Any]], self._call("GET", "/stacks", key="stacks"))

    def list_resources(self, stack: Mapping[str, Any],
                       nested_depth: int = 0) -> list[dict[str, Any]]:
        """The stack's resources, nested ones to ``nested_depth``."""
        params = {"nested_depth": nested_depth} if nested_depth else None
        return cast(list[dict[str, Any]],
                    self._call("GET", _stack_url(stack) + "/resources",
                               params=params, key="resources"))

    def list_events(self, stack: Mapping[str, Any], *, nested_depth: int = 0,
                    limit: int | None = None) -> list[dict[str, Any]]:
        """The stack's events, oldest first."""
        params: dict[str, Any] = {"sort_dir": "asc"}
        if nested_depth:
            params["nested_depth"] = nested_depth
        if limit:
            params["limit"] = limit
        return cast(list[dict[str, Any]],
                    self._call("GET", _stack_url(stack) + "/events", params=params,
                               key="events"))

    # -- templates and snapshots ------------------------------------------------
    def get_template(self, stack: Mapping[str, Any]) -> dict[str, Any]:
        """The template the stack runs now, as Heat holds it (a mapping)."""
        return cast(dict[str, Any], self._call("GET", _stack_url(stack) + "/template"))

    def validate_template(self, template: str | Mapping[str, Any], *,
                          files: Mapping[str, str] | None = None,
                          environment: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Heat's template-validate API (``POST /validate``); return its answer.

        A template Heat refuses raises :class:`HeatError` with Heat's reason.
        """
        body: dict[str, Any] = {"template": template, "files": dict(files or {}),
                                "environment": dict(environment or {})}
        try:
            return cast(dict[str, Any], self._call("POST", "/validate", json=body) or {})
        except HeatError as exc:
            raise HeatError(f"Heat refused the template: {exc.message}",
                            reason=exc.message) from exc

    def create_snapshot(self, stack: Mapping[str, Any], name: str) -> dict[str, Any]:
        """Ask Heat for a snapshot of the stack; return it (IN_PROGRESS at first)."""
        return cast(dict[str, Any], self._call("POST", _stack_url(stack) + "/snapshots",
                                               json={"name": name}))

    def get_snapshot(self, stack: Mapping[str, Any], snapshot_id: str) -> dict[str, Any]:
        """One snapshot of the stack (StackNotFound when it or the stack is gone)."""
        return cast(dict[str, Any],
                    self._call("GET", f"{_stack_url(stack)}/snapshots/{snapshot_id}"
                               )["snapshot"])

    def list_snapshots(self, stack: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The stack's snapshots."""
        return cast(list[dict[str, Any]],
                    self._call("GET", _stack_url(stack) + "/snapshots")["snapshots"])

    def delete_snapshot(self, stack: Mapping[str, Any], snapshot_id: str, *,
                        timeout: float = 120) -> None:
        """Delete a snapshot and wait until Heat no longer lists it.

        Heat deletes asynchronously (the snapshot shows DELETE IN_PROGRESS);
        one that is already gone is not an error.
        """
        url = f"{_stack_url(stack)}/snapshots/{snapshot_id}"
        try:
            self._call("DELETE", url)
        except StackNotFound:
            return
        backoff = self._backoff(timeout)
        while True:
            try:
                snap = self.get_snapshot(stack, snapshot_id)
            except StackNotFound:
                return
            if snap.get("status") == "FAILED" and snap.get("action") == "DELETE":
                raise HeatError(f"Heat could not delete snapshot {snapshot_id}: "
                                f"{snap.get('status_reason') or ''}")
            if backoff.expired():
                raise WaitTimeout(f"snapshot {snapshot_id} still there after "
                                  f"{timeout:.0f} s", last_seen=snap.get("status"),
                                  timeout=timeout)
            backoff.pause()

    def restore_snapshot(self, stack: Mapping[str, Any], snapshot_id: str) -> None:
        """Restore the stack to a snapshot (then wait for RESTORE)."""
        self._call("POST", f"{_stack_url(stack)}/snapshots/{snapshot_id}/restore")

    def wait_for_snapshot(self, stack: Mapping[str, Any], snapshot_id: str, *,
                          timeout: float = 600) -> dict[str, Any]:
        """Poll until the snapshot is COMPLETE; FAILED (or another status) raises."""
        backoff = self._backoff(timeout)
        while True:
            snap = self.get_snapshot(stack, snapshot_id)
            status = snap.get("status")
            if status == "COMPLETE":
                return snap
            if status != "IN_PROGRESS":
                reason = snap.get("status_reason") or ""
                raise HeatError(f"snapshot {snapshot_id} of stack {stack.get('stack_name')}"
                                f" is {status}: {reason}", reason=reason)
            if backoff.expired():
                raise WaitTimeout(f"snapshot {snapshot_id} still {status} after "
                                  f"{timeout:.0f} s", last_seen=status, timeout=timeout)
            backoff.pause()

    # -- waiting --------------------------------------------------------------
    @overload
    def wait_for_stack(self, name_or_id: str, action: str, *, timeout: float = 600,
                       progress: Callable[[dict[str, Any]], None] | None = None,
                       missing_ok: Literal[False] = False,
                       stall: float | None = None) -> dict[str, Any]: ...

    @overload
    def wait_for_stack(self, name_or_id: str, action: str, *, timeout: float = 600,
                       progress: Callable[[dict[str, Any]], None] | None = None,
                       missing_ok: bool,
                       stall: float | None = None) -> dict[str, Any] | None: ...

    def wait_for_stack(self, name_or_id: str, action: str, *, timeout: float = 600,
                       progress: Callable[[dict[str, Any]], None] | None = None,
                       missing_ok: bool = False,
                       stall: float | None = None) -> dict[str, Any] | None:
        """Poll until the stack's ``action`` completes; return the stack.

        ``action`` is CREATE, UPDATE, DELETE, SUSPEND, RESUME, CHECK, ROLLBACK
        or RESTORE. ``X_FAILED`` raises :class:`HeatError` carrying Heat's
        reason; any status other than ``X_IN_PROGRESS``/``X_COMPLETE`` is a
        failure too. With ``missing_ok`` (deletes), a vanished stack counts as
        done and None is returned.

        ``stall`` (seconds) bounds how long the stack may show no progress:
        no new event (nested stacks included), no resource status change,
        or no answer from Heat at all (it may be restarting). After that,
        :class:`StackStalled` is raised. Without ``stall``, Heat not
        answering raises at once.
        """
        backoff = self._backoff(timeout)
        watch = _Progress(self, stall) if stall else None
        stack: dict[str, Any] | None = None
        while True:
            try:
                stack = self.get_stack(name_or_id)
            except StackNotFound:
                if missing_ok:
                    return None
                raise
            except VimUnreachable as exc:
                if watch is None:
                    raise
                watch.silent(stack, name_or_id, action, exc)
                if progress is not None and stack is not None:
                    progress(stack)
                backoff.pause()
                continue
            status = stack.get("stack_status", "")
            if progress is not None:
                progress(stack)
            if status == f"{action}_COMPLETE":
                return stack
            if status != f"{action}_IN_PROGRESS":
                reason = stack.get("stack_status_reason") or ""
                raise HeatError(
                    f"stack {stack.get('stack_name')} is {status}: {reason}",
                    stack_status=status, reason=reason, stack=stack)
            if backoff.expired():
                raise WaitTimeout(
                    f"stack {stack.get('stack_name')} still {status} after "
                    f"{timeout:.0f} s", last_seen=status, timeout=timeout)
            if watch is not None:
                try:
                    watch.check(stack)
                except VimUnreachable as exc:
                    watch.silent(stack, name_or_id, action, exc)
            backoff.pause()

    def latest_event(self, stack: Mapping[str, Any], *,
                     nested_depth: int = 5) -> dict[str, Any] | None:
        """The stack's newest event (nested stacks included), or None."""
        events = self._call("GET", _stack_url(stack) + "/events", params={
            "sort_dir": "desc", "limit": 1, "nested_depth": nested_depth}, key="events")
        return events[0] if events else None

    def _backoff(self, timeout: float) -> Backoff:
        from nfvlib._wait import Backoff

        return Backoff(first=POLL_FIRST, cap=POLL_CAP, timeout=timeout,
                       clock=self._clock, sleep=self._sleep)

    def failure_reason(self, stack: Mapping[str, Any]) -> str:
        """Heat's reason for a failed stack: where it failed and why.

        The stack's own reason names the failing resource's path; the earliest
        failed event (nested stacks included) since the stack's last action
        started holds the root cause (earlier events are earlier failures).
        """
        own = " ".join(str(stack.get("stack_status_reason") or "").split())
        events = self.list_events(stack, nested_depth=5)
        starts = [i for i, e in enumerate(events)
                  if e.get("physical_resource_id") == stack.get("id")
                  and str(e.get("resource_status", "")).endswith("_IN_PROGRESS")]
        if starts:
            events = events[starts[-1]:]
        failed = [e for e in events
                  if str(e.get("resource_status", "")).endswith("_FAILED")
                  and e.get("resource_status_reason")]
        if not failed:
            return own
        event = failed[0]
        cause = " ".join(str(event.get("resource_status_reason")).split())
        if cause in own:
            return own
        return f"{own} (cause: {event.get('resource_name')}: {cause})" if own else cause


class _Progress:
    """Whether a stack in progress still moves, judged every few seconds.

    Its fingerprint is the stack's status and update time, its newest event
    (nested included) and every resource's status: Heat adds an event for
    every resource status change, and a working engine makes one at least
    when each resource starts and ends.
    """

    def __init__(self, heat: HeatClient, stall: float) -> None:
        self.heat = heat
        self.stall = stall
        # A few looks per stall limit, at most every 10 s (each look is two GETs).
        self.every = min(max(stall / 6, POLL_CAP), 10.0)
        self.changed = heat._clock()
        # The first look waits too: most actions end before it, sparing Heat
        # two requests while it works.
        self.next_look = self.changed + self.every
        self.fingerprint: Any = None

    def check(self, stack: dict[str, Any]) -> None:
        now = self.heat._clock()
        if now < self.next_look:
            return
        self.next_look = now + self.every
        event = self.heat.latest_event(stack)
        rows = self.heat.list_resources(stack, nested_depth=5)
        fingerprint = (
            stack.get("stack_status"), stack.get("updated_time"),
            (event or {}).get("id"),
            tuple(sorted((r.get("parent_resource") or "", r.get("resource_name") or "",
                          r.get("physical_resource_id") or "",
                          r.get("resource_status") or "") for r in rows)))
        if fingerprint != self.fingerprint:
            self.fingerprint = fingerprint
            self.changed = now
            return
        self._maybe_stalled(stack, stack.get("stack_name"), now)

    def silent(self, stack: dict[str, Any] | None, name: str, action: str,
               exc: VimUnreachable) -> None:
        """Heat did not answer: no progress either, up to the stall limit."""
        now = self.heat._clock()
        if now - self.changed < self.stall:
            return
        label = (stack or {}).get("stack_name") or name
        raise StackStalled(
            f"Heat has not answered about stack {label} ({action}) for "
            f"{now - self.changed:.0f} s: {exc.message}; retry re-drives it once "
            "Heat is back", last_status=(stack or {}).get("stack_status"),
            stalled_for=now - self.changed,
            hint="check the VIM with 'nfv vim check'") from exc

    def _maybe_stalled(self, stack: dict[str, Any], label: str | None,
                       now: float) -> None:
        if now - self.changed < self.stall:
            return
        status = stack.get("stack_status")
        raise StackStalled(
            f"Heat has not progressed stack {label} ({status}) for "
            f"{now - self.changed:.0f} s: its engine may have restarted; retry "
            "re-drives it", last_status=status, stalled_for=now - self.changed)


def _stack_url(stack: Mapping[str, Any]) -> str:
    return f"/stacks/{stack['stack_name']}/{stack['id']}"


def _error_type(resp: Any) -> str | None:
    """The ``type`` of Heat's error body (e.g. ``StackExists``), if any."""
    try:
        error = resp.json().get("error")
    except (ValueError, AttributeError):
        return None
    return error.get("type") if isinstance(error, dict) else None


def _explain(resp: Any) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip().splitlines()[0][:200] if resp.text.strip() else ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or error)[:300]
    return str(body)[:300]
