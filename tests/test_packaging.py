"""Packaging: the version comes from git tags, the build is quiet, the library
installs without the command-line stack, and ``nfv`` then says so in one line."""

from __future__ import annotations

import email
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
CLI_STACK = {"cliff", "osc-lib", "tabulate"}


def _build(source: Path, tmp_path: Path, **env: str
           ) -> tuple[email.message.Message, list[str], str]:
    out = tmp_path / "wheel"
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-q",
         str(source), "-w", str(out)],
        capture_output=True, text=True, timeout=600, env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr
    (wheel,) = out.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        meta = next(n for n in names if n.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(archive.read(meta)), names, proc.stdout + proc.stderr


def _required(metadata: email.message.Message) -> set[str]:
    """Names of the unconditional requirements."""
    return {req.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower()
            for req in metadata.get_all("Requires-Dist") or [] if "extra ==" not in req}


def _git(source: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=source, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """The checkout, or, outside one (an unpacked source tree), a git copy of it
    with one commit tagged 0.1.0: the version always comes from git."""
    try:
        _git(REPO_ROOT, "rev-parse", "HEAD")
        return REPO_ROOT
    except (OSError, subprocess.CalledProcessError):
        pass
    import shutil

    copy = tmp_path_factory.mktemp("checkout") / "nfvkit"
    shutil.copytree(REPO_ROOT, copy, ignore=shutil.ignore_patterns(
        ".venv", ".tox", "build", "*.egg-info", "__pycache__", ".nfv-demo"))
    _git(copy, "init", "-q")
    _git(copy, "add", "-A")
    _git(copy, "-c", "user.name=nfvkit", "-c", "user.email=nfvkit@localhost",
         "commit", "-q", "-m", "source tree")
    _git(copy, "tag", "0.1.0")
    return copy


def test_full_build_is_quiet_versioned_by_git_and_typed(tmp_path, source):
    metadata, names, output = _build(source, tmp_path)
    assert "warning" not in output.lower(), output
    assert CLI_STACK <= _required(metadata)
    assert {"cli", "test"} <= set(metadata.get_all("Provides-Extra"))
    assert "nfvlib/py.typed" in names
    version = metadata["Version"]
    try:
        described = _git(source, "describe", "--tags", "--long", "--match", "[0-9]*")
    except subprocess.CalledProcessError:  # a clone without tags
        assert version.startswith("0.")
        return
    tag, distance, node = described.rsplit("-", 2)
    if distance == "0":
        assert version.split("+")[0] == tag
    else:  # setuptools-scm's guess-next-dev: after 1.2.0, 1.2.1.devN+g<hash>
        major_minor, _, patch = tag.rpartition(".")
        assert version.startswith(f"{major_minor}.{int(patch) + 1}.dev{distance}+{node}"), \
            (version, described)


def test_library_builds_without_the_cli_stack(tmp_path, source):
    metadata, _, _ = _build(source, tmp_path, NFVKIT_WITHOUT_CLI="1")
    required = _required(metadata)
    assert not CLI_STACK & required, required
    assert {"keystoneauth1", "requests", "pyyaml", "cryptography"} <= required
    cli_extra = {r.split(">")[0].strip().lower() for r in metadata.get_all("Requires-Dist")
                 if 'extra == "cli"' in r}
    assert cli_extra == CLI_STACK


def test_nfv_without_the_cli_stack_says_so_in_one_line():
    script = ("import sys\n"
              "sys.modules['cliff'] = None\n"  # as if cliff were not installed
              "from nfvcli.shell import main\n"
              "sys.exit(main(['vim', 'list']))\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "pip install 'nfvkit[cli]'" in proc.stderr
    assert "Traceback" not in proc.stderr
