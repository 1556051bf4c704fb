"""Local package update and downloads, VNF info update, API versions, change-ext-conn.

A real store and the sample package; no Heat is needed: none of these
touches a stack.
"""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest

import nfvlib
from nfvlib.exceptions import Conflict, InvalidInput, NotFound, Unsupported
from nfvlib.lcm.catalog import LocalPackages, LocalVnfs
from nfvlib.lcm.local import LocalLcm

SAMPLE = Path(nfvlib.__file__).parent / "samples" / "sample_vnf"
SAMPLE_VNFD = "a0370897-134e-47e4-bf6f-6946b01b0cd1"
OTHER_VNFD = "b1481908-245f-58f5-c007-7057c12c1de2"


@pytest.fixture
def catalog(nfv_home, tmp_path):
    client = nfvlib.Client()
    packages = LocalPackages(client.store, client.paths.data_dir / "packages")
    info = packages.upload_package(packages.create_package().id, str(SAMPLE))
    yield packages, LocalVnfs(client.store, packages), info, client, tmp_path
    client.close()


def other_package(packages, tmp_path, vnfd_id=OTHER_VNFD):
    """A copy of the sample whose VNFD has another id (same flavours)."""
    copy = tmp_path / f"pkg-{vnfd_id}"
    shutil.copytree(SAMPLE, copy)
    for file in (copy / "Definitions").glob("*.yaml"):
        file.write_text(file.read_text().replace(SAMPLE_VNFD, vnfd_id))
    return packages.upload_package(packages.create_package().id, str(copy))


def test_a_disabled_package_refuses_new_instances_until_enabled(catalog):
    packages, vnfs, info, _, _ = catalog
    disabled = packages.update_package(info.id, operational_state="DISABLED")
    assert disabled.operational_state == "DISABLED"
    assert packages.get_package(info.id).operational_state == "DISABLED"
    with pytest.raises(Conflict, match="DISABLED: it takes no new VNF instances"):
        vnfs.create_vnf(info.vnfd_id)
    assert vnfs.list_vnfs() == []
    with pytest.raises(Conflict, match="already DISABLED"):
        packages.update_package(info.id, operational_state="DISABLED")
    packages.update_package(info.id, operational_state="ENABLED")
    assert vnfs.create_vnf(info.vnfd_id).vnfd_id == info.vnfd_id


def test_a_package_is_in_use_while_an_instance_refers_to_it(catalog):
    packages, vnfs, info, _, tmp_path = catalog
    other = other_package(packages, tmp_path)
    assert packages.get_package(info.id).usage_state == "NOT_IN_USE"
    vnf = vnfs.create_vnf(info.vnfd_id)  # not instantiated: IN_USE all the same (SOL005)
    assert packages.get_package(info.id).usage_state == "IN_USE"
    assert {p.id: p.usage_state for p in packages.list_packages()} == {
        info.id: "IN_USE", other.id: "NOT_IN_USE"}
    assert [p.id for p in packages.list_packages("(eq,usageState,IN_USE)")] == [info.id]
    vnfs.delete_vnf(vnf.id)
    assert packages.get_package(info.id).usage_state == "NOT_IN_USE"


def test_user_data_is_merged_and_a_null_removes_a_key(catalog):
    packages, _, info, _, _ = catalog
    packages.update_package(info.id, user_defined_data={"team": "core", "tier": "1"})
    updated = packages.update_package(info.id, user_defined_data={"tier": None, "x": "y"})
    assert updated.user_defined_data == {"team": "core", "x": "y"}
    assert packages.get_package(info.id).user_defined_data == {"team": "core", "x": "y"}


def test_update_refuses_bad_requests_and_packages_not_onboarded(catalog):
    packages, _, _, _, _ = catalog
    created = packages.create_package()
    with pytest.raises(Conflict, match="only an ONBOARDED package"):
        packages.update_package(created.id, operational_state="DISABLED")
    with pytest.raises(InvalidInput, match="nothing to update"):
        packages.update_package(created.id)
    with pytest.raises(InvalidInput, match="is not ENABLED or DISABLED"):
        packages.update_package(created.id, operational_state="OFF")
    with pytest.raises(NotFound):
        packages.update_package("no-such-package", operational_state="ENABLED")


def test_package_vnfd_and_artifact_downloads(catalog):
    packages, _, info, _, _ = catalog
    archive = zipfile.ZipFile(io.BytesIO(packages.download_package(info.id)))
    expected = sorted(p.relative_to(SAMPLE).as_posix() for p in SAMPLE.rglob("*")
                      if p.is_file())
    assert sorted(archive.namelist()) == expected
    vnfd = zipfile.ZipFile(io.BytesIO(packages.download_vnfd(info.id)))
    assert sorted(vnfd.namelist()) == sorted(
        n for n in expected if n.startswith(("Definitions/", "TOSCA-Metadata/")))
    # The sample's VNFD is several files: text/plain cannot carry it, 'both' zips it.
    with pytest.raises(InvalidInput, match="not one: it cannot be given as text/plain"):
        packages.download_vnfd(info.id, "text/plain")
    assert packages.download_vnfd(info.id, "both")[:2] == b"PK"
    script = packages.download_artifact(info.id, "Scripts/lifecycle.sh")
    assert script == (SAMPLE / "Scripts" / "lifecycle.sh").read_bytes()
    for bad in ("../../etc/passwd", "/etc/passwd", "", "."):
        with pytest.raises(InvalidInput, match="not inside the package"):
            packages.download_artifact(info.id, bad)
    with pytest.raises(NotFound, match="no artifact Scripts/none.sh"):
        packages.download_artifact(info.id, "Scripts/none.sh")
    with pytest.raises(Conflict, match="no content to download"):
        packages.download_package(packages.create_package().id)


