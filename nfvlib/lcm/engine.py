"""Running an operation occurrence's plan: journal, lease, cancel, rollback.

A plan is an ordered list of :class:`Step` objects, each with ``do`` and an
optional ``undo``. The runner records every step's outcome in the occurrence
row (the journal), so any process can report progress and a later run can
resume where an earlier one stopped:

- forward: steps run from ``current_step``; a failing step leaves the
  occurrence FAILED_TEMP at that step, and ``retry`` runs it again;
- rollback: the failed step and every done step are undone in reverse.

The process running a plan holds a lease on the occurrence that it renews
from a thread; a process that dies stops renewing, and :func:`reap_expired`
turns its occurrence into FAILED_TEMP (or ROLLED_BACK if it never started).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
import traceback
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from nfvlib.exceptions import NfvError
from nfvlib.lcm import states
from nfvlib.models import OpOcc, OpState, OpStep
from nfvlib.store import Store
from nfvlib.store.lcm import OpOccTable

#: Seconds a lease lasts without renewal; renewed every third of that.
LEASE_SECONDS = 10.0
#: Grace for a freshly requested occurrence whose worker has not started yet.
START_GRACE_SECONDS = 30.0


class Cancelled(Exception):
    """Raised inside a step when a cancel request stops the operation."""


class LeaseLost(Exception):
    """Raised when another process took over (or reaped) the occurrence."""


@dataclass
class Step:
    """One step of a plan."""

    name: str
    do: Callable[[StepContext], None]
    undo: Callable[[StepContext], None] | None = None


@dataclass
class StepContext:
    """What a step sees: the occurrence, shared data, and cancel checks."""

    op: OpOcc
    data: dict[str, Any]
    runner: PlanRunner

    def save(self) -> None:
        """Persist ``data`` now (a step may call it mid-way, e.g. after create)."""
        self.runner.save_context(self.op.id, self.data)

    def check_cancel(self, *, forceful_only: bool = True) -> None:
        """Raise :class:`Cancelled` if a (FORCEFUL) cancel was requested."""
        self.runner.check_cancel(self.op.id, forceful_only=forceful_only)


def _wall() -> float:
    return time.time()


def iso(ts: float) -> str:
    """A timestamp as ISO 8601 UTC with seconds."""
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


class PlanRunner:
    """Runs one occurrence's plan in this process while holding its lease."""

    def __init__(self, store: Store, plans: Callable[[OpOcc], list[Step]], *,
                 clock: Callable[[], float] = _wall, pid: int | None = None,
                 renew: bool = True) -> None:
        self.store = store
        self.table = OpOccTable(store)
        self.plans = plans
        self.clock = clock
        self.pid = pid or os.getpid()
        self._renew = renew
        self._lost = threading.Event()

    # -- public -----------------------------------------------------------------
    def run(self, op_id: str) -> OpOcc:
        """Take the lease and drive the occurrence forward or back to its end."""
        try:
            op = self._acquire(op_id)
        except LeaseLost:
            return self.table.get(op_id)
        stop = threading.Event()
        renewer = None
        if self._renew:
            renewer = threading.Thread(target=self._renew_lease, args=(op_id, stop),
                                       daemon=True, name=f"lease-{op_id[:8]}")
            renewer.start()
        try:
            if op.direction == "rollback":
                return self._rollback(op)
            return self._forward(op)
        except LeaseLost:
            return self.table.get(op_id)
        finally:
            stop.set()
            if renewer is not None:
                renewer.join(timeout=LEASE_SECONDS)
            self._release(op_id)

    def save_context(self, op_id: str, data: dict[str, Any]) -> None:
        """Persist a step's shared data."""
        self._ensure_lease()
        with self.store.transaction() as conn:
            self.table.set_context(conn, op_id, data)

    def check_cancel(self, op_id: str, *, forceful_only: bool) -> None:
        """Raise Cancelled when a matching cancel request is pending."""
        self._ensure_lease()
        op = self.table.get(op_id)
        if op is not None and op.is_cancel_pending and (
                not forceful_only or op.cancel_mode == "FORCEFUL"):
            raise Cancelled(f"cancelled ({op.cancel_mode})")

    # -- directions ---------------------------------------------------------------
    def _forward(self, op: OpOcc) -> OpOcc:
        if op.state is OpState.STARTING:
            op = self._transition(op, "start")
        plan = self.plans(op)
        steps = list(op.steps) or [OpStep(s.name) for s in plan]
        data = self.table.context(op.id)
        index = op.current_step
        while index < len(plan):
            if self._cancel_requested(op.id):
                return self._fail_temp(op, steps, index, "cancelled (GRACEFUL) before "
                                       f"step {plan[index].name}", cancelled=True)
            steps[index] = self._mark(steps[index], "RUNNING")
            op = self._journal(op, steps, index)
            ctx = StepContext(op, data, self)
            try:
                plan[index].do(ctx)
            except LeaseLost:
                raise
            except Cancelled as exc:
                steps[index] = self._mark(steps[index], "FAILED", str(exc))
                return self._fail_temp(op, steps, index, str(exc), cancelled=True)
            except Exception as exc:  # noqa: BLE001 - any failure is FAILED_TEMP
                reason = _reason(exc)
                steps[index] = self._mark(steps[index], "FAILED", reason)
                self.save_context(op.id, data)
                return self._fail_temp(op, steps, index, reason)
            steps[index] = self._mark(steps[index], "DONE")
            self.save_context(op.id, data)
            index += 1
            op = self._journal(op, steps, index)
        return self._transition(op, "complete", steps=steps, current_step=len(plan))

    def _rollback(self, op: OpOcc) -> OpOcc:
        plan = self.plans(op)
        steps = list(op.steps) or [OpStep(s.name) for s in plan]
        data = self.table.context(op.id)
        index = len(plan) - 1
        while index >= 0:
            status = steps[index].status
            if status in ("DONE", "FAILED", "RUNNING") and plan[index].undo is not None:
                steps[index] = self._mark(steps[index], "RUNNING")
                op = self._journal(op, steps, index)
                try:
                    plan[index].undo(StepContext(op, data, self))
                except LeaseLost:
                    raise
                except Exception as exc:  # noqa: BLE001
                    reason = f"rollback of step {plan[index].name} failed: {_reason(exc)}"
                    steps[index] = self._mark(steps[index], "FAILED", reason)
                    self.save_context(op.id, data)
                    return self._transition(op, "fail_temp", steps=steps,
                                            current_step=index, error=_problem(reason))
                steps[index] = self._mark(steps[index], "UNDONE")
                self.save_context(op.id, data)
            elif status == "PENDING":
                steps[index] = self._mark(steps[index], "SKIPPED")
            index -= 1
            op = self._journal(op, steps, max(index, 0))
        return self._transition(op, "rolled_back", steps=steps, current_step=0)

    # -- journal and transitions -----------------------------------------------------
    def _mark(self, step: OpStep, status: str, error: str | None = None) -> OpStep:
        now = iso(self.clock())
        if status == "RUNNING":
            return dataclasses.replace(step, status=status, started_at=now,
                                       ended_at=None, error=None)
        return dataclasses.replace(step, status=status, ended_at=now, error=error)

    def _journal(self, op: OpOcc, steps: list[OpStep], index: int) -> OpOcc:
        self._ensure_lease()
        updated = dataclasses.replace(op, steps=tuple(steps), current_step=index)
        with self.store.transaction() as conn:
            self._check_owner(conn, op.id)
            self.table.set_progress(conn, op.id, updated.steps, index)
        return updated

    def _fail_temp(self, op: OpOcc, steps: list[OpStep], index: int, reason: str,
                   *, cancelled: bool = False) -> OpOcc:
        return self._transition(op, "fail_temp", steps=steps, current_step=index,
                                error=_problem(reason, cancelled=cancelled),
                                is_cancel_pending=False)

    def _transition(self, op: OpOcc, request: str, **changes: Any) -> OpOcc:
        with self.store.transaction() as conn:
            self._check_owner(conn, op.id)
            current = self.table.get(op.id)
            target = states.check(request, current.state, op.id)
            if "steps" in changes:
                changes["steps"] = tuple(changes["steps"])
            if target in (OpState.PROCESSING, OpState.ROLLING_BACK, OpState.COMPLETED,
                          OpState.ROLLED_BACK):
                changes.setdefault("error", current.error if target in (
                    OpState.ROLLING_BACK, OpState.ROLLED_BACK) else None)
            updated = dataclasses.replace(current, state=target,
                                          state_entered_time=iso(self.clock()), **changes)
            self.table.update(conn, updated)
        return updated

    # -- lease --------------------------------------------------------------------
    def _acquire(self, op_id: str) -> OpOcc:
        now = self.clock()
        with self.store.transaction() as conn:
            op = self.table.get(op_id)
            if op is None:
                raise NfvError(f"no operation occurrence {op_id} in {self.store.path}")
            if op.state not in states.ACTIVE:
                raise LeaseLost(f"occurrence {op_id} is {op.state.value}")
            if (op.worker_pid not in (None, self.pid) and op.lease_expires_at
                    and op.lease_expires_at > now and _alive(op.worker_pid)):
                raise LeaseLost(f"occurrence {op_id} is run by pid {op.worker_pid}")
            conn.execute("UPDATE op_occs SET worker_pid = ?, lease_expires_at = ? "
                         "WHERE id = ?", (self.pid, now + LEASE_SECONDS, op_id))
        return self.table.get(op_id)

    def _release(self, op_id: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("UPDATE op_occs SET worker_pid = NULL, lease_expires_at = NULL "
                         "WHERE id = ? AND worker_pid = ?", (op_id, self.pid))

    def _renew_lease(self, op_id: str, stop: threading.Event) -> None:
        # sqlite connections belong to one thread: the renewer has its own.
        store = Store(self.store.path)
        try:
            while not stop.wait(LEASE_SECONDS / 3):
                with store.transaction() as conn:
                    cur = conn.execute(
                        "UPDATE op_occs SET lease_expires_at = ? "
                        "WHERE id = ? AND worker_pid = ?",
                        (self.clock() + LEASE_SECONDS, op_id, self.pid))
                if cur.rowcount != 1:
                    self._lost.set()
                    return
        finally:
            store.close()

    def _ensure_lease(self) -> None:
        if self._lost.is_set():
            raise LeaseLost("the lease was lost")

    def _check_owner(self, conn: Any, op_id: str) -> None:
        row = conn.execute("SELECT worker_pid FROM op_occs WHERE id = ?",
                           (op_id,)).fetchone()
        if row is None or row[0] != self.pid:
            self._lost.set()
            raise LeaseLost(f"occurrence {op_id} is no longer ours")

    def _cancel_requested(self, op_id: str) -> bool:
        op = self.table.get(op_id)
        return bool(op and op.is_cancel_pending)


def reap_expired(store: Store, *, clock: Callable[[], float] = _wall) -> list[OpOcc]:
    """Turn occurrences whose worker stopped renewing into FAILED_TEMP.

    A STARTING occurrence whose worker never began becomes ROLLED_BACK
    (nothing was done). Returns the occurrences changed.
    """
    table = OpOccTable(store)
    now = clock()
    changed = []
    for op in table.with_lease():
        if op.lease_expires_at is None or op.lease_expires_at > now:
            continue
        with store.transaction() as conn:
            current = table.get(op.id)
            if (current is None or current.state not in states.ACTIVE
                    or current.lease_expires_at is None
                    or current.lease_expires_at > now):
                continue
            where = current.step_summary or "before its first step"
            if current.state is OpState.STARTING:
                target = OpState.ROLLED_BACK
                detail = (f"the worker (pid {current.worker_pid}) never started the "
                          "operation; nothing was changed")
            else:
                target = OpState.FAILED_TEMP
                detail = (f"the worker (pid {current.worker_pid}) stopped at {where} "
                          "without finishing (its lease expired); retry or roll back")
            updated = dataclasses.replace(
                current, state=target, state_entered_time=iso(now),
                error=_problem(detail), worker_pid=None, lease_expires_at=None,
                is_cancel_pending=False)
            table.update(conn, updated)
            changed.append(updated)
    return changed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if not text:
        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text


def _problem(detail: str, *, cancelled: bool = False) -> dict[str, Any]:
    """A SOL013 ProblemDetails body for an occurrence's error."""
    return {"title": "Operation cancelled" if cancelled else "Operation failed",
            "status": 409 if cancelled else 500, "detail": detail}
