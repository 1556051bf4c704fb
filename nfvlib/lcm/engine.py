"""Running an operation occurrence's plan: journal, lease, cancel, rollback.

A plan is an ordered list of :class:`Step` objects, each with ``do`` and an
optional ``undo``. The runner records every step's outcome in the occurrence
row (the journal), so any process can report progress and a later run can
resume where an earlier one stopped:

- forward: steps run from ``current_step``; a failing step leaves the
  occurrence FAILED_TEMP at that step, and ``retry`` runs it again;
- rollback: the failed step and every done step are undone in reverse.

Recovery (:mod:`nfvlib.lcm.policy`): an idempotent step that fails with a
transient error is run again a bounded number of times with backoff; an
occurrence's escalation policy then retries the failed step, rolls back
and falls back (to what the plan's :class:`Plan` ``fallback`` restores),
each as a journaled, notified state change. A suspend request stops the
run at the next step boundary (a step may stop earlier through
:meth:`StepContext.check_suspend`), leaving the occurrence FAILED_TEMP
with ``is_suspended`` set: SOL003 has no SUSPENDED state, and FAILED_TEMP
already means "stopped, resumable by retry, undoable by rollback", which
is what a suspended occurrence is (seed 001, 5.7.2.5 note 5).

The journal is matched to the plan by step name, so a plan built by a newer
nfvkit (a step added, e.g. a lifecycle script the VNFD now names) resumes at
the right step; a journal that cannot be matched ends FAILED_TEMP.

The process running a plan holds a lease on the occurrence: its pid, a token
of its own run (pids are reused), and an expiry on a clock that does not step
(:class:`LeaseClock`). A thread renews the lease, retrying through transient
store errors; every write of the runner checks, in the same transaction, that
the lease is still its own, so a runner that lost it stops. A process that
dies stops renewing, and :func:`reap_expired` turns its occurrence into
FAILED_TEMP (or ROLLED_BACK if it never started).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import sqlite3
import threading
import time
import traceback
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any, Callable, Iterable

from nfvlib.exceptions import Conflict, NfvError, StoreError
from nfvlib.lcm import notify, policy, states
from nfvlib.models import OpOcc, OpOccRecord, OpState, OpStep
from nfvlib.store import Store
from nfvlib.store.lcm import OpOccTable

log = logging.getLogger(__name__)

#: Seconds a lease lasts without renewal; renewed every third of that.
LEASE_SECONDS = 10.0
#: Grace for a freshly requested occurrence whose worker has not started yet.
START_GRACE_SECONDS = 30.0

_FINAL = frozenset({OpState.COMPLETED, OpState.FAILED, OpState.ROLLED_BACK})
_BOOT_ID_FILE = Path("/proc/sys/kernel/random/boot_id")


class Cancelled(Exception):
    """Raised inside a step when a cancel request stops the operation."""


class Suspended(Exception):
    """Raised inside a step (by :meth:`StepContext.check_suspend`) to stop for a suspend."""


#: The error title of a suspended occurrence (state FAILED_TEMP, is_suspended).
SUSPENDED_TITLE = "Operation suspended"


class LeaseLost(Exception):
    """Raised when another process took over (or reaped) the occurrence."""


class PlanMismatch(Exception):
    """The saved journal cannot be matched to the plan built now."""


@dataclass
class Step:
    """One step of a plan."""

    name: str
    do: Callable[[StepContext], None]
    undo: Callable[[StepContext], None] | None = None
    #: A failure of this step rolls the occurrence back at once (e.g. a
    #: tester's verdict: retrying the same deployment would not change it).
    rollback_on_failure: bool = False
    #: Running the step again has the same effect as running it once, so a
    #: transient error (policy.is_transient) retries it automatically and an
    #: escalation policy's ``retry:N`` may run it again.
    idempotent: bool = False


class Plan(list[Step]):
    """A plan's steps (a list), and what fallback means for its operation.

    ``fallback(ctx)`` restores the instance to the restoration point the
    plan took (forcefully); it returns a short text saying what it restored,
    or raises. None: the operation has no fallback, and an escalation to
    it is recorded as not available. A plan builder may return a plain list.
    """

    def __init__(self, steps: Iterable[Step] = (), *,
                 fallback: Callable[[StepContext], str | None] | None = None) -> None:
        super().__init__(steps)
        self.fallback = fallback


@dataclass
class StepContext:
    """What a step sees: the occurrence, shared data, and cancel checks.

    Steps call :meth:`save` and :meth:`check_cancel` at their boundaries (and
    ``check_cancel`` inside long waits): both raise :class:`LeaseLost` once
    the run no longer holds the occurrence's lease, which stops the step.
    """

    op: OpOcc
    data: dict[str, Any]
    runner: PlanRunner

    def save(self) -> None:
        """Persist ``data`` now (a step may call it mid-way, e.g. after create)."""
        self.runner.save_context(self.op.id, self.data)

    def note(self, text: str) -> None:
        """Add a line to this step's journal entry (its ``detail``)."""
        self.runner.notes.append(text)

    def check_cancel(self, *, forceful_only: bool = True) -> None:
        """Raise :class:`Cancelled` if a (FORCEFUL) cancel was requested.

        Raises :class:`LeaseLost` if the lease is no longer this run's.
        """
        self.runner.check_cancel(self.op.id, forceful_only=forceful_only)

    def check_suspend(self) -> None:
        """Raise :class:`Suspended` if a suspend was requested.

        For a long step (a tester) that can stop part-way: the step is then
        journaled SUSPENDED and runs again from its start on resume.
        Raises :class:`LeaseLost` if the lease is no longer this run's.
        """
        if self.runner._requests(self.op.id)[1]:
            raise Suspended("suspended during the step")

    def report_progress(self, text: str) -> None:
        """Record the running step's progress now (e.g. "3 of 5 tests passed")."""
        self.runner.report_progress(self.op.id, text)

    def pending_cancel(self) -> str | None:
        """The mode of a pending cancel (``"GRACEFUL"``/``"FORCEFUL"``), or None.

        For a step that waits and stops differently per mode. Raises
        :class:`LeaseLost` if the lease is no longer this run's.
        """
        return self.runner._cancel_requested(self.op.id)

    def transaction(self) -> _Owned:
        """A store transaction that first checks the lease is still this run's.

        For a step that writes to the store itself (e.g. the instance record):
        the write and the ownership check are one transaction.
        """
        return self.runner.owned_transaction(self.op.id)


