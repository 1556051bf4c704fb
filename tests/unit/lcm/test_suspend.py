"""Suspend and resume at step boundaries, and rollback of a suspended occurrence.

Plans run in this process against the stateful fake Heat (the ``world`` of
test_plans.py); a suspend is requested through the library while a step
runs, as another process would. Assertions about the VNF are made against
the fake Heat's own state.
"""

# ruff: noqa: F811 - the world fixture is imported
from __future__ import annotations

import pytest

from nfvlib.exceptions import Conflict
from nfvlib.lcm.engine import SUSPENDED_TITLE, PlanRunner
from nfvlib.models import InstantiationState, OpState
from tests.unit.lcm.test_plans import LEVEL_1, world  # noqa: F401 - fixture
from tests.unit.lcm.test_policy import stack_gone


def run(world, op_id, during=None, action=None, instead=None):
    """Run the occurrence here; ``action(op_id)`` after step ``during`` did its work,
    or the step ``during`` replaced by ``instead(ctx)``."""
    def plans(op):
        steps = world._plans(op)
        for step in steps:
            if step.name == during and instead is not None:
                step.do = instead
            elif step.name == during:
                def do(ctx, inner=step.do):
                    inner(ctx)
                    action(op.id)
                step.do = do
        return steps
    return PlanRunner(world.services.store, plans, renew=False,
                      sleep=lambda s: None).run(op_id)


def posts(world) -> int:
    return sum(1 for r in world.heat.requests if r.method == "POST" and r.path == "/stacks")


def suspended_after_create(world):
    vnf = world.new_vnf()
    op = world.lcm.instantiate(vnf.id, LEVEL_1)
    stopped = run(world, op.id, during="create stack", action=world.lcm.suspend)
    return vnf, stopped


def test_suspend_during_a_step_stops_at_the_boundary_and_resume_completes(world):
    vnf, stopped = suspended_after_create(world)

    # the step that was running finished; the next one did not start
    assert stopped.state is OpState.FAILED_TEMP and stopped.is_suspended
    assert not stopped.is_suspend_pending
    assert stopped.error["title"] == SUSPENDED_TITLE
    names = [s.name for s in stopped.steps]
    at = names.index("wait for stack")
    assert stopped.current_step == at
    assert [s.status for s in stopped.steps[:at]] == ["DONE"] * at
    assert {s.status for s in stopped.steps[at:]} == {"PENDING"}
    shown = world.lcm.get_op_occ(stopped.id)
    assert shown.step_summary == f"step {at + 1} of {len(names)}: wait for stack"
    assert f"before step {at + 1} of {len(names)} (wait for stack)" in \
        shown.error["detail"]
    assert posts(world) == 1  # Heat got the create, and nothing after it
    assert world.vnfs.get_vnf(vnf.id).instantiation_state is \
        InstantiationState.NOT_INSTANTIATED
    with pytest.raises(Conflict, match="already suspended"):
        world.lcm.suspend(stopped.id)

    resumed = world.lcm.resume(stopped.id)
    assert resumed.state is OpState.PROCESSING and not resumed.is_suspended
    done = run(world, resumed.id)

    assert done.state is OpState.COMPLETED, done.error
    assert posts(world) == 1  # the create was not sent again
    assert [s.attempts for s in done.steps] == [1] * len(names)
    assert world.heat.stack(vnf.stack_name)["stack_status"] == "CREATE_COMPLETE"
    after = world.vnfs.get_vnf(vnf.id)
    assert after.instantiation_state is InstantiationState.INSTANTIATED
    assert {c.id for c in after.vnfc} == set(world.heat.servers(vnf.stack_name, "VDU1")) \
        | set(world.heat.servers(vnf.stack_name, "VDU2"))


