"""CHANGE_VNFPKG and FALLBACK as execution plans (seed 001, clauses 5.2-5.3).

CHANGE_VNFPKG (SOL003 ChangeCurrentVnfPkgRequest: ``vnfdId``,
``additionalParams``) moves an instance to another package of the same VNF:

=========================  =====================================================
prepare                    validate request (same flavour, every VDU mapped),
                           validate template (Heat's ``POST /validate``),
                           estimate resources (members added/removed per VDU
                           against the VIM's limits, Smm.010), collect
                           rollback data (the stack's template, files,
                           environment and parameter, Smm.013), create
                           restoration point
deploy                     update stack (PUT: the new BaseHOT, files and
                           ``nfv``), wait for stack; with
                           ``additionalParams.upgrade_type: RollingUpdate``
                           then, per ``vdu_params`` entry, update stack <VDU>,
                           wait for stack <VDU> and the coordinate script
test                       the Tester (Smm.006): ``additionalParams.tester``
                           (``{"script": <file in the new package>}`` or
                           ``{"http": <url>, "expect_status": 200}``, with
                           ``timeout``), else the new package's
                           ``change_current_package_test`` script; its
                           progress goes to the journal (Smm.011). A failure
                           rolls the occurrence back at once.
commit                     the instance refers to the new package; the
                           restoration point is released unless
                           ``additionalParams.keep_restoration_point``
                           (Smm.009)
=========================  =====================================================

Rollback undoes what ran, newest first (Smm.008): the stack gets its old
template, files, environment and parameter back (PUT), the point is
released, and the instance keeps (or gets back) its old package.

FALLBACK (an nfvkit extension, not SOL003) restores a restoration point
forcefully: Heat restores the stack snapshot, then the instance record is
the point's copy. What changed after the point is lost; it cannot be
rolled back.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import TYPE_CHECKING, Any, Callable

from nfvlib import sol003
from nfvlib.exceptions import (Conflict, InvalidInput, RestorationPointNotFound,
                               ScriptFailed, TesterFailed)
from nfvlib.lcm.engine import StepContext
from nfvlib.models import InstantiationState, VnfInstance

if TYPE_CHECKING:
    from nfvlib.lcm.plans import SpecEntry
    from nfvlib.models import RestorationPoint

#: Seconds a tester may run unless the request says otherwise.
TEST_TIMEOUT = 300.0
#: The Vnflcm event naming a package's tester script.
TEST_EVENT = "change_current_package_test"
ROLLING = "RollingUpdate"
_REQUEST_KEYS = {"vnfdId", "extVirtualLinks", "extManagedVirtualLinks",
                 "vimConnectionInfo", "additionalParams", "extensions",
                 "vnfConfigurableProperties"}


# -- request --------------------------------------------------------------
def check_request(request: Any) -> dict[str, Any]:
    """The ChangeCurrentVnfPkgRequest as a dict, or InvalidInput naming the fault."""
    if not isinstance(request, dict):
        raise InvalidInput("the change-vnfpkg request must be a JSON object with vnfdId")
    unknown = sorted(set(request) - _REQUEST_KEYS)
    if unknown:
        raise InvalidInput(f"ChangeCurrentVnfPkgRequest has no field "
                           f"{', '.join(unknown)}", hint="use vnfdId and additionalParams")
    vnfd_id = request.get("vnfdId")
    if not isinstance(vnfd_id, str) or not vnfd_id or len(vnfd_id) > 255:
        raise InvalidInput("ChangeCurrentVnfPkgRequest: $.vnfdId must name the vnfdId "
                           "of an onboarded package",
                           hint="see the packages with 'vnf package list'")
    params = request.get("additionalParams", {})
    if not isinstance(params, dict):
        raise InvalidInput("ChangeCurrentVnfPkgRequest: $.additionalParams must be an "
                           "object")
    if params.get("upgrade_type", ROLLING) != ROLLING:
        raise InvalidInput(f"additionalParams.upgrade_type {params['upgrade_type']!r} "
                           f"is not supported", hint=f"use {ROLLING} or leave it out")
    vdu_params = params.get("vdu_params", [])
    if not isinstance(vdu_params, list) or not all(
            isinstance(v, dict) and isinstance(v.get("vdu_id"), str) for v in vdu_params):
        raise InvalidInput("additionalParams.vdu_params must be a list of objects with "
                           "a vdu_id")
    tester = params.get("tester")
    if tester is not None and not (isinstance(tester, dict) and (
            isinstance(tester.get("script"), str) or isinstance(tester.get("http"), str))):
        raise InvalidInput("additionalParams.tester must be {\"script\": <file in the "
                           "package>} or {\"http\": <url>}")
    timeout = (tester or {}).get("timeout", TEST_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise InvalidInput("additionalParams.tester.timeout must be seconds > 0")
    return dict(request)


def check_packages(old: Any, new: Any, vnf: VnfInstance, request: dict[str, Any]) -> None:
    """InvalidInput unless ``new`` can replace ``old`` for this instance.

    Same flavour, and every VDU of the instance's flavour is in the new one
    (VDUs are mapped by id); rolling-update VDUs must exist.
    """
    flavour_id = vnf.flavour_id
    if request["vnfdId"] == vnf.vnfd_id:
        raise InvalidInput(f"VNF instance {vnf.id} already uses vnfdId {vnf.vnfd_id}")
    new_flavour = new.flavours.get(flavour_id)
    if new_flavour is None:
        raise InvalidInput(f"the package of vnfdId {request['vnfdId']} has no flavour "
                           f"{flavour_id}, which VNF instance {vnf.id} runs",
                           hint="change-vnfpkg keeps the flavour")
    missing = sorted(set(old.flavours[flavour_id].vdus) - set(new_flavour.vdus))
    if missing:
        raise InvalidInput(f"flavour {flavour_id} of vnfdId {request['vnfdId']} has no "
                           f"VDU {', '.join(missing)}",
                           hint="the new package must keep every VDU of the instance")
    rolled = [v["vdu_id"] for v in rolling_vdus(request)]
    unknown = sorted(set(rolled) - set(new_flavour.vdus))
    if unknown:
        raise InvalidInput(f"additionalParams.vdu_params names VDU {', '.join(unknown)}, "
                           f"which flavour {flavour_id} does not have")


def rolling_vdus(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The VDUs to update one by one (empty unless a rolling update is asked)."""
    params = request.get("additionalParams") or {}
    if params.get("upgrade_type") != ROLLING:
        return []
    return list(params.get("vdu_params") or [])


