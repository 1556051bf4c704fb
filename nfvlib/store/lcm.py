"""SQL for VNF packages, VNF instances and LCM operation occurrences."""

from __future__ import annotations

import dataclasses
import enum
import json
import sqlite3
from typing import TYPE_CHECKING, Any, Generic, Iterator, Mapping, TypeVar

from nfvlib.exceptions import Conflict
from nfvlib.models import (InstantiationState, OnboardingState, Operation, OpOcc,
                           OpOccRecord, OpState, OpStep, PackageInfo, VnfcInfo,
                           VnfInstance)
from nfvlib.store.sqlite import Store

if TYPE_CHECKING:
    from typing import Protocol

    from _typeshed import DataclassInstance

    class _Record(DataclassInstance, Protocol):
        """What a table stores: a dataclass with an ``id``."""

        @property
        def id(self) -> str: ...

_T = TypeVar("_T", bound="_Record")


class _Table(Generic[_T]):
    """Rows of one table <-> one frozen dataclass, JSON for structured fields."""

    table = ""
    model: type[_T]
    json_fields: tuple[str, ...] = ()
    #: dataclass fields that are not columns
    skip: tuple[str, ...] = ()

    def __init__(self, store: Store) -> None:
        self.store = store
        self.columns = [f.name for f in dataclasses.fields(self.model)
                        if f.name not in self.skip]

    def to_row(self, obj: _T) -> dict[str, Any]:
        row = {}
        for name in self.columns:
            value = getattr(obj, name)
            if name in self.json_fields:
                value = json.dumps(_plain(value))
            elif hasattr(value, "value"):  # enums
                value = value.value
            elif isinstance(value, bool):
                value = int(value)
            row[name] = value
        return row

    def from_row(self, row: sqlite3.Row) -> _T:
        values = {name: row[name] for name in self.columns}
        for name in self.json_fields:
            values[name] = _loads(values[name])
        return self.convert(values)

    def convert(self, values: dict[str, Any]) -> _T:
        return self.model(**values)

    def query(self) -> str:
        """The SELECT that reads rows (a subclass may add derived columns)."""
        return f"SELECT * FROM {self.table}"

    def get(self, obj_id: str) -> _T | None:
        row = self.store.conn.execute(f"{self.query()} WHERE id = ?",
                                      (obj_id,)).fetchone()
        return self.from_row(row) if row else None

    def select(self, where: str = "", params: tuple[Any, ...] = (),
               order: str = "") -> list[_T]:
        sql = self.query()
        if where:
            sql += f" WHERE {where}"
        if order:
            sql += f" ORDER BY {order}"
        return [self.from_row(r) for r in self.store.conn.execute(sql, params).fetchall()]

    def select_after(self, where: str, params: tuple[Any, ...], order: tuple[str, str],
                     after: tuple[str, str] | None, limit: int) -> list[_T]:
        """Up to ``limit`` rows in ``order`` (two columns, the last unique)
        following the row whose values of those columns are ``after``."""
        first, second = order
        clauses, values = ([f"({where})"], list(params)) if where else ([], [])
        if after is not None:
            clauses.append(f"({first} > ? OR ({first} = ? AND {second} > ?))")
            values += [after[0], after[0], after[1]]
        sql = self.query()
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += f" ORDER BY {first}, {second} LIMIT ?"
        return [self.from_row(r)
                for r in self.store.conn.execute(sql, [*values, limit]).fetchall()]

    def insert(self, conn: sqlite3.Connection, obj: _T) -> None:
        row = self.to_row(obj)
        try:
            conn.execute(f"INSERT INTO {self.table} ({', '.join(row)}) "
                         f"VALUES ({', '.join('?' * len(row))})", list(row.values()))
        except sqlite3.IntegrityError as exc:
            raise self.conflict(obj, exc) from exc

    def update(self, conn: sqlite3.Connection, obj: _T) -> None:
        row = self.to_row(obj)
        row.pop("id")
        try:
            conn.execute(f"UPDATE {self.table} SET "
                         f"{', '.join(c + ' = ?' for c in row)} WHERE id = ?",
                         [*row.values(), obj.id])
        except sqlite3.IntegrityError as exc:
            raise self.conflict(obj, exc) from exc

    def delete(self, conn: sqlite3.Connection, obj_id: str) -> None:
        conn.execute(f"DELETE FROM {self.table} WHERE id = ?", (obj_id,))

    def conflict(self, obj: _T, exc: Exception) -> Conflict:
        return Conflict(f"{self.table[:-1].replace('_', ' ')} {obj.id} conflicts "
                        f"with a stored one: {exc}")


