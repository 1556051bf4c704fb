"""`nfv vim ...` end to end in-process: real store and vault, Keystone mocked."""

from __future__ import annotations

import importlib

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


# -- hostile input: one line, a documented exit code, nothing changed ---------

def state(home):
    """A hash of every store row and every key file (name and content)."""
    import hashlib
    import sqlite3

    digest = hashlib.sha256()
    store = home / "nfv.sqlite"
    if store.exists():
        conn = sqlite3.connect(store)
        try:
            for line in conn.iterdump():
                digest.update(line.encode())
        finally:
            conn.close()
    keys = home / "keys"
    if keys.is_dir():
        for path in sorted(keys.iterdir()):
            digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def one_error(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("nfv: error: ") and "Traceback" not in err
    assert "\x1b" not in err
    return lines[0]


def alias_bomb(key):
    """About 500 bytes standing for 9**9 values: each level nine aliases deep."""
    items = ["&a0 [x, x, x, x, x, x, x, x, x]"]
    items += [f"&a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 9)]
    return f"{key}: [{', '.join(items)}]\n"


GOOD = (f"auth_url: {AUTH_URL}\nusername: alice\npassword: {SECRET}\n"
        "project_name: demo\n")


@pytest.fixture
def registered(nfv_home, keystone, config_file, capsys):
    code, _, err = run(capsys, "vim", "register", "site", "--config-file", config_file())
    assert code == 0, err
    return nfv_home


@pytest.mark.parametrize("argv, content, words", [
    (("bomb",), GOOD + alias_bomb("cert_verify"), "aliases (*name) are expanded"),
    (("bomb",), GOOD + alias_bomb("type"), "aliases (*name) are expanded"),
    (("deep",), GOOD + "cert_verify: " + "[" * 3000 + "]" * 3000 + "\n",
     "nesting is deeper than 8 levels"),
    (("zero",), "/dev/zero", "is larger than 64 KiB"),
    (("big",), GOOD.replace("alice", "a" * 2_000_000), "is larger than 64 KiB"),
    (("long",), GOOD.replace(SECRET, "p" * 5000),
     "password is 5000 characters long; Keystone accepts at most 4096"),
    (("ipv6",), GOOD.replace(AUTH_URL, "http://[::1:5000/v3"), "Invalid IPv6 URL"),
    (("idna",), GOOD.replace(AUTH_URL, "http://a..b:5000/v3"), "invalid host name"),
    (("idna",), GOOD.replace(AUTH_URL, f"http://{'x' * 64}.test/v3"),
     "invalid host name"),
    (("new\nline",), GOOD, "VIM name 'new\\nline' holds a newline (U+000A)"),
    (("t\tab",), GOOD, "holds a tab (U+0009) at position 2"),
    (("\x1b[31mred",), GOOD, "holds an escape character (U+001B) at position 1"),
    (("ctl\x01",), GOOD, "holds a control character (U+0001)"),
    (("del\x7f",), GOOD, "holds a control character (U+007F)"),
    (("zw\u200bsp",), GOOD, "ZERO WIDTH SPACE (U+200B)"),
    (("n" * 256,), GOOD, "VIM name is 256 characters long; at most 255"),
    (("ok", "--description", "x\x1b]0;title\x07"), GOOD,
     "VIM description 'x\\x1b]0;title\\x07' holds an escape character"),
])
def test_register_refuses_bad_input(registered, tmp_path, capsys, requests_mock,
                                    argv, content, words):
    import time

    path = content if content == "/dev/zero" else tmp_path / "bad.yaml"
    if path != content:
        path.write_text(content)
    before, calls = state(registered), requests_mock.call_count
    start = time.monotonic()
    code, out, err = run(capsys, "vim", "register", *argv, "--config-file", str(path))
    assert time.monotonic() - start < 2
    assert code == 2 and out == ""
    assert words in one_error(err)
    assert len(err) < 600
    assert state(registered) == before
    assert requests_mock.call_count == calls  # refused before any request


@pytest.mark.parametrize("args, words", [
    (("--name", "two\nlines"), "holds a newline"),
    (("--name", "esc\x1bc"), "holds an escape character"),
    (("--description", "d\x00"), "holds a control character (U+0000)"),
    (("--description", "d" * 1025), "at most 1024"),
])
def test_set_refuses_control_characters_and_long_text(registered, capsys, args, words):
    before = state(registered)
    code, out, err = run(capsys, "vim", "set", "site", *args)
    assert code == 2 and out == ""
    assert words in one_error(err)
    assert state(registered) == before


def test_set_refuses_a_bomb_config(registered, tmp_path, capsys):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb("cert_verify"))
    before = state(registered)
    code, _, err = run(capsys, "vim", "set", "site", "--config-file", str(path))
    assert code == 2 and "aliases" in one_error(err)
    assert state(registered) == before


def test_non_utf8_argument_is_one_line(registered, capsys):
    import os

    before = state(registered)
    code, out, err = run(capsys, "vim", "register", os.fsdecode(b"caf\xe9"),
                         "--config-file", "x.yaml")
    assert code == 2 and out == ""
    assert one_error(err) == (
        "nfv: error: command-line argument 3 is not valid UTF-8 text (byte 0xe9 at "
        "character 4); give names, ids and paths as UTF-8 text")
    assert state(registered) == before


def test_non_utf8_argument_in_a_real_process(registered):
    import os
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "nfvcli.shell", b"vim", b"show",
                           b"\xff\xfe"], capture_output=True,
                          env={**os.environ, "NFV_DATA_DIR": str(registered)},
                          timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.decode().splitlines() == [
        "nfv: error: command-line argument 3 is not valid UTF-8 text (byte 0xff at "
        "character 1); give names, ids and paths as UTF-8 text"]


