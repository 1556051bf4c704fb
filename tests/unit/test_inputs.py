"""The bounded input reader: size limits, alias bombs, nesting, short messages."""

from __future__ import annotations

import os
import time

import pytest

from nfvlib import inputs
from nfvlib.exceptions import InvalidInput


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """About 500 bytes standing for width**levels values."""
    items = ["&a0 [" + ", ".join(["x"] * width) + "]"]
    items += [f"&a{n} [{', '.join([f'*a{n - 1}'] * width)}]" for n in range(1, levels)]
    return f"cert_verify: [{', '.join(items)}]\n"


def one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text
    return text


# ------------------------------------------------------------ short

@pytest.mark.parametrize("value", [
    "x" * 10_000,
    ["x" * 1000] * 1000,
    {str(n): list(range(1000)) for n in range(1000)},
    b"\0" * 10_000,
    10 ** 4000,
])
def test_short_is_bounded(value):
    assert len(inputs.short(value)) < 80


def test_short_of_alias_expanded_value_is_fast():
    shared = ["x"] * 9
    for _ in range(9):
        shared = [shared] * 9  # 9**10 leaves if walked in full
    start = time.monotonic()
    text = inputs.short(shared)
    assert time.monotonic() - start < 0.5
    assert len(text) < 80


def test_short_escapes_control_characters():
    assert inputs.short("a\nb\x1b[31m") == "'a\\nb\\x1b[31m'"


def test_short_keeps_short_values_whole():
    assert inputs.short("abc") == "'abc'"
    assert inputs.short(True) == "True"


# ------------------------------------------------------------ read_text_file

def test_read_text_file(tmp_path):
    path = tmp_path / "f.yaml"
    path.write_text("a: 1\n", encoding="utf-8")
    assert inputs.read_text_file(path, what="config file") == "a: 1\n"


def test_read_dev_zero_fails_fast():
    start = time.monotonic()
    with pytest.raises(InvalidInput) as err:
        inputs.read_text_file("/dev/zero", what="config file")
    assert time.monotonic() - start < 1
    assert one_line(err.value).startswith("config file /dev/zero is larger than 1 MiB")


def test_read_file_over_limit(tmp_path):
    path = tmp_path / "big"
    path.write_bytes(b"a" * 1001)
    with pytest.raises(InvalidInput, match="larger than 1000 bytes"):
        inputs.read_text_file(path, limit=1000)
    path.write_bytes(b"a" * 1000)
    assert inputs.read_text_file(path, limit=1000) == "a" * 1000


def test_read_missing_file_and_directory(tmp_path):
    with pytest.raises(InvalidInput, match="cannot read request file .*: No such file"):
        inputs.read_text_file(tmp_path / "nope", what="request file")
    with pytest.raises(InvalidInput, match="Is a directory"):
        inputs.read_text_file(tmp_path)


def test_read_non_utf8(tmp_path):
    path = tmp_path / "latin1"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(InvalidInput, match=r"not UTF-8 text \(byte 10 is not valid\)"):
        inputs.read_text_file(path)


def test_read_path_with_control_characters_is_escaped(tmp_path):
    path = os.path.join(os.fsencode(tmp_path), b"a\nb\x1b")
    with pytest.raises(InvalidInput) as err:
        inputs.read_text_file(path)
    assert "\x1b" not in one_line(err.value)


# ------------------------------------------------------------ load_yaml

def test_load_yaml_plain():
    assert inputs.load_yaml("a: [1, {b: c}]\n") == {"a": [1, {"b": "c"}]}


