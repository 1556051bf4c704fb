"""Local-mode VNF lifecycle against the sandbox's real Heat, failures included."""

from __future__ import annotations

import json
import os
import signal
import time
import uuid

import pytest

from nfvlib import Conflict, InvalidInput
from nfvlib.store.lcm import OpOccTable
from nfvlib.heat import StackNotFound
from nfvlib.models import InstantiationState, OpState
from nfvlib.sandbox.heat_env import FAIL_TEMPLATE, slow_template
from tests.functional.lcm import (LEVEL_1, SAMPLE, WAIT, faulty_vim, new_vnf, on_vim,
                                  remove_package, stack_gone)


def vdu_count(vnf, vdu: str) -> int:
    return sum(1 for c in vnf.vnfc if c.vdu_id == vdu)


def test_failed_instantiate_rolls_back_then_retry_completes(client, package, heat,
                                                            sandbox):
    from nfvlib.sandbox.heat_env import _template_text

    vim = faulty_vim(client, sandbox, "faulty-create", "VDU2", FAIL_TEMPLATE,
                     _template_text(FAIL_TEMPLATE))
    vnf = new_vnf(client, package)
    failed = client.lcm.wait(client.lcm.instantiate(vnf.id, on_vim(vim)).id, timeout=WAIT)
    assert failed.state is OpState.FAILED_TEMP
    assert "injected_failure" in failed.error["detail"], failed.error
    assert "VDU2" in failed.error["detail"]
    assert failed.step_summary.endswith("wait for stack")

    rolled = client.lcm.wait(client.lcm.rollback(failed.id).id, timeout=WAIT)
    assert rolled.state is OpState.ROLLED_BACK, rolled.error
    assert stack_gone(heat, vnf.stack_name)
    assert client.vnfs.get_vnf(vnf.id).instantiation_state is \
        InstantiationState.NOT_INSTANTIATED
    with pytest.raises(Conflict, match="ROLLED_BACK"):
        client.lcm.retry(rolled.id)

    failed = client.lcm.wait(client.lcm.instantiate(vnf.id, on_vim(vim)).id, timeout=WAIT)
    assert failed.state is OpState.FAILED_TEMP
    # Fix the VNF's stack (what a package developer would do), then retry.
    stack = heat.get_stack(vnf.stack_name)
    heat.wait_until_quiet(stack)
    heat.update_stack(stack, environment={"resource_registry": {"resources": {"VDU2": None}}})
    heat.wait_for_stack(stack["id"], "UPDATE")
    retried = client.lcm.wait(client.lcm.retry(failed.id).id, timeout=WAIT)
    assert retried.state is OpState.COMPLETED, retried.error
    vnf = client.vnfs.get_vnf(vnf.id)
    assert vnf.instantiation_state is InstantiationState.INSTANTIATED
    assert client.lcm.wait(client.lcm.terminate(vnf.id, "FORCEFUL").id,
                           timeout=WAIT).state is OpState.COMPLETED
    client.vnfs.delete_vnf(vnf.id)


def test_killed_worker_is_failed_temp_and_rollback_cleans_up(client, package, heat,
                                                             sandbox):
    name, text = slow_template(40)
    vim = faulty_vim(client, sandbox, "slow-create", "VDU2", name, text)
    vnf = new_vnf(client, package)
    op = client.lcm.instantiate(vnf.id, on_vim(vim))
    deadline = time.monotonic() + 60
    while True:
        current = client.lcm.get_op_occ(op.id)
        pid = OpOccTable(client.store).get(current.id).worker_pid  # the lease is internal
        if current.step_summary.endswith("wait for stack") and pid:
            break
        assert time.monotonic() < deadline, current
        time.sleep(0.2)

    # A second operation on the same VNF while this one runs is refused.
    with pytest.raises(Conflict, match="has operation INSTANTIATE"):
        client.lcm.instantiate(vnf.id, on_vim(vim))
    with pytest.raises(Conflict, match="PROCESSING"):
        client.lcm.rollback(op.id)

    os.kill(pid, signal.SIGKILL)
    reaped = client.lcm.wait(op.id, timeout=60)
    assert reaped.state is OpState.FAILED_TEMP
    assert "lease expired" in reaped.error["detail"]
    assert f"pid {pid}" in reaped.error["detail"]

    rolled = client.lcm.wait(client.lcm.rollback(op.id).id, timeout=WAIT)
    assert rolled.state is OpState.ROLLED_BACK, rolled.error
    assert stack_gone(heat, vnf.stack_name)
    client.vnfs.delete_vnf(vnf.id)


