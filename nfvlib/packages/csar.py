"""Reading a VNF package (CSAR) from a directory or a zip archive.

This module knows the container: where files are, how to read them safely,
how ``TOSCA-Metadata/TOSCA.meta`` names the entry VNFD and which files the
entry imports (:class:`Definitions`); it parses YAML the way Heat does. Every
problem raises :class:`PackageError`, a one-line
:class:`~nfvlib.exceptions.InvalidInput` that starts with the package-relative
file it is about.

Archives are read in place, member by member, after every member name has
been checked: absolute names, ``..`` components, backslashes, symbolic links
and duplicates are refused, and no read goes past a size bound. A package
holds at most :data:`MAX_MEMBERS` files and :data:`MAX_PACKAGE_BYTES` bytes
(an archive by its declared sizes, and again while it is unpacked). A
package directory may hold only regular files and directories: a symbolic
link (dangling, looping or not) or a special file is refused, named. YAML is
parsed within bounds (size, nesting, aliases: :func:`nfvlib.inputs.load_yaml`).
"""

from __future__ import annotations

import abc
import os
import posixpath
import re
import shutil
import stat
import zipfile
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from nfvlib.exceptions import MAX_DETAIL, InvalidInput, PackageError, _one_line  # noqa: F401
from nfvlib.inputs import short

if TYPE_CHECKING:
    from nfvlib.packages.parsed import ParsedYamlCache

#: Largest YAML or TOSCA.meta file read from a package, in bytes.
MAX_TEXT_BYTES = 16 * 1024 * 1024
#: Most members an archive may hold.
MAX_MEMBERS = 10_000
#: Most bytes a package's files may hold together (a zip bomb stops here).
MAX_PACKAGE_BYTES = 1024 * 1024 * 1024
#: Default bound on the bytes :func:`extract_package` writes.
MAX_EXTRACT_BYTES = MAX_PACKAGE_BYTES
#: A zip that unpacks to more than BOMB_MIN_BYTES and more than BOMB_RATIO
#: times its compressed size is refused as a bomb (images, the large files of
#: a package, barely compress).
BOMB_MIN_BYTES = 64 * 1024 * 1024
BOMB_RATIO = 100
#: The TOSCA versions a VNFD file may declare.
TOSCA_VERSIONS = ("tosca_simple_yaml_1_0", "tosca_simple_yaml_1_1", "tosca_simple_yaml_1_2",
                  "tosca_simple_yaml_1_3", "tosca_simple_profile_for_nfv_1_0_0")

META_FILE = "TOSCA-Metadata/TOSCA.meta"
_DRIVE = re.compile(r"^[A-Za-z]:")


