"""Broken VNF packages (directories and zips) against ``nfv vnf package upload``.

Every generated package is broken, so none may onboard: exit 2 or another
documented error in one line, the store and the packages directory unchanged
(no staging folder left behind), within 2 s.
"""

from __future__ import annotations

import itertools
import os
import shutil
import stat
import struct
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import nfvlib
from tests.fuzz.conftest import run_cli
from tests.fuzz.strategies import ALIAS_BOMB, NESTED, control_text, yaml_values

SAMPLE = Path(nfvlib.__file__).resolve().parent / "samples" / "sample_vnf"
DF = "Definitions/sample_vnf_df_simple.yaml"
TOP = "Definitions/sample_vnf_top.vnfd.yaml"
META = "TOSCA-Metadata/TOSCA.meta"
REQUIRED = (DF, TOP, "Definitions/sample_vnf_types.yaml",
            "Definitions/etsi_nfv_sol001_common_types.yaml",
            "Definitions/etsi_nfv_sol001_vnfd_types.yaml",
            "BaseHOT/simple/sample_vnf.yaml", "BaseHOT/simple/nested/VDU1.yaml")
#: (file, text to replace) of VNFD values whose replacement by a bad one must fail
FIELDS = {
    "descriptor_id": (TOP, "descriptor_id: a0370897-134e-47e4-bf6f-6946b01b0cd1"),
    "flavour_description": (DF, "        flavour_description: One scalable VDU and one "
                                "single VDU on two internal networks"),
    "max_scale_level": (DF, "              max_scale_level: 2"),
    "scale_level": (DF, "                  scale_level: 2"),
    "tosca_definitions_version": (TOP, "tosca_definitions_version: tosca_simple_yaml_1_2"),
}
BAD_VALUES = {
    "descriptor_id": st.one_of(st.sampled_from(["../../x", "x" * 100_000, "a b", "'-rf'",
                                                "/etc/passwd", "[1, 2]", "{a: 1}", "~"]),
                               control_text.map(lambda t: '"' + t.encode(
                                   "unicode_escape").decode() + '"')),
    "flavour_description": st.sampled_from(["[1, 2]", "{a: 1}", ALIAS_BOMB, "&a [*a]",
                                            NESTED]),
    "max_scale_level": st.one_of(st.integers(10_001, 10**40).map(str),
                                 st.integers(-10**6, -1).map(str),
                                 st.sampled_from(["9" * 5000, "x", "[1]", ".nan", "1.5",
                                                  "~", "{a: 1}", ALIAS_BOMB])),
    "scale_level": st.one_of(st.integers(3, 10**30).map(str),
                             st.sampled_from(["-1", "x", "[2]", ".inf", "~"])),
    "tosca_definitions_version": st.sampled_from(["tosca_simple_yaml_9_9", "[1, 2]",
                                                  "'1.2'", "~", "5"]),
}
_dirs = itertools.count()


def fresh_copy(world) -> Path:
    target = world.work / f"pkg-{next(_dirs)}"
    shutil.copytree(SAMPLE, target)
    return target


def edit(package: Path, rel: str, old: str, new: str) -> None:
    path = package / rel
    text = path.read_text()
    assert text.count(old) == 1, (rel, old)
    path.write_bytes(text.replace(old, new).encode("utf-8", "surrogatepass"))


