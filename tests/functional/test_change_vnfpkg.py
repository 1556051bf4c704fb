"""change-vnfpkg, restoration points and fallback on the sandbox's real Heat.

Every assertion about the VNF reads Heat: the template it runs
(``GET .../template``), its ``nfv`` parameter, its group members and its
snapshots. The upgrade goes from the sample package to a second version
built here (another vnfdId, template and image; a tester script).
Timings of each phase, the snapshot and the restore are printed (``-s``).
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest

import nfvlib
from nfvlib.lcm import vnfc
from nfvlib.models import OpState
from tests.unit.lcm.test_change_pkg import FAIL_TEST, V2_DESCRIPTION, V2_IMAGE, make_v2

SAMPLE = Path(nfvlib.__file__).parent / "samples" / "sample_vnf"
LEVEL_1 = {"flavourId": "simple", "instantiationLevelId": "instantiation_level_1"}
WAIT = 300
PHASES = {"prepare": ("validate request", "validate template", "estimate resources",
                      "collect rollback data", "create restoration point"),
          "deploy": ("update stack", "wait for stack"), "test": ("test",),
          "commit": ("commit",)}
TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def packages(client, tmp_path_factory):
    v1 = client.packages.upload_package(
        client.packages.create_package({"test": "change-vnfpkg"}).id, str(SAMPLE))
    v2_dir, _ = make_v2(tmp_path_factory.mktemp("v2"))
    v2 = client.packages.upload_package(
        client.packages.create_package({"test": "change-vnfpkg"}).id, str(v2_dir))
    yield v1, v2
    print("\ntimings (s): " + json.dumps(TIMINGS, sort_keys=True))
    for info in (v1, v2):
        for vnf in client.vnfs.list_vnfs():
            if vnf.package_id == info.id:
                if vnf.instantiation_state.value == "INSTANTIATED":
                    client.lcm.wait(client.lcm.terminate(vnf.id, "FORCEFUL").id,
                                    timeout=WAIT)
                client.vnfs.delete_vnf(vnf.id)
        client.packages.delete_package(info.id)


def instantiated(client, v1):
    vnf = client.vnfs.create_vnf(v1.vnfd_id, name=f"u-{uuid.uuid4().hex[:8]}")
    op = client.lcm.wait(client.lcm.instantiate(vnf.id, LEVEL_1).id, timeout=WAIT)
    assert op.state is OpState.COMPLETED, op.error
    return client.vnfs.get_vnf(vnf.id)


def stack(heat, vnf) -> dict:
    return heat.get_stack(f"{vnf.stack_name}/{vnf.stack_id}")


def nfv(heat, vnf) -> dict:
    return json.loads(stack(heat, vnf)["parameters"]["nfv"])


def members(heat, vnf) -> list[str]:
    rows = heat.list_resources(stack(heat, vnf), nested_depth=5)
    return sorted(m.name for m in vnfc.group_members(rows))


def seconds(step) -> float:
    return (datetime.fromisoformat(step.ended_at)
            - datetime.fromisoformat(step.started_at)).total_seconds()


def record_phases(op, prefix: str) -> None:
    steps = {s.name: s for s in op.steps}
    for phase, names in PHASES.items():
        done = [steps[n] for n in names if n in steps and steps[n].ended_at]
        if done:
            TIMINGS[f"{prefix} {phase}"] = sum(seconds(s) for s in done)


def test_upgrade_commits_and_heat_runs_the_new_template(client, packages, heat):
    v1, v2 = packages
    vnf = instantiated(client, v1)
    assert heat.get_template(stack(heat, vnf))["description"] != V2_DESCRIPTION

    began = time.monotonic()
    op = client.lcm.wait(client.lcm.change_vnfpkg(
        vnf.id, {"vnfdId": v2.vnfd_id}).id, timeout=WAIT)
    TIMINGS["upgrade total"] = round(time.monotonic() - began, 2)

    assert op.state is OpState.COMPLETED, op.error
    record_phases(op, "upgrade")
    template = heat.get_template(stack(heat, vnf))
    assert template["description"] == V2_DESCRIPTION
    assert "release" in template["outputs"]
    assert nfv(heat, vnf)["VDU"]["VDU1"]["vcImageId"] == V2_IMAGE
    assert stack(heat, vnf)["stack_status"] == "UPDATE_COMPLETE"
    assert heat.list_snapshots(stack(heat, vnf)) == []  # released at commit
    assert client.vnfs.get_vnf(vnf.id).vnfd_id == v2.vnfd_id


def test_a_failing_test_script_rolls_back_to_the_old_template_in_heat(
        client, packages, heat):
    v1, v2 = packages
    vnf = instantiated(client, v1)
    old_template = heat.get_template(stack(heat, vnf))
    old_nfv = nfv(heat, vnf)

    began = time.monotonic()
    op = client.lcm.wait(client.lcm.change_vnfpkg(
        vnf.id, {"vnfdId": v2.vnfd_id, "additionalParams": FAIL_TEST}).id, timeout=WAIT)
    TIMINGS["failed upgrade and rollback total"] = round(time.monotonic() - began, 2)

    assert op.state is OpState.ROLLED_BACK, op.error
    assert "tester failed" in op.error["detail"]
    assert heat.get_template(stack(heat, vnf)) == old_template
    assert nfv(heat, vnf) == old_nfv
    assert stack(heat, vnf)["stack_status"] == "UPDATE_COMPLETE"
    assert heat.list_snapshots(stack(heat, vnf)) == []
    assert client.vnfs.get_vnf(vnf.id).vnfd_id == v1.vnfd_id


def test_scale_in_with_a_point_then_fallback_brings_the_members_back(
        client, packages, heat):
    v1, _ = packages
    vnf = instantiated(client, v1)
    out = client.lcm.wait(client.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale").id,
                          timeout=WAIT)
    assert out.state is OpState.COMPLETED, out.error
    before = members(heat, vnf)
    before_nfv = nfv(heat, vnf)
    assert len(before) == 2

    scaled_in = client.lcm.wait(client.lcm.scale(
        vnf.id, "SCALE_IN", "VDU1_scale", restoration_point=True).id, timeout=WAIT)
    assert scaled_in.state is OpState.COMPLETED, scaled_in.error
    point_step = next(s for s in scaled_in.steps if s.name == "create restoration point")
    TIMINGS["snapshot (restoration point step)"] = seconds(point_step)
    (kept,) = members(heat, vnf)
    (point,) = client.restoration_points.list_points(vnf.id)
    assert [s["id"] for s in heat.list_snapshots(stack(heat, vnf))] == [point.snapshot_id]

    began = time.monotonic()
    back = client.lcm.wait(client.lcm.fallback(vnf.id).id, timeout=WAIT)
    TIMINGS["fallback total"] = round(time.monotonic() - began, 2)

    assert back.state is OpState.COMPLETED, back.error
    restore = {s.name: s for s in back.steps}
    TIMINGS["restore (restore and wait steps)"] = (
        seconds(restore["restore snapshot"]) + seconds(restore["wait for stack"]))
    assert stack(heat, vnf)["stack_status"] == "RESTORE_COMPLETE"
    # The removed member's server was deleted, so Heat creates it again: an
    # AutoScalingGroup names that new member afresh (a ResourceGroup would
    # reuse its index); the member that stayed is untouched.
    after = members(heat, vnf)
    assert len(after) == len(before) == 2
    assert kept in after
    rows = heat.list_resources(stack(heat, vnf), nested_depth=5)
    assert all(str(r.get("resource_status")).endswith("_COMPLETE") for r in rows)
    assert nfv(heat, vnf) == before_nfv
    assert "lost" in back.resource_changes["restorationPoint"]["lostChanges"]
    assert client.vnfs.get_vnf(vnf.id).scale_status == {"VDU1_scale": 1}


def test_restoration_point_create_show_delete_on_heat(client, packages, heat):
    v1, _ = packages
    vnf = instantiated(client, v1)
    began = time.monotonic()
    point = client.restoration_points.create_point(vnf.id, name=f"p-{vnf.id[:8]}")
    TIMINGS["snapshot (create_point)"] = round(time.monotonic() - began, 2)
    assert point.status == "AVAILABLE" and point.size > 0
    assert heat.get_snapshot(stack(heat, vnf), point.snapshot_id)["status"] == "COMPLETE"
    client.restoration_points.delete_point(point.id)
    assert heat.list_snapshots(stack(heat, vnf)) == []
