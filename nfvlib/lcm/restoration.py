"""Restoration points: a Heat stack snapshot plus a copy of the instance record.

A point is what a fallback restores (seed 001, clause 5.3.3: "restore a
restoration point, forcefully"): Heat's snapshot brings the stack's
template, parameters and members back; the copy brings the instance record
(package reference, ``nfv`` parameter, scale levels) back. Points are taken
on request (``nfv vnf restoration-point create``), by change-vnfpkg before it
deploys, and by scale-in and heal when asked (``--restoration-point``).

A snapshot is named after who took it (``nfv-op-<occurrence id>`` or
``nfv-rp-<point id>``), so a worker that died between asking Heat for the
snapshot and recording the point finds it again on retry, and a rollback
deletes it: no snapshot is left behind unrecorded.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from typing import TYPE_CHECKING, Any, Callable

from nfvlib.exceptions import Conflict, RestorationPointNotFound
from nfvlib.models import InstantiationState, RestorationPoint, VnfInstance
from nfvlib.store import Store
from nfvlib.store.lcm import OpOccTable, VnfTable
from nfvlib.store.restoration import RestorationPointTable

if TYPE_CHECKING:
    from nfvlib.heat import HeatClient

#: Seconds Heat may take to finish a snapshot.
SNAPSHOT_TIMEOUT = 600.0

AVAILABLE = "AVAILABLE"
STACK_GONE = "STACK_GONE"
SNAPSHOT_GONE = "SNAPSHOT_GONE"


def snapshot_name(*, op_id: str | None = None, point_id: str | None = None) -> str:
    """The Heat snapshot name of a point taken by an occurrence or on request."""
    return f"nfv-op-{op_id}" if op_id else f"nfv-rp-{point_id}"


def _stack(point_or_vnf: Any) -> dict[str, Any]:
    return {"stack_name": point_or_vnf.stack_name, "id": point_or_vnf.stack_id}


def take(heat: HeatClient, store: Store, vnf: VnfInstance, *, name: str = "",
         op_id: str | None = None, clock: Callable[[], float] = time.time,
         transaction: Callable[[], Any] | None = None) -> RestorationPoint:
    """Snapshot the VNF's stack, wait for it, and record the point.

    Taken for an occurrence (``op_id``), a snapshot of that name that Heat
    already holds is used (a retry after a crash) rather than a second one.
    ``transaction`` (a step's lease-checking one) records the point.
    """
    from nfvlib.lcm.engine import iso

    table = RestorationPointTable(store)
    if op_id and (existing := table.by_op(op_id)) is not None:
        return existing
    if vnf.stack_id is None:
        raise Conflict(f"VNF instance {vnf.id} has no stack to take a restoration "
                       "point of", hint="instantiate it first")
    point_id = str(uuid.uuid4())
    snap_name = snapshot_name(op_id=op_id, point_id=point_id)
    stack = _stack(vnf)
    snap = next((s for s in heat.list_snapshots(stack) if s.get("name") == snap_name),
                None) if op_id else None
    if snap is None:
        snap = heat.create_snapshot(stack, snap_name)
    snap = heat.wait_for_snapshot(stack, snap["id"], timeout=SNAPSHOT_TIMEOUT)
    record = VnfTable(store).to_row(vnf)
    size = len(json.dumps(snap.get("data") or {})) + len(json.dumps(record))
    point = RestorationPoint(
        id=point_id, vnf_instance_id=vnf.id, stack_name=vnf.stack_name,
        stack_id=vnf.stack_id, snapshot_id=snap["id"], package_id=vnf.package_id,
        vnfd_id=vnf.vnfd_id, instance=record, name=name, vim_id=vnf.vim_id,
        region=vnf.region, op_occ_id=op_id, size=size, created_at=iso(clock()))
    with (transaction or store.transaction)() as conn:
        table.insert(conn, point)
    return point


def release(heat: HeatClient, store: Store, point: RestorationPoint,
            transaction: Callable[[], Any] | None = None) -> None:
    """Delete the point's snapshot (if Heat still has it), then its record."""
    from nfvlib.exceptions import StackNotFound

    try:
        heat.delete_snapshot(_stack(point), point.snapshot_id)
    except StackNotFound:
        pass  # the stack is gone, and its snapshots with it
    with (transaction or store.transaction)() as conn:
        RestorationPointTable(store).delete(conn, point.id)


def release_op_snapshot(heat: HeatClient, store: Store, vnf: VnfInstance, op_id: str,
                        transaction: Callable[[], Any] | None = None) -> None:
    """Release what an occurrence took: its point, or a snapshot never recorded."""
    from nfvlib.exceptions import StackNotFound

    point = RestorationPointTable(store).by_op(op_id)
    if point is not None:
        release(heat, store, point, transaction)
        return
    name = snapshot_name(op_id=op_id)
    try:
        for snap in heat.list_snapshots(_stack(vnf)):
            if snap.get("name") == name:
                heat.delete_snapshot(_stack(vnf), snap["id"])
    except StackNotFound:
        return


def status(heat: HeatClient, point: RestorationPoint) -> str:
    """AVAILABLE, STACK_GONE or SNAPSHOT_GONE, as Heat answers now."""
    from nfvlib.exceptions import StackNotFound

    try:
        stack = heat.get_stack(f"{point.stack_name}/{point.stack_id}")
    except StackNotFound:
        return STACK_GONE
    if stack.get("stack_status") == "DELETE_COMPLETE":
        return STACK_GONE
    try:
        heat.get_snapshot(_stack(point), point.snapshot_id)
    except StackNotFound:
        return SNAPSHOT_GONE
    return AVAILABLE


def instance_of(store: Store, point: RestorationPoint) -> VnfInstance:
    """The instance record the point holds."""
    return VnfTable(store).from_row(point.instance)


class LocalRestorationPoints:
    """Restoration points of VNF instances, in local mode."""

    def __init__(self, store: Store, vims: Any, vnfs: Any, *,
                 clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._vims = vims
        self._vnfs = vnfs
        self._table = RestorationPointTable(store)
        self._clock = clock
        self._sessions: dict[str, Any] = {}

    def _heat(self, vim_id: str | None, region: str | None) -> HeatClient:
        from nfvlib.heat import HeatClient

        if vim_id is None:  # instances and points on a stack always have one
            raise Conflict("the VNF instance or restoration point names no VIM")
        if vim_id not in self._sessions:
            self._sessions[vim_id] = self._vims.session(self._vims.get_vim(vim_id))
        return HeatClient(self._sessions[vim_id], region_name=region)

    def create_point(self, vnf_id: str, name: str | None = None) -> RestorationPoint:
        """Take a point of an INSTANTIATED VNF with no operation under way."""
        vnf = self._vnfs.get_vnf(vnf_id)
        if vnf.instantiation_state is not InstantiationState.INSTANTIATED:
            raise Conflict(f"VNF instance {vnf.id} is NOT_INSTANTIATED: it has no stack "
                           "to take a restoration point of",
                           hint="instantiate it first")
        active = OpOccTable(self._store).active_for(vnf.id)
        if active is not None:
            raise Conflict(f"VNF instance {vnf.id} has operation "
                           f"{active.operation.value} ({active.id}) in state "
                           f"{active.state.value}",
                           hint="take the point when it has ended")
        point = take(self._heat(vnf.vim_id, vnf.region), self._store, vnf,
                     name=name or "", clock=self._clock)
        return dataclasses.replace(point, status=AVAILABLE)

    def list_points(self, vnf_id: str | None = None) -> list[RestorationPoint]:
        """Points of one instance (or of all), oldest first; not checked against Heat."""
        if vnf_id is None:
            return self._table.select(order="created_at, id")
        return self._table.for_vnf(self._vnfs.get_vnf(vnf_id).id)

    def get_point(self, point_id: str, *, check: bool = True) -> RestorationPoint:
        """The point with this id (or unique name); ``check`` asks Heat whether
        its stack and snapshot are still there (``status``)."""
        point: RestorationPoint | None = self._table.get(point_id)
        if point is None:
            named = self._table.select("name = ? AND name != ''", (point_id,))
            if len(named) > 1:
                raise Conflict(f"{len(named)} restoration points are named {point_id!r}",
                               hint="use the point's id")
            if not named:
                raise RestorationPointNotFound(
                    f"no restoration point with id {point_id}",
                    hint="list them with 'nfv vnf restoration-point list <vnf>'")
            point = named[0]
        if check:
            point = dataclasses.replace(point, status=status(
                self._heat(point.vim_id, point.region), point))
        return point

    def delete_point(self, point_id: str) -> RestorationPoint:
        """Delete a point and its Heat snapshot."""
        point = self.get_point(point_id, check=False)
        release(self._heat(point.vim_id, point.region), self._store, point)
        return point
