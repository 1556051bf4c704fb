"""One contract, three backends: the fixtures.

``backend`` (module scope) is one of

- ``local``: local mode on the sandbox that ``tacker_sandbox`` starts (its
  store, its VIM ``sandbox``, its real Keystone and Heat);
- ``fake``: remote mode against the in-memory :class:`~tests.fake_tacker.FakeTacker`
  (and a Keystone) over requests-mock, for what a real server cannot be
  made to do, and to pin down the API-level contract without a server;
- ``tacker``: remote mode against that sandbox's real Tacker 16, whose
  stacks live in the same Heat.

Each is a :class:`Backend`: an ``nfvlib.Client`` plus what differs between
them: where to read the stacks (Heat, or the fake's record of them), how to
make an instantiate fail, and how to run ``openstack`` and ``nfv`` in that
mode (as subprocesses; for the fake in this process, where requests-mock is).
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

import nfvlib
from nfvlib.config import Paths
from nfvlib.heat import HeatClient, StackNotFound
from nfvlib.models import InstantiationState, PackageInfo
from tests.data import TACKER_SAMPLE

#: Seconds one operation may take (a real Tacker polls Heat every 5 s).
WAIT = 180
SAMPLE_VNFD = "b1bb0ce7-ebca-4fa7-95ed-4840d7000000"
LEVEL_1 = {"flavourId": "simple", "instantiationLevelId": "instantiation_level_1"}
NO_SUCH_ID = "00000000-0000-4000-8000-000000000000"
BACKENDS = ["local", "fake", "tacker"]


class Backend:
    """One backend of the contract: a client and the backend-specific parts."""

    def __init__(self, name: str, client: nfvlib.Client, site: dict[str, Any],
                 tmp: Path) -> None:
        self.name = name
        self.client = client
        #: a VIM config this backend's VIM registration accepts
        self.site = site
        self._tmp = tmp
        self._failing: PackageInfo | None = None

    # -- the stacks ---------------------------------------------------------------
    def stack_status(self, vnf_id: str) -> str | None:
        """The status of the VNF's stack ``vnf-<id>``; None when there is none."""
        raise NotImplementedError

    def members(self, vnf_id: str) -> int:
        """Live members of VDU1's scaling group in the VNF's stack."""
        raise NotImplementedError

    # -- a failing instantiate -------------------------------------------------------
    def failing_package(self) -> PackageInfo:
        """The sample with its own vnfdId, whose instantiate always fails (cached)."""
        if self._failing is None:
            root, vnfd_id = failing_variant(self._tmp)
            packages = self.client.packages
            info = packages.upload_package(
                packages.create_package({"test": "contract-failing"}).id, str(root))
            assert info.vnfd_id == vnfd_id
            self._failing = info
        return self._failing

    # -- the commands -------------------------------------------------------------------
    def openstack(self, *argv: str) -> tuple[int, str, str]:
        """``openstack --os-nfv-mode <mode> ARGV``: exit code, stdout, stderr."""
        raise NotImplementedError

    def nfv(self, *argv: str) -> tuple[int, str, str]:
        """``nfv --os-nfv-mode <mode> ARGV``: exit code, stdout, stderr."""
        raise NotImplementedError

    def close(self) -> None:
        """Remove what this backend's fixtures made."""
        if self._failing is not None:
            remove_package(self.client, self._failing.id)


