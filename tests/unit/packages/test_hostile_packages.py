"""Hostile packages: bombs, links, special files and VNFD values that must not onboard.

Each is refused at once with one line naming the file at fault.
"""

from __future__ import annotations

import os
import time
import zipfile

import pytest

from nfvlib.packages import PackageError, load_package
from nfvlib.packages import csar
from nfvlib.packages.csar import DirSource, ZipSource, extract_package
from tests.unit.packages import (SAMPLE, SAMPLE_DF, SAMPLE_TOP, TACKER_SAMPLE,
                                 assert_one_line, copy_package, edit, zip_package)

META = "TOSCA-Metadata/TOSCA.meta"
#: 473 bytes of YAML that stand for 9**9 values once the aliases are expanded.
ALIAS_BOMB = ("[&a0 [x, x, x, x, x, x, x, x, x], "
              + ", ".join(f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]"
                          for i in range(1, 9)) + "]")


def refused(package, file, *fragments, seconds=2.0):
    """Load ``package``: it must fail in one line naming ``file``, within ``seconds``."""
    started = time.monotonic()
    with pytest.raises(PackageError) as info:
        load_package(package)
    assert time.monotonic() - started < seconds
    assert_one_line(info.value, file, *fragments)
    assert len(str(info.value)) < 400, str(info.value)
    return info.value


def test_both_samples_still_load():
    assert load_package(SAMPLE).vnfd_id == "a0370897-134e-47e4-bf6f-6946b01b0cd1"
    assert load_package(TACKER_SAMPLE).vnfd_id == "b1bb0ce7-ebca-4fa7-95ed-4840d7000000"


def test_alias_bomb_in_flavour_description_is_refused_at_once(tmp_path):
    assert len(ALIAS_BOMB) < 480
    package = copy_package(tmp_path)
    edit(package, SAMPLE_DF, "        flavour_description: One scalable VDU and one single "
         "VDU on two internal networks", f"        flavour_description: {ALIAS_BOMB}")
    refused(package, SAMPLE_DF, "aliases", "expanded")


def test_alias_to_itself_is_refused(tmp_path):
    package = copy_package(tmp_path)
    edit(package, SAMPLE_DF, "        flavour_description: One scalable VDU and one single "
         "VDU on two internal networks", "        flavour_description: &a [*a]")
    refused(package, SAMPLE_DF, "refers to the collection that contains it")


@pytest.mark.parametrize("rel", [SAMPLE_DF, "BaseHOT/simple/sample_vnf.yaml"])
def test_deep_nesting_is_one_line_not_a_recursion_error(tmp_path, rel):
    package = copy_package(tmp_path)
    path = package / rel
    path.write_text(path.read_text() + "\ndeep: " + "[" * 3000 + "]" * 3000 + "\n")
    refused(package, rel, "nesting is deeper than 64 levels")


def test_a_flavour_description_must_be_text(tmp_path):
    package = copy_package(tmp_path)
    edit(package, SAMPLE_DF, "        flavour_description: One scalable VDU and one single "
         "VDU on two internal networks", "        flavour_description: [1, 2]")
    refused(package, SAMPLE_DF, "node VNF: properties.flavour_description must be a "
                                "string, not [1, 2]")


def test_duplicate_entry_definitions(tmp_path):
    package = copy_package(tmp_path)
    meta = package / META
    meta.write_text(meta.read_text() + "Entry-Definitions: Definitions/other.yaml\n")
    refused(package, META, "line 5: 'Entry-Definitions' is given twice")


@pytest.mark.parametrize("version", ["tosca_simple_yaml_9_9", "[1, 2]", "'1.2'"])
def test_unknown_tosca_definitions_version(tmp_path, version):
    package = copy_package(tmp_path)
    edit(package, SAMPLE_TOP, "tosca_definitions_version: tosca_simple_yaml_1_2",
         f"tosca_definitions_version: {version}")
    refused(package, SAMPLE_TOP, "tosca_definitions_version", "is not a TOSCA version")


@pytest.mark.parametrize("value, words", [
    ("../../x", "properties.descriptor_id '../../x' is not a safe identifier"),
    ("x" * 100_000, "properties.descriptor_id is 100000 characters long"),
    ('"a\\x1b[31mred"', "holds control characters"),
    ("a b", "is not a safe identifier"),
    ("'-rf'", "is not a safe identifier"),
])
def test_unsafe_descriptor_ids(tmp_path, value, words):
    package = copy_package(tmp_path)
    edit(package, SAMPLE_TOP, "descriptor_id: a0370897-134e-47e4-bf6f-6946b01b0cd1",
         f"descriptor_id: {value}")
    refused(package, SAMPLE_TOP, words)


@pytest.mark.parametrize("value, words", [
    ("100000000000000000000000000000", "max_scale_level 100000000000000000000000000000 "
                                       "is more than 10000"),
    ("10001", "max_scale_level 10001 is more than 10000"),
    ("9" * 5000, "cannot be read"),
])
def test_max_scale_level_is_bounded(tmp_path, value, words):
    package = copy_package(tmp_path)
    edit(package, SAMPLE_DF, "              max_scale_level: 2",
         f"              max_scale_level: {value}")
    refused(package, SAMPLE_DF, words)


