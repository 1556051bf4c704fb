"""VNF packages, VNF instances and LCM operations on a Tacker server.

Packages go through SOL005 ``/vnfpkgm/v1``; instances and operation
occurrences through SOL003 ``/vnflcm/v2``, whose every request carries the
``Version: 2.0.0`` header. Each class has the methods of its local
counterpart and returns the same model objects; the camelCase wire names are
mapped in one ``*_from_wire`` function per model.
"""

from __future__ import annotations

import contextlib
import io
import time
import zipfile
from pathlib import Path
from typing import Any, Callable, Mapping, NoReturn
from urllib.parse import parse_qs, urlsplit

from nfvlib import sol003
from nfvlib._wait import Backoff, follow_occurrence
from nfvlib.exceptions import (BackendError, Conflict, InvalidInput, NfvError, OpOccNotFound,
                               PackageNotFound, Unsupported, VnfNotFound, WaitTimeout)
from nfvlib.lcm.secrets import mask as redact
from nfvlib.models import (InstantiationState, OnboardingState, Operation, OpOcc,
                           OpState, PackageInfo, Page, VnfcCp, VnfcInfo,
                           VnfInstance)
from nfvlib.remote.http import TackerApi

PACKAGES = "/vnfpkgm/v1/vnf_packages"
VNF_INSTANCES = "/vnflcm/v2/vnf_instances"
OP_OCCS = "/vnflcm/v2/vnf_lcm_op_occs"
#: Tacker's v2 VNF LCM API answers only requests that name its version.
V2_HEADERS = {"Version": "2.0.0"}

#: Pauses between two reads while following the server (fast, then capped).
WAIT_FIRST = 0.1
WAIT_FACTOR = 1.5
WAIT_CAP = 1.0
#: How long an upload may stay UPLOADING/PROCESSING before giving up.
ONBOARD_TIMEOUT = 600.0
#: Tacker answers 202 to rollback and retry and leaves FAILED_TEMP a moment
#: later: how long ``wait`` reads that stale FAILED_TEMP before believing it.
STALE_GRACE = 30.0
#: A guard against a server whose ``Link: rel="next"`` never ends.
_MAX_PAGES = 1000

#: our filter keys (those LocalLcm.list_op_occs takes) -> SOL003 attribute
_FILTER_FIELDS = {"id": "id", "operationState": "operationState",
                  "state": "operationState", "vnfInstanceId": "vnfInstanceId",
                  "vnf_instance_id": "vnfInstanceId", "operation": "operation"}


class V1LcmApi:
    """A :class:`TackerApi` speaking Tacker's VNF LCM API v1 for the v2 calls.

    The remote classes are written for ``/vnflcm/v2`` with ``Version:
    2.0.0``; this transport sends the same calls to ``/vnflcm/v1`` (SOL003
    2.6.1) without the v2 version header, for servers or projects that
    serve only v1 (``--os-tacker-api-version 1``).
    """

    _V2 = ("/vnflcm/v2/vnf_instances", "/vnflcm/v2/vnf_lcm_op_occs")

    def __init__(self, api: TackerApi) -> None:
        self._api = api

    def call(self, method: str, url: str, **kwargs: Any) -> Any:
        resp = self.send(method, url, **kwargs)
        return resp.json() if resp.content else None

    def send(self, method: str, url: str, **kwargs: Any) -> Any:
        if url.startswith(self._V2):
            url = "/vnflcm/v1" + url[len("/vnflcm/v2"):]
            headers = {k: v for k, v in (kwargs.pop("headers", None) or {}).items()
                       if k.lower() != "version"}
            kwargs["headers"] = headers or None
        return self._api.send(method, url, **kwargs)


class _Pager:
    """GETs of SOL013 collections, following ``Link: <...>; rel="next"``."""

    def __init__(self, api: TackerApi) -> None:
        self._api = api

    def get_all(self, url: str, *, headers: Mapping[str, str] | None = None,
                params: Mapping[str, str] | None = None) -> list[Any]:
        items: list[Any] = []
        resp = self._api.send("GET", url, headers=headers, params=params)
        for _ in range(_MAX_PAGES):
            page = resp.json() if resp.content else []
            if not isinstance(page, list):
                raise BackendError(f"Tacker answered GET {url} with a "
                                   f"{type(page).__name__}, not a list")
            items.extend(page)
            following = (resp.links.get("next") or {}).get("url")
            if not following:
                return items
            resp = self._api.send("GET", following, headers=headers)
        raise BackendError(f"Tacker's listing of {url} has more than {_MAX_PAGES} pages")

    def get_page(self, url: str, *, headers: Mapping[str, str] | None = None,
                 params: Mapping[str, str] | None = None,
                 marker: str | None = None) -> tuple[list[Any], str | None]:
        """One page of a collection and the ``nextpage_opaque_marker`` of the
        next one (None on the last page)."""
        query = dict(params or {})
        if marker is not None:
            query["nextpage_opaque_marker"] = marker
        resp = self._api.send("GET", url, headers=headers, params=query or None)
        page = resp.json() if resp.content else []
        if not isinstance(page, list):
            raise BackendError(f"Tacker answered GET {url} with a "
                               f"{type(page).__name__}, not a list")
        following = (resp.links.get("next") or {}).get("url")
        if not following:
            return page, None
        markers = parse_qs(urlsplit(following).query).get("nextpage_opaque_marker")
        if not markers:
            raise BackendError(f"Tacker's next page of {url} has no "
                               "nextpage_opaque_marker")
        return page, markers[0]


