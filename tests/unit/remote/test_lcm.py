"""Remote VNF packages, instances and LCM operations against requests-mock."""

from __future__ import annotations

import io
import json
import zipfile
from urllib.parse import parse_qs, urlsplit

import pytest
from keystoneauth1 import session as ks_session

from nfvlib.exceptions import (BackendError, Conflict, InvalidInput, NotFound,
                               Unsupported, WaitTimeout)
from nfvlib.lcm.catalog import PackageNotFound, VnfNotFound
from nfvlib.lcm.local import OpOccNotFound
from nfvlib.models import (MASK, InstantiationState, OnboardingState, Operation,
                           OpState)
from nfvlib.remote import lcm as remote_lcm
from nfvlib.remote.http import TackerApi
from nfvlib.remote.lcm import RemoteLcm, RemotePackages, RemoteVnfs, encode_filter
from tests.unit.conftest import FakeClock

TACKER = "http://tacker.test:9890"
PKGS = TACKER + "/vnfpkgm/v1/vnf_packages"
VNFS = TACKER + "/vnflcm/v2/vnf_instances"
OCCS = TACKER + "/vnflcm/v2/vnf_lcm_op_occs"
PKG = "718e5d8a-9f3c-4a8e-b1bb-2a6f1cf3b1a0"
VNF = "99e2bae9-45d3-4ca1-83f4-34d44ca25bee"
OCC = "a790879c-05f9-4475-9c90-1677452d3eb5"


def problem(status, detail):
    return {"title": "Error", "status": status, "detail": detail}


def pkg_wire(**overrides):
    body = {"id": PKG, "onboardingState": "CREATED", "operationalState": "DISABLED",
            "usageState": "NOT_IN_USE", "userDefinedData": {"k": "v"}}
    body.update(overrides)
    return body


def occ_wire(state="STARTING", **overrides):
    body = {"id": OCC, "operationState": state, "stateEnteredTime": "2024-01-01T00:00:01Z",
            "startTime": "2024-01-01T00:00:00Z", "vnfInstanceId": VNF,
            "operation": "INSTANTIATE", "isAutomaticInvocation": False,
            "isCancelPending": False,
            "operationParams": {"flavourId": "simple", "vimConnectionInfo": {"vim1": {
                "vimId": "v-1", "accessInfo": {"password": "devstack"}}}}}
    body.update(overrides)
    return body


VNF_WIRE = {
    "id": VNF, "vnfdId": "vnfd-1", "vnfInstanceName": "sample1",
    "vnfInstanceDescription": "test sample1", "vnfProvider": "Company",
    "vnfProductName": "Sample VNF", "vnfSoftwareVersion": "1.0", "vnfdVersion": "1.0",
    "instantiationState": "INSTANTIATED",
    "vimConnectionInfo": {"vim1": {"vimId": "vim-id-1",
                                   "accessInfo": {"region": "RegionOne"}}},
    "instantiatedVnfInfo": {
        "flavourId": "simple",
        "scaleStatus": [{"aspectId": "VDU1_scale", "scaleLevel": 2}],
        "vnfcInfo": [{"id": "VDU1-srv-1", "vduId": "VDU1", "vnfcResourceInfoId": "res-1",
                      "vnfcState": "STARTED"}],
        "vnfcResourceInfo": [{"id": "res-1", "vduId": "VDU1", "computeResource": {
            "resourceId": "srv-1", "vimConnectionId": "vim1",
            "vimLevelResourceType": "OS::Nova::Server"}}],
        "metadata": {"stack_id": "stack-1"}},
}


@pytest.fixture
def api():
    return TackerApi(ks_session.Session(), endpoint_override=TACKER)


@pytest.fixture
def clock():
    return FakeClock(1000.0)


@pytest.fixture
def packages(api, clock):
    return RemotePackages(api, clock=clock, sleep=clock.sleep, onboard_timeout=10)


@pytest.fixture
def vnfs(api):
    return RemoteVnfs(api)


@pytest.fixture
def lcm(api, vnfs, clock):
    return RemoteLcm(api, vnfs=vnfs, clock=clock, sleep=clock.sleep)


def calls(requests_mock):
    return [(r.method, r.path) for r in requests_mock.request_history]


# -- packages ----------------------------------------------------------------------

