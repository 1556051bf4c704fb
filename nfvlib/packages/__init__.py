"""VNF packages of local mode: a SOL001 CSAR read into frozen dataclasses.

A package is laid out as Tacker's (directory or ``.zip``)::

    TOSCA-Metadata/TOSCA.meta        Entry-Definitions: Definitions/<top>.yaml
    Definitions/*.yaml               the VNFD, importing the ETSI SOL001 type files
    BaseHOT/<flavourId>/<top>.yaml   the flavour's Heat template ...
    BaseHOT/<flavourId>/nested/      ... and the templates it uses as resource types
    Scripts/                         lifecycle scripts (optional)

>>> from nfvlib.packages import desired_capacity, load_package
>>> package = load_package("sample_vnf.zip")
>>> flavour = package.flavours["simple"]
>>> desired_capacity(flavour, "VDU1", "instantiation_level_1", {"VDU1_scale": 1})
2

Every defect raises :class:`PackageError` (an
:class:`~nfvlib.exceptions.InvalidInput`) whose one-line message starts with
the package-relative file at fault and names the field.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nfvlib.exceptions import PackageError
from nfvlib.packages.csar import (Source, extract_package, find_entry_definitions, load_yaml,
                                  open_source)
from nfvlib.packages.vnfd import (Cp, Flavour, InstantiationLevel, LifecycleScript,
                                  ScalingAspect, Vdu, VirtualLink, desired_capacity,
                                  parse_vnfd)

if TYPE_CHECKING:
    from nfvlib.packages.parsed import ParsedYamlCache

__all__ = [
    "BaseHot", "Cp", "Flavour", "InstantiationLevel", "LifecycleScript", "PackageError",
    "ScalingAspect", "Vdu", "VirtualLink", "VnfPackage", "checksum", "content_zip",
    "desired_capacity", "extract_package", "load_package", "nfv_parameter_paths", "read_artifact",
    "vnfd_content",
]

_HOT_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class BaseHot:
    """A flavour's Heat templates, as text, ready for a stack create."""

    #: Package-relative path of the top template, e.g. ``BaseHOT/simple/top.yaml``.
    top_file: str
    top_template_text: str
    #: File name (as resource types name it) -> template text, from ``nested/``.
    nested: dict[str, str]


@dataclass(frozen=True)
class VnfPackage:
    """A VNF package: the VNFD's identity and flavours, Heat templates, scripts."""

    #: The directory or zip archive the package was read from.
    path: Path
    vnfd_id: str
    vnf_provider: str
    vnf_product_name: str
    vnf_software_version: str
    vnfd_version: str
    flavours: dict[str, Flavour]
    #: Flavour id -> its Heat templates.
    base_hot: dict[str, BaseHot]
    #: Name under ``Scripts/`` -> package-relative path (``path / value`` for a
    #: directory; unpack an archive with :func:`extract_package` to run one).
    scripts: dict[str, Path]
    #: Package-relative path of the entry VNFD.
    entry_definitions: str = ""

    @property
    def is_archive(self) -> bool:
        """Whether the package was read from a zip archive."""
        return not self.path.is_dir()


def load_package(path: str | Path, *, yaml_cache: ParsedYamlCache | None = None
                 ) -> VnfPackage:
    """Read and check the VNF package at ``path`` (a directory or a ``.zip`` CSAR).

    ``yaml_cache`` keeps parsed documents for the next read (an onboarded
    package is read again by every request). Raises :class:`PackageError`
    naming the file and field of the first defect.
    """
    source = open_source(path)
    source.yaml_cache = yaml_cache
    entry = find_entry_definitions(source)
    vnfd = parse_vnfd(source, entry)
    base_hot = {fid: _read_base_hot(source, flavour) for fid, flavour in vnfd.flavours.items()}
    scripts = {posixpath.relpath(rel, "Scripts"): Path(rel)
               for rel in source.walk_files("Scripts")}
    return VnfPackage(path=source.path, vnfd_id=vnfd.vnfd_id, vnf_provider=vnfd.vnf_provider,
                      vnf_product_name=vnfd.vnf_product_name,
                      vnf_software_version=vnfd.vnf_software_version,
                      vnfd_version=vnfd.vnfd_version, flavours=vnfd.flavours,
                      base_hot=base_hot, scripts=scripts, entry_definitions=entry)


