"""Hypothesis strategies for hostile values, shared by the fuzz tests."""

from __future__ import annotations

import json

import yaml
from hypothesis import strategies as st

#: 473 bytes of YAML that stand for 9**9 values once the aliases are expanded.
ALIAS_BOMB = ("[&a0 [x, x, x, x, x, x, x, x, x], "
              + ", ".join(f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]"
                          for i in range(1, 9)) + "]")
NESTED = "[" * 3000 + "]" * 3000
CONTROL = ["\n", "\t", "\x1b", "\x01", "\r", "\x7f", "\u200b", "\u202e", "\x00"]

#: Control characters inside otherwise ordinary text.
control_text = st.builds(lambda a, c, b: a + c + b,
                         st.text("abcxyz-_.", max_size=8), st.sampled_from(CONTROL),
                         st.text("abcxyz-_.", max_size=8))
#: Text of any Unicode, including lone surrogates from undecodable bytes.
any_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=60)
huge_text = st.integers(70_000, 2_100_000).map(lambda n: "x" * n)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                    st.floats(allow_nan=True), any_text)
#: JSON-like values of any shape (not too big).
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=12)
non_strings = st.one_of(st.none(), st.booleans(), st.lists(scalars, max_size=3),
                        st.dictionaries(st.text(max_size=5), scalars, max_size=3))
#: Raw YAML text for a value: bombs, deep nesting, aliases, tags, anchors.
yaml_values = st.one_of(
    st.just(ALIAS_BOMB), st.just(NESTED), st.just("&a [*a]"),
    st.integers(65, 5000).map(lambda n: "[" * n + "]" * n),
    st.integers(65, 5000).map(lambda n: "{a: " * n + "1" + "}" * n),
    st.just("!!python/object/apply:os.system ['true']"), st.just("!!binary AAAA"),
    st.just("*undefined"), st.just("[unclosed"), st.just("{a: 1, a: 2}"),
    st.just(".nan"), st.just("~"), st.just("[]"), st.just("{}"),
    st.just("\"\\x1b[31mred\""), st.just("'" + "9" * 5000 + "'"))

#: Raw YAML or JSON values that no key accepts (the harmless ones left out).
yaml_hostile = yaml_values.filter(lambda raw: raw not in (".nan", "[]", "{}",
                                                         "\"\\x1b[31mred\""))


def dump(value, fmt: str) -> str:
    """``value`` written as YAML or JSON (NaN and non-string keys as they come)."""
    if fmt == "json":
        return json.dumps(value, allow_nan=True, default=str)
    return yaml.safe_dump(value, allow_unicode=True, default_flow_style=False)
