"""Local VNF packages and VNF instances: onboarding, create, list, delete.

An uploaded package is checked, then its content is copied (or unpacked) to
``<data dir>/packages/<id>`` through a temporary directory renamed into place,
so a package row never points at half-copied files.
"""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from nfvlib.exceptions import Conflict, InvalidInput, NotFound
from nfvlib.models import InstantiationState, OnboardingState, PackageInfo, VnfInstance
from nfvlib.store import Store
from nfvlib.store.lcm import OpOccTable, PackageTable, VnfTable


class PackageNotFound(NotFound):
    """No VNF package has this id."""


class VnfNotFound(NotFound):
    """No VNF instance has this id or name."""


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class LocalPackages:
    """VNF packages kept in the local store and data directory."""

    def __init__(self, store: Store, package_dir: Path, *,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self._table = PackageTable(store)
        self._vnfs = VnfTable(store)
        self._store = store
        self._dir = Path(package_dir)
        self._clock = clock
        self._loaded: dict[str, Any] = {}

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

    def _staging(self, package_id: str) -> Path:
        """Where a package's content is copied before it is renamed into place."""
        return self._dir / f".{package_id}.tmp"

    def _upload(self, package_id: str, path: str | Path) -> PackageInfo:
        from nfvlib.files import make_private, private_dir
        from nfvlib.packages import extract_package, load_package

        info = self.get_package(package_id)
        if info.onboarding_state is not OnboardingState.CREATED:
            raise Conflict(f"VNF package {package_id} is {info.onboarding_state.value}",
                           hint="content can be uploaded only once; create a new package")
        package = load_package(path)
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
        else:
            shutil.copytree(package.path, staging)
        # Copied or unpacked files keep the package's modes: make them private.
        make_private(staging)
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
        onboarded = dataclasses.replace(
            info, onboarding_state=OnboardingState.ONBOARDED, operational_state="ENABLED",
            vnfd_id=package.vnfd_id, vnf_provider=package.vnf_provider,
            vnf_product_name=package.vnf_product_name,
            vnf_software_version=package.vnf_software_version,
            vnfd_version=package.vnfd_version, path=str(final), updated_at=self._now())
        try:
            with self._store.transaction() as conn:
                self._table.update(conn, onboarded)
        except BaseException:
            shutil.rmtree(final, ignore_errors=True)
            raise
        return onboarded

    def list_packages(self) -> list[PackageInfo]:
        """Every package, oldest first."""
        return self._table.select(order="created_at, id")

    def get_package(self, package_id: str) -> PackageInfo:
        """The package with this id."""
        info = self._table.get(package_id)
        if info is None:
            raise PackageNotFound(f"no VNF package with id {package_id}",
                                  hint="list packages with 'vnf package list'")
        return info

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
            raise PackageNotFound(f"no onboarded VNF package has vnfdId {vnfd_id}",
                                  hint="upload it with 'vnf package upload'")
        return info

    def load(self, info: PackageInfo):
        """The parsed package content (cached per process)."""
        from nfvlib.packages import load_package

        if info.id not in self._loaded:
            if not info.path:
                raise InvalidInput(f"VNF package {info.id} has no content",
                                   hint="upload it with 'vnf package upload'")
            self._loaded[info.id] = load_package(info.path)
        return self._loaded[info.id]

    def _now(self) -> str:
        return self._clock().isoformat(timespec="seconds")


class LocalVnfs:
    """VNF instance resources kept in the local store."""

    def __init__(self, store: Store, packages: LocalPackages, *,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self._table = VnfTable(store)
        self._ops = OpOccTable(store)
        self._store = store
        self._packages = packages
        self._clock = clock

    def create_vnf(self, vnfd_id: str, name: str | None = None,
                   description: str | None = None) -> VnfInstance:
        """A NOT_INSTANTIATED instance of an onboarded VNFD."""
        info = self._packages.package_for_vnfd(vnfd_id)
        vnf = VnfInstance(id=str(uuid.uuid4()), vnfd_id=vnfd_id, package_id=info.id,
                          name=name or "", description=description or "",
                          created_at=self._clock().isoformat(timespec="seconds"))
        with self._store.transaction() as conn:
            self._table.insert(conn, vnf)
        return self._decorate(vnf)

    def list_vnfs(self) -> list[VnfInstance]:
        """Every VNF instance, oldest first."""
        return [self._decorate(v) for v in self._table.select(order="created_at, id")]

    def get_vnf(self, vnf_id: str) -> VnfInstance:
        """The instance with this id (or, if unique, this name)."""
        vnf = self._table.get(vnf_id)
        if vnf is None:
            named = self._table.select("name = ?", (vnf_id,))
            if len(named) > 1:
                raise Conflict(f"{len(named)} VNF instances are named {vnf_id!r}",
                               hint="use the instance id")
            if not named:
                raise VnfNotFound(f"no VNF instance with id {vnf_id}",
                                  hint="list instances with 'vnflcm list'")
            vnf = named[0]
        return self._decorate(vnf)

    def delete_vnf(self, vnf_id: str) -> VnfInstance:
        """Delete a NOT_INSTANTIATED instance with no operation under way.

        Its operation occurrences are kept, as Tacker v2 keeps them: the
        record of who did what to it and how that ended.
        """
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
            self._table.delete(self._store.conn, vnf.id)
        return vnf

    def _decorate(self, vnf: VnfInstance) -> VnfInstance:
        """Fill the package identity fields from the package record."""
        try:
            info = self._packages.get_package(vnf.package_id)
        except NotFound:
            return vnf
        return dataclasses.replace(vnf, vnf_provider=info.vnf_provider,
                                   vnf_product_name=info.vnf_product_name,
                                   vnf_software_version=info.vnf_software_version,
                                   vnfd_version=info.vnfd_version)
