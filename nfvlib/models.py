"""Model objects returned by every nfvlib backend.

Fields are snake_case; the camelCase and Tacker wire names live only in the
remote backend, which maps them explicitly.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

#: What every output shows in place of a secret.
MASK = "***"


class VimStatus(str, enum.Enum):
    """Result of the last health check of a VIM."""

    PENDING = "PENDING"
    REACHABLE = "REACHABLE"
    UNREACHABLE = "UNREACHABLE"
    #: Reported by Tacker servers, which do not check VIM health.
    ACTIVE = "ACTIVE"
    ERROR = "ERROR"


@dataclass(frozen=True)
class VimCredentials:
    """How to authenticate to a VIM's Keystone.

    ``password`` is the clear password only while a registration or update is
    being prepared; objects read back from a backend carry ``None`` and the
    vault keeps the real one.
    """

    auth_url: str
    username: str
    project_name: str
    password: str | None = field(default=None, repr=False)
    project_domain_name: str = "Default"
    user_domain_name: str = "Default"
    cert_verify: bool = True

    def without_password(self) -> VimCredentials:
        """The same credentials with the password dropped."""
        return dataclasses.replace(self, password=None)


@dataclass(frozen=True)
class Vim:
    """A registered OpenStack site."""

    id: str
    name: str
    tenant_id: str
    credentials: VimCredentials
    type: str = "openstack"
    description: str = ""
    is_default: bool = False
    regions: tuple[str, ...] = ()
    #: Heat endpoint per region, as found in the VIM's service catalog.
    orchestration_endpoints: dict[str, str] = field(default_factory=dict)
    #: Keystone id of the project the credentials are scoped to.
    project_id: str = ""
    status: VimStatus = VimStatus.PENDING
    status_reason: str = ""
    status_checked_at: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def auth_url(self) -> str:
        """The VIM's Keystone v3 URL."""
        return self.credentials.auth_url

    def to_dict(self) -> dict[str, Any]:
        """A Tacker-shaped view of the VIM with the password masked."""
        cred = self.credentials
        return {
            "id": self.id,
            "name": self.name,
            "tenant_id": self.tenant_id,
            "type": self.type,
            "description": self.description,
            "auth_url": cred.auth_url,
            "auth_cred": {
                "username": cred.username,
                "password": MASK,
                "user_domain_name": cred.user_domain_name,
                "project_name": cred.project_name,
                "project_domain_name": cred.project_domain_name,
                "project_id": self.project_id,
                "cert_verify": cred.cert_verify,
            },
            "vim_project": {
                "name": cred.project_name,
                "project_domain_name": cred.project_domain_name,
            },
            "placement_attr": {"regions": list(self.regions)},
            "orchestration_endpoints": dict(self.orchestration_endpoints),
            "is_default": self.is_default,
            "status": self.status.value,
            "status_reason": self.status_reason,
            "status_checked_at": self.status_checked_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "extra": _summarize_extra(self.extra),
        }


def _summarize_extra(extra: dict[str, Any]) -> dict[str, Any]:
    """``extra`` for display: provider template texts shown by size only."""
    shown = dict(extra)
    files = shown.get("heat_files")
    if isinstance(files, dict):
        shown["heat_files"] = {name: f"{len(text)} bytes"
                               for name, text in sorted(files.items())}
    return shown


@dataclass(frozen=True)
class VimHealth:
    """Outcome of one health check."""

    status: VimStatus
    reason: str
    checked_at: str


# -- VNF packages, instances and LCM operation occurrences (SOL005/SOL003) ----

class OnboardingState(str, enum.Enum):
    """SOL005 onboarding state of a VNF package."""

    CREATED = "CREATED"
    UPLOADING = "UPLOADING"
    PROCESSING = "PROCESSING"
    ONBOARDED = "ONBOARDED"
    ERROR = "ERROR"


