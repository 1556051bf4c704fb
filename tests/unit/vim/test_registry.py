"""The local VIM registry over a real store and vault, Keystone on requests-mock."""

from __future__ import annotations

import dataclasses
import os
import stat
from pathlib import Path

import pytest

import nfvlib
from nfvlib import AuthFailed, Conflict, InvalidInput, VimNotFound, VimStatus
from nfvlib.exceptions import VimUnreachable
from nfvlib.models import InstantiationState
from nfvlib.store import Store
from nfvlib.store.lcm import VnfTable
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


# -- a VIM in use ----------------------------------------------------------------
SAMPLE = Path(nfvlib.__file__).parent / "samples" / "sample_vnf"
LEVEL_1 = {"flavourId": "simple", "instantiationLevelId": "instantiation_level_1"}


@pytest.fixture
def make_vnf(client):
    """Insert VNF instance rows, optionally running on a VIM (as after instantiate)."""
    from nfvlib.lcm.catalog import LocalPackages, LocalVnfs

    packages = LocalPackages(client.store, client.paths.data_dir / "packages")
    info = packages.upload_package(packages.create_package().id, str(SAMPLE))
    vnfs = LocalVnfs(client.store, packages)

    def make(vim=None, region="RegionOne"):
        vnf = vnfs.create_vnf(info.vnfd_id)
        if vim is not None:
            place(client.store, vnf.id, vim.id, region)
        return vnf
    make.vnfs = vnfs
    make.packages = packages
    return make


def place(store, vnf_id, vim_id, region="RegionOne"):
    """Record a VNF as instantiated on a VIM (or, with vim_id None, terminated)."""
    state = InstantiationState.INSTANTIATED if vim_id else \
        InstantiationState.NOT_INSTANTIATED
    table = VnfTable(store)
    with store.transaction() as conn:
        table.update(conn, dataclasses.replace(
            table.get(vnf_id), vim_id=vim_id, region=region if vim_id else None,
            instantiation_state=state))


def test_delete_of_a_vim_an_instance_runs_on_is_refused(client, keystone, make_vnf):
    vim = client.vims.register_vim("site", vim_config())
    other = client.vims.register_vim("other", vim_config())
    vnf = make_vnf(vim)
    with pytest.raises(Conflict) as err:
        client.vims.delete_vim("site")
    text = str(err.value)
    assert "\n" not in text and vnf.id in text and "1 VNF instance(s)" in text
    assert "terminate" in text
    assert client.vims.get_vim(vim.id) == vim
    assert client.vims.credentials(vim).password == "s3cret"  # key kept
    client.vims.delete_vim("other")  # a VIM nobody uses goes
    assert [v.id for v in client.vims.list_vims()] == [vim.id] != [other.id]
    place(client.store, vnf.id, None)  # terminated
    client.vims.delete_vim("site")
    assert client.vims.list_vims() == []


def test_delete_names_the_first_instances_and_the_count(client, keystone, make_vnf):
    vim = client.vims.register_vim("site", vim_config())
    vnfs = [make_vnf(vim) for _ in range(5)]
    with pytest.raises(Conflict) as err:
        client.vims.delete_vim(vim.id)
    text = str(err.value)
    assert "5 VNF instance(s)" in text and text.count(", ") >= 3 and "..." in text
    assert sum(v.id in text for v in vnfs) == 3


def start_op(store, vnf_id, request, context=None, state="STARTING"):
    """An INSTANTIATE occurrence row, as LocalLcm.instantiate leaves it."""
    import json
    import uuid

    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO op_occs (id, vnf_instance_id, operation, state, start_time, "
            "state_entered_time, request, context) VALUES (?, ?, 'INSTANTIATE', ?, "
            "'2024-01-01T00:00:00', '2024-01-01T00:00:00', ?, ?)",
            (str(uuid.uuid4()), vnf_id, state, json.dumps(request),
             json.dumps(context or {})))


def test_delete_is_refused_while_an_unfinished_operation_names_the_vim(
        client, keystone, make_vnf):
    named = client.vims.register_vim("named", vim_config())
    default = client.vims.register_vim("default", vim_config(), is_default=True)
    validated = client.vims.register_vim("validated", vim_config())
    spare = client.vims.register_vim("spare", vim_config())
    by_name, unnamed, in_context, done = (make_vnf() for _ in range(4))
    start_op(client.store, by_name.id, dict(LEVEL_1, vimConnectionInfo={
        "v": {"vimId": "named", "vimType": "ETSINFV.OPENSTACK_KEYSTONE.V_3"}}))
    start_op(client.store, unnamed.id, LEVEL_1)  # runs on the default VIM
    start_op(client.store, in_context.id, LEVEL_1, state="FAILED_TEMP",
             context={"vim_id": validated.id, "region": "RegionTwo"})
    start_op(client.store, done.id, dict(LEVEL_1, vimConnectionInfo={
        "v": {"vimId": spare.id}}), state="ROLLED_BACK")
    for vim, user in ((named, by_name), (default, unnamed), (validated, in_context)):
        with pytest.raises(Conflict, match=user.id):
            client.vims.delete_vim(vim.id)
    client.vims.delete_vim(spare.id)  # only a finished occurrence named it


