"""The records of both modes against Tacker's own, field by field.

``TACKER_*`` are records as a real Tacker 16 answered them for the sample
VNF (VDU1 in an AutoScalingGroup, VDU2 alone, the project's default VIM) on
the sandbox, ids and timestamps replaced
(tests/functional/contract/test_lcm.py checks them against the server). They are
checked against the same SOL003 schemas as local output; remote mode must
print them unchanged; local mode must give the same fields in the same
shapes for the same instance.
"""

from __future__ import annotations

import importlib


import pytest
from keystoneauth1 import session as ks_session

from nfvlib import sol003
from nfvlib.remote.http import TackerApi
from nfvlib.remote.lcm import RemoteLcm, RemotePackages, RemoteVnfs
from tests.json_shapes import key_paths
from tests.unit.lcm.test_plans import world  # noqa: F401
from tests.unit.test_sol003 import assert_valid

TACKER = "http://tacker.test:9890"
VNF = "9e6bb1a2-0c5e-4b1b-8d62-5b3b3f0e7a11"
PKG = "718e3bd4-04c2-4a7b-bb8b-4d2b1c3c3f0a"
VNFD = "b1bb0ce7-ebca-4fa7-95ed-4840d7000000"
OP = "3c2b8a52-5d0e-4bd2-9c0f-0d4e0b6c1f2e"
SRV1, SRV2 = "5f6a3b7e-1111-4c1d-8e2f-000000000001", "5f6a3b7e-2222-4c1d-8e2f-000000000002"
STACK = "b8a5e8b4-3e40-4c8a-9d9e-6a7f0c2d9a10"
V2 = f"{TACKER}/vnflcm/v2"

_META1 = {"creation_time": "2024-01-01T00:00:05Z",
          "stack_id": f"vnf-{VNF}-VDU1_scale_group-vjgfbqltujs5-n67im5qbfpkv-bn4f/{STACK}",
          "parent_stack_id": f"vnf-{VNF}-VDU1_scale_group-vjgfbqltujs5/{STACK}",
          "parent_resource_name": "n67im5qbfpkv", "flavor": "m1.tiny",
          "image-VDU1": "cirros-0.5.2-x86_64-disk"}
_META2 = {"creation_time": "2024-01-01T00:00:04Z", "stack_id": f"vnf-{VNF}/{STACK}",
          "flavor": "m1.tiny", "image-VDU2": "cirros-0.5.2-x86_64-disk"}
_NFV = {"VDU": {"VDU1": {"desired_capacity": 1, "computeFlavourId": "m1.tiny",
                         "vcImageId": "cirros-0.5.2-x86_64-disk"},
                "VDU2": {"computeFlavourId": "m1.tiny",
                         "vcImageId": "cirros-0.5.2-x86_64-disk"}}}


def _compute(server):
    return {"vimConnectionId": "default", "resourceId": server,
            "vimLevelResourceType": "OS::Nova::Server"}