# -- the plans ------------------------------------------------------------
def spec(request: dict[str, Any]) -> list[SpecEntry]:
    """CHANGE_VNFPKG's steps (names known from the request alone)."""
    from nfvlib.lcm import plans

    rolling: list[SpecEntry] = []
    coordinate = (request.get("additionalParams") or {}).get(
        "lcm-operation-coordinate-new-vnf")
    for entry in rolling_vdus(request):
        vdu = entry["vdu_id"]
        rolling += [(f"update stack {vdu}", _vdu_update(vdu), None),
                    (f"wait for stack {vdu}", plans._wait_stack, None)]
        if coordinate:
            rolling.append((f"run coordinate script {vdu}", _coordinate(vdu), None))
    return [("validate request", _validate, _restore_record),
            ("validate template", _validate_template, None),
            ("estimate resources", _estimate, None),
            ("collect rollback data", _collect, None),
            ("create restoration point", _take_point, _release_point),
            ("update stack", _deploy, _undeploy),
            ("wait for stack", plans._wait_stack, None),
            *rolling,
            ("test", _test, None),
            ("commit", _commit, None)]


def fallback_spec() -> list[SpecEntry]:
    """FALLBACK's steps: none can be undone."""
    return [("validate request", _validate_fallback, None),
            ("restore snapshot", _restore, None),
            ("wait for stack", _wait_restore, None),
            ("record instance", _record_fallback, None)]


#: Steps whose failure rolls the occurrence back at once.
ROLLBACK_ON_FAILURE = frozenset({"test"})
#: Steps that are not idempotent: a tester or a package's script may do
#: anything; a second restore request while Heat restores is refused.
_NOT_IDEMPOTENT = frozenset({"test", "restore snapshot"})


