"""Remote mode against a real Tacker 16 that the sandbox starts.

Every step goes through ``nfvlib.Client("remote", ...)`` or the CLI
(``nfv --os-nfv-mode remote`` and ``openstack --os-nfv-mode remote``) with
the ``OS_*`` variables of ``nfv sandbox openrc``, and is checked against
what the real services hold: Tacker's own answers and the stacks in Heat.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from nfvlib import Client, Conflict, NotFound, OpState
from nfvlib.exceptions import (AuthFailed, InvalidInput, Unreachable, Unsupported,
                               VimNotFound)
from nfvlib.heat import HeatClient, StackNotFound
from nfvlib.lcm.catalog import VnfNotFound
from nfvlib.models import InstantiationState
from nfvlib.sandbox import process
from tests.data import TACKER_SAMPLE

WAIT = 180
SAMPLE_VNFD = "b1bb0ce7-ebca-4fa7-95ed-4840d7000000"
LEVEL_1 = {"flavourId": "simple", "instantiationLevelId": "instantiation_level_1"}
NO_SUCH_ID = "00000000-0000-4000-8000-000000000000"


@pytest.fixture(scope="module")
def sb(tacker_sandbox):
    return tacker_sandbox


@pytest.fixture(scope="module")
def client(sb):
    return sb.tacker_client()


@pytest.fixture(scope="module")
def heat(sb):
    """Heat as the sandbox VIM's user sees it (read directly, not through Tacker)."""
    vims = Client("local", paths=sb.paths).vims
    vim = vims.find_vim("sandbox")
    return HeatClient(vims.session(vim), region_name=vim.regions[0])


def cli(sb, program: str, *argv: str) -> tuple[int, str, str]:
    """Run ``nfv`` or ``openstack`` in remote mode with the sandbox's openrc."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(sb.openrc(), NFV_DATA_DIR=str(sb.paths.data_dir))
    if program == "nfv":
        head = [sys.executable, "-m", "nfvcli.shell"]
    else:
        head = [str(Path(sys.executable).parent / "openstack")]
    proc = subprocess.run([*head, "--os-nfv-mode", "remote", *argv], env=env,
                          capture_output=True, text=True, timeout=WAIT + 60)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, proc.stdout, proc.stderr


def stack_status(heat, name: str) -> str | None:
    try:
        return heat.get_stack(name)["stack_status"]
    except StackNotFound:
        return None


def group_members(heat, stack_id: str, group: str = "VDU1_scale_group") -> int:
    """Live members of the sample's AutoScalingGroup, as Heat holds them."""
    top = heat.get_stack(stack_id)
    row = next(r for r in heat.list_resources(top) if r["resource_name"] == group)
    nested = heat.get_stack(row["physical_resource_id"])
    return sum(1 for r in heat.list_resources(nested)
               if not r["resource_status"].startswith("DELETE"))


def failing_variant(tmp_path: Path) -> tuple[Path, str]:
    """The sample with its own vnfdId and a resource that always fails."""
    vnfd_id = str(uuid.uuid4())
    root = tmp_path / "failing-package"
    shutil.copytree(TACKER_SAMPLE, root)
    for path in (root / "Definitions").glob("*.yaml"):
        text = path.read_text()
        if SAMPLE_VNFD in text:
            path.write_text(text.replace(SAMPLE_VNFD, vnfd_id))
    hot = root / "BaseHOT" / "simple" / "sample2.yaml"
    text = hot.read_text()
    assert text.count("\nresources:\n") == 1
    hot.write_text(text.replace("\nresources:\n", "\nresources:\n  always_fails:\n"
                                "    type: OS::Heat::TestResource\n"
                                "    properties:\n      fail: true\n"))
    return root, vnfd_id


# -- the sandbox itself ------------------------------------------------------------

