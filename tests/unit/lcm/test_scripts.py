"""What lifecycle scripts and LCM workers leave behind: environment and log files."""

from __future__ import annotations

import os
import stat
import time
from types import SimpleNamespace

import pytest

from nfvlib.lcm import local, scripts
from nfvlib.models import OpState
from tests.unit.lcm.world import LEVEL_1, SAMPLE, make_world

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


# -- lifecycle scripts in the plans, for every event -------------------------------------
DUMP_SCRIPT = """#!/bin/sh
# Test hook: dumps its environment per event; fails or hangs on request.
set -eu
event="$1"
if [ -n "${NFV_PARAM_DUMP_DIR:-}" ]; then
    env > "$NFV_PARAM_DUMP_DIR/$event.env"
fi
echo "hook ran $event"
if [ "${NFV_PARAM_FAIL_EVENT:-}" = "$event" ]; then
    echo "hook failing $event on request" >&2
    exit 3
fi
if [ "${NFV_PARAM_HANG_EVENT:-}" = "$event" ]; then
    echo "hook hanging in $event"
    sleep 60
fi
"""
EVENTS = ("instantiate_start", "instantiate_end", "scale_start", "scale_end",
          "heal_start", "heal_end", "terminate_start", "terminate_end", "operate_start",
          "operate_end", "instantiate_rollback_start", "instantiate_rollback_end",
          "scale_rollback_start", "scale_rollback_end")


def hooked_package(tmp_path):
    """The sample package whose VNFD names the dump script for every event."""
    import shutil


    pkg = tmp_path / "hooked"
    shutil.copytree(SAMPLE, pkg)
    (pkg / "Scripts" / "lifecycle.sh").write_text(DUMP_SCRIPT)
    df = pkg / "Definitions" / "sample_vnf_df_simple.yaml"
    text = df.read_text()
    start = text.index("        Vnflcm:\n")
    end = text.index("      artifacts:\n")
    block = "        Vnflcm:\n" + "".join(
        f"          {e}:\n            implementation: lifecycle_script\n" for e in EVENTS)
    df.write_text(text[:start] + block + text[end:])
    return pkg


@pytest.fixture
def hooked(nfv_home, keystone, requests_mock, monkeypatch, tmp_path):
    world = make_world(requests_mock, monkeypatch, hooked_package(tmp_path))
    dump = tmp_path / "dump"
    dump.mkdir()
    world.dump = dump
    yield world
    world.services.close()


def dumped(world, event) -> dict:
    import json

    env = dict(line.split("=", 1) for line in
               (world.dump / f"{event}.env").read_text().splitlines() if "=" in line)
    for key in ("NFV_VNFCS", "NFV_VNFCS_ADDED", "NFV_VNFCS_REMOVED", "NFV_STACK_OUTPUTS",
                "NFV_ADDITIONAL_PARAMS"):
        env[key] = json.loads(env[key])
    return env


def _ids(vnfcs) -> set:
    return {c["id"] for c in vnfcs}


