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
