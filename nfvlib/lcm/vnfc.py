"""The VNFCs (VDU instances) of a VNF's stack, and which of them a scale-in removes.

Input is the ``resources`` list of Heat's
``GET /v1/{tenant}/stacks/{name}/{id}/resources?nested_depth=N``. Each row
has ``resource_name``, ``resource_type``, ``physical_resource_id``,
``resource_status``, ``creation_time``, ``parent_resource`` (rows of nested
stacks) and ``links``: ``self``, ``stack`` (the stack holding the resource)
and, for a resource backed by a nested stack (a group, a template resource,
a group member), ``nested`` (that nested stack). A row's parent is the row
whose ``nested`` link is the row's ``stack`` link; ``parent_resource`` only
gives the parent's name, which is not unique once a group has members.

A VDU of an ``OS::Heat::AutoScalingGroup`` looks like this (nested_depth 2)::

    VDU1_scale_group  OS::Heat::AutoScalingGroup  stack: vnf-<id>
      6wkt7u46teft    VDU1.yaml                   stack: <group's nested stack>
        VDU1          OS::Nova::Server            stack: <member's nested stack>
        VDU1_CP1      OS::Neutron::Port

The VNFC is the ``VDU1`` row; its group member is ``6wkt7u46teft``, a
resource of the group's nested stack. Marking that member unhealthy
(``PATCH .../stacks/<group stack>/resources/6wkt7u46teft``) makes the
group's next update remove it first when the capacity goes down (Heat
removes failed members, then the oldest), or replace it otherwise. This is
how Tacker v2 chooses which members a scale-in removes: the newest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Collection, Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from nfvlib.exceptions import InvalidInput
from nfvlib.models import VnfcCp, VnfcInfo

__all__ = ["AUTO_SCALING_GROUP", "GroupMember", "group_members", "mark_unhealthy_body",
           "mark_unhealthy_targets", "scale_in_victims", "vnfcs_from_resources"]

AUTO_SCALING_GROUP = "OS::Heat::AutoScalingGroup"
#: Group types: a row of one of these types is never a VNFC, even when it
#: carries a VDU's name.
GROUP_TYPES = frozenset({AUTO_SCALING_GROUP, "OS::Heat::ResourceGroup",
                         "OS::Heat::InstanceGroup"})

_EPOCH = datetime.min.replace(tzinfo=timezone.utc)


def _stack_ref(row: Mapping[str, Any], rel: str) -> str | None:
    """``"<stack name>/<stack id>"`` of the row's link ``rel`` (``stack`` or ``nested``)."""
    for link in row.get("links") or ():
        if isinstance(link, Mapping) and link.get("rel") == rel and link.get("href"):
            parts = urlsplit(str(link["href"])).path.rstrip("/").split("/")
            if len(parts) >= 2 and parts[-2] and parts[-1]:
                return f"{parts[-2]}/{parts[-1]}"
    return None


def _stack_id(ref: str | None) -> str | None:
    return ref.rsplit("/", 1)[-1] if ref else None


def _created(row: Mapping[str, Any]) -> datetime:
    text = row.get("creation_time")
    if not isinstance(text, str) or not text:
        return _EPOCH
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return _EPOCH
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