def _wall() -> float:
    return time.time()


def _boottime() -> float:
    try:
        return time.clock_gettime(time.CLOCK_BOOTTIME)
    except (AttributeError, OSError):  # not Linux
        return time.monotonic()


def current_boot_id() -> str:
    """This boot's id (Linux), or ``"unknown"`` where the system has none."""
    try:
        return _BOOT_ID_FILE.read_text().strip() or "unknown"
    except OSError:
        return "unknown"


@dataclass(frozen=True)
class LeaseClock:
    """The time leases are measured in: a clock that does not step, and its boot.

    ``CLOCK_BOOTTIME`` counts seconds since boot (suspend included) and is the
    same for every process on the machine, so one process can judge another's
    lease; setting the wall clock does not move it. A lease stamped with
    another boot id was written before a reboot and has expired.
    """

    now: Callable[[], float] = _boottime
    boot_id: str = dataclasses.field(default_factory=current_boot_id)

    def expired(self, op: OpOccRecord, wall: Callable[[], float] = _wall) -> bool:
        """Whether ``op`` holds a lease that has run out."""
        if op.lease_expires_at is None:
            return False
        if op.lease_boot_id is None:
            # Written by an nfvkit that measured leases on the wall clock.
            return op.lease_expires_at <= wall()
        if op.lease_boot_id != self.boot_id:
            return True
        return op.lease_expires_at <= self.now()


def iso(ts: float) -> str:
    """A timestamp as ISO 8601 UTC with seconds."""
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