def idempotent(operation: Any, name: str) -> bool:
    """Whether running the step again has the same effect as running it once.

    The others read Heat, compute, or send an absolute request (a PUT of the
    whole template, a snapshot looked up by its name first).
    """
    return name not in _NOT_IDEMPOTENT and not name.startswith("run ")


# -- helpers --------------------------------------------------------------
def _new_package(env: Any) -> Any:
    packages = env.services.packages
    return packages.load(packages.package_for_vnfd(env.op.request["vnfdId"]))


def _stack(data: dict[str, Any]) -> dict[str, Any]:
    return {"stack_name": data["stack_name"], "id": data["stack_id"]}


def _vnf_nfv(env: Any, new: Any, vnf: VnfInstance, request: dict[str, Any]
             ) -> dict[str, Any]:
    """The new package's ``nfv`` parameter, keeping the instance's capacities and CPs.

    Built as an instantiation of the new package at the instance's level,
    then the instance's current ``desired_capacity`` per VDU and its CP
    entries are kept where the new templates read them, then
    ``additionalParams.nfv`` is merged over it (RFC 7386).
    """
    from nfvlib.lcm import heat_params, plans, secrets
    from nfvlib.packages import nfv_parameter_paths

    flavour_id = plans._flavour_id(vnf)
    nfv = heat_params.build_instantiate_nfv(
        new, flavour_id, {"instantiationLevelId": vnf.instantiation_level_id})
    old = secrets.unseal(vnf.instantiated_info.get("nfv") or {},
                         env.services.vims.vault)
    paths = nfv_parameter_paths(new.base_hot[new.flavours[flavour_id].flavour_id])
    keep: dict[str, Any] = {}
    for vdu, values in (old.get("VDU") or {}).items():
        if ("VDU", vdu, "desired_capacity") in paths and "desired_capacity" in values:
            keep.setdefault("VDU", {})[vdu] = {"desired_capacity":
                                               values["desired_capacity"]}
    if isinstance(old.get("CP"), dict) and isinstance(nfv.get("CP"), dict):
        keep["CP"] = {k: v for k, v in old["CP"].items() if k in nfv["CP"]}
    nfv = heat_params.json_merge_patch(nfv, keep)
    patch = (request.get("additionalParams") or {}).get("nfv")
    if patch is not None:
        if not isinstance(patch, dict):
            raise InvalidInput("additionalParams.nfv must be a JSON object")
        nfv = heat_params.json_merge_patch(nfv, patch)
    return nfv


# -- prepare --------------------------------------------------------------
def _validate(ctx: StepContext, env: Any) -> None:
    from nfvlib.lcm import plans

    vnf = env.vnf()
    ctx.data.update(plans._placement(vnf))
    if "prev" in ctx.data:  # a retry keeps what the first run saw
        return
    if vnf.instantiation_state is not InstantiationState.INSTANTIATED:
        raise Conflict(f"VNF instance {vnf.id} is not INSTANTIATED")
    request = env.request()
    new = _new_package(env)
    check_packages(env.package(), new, vnf, request)
    info = env.services.packages.package_for_vnfd(request["vnfdId"])
    ctx.data.update(
        flavour_id=vnf.flavour_id,
        prev={"package_id": vnf.package_id, "vnfd_id": vnf.vnfd_id,
              "nfv": vnf.instantiated_info.get("nfv", {})},
        new_package_id=info.id,
        nfv=env.seal(_vnf_nfv(env, new, vnf, request)))
    ctx.save()


def _new_stack_input(env: Any, data: dict[str, Any]
                     ) -> tuple[str, dict[str, str], dict[str, Any]]:
    from nfvlib.lcm import heat_params, plans

    new = _new_package(env)
    environment, vim_files = plans._stack_environment(env, data)
    files = {**heat_params.stack_files(new, data["flavour_id"]), **vim_files}
    return heat_params.top_template(new, data["flavour_id"]), files, environment


