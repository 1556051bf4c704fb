"""OPERATE (start, stop, reboot) of a VNF and of one VNFC, against the fake Heat.

Occurrences run in this process with the real store, vault, package and plan
runner (the ``world`` of test_plans.py). The order of a composite VNF is
asserted from the journal and from the Heat actions the fake received; the
states from the fake Heat's own stacks.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from nfvlib.exceptions import Conflict, InvalidInput
from nfvlib.lcm import operate, plans
from nfvlib.models import OpState
from tests.unit.lcm.world import SAMPLE, World, make_world

GROUP = "VDU1_scale_group"

# VDU3 waits for VDU1's group (depends_on); VDU2 uses VDU3's address
# (get_attr): start order VDU1, VDU3, VDU2, which is not the names' order.
VDU3_HOT = """
  VDU3:
    type: OS::Nova::Server
    depends_on: VDU1_scale_group
    properties:
      name: VDU3
      flavor: { get_param: [ nfv, VDU, VDU3, computeFlavourId ] }
      image: { get_param: [ nfv, VDU, VDU3, vcImageId ] }
"""
VDU3_VNFD = """
    VDU3:
      type: tosca.nodes.nfv.Vdu.Compute
      properties:
        name: VDU3
        description: Third VDU of the composite test VNF
        vdu_profile:
          min_number_of_instances: 1
          max_number_of_instances: 1
        sw_image_data:
          name: cirros-0.5.2-x86_64-disk
          version: '0.5.2'
          checksum:
            algorithm: sha-256
            hash: 932fcae93574e242dc3d772d5235061747dfe537668443a1f0567d893614b464
          container_format: bare
          disk_format: qcow2
          min_disk: 0 GB
          min_ram: 256 MB
          size: 12 GB
      capabilities:
        virtual_compute:
          properties:
            requested_additional_capabilities:
              properties:
                requested_additional_capability_name: m1.tiny
                support_mandatory: true
                target_performance_parameters:
                  entry_schema: test
            virtual_memory:
              virtual_mem_size: 512 MB
            virtual_cpu:
              num_virtual_cpu: 1
            virtual_local_storage:
              - size_of_storage: 1 GB
"""
VDU3_POLICIES = """
    - VDU3_initial_delta:
        type: tosca.policies.nfv.VduInitialDelta
        properties:
          initial_delta:
            number_of_instances: 1
        targets: [ VDU3 ]

    - VDU3_instantiation_levels:
        type: tosca.policies.nfv.VduInstantiationLevels
        properties:
          levels:
            instantiation_level_1:
              number_of_instances: 1
            instantiation_level_2:
              number_of_instances: 1
        targets: [ VDU3 ]