def test_cancel_fail_and_wrong_state_requests(client, package, heat, sandbox):
    name, text = slow_template(40)
    vim = faulty_vim(client, sandbox, "slow-create-2", "VDU2", name, text)
    vnf = new_vnf(client, package)
    op = client.lcm.instantiate(vnf.id, on_vim(vim))
    with pytest.raises(Conflict, match="needs FAILED_TEMP"):
        client.lcm.fail(op.id)
    started = time.monotonic()
    client.lcm.cancel(op.id, "FORCEFUL")
    cancelled = client.lcm.wait(op.id, timeout=60)
    assert cancelled.state in (OpState.FAILED_TEMP, OpState.ROLLED_BACK)
    assert time.monotonic() - started < 30  # did not sit out the slow VDU
    if cancelled.state is OpState.FAILED_TEMP:
        assert cancelled.error["title"] == "Operation cancelled"
        with pytest.raises(Conflict, match="FAILED_TEMP"):
            client.lcm.cancel(op.id)
        failed = client.lcm.fail(op.id)
        assert failed.state is OpState.FAILED
        for request in (client.lcm.rollback, client.lcm.retry, client.lcm.fail):
            with pytest.raises(Conflict, match="it is FAILED"):
                request(op.id)
    # The VNF is free again: clean up the half-created stack by hand.
    stack_name = client.vnfs.get_vnf(vnf.id).stack_name
    try:
        stack = heat.get_stack(stack_name)
        heat.delete_stack(stack)
        heat.wait_for_stack(stack["id"], "DELETE", missing_ok=True)
    except StackNotFound:
        pass
    client.vnfs.delete_vnf(vnf.id)


def test_rollback_refused_where_there_is_none(client, package):
    vnf = new_vnf(client, package)
    with pytest.raises(Conflict, match="NOT_INSTANTIATED"):
        client.lcm.terminate(vnf.id)
    with pytest.raises(InvalidInput, match="flavourId"):
        client.lcm.instantiate(vnf.id, {})
    with pytest.raises(InvalidInput):
        client.lcm.instantiate(vnf.id, {"flavourId": "no-such-flavour"})
    assert client.lcm.list_op_occs({"vnfInstanceId": vnf.id}) == []
    client.vnfs.delete_vnf(vnf.id)


@pytest.fixture(scope="module")
def group_package(client, tmp_path_factory):
    """The sample with VDU1 in a ResourceGroup, whose members are named 0, 1, ...

    Fault injection addresses one group member by name; an AutoScalingGroup
    names its members at random, a ResourceGroup by index.
    """
    import shutil

    root = tmp_path_factory.mktemp("group_pkg") / "pkg"
    shutil.copytree(SAMPLE, root)
    top = root / "BaseHOT" / "simple" / "sample_vnf.yaml"
    text = top.read_text()
    text = text.replace("type: OS::Heat::AutoScalingGroup", "type: OS::Heat::ResourceGroup")
    text = text.replace("      min_size: 1\n      max_size: 3\n", "")
    text = text.replace("desired_capacity: { get_param", "count: { get_param")
    text = text.replace("      resource:\n", "      resource_def:\n")
    top.write_text(text)
    for path in (root / "Definitions").glob("sample_vnf*.yaml"):
        path.write_text(path.read_text().replace(
            "a0370897-134e-47e4-bf6f-6946b01b0cd1", "a0370897-134e-47e4-bf6f-6946b01b0cd2"))
    info = client.packages.create_package({"test": "group"})
    yield client.packages.upload_package(info.id, str(root))
    remove_package(client, info.id)


