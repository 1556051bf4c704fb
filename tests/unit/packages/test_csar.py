"""The package container: directories, zip archives, TOSCA.meta, YAML and BaseHOT."""

from __future__ import annotations

import os
import stat
import zipfile

import pytest

from nfvlib.exceptions import InvalidInput
from nfvlib.packages import (BaseHot, PackageError, extract_package, load_package,
                             nfv_parameter_paths)
from nfvlib.packages.csar import ZipSource, load_yaml
from tests.unit.packages import (SAMPLE, SAMPLE_DF, TACKER_SAMPLE, TACKER_TOP,
                                 assert_one_line, copy_package, edit, zip_package)

META = "TOSCA-Metadata/TOSCA.meta"
HOT = "BaseHOT/simple/sample_vnf.yaml"

TACKER_NFV_PATHS = {
    ("VDU", "VDU1", "desired_capacity"), ("VDU", "VDU1", "computeFlavourId"),
    ("VDU", "VDU1", "vcImageId"), ("VDU", "VDU2", "computeFlavourId"),
    ("VDU", "VDU2", "vcImageId"),
}


def _broken(tmp_path, rel, old, new):
    package = copy_package(tmp_path)
    edit(package, rel, old, new)
    with pytest.raises(PackageError) as info:
        load_package(package)
    return info.value


def test_tacker_sample_base_hot():
    package = load_package(TACKER_SAMPLE)
    hot = package.base_hot["simple"]
    assert hot.top_file == "BaseHOT/simple/sample2.yaml"
    assert hot.top_template_text == (TACKER_SAMPLE / hot.top_file).read_text()
    assert list(hot.nested) == ["VDU1.yaml"]
    assert "OS::Nova::Server" in hot.nested["VDU1.yaml"]
    assert nfv_parameter_paths(hot) == TACKER_NFV_PATHS
    assert not package.is_archive


def test_tacker_sample_zipped_reads_the_same(tmp_path):
    archive = zip_package(TACKER_SAMPLE, tmp_path / "basic_lcms_min.zip")
    zipped, plain = load_package(archive), load_package(TACKER_SAMPLE)
    assert zipped.is_archive and zipped.path == archive
    assert zipped.flavours == plain.flavours
    assert zipped.base_hot == plain.base_hot
    assert zipped.vnfd_id == "b1bb0ce7-ebca-4fa7-95ed-4840d7000000"


def test_csar_without_tosca_metadata_uses_the_root_yaml(tmp_path):
    package = copy_package(tmp_path, TACKER_SAMPLE)
    (package / META).unlink()
    (package / "TOSCA-Metadata").rmdir()
    top = (package / TACKER_TOP).read_text()
    for name in ("etsi_nfv_sol001_common_types", "etsi_nfv_sol001_vnfd_types",
                 "v2_sample2_types", "v2_sample2_df_simple"):
        top = top.replace(f"  - {name}.yaml", f"  - Definitions/{name}.yaml")
    (package / "vnfd.yaml").write_text(top)
    (package / TACKER_TOP).unlink()
    for source in (package, zip_package(package, tmp_path / "no-meta.zip")):
        loaded = load_package(source)
        assert loaded.entry_definitions == "vnfd.yaml"
        assert loaded.flavours["simple"].scaling_aspects["VDU1_scale"].max_scale_level == 2


def test_sample_base_hot_and_nfv_paths():
    hot = load_package(SAMPLE).base_hot["simple"]
    assert hot.top_file == HOT
    assert list(hot.nested) == ["VDU1.yaml"]
    assert nfv_parameter_paths(hot) == TACKER_NFV_PATHS


def test_nfv_paths_of_nested_templates_count_too():
    nested = ("heat_template_version: 2021-04-16\nparameters:\n  nfv: {type: json}\n"
              "resources:\n  port:\n    type: OS::Neutron::Port\n    properties:\n"
              "      fixed_ips: [{ip_address: {get_param: [nfv, CP, CP1, fixed_ips, 0, "
              "ip_address]}}]\n      network: {get_param: [nfv, CP, CP1, network]}\n"
              "      name: {get_param: name}\n")
    hot = BaseHot(top_file="BaseHOT/f/top.yaml",
                  top_template_text="heat_template_version: 2013-05-23\n",
                  nested={"port.yaml": nested})
    assert nfv_parameter_paths(hot) == {("CP", "CP1", "fixed_ips", 0, "ip_address"),
                                        ("CP", "CP1", "network")}


