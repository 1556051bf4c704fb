"""The fernet vault: one key file per VIM password.

Key files live in one directory created 0700; each file is 0600, written
atomically (temp file, fsync, rename, fsync of the directory), and named by a
random key id that the VIM's store row records. A key file that group or
others can read is refused. Decryption happens only when a session to the VIM
is built.

Crash safety comes from ordering, never from deleting first: a new key file
is durable before any row points at it, and an old key file is removed only
after the row that used it has been committed. The worst a crash leaves is
an unreferenced key file, which :meth:`Vault.orphans` lists.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from nfvlib.exceptions import VaultError


class Vault:
    """Encrypts and decrypts secrets with per-key Fernet key files."""

    def __init__(self, key_dir: str | os.PathLike) -> None:
        self.key_dir = Path(key_dir)

    # -- keys ---------------------------------------------------------------
    def new_key(self) -> str:
        """Create a durable new key file and return its id."""
        import uuid

        from cryptography.fernet import Fernet

        self._ensure_dir()
        key_id = uuid.uuid4().hex
        self._write_atomic(self._path(key_id), Fernet.generate_key())
        return key_id

    def delete_key(self, key_id: str) -> None:
        """Remove a key file; a missing one is not an error."""
        try:
            self._path(key_id).unlink()
        except FileNotFoundError:
            return
        self._fsync_dir()

    def key_ids(self) -> set[str]:
        """Ids of every key file in the directory."""
        if not self.key_dir.is_dir():
            return set()
        return {p.name[:-4] for p in self.key_dir.glob("*.key")}

    def orphans(self, referenced: set[str]) -> set[str]:
        """Key files no VIM refers to (left by a crash mid-change)."""
        return self.key_ids() - set(referenced)

    # -- secrets ------------------------------------------------------------
    def encrypt(self, key_id: str, secret: str) -> str:
        """Encrypt ``secret`` with the key ``key_id``; return the token."""
        return self._fernet(key_id).encrypt(secret.encode()).decode()

    def decrypt(self, key_id: str, token: str) -> str:
        """Decrypt a token made by :meth:`encrypt` with the same key."""
        from cryptography.fernet import InvalidToken

        try:
            return self._fernet(key_id).decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise VaultError(
                f"key {key_id} in {self.key_dir} does not decrypt the stored "
                "password",
                hint="the key file was replaced; re-enter the password with "
                     "'nfv vim set VIM --config-file FILE'") from exc

    # -- internals ----------------------------------------------------------
    def _path(self, key_id: str) -> Path:
        if not key_id or "/" in key_id or key_id.startswith("."):
            raise VaultError(f"invalid key id {key_id!r}")
        return self.key_dir / f"{key_id}.key"

    def _fernet(self, key_id: str):
        from cryptography.fernet import Fernet

        path = self._path(key_id)
        try:
            st = path.stat()
        except FileNotFoundError as exc:
            raise VaultError(
                f"key file {path} is missing",
                hint="restore it from a backup, or re-enter the password with "
                     "'nfv vim set VIM --config-file FILE'") from exc
        if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise VaultError(
                f"key file {path} is readable by group or others "
                f"(mode {stat.S_IMODE(st.st_mode):04o})",
                hint=f"run 'chmod 600 {path}'")
        try:
            return Fernet(path.read_bytes().strip())
        except ValueError as exc:
            raise VaultError(f"key file {path} is not a Fernet key",
                             hint="restore it from a backup") from exc

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
            os.replace(tmp, path)
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
