"""LCM requests are checked against the SOL003 schemas before anything is written.

A real store, vault and sample package (as in test_local.py); every refused
request is one line naming the JSON path, and the store and the packages
directory are the same afterwards.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nfvlib
from nfvlib import InvalidInput
from nfvlib.lcm import engine, plans
from nfvlib.lcm.catalog import LocalPackages, LocalVnfs
from nfvlib.lcm.local import LocalLcm
from nfvlib.lcm.requests import validate
from nfvlib.store.vims import VimTable
from tests.unit.conftest import FakeClock as Clock
from tests.unit.conftest import vim_config

SAMPLE = Path(nfvlib.__file__).parent / "samples" / "sample_vnf"
V2, V3 = "ETSINFV.OPENSTACK_KEYSTONE.V_2", "ETSINFV.OPENSTACK_KEYSTONE.V_3"
LEVEL_1 = {"flavourId": "simple", "instantiationLevelId": "instantiation_level_1"}


@pytest.fixture
def world(nfv_home, keystone):
    client = nfvlib.Client()
    client.vims.register_vim("site", vim_config(), is_default=True)
    client.vims.register_vim("other", vim_config())
    packages = LocalPackages(client.store, client.paths.data_dir / "packages")
    info = packages.upload_package(packages.create_package().id, str(SAMPLE))
    vnfs = LocalVnfs(client.store, packages)
    vnf = vnfs.create_vnf(info.vnfd_id)
    clock = Clock()
    spawned: list[str] = []
    lcm = LocalLcm(client.store, client.vims, packages, vnfs, spawn=spawned.append,
                   clock=clock, sleep=clock.sleep,
                   lease_clock=engine.LeaseClock(Clock(5_000.0), "boot-1"))
    yield lcm, vnf, client, spawned
    client.close()


def snapshot(client) -> tuple[list[str], list[tuple[str, int]]]:
    """The store's whole content and the data directory's files with their sizes."""
    rows = list(client.store.conn.iterdump())
    files = sorted((str(p.relative_to(client.paths.data_dir)), p.stat().st_size)
                   for p in client.paths.data_dir.rglob("*")
                   if p.is_file() and p.suffix not in (".sqlite-wal", ".sqlite-shm"))
    return rows, files


def on(vim_id="site", **fields):
    return dict(LEVEL_1, vimConnectionInfo={"vim1": {"vimId": vim_id, "vimType": V3,
                                                     **fields}})


def nested(levels: int) -> dict:
    value: dict = {}
    for _ in range(levels):
        value = {"a": value}
    return value


@pytest.mark.parametrize("request_body", [
    {"flavourId": "simple"},
    LEVEL_1,
    on(),
    on("site", accessInfo={"region": "RegionTwo", "password": "x"}),
    dict(LEVEL_1, vimConnectionInfo={"vim1": {"vimId": "site", "vimType": V2}},
         additionalParams={"nfv": {}, "lcm-operation-user-data": "./x.py"},
         localizationLanguage="ja", extensions={"k": [1, 2]},
         vnfConfigurableProperties={"isAutoscaleEnabled": False}),
    dict(LEVEL_1, vimConnectionInfo=[{"id": "v1", "vimId": "site", "vimType": V3}]),
    dict(LEVEL_1, extVirtualLinks=[{"id": "ext1", "resourceId": "net1", "extCps": [
        {"cpdId": "VDU1_CP1", "cpConfig": {"c1": {"cpProtocolData": [
            {"layerProtocol": "IP_OVER_ETHERNET", "ipOverEthernet": {}}]}}}]}]),
])
def test_good_instantiate_requests_are_accepted(world, request_body):
    lcm, vnf, _, spawned = world
    op = lcm.instantiate(vnf.id, request_body)
    assert spawned == [op.id]


def test_the_array_form_of_vim_connection_info_is_stored_as_a_map(world):
    lcm, vnf, client, _ = world
    op = lcm.instantiate(vnf.id, dict(LEVEL_1, vimConnectionInfo=[
        {"id": "v1", "vimId": "site", "vimType": V3}]))
    assert op.request["vimConnectionInfo"] == {
        "v1": {"id": "v1", "vimId": "site", "vimType": V3}}
    site = client.vims.find_vim("site")
    assert list(VimTable(client.store).users(site.id, (site.name,))) == [vnf.id]


@pytest.mark.parametrize(("request_body", "words"), [
    ({}, "$.flavourId is missing"),
    ([], "must be a JSON object, not an array"),
    (dict(LEVEL_1, colour="red"), "$ has unknown field(s) 'colour'"),
    (dict(LEVEL_1, localizationLanguage=5),
     "$.localizationLanguage must be a string, not an integer"),
    (dict(LEVEL_1, extensions="x"), "$.extensions must be an object, not a string"),
    (dict(LEVEL_1, vnfConfigurableProperties=[1]),
     "$.vnfConfigurableProperties must be an object, not an array"),
    (dict(LEVEL_1, additionalParams={"x": float("nan")}),
     "$.additionalParams.x is nan, not a JSON number"),
    (dict(LEVEL_1, extensions={"big": float("inf")}), "$.extensions.big is inf"),
    (dict(LEVEL_1, flavourId=7), "$.flavourId must be a string, not an integer"),
    (dict(LEVEL_1, flavourId="x" * 100_000),
     "$.flavourId is 100000 characters long, more than 255"),
    (dict(LEVEL_1, additionalParams=nested(3000)), "nested deeper than 32 levels"),
    (dict(LEVEL_1, additionalParams={1: "x"}), "has a key 1 that is not a string"),
    (dict(LEVEL_1, additionalParams={"x": {1, 2}}), "$.additionalParams.x is a set"),
    # vimConnectionInfo: refused when the request is made, naming the entry
    (dict(LEVEL_1, vimConnectionInfo={"v": {"vimType": V3}}),
     "$.vimConnectionInfo.v.vimId is missing"),
    (dict(LEVEL_1, vimConnectionInfo={"v": "site"}),
     "$.vimConnectionInfo.v must be an object, not a string"),
    (dict(LEVEL_1, vimConnectionInfo={"v": {"vimId": "site", "vimType": "kubernetes"}}),
     "$.vimConnectionInfo.v.vimType is 'kubernetes', not "
     "ETSINFV.OPENSTACK_KEYSTONE.V_2 or ETSINFV.OPENSTACK_KEYSTONE.V_3"),
    (dict(LEVEL_1, vimConnectionInfo={"v": {"vimId": ["site"], "vimType": V3}}),
     "$.vimConnectionInfo.v.vimId must be a string, not an array"),
    (on(accessInfo="RegionOne"), "$.vimConnectionInfo.vim1.accessInfo must be an "
                                 "object, not a string"),
    (on(accessInfo={"region": 1}), "$.vimConnectionInfo.vim1.accessInfo.region must "
                                   "be a string"),
    (dict(LEVEL_1, vimConnectionInfo=[{"vimId": "site", "vimType": V3}]),
     "$.vimConnectionInfo[0].id is missing"),
    (dict(LEVEL_1, vimConnectionInfo="site"),
     "$.vimConnectionInfo must be an object of named entries or an array"),
    (dict(LEVEL_1, vimConnectionInfo={"a": {"vimId": "site", "vimType": V3},
                                      "b": {"vimId": "nope", "vimType": V3}}),
     "vimConnectionInfo.b.vimId: no VIM has the id or name 'nope'"),
    (dict(LEVEL_1, vimConnectionInfo={"a": {"vimId": "site", "vimType": V3},
                                      "b": {"vimId": "other", "vimType": V3}}),
     "vimConnectionInfo.b names VIM other but an earlier entry names site"),
    (on(accessInfo={"region": "Atlantis"}), "VIM site has no region 'Atlantis'"),
])
def test_bad_instantiate_requests_are_one_line_and_write_nothing(world, request_body,
                                                                 words):
    lcm, vnf, client, spawned = world
    before = snapshot(client)
    with pytest.raises(InvalidInput) as err:
        lcm.instantiate(vnf.id, request_body)
    message = str(err.value)
    assert words in message
    assert "\n" not in message and len(message) < 400, message
    assert snapshot(client) == before and spawned == []


@pytest.mark.parametrize(("call", "words"), [
    (lambda lcm, v: lcm.scale(v, "SCALE_OUT", "VDU1_scale", True),
     "$.numberOfSteps must be an integer, not a boolean"),
    (lambda lcm, v: lcm.scale(v, "SCALE_OUT", "VDU1_scale", 1, "x"),
     "$.additionalParams must be an object, not a string"),
    (lambda lcm, v: lcm.scale(v, "SCALE_OUT", ["VDU1_scale"]),
     "$.aspectId must be a string, not an array"),
    (lambda lcm, v: lcm.scale(v, "SCALE_OUT", "VDU1_scale", 1,
                              {"x": float("-inf")}), "$.additionalParams.x is -inf"),
    (lambda lcm, v: lcm.scale(v, "SCALE_OUT", "VDU1_scale", 10**6),
     "$.numberOfSteps is 1000000; it must be at most 10000"),
    (lambda lcm, v: lcm.heal(v, "VDU1-0"),
     "$.vnfcInstanceId must be an array, not a string"),
    (lambda lcm, v: lcm.heal(v, cause=5), "$.cause must be a string, not an integer"),
    (lambda lcm, v: lcm.heal(v, additional_params=[1]),
     "$.additionalParams must be an object, not an array"),
    (lambda lcm, v: lcm.terminate(v, "GRACEFUL", "30"),
     "$.gracefulTerminationTimeout must be an integer, not a string"),
    (lambda lcm, v: lcm.terminate(v, "POLITELY"), "not GRACEFUL or FORCEFUL"),
])
def test_bad_scale_heal_terminate_requests_write_nothing(world, call, words):
    lcm, vnf, client, spawned = world
    before = snapshot(client)
    with pytest.raises(InvalidInput) as err:
        call(lcm, vnf.id)
    assert words in str(err.value) and "\n" not in str(err.value)
    assert snapshot(client) == before and spawned == []


@pytest.mark.parametrize(("connections", "words"), [
    ({"v": "site"}, "vimConnectionInfo.v must be an object"),
    ({"v": {"vimType": V3}}, "vimConnectionInfo.v.vimId must name a registered VIM"),
    ({"v": {"vimId": ["site"], "vimType": V3}}, "vimId must name a registered VIM"),
    ([{"vimId": "site", "vimType": "kubernetes"}], "vimConnectionInfo[0].vimType "
                                                   "'kubernetes' is not supported"),
    ({"v": {"vimId": "site", "vimType": V3, "accessInfo": "x"}},
     "vimConnectionInfo.v.accessInfo must be an object"),
    ("site", "vimConnectionInfo must be an object"),
])
def test_resolve_vim_checks_every_entry_itself(world, connections, words):
    """The worker resolves the VIM again from the stored request: the same checks."""
    _, _, client, _ = world
    with pytest.raises(InvalidInput) as err:
        plans.resolve_vim(client.vims, {"vimConnectionInfo": connections})
    assert words in str(err.value)


def test_resolve_vim_by_name_region_or_default(world):
    _, _, client, _ = world
    vim, region = plans.resolve_vim(client.vims, on("other", accessInfo={
        "region": "RegionTwo"}))
    assert (vim.name, region) == ("other", "RegionTwo")
    vim, region = plans.resolve_vim(client.vims, LEVEL_1)
    assert (vim.name, region) == ("site", "RegionOne")


def test_requests_of_the_functional_tests_and_samples_validate():
    assert validate("InstantiateVnfRequest", dict(LEVEL_1, vimConnectionInfo={"vim1": {
        "vimId": "sandbox", "vimType": V2}}))["flavourId"] == "simple"
    assert validate("ScaleVnfRequest", {"type": "SCALE_IN", "aspectId": "VDU1_scale",
                                        "numberOfSteps": 2, "additionalParams": {}})
    assert validate("HealVnfRequest", {"vnfcInstanceId": ["x"], "cause": "test"})
    assert validate("TerminateVnfRequest", {"terminationType": "FORCEFUL"})
    # Every field of an InstantiateVnfRequest, shaped as Tacker v2's user guide
    # writes them for its basic_lcms samples.
    full = {
        "flavourId": "simple", "instantiationLevelId": "instantiation_level_1",
        "extVirtualLinks": [{
            "id": "ext1", "resourceId": "net0-id", "vimConnectionId": "vim1",
            "extCps": [{"cpdId": "VDU1_CP1", "cpConfig": {"VDU1_CP1_1": {
                "cpProtocolData": [{"layerProtocol": "IP_OVER_ETHERNET",
                                    "ipOverEthernet": {"ipAddresses": [
                                        {"type": "IPV4", "numDynamicAddresses": 1}]}}]}}}],
            "extLinkPorts": [{"id": "port1", "resourceHandle": {"resourceId": "p-1"}}]}],
        "extManagedVirtualLinks": [{
            "id": "vl1", "vnfVirtualLinkDescId": "internalVL1", "resourceId": "net1-id",
            "vnfLinkPort": [{"vnfLinkPortId": "lp1",
                             "resourceHandle": {"resourceId": "p-2"}}]}],
        "vimConnectionInfo": {"vim1": {
            "vimId": "site", "vimType": V3,
            "interfaceInfo": {"endpoint": "http://keystone.test:5000/v3"},
            "accessInfo": {"username": "nfv_user", "region": "RegionOne",
                           "password": "devstack", "project": "nfv",
                           "projectDomain": "Default", "userDomain": "Default"},
            "extra": {"dummy-key": "dummy-val"}}},
        "localizationLanguage": "ja",
        "additionalParams": {"lcm-operation-user-data": "./UserData/userdata.py",
                             "lcm-operation-user-data-class": "UserData"},
        "extensions": {}, "vnfConfigurableProperties": {}}
    assert validate("InstantiateVnfRequest", full) == full


def test_schemas_are_packaged_json_schema_documents():
    from jsonschema import Draft202012Validator

    folder = Path(nfvlib.__file__).parent / "lcm" / "schemas"
    names = sorted(p.stem for p in folder.glob("*.json"))
    assert names == ["HealVnfRequest", "InstantiateVnfRequest", "ScaleVnfRequest",
                     "TerminateVnfRequest", "common"]
    for name in names:
        Draft202012Validator.check_schema(json.loads((folder / f"{name}.json").read_text()))