TACKER_VNF = {
    "id": VNF, "vnfInstanceName": "v",
    "vnfdId": VNFD, "vnfProvider": "Company", "vnfProductName": "Sample VNF",
    "vnfSoftwareVersion": "1.0", "vnfdVersion": "1.0",
    "vimConnectionInfo": {"default": {
        "vimId": "33e99763-1624-4370-853a-13be7cf8be61",
        "vimType": "ETSINFV.OPENSTACK_KEYSTONE.V_3",
        "interfaceInfo": {"endpoint": "http://keystone.test:5000/v3",
                          "skipCertificateHostnameCheck": True,
                          "skipCertificateVerification": True},
        "accessInfo": {"username": "nfv", "region": "RegionOne", "project": "nfv",
                       "projectDomain": "Default", "userDomain": "Default"},
        "extra": {}}},
    "instantiationState": "INSTANTIATED",
    "instantiatedVnfInfo": {
        "flavourId": "simple", "vnfState": "STARTED",
        "scaleStatus": [{"aspectId": "VDU1_scale", "scaleLevel": 0}],
        "maxScaleLevels": [{"aspectId": "VDU1_scale", "scaleLevel": 2}],
        "vnfcResourceInfo": [
            {"id": SRV1, "vduId": "VDU1", "computeResource": _compute(SRV1),
             "vnfcCpInfo": [{"id": f"VDU1_CP1-{SRV1}", "cpdId": "VDU1_CP1",
                             "vnfLinkPortId": "11e536c4-b2ea-4e9d-856b-986084d107d7"}],
             "metadata": _META1},
            {"id": SRV2, "vduId": "VDU2", "computeResource": _compute(SRV2),
             "vnfcCpInfo": [{"id": f"VDU2_CP1-{SRV2}", "cpdId": "VDU2_CP1",
                             "vnfLinkPortId": "01d71253-97e2-4577-88df-1481698d003b"}],
             "metadata": _META2}],
        "vnfVirtualLinkResourceInfo": [{
            "id": "f6b2bb56-4ff1-45f0-a67d-f85eb133f793",
            "vnfVirtualLinkDescId": "internalVL3",
            "networkResource": {"vimConnectionId": "default",
                                "resourceId": "f6b2bb56-4ff1-45f0-a67d-f85eb133f793",
                                "vimLevelResourceType": "OS::Neutron::Net"},
            "vnfLinkPorts": [{
                "id": "11e536c4-b2ea-4e9d-856b-986084d107d7",
                "resourceHandle": {"vimConnectionId": "default",
                                   "resourceId": "11e536c4-b2ea-4e9d-856b-986084d107d7",
                                   "vimLevelResourceType": "OS::Neutron::Port"},
                "cpInstanceId": f"VDU1_CP1-{SRV1}", "cpInstanceType": "VNFC_CP"}, {
                "id": "01d71253-97e2-4577-88df-1481698d003b",
                "resourceHandle": {"vimConnectionId": "default",
                                   "resourceId": "01d71253-97e2-4577-88df-1481698d003b",
                                   "vimLevelResourceType": "OS::Neutron::Port"},
                "cpInstanceId": f"VDU2_CP1-{SRV2}", "cpInstanceType": "VNFC_CP"}]}],
        "vnfcInfo": [
            {"id": f"VDU1-{SRV1}", "vduId": "VDU1", "vnfcResourceInfoId": SRV1,
             "vnfcState": "STARTED"},
            {"id": f"VDU2-{SRV2}", "vduId": "VDU2", "vnfcResourceInfoId": SRV2,
             "vnfcState": "STARTED"}],
        "metadata": {"stack_id": STACK, "nfv": _NFV, "tenant": "nfv"}},
    "_links": {"self": {"href": f"{V2}/vnf_instances/{VNF}"},
               "terminate": {"href": f"{V2}/vnf_instances/{VNF}/terminate"},
               "scale": {"href": f"{V2}/vnf_instances/{VNF}/scale"},
               "heal": {"href": f"{V2}/vnf_instances/{VNF}/heal"},
               "changeExtConn": {"href": f"{V2}/vnf_instances/{VNF}/change_ext_conn"}},
}
TACKER_OP = {
    "id": OP, "operationState": "FAILED_TEMP",
    "stateEnteredTime": "2024-01-01T00:01:10Z", "startTime": "2024-01-01T00:01:00Z",
    "vnfInstanceId": VNF, "grantId": "867456b8-6849-46d6-b4b1-5cecba20bf7b",
    "operation": "SCALE", "isAutomaticInvocation": False,
    "operationParams": {"type": "SCALE_OUT", "aspectId": "VDU1_scale",
                        "numberOfSteps": 1},
    "isCancelPending": False,
    "error": {"title": "Stack update failed", "status": 422,
              "detail": "Resource UPDATE failed: ..."},
    "resourceChanges": {"affectedVnfcs": [
        {"id": SRV1, "vduId": "VDU1", "changeType": "ADDED",
         "computeResource": _compute(SRV1), "metadata": _META1,
         "affectedVnfcCpIds": [f"VDU1_CP1-{SRV1}"]}]},
    "_links": {"self": {"href": f"{V2}/vnf_lcm_op_occs/{OP}"},
               "vnfInstance": {"href": f"{V2}/vnf_instances/{VNF}"},
               "retry": {"href": f"{V2}/vnf_lcm_op_occs/{OP}/retry"},
               "rollback": {"href": f"{V2}/vnf_lcm_op_occs/{OP}/rollback"},
               "fail": {"href": f"{V2}/vnf_lcm_op_occs/{OP}/fail"}},
}
PKGM = f"{TACKER}/vnfpkgm/v1/vnf_packages/{PKG}"
TACKER_PACKAGE = {
    "onboardingState": "ONBOARDED", "usageState": "IN_USE", "id": PKG,
    "operationalState": "ENABLED", "userDefinedData": {"team": "core"},
    "vnfdVersion": "1.0", "vnfdId": VNFD, "vnfSoftwareVersion": "1.0",
    "vnfProductName": "Sample VNF", "vnfProvider": "Company",
    "checksum": {"algorithm": "sha512", "hash": "ab" * 64},
    "_links": {"self": {"href": f"/vnfpkgm/v1/vnf_packages/{PKG}"},
               "packageContent": {"href": f"/vnfpkgm/v1/vnf_packages/{PKG}/package_content"}},
}