def _timestamp_as_text(loader: yaml.BaseLoader, node: yaml.Node) -> str:
    return loader.construct_scalar(node)  # type: ignore[arg-type]


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML loader that keeps timestamps (``heat_template_version``) as text."""

    yaml_constructors = {**yaml.SafeLoader.yaml_constructors,
                         "tag:yaml.org,2002:timestamp": _timestamp_as_text}


def load_yaml(text: str, file: str) -> dict[str, Any]:
    """Parse ``text`` (the content of ``file``) into a mapping.

    Dates stay strings, as Heat reads them. Raises :class:`PackageError` with
    the line and column of a syntax error, for nesting deeper than
    :data:`nfvlib.inputs.MAX_DEPTH` or aliases that expand beyond
    :data:`nfvlib.inputs.MAX_NODES` values, or when the document is not a mapping.
    """
    from nfvlib import inputs

    try:
        doc = inputs.load_yaml(text, "YAML", loader=_Loader)
    except InvalidInput as exc:
        cause = exc.__cause__
        if isinstance(cause, yaml.MarkedYAMLError) and cause.problem_mark is not None:
            mark = cause.problem_mark
            problem = cause.problem or cause.context or "syntax error"
            if cause.problem and cause.context and cause.context_mark:
                problem += f" ({cause.context} at line {cause.context_mark.line + 1})"
            raise PackageError(file, f"invalid YAML at line {mark.line + 1}, column "
                               f"{mark.column + 1}: {problem}") from exc
        raise PackageError(file, exc.message, hint=exc.hint) from exc
    if not isinstance(doc, dict):
        raise PackageError(file, "is not a YAML mapping")
    return doc


def normalize(rel: str, *, file: str, field: str) -> str:
    """Normalise a package-relative POSIX path, refusing one that leaves the package."""
    if not isinstance(rel, str) or not rel.strip():
        raise PackageError(file, f"{field} must be a non-empty path")
    if rel.startswith("/") or "\\" in rel or _DRIVE.match(rel):
        raise PackageError(file, f"{field} {rel!r} must be a relative path with '/'")
    if any(c < " " or c == "\x7f" for c in rel):  # a NUL fails deep in os.path
        raise PackageError(file, f"{field} {rel!r} holds control characters")
    norm = posixpath.normpath(rel)
    if norm == ".." or norm.startswith("../"):
        raise PackageError(file, f"{field} {rel!r} points outside the package")
    return norm


class Source(abc.ABC):
    """Read-only view of a package's files, by package-relative POSIX path."""

    #: Directory or archive the package is read from.
    path: Path
    #: Where documents parsed before are found (None: every read parses).
    yaml_cache: ParsedYamlCache | None = None

    @abc.abstractmethod
    def is_file(self, rel: str) -> bool:
        """Whether ``rel`` is a regular file of the package."""

    @abc.abstractmethod
    def listdir(self, rel: str) -> tuple[list[str], list[str]]:
        """Sorted file names and directory names directly under ``rel``."""

    @abc.abstractmethod
    def read_bytes(self, rel: str, limit: int = MAX_TEXT_BYTES) -> bytes:
        """The content of file ``rel``, refusing more than ``limit`` bytes."""

    def is_dir(self, rel: str) -> bool:
        """Whether ``rel`` is a directory of the package."""
        files, dirs = self.listdir(posixpath.dirname(rel))
        return posixpath.basename(rel) in dirs

    def read_text(self, rel: str) -> str:
        """The UTF-8 text of file ``rel``."""
        data = self.read_bytes(rel)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise PackageError(rel, f"is not UTF-8 text (byte {exc.start})") from exc

    def read_yaml(self, rel: str) -> dict[str, Any]:
        """File ``rel`` parsed as a YAML mapping."""
        return self.parse_yaml(self.read_text(rel), rel)

    def parse_yaml(self, text: str, file: str) -> dict[str, Any]:
        """``text``, the content of ``file``, parsed as :func:`load_yaml` does
        (through :attr:`yaml_cache` when there is one)."""
        if self.yaml_cache is None:
            return load_yaml(text, file)
        return self.yaml_cache.load(text, file)

    def walk_files(self, rel: str) -> list[str]:
        """Every file under directory ``rel``, as package-relative paths, sorted."""
        found: list[str] = []
        files, dirs = self.listdir(rel)
        found.extend(posixpath.join(rel, f) for f in files)
        for d in dirs:
            found.extend(self.walk_files(posixpath.join(rel, d)))
        return sorted(found)


class DirSource(Source):
    """A package unpacked in a directory of regular files and directories only.

    The whole tree is walked once when the source is opened (without
    following links): a symbolic link or a special file (FIFO, device,
    socket) is refused, naming it, as are more than :data:`MAX_MEMBERS`
    files or :data:`MAX_PACKAGE_BYTES` bytes.
    """

    def __init__(self, path: Path, *, max_files: int = MAX_MEMBERS,
                 max_bytes: int = MAX_PACKAGE_BYTES) -> None:
        self.path = Path(path).resolve()
        self._check_tree(max_files, max_bytes)

    def _check_tree(self, max_files: int, max_bytes: int) -> None:
        files = total = 0
        pending = [""]
        while pending:
            rel = pending.pop()
            try:
                with os.scandir(self.path / rel) as entries:
                    children = sorted(entries, key=lambda e: e.name)
            except OSError as exc:
                raise PackageError(rel or ".", f"cannot be listed: "
                                   f"{exc.strerror or type(exc).__name__}") from exc
            for entry in children:
                child = posixpath.join(rel, entry.name) if rel else entry.name
                shown = child if child.isprintable() and len(child) <= 200 \
                    else short(child, 200)
                try:
                    info = entry.stat(follow_symlinks=False)
                except OSError as exc:
                    raise PackageError(shown, f"cannot be read: "
                                       f"{exc.strerror or type(exc).__name__}") from exc
                if stat.S_ISLNK(info.st_mode):
                    raise PackageError(shown, "is a symbolic link; a package directory "
                                       "may hold only files and directories",
                                       hint="replace the link with the file it points to")
                if stat.S_ISDIR(info.st_mode):
                    pending.append(child)
                    continue
                if not stat.S_ISREG(info.st_mode):
                    raise PackageError(shown, "is not a regular file (a FIFO, socket or "
                                       "device)", hint="remove it from the package")
                files += 1
                total += info.st_size
                if files > max_files:
                    raise PackageError(".", f"the package holds more than {max_files} "
                                       "files")
                if total > max_bytes:
                    raise PackageError(".", f"the package's files hold more than "
                                       f"{max_bytes} bytes")

    def _real(self, rel: str) -> Path | None:
        target = (self.path / rel).resolve()
        if target != self.path and self.path not in target.parents:
            return None
        return target

    def is_file(self, rel: str) -> bool:
        target = self._real(rel)
        return target is not None and target.is_file()

    def listdir(self, rel: str) -> tuple[list[str], list[str]]:
        target = self._real(rel)
        if target is None or not target.is_dir():
            return [], []
        files: list[str] = []
        dirs: list[str] = []
        for child in sorted(target.iterdir()):
            real = self._real(posixpath.join(rel, child.name))
            if real is None:
                continue
            (dirs if real.is_dir() else files).append(child.name)
        return files, dirs

    def read_bytes(self, rel: str, limit: int = MAX_TEXT_BYTES) -> bytes:
        target = self._real(rel)
        if target is None:
            raise PackageError(rel, "is a link to a file outside the package")
        try:
            if target.stat().st_size > limit:
                raise PackageError(rel, f"is larger than {limit} bytes")
            return target.read_bytes()
        except OSError as exc:
            raise PackageError(rel, f"cannot be read: {exc.strerror or exc}") from exc


