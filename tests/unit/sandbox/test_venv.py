"""Virtualenv install-once logic with venvs that need no download."""

from __future__ import annotations

import threading
import time

import pytest

from nfvlib.exceptions import SandboxError
from nfvlib.sandbox.venv import MARKER, ensure_venv, venv_python


def test_builds_once_then_returns_at_once(tmp_path):
    log = tmp_path / "install.log"
    venv = ensure_venv(tmp_path / "cache", "tiny", [], None, log)
    assert venv == tmp_path / "cache" / "venvs" / "tiny"
    assert venv_python(venv).exists()
    marker = (venv / MARKER).stat()

    began = time.monotonic()
    assert ensure_venv(tmp_path / "cache", "tiny", [], None, log) == venv
    assert time.monotonic() - began < 0.05
    assert (venv / MARKER).stat().st_mtime_ns == marker.st_mtime_ns
    assert log.read_text().count("-m venv") == 1


def test_changed_pins_rebuild(tmp_path):
    pins = tmp_path / "pins.txt"
    pins.write_text("example==1.0\n")
    log = tmp_path / "install.log"
    venv = ensure_venv(tmp_path / "cache", "tiny", [], pins, log)
    (venv / "leftover").write_text("x")
    before = (venv / MARKER).read_text()

    pins.write_text("example==2.0\n")
    ensure_venv(tmp_path / "cache", "tiny", [], pins, log)
    assert not (venv / "leftover").exists()
    assert (venv / MARKER).read_text() != before


def test_half_built_venv_is_rebuilt(tmp_path):
    venv = tmp_path / "cache" / "venvs" / "tiny"
    venv.mkdir(parents=True)
    (venv / "junk").write_text("killed mid-install")
    ensure_venv(tmp_path / "cache", "tiny", [], None, tmp_path / "install.log")
    assert not (venv / "junk").exists()
    assert (venv / MARKER).exists()


def test_concurrent_installs_build_once(tmp_path):
    log = tmp_path / "install.log"
    results, errors = [], []

    def install():
        try:
            results.append(ensure_venv(tmp_path / "cache", "tiny", [], None, log))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=install) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors and len(set(results)) == 1 and len(results) == 3
    assert log.read_text().count("-m venv") == 1


def test_failed_step_is_named_with_its_log(tmp_path):
    log = tmp_path / "install.log"
    missing = str(tmp_path / "no-such-project")
    with pytest.raises(SandboxError) as caught:
        ensure_venv(tmp_path / "cache", "broken", [missing], None, log)
    assert str(caught.value).startswith(f"pip install {missing} failed")
    assert caught.value.log_path == str(log)
    assert "no-such-project" in log.read_text()
    assert not (tmp_path / "cache" / "venvs" / "broken" / MARKER).exists()


def test_unusable_cache_dir_is_a_sandbox_error(tmp_path):
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "venvs").write_text("a file, not a directory")
    with pytest.raises(SandboxError, match="venvs"):
        ensure_venv(tmp_path / "cache", "tiny", [], None, tmp_path / "install.log")
