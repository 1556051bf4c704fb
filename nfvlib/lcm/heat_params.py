"""The Heat stack fields of a VNF, built as Tacker v2's default user data builds them.

A flavour's Heat templates (``BaseHOT/<flavourId>/``) read one JSON stack
parameter, ``nfv``, through ``get_param: [nfv, VDU|CP, <name>, <key>, ...]``.
:func:`build_instantiate_nfv` finds every such path in the flavour's templates
and fills it from the VNFD and the InstantiateVnfRequest:

==================================  ===========================================
``VDU.<vdu>.computeFlavourId``      the VDU's ``requested_additional_capability_name``
``VDU.<vdu|storage>.vcImageId``     ``sw_image_data.name`` of the VDU, or of the
                                    virtual storage node the path names
``VDU.<vdu>.desired_capacity``      the VDU's instance count at the requested
                                    (else the default) instantiation level
``VDU.<vdu>.locationConstraints``   ``None``: zones come from a grant, which
                                    local mode has not
``CP.<cp>.network``                 ``resourceId`` of the ``extVirtualLinks``
                                    entry whose ``extCps`` holds the CP
``CP.<cp>.fixed_ips.<i>.<key>``     ``ip_address`` / ``subnet`` from that CP's
                                    ``cpConfig.*.cpProtocolData[].ipOverEthernet
                                    .ipAddresses[]`` (first fixed address,
                                    ``subnetId``)
==================================  ===========================================

Any other path the templates read stays ``None``. Then
``additionalParams.nfv`` of the request is merged over the result with a JSON
merge patch (RFC 7386). ``extManagedVirtualLinks`` change the top template
instead (:func:`top_template`): the internal network and its subnets are
dropped and every ``get_resource`` of it becomes the given network id.

:func:`build_scale_nfv` recomputes ``desired_capacity`` of the VDUs of one
scaling aspect for a stack PATCH and returns the new scale levels.
"""

from __future__ import annotations

import copy
from typing import Any, Iterable, Mapping, overload

import yaml

from nfvlib.exceptions import InvalidInput
from nfvlib.packages import VnfPackage, desired_capacity, nfv_parameter_paths
from nfvlib.packages.csar import load_yaml, open_source
from nfvlib.packages.vnfd import Flavour

__all__ = [
    "SCALE_IN", "SCALE_OUT", "build_instantiate_nfv", "build_scale_nfv",
    "initial_scale_status", "json_merge_patch", "stack_files", "top_template",
]

SCALE_OUT = "SCALE_OUT"
SCALE_IN = "SCALE_IN"

#: Resource type whose ``network`` property ties a subnet to an internal VL.
_SUBNET_TYPE = "OS::Neutron::Subnet"


# -- generic functions -------------------------------------------------------

@overload
def json_merge_patch(target: Any, patch: Mapping[str, Any]) -> dict[str, Any]: ...
@overload
def json_merge_patch(target: Any, patch: Any) -> Any: ...
def json_merge_patch(target: Any, patch: Any) -> Any:
    """``patch`` applied to ``target`` as a JSON merge patch (RFC 7386).

    A mapping patch is merged key by key: ``None`` removes the key, a mapping
    merges recursively, any other value (lists included) replaces. A patch
    that is not a mapping replaces ``target`` altogether. Neither argument is
    modified; the result shares no mutable part with them.
    """
    if not isinstance(patch, Mapping):
        return copy.deepcopy(patch)
    result = copy.deepcopy(dict(target)) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result


def _choices(names: Iterable[str]) -> str:
    listed = ", ".join(sorted(names))
    return listed if listed else "(none)"


def _flavour(package: VnfPackage, flavour_id: object) -> Flavour:
    flavour = package.flavours.get(flavour_id) if isinstance(flavour_id, str) else None
    if flavour is None:
        raise InvalidInput(f"flavourId {flavour_id!r} is not a flavour of VNFD "
                           f"{package.vnfd_id}; valid values: {_choices(package.flavours)}")
    return flavour