def _member_name(info: zipfile.ZipInfo, archive: str) -> str:
    """The normalised name of a zip member, or PackageError if it is unsafe."""
    name = info.filename
    if "\x00" in name or "\\" in name:
        raise PackageError(archive, f"member {name!r} has a backslash or NUL in its name")
    if name.startswith("/") or _DRIVE.match(name):
        raise PackageError(archive, f"member {name!r} has an absolute path",
                           hint="rebuild the archive with paths relative to its root")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise PackageError(archive, f"member {name!r} points outside the archive ('..')",
                           hint="rebuild the archive with paths relative to its root")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise PackageError(archive, f"member {name!r} is a symbolic link")
    return "/".join(parts)


class ZipSource(Source):
    """A package in a zip archive, read in place after its names were checked."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).resolve()
        self._name = Path(path).name
        self._files: dict[str, zipfile.ZipInfo] = {}
        self._dirs: set[str] = {""}
        try:
            with zipfile.ZipFile(self.path) as zf:
                infos = zf.infolist()
        except (zipfile.BadZipFile, OSError) as exc:
            raise PackageError(self._name, f"is not a readable zip archive: {exc}") from exc
        if len(infos) > MAX_MEMBERS:
            raise PackageError(self._name, f"has {len(infos)} members, more than {MAX_MEMBERS}")
        declared = sum(info.file_size for info in infos)
        if declared > MAX_PACKAGE_BYTES:
            raise PackageError(self._name, f"unpacks to {declared} bytes, more than "
                               f"{MAX_PACKAGE_BYTES} bytes")
        # Under the size bound a bomb still takes seconds and disk to unpack:
        # a large package is refused when it expands far beyond its archive.
        packed = max(1, sum(info.compress_size for info in infos))
        if declared > BOMB_MIN_BYTES and declared > BOMB_RATIO * packed:
            raise PackageError(self._name, f"unpacks to {declared} bytes from {packed}, "
                               f"more than {BOMB_RATIO} times: refused as a zip bomb",
                               hint="store large files uncompressed or in a compressed "
                                    "format of their own (e.g. qcow2)")
        for info in infos:
            name = _member_name(info, self._name)
            if not name:
                continue
            parent = posixpath.dirname(name)
            while parent not in self._dirs:
                self._dirs.add(parent)
                parent = posixpath.dirname(parent)
            if info.is_dir():
                self._dirs.add(name)
            elif name in self._files:
                raise PackageError(self._name, f"member {name!r} appears twice")
            else:
                self._files[name] = info

    def infos(self) -> dict[str, zipfile.ZipInfo]:
        """The archive's file members by normalised name."""
        return dict(self._files)

    def is_file(self, rel: str) -> bool:
        return posixpath.normpath(rel) in self._files

    def listdir(self, rel: str) -> tuple[list[str], list[str]]:
        rel = "" if rel in ("", ".") else posixpath.normpath(rel)
        files = sorted(posixpath.basename(n) for n in self._files
                       if posixpath.dirname(n) == rel)
        dirs = sorted(posixpath.basename(d) for d in self._dirs
                      if d and posixpath.dirname(d) == rel)
        return files, dirs

    def read_bytes(self, rel: str, limit: int = MAX_TEXT_BYTES) -> bytes:
        info = self._files.get(posixpath.normpath(rel))
        if info is None:
            raise PackageError(rel, f"is not in {self._name}")
        if info.file_size > limit:
            raise PackageError(rel, f"is larger than {limit} bytes")
        try:
            with zipfile.ZipFile(self.path) as zf, zf.open(info) as member:
                data = member.read(limit + 1)
        except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError,
                NotImplementedError) as exc:
            raise PackageError(rel, f"cannot be read from {self._name}: {exc}") from exc
        if len(data) > limit:
            raise PackageError(rel, f"is larger than {limit} bytes")
        return data


