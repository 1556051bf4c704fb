"""Malformed LCM request files against ``nfv vnflcm instantiate/create/scale/heal``.

Every generated request is wrong, so none may start an operation: the store
stays byte-identical and no worker is asked to start.
"""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import COUNT_ONLY, STATS, run_cli
from tests.fuzz.strategies import ALIAS_BOMB, NESTED, any_text, json_values, yaml_hostile

V3 = "ETSINFV.OPENSTACK_KEYSTONE.V_3"
KNOWN = ("flavourId", "instantiationLevelId", "extVirtualLinks", "extManagedVirtualLinks",
         "vimConnectionInfo", "localizationLanguage", "additionalParams", "extensions",
         "vnfConfigurableProperties")
OBJECTS = ("additionalParams", "extensions", "vnfConfigurableProperties")
_names = itertools.count()
NAN = float("nan")


def base(vim_id):
    return {"flavourId": "simple", "instantiationLevelId": "instantiation_level_1",
            "vimConnectionInfo": {"vim1": {"vimId": vim_id, "vimType": V3}}}


not_object = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                       any_text, st.lists(json_values, max_size=3))
not_string = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                       st.lists(json_values, max_size=3),
                       st.dictionaries(st.text(max_size=4), json_values, max_size=2))


@st.composite
def bad_instantiate(draw, vim_id):
    """(text, description) of an instantiate request that must be refused."""
    request = base(vim_id)
    kind = draw(st.sampled_from(["unknown key", "wrong type", "object field", "nan",
                                 "vim entry", "vim map", "raw", "not an object",
                                 "no flavour", "binary"]))
    if kind == "unknown key":
        request[draw(st.text(min_size=1, max_size=20).filter(lambda k: k not in KNOWN))] = \
            draw(json_values)
    elif kind == "wrong type":
        key = draw(st.sampled_from(["flavourId", "instantiationLevelId",
                                    "localizationLanguage"]))
        request[key] = draw(not_string)
    elif kind == "object field":
        key = draw(st.sampled_from(OBJECTS + ("extVirtualLinks",)))
        value = draw(not_object.filter(lambda v: v is not None))
        if key == "extVirtualLinks" and isinstance(value, list):
            value = {"x": value}  # an array is what extVirtualLinks takes
        request[key] = value
    elif kind == "nan":
        where = draw(st.sampled_from(OBJECTS))
        request[where] = {"x": draw(st.sampled_from([NAN, float("inf"), -float("inf")]))}
    elif kind == "vim entry":
        entry = draw(st.sampled_from([
            {"vimType": V3},                                    # no vimId
            "site1",                                            # a string
            {"vimId": "no-such-vim", "vimType": V3},            # unknown id
            {"vimId": vim_id, "vimType": "kubernetes"},         # unsupported type
            {"vimId": [vim_id], "vimType": V3},                 # id as a list
            {"vimId": vim_id, "vimType": V3, "accessInfo": "x"},
            {"vimId": vim_id, "vimType": V3, "interfaceInfo": 5},
            {"vimId": vim_id},                                  # no vimType
            None, 5, [],
        ]))
        if draw(st.booleans()):
            request["vimConnectionInfo"]["vim2"] = entry  # next to a good one
        else:
            request["vimConnectionInfo"] = {"vim1": entry}
    elif kind == "vim map":
        request["vimConnectionInfo"] = draw(st.one_of(
            st.lists(st.just({"vimId": vim_id, "vimType": V3}), min_size=1, max_size=2),
            any_text, st.integers(), st.booleans()))
    elif kind == "no flavour":
        del request["flavourId"]
    if kind == "raw":
        key = draw(st.sampled_from(KNOWN))
        text = json.dumps(dict(request, **{key: "@RAW@"})).replace('"@RAW@"',
                                                                   draw(yaml_hostile))
    elif kind == "not an object":
        text = json.dumps(draw(st.one_of(st.lists(json_values, max_size=3), any_text,
                                         st.integers(), st.none())))
    elif kind == "binary":
        data = draw(st.binary(min_size=1, max_size=200))
        return data, f"binary {data[:40]!r}"
    else:
        text = json.dumps(request, allow_nan=True)
    return text.encode("utf-8", "surrogatepass"), f"{kind}: {text[:200]}"


def write(world, data: bytes) -> str:
    path = world.work / f"request-{next(_names)}.json"
    path.write_bytes(data)
    return str(path)


def check(world, argv, label, **kwargs):
    spawned = len(world.spawned)
    outcome = run_cli(argv)
    world.check_refused(outcome, f"{' '.join(argv[:2])} {label}", **kwargs)
    if len(world.spawned) != spawned:
        STATS.failures.append(f"{' '.join(argv[:2])} {label[:200]}: a worker was started")
        assert COUNT_ONLY, STATS.failures[-1]


