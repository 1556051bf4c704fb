"""Malformed VIM config files against ``nfv vim register`` and ``nfv vim set``."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import run_cli
from tests.fuzz.strategies import (ALIAS_BOMB, NESTED, any_text, control_text, dump,
                                   huge_text, json_values, non_strings, yaml_hostile)
from tests.unit.conftest import AUTH_URL, vim_config

REQUIRED = ("auth_url", "username", "password", "project_name")
TEXT_KEYS = ("auth_url", "username", "project_name", "project_domain_name",
             "user_domain_name")
_names = itertools.count()


def valid_config():
    return dict(vim_config(), cert_verify="True", type="openstack")


bad_urls = st.one_of(
    st.sampled_from(["http://[::1", "http://[fe80::1%eth0", "http://[zz::1]:5000/v3",
                     "http://" + "a" * 64 + ".example/v3", "http://a..b/v3",
                     "http://:5000/v3", "ftp://keystone/v3", "keystone:5000",
                     "http://host:99999/v3", "http://host:0/v3", "http://u:p@host/v3",
                     "http://ho st/v3", "", " ", "http://", "//host/v3",
                     "http://host:port/v3", "http://" + "a." * 130 + "b/v3"]),
    control_text.map(lambda t: "http://" + t + "/v3"),
    st.text(max_size=40).filter(lambda t: not t.strip().startswith(("http://", "https://"))),
)


@st.composite
def bad_config_files(draw):
    """(file bytes, description): a config file that must be refused."""
    fmt = draw(st.sampled_from(["yaml", "json"]))
    config = valid_config()
    kind = draw(st.sampled_from(["missing", "unknown key", "wrong type", "control",
                                 "too long", "bad url", "cert_verify", "type",
                                 "raw yaml", "not a mapping", "binary"]))
    if kind == "missing":
        for key in draw(st.lists(st.sampled_from(REQUIRED), min_size=1, unique=True)):
            if draw(st.booleans()):
                del config[key]
            else:
                config[key] = draw(st.sampled_from([None, "", "   "]))
    elif kind == "unknown key":
        key = draw(st.one_of(any_text, st.integers(), st.booleans()).filter(
            lambda k: k not in config))
        config[key] = draw(json_values)
    elif kind == "wrong type":
        config[draw(st.sampled_from(TEXT_KEYS + ("password",)))] = draw(
            non_strings.filter(lambda v: v not in (None, "")))
    elif kind == "control":
        config[draw(st.sampled_from(TEXT_KEYS[1:]))] = draw(control_text.filter(
            lambda t: t.strip()))
    elif kind == "too long":
        config[draw(st.sampled_from(TEXT_KEYS + ("password",)))] = draw(huge_text)
    elif kind == "bad url":
        config["auth_url"] = draw(bad_urls)
    elif kind == "cert_verify":
        config["cert_verify"] = draw(st.one_of(any_text, non_strings, st.integers())
                                     .filter(lambda v: str(v).strip().lower() not in
                                             {"true", "false", "yes", "no", "1", "0",
                                              "on", "off"} or not isinstance(v, str)))
        if isinstance(config["cert_verify"], bool):
            config["cert_verify"] = [config["cert_verify"]]
    elif kind == "type":
        config["type"] = draw(st.one_of(any_text, non_strings).filter(
            lambda v: v != "openstack"))
    if kind == "raw yaml":
        key = draw(st.sampled_from(("cert_verify", "type") + TEXT_KEYS + ("password",)))
        lines = [f"{k}: {'{{RAW}}' if k == key else dump(v, 'json')}"
                 for k, v in config.items()]
        text = "\n".join(lines).replace("{{RAW}}", draw(yaml_hostile))
    elif kind == "not a mapping":
        text = dump(draw(st.one_of(st.lists(json_values, max_size=3), any_text,
                                   st.integers(), st.booleans())), fmt)
    elif kind == "binary":
        data = draw(st.binary(min_size=1, max_size=300))
        return data, f"binary {data[:40]!r}"
    else:
        text = dump(config, fmt)
    return text.encode("utf-8", "surrogatepass"), f"{kind} ({fmt}): {text[:160]!r}"


def register(world, data: bytes, label: str, *, command=("vim", "register")):
    path = world.work / f"config-{next(_names)}.yaml"
    path.write_bytes(data)
    name = ["vim-fuzz"] if command[1] == "register" else ["site1"]
    outcome = run_cli([*command, *name, "--config-file", str(path)])
    path.unlink()
    world.check_refused(outcome, f"{' '.join(command)} {label}")


@settings(max_examples=settings.default.max_examples + 40)
@given(case=bad_config_files())
@example(case=(f"cert_verify: {ALIAS_BOMB}\n".encode()
               + dump(dict(vim_config(), cert_verify=None), "yaml")
               .replace("cert_verify: null\n", "").encode(), "alias bomb in cert_verify"))
@example(case=(f"type: {ALIAS_BOMB}\n".encode()
               + dump(vim_config(), "yaml").encode(), "alias bomb in type"))
@example(case=(f"username: {NESTED}\n".encode(), "3000 nested brackets (YAML)"))
@example(case=(f'{{"username": {NESTED}}}'.encode(), "3000 nested brackets (JSON)"))
@example(case=(dump(vim_config(auth_url="http://[::1"), "yaml").encode(),
               "Invalid IPv6 URL"))
@example(case=(dump(vim_config(auth_url="http://" + "a" * 64 + ".test:5000/v3"),
                    "yaml").encode(), "label too long"))
@example(case=(dump(vim_config(project_name="x" * 2 * 1024 * 1024), "yaml").encode(),
               "2 MB field"))
@example(case=(dump(vim_config(username="x" * 2 * 1024 * 1024), "yaml").encode(),
               "2 MB field"))
def test_bad_config_file_is_refused_in_one_line(world, case):
    data, label = case
    register(world, data, label)


@given(case=bad_config_files())
@settings(max_examples=max(10, settings.default.max_examples // 4))
def test_bad_config_file_for_vim_set_is_refused_in_one_line(world, case):
    data, label = case
    if label.startswith("missing"):
        return  # a partial config may leave keys out
    register(world, data, label, command=("vim", "set"))


@pytest.mark.parametrize("command", [("vim", "register"), ("vim", "set")])
def test_dev_zero_as_config_file(world, command):
    name = "vim-fuzz" if command[1] == "register" else "site1"
    outcome = run_cli([*command, name, "--config-file", "/dev/zero"])
    world.check_refused(outcome, f"{' '.join(command)} --config-file /dev/zero")


@given(name=st.one_of(control_text, huge_text.map(lambda t: t[:300]),
                      st.sampled_from(["a\nb", "a\tb", "a\x1bb", "a\x01b", "\udcff",
                                       "", " ", "x" * 256])))
@example(name="bad\nname")
@example(name="bad\tname")
@example(name="bad\x1b[31mname")
@example(name="bad\x01name")
@example(name="caf\udce9")
@example(name="site\n")  # found by this suite: stored as 'site'
@example(name="\tsite")
def test_bad_vim_name_is_refused(world, name):
    path = world.work / "good.yaml"
    path.write_text(dump(dict(vim_config(), cert_verify="True"), "yaml"))
    outcome = run_cli(["vim", "register", "--config-file", str(path), "--", name])
    world.check_refused(outcome, f"vim register name {name[:60]!r}")


def test_valid_config_still_registers(world):
    """The generators' base config is valid: the world's Keystone accepts it."""
    path = world.work / "valid.yaml"
    path.write_text(dump(valid_config(), "yaml"))
    outcome = run_cli(["vim", "register", "fuzz-valid", "--config-file", str(path)])
    assert outcome.code == 0, outcome.err
    assert AUTH_URL.split("//")[1].split(":")[0] in outcome.out
    outcome = run_cli(["vim", "delete", "fuzz-valid"])
    assert outcome.code == 0, outcome.err
    world.snapshot()
