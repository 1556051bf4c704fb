"""OPERATE on the sandbox's real Heat: a whole VNF and one VNFC, checked in Heat.

The sandbox's catalog has no compute service, so stopping is Heat suspend:
of the VNF's stack for the whole VNF, of the group member's own nested stack
for one VNFC.
"""

from __future__ import annotations

import uuid
from urllib.parse import urlsplit

import pytest

from nfvlib import Conflict
from nfvlib.models import OpState
from tests.functional.lcm import LEVEL_1, SAMPLE, WAIT



@pytest.fixture(scope="module")
def vnf(client):
    """An instantiated sample VNF scaled out to two VDU1 members."""
    info = client.packages.upload_package(
        client.packages.create_package({"test": "operate"}).id, str(SAMPLE))
    vnf = client.vnfs.create_vnf(info.vnfd_id, name=f"op-{uuid.uuid4().hex[:8]}")
    done = client.lcm.wait(client.lcm.instantiate(vnf.id, LEVEL_1).id, timeout=WAIT)
    assert done.state is OpState.COMPLETED, done.error
    out = client.lcm.wait(client.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale").id,
                          timeout=WAIT)
    assert out.state is OpState.COMPLETED, out.error
    yield client.vnfs.get_vnf(vnf.id)
    current = client.vnfs.get_vnf(vnf.id)
    if current.operational_state is not None and \
            current.operational_state.value == "STOPPED":
        client.lcm.wait(client.lcm.operate(vnf.id, "STARTED").id, timeout=WAIT)
    client.lcm.wait(client.lcm.terminate(vnf.id, "FORCEFUL").id, timeout=WAIT)
    client.vnfs.delete_vnf(vnf.id)
    client.packages.delete_package(info.id)


def member_stacks(heat, vnf) -> dict[str, str]:
    """VNFC (VDU1 server) id -> ``name/id`` of the stack holding it, as Heat lists it."""
    rows = heat.list_resources(heat.get_stack(vnf.stack_name), nested_depth=5)
    found = {}
    for row in rows:
        if row.get("resource_name") != "VDU1" or "AutoScalingGroup" in row["resource_type"]:
            continue
        href = next(link["href"] for link in row["links"] if link["rel"] == "stack")
        name, stack_id = urlsplit(href).path.rstrip("/").split("/")[-2:]
        found[row["physical_resource_id"]] = f"{name}/{stack_id}"
    return found


def status(heat, ref: str) -> str:
    return heat.get_stack(ref)["stack_status"]


def test_stop_refuses_scale_then_start(client, heat, vnf):
    stop = client.lcm.wait(client.lcm.operate(vnf.id, "STOPPED").id, timeout=WAIT)
    assert stop.state is OpState.COMPLETED, stop.error
    assert [s.name for s in stop.steps] == ["validate request", "stop VDU VDU2",
                                            "stop VDU VDU1", "suspend stack",
                                            "record instance"]
    assert status(heat, vnf.stack_name) == "SUSPEND_COMPLETE"
    for ref in member_stacks(heat, vnf).values():
        assert status(heat, ref) == "SUSPEND_COMPLETE"
    assert client.vnfs.get_vnf(vnf.id).operational_state.value == "STOPPED"

    with pytest.raises(Conflict, match="it is STOPPED") as refused:
        client.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale")
    assert "start it first" in refused.value.hint
    assert status(heat, vnf.stack_name) == "SUSPEND_COMPLETE"  # Heat was not asked

    start = client.lcm.wait(client.lcm.operate(vnf.id, "STARTED").id, timeout=WAIT)
    assert start.state is OpState.COMPLETED, start.error
    assert status(heat, vnf.stack_name) == "RESUME_COMPLETE"
    for ref in member_stacks(heat, vnf).values():
        assert status(heat, ref) == "RESUME_COMPLETE"
    assert client.vnfs.get_vnf(vnf.id).operational_state.value == "STARTED"


def test_one_vnfc_stops_and_starts_alone(client, heat, vnf):
    members = member_stacks(heat, vnf)
    assert len(members) == 2
    target, other = sorted(members)
    before = {ref: status(heat, ref) for ref in members.values()}
    top_before = status(heat, vnf.stack_name)

    stop = client.lcm.wait(client.lcm.operate(vnf.id, "STOPPED", vnfc_instance_ids=[target],
                                              force=True).id, timeout=WAIT)
    assert stop.state is OpState.COMPLETED, stop.error
    assert status(heat, members[target]) == "SUSPEND_COMPLETE"
    assert status(heat, members[other]) == before[members[other]]
    assert status(heat, vnf.stack_name) == top_before
    shown = {c.id: c.status for c in client.vnfs.get_vnf(vnf.id).vnfc}
    assert shown[target] == "SUSPEND_COMPLETE"
    assert client.vnfs.get_vnf(vnf.id).operational_state.value == "STARTED"

    start = client.lcm.wait(client.lcm.operate(vnf.id, "STARTED",
                                               vnfc_instance_ids=[target]).id,
                            timeout=WAIT)
    assert start.state is OpState.COMPLETED, start.error
    assert status(heat, members[target]) == "RESUME_COMPLETE"
    assert status(heat, members[other]) == before[members[other]]
    assert status(heat, vnf.stack_name) == top_before
