"""The compatibility suite: python-tackerclient 2.6.0 against nfvcli, read at test time.

python-tackerclient is installed in the test environment (the ``test``
extra); its commands, parsers and columns are read from the installed
module, never copied by hand.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points, version
from unittest import mock

import pytest

from nfvcli import shell

TACKERCLIENT_VERSION = "2.6.0"
#: python-tackerclient's command groups that nfvkit takes over.
GROUPS = ("vim ", "vnf package ", "vnflcm ")


def tackerclient_commands() -> dict[str, str]:
    """Command name -> "module:Class" of python-tackerclient's v1 and v2 OSC commands."""
    found: dict[str, str] = {}
    for group in ("openstack.tackerclient.v1", "openstack.tackerclient.v2"):
        for ep in entry_points(group=group):
            found.setdefault(ep.name.replace("_", " "), ep.value)
    return dict(sorted(found.items()))


def load(target: str):
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def their_command(name: str):
    cls = load(tackerclient_commands()[name])
    return cls(mock.Mock(), None)


def our_command(name: str, app=None):
    cls = load(shell.COMMANDS[name])
    return cls(app or shell.NfvApp(), None)


def shared_commands() -> list[str]:
    return [n for n in tackerclient_commands() if n in shell.COMMANDS]


@pytest.fixture(scope="session", autouse=True)
def _tackerclient_installed():
    assert version("python-tackerclient") == TACKERCLIENT_VERSION, (
        "the compatibility suite reads python-tackerclient 2.6.0: "
        "pip install -e '.[test]'")
