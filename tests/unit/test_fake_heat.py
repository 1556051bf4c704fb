"""The fake Heat's own semantics, so that tests built on it can trust it.

Each behaviour checked here was measured on the real Heat (docs/heat.md).
"""

from __future__ import annotations

import json
import pathlib

import pytest
from keystoneauth1 import session

from nfvlib.heat import HeatClient, HeatError
from nfvlib.lcm import vnfc
from tests.unit.fake_heat import FakeHeat

ROOT = pathlib.Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "nfvlib/samples/sample_vnf/BaseHOT/simple"
TACKER = ROOT / "tests/data/tacker-sample-basic_lcms_min/BaseHOT/simple"
CAPTURED = pathlib.Path(__file__).parent / "lcm/data/sample_resources.json"
GROUP = "VDU1_scale_group"

RG_TEMPLATE = """
heat_template_version: 2013-05-23
parameters:
  nfv: {type: json}
resources:
  group:
    type: OS::Heat::ResourceGroup
    properties:
      count: {get_param: [nfv, VDU, VDU1, desired_capacity]}
      resource_def:
        type: OS::Nova::Server
        properties: {name: 'vm-%index%'}
"""


def nfv(vdu1: int) -> dict[str, str]:
    """The ``nfv`` stack parameter with VDU1's capacity."""
    return {"nfv": json.dumps({"VDU": {
        "VDU1": {"desired_capacity": vdu1, "computeFlavourId": "m1", "vcImageId": "i1"},
        "VDU2": {"computeFlavourId": "m1", "vcImageId": "i2"}}})}


@pytest.fixture
def fake(requests_mock):
    return FakeHeat(requests_mock)


@pytest.fixture
def heat(fake):
    return HeatClient(session.Session(), endpoint_override=fake.url,
                      sleep=lambda seconds: None)


def create(heat, name="vnf-1", capacity=1, base=SAMPLE, top="sample_vnf.yaml"):
    files = {"VDU1.yaml": (base / "nested/VDU1.yaml").read_text()}
    heat.create_stack(name, (base / top).read_text(), parameters=nfv(capacity), files=files)
    return heat.wait_for_stack(name, "CREATE")


def scale(heat, stack, capacity):
    heat.update_stack(stack, parameters=nfv(capacity))
    return heat.wait_for_stack(f"{stack['stack_name']}/{stack['id']}", "UPDATE")


def grow(heat, stack, *capacities):
    """Scale out one step at a time, so members have distinct ages."""
    for capacity in capacities:
        scale(heat, stack, capacity)


def test_asg_shrink_removes_the_oldest(fake, heat):
    stack = create(heat)
    grow(heat, stack, 2, 3)
    a, b, c = fake.members("vnf-1", GROUP)
    scale(heat, stack, 2)
    assert fake.members("vnf-1", GROUP) == [b, c]


def test_asg_shrink_removes_marked_members_first(fake, heat):
    stack = create(heat)
    grow(heat, stack, 2, 3)
    a, b, c = fake.members("vnf-1", GROUP)
    row = next(r for r in heat.list_resources(stack) if r["resource_name"] == GROUP)
    nested = fake.stack(row["physical_resource_id"])  # the group's nested stack
    heat.mark_unhealthy(nested["stack_name"], nested["id"], c, "scale-in")
    scale(heat, stack, 2)
    assert fake.members("vnf-1", GROUP) == [a, b]


def test_patching_back_a_scale_out_removes_the_original_member(fake, heat):
    """Heat keeps the newest members: the original VM goes."""
    stack = create(heat)
    original = fake.members("vnf-1", GROUP)
    scale(heat, stack, 3)
    added = fake.members("vnf-1", GROUP)[1:]
    scale(heat, stack, 1)
    assert fake.members("vnf-1", GROUP) == added[-1:]
    assert not set(original) & set(fake.members("vnf-1", GROUP))


def test_patching_back_a_failed_scale_out_removes_the_original_member(fake, heat):
    """Failed members go first, then the oldest: the original, not the good new one."""
    stack = create(heat)
    (original,) = fake.members("vnf-1", GROUP)
    fake.fail_next_update("no host", resource="VDU1")  # the first new server fails
    heat.update_stack(stack, parameters=nfv(3))
    with pytest.raises(HeatError) as failed:
        heat.wait_for_stack("vnf-1", "UPDATE")
    assert failed.value.stack_status == "UPDATE_FAILED"
    bad, good = fake.members("vnf-1", GROUP)[1:]
    heat.wait_until_quiet(stack)
    scale(heat, stack, 1)
    assert fake.members("vnf-1", GROUP) == [good]