def _validate_template(ctx: StepContext, env: Any) -> None:
    template, files, environment = _new_stack_input(env, ctx.data)
    answer = env.heat(ctx.data).validate_template(template, files=files,
                                                  environment=environment)
    ctx.note(f"Heat accepted the new template ({len(answer.get('Parameters') or {})} "
             "parameter(s))")


def _estimate(ctx: StepContext, env: Any) -> None:
    """Members per VDU before and after, and whether the VIM's limits allow it."""
    from nfvlib.lcm import plans, secrets

    vnf = env.vnf()
    before: dict[str, int] = {}
    for c in plans._current_vnfcs(ctx, env, vnf, vnf.flavour_id):
        before[c.vdu_id] = before.get(c.vdu_id, 0) + 1
    nfv = secrets.unseal(ctx.data["nfv"], env.services.vims.vault)
    after: dict[str, int] = {}
    for vdu in _new_package(env).flavours[vnf.flavour_id].vdus:
        value = ((nfv.get("VDU") or {}).get(vdu) or {}).get("desired_capacity")
        after[vdu] = int(value) if value is not None else before.get(vdu, 1)
    delta = {vdu: after.get(vdu, 0) - before.get(vdu, 0)
             for vdu in sorted(set(before) | set(after))}
    ctx.data["estimate"] = {"before": before, "after": after, "delta": delta}
    added = sum(d for d in delta.values() if d > 0)
    text = ", ".join(f"{v} {before.get(v, 0)}->{after.get(v, 0)}" for v in delta)
    free = _free_instances(env, ctx.data)
    if free is None:
        ctx.note(f"estimated members per VDU: {text}; the VIM offers no compute limits "
                 "(Heat only): estimate not checked")
        ctx.data["estimate"]["limits"] = None
        return
    ctx.data["estimate"]["limits"] = {"free_instances": free}
    if added > free:
        raise Conflict(f"the new package needs {added} more server(s) ({text}) but the "
                       f"VIM allows {free} more instance(s)",
                       hint="free capacity or raise the project's quota, then retry")
    ctx.note(f"estimated members per VDU: {text}; the VIM allows {free} more instance(s)")


def _free_instances(env: Any, data: dict[str, Any]) -> int | None:
    """Instances the VIM's compute limits still allow, or None without Nova."""
    from keystoneauth1 import exceptions as ks_exc

    try:
        resp = env.session(data).get("/limits", endpoint_filter={
            "service_type": "compute", "interface": "public",
            "region_name": data.get("region")}, raise_exc=False)
    except (ks_exc.EndpointNotFound, ks_exc.ConnectionError):
        return None
    if resp.status_code != 200:
        return None
    absolute = (resp.json().get("limits") or {}).get("absolute") or {}
    limit, used = absolute.get("maxTotalInstances"), absolute.get("totalInstancesUsed")
    if not isinstance(limit, int) or limit < 0 or not isinstance(used, int):
        return None
    return max(limit - used, 0)


def _collect(ctx: StepContext, env: Any) -> None:
    """What a rollback needs to put the stack back (Smm.013)."""
    from nfvlib.exceptions import HeatError
    from nfvlib.lcm import heat_params, plans

    if "rollback" in ctx.data:
        return
    heat = env.heat(ctx.data)
    stack = heat.get_stack(plans._stack_ref(ctx.data))
    environment, vim_files = plans._stack_environment(env, ctx.data)
    old = env.package()
    template = heat.get_template(stack)
    if not isinstance(template, dict) or not template.get("resources"):
        raise HeatError(f"Heat gave no template for stack {stack.get('stack_name')}: "
                        "nothing to roll back to, so nothing is deployed")
    ctx.data["rollback"] = {
        "template": template,
        "files": {**heat_params.stack_files(old, ctx.data["flavour_id"]), **vim_files},
        "environment": environment}
    ctx.data["prev"]["stack_status"] = stack.get("stack_status")
    ctx.save()


