"""Everything nfvlib writes is private (0600 files, 0700 directories), whatever the umask."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

import pytest

import nfvlib
from nfvlib import files
from nfvlib.lcm.catalog import LocalPackages
from nfvlib.store import Store
from tests.unit.conftest import vim_config

SAMPLE = Path(nfvlib.__file__).parent / "samples" / "sample_vnf"


@pytest.fixture
def open_umask():
    """The most permissive umask: any mode not set explicitly shows."""
    old = os.umask(0)
    yield
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_private_dir_makes_missing_parents_private_and_tightens_the_target(
        tmp_path, open_umask):
    old = tmp_path / "old"
    old.mkdir(mode=0o755)
    assert mode(old) == 0o755
    files.private_dir(old)
    assert mode(old) == 0o700
    deep = files.private_dir(tmp_path / "a" / "b" / "c")
    assert [mode(tmp_path / p) for p in ("a", "a/b", "a/b/c")] == [0o700] * 3
    assert deep.is_dir()
    before = mode(tmp_path)  # an existing parent is left alone
    files.private_dir(tmp_path / "x")
    assert mode(tmp_path) == before


def test_private_dir_refuses_a_file_in_the_way(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(OSError):
        files.private_dir(tmp_path / "f")


def test_private_files_whatever_the_umask(tmp_path, open_umask):
    with files.open_private(tmp_path / "log") as log:
        log.write(b"one\n")
    with files.open_private(tmp_path / "log") as log:
        log.write(b"two\n")
    assert (tmp_path / "log").read_bytes() == b"one\ntwo\n"
    files.write_private(tmp_path / "state.json", "{}")
    files.private_file(tmp_path / "lock")
    loose = tmp_path / "loose"
    loose.write_text("x")
    os.chmod(loose, 0o644)
    files.private_file(loose)
    assert loose.read_text() == "x"
    assert {p.name: mode(p) for p in tmp_path.iterdir()} == {
        "log": 0o600, "state.json": 0o600, "lock": 0o600, "loose": 0o600}


def test_write_private_is_atomic_and_leaves_nothing_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "conf"
    files.write_private(target, "old")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        files.write_private(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["conf"]


def test_make_private_keeps_the_owners_execute_bit(tmp_path, open_umask):
    tree = tmp_path / "pkg"
    (tree / "Scripts").mkdir(parents=True, mode=0o755)
    (tree / "Scripts" / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(tree / "Scripts" / "run.sh", 0o755)
    (tree / "vnfd.yaml").write_text("x")
    os.chmod(tree / "vnfd.yaml", 0o644)
    (tree / "link").symlink_to("vnfd.yaml")
    files.make_private(tree)
    assert mode(tree) == mode(tree / "Scripts") == 0o700
    assert mode(tree / "Scripts" / "run.sh") == 0o700
    assert mode(tree / "vnfd.yaml") == 0o600
    assert files.exposed(tree) == []


def test_exposed_names_what_others_can_read(tmp_path, open_umask):
    root = files.private_dir(tmp_path / "d")
    (root / "open.log").write_text("x")
    os.chmod(root / "open.log", 0o644)
    assert files.exposed(root) == [f"{root / 'open.log'} -rw-r--r--"]


@pytest.mark.parametrize("form", ["directory", "zip"])
def test_an_uploaded_package_is_private(tmp_path, open_umask, form):
    source = SAMPLE
    if form == "zip":
        source = tmp_path / "sample.zip"
        with zipfile.ZipFile(source, "w") as zf:
            for path in sorted(SAMPLE.rglob("*")):
                zf.write(path, path.relative_to(SAMPLE).as_posix())
    data = tmp_path / "data"
    store = Store(data / "nfv.sqlite")
    try:
        packages = LocalPackages(store, data / "packages")
        info = packages.upload_package(packages.create_package().id, str(source))
    finally:
        store.close()
    assert Path(info.path).parent == data / "packages"
    assert files.exposed(data) == []


def test_the_data_directory_stays_private_after_registering_and_onboarding(
        nfv_home, keystone, open_umask):
    client = nfvlib.Client()
    try:
        client.vims.register_vim("site", vim_config(), is_default=True)
        info = client.packages.create_package()
        client.packages.upload_package(info.id, str(SAMPLE))
        data = client.paths.data_dir
    finally:
        client.close()
    assert any(data.rglob("*.yaml"))
    assert files.exposed(data) == []