def _level_id(flavour: Flavour, level_id: object) -> str | None:
    """The instantiation level to use: ``level_id`` checked, else the default."""
    if level_id is None:
        return flavour.default_instantiation_level
    if not isinstance(level_id, str) or level_id not in flavour.instantiation_levels:
        raise InvalidInput(f"instantiationLevelId {level_id!r} is not a level of flavour "
                           f"{flavour.flavour_id}; valid values: "
                           f"{_choices(flavour.instantiation_levels)}")
    return level_id


def _skeleton(paths: Iterable[tuple[Any, ...]]) -> dict[str, Any]:
    """The nested mapping the ``nfv`` paths describe, with ``None`` leaves."""
    root: dict[str, Any] = {}
    for path in sorted(paths, key=lambda p: tuple(map(str, p))):
        node = root
        for key in path[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        node.setdefault(path[-1], None)
    return root


def _lists_for_indexes(value: Any) -> Any:
    """Mappings keyed only by integers turned into lists (a path index is a list index).

    Gaps are filled with ``None``.
    """
    if not isinstance(value, dict):
        return value
    value = {key: _lists_for_indexes(item) for key, item in value.items()}
    if value and all(isinstance(k, int) and not isinstance(k, bool) and k >= 0
                     for k in value):
        return [value.get(i) for i in range(max(value) + 1)]
    return value


# -- VNFD look-ups -----------------------------------------------------------

def _images(package: VnfPackage, flavour: Flavour) -> dict[str, str]:
    """``sw_image_data.name`` per VDU and per virtual storage node.

    The VDU model keeps one image per VDU (its own, else its storage's); the
    storage nodes' own images are read from the flavour's VNFD file, as
    Tacker's ``Vnfd.get_sw_image`` reads them, when the file can be read.
    """
    fallback: dict[str, str] = {}
    for vdu in flavour.vdus.values():
        if vdu.sw_image:
            fallback[vdu.name] = vdu.sw_image
            fallback.update(dict.fromkeys(vdu.virtual_storages, vdu.sw_image))
    try:
        doc = open_source(package.path).read_yaml(flavour.definitions_file)
    except (OSError, InvalidInput):
        return fallback
    nodes = (doc.get("topology_template") or {}).get("node_templates") or {}
    if not isinstance(nodes, dict):
        return fallback
    images = {}
    for name in fallback.keys() | set(flavour.vdus):
        node = nodes.get(name)
        if not isinstance(node, dict):
            if name in fallback:
                images[name] = fallback[name]
            continue
        props = node.get("properties")
        data = props.get("sw_image_data") if isinstance(props, dict) else None
        image = data.get("name") if isinstance(data, dict) else None
        if isinstance(image, str) and image:
            images[name] = image
    return images


# -- the request -------------------------------------------------------------

def _ext_virtual_links(request: Mapping[str, Any]) -> list[dict[str, Any]]:
    links = request.get("extVirtualLinks") or []
    if not isinstance(links, list):
        raise InvalidInput("extVirtualLinks must be a list")
    for i, link in enumerate(links):
        where = f"extVirtualLinks[{i}]"
        if not isinstance(link, dict):
            raise InvalidInput(f"{where} must be an object")
        if not isinstance(link.get("resourceId"), str) or not link["resourceId"]:
            raise InvalidInput(f"{where}.resourceId missing (the network id)")
        cps = link.get("extCps")
        if not isinstance(cps, list) or not cps:
            raise InvalidInput(f"{where}.extCps must be a non-empty list")
        for j, cp in enumerate(cps):
            if not isinstance(cp, dict) or not isinstance(cp.get("cpdId"), str):
                raise InvalidInput(f"{where}.extCps[{j}].cpdId missing")
            if not isinstance(cp.get("cpConfig", {}), dict):
                raise InvalidInput(f"{where}.extCps[{j}].cpConfig must be an object")
    return links


def _ext_cp(links: list[dict[str, Any]], cp_name: str
            ) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(extVirtualLink, extCp) of the first link whose extCps hold ``cp_name``."""
    for link in links:
        for ext_cp in link["extCps"]:
            if ext_cp["cpdId"] == cp_name:
                return link, ext_cp
    return None


def _fixed_ips(ext_cp: dict[str, Any]) -> list[dict[str, str]]:
    """``{ip_address, subnet}`` per ipAddresses entry of every cpConfig of ``ext_cp``.

    Only the first of ``fixedAddresses`` is taken; an entry with neither a
    fixed address nor a ``subnetId`` (``numDynamicAddresses`` only) adds nothing.
    """
    found = []
    for config in (ext_cp.get("cpConfig") or {}).values():
        if not isinstance(config, dict):
            continue
        for proto in config.get("cpProtocolData") or []:
            ip_data = proto.get("ipOverEthernet") if isinstance(proto, dict) else None
            if not isinstance(ip_data, dict):
                continue
            for address in ip_data.get("ipAddresses") or []:
                if not isinstance(address, dict):
                    continue
                entry = {}
                fixed = address.get("fixedAddresses")
                if isinstance(fixed, list) and fixed:
                    entry["ip_address"] = str(fixed[0])
                if address.get("subnetId"):
                    entry["subnet"] = address["subnetId"]
                if entry:
                    found.append(entry)
    return found


def _ext_managed_links(request: Mapping[str, Any], flavour: Flavour) -> list[tuple[str, str]]:
    """(vnfVirtualLinkDescId, resourceId) of each extManagedVirtualLinks entry."""
    links = request.get("extManagedVirtualLinks") or []
    if not isinstance(links, list):
        raise InvalidInput("extManagedVirtualLinks must be a list")
    pairs = []
    for i, link in enumerate(links):
        where = f"extManagedVirtualLinks[{i}]"
        if not isinstance(link, dict):
            raise InvalidInput(f"{where} must be an object")
        vl_id, network = link.get("vnfVirtualLinkDescId"), link.get("resourceId")
        if vl_id not in flavour.virtual_links:
            raise InvalidInput(f"{where}.vnfVirtualLinkDescId {vl_id!r} is not a virtual "
                               f"link of flavour {flavour.flavour_id}; valid values: "
                               f"{_choices(flavour.virtual_links)}")
        if not isinstance(network, str) or not network:
            raise InvalidInput(f"{where}.resourceId missing (the network id)")
        pairs.append((vl_id, network))
    return pairs


# -- instantiate -------------------------------------------------------------

def _fill_vdus(vdus: dict[str, Any], flavour: Flavour, images: dict[str, str],
               level_id: str | None) -> None:
    for name, values in vdus.items():
        if not isinstance(values, dict):
            continue
        vdu = flavour.vdus.get(name)
        if "computeFlavourId" in values and vdu is not None:
            values["computeFlavourId"] = vdu.compute_flavour
        if "vcImageId" in values:
            values["vcImageId"] = images.get(name)
        if "desired_capacity" in values and vdu is not None:
            values["desired_capacity"] = desired_capacity(flavour, name, level_id)


def _fill_cps(cps: dict[str, Any], links: list[dict[str, Any]]) -> None:
    for name, values in cps.items():
        if not isinstance(values, dict):
            continue
        found = _ext_cp(links, name)
        if "network" in values:
            values["network"] = found[0]["resourceId"] if found else None
        if "fixed_ips" not in values:
            continue
        wanted = values["fixed_ips"]
        given = _fixed_ips(found[1]) if found else []
        if wanted is None:
            # The template reads the whole list.
            values["fixed_ips"] = given if found else None
        elif isinstance(wanted, dict):
            filled = []
            for index, address in enumerate(given):
                slot = wanted.get(index)
                if not isinstance(slot, dict):
                    break
                filled.append({key: address.get(key) for key in slot})
            values["fixed_ips"] = filled


def _check_cp_names(links: list[dict[str, Any]], flavour: Flavour, template_cps: Iterable[str]
                    ) -> None:
    known = set(flavour.cps) | set(template_cps)
    for i, link in enumerate(links):
        for j, ext_cp in enumerate(link["extCps"]):
            if ext_cp["cpdId"] not in known:
                raise InvalidInput(f"extVirtualLinks[{i}].extCps[{j}].cpdId "
                                   f"{ext_cp['cpdId']!r} is not a CP of flavour "
                                   f"{flavour.flavour_id}; valid values: {_choices(known)}")


def build_instantiate_nfv(package: VnfPackage, flavour_id: str,
                          request: Mapping[str, Any]) -> dict[str, Any]:
    """The ``nfv`` stack parameter for creating the VNF's stack.

    ``request`` is the InstantiateVnfRequest body (``instantiationLevelId``,
    ``extVirtualLinks``, ``additionalParams``, ...). Every
    ``get_param: [nfv, ...]`` path of the flavour's top and nested templates
    is present in the result (see the module documentation for what fills
    it), then ``additionalParams.nfv`` is merged over it (RFC 7386).

    Raises InvalidInput, one line naming the field and the valid values, for
    an unknown ``flavourId`` or ``instantiationLevelId``, a malformed
    ``extVirtualLinks`` / ``extManagedVirtualLinks`` entry, or an extCp or
    virtual link the flavour does not have.
    """
    if not isinstance(request, Mapping):
        raise InvalidInput("the instantiate request must be a JSON object")
    flavour = _flavour(package, flavour_id)
    level_id = _level_id(flavour, request.get("instantiationLevelId"))
    links = _ext_virtual_links(request)
    _ext_managed_links(request, flavour)
    additional = request.get("additionalParams") or {}
    if not isinstance(additional, Mapping):
        raise InvalidInput("additionalParams must be a JSON object")
    patch = additional.get("nfv")
    if patch is not None and not isinstance(patch, Mapping):
        raise InvalidInput("additionalParams.nfv must be a JSON object")

    nfv = _skeleton(nfv_parameter_paths(package.base_hot[flavour.flavour_id]))
    vdus, cps = nfv.get("VDU"), nfv.get("CP")
    _check_cp_names(links, flavour, cps if isinstance(cps, dict) else ())
    if isinstance(vdus, dict):
        _fill_vdus(vdus, flavour, _images(package, flavour), level_id)
    if isinstance(cps, dict):
        _fill_cps(cps, links)
    nfv = _lists_for_indexes(nfv)
    if patch is not None:
        nfv = json_merge_patch(nfv, patch)
    return nfv


def initial_scale_status(package: VnfPackage, flavour_id: str,
                         instantiation_level_id: str | None = None) -> dict[str, int]:
    """Scale level of every aspect right after instantiation.

    The instantiation level's ``scale_info`` (the requested level, else the
    flavour's default); 0 for an aspect the level does not list.
    """
    flavour = _flavour(package, flavour_id)
    level_id = _level_id(flavour, instantiation_level_id)
    level = flavour.instantiation_levels.get(level_id) if level_id else None
    start = level.scale_levels if level is not None else {}
    return {aspect: start.get(aspect, 0) for aspect in flavour.scaling_aspects}


# -- scale -------------------------------------------------------------------

def build_scale_nfv(package: VnfPackage, flavour_id: str, current_nfv: Mapping[str, Any],
                    instantiation_level_id: str | None, scale_status: Mapping[str, int],
                    aspect_id: str, scale_type: str, number_of_steps: int = 1
                    ) -> tuple[dict[str, Any], dict[str, int]]:
    """The ``nfv`` parameter and scale levels after scaling ``aspect_id``.

    ``current_nfv`` is the parameter the stack has now, ``scale_status`` maps
    aspect ids to their current scale levels (an aspect it lacks is at its
    level of ``instantiation_level_id``), ``scale_type`` is ``SCALE_OUT`` or
    ``SCALE_IN``. Only ``desired_capacity`` of the aspect's VDUs that the
    templates read changes; it is recomputed from the VNFD for the new
    levels. Returns ``(new nfv, new scale_status)``; neither input is modified.

    Raises InvalidInput for an unknown flavour, aspect or level, a bad type
    or step count, and when the new level would leave ``0..max_scale_level``.
    """
    flavour = _flavour(package, flavour_id)
    level_id = _level_id(flavour, instantiation_level_id)
    aspect = flavour.scaling_aspects.get(aspect_id) if isinstance(aspect_id, str) else None
    if aspect is None:
        raise InvalidInput(f"aspectId {aspect_id!r} is not a scaling aspect of flavour "
                           f"{flavour.flavour_id}; valid values: "
                           f"{_choices(flavour.scaling_aspects)}")
    if scale_type not in (SCALE_OUT, SCALE_IN):
        raise InvalidInput(f"type {scale_type!r} is not a scale type; valid values: "
                           f"{SCALE_IN}, {SCALE_OUT}")
    if isinstance(number_of_steps, bool) or not isinstance(number_of_steps, int) \
            or number_of_steps < 1:
        raise InvalidInput(f"numberOfSteps must be a positive integer, not "
                           f"{number_of_steps!r}")
    levels = initial_scale_status(package, flavour.flavour_id, level_id)
    levels.update(scale_status)
    current = levels[aspect_id]
    if scale_type == SCALE_OUT:
        target = current + number_of_steps
        if target > aspect.max_scale_level:
            raise InvalidInput(
                f"cannot scale out aspect {aspect_id} by {number_of_steps} step(s): it is "
                f"at scale level {current} and its max_scale_level is "
                f"{aspect.max_scale_level}")
    else:
        target = current - number_of_steps
        if target < 0:
            raise InvalidInput(
                f"cannot scale in aspect {aspect_id} by {number_of_steps} step(s): it is "
                f"at scale level {current} and the lowest scale level is 0")
    levels[aspect_id] = target
    paths = nfv_parameter_paths(package.base_hot[flavour.flavour_id])
    capacities = {vdu: desired_capacity(flavour, vdu, level_id, levels)
                  for vdu in aspect.vdus if ("VDU", vdu, "desired_capacity") in paths}
    patch = {"VDU": {vdu: {"desired_capacity": n} for vdu, n in capacities.items()}}
    return json_merge_patch(current_nfv, patch), levels


# -- templates ---------------------------------------------------------------

def _replace_get_resource(value: Any, vl_name: str, network: str) -> Any:
    if value == {"get_resource": vl_name}:
        return network
    if isinstance(value, dict):
        return {k: _replace_get_resource(v, vl_name, network) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_get_resource(v, vl_name, network) for v in value]
    return value


def _apply_ext_managed_links(template: dict[str, Any], pairs: list[tuple[str, str]]
                             ) -> dict[str, Any]:
    resources = dict(template.get("resources") or {})
    for vl_name, network in pairs:
        dropped = {vl_name} | {
            name for name, body in resources.items()
            if isinstance(body, dict) and body.get("type") == _SUBNET_TYPE
            and ((body.get("properties") or {}).get("network") == {"get_resource": vl_name})}
        resources = {name: _replace_get_resource(body, vl_name, network)
                     for name, body in resources.items() if name not in dropped}
    return dict(template, resources=resources)


def top_template(package: VnfPackage, flavour_id: str,
                 request: Mapping[str, Any] | None = None) -> str:
    """The flavour's top Heat template as text, for ``template`` of a stack create.

    Unchanged unless ``request`` has ``extManagedVirtualLinks``: then, for
    each entry, the internal network resource named ``vnfVirtualLinkDescId``
    and the ``OS::Neutron::Subnet`` resources on it are removed, and every
    ``{get_resource: <that name>}`` becomes the entry's ``resourceId``.
    """
    flavour = _flavour(package, flavour_id)
    hot = package.base_hot[flavour.flavour_id]
    pairs = _ext_managed_links(request, flavour) if request else []
    if not pairs:
        return hot.top_template_text
    template = _apply_ext_managed_links(load_yaml(hot.top_template_text, hot.top_file), pairs)
    return yaml.safe_dump(template, default_flow_style=False, sort_keys=False)


def stack_files(package: VnfPackage, flavour_id: str) -> dict[str, str]:
    """The flavour's nested templates as Heat ``files``: name as the templates use it -> text."""
    flavour = _flavour(package, flavour_id)
    return dict(package.base_hot[flavour.flavour_id].nested)