class InstantiationState(str, enum.Enum):
    """SOL003 instantiation state of a VNF instance."""

    NOT_INSTANTIATED = "NOT_INSTANTIATED"
    INSTANTIATED = "INSTANTIATED"


class OperationalState(str, enum.Enum):
    """SOL003 VnfOperationalStateType: whether an instantiated VNF runs."""

    STARTED = "STARTED"
    STOPPED = "STOPPED"


class Operation(str, enum.Enum):
    """SOL003 LCM operation types."""

    INSTANTIATE = "INSTANTIATE"
    SCALE = "SCALE"
    SCALE_TO_LEVEL = "SCALE_TO_LEVEL"
    CHANGE_FLAVOUR = "CHANGE_FLAVOUR"
    TERMINATE = "TERMINATE"
    HEAL = "HEAL"
    OPERATE = "OPERATE"
    CHANGE_EXT_CONN = "CHANGE_EXT_CONN"
    MODIFY_INFO = "MODIFY_INFO"
    CHANGE_VNFPKG = "CHANGE_VNFPKG"
    #: nfvkit extension (not SOL003): restore a restoration point, forcefully.
    FALLBACK = "FALLBACK"


class OpState(str, enum.Enum):
    """SOL003 LcmOperationStateType."""

    STARTING = "STARTING"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    FAILED_TEMP = "FAILED_TEMP"
    FAILED = "FAILED"
    ROLLING_BACK = "ROLLING_BACK"
    ROLLED_BACK = "ROLLED_BACK"

    @property
    def is_final(self) -> bool:
        """COMPLETED, FAILED and ROLLED_BACK end an occurrence."""
        return self in (OpState.COMPLETED, OpState.FAILED, OpState.ROLLED_BACK)


@dataclass(frozen=True)
class PackageInfo:
    """An onboarded (or being onboarded) VNF package."""

    id: str
    onboarding_state: OnboardingState
    operational_state: str = "DISABLED"
    usage_state: str = "NOT_IN_USE"
    vnfd_id: str | None = None
    vnf_provider: str | None = None
    vnf_product_name: str | None = None
    vnf_software_version: str | None = None
    vnfd_version: str | None = None
    #: Directory holding the package's extracted content (local mode).
    path: str | None = None
    user_defined_data: dict[str, Any] = field(default_factory=dict)
    created_at: str | None = None
    updated_at: str | None = None
    #: SOL005 Checksum of the package content: ``{"algorithm": "SHA-512",
    #: "hash": ...}`` of the archive uploaded (of the archive ``vnf package
    #: download`` gives, for a directory); None until onboarded.
    checksum: dict[str, str] | None = None


@dataclass(frozen=True)
class VnfcCp:
    """A connection point of a VNFC: the VDU's ``VduCp`` and what Heat made of it.

    ``port_id`` is the port resource Heat holds for the connection point next
    to the server (None: the stack has none); ``virtual_link`` the VNFD's
    internal virtual link the port is on (None: an external one), and
    ``network_id`` that link's network resource in the stack.
    """

    cpd_id: str
    port_id: str | None = None
    port_type: str | None = None
    virtual_link: str | None = None
    network_id: str | None = None
    network_type: str | None = None


@dataclass(frozen=True)
class VnfcInfo:
    """One VNFC (a VDU member) found in the VNF's stack."""

    id: str
    vdu_id: str
    resource_name: str
    resource_type: str
    status: str
    #: The member's name inside its group (e.g. an ASG member), if any.
    member: str | None = None
    parent_stack: str | None = None
    #: Heat's creation time of the server resource.
    created_at: str | None = None
    #: The stack holding the server resource, ``"<name>/<id>"``.
    stack: str | None = None
    #: The VDU's connection points, in the VNFD's order.
    cps: tuple[VnfcCp, ...] = ()

    def __post_init__(self) -> None:
        # Stored and journaled copies come back from JSON as lists of mappings.
        if any(not isinstance(cp, VnfcCp) for cp in self.cps) or not isinstance(
                self.cps, tuple):
            object.__setattr__(self, "cps", tuple(
                cp if isinstance(cp, VnfcCp) else VnfcCp(**cp) for cp in self.cps))