class PlanRunner:
    """Runs one occurrence's plan in this process while holding its lease.

    ``clock`` gives the wall time recorded in the journal; ``lease_clock``
    measures leases. ``lease_seconds`` is how long a lease lasts unrenewed.
    ``sleep`` pauses between automatic retries of a step; ``why_no_rollback``
    says why an occurrence cannot be rolled back (None: it can), for the
    escalation policy (default: :func:`nfvlib.lcm.plans.no_rollback_reason`).
    """

    def __init__(self, store: Store, plans: Callable[[OpOcc], list[Step]], *,
                 clock: Callable[[], float] = _wall,
                 lease_clock: LeaseClock | None = None, pid: int | None = None,
                 renew: bool = True, lease_seconds: float = LEASE_SECONDS,
                 sleep: Callable[[float], None] = time.sleep,
                 why_no_rollback: Callable[[OpOcc], str | None] | None = None) -> None:
        self.store = store
        self.sleep = sleep
        self._why_no_rollback = why_no_rollback
        #: (steps, index) of the step running forward, for report_progress.
        self._running: tuple[list[OpStep], int] | None = None
        self.table = OpOccTable(store)
        self.plans = plans
        #: Notes the running step left for its journal entry (StepContext.note).
        self.notes: list[str] = []
        self.clock = clock
        self.lease_clock = lease_clock or LeaseClock()
        self.pid = pid or os.getpid()
        self.lease_seconds = lease_seconds
        self.token = uuid.uuid4().hex
        self._renew = renew
        self._lost = threading.Event()
        self._expires_at = 0.0

    # -- public -----------------------------------------------------------------
    def run(self, op_id: str) -> OpOcc:
        """Take the lease and drive the occurrence forward or back to its end.

        Returns the occurrence as stored when this run stopped: also when it
        found nothing to do, or lost its lease to another process.
        """
        self.token = uuid.uuid4().hex
        self._lost.clear()
        try:
            op = self._acquire(op_id)
        except LeaseLost as exc:
            log.info("not running occurrence %s: %s", op_id, exc)
            return self._stored(op_id)
        stop = threading.Event()
        renewer = None
        if self._renew:
            renewer = threading.Thread(target=self._renew_lease, args=(op_id, stop),
                                       daemon=True, name=f"lease-{op_id[:8]}")
            renewer.start()
        try:
            if op.direction == "rollback":
                self._rollback(op)
            else:
                self._rollback_after(self._forward(op))
        except LeaseLost as exc:
            log.warning("stopped running occurrence %s: %s", op_id, exc)
        finally:
            stop.set()
            if renewer is not None:
                renewer.join(timeout=self.lease_seconds)
            self._release(op_id)
        return self._stored(op_id)

    def save_context(self, op_id: str, data: dict[str, Any]) -> None:
        """Persist a step's shared data (if the lease is still ours)."""
        with self.owned_transaction(op_id) as conn:
            self.table.set_context(conn, op_id, data)

    def check_cancel(self, op_id: str, *, forceful_only: bool) -> None:
        """Raise Cancelled when a matching cancel request is pending.

        Raises LeaseLost when the lease is no longer this run's.
        """
        self._ensure_lease()
        op: OpOccRecord | None = self.table.get(op_id)
        if op is None or (op.worker_pid, op.lease_token) != (self.pid, self.token):
            self._lost.set()
            raise LeaseLost(f"occurrence {op_id} is no longer run by this worker")
        if op.is_cancel_pending and (not forceful_only or op.cancel_mode == "FORCEFUL"):
            raise Cancelled(f"cancelled ({op.cancel_mode})")

    def owned_transaction(self, op_id: str) -> _Owned:
        """A write transaction that raises LeaseLost unless the lease is ours."""
        self._ensure_lease()
        return _Owned(self, op_id)

    # -- directions ---------------------------------------------------------------
    def _forward(self, op: OpOcc) -> OpOcc:
        if op.state is OpState.STARTING:
            op = self._start(op)
        built = self._plan(op, "run", "plan")
        if isinstance(built, OpOcc):
            return built
        plan, steps, index = built
        data = self.table.context(op.id)
        while index < len(plan):
            cancel, suspend = self._requests(op.id)
            if cancel:
                return self._fail_temp(op, steps, index, "cancelled (GRACEFUL) before "
                                       f"step {plan[index].name}", cancelled=True)
            if suspend:
                return self._suspend(op, steps, index)
            steps[index] = self._mark(steps[index], "RUNNING", attempt=True)
            op = self._journal(op, steps, index)
            try:
                self._attempts(plan[index], op, steps, index, data)
            except LeaseLost:
                raise
            except Cancelled as exc:
                steps[index] = self._mark(steps[index], "FAILED", str(exc))
                return self._fail_temp(op, steps, index, str(exc), cancelled=True)
            except Suspended:
                steps[index] = self._mark(steps[index], "SUSPENDED")
                self.save_context(op.id, data)
                return self._suspend(op, steps, index, during=True)
            except Exception as exc:  # noqa: BLE001 - any failure is FAILED_TEMP
                reason = _reason(exc)
                steps[index] = self._mark(steps[index], "FAILED", reason)
                self.save_context(op.id, data)
                op, again = self._recover(op, plan, steps, index, reason, "forward")
                if again:
                    continue
                return op
            steps[index] = self._mark(steps[index], "DONE")
            self.save_context(op.id, data)
            index += 1
            op = self._journal(op, steps, index)
        return self._transition(op, "complete", steps=steps, current_step=len(plan))

    def _attempts(self, step: Step, op: OpOcc, steps: list[OpStep], index: int,
                  data: dict[str, Any]) -> None:
        """Run ``step``; run an idempotent one again after a transient error.

        At most :data:`policy.STEP_RETRIES` retries, with growing pauses;
        each failed attempt is a line in the step's detail, a journal write
        and a notification. A cancel or suspend asked for meanwhile stops
        the retries.
        """
        from nfvlib._wait import Backoff

        backoff = Backoff(first=policy.RETRY_FIRST, cap=policy.RETRY_CAP,
                          factor=policy.RETRY_FACTOR, sleep=self.sleep)
        retries = 0
        self._running = (steps, index)
        try:
            while True:
                try:
                    step.do(StepContext(op, data, self))
                    return
                except (LeaseLost, Cancelled, Suspended):
                    raise
                except Exception as exc:  # noqa: BLE001 - sorted below
                    if (not step.idempotent or retries >= policy.STEP_RETRIES
                            or not policy.is_transient(exc)):
                        raise
                    retries += 1
                    self.notes.append(f"attempt {steps[index].attempts} failed: "
                                      f"{_reason(exc)}; retrying ({retries} of "
                                      f"{policy.STEP_RETRIES})")
                    steps[index] = dataclasses.replace(steps[index],
                                                       detail="; ".join(self.notes))
                    self.save_context(op.id, data)
                    self._journal(op, steps, index, notified=True)
                    log.warning("occurrence %s: step %s: %s", op.id, step.name,
                                self.notes[-1])
                    backoff.pause()
                    cancel, suspend = self._requests(op.id)
                    if cancel:
                        raise Cancelled(f"cancelled ({cancel}) before attempt "
                                        f"{steps[index].attempts + 1}") from exc
                    if suspend:
                        raise Suspended("suspended between two attempts") from exc
                    steps[index] = dataclasses.replace(
                        steps[index], attempts=steps[index].attempts + 1)
                    self._journal(op, steps, index)
        finally:
            self._running = None

    def report_progress(self, op_id: str, text: str) -> None:
        """Record the running step's progress in the journal."""
        if self._running is None:
            return
        steps, index = self._running
        steps[index] = dataclasses.replace(steps[index], progress=" ".join(text.split()))
        with self.owned_transaction(op_id) as conn:
            self.table.set_progress(conn, op_id, tuple(steps), index)

    def _suspend(self, op: OpOcc, steps: list[OpStep], index: int, *,
                 during: bool = False) -> OpOcc:
        """Stop for a suspend: FAILED_TEMP, ``is_suspended``, at ``index``."""
        where = (f"step {index + 1} of {len(steps)} ({steps[index].name})"
                 if index < len(steps) else "its end")
        detail = (f"suspended {'during' if during else 'before'} {where}; resume it with "
                  f"'vnflcm op resume {op.id}', or roll it back from there with "
                  f"'vnflcm op rollback {op.id}'")
        return self._transition(op, "fail_temp", steps=steps, current_step=index,
                                error={"title": SUSPENDED_TITLE, "status": 409,
                                       "detail": detail},
                                is_cancel_pending=False, is_suspend_pending=False,
                                is_suspended=True)

    def _recover(self, op: OpOcc, plan: list[Step], steps: list[OpStep], index: int,
                 reason: str, phase: str) -> tuple[OpOcc, bool]:
        """Leave the occurrence FAILED_TEMP, then apply its escalation policy.

        ``phase`` is what failed: ``"forward"`` (a step) or ``"rollback"``
        (an undo). Returns the occurrence and whether the forward run goes
        on at ``index`` (a policy retry).
        """
        try:
            pol = policy.parse(op.on_failure)
        except NfvError:
            pol = policy.Policy()
        if pol.empty:
            return self._fail_temp(op, steps, index, reason), False
        current = self._stored(op.id)
        step = plan[index].name if index < len(plan) else None
        if current.is_suspend_pending:
            self._escalation(op.id, "none", step, reason,
                             "not applied: a suspend was requested")
            return self._fail_temp(op, steps, index, reason), False
        skipped: list[tuple[str, str]] = []
        action, used = None, 0
        if phase == "forward":
            used = sum(1 for e in current.escalations
                       if e.get("procedure") == "retry" and e.get("step") == step)
            if used < pol.retries:
                if plan[index].idempotent:
                    action = "retry"
                else:
                    skipped.append(("retry", f"skipped: step {step} is not idempotent"))
            if action is None and pol.rollback:
                why = self._no_rollback(current)
                if why:
                    skipped.append(("rollback", f"not possible: {why}"))
                else:
                    action = "rollback"
        if action is None and pol.fallback and phase in ("forward", "rollback") and (
                phase == "rollback" or not pol.rollback or skipped):
            if getattr(plan, "fallback", None) is None:
                skipped.append(("fallback", "not available for this operation"))
            else:
                action = "fallback"
        for procedure, outcome in skipped:
            self._escalation(op.id, procedure, step, reason, outcome)
        notes = "; ".join(f"{p} {o}" for p, o in skipped)
        op = self._fail_temp(op, steps, index,
                             f"{reason}; escalation: {notes}" if notes else reason)
        if action == "retry":
            self._escalation(op.id, "retry", step, reason,
                             f"attempt {used + 1} of {pol.retries}")
            return self._transition(op, "retry", steps=steps, current_step=index,
                                    error=None), True
        if action == "rollback":
            self._escalation(op.id, "rollback", step, reason, "started")
            op = self._transition(op, "rollback", steps=steps, current_step=index,
                                  direction="rollback")
            return self._rollback(op), False
        if action == "fallback":
            return self._fallback(op, plan, steps, index, reason), False
        return op, False

    def _fallback(self, op: OpOcc, plan: list[Step], steps: list[OpStep], index: int,
                  reason: str) -> OpOcc:
        """Run the plan's fallback: ROLLING_BACK, then ROLLED_BACK or FAILED_TEMP."""
        step = plan[index].name if index < len(plan) else None
        self._escalation(op.id, "fallback", step, reason, "started")
        op = self._transition(op, "fallback", steps=steps, current_step=index,
                              direction="rollback")
        data = self.table.context(op.id)
        try:
            summary = plan.fallback(StepContext(op, data, self))  # type: ignore[attr-defined]
        except LeaseLost:
            raise
        except Exception as exc:  # noqa: BLE001
            why = _reason(exc)
            self.save_context(op.id, data)
            self._escalation(op.id, "fallback", step, reason, f"failed: {why}")
            return self._fail_temp(op, steps, index, f"{reason}; fallback failed: {why}")
        self.save_context(op.id, data)
        self._escalation(op.id, "fallback", step, reason,
                         f"done: {summary}" if summary else "done")
        detail = (f"{reason}; fell back to the restoration point"
                  f"{f' ({summary})' if summary else ''}: changes made after it are lost")
        return self._transition(op, "rolled_back", steps=steps, current_step=0,
                                error={"title": "Operation rolled back by fallback",
                                       "status": 500, "detail": detail})

    def _no_rollback(self, op: OpOcc) -> str | None:
        if self._why_no_rollback is not None:
            return self._why_no_rollback(op)
        from nfvlib.lcm import plans

        return plans.no_rollback_reason(op)

    def _escalation(self, op_id: str, procedure: str, step: str | None, reason: str,
                    outcome: str) -> None:
        """Append one entry to the occurrence's escalation log."""
        entry = {"at": iso(self.clock()), "procedure": procedure, "step": step,
                 "reason": reason, "outcome": outcome}
        with self.owned_transaction(op_id) as conn:
            self.table.add_escalation(conn, op_id, entry)
        log.info("occurrence %s: %s %s (%s)", op_id, procedure, outcome, reason)

    def _rollback_after(self, op: OpOcc) -> OpOcc:
        """Roll back at once when the step that failed asks for it."""
        if op.state is not OpState.FAILED_TEMP or (op.error or {}).get("status") == 409:
            return op
        try:
            failed = self.plans(op)[op.current_step]
        except Exception:  # noqa: BLE001 - no plan: leave it FAILED_TEMP
            return op
        if not getattr(failed, "rollback_on_failure", False):
            return op
        op = self._transition(op, "rollback", direction="rollback")
        return self._rollback(op)

    def _plan(self, op: OpOcc, verb: str, what: str
              ) -> tuple[list[Step], list[OpStep], int] | OpOcc:
        """``(plan, steps, index)`` with the journal laid over the plan by step name.

        A plan that cannot be built or does not match the journal leaves the
        occurrence FAILED_TEMP, which is returned instead.
        """
        try:
            plan = self.plans(op)
            steps, index = _align(op, plan, undoing=verb == "roll back")
        except (LeaseLost, StoreError):
            raise
        except PlanMismatch as exc:
            return self._fail_temp(op, list(op.steps), op.current_step,
                                   f"cannot {verb} {op.operation.value}: {exc}; "
                                   "fail it with 'vnflcm op fail'")
        except Exception as exc:  # noqa: BLE001 - e.g. the package is gone
            return self._fail_temp(op, list(op.steps), op.current_step,
                                   f"cannot build the {what}: {_reason(exc)}")
        return plan, steps, index

    def _rollback(self, op: OpOcc) -> OpOcc:
        built = self._plan(op, "roll back", "rollback plan")
        if isinstance(built, OpOcc):
            return built
        plan, steps, _ = built
        data = self.table.context(op.id)
        index = len(plan) - 1
        while index >= 0:
            status = steps[index].status
            undo = plan[index].undo
            if status in ("DONE", "FAILED", "RUNNING", "SUSPENDED") and undo is not None:
                mode = self._cancel_requested(op.id)
                if mode:
                    return self._fail_temp(
                        op, steps, index, f"cancelled ({mode}) during rollback, before "
                        f"undoing step {plan[index].name}", cancelled=True)
                steps[index] = self._mark(steps[index], "RUNNING")
                op = self._journal(op, steps, index)
                try:
                    undo(StepContext(op, data, self))
                except LeaseLost:
                    raise
                except Cancelled as exc:
                    reason = f"rollback of step {plan[index].name} {exc}"
                    steps[index] = self._mark(steps[index], "FAILED", reason)
                    self.save_context(op.id, data)
                    return self._fail_temp(op, steps, index, reason, cancelled=True)
                except Exception as exc:  # noqa: BLE001
                    reason = f"rollback of step {plan[index].name} failed: {_reason(exc)}"
                    steps[index] = self._mark(steps[index], "FAILED", reason)
                    self.save_context(op.id, data)
                    return self._recover(op, plan, steps, index, reason, "rollback")[0]
                steps[index] = self._mark(steps[index], "UNDONE")
                self.save_context(op.id, data)
            elif status == "PENDING":
                steps[index] = self._mark(steps[index], "SKIPPED")
            index -= 1
            op = self._journal(op, steps, max(index, 0))
        return self._transition(op, "rolled_back", steps=steps, current_step=0)

    # -- journal and transitions -----------------------------------------------------
    def _mark(self, step: OpStep, status: str, error: str | None = None, *,
              attempt: bool = False) -> OpStep:
        now = iso(self.clock())
        if status == "RUNNING":
            self.notes.clear()
            return dataclasses.replace(step, status=status, started_at=now,
                                       ended_at=None, error=None,
                                       attempts=step.attempts + (1 if attempt else 0))
        detail = "; ".join(self.notes) or step.detail
        self.notes.clear()
        return dataclasses.replace(step, status=status, ended_at=now, error=error,
                                   detail=detail)

    def _journal(self, op: OpOcc, steps: list[OpStep], index: int, *,
                 notified: bool = False) -> OpOcc:
        """Record the journal; ``notified``: also notify the occurrence as it is."""
        updated = dataclasses.replace(op, steps=tuple(steps), current_step=index)
        sent = 0
        with self.owned_transaction(op.id) as conn:
            self.table.set_progress(conn, op.id, updated.steps, index)
            if notified:
                sent = notify.record(conn, self._stored(op.id))
        if sent:
            notify.kick(self.store)
        return updated

    def _fail_temp(self, op: OpOcc, steps: list[OpStep], index: int, reason: str,
                   *, cancelled: bool = False) -> OpOcc:
        return self._transition(op, "fail_temp", steps=steps, current_step=index,
                                error=_problem(reason, cancelled=cancelled),
                                is_cancel_pending=False)

    def _start(self, op: OpOcc) -> OpOcc:
        """STARTING -> PROCESSING, only if nothing (a cancel) moved it meanwhile."""
        with self.owned_transaction(op.id) as conn:
            if not self.table.set_state_if(conn, op.id, OpState.STARTING,
                                           OpState.PROCESSING,
                                           state_entered_time=iso(self.clock()),
                                           error=None):
                current = self._stored(op.id)
                raise LeaseLost(f"occurrence {op.id} is {current.state.value} "
                                "before it started; nothing was done")
            notified = notify.record(conn, self._stored(op.id))
        if notified:
            notify.kick(self.store)
        return self._stored(op.id)

    def _transition(self, op: OpOcc, request: str, **changes: Any) -> OpOcc:
        with self.owned_transaction(op.id) as conn:
            current = self._stored(op.id)
            try:
                target = states.check_move(request, current.state, op.id)
            except Conflict as exc:
                # Only this run moves an occurrence it holds; anything else
                # means it is no longer ours to change.
                raise LeaseLost(str(exc)) from exc
            if "steps" in changes:
                changes["steps"] = tuple(changes["steps"])
            if target in (OpState.PROCESSING, OpState.ROLLING_BACK, OpState.COMPLETED,
                          OpState.ROLLED_BACK):
                changes.setdefault("error", current.error if target in (
                    OpState.ROLLING_BACK, OpState.ROLLED_BACK) else None)
            if target in _FINAL:
                changes["is_cancel_pending"] = False  # a final occurrence has none
            if target in _FINAL or target is OpState.FAILED_TEMP:
                changes.setdefault("is_suspend_pending", False)
            changes.setdefault("is_suspended", False)
            updated = dataclasses.replace(current, state=target,
                                          state_entered_time=iso(self.clock()), **changes)
            self.table.update(conn, updated)
            notified = notify.record(conn, updated)
        if notified:
            notify.kick(self.store, updated)  # never raises; waits when the run ends
        return updated

    # -- lease --------------------------------------------------------------------
    def _acquire(self, op_id: str) -> OpOccRecord:
        with self.store.transaction() as conn:
            op = self._stored(op_id)
            if op.state not in states.ACTIVE:
                raise LeaseLost(f"occurrence {op_id} is {op.state.value}")
            holder = op.worker_pid
            if (holder is not None and (holder, op.lease_token) != (self.pid, self.token)
                    and not self.lease_clock.expired(op, self.clock) and _alive(holder)):
                raise LeaseLost(f"occurrence {op_id} is run by pid {holder}")
            self._expires_at = self.lease_clock.now() + self.lease_seconds
            self.table.take_lease(conn, op_id, self.pid, self.token, self._expires_at,
                                  self.lease_clock.boot_id)
        return self._stored(op_id)

    def _stored(self, op_id: str) -> OpOccRecord:
        """The occurrence as stored now (occurrences are never deleted)."""
        op: OpOccRecord | None = self.table.get(op_id)
        if op is None:
            raise NfvError(f"no operation occurrence {op_id} in {self.store.path}")
        return op

    def _release(self, op_id: str) -> None:
        try:
            with self.store.transaction() as conn:
                self.table.release_lease(conn, op_id, self.pid, self.token)
        except (StoreError, sqlite3.Error) as exc:
            # The lease then simply expires.
            log.warning("could not release the lease on %s: %s", op_id, exc)

    def _renew_lease(self, op_id: str, stop: threading.Event) -> None:
        """Renew every third of a lease; through store errors until it would expire."""
        # sqlite connections belong to one thread: the renewer has its own, and
        # it waits for a busy store only briefly, so that it can try again
        # several times before the lease runs out.
        store = Store(self.store.path)
        expires_at = self._expires_at
        pause = self.lease_seconds / 3
        retry = self.lease_seconds / 20
        try:
            while not stop.wait(pause):
                new_expiry = self.lease_clock.now() + self.lease_seconds
                try:
                    still_ours = self._renew_once(store, op_id, new_expiry)
                except (StoreError, sqlite3.Error) as exc:
                    store.close()  # a fresh connection for the next attempt
                    if self.lease_clock.now() + retry >= expires_at:
                        log.error("lease on %s expired while the store failed: %s",
                                  op_id, exc)
                        self._lost.set()
                        return
                    log.warning("renewing the lease on %s failed, retrying: %s",
                                op_id, exc)
                    pause = retry
                    continue
                if not still_ours:
                    self._lost.set()
                    return
                expires_at, pause = new_expiry, self.lease_seconds / 3
        finally:
            store.close()

    def _renew_once(self, store: Store, op_id: str, expires_at: float) -> bool:
        busy_ms = max(1, int(self.lease_seconds * 1000 / 20))
        store.conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
        with store.transaction() as conn:
            return OpOccTable(store).renew_lease(conn, op_id, self.pid, self.token,
                                                 expires_at)

    def _ensure_lease(self) -> None:
        if self._lost.is_set():
            raise LeaseLost("the lease was lost")

    def _check_owner(self, conn: sqlite3.Connection, op_id: str) -> None:
        if self.table.owner(conn, op_id) != (self.pid, self.token):
            self._lost.set()
            raise LeaseLost(f"occurrence {op_id} is no longer run by this worker")

    def _cancel_requested(self, op_id: str) -> str | None:
        """The mode of a pending cancel, or None (LeaseLost if no longer ours)."""
        return self._requests(op_id)[0]

    def _requests(self, op_id: str) -> tuple[str | None, bool]:
        """``(cancel mode or None, suspend requested)`` (LeaseLost if no longer ours)."""
        self._ensure_lease()
        op: OpOccRecord | None = self.table.get(op_id)
        if op is None or (op.worker_pid, op.lease_token) != (self.pid, self.token):
            self._lost.set()
            raise LeaseLost(f"occurrence {op_id} is no longer run by this worker")
        return ((op.cancel_mode or "GRACEFUL") if op.is_cancel_pending else None,
                op.is_suspend_pending)


