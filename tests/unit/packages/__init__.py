"""Tests of the VNF package reader, and the package copies they break."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import nfvlib

#: The real Tacker v2 sample package (basic_lcms_min) with its ETSI type files.
from tests.data import TACKER_SAMPLE as TACKER_SAMPLE  # noqa: E402
#: The sample package shipped with nfvlib.
SAMPLE = Path(nfvlib.__file__).resolve().parent / "samples" / "sample_vnf"
SAMPLE_DF = "Definitions/sample_vnf_df_simple.yaml"
SAMPLE_TOP = "Definitions/sample_vnf_top.vnfd.yaml"
TACKER_DF = "Definitions/v2_sample2_df_simple.yaml"
TACKER_TOP = "Definitions/v2_sample2_top.vnfd.yaml"


def copy_package(tmp_path: Path, source: Path = SAMPLE, name: str = "pkg") -> Path:
    """A writable copy of ``source`` under ``tmp_path``."""
    target = tmp_path / name
    shutil.copytree(source, target)
    return target


def edit(package: Path, rel: str, old: str, new: str) -> None:
    """Replace the one occurrence of ``old`` in the package file ``rel``."""
    path = package / rel
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times in {rel}"
    path.write_text(text.replace(old, new))


def zip_package(directory: Path, archive: Path, prefix: str = "") -> Path:
    """Zip the content of ``directory`` (members under ``prefix``), keeping modes."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(directory.rglob("*")):
            if path.is_file():
                zf.write(path, prefix + path.relative_to(directory).as_posix())
    return archive


def assert_one_line(error: Exception, file: str, *fragments: str) -> None:
    """The error is one line, starts with ``file:`` and says each fragment."""
    text = str(error)
    assert "\n" not in text, text
    assert text.startswith(f"{file}: "), text
    for fragment in fragments:
        assert fragment in text, text