def test_patching_back_after_all_new_members_failed_keeps_the_original(fake, heat):
    stack = create(heat)
    original = fake.members("vnf-1", GROUP)
    fake.fail_member("vnf-1", GROUP)
    heat.update_stack(stack, parameters=nfv(3))
    with pytest.raises(HeatError):
        heat.wait_for_stack("vnf-1", "UPDATE")
    fake.clear_failures()
    heat.wait_until_quiet(stack)
    scale(heat, stack, 1)
    assert fake.members("vnf-1", GROUP) == original


def test_a_failed_member_is_rebuilt_under_its_name_by_the_next_update(fake, heat):
    stack = create(heat)
    fake.fail_member("vnf-1", GROUP)
    heat.update_stack(stack, parameters=nfv(2))
    with pytest.raises(HeatError):
        heat.wait_for_stack("vnf-1", "UPDATE")
    fake.clear_failures()
    heat.wait_until_quiet(stack)
    members, servers = fake.members("vnf-1", GROUP), fake.servers("vnf-1", "VDU1")
    scale(heat, stack, 2)
    assert fake.members("vnf-1", GROUP) == members
    assert fake.servers("vnf-1", "VDU1")[0] == servers[0]
    assert fake.servers("vnf-1", "VDU1")[1] != servers[1]


def test_marked_member_is_replaced_when_the_capacity_stays(fake, heat):
    stack = create(heat, capacity=2)
    members = fake.members("vnf-1", GROUP)
    servers = fake.servers("vnf-1", "VDU1")
    rows = heat.list_resources(stack, nested_depth=2)
    victim = next(c for c in vnfc.vnfcs_from_resources(rows, {"VDU1"})
                  if c.member == members[0])
    heat.mark_unhealthy(*vnfc.mark_unhealthy_targets(victim), "heal")
    scale(heat, stack, 2)
    # Same member name (Heat keeps the failed member's definition and
    # replaces the resource), new server, now the newest member.
    assert fake.members("vnf-1", GROUP) == [members[1], members[0]]
    after = fake.servers("vnf-1", "VDU1")
    assert servers[1] in after and servers[0] not in after and len(after) == 2


def test_unmarking_clears_the_mark(fake, heat):
    stack = create(heat, capacity=2)
    rows = heat.list_resources(stack, nested_depth=2)
    victim = vnfc.vnfcs_from_resources(rows, {"VDU1"})[0]
    target = vnfc.mark_unhealthy_targets(victim)
    heat.mark_unhealthy(*target, "scale-in")
    member = lambda: next(r for r in heat.list_resources(stack, nested_depth=1)  # noqa: E731
                          if r["resource_name"] == target[2])
    assert (member()["resource_status"], member()["resource_status_reason"]) == (
        "CHECK_FAILED", "scale-in")
    heat.mark_unhealthy(*target, "rollback", unhealthy=False)
    assert member()["resource_status"] == "CHECK_COMPLETE"
    servers = fake.servers("vnf-1", "VDU1")
    scale(heat, stack, 2)
    assert fake.servers("vnf-1", "VDU1") == servers


def test_resource_group_shrinks_from_the_highest_index_and_replaces_in_place(fake, heat):
    heat.create_stack("rg", RG_TEMPLATE, parameters=nfv(3))
    stack = heat.wait_for_stack("rg", "CREATE")
    assert fake.members("rg", "group") == ["0", "1", "2"]
    before = fake.servers("rg", "0")
    group = next(r for r in heat.list_resources(stack) if r["resource_name"] == "group")
    nested = fake.stack(group["physical_resource_id"])
    heat.mark_unhealthy(nested["stack_name"], nested["id"], "0", "heal")
    scale(heat, stack, 2)
    assert sorted(fake.members("rg", "group")) == ["0", "1"]
    assert fake.servers("rg", "0") != before


def test_actions_are_asynchronous(fake, heat):
    heat.create_stack("vnf-1", (SAMPLE / "sample_vnf.yaml").read_text(),
                      parameters=nfv(1),
                      files={"VDU1.yaml": (SAMPLE / "nested/VDU1.yaml").read_text()})
    first = heat.get_stack("vnf-1")
    assert first["stack_status"] == "CREATE_IN_PROGRESS"
    assert heat.get_stack("vnf-1")["stack_status"] == "CREATE_COMPLETE"
    heat.update_stack(first, parameters=nfv(2))
    rows = heat.list_resources(first, nested_depth=5)
    assert any(r["resource_status"] == "CREATE_IN_PROGRESS" for r in rows)
    assert heat.get_stack("vnf-1")["stack_status"] == "UPDATE_COMPLETE"
    assert not [r for r in heat.list_resources(first, nested_depth=5)
                if r["resource_status"].endswith("_IN_PROGRESS")]


