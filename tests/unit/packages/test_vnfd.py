"""The VNFD as read from the real Tacker sample, the shipped sample and broken copies."""

from __future__ import annotations

import uuid

import pytest
import yaml

from nfvlib.exceptions import InvalidInput
from nfvlib.packages import (InstantiationLevel, LifecycleScript, PackageError, Vdu,
                             desired_capacity, load_package)
from tests.unit.packages import (SAMPLE, SAMPLE_DF, SAMPLE_TOP, TACKER_DF, TACKER_SAMPLE,
                                 TACKER_TOP, assert_one_line, copy_package, edit)



@pytest.fixture(scope="module")
def tacker():
    return load_package(TACKER_SAMPLE)


@pytest.fixture(scope="module")
def sample():
    return load_package(SAMPLE)


def test_tacker_sample_identity(tacker):
    assert tacker.vnfd_id == "b1bb0ce7-ebca-4fa7-95ed-4840d7000000"
    assert (tacker.vnf_provider, tacker.vnf_product_name) == ("Company", "Sample VNF")
    assert (tacker.vnf_software_version, tacker.vnfd_version) == ("1.0", "1.0")
    assert tacker.entry_definitions == TACKER_TOP
    assert list(tacker.flavours) == ["simple"]
    assert tacker.scripts == {}


def test_tacker_sample_vdus(tacker):
    flavour = tacker.flavours["simple"]
    assert flavour.description == "A simple flavour"
    assert flavour.definitions_file == TACKER_DF
    assert flavour.vdus["VDU1"] == Vdu(
        name="VDU1", vdu_name="VDU1", description="VDU1 compute node", min_instances=1,
        max_instances=3, initial_delta=1, compute_flavour="m1.tiny",
        sw_image="cirros-0.5.2-x86_64-disk", virtual_storages=(), cps=("VDU1_CP1",))
    vdu2 = flavour.vdus["VDU2"]
    assert (vdu2.min_instances, vdu2.max_instances, vdu2.initial_delta) == (1, 1, 1)
    assert vdu2.cps == ("VDU2_CP1",)
    assert {name: (cp.vdu, cp.virtual_link, cp.order) for name, cp in flavour.cps.items()} \
        == {"VDU1_CP1": ("VDU1", "internalVL3", 4), "VDU2_CP1": ("VDU2", "internalVL3", 4)}
    assert flavour.virtual_links["internalVL3"].cidrs == ("192.168.5.0/24",)
    assert flavour.lifecycle == {}


def test_tacker_sample_scaling_and_levels(tacker):
    flavour = tacker.flavours["simple"]
    aspect = flavour.scaling_aspects["VDU1_scale"]
    assert aspect.max_scale_level == 2
    assert aspect.deltas == {"delta_1": {"VDU1": 1}}
    assert aspect.vdus == ("VDU1",)
    assert aspect.step_deltas == ("delta_1",)
    assert flavour.default_instantiation_level == "instantiation_level_1"
    assert flavour.instantiation_levels == {
        "instantiation_level_1": InstantiationLevel(
            "instantiation_level_1", {"VDU1": 1, "VDU2": 1}, {"VDU1_scale": 0}, "Smallest size"),
        "instantiation_level_2": InstantiationLevel(
            "instantiation_level_2", {"VDU1": 3, "VDU2": 1}, {"VDU1_scale": 2}, "Largest size"),
    }


@pytest.mark.parametrize("level, scale, vdu1, vdu2", [
    (None, None, 1, 1),
    ("instantiation_level_1", None, 1, 1),
    ("instantiation_level_2", None, 3, 1),
    ("instantiation_level_1", {"VDU1_scale": 1}, 2, 1),
    ("instantiation_level_1", {"VDU1_scale": 2}, 3, 1),
    ("instantiation_level_2", {"VDU1_scale": 2}, 3, 1),
    ("instantiation_level_2", {"VDU1_scale": 1}, 2, 1),
    ("instantiation_level_2", {"VDU1_scale": 0}, 1, 1),
])
def test_tacker_sample_desired_capacity(tacker, level, scale, vdu1, vdu2):
    flavour = tacker.flavours["simple"]
    assert desired_capacity(flavour, "VDU1", level, scale) == vdu1
    assert desired_capacity(flavour, "VDU2", level, scale) == vdu2


