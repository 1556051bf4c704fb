"""The sandbox's files are private whatever the umask: logs, pid files, state, configs,
and what its services write themselves."""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path

import pytest

from nfvlib import files
from nfvlib.sandbox import process
from nfvlib.sandbox.heat import HeatService
from nfvlib.sandbox.keystone import KeystoneService, _copy_atomic


@pytest.fixture
def open_umask():
    old = os.umask(0)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_a_detached_service_and_what_it_writes_are_private(tmp_path, open_umask):
    state = tmp_path / "sandbox" / "svc"
    code = ("import sqlite3; sqlite3.connect('db.sqlite').execute('create table t (x)'); "
            "open('written', 'w').write('x'); print('ready', flush=True); "
            "import time; time.sleep(60)")
    pid = process.start_detached([sys.executable, "-c", code], env=None, cwd=tmp_path,
                                 log_path=state / "svc.log", pid_file=state / "svc.pid")
    try:
        deadline = time.monotonic() + 10
        while "ready" not in (state / "svc.log").read_text():
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        process.stop(state / "svc.pid")
    assert not process.pid_alive(pid)
    assert mode(tmp_path / "written") == 0o600
    assert mode(tmp_path / "db.sqlite") == 0o600
    assert mode(tmp_path / "sandbox") == mode(state) == 0o700
    assert mode(state / "svc.log") == 0o600
    assert files.exposed(tmp_path / "sandbox") == []


def test_pid_and_state_files_and_locks_are_private(tmp_path, open_umask):
    process.write_atomic(tmp_path / "state.json", "{}")
    with process.file_lock(tmp_path / "locks" / ".lock", 1, "busy"):
        pass
    assert mode(tmp_path / "state.json") == 0o600
    assert mode(tmp_path / "locks") == 0o700
    assert mode(tmp_path / "locks" / ".lock") == 0o600


def test_heat_conf_state_and_lock_dir_are_private(tmp_path, open_umask):
    heat = HeatService(tmp_path / "sandbox" / "heat", tmp_path / "cache")
    state = heat._ensure_state()
    files.private_dir(heat.lock_dir)
    heat._write_conf(tmp_path / "venv", state["auth_encryption_key"])
    assert files.exposed(tmp_path / "sandbox") == []
    assert {p.name for p in heat.state_dir.iterdir()} >= {"heat.conf", "heat.json"}


def test_keystone_state_log_and_copied_database_are_private(tmp_path, open_umask):
    keystone = KeystoneService(tmp_path / "sandbox" / "keystone", tmp_path / "cache")
    keystone._save_state({"port": 5000})
    template = tmp_path / "template.sqlite"
    template.write_bytes(b"SQLite format 3\0")
    os.chmod(template, 0o644)
    _copy_atomic(template, keystone.db_file)
    procs = []
    keystone._spawn([sys.executable, "-c", "open('keystone-owned', 'w')", "x"], procs)
    assert procs[0].wait(timeout=30) == 0
    assert files.exposed(tmp_path / "sandbox") == []
    assert mode(keystone.state_dir / "keystone-owned") == 0o600
    assert keystone.db_file.read_bytes() == template.read_bytes()