def test_the_schemas_take_tackers_records():
    assert_valid("VnfInstance", TACKER_VNF)
    assert_valid("VnfLcmOpOcc", TACKER_OP)
    assert_valid("VnfPkgInfo", TACKER_PACKAGE)


@pytest.fixture
def remote(requests_mock):
    requests_mock.get(f"{V2}/vnf_instances/{VNF}", json=TACKER_VNF)
    requests_mock.get(f"{V2}/vnf_lcm_op_occs/{OP}", json=TACKER_OP)
    requests_mock.get(PKGM, json=TACKER_PACKAGE)
    api = TackerApi(ks_session.Session(), endpoint_override=TACKER)
    vnfs = RemoteVnfs(api)
    return vnfs, RemoteLcm(api, vnfs=vnfs), RemotePackages(api)


def test_remote_mode_prints_tackers_records_with_secrets_masked(remote):
    vnfs, lcm, packages = remote
    assert sol003.vnf_instance(vnfs.get_vnf(VNF)) == TACKER_VNF
    assert sol003.op_occ(lcm.get_op_occ(OP)) == TACKER_OP
    assert sol003.vnf_package(packages.get_package(PKG)) == TACKER_PACKAGE


def shape(value):
    """The JSON shape of a value: key sets of objects, the first item of arrays."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def _without(paths, *prefixes):
    return {(p, t) for p, t in paths if not any(p[:len(x)] == x for x in prefixes)}


def test_local_vnf_instance_has_tackers_fields_in_tackers_shapes(world):  # noqa: F811
    vnf = world.instantiated()
    local = sol003.vnf_instance(world.vnfs.get_vnf(vnf.id))
    assert_valid("VnfInstance", local)
    # Every key path of Tacker's record, and no other but two: the sample's
    # stack has outputs (nfvkit's own metadata key) and local mode links
    # operate (Tacker 16 does not).
    extra = (("instantiatedVnfInfo", "metadata", "stackOutputs"), ("_links", "operate"))
    assert _without(key_paths(local), *extra) == key_paths(TACKER_VNF)
    assert {p for p, _ in key_paths(local) - key_paths(TACKER_VNF)} >= set(extra)
    info, tacker_info = local["instantiatedVnfInfo"], TACKER_VNF["instantiatedVnfInfo"]
    for key in ("flavourId", "vnfState", "scaleStatus", "maxScaleLevels"):
        assert info[key] == tacker_info[key], key
    # the ASG member's VNFC names its group stack and member as Tacker does
    (member,) = [r for r in info["vnfcResourceInfo"] if r["vduId"] == "VDU1"]
    assert set(member["metadata"]) == set(_META1)
    assert member["metadata"]["parent_stack_id"].startswith(
        f"vnf-{vnf.id}-VDU1_scale_group-")
    (single,) = [r for r in info["vnfcResourceInfo"] if r["vduId"] == "VDU2"]
    assert set(single["metadata"]) == set(_META2)
    assert single["metadata"]["stack_id"] == f"{vnf.stack_name}/{vnf.stack_id}"
    assert set(info["metadata"]) - {"stackOutputs"} == set(tacker_info["metadata"])
    assert set(local["_links"]) == set(TACKER_VNF["_links"]) | {"operate"}


def test_local_virtual_links_and_connection_points_are_the_stacks(world):  # noqa: F811
    """vnfVirtualLinkResourceInfo and vnfcCpInfo name Heat's own networks and
    ports, paired as the sample's templates pair them."""
    vnf = world.instantiated()
    info = sol003.vnf_instance(world.vnfs.get_vnf(vnf.id))["instantiatedVnfInfo"]
    links = {link["vnfVirtualLinkDescId"]: link for link in info["vnfVirtualLinkResourceInfo"]}
    assert set(links) == {"internalVL1", "internalVL2"}
    ports = {}
    for vnfc in info["vnfcResourceInfo"]:
        for cp in vnfc["vnfcCpInfo"]:
            assert cp["id"] == f"{cp['cpdId']}-{vnfc['id']}"
            ports[cp["vnfLinkPortId"]] = (cp["id"], cp["cpdId"])
    assert sorted(cpd for _, cpd in ports.values()) == ["VDU1_CP1", "VDU2_CP1", "VDU2_CP2"]
    on_link = {name: {p["id"]: p["cpInstanceId"] for p in link["vnfLinkPorts"]}
               for name, link in links.items()}
    assert on_link["internalVL1"] == {port: cp for port, (cp, cpd) in ports.items()
                                      if cpd in ("VDU1_CP1", "VDU2_CP1")}
    assert on_link["internalVL2"] == {port: cp for port, (cp, cpd) in ports.items()
                                      if cpd == "VDU2_CP2"}
    # the ids are Heat's physical resource ids of the networks and ports
    physical = {name: set(world.heat.servers(vnf.stack_name, name)) for name in (
        "internalVL1", "internalVL2", "VDU1_CP1", "VDU2_CP1", "VDU2_CP2")}
    assert {links[n]["id"] for n in links} == physical["internalVL1"] | physical["internalVL2"]
    assert set(ports) == physical["VDU1_CP1"] | physical["VDU2_CP1"] | physical["VDU2_CP2"]
    assert {link["networkResource"]["vimLevelResourceType"] for link in links.values()} == {
        "OS::Neutron::Net"}


