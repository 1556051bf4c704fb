"""The SOL013 filter grammar in both modes: the same text is evaluated locally and
sent verbatim as ``filter=`` to Tacker (over requests-mock)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from keystoneauth1 import session as ks_session

from nfvlib.exceptions import InvalidInput
from nfvlib.filters import op_occ_record, parse_filter
from nfvlib.models import Operation, OpOcc, OpState
from nfvlib.remote.http import TackerApi
from nfvlib.remote.lcm import RemoteLcm, RemotePackages, RemoteVnfs, V1LcmApi

TACKER = "http://tacker.test:9890"

FILTERS = [
    "(eq,operationState,FAILED_TEMP)",
    "(neq,operation,INSTANTIATE);(in,operationState,FAILED_TEMP,COMPLETED)",
    "(nin,operation,HEAL,INSTANTIATE)",
    "(cont,vnfInstanceId,abc);(ncont,vnfInstanceId,zzz)",
    "(gte,startTime,2024-01-01T00:00:00Z);(lt,startTime,2025-01-01T00:00:00Z)",
    "(gt,stateEnteredTime,2024-01-01);(lte,stateEnteredTime,2030-01-01)",
    "(eq,operationParams/flavourId,simple)",
    "(eq,operationParams/vimConnectionInfo/*/vimId,'v-1,a')",
]


def occ(**changes) -> OpOcc:
    values = dict(id="op-1", vnf_instance_id="abc-1", operation=Operation.SCALE,
                  state=OpState.FAILED_TEMP, start_time="2024-06-01T00:00:00Z",
                  state_entered_time="2024-06-01T00:00:05Z",
                  request={"flavourId": "simple",
                           "vimConnectionInfo": {"vim1": {"vimId": "v-1,a"}}})
    values.update(changes)
    return OpOcc(**values)


@pytest.mark.parametrize("text", FILTERS)
def test_local_evaluator_takes_every_operator(text):
    assert parse_filter(text).matches(op_occ_record(occ()))
    other = occ(operation=Operation.INSTANTIATE, state=OpState.PROCESSING,
                vnf_instance_id="zzz", start_time="2023-01-01T00:00:00Z",
                state_entered_time="2023-01-01", request={})
    assert not parse_filter(text).matches(op_occ_record(other))


@pytest.fixture
def api():
    return TackerApi(ks_session.Session(), endpoint_override=TACKER)


def sent_filter(requests_mock) -> list[str]:
    return [parse_qs(urlsplit(r.url).query).get("filter", [None])[0]
            for r in requests_mock.request_history]


@pytest.mark.parametrize("text", FILTERS)
def test_remote_sends_the_filter_text_to_tacker(api, requests_mock, text):
    requests_mock.get(f"{TACKER}/vnflcm/v2/vnf_lcm_op_occs", json=[])
    requests_mock.get(f"{TACKER}/vnflcm/v2/vnf_instances", json=[])
    requests_mock.get(f"{TACKER}/vnfpkgm/v1/vnf_packages", json=[])
    RemoteLcm(api).list_op_occs(filter=text)
    RemoteVnfs(api).list_vnfs(filter=text)
    RemotePackages(api).list_packages(filter=text)
    assert sent_filter(requests_mock) == [text] * 3
    versions = {r.headers.get("Version") for r in requests_mock.request_history[:2]}
    assert versions == {"2.0.0"}


def test_remote_joins_eq_pairs_and_filter(api, requests_mock):
    requests_mock.get(f"{TACKER}/vnflcm/v2/vnf_lcm_op_occs", json=[])
    RemoteLcm(api).list_op_occs({"vnfInstanceId": "v1"}, filter="(eq,operation,HEAL)")
    assert sent_filter(requests_mock) == ["(eq,vnfInstanceId,v1);(eq,operation,HEAL)"]


@pytest.mark.parametrize("text", ["(like,id,1)", "(eq,id,1,2)", "(eq,id,'x)"])
def test_a_malformed_filter_is_refused_in_both_modes_before_any_request(
        api, requests_mock, text):
    with pytest.raises(InvalidInput):
        RemoteLcm(api).list_op_occs(filter=text)
    with pytest.raises(InvalidInput):
        parse_filter(text)
    assert requests_mock.request_history == []


def test_api_version_1_goes_to_the_v1_paths_without_the_v2_header(api, requests_mock):
    requests_mock.get(f"{TACKER}/vnflcm/v1/vnf_instances", json=[{
        "id": "v1", "vnfdId": "d", "instantiationState": "INSTANTIATED",
        "vimConnectionInfo": [{"id": "vim1", "vimId": "V", "accessInfo": {
            "region": "R"}}]}])
    requests_mock.get(f"{TACKER}/vnflcm/v1/vnf_lcm_op_occs", json=[])
    v1 = V1LcmApi(api)
    (vnf,) = RemoteVnfs(v1).list_vnfs(filter="(eq,id,v1)")
    assert (vnf.vim_id, vnf.region) == ("V", "R")
    RemoteLcm(v1).list_op_occs()
    assert [r.path for r in requests_mock.request_history] == [
        "/vnflcm/v1/vnf_instances", "/vnflcm/v1/vnf_lcm_op_occs"]
    assert all("Version" not in r.headers for r in requests_mock.request_history)
