"""The plan runner, journal, lease and state machine on a real store, no sleeping."""

from __future__ import annotations

import dataclasses
import os

import pytest

from nfvlib import Conflict
from nfvlib.lcm import engine, states
from nfvlib.lcm.engine import Cancelled, PlanRunner, Step
from nfvlib.models import (OnboardingState, Operation, OpOcc, OpOccRecord, OpState, OpStep,
                           PackageInfo, VnfInstance)
from nfvlib.store import Store
from nfvlib.store.lcm import OpOccTable, PackageTable, VnfTable
from tests.unit.conftest import FakeClock as Clock


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "nfv.sqlite")
    with s.transaction() as conn:
        PackageTable(s).insert(conn, PackageInfo(id="pkg", vnfd_id="vnfd",
                                                 onboarding_state=OnboardingState.ONBOARDED,
                                                 created_at="t"))
        VnfTable(s).insert(conn, VnfInstance(id="vnf1", vnfd_id="vnfd", package_id="pkg",
                                             created_at="t"))
        VnfTable(s).insert(conn, VnfInstance(id="vnf2", vnfd_id="vnfd", package_id="pkg",
                                             created_at="t"))
    yield s
    s.close()


def new_op(store, op_id="op1", vnf="vnf1", state=OpState.STARTING, **kw) -> OpOcc:
    op = OpOccRecord(id=op_id, vnf_instance_id=vnf, operation=Operation.INSTANTIATE,
                     state=state, start_time="t0", state_entered_time="t0", **kw)
    with store.transaction() as conn:
        OpOccTable(store).insert(conn, op)
    return op


class Recorder:
    """Steps that record what ran; any step may be told to fail or cancel."""

    def __init__(self, names=("a", "b", "c")):
        self.names = list(names)
        self.calls: list[str] = []
        self.fail: set[str] = set()
        self.cancel_in: str | None = None

    def plans(self, op):
        def do(name):
            def run(ctx):
                self.calls.append(f"do {name}")
                ctx.data[name] = True
                if self.cancel_in == name:
                    raise Cancelled("cancelled (FORCEFUL)")
                if name in self.fail:
                    raise RuntimeError(f"{name} broke: Heat said no")
            return run

        def undo(name):
            def run(ctx):
                assert ctx.data.get(name), "undo sees the data its do saved"
                self.calls.append(f"undo {name}")
            return run
        return [Step(n, do(n), undo(n)) for n in self.names]


def runner(store, rec, clock=None, pid=None):
    return PlanRunner(store, rec.plans, clock=clock or Clock(), pid=pid, renew=False)


def test_run_to_completion_journals_every_step(store):
    rec = Recorder()
    new_op(store)
    op = runner(store, rec).run("op1")
    assert op.state is OpState.COMPLETED
    assert rec.calls == ["do a", "do b", "do c"]
    assert [s.status for s in op.steps] == ["DONE"] * 3
    assert op.worker_pid is None or op.worker_pid == os.getpid()
    stored = OpOccTable(store).get("op1")
    assert stored.worker_pid is None and stored.lease_expires_at is None
    assert OpOccTable(store).context("op1") == {"a": True, "b": True, "c": True}


def test_failure_is_failed_temp_with_reason_then_retry_resumes(store):
    rec = Recorder()
    rec.fail = {"b"}
    new_op(store)
    op = runner(store, rec).run("op1")
    assert op.state is OpState.FAILED_TEMP
    assert op.current_step == 1
    assert op.error["detail"] == "b broke: Heat said no"
    assert [s.status for s in op.steps] == ["DONE", "FAILED", "PENDING"]
    assert op.step_summary == "step 2 of 3: b"
    # retry: PROCESSING again from the failed step
    rec.fail.clear()
    with store.transaction() as conn:
        OpOccTable(store).update(conn, dataclasses.replace(
            op, state=states.check("retry", op.state), error=None))
    op = runner(store, rec).run("op1")
    assert op.state is OpState.COMPLETED
    assert rec.calls == ["do a", "do b", "do b", "do c"]


def test_rollback_undoes_failed_and_done_steps_in_reverse(store):
    rec = Recorder()
    rec.fail = {"b"}
    new_op(store)
    op = runner(store, rec).run("op1")
    with store.transaction() as conn:
        OpOccTable(store).update(conn, dataclasses.replace(
            op, state=states.check("rollback", op.state), direction="rollback"))
    op = runner(store, rec).run("op1")
    assert op.state is OpState.ROLLED_BACK
    assert rec.calls[-2:] == ["undo b", "undo a"]
    assert [s.status for s in op.steps] == ["UNDONE", "UNDONE", "SKIPPED"]
    assert op.error["detail"] == "b broke: Heat said no"  # the cause stays visible


