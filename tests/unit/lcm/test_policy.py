"""Retry and escalation policies: automatic step retries, retry:N, rollback, fallback.

Plans run in this process against the stateful fake Heat (the ``world`` of
test_plans.py, with a runner that records its pauses instead of sleeping);
assertions about the VNF are made against the fake Heat's own state. The
engine-level cases use small plans of their own.
"""

# ruff: noqa: F811 - the world and store fixtures are imported
from __future__ import annotations

import re

import pytest

from nfvlib.exceptions import InvalidInput, VimUnreachable, WaitTimeout
from nfvlib.heat import HeatError, StackStalled
from nfvlib.lcm import policy
from nfvlib.lcm.engine import Plan, PlanRunner, Step
from nfvlib.lcm.notify import LocalSubscriptions
from nfvlib.models import InstantiationState, OpState
from nfvlib.store.lcm import OpOccTable
from tests.unit.conftest import HEAT
from tests.unit.lcm.test_engine import new_op, store  # noqa: F401 - fixture
from tests.unit.lcm.test_plans import LEVEL_1, world  # noqa: F401 - fixture

GROUP = "VDU1_scale_group"
CALLBACK = "http://receiver.test/callback"


@pytest.fixture
def pauses(world, monkeypatch):  # noqa: F811
    """The pauses the world's runner took between automatic retries (no sleeping)."""
    taken: list[float] = []

    def run(op_id):
        runner = PlanRunner(world.services.store, world._plans, renew=False,
                            sleep=taken.append)
        return runner.run(op_id)
    monkeypatch.setattr(world, "run", run)
    return taken


@pytest.fixture
def subscribed(world, requests_mock):  # noqa: F811
    """A subscription to every occurrence notification; returns the outbox states."""
    requests_mock.get(CALLBACK, status_code=204)
    requests_mock.post(CALLBACK, status_code=204)
    subs = LocalSubscriptions(world.services.store, world.services.vims.vault)
    subs.create_subscription({"callbackUri": CALLBACK})

    def states(op_id):
        rows = world.services.store.conn.execute(
            "SELECT operation_state FROM notifications WHERE op_occ_id = ? ORDER BY seq",
            (op_id,)).fetchall()
        return [r[0] for r in rows]
    return states


def fail_once(requests_mock, heat, method: str, path: str, status: int = 503):
    """The next ``method`` on ``path`` (a regex after Heat's URL) answers ``status``."""
    calls = []

    def answer(request, context):
        calls.append(request.method)
        if len(calls) == 1:
            context.status_code = status
            context.headers["Content-Type"] = "application/json"
            return ('{"code": %d, "title": "Service Unavailable", "explanation": '
                    '"The server is currently unavailable."}' % status)
        return heat._answer(request, context)
    requests_mock.register_uri(method, re.compile(re.escape(heat.url) + path), text=answer)
    return calls


def stack_gone(heat, name: str) -> bool:
    """Whether Heat no longer has a live stack of this name (deleted, or never made)."""
    try:
        heat.stack(name)
    except Exception as exc:  # noqa: BLE001 - the fake's 404
        return "could not be found" in str(exc)
    return False


# -- the policy text --------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    ("retry:2,rollback,fallback", policy.Policy(2, True, True)),
    ("retry", policy.Policy(1, False, False)),
    (" Rollback , fallback ", policy.Policy(0, True, True)),
    ("none", policy.Policy()),
    ("", policy.Policy()),
])
def test_policies_parse(text, expected):
    assert policy.parse(text) == expected


@pytest.mark.parametrize("text, words", [
    ("retyr", "unknown procedure 'retyr'"),
    ("rollback,retry:2", "retry cannot come after rollback"),
    ("retry:0", "retry count '0' is not a whole number from 1 to 10"),
    ("retry:x", "retry count 'x'"),
    ("rollback,rollback", "names rollback twice"),
    ("rollback:3", "rollback takes no count"),
])
def test_bad_policies_are_one_line(text, words):
    with pytest.raises(InvalidInput) as err:
        policy.parse(text)
    assert words in str(err.value) and "\n" not in str(err.value)


