"""The LCM plans step by step against a stateful fake Heat.

Each test runs occurrences in this process with the real store, vault,
package and plan runner; Heat is :class:`tests.unit.fake_heat.FakeHeat`, which
removes the oldest AutoScalingGroup members first as the real Heat does. Every
assertion about the VNF is made against the fake Heat's own state, not only
against the store's record of it.
"""

from __future__ import annotations

import json

import pytest

import nfvlib
from nfvlib.lcm import plans, policy
from nfvlib.models import InstantiationState, OpState
from tests.unit.fake_heat import FakeHeat
from tests.unit.lcm.world import LEVEL_1, Crash, World, make_world

GROUP = "VDU1_scale_group"
FAIL_SCALE_END = {"sample_fail_event": "scale_end"}


@pytest.fixture
def world(nfv_home, keystone, requests_mock, monkeypatch):
    w = make_world(requests_mock, monkeypatch)
    yield w
    w.services.close()


def heat_vnfc_ids(heat: FakeHeat, vnf) -> set[str]:
    return set(heat.servers(vnf.stack_name, "VDU1")) | set(
        heat.servers(vnf.stack_name, "VDU2"))


def capacity(heat: FakeHeat, vnf) -> int:
    nfv = json.loads(heat.stack(vnf.stack_name)["parameters"]["nfv"])
    return nfv["VDU"]["VDU1"]["desired_capacity"]


# -- scale-out rollback ----------------------------------------------------------------
def test_scale_out_rollback_removes_the_added_members_not_the_oldest(world):
    vnf = world.instantiated()
    (a,) = world.heat.members(vnf.stack_name, GROUP)
    out = world.done(world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale"))
    assert out.state is OpState.COMPLETED, out.error
    a_again, b = world.heat.members(vnf.stack_name, GROUP)
    assert a_again == a
    kept = heat_vnfc_ids(world.heat, vnf)

    failed = world.done(world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale",
                                        additional_params=FAIL_SCALE_END))
    assert failed.state is OpState.FAILED_TEMP
    assert "scale_end" in failed.error["detail"]
    assert len(world.heat.members(vnf.stack_name, GROUP)) == 3
    rolled = world.run(world.lcm.rollback(failed.id).id)

    assert rolled.state is OpState.ROLLED_BACK, rolled.error
    assert world.heat.members(vnf.stack_name, GROUP) == [a, b]
    assert capacity(world.heat, vnf) == 2
    assert world.heat.stack(vnf.stack_name)["stack_status"] == "UPDATE_COMPLETE"
    after = world.vnfs.get_vnf(vnf.id)
    assert {c.id for c in after.vnfc} == heat_vnfc_ids(world.heat, vnf) == kept
    assert after.scale_status == {"VDU1_scale": 1}
    changes = rolled.resource_changes["affectedVnfcs"]
    assert [(c["vduId"], c["changeType"]) for c in changes] == [("VDU1", "REMOVED")]
    assert changes[0]["id"] not in kept