def _take_point(ctx: StepContext, env: Any) -> None:
    from nfvlib.lcm import restoration

    began = time.monotonic()
    point = restoration.take(env.heat(ctx.data), env.services.store, env.vnf(),
                             name=f"before CHANGE_VNFPKG {ctx.op.id}", op_id=ctx.op.id,
                             clock=env.services.clock, transaction=ctx.transaction)
    ctx.data["point_id"] = point.id
    ctx.note(f"restoration point {point.id} (snapshot {point.snapshot_id}, "
             f"{point.size} bytes) in {time.monotonic() - began:.2f} s")


def _release_point(ctx: StepContext, env: Any) -> None:
    """On rollback: the point (or a snapshot never recorded) goes, unless kept."""
    from nfvlib.lcm import restoration

    if (env.request().get("additionalParams") or {}).get("keep_restoration_point"):
        return
    restoration.release_op_snapshot(env.heat(ctx.data), env.services.store, env.vnf(),
                                    ctx.op.id, transaction=ctx.transaction)


# -- deploy ---------------------------------------------------------------
def _deploy(ctx: StepContext, env: Any) -> None:
    """PUT the new template, files and ``nfv`` (rolling VDUs keep their old values)."""
    from nfvlib.lcm import plans

    heat = env.heat(ctx.data)
    stack = heat.get_stack(plans._stack_ref(ctx.data))
    heat.wait_until_quiet(stack)
    template, files, environment = _new_stack_input(env, ctx.data)
    nfv = json.loads(env.heat_nfv(ctx.data["nfv"]))
    prev = json.loads(env.heat_nfv(ctx.data["prev"]["nfv"]))
    for entry in rolling_vdus(env.request()):
        vdu = entry["vdu_id"]
        old = (prev.get("VDU") or {}).get(vdu)
        if old is not None and vdu in (nfv.get("VDU") or {}):
            keep = nfv["VDU"][vdu].get("desired_capacity")
            nfv["VDU"][vdu] = dict(old, **({"desired_capacity": keep}
                                           if keep is not None else {}))
    heat.update_stack(stack, template=template, files=files, environment=environment,
                      parameters={"nfv": json.dumps(nfv)}, patch=False)
    ctx.data.update(expect="UPDATE", deployed_nfv=env.seal(nfv))
    ctx.data.pop("waited", None)


def _vdu_update(vdu: str) -> Callable[[StepContext, Any], None]:
    def run(ctx: StepContext, env: Any) -> None:
        from nfvlib.lcm import plans

        heat = env.heat(ctx.data)
        stack = heat.get_stack(plans._stack_ref(ctx.data))
        heat.wait_until_quiet(stack)
        nfv = json.loads(env.heat_nfv(ctx.data["deployed_nfv"]))
        target = json.loads(env.heat_nfv(ctx.data["nfv"]))
        nfv.setdefault("VDU", {})[vdu] = (target.get("VDU") or {}).get(vdu)
        heat.update_stack(stack, parameters={"nfv": json.dumps(nfv)})
        ctx.data.update(expect="UPDATE", deployed_nfv=env.seal(nfv))
        ctx.data.pop("waited", None)
    return run


def _coordinate(vdu: str) -> Callable[[StepContext, Any], None]:
    def run(ctx: StepContext, env: Any) -> None:
        from nfvlib.packages.vnfd import LifecycleScript

        script = (env.request().get("additionalParams") or {})[
            "lcm-operation-coordinate-new-vnf"]
        output = _run_package_script(ctx, env, LifecycleScript(
            event="coordinate", file=script), "change_current_package_coordinate",
            TEST_TIMEOUT, {"vdu_id": vdu})
        ctx.note(f"{script} after {vdu}: {output}")
    return run


def _undeploy(ctx: StepContext, env: Any) -> None:
    """Put the old template, files, environment and parameter back (PUT)."""
    from nfvlib.exceptions import HeatError
    from nfvlib.lcm import plans

    saved = ctx.data.get("rollback")
    if saved is None:
        return  # never collected, so never deployed
    heat = env.heat(ctx.data)
    stack = heat.get_stack(plans._stack_ref(ctx.data))
    heat.wait_until_quiet(stack)
    heat.update_stack(stack, template=saved["template"], files=saved["files"],
                      environment=saved["environment"],
                      parameters={"nfv": env.heat_nfv(ctx.data["prev"]["nfv"])},
                      patch=False)
    try:
        heat.wait_for_stack(plans._stack_ref(ctx.data), "UPDATE",
                            timeout=plans.STACK_TIMEOUT, stall=plans.stall_limit())
    except HeatError as exc:
        raise HeatError(f"putting the old template back failed: {exc.message}",
                        stack_status=exc.stack_status, reason=exc.reason,
                        hint="fall back with 'vnflcm fallback'") from exc


