"""nfv's table formatter draws what cliff's prettytable formatter draws."""

from __future__ import annotations

import argparse
import io

from cliff.formatters.table import TableFormatter as CliffTableFormatter
from hypothesis import example, given, settings
from hypothesis import strategies as st

from nfvcli.table import TableFormatter, plain_table


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    CliffTableFormatter().add_argument_group(parser)
    return parser.parse_args(list(argv))


def _both(columns, rows, *argv):
    ours, cliffs = io.StringIO(), io.StringIO()
    TableFormatter().emit_list(columns, iter(rows), ours, _args(*argv))
    CliffTableFormatter().emit_list(columns, iter(rows), cliffs, _args(*argv))
    return ours.getvalue(), cliffs.getvalue()


_text = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7e), max_size=12)
_cell = st.one_of(_text, st.integers(), st.text(max_size=6), st.booleans(), st.none(),
                  st.floats(allow_nan=False), st.lists(_text, max_size=2))


@st.composite
def tables(draw, cells=_cell):
    columns = draw(st.lists(_text, min_size=1, max_size=5, unique=True))
    rows = draw(st.lists(st.lists(cells, min_size=len(columns), max_size=len(columns)),
                         max_size=6))
    return columns, rows


_plain_cell = st.one_of(_text, st.integers(), st.booleans(), st.none())
_width_options = st.sampled_from([(), ("--max-width", "30"), ("--max-width", "200"),
                                  ("--fit-width",)])


@settings(max_examples=300, deadline=None)
@given(st.one_of(tables(), tables(_plain_cell)), _width_options)
@example((["ID", "Name", "Count"], [["a", "bb", 1], ["ccc", "d", 22]]), ())
@example((["Identity", "x", "ab"], [["a", "bbbbbb", "abcde"]]), ())
def test_output_is_byte_for_byte_cliffs(table, argv):
    columns, rows = table
    ours, cliffs = _both(columns, rows, *argv)
    assert ours == cliffs


def test_a_plain_table_takes_the_fast_path():
    rows = [[f"id{i}", i, "INSTANTIATED"] for i in range(3)]
    text = plain_table(["ID", "N", "State"], rows)
    assert text is not None
    assert text.splitlines()[1] == "| ID  | N | State        |"
    assert text.splitlines()[3] == "| id0 | 0 | INSTANTIATED |"


def test_what_is_not_plain_goes_to_prettytable():
    assert plain_table(["ID"], [["two\nlines"]]) is None
    assert plain_table(["ID"], [["caf\u00e9"]]) is None
    assert plain_table(["ID"], [[1.5]]) is None
    assert plain_table(["ID", "ID"], [["a", "b"]]) is None
    assert plain_table(["ID"], []) is None
    assert plain_table(["ID"], [["x" * 50]], term_width=20) is None
