"""Versioned schema migrations of the store.

Each migration runs in the same transaction as the row that records it, so a
store is always at exactly one known version. Append new migrations; never
edit one that has shipped.
"""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime, timezone

from nfvlib.exceptions import StoreError

MIGRATIONS: list[tuple[int, str, str]] = [
    (1, "create vims", """
        CREATE TABLE vims (
            id TEXT PRIMARY KEY,
            tenant_id TEXT NOT NULL,
            name TEXT NOT NULL,
            type TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            credentials TEXT NOT NULL,
            password_token TEXT NOT NULL,
            key_id TEXT NOT NULL,
            project_id TEXT NOT NULL DEFAULT '',
            regions TEXT NOT NULL DEFAULT '[]',
            orchestration_endpoints TEXT NOT NULL DEFAULT '{}',
            is_default INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'PENDING',
            status_reason TEXT NOT NULL DEFAULT '',
            status_checked_at TEXT,
            extra TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            updated_at TEXT,
            UNIQUE (tenant_id, name)
        );
        CREATE UNIQUE INDEX vims_one_default_per_tenant
            ON vims (tenant_id) WHERE is_default = 1;
        CREATE INDEX vims_name ON vims (name);
    """),
    (2, "create vnf packages, instances and op occurrences", """
        CREATE TABLE vnf_packages (
            id TEXT PRIMARY KEY,
            onboarding_state TEXT NOT NULL,
            operational_state TEXT NOT NULL DEFAULT 'DISABLED',
            usage_state TEXT NOT NULL DEFAULT 'NOT_IN_USE',
            vnfd_id TEXT,
            vnf_provider TEXT,
            vnf_product_name TEXT,
            vnf_software_version TEXT,
            vnfd_version TEXT,
            path TEXT,
            user_defined_data TEXT NOT NULL DEFAULT '{}',
            created_at TEXT NOT NULL,
            updated_at TEXT
        );
        CREATE UNIQUE INDEX vnf_packages_vnfd_id ON vnf_packages (vnfd_id)
            WHERE vnfd_id IS NOT NULL;
        CREATE TABLE vnf_instances (
            id TEXT PRIMARY KEY,
            vnfd_id TEXT NOT NULL,
            package_id TEXT NOT NULL REFERENCES vnf_packages (id),
            instantiation_state TEXT NOT NULL,
            name TEXT NOT NULL DEFAULT '',
            description TEXT NOT NULL DEFAULT '',
            vim_id TEXT,
            region TEXT,
            flavour_id TEXT,
            instantiation_level_id TEXT,
            stack_id TEXT,
            scale_status TEXT NOT NULL DEFAULT '{}',
            instantiated_info TEXT NOT NULL DEFAULT '{}',
            vnfc TEXT NOT NULL DEFAULT '[]',
            created_at TEXT NOT NULL,
            updated_at TEXT
        );
        CREATE INDEX vnf_instances_package ON vnf_instances (package_id);
        CREATE TABLE op_occs (
            id TEXT PRIMARY KEY,
            vnf_instance_id TEXT NOT NULL REFERENCES vnf_instances (id)
                ON DELETE CASCADE,
            operation TEXT NOT NULL,
            state TEXT NOT NULL,
            start_time TEXT NOT NULL,
            state_entered_time TEXT NOT NULL,
            is_automatic_invocation INTEGER NOT NULL DEFAULT 0,
            is_cancel_pending INTEGER NOT NULL DEFAULT 0,
            cancel_mode TEXT,
            request TEXT NOT NULL DEFAULT '{}',
            error TEXT,
            resource_changes TEXT NOT NULL DEFAULT '{}',
            steps TEXT NOT NULL DEFAULT '[]',
            current_step INTEGER NOT NULL DEFAULT 0,
            direction TEXT NOT NULL DEFAULT 'forward',
            context TEXT NOT NULL DEFAULT '{}',
            worker_pid INTEGER,
            lease_expires_at REAL
        );
        CREATE UNIQUE INDEX op_occs_one_active_per_vnf ON op_occs (vnf_instance_id)
            WHERE state NOT IN ('COMPLETED', 'FAILED', 'ROLLED_BACK');
        CREATE INDEX op_occs_vnf ON op_occs (vnf_instance_id, start_time);
        CREATE INDEX op_occs_state ON op_occs (state);
    """),
    # Occurrences outlive their VNF instance (Tacker v2 keeps them as the
    # instance's history), so op_occs loses its foreign key: SQLite cannot drop
    # a constraint, hence a new table, a copy, and the indexes made again.
    # A lease also records the run that holds it and the boot it counts from.
    (3, "keep op occurrences after their instance; lease token and boot id", """
        CREATE TABLE op_occs_v3 (
            id TEXT PRIMARY KEY,
            vnf_instance_id TEXT NOT NULL,
            operation TEXT NOT NULL,
            state TEXT NOT NULL,
            start_time TEXT NOT NULL,
            state_entered_time TEXT NOT NULL,
            is_automatic_invocation INTEGER NOT NULL DEFAULT 0,
            is_cancel_pending INTEGER NOT NULL DEFAULT 0,
            cancel_mode TEXT,
            request TEXT NOT NULL DEFAULT '{}',
            error TEXT,
            resource_changes TEXT NOT NULL DEFAULT '{}',
            steps TEXT NOT NULL DEFAULT '[]',
            current_step INTEGER NOT NULL DEFAULT 0,
            direction TEXT NOT NULL DEFAULT 'forward',
            context TEXT NOT NULL DEFAULT '{}',
            worker_pid INTEGER,
            lease_expires_at REAL,
            lease_token TEXT,
            lease_boot_id TEXT
        );
        INSERT INTO op_occs_v3 (
            id, vnf_instance_id, operation, state, start_time, state_entered_time,
            is_automatic_invocation, is_cancel_pending, cancel_mode, request, error,
            resource_changes, steps, current_step, direction, context, worker_pid,
            lease_expires_at)
        SELECT
            id, vnf_instance_id, operation, state, start_time, state_entered_time,
            is_automatic_invocation, is_cancel_pending, cancel_mode, request, error,
            resource_changes, steps, current_step, direction, context, worker_pid,
            lease_expires_at
        FROM op_occs;
        DROP TABLE op_occs;
        ALTER TABLE op_occs_v3 RENAME TO op_occs;
        CREATE UNIQUE INDEX op_occs_one_active_per_vnf ON op_occs (vnf_instance_id)
            WHERE state NOT IN ('COMPLETED', 'FAILED', 'ROLLED_BACK');
        CREATE INDEX op_occs_vnf ON op_occs (vnf_instance_id, start_time);
        CREATE INDEX op_occs_state ON op_occs (state);
    """),
    # Keys a store created, so that a store sharing its key directory with
    # others deletes only its own; keys of existing VIM rows become owned.
    (4, "record the vault keys each store owns", """
        CREATE TABLE vault_keys (
            key_id TEXT PRIMARY KEY,
            purpose TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX vault_keys_purpose ON vault_keys (purpose, created_at);
        INSERT OR IGNORE INTO vault_keys (key_id, purpose, created_at)
            SELECT key_id, 'vim', created_at FROM vims
    """),
    # SOL003 subscriptions, and the outbox of their notifications: a
    # notification is written in the transaction of the state change it
    # tells about, and stays until its callback answered 204. A deliverer
    # claims a subscription (claim_*) so that one process at a time sends
    # its notifications, in seq order. IF NOT EXISTS: a store whose
    # bookkeeping lost a later version (4) re-runs this one harmlessly.
    (5, "create subscriptions and the notification outbox", """
        CREATE TABLE IF NOT EXISTS subscriptions (
            id TEXT PRIMARY KEY,
            callback_uri TEXT NOT NULL,
            filter TEXT NOT NULL DEFAULT '{}',
            verbosity TEXT NOT NULL DEFAULT 'FULL',
            authentication TEXT,
            created_at TEXT NOT NULL,
            claim_token TEXT,
            claim_pid INTEGER,
            claim_expires_at REAL
        );
        CREATE TABLE IF NOT EXISTS notifications (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            subscription_id TEXT NOT NULL REFERENCES subscriptions (id)
                ON DELETE CASCADE,
            notification_type TEXT NOT NULL,
            op_occ_id TEXT,
            operation_state TEXT,
            body TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'PENDING',
            attempts INTEGER NOT NULL DEFAULT 0,
            last_error TEXT,
            next_attempt_at REAL NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            delivered_at TEXT
        );
        CREATE INDEX IF NOT EXISTS notifications_undelivered
            ON notifications (subscription_id, seq) WHERE status != 'DELIVERED';
        CREATE INDEX IF NOT EXISTS notifications_subscription
            ON notifications (subscription_id)
    """),
    # Restoration points: a Heat stack snapshot and a copy of the instance
    # record. They go with their instance (ON DELETE CASCADE); Heat deletes a
    # stack's snapshots with the stack.
    (7, "create restoration points", """
        CREATE TABLE IF NOT EXISTS restoration_points (
            id TEXT PRIMARY KEY,
            vnf_instance_id TEXT NOT NULL REFERENCES vnf_instances (id)
                ON DELETE CASCADE,
            name TEXT NOT NULL DEFAULT '',
            op_occ_id TEXT,
            vim_id TEXT,
            region TEXT,
            stack_name TEXT NOT NULL,
            stack_id TEXT NOT NULL,
            snapshot_id TEXT NOT NULL,
            package_id TEXT NOT NULL,
            vnfd_id TEXT NOT NULL,
            instance TEXT NOT NULL DEFAULT '{}',
            size INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE INDEX IF NOT EXISTS restoration_points_vnf
            ON restoration_points (vnf_instance_id, created_at)
    """),
    (8, "op occurrences: escalation policy and log, suspend", """
        ALTER TABLE op_occs ADD COLUMN on_failure TEXT;
        ALTER TABLE op_occs ADD COLUMN escalations TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE op_occs ADD COLUMN is_suspend_pending INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE op_occs ADD COLUMN is_suspended INTEGER NOT NULL DEFAULT 0
    """),
    (9, "listing order indexes (keyset paging)", """
        CREATE INDEX IF NOT EXISTS op_occs_order ON op_occs (start_time, id);
        CREATE INDEX IF NOT EXISTS vnf_instances_order ON vnf_instances (created_at, id)
    """),
    (10, "VNF packages: checksum of the content", """
        ALTER TABLE vnf_packages ADD COLUMN checksum TEXT
    """),
    # SOL003 VnfInstance attributes a VnfInfoModificationRequest changes.
    (11, "VNF instances: metadata, extensions, configurable properties", """
        ALTER TABLE vnf_instances ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
        ALTER TABLE vnf_instances ADD COLUMN extensions TEXT NOT NULL DEFAULT '{}';
        ALTER TABLE vnf_instances ADD COLUMN vnf_configurable_properties TEXT
            NOT NULL DEFAULT '{}'
    """),
]

