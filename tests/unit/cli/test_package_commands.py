"""`nfv vnf package ...` in-process against a fake nfvlib client.

The fake is autospecced from the library's call signatures and returns real
model objects.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from unittest import mock

import pytest

from nfvcli import shell
from nfvlib.exceptions import Conflict, InvalidInput, NotFound
from nfvlib.models import OnboardingState, PackageInfo

PKG_ID = "0c1f5e9a-pkg"


class _Packages:
    def create_package(self, user_defined_data=None): ...
    def upload_package(self, package_id, path): ...
    def list_packages(self, filter=None): ...
    def update_package(self, package_id, *, operational_state=None,
                       user_defined_data=None): ...
    def download_package(self, package_id): ...
    def download_vnfd(self, package_id, accept="application/zip"): ...
    def download_artifact(self, package_id, artifact_path): ...
    def get_package(self, package_id): ...
    def delete_package(self, package_id): ...


def created(**changes):
    values = dict(id=PKG_ID, onboarding_state=OnboardingState.CREATED)
    values.update(changes)
    return PackageInfo(**values)


def onboarded(**changes):
    values = dict(id=PKG_ID, onboarding_state=OnboardingState.ONBOARDED,
                  operational_state="ENABLED", vnfd_id="vnfd-1", vnf_provider="ACME",
                  vnf_product_name="Web", vnf_software_version="1.0", vnfd_version="2.0",
                  path="/data/packages/x", user_defined_data={"team": "core"})
    values.update(changes)
    return PackageInfo(**values)


@pytest.fixture
def packages(nfv_home, monkeypatch):
    """The app's ``client.packages``, replaced by an autospecced fake."""
    fake = SimpleNamespace(packages=mock.create_autospec(_Packages, instance=True))
    monkeypatch.setattr(shell.ClientManager, "nfv", property(lambda self: fake))
    return fake.packages


def run(capsys, *argv):
    try:
        code = shell.main(list(argv))
    except SystemExit as exc:  # argparse rejects an option value
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_create_with_user_data(packages, capsys):
    packages.create_package.return_value = created(user_defined_data={"a": "1", "b": "x=y"})
    code, out, err = run(capsys, "vnf", "package", "create", "--user-data", "a=1",
                         "--user-data", "b=x=y", "-f", "json")
    assert code == 0, err
    packages.create_package.assert_called_once_with(
        user_defined_data={"a": "1", "b": "x=y"})
    base = f"/vnfpkgm/v1/vnf_packages/{PKG_ID}"
    assert json.loads(out) == {"ID": PKG_ID, "Onboarding State": "CREATED",
                               "Operational State": "DISABLED", "Usage State": "NOT_IN_USE",
                               "User Defined Data": {"a": "1", "b": "x=y"},
                               "Links": {"self": {"href": base}, "packageContent": {
                                   "href": f"{base}/package_content"}}}

    packages.create_package.reset_mock()
    code, out, _ = run(capsys, "vnf", "package", "create")
    assert code == 0 and PKG_ID in out
    packages.create_package.assert_called_once_with(user_defined_data=None)


@pytest.mark.parametrize("value", ["novalue", "=v"])
def test_create_rejects_bad_user_data(packages, capsys, value):
    code, _, err = run(capsys, "vnf", "package", "create", "--user-data", value)
    assert code == 2 and "expected KEY=VALUE" in err
    packages.create_package.assert_not_called()


def test_upload_from_path(packages, capsys, tmp_path):
    packages.upload_package.return_value = onboarded()
    csar = tmp_path / "pkg.zip"
    code, out, err = run(capsys, "vnf", "package", "upload", PKG_ID, "--path", str(csar))
    assert code == 0, err
    packages.upload_package.assert_called_once_with(PKG_ID, str(csar))
    assert out == (f"Upload request for VNF package {PKG_ID} has been accepted.\n"
                   "Onboarding State: ONBOARDED, VNFD ID: vnfd-1\n")


def test_upload_failure_is_one_line(packages, capsys):
    packages.upload_package.side_effect = InvalidInput(
        "package /tmp/x.zip has no TOSCA-Metadata/TOSCA.meta")
    code, out, err = run(capsys, "vnf", "package", "upload", PKG_ID, "--path", "/tmp/x.zip")
    assert code == 2 and out == ""
    assert err == "nfv: error: package /tmp/x.zip has no TOSCA-Metadata/TOSCA.meta\n"


