"""`openstack vim ...` through the OpenStackClient plugin, in local mode."""

from __future__ import annotations

import importlib

import json
import os

import pytest
import yaml

from tests.unit.conftest import AUTH_URL

from openstackclient import shell as openstackclient_shell


@pytest.fixture
def no_cloud(monkeypatch, nfv_home):
    """No cloud credentials at all: local mode must not ask for them."""
    for name in list(os.environ):
        if name.startswith("OS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("OS_NFV_MODE", "local")
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", "/nonexistent/clouds.yaml")
    return nfv_home


def openstack(capsys, *argv):
    try:
        code = openstackclient_shell.main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_register_list_show_set_delete_without_credentials(no_cloud, keystone, capsys,
                                                           tmp_path):
    config = tmp_path / "vim.yaml"
    config.write_text(yaml.safe_dump({
        "auth_url": AUTH_URL, "username": "alice", "password": "s3cret",
        "project_name": "demo", "project_domain_name": "Default",
        "user_domain_name": "Default", "cert_verify": True}))
    code, out, err = openstack(capsys, "vim", "register", "site1", "--config-file",
                               str(config), "--description", "d", "--is-default",
                               "-f", "json")
    assert code == 0, err
    assert json.loads(out)["auth_cred"]["password"] == "***"
    code, out, err = openstack(capsys, "vim", "list", "--long", "-f", "json")
    assert code == 0, err
    [row] = json.loads(out)
    assert list(row)[:5] == ["ID", "Name", "Tenant_id", "Type", "Is Default"]
    assert row["Placement attribution"] == {"regions": ["RegionOne", "RegionTwo"]}
    code, out, err = openstack(capsys, "vim", "set", "site1", "--is-default", "False",
                               "-f", "json")
    assert code == 0 and json.loads(out)["is_default"] is False, err
    code, out, err = openstack(capsys, "vim", "show", "site1", "-f", "yaml")
    assert code == 0 and yaml.safe_load(out)["name"] == "site1"
    code, out, err = openstack(capsys, "vim", "delete", "site1")
    assert code == 0 and "deleted successfully" in out
    assert "s3cret" not in out + err


def test_errors_are_one_line_with_the_mapped_exit_code(no_cloud, capsys):
    code, out, err = openstack(capsys, "vim", "show", "nope")
    assert code == 3
    assert "no VIM named or with id 'nope'" in err and "Traceback" not in err


def test_remote_mode_asks_for_credentials(no_cloud):
    """A separate process: in-process runs share openstack's logging set-up."""
    import subprocess
    import sys

    env = dict(os.environ, OS_NFV_MODE="remote")
    proc = subprocess.run([sys.executable, "-m", "openstackclient.shell", "vim", "list"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode != 0
    assert "auth-url" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("tacker_last", [True, False])
def test_nfvkit_serves_shared_command_names_whatever_the_plugin_order(
        no_cloud, capsys, monkeypatch, tacker_last):
    """With python-tackerclient installed too, ``openstack vim list`` is ours.

    OSC loads plugins' command groups in entry-point order and cliff keeps the
    last command loaded under a name; nfvkit's plugin loads its group last.
    """
    tacker = importlib.import_module("tackerclient.osc.plugin")
    from openstackclient.common import clientmanager

    import nfvcli.plugin

    others = [m for m in clientmanager.PLUGIN_MODULES
              if m not in (tacker, nfvcli.plugin)]
    order = [nfvcli.plugin, tacker] if tacker_last else [tacker, nfvcli.plugin]
    monkeypatch.setattr(clientmanager, "PLUGIN_MODULES", others + order)
    code, out, err = openstack(capsys, "vim", "list", "-f", "json")
    assert code == 0 and json.loads(out) == [], err
    code, out, err = openstack(capsys, "help", "vim", "list")
    assert code == 0 and "(nfvkit)" in out, err
    assert clientmanager.PLUGIN_MODULES[-1] is nfvcli.plugin


@pytest.mark.parametrize("tackerclient, argv, expected", [
    (False, [], 2),
    (False, ["--os-tacker-api-version", "1"], 1),
    (True, [], None),
])
def test_tacker_api_version_option_is_added_unless_tackerclient_adds_it(
        monkeypatch, tackerclient, argv, expected):
    import argparse

    import nfvcli.plugin

    monkeypatch.delenv("OS_TACKER_API_VERSION", raising=False)
    monkeypatch.setattr(nfvcli.plugin, "_tackerclient_installed", lambda: tackerclient)
    parser = nfvcli.plugin.build_option_parser(argparse.ArgumentParser())
    if expected is None:
        assert "--os-tacker-api-version" not in parser._option_string_actions
        tacker = importlib.import_module("tackerclient.osc.plugin")
        tacker.build_option_parser(parser)  # no clash with python-tackerclient's
        return
    options = parser.parse_args(argv)
    config = {"tacker_api_version": options.os_tacker_api_version}
    assert nfvcli.plugin.lcm_api_version(config) == expected


@pytest.mark.parametrize("config, env, expected", [
    ({"nfv_mode": "remote", "tacker_api_version": "1"}, None, 1),
    ({"nfv_mode": "remote"}, "1", 1),
    ({"nfv_mode": "remote"}, None, 2),
])
def test_remote_client_speaks_the_lcm_api_version_given(monkeypatch, config, env,
                                                        expected):
    from types import SimpleNamespace

    from keystoneauth1 import session

    import nfvcli.plugin

    monkeypatch.delenv("OS_TACKER_API_VERSION", raising=False)
    if env:
        monkeypatch.setenv("OS_TACKER_API_VERSION", env)
    instance = SimpleNamespace(_cli_options=SimpleNamespace(config=config),
                               session=session.Session(), region_name=None)
    assert nfvcli.plugin.make_client(instance).lcm_api_version == expected


def test_each_openstack_run_in_a_process_gets_its_own_client(no_cloud, keystone, capsys,
                                                             tmp_path, monkeypatch):
    """OpenStackClient builds a plugin's client once per process; a second run
    (another store here) must not reuse the first run's."""
    config = tmp_path / "vim.yaml"
    config.write_text(yaml.safe_dump({"auth_url": AUTH_URL, "username": "alice",
                                      "password": "s3cret", "project_name": "demo"}))
    monkeypatch.setenv("NFV_DATA_DIR", str(tmp_path / "first"))
    code, _, err = openstack(capsys, "vim", "register", "site1", "--config-file",
                             str(config))
    assert code == 0, err
    monkeypatch.setenv("NFV_DATA_DIR", str(tmp_path / "second"))
    code, out, err = openstack(capsys, "vim", "list", "-f", "json")
    assert (code, json.loads(out)) == (0, []), err
