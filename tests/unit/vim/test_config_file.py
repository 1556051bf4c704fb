"""VIM config files: accepted keys, value types, auth_url and error messages."""

from __future__ import annotations

import textwrap

import pytest

from nfvlib.exceptions import InvalidInput
from nfvlib.vim.config_file import (OPTIONAL_KEYS, REQUIRED_KEYS, load_config_file,
                                    normalize_auth_url, parse_config)

FULL = """\
auth_url: http://keystone.test:5000/v3
username: alice
password: s3cret
project_name: demo
project_domain_name: PD
user_domain_name: UD
cert_verify: False
type: openstack
"""

MINIMAL = """\
auth_url: http://keystone.test:5000/v3
username: alice
password: s3cret
project_name: demo
"""


@pytest.fixture
def write(tmp_path):
    def write(text, name="vim.yaml", raw=False):
        path = tmp_path / name
        if raw:
            path.write_bytes(text)
        else:
            path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path
    return write


def error_of(path, **kwargs) -> str:
    with pytest.raises(InvalidInput) as info:
        load_config_file(path, **kwargs)
    text = str(info.value)
    assert "\n" not in text, text
    return text


def test_all_accepted_keys(write):
    assert load_config_file(write(FULL)) == {
        "auth_url": "http://keystone.test:5000/v3", "username": "alice",
        "password": "s3cret", "project_name": "demo",
        "project_domain_name": "PD", "user_domain_name": "UD",
        "cert_verify": False, "type": "openstack"}
    assert set(REQUIRED_KEYS + OPTIONAL_KEYS) == {
        "auth_url", "username", "password", "project_name",
        "project_domain_name", "user_domain_name", "cert_verify", "type"}


def test_minimal_file_has_no_defaults_filled_in(write):
    assert load_config_file(write(MINIMAL)) == {
        "auth_url": "http://keystone.test:5000/v3", "username": "alice",
        "password": "s3cret", "project_name": "demo"}


def test_accepts_a_path_string(write):
    assert load_config_file(str(write(MINIMAL)))["username"] == "alice"


@pytest.mark.parametrize("literal, expected", [
    ("true", True), ("True", True), ("false", False), ("False", False),
    ("yes", True), ("no", False),
    ("'True'", True), ("'False'", False), ("'false'", False), ("'true'", True),
    ("' False '", False), ("'TRUE'", True),
])
def test_cert_verify_values(write, literal, expected):
    path = write(MINIMAL + f"cert_verify: {literal}\n")
    assert load_config_file(path)["cert_verify"] is expected


@pytest.mark.parametrize("literal", ["maybe", "'maybe'", "2", "[True]", "''", "null"])
def test_cert_verify_rejects_other_values(write, literal):
    text = error_of(write(MINIMAL + f"cert_verify: {literal}\n"))
    assert "cert_verify must be True or False" in text


def test_numeric_password_is_kept_as_typed(write):
    path = write(MINIMAL.replace("password: s3cret", "password: 123456"))
    values = load_config_file(path)
    assert values["password"] == "123456"
    assert isinstance(values["password"], str)


@pytest.mark.parametrize("literal", ["0123", "12.50", "0x1F", "1_000"])
def test_numeric_looking_password_is_kept_exactly_as_typed(write, literal):
    path = write(MINIMAL.replace("password: s3cret", f"password: {literal}"))
    assert load_config_file(path)["password"] == literal


@pytest.mark.parametrize("literal, type_name", [
    ("yes", "bool"), ("[a, b]", "list"), ("{a: 1}", "dict"), ("2024-01-01", "date")])
def test_non_string_values_are_rejected(write, literal, type_name):
    text = error_of(write(MINIMAL.replace("username: alice", f"username: {literal}")))
    assert f"username must be a string, not {type_name}" in text
    assert "quote" in text


def test_missing_keys_are_listed_in_one_message(write):
    path = write("username: alice\n")
    text = error_of(path)
    assert "missing key(s) auth_url, password, project_name" in text
    assert str(path) in text


@pytest.mark.parametrize("value", ["''", "null", "~"])
def test_empty_required_values_count_as_missing(write, value):
    text = error_of(write(MINIMAL.replace("password: s3cret", f"password: {value}")))
    assert "missing key(s) password" in text


def test_blank_value_is_rejected(write):
    text = error_of(write(MINIMAL.replace("username: alice", "username: '   '")))
    assert "username is empty" in text


def test_unknown_key_is_named(write):
    text = error_of(write(MINIMAL + "tenant_name: demo\nbogus: 1\n"))
    assert "unknown key(s) bogus, tenant_name" in text
    assert "accepted keys are auth_url" in text


@pytest.mark.parametrize("text, type_name", [
    ("- a\n- b\n", "list"), ("just a string\n", "single value"),
    ("42\n", "single value")])