class HeatBackend(Backend):
    """A backend whose stacks are in the sandbox's Heat (local and tacker)."""

    def __init__(self, name, client, site, tmp, sandbox) -> None:
        super().__init__(name, client, site, tmp)
        self.sandbox = sandbox
        self._local = nfvlib.Client("local", paths=sandbox.paths)
        vim = self._local.vims.find_vim("sandbox")
        self.heat = HeatClient(self._local.vims.session(vim), region_name=vim.regions[0])

    def close(self) -> None:
        # A failed instantiate that ended FAILED leaves its stack: delete it.
        if self._failing is not None:
            for vnf in self.client.vnfs.list_vnfs():
                if vnf.vnfd_id == self._failing.vnfd_id:
                    try:
                        stack = self.heat.get_stack(f"vnf-{vnf.id}")
                    except StackNotFound:
                        continue
                    self.heat.delete_stack(stack)
                    self.heat.wait_for_stack(stack["id"], "DELETE", missing_ok=True)
        super().close()
        self._local.close()

    def stack_status(self, vnf_id: str) -> str | None:
        try:
            return self.heat.get_stack(f"vnf-{vnf_id}")["stack_status"]
        except StackNotFound:
            return None

    def members(self, vnf_id: str) -> int:
        top = self.heat.get_stack(f"vnf-{vnf_id}")
        row = next(r for r in self.heat.list_resources(top)
                   if r["resource_name"] == "VDU1_scale_group")
        nested = self.heat.get_stack(row["physical_resource_id"])
        return sum(1 for r in self.heat.list_resources(nested)
                   if not r["resource_status"].startswith("DELETE"))

    def openstack(self, *argv: str) -> tuple[int, str, str]:
        return self._run([str(Path(sys.executable).parent / "openstack")], argv)

    def nfv(self, *argv: str) -> tuple[int, str, str]:
        return self._run([sys.executable, "-m", "nfvcli.shell"], argv)

    def _run(self, head: list[str], argv: tuple[str, ...]) -> tuple[int, str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
        env["NFV_DATA_DIR"] = str(self.sandbox.paths.data_dir)
        mode = "local"
        if self.name == "tacker":
            env.update(self.sandbox.openrc())
            mode = "remote"
        proc = subprocess.run([*head, "--os-nfv-mode", mode, *argv], env=env,
                              capture_output=True, text=True, timeout=WAIT + 60)
        assert "Traceback" not in proc.stderr, proc.stderr
        return proc.returncode, proc.stdout, proc.stderr


class FakeBackend(Backend):
    """Remote mode on the FakeTacker; ``openstack`` and ``nfv`` run in this
    process (a subprocess could not reach requests-mock)."""

    def __init__(self, client, site, tmp, tacker, env) -> None:
        super().__init__("fake", client, site, tmp)
        self.tacker = tacker
        self.env = env

    def failing_package(self) -> PackageInfo:
        if self._failing is None:
            # The fake's stand-in for a resource that always fails.
            self.tacker.failing_vnfds.add(vnfd_id_of_variant(self._tmp))
        return super().failing_package()

    def stack_status(self, vnf_id: str) -> str | None:
        stack = self.tacker.stacks.get(f"vnf-{vnf_id}")
        return None if stack is None else stack["stack_status"]

    def members(self, vnf_id: str) -> int:
        return self.tacker.stacks[f"vnf-{vnf_id}"]["members"]

    def openstack(self, *argv: str) -> tuple[int, str, str]:
        from openstackclient import shell

        return self._run(shell.main, argv)

    def nfv(self, *argv: str) -> tuple[int, str, str]:
        from nfvcli import shell

        return self._run(shell.main, argv)

    def _run(self, main, argv: tuple[str, ...]) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        saved_env = dict(os.environ)
        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        os.environ.clear()
        os.environ.update({k: v for k, v in saved_env.items() if not k.startswith("OS_")},
                          **self.env)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main(["--os-nfv-mode", "remote", *argv])
                except SystemExit as exc:
                    code = exc.code
        finally:
            os.environ.clear()
            os.environ.update(saved_env)
            for handler in root.handlers[:]:
                if handler not in handlers:
                    root.removeHandler(handler)
            root.setLevel(level)
        assert "Traceback" not in err.getvalue(), err.getvalue()
        return code, out.getvalue(), err.getvalue()


def failing_variant(tmp: Path) -> tuple[Path, str]:
    """Tacker's sample with its own vnfdId and a resource that always fails
    (vnfdId is unique per server; the failure is Heat's own TestResource)."""
    root = tmp / "failing-package"
    vnfd_id = vnfd_id_of_variant(tmp)
    if root.exists():
        return root, vnfd_id
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


def vnfd_id_of_variant(tmp: Path) -> str:
    """The failing variant's vnfdId: one per backend directory."""
    marker = tmp / "failing-vnfd-id"
    if not marker.exists():
        marker.write_text(str(uuid.uuid4()))
    return marker.read_text()


def remove_package(client, package_id: str) -> None:
    """Delete a package and the instances left of it (terminated, failed first)."""
    from nfvlib import OpState

    vnfd_id = client.packages.get_package(package_id).vnfd_id
    for vnf in client.vnfs.list_vnfs():
        if vnf.vnfd_id != vnfd_id:
            continue
        for op in client.lcm.list_op_occs({"vnfInstanceId": vnf.id}):
            if op.state is OpState.FAILED_TEMP:
                client.lcm.fail(op.id)
        if client.vnfs.get_vnf(vnf.id).instantiation_state is \
                InstantiationState.INSTANTIATED:
            client.lcm.wait(client.lcm.terminate(vnf.id, "FORCEFUL").id, timeout=WAIT)
        client.vnfs.delete_vnf(vnf.id)
    client.packages.delete_package(package_id)


@pytest.fixture(scope="module")
def sample(backend, request):
    """Tacker's own sample package, onboarded for one module and removed after."""
    packages = backend.client.packages
    label = request.module.__name__.rsplit(".", 1)[-1]
    info = packages.upload_package(packages.create_package({"test": label}).id,
                                   str(TACKER_SAMPLE))
    yield info
    remove_package(backend.client, info.id)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request, tmp_path_factory):
    """One backend of the contract (see the module docstring)."""
    tmp = tmp_path_factory.mktemp(f"contract-{request.param}")
    if request.param == "fake":
        yield from _fake_backend(tmp)
        return
    sandbox = request.getfixturevalue("tacker_sandbox")
    if request.param == "local":
        client = nfvlib.Client("local", paths=sandbox.paths)
    else:
        client = sandbox.tacker_client()
    made = HeatBackend(request.param, client, sandbox.vim_config(), tmp, sandbox)
    try:
        yield made
    finally:
        try:
            made.close()
        finally:
            if request.param == "local":
                client.close()


