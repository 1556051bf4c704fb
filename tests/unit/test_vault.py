"""The Fernet vault: key files, their modes, and encryption round trips."""

from __future__ import annotations

import base64
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from nfvlib.exceptions import NfvError, VaultError
from nfvlib.vault import Vault


@pytest.fixture
def key_dir(tmp_path):
    return tmp_path / "config" / "nfvkit" / "keys"


@pytest.fixture
def vault(key_dir):
    return Vault(key_dir)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text
    return text


def test_round_trip(vault):
    key_id = vault.new_key()
    token = vault.encrypt(key_id, "s3cret-pässword")
    assert isinstance(token, str)
    assert vault.decrypt(key_id, token) == "s3cret-pässword"
    # A fresh IV each time: the same secret gives different tokens.
    assert vault.encrypt(key_id, "s3cret-pässword") != token


def test_token_does_not_contain_the_secret(vault):
    key_id = vault.new_key()
    secret = "hunter2hunter2"
    token = vault.encrypt(key_id, secret)
    assert secret not in token
    assert secret.encode() not in base64.urlsafe_b64decode(token.encode())
    assert token.isascii()


def test_key_dir_is_0700_and_key_file_0600(vault, key_dir):
    key_id = vault.new_key()
    assert key_dir.is_dir()
    assert mode(key_dir) == 0o700
    key_file = key_dir / f"{key_id}.key"
    assert mode(key_file) == 0o600
    # The file holds a usable Fernet key and nothing else.
    Fernet(key_file.read_bytes().strip())
    assert len(key_id) == 32 and all(c in "0123456789abcdef" for c in key_id)


def test_key_files_stay_0600_whatever_the_umask(vault, key_dir):
    old = os.umask(0)
    try:
        key_id = vault.new_key()
    finally:
        os.umask(old)
    assert mode(key_dir) == 0o700
    assert mode(key_dir / f"{key_id}.key") == 0o600


def test_existing_open_key_dir_is_tightened(key_dir):
    key_dir.mkdir(parents=True)
    os.chmod(key_dir, 0o755)
    Vault(key_dir).new_key()
    assert mode(key_dir) == 0o700


@pytest.mark.parametrize("unsafe", [0o644, 0o640, 0o604, 0o660])
def test_key_file_readable_by_others_is_refused(vault, key_dir, unsafe):
    key_id = vault.new_key()
    token = vault.encrypt(key_id, "pw")
    key_file = key_dir / f"{key_id}.key"
    os.chmod(key_file, unsafe)
    for use in (lambda: vault.decrypt(key_id, token),
                lambda: vault.encrypt(key_id, "pw")):
        with pytest.raises(VaultError) as info:
            use()
        text = one_line(info.value)
        assert str(key_file) in text
        assert "chmod 600" in text
        assert f"{unsafe:04o}" in text
    os.chmod(key_file, 0o600)
    assert vault.decrypt(key_id, token) == "pw"


def test_owner_read_only_key_file_is_accepted(vault, key_dir):
    key_id = vault.new_key()
    token = vault.encrypt(key_id, "pw")
    os.chmod(key_dir / f"{key_id}.key", 0o400)
    assert vault.decrypt(key_id, token) == "pw"


def test_missing_key_file(vault, key_dir):
    key_id = vault.new_key()
    token = vault.encrypt(key_id, "pw")
    (key_dir / f"{key_id}.key").unlink()
    with pytest.raises(VaultError) as info:
        vault.decrypt(key_id, token)
    text = one_line(info.value)
    assert "missing" in text and key_id in text
    with pytest.raises(VaultError):
        Vault(key_dir / "never-created").encrypt("abc", "pw")


def test_a_key_file_deleted_once_found_still_decrypts(vault, key_dir, monkeypatch):
    """A rotation in another process may delete the key file between the
    vault finding it and reading it: the read must not fail with a raw
    FileNotFoundError (the token was written with that key)."""
    import nfvlib.vault

    key_id = vault.new_key()
    token = vault.encrypt(key_id, "pw")
    path = key_dir / f"{key_id}.key"
    real_open, real_stat = nfvlib.vault.os.open, Path.stat

    def open_then_deleted(file, *args, **kwargs):
        fd = real_open(file, *args, **kwargs)
        if Path(file) == path:
            path.unlink()
        return fd

    def stat_then_deleted(self, *args, **kwargs):
        found = real_stat(self, *args, **kwargs)
        if self == path:
            path.unlink()
        return found

    monkeypatch.setattr(nfvlib.vault.os, "open", open_then_deleted)
    monkeypatch.setattr(Path, "stat", stat_then_deleted)
    assert vault.decrypt(key_id, token) == "pw"


