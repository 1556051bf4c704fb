"""The calls every backend offers, local (Heat + store) and remote (Tacker).

:class:`nfvlib.Client` gives one object per interface (``client.vims``,
``client.packages``, ``client.vnfs``, ``client.lcm``,
``client.subscriptions``); whichever the mode, it satisfies the protocol
below, so a script written against these types runs in both modes. A call the
chosen mode cannot do raises :class:`nfvlib.exceptions.Unsupported`.

Keyword arguments a single mode adds (``on_failure=`` on local LCM requests,
``credentials``/``vault`` on the local VIM registry, ``suspend``/``resume``)
are not part of the protocols.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Protocol

from nfvlib.models import (NotificationDelivery, OpOcc, PackageInfo, Page, Subscription,
                           Vim, VnfInstance)

__all__ = ["LcmBackend", "PackageBackend", "SubscriptionBackend", "VimRegistry",
           "VnfBackend"]


class VimRegistry(Protocol):
    """VIMs: register, list, find, update, delete, check, rotate keys."""

    def register_vim(self, name: str, config: Mapping[str, Any], *,
                     description: str = "", is_default: bool = False,
                     tenant_id: str | None = None,
                     extra: Mapping[str, Any] | None = None) -> Vim:
        """Register a VIM from a parsed config file (python-tackerclient's)."""
        ...

    def list_vims(self) -> list[Vim]:
        """Every VIM, oldest first."""
        ...

    def get_vim(self, vim_id: str) -> Vim:
        """The VIM with this id; :class:`~nfvlib.exceptions.VimNotFound` if none."""
        ...

    def find_vim(self, name_or_id: str) -> Vim:
        """The VIM with this name or id; :class:`~nfvlib.exceptions.VimNotFound`."""
        ...

    def update_vim(self, name_or_id: str, *, config: Mapping[str, Any] | None = None,
                   name: str | None = None, description: str | None = None,
                   is_default: bool | None = None,
                   extra: Mapping[str, Any] | None = None) -> Vim:
        """Change the given fields of a VIM."""
        ...

    def delete_vim(self, name_or_id: str) -> Vim:
        """Delete a VIM; returns what it was."""
        ...

    def check_vims(self, names_or_ids: Iterable[str] = ()) -> list[Vim]:
        """Check reachability and credentials of the given VIMs (all by default)."""
        ...

    def rotate_keys(self) -> int:
        """Re-encrypt stored credentials under a new key; how many were rewritten."""
        ...


class PackageBackend(Protocol):
    """VNF packages (SOL005 VnfPkgInfo)."""

    def create_package(self,
                       user_defined_data: Mapping[str, Any] | None = None) -> PackageInfo:
        """Create an empty package (CREATED, NOT_IN_USE)."""
        ...

    def upload_package(self, package_id: str, path: str | Path) -> PackageInfo:
        """Upload (onboard) a CSAR file or package directory."""
        ...

    def list_packages(self, filter: str | None = None) -> list[PackageInfo]:
        """Every package, optionally filtered by a SOL013 filter expression."""
        ...

    def get_package(self, package_id: str) -> PackageInfo:
        """The package with this id; :class:`~nfvlib.exceptions.PackageNotFound`."""
        ...

    def update_package(self, package_id: str, *, operational_state: str | None = None,
                       user_defined_data: Mapping[str, Any] | None = None) -> PackageInfo:
        """Enable/disable a package or change its user-defined data."""
        ...

    def delete_package(self, package_id: str) -> PackageInfo:
        """Delete a disabled, unused package; returns what it was."""
        ...

    def download_package(self, package_id: str) -> bytes:
        """The package's CSAR as bytes."""
        ...

    def download_artifact(self, package_id: str, artifact_path: str) -> bytes:
        """One file of the package."""
        ...

    def download_vnfd(self, package_id: str,
                      accept: str = "application/zip") -> bytes | str:
        """The VNFD: a zip (bytes) or, with ``accept="text/plain"``, its YAML text."""
        ...


class VnfBackend(Protocol):
    """VNF instances (SOL003 VnfInstance)."""

    def create_vnf(self, vnfd_id: str, name: str | None = None,
                   description: str | None = None, *,
                   metadata: Mapping[str, Any] | None = None) -> VnfInstance:
        """Create a NOT_INSTANTIATED instance of an onboarded VNFD (SOL003
        CreateVnfRequest; ``metadata`` is the instance's ``metadata``)."""
        ...

    def list_vnfs(self, filter: str | None = None) -> list[VnfInstance]:
        """Every instance, optionally filtered by a SOL013 filter expression."""
        ...

    def page_vnfs(self, filter: str | None = None,
                  marker: str | None = None) -> Page[VnfInstance]:
        """One page of :meth:`list_vnfs` (SOL013 paging: pass the page's
        ``next_marker`` for the next one)."""
        ...

    def get_vnf(self, vnf_id: str) -> VnfInstance:
        """The instance with this id; :class:`~nfvlib.exceptions.VnfNotFound`."""
        ...

    def update_vnf(self, vnf_id: str, request: Mapping[str, Any]) -> VnfInstance:
        """Apply a VnfInfoModificationRequest."""
        ...

    def delete_vnf(self, vnf_id: str) -> VnfInstance:
        """Delete a NOT_INSTANTIATED instance; returns what it was."""
        ...


class LcmBackend(Protocol):
    """SOL003 LCM operations and their occurrences (VnfLcmOpOcc)."""

    def instantiate(self, vnf_id: str, request: Mapping[str, Any]) -> OpOcc:
        """Start an InstantiateVnfRequest."""
        ...

    def create_and_instantiate(self, vnfd_id: str, request: Mapping[str, Any], *,
                               name: str | None = None, description: str | None = None,
                               metadata: Mapping[str, Any] | None = None
                               ) -> tuple[VnfInstance, OpOcc]:
        """Create an instance and start its InstantiateVnfRequest; a request
        refused leaves no instance behind."""
        ...

    def terminate(self, vnf_id: str, termination_type: str = "GRACEFUL",
                  graceful_termination_timeout: int | None = None) -> OpOcc:
        """Start a termination."""
        ...

    def scale(self, vnf_id: str, scale_type: str, aspect_id: str,
              number_of_steps: int = 1,
              additional_params: Mapping[str, Any] | None = None, *,
              restoration_point: bool = False) -> OpOcc:
        """Start a SCALE_OUT or SCALE_IN of one aspect."""
        ...

    def heal(self, vnf_id: str, vnfc_instance_ids: list[str] | None = None,
             cause: str | None = None,
             additional_params: Mapping[str, Any] | None = None, *,
             restoration_point: bool = False) -> OpOcc:
        """Start a heal of the whole VNF or of the given VNFCs."""
        ...

    def operate(self, vnf_id: str, change_state_to: str, *, stop_type: str | None = None,
                graceful_stop_timeout: int | None = None,
                vnfc_instance_ids: list[str] | None = None, force: bool = False,
                additional_params: Mapping[str, Any] | None = None) -> OpOcc:
        """Start an OperateVnfRequest (STARTED or STOPPED)."""
        ...

    def reboot(self, vnf_id: str, *, hard: bool = False,
               vnfc_instance_ids: list[str] | None = None,
               additional_params: Mapping[str, Any] | None = None) -> OpOcc:
        """Reboot the VNF's servers (local mode; Unsupported in remote mode)."""
        ...

    def change_vnfpkg(self, vnf_id: str, request: Mapping[str, Any]) -> OpOcc:
        """Start a ChangeCurrentVnfPkgRequest."""
        ...

    def change_ext_conn(self, vnf_id: str, request: Mapping[str, Any]) -> OpOcc:
        """Start a ChangeExtVnfConnectivityRequest."""
        ...

    def fallback(self, vnf_id: str, to: str | None = None) -> OpOcc:
        """Return a VNF to a restoration point (local mode)."""
        ...

    def rollback(self, op_id: str) -> OpOcc:
        """Roll back a FAILED_TEMP occurrence."""
        ...

    def retry(self, op_id: str) -> OpOcc:
        """Retry a FAILED_TEMP occurrence."""
        ...

    def fail(self, op_id: str) -> OpOcc:
        """Mark a FAILED_TEMP occurrence FAILED."""
        ...

    def cancel(self, op_id: str, cancel_mode: str = "GRACEFUL") -> OpOcc:
        """Cancel a STARTING/PROCESSING/ROLLING_BACK occurrence."""
        ...

    def get_op_occ(self, op_id: str) -> OpOcc:
        """The occurrence with this id; :class:`~nfvlib.exceptions.OpOccNotFound`."""
        ...

    def list_op_occs(self, filters: Mapping[str, str] | None = None, *,
                     filter: str | None = None) -> list[OpOcc]:
        """Every occurrence, optionally filtered (SOL013 ``filter``)."""
        ...

    def page_op_occs(self, filter: str | None = None,
                     marker: str | None = None) -> Page[OpOcc]:
        """One page of :meth:`list_op_occs` (SOL013 paging: pass the page's
        ``next_marker`` for the next one)."""
        ...

    def wait(self, op_id: str, timeout: float | None = None,
             progress: Callable[[OpOcc], None] | None = None) -> OpOcc:
        """Wait, bounded by ``timeout``, until the occurrence stops moving."""
        ...

    def versions(self, major_version: int | None = None) -> dict[str, Any]:
        """The VNF LCM API versions (SOL013 ApiVersionInformation)."""
        ...


class SubscriptionBackend(Protocol):
    """SOL003 LCCN subscriptions and the deliveries of their notifications."""

    def create_subscription(self, request: Mapping[str, Any]) -> Subscription:
        """Create a subscription from an LccnSubscriptionRequest."""
        ...

    def list_subscriptions(self, filter: str | None = None) -> list[Subscription]:
        """Every subscription (matching a SOL013 ``filter``)."""
        ...

    def get_subscription(self, sub_id: str) -> Subscription:
        """The subscription with this id."""
        ...

    def delete_subscription(self, sub_id: str) -> Subscription:
        """Delete a subscription; returns what it was."""
        ...

    def list_deliveries(self, subscription_id: str | None = None,
                        status: str | None = None) -> list[NotificationDelivery]:
        """Notification deliveries (local mode; Unsupported in remote mode)."""
        ...

    def deliver(self) -> dict[str, int]:
        """Send what is due now; counts per outcome."""
        ...