def _walk(value: object) -> Iterator[tuple[str, object]]:
    """Every (key, value) pair of the mappings nested in ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def _nfv_paths(template: dict[str, Any]) -> set[tuple[str | int, ...]]:
    paths = set()
    for key, value in _walk(template):
        if key == "get_param" and isinstance(value, list) and len(value) >= 4 \
                and value[0] == "nfv":
            if all(isinstance(item, (str, int)) for item in value[1:]):
                paths.add(tuple(value[1:]))
    return paths


def nfv_parameter_paths(base_hot: BaseHot) -> set[tuple[str | int, ...]]:
    """Every ``get_param: [nfv, ...]`` of the top and nested templates, without ``nfv``.

    E.g. ``("VDU", "VDU1", "desired_capacity")``: the keys of the ``nfv`` stack
    parameter the templates read.
    """
    folder = posixpath.dirname(base_hot.top_file)
    paths = _nfv_paths(load_yaml(base_hot.top_template_text, base_hot.top_file))
    for name, text in base_hot.nested.items():
        paths |= _nfv_paths(load_yaml(text, f"{folder}/nested/{name}"))
    return paths


def _check_template(template: dict[str, Any], file: str, nested: set[str], folder: str) -> None:
    if "heat_template_version" not in template:
        raise PackageError(file, "heat_template_version missing")
    parameters = template.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise PackageError(file, "parameters must be a mapping")
    if _nfv_paths(template) and "nfv" not in parameters:
        raise PackageError(file, "parameters.nfv missing but get_param [nfv, ...] is used",
                           hint="declare 'nfv: {type: json}' under parameters")
    resources = template.get("resources") or {}
    if not isinstance(resources, dict):
        raise PackageError(file, "resources must be a mapping")
    for name, resource in resources.items():
        if not isinstance(resource, dict) or not isinstance(resource.get("type"), str):
            raise PackageError(file, f"resources.{name}.type missing")
        for key, value in _walk(resource):
            if key == "type" and isinstance(value, str) and value.endswith(_HOT_SUFFIXES) \
                    and value not in nested:
                raise PackageError(file, f"resources.{name}: type {value} is not a file "
                                   f"in {folder}/nested/")


def _read_base_hot(source: Source, flavour: Flavour) -> BaseHot:
    folder = f"BaseHOT/{flavour.flavour_id}"
    if not source.is_dir(folder):
        raise PackageError(folder, f"directory missing; flavour {flavour.flavour_id} of "
                           f"{flavour.definitions_file} needs its Heat template there")
    files, _ = source.listdir(folder)
    tops = [f for f in files if f.endswith(_HOT_SUFFIXES)]
    if len(tops) != 1:
        detail = (f"has {len(tops)} top-level templates ({', '.join(tops)})" if tops
                  else "has no top-level Heat template (*.yaml)")
        raise PackageError(folder, detail,
                           hint="keep one template there and the others in nested/")
    nested_files, _ = source.listdir(f"{folder}/nested")
    nested = {name: source.read_text(f"{folder}/nested/{name}")
              for name in nested_files if name.endswith(_HOT_SUFFIXES)}
    top_file = f"{folder}/{tops[0]}"
    top_text = source.read_text(top_file)
    for file, text in [(top_file, top_text),
                       *((f"{folder}/nested/{n}", t) for n, t in nested.items())]:
        _check_template(source.parse_yaml(text, file), file, set(nested), folder)
    return BaseHot(top_file=top_file, top_template_text=top_text, nested=nested)


# -- content of an onboarded package (downloads) ----------------------------------

def _files(folder: Path, under: str = "") -> list[Path]:
    root = folder / under if under else folder
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def _zip(folder: Path, files: list[Path]) -> bytes:
    """The files as a zip, the same bytes for the same content (no times or
    modes of the files go in: a package's checksum names its content)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in files:
            info = zipfile.ZipInfo(file.relative_to(folder).as_posix(),
                                   date_time=(1980, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, file.read_bytes())
    return buffer.getvalue()


def checksum(content: bytes | Path) -> dict[str, str]:
    """SOL005 ``Checksum`` of an archive (its bytes, or a file read in
    chunks), as Tacker gives it: SHA-512."""
    import hashlib

    if isinstance(content, Path):
        with open(content, "rb") as archive:
            digest = hashlib.file_digest(archive, "sha512")
    else:
        digest = hashlib.sha512(content)
    return {"algorithm": "SHA-512", "hash": digest.hexdigest()}


def content_zip(folder: str | Path) -> bytes:
    """The files of an extracted package directory as a CSAR (zip) archive."""
    folder = Path(folder)
    return _zip(folder, _files(folder))


#: ``--type`` values of ``vnf package download --vnfd``, as Tacker's Accept header.
VNFD_TYPES = ("text/plain", "application/zip", "both")


def vnfd_content(folder: str | Path, accept: str = "application/zip") -> bytes | str:
    """The VNFD of an extracted package, as Tacker's ``GET .../vnfd`` answers.

    ``text/plain``: the text of the VNFD when ``Definitions/`` holds one YAML
    file (else :class:`~nfvlib.exceptions.InvalidInput`, Tacker's 406);
    ``application/zip``: ``TOSCA-Metadata/`` and ``Definitions/`` zipped;
    ``both``: the text when there is one file, else the zip.
    """
    from nfvlib.exceptions import InvalidInput

    if accept not in VNFD_TYPES:
        raise InvalidInput(f"VNFD type {accept!r} is not one of {', '.join(VNFD_TYPES)}")
    folder = Path(folder)
    definitions = [f for f in _files(folder, "Definitions")
                   if f.suffix in _HOT_SUFFIXES]
    if accept != "application/zip" and len(definitions) == 1:
        return definitions[0].read_text(encoding="utf-8")
    if accept == "text/plain":
        raise InvalidInput(f"the VNFD is {len(definitions)} YAML files, not one: it "
                           "cannot be given as text/plain",
                           hint="ask for application/zip (or both)")
    return _zip(folder, _files(folder, "TOSCA-Metadata") + _files(folder, "Definitions"))


def read_artifact(folder: str | Path, artifact_path: str) -> bytes:
    """One file of an extracted package, named by its package-relative path.

    A path leaving the package (``..``, absolute) is refused; a missing file
    is a :class:`~nfvlib.exceptions.NotFound`.
    """
    from nfvlib.exceptions import InvalidInput, NotFound

    folder = Path(folder)
    normal = posixpath.normpath(artifact_path.replace("\\", "/"))
    if (not artifact_path or normal.startswith(("/", "../")) or normal in ("..", ".")):
        raise InvalidInput(f"artifact path {artifact_path!r} is not inside the package",
                           hint="give the path as the package lists it, e.g. "
                                "Scripts/install.sh")
    file = folder / normal
    if not file.is_file() or file.is_symlink():
        raise NotFound(f"the VNF package has no artifact {normal}",
                       hint="see the package's files with 'vnf package download'")
    return file.read_bytes()