def test_failed_scale_out_rolls_back_to_previous_capacity(client, group_package, heat,
                                                          sandbox):
    vnf = new_vnf(client, group_package)
    done = client.lcm.wait(client.lcm.instantiate(vnf.id, LEVEL_1).id, timeout=WAIT)
    assert done.state is OpState.COMPLETED, done.error
    before = client.vnfs.get_vnf(vnf.id)
    assert vdu_count(before, "VDU1") == 1

    sandbox.inject(before.stack_name, "VDU1_scale_group", "1", "fail")
    failed = client.lcm.wait(client.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale").id,
                             timeout=WAIT)
    assert failed.state is OpState.FAILED_TEMP
    assert "injected_failure" in failed.error["detail"], failed.error

    rolled = client.lcm.wait(client.lcm.rollback(failed.id).id, timeout=WAIT)
    assert rolled.state is OpState.ROLLED_BACK, rolled.error
    after = client.vnfs.get_vnf(vnf.id)
    assert after.scale_status == before.scale_status == {"VDU1_scale": 0}
    assert sorted(c.id for c in after.vnfc) == sorted(c.id for c in before.vnfc)
    stack = heat.get_stack(after.stack_name)
    assert stack["stack_status"] == "UPDATE_COMPLETE"
    nfv = json.loads(stack["parameters"]["nfv"])
    assert nfv["VDU"]["VDU1"]["desired_capacity"] == 1
    servers = [r for r in heat.list_resources(stack, nested_depth=5)
               if r["resource_name"] == "VDU1" and r["resource_type"] == "OS::Nova::Server"]
    assert len(servers) == 1 and servers[0]["resource_status"].endswith("_COMPLETE")

    sandbox.inject(after.stack_name, "VDU1_scale_group", "1", "clear")
    again = client.lcm.wait(client.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale").id,
                            timeout=WAIT)
    assert again.state is OpState.COMPLETED, again.error
    assert vdu_count(client.vnfs.get_vnf(vnf.id), "VDU1") == 2
    end = client.lcm.wait(client.lcm.terminate(vnf.id, "FORCEFUL").id, timeout=WAIT)
    assert end.state is OpState.COMPLETED, end.error
    client.vnfs.delete_vnf(vnf.id)


def test_heal_replaces_only_the_named_vnfc(client, package):
    vnf = new_vnf(client, package)
    done = client.lcm.wait(client.lcm.instantiate(vnf.id, LEVEL_1).id, timeout=WAIT)
    assert done.state is OpState.COMPLETED, done.error
    assert [s.status for s in done.steps] == ["DONE"] * len(done.steps)
    before = client.vnfs.get_vnf(vnf.id)
    assert {c["id"] for c in done.resource_changes["affectedVnfcs"]} == \
        {c.id for c in before.vnfc}
    target = next(c for c in before.vnfc if c.vdu_id == "VDU2")
    with pytest.raises(InvalidInput, match="no VNFC"):
        client.lcm.heal(vnf.id, ["not-a-vnfc"])
    healed = client.lcm.wait(client.lcm.heal(vnf.id, [target.id], cause="test").id,
                             timeout=WAIT)
    assert healed.state is OpState.COMPLETED, healed.error
    after = client.vnfs.get_vnf(vnf.id)
    assert target.id not in {c.id for c in after.vnfc}
    assert vdu_count(after, "VDU2") == 1
    kept = {c.id for c in before.vnfc if c.vdu_id == "VDU1"}
    assert kept == {c.id for c in after.vnfc if c.vdu_id == "VDU1"}
    changes = {(c["vduId"], c["changeType"]) for c in healed.resource_changes["affectedVnfcs"]}
    assert changes == {("VDU2", "ADDED"), ("VDU2", "REMOVED")}
    with pytest.raises(Conflict, match="cannot be rolled back|needs FAILED_TEMP"):
        client.lcm.rollback(healed.id)
    assert client.lcm.wait(client.lcm.terminate(vnf.id, "FORCEFUL").id,
                           timeout=WAIT).state is OpState.COMPLETED
    client.vnfs.delete_vnf(vnf.id)


