"""The plan runner, journal, lease and state machine on a real store, no sleeping."""

from __future__ import annotations

import dataclasses
import os

import pytest

from nfvlib import Conflict
from nfvlib.lcm import engine, states
from nfvlib.lcm.engine import Cancelled, PlanRunner, Step
from nfvlib.models import (OnboardingState, Operation, OpOcc, OpState, OpStep,
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
    op = OpOcc(id=op_id, vnf_instance_id=vnf, operation=Operation.INSTANTIATE,
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
