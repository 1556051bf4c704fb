"""mypy --strict passes on the whole of nfvlib (mypy.ini)."""

from __future__ import annotations

import importlib
from pathlib import Path


api = importlib.import_module("mypy.api")

REPO_ROOT = Path(__file__).resolve().parent.parent


def _mypy(*args: str) -> None:
    stdout, stderr, status = api.run(["--config-file", str(REPO_ROOT / "mypy.ini"),
                                      "--no-incremental", "--cache-dir", "/dev/null",
                                      *args])
    assert status == 0, stdout + stderr


def test_nfvlib_and_the_backend_protocols_pass_mypy_strict(monkeypatch):
    """mypy.ini makes every check --strict. Also checks
    tests/typing/backends_conform.py: every local and remote backend class is
    assignable to its protocol in nfvlib.backends."""
    monkeypatch.chdir(REPO_ROOT)
    _mypy()


def test_the_config_keeps_strict_on_and_relaxes_no_module():
    import configparser

    config = configparser.ConfigParser()
    config.read(REPO_ROOT / "mypy.ini")
    assert config.getboolean("mypy", "strict")
    relaxed = [name for name in config.sections() if name != "mypy"
               if config.has_option(name, "ignore_errors")
               or any(config.has_option(name, flag) for flag in (
                   "disallow_untyped_defs", "check_untyped_defs", "strict"))]
    assert relaxed == []
