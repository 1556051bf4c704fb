"""The ``nfv`` stack parameter, templates and files, built as Tacker v2's default user data.

Against the real Tacker sample package (basic_lcms_min), the shipped sample
package, and a copy of the Tacker sample whose templates also read CP, zone
and virtual-storage values the way Tacker's basic_lcms_max sample does.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest
import yaml

from nfvlib.exceptions import InvalidInput
from nfvlib.lcm.heat_params import (build_instantiate_nfv, build_scale_nfv,
                                    initial_scale_status, json_merge_patch, stack_files,
                                    top_template)
from nfvlib.packages import load_package

from tests.data import TACKER_SAMPLE

SAMPLE_VNF = Path(__file__).resolve().parents[3] / "nfvlib" / "samples" / "sample_vnf"
IMAGE = "cirros-0.5.2-x86_64-disk"


NET0 = "a3b8e1c4-5d6f-4a7b-8c9d-0e1f2a3b4c5d"
NET1 = "b4c9f2d5-6e7a-4b8c-9d0e-1f2a3b4c5d6e"
SUBNET1 = "c5d0a3e6-7f8b-4c9d-0e1f-2a3b4c5d6e7f"
NET_MGMT = "d6e1b4f7-8a9c-4d0e-1f2a-3b4c5d6e7f80"


def instantiate_request(level="instantiation_level_1", **extra):
    """An InstantiateVnfRequest shaped like Tacker's sol_v2_common paramgen.sample1_instantiate."""
    ext_vl_1 = {
        "id": "ext-vl-1",
        "resourceId": NET0,
        "extCps": [
            {"cpdId": "VDU1_CP1",
             "cpConfig": {"VDU1_CP1_1": {"cpProtocolData": [{
                 "layerProtocol": "IP_OVER_ETHERNET",
                 "ipOverEthernet": {"ipAddresses": [
                     {"type": "IPV4", "numDynamicAddresses": 1}]}}]}}},
        ],
    }
    ext_vl_2 = {
        "id": "ext-vl-2",
        "resourceId": NET1,
        "extCps": [
            {"cpdId": "VDU2_CP1",
             "cpConfig": {"VDU2_CP1_1": {"cpProtocolData": [{
                 "layerProtocol": "IP_OVER_ETHERNET",
                 "ipOverEthernet": {"ipAddresses": [
                     {"type": "IPV4", "fixedAddresses": ["10.10.1.101"],
                      "subnetId": SUBNET1}]}}]}}},
        ],
    }
    request = {"flavourId": "simple", "instantiationLevelId": level,
               "extVirtualLinks": [ext_vl_1, ext_vl_2],
               "vimConnectionInfo": {"vim1": {"vimType": "ETSINFV.OPENSTACK_KEYSTONE.V_3"}}}
    request.update(extra)
    return request


def one_line(exc: pytest.ExceptionInfo) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


@pytest.fixture(scope="module")
def tacker():
    return load_package(TACKER_SAMPLE)


@pytest.fixture(scope="module")
def sample():
    return load_package(SAMPLE_VNF)


