"""Every python-tackerclient command of the vim, vnf package and vnflcm groups exists
in nfvkit, and parses the same argument lists into the same options."""

from __future__ import annotations

import argparse

import pytest

from nfvcli import shell
from tests.unit.compat.conftest import (GROUPS, our_command, shared_commands,
                                        tackerclient_commands, their_command)

#: python-tackerclient commands nfvkit does not offer, and why.
MISSING = {
    "vnffm": "VNF fault management (SOL002/003 FM) is not part of nfvkit",
    "vnfpm": "VNF performance management (SOL003 PM) is not part of nfvkit",
}


def test_every_lcm_command_of_tackerclient_exists():
    theirs = tackerclient_commands()
    absent = [n for n in theirs if n.startswith(GROUPS) and n not in shell.COMMANDS]
    assert absent == []
    others = {n.split()[0] for n in theirs if not n.startswith(GROUPS)}
    assert others <= set(MISSING), f"unexplained commands: {others - set(MISSING)}"


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {s: a for a in parser._actions for s in a.option_strings}


def _positionals(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if not a.option_strings]


def _takes_value(action: argparse.Action) -> bool:
    return action.nargs != 0


#: Declared differences: command -> (why, the options of python-tackerclient that
#: nfvkit parses differently or not at all). Anything else that differs fails.
DIFFERENCES = {
    "vnflcm op cancel": (
        "nfvkit reports a cancel as every LCM request (accepted message, occurrence "
        "id, --wait, -f text|json progress lines), not as a show of the occurrence",
        {"-f", "--format", "-c", "--column", "--variable", "--prefix", "--max-width",
         "--fit-width", "--noindent", "--print-empty"}),
}


def _option_problems(theirs: argparse.ArgumentParser,
                     ours: argparse.ArgumentParser) -> set[str]:
    our_options = _options(ours)
    problems = set()
    for option, action in _options(theirs).items():
        mine = our_options.get(option)
        if (mine is None or _takes_value(mine) != _takes_value(action)
                or bool(mine.required) != bool(action.required)
                or (action.choices and not set(action.choices) <= set(mine.choices or ()))):
            problems.add(option)
    return problems


@pytest.mark.parametrize("name", shared_commands())
def test_same_options(name):
    theirs = their_command(name).get_parser(f"openstack {name}")
    ours = our_command(name).get_parser(f"nfv {name}")
    declared = DIFFERENCES.get(name, ("", set()))[1]
    assert _option_problems(theirs, ours) == declared, name
    their_pos, our_pos = _positionals(theirs), _positionals(ours)
    assert [a.nargs for a in our_pos] == [a.nargs for a in their_pos], name
    assert [a.metavar for a in our_pos] == [a.metavar for a in their_pos], name


#: Values of options whose text has a form (the others take any word).
SAMPLE_VALUES = {"--user-data": "team=core", "--is-default": "True"}


def _value(action: argparse.Action) -> str:
    if action.option_strings and action.option_strings[-1] in SAMPLE_VALUES:
        return SAMPLE_VALUES[action.option_strings[-1]]
    if action.choices:
        return str(list(action.choices)[-1])
    if action.type is int:
        return "3"
    return f"v-{action.dest}"


def _argv(parser: argparse.ArgumentParser, skip: set[str] = frozenset()
          ) -> list[str]:
    """An argument list using every option of ``parser`` (one per exclusive group)."""
    exclusive = set()
    for group in parser._mutually_exclusive_groups:
        exclusive.update(id(a) for a in group._group_actions[1:])
    argv = [f"p{i}" for i, _ in enumerate(_positionals(parser))]
    for action in parser._actions:
        if not action.option_strings or id(action) in exclusive:
            continue
        option = action.option_strings[-1]
        if set(action.option_strings) & skip:
            continue
        if option in ("-h", "--help", "--print-empty", "--noindent", "--quote",
                      "--max-width", "--fit-width", "--sort-column",
                      "--sort-ascending", "--sort-descending", "-c", "--column",
                      "-f", "--format", "--prefix"):
            continue  # cliff's output options: the same framework on both sides
        argv.append(option)
        if _takes_value(action):
            argv.append(_value(action))
    return argv


def _parsed(parser: argparse.ArgumentParser, argv: list[str]) -> dict[str, object]:
    namespace = parser.parse_args(argv)
    by_option = {}
    for action in parser._actions:
        key = action.option_strings[-1] if action.option_strings else f"#{action.metavar}"
        if key in ("-h", "--help"):
            continue
        value = getattr(namespace, action.dest, None)
        if isinstance(value, list) and value and isinstance(value[0], tuple):
            value = dict(value)  # our --user-data k=v pairs: tackerclient's dict
        by_option[key] = value
    return by_option


@pytest.mark.parametrize("name", shared_commands())
def test_same_argument_lists_parse_to_the_same_options(name):
    theirs = their_command(name).get_parser(f"openstack {name}")
    ours = our_command(name).get_parser(f"nfv {name}")
    argv = _argv(theirs, DIFFERENCES.get(name, ("", set()))[1])
    theirs_parsed = _parsed(theirs, argv)
    ours_parsed = _parsed(ours, argv)
    declared = DIFFERENCES.get(name, ("", set()))[1]
    for key, value in theirs_parsed.items():
        if key in declared:
            continue
        assert key in ours_parsed, f"{name}: {key} not parsed by nfvkit"
        assert ours_parsed[key] == value, f"{name} {argv}: {key}"