# -- VNF packages (SOL005) -------------------------------------------------------

class RemotePackages:
    """The VNF packages of a Tacker server; same methods as LocalPackages."""

    def __init__(self, api: TackerApi, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 onboard_timeout: float = ONBOARD_TIMEOUT) -> None:
        self._api = api
        self._pager = _Pager(api)
        self._clock = clock
        self._sleep = sleep
        self._onboard_timeout = onboard_timeout

    def create_package(self, user_defined_data: Mapping[str, Any] | None = None
                       ) -> PackageInfo:
        """A new, empty package resource (CREATED) to upload content into."""
        body = self._api.call("POST", PACKAGES,
                              json={"userDefinedData": dict(user_defined_data or {})})
        return package_from_wire(body)

    def upload_package(self, package_id: str, path: str | Path) -> PackageInfo:
        """Send the package at ``path`` (a directory or a zip/CSAR file).

        Tacker onboards asynchronously: the package is read back until it is
        ONBOARDED (returned) or in ERROR (:class:`InvalidInput`), at most
        ``onboard_timeout`` seconds (:class:`WaitTimeout`).
        """
        content = _package_zip(Path(path))
        self._api.send("PUT", f"{PACKAGES}/{package_id}/package_content", data=content,
                       headers={"Content-Type": "application/zip",
                                "Accept": "application/json"},
                       not_found=PackageNotFound)
        backoff = Backoff(first=WAIT_FIRST, cap=WAIT_CAP, factor=WAIT_FACTOR,
                          timeout=self._onboard_timeout, clock=self._clock,
                          sleep=self._sleep)
        while True:
            info = self.get_package(package_id)
            if info.onboarding_state is OnboardingState.ONBOARDED:
                return info
            if info.onboarding_state is OnboardingState.ERROR:
                raise InvalidInput(f"Tacker could not onboard VNF package {package_id}",
                                   hint="check the package with 'vnf package upload' "
                                        "in local mode, and the Tacker server's log")
            if info.onboarding_state is OnboardingState.CREATED:
                # Tacker marks the package UPLOADING before it answers 202 and
                # sets it back to CREATED when onboarding fails (a vnfdId that
                # another package has, a broken CSAR).
                holder = self._vnfd_holder(path, package_id)
                if holder is not None:
                    raise Conflict(f"VNF package {holder.id} already has vnfdId "
                                   f"{holder.vnfd_id}", hint="delete it first")
                raise InvalidInput(f"Tacker could not onboard VNF package {package_id}: "
                                   "it went back to CREATED",
                                   hint="its vnfdId may be another package's (vnfdId "
                                        "is unique on a Tacker server); see the "
                                        "server's log")
            if backoff.expired():
                raise WaitTimeout(
                    f"VNF package {package_id} is still {info.onboarding_state.value} "
                    f"after {self._onboard_timeout:g} s",
                    hint=f"follow it with 'vnf package show {package_id}'",
                    last_seen=info.onboarding_state.value, timeout=self._onboard_timeout)
            backoff.pause()

    def _vnfd_holder(self, path: str | Path, package_id: str) -> PackageInfo | None:
        """Another package on the server with the vnfdId of the package at ``path``
        (vnfdId is unique on a Tacker server), if there is one."""
        from nfvlib.exceptions import NfvError
        from nfvlib.packages import load_package

        try:
            vnfd_id = load_package(path).vnfd_id
            others = self.list_packages(filter=f"(eq,vnfdId,{vnfd_id})")
        except NfvError:  # unreadable here too, or the server cannot filter
            return None
        return next((p for p in others if p.id != package_id), None)

    def list_packages(self, filter: str | None = None) -> list[PackageInfo]:
        """Every package the server shows this project (matching a SOL013 ``filter``)."""
        return [package_from_wire(p)
                for p in self._pager.get_all(PACKAGES, params=_filter_params(None, filter))]

    def update_package(self, package_id: str, *, operational_state: str | None = None,
                       user_defined_data: Mapping[str, Any] | None = None) -> PackageInfo:
        """``PATCH`` a VnfPkgInfoModifications (merge-patch); the package after it."""
        import json

        body: dict[str, Any] = {}
        if operational_state is not None:
            body["operationalState"] = operational_state
        if user_defined_data is not None:
            body["userDefinedData"] = dict(user_defined_data)
        if not body:
            raise InvalidInput("nothing to update",
                               hint="give an operational state or user-defined data")
        self._api.send("PATCH", f"{PACKAGES}/{package_id}", data=json.dumps(body).encode(),
                       headers={"Content-Type": "application/merge-patch+json",
                                "Accept": "application/json"},
                       not_found=PackageNotFound)
        return self.get_package(package_id)

    def download_package(self, package_id: str) -> bytes:
        """``GET .../package_content``: the CSAR (zip) of an onboarded package."""
        resp = self._api.send("GET", f"{PACKAGES}/{package_id}/package_content",
                              headers={"Accept": "application/zip"},
                              not_found=PackageNotFound)
        return bytes(resp.content)

    def download_vnfd(self, package_id: str, accept: str = "application/zip"
                      ) -> bytes | str:
        """``GET .../vnfd``: text for ``text/plain``, zip bytes otherwise."""
        from nfvlib.packages import VNFD_TYPES

        if accept not in VNFD_TYPES:
            raise InvalidInput(f"VNFD type {accept!r} is not one of {', '.join(VNFD_TYPES)}")
        wanted = "text/plain,application/zip" if accept == "both" else accept
        resp = self._api.send("GET", f"{PACKAGES}/{package_id}/vnfd",
                              headers={"Accept": wanted}, not_found=PackageNotFound)
        if resp.headers.get("Content-Type", "").startswith("text/plain"):
            return str(resp.text)
        return bytes(resp.content)

    def download_artifact(self, package_id: str, artifact_path: str) -> bytes:
        """``GET .../artifacts/{path}``: one file of an onboarded package."""
        from urllib.parse import quote

        resp = self._api.send("GET", f"{PACKAGES}/{package_id}/artifacts/"
                                     f"{quote(artifact_path.lstrip('/'))}",
                              headers={"Accept": "*/*"}, not_found=PackageNotFound)
        return bytes(resp.content)

    def get_package(self, package_id: str) -> PackageInfo:
        """The package with this id."""
        return package_from_wire(self._api.call("GET", f"{PACKAGES}/{package_id}",
                                                not_found=PackageNotFound))

    def delete_package(self, package_id: str) -> PackageInfo:
        """Delete a package no VNF instance uses.

        Tacker deletes DISABLED packages only, so an ENABLED one is disabled
        first (``PATCH`` with a merge-patch body).
        """
        info = self.get_package(package_id)
        if info.usage_state == "IN_USE":
            raise Conflict(f"VNF package {package_id} is used by VNF instance(s)",
                           hint="delete those instances first")
        if info.operational_state == "ENABLED":
            import json

            self._api.send("PATCH", f"{PACKAGES}/{package_id}",
                           data=json.dumps({"operationalState": "DISABLED"}).encode(),
                           headers={"Content-Type": "application/merge-patch+json",
                                    "Accept": "application/json"},
                           not_found=PackageNotFound)
        self._api.call("DELETE", f"{PACKAGES}/{package_id}", not_found=PackageNotFound)
        return info


