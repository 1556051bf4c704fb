"""SOL003/SOL005 JSON records of nfvkit's models, as a Tacker server returns them.

One explicit mapping per model, used by every output of both modes, so that
``-f json`` from local mode has the field names and shapes a Tacker v2 server
sends for the same object:

* :func:`vnf_instance` -> ``VnfInstance`` (SOL003 v3.3.1, 5.5.2.2)
* :func:`op_occ` -> ``VnfLcmOpOcc`` (SOL003 v3.3.1, 5.5.2.13)
* :func:`vnf_package` -> ``VnfPkgInfo`` (SOL005 v3.3.1, 9.5.2.5)

A model read from a Tacker server (remote mode) converts to the record the
server sent, secrets masked (:func:`received`); a local one is built from its
fields. Data that only nfvkit has (the Heat stack, the member
and parent stack of each VNFC, the plan's steps) is under keys SOL003 leaves
free: ``metadata`` of the records, never a renamed SOL003 field. Absent
optional attributes are left out, as Tacker leaves them out.

Links are relative to the API root (``/vnflcm/v2/...``, ``/vnfpkgm/v1/...``)
in local mode, which has no server address to put in front of them.
"""

from __future__ import annotations

import copy
import functools
from typing import Any, Callable, Collection, Mapping, TypeVar

from nfvlib.models import (MASK, InstantiationState, OpOcc, PackageInfo,
                           VnfcInfo, VnfInstance)

__all__ = ["VIM_TYPE", "op_occ", "received", "vnf_instance", "vnf_package"]

M = TypeVar("M")

#: SOL003's vimType of an OpenStack VIM reached through Keystone v3.
VIM_TYPE = "ETSINFV.OPENSTACK_KEYSTONE.V_3"
#: The key of the one VIM connection of a local instance (Tacker's, for the
#: default VIM it picks when the request names none).
VIM_CONNECTION_ID = "default"

_LCM = "/vnflcm/v2"
_PKG = "/vnfpkgm/v1"
#: Where :func:`received` keeps a record a Tacker server sent with its model.
_RECEIVED = "_sol003_received"


def _href(path: str) -> dict[str, str]:
    return {"href": path}


def _text(value: Any) -> Any:
    return getattr(value, "value", value)


