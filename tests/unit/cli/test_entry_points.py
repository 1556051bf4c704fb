"""The command tables of `nfv`, the OSC plugin and the docs agree."""

from __future__ import annotations

import configparser
import importlib
import re
from pathlib import Path

from nfvcli.shell import COMMANDS

ROOT = Path(__file__).resolve().parents[3]


def _osc_entry_points() -> dict[str, str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = cfg["options.entry_points"]["openstack.nfv.v1"].strip().splitlines()
    return dict(line.replace(" ", "").split("=", 1) for line in lines)


def test_every_nfv_command_imports_and_has_a_description():
    for name, target in COMMANDS.items():
        module, _, attr = target.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        assert cls._description, name


def test_osc_plugin_commands_are_the_nfv_classes():
    osc = _osc_entry_points()
    assert osc, "no openstack.nfv.v1 entry points"
    for ep_name, target in osc.items():
        name = ep_name.replace("_", " ")
        assert COMMANDS.get(name) == target, name
    # every tackerclient-named vim command is offered under openstack
    for verb in ("register", "list", "show", "set", "delete"):
        assert f"vim_{verb}" in osc


def test_nfv_cli_entry_points_equal_the_command_table():
    """The docs render from the nfv.cli group; it must list every nfv command."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = cfg["options.entry_points"]["nfv.cli"].strip().splitlines()
    group = dict(line.replace(" ", "").split("=", 1) for line in lines)
    assert {k.replace("_", " "): v for k, v in group.items()} == {
        k: v for k, v in COMMANDS.items()}


def test_docs_cover_every_command_group():
    text = (ROOT / "doc" / "source" / "cli.rst").read_text()
    documented = set(re.findall(r":command: (\S+) \*", text))
    groups = {name.split()[0] for name in COMMANDS}
    assert groups <= documented, groups - documented
