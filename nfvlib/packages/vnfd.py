"""The VNFD of a VNF package, as ETSI SOL001 writes it and Tacker reads it.

:func:`parse_vnfd` follows ``imports`` from the entry file, learns the node
and policy types the files declare (the ETSI type files among them), finds the
VNF node of the entry file and one deployment flavour per file whose
``topology_template`` has ``substitution_mappings``. The result is plain frozen
dataclasses; :func:`desired_capacity` turns an instantiation level and scale
levels into a VDU's instance count.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from typing import Any

from nfvlib.exceptions import InvalidInput, PackageError
from nfvlib.inputs import short
from nfvlib.packages.csar import Definitions, Source, as_list, as_mapping, normalize

VNF_TYPE = "tosca.nodes.nfv.VNF"
VDU_TYPE = "tosca.nodes.nfv.Vdu.Compute"
CP_TYPE = "tosca.nodes.nfv.VduCp"
VL_TYPE = "tosca.nodes.nfv.VnfVirtualLink"
STORAGE_TYPES = ("tosca.nodes.nfv.Vdu.VirtualBlockStorage",
                 "tosca.nodes.nfv.Vdu.VirtualObjectStorage",
                 "tosca.nodes.nfv.Vdu.VirtualFileStorage")
ASPECTS_TYPE = "tosca.policies.nfv.ScalingAspects"
DELTAS_TYPE = "tosca.policies.nfv.VduScalingAspectDeltas"
LEVELS_TYPE = "tosca.policies.nfv.InstantiationLevels"
VDU_LEVELS_TYPE = "tosca.policies.nfv.VduInstantiationLevels"
INITIAL_DELTA_TYPE = "tosca.policies.nfv.VduInitialDelta"

#: Largest scale level an aspect may declare, and largest instance count a VDU,
#: delta or level may give: far below any integer Heat takes.
MAX_SCALE_LEVEL = 10_000
MAX_INSTANCES = 10_000
#: A descriptor id: letters, digits, ``.``, ``_``, ``-`` and ``:``, at most 255
#: characters, starting with a letter or digit (it names files and records).
DESCRIPTOR_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,254}")
#: Longest provider, product name, version or flavour description.
MAX_TEXT = 1024


@dataclass(frozen=True)
class Vdu:
    """A ``tosca.nodes.nfv.Vdu.Compute`` node of a flavour."""

    name: str
    vdu_name: str
    description: str
    min_instances: int
    max_instances: int
    #: From ``VduInitialDelta``; the VDU's minimum when the policy is absent.
    initial_delta: int
    #: ``requested_additional_capability_name`` (the Nova flavour), if any.
    compute_flavour: str | None
    #: ``sw_image_data.name`` of the VDU or of its virtual storage, if any.
    sw_image: str | None
    virtual_storages: tuple[str, ...]
    cps: tuple[str, ...]


@dataclass(frozen=True)
class Cp:
    """A ``tosca.nodes.nfv.VduCp``: a VDU's port on a virtual link."""

    name: str
    vdu: str | None
    virtual_link: str | None
    order: int | None


@dataclass(frozen=True)
class VirtualLink:
    """A ``tosca.nodes.nfv.VnfVirtualLink`` internal to the VNF."""

    name: str
    description: str
    cidrs: tuple[str, ...]


@dataclass(frozen=True)
class ScalingAspect:
    """A scaling aspect with the VDU deltas of its steps."""

    aspect_id: str
    max_scale_level: int
    #: delta id -> VDU -> instances added per step using that delta.
    deltas: dict[str, dict[str, int]]
    vdus: tuple[str, ...]
    #: Delta id of each step (one entry: uniform deltas).
    step_deltas: tuple[str, ...] = ()
    description: str = ""

    def instances_between(self, vdu: str, from_level: int, to_level: int) -> int:
        """Instances of ``vdu`` added (negative: removed) going between two levels."""
        def step_delta(step: int) -> int:
            if not self.step_deltas:
                return 0
            delta_id = self.step_deltas[0 if len(self.step_deltas) == 1 else step - 1]
            return self.deltas.get(delta_id, {}).get(vdu, 0)
        low, high = sorted((from_level, to_level))
        total = sum(step_delta(step) for step in range(low + 1, high + 1))
        return total if to_level >= from_level else -total


