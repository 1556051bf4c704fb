"""What lifecycle scripts and LCM workers leave behind: environment and log files."""

from __future__ import annotations

import os
import stat
from types import SimpleNamespace

import pytest

from nfvlib.lcm import local, scripts

PRINT_ENV = "#!/bin/sh\nenv\n"


@pytest.fixture
def package(tmp_path):
    directory = tmp_path / "pkg"
    (directory / "Scripts").mkdir(parents=True)
    (directory / "Scripts" / "env.sh").write_text(PRINT_ENV)
    return directory


def run_env_script(package, params) -> dict[str, str]:
    script = SimpleNamespace(file="Scripts/env.sh",
                             artifact_type="tosca.artifacts.Implementation.Bash")
    out = scripts.run_script(package, script, "instantiate_start", params)
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def test_scripts_see_only_nfv_variables_and_a_few_basics(package, monkeypatch):
    monkeypatch.setenv("OS_PASSWORD", "caller-cloud-password")
    monkeypatch.setenv("OS_AUTH_TOKEN", "caller-token")
    monkeypatch.setenv("SOMETHING_ELSE", "caller-value")
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.setenv("PATH", os.environ.get("PATH", "/usr/bin:/bin"))
    env = run_env_script(package, {"vnf_instance_id": "vnf-1",
                                   "additional_params": {"k": "v"}})
    assert env["NFV_VNF_INSTANCE_ID"] == "vnf-1"
    assert env["NFV_ADDITIONAL_PARAMS"] == '{"k": "v"}'
    assert env["NFV_LCM_EVENT"] == "instantiate_start"
    assert env["LANG"] == "C.UTF-8" and env["PATH"] == os.environ["PATH"]
    assert "OS_PASSWORD" not in env and "OS_AUTH_TOKEN" not in env
    assert "SOMETHING_ELSE" not in env
    assert "caller-cloud-password" not in "\n".join(f"{k}={v}" for k, v in env.items())
    # Only the documented names (sh itself may add PWD, SHLVL and _).
    shell_own = {"PWD", "SHLVL", "_", "OLDPWD"}
    assert set(env) - shell_own <= {n for n in env if n.startswith("NFV_")} | set(
        scripts.INHERITED)


def test_worker_log_file_is_0600_and_its_directory_0700(tmp_path, monkeypatch):
    started = []

    class Popen:
        def __init__(self, argv, **kwargs):
            started.append((argv, kwargs))

    monkeypatch.setattr(local.subprocess, "Popen", Popen)
    log_dir = tmp_path / "data" / "workers"
    old = os.umask(0)  # the modes must not depend on the caller's umask
    try:
        local.detached_spawner(tmp_path / "nfv.sqlite", tmp_path / "keys", log_dir)("op-1")
    finally:
        os.umask(old)
    assert len(started) == 1
    assert stat.S_IMODE(os.stat(log_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(log_dir / "op-1.log").st_mode) == 0o600


def test_an_existing_open_log_directory_is_tightened(tmp_path, monkeypatch):
    monkeypatch.setattr(local.subprocess, "Popen", lambda *a, **k: None)
    log_dir = tmp_path / "workers"
    log_dir.mkdir(mode=0o755)
    log_dir.chmod(0o755)
    (log_dir / "op-2.log").write_text("old line\n")
    (log_dir / "op-2.log").chmod(0o644)
    local.detached_spawner(tmp_path / "s", tmp_path / "k", log_dir)("op-2")
    assert stat.S_IMODE(os.stat(log_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(log_dir / "op-2.log").st_mode) == 0o600
    assert (log_dir / "op-2.log").read_text() == "old line\n"