def open_source(path: str | Path) -> Source:
    """A :class:`Source` for a package directory or a ``.zip`` CSAR file."""
    path = Path(path)
    shown = str(path) if len(str(path)) <= 200 and str(path).isprintable() \
        else short(str(path), 200)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as exc:
        raise InvalidInput(f"VNF package {shown} does not exist",
                           hint="give a package directory or a .zip CSAR file") from exc
    except (OSError, ValueError) as exc:  # e.g. a name too long, a NUL in the name
        reason = getattr(exc, "strerror", None) or str(exc)
        raise InvalidInput(f"VNF package {shown} cannot be read: {reason}",
                           hint="give a package directory or a .zip CSAR file") from exc
    if stat.S_ISDIR(mode):
        return DirSource(path)
    if stat.S_ISREG(mode):
        return ZipSource(path)
    raise InvalidInput(f"VNF package {shown} is neither a directory nor a regular file",
                       hint="give a package directory or a .zip CSAR file")


def extract_package(archive: str | Path, dest: str | Path, *,
                    max_bytes: int = MAX_EXTRACT_BYTES) -> Path:
    """Safely unpack the zip CSAR ``archive`` into the new directory ``dest``.

    Member names are checked as by :func:`open_source`; at most ``max_bytes``
    are written in total. ``dest`` must not exist yet; it is removed again if
    extraction fails. Returns ``dest``.
    """
    source = ZipSource(Path(archive))
    dest = Path(dest)
    infos = source.infos()
    declared = sum(info.file_size for info in infos.values())
    if declared > max_bytes:
        raise PackageError(Path(archive).name,
                           f"unpacks to {declared} bytes, more than {max_bytes} bytes")
    dest.mkdir(parents=True, exist_ok=False)
    try:
        _copy_members(source, infos, dest, max_bytes, Path(archive).name)
    except (zipfile.BadZipFile, zlib.error, OSError, RuntimeError) as exc:
        shutil.rmtree(dest, ignore_errors=True)
        raise PackageError(Path(archive).name, f"cannot be unpacked: {exc}") from exc
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return dest