# -- test -----------------------------------------------------------------
def _run_package_script(ctx: StepContext, env: Any, script: Any, event: str,
                        timeout: float, extra: dict[str, Any] | None = None) -> str:
    from nfvlib.lcm import scripts, secrets

    request = env.request()
    vnf = env.vnf()
    params = {"vnf_instance_id": vnf.id, "vnf_instance_name": vnf.name,
              "op_occ_id": ctx.op.id, "operation": ctx.op.operation.value,
              "vim_id": vnf.vim_id or "", "region": vnf.region or "",
              "flavour_id": vnf.flavour_id or "", "stack_id": vnf.stack_id or "",
              "vnfd_id": request["vnfdId"],
              "stack_outputs": ctx.data.get("stack_outputs") or {},
              "additional_params": request.get("additionalParams") or {}, **(extra or {})}
    hidden = secrets.secret_values(params["additional_params"])
    try:
        output = scripts.run_script(_new_package(env).path, script, event, params,
                                    timeout=timeout)
    except ScriptFailed as exc:
        raise TesterFailed(secrets.scrub(str(exc), hidden)) from None
    return scripts.tail(secrets.scrub(output, hidden)) or "(no output)"


def _test(ctx: StepContext, env: Any) -> None:
    """The Tester's verdict on the upgraded VNF, with progress in the journal."""
    from nfvlib.packages.vnfd import LifecycleScript

    params = env.request().get("additionalParams") or {}
    tester = params.get("tester") or {}
    timeout = float(tester.get("timeout", TEST_TIMEOUT))
    began = time.monotonic()
    progress: dict[str, Any] = {"status": "RUNNING", "attempts": 0}
    ctx.data["tester"] = progress
    ctx.save()
    if "http" in tester:
        _probe(ctx, tester, timeout, progress)
        how = f"HTTP probe {tester['http']}"
    else:
        if "script" in tester:
            script = LifecycleScript(event=TEST_EVENT, file=tester["script"])
        else:
            flavour = _new_package(env).flavours[env.vnf().flavour_id]
            script = flavour.lifecycle.get(TEST_EVENT)
        if script is None:
            progress.update(status="SKIPPED")
            ctx.note("no tester declared (additionalParams.tester or the package's "
                     f"{TEST_EVENT} script): nothing tested")
            return
        progress["attempts"] = 1
        _report(ctx, f"running {script.file} (at most {timeout:g} s)")
        try:
            output = _run_package_script(ctx, env, script, TEST_EVENT, timeout)
        except TesterFailed as exc:
            progress.update(status="FAILED", detail=str(exc))
            ctx.save()
            raise TesterFailed(f"the tester failed: {exc}") from None
        how = f"{script.file}: {output}"
    progress.update(status="PASSED", seconds=round(time.monotonic() - began, 2))
    _report(ctx, f"passed in {time.monotonic() - began:.2f} s")
    ctx.note(f"tester passed in {time.monotonic() - began:.2f} s ({how})")


def _report(ctx: StepContext, text: str) -> None:
    """The tester's progress, in the step's journal entry (Smm.011)."""
    if hasattr(ctx, "report_progress"):
        ctx.report_progress(text)