def test_upload_from_url_is_unsupported(packages, capsys):
    code, out, err = run(capsys, "vnf", "package", "upload", PKG_ID, "--url",
                         "http://example.test/pkg.zip", "--user-name", "u",
                         "--password", "p")
    assert code == 9 and out == ""
    assert err == ("nfv: error: upload from a URL is not supported in local mode; "
                   "download the package and upload it with --path\n")
    packages.upload_package.assert_not_called()


@pytest.mark.parametrize("argv, words", [
    ((), "one of the arguments --path --url is required"),
    (("--path", "a.zip", "--url", "http://x"), "not allowed with argument"),
])
def test_upload_needs_exactly_one_source(packages, capsys, argv, words):
    code, _, err = run(capsys, "vnf", "package", "upload", PKG_ID, *argv)
    assert code == 2 and words in err
    packages.upload_package.assert_not_called()


def test_list_columns(packages, capsys):
    packages.list_packages.return_value = [created(), onboarded(id="p2")]
    code, out, err = run(capsys, "vnf", "package", "list", "-f", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert list(rows[0]) == ["Id", "Vnf Product Name", "Onboarding State", "Usage State",
                             "Operational State", "Links"]
    assert rows[1] == {"Id": "p2", "Vnf Product Name": "Web",
                       "Onboarding State": "ONBOARDED", "Usage State": "NOT_IN_USE",
                       "Operational State": "ENABLED",
                       "Links": {"self": {"href": "/vnfpkgm/v1/vnf_packages/p2"},
                                 "packageContent": {"href": "/vnfpkgm/v1/vnf_packages/p2/"
                                                            "package_content"}}}
    code, out, _ = run(capsys, "vnf", "package", "list")
    assert code == 0 and "/vnfpkgm/v1/vnf_packages/p2/package_content" in out


def test_show_adds_vnfd_columns_once_onboarded(packages, capsys):
    packages.get_package.return_value = created()
    code, out, _ = run(capsys, "vnf", "package", "show", PKG_ID, "-f", "json")
    assert code == 0
    packages.get_package.assert_called_once_with(PKG_ID)
    assert "VNFD ID" not in json.loads(out)

    packages.get_package.return_value = onboarded()
    code, out, _ = run(capsys, "vnf", "package", "show", PKG_ID, "-f", "json")
    shown = json.loads(out)
    assert list(shown) == sorted(shown)
    assert shown["VNFD ID"] == "vnfd-1" and shown["VNF Provider"] == "ACME"
    assert shown["VNFD Version"] == "2.0" and shown["VNF Software Version"] == "1.0"
    for fmt in ("table", "yaml", "value", "shell"):
        code, out, _ = run(capsys, "vnf", "package", "show", PKG_ID, "-f", fmt)
        assert code == 0 and "vnfd-1" in out


def test_show_unknown_package(packages, capsys):
    packages.get_package.side_effect = NotFound("VNF package nope not found")
    code, out, err = run(capsys, "vnf", "package", "show", "nope")
    assert code == 3 and out == "" and err == "nfv: error: VNF package nope not found\n"


def test_delete_several_reports_n_of_m(packages, capsys):
    packages.delete_package.side_effect = [
        created(), Conflict("VNF package p2 is IN_USE"), NotFound("no VNF package p3")]
    code, out, err = run(capsys, "vnf", "package", "delete", PKG_ID, "p2", "p3")
    assert code == 4
    assert [c.args for c in packages.delete_package.call_args_list] == [
        (PKG_ID,), ("p2",), ("p3",)]
    assert out.splitlines() == [f"Deleted {PKG_ID}",
                                "Cannot delete p2: VNF package p2 is IN_USE",
                                "Cannot delete p3: no VNF package p3"]
    assert err.splitlines() == ["nfv: error: 2 of 3 VNF packages failed to delete; "
                                "first: Cannot delete p2: VNF package p2 is IN_USE"]

    packages.delete_package.side_effect = None
    code, out, _ = run(capsys, "vnf", "package", "delete", PKG_ID, "p2")
    assert code == 0 and out == "All specified vnf-package(s) deleted successfully\n"


# -- hostile packages against the real local library ----------------------------

@pytest.fixture
def real_store(nfv_home):
    """The CLI on a real store: a CREATED package to upload into."""
    import nfvlib

    client = nfvlib.Client()
    try:
        package = client.packages.create_package()
    finally:
        client.close()
    return package.id


def _state(data_dir):
    import sqlite3

    conn = sqlite3.connect(data_dir / "nfv.sqlite")
    try:
        rows = list(conn.iterdump())
    finally:
        conn.close()
    folder = data_dir / "packages"
    return rows, sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) \
        if folder.exists() else []