def test_create_package_sends_user_defined_data(packages, requests_mock):
    requests_mock.post(PKGS, status_code=201, json=pkg_wire())
    info = packages.create_package({"k": "v"})
    assert requests_mock.last_request.json() == {"userDefinedData": {"k": "v"}}
    assert (info.id, info.onboarding_state, info.user_defined_data) == (
        PKG, OnboardingState.CREATED, {"k": "v"})


def test_upload_zips_a_directory_and_polls_until_onboarded(packages, clock,
                                                           requests_mock, tmp_path):
    (tmp_path / "Definitions").mkdir()
    (tmp_path / "Definitions" / "vnfd.yaml").write_text("tosca: 1\n")
    (tmp_path / "TOSCA-Metadata").mkdir()
    (tmp_path / "TOSCA-Metadata" / "TOSCA.meta").write_text("meta\n")
    requests_mock.put(f"{PKGS}/{PKG}/package_content", status_code=202)
    requests_mock.get(f"{PKGS}/{PKG}", [
        {"json": pkg_wire(onboardingState="UPLOADING")},
        {"json": pkg_wire(onboardingState="PROCESSING")},
        {"json": pkg_wire(onboardingState="ONBOARDED", operationalState="ENABLED",
                          vnfdId="vnfd-1", vnfProvider="Company")}])
    info = packages.upload_package(PKG, tmp_path)
    assert (info.onboarding_state, info.vnfd_id, info.operational_state) == (
        OnboardingState.ONBOARDED, "vnfd-1", "ENABLED")
    put = requests_mock.request_history[0]
    assert (put.method, put.path) == ("PUT", f"/vnfpkgm/v1/vnf_packages/{PKG}/package_content")
    assert put.headers["Content-Type"] == "application/zip"
    names = zipfile.ZipFile(io.BytesIO(put.body)).namelist()
    assert sorted(names) == ["Definitions/vnfd.yaml", "TOSCA-Metadata/TOSCA.meta"]
    assert clock.sleeps == [0.1, pytest.approx(0.15)]


def test_upload_sends_a_zip_file_as_is_and_reports_error(packages, requests_mock, tmp_path):
    archive = tmp_path / "pkg.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("a.yaml", "x")
    requests_mock.put(f"{PKGS}/{PKG}/package_content", status_code=202)
    requests_mock.get(f"{PKGS}/{PKG}", json=pkg_wire(onboardingState="ERROR"))
    with pytest.raises(InvalidInput, match="could not onboard"):
        packages.upload_package(PKG, archive)
    assert requests_mock.request_history[0].body == archive.read_bytes()


def test_upload_that_tacker_reverts_to_created_fails_at_once(packages, clock,
                                                             requests_mock, tmp_path):
    # A real Tacker 16 with a second package of the same vnfdId: the upload
    # is accepted (202), then the conductor sets the package back to CREATED.
    requests_mock.put(f"{PKGS}/{PKG}/package_content", status_code=202)
    requests_mock.get(f"{PKGS}/{PKG}", [
        {"json": pkg_wire(onboardingState="PROCESSING")},
        {"json": pkg_wire(onboardingState="CREATED")}])
    with pytest.raises(InvalidInput, match="went back to CREATED"):
        packages.upload_package(PKG, tmp_path)
    assert clock.now < 1005


def test_upload_of_a_vnfd_id_another_package_has_is_a_conflict(packages, requests_mock):
    # As in local mode: the package that holds the vnfdId is named. Tacker
    # says only that onboarding failed; the client asks which package has it.
    from tests.data import TACKER_SAMPLE

    vnfd_id = "b1bb0ce7-ebca-4fa7-95ed-4840d7000000"
    other = "5a1f6ab0-3c3e-4c62-9a3f-0d4d5f1e2a10"
    requests_mock.put(f"{PKGS}/{PKG}/package_content", status_code=202)
    requests_mock.get(f"{PKGS}/{PKG}", json=pkg_wire(onboardingState="CREATED"))
    listed = requests_mock.get(PKGS, json=[pkg_wire(id=other, vnfdId=vnfd_id,
                                                    onboardingState="ONBOARDED")])
    with pytest.raises(Conflict, match=f"VNF package {other} already has vnfdId {vnfd_id}"):
        packages.upload_package(PKG, TACKER_SAMPLE)
    assert parse_qs(urlsplit(listed.last_request.url).query)["filter"] == [
        f"(eq,vnfdId,{vnfd_id})"]
    listed = requests_mock.get(PKGS, json=[])  # no other package: the cause is unknown
    with pytest.raises(InvalidInput, match="went back to CREATED"):
        packages.upload_package(PKG, TACKER_SAMPLE)


