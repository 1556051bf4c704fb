"""The execution plan of each LCM operation, step by step, with undo.

=============  ================================================================
INSTANTIATE    validate request, [instantiate_start], create stack, wait for
               stack, [instantiate_end], record instance
SCALE          validate request, [scale_start], (SCALE_IN: mark members
               unhealthy), update stack, wait for stack, [scale_end], record
               instance
HEAL           validate request, [heal_start], mark members unhealthy, update
               stack, wait for stack, [heal_end], record instance
OPERATE        validate request, (graceful stop wait), [operate_start], one
               step per VDU in dependency order (reverse to stop) or per
               named VNFC, (suspend stack | resume stack), [operate_end],
               record instance (see :mod:`nfvlib.lcm.operate`)
TERMINATE      validate request, (GRACEFUL: graceful wait), [terminate_start],
               delete stack, wait for stack, [terminate_end], record instance
=============  ================================================================

Steps in brackets run the VNFD's lifecycle script for that event, when it
names one. Rollback undoes, newest first: INSTANTIATE deletes the stack and
returns the VNF to NOT_INSTANTIATED; SCALE_OUT marks the AutoScalingGroup
members this operation added unhealthy, then patches the previous ``nfv``
parameter back, so Heat removes exactly those (patching the capacity alone
would make Heat remove the oldest members). The first step's undo, run last,
records the instance as Heat then holds it.

What an occurrence did is always read back from Heat, never from a copy:
the instance's VNFCs after every operation and rollback, the members a
scale-out added (the group members before it, recorded when it starts,
against those after), and the occurrence's ``resourceChanges``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import TYPE_CHECKING, Any, Callable, Mapping, TypeVar

from nfvlib import sol003
from nfvlib.exceptions import Conflict, InvalidInput, NotFound
from nfvlib.lcm.engine import Cancelled, Step, StepContext
from nfvlib.models import InstantiationState, Operation, OpOcc, VnfInstance
from nfvlib.store.lcm import VnfTable

if TYPE_CHECKING:
    from nfvlib.heat import HeatClient
    from nfvlib.lcm.services import Services
    from nfvlib.models import VnfcInfo
    from nfvlib.nova import NovaClient
    from nfvlib.packages import VnfPackage

#: Seconds Heat may take for one stack action before the step fails.
STACK_TIMEOUT = 1800
#: Seconds a stack in progress may show no sign of work (no new event, no
#: resource status change, or no answer from Heat) before the wait fails.
#: Heat's convergence engine never takes over a stack whose engine died (it
#: stays ``X_IN_PROGRESS``); a retry re-drives it. Long enough for one slow
#: resource: a Nova server booting a large image shows no event until it
#: is ACTIVE. ``NFV_HEAT_STALL_SECONDS`` overrides it.
STACK_STALL = 300.0


def stall_limit() -> float:
    """The stall limit in seconds (``NFV_HEAT_STALL_SECONDS``, else :data:`STACK_STALL`)."""
    from nfvlib.config import heat_stall_seconds

    return heat_stall_seconds(STACK_STALL)

_T = TypeVar("_T")

#: What a plan step does (or undoes), given the occurrence and its environment.
StepFn = Callable[[StepContext, "_Env"], None]
#: One entry of a plan's spec: ``(step name, do, undo or None)``.
SpecEntry = tuple[str, StepFn, StepFn | None]

#: Steps that have the same effect when run again, so a transient error
#: retries them (Step.idempotent): they read Heat, compute, or send Heat an
#: absolute request that first looks for what an earlier attempt did (the
#: create finds the stack it tagged). Lifecycle scripts are not: a package's
#: script may do anything.
IDEMPOTENT_STEPS = frozenset({
    "validate request", "create stack", "update stack", "delete stack",
    "wait for stack", "mark members unhealthy", "graceful wait", "record instance"})

_NO_ROLLBACK = {
    Operation.TERMINATE: "the stack is deleted and cannot be brought back",
    Operation.HEAL: "replaced VNFCs cannot be brought back",
}


def no_rollback_reason(op: OpOcc) -> str | None:
    """Why an occurrence cannot be rolled back, or None if it can."""
    if op.operation is Operation.SCALE and op.request.get("type") == "SCALE_IN":
        return "removed VNFCs cannot be brought back"
    if op.operation is Operation.OPERATE and op.request.get("reboot"):
        return "a reboot cannot be undone"
    if op.operation is Operation.FALLBACK:
        return "a fallback is forceful; fall back to another restoration point instead"
    return _NO_ROLLBACK.get(op.operation)


def step_names(operation: Operation, package: Any, vnf: VnfInstance,
               request: dict[str, Any]) -> list[str]:
    """The plan's step names, known before anything runs."""
    flavour_id = request.get("flavourId") or vnf.flavour_id
    return [name for name, _, _ in _spec(operation, package, flavour_id, request)]


def build(op: OpOcc, services: Services) -> list[Step]:
    """The runnable steps of an occurrence."""
    env = _Env(services, op)
    vnf = env.vnf()
    flavour_id = op.request.get("flavourId") or vnf.flavour_id
    steps: list[Step] = []
    package = env.package()
    flavour = package.flavours.get(flavour_id) if flavour_id else None
    spec = _with_rollback_scripts(op.operation, flavour.lifecycle if flavour else {},
                                  _spec(op.operation, package, flavour_id, op.request))
    for name, do, undo in spec:
        steps.append(Step(name, _bind(do, env), _bind(undo, env) if undo else None,
                          idempotent=name in IDEMPOTENT_STEPS))
    if op.operation in (Operation.CHANGE_VNFPKG, Operation.FALLBACK):
        from nfvlib.lcm import change_pkg

        for step in steps:
            step.rollback_on_failure = step.name in change_pkg.ROLLBACK_ON_FAILURE
            if hasattr(step, "idempotent"):
                step.idempotent = change_pkg.idempotent(op.operation, step.name)
    if any(step.name == "create restoration point" for step in steps):
        from nfvlib.lcm import change_pkg
        from nfvlib.lcm.engine import Plan

        # An escalation's fallback restores the point this occurrence took.
        return Plan(steps, fallback=_bind(change_pkg.fall_back_to_own_point, env))
    return steps


