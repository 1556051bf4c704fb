"""Local LCM requests: checks, occurrences and waiting, with no worker started.

A real store, vault and sample package; Keystone over requests-mock; the
spawner only records which occurrences it was asked to start; time is a
fake clock, so nothing sleeps.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import nfvlib
from nfvlib import Conflict, InvalidInput, NotFound, WaitTimeout
from nfvlib.lcm import engine
from nfvlib.lcm.catalog import LocalPackages, LocalVnfs
from nfvlib.lcm.local import LocalLcm
from nfvlib.models import OpState
from tests.unit.conftest import FakeClock as Clock
from tests.unit.conftest import vim_config

SAMPLE = Path(nfvlib.__file__).parent / "samples" / "sample_vnf"
LEVEL_1 = {"flavourId": "simple", "instantiationLevelId": "instantiation_level_1"}
V3 = "ETSINFV.OPENSTACK_KEYSTONE.V_3"


@pytest.fixture
def lease_time():
    """The fake clock leases are measured on (the wall clock is another)."""
    return Clock(now=5_000.0)


@pytest.fixture
def world(nfv_home, keystone, lease_time):
    client = nfvlib.Client()
    client.vims.register_vim("site", vim_config(), is_default=True)
    packages = LocalPackages(client.store, client.paths.data_dir / "packages")
    info = packages.upload_package(packages.create_package().id, str(SAMPLE))
    vnfs = LocalVnfs(client.store, packages)
    clock = Clock()
    spawned: list[str] = []
    lcm = LocalLcm(client.store, client.vims, packages, vnfs, spawn=spawned.append,
                   clock=clock, sleep=clock.sleep,
                   lease_clock=engine.LeaseClock(lease_time, "boot-1"))
    yield lcm, vnfs, info, clock, spawned
    client.close()


def test_instantiate_returns_a_starting_occurrence_and_starts_a_worker(world):
    lcm, vnfs, info, _, spawned = world
    vnf = vnfs.create_vnf(info.vnfd_id, name="v")
    op = lcm.instantiate(vnf.id, LEVEL_1)
    assert op.state is OpState.STARTING and spawned == [op.id]
    assert [s.name for s in op.steps] == [
        "validate request", "run instantiate_start script", "create stack",
        "wait for stack", "run instantiate_end script", "record instance"]
    assert lcm.get_op_occ(op.id).step_summary == "step 1 of 6: validate request"
    assert [o.id for o in lcm.list_op_occs({"vnfInstanceId": vnf.id})] == [op.id]
    assert lcm.list_op_occs({"operationState": "COMPLETED"}) == []
    with pytest.raises(InvalidInput, match="cannot filter"):
        lcm.list_op_occs({"colour": "red"})


def test_bad_requests_write_nothing(world):
    lcm, vnfs, info, _, spawned = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    with pytest.raises(InvalidInput, match="flavourId"):
        lcm.instantiate(vnf.id, {})
    with pytest.raises(InvalidInput, match="flavour"):
        lcm.instantiate(vnf.id, {"flavourId": "huge"})
    with pytest.raises(InvalidInput, match="instantiation"):
        lcm.instantiate(vnf.id, {"flavourId": "simple", "instantiationLevelId": "x"})
    with pytest.raises(InvalidInput, match=r"vimConnectionInfo.v.vimId: no VIM"):
        lcm.instantiate(vnf.id, dict(LEVEL_1, vimConnectionInfo={
            "v": {"vimId": "no-such-vim", "vimType": V3}}))
    with pytest.raises(Conflict, match="NOT_INSTANTIATED, and scale needs INSTANTIATED"):
        lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale")
    with pytest.raises(InvalidInput, match="SCALE_OUT or SCALE_IN"):
        lcm.scale(vnf.id, "SCALE_SIDEWAYS", "VDU1_scale")
    with pytest.raises(InvalidInput, match="GRACEFUL or FORCEFUL"):
        lcm.terminate(vnf.id, "POLITELY")
    with pytest.raises(NotFound):
        lcm.instantiate("no-such-vnf", LEVEL_1)
    assert lcm.list_op_occs() == [] and spawned == []


def test_one_active_occurrence_per_vnf(world):
    lcm, vnfs, info, _, spawned = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    first = lcm.instantiate(vnf.id, LEVEL_1)
    with pytest.raises(Conflict, match=f"has operation INSTANTIATE \\({first.id}\\)"):
        lcm.instantiate(vnf.id, LEVEL_1)
    with pytest.raises(Conflict, match="finish, roll back or fail it first"):
        vnfs.delete_vnf(vnf.id)
    assert spawned == [first.id]


def test_cancel_of_a_starting_occurrence_rolls_it_back(world):
    lcm, vnfs, info, _, _ = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    op = lcm.instantiate(vnf.id, LEVEL_1)
    with pytest.raises(Conflict, match="STARTING, and rollback needs FAILED_TEMP"):
        lcm.rollback(op.id)
    cancelled = lcm.cancel(op.id, "GRACEFUL")
    assert cancelled.state is OpState.ROLLED_BACK
    assert cancelled.error["title"] == "Operation cancelled"
    with pytest.raises(Conflict, match="ROLLED_BACK"):
        lcm.cancel(op.id)
    vnfs.delete_vnf(vnf.id)  # free again


def test_cancel_of_a_processing_occurrence_is_a_flag_for_the_worker(world):
    lcm, vnfs, info, _, _ = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    op = lcm.instantiate(vnf.id, LEVEL_1)
    store = lcm._store
    store.conn.execute("UPDATE op_occs SET state = 'PROCESSING' WHERE id = ?", (op.id,))
    flagged = lcm.cancel(op.id, "FORCEFUL")
    assert flagged.state is OpState.PROCESSING
    assert flagged.is_cancel_pending and flagged.cancel_mode == "FORCEFUL"


def test_a_worker_that_never_starts_is_rolled_back_after_the_grace(world, lease_time):
    lcm, vnfs, info, _, _ = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    op = lcm.instantiate(vnf.id, LEVEL_1)
    lease_time.now += engine.START_GRACE_SECONDS - 1
    assert lcm.get_op_occ(op.id).state is OpState.STARTING
    lease_time.now += 2
    reaped = lcm.get_op_occ(op.id)
    assert reaped.state is OpState.ROLLED_BACK
    assert "never started" in reaped.error["detail"]


def test_wait_backs_off_reports_progress_and_times_out(world):
    lcm, vnfs, info, clock, _ = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    op = lcm.instantiate(vnf.id, LEVEL_1)
    seen = []
    with pytest.raises(WaitTimeout) as err:
        lcm.wait(op.id, timeout=5, progress=seen.append)
    assert err.value.last_seen == "STARTING" and op.id in str(err.value)
    assert [o.state for o in seen] == [OpState.STARTING]  # once, not per poll
    assert clock.sleeps[0] == pytest.approx(0.05)
    assert max(clock.sleeps) <= 0.1 + 1e-9
    assert sum(clock.sleeps) == pytest.approx(5, abs=0.11)


def test_wait_returns_at_failed_temp_and_fail_ends_it(world):
    lcm, vnfs, info, _, _ = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    op = lcm.instantiate(vnf.id, LEVEL_1)
    lcm._store.conn.execute("UPDATE op_occs SET state = 'FAILED_TEMP' WHERE id = ?",
                            (op.id,))
    assert lcm.wait(op.id, timeout=1).state is OpState.FAILED_TEMP
    assert lcm.fail(op.id).state is OpState.FAILED
    with pytest.raises(Conflict, match="it is FAILED, and retry needs FAILED_TEMP"):
        lcm.retry(op.id)


def test_secrets_in_a_request_are_not_stored(world):
    lcm, vnfs, info, _, _ = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    request = dict(LEVEL_1, vimConnectionInfo={"vim1": {
        "vimId": "site", "vimType": "ETSINFV.OPENSTACK_KEYSTONE.V_2",
        "accessInfo": {"username": "u", "password": "hunter2-secret",
                       "region": "RegionOne"}}},
        additionalParams={"nfv": {}, "api_token": "tok-secret"})
    op = lcm.instantiate(vnf.id, request)
    access = op.request["vimConnectionInfo"]["vim1"]["accessInfo"]
    assert access["password"] == "***" and access["username"] == "u"
    assert op.request["additionalParams"]["api_token"] == "***"
    lcm._store.close()
    raw = lcm._store.path.read_bytes()
    assert b"hunter2-secret" not in raw and b"tok-secret" not in raw


def test_deleting_an_instance_keeps_its_operation_history(world):
    lcm, vnfs, info, _, _ = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    op = lcm.instantiate(vnf.id, LEVEL_1)
    with pytest.raises(Conflict, match="finish, roll back or fail it first"):
        vnfs.delete_vnf(vnf.id)  # a non-final occurrence still blocks it
    lcm.cancel(op.id)
    assert not lcm.get_op_occ(op.id).vnf_instance_deleted
    vnfs.delete_vnf(vnf.id)
    with pytest.raises(NotFound):
        vnfs.get_vnf(vnf.id)
    kept = lcm.get_op_occ(op.id)
    assert kept.vnf_instance_deleted and kept.vnf_instance_id == vnf.id
    assert kept.state is OpState.ROLLED_BACK and kept.error["title"] == "Operation cancelled"
    listed = lcm.list_op_occs({"vnfInstanceId": vnf.id})
    assert [(o.id, o.vnf_instance_deleted) for o in listed] == [(op.id, True)]


def test_no_operation_starts_on_an_instance_deleted_meanwhile(world, monkeypatch):
    from nfvlib.lcm import plans

    lcm, vnfs, info, _, spawned = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    step_names = plans.step_names

    def names_while_deleted(*args, **kwargs):
        vnfs.delete_vnf(vnf.id)  # another process, between the checks and the insert
        return step_names(*args, **kwargs)
    monkeypatch.setattr(plans, "step_names", names_while_deleted)
    with pytest.raises(NotFound):
        lcm.instantiate(vnf.id, LEVEL_1)
    assert lcm.list_op_occs() == [] and spawned == []


def test_cancel_of_a_started_occurrence_is_a_flag_not_a_rollback(world, lease_time):
    from nfvlib.lcm.engine import LeaseClock, PlanRunner

    lcm, vnfs, info, _, _ = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    op = lcm.instantiate(vnf.id, LEVEL_1)
    worker = PlanRunner(lcm._store, lambda op: [], clock=Clock(), renew=False,
                        lease_clock=LeaseClock(lease_time, "boot-1"))
    worker._start(worker._acquire(op.id))  # the worker won the race
    flagged = lcm.cancel(op.id)
    assert flagged.state is OpState.PROCESSING and flagged.is_cancel_pending


def test_a_wall_clock_step_neither_reaps_a_live_worker_nor_keeps_a_dead_one(
        world, lease_time):
    lcm, vnfs, info, clock, _ = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    op = lcm.instantiate(vnf.id, LEVEL_1)
    clock.now += 3600  # the wall clock is set an hour forward
    assert lcm.get_op_occ(op.id).state is OpState.STARTING
    clock.now -= 7200  # and then an hour back; the worker never comes
    lease_time.now += engine.START_GRACE_SECONDS + 1
    assert lcm.get_op_occ(op.id).state is OpState.ROLLED_BACK


def test_a_lease_from_before_a_reboot_has_expired(world):
    lcm, vnfs, info, _, _ = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    op = lcm.instantiate(vnf.id, LEVEL_1)
    lcm._store.conn.execute(
        "UPDATE op_occs SET state = 'PROCESSING', worker_pid = 1, "
        "lease_expires_at = 1e12, lease_boot_id = 'boot-0' WHERE id = ?", (op.id,))
    reaped = lcm.get_op_occ(op.id)
    assert reaped.state is OpState.FAILED_TEMP and "lease expired" in reaped.error["detail"]


def test_show_and_list_work_on_a_read_only_store(world, lease_time):
    lcm, vnfs, info, _, _ = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    op = lcm.instantiate(vnf.id, LEVEL_1)
    store = lcm._store
    store.conn.execute("UPDATE op_occs SET state = 'PROCESSING', worker_pid = 999999 "
                       "WHERE id = ?", (op.id,))
    lease_time.now += engine.START_GRACE_SECONDS + 1  # its worker died
    store.conn.execute("PRAGMA query_only = ON")  # as a store opened read-only
    try:
        shown = lcm.get_op_occ(op.id)
        assert shown.state is OpState.FAILED_TEMP  # as the reaper would leave it
        assert "pid 999999" in shown.error["detail"]
        assert [o.state for o in lcm.list_op_occs()] == [OpState.FAILED_TEMP]
        assert [o.id for o in lcm.list_op_occs({"operationState": "FAILED_TEMP"})] == [
            op.id]
        assert lcm.list_op_occs({"operationState": "PROCESSING"}) == []
    finally:
        store.conn.execute("PRAGMA query_only = OFF")
    assert store.conn.execute("SELECT state FROM op_occs WHERE id = ?",
                              (op.id,)).fetchone()[0] == "PROCESSING"  # nothing written
    assert lcm.get_op_occ(op.id).state is OpState.FAILED_TEMP  # now reaped for real
    assert store.conn.execute("SELECT state FROM op_occs WHERE id = ?",
                              (op.id,)).fetchone()[0] == "FAILED_TEMP"