def _package_zip(path: Path) -> bytes:
    """The bytes of a zip file, or of a directory zipped in memory."""
    if path.is_dir():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                archive.write(file, file.relative_to(path).as_posix())
        return buffer.getvalue()
    if path.is_file() and zipfile.is_zipfile(path):
        return path.read_bytes()
    if path.exists():
        raise InvalidInput(f"{path} is neither a directory nor a zip (CSAR) file",
                           hint="give the package directory or its .zip/.csar")
    raise InvalidInput(f"no VNF package at {path}")


def package_from_wire(body: Mapping[str, Any]) -> PackageInfo:
    """A :class:`PackageInfo` from SOL005 VnfPkgInfo JSON."""
    try:
        state = OnboardingState(body.get("onboardingState") or "CREATED")
    except ValueError:
        state = OnboardingState.ERROR
    return sol003.received(PackageInfo(
        id=body["id"], onboarding_state=state,
        operational_state=body.get("operationalState") or "DISABLED",
        usage_state=body.get("usageState") or "NOT_IN_USE",
        vnfd_id=body.get("vnfdId"), vnf_provider=body.get("vnfProvider"),
        vnf_product_name=body.get("vnfProductName"),
        vnf_software_version=body.get("vnfSoftwareVersion"),
        vnfd_version=body.get("vnfdVersion"),
        user_defined_data=dict(body.get("userDefinedData") or {}),
        checksum=dict(body["checksum"]) if isinstance(body.get("checksum"), dict)
        else None), body)


# -- VNF instances (SOL003 v2) ---------------------------------------------------

