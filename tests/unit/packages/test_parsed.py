"""Parsed package YAML kept as JSON by the digest of its text."""

from __future__ import annotations

import io
import stat
import zipfile

import pytest

import nfvlib
from nfvlib.lcm.catalog import LocalPackages
from nfvlib.packages import csar, load_package
from nfvlib.packages.parsed import ParsedYamlCache
from tests.unit.packages import TACKER_SAMPLE, copy_package, edit


@pytest.fixture
def parses(monkeypatch):
    """The texts csar.load_yaml parses."""
    seen: list[str] = []
    real = csar.load_yaml

    def counting(text, file):
        seen.append(file)
        return real(text, file)

    monkeypatch.setattr(csar, "load_yaml", counting)
    return seen


def test_a_package_read_again_parses_nothing_and_is_the_same(tmp_path, parses):
    cache = ParsedYamlCache(tmp_path / "parsed")
    first = load_package(TACKER_SAMPLE, yaml_cache=cache)
    assert len(parses) >= 5  # the VNFD, the ETSI type files, the Heat templates
    parses.clear()
    again = load_package(TACKER_SAMPLE, yaml_cache=ParsedYamlCache(tmp_path / "parsed"))
    assert parses == []
    assert again == first == load_package(TACKER_SAMPLE)
    directory = tmp_path / "parsed"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert {stat.S_IMODE(f.stat().st_mode) for f in directory.iterdir()} == {0o600}


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]", '"text"'])
def test_an_entry_that_is_not_a_mapping_is_parsed_again_and_replaced(tmp_path, parses,
                                                                     content):
    cache = ParsedYamlCache(tmp_path)
    assert cache.load("a: 1\n", "f.yaml") == {"a": 1}
    (entry,) = tmp_path.iterdir()
    entry.write_text(content)
    parses.clear()
    assert cache.load("a: 1\n", "f.yaml") == {"a": 1}
    assert parses == ["f.yaml"]
    assert cache.load("a: 1\n", "f.yaml") == {"a": 1} and parses == ["f.yaml"]


def test_what_json_cannot_keep_exactly_is_parsed_every_time(tmp_path, parses):
    cache = ParsedYamlCache(tmp_path)
    for _ in range(2):
        assert cache.load("1: one\nnan: .nan\n", "f.yaml")[1] == "one"
    assert parses == ["f.yaml", "f.yaml"] and list(tmp_path.iterdir()) == []


def test_a_defect_is_reported_as_without_the_cache_and_nothing_is_kept(tmp_path):
    cache = ParsedYamlCache(tmp_path)
    with pytest.raises(csar.PackageError, match="f.yaml: invalid YAML at line 2"):
        cache.load("a: [1\n", "f.yaml")
    assert list(tmp_path.iterdir()) == []


def test_a_cache_that_cannot_be_written_still_parses(tmp_path):
    (tmp_path / "parsed").write_text("a file where the directory would be")
    assert ParsedYamlCache(tmp_path / "parsed").load("a: 1\n", "f.yaml") == {"a": 1}


def test_an_upload_refused_keeps_nothing(nfv_home, tmp_path):
    package = copy_package(tmp_path)
    edit(package, "BaseHOT/simple/sample_vnf.yaml", "resources:", "resources: [")
    client = nfvlib.Client()
    try:
        packages = LocalPackages(client.store, client.paths.data_dir / "packages")
        with pytest.raises(csar.PackageError, match="sample_vnf.yaml"):
            packages.upload_package(packages.create_package().id, str(package))
        assert not (client.paths.data_dir / "packages" / ".parsed").exists()
    finally:
        client.close()


def test_an_onboarded_package_is_parsed_at_upload_only(nfv_home, parses):
    client = nfvlib.Client()
    try:
        packages = LocalPackages(client.store, client.paths.data_dir / "packages")
        info = packages.upload_package(packages.create_package().id, str(TACKER_SAMPLE))
        parses.clear()
        # another process: a new LocalPackages, nothing loaded yet
        fresh = LocalPackages(client.store, client.paths.data_dir / "packages")
        assert fresh.load(info).vnfd_id == info.vnfd_id
        assert parses == []
        with zipfile.ZipFile(io.BytesIO(fresh.download_package(info.id))) as archive:
            assert not [n for n in archive.namelist() if ".parsed" in n]
        assert fresh.download_package(info.id) == packages.download_package(info.id)
    finally:
        client.close()
