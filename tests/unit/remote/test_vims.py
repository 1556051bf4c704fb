"""The remote VIM registry against a Tacker API served by requests-mock."""

from __future__ import annotations

import copy

import pytest
import requests
from keystoneauth1 import session as ks_session

from nfvlib.exceptions import (AuthFailed, BackendError, Conflict, InvalidInput,
                               NotFound, Unreachable, Unsupported, VimNotFound)
from nfvlib.models import Vim, VimStatus
from nfvlib.remote.http import TackerApi
from nfvlib.remote.vims import RemoteVimRegistry, vim_from_wire

TACKER = "http://tacker.test:9890"
VIMS = TACKER + "/v1.0/vims"
ID1 = "6261579e-d6f3-49ad-8bc3-a9cb974778ff"
ID2 = "0f1c3f38-9a8d-4bb0-b8e3-1f2e6b8e6a10"
ID3 = "a7e2b7c6-1b5e-4e1b-9f1e-3b3f4c2d1e00"

WIRE = {
    "id": ID1, "name": "site1", "tenant_id": "t-1", "type": "openstack",
    "description": "first site", "auth_url": "http://keystone.test/identity/v3",
    "auth_cred": {"username": "alice", "password": "***",
                  "user_domain_name": "UD", "cert_verify": "True",
                  "project_id": "p-1", "project_name": "demo",
                  "key_type": "fernet_key", "secret_uuid": "***"},
    "vim_project": {"name": "demo", "project_domain_name": "PD"},
    "placement_attr": {"regions": ["RegionOne", "RegionTwo"]},
    "is_default": True, "status": "REACHABLE",
    "created_at": "2024-01-01 00:00:00", "updated_at": None,
    "extra": {"k": "v"},
}


def wire(**overrides):
    body = copy.deepcopy(WIRE)
    body.update(overrides)
    return body


CONFIG = {"auth_url": "http://keystone.test/identity", "username": "alice",
          "password": "s3cret", "project_name": "demo",
          "project_domain_name": "PD", "user_domain_name": "UD",
          "cert_verify": False, "type": "openstack"}


def tacker_error(message):
    return {"TackerError": {"type": "SomeError", "message": message, "detail": ""}}


@pytest.fixture
def registry():
    api = TackerApi(ks_session.Session(), endpoint_override=TACKER)
    return RemoteVimRegistry(api)


@pytest.fixture
def three_vims(requests_mock):
    vims = [wire(),
            wire(id=ID2, name="twin", is_default=False),
            wire(id=ID3, name="twin", is_default=False)]
    requests_mock.get(VIMS, json={"vims": vims})
    return vims


def methods(requests_mock):
    return [(r.method, r.path) for r in requests_mock.request_history]


# -- reads -------------------------------------------------------------------

def test_list(registry, three_vims, requests_mock):
    vims = registry.list_vims()
    assert [(v.id, v.name) for v in vims] == [(ID1, "site1"), (ID2, "twin"),
                                             (ID3, "twin")]
    assert all(isinstance(v, Vim) for v in vims)
    assert methods(requests_mock) == [("GET", "/v1.0/vims")]


def test_list_empty(registry, requests_mock):
    requests_mock.get(VIMS, json={"vims": []})
    assert registry.list_vims() == []


def test_get(registry, requests_mock):
    requests_mock.get(f"{VIMS}/{ID1}", json={"vim": wire()})
    vim = registry.get_vim(ID1)
    assert vim.id == ID1
    assert vim.name == "site1"
    assert vim.tenant_id == "t-1"
    assert vim.description == "first site"
    assert vim.is_default is True
    assert vim.regions == ("RegionOne", "RegionTwo")
    assert vim.project_id == "p-1"
    assert vim.status is VimStatus.REACHABLE
    assert vim.extra == {"k": "v"}
    cred = vim.credentials
    assert (cred.auth_url, cred.username, cred.project_name,
            cred.project_domain_name, cred.user_domain_name, cred.cert_verify) == (
        "http://keystone.test/identity/v3", "alice", "demo", "PD", "UD", True)
    assert cred.password is None  # the masked wire password is not kept


def test_get_missing_is_vim_not_found(registry, requests_mock):
    requests_mock.get(f"{VIMS}/{ID1}", status_code=404, json=tacker_error(
        f"Specified VIM id {ID1} is invalid. Please verify and pass a valid VIM id"))
    with pytest.raises(VimNotFound) as info:
        registry.get_vim(ID1)
    assert f"Specified VIM id {ID1} is invalid" in str(info.value)


def test_find_by_id_and_by_name(registry, three_vims):
    assert registry.find_vim(ID2).id == ID2
    assert registry.find_vim("site1").id == ID1


