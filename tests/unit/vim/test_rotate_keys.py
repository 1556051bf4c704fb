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
