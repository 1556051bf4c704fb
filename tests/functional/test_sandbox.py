"""The sandbox VIM as a whole: lifecycle, the VIM it registers, Heat through
the normal driver in region two, fault injection, and the `nfv sandbox`
commands on a second, independent data directory."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from contextlib import closing, contextmanager
from pathlib import Path

import pytest

import nfvlib
from nfvlib.config import Paths
from nfvlib import VimUnreachable
from nfvlib.heat import HeatClient, HeatError
from nfvlib.models import VimStatus
from nfvlib.sandbox import process
from nfvlib.sandbox.manager import Sandbox
from tests.functional.templates import GROUP_TEMPLATE, VDU_TEMPLATE

STACK_TIMEOUT = 180.0
CLI_TIMEOUT = 120.0
UP_TIMEOUT = 600.0  # a first start may install the virtualenvs




# --- support ----------------------------------------------------------------

def cli_env() -> dict[str, str]:
    """The caller's environment, without overrides that would share files."""
    env = dict(os.environ)
    for var in ("NFV_DATA_DIR", "NFV_STORE", "NFV_KEY_DIR", "OS_NFV_MODE"):
        env.pop(var, None)
    return env


def nfv(data_dir: Path, *argv: str, timeout: float = CLI_TIMEOUT):
    """Run `nfv --data-dir DATA_DIR ARGV...`; return (exit code, stdout, stderr)."""
    proc = subprocess.run(
        [sys.executable, "-m", "nfvcli.shell", "--data-dir", str(data_dir), *argv],
        capture_output=True, text=True, env=cli_env(), timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def port_of(url: str) -> int:
    return int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


def group_members(pgid: int) -> list[int]:
    """Live processes whose process group is ``pgid`` (found through /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        state, _ppid, pgrp = raw[raw.rindex(")") + 2:].split()[:3]
        if int(pgrp) == pgid and state not in ("Z", "X"):
            found.append(int(entry.name))
    return found


def outputs(stack: dict) -> dict:
    return {o["output_key"]: o.get("output_value") for o in stack.get("outputs") or []}


def members(heat: HeatClient, stack: dict, group: str = "vdu_group") -> dict[str, str]:
    """Status of each member of ``group``, by member name."""
    return {r["resource_name"]: r["resource_status"]
            for r in heat.list_resources(stack, nested_depth=1)
            if r.get("parent_resource") == group}


def assert_names_only(reason: str, group: str, member: str) -> None:
    """Heat's reason names ``member`` of ``group`` as the failure, and no other member."""
    assert group in reason, reason
    named = set(re.findall(r"resources\[(\d+)\]", reason))
    assert named == {member}, reason
    assert "injected_failure" in reason, reason


@pytest.fixture(scope="module")
def client(sandbox):
    c = nfvlib.Client(paths=sandbox.paths)
    yield c
    c.close()


@pytest.fixture(scope="module")
def vim(client):
    return client.vims.find_vim("sandbox")


@pytest.fixture(scope="module")
def session(client, vim):
    return client.vims.session(vim)


@pytest.fixture(scope="module")
def heat(session):
    return HeatClient(session, region_name="RegionTwo")


class Stacks:
    """Creates stacks the way a VNFM does on this VIM, and always deletes them."""

    def __init__(self, heat: HeatClient, vim) -> None:
        self.heat = heat
        self.vim = vim

    @contextmanager
    def vnf(self, count: int = 1):
        environment = dict(self.vim.extra["heat_environment"])
        environment["parameter_defaults"] = {"image": "cirros", "flavor": "m1.tiny"}
        files = {**self.vim.extra["heat_files"], "vdu.yaml": VDU_TEMPLATE}
        name = f"sbx-{uuid.uuid4().hex[:8]}"
        stack_id = self.heat.create_stack(name, GROUP_TEMPLATE, parameters={"count": count},
                                          files=files, environment=environment,
                                          timeout_mins=10)
        try:
            stack = self.heat.wait_for_stack(stack_id, "CREATE", timeout=STACK_TIMEOUT)
            yield stack
        finally:
            ref = {"stack_name": name, "id": stack_id}
            try:
                self.heat.wait_until_quiet(ref, timeout=STACK_TIMEOUT)
            finally:
                self.heat.delete_stack(ref)
                gone = self.heat.wait_for_stack(stack_id, "DELETE", timeout=STACK_TIMEOUT,
                                                missing_ok=True)
                assert gone is None or gone["stack_status"] == "DELETE_COMPLETE"

    def scale(self, stack: dict, count: int) -> dict:
        self.heat.wait_until_quiet(stack, timeout=STACK_TIMEOUT)
        self.heat.update_stack(stack, parameters={"count": count})
        return self.heat.wait_for_stack(stack["id"], "UPDATE", timeout=STACK_TIMEOUT)


@pytest.fixture
def stacks(heat, vim):
    return Stacks(heat, vim)


# --- 1. the shared sandbox ------------------------------------------------------

def test_up_again_is_idempotent_and_fast(sandbox, record_property):
    before = sandbox.status()
    began = time.monotonic()
    again = sandbox.up()
    took = time.monotonic() - began
    record_property("warm_up_s", round(took, 2))
    assert took < 10.0, again.get("timings")
    for name in ("keystone", "heat"):
        assert again[name]["pid"] == before[name]["pid"], name
        assert again[name]["port"] == before[name]["port"], name
    assert again["vim"]["status"] == "REACHABLE"


def test_status_shows_both_services(sandbox, record_property):
    status = sandbox.status()
    for name, version in (("keystone", "30.0.0"), ("heat", "27.0.1")):
        svc = status[name]
        assert svc["running"] is True, name
        assert process.pid_alive(svc["pid"]), name
        assert isinstance(svc["port"], int) and svc["port"] > 0, name
        assert svc["url"].startswith(f"http://127.0.0.1:{svc['port']}/"), name
        assert svc["version"] == version, name
        assert svc["rss_kb"] > 0, name
        record_property(f"{name}_rss_mb", round(svc["rss_kb"] / 1024, 1))
    assert status["heat"]["answering"] is True
    assert status["keystone"]["port"] != status["heat"]["port"]
    assert status["vim"]["name"] == "sandbox"
    assert status["vim"]["regions"] == ["RegionOne", "RegionTwo"]


def test_vim_is_registered_with_both_regions_and_the_heat_environment(sandbox):
    with closing(nfvlib.Client(paths=sandbox.paths)) as c:
        [checked] = c.vims.check_vims(["sandbox"])
        vim = c.vims.find_vim("sandbox")
    assert checked.id == vim.id
    assert vim.regions == ("RegionOne", "RegionTwo")
    assert set(vim.orchestration_endpoints) == {"RegionOne", "RegionTwo"}
    assert vim.status is VimStatus.REACHABLE, vim.status_reason
    assert vim.is_default is True
    assert vim.auth_url == sandbox.keystone.auth_url
    registry = vim.extra["heat_environment"]["resource_registry"]
    assert registry["OS::Nova::Server"] == "fake_server.yaml"
    assert registry["OS::Neutron::Port"] == "fake_port.yaml"
    files = vim.extra["heat_files"]
    assert set(registry.values()) <= set(files)
    assert "heat_template_version" in files["fake_server.yaml"]


# --- 2. Heat through the normal driver, in region two ----------------------------

def test_stack_in_region_two_creates_scales_and_deletes(session, heat, vim, stacks):
    endpoint = session.get_endpoint(service_type="orchestration", interface="public",
                                    region_name="RegionTwo")
    assert endpoint, "no orchestration endpoint in RegionTwo"
    assert endpoint == vim.orchestration_endpoints["RegionTwo"].replace(
        "%(tenant_id)s", vim.project_id)
    assert heat._adapter.get_endpoint() == endpoint
    # A region the catalog does not have is refused, not silently replaced.
    with pytest.raises(VimUnreachable, match="RegionNine"):
        HeatClient(session, region_name="RegionNine").list_stacks()

    # Every request the driver sends goes to the RegionTwo endpoint. A stack
    # looked up by id is redirected by Heat to its canonical URL, which the
    # noauth sandbox Heat writes with the project "admin": same server.
    sent: list[tuple[str, str]] = []

    def record(response, *args, **kwargs):
        sent.append((response.request.method, response.request.url))

    hooks = session.session.hooks["response"]
    hooks.append(record)
    try:
        with stacks.vnf(count=1) as stack:
            assert stack["stack_status"] == "CREATE_COMPLETE"
            assert len(outputs(stack)["server_ids"]) == 1
            types = {r["resource_type"] for r in heat.list_resources(stack, nested_depth=2)}
            assert {"OS::Nova::Server", "OS::Neutron::Port", "OS::Neutron::Net",
                    "OS::Neutron::Subnet", "OS::Heat::ResourceGroup"} <= types
            for count in (3, 1):
                updated = stacks.scale(stack, count)
                assert updated["stack_status"] == "UPDATE_COMPLETE"
                out = outputs(updated)
                assert len(out["server_ids"]) == count
                assert len(set(out["server_ids"])) == count
                assert out["server_ips"] == out["port_ips"]
            heat.wait_until_quiet(stack, timeout=STACK_TIMEOUT)
            assert sorted(members(heat, stack)) == ["0"]
    finally:
        hooks.remove(record)
    calls = [(method, url) for method, url in sent if "/stacks" in url]
    assert {method for method, _ in calls} >= {"POST", "GET", "PATCH", "DELETE"}
    origin = endpoint.split("/v1/", 1)[0]
    redirected = f"{origin}/v1/admin/stacks/"
    wrong = [(method, url) for method, url in calls
             if not (url.startswith(endpoint + "/")
                     or (method == "GET" and url.startswith(redirected)))]
    assert not wrong, (endpoint, wrong)
    changes = [url for method, url in calls if method != "GET"]
    assert changes and all(url.startswith(endpoint + "/stacks") for url in changes)


# --- 3. fault injection ----------------------------------------------------------

def test_injected_failure_hits_the_new_member_of_a_scale_out(sandbox, heat, stacks):
    with stacks.vnf(count=1) as stack:
        name = stack["stack_name"]
        # Member 2 does not exist yet: the injection alone changes nothing.
        injected = sandbox.inject(name, "vdu_group", "2", "fail", region="RegionTwo")
        assert injected["stack_status"] == "UPDATE_COMPLETE"

        with pytest.raises(HeatError) as failed:
            stacks.scale(stack, 3)
        assert failed.value.stack_status == "UPDATE_FAILED"
        assert_names_only(failed.value.reason, "vdu_group", "2")
        assert "injected_failure" in heat.failure_reason(heat.get_stack(stack["id"]))
        heat.wait_until_quiet(stack, timeout=STACK_TIMEOUT)
        status = members(heat, stack)
        assert status["0"].endswith("_COMPLETE") and status["1"].endswith("_COMPLETE")
        assert status["2"].endswith("_FAILED"), status

        cleared = sandbox.inject(name, "vdu_group", "2", "clear", region="RegionTwo")
        assert cleared["stack_status"] == "UPDATE_COMPLETE"
        assert len(outputs(cleared)["server_ids"]) == 3
        assert stacks.scale(stack, 1)["stack_status"] == "UPDATE_COMPLETE"


def test_injected_failure_after_scale_out_then_clear_and_slow(sandbox, heat, stacks):
    with stacks.vnf(count=1) as stack:
        name = stack["stack_name"]
        assert stacks.scale(stack, 3)["stack_status"] == "UPDATE_COMPLETE"
        heat.wait_until_quiet(stack, timeout=STACK_TIMEOUT)

        with pytest.raises(HeatError) as failed:
            sandbox.inject(name, "vdu_group", "2", "fail", region="RegionTwo")
        assert failed.value.stack_status == "UPDATE_FAILED"
        assert_names_only(failed.value.reason, "vdu_group", "2")
        heat.wait_until_quiet(stack, timeout=STACK_TIMEOUT)
        assert members(heat, stack)["2"].endswith("_FAILED")

        cleared = sandbox.inject(name, "vdu_group", "2", "clear", region="RegionTwo")
        assert cleared["stack_status"] == "UPDATE_COMPLETE"
        heat.wait_until_quiet(stack, timeout=STACK_TIMEOUT)
        assert stacks.scale(stack, 2)["stack_status"] == "UPDATE_COMPLETE"
        heat.wait_until_quiet(stack, timeout=STACK_TIMEOUT)

        delay = 3
        began = time.monotonic()
        slowed = sandbox.inject(name, "vdu_group", "1", "slow", delay=delay,
                                region="RegionTwo")
        took = time.monotonic() - began
        assert slowed["stack_status"] == "UPDATE_COMPLETE"
        assert took >= delay, took
        heat.wait_until_quiet(stack, timeout=STACK_TIMEOUT)
        cleared = sandbox.inject(name, "vdu_group", "1", "clear", region="RegionTwo")
        assert cleared["stack_status"] == "UPDATE_COMPLETE"
        assert len(outputs(cleared)["server_ids"]) == 2


# --- 4. the commands, on a second data directory ---------------------------------

def test_cli_second_sandbox_side_by_side(sandbox, tmp_path, record_property):
    data = tmp_path / "second"
    first_status = sandbox.status()
    try:
        began = time.monotonic()
        code, out, err = nfv(data, "sandbox", "up", timeout=UP_TIMEOUT)
        record_property("second_up_s", round(time.monotonic() - began, 2))
        assert code == 0, err
        assert "Traceback" not in err
        assert "sandbox: register VIM 'sandbox'" in err  # progress goes to stderr

        code, out, err = nfv(data, "sandbox", "status", "-f", "json")
        assert code == 0, err
        status = json.loads(out)
        assert status["keystone_running"] is True and status["heat_running"] is True
        assert status["data_dir"] == str(data / "sandbox")
        assert status["vim"] == "sandbox" and status["vim_status"] == "REACHABLE"
        assert status["vim_regions"] == "RegionOne, RegionTwo"
        pids = [status["keystone_pid"], status["heat_pid"]]
        assert all(process.pid_alive(pid) for pid in pids)
        record_property("second_keystone_rss_mb", status["keystone_rss_mb"])
        record_property("second_heat_rss_mb", status["heat_rss_mb"])
        # Two sandboxes side by side: other processes, other ports.
        assert pids != [first_status["keystone"]["pid"], first_status["heat"]["pid"]]
        assert port_of(status["keystone_url"]) != first_status["keystone"]["port"]
        assert port_of(status["heat_url"]) != first_status["heat"]["port"]

        code, out, err = nfv(data, "vim", "list", "-f", "json")
        assert code == 0, err
        [row] = json.loads(out)
        assert (row["Name"], row["Status"]) == ("sandbox", "REACHABLE")

        # The first sandbox is undisturbed.
        code, out, err = nfv(sandbox.paths.data_dir, "vim", "check", "sandbox", "-f", "json")
        assert code == 0, err
        [row] = json.loads(out)
        assert row["Status"] == "REACHABLE", row

        code, out, err = nfv(data, "sandbox", "logs", "--service", "heat", "--lines", "5")
        assert code == 0, err
        lines = out.splitlines()
        assert lines[0] == f"==> {data / 'sandbox' / 'heat' / 'heat.log'} <=="
        assert 1 < len(lines) <= 6, out
        assert "keystone.log" not in out

        began = time.monotonic()
        code, out, err = nfv(data, "sandbox", "down")
        record_property("second_down_s", round(time.monotonic() - began, 2))
        assert code == 0, err
        assert out.splitlines() == ["heat: stopped", "keystone: stopped"]
        for pid in pids:
            assert not process.pid_alive(pid), pid
            assert group_members(pid) == [], pid

        code, out, err = nfv(data, "sandbox", "status", "-f", "json")
        assert code == 0, err
        status = json.loads(out)
        assert status["keystone_running"] is False and status["heat_running"] is False
        assert status["keystone_pid"] is None and status["heat_pid"] is None

        code, out, err = nfv(data, "vim", "check", "-f", "json")
        assert code == 6, (out, err)
        [row] = json.loads(out)
        assert (row["Name"], row["Status"]) == ("sandbox", "UNREACHABLE")

        # Fault injection needs the sandbox running: one line, no traceback.
        code, out, err = nfv(data, "sandbox", "inject", "--stack", "NOPE", "--vdu", "g",
                             "--member", "1", "--fail")
        assert code == 10 and "not running" in err, err
        assert "Traceback" not in err
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("nfv: error: "), err

        # The first sandbox still works.
        code, out, err = nfv(sandbox.paths.data_dir, "vim", "check", "sandbox", "-f", "json")
        assert code == 0, err
        assert json.loads(out)[0]["Status"] == "REACHABLE"
    finally:
        code, out, err = nfv(data, "sandbox", "down")
        if code != 0:
            Sandbox(Paths.from_env(cli_env(), data_dir=data)).down()


# --- 5. injection without a running sandbox ------------------------------------

def test_cli_inject_without_a_sandbox_is_one_line_error(tmp_path):
    code, out, err = nfv(tmp_path / "never-up", "sandbox", "inject", "--stack", "NOPE",
                         "--vdu", "g", "--member", "1", "--fail")
    assert code == 10, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nfv: error: "), err
    assert "not running" in lines[0] and "nfv sandbox up" in lines[0]
    assert out == ""