def test_find_by_id_wins_over_a_name(registry, requests_mock):
    requests_mock.get(VIMS, json={"vims": [wire(id=ID2, name=ID1),
                                           wire(id=ID1, name="real")]})
    assert registry.find_vim(ID1).name == "real"


def test_find_unknown(registry, three_vims):
    with pytest.raises(VimNotFound) as info:
        registry.find_vim("nowhere")
    assert "'nowhere'" in str(info.value)
    assert "\n" not in str(info.value)


def test_find_ambiguous_name(registry, three_vims):
    with pytest.raises(Conflict) as info:
        registry.find_vim("twin")
    assert "2 VIMs are named 'twin'" in str(info.value)
    assert "id" in info.value.hint


# -- register ----------------------------------------------------------------

def test_register_sends_tacker_body(registry, requests_mock):
    post = requests_mock.post(VIMS, status_code=201, json={"vim": wire(is_default=False)})
    vim = registry.register_vim("site1", CONFIG, description="first site",
                                is_default=True)
    assert post.call_count == 1
    assert post.last_request.headers["Content-Type"] == "application/json"
    assert post.last_request.json() == {"vim": {
        "name": "site1",
        "description": "first site",
        "is_default": True,
        "type": "openstack",
        "auth_url": "http://keystone.test/identity/v3",
        "auth_cred": {"username": "alice", "password": "s3cret",
                      "user_domain_name": "UD", "cert_verify": "False"},
        "vim_project": {"name": "demo", "project_domain_name": "PD"},
    }}
    assert vim.id == ID1 and vim.is_default is False  # what the server said


def test_register_with_tenant_and_string_password(registry, requests_mock):
    post = requests_mock.post(VIMS, status_code=201, json={"vim": wire()})
    config = dict(CONFIG, password=123456, cert_verify="True")
    registry.register_vim("site1", config, tenant_id="t-9")
    body = post.last_request.json()["vim"]
    assert body["tenant_id"] == "t-9"
    assert body["description"] == ""
    assert body["is_default"] is False
    assert body["auth_cred"]["password"] == "123456"
    assert body["auth_cred"]["cert_verify"] == "True"


def test_register_checks_the_config_before_sending(registry, requests_mock):
    post = requests_mock.post(VIMS, json={"vim": wire()})
    with pytest.raises(InvalidInput, match="missing key"):
        registry.register_vim("site1", {"username": "alice"})
    with pytest.raises(InvalidInput, match="unknown key"):
        registry.register_vim("site1", dict(CONFIG, bogus=1))
    assert post.call_count == 0


def test_register_without_type_in_config_still_sends_type(registry, requests_mock):
    post = requests_mock.post(VIMS, status_code=201, json={"vim": wire()})
    config = {k: v for k, v in CONFIG.items() if k != "type"}
    registry.register_vim("site1", config)
    assert post.last_request.json()["vim"]["type"] == "openstack"


# -- update and delete -------------------------------------------------------

def test_update_sends_put_body(registry, three_vims, requests_mock):
    put = requests_mock.put(f"{VIMS}/{ID1}",
                            json={"vim": wire(name="renamed", description="d2")})
    vim = registry.update_vim(
        "site1", config={"password": "n3w", "cert_verify": "False",
                         "project_name": "other", "type": "openstack"},
        name="renamed", description="d2", is_default=False)
    assert put.call_count == 1
    assert put.last_request.json() == {"vim": {
        "auth_cred": {"password": "n3w", "cert_verify": "False"},
        "vim_project": {"name": "other"},
        "name": "renamed", "description": "d2", "is_default": False,
    }}
    assert (vim.name, vim.description) == ("renamed", "d2")
    assert methods(requests_mock) == [("GET", "/v1.0/vims"),
                                      ("PUT", f"/v1.0/vims/{ID1}")]


def test_update_only_description(registry, three_vims, requests_mock):
    put = requests_mock.put(f"{VIMS}/{ID2}", json={"vim": wire(id=ID2)})
    registry.update_vim(ID2, description="")
    assert put.last_request.json() == {"vim": {"description": ""}}


def test_update_with_nothing_to_change(registry, three_vims, requests_mock):
    with pytest.raises(InvalidInput, match="nothing to change"):
        registry.update_vim("site1")
    with pytest.raises(InvalidInput, match="nothing to change"):
        registry.update_vim("site1", config={"type": "openstack"})
    assert all(m == "GET" for m, _ in methods(requests_mock))


def test_update_of_a_vim_deleted_meanwhile(registry, three_vims, requests_mock):
    requests_mock.put(f"{VIMS}/{ID1}", status_code=404, json=tacker_error("gone"))
    with pytest.raises(VimNotFound, match="gone"):
        registry.update_vim("site1", description="x")