class RemoteVnfs:
    """The VNF instances of a Tacker server; same methods as LocalVnfs."""

    def __init__(self, api: TackerApi) -> None:
        self._api = api
        self._pager = _Pager(api)

    def create_vnf(self, vnfd_id: str, name: str | None = None,
                   description: str | None = None, *,
                   metadata: Mapping[str, Any] | None = None) -> VnfInstance:
        """A NOT_INSTANTIATED instance of an onboarded VNFD (a CreateVnfRequest,
        with ``metadata`` when given)."""
        body: dict[str, Any] = {"vnfdId": vnfd_id, "vnfInstanceName": name or "",
                                "vnfInstanceDescription": description or ""}
        if metadata is not None:
            if not isinstance(metadata, Mapping):
                raise InvalidInput("create request: metadata must be a JSON object")
            body["metadata"] = dict(metadata)
        try:
            resp = self._api.send("POST", VNF_INSTANCES, json=body, headers=V2_HEADERS)
        except InvalidInput as exc:
            # Tacker v2 answers 422 for a DISABLED package; local mode (and
            # Tacker v1) call that a Conflict, so both modes say the same.
            disabled = self._disabled_package(vnfd_id)
            if disabled is None:
                raise
            raise Conflict(f"VNF package {disabled} (vnfdId {vnfd_id}) is DISABLED: it "
                           "takes no new VNF instances",
                           hint=f"enable it with 'vnf package update {disabled} "
                                "--operational-state ENABLED'") from exc
        return vnf_from_wire(resp.json())

    def _disabled_package(self, vnfd_id: str) -> str | None:
        """The id of the DISABLED onboarded package holding ``vnfd_id``, if any."""
        from nfvlib.filters import quote

        resp = self._api.send("GET", PACKAGES,
                              params={"filter": f"(eq,vnfdId,{quote(vnfd_id)})"})
        found = resp.json() if resp.content else []
        return next((p.get("id") for p in found
                     if p.get("operationalState") == "DISABLED"), None)

    def list_vnfs(self, filter: str | None = None) -> list[VnfInstance]:
        """Every VNF instance the server shows this project (matching a SOL013 ``filter``)."""
        return [vnf_from_wire(v)
                for v in self._pager.get_all(VNF_INSTANCES, headers=V2_HEADERS,
                                             params=_filter_params(None, filter))]

    def page_vnfs(self, filter: str | None = None,
                  marker: str | None = None) -> Page[VnfInstance]:
        """One page of :meth:`list_vnfs`, as the server pages it (SOL013)."""
        found, following = self._pager.get_page(
            VNF_INSTANCES, headers=V2_HEADERS, params=_filter_params(None, filter),
            marker=marker)
        return Page(tuple(vnf_from_wire(v) for v in found), following)

    def get_vnf(self, vnf_id: str) -> VnfInstance:
        """The instance with this id (or, if unique, this name)."""
        try:
            resp = self._api.send("GET", f"{VNF_INSTANCES}/{vnf_id}", headers=V2_HEADERS,
                                  not_found=VnfNotFound)
        except VnfNotFound:
            named = [v for v in self.list_vnfs() if v.name == vnf_id]
            if len(named) > 1:
                raise Conflict(f"{len(named)} VNF instances are named {vnf_id!r}",
                               hint="use the instance id") from None
            if not named:
                raise
            return named[0]
        return vnf_from_wire(resp.json())

    def update_vnf(self, vnf_id: str, request: Mapping[str, Any]) -> VnfInstance:
        """``PATCH`` a VnfInfoModificationRequest (merge-patch).

        Tacker applies it as a MODIFY_INFO operation occurrence; the instance
        is read back at once, so it may not show the change yet.
        """
        import json

        if not isinstance(request, Mapping) or not request:
            raise InvalidInput("the update request must be a non-empty JSON object")
        vnf = self.get_vnf(vnf_id)
        self._api.send("PATCH", f"{VNF_INSTANCES}/{vnf.id}",
                       data=json.dumps(dict(request)).encode(),
                       headers={**V2_HEADERS, "Content-Type": "application/merge-patch+json",
                                "Accept": "application/json"},
                       not_found=VnfNotFound)
        return self.get_vnf(vnf.id)

    def delete_vnf(self, vnf_id: str) -> VnfInstance:
        """Delete a NOT_INSTANTIATED instance."""
        vnf = self.get_vnf(vnf_id)
        self._api.send("DELETE", f"{VNF_INSTANCES}/{vnf.id}", headers=V2_HEADERS,
                       not_found=VnfNotFound)
        return vnf


def vnf_from_wire(body: Mapping[str, Any]) -> VnfInstance:
    """A :class:`VnfInstance` from SOL003 VnfInstance JSON."""
    info = body.get("instantiatedVnfInfo") or {}
    metadata = info.get("metadata") or {}
    vim_id = region = None
    connections = body.get("vimConnectionInfo") or {}
    if isinstance(connections, list):  # the v1 API (SOL003 2.6.1) sends an array
        connections = {str(i): c for i, c in enumerate(connections)}
    if connections:
        first = connections[sorted(connections)[0]] or {}
        vim_id = first.get("vimId")
        region = (first.get("accessInfo") or {}).get("region")
    try:
        state = InstantiationState(body.get("instantiationState") or "NOT_INSTANTIATED")
    except ValueError:
        state = InstantiationState.NOT_INSTANTIATED
    return sol003.received(VnfInstance(
        id=body["id"], vnfd_id=body.get("vnfdId") or "",
        package_id=body.get("vnfPkgId") or "", instantiation_state=state,
        name=body.get("vnfInstanceName") or "",
        description=body.get("vnfInstanceDescription") or "",
        vnf_provider=body.get("vnfProvider"), vnf_product_name=body.get("vnfProductName"),
        vnf_software_version=body.get("vnfSoftwareVersion"),
        vnfd_version=body.get("vnfdVersion"), vim_id=vim_id, region=region,
        flavour_id=info.get("flavourId"),
        instantiation_level_id=metadata.get("instantiationLevelId")
        or info.get("instantiationLevelId"),
        stack_id=metadata.get("stack_id"),
        scale_status={s["aspectId"]: int(s.get("scaleLevel") or 0)
                      for s in info.get("scaleStatus") or () if s.get("aspectId")},
        instantiated_info=redact(dict(info)) if info else {},
        vnfc=tuple(_vnfcs_from_wire(info)),
        metadata=redact(_object(body.get("metadata"))),
        extensions=redact(_object(body.get("extensions"))),
        vnf_configurable_properties=redact(_object(body.get("vnfConfigurableProperties")))),
        body)