def test_local_occurrence_has_tackers_fields_in_tackers_shapes(world):  # noqa: F811
    vnf = world.instantiated()
    from tests.unit.lcm.test_plans import FAIL_SCALE_END

    failed = world.done(world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale",
                                        additional_params=FAIL_SCALE_END))
    local = sol003.op_occ(world.lcm.get_op_occ(failed.id))
    ours, theirs = shape(local), shape(TACKER_OP)
    # grantId: local mode asks no NFVO for a grant; a FAILED_TEMP scale that
    # changed no VNFC has no resourceChanges
    assert set(ours) <= set(theirs)
    assert set(theirs) - set(ours) <= {"grantId", "resourceChanges"}
    for key in set(ours) - {"operationParams", "resourceChanges"}:
        assert ours[key] == theirs[key], key
    assert set(local["_links"]) == set(TACKER_OP["_links"])


#: An entry of affectedVirtualLinks as Tacker v2 writes it
#: (lcm_op_occ_utils._make_affected_vl).
TACKER_AFFECTED_VL = {
    "id": "f6b2bb56-4ff1-45f0-a67d-f85eb133f793", "vnfVirtualLinkDescId": "internalVL3",
    "changeType": "ADDED",
    "networkResource": {"vimConnectionId": "default",
                        "resourceId": "f6b2bb56-4ff1-45f0-a67d-f85eb133f793",
                        "vimLevelResourceType": "OS::Neutron::Net"},
    "vnfLinkPortIds": ["01d71253-97e2-4577-88df-1481698d003b"]}


