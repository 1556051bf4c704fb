"""VIM registration and health against a real Keystone and a real Heat."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

import pytest
import yaml

import nfvlib
from nfvlib import AuthFailed, Conflict, VimStatus, VimUnreachable
from nfvlib.config import Paths
from nfvlib.sandbox import process
from nfvlib.sandbox.keystone import KeystoneService


def nfv(*argv, env=None):
    """Run the installed `nfv` command; return (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "nfvcli.shell", *argv],
                          capture_output=True, text=True, env=env, timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture
def client(nfv_home):
    c = nfvlib.Client()
    yield c
    c.close()


def test_register_discovers_both_regions_and_heat(client, site):
    vim = client.vims.register_vim("site1", site, is_default=True)
    assert vim.regions == ("RegionOne", "RegionTwo")
    assert set(vim.orchestration_endpoints) == {"RegionOne", "RegionTwo"}
    assert vim.status is VimStatus.REACHABLE, vim.status_reason
    assert vim.project_id  # Keystone's id of vnf-project
    assert client.vims.default_vim().id == vim.id


def test_wrong_password_is_refused_and_nothing_stored(client, site):
    with pytest.raises(AuthFailed):
        client.vims.register_vim("site1", dict(site, password="wrong-password"))
    assert client.vims.list_vims() == []


def test_unknown_project_is_refused(client, site):
    with pytest.raises(AuthFailed, match="no-such-project"):
        client.vims.register_vim("site1", dict(site, project_name="no-such-project"))


def test_unreachable_url(client, site):
    port = process.free_port(None)  # nothing listens there
    with pytest.raises(VimUnreachable, match="did not answer"):
        client.vims.register_vim("site1", dict(site, auth_url=f"http://127.0.0.1:{port}/v3"))


def test_cli_register_list_show_and_secret_hygiene(nfv_home, site, tmp_path):
    config = tmp_path / "vim.yaml"
    config.write_text(yaml.safe_dump(dict(site, cert_verify="False")))
    env = dict(os.environ)
    code, out, err = nfv("--debug", "--log-file", str(tmp_path / "nfv.log"), "vim",
                         "register", "site1", "--config-file", str(config), env=env)
    assert code == 0, err
    code, out_list, _ = nfv("vim", "list", "-f", "json", env=env)
    assert code == 0
    [row] = json.loads(out_list)
    assert (row["Name"], row["Status"]) == ("site1", "REACHABLE")
    code, out_show, _ = nfv("vim", "show", "site1", "-f", "yaml", env=env)
    shown = yaml.safe_load(out_show)
    assert shown["placement_attr"]["regions"] == ["RegionOne", "RegionTwo"]
    assert shown["auth_cred"]["password"] == "***"
    secret = site["password"].encode()
    for text in (out, err, out_list, out_show):
        assert site["password"] not in text
    for path in nfv_home.rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes(), path
    assert secret not in (tmp_path / "nfv.log").read_bytes()
    keys = Paths.from_env().key_dir
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(k.stat().st_mode) == 0o600 for k in keys.iterdir())

    code, _, err = nfv("vim", "register", "site1", "--config-file", str(config), env=env)
    assert code == 4 and "already exists" in err and "Traceback" not in err


def test_password_change_is_validated(client, site, keystone_service):
    vim = client.vims.register_vim("site1", site)
    with pytest.raises(AuthFailed):
        client.vims.update_vim("site1", config={"password": "not-the-password"})
    assert client.vims.credentials(client.vims.get_vim(vim.id)).password == site["password"]
    with pytest.raises(Conflict):
        client.vims.register_vim("site1", site)


def test_health_flips_to_unreachable_when_keystone_stops(client, site, heat_service,
                                                          tmp_path):
    """A second Keystone of our own, so stopping it disturbs no other test."""
    own = KeystoneService(tmp_path / "keystone2", Paths.from_env().cache_dir)
    own.start()
    try:
        own.ensure_service_endpoints("orchestration", "heat", heat_service.endpoint_url,
                                     ["RegionOne"])
        own.ensure_project_user("p2", "u2", "pw-2-long-enough")
        vim = client.vims.register_vim("site2", {
            "auth_url": own.auth_url, "username": "u2", "password": "pw-2-long-enough",
            "project_name": "p2"})
        assert vim.status is VimStatus.REACHABLE, vim.status_reason
        [checked] = client.vims.check_vims(["site2"])
        assert checked.status is VimStatus.REACHABLE
    finally:
        own.stop()
    [checked] = client.vims.check_vims(["site2"])
    assert checked.status is VimStatus.UNREACHABLE
    assert "did not answer" in checked.status_reason
    assert client.vims.find_vim("site2").status_checked_at == checked.status_checked_at
