"""Every list/show command both have prints python-tackerclient's column names.

python-tackerclient's own ``take_action`` runs against a client that answers
with the SOL003/SOL005 record (:mod:`nfvlib.sol003`) of a model; nfvkit's
command runs against an nfvlib client that answers with the model itself.
python-tackerclient's columns must come first, in its order; nfvkit may add
its own after them, never rename one.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from unittest import mock

import pytest

from nfvcli import shell
from nfvlib import sol003
from nfvlib.models import (InstantiationState, OnboardingState, Operation, OpOcc, OpState,
                           PackageInfo, VnfcInfo, VnfInstance)
from tests.unit.compat.conftest import their_command

VNF = VnfInstance(id="vnf-1", vnfd_id="vnfd-1", package_id="pkg-1", name="web",
                  description="front", vnf_provider="ACME", vnf_product_name="Web",
                  vnf_software_version="1.0", vnfd_version="1.0")
INSTANTIATED = VnfInstance(
    id="vnf-2", vnfd_id="vnfd-1", package_id="pkg-1", name="db",
    instantiation_state=InstantiationState.INSTANTIATED, vim_id="vim-1",
    region="RegionOne", flavour_id="simple", instantiation_level_id="l1",
    stack_id="stack-1", scale_status={"VDU1_scale": 0},
    vnfc=(VnfcInfo(id="c1", vdu_id="VDU1", resource_name="srv-1",
                   resource_type="OS::Nova::Server", status="ACTIVE"),))
OP = OpOcc(id="op-1", vnf_instance_id="vnf-2", operation=Operation.SCALE,
           state=OpState.FAILED_TEMP, start_time="2024-01-01T00:00:00Z",
           state_entered_time="2024-01-01T00:00:09Z", request={"aspectId": "A"},
           error={"title": "Failed", "status": 500, "detail": "stack failed"})
PACKAGE = PackageInfo(id="pkg-1", onboarding_state=OnboardingState.ONBOARDED,
                      operational_state="ENABLED", vnfd_id="vnfd-1", vnf_provider="ACME",
                      vnf_product_name="Web", vnf_software_version="1.0",
                      vnfd_version="1.0", user_defined_data={"a": "1"})
VERSIONS = {"uriPrefix": "/vnflcm", "apiVersions": [{"version": "2.0.0",
                                                     "isDeprecated": False}]}

#: name, argv, tackerclient's client method -> its answer, (our registry, method) -> answer
CASES = [
    ("vnflcm list", [], "list_vnf_instances", [sol003.vnf_instance(VNF)],
     ("vnfs", "list_vnfs"), [VNF]),
    ("vnflcm show", ["vnf-1"], "show_vnf_instance", sol003.vnf_instance(VNF),
     ("vnfs", "get_vnf"), VNF),
    ("vnflcm show", ["vnf-2"], "show_vnf_instance", sol003.vnf_instance(INSTANTIATED),
     ("vnfs", "get_vnf"), INSTANTIATED),
    ("vnflcm create", ["vnfd-1"], "create_vnf_instance", sol003.vnf_instance(VNF),
     ("vnfs", "create_vnf"), VNF),
    ("vnflcm op list", [], "list_vnf_lcm_op_occs", [sol003.op_occ(OP)],
     ("lcm", "list_op_occs"), [OP]),
    ("vnflcm op list", ["--exclude-fields", "Operation"], "list_vnf_lcm_op_occs",
     [sol003.op_occ(OP)], ("lcm", "list_op_occs"), [OP]),
    ("vnflcm op show", ["op-1"], "show_vnf_lcm_op_occs", sol003.op_occ(OP),
     ("lcm", "get_op_occ"), OP),
    ("vnflcm versions", [], "show_vnf_lcm_versions", VERSIONS, ("lcm", "versions"),
     VERSIONS),
    ("vnf package list", [], "list_vnf_packages",
     {"vnf_packages": [sol003.vnf_package(PACKAGE)]}, ("packages", "list_packages"),
     [PACKAGE]),
    *[("vnf package list", argv, "list_vnf_packages",
       {"vnf_packages": [sol003.vnf_package(PACKAGE)]}, ("packages", "list_packages"),
       [PACKAGE])
      for argv in (["--all_fields"], ["--exclude_default"], ["--fields", "checksum"],
                   ["--exclude_fields", "checksum"],
                   ["--fields", "softwareImages", "--exclude_default"])],
    ("vnf package show", ["pkg-1"], "show_vnf_package", sol003.vnf_package(PACKAGE),
     ("packages", "get_package"), PACKAGE),
    ("vnf package create", [], "create_vnf_package", sol003.vnf_package(PACKAGE),
     ("packages", "create_package"), PACKAGE),
    ("vnf package update", ["pkg-1", "--operational-state", "DISABLED",
                            "--user-data", "a=1"],
     "update_vnf_package", {"operationalState": "DISABLED", "userDefinedData": {"a": "1"}},
     ("packages", "update_package"), PACKAGE),
]


def their_columns(name, argv, method, answer):
    command = their_command(name)
    setattr(command.app.client_manager.tackerclient, method,
            mock.Mock(return_value=answer))
    parsed = command.get_parser(f"openstack {name}").parse_args(argv)
    return list(command.take_action(parsed)[0])


def our_columns(monkeypatch, capsys, name, argv, target, answer):
    registry, method = target
    fake = SimpleNamespace(vnfs=mock.Mock(), lcm=mock.Mock(), packages=mock.Mock())
    getattr(getattr(fake, registry), method).return_value = answer
    monkeypatch.setattr(shell.ClientManager, "nfv", property(lambda self: fake))
    code = shell.main([*name.split(), *argv, "-f", "json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    shown = json.loads(out)
    return list(shown[0] if isinstance(shown, list) else shown)


def _id(case) -> str:
    values = getattr(case, "values", case)
    return f"{values[0]} {' '.join(values[1])}".strip()


@pytest.mark.parametrize("name, argv, method, answer, target, model", CASES,
                         ids=[_id(c) for c in CASES])
def test_tackerclients_columns_come_first(nfv_home, monkeypatch, capsys, name, argv,
                                          method, answer, target, model):
    theirs = their_columns(name, argv, method, answer)
    ours = our_columns(monkeypatch, capsys, name, argv, target, model)
    assert ours[:len(theirs)] == theirs