def test_scale_out_rollback_after_heat_failed_the_update(world):
    vnf = world.instantiated()
    (a,) = world.heat.members(vnf.stack_name, GROUP)
    world.heat.fail_member(vnf.stack_name, GROUP)
    failed = world.done(world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale"))
    assert failed.state is OpState.FAILED_TEMP
    assert world.heat.stack(vnf.stack_name)["stack_status"] == "UPDATE_FAILED"
    world.heat.clear_failures()

    rolled = world.run(world.lcm.rollback(failed.id).id)
    assert rolled.state is OpState.ROLLED_BACK, rolled.error
    assert world.heat.members(vnf.stack_name, GROUP) == [a]
    assert capacity(world.heat, vnf) == 1
    assert {c.id for c in world.vnfs.get_vnf(vnf.id).vnfc} == heat_vnfc_ids(world.heat,
                                                                              vnf)


def test_scale_in_removes_the_newest_member_as_heat_lists_them(world):
    vnf = world.instantiated()
    world.done(world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale"))
    a, b = world.heat.members(vnf.stack_name, GROUP)
    done = world.done(world.lcm.scale(vnf.id, "SCALE_IN", "VDU1_scale"))
    assert done.state is OpState.COMPLETED, done.error
    assert world.heat.members(vnf.stack_name, GROUP) == [a]
    removed = [c for c in done.resource_changes["affectedVnfcs"]]
    assert [c["changeType"] for c in removed] == ["REMOVED"]
    assert removed[0]["id"] not in heat_vnfc_ids(world.heat, vnf)


def test_retried_scale_out_sends_the_update_again(world):
    vnf = world.instantiated()
    world.heat.fail_next_update("boom")
    failed = world.done(world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale"))
    assert failed.state is OpState.FAILED_TEMP and "boom" in failed.error["detail"]
    patches = sum(1 for r in world.heat.requests if r.method == "PATCH"
                  and r.path.count("/") == 3)
    retried = world.run(world.lcm.retry(failed.id).id)
    assert retried.state is OpState.COMPLETED, retried.error
    assert sum(1 for r in world.heat.requests if r.method == "PATCH"
               and r.path.count("/") == 3) == patches + 1
    assert len(world.heat.members(vnf.stack_name, GROUP)) == 2
    assert {c.id for c in world.vnfs.get_vnf(vnf.id).vnfc} == heat_vnfc_ids(world.heat,
                                                                              vnf)


# -- instantiate and terminate -------------------------------------------------------------
def test_instantiate_records_what_heat_created(world):
    vnf = world.instantiated()
    assert world.heat.stack(vnf.stack_name)["stack_status"] == "CREATE_COMPLETE"
    assert {c.id for c in vnf.vnfc} == heat_vnfc_ids(world.heat, vnf)
    assert len(vnf.vnfc) == 2


def test_instantiate_merges_the_requests_extensions_and_configurable_properties(world):
    """As Tacker v2 does: JSON merge patches onto what the instance has (here
    from an update before), secret values kept out of the record."""
    vnf = world.new_vnf()
    world.vnfs.update_vnf(vnf.id, {"extensions": {"keep": 1, "drop": 2}})
    done = world.done(world.lcm.instantiate(vnf.id, {
        **LEVEL_1, "extensions": {"drop": None, "added": {"x": 1}, "password": "s3cret"},
        "vnfConfigurableProperties": {"isAutoscaleEnabled": True}}))
    assert done.state is OpState.COMPLETED, done.error
    got = world.vnfs.get_vnf(vnf.id)
    assert got.extensions == {"keep": 1, "added": {"x": 1}, "password": "***"}
    assert got.vnf_configurable_properties == {"isAutoscaleEnabled": True}
    store = world.services.store.path
    for file in store.parent.glob(store.name + "*"):  # the database and its WAL
        assert b"s3cret" not in file.read_bytes()


def test_instantiate_sends_the_create_first(world):
    """No look-up of the stack name before the create: Heat refuses a
    duplicate itself (StackExists), which the leftover tests cover."""
    vnf = world.instantiated()
    sent = [(r.method, r.path) for r in world.heat.requests]
    create = sent.index(("POST", "/stacks"))
    assert not [r for r in sent[:create] if r[1].startswith(f"/stacks/{vnf.stack_name}")]


def test_instantiate_rollback_deletes_its_stack_and_lists_what_it_removed(world):
    vnf = world.new_vnf()
    world.heat.fail_next_create("no capacity", resource="VDU2")
    failed = world.done(world.lcm.instantiate(vnf.id, LEVEL_1))
    assert failed.state is OpState.FAILED_TEMP
    stack_id = world.heat.stack(vnf.stack_name)["id"]
    before = len(world.heat.requests)
    rolled = world.run(world.lcm.rollback(failed.id).id)
    assert rolled.state is OpState.ROLLED_BACK, rolled.error
    assert world.heat.stack(stack_id)["stack_status"] == "DELETE_COMPLETE"
    # the resources read for the VNFCs also tell the stack is quiet: one read
    listed = [r for r in world.heat.requests[before:] if r.path.endswith("/resources")]
    assert len(listed) == 1
    # the stack is found by its recorded id: no look-up of the bare name
    shown = [r.path for r in world.heat.requests[before:] if r.method == "GET"
             and r.path.startswith(f"/stacks/{vnf.stack_name}")]
    assert f"/stacks/{vnf.stack_name}" not in shown
    assert world.vnfs.get_vnf(vnf.id).instantiation_state is \
        InstantiationState.NOT_INSTANTIATED
    assert {c["changeType"] for c in rolled.resource_changes["affectedVnfcs"]} <= \
        {"REMOVED"}


def test_a_failed_create_is_read_once_for_its_reason(world, monkeypatch):
    """The wait's last read of the stack, which saw it fail, is the one the
    failure is reported from: Heat is not asked for the stack again."""
    from nfvlib.heat import HeatClient

    seen = []
    get_stack = HeatClient.get_stack

    def recording(self, name_or_id):
        stack = get_stack(self, name_or_id)
        seen.append(stack["stack_status"])
        return stack

    monkeypatch.setattr(HeatClient, "get_stack", recording)
    vnf = world.new_vnf()
    world.heat.fail_next_create("no capacity", resource="VDU2")
    failed = world.done(world.lcm.instantiate(vnf.id, LEVEL_1))
    assert failed.state is OpState.FAILED_TEMP
    assert "no capacity" in failed.error["detail"]
    assert seen.count("CREATE_FAILED") == 1 and seen[-1] == "CREATE_FAILED"


def test_terminate_reads_the_stack_once_before_deleting_it(world):
    """Validation's read of the stack (for the VNFCs it removes) is the one the
    delete is sent for: one GET of the stack, by name and id, then the DELETE
    (the resources are read again for the sample's terminate_start script)."""
    vnf = world.instantiated()
    before = len(world.heat.requests)
    done = world.done(world.lcm.terminate(vnf.id, "FORCEFUL"))
    assert done.state is OpState.COMPLETED, done.error
    sent = [(r.method, r.path) for r in world.heat.requests[before:]]
    ref = f"/stacks/{vnf.stack_name}/{vnf.stack_id}"
    delete = sent.index(("DELETE", ref))
    assert [r for r in sent[:delete] if not r[1].endswith("/resources")] == [("GET", ref)]
    assert world.heat.stack(vnf.stack_id)["stack_status"] == "DELETE_COMPLETE"


def test_terminate_retry_resends_the_delete_of_a_delete_failed_stack(world):
    vnf = world.instantiated()
    world.heat.fail_next_delete("volume busy")
    failed = world.done(world.lcm.terminate(vnf.id, "FORCEFUL"))
    assert failed.state is OpState.FAILED_TEMP
    stack_id = vnf.stack_id
    assert world.heat.stack(stack_id)["stack_status"] == "DELETE_FAILED"
    deletes = sum(1 for r in world.heat.requests if r.method == "DELETE")

    retried = world.run(world.lcm.retry(failed.id).id)
    assert retried.state is OpState.COMPLETED, retried.error
    assert sum(1 for r in world.heat.requests if r.method == "DELETE") == deletes + 1
    assert world.heat.stack(stack_id)["stack_status"] == "DELETE_COMPLETE"
    assert {c["id"] for c in retried.resource_changes["affectedVnfcs"]} == \
        {c.id for c in vnf.vnfc}


def test_a_leftover_stack_of_a_finished_occurrence_is_deleted_first(world):
    vnf = world.new_vnf()
    world.heat.fail_next_create("no capacity", resource="VDU2")
    failed = world.done(world.lcm.instantiate(vnf.id, LEVEL_1))
    world.lcm.fail(failed.id)
    leftover = world.heat.stack(vnf.stack_name)["id"]

    done = world.done(world.lcm.instantiate(vnf.id, LEVEL_1))
    assert done.state is OpState.COMPLETED, done.error
    assert world.heat.stack(leftover)["stack_status"] == "DELETE_COMPLETE"
    fresh = world.heat.stack(vnf.stack_name)
    assert fresh["id"] != leftover and fresh["stack_status"] == "CREATE_COMPLETE"
    create = next(s for s in done.steps if s.name == "create stack")
    assert f"{vnf.stack_name}/{leftover}" in create.detail
    assert failed.id in create.detail


def test_a_stack_no_occurrence_created_is_refused_and_kept(world):
    vnf = world.new_vnf()
    heat = world.services.heat(world.services.vims.default_vim().id, "RegionOne")
    foreign = heat.create_stack(vnf.stack_name, "heat_template_version: 2013-05-23\n")
    world.heat.settle()
    refused = world.done(world.lcm.instantiate(vnf.id, LEVEL_1))
    assert refused.state is OpState.FAILED_TEMP
    assert f"{vnf.stack_name}/{foreign}" in refused.error["detail"]
    rolled = world.run(world.lcm.rollback(refused.id).id)
    assert rolled.state is OpState.ROLLED_BACK, rolled.error
    assert world.heat.stack(foreign)["stack_status"] == "CREATE_COMPLETE"


# -- a worker that dies at any step boundary ------------------------------------------------
INSTANTIATE_STEPS = ["validate request", "run instantiate_start script", "create stack",
                     "wait for stack", "run instantiate_end script", "record instance"]
SCALE_STEPS = ["validate request", "run scale_start script", "update stack",
               "wait for stack", "run scale_end script", "record instance"]


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("step", INSTANTIATE_STEPS)
def test_instantiate_killed_at_a_step_boundary_completes_on_retry(world, step, when):
    vnf = world.new_vnf()
    op = world.lcm.instantiate(vnf.id, LEVEL_1)
    assert [s.name for s in op.steps] == INSTANTIATE_STEPS
    world.crash_at = (step, when)
    with pytest.raises(Crash):
        world.run(op.id)
    world.crash_at = None
    world.expire_lease(op.id)
    assert world.lcm.get_op_occ(op.id).state is OpState.FAILED_TEMP

    retried = world.run(world.lcm.retry(op.id).id)
    assert retried.state is OpState.COMPLETED, retried.error
    stacks = [s for s in world.heat.requests if s.method == "POST" and s.path == "/stacks"]
    assert len(stacks) == 1  # one stack, never a second one
    vnf = world.vnfs.get_vnf(vnf.id)
    assert world.heat.stack(vnf.stack_name)["stack_status"] == "CREATE_COMPLETE"
    assert {c.id for c in vnf.vnfc} == heat_vnfc_ids(world.heat, vnf)


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("step", SCALE_STEPS)
def test_scale_out_killed_at_a_step_boundary_rolls_back_cleanly(world, step, when):
    vnf = world.instantiated()
    (a,) = world.heat.members(vnf.stack_name, GROUP)
    op = world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale")
    world.crash_at = (step, when)
    with pytest.raises(Crash):
        world.run(op.id)
    world.crash_at = None
    world.expire_lease(op.id)

    rolled = world.run(world.lcm.rollback(op.id).id)
    assert rolled.state is OpState.ROLLED_BACK, rolled.error
    assert world.heat.members(vnf.stack_name, GROUP) == [a]
    assert capacity(world.heat, vnf) == 1
    after = world.vnfs.get_vnf(vnf.id)
    assert {c.id for c in after.vnfc} == heat_vnfc_ids(world.heat, vnf)
    assert after.scale_status == {"VDU1_scale": 0}


# -- secrets -----------------------------------------------------------------------------------
def test_a_secret_reaches_heat_intact_and_the_store_never_in_clear(world):
    secret = "Sup3r-s3cret-value"
    vnf = world.new_vnf()
    request = dict(LEVEL_1, additionalParams={
        "nfv": {"VDU": {"VDU1": {"admin_password": secret}}}})
    done = world.done(world.lcm.instantiate(vnf.id, request))
    assert done.state is OpState.COMPLETED, done.error
    nfv = json.loads(world.heat.stack(vnf.stack_name)["parameters"]["nfv"])
    assert nfv["VDU"]["VDU1"]["admin_password"] == secret
    scaled = world.done(world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale"))
    assert scaled.state is OpState.COMPLETED, scaled.error
    nfv = json.loads(world.heat.stack(vnf.stack_name)["parameters"]["nfv"])
    assert nfv["VDU"]["VDU1"]["admin_password"] == secret
    assert nfv["VDU"]["VDU1"]["desired_capacity"] == 2

    store = world.services.store
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for path in store.path.parent.glob(store.path.name + "*"):
        assert secret.encode() not in path.read_bytes(), path
    shown = world.vnfs.get_vnf(vnf.id).instantiated_info
    assert secret not in json.dumps(shown)


# -- a stack no engine works on, and cancel inside a wait ------------------------------
def convergence_updates(heat: FakeHeat, monkeypatch) -> None:
    """Let the fake take an update of a stack in progress, as Heat's convergence does.

    The fake refuses it (409) like Heat's legacy engine; the convergence
    engine (Heat's default, the sandbox's) starts a new traversal instead.
    """
    update = heat._update

    def converge(stack, body, *, patch):
        if stack.status.endswith("_IN_PROGRESS"):
            stack.op = None
            stack.status = stack.status.replace("_IN_PROGRESS", "_FAILED")
        update(stack, body, patch=patch)
    monkeypatch.setattr(heat, "_update", converge)


def with_cancel_at(world, step_name: str, lcm_cancel):
    """Request a cancel as the step starts, after the runner's own check."""
    plans_of = world._plans

    def plans_with_cancel(op):
        steps = plans_of(op)
        for step in steps:
            if step.name == step_name:
                do = step.do

                def cancelled_do(ctx, do=do):
                    lcm_cancel(ctx.op.id)
                    do(ctx)
                step.do = cancelled_do
        return steps
    world._plans = plans_with_cancel


def test_a_stalled_create_fails_the_wait_and_retry_redrives_it(world, monkeypatch):
    monkeypatch.setattr(policy, "STEP_RETRIES", 0)  # automatic retries: test_policy.py
    monkeypatch.setenv("NFV_HEAT_STALL_SECONDS", "0.3")
    monkeypatch.setattr(plans, "STACK_TIMEOUT", 30)
    world.heat.polls = None  # the engine working on the create died
    vnf = world.new_vnf()
    failed = world.done(world.lcm.instantiate(vnf.id, LEVEL_1))

    assert failed.state is OpState.FAILED_TEMP
    assert failed.steps[failed.current_step].name == "wait for stack"
    detail = failed.error["detail"]
    assert detail.startswith(f"Heat has not progressed stack {vnf.stack_name} "
                             "(CREATE_IN_PROGRESS) for ")
    assert detail.endswith("its engine may have restarted; retry re-drives it")
    assert world.heat.stack(vnf.stack_name)["stack_status"] == "CREATE_IN_PROGRESS"

    world.heat.polls = 1
    convergence_updates(world.heat, monkeypatch)
    world.heat.requests.clear()
    retried = world.run(world.lcm.retry(failed.id).id)

    assert retried.state is OpState.COMPLETED, retried.error
    assert [r.method for r in world.heat.requests].count("PATCH") == 1
    assert world.heat.stack(vnf.stack_name)["stack_status"] == "UPDATE_COMPLETE"
    assert "re-drove stack" in retried.steps[failed.current_step].detail
    after = world.vnfs.get_vnf(vnf.id)
    assert after.instantiation_state is InstantiationState.INSTANTIATED
    assert {c.id for c in after.vnfc} == heat_vnfc_ids(world.heat, vnf) != set()


def test_a_stalled_delete_is_sent_again_on_retry(world, monkeypatch):
    monkeypatch.setattr(policy, "STEP_RETRIES", 0)  # automatic retries: test_policy.py
    vnf = world.instantiated()
    monkeypatch.setenv("NFV_HEAT_STALL_SECONDS", "0.3")
    monkeypatch.setattr(plans, "STACK_TIMEOUT", 30)
    world.heat.polls = None
    failed = world.done(world.lcm.terminate(vnf.id, "FORCEFUL"))
    assert failed.state is OpState.FAILED_TEMP
    assert "Heat has not progressed stack" in failed.error["detail"]
    assert world.heat.stack(vnf.stack_name)["stack_status"] == "DELETE_IN_PROGRESS"

    world.heat.polls = 1
    world.heat.requests.clear()
    retried = world.run(world.lcm.retry(failed.id).id)
    assert retried.state is OpState.COMPLETED, retried.error
    assert [r.method for r in world.heat.requests].count("DELETE") == 1
    assert world.heat.stack(vnf.stack_id)["stack_status"] == "DELETE_COMPLETE"
    assert world.vnfs.get_vnf(vnf.id).instantiation_state \
        is InstantiationState.NOT_INSTANTIATED


def test_graceful_cancel_stops_a_wait_at_its_next_poll(world, monkeypatch):
    monkeypatch.setattr(plans, "STACK_TIMEOUT", 5)  # a wait that ignored it fails late
    world.heat.polls = None  # Heat's create goes on and on
    with_cancel_at(world, "wait for stack",
                   lambda op_id: world.lcm.cancel(op_id, "GRACEFUL"))
    vnf = world.new_vnf()
    world.heat.requests.clear()
    cancelled = world.done(world.lcm.instantiate(vnf.id, LEVEL_1))

    assert cancelled.state is OpState.FAILED_TEMP
    assert cancelled.error["title"] == "Operation cancelled"
    detail = cancelled.error["detail"]
    assert detail == (f"cancelled (GRACEFUL) while waiting for stack {vnf.stack_name} "
                      "(CREATE_IN_PROGRESS): Heat's CREATE was left to finish; retry "
                      "waits for it, rollback undoes it")
    assert not cancelled.is_cancel_pending
    # Heat's action was left alone: no cancel, update or delete was sent.
    assert [r.method for r in world.heat.requests
            if r.method not in ("GET",)] == ["POST"]
    assert world.heat.stack(vnf.stack_name)["stack_status"] == "CREATE_IN_PROGRESS"

    world._plans = World._plans.__get__(world)
    world.heat.settle()
    world.heat.requests.clear()
    retried = world.run(world.lcm.retry(cancelled.id).id)
    assert retried.state is OpState.COMPLETED, retried.error
    assert {r.method for r in world.heat.requests} == {"GET"}  # waited, re-drove nothing
    assert world.heat.stack(vnf.stack_name)["stack_status"] == "CREATE_COMPLETE"


def test_forceful_cancel_of_a_waiting_update_cancels_it_in_heat(world):
    vnf = world.instantiated()
    world.heat.polls = None
    with_cancel_at(world, "wait for stack",
                   lambda op_id: world.lcm.cancel(op_id, "FORCEFUL"))
    cancelled = world.done(world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale"))
    assert cancelled.state is OpState.FAILED_TEMP
    assert cancelled.error["detail"].startswith(
        f"cancelled (FORCEFUL) while waiting for stack {vnf.stack_name} "
        "(UPDATE_IN_PROGRESS)")
    assert any(r.method == "POST" and r.path.endswith("/actions")
               and r.json == {"cancel_update": None} for r in world.heat.requests)
    assert world.heat.stack(vnf.stack_name)["stack_status"] == "ROLLBACK_IN_PROGRESS"


def test_the_stall_limit_defaults_to_five_minutes_and_is_configurable(monkeypatch):
    monkeypatch.delenv("NFV_HEAT_STALL_SECONDS", raising=False)
    assert plans.stall_limit() == plans.STACK_STALL == 300
    monkeypatch.setenv("NFV_HEAT_STALL_SECONDS", "45")
    assert plans.stall_limit() == 45
    monkeypatch.setenv("NFV_HEAT_STALL_SECONDS", "soon")
    with pytest.raises(nfvlib.InvalidInput, match="NFV_HEAT_STALL_SECONDS='soon' is not"):
        plans.stall_limit()
