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
    def list_packages(self): ...
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
    assert json.loads(out) == {"ID": PKG_ID, "Onboarding State": "CREATED",
                               "Operational State": "DISABLED", "Usage State": "NOT_IN_USE",
                               "User Defined Data": {"a": "1", "b": "x=y"}}

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
    assert list(rows[0]) == ["ID", "VNF Product Name", "Onboarding State", "Usage State",
                             "Operational State", "User Defined Data"]
    assert rows[1] == {"ID": "p2", "VNF Product Name": "Web",
                       "Onboarding State": "ONBOARDED", "Usage State": "NOT_IN_USE",
                       "Operational State": "ENABLED",
                       "User Defined Data": {"team": "core"}}
    code, out, _ = run(capsys, "vnf", "package", "list")
    assert code == 0 and "team='core'" in out


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