class _Owned:
    """Context manager: a store transaction whose first act is the owner check."""

    def __init__(self, runner: PlanRunner, op_id: str) -> None:
        self.runner = runner
        self.op_id = op_id
        self._cm: contextlib.AbstractContextManager[sqlite3.Connection] | None = None

    def __enter__(self) -> sqlite3.Connection:
        cm = self._cm = self.runner.store.transaction()
        conn = cm.__enter__()
        try:
            self.runner._check_owner(conn, self.op_id)
        except BaseException as exc:
            cm.__exit__(type(exc), exc, exc.__traceback__)
            raise
        return conn

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> bool | None:
        if self._cm is None:
            raise RuntimeError("the owned transaction was not entered")
        return self._cm.__exit__(exc_type, exc, tb)


def _align(op: OpOcc, plan: list[Step], *, undoing: bool
           ) -> tuple[list[OpStep], int]:
    """The journal laid over ``plan`` by step name, and the plan index to resume at.

    Steps the plan has and the journal lacks are PENDING; they must come
    after the point where a forward run resumes. Raises PlanMismatch when a
    journal step is not in the plan, the order differs, or names repeat.
    """
    names = [s.name for s in plan]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise PlanMismatch(f"the plan names step(s) {', '.join(twice)} more than once")
    if not op.steps:
        return [OpStep(n) for n in names], min(op.current_step, len(names))
    position = {n: i for i, n in enumerate(names)}
    unknown = [s.name for s in op.steps if s.name not in position]
    if unknown:
        raise PlanMismatch(f"its journal has step(s) {', '.join(unknown)} that the "
                           "plan no longer has")
    order = [position[s.name] for s in op.steps]
    if order != sorted(order) or len(set(order)) != len(order):
        raise PlanMismatch("the plan has the journal's steps in another order")
    saved = {s.name: s for s in op.steps}
    steps = [saved.get(n, OpStep(n)) for n in names]
    if op.current_step < len(op.steps):
        index = position[op.steps[op.current_step].name]
    else:
        index = order[-1] + 1
    if not undoing:
        skipped = [n for n in names[:index] if n not in saved]
        if skipped:
            raise PlanMismatch(f"the plan has new step(s) {', '.join(skipped)} before "
                               "the step where the operation stopped")
    return steps, index