def test_the_default_policy_comes_from_the_environment():
    assert policy.normalized(None, {}) is None
    assert policy.normalized(None, {"NFV_ON_FAILURE": " Retry:3 , rollback"}) == \
        "retry:3,rollback"
    assert policy.normalized("none", {"NFV_ON_FAILURE": "rollback"}) is None
    with pytest.raises(InvalidInput, match="NFV_ON_FAILURE: unknown procedure"):
        policy.normalized(None, {"NFV_ON_FAILURE": "later"})


def test_which_errors_are_transient():
    from keystoneauth1 import exceptions as ks_exc

    assert policy.is_transient(VimUnreachable("Heat in region R did not answer"))
    assert policy.is_transient(HeatError("Heat refused GET /stacks/x: HTTP 503 busy"))
    assert policy.is_transient(StackStalled("stalled", last_status="CREATE_IN_PROGRESS",
                                            stalled_for=300))
    assert policy.is_transient(WaitTimeout("stack still CREATE_IN_PROGRESS"))
    assert policy.is_transient(ks_exc.ConnectFailure("refused"))
    assert policy.is_transient(ks_exc.ServiceUnavailable())
    assert not policy.is_transient(HeatError("Heat refused POST /stacks: HTTP 409 taken"))
    assert not policy.is_transient(HeatError("stack x is CREATE_FAILED: HTTP 503 in "
                                             "a resource", stack_status="CREATE_FAILED"))
    assert not policy.is_transient(ks_exc.BadRequest())
    assert not policy.is_transient(RuntimeError("lifecycle script exited 1"))


# -- automatic retries of a step -----------------------------------------------------
def test_a_heat_503_on_create_is_retried_and_the_instantiate_completes(
        world, pauses, requests_mock, subscribed):  # noqa: F811
    posts = fail_once(requests_mock, world.heat, "POST", r"/stacks$")
    vnf = world.new_vnf()
    op = world.run(world.lcm.instantiate(vnf.id, LEVEL_1).id)

    assert op.state is OpState.COMPLETED, op.error
    assert posts == ["POST", "POST"]
    assert world.heat.stack(vnf.stack_name)["stack_status"] == "CREATE_COMPLETE"
    assert world.heat.members(vnf.stack_name, GROUP)
    create = next(s for s in op.steps if s.name == "create stack")
    assert create.status == "DONE" and create.attempts == 2
    assert create.detail.startswith("attempt 1 failed: Heat refused POST ")
    assert "HTTP 503" in create.detail and "retrying (1 of 3)" in create.detail
    assert [s.attempts for s in op.steps if s.name != "create stack"] == [1] * (
        len(op.steps) - 1)
    assert pauses == [policy.RETRY_FIRST]
    assert op.escalations == ()  # a step retry is not an escalation
    # the attempt is a notification of its own, between START and the result
    assert subscribed(op.id) == ["STARTING", "PROCESSING", "PROCESSING", "COMPLETED"]
    assert world.vnfs.get_vnf(vnf.id).instantiation_state is \
        InstantiationState.INSTANTIATED


def test_retries_are_bounded_and_back_off(world, pauses, requests_mock):  # noqa: F811
    calls = []

    def down(request, context):
        calls.append(request.method)
        context.status_code = 502
        return ""
    requests_mock.register_uri("POST", re.compile(re.escape(HEAT["RegionOne"])
                                                  + r"/stacks$"), text=down)
    vnf = world.new_vnf()
    op = world.run(world.lcm.instantiate(vnf.id, LEVEL_1).id)

    assert op.state is OpState.FAILED_TEMP
    create = op.steps[op.current_step]
    assert create.name == "create stack" and create.attempts == 1 + policy.STEP_RETRIES
    assert len(calls) == 1 + policy.STEP_RETRIES
    assert pauses == [1.0, 2.0, 4.0]
    assert "HTTP 502" in op.error["detail"]
    assert not [r for r in world.heat.requests if r.method == "POST"]  # no stack made