def test_a_suspended_occurrence_rolls_back_from_where_it_stopped(world):
    vnf, stopped = suspended_after_create(world)
    assert world.heat.stack(vnf.stack_name)  # the stack exists in Heat

    rolled = run(world, world.lcm.rollback(stopped.id).id)

    assert rolled.state is OpState.ROLLED_BACK, rolled.error
    assert not rolled.is_suspended
    statuses = {s.name: s.status for s in rolled.steps}
    assert statuses["create stack"] == "UNDONE"
    assert statuses["wait for stack"] == "SKIPPED"  # never ran: nothing to undo
    assert statuses["record instance"] == "SKIPPED"
    assert stack_gone(world.heat, vnf.stack_name)
    assert world.vnfs.get_vnf(vnf.id).instantiation_state is \
        InstantiationState.NOT_INSTANTIATED


def test_a_tester_stops_part_way_and_runs_again_on_resume(world):
    vnf = world.new_vnf()
    op = world.lcm.instantiate(vnf.id, LEVEL_1)
    ran: list[int] = []

    def tester(ctx):
        for case in range(1, 6):
            ctx.report_progress(f"{case - 1} of 5 tests passed")
            if case == 3 and not ran.count(5):
                world.lcm.suspend(op.id)
            ctx.check_suspend()
            ran.append(case)

    stopped = run(world, op.id, during="run instantiate_end script", instead=tester)
    assert stopped.is_suspended and ran == [1, 2]
    step = stopped.steps[stopped.current_step]
    assert step.name == "run instantiate_end script" and step.status == "SUSPENDED"
    assert step.progress == "2 of 5 tests passed"
    assert "during step" in stopped.error["detail"]

    ran.append(5)  # the second run is not suspended
    done = run(world, world.lcm.resume(op.id).id, during="run instantiate_end script",
               instead=tester)
    assert done.state is OpState.COMPLETED, done.error
    assert ran == [1, 2, 5, 1, 2, 3, 4, 5]
    step = done.steps[[s.name for s in done.steps].index("run instantiate_end script")]
    assert step.status == "DONE" and step.attempts == 2
    assert step.progress == "4 of 5 tests passed"
    assert world.heat.stack(vnf.stack_name)["stack_status"] == "CREATE_COMPLETE"


def test_suspend_before_the_first_step(world):
    vnf = world.new_vnf()
    op = world.lcm.instantiate(vnf.id, LEVEL_1)
    pending = world.lcm.suspend(op.id)
    assert pending.state is OpState.STARTING and pending.is_suspend_pending
    stopped = run(world, op.id)
    assert stopped.is_suspended and stopped.current_step == 0
    assert posts(world) == 0  # no stack was created
    done = run(world, world.lcm.resume(op.id).id)
    assert done.state is OpState.COMPLETED, done.error


def test_what_cannot_be_suspended_or_resumed(world):
    vnf = world.instantiated()
    done = world.lcm.list_op_occs()[-1]
    with pytest.raises(Conflict, match="needs PROCESSING or STARTING"):
        world.lcm.suspend(done.id)
    with pytest.raises(Conflict, match="needs FAILED_TEMP"):
        world.lcm.resume(done.id)
    failed = world.done(world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale",
                                        additional_params={
                                            "sample_fail_event": "scale_end"}))
    assert failed.state is OpState.FAILED_TEMP
    with pytest.raises(Conflict, match="was not suspended"):
        world.lcm.resume(failed.id)
    rolling = world.lcm.rollback(failed.id)
    with pytest.raises(Conflict, match="a rollback runs to its end"):
        world.lcm.suspend(rolling.id)


def test_a_cancel_or_fail_leaves_no_suspend_behind(world):
    vnf = world.new_vnf()
    op = world.lcm.instantiate(vnf.id, LEVEL_1)
    world.lcm.suspend(op.id)
    cancelled = world.lcm.cancel(op.id)
    assert cancelled.state is OpState.ROLLED_BACK and not cancelled.is_suspend_pending

    op = world.lcm.instantiate(vnf.id, LEVEL_1)
    stopped = run(world, op.id, during="create stack", action=world.lcm.suspend)
    assert stopped.is_suspended
    failed = world.lcm.fail(op.id)
    assert failed.state is OpState.FAILED and not failed.is_suspended
