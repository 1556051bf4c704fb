"""Model objects returned by every nfvlib backend.

Fields are snake_case; the camelCase and Tacker wire names live only in the
remote backend, which maps them explicitly.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass, field
from typing import Any

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