def test_polls_setting_and_settle(requests_mock):
    fake = FakeHeat(requests_mock, polls=3)
    heat = HeatClient(session.Session(), endpoint_override=fake.url)
    heat.create_stack("s", RG_TEMPLATE, parameters=nfv(1))
    seen = [heat.get_stack("s")["stack_status"] for _ in range(4)]
    assert seen == ["CREATE_IN_PROGRESS"] * 3 + ["CREATE_COMPLETE"]
    heat.update_stack(heat.get_stack("s"), parameters=nfv(2))
    fake.settle()
    assert fake.stack("s")["stack_status"] == "UPDATE_COMPLETE"


def test_failed_update_names_the_path_and_siblings_finish_later(fake, heat):
    stack = create(heat)
    fake.fail_member("vnf-1", GROUP)
    heat.update_stack(stack, parameters=nfv(3))
    with pytest.raises(HeatError) as failed:
        heat.wait_for_stack("vnf-1", "UPDATE")
    reason = failed.value.reason
    assert reason.startswith(f"Resource UPDATE failed: ValueError: resources.{GROUP}"
                             ".resources.")
    assert reason.endswith(".resources.VDU1: injected member failure")
    busy = [r for r in heat.list_resources(stack, nested_depth=5)
            if r["resource_status"].endswith("_IN_PROGRESS")]
    assert busy  # convergence: the parent failed while siblings still run
    heat.wait_until_quiet(stack)
    events = heat.list_events(stack, nested_depth=5)
    failures = [e for e in events if e["resource_status"] == "CREATE_FAILED"]
    assert failures[0]["resource_status_reason"] == (
        "ValueError: resources.VDU1: injected member failure")


def test_an_update_during_the_lag_cancels_the_siblings(fake, heat):
    stack = create(heat)
    fake.fail_member("vnf-1", GROUP)
    heat.update_stack(stack, parameters=nfv(2))
    with pytest.raises(HeatError):
        heat.wait_for_stack("vnf-1", "UPDATE")
    fake.clear_failures()
    scale(heat, stack, 2)  # without waiting until quiet
    reasons = [e["resource_status_reason"] for e in heat.list_events(stack, nested_depth=5)]
    assert "UPDATE aborted (Stack UPDATE cancelled)" in reasons


def test_update_of_a_failed_stack_is_allowed(fake, heat):
    stack = create(heat)
    fake.fail_next_update("boom")
    heat.update_stack(stack, parameters=nfv(2))
    with pytest.raises(HeatError):
        heat.wait_for_stack("vnf-1", "UPDATE")
    heat.wait_until_quiet(stack)
    assert scale(heat, stack, 2)["stack_status"] == "UPDATE_COMPLETE"
    assert len(fake.members("vnf-1", GROUP)) == 2


def test_rows_have_the_shape_of_the_captured_answer(fake, heat):
    stack = create(heat, base=TACKER, top="sample2.yaml")
    grow(heat, stack, 2)
    captured = json.loads(CAPTURED.read_text())["resources"]
    rows = heat.list_resources(stack, nested_depth=2)
    key_sets = {frozenset(r) for r in rows}
    assert key_sets == {frozenset(r) for r in captured}
    for row in rows:
        rels = [link["rel"] for link in row["links"]]
        assert rels[:2] == ["self", "stack"]
        assert all(link["href"].startswith(fake.url + "/stacks/") for link in row["links"])
        assert row["creation_time"].endswith("Z") and len(row["creation_time"]) == 20
    members = [r for r in rows if r.get("parent_resource") == GROUP]
    assert [m["resource_type"] for m in members] == ["VDU1.yaml", "VDU1.yaml"]
    assert all(len(m["resource_name"]) == 12 and m["resource_name"].isalnum()
               and m["resource_name"].islower() for m in members)
    assert members[0]["creation_time"] < members[1]["creation_time"]