def test_non_mapping_yaml(write, text, type_name):
    message = error_of(write(text))
    assert f"must hold a YAML mapping of keys, not a {type_name}" in message


@pytest.mark.parametrize("text, line, column", [
    ("auth_url: http://k\nusername: [alice\n", 3, 1),
    ("auth_url: x: y\n", 1, 12),
    ("username: alice\n\tpassword: x\n", 2, 1),
    ("username: *nope\n", 1, 11),
])
def test_invalid_yaml_names_line_and_column(write, text, line, column):
    path = write(text)
    message = error_of(path)
    assert "is not valid YAML" in message
    assert f"at line {line}, column {column}" in message
    assert str(path) in message


def test_unsafe_yaml_tags_are_refused(write):
    message = error_of(write("username: !!python/object/apply:os.getcwd []\n"))
    assert "is not valid YAML" in message


def test_missing_file(tmp_path):
    path = tmp_path / "nope.yaml"
    message = error_of(path)
    assert f"cannot read config file {path}" in message
    assert "No such file or directory" in message
    assert "--config-file" in message


def test_directory_instead_of_file(tmp_path):
    assert "cannot read config file" in error_of(tmp_path)


def test_file_that_is_not_utf8(write):
    path = write(MINIMAL.encode().replace(b"s3cret", b"s3\xffcret"), raw=True)
    assert str(path) in error_of(path)


@pytest.mark.parametrize("given, expected", [
    ("http://h:5000", "http://h:5000/v3"),
    ("http://h:5000/", "http://h:5000/v3"),
    ("http://h/identity/", "http://h/identity/v3"),
    ("http://h/identity", "http://h/identity/v3"),
    ("https://h/identity/v3", "https://h/identity/v3"),
    ("http://h:5000/v3", "http://h:5000/v3"),
    ("http://h:5000/v3/", "http://h:5000/v3"),
    ("  http://h:5000  ", "http://h:5000/v3"),
    ("http://[::1]:5000", "http://[::1]:5000/v3"),
])
def test_auth_url_normalisation(write, given, expected):
    assert normalize_auth_url(given) == expected
    path = write(MINIMAL.replace("http://keystone.test:5000/v3", given.strip()))
    assert load_config_file(path)["auth_url"] == expected


@pytest.mark.parametrize("url", ["ftp://h/v3", "keystone:5000", "http://", "/v3",
                                 "file:///etc/passwd"])
def test_auth_url_must_be_http(write, url):
    message = error_of(write(MINIMAL.replace("http://keystone.test:5000/v3", f"'{url}'")))
    assert "is not an http(s) URL" in message
    assert repr(url) in message


def test_partial_allows_any_subset(write):
    assert load_config_file(write("password: new\n"), partial=True) == {"password": "new"}
    assert load_config_file(write("cert_verify: 'False'\nauth_url: http://h\n"),
                            partial=True) == {"cert_verify": False,
                                              "auth_url": "http://h/v3"}


def test_partial_still_checks_keys_and_values(write):
    assert "unknown key(s) nope" in error_of(write("nope: 1\n"), partial=True)
    assert "password is empty" in error_of(write("password: ' '\n"), partial=True)


@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "{}\n", "~\n"])
def test_partial_refuses_an_empty_file(write, text):
    path = write(text)
    assert "holds no keys" in error_of(path, partial=True)
    assert "missing key(s)" in error_of(path)


@pytest.mark.parametrize("value", ["kubernetes", "OpenStack", "''", "1"])
def test_other_types_are_rejected(write, value):
    message = error_of(write(MINIMAL + f"type: {value}\n"))
    assert "is not supported" in message
    assert "type: openstack" in message


def test_parse_config_uses_the_source_name():
    with pytest.raises(InvalidInput) as info:
        parse_config({"username": "u"}, source="request")
    assert str(info.value).startswith("request: missing key(s)")
    assert parse_config({"password": 7}, partial=True) == {"password": "7"}


# -- hostile input: bounded, one line, fast ----------------------------------