def _object(value: Any) -> dict[str, Any]:
    """A JSON object of a record (anything else: empty)."""
    return dict(value) if isinstance(value, Mapping) else {}


def _vnfcs_from_wire(info: Mapping[str, Any]) -> list[VnfcInfo]:
    """VNFCs from vnfcResourceInfo, named by their vnfcInfo id where there is one.

    The vnfcInfo id is what a heal request's ``vnfcInstanceId`` names.
    """
    by_resource = {c.get("vnfcResourceInfoId"): c for c in info.get("vnfcInfo") or ()}
    ports = _link_ports(info)
    vnfcs = []
    for res in info.get("vnfcResourceInfo") or ():
        compute = res.get("computeResource") or {}
        vnfc = by_resource.get(res.get("id")) or {}
        metadata = res.get("metadata") or {}
        member = metadata.get("parent_resource_name")
        vnfcs.append(VnfcInfo(
            id=vnfc.get("id") or res["id"], vdu_id=res.get("vduId") or "",
            resource_name=compute.get("resourceId") or "",
            resource_type=compute.get("vimLevelResourceType") or "",
            status=vnfc.get("vnfcState") or "",
            # as local mode's: the group's stack for a member, else the server's
            member=member, parent_stack=metadata.get("parent_stack_id") if member
            else metadata.get("stack_id"),
            created_at=metadata.get("creation_time"), stack=metadata.get("stack_id"),
            cps=tuple(_vnfc_cp(cp, ports) for cp in res.get("vnfcCpInfo") or ()
                      if isinstance(cp, Mapping) and cp.get("cpdId"))))
    return vnfcs


def _link_ports(info: Mapping[str, Any]) -> dict[str, tuple[Mapping[str, Any],
                                                            Mapping[str, Any]]]:
    """Port id -> (its vnfLinkPorts entry, its virtual link), of every internal link."""
    found = {}
    for link in info.get("vnfVirtualLinkResourceInfo") or ():
        for port in link.get("vnfLinkPorts") or ():
            if port.get("id"):
                found[port["id"]] = (port, link)
    return found


def _vnfc_cp(cp: Mapping[str, Any], ports: Mapping[str, tuple[
        Mapping[str, Any], Mapping[str, Any]]]) -> VnfcCp:
    port_id = cp.get("vnfLinkPortId")
    port, link = ports.get(port_id, ({}, {})) if port_id else ({}, {})
    network = link.get("networkResource") or {}
    return VnfcCp(cpd_id=cp["cpdId"], port_id=port_id,
                  port_type=(port.get("resourceHandle") or {}).get("vimLevelResourceType"),
                  virtual_link=link.get("vnfVirtualLinkDescId"),
                  network_id=network.get("resourceId"),
                  network_type=network.get("vimLevelResourceType"))


# -- LCM operations and their occurrences (SOL003 v2) ---------------------------

