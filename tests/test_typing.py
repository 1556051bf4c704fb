"""mypy passes: --strict on nfvlib's public surface, plain on the rest (mypy.ini)."""

from __future__ import annotations

import importlib

from pathlib import Path


api = importlib.import_module("mypy.api")

REPO_ROOT = Path(__file__).resolve().parent.parent
#: The modules scripts import; checked with --strict.
PUBLIC = ["nfvlib/__init__.py", "nfvlib/client.py", "nfvlib/models.py",
          "nfvlib/exceptions.py", "nfvlib/backends.py", "nfvlib/config.py"]


def _mypy(*args: str) -> None:
    stdout, stderr, status = api.run(["--config-file", str(REPO_ROOT / "mypy.ini"),
                                      "--no-incremental", "--cache-dir", "/dev/null",
                                      *args])
    assert status == 0, stdout + stderr


def test_public_surface_is_strict(monkeypatch):
    monkeypatch.chdir(REPO_ROOT)
    _mypy("--strict", "--follow-imports", "silent", *PUBLIC)


def test_nfvlib_and_the_backend_protocols_type_check(monkeypatch):
    """Also checks tests/typing/backends_conform.py: every local and remote
    backend class is assignable to its protocol in nfvlib.backends."""
    monkeypatch.chdir(REPO_ROOT)
    _mypy()
