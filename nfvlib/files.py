"""Files and directories nfvlib writes: readable by their owner only.

What nfvkit keeps (the store, vault keys, worker and service logs, the
sandbox's configurations, databases, state and pid files, VNF packages)
holds secrets or tells about them, so every directory it makes is 0700 and
every file 0600 (0700 for a file its owner may execute). The modes are set
explicitly after creation, so they do not depend on the process's umask,
and a directory or file an older nfvkit left more open is tightened when it
is used again.

Child processes that write into these directories (the sandbox's Keystone
and Heat) are started with :data:`PRIVATE_UMASK`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600
PRIVATE_EXECUTABLE = 0o700
#: The umask of child processes that write into nfvkit's directories.
PRIVATE_UMASK = 0o077


def private_dir(path: str | os.PathLike[str]) -> Path:
    """Make ``path`` a directory (with missing parents) that only its owner can use.

    Directories created here are 0700; ``path`` itself is set to 0700 even
    if it existed, when this user owns it (another user's directory, e.g. a
    shared cache, is used as it is). Parents that already existed are left
    as they are (they may be the user's home or a shared temporary
    directory).
    """
    path = Path(path)
    missing = []
    current = path
    while not current.is_dir():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            if not directory.is_dir():
                raise
        os.chmod(directory, PRIVATE_DIR)
    if path.stat().st_uid == os.geteuid():
        os.chmod(path, PRIVATE_DIR)
    return path


def private_file(path: str | os.PathLike[str]) -> Path:
    """Create ``path`` if missing and make it readable and writable by its owner only."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC,
                 PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path


def open_private(path: str | os.PathLike[str], *, append: bool = True) -> BinaryIO:
    """Open ``path`` for binary writing (appending by default), mode 0600."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC
    flags |= os.O_APPEND if append else os.O_TRUNC
    fd = os.open(path, flags, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        return os.fdopen(fd, "ab" if append else "wb")
    except BaseException:
        os.close(fd)
        raise


def write_private(path: str | os.PathLike[str], data: str | bytes,
                  mode: int = PRIVATE_FILE) -> Path:
    """Write ``data`` to ``path`` atomically: a private temporary file, fsynced, renamed.

    A reader sees the old content or the new one, never a part, and the
    file is never readable by others, not even for an instant.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
    try:
        os.fchmod(fd, mode)
        view = memoryview(data.encode() if isinstance(data, str) else data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    os.replace(tmp, path)
    return path


def make_private(path: str | os.PathLike[str]) -> None:
    """Set the mode of a file, or of a whole tree, to private.

    Directories become 0700; files 0700 if any execute bit was set (a
    lifecycle script), else 0600. Symbolic links are neither followed nor
    changed.
    """
    path = Path(path)
    if path.is_symlink():
        return
    if not path.is_dir():
        _private_mode(path, path.stat().st_mode)
        return
    os.chmod(path, PRIVATE_DIR)
    for root, dirs, names in os.walk(path):
        for name in dirs:
            target = os.path.join(root, name)
            if not os.path.islink(target):
                os.chmod(target, PRIVATE_DIR)
        for name in names:
            target = os.path.join(root, name)
            info = os.lstat(target)
            if stat.S_ISREG(info.st_mode):
                _private_mode(Path(target), info.st_mode)


def _private_mode(path: Path, mode: int) -> None:
    executable = mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    os.chmod(path, PRIVATE_EXECUTABLE if executable else PRIVATE_FILE)


def exposed(root: str | os.PathLike[str]) -> list[str]:
    """Paths under ``root`` (itself included) that group or others can read or enter.

    Symbolic links are skipped (their own mode means nothing on Linux).
    """
    found = []
    root = Path(root)
    for path in [root, *root.rglob("*")]:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            continue
        if info.st_mode & 0o077:
            found.append(f"{path} {stat.filemode(info.st_mode)}")
    return found


__all__ = ["private_dir", "private_file", "open_private", "write_private",
           "make_private", "exposed", "PRIVATE_UMASK"]
