"""The VNF lifecycle's contract, on one shared VNF per backend, then a failing one.

The tests of this module run in order on the VNF the ``vnf`` fixture creates
(create, instantiate, scale out, scale in, terminate, delete), each checking
what the backend's stacks hold (Heat's for local and tacker, the fake's record
for fake). Then an instantiate that always fails: FAILED_TEMP, rollback,
retry, fail. ``openstack --os-nfv-mode ...`` drives part of each.
"""

from __future__ import annotations

import importlib
import json
import time

import pytest

from nfvlib import Conflict, NotFound, OpState, sol003
from nfvlib.exceptions import Unsupported
from nfvlib.lcm.catalog import VnfNotFound
from nfvlib.models import InstantiationState
from tests.functional.contract.conftest import (LEVEL_1, NO_SUCH_ID, WAIT)
from tests.json_shapes import key_paths
from tests.unit.contract.test_sol003_shapes import TACKER_OP, TACKER_PACKAGE, TACKER_VNF
from tests.unit.test_sol003 import assert_valid


@pytest.fixture(scope="module")
def vnf(backend, sample):
    """The VNF instance the lifecycle tests share (one per backend)."""
    return backend.client.vnfs.create_vnf(sample.vnfd_id, name=f"contract-{backend.name}")


@pytest.fixture(scope="module")
def shown():
    """``-f json`` output per backend, kept across the backends of this module."""
    return {}


def vdu_count(vnf, vdu: str) -> int:
    return sum(1 for c in vnf.vnfc if c.vdu_id == vdu)


def test_create_and_the_404_and_409_paths(backend, vnf):
    client = backend.client
    assert vnf.instantiation_state is InstantiationState.NOT_INSTANTIATED
    assert client.vnfs.get_vnf(vnf.id).name == f"contract-{backend.name}"
    assert vnf.id in {v.id for v in client.vnfs.list_vnfs()}
    assert backend.stack_status(vnf.id) is None
    with pytest.raises(Conflict):  # not instantiated
        client.lcm.terminate(vnf.id, "FORCEFUL")
    with pytest.raises(Conflict):
        client.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale")
    assert client.lcm.list_op_occs({"vnfInstanceId": vnf.id}) == []
    with pytest.raises(VnfNotFound):
        client.vnfs.get_vnf(NO_SUCH_ID)
    with pytest.raises(VnfNotFound):
        client.lcm.instantiate(NO_SUCH_ID, LEVEL_1)
    with pytest.raises(NotFound):
        client.lcm.get_op_occ(NO_SUCH_ID)
    with pytest.raises(NotFound):
        client.lcm.rollback(NO_SUCH_ID)
    for argv in (("vnflcm", "show", NO_SUCH_ID), ("vnflcm", "op", "show", NO_SUCH_ID)):
        code, _, err = backend.openstack(*argv)
        assert code == 3 and len(err.strip().splitlines()) == 1, err