@dataclass(frozen=True)
class InstantiationLevel:
    """An instantiation level: VDU instance counts and the scale level of each aspect."""

    level_id: str
    vdu_instances: dict[str, int]
    scale_levels: dict[str, int]
    description: str = ""


@dataclass(frozen=True)
class LifecycleScript:
    """The script a ``tosca.interfaces.nfv.Vnflcm`` operation names."""

    event: str
    #: Package-relative path of the script file.
    file: str
    #: Name of the node artifact, or None when the implementation is a path.
    artifact: str | None = None
    artifact_type: str | None = None


@dataclass(frozen=True)
class Flavour:
    """A deployment flavour: its topology, scaling and lifecycle scripts."""

    flavour_id: str
    description: str
    vdus: dict[str, Vdu]
    cps: dict[str, Cp]
    virtual_links: dict[str, VirtualLink]
    scaling_aspects: dict[str, ScalingAspect]
    instantiation_levels: dict[str, InstantiationLevel]
    default_instantiation_level: str | None
    lifecycle: dict[str, LifecycleScript]
    #: Package-relative path of the file holding the flavour's topology.
    definitions_file: str = ""

    def max_scale_levels(self) -> dict[str, int]:
        """The ``max_scale_level`` of each scaling aspect (SOL003 ``maxScaleLevels``)."""
        return {aid: aspect.max_scale_level for aid, aspect in self.scaling_aspects.items()}


@dataclass(frozen=True)
class Vnfd:
    """What a package's VNFD says: the VNF's identity and its flavours."""

    vnfd_id: str
    vnf_provider: str
    vnf_product_name: str
    vnf_software_version: str
    vnfd_version: str
    flavours: dict[str, Flavour]
    #: Every VNFD file read, entry first.
    files: tuple[str, ...] = ()


def _int(value: Any, file: str, what: str, maximum: int = MAX_INSTANCES) -> int:
    if value is None:
        raise PackageError(file, f"{what} missing")
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise PackageError(file, f"{what} must be a non-negative integer, not "
                           f"{short(value)}")
    if value > maximum:
        raise PackageError(file, f"{what} {short(value)} is more than {maximum}")
    return value


def _str(value: Any, file: str, what: str, maximum: int = MAX_TEXT) -> str:
    if value is None or value == "":
        raise PackageError(file, f"{what} missing")
    if not isinstance(value, str):
        raise PackageError(file, f"{what} must be a string, not {short(value)}",
                           hint="quote the value in the YAML")
    if len(value) > maximum:
        raise PackageError(file, f"{what} is {len(value)} characters long, more than "
                           f"{maximum}")
    if not value.isprintable():
        raise PackageError(file, f"{what} {short(value)} holds control characters")
    return value


def _properties(node: dict[str, Any], file: str, name: str) -> dict[str, Any]:
    """A node's ``properties``: absent is none, but written and empty is a mistake."""
    if "properties" in node and node["properties"] is None:
        raise PackageError(file, f"node {name}: properties is empty (null)",
                           hint="give the properties or remove the key")
    return as_mapping(node.get("properties"), file, f"node {name}: properties")


def _node_kind(defs: Definitions, name: str, node: dict[str, Any], file: str) -> str | None:
    """Which SOL001 node type ``node`` is (one of the *_TYPE names), if any."""
    type_name = node.get("type")
    if not isinstance(type_name, str):
        raise PackageError(file, f"node {name}: type missing")
    if type_name not in defs.types["node_types"] and not type_name.startswith("tosca."):
        raise PackageError(file, f"node {name}: type {type_name} is not defined",
                           hint="define it in node_types of an imported file")
    for kind in (VNF_TYPE, VDU_TYPE, CP_TYPE, VL_TYPE, *STORAGE_TYPES):
        if defs.derives("node_types", type_name, kind):
            return kind
    return None


def _nodes(doc: dict[str, Any], file: str) -> dict[str, dict[str, Any]]:
    topology = as_mapping(doc.get("topology_template"), file, "topology_template")
    nodes = as_mapping(topology.get("node_templates"), file, "topology_template.node_templates")
    return {name: as_mapping(node, file, f"node {name}") for name, node in nodes.items()}


def _vnf_node(defs: Definitions, doc: dict[str, Any],
              file: str) -> tuple[str, dict[str, Any]] | None:
    for name, node in _nodes(doc, file).items():
        if _node_kind(defs, name, node, file) == VNF_TYPE:
            return name, node
    return None


