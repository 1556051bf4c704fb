"""One contract, two backends: the local registry and a Tacker server's.

The same expectations run against the local registry (real store and vault,
Keystone over requests-mock) and against the remote registry talking to a
small in-memory Tacker ``/v1.0/vims`` API over requests-mock.
"""

from __future__ import annotations

import json
import re
import uuid

import pytest
from keystoneauth1 import session as ks_session

import nfvlib
from nfvlib import Conflict, VimNotFound
from nfvlib.remote.http import TackerApi
from nfvlib.remote.vims import RemoteVimRegistry
from tests.unit.conftest import AUTH_URL, vim_config

TACKER = "http://tacker.test:9890"


class FakeTacker:
    """Just enough of Tacker's VIM API: create, list, show, update, delete."""

    def __init__(self, mocker) -> None:
        self.vims: dict[str, dict] = {}
        base = re.compile(re.escape(TACKER) + r"/v1\.0/vims(?:/(?P<id>[^/?]+))?")
        for method in ("GET", "POST", "PUT", "DELETE"):
            mocker.register_uri(method, base, json=self.answer)

    def answer(self, request, context):
        match = re.search(r"/v1\.0/vims(?:/([^/?]+))?", request.path)
        vim_id = match.group(1)
        if request.method == "POST":
            body = request.json()["vim"]
            if any(v["name"] == body["name"] for v in self.vims.values()):
                context.status_code = 409
                return {"TackerError": {"message": f"VIM {body['name']} already exists"}}
            vim = {"id": str(uuid.uuid4()), "tenant_id": "t", "status": "ACTIVE",
                   "placement_attr": {"regions": ["RegionOne", "RegionTwo"]},
                   **{k: v for k, v in body.items() if k != "auth_cred"},
                   "auth_cred": dict(body["auth_cred"], password="***")}
            self.vims[vim["id"]] = vim
            context.status_code = 201
            return {"vim": vim}
        if vim_id is None:
            return {"vims": list(self.vims.values())}
        if vim_id not in self.vims:
            context.status_code = 404
            return {"TackerError": {"message": f"VIM {vim_id} could not be found"}}
        if request.method == "PUT":
            self.vims[vim_id].update(json.loads(request.body)["vim"])
        if request.method == "DELETE":
            del self.vims[vim_id]
            context.status_code = 204
            return None
        return {"vim": self.vims[vim_id]}


@pytest.fixture(params=["local", "remote"])
def registry(request, nfv_home, keystone, requests_mock):
    if request.param == "local":
        client = nfvlib.Client()
        yield client.vims
        client.close()
        return
    FakeTacker(requests_mock)
    yield RemoteVimRegistry(TackerApi(ks_session.Session(), endpoint_override=TACKER))


def test_register_find_update_delete(registry):
    vim = registry.register_vim("site1", vim_config(), description="first")
    assert (vim.name, vim.description, vim.auth_url) == ("site1", "first", AUTH_URL)
    assert vim.credentials.password is None
    assert vim.regions == ("RegionOne", "RegionTwo")
    assert registry.find_vim("site1").id == vim.id
    assert registry.find_vim(vim.id).name == "site1"
    assert [v.name for v in registry.list_vims()] == ["site1"]
    updated = registry.update_vim("site1", description="second")
    assert updated.description == "second"
    assert registry.find_vim(vim.id).description == "second"
    registry.delete_vim("site1")
    assert registry.list_vims() == []


def test_missing_and_duplicate(registry):
    with pytest.raises(VimNotFound):
        registry.find_vim("nowhere")
    with pytest.raises(VimNotFound):
        registry.delete_vim("nowhere")
    registry.register_vim("site1", vim_config())
    with pytest.raises(Conflict):
        registry.register_vim("site1", vim_config())
    assert len(registry.list_vims()) == 1


def test_password_never_comes_back(registry):
    vim = registry.register_vim("site1", vim_config(password="s3cret"))
    for shown in (vim, registry.find_vim("site1"), *registry.list_vims()):
        assert "s3cret" not in json.dumps(shown.to_dict())
        assert shown.to_dict()["auth_cred"]["password"] == "***"