def alias_bomb(key: str) -> str:
    """About 500 bytes standing for 9**9 values: each level nine aliases deep."""
    items = ["&a0 [x, x, x, x, x, x, x, x, x]"]
    items += [f"&a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 9)]
    return f"{key}: [{', '.join(items)}]\n"


@pytest.mark.parametrize("key", ["cert_verify", "type", "username"])
def test_alias_bomb_fails_at_once(write, key):
    import time

    text = alias_bomb(key)
    assert len(text) < 600
    start = time.monotonic()
    message = error_of(write(MINIMAL + text))
    assert time.monotonic() - start < 0.5
    assert "is refused at line" in message and "aliases" in message
    assert len(message) < 300


def test_small_alias_inside_bounds_is_read(write):
    path = write("username: &u alice\nproject_name: *u\n"
                 "auth_url: http://h\npassword: p\n")
    assert load_config_file(path)["project_name"] == "alice"


def test_dev_zero_fails_fast():
    import time

    start = time.monotonic()
    message = error_of("/dev/zero")
    assert time.monotonic() - start < 0.5
    assert message.startswith("config file /dev/zero is larger than 64 KiB")


@pytest.mark.parametrize("text", ["cert_verify: " + "[" * 3000 + "]" * 3000 + "\n",
                                  "{" * 3000])
def test_deep_nesting_is_refused_without_recursion_error(write, text):
    message = error_of(write(MINIMAL + text))
    assert "nesting is deeper than 8 levels" in message or "not valid YAML" in message
    assert "recursion" not in message


@pytest.mark.parametrize("key", ["cert_verify", "type", "username"])
def test_values_in_messages_are_truncated(write, key):
    message = error_of(write(MINIMAL.replace("username: alice\n", "")
                             + f"{key}: [{', '.join(['x' * 50] * 100)}]\n"))
    assert len(message) < 300


def test_unknown_keys_are_bounded_in_the_message(write):
    text = "".join(f"{'k' * 1000}{n}: 1\n" for n in range(50))
    message = error_of(write(MINIMAL + text))
    assert "and 45 more" in message and len(message) < 600


@pytest.mark.parametrize("key, limit", [("username", 255), ("password", 4096),
                                        ("project_name", 64),
                                        ("user_domain_name", 64),
                                        ("project_domain_name", 64)])
def test_field_lengths_are_bounded_as_keystone_bounds_them(write, key, limit):
    base = MINIMAL + "user_domain_name: D\nproject_domain_name: D\n"
    line = next(ln for ln in base.splitlines() if ln.startswith(key + ":"))
    ok = load_config_file(write(base.replace(line, f"{key}: {'v' * limit}")))
    assert len(ok[key]) == limit
    message = error_of(write(base.replace(line, f"{key}: {'v' * (limit + 1)}")))
    assert f"{key} is {limit + 1} characters long; Keystone accepts at most {limit}" \
        in message
    assert "vvvvvvvvvv" not in message
    # A 2 MB field (Keystone would answer HTTP 413) is refused for its size.
    assert "larger than 64 KiB" in error_of(
        write(base.replace(line, f"{key}: {'v' * 2_000_000}")))
    with pytest.raises(InvalidInput, match="is 2000000 characters long"):
        parse_config({key: "v" * 2_000_000}, partial=True)


@pytest.mark.parametrize("char", ["\n", "\t", "\x1b", "\x01", "\x7f", "\u200b"])
def test_control_characters_in_user_and_project_names(char):
    with pytest.raises(InvalidInput, match=r"holds .* \(U\+[0-9A-F]{4}\) at position 3"):
        parse_config({"username": f"al{char}ice"}, partial=True)
    assert parse_config({"password": f"pa{char}ss"}, partial=True)


@pytest.mark.parametrize("url, words", [
    ("http://[::1", "is not a valid URL (Invalid IPv6 URL)"),
    ("http://[zz::1]:5000/v3", "is not a valid URL"),
    ("http://a..b:5000/v3", "invalid host name"),
    ("http://" + "a" * 64 + ".test/v3", "invalid host name"),
    ("http://.test/v3", "invalid host name"),
    ("http://h:99999/v3", "Port out of range"),
    ("http://h:0/v3", "has port 0"),
    ("http://h:abc/v3", "is not a valid URL"),
    ("http://user:pw@h/v3", "must not hold a user name or password"),
    ("http://h/v3\x1b[2J", "holds an escape character (U+001B) at position 12"),
    ("http://h/ v3", "holds a space (U+0020)"),
    ("http://" + "h" * 3000, "auth_url is 3007 characters long"),
])
def test_auth_url_is_checked_before_any_request(url, words):
    with pytest.raises(InvalidInput) as info:
        parse_config({"auth_url": url}, partial=True)
    message = str(info.value)
    assert words in message
    assert "\n" not in message and len(message) < 300
    assert "pw" not in message.replace("pwd", "")


@pytest.mark.parametrize("url, expected", [
    ("http://bücher.test:5000", "http://bücher.test:5000/v3"),
    ("http://[fe80::1%25eth0]:5000", "http://[fe80::1%25eth0]:5000/v3"),
    ("https://keystone.example.com./identity", "https://keystone.example.com./identity/v3"),
    ("http://10.0.0.1:5000", "http://10.0.0.1:5000/v3"),
])
def test_valid_auth_urls_still_accepted(url, expected):
    assert normalize_auth_url(url) == expected