def test_update_never_sends_read_only_auth_url(registry, three_vims, requests_mock):
    put = requests_mock.put(f"{VIMS}/{ID1}", json={"vim": wire()})
    config = {k: v for k, v in CONFIG.items()}
    try:
        registry.update_vim("site1", config=config)
    except InvalidInput:
        assert put.call_count == 0
    else:
        assert "auth_url" not in put.last_request.json()["vim"]


def test_delete(registry, three_vims, requests_mock):
    delete = requests_mock.delete(f"{VIMS}/{ID3}", status_code=204)
    vim = registry.delete_vim(ID3)
    assert delete.call_count == 1
    assert vim.id == ID3 and vim.name == "twin"


def test_delete_unknown_sends_nothing(registry, three_vims, requests_mock):
    with pytest.raises(VimNotFound):
        registry.delete_vim("nowhere")
    assert methods(requests_mock) == [("GET", "/v1.0/vims")]


def test_delete_ambiguous_sends_nothing(registry, three_vims, requests_mock):
    with pytest.raises(Conflict):
        registry.delete_vim("twin")
    assert methods(requests_mock) == [("GET", "/v1.0/vims")]


# -- error mapping -----------------------------------------------------------

@pytest.mark.parametrize("status, exc_type", [
    (400, InvalidInput), (422, InvalidInput), (401, AuthFailed), (403, AuthFailed),
    (409, Conflict), (404, NotFound), (500, BackendError), (503, BackendError),
])
def test_error_mapping_with_tacker_message(registry, requests_mock, status, exc_type):
    requests_mock.post(VIMS, status_code=status,
                       json=tacker_error("Default VIM already exists x."))
    with pytest.raises(exc_type) as info:
        registry.register_vim("site1", CONFIG)
    text = str(info.value)
    assert "Default VIM already exists x." in text
    assert "\n" not in text
    if exc_type is BackendError:
        assert f"HTTP {status}" in text


def test_400_surfaces_the_tacker_message(registry, requests_mock):
    requests_mock.post(VIMS, status_code=400, json=tacker_error(
        "Failed to parse request. Required attribute 'type' not specified"))
    with pytest.raises(InvalidInput) as info:
        registry.register_vim("site1", CONFIG)
    assert str(info.value) == ("Failed to parse request. Required attribute "
                               "'type' not specified")


def test_409_is_conflict(registry, requests_mock):
    requests_mock.post(VIMS, status_code=409, json=tacker_error(
        f"Default VIM already exists {ID1}."))
    with pytest.raises(Conflict, match=f"Default VIM already exists {ID1}"):
        registry.register_vim("site1", CONFIG, is_default=True)


@pytest.mark.parametrize("body, expected", [
    ({"NeutronError": {"message": "neutron-style"}}, "neutron-style"),
    ({"detail": "problem details", "status": 500}, "problem details"),
    ({"message": "plain message"}, "plain message"),
    (["odd", "body"], "['odd', 'body']"),
])
def test_other_error_bodies(registry, requests_mock, body, expected):
    requests_mock.get(VIMS, status_code=500, json=body)
    with pytest.raises(BackendError) as info:
        registry.list_vims()
    assert str(info.value) == f"Tacker answered HTTP 500: {expected}"


def test_non_json_error_body(registry, requests_mock):
    requests_mock.get(VIMS, status_code=502, text="<html>Bad Gateway</html>\n")
    with pytest.raises(BackendError, match="HTTP 502: Bad Gateway$"):
        registry.list_vims()
    # Tacker's answer to a route it lacks: an HTML page, reported on one line.
    page = ("<html>\n <head>\n  <title>404 Not Found</title>\n </head>\n <body>\n"
            "  <h1>404 Not Found</h1>\n  The resource could not be found.<br /><br />\n"
            "\n\n\n </body>\n</html>")
    requests_mock.get(VIMS, status_code=404, text=page)
    with pytest.raises(NotFound) as caught:
        registry.list_vims()
    assert str(caught.value) == ("404 Not Found 404 Not Found The resource could not "
                                 "be found.")
    requests_mock.get(VIMS, status_code=502, text="")
    with pytest.raises(BackendError, match="HTTP 502: HTTP 502"):
        registry.list_vims()