class RemoteLcm:
    """VNF LCM operations on a Tacker server; same methods as LocalLcm.

    A request returns the occurrence Tacker created (read back from the
    ``Location`` of its 202 answer). Remote occurrences have no steps.
    """

    def __init__(self, api: TackerApi, *, vnfs: RemoteVnfs | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self._api = api
        self._pager = _Pager(api)
        self._vnfs = vnfs
        self._clock = clock
        self._sleep = sleep
        #: occurrence id -> (verb, stateEnteredTime) of a rollback or retry the
        #: server accepted while the occurrence still read FAILED_TEMP
        self._accepted: dict[str, tuple[str, str]] = {}

    # -- operations ---------------------------------------------------------------
    def instantiate(self, vnf_id: str, request: Mapping[str, Any]) -> OpOcc:
        """Instantiate a NOT_INSTANTIATED VNF (an InstantiateVnfRequest)."""
        if not isinstance(request, Mapping) or not request.get("flavourId"):
            raise InvalidInput("the instantiate request needs a flavourId",
                               hint='write e.g. {"flavourId": "simple"}')
        return self._start(vnf_id, "instantiate", dict(request))

    def create_and_instantiate(self, vnfd_id: str, request: Mapping[str, Any], *,
                               name: str | None = None, description: str | None = None,
                               metadata: Mapping[str, Any] | None = None
                               ) -> tuple[VnfInstance, OpOcc]:
        """Create an instance of ``vnfd_id`` and instantiate it (``vnflcm create --I``).

        The InstantiateVnfRequest is checked against SOL003's schema first;
        what only the server can check (its packages, VIMs) is checked when
        it answers the instantiate, and the instance just created is then
        deleted again.
        """
        from nfvlib.lcm.requests import validate

        validate("InstantiateVnfRequest", request)
        vnfs = self._vnfs or RemoteVnfs(self._api)
        vnf = vnfs.create_vnf(vnfd_id, name, description, metadata=metadata)
        try:
            op = self.instantiate(vnf.id, request)
        except Exception:
            with contextlib.suppress(NfvError):
                vnfs.delete_vnf(vnf.id)
            raise
        return vnf, op

    def scale(self, vnf_id: str, scale_type: str, aspect_id: str,
              number_of_steps: int = 1,
              additional_params: Mapping[str, Any] | None = None, *,
              restoration_point: bool = False) -> OpOcc:
        """Scale an aspect out or in by ``number_of_steps``."""
        if restoration_point:
            _no_restoration_points()
        if scale_type not in ("SCALE_OUT", "SCALE_IN"):
            raise InvalidInput(f"scale type {scale_type!r} is not SCALE_OUT or SCALE_IN")
        if not isinstance(number_of_steps, int) or number_of_steps < 1:
            raise InvalidInput(f"number of steps must be a positive integer, not "
                               f"{number_of_steps!r}")
        request: dict[str, Any] = {"type": scale_type, "aspectId": aspect_id,
                                   "numberOfSteps": number_of_steps}
        if additional_params:
            request["additionalParams"] = dict(additional_params)
        return self._start(vnf_id, "scale", request)

    def heal(self, vnf_id: str, vnfc_instance_ids: list[str] | None = None,
             cause: str | None = None,
             additional_params: Mapping[str, Any] | None = None, *,
             restoration_point: bool = False) -> OpOcc:
        """Recreate the given VNFCs (all of them when none are named)."""
        if restoration_point:
            _no_restoration_points()
        request: dict[str, Any] = {}
        if vnfc_instance_ids:
            request["vnfcInstanceId"] = list(vnfc_instance_ids)
        if cause:
            request["cause"] = cause
        if additional_params:
            request["additionalParams"] = dict(additional_params)
        return self._start(vnf_id, "heal", request)

    def terminate(self, vnf_id: str, termination_type: str = "GRACEFUL",
                  graceful_termination_timeout: int | None = None) -> OpOcc:
        """Delete the VNF's resources and return it to NOT_INSTANTIATED."""
        if termination_type not in ("GRACEFUL", "FORCEFUL"):
            raise InvalidInput(f"termination type {termination_type!r} is not GRACEFUL "
                               "or FORCEFUL")
        if graceful_termination_timeout is not None and graceful_termination_timeout < 0:
            raise InvalidInput("the graceful termination timeout must not be negative")
        request: dict[str, Any] = {"terminationType": termination_type}
        if graceful_termination_timeout is not None:
            request["gracefulTerminationTimeout"] = graceful_termination_timeout
        return self._start(vnf_id, "terminate", request)

    def operate(self, vnf_id: str, change_state_to: str, *,
                stop_type: str | None = None, graceful_stop_timeout: int | None = None,
                vnfc_instance_ids: list[str] | None = None, force: bool = False,
                additional_params: Mapping[str, Any] | None = None) -> OpOcc:
        """Start or stop a VNF (Tacker v2 ``POST .../operate``, OperateVnfRequest)."""
        from nfvlib.exceptions import Unsupported

        if change_state_to not in ("STARTED", "STOPPED"):
            raise InvalidInput(f"change state to {change_state_to!r} is not STARTED or "
                               "STOPPED")
        if vnfc_instance_ids:
            raise Unsupported("operating single VNFC instances is a local-mode feature",
                              hint="operate the whole VNF, or use --os-nfv-mode local")
        request: dict[str, Any] = {"changeStateTo": change_state_to}
        if change_state_to == "STOPPED":
            request["stopType"] = "FORCEFUL" if force else (stop_type or "GRACEFUL")
            if graceful_stop_timeout is not None:
                request["gracefulStopTimeout"] = graceful_stop_timeout
        if additional_params:
            request["additionalParams"] = dict(additional_params)
        return self._start(vnf_id, "operate", request)

    def change_vnfpkg(self, vnf_id: str, request: Mapping[str, Any]) -> OpOcc:
        """Tacker v2 ``POST .../change_vnfpkg`` (a ChangeCurrentVnfPkgRequest)."""
        if not isinstance(request, Mapping) or not isinstance(request.get("vnfdId"), str):
            raise InvalidInput("the change-vnfpkg request needs a vnfdId",
                               hint='write e.g. {"vnfdId": "...", "additionalParams": {}}')
        return self._start(vnf_id, "change_vnfpkg", dict(request))

    def change_ext_conn(self, vnf_id: str, request: Mapping[str, Any]) -> OpOcc:
        """Tacker v2 ``POST .../change_ext_conn`` (a ChangeExtVnfConnectivityRequest)."""
        if not isinstance(request, Mapping) or not isinstance(request.get("extVirtualLinks"),
                                                               list):
            raise InvalidInput("the change-ext-conn request needs an extVirtualLinks array",
                               hint='write e.g. {"extVirtualLinks": [...], '
                                    '"vimConnectionInfo": {...}}')
        return self._start(vnf_id, "change_ext_conn", dict(request))

    def versions(self, major_version: int | None = None) -> dict[str, Any]:
        """``GET /vnflcm[/v{major}]/api_versions``: the API versions Tacker serves."""
        if major_version not in (None, 1, 2):
            raise InvalidInput(f"major version {major_version} is not supported",
                               hint="use 1 or 2")
        path = ("/vnflcm/api_versions" if major_version is None
                else f"/vnflcm/v{major_version}/api_versions")
        answer: dict[str, Any] = self._api.send("GET", path, headers=V2_HEADERS).json()
        return answer

    def fallback(self, vnf_id: str, to: str | None = None) -> OpOcc:
        """Not in SOL003 nor Tacker: restoration points are local-mode only."""
        _no_restoration_points()

    def reboot(self, vnf_id: str, **_: Any) -> OpOcc:
        """Not in SOL003 nor Tacker: a local-mode operation."""
        from nfvlib.exceptions import Unsupported

        raise Unsupported("reboot is a local-mode operation (Tacker has none)",
                          hint="stop and start it with 'vnflcm operate', or use "
                               "--os-nfv-mode local")

    # -- error handling -----------------------------------------------------------
    def rollback(self, op_id: str) -> OpOcc:
        """Ask the server to roll a FAILED_TEMP occurrence back."""
        return self._task(op_id, "rollback")

    def retry(self, op_id: str) -> OpOcc:
        """Ask the server to run a FAILED_TEMP occurrence again."""
        return self._task(op_id, "retry")

    def fail(self, op_id: str) -> OpOcc:
        """Give up on a FAILED_TEMP occurrence: it becomes FAILED."""
        resp = self._api.send("POST", f"{OP_OCCS}/{op_id}/fail", headers=V2_HEADERS,
                              not_found=OpOccNotFound)
        if resp.content:
            return op_occ_from_wire(resp.json())
        return self.get_op_occ(op_id)

    def cancel(self, op_id: str, cancel_mode: str = "GRACEFUL") -> OpOcc:
        """Not offered: Tacker's v2 LCM API has no cancel (no request is sent)."""
        if cancel_mode not in ("GRACEFUL", "FORCEFUL"):
            raise InvalidInput(f"cancel mode {cancel_mode!r} is not GRACEFUL or FORCEFUL")
        raise Unsupported("a Tacker server's v2 LCM API (/vnflcm/v2) cannot cancel an "
                          "operation occurrence",
                          hint="wait for it, then roll it back or fail it; or use "
                               "local mode, which cancels")

    # -- queries ----------------------------------------------------------------
    def get_op_occ(self, op_id: str) -> OpOcc:
        """The occurrence with this id."""
        resp = self._api.send("GET", f"{OP_OCCS}/{op_id}", headers=V2_HEADERS,
                              not_found=OpOccNotFound)
        return op_occ_from_wire(resp.json())

    def list_op_occs(self, filters: Mapping[str, str] | None = None, *,
                     filter: str | None = None) -> list[OpOcc]:
        """Occurrences, oldest first, matching every ``attribute: value`` filter.

        ``filter`` is a SOL013 filter expression, checked here and sent to
        Tacker as ``filter=`` (joined to ``filters`` by ``;``).
        """
        params = _filter_params(encode_filter(filters) if filters else None, filter)
        occs = [op_occ_from_wire(o) for o in
                self._pager.get_all(OP_OCCS, headers=V2_HEADERS, params=params)]
        return sorted(occs, key=lambda o: (o.start_time, o.id))

    def page_op_occs(self, filter: str | None = None,
                     marker: str | None = None) -> Page[OpOcc]:
        """One page of :meth:`list_op_occs`, as the server pages it (SOL013)."""
        found, following = self._pager.get_page(
            OP_OCCS, headers=V2_HEADERS, params=_filter_params(filter), marker=marker)
        return Page(tuple(op_occ_from_wire(o) for o in found), following)

    def wait(self, op_id: str, timeout: float | None = None,
             progress: Callable[[OpOcc], None] | None = None) -> OpOcc:
        """Follow an occurrence until it is final or FAILED_TEMP.

        ``progress`` is called with the occurrence whenever its state changes.
        Reads back off from :data:`WAIT_FIRST` to :data:`WAIT_CAP` seconds, and
        starts fast again after a change. Raises :class:`WaitTimeout` after
        ``timeout`` seconds.

        After a :meth:`rollback` or :meth:`retry` of this client, the
        FAILED_TEMP the server still shows from before the request is not an
        answer: the wait goes on until the state (or the time it was entered)
        changes, or for at most :data:`STALE_GRACE` seconds.
        """
        started = self._clock()
        accepted = self._accepted.pop(op_id, None)
        seen = [] if accepted is None else [self._outwait_stale(op_id, accepted, timeout)]
        remaining = None if timeout is None else max(
            timeout - (self._clock() - started), 0.0)
        op: OpOcc = follow_occurrence(
            lambda: seen.pop() if seen else self.get_op_occ(op_id), timeout=remaining,
            progress=progress, first=WAIT_FIRST, cap=WAIT_CAP, clock=self._clock,
            sleep=self._sleep)
        return op

    def _outwait_stale(self, op_id: str, accepted: tuple[str, str],
                       timeout: float | None) -> OpOcc:
        """Read until the occurrence leaves the FAILED_TEMP it had before ``verb``;
        return the first occurrence read that did (or the last, after the grace)."""
        verb, entered = accepted
        grace = STALE_GRACE if timeout is None else min(STALE_GRACE, timeout)
        backoff = Backoff(first=WAIT_FIRST, cap=WAIT_CAP, factor=WAIT_FACTOR,
                          timeout=grace, clock=self._clock, sleep=self._sleep)
        while True:
            op = self.get_op_occ(op_id)
            if op.state is not OpState.FAILED_TEMP or op.state_entered_time != entered:
                return op
            if backoff.expired():
                if timeout is not None and timeout <= STALE_GRACE:
                    raise WaitTimeout(
                        f"operation occurrence {op_id} is still FAILED_TEMP after "
                        f"{timeout:g} s: the server accepted the {verb} but has not "
                        "started it", hint=f"follow it with 'vnflcm op show {op_id}'",
                        last_seen=op.state.value, timeout=timeout)
                return op
            backoff.pause()

    # -- internals ----------------------------------------------------------------
    def _start(self, vnf_id: str, verb: str, request: dict[str, Any]) -> OpOcc:
        try:
            resp = self._post_operation(vnf_id, verb, request)
        except VnfNotFound:
            if self._vnfs is None:
                raise
            vnf = self._vnfs.get_vnf(vnf_id)  # a name, or raises VnfNotFound again
            if vnf.id == vnf_id:
                raise
            resp = self._post_operation(vnf.id, verb, request)
        return self.get_op_occ(_occ_id_from(resp))

    def _post_operation(self, vnf_id: str, verb: str, request: dict[str, Any]) -> Any:
        return self._api.send("POST", f"{VNF_INSTANCES}/{vnf_id}/{verb}", json=request,
                              headers=V2_HEADERS, not_found=VnfNotFound)

    def _task(self, op_id: str, verb: str, body: dict[str, Any] | None = None) -> OpOcc:
        self._api.send("POST", f"{OP_OCCS}/{op_id}/{verb}", json=body, headers=V2_HEADERS,
                       not_found=OpOccNotFound)
        op = self.get_op_occ(op_id)
        if verb in ("rollback", "retry") and op.state is OpState.FAILED_TEMP:
            self._accepted[op_id] = (verb, op.state_entered_time)
        else:
            self._accepted.pop(op_id, None)
        return op


def _no_restoration_points() -> NoReturn:
    raise Unsupported("restoration points and fallback are local-mode features "
                      "(Tacker has none)", hint="use --os-nfv-mode local")


def _occ_id_from(resp: Any) -> str:
    """The occurrence id at the end of a 202 answer's ``Location``."""
    location = resp.headers.get("Location") or ""
    occ_id = location.rstrip("/").rsplit("/", 1)[-1]
    if "/vnf_lcm_op_occs/" not in location or not occ_id:
        raise BackendError(f"Tacker accepted the request but gave no occurrence "
                           f"Location (got {location!r})")
    return occ_id


def _filter_params(*filters: str | None) -> dict[str, str] | None:
    """``{"filter": ...}`` joining the given SOL013 filters (each checked first)."""
    from nfvlib.filters import parse_filter

    given = [str(parse_filter(f)) for f in filters if f and f.strip()]
    return {"filter": ";".join(given)} if given else None


def encode_filter(filters: Mapping[str, str]) -> str:
    """SOL013 attribute filter: ``(eq,operationState,X);(eq,vnfInstanceId,Y)``.

    Values holding ``,``, ``'``, ``(`` or ``)`` are single-quoted, with ``'``
    doubled, as SOL013 5.2.2 asks.
    """
    terms = []
    for key, value in filters.items():
        attribute = _FILTER_FIELDS.get(key)
        if attribute is None:
            raise InvalidInput(f"cannot filter operation occurrences by {key!r}",
                               hint="use id, operationState, vnfInstanceId or operation")
        text = str(getattr(value, "value", value))
        if any(c in text for c in ",'()"):
            text = "'" + text.replace("'", "''") + "'"
        terms.append(f"(eq,{attribute},{text})")
    return ";".join(terms)


def op_occ_from_wire(body: Mapping[str, Any]) -> OpOcc:
    """An :class:`OpOcc` from SOL003 VnfLcmOpOcc JSON (secrets masked)."""
    try:
        operation = Operation(body["operation"])
        state = OpState(body["operationState"])
    except (KeyError, ValueError) as exc:
        raise BackendError(f"Tacker sent an operation occurrence this client cannot "
                           f"read: {exc}") from exc
    error = body.get("error")
    return sol003.received(OpOcc(
        id=body["id"], vnf_instance_id=body.get("vnfInstanceId") or "",
        operation=operation, state=state, start_time=body.get("startTime") or "",
        state_entered_time=body.get("stateEnteredTime") or "",
        is_automatic_invocation=bool(body.get("isAutomaticInvocation")),
        is_cancel_pending=bool(body.get("isCancelPending")),
        cancel_mode=body.get("cancelMode"),
        request=redact(dict(body.get("operationParams") or {})),
        error=dict(error) if isinstance(error, Mapping) else None,
        resource_changes=dict(body.get("resourceChanges") or {})), body)