@pytest.mark.parametrize("content", [b"", b"not a key\n", b"\xff\xfe\x00garbage",
                                     base64.urlsafe_b64encode(b"short")])
def test_corrupted_key_file(vault, key_dir, content):
    key_id = vault.new_key()
    token = vault.encrypt(key_id, "pw")
    (key_dir / f"{key_id}.key").write_bytes(content)
    with pytest.raises(VaultError) as info:
        vault.decrypt(key_id, token)
    text = one_line(info.value)
    assert "not a Fernet key" in text
    assert str(key_dir / f"{key_id}.key") in text


def test_decrypt_with_another_key(vault):
    first, second = vault.new_key(), vault.new_key()
    token = vault.encrypt(first, "pw")
    with pytest.raises(VaultError) as info:
        vault.decrypt(second, token)
    text = one_line(info.value)
    assert second in text and "the stored password cannot be decrypted" in text
    assert "nfv vim set VIM --config-file FILE" in text
    assert "key file was replaced" not in text
    assert isinstance(info.value.__cause__, Exception)


@pytest.mark.parametrize("token", ["", "garbage", "gAAAAA" + "A" * 80, "ünïcode"])
def test_decrypt_of_a_damaged_token(vault, token):
    key_id = vault.new_key()
    with pytest.raises(VaultError):
        vault.decrypt(key_id, token)


def test_tampered_token_is_refused(vault):
    key_id = vault.new_key()
    raw = bytearray(base64.urlsafe_b64decode(vault.encrypt(key_id, "pw")))
    raw[-40] ^= 1
    with pytest.raises(VaultError):
        vault.decrypt(key_id, base64.urlsafe_b64encode(bytes(raw)).decode())


@pytest.mark.parametrize("bad_id", ["", "../escape", "a/b", ".hidden", "..", "/abs"])
def test_key_ids_cannot_leave_the_directory(vault, key_dir, bad_id):
    vault.new_key()
    with pytest.raises(VaultError) as info:
        vault.encrypt(bad_id, "pw")
    assert "invalid key id" in one_line(info.value)
    with pytest.raises(VaultError):
        vault.delete_key(bad_id)


def test_delete_key_removes_the_file_and_is_idempotent(vault, key_dir):
    keep, drop = vault.new_key(), vault.new_key()
    vault.delete_key(drop)
    assert not (key_dir / f"{drop}.key").exists()
    assert vault.key_ids() == {keep}
    vault.delete_key(drop)  # again: no error
    assert vault.key_ids() == {keep}
    Vault(key_dir.parent / "absent").delete_key(drop)  # no directory: no error
    with pytest.raises(VaultError, match="missing"):
        vault.encrypt(drop, "pw")


def test_no_temp_files_left_after_writes(vault, key_dir):
    ids = {vault.new_key() for _ in range(5)}
    vault.delete_key(next(iter(ids)))
    names = sorted(os.listdir(key_dir))
    assert all(n.endswith(".key") and not n.startswith(".") for n in names)
    assert len(names) == 4


def test_key_ids_and_orphans_without_a_ledger(vault, key_dir):
    assert vault.key_ids() == set()  # directory not created yet
    assert vault.orphans(set()) == set()
    a, b, c = vault.new_key(), vault.new_key(), vault.new_key()
    (key_dir / "notes.txt").write_text("ignored")
    assert vault.key_ids() == {a, b, c}
    # Nothing says these keys are ours: none is ever an orphan.
    assert vault.orphans({a, b}) == set()
    assert vault.orphans(set()) == set()


# -- keys recorded in the store that created them -------------------------------

@pytest.fixture
def store(tmp_path):
    from nfvlib.store import Store

    s = Store(tmp_path / "nfv.sqlite")
    yield s
    s.close()


@pytest.fixture
def owned(key_dir, store):
    from nfvlib.store.vims import VaultKeyTable

    return Vault(key_dir, VaultKeyTable(store))


def test_orphans_are_only_recorded_unreferenced_keys(owned, key_dir):
    a, b, c = owned.new_key(), owned.new_key(), owned.new_key()
    foreign = Vault(key_dir).new_key()  # another store's key, same directory
    assert owned.key_ids() == {a, b, c, foreign}
    assert owned.orphans({a, b}) == {c}
    assert owned.orphans(set()) == {a, b, c}
    assert owned.orphans({a, b, c, "gone"}) == set()
    assert owned.orphans(set(), purpose="lcm-request") == set()


