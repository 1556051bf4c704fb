"""Operate (start, stop, reboot) a VNF or one VNFC: order and targets.

A composite VNF starts its VDUs in dependency order and stops them in
reverse. The order comes from the VNFD (a VDU node's ``requirements``
naming another VDU, e.g. ``- dependency: VDU1``) and from the flavour's
top Heat template: a VDU
depends on another when its resource reaches the other's through
``depends_on``, ``get_resource`` or ``get_attr``, directly or through
resources that are no VDU (VDU2 -> VDU2_CP1 -> VL1 does not make VDU2
depend on VDU1 when VDU1 only uses VL1 too). A VDU's resource is the
resource named after it, or the group (AutoScalingGroup, ResourceGroup)
whose member template holds it.

What is acted on depends on the VIM:

- with a compute service (Nova) in its catalog: each VNFC's server, by
  Nova server actions (:mod:`nfvlib.nova`);
- with Heat only: Heat suspend and resume of stacks. A VDU whose resource is
  its own nested stack (a group, a template resource) is suspended alone;
  stopping the whole VNF ends by suspending the VNF's stack (Heat then
  suspends what is left, in reverse dependency order) and starting it
  resumes the VNF's stack where it was suspended. One VNFC is its group
  member's own nested stack; a VNFC that is not (a server in the VNF's own
  stack) cannot be operated alone on such a VIM.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping, Sequence

from nfvlib.exceptions import InvalidInput

if TYPE_CHECKING:
    from nfvlib.lcm.plans import SpecEntry, StepFn

#: Seconds one VDU (or VNFC) may take to start or stop.
VDU_TIMEOUT = 600

_GROUPS = ("OS::Heat::AutoScalingGroup", "OS::Heat::ResourceGroup")


def _refs(value: Any) -> set[str]:
    """Resource names a template fragment references (get_resource, get_attr)."""
    found: set[str] = set()
    if isinstance(value, Mapping):
        for key, inner in value.items():
            if key == "get_resource" and isinstance(inner, str):
                found.add(inner)
            elif key == "get_attr" and isinstance(inner, list) and inner \
                    and isinstance(inner[0], str):
                found.add(inner[0])
            else:
                found |= _refs(inner)
    elif isinstance(value, list):
        for inner in value:
            found |= _refs(inner)
    return found


def _depends_on(body: Mapping[str, Any]) -> set[str]:
    value = body.get("depends_on")
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {v for v in value if isinstance(v, str)}
    return set()


def _member_type(body: Mapping[str, Any]) -> str | None:
    props = body.get("properties") or {}
    if not isinstance(props, Mapping):
        return None
    inner = props.get("resource") or props.get("resource_def") or {}
    kind = inner.get("type") if isinstance(inner, Mapping) else None
    return kind if isinstance(kind, str) else None


def vdu_resources(template: Mapping[str, Any], nested: Mapping[str, str],
                  vdus: Iterable[str]) -> dict[str, str]:
    """VDU -> the name of its resource in the top template."""
    from nfvlib.packages.csar import load_yaml

    resources = template.get("resources") or {}
    found: dict[str, str] = {}
    for vdu in vdus:
        if vdu in resources:
            found[vdu] = vdu
            continue
        for name, body in resources.items():
            if not isinstance(body, Mapping) or body.get("type") not in _GROUPS:
                continue
            kind = _member_type(body)
            inner: dict[str, Any] = {}
            if kind is not None and kind in nested:
                inner = (load_yaml(nested[kind], kind) or {}).get("resources") or {}
            if vdu in inner or (not inner and name.startswith(f"{vdu}_")):
                found[vdu] = name
                break
    return found


def vdu_order(template: Mapping[str, Any], nested: Mapping[str, str],
              vdus: Iterable[str],
              requires: Mapping[str, Iterable[str]] | None = None) -> list[str]:
    """The VDUs in start order: every VDU after those it depends on.

    ``requires`` adds what the VNFD says: VDU -> VDUs its requirements name.
    Ties keep name order. Raises InvalidInput for a dependency cycle.
    VDUs without a resource in the template come last.
    """
    vdus = sorted(vdus)
    resources = {n: b for n, b in (template.get("resources") or {}).items()
                 if isinstance(b, Mapping)}
    edges = {n: (_depends_on(b) | _refs(b.get("properties"))) & set(resources)
             for n, b in resources.items()}
    where = vdu_resources(template, nested, vdus)
    owner = {res: vdu for vdu, res in where.items()}
    needs: dict[str, set[str]] = {}
    for vdu, res in where.items():
        seen, stack, deps = {res}, list(edges.get(res, ())), set()
        while stack:
            current = stack.pop()
            if current in seen:
                continue
            seen.add(current)
            if current in owner:
                deps.add(owner[current])
                continue  # that VDU's own dependencies are its business
            stack.extend(edges.get(current, ()))
        needs[vdu] = deps - {vdu}
    for vdu, targets in (requires or {}).items():
        if vdu in needs:
            needs[vdu] |= {t for t in targets if t in where and t != vdu}
    order: list[str] = []
    left = [v for v in vdus if v in where]
    while left:
        ready = [v for v in left if needs[v] <= set(order)]
        if not ready:
            raise InvalidInput(f"the VDUs {', '.join(left)} depend on each other in a "
                               "cycle in the Heat template",
                               hint="remove the circular depends_on or references")
        order.append(ready[0])
        left.remove(ready[0])
    return order + [v for v in vdus if v not in where]


def flavour_order(package: Any, flavour_id: str) -> list[str]:
    """:func:`vdu_order` for a package's flavour."""
    from nfvlib.packages.csar import load_yaml

    hot = package.base_hot[flavour_id]
    template = load_yaml(hot.top_template_text, hot.top_file) or {}
    vdus = package.flavours[flavour_id].vdus
    return vdu_order(template, hot.nested, vdus, vnfd_requirements(package, flavour_id))


