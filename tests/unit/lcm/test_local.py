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


@pytest.fixture
def world(nfv_home, keystone):
    client = nfvlib.Client()
    client.vims.register_vim("site", vim_config(), is_default=True)
    packages = LocalPackages(client.store, client.paths.data_dir / "packages")
    info = packages.upload_package(packages.create_package().id, str(SAMPLE))
    vnfs = LocalVnfs(client.store, packages)
    clock = Clock()
    spawned: list[str] = []
    lcm = LocalLcm(client.store, client.vims, packages, vnfs, spawn=spawned.append,
                   clock=clock, sleep=clock.sleep)
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
    with pytest.raises(NotFound):
        lcm.instantiate(vnf.id, dict(LEVEL_1, vimConnectionInfo={
            "v": {"vimId": "no-such-vim"}}))
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


def test_a_worker_that_never_starts_is_rolled_back_after_the_grace(world):
    lcm, vnfs, info, clock, _ = world
    vnf = vnfs.create_vnf(info.vnfd_id)
    op = lcm.instantiate(vnf.id, LEVEL_1)
    clock.now += engine.START_GRACE_SECONDS - 1
    assert lcm.get_op_occ(op.id).state is OpState.STARTING
    clock.now += 2
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