def test_every_event_gets_the_operations_parameters(hooked):
    w = hooked
    params = {"dump_dir": str(w.dump), "colour": "blue"}
    vnf = w.services.vnfs.create_vnf(w.vnfd_id, name="hooked-vnf")
    op = w.done(w.lcm.instantiate(vnf.id, {**LEVEL_1, "additionalParams": params}))
    assert op.state is OpState.COMPLETED, op.error
    vnf = w.services.vnfs.get_vnf(vnf.id)
    heat_ids = set(w.heat.servers(vnf.stack_name, "VDU1")) | set(
        w.heat.servers(vnf.stack_name, "VDU2"))

    start = dumped(w, "instantiate_start")
    assert start["NFV_LCM_EVENT"] == "instantiate_start"
    assert start["NFV_VNF_INSTANCE_ID"] == vnf.id
    assert start["NFV_VNF_INSTANCE_NAME"] == "hooked-vnf"
    assert start["NFV_OPERATION"] == "INSTANTIATE"
    assert start["NFV_OP_OCC_ID"] == op.id
    assert start["NFV_VIM_ID"] == vnf.vim_id and start["NFV_REGION"] == "RegionOne"
    assert start["NFV_FLAVOUR_ID"] == "simple"
    assert start["NFV_INSTANTIATION_LEVEL_ID"] == "instantiation_level_1"
    assert start["NFV_STACK_ID"] == "" and start["NFV_VNFCS"] == []
    assert start["NFV_PARAM_COLOUR"] == "blue"
    assert start["NFV_ADDITIONAL_PARAMS"] == params
    end = dumped(w, "instantiate_end")
    assert end["NFV_STACK_ID"] == vnf.stack_id
    assert _ids(end["NFV_VNFCS"]) == heat_ids == _ids(end["NFV_VNFCS_ADDED"])
    assert end["NFV_VNFCS_REMOVED"] == []
    assert "VDU2_CP2_address" in end["NFV_STACK_OUTPUTS"]
    # The journal keeps each script's exit code, duration and output.
    journal = {s.name: s.detail for s in op.steps}
    assert "exit 0 in" in journal["run instantiate_end script"]
    assert "hook ran instantiate_end" in journal["run instantiate_end script"]

    out = w.done(w.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale", additional_params=params))
    assert out.state is OpState.COMPLETED, out.error
    added = set(w.heat.servers(vnf.stack_name, "VDU1")) - heat_ids
    assert len(added) == 1
    s_start, s_end = dumped(w, "scale_start"), dumped(w, "scale_end")
    assert (s_start["NFV_SCALE_TYPE"], s_start["NFV_ASPECT_ID"],
            s_start["NFV_NUMBER_OF_STEPS"]) == ("SCALE_OUT", "VDU1_scale", "1")
    assert s_start["NFV_VNFCS_ADDED"] == [] and s_start["NFV_VNFCS_REMOVED"] == []
    assert _ids(s_end["NFV_VNFCS_ADDED"]) == added
    assert {c["vduId"] for c in s_end["NFV_VNFCS_ADDED"]} == {"VDU1"}

    inn = w.done(w.lcm.scale(vnf.id, "SCALE_IN", "VDU1_scale", additional_params=params))
    assert inn.state is OpState.COMPLETED, inn.error
    assert _ids(dumped(w, "scale_start")["NFV_VNFCS_REMOVED"]) == added
    assert _ids(dumped(w, "scale_end")["NFV_VNFCS_REMOVED"]) == added

    vdu2 = w.heat.servers(vnf.stack_name, "VDU2")
    heal = w.done(w.lcm.heal(vnf.id, vnfc_instance_ids=vdu2, additional_params=params))
    assert heal.state is OpState.COMPLETED, heal.error
    assert _ids(dumped(w, "heal_start")["NFV_VNFCS_REMOVED"]) == set(vdu2)
    h_end = dumped(w, "heal_end")
    assert _ids(h_end["NFV_VNFCS_REMOVED"]) == set(vdu2)
    assert _ids(h_end["NFV_VNFCS_ADDED"]) == set(w.heat.servers(vnf.stack_name, "VDU2"))

    stop = w.done(w.lcm.operate(vnf.id, "STOPPED", additional_params=params))
    assert stop.state is OpState.COMPLETED, stop.error
    assert dumped(w, "operate_start")["NFV_CHANGE_STATE_TO"] == "STOPPED"
    assert dumped(w, "operate_end")["NFV_OPERATION"] == "OPERATE"
    w.done(w.lcm.operate(vnf.id, "STARTED", additional_params=params))

    term = w.done(w.lcm.terminate(vnf.id, "FORCEFUL"))
    assert term.state is OpState.COMPLETED, term.error


def test_a_failing_script_fails_the_step_naming_it_its_exit_code_and_output(hooked):
    w = hooked
    vnf = w.services.vnfs.create_vnf(w.vnfd_id)
    op = w.done(w.lcm.instantiate(vnf.id, {**LEVEL_1, "additionalParams": {
        "fail_event": "instantiate_end"}}))
    assert op.state is OpState.FAILED_TEMP
    detail = op.error["detail"]
    assert "lifecycle.sh (instantiate_end) exited 3" in detail
    assert "hook failing instantiate_end on request" in detail
    assert op.steps[op.current_step].name == "run instantiate_end script"


def test_a_hanging_script_is_stopped_and_fails_the_step(hooked, monkeypatch):
    import time

    monkeypatch.setattr(scripts, "SCRIPT_TIMEOUT", 0.5)
    w = hooked
    vnf = w.services.vnfs.create_vnf(w.vnfd_id)
    began = time.monotonic()
    op = w.done(w.lcm.instantiate(vnf.id, {**LEVEL_1, "additionalParams": {
        "hang_event": "instantiate_start"}}))
    assert time.monotonic() - began < 10  # not the script's 60 s sleep
    assert op.state is OpState.FAILED_TEMP
    assert "lifecycle.sh (instantiate_start) ran longer than 0.5 s" in op.error["detail"]
    assert "hook hanging in instantiate_start" in op.error["detail"]


def test_scale_out_rollback_runs_the_rollback_scripts_with_the_vnfcs_removed(hooked):
    w = hooked
    vnf = w.services.vnfs.create_vnf(w.vnfd_id)
    assert w.done(w.lcm.instantiate(vnf.id, LEVEL_1)).state is OpState.COMPLETED
    vnf = w.services.vnfs.get_vnf(vnf.id)
    before = set(w.heat.servers(vnf.stack_name, "VDU1"))
    failed = w.done(w.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale", additional_params={
        "fail_event": "scale_end", "dump_dir": str(w.dump)}))
    assert failed.state is OpState.FAILED_TEMP
    added = set(w.heat.servers(vnf.stack_name, "VDU1")) - before
    assert len(added) == 1
    rolled = w.done(w.lcm.rollback(failed.id))
    assert rolled.state is OpState.ROLLED_BACK, rolled.error
    assert set(w.heat.servers(vnf.stack_name, "VDU1")) == before
    r_start = dumped(w, "scale_rollback_start")
    assert _ids(r_start["NFV_VNFCS_REMOVED"]) == added
    vdu1_now = {c["id"] for c in r_start["NFV_VNFCS"] if c["vduId"] == "VDU1"}
    assert vdu1_now == before | added  # still there when it runs
    r_end = dumped(w, "scale_rollback_end")
    assert _ids(r_end["NFV_VNFCS_REMOVED"]) == added
    assert {c["id"] for c in r_end["NFV_VNFCS"] if c["vduId"] == "VDU1"} == before