def test_upload_bad_paths_send_nothing(packages, requests_mock, tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(InvalidInput, match="neither a directory nor a zip"):
        packages.upload_package(PKG, tmp_path / "notes.txt")
    with pytest.raises(InvalidInput, match="no VNF package at"):
        packages.upload_package(PKG, tmp_path / "missing")
    assert requests_mock.request_history == []


def test_upload_wait_is_bounded(packages, clock, requests_mock, tmp_path):
    requests_mock.put(f"{PKGS}/{PKG}/package_content", status_code=202)
    requests_mock.get(f"{PKGS}/{PKG}", json=pkg_wire(onboardingState="PROCESSING"))
    with pytest.raises(WaitTimeout, match="still PROCESSING after 10 s"):
        packages.upload_package(PKG, tmp_path)
    assert max(clock.sleeps) == 1.0 and clock.now == pytest.approx(1010.0)


def test_upload_conflict_is_mapped(packages, requests_mock, tmp_path):
    requests_mock.put(f"{PKGS}/{PKG}/package_content", status_code=409,
                      json=problem(409, "onboardingState is not CREATED"))
    with pytest.raises(Conflict, match="onboardingState is not CREATED"):
        packages.upload_package(PKG, tmp_path)


def test_list_get_and_missing_package(packages, requests_mock):
    requests_mock.get(PKGS, json=[pkg_wire(), pkg_wire(id="p2")])
    assert [p.id for p in packages.list_packages()] == [PKG, "p2"]
    fault = {"code": 404, "message": "Can not find requested vnf package: nope"}
    requests_mock.get(f"{PKGS}/nope", status_code=404, json={"itemNotFound": fault})
    with pytest.raises(PackageNotFound, match="Can not find requested vnf package"):
        packages.get_package("nope")


def test_delete_disables_an_enabled_package_first(packages, requests_mock):
    requests_mock.get(f"{PKGS}/{PKG}", json=pkg_wire(onboardingState="ONBOARDED",
                                                     operationalState="ENABLED"))
    requests_mock.patch(f"{PKGS}/{PKG}", json={"operationalState": "DISABLED"})
    requests_mock.delete(f"{PKGS}/{PKG}", status_code=204)
    assert packages.delete_package(PKG).id == PKG
    assert calls(requests_mock) == [("GET", f"/vnfpkgm/v1/vnf_packages/{PKG}"),
                                    ("PATCH", f"/vnfpkgm/v1/vnf_packages/{PKG}"),
                                    ("DELETE", f"/vnfpkgm/v1/vnf_packages/{PKG}")]
    patch = requests_mock.request_history[1]
    assert patch.headers["Content-Type"] == "application/merge-patch+json"
    assert json.loads(patch.body) == {"operationalState": "DISABLED"}


def test_delete_in_use_package_is_a_conflict_without_changes(packages, requests_mock):
    requests_mock.get(f"{PKGS}/{PKG}", json=pkg_wire(usageState="IN_USE",
                                                     operationalState="ENABLED"))
    with pytest.raises(Conflict, match="used by"):
        packages.delete_package(PKG)
    assert calls(requests_mock) == [("GET", f"/vnfpkgm/v1/vnf_packages/{PKG}")]


# -- instances ---------------------------------------------------------------------

def test_create_vnf_sends_v2_header_and_body(vnfs, requests_mock):
    requests_mock.post(VNFS, status_code=201, json=dict(
        VNF_WIRE, instantiationState="NOT_INSTANTIATED", instantiatedVnfInfo=None,
        vimConnectionInfo={}))
    vnf = vnfs.create_vnf("vnfd-1", name="sample1", description="test sample1")
    req = requests_mock.last_request
    assert req.headers["Version"] == "2.0.0"
    assert req.json() == {"vnfdId": "vnfd-1", "vnfInstanceName": "sample1",
                          "vnfInstanceDescription": "test sample1"}
    assert vnf.instantiation_state is InstantiationState.NOT_INSTANTIATED
    assert (vnf.vnfc, vnf.scale_status, vnf.vim_id) == ((), {}, None)


def test_create_vnf_sends_metadata_and_reads_the_users_attributes(vnfs, requests_mock):
    requests_mock.post(VNFS, status_code=201, json=dict(
        VNF_WIRE, instantiationState="NOT_INSTANTIATED", instantiatedVnfInfo=None,
        vimConnectionInfo={}, metadata={"tier": "web", "password": "p"},
        extensions={"e": 1}, vnfConfigurableProperties={"isAutoscaleEnabled": True}))
    vnf = vnfs.create_vnf("vnfd-1", metadata={"tier": "web", "password": "p"})
    assert requests_mock.last_request.json()["metadata"] == {"tier": "web",
                                                             "password": "p"}
    assert vnf.metadata == {"tier": "web", "password": MASK}
    assert vnf.extensions == {"e": 1}
    assert vnf.vnf_configurable_properties == {"isAutoscaleEnabled": True}
    with pytest.raises(InvalidInput, match="metadata must be a JSON object"):
        vnfs.create_vnf("vnfd-1", metadata=["x"])
    assert len(requests_mock.request_history) == 1


def test_create_and_instantiate_checks_the_schema_before_creating(lcm, requests_mock):
    with pytest.raises(InvalidInput, match="localizationLanguage must be a string"):
        lcm.create_and_instantiate("vnfd-1", {"flavourId": "simple",
                                              "localizationLanguage": 5})
    assert requests_mock.request_history == []


def test_create_and_instantiate_deletes_what_the_server_refused(lcm, requests_mock):
    requests_mock.post(VNFS, status_code=201, json=dict(
        VNF_WIRE, instantiationState="NOT_INSTANTIATED", instantiatedVnfInfo=None))
    requests_mock.post(f"{VNFS}/{VNF}/instantiate", status_code=400,
                       json=problem(400, "no such VIM"))
    requests_mock.get(f"{VNFS}/{VNF}", json=dict(
        VNF_WIRE, instantiationState="NOT_INSTANTIATED", instantiatedVnfInfo=None))
    requests_mock.delete(f"{VNFS}/{VNF}", status_code=204)
    with pytest.raises(InvalidInput, match="no such VIM"):
        lcm.create_and_instantiate("vnfd-1", {"flavourId": "simple"}, name="n")
    assert calls(requests_mock) == [
        ("POST", "/vnflcm/v2/vnf_instances"),
        ("POST", f"/vnflcm/v2/vnf_instances/{VNF}/instantiate"),
        ("GET", f"/vnflcm/v2/vnf_instances/{VNF}"),
        ("DELETE", f"/vnflcm/v2/vnf_instances/{VNF}")]


def test_get_vnf_maps_the_instantiated_info(vnfs, requests_mock):
    requests_mock.get(f"{VNFS}/{VNF}", json=VNF_WIRE)
    vnf = vnfs.get_vnf(VNF)
    assert requests_mock.last_request.headers["Version"] == "2.0.0"
    assert (vnf.id, vnf.vnfd_id, vnf.name, vnf.description) == (
        VNF, "vnfd-1", "sample1", "test sample1")
    assert vnf.instantiation_state is InstantiationState.INSTANTIATED
    assert (vnf.vim_id, vnf.region, vnf.flavour_id, vnf.stack_id) == (
        "vim-id-1", "RegionOne", "simple", "stack-1")
    assert vnf.scale_status == {"VDU1_scale": 2}
    (vnfc,) = vnf.vnfc
    assert (vnfc.id, vnfc.vdu_id, vnfc.resource_name, vnfc.resource_type,
            vnfc.status) == ("VDU1-srv-1", "VDU1", "srv-1", "OS::Nova::Server", "STARTED")
    assert (vnf.vnf_provider, vnf.vnf_product_name) == ("Company", "Sample VNF")


def test_get_vnf_by_name_and_missing(vnfs, requests_mock):
    requests_mock.get(f"{VNFS}/sample1", status_code=404, json=problem(404, "no such"))
    requests_mock.get(VNFS, json=[VNF_WIRE])
    assert vnfs.get_vnf("sample1").id == VNF
    requests_mock.get(f"{VNFS}/other", status_code=404,
                      json=problem(404, "VnfInstance other not found."))
    with pytest.raises(VnfNotFound, match="VnfInstance other not found."):
        vnfs.get_vnf("other")


def test_list_follows_link_next(vnfs, requests_mock):
    requests_mock.get(VNFS, [
        {"json": [VNF_WIRE], "headers": {
            "Link": f'<{VNFS}?nextpage_opaque_marker=abc>; rel="next"'}},
        {"json": [dict(VNF_WIRE, id="second")]}])
    assert [v.id for v in vnfs.list_vnfs()] == [VNF, "second"]
    assert requests_mock.last_request.query == "nextpage_opaque_marker=abc"
    assert all(r.headers["Version"] == "2.0.0" for r in requests_mock.request_history)


def test_delete_vnf_and_its_conflict(vnfs, requests_mock):
    requests_mock.get(f"{VNFS}/{VNF}", json=VNF_WIRE)
    requests_mock.delete(f"{VNFS}/{VNF}", status_code=409,
                         json=problem(409, "Vnf instance is instantiated."))
    with pytest.raises(Conflict, match="Vnf instance is instantiated."):
        vnfs.delete_vnf(VNF)
    requests_mock.delete(f"{VNFS}/{VNF}", status_code=204)
    assert vnfs.delete_vnf(VNF).id == VNF
    assert requests_mock.last_request.headers["Version"] == "2.0.0"


# -- operations --------------------------------------------------------------------

def accept(requests_mock, verb, location=f"{OCCS}/{OCC}"):
    requests_mock.post(f"{VNFS}/{VNF}/{verb}", status_code=202,
                       headers={"Location": location})
    requests_mock.get(f"{OCCS}/{OCC}", json=occ_wire())


def test_instantiate_posts_and_reads_the_location(lcm, requests_mock):
    accept(requests_mock, "instantiate")
    op = lcm.instantiate(VNF, {"flavourId": "simple"})
    assert calls(requests_mock) == [
        ("POST", f"/vnflcm/v2/vnf_instances/{VNF}/instantiate"),
        ("GET", f"/vnflcm/v2/vnf_lcm_op_occs/{OCC}")]
    post = requests_mock.request_history[0]
    assert post.json() == {"flavourId": "simple"}
    assert all(r.headers["Version"] == "2.0.0" for r in requests_mock.request_history)
    assert (op.id, op.vnf_instance_id, op.operation, op.state) == (
        OCC, VNF, Operation.INSTANTIATE, OpState.STARTING)
    assert (op.start_time, op.state_entered_time) == (
        "2024-01-01T00:00:00Z", "2024-01-01T00:00:01Z")
    assert op.steps == () and op.step_summary == ""
    access = op.request["vimConnectionInfo"]["vim1"]["accessInfo"]
    assert access["password"] == MASK


def test_instantiate_needs_a_flavour_and_sends_nothing(lcm, requests_mock):
    with pytest.raises(InvalidInput, match="flavourId"):
        lcm.instantiate(VNF, {})
    assert requests_mock.request_history == []


def test_scale_heal_terminate_bodies(lcm, requests_mock):
    for verb in ("scale", "heal", "terminate"):
        accept(requests_mock, verb)
    lcm.scale(VNF, "SCALE_OUT", "VDU1_scale", 2)
    assert requests_mock.request_history[-2].json() == {
        "type": "SCALE_OUT", "aspectId": "VDU1_scale", "numberOfSteps": 2}
    lcm.heal(VNF, ["VDU1-srv-1"], cause="broken", additional_params={"all": True})
    assert requests_mock.request_history[-2].json() == {
        "vnfcInstanceId": ["VDU1-srv-1"], "cause": "broken",
        "additionalParams": {"all": True}}
    lcm.terminate(VNF, "FORCEFUL", 30)
    assert requests_mock.request_history[-2].json() == {
        "terminationType": "FORCEFUL", "gracefulTerminationTimeout": 30}
    with pytest.raises(InvalidInput, match="SCALE_OUT or SCALE_IN"):
        lcm.scale(VNF, "SIDEWAYS", "VDU1_scale")
    with pytest.raises(InvalidInput, match="GRACEFUL or FORCEFUL"):
        lcm.terminate(VNF, "POLITELY")


def test_an_operation_by_vnf_name(lcm, requests_mock):
    requests_mock.post(f"{VNFS}/sample1/terminate", status_code=404,
                       json=problem(404, "not found"))
    requests_mock.get(f"{VNFS}/sample1", status_code=404, json=problem(404, "not found"))
    requests_mock.get(VNFS, json=[VNF_WIRE])
    accept(requests_mock, "terminate")
    assert lcm.terminate("sample1").id == OCC


def test_a_second_operation_is_a_conflict_with_the_detail(lcm, requests_mock):
    requests_mock.post(f"{VNFS}/{VNF}/heal", status_code=409, json=problem(
        409, f"Other LCM operation of vnfInstance {VNF} is in progress."))
    with pytest.raises(Conflict) as info:
        lcm.heal(VNF)
    assert str(info.value) == f"Other LCM operation of vnfInstance {VNF} is in progress."


def test_missing_location_is_a_backend_error(lcm, requests_mock):
    requests_mock.post(f"{VNFS}/{VNF}/instantiate", status_code=202)
    with pytest.raises(BackendError, match="Location"):
        lcm.instantiate(VNF, {"flavourId": "simple"})


def test_unknown_occurrence_is_op_occ_not_found(lcm, requests_mock):
    requests_mock.get(f"{OCCS}/nope", status_code=404,
                      json=problem(404, "VnfLcmOpOcc nope not found."))
    with pytest.raises(OpOccNotFound, match="VnfLcmOpOcc nope not found.") as info:
        lcm.get_op_occ("nope")
    assert isinstance(info.value, NotFound)


def test_list_op_occs_encodes_filters_and_sorts(lcm, requests_mock):
    requests_mock.get(OCCS, json=[
        occ_wire(id="b", startTime="2024-01-02T00:00:00Z"), occ_wire(id="a")])
    ops = lcm.list_op_occs({"operationState": "FAILED_TEMP", "vnfInstanceId": VNF})
    assert [o.id for o in ops] == ["a", "b"]
    query = parse_qs(urlsplit(requests_mock.last_request.url).query)
    assert query == {"filter": [f"(eq,operationState,FAILED_TEMP);(eq,vnfInstanceId,{VNF})"]}
    lcm.list_op_occs()
    assert requests_mock.last_request.query == ""
    with pytest.raises(InvalidInput, match="cannot filter"):
        lcm.list_op_occs({"colour": "red"})


def test_filter_values_with_separators_are_quoted():
    assert encode_filter({"state": OpState.COMPLETED}) == "(eq,operationState,COMPLETED)"
    assert encode_filter({"id": "a,b'c"}) == "(eq,id,'a,b''c')"


@pytest.mark.parametrize("verb", ["rollback", "retry"])
def test_rollback_and_retry_post_then_read(lcm, requests_mock, verb):
    requests_mock.post(f"{OCCS}/{OCC}/{verb}", status_code=202)
    requests_mock.get(f"{OCCS}/{OCC}", json=occ_wire("PROCESSING"))
    assert getattr(lcm, verb)(OCC).state is OpState.PROCESSING
    assert calls(requests_mock)[0] == ("POST", f"/vnflcm/v2/vnf_lcm_op_occs/{OCC}/{verb}")
    assert requests_mock.request_history[0].headers["Version"] == "2.0.0"


def test_fail_returns_the_body_and_conflicts_are_mapped(lcm, requests_mock):
    requests_mock.post(f"{OCCS}/{OCC}/fail", json=occ_wire(
        "FAILED", error=problem(500, "stack create failed")))
    op = lcm.fail(OCC)
    assert op.state is OpState.FAILED and op.error["detail"] == "stack create failed"
    assert calls(requests_mock) == [("POST", f"/vnflcm/v2/vnf_lcm_op_occs/{OCC}/fail")]
    requests_mock.post(f"{OCCS}/{OCC}/fail", status_code=409,
                       json=problem(409, "Operation state PROCESSING is not FAILED_TEMP."))
    with pytest.raises(Conflict, match="not FAILED_TEMP"):
        lcm.fail(OCC)


def test_cancel_is_unsupported_on_v2_and_sends_nothing(lcm, requests_mock):
    # Tacker 16's /vnflcm/v2 has no cancel route (it answers an HTML 404).
    with pytest.raises(Unsupported, match="cannot cancel"):
        lcm.cancel(OCC, "FORCEFUL")
    assert requests_mock.request_history == []
    with pytest.raises(InvalidInput, match="GRACEFUL or FORCEFUL"):
        lcm.cancel(OCC, "NOW")


def test_wait_backs_off_reports_changes_and_returns_failed_temp(lcm, clock, requests_mock):
    states = ["STARTING"] + ["PROCESSING"] * 12 + ["FAILED_TEMP"]
    requests_mock.get(f"{OCCS}/{OCC}", [{"json": occ_wire(s)} for s in states])
    seen = []
    op = lcm.wait(OCC, timeout=60, progress=lambda o: seen.append(o.state.value))
    assert op.state is OpState.FAILED_TEMP
    assert seen == ["STARTING", "PROCESSING", "FAILED_TEMP"]
    assert clock.sleeps[0] == remote_lcm.WAIT_FIRST
    assert clock.sleeps[1] == remote_lcm.WAIT_FIRST  # fast again after a change
    assert clock.sleeps[2] == pytest.approx(remote_lcm.WAIT_FIRST * 1.5)
    assert max(clock.sleeps) == remote_lcm.WAIT_CAP


def test_wait_is_bounded_by_the_timeout(lcm, clock, requests_mock):
    requests_mock.get(f"{OCCS}/{OCC}", json=occ_wire("PROCESSING"))
    with pytest.raises(WaitTimeout, match="still PROCESSING after 5 s") as info:
        lcm.wait(OCC, timeout=5)
    assert info.value.last_seen == "PROCESSING" and info.value.timeout == 5
    assert clock.now == pytest.approx(1005.0)


def test_wait_returns_at_once_on_a_final_state(lcm, clock, requests_mock):
    requests_mock.get(f"{OCCS}/{OCC}", json=occ_wire("COMPLETED"))
    assert lcm.wait(OCC).state is OpState.COMPLETED and clock.sleeps == []


def test_wait_after_rollback_outwaits_the_stale_failed_temp(lcm, clock, requests_mock):
    """Tacker accepts a rollback (202) and leaves FAILED_TEMP only a moment later."""
    requests_mock.post(f"{OCCS}/{OCC}/rollback", status_code=202)
    stale = {"json": occ_wire("FAILED_TEMP")}
    requests_mock.get(f"{OCCS}/{OCC}", [stale, stale, stale, {"json": occ_wire(
        "ROLLING_BACK", stateEnteredTime="2024-01-01T00:00:09Z")},
        {"json": occ_wire("ROLLED_BACK", stateEnteredTime="2024-01-01T00:00:12Z")}])
    assert lcm.rollback(OCC).state is OpState.FAILED_TEMP
    seen = []
    assert lcm.wait(OCC, timeout=60, progress=lambda o: seen.append(o.state.value)
                    ).state is OpState.ROLLED_BACK
    assert seen == ["ROLLING_BACK", "ROLLED_BACK"]
    # The next wait has no rollback to outwait: FAILED_TEMP is an answer again.
    requests_mock.get(f"{OCCS}/{OCC}", json=occ_wire("FAILED_TEMP"))
    assert lcm.wait(OCC, timeout=60).state is OpState.FAILED_TEMP


def test_retry_that_fails_again_quickly_is_seen_by_its_entered_time(lcm, requests_mock):
    requests_mock.post(f"{OCCS}/{OCC}/retry", status_code=202)
    requests_mock.get(f"{OCCS}/{OCC}", [{"json": occ_wire("FAILED_TEMP")}, {
        "json": occ_wire("FAILED_TEMP", stateEnteredTime="2024-01-01T00:00:30Z")}])
    lcm.retry(OCC)
    op = lcm.wait(OCC, timeout=60)
    assert (op.state, op.state_entered_time) == (OpState.FAILED_TEMP,
                                                 "2024-01-01T00:00:30Z")


def test_a_rollback_the_server_never_starts_is_bounded(lcm, clock, requests_mock):
    requests_mock.post(f"{OCCS}/{OCC}/rollback", status_code=202)
    requests_mock.get(f"{OCCS}/{OCC}", json=occ_wire("FAILED_TEMP"))
    lcm.rollback(OCC)
    with pytest.raises(WaitTimeout, match="accepted the rollback but has not started"):
        lcm.wait(OCC, timeout=5)
    assert clock.now == pytest.approx(1005.0)
    lcm.rollback(OCC)
    assert lcm.wait(OCC).state is OpState.FAILED_TEMP  # believed after the grace
    assert clock.now == pytest.approx(1005.0 + remote_lcm.STALE_GRACE)


def test_the_client_gives_the_remote_classes_in_remote_mode(tmp_path):
    import nfvlib

    client = nfvlib.Client("remote", session=ks_session.Session(),
                           endpoint_override=TACKER, env={"NFV_DATA_DIR": str(tmp_path)})
    assert isinstance(client.packages, RemotePackages)
    assert isinstance(client.vnfs, RemoteVnfs)
    assert isinstance(client.lcm, RemoteLcm)
    assert client.lcm is client.lcm
