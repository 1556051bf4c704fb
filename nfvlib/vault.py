"""The fernet vault: one key file per VIM password.

Key files live in one directory created 0700; each file is 0600, written
atomically (temp file, fsync, rename, fsync of the directory), and named by a
random key id that the VIM's store row records. A key file that group or
others can read is refused. Decryption happens only when a session to the VIM
is built.

Crash safety comes from ordering, never from deleting first: a new key file
is durable before any row points at it, and an old key file is removed only
after the row that used it has been committed.

Key files belong to the store that created them. A vault given a *ledger*
(the store's ``vault_keys`` table, :class:`nfvlib.store.vims.VaultKeyTable`)
records each new key id there BEFORE writing its file, and forgets it only
AFTER removing the file, so a crash leaves at worst a recorded key whose
file is missing, never a file no store owns. :meth:`Vault.orphans` lists only
keys the ledger recorded: several stores may share one key directory, and a
store never deletes a key it did not create.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from nfvlib.exceptions import VaultError

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

#: Purpose of the key of one VIM password.
VIM_PURPOSE = "vim"


class KeyLedger(Protocol):
    """Where a store records the key ids it created (see the module's doc)."""

    def record(self, key_id: str, purpose: str) -> None: ...
    def forget(self, key_id: str) -> None: ...
    def recorded(self, purpose: str) -> dict[str, float]: ...
    def key_for(self, purpose: str, new_id: str) -> str: ...


class Vault:
    """Encrypts and decrypts secrets with per-key Fernet key files."""

    def __init__(self, key_dir: str | os.PathLike[str],
                 ledger: KeyLedger | None = None) -> None:
        self.key_dir = Path(key_dir)
        self.ledger = ledger

    def with_ledger(self, ledger: KeyLedger) -> Vault:
        """The same key directory, with keys recorded in ``ledger``."""
        return Vault(self.key_dir, ledger)

    # -- keys ---------------------------------------------------------------
    def new_key(self, purpose: str = VIM_PURPOSE) -> str:
        """Create a durable new key file and return its id.

        With a ledger, the id is recorded (committed) before the file exists.
        """
        import uuid

        self._ensure_dir()
        key_id = uuid.uuid4().hex
        if self.ledger is not None:
            self.ledger.record(key_id, purpose)
        self._create(key_id)
        return key_id

    def key_for(self, purpose: str) -> str:
        """The ledger's one key for ``purpose``, created on first use."""
        import uuid

        if self.ledger is None:
            raise VaultError(f"a {purpose} key needs a store to record it")
        self._ensure_dir()
        key_id = self.ledger.key_for(purpose, uuid.uuid4().hex)
        if not self._path(key_id).exists():
            # Recorded but missing: first use, or a crash after recording.
            self._create(key_id)
        return key_id

    def delete_key(self, key_id: str) -> None:
        """Remove a key file (a missing one is not an error), then forget it."""
        try:
            self._path(key_id).unlink()
        except FileNotFoundError:
            pass
        else:
            self._fsync_dir()
        if self.ledger is not None:
            self.ledger.forget(key_id)

    def key_ids(self) -> set[str]:
        """Ids of every key file in the directory."""
        if not self.key_dir.is_dir():
            return set()
        return {p.name[:-4] for p in self.key_dir.glob("*.key")}

    def orphans(self, referenced: set[str], purpose: str = VIM_PURPOSE,
                min_age: float = 0.0) -> set[str]:
        """Keys of ``purpose`` this vault's ledger recorded that nothing refers to.

        Such keys are left by a crash mid-change. A key is an orphan only when
        its file (or, if the file is missing, its record) is older than
        ``min_age`` seconds: a younger one may belong to a change in flight.
        Without a ledger nothing is known to be ours, so nothing is an orphan.
        """
        import time

        if self.ledger is None:
            return set()
        cutoff = time.time() - min_age
        found = set()
        for key_id, recorded_at in self.ledger.recorded(purpose).items():
            if key_id in referenced:
                continue
            try:
                born = self._path(key_id).stat().st_mtime
            except FileNotFoundError:
                born = recorded_at
            except VaultError:  # an id that is not a file name: never ours
                continue
            if born <= cutoff:
                found.add(key_id)
        return found

    # -- secrets ------------------------------------------------------------
    def encrypt(self, key_id: str, secret: str) -> str:
        """Encrypt ``secret`` with the key ``key_id``; return the token."""
        return self._fernet(key_id).encrypt(secret.encode()).decode()

    def decrypt(self, key_id: str, token: str, *, what: str = "the stored password",
                hint: str = "re-enter the password with "
                            "'nfv vim set VIM --config-file FILE'") -> str:
        """Decrypt a token made by :meth:`encrypt` with the same key.

        A token that does not match its key (either was altered or replaced)
        is a :class:`VaultError` saying ``what`` cannot be decrypted.
        """
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet(key_id).decrypt(token.encode()).decode()
        except (InvalidToken, UnicodeError) as exc:
            raise VaultError(f"{what} cannot be decrypted: it does not match its key "
                             f"{key_id} in {self.key_dir} (the stored value or the "
                             "key file was altered)", hint=hint) from exc

    # -- internals ----------------------------------------------------------
    def _path(self, key_id: str) -> Path:
        if not key_id or "/" in key_id or key_id.startswith("."):
            raise VaultError(f"invalid key id {key_id!r}")
        return self.key_dir / f"{key_id}.key"

    def _fernet(self, key_id: str) -> Fernet:
        from cryptography.fernet import Fernet

        path = self._path(key_id)
        try:
            # One open: the mode checked is that of the bytes read, and a
            # rotation deleting the file meanwhile cannot fail the read.
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError as exc:
            raise VaultError(
                f"key file {path} is missing",
                hint="restore it from a backup, or re-enter the password with "
                     "'nfv vim set VIM --config-file FILE'") from exc
        with os.fdopen(fd, "rb") as key_file:
            st = os.fstat(key_file.fileno())
            if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise VaultError(
                    f"key file {path} is readable by group or others "
                    f"(mode {stat.S_IMODE(st.st_mode):04o})",
                    hint=f"run 'chmod 600 {path}'")
            data = key_file.read()
        try:
            return Fernet(data.strip())
        except ValueError as exc:
            raise VaultError(f"key file {path} is not a Fernet key",
                             hint="restore it from a backup") from exc

    def _create(self, key_id: str) -> None:
        from cryptography.fernet import Fernet

        self._write_atomic(self._path(key_id), Fernet.generate_key())

    def _ensure_dir(self) -> None:
        try:
            self.key_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise VaultError(
                f"cannot create the key directory {self.key_dir}: {exc.strerror}",
                hint="set NFV_KEY_DIR to a writable directory") from exc
        mode = stat.S_IMODE(self.key_dir.stat().st_mode)
        if mode & 0o077:
            os.chmod(self.key_dir, 0o700)

    def _write_atomic(self, path: Path, data: bytes) -> None:
        import tempfile

        try:
            fd, tmp = tempfile.mkstemp(dir=self.key_dir, prefix=".tmp-")
        except OSError as exc:
            raise VaultError(f"cannot write a key file in {self.key_dir}: "
                             f"{exc.strerror}") from exc
        try:
            try:
                os.fchmod(fd, 0o600)
                view = memoryview(data)
                while view:
                    written = os.write(fd, view)
                    view = view[written:]
                os.fsync(fd)
            finally:
                os.close(fd)
            # link, not rename: an existing key file (another process made the
            # same store-recorded key first) is never replaced.
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            os.unlink(tmp)
        except BaseException as exc:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            if isinstance(exc, OSError):
                raise VaultError(f"cannot write key file {path}: {exc.strerror}",
                                 hint="check free space and quotas") from exc
            raise
        self._fsync_dir()

    def _fsync_dir(self) -> None:
        fd = os.open(self.key_dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