def test_failed_undo_leaves_failed_temp(store):
    rec = Recorder()
    rec.fail = {"c"}
    new_op(store)
    op = runner(store, rec).run("op1")

    def plans(op):
        steps = rec.plans(op)
        steps[1] = Step("b", steps[1].do, lambda ctx: (_ for _ in ()).throw(
            RuntimeError("stack busy")))
        return steps
    with store.transaction() as conn:
        OpOccTable(store).update(conn, dataclasses.replace(
            op, state=OpState.ROLLING_BACK, direction="rollback"))
    op = PlanRunner(store, plans, clock=Clock(), renew=False).run("op1")
    assert op.state is OpState.FAILED_TEMP
    assert "rollback of step b failed: stack busy" in op.error["detail"]


def test_graceful_cancel_stops_at_next_boundary(store):
    rec = Recorder()
    new_op(store)

    def plans(op):
        steps = rec.plans(op)
        first = steps[0].do

        def do_and_cancel(ctx):
            first(ctx)
            store.conn.execute("UPDATE op_occs SET is_cancel_pending = 1, "
                               "cancel_mode = 'GRACEFUL' WHERE id = 'op1'")
        steps[0] = Step("a", do_and_cancel, steps[0].undo)
        return steps
    op = PlanRunner(store, plans, clock=Clock(), renew=False).run("op1")
    assert op.state is OpState.FAILED_TEMP
    assert rec.calls == ["do a"]
    assert op.error["title"] == "Operation cancelled"
    assert not op.is_cancel_pending


def test_forceful_cancel_inside_a_step(store):
    rec = Recorder()
    rec.cancel_in = "b"
    new_op(store)
    op = runner(store, rec).run("op1")
    assert op.state is OpState.FAILED_TEMP
    assert op.steps[1].status == "FAILED" and "FORCEFUL" in op.error["detail"]


def test_expired_lease_is_reaped(store):
    clock = Clock()
    new_op(store, state=OpState.PROCESSING, worker_pid=999_999,
           lease_expires_at=clock.now - 1, steps=(OpStep("a", "DONE"),
                                                  OpStep("wait for stack", "RUNNING")),
           current_step=1)
    new_op(store, op_id="op2", vnf="vnf2", state=OpState.STARTING,
           lease_expires_at=clock.now - 1)
    changed = {op.id: op for op in engine.reap_expired(store, clock=clock)}
    assert changed["op1"].state is OpState.FAILED_TEMP
    assert "pid 999999" in changed["op1"].error["detail"]
    assert "step 2 of 2: wait for stack" in changed["op1"].error["detail"]
    assert changed["op2"].state is OpState.ROLLED_BACK
    assert engine.reap_expired(store, clock=clock) == []


def test_live_lease_is_not_reaped_and_blocks_a_second_runner(store):
    clock = Clock()
    new_op(store, state=OpState.PROCESSING, worker_pid=os.getppid(),
           lease_expires_at=clock.now + 5)
    assert engine.reap_expired(store, clock=clock) == []
    op = runner(store, Recorder(), clock=clock).run("op1")
    assert op.state is OpState.PROCESSING  # it did not take over


def test_lost_lease_stops_the_runner(store):
    rec = Recorder()
    new_op(store)

    def plans(op):
        steps = rec.plans(op)

        def stolen(ctx):
            store.conn.execute("UPDATE op_occs SET worker_pid = 4242 WHERE id = 'op1'")
        steps[1] = Step("b", stolen)
        return steps
    op = PlanRunner(store, plans, clock=Clock(), renew=False).run("op1")
    assert op.state is OpState.PROCESSING and op.worker_pid == 4242
    assert rec.calls == ["do a"]


def test_one_active_occurrence_per_vnf(store):
    new_op(store)
    with pytest.raises(Conflict, match="has operation INSTANTIATE"):
        new_op(store, op_id="op2")
    new_op(store, op_id="op3", vnf="vnf2")  # another VNF is fine


@pytest.mark.parametrize("request_, state, ok", [
    ("rollback", OpState.FAILED_TEMP, True), ("rollback", OpState.PROCESSING, False),
    ("retry", OpState.FAILED_TEMP, True), ("retry", OpState.COMPLETED, False),
    ("fail", OpState.FAILED_TEMP, True), ("fail", OpState.ROLLED_BACK, False),
    ("cancel", OpState.PROCESSING, True), ("cancel", OpState.FAILED_TEMP, False),
])
def test_state_machine_conflicts_name_current_and_expected(request_, state, ok):
    if ok:
        states.check(request_, state)
        return
    with pytest.raises(Conflict) as err:
        states.check(request_, state, "op9")
    text = str(err.value)
    assert state.value in text and "op9" in text and "needs" in text