def expired(store: Store, *, clock: Callable[[], float] = _wall,
            lease_clock: LeaseClock | None = None) -> list[OpOcc]:
    """Occurrences whose lease ran out, as :func:`reap_expired` would leave them.

    Writes nothing, so it also answers on a store opened read-only.
    """
    lease_clock = lease_clock or LeaseClock()
    now = clock()
    # The table reads OpOccRecord rows: the lease is part of them.
    return [_reaped(op, now) for op in OpOccTable(store).with_lease()
            if isinstance(op, OpOccRecord) and lease_clock.expired(op, clock)]


def reap_expired(store: Store, *, clock: Callable[[], float] = _wall,
                 lease_clock: LeaseClock | None = None) -> list[OpOcc]:
    """Turn occurrences whose worker stopped renewing into FAILED_TEMP.

    A STARTING occurrence whose worker never began becomes ROLLED_BACK
    (nothing was done). Returns the occurrences changed.
    """
    lease_clock = lease_clock or LeaseClock()
    table = OpOccTable(store)
    changed: list[OpOcc] = []
    for candidate in expired(store, clock=clock, lease_clock=lease_clock):
        with store.transaction() as conn:
            current: OpOccRecord | None = table.get(candidate.id)
            if (current is None or current.state not in states.ACTIVE
                    or not lease_clock.expired(current, clock)):
                continue
            updated = _reaped(current, clock())
            table.update(conn, updated)
            notify.record(conn, updated)
            changed.append(updated)
    return changed


def _reaped(current: OpOccRecord, now: float) -> OpOccRecord:
    where = current.step_summary or "before its first step"
    if current.state is OpState.STARTING:
        target = OpState.ROLLED_BACK
        detail = (f"the worker (pid {current.worker_pid}) never started the "
                  "operation; nothing was changed")
    else:
        target = OpState.FAILED_TEMP
        detail = (f"the worker (pid {current.worker_pid}) stopped at {where} "
                  "without finishing (its lease expired); retry or roll back")
    return dataclasses.replace(
        current, state=target, state_entered_time=iso(now), error=_problem(detail),
        worker_pid=None, lease_expires_at=None, lease_token=None, lease_boot_id=None,
        is_cancel_pending=False, is_suspend_pending=False)


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
