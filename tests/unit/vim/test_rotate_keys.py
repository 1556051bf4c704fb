"""Key rotation when several stores share one key directory.

Two real stores (as with two ``NFV_STORE`` values) and one real key
directory (the default ``NFV_KEY_DIR``); Keystone on requests-mock.
"""

from __future__ import annotations

import os
import sqlite3

import pytest

from nfvlib.store import Store
from nfvlib.store import migrations
from nfvlib.vault import Vault
from nfvlib.vim.registry import LocalVimRegistry
from tests.unit.conftest import vim_config


@pytest.fixture
def key_dir(tmp_path):
    return tmp_path / "keys"


@pytest.fixture
def registries(tmp_path, key_dir, keystone):
    stores = [Store(tmp_path / "a" / "nfv.sqlite"), Store(tmp_path / "b" / "nfv.sqlite")]
    yield [LocalVimRegistry(s, Vault(key_dir)) for s in stores]
    for s in stores:
        s.close()


def age(path, seconds=3600):
    old = os.path.getmtime(path) - seconds
    os.utime(path, (old, old))


def test_rotating_in_one_store_keeps_the_other_stores_keys(registries, key_dir):
    a, b = registries
    vim_a = a.register_vim("site-a", vim_config())
    vim_b = b.register_vim("site-b", vim_config())
    old_a = a._table.secret(vim_a.id)[0]
    key_b = b._table.secret(vim_b.id)[0]
    for path in key_dir.iterdir():  # old enough to be taken for orphans
        age(path)
    assert a.rotate_keys() == 1
    assert b.credentials(vim_b).password == "s3cret"
    assert (key_dir / f"{key_b}.key").exists()
    assert not (key_dir / f"{old_a}.key").exists()
    new_a = a._table.secret(vim_a.id)[0]
    assert {p.name for p in key_dir.iterdir()} == {f"{new_a}.key", f"{key_b}.key"}
    assert a.credentials(vim_a).password == "s3cret"
    # And the other way round.
    assert b.rotate_keys() == 1
    assert a.credentials(vim_a).password == "s3cret"
    assert b.credentials(vim_b).password == "s3cret"


def test_rotation_removes_its_own_orphans_only(registries, key_dir):
    a, b = registries
    a.register_vim("site-a", vim_config())
    b.register_vim("site-b", vim_config())
    orphan_a = a.vault.new_key()   # as if a change in store A died after the key
    orphan_b = b.vault.new_key()   # the same in store B
    unowned = Vault(key_dir).new_key()  # a key no store recorded
    for key_id in (orphan_a, orphan_b, unowned):
        age(key_dir / f"{key_id}.key")
    a.rotate_keys()
    assert not (key_dir / f"{orphan_a}.key").exists()
    assert orphan_a not in a.vault.ledger.recorded("vim")
    assert (key_dir / f"{orphan_b}.key").exists()
    assert (key_dir / f"{unowned}.key").exists()


def test_request_sealing_key_survives_rotation(registries, key_dir):
    a, _ = registries
    a.register_vim("site-a", vim_config())
    seal_key = a.vault.key_for("lcm-request")
    age(key_dir / f"{seal_key}.key")
    a.rotate_keys()
    assert (key_dir / f"{seal_key}.key").exists()


def test_migration_records_the_keys_of_existing_vims(tmp_path, key_dir, keystone):
    path = tmp_path / "old" / "nfv.sqlite"
    store = Store(path)
    registry = LocalVimRegistry(store, Vault(key_dir))
    vim = registry.register_vim("site", vim_config())
    key_id = registry._table.secret(vim.id)[0]
    store.close()
    # Make it a store written before migration 4: no vault_keys table.
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE vault_keys")
        conn.execute("DELETE FROM schema_migrations WHERE version >= 4")
    store = Store(path)
    try:
        assert store.schema_version() == migrations.LATEST
        registry = LocalVimRegistry(store, Vault(key_dir))
        assert set(registry.vault.ledger.recorded("vim")) == {key_id}
        age(key_dir / f"{key_id}.key")
        assert registry.rotate_keys() == 1
        assert not (key_dir / f"{key_id}.key").exists()  # owned, so retired
        assert registry.credentials(vim).password == "s3cret"
    finally:
        store.close()



def interleave(registry, action):
    """Run ``action`` right after ``registry`` next reads a VIM's secret row.

    That is the window the race hits: the row is read, another process
    commits a new key and deletes the old one, then the old key is read.
    """
    read = registry._table.secret
    fired = []

    def secret(vim_id):
        row = read(vim_id)
        if not fired:
            fired.append(vim_id)
            action(vim_id)
        return row

    registry._table.secret = secret
    return fired


@pytest.fixture
def same_store(tmp_path, key_dir, keystone):
    path = tmp_path / "shared" / "nfv.sqlite"
    stores = [Store(path), Store(path)]
    yield [LocalVimRegistry(s, Vault(key_dir)) for s in stores]
    for s in stores:
        s.close()


def test_rotate_rereads_a_row_that_vim_set_changed_meanwhile(same_store, key_dir):
    rotating, setting = same_store
    vim = setting.register_vim("site", vim_config())
    other = setting.register_vim("other", vim_config())
    fired = interleave(rotating, lambda vim_id: setting.update_vim(
        vim_id, config={"password": "s3cret"}))
    # The first VIM was re-keyed by vim set meanwhile; both are rotated.
    assert rotating.rotate_keys() == 2
    assert len(fired) == 1 and fired[0] in (vim.id, other.id)
    for v in (vim, other):
        assert setting.credentials(v).password == "s3cret"
        assert (key_dir / f"{setting._table.secret(v.id)[0]}.key").exists()