def _sample_copy(tmp_path):
    import shutil
    from pathlib import Path

    import nfvlib

    target = tmp_path / "pkg"
    shutil.copytree(Path(nfvlib.__file__).parent / "samples" / "sample_vnf", target)
    return target


DF = "Definitions/sample_vnf_df_simple.yaml"
BOMB = ("[&a0 [x, x, x, x, x, x, x, x, x], "
        + ", ".join(f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9))
        + "]")


@pytest.mark.parametrize("breakage, words", [
    ("dangling", "Scripts/gone.sh: is a symbolic link"),
    ("loop", "Scripts/a: is a symbolic link"),
    ("bomb", f"{DF}: YAML is refused at line 40"),
    ("nested", f"{DF}: YAML is refused at line"),
    ("descriptor", "properties.descriptor_id '../../x' is not a safe identifier"),
    ("long name", "cannot be read: File name too long"),
    ("missing", "does not exist"),
    ("device", "VNF package /dev/zero is neither a directory nor a regular file"),
])
def test_hostile_uploads_exit_2_in_one_line_and_change_nothing(real_store, nfv_home,
                                                                capsys, tmp_path,
                                                                breakage, words):
    import time

    package = _sample_copy(tmp_path)
    if breakage == "dangling":
        (package / "Scripts" / "gone.sh").symlink_to(package / "Scripts" / "nothing")
    elif breakage == "loop":
        (package / "Scripts" / "a").symlink_to(package / "Scripts" / "b")
        (package / "Scripts" / "b").symlink_to(package / "Scripts" / "a")
    elif breakage == "bomb":
        text = (package / DF).read_text()
        (package / DF).write_text(text.replace(
            "flavour_description: One scalable VDU and one single VDU on two internal "
            "networks", f"flavour_description: {BOMB}"))
    elif breakage == "nested":
        (package / DF).write_text((package / DF).read_text()
                                  + "\nx: " + "[" * 3000 + "]" * 3000 + "\n")
    elif breakage == "descriptor":
        top = package / "Definitions" / "sample_vnf_top.vnfd.yaml"
        top.write_text(top.read_text().replace(
            "descriptor_id: a0370897-134e-47e4-bf6f-6946b01b0cd1", "descriptor_id: ../../x"))
    elif breakage == "long name":
        package = tmp_path / ("x" * 300)
    elif breakage == "missing":
        package = tmp_path / "nothing"
    else:
        package = "/dev/zero"
    before = _state(nfv_home)
    started = time.monotonic()
    code, out, err = run(capsys, "vnf", "package", "upload", real_store, "--path",
                         str(package))
    assert time.monotonic() - started < 2
    assert code == 2 and out == "" and err.count("\n") == 1 and words in err, err
    assert len(err) < 400 and "Traceback" not in err
    assert _state(nfv_home) == before


def test_delete_removes_what_an_interrupted_upload_left(real_store, nfv_home, capsys):
    staging = nfv_home / "packages" / f".{real_store}.tmp"
    (staging / "BaseHOT").mkdir(parents=True)
    code, out, err = run(capsys, "vnf", "package", "delete", real_store)
    assert code == 0, err
    assert not staging.exists()


# -- list options, update, downloads ---------------------------------------------

@pytest.mark.parametrize("argv, columns", [
    ((), ["Id", "Vnf Product Name", "Onboarding State", "Usage State",
          "Operational State", "Links"]),
    (("--fields", "softwareImages/id,checksum"),
     ["Id", "Vnf Product Name", "Onboarding State", "Usage State", "Operational State",
      "Links", "Software Images", "Checksum"]),
    (("--exclude_fields", "checksum,softwareImages"),
     ["Id", "Vnf Product Name", "Onboarding State", "Usage State", "Operational State",
      "Links", "User Defined Data", "Additional Artifacts"]),
    (("--all_fields",),
     ["Id", "Vnf Product Name", "Onboarding State", "Usage State", "Operational State",
      "Links", "Checksum", "Software Images", "User Defined Data", "Additional Artifacts",
      "Vnfd Version", "Vnf Provider", "Vnf Software Version", "Vnfd Id"]),
    (("--exclude_default",),
     ["Id", "Vnf Product Name", "Onboarding State", "Usage State", "Operational State",
      "Links", "Vnfd Version", "Vnf Provider", "Vnf Software Version", "Vnfd Id"]),
])
def test_list_fields_options_pick_tackerclients_columns(packages, capsys, argv, columns):
    packages.list_packages.return_value = [onboarded()]
    code, out, err = run(capsys, "vnf", "package", "list", *argv, "-f", "json")
    assert code == 0, err
    assert list(json.loads(out)[0]) == columns
    packages.list_packages.assert_called_once_with(filter=None)


