"""SQLite connection handling: WAL, busy timeout, one transaction per change.

Every SQLite error other than a constraint violation (which tables turn into
:class:`~nfvlib.exceptions.Conflict`) leaves the store as a one-line
:class:`~nfvlib.exceptions.StoreError`: the connection and its cursors
translate them where they happen (see :func:`store_error`).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Self, TypeVar, cast, overload

from nfvlib.exceptions import StoreError
from nfvlib.store import migrations

#: How long a writer waits for another process's transaction, in ms.
BUSY_TIMEOUT_MS = 10_000


def store_error(path: Path, exc: sqlite3.Error) -> StoreError:
    """A one-line :class:`StoreError` for an SQLite error on the store ``path``."""
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    lower = detail.lower()
    if "readonly" in lower or "read-only" in lower:
        return StoreError(f"the store {path} is read-only: {detail}",
                          hint="check the permissions of the file and its directory, "
                               "or set NFV_STORE to a writable store")
    if "locked" in lower or "busy" in lower:
        return StoreError(f"the store {path} is busy: {detail}",
                          hint="another nfv process holds it; retry")
    if "malformed" in lower or "not a database" in lower or "corrupt" in lower:
        return StoreError(f"the store {path} is damaged: {detail}",
                          hint="restore it from a backup, or set NFV_STORE to "
                               "another path")
    return StoreError(f"the store {path} failed: {detail}",
                      hint="check the file and its directory, or set NFV_STORE to "
                           "another path")


_CursorT = TypeVar("_CursorT", bound=sqlite3.Cursor)


class _Cursor(sqlite3.Cursor):
    """A cursor whose SQLite errors become StoreError, except integrity errors."""

    @contextlib.contextmanager
    def _translating(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.IntegrityError:
            raise
        except sqlite3.Error as exc:
            # Only _Connection.cursor makes _Cursor objects.
            conn = cast(_Connection, self.connection)
            raise store_error(conn.store_path, exc) from exc

    def execute(self, sql: str, parameters: Any = (), /) -> Self:  # noqa: D102
        with self._translating():
            return super().execute(sql, parameters)

    def executemany(self, sql: str, seq_of_parameters: Iterable[Any], /,  # noqa: D102
                    ) -> Self:
        with self._translating():
            return super().executemany(sql, seq_of_parameters)

    def executescript(self, sql_script: str, /) -> sqlite3.Cursor:  # noqa: D102
        with self._translating():
            return super().executescript(sql_script)

    def fetchone(self) -> Any:  # noqa: D102
        with self._translating():
            return super().fetchone()

    def fetchmany(self, size: int | None = 1) -> list[Any]:  # noqa: D102
        with self._translating():
            return super().fetchmany(size)

    def fetchall(self) -> list[Any]:  # noqa: D102
        with self._translating():
            return super().fetchall()

    def __next__(self) -> Any:
        with self._translating():
            return super().__next__()


class _Connection(sqlite3.Connection):
    """A connection whose statements raise StoreError (see the module's doc)."""

    store_path: Path = Path()

    @overload
    def cursor(self, factory: None = None) -> _Cursor: ...
    @overload
    def cursor(self, factory: Callable[[sqlite3.Connection], _CursorT]) -> _CursorT: ...

    def cursor(self,  # noqa: D102
               factory: Callable[[sqlite3.Connection], sqlite3.Cursor] | None = None,
               ) -> sqlite3.Cursor:
        return super().cursor(factory or _Cursor)

    def execute(self, sql: str, parameters: Any = (), /) -> _Cursor:  # noqa: D102
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Iterable[Any], /,  # noqa: D102
                    ) -> _Cursor:
        return self.cursor().executemany(sql, parameters)


class Store:
    """The embedded store, opened lazily on first use.

    Several processes may use one file at once: the journal is in WAL mode, a
    writer waits up to :data:`BUSY_TIMEOUT_MS` for another, and every change
    runs in one ``BEGIN IMMEDIATE`` transaction (see :meth:`transaction`).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
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
            if not os.access(self.path, os.W_OK):
                return self._open_read_only()
            conn = self._connect(str(self.path))
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            migrations.migrate(conn)
        except BaseException as exc:
            if conn is not None:
                conn.close()
            if isinstance(exc, StoreError):
                raise
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

    def _connect(self, target: str, *, uri: bool = False) -> sqlite3.Connection:
        conn = sqlite3.connect(target, isolation_level=None, uri=uri,
                               timeout=BUSY_TIMEOUT_MS / 1000, factory=_Connection)
        conn.store_path = self.path
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return conn

    def _open_read_only(self) -> sqlite3.Connection:
        """Open a store file this process may not write: reads work, writes fail.

        A WAL store needs its shared-memory file; where that cannot be made
        (a read-only directory), the file is read as immutable.
        """
        from urllib.parse import quote

        base = f"file:{quote(str(self.path.resolve()))}?mode=ro"
        for target in (base, base + "&immutable=1"):
            conn = self._connect(target, uri=True)
            try:
                version = migrations._version(conn)
            except StoreError as exc:
                conn.close()
                if "read-only" in str(exc) and "immutable" not in target:
                    continue
                raise
            if version < migrations.LATEST:
                conn.close()
                raise StoreError(
                    f"the store {self.path} is read-only and its schema (version "
                    f"{version}) needs an upgrade to {migrations.LATEST}",
                    hint="open it once with write access, or set NFV_STORE to "
                         "another store")
            return conn
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run the block as one write transaction; roll back on any error.

        SQLite errors (busy, read-only, damaged file, failed COMMIT) surface as
        one-line :class:`StoreError`; constraint violations keep their type.
        """
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            self._rollback(conn)
            raise
        try:
            conn.execute("COMMIT")
        except BaseException:  # e.g. busy, or a deferred constraint
            self._rollback(conn)
            raise

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        # The failure may have ended the transaction already.
        if conn.in_transaction:
            with contextlib.suppress(StoreError):
                conn.execute("ROLLBACK")

    def schema_version(self) -> int:
        """The schema version of the open store."""
        return migrations._version(self.conn)

    def close(self) -> None:
        """Close the connection (it reopens on next use)."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
