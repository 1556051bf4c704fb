"""The embedded SQLite store: migrations, locking, file modes and the VIM table."""

from __future__ import annotations

import dataclasses
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
import uuid
from pathlib import Path

import pytest

from nfvlib.exceptions import Conflict, NfvError, StoreError
from nfvlib.models import Vim, VimCredentials, VimStatus
from nfvlib.store import Store, migrations
from nfvlib.store.sqlite import BUSY_TIMEOUT_MS
from nfvlib.store.vims import VimTable

_counter = iter(range(1, 1_000_000))


def make_vim(name="site1", tenant="t1", *, is_default=False, **overrides) -> Vim:
    """A fully populated VIM with a unique id and an increasing created_at."""
    n = next(_counter)
    values = dict(
        id=uuid.uuid4().hex, name=name, tenant_id=tenant,
        credentials=VimCredentials(
            auth_url="http://keystone.test:5000/v3", username="alice",
            project_name="demo", project_domain_name="PD",
            user_domain_name="UD", cert_verify=False),
        type="openstack", description=f"VIM {name}", is_default=is_default,
        regions=("RegionOne", "RegionTwo"),
        orchestration_endpoints={"RegionOne": "http://heat1.test:8004/v1/p1"},
        project_id="p1", status=VimStatus.REACHABLE, status_reason="ok",
        status_checked_at="2024-01-01T00:00:00+00:00",
        created_at=f"2024-01-01T00:00:{n // 1000:02d}.{n % 1000:03d}000+00:00",
        updated_at=None, extra={"k": ["v", 1]})
    values.update(overrides)
    return Vim(**values)


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "data" / "nfv.sqlite"


@pytest.fixture
def store(store_path):
    s = Store(store_path)
    yield s
    s.close()


@pytest.fixture
def table(store):
    return VimTable(store)


def insert(store: Store, vim: Vim, key_id: str = "k1", token: str = "tok1") -> None:
    with store.transaction() as conn:
        VimTable(store).insert(conn, vim, key_id, token)


def count(store: Store) -> int:
    return store.conn.execute("SELECT COUNT(*) FROM vims").fetchone()[0]


# -- migrations --------------------------------------------------------------

def test_first_open_creates_schema_and_records_version(store, store_path):
    assert not store_path.exists()
    conn = store.conn
    assert store_path.is_file()
    tables = {r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"vims", "schema_migrations"} <= tables
    indexes = {r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"vims_name", "vims_one_default_per_tenant"} <= indexes
    rows = conn.execute(
        "SELECT version, name, applied_at FROM schema_migrations "
        "ORDER BY version").fetchall()
    assert [(r["version"], r["name"]) for r in rows] == [
        (v, n) for v, n, _ in migrations.MIGRATIONS]
    assert all(r["applied_at"] for r in rows)
    assert store.schema_version() == migrations.LATEST


def test_reopening_is_a_no_op(store_path):
    first = Store(store_path)
    insert(first, make_vim("kept"))
    before = [tuple(r) for r in first.conn.execute(
        "SELECT * FROM schema_migrations ORDER BY version")]
    first.close()

    second = Store(store_path)
    after = [tuple(r) for r in second.conn.execute(
        "SELECT * FROM schema_migrations ORDER BY version")]
    assert after == before  # nothing re-applied, applied_at unchanged
    assert second.schema_version() == migrations.LATEST
    assert migrations.migrate(second.conn) == migrations.LATEST
    assert [v.name for v in VimTable(second).all()] == ["kept"]
    second.close()


def test_close_then_use_reopens(store):
    insert(store, make_vim("a"))
    store.close()
    assert store._conn is None
    assert count(store) == 1


def test_schema_newer_than_code_is_refused(store_path):
    s = Store(store_path)
    s.conn.execute(
        "INSERT INTO schema_migrations (version, name, applied_at) "
        "VALUES (?, 'from the future', '2099-01-01')", (migrations.LATEST + 1,))
    s.close()

    with pytest.raises(StoreError) as info:
        Store(store_path).schema_version()
    message = str(info.value)
    assert "\n" not in message
    assert f"schema version {migrations.LATEST + 1}" in message
    assert f"({migrations.LATEST})" in message
    assert "upgrade nfvkit" in message