def test_local_resource_changes_have_tackers_entries(world):  # noqa: F811
    vnf = world.instantiated()
    [instantiate] = world.lcm.list_op_occs({"vnfInstanceId": vnf.id})
    changes = sol003.op_occ(instantiate)["resourceChanges"]
    assert_valid("VnfLcmOpOcc", sol003.op_occ(instantiate))
    tacker_vnfc = TACKER_OP["resourceChanges"]["affectedVnfcs"][0]
    for entry in changes["affectedVnfcs"]:
        assert set(entry) == set(tacker_vnfc)
        assert entry["changeType"] == "ADDED"
        assert entry["computeResource"]["vimLevelResourceType"] == "OS::Nova::Server"
    # the VNFCs' records say the same as the instance's
    held = sol003.vnf_instance(world.vnfs.get_vnf(vnf.id))["instantiatedVnfInfo"]
    assert {e["id"]: (e["metadata"], e["affectedVnfcCpIds"])
            for e in changes["affectedVnfcs"]} == {
        r["id"]: (r["metadata"], [cp["id"] for cp in r["vnfcCpInfo"]])
        for r in held["vnfcResourceInfo"]}
    assert {shape_key for e in changes["affectedVirtualLinks"]
            for shape_key in e} == set(TACKER_AFFECTED_VL)
    assert {(e["id"], e["changeType"], tuple(sorted(e["vnfLinkPortIds"])))
            for e in changes["affectedVirtualLinks"]} == {
        (link["id"], "ADDED", tuple(sorted(p["id"] for p in link["vnfLinkPorts"])))
        for link in held["vnfVirtualLinkResourceInfo"]}

    # a scale-out adds a port to a network that stays; a scale-in removes it
    out = world.done(world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale"))
    (added,) = out.resource_changes["affectedVnfcs"]
    (port_added,) = out.resource_changes["affectedVirtualLinks"]
    assert (port_added["changeType"], port_added["vnfVirtualLinkDescId"]) == (
        "LINK_PORT_ADDED", "internalVL1")
    new_port = world.vnfs.get_vnf(vnf.id)
    [cp] = [c for v in new_port.vnfc if v.id == added["id"] for c in v.cps]
    assert port_added["vnfLinkPortIds"] == [cp.port_id]
    back = world.done(world.lcm.scale(vnf.id, "SCALE_IN", "VDU1_scale"))
    (port_removed,) = back.resource_changes["affectedVirtualLinks"]
    assert (port_removed["changeType"], port_removed["vnfLinkPortIds"]) == (
        "LINK_PORT_REMOVED", [cp.port_id])
    # a terminate removes the networks with every port on them
    gone = world.done(world.lcm.terminate(vnf.id, "FORCEFUL"))
    assert {e["changeType"] for e in gone.resource_changes["affectedVirtualLinks"]} == {
        "REMOVED"}
    assert {e["changeType"] for e in gone.resource_changes["affectedVnfcs"]} == {"REMOVED"}


def test_vnflcm_show_in_remote_mode_is_tackers_record_under_tackerclients_columns(
        remote, capsys, requests_mock):
    """``vnflcm show -f json`` through the CLI: Tacker's record, column by column."""
    import json
    from unittest import mock

    from nfvcli import shell

    tc_vnflcm = importlib.import_module("tackerclient.osc.v1.vnflcm.vnflcm")
    vnfs, _, packages = remote
    listed = requests_mock.get(f"{TACKER}/vnfpkgm/v1/vnf_packages", json=[TACKER_PACKAGE])
    for record in (TACKER_VNF, dict(TACKER_VNF, vnfPkgId=PKG)):  # v2, then v1
        vnf = sol003.received(vnfs.get_vnf(VNF), record)
        client = mock.Mock()
        client.vnfs.get_vnf.return_value = vnf
        client.packages = packages
        with mock.patch("nfvcli.common.NfvCommandMixin.nfv", client):
            code = shell.main(["vnflcm", "show", VNF, "-f", "json"])
        out, err = capsys.readouterr()
        assert code == 0, err
        shown = json.loads(out)
        # v2 has no vnfPkgId: the package is the server's one with the vnfdId
        assert shown["VNF Package ID"] == PKG
        assert listed.last_request.qs["filter"] == [f"(eq,vnfdId,{VNFD})".lower()]
        display, attrs = tc_vnflcm._get_columns(record, action="show")
        assert list(shown)[:len(display)] == list(display)
        from nfvcli.vnflcm import _show

        names, _ = _show(vnf)
        assert len(set(names)) == len(names), names
        expected = sol003.vnf_instance(vnf)
        assert {a: shown[d] for d, a in zip(display, attrs)
                if a in expected or shown[d] != ""} == expected


def test_remote_vnfcs_carry_what_local_ones_do(remote):
    """Remote mode reads the same VNFC fields from Tacker's vnfcResourceInfo
    (metadata, vnfcCpInfo, vnfLinkPorts) as local mode reads from Heat."""
    vnfs, _, _ = remote
    by_vdu = {v.vdu_id: v for v in vnfs.get_vnf(VNF).vnfc}
    member, single = by_vdu["VDU1"], by_vdu["VDU2"]
    assert (member.member, member.parent_stack, member.stack, member.created_at) == (
        _META1["parent_resource_name"], _META1["parent_stack_id"], _META1["stack_id"],
        _META1["creation_time"])
    # not a group member: its parent stack is the one holding it, as locally
    assert (single.member, single.parent_stack, single.stack) == (
        None, _META2["stack_id"], _META2["stack_id"])
    (cp,) = single.cps
    assert (cp.cpd_id, cp.port_id, cp.port_type, cp.virtual_link, cp.network_id,
            cp.network_type) == ("VDU2_CP1", "01d71253-97e2-4577-88df-1481698d003b",
                                 "OS::Neutron::Port", "internalVL3",
                                 "f6b2bb56-4ff1-45f0-a67d-f85eb133f793", "OS::Neutron::Net")


def test_vnfc_instances_have_the_same_fields_in_both_modes(world, remote):  # noqa: F811
    """The VNFC Instances column (nfvkit's own) of ``vnflcm show``."""
    import dataclasses
    import json

    vnf = world.instantiated()
    vnfs, _, _ = remote
    ours = json.loads(json.dumps([dataclasses.asdict(v)
                                  for v in world.vnfs.get_vnf(vnf.id).vnfc]))
    theirs = json.loads(json.dumps([dataclasses.asdict(v)
                                    for v in vnfs.get_vnf(VNF).vnfc]))
    assert key_paths(ours) == key_paths(theirs)
    assert ("[]", "cps", "[]", "network_id") in {p for p, _ in key_paths(ours)}