"""


def composite_package(tmp_path: Path) -> Path:
    """The sample package with a third VDU and dependencies between the VDUs."""
    pkg = tmp_path / "composite"
    shutil.copytree(SAMPLE, pkg)
    hot = pkg / "BaseHOT" / "simple" / "sample_vnf.yaml"
    text = hot.read_text()
    text = text.replace("\n  VDU2_CP1:\n", VDU3_HOT + "\n  VDU2_CP1:\n", 1)
    text = text.replace("      name: VDU2\n",
                        "      name: VDU2\n      metadata:\n        peer: "
                        "{ get_attr: [ VDU3, first_address ] }\n", 1)
    hot.write_text(text)
    df = pkg / "Definitions" / "sample_vnf_df_simple.yaml"
    text = df.read_text()
    text = text.replace("\n    VDU1_CP1:\n", VDU3_VNFD + "\n    VDU1_CP1:\n", 1)
    text = text.replace("\n    - VDU1_scaling_aspect_deltas:\n",
                        VDU3_POLICIES + "\n    - VDU1_scaling_aspect_deltas:\n", 1)
    df.write_text(text)
    return pkg


class OperateWorld(World):
    def actions(self):
        """``(stack name, action)`` of every suspend/resume Heat received, in order."""
        found = []
        for request in self.heat.requests:
            method, path, body = request[0], request[1], request[2]
            if method == "POST" and path.endswith("/actions"):
                found.append((path.split("/")[-3], next(iter(body))))
        return found


def _world(nfv_home, requests_mock, monkeypatch, package_dir):
    return make_world(requests_mock, monkeypatch, package_dir, world=OperateWorld)


@pytest.fixture
def world(nfv_home, keystone, requests_mock, monkeypatch):
    w = _world(nfv_home, requests_mock, monkeypatch, SAMPLE)
    yield w
    w.services.close()


@pytest.fixture
def composite(nfv_home, keystone, requests_mock, monkeypatch, tmp_path):
    w = _world(nfv_home, requests_mock, monkeypatch, composite_package(tmp_path))
    yield w
    w.services.close()


def step_names(op):
    return [s.name for s in op.steps]


# -- order ----------------------------------------------------------------------
def test_vdu_order_follows_depends_on_and_references_not_names():
    template = {"resources": {
        "A": {"type": "OS::Nova::Server", "properties": {
            "x": {"get_attr": ["C", "first_address"]}}},
        "B": {"type": "OS::Nova::Server", "depends_on": ["net"]},
        "C": {"type": "OS::Nova::Server", "depends_on": "B"},
        "net": {"type": "OS::Neutron::Net"}}}
    assert operate.vdu_order(template, {}, ["A", "B", "C"]) == ["B", "C", "A"]


def test_vdus_sharing_a_network_do_not_depend_on_each_other():
    template = {"resources": {
        "B": {"type": "OS::Nova::Server", "properties": {"n": {"get_resource": "net"}}},
        "A": {"type": "OS::Nova::Server", "properties": {"n": {"get_resource": "net"}}},
        "net": {"type": "OS::Neutron::Net"}}}
    assert operate.vdu_order(template, {}, ["B", "A"]) == ["A", "B"]


def test_a_dependency_cycle_is_refused_with_the_vdus_named():
    template = {"resources": {"A": {"type": "T", "depends_on": "B"},
                              "B": {"type": "T", "depends_on": "A"}}}
    with pytest.raises(InvalidInput, match="A, B depend on each other"):
        operate.vdu_order(template, {}, ["A", "B"])


def test_a_group_stands_for_the_vdu_its_member_template_holds():
    nested = {"member.yaml": "resources:\n  VDU9:\n    type: OS::Nova::Server\n"}
    template = {"resources": {"grp": {"type": "OS::Heat::AutoScalingGroup",
                                      "properties": {"resource": {"type": "member.yaml"}}}}}
    assert operate.vdu_resources(template, nested, ["VDU9"]) == {"VDU9": "grp"}


# -- a whole VNF on a Heat-only VIM ------------------------------------------------
def test_stop_then_start_a_vnf_suspends_and_resumes_its_stack(world):
    vnf = world.instantiated()
    assert vnf.operational_state.value == "STARTED"
    stop = world.done(world.lcm.operate(vnf.id, "STOPPED"))
    assert stop.state is OpState.COMPLETED, stop.error
    assert step_names(stop) == ["validate request", "stop VDU VDU2", "stop VDU VDU1",
                                "suspend stack", "record instance"]
    assert world.heat.stack(vnf.stack_name)["stack_status"] == "SUSPEND_COMPLETE"
    stopped = world.services.vnfs.get_vnf(vnf.id)
    assert stopped.operational_state.value == "STOPPED"

    with pytest.raises(Conflict, match="STOPPED") as refused:
        world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale")
    assert "start it first" in refused.value.hint
    with pytest.raises(Conflict, match="already STOPPED"):
        world.lcm.operate(vnf.id, "STOPPED")

    start = world.done(world.lcm.operate(vnf.id, "STARTED"))
    assert start.state is OpState.COMPLETED, start.error
    assert world.heat.stack(vnf.stack_name)["stack_status"] == "RESUME_COMPLETE"
    assert world.services.vnfs.get_vnf(vnf.id).operational_state.value == "STARTED"
    out = world.done(world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale"))
    assert out.state is OpState.COMPLETED, out.error


def test_composite_starts_in_dependency_order_and_stops_in_reverse(composite):
    vnf = composite.instantiated()
    stop = composite.done(composite.lcm.operate(vnf.id, "STOPPED"))
    assert stop.state is OpState.COMPLETED, stop.error
    vdu_steps = [s for s in step_names(stop) if " VDU " in s]
    assert vdu_steps == ["stop VDU VDU2", "stop VDU VDU3", "stop VDU VDU1"]
    assert all(s.status == "DONE" for s in stop.steps)

    start = composite.done(composite.lcm.operate(vnf.id, "STARTED"))
    assert start.state is OpState.COMPLETED, start.error
    vdu_steps = [s for s in step_names(start) if " VDU " in s]
    assert vdu_steps == ["start VDU VDU1", "start VDU VDU3", "start VDU VDU2"]
    # Each VDU step ran in turn: its start time is not before the previous end.
    done = [s for s in start.steps if " VDU " in s.name]
    assert all(a.ended_at <= b.started_at for a, b in zip(done, done[1:]))
    # VDU1 (a group: its own nested stack) was resumed by itself, first.
    resumes = [name for name, action in composite.actions() if action == "resume"]
    assert resumes[0].startswith(f"{vnf.stack_name}-{GROUP}")
    assert resumes[-1] == vnf.stack_name


def test_a_failed_start_rolls_back_by_stopping_what_it_started(composite, monkeypatch):
    vnf = composite.instantiated()
    assert composite.done(composite.lcm.operate(vnf.id, "STOPPED")).state \
        is OpState.COMPLETED
    real = operate._heat_action
    calls = []

    def failing(ctx, heat, ref, action):
        calls.append((ref.split("/")[0], action))
        if action == "resume" and ref.split("/")[0] == vnf.stack_name:
            raise RuntimeError("injected: the VNF's stack did not resume")
        return real(ctx, heat, ref, action)

    monkeypatch.setattr(operate, "_heat_action", failing)
    failed = composite.done(composite.lcm.operate(vnf.id, "STARTED"))
    assert failed.state is OpState.FAILED_TEMP
    assert "did not resume" in failed.error["detail"]
    group_stack = next(n for n, a in calls if n.startswith(f"{vnf.stack_name}-{GROUP}"))
    assert composite.heat.stack(group_stack)["stack_status"] == "RESUME_COMPLETE"

    monkeypatch.setattr(operate, "_heat_action", real)
    rolled = composite.done(composite.lcm.rollback(failed.id))
    assert rolled.state is OpState.ROLLED_BACK, rolled.error
    # What the start had resumed is suspended again, newest first.
    assert composite.heat.stack(group_stack)["stack_status"] == "SUSPEND_COMPLETE"
    assert composite.services.vnfs.get_vnf(vnf.id).operational_state.value == "STOPPED"


# -- one VNFC ----------------------------------------------------------------------
def test_one_vnfc_is_stopped_and_started_through_its_member_stack(world):
    vnf = world.instantiated()
    world.done(world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale"))
    vnf = world.services.vnfs.get_vnf(vnf.id)
    target, other = [c for c in vnf.vnfc if c.vdu_id == "VDU1"]
    members = _member_stacks(world, vnf)
    stop = world.done(world.lcm.operate(vnf.id, "STOPPED", vnfc_instance_ids=[target.id],
                                       force=True))
    assert stop.state is OpState.COMPLETED, stop.error
    assert f"stop VNFC {target.id}" in step_names(stop)
    status = {vnfc: world.heat.stack(name)["stack_status"]
              for vnfc, name in members.items()}
    assert status[target.id] == "SUSPEND_COMPLETE"
    assert status[other.id] != "SUSPEND_COMPLETE"
    assert world.heat.stack(vnf.stack_name)["stack_status"] != "SUSPEND_COMPLETE"
    start = world.done(world.lcm.operate(vnf.id, "STARTED", vnfc_instance_ids=[target.id]))
    assert start.state is OpState.COMPLETED, start.error
    assert world.heat.stack(members[target.id])["stack_status"] == "RESUME_COMPLETE"
    assert world.heat.stack(members[other.id])["stack_status"] == status[other.id]


def test_a_vnfc_in_the_vnfs_own_stack_cannot_be_operated_alone_on_heat(world):
    vnf = world.instantiated()
    vdu2 = next(c for c in vnf.vnfc if c.vdu_id == "VDU2")
    op = world.done(world.lcm.operate(vnf.id, "STOPPED", vnfc_instance_ids=[vdu2.id]))
    assert op.state is OpState.FAILED_TEMP
    assert "not in a nested stack of its own" in op.error["detail"]


def test_reboot_of_a_vnfc_suspends_then_resumes_its_stack_and_cannot_roll_back(world):
    vnf = world.instantiated()
    vdu1 = next(c for c in vnf.vnfc if c.vdu_id == "VDU1")
    op = world.done(world.lcm.reboot(vnf.id, vnfc_instance_ids=[vdu1.id]))
    assert op.state is OpState.COMPLETED, op.error
    assert [a for _, a in world.actions()] == ["suspend", "resume"]
    assert plans.no_rollback_reason(op) == "a reboot cannot be undone"


def test_bad_operate_requests_are_refused_before_anything_is_written(world):
    vnf = world.instantiated()
    with pytest.raises(InvalidInput, match="STARTED or STOPPED"):
        world.lcm.operate(vnf.id, "PAUSED")
    with pytest.raises(InvalidInput, match="no VNFC nope"):
        world.lcm.operate(vnf.id, "STOPPED", vnfc_instance_ids=["nope"])
    with pytest.raises(InvalidInput, match="only apply when stopping"):
        world.lcm.operate(vnf.id, "STARTED", stop_type="GRACEFUL")
    with pytest.raises(Conflict, match="already STARTED"):
        world.lcm.operate(vnf.id, "STARTED")
    assert world.lcm.list_op_occs({"operation": "OPERATE"}) == []


def _member_stacks(world, vnf) -> dict[str, str]:
    """VNFC id -> the name of its member's nested stack, from the fake Heat."""
    stacks = {}
    top = world.heat._get(vnf.stack_name)
    for res, holder in world.heat._walk_resources(top):
        if res.name == "VDU1" and res.type != "OS::Heat::AutoScalingGroup" \
                and holder is not None and res.stack is not top:
            stacks[res.physical_id] = res.stack.name
    return stacks