def _masked(data: Any) -> Any:
    """A copy of JSON ``data`` with every secret value as ``***``.

    The same rule as :func:`nfvlib.lcm.secrets.mask`, with the verdict on
    each key name remembered: records are converted by the thousand.
    """
    if isinstance(data, dict):
        return {k: MASK if _is_secret(k) else _masked(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_masked(v) for v in data]
    return data


@functools.lru_cache(maxsize=4096)
def _is_secret(key: Any) -> bool:
    from nfvlib.lcm.secrets import is_secret_key

    return is_secret_key(key)


def received(model: M, body: Mapping[str, Any]) -> M:
    """``model`` remembering ``body``, the record a Tacker server sent for it.

    The conversions below then answer that record (secrets masked) instead of
    one built from the model, so remote mode prints exactly what the server
    holds: its ``_links``, ``vimConnectionInfo``, ``checksum``, ... . The
    record is not a field of the model: a copy made with
    ``dataclasses.replace`` is built from its fields again.
    """
    object.__setattr__(model, _RECEIVED, _masked(dict(body)))
    return model


def _received(model: Any, keys: Collection[str] | None = None) -> dict[str, Any] | None:
    record = vars(model).get(_RECEIVED) if hasattr(model, "__dict__") else None
    if record is None:
        return None
    if keys is not None:
        record = {k: v for k, v in record.items() if k in keys}
    return copy.deepcopy(record)


# -- VnfInstance -----------------------------------------------------------------

def vnf_instance(vnf: VnfInstance) -> dict[str, Any]:
    """The SOL003 ``VnfInstance`` record of ``vnf`` (v2: no ``vnfPkgId``)."""
    if (received := _received(vnf)) is not None:
        return received
    record: dict[str, Any] = {
        "id": vnf.id,
        "vnfdId": vnf.vnfd_id,
        "vnfProvider": vnf.vnf_provider or "",
        "vnfProductName": vnf.vnf_product_name or "",
        "vnfSoftwareVersion": vnf.vnf_software_version or "",
        "vnfdVersion": vnf.vnfd_version or "",
        "instantiationState": _text(vnf.instantiation_state),
    }
    # Tacker leaves out a name or description the instance was created without
    for key, value in (("vnfInstanceName", vnf.name),
                       ("vnfInstanceDescription", vnf.description)):
        if value:
            record[key] = value
    if vnf.vim_id:
        record["vimConnectionInfo"] = {VIM_CONNECTION_ID: vim_connection_info(vnf)}
    if vnf.instantiation_state is InstantiationState.INSTANTIATED:
        record["instantiatedVnfInfo"] = instantiated_vnf_info(vnf)
    # the user's, from the create request and updates; left out when empty, as Tacker
    users: tuple[tuple[str, dict[str, Any]], ...] = (
        ("vnfConfigurableProperties", vnf.vnf_configurable_properties),
        ("metadata", vnf.metadata), ("extensions", vnf.extensions))
    for attribute, data in users:
        if data:
            record[attribute] = _masked(dict(data))
    base = f"{_LCM}/vnf_instances/{vnf.id}"
    links = {"self": _href(base)}
    if vnf.instantiation_state is InstantiationState.INSTANTIATED:
        for name, verb in (("terminate", "terminate"), ("scale", "scale"),
                           ("heal", "heal"), ("operate", "operate"),
                           ("changeExtConn", "change_ext_conn")):
            links[name] = _href(f"{base}/{verb}")
    else:
        links["instantiate"] = _href(f"{base}/instantiate")
    record["_links"] = links
    return record


def vim_connection_info(vnf: VnfInstance) -> dict[str, Any]:
    """A SOL003 ``VimConnectionInfo`` of the instance's VIM (no secrets).

    As Tacker v2 fills it from its VIM (``ETSINFV.OPENSTACK_KEYSTONE.V_3``):
    ``interfaceInfo`` with the Keystone endpoint, ``accessInfo`` with the
    user, project, domains and region, ``extra``; the password is left out,
    as Tacker leaves it out of its answers. The VIM's certificate check is
    shown as it is (Tacker always says it skips it). An instance recorded
    before these were kept has only the region.
    """
    info: dict[str, Any] = {"vimId": vnf.vim_id, "vimType": VIM_TYPE}
    kept = vnf.instantiated_info.get("vimConnection")
    if isinstance(kept, dict):
        skip = not kept.get("certVerify", True)
        info["interfaceInfo"] = {"endpoint": kept.get("endpoint"),
                                 "skipCertificateHostnameCheck": skip,
                                 "skipCertificateVerification": skip}
        info["accessInfo"] = {"username": kept.get("username"), "region": vnf.region,
                              "project": kept.get("project"),
                              "projectDomain": kept.get("projectDomain"),
                              "userDomain": kept.get("userDomain")}
        # a local VIM's extra holds only the sandbox's Heat environment,
        # which is no connection information
        info["extra"] = {}
    elif vnf.region:
        info["accessInfo"] = {"region": vnf.region}
    return info


def _is_wire(info: dict[str, Any]) -> bool:
    """``instantiated_info`` received from a Tacker server (remote mode)."""
    return "flavourId" in info or "vnfcResourceInfo" in info


def instantiated_vnf_info(vnf: VnfInstance) -> dict[str, Any]:
    """SOL003 ``InstantiatedVnfInfo``: as received, or built from the model."""
    if _is_wire(vnf.instantiated_info):
        received: dict[str, Any] = _masked(dict(vnf.instantiated_info))
        return received
    state = _text(vnf.operational_state) or "STARTED"
    info: dict[str, Any] = {
        "flavourId": vnf.flavour_id or "",
        "vnfState": state,
        "scaleStatus": [{"aspectId": a, "scaleLevel": int(level)}
                        for a, level in sorted(vnf.scale_status.items())],
    }
    top = vnf.instantiated_info.get("maxScaleLevels")
    if isinstance(top, dict) and vnf.scale_status:
        # Tacker: one per aspect of scaleStatus
        info["maxScaleLevels"] = [{"aspectId": a, "scaleLevel": int(top[a])}
                                  for a in sorted(vnf.scale_status) if a in top]
    nfv = _masked(vnf.instantiated_info.get("nfv") or {})
    if vnf.vnfc:
        info["vnfcResourceInfo"] = [_vnfc_resource(v, nfv) for v in vnf.vnfc]
    links = virtual_links(vnf.vnfc)
    if links:
        info["vnfVirtualLinkResourceInfo"] = links
    if vnf.vnfc:
        info["vnfcInfo"] = [{"id": f"{v.vdu_id}-{v.id}", "vduId": v.vdu_id,
                             "vnfcResourceInfoId": v.id, "vnfcState": state}
                            for v in vnf.vnfc]
    # Tacker's keys (its stack, nfv parameter and VIM project), and the
    # stack's outputs when it has any (nfvkit's own)
    metadata: dict[str, Any] = {}
    if vnf.stack_id:
        metadata["stack_id"] = vnf.stack_id
    if nfv:
        metadata["nfv"] = nfv
    connection = vnf.instantiated_info.get("vimConnection")
    if isinstance(connection, dict) and connection.get("project"):
        metadata["tenant"] = connection["project"]
    if vnf.instantiated_info.get("stackOutputs"):
        metadata["stackOutputs"] = _masked(vnf.instantiated_info["stackOutputs"])
    if metadata:
        info["metadata"] = metadata
    return info


def _handle(resource_id: str | None, resource_type: str | None) -> dict[str, Any]:
    """A SOL003 ``ResourceHandle`` on the instance's VIM connection."""
    handle: dict[str, Any] = {"vimConnectionId": VIM_CONNECTION_ID,
                              "resourceId": resource_id}
    if resource_type:
        handle["vimLevelResourceType"] = resource_type
    return handle


def vnfc_metadata(vnfc: VnfcInfo, nfv: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``metadata`` Tacker v2 gives a VNFC: its Heat resource's creation
    time and stack, the group member's stack and name (AutoScalingGroup
    members), and the flavour and image of its VDU (``nfv`` parameter)."""
    metadata: dict[str, Any] = {}
    if vnfc.created_at:
        metadata["creation_time"] = vnfc.created_at
    if vnfc.stack:
        metadata["stack_id"] = vnfc.stack
    if vnfc.member and vnfc.parent_stack:
        metadata["parent_stack_id"] = vnfc.parent_stack
        metadata["parent_resource_name"] = vnfc.member
    vdus = (nfv or {}).get("VDU")
    vdu = vdus.get(vnfc.vdu_id) if isinstance(vdus, dict) else None
    if isinstance(vdu, dict):
        # Tacker reads an AutoScalingGroup member's from the group's template,
        # whose values are these same parameters
        if vdu.get("computeFlavourId") is not None:
            metadata["flavor"] = vdu["computeFlavourId"]
        if vdu.get("vcImageId") is not None:
            metadata[f"image-{vnfc.vdu_id}"] = vdu["vcImageId"]
    return metadata


def _cp_instance_id(vnfc: VnfcInfo, cpd_id: str) -> str:
    return f"{cpd_id}-{vnfc.id}"  # Tacker v2's: unchanged across re-reads


def _vnfc_cp_info(vnfc: VnfcInfo) -> list[dict[str, Any]]:
    cps = []
    for cp in vnfc.cps:
        entry = {"id": _cp_instance_id(vnfc, cp.cpd_id), "cpdId": cp.cpd_id}
        if cp.port_id and cp.virtual_link:
            entry["vnfLinkPortId"] = cp.port_id
        cps.append(entry)
    return cps


def _vnfc_resource(vnfc: VnfcInfo, nfv: Mapping[str, Any] | None) -> dict[str, Any]:
    resource: dict[str, Any] = {"id": vnfc.id, "vduId": vnfc.vdu_id,
                                "computeResource": _handle(vnfc.id, vnfc.resource_type)}
    if vnfc.cps:
        resource["vnfcCpInfo"] = _vnfc_cp_info(vnfc)
    resource["metadata"] = vnfc_metadata(vnfc, nfv)
    return resource


def virtual_links(vnfcs: Collection[VnfcInfo]) -> list[dict[str, Any]]:
    """SOL003 ``vnfVirtualLinkResourceInfo`` of the internal virtual links the
    VNFCs' ports are on, each with those ports (``vnfLinkPorts``), as Tacker
    v2 builds it: the network and port resources of the stack, ids as Heat's.
    A network no VNFC has a port on is not known here, so not listed."""
    found: dict[str, dict[str, Any]] = {}
    for vnfc in vnfcs:
        for cp in vnfc.cps:
            if not (cp.virtual_link and cp.network_id):
                continue
            link = found.setdefault(cp.network_id, {
                "id": cp.network_id, "vnfVirtualLinkDescId": cp.virtual_link,
                "networkResource": _handle(cp.network_id, cp.network_type)})
            if cp.port_id:
                link.setdefault("vnfLinkPorts", []).append({
                    "id": cp.port_id, "resourceHandle": _handle(cp.port_id, cp.port_type),
                    "cpInstanceId": _cp_instance_id(vnfc, cp.cpd_id),
                    "cpInstanceType": "VNFC_CP"})
    return list(found.values())


def resource_changes(before: Collection[VnfcInfo], after: Collection[VnfcInfo],
                     nfv: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """SOL003 ``resourceChanges`` between two reads of the stack, as Tacker v2
    computes them (``lcm_op_occ_utils.update_lcmocc``).

    ``affectedVnfcs``: VNFCs compared by id (a replaced one is one REMOVED and
    one ADDED), each with its compute resource, metadata (``nfv``: the
    parameter giving its flavour and image) and connection point ids.
    ``affectedVirtualLinks``: networks gone (REMOVED) or new (ADDED) with
    their ports, and ports added to or removed from a network that stays
    (LINK_PORT_ADDED, LINK_PORT_REMOVED).
    """
    old = {c.id: c for c in before}
    new = {c.id: c for c in after}
    vnfcs = [_affected_vnfc(c, "REMOVED", nfv) for i, c in old.items() if i not in new]
    vnfcs += [_affected_vnfc(c, "ADDED", nfv) for i, c in new.items() if i not in old]
    old_links = {link["id"]: link for link in virtual_links(before)}
    new_links = {link["id"]: link for link in virtual_links(after)}
    links = [_affected_link(link, "REMOVED", _port_ids(link))
             for i, link in old_links.items() if i not in new_links]
    links += [_affected_link(link, "ADDED", _port_ids(link))
              for i, link in new_links.items() if i not in old_links]
    for i, link in new_links.items():
        if i not in old_links:
            continue
        was, now = _port_ids(old_links[i]), _port_ids(link)
        if added := [p for p in now if p not in was]:
            links.append(_affected_link(link, "LINK_PORT_ADDED", added))
        if removed := [p for p in was if p not in now]:
            links.append(_affected_link(old_links[i], "LINK_PORT_REMOVED", removed))
    changes: dict[str, Any] = {"affectedVnfcs": vnfcs}
    if links:
        changes["affectedVirtualLinks"] = links
    return changes


def _affected_vnfc(vnfc: VnfcInfo, change: str, nfv: Mapping[str, Any] | None
                   ) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": vnfc.id, "vduId": vnfc.vdu_id, "changeType": change,
                             "computeResource": _handle(vnfc.id, vnfc.resource_type),
                             "metadata": vnfc_metadata(vnfc, nfv)}
    if vnfc.cps:
        entry["affectedVnfcCpIds"] = [_cp_instance_id(vnfc, cp.cpd_id) for cp in vnfc.cps]
    return entry


def _port_ids(link: Mapping[str, Any]) -> list[str]:
    return [port["id"] for port in link.get("vnfLinkPorts") or ()]


def _affected_link(link: Mapping[str, Any], change: str, ports: list[str]
                   ) -> dict[str, Any]:
    entry = {"id": link["id"], "vnfVirtualLinkDescId": link["vnfVirtualLinkDescId"],
             "changeType": change, "networkResource": dict(link["networkResource"])}
    if ports:
        entry["vnfLinkPortIds"] = list(ports)
    return entry


# -- VnfLcmOpOcc -----------------------------------------------------------------

def op_occ(op: OpOcc, keys: Collection[str] | None = None) -> dict[str, Any]:
    """The SOL003 ``VnfLcmOpOcc`` record of ``op``.

    ``keys``: only these top-level attributes (e.g. a list's columns or the
    attributes a filter reads), each as in the whole record; the others are
    not computed, which keeps lists of many occurrences fast.
    """
    if (record := _received(op, keys)) is not None:
        return record
    if keys is None:
        chosen = _OP_OCC_ATTRIBUTES
    else:
        chosen = tuple((k, _OP_OCC_GETTERS[k]) for k in keys if k in _OP_OCC_GETTERS)
    record = {}
    for name, get in chosen:
        value = get(op)
        if value is not _ABSENT:
            record[name] = value
    return record


_ABSENT = object()


def _op_links(op: OpOcc) -> dict[str, Any]:
    base = f"{_LCM}/vnf_lcm_op_occs/{op.id}"
    links = {"self": _href(base),
             "vnfInstance": _href(f"{_LCM}/vnf_instances/{op.vnf_instance_id}")}
    # Tacker links the three tasks whatever the state (they answer 409 unless
    # the occurrence is FAILED_TEMP); scripts may expect them
    for verb in ("retry", "rollback", "fail"):
        links[verb] = _href(f"{base}/{verb}")
    return links


#: (attribute, how to get it from an OpOcc), in SOL003's order; _ABSENT: left out
_OP_OCC_ATTRIBUTES: tuple[tuple[str, Callable[[OpOcc], Any]], ...] = (
    ("id", lambda op: op.id),
    ("operationState", lambda op: _text(op.state)),
    ("stateEnteredTime", lambda op: op.state_entered_time),
    ("startTime", lambda op: op.start_time),
    ("vnfInstanceId", lambda op: op.vnf_instance_id),
    ("operation", lambda op: _text(op.operation)),
    ("isAutomaticInvocation", lambda op: bool(op.is_automatic_invocation)),
    ("operationParams", lambda op: _masked(dict(op.request or {}))),
    ("isCancelPending", lambda op: bool(op.is_cancel_pending)),
    ("cancelMode", lambda op: op.cancel_mode or _ABSENT),
    ("error", lambda op: problem_details(op.error) if op.error else _ABSENT),
    ("resourceChanges", lambda op: _resource_changes(op.resource_changes or {}) or _ABSENT),
    ("_links", _op_links),
)
_OP_OCC_GETTERS = dict(_OP_OCC_ATTRIBUTES)


def problem_details(error: dict[str, Any]) -> dict[str, Any]:
    """SOL013 ``ProblemDetails``: ``status`` and ``detail`` always present."""
    out = {k: v for k, v in error.items() if v is not None}
    out["status"] = int(out.get("status") or 500)
    out["detail"] = str(out.get("detail") or out.get("title") or "")
    return out


def _resource_changes(changes: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in changes.items() if v}
    vnfcs = []
    for c in out.get("affectedVnfcs") or ():
        entry = dict(c)
        entry.setdefault("computeResource", {"vimConnectionId": VIM_CONNECTION_ID,
                                             "resourceId": c.get("id")})
        vnfcs.append(entry)
    if vnfcs:
        out["affectedVnfcs"] = vnfcs
    return out


# -- VnfPkgInfo ------------------------------------------------------------------

def vnf_package(package: PackageInfo) -> dict[str, Any]:
    """The SOL005 ``VnfPkgInfo`` record of ``package``."""
    if (received := _received(package)) is not None:
        return received
    record: dict[str, Any] = {"id": package.id}
    onboarded = _text(package.onboarding_state) == "ONBOARDED"
    if onboarded:
        # Tacker leaves out softwareImages and additionalArtifacts when empty
        record.update(vnfdId=package.vnfd_id, vnfProvider=package.vnf_provider or "",
                      vnfProductName=package.vnf_product_name or "",
                      vnfSoftwareVersion=package.vnf_software_version or "",
                      vnfdVersion=package.vnfd_version or "")
    if onboarded and package.checksum:
        record["checksum"] = dict(package.checksum)
    record.update(onboardingState=_text(package.onboarding_state),
                  operationalState=package.operational_state,
                  usageState=package.usage_state,
                  userDefinedData=dict(package.user_defined_data or {}))
    base = f"{_PKG}/vnf_packages/{package.id}"
    # as Tacker's: relative, and no vnfd link
    record["_links"] = {"self": _href(base),
                        "packageContent": _href(f"{base}/package_content")}
    return record