def vnfd_requirements(package: Any, flavour_id: str) -> dict[str, set[str]]:
    """VDU -> the other VDUs its VNFD node's ``requirements`` name (e.g. ``dependency``)."""
    from pathlib import Path

    from nfvlib.packages.csar import load_yaml

    flavour = package.flavours[flavour_id]
    path = Path(package.path) / flavour.definitions_file
    if not flavour.definitions_file or not path.is_file():
        return {}
    doc = load_yaml(path.read_text(), flavour.definitions_file) or {}
    nodes = ((doc.get("topology_template") or {}).get("node_templates") or {})
    found: dict[str, set[str]] = {}
    for vdu in flavour.vdus:
        node = nodes.get(vdu)
        reqs = node.get("requirements") if isinstance(node, Mapping) else None
        for req in reqs if isinstance(reqs, list) else ():
            for target in (req.values() if isinstance(req, Mapping) else ()):
                if isinstance(target, Mapping):
                    target = target.get("node")
                if isinstance(target, str) and target in flavour.vdus and target != vdu:
                    found.setdefault(vdu, set()).add(target)
    return found


# -- targets in Heat's resource rows --------------------------------------------
def _link(row: Mapping[str, Any], rel: str) -> str | None:
    from nfvlib.lcm.vnfc import _stack_ref

    return _stack_ref(row, rel)


def vdu_stacks(rows: Sequence[Mapping[str, Any]], top_stack_id: str,
               resource: str | None) -> list[str]:
    """``name/id`` of the nested stack of a VDU's resource in the top stack, if any."""
    for row in rows:
        holder = _link(row, "stack") or ""
        if row.get("resource_name") == resource and holder.endswith(f"/{top_stack_id}"):
            nested = _link(row, "nested")
            return [nested] if nested else []
    return []


def vnfc_stack(rows: Sequence[Mapping[str, Any]], top_stack_id: str, vnfc_id: str,
               vdu: str) -> str:
    """``name/id`` of the nested stack that is this VNFC's own (its group member).

    Raises InvalidInput when the VNFC's server sits in the VNF's own stack.
    """
    for row in rows:
        if str(row.get("physical_resource_id")) == vnfc_id \
                and row.get("resource_name") == vdu:
            holder = _link(row, "stack")
            if holder and not holder.endswith(f"/{top_stack_id}"):
                return holder
            raise InvalidInput(
                f"VNFC {vnfc_id} of VDU {vdu} is not in a nested stack of its own, and "
                "this VIM has no compute service: it cannot be operated alone",
                hint="operate the whole VNF, or make the VDU a group member (an "
                     "AutoScalingGroup or ResourceGroup of a template) in the BaseHOT")
    raise InvalidInput(f"the VNF's stack has no VNFC {vnfc_id}",
                       hint="see the VNFC ids with 'vnflcm show'")


def has_compute(session: Any, region: str | None) -> bool:
    """Whether the VIM's catalog has a compute (Nova) endpoint in ``region``."""
    from keystoneauth1 import exceptions as ks_exc

    try:
        return bool(session.get_endpoint(service_type="compute", interface="public",
                                         region_name=region))
    except ks_exc.EndpointNotFound:
        return False


# -- the OPERATE plan -----------------------------------------------------------
def kind(request: Mapping[str, Any]) -> str:
    """``start``, ``stop`` or ``reboot``: what an OPERATE request asks."""
    if request.get("reboot"):
        return "reboot"
    return "start" if request.get("changeStateTo") == "STARTED" else "stop"


def graceful_stop(request: Mapping[str, Any]) -> bool:
    """Whether a stop first waits ``gracefulStopTimeout`` seconds (not forced)."""
    return (kind(request) == "stop" and not request.get("force")
            and request.get("stopType", "GRACEFUL") == "GRACEFUL"
            and (request.get("gracefulStopTimeout") or 0) > 0)


