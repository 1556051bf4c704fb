"""python-tackerclient's commands and SOL013 filters against a real Tacker 16.

Package update and downloads, filters on packages and VNF instances, VNF
info update and api_versions go through ``nfvlib.Client("remote", ...)`` and
``nfv --os-nfv-mode remote``; each result is Tacker's own answer, and the
same filters give the same answer from local mode over the same package.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import uuid
import zipfile

import pytest

from nfvlib import Client, Conflict
from nfvlib.exceptions import BackendError
from tests.data import TACKER_SAMPLE

WAIT = 180


@pytest.fixture(scope="module")
def sb(tacker_sandbox):
    return tacker_sandbox


@pytest.fixture(scope="module")
def remote(sb):
    return sb.tacker_client()


@pytest.fixture(scope="module")
def local(sb, tmp_path_factory):
    from nfvlib.config import Paths

    client = Client("local", paths=Paths.from_env(
        data_dir=tmp_path_factory.mktemp("local-compat")))
    yield client
    client.close()


@pytest.fixture(scope="module")
def packages(remote, local):
    """The same package onboarded on the Tacker server and in local mode."""
    tag = f"compat-{uuid.uuid4().hex[:8]}"
    made = {}
    for name, client in (("remote", remote), ("local", local)):
        info = client.packages.create_package({"suite": tag})
        made[name] = client.packages.upload_package(info.id, str(TACKER_SAMPLE))
    yield tag, made
    for name, client in (("remote", remote), ("local", local)):
        for vnf in client.vnfs.list_vnfs(filter=f"(eq,vnfdId,{made[name].vnfd_id})"):
            client.vnfs.delete_vnf(vnf.id)
        client.packages.delete_package(made[name].id)


def nfv(sb, *argv: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(sb.openrc(), NFV_DATA_DIR=str(sb.paths.data_dir))
    proc = subprocess.run([sys.executable, "-m", "nfvcli.shell", "--os-nfv-mode", "remote",
                           *argv], env=env, capture_output=True, timeout=WAIT)
    stderr = proc.stderr.decode()
    assert "Traceback" not in stderr, stderr
    return proc.returncode, proc.stdout.decode(errors="replace"), stderr


FILTERS = [
    "(eq,userDefinedData/suite,{tag})",
    "(eq,id,{id});(eq,onboardingState,ONBOARDED)",
    "(eq,id,{id});(in,operationalState,ENABLED,DISABLED)",
    "(eq,id,{id});(neq,vnfProductName,nothing-like-it)",
    "(eq,id,{id});(cont,vnfProvider,Company)",
    "(eq,id,{id});(nin,usageState,IN_USE)",
    "(eq,id,{id});(eq,vnfProductName,nothing-like-it)",
    "(eq,id,{id});(ncont,vnfProvider,Company)",
]


@pytest.mark.parametrize("template", FILTERS)
def test_package_filters_give_tackers_answer_in_both_modes(remote, local, packages,
                                                          template):
    tag, made = packages
    found = {}
    for name, client in (("remote", remote), ("local", local)):
        text = template.format(tag=tag, id=made[name].id)
        found[name] = [p.id for p in client.packages.list_packages(filter=text)]
    assert found["remote"] in ([made["remote"].id], [])
    assert bool(found["local"]) == bool(found["remote"])
    assert found["local"] in ([made["local"].id], [])


def test_a_disabled_package_refuses_new_instances_on_tacker_and_locally(
        remote, local, packages):
    _, made = packages
    for name, client in (("remote", remote), ("local", local)):
        info = client.packages.update_package(made[name].id, operational_state="DISABLED")
        # What the server (or the store) holds now, read back.
        held = client.packages.get_package(made[name].id)
        assert held.operational_state == "DISABLED" == info.operational_state
        with pytest.raises(Conflict):
            client.vnfs.create_vnf(made[name].vnfd_id)
        client.packages.update_package(made[name].id, operational_state="ENABLED")
        assert client.packages.get_package(made[name].id).operational_state == "ENABLED"


def test_user_defined_data_update(remote, local, packages):
    tag, made = packages
    updated = local.packages.update_package(made["local"].id,
                                            user_defined_data={"state": "on"})
    assert updated.user_defined_data == {"suite": tag, "state": "on"}
    assert local.packages.get_package(made["local"].id).user_defined_data == {
        "suite": tag, "state": "on"}
    # Tacker 16 fails any userDefinedData PATCH in its database layer (HTTP 500,
    # sqlalchemy InvalidRequestError): one line naming Tacker's answer, and the
    # package on the server is as it was.
    with pytest.raises(BackendError, match="Tacker answered HTTP 500"):
        remote.packages.update_package(made["remote"].id,
                                       user_defined_data={"state": "on"})
    assert remote.packages.get_package(made["remote"].id).user_defined_data == {
        "suite": tag}


def test_package_content_and_vnfd_download(sb, remote, local, packages, tmp_path):
    _, made = packages
    expected = {p.relative_to(TACKER_SAMPLE).as_posix() for p in TACKER_SAMPLE.rglob("*")
                if p.is_file()}
    for name, client in (("remote", remote), ("local", local)):
        names = set(zipfile.ZipFile(io.BytesIO(
            client.packages.download_package(made[name].id))).namelist())
        assert {n for n in expected if n != "README.md"} <= names
        vnfd = set(zipfile.ZipFile(io.BytesIO(
            client.packages.download_vnfd(made[name].id))).namelist())
        assert "Definitions/v2_sample2_top.vnfd.yaml" in vnfd
        assert not any(n.startswith("BaseHOT/") for n in vnfd)
    target = tmp_path / "pkg.zip"
    code, out, err = nfv(sb, "vnf", "package", "download", made["remote"].id,
                         "--file", str(target))
    assert code == 0 and out == "", err
    assert "TOSCA-Metadata/TOSCA.meta" in zipfile.ZipFile(target).namelist()


def test_vnf_filters_update_and_versions_on_tacker(sb, remote, packages):
    _, made = packages
    name = f"compat-{uuid.uuid4().hex[:8]}"
    vnf = remote.vnfs.create_vnf(made["remote"].vnfd_id, name=name)
    listed = remote.vnfs.list_vnfs(
        filter=f"(eq,vnfInstanceName,{name});(eq,instantiationState,NOT_INSTANTIATED)")
    assert [v.id for v in listed] == [vnf.id]
    assert remote.vnfs.list_vnfs(filter=f"(eq,vnfInstanceName,{name});"
                                        "(neq,instantiationState,NOT_INSTANTIATED)") == []
    code, out, err = nfv(sb, "vnflcm", "list", "--filter", f"(cont,vnfInstanceName,{name})",
                         "-f", "json")
    assert code == 0, err
    assert [r["ID"] for r in json.loads(out)] == [vnf.id]

    remote.vnfs.update_vnf(vnf.id, {"vnfInstanceDescription": "updated"})
    # Tacker applies it as a MODIFY_INFO occurrence: read until it is there.
    import time

    deadline = time.monotonic() + 60
    while remote.vnfs.get_vnf(vnf.id).description != "updated":
        assert time.monotonic() < deadline, "Tacker never applied the update"
        time.sleep(0.5)
    ops = remote.lcm.list_op_occs(filter=f"(eq,vnfInstanceId,{vnf.id});"
                                         "(eq,operation,MODIFY_INFO)")
    assert len(ops) == 1

    code, out, err = nfv(sb, "vnflcm", "versions", "-f", "json")
    assert code == 0, err
    versions = json.loads(out)
    assert versions["uriPrefix"] == "/vnflcm"
    assert "2.0.0" in {v["version"] for v in versions["apiVersions"]}
    code, _, err = nfv(sb, "--os-tacker-api-version", "1", "vnflcm", "list")
    assert code == 0, err