def test_cancel_targets():
    assert states.cancel_target(OpState.STARTING) is OpState.ROLLED_BACK
    assert states.cancel_target(OpState.PROCESSING) is OpState.FAILED_TEMP
    assert states.cancel_target(OpState.ROLLING_BACK) is OpState.FAILED_TEMP


# -- cancel during rollback ---------------------------------------------------------
def failed_at_c(store, rec):
    """op1 FAILED_TEMP at step c (a and b done), then asked to roll back."""
    rec.fail = {"c"}
    new_op(store)
    op = runner(store, rec).run("op1")
    with store.transaction() as conn:
        OpOccTable(store).update(conn, dataclasses.replace(
            op, state=states.check("rollback", op.state), direction="rollback"))


def request_cancel(store, mode):
    """What LocalLcm.cancel does to a PROCESSING or ROLLING_BACK occurrence."""
    store.conn.execute("UPDATE op_occs SET is_cancel_pending = 1, cancel_mode = ? "
                       "WHERE id = 'op1'", (mode,))


def test_graceful_cancel_during_rollback_stops_at_the_next_step(store):
    rec = Recorder()
    failed_at_c(store, rec)

    def plans(op):
        steps = rec.plans(op)
        undo_c = steps[2].undo

        def undo_then_cancel(ctx):
            undo_c(ctx)
            request_cancel(store, "GRACEFUL")
        steps[2] = Step("c", steps[2].do, undo_then_cancel)
        return steps
    op = PlanRunner(store, plans, clock=Clock(), renew=False).run("op1")
    assert op.state is OpState.FAILED_TEMP
    assert rec.calls[-1] == "undo c"  # b and a were not undone
    assert [s.status for s in op.steps] == ["DONE", "DONE", "UNDONE"]
    assert op.error["title"] == "Operation cancelled"
    assert "during rollback" in op.error["detail"] and "step b" in op.error["detail"]
    assert not op.is_cancel_pending


def test_forceful_cancel_inside_an_undo(store):
    rec = Recorder()
    failed_at_c(store, rec)

    def plans(op):
        steps = rec.plans(op)

        def undo_waiting(ctx):
            request_cancel(store, "FORCEFUL")
            ctx.check_cancel(forceful_only=True)  # as a wait for Heat does
            raise AssertionError("the cancel was not noticed")
        steps[2] = Step("c", steps[2].do, undo_waiting)
        return steps
    op = PlanRunner(store, plans, clock=Clock(), renew=False).run("op1")
    assert op.state is OpState.FAILED_TEMP
    assert op.steps[2].status == "FAILED"
    assert op.error["title"] == "Operation cancelled"
    assert "FORCEFUL" in op.error["detail"] and not op.is_cancel_pending


def test_a_final_occurrence_keeps_no_pending_cancel(store):
    rec = Recorder()
    new_op(store)

    def plans(op):
        steps = rec.plans(op)
        do_c = steps[2].do

        def last_then_cancel(ctx):
            do_c(ctx)
            request_cancel(store, "GRACEFUL")  # too late: the work is done
        steps[2] = Step("c", last_then_cancel, steps[2].undo)
        return steps
    op = PlanRunner(store, plans, clock=Clock(), renew=False).run("op1")
    assert op.state is OpState.COMPLETED and not op.is_cancel_pending


# -- cancel between taking the lease and starting ----------------------------------
def test_a_cancel_before_the_start_leaves_the_worker_nothing_to_do(store):
    rec = Recorder()
    new_op(store)
    r = runner(store, rec)
    acquire = r._acquire

    def acquire_then_cancelled(op_id):
        op = acquire(op_id)
        # LocalLcm.cancel of the still STARTING occurrence lands here.
        store.conn.execute("UPDATE op_occs SET state = 'ROLLED_BACK', "
                           "cancel_mode = 'GRACEFUL' WHERE id = ?", (op_id,))
        return op
    r._acquire = acquire_then_cancelled
    op = r.run("op1")  # no exception: the worker exits cleanly
    assert op.state is OpState.ROLLED_BACK and rec.calls == []
    assert [s.status for s in op.steps] == []  # the journal as the cancel left it
    assert op.worker_pid is None and op.lease_token is None