def spec(package: Any, flavour_id: str, request: Mapping[str, Any],
         script: Callable[[str], list[SpecEntry]]) -> list[SpecEntry]:
    """The OPERATE plan: ``(step name, do, undo)`` tuples (see :mod:`plans`).

    ``script(event)`` gives the lifecycle script step(s) for an event.
    """
    verb = kind(request)
    steps: list[SpecEntry] = [("validate request", _validate, _keep_record)]
    if graceful_stop(request):
        steps.append(("graceful stop wait", _graceful_stop_wait, None))
    steps += script("operate_start")
    targets = request.get("vnfcInstanceId") or []
    if targets:
        for vnfc_id in targets:
            steps.append((f"{verb} VNFC {vnfc_id}", _vnfc_step(vnfc_id, verb),
                          None if verb == "reboot"
                          else _vnfc_step(vnfc_id, _opposite(verb))))
    else:
        order = flavour_order(package, flavour_id)
        if verb == "stop":
            order = order[::-1]
        for vdu in order:
            steps.append((f"{verb} VDU {vdu}", _vdu_step(vdu, verb),
                          None if verb == "reboot"
                          else _vdu_step(vdu, _opposite(verb), undo=True)))
        if verb == "stop":
            steps.append(("suspend stack", _top_step("suspend"), _top_step("resume")))
        elif verb == "start":
            steps.append(("resume stack", _top_step("resume"), _top_step("suspend")))
    steps += script("operate_end")
    steps.append(("record instance", _record, None))
    return steps


def _opposite(verb: str) -> str:
    return "start" if verb == "stop" else "stop"


def _validate(ctx: Any, env: Any) -> None:
    import dataclasses

    from nfvlib.lcm import plans

    vnf = env.vnf()
    ctx.data.update(plans._placement(vnf))
    ctx.data.setdefault("flavour_id", vnf.flavour_id)
    if "vnfcs_before" in ctx.data:  # a retry keeps what the first run found
        return
    current = plans._vnfcs_in(env, plans._stack_resources(env, ctx.data), vnf.flavour_id)
    unknown = sorted(set(ctx.op.request.get("vnfcInstanceId") or ())
                     - {c.id for c in current})
    if unknown:
        raise InvalidInput(f"the stack of VNF instance {vnf.id} has no VNFC "
                           f"{', '.join(unknown)}", hint="see the VNFC ids with "
                           "'vnflcm show'")
    ctx.data.update(vnfcs_before=[dataclasses.asdict(c) for c in current],
                    prev_vnf_state=vnf.operational_state.value,
                    compute=has_compute(env.session(ctx.data), ctx.data.get("region")))
    ctx.save()


def _keep_record(ctx: Any, env: Any) -> None:
    """Rolled back: the instance as Heat holds it, its state as before."""
    import dataclasses

    from nfvlib.lcm import plans

    if "vnfcs_before" not in ctx.data:
        return
    vnf = env.vnf()
    vnfcs = plans._current_vnfcs(ctx, env, vnf, vnf.flavour_id)
    info = dict(vnf.instantiated_info, vnfState=ctx.data["prev_vnf_state"])
    plans._record(ctx, env, dataclasses.replace(vnf, instantiated_info=info, vnfc=vnfcs,
                                                updated_at=env.now()))


def _record(ctx: Any, env: Any) -> None:
    import dataclasses

    from nfvlib.lcm import plans

    vnf = env.vnf()
    verb = kind(ctx.op.request)
    state = ctx.data["prev_vnf_state"]
    if not ctx.op.request.get("vnfcInstanceId"):
        state = "STOPPED" if verb == "stop" else "STARTED"
    vnfcs = plans._current_vnfcs(ctx, env, vnf, vnf.flavour_id)
    info = dict(vnf.instantiated_info, vnfState=state)
    plans._record(ctx, env, dataclasses.replace(vnf, instantiated_info=info, vnfc=vnfcs,
                                                updated_at=env.now()), {})


def _graceful_stop_wait(ctx: Any, env: Any) -> None:
    import time

    deadline = time.monotonic() + float(ctx.op.request["gracefulStopTimeout"])
    while (left := deadline - time.monotonic()) > 0:
        ctx.check_cancel(forceful_only=False)
        time.sleep(min(left, 0.5))


def _vnfcs_of(ctx: Any, vdu: str) -> list[Any]:
    from nfvlib.models import VnfcInfo

    return [VnfcInfo(**c) for c in ctx.data.get("vnfcs_before") or ()
            if c["vdu_id"] == vdu]


def _timeout(ctx: Any) -> float:
    return float(ctx.op.request.get("vduTimeout") or VDU_TIMEOUT)