def test_a_graceful_stop_waits_first_and_force_skips_the_wait(world):
    vnf = world.instantiated()
    graceful = world.lcm.operate(vnf.id, "STOPPED", graceful_stop_timeout=1)
    assert step_names(graceful)[:2] == ["validate request", "graceful stop wait"]
    assert graceful.request["stopType"] == "GRACEFUL"
    world.lcm.cancel(graceful.id)
    forced = world.lcm.operate(vnf.id, "STOPPED", graceful_stop_timeout=1, force=True)
    assert "graceful stop wait" not in step_names(forced)
    assert forced.request["stopType"] == "FORCEFUL"


@pytest.fixture
def required(nfv_home, keystone, requests_mock, monkeypatch, tmp_path):
    """The sample package whose VNFD makes VDU1 require VDU2 (the HOT does not)."""
    pkg = tmp_path / "required"
    shutil.copytree(SAMPLE, pkg)
    df = pkg / "Definitions" / "sample_vnf_df_simple.yaml"
    text = df.read_text()
    node = "    VDU1:\n      type: tosca.nodes.nfv.Vdu.Compute\n"
    assert node in text
    df.write_text(text.replace(node, node + "      requirements:\n"
                               "        - dependency: VDU2\n", 1))
    w = _world(nfv_home, requests_mock, monkeypatch, pkg)
    yield w
    w.services.close()


def test_a_vnfd_requirement_orders_the_vdus_too(required):
    vnf = required.instantiated()
    start = required.lcm.operate(vnf.id, "STOPPED")
    # Start order VDU2, VDU1 (VDU1 requires VDU2): stop in reverse.
    assert [s for s in step_names(start) if " VDU " in s] == ["stop VDU VDU1",
                                                               "stop VDU VDU2"]
