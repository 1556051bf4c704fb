"""SQLAlchemy listeners that let one process's threads share a SQLite file.

Used by the Keystone and Heat launchers (run inside their own virtualenvs, so
this module imports only the standard library and SQLAlchemy). Without it,
SQLite's deferred ``BEGIN`` makes concurrent writer threads fail at once with
"database is locked"; with it every connection uses WAL and a long busy
timeout, and every transaction starts with ``BEGIN IMMEDIATE``, so writers
queue.

The listeners are registered on the Engine class, so they run before the
per-engine listeners oslo.db adds; oslo.db's own ``begin`` listener sees the
transaction marker set here and does not emit a second BEGIN.
"""

from __future__ import annotations

import sqlite3
from typing import Any


def install(busy_timeout_ms: int = 60000) -> None:
    """Register the listeners on every SQLAlchemy engine of this process."""
    # SQLAlchemy is only in the services' virtualenvs.
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    def on_connect(dbapi_con: Any, _record: Any) -> None:
        if not isinstance(dbapi_con, sqlite3.Connection):
            return
        # The driver must not open transactions on its own.
        dbapi_con.isolation_level = None
        dbapi_con.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        dbapi_con.execute("PRAGMA journal_mode = WAL")
        dbapi_con.execute("PRAGMA synchronous = NORMAL")

    def on_begin(conn: Any) -> None:
        if conn.dialect.name != "sqlite":
            return
        if "in_transaction" not in conn.info:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            conn.info["in_transaction"] = True

    def on_end(conn: Any) -> None:
        conn.info.pop("in_transaction", None)

    event.listen(Engine, "connect", on_connect)
    event.listen(Engine, "begin", on_begin)
    event.listen(Engine, "commit", on_end)
    event.listen(Engine, "rollback", on_end)