def test_a_step_that_is_not_idempotent_is_not_retried(store):  # noqa: F811
    calls = []

    def flaky(ctx):
        calls.append(ctx.op.id)
        raise VimUnreachable("Heat in region RegionOne did not answer")

    def plans(op):
        return [Step("script", flaky), Step("after", lambda ctx: None)]
    new_op(store)
    op = PlanRunner(store, plans, renew=False, sleep=lambda s: None).run("op1")
    assert op.state is OpState.FAILED_TEMP and len(calls) == 1
    assert op.steps[0].attempts == 1 and op.steps[0].detail is None

    calls.clear()
    new_op(store, "op2", vnf="vnf2")

    def plans2(op):
        return [Step("read", flaky, idempotent=True)]
    op = PlanRunner(store, plans2, renew=False, sleep=lambda s: None).run("op2")
    assert op.state is OpState.FAILED_TEMP and len(calls) == 1 + policy.STEP_RETRIES


# -- escalation: retry:N, rollback, fallback -------------------------------------------
def test_retry_then_rollback_of_a_failing_instantiate(world, pauses, subscribed,
                                                      monkeypatch):  # noqa: F811
    vnf = world.new_vnf()
    world.heat.fail_next_create("injected member failure")
    update = world.heat._update

    def failing_update(stack, body, *, patch):  # every re-drive fails too
        world.heat.fail_next_update("injected member failure")
        return update(stack, body, patch=patch)
    monkeypatch.setattr(world.heat, "_update", failing_update)
    op = world.run(world.lcm.instantiate(vnf.id, LEVEL_1,
                                         on_failure="retry:2,rollback").id)

    assert op.state is OpState.ROLLED_BACK, op.error
    assert op.on_failure == "retry:2,rollback"
    assert [(e["procedure"], e["step"], e["outcome"]) for e in op.escalations] == [
        ("retry", "wait for stack", "attempt 1 of 2"),
        ("retry", "wait for stack", "attempt 2 of 2"),
        ("rollback", "wait for stack", "started")]
    assert all("injected member failure" in e["reason"] for e in op.escalations)
    wait = next(s for s in op.steps if s.name == "wait for stack")
    assert wait.attempts == 3  # the first run and two policy retries
    assert "injected member failure" in op.error["detail"]
    # Heat's truth: the stack this occurrence created is gone again
    assert stack_gone(world.heat, vnf.stack_name)
    assert world.vnfs.get_vnf(vnf.id).instantiation_state is \
        InstantiationState.NOT_INSTANTIATED
    # every failure, retry and the rollback are notified state changes
    assert subscribed(op.id) == ["STARTING", "PROCESSING",
                                 "FAILED_TEMP", "PROCESSING",
                                 "FAILED_TEMP", "PROCESSING",
                                 "FAILED_TEMP", "ROLLING_BACK", "ROLLED_BACK"]


def test_a_failed_step_that_is_not_idempotent_skips_to_rollback(world,
                                                                pauses):  # noqa: F811
    vnf = world.new_vnf()
    op = world.run(world.lcm.instantiate(
        vnf.id, LEVEL_1 | {"additionalParams": {"sample_fail_event": "instantiate_end"}},
        on_failure="retry:3,rollback").id)
    assert op.state is OpState.ROLLED_BACK, op.error
    assert [(e["procedure"], e["outcome"]) for e in op.escalations] == [
        ("retry", "skipped: step run instantiate_end script is not idempotent"),
        ("rollback", "started")]
    script = next(s for s in op.steps if s.name == "run instantiate_end script")
    assert script.attempts == 1
    assert stack_gone(world.heat, vnf.stack_name)


