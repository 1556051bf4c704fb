"""The local VIM registry over a real store and vault, Keystone on requests-mock."""

from __future__ import annotations

import os
import stat

import pytest

import nfvlib
from nfvlib import AuthFailed, Conflict, InvalidInput, VimNotFound, VimStatus
from nfvlib.exceptions import VimUnreachable
from tests.unit.conftest import AUTH_URL, HEAT, vim_config


@pytest.fixture
def client(nfv_home):
    c = nfvlib.Client()
    yield c
    c.close()


def test_register_stores_regions_endpoints_and_health(client, keystone):
    vim = client.vims.register_vim("site1", vim_config(), description="d")
    assert vim.regions == ("RegionOne", "RegionTwo")
    assert vim.orchestration_endpoints == HEAT
    assert vim.project_id == "p1"
    assert vim.status is VimStatus.REACHABLE
    assert vim.credentials.password is None
    again = client.vims.find_vim("site1")
    assert again == vim
    assert client.vims.find_vim(vim.id) == vim
    assert client.vims.credentials(vim).password == "s3cret"


def test_password_is_not_in_store_in_clear(client, keystone, nfv_home):
    keystone.password = "very-secret-pw"
    client.vims.register_vim("site1", vim_config(password="very-secret-pw"))
    client.close()
    for path in nfv_home.rglob("*"):
        if path.is_file():
            assert b"very-secret-pw" not in path.read_bytes(), path


def test_key_file_modes(client, keystone):
    client.vims.register_vim("site1", vim_config())
    key_dir = client.paths.key_dir
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    keys = list(key_dir.iterdir())
    assert len(keys) == 1
    assert stat.S_IMODE(keys[0].stat().st_mode) == 0o600


def test_wrong_password_is_auth_failed_and_stores_nothing(client, keystone):
    with pytest.raises(AuthFailed) as err:
        client.vims.register_vim("site1", vim_config(password="nope"))
    assert "alice" in str(err.value) and "\n" not in str(err.value)
    assert "nope" not in str(err.value)
    assert client.vims.list_vims() == []
    assert not client.paths.key_dir.exists() or not any(client.paths.key_dir.iterdir())


def test_unreachable_keystone(client, requests_mock):
    import requests

    requests_mock.get(AUTH_URL, exc=requests.exceptions.ConnectionError("refused"))
    with pytest.raises(VimUnreachable):
        client.vims.register_vim("site1", vim_config())
    assert client.vims.list_vims() == []


def test_url_that_is_not_keystone(client, requests_mock):
    requests_mock.get(AUTH_URL, status_code=404, text="not here")
    with pytest.raises(InvalidInput, match="not a Keystone v3 endpoint"):
        client.vims.register_vim("site1", vim_config())


def test_no_heat_in_catalog_registers_unreachable(client, requests_mock):
    from tests.unit.conftest import FakeKeystone

    FakeKeystone(requests_mock, heat={})
    vim = client.vims.register_vim("site1", vim_config())
    assert vim.status is VimStatus.UNREACHABLE
    assert "no orchestration" in vim.status_reason


def test_duplicate_name_and_second_default(client, keystone):
    client.vims.register_vim("site1", vim_config(), is_default=True)
    calls = keystone.mocker.call_count
    with pytest.raises(Conflict, match="already exists"):
        client.vims.register_vim("site1", vim_config())
    with pytest.raises(Conflict, match="already the default"):
        client.vims.register_vim("site2", vim_config(), is_default=True)
    # refused before asking Keystone
    assert keystone.mocker.call_count == calls
    # the same name in another project is fine
    other = client.vims.register_vim("site1", vim_config(), tenant_id="t2")
    assert other.tenant_id == "t2"
    assert len(list(client.paths.key_dir.iterdir())) == 2


def test_default_vim_and_set_default(client, keystone):
    with pytest.raises(VimNotFound):
        client.vims.default_vim()
    a = client.vims.register_vim("a", vim_config(), is_default=True)
    b = client.vims.register_vim("b", vim_config())
    assert client.vims.default_vim().id == a.id
    with pytest.raises(Conflict):
        client.vims.update_vim("b", is_default=True)
    client.vims.update_vim("a", is_default=False)
    client.vims.update_vim("b", is_default=True)
    assert client.vims.default_vim().id == b.id