class PackageTable(_Table[PackageInfo]):
    table = "vnf_packages"
    model = PackageInfo
    json_fields = ("user_defined_data", "checksum")

    def convert(self, values: dict[str, Any]) -> PackageInfo:
        values["onboarding_state"] = OnboardingState(values["onboarding_state"])
        return PackageInfo(**values)

    def conflict(self, obj: PackageInfo, exc: Exception) -> Conflict:
        return Conflict(f"a VNF package with vnfdId {obj.vnfd_id} is already onboarded",
                        hint="delete it first, or change the vnfdId of the new one")

    def by_vnfd_id(self, vnfd_id: str) -> PackageInfo | None:
        found = self.select("vnfd_id = ? AND onboarding_state = 'ONBOARDED'", (vnfd_id,))
        return found[0] if found else None


class VnfTable(_Table[VnfInstance]):
    table = "vnf_instances"
    model = VnfInstance
    json_fields = ("scale_status", "instantiated_info", "vnfc", "metadata", "extensions",
                   "vnf_configurable_properties")
    #: columns a restoration point's copy of the record may lack (taken before
    #: they existed)
    later = ("metadata", "extensions", "vnf_configurable_properties")
    #: the package's identity, read from its record (None once it is deleted)
    skip = ("vnf_provider", "vnf_product_name", "vnf_software_version", "vnfd_version")

    def query(self) -> str:
        # A subquery named as the table, so that callers' WHERE clauses name
        # the instance's columns unqualified.
        return ("SELECT * FROM (SELECT v.*, p.vnf_provider, p.vnf_product_name, "
                "p.vnf_software_version, p.vnfd_version FROM vnf_instances v "
                "LEFT JOIN vnf_packages p ON p.id = v.package_id) AS vnf_instances")

    def from_row(self, row: sqlite3.Row | Mapping[str, Any]) -> VnfInstance:
        """An instance from a row of :meth:`query`, or from a stored
        :meth:`to_row` copy (a restoration point's), which lacks the package's
        identity."""
        try:  # a row of the query has every column
            values = {name: row[name] for name in self.columns}
            values.update((name, row[name]) for name in self.skip)
        except (IndexError, KeyError):
            keys = set(row.keys())
            values = {name: row[name] if name in keys or name not in self.later else "{}"
                      for name in self.columns}
            values.update((name, row[name] if name in keys else None)
                          for name in self.skip)
        for name in self.json_fields:
            values[name] = _loads(values[name])
        return self.convert(values)

    def convert(self, values: dict[str, Any]) -> VnfInstance:
        values["instantiation_state"] = InstantiationState(values["instantiation_state"])
        values["vnfc"] = tuple(VnfcInfo(**v) for v in values["vnfc"] or ())
        return VnfInstance(**values)

    def in_use(self, package_id: str) -> int:
        count: int = self.store.conn.execute(
            "SELECT COUNT(*) FROM vnf_instances WHERE package_id = ?",
            (package_id,)).fetchone()[0]
        return count

    def packages_in_use(self) -> set[str]:
        """Ids of the packages that any VNF instance refers to."""
        return {row[0] for row in self.store.conn.execute(
            "SELECT DISTINCT package_id FROM vnf_instances")}