def _probe(ctx: StepContext, tester: dict[str, Any], timeout: float,
           progress: dict[str, Any]) -> None:
    import requests

    want = int(tester.get("expect_status", 200))
    interval = float(tester.get("interval", 1.0))
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        ctx.check_cancel(forceful_only=False)
        if hasattr(ctx, "check_suspend"):
            ctx.check_suspend()  # a suspend stops the tester between probes
        progress["attempts"] += 1
        try:
            resp = requests.get(tester["http"], timeout=min(10.0, timeout))
            last = f"HTTP {resp.status_code}"
            if resp.status_code == want:
                return
        except requests.RequestException as exc:
            last = type(exc).__name__
        progress["last"] = last
        ctx.save()
        _report(ctx, f"probe {progress['attempts']} of {tester['http']}: {last}")
        if time.monotonic() + interval > deadline:
            progress.update(status="FAILED", detail=last)
            ctx.save()
            raise TesterFailed(f"the tester's probe of {tester['http']} did not answer "
                               f"HTTP {want} within {timeout:g} s (last: {last}, "
                               f"{progress['attempts']} attempt(s))")
        time.sleep(interval)


# -- commit and the record ------------------------------------------------
def _commit(ctx: StepContext, env: Any) -> None:
    """The instance refers to the new package; the point goes unless kept."""
    from nfvlib.lcm import plans, restoration
    from nfvlib.store.restoration import RestorationPointTable

    vnf = env.vnf()
    if vnf.package_id != ctx.data["new_package_id"]:
        vnfcs = plans._current_vnfcs(ctx, env, vnf, vnf.flavour_id)
        info = dict(vnf.instantiated_info, nfv=ctx.data["nfv"],
                    stackOutputs=ctx.data.get("stack_outputs", {}))
        before = plans._saved_vnfcs([dataclasses.asdict(c) for c in vnf.vnfc])
        plans._record(ctx, env, dataclasses.replace(
            vnf, package_id=ctx.data["new_package_id"],
            vnfd_id=env.request()["vnfdId"], instantiated_info=info, vnfc=vnfcs,
            updated_at=env.now()), sol003.resource_changes(before, vnfcs, ctx.data["nfv"]))
    if (env.request().get("additionalParams") or {}).get("keep_restoration_point"):
        ctx.note(f"restoration point {ctx.data.get('point_id')} kept")
        return
    point = RestorationPointTable(env.services.store).by_op(ctx.op.id)
    if point is not None:
        restoration.release(env.heat(ctx.data), env.services.store, point,
                            ctx.transaction)
        ctx.note(f"restoration point {point.id} released")


def _restore_record(ctx: StepContext, env: Any) -> None:
    """On rollback: the instance keeps (or gets back) its old package and parameter."""
    from nfvlib.lcm import plans

    prev = ctx.data.get("prev")
    if prev is None:
        return  # validation failed: nothing changed
    vnf = env.vnf()
    vnfcs = plans._current_vnfcs(ctx, env, vnf, vnf.flavour_id)
    info = dict(vnf.instantiated_info, nfv=prev["nfv"])
    plans._record(ctx, env, dataclasses.replace(
        vnf, package_id=prev["package_id"], vnfd_id=prev["vnfd_id"],
        instantiated_info=info, vnfc=vnfcs, updated_at=env.now()))


# -- fallback -------------------------------------------------------------
def fall_back_to_own_point(ctx: StepContext, env: Any) -> str:
    """An escalation's fallback: restore the point this occurrence took.

    Raises when it took none (it failed before) or Heat lost it.
    """
    from nfvlib.store.restoration import RestorationPointTable

    point = RestorationPointTable(env.services.store).by_op(ctx.op.id)
    if point is None:
        raise Conflict(f"operation occurrence {ctx.op.id} took no restoration point")
    saved = {k: ctx.data.get(k) for k in ("stack_name", "stack_id", "vim_id", "region")}
    ctx.data["fallback_to"] = point.id
    _validate_fallback(ctx, env, point.id)
    _restore(ctx, env)
    _wait_restore(ctx, env)
    _record_fallback(ctx, env)
    ctx.data.update({k: v for k, v in saved.items() if v is not None})
    return f"restoration point {point.id} of {point.created_at}"


