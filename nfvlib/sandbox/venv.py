"""Pinned virtualenvs for the sandbox services, installed once per cache.

``<cache_dir>/venvs/<name>`` is built in place and a marker file holding a
digest of the interpreter, the requirements and the constraints is written
last. A venv whose marker is missing or differs (an install was killed, or a
pin changed) is deleted and built again. The venv is not built elsewhere and
renamed: its scripts carry the absolute path of its interpreter in their
shebang lines. An exclusive ``flock`` on ``<cache_dir>/venvs/.<name>.lock``
keeps two processes from building the same venv at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from contextlib import AbstractContextManager
from pathlib import Path

from nfvlib.exceptions import SandboxError

MARKER = ".nfv-installed"
LOCK_TIMEOUT = 1200.0
VENV_TIMEOUT = 300.0
PIP_TIMEOUT = 1200.0


def venv_python(venv: Path) -> Path:
    """The interpreter of ``venv``."""
    return venv / "bin" / "python"


def venv_digest(requirements: list[str], constraints_file: Path | None) -> str:
    """Digest of everything that decides what a venv contains."""
    payload = {
        "python": [os.path.realpath(sys.executable), list(sys.version_info[:3])],
        "requirements": list(requirements),
        "constraints": (constraints_file.read_text()
                        if constraints_file is not None else None),
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def is_installed(venv: Path, digest: str) -> bool:
    """True if ``venv`` was completely installed with ``digest``."""
    try:
        return ((venv / MARKER).read_text().strip() == digest
                and venv_python(venv).exists())
    except OSError:
        return False


def _locked(lock_path: Path, timeout: float) -> AbstractContextManager[None]:
    from nfvlib.sandbox.process import file_lock

    return file_lock(lock_path, timeout, "another install of this virtualenv is running")


def _run(step: str, argv: list[str], log_path: Path, timeout: float) -> None:
    """Run one install step with its output appended to ``log_path``."""
    from nfvlib.files import open_private

    with open_private(log_path) as log:
        log.write(f"\n$ {' '.join(argv)}\n".encode())
        log.flush()
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log,
                                  stderr=subprocess.STDOUT, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise SandboxError(f"{step} timed out after {timeout:g} s",
                               hint=f"see {log_path}",
                               log_path=str(log_path)) from exc
        except OSError as exc:
            raise SandboxError(f"{step} failed: {exc.strerror}",
                               log_path=str(log_path)) from exc
    if done.returncode != 0:
        raise SandboxError(f"{step} failed (exit {done.returncode})",
                           hint=f"see {log_path}", log_path=str(log_path))


def ensure_venv(cache_dir: Path, name: str, requirements: list[str],
                constraints_file: Path | None, log_path: Path) -> Path:
    """Return ``<cache_dir>/venvs/<name>``, installing it first if needed.

    ``requirements`` are pip requirement strings installed with
    ``-c constraints_file``. A venv already installed with the same
    interpreter, requirements and constraints is returned at once; otherwise
    it is rebuilt from scratch. pip's output goes to ``log_path``. Raises
    SandboxError naming the failed step and the log.
    """
    venvs = Path(cache_dir) / "venvs"
    venv = venvs / name
    digest = venv_digest(requirements, constraints_file)
    if is_installed(venv, digest):
        return venv
    from nfvlib.files import private_dir

    log_path = Path(log_path)
    private_dir(log_path.parent)
    # The virtualenvs keep pip's file modes: they hold only public packages
    # from PyPI, and the cache may be shared (NFV_CACHE_DIR).
    with _locked(venvs / f".{name}.lock", LOCK_TIMEOUT):
        if is_installed(venv, digest):
            return venv
        if venv.exists():
            shutil.rmtree(venv)
        create = [sys.executable, "-m", "venv"]
        if not requirements:
            create.append("--without-pip")
        _run(f"python3 -m venv {venv}", create + [str(venv)], log_path,
             VENV_TIMEOUT)
        if requirements:
            pip = [str(venv_python(venv)), "-m", "pip", "install",
                   "--disable-pip-version-check", "--no-input",
                   "--progress-bar", "off"]
            if constraints_file is not None:
                pip += ["-c", str(constraints_file)]
            _run(f"pip install {' '.join(requirements)}", pip + list(requirements),
                 log_path, PIP_TIMEOUT)
        tmp = venv / f"{MARKER}.tmp"
        tmp.write_text(digest + "\n")
        os.replace(tmp, venv / MARKER)
    return venv