def test_sample_identity(sample):
    assert uuid.UUID(sample.vnfd_id).version == 4
    assert sample.vnfd_id != "b1bb0ce7-ebca-4fa7-95ed-4840d7000000"
    assert sample.vnf_provider == "nfvkit"
    assert sample.entry_definitions == SAMPLE_TOP
    assert list(sample.flavours) == ["simple"]


def test_sample_topology(sample):
    flavour = sample.flavours["simple"]
    assert set(flavour.vdus) == {"VDU1", "VDU2"}
    vdu1, vdu2 = flavour.vdus["VDU1"], flavour.vdus["VDU2"]
    assert (vdu1.min_instances, vdu1.max_instances, vdu1.compute_flavour) == (1, 3, "m1.tiny")
    assert (vdu2.min_instances, vdu2.max_instances, vdu2.compute_flavour) == (1, 1, "m1.small")
    assert vdu1.cps == ("VDU1_CP1",) and vdu2.cps == ("VDU2_CP1", "VDU2_CP2")
    assert {n: cp.virtual_link for n, cp in flavour.cps.items()} == {
        "VDU1_CP1": "internalVL1", "VDU2_CP1": "internalVL1", "VDU2_CP2": "internalVL2"}
    assert set(flavour.virtual_links) == {"internalVL1", "internalVL2"}
    aspect = flavour.scaling_aspects["VDU1_scale"]
    assert (aspect.max_scale_level, aspect.deltas) == (2, {"delta_1": {"VDU1": 1}})
    assert flavour.instantiation_levels["instantiation_level_1"].vdu_instances == \
        {"VDU1": 1, "VDU2": 1}
    assert flavour.instantiation_levels["instantiation_level_2"].vdu_instances == \
        {"VDU1": 3, "VDU2": 1}


def test_sample_lifecycle_scripts(sample):
    lifecycle = sample.flavours["simple"].lifecycle
    assert set(lifecycle) == {"instantiate_start", "instantiate_end", "scale_start",
                              "scale_end", "terminate_start", "terminate_end"}
    assert lifecycle["instantiate_start"] == LifecycleScript(
        event="instantiate_start", file="Scripts/lifecycle.sh", artifact="lifecycle_script",
        artifact_type="tosca.artifacts.Implementation.Bash")
    assert {str(p) for p in sample.scripts.values()} == {"Scripts/lifecycle.sh"}
    script = sample.path / sample.scripts["lifecycle.sh"]
    assert script.read_text().startswith("#!/bin/sh")


@pytest.mark.parametrize("level, scale, expected", [
    (None, None, 1), ("instantiation_level_2", None, 3),
    ("instantiation_level_1", {"VDU1_scale": 1}, 2),
])
def test_sample_desired_capacity(sample, level, scale, expected):
    flavour = sample.flavours["simple"]
    assert desired_capacity(flavour, "VDU1", level, scale) == expected
    assert desired_capacity(flavour, "VDU2", level, scale) == 1


@pytest.mark.parametrize("args, fragment", [
    (("VDU9",), "flavour simple has no VDU VDU9"),
    (("VDU1", "level_9"), "no instantiation level level_9"),
    (("VDU1", None, {"nope": 1}), "no scaling aspect nope"),
    (("VDU1", None, {"VDU1_scale": 3}), "out of range 0..2"),
    (("VDU1", None, {"VDU1_scale": True}), "out of range 0..2"),
])
def test_desired_capacity_refuses_unknown_names_and_levels(sample, args, fragment):
    with pytest.raises(InvalidInput, match=fragment):
        desired_capacity(sample.flavours["simple"], *args)