def test_instantiate(backend, vnf, shown):
    client = backend.client
    op = client.lcm.instantiate(vnf.id, LEVEL_1)
    assert op.state in (OpState.STARTING, OpState.PROCESSING)  # returned at once
    assert op.vnf_instance_id == vnf.id
    shown.setdefault(backend.name, {})["instantiate"] = op.id
    # Tacker refuses a second operation once its conductor holds the VNF (from
    # PROCESSING on); while STARTING it may still accept one.
    deadline = time.monotonic() + WAIT
    while client.lcm.get_op_occ(op.id).state is OpState.STARTING:
        assert time.monotonic() < deadline, "the operation never started"
        time.sleep(0.2)
    with pytest.raises(Conflict):  # 409: an operation is in progress
        client.lcm.instantiate(vnf.id, LEVEL_1)
    for action in (client.lcm.rollback, client.lcm.retry, client.lcm.fail):
        with pytest.raises(Conflict):  # 409: these need FAILED_TEMP
            action(op.id)
    done = client.lcm.wait(op.id, timeout=WAIT)
    assert done.state is OpState.COMPLETED, done.error
    held = client.vnfs.get_vnf(vnf.id)
    assert held.instantiation_state is InstantiationState.INSTANTIATED
    assert (vdu_count(held, "VDU1"), vdu_count(held, "VDU2")) == (1, 1)
    assert held.scale_status == {"VDU1_scale": 0}
    assert backend.stack_status(vnf.id) == "CREATE_COMPLETE"
    assert backend.members(vnf.id) == 1
    assert [o.id for o in client.lcm.list_op_occs({"vnfInstanceId": vnf.id})] == [op.id]
    with pytest.raises(Conflict):  # 409: already instantiated
        client.lcm.instantiate(vnf.id, LEVEL_1)
    with pytest.raises(Conflict):  # 409: an instantiated VNF cannot be deleted
        client.vnfs.delete_vnf(vnf.id)
    for action in (client.lcm.rollback, client.lcm.retry, client.lcm.fail):
        with pytest.raises(Conflict):  # 409: COMPLETED is final
            action(op.id)
    # What the three show, for test_json_output_of_local_and_tacker_agree.
    package_id = client.packages.list_packages(
        filter=f"(eq,vnfdId,{vnf.vnfd_id})")[0].id
    for what, argv in (("vnflcm show", ("vnflcm", "show", vnf.id)),
                       ("vnflcm op show", ("vnflcm", "op", "show", op.id)),
                       ("vnf package show", ("vnf", "package", "show", package_id))):
        code, out, err = backend.openstack(*argv, "-f", "json")
        assert code == 0, err
        shown.setdefault(backend.name, {})[what] = json.loads(out)
    assert shown[backend.name]["vnflcm show"]["Instantiation State"] == "INSTANTIATED"
    assert shown[backend.name]["vnflcm op show"]["Operation State"] == "COMPLETED"


def records(backend, vnf, shown):
    """The SOL003 records of the instance, its instantiate and its package."""
    client = backend.client
    held = client.vnfs.get_vnf(vnf.id)
    [listed] = client.packages.list_packages(filter=f"(eq,vnfdId,{vnf.vnfd_id})")
    package = client.packages.get_package(listed.id)  # a list leaves checksum out
    return {"VnfInstance": sol003.vnf_instance(held),
            "VnfLcmOpOcc": sol003.op_occ(
                client.lcm.get_op_occ(shown[backend.name]["instantiate"])),
            "VnfPkgInfo": sol003.vnf_package(package)}


def test_records_pass_the_sol003_schemas(backend, vnf, shown):
    found = records(backend, vnf, shown)
    for name, record in found.items():
        assert_valid(name, record)
    assert found["VnfInstance"]["instantiatedVnfInfo"]["vnfcResourceInfo"]


def test_nfv_vnflcm_show_is_the_record_under_tackerclients_columns(backend, vnf):
    tc_vnflcm = importlib.import_module("tackerclient.osc.v1.vnflcm.vnflcm")
    code, out, err = backend.nfv("vnflcm", "show", vnf.id, "-f", "json")
    assert code == 0, err
    shown = json.loads(out)
    record = sol003.vnf_instance(backend.client.vnfs.get_vnf(vnf.id))
    display, attrs = tc_vnflcm._get_columns(record, action="show")
    assert list(shown)[:len(display)] == list(display)
    assert {a: shown[d] for d, a in zip(display, attrs) if a in record} == record


@pytest.mark.parametrize("backend", ["tacker"], indirect=True)
def test_the_unit_tests_tacker_records_have_the_real_ones_fields(backend, vnf, shown):
    """The Tacker-shaped records of tests/unit/contract/test_sol003_shapes.py
    have no field the real server's lack (where both have the attribute at
    all): only the real server is the reference here."""
    found = records(backend, vnf, shown)
    for real, written in ((found["VnfInstance"], TACKER_VNF),
                          (found["VnfLcmOpOcc"], TACKER_OP),
                          (found["VnfPkgInfo"], TACKER_PACKAGE)):
        tops = set(real) & set(written)
        assert {"id", "_links"} <= tops
        real_paths = {p for p, _ in key_paths(real)}
        missing = {p for p, _ in key_paths(written) if p not in real_paths
                   and p and p[0] in tops and p[0] not in (
                       "operationParams", "error", "resourceChanges", "userDefinedData")}
        assert not missing, sorted(missing)


