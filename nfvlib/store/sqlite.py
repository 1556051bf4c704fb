"""SQLite connection handling: WAL, busy timeout, one transaction per change."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Iterator

from nfvlib.exceptions import StoreError
from nfvlib.store import migrations

#: How long a writer waits for another process's transaction, in ms.
BUSY_TIMEOUT_MS = 10_000


class Store:
    """The embedded store, opened lazily on first use.

    Several processes may use one file at once: the journal is in WAL mode, a
    writer waits up to :data:`BUSY_TIMEOUT_MS` for another, and every change
    runs in one ``BEGIN IMMEDIATE`` transaction (see :meth:`transaction`).
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self._conn: sqlite3.Connection | None = None

    @property
    def conn(self) -> sqlite3.Connection:
        """The open connection, created (and migrated) on first use."""
        if self._conn is None:
            self._conn = self._open()
        return self._conn

    def _open(self) -> sqlite3.Connection:
        conn = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            if not self.path.exists():
                # SQLite gives its WAL and shm files the main file's mode. Never
                # open and close an existing store file outside SQLite: closing
                # any descriptor drops this process's POSIX locks on it, and
                # another process may then delete the WAL under our connection.
                with contextlib.suppress(FileExistsError):
                    os.close(os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_RDWR,
                                     0o600))
            conn = sqlite3.connect(self.path, isolation_level=None,
                                   timeout=BUSY_TIMEOUT_MS / 1000)
            conn.row_factory = sqlite3.Row
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrations.migrate(conn)
        except BaseException as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, sqlite3.DatabaseError):
                raise StoreError(
                    f"cannot open the store {self.path}: {exc}",
                    hint="check the file and its directory, or set NFV_STORE "
                         "to another path") from exc
            if isinstance(exc, OSError):
                raise StoreError(
                    f"cannot open the store {self.path}: {exc.strerror}",
                    hint="set NFV_STORE or NFV_DATA_DIR to a writable place") from exc
            raise
        return conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block as one write transaction; roll back on any error."""
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"the store {self.path} is busy: {exc}",
                             hint="another nfv process holds it; retry") from exc
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def schema_version(self) -> int:
        """The schema version of the open store."""
        return migrations._version(self.conn)

    def close(self) -> None:
        """Close the connection (it reopens on next use)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
