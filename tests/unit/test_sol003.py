"""Local ``-f json`` output has SOL003's shapes and python-tackerclient's columns.

Records come from real occurrences run in this process (the plan runner, the
real store and vault, the stateful fake Heat: the ``world`` of
tests/unit/lcm/test_plans.py). The CLI prints them in local mode; the
columns are mapped back to SOL003 attributes with python-tackerclient's own
column maps (read from the installed python-tackerclient 2.6.0) and the
records are validated against JSON Schemas written from the ETSI field
tables (tests/unit/schemas/).
"""

from __future__ import annotations

import importlib

import json
from pathlib import Path

import jsonschema
import pytest
from referencing import Registry, Resource

from nfvcli import shell
from nfvlib import sol003
from nfvlib.models import OpState
from tests.unit.lcm.test_plans import FAIL_SCALE_END, world  # noqa: F401

SCHEMAS = Path(__file__).parent / "schemas"
tc_vnflcm = importlib.import_module("tackerclient.osc.v1.vnflcm.vnflcm")
tc_op_occs = importlib.import_module("tackerclient.osc.v1.vnflcm.vnflcm_op_occs")
tc_package = importlib.import_module("tackerclient.osc.v1.vnfpkgm.vnf_package")


def _validator(name: str) -> jsonschema.Draft202012Validator:
    resources = [(f"{p.name}", Resource.from_contents(json.loads(p.read_text())))
                 for p in SCHEMAS.glob("*.json")]
    registry = Registry().with_resources(
        [(r.contents["$id"], r) for _, r in resources])
    schema = json.loads((SCHEMAS / f"{name}.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def assert_valid(name: str, record: dict) -> None:
    errors = sorted(_validator(name).iter_errors(record), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def nfv_json(capsys, *argv):
    """``nfv ARGV -f json`` in local mode, parsed."""
    capsys.readouterr()
    try:
        code = shell.main([*argv, "-f", "json"])
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def from_columns(shown: dict, columns: tuple[tuple, tuple], expected: dict) -> dict:
    """The SOL003 record behind python-tackerclient's columns (absent ones are "").

    ``columns`` is what tackerclient's ``_get_columns`` answered for the
    record: its display names and the attribute behind each. Our columns
    must start with exactly those; what follows is nfvkit's own.
    """
    display, attrs = columns
    assert list(shown)[:len(display)] == list(display)
    return {a: shown[d] for d, a in zip(display, attrs) if shown[d] != "" or a in expected}


@pytest.fixture
def local(world, monkeypatch):  # noqa: F811
    monkeypatch.setenv("OS_NFV_MODE", "local")
    return world


# -- VnfInstance ---------------------------------------------------------------

def test_vnflcm_show_of_an_instantiated_vnf_is_a_sol003_vnf_instance(local, capsys):
    vnf = local.instantiated()
    shown = nfv_json(capsys, "vnflcm", "show", vnf.id)
    expected = sol003.vnf_instance(local.vnfs.get_vnf(vnf.id))
    record = from_columns(shown, tc_vnflcm._get_columns(expected, action="show"), expected)
    assert record == expected
    assert_valid("VnfInstance", record)
    info = record["instantiatedVnfInfo"]
    assert info["scaleStatus"] == [{"aspectId": "VDU1_scale", "scaleLevel": 0}]
    servers = {r["computeResource"]["resourceId"] for r in info["vnfcResourceInfo"]}
    assert servers == set(local.heat.servers(vnf.stack_name, "VDU1")) | set(
        local.heat.servers(vnf.stack_name, "VDU2"))
    assert {c["vnfcResourceInfoId"] for c in info["vnfcInfo"]} == servers
    (connection,) = record["vimConnectionInfo"].values()
    assert connection["vimType"] == "ETSINFV.OPENSTACK_KEYSTONE.V_3"
    # nfvkit's own columns come after python-tackerclient's
    assert list(shown)[-2:] == ["VNF Package ID", "VNFC Instances"]


def test_vnflcm_show_of_a_new_vnf_is_a_sol003_vnf_instance(local, capsys):
    vnf = local.new_vnf()
    shown = nfv_json(capsys, "vnflcm", "show", vnf.id)
    expected = sol003.vnf_instance(vnf)
    record = from_columns(shown, tc_vnflcm._get_columns(expected, action="show"), expected)
    assert record == expected and "instantiatedVnfInfo" not in record
    assert_valid("VnfInstance", record)


def test_the_users_metadata_extensions_and_properties_show_as_sol003_has_them(
        local, capsys):
    vnf = local.vnfs.create_vnf(local.vnfd_id, metadata={"tier": "web"})
    local.vnfs.update_vnf(vnf.id, {"extensions": {"e": {"x": 1}},
                                   "vnfConfigurableProperties": {"isAutoscaleEnabled": True}})
    shown = nfv_json(capsys, "vnflcm", "show", vnf.id)
    expected = sol003.vnf_instance(local.vnfs.get_vnf(vnf.id))
    record = from_columns(shown, tc_vnflcm._get_columns(expected, action="show"), expected)
    assert record == expected
    assert (record["metadata"], record["extensions"], record["vnfConfigurableProperties"]) == (
        {"tier": "web"}, {"e": {"x": 1}}, {"isAutoscaleEnabled": True})
    assert shown["VNF Configurable Properties"] == {"isAutoscaleEnabled": True}
    assert_valid("VnfInstance", record)


def test_vnflcm_list_has_tackerclients_columns_and_sol003_values(local, capsys):
    done = local.instantiated()
    new = local.new_vnf()
    rows = nfv_json(capsys, "vnflcm", "list")
    headers = [h for _, h, _ in tc_vnflcm._attr_map]
    assert [list(r) for r in rows] == [headers, headers]
    attrs = [a for a, _, _ in tc_vnflcm._attr_map]
    for vnf in (local.vnfs.get_vnf(done.id), new):
        record = sol003.vnf_instance(vnf)
        assert_valid("VnfInstance", record)
        row = next(r for r in rows if r["ID"] == vnf.id)
        assert list(row.values()) == [record[a] for a in attrs]


# -- VnfLcmOpOcc ---------------------------------------------------------------

def _occurrences(world):  # noqa: F811
    """A COMPLETED instantiate, a ROLLED_BACK scale, a FAILED one, a FAILED_TEMP one."""
    vnf = world.instantiated()
    (completed,) = world.lcm.list_op_occs()

    def failing_scale():
        failed = world.done(world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale",
                                            additional_params=FAIL_SCALE_END))
        assert failed.state is OpState.FAILED_TEMP
        return failed

    rolled_back = world.done(world.lcm.rollback(failing_scale().id))
    assert rolled_back.state is OpState.ROLLED_BACK
    given_up = world.lcm.fail(failing_scale().id)
    assert given_up.state is OpState.FAILED
    return {"COMPLETED": completed, "ROLLED_BACK": rolled_back, "FAILED": given_up,
            "FAILED_TEMP": failing_scale()}


def test_vnflcm_op_show_is_a_sol003_vnf_lcm_op_occ(local, capsys):
    for state, op in _occurrences(local).items():
        shown = nfv_json(capsys, "vnflcm", "op", "show", op.id)
        expected = sol003.op_occ(local.lcm.get_op_occ(op.id))
        record = from_columns(shown, tc_op_occs._get_columns(expected, action="show"), expected)
        assert record == expected
        assert record["operationState"] == state
        assert_valid("VnfLcmOpOcc", record)
        if state in ("FAILED_TEMP", "FAILED"):
            assert record["error"]["status"] >= 400 and record["error"]["detail"]
        # as Tacker's: the task links whatever the state
        assert {"retry", "rollback", "fail"} <= set(record["_links"])
        assert list(shown)[-7:] == ["Current Step", "VNF Instance Deleted", "On Failure",
                                    "Is Suspend Pending", "Is Suspended", "Steps",
                                    "Escalations"]


# -- VnfPkgInfo ----------------------------------------------------------------

def test_vnf_package_show_is_a_sol005_vnf_pkg_info(local, capsys):
    packages = local.services.packages
    for package in (packages.create_package(), next(
            p for p in packages.list_packages() if p.vnfd_id == local.vnfd_id)):
        shown = nfv_json(capsys, "vnf", "package", "show", package.id)
        expected = sol003.vnf_package(packages.get_package(package.id))
        record = from_columns(shown, tc_package._get_columns(expected), expected)
        assert record == expected
        if record["onboardingState"] == "ONBOARDED":
            assert record["vnfdId"] == local.vnfd_id
        assert_valid("VnfPkgInfo", record)


def test_onboarded_packages_carry_the_checksum_of_what_a_download_gives(local):
    import hashlib

    packages = local.services.packages
    (package,) = packages.list_packages()
    assert_valid("VnfPkgInfo", sol003.vnf_package(package))
    assert package.checksum == {
        "algorithm": "SHA-512",
        "hash": hashlib.sha512(packages.download_package(package.id)).hexdigest()}


def test_vnf_package_list_has_tackerclients_columns(local, capsys):
    rows = nfv_json(capsys, "vnf", "package", "list")
    lister = tc_package.ListVnfPackage.__new__(tc_package.ListVnfPackage)
    headers = [h for _, h, _ in lister.get_attributes()]
    assert headers == ["Id", "Vnf Product Name", "Onboarding State", "Usage State",
                       "Operational State", "Links"]
    (row,) = rows
    assert list(row) == headers and row["Onboarding State"] == "ONBOARDED"
    assert row["Links"]["packageContent"]["href"].endswith("/package_content")


@pytest.mark.parametrize("options", [
    {}, {"all_fields": True}, {"exclude_default": True},
    {"fields": ["softwareImages"]}, {"exclude_fields": ["checksum"]},
])
def test_package_list_columns_are_tackerclients_for_each_option(options):
    from nfvcli.package import list_columns

    lister = tc_package.ListVnfPackage.__new__(tc_package.ListVnfPackage)
    theirs = lister.get_attributes(options.get("fields"), options.get("all_fields", False),
                                   options.get("exclude_fields"),
                                   options.get("exclude_default", False))
    assert list_columns(**options) == tuple((a, h) for a, h, _ in theirs)


# -- the schemas themselves ------------------------------------------------------

_INSTANCE = {"id": "x", "vnfdId": "d", "vnfProvider": "p", "vnfProductName": "n",
             "vnfSoftwareVersion": "1", "vnfdVersion": "1",
             "instantiationState": "INSTANTIATED", "_links": {"self": {"href": "/x"}}}


@pytest.mark.parametrize("name, record, words", [
    ("VnfInstance", {"id": "x"}, "'vnfdId' is a required property"),
    ("VnfLcmOpOcc", {"id": "x", "operationState": "DONE"}, "'DONE' is not one of"),
    ("VnfPkgInfo", {"id": "x", "onboardingState": "ONBOARDED", "operationalState":
                    "ENABLED", "usageState": "IN_USE", "_links": {
                        "self": {"href": "/a"}, "packageContent": {"href": "/b"}}},
     "'checksum' is a required property"),
    ("VnfInstance", {**_INSTANCE, "instantiatedVnfInfo": {
        "flavourId": "simple", "vnfState": "STARTED", "vnfVirtualLinkResourceInfo": [
            {"id": "n", "vnfVirtualLinkDescId": "VL1",
             "networkResource": {"resourceId": "n"},
             "vnfLinkPorts": [{"id": "p", "cpInstanceId": "CP1-s",
                               "resourceHandle": {"resourceId": "p"}}]}]}},
     "'cpInstanceType' is a dependency of 'cpInstanceId'"),
    ("VnfInstance", {**_INSTANCE, "instantiatedVnfInfo": {
        "flavourId": "simple", "vnfState": "STARTED", "vnfcResourceInfo": [
            {"id": "s", "vduId": "VDU1", "computeResource": {"resourceId": "s"},
             "vnfcCpInfo": [{"id": "CP1-s"}]}]}},
     "'cpdId' is a required property"),
    ("VnfLcmOpOcc", {"resourceChanges": {"affectedVirtualLinks": [
        {"id": "n", "vnfVirtualLinkDescId": "VL1", "changeType": "PORT_ADDED",
         "networkResource": {"resourceId": "n"}}]}}, "'PORT_ADDED' is not one of"),
])
def test_the_schemas_refuse_what_sol003_refuses(name, record, words):
    messages = [e.message for e in _validator(name).iter_errors(record)]
    assert any(words in m for m in messages), messages


def test_an_occurrence_converted_for_some_attributes_has_them_as_in_the_whole(local):
    for op in _occurrences(local).values():
        whole = sol003.op_occ(local.lcm.get_op_occ(op.id))
        for keys in (("id", "operationState"), ("error", "resourceChanges", "_links"),
                     ("cancelMode", "grantId", "nope"), tuple(whole)):
            part = sol003.op_occ(local.lcm.get_op_occ(op.id), keys)
            assert part == {k: whole[k] for k in keys if k in whole}


def test_secrets_in_records_are_masked():
    from nfvlib.models import InstantiationState, Operation, OpOcc, VnfInstance

    op = OpOcc(id="op", vnf_instance_id="v", operation=Operation.INSTANTIATE,
               state=OpState.COMPLETED, start_time="2024-01-01T00:00:00Z",
               state_entered_time="2024-01-01T00:00:00Z",
               request={"flavourId": "simple", "additionalParams": {
                   "admin_password": "s3cret", "nested": [{"token": "t0k"}]}})
    record = sol003.op_occ(op)
    assert "s3cret" not in json.dumps(record) and "t0k" not in json.dumps(record)
    assert record["operationParams"]["additionalParams"]["admin_password"] == "***"
    vnf = VnfInstance(id="v", vnfd_id="d", package_id="p",
                      instantiation_state=InstantiationState.INSTANTIATED,
                      flavour_id="simple", vim_id="vim",
                      instantiated_info={"stackOutputs": {"db_password": "pw0"}})
    assert "pw0" not in json.dumps(sol003.vnf_instance(vnf))
    received = sol003.received(op, {"id": "op", "operationParams": {"password": "x1"}})
    assert sol003.op_occ(received)["operationParams"] == {"password": "***"}