def test_instantiate_rollback_scripts_get_every_vnfc_as_removed(hooked):
    w = hooked
    vnf = w.services.vnfs.create_vnf(w.vnfd_id)
    failed = w.done(w.lcm.instantiate(vnf.id, {**LEVEL_1, "additionalParams": {
        "fail_event": "instantiate_end", "dump_dir": str(w.dump)}}))
    assert failed.state is OpState.FAILED_TEMP
    vnf = w.services.vnfs.get_vnf(vnf.id)
    created = set(w.heat.servers(vnf.stack_name, "VDU1")) | set(
        w.heat.servers(vnf.stack_name, "VDU2"))
    rolled = w.done(w.lcm.rollback(failed.id))
    assert rolled.state is OpState.ROLLED_BACK, rolled.error
    assert _ids(dumped(w, "instantiate_rollback_start")["NFV_VNFCS_REMOVED"]) == created
    end = dumped(w, "instantiate_rollback_end")
    assert _ids(end["NFV_VNFCS_REMOVED"]) == created and end["NFV_VNFCS"] == []


# -- the standby worker ------------------------------------------------------------------

class _FakePopen:
    """A started process: its argv, and its stdin as bytes written."""

    def __init__(self, argv, **kwargs):
        import io

        self.argv = argv
        self.alive = True
        self.stdin = io.BytesIO() if kwargs.get("stdin") == local.subprocess.PIPE else None
        self.written = b""
        if self.stdin is not None:
            real_close = self.stdin.close

            def close():
                self.written = self.stdin.getvalue()
                real_close()
            self.stdin.close = close
        _FakePopen.started.append(self)

    def poll(self):
        return None if self.alive else 0