class OpOccTable(_Table[OpOccRecord]):
    table = "op_occs"
    model = OpOccRecord
    json_fields = ("request", "error", "resource_changes", "steps", "escalations")
    skip = ("vnf_instance_deleted",)

    def query(self) -> str:
        # Occurrences outlive their instance; whether it is gone is derived.
        return ("SELECT *, NOT EXISTS (SELECT 1 FROM vnf_instances v "
                "WHERE v.id = op_occs.vnf_instance_id) AS vnf_instance_deleted "
                "FROM op_occs")

    def from_row(self, row: sqlite3.Row) -> OpOccRecord:
        values = {name: row[name] for name in self.columns}
        values["vnf_instance_deleted"] = bool(row["vnf_instance_deleted"])
        for name in self.json_fields:
            if values[name] is not None:
                values[name] = json.loads(values[name])
        values["operation"] = Operation(values["operation"])
        values["state"] = OpState(values["state"])
        values["steps"] = tuple(OpStep(**s) for s in values["steps"] or ())
        values["is_automatic_invocation"] = bool(values["is_automatic_invocation"])
        values["is_cancel_pending"] = bool(values["is_cancel_pending"])
        values["escalations"] = tuple(values["escalations"] or ())
        values["is_suspend_pending"] = bool(values["is_suspend_pending"])
        values["is_suspended"] = bool(values["is_suspended"])
        return OpOccRecord(**values)

    def conflict(self, obj: OpOccRecord, exc: Exception) -> Conflict:
        active = self.store.conn.execute(
            "SELECT id, operation, state FROM op_occs WHERE vnf_instance_id = ? AND "
            "state NOT IN ('COMPLETED', 'FAILED', 'ROLLED_BACK')",
            (obj.vnf_instance_id,)).fetchone()
        if active is None:
            return Conflict(f"operation occurrence {obj.id} conflicts: {exc}")
        return Conflict(
            f"VNF instance {obj.vnf_instance_id} has operation {active['operation']} "
            f"({active['id']}) in state {active['state']}",
            hint="wait for it, or retry, roll back, fail or cancel it with "
                 "'vnflcm op ...'")

    def context(self, op_id: str) -> dict[str, Any]:
        row = self.store.conn.execute("SELECT context FROM op_occs WHERE id = ?",
                                      (op_id,)).fetchone()
        return json.loads(row[0]) if row else {}

    def set_context(self, conn: sqlite3.Connection, op_id: str,
                    context: Mapping[str, Any]) -> None:
        conn.execute("UPDATE op_occs SET context = ? WHERE id = ?",
                     (json.dumps(_plain(context)), op_id))

    def set_progress(self, conn: sqlite3.Connection, op_id: str,
                     steps: tuple[OpStep, ...], current_step: int) -> None:
        """Record the journal alone (other columns may change meanwhile)."""
        conn.execute("UPDATE op_occs SET steps = ?, current_step = ? WHERE id = ?",
                     (json.dumps(_plain(steps)), current_step, op_id))

    def add_escalation(self, conn: sqlite3.Connection, op_id: str,
                       entry: Mapping[str, Any]) -> None:
        """Append one entry to the occurrence's escalation log (in ``conn``'s transaction)."""
        row = conn.execute("SELECT escalations FROM op_occs WHERE id = ?",
                           (op_id,)).fetchone()
        log = json.loads(row[0]) if row and row[0] else []
        log.append(_plain(dict(entry)))
        conn.execute("UPDATE op_occs SET escalations = ? WHERE id = ?",
                     (json.dumps(log), op_id))

    def set_state_if(self, conn: sqlite3.Connection, op_id: str, expected: OpState,
                     target: OpState, **changes: Any) -> bool:
        """Compare-and-set: move ``op_id`` to ``target`` only if it is ``expected``.

        ``changes`` are further columns to set. Returns whether the row changed;
        one statement, so a concurrent writer cannot slip in between.
        """
        values = {"state": target.value, **{k: _column_value(self, k, v)
                                              for k, v in changes.items()}}
        cur = conn.execute(
            f"UPDATE op_occs SET {', '.join(k + ' = ?' for k in values)} "
            "WHERE id = ? AND state = ?", [*values.values(), op_id, expected.value])
        return cur.rowcount == 1

    def owner(self, conn: sqlite3.Connection, op_id: str
              ) -> tuple[int | None, str | None] | None:
        """``(worker_pid, lease_token)`` of the occurrence, None if it is gone."""
        row = conn.execute("SELECT worker_pid, lease_token FROM op_occs WHERE id = ?",
                           (op_id,)).fetchone()
        return None if row is None else (row[0], row[1])

    def take_lease(self, conn: sqlite3.Connection, op_id: str, pid: int, token: str,
                   expires_at: float, boot_id: str | None) -> None:
        """Record this run as the lease holder."""
        conn.execute("UPDATE op_occs SET worker_pid = ?, lease_token = ?, "
                     "lease_expires_at = ?, lease_boot_id = ? WHERE id = ?",
                     (pid, token, expires_at, boot_id, op_id))

    def renew_lease(self, conn: sqlite3.Connection, op_id: str, pid: int, token: str,
                    expires_at: float) -> bool:
        """Extend the lease if this run still holds it; False when it does not."""
        cur = conn.execute("UPDATE op_occs SET lease_expires_at = ? "
                           "WHERE id = ? AND worker_pid = ? AND lease_token = ?",
                           (expires_at, op_id, pid, token))
        return cur.rowcount == 1

    def release_lease(self, conn: sqlite3.Connection, op_id: str, pid: int,
                      token: str) -> None:
        """Drop the lease if this run still holds it."""
        conn.execute("UPDATE op_occs SET worker_pid = NULL, lease_token = NULL, "
                     "lease_expires_at = NULL, lease_boot_id = NULL "
                     "WHERE id = ? AND worker_pid = ? AND lease_token = ?",
                     (op_id, pid, token))

    def active_for(self, vnf_id: str) -> OpOcc | None:
        found = self.select("vnf_instance_id = ? AND state NOT IN "
                            "('COMPLETED', 'FAILED', 'ROLLED_BACK')", (vnf_id,))
        return found[0] if found else None

    def with_lease(self) -> Iterator[OpOcc]:
        yield from self.select("state IN ('STARTING', 'PROCESSING', 'ROLLING_BACK')")


def _loads(text: str | None) -> Any:
    """A JSON column's value; the empty containers most rows hold skip the parser."""
    if text == "{}":
        return {}
    if text == "[]":
        return []
    return None if text is None else json.loads(text)


def _column_value(table: _Table[Any], name: str, value: Any) -> Any:
    """One field as its column value (JSON, enum value or int for a bool)."""
    if name not in table.columns:
        raise ValueError(f"{table.table} has no column {name}")
    if name in table.json_fields:
        return json.dumps(_plain(value))
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _plain(value: Any) -> Any:
    """Dataclasses, tuples and enums as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "value") and not isinstance(value, (str, int, float, bool)):
        return value.value
    return value