def test_scale_out_with_nfv_and_in_with_openstack(backend, vnf):
    code, _, err = backend.nfv("vnflcm", "scale", vnf.id, "--type", "SCALE_OUT",
                               "--aspect-id", "VDU1_scale", "--wait")
    assert code == 0, err
    assert backend.members(vnf.id) == 2
    held = backend.client.vnfs.get_vnf(vnf.id)
    assert vdu_count(held, "VDU1") == 2 and held.scale_status == {"VDU1_scale": 1}
    code, _, err = backend.openstack("vnflcm", "scale", vnf.id, "--type", "SCALE_IN",
                                     "--aspect-id", "VDU1_scale", "--wait")
    assert code == 0, err
    assert backend.members(vnf.id) == 1
    held = backend.client.vnfs.get_vnf(vnf.id)
    assert vdu_count(held, "VDU1") == 1 and held.scale_status == {"VDU1_scale": 0}
    assert backend.stack_status(vnf.id) == "UPDATE_COMPLETE"
    code, out, err = backend.openstack("vnflcm", "op", "list", "-f", "json")
    assert code == 0, err
    ops = [row for row in json.loads(out) if row["VNF Instance ID"] == vnf.id]
    assert sorted(row["Operation"] for row in ops) == ["INSTANTIATE", "SCALE", "SCALE"]
    assert {row["Operation State"] for row in ops} == {"COMPLETED"}


def test_terminate_and_delete_through_openstack(backend, vnf):
    code, _, err = backend.openstack("vnflcm", "terminate", vnf.id, "--termination-type",
                                     "FORCEFUL", "--wait")
    assert code == 0, err
    assert backend.stack_status(vnf.id) in (None, "DELETE_COMPLETE")
    held = backend.client.vnfs.get_vnf(vnf.id)
    assert held.instantiation_state is InstantiationState.NOT_INSTANTIATED
    assert held.vnfc == ()
    code, _, err = backend.openstack("vnflcm", "delete", vnf.id)
    assert code == 0, err
    with pytest.raises(VnfNotFound):
        backend.client.vnfs.get_vnf(vnf.id)
    code, _, err = backend.openstack("vnflcm", "show", vnf.id)
    assert code == 3 and len(err.strip().splitlines()) == 1, err
    with pytest.raises(NotFound):
        backend.client.lcm.instantiate(vnf.id, LEVEL_1)


@pytest.fixture(scope="module")
def failing_vnf(backend):
    """A VNF of the package whose instantiate always fails."""
    package = backend.failing_package()
    return backend.client.vnfs.create_vnf(package.vnfd_id, name="contract-failing")


def test_failing_instantiate_rolls_back(backend, failing_vnf):
    client, vnf = backend.client, failing_vnf
    failed = client.lcm.wait(client.lcm.instantiate(vnf.id, LEVEL_1).id, timeout=WAIT)
    assert failed.state is OpState.FAILED_TEMP
    assert backend.stack_status(vnf.id) == "CREATE_FAILED"
    with pytest.raises(Conflict):  # 409: FAILED_TEMP holds the VNF
        client.lcm.instantiate(vnf.id, LEVEL_1)
    # The server leaves FAILED_TEMP a moment after it accepts the rollback:
    # --wait must outlast that.
    code, _, err = backend.openstack("vnflcm", "op", "rollback", failed.id, "--wait")
    assert code == 0, err
    assert client.lcm.get_op_occ(failed.id).state is OpState.ROLLED_BACK
    assert backend.stack_status(vnf.id) in (None, "DELETE_COMPLETE")
    assert client.vnfs.get_vnf(vnf.id).instantiation_state is \
        InstantiationState.NOT_INSTANTIATED
    for action in (client.lcm.rollback, client.lcm.retry, client.lcm.fail):
        with pytest.raises(Conflict):  # 409: ROLLED_BACK is final
            action(failed.id)


