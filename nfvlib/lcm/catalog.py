"""Local VNF packages and VNF instances: onboarding, create, list, delete.

An uploaded package is checked, then its content is copied (or unpacked) to
``<data dir>/packages/<id>`` through a temporary directory renamed into place,
so a package row never points at half-copied files.
"""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Mapping

from nfvlib.exceptions import (Conflict, InvalidInput, NotFound, PackageNotFound,
                               Unsupported, VnfNotFound)
from nfvlib.inputs import short
from nfvlib.models import (InstantiationState, OnboardingState, PackageInfo, Page,
                           VnfInstance)
from nfvlib.paging import PAGE_SIZE
from nfvlib.store import Store
from nfvlib.store.lcm import OpOccTable, PackageTable, VnfTable

if TYPE_CHECKING:
    from nfvlib.packages import VnfPackage

#: (VnfInfoModificationRequest field, VnfInstance field) applied as JSON Merge Patches
_MERGE_PATCHED = (("metadata", "metadata"), ("extensions", "extensions"),
                  ("vnfConfigurableProperties", "vnf_configurable_properties"))
#: What a VnfInfoModificationRequest may change in local mode.
_UPDATABLE = ("vnfInstanceName", "vnfInstanceDescription", "vnfdId", "metadata",
              "extensions", "vnfConfigurableProperties", "vimConnectionInfo")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def merged_user_data(vnf: VnfInstance, request: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of ``vnf`` that the request's ``metadata``, ``extensions``
    and ``vnfConfigurableProperties`` change, each applied as a JSON Merge
    Patch (RFC 7396), secret values (a key such as ``password``) kept as
    ``***`` only: they are free-form and the store holds no secret in clear."""
    from nfvlib.lcm import secrets
    from nfvlib.lcm.heat_params import json_merge_patch

    return {name: json_merge_patch(getattr(vnf, name), secrets.mask(request[key]))
            for key, name in _MERGE_PATCHED if key in request}


def _usage(info: PackageInfo, in_use: bool) -> PackageInfo:
    """The package with the usage state its instances give it (SOL005 usageState:
    IN_USE while any VNF instance, instantiated or not, refers to it)."""
    state = "IN_USE" if in_use else "NOT_IN_USE"
    return info if info.usage_state == state else dataclasses.replace(info, usage_state=state)


class LocalPackages:
    """VNF packages kept in the local store and data directory."""

    def __init__(self, store: Store, package_dir: Path, *,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self._table = PackageTable(store)
        self._vnfs = VnfTable(store)
        self._store = store
        self._dir = Path(package_dir)
        self._clock = clock
        self._loaded: dict[str, VnfPackage] = {}

    def create_package(self, user_defined_data: Mapping[str, Any] | None = None
                       ) -> PackageInfo:
        """A new, empty package resource (CREATED) to upload content into."""
        info = PackageInfo(id=str(uuid.uuid4()), onboarding_state=OnboardingState.CREATED,
                           user_defined_data=dict(user_defined_data or {}),
                           created_at=self._now())
        with self._store.transaction() as conn:
            self._table.insert(conn, info)
        return info

    def upload_package(self, package_id: str, path: str | Path) -> PackageInfo:
        """Check the package at ``path`` and onboard it (ONBOARDED, ENABLED).

        A failure at any point leaves nothing behind: no staging directory,
        no content, the package still CREATED.
        """
        try:
            return self._upload(package_id, path)
        finally:
            shutil.rmtree(self._staging(package_id), ignore_errors=True)

    @property
    def _parsed_dir(self) -> Path:
        """Where packages' parsed YAML is kept (:mod:`nfvlib.packages.parsed`)."""
        return self._dir / ".parsed"

    def _staging(self, package_id: str) -> Path:
        """Where a package's content is copied before it is renamed into place."""
        return self._dir / f".{package_id}.tmp"

    def _upload(self, package_id: str, path: str | Path) -> PackageInfo:
        from nfvlib.files import make_private, private_dir
        from nfvlib.packages import checksum, content_zip, extract_package, load_package
        from nfvlib.packages.parsed import ParsedYamlCache

        info = self.get_package(package_id)
        if info.onboarding_state is not OnboardingState.CREATED:
            raise Conflict(f"VNF package {package_id} is {info.onboarding_state.value}",
                           hint="content can be uploaded only once; create a new package")
        parsed = ParsedYamlCache(self._parsed_dir, deferred=True)
        package = load_package(path, yaml_cache=parsed)
        existing = self._table.by_vnfd_id(package.vnfd_id)
        if existing is not None:
            raise Conflict(f"VNF package {existing.id} already has vnfdId "
                           f"{package.vnfd_id}", hint="delete it first")
        private_dir(self._dir)
        final = self._dir / package_id
        staging = self._staging(package_id)
        shutil.rmtree(staging, ignore_errors=True)
        if package.is_archive:
            extract_package(package.path, staging)
            digest = checksum(package.path)
        else:
            shutil.copytree(package.path, staging)
            digest = checksum(content_zip(staging))  # what a download gives
        # Copied or unpacked files keep the package's modes: make them private.
        make_private(staging)
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
        onboarded = dataclasses.replace(
            info, onboarding_state=OnboardingState.ONBOARDED, operational_state="ENABLED",
            vnfd_id=package.vnfd_id, vnf_provider=package.vnf_provider,
            vnf_product_name=package.vnf_product_name,
            vnf_software_version=package.vnf_software_version,
            vnfd_version=package.vnfd_version, path=str(final), checksum=digest,
            updated_at=self._now())
        try:
            with self._store.transaction() as conn:
                self._table.update(conn, onboarded)
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
        parsed.save()  # its next reader parses nothing
        return onboarded

    def list_packages(self, filter: str | None = None) -> list[PackageInfo]:
        """Every package, oldest first (matching a SOL013 ``filter``, see nfvlib.filters)."""
        from nfvlib.filters import PACKAGE_ATTRIBUTES, package_record, parse_filter

        expression = parse_filter(filter, attributes=PACKAGE_ATTRIBUTES)
        used = self._vnfs.packages_in_use()
        packages = [_usage(p, p.id in used) for p in self._table.select(order="created_at, id")]
        if expression is None:
            return packages
        return [p for p in packages if expression.matches(package_record(p))]

    def update_package(self, package_id: str, *, operational_state: str | None = None,
                       user_defined_data: Mapping[str, Any] | None = None) -> PackageInfo:
        """Enable or disable an onboarded package; merge user-defined data.

        As Tacker (SOL005 VnfPkgInfoModifications): ``user_defined_data`` is
        merged into the package's (a key set to None is removed); a DISABLED
        package refuses new VNF instances. Setting the state a package
        already has, or any state before onboarding, is a :class:`Conflict`.
        """
        if operational_state is None and user_defined_data is None:
            raise InvalidInput("nothing to update",
                               hint="give an operational state or user-defined data")
        if operational_state not in (None, "ENABLED", "DISABLED"):
            raise InvalidInput(f"operational state {operational_state!r} is not "
                               "ENABLED or DISABLED")
        with self._store.transaction() as conn:
            info = self.get_package(package_id)
            changes: dict[str, Any] = {"updated_at": self._now()}
            if operational_state is not None:
                if info.onboarding_state is not OnboardingState.ONBOARDED:
                    raise Conflict(f"VNF package {package_id} is "
                                   f"{info.onboarding_state.value}: only an ONBOARDED "
                                   "package can be enabled or disabled",
                                   hint="upload its content first")
                if info.operational_state == operational_state:
                    raise Conflict(f"VNF package {package_id} is already "
                                   f"{operational_state}")
                changes["operational_state"] = operational_state
            if user_defined_data is not None:
                merged = dict(info.user_defined_data or {})
                for key, value in user_defined_data.items():
                    if value is None:
                        merged.pop(key, None)
                    else:
                        merged[key] = value
                changes["user_defined_data"] = merged
            updated = dataclasses.replace(info, **changes)
            self._table.update(conn, updated)
        return updated

    def download_package(self, package_id: str) -> bytes:
        """The package content as a CSAR (zip) archive."""
        from nfvlib.packages import content_zip

        return content_zip(self._content_dir(package_id))

    def download_vnfd(self, package_id: str, accept: str = "application/zip"
                      ) -> bytes | str:
        """The VNFD of an onboarded package, as Tacker's ``GET .../vnfd`` gives it.

        ``accept``: ``text/plain`` (the VNFD when it is one YAML file),
        ``application/zip`` (TOSCA-Metadata and Definitions as a zip) or
        ``both`` (text when one file, else the zip).
        """
        from nfvlib.packages import vnfd_content

        return vnfd_content(self._content_dir(package_id), accept)

    def download_artifact(self, package_id: str, artifact_path: str) -> bytes:
        """One file of an onboarded package, by its package-relative path."""
        from nfvlib.packages import read_artifact

        return read_artifact(self._content_dir(package_id), artifact_path)

    def _content_dir(self, package_id: str) -> Path:
        info = self.get_package(package_id)
        if info.onboarding_state is not OnboardingState.ONBOARDED or not info.path:
            raise Conflict(f"VNF package {package_id} is {info.onboarding_state.value}: "
                           "it has no content to download",
                           hint="upload its content with 'vnf package upload'")
        return Path(info.path)

    def get_package(self, package_id: str) -> PackageInfo:
        """The package with this id."""
        info: PackageInfo | None = self._table.get(package_id)
        if info is None:
            raise PackageNotFound(f"no VNF package with id {short(package_id)}",
                                  hint="list packages with 'vnf package list'")
        return _usage(info, self._vnfs.in_use(package_id) > 0)

    def delete_package(self, package_id: str) -> PackageInfo:
        """Delete a package no VNF instance uses, with its content."""
        info = self.get_package(package_id)
        users = self._vnfs.in_use(package_id)
        if users:
            raise Conflict(f"VNF package {package_id} is used by {users} VNF instance(s)",
                           hint="delete those instances first")
        with self._store.transaction() as conn:
            self._table.delete(conn, package_id)
        if info.path:
            shutil.rmtree(info.path, ignore_errors=True)
        # An upload killed half-way may have left its staging directory.
        shutil.rmtree(self._staging(package_id), ignore_errors=True)
        return info

    def package_for_vnfd(self, vnfd_id: str) -> PackageInfo:
        """The onboarded package holding ``vnfd_id``."""
        info = self._table.by_vnfd_id(vnfd_id)
        if info is None:
            shown = vnfd_id if len(str(vnfd_id)) <= 64 else short(vnfd_id)
            raise PackageNotFound(f"no onboarded VNF package has vnfdId {shown}",
                                  hint="upload it with 'vnf package upload'")
        return info

    def load(self, info: PackageInfo) -> VnfPackage:
        """The parsed package content (cached per process; its parsed YAML
        kept in ``.parsed`` of the package directory for the next process)."""
        from nfvlib.packages import load_package
        from nfvlib.packages.parsed import ParsedYamlCache

        if info.id not in self._loaded:
            if not info.path:
                raise InvalidInput(f"VNF package {info.id} has no content",
                                   hint="upload it with 'vnf package upload'")
            self._loaded[info.id] = load_package(
                info.path, yaml_cache=ParsedYamlCache(self._parsed_dir))
        return self._loaded[info.id]

    def _now(self) -> str:
        return self._clock().isoformat(timespec="seconds")


class LocalVnfs:
    """VNF instance resources kept in the local store."""

    def __init__(self, store: Store, packages: LocalPackages, *,
                 clock: Callable[[], datetime] = _utcnow,
                 page_size: int = PAGE_SIZE,
                 deliver: Callable[[], None] | None = None) -> None:
        """``deliver`` sends the notifications a create, update or delete
        left in the outbox (see :mod:`nfvlib.lcm.notify`)."""
        self._page_size = page_size
        self._table = VnfTable(store)
        self._ops = OpOccTable(store)
        self._store = store
        self._packages = packages
        self._clock = clock
        self._deliver = deliver or (lambda: None)

    def create_vnf(self, vnfd_id: str, name: str | None = None,
                   description: str | None = None, *,
                   metadata: Mapping[str, Any] | None = None) -> VnfInstance:
        """A NOT_INSTANTIATED instance of an onboarded VNFD (a SOL003 CreateVnfRequest).

        ``metadata`` is the instance's SOL003 ``metadata`` (a JSON object).
        Matching subscriptions get a VnfIdentifierCreationNotification,
        written in the transaction that creates the instance.
        """
        from nfvlib.lcm import notify, secrets

        info = self.check_create(vnfd_id, name, description, metadata=metadata)
        now = self._clock().isoformat(timespec="seconds")
        vnf = VnfInstance(id=str(uuid.uuid4()), vnfd_id=vnfd_id, package_id=info.id,
                          name=name or "", description=description or "",
                          metadata=secrets.mask(_json_object(metadata, "metadata",
                                                             "create request")),
                          created_at=now)
        with self._store.transaction() as conn:
            self._table.insert(conn, vnf)
            notified = notify.record_identifier(conn, notify.CREATION_NOTIFICATION,
                                                vnf.id, now)
        if notified:
            self._deliver()
        return self._decorate(vnf)

    def check_create(self, vnfd_id: str, name: str | None = None,
                     description: str | None = None, *,
                     metadata: Mapping[str, Any] | None = None) -> PackageInfo:
        """Check a create request without creating anything; the package it uses."""
        from nfvlib.vim.config_file import check_text

        # Shown later in tables: no control characters, bounded as Tacker's columns.
        check_text(name or "", "VNF instance name", 255)
        check_text(description or "", "VNF instance description", 1024)
        _json_object(metadata, "metadata", "create request")
        info = self._packages.package_for_vnfd(vnfd_id)
        if info.operational_state != "ENABLED":
            raise Conflict(f"VNF package {info.id} (vnfdId {vnfd_id}) is "
                           f"{info.operational_state}: it takes no new VNF instances",
                           hint=f"enable it with 'vnf package update {info.id} "
                                "--operational-state ENABLED'")
        return info

    def list_vnfs(self, filter: str | None = None) -> list[VnfInstance]:
        """Every VNF instance, oldest first (matching a SOL013 ``filter``, see nfvlib.filters)."""
        from nfvlib.filters import VNF_ATTRIBUTES, parse_filter, vnf_record

        expression = parse_filter(filter, attributes=VNF_ATTRIBUTES)
        vnfs = self._table.select(order="created_at, id")
        if expression is None:
            return vnfs
        return [v for v in vnfs if expression.matches(vnf_record(v))]

    def page_vnfs(self, filter: str | None = None,
                  marker: str | None = None) -> Page[VnfInstance]:
        """One page of :meth:`list_vnfs` (SOL013 paging): up to
        :data:`nfvlib.paging.PAGE_SIZE` instances, oldest first, and the
        marker of the next page."""
        from nfvlib import paging
        from nfvlib.filters import VNF_ATTRIBUTES, parse_filter, vnf_record

        expression = parse_filter(filter, attributes=VNF_ATTRIBUTES)
        return paging.page(
            lambda after, limit: self._table.select_after(
                "", (), ("created_at", "id"), after, limit),
            lambda vnf: expression is None or expression.matches(vnf_record(vnf)),
            lambda vnf: (vnf.created_at or "", vnf.id), marker=marker,
            size=self._page_size)

    def get_vnf(self, vnf_id: str) -> VnfInstance:
        """The instance with this id (or, if unique, this name)."""
        vnf = self._table.get(vnf_id)
        if vnf is None:
            named = self._table.select("name = ?", (vnf_id,))
            if len(named) > 1:
                raise Conflict(f"{len(named)} VNF instances are named {vnf_id!r}",
                               hint="use the instance id")
            if not named:
                raise VnfNotFound(f"no VNF instance with id {short(vnf_id)}",
                                  hint="list instances with 'vnflcm list'")
            vnf = named[0]
        return vnf

    def update_vnf(self, vnf_id: str, request: Mapping[str, Any]) -> VnfInstance:
        """Apply a SOL003 VnfInfoModificationRequest to the instance record.

        ``vnfInstanceName`` and ``vnfInstanceDescription`` are replaced;
        ``metadata``, ``extensions`` and ``vnfConfigurableProperties`` are
        applied to the instance's as JSON Merge Patches (RFC 7396: a key set
        to null is removed, an object merges, anything else replaces), secret
        values (a key such as ``password``) kept as ``***`` only;
        ``vnfdId`` moves the instance to another ONBOARDED, ENABLED package
        with the same flavours (its resources are left as they are: use
        ``vnflcm change-vnfpkg`` to move them).

        ``vimConnectionInfo`` is accepted only when it names the VIM (and
        region) the instance already uses, and then changes nothing: local
        mode takes the VIM's endpoints and credentials from the VIM registry
        (``vim register``/``vim set``), not from the instance, so there is no
        per-instance connection to change, and moving an instance's stack to
        another VIM is not a change of information. Anything else, and any
        other field, is :class:`Unsupported`.

        As SOL003 (and Tacker v2) a modification is a MODIFY_INFO operation
        occurrence; local mode applies it at once, so it is recorded
        COMPLETED and its PROCESSING (start) and COMPLETED (result)
        VnfLcmOperationOccurrenceNotifications are written in the same
        transaction as the change. Nothing is written unless the whole
        request is valid.
        """
        from nfvlib.lcm import secrets

        request = self._check_update(request)
        changes: dict[str, Any] = {}
        for key, field_name in (("vnfInstanceName", "name"),
                                ("vnfInstanceDescription", "description")):
            if key in request:
                changes[field_name] = request[key] or ""
        with self._store.transaction() as conn:
            vnf = self.get_vnf(vnf_id)
            active = self._ops.active_for(vnf.id)
            if active is not None:
                raise Conflict(f"VNF instance {vnf.id} has operation "
                               f"{active.operation.value} ({active.id}) in state "
                               f"{active.state.value}", hint="wait for it to end")
            if "vnfdId" in request and request["vnfdId"] != vnf.vnfd_id:
                changes.update(self._new_vnfd(vnf, request["vnfdId"]))
            stored = self._table.get(vnf.id)
            if stored is None:  # deleted meanwhile
                raise VnfNotFound(f"no VNF instance with id {vnf.id}",
                                  hint="list instances with 'vnflcm list'")
            if "vimConnectionInfo" in request:
                _same_vim(stored, request["vimConnectionInfo"], self._store)
            changes.update(merged_user_data(stored, request))
            now = self._clock()
            updated = dataclasses.replace(
                stored, **changes, updated_at=now.isoformat(timespec="seconds"))
            self._table.update(conn, updated)
            notified = self._record_modify_info(conn, vnf.id, secrets.mask(request), now)
        if notified:
            self._deliver()
        return self._decorate(updated)

    def _check_update(self, request: Any) -> dict[str, Any]:
        """The update request, checked field by field (nothing read or written)."""
        from nfvlib.lcm.requests import check_shape
        from nfvlib.vim.config_file import check_text

        if not isinstance(request, Mapping) or not request:
            raise InvalidInput("the update request must be a non-empty JSON object",
                               hint="give " + ", ".join(_UPDATABLE))
        check_shape(dict(request), "update request")
        unknown = sorted(set(request) - set(_UPDATABLE))
        if unknown:
            raise Unsupported(f"local mode cannot update {', '.join(unknown[:3])} of a "
                              "VNF instance", hint="update " + ", ".join(_UPDATABLE))
        for key, limit in (("vnfInstanceName", 255), ("vnfInstanceDescription", 1024)):
            if key in request:
                if not isinstance(request[key], str | None):
                    raise InvalidInput(f"{key} must be a string")
                check_text(request[key] or "", key, limit)
        for key, _ in _MERGE_PATCHED:
            if key in request:
                _json_object(request[key], key, "update request", patch=True)
        return dict(request)

    def _record_modify_info(self, conn: sqlite3.Connection, vnf_id: str,
                            request: dict[str, Any], now: datetime) -> int:
        """Record the MODIFY_INFO occurrence of an applied update, COMPLETED, and
        write its PROCESSING and COMPLETED notifications; how many were written."""
        from nfvlib.lcm import notify
        from nfvlib.models import Operation, OpOccRecord, OpState

        at = now.isoformat(timespec="seconds")
        op = OpOccRecord(id=str(uuid.uuid4()), vnf_instance_id=vnf_id,
                         operation=Operation.MODIFY_INFO, state=OpState.COMPLETED,
                         start_time=at, state_entered_time=at, request=request)
        self._ops.insert(conn, op)
        return (notify.record(conn, dataclasses.replace(op, state=OpState.PROCESSING))
                + notify.record(conn, op))

    def _new_vnfd(self, vnf: VnfInstance, vnfd_id: Any) -> dict[str, Any]:
        if not isinstance(vnfd_id, str) or not vnfd_id:
            raise InvalidInput("vnfdId must be a non-empty string")
        target = self._packages.package_for_vnfd(vnfd_id)
        if target.operational_state != "ENABLED":
            raise Conflict(f"VNF package {target.id} (vnfdId {vnfd_id}) is "
                           f"{target.operational_state}",
                           hint=f"enable it with 'vnf package update {target.id} "
                                "--operational-state ENABLED'")
        current = self._packages.get_package(vnf.package_id)
        old = set(self._packages.load(current).flavours)
        new = set(self._packages.load(target).flavours)
        if old != new:
            raise Conflict(f"vnfdId {vnfd_id} has flavours {', '.join(sorted(new))}, "
                           f"not the current VNFD's {', '.join(sorted(old))}",
                           hint="use 'vnflcm change-vnfpkg' to change the flavours")
        return {"vnfd_id": vnfd_id, "package_id": target.id}

    def delete_vnf(self, vnf_id: str) -> VnfInstance:
        """Delete a NOT_INSTANTIATED instance with no operation under way.

        Its operation occurrences are kept, as Tacker v2 keeps them: the
        record of who did what to it and how that ended. Matching
        subscriptions get a VnfIdentifierDeletionNotification, written in the
        transaction that deletes it.
        """
        from nfvlib.lcm import notify

        vnf = self.get_vnf(vnf_id)
        with self._store.transaction():
            # Checked in the deleting transaction, so no operation can start
            # between the check and the delete.
            current = self._table.get(vnf.id)
            if current is None:
                raise VnfNotFound(f"no VNF instance with id {vnf.id}",
                                  hint="list instances with 'vnflcm list'")
            if current.instantiation_state is InstantiationState.INSTANTIATED:
                raise Conflict(f"VNF instance {vnf.id} is INSTANTIATED",
                               hint="terminate it first with 'vnflcm terminate'")
            active = self._ops.active_for(vnf.id)
            if active is not None:
                raise Conflict(f"VNF instance {vnf.id} has operation "
                               f"{active.operation.value} ({active.id}) in state "
                               f"{active.state.value}",
                               hint="finish, roll back or fail it first")
            # Written before the delete: the subscriptions' filters read the record.
            notified = notify.record_identifier(
                self._store.conn, notify.DELETION_NOTIFICATION, vnf.id,
                self._clock().isoformat(timespec="seconds"))
            self._table.delete(self._store.conn, vnf.id)
        if notified:
            self._deliver()
        return vnf

    def _decorate(self, vnf: VnfInstance) -> VnfInstance:
        """Fill the package identity fields from the package record (the
        table's reads fill them themselves)."""
        try:
            info = self._packages.get_package(vnf.package_id)
        except NotFound:
            return vnf
        return dataclasses.replace(vnf, vnf_provider=info.vnf_provider,
                                   vnf_product_name=info.vnf_product_name,
                                   vnf_software_version=info.vnf_software_version,
                                   vnfd_version=info.vnfd_version)



def _json_object(value: Any, key: str, what: str, *, patch: bool = False
                 ) -> dict[str, Any]:
    """``value`` as a JSON object (None: an empty one); InvalidInput naming ``key``."""
    from nfvlib.lcm.requests import check_shape

    if value is None and not patch:
        return {}
    if not isinstance(value, Mapping):
        kind = "a JSON object (a merge patch)" if patch else "a JSON object"
        raise InvalidInput(f"{what}: {key} must be {kind}, not {short(value)}")
    plain = dict(value)
    check_shape(plain, f"{what} {key}")
    return plain


def _same_vim(vnf: VnfInstance, patch: Any, store: Store) -> None:
    """Refuse a vimConnectionInfo patch unless it names the instance's VIM and region.

    Local mode's VIM connection is the VIM registry's entry, shown as the one
    connection ``default`` of an instantiated instance; see
    :meth:`LocalVnfs.update_vnf`.
    """
    from nfvlib.lcm.requests import OPENSTACK_VIM_TYPES
    from nfvlib.sol003 import VIM_CONNECTION_ID
    from nfvlib.store.vims import VimTable

    hint = ("local mode keeps one VIM connection per instance, the registered VIM it "
            "was instantiated on: change the VIM itself with 'vim set', or terminate "
            "and instantiate on another VIM")
    if not isinstance(patch, Mapping):
        raise InvalidInput(f"update request: vimConnectionInfo must be a JSON object, "
                           f"not {short(patch)}")
    if vnf.vim_id is None:
        raise Unsupported(f"VNF instance {vnf.id} has no VIM connection to update: "
                          "local mode takes the VIM from the instantiate request",
                          hint="give vimConnectionInfo in the instantiate request")
    for key, info in patch.items():
        where = f"vimConnectionInfo.{short(key)[1:-1]}"
        if key != VIM_CONNECTION_ID or not isinstance(info, Mapping):
            raise Unsupported(f"local mode cannot add, remove or replace {where}: the "
                              f"instance's one VIM connection is "
                              f"{VIM_CONNECTION_ID!r}", hint=hint)
        vim_id = info.get("vimId", vnf.vim_id)
        named = VimTable(store).by_name(vim_id) if isinstance(vim_id, str) else []
        if vim_id != vnf.vim_id and [v.id for v in named] != [vnf.vim_id]:
            raise Unsupported(f"local mode cannot move VNF instance {vnf.id} to VIM "
                              f"{short(vim_id)}: {where}.vimId must be its VIM "
                              f"{vnf.vim_id}", hint=hint)
        if "vimType" in info and info["vimType"] not in OPENSTACK_VIM_TYPES:
            raise Unsupported(f"{where}.vimType {short(info['vimType'])} is not the "
                              "type of the instance's VIM", hint=hint)
        others = sorted(set(info) - {"vimId", "vimType", "accessInfo"})
        access = info.get("accessInfo", {})
        if not isinstance(access, Mapping):
            raise InvalidInput(f"update request: {where}.accessInfo must be a JSON object")
        others += [f"accessInfo.{k}" for k in sorted(set(access) - {"region"})]
        if others:
            raise Unsupported(f"local mode cannot update {where}.{others[0]}: the VIM's "
                              "access and interface information is the VIM registry's",
                              hint=hint)
        if "region" in access and access["region"] != vnf.region:
            raise Unsupported(f"local mode cannot move VNF instance {vnf.id} to region "
                              f"{short(access['region'])}: {where}.accessInfo.region "
                              f"must be its region {vnf.region}", hint=hint)