def resolve_vim(vims: Any, request: dict[str, Any]) -> tuple[Any, str | None]:
    """The VIM and region an instantiate request names (else the default VIM).

    Every ``vimConnectionInfo`` entry must be an object naming a registered
    VIM (``vimId``: its id or name) of an OpenStack ``vimType``, and all
    entries the same VIM: an instance runs on one VIM. Anything else is an
    :class:`InvalidInput` naming the entry.
    """
    from nfvlib.inputs import short
    from nfvlib.lcm.requests import OPENSTACK_VIM_TYPES

    infos = request.get("vimConnectionInfo") or {}
    if isinstance(infos, list):  # SOL003 v2.6.1 shape
        entries = [(f"vimConnectionInfo[{i}]", v) for i, v in enumerate(infos)]
    elif isinstance(infos, dict):
        entries = [(f"vimConnectionInfo.{short(k)[1:-1] if isinstance(k, str) else k}", v)
                   for k, v in infos.items()]
    else:
        raise InvalidInput("vimConnectionInfo must be an object of VIM connections")
    chosen: tuple[Any, str | None] | None = None
    for where, info in entries:
        if not isinstance(info, dict):
            raise InvalidInput(f"{where} must be an object with vimId and vimType, not "
                               f"{short(info)}")
        vim_id = info.get("vimId")
        if not isinstance(vim_id, str) or not vim_id:
            raise InvalidInput(f"{where}.vimId must name a registered VIM, not "
                               f"{short(vim_id)}", hint="see the VIMs with 'vim list'")
        if info.get("vimType") not in OPENSTACK_VIM_TYPES:
            raise InvalidInput(f"{where}.vimType {short(info.get('vimType'))} is not "
                               f"supported", hint=f"use {' or '.join(OPENSTACK_VIM_TYPES)}")
        access = info.get("accessInfo") or {}
        region = access.get("region") if isinstance(access, dict) else None
        if not isinstance(access, dict) or not isinstance(region, (str, type(None))):
            raise InvalidInput(f"{where}.accessInfo must be an object whose region is "
                               "a string")
        try:
            vim = vims.find_vim(vim_id)
        except NotFound as exc:
            raise InvalidInput(f"{where}.vimId: no VIM has the id or name "
                               f"{short(vim_id)}", hint="see the VIMs with 'vim list'"
                               ) from exc
        if region and vim.regions and region not in vim.regions:
            raise InvalidInput(f"{where}: VIM {vim.name} has no region {short(region)}",
                               hint=f"use one of {', '.join(vim.regions)}")
        if chosen is not None and chosen[0].id != vim.id:
            raise InvalidInput(f"{where} names VIM {vim.name} but an earlier entry names "
                               f"{chosen[0].name}", hint="a VNF instance runs on one VIM")
        if chosen is None:
            chosen = vim, region or (vim.regions[0] if vim.regions else None)
    if chosen is not None:
        return chosen
    vim = vims.default_vim()
    return vim, (vim.regions[0] if vim.regions else None)


# -- the plans -------------------------------------------------------------------
def _spec(operation: Operation, package: VnfPackage, flavour_id: str | None,
          request: dict[str, Any]) -> list[SpecEntry]:
    flavour = package.flavours.get(flavour_id) if flavour_id else None
    events = flavour.lifecycle if flavour is not None else {}

    def script(event: str) -> list[SpecEntry]:
        if event not in events:
            return []
        return [(f"run {event} script", _script_step(event), None)]

    if operation is Operation.INSTANTIATE:
        return [("validate request", _validate_instantiate, _record_not_instantiated),
                *script("instantiate_start"),
                ("create stack", _create_stack, _delete_stack_undo),
                ("wait for stack", _wait_stack, None),
                *script("instantiate_end"),
                ("record instance", _record_instantiated, None)]
    if operation is Operation.SCALE:
        scale_in = request.get("type") == "SCALE_IN"
        return [("validate request", _validate_scale, _record_scale_rolled_back),
                *_point_step(request),
                *script("scale_start"),
                *([("mark members unhealthy", _mark_victims, _unmark_victims)]
                  if scale_in else []),
                ("update stack", _update_nfv, _undo_update_nfv),
                ("wait for stack", _wait_stack, None),
                *script("scale_end"),
                ("record instance", _record_scaled, None)]
    if operation is Operation.HEAL:
        return [("validate request", _validate_heal, None),
                *_point_step(request),
                *script("heal_start"),
                ("mark members unhealthy", _mark_victims, None),
                ("update stack", _update_nfv, None),
                ("wait for stack", _wait_stack, None),
                *script("heal_end"),
                ("record instance", _record_healed, None)]
    if operation is Operation.TERMINATE:
        graceful = (request.get("terminationType") == "GRACEFUL"
                    and (request.get("gracefulTerminationTimeout") or 0) > 0)
        return [("validate request", _validate_terminate, None),
                *([("graceful wait", _graceful_wait, None)] if graceful else []),
                *script("terminate_start"),
                ("delete stack", _delete_stack, None),
                ("wait for stack", _wait_stack, None),
                *script("terminate_end"),
                ("record instance", _record_terminated, None)]
    if operation is Operation.OPERATE:
        from nfvlib.lcm import operate

        if flavour_id is None:
            raise Conflict("an OPERATE needs an instantiated VNF instance: this one "
                           "has no flavour")
        return operate.spec(package, flavour_id, request, script)
    if operation is Operation.CHANGE_VNFPKG:
        from nfvlib.lcm import change_pkg

        return change_pkg.spec(request)
    if operation is Operation.FALLBACK:
        from nfvlib.lcm import change_pkg

        return change_pkg.fallback_spec()
    raise InvalidInput(f"operation {operation.value} is not supported in local mode")