# -- leases: renewal, loss, clocks -----------------------------------------------------
def test_renewer_keeps_a_long_step_alive_through_store_errors(store, tmp_path):
    import sqlite3
    import time

    from nfvlib.exceptions import StoreError

    lease = 1.0
    new_op(store)
    reaped, attempts = [], []

    def long_step(ctx):
        # Outlasts two leases; meanwhile another process holds the store's
        # write lock for longer than the renewer waits for it.
        other = sqlite3.connect(store.path, isolation_level=None)
        deadline = time.monotonic() + 2.2
        locked_until = time.monotonic() + 0.9
        other.execute("BEGIN IMMEDIATE")
        while time.monotonic() < deadline:
            if other.in_transaction and time.monotonic() > locked_until:
                other.execute("COMMIT")
            if not other.in_transaction:
                ctx.check_cancel()
                reaped.extend(engine.reap_expired(store))
            time.sleep(0.05)
        other.close()
        ctx.save()

    r = PlanRunner(store, lambda op: [Step("long", long_step)], clock=Clock(),
                   renew=True, lease_seconds=lease)
    renew_once = r._renew_once

    def flaky(renew_store, op_id, expires_at):
        attempts.append(time.monotonic())
        if len(attempts) == 1:
            raise StoreError("the store is busy: disk I/O error")
        return renew_once(renew_store, op_id, expires_at)
    r._renew_once = flaky
    op = r.run("op1")
    assert op.state is OpState.COMPLETED, op.error
    assert reaped == []
    assert len(attempts) >= 5  # failures were retried, not fatal


def test_a_worker_whose_lease_cannot_be_renewed_stops_before_it_expires(store):
    import time

    from nfvlib.exceptions import StoreError

    new_op(store)
    stopped = {}

    def waiting(ctx):
        start = time.monotonic()
        try:
            while time.monotonic() - start < 5:
                ctx.check_cancel()
                time.sleep(0.02)
        except engine.LeaseLost:
            stopped["after"] = time.monotonic() - start
            raise

    def broken(renew_store, op_id, expires_at):
        raise StoreError("the store is busy: database is locked")
    r = PlanRunner(store, lambda op: [Step("wait", waiting)], clock=Clock(), renew=True,
                   lease_seconds=0.5)
    r._renew_once = broken
    op = r.run("op1")
    assert 0.3 < stopped["after"] < 1.0  # gave up only as the lease ran out
    assert op.state is OpState.PROCESSING and op.steps[0].status == "RUNNING"


def test_a_runner_whose_lease_was_taken_over_stops_writing(store):
    # The same pid, but another run: a reaper took the lease, the occurrence
    # was retried, and a new runner (a reused pid) holds it now.
    lease_time = Clock(now=100.0)
    lease_clock = engine.LeaseClock(lease_time, "boot-1")
    rec = Recorder()
    new_op(store)
    table = OpOccTable(store)
    second = {}

    def plans(op):
        steps = rec.plans(op)

        def overtaken(ctx):
            lease_time.now += engine.LEASE_SECONDS + 1  # this worker hung
            assert [o.id for o in engine.reap_expired(store, lease_clock=lease_clock)
                    ] == ["op1"]
            with store.transaction() as conn:
                table.update(conn, dataclasses.replace(
                    table.get("op1"), state=OpState.PROCESSING))
            other = PlanRunner(store, rec.plans, clock=Clock(), lease_clock=lease_clock,
                               renew=False)
            other._acquire("op1")
            second["token"] = other.token
            second["row"] = table.get("op1")
            ctx.data["stale"] = True
            ctx.save()  # must not land
            rec.calls.append("wrote after losing the lease")
        steps[1] = Step("b", overtaken)
        return steps
    r = PlanRunner(store, plans, clock=Clock(), lease_clock=lease_clock, renew=False)
    op = r.run("op1")
    assert rec.calls == ["do a"]
    assert op == second["row"]  # nothing written since the other run took over
    assert op.worker_pid == os.getpid() and op.lease_token == second["token"]
    assert "stale" not in table.context("op1")


def test_a_reaped_runner_cannot_save_its_context(store):
    lease_time = Clock(now=100.0)
    lease_clock = engine.LeaseClock(lease_time, "boot-1")
    new_op(store)

    def hung(ctx):
        lease_time.now += engine.LEASE_SECONDS + 1
        engine.reap_expired(store, lease_clock=lease_clock)
        ctx.data["late"] = True
        ctx.save()
    op = PlanRunner(store, lambda op: [Step("a", hung)], clock=Clock(),
                    lease_clock=lease_clock, renew=False).run("op1")
    assert op.state is OpState.FAILED_TEMP and "lease expired" in op.error["detail"]
    assert "late" not in OpOccTable(store).context("op1")


