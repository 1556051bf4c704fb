"""nfvlib.heat.HeatClient against the fake Heat (tests/unit/fake_heat.py)."""

from __future__ import annotations

import json
import re

import pytest
import requests
from keystoneauth1 import session
from keystoneauth1.identity import v3

from nfvlib.exceptions import VimUnreachable, WaitTimeout
from nfvlib.heat import HeatClient, HeatError, StackNotFound, StackStalled
from tests.unit.conftest import AUTH_URL, FakeClock
from tests.unit.fake_heat import FakeHeat

TEMPLATE = """
heat_template_version: 2013-05-23
description: two servers in a group
parameters:
  nfv: {type: json}
resources:
  group:
    type: OS::Heat::AutoScalingGroup
    properties:
      min_size: 0
      max_size: 5
      desired_capacity: {get_param: [nfv, VDU, VDU1, desired_capacity]}
      resource: {type: member.yaml}
  lone:
    type: OS::Nova::Server
outputs:
  size:
    value: {get_param: [nfv, VDU, VDU1, desired_capacity]}
"""
MEMBER = """
heat_template_version: 2013-05-23
resources:
  VDU1: {type: OS::Nova::Server}
"""
FILES = {"member.yaml": MEMBER}


def nfv(size: int) -> dict[str, str]:
    return {"nfv": json.dumps({"VDU": {"VDU1": {"desired_capacity": size}}})}


@pytest.fixture
def fake(requests_mock):
    return FakeHeat(requests_mock)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def heat(fake, clock):
    return HeatClient(session.Session(), endpoint_override=fake.url, sleep=clock.sleep,
                      clock=clock)


@pytest.fixture
def stack(heat):
    heat.create_stack("s1", TEMPLATE, parameters=nfv(2), files=FILES)
    return heat.wait_for_stack("s1", "CREATE")


# -- stacks ----------------------------------------------------------------------------
def test_create_sends_heats_body_and_returns_the_id(fake, heat):
    stack_id = heat.create_stack("s1", TEMPLATE, parameters=nfv(1), files=FILES,
                                 environment={"parameters": {}}, timeout_mins=5,
                                 tags=["op-1", "x"])
    method, path, body = fake.requests[0]
    assert (method, path) == ("POST", "/stacks")
    assert body == {"stack_name": "s1", "template": TEMPLATE, "parameters": nfv(1),
                    "files": FILES, "environment": {"parameters": {}},
                    "disable_rollback": True, "timeout_mins": 5, "tags": "op-1,x"}
    shown = heat.get_stack(f"s1/{stack_id}")
    assert (shown["id"], shown["stack_name"], shown["tags"]) == (stack_id, "s1", ["op-1", "x"])


def test_get_by_name_follows_heats_redirect(fake, heat, stack):
    fake.requests.clear()
    assert heat.get_stack("s1")["id"] == stack["id"]
    assert [path for _, path, _ in fake.requests] == ["/stacks/s1",
                                                     f"/stacks/s1/{stack['id']}"]


def test_get_by_name_and_id_is_one_request(fake, heat, stack):
    fake.requests.clear()
    heat.get_stack(f"s1/{stack['id']}")
    assert len(fake.requests) == 1 and heat.requests > 0


def test_stack_fields_and_outputs(heat, stack):
    for key in ("stack_name", "id", "stack_status", "stack_status_reason", "parameters",
                "outputs", "links", "creation_time", "updated_time"):
        assert key in stack
    assert stack["outputs"] == [{"output_key": "size", "description": "",
                                 "output_value": 2}]
    assert json.loads(stack["parameters"]["nfv"]) == json.loads(nfv(2)["nfv"])


def test_patch_merges_parameters(fake, heat, stack):
    heat.update_stack(stack, parameters=nfv(3))
    assert fake.requests[-1][:2] == ("PATCH", f"/stacks/s1/{stack['id']}")
    done = heat.wait_for_stack(f"s1/{stack['id']}", "UPDATE")
    assert done["outputs"][0]["output_value"] == 3
    assert len(fake.members("s1", "group")) == 3


def test_put_needs_the_template_and_replaces(fake, heat, stack):
    with pytest.raises(ValueError):
        heat.update_stack(stack, parameters=nfv(1), patch=False)
    heat.update_stack(stack, parameters=nfv(1), template=TEMPLATE, files=FILES,
                      patch=False)
    assert fake.requests[-1][0] == "PUT"
    heat.wait_for_stack("s1", "UPDATE")
    assert len(fake.members("s1", "group")) == 1