def test_tackers_own_sample_package_runs_unchanged(client, heat):
    """Tacker v2's basic_lcms_min sample: instantiate, scale out and in, terminate."""
    from tests.data import TACKER_SAMPLE

    info = client.packages.create_package({"test": "tacker-sample"})
    package = client.packages.upload_package(info.id, str(TACKER_SAMPLE))
    assert package.vnfd_id == "b1bb0ce7-ebca-4fa7-95ed-4840d7000000"
    vnf = client.vnfs.create_vnf(package.vnfd_id, name=f"t-{uuid.uuid4().hex[:8]}")
    request = {"flavourId": "simple", "instantiationLevelId": "instantiation_level_2"}
    done = client.lcm.wait(client.lcm.instantiate(vnf.id, request).id, timeout=WAIT)
    assert done.state is OpState.COMPLETED, done.error
    vnf = client.vnfs.get_vnf(vnf.id)
    assert (vdu_count(vnf, "VDU1"), vdu_count(vnf, "VDU2")) == (3, 1)
    assert vnf.scale_status == {"VDU1_scale": 2}
    scaled = client.lcm.wait(client.lcm.scale(vnf.id, "SCALE_IN", "VDU1_scale", 2).id,
                             timeout=WAIT)
    assert scaled.state is OpState.COMPLETED, scaled.error
    assert vdu_count(client.vnfs.get_vnf(vnf.id), "VDU1") == 1
    end = client.lcm.wait(client.lcm.terminate(vnf.id, "FORCEFUL").id, timeout=WAIT)
    assert end.state is OpState.COMPLETED, end.error
    assert stack_gone(heat, vnf.stack_name)
    client.vnfs.delete_vnf(vnf.id)
    client.packages.delete_package(package.id)


def asg_members(heat, stack_name: str, group: str = "VDU1_scale_group") -> list[str]:
    """The group's members as Heat holds them, oldest first (read from Heat alone)."""
    top = heat.get_stack(stack_name)
    row = next(r for r in heat.list_resources(top) if r["resource_name"] == group)
    nested = heat.get_stack(row["physical_resource_id"])
    rows = [r for r in heat.list_resources(nested)
            if not r["resource_status"].startswith("DELETE")]
    return [r["resource_name"] for r in sorted(rows, key=lambda r: r["creation_time"])]


def vnfc_ids_in_heat(heat, stack_name: str) -> set[str]:
    """Ids of the sample's servers (VDU1, VDU2) in Heat, nested stacks included."""
    stack = heat.get_stack(stack_name)
    return {r["physical_resource_id"] for r in heat.list_resources(stack, nested_depth=5)
            if r["resource_name"] in ("VDU1", "VDU2")
            and not r["resource_type"].endswith(".yaml")}


def fail_at(event: str) -> dict:
    return {"sample_fail_event": event}


def test_scale_out_rollback_on_an_autoscaling_group_keeps_the_original_members(
        client, package, heat):
    """Instantiate (A), scale out (A, B), a scale-out failing at scale_end (A, B, C),
    rollback: Heat keeps A and B, and the instance shows exactly what Heat holds."""
    vnf = new_vnf(client, package)
    done = client.lcm.wait(client.lcm.instantiate(vnf.id, LEVEL_1).id, timeout=WAIT)
    assert done.state is OpState.COMPLETED, done.error
    (a,) = asg_members(heat, vnf.stack_name)
    out = client.lcm.wait(client.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale").id,
                          timeout=WAIT)
    assert out.state is OpState.COMPLETED, out.error
    a_again, b = asg_members(heat, vnf.stack_name)
    assert a_again == a
    before = client.vnfs.get_vnf(vnf.id)

    failed = client.lcm.wait(client.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale",
                                              additional_params=fail_at("scale_end")).id,
                             timeout=WAIT)
    assert failed.state is OpState.FAILED_TEMP, failed.error
    assert "scale_end" in failed.error["detail"]
    three = asg_members(heat, vnf.stack_name)
    assert three[:2] == [a, b] and len(three) == 3

    rolled = client.lcm.wait(client.lcm.rollback(failed.id).id, timeout=WAIT)
    assert rolled.state is OpState.ROLLED_BACK, rolled.error
    assert asg_members(heat, vnf.stack_name) == [a, b]
    stack = heat.get_stack(vnf.stack_name)
    assert stack["stack_status"] == "UPDATE_COMPLETE"
    assert json.loads(stack["parameters"]["nfv"])["VDU"]["VDU1"]["desired_capacity"] == 2
    heat_servers = vnfc_ids_in_heat(heat, vnf.stack_name)
    after = client.vnfs.get_vnf(vnf.id)
    assert {c.id for c in after.vnfc} == heat_servers == {c.id for c in before.vnfc}
    assert after.scale_status == {"VDU1_scale": 1}
    removed = [c for c in rolled.resource_changes["affectedVnfcs"]
               if c["changeType"] == "REMOVED"]
    assert len(removed) == 1 and removed[0]["vduId"] == "VDU1"
    assert removed[0]["id"] not in heat_servers
    added = [c["id"] for c in failed.resource_changes.get("affectedVnfcs", ())]
    assert added == []  # the failed scale-out never reached its record step

    scale_in = client.lcm.wait(client.lcm.scale(vnf.id, "SCALE_IN", "VDU1_scale").id,
                               timeout=WAIT)
    assert scale_in.state is OpState.COMPLETED, scale_in.error
    assert asg_members(heat, vnf.stack_name) == [a]  # the newest member went
    held = vnfc_ids_in_heat(heat, vnf.stack_name)
    end = client.lcm.wait(client.lcm.terminate(vnf.id, "FORCEFUL").id, timeout=WAIT)
    assert end.state is OpState.COMPLETED, end.error
    assert {(c["id"], c["changeType"]) for c in end.resource_changes["affectedVnfcs"]} \
        == {(i, "REMOVED") for i in held}
    client.vnfs.delete_vnf(vnf.id)