def test_delete_checks_in_its_own_transaction(client, keystone, make_vnf, monkeypatch):
    """An instance placed on the VIM after the lookup, before the delete, counts."""
    vim = client.vims.register_vim("site", vim_config())
    vnf = make_vnf()
    other = Store(client.store.path)  # another process
    real = client.store.transaction

    def racing_transaction():
        place(other, vnf.id, vim.id)
        return real()
    monkeypatch.setattr(client.store, "transaction", racing_transaction)
    with pytest.raises(Conflict, match=vnf.id):
        client.vims.delete_vim("site")
    other.close()
    assert client.vims.get_vim(vim.id).name == "site"


def test_new_credentials_keep_id_extra_and_regions_in_use(client, keystone, make_vnf,
                                                          requests_mock):
    from tests.unit.conftest import FakeKeystone

    extra = {"heat_environment": {"parameter_defaults": {"net": "n1"}}}
    vim = client.vims.register_vim("site", vim_config(), extra=extra)
    vnf = make_vnf(vim, region="RegionTwo")
    keystone.password = "n3w"
    updated = client.vims.update_vim("site", config={"password": "n3w"})
    assert (updated.id, updated.extra, updated.regions) == (
        vim.id, extra, ("RegionOne", "RegionTwo"))
    assert client.vims.get_vim(vim.id) == updated

    # The site's Keystone now lists RegionOne only: RegionTwo's instance would be lost.
    FakeKeystone(requests_mock, heat={"RegionOne": HEAT["RegionOne"]}, password="n3w2")
    with pytest.raises(Conflict) as err:
        client.vims.update_vim("site", config={"password": "n3w2"})
    assert "RegionTwo" in str(err.value) and vnf.id in str(err.value)
    assert client.vims.get_vim(vim.id) == updated
    assert client.vims.credentials(updated).password == "n3w"
    assert len(list(client.paths.key_dir.glob("*.key"))) == 1  # the new key went again


def test_update_does_not_decrypt_an_unchanged_password_again(client, keystone,
                                                           monkeypatch):
    """Before writing, the stored key id and token are compared with the ones the
    password was read from; only when they differ is the password decrypted again."""
    client.vims.register_vim("site", vim_config())
    vault = client.vims.vault
    real = vault.decrypt
    decrypted = []

    def counting(key_id, token, **kwargs):
        decrypted.append(key_id)
        return real(key_id, token, **kwargs)
    monkeypatch.setattr(vault, "decrypt", counting)
    updated = client.vims.update_vim("site", config={"user_domain_name": "Users"})
    assert updated.credentials.user_domain_name == "Users"
    assert len(decrypted) == 1


def test_concurrent_updates_of_different_fields_both_survive(client, keystone,
                                                             monkeypatch):
    """`vim set A --description` and, meanwhile, `vim set A --is-default` elsewhere."""
    client.vims.register_vim("site", vim_config())
    other = nfvlib.Client()  # a second process: its own Store on the same file
    real = client.store.transaction
    calls = []

    def interleaved():
        if not calls:  # between this update's read and its write
            calls.append(other.vims.update_vim("site", is_default=True))
        return real()
    monkeypatch.setattr(client.store, "transaction", interleaved)
    client.vims.update_vim("site", description="Tokyo")
    other.close()
    stored = client.vims.find_vim("site")
    assert (stored.description, stored.is_default) == ("Tokyo", True)


def test_credentials_changed_meanwhile_is_a_conflict(client, keystone, monkeypatch):
    client.vims.register_vim("site", vim_config())
    other = nfvlib.Client()
    real = client.store.transaction
    done = []

    def interleaved():
        if not done:
            done.append(other.vims.update_vim("site", config={"project_name": "demo2"}))
        return real()
    monkeypatch.setattr(client.store, "transaction", interleaved)
    with pytest.raises(Conflict, match="changed while"):
        client.vims.update_vim("site", config={"user_domain_name": "Users"})
    other.close()
    stored = client.vims.find_vim("site")
    assert stored.credentials.project_name == "demo2"
    assert stored.credentials.user_domain_name == "Default"
    assert client.vims.credentials(stored).password == "s3cret"