def test_a_closed_reader_ends_the_command_quietly_with_sigpipes_status(registered):
    """``nfv vim list | head -0``: no error line, no "Exception ignored"."""
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the command writes
    try:
        proc = subprocess.run([sys.executable, "-m", "nfvcli.shell", "vim", "list"],
                              stdout=write_end, stderr=subprocess.PIPE, timeout=60,
                              env={**os.environ, "NFV_DATA_DIR": str(registered)})
    finally:
        os.close(write_end)
    assert (proc.returncode, proc.stderr.decode()) == (141, "")


def test_a_reader_gone_while_a_long_list_is_written_is_quiet(registered, capsys,
                                                             monkeypatch):
    from cliff import lister

    import nfvcli.common

    def closed_pipe(self, *args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(lister.Lister, "produce_output", closed_pipe)
    monkeypatch.setattr(nfvcli.common, "reader_gone", lambda: 141)
    code, _, err = run(capsys, "vim", "list")
    assert (code, err) == (141, "")


def test_memory_error_is_one_line(registered, tmp_path, capsys, monkeypatch):
    import nfvlib.vim.config_file

    def exhausted(*args, **kwargs):
        raise MemoryError()

    monkeypatch.setattr(nfvlib.vim.config_file, "load_config_file", exhausted)
    code, _, err = run(capsys, "vim", "register", "x", "--config-file", "x.yaml")
    assert code == 1
    assert "ran out of memory" in one_error(err)


def test_keystone_413_is_invalid_input(nfv_home, keystone, config_file, capsys,
                                       requests_mock):
    requests_mock.post(AUTH_URL + "/auth/tokens", status_code=413,
                       json={"error": {"code": 413, "message": "Request is too large."}})
    code, _, err = run(capsys, "vim", "register", "x", "--config-file", config_file())
    assert code == 2
    line = one_error(err)
    assert "refused the request as too large (HTTP 413)" in line
    assert run(capsys, "vim", "list", "-f", "value")[1] == ""
    assert not (nfv_home / "keys").exists() or not list((nfv_home / "keys").iterdir())


def test_keystone_401_listing_regions_is_auth_failed(nfv_home, keystone, config_file,
                                                     capsys, requests_mock):
    requests_mock.get(AUTH_URL + "/regions", status_code=401,
                      json={"error": {"code": 401, "title": "Unauthorized"}})
    code, _, err = run(capsys, "vim", "register", "x", "--config-file", config_file())
    assert code == 5
    assert "refused the new token when listing regions (HTTP 401)" in one_error(err)


def test_delete_of_an_unknown_vim_is_one_line(registered, capsys):
    before = state(registered)
    code, out, err = run(capsys, "vim", "delete", "nope")
    assert code == 3 and out == ""
    assert one_error(err) == ("nfv: error: Cannot delete nope: no VIM named or with id "
                              "'nope'; list VIMs with 'vim list'")
    assert state(registered) == before


def test_delete_names_with_control_characters_are_escaped(registered, capsys):
    code, out, err = run(capsys, "vim", "delete", "a\x1b[2Jb", "site")
    assert code == 3
    assert "Cannot delete a\\x1b[2Jb" in one_error(err)
    assert "\x1b" not in out and "Deleted site" in out


# -- an undecryptable password ----------------------------------------------

def tamper(home, name):
    """Alter one character of a VIM's stored ciphertext, as a bad restore would."""
    import sqlite3

    conn = sqlite3.connect(home / "nfv.sqlite")
    with conn:
        (token,) = conn.execute("SELECT password_token FROM vims WHERE name = ?",
                                (name,)).fetchone()
        middle = len(token) // 2
        token = token[:middle] + ("A" if token[middle] != "A" else "B") + \
            token[middle + 1:]
        conn.execute("UPDATE vims SET password_token = ? WHERE name = ?", (token, name))
    conn.close()


def key_of(home, name):
    import sqlite3

    conn = sqlite3.connect(home / "nfv.sqlite")
    try:
        return conn.execute("SELECT key_id FROM vims WHERE name = ?",
                            (name,)).fetchone()[0]
    finally:
        conn.close()


def test_tampered_password_check_rotate_and_reenter(registered, config_file, capsys,
                                                   tmp_path):
    assert run(capsys, "vim", "register", "other", "--config-file", config_file())[0] == 0
    tamper(registered, "site")

    code, out, err = run(capsys, "vim", "check", "-f", "json")
    assert code == 7, err
    rows = {r["Name"]: r for r in json.loads(out)}
    assert rows["other"]["Status"] == "REACHABLE"
    assert rows["site"]["Status"] == "ERROR"
    reason = rows["site"]["Status Reason"]
    assert "the stored password of VIM 'site' cannot be decrypted" in reason
    assert "nfv vim set site --config-file FILE" in reason
    assert "key file was replaced" not in reason

    other_key = key_of(registered, "other")
    code, out, err = run(capsys, "vim", "rotate-keys")
    assert code == 7
    line = one_error(err)
    assert line.startswith("nfv: error: rotated the keys of 1 VIM(s) but not of VIM "
                           "'site': the stored password of VIM 'site' cannot be "
                           "decrypted")
    assert key_of(registered, "other") != other_key  # the others were rotated

    # Without a password the VIM cannot be re-validated: one line, exit 7.
    code, _, err = run(capsys, "vim", "set", "site", "--config-file",
                       config_file(password=None, username="alice"))
    assert code == 7 and "cannot be decrypted" in one_error(err)
    # Re-entering the password repairs it.
    password_only = tmp_path / "password.yaml"
    password_only.write_text(f"password: {SECRET}\n")
    code, _, err = run(capsys, "vim", "set", "site", "--config-file", str(password_only))
    assert code == 0, err
    code, out, _ = run(capsys, "vim", "check", "-f", "json")
    assert code == 0
    assert {r["Status"] for r in json.loads(out)} == {"REACHABLE"}
    assert run(capsys, "vim", "rotate-keys")[0] == 0


#: The attributes of a VIM record as Tacker's /v1.0/vims answers them
TACKER_VIM_KEYS = {"id", "name", "tenant_id", "type", "description", "auth_url",
                   "auth_cred", "vim_project", "placement_attr", "is_default", "status",
                   "created_at", "updated_at", "extra"}


def test_vim_columns_are_tackerclients(nfv_home, keystone, config_file, capsys):
    """list (short and --long) and show name their columns as python-tackerclient."""
    tc_vim = importlib.import_module("tackerclient.osc.v1.nfvo.vim")
    from tackerclient.osc import utils as tc_utils

    code, _, err = run(capsys, "vim", "register", "site1", "--config-file", config_file())
    assert code == 0, err
    for argv, long_listing in (((), False), (("--long",), True)):
        code, out, _ = run(capsys, "vim", "list", *argv, "-f", "json")
        [row] = json.loads(out)
        headers, _ = tc_utils.get_column_definitions(tc_vim._attr_map, long_listing)
        # python-tackerclient's columns first, in its order; nfvkit's own after
        assert list(row)[:len(headers)] == headers
        assert list(row)[len(headers):] == (["Checked At", "Status Reason"]
                                            if long_listing else [])
    code, out, _ = run(capsys, "vim", "show", "site1", "-f", "json")
    shown = json.loads(out)
    record = {("tenant_id" if k == "project_id" else k): v for k, v in shown.items()}
    display, _ = tc_vim._get_columns({k: v for k, v in record.items()
                                      if k in TACKER_VIM_KEYS})
    assert list(shown)[:len(display)] == list(display)
    assert list(shown)[len(display):] == ["orchestration_endpoints", "status_checked_at",
                                          "status_reason"]