def test_heat_dates_stay_strings():
    doc = load_yaml("heat_template_version: 2013-05-23\nwhen: 2021-04-16 10:00:00\n", "t.yaml")
    assert doc == {"heat_template_version": "2013-05-23", "when": "2021-04-16 10:00:00"}


def test_sample_zip_extract_round_trip(tmp_path):
    archive = zip_package(SAMPLE, tmp_path / "sample.zip")
    zipped = load_package(archive)
    assert zipped.scripts == load_package(SAMPLE).scripts
    target = extract_package(archive, tmp_path / "unpacked")
    unpacked = load_package(target)
    assert unpacked.flavours == zipped.flavours and unpacked.base_hot == zipped.base_hot
    script = target / unpacked.scripts["lifecycle.sh"]
    assert os.stat(script).st_mode & stat.S_IXUSR
    assert not os.stat(target / SAMPLE_DF).st_mode & stat.S_IXUSR


def test_extract_is_size_bound_and_leaves_nothing(tmp_path):
    archive = zip_package(SAMPLE, tmp_path / "sample.zip")
    with pytest.raises(PackageError, match="more than 1000 bytes"):
        extract_package(archive, tmp_path / "unpacked", max_bytes=1000)
    assert not (tmp_path / "unpacked").exists()


def test_reads_are_size_bound(tmp_path):
    source = ZipSource(zip_package(SAMPLE, tmp_path / "sample.zip"))
    with pytest.raises(PackageError) as info:
        source.read_bytes(SAMPLE_DF, limit=100)
    assert_one_line(info.value, SAMPLE_DF, "larger than 100 bytes")


@pytest.mark.parametrize("member, fragment", [
    ("../evil.yaml", "points outside the archive"),
    ("Definitions/../../evil.yaml", "points outside the archive"),
    ("/etc/evil.yaml", "absolute path"),
    ("C:/evil.yaml", "absolute path"),
    ("Definitions\\evil.yaml", "backslash"),
])
def test_zip_slip_members_are_refused(tmp_path, member, fragment):
    archive = zip_package(SAMPLE, tmp_path / "evil.zip")
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr(member, "x: 1\n")
    for action in (load_package, lambda a: extract_package(a, tmp_path / "out")):
        with pytest.raises(PackageError) as info:
            action(archive)
        assert_one_line(info.value, "evil.zip", repr(member), fragment)
    assert not (tmp_path / "out").exists()


def test_symlink_and_duplicate_members_are_refused(tmp_path):
    link = zip_package(SAMPLE, tmp_path / "link.zip")
    info = zipfile.ZipInfo("Scripts/passwd")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(link, "a") as zf:
        zf.writestr(info, "/etc/passwd")
    with pytest.raises(PackageError, match="is a symbolic link"):
        load_package(link)
    twice = zip_package(SAMPLE, tmp_path / "twice.zip")
    with zipfile.ZipFile(twice, "a") as zf:
        zf.writestr("./" + SAMPLE_DF, "x: 1\n")
    with pytest.raises(PackageError, match="appears twice"):
        load_package(twice)


def test_directory_symlink_leaving_the_package_is_refused(tmp_path):
    package = copy_package(tmp_path)
    outside = tmp_path / "outside.yaml"
    outside.write_text((package / SAMPLE_DF).read_text())
    (package / SAMPLE_DF).unlink()
    (package / SAMPLE_DF).symlink_to(outside)
    with pytest.raises(PackageError) as info:
        load_package(package)
    assert "sample_vnf_df_simple.yaml" in str(info.value)


def test_not_a_package(tmp_path):
    with pytest.raises(InvalidInput, match="does not exist"):
        load_package(tmp_path / "nothing")
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"not a zip at all")
    with pytest.raises(PackageError) as info:
        load_package(junk)
    assert_one_line(info.value, "junk.zip", "is not a readable zip archive")


def test_entry_definitions_points_at_missing_file(tmp_path):
    error = _broken(tmp_path, META, "Definitions/sample_vnf_top.vnfd.yaml",
                    "Definitions/nope.yaml")
    assert str(error) == ("TOSCA-Metadata/TOSCA.meta: Entry-Definitions points at "
                          "Definitions/nope.yaml which does not exist")


