"""`nfv vim ...` end to end in-process: real store and vault, Keystone mocked."""

from __future__ import annotations

import json

import pytest
import yaml

from nfvcli.shell import main
from tests.unit.conftest import AUTH_URL

SECRET = "s3cret"


@pytest.fixture
def config_file(tmp_path):
    def write(**values):
        data = {"auth_url": AUTH_URL, "username": "alice", "password": SECRET,
                "project_name": "demo", "project_domain_name": "Default",
                "user_domain_name": "Default", "cert_verify": "True"}
        data.update(values)
        path = tmp_path / f"vim-{len(list(tmp_path.iterdir()))}.yaml"
        path.write_text(yaml.safe_dump({k: v for k, v in data.items() if v is not None}))
        return str(path)
    return write


def run(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse rejects an option value
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_register_list_show_in_every_format(nfv_home, keystone, config_file, capsys):
    code, out, err = run(capsys, "vim", "register", "site1", "--config-file",
                         config_file(), "--is-default", "-f", "json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["name"] == "site1" and shown["is_default"] is True
    assert shown["auth_cred"]["password"] == "***"
    assert shown["placement_attr"] == {"regions": ["RegionOne", "RegionTwo"]}
    assert shown["project_id"] == "local"
    assert shown["status"] == "REACHABLE"

    code, out, _ = run(capsys, "vim", "list", "-f", "json")
    assert code == 0
    [row] = json.loads(out)
    assert list(row) == ["ID", "Name", "Tenant_id", "Type", "Is Default", "Status"]
    assert row["Name"] == "site1" and row["Status"] == "REACHABLE"

    code, out, _ = run(capsys, "vim", "list", "--long", "-f", "json")
    [row] = json.loads(out)
    assert row["Placement attribution"] == {"regions": ["RegionOne", "RegionTwo"]}

    code, out, _ = run(capsys, "vim", "show", "site1", "-f", "yaml")
    assert code == 0
    data = yaml.safe_load(out)
    assert data["extra"] == {} and data["auth_cred"]["password"] == "***"

    outputs = [out]
    for fmt in ("table", "value", "shell"):
        code, out, _ = run(capsys, "vim", "show", "site1", "-f", fmt)
        assert code == 0 and "site1" in out
        outputs.append(out)
    for fmt in ("table", "csv", "value", "yaml", "json"):
        code, out, _ = run(capsys, "vim", "list", "--long", "-f", fmt)
        assert code == 0 and "site1" in out
        outputs.append(out)
    assert all(SECRET not in o for o in outputs)


def test_debug_output_and_log_file_hold_no_secret(nfv_home, keystone, config_file,
                                                  capsys, tmp_path, caplog):
    log = tmp_path / "nfv.log"
    code, out, err = run(capsys, "--debug", "--log-file", str(log), "vim", "register",
                         "site1", "--config-file", config_file())
    assert code == 0
    logged = log.read_text()
    assert "auth/tokens" in logged  # the debug log really shows the requests
    assert SECRET not in out and SECRET not in err
    assert SECRET not in logged and SECRET not in caplog.text


@pytest.mark.parametrize("content, code, words", [
    ("auth_url: [\n", 2, "not valid YAML"),
    ("username: alice\n", 2, "missing key(s) auth_url, password, project_name"),
    ("- a\n- b\n", 2, "must hold a YAML mapping"),
    (f"auth_url: {AUTH_URL}\nusername: alice\npassword: wrong\nproject_name: demo\n",
     5, "refused user 'alice'"),
    (f"auth_url: {AUTH_URL}\nusername: alice\npassword: x\nproject_name: demo\n"
     "cert_verify: maybe\n", 2, "cert_verify must be True or False"),
])
def test_bad_input_one_line_error_nothing_written(nfv_home, keystone, tmp_path,
                                                  capsys, content, code, words):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    got, out, err = run(capsys, "vim", "register", "site1", "--config-file", str(path))
    assert got == code
    assert words in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "wrong" not in err
    assert run(capsys, "vim", "list", "-f", "value")[1] == ""


def test_missing_config_file(nfv_home, capsys):
    code, _, err = run(capsys, "vim", "register", "x", "--config-file", "/nonexistent.yaml")
    assert code == 2 and "cannot read config file /nonexistent.yaml" in err


def test_unreachable_keystone(nfv_home, config_file, capsys):
    code, _, err = run(capsys, "vim", "register", "x", "--config-file",
                       config_file(auth_url="http://127.0.0.1:9/v3"))
    assert code == 6
    assert "did not answer (Connection refused)" in err and err.count("\n") == 1


def test_duplicate_and_second_default(nfv_home, keystone, config_file, capsys):
    assert run(capsys, "vim", "register", "a", "--config-file", config_file(),
               "--is-default")[0] == 0
    code, _, err = run(capsys, "vim", "register", "a", "--config-file", config_file())
    assert code == 4 and "already exists" in err
    code, _, err = run(capsys, "vim", "register", "b", "--config-file", config_file(),
                       "--is-default")
    assert code == 4 and "vim set a --is-default False" in err
    assert len(run(capsys, "vim", "list", "-f", "value")[1].splitlines()) == 1


def test_set_and_delete_several(nfv_home, keystone, config_file, capsys):
    run(capsys, "vim", "register", "a", "--config-file", config_file())
    run(capsys, "vim", "register", "b", "--config-file", config_file())
    code, out, err = run(capsys, "vim", "set", "a", "--name", "a2", "--description",
                         "hello", "--is-default", "True", "-f", "json")
    assert code == 0, err
    data = json.loads(out)
    assert (data["name"], data["description"], data["is_default"]) == ("a2", "hello", True)
    code, _, err = run(capsys, "vim", "set", "a2", "--is-default", "maybe")
    assert code == 2 and "expected True or False" in err

    code, out, err = run(capsys, "vim", "delete", "a2", "nope", "b")
    assert code == 3
    assert out.splitlines() == ["Deleted a2", "Cannot delete nope: no VIM named or "
                                "with id 'nope'; list VIMs with 'vim list'",
                                "Deleted b"]
    assert err.splitlines() == ["nfv: error: 1 of 3 VIMs failed to delete; first: "
                                "Cannot delete nope: no VIM named or with id 'nope'; "
                                "list VIMs with 'vim list'"]
    assert run(capsys, "vim", "list", "-f", "value")[1] == ""
    code, out, _ = run(capsys, "vim", "register", "c", "--config-file", config_file())
    code, out, _ = run(capsys, "vim", "delete", "c")
    assert code == 0 and "deleted successfully" in out


def test_check_exit_code_and_rotate(nfv_home, keystone, config_file, capsys,
                                    requests_mock):
    import requests

    from tests.unit.conftest import HEAT

    run(capsys, "vim", "register", "a", "--config-file", config_file())
    code, out, _ = run(capsys, "vim", "check", "-f", "json")
    assert code == 0 and json.loads(out)[0]["Status"] == "REACHABLE"
    requests_mock.get(HEAT["RegionOne"] + "/stacks",
                      exc=requests.exceptions.ConnectTimeout("timed out"))
    code, out, _ = run(capsys, "vim", "check", "a", "-f", "json")
    assert code == 6
    assert "RegionOne" in json.loads(out)[0]["Status Reason"]
    code, out, _ = run(capsys, "vim", "list", "-f", "json")
    assert json.loads(out)[0]["Status"] == "UNREACHABLE"
    code, out, _ = run(capsys, "vim", "rotate-keys")
    assert code == 0 and "Rotated the keys of 1 VIM(s)" in out


def test_debug_shows_traceback(nfv_home, capsys):
    code, _, err = run(capsys, "--debug", "vim", "show", "nope")
    assert code == 3 and "Traceback" in err


def test_remote_rotate_is_unsupported(nfv_home, capsys, monkeypatch):
    for k, v in {"OS_AUTH_URL": AUTH_URL, "OS_USERNAME": "u", "OS_PASSWORD": "p",
                 "OS_PROJECT_NAME": "demo"}.items():
        monkeypatch.setenv(k, v)
    code, _, err = run(capsys, "--os-nfv-mode", "remote", "vim", "rotate-keys")
    assert code == 9 and "local vault" in err


def test_delete_of_a_vim_in_use_is_a_conflict(nfv_home, keystone, config_file, capsys):
    from pathlib import Path

    import nfvlib
    from nfvlib.lcm.catalog import LocalPackages, LocalVnfs
    from tests.unit.vim.test_registry import place

    run(capsys, "vim", "register", "site", "--config-file", config_file())
    client = nfvlib.Client()
    packages = LocalPackages(client.store, client.paths.data_dir / "packages")
    info = packages.upload_package(packages.create_package().id,
                                   Path(nfvlib.__file__).parent / "samples" / "sample_vnf")
    vnf = LocalVnfs(client.store, packages).create_vnf(info.vnfd_id)
    place(client.store, vnf.id, client.vims.find_vim("site").id)
    client.close()

    code, out, err = run(capsys, "vim", "delete", "site")
    assert code == 4 and out == ""
    [failure] = err.splitlines()
    assert failure.startswith("nfv: error: Cannot delete site: VIM 'site' is used by "
                              "1 VNF instance")
    assert vnf.id in failure and "terminate" in failure
    assert "site" in run(capsys, "vim", "list", "-f", "value")[1]


def test_remote_mode_with_os_cloud(nfv_home, keystone, capsys, tmp_path, monkeypatch,
                                   requests_mock):
    """`nfv --os-nfv-mode remote` authenticates with a clouds.yaml cloud, as OSC does."""
    import os

    for name in list(os.environ):
        if name.startswith("OS_"):
            monkeypatch.delenv(name)
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {"mycloud": {"auth": {
        "auth_url": AUTH_URL, "username": "alice", "password": SECRET,
        "project_name": "demo", "project_domain_name": "Default",
        "user_domain_name": "Default"}, "auth_type": "v3password"}}}))
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(clouds))
    monkeypatch.setenv("OS_CLOUD", "mycloud")
    monkeypatch.setenv("OS_TACKER_URL", "http://tacker.test:9890")
    monkeypatch.setenv("OS_INSECURE", "false")
    requests_mock.get("http://tacker.test:9890/v1.0/vims", json={"vims": []})
    code, out, err = run(capsys, "--os-nfv-mode", "remote", "vim", "list", "-f", "json")
    assert code == 0, err
    assert json.loads(out) == []
    assert requests_mock.last_request.headers["X-Auth-Token"] == "tok"
    assert requests_mock.last_request.verify is not False  # True or a CA bundle
    assert requests_mock.last_request.timeout == 60