def _copy_members(source: ZipSource, infos: dict[str, zipfile.ZipInfo], dest: Path,
                  max_bytes: int, archive: str) -> None:
    written = 0
    with zipfile.ZipFile(source.path) as zf:
        for name, info in sorted(infos.items()):
            target = dest.joinpath(*name.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                while chunk := src.read(1024 * 1024):
                    written += len(chunk)
                    if written > max_bytes:
                        raise PackageError(archive, f"unpacks to more than {max_bytes} bytes")
                    out.write(chunk)
            executable = (info.external_attr >> 16) & 0o111
            target.chmod(0o755 if executable else 0o644)


def _parse_meta(text: str) -> dict[str, str]:
    keys: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition(":")
        if not sep or not key.strip() or key != key.strip():
            raise PackageError(META_FILE, f"line {number} is not 'Name: value'")
        if key in keys:
            raise PackageError(META_FILE, f"line {number}: {short(key)} is given twice",
                               hint="keep one of them")
        keys[key] = value.strip().strip("'\"")
    return keys


def find_entry_definitions(source: Source) -> str:
    """The package-relative path of the entry VNFD.

    From ``Entry-Definitions`` in ``TOSCA-Metadata/TOSCA.meta``; a CSAR
    without that directory has exactly one YAML file in its root instead.
    """
    if source.is_file(META_FILE):
        keys = _parse_meta(source.read_text(META_FILE))
        entry = keys.get("Entry-Definitions")
        if not entry:
            raise PackageError(META_FILE, "Entry-Definitions missing",
                               hint="add 'Entry-Definitions: Definitions/<vnfd>.yaml'")
        norm = normalize(entry, file=META_FILE, field="Entry-Definitions")
        if not source.is_file(norm):
            raise PackageError(META_FILE, f"Entry-Definitions points at {entry} "
                               "which does not exist")
        return norm
    files, dirs = source.listdir("")
    yamls = [f for f in files if f.endswith((".yaml", ".yml"))]
    if len(yamls) == 1:
        return yamls[0]
    if yamls:
        raise PackageError(META_FILE, "missing and the package root holds several YAML "
                           f"files ({', '.join(yamls)})",
                           hint="add TOSCA-Metadata/TOSCA.meta naming Entry-Definitions")
    hint = "add TOSCA-Metadata/TOSCA.meta naming Entry-Definitions"
    if len(dirs) == 1 and source.is_file(f"{dirs[0]}/{META_FILE}"):
        hint = (f"the package sits in the subdirectory {dirs[0]}/; pack the "
                "directory's content, not the directory")
    raise PackageError(META_FILE, "missing and there is no YAML file in the package root",
                       hint=hint)


def as_mapping(value: Any, file: str, what: str) -> dict[str, Any]:
    """``value`` if it is a mapping, {} if it is absent; else PackageError on ``file``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise PackageError(file, f"{what} must be a mapping")
    return value


def as_list(value: Any, file: str, what: str) -> list[Any]:
    """``value`` if it is a list, [] if it is absent; else PackageError on ``file``."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise PackageError(file, f"{what} must be a list")
    return value


class Definitions:
    """The TOSCA files reachable from an entry file by ``imports``, and their types.

    ``docs`` maps each package-relative file to its content, entry first;
    ``types`` holds the ``node_types`` and ``policy_types`` they declare.
    """

    def __init__(self, source: Source, entry: str) -> None:
        self.source = source
        self.docs: dict[str, dict[str, Any]] = {}
        self.types: dict[str, dict[str, dict[str, Any]]] = {"node_types": {}, "policy_types": {}}
        queue = [entry]
        while queue:
            rel = queue.pop(0)
            if rel in self.docs:
                continue
            doc = source.read_yaml(rel)
            if "tosca_definitions_version" not in doc:
                raise PackageError(rel, "tosca_definitions_version missing")
            version = doc["tosca_definitions_version"]
            if version not in TOSCA_VERSIONS:
                raise PackageError(rel, f"tosca_definitions_version {short(version)} is "
                                   "not a TOSCA version this reader knows",
                                   hint=f"use one of {', '.join(TOSCA_VERSIONS)}")
            self.docs[rel] = doc
            queue.extend(self._resolve(imp, rel) for imp in self._imports(doc, rel))
            for section, known in self.types.items():
                for name, body in as_mapping(doc.get(section), rel, section).items():
                    known.setdefault(name, as_mapping(body, rel, f"{section}.{name}"))

    @staticmethod
    def _imports(doc: dict[str, Any], rel: str) -> list[str]:
        found = []
        for item in as_list(doc.get("imports"), rel, "imports"):
            if isinstance(item, dict) and "file" not in item and len(item) == 1:
                item = next(iter(item.values()))
            if isinstance(item, dict):
                item = item.get("file")
            if not isinstance(item, str) or not item:
                raise PackageError(rel, f"imports: entry {item!r} is not a file name")
            found.append(item)
        return found

    def _resolve(self, imp: str, rel: str) -> str:
        base = posixpath.dirname(rel)
        if "://" in imp:
            local = posixpath.join(base, imp.rstrip("/").rsplit("/", 1)[-1])
            if self.source.is_file(local):
                return local
            raise PackageError(rel, f"imports: {imp} is not in the package",
                               hint=f"put a copy at {local}")
        target = normalize(posixpath.join(base, imp), file=rel, field=f"imports: {imp}")
        if not self.source.is_file(target):
            raise PackageError(rel, f"imports: {imp} not found (looked for {target})")
        return target

    def derives(self, section: str, type_name: str, base: str) -> bool:
        """Whether ``type_name`` is ``base`` or derived from it."""
        seen: set[str] = set()
        current: object = type_name
        while isinstance(current, str) and current not in seen:
            if current == base:
                return True
            seen.add(current)
            current = self.types[section].get(current, {}).get("derived_from")
        return False

    def type_default(self, type_name: str, prop: str) -> Any:
        """A property's default from a node type or its ancestors."""
        seen: set[str] = set()
        current: object = type_name
        while isinstance(current, str) and current not in seen:
            seen.add(current)
            body = self.types["node_types"].get(current, {})
            spec = (body.get("properties") or {}).get(prop)
            if isinstance(spec, dict) and "default" in spec:
                return spec["default"]
            current = body.get("derived_from")
        return None