def _point_step(request: dict[str, Any]) -> list[SpecEntry]:
    """A restoration point before a scale or heal, when the request asks for one."""
    if not request.get("restorationPoint"):
        return []
    return [("create restoration point", _take_point, None)]


def _take_point(ctx: StepContext, env: _Env) -> None:
    from nfvlib.lcm import restoration

    point = restoration.take(env.heat(ctx.data), env.services.store, env.vnf(),
                             name=f"before {ctx.op.operation.value} {ctx.op.id}",
                             op_id=ctx.op.id, clock=env.services.clock,
                             transaction=ctx.transaction)
    ctx.data["point_id"] = point.id
    ctx.note(f"restoration point {point.id} (snapshot {point.snapshot_id})")


class _Env:
    """Lazy access to the occurrence's VNF, package and Heat."""

    def __init__(self, services: Services, op: OpOcc) -> None:
        self.services = services
        self.op = op
        self.table = VnfTable(services.store)
        self._heat: HeatClient | None = None
        #: The stack as last read in this run (saves a GET when recording).
        self.last_stack: dict[str, Any] | None = None
        self._request: dict[str, Any] | None = None

    def vnf(self) -> VnfInstance:
        vnf: VnfInstance | None = self.table.get(self.op.vnf_instance_id)
        if vnf is None:
            raise NotFound(f"VNF instance {self.op.vnf_instance_id} is gone")
        return vnf

    def package(self) -> VnfPackage:
        vnf = self.vnf()
        packages = self.services.packages
        return packages.load(packages.get_package(vnf.package_id))

    def heat(self, data: dict[str, Any]) -> HeatClient:
        if self._heat is None:
            self._heat = self.services.heat(data["vim_id"], data.get("region"))
        return self._heat

    def session(self, data: dict[str, Any]) -> Any:
        """The VIM's Keystone session (the one Heat uses)."""
        self.heat(data)
        return self.services._sessions[data["vim_id"]]

    def nova(self, data: dict[str, Any]) -> NovaClient:
        """A Nova client for the VIM's region, on the same session."""
        from nfvlib.nova import NovaClient

        return NovaClient(self.session(data), region_name=data.get("region"))


    def now(self) -> str:
        from nfvlib.lcm.engine import iso

        return iso(self.services.clock())

    def request(self) -> dict[str, Any]:
        """The occurrence's request with its sealed secrets decrypted (once).

        Only what feeds Heat and lifecycle scripts uses it; nothing stored or
        shown does (see :mod:`nfvlib.lcm.secrets`).
        """
        if self._request is None:
            from nfvlib.lcm import secrets

            self._request = secrets.unseal(self.op.request, self.services.vims.vault)
        return self._request

    def seal(self, value: Any) -> Any:
        """``value`` with its secret values sealed, fit to store (e.g. the nfv parameter)."""
        from nfvlib.lcm import secrets

        vault = self.services.vims.vault
        return secrets.seal(value, vault, vault.key_for(secrets.REQUEST_KEY_PURPOSE))

    def heat_nfv(self, nfv: dict[str, Any]) -> str:
        """The ``nfv`` stack parameter as Heat gets it: stored sealed, sent in clear."""
        from nfvlib.lcm import secrets

        return json.dumps(secrets.unseal(nfv, self.services.vims.vault))


def _bind(fn: Callable[[StepContext, _Env], _T], env: _Env) -> Callable[[StepContext], _T]:
    return lambda ctx: fn(ctx, env)


# -- validate -------------------------------------------------------------------------
def _validate_instantiate(ctx: StepContext, env: _Env) -> None:
    from nfvlib.lcm import heat_params

    request = env.request()
    vim, region = resolve_vim(env.services.vims, request)
    package = env.package()
    flavour_id = request["flavourId"]
    ctx.data.update(
        vim_id=vim.id, region=region, flavour_id=flavour_id,
        instantiation_level_id=request.get("instantiationLevelId"),
        stack_name=env.vnf().stack_name,
        nfv=env.seal(heat_params.build_instantiate_nfv(package, flavour_id, dict(request))))


def _validate_scale(ctx: StepContext, env: _Env) -> None:
    from nfvlib.lcm import heat_params, vnfc

    request, vnf = ctx.op.request, env.vnf()
    ctx.data.update(_placement(vnf))
    if "prev_nfv" not in ctx.data:  # a retry keeps the first computation
        nfv, scale_status = heat_params.build_scale_nfv(
            env.package(), _flavour_id(vnf), vnf.instantiated_info.get("nfv", {}),
            vnf.instantiation_level_id, vnf.scale_status, request["aspectId"],
            request["type"], request.get("numberOfSteps", 1))
        rows = _stack_resources(env, ctx.data)
        before = _vnfcs_in(env, rows, _flavour_id(vnf))
        ctx.data.update(prev_nfv=vnf.instantiated_info.get("nfv", {}),
                        prev_scale_status=dict(vnf.scale_status),
                        vnfcs_before=[dataclasses.asdict(c) for c in before],
                        members_before=[m.key() for m in vnfc.group_members(rows)],
                        nfv=nfv, scale_status=scale_status)
        ctx.save()
    if request["type"] == "SCALE_IN" and "victims" not in ctx.data:
        removed = _capacity_drop(ctx.data["prev_nfv"], ctx.data["nfv"])
        current = _saved_vnfcs(ctx.data["vnfcs_before"])
        victims = vnfc.scale_in_victims(current, set(removed), removed)
        ctx.data["victims"] = [dataclasses.asdict(v) for v in victims]