# What a real Tacker 16 answers (HTTP 500 with a typed TackerError for VIM
# errors) -> the error local mode raises for the same cause, and its exit code.
@pytest.mark.parametrize("status, kind, expected, code", [
    (500, "VimDefaultDuplicateException", Conflict, 4),
    (409, "DuplicateEntity", Conflict, 4),
    (500, "VimUnauthorizedException", AuthFailed, 5),
    (500, "VimConnectionException", Unreachable, 6),
    (500, "VimNotFoundException", VimNotFound, 3),
    (500, "VimInUseException", Conflict, 4),
    (500, "SomethingElse", BackendError, 1),
])
def test_tacker_error_type_decides_the_error(registry, requests_mock, status, kind,
                                              expected, code):
    from nfvcli.errors import exit_code

    message = f"{kind} happened"
    requests_mock.get(f"{VIMS}/{ID1}", status_code=status,
                      json={"TackerError": {"type": kind, "message": message,
                                            "detail": ""}})
    with pytest.raises(expected, match=message) as caught:
        registry.get_vim(ID1)
    assert exit_code(caught.value) == code


def test_problem_details_status_and_detail(registry, requests_mock):
    requests_mock.get(f"{VIMS}/{ID1}", status_code=409, json={
        "status": 409, "detail": "VIM is\n in use"})
    with pytest.raises(Conflict, match="^VIM is in use$"):
        registry.get_vim(ID1)


@pytest.mark.parametrize("error", [requests.exceptions.ConnectionError,
                                   requests.exceptions.ConnectTimeout])
def test_connection_error_is_unreachable(registry, requests_mock, error):
    requests_mock.get(VIMS, exc=error)
    with pytest.raises(Unreachable) as info:
        registry.list_vims()
    assert "did not answer" in str(info.value)
    assert info.value.__cause__ is not None


def test_missing_endpoint_is_unreachable(requests_mock):
    # No endpoint_override and no catalog: keystoneauth cannot find Tacker.
    from keystoneauth1 import fixture
    from keystoneauth1.identity import v3

    token = fixture.V3Token(project_id="p1")
    token.set_project_scope()
    requests_mock.post("http://keystone.test/v3/auth/tokens", json=token,
                       headers={"X-Subject-Token": "tok"}, status_code=201)
    auth = v3.Password(auth_url="http://keystone.test/v3", username="u",
                       password="p", project_name="demo",
                       user_domain_name="Default", project_domain_name="Default")
    registry = RemoteVimRegistry(TackerApi(ks_session.Session(auth=auth)))
    with pytest.raises(Unreachable, match="nfv-orchestration"):
        registry.list_vims()


# -- unsupported operations --------------------------------------------------

def test_check_vims_is_unsupported(registry, requests_mock):
    with pytest.raises(Unsupported, match="health"):
        registry.check_vims(["site1"])
    assert requests_mock.call_count == 0


def test_rotate_keys_is_unsupported(registry, requests_mock):
    with pytest.raises(Unsupported, match="local vault"):
        registry.rotate_keys()
    assert requests_mock.call_count == 0


# -- vim_from_wire -----------------------------------------------------------

@pytest.mark.parametrize("given, expected", [
    ("True", True), ("False", False), ("false", False), (" TRUE ", True),
    (True, True), (False, False), (None, False),
])
def test_vim_from_wire_cert_verify(given, expected):
    body = wire()
    body["auth_cred"]["cert_verify"] = given
    assert vim_from_wire(body).credentials.cert_verify is expected


def test_vim_from_wire_cert_verify_defaults_to_true():
    body = wire()
    del body["auth_cred"]["cert_verify"]
    assert vim_from_wire(body).credentials.cert_verify is True


@pytest.mark.parametrize("status, expected", [
    ("ACTIVE", VimStatus.ACTIVE), ("REACHABLE", VimStatus.REACHABLE),
    ("UNREACHABLE", VimStatus.UNREACHABLE), ("PENDING", VimStatus.PENDING),
    (None, VimStatus.PENDING), ("", VimStatus.PENDING),
    ("SOMETHING_NEW", VimStatus.ERROR), ("active", VimStatus.ERROR),
])
def test_vim_from_wire_status(status, expected):
    assert vim_from_wire(wire(status=status)).status is expected


def test_vim_from_wire_minimal_body():
    vim = vim_from_wire({"id": ID1, "project_id": "proj"})
    assert vim.id == ID1
    assert vim.tenant_id == "proj"
    assert vim.name == "" and vim.type == "openstack"
    assert vim.credentials.project_domain_name == "Default"
    assert vim.credentials.user_domain_name == "Default"
    assert vim.regions == () and vim.extra == {}


def test_vim_from_wire_project_name_falls_back_to_auth_cred():
    body = wire(vim_project={})
    assert vim_from_wire(body).credentials.project_name == "demo"


def test_vim_from_wire_never_keeps_a_password():
    body = wire()
    body["auth_cred"]["password"] = "clear-text"
    vim = vim_from_wire(body)
    assert vim.credentials.password is None
    assert "clear-text" not in repr(vim)
    assert "clear-text" not in str(vim.to_dict())
