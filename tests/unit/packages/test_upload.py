"""Onboarding into the local store: a failed upload leaves nothing behind.

A real store and packages directory; after every refused or failed upload
the store's content and the packages directory are what they were, and the
package is still CREATED.
"""

from __future__ import annotations

import shutil

import pytest

import nfvlib
from nfvlib.exceptions import InvalidInput
from nfvlib.lcm.catalog import LocalPackages
from nfvlib.models import OnboardingState
from tests.unit.packages import SAMPLE, SAMPLE_DF, copy_package, zip_package


@pytest.fixture
def packages(nfv_home):
    client = nfvlib.Client()
    yield LocalPackages(client.store, client.paths.data_dir / "packages"), client
    client.close()


def state(client) -> tuple[list[str], list[str]]:
    """The store's content and every path under the packages directory."""
    folder = client.paths.data_dir / "packages"
    return (list(client.store.conn.iterdump()),
            sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))
            if folder.exists() else [])


def test_a_copy_that_fails_half_way_leaves_no_staging_directory(packages, monkeypatch,
                                                                 tmp_path):
    local, client = packages
    package_id = local.create_package().id
    before = state(client)
    source = copy_package(tmp_path)
    real_copytree = shutil.copytree

    def copy_then_fail(src, dst, *args, **kwargs):
        monkeypatch.setattr(shutil, "copytree", real_copytree)
        real_copytree(src, dst, *args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(shutil, "copytree", copy_then_fail)
    with pytest.raises(OSError, match="No space left"):
        local.upload_package(package_id, source)
    monkeypatch.undo()
    after = state(client)
    assert after[0] == before[0]
    assert not any(name.endswith(".tmp") for name in after[1]), after[1]
    assert local.get_package(package_id).onboarding_state is OnboardingState.CREATED
    onboarded = local.upload_package(package_id, SAMPLE)  # and it can still be uploaded
    assert onboarded.onboarding_state is OnboardingState.ONBOARDED


def test_a_store_failure_after_the_copy_leaves_no_content(packages, monkeypatch):
    local, client = packages
    package_id = local.create_package().id

    def fail(*args, **kwargs):
        raise RuntimeError("store went away")

    monkeypatch.setattr(local._table, "update", fail)
    with pytest.raises(RuntimeError):
        local.upload_package(package_id, SAMPLE)
    assert state(client)[1] == []


@pytest.mark.parametrize("breakage", ["dangling link", "loop", "bad yaml", "bad zip"])
def test_refused_uploads_change_nothing(packages, tmp_path, breakage):
    local, client = packages
    package_id = local.create_package().id
    before = state(client)
    package = copy_package(tmp_path)
    if breakage == "dangling link":
        (package / "Scripts" / "gone.sh").symlink_to(package / "Scripts" / "nothing")
    elif breakage == "loop":
        (package / "Scripts" / "a").symlink_to(package / "Scripts" / "b")
        (package / "Scripts" / "b").symlink_to(package / "Scripts" / "a")
    elif breakage == "bad yaml":
        (package / SAMPLE_DF).write_text("a: [\n")
    else:
        archive = zip_package(package, tmp_path / "pkg.zip")
        archive.write_bytes(archive.read_bytes()[:-100])
        package = archive
    with pytest.raises(InvalidInput) as info:
        local.upload_package(package_id, package)
    assert "\n" not in str(info.value) and len(str(info.value)) < 300, str(info.value)
    assert state(client) == before


def test_delete_removes_a_staging_directory_left_by_a_killed_upload(packages):
    local, client = packages
    package_id = local.create_package().id
    staging = client.paths.data_dir / "packages" / f".{package_id}.tmp"
    (staging / "Definitions").mkdir(parents=True)
    (staging / "Definitions" / "half.yaml").write_text("tosca")
    local.delete_package(package_id)
    assert not staging.exists()
    assert state(client)[1] == []
