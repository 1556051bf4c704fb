"""An in-memory Tacker over requests-mock: VIMs, VNF packages and VNF LCM v2.

It answers as Tacker 16 does where a test can tell (see the Tacker notes in
the design documents): VIM errors are HTTP 500 with a typed ``TackerError``
body, a package whose vnfdId another package has goes back to CREATED, a
rollback or retry is accepted (202) while GETs still show FAILED_TEMP for a
moment. Where a real Tacker drives Heat, the fake keeps a small record per
stack (:attr:`FakeTacker.stacks`: status and the members of VDU1's scaling
group) that its operations change as Heat would, so a test can ask "the
stack" of the fake what it asks a real Heat.

Operations run one state per GET of their occurrence: STARTING, then
PROCESSING, then COMPLETED (or FAILED_TEMP for an instantiate of a vnfdId
in :attr:`FakeTacker.failing_vnfds`).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
import zipfile
from urllib.parse import parse_qs, urlsplit

from requests_mock import ANY

TACKER = "http://tacker.test:9890"
#: Occurrence states in which another operation on the VNF is refused
#: (Tacker v2 counts FAILED_TEMP in: the VNF waits for rollback, retry or fail).
ACTIVE = ("STARTING", "PROCESSING", "ROLLING_BACK", "FAILED_TEMP")
#: How many GETs after an accepted rollback or retry still show FAILED_TEMP
#: (a real Tacker moves a moment later; the request's own read-back is one).
STALE_GETS = 2
#: VDU1 members per instantiation level of Tacker's basic_lcms_min sample.
LEVELS = {"instantiation_level_1": 1, "instantiation_level_2": 3}
MAX_MEMBERS = 3
#: What the sample's VNFD says of its product.
PRODUCT = {"vnfProvider": "Company", "vnfProductName": "Sample VNF",
           "vnfSoftwareVersion": "1.0", "vnfdVersion": "1.0"}
_VNFD_ID = re.compile(r"^\s+descriptor_id:\s*([0-9a-f-]{36})\s*$", re.MULTILINE)


def problem(context, status, detail):
    context.status_code = status
    return {"title": "Error", "status": status, "detail": detail}


def tacker_error(context, kind, message, status=500):
    context.status_code = status
    return {"TackerError": {"type": kind, "message": message}}


class FakeTacker:
    """Just enough of a Tacker server for the contract tests.

    ``site``: the VIM config (auth_url, password) whose Keystone the fake
    "reaches"; a registration with another password is refused as
    unauthorized, with another auth_url as unreachable.
    """

    def __init__(self, mocker, site: dict | None = None) -> None:
        self.site = site
        self.vims: dict[str, dict] = {}
        self.packages: dict[str, dict] = {}
        self.vnfs: dict[str, dict] = {}
        self.occs: dict[str, dict] = {}
        #: stack name -> {"stack_status": ..., "members": VDU1 members}
        self.stacks: dict[str, dict] = {}
        #: vnfdIds whose instantiate always fails (as a resource that always fails)
        self.failing_vnfds: set[str] = set()
        #: occurrence id -> states still to enter, one per GET (None: no change yet)
        self.pending: dict[str, list] = {}
        self._tick = 0
        mocker.register_uri(ANY, re.compile(re.escape(TACKER) + "/"), json=self.answer)

    def answer(self, request, context):
        path, method = request.path, request.method
        if match := re.fullmatch(r"/v1\.0/vims(?:/([^/]+))?", path):
            return self.vim(request, match.group(1), context)
        if path.startswith("/vnflcm/v2/") and request.headers.get("Version") != "2.0.0":
            return problem(context, 400, "Version header is required")
        if match := re.fullmatch(r"/vnfpkgm/v1/vnf_packages(?:/([^/]+))?(/package_content)?",
                                 path):
            return self.package(request, match.group(1), match.group(2), context)
        if match := re.fullmatch(r"/vnflcm/v2/vnf_instances(?:/([^/]+))?(?:/(\w+))?", path):
            return self.instance(request, match.group(1), match.group(2), context)
        if match := re.fullmatch(r"/vnflcm/v2/vnf_lcm_op_occs(?:/([^/]+))?(?:/(\w+))?",
                                 path):
            return self.occurrence(request, match.group(1), match.group(2), context)
        return problem(context, 404, f"no route for {method} {path}")

    # -- /v1.0/vims ------------------------------------------------------------------
    def vim(self, request, vim_id, context):
        if request.method == "POST":
            body = request.json()["vim"]
            if self.site is not None:
                if body["auth_url"] != self.site["auth_url"]:
                    return tacker_error(context, "VimConnectionException",
                                        f"Failed to connect to {body['auth_url']}")
                if body["auth_cred"].get("password") != self.site["password"]:
                    return tacker_error(context, "VimUnauthorizedException",
                                        "VIM authentication failed")
            if any(v["name"] == body["name"] for v in self.vims.values()):
                return tacker_error(context, "DuplicateEntity",
                                    f"VIM {body['name']} already exists", status=409)
            if body.get("is_default") and self._default():
                return tacker_error(context, "VimDefaultDuplicateException",
                                    "Default VIM already exists")
            vim = {"id": str(uuid.uuid4()), "tenant_id": "t", "status": "ACTIVE",
                   "placement_attr": {"regions": ["RegionOne", "RegionTwo"]},
                   **{k: v for k, v in body.items() if k != "auth_cred"},
                   "auth_cred": dict(body["auth_cred"], password="***")}
            self.vims[vim["id"]] = vim
            context.status_code = 201
            return {"vim": vim}
        if vim_id is None:
            return {"vims": list(self.vims.values())}
        if vim_id not in self.vims:
            return tacker_error(context, "VimNotFoundException",
                                f"Specified VIM id {vim_id} is invalid")
        if request.method == "PUT":
            changes = json.loads(request.body)["vim"]
            if changes.get("is_default") and self._default() not in (None, vim_id):
                return tacker_error(context, "VimDefaultDuplicateException",
                                    "Default VIM already exists")
            self.vims[vim_id].update(changes)
        if request.method == "DELETE":
            del self.vims[vim_id]
            context.status_code = 204
            return None
        return {"vim": self.vims[vim_id]}

    def _default(self):
        return next((i for i, v in self.vims.items() if v.get("is_default")), None)

    # -- /vnfpkgm/v1 -------------------------------------------------------------------
    def package(self, request, pkg_id, content, context):
        method = request.method
        if method == "POST" and pkg_id is None:
            pkg_id = str(uuid.uuid4())
            pkg = {"id": pkg_id, "onboardingState": "CREATED",
                   "_links": {"self": {"href": f"{TACKER}/vnfpkgm/v1/vnf_packages/"
                                               f"{pkg_id}"}},
                   "operationalState": "DISABLED", "usageState": "NOT_IN_USE",
                   "userDefinedData": request.json().get("userDefinedData") or {}}
            self.packages[pkg["id"]] = pkg
            context.status_code = 201
            return pkg
        if pkg_id is None:
            return list(self.packages.values())
        if pkg_id not in self.packages:
            return problem(context, 404, f"VNF package {pkg_id} not found")
        pkg = self.packages[pkg_id]
        if content:  # onboarding finishes at once here
            if pkg["onboardingState"] != "CREATED":
                return problem(context, 409, f"VNF package {pkg_id} is "
                                             f"{pkg['onboardingState']}")
            vnfd_id = vnfd_id_of(request.body)
            context.status_code = 202
            if any(p.get("vnfdId") == vnfd_id for p in self.packages.values()):
                return None  # as Tacker: accepted, then back to CREATED
            pkg.update(onboardingState="ONBOARDED", operationalState="ENABLED",
                       vnfdId=vnfd_id, **PRODUCT, softwareImages=[],
                       checksum={"algorithm": "SHA-512",
                                 "hash": hashlib.sha512(request.body).hexdigest()})
            pkg["_links"]["packageContent"] = {
                "href": f"{pkg['_links']['self']['href']}/package_content"}
            return None
        if method == "PATCH":
            pkg.update(json.loads(request.body))
            return json.loads(request.body)
        if method == "DELETE":
            if pkg["operationalState"] != "DISABLED" or self._in_use(pkg):
                return problem(context, 409, f"VNF package {pkg_id} is ENABLED or IN_USE")
            del self.packages[pkg_id]
            context.status_code = 204
            return None
        return dict(pkg, usageState="IN_USE" if self._in_use(pkg) else "NOT_IN_USE")

    def _in_use(self, pkg) -> bool:
        return any(v["vnfdId"] == pkg.get("vnfdId") for v in self.vnfs.values())

    # -- /vnflcm/v2/vnf_instances --------------------------------------------------------
    def instance(self, request, vnf_id, verb, context):
        if request.method == "POST" and vnf_id is None:
            body = request.json()
            if not any(p.get("vnfdId") == body["vnfdId"] for p in self.packages.values()):
                return problem(context, 422, f"VnfPackage {body['vnfdId']} not found")
            vnf_id = str(uuid.uuid4())
            vnf = {"id": vnf_id, "vnfdId": body["vnfdId"],
                   "vnfInstanceName": body.get("vnfInstanceName"),
                   "instantiationState": "NOT_INSTANTIATED", **PRODUCT,
                   "_links": {"self": {"href": f"{TACKER}/vnflcm/v2/vnf_instances/"
                                               f"{vnf_id}"}}}
            self.vnfs[vnf["id"]] = vnf
            context.status_code = 201
            return vnf
        if vnf_id is None:
            return list(self.vnfs.values())
        if vnf_id not in self.vnfs:
            return problem(context, 404, f"VnfInstance {vnf_id} not found.")
        vnf = self.vnfs[vnf_id]
        if request.method == "DELETE":
            if vnf["instantiationState"] != "NOT_INSTANTIATED":
                return problem(context, 409, f"VnfInstance {vnf_id} is INSTANTIATED.")
            del self.vnfs[vnf_id]
            context.status_code = 204
            return None
        if verb is None:
            return vnf
        if any(o["vnfInstanceId"] == vnf_id and o["operationState"] in ACTIVE
               for o in self.occs.values()):
            return problem(context, 409, f"Other LCM operation of vnfInstance {vnf_id} "
                                         "is in progress.")
        wanted = "NOT_INSTANTIATED" if verb == "instantiate" else "INSTANTIATED"
        if vnf["instantiationState"] != wanted:
            return problem(context, 409, f"VnfInstance {vnf_id} instantiationState is "
                                         f"not {wanted}.")
        occ = {"id": str(uuid.uuid4()), "operation": verb.upper(),
               "operationState": "STARTING", "vnfInstanceId": vnf_id,
               "startTime": self._now(), "stateEnteredTime": self._now(),
               "isAutomaticInvocation": False, "isCancelPending": False,
               "operationParams": request.json()}
        occ["_links"] = {
            "self": {"href": f"{TACKER}/vnflcm/v2/vnf_lcm_op_occs/{occ['id']}"},
            "vnfInstance": {"href": f"{TACKER}/vnflcm/v2/vnf_instances/{vnf_id}"}}
        self.occs[occ["id"]] = occ
        self.pending[occ["id"]] = ["PROCESSING", self._outcome(occ)]
        context.status_code = 202
        context.headers["Location"] = f"{TACKER}/vnflcm/v2/vnf_lcm_op_occs/{occ['id']}"
        return None

    def _outcome(self, occ) -> str:
        vnf = self.vnfs[occ["vnfInstanceId"]]
        if occ["operation"] == "INSTANTIATE" and vnf["vnfdId"] in self.failing_vnfds:
            return "FAILED_TEMP"
        return "COMPLETED"

    # -- /vnflcm/v2/vnf_lcm_op_occs ------------------------------------------------------
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
            if queue:
                self.enter(occ, queue[0])
                if queue[1:]:
                    self.pending[occ_id] = queue[1:]
            return occ
        state = occ["operationState"]
        if state != "FAILED_TEMP" or occ_id in self.pending:
            return problem(context, 409, f"Cannot {verb} an operation in state {state}.")
        if verb == "fail":  # synchronous in Tacker: 200 and the FAILED occurrence
            self.enter(occ, "FAILED")
            return occ
        if verb == "rollback":
            script = ["ROLLING_BACK", "ROLLED_BACK"]
        elif verb == "retry":
            script = ["PROCESSING", self._outcome(occ)]
        else:
            return problem(context, 404, f"no route for {verb}")
        self.pending[occ_id] = [None] * STALE_GETS + script
        context.status_code = 202
        return None

    # -- what the conductor and Heat would do ---------------------------------------------
    def enter(self, occ, state):
        """Set the state and apply its effects; None leaves it (a stale GET)."""
        if state is None:
            return
        self._tick += 1
        occ.update(operationState=state, stateEnteredTime=self._now())
        vnf = self.vnfs[occ["vnfInstanceId"]]
        stack = f"vnf-{vnf['id']}"
        params = occ["operationParams"]
        if occ["operation"] == "INSTANTIATE":
            if state == "PROCESSING":
                self.stacks[stack] = {"stack_status": "CREATE_IN_PROGRESS",
                                      "members": LEVELS[params["instantiationLevelId"]]}
            elif state == "FAILED_TEMP":
                self.stacks[stack]["stack_status"] = "CREATE_FAILED"
            elif state == "ROLLED_BACK":
                self.stacks.pop(stack, None)
            elif state == "COMPLETED":
                self.stacks[stack]["stack_status"] = "CREATE_COMPLETE"
                self._instantiated(vnf, params)
        elif occ["operation"] == "SCALE" and state == "COMPLETED":
            steps = int(params.get("numberOfSteps") or 1)
            delta = steps if params["type"] == "SCALE_OUT" else -steps
            members = min(max(self.stacks[stack]["members"] + delta, 1), MAX_MEMBERS)
            self.stacks[stack].update(members=members, stack_status="UPDATE_COMPLETE")
            self._set_vnfcs(vnf, members)
        elif occ["operation"] == "TERMINATE" and state == "COMPLETED":
            self.stacks.pop(stack, None)
            vnf["instantiationState"] = "NOT_INSTANTIATED"
            vnf.pop("instantiatedVnfInfo", None)
        if state in ("COMPLETED", "FAILED", "ROLLED_BACK", "FAILED_TEMP"):
            occ["isCancelPending"] = False

    def _instantiated(self, vnf, params):
        vnf.update(instantiationState="INSTANTIATED", instantiatedVnfInfo={
            "flavourId": params["flavourId"], "vnfState": "STARTED",
            "metadata": {"stack_id": str(uuid.uuid4())}})
        self._set_vnfcs(vnf, LEVELS[params["instantiationLevelId"]])

    def _set_vnfcs(self, vnf, members):
        info = vnf["instantiatedVnfInfo"]
        info["scaleStatus"] = [{"aspectId": "VDU1_scale", "scaleLevel": members - 1}]
        info["vnfcResourceInfo"] = [
            {"id": str(uuid.uuid4()), "vduId": vdu,
             "computeResource": {"resourceId": str(uuid.uuid4()),
                                 "vimLevelResourceType": "OS::Nova::Server"}}
            for vdu in ["VDU1"] * members + ["VDU2"]]

    def _now(self) -> str:
        return f"2024-01-01T00:{self._tick // 60:02d}:{self._tick % 60:02d}Z"


def vnfd_id_of(content: bytes) -> str:
    """The VNFD's ``descriptor_id`` in a package zip (its Definitions)."""
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        for name in archive.namelist():
            if name.startswith("Definitions/") and name.endswith((".yaml", ".yml")):
                match = _VNFD_ID.search(archive.read(name).decode())
                if match:
                    return match.group(1)
    raise AssertionError("the package has no descriptor_id")