@settings(max_examples=settings.default.max_examples + 40)
@given(data=st.data())
@example(data=None)
def test_bad_instantiate_request_is_refused(world, data):
    if data is None:  # the issue's cases, each once
        for request, label in issue_cases(world.vim.id):
            path = write(world, json.dumps(request, allow_nan=True).encode())
            check(world, ["vnflcm", "instantiate", world.vnf.id, path], label)
        return
    raw, label = data.draw(bad_instantiate(world.vim.id))
    check(world, ["vnflcm", "instantiate", world.vnf.id, write(world, raw)], label)


def issue_cases(vim_id):
    good = {"vimId": vim_id, "vimType": V3}
    cases = [
        (dict(base(vim_id), vimConnectionInfo={"v": {"vimType": V3}}), "no vimId"),
        (dict(base(vim_id), vimConnectionInfo={"v": "site1"}), "entry is a string"),
        (dict(base(vim_id), vimConnectionInfo={"a": good, "b": {"vimId": "nope",
                                                                "vimType": V3}}),
         "unknown id next to a known one"),
        (dict(base(vim_id), vimConnectionInfo={"v": dict(good, vimType="kubernetes")}),
         "vimType kubernetes"),
        (dict(base(vim_id), localizationLanguage=5), "localizationLanguage: 5"),
        (dict(base(vim_id), extensions="x"), 'extensions: "x"'),
        (dict(base(vim_id), vnfConfigurableProperties=[1]), "vnfConfigurableProperties: [1]"),
        (dict(base(vim_id), additionalParams={"x": NAN}), "NaN"),
        (dict(base(vim_id), vimConnectionInfo={"v": dict(good, vimId=[vim_id])}),
         "vimId as a list"),
        (dict(base(vim_id), vimConnectionInfo={"v": dict(good, accessInfo="x")}),
         "accessInfo as a string"),
        (dict(base(vim_id), bogus=1), "unknown top-level key"),
    ]
    return cases


@settings(max_examples=max(10, settings.default.max_examples // 4))
@given(data=st.data())
@example(data=None)
def test_bad_create_with_instantiate_request_leaves_no_instance(world, data):
    # Both requests are checked before the instance is created: a refused one,
    # whether the schema or the VIM registry refuses it, writes nothing.
    if data is None:  # the issue's cases
        for request, label in issue_cases(world.vim.id):
            path = write(world, json.dumps(request, allow_nan=True).encode())
            check(world, ["vnflcm", "create", world.package.vnfd_id, "--I", path], label)
        return
    raw, label = data.draw(bad_instantiate(world.vim.id))
    check(world, ["vnflcm", "create", world.package.vnfd_id, "--I", write(world, raw)],
          label)


bad_params = st.one_of(
    not_object.filter(lambda v: v is not None).map(json.dumps),
    st.sampled_from([NAN, float("inf")]).map(lambda v: json.dumps({"x": v})),
    yaml_hostile.map(lambda raw: '{"x": ' + raw + "}"),
    st.just(ALIAS_BOMB), st.just(NESTED))


@settings(max_examples=max(10, settings.default.max_examples // 4))
@given(text=bad_params, command=st.sampled_from(["scale", "heal"]))
def test_bad_additional_params_file(world, text, command):
    path = write(world, text.encode("utf-8", "surrogatepass"))
    extra = (["--type", "SCALE_OUT", "--aspect-id", "VDU1_scale"]
             if command == "scale" else [])
    check(world, ["vnflcm", command, world.vnf.id, *extra, "--additional-param-file",
                  path], f"{command} params {text[:120]!r}")


@pytest.mark.parametrize("argv", [
    ["vnflcm", "instantiate", "{vnf}", "/dev/zero"],
    ["vnflcm", "create", "{vnfd}", "--I", "/dev/zero"],
    ["vnflcm", "scale", "{vnf}", "--type", "SCALE_OUT", "--aspect-id", "VDU1_scale",
     "--additional-param-file", "/dev/zero"],
    ["vnflcm", "heal", "{vnf}", "--additional-param-file", "/dev/zero"],
])
def test_dev_zero_as_request_file(world, argv):
    argv = [a.format(vnf=world.vnf.id, vnfd=world.package.vnfd_id) for a in argv]
    check(world, argv, "/dev/zero")


def test_a_valid_request_still_starts_an_operation(world):
    """The generators' base request is valid: it starts an instantiate."""
    path = write(world, json.dumps(base(world.vim.id)).encode())
    outcome = run_cli(["vnflcm", "create", world.package.vnfd_id, "--I", path])
    assert outcome.code == 0, outcome.err
    assert world.spawned, "no worker was asked to start"
    world.snapshot()