# Migrations may land out of order (6 after 7): the latest is the highest.
LATEST = max(version for version, _, _ in MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to the latest version; return the version reached."""
    conn.execute("CREATE TABLE IF NOT EXISTS schema_migrations ("
                 "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                 "applied_at TEXT NOT NULL)")
    current = _version(conn)
    if current > LATEST:
        raise StoreError(
            f"the store's schema version {current} is newer than this nfvkit "
            f"understands ({LATEST})",
            hint="upgrade nfvkit, or point NFV_STORE at another store file")
    applied = _applied(conn)
    for version, name, sql in MIGRATIONS:
        # Each migration runs unless recorded, so one that landed below an
        # already shipped one (3 after 4) still runs on a store at 4.
        if version in applied:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Another process may have migrated while we waited for the lock.
            if version in _applied(conn):
                conn.execute("COMMIT")
                continue
            for statement in sql.split(";"):
                if statement.strip():
                    _execute(conn, statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) "
                "VALUES (?, ?, ?)",
                (version, name, datetime.now(timezone.utc).isoformat()))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return _version(conn)


_ADD_COLUMN = re.compile(r"\s*ALTER\s+TABLE\s+(?P<table>\w+)\s+ADD\s+COLUMN\s+"
                         r"(?P<column>\w+)", re.IGNORECASE)


def _execute(conn: sqlite3.Connection, statement: str) -> None:
    """Run one statement of a migration, so that the migration can run again.

    SQLite has no ``ADD COLUMN IF NOT EXISTS``: a column the table has
    already is left as it is (a migration whose record was lost runs again).
    """
    added = _ADD_COLUMN.match(statement)
    if added:
        columns = {row[1] for row in conn.execute(
            f"PRAGMA table_info({added['table']})")}
        if added["column"] in columns:
            return
    conn.execute(statement)


def _applied(conn: sqlite3.Connection) -> set[int]:
    return {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}


def _version(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT MAX(version) FROM schema_migrations").fetchone()
    return row[0] or 0