def _requirements(node: dict[str, Any], file: str, where: str) -> list[tuple[str, str]]:
    """``requirements`` as (name, target node) pairs; the long form gives ``node``."""
    pairs = []
    for req in as_list(node.get("requirements"), file, f"{where}: requirements"):
        for key, target in as_mapping(req, file, f"{where}: requirements").items():
            target = target.get("node") if isinstance(target, dict) else target
            if not isinstance(target, str):
                raise PackageError(file, f"{where}: requirements.{key} must name a node")
            pairs.append((key, target))
    return pairs


class _Flavour:
    """Builds one :class:`Flavour` from a file whose topology has substitution_mappings."""

    def __init__(self, defs: Definitions, file: str, doc: dict[str, Any],
                 top: tuple[str, str, dict[str, Any]]) -> None:
        self.defs, self.file, self.top = defs, file, top
        topology = doc["topology_template"]
        where = "topology_template.substitution_mappings"
        mappings = as_mapping(topology.get("substitution_mappings"), file, where)
        node_type = mappings.get("node_type")
        if not isinstance(node_type, str) or not defs.derives("node_types", node_type,
                                                              VNF_TYPE):
            raise PackageError(file, f"{where}.node_type must name a type derived from "
                               f"{VNF_TYPE}, not {node_type!r}")
        props = as_mapping(mappings.get("properties"), file, f"{where}.properties")
        self.fid = _str(props.get("flavour_id"), file, f"{where}.properties.flavour_id")
        self.node_type = node_type
        self.description = doc.get("description")
        self.nodes = _nodes(doc, file)
        self.kinds = {name: _node_kind(defs, name, node, file)
                      for name, node in self.nodes.items()}
        self.policies = self._policies(topology)

    def fail(self, detail: str, hint: str | None = None) -> PackageError:
        return PackageError(self.file, detail, hint=hint)

    def of_kind(self, *kinds: str) -> dict[str, dict[str, Any]]:
        return {name: self.nodes[name] for name, kind in self.kinds.items() if kind in kinds}

    def build(self) -> Flavour:
        links = {name: self._link(name, node) for name, node in self.of_kind(VL_TYPE).items()}
        cps = {name: self._cp(name, node, links) for name, node in self.of_kind(CP_TYPE).items()}
        vdu_nodes = self.of_kind(VDU_TYPE)
        for cp in cps.values():
            if cp.vdu is not None and cp.vdu not in vdu_nodes:
                raise self.fail(f"node {cp.name}: requirements.virtual_binding: {cp.vdu} "
                                f"is not a VDU of flavour {self.fid}")
        initial = self._initial_deltas(set(vdu_nodes))
        vdus = {name: self._vdu(name, node, cps, initial.get(name))
                for name, node in vdu_nodes.items()}
        aspects = self._aspects(set(vdus))
        levels, default = self._levels(set(vdus), aspects)
        return Flavour(flavour_id=self.fid, description=self._description(), vdus=vdus,
                       cps=cps, virtual_links=links, scaling_aspects=aspects,
                       instantiation_levels=levels, default_instantiation_level=default,
                       lifecycle=self._lifecycle(), definitions_file=self.file)

    def _vnf_nodes(self) -> list[tuple[str, str, dict[str, Any]]]:
        found = [self.top]
        for name, node in self.of_kind(VNF_TYPE).items():
            if node is not self.top[2]:
                found.append((self.file, name, node))
        return found

    def _description(self) -> str:
        file, name, node = self._vnf_nodes()[-1]
        value = _properties(node, file, name).get("flavour_description")
        if value is None:
            value = self.defs.type_default(self.node_type, "flavour_description")
        if value is not None:
            return _str(value, file, f"node {name}: properties.flavour_description")
        return str(self.description or "")

    def _link(self, name: str, node: dict[str, Any]) -> VirtualLink:
        props = as_mapping(node.get("properties"), self.file, f"node {name}: properties")
        profile = as_mapping(props.get("vl_profile"), self.file, f"node {name}: vl_profile")
        cidrs = []
        for data in as_list(profile.get("virtual_link_protocol_data"), self.file,
                            f"node {name}: vl_profile.virtual_link_protocol_data"):
            l3 = data.get("l3_protocol_data") if isinstance(data, dict) else None
            if isinstance(l3, dict) and isinstance(l3.get("cidr"), str):
                cidrs.append(l3["cidr"])
        return VirtualLink(name=name, description=str(props.get("description") or ""),
                           cidrs=tuple(cidrs))

    def _cp(self, name: str, node: dict[str, Any], links: dict[str, VirtualLink]) -> Cp:
        where = f"node {name}"
        reqs = dict(_requirements(node, self.file, where))
        link = reqs.get("virtual_link")
        if link is not None and link not in links:
            raise self.fail(f"{where}: requirements.virtual_link: {link} is not a "
                            f"virtual link of flavour {self.fid}")
        props = as_mapping(node.get("properties"), self.file, f"{where}: properties")
        order = props.get("order")
        return Cp(name=name, vdu=reqs.get("virtual_binding"), virtual_link=link,
                  order=None if order is None else _int(order, self.file, f"{where}: order"))

    def _vdu(self, name: str, node: dict[str, Any], cps: dict[str, Cp], initial: int | None) -> Vdu:
        where = f"node {name}"
        props = as_mapping(node.get("properties"), self.file, f"{where}: properties")
        if props.get("vdu_profile") is None:
            raise self.fail(f"{where}: properties.vdu_profile missing")
        profile = as_mapping(props["vdu_profile"], self.file, f"{where}: vdu_profile")
        low = _int(profile.get("min_number_of_instances"), self.file,
                   f"{where}: vdu_profile.min_number_of_instances")
        high = _int(profile.get("max_number_of_instances"), self.file,
                    f"{where}: vdu_profile.max_number_of_instances")
        if low > high:
            raise self.fail(f"{where}: vdu_profile.min_number_of_instances {low} exceeds "
                            f"max_number_of_instances {high}")
        storages = self.of_kind(*STORAGE_TYPES)
        own = tuple(target for key, target in _requirements(node, self.file, where)
                    if key == "virtual_storage")
        for target in own:
            if target not in storages:
                raise self.fail(f"{where}: requirements.virtual_storage: {target} is not "
                                f"a virtual storage node of flavour {self.fid}")
        images = [_image(n) for n in (node, *(storages[s] for s in own))]
        compute = as_mapping(node.get("capabilities"), self.file, f"{where}: capabilities")
        compute = as_mapping(compute.get("virtual_compute"), self.file,
                             f"{where}: capabilities.virtual_compute")
        capabilities = as_mapping(compute.get("properties"), self.file,
                                  f"{where}: virtual_compute.properties"
                                  ).get("requested_additional_capabilities")
        flavours = [c.get("requested_additional_capability_name")
                    for c in as_mapping(capabilities, self.file,
                                        f"{where}: requested_additional_capabilities").values()
                    if isinstance(c, dict)]
        return Vdu(name=name, vdu_name=str(props.get("name") or name),
                   description=str(props.get("description") or ""),
                   min_instances=low, max_instances=high,
                   initial_delta=low if initial is None else initial,
                   compute_flavour=next((f for f in flavours if isinstance(f, str)), None),
                   sw_image=next((i for i in images if i), None), virtual_storages=own,
                   cps=tuple(cp.name for cp in cps.values() if cp.vdu == name))

    def _policies(self, topology: dict[str, Any]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
        raw = topology.get("policies")
        items = list(raw.items()) if isinstance(raw, dict) else [
            pair for entry in as_list(raw, self.file, "topology_template.policies")
            for pair in as_mapping(entry, self.file, "topology_template.policies").items()]
        found: dict[str, list[tuple[str, dict[str, Any]]]] = {
            kind: [] for kind in (ASPECTS_TYPE, DELTAS_TYPE, LEVELS_TYPE, VDU_LEVELS_TYPE,
                                  INITIAL_DELTA_TYPE)}
        for name, body in items:
            body = as_mapping(body, self.file, f"policy {name}")
            type_name = _str(body.get("type"), self.file, f"policy {name}: type")
            for kind, pairs in found.items():
                if self.defs.derives("policy_types", type_name, kind):
                    pairs.append((name, body))
        return found

    def _properties(self, name: str, body: dict[str, Any], key: str) -> dict[str, Any]:
        props = as_mapping(body.get("properties"), self.file, f"policy {name}: properties")
        if props.get(key) is None:
            raise self.fail(f"policy {name}: properties.{key} missing")
        return as_mapping(props[key], self.file, f"policy {name}: properties.{key}")

    def _targets(self, name: str, body: dict[str, Any], vdus: set[str]) -> tuple[str, ...]:
        targets = as_list(body.get("targets"), self.file, f"policy {name}: targets")
        for target in targets:
            if not isinstance(target, str) or target not in vdus:
                raise self.fail(f"policy {name}: targets: {target} is not a VDU of "
                                f"flavour {self.fid}")
        return tuple(targets)

    def _initial_deltas(self, vdus: set[str]) -> dict[str, int]:
        found = {}
        for name, body in self.policies[INITIAL_DELTA_TYPE]:
            delta = self._properties(name, body, "initial_delta")
            count = _int(delta.get("number_of_instances"), self.file,
                         f"policy {name}: initial_delta.number_of_instances")
            found.update(dict.fromkeys(self._targets(name, body, vdus), count))
        return found

    def _aspects(self, vdus: set[str]) -> dict[str, ScalingAspect]:
        declared: dict[str, tuple[int, tuple[str, ...], str]] = {}
        for name, body in self.policies[ASPECTS_TYPE]:
            for aid, aspect in self._properties(name, body, "aspects").items():
                what = f"policy {name}: aspects.{aid}"
                aspect = as_mapping(aspect, self.file, what)
                top = _int(aspect.get("max_scale_level"), self.file, f"{what}.max_scale_level",
                           MAX_SCALE_LEVEL)
                steps = tuple(as_list(aspect.get("step_deltas"), self.file,
                                      f"{what}.step_deltas"))
                if not all(isinstance(step, str) for step in steps):
                    raise self.fail(f"{what}.step_deltas must list delta names")
                if len(steps) > 1 and len(steps) != top:
                    raise self.fail(f"{what}.step_deltas has {len(steps)} entries but "
                                    f"max_scale_level is {top}")
                if aid in declared:
                    raise self.fail(f"{what}: aspect {aid} is declared twice")
                declared[aid] = (top, steps, str(aspect.get("description") or ""))
        deltas: dict[str, dict[str, dict[str, int]]] = {aid: {} for aid in declared}
        targets: dict[str, list[str]] = {aid: [] for aid in declared}
        for name, body in self.policies[DELTAS_TYPE]:
            props = as_mapping(body.get("properties"), self.file, f"policy {name}: properties")
            aid = _str(props.get("aspect"), self.file, f"policy {name}: properties.aspect")
            if aid not in declared:
                raise self.fail(f"policy {name}: aspect {aid} is not declared in a "
                                "ScalingAspects policy")
            own = self._targets(name, body, vdus)
            policy_deltas = self._properties(name, body, "deltas")
            for did, delta in policy_deltas.items():
                count = _int(as_mapping(delta, self.file, f"policy {name}: deltas.{did}")
                             .get("number_of_instances"), self.file,
                             f"policy {name}: deltas.{did}.number_of_instances")
                deltas[aid].setdefault(did, {}).update(dict.fromkeys(own, count))
            for did in declared[aid][1]:
                if did not in policy_deltas:
                    raise self.fail(f"policy {name}: deltas.{did} missing; aspect {aid} "
                                    "lists it in step_deltas")
            targets[aid].extend(v for v in own if v not in targets[aid])
        aspects = {}
        for aid, (top, steps, description) in declared.items():
            if not steps and len(deltas[aid]) > 1:
                raise self.fail(f"aspect {aid}: step_deltas missing and there are "
                                f"{len(deltas[aid])} deltas to choose from")
            aspects[aid] = ScalingAspect(aspect_id=aid, max_scale_level=top,
                                         deltas=deltas[aid], vdus=tuple(targets[aid]),
                                         step_deltas=steps or tuple(deltas[aid]),
                                         description=description)
        return aspects

    def _levels(self, vdus: set[str], aspects: dict[str, ScalingAspect]
                ) -> tuple[dict[str, InstantiationLevel], str | None]:
        declared: dict[str, tuple[str, dict[str, int]]] = {}
        default = None
        if len(self.policies[LEVELS_TYPE]) > 1:
            raise self.fail("more than one InstantiationLevels policy")
        for name, body in self.policies[LEVELS_TYPE]:
            for lid, level in self._properties(name, body, "levels").items():
                what = f"policy {name}: levels.{lid}"
                level = as_mapping(level, self.file, what)
                scale = {}
                for aid, info in as_mapping(level.get("scale_info"), self.file,
                                            f"{what}.scale_info").items():
                    if aid not in aspects:
                        raise self.fail(f"{what}.scale_info: aspect {aid} is not declared "
                                        "in a ScalingAspects policy")
                    scale[aid] = _int(as_mapping(info, self.file, f"{what}.scale_info.{aid}")
                                      .get("scale_level"), self.file,
                                      f"{what}.scale_info.{aid}.scale_level",
                                      MAX_SCALE_LEVEL)
                    if scale[aid] > aspects[aid].max_scale_level:
                        raise self.fail(f"{what}.scale_info.{aid}.scale_level {scale[aid]} "
                                        f"exceeds max_scale_level "
                                        f"{aspects[aid].max_scale_level}")
                declared[lid] = (str(level.get("description") or ""), scale)
            props = body.get("properties") or {}
            default = props.get("default_level")
            if default is not None:
                default = _str(default, self.file, f"policy {name}: default_level")
            elif len(declared) == 1:
                default = next(iter(declared))
            if default is not None and default not in declared:
                raise self.fail(f"policy {name}: default_level {default} is not a level "
                                f"of it ({', '.join(declared)})")
        counts: dict[str, dict[str, int]] = {}
        for name, body in self.policies[VDU_LEVELS_TYPE]:
            own = self._targets(name, body, vdus)
            for lid, level in self._properties(name, body, "levels").items():
                if self.policies[LEVELS_TYPE] and lid not in declared:
                    raise self.fail(f"policy {name}: levels.{lid} is not an instantiation "
                                    f"level ({', '.join(declared)})")
                count = _int(as_mapping(level, self.file, f"policy {name}: levels.{lid}")
                             .get("number_of_instances"), self.file,
                             f"policy {name}: levels.{lid}.number_of_instances")
                counts.setdefault(lid, {}).update(dict.fromkeys(own, count))
                declared.setdefault(lid, ("", {}))
        levels = {lid: InstantiationLevel(level_id=lid, vdu_instances=counts.get(lid, {}),
                                          scale_levels=scale, description=description)
                  for lid, (description, scale) in declared.items()}
        return levels, default

    def _lifecycle(self) -> dict[str, LifecycleScript]:
        artifacts: dict[str, tuple[str, str, object]] = {}
        operations: dict[str, tuple[str, str, object]] = {}
        for file, name, node in self._vnf_nodes():
            for art, body in as_mapping(node.get("artifacts"), file,
                                        f"node {name}: artifacts").items():
                artifacts[art] = (file, name, body)
            interfaces = as_mapping(node.get("interfaces"), file, f"node {name}: interfaces")
            for event, value in as_mapping(interfaces.get("Vnflcm"), file,
                                           f"node {name}: interfaces.Vnflcm").items():
                operations[event] = (file, name, value)
        scripts = {}
        for event, (file, name, value) in operations.items():
            impl = value.get("implementation") if isinstance(value, dict) else value
            if isinstance(impl, dict):
                impl = impl.get("primary")
            if impl in (None, "", [], {}):
                continue
            where = f"node {name}: interfaces.Vnflcm.{event}.implementation"
            if not isinstance(impl, str):
                raise PackageError(file, f"{where} must name an artifact")
            if impl in artifacts:
                scripts[event] = self._artifact(event, impl, *artifacts[impl])
                continue
            path = normalize(posixpath.join(posixpath.dirname(file), impl), file=file,
                             field=where)
            if not self.defs.source.is_file(path):
                raise PackageError(file, f"{where}: {impl} is neither an artifact of the "
                                   "VNF node nor a file of the package")
            scripts[event] = LifecycleScript(event=event, file=path)
        return scripts

    def _artifact(self, event: str, art: str, file: str, name: str,
                  body: object) -> LifecycleScript:
        what = f"node {name}: artifacts.{art}"
        if isinstance(body, str):
            body = {"file": body}
        body = as_mapping(body, file, what)
        rel = _str(body.get("file"), file, f"{what}.file")
        path = normalize(posixpath.join(posixpath.dirname(file), rel), file=file,
                         field=f"{what}.file")
        if not self.defs.source.is_file(path):
            raise PackageError(file, f"{what}.file {rel} not found (looked for {path})")
        kind = body.get("type")
        return LifecycleScript(event=event, file=path, artifact=art,
                               artifact_type=kind if isinstance(kind, str) else None)


def _image(node: dict[str, Any]) -> str | None:
    props = node.get("properties")
    data = props.get("sw_image_data") if isinstance(props, dict) else None
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) else None