# -- one VDU, one VNFC, the VNF's stack --------------------------------------------
def _vdu_step(vdu: str, verb: str, *, undo: bool = False) -> StepFn:
    def run(ctx: Any, env: Any) -> None:
        if ctx.data.get("compute"):
            for vnfc in _vnfcs_of(ctx, vdu):
                _nova_action(ctx, env, vnfc.id, verb)
            return
        from nfvlib.lcm import plans

        heat = env.heat(ctx.data)
        rows = plans._stack_resources(env, ctx.data)
        package = env.package()
        hot = package.base_hot[ctx.data["flavour_id"]]
        from nfvlib.packages.csar import load_yaml

        template = load_yaml(hot.top_template_text, hot.top_file) or {}
        resource = vdu_resources(template, hot.nested, [vdu]).get(vdu)
        stacks = vdu_stacks(rows, ctx.data["stack_id"], resource)
        if not stacks:
            top = plans._stack_ref(ctx.data)
            if verb == "start" or verb == "reboot" or undo:
                ctx.note(f"VDU {vdu} has no stack of its own: the VNF's stack is "
                         f"{'resumed' if verb == 'start' else 'suspended'} for it")
                _heat_verb(ctx, heat, top, verb)
            else:
                ctx.note(f"VDU {vdu} has no stack of its own: it stops with the VNF's "
                         "stack")
            return
        for ref in stacks:
            _heat_verb(ctx, heat, ref, verb)
    return run


def _vnfc_step(vnfc_id: str, verb: str) -> StepFn:
    def run(ctx: Any, env: Any) -> None:
        if ctx.data.get("compute"):
            _nova_action(ctx, env, vnfc_id, verb)
            return
        from nfvlib.lcm import plans

        vdu = next((c["vdu_id"] for c in ctx.data.get("vnfcs_before") or ()
                    if c["id"] == vnfc_id), "")
        rows = plans._stack_resources(env, ctx.data)
        ref = vnfc_stack(rows, ctx.data["stack_id"], vnfc_id, vdu)
        _heat_verb(ctx, env.heat(ctx.data), ref, verb)
    return run


def _top_step(action: str) -> StepFn:
    def run(ctx: Any, env: Any) -> None:
        from nfvlib.lcm import plans

        if ctx.data.get("compute"):
            ctx.note("servers were operated through Nova; the stack is left as it is")
            return
        _heat_action(ctx, env.heat(ctx.data), plans._stack_ref(ctx.data), action)
    return run


def _heat_verb(ctx: Any, heat: Any, ref: str, verb: str) -> None:
    if verb == "reboot":
        _heat_action(ctx, heat, ref, "suspend")
        _heat_action(ctx, heat, ref, "resume")
    else:
        _heat_action(ctx, heat, ref, "resume" if verb == "start" else "suspend")


def _heat_action(ctx: Any, heat: Any, ref: str, action: str) -> None:
    """Suspend or resume one stack and wait; nothing if it already is so.

    Heat resumes only what is suspended (a resource that is CREATE_COMPLETE
    fails to resume), so a stack that is not suspended counts as started.
    """
    stack = heat.get_stack(ref)
    status = str(stack.get("stack_status", ""))
    name = stack.get("stack_name")
    if status.endswith("_IN_PROGRESS"):
        heat.wait_for_stack(ref, status.split("_IN_PROGRESS")[0], timeout=_timeout(ctx))
        stack = heat.get_stack(ref)
        status = str(stack.get("stack_status", ""))
    if action == "suspend" and status == "SUSPEND_COMPLETE":
        return
    if action == "resume" and status not in ("SUSPEND_COMPLETE", "SUSPEND_FAILED",
                                             "RESUME_FAILED"):
        return
    heat.stack_action(stack, action)
    heat.wait_for_stack(f"{name}/{stack['id']}", action.upper(), timeout=_timeout(ctx),
                        progress=lambda _s: ctx.check_cancel(forceful_only=True))
    ctx.note(f"{action}d stack {name}")


def _nova_action(ctx: Any, env: Any, server_id: str, verb: str) -> None:
    nova = env.nova(ctx.data)
    server = nova.get_server(server_id)
    status = server.get("status")
    if verb == "reboot":
        nova.reboot(server_id, hard=ctx.op.request.get("reboot") == "HARD")
        wanted = "ACTIVE"
    elif verb == "start":
        wanted = "ACTIVE"
        if status == wanted:
            return
        nova.start(server_id)
    else:
        wanted = "SHUTOFF"
        if status == wanted:
            return
        nova.stop(server_id)
    nova.wait_for_status(server_id, wanted, timeout=_timeout(ctx),
                         progress=lambda _s: ctx.check_cancel(forceful_only=True))
    ctx.note(f"server {server_id} {wanted}")
