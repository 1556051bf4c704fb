"""SQL for the ``vims`` table; rows in and :class:`~nfvlib.models.Vim` out."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from typing import Any, Iterator

from nfvlib.exceptions import Conflict, VimNotFound
from nfvlib.models import Vim, VimCredentials, VimStatus
from nfvlib.store.sqlite import Store

_COLUMNS = ("id", "tenant_id", "name", "type", "description", "credentials",
            "password_token", "key_id", "project_id", "regions",
            "orchestration_endpoints", "is_default", "status", "status_reason",
            "status_checked_at", "extra", "created_at", "updated_at")


class VimTable:
    """Reads and writes VIM rows. Writes take an open transaction."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # -- reads --------------------------------------------------------------
    def get(self, vim_id: str) -> Vim | None:
        row = self.store.conn.execute("SELECT * FROM vims WHERE id = ?",
                                      (vim_id,)).fetchone()
        return _to_vim(row) if row else None

    def by_name(self, name: str) -> list[Vim]:
        rows = self.store.conn.execute(
            "SELECT * FROM vims WHERE name = ? ORDER BY created_at", (name,))
        return [_to_vim(r) for r in rows]

    def default(self, tenant_id: str) -> Vim | None:
        row = self.store.conn.execute(
            "SELECT * FROM vims WHERE tenant_id = ? AND is_default = 1",
            (tenant_id,)).fetchone()
        return _to_vim(row) if row else None

    def all(self) -> Iterator[Vim]:
        for row in self.store.conn.execute("SELECT * FROM vims ORDER BY created_at, id"):
            yield _to_vim(row)

    def secret(self, vim_id: str) -> tuple[str, str]:
        """``(key_id, password_token)`` of a VIM."""
        row = self.store.conn.execute(
            "SELECT key_id, password_token FROM vims WHERE id = ?", (vim_id,)).fetchone()
        if row is None:
            raise VimNotFound(f"VIM {vim_id} was deleted meanwhile")
        return row["key_id"], row["password_token"]

    def key_ids(self) -> set[str]:
        return {r[0] for r in self.store.conn.execute("SELECT key_id FROM vims")}

    def users(self, vim_id: str, names: tuple[str, ...] = (),
              takes_unnamed: bool = False) -> dict[str, str | None]:
        """The VNF instances that use a VIM: instance id -> region (None: any).

        An instance uses the VIM when it runs there (``vnf_instances.vim_id``)
        or when an unfinished operation occurrence of it names the VIM, in its
        context (written once the request is validated) or in its request's
        ``vimConnectionInfo`` (by id or by one of ``names``). With
        ``takes_unnamed`` (the VIM is the default one) an instantiate naming no
        VIM counts too. Call it inside the transaction that acts on the answer.
        """
        conn = self.store.conn
        users: dict[str, str | None] = {}
        for row in conn.execute("SELECT id, region FROM vnf_instances WHERE vim_id = ? "
                                "ORDER BY created_at, id", (vim_id,)):
            users[row["id"]] = row["region"]
        wanted = {vim_id, *names}
        for row in conn.execute(
                "SELECT vnf_instance_id, operation, request, context FROM op_occs "
                "WHERE state NOT IN ('COMPLETED', 'FAILED', 'ROLLED_BACK') "
                "ORDER BY start_time, id"):
            context = json.loads(row["context"] or "{}")
            infos = (json.loads(row["request"] or "{}") or {}).get("vimConnectionInfo")
            infos = [i for i in infos.values() if isinstance(i, dict)] \
                if isinstance(infos, dict) else []
            if context.get("vim_id"):
                uses, region = context["vim_id"] == vim_id, context.get("region")
            elif infos:
                named = [i for i in infos if i.get("vimId") in wanted]
                uses = bool(named)
                region = ((named[0].get("accessInfo") or {}).get("region")
                          if named else None)
            else:
                uses, region = takes_unnamed and row["operation"] == "INSTANTIATE", None
            if uses:
                users.setdefault(row["vnf_instance_id"], region)
        return users

    # -- writes (inside Store.transaction) ----------------------------------
    def insert(self, conn: sqlite3.Connection, vim: Vim, key_id: str,
               token: str) -> None:
        values = _to_row(vim)
        values.update(key_id=key_id, password_token=token)
        try:
            conn.execute(
                f"INSERT INTO vims ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                [values[c] for c in _COLUMNS])
        except sqlite3.IntegrityError as exc:
            raise _conflict(conn, vim) from exc

    def update(self, conn: sqlite3.Connection, vim: Vim,
               secret: tuple[str, str] | None = None) -> None:
        values = _to_row(vim)
        columns = [c for c in _COLUMNS
                   if c not in ("id", "created_at", "key_id", "password_token")]
        if secret is not None:
            values["key_id"], values["password_token"] = secret
            columns += ["key_id", "password_token"]
        try:
            conn.execute(
                f"UPDATE vims SET {', '.join(c + ' = ?' for c in columns)} WHERE id = ?",
                [values[c] for c in columns] + [vim.id])
        except sqlite3.IntegrityError as exc:
            raise _conflict(conn, vim) from exc

    def set_secret(self, conn: sqlite3.Connection, vim_id: str, old_key_id: str,
                   key_id: str, token: str) -> bool:
        """Point a VIM at a new key, only if it still uses ``old_key_id``."""
        cur = conn.execute(
            "UPDATE vims SET key_id = ?, password_token = ? "
            "WHERE id = ? AND key_id = ?", (key_id, token, vim_id, old_key_id))
        return cur.rowcount == 1

    def set_status(self, conn: sqlite3.Connection, vim_id: str, status: VimStatus,
                   reason: str, checked_at: str) -> None:
        conn.execute("UPDATE vims SET status = ?, status_reason = ?, "
                     "status_checked_at = ? WHERE id = ?",
                     (status.value, reason, checked_at, vim_id))

    def delete(self, conn: sqlite3.Connection, vim_id: str) -> None:
        conn.execute("DELETE FROM vims WHERE id = ?", (vim_id,))


class VaultKeyTable:
    """The ``vault_keys`` table: every vault key this store created.

    It is the vault's ledger (:class:`nfvlib.vault.KeyLedger`): each method
    commits on its own, so a key is recorded before its file is written.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def record(self, key_id: str, purpose: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("INSERT INTO vault_keys (key_id, purpose, created_at) "
                         "VALUES (?, ?, ?)", (key_id, purpose, _now()))

    def forget(self, key_id: str) -> None:
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM vault_keys WHERE key_id = ?", (key_id,))

    def recorded(self, purpose: str) -> dict[str, float]:
        """``{key_id: created_at as epoch seconds}`` of one purpose."""
        rows = self.store.conn.execute(
            "SELECT key_id, created_at FROM vault_keys WHERE purpose = ?", (purpose,))
        return {r["key_id"]: _epoch(r["created_at"]) for r in rows}

    def key_for(self, purpose: str, new_id: str) -> str:
        """The oldest key recorded for ``purpose``; ``new_id`` is recorded if none."""
        with self.store.transaction() as conn:
            row = conn.execute("SELECT key_id FROM vault_keys WHERE purpose = ? "
                               "ORDER BY created_at, key_id LIMIT 1",
                               (purpose,)).fetchone()
            if row is not None:
                key_id: str = row["key_id"]
                return key_id
            conn.execute("INSERT INTO vault_keys (key_id, purpose, created_at) "
                         "VALUES (?, ?, ?)", (new_id, purpose, _now()))
        return new_id


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _epoch(text: str | None) -> float:
    try:
        return datetime.fromisoformat(text or "").timestamp()
    except ValueError:
        return 0.0


def _conflict(conn: sqlite3.Connection, vim: Vim) -> Conflict:
    same_name = conn.execute(
        "SELECT id FROM vims WHERE tenant_id = ? AND name = ? AND id != ?",
        (vim.tenant_id, vim.name, vim.id)).fetchone()
    if same_name:
        return Conflict(f"a VIM named {vim.name!r} already exists in project "
                        f"{vim.tenant_id}", hint="choose another name")
    default = conn.execute(
        "SELECT name FROM vims WHERE tenant_id = ? AND is_default = 1 AND id != ?",
        (vim.tenant_id, vim.id)).fetchone()
    if default:
        return Conflict(
            f"VIM {default['name']!r} is already the default VIM of project "
            f"{vim.tenant_id}",
            hint=f"unset it first with 'vim set {default['name']} --is-default False'")
    return Conflict(f"VIM {vim.name!r} conflicts with a stored VIM")


def _to_row(vim: Vim) -> dict[str, Any]:
    cred = vim.credentials
    return {
        "id": vim.id, "tenant_id": vim.tenant_id, "name": vim.name,
        "type": vim.type, "description": vim.description,
        "credentials": json.dumps({
            "auth_url": cred.auth_url, "username": cred.username,
            "project_name": cred.project_name,
            "project_domain_name": cred.project_domain_name,
            "user_domain_name": cred.user_domain_name,
            "cert_verify": cred.cert_verify}),
        "project_id": vim.project_id,
        "regions": json.dumps(list(vim.regions)),
        "orchestration_endpoints": json.dumps(vim.orchestration_endpoints),
        "is_default": int(vim.is_default), "status": vim.status.value,
        "status_reason": vim.status_reason,
        "status_checked_at": vim.status_checked_at,
        "extra": json.dumps(vim.extra), "created_at": vim.created_at,
        "updated_at": vim.updated_at,
    }


def _to_vim(row: sqlite3.Row) -> Vim:
    return Vim(
        id=row["id"], name=row["name"], tenant_id=row["tenant_id"],
        credentials=VimCredentials(**json.loads(row["credentials"])),
        type=row["type"], description=row["description"],
        is_default=bool(row["is_default"]),
        regions=tuple(json.loads(row["regions"])),
        orchestration_endpoints=json.loads(row["orchestration_endpoints"]),
        project_id=row["project_id"], status=VimStatus(row["status"]),
        status_reason=row["status_reason"],
        status_checked_at=row["status_checked_at"],
        created_at=row["created_at"], updated_at=row["updated_at"],
        extra=json.loads(row["extra"]))