def test_failed_migration_leaves_version_and_schema_untouched(store_path, monkeypatch):
    Store(store_path).close()
    broken = (migrations.LATEST + 1, "broken", """
        CREATE TABLE half_done (a INTEGER);
        INSERT INTO no_such_table VALUES (1);
    """)
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS + [broken])
    monkeypatch.setattr(migrations, "LATEST", broken[0])

    with pytest.raises(StoreError) as info:
        Store(store_path).schema_version()
    assert "no_such_table" in str(info.value)

    monkeypatch.undo()
    s = Store(store_path)
    assert s.schema_version() == broken[0] - 1
    assert s.conn.execute("SELECT name FROM sqlite_master "
                          "WHERE name = 'half_done'").fetchone() is None
    s.close()


def test_migration_3_keeps_op_occurrences_and_drops_their_foreign_key(store_path,
                                                                     monkeypatch):
    # A store as version 2 left it, with an instance and its occurrences.
    monkeypatch.setattr(migrations, "MIGRATIONS", migrations.MIGRATIONS[:2])
    monkeypatch.setattr(migrations, "LATEST", 2)
    store_path.parent.mkdir(parents=True)
    old = sqlite3.connect(store_path, isolation_level=None)
    old.execute("PRAGMA foreign_keys = ON")
    assert migrations.migrate(old) == 2
    old.executescript("""
        INSERT INTO vnf_packages (id, onboarding_state, created_at)
            VALUES ('pkg', 'ONBOARDED', 't');
        INSERT INTO vnf_instances (id, vnfd_id, package_id, instantiation_state,
                                   created_at)
            VALUES ('vnf1', 'vnfd', 'pkg', 'NOT_INSTANTIATED', 't');
        INSERT INTO op_occs (id, vnf_instance_id, operation, state, start_time,
                             state_entered_time, steps, current_step, context,
                             worker_pid, lease_expires_at)
            VALUES ('op1', 'vnf1', 'INSTANTIATE', 'COMPLETED', 't0', 't1',
                    '[{"name": "a", "status": "DONE"}]', 1, '{"k": 1}', NULL, NULL),
                   ('op2', 'vnf1', 'TERMINATE', 'FAILED_TEMP', 't2', 't3', '[]', 0,
                    '{}', 42, 1800000000.5);
    """)
    before = [tuple(r) for r in old.execute("SELECT * FROM op_occs ORDER BY id")]
    old.close()
    monkeypatch.undo()

    s = Store(store_path)
    assert s.schema_version() == migrations.LATEST
    after = [tuple(r)[:len(before[0])] for r in s.conn.execute(
        "SELECT * FROM op_occs ORDER BY id")]
    assert after == before  # every row and column kept, in the same order
    assert s.conn.execute("PRAGMA foreign_key_list(op_occs)").fetchall() == []
    indexes = {r["name"]: r["sql"] for r in s.conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
        "AND tbl_name = 'op_occs' AND sql IS NOT NULL")}
    assert set(indexes) == {"op_occs_one_active_per_vnf", "op_occs_vnf", "op_occs_state",
                            "op_occs_order"}
    assert "WHERE state NOT IN" in indexes["op_occs_one_active_per_vnf"]
    # The one-active-per-instance rule still holds (op2 is FAILED_TEMP)...
    with pytest.raises(sqlite3.IntegrityError):
        s.conn.execute("INSERT INTO op_occs (id, vnf_instance_id, operation, state, "
                       "start_time, state_entered_time) VALUES "
                       "('op3', 'vnf1', 'HEAL', 'STARTING', 't', 't')")
    # ...and deleting the instance keeps its history.
    s.conn.execute("UPDATE op_occs SET state = 'FAILED' WHERE id = 'op2'")
    s.conn.execute("DELETE FROM vnf_instances WHERE id = 'vnf1'")
    assert s.conn.execute("SELECT COUNT(*) FROM op_occs").fetchone()[0] == 2
    assert s.conn.execute("PRAGMA foreign_key_check").fetchall() == []
    s.close()


