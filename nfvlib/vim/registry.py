"""The local VIM registry: store rows, vault keys and Keystone validation.

Ordering keeps every change crash-safe: Keystone is asked before anything is
written; a new key file is durable before the row that uses it is committed;
an old key file is removed only after the row stopped using it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Callable, Iterable, Mapping

from nfvlib.exceptions import Conflict, InvalidInput, NfvError, VaultError, VimNotFound
from nfvlib.inputs import short
from nfvlib.models import Vim, VimCredentials, VimHealth, VimStatus
from nfvlib.store import Store
from nfvlib.store.vims import VaultKeyTable, VimTable
from nfvlib.vault import Vault
from nfvlib.vim import keystone
from nfvlib.vim.config_file import check_text, parse_config

if TYPE_CHECKING:
    from keystoneauth1.access import AccessInfo
    from keystoneauth1.session import Session

#: Tacker's bound of a VIM name; descriptions are bounded alike.
MAX_NAME_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 1024
#: How often a password is read again when its key changed while being read.
SECRET_READ_ATTEMPTS = 3
#: A key file younger than this is never treated as an orphan: its VIM row
#: may still be on its way into the store.
ORPHAN_MIN_AGE_S = 600
_CRED_KEYS = ("auth_url", "username", "password", "project_name",
              "project_domain_name", "user_domain_name", "cert_verify")


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


class LocalVimRegistry:
    """VIMs kept in the local store, passwords in the fernet vault."""

    def __init__(self, store: Store, vault: Vault, *, tenant_id: str = "local",
                 discover: Callable[[VimCredentials, float],
                                    tuple[keystone.Discovery, Any]] = keystone.discover,
                 authenticate: Callable[[VimCredentials, float],
                                        tuple[Session, AccessInfo]] = keystone.authenticate,
                 probe_heat: Callable[[Any, dict[str, str]],
                                      dict[str, str]] = keystone.probe_heat,
                 clock: Callable[[], datetime] = _utcnow,
                 timeout: float = keystone.DEFAULT_TIMEOUT) -> None:
        self._table = VimTable(store)
        self._store = store
        # Keys are recorded in this store, so that only its own are ever removed.
        self._vault = (vault if vault.ledger is not None
                       else vault.with_ledger(VaultKeyTable(store)))
        self._tenant_id = tenant_id
        self._discover = discover
        self._authenticate = authenticate
        self._probe_heat = probe_heat
        self._clock = clock
        self._timeout = timeout

    @property
    def vault(self) -> Vault:
        """The vault, its keys recorded in this registry's store."""
        return self._vault

    # -- reads --------------------------------------------------------------
    def list_vims(self) -> list[Vim]:
        """Every registered VIM, oldest first."""
        return list(self._table.all())

    def get_vim(self, vim_id: str) -> Vim:
        """The VIM with this id."""
        vim = self._table.get(vim_id)
        if vim is None:
            raise VimNotFound(f"no VIM with id {vim_id}",
                              hint="list VIMs with 'vim list'")
        return vim

    def find_vim(self, name_or_id: str) -> Vim:
        """The VIM with this id, or else this name."""
        vim = self._table.get(name_or_id)
        if vim is not None:
            return vim
        found = self._table.by_name(name_or_id)
        if not found:
            raise VimNotFound(f"no VIM named or with id {short(name_or_id)}",
                              hint="list VIMs with 'vim list'")
        if len(found) > 1:
            raise Conflict(f"{len(found)} VIMs are named {short(name_or_id)}",
                           hint="use the VIM's id instead")
        return found[0]

    def default_vim(self, tenant_id: str | None = None) -> Vim:
        """The default VIM of a project (this registry's by default)."""
        tenant = tenant_id or self._tenant_id
        vim = self._table.default(tenant)
        if vim is None:
            raise VimNotFound(f"project {tenant} has no default VIM",
                              hint="mark one with 'vim set VIM --is-default True'")
        return vim

    def credentials(self, vim: Vim) -> VimCredentials:
        """The VIM's credentials with its password decrypted from the vault."""
        _, password = self._password(vim)
        return dataclasses.replace(vim.credentials, password=password)

    def _password(self, vim: Vim) -> tuple[tuple[str, str], str]:
        """``((key_id, token), password)`` of the VIM as stored now.

        Another process (``vim set``, ``rotate-keys``) deletes the old key
        file right after committing the row that stops using it. When the key
        read fails and the row meanwhile points at another key, that was such
        a change, not a lost key: read again.
        """
        for _ in range(SECRET_READ_ATTEMPTS):
            key_id, token = self._table.secret(vim.id)
            try:
                return (key_id, token), self._vault.decrypt(
                    key_id, token, what=f"the stored password of VIM {vim.name!r}",
                    hint=_reenter_hint(vim))
            except VaultError:
                if self._table.secret(vim.id) == (key_id, token):
                    raise
        raise Conflict(f"the key of VIM {vim.name!r} changed {SECRET_READ_ATTEMPTS} "
                       "times while it was being read",
                       hint="run the command again once other key changes "
                            "(rotate-keys, vim set) are done")

    def session(self, vim: Vim) -> Session:
        """An authenticated keystoneauth1 session to the VIM."""
        session, _ = self._authenticate(self.credentials(vim), self._timeout)
        return session

    # -- changes ------------------------------------------------------------
    def register_vim(self, name: str, config: Mapping[str, Any], *,
                     description: str = "", is_default: bool = False,
                     tenant_id: str | None = None,
                     extra: Mapping[str, Any] | None = None) -> Vim:
        """Validate ``config`` against the VIM's Keystone, then store the VIM.

        ``extra`` holds per-VIM settings such as ``heat_environment`` (merged
        into every stack created on the VIM) and ``heat_files``.
        """
        name = _check_name(name)
        description = _check_description(description)
        values = parse_config(config)
        tenant = check_text(tenant_id or self._tenant_id, "tenant id", MAX_NAME_LENGTH)
        self._precheck(name, tenant, is_default)
        creds = VimCredentials(**{k: values[k] for k in _CRED_KEYS if k in values})
        discovery, session = self._discover(creds, self._timeout)
        health = self._health_from(session, discovery.orchestration_endpoints)
        import uuid

        now = self._now()
        vim = Vim(
            id=str(uuid.uuid4()), name=name, tenant_id=tenant,
            credentials=creds.without_password(),
            type=values.get("type", "openstack"), description=description or "",
            is_default=is_default, regions=discovery.regions,
            orchestration_endpoints=discovery.orchestration_endpoints,
            project_id=discovery.project_id, status=health.status,
            status_reason=health.reason, status_checked_at=health.checked_at,
            created_at=now, extra=dict(extra or {}))
        key_id = self._vault.new_key()
        try:
            token = self._vault.encrypt(key_id, creds.password or "")
            with self._store.transaction() as conn:
                self._table.insert(conn, vim, key_id, token)
        except BaseException:
            self._vault.delete_key(key_id)
            raise
        return vim

    def update_vim(self, name_or_id: str, *, config: Mapping[str, Any] | None = None,
                   name: str | None = None, description: str | None = None,
                   is_default: bool | None = None,
                   extra: Mapping[str, Any] | None = None) -> Vim:
        """Change a VIM; credential changes are validated against Keystone first.

        Only the fields given change: the row is re-read in the writing
        transaction, so a concurrent change of other fields survives. A
        credential change keeps the VIM's id and ``extra`` (its Heat
        environment), and is refused (:class:`Conflict`) when the credentials
        changed meanwhile, or when an instance's region or project would be lost.
        A stored password that can no longer be decrypted (key file lost or
        altered) is replaced when ``config`` gives a new one.
        """
        vim = self.find_vim(name_or_id)
        changes: dict[str, Any] = {}
        if extra is not None:
            changes["extra"] = dict(extra)
        if name is not None:
            changes["name"] = _check_name(name)
        if description is not None:
            changes["description"] = _check_description(description)
        if is_default is not None:
            changes["is_default"] = is_default
        new_password: str | None = None
        read_password: str | None = None
        read_secret: tuple[str, str] | None = None
        if config:
            values = parse_config(config, partial=True)
            if values.get("type", vim.type) != vim.type:
                raise InvalidInput("a VIM's type cannot change",
                                   hint="register a new VIM instead")
            read_secret = self._table.secret(vim.id)
            try:
                read_secret, read_password = self._password(vim)
            except VaultError:
                # The stored password is lost; a new one replaces it.
                if "password" not in values:
                    raise
            read_creds = dataclasses.replace(vim.credentials, password=read_password)
            creds = dataclasses.replace(
                read_creds, **{k: values[k] for k in _CRED_KEYS if k in values})
            discovery, session = self._discover(creds, self._timeout)
            health = self._health_from(session, discovery.orchestration_endpoints)
            changes.update(
                credentials=creds.without_password(), regions=discovery.regions,
                orchestration_endpoints=discovery.orchestration_endpoints,
                project_id=discovery.project_id, status=health.status,
                status_reason=health.reason, status_checked_at=health.checked_at)
            new_password = creds.password
        if not changes:
            raise InvalidInput("nothing to change",
                               hint="give --config-file, --name, --description "
                                    "or --is-default")
        if new_password is None:
            with self._store.transaction() as conn:
                updated = self._merge(vim, changes)
                self._table.update(conn, updated)
            return updated
        key_id = self._vault.new_key()
        try:
            token = self._vault.encrypt(key_id, new_password)
            with self._store.transaction() as conn:
                updated = self._merge(vim, changes, read_password, read_secret)
                old_key_id, _ = self._table.secret(vim.id)
                self._table.update(conn, updated, secret=(key_id, token))
        except BaseException:
            self._vault.delete_key(key_id)
            raise
        self._vault.delete_key(old_key_id)
        return updated

    def _merge(self, vim: Vim, changes: dict[str, Any],
               read_password: str | None = None,
               read_secret: tuple[str, str] | None = None) -> Vim:
        """The stored row, re-read in the open transaction, with ``changes``.

        ``vim``, ``read_password`` and ``read_secret`` (the key id and token
        it was read from) are what the credential check was based on; when the
        stored credentials differ now, the check proved nothing. A password
        only re-encrypted meanwhile (rotate-keys) is the same password.
        """
        current = self._table.get(vim.id)
        if current is None:
            raise VimNotFound(f"VIM {vim.name!r} was deleted meanwhile")
        if "credentials" in changes:
            secret = self._table.secret(vim.id)
            same_password = secret == read_secret or (
                read_password is not None and self._vault.decrypt(
                    *secret, what=f"the stored password of VIM {vim.name!r}",
                    hint=_reenter_hint(vim)) == read_password)
            if current.credentials != vim.credentials or not same_password:
                raise Conflict(f"the credentials of VIM {vim.name!r} changed while "
                               "this update was being validated",
                               hint="show the VIM and run 'vim set' again")
            self._check_users_kept(current, changes)
        return dataclasses.replace(current, updated_at=self._now(), **changes)

    def _check_users_kept(self, vim: Vim, changes: Mapping[str, Any]) -> None:
        """Refuse new credentials that would strand an instance running on the VIM."""
        users = self._table.users(vim.id, (vim.name,), self._takes_unnamed(vim))
        lost = [(vnf_id, region) for vnf_id, region in users.items()
                if region and region not in changes["regions"]]
        if lost:
            vnf_id, region = lost[0]
            raise Conflict(
                f"VIM {vim.name!r} would lose region {region!r}, which VNF instance "
                f"{vnf_id} uses" + (f" ({len(lost)} instances in lost regions)"
                                    if len(lost) > 1 else ""),
                hint="give credentials that reach that region, or terminate the "
                     "instance first")
        if users and vim.project_id and changes["project_id"] != vim.project_id:
            raise Conflict(
                f"VIM {vim.name!r} would move from project {vim.project_id} to "
                f"{changes['project_id']}, leaving {_some(users)} behind",
                hint="terminate them first, or register the new project as "
                     "another VIM")

    def _takes_unnamed(self, vim: Vim) -> bool:
        """Whether an instantiate that names no VIM runs on ``vim``."""
        return vim.is_default and vim.tenant_id == self._tenant_id

    def delete_vim(self, name_or_id: str) -> Vim:
        """Remove a VIM and its key; refused while a VNF instance uses the VIM."""
        vim = self.find_vim(name_or_id)
        # Checked in the deleting transaction, so no instance starts using the
        # VIM between the check and the delete.
        with self._store.transaction() as conn:
            users = self._table.users(vim.id, (vim.name,), self._takes_unnamed(vim))
            if users:
                raise Conflict(
                    f"VIM {vim.name!r} is used by {_some(users)}",
                    hint="terminate them (and roll back or fail their unfinished "
                         "operations) first")
            if self._table.get(vim.id) is None:
                raise VimNotFound(f"VIM {vim.name!r} was deleted meanwhile")
            key_id, _ = self._table.secret(vim.id)
            self._table.delete(conn, vim.id)
        self._vault.delete_key(key_id)
        return vim

    # -- health -------------------------------------------------------------
    def check_vims(self, names_or_ids: Iterable[str] = ()) -> list[Vim]:
        """Re-authenticate and probe Heat in each region; record the outcome.

        Checks run in parallel; each is bounded by the registry's timeout. A
        VIM whose stored password cannot be read is marked ERROR with the
        vault's reason; one that does not answer, UNREACHABLE.
        """
        names = list(names_or_ids)
        vims = [self.find_vim(n) for n in names] if names else self.list_vims()
        if not vims:
            return []
        from concurrent.futures import ThreadPoolExecutor

        # Secrets are read here: the store connection belongs to this thread.
        creds = [self._credentials_or_error(v) for v in vims]
        with ThreadPoolExecutor(max_workers=min(8, len(vims))) as pool:
            results = list(pool.map(self._check_one, creds))
        with self._store.transaction() as conn:
            for vim, health in zip(vims, results):
                self._table.set_status(conn, vim.id, health.status, health.reason,
                                       health.checked_at)
        return [dataclasses.replace(v, status=h.status, status_reason=h.reason,
                                    status_checked_at=h.checked_at)
                for v, h in zip(vims, results)]

    def _credentials_or_error(self, vim: Vim) -> VimCredentials | NfvError:
        try:
            return self.credentials(vim)
        except NfvError as exc:
            return exc

    def _check_one(self, creds: VimCredentials | NfvError) -> VimHealth:
        if isinstance(creds, VaultError):  # nothing to do with the VIM's reachability
            return VimHealth(VimStatus.ERROR, str(creds), self._now())
        if isinstance(creds, NfvError):
            return VimHealth(VimStatus.UNREACHABLE, str(creds), self._now())
        try:
            session, access = self._authenticate(creds, self._timeout)
            endpoints = keystone.orchestration_endpoints(access)
        except NfvError as exc:
            return VimHealth(VimStatus.UNREACHABLE, str(exc), self._now())
        return self._health_from(session, endpoints)

    def _health_from(self, session: Any, endpoints: dict[str, str]) -> VimHealth:
        if not endpoints:
            return VimHealth(VimStatus.UNREACHABLE,
                             "no orchestration (Heat) endpoint in the catalog",
                             self._now())
        problems = self._probe_heat(session, endpoints)
        if problems:
            reason = "; ".join(f"{region or '(no region)'}: {text}"
                               for region, text in sorted(problems.items()))
            return VimHealth(VimStatus.UNREACHABLE, reason, self._now())
        return VimHealth(VimStatus.REACHABLE, "", self._now())

    # -- vault --------------------------------------------------------------
    def rotate_keys(self) -> int:
        """Re-encrypt every VIM password with a fresh key, then retire old keys.

        For each VIM: write a new key, encrypt, verify by decrypting, commit the
        row, delete the old key. A crash at any point leaves each VIM pointing
        at a key file that exists. Returns the number of VIMs rotated.

        A VIM whose password cannot be read does not stop the others: they are
        rotated, then a :class:`VaultError` names the first that failed.
        """
        rotated = 0
        failed: list[tuple[Vim, NfvError]] = []
        for vim in self.list_vims():
            try:
                (old_key_id, _), password = self._password(vim)
            except VimNotFound:  # deleted meanwhile
                continue
            except (VaultError, Conflict) as exc:
                failed.append((vim, exc))
                continue
            key_id = self._vault.new_key()
            new_token = self._vault.encrypt(key_id, password)
            if self._vault.decrypt(key_id, new_token) != password:
                self._vault.delete_key(key_id)
                raise NfvError(f"verification of the new key of VIM {vim.name} failed")
            with self._store.transaction() as conn:
                moved = self._table.set_secret(conn, vim.id, old_key_id, key_id,
                                               new_token)
            if not moved:  # changed meanwhile by another process
                self._vault.delete_key(key_id)
                continue
            self._vault.delete_key(old_key_id)
            rotated += 1
        self._remove_orphan_keys()
        if failed:
            first, error = failed[0]
            others = f" and {len(failed) - 1} other VIM(s)" if len(failed) > 1 else ""
            raise VaultError(
                f"rotated the keys of {rotated} VIM(s) but not of VIM {first.name!r}"
                f"{others}: {error.message}", hint=error.hint) from error
        return rotated

    def _remove_orphan_keys(self) -> None:
        """Delete VIM keys this store recorded that no VIM row uses any more.

        Key files of other stores sharing the directory are never considered.
        """
        for key_id in self._vault.orphans(self._table.key_ids(),
                                          min_age=ORPHAN_MIN_AGE_S):
            self._vault.delete_key(key_id)

    # -- helpers ------------------------------------------------------------
    def _precheck(self, name: str, tenant: str, is_default: bool) -> None:
        """Fail before contacting Keystone when the store would refuse anyway."""
        if any(v.tenant_id == tenant for v in self._table.by_name(name)):
            raise Conflict(f"a VIM named {name!r} already exists in project {tenant}",
                           hint="choose another name")
        if is_default:
            current = self._table.default(tenant)
            if current is not None:
                raise Conflict(
                    f"VIM {current.name!r} is already the default VIM of project "
                    f"{tenant}",
                    hint=f"unset it first with 'vim set {current.name} "
                         "--is-default False'")

    def _now(self) -> str:
        return self._clock().isoformat(timespec="seconds")


def _reenter_hint(vim: Vim) -> str:
    ref = vim.name if vim.name.isprintable() and " " not in vim.name else vim.id
    return (f"re-enter it with 'nfv vim set {ref} --config-file FILE', FILE "
            "holding the line 'password: ...'")


def _some(vnf_ids: Iterable[str], shown: int = 3) -> str:
    """``N VNF instance(s): a, b, c, ...`` naming the first few."""
    ids = list(vnf_ids)
    more = ", ..." if len(ids) > shown else ""
    return f"{len(ids)} VNF instance(s): {', '.join(ids[:shown])}{more}"


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("a VIM name must not be empty", hint="give a NAME")
    # Control characters are refused before stripping: 'site\n' is not 'site'.
    check_text(name, "VIM name", len(name))
    return check_text(name.strip(), "VIM name", MAX_NAME_LENGTH)


def _check_description(description: str | None) -> str:
    if description is None:
        return ""
    if not isinstance(description, str):
        raise InvalidInput("a VIM description must be text")
    return check_text(description, "VIM description", MAX_DESCRIPTION_LENGTH)
