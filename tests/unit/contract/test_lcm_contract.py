"""One contract, two backends: local LCM and a Tacker server's v2 VNF LCM API.

The same expectations run against the local packages, instances and LCM
(real store and vault, Keystone over requests-mock, a spawner that starts
nothing) and against the remote ones talking to a small in-memory Tacker
(``/vnfpkgm/v1`` and ``/vnflcm/v2``) over requests-mock.

Both run asynchronously, like a real Tacker and a real worker: the FakeTacker
answers 202 to rollback, retry and cancel and moves the occurrence one state
per GET afterwards, the first GETs still showing the state from before the
request; the local backend's "worker" is the real plan runner on stand-in
steps, started on the first pause of a ``wait``. A :class:`Driver` per
backend plays what the test does not request: an operation failing, or a
cancel arriving while a step runs.
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
from nfvlib.exceptions import Unsupported
from nfvlib.lcm.catalog import LocalPackages, LocalVnfs
from nfvlib.lcm.engine import PlanRunner, Step
from nfvlib.lcm.local import LocalLcm
from nfvlib.remote.http import TackerApi
from nfvlib.remote.lcm import RemoteLcm, RemotePackages, RemoteVnfs
from tests.unit.conftest import FakeClock, vim_config

TACKER = "http://tacker.test:9890"
SAMPLE = Path(nfvlib.__file__).parent / "samples" / "sample_vnf"
REQUEST = {"flavourId": "simple", "instantiationLevelId": "instantiation_level_1"}
ACTIVE = ("STARTING", "PROCESSING", "ROLLING_BACK")


def problem(context, status, detail):
    context.status_code = status
    return {"title": "Error", "status": status, "detail": detail}


#: How many GETs after an accepted request still show the state from before it
#: (a real Tacker moves a moment later; the request's own read-back is one).
STALE_GETS = 2
#: What an accepted request then does to an occurrence, one state per GET:
#: (action, state before) -> states after
SCRIPTS = {
    ("rollback", "FAILED_TEMP"): ["ROLLING_BACK", "ROLLED_BACK"],
    ("retry", "FAILED_TEMP"): ["PROCESSING", "COMPLETED"],
    ("cancel", "STARTING"): ["ROLLED_BACK"],
    ("cancel", "PROCESSING"): ["FAILED_TEMP"],
    ("cancel", "ROLLING_BACK"): ["FAILED_TEMP"],
}


class FakeTacker:
    """Just enough of Tacker: package onboarding, VNF instances, occurrences.

    Rollback and retry (of FAILED_TEMP) and cancel (of STARTING, PROCESSING or
    ROLLING_BACK, as SOL003 has it; Tacker's v2 API itself has no cancel route)
    answer 202 and play :data:`SCRIPTS` on the GETs after the first
:data:`STALE_GETS`; anything else is
    409. Fail is synchronous (200 and the FAILED occurrence), as in Tacker.
    """

    def __init__(self, mocker) -> None:
        self.packages: dict[str, dict] = {}
        self.vnfs: dict[str, dict] = {}
        self.occs: dict[str, dict] = {}
        #: occurrence id -> states still to enter, one per GET
        self.pending: dict[str, list[str]] = {}
        self._tick = 0
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
        if verb is None:
            queue = self.pending.pop(occ_id, None)
            if queue:  # None: this GET shows no change yet
                self.enter(occ, queue[0])
                if queue[1:]:
                    self.pending[occ_id] = queue[1:]
            return occ
        state = occ["operationState"]
        if verb == "fail":
            if state != "FAILED_TEMP":
                return problem(context, 409, f"Operation state {state} is not "
                                             "FAILED_TEMP.")
            self.enter(occ, "FAILED")
            return occ
        script = SCRIPTS.get((verb, state))
        if script is None or occ_id in self.pending:
            return problem(context, 409, f"Cannot {verb} an operation in state {state}.")
        if verb == "cancel":
            occ.update(isCancelPending=True, cancelMode=request.json()["cancelMode"])
        self.pending[occ_id] = [None] * STALE_GETS + script
        context.status_code = 202
        return None

    def enter(self, occ, state):
        """Set the state, as the conductor does; None leaves it (a stale GET)."""
        if state is None:
            return
        self._tick += 1
        occ.update(operationState=state,
                   stateEnteredTime=f"2024-01-01T00:{self._tick // 60:02d}:"
                                    f"{self._tick % 60:02d}Z")
        if state in ("COMPLETED", "FAILED", "ROLLED_BACK", "FAILED_TEMP"):
            occ["isCancelPending"] = False


class LocalDriver:
    """The local worker: the real plan runner on stand-in steps, run in-process.

    The spawner only queues occurrences; they run on the next pause of a
    ``wait`` (as a detached worker would, meanwhile) or when a test plays one.
    """

    def __init__(self, store) -> None:
        self.store = store
        self.clock = FakeClock()
        self.queued: list[str] = []
        self.failing = False
        self.during_first_step = None
        self.seen = None

    def spawn(self, op_id: str) -> None:
        self.queued.append(op_id)

    def sleep(self, seconds: float) -> None:
        self.clock.sleep(seconds)
        self.run_queued()

    def run_queued(self) -> None:
        while self.queued:
            PlanRunner(self.store, self.plans, clock=self.clock,
                       renew=False).run(self.queued.pop(0))

    def plans(self, op):
        """Steps named as the occurrence's journal: the second fails on demand."""
        def do(index):
            def run(ctx):
                if index == 0 and self.during_first_step is not None:
                    action, self.during_first_step = self.during_first_step, None
                    self.seen = action()
                if index == 1 and self.failing:
                    raise RuntimeError("Heat said CREATE_FAILED")
            return run
        return [Step(s.name, do(i), lambda ctx: None) for i, s in enumerate(op.steps)]

    # -- what tests play --------------------------------------------------------
    def fail_operation(self, op_id: str) -> None:
        """The started operation runs and fails: it ends FAILED_TEMP."""
        self.failing = True
        try:
            self.run_queued()
        finally:
            self.failing = False

    def while_processing(self, op_id: str, action):
        """Run ``action`` while the operation is PROCESSING; return its result."""
        self.during_first_step = action
        self.run_queued()
        return self.seen


class RemoteDriver:
    """The Tacker conductor's side of the FakeTacker."""

    def __init__(self, tacker: FakeTacker) -> None:
        self.tacker = tacker

    def fail_operation(self, op_id: str) -> None:
        occ = self.tacker.occs[op_id]
        self.tacker.enter(occ, "PROCESSING")
        self.tacker.enter(occ, "FAILED_TEMP")

    def while_processing(self, op_id: str, action):
        self.tacker.enter(self.tacker.occs[op_id], "PROCESSING")
        return action()


@pytest.fixture(params=["local", "remote"])
def backend(request, nfv_home, keystone, requests_mock):
    """(packages, vnfs, lcm, driver) of one backend."""
    if request.param == "local":
        client = nfvlib.Client()
        client.vims.register_vim("site", vim_config(), is_default=True)
        packages = LocalPackages(client.store, client.paths.data_dir / "packages")
        vnfs = LocalVnfs(client.store, packages)
        driver = LocalDriver(client.store)
        lcm = LocalLcm(client.store, client.vims, packages, vnfs, spawn=driver.spawn,
                       clock=driver.clock, sleep=driver.sleep)
        yield packages, vnfs, lcm, driver
        client.close()
        return
    tacker = FakeTacker(requests_mock)
    api = TackerApi(ks_session.Session(), endpoint_override=TACKER)
    vnfs = RemoteVnfs(api)
    clock = FakeClock()
    yield (RemotePackages(api, clock=clock, sleep=clock.sleep), vnfs,
           RemoteLcm(api, vnfs=vnfs, clock=clock, sleep=clock.sleep),
           RemoteDriver(tacker))


@pytest.fixture
def vnf(backend):
    packages, vnfs, _, _ = backend
    info = packages.upload_package(packages.create_package().id, SAMPLE)
    assert info.onboarding_state is OnboardingState.ONBOARDED
    created = vnfs.create_vnf(info.vnfd_id, name="v1")
    assert (created.vnfd_id, created.name) == (info.vnfd_id, "v1")
    assert vnfs.get_vnf(created.id).id == created.id
    return created


def test_instantiate_returns_an_occurrence_for_the_vnf(backend, vnf):
    _, _, lcm, _ = backend
    op = lcm.instantiate(vnf.id, REQUEST)
    assert op.vnf_instance_id == vnf.id
    assert op.state in (OpState.STARTING, OpState.PROCESSING)
    assert lcm.get_op_occ(op.id).id == op.id


def test_list_op_occs_filters_by_vnf(backend, vnf):
    _, vnfs, lcm, _ = backend
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
    _, _, lcm, _ = backend
    lcm.instantiate(vnf.id, REQUEST)
    with pytest.raises(Conflict):
        lcm.instantiate(vnf.id, REQUEST)


def test_fail_of_an_occurrence_not_failed_temp_is_a_conflict(backend, vnf):
    _, _, lcm, _ = backend
    op = lcm.instantiate(vnf.id, REQUEST)
    with pytest.raises(Conflict):
        lcm.fail(op.id)


def failed_temp(backend, vnf):
    """An instantiate of ``vnf`` that failed: FAILED_TEMP."""
    _, _, lcm, driver = backend
    op = lcm.instantiate(vnf.id, REQUEST)
    driver.fail_operation(op.id)
    failed = lcm.get_op_occ(op.id)
    assert failed.state is OpState.FAILED_TEMP
    return failed


def test_rollback_of_a_failed_temp_occurrence_ends_rolled_back(backend, vnf):
    _, _, lcm, _ = backend
    op = failed_temp(backend, vnf)
    accepted = lcm.rollback(op.id)
    assert accepted.state in (OpState.FAILED_TEMP, OpState.ROLLING_BACK)
    seen = []
    # Not the FAILED_TEMP from before the rollback: the rollback's own end.
    assert lcm.wait(op.id, timeout=60, progress=seen.append).state is \
        OpState.ROLLED_BACK
    assert OpState.ROLLING_BACK in [o.state for o in seen]
    assert lcm.get_op_occ(op.id).state is OpState.ROLLED_BACK
    with pytest.raises(Conflict):
        lcm.rollback(op.id)


def test_retry_of_a_failed_temp_occurrence_ends_completed(backend, vnf):
    _, _, lcm, _ = backend
    op = failed_temp(backend, vnf)
    accepted = lcm.retry(op.id)
    assert accepted.state in (OpState.FAILED_TEMP, OpState.PROCESSING)
    assert lcm.wait(op.id, timeout=60).state is OpState.COMPLETED
    with pytest.raises(Conflict):
        lcm.retry(op.id)


def test_rollback_and_retry_need_failed_temp(backend, vnf):
    _, _, lcm, _ = backend
    op = lcm.instantiate(vnf.id, REQUEST)
    with pytest.raises(Conflict):
        lcm.rollback(op.id)
    with pytest.raises(Conflict):
        lcm.retry(op.id)
    assert lcm.get_op_occ(op.id).state is OpState.STARTING


def test_fail_of_a_failed_temp_occurrence_is_failed_and_final(backend, vnf):
    _, _, lcm, _ = backend
    op = failed_temp(backend, vnf)
    assert lcm.fail(op.id).state is OpState.FAILED
    assert lcm.wait(op.id, timeout=60).state is OpState.FAILED
    for action in (lcm.fail, lcm.rollback, lcm.retry):
        with pytest.raises(Conflict):
            action(op.id)
    if isinstance(lcm, RemoteLcm):
        return  # Tacker's v2 API has no cancel (see test_cancel_on_tacker_v2...)
    with pytest.raises(Conflict):
        lcm.cancel(op.id)


@pytest.mark.parametrize("backend", ["remote"], indirect=True)  # local mode cancels
def test_cancel_on_tacker_v2_is_unsupported_and_sends_nothing(backend, vnf,
                                                              requests_mock):
    _, _, lcm, _ = backend
    op = lcm.instantiate(vnf.id, REQUEST)
    sent = requests_mock.call_count
    with pytest.raises(Unsupported, match="cannot cancel"):
        lcm.cancel(op.id)
    assert requests_mock.call_count == sent


@pytest.mark.parametrize("backend", ["local"], indirect=True)  # Tacker v2 has no cancel
def test_cancel_of_a_starting_occurrence_ends_rolled_back(backend, vnf):
    _, _, lcm, _ = backend
    op = lcm.instantiate(vnf.id, REQUEST)
    accepted = lcm.cancel(op.id)
    assert accepted.state in (OpState.STARTING, OpState.ROLLED_BACK)
    assert lcm.wait(op.id, timeout=60).state is OpState.ROLLED_BACK
    with pytest.raises(Conflict):
        lcm.cancel(op.id)


@pytest.mark.parametrize("backend", ["local"], indirect=True)  # Tacker v2 has no cancel
def test_cancel_of_a_processing_occurrence_stops_it_failed_temp(backend, vnf):
    _, _, lcm, driver = backend
    op = lcm.instantiate(vnf.id, REQUEST)
    accepted = driver.while_processing(op.id, lambda: lcm.cancel(op.id, "GRACEFUL"))
    assert accepted.state is OpState.PROCESSING
    assert accepted.is_cancel_pending and accepted.cancel_mode == "GRACEFUL"
    stopped = lcm.wait(op.id, timeout=60)
    assert stopped.state is OpState.FAILED_TEMP and not stopped.is_cancel_pending
    assert lcm.rollback(op.id).state in (OpState.FAILED_TEMP, OpState.ROLLING_BACK)
    assert lcm.wait(op.id, timeout=60).state is OpState.ROLLED_BACK