def test_update_name_description_and_password(client, keystone):
    vim = client.vims.register_vim("a", vim_config())
    old_keys = set(os.listdir(client.paths.key_dir))
    keystone.password = "n3w"
    updated = client.vims.update_vim("a", config={"password": "n3w"}, name="b",
                                     description="new")
    assert (updated.name, updated.description) == ("b", "new")
    assert updated.updated_at is not None
    assert client.vims.credentials(updated).password == "n3w"
    new_keys = set(os.listdir(client.paths.key_dir))
    assert len(new_keys) == 1 and new_keys != old_keys
    with pytest.raises(VimNotFound):
        client.vims.find_vim("a")
    assert client.vims.get_vim(vim.id).name == "b"


def test_update_with_wrong_password_changes_nothing(client, keystone):
    vim = client.vims.register_vim("a", vim_config())
    with pytest.raises(AuthFailed):
        client.vims.update_vim("a", config={"password": "bad"}, name="b")
    assert client.vims.find_vim("a") == vim
    assert client.vims.credentials(vim).password == "s3cret"


def test_update_nothing_and_type_change(client, keystone):
    client.vims.register_vim("a", vim_config())
    with pytest.raises(InvalidInput, match="nothing to change"):
        client.vims.update_vim("a")


def test_delete_removes_row_and_key(client, keystone):
    client.vims.register_vim("a", vim_config())
    client.vims.delete_vim("a")
    assert client.vims.list_vims() == []
    assert list(client.paths.key_dir.iterdir()) == []
    with pytest.raises(VimNotFound):
        client.vims.delete_vim("a")


def test_check_flips_to_unreachable_and_back(client, keystone, requests_mock):
    import requests

    vim = client.vims.register_vim("a", vim_config())
    requests_mock.get(HEAT["RegionTwo"] + "/stacks",
                      exc=requests.exceptions.ConnectionError("Connection refused"))
    [checked] = client.vims.check_vims(["a"])
    assert checked.status is VimStatus.UNREACHABLE
    assert "RegionTwo" in checked.status_reason
    assert "RegionOne" not in checked.status_reason
    stored = client.vims.get_vim(vim.id)
    assert stored.status is VimStatus.UNREACHABLE
    assert stored.status_checked_at
    requests_mock.get(HEAT["RegionTwo"] + "/stacks", json={"stacks": []})
    [checked] = client.vims.check_vims()
    assert checked.status is VimStatus.REACHABLE and checked.status_reason == ""


def test_check_auth_failure_is_unreachable_with_reason(client, keystone):
    client.vims.register_vim("a", vim_config())
    keystone.password = "changed-elsewhere"
    [checked] = client.vims.check_vims()
    assert checked.status is VimStatus.UNREACHABLE
    assert "refused user 'alice'" in checked.status_reason


def test_rotate_keys_reencrypts_and_retires_old_keys(client, keystone):
    client.vims.register_vim("a", vim_config())
    client.vims.register_vim("b", vim_config(), tenant_id="t2")
    before = set(os.listdir(client.paths.key_dir))
    assert client.vims.rotate_keys() == 2
    after = set(os.listdir(client.paths.key_dir))
    assert len(after) == 2 and not (before & after)
    for vim in client.vims.list_vims():
        assert client.vims.credentials(vim).password == "s3cret"


def test_rotate_after_crash_between_key_write_and_commit(client, keystone):
    """A key written but never committed is an orphan; nothing is lost."""
    vim = client.vims.register_vim("a", vim_config())
    orphan = client.vims._vault.new_key()  # as if rotation died right here
    assert client.vims.credentials(vim).password == "s3cret"
    old = os.path.getmtime(client.paths.key_dir / f"{orphan}.key") - 3600
    os.utime(client.paths.key_dir / f"{orphan}.key", (old, old))
    client.vims.rotate_keys()
    assert not (client.paths.key_dir / f"{orphan}.key").exists()
    assert client.vims.credentials(client.vims.find_vim("a")).password == "s3cret"


def test_unsafe_key_is_refused(client, keystone):
    from nfvlib import VaultError

    vim = client.vims.register_vim("a", vim_config())
    [key] = client.paths.key_dir.iterdir()
    key.chmod(0o644)
    with pytest.raises(VaultError, match="chmod 600"):
        client.vims.credentials(vim)
