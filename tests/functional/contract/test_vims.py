"""The VIM registry's contract: register, list, show, set, delete and their errors.

Local mode registers against the sandbox's real Keystone; Tacker does the
same on its side; the fake answers as Tacker does (typed HTTP 500 errors).
"""

from __future__ import annotations

import json
import uuid

import pytest
import yaml

from nfvlib import Conflict
from nfvlib.exceptions import AuthFailed, Unreachable, VimNotFound
from nfvlib.sandbox import process
from tests.functional.contract.conftest import NO_SUCH_ID


def test_register_list_show_set_delete(backend):
    vims = backend.client.vims
    [default] = [v for v in vims.list_vims() if v.name == "sandbox"]
    assert default.is_default and default.auth_url == backend.site["auth_url"]
    name = f"extra-{uuid.uuid4().hex[:6]}"
    vim = vims.register_vim(name, backend.site, description="second")
    try:
        assert (vim.name, vim.description, vim.is_default) == (name, "second", False)
        assert vim.auth_url == backend.site["auth_url"]
        assert vim.regions == ("RegionOne", "RegionTwo")
        assert vims.get_vim(vim.id).name == name
        assert vims.find_vim(name).id == vim.id
        assert name in {v.name for v in vims.list_vims()}
        assert vims.update_vim(vim.id, description="changed").description == "changed"
        assert vims.get_vim(vim.id).description == "changed"  # read back
        for shown in (vim, vims.get_vim(vim.id), *vims.list_vims()):
            assert backend.site["password"] not in json.dumps(shown.to_dict())
            assert shown.to_dict()["auth_cred"]["password"] == "***"
    finally:
        vims.delete_vim(vim.id)
    assert name not in {v.name for v in vims.list_vims()}
    with pytest.raises(VimNotFound):
        vims.get_vim(vim.id)


def test_errors_store_nothing(backend):
    vims = backend.client.vims
    before = sorted(v.id for v in vims.list_vims())
    with pytest.raises(Conflict):  # Tacker: 409 DuplicateEntity
        vims.register_vim("sandbox", backend.site)
    with pytest.raises(Conflict):  # Tacker: 500 VimDefaultDuplicateException
        vims.register_vim(f"d-{uuid.uuid4().hex[:6]}", backend.site, is_default=True)
    with pytest.raises(AuthFailed):  # Tacker: 500 VimUnauthorizedException
        vims.register_vim(f"w-{uuid.uuid4().hex[:6]}", dict(backend.site, password="wrong"))
    with pytest.raises(Unreachable):  # Tacker: 500 VimConnectionException
        vims.register_vim(f"u-{uuid.uuid4().hex[:6]}", dict(
            backend.site, auth_url=f"http://127.0.0.1:{process.free_port()}/v3"))
    with pytest.raises(VimNotFound):  # Tacker: 500 VimNotFoundException
        vims.get_vim(NO_SUCH_ID)
    with pytest.raises(VimNotFound):
        vims.delete_vim(NO_SUCH_ID)
    with pytest.raises(VimNotFound):
        vims.update_vim(NO_SUCH_ID, description="x")
    assert sorted(v.id for v in vims.list_vims()) == before


def test_vim_commands_through_openstack(backend, tmp_path):
    config = tmp_path / "vim.yaml"
    config.write_text(yaml.safe_dump(backend.site))
    name = f"osc-{uuid.uuid4().hex[:6]}"
    code, out, err = backend.openstack("vim", "register", "--config-file", str(config),
                                       "--description", "by osc", name, "-f", "json")
    assert code == 0, err
    registered = json.loads(out)
    try:
        assert registered["name"] == name and registered["is_default"] is False
        assert backend.client.vims.get_vim(registered["id"]).description == "by osc"
        code, out, err = backend.openstack("vim", "list", "-f", "json")
        assert code == 0, err
        assert {row["Name"] for row in json.loads(out)} >= {"sandbox", name}
        code, _, err = backend.openstack("vim", "set", name, "--description", "set by osc")
        assert code == 0, err
        code, out, err = backend.openstack("vim", "show", name, "-f", "json")
        assert code == 0, err
        shown = json.loads(out)
        assert shown["description"] == "set by osc" and shown["id"] == registered["id"]
        assert shown["auth_cred"]["password"] == "***"
        assert backend.site["password"] not in out
        # Errors: one line, the exit code of their cause, in every backend.
        code, _, err = backend.openstack("vim", "show", NO_SUCH_ID)
        assert code == 3 and len(err.strip().splitlines()) == 1, err
        code, _, err = backend.openstack("vim", "set", name, "--is-default", "True")
        assert code == 4 and len(err.strip().splitlines()) == 1, err
        code, _, err = backend.openstack("vim", "register", "--config-file", str(config),
                                         name)
        assert code == 4 and len(err.strip().splitlines()) == 1, err
    finally:
        code, _, err = backend.openstack("vim", "delete", name)
        assert code == 0, err
    assert name not in {v.name for v in backend.client.vims.list_vims()}