def make_extended(root: Path, vdu2_own_image: bool = True):
    """A copy of the Tacker sample whose templates read CP, zone and storage values.

    As in Tacker's basic_lcms_max sample: ports on external networks
    (``[nfv, CP, <cp>, network]``, ``fixed_ips``), ``locationConstraints``,
    and a VDU whose virtual storage carries its own image
    (``[nfv, VDU, <storage>, vcImageId]``).
    """
    shutil.copytree(TACKER_SAMPLE, root)
    top_file = root / "BaseHOT" / "simple" / "sample2.yaml"
    top = yaml.safe_load(top_file.read_text())
    resources = top["resources"]
    group = resources["VDU1_scale_group"]["properties"]["resource"]["properties"]
    group["net5"] = {"get_param": ["nfv", "CP", "VDU1_CP1", "network"]}
    vdu2 = resources["VDU2"]["properties"]
    vdu2["availability_zone"] = {"get_param": ["nfv", "VDU", "VDU2", "locationConstraints"]}
    vdu2["metadata"] = {
        "count": {"get_param": ["nfv", "VDU", "VDU2", "desired_capacity"]},
        "volume_image": {"get_param": ["nfv", "VDU", "VDU2-VirtualStorage", "vcImageId"]},
    }
    resources["VDU2_CP1"]["properties"] = {
        "network": {"get_param": ["nfv", "CP", "VDU2_CP1", "network"]},
        "fixed_ips": [{
            "ip_address": {"get_param": ["nfv", "CP", "VDU2_CP1", "fixed_ips", 0,
                                         "ip_address"]},
            "subnet": {"get_param": ["nfv", "CP", "VDU2_CP1", "fixed_ips", 0, "subnet"]},
        }],
    }
    top_file.write_text(yaml.safe_dump(top, sort_keys=False))
    df_file = root / "Definitions" / "v2_sample2_df_simple.yaml"
    df = yaml.safe_load(df_file.read_text())
    nodes = df["topology_template"]["node_templates"]
    nodes["VDU2"]["requirements"] = [{"virtual_storage": "VDU2-VirtualStorage"}]
    nodes["VDU2-VirtualStorage"] = {
        "type": "tosca.nodes.nfv.Vdu.VirtualBlockStorage",
        "properties": {
            "virtual_block_storage_data": {"size_of_storage": "1 GB"},
            "sw_image_data": dict(nodes["VDU2"]["properties"]["sw_image_data"],
                                  name="VDU2-volume-image"),
        },
    }
    if not vdu2_own_image:
        del nodes["VDU2"]["properties"]["sw_image_data"]
    df_file.write_text(yaml.safe_dump(df, sort_keys=False))
    return load_package(root)


@pytest.fixture(scope="module")
def extended(tmp_path_factory):
    return make_extended(tmp_path_factory.mktemp("extended") / "pkg")


# -- instantiate: the real Tacker sample --------------------------------------

def test_instantiate_level_1_tacker_sample(tacker):
    nfv = build_instantiate_nfv(tacker, "simple", {"instantiationLevelId":
                                                   "instantiation_level_1"})
    assert nfv == {"VDU": {
        "VDU1": {"computeFlavourId": "m1.tiny", "vcImageId": IMAGE, "desired_capacity": 1},
        "VDU2": {"computeFlavourId": "m1.tiny", "vcImageId": IMAGE},
    }}
    json.dumps(nfv)  # a valid JSON stack parameter


def test_instantiate_level_2_tacker_sample(tacker):
    nfv = build_instantiate_nfv(tacker, "simple", instantiate_request("instantiation_level_2"))
    assert nfv["VDU"]["VDU1"]["desired_capacity"] == 3
    # The template reads no CP value and no VDU2 capacity: nothing is added.
    assert set(nfv) == {"VDU"}
    assert "desired_capacity" not in nfv["VDU"]["VDU2"]


def test_instantiate_without_level_uses_default_level(tacker):
    assert tacker.flavours["simple"].default_instantiation_level == "instantiation_level_1"
    assert build_instantiate_nfv(tacker, "simple", {}) == build_instantiate_nfv(
        tacker, "simple", {"instantiationLevelId": "instantiation_level_1"})


def test_instantiate_additional_params_nfv_is_merge_patched(tacker):
    request = {"instantiationLevelId": "instantiation_level_2", "additionalParams": {
        "nfv": {"VDU": {"VDU1": {"vcImageId": "my-image", "computeFlavourId": None},
                        "VDU3": {"extra": [1, 2]}}},
        "lcm-operation-user-data": "ignored here"}}
    nfv = build_instantiate_nfv(tacker, "simple", request)
    assert nfv["VDU"]["VDU1"] == {"vcImageId": "my-image", "desired_capacity": 3}
    assert nfv["VDU"]["VDU3"] == {"extra": [1, 2]}
    assert nfv["VDU"]["VDU2"] == {"computeFlavourId": "m1.tiny", "vcImageId": IMAGE}
    # the request is not modified
    assert request["additionalParams"]["nfv"]["VDU"]["VDU1"]["computeFlavourId"] is None


