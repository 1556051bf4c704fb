"""One contract, two backends: local LCM and a Tacker server's v2 VNF LCM API.

The same expectations run against the local packages, instances and LCM
(real store and vault, Keystone over requests-mock, a spawner that starts
nothing) and against the remote ones talking to a small in-memory Tacker
(``/vnfpkgm/v1`` and ``/vnflcm/v2``) over requests-mock.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from keystoneauth1 import session as ks_session
from requests_mock import ANY

import nfvlib
from nfvlib import Conflict, NotFound, OnboardingState, OpState
from nfvlib.lcm.catalog import LocalPackages, LocalVnfs
from nfvlib.lcm.local import LocalLcm
from nfvlib.remote.http import TackerApi
from nfvlib.remote.lcm import RemoteLcm, RemotePackages, RemoteVnfs
from tests.unit.conftest import vim_config

TACKER = "http://tacker.test:9890"
SAMPLE = Path(nfvlib.__file__).parent / "samples" / "sample_vnf"
REQUEST = {"flavourId": "simple", "instantiationLevelId": "instantiation_level_1"}
ACTIVE = ("STARTING", "PROCESSING", "ROLLING_BACK")


def problem(context, status, detail):
    context.status_code = status
    return {"title": "Error", "status": status, "detail": detail}


class FakeTacker:
    """Just enough of Tacker: package onboarding, VNF instances, occurrences."""

    def __init__(self, mocker) -> None:
        self.packages: dict[str, dict] = {}
        self.vnfs: dict[str, dict] = {}
        self.occs: dict[str, dict] = {}
        mocker.register_uri(ANY, re.compile(re.escape(TACKER) + "/"),
                            json=self.answer)

    def answer(self, request, context):
        path, method = request.path, request.method
        if path.startswith("/vnflcm/v2/") and request.headers.get("Version") != "2.0.0":
            return problem(context, 400, "Version header is required")
        if match := re.fullmatch(r"/vnfpkgm/v1/vnf_packages(?:/([^/]+))?(/package_content)?",
                                 path):
            return self.package(method, match.group(1), match.group(2), context)
        if match := re.fullmatch(r"/vnflcm/v2/vnf_instances(?:/([^/]+))?(?:/(\w+))?", path):
            return self.instance(request, match.group(1), match.group(2), context)
        if match := re.fullmatch(r"/vnflcm/v2/vnf_lcm_op_occs(?:/([^/]+))?(?:/(\w+))?",
                                 path):
            return self.occurrence(request, match.group(1), match.group(2), context)
        return problem(context, 404, f"no route for {method} {path}")

    def package(self, method, pkg_id, content, context):
        if method == "POST":
            pkg = {"id": str(uuid.uuid4()), "onboardingState": "CREATED",
                   "operationalState": "DISABLED", "usageState": "NOT_IN_USE"}
            self.packages[pkg["id"]] = pkg
            context.status_code = 201
            return pkg
        if pkg_id is None:
            return list(self.packages.values())
        if pkg_id not in self.packages:
            return problem(context, 404, f"VNF package {pkg_id} not found")
        if content:  # onboarding finishes at once here
            self.packages[pkg_id].update(onboardingState="ONBOARDED",
                                         operationalState="ENABLED",
                                         vnfdId=str(uuid.uuid4()))
            context.status_code = 202
            return None
        return self.packages[pkg_id]

    def instance(self, request, vnf_id, verb, context):
        if request.method == "POST" and vnf_id is None:
            body = request.json()
            vnf = {"id": str(uuid.uuid4()), "vnfdId": body["vnfdId"],
                   "vnfInstanceName": body.get("vnfInstanceName"),
                   "instantiationState": "NOT_INSTANTIATED"}
            self.vnfs[vnf["id"]] = vnf
            context.status_code = 201
            return vnf
        if vnf_id is None:
            return list(self.vnfs.values())
        if vnf_id not in self.vnfs:
            return problem(context, 404, f"VnfInstance {vnf_id} not found.")
        if verb is None:
            return self.vnfs[vnf_id]
        if any(o["vnfInstanceId"] == vnf_id and o["operationState"] in ACTIVE
               for o in self.occs.values()):
            return problem(context, 409, f"Other LCM operation of vnfInstance {vnf_id} "
                                         "is in progress.")
        occ = {"id": str(uuid.uuid4()), "operation": verb.upper(),
               "operationState": "STARTING", "vnfInstanceId": vnf_id,
               "startTime": "2024-01-01T00:00:00Z",
               "stateEnteredTime": "2024-01-01T00:00:00Z",
               "isAutomaticInvocation": False, "isCancelPending": False,
               "operationParams": request.json()}
        self.occs[occ["id"]] = occ
        context.status_code = 202
        context.headers["Location"] = f"{TACKER}/vnflcm/v2/vnf_lcm_op_occs/{occ['id']}"
        return None

    def occurrence(self, request, occ_id, verb, context):
        if occ_id is None:
            query = parse_qs(urlsplit(request.url).query).get("filter", [""])[0]
            terms = re.findall(r"\(eq,(\w+),([^)]*)\)", query)
            return [o for o in self.occs.values()
                    if all(o.get(k) == v for k, v in terms)]
        if occ_id not in self.occs:
            return problem(context, 404, f"VnfLcmOpOcc {occ_id} not found.")
        occ = self.occs[occ_id]
        if verb == "fail":
            if occ["operationState"] != "FAILED_TEMP":
                return problem(context, 409, f"Operation state {occ['operationState']} "
                                             "is not FAILED_TEMP.")
            occ["operationState"] = "FAILED"
        return occ


@pytest.fixture(params=["local", "remote"])
def backend(request, nfv_home, keystone, requests_mock):
    """(packages, vnfs, lcm) of one backend."""
    if request.param == "local":
        client = nfvlib.Client()
        client.vims.register_vim("site", vim_config(), is_default=True)
        packages = LocalPackages(client.store, client.paths.data_dir / "packages")
        vnfs = LocalVnfs(client.store, packages)
        lcm = LocalLcm(client.store, client.vims, packages, vnfs, spawn=lambda _: None)
        yield packages, vnfs, lcm
        client.close()
        return
    FakeTacker(requests_mock)
    api = TackerApi(ks_session.Session(), endpoint_override=TACKER)
    vnfs = RemoteVnfs(api)
    yield (RemotePackages(api, sleep=lambda _: None), vnfs,
           RemoteLcm(api, vnfs=vnfs, sleep=lambda _: None))


@pytest.fixture
def vnf(backend):
    packages, vnfs, _ = backend
    info = packages.upload_package(packages.create_package().id, SAMPLE)
    assert info.onboarding_state is OnboardingState.ONBOARDED
    created = vnfs.create_vnf(info.vnfd_id, name="v1")
    assert (created.vnfd_id, created.name) == (info.vnfd_id, "v1")
    assert vnfs.get_vnf(created.id).id == created.id
    return created


def test_instantiate_returns_an_occurrence_for_the_vnf(backend, vnf):
    _, _, lcm = backend
    op = lcm.instantiate(vnf.id, REQUEST)
    assert op.vnf_instance_id == vnf.id
    assert op.state in (OpState.STARTING, OpState.PROCESSING)
    assert lcm.get_op_occ(op.id).id == op.id


def test_list_op_occs_filters_by_vnf(backend, vnf):
    _, vnfs, lcm = backend
    other = vnfs.create_vnf(vnf.vnfd_id)
    op = lcm.instantiate(vnf.id, REQUEST)
    other_op = lcm.instantiate(other.id, REQUEST)
    assert [o.id for o in lcm.list_op_occs({"vnfInstanceId": vnf.id})] == [op.id]
    assert [o.id for o in lcm.list_op_occs({"vnfInstanceId": other.id})] == [other_op.id]
    assert lcm.list_op_occs({"vnfInstanceId": str(uuid.uuid4())}) == []


def test_unknown_occurrence_is_not_found(backend):
    with pytest.raises(NotFound):
        backend[2].get_op_occ(str(uuid.uuid4()))


def test_a_second_operation_while_one_is_active_is_a_conflict(backend, vnf):
    _, _, lcm = backend
    lcm.instantiate(vnf.id, REQUEST)
    with pytest.raises(Conflict):
        lcm.instantiate(vnf.id, REQUEST)


def test_fail_of_an_occurrence_not_failed_temp_is_a_conflict(backend, vnf):
    _, _, lcm = backend
    op = lcm.instantiate(vnf.id, REQUEST)
    with pytest.raises(Conflict):
        lcm.fail(op.id)
