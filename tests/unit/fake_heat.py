"""A stateful fake Heat (orchestration v1 REST API) on requests-mock.

It answers :class:`nfvlib.heat.HeatClient` the way the real Heat 27 does in
the ways nfvkit depends on (facts measured in ``docs/heat.md``, "Groups,
members and per-member actions" and "Status behaviour"):

* Stacks: create (201), show by name (302 to ``/stacks/<name>/<id>``, like
  Heat's lookup) or by name and id, PATCH (merges parameters, environment
  and files) and PUT (replaces) answered 202 with an HTML body, DELETE
  (204; by id the stack then shows DELETE_COMPLETE, by name it is 404),
  actions suspend / resume / check / cancel_update, snapshots and restore.
  Errors carry Heat's error JSON (404 EntityNotFound, 409, 400).
* Time: every action is asynchronous. The stack shows ``X_IN_PROGRESS``
  for ``polls`` GETs of it (any GET below the top stack counts), then
  ``X_COMPLETE`` or ``X_FAILED``; the resources it touches show
  ``*_IN_PROGRESS`` rows meanwhile. After a failure, siblings stay in
  progress ``lag`` GETs longer (convergence marks the parent failed while
  sibling nested stacks still run), and an update sent then cancels them.
* Templates: the top template's ``resources`` with ``get_param`` (a path
  into the ``nfv`` JSON parameter too), literals, ``get_resource``.
  ``OS::Heat::AutoScalingGroup`` (desired_capacity/min_size/max_size,
  ``resource``) and ``OS::Heat::ResourceGroup`` (count, ``resource_def``,
  ``%index%``) hold their members in a nested stack; a type found in
  ``files`` (after the environment's ``resource_registry``) is a template
  resource with its own nested stack; any other type is a plain resource
  with a uuid. Rows have exactly the keys and ``links`` of a real
  ``resources?nested_depth=N`` answer (``tests/unit/lcm/data``).
* Groups, as Heat's ``heat.scaling.template.member_definitions``: an
  AutoScalingGroup sorts its members failed first (marked unhealthy
  included), then oldest, and keeps the last ``desired_capacity`` of them,
  so a shrink removes marked members, then the oldest; a ResourceGroup
  shrink removes the highest indexes; growth adds members (12 random
  lowercase characters for an AutoScalingGroup, the next indexes for a
  ResourceGroup). A failed or marked member that stays is replaced under
  the same name: new nested stack, new server id, new creation time.
  Member creation times increase strictly (a fake clock, one second a step).
* mark_unhealthy (resource PATCH): CHECK_FAILED with the reason;
  ``mark_unhealthy: false`` brings it back to CHECK_COMPLETE.
* Failures on demand: :meth:`FakeHeat.fail_next_update`,
  :meth:`fail_next_create`, :meth:`fail_member`, :meth:`fail_next_delete`;
  the stack reason names the path (``Resource UPDATE failed: ValueError:
  resources.VDU1_scale_group.resources.<member>.resources.VDU1: ...``) and
  a failed event carries the cause. Updating a FAILED stack is allowed.

Not reproduced: Heat's own rollback (``disable_rollback: false`` is
recorded, never acted on), stack timeouts, resource signals and policies,
per-resource ``resource_registry`` overrides, InstanceGroup, most
intrinsic functions (they resolve to None), outputs of nested templates.
``fake.requests`` logs ``(method, path, json)`` of every call, the path
relative to the endpoint and without its query string.
"""

from __future__ import annotations

import copy
import itertools
import json
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import requests_mock
import yaml

ASG = "OS::Heat::AutoScalingGroup"
RG = "OS::Heat::ResourceGroup"
GROUPS = (ASG, RG)
_SUBPATHS = {"resources", "events", "actions", "snapshots", "outputs", "template"}
_SHORT_ID = "abcdefghijklmnopqrstuvwxyz234567"
_NAME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9_.-]{0,254}$")
_ACCEPTED = ("<html>\n <head>\n  <title>202 Accepted</title>\n </head>\n <body>\n"
             "  <h1>202 Accepted</h1>\n  The request is accepted for processing."
             "<br /><br />\n\n\n\n </body>\n</html>")


class Request(NamedTuple):
    """One call the fake received."""

    method: str
    path: str
    json: Any


class _Reply(Exception):
    """An error answer, raised from anywhere while handling a request."""

    def __init__(self, status: int, message: str, kind: str = "HeatException") -> None:
        super().__init__(message)
        self.status, self.message, self.kind = status, message, kind


@dataclass(eq=False)
class _Resource:
    name: str
    type: str
    physical_id: str
    stack: _Stack
    created: str
    status: str = "INIT_COMPLETE"
    reason: str = "state changed"
    updated: str | None = None
    nested: _Stack | None = None
    props: Any = None
    attrs: dict = field(default_factory=dict)
    required_by: list = field(default_factory=list)


@dataclass(eq=False)
class _Op:
    action: str
    polls: int | None
    touched: list = field(default_factory=list)   # (resource, action, status before)
    removed: list = field(default_factory=list)   # resources being deleted
    failed: list = field(default_factory=list)    # (resource, action, reason)
    lag: int | None = None                        # set once the stack status is final
    prev: Any = None                              # model before an update (cancel_update)