def test_list_passes_the_filter_and_reports_a_bad_one(packages, capsys):
    packages.list_packages.return_value = []
    code, _, err = run(capsys, "vnf", "package", "list", "--filter",
                       "(eq,operationalState,ENABLED)")
    assert code == 0, err
    packages.list_packages.assert_called_once_with(filter="(eq,operationalState,ENABLED)")
    packages.list_packages.side_effect = InvalidInput("filter term '(x)': unknown operator")
    code, out, err = run(capsys, "vnf", "package", "list", "--filter", "(x)")
    assert code == 2 and out == "" and err.count("\n") == 1
    code, _, err = run(capsys, "vnf", "package", "list", "--all_fields", "--fields", "a")
    assert code == 2 and "not allowed with argument" in err


def test_update_shows_the_modifications(packages, capsys):
    packages.update_package.return_value = onboarded(operational_state="DISABLED")
    code, out, err = run(capsys, "vnf", "package", "update", PKG_ID,
                         "--operational-state", "DISABLED", "--user-data", "a=1",
                         "-f", "json")
    assert code == 0, err
    packages.update_package.assert_called_once_with(
        PKG_ID, operational_state="DISABLED", user_defined_data={"a": "1"})
    assert json.loads(out) == {"Operational State": "DISABLED",
                               "User Defined Data": {"a": "1"}}
    code, out, err = run(capsys, "vnf", "package", "update", PKG_ID)
    assert code == 2 and "--user-data" in err and "--operational-state" in err
    packages.update_package.side_effect = Conflict("VNF package x is already DISABLED")
    code, _, err = run(capsys, "vnf", "package", "update", PKG_ID,
                       "--operational-state", "DISABLED")
    assert code == 4 and err == "nfv: error: VNF package x is already DISABLED\n"


def test_download_writes_the_file_whole(packages, capsys, tmp_path):
    packages.download_package.return_value = b"PK\x03\x04zip"
    target = tmp_path / "pkg.zip"
    code, out, err = run(capsys, "vnf", "package", "download", PKG_ID, "--file",
                         str(target))
    assert code == 0 and out == "", err
    assert target.read_bytes() == b"PK\x03\x04zip"
    assert [p.name for p in tmp_path.iterdir()] == ["pkg.zip"]

    packages.download_vnfd.return_value = "tosca_definitions_version: x\n"
    code, out, err = run(capsys, "vnf", "package", "download", PKG_ID, "--vnfd",
                         "--type", "text/plain")
    assert code == 0 and out == "tosca_definitions_version: x\n", err
    packages.download_vnfd.assert_called_once_with(PKG_ID, "text/plain")

    packages.download_artifact.return_value = b"#!/bin/sh\n"
    code, _, err = run(capsys, "vnf", "package", "artifact", "download", PKG_ID,
                       "Scripts/a.sh", "--file", str(tmp_path / "a.sh"))
    assert code == 0, err
    packages.download_artifact.assert_called_once_with(PKG_ID, "Scripts/a.sh")
    assert (tmp_path / "a.sh").read_bytes() == b"#!/bin/sh\n"


def test_download_refuses_binary_data_on_a_terminal(packages, capsys, monkeypatch):
    packages.download_package.return_value = b"PK\x03\x04zip"
    from nfvcli import common

    real = common.write_output

    def on_a_terminal(command, data, path):
        command.app.stdout.isatty = lambda: True
        return real(command, data, path)

    monkeypatch.setattr(common, "write_output", on_a_terminal)
    code, out, err = run(capsys, "vnf", "package", "download", PKG_ID)
    assert code == 2 and out == ""
    assert err == ("nfv: error: no local file given for the downloaded data and stdout "
                   "is a terminal; give --file <FILE> or redirect the output\n")
