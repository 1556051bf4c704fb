"""Restoration points and FALLBACK against the stateful fake Heat.

The world is test_change_pkg's; assertions are about Heat's members,
parameters and snapshots.
"""

from __future__ import annotations

import pytest

import nfvlib
from nfvlib.exceptions import Conflict, NotFound, Unsupported
from nfvlib.lcm.restoration import LocalRestorationPoints
from nfvlib.models import Operation, OpState
from tests.unit.lcm.test_change_pkg import world  # noqa: F401 - the fixture

GROUP = "VDU1_scale_group"


def points(world):  # noqa: F811
    s = world.services
    return LocalRestorationPoints(s.store, s.vims, s.vnfs)


def scaled_out(world):  # noqa: F811
    vnf = world.instantiated()
    op = world.done(world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale"))
    assert op.state is OpState.COMPLETED, op.error
    return world.vnfs.get_vnf(vnf.id)


def test_scale_in_with_a_point_then_fallback_brings_the_members_back(world):  # noqa: F811
    vnf = scaled_out(world)
    members = world.heat.members(vnf.stack_name, GROUP)
    nfv = world.nfv(vnf)
    assert len(members) == 2

    op = world.done(world.lcm.scale(vnf.id, "SCALE_IN", "VDU1_scale",
                                    restoration_point=True))
    assert op.state is OpState.COMPLETED, op.error
    assert "create restoration point" in [s.name for s in op.steps]
    assert len(world.heat.members(vnf.stack_name, GROUP)) == 1
    (point,) = points(world).list_points(vnf.id)
    assert point.op_occ_id == op.id and point.instance["scale_status"]

    back = world.done(world.lcm.fallback(vnf.id))

    assert back.operation is Operation.FALLBACK
    assert back.state is OpState.COMPLETED, back.error
    assert world.heat.members(vnf.stack_name, GROUP) == members
    assert world.nfv(vnf) == nfv
    assert world.stack(vnf).status == "RESTORE_COMPLETE"
    after = world.vnfs.get_vnf(vnf.id)
    assert after.scale_status == {"VDU1_scale": 1}
    assert len([c for c in after.vnfc if c.vdu_id == "VDU1"]) == 2
    assert "lost" in back.resource_changes["restorationPoint"]["lostChanges"]
    assert "changes made after it are lost" in back.steps[-1].detail


def test_points_in_the_library_create_list_show_delete(world):  # noqa: F811
    vnf = world.instantiated()
    lib = points(world)
    point = lib.create_point(vnf.id, name="before-upgrade")
    assert point.status == "AVAILABLE" and point.size > 0 and point.created_at
    assert [s["id"] for s in world.snapshots(vnf)] == [point.snapshot_id]
    assert [p.id for p in lib.list_points(vnf.id)] == [point.id]
    assert lib.get_point("before-upgrade").id == point.id
    lib.delete_point(point.id)
    assert world.snapshots(vnf) == []
    with pytest.raises(NotFound, match="no restoration point"):
        lib.get_point(point.id)


def test_fallback_to_a_named_point_after_an_upgrade(world):  # noqa: F811
    vnf = world.instantiated()
    old_template, old_nfv = world.template(vnf), world.nfv(vnf)
    points(world).create_point(vnf.id, name="v1")
    assert world.done(world.change(vnf)).state is OpState.COMPLETED
    assert world.vnfs.get_vnf(vnf.id).vnfd_id == world.v2_vnfd_id

    back = world.done(world.lcm.fallback(vnf.id, to="v1"))

    assert back.state is OpState.COMPLETED, back.error
    assert world.template(vnf) == old_template
    assert world.nfv(vnf) == old_nfv
    assert world.vnfs.get_vnf(vnf.id).vnfd_id == world.vnfd_id


def test_a_point_whose_stack_is_gone_says_so_and_instance_delete_removes_points(
        world):  # noqa: F811
    vnf = world.instantiated()
    lib = points(world)
    point = lib.create_point(vnf.id)
    assert world.done(world.lcm.terminate(vnf.id)).state is OpState.COMPLETED
    assert lib.get_point(point.id).status == "STACK_GONE"
    refused = world.done(world.lcm.fallback(vnf.id))
    assert refused.state is OpState.FAILED_TEMP
    assert "its stack is gone" in refused.error["detail"]
    assert world.lcm.fail(refused.id).state is OpState.FAILED
    world.vnfs.delete_vnf(vnf.id)
    assert lib.list_points() == []


def test_a_point_deleted_during_its_fallback_is_named_in_the_failure(
        world, monkeypatch):  # noqa: F811
    from nfvlib.lcm import change_pkg
    from nfvlib.store.restoration import RestorationPointTable

    vnf = world.instantiated()
    point = points(world).create_point(vnf.id)
    wait_restore = change_pkg._wait_restore

    def deleted_meanwhile(ctx, env):
        wait_restore(ctx, env)
        with world.services.store.transaction() as conn:
            RestorationPointTable(world.services.store).delete(conn, point.id)

    monkeypatch.setattr(change_pkg, "_wait_restore", deleted_meanwhile)
    op = world.done(world.lcm.fallback(vnf.id))

    assert op.state is OpState.FAILED_TEMP
    assert (op.steps[-1].name, op.steps[-1].status) == ("record instance", "FAILED")
    assert f"restoration point {point.id} was deleted while" in op.error["detail"]


def test_fallback_is_refused_while_another_operation_is_active(world):  # noqa: F811
    vnf = world.instantiated()
    points(world).create_point(vnf.id)
    running = world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale")
    with pytest.raises(Conflict):
        world.lcm.fallback(vnf.id)
    with pytest.raises(Conflict, match="has operation SCALE"):
        points(world).create_point(vnf.id)
    assert world.done(running).state is OpState.COMPLETED


def test_fallback_without_a_point_is_one_line(world):  # noqa: F811
    vnf = world.instantiated()
    with pytest.raises(NotFound, match="has no restoration point"):
        world.lcm.fallback(vnf.id)


def test_a_fallback_cannot_be_rolled_back(world):  # noqa: F811
    from nfvlib.lcm import plans

    vnf = world.instantiated()
    points(world).create_point(vnf.id)
    op = world.lcm.fallback(vnf.id)
    assert "forceful" in plans.no_rollback_reason(op)
    world.done(op)


def test_remote_mode_has_no_restoration_points():
    from unittest import mock

    client = nfvlib.Client(mode="remote", session=mock.Mock(),
                           endpoint_override="http://tacker.test:9890")
    with pytest.raises(Unsupported, match="local-mode"):
        client.restoration_points.list_points()
    with pytest.raises(Unsupported, match="local-mode"):
        client.lcm.fallback("vnf")
    with pytest.raises(Unsupported, match="local-mode"):
        client.lcm.scale("vnf", "SCALE_IN", "a", restoration_point=True)