def test_update_while_in_progress_is_a_one_line_conflict(heat, stack):
    heat.update_stack(stack, parameters=nfv(3))
    with pytest.raises(HeatError) as refused:
        heat.update_stack(stack, parameters=nfv(4))
    assert "HTTP 409" in str(refused.value) and "\n" not in str(refused.value)
    assert "already has an action (UPDATE) in progress" in str(refused.value)


def test_delete_then_wait(fake, heat, stack):
    heat.delete_stack(stack)
    assert fake.requests[-1][:2] == ("DELETE", f"/stacks/s1/{stack['id']}")
    done = heat.wait_for_stack(f"s1/{stack['id']}", "DELETE")
    assert done["stack_status"] == "DELETE_COMPLETE"
    heat.delete_stack(stack)  # gone: not an error
    assert heat.list_stacks() == []


def test_wait_for_delete_by_name_with_missing_ok(heat, stack):
    heat.delete_stack(stack)
    heat.wait_for_stack(stack["id"], "DELETE")
    assert heat.wait_for_stack("s1", "DELETE", missing_ok=True) is None


def test_wait_for_a_missing_stack_without_missing_ok(heat):
    with pytest.raises(StackNotFound) as missing:
        heat.wait_for_stack("nope", "DELETE")
    assert "The Stack (nope) could not be found." in str(missing.value)


def test_suspend_resume_and_check(heat, stack):
    for action in ("suspend", "resume", "check"):
        heat.stack_action(stack, action)
        done = heat.wait_for_stack(stack["id"], action.upper())
        assert done["stack_status"] == f"{action.upper()}_COMPLETE"


def test_cancel_update_rolls_back(fake, heat, stack):
    heat.update_stack(stack, parameters=nfv(4))
    heat.stack_action(stack, "cancel_update")
    done = heat.wait_for_stack("s1", "ROLLBACK")
    assert done["stack_status"] == "ROLLBACK_COMPLETE"
    assert len(fake.members("s1", "group")) == 2


# -- waiting ------------------------------------------------------------------------------
def test_wait_reports_progress_until_complete(heat, clock):
    heat.create_stack("s1", TEMPLATE, parameters=nfv(1), files=FILES)
    seen = []
    heat.wait_for_stack("s1", "CREATE", progress=lambda s: seen.append(s["stack_status"]))
    assert seen == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
    assert clock.sleeps  # it paused between the two polls


def test_wait_raises_with_heats_reason_on_failure(fake, heat, stack):
    fake.fail_next_update("no valid host", resource="VDU1")
    heat.update_stack(stack, parameters=nfv(3))
    with pytest.raises(HeatError) as failed:
        heat.wait_for_stack("s1", "UPDATE")
    assert failed.value.stack_status == "UPDATE_FAILED"
    assert failed.value.reason.startswith(
        "Resource UPDATE failed: ValueError: resources.group.resources.")
    assert failed.value.reason.endswith(".resources.VDU1: no valid host")
    assert str(failed.value).startswith("stack s1 is UPDATE_FAILED: Resource UPDATE")


def test_an_unexpected_status_is_a_failure(heat, stack):
    # Waiting for an UPDATE that never started: CREATE_COMPLETE is no success.
    with pytest.raises(HeatError) as failed:
        heat.wait_for_stack("s1", "UPDATE")
    assert failed.value.stack_status == "CREATE_COMPLETE"


def test_wait_times_out_on_the_clock(requests_mock, clock):
    fake = FakeHeat(requests_mock, polls=None)  # the create never ends
    heat = HeatClient(session.Session(), endpoint_override=fake.url, sleep=clock.sleep,
                      clock=clock)
    heat.create_stack("s1", TEMPLATE, parameters=nfv(1), files=FILES)
    start = clock.now
    with pytest.raises(WaitTimeout) as late:
        heat.wait_for_stack("s1", "CREATE", timeout=30)
    assert late.value.last_seen == "CREATE_IN_PROGRESS"
    assert 30 <= clock.now - start <= 30 + 0.25
    assert max(clock.sleeps) <= 0.25


def test_wait_until_quiet_waits_for_siblings_of_a_failure(requests_mock, clock):
    fake = FakeHeat(requests_mock, lag=3)
    heat = HeatClient(session.Session(), endpoint_override=fake.url, sleep=clock.sleep,
                      clock=clock)
    heat.create_stack("s1", TEMPLATE, parameters=nfv(1), files=FILES)
    stack = heat.wait_for_stack("s1", "CREATE")
    fake.fail_next_update("boom", resource="VDU1")
    heat.update_stack(stack, parameters=nfv(3))
    with pytest.raises(HeatError):
        heat.wait_for_stack("s1", "UPDATE")
    fake.requests.clear()
    heat.wait_until_quiet(stack)
    assert len(fake.requests) == 4  # three listings with siblings busy, then quiet
    assert not [r for r in heat.list_resources(stack, nested_depth=5)
                if r["resource_status"].endswith("_IN_PROGRESS")]


