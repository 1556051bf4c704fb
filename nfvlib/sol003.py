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
    """A SOL003 ``VimConnectionInfo`` of the instance's VIM (no secrets)."""
    info: dict[str, Any] = {"vimId": vnf.vim_id, "vimType": VIM_TYPE}
    if vnf.region:
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
    if vnf.vnfc:
        info["vnfcResourceInfo"] = [_vnfc_resource(v) for v in vnf.vnfc]
        info["vnfcInfo"] = [{"id": f"{v.vdu_id}-{v.id}", "vduId": v.vdu_id,
                             "vnfcResourceInfoId": v.id, "vnfcState": state}
                            for v in vnf.vnfc]
    metadata: dict[str, Any] = {}
    if vnf.stack_id:
        metadata["stack_id"] = vnf.stack_id
        metadata["stack_name"] = vnf.stack_name
    if vnf.instantiation_level_id:
        metadata["instantiationLevelId"] = vnf.instantiation_level_id
    if vnf.instantiated_info.get("nfv"):
        metadata["nfv"] = _masked(vnf.instantiated_info["nfv"])
    if vnf.instantiated_info.get("stackOutputs"):
        metadata["stackOutputs"] = _masked(vnf.instantiated_info["stackOutputs"])
    if metadata:
        info["metadata"] = metadata
    return info


def _vnfc_resource(vnfc: VnfcInfo) -> dict[str, Any]:
    metadata: dict[str, Any] = {"heatStatus": vnfc.status,
                                "resourceName": vnfc.resource_name}
    if vnfc.member:  # the member's name in its group, as Tacker names it
        metadata["parent_resource_name"] = vnfc.member
    if vnfc.parent_stack:
        metadata["parent_stack_id"] = vnfc.parent_stack
    return {"id": vnfc.id, "vduId": vnfc.vdu_id,
            "computeResource": {"vimConnectionId": VIM_CONNECTION_ID,
                                "resourceId": vnfc.id,
                                "vimLevelResourceType": vnfc.resource_type},
            "metadata": metadata}


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