def test_desired_capacity_refuses_count_outside_vdu_profile(tmp_path):
    package = copy_package(tmp_path)
    edit(package, SAMPLE_DF, "max_number_of_instances: 3", "max_number_of_instances: 2")
    flavour = load_package(package).flavours["simple"]
    with pytest.raises(InvalidInput, match="3 instances, outside its vdu_profile 1..2"):
        desired_capacity(flavour, "VDU1", "instantiation_level_2")


def test_non_uniform_step_deltas(tmp_path):
    package = copy_package(tmp_path)
    edit(package, SAMPLE_DF, "              step_deltas:\n                - delta_1\n",
         "              step_deltas: [ delta_1, delta_2 ]\n")
    edit(package, SAMPLE_DF, "            delta_1:\n              number_of_instances: 1\n",
         "            delta_1:\n              number_of_instances: 1\n"
         "            delta_2:\n              number_of_instances: 2\n")
    edit(package, SAMPLE_DF, "max_number_of_instances: 3", "max_number_of_instances: 4")
    flavour = load_package(package).flavours["simple"]
    assert flavour.scaling_aspects["VDU1_scale"].step_deltas == ("delta_1", "delta_2")
    assert desired_capacity(flavour, "VDU1", None, {"VDU1_scale": 1}) == 2
    assert desired_capacity(flavour, "VDU1", None, {"VDU1_scale": 2}) == 4


def test_identity_falls_back_to_type_defaults(tmp_path):
    package = copy_package(tmp_path)
    edit(package, SAMPLE_TOP, "        provider: nfvkit\n", "")
    assert load_package(package).vnf_provider == "nfvkit"


def test_url_import_resolves_to_local_copy(tmp_path):
    package = copy_package(tmp_path)
    edit(package, SAMPLE_TOP, "  - etsi_nfv_sol001_common_types.yaml",
         "  - https://forge.etsi.org/rep/nfv/SOL001/raw/v2.6.1/"
         "etsi_nfv_sol001_common_types.yaml")
    assert load_package(package).vnfd_id == load_package(SAMPLE).vnfd_id


def test_implementation_as_path_and_empty_operation(tmp_path):
    package = copy_package(tmp_path)
    edit(package, SAMPLE_DF, "          instantiate_start:\n            implementation: "
         "lifecycle_script\n", "          instantiate_start:\n            implementation: "
         "../Scripts/lifecycle.sh\n")
    edit(package, SAMPLE_DF, "          scale_end:\n            implementation: "
         "lifecycle_script\n", "          scale_end: []\n")
    lifecycle = load_package(package).flavours["simple"].lifecycle
    assert lifecycle["instantiate_start"] == LifecycleScript("instantiate_start",
                                                             "Scripts/lifecycle.sh")
    assert "scale_end" not in lifecycle