def test_wait_until_quiet_times_out(requests_mock, clock):
    fake = FakeHeat(requests_mock, polls=None)
    heat = HeatClient(session.Session(), endpoint_override=fake.url, sleep=clock.sleep,
                      clock=clock)
    heat.create_stack("s1", TEMPLATE, parameters=nfv(1), files=FILES)
    stack = fake.stack("s1")
    with pytest.raises(WaitTimeout) as late:
        heat.wait_until_quiet(stack, timeout=10)
    assert "resource(s) in progress after 10 s" in str(late.value)


# -- resources and events ---------------------------------------------------------------
def test_list_resources_nested_depth(heat, stack):
    assert {r["resource_name"] for r in heat.list_resources(stack)} == {"group", "lone"}
    deep = heat.list_resources(stack, nested_depth=2)
    assert [r["resource_name"] for r in deep].count("VDU1") == 2
    assert all(r["parent_resource"] for r in deep
               if r["resource_name"] not in ("group", "lone"))


def test_mark_unhealthy_and_back(fake, heat, stack):
    heat.mark_unhealthy("s1", stack["id"], "lone", "broken")
    assert fake.requests[-1] == ("PATCH", f"/stacks/s1/{stack['id']}/resources/lone",
                                 {"mark_unhealthy": True,
                                  "resource_status_reason": "broken"})
    row = {r["resource_name"]: r for r in heat.list_resources(stack)}["lone"]
    assert (row["resource_status"], row["resource_status_reason"]) == ("CHECK_FAILED",
                                                                       "broken")
    heat.mark_unhealthy("s1", stack["id"], "lone", "fine", unhealthy=False)
    row = {r["resource_name"]: r for r in heat.list_resources(stack)}["lone"]
    assert row["resource_status"] == "CHECK_COMPLETE"


def test_mark_unhealthy_of_an_unknown_resource(heat, stack):
    with pytest.raises(StackNotFound) as missing:
        heat.mark_unhealthy("s1", stack["id"], "ghost", "x")
    assert "The Resource (ghost) could not be found." in str(missing.value)


def test_events_oldest_first(heat, stack):
    events = heat.list_events(stack, nested_depth=2)
    assert events[0]["resource_status"] == "CREATE_IN_PROGRESS"
    assert events[0]["resource_name"] == "s1"
    assert events[-1]["resource_status"] == "CREATE_COMPLETE"
    assert len(heat.list_events(stack, limit=2)) == 2


def test_failure_reason_adds_the_root_cause_from_events(fake, heat, stack):
    fake.fail_next_update("no valid host", resource="VDU1")
    heat.update_stack(stack, parameters=nfv(3))
    with pytest.raises(HeatError):
        heat.wait_for_stack("s1", "UPDATE")
    reason = heat.failure_reason(heat.get_stack("s1"))
    assert reason.startswith("Resource UPDATE failed: ValueError: resources.group.")
    assert reason.endswith("(cause: VDU1: ValueError: resources.VDU1: no valid host)")


def test_failure_reason_names_this_failure_not_an_earlier_one(fake, heat, stack):
    fake.fail_next_update("first failure", resource="VDU1")
    heat.update_stack(stack, parameters=nfv(3))
    with pytest.raises(HeatError):
        heat.wait_for_stack("s1", "UPDATE")
    heat.wait_until_quiet(stack)
    fake.fail_next_update("second failure", resource="lone")
    heat.update_stack(stack, template=TEMPLATE.replace("Nova::Server\noutputs",
                                                       "Nova::Server\n    properties: "
                                                       "{name: x}\noutputs"))
    with pytest.raises(HeatError):
        heat.wait_for_stack("s1", "UPDATE")
    reason = heat.failure_reason(heat.get_stack("s1"))
    assert "second failure" in reason and "first failure" not in reason


def test_failure_reason_without_failed_events_is_the_stack_reason(heat, stack):
    assert heat.failure_reason(dict(stack, stack_status_reason="odd\n  thing")) == (
        "odd thing")


# -- transport errors --------------------------------------------------------------------
def test_404_is_stack_not_found(heat):
    with pytest.raises(StackNotFound):
        heat.get_stack("nope")


def test_4xx_is_a_one_line_heat_error(heat):
    with pytest.raises(HeatError) as refused:
        heat.create_stack("1bad name", TEMPLATE)
    text = str(refused.value)
    assert text.startswith("Heat refused POST /stacks: HTTP 400 Invalid stack name")
    assert "\n" not in text