def test_failing_instantiate_retry_then_fail(backend, failing_vnf):
    client, vnf = backend.client, failing_vnf
    failed = client.lcm.wait(client.lcm.instantiate(vnf.id, LEVEL_1).id, timeout=WAIT)
    assert failed.state is OpState.FAILED_TEMP
    # The resource always fails: the retry runs again and ends FAILED_TEMP again.
    code, _, err = backend.openstack("vnflcm", "op", "retry", failed.id, "--wait")
    assert code == 20, err
    retried = client.lcm.get_op_occ(failed.id)
    assert retried.state is OpState.FAILED_TEMP
    assert retried.state_entered_time != failed.state_entered_time or \
        backend.name == "fake"  # the fake's clock ticks per state, not per second
    assert backend.stack_status(vnf.id).endswith("_FAILED")
    assert client.lcm.fail(failed.id).state is OpState.FAILED
    assert client.lcm.get_op_occ(failed.id).state is OpState.FAILED
    for action in (client.lcm.rollback, client.lcm.retry, client.lcm.fail):
        with pytest.raises(Conflict):  # 409: FAILED is final
            action(failed.id)
    code, _, err = backend.openstack("vnflcm", "op", "retry", failed.id)
    assert code == 4 and len(err.strip().splitlines()) == 1, err
    assert [o.state for o in client.lcm.list_op_occs({"vnfInstanceId": vnf.id})] == [
        OpState.ROLLED_BACK, OpState.FAILED]


@pytest.mark.parametrize("backend", ["fake", "tacker"], indirect=True)
def test_cancel_is_unsupported_on_tacker_v2(backend, failing_vnf):
    """Tacker's v2 API has no cancel route; local mode cancels (see
    tests/functional/test_lcm_local.py), so this case is remote-only."""
    [op, *_] = backend.client.lcm.list_op_occs({"vnfInstanceId": failing_vnf.id})
    with pytest.raises(Unsupported, match="cannot cancel"):
        backend.client.lcm.cancel(op.id)
    code, _, err = backend.openstack("vnflcm", "op", "cancel", op.id)
    assert code != 0 and len(err.strip().splitlines()) == 1, err


#: Columns whose content local mode and Tacker still shape differently; any
#: other column must have the same fields and types (links aside). The test
#: fails when one of these starts to agree too, so the list stays true.
#: None left: local records carry Tacker's virtual links, connection points,
#: maxScaleLevels, VIM connection and VNFC metadata, remote mode finds a v2
#: instance's package by its vnfdId, and reads its VNFCs' members, stacks
#: and ports from Tacker's metadata as local mode reads them from Heat.
KNOWN_DIFFERENCES: dict[str, set[str]] = {
    "vnflcm show": set(),
    "vnflcm op show": set(),
    "vnf package show": set(),
}
#: nfvkit's own columns that only local mode can fill (its plan journal):
#: the same columns, empty in Tacker's output (a Tacker occurrence has no steps).
LOCAL_ONLY = {"vnflcm op show": {"Current Step", "Steps"}}


@pytest.mark.parametrize("backend", ["tacker"], indirect=True)
def test_json_output_of_local_and_tacker_agree(backend, shown):
    """``-f json`` of the same operations, local and Tacker, column by column.

    Runs with the tacker backend, after the local cases of this module, whose
    output ``test_instantiate`` kept (ids, times and links may differ).
    """
    assert set(shown) >= {"local", "tacker"}, "run the local and tacker cases together"
    for what, known in KNOWN_DIFFERENCES.items():
        local, tacker = shown["local"][what], shown["tacker"][what]
        assert list(local) == list(tacker), what  # the same columns, in order
        own = LOCAL_ONLY.get(what, set())
        for column in own:
            assert local[column] and tacker[column] in (None, "", []), (what, column)
        differing = {column for column in local if column != "Links" and column not in own
                     and key_paths(local[column]) != key_paths(tacker[column])}
        assert differing == known, (what, {c: sorted(key_paths(local[c])
                                                     ^ key_paths(tacker[c]))
                                           for c in differing ^ known})