def parse_vnfd(source: Source, entry: str) -> Vnfd:
    """Read the VNFD whose entry file is ``entry`` (package-relative)."""
    defs = Definitions(source, entry)
    found = _vnf_node(defs, defs.docs[entry], entry)
    if found is None:
        raise PackageError(entry, "no node in topology_template.node_templates has a type "
                           f"derived from {VNF_TYPE}")
    vnf_name, vnf = found
    props = _properties(vnf, entry, vnf_name)

    def identity(prop: str) -> str:
        value = props.get(prop)
        if value is None:
            value = defs.type_default(vnf["type"], prop)
        return _str(value, entry, f"node {vnf_name}: properties.{prop}")

    ids = {prop: identity(prop) for prop in ("descriptor_id", "provider", "product_name",
                                            "software_version", "descriptor_version")}
    if not DESCRIPTOR_ID.fullmatch(ids["descriptor_id"]):
        raise PackageError(entry, f"node {vnf_name}: properties.descriptor_id "
                           f"{short(ids['descriptor_id'])} is not a safe identifier",
                           hint="use up to 255 letters, digits, '.', '_', '-' or ':', "
                                "e.g. a UUID")
    flavours: dict[str, Flavour] = {}
    for rel, doc in defs.docs.items():
        topology = as_mapping(doc.get("topology_template"), rel, "topology_template")
        if "substitution_mappings" not in topology:
            continue
        flavour = _Flavour(defs, rel, doc, (entry, vnf_name, vnf)).build()
        if flavour.flavour_id in flavours:
            raise PackageError(rel, f"flavour {flavour.flavour_id} is also defined in "
                               f"{flavours[flavour.flavour_id].definitions_file}")
        flavours[flavour.flavour_id] = flavour
    if not flavours:
        raise PackageError(entry, "no deployment flavour: no imported file has "
                           "topology_template.substitution_mappings")
    return Vnfd(vnfd_id=ids["descriptor_id"], vnf_provider=ids["provider"],
                vnf_product_name=ids["product_name"],
                vnf_software_version=ids["software_version"],
                vnfd_version=ids["descriptor_version"], flavours=flavours,
                files=tuple(defs.docs))