def zip_dir(directory: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(directory.rglob("*")):
            if path.is_file() and not path.is_symlink():
                zf.write(path, path.relative_to(directory).as_posix())
    return archive


def null_properties(package: Path, rel: str) -> None:
    old = "    VNF:\n      type: nfvkit.sample.VNF\n      properties:\n"
    text = (package / rel).read_text()
    start = text.index(old) + len(old)
    lines = text[start:].splitlines(keepends=True)
    rest = "".join(line for i, line in enumerate(lines)
                   if not (line.startswith("        ") and all(
                       prev.startswith("        ") for prev in lines[:i])))
    (package / rel).write_text(text[:start] + rest)


@st.composite
def broken_directories(draw, world):
    """(package path, description): a package directory that must be refused."""
    package = fresh_copy(world)
    kind = draw(st.sampled_from(["field", "missing", "dangling link", "link loop",
                                 "link out", "raw file", "meta", "null properties",
                                 "fifo", "binary"]))
    label = kind
    if kind == "field":
        name = draw(st.sampled_from(sorted(FIELDS)))
        rel, old = FIELDS[name]
        value = draw(BAD_VALUES[name])
        edit(package, rel, old, old.split(":")[0] + ": " + value)
        label = f"{name}: {value[:80]!r}"
    elif kind == "missing":
        rel = draw(st.sampled_from(REQUIRED))
        (package / rel).unlink()
        label = f"missing {rel}"
    elif kind in ("dangling link", "link loop", "link out"):
        folder = package / draw(st.sampled_from(["Scripts", "Definitions", "BaseHOT",
                                                 "."]))
        if kind == "dangling link":
            (folder / "gone.yaml").symlink_to(folder / "nothing")
        elif kind == "link loop":
            (folder / "a").symlink_to(folder / "b")
            (folder / "b").symlink_to(folder / "a")
        else:
            (folder / "passwd.yaml").symlink_to("/etc/passwd")
        label = f"{kind} in {folder.name}"
    elif kind == "raw file":
        rel = draw(st.sampled_from(REQUIRED))
        raw = draw(st.one_of(yaml_values, st.just(NESTED), st.just("- 1\n- 2\n"),
                             st.just("")))
        (package / rel).write_text(raw if raw.strip() != "{}" else "[]")
        label = f"{rel} = {raw[:60]!r}"
    elif kind == "meta":
        variant = draw(st.sampled_from(["twice", "escape", "absent", "garbage", "nul"]))
        meta = package / META
        text = meta.read_text()
        meta.write_text({
            "twice": text + "Entry-Definitions: Definitions/other.yaml\n",
            "escape": text.replace("Definitions/sample_vnf_top.vnfd.yaml",
                                   "../../../etc/passwd"),
            "absent": text.replace("Definitions/sample_vnf_top.vnfd.yaml",
                                   "Definitions/none.yaml"),
            "garbage": "\x00\x01garbage: [\n",
            "nul": text.replace("Entry-Definitions: ", "Entry-Definitions: \x00"),
        }[variant])
        label = f"TOSCA.meta {variant}"
    elif kind == "null properties":
        rel = draw(st.sampled_from([TOP, DF]))
        null_properties(package, rel)
        label = f"null properties in {rel}"
    elif kind == "fifo":
        os.mkfifo(package / "Scripts" / "pipe")
    else:
        rel = draw(st.sampled_from(REQUIRED))
        (package / rel).write_bytes(draw(st.binary(min_size=1, max_size=400)).replace(
            b"a", b"\xff"))
        label = f"binary {rel}"
    return package, label


@st.composite
def broken_zips(draw, world):
    """(zip path, description): a zipped package that must be refused."""
    kind = draw(st.sampled_from(["broken inside", "truncated", "slip", "absolute",
                                 "link member", "declared huge", "not a zip"]))
    if kind == "broken inside":
        package, label = draw(broken_directories(world))
        if "link" in label or label == "fifo":  # zips hold no links or pipes as files
            package, label = fresh_copy(world), "missing " + DF
            (package / DF).unlink()
    else:
        package, label = fresh_copy(world), kind
    archive = zip_dir(package, package.with_suffix(".zip"))
    shutil.rmtree(package)
    if kind == "truncated":
        data = archive.read_bytes()
        cut = draw(st.integers(0, len(data) - 1))
        archive.write_bytes(data[:cut])
        label = f"truncated at {cut} of {len(data)}"
    elif kind in ("slip", "absolute", "link member"):
        name = {"slip": draw(st.sampled_from(["../evil.yaml", "Definitions/../../evil",
                                              "..\\evil", "a/../../../tmp/x"])),
                "absolute": draw(st.sampled_from(["/tmp/evil", "//evil", "C:/evil"])),
                "link member": "Scripts/link"}[kind]
        with zipfile.ZipFile(archive, "a") as zf:
            info = zipfile.ZipInfo(name)
            if kind == "link member":
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                info.create_system = 3
                zf.writestr(info, "/etc/passwd")
            else:
                zf.writestr(info, "x")
        label = f"{kind} member {name!r}"
    elif kind == "declared huge":
        declare_size(archive, draw(st.integers(2**30 + 1, 2**32 - 1)))
        label = "a member declared larger than 1 GiB"
    elif kind == "not a zip":
        archive.write_bytes(b"PK\x03\x04" + draw(st.binary(max_size=200)))
    return archive, f"zip {label}"


def declare_size(archive: Path, size: int) -> None:
    """Make the central directory claim ``size`` bytes for the first member."""
    data = bytearray(archive.read_bytes())
    at = data.find(b"PK\x01\x02")
    data[at + 24:at + 28] = struct.pack("<I", size)
    archive.write_bytes(bytes(data))


def upload(world, path, label):
    outcome = run_cli(["vnf", "package", "upload", world.created_package.id, "--path",
                       str(path)])
    world.check_refused(outcome, f"upload {label}")
    assert not (world.data_dir / "packages" / f".{world.created_package.id}.tmp").exists()


def cleanup(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)


@settings(max_examples=settings.default.max_examples)
@given(data=st.data())
def test_broken_package_directory_is_refused(world, data):
    package, label = data.draw(broken_directories(world))
    try:
        upload(world, package, label)
    finally:
        cleanup(package)


@settings(max_examples=max(10, settings.default.max_examples // 2))
@given(data=st.data())
def test_broken_package_zip_is_refused(world, data):
    archive, label = data.draw(broken_zips(world))
    try:
        upload(world, archive, label)
    finally:
        cleanup(archive)


# -- the issue's cases, each once -----------------------------------------------

def _field(name, value):
    def make(package):
        rel, old = FIELDS[name]
        edit(package, rel, old, old.split(":")[0] + ": " + value)
    return make


def _dangling(package):
    (package / "Scripts" / "gone.sh").symlink_to(package / "Scripts" / "nothing")


def _loop(package):
    (package / "Scripts" / "a").symlink_to(package / "Scripts" / "b")
    (package / "Scripts" / "b").symlink_to(package / "Scripts" / "a")


def _twice(package):
    meta = package / META
    meta.write_text(meta.read_text() + "Entry-Definitions: Definitions/other.yaml\n")


def _nested(package):
    (package / DF).write_text((package / DF).read_text() + f"\nx: {NESTED}\n")


ISSUE_CASES = {
    "alias bomb in flavour_description": _field("flavour_description", ALIAS_BOMB),
    "3000 nested brackets": _nested,
    "duplicate Entry-Definitions": _twice,
    "unknown tosca_definitions_version": _field("tosca_definitions_version",
                                                "tosca_simple_yaml_9_9"),
    "descriptor_id ../../x": _field("descriptor_id", "../../x"),
    "descriptor_id of 100k characters": _field("descriptor_id", "x" * 100_000),
    "huge max_scale_level": _field("max_scale_level", "1" + "0" * 30),
    "instantiation level above max_scale_level": _field("scale_level", "3"),
    "null properties (top)": lambda p: null_properties(p, TOP),
    "null properties (df)": lambda p: null_properties(p, DF),
    "dangling symlink": _dangling,
    "symlink loop": _loop,
}


@pytest.mark.parametrize("form, name", [
    (form, name) for name in sorted(ISSUE_CASES) for form in ("directory", "zip")
    if form == "directory" or "symlink" not in name])  # zip links: broken_zips
def test_issue_package_cases(world, name, form):
    package = fresh_copy(world)
    ISSUE_CASES[name](package)
    path = package
    if form == "zip":
        path = zip_dir(package, package.with_suffix(".zip"))
        shutil.rmtree(package)
    try:
        upload(world, path, f"{form} {name}")
    finally:
        cleanup(path)


def test_zip_bomb_is_refused(world, zip_bomb):
    """Found by this suite: 900 MiB from 1 MiB was unpacked (about 5 s) and onboarded."""
    outcome = run_cli(["vnf", "package", "upload", world.created_package.id, "--path",
                       str(zip_bomb)])
    world.check_refused(outcome, "upload zip bomb of 900 MiB")
    assert "refused as a zip bomb" in outcome.err, outcome.err


def test_failed_upload_leaves_nothing_and_delete_still_works(world):
    """A refused upload leaves no staging folder; the package then deletes."""
    created = run_cli(["vnf", "package", "create", "-f", "value", "-c", "ID"])
    assert created.code == 0, created.err
    package_id = created.out.strip()
    world.snapshot()
    package = fresh_copy(world)
    _dangling(package)
    outcome = run_cli(["vnf", "package", "upload", package_id, "--path", str(package)])
    world.check_refused(outcome, "upload dangling symlink")
    cleanup(package)
    packages = world.data_dir / "packages"
    assert not [p for p in packages.iterdir() if package_id in p.name]
    deleted = run_cli(["vnf", "package", "delete", package_id])
    assert deleted.code == 0, deleted.err
    shown = run_cli(["vnf", "package", "show", package_id])
    assert shown.code == 3, shown.err
    world.snapshot()


def test_nul_in_entry_definitions_is_one_line(world):
    """Found by this suite: a NUL in a path of TOSCA.meta was a ValueError, exit 1."""
    package = fresh_copy(world)
    meta = package / META
    meta.write_text(meta.read_text().replace("Entry-Definitions: ",
                                             "Entry-Definitions: \x00"))
    try:
        upload(world, package, "NUL in Entry-Definitions")
    finally:
        cleanup(package)


def test_the_unbroken_sample_still_uploads(world):
    """The generators start from a package that onboards (under a new vnfdId)."""
    import uuid

    package = fresh_copy(world)
    rel, old = FIELDS["descriptor_id"]
    edit(package, rel, old, f"descriptor_id: {uuid.uuid4()}")
    target = run_cli(["vnf", "package", "create", "-f", "value", "-c", "ID"])
    assert target.code == 0, target.err
    outcome = run_cli(["vnf", "package", "upload", target.out.strip(), "--path",
                       str(package)])
    assert outcome.code == 0, outcome.err
    cleanup(package)
    world.snapshot()