@pytest.mark.parametrize("old, new, fragment", [
    ("Entry-Definitions: Definitions/sample_vnf_top.vnfd.yaml", "", "Entry-Definitions missing"),
    ("Created-by: nfvkit", "Created by nfvkit", "line 3 is not 'Name: value'"),
    ("Definitions/sample_vnf_top.vnfd.yaml", "/etc/vnfd.yaml", "must be a relative path"),
    ("Definitions/sample_vnf_top.vnfd.yaml", "../vnfd.yaml", "points outside the package"),
])
def test_broken_tosca_meta(tmp_path, old, new, fragment):
    assert_one_line(_broken(tmp_path, META, old, new), META, fragment)


def test_no_meta_and_no_root_yaml(tmp_path):
    package = copy_package(tmp_path)
    (package / META).unlink()
    with pytest.raises(PackageError) as info:
        load_package(package)
    assert_one_line(info.value, META, "missing and there is no YAML file")
    (package / "a.yaml").write_text("x: 1\n")
    (package / "b.yml").write_text("x: 1\n")
    with pytest.raises(PackageError) as info:
        load_package(package)
    assert_one_line(info.value, META, "several YAML files (a.yaml, b.yml)")


def test_archive_of_the_directory_instead_of_its_content(tmp_path):
    archive = zip_package(SAMPLE, tmp_path / "wrapped.zip", prefix="sample_vnf/")
    with pytest.raises(PackageError) as info:
        load_package(archive)
    assert_one_line(info.value, META, "sample_vnf/", "not the directory")


@pytest.mark.parametrize("bad, reported", [
    ("    VDU0: key: value\n", "line {n}, column 14: mapping values are not allowed"),
    ("    VNF: [unclosed\n", "line {m}, column 8: did not find expected ',' or ']' "
     "(while parsing a flow sequence at line {n})"),
])
def test_invalid_yaml_names_the_line(tmp_path, bad, reported):
    package = copy_package(tmp_path)
    lines = (package / SAMPLE_DF).read_text().splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines) if line.startswith("  node_templates:"))
    lines.insert(index + 1, bad)
    (package / SAMPLE_DF).write_text("".join(lines))
    with pytest.raises(PackageError) as info:
        load_package(package)
    expected = reported.format(n=index + 2, m=index + 3)
    assert_one_line(info.value, SAMPLE_DF, f"invalid YAML at {expected}")


def test_yaml_that_is_not_a_mapping_and_not_utf8(tmp_path):
    package = copy_package(tmp_path)
    (package / SAMPLE_DF).write_text("- just\n- a list\n")
    with pytest.raises(PackageError) as info:
        load_package(package)
    assert str(info.value) == f"{SAMPLE_DF}: is not a YAML mapping"
    (package / SAMPLE_DF).write_bytes(b"description: caf\xe9\n")
    with pytest.raises(PackageError) as info:
        load_package(package)
    assert_one_line(info.value, SAMPLE_DF, "is not UTF-8 text (byte 16)")


def test_flavour_without_base_hot(tmp_path):
    package = copy_package(tmp_path)
    (package / "BaseHOT/simple").rename(package / "BaseHOT/other")
    with pytest.raises(PackageError) as info:
        load_package(package)
    assert_one_line(info.value, "BaseHOT/simple", "directory missing",
                    f"flavour simple of {SAMPLE_DF}")


def test_base_hot_with_two_top_templates(tmp_path):
    package = copy_package(tmp_path)
    (package / "BaseHOT/simple/extra.yaml").write_text("heat_template_version: 2013-05-23\n")
    with pytest.raises(PackageError) as info:
        load_package(package)
    assert_one_line(info.value, "BaseHOT/simple", "2 top-level templates",
                    "extra.yaml, sample_vnf.yaml")


def test_nested_template_missing(tmp_path):
    package = copy_package(tmp_path)
    (package / "BaseHOT/simple/nested/VDU1.yaml").unlink()
    with pytest.raises(PackageError) as info:
        load_package(package)
    assert str(info.value) == (f"{HOT}: resources.VDU1_scale_group: type VDU1.yaml is not "
                               "a file in BaseHOT/simple/nested/")


@pytest.mark.parametrize("old, new, fragment", [
    ("heat_template_version: 2013-05-23\n", "", "heat_template_version missing"),
    ("parameters:\n  nfv:\n    type: json\n", "", "parameters.nfv missing but get_param"),
    ("  internalVL2:\n    type: OS::Neutron::Net\n", "  internalVL2:\n    nettype: x\n",
     "resources.internalVL2.type missing"),
])
def test_broken_base_hot(tmp_path, old, new, fragment):
    assert_one_line(_broken(tmp_path, HOT, old, new), HOT, fragment)