def test_vim_set_rereads_a_row_that_rotate_keys_changed_meanwhile(same_store):
    setting, rotating = same_store
    vim = setting.register_vim("site", vim_config())
    old_key = setting._table.secret(vim.id)[0]
    fired = interleave(setting, lambda vim_id: rotating.rotate_keys())
    updated = setting.update_vim("site", config={"password": "s3cret"},
                                 description="after the race")
    assert fired == [vim.id]
    assert updated.description == "after the race"
    assert setting._table.secret(vim.id)[0] != old_key
    assert rotating.credentials(vim).password == "s3cret"


def test_a_key_changing_at_every_read_is_a_conflict(same_store):
    from nfvlib.exceptions import Conflict

    reader, changer = same_store
    vim = reader.register_vim("site", vim_config())
    read = reader._table.secret
    changes = []

    def secret(vim_id):
        row = read(vim_id)
        if len(changes) < 10:  # re-key after every read of the row
            changes.append(vim_id)
            changer.rotate_keys()
        return row

    reader._table.secret = secret
    with pytest.raises(Conflict, match="changed 3 times while it was being read"):
        reader.credentials(vim)


def test_one_undecryptable_vim_does_not_stop_rotation(same_store, key_dir):
    from nfvlib.exceptions import VaultError

    registry, _ = same_store
    vims = [registry.register_vim(f"site-{n}", vim_config()) for n in range(3)]
    keys = {v.id: registry._table.secret(v.id)[0] for v in vims}
    broken = vims[1]
    # Its key file replaced by another valid key: the token no longer matches.
    (key_dir / f"{keys[broken.id]}.key").write_bytes(
        (key_dir / f"{keys[vims[0].id]}.key").read_bytes())
    with pytest.raises(VaultError) as info:
        registry.rotate_keys()
    text = str(info.value)
    assert "rotated the keys of 2 VIM(s) but not of VIM 'site-1':" in text
    assert "cannot be decrypted" in text
    assert "nfv vim set site-1 --config-file FILE" in text
    for v in (vims[0], vims[2]):
        assert registry._table.secret(v.id)[0] != keys[v.id]
        assert registry.credentials(v).password == "s3cret"
    assert registry._table.secret(broken.id)[0] == keys[broken.id]



_RACER = """
import sys
from nfvlib.exceptions import NfvError
from nfvlib.store import Store
from nfvlib.vault import Vault
from nfvlib.vim.keystone import Discovery
from nfvlib.vim.registry import LocalVimRegistry

kind, store_path, key_dir = sys.argv[1:4]
registry = LocalVimRegistry(
    Store(store_path), Vault(key_dir),
    discover=lambda creds, timeout: (Discovery("p1", ("RegionOne",), {}), None),
    probe_heat=lambda session, endpoints: {})
for n in range(20):
    try:
        if kind == "set":
            registry.update_vim(f"site-{n % 3}", config={"password": "s3cret"})
        else:
            registry.rotate_keys()
        print("ok")
    except NfvError as exc:
        print(type(exc).__name__, " ".join(str(exc).split()))
"""


def test_set_and_rotate_in_two_processes(tmp_path, key_dir, keystone):
    """The reported race: `vim set --config-file` against `rotate-keys`, 20 times."""
    import subprocess
    import sys

    path = tmp_path / "shared" / "nfv.sqlite"
    setup = Store(path)
    for n in range(3):
        LocalVimRegistry(setup, Vault(key_dir)).register_vim(f"site-{n}", vim_config())
    setup.close()
    procs = [subprocess.Popen([sys.executable, "-c", _RACER, kind, str(path),
                               str(key_dir)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
             for kind in ("set", "rotate")]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [err for _, err in results]
    outputs = [out.splitlines() for out, _ in results]
    lines = outputs[0] + outputs[1]
    assert len(lines) == 40
    assert not [ln for ln in lines if "missing" in ln], lines
    # A transient conflict may be reported as one, never as anything else.
    assert all(ln == "ok" or ln.startswith("Conflict ") for ln in lines), lines
    store = Store(path)
    try:
        registry = LocalVimRegistry(store, Vault(key_dir))
        for vim in registry.list_vims():
            assert registry.credentials(vim).password == "s3cret"
    finally:
        store.close()


@pytest.mark.parametrize("damage", ["delete", "replace"])
def test_reentering_the_password_repairs_a_lost_or_altered_key(same_store, key_dir,
                                                               damage):
    from nfvlib.exceptions import VaultError

    registry, _ = same_store
    vim = registry.register_vim("site", vim_config())
    key = key_dir / f"{registry._table.secret(vim.id)[0]}.key"
    if damage == "delete":
        key.unlink()
    else:
        key.write_bytes(key_dir.joinpath(f"{registry.vault.new_key()}.key").read_bytes())
    with pytest.raises(VaultError):
        registry.credentials(vim)
    with pytest.raises(VaultError):  # no new password: nothing to validate with
        registry.update_vim("site", config={"username": "alice"})
    registry.update_vim("site", config={"password": "s3cret"})
    assert registry.credentials(vim).password == "s3cret"
