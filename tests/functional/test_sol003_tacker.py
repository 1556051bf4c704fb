"""SOL003 shapes against a real Tacker 16 that the sandbox starts.

The records the real server answers (read through remote mode, which prints
them as received) must pass the SOL003 schemas that local output passes
(tests/unit/schemas/), must have the fields of the Tacker-shaped records the
unit contract tests compare local records with
(tests/unit/contract/test_sol003_shapes.py), and ``nfv vnflcm show -f json``
must show them under python-tackerclient's column names.
"""

from __future__ import annotations

import importlib

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from nfvlib import Conflict, OpState, sol003
from tests.data import TACKER_SAMPLE
from tests.unit.contract.test_sol003_shapes import TACKER_OP, TACKER_PACKAGE, TACKER_VNF
from tests.unit.test_sol003 import assert_valid

WAIT = 180
LEVEL_1 = {"flavourId": "simple", "instantiationLevelId": "instantiation_level_1"}


@pytest.fixture(scope="module")
def client(tacker_sandbox):
    return tacker_sandbox.tacker_client()


@pytest.fixture(scope="module")
def instantiated(tacker_sandbox, client):
    """An onboarded sample package and an instance of it, instantiated on Heat."""
    info = client.packages.create_package({"test": "sol003-shapes"})
    package = client.packages.upload_package(info.id, str(TACKER_SAMPLE))
    vnf = client.vnfs.create_vnf(package.vnfd_id, name=f"s-{uuid.uuid4().hex[:6]}")
    op = client.lcm.wait(client.lcm.instantiate(vnf.id, LEVEL_1).id, timeout=WAIT)
    assert op.state is OpState.COMPLETED, op.error
    yield package, client.vnfs.get_vnf(vnf.id), op
    end = client.lcm.wait(client.lcm.terminate(vnf.id, "FORCEFUL").id, timeout=WAIT)
    assert end.state is OpState.COMPLETED, end.error
    for _ in range(20):  # Tacker may still hold the instance a moment after COMPLETED
        try:
            client.vnfs.delete_vnf(vnf.id)
            break
        except Conflict:
            time.sleep(1)
    client.packages.delete_package(package.id)


def keys(value, path=()):
    """Every key path of a JSON value (arrays by their items)."""
    found = set()
    if isinstance(value, dict):
        for k, v in value.items():
            found |= {path + (k,)} | keys(v, path + (k,))
    elif isinstance(value, list):
        for item in value:
            found |= keys(item, path + ("[]",))
    return found


def test_tackers_records_pass_the_sol003_schemas(client, instantiated):
    package, vnf, op = instantiated
    records = {"VnfInstance": sol003.vnf_instance(vnf),
               "VnfLcmOpOcc": sol003.op_occ(client.lcm.get_op_occ(op.id)),
               "VnfPkgInfo": sol003.vnf_package(client.packages.get_package(package.id))}
    for name, record in records.items():
        assert_valid(name, record)
    assert records["VnfInstance"]["instantiatedVnfInfo"]["vnfcResourceInfo"]
    # the records the unit tests hold for Tacker's have no field the real one lacks
    # where both have the attribute at all (optional ones may be absent there)
    for real, written in ((records["VnfInstance"], TACKER_VNF),
                          (records["VnfLcmOpOcc"], TACKER_OP),
                          (records["VnfPkgInfo"], TACKER_PACKAGE)):
        tops = set(real) & set(written)
        assert {"id", "_links"} <= tops
        missing = {p for p in keys(written) - keys(real)
                   if p[0] in tops and p[0] not in ("operationParams", "error",
                                                    "resourceChanges", "userDefinedData")}
        assert not missing, sorted(missing)


def test_nfv_vnflcm_show_is_tackers_record_under_tackerclients_columns(
        tacker_sandbox, client, instantiated):
    tc_vnflcm = importlib.import_module("tackerclient.osc.v1.vnflcm.vnflcm")
    _, vnf, _ = instantiated
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(tacker_sandbox.openrc(), NFV_DATA_DIR=str(tacker_sandbox.paths.data_dir))
    proc = subprocess.run([sys.executable, "-m", "nfvcli.shell", "--os-nfv-mode", "remote",
                           "vnflcm", "show", vnf.id, "-f", "json"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    record = sol003.vnf_instance(client.vnfs.get_vnf(vnf.id))
    display, attrs = tc_vnflcm._get_columns(record, action="show")
    assert list(shown)[:len(display)] == list(display)
    assert {a: shown[d] for d, a in zip(display, attrs) if a in record} == record