@pytest.mark.parametrize("request_body, words", [
    ({"instantiationLevelId": "instantiation_level_9"},
     ["instantiationLevelId", "instantiation_level_9", "instantiation_level_1",
      "instantiation_level_2"]),
    ({"instantiationLevelId": 3}, ["instantiationLevelId", "instantiation_level_1"]),
    ({"extVirtualLinks": {"id": "x"}}, ["extVirtualLinks"]),
    ({"extVirtualLinks": [{"id": "x", "extCps": [{"cpdId": "VDU1_CP1"}]}]},
     ["extVirtualLinks[0].resourceId"]),
    ({"extVirtualLinks": [{"resourceId": NET0, "extCps": []}]}, ["extVirtualLinks[0].extCps"]),
    ({"extVirtualLinks": [{"resourceId": NET0, "extCps": [{"cpdId": "VDU9_CP1"}]}]},
     ["extVirtualLinks[0].extCps[0].cpdId", "VDU9_CP1", "VDU1_CP1", "VDU2_CP1"]),
    ({"extManagedVirtualLinks": [{"vnfVirtualLinkDescId": "internalVL9",
                                  "resourceId": NET_MGMT}]},
     ["extManagedVirtualLinks[0].vnfVirtualLinkDescId", "internalVL9", "internalVL3"]),
    ({"extManagedVirtualLinks": [{"vnfVirtualLinkDescId": "internalVL3"}]},
     ["extManagedVirtualLinks[0].resourceId"]),
    ({"additionalParams": {"nfv": ["VDU"]}}, ["additionalParams.nfv"]),
])
def test_instantiate_rejects_bad_requests(tacker, request_body, words):
    with pytest.raises(InvalidInput) as exc:
        build_instantiate_nfv(tacker, "simple", request_body)
    text = one_line(exc)
    for word in words:
        assert word in text


def test_unknown_flavour_is_named_with_the_valid_ones(tacker):
    for call in (lambda: build_instantiate_nfv(tacker, "complex", {}),
                 lambda: stack_files(tacker, "complex"),
                 lambda: top_template(tacker, "complex"),
                 lambda: build_scale_nfv(tacker, "complex", {}, None, {}, "VDU1_scale",
                                         "SCALE_OUT", 1)):
        with pytest.raises(InvalidInput) as exc:
            call()
        text = one_line(exc)
        assert "flavourId" in text and "'complex'" in text and "simple" in text


# -- instantiate: the shipped sample -------------------------------------------

@pytest.mark.parametrize("level, count", [("instantiation_level_1", 1),
                                          ("instantiation_level_2", 3)])
def test_instantiate_shipped_sample(sample, level, count):
    nfv = build_instantiate_nfv(sample, "simple", {"instantiationLevelId": level})
    assert nfv == {"VDU": {
        "VDU1": {"computeFlavourId": "m1.tiny", "vcImageId": IMAGE, "desired_capacity": count},
        "VDU2": {"computeFlavourId": "m1.small", "vcImageId": IMAGE},
    }}


# -- instantiate: CP, zone and storage values (Tacker's basic_lcms_max style) ----

def test_instantiate_fills_cps_from_ext_virtual_links(extended):
    nfv = build_instantiate_nfv(extended, "simple", instantiate_request())
    assert nfv["CP"] == {
        "VDU1_CP1": {"network": NET0},
        "VDU2_CP1": {"network": NET1,
                     "fixed_ips": [{"ip_address": "10.10.1.101", "subnet": SUBNET1}]},
    }


def test_instantiate_vdu_values_zone_storage_image_and_capacity(extended):
    nfv = build_instantiate_nfv(extended, "simple", instantiate_request("instantiation_level_2"))
    assert nfv["VDU"] == {
        "VDU1": {"computeFlavourId": "m1.tiny", "vcImageId": IMAGE, "desired_capacity": 3},
        "VDU2": {"computeFlavourId": "m1.tiny", "vcImageId": IMAGE,
                 "desired_capacity": 1, "locationConstraints": None},
        "VDU2-VirtualStorage": {"vcImageId": "VDU2-volume-image"},
    }


def test_instantiate_image_only_on_the_virtual_storage(tmp_path):
    package = make_extended(tmp_path / "pkg", vdu2_own_image=False)
    assert package.flavours["simple"].vdus["VDU2"].virtual_storages == ("VDU2-VirtualStorage",)
    nfv = build_instantiate_nfv(package, "simple", {})
    # As Tacker: the image belongs to the storage node, the VDU has none.
    assert nfv["VDU"]["VDU2"]["vcImageId"] is None
    assert nfv["VDU"]["VDU2-VirtualStorage"] == {"vcImageId": "VDU2-volume-image"}


def test_instantiate_dynamic_address_gives_subnet_only(extended):
    request = instantiate_request()
    address = request["extVirtualLinks"][1]["extCps"][0]["cpConfig"]["VDU2_CP1_1"][
        "cpProtocolData"][0]["ipOverEthernet"]["ipAddresses"][0]
    del address["fixedAddresses"]
    address["numDynamicAddresses"] = 1
    nfv = build_instantiate_nfv(extended, "simple", request)
    assert nfv["CP"]["VDU2_CP1"]["fixed_ips"] == [{"ip_address": None, "subnet": SUBNET1}]