def test_status_and_openrc_point_at_a_running_tacker(sb):
    status = sb.status()
    for service in (status["tacker"], status["tacker"]["mariadb"], status["image"]):
        assert service["running"] and process.pid_alive(service["pid"])
    assert status["tacker"]["answering"] and status["tacker"]["version"] == "16.0.0"
    proc = subprocess.run(
        [sys.executable, "-m", "nfvcli.shell", "--data-dir", str(sb.paths.data_dir),
         "sandbox", "openrc"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.removeprefix("export ").split("=", 1)
                 for line in proc.stdout.splitlines())
    assert lines["OS_NFV_MODE"] == "remote"
    assert lines["OS_AUTH_URL"] == sb.keystone.auth_url
    # Keystone's catalog holds Tacker in both regions, and the image stand-in.
    catalog = sb.keystone._call("GET", "/services?type=nfv-orchestration")["services"]
    assert len(catalog) == 1
    endpoints = sb.keystone._call(
        "GET", f"/endpoints?service_id={catalog[0]['id']}")["endpoints"]
    assert {e["region_id"] for e in endpoints} == {"RegionOne", "RegionTwo"}
    assert {e["url"] for e in endpoints} == {sb.tacker.url}


# -- VIMs ---------------------------------------------------------------------------

def test_vim_register_list_show_set_delete_and_errors(sb, client):
    vims = client.vims
    [default] = [v for v in vims.list_vims() if v.name == "sandbox"]
    assert default.is_default and default.auth_url == sb.keystone.auth_url
    name = f"extra-{uuid.uuid4().hex[:6]}"
    vim = vims.register_vim(name, sb.vim_config(), description="second")
    try:
        assert vims.get_vim(vim.id).name == name
        assert name in {v.name for v in vims.list_vims()}
        assert vims.update_vim(vim.id, description="changed").description == "changed"
        # What Tacker itself holds now.
        code, out, err = cli(sb, "nfv", "vim", "show", vim.id, "-f", "json")
        assert code == 0, err
        assert json.loads(out)["description"] == "changed"
        code, out, err = cli(sb, "openstack", "vim", "list", "-f", "json")
        assert code == 0, err
        assert {row["Name"] for row in json.loads(out)} >= {"sandbox", name}
        # Error paths, each with the exit code local mode gives for the cause.
        with pytest.raises(Conflict):  # Tacker: 500 VimDefaultDuplicateException
            vims.update_vim(vim.id, is_default=True)
        with pytest.raises(Conflict):  # Tacker: 409 DuplicateEntity
            vims.register_vim(name, sb.vim_config())
        with pytest.raises(AuthFailed):  # Tacker: 500 VimUnauthorizedException
            vims.register_vim(f"{name}-bad", dict(sb.vim_config(), password="wrong"))
        with pytest.raises(Unreachable):  # Tacker: 500 VimConnectionException
            vims.register_vim(f"{name}-far", dict(
                sb.vim_config(), auth_url=f"http://127.0.0.1:{process.free_port()}/v3"))
        with pytest.raises(VimNotFound):  # Tacker: 500 VimNotFoundException
            vims.get_vim(NO_SUCH_ID)
        for program in ("nfv", "openstack"):
            code, _, err = cli(sb, program, "vim", "show", NO_SUCH_ID)
            assert code == 3 and len(err.strip().splitlines()) == 1, err
            code, _, err = cli(sb, program, "vim", "set", vim.id, "--is-default", "True")
            assert code == 4, err
    finally:
        vims.delete_vim(vim.id)
    assert name not in {v.name for v in vims.list_vims()}
    with pytest.raises(VimNotFound):
        vims.delete_vim(vim.id)
    assert {v.name for v in vims.list_vims() if v.name.startswith(name)} == set()


# -- packages and the lifecycle ---------------------------------------------------

@pytest.fixture(scope="module")
def sample(client):
    info = client.packages.create_package({"test": "remote-tacker"})
    package = client.packages.upload_package(info.id, str(TACKER_SAMPLE))
    yield package
    for vnf in client.vnfs.list_vnfs():
        if vnf.vnfd_id == package.vnfd_id and \
                vnf.instantiation_state is InstantiationState.NOT_INSTANTIATED:
            client.vnfs.delete_vnf(vnf.id)
    client.packages.delete_package(package.id)


def test_sample_package_onboards_and_its_vnfd_id_is_unique(client, sample):
    assert sample.vnfd_id == SAMPLE_VNFD
    assert client.packages.get_package(sample.id).onboarding_state.value == "ONBOARDED"
    assert sample.id in {p.id for p in client.packages.list_packages()}
    # Tacker accepts the upload (202), then sets the package back to CREATED.
    again = client.packages.create_package({"test": "duplicate-vnfd"})
    try:
        with pytest.raises(InvalidInput, match="went back to CREATED"):
            client.packages.upload_package(again.id, str(TACKER_SAMPLE))
        assert client.packages.get_package(again.id).onboarding_state.value == "CREATED"
    finally:
        client.packages.delete_package(again.id)


def test_create_instantiate_scale_terminate_delete(sb, client, sample, heat):
    vnf = client.vnfs.create_vnf(sample.vnfd_id, name=f"r-{uuid.uuid4().hex[:6]}")
    done = client.lcm.wait(client.lcm.instantiate(vnf.id, LEVEL_1).id, timeout=WAIT)
    assert done.state is OpState.COMPLETED, done.error
    vnf = client.vnfs.get_vnf(vnf.id)
    assert vnf.instantiation_state is InstantiationState.INSTANTIATED
    assert stack_status(heat, vnf.stack_id) == "CREATE_COMPLETE"
    assert group_members(heat, vnf.stack_id) == 1
    with pytest.raises(Conflict):  # 409: already instantiated
        client.lcm.instantiate(vnf.id, LEVEL_1)
    with pytest.raises(Conflict):  # 409: an instantiated VNF cannot be deleted
        client.vnfs.delete_vnf(vnf.id)

    # Scale out through nfv, scale in through openstack, both --wait.
    code, _, err = cli(sb, "nfv", "vnflcm", "scale", vnf.id, "--type", "SCALE_OUT",
                       "--aspect-id", "VDU1_scale", "--wait")
    assert code == 0, err
    assert group_members(heat, vnf.stack_id) == 2
    code, out, err = cli(sb, "nfv", "vnflcm", "show", vnf.id, "-f", "json")
    assert code == 0, err
    code, _, err = cli(sb, "openstack", "vnflcm", "scale", vnf.id, "--type",
                       "SCALE_IN", "--aspect-id", "VDU1_scale", "--wait")
    assert code == 0, err
    assert group_members(heat, vnf.stack_id) == 1
    code, out, err = cli(sb, "openstack", "vnflcm", "op", "list", "-f", "json")
    assert code == 0, err
    ops = [row for row in json.loads(out) if row.get("VNF Instance ID") == vnf.id]
    assert len(ops) == 3 and {row["Operation State"] for row in ops} == {"COMPLETED"}

    end = client.lcm.wait(client.lcm.terminate(vnf.id, "FORCEFUL").id, timeout=WAIT)
    assert end.state is OpState.COMPLETED, end.error
    assert stack_status(heat, vnf.stack_id) in (None, "DELETE_COMPLETE")
    code, _, err = cli(sb, "nfv", "vnflcm", "delete", vnf.id)
    assert code == 0, err
    with pytest.raises(VnfNotFound):
        client.vnfs.get_vnf(vnf.id)
    for program in ("nfv", "openstack"):
        code, _, err = cli(sb, program, "vnflcm", "show", vnf.id)
        assert code == 3 and len(err.strip().splitlines()) == 1, err
    with pytest.raises(NotFound):
        client.lcm.instantiate(vnf.id, LEVEL_1)


def test_failing_instantiate_rollback_retry_fail(sb, client, heat, tmp_path):
    root, vnfd_id = failing_variant(tmp_path)
    package = client.packages.upload_package(
        client.packages.create_package({"test": "failing"}).id, str(root))
    assert package.vnfd_id == vnfd_id
    vnf = client.vnfs.create_vnf(vnfd_id, name=f"f-{uuid.uuid4().hex[:6]}")
    try:
        failed = client.lcm.wait(client.lcm.instantiate(vnf.id, LEVEL_1).id, timeout=WAIT)
        assert failed.state is OpState.FAILED_TEMP
        stack_name = f"vnf-{vnf.id}"
        assert stack_status(heat, stack_name) == "CREATE_FAILED"

        # rollback --wait through the CLI: Tacker answers 202 and leaves
        # FAILED_TEMP a moment later; the wait must outlast that.
        code, _, err = cli(sb, "nfv", "vnflcm", "op", "rollback", failed.id, "--wait")
        assert code == 0, err
        assert client.lcm.get_op_occ(failed.id).state is OpState.ROLLED_BACK
        assert stack_status(heat, stack_name) in (None, "DELETE_COMPLETE")

        # A second failing instantiate: retry fails again, then fail ends it.
        again = client.lcm.wait(client.lcm.instantiate(vnf.id, LEVEL_1).id, timeout=WAIT)
        assert again.state is OpState.FAILED_TEMP
        code, _, err = cli(sb, "openstack", "vnflcm", "op", "retry", again.id, "--wait")
        assert code == 20, err  # FAILED_TEMP again: the resource always fails
        assert stack_status(heat, stack_name).endswith("_FAILED")  # re-driven, failed again
        with pytest.raises(Unsupported):
            client.lcm.cancel(again.id)
        assert client.lcm.fail(again.id).state is OpState.FAILED
        with pytest.raises(Conflict):  # 409: not FAILED_TEMP any more
            client.lcm.rollback(again.id)
        code, _, err = cli(sb, "nfv", "vnflcm", "op", "retry", again.id)
        assert code == 4, err
        code, _, err = cli(sb, "nfv", "vnflcm", "op", "show", NO_SUCH_ID)
        assert code == 3, err
    finally:
        for op in client.lcm.list_op_occs({"vnfInstanceId": vnf.id}):
            if op.state is OpState.FAILED_TEMP:
                client.lcm.fail(op.id)
        vnf_now = client.vnfs.get_vnf(vnf.id)
        if vnf_now.instantiation_state is InstantiationState.NOT_INSTANTIATED:
            client.vnfs.delete_vnf(vnf.id)
            client.packages.delete_package(package.id)
