"""Local-mode LCM: requests create occurrences, detached workers run them.

Each request checks what it can at once (so bad input is a one-line error and
nothing is written), records a STARTING occurrence, and starts a worker
process detached from the caller; it returns the occurrence right away.
:meth:`LocalLcm.wait` follows an occurrence until it settles.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import select
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from nfvlib.exceptions import Conflict, InvalidInput, NfvError, OpOccNotFound, StoreError
from nfvlib.inputs import short
from nfvlib.lcm import engine, notify, secrets, states
from nfvlib.lcm.catalog import LocalPackages, LocalVnfs
from nfvlib.models import (InstantiationState, Operation, OpOcc, OpOccRecord, OpState,
                           OpStep, Page, VnfInstance)
from nfvlib.paging import PAGE_SIZE
from nfvlib.store import Store
from nfvlib.store.lcm import OpOccTable

if TYPE_CHECKING:
    from nfvlib.packages import VnfPackage

#: Pauses between two reads of an occurrence while waiting (fast, then capped);
#: a read of the local store costs well under a millisecond.
WAIT_FIRST = 0.05
WAIT_CAP = 0.1

_FILTER_FIELDS = {"id": "id", "operationState": "state", "vnfInstanceId": "vnf_instance_id",
                  "operation": "operation", "state": "state",
                  "vnf_instance_id": "vnf_instance_id"}


def redact(value: Any) -> Any:
    """A copy of a request with every secret value replaced by ``***``.

    What counts as secret is :func:`nfvlib.lcm.secrets.is_secret_key`.
    """
    return secrets.mask(value)


def _indexed_where(wanted: Mapping[str, str], expression: Any,
                   reaped: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """SQL that narrows a listing to rows a filter can match, by indexed columns.

    Only ``eq``/``in`` terms on plain columns (id, state, VNF instance,
    operation) become SQL; every row it returns is still tested in full, so
    this only saves decoding rows that cannot match. Occurrences reaped in
    memory (a read-only store) are always read, as their stored state is stale.
    """
    clauses, params = [], []
    for column, value in wanted.items():
        clauses.append(f"{column} = ?")
        params.append(value)
    for term in getattr(expression, "terms", ()):
        indexed = _FILTER_FIELDS.get(term.path[0]) if len(term.path) == 1 else None
        if indexed is None or term.op not in ("eq", "in") or not term.values:
            continue
        clauses.append(f"{indexed} IN ({', '.join('?' * len(term.values))})")
        params.extend(term.values)
    if not clauses:
        return "", ()
    where = " AND ".join(clauses)
    if reaped:
        where = f"({where}) OR id IN ({', '.join('?' * len(reaped))})"
        params.extend(reaped)
    return where, tuple(params)


class LocalLcm:
    """VNF LCM operations and their occurrences in local mode."""

    def __init__(self, store: Store, vims: Any, packages: LocalPackages,
                 vnfs: LocalVnfs, *, spawn: Callable[[str], None],
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep,
                 lease_clock: engine.LeaseClock | None = None,
                 deliver: Callable[[], None] | None = None,
                 page_size: int = PAGE_SIZE) -> None:
        """``deliver`` sends the notifications a request left in the outbox
        when no worker follows it (fail, cancel before start, reaping);
        ``page_size`` is the length of a page of :meth:`page_op_occs`."""
        self._store = store
        self._vims = vims
        self._table = OpOccTable(store)
        self._packages = packages
        self._vnfs = vnfs
        self._spawn = spawn
        self._clock = clock
        self._sleep = sleep
        self._lease_clock = lease_clock or engine.LeaseClock()
        self._deliver = deliver or (lambda: None)
        self._page_size = page_size
        if getattr(vims, "vault", None) is not None:
            notify.use_vault(store, vims.vault)

    # -- operations ---------------------------------------------------------------
    def instantiate(self, vnf_id: str, request: Mapping[str, Any], *,
                    on_failure: str | None = None) -> OpOcc:
        """Instantiate a NOT_INSTANTIATED VNF (InstantiateVnfRequest as Tacker's).

        ``on_failure`` (every operation request has it) is the escalation
        policy, e.g. ``"retry:2,rollback,fallback"`` (:mod:`nfvlib.lcm.policy`);
        None takes ``NFV_ON_FAILURE``, else none.
        """
        from nfvlib.lcm.requests import validate

        request = validate("InstantiateVnfRequest", request)
        vnf = self._vnf_in(vnf_id, InstantiationState.NOT_INSTANTIATED, "instantiate")
        self._check_instantiate(self._package_of(vnf), request)
        return self._start(vnf.id, Operation.INSTANTIATE, self._seal(dict(request)),
                           on_failure=on_failure)

    def create_and_instantiate(self, vnfd_id: str, request: Mapping[str, Any], *,
                               name: str | None = None, description: str | None = None,
                               metadata: Mapping[str, Any] | None = None,
                               on_failure: str | None = None
                               ) -> tuple[VnfInstance, OpOcc]:
        """Create an instance of ``vnfd_id`` and instantiate it (``vnflcm create --I``).

        Both requests are checked in full first (the create request as
        :meth:`LocalVnfs.create_vnf` checks it, the InstantiateVnfRequest as
        :meth:`instantiate` does: schema, flavour and levels against the
        package, VIM, escalation policy), so a request either refuses
        creates nothing and sends no notification. Returns the instance as
        created and the INSTANTIATE occurrence.
        """
        from nfvlib.lcm import policy
        from nfvlib.lcm.requests import validate

        info = self._vnfs.check_create(vnfd_id, name, description, metadata=metadata)
        request = validate("InstantiateVnfRequest", request)
        self._check_instantiate(self._packages.load(info), request)
        policy.normalized(on_failure)
        vnf = self._vnfs.create_vnf(vnfd_id, name, description, metadata=metadata)
        try:
            op = self.instantiate(vnf.id, request, on_failure=on_failure)
        except Exception:
            # Changed between the check and the request (a VIM deleted...):
            # the instance goes, as no request made it.
            with contextlib.suppress(NfvError):
                self._vnfs.delete_vnf(vnf.id)
            raise
        return vnf, op

    def _check_instantiate(self, package: VnfPackage, request: dict[str, Any]) -> None:
        """What an instantiate request must pass beyond its schema: its flavour,
        level and parameters against the package, and its VIM."""
        from nfvlib.lcm import heat_params, plans

        heat_params.build_instantiate_nfv(package, request["flavourId"], dict(request))
        plans.resolve_vim(self._vims, dict(request))

    def scale(self, vnf_id: str, scale_type: str, aspect_id: str,
              number_of_steps: int = 1,
              additional_params: Mapping[str, Any] | None = None, *,
              restoration_point: bool = False, on_failure: str | None = None) -> OpOcc:
        """Scale an aspect out or in by ``number_of_steps``.

        ``restoration_point`` takes one first, which a fallback can restore.
        """
        from nfvlib.lcm import heat_params, plans
        from nfvlib.lcm.requests import validate

        validate("ScaleVnfRequest", {"type": scale_type, "aspectId": aspect_id,
                                     "numberOfSteps": number_of_steps,
                                     "additionalParams": additional_params or {}})
        if scale_type not in ("SCALE_OUT", "SCALE_IN"):
            raise InvalidInput(f"scale type {scale_type!r} is not SCALE_OUT or SCALE_IN")
        if not isinstance(number_of_steps, int) or number_of_steps < 1:
            raise InvalidInput(f"number of steps must be a positive integer, not "
                               f"{number_of_steps!r}")
        vnf = self._vnf_in(vnf_id, InstantiationState.INSTANTIATED, "scale")
        _must_run(vnf, "scale")
        package = self._package_of(vnf)
        heat_params.build_scale_nfv(
            package, plans._flavour_id(vnf), vnf.instantiated_info.get("nfv", {}),
            vnf.instantiation_level_id, vnf.scale_status, aspect_id, scale_type,
            number_of_steps)
        request = {"type": scale_type, "aspectId": aspect_id,
                   "numberOfSteps": number_of_steps,
                   "additionalParams": self._seal(dict(additional_params or {}))}
        if restoration_point:
            request["restorationPoint"] = True
        return self._start(vnf.id, Operation.SCALE, request, on_failure=on_failure)

    def heal(self, vnf_id: str, vnfc_instance_ids: list[str] | None = None,
             cause: str | None = None,
             additional_params: Mapping[str, Any] | None = None, *,
             restoration_point: bool = False, on_failure: str | None = None) -> OpOcc:
        """Recreate the given VNFCs (all of them when none are named).

        ``restoration_point`` takes one first, which a fallback can restore.
        """
        from nfvlib.lcm.requests import validate

        validate("HealVnfRequest", {
            "vnfcInstanceId": list(vnfc_instance_ids) if isinstance(
                vnfc_instance_ids, tuple) else vnfc_instance_ids or [],
            "cause": cause or "", "additionalParams": additional_params or {}})
        vnf = self._vnf_in(vnf_id, InstantiationState.INSTANTIATED, "heal")
        _must_run(vnf, "heal")
        known = {c.id for c in vnf.vnfc}
        unknown = [v for v in vnfc_instance_ids or () if v not in known]
        if unknown:
            raise InvalidInput(f"VNF instance {vnf.id} has no VNFC {', '.join(unknown)}",
                               hint="see the VNFC ids with 'vnflcm show'")
        request: dict[str, Any] = {
            "additionalParams": self._seal(dict(additional_params or {}))}
        if vnfc_instance_ids:
            request["vnfcInstanceId"] = list(vnfc_instance_ids)
        if cause:
            request["cause"] = cause
        if restoration_point:
            request["restorationPoint"] = True
        return self._start(vnf.id, Operation.HEAL, request, on_failure=on_failure)

    def change_vnfpkg(self, vnf_id: str, request: Mapping[str, Any], *,
                      on_failure: str | None = None) -> OpOcc:
        """Move an instance to another package of the VNF (ChangeCurrentVnfPkgRequest).

        Prepare, deploy, test and commit, with a restoration point taken
        before deploying; a failed test rolls it back at once (see
        :mod:`nfvlib.lcm.change_pkg`).
        """
        from nfvlib.lcm import change_pkg

        request = change_pkg.check_request(dict(request) if isinstance(
            request, Mapping) else request)
        vnf = self._vnf_in(vnf_id, InstantiationState.INSTANTIATED, "change the package of")
        _must_run(vnf, "change the package of")
        new = self._packages.load(self._packages.package_for_vnfd(request["vnfdId"]))
        change_pkg.check_packages(self._package_of(vnf), new, vnf, request)
        return self._start(vnf.id, Operation.CHANGE_VNFPKG, self._seal(request),
                           on_failure=on_failure)

    def fallback(self, vnf_id: str, to: str | None = None) -> OpOcc:
        """Restore a restoration point (the newest unless ``to``), forcefully.

        A FALLBACK occurrence (an nfvkit extension): Heat restores the point's
        stack snapshot, then the instance record is the point's copy. Changes
        made after the point are lost. Refused while another operation of the
        instance is under way.
        """
        from nfvlib.exceptions import RestorationPointNotFound
        from nfvlib.store.restoration import RestorationPointTable

        vnf = self._vnfs.get_vnf(vnf_id)
        table = RestorationPointTable(self._store)
        point = table.get(to) if to else table.latest_for(vnf.id)
        if point is None and to:
            named = [p for p in table.for_vnf(vnf.id) if p.name == to]
            point = named[0] if len(named) == 1 else None
        if point is None or point.vnf_instance_id != vnf.id:
            raise RestorationPointNotFound(
                f"VNF instance {vnf.id} has no restoration point"
                + (f" {to}" if to else ""),
                hint="list them with 'nfv vnf restoration-point list'")
        return self._start(vnf.id, Operation.FALLBACK, {"restorationPointId": point.id})

    def terminate(self, vnf_id: str, termination_type: str = "GRACEFUL",
                  graceful_termination_timeout: int | None = None, *,
                  on_failure: str | None = None) -> OpOcc:
        """Delete the VNF's stack and return it to NOT_INSTANTIATED."""
        from nfvlib.lcm.requests import validate

        validate("TerminateVnfRequest", {"terminationType": termination_type} | (
            {} if graceful_termination_timeout is None
            else {"gracefulTerminationTimeout": graceful_termination_timeout}))
        if termination_type not in ("GRACEFUL", "FORCEFUL"):
            raise InvalidInput(f"termination type {termination_type!r} is not GRACEFUL "
                               "or FORCEFUL")
        if graceful_termination_timeout is not None and graceful_termination_timeout < 0:
            raise InvalidInput("the graceful termination timeout must not be negative")
        vnf = self._vnf_in(vnf_id, InstantiationState.INSTANTIATED, "terminate")
        request: dict[str, Any] = {"terminationType": termination_type}
        if graceful_termination_timeout is not None:
            request["gracefulTerminationTimeout"] = graceful_termination_timeout
        return self._start(vnf.id, Operation.TERMINATE, request, on_failure=on_failure)

    def operate(self, vnf_id: str, change_state_to: str, *,
                stop_type: str | None = None, graceful_stop_timeout: int | None = None,
                vnfc_instance_ids: list[str] | None = None, force: bool = False,
                additional_params: Mapping[str, Any] | None = None) -> OpOcc:
        """Start or stop a VNF, or only the given VNFCs (SOL003 OPERATE).

        VDUs start in dependency order and stop in reverse
        (:mod:`nfvlib.lcm.operate`). ``force`` skips the graceful stop and its
        wait. Starting a STARTED VNF or stopping a STOPPED one is a Conflict.
        """
        if change_state_to not in ("STARTED", "STOPPED"):
            raise InvalidInput(f"change state to {change_state_to!r} is not STARTED or "
                               "STOPPED")
        if stop_type not in (None, "GRACEFUL", "FORCEFUL"):
            raise InvalidInput(f"stop type {stop_type!r} is not GRACEFUL or FORCEFUL")
        if graceful_stop_timeout is not None and (
                isinstance(graceful_stop_timeout, bool)
                or not isinstance(graceful_stop_timeout, int) or graceful_stop_timeout < 0):
            raise InvalidInput("the graceful stop timeout must be a whole number of "
                               f"seconds >= 0, not {graceful_stop_timeout!r}")
        if change_state_to == "STARTED" and (stop_type or graceful_stop_timeout is not None):
            raise InvalidInput("--stop-type and --graceful-stop-timeout only apply when "
                               "stopping (--change-to-state STOPPED)")
        if stop_type == "FORCEFUL" and graceful_stop_timeout is not None:
            raise InvalidInput("--graceful-stop-timeout only applies to a GRACEFUL stop")
        vnf = self._vnf_in(vnf_id, InstantiationState.INSTANTIATED, "operate")
        self._known_vnfcs(vnf, vnfc_instance_ids)
        state = vnf.operational_state  # not None: the instance is INSTANTIATED
        if not vnfc_instance_ids and state is not None and state.value == change_state_to:
            raise Conflict(f"VNF instance {vnf.id} is already {change_state_to}")
        request: dict[str, Any] = {"changeStateTo": change_state_to,
                                   "additionalParams": self._seal(dict(
                                       additional_params or {}))}
        if change_state_to == "STOPPED":
            request["stopType"] = "FORCEFUL" if force else (stop_type or "GRACEFUL")
            if graceful_stop_timeout is not None:
                request["gracefulStopTimeout"] = graceful_stop_timeout
        if vnfc_instance_ids:
            request["vnfcInstanceId"] = list(vnfc_instance_ids)
        if force:
            request["force"] = True
        return self._start(vnf.id, Operation.OPERATE, request)

    def reboot(self, vnf_id: str, *, hard: bool = False,
               vnfc_instance_ids: list[str] | None = None,
               additional_params: Mapping[str, Any] | None = None) -> OpOcc:
        """Reboot a STARTED VNF, or only the given VNFCs (an OPERATE occurrence).

        With Nova: a SOFT (or ``hard``: HARD) server reboot; on a VIM with Heat
        only: suspend then resume of the VNFC's or VDU's stack.
        """
        vnf = self._vnf_in(vnf_id, InstantiationState.INSTANTIATED, "reboot")
        _must_run(vnf, "reboot")
        self._known_vnfcs(vnf, vnfc_instance_ids)
        request: dict[str, Any] = {"changeStateTo": "STARTED",
                                   "reboot": "HARD" if hard else "SOFT",
                                   "additionalParams": self._seal(dict(
                                       additional_params or {}))}
        if vnfc_instance_ids:
            request["vnfcInstanceId"] = list(vnfc_instance_ids)
        return self._start(vnf.id, Operation.OPERATE, request)

    def _known_vnfcs(self, vnf: Any, vnfc_instance_ids: list[str] | None) -> None:
        known = {c.id for c in vnf.vnfc}
        unknown = [v for v in vnfc_instance_ids or () if v not in known]
        if unknown:
            raise InvalidInput(f"VNF instance {vnf.id} has no VNFC {', '.join(unknown)}",
                               hint="see the VNFC ids with 'vnflcm show'")

    # -- error handling -----------------------------------------------------------
    def rollback(self, op_id: str) -> OpOcc:
        """Undo a FAILED_TEMP occurrence's completed steps, newest first."""
        from nfvlib.lcm import plans

        op = self.get_op_occ(op_id)
        states.check("rollback", op.state, op.id)
        why_not = plans.no_rollback_reason(op)
        if why_not:
            raise Conflict(f"{op.operation.value} operation occurrence {op.id} cannot be "
                           f"rolled back: {why_not}",
                           hint="retry it, or fail it with 'vnflcm op fail'")
        return self._resume(op, "rollback", direction="rollback",
                            current_step=op.current_step)

    def retry(self, op_id: str) -> OpOcc:
        """Run a FAILED_TEMP occurrence again from its first unfinished step."""
        op = self.get_op_occ(op_id)
        states.check("retry", op.state, op.id)
        first = next((i for i, s in enumerate(op.steps) if s.status != "DONE"),
                     len(op.steps))
        return self._resume(op, "retry", direction="forward", current_step=first)

    def fail(self, op_id: str) -> OpOcc:
        """Give up on a FAILED_TEMP occurrence: it becomes FAILED."""
        op = self.get_op_occ(op_id)
        with self._store.transaction() as conn:
            current = self._stored(op.id)
            target = states.check_move("fail", current.state, op.id)
            updated = dataclasses.replace(current, state=target,
                                          state_entered_time=engine.iso(self._clock()),
                                          is_suspended=False)
            self._table.update(conn, updated)
            notify.record(conn, updated)
        self._deliver()
        return _shown(updated)

    def cancel(self, op_id: str, cancel_mode: str = "GRACEFUL") -> OpOcc:
        """Stop an occurrence: at the next step (GRACEFUL) or at once (FORCEFUL)."""
        if cancel_mode not in ("GRACEFUL", "FORCEFUL"):
            raise InvalidInput(f"cancel mode {cancel_mode!r} is not GRACEFUL or FORCEFUL")
        op = self.get_op_occ(op_id)
        with self._store.transaction() as conn:
            # One compare-and-set decides between this cancel and a worker
            # starting the occurrence: whichever moves it off STARTING first.
            if not self._table.set_state_if(
                    conn, op.id, OpState.STARTING, OpState.ROLLED_BACK,
                    state_entered_time=engine.iso(self._clock()), cancel_mode=cancel_mode,
                    is_cancel_pending=False, is_suspend_pending=False,
                    error={"title": "Operation cancelled", "status": 409,
                           "detail": f"cancelled ({cancel_mode}) before it started"}):
                states.cancel_target(self._stored(op.id).state)  # Conflict if final
                conn.execute("UPDATE op_occs SET is_cancel_pending = 1, cancel_mode = ? "
                             "WHERE id = ?", (cancel_mode, op.id))
                notified = 0
            else:
                notified = notify.record(conn, self._stored(op.id))
        if notified:
            self._deliver()
        return _shown(self._stored(op.id))

    def suspend(self, op_id: str) -> OpOcc:
        """Ask a STARTING or PROCESSING occurrence to stop at its next step boundary.

        A step that can stop part-way (a tester) stops earlier. The occurrence
        then is FAILED_TEMP with ``is_suspended`` and the error title
        "Operation suspended", at the step it stopped before: :meth:`resume`
        goes on from there, :meth:`rollback` undoes what was done.
        """
        op = self.get_op_occ(op_id)
        with self._store.transaction() as conn:
            current = self._stored(op.id)
            if current.is_suspended:
                raise Conflict(f"operation occurrence {op.id} is already suspended",
                               hint=f"resume it with 'vnflcm op resume {op.id}'")
            if current.state is OpState.ROLLING_BACK:
                raise Conflict(f"cannot suspend operation occurrence {op.id}: it is "
                               "ROLLING_BACK, and a rollback runs to its end",
                               hint=f"cancel it with 'vnflcm op cancel {op.id}'")
            states.check("suspend", current.state, op.id)
            conn.execute("UPDATE op_occs SET is_suspend_pending = 1 WHERE id = ?",
                         (op.id,))
        return _shown(self._stored(op.id))

    def resume(self, op_id: str) -> OpOcc:
        """Go on with a suspended occurrence from the step where it stopped."""
        op = self.get_op_occ(op_id)
        if not op.is_suspended:
            states.check("resume", op.state, op.id)
            raise Conflict(f"operation occurrence {op.id} is FAILED_TEMP but was not "
                           "suspended",
                           hint=f"retry it with 'vnflcm op retry {op.id}'")
        first = next((i for i, s in enumerate(op.steps) if s.status != "DONE"),
                     len(op.steps))
        return self._resume(op, "resume", direction="forward", current_step=first)

    def change_ext_conn(self, vnf_id: str, request: Mapping[str, Any]) -> OpOcc:
        """Not in local mode yet: it would re-plug CPs through the ``nfv`` parameter."""
        from nfvlib.exceptions import Unsupported

        self._vnfs.get_vnf(vnf_id)  # an unknown instance is still VnfNotFound
        raise Unsupported("change-ext-conn is not implemented in local mode: changing "
                          "the external networks of CPs needs a stack update of the "
                          "nfv parameter that local mode does not journal yet",
                          hint="use --os-nfv-mode remote with a Tacker server, or "
                               "re-instantiate with the new extVirtualLinks")

    def versions(self, major_version: int | None = None) -> dict[str, Any]:
        """The VNF LCM API versions local mode implements, shaped as Tacker's answer."""
        from nfvlib.exceptions import Unsupported

        if major_version not in (None, 1, 2):
            raise InvalidInput(f"major version {major_version} is not supported",
                               hint="use 1 or 2")
        if major_version == 1:
            raise Unsupported("local mode implements the VNF LCM API 2.0.0 only",
                              hint="ask for major version 2")
        prefix = "/vnflcm" if major_version is None else "/vnflcm/v2"
        return {"uriPrefix": prefix,
                "apiVersions": [{"version": "2.0.0", "isDeprecated": False}]}

    # -- queries ----------------------------------------------------------------
    def get_op_occ(self, op_id: str) -> OpOcc:
        """The occurrence with this id (secret request values shown as ``***``)."""
        op = self._reap().get(op_id) or self._table.get(op_id)
        if op is None:
            raise OpOccNotFound(f"no operation occurrence with id {short(op_id)}",
                                hint="list them with 'vnflcm op list'")
        return _shown(op)

    def list_op_occs(self, filters: Mapping[str, str] | None = None, *,
                     filter: str | None = None) -> list[OpOcc]:
        """Occurrences, oldest first, matching every ``attribute: value`` filter.

        ``filter`` is a SOL013 filter expression (:mod:`nfvlib.filters`) tested
        against each occurrence's VnfLcmOpOcc JSON shape.
        """
        from nfvlib.filters import OP_OCC_ATTRIBUTES, op_occ_record, parse_filter

        expression = parse_filter(filter, attributes=OP_OCC_ATTRIBUTES)
        wanted = {}
        for key, value in (filters or {}).items():
            column = _FILTER_FIELDS.get(key)
            if column is None:
                raise InvalidInput(f"cannot filter operation occurrences by {key!r}",
                                   hint="use id, operationState, vnfInstanceId or "
                                        "operation")
            wanted[column] = value
        reaped = self._reap()
        where, params = _indexed_where(wanted, expression, reaped)
        ops = (reaped.get(op.id, op)
               for op in self._table.select(where, params, order="start_time, id"))
        # The record a filter reads masks secrets (nfvlib.sol003): no probing them.
        return [_shown(op) for op in ops
                if all(_field_text(op, column) == value for column, value in wanted.items())
                and (expression is None or expression.matches(op_occ_record(op)))]

    def page_op_occs(self, filter: str | None = None,
                     marker: str | None = None) -> Page[OpOcc]:
        """One page of :meth:`list_op_occs` (SOL013 paging): up to
        :data:`nfvlib.paging.PAGE_SIZE` occurrences, oldest first, and the
        marker of the next page. Every page costs the same at any depth."""
        from nfvlib import paging
        from nfvlib.filters import OP_OCC_ATTRIBUTES, op_occ_record, parse_filter

        expression = parse_filter(filter, attributes=OP_OCC_ATTRIBUTES)
        reaped = self._reap()
        where, params = _indexed_where({}, expression, reaped)

        def fetch(after: tuple[str, str] | None, limit: int) -> list[OpOcc]:
            return [reaped.get(op.id, op) for op in self._table.select_after(
                where, params, ("start_time", "id"), after, limit)]

        found = paging.page(
            fetch, lambda op: expression is None or expression.matches(op_occ_record(op)),
            lambda op: (op.start_time, op.id), marker=marker, size=self._page_size)
        return Page(tuple(_shown(op) for op in found.items), found.next_marker)

    def wait(self, op_id: str, timeout: float | None = None,
             progress: Callable[[OpOcc], None] | None = None) -> OpOcc:
        """Follow an occurrence until it is final or FAILED_TEMP.

        ``progress`` is called with the occurrence whenever its state or step
        changes. Raises :class:`WaitTimeout` after ``timeout`` seconds.
        """
        from nfvlib._wait import follow_occurrence

        sleeper = getattr(self._spawn, "sleeper", None)
        sleep = self._sleep if sleeper is None else sleeper(op_id, self._sleep)
        op: OpOcc = follow_occurrence(lambda: self.get_op_occ(op_id), timeout=timeout,
                                      progress=progress, first=WAIT_FIRST, cap=WAIT_CAP,
                                      clock=self._clock, sleep=sleep)
        return op

    # -- internals ----------------------------------------------------------------
    def _reap(self) -> dict[str, OpOcc]:
        """Reap expired leases; where the store cannot be written, what it would give.

        Reading works on a read-only store too: the occurrences whose lease
        expired are then returned, by id, as the reaper would leave them, and
        nothing is written.
        """
        try:
            if engine.reap_expired(self._store, clock=self._clock,
                                   lease_clock=self._lease_clock):
                self._deliver()
            return {}
        except (StoreError, sqlite3.OperationalError):
            return {op.id: op for op in engine.expired(
                self._store, clock=self._clock, lease_clock=self._lease_clock)}

    def _vnf_in(self, vnf_id: str, state: InstantiationState, verb: str) -> VnfInstance:
        vnf = self._vnfs.get_vnf(vnf_id)
        if vnf.instantiation_state is not state:
            raise Conflict(f"cannot {verb} VNF instance {vnf.id}: it is "
                           f"{vnf.instantiation_state.value}, and {verb} needs "
                           f"{state.value}")
        return vnf

    def _package_of(self, vnf: VnfInstance) -> VnfPackage:
        return self._packages.load(self._packages.get_package(vnf.package_id))

    def _stored(self, op_id: str) -> OpOccRecord:
        """The occurrence as stored (an occurrence found once is never deleted)."""
        op: OpOccRecord | None = self._table.get(op_id)
        if op is None:
            raise OpOccNotFound(f"no operation occurrence with id {short(op_id)}",
                                hint="list them with 'vnflcm op list'")
        return op

    def _start(self, vnf_id: str, operation: Operation, request: dict[str, Any], *,
               on_failure: str | None = None) -> OpOcc:
        from nfvlib.lcm import plans, policy

        on_failure = policy.normalized(on_failure)
        engine.reap_expired(self._store, clock=self._clock, lease_clock=self._lease_clock)
        now = self._clock()
        vnf = self._vnfs.get_vnf(vnf_id)
        names = plans.step_names(operation, self._package_of(vnf), vnf, request)
        op = OpOccRecord(
            id=str(uuid.uuid4()), vnf_instance_id=vnf_id, operation=operation,
            state=OpState.STARTING, start_time=engine.iso(now),
            state_entered_time=engine.iso(now), request=request,
            steps=tuple(OpStep(n) for n in names),
            lease_expires_at=self._lease_clock.now() + engine.START_GRACE_SECONDS,
            lease_boot_id=self._lease_clock.boot_id, on_failure=on_failure)
        with self._store.transaction() as conn:
            self._vnfs.get_vnf(vnf_id)  # not deleted meanwhile: no foreign key checks it
            self._table.insert(conn, op)
            notify.record(conn, op)  # the worker delivers it
        self._spawn(op.id)
        return _shown(op)

    def _seal(self, request: dict[str, Any]) -> dict[str, Any]:
        """The request to store: secret values sealed with the store's request key."""
        if not secrets.contains_secret(request):
            return request
        vault = self._vims.vault
        sealed: dict[str, Any] = secrets.seal(request, vault,
                                              vault.key_for(secrets.REQUEST_KEY_PURPOSE))
        return sealed

    def _resume(self, op: OpOcc, request: str, **changes: Any) -> OpOcc:
        with self._store.transaction() as conn:
            current = self._stored(op.id)
            target = states.check_move(request, current.state, op.id)
            updated = dataclasses.replace(
                current, state=target, state_entered_time=engine.iso(self._clock()),
                is_cancel_pending=False, cancel_mode=None, worker_pid=None,
                is_suspend_pending=False, is_suspended=False,
                lease_token=None, lease_boot_id=self._lease_clock.boot_id,
                lease_expires_at=self._lease_clock.now() + engine.START_GRACE_SECONDS,
                error=current.error if request == "rollback" else None, **changes)
            self._table.update(conn, updated)
            notify.record(conn, updated)  # the worker delivers it
        self._spawn(op.id)
        return _shown(updated)


def _must_run(vnf: Any, verb: str) -> None:
    """Conflict unless the VNF is STARTED (Heat cannot update a suspended stack)."""
    state = vnf.operational_state
    if state is not None and state.value == "STOPPED":
        raise Conflict(f"cannot {verb} VNF instance {vnf.id}: it is STOPPED",
                       hint=f"start it first with 'vnflcm operate {vnf.id} "
                            "--change-to-state STARTED'")


def _field_text(op: OpOcc, name: str) -> str:
    value = getattr(op, name)
    return str(getattr(value, "value", value))


def _shown(op: OpOcc) -> OpOcc:
    """The occurrence as the library shows it: secret request values masked, no lease."""
    if isinstance(op, OpOccRecord):
        op = op.public()
    return dataclasses.replace(op, request=secrets.mask(op.request))


class DetachedSpawner:
    """Starts ``python -m nfvlib.lcm.worker`` for an occurrence, detached.

    The worker runs in a session of its own, so closing the terminal or
    interrupting the command does not stop it. A worker that outlives its
    Popen object is reaped by the subprocess module at a later start.

    With ``standby``, one worker is started ahead of need: it imports what a
    run needs, then waits on its stdin for an occurrence id, and the next
    operation hands its id over instead of starting a process (which costs
    about 0.3 s of interpreter start and imports before the first request to
    Heat). Another is then started for the operation after. A standby whose
    spawner goes away (:meth:`close`, or the process ending) reads the end of
    its stdin and exits.

    Each worker inherits the write end of a pipe it never writes to: its exit
    closes it, which wakes :meth:`sleeper` at once (waiting for an
    occurrence, the last pause is not slept out).
    """

    def __init__(self, store_file: Path, key_dir: Path, log_dir: Path, *,
                 standby: bool = False) -> None:
        self._argv = [sys.executable, "-m", "nfvlib.lcm.worker", "--store",
                      str(store_file), "--key-dir", str(key_dir)]
        # The worker's notification deliverer finds the vault here.
        self._env = {**os.environ, "NFV_KEY_DIR": str(key_dir)}
        self._log_dir = log_dir
        self._standby_wanted = standby
        self._standby: subprocess.Popen[bytes] | None = None
        self._standby_end: int | None = None
        #: occurrence id -> read end of the pipe its worker holds open
        self._ends: dict[str, int] = {}

    def __call__(self, op_id: str) -> None:
        self._close_ended()
        if not self._hand_over(op_id):  # a standby opens its log itself
            log = self._log(f"{op_id}.log")
            try:
                self._ends[op_id] = self._start([*self._argv, op_id],
                                                stdin=subprocess.DEVNULL, log=log)[1]
            finally:
                os.close(log)
        if self._standby_wanted:
            self._start_standby()

    def sleeper(self, op_id: str, fallback: Callable[[float], None]
                ) -> Callable[[float], None]:
        """A sleep that ends early when the worker of ``op_id`` exits.

        ``fallback`` sleeps instead once that worker is known to have ended,
        and for an occurrence whose worker this spawner did not start.
        """
        def sleep(seconds: float) -> None:
            end = self._ends.get(op_id)
            if end is None:
                fallback(seconds)
                return
            ready = select.poll()
            ready.register(end, select.POLLIN)
            if ready.poll(max(seconds, 0) * 1000):
                self._close_end(op_id)
        return sleep

    def close(self) -> None:
        """Let the standby worker, if any, exit; forget the workers started."""
        standby, self._standby = self._standby, None
        if standby is not None and standby.stdin is not None:
            with contextlib.suppress(OSError):
                standby.stdin.close()
        if self._standby_end is not None:
            os.close(self._standby_end)
            self._standby_end = None
        for op_id in list(self._ends):
            self._close_end(op_id)

    def _start(self, argv: list[str], *, stdin: Any, log: int
               ) -> tuple[subprocess.Popen[bytes], int]:
        """Start a detached worker; return it and the read end of its pipe."""
        read, write = os.pipe()
        try:
            proc = subprocess.Popen(argv, env=self._env, stdin=stdin, stdout=log,
                                    stderr=log, start_new_session=True,
                                    close_fds=True, pass_fds=(write,))
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(write)
        return proc, read

    def _close_end(self, op_id: str) -> None:
        end = self._ends.pop(op_id, None)
        if end is not None:
            os.close(end)

    def _close_ended(self) -> None:
        """Close the pipes of workers that have exited (nobody waited for them)."""
        if not self._ends:
            return
        ready = select.poll()
        by_fd = {end: op_id for op_id, end in list(self._ends.items())}
        for end in by_fd:
            ready.register(end, select.POLLIN)
        for end, _ in ready.poll(0):
            self._close_end(by_fd[end])

    def _log(self, name: str) -> int:
        # Logs may tell more than the user shows: directory 0700, files 0600.
        self._log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self._log_dir, 0o700)
        fd = os.open(self._log_dir / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)
        return fd

    def _start_standby(self) -> None:
        if self._standby is not None and self._standby.poll() is None:
            return
        log = self._log("standby.log")
        try:
            self._standby, self._standby_end = self._start(
                [*self._argv, "--standby", "--log-dir", str(self._log_dir)],
                stdin=subprocess.PIPE, log=log)
        finally:
            os.close(log)

    def _hand_over(self, op_id: str) -> bool:
        """Give the occurrence to the standby worker; False if there is none alive."""
        standby, self._standby = self._standby, None
        end, self._standby_end = self._standby_end, None
        handed = False
        if standby is not None and standby.stdin is not None and standby.poll() is None:
            try:
                standby.stdin.write(f"{op_id}\n".encode())
                standby.stdin.close()
                handed = True
            except OSError:  # it died meanwhile
                pass
        if end is not None:
            if handed:
                self._ends[op_id] = end
            else:
                os.close(end)
        return handed


def detached_spawner(store_file: Path, key_dir: Path, log_dir: Path, *,
                     standby: bool = False) -> DetachedSpawner:
    """A :class:`DetachedSpawner` (a callable taking an occurrence id)."""
    return DetachedSpawner(store_file, key_dir, log_dir, standby=standby)