@dataclass(frozen=True)
class VnfInstance:
    """A VNF instance and, when instantiated, where and how it runs."""

    id: str
    vnfd_id: str
    package_id: str
    instantiation_state: InstantiationState = InstantiationState.NOT_INSTANTIATED
    name: str = ""
    description: str = ""
    vnf_provider: str | None = None
    vnf_product_name: str | None = None
    vnf_software_version: str | None = None
    vnfd_version: str | None = None
    vim_id: str | None = None
    region: str | None = None
    flavour_id: str | None = None
    instantiation_level_id: str | None = None
    stack_id: str | None = None
    #: aspect id -> scale level
    scale_status: dict[str, int] = field(default_factory=dict)
    #: the last ``nfv`` parameter sent to Heat, additionalParams, ...
    instantiated_info: dict[str, Any] = field(default_factory=dict)
    vnfc: tuple[VnfcInfo, ...] = ()
    created_at: str | None = None
    updated_at: str | None = None
    #: SOL003 ``metadata``: the user's, from the create request and updates
    metadata: dict[str, Any] = field(default_factory=dict)
    #: SOL003 ``extensions``, changed by updates (JSON merge patch)
    extensions: dict[str, Any] = field(default_factory=dict)
    #: SOL003 ``vnfConfigurableProperties``, changed by updates (JSON merge patch)
    vnf_configurable_properties: dict[str, Any] = field(default_factory=dict)

    @property
    def stack_name(self) -> str:
        """Tacker v2's stack name for this VNF."""
        return f"vnf-{self.id}"

    @property
    def operational_state(self) -> OperationalState | None:
        """STARTED or STOPPED when instantiated (SOL003 ``vnfState``), else None."""
        if self.instantiation_state is not InstantiationState.INSTANTIATED:
            return None
        return OperationalState(self.instantiated_info.get("vnfState") or "STARTED")


@dataclass(frozen=True)
class OpStep:
    """One step of an operation's execution plan, with its journal entry."""

    name: str
    status: str = "PENDING"  # PENDING, RUNNING, DONE, FAILED, UNDONE, SKIPPED
    started_at: str | None = None
    ended_at: str | None = None
    error: str | None = None
    #: What the step did beyond the obvious (e.g. a leftover stack it deleted).
    detail: str | None = None
    #: How many times the step was started (automatic retries included).
    attempts: int = 0
    #: The latest progress the step reported (e.g. a tester's "3 of 5 tests").
    progress: str | None = None


@dataclass(frozen=True)
class OpOcc:
    """A SOL003 VNF LCM operation occurrence."""

    id: str
    vnf_instance_id: str
    operation: Operation
    state: OpState
    start_time: str
    state_entered_time: str
    is_automatic_invocation: bool = False
    is_cancel_pending: bool = False
    cancel_mode: str | None = None
    request: dict[str, Any] = field(default_factory=dict)
    #: ProblemDetails-shaped: title, status, detail
    error: dict[str, Any] | None = None
    resource_changes: dict[str, Any] = field(default_factory=dict)
    steps: tuple[OpStep, ...] = ()
    current_step: int = 0
    #: the VNF instance was deleted; the occurrence is kept as its history
    vnf_instance_deleted: bool = False
    #: The escalation policy of the request, e.g. ``"retry:2,rollback,fallback"``
    #: (see :mod:`nfvlib.lcm.policy`); None: stop FAILED_TEMP at the first failure.
    on_failure: str | None = None
    #: What the policy did, oldest first: one mapping per automatic retry,
    #: rollback or fallback (``at``, ``procedure``, ``reason``, ``outcome``).
    escalations: tuple[dict[str, Any], ...] = ()
    #: A suspend was requested; the run stops at the next step boundary.
    is_suspend_pending: bool = False
    #: Stopped by a suspend (state FAILED_TEMP, error title "Operation
    #: suspended"): resume goes on at ``current_step``, rollback undoes from there.
    is_suspended: bool = False

    @property
    def step_summary(self) -> str:
        """"step 3 of 6: wait for stack" style progress."""
        if not self.steps:
            return ""
        index = min(self.current_step, len(self.steps) - 1)
        verb = "undoing " if self._undoing else ""
        return f"step {index + 1} of {len(self.steps)}: {verb}{self.steps[index].name}"

    @property
    def _undoing(self) -> bool:
        return self.state is OpState.ROLLING_BACK