def test_leases_ignore_the_wall_clock_and_expire_across_a_reboot():
    lease_time = Clock(now=100.0)
    wall = Clock(now=1_800_000_000.0)
    clock = engine.LeaseClock(lease_time, "boot-1")

    def op(**kw):
        return OpOccRecord(id="o", vnf_instance_id="v", operation=Operation.SCALE,
                           state=OpState.PROCESSING, start_time="t",
                           state_entered_time="t", **kw)
    live = op(lease_expires_at=110.0, lease_boot_id="boot-1")
    wall.now += 86_400  # the wall clock steps a day forward...
    assert not clock.expired(live, wall)
    wall.now -= 2 * 86_400  # ...or back
    lease_time.now = 111.0
    assert clock.expired(live, wall)
    assert clock.expired(op(lease_expires_at=1e12, lease_boot_id="boot-0"), wall)
    # a lease written by an older nfvkit counts on the wall clock
    assert clock.expired(op(lease_expires_at=wall.now - 1), wall)
    assert not clock.expired(op(lease_expires_at=wall.now + 1), wall)
    assert not clock.expired(op(), wall)
    assert engine.LeaseClock().boot_id  # this machine's


def test_a_lease_from_before_a_reboot_is_taken_over(store):
    # A live pid (the parent) holds a lease that is still far in the future,
    # but it was written in another boot: the pid is not that worker.
    new_op(store, state=OpState.PROCESSING, worker_pid=os.getppid(),
           lease_expires_at=1e12, lease_boot_id="an-earlier-boot")
    rec = Recorder()
    op = PlanRunner(store, rec.plans, clock=Clock(),
                    lease_clock=engine.LeaseClock(Clock(now=5.0), "boot-now"),
                    renew=False).run("op1")
    assert op.state is OpState.COMPLETED


# -- the journal is matched to the plan by name ----------------------------------------
def failed_temp_at_b(store, names=("a", "b", "c")):
    new_op(store, state=OpState.PROCESSING, current_step=1,
           steps=tuple(OpStep(n, s) for n, s in zip(names, ("DONE", "FAILED",
                                                             "PENDING"))))


def test_retry_with_a_step_added_after_the_failed_one(store):
    failed_temp_at_b(store)
    rec = Recorder(names=("a", "b", "x", "c"))
    op = runner(store, rec).run("op1")
    assert op.state is OpState.COMPLETED
    assert rec.calls == ["do b", "do x", "do c"]
    assert [(s.name, s.status) for s in op.steps] == [
        ("a", "DONE"), ("b", "DONE"), ("x", "DONE"), ("c", "DONE")]


def test_rollback_with_a_step_added(store):
    new_op(store, state=OpState.ROLLING_BACK, direction="rollback", current_step=1,
           steps=(OpStep("a", "DONE"), OpStep("b", "FAILED"), OpStep("c", "PENDING")))
    with store.transaction() as conn:
        OpOccTable(store).set_context(conn, "op1", {"a": True, "b": True})
    rec = Recorder(names=("a", "x", "b", "c"))
    op = runner(store, rec).run("op1")
    assert op.state is OpState.ROLLED_BACK
    assert rec.calls == ["undo b", "undo a"]
    assert [(s.name, s.status) for s in op.steps] == [
        ("a", "UNDONE"), ("x", "SKIPPED"), ("b", "UNDONE"), ("c", "SKIPPED")]


@pytest.mark.parametrize("plan, words", [
    (("a", "c"), "step(s) b that the plan no longer has"),
    (("b", "a", "c"), "another order"),
    (("x", "a", "b", "c"), "new step(s) x before the step where"),
    (("a", "b", "b", "c"), "more than once"),
])
def test_a_journal_that_does_not_match_the_plan_runs_nothing(store, plan, words):
    failed_temp_at_b(store)
    rec = Recorder(names=plan)
    op = runner(store, rec).run("op1")
    assert op.state is OpState.FAILED_TEMP and rec.calls == []
    assert words in op.error["detail"]
    assert [s.name for s in op.steps] == ["a", "b", "c"]  # journal untouched


def test_a_journal_that_does_not_match_the_plan_is_not_rolled_back(store):
    new_op(store, state=OpState.ROLLING_BACK, direction="rollback", current_step=1,
           steps=(OpStep("a", "DONE"), OpStep("b", "FAILED"), OpStep("c", "PENDING")))
    rec = Recorder(names=("a", "c"))
    op = runner(store, rec).run("op1")
    assert op.state is OpState.FAILED_TEMP and rec.calls == []
    assert "no longer has" in op.error["detail"]