@dataclass(eq=False)
class _Stack:
    name: str
    id: str
    template: dict
    params: dict
    files: dict
    environment: dict
    created: str
    disable_rollback: bool = True
    parent: _Resource | None = None
    status: str = "INIT_COMPLETE"
    reason: str = ""
    updated: str | None = None
    deleted: str | None = None
    timeout_mins: int | None = None
    tags: list | None = None
    resources: dict = field(default_factory=dict)
    events: list = field(default_factory=list)
    snapshots: dict = field(default_factory=dict)
    op: _Op | None = None

    @property
    def root(self) -> _Stack:
        stack = self
        while stack.parent is not None:
            stack = stack.parent.stack
        return stack


class FakeHeat:
    """A Heat endpoint on a requests-mock Mocker; see the module docstring.

    ``polls``: GETs during which an action shows ``X_IN_PROGRESS`` (None:
    forever, for timeouts); ``lag``: further GETs during which siblings of
    a failed resource stay in progress.
    """

    def __init__(self, mocker: Any, url: str = "http://heat.test:8004/v1/admin", *,
                 polls: int | None = 1, lag: int = 1, seed: int = 0) -> None:
        self.url = url.rstrip("/")
        self._base = urlsplit(self.url).path
        self.tenant = self._base.rsplit("/", 1)[-1]
        self.polls, self.lag = polls, lag
        self.requests: list[Request] = []
        self._rng = random.Random(seed)
        self._clock = datetime(2026, 1, 1, tzinfo=timezone.utc)
        self._tops: list[_Stack] = []
        self._fail_next: dict[str, tuple[str, str | None]] = {}
        self._member_failures: list[tuple[str, str, str | None, str]] = []
        self._ip = 10
        self._seq = itertools.count()
        mocker.register_uri(requests_mock.ANY, re.compile(re.escape(self.url) + r"(/.*)?$"),
                            text=self._answer)

    # -- fault injection ------------------------------------------------------------
    def fail_next_update(self, reason: str = "injected failure",
                         resource: str | None = None) -> None:
        """Make the next stack update end UPDATE_FAILED.

        The failing resource is the first one the update touches named
        ``resource`` (any plain resource if None), a newly created one first.
        """
        self._fail_next["UPDATE"] = (reason, resource)

    def fail_next_create(self, reason: str = "injected failure",
                         resource: str | None = None) -> None:
        """Make the next stack create end CREATE_FAILED (see fail_next_update)."""
        self._fail_next["CREATE"] = (reason, resource)

    def fail_next_delete(self, reason: str = "injected failure") -> None:
        """Make the next stack delete end DELETE_FAILED; a later delete succeeds."""
        self._fail_next["DELETE"] = (reason, None)

    def fail_member(self, stack_name: str, group: str, member: str | None = None,
                    reason: str = "injected member failure") -> None:
        """Members of ``group`` fail to create until :meth:`clear_failures`.

        ``member`` None: every new member; else the member of that name (a
        ResourceGroup index such as ``"3"``), created or replaced.
        """
        self._member_failures.append((stack_name, group, member, reason))

    def clear_failures(self) -> None:
        """Forget every injected failure not used yet."""
        self._fail_next.clear()
        self._member_failures.clear()

    # -- inspection -------------------------------------------------------------------
    def stack(self, name_or_id: str) -> dict[str, Any]:
        """The stack (a nested one too) as GET shows it, without moving time."""
        return self._show(self._get(name_or_id))["stack"]

    def members(self, stack_name: str, group: str) -> list[str]:
        """Names of the group's live members, oldest first."""
        nested = self._get(stack_name).resources[group].nested
        live = [r for r in nested.resources.values() if not _gone(r)]
        return [r.name for r in sorted(live, key=lambda r: (r.created, r.name))]

    def servers(self, stack_name: str, vdu: str) -> list[str]:
        """Physical ids of the resources named ``vdu`` (oldest member first)."""
        found = []
        for res, holder in self._walk_resources(self._get(stack_name)):
            if res.name == vdu and res.type not in GROUPS and not _gone(res):
                if res.nested is None or vdu not in res.nested.resources:
                    found.append(((holder.created, holder.name), res.physical_id))
        return [pid for _, pid in sorted(found)]

    def settle(self) -> None:
        """Finish every action in progress now."""
        for top in self._tops:
            for stack in list(self._walk(top)):
                while stack.op is not None:
                    self._advance(stack, force=True)

    # -- HTTP ----------------------------------------------------------------------------
    def _answer(self, request: Any, context: Any) -> str:
        parts = urlsplit(request.url)
        path = unquote(parts.path)[len(self._base):] or "/"
        try:
            body = request.json()
        except (TypeError, ValueError):
            body = None
        self.requests.append(Request(request.method, path, body))
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        try:
            status, payload = self._route(request.method, path, query, body)
        except _Reply as reply:
            status, payload = reply.status, {
                "code": reply.status, "title": _TITLES.get(reply.status, "Error"),
                "explanation": _EXPLAIN.get(reply.status, reply.message),
                "error": {"message": reply.message, "traceback": None, "type": reply.kind}}
        context.status_code = status
        if isinstance(payload, tuple):  # a redirect
            context.headers["Location"] = payload[0]
            return ""
        if payload is None:
            return ""
        if isinstance(payload, str):
            context.headers["Content-Type"] = "text/html; charset=UTF-8"
            return payload
        context.headers["Content-Type"] = "application/json"
        return json.dumps(payload)

    def _route(self, method: str, path: str, query: dict, body: Any) -> tuple[int, Any]:
        parts = [p for p in path.split("/") if p]
        if not parts or parts[0] != "stacks":
            raise _Reply(404, "The resource could not be found.", "HTTPNotFound")
        if len(parts) == 1:
            if method == "GET":
                return 200, {"stacks": [self._summary(s) for s in self._tops
                                        if s.status != "DELETE_COMPLETE"]}
            if method == "POST":
                return self._create(body or {})
            raise _Reply(405, "The method is not allowed.", "HTTPMethodNotAllowed")
        if len(parts) == 2 or parts[2] in _SUBPATHS:  # Heat's lookup: redirect by name
            stack = self._get(parts[1])
            location = f"{self.url}/stacks/{stack.name}/{stack.id}"
            rest = "/".join(parts[2:])
            location += f"/{rest}" if rest else ""
            return 302, (location + (f"?{urlencode(query)}" if query else ""),)
        stack = next((s for top in self._tops for s in self._walk(top)
                      if s.id == parts[2]), None)
        if stack is None or stack.name != parts[1]:
            raise _Reply(404, f"The Stack ({parts[1]}) could not be found.", "EntityNotFound")
        rest = parts[3:]
        if method == "GET":
            self._tick(stack)
        if not rest:
            if method == "GET":
                return 200, self._show(stack)
            if method in ("PATCH", "PUT"):
                self._update(stack, body or {}, patch=method == "PATCH")
                return 202, _ACCEPTED
            if method == "DELETE":
                self._delete(stack)
                return 204, None
        elif rest[0] == "resources":
            if method == "GET" and len(rest) == 1:
                depth = int(query.get("nested_depth", 0))
                return 200, {"resources": [self._row(r) for r in self._rows(stack, depth)]}
            if len(rest) == 2:
                res = stack.resources.get(rest[1])
                if res is None:
                    raise _Reply(404, f"The Resource ({rest[1]}) could not be found.",
                                 "EntityNotFound")
                if method == "GET":
                    return 200, {"resource": self._row(res)}
                if method == "PATCH":
                    self._mark(res, body or {})
                    return 200, None
        elif rest[0] == "events" and method == "GET":
            return 200, {"events": self._events(stack, query)}
        elif rest[0] == "actions" and method == "POST":
            self._action(stack, body or {})
            return 200, None
        elif rest[0] == "snapshots":
            return self._snapshots(method, stack, rest[1:], body or {})
        raise _Reply(405, "The method is not allowed.", "HTTPMethodNotAllowed")

    # -- stack lifecycle -------------------------------------------------------------------
    def _create(self, body: dict) -> tuple[int, Any]:
        name = body.get("stack_name") or ""
        if not _NAME_RE.match(name):
            raise _Reply(400, f'Invalid stack name "{name}" must contain only alphanumeric '
                         'or "_-." characters, must start with alpha and must be 255 '
                         'characters or less.', "StackValidationFailed")
        if any(s.name == name and s.status != "DELETE_COMPLETE" for s in self._tops):
            raise _Reply(409, f"The Stack ({name}) already exists.", "StackExists")
        stack = _Stack(name=name, id=self._uuid(), template=_template(body.get("template")),
                       params=dict(body.get("parameters") or {}),
                       files=dict(body.get("files") or {}),
                       environment=copy.deepcopy(body.get("environment") or {}),
                       created=self._now(), timeout_mins=body.get("timeout_mins"),
                       disable_rollback=bool(body.get("disable_rollback", True)))
        tags = body.get("tags")
        if tags:  # Heat takes a comma-separated string and shows a list
            stack.tags = tags.split(",") if isinstance(tags, str) else list(tags)
        op = _Op("CREATE", self.polls)
        self._converge(stack, op)
        self._tops.append(stack)
        self._start(stack, op)
        return 201, {"stack": {"id": stack.id, "links": [
            {"href": self._href(stack), "rel": "self"}]}}

    def _update(self, stack: _Stack, body: dict, *, patch: bool) -> None:
        if stack.status.endswith("_IN_PROGRESS"):
            raise _Reply(409, f"Stack {stack.name} already has an action "
                         f"({stack.status.split('_')[0]}) in progress.", "ActionInProgress")
        if not patch and "template" not in body:
            raise _Reply(400, "No template specified", "HTTPBadRequest")
        self._cancel_lagging(stack)
        prev = copy.deepcopy(stack)
        work = copy.deepcopy(stack)
        if "template" in body:
            work.template = _template(body["template"])
        env = copy.deepcopy(body.get("environment") or {})
        if patch:
            work.params.update(body.get("parameters") or {})
            work.files.update(body.get("files") or {})
            for key, value in env.items():
                if isinstance(value, dict) and isinstance(work.environment.get(key), dict):
                    work.environment[key] = {**work.environment[key], **value}
                else:
                    work.environment[key] = value
        else:
            work.params = dict(body.get("parameters") or {})
            work.files = dict(body.get("files") or {})
            work.environment = env
        op = _Op("UPDATE", self.polls, prev=prev)
        if stack.status.startswith("SUSPEND"):
            op.failed.append((None, "UPDATE", "Update of a suspended stack is not "
                              "supported (resume it first)"))
        self._converge(work, op)  # raises before anything changes on a bad request
        self._replace_model(stack, work)
        stack.updated = self._now()
        self._start(stack, op)

    def _delete(self, stack: _Stack) -> None:
        if stack.status == "DELETE_COMPLETE":
            raise _Reply(404, f"The Stack ({stack.name}) could not be found.",
                         "EntityNotFound")
        self._cancel_lagging(stack)
        stack.op = None
        op = _Op("DELETE", self.polls)
        for res, _holder in self._walk_resources(stack):
            op.touched.append((res, "DELETE", res.status))
        if "DELETE" in self._fail_next:
            reason, _ = self._fail_next.pop("DELETE")
            victim = next(iter(stack.resources.values()), None)
            op.failed.append((victim, "DELETE", reason))
        self._start(stack, op)

    def _action(self, stack: _Stack, body: dict) -> None:
        if len(body) != 1:
            raise _Reply(400, "Invalid action, only one action allowed", "HTTPBadRequest")
        name = next(iter(body))
        if name == "cancel_update":
            if stack.status != "UPDATE_IN_PROGRESS" or stack.op is None:
                raise _Reply(400, f"Cancelling update when stack is {stack.status}",
                             "NotSupported")
            prev = stack.op.prev
            stack.op = None
            self._replace_model(stack, prev)
            self._start(stack, _Op("ROLLBACK", self.polls))
            return
        if name not in ("suspend", "resume", "check"):
            raise _Reply(400, f"Invalid action {name}", "HTTPBadRequest")
        if stack.status.endswith("_IN_PROGRESS"):
            raise _Reply(409, f"Stack {stack.name} already has an action "
                         f"({stack.status.split('_')[0]}) in progress.", "ActionInProgress")
        op = _Op(name.upper(), self.polls)
        if name != "check":
            for res, _holder in self._walk_resources(stack):
                op.touched.append((res, op.action, res.status))
        self._start(stack, op)

    def _replace_model(self, stack: _Stack, source: _Stack) -> None:
        """Give ``stack`` (kept, as callers hold it) the model of ``source``."""
        for name in ("template", "params", "files", "environment"):
            setattr(stack, name, getattr(source, name))
        stack.resources = source.resources
        for res in stack.resources.values():
            res.stack = stack

    # -- the template model ------------------------------------------------------------------
    def _converge(self, stack: _Stack, op: _Op) -> None:
        """Bring the stack's resources to what its template and parameters say."""
        values = self._param_values(stack)
        wanted = (stack.template.get("resources") or {})
        for name in [n for n in stack.resources if n not in wanted]:
            self._remove(stack.resources[name], op)
        required: dict[str, list[str]] = {}
        for name, body in wanted.items():
            for ref in _references(body):
                required.setdefault(ref, []).append(name)
        for name, body in wanted.items():
            if not isinstance(body, dict) or "type" not in body:
                raise _Reply(400, f"Resource {name} is missing \"type\"",
                             "StackValidationFailed")
            props = _resolve(body.get("properties") or {}, values)
            res = self._converge_resource(stack, name, body["type"], props, op)
            res.required_by = required.get(name, [])

    def _converge_resource(self, stack: _Stack, name: str, rtype: str, props: Any,
                           op: _Op) -> _Resource:
        res = stack.resources.get(name)
        if res is not None and res.type != rtype:
            self._remove(res, op)
            res = None
        # Heat replaces a failed plain resource and a resource marked unhealthy;
        # a failed resource with a nested stack updates that stack instead.
        replace = res is not None and (res.status == "CHECK_FAILED" or (
            res.status.endswith("_FAILED") and res.nested is None))
        if res is None or replace:
            res = self._new_resource(stack, name, rtype, res)
            op.touched.append((res, "CREATE", None))
            self._maybe_fail(res, op)
            changed = True
        else:
            changed = res.props != props
            if changed or res.nested is not None:
                op.touched.append((res, "UPDATE", res.status))
        res.props = props
        if rtype in GROUPS:
            self._scale(res, props, op)
        elif res.nested is not None:
            res.nested.params = props if isinstance(props, dict) else {}
            self._converge(res.nested, op)
        elif changed and "fixed_ips" not in res.attrs and "Port" in rtype:
            self._ip += 1
            res.attrs["fixed_ips"] = [{"ip_address": f"192.168.0.{self._ip}",
                                       "subnet_id": self._uuid()}]
        return res

    def _new_resource(self, stack: _Stack, name: str, rtype: str,
                      old: _Resource | None) -> _Resource:
        if old is not None and old.nested is not None:
            old.nested.status, old.nested.deleted = "DELETE_COMPLETE", self._now()
        res = _Resource(name=name, type=rtype, physical_id="", stack=stack,
                        created=self._now())
        template = None if rtype in GROUPS else self._template_for(stack, rtype)
        if rtype in GROUPS or template is not None:
            res.nested = _Stack(
                name=f"{stack.name}-{name}-{self._short_id()}", id=self._uuid(),
                template=template or {"resources": {}}, params={}, files={},
                environment={}, created=res.created, parent=res)
            res.physical_id = res.nested.id
        else:
            res.physical_id = self._uuid()
        stack.resources[name] = res
        return res

    def _scale(self, group: _Resource, props: dict, op: _Op) -> None:
        nested = group.nested
        if group.type == ASG:
            low, high = int(props.get("min_size") or 0), props.get("max_size")
            size = props.get("desired_capacity")
            size = low if size is None else int(size)
            if size < low or (high is not None and size > int(high)):
                raise _Reply(400, f"Property error: resources.{group.name}.properties: "
                             "desired_capacity must be between min_size and max_size",
                             "StackValidationFailed")
            member = props.get("resource") or {}
            live = [r for r in nested.resources.values() if r not in op.removed]
            ordered = sorted(live, key=lambda r: (not r.status.endswith("_FAILED"),
                                                  r.created, r.name))
            keep = ordered[max(len(ordered) - size, 0):] if size else []
            for res in ordered[:len(ordered) - len(keep)]:
                self._remove(res, op)
            names = [r.name for r in keep]
            while len(names) < size:
                names.append(self._short_id())
            for name in names:
                self._converge_resource(nested, name, member.get("type"),
                                        copy.deepcopy(member.get("properties") or {}), op)
        else:
            count = props.get("count")
            count = 1 if count is None else int(count)
            member = props.get("resource_def") or {}
            for name in [n for n in nested.resources if int(n) >= count]:
                self._remove(nested.resources[name], op)
            for index in range(count):
                self._converge_resource(
                    nested, str(index), member.get("type"),
                    _index(copy.deepcopy(member.get("properties") or {}), index), op)

    def _remove(self, res: _Resource, op: _Op) -> None:
        if res not in op.removed:
            op.removed.append(res)

    def _template_for(self, stack: _Stack, rtype: str) -> dict | None:
        root = stack.root
        mapped = ((root.environment.get("resource_registry") or {}).get(rtype, rtype))
        if not isinstance(mapped, str) or mapped not in root.files:
            if isinstance(mapped, str) and mapped.endswith((".yaml", ".yml", ".template")):
                raise _Reply(400, f"Could not fetch remote template \"{mapped}\": "
                             "not in files", "StackValidationFailed")
            return None
        return _template(root.files[mapped])

    def _param_values(self, stack: _Stack) -> dict[str, Any]:
        declared = stack.template.get("parameters") or {}
        given = {**(stack.environment.get("parameters") or {}), **stack.params}
        if stack.parent is None:
            unknown = sorted(set(stack.params) - set(declared))
            if unknown:
                raise _Reply(400, f"The Parameter ({unknown[0]}) was not defined in "
                             "template.", "UnknownUserParameter")
        values = {}
        for name, spec in declared.items():
            spec = spec or {}
            if name not in given and "default" not in spec:
                if stack.parent is None:
                    raise _Reply(400, f"The Parameter ({name}) was not provided.",
                                 "UserParameterMissing")
            value = given.get(name, spec.get("default"))
            kind = spec.get("type")
            try:
                if kind == "json" and isinstance(value, str):
                    value = json.loads(value)
                elif kind == "number" and isinstance(value, str):
                    value = float(value) if "." in value else int(value)
            except ValueError as exc:
                raise _Reply(400, f"Parameter '{name}' is invalid: {exc}",
                             "StackValidationFailed") from exc
            values[name] = value
        return values

    def _maybe_fail(self, res: _Resource, op: _Op) -> None:
        stack = res.stack
        group = stack.parent
        for stack_name, group_name, member, reason in self._member_failures:
            if (group is not None and group.name == group_name
                    and group.stack.root.name == stack_name
                    and member in (None, res.name)):
                op.failed.append((res, "CREATE", reason))
                return

    # -- time ---------------------------------------------------------------------------------
    def _start(self, stack: _Stack, op: _Op) -> None:
        """Put the stack and what the action touches in progress."""
        injected = self._fail_next.pop(op.action, None) if op.action != "DELETE" else None
        if injected is not None:
            reason, wanted = injected
            plain = [(r, a) for r, a, _ in op.touched if r.nested is None
                     and (wanted is None or r.name == wanted)]
            plain.sort(key=lambda pair: pair[1] != "CREATE")
            target = plain[0] if plain else next(
                ((r, a) for r, a, _ in op.touched), (None, op.action))
            op.failed.append((target[0], target[1], reason))
        stack.op = op
        stack.status, stack.reason = f"{op.action}_IN_PROGRESS", f"Stack {op.action} started"
        self._event(stack, None, stack.status, stack.reason)
        for res, action, _ in op.touched:
            self._set(res, f"{action}_IN_PROGRESS", "state changed")
        for res in op.removed:
            self._set(res, "DELETE_IN_PROGRESS", "state changed")
        if op.polls == 0:
            self._advance(stack)

    def _tick(self, stack: _Stack) -> None:
        for each in list(self._walk(stack.root)):
            if each.op is not None:
                self._advance(each)

    def _advance(self, stack: _Stack, force: bool = False) -> None:
        op = stack.op
        if op.lag is not None:  # the stack failed; siblings finish later
            if op.lag > 0 and not force:
                op.lag -= 1
                return
            self._finish_touched(op)
            stack.op = None
            return
        if op.polls is None and not force:
            return
        if op.polls and not force:
            op.polls -= 1
            return
        if not op.failed:
            self._finish_touched(op)
            stack.op = None
            if op.action == "DELETE":
                stack.deleted = self._now()
                for res, _ in list(self._walk_resources(stack)):
                    if res.nested is not None:
                        res.nested.status = "DELETE_COMPLETE"
                stack.resources = {}
            stack.status = f"{op.action}_COMPLETE"
            stack.reason = f"Stack {op.action} completed successfully"
            self._event(stack, None, stack.status, stack.reason)
            return
        first = None
        done = set()
        for res, action, reason in op.failed:
            if res is None:
                first = first or (f"resources.{stack.name}", reason)
                continue
            while res.nested is not None and res.nested.resources:  # fail a leaf
                res = next(iter(res.nested.resources.values()))
                action = "CREATE" if self._created_by(op, res) else action
            cause = f"ValueError: resources.{res.name}: {reason}"
            self._set(res, f"{action}_FAILED", cause)
            done.add(id(res))
            first = first or (self._path(stack, res), reason)
            current = res  # the resources holding it fail too
            while current.stack is not stack:
                holder = current.stack.parent
                created = self._created_by(op, holder)
                self._set(holder, f"{'CREATE' if created else op.action}_FAILED",
                          f"resources.{current.name}: {cause}")
                done.add(id(holder))
                current = holder
        if op.action == "DELETE":  # nothing was deleted: the rest is as before
            for res, _action, before in op.touched:
                if id(res) not in done:
                    self._set(res, before, "state changed")
            op.touched = []
        op.touched = [t for t in op.touched if id(t[0]) not in done]
        stack.status = f"{op.action}_FAILED"
        stack.reason = f"Resource {op.action} failed: ValueError: {first[0]}: {first[1]}"
        self._event(stack, None, stack.status, stack.reason)
        op.lag = 0 if force else self.lag
        if op.lag == 0 or op.action == "DELETE":
            self._finish_touched(op)
            stack.op = None

    def _finish_touched(self, op: _Op) -> None:
        for res, action, _ in op.touched:
            if res.status.endswith("_IN_PROGRESS"):
                self._set(res, f"{action}_COMPLETE", "state changed")
        for res in op.removed:
            self._set(res, "DELETE_COMPLETE", "state changed")
            if res.stack.resources.get(res.name) is res:
                del res.stack.resources[res.name]
            if res.nested is not None:
                res.nested.status, res.nested.deleted = "DELETE_COMPLETE", self._now()
        op.touched, op.removed = [], []

    def _cancel_lagging(self, stack: _Stack) -> None:
        """A new action while siblings of a failure still run cancels them (convergence)."""
        op = stack.op
        if op is None or op.lag is None:
            return
        for res, action, _ in op.touched:
            if res.status.endswith("_IN_PROGRESS"):
                self._set(res, f"{action}_FAILED",
                          f"{action} aborted (Stack {op.action} cancelled)")
        op.touched = []
        self._finish_touched(op)
        stack.op = None

    def _created_by(self, op: _Op, res: _Resource) -> bool:
        return any(r is res and a == "CREATE" for r, a, _ in op.touched)

    def _path(self, stack: _Stack, res: _Resource) -> str:
        chain = []
        current: _Resource | None = res
        while current is not None:
            group = current.stack.parent
            if group is not None and group.type == RG:
                chain.append(f"resources[{current.name}]")
            else:
                chain.append(f"resources.{current.name}")
            if current.stack is stack:
                break
            current = group
        return ".".join(reversed(chain))

    def _set(self, res: _Resource, status: str, reason: str) -> None:
        res.status, res.reason = status, reason
        if not status.startswith(("CREATE", "INIT")):
            res.updated = self._now()
        if res.nested is not None and not status.startswith("CHECK"):
            res.nested.status = status
        self._event(res.stack, res, status, reason)

    def _mark(self, res: _Resource, body: dict) -> None:
        flag = body.get("mark_unhealthy")
        if not isinstance(flag, bool):
            raise _Reply(400, "mark_unhealthy must be a boolean", "HTTPBadRequest")
        if res.status.endswith("_IN_PROGRESS"):
            raise _Reply(409, f"Stack {res.stack.name} already has an action in progress.",
                         "ActionInProgress")
        reason = body.get("resource_status_reason") or ""
        if flag:
            self._set(res, "CHECK_FAILED", reason)
        elif res.status == "CHECK_FAILED":
            self._set(res, "CHECK_COMPLETE", reason)

    # -- snapshots ----------------------------------------------------------------------------
    def _snapshots(self, method: str, stack: _Stack, rest: list, body: dict) -> tuple:
        if not rest and method == "POST":
            snap = {"id": self._uuid(), "name": body.get("name") or "",
                    "status": "IN_PROGRESS", "status_reason": "", "data": None,
                    "creation_time": self._now(), "model": copy.deepcopy(stack)}
            stack.snapshots[snap["id"]] = snap
            return 200, _snap_json(snap)
        for each in stack.snapshots.values():  # a snapshot takes one request
            if each["status"] == "IN_PROGRESS" and not (method == "POST" and not rest):
                each["status"] = "COMPLETE"
                each["status_reason"] = "Stack SNAPSHOT completed successfully"
        if not rest and method == "GET":
            return 200, {"snapshots": [_snap_json(s) for s in stack.snapshots.values()]}
        snap = stack.snapshots.get(rest[0]) if rest else None
        if snap is None:
            raise _Reply(404, f"The Snapshot ({rest[0] if rest else ''}) could not be "
                         "found.", "EntityNotFound")
        if method == "GET" and len(rest) == 1:
            return 200, {"snapshot": _snap_json(snap)}
        if method == "DELETE" and len(rest) == 1:
            del stack.snapshots[rest[0]]
            return 204, None
        if method == "POST" and rest[1:] == ["restore"]:
            if stack.status.endswith("_IN_PROGRESS"):
                raise _Reply(409, f"Stack {stack.name} already has an action in progress.",
                             "ActionInProgress")
            self._cancel_lagging(stack)
            self._replace_model(stack, copy.deepcopy(snap["model"]))
            self._start(stack, _Op("RESTORE", self.polls))
            return 202, _ACCEPTED
        raise _Reply(405, "The method is not allowed.", "HTTPMethodNotAllowed")

    # -- views -----------------------------------------------------------------------------------
    def _show(self, stack: _Stack) -> dict[str, Any]:
        shown = {k: v if isinstance(v, str) else json.dumps(v)
                 for k, v in stack.params.items()}
        shown.update({"OS::stack_id": stack.id, "OS::stack_name": stack.name,
                      "OS::project_id": self.tenant})
        return {"stack": {
            **self._summary(stack), "capabilities": [], "disable_rollback":
            stack.disable_rollback, "notification_topics": [], "outputs": self._outputs(stack),
            "parameters": shown, "parent": stack.parent.stack.id if stack.parent else None,
            "template_description": stack.template.get("description", "No description"),
            "timeout_mins": stack.timeout_mins}}

    def _summary(self, stack: _Stack) -> dict[str, Any]:
        return {"creation_time": stack.created, "deletion_time": stack.deleted,
                "description": stack.template.get("description", "No description"),
                "id": stack.id, "links": [{"href": self._href(stack), "rel": "self"}],
                "stack_name": stack.name, "stack_owner": None,
                "stack_status": stack.status, "stack_status_reason": stack.reason,
                "stack_user_project_id": self.tenant, "tags": stack.tags,
                "updated_time": stack.updated}

    def _outputs(self, stack: _Stack) -> list[dict[str, Any]]:
        if stack.status == "DELETE_COMPLETE":
            return []
        values = self._param_values(stack)
        return [{"output_key": key, "description": (spec or {}).get("description", ""),
                 "output_value": _resolve((spec or {}).get("value"), values, stack)}
                for key, spec in (stack.template.get("outputs") or {}).items()]

    def _rows(self, stack: _Stack, depth: int) -> list[_Resource]:
        level, rows = [stack], []
        for _ in range(depth + 1):
            below = []
            for each in level:
                for res in each.resources.values():
                    rows.append(res)
                    if res.nested is not None:
                        below.append(res.nested)
            level = below
        return rows

    def _row(self, res: _Resource) -> dict[str, Any]:
        links = [{"href": f"{self._href(res.stack)}/resources/{res.name}", "rel": "self"},
                 {"href": self._href(res.stack), "rel": "stack"}]
        if res.nested is not None:
            links.append({"href": self._href(res.nested), "rel": "nested"})
        row = {"creation_time": res.created, "links": links, "logical_resource_id": res.name,
               "physical_resource_id": res.physical_id, "required_by": list(res.required_by),
               "resource_name": res.name, "resource_status": res.status,
               "resource_status_reason": res.reason, "resource_type": res.type,
               "updated_time": res.updated or res.created}
        if res.stack.parent is not None:
            row["parent_resource"] = res.stack.parent.name
        return row

    def _events(self, stack: _Stack, query: dict) -> list[dict[str, Any]]:
        depth = int(query.get("nested_depth", 0))
        stacks, level = [], [stack]
        for _ in range(depth + 1):
            stacks += level
            level = [r.nested for s in level for r in s.resources.values() if r.nested]
        events = sorted((e for s in stacks for e in s.events), key=lambda e: e["_seq"],
                        reverse=query.get("sort_dir", "desc") != "asc")
        if query.get("limit"):
            events = events[:int(query["limit"])]
        shown = []
        for event in events:
            event = {k: v for k, v in event.items() if k != "_seq"}
            if depth:
                event["root_stack_id"] = stack.id
            shown.append(event)
        return shown

    def _event(self, stack: _Stack, res: _Resource | None, status: str, reason: str) -> None:
        name = res.name if res is not None else stack.name
        event_id = self._uuid()
        stack.events.append({
            "_seq": next(self._seq),
            "event_time": self._now(), "id": event_id,
            "links": [{"href": f"{self._href(stack)}/resources/{name}/events/{event_id}",
                       "rel": "self"},
                      {"href": f"{self._href(stack)}/resources/{name}", "rel": "resource"},
                      {"href": self._href(stack), "rel": "stack"}],
            "logical_resource_id": name,
            "physical_resource_id": res.physical_id if res is not None else stack.id,
            "resource_name": name, "resource_status": status,
            "resource_status_reason": reason})

    # -- helpers ---------------------------------------------------------------------------------
    def _get(self, name_or_id: str) -> _Stack:
        for top in self._tops:
            for stack in self._walk(top):
                if stack.id == name_or_id or (stack.name == name_or_id
                                              and stack.status != "DELETE_COMPLETE"):
                    return stack
        raise _Reply(404, f"The Stack ({name_or_id}) could not be found.", "EntityNotFound")

    def _walk(self, stack: _Stack):
        yield stack
        for res in list(stack.resources.values()):
            if res.nested is not None:
                yield from self._walk(res.nested)

    def _walk_resources(self, stack: _Stack, holder: _Resource | None = None):
        """(resource, the outermost group member holding it, else itself)."""
        for res in list(stack.resources.values()):
            mine = holder
            if mine is None and stack.parent is not None and stack.parent.type in GROUPS:
                mine = res
            yield res, (mine or res)
            if res.nested is not None:
                yield from self._walk_resources(res.nested, mine)

    def _href(self, stack: _Stack) -> str:
        return f"{self.url}/stacks/{stack.name}/{stack.id}"

    def _now(self) -> str:
        self._clock += timedelta(seconds=1)
        return self._clock.strftime("%Y-%m-%dT%H:%M:%SZ")

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _short_id(self) -> str:
        return "".join(self._rng.choice(_SHORT_ID) for _ in range(12))