def test_update_vnf_changes_name_description_and_vnfd(catalog):
    packages, vnfs, info, _, tmp_path = catalog
    vnf = vnfs.create_vnf(info.vnfd_id, name="old", description="d")
    updated = vnfs.update_vnf(vnf.id, {"vnfInstanceName": "new",
                                       "vnfInstanceDescription": "desc"})
    assert (updated.name, updated.description) == ("new", "desc")
    other = other_package(packages, tmp_path)
    moved = vnfs.update_vnf(vnf.id, {"vnfdId": OTHER_VNFD})
    assert (moved.vnfd_id, moved.package_id) == (OTHER_VNFD, other.id)
    assert vnfs.get_vnf(vnf.id).package_id == other.id
    packages.update_package(info.id, operational_state="DISABLED")
    with pytest.raises(Conflict, match="is DISABLED"):
        vnfs.update_vnf(vnf.id, {"vnfdId": SAMPLE_VNFD, "vnfInstanceName": "x"})
    assert vnfs.get_vnf(vnf.id).name == "new"  # nothing written


def test_secret_values_in_user_data_never_reach_the_store(catalog):
    """metadata, extensions and vnfConfigurableProperties are free-form: a
    value under a secret-looking key (password, token, ...) is kept as ***,
    in the instance and in its MODIFY_INFO occurrence alike."""
    _, vnfs, info, client, _ = catalog
    vnf = vnfs.create_vnf(info.vnfd_id, metadata={"db": {"password": "create-s3cret"}})
    vnfs.update_vnf(vnf.id, {"extensions": {"api_token": "update-s3cret", "n": 1},
                             "metadata": {"owner": "ops"}})
    got = vnfs.get_vnf(vnf.id)
    assert got.metadata == {"db": {"password": "***"}, "owner": "ops"}
    assert got.extensions == {"api_token": "***", "n": 1}
    store = client.paths.store_file
    for file in store.parent.glob(store.name + "*"):  # the database and its WAL
        assert b"s3cret" not in file.read_bytes()


def test_update_vnf_refuses_what_local_mode_cannot_keep(catalog):
    packages, vnfs, info, _, _ = catalog
    vnf = vnfs.create_vnf(info.vnfd_id)
    with pytest.raises(Unsupported, match="cannot update vnfcInfoModifications"):
        vnfs.update_vnf(vnf.id, {"vnfcInfoModifications": []})
    with pytest.raises(InvalidInput, match="non-empty JSON object"):
        vnfs.update_vnf(vnf.id, {})
    with pytest.raises(InvalidInput, match="vnfInstanceName must be a string"):
        vnfs.update_vnf(vnf.id, {"vnfInstanceName": 3})
    with pytest.raises(NotFound):
        vnfs.update_vnf(vnf.id, {"vnfdId": "no-such-vnfd"})


def test_versions_and_change_ext_conn_in_local_mode(catalog):
    packages, vnfs, info, client, _ = catalog
    lcm = LocalLcm(client.store, client.vims, packages, vnfs, spawn=lambda op_id: None)
    assert lcm.versions() == {"uriPrefix": "/vnflcm", "apiVersions": [
        {"version": "2.0.0", "isDeprecated": False}]}
    assert lcm.versions(2)["uriPrefix"] == "/vnflcm/v2"
    with pytest.raises(Unsupported, match="2.0.0 only"):
        lcm.versions(1)
    with pytest.raises(InvalidInput, match="major version 3"):
        lcm.versions(3)
    vnf = vnfs.create_vnf(info.vnfd_id)
    with pytest.raises(Unsupported, match="change-ext-conn is not implemented in local"):
        lcm.change_ext_conn(vnf.id, {"extVirtualLinks": []})
    with pytest.raises(NotFound):
        lcm.change_ext_conn("no-such-vnf", {"extVirtualLinks": []})


def test_list_filters_in_local_mode(catalog):
    packages, vnfs, info, _, tmp_path = catalog
    other = other_package(packages, tmp_path)
    packages.update_package(other.id, operational_state="DISABLED")
    assert [p.id for p in packages.list_packages(filter="(eq,operationalState,ENABLED)")
            ] == [info.id]
    assert [p.id for p in packages.list_packages(
        filter=f"(in,vnfdId,{SAMPLE_VNFD},{OTHER_VNFD});(neq,id,{info.id})")] == [other.id]
    web = vnfs.create_vnf(info.vnfd_id, name="web")
    vnfs.create_vnf(info.vnfd_id, name="db")
    assert [v.id for v in vnfs.list_vnfs(filter="(cont,vnfInstanceName,we)")] == [web.id]
    assert vnfs.list_vnfs(filter="(eq,instantiatedVnfInfo/flavourId,simple)") == []
    with pytest.raises(InvalidInput, match="no attribute 'colour'"):
        vnfs.list_vnfs(filter="(eq,colour,red)")


def test_an_archive_carries_the_checksum_of_the_file_uploaded(nfv_home, tmp_path):
    """As Tacker: SHA-512 of the CSAR as sent, the same for the same content."""
    import hashlib

    archive = shutil.make_archive(str(tmp_path / "sample"), "zip", SAMPLE)
    client = nfvlib.Client()
    try:
        packages = client.packages
        info = packages.upload_package(packages.create_package().id, archive)
        assert info.checksum == {"algorithm": "SHA-512", "hash": hashlib.sha512(
            Path(archive).read_bytes()).hexdigest()}
        assert packages.get_package(info.id).checksum == info.checksum
        assert packages.list_packages(
            filter=f"(eq,checksum/hash,{info.checksum['hash']})") == [info]
    finally:
        client.close()