def desired_capacity(flavour: Flavour, vdu: str, instantiation_level_id: str | None = None,
                     scale_levels: dict[str, int] | None = None) -> int:
    """How many instances of ``vdu`` to run.

    The count starts from the instantiation level (``instantiation_level_id``,
    else the flavour's default level; a VDU the level does not list, or a
    flavour without levels, starts from its initial delta). ``scale_levels``
    maps aspect ids to absolute scale levels; each aspect moves the count by
    the deltas of the steps between the level's scale level and the one given.
    Raises InvalidInput for unknown names, a scale level beyond the aspect's
    maximum, or a count outside the VDU's ``vdu_profile``.
    """
    fid = flavour.flavour_id
    spec = flavour.vdus.get(vdu)
    if spec is None:
        raise InvalidInput(f"flavour {fid} has no VDU {vdu}",
                           hint=f"use one of {', '.join(sorted(flavour.vdus))}")
    level_id = instantiation_level_id or flavour.default_instantiation_level
    count, start = spec.initial_delta, {}
    if level_id is not None:
        level = flavour.instantiation_levels.get(level_id)
        if level is None:
            known = ", ".join(sorted(flavour.instantiation_levels))
            raise InvalidInput(f"flavour {fid} has no instantiation level {level_id}",
                               hint=f"use one of {known}" if known else None)
        count = level.vdu_instances.get(vdu, spec.initial_delta)
        start = level.scale_levels
    for aspect_id, target in (scale_levels or {}).items():
        aspect = flavour.scaling_aspects.get(aspect_id)
        if aspect is None:
            raise InvalidInput(f"flavour {fid} has no scaling aspect {aspect_id}")
        if isinstance(target, bool) or not isinstance(target, int) \
                or not 0 <= target <= aspect.max_scale_level:
            raise InvalidInput(f"scale level {target!r} of aspect {aspect_id} is out of "
                               f"range 0..{aspect.max_scale_level}")
        count += aspect.instances_between(vdu, start.get(aspect_id, 0), target)
    if not spec.min_instances <= count <= spec.max_instances:
        raise InvalidInput(f"VDU {vdu} would have {count} instances, outside its "
                           f"vdu_profile {spec.min_instances}..{spec.max_instances}")
    return count