def test_instantiate_cp_without_ext_virtual_link_stays_unset(extended):
    nfv = build_instantiate_nfv(extended, "simple", {"instantiationLevelId":
                                                     "instantiation_level_1"})
    assert nfv["CP"] == {"VDU1_CP1": {"network": None},
                         "VDU2_CP1": {"network": None, "fixed_ips": []}}


def test_instantiate_additional_params_override_cp(extended):
    request = instantiate_request(additionalParams={"nfv": {"CP": {"VDU1_CP1": {
        "network": NET_MGMT}}}})
    nfv = build_instantiate_nfv(extended, "simple", request)
    assert nfv["CP"]["VDU1_CP1"] == {"network": NET_MGMT}
    assert nfv["CP"]["VDU2_CP1"]["network"] == NET1


# -- templates and files --------------------------------------------------------

def test_top_template_and_files_are_the_package_texts(tacker):
    folder = TACKER_SAMPLE / "BaseHOT" / "simple"
    assert top_template(tacker, "simple") == (folder / "sample2.yaml").read_text()
    assert top_template(tacker, "simple", {"instantiationLevelId": "instantiation_level_2"}) \
        == (folder / "sample2.yaml").read_text()
    files = stack_files(tacker, "simple")
    assert files == {"VDU1.yaml": (folder / "nested" / "VDU1.yaml").read_text()}
    top = yaml.safe_load(top_template(tacker, "simple"))
    assert top["resources"]["VDU1_scale_group"]["properties"]["resource"]["type"] in files


def test_top_template_with_ext_managed_virtual_link(tacker):
    request = instantiate_request(extManagedVirtualLinks=[
        {"id": "mgd-1", "vnfVirtualLinkDescId": "internalVL3", "resourceId": NET_MGMT}])
    text = top_template(tacker, "simple", request)
    template = yaml.load(text, Loader=yaml.BaseLoader)  # everything as text
    assert template["heat_template_version"] == "2013-05-23"
    resources = template["resources"]
    assert "internalVL3" not in resources and "internalVL3_subnet" not in resources
    assert resources["VDU2_CP1"]["properties"]["network"] == NET_MGMT
    group = resources["VDU1_scale_group"]["properties"]["resource"]["properties"]
    assert group["net5"] == NET_MGMT
    assert group["affinity"] == {"get_resource": "nfvi_node_affinity"}
    assert "get_resource: internalVL3" not in text
    # The nfv parameter is unaffected by managed links.
    assert build_instantiate_nfv(tacker, "simple", request) == build_instantiate_nfv(
        tacker, "simple", {})


# -- scale ------------------------------------------------------------------------

def test_scale_out_and_in_recompute_desired_capacity(tacker):
    nfv = build_instantiate_nfv(tacker, "simple", {})
    status = initial_scale_status(tacker, "simple")
    assert status == {"VDU1_scale": 0}
    before = copy.deepcopy(nfv)

    nfv1, status1 = build_scale_nfv(tacker, "simple", nfv, None, status, "VDU1_scale",
                                    "SCALE_OUT", 1)
    assert (nfv1["VDU"]["VDU1"]["desired_capacity"], status1) == (2, {"VDU1_scale": 1})
    assert nfv == before and status == {"VDU1_scale": 0}  # inputs untouched
    assert nfv1["VDU"]["VDU1"]["computeFlavourId"] == "m1.tiny"
    assert nfv1["VDU"]["VDU2"] == nfv["VDU"]["VDU2"]

    nfv2, status2 = build_scale_nfv(tacker, "simple", nfv1, None, status1, "VDU1_scale",
                                    "SCALE_OUT", 1)
    assert (nfv2["VDU"]["VDU1"]["desired_capacity"], status2) == (3, {"VDU1_scale": 2})

    nfv3, status3 = build_scale_nfv(tacker, "simple", nfv2, None, status2, "VDU1_scale",
                                    "SCALE_IN", 2)
    assert nfv3 == nfv and status3 == status