def test_vnfcs_from_the_fake_rows(fake, heat):
    stack = create(heat, base=TACKER, top="sample2.yaml")
    grow(heat, stack, 2, 3)
    rows = heat.list_resources(stack, nested_depth=5)
    found = vnfc.vnfcs_from_resources(rows, {"VDU1", "VDU2"})
    group_row = next(r for r in rows if r["resource_name"] == GROUP)
    nested = next(link["href"] for link in group_row["links"] if link["rel"] == "nested")
    group_ref = "/".join(nested.split("/")[-2:])
    vdu1 = [c for c in found if c.vdu_id == "VDU1"]
    assert [c.member for c in vdu1] == list(reversed(fake.members("vnf-1", GROUP)))
    assert {c.parent_stack for c in vdu1} == {group_ref}
    assert sorted(c.id for c in vdu1) == sorted(fake.servers("vnf-1", "VDU1"))
    (vdu2,) = [c for c in found if c.vdu_id == "VDU2"]
    assert vdu2.member is None and vdu2.parent_stack == f"vnf-1/{stack['id']}"


def test_delete_then_by_id_shows_delete_complete_and_by_name_404(fake, heat):
    stack = create(heat)
    heat.delete_stack(stack)
    assert heat.get_stack(f"vnf-1/{stack['id']}")["stack_status"] == "DELETE_IN_PROGRESS"
    assert heat.wait_for_stack(f"vnf-1/{stack['id']}", "DELETE")["stack_status"] == (
        "DELETE_COMPLETE")
    assert heat.wait_for_stack("vnf-1", "DELETE", missing_ok=True) is None
    assert create(heat)["id"] != stack["id"]  # the name is free again


def test_failed_delete_then_a_second_delete_succeeds(fake, heat):
    stack = create(heat)
    fake.fail_next_delete("port busy")
    heat.delete_stack(stack)
    with pytest.raises(HeatError) as failed:
        heat.wait_for_stack("vnf-1", "DELETE")
    assert failed.value.stack_status == "DELETE_FAILED"
    assert "port busy" in failed.value.reason
    assert fake.servers("vnf-1", "VDU1")
    heat.delete_stack(stack)
    assert heat.wait_for_stack(f"vnf-1/{stack['id']}", "DELETE")


def test_requests_are_logged(fake, heat):
    stack = create(heat)
    heat.mark_unhealthy("vnf-1", stack["id"], "VDU2", "heal")
    assert fake.requests[0][:2] == ("POST", "/stacks")
    assert fake.requests[0].json["stack_name"] == "vnf-1"
    assert fake.requests[-1] == (
        "PATCH", f"/stacks/vnf-1/{stack['id']}/resources/VDU2",
        {"mark_unhealthy": True, "resource_status_reason": "heal"})


def test_snapshot_and_restore_bring_members_and_parameters_back(fake, heat):
    stack = create(heat, capacity=2)
    members = fake.members("vnf-1", GROUP)
    url = f"{fake.url}/stacks/vnf-1/{stack['id']}/snapshots"
    sess = session.Session()
    snap = sess.post(url, json={"name": "before"}).json()
    assert snap["status"] == "IN_PROGRESS"
    assert sess.get(f"{url}/{snap['id']}").json()["snapshot"]["status"] == "COMPLETE"
    scale(heat, stack, 3)
    restore = sess.post(f"{url}/{snap['id']}/restore")
    assert restore.status_code == 202
    done = heat.wait_for_stack(f"vnf-1/{stack['id']}", "RESTORE")
    assert json.loads(done["parameters"]["nfv"])["VDU"]["VDU1"]["desired_capacity"] == 2
    assert fake.members("vnf-1", GROUP) == members
    assert sess.delete(f"{url}/{snap['id']}").status_code == 204
    assert sess.get(url).json() == {"snapshots": []}


def test_suspending_a_member_stack_leaves_the_parent_alone(fake, heat):
    stack = create(heat)
    rows = heat.list_resources(stack, nested_depth=1)
    member = next(r for r in rows if r.get("parent_resource") == GROUP)
    nested = fake.stack(member["physical_resource_id"])
    heat.stack_action(nested, "suspend")
    assert heat.wait_for_stack(nested["id"], "SUSPEND")["stack_status"] == "SUSPEND_COMPLETE"
    assert heat.get_stack("vnf-1")["stack_status"] == "CREATE_COMPLETE"


def test_updating_a_suspended_stack_fails(fake, heat):
    stack = create(heat)
    heat.stack_action(stack, "suspend")
    heat.wait_for_stack("vnf-1", "SUSPEND")
    heat.update_stack(stack, parameters=nfv(2))
    with pytest.raises(HeatError) as failed:
        heat.wait_for_stack("vnf-1", "UPDATE")
    assert "suspended" in failed.value.reason


def test_errors_have_heats_error_body(fake, heat):
    answer = session.Session().get(f"{fake.url}/stacks/nope/123", raise_exc=False)
    assert answer.status_code == 404
    assert answer.json()["error"] == {"message": "The Stack (nope) could not be found.",
                                      "traceback": None, "type": "EntityNotFound"}
