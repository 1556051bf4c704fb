"""VIMs on a Tacker server (``/v1.0/vims``)."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from nfvlib.exceptions import Conflict, InvalidInput, Unsupported, VimNotFound
from nfvlib.models import Vim, VimCredentials, VimStatus
from nfvlib.remote.http import TackerApi
from nfvlib.vim.config_file import parse_config

_BASE = "/v1.0/vims"


class RemoteVimRegistry:
    """The VIM registry of a Tacker server; same methods as the local one."""

    def __init__(self, api: TackerApi) -> None:
        self._api = api

    def list_vims(self) -> list[Vim]:
        """Every VIM the server shows this project."""
        return [vim_from_wire(v) for v in self._api.call("GET", _BASE)["vims"]]

    def get_vim(self, vim_id: str) -> Vim:
        """The VIM with this id."""
        body = self._api.call("GET", f"{_BASE}/{vim_id}", not_found=VimNotFound)
        return vim_from_wire(body["vim"])

    def find_vim(self, name_or_id: str) -> Vim:
        """The VIM with this id, or else this name."""
        vims = self.list_vims()
        for vim in vims:
            if vim.id == name_or_id:
                return vim
        named = [v for v in vims if v.name == name_or_id]
        if not named:
            raise VimNotFound(f"no VIM named or with id {name_or_id!r}",
                              hint="list VIMs with 'vim list'")
        if len(named) > 1:
            raise Conflict(f"{len(named)} VIMs are named {name_or_id!r}",
                           hint="use the VIM's id instead")
        return named[0]

    def register_vim(self, name: str, config: Mapping[str, Any], *,
                     description: str = "", is_default: bool = False,
                     tenant_id: str | None = None,
                     extra: Mapping[str, Any] | None = None) -> Vim:
        """Register a VIM; the server validates it against the VIM's Keystone."""
        values = parse_config(config)
        values.setdefault("type", "openstack")  # Tacker requires it
        body = {"name": name, "description": description or "",
                "is_default": is_default, **_config_to_wire(values)}
        if tenant_id:
            body["tenant_id"] = tenant_id
        if extra:
            body["extra"] = dict(extra)
        return vim_from_wire(self._api.call("POST", _BASE, json={"vim": body})["vim"])

    def update_vim(self, name_or_id: str, *, config: Mapping[str, Any] | None = None,
                   name: str | None = None, description: str | None = None,
                   is_default: bool | None = None,
                   extra: Mapping[str, Any] | None = None) -> Vim:
        """Change a VIM on the server."""
        vim = self.find_vim(name_or_id)
        body: dict[str, Any] = {}
        if config:
            values = parse_config(config, partial=True)
            values.pop("type", None)  # read-only on the server
            # auth_url is read-only on the server too (allow_put: False).
            auth_url = values.pop("auth_url", None)
            if auth_url is not None and auth_url != vim.auth_url:
                raise InvalidInput(
                    "a Tacker server does not let a VIM's auth_url change",
                    hint="register a new VIM with the new auth_url")
            body.update(_config_to_wire(values))
        for key, value in (("name", name), ("description", description),
                           ("is_default", is_default), ("extra", extra)):
            if value is not None:
                body[key] = value
        if not body:
            raise InvalidInput("nothing to change",
                               hint="give --config-file, --name, --description "
                                    "or --is-default")
        answer = self._api.call("PUT", f"{_BASE}/{vim.id}", json={"vim": body},
                                not_found=VimNotFound)
        return vim_from_wire(answer["vim"])

    def delete_vim(self, name_or_id: str) -> Vim:
        """Delete a VIM on the server."""
        vim = self.find_vim(name_or_id)
        self._api.call("DELETE", f"{_BASE}/{vim.id}", not_found=VimNotFound)
        return vim

    def check_vims(self, names_or_ids: Iterable[str] = ()) -> list[Vim]:
        """Not offered by Tacker."""
        raise Unsupported("a Tacker server does not check VIM health on request",
                          hint="use local mode (--os-nfv-mode local or 'nfv')")

    def rotate_keys(self) -> int:
        """Not offered by Tacker."""
        raise Unsupported("a Tacker server rotates its own VIM keys",
                          hint="rotate-keys works on the local vault only")


def _config_to_wire(values: Mapping[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if "type" in values:
        body["type"] = values["type"]
    if "auth_url" in values:
        body["auth_url"] = values["auth_url"]
    cred = {k: values[k] for k in ("username", "password", "user_domain_name")
            if k in values}
    if "cert_verify" in values:
        cred["cert_verify"] = str(values["cert_verify"])
    if cred:
        body["auth_cred"] = cred
    project = {}
    if "project_name" in values:
        project["name"] = values["project_name"]
    if "project_domain_name" in values:
        project["project_domain_name"] = values["project_domain_name"]
    if project:
        body["vim_project"] = project
    return body


def vim_from_wire(body: Mapping[str, Any]) -> Vim:
    """A :class:`Vim` from Tacker's JSON (the password is never kept)."""
    cred = body.get("auth_cred") or {}
    project = body.get("vim_project") or {}
    cert_verify = cred.get("cert_verify", True)
    if isinstance(cert_verify, str):
        cert_verify = cert_verify.strip().lower() == "true"
    try:
        status = VimStatus(body.get("status") or "PENDING")
    except ValueError:
        status = VimStatus.ERROR
    return Vim(
        id=body["id"], name=body.get("name") or "",
        tenant_id=body.get("tenant_id") or body.get("project_id") or "",
        credentials=VimCredentials(
            auth_url=body.get("auth_url") or "", username=cred.get("username") or "",
            project_name=project.get("name") or cred.get("project_name") or "",
            project_domain_name=project.get("project_domain_name") or "Default",
            user_domain_name=cred.get("user_domain_name") or "Default",
            cert_verify=bool(cert_verify)),
        type=body.get("type") or "openstack", description=body.get("description") or "",
        is_default=bool(body.get("is_default")),
        regions=tuple((body.get("placement_attr") or {}).get("regions") or ()),
        project_id=cred.get("project_id") or "", status=status,
        created_at=body.get("created_at"), updated_at=body.get("updated_at"),
        extra=body.get("extra") or {})