class _Tree:
    """Parent look-ups over the rows of one ``resources?nested_depth=N`` answer."""

    def __init__(self, rows: list[Mapping[str, Any]]) -> None:
        self.by_nested: dict[str, Mapping[str, Any]] = {}
        self.by_name: dict[str, list[Mapping[str, Any]]] = {}
        for row in rows:
            nested = _stack_id(_stack_ref(row, "nested"))
            if nested:
                self.by_nested[nested] = row
            self.by_name.setdefault(str(row.get("resource_name")), []).append(row)

    def parent(self, row: Mapping[str, Any]) -> Mapping[str, Any] | None:
        """The row whose nested stack holds ``row`` (None at the top stack)."""
        found = self.by_nested.get(_stack_id(_stack_ref(row, "stack")) or "")
        if found is not None:
            return found
        name = row.get("parent_resource")
        same = self.by_name.get(name, []) if isinstance(name, str) else []
        return same[0] if len(same) == 1 else None

    def ancestors(self, row: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """Parent, grandparent, ... of ``row`` (cycles cut)."""
        chain: list[Mapping[str, Any]] = []
        current = self.parent(row)
        while current is not None and all(current is not seen for seen in chain):
            chain.append(current)
            current = self.parent(current)
        return chain


def _scaling_member(tree: _Tree, row: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The nearest ancestor of ``row`` that is a member of an AutoScalingGroup."""
    chain = tree.ancestors(row)
    for member, group in zip(chain, chain[1:]):
        if group.get("resource_type") == AUTO_SCALING_GROUP:
            return member
    return None


#: What :func:`vnfcs_from_resources` needs to find a VDU's connection
#: points: VDU name -> ``(VduCp name, internal virtual link or None)``, in
#: the VNFD's order.
CpLayout = Mapping[str, Sequence[tuple[str, "str | None"]]]


def vnfcs_from_resources(resources: Iterable[Mapping[str, Any]],
                         vdu_names: Collection[str],
                         cps: CpLayout | None = None) -> list[VnfcInfo]:
    """The VNFCs among the rows of ``GET .../resources?nested_depth=N``, newest first.

    A VNFC is a row named after a VDU of ``vdu_names``, matched by name and
    not by type (a server may be a provider template). Rows of group types
    are skipped, and so is a row with a same-named row nested below it (a
    template resource wrapping the real server). ``nested_depth`` must reach
    the servers: 2 for a server in a group member's template.

    For a server inside an ``OS::Heat::AutoScalingGroup`` member, ``member``
    is the member's resource name and ``parent_stack`` the group's nested
    stack (``"<name>/<id>"``), where the member is marked unhealthy; for
    any other server, ``member`` is None and ``parent_stack`` is the stack
    holding the server. Like Tacker v2's ``vnfcResourceInfo``, the list is
    sorted newest first (creation time of the member, else of the server;
    then name), which :func:`scale_in_victims` relies on.

    ``cps`` names each VDU's connection points: a VNFC's is the port row of
    that name in the server's own stack (Tacker v2 pairs them so: same
    parent resource), on the network row named after its virtual link (in
    the port's stack, else the nearest one above it).
    """
    rows = [row for row in resources if isinstance(row, Mapping)]
    tree = _Tree(rows)
    by_place = {(row.get("resource_name"), _stack_ref(row, "stack")): row for row in rows}
    named = [row for row in rows if row.get("resource_name") in vdu_names
             and row.get("resource_type") not in GROUP_TYPES]
    wrappers = set()
    for row in named:
        for ancestor in tree.ancestors(row):
            if ancestor.get("resource_name") == row.get("resource_name"):
                wrappers.add(id(ancestor))
    found = []
    for row in named:
        if id(row) in wrappers:
            continue
        member = _scaling_member(tree, row)
        holder = member if member is not None else row
        vnfc = VnfcInfo(
            id=str(row.get("physical_resource_id") or ""),
            vdu_id=str(row["resource_name"]),
            resource_name=str(row["resource_name"]),
            resource_type=str(row.get("resource_type") or ""),
            status=str(row.get("resource_status") or ""),
            member=str(member["resource_name"]) if member is not None else None,
            parent_stack=_stack_ref(holder, "stack"),
            created_at=str(row["creation_time"]) if row.get("creation_time") else None,
            stack=_stack_ref(row, "stack"),
            cps=tuple(_cp(tree, by_place, row, name, link)
                      for name, link in (cps or {}).get(str(row["resource_name"]), ())),
        )
        found.append(((_created(holder), vnfc.member or vnfc.id), vnfc))
    found.sort(key=lambda pair: pair[0], reverse=True)
    return [vnfc for _, vnfc in found]


def _cp(tree: _Tree, by_place: Mapping[tuple[Any, str | None], Mapping[str, Any]],
        server: Mapping[str, Any], name: str, link: str | None) -> VnfcCp:
    stack = _stack_ref(server, "stack")
    port = by_place.get((name, stack))
    if port is None:
        return VnfcCp(cpd_id=name, virtual_link=link)
    network = None
    if link is not None:
        # the network's stack is the port's, or one of the stacks above it
        places = [stack] + [_stack_ref(row, "stack") for row in tree.ancestors(port)]
        network = next((by_place[(link, place)] for place in places
                        if (link, place) in by_place), None)
    return VnfcCp(
        cpd_id=name, port_id=str(port.get("physical_resource_id") or "") or None,
        port_type=str(port.get("resource_type") or "") or None, virtual_link=link,
        network_id=(str(network.get("physical_resource_id") or "") or None
                    if network is not None else None),
        network_type=(str(network.get("resource_type") or "") or None
                      if network is not None else None))


@dataclass(frozen=True)
class GroupMember:
    """A member of an ``OS::Heat::AutoScalingGroup``: where to mark it unhealthy."""

    #: The group's nested stack, ``"<name>/<id>"``, which holds the member.
    group_stack: str
    #: The member's resource name in that stack (random, given by Heat).
    name: str
    #: The group's resource name in its own stack (e.g. ``VDU1_scale_group``).
    group: str
    status: str = ""

    def key(self) -> str:
        """A stable identity, comparable across reads of the stack."""
        return f"{self.group_stack}/{self.name}"


def group_members(resources: Iterable[Mapping[str, Any]]) -> list[GroupMember]:
    """Every member of every AutoScalingGroup among the rows, nested groups included.

    Members are read at the group level, not through the VNFCs below them,
    so a member whose server was never created (a failed scale-out) is
    listed too.
    """
    rows = [row for row in resources if isinstance(row, Mapping)]
    groups = {}
    for row in rows:
        if row.get("resource_type") == AUTO_SCALING_GROUP:
            nested = _stack_ref(row, "nested")
            if nested:
                groups[_stack_id(nested)] = (nested, str(row.get("resource_name")))
    members = []
    for row in rows:
        holder = _stack_ref(row, "stack")
        group = groups.get(_stack_id(holder) or "")
        if group is not None:
            members.append(GroupMember(group_stack=group[0],
                                       name=str(row.get("resource_name")),
                                       group=group[1],
                                       status=str(row.get("resource_status") or "")))
    return members


def scale_in_victims(vnfcs: Iterable[VnfcInfo], vdu_names: set[str],
                     count_per_vdu: Mapping[str, int]) -> list[VnfcInfo]:
    """The VNFCs a scale-in removes: per VDU, the first ``count`` of ``vnfcs``.

    ``vnfcs`` must be newest first, as :func:`vnfcs_from_resources` returns
    them, so the newest members go (Tacker v2's scale-in rule). ``vdu_names``
    are the VDUs being scaled (the aspect's); ``count_per_vdu`` says how many
    of each to remove (a VDU it lacks loses none). Raises InvalidInput for a
    count that names a VDU outside ``vdu_names``, is negative or exceeds the
    VNFCs found, or when a chosen VNFC is not an AutoScalingGroup member (Heat
    could not be told which one to remove).
    """
    vnfcs = list(vnfcs)
    outside = sorted(set(count_per_vdu) - set(vdu_names))
    if outside:
        raise InvalidInput(f"scale-in counts name VDU(s) {', '.join(outside)} outside the "
                           f"scaled VDUs {', '.join(sorted(vdu_names)) or '(none)'}")
    victims = []
    for vdu in sorted(vdu_names):
        count = count_per_vdu.get(vdu, 0)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InvalidInput(f"scale-in count of VDU {vdu} must be a non-negative "
                               f"integer, not {count!r}")
        members = [vnfc for vnfc in vnfcs if vnfc.vdu_id == vdu]
        if count > len(members):
            raise InvalidInput(f"cannot remove {count} instance(s) of VDU {vdu}: the "
                               f"stack has {len(members)}")
        for vnfc in members[:count]:
            if vnfc.member is None or vnfc.parent_stack is None:
                raise InvalidInput(f"VDU {vdu} instance {vnfc.id} is not a member of an "
                                   f"{AUTO_SCALING_GROUP}, so Heat cannot be told to "
                                   "remove it", hint="put the VDU in an "
                                   f"{AUTO_SCALING_GROUP} in the BaseHOT")
            victims.append(vnfc)
    return victims


def mark_unhealthy_targets(vnfc: VnfcInfo) -> tuple[str, str, str]:
    """``(stack name, stack id, resource name)`` to PATCH to have Heat drop ``vnfc``.

    ``PATCH /v1/{tenant}/stacks/{name}/{id}/resources/{resource}`` with
    :func:`mark_unhealthy_body`: for an AutoScalingGroup member, the member
    in the group's nested stack (the group's next update removes it when
    the capacity goes down, else replaces it); for any other VNFC, the
    server in its own stack (replaced on the stack's next update).
    """
    if not vnfc.parent_stack or "/" not in vnfc.parent_stack:
        raise InvalidInput(f"VNFC {vnfc.id} of VDU {vnfc.vdu_id} has no known stack",
                           hint="list the resources with a nested_depth that reaches it")
    name, stack_id = vnfc.parent_stack.rsplit("/", 1)
    return name, stack_id, vnfc.member or vnfc.resource_name


def mark_unhealthy_body(reason: str = "marked unhealthy by nfvkit") -> dict[str, Any]:
    """The body of the resource PATCH that marks a resource unhealthy."""
    return {"mark_unhealthy": True, "resource_status_reason": reason}