def test_young_orphans_are_left_alone(owned, key_dir):
    key_id = owned.new_key()
    assert owned.orphans(set(), min_age=600) == set()
    old = os.path.getmtime(key_dir / f"{key_id}.key") - 3600
    os.utime(key_dir / f"{key_id}.key", (old, old))
    assert owned.orphans(set(), min_age=600) == {key_id}


def test_key_is_recorded_before_its_file_exists(key_dir, store):
    from nfvlib.store.vims import VaultKeyTable

    class Spy(VaultKeyTable):
        def record(self, key_id, purpose):
            assert not (key_dir / f"{key_id}.key").exists()
            super().record(key_id, purpose)
            seen.append(key_id)

    seen: list[str] = []
    key_id = Vault(key_dir, Spy(store)).new_key()
    assert seen == [key_id] and (key_dir / f"{key_id}.key").exists()


def test_crash_after_recording_leaves_a_recorded_missing_key(owned, key_dir,
                                                             monkeypatch):
    def crash(*args):
        raise VaultError("disk full")

    monkeypatch.setattr(owned, "_write_atomic", crash)
    with pytest.raises(VaultError):
        owned.new_key()
    [key_id] = owned.ledger.recorded("vim")
    assert not (key_dir / f"{key_id}.key").exists()
    assert owned.orphans(set()) == {key_id}
    owned.delete_key(key_id)  # missing file: no error, and forgotten
    assert owned.ledger.recorded("vim") == {}


def test_delete_key_forgets_it_after_removing_the_file(owned, key_dir):
    key_id = owned.new_key()
    owned.delete_key(key_id)
    assert not (key_dir / f"{key_id}.key").exists()
    assert owned.ledger.recorded("vim") == {}


def test_key_for_a_purpose_is_one_key_created_once(owned, key_dir):
    first = owned.key_for("lcm-request")
    content = (key_dir / f"{first}.key").read_bytes()
    assert owned.key_for("lcm-request") == first
    assert (key_dir / f"{first}.key").read_bytes() == content
    assert mode(key_dir / f"{first}.key") == 0o600
    assert owned.orphans(set()) == set()  # a purpose key is not a VIM key


def test_an_existing_key_file_is_never_replaced(vault, key_dir):
    key_id = vault.new_key()
    content = (key_dir / f"{key_id}.key").read_bytes()
    vault._create(key_id)  # e.g. two processes creating the same recorded key
    assert (key_dir / f"{key_id}.key").read_bytes() == content
    assert sorted(os.listdir(key_dir)) == [f"{key_id}.key"]


def test_key_for_needs_a_ledger(vault):
    with pytest.raises(VaultError, match="store"):
        vault.key_for("lcm-request")


def test_errors_belong_to_the_tree():
    assert issubclass(VaultError, NfvError)


_FSIZE_SCRIPT = textwrap.dedent("""
    import json, os, resource, signal, sys
    from nfvlib.vault import Vault
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    vault = Vault(sys.argv[1])
    vault._ensure_dir()
    resource.setrlimit(resource.RLIMIT_FSIZE,
                       (int(sys.argv[2]), resource.RLIM_INFINITY))
    result = {}
    try:
        key_id = vault.new_key()
    except Exception as exc:
        result["error"] = type(exc).__name__
    else:
        resource.setrlimit(resource.RLIMIT_FSIZE,
                           (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        try:
            vault.encrypt(key_id, "pw")
            result["usable"] = True
        except Exception as exc:
            result["usable"] = False
    result["files"] = sorted(os.listdir(sys.argv[1]))
    print(json.dumps(result))
""")


def _new_key_under_file_size_limit(key_dir, limit: int) -> dict:
    import json

    proc = subprocess.run([sys.executable, "-c", _FSIZE_SCRIPT, str(key_dir), str(limit)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_failed_key_write_leaves_no_temp_file(key_dir):
    result = _new_key_under_file_size_limit(key_dir, 0)
    assert result.get("error") == "VaultError"
    assert result["files"] == []


def test_short_key_write_is_not_reported_as_success(key_dir):
    result = _new_key_under_file_size_limit(key_dir, 10)
    assert "error" in result or result.get("usable") is True