def test_a_migration_added_below_a_shipped_one_still_runs(store_path, monkeypatch):
    # A store migrated by an nfvkit that had migration 4 but not yet 3.
    without_3 = [m for m in migrations.MIGRATIONS if m[0] != 3]
    monkeypatch.setattr(migrations, "MIGRATIONS", without_3)
    Store(store_path).close()
    monkeypatch.undo()
    s = Store(store_path)
    versions = [r[0] for r in s.conn.execute(
        "SELECT version FROM schema_migrations ORDER BY version")]
    assert versions == [v for v, _, _ in migrations.MIGRATIONS]
    assert s.conn.execute("PRAGMA foreign_key_list(op_occs)").fetchall() == []
    s.close()


def test_concurrent_first_open_by_several_processes(store_path):
    script = textwrap.dedent("""
        import sys
        from nfvlib.store import Store
        print(Store(sys.argv[1]).schema_version())
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(store_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    results = [p.communicate(timeout=60) + (p.returncode,) for p in procs]
    for out, err, rc in results:
        assert rc == 0, err
        assert out.strip() == str(migrations.LATEST)
    s = Store(store_path)
    versions = [r[0] for r in s.conn.execute("SELECT version FROM schema_migrations")]
    assert versions == [v for v, _, _ in migrations.MIGRATIONS]
    s.close()


def test_corrupt_store_file_raises_store_error(store_path):
    store_path.parent.mkdir(parents=True)
    store_path.write_bytes(b"this is not an SQLite database, not at all" * 100)
    with pytest.raises(StoreError) as info:
        Store(store_path).schema_version()
    assert str(store_path) in str(info.value)
    assert "NFV_STORE" in str(info.value)
    assert "\n" not in str(info.value)


def test_store_path_that_cannot_be_created_raises_store_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as info:
        Store(blocker / "sub" / "nfv.sqlite").schema_version()
    assert isinstance(info.value, NfvError)
    assert "\n" not in str(info.value)


# -- connection settings and files ------------------------------------------

def test_wal_mode_and_busy_timeout(store, store_path):
    conn = store.conn
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    # WAL is a property of the file: a plain connection sees it too.
    import sqlite3
    other = sqlite3.connect(store_path)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()


def test_store_file_is_private(store, store_path):
    old = os.umask(0)
    try:
        insert(store, make_vim())
    finally:
        os.umask(old)
    assert stat.S_IMODE(store_path.stat().st_mode) == 0o600
    for suffix in ("-wal", "-shm"):
        side = store_path.with_name(store_path.name + suffix)
        assert side.exists()
        assert stat.S_IMODE(side.stat().st_mode) == 0o600, suffix
    assert stat.S_IMODE(store_path.parent.stat().st_mode) == 0o700


# -- transactions ------------------------------------------------------------

def test_transaction_commits(store, table):
    vim = make_vim()
    with store.transaction() as conn:
        table.insert(conn, vim, "k1", "tok")
        assert conn.in_transaction
    assert not store.conn.in_transaction
    assert table.get(vim.id) == vim


def test_transaction_rolls_back_on_exception(store, table):
    kept = make_vim("kept")
    insert(store, kept)

    class Boom(Exception):
        pass

    with pytest.raises(Boom):
        with store.transaction() as conn:
            table.insert(conn, make_vim("lost"), "k2", "tok2")
            table.delete(conn, kept.id)
            assert count(store) == 1  # the insert and the delete, in flight
            raise Boom()
    assert not store.conn.in_transaction
    assert [v.name for v in table.all()] == ["kept"]
    # The connection is usable again afterwards.
    insert(store, make_vim("after"))
    assert sorted(v.name for v in table.all()) == ["after", "kept"]


def test_two_stores_on_one_file(store_path):
    a, b = Store(store_path), Store(store_path)
    try:
        insert(a, make_vim("from-a"))
        insert(b, make_vim("from-b"))
        with a.transaction() as conn:
            VimTable(a).insert(conn, make_vim("pending"), "k", "t")
            # WAL: a reader is not blocked by a writer and sees the last commit.
            assert sorted(v.name for v in VimTable(b).all()) == ["from-a", "from-b"]
        assert sorted(v.name for v in VimTable(b).all()) == [
            "from-a", "from-b", "pending"]
    finally:
        a.close()
        b.close()


def test_second_writer_waits_for_the_first(store_path):
    a = Store(store_path)
    a.schema_version()  # migrate before the race
    started = threading.Event()
    errors: list[BaseException] = []

    def writer():
        b = Store(store_path)
        try:
            b.schema_version()
            started.set()
            insert(b, make_vim("second"))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            b.close()

    with a.transaction() as conn:
        VimTable(a).insert(conn, make_vim("first"), "k", "t")
        thread = threading.Thread(target=writer)
        thread.start()
        assert started.wait(10)
    thread.join(15)
    assert not thread.is_alive()
    assert errors == []
    assert sorted(v.name for v in VimTable(a).all()) == ["first", "second"]
    a.close()


def test_another_process_inserting_concurrently(store_path):
    parent = Store(store_path)
    parent.schema_version()
    n = 150
    script = textwrap.dedent("""
        import sys, uuid
        from nfvlib.models import Vim, VimCredentials
        from nfvlib.store import Store
        from nfvlib.store.vims import VimTable
        store = Store(sys.argv[1])
        table = VimTable(store)
        store.conn
        print("ready", flush=True)
        sys.stdin.readline()
        cred = VimCredentials(auth_url="http://k/v3", username="u", project_name="p")
        for i in range(int(sys.argv[2])):
            vim = Vim(id=uuid.uuid4().hex, name=f"child-{i}", tenant_id="t1",
                      credentials=cred, created_at=f"2024-02-01T00:00:00.{i:06d}")
            with store.transaction() as conn:
                table.insert(conn, vim, "k", "t")
        print("done", flush=True)
    """)
    child = subprocess.Popen([sys.executable, "-c", script, str(store_path), str(n)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        child.stdin.write("go\n")
        child.stdin.flush()
        for i in range(n):
            insert(parent, make_vim(f"parent-{i}"))
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert "locked" not in err
    assert out.strip() == "done"
    names = {v.name for v in VimTable(parent).all()}
    assert len(names) == 2 * n
    assert {f"child-{i}" for i in range(n)} <= names
    assert {f"parent-{i}" for i in range(n)} <= names
    parent.close()


# -- the vims table ----------------------------------------------------------

def test_vim_round_trip(store, table):
    vim = make_vim(is_default=True)
    insert(store, vim, "key-a", "token-a")
    assert table.get(vim.id) == vim
    assert table.by_name("site1") == [vim]
    assert table.default("t1") == vim
    assert table.default("other") is None
    assert list(table.all()) == [vim]
    assert table.secret(vim.id) == ("key-a", "token-a")
    assert table.key_ids() == {"key-a"}
    assert table.get("nope") is None
    assert table.by_name("nope") == []


def test_password_is_never_stored_in_the_row(store, table, store_path):
    cred = dataclasses.replace(make_vim().credentials, password="hunter2-secret")
    vim = make_vim(credentials=cred)
    insert(store, vim)
    assert table.get(vim.id).credentials.password is None
    assert table.get(vim.id) == dataclasses.replace(
        vim, credentials=cred.without_password())
    store.close()
    for f in store_path.parent.iterdir():
        assert b"hunter2-secret" not in f.read_bytes(), f


def test_by_name_spans_tenants_oldest_first(store, table):
    first = make_vim("shared", "t1")
    second = make_vim("shared", "t2")
    insert(store, second)  # insertion order differs from created_at order
    store.conn.execute("UPDATE vims SET created_at = '2000-01-01' WHERE id = ?",
                       (first.id,))
    insert(store, first)
    assert [v.tenant_id for v in table.by_name("shared")] == ["t1", "t2"]


def test_update_round_trip(store, table):
    vim = make_vim()
    insert(store, vim, "key-a", "token-a")
    changed = dataclasses.replace(
        vim, name="renamed", description="new", is_default=True,
        regions=("RegionThree",), status=VimStatus.UNREACHABLE,
        status_reason="timeout", updated_at="2024-03-01T00:00:00+00:00",
        credentials=dataclasses.replace(vim.credentials, username="bob",
                                        cert_verify=True),
        extra={"x": 1}, created_at="ignored", id=vim.id)
    with store.transaction() as conn:
        table.update(conn, changed)
    got = table.get(vim.id)
    assert got == dataclasses.replace(changed, created_at=vim.created_at)
    assert table.secret(vim.id) == ("key-a", "token-a")  # untouched
    assert table.by_name("site1") == []

    with store.transaction() as conn:
        table.update(conn, changed, secret=("key-b", "token-b"))
    assert table.secret(vim.id) == ("key-b", "token-b")
    assert table.key_ids() == {"key-b"}


def test_set_secret_only_replaces_the_expected_key(store, table):
    vim = make_vim()
    insert(store, vim, "old", "t-old")
    with store.transaction() as conn:
        assert table.set_secret(conn, vim.id, "not-old", "new", "t-new") is False
    assert table.secret(vim.id) == ("old", "t-old")
    with store.transaction() as conn:
        assert table.set_secret(conn, vim.id, "old", "new", "t-new") is True
    assert table.secret(vim.id) == ("new", "t-new")


def test_set_status(store, table):
    vim = make_vim()
    insert(store, vim)
    with store.transaction() as conn:
        table.set_status(conn, vim.id, VimStatus.UNREACHABLE, "no route",
                         "2024-05-05T00:00:00+00:00")
    got = table.get(vim.id)
    assert got.status is VimStatus.UNREACHABLE
    assert (got.status_reason, got.status_checked_at) == (
        "no route", "2024-05-05T00:00:00+00:00")


def test_delete(store, table):
    a, b = make_vim("a"), make_vim("b")
    insert(store, a)
    insert(store, b)
    with store.transaction() as conn:
        table.delete(conn, a.id)
        table.delete(conn, "no-such-id")
    assert table.get(a.id) is None
    assert [v.name for v in table.all()] == ["b"]


def test_duplicate_name_in_tenant_is_a_conflict(store, table):
    insert(store, make_vim("site1", "t1"))
    insert(store, make_vim("site1", "t2"))  # other tenant: fine
    with pytest.raises(Conflict) as info:
        insert(store, make_vim("site1", "t1"))
    message = str(info.value)
    assert "'site1'" in message and "t1" in message
    assert "already exists" in message
    assert "\n" not in message
    assert count(store) == 2


def test_second_default_in_tenant_is_a_conflict(store, table):
    first = make_vim("first", "t1", is_default=True)
    insert(store, first)
    insert(store, make_vim("elsewhere", "t2", is_default=True))  # other tenant
    with pytest.raises(Conflict) as info:
        insert(store, make_vim("second", "t1", is_default=True))
    message = str(info.value)
    assert "'first'" in message
    assert "default VIM of project t1" in message
    assert "vim set first --is-default False" in message
    assert "\n" not in message
    assert table.default("t1") == first
    assert table.by_name("second") == []


def test_update_conflicts(store, table):
    a = make_vim("a", is_default=True)
    b = make_vim("b")
    insert(store, a)
    insert(store, b)
    with pytest.raises(Conflict, match="'a' already exists"):
        with store.transaction() as conn:
            table.update(conn, dataclasses.replace(b, name="a"))
    with pytest.raises(Conflict, match="'a' is already the default"):
        with store.transaction() as conn:
            table.update(conn, dataclasses.replace(b, is_default=True))
    assert table.get(b.id) == b
    # Re-saving the default VIM itself is not a conflict.
    with store.transaction() as conn:
        table.update(conn, dataclasses.replace(a, description="still default"))
    assert table.default("t1").description == "still default"


def test_duplicate_id_is_a_conflict_naming_the_vim(store):
    vim = make_vim("orig")
    insert(store, vim)
    with pytest.raises(Conflict) as info:
        insert(store, make_vim("copy", id=vim.id))
    assert "'copy'" in str(info.value)


def test_lookups_use_indexes(store):
    def plan(sql):
        rows = store.conn.execute("EXPLAIN QUERY PLAN " + sql, ("x",)).fetchall()
        return " | ".join(r["detail"] for r in rows)

    by_name = plan("SELECT * FROM vims WHERE name = ? ORDER BY created_at")
    assert "USING INDEX vims_name" in by_name
    assert "SCAN vims" not in by_name
    default = plan("SELECT * FROM vims WHERE tenant_id = ? AND is_default = 1")
    assert "SEARCH vims USING" in default and "SCAN vims" not in default
    by_id = plan("SELECT * FROM vims WHERE id = ?")
    assert "SEARCH vims USING" in by_id and "SCAN vims" not in by_id


# -- SQLite errors leave the store as one-line StoreErrors ---------------------

def _one_line_store_error(info) -> str:
    text = str(info.value)
    assert isinstance(info.value, StoreError) and "\n" not in text
    return text


def test_damaged_table_page_is_a_store_error(store_path):
    s = Store(store_path)
    vim = make_vim()
    with s.transaction() as conn:
        VimTable(s).insert(conn, vim, "k1", "tok")
    page = s.conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'vims'"
                          ).fetchone()[0]
    size = s.conn.execute("PRAGMA page_size").fetchone()[0]
    s.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()
    with open(store_path, "r+b") as f:  # only the vims table's page is damaged
        f.seek((page - 1) * size)
        f.write(b"\xff" * size)
    s = Store(store_path)
    try:
        with pytest.raises(StoreError) as info:
            VimTable(s).get(vim.id)
        assert "damaged" in _one_line_store_error(info)
        with pytest.raises(StoreError):
            list(VimTable(s).all())
    finally:
        s.close()


def test_writes_to_a_read_only_store_are_store_errors_and_reads_work(store, table):
    vim = make_vim()
    with store.transaction() as conn:
        table.insert(conn, vim, "k1", "tok")
    store.conn.execute("PRAGMA query_only = ON")  # as a read-only file would
    assert table.get(vim.id) == vim
    with pytest.raises(StoreError) as info:
        with store.transaction() as conn:
            table.insert(conn, make_vim("other"), "k2", "tok")
    assert "read-only" in _one_line_store_error(info)
    assert not store.conn.in_transaction
    assert [v.id for v in table.all()] == [vim.id]


def test_failed_commit_rolls_back_and_the_store_stays_usable(store, table):
    from nfvlib.store.lcm import VnfTable
    from nfvlib.models import VnfInstance

    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction() as conn:
            conn.execute("PRAGMA defer_foreign_keys = ON")
            VnfTable(store).insert(conn, VnfInstance(
                id="v", vnfd_id="d", package_id="no-such-package", created_at="t"))
    assert not store.conn.in_transaction
    with store.transaction() as conn:  # usable again
        table.insert(conn, make_vim(), "k1", "tok")


_READ_ONLY_SCRIPT = textwrap.dedent("""
    import sys
    from nfvlib.exceptions import StoreError
    from nfvlib.store import Store
    from nfvlib.store.vims import VimTable
    s = Store(sys.argv[1])
    print(",".join(v.name for v in VimTable(s).all()))
    try:
        with s.transaction() as conn:
            conn.execute("DELETE FROM vims")
    except StoreError as exc:
        print("StoreError:", exc)
""")


def test_a_store_file_that_cannot_be_written_can_still_be_read(tmp_path):
    """chmod 0400 on the file and 0500 on its directory, as a user that is not root."""
    import shutil
    import tempfile

    if os.geteuid() == 0:  # pytest's temporary root is closed to other users
        tmp_path = Path(tempfile.mkdtemp(prefix="nfv-ro-"))
        os.chmod(tmp_path, 0o755)
    directory = tmp_path / "ro"
    path = directory / "nfv.sqlite"
    s = Store(path)
    with s.transaction() as conn:
        VimTable(s).insert(conn, make_vim("site-ro"), "k1", "tok")
    s.close()
    argv = [sys.executable, "-c", _READ_ONLY_SCRIPT, str(path)]
    if os.geteuid() == 0:  # root writes whatever the mode: run as nobody
        assert shutil.which("setpriv"), "setpriv (util-linux) drops root for this test"
        for p in (directory, *directory.iterdir()):
            os.chown(p, 65534, 65534)
        argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *argv]
    path.chmod(0o400)
    directory.chmod(0o500)
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60,
                              cwd=os.path.dirname(os.path.dirname(os.path.dirname(
                                  os.path.dirname(os.path.abspath(__file__))))))
    finally:
        directory.chmod(0o700)
        if os.geteuid() == 0:
            shutil.rmtree(tmp_path)
    assert proc.returncode == 0, proc.stderr
    names, error = proc.stdout.splitlines()
    assert names == "site-ro"
    assert error.startswith("StoreError: the store ") and "read-only" in error