def _fake_backend(tmp: Path):
    import requests_mock

    from tests.fake_tacker import TACKER, FakeTacker
    from tests.unit.conftest import AUTH_URL, FakeKeystone, vim_config

    site = dict(vim_config(), cert_verify=False)
    env = {"OS_AUTH_URL": AUTH_URL, "OS_USERNAME": site["username"],
           "OS_PASSWORD": site["password"], "OS_PROJECT_NAME": site["project_name"],
           "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
           "OS_IDENTITY_API_VERSION": "3", "OS_AUTH_TYPE": "v3password",
           "OS_TACKER_URL": TACKER,
           # as 'sandbox openrc' sets it (python-tackerclient's option defaults to 1)
           "OS_TACKER_API_VERSION": "2",
           "NFV_DATA_DIR": str(tmp / "nfv")}
    # real_http: only the fake's hosts are answered here; nothing else is
    # running while a module's fake cases run.
    with requests_mock.Mocker(real_http=True) as mocker:
        _keystone_with_tacker(FakeKeystone(mocker), TACKER)
        tacker = FakeTacker(mocker, site=site)
        client = nfvlib.Client("remote", env=env, paths=Paths.from_env(env))
        # As the sandbox does on a real Tacker: the VIM 'sandbox' is the default.
        client.vims.register_vim("sandbox", site, is_default=True)
        made = FakeBackend(client, site, tmp, tacker, env)
        try:
            yield made
        finally:
            made.close()


def _keystone_with_tacker(keystone, url: str) -> None:
    """Give the fake Keystone's catalog Tacker too (``openstack`` looks it up)."""
    from keystoneauth1 import fixture

    token = fixture.V3Token(project_id="p1", project_name="demo", user_id="u1",
                            user_name="alice")
    for kind, name, urls in (("orchestration", "heat", keystone.heat),
                             ("nfv-orchestration", "tacker",
                              {r: url for r in keystone.heat})):
        service = token.add_service(kind, name=name)
        for region, endpoint in urls.items():
            service.add_standard_endpoints(public=endpoint, region=region)
    keystone.mocker.post(keystone.auth_url + "/auth/tokens",
                         json=keystone._token_callback(token),
                         headers={"X-Subject-Token": "tok"}, status_code=201)