def test_vdu_image_from_its_virtual_storage(tmp_path):
    package = copy_package(tmp_path)
    text = (package / SAMPLE_DF).read_text()
    vdu2 = text.index("    VDU2:\n")
    image = text[text.index("        sw_image_data:\n", vdu2):text.index("      capabilities:\n",
                                                                       vdu2)]
    text = text[:vdu2] + text[vdu2:].replace(image, "", 1)
    storage = ("    VDU2_storage:\n      type: tosca.nodes.nfv.Vdu.VirtualBlockStorage\n"
               "      properties:\n        virtual_block_storage_data:\n"
               "          size_of_storage: 1 GB\n"
               "        sw_image_data: { name: cirros-0.5.2-x86_64-disk, version: '0.5.2' }\n\n")
    text = text.replace("    VDU1_CP1:\n", storage + "    VDU1_CP1:\n", 1)
    (package / SAMPLE_DF).write_text(text)
    nodes = yaml.safe_load(text)["topology_template"]["node_templates"]
    assert "sw_image_data" not in nodes["VDU2"]["properties"]
    edit(package, SAMPLE_DF, "          max_number_of_instances: 1\n",
         "          max_number_of_instances: 1\n      requirements:\n"
         "        - virtual_storage: VDU2_storage\n")
    vdu2 = load_package(package).flavours["simple"].vdus["VDU2"]
    assert vdu2.virtual_storages == ("VDU2_storage",)
    assert vdu2.sw_image == "cirros-0.5.2-x86_64-disk"
    edit(package, SAMPLE_DF, "- virtual_storage: VDU2_storage", "- virtual_storage: VDU2_disk")
    with pytest.raises(PackageError) as info:
        load_package(package)
    assert_one_line(info.value, SAMPLE_DF, "node VDU2: requirements.virtual_storage: "
                    "VDU2_disk is not a virtual storage node of flavour simple")


def test_top_vnf_node_scripts_apply_unless_the_flavour_names_its_own(tmp_path):
    package = copy_package(tmp_path)
    edit(package, SAMPLE_TOP, "        vnfm_info:\n          - Tacker\n",
         "        vnfm_info:\n          - Tacker\n      interfaces:\n        Vnflcm:\n"
         "          heal_start:\n            implementation: ../Scripts/lifecycle.sh\n"
         "          instantiate_start:\n            implementation: ../Scripts/heal.sh\n")
    (package / "Scripts/heal.sh").write_text("#!/bin/sh\n")
    package_ = load_package(package)
    lifecycle = package_.flavours["simple"].lifecycle
    assert lifecycle["heal_start"] == LifecycleScript("heal_start", "Scripts/lifecycle.sh")
    assert lifecycle["instantiate_start"].artifact == "lifecycle_script"
    assert set(package_.scripts) == {"heal.sh", "lifecycle.sh"}