def test_small_aliases_are_allowed():
    assert inputs.load_yaml("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}


def test_alias_bomb_is_refused_at_once():
    text = alias_bomb()
    assert len(text) < 600
    start = time.monotonic()
    with pytest.raises(InvalidInput) as err:
        inputs.load_yaml(text, "config file vim.yaml")
    assert time.monotonic() - start < 0.5
    message = one_line(err.value)
    assert message.startswith("config file vim.yaml is refused at line ")
    assert "100000 values once its aliases" in message


def test_recursive_alias_is_refused():
    with pytest.raises(InvalidInput, match="refers to the collection that contains it"):
        inputs.load_yaml("a: &a [1, *a]\n")


@pytest.mark.parametrize("text", ["[" * 3000 + "]" * 3000, "a:\n" + "".join(
    " " * n + f"k{n}:\n" for n in range(1, 200))])
def test_deep_yaml_is_refused(text):
    with pytest.raises(InvalidInput, match="nesting is deeper than 64 levels"):
        inputs.load_yaml(text, "f")


def test_yaml_depth_at_the_limit_is_accepted():
    assert inputs.depth(inputs.load_yaml("[" * 64 + "]" * 64)) == 64


def test_yaml_syntax_error_names_line_and_column():
    with pytest.raises(InvalidInput, match=r"^f is not valid YAML at line 2, column 1"):
        inputs.load_yaml("a: b\n\tc: d\n", "f")


def test_yaml_unsafe_tag_is_refused():
    with pytest.raises(InvalidInput, match="not valid YAML"):
        inputs.load_yaml("!!python/object/apply:os.system ['true']\n")


def test_yaml_huge_integer():
    with pytest.raises(InvalidInput, match="cannot be read"):
        inputs.load_yaml("a: " + "9" * 5000)


def test_custom_loader_keeps_its_constructors():
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("tag:yaml.org,2002:int",
                           lambda loader, node: loader.construct_scalar(node))
    assert inputs.load_yaml("a: 0123", loader=Loader) == {"a": "0123"}
    with pytest.raises(InvalidInput, match="refused"):
        inputs.load_yaml(alias_bomb(), loader=Loader)


# ------------------------------------------------------------ load_json

def test_load_json_plain():
    assert inputs.load_json('{"a": [1, 2.5, null]}') == {"a": [1, 2.5, None]}


@pytest.mark.parametrize("text", ["[" * 3000 + "]" * 3000, "[" * 100000])
def test_deep_json_is_refused(text):
    with pytest.raises(InvalidInput, match="nested"):
        inputs.load_json(text, "request file")


def test_json_depth_over_bound_without_recursion_error():
    with pytest.raises(InvalidInput, match="deeper than 64 levels"):
        inputs.load_json("[" * 65 + "]" * 65)
    assert inputs.load_json("[" * 64 + "]" * 64)


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_json_nan_is_refused(word):
    with pytest.raises(InvalidInput, match=f"{word} is not a JSON number"):
        inputs.load_json(f'{{"a": {word}}}')


def test_json_syntax_error():
    with pytest.raises(InvalidInput, match="not valid JSON at line 1, column 7"):
        inputs.load_json('{"a": }', "f")


def test_json_huge_integer():
    with pytest.raises(InvalidInput, match="cannot be read"):
        inputs.load_json("9" * 5000)


def test_a_large_document_is_refused_before_it_is_built():
    text = "".join(f"k{n}: [a, b, {{c: d}}]\n" for n in range(30_000))
    start = time.monotonic()
    with pytest.raises(InvalidInput, match="more than 100000 values"):
        inputs.load_yaml(text)
    assert time.monotonic() - start < 1


def test_libyaml_nesting_limit_is_reported_as_nesting():
    # libyaml gives up at 1000 open flow collections while scanning ahead.
    with pytest.raises(InvalidInput, match="nesting is deeper than 64 levels"):
        inputs.load_yaml("a: " + "{b: " * 1500 + "c" + "}" * 1500)


def test_syntax_errors_come_from_the_given_loader():
    import yaml

    with pytest.raises(InvalidInput) as info:
        inputs.load_yaml("a: [b\nc: d\n", loader=yaml.SafeLoader)
    assert isinstance(info.value.__cause__, yaml.MarkedYAMLError)
    assert "expected ',' or ']'" in str(info.value)  # PyYAML's words, not libyaml's