def test_bad_template_parameter_is_refused(heat):
    with pytest.raises(HeatError) as refused:
        heat.create_stack("s1", TEMPLATE, parameters={"other": "1"}, files=FILES)
    assert "The Parameter (other) was not defined in template." in str(refused.value)


def test_5xx_with_an_html_body_is_one_line(requests_mock, fake, heat):
    requests_mock.get(fake.url + "/stacks", status_code=503,
                      text="Service Unavailable\n<html>more</html>\n",
                      headers={"Content-Type": "text/html"})
    with pytest.raises(HeatError) as refused:
        heat.list_stacks()
    assert str(refused.value) == ("Heat refused GET /stacks: HTTP 503 Service Unavailable")


def test_connection_error_is_vim_unreachable(requests_mock, fake, heat):
    requests_mock.get(fake.url + "/stacks", exc=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(VimUnreachable) as unreachable:
        heat.list_stacks()
    assert "did not answer" in str(unreachable.value)


def test_no_heat_in_the_region_is_vim_unreachable(keystone):
    auth = v3.Password(auth_url=AUTH_URL, username="alice", password="s3cret",
                       project_name="demo", user_domain_name="Default",
                       project_domain_name="Default")
    heat = HeatClient(session.Session(auth=auth), region_name="RegionNine")
    with pytest.raises(VimUnreachable) as unreachable:
        heat.list_stacks()
    assert "no orchestration (Heat) endpoint in region RegionNine" in str(unreachable.value)


def test_the_catalogs_heat_is_used(keystone, requests_mock):
    fake = FakeHeat(requests_mock, url="http://heat2.test:8004/v1/p1")
    auth = v3.Password(auth_url=AUTH_URL, username="alice", password="s3cret",
                       project_name="demo", user_domain_name="Default",
                       project_domain_name="Default")
    heat = HeatClient(session.Session(auth=auth), region_name="RegionTwo")
    heat.create_stack("s1", TEMPLATE, parameters=nfv(1), files=FILES)
    assert fake.stack("s1")["stack_status"] == "CREATE_IN_PROGRESS"


# -- stalled stacks ----------------------------------------------------------------------
def stalled_heat(requests_mock, clock, **kwargs):
    fake = FakeHeat(requests_mock, **kwargs)
    heat = HeatClient(session.Session(), endpoint_override=fake.url, sleep=clock.sleep,
                      clock=clock)
    return fake, heat


def test_a_stack_no_engine_works_on_fails_after_the_stall_limit(requests_mock, clock):
    fake, heat = stalled_heat(requests_mock, clock, polls=None)  # never moves again
    heat.create_stack("s1", TEMPLATE, parameters=nfv(1), files=FILES)
    start = clock.now
    with pytest.raises(StackStalled) as stalled:
        heat.wait_for_stack("s1", "CREATE", timeout=1800, stall=60)
    assert 60 <= clock.now - start <= 60 + 10 + 0.25  # within one look of the limit
    assert stalled.value.stack_status is None and stalled.value.stalled_for >= 60
    assert stalled.value.last_status == "CREATE_IN_PROGRESS"
    assert str(stalled.value) == ("Heat has not progressed stack s1 (CREATE_IN_PROGRESS) "
                                  "for 60 s: its engine may have restarted; retry "
                                  "re-drives it")
    assert fake.stack("s1")["stack_status"] == "CREATE_IN_PROGRESS"


def test_an_action_that_ends_before_the_first_stall_look_costs_only_stack_reads(
        requests_mock, clock):
    """The stall watch looks (events and resources) after its interval, not at
    once: most actions end sooner, and Heat is spared two requests per wait."""
    fake, heat = stalled_heat(requests_mock, clock, polls=3)
    heat.create_stack("s1", TEMPLATE, parameters=nfv(1), files=FILES)
    before = len(fake.requests)
    done = heat.wait_for_stack("s1", "CREATE", timeout=600, stall=300)
    assert done["stack_status"] == "CREATE_COMPLETE"
    read = [r.path for r in fake.requests[before:]]
    assert read and all(p.startswith("/stacks/s1") for p in read)
    assert not [p for p in read if p.endswith(("/events", "/resources"))]


def test_a_slow_stack_that_makes_progress_is_not_stalled(requests_mock, clock):
    fake, heat = stalled_heat(requests_mock, clock, polls=None)
    heat.create_stack("s1", TEMPLATE, parameters=nfv(1), files=FILES)
    lone = fake._get("s1").resources["lone"]
    changes = []

    def work(stack):  # the engine moves one resource (an event) every 40 s
        if not changes or clock.now - changes[-1] >= 40:
            changes.append(clock.now)
            fake._set(lone, "CREATE_IN_PROGRESS", f"step {len(changes)}")

    with pytest.raises(WaitTimeout):
        heat.wait_for_stack("s1", "CREATE", timeout=300, stall=60, progress=work)
    assert len(changes) >= 7


def test_heat_not_answering_counts_as_no_progress(requests_mock, clock):
    fake, heat = stalled_heat(requests_mock, clock, polls=None)
    heat.create_stack("s1", TEMPLATE, parameters=nfv(1), files=FILES)
    down = []

    def answer(request, context):
        if down:
            raise requests.exceptions.ConnectionError("connection refused")
        return fake._answer(request, context)

    requests_mock.register_uri("GET", re.compile(re.escape(fake.url) + "/stacks/.*"),
                               text=answer)
    seen = []
    down.append(True)
    start = clock.now
    with pytest.raises(StackStalled) as stalled:
        heat.wait_for_stack("s1", "CREATE", timeout=1800, stall=30,
                            progress=lambda s: seen.append(s))
    assert 30 <= clock.now - start <= 30 + 0.25
    assert "Heat has not answered about stack s1 (CREATE) for 30 s" in str(stalled.value)
    assert "did not answer" in str(stalled.value)


def test_heat_back_within_the_stall_limit_is_waited_for(requests_mock, clock):
    fake, heat = stalled_heat(requests_mock, clock, polls=40)
    heat.create_stack("s1", TEMPLATE, parameters=nfv(1), files=FILES)
    calls = []

    def answer(request, context):
        calls.append(clock.now)
        if 5 <= len(calls) < 25:  # a restart: 20 GETs refused
            raise requests.exceptions.ConnectionError("connection refused")
        return fake._answer(request, context)

    requests_mock.register_uri("GET", re.compile(re.escape(fake.url) + "/stacks/.*"),
                               text=answer)
    done = heat.wait_for_stack("s1", "CREATE", timeout=1800, stall=30)
    assert done["stack_status"] == "CREATE_COMPLETE"


def test_without_a_stall_limit_heat_not_answering_fails_at_once(requests_mock, clock):
    fake, heat = stalled_heat(requests_mock, clock, polls=None)
    heat.create_stack("s1", TEMPLATE, parameters=nfv(1), files=FILES)
    requests_mock.register_uri("GET", re.compile(re.escape(fake.url) + "/stacks/.*"),
                               exc=requests.exceptions.ConnectionError)
    start = clock.now
    with pytest.raises(VimUnreachable):
        heat.wait_for_stack("s1", "CREATE", timeout=1800)
    assert clock.now == start


def test_an_answer_that_is_not_heats_is_no_answer(requests_mock, clock):
    fake, heat = stalled_heat(requests_mock, clock, polls=None)
    heat.create_stack("s1", TEMPLATE, parameters=nfv(1), files=FILES)
    # Another server took over Heat's port: HTTP 200, an HTML page.
    requests_mock.register_uri("GET", re.compile(re.escape(fake.url) + "/stacks/.*"),
                               text="<html>hello</html>",
                               headers={"Content-Type": "text/html"})
    with pytest.raises(VimUnreachable) as unreachable:
        heat.get_stack("s1")
    assert str(unreachable.value).startswith(
        "Heat in region None answered GET /stacks/s1 with HTTP 200 but no 'stack'")
    with pytest.raises(StackStalled, match="Heat has not answered about stack s1"):
        heat.wait_for_stack("s1", "CREATE", timeout=1800, stall=30)


def test_no_answer_makes_the_next_request_authenticate_afresh(requests_mock, clock,
                                                              monkeypatch):
    fake, heat = stalled_heat(requests_mock, clock, polls=None)
    heat.create_stack("s1", TEMPLATE, parameters=nfv(1), files=FILES)
    invalidated = []
    monkeypatch.setattr(heat._adapter.session, "invalidate",
                        lambda auth=None: invalidated.append(clock.now) or True)
    requests_mock.register_uri("GET", re.compile(re.escape(fake.url) + "/stacks/.*"),
                               exc=requests.exceptions.ConnectionError)
    with pytest.raises(StackStalled):
        heat.wait_for_stack("s1", "CREATE", timeout=1800, stall=30)
    # A fresh catalog (a restarted Heat may listen elsewhere), at most every 5 s.
    assert 6 <= len(invalidated) <= 7
    assert all(b - a >= 5 for a, b in zip(invalidated, invalidated[1:]))