def test_a_failed_rollback_escalates_to_a_fallback_that_is_not_available(
        world, pauses):  # noqa: F811
    vnf = world.new_vnf()
    world.heat.fail_next_create()
    world.heat.fail_next_delete("injected delete failure")
    op = world.run(world.lcm.instantiate(vnf.id, LEVEL_1,
                                         on_failure="rollback,fallback").id)

    assert op.state is OpState.FAILED_TEMP
    assert [(e["procedure"], e["outcome"]) for e in op.escalations] == [
        ("rollback", "started"), ("fallback", "not available for this operation")]
    assert op.error["detail"].startswith("rollback of step create stack failed: ")
    assert "injected delete failure" in op.error["detail"]
    assert op.error["detail"].endswith("escalation: fallback not available for this "
                                       "operation")
    assert world.heat.stack(vnf.stack_name)["stack_status"] == "DELETE_FAILED"


def test_a_failed_rollback_escalates_to_the_plans_fallback(store):  # noqa: F811
    restored = []

    def broken(ctx):
        raise RuntimeError("Heat said no")

    def plans(op):
        return Plan([Step("a", lambda ctx: ctx.data.update(a=1), undo=broken),
                     Step("b", broken)],
                    fallback=lambda ctx: restored.append(ctx.data["a"]) or "point p1")
    new_op(store, on_failure="rollback,fallback")
    op = PlanRunner(store, plans, renew=False, sleep=lambda s: None).run("op1")

    assert op.state is OpState.ROLLED_BACK
    assert restored == [1]
    assert [(e["procedure"], e["outcome"]) for e in op.escalations] == [
        ("rollback", "started"), ("fallback", "started"), ("fallback", "done: point p1")]
    assert op.error["title"] == "Operation rolled back by fallback"
    assert "changes made after it are lost" in op.error["detail"]

    # a fallback that fails leaves the occurrence FAILED_TEMP, saying so
    def plans_failing(op):
        plan = plans(op)
        plan.fallback = broken
        return plan
    new_op(store, "op2", vnf="vnf2", on_failure="retry:1,fallback")
    op = PlanRunner(store, plans_failing, renew=False, sleep=lambda s: None).run("op2")
    assert op.state is OpState.FAILED_TEMP
    assert op.error["detail"].endswith("fallback failed: Heat said no")
    assert [(e["procedure"], e["outcome"]) for e in op.escalations] == [
        ("retry", "skipped: step b is not idempotent"), ("fallback", "started"),
        ("fallback", "failed: Heat said no")]


def test_without_a_policy_a_failure_stays_failed_temp(world, pauses):  # noqa: F811
    vnf = world.new_vnf()
    world.heat.fail_next_create()
    op = world.run(world.lcm.instantiate(vnf.id, LEVEL_1).id)
    assert op.state is OpState.FAILED_TEMP and op.escalations == ()
    assert OpOccTable(world.services.store).get(op.id).on_failure is None
    assert world.heat.stack(vnf.stack_name)["stack_status"] == "CREATE_FAILED"


def test_the_configured_default_applies_to_requests_without_one(world, pauses,
                                                                monkeypatch):  # noqa: F811
    monkeypatch.setenv("NFV_ON_FAILURE", "rollback")
    vnf = world.new_vnf()
    world.heat.fail_next_create()
    op = world.run(world.lcm.instantiate(vnf.id, LEVEL_1).id)
    assert op.on_failure == "rollback"
    assert op.state is OpState.ROLLED_BACK, op.error
    assert stack_gone(world.heat, vnf.stack_name)


def test_a_bad_policy_refuses_the_request_and_writes_nothing(world):  # noqa: F811
    vnf = world.new_vnf()
    with pytest.raises(InvalidInput, match="unknown procedure 'later'"):
        world.lcm.instantiate(vnf.id, LEVEL_1, on_failure="later")
    assert world.lcm.list_op_occs() == []