def test_scale_from_instantiation_level_2(tacker):
    level = "instantiation_level_2"
    nfv = build_instantiate_nfv(tacker, "simple", {"instantiationLevelId": level})
    status = initial_scale_status(tacker, "simple", level)
    assert status == {"VDU1_scale": 2}
    nfv1, status1 = build_scale_nfv(tacker, "simple", nfv, level, status, "VDU1_scale",
                                    "SCALE_IN", 1)
    assert (nfv1["VDU"]["VDU1"]["desired_capacity"], status1) == (2, {"VDU1_scale": 1})
    # A scale_status without the aspect starts from the level's scale level.
    assert build_scale_nfv(tacker, "simple", nfv, level, {}, "VDU1_scale",
                           "SCALE_IN", 1) == (nfv1, status1)


def test_scale_keeps_additional_values_of_the_current_nfv(tacker):
    current = build_instantiate_nfv(tacker, "simple", {"additionalParams": {
        "nfv": {"VDU": {"VDU1": {"vcImageId": "v2"}}, "extra": {"a": 1}}}})
    nfv, _ = build_scale_nfv(tacker, "simple", current, None, {"VDU1_scale": 0},
                             "VDU1_scale", "SCALE_OUT", 2)
    assert nfv == json_merge_patch(current, {"VDU": {"VDU1": {"desired_capacity": 3}}})


@pytest.mark.parametrize("level, scale_type, steps, words", [
    (0, "SCALE_OUT", 3, ["scale out", "VDU1_scale", "scale level 0", "3 step",
                         "max_scale_level is 2"]),
    (2, "SCALE_OUT", 1, ["scale out", "VDU1_scale", "scale level 2", "1 step",
                         "max_scale_level is 2"]),
    (0, "SCALE_IN", 1, ["scale in", "VDU1_scale", "scale level 0", "1 step", "0"]),
    (1, "SCALE_IN", 2, ["scale in", "VDU1_scale", "scale level 1", "2 step", "0"]),
])
def test_scale_beyond_limits_is_refused(tacker, level, scale_type, steps, words):
    nfv = build_instantiate_nfv(tacker, "simple", {})
    with pytest.raises(InvalidInput) as exc:
        build_scale_nfv(tacker, "simple", nfv, None, {"VDU1_scale": level}, "VDU1_scale",
                        scale_type, steps)
    text = one_line(exc)
    for word in words:
        assert word in text


@pytest.mark.parametrize("aspect, scale_type, steps, level, words", [
    ("VDU9_scale", "SCALE_OUT", 1, None, ["aspectId", "VDU9_scale", "VDU1_scale"]),
    ("VDU1_scale", "SCALE_UP", 1, None, ["type", "SCALE_UP", "SCALE_IN", "SCALE_OUT"]),
    ("VDU1_scale", "SCALE_OUT", 0, None, ["numberOfSteps", "0"]),
    ("VDU1_scale", "SCALE_OUT", True, None, ["numberOfSteps"]),
    ("VDU1_scale", "SCALE_OUT", 1, "level_x", ["instantiationLevelId", "level_x"]),
])
def test_scale_rejects_bad_arguments(tacker, aspect, scale_type, steps, level, words):
    with pytest.raises(InvalidInput) as exc:
        build_scale_nfv(tacker, "simple", {}, level, {}, aspect, scale_type, steps)
    text = one_line(exc)
    for word in words:
        assert word in text


def test_scale_shipped_sample(sample):
    nfv = build_instantiate_nfv(sample, "simple", {})
    nfv1, status1 = build_scale_nfv(sample, "simple", nfv, None, {"VDU1_scale": 0},
                                    "VDU1_scale", "SCALE_OUT", 2)
    assert nfv1["VDU"]["VDU1"]["desired_capacity"] == 3 and status1 == {"VDU1_scale": 2}


# -- JSON merge patch (RFC 7386, appendix A) ---------------------------------------

@pytest.mark.parametrize("target, patch, result", [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
])
def test_json_merge_patch_rfc7386_examples(target, patch, result):
    assert json_merge_patch(target, patch) == result


def test_json_merge_patch_does_not_modify_or_share():
    target = {"a": {"b": [1]}, "c": 1}
    patch = {"a": {"d": {"e": [2]}}}
    merged = json_merge_patch(target, patch)
    merged["a"]["b"].append(9)
    merged["a"]["d"]["e"].append(9)
    assert target == {"a": {"b": [1]}, "c": 1}
    assert patch == {"a": {"d": {"e": [2]}}}