# (file, old text, new text, file named by the error, fragments of the error)
BROKEN = {
    "max instances missing": (
        SAMPLE_DF, "          max_number_of_instances: 3\n", "", SAMPLE_DF,
        ["node VDU1: vdu_profile.max_number_of_instances missing"]),
    "vdu_profile missing": (
        SAMPLE_DF, "        vdu_profile:\n          min_number_of_instances: 1\n"
        "          max_number_of_instances: 1\n", "", SAMPLE_DF,
        ["node VDU2: properties.vdu_profile missing"]),
    "min above max": (
        SAMPLE_DF, "min_number_of_instances: 1\n          max_number_of_instances: 3",
        "min_number_of_instances: 4\n          max_number_of_instances: 3", SAMPLE_DF,
        ["node VDU1: vdu_profile.min_number_of_instances 4 exceeds max"]),
    "instances not an integer": (
        SAMPLE_DF, "max_number_of_instances: 3", "max_number_of_instances: three",
        SAMPLE_DF, ["node VDU1: vdu_profile.max_number_of_instances must be a non-negative"]),
    "no VNF node": (
        SAMPLE_TOP, "      type: nfvkit.sample.VNF", "      type: tosca.nodes.Root",
        SAMPLE_TOP, ["no node", "derived from tosca.nodes.nfv.VNF"]),
    "undefined node type": (
        SAMPLE_DF, "      type: tosca.nodes.nfv.VduCp\n      properties:\n"
        "        layer_protocols: [ ipv4 ]\n        order: 1",
        "      type: nfvkit.sample.Port\n      properties:\n"
        "        layer_protocols: [ ipv4 ]\n        order: 1", SAMPLE_DF,
        ["node VDU2_CP2: type nfvkit.sample.Port is not defined"]),
    "version not a string": (
        SAMPLE_TOP, "software_version: '1.0'", "software_version: 1.0", SAMPLE_TOP,
        ["node VNF: properties.software_version must be a string", "quote"]),
    "aspect delta targets unknown VDU": (
        SAMPLE_DF, "              number_of_instances: 1\n        targets: [ VDU1 ]",
        "              number_of_instances: 1\n        targets: [ VDU9 ]", SAMPLE_DF,
        ["policy VDU1_scaling_aspect_deltas: targets: VDU9 is not a VDU of flavour simple"]),
    "deltas for undeclared aspect": (
        SAMPLE_DF, "          aspect: VDU1_scale", "          aspect: VDU3_scale", SAMPLE_DF,
        ["policy VDU1_scaling_aspect_deltas: aspect VDU3_scale is not declared"]),
    "step delta missing": (
        SAMPLE_DF, "                - delta_1", "                - delta_9", SAMPLE_DF,
        ["policy VDU1_scaling_aspect_deltas: deltas.delta_9 missing"]),
    "max scale level missing": (
        SAMPLE_DF, "              max_scale_level: 2\n", "", SAMPLE_DF,
        ["policy scaling_aspects: aspects.VDU1_scale.max_scale_level missing"]),
    "level scales unknown aspect": (
        SAMPLE_DF, "                VDU1_scale:\n                  scale_level: 2",
        "                VDU2_scale:\n                  scale_level: 2", SAMPLE_DF,
        ["levels.instantiation_level_2.scale_info: aspect VDU2_scale is not declared"]),
    "level beyond max scale level": (
        SAMPLE_DF, "                  scale_level: 2", "                  scale_level: 5",
        SAMPLE_DF,
        ["instantiation_level_2.scale_info.VDU1_scale.scale_level 5 exceeds max"]),
    "vdu level names undeclared level": (
        SAMPLE_DF, "            instantiation_level_2:\n              number_of_instances: 3",
        "            instantiation_level_3:\n              number_of_instances: 3", SAMPLE_DF,
        ["policy VDU1_instantiation_levels: levels.instantiation_level_3 is not an "
         "instantiation level"]),
    "unknown default level": (
        SAMPLE_DF, "default_level: instantiation_level_1", "default_level: biggest",
        SAMPLE_DF, ["policy instantiation_levels: default_level biggest is not a level"]),
    "cp bound to unknown VDU": (
        SAMPLE_DF, "        - virtual_binding: VDU1", "        - virtual_binding: VDU7",
        SAMPLE_DF, ["node VDU1_CP1: requirements.virtual_binding: VDU7 is not a VDU"]),
    "cp on unknown link": (
        SAMPLE_DF, "        - virtual_link: internalVL2", "        - virtual_link: extVL",
        SAMPLE_DF, ["node VDU2_CP2: requirements.virtual_link: extVL is not a virtual link"]),
    "script artifact missing": (
        SAMPLE_DF, "file: ../Scripts/lifecycle.sh", "file: ../Scripts/gone.sh", SAMPLE_DF,
        ["node VNF: artifacts.lifecycle_script.file ../Scripts/gone.sh not found",
         "Scripts/gone.sh"]),
    "script artifact outside package": (
        SAMPLE_DF, "file: ../Scripts/lifecycle.sh", "file: ../../lifecycle.sh", SAMPLE_DF,
        ["artifacts.lifecycle_script.file", "points outside the package"]),
    "unknown implementation": (
        SAMPLE_DF, "          scale_end:\n            implementation: lifecycle_script",
        "          scale_end:\n            implementation: scaler", SAMPLE_DF,
        ["interfaces.Vnflcm.scale_end.implementation: scaler is neither an artifact"]),
    "no flavour": (
        SAMPLE_DF, "  substitution_mappings:", "  not_substitution_mappings:", SAMPLE_TOP,
        ["no deployment flavour"]),
    "flavour id missing": (
        SAMPLE_DF, "    properties:\n      flavour_id: simple\n", "", SAMPLE_DF,
        ["topology_template.substitution_mappings.properties.flavour_id missing"]),
    "substitution of a non-VNF type": (
        SAMPLE_DF, "    node_type: nfvkit.sample.VNF", "    node_type: tosca.nodes.Root",
        SAMPLE_DF, ["substitution_mappings.node_type must name a type derived from"]),
    "tosca version missing": (
        "Definitions/sample_vnf_types.yaml", "tosca_definitions_version: tosca_simple_yaml_1_2\n",
        "", "Definitions/sample_vnf_types.yaml", ["tosca_definitions_version missing"]),
    "import not found": (
        SAMPLE_TOP, "  - sample_vnf_types.yaml", "  - sample_vnf_typos.yaml", SAMPLE_TOP,
        ["imports: sample_vnf_typos.yaml not found (looked for "
         "Definitions/sample_vnf_typos.yaml)"]),
    "import outside the package": (
        SAMPLE_TOP, "  - sample_vnf_types.yaml", "  - ../../../etc/types.yaml", SAMPLE_TOP,
        ["imports: ../../../etc/types.yaml", "points outside the package"]),
    "import not a file name": (
        SAMPLE_TOP, "  - sample_vnf_types.yaml", "  - [ sample_vnf_types.yaml ]", SAMPLE_TOP,
        ["imports: entry", "is not a file name"]),
    "policies not a list": (
        SAMPLE_DF, "  policies:\n", "  policies: 3\n  old_policies:\n", SAMPLE_DF,
        ["topology_template.policies must be a list"]),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_vnfd(tmp_path, case):
    rel, old, new, file, fragments = BROKEN[case]
    package = copy_package(tmp_path)
    edit(package, rel, old, new)
    with pytest.raises(PackageError) as info:
        load_package(package)
    assert_one_line(info.value, file, *fragments)
    assert info.value.file == file
    assert isinstance(info.value, InvalidInput)


def test_missing_identity_without_type_default(tmp_path):
    package = copy_package(tmp_path)
    edit(package, SAMPLE_TOP, "        descriptor_id: a0370897-134e-47e4-bf6f-6946b01b0cd1\n", "")
    edit(package, "Definitions/sample_vnf_types.yaml",
         "        default: a0370897-134e-47e4-bf6f-6946b01b0cd1\n", "")
    with pytest.raises(PackageError) as info:
        load_package(package)
    assert_one_line(info.value, SAMPLE_TOP, "node VNF: properties.descriptor_id missing")


def test_flavour_defined_twice(tmp_path):
    package = copy_package(tmp_path)
    (package / "Definitions/sample_vnf_df_copy.yaml").write_text(
        (package / SAMPLE_DF).read_text())
    edit(package, SAMPLE_TOP, "  - sample_vnf_df_simple.yaml",
         "  - sample_vnf_df_simple.yaml\n  - sample_vnf_df_copy.yaml")
    with pytest.raises(PackageError) as info:
        load_package(package)
    assert_one_line(info.value, "Definitions/sample_vnf_df_copy.yaml",
                    f"flavour simple is also defined in {SAMPLE_DF}")


def test_broken_tacker_sample_names_its_file(tmp_path):
    package = copy_package(tmp_path, TACKER_SAMPLE)
    edit(package, TACKER_DF, "          max_number_of_instances: 1\n", "")
    with pytest.raises(PackageError) as info:
        load_package(package)
    assert str(info.value) == (f"{TACKER_DF}: node VDU2: "
                               "vdu_profile.max_number_of_instances missing")


def test_sample_package_is_shipped_with_nfvlib():
    assert (SAMPLE / "TOSCA-Metadata" / "TOSCA.meta").is_file()
    for name in ("etsi_nfv_sol001_common_types.yaml", "etsi_nfv_sol001_vnfd_types.yaml"):
        assert (SAMPLE / "Definitions" / name).is_file()
    assert "lifecycle.sh" in (SAMPLE / "README.md").read_text()