@dataclass(frozen=True)
class OpOccRecord(OpOcc):
    """An occurrence as the store and the engine keep it, with the lease of the
    worker running it. Internal: the library returns plain :class:`OpOcc`."""

    #: "forward" while doing, "rollback" while undoing (and after an undo
    #: failed: a retry then goes on undoing)
    direction: str = "forward"
    worker_pid: int | None = None
    #: on the lease clock of the boot ``lease_boot_id`` (see nfvlib.lcm.engine)
    lease_expires_at: float | None = None
    #: the run holding the lease (a pid alone may be reused by another run)
    lease_token: str | None = None
    lease_boot_id: str | None = None

    @property
    def _undoing(self) -> bool:
        return self.direction == "rollback"

    def public(self) -> OpOcc:
        """The occurrence without its lease and run direction."""
        return OpOcc(**{f.name: getattr(self, f.name) for f in dataclasses.fields(OpOcc)})


@dataclass(frozen=True)
class RestorationPoint:
    """A point a VNF instance can fall back to: a Heat stack snapshot and a
    copy of the instance record (with its package reference) when it was taken.
    """

    id: str
    vnf_instance_id: str
    stack_name: str
    stack_id: str
    snapshot_id: str
    package_id: str
    vnfd_id: str
    #: The instance record as stored when the point was taken (secrets sealed).
    instance: dict[str, Any] = field(default_factory=dict)
    name: str = ""
    vim_id: str | None = None
    region: str | None = None
    #: The occurrence that took it, if an operation did.
    op_occ_id: str | None = None
    #: Bytes: Heat's snapshot data plus the instance record.
    size: int = 0
    created_at: str | None = None
    #: AVAILABLE, STACK_GONE or SNAPSHOT_GONE when checked against Heat, else None.
    status: str | None = None


# -- SOL003 subscriptions and notifications --------------------------------------

@dataclass(frozen=True)
class Subscription:
    """A SOL003 LCCN subscription: where and which notifications to send.

    ``filter`` and ``authentication`` keep the SOL003 shapes of the request
    (``LifecycleChangeNotificationsFilter``, ``SubscriptionAuthentication``);
    objects a backend returns show the BASIC password as ``***``.
    """

    id: str
    callback_uri: str
    filter: dict[str, Any] = field(default_factory=dict)
    verbosity: str = "FULL"
    authentication: dict[str, Any] | None = None
    created_at: str | None = None
    #: ``{"self": {"href": ...}}``
    links: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NotificationDelivery:
    """One notification in the outbox and how its delivery went."""

    id: str
    subscription_id: str
    notification_type: str
    #: PENDING (not yet answered 204), DELIVERED, or FAILED (retries ran out;
    #: still retried later)
    status: str
    attempts: int = 0
    last_error: str | None = None
    op_occ_id: str | None = None
    operation_state: str | None = None
    created_at: str | None = None
    delivered_at: str | None = None


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a listing, as SOL013 (5.4.2) pages a collection.

    ``next_marker`` is the ``nextpage_opaque_marker`` that asks for the next
    page; None on the last one.
    """

    items: tuple[T, ...]
    next_marker: str | None = None