def test_a_standby_worker_takes_the_next_operation(tmp_path, monkeypatch):
    _FakePopen.started = []
    monkeypatch.setattr(local.subprocess, "Popen", _FakePopen)
    spawn = local.detached_spawner(tmp_path / "s", tmp_path / "k", tmp_path / "w",
                                   standby=True)
    spawn("op-1")
    cold, standby = _FakePopen.started
    assert cold.argv[-1] == "op-1" and "--standby" in standby.argv
    spawn("op-2")  # handed over: no new process for op-2, a new standby
    assert len(_FakePopen.started) == 3 and "--standby" in _FakePopen.started[2].argv
    assert standby.written == b"op-2\n"
    _FakePopen.started[2].alive = False  # died: the next operation starts its own
    spawn("op-3")
    assert _FakePopen.started[3].argv[-1] == "op-3"
    last = _FakePopen.started[-1]
    spawn.close()
    assert last.stdin.closed and last.written == b""


def test_without_standby_each_operation_starts_its_worker(tmp_path, monkeypatch):
    _FakePopen.started = []
    monkeypatch.setattr(local.subprocess, "Popen", _FakePopen)
    spawn = local.detached_spawner(tmp_path / "s", tmp_path / "k", tmp_path / "w")
    spawn("op-1")
    spawn("op-2")
    assert [p.argv[-1] for p in _FakePopen.started] == ["op-1", "op-2"]


def test_waiting_wakes_when_the_worker_exits(tmp_path):
    """A worker's exit closes the pipe it inherited: a wait's pause ends then,
    not at its end; once it has ended, pauses are slept as usual."""
    import sys

    spawn = local.detached_spawner(tmp_path / "s", tmp_path / "k", tmp_path / "w")
    spawn._argv = [sys.executable, "-c", "import sys, time; time.sleep(0.2)"]
    spawn("op-1")
    slept = []
    sleep = spawn.sleeper("op-1", slept.append)
    began = time.monotonic()
    sleep(60)
    assert time.monotonic() - began < 30 and slept == []
    sleep(0.5)
    assert slept == [0.5]  # ended: the fallback sleeps
    spawn.sleeper("op-unknown", slept.append)(0.25)
    assert slept == [0.5, 0.25]
    spawn.close()


def test_pipes_of_workers_nobody_waited_for_are_closed(tmp_path):
    import sys

    spawn = local.detached_spawner(tmp_path / "s", tmp_path / "k", tmp_path / "w")
    spawn._argv = [sys.executable, "-c", "pass"]
    spawn("op-1")
    spawn.sleeper("op-1", lambda _s: None)(60)  # until op-1's worker has exited
    spawn._argv = [sys.executable, "-c", "import time; time.sleep(5)"]
    spawn("op-2")
    spawn._argv = [sys.executable, "-c", "pass"]
    spawn("op-3")
    assert set(spawn._ends) == {"op-2", "op-3"}
    spawn.close()
    assert spawn._ends == {}


def _standby_worker(tmp_path):
    import subprocess
    import sys

    import nfvlib

    client = nfvlib.Client(paths=nfvlib.Paths.from_env(data_dir=tmp_path / "data"))
    assert client.store.schema_version() > 0  # a migrated store
    client.close()
    logs = tmp_path / "logs"
    logs.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nfvlib.lcm.worker", "--store",
         str(client.paths.store_file), "--key-dir", str(client.paths.key_dir),
         "--standby", "--log-dir", str(logs)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return proc, logs


def test_the_standby_worker_runs_the_id_it_reads_and_logs_to_its_file(tmp_path):
    proc, logs = _standby_worker(tmp_path)
    out, _ = proc.communicate(b"no-such-op\n", timeout=60)
    assert out == b""  # everything went to the occurrence's log
    assert "no-such-op" in (logs / "no-such-op.log").read_text()
    assert stat.S_IMODE(os.stat(logs / "no-such-op.log").st_mode) == 0o600


def test_a_standby_worker_whose_spawner_goes_away_exits(tmp_path):
    proc, logs = _standby_worker(tmp_path)
    out, _ = proc.communicate(b"", timeout=60)
    assert (proc.returncode, out, list(logs.iterdir())) == (0, b"", [])
