"""Functional fixtures: the sandbox (a real Keystone and Heat), once per run.

The services' virtualenvs come from the nfvkit cache (installed on first
use); their state lives in a temporary data directory removed at the end.
"""

from __future__ import annotations

import secrets

import pytest

from nfvlib.config import Paths
from nfvlib.sandbox import process
from nfvlib.sandbox.manager import REGIONS, Sandbox


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory):
    """A sandbox that is up: Keystone, Heat and the VIM 'sandbox' registered."""
    sb = Sandbox(Paths.from_env(data_dir=tmp_path_factory.mktemp("sandbox")))
    status = sb.up()
    pids = [status["keystone"]["pid"], status["heat"]["pid"]]
    try:
        yield sb
    finally:
        sb.down()
        alive = [pid for pid in pids if process.pid_alive(pid)]
        assert not alive, f"sandbox processes still running: {alive}"


@pytest.fixture(scope="session")
def keystone_service(sandbox):
    """The sandbox's Keystone."""
    return sandbox.keystone


@pytest.fixture(scope="session")
def heat_service(sandbox):
    """The sandbox's Heat."""
    return sandbox.heat


@pytest.fixture
def nfv_home(tmp_path, monkeypatch):
    """A fresh nfvkit data directory (store, keys) for one test."""
    for var in ("NFV_STORE", "NFV_KEY_DIR", "OS_NFV_MODE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NFV_DATA_DIR", str(tmp_path / "nfv"))
    return tmp_path / "nfv"


@pytest.fixture(scope="session")
def site(keystone_service, heat_service):
    """A VIM site: the real Keystone with Heat in two regions, and a member user."""
    keystone_service.ensure_service_endpoints(
        "orchestration", "heat", heat_service.endpoint_url, list(REGIONS))
    password = secrets.token_urlsafe(12)
    keystone_service.ensure_project_user("vnf-project", "vnf-user", password)
    return {"auth_url": keystone_service.auth_url, "username": "vnf-user",
            "password": password, "project_name": "vnf-project",
            "project_domain_name": "Default", "user_domain_name": "Default",
            "cert_verify": False}


@pytest.fixture(scope="session")
def tacker_sandbox(tmp_path_factory):
    """A sandbox with a real Tacker (and its MariaDB and image stand-in), once per run.

    Separate from ``sandbox``: its own data directory, Keystone and Heat.
    """
    sb = Sandbox(Paths.from_env(data_dir=tmp_path_factory.mktemp("tacker-sandbox")))
    status = sb.up(tacker=True)
    pids = [status["keystone"]["pid"], status["heat"]["pid"], status["tacker"]["pid"],
            status["tacker"]["mariadb"]["pid"], status["image"]["pid"]]
    try:
        yield sb
    finally:
        sb.down()
        alive = [pid for pid in pids if process.pid_alive(pid)]
        assert not alive, f"sandbox processes still running: {alive}"


@pytest.fixture(scope="module")
def client(sandbox):
    """A local-mode library client on the sandbox's store and keys."""
    import nfvlib

    c = nfvlib.Client(paths=sandbox.paths)
    yield c
    c.close()


@pytest.fixture(scope="module")
def heat(client):
    """The sandbox VIM's Heat, read directly (what the tests assert against)."""
    from nfvlib.heat import HeatClient

    vim = client.vims.find_vim("sandbox")
    return HeatClient(client.vims.session(vim), region_name=vim.regions[0])


@pytest.fixture(scope="module")
def package(client, request):
    """The sample package onboarded for one test module, removed with its instances."""
    from tests.functional.lcm import SAMPLE, remove_package

    info = client.packages.create_package({"test": request.module.__name__})
    yield client.packages.upload_package(info.id, str(SAMPLE))
    remove_package(client, info.id)
