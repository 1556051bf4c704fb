"""The documentation builds with warnings as errors and covers the commands,
the public API, the environment variables and shell completion."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import nfvlib
from nfvcli.shell import COMMANDS

import sphinx  # noqa: F401, E402 - the docs build needs it (the test extra)

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCE = REPO_ROOT / "doc" / "source"


@pytest.fixture(scope="module")
def html(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("html")
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-E",
         "-d", str(out / ".doctrees"), "-b", "html", str(SOURCE), str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def test_docs_build_without_warnings(html):
    for page in ("index", "install", "local", "remote", "cli", "exit-codes",
                 "environment", "library", "design"):
        assert (html / f"{page}.html").is_file(), page


def test_every_command_is_in_the_cli_reference(html):
    text = (html / "cli.html").read_text()
    missing = [name for name in COMMANDS
               if f'<section id="{name.replace(" ", "-")}">' not in text]
    assert missing == []


def test_every_public_name_is_in_the_library_reference(html):
    from sphinx.util.inventory import InventoryFile

    with open(html / "objects.inv", "rb") as stream:
        inventory = InventoryFile.load(stream, "", lambda base, uri: uri)
    documented = {name for objects in inventory.values() for name in objects}
    missing = []
    for name in nfvlib.__all__:
        obj = getattr(nfvlib, name)
        module = getattr(obj, "__module__", None)
        if not isinstance(obj, (type,)) and not callable(obj):
            module = "nfvlib.models"  # constants, e.g. MASK
        if f"{module}.{name}" not in documented:
            missing.append(f"{module}.{name}")
    assert missing == []


def test_every_exit_code_is_documented(html):
    from nfvcli import errors

    text = (html / "exit-codes.html").read_text()
    codes = {code for _, code in errors._CODES} | {
        errors.EXIT_OK, errors.EXIT_ERROR, errors.EXIT_FAILED_TEMP, errors.EXIT_FAILED,
        errors.EXIT_ROLLED_BACK}
    for code in codes:
        assert re.search(rf"<td><p>{code}</p></td>", text), code


_NAME = re.compile(r"""["']((?:NFV|OS)_[A-Z][A-Z_]*)["']""")


def test_every_environment_variable_read_is_documented():
    """nfvlib reads its settings in nfvlib.config and remote mode's credentials in
    nfvlib.remote.auth (tests/unit/test_public_api.py checks there is no other)."""
    page = (SOURCE / "environment.rst").read_text()
    read = set()
    for path in (REPO_ROOT / "nfvlib" / "config.py", REPO_ROOT / "nfvlib" / "remote" / "auth.py",
                 *(REPO_ROOT / "nfvcli").glob("*.py")):
        read.update(_NAME.findall(path.read_text()))
    assert {"NFV_STORE", "OS_CLOUD", "OS_NFV_MODE", "NFV_HEAT_STALL_SECONDS"} <= read
    assert sorted(name for name in read if f"``{name}``" not in page) == []


def test_the_complete_command_and_its_options_are_documented(html):
    text = (html / "cli.html").read_text()
    assert '<section id="complete">' in text
    usage = subprocess.run([sys.executable, "-c", "from nfvcli.shell import main; "
                            "raise SystemExit(main(['complete', '--help']))"],
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    options = set(re.findall(r"(--[a-z][a-z-]*)", usage.stdout)) - {"--help"}
    assert options == {"--name", "--shell"}
    for option in options:
        assert f'id="cmdoption-nfv-complete-{option[2:]}"' in text, option


def test_nfv_complete_is_a_bash_completion_of_every_command():
    proc = subprocess.run([sys.executable, "-c", "from nfvcli.shell import main; "
                           "raise SystemExit(main(['complete']))"],
                          cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    script = proc.stdout
    assert "complete -F _nfv nfv" in script
    for name in COMMANDS:
        *group, last = name.split()
        key = ("cmds_" + "_".join(group) if group else "cmds").replace("-", "_")
        line = re.search(rf"^\s*{re.escape(key)}='([^']*)'", script, re.M)
        assert line and last in line.group(1).split(), name
    if shutil.which("bash"):
        check = subprocess.run(["bash", "-n"], input=script, capture_output=True,
                               text=True, timeout=30)
        assert check.returncode == 0, check.stderr