def _validate_heal(ctx: StepContext, env: _Env) -> None:
    vnf = env.vnf()
    ctx.data.update(_placement(vnf))
    if "vnfcs_before" not in ctx.data:
        current = _vnfcs_in(env, _stack_resources(env, ctx.data), _flavour_id(vnf))
        wanted = ctx.op.request.get("vnfcInstanceId")
        unknown = sorted(set(wanted or ()) - {c.id for c in current})
        if unknown:
            raise InvalidInput(f"the stack of VNF instance {vnf.id} has no VNFC "
                               f"{', '.join(unknown)}",
                               hint="see the VNFC ids with 'vnflcm show'")
        targets = [c for c in current if not wanted or c.id in wanted]
        ctx.data.update(vnfcs_before=[dataclasses.asdict(c) for c in current],
                        victims=[dataclasses.asdict(v) for v in targets],
                        nfv=vnf.instantiated_info.get("nfv", {}))


def _validate_terminate(ctx: StepContext, env: _Env) -> None:
    from nfvlib.exceptions import StackNotFound

    vnf = env.vnf()
    ctx.data.update(_placement(vnf))
    if "vnfcs_before" not in ctx.data:
        try:
            current = _current_vnfcs(ctx, env, vnf, _flavour_id(vnf))
        except StackNotFound:
            current = ()
        ctx.data["vnfcs_before"] = [dataclasses.asdict(c) for c in current]


def _flavour_id(vnf: VnfInstance) -> str:
    """The flavour of an instantiated VNF instance (all but instantiate need one)."""
    if vnf.flavour_id is None:
        raise Conflict(f"VNF instance {vnf.id} is not instantiated: it has no flavour")
    return vnf.flavour_id


def _placement(vnf: VnfInstance) -> dict[str, Any]:
    return {"vim_id": vnf.vim_id, "region": vnf.region, "stack_name": vnf.stack_name,
            "stack_id": vnf.stack_id}