def _validate_fallback(ctx: StepContext, env: Any, wanted: str | None = None) -> None:
    from nfvlib.lcm import plans, restoration
    from nfvlib.store.restoration import RestorationPointTable

    vnf = env.vnf()
    ctx.data.update(plans._placement(vnf))
    table = RestorationPointTable(env.services.store)
    wanted = wanted or ctx.op.request.get("restorationPointId")
    point = table.get(wanted) if wanted else table.latest_for(vnf.id)
    if point is None or point.vnf_instance_id != vnf.id:
        raise InvalidInput(f"VNF instance {vnf.id} has no restoration point"
                           + (f" {wanted}" if wanted else ""),
                           hint="list them with 'nfv vnf restoration-point list'")
    ctx.data.update(point_id=point.id, snapshot_id=point.snapshot_id,
                    stack_name=point.stack_name, stack_id=point.stack_id,
                    vim_id=point.vim_id, region=point.region)
    state = restoration.status(env.heat(ctx.data), point)
    if state != restoration.AVAILABLE:
        raise Conflict(f"restoration point {point.id} cannot be restored: "
                       + ("its stack is gone" if state == restoration.STACK_GONE
                          else "Heat no longer has its snapshot"),
                       hint="delete it with 'nfv vnf restoration-point delete'")


def _restore(ctx: StepContext, env: Any) -> None:
    from nfvlib.lcm import plans

    heat = env.heat(ctx.data)
    stack = heat.get_stack(plans._stack_ref(ctx.data))
    if stack.get("stack_status", "").endswith("_IN_PROGRESS"):
        # Forceful: whatever Heat was doing is cancelled or waited out.
        if stack["stack_status"] == "UPDATE_IN_PROGRESS":
            heat.stack_action(stack, "cancel_update")
        heat.wait_until_quiet(stack)
    ctx.data["restore_began"] = time.monotonic()
    heat.restore_snapshot(_stack(ctx.data), ctx.data["snapshot_id"])


def _wait_restore(ctx: StepContext, env: Any) -> None:
    from nfvlib.exceptions import HeatError
    from nfvlib.lcm import plans

    heat = env.heat(ctx.data)
    ref = plans._stack_ref(ctx.data)
    stack = heat.get_stack(ref)
    if stack.get("stack_status") == "RESTORE_FAILED":  # a retry: restore again
        heat.wait_until_quiet(stack)
        heat.restore_snapshot(_stack(ctx.data), ctx.data["snapshot_id"])
    try:
        heat.wait_for_stack(ref, "RESTORE", timeout=plans.STACK_TIMEOUT,
                            stall=plans.stall_limit())
    except HeatError as exc:
        if exc.stack_status is None:
            raise
        reason = heat.failure_reason(heat.get_stack(ref)) or exc.reason
        raise HeatError(f"Heat RESTORE of stack {ctx.data['stack_name']} ended "
                        f"{exc.stack_status}: {reason}", stack_status=exc.stack_status,
                        reason=reason) from exc


def _record_fallback(ctx: StepContext, env: Any) -> None:
    from nfvlib.lcm import plans, restoration
    from nfvlib.store.restoration import RestorationPointTable

    point: RestorationPoint | None = RestorationPointTable(env.services.store).get(
        ctx.data["point_id"])
    if point is None:
        raise RestorationPointNotFound(
            f"restoration point {ctx.data['point_id']} was deleted while the stack was "
            "restored to it: the instance record cannot be restored",
            hint="check the stack in Heat, then fail the operation with 'vnflcm op fail'")
    vnf = env.vnf()
    saved = restoration.instance_of(env.services.store, point)
    vnfcs = plans._vnfcs_in(env, plans._stack_resources(env, ctx.data),
                            plans._flavour_id(saved))
    before = tuple(vnf.vnfc)
    plans._record(ctx, env, dataclasses.replace(
        saved, name=vnf.name, description=vnf.description, created_at=vnf.created_at,
        vnfc=vnfcs, updated_at=env.now()), {
            **sol003.resource_changes(before, vnfcs, saved.instantiated_info.get("nfv")),
            "restorationPoint": {"id": point.id, "createdAt": point.created_at,
                                 "lostChanges": "changes made after the restoration "
                                                "point are lost"}})
    ctx.note(f"restored restoration point {point.id} of {point.created_at}: changes "
             "made after it are lost")
