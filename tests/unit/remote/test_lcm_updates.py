"""Remote package update and downloads, VNF info update, change-ext-conn and versions:
the requests sent to Tacker (requests-mock)."""

from __future__ import annotations

import json

import pytest
from keystoneauth1 import session as ks_session

from nfvlib.exceptions import InvalidInput
from nfvlib.lcm.catalog import PackageNotFound
from nfvlib.remote.http import TackerApi
from nfvlib.remote.lcm import RemoteLcm, RemotePackages, RemoteVnfs

TACKER = "http://tacker.test:9890"
PKGS = TACKER + "/vnfpkgm/v1/vnf_packages"
VNFS = TACKER + "/vnflcm/v2/vnf_instances"
OCCS = TACKER + "/vnflcm/v2/vnf_lcm_op_occs"
PKG, VNF, OCC = "pkg-1", "vnf-1", "occ-1"
PKG_WIRE = {"id": PKG, "onboardingState": "ONBOARDED", "operationalState": "DISABLED",
            "usageState": "NOT_IN_USE", "userDefinedData": {"a": "1"}}
VNF_WIRE = {"id": VNF, "vnfdId": "d", "instantiationState": "NOT_INSTANTIATED",
            "vnfInstanceName": "new"}
OCC_WIRE = {"id": OCC, "operationState": "STARTING", "vnfInstanceId": VNF,
            "operation": "CHANGE_EXT_CONN", "startTime": "t", "stateEnteredTime": "t"}


@pytest.fixture
def api():
    return TackerApi(ks_session.Session(), endpoint_override=TACKER)


def test_update_package_patches_a_merge_patch(api, requests_mock):
    patch = requests_mock.patch(f"{PKGS}/{PKG}", json={"operationalState": "DISABLED"})
    requests_mock.get(f"{PKGS}/{PKG}", json=PKG_WIRE)
    info = RemotePackages(api).update_package(PKG, operational_state="DISABLED",
                                              user_defined_data={"a": "1"})
    assert info.operational_state == "DISABLED"
    assert patch.last_request.headers["Content-Type"] == "application/merge-patch+json"
    assert json.loads(patch.last_request.body) == {"operationalState": "DISABLED",
                                                   "userDefinedData": {"a": "1"}}
    with pytest.raises(InvalidInput, match="nothing to update"):
        RemotePackages(api).update_package(PKG)


def test_downloads_ask_for_the_right_content(api, requests_mock):
    content = requests_mock.get(f"{PKGS}/{PKG}/package_content", content=b"PK\x03\x04")
    vnfd = requests_mock.get(f"{PKGS}/{PKG}/vnfd", text="tosca: 1\n",
                             headers={"Content-Type": "text/plain"})
    artifact = requests_mock.get(f"{PKGS}/{PKG}/artifacts/Scripts/a%20b.sh",
                                 content=b"#!")
    packages = RemotePackages(api)
    assert packages.download_package(PKG) == b"PK\x03\x04"
    assert content.last_request.headers["Accept"] == "application/zip"
    assert packages.download_vnfd(PKG, "both") == "tosca: 1\n"
    assert vnfd.last_request.headers["Accept"] == "text/plain,application/zip"
    assert packages.download_artifact(PKG, "Scripts/a b.sh") == b"#!"
    assert artifact.called
    requests_mock.get(f"{PKGS}/nope/package_content", status_code=404,
                      json={"status": 404, "detail": "not found"})
    with pytest.raises(PackageNotFound):
        packages.download_package("nope")


def test_update_vnf_patches_and_reads_back(api, requests_mock):
    requests_mock.get(f"{VNFS}/{VNF}", json=VNF_WIRE)
    patch = requests_mock.patch(f"{VNFS}/{VNF}", status_code=202,
                                headers={"Location": f"{OCCS}/{OCC}"})
    vnf = RemoteVnfs(api).update_vnf(VNF, {"vnfInstanceName": "new"})
    assert vnf.name == "new"
    assert patch.last_request.headers["Version"] == "2.0.0"
    assert patch.last_request.headers["Content-Type"] == "application/merge-patch+json"
    assert json.loads(patch.last_request.body) == {"vnfInstanceName": "new"}


def test_change_ext_conn_and_versions(api, requests_mock):
    post = requests_mock.post(f"{VNFS}/{VNF}/change_ext_conn", status_code=202,
                              headers={"Location": f"{OCCS}/{OCC}"})
    requests_mock.get(f"{OCCS}/{OCC}", json=OCC_WIRE)
    body = {"extVirtualLinks": [{"id": "e", "resourceId": "net"}]}
    op = RemoteLcm(api).change_ext_conn(VNF, body)
    assert op.id == OCC and json.loads(post.last_request.body) == body
    with pytest.raises(InvalidInput, match="extVirtualLinks"):
        RemoteLcm(api).change_ext_conn(VNF, {})
    answer = {"uriPrefix": "/vnflcm", "apiVersions": [{"version": "1.3.0"},
                                                      {"version": "2.0.0"}]}
    versions = requests_mock.get(f"{TACKER}/vnflcm/api_versions", json=answer)
    assert RemoteLcm(api).versions() == answer
    assert versions.last_request.headers["Version"] == "2.0.0"
    requests_mock.get(f"{TACKER}/vnflcm/v1/api_versions", json={"uriPrefix": "/vnflcm/v1"})
    assert RemoteLcm(api).versions(1) == {"uriPrefix": "/vnflcm/v1"}


def test_create_from_a_disabled_package_is_a_conflict_as_in_local_mode(api, requests_mock):
    from nfvlib.exceptions import Conflict

    requests_mock.post(VNFS, status_code=422, json={
        "title": "Unprocessable Entity", "status": 422,
        "detail": "VnfId d not ENABLED."})
    packages = requests_mock.get(PKGS, json=[PKG_WIRE])
    with pytest.raises(Conflict, match=f"VNF package {PKG} .* is DISABLED"):
        RemoteVnfs(api).create_vnf("d")
    from urllib.parse import parse_qs, urlsplit

    assert parse_qs(urlsplit(packages.last_request.url).query) == {"filter": ["(eq,vnfdId,d)"]}
    # Another 422 stays what Tacker said.
    requests_mock.get(PKGS, json=[dict(PKG_WIRE, operationalState="ENABLED")])
    with pytest.raises(InvalidInput, match="not ENABLED"):
        RemoteVnfs(api).create_vnf("d")