def test_instantiation_level_beyond_max_scale_level(tmp_path):
    package = copy_package(tmp_path)
    edit(package, SAMPLE_DF, "                  scale_level: 2",
         "                  scale_level: 3")
    refused(package, SAMPLE_DF, "instantiation_level_2.scale_info.VDU1_scale.scale_level 3 "
                                "exceeds max_scale_level 2")


@pytest.mark.parametrize("rel, old", [
    (SAMPLE_TOP, "    VNF:\n      type: nfvkit.sample.VNF\n      properties:\n"),
    (SAMPLE_DF, "    VNF:\n      type: nfvkit.sample.VNF\n      properties:\n"),
])
def test_vnf_node_with_null_properties(tmp_path, rel, old):
    package = copy_package(tmp_path)
    path = package / rel
    text = path.read_text()
    start = text.index(old) + len(old)
    # drop the indented block under properties:, keep "properties:" with no value
    lines = text[start:].splitlines(keepends=True)
    rest = "".join(line for i, line in enumerate(lines)
                   if not (line.startswith("        ") and all(
                       prev.startswith("        ") for prev in lines[:i])))
    path.write_text(text[:start] + rest)
    refused(package, rel, "node VNF: properties is empty (null)")


# -- directory packages: links, special files, size -------------------------

@pytest.mark.parametrize("kind", ["dangling", "loop", "inside", "outside"])
def test_symbolic_links_in_a_package_directory_are_refused(tmp_path, kind):
    package = copy_package(tmp_path)
    link = package / "Scripts" / "link.sh"
    if kind == "dangling":
        link.symlink_to(package / "Scripts" / "gone.sh")
    elif kind == "loop":
        link.symlink_to(package / "Scripts" / "link2.sh")
        (package / "Scripts" / "link2.sh").symlink_to(link)
    elif kind == "inside":
        link.symlink_to("lifecycle.sh")
    else:
        link.symlink_to("/etc/passwd")
    refused(package, "Scripts/link.sh", "is a symbolic link", "replace the link")


def test_a_linked_directory_is_refused(tmp_path):
    package = copy_package(tmp_path)
    (package / "Scripts" / "more").symlink_to(package / "Definitions")
    refused(package, "Scripts/more", "is a symbolic link")


def test_a_fifo_in_a_package_directory_is_refused_without_blocking(tmp_path):
    package = copy_package(tmp_path)
    os.mkfifo(package / "Definitions" / "pipe.yaml")
    refused(package, "Definitions/pipe.yaml", "is not a regular file")


def test_package_directory_file_count_and_size_are_bounded(tmp_path):
    package = copy_package(tmp_path)
    with pytest.raises(PackageError, match="more than 5 files"):
        DirSource(package, max_files=5)
    with pytest.raises(PackageError, match="more than 1000 bytes"):
        DirSource(package, max_bytes=1000)


# -- archives: declared size and member count ----------------------------------

def test_zip_bomb_is_refused_by_its_declared_size(tmp_path, monkeypatch):
    archive = zip_package(SAMPLE, tmp_path / "bomb.zip")
    with zipfile.ZipFile(archive, "a", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("Files/zeros.bin", b"\0" * (4 * 1024 * 1024))
    assert archive.stat().st_size < 200_000
    monkeypatch.setattr(csar, "MAX_PACKAGE_BYTES", 1024 * 1024)
    refused(archive, "bomb.zip", "unpacks to", "more than 1048576 bytes")
    with pytest.raises(PackageError, match="more than 1048576 bytes"):
        ZipSource(archive)


def test_zip_member_count_is_bounded(tmp_path, monkeypatch):
    archive = zip_package(SAMPLE, tmp_path / "many.zip")
    monkeypatch.setattr(csar, "MAX_MEMBERS", 5)
    refused(archive, "many.zip", "members, more than 5")


def test_extraction_stops_at_the_bound_even_if_sizes_lie(tmp_path):
    archive = zip_package(SAMPLE, tmp_path / "sample.zip")
    with pytest.raises(PackageError, match="more than 2000 bytes"):
        extract_package(archive, tmp_path / "out", max_bytes=2000)
    assert not (tmp_path / "out").exists()


def test_messages_bound_what_the_package_names(tmp_path):
    package = copy_package(tmp_path)
    edit(package, SAMPLE_DF, "      type: tosca.nodes.nfv.VduCp\n      properties:\n"
         "        layer_protocols: [ ipv4 ]\n        order: 1",
         "      type: \"" + "T\\e" * 50_000 + "\"\n      properties:\n"
         "        layer_protocols: [ ipv4 ]\n        order: 1")
    error = refused(package, SAMPLE_DF, "node VDU2_CP2: type T\\x1bT\\x1b", "...; define")
    assert len(str(error)) < 400