def _capacity_drop(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    drop = {}
    for vdu, values in (before.get("VDU") or {}).items():
        old = int(values.get("desired_capacity", 0))
        new = int(((after.get("VDU") or {}).get(vdu) or {}).get("desired_capacity", old))
        if new < old:
            drop[vdu] = old - new
    return drop


# -- scripts ------------------------------------------------------------------------
def _script_step(event: str) -> Callable[[StepContext, _Env], None]:
    def run(ctx: StepContext, env: _Env) -> None:
        _run_script(ctx, env, event)
    return run


def _run_script(ctx: StepContext, env: _Env, event: str) -> None:
    """Run the VNFD's script for ``event`` with the operation's NFV_* parameters.

    Its exit code, duration and last lines of output go to the step's journal
    entry (and ``script_output`` of the occurrence's data), scrubbed of the
    request's secrets; a failure names the script, its exit code and output.
    """
    from nfvlib.exceptions import ScriptFailed
    from nfvlib.lcm import scripts, secrets

    package = env.package()
    vnf = env.vnf()
    flavour = package.flavours[ctx.data.get("flavour_id") or _flavour_id(vnf)]
    params = _script_params(ctx, env, event)
    hidden = secrets.secret_values(params["additional_params"])
    script = flavour.lifecycle[event]
    began = time.monotonic()
    try:
        output = scripts.run_script(package.path, script, event, params)
    except ScriptFailed as exc:
        raise ScriptFailed(secrets.scrub(str(exc), hidden),
                                   exit_code=exc.exit_code) from None
    took = time.monotonic() - began
    output = secrets.scrub(output, hidden)
    ctx.data.setdefault("script_output", {})[event] = output[-1000:]
    note = getattr(ctx.runner, "notes", None)
    if note is not None:
        ctx.note(f"{script.file} ({event}) exit 0 in {took:.2f} s; output: "
                 f"{scripts.tail(output) or '(none)'}")


def _vnfc_view(c: Any) -> dict[str, Any]:
    return {"id": c.id, "vduId": c.vdu_id, "status": c.status,
            **({"member": c.member} if c.member else {})}


def _script_params(ctx: StepContext, env: _Env, event: str) -> dict[str, Any]:
    """What a lifecycle script gets, as ``NFV_<KEY>`` variables (see scripts.py)."""
    from nfvlib.exceptions import StackNotFound

    vnf = env.vnf()
    data = ctx.data
    request = env.request()
    current: tuple[VnfcInfo, ...] = ()
    if data.get("stack_id") or vnf.stack_id:
        try:
            current = _vnfcs_in(env, _stack_resources(
                env, {**_placement(vnf), **{k: v for k, v in data.items()
                                            if k in ("vim_id", "region", "stack_name",
                                                     "stack_id") and v}}),
                data.get("flavour_id") or _flavour_id(vnf))
        except StackNotFound:
            current = ()
    added: list[VnfcInfo] = []
    removed: list[VnfcInfo] = []
    before = data.get("vnfcs_before")
    if before is None and ctx.op.operation is Operation.INSTANTIATE:
        before = []  # everything is new
    if event.endswith("_rollback_start") or event.endswith("_rollback_end"):
        known = {c["id"] for c in before or ()}
        gone = data.get("rollback_from") or [dataclasses.asdict(c) for c in current]
        removed = [c for c in _saved_vnfcs(gone) if c.id not in known]
    elif event.endswith("_start"):
        removed = list(_saved_vnfcs(data.get("victims")))
    elif before is not None:
        old = {c["id"] for c in before}
        new = {c.id for c in current}
        added = [c for c in current if c.id not in old]
        removed = [c for c in _saved_vnfcs(before) if c.id not in new]
    params: dict[str, Any] = {
        "vnf_instance_id": vnf.id, "vnf_instance_name": vnf.name,
        "op_occ_id": ctx.op.id, "operation": ctx.op.operation.value,
        "vim_id": data.get("vim_id") or vnf.vim_id or "",
        "region": data.get("region") or vnf.region or "",
        "flavour_id": data.get("flavour_id") or vnf.flavour_id or "",
        "instantiation_level_id": (data.get("instantiation_level_id")
                                   or vnf.instantiation_level_id or ""),
        "stack_id": data.get("stack_id") or vnf.stack_id or "",
        "stack_outputs": (data.get("stack_outputs")
                          or vnf.instantiated_info.get("stackOutputs") or {}),
        "vnfcs": [_vnfc_view(c) for c in current],
        "vnfcs_added": [_vnfc_view(c) for c in added],
        "vnfcs_removed": [_vnfc_view(c) for c in removed],
        "additional_params": request.get("additionalParams") or {}}
    if ctx.op.operation is Operation.SCALE:
        params.update(scale_type=request.get("type", ""),
                      aspect_id=request.get("aspectId", ""),
                      number_of_steps=str(request.get("numberOfSteps", 1)))
    if ctx.op.operation is Operation.OPERATE:
        from nfvlib.lcm import operate

        params["change_state_to"] = {"start": "STARTED", "stop": "STOPPED",
                                     "reboot": "REBOOT"}[operate.kind(request)]
    for key, value in (params["additional_params"] or {}).items():
        params[f"param_{key}"] = value
    return params


_ROLLBACK_EVENTS = {Operation.INSTANTIATE: "instantiate", Operation.SCALE: "scale",
                    Operation.OPERATE: "operate"}


def _with_rollback_scripts(operation: Operation, events: Mapping[str, Any],
                           spec: list[SpecEntry]) -> list[SpecEntry]:
    """Undo steps that run ``<op>_rollback_start`` first and ``<op>_rollback_end`` last.

    The first undo a rollback runs runs ``_rollback_start`` before it (once);
    the first step's undo, which a rollback runs last, runs ``_rollback_end``
    after it. Tacker v2 names these events so (``scale_rollback_start``, ...).
    """
    base = _ROLLBACK_EVENTS.get(operation)
    first, last = f"{base}_rollback_start", f"{base}_rollback_end"
    if base is None or (first not in events and last not in events):
        return spec

    def wrap(undo: StepFn | None, *, end: bool) -> StepFn:
        def run(ctx: StepContext, env: _Env) -> None:
            done = ctx.data.setdefault("rollback_scripts", [])
            if first in events and first not in done:
                _run_script(ctx, env, first)
                done.append(first)
                ctx.save()
            if undo is not None:
                undo(ctx, env)
            if end and last in events and last not in done:
                _run_script(ctx, env, last)
                done.append(last)
        return run

    return [(name, do, wrap(undo, end=i == 0) if (undo is not None or i == 0) else None)
            for i, (name, do, undo) in enumerate(spec)]


# -- Heat ------------------------------------------------------------------------------
def _stack_environment(env: _Env, data: dict[str, Any]
                       ) -> tuple[dict[str, Any], dict[str, str]]:
    """The VIM's Heat environment and files (the sandbox maps Nova and Neutron)."""
    vim = env.services.vims.get_vim(data["vim_id"])
    return (dict(vim.extra.get("heat_environment") or {}),
            dict(vim.extra.get("heat_files") or {}))


def _stack_ref(data: dict[str, Any]) -> str:
    """``name/id`` of the VNF's stack: Heat answers it without a redirect."""
    if data.get("stack_id"):
        return f"{data['stack_name']}/{data['stack_id']}"
    name: str = data["stack_name"]
    return name


def _existing_stack(heat: Any, name: str) -> dict[str, Any] | None:
    from nfvlib.exceptions import StackNotFound

    try:
        stack = heat.get_stack(name)
    except StackNotFound:
        return None
    return None if stack.get("stack_status") == "DELETE_COMPLETE" else stack


def _op_tag(op: OpOcc) -> str:
    """The Heat stack tag naming the occurrence that created the stack."""
    return f"nfv-op-{op.id}"


def _creator(stack: dict[str, Any]) -> str | None:
    """The occurrence id a stack's tags name as its creator, if any."""
    for tag in stack.get("tags") or ():
        if isinstance(tag, str) and tag.startswith("nfv-op-"):
            return tag[len("nfv-op-"):]
    return None


def _remove_leftover(ctx: StepContext, env: _Env, heat: Any,
                     stack: dict[str, Any]) -> None:
    """Delete a stack an earlier, finished occurrence of this VNF left behind.

    A stack with the VNF's name that no occurrence of this store created, or
    whose creator is still active, is not ours to delete: the request fails
    and names it.
    """
    from nfvlib.lcm import states
    from nfvlib.store.lcm import OpOccTable

    creator_id = _creator(stack)
    creator = OpOccTable(env.services.store).get(creator_id) if creator_id else None
    ref = f"{stack.get('stack_name')}/{stack.get('id')}"
    if (creator is None or creator.vnf_instance_id != ctx.op.vnf_instance_id
            or creator.state in states.ACTIVE):
        raise Conflict(f"Heat already has a stack {ref} ({stack.get('stack_status')}) "
                       "that no finished operation of this VNF instance created",
                       hint=f"delete the stack in Heat ('openstack stack delete {ref}'), "
                            "then retry")
    heat.wait_until_quiet(stack)
    heat.delete_stack(stack)
    heat.wait_for_stack(ref, "DELETE", timeout=STACK_TIMEOUT, missing_ok=True)
    ctx.note(f"deleted stack {ref} ({stack.get('stack_status')}) left by "
             f"{creator.operation.value} operation {creator.id} ({creator.state.value})")


def _create_stack(ctx: StepContext, env: _Env) -> None:
    """Create the VNF's stack, tagged with the occurrence.

    On a first attempt the create is sent at once, and only a stack of that
    name (Heat's StackExists) is looked at: a request fewer in the common
    case. A retry looks first for the stack its first attempt created.
    """
    from nfvlib.exceptions import StackExists
    from nfvlib.lcm import heat_params

    heat = env.heat(ctx.data)
    parameters = {"nfv": env.heat_nfv(ctx.data["nfv"])}
    package = env.package()
    environment, vim_files = _stack_environment(env, ctx.data)
    files = {**heat_params.stack_files(package, ctx.data["flavour_id"]), **vim_files}
    template = heat_params.top_template(package, ctx.data["flavour_id"], env.request())
    if ctx.data.get("stack_id"):  # a retry of this step: the first attempt's stack
        existing = _existing_stack(heat, ctx.data["stack_name"])
        if existing is not None and _creator(existing) == ctx.op.id:
            _adopt_own_stack(ctx, heat, existing, parameters)
            return
    while True:
        try:
            ctx.data["stack_id"] = heat.create_stack(
                ctx.data["stack_name"], template, parameters=parameters, files=files,
                environment=environment, disable_rollback=True, tags=[_op_tag(ctx.op)])
        except StackExists:
            existing = _existing_stack(heat, ctx.data["stack_name"])
            if existing is None:  # deleted meanwhile
                continue
            if _creator(existing) != ctx.op.id:
                _remove_leftover(ctx, env, heat, existing)
                continue
            _adopt_own_stack(ctx, heat, existing, parameters)
            return
        ctx.data["expect"] = "CREATE"
        ctx.save()
        return


def _adopt_own_stack(ctx: StepContext, heat: Any, existing: dict[str, Any],
                     parameters: dict[str, Any]) -> None:
    """Go on with the stack this occurrence created before (a retry, or a
    crash after the create request): update a failed one, else wait for it."""
    ctx.data["stack_id"] = existing["id"]
    status = existing.get("stack_status", "")
    if status.endswith("_FAILED"):
        heat.wait_until_quiet(existing)
        heat.update_stack(existing, parameters=parameters)
        ctx.data["expect"] = "UPDATE"
    else:
        ctx.data["expect"] = status.split("_")[0] or "CREATE"
    ctx.save()


def _delete_stack_undo(ctx: StepContext, env: _Env) -> None:
    heat = env.heat(ctx.data)
    stack = _existing_stack(heat, _stack_ref(ctx.data))
    if stack is None or (_creator(stack) != ctx.op.id
                         and stack.get("id") != ctx.data.get("stack_id")):
        return  # never delete a stack this occurrence did not create
    rows = None
    if "rollback_from" not in ctx.data:
        rows = heat.list_resources(stack, nested_depth=5)
        ctx.data["rollback_from"] = [dataclasses.asdict(c) for c in
                                     _vnfcs_in(env, rows, ctx.data["flavour_id"])]
        ctx.save()
    heat.wait_until_quiet(stack, resources=rows)
    heat.delete_stack(stack)
    heat.wait_for_stack(f"{stack['stack_name']}/{stack['id']}", "DELETE",
                        timeout=STACK_TIMEOUT, missing_ok=True)


def _delete_stack(ctx: StepContext, env: _Env) -> None:
    heat = env.heat(ctx.data)
    # The stack validation just read, else Heat's.
    stack = env.last_stack or _existing_stack(heat, _stack_ref(ctx.data))
    ctx.data["expect"] = "DELETE"
    if stack is None:
        ctx.data["stack_id"] = None
        return
    ctx.data["stack_id"] = stack["id"]
    heat.delete_stack(stack)


def _update_nfv(ctx: StepContext, env: _Env) -> None:
    heat = env.heat(ctx.data)
    stack = heat.get_stack(_stack_ref(ctx.data))
    if not stack.get("stack_status", "").endswith("_COMPLETE"):
        heat.wait_until_quiet(stack)
    heat.update_stack(stack, parameters={"nfv": env.heat_nfv(ctx.data["nfv"])})
    ctx.data["expect"] = "UPDATE"


def _undo_update_nfv(ctx: StepContext, env: _Env) -> None:
    """Remove the members this scale-out added, then restore the capacity.

    Heat shrinks an AutoScalingGroup by removing unhealthy members first,
    then the oldest: the added members are marked unhealthy first (they are
    the group members Heat shows now that were not there when the operation
    started), so the original ones stay. A ResourceGroup removes its highest
    indexes, which are the added ones.
    """
    from nfvlib.exceptions import StackNotFound
    from nfvlib.lcm import vnfc

    heat = env.heat(ctx.data)
    stack = heat.get_stack(_stack_ref(ctx.data))
    heat.wait_until_quiet(stack)
    rows = heat.list_resources(stack, nested_depth=5)
    if "rollback_from" not in ctx.data:
        ctx.data["rollback_from"] = [dataclasses.asdict(c) for c in
                                     _vnfcs_in(env, rows, _flavour_id(env.vnf()))]
    before = set(ctx.data.get("members_before") or ())
    reason = f"rollback of {ctx.op.operation.value} operation {ctx.op.id}"
    for member in vnfc.group_members(rows):
        if member.key() in before:
            continue
        name, stack_id = member.group_stack.rsplit("/", 1)
        try:
            heat.mark_unhealthy(name, stack_id, member.name, reason)
        except StackNotFound:
            continue
    ctx.save()
    heat.update_stack(stack, parameters={"nfv": env.heat_nfv(ctx.data["prev_nfv"])})
    heat.wait_for_stack(_stack_ref(ctx.data), "UPDATE", timeout=STACK_TIMEOUT)


def _wait_stack(ctx: StepContext, env: _Env) -> None:
    from nfvlib.exceptions import HeatError, StackStalled

    heat = env.heat(ctx.data)
    expect = ctx.data.get("expect", "CREATE")
    if expect == "DELETE" and not ctx.data.get("stack_id"):
        return
    if ctx.data.get("waited"):
        # A retry: the stack may have moved on (or been fixed) since.
        expect = _redrive(heat, ctx, env, expect)
    ctx.data["waited"] = True
    ctx.save()

    def watch(stack: dict[str, Any]) -> None:
        mode = ctx.pending_cancel()
        if mode is None:
            return
        status = stack.get("stack_status")
        if mode == "FORCEFUL":
            if expect == "UPDATE" and status == "UPDATE_IN_PROGRESS":
                heat.stack_action(stack, "cancel_update")
            raise Cancelled(f"cancelled (FORCEFUL) while waiting for stack "
                            f"{stack.get('stack_name')} ({status})")
        raise Cancelled(f"cancelled (GRACEFUL) while waiting for stack "
                        f"{stack.get('stack_name')} ({status}): Heat's {expect} was left "
                        "to finish; retry waits for it, rollback undoes it")

    try:
        stack = heat.wait_for_stack(_stack_ref(ctx.data), expect, timeout=STACK_TIMEOUT,
                                    progress=watch, missing_ok=expect == "DELETE",
                                    stall=stall_limit())
    except StackStalled:
        ctx.data["stalled"] = expect
        raise
    except HeatError as exc:
        if exc.stack_status is None:
            raise
        stack = exc.stack or heat.get_stack(_stack_ref(ctx.data))
        reason = heat.failure_reason(stack) or exc.reason or str(exc)
        raise HeatError(f"Heat {expect} of stack {stack.get('stack_name')} ended "
                        f"{exc.stack_status}: {reason}", stack_status=exc.stack_status,
                        reason=reason) from exc
    env.last_stack = stack
    if stack is not None:
        ctx.data["stack_outputs"] = {o.get("output_key"): o.get("output_value")
                                     for o in stack.get("outputs") or []}


def _redrive(heat: Any, ctx: StepContext, env: _Env, expect: str) -> str:
    """On retry: the action to wait for, sending the failed Heat action again.

    A failed delete is deleted again; a failed create or update is updated
    again with the operation's ``nfv`` parameter. A stack the last wait found
    stalled in progress (its engine died: convergence never takes it over)
    gets the same again at once: Heat's convergence engine accepts an update
    or a delete of a stack in progress and starts a new traversal, which
    takes over the resources the dead engine held (verified on Heat 27: a
    stack stuck CREATE_IN_PROGRESS after an engine restart ends
    UPDATE_COMPLETE).
    """
    from nfvlib.exceptions import StackNotFound

    stalled = ctx.data.pop("stalled", None)
    try:
        stack = heat.get_stack(_stack_ref(ctx.data))
    except StackNotFound:
        if expect == "DELETE":
            return expect
        raise
    stack_status: str = stack.get("stack_status", "")
    action, _, status = stack_status.partition("_")
    if expect == "DELETE":
        if stalled and status == "IN_PROGRESS":
            heat.delete_stack(stack)
            ctx.note(f"re-sent the delete of stack {stack.get('stack_name')}, which "
                     f"had stalled {stack.get('stack_status')}")
        elif stack.get("stack_status") != "DELETE_IN_PROGRESS":
            heat.wait_until_quiet(stack)
            heat.delete_stack(stack)
        return "DELETE"
    if status == "IN_PROGRESS":
        if not stalled:
            return action
        heat.update_stack(stack, parameters={"nfv": env.heat_nfv(ctx.data["nfv"])})
        ctx.note(f"re-drove stack {stack.get('stack_name')}, which had stalled "
                 f"{stack.get('stack_status')}, with an update")
        return "UPDATE"
    if status == "COMPLETE" and action != "DELETE":
        return action
    heat.wait_until_quiet(stack)
    heat.update_stack(stack, parameters={"nfv": env.heat_nfv(ctx.data["nfv"])})
    return "UPDATE"


def _mark_victims(ctx: StepContext, env: _Env) -> None:
    from nfvlib.lcm import vnfc
    from nfvlib.models import VnfcInfo

    heat = env.heat(ctx.data)
    reason = f"{ctx.op.operation.value} by operation {ctx.op.id}"
    for victim in ctx.data.get("victims", []):
        heat.mark_unhealthy(*vnfc.mark_unhealthy_targets(VnfcInfo(**victim)), reason)


def _unmark_victims(ctx: StepContext, env: _Env) -> None:
    from nfvlib.exceptions import StackNotFound
    from nfvlib.lcm import vnfc
    from nfvlib.models import VnfcInfo

    heat = env.heat(ctx.data)
    for victim in ctx.data.get("victims", []):
        try:
            heat.mark_unhealthy(*vnfc.mark_unhealthy_targets(VnfcInfo(**victim)),
                                "rollback", unhealthy=False)
        except StackNotFound:
            continue


def _graceful_wait(ctx: StepContext, env: _Env) -> None:
    deadline = time.monotonic() + float(ctx.op.request["gracefulTerminationTimeout"])
    while (left := deadline - time.monotonic()) > 0:
        ctx.check_cancel(forceful_only=False)
        time.sleep(min(left, 0.5))


# -- records ---------------------------------------------------------------------------
def _stack_resources(env: _Env, data: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows of the VNF's stack, nested stacks included (Heat's truth)."""
    heat = env.heat(data)
    stack = env.last_stack = env.last_stack or heat.get_stack(_stack_ref(data))
    return heat.list_resources(stack, nested_depth=5)


def _vnfcs_in(env: _Env, rows: list[dict[str, Any]], flavour_id: str
              ) -> tuple[VnfcInfo, ...]:
    from nfvlib.lcm import vnfc

    flavour = env.package().flavours[flavour_id]
    return tuple(vnfc.vnfcs_from_resources(rows, set(flavour.vdus), cp_layout(flavour)))


def cp_layout(flavour: Any) -> dict[str, list[tuple[str, str | None]]]:
    """Each VDU's connection points and the internal virtual link of each."""
    return {name: [(cp, flavour.cps[cp].virtual_link if cp in flavour.cps else None)
                   for cp in vdu.cps]
            for name, vdu in flavour.vdus.items()}


def _current_vnfcs(ctx: StepContext, env: _Env, vnf: VnfInstance, flavour_id: str
                   ) -> tuple[VnfcInfo, ...]:
    return _vnfcs_in(env, _stack_resources(env, ctx.data), flavour_id)


def _saved_vnfcs(saved: list[dict[str, Any]] | None) -> tuple[VnfcInfo, ...]:
    from nfvlib.models import VnfcInfo

    return tuple(VnfcInfo(**c) for c in saved or ())


def _record(ctx: StepContext, env: _Env, vnf: VnfInstance,
            changes: dict[str, Any] | None = None) -> None:
    """Save the instance record (and the occurrence's resource changes) at once.

    The write and the check that this worker still holds the occurrence's
    lease are one transaction: a worker that lost its lease changes nothing.
    """
    with ctx.transaction() as conn:
        env.table.update(conn, vnf)
        if changes is not None:
            conn.execute("UPDATE op_occs SET resource_changes = ? WHERE id = ?",
                         (json.dumps(changes), ctx.op.id))


def _record_instantiated(ctx: StepContext, env: _Env) -> None:
    from nfvlib.lcm import heat_params, secrets
    from nfvlib.lcm.catalog import merged_user_data

    data = ctx.data
    vnf = env.vnf()
    package = env.package()
    vnfcs = _current_vnfcs(ctx, env, vnf, data["flavour_id"])
    level = data.get("instantiation_level_id")
    _record(ctx, env, dataclasses.replace(
        # As Tacker v2: the request's extensions and vnfConfigurableProperties
        # are merged into the instance's.
        vnf, **merged_user_data(vnf, ctx.op.request),
        instantiation_state=InstantiationState.INSTANTIATED, vim_id=data["vim_id"],
        region=data.get("region"), flavour_id=data["flavour_id"],
        instantiation_level_id=level, stack_id=data["stack_id"],
        scale_status=heat_params.initial_scale_status(package, data["flavour_id"], level),
        instantiated_info={"nfv": data["nfv"],
                           "additionalParams": secrets.mask(ctx.op.request.get(
                               "additionalParams", {})),
                           "stackOutputs": data.get("stack_outputs", {}),
                           "maxScaleLevels": package.flavours[
                               data["flavour_id"]].max_scale_levels(),
                           "vimConnection": _vim_connection(env, data["vim_id"])},
        vnfc=vnfcs, updated_at=env.now()), sol003.resource_changes((), vnfcs, data["nfv"]))


def _vim_connection(env: _Env, vim_id: str) -> dict[str, Any]:
    """What the instance shows of its VIM's connection: Tacker's
    ``interfaceInfo`` and ``accessInfo`` without the password, as the VIM was
    when the instance was instantiated (Tacker keeps that copy too)."""
    vim = env.services.vims.get_vim(vim_id)
    cred = vim.credentials
    return {"endpoint": cred.auth_url, "certVerify": bool(cred.cert_verify),
            "username": cred.username, "project": cred.project_name,
            "projectDomain": cred.project_domain_name,
            "userDomain": cred.user_domain_name}


def _record_not_instantiated(ctx: StepContext, env: _Env) -> None:
    vnf = env.vnf()
    _record(ctx, env, _cleared(vnf, env.now()),
            sol003.resource_changes(_saved_vnfcs(ctx.data.get("rollback_from")), (),
                                    ctx.data.get("nfv")))


def _cleared(vnf: VnfInstance, now: str) -> VnfInstance:
    return dataclasses.replace(
        vnf, instantiation_state=InstantiationState.NOT_INSTANTIATED, vim_id=None,
        region=None, flavour_id=None, instantiation_level_id=None, stack_id=None,
        scale_status={}, instantiated_info={}, vnfc=(), updated_at=now)


def _record_scaled(ctx: StepContext, env: _Env) -> None:
    vnf = env.vnf()
    vnfcs = _current_vnfcs(ctx, env, vnf, _flavour_id(vnf))
    info = dict(vnf.instantiated_info, nfv=ctx.data["nfv"],
                stackOutputs=ctx.data.get("stack_outputs", {}))
    _record(ctx, env, dataclasses.replace(vnf, scale_status=ctx.data["scale_status"],
                                          instantiated_info=info, vnfc=vnfcs,
                                          updated_at=env.now()),
            sol003.resource_changes(_saved_vnfcs(ctx.data.get("vnfcs_before")), vnfcs,
                                    ctx.data["nfv"]))


def _record_scale_rolled_back(ctx: StepContext, env: _Env) -> None:
    """The instance as Heat holds it after the rollback, and what the rollback changed."""
    vnf = env.vnf()
    if "prev_nfv" not in ctx.data:  # validation itself failed: nothing changed
        return
    vnfcs = _current_vnfcs(ctx, env, vnf, _flavour_id(vnf))
    info = dict(vnf.instantiated_info, nfv=ctx.data["prev_nfv"])
    rolled_back_from = ctx.data.get("rollback_from")
    _record(ctx, env, dataclasses.replace(
        vnf, scale_status=ctx.data["prev_scale_status"], instantiated_info=info,
        vnfc=vnfcs, updated_at=env.now()),
        None if rolled_back_from is None
        else sol003.resource_changes(_saved_vnfcs(rolled_back_from), vnfcs,
                                     ctx.data["nfv"]))


def _record_healed(ctx: StepContext, env: _Env) -> None:
    vnf = env.vnf()
    vnfcs = _current_vnfcs(ctx, env, vnf, _flavour_id(vnf))
    _record(ctx, env, dataclasses.replace(vnf, vnfc=vnfcs, updated_at=env.now()),
            sol003.resource_changes(_saved_vnfcs(ctx.data.get("vnfcs_before")), vnfcs,
                                    vnf.instantiated_info.get("nfv")))


def _record_terminated(ctx: StepContext, env: _Env) -> None:
    vnf = env.vnf()
    _record(ctx, env, _cleared(vnf, env.now()),
            sol003.resource_changes(_saved_vnfcs(ctx.data.get("vnfcs_before")), (),
                                    vnf.instantiated_info.get("nfv")))