_TITLES = {400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict"}
_EXPLAIN = {400: "The server could not comply with the request since it is either "
                 "malformed or otherwise incorrect.",
            404: "The resource could not be found.",
            409: "There was a conflict when trying to complete your request."}


def _gone(res: _Resource) -> bool:
    return res.status in ("DELETE_IN_PROGRESS", "DELETE_COMPLETE")


def _template(text: Any) -> dict:
    if isinstance(text, dict):
        return copy.deepcopy(text)
    if not isinstance(text, str) or not text.strip():
        raise _Reply(400, "No template specified", "HTTPBadRequest")
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _Reply(400, f"Error parsing template: {exc}", "HTTPBadRequest") from exc
    if not isinstance(loaded, dict):
        raise _Reply(400, "The template is not a JSON object or YAML mapping.",
                     "HTTPBadRequest")
    return loaded


def _resolve(value: Any, params: dict, stack: _Stack | None = None) -> Any:
    """Evaluate ``get_param`` (with a path), ``get_resource`` and, given the
    stack, ``get_attr``; other functions give None."""
    if isinstance(value, list):
        return [_resolve(v, params, stack) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, arg), = value.items()
        if key == "get_param":
            path = arg if isinstance(arg, list) else [arg]
            return _walk_path(params.get(path[0]), [_resolve(p, params) for p in path[1:]])
        if key == "get_resource":
            if stack is not None and arg in stack.resources:
                return stack.resources[arg].physical_id
            return arg
        if key == "get_attr":
            res = stack.resources.get(arg[0]) if stack is not None else None
            return _walk_path(res.attrs, arg[1:]) if res is not None else None
        if key.startswith(("get_", "str_", "list_", "yaql", "if", "repeat", "map_")):
            return None
    return {k: _resolve(v, params, stack) for k, v in value.items()}


def _walk_path(value: Any, path: list) -> Any:
    for step in path:
        if isinstance(value, dict):
            value = value.get(step)
        elif isinstance(value, list) and isinstance(step, int) and step < len(value):
            value = value[step]
        else:
            return None
    return value


def _references(body: Any) -> set[str]:
    """Resources a template resource needs (``get_resource``, ``depends_on``)."""
    found: set[str] = set()
    if isinstance(body, dict):
        for key, value in body.items():
            if key == "get_resource" and isinstance(value, str):
                found.add(value)
            elif key == "depends_on":
                found.update([value] if isinstance(value, str) else value or [])
            else:
                found |= _references(value)
    elif isinstance(body, list):
        for value in body:
            found |= _references(value)
    return found


def _index(value: Any, index: int) -> Any:
    if isinstance(value, str):
        return value.replace("%index%", str(index))
    if isinstance(value, list):
        return [_index(v, index) for v in value]
    if isinstance(value, dict):
        return {k: _index(v, index) for k, v in value.items()}
    return value


def _snap_json(snap: dict) -> dict:
    return {k: v for k, v in snap.items() if k != "model"}