def test_instantiate_never_adopts_a_stack_it_did_not_create(client, package, heat,
                                                            sandbox):
    from nfvlib.sandbox.heat_env import _template_text

    vim = faulty_vim(client, sandbox, "faulty-leftover", "VDU2", FAIL_TEMPLATE,
                     _template_text(FAIL_TEMPLATE))
    vnf = new_vnf(client, package)
    failed = client.lcm.wait(client.lcm.instantiate(vnf.id, on_vim(vim)).id, timeout=WAIT)
    assert failed.state is OpState.FAILED_TEMP
    client.lcm.fail(failed.id)
    leftover = heat.get_stack(vnf.stack_name)
    assert leftover["stack_status"] == "CREATE_FAILED"

    # A new instantiate deletes the stack the failed occurrence left, and says so.
    done = client.lcm.wait(client.lcm.instantiate(vnf.id, LEVEL_1).id, timeout=WAIT)
    assert done.state is OpState.COMPLETED, done.error
    fresh = heat.get_stack(vnf.stack_name)
    assert fresh["id"] != leftover["id"] and fresh["stack_status"] == "CREATE_COMPLETE"
    assert heat.get_stack(f"{vnf.stack_name}/{leftover['id']}")["stack_status"] == \
        "DELETE_COMPLETE"
    create = next(s for s in done.steps if s.name == "create stack")
    assert f"deleted stack {vnf.stack_name}/{leftover['id']}" in (create.detail or "")
    assert client.lcm.wait(client.lcm.terminate(vnf.id, "FORCEFUL").id,
                           timeout=WAIT).state is OpState.COMPLETED

    # A stack of that name that no occurrence created is refused and left alone.
    foreign_id = heat.create_stack(vnf.stack_name, "heat_template_version: 2013-05-23\n")
    heat.wait_for_stack(foreign_id, "CREATE")
    refused = client.lcm.wait(client.lcm.instantiate(vnf.id, LEVEL_1).id, timeout=WAIT)
    assert refused.state is OpState.FAILED_TEMP
    assert f"{vnf.stack_name}/{foreign_id}" in refused.error["detail"]
    rolled = client.lcm.wait(client.lcm.rollback(refused.id).id, timeout=WAIT)
    assert rolled.state is OpState.ROLLED_BACK, rolled.error
    assert heat.get_stack(f"{vnf.stack_name}/{foreign_id}")["stack_status"] == \
        "CREATE_COMPLETE"
    foreign = heat.get_stack(f"{vnf.stack_name}/{foreign_id}")
    heat.delete_stack(foreign)
    heat.wait_for_stack(foreign_id, "DELETE", missing_ok=True)
    client.vnfs.delete_vnf(vnf.id)
