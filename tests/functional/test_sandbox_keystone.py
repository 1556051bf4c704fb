"""A real Keystone started by nfvlib.sandbox: lifecycle, ports and admin helpers."""

from __future__ import annotations

import json
import socket
import stat
import time
import urllib.request
import uuid

import pytest

from nfvlib.sandbox import process
from nfvlib.sandbox.keystone import KeystoneService

HEAT_URL = "http://127.0.0.1:8004/v1/%(tenant_id)s"


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _get_json(url: str) -> dict:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as resp:
        return json.load(resp)


def _session(auth_url: str, username: str, password: str, project_name: str):
    import requests
    from keystoneauth1 import session
    from keystoneauth1.identity import v3

    http = requests.Session()
    http.trust_env = False
    return session.Session(auth=v3.Password(
        auth_url=auth_url, username=username, password=password,
        project_name=project_name, user_domain_name="Default",
        project_domain_name="Default"), session=http)


@pytest.fixture
def scratch_region(keystone_service):
    """Makes unique region names; removes them and their endpoints afterwards.

    Other tests share this Keystone and expect exactly RegionOne and RegionTwo.
    """
    made: list[str] = []

    def new(prefix: str) -> str:
        made.append(_unique(prefix))
        return made[-1]

    yield new
    admin, url = keystone_service.admin_session(), keystone_service.auth_url
    for endpoint in admin.get(url + "/endpoints").json()["endpoints"]:
        if endpoint.get("region_id") in made:
            admin.delete(f"{url}/endpoints/{endpoint['id']}")
    for region in made:
        admin.delete(f"{url}/regions/{region}", raise_exc=False)
    remaining = {r["id"] for r in admin.get(url + "/regions").json()["regions"]}
    assert not remaining & set(made)


def test_v3_answers_and_status_is_complete(keystone_service):
    body = _get_json(keystone_service.auth_url)
    assert body["version"]["id"].startswith("v3")
    status = keystone_service.status()
    assert status["running"] and status["port"] == keystone_service.port
    assert status["url"] == keystone_service.auth_url
    assert status["version"] == "30.0.0"
    assert status["rss_kb"] > 50_000


def test_admin_password_is_private(keystone_service):
    mode = stat.S_IMODE(keystone_service.state_file.stat().st_mode)
    assert mode == 0o600
    password = keystone_service.admin_credentials["password"]
    assert len(password) >= 24
    assert password not in keystone_service.log_file.read_text()
    assert password not in keystone_service.conf_file.read_text()


def test_start_again_is_fast_and_keeps_the_process(keystone_service):
    before = keystone_service.status()["pid"]
    began = time.monotonic()
    after = keystone_service.start()
    assert time.monotonic() - began < 1.0
    assert after["pid"] == before and after["running"]


def test_project_user_password_auth(keystone_service):
    from keystoneauth1 import exceptions

    project, user = _unique("proj"), _unique("user")
    ids = keystone_service.ensure_project_user(project, user, "right-pass")
    assert keystone_service.ensure_project_user(project, user, "right-pass") == ids

    good = _session(keystone_service.auth_url, user, "right-pass", project)
    assert good.get_token()
    assert good.get_project_id() == ids["project_id"]
    assert good.get_user_id() == ids["user_id"]

    bad = _session(keystone_service.auth_url, user, "wrong-pass", project)
    with pytest.raises(exceptions.Unauthorized):
        bad.get_token()


def test_password_change_takes_effect(keystone_service):
    from keystoneauth1 import exceptions

    project, user = _unique("proj"), _unique("user")
    keystone_service.ensure_project_user(project, user, "first-pass")
    keystone_service.set_user_password(user, "second-pass")
    with pytest.raises(exceptions.Unauthorized):
        _session(keystone_service.auth_url, user, "first-pass", project).get_token()
    assert _session(keystone_service.auth_url, user, "second-pass", project).get_token()

    # ensure_project_user puts back the password it is given.
    keystone_service.ensure_project_user(project, user, "third-pass")
    assert _session(keystone_service.auth_url, user, "third-pass", project).get_token()


def test_second_region_is_created_once_and_listed(keystone_service, scratch_region):
    region = scratch_region("RegionX")
    assert keystone_service.ensure_region(region)["id"] == region
    assert keystone_service.ensure_region(region)["id"] == region
    project, user = _unique("proj"), _unique("user")
    keystone_service.ensure_project_user(project, user, "pass")
    member = _session(keystone_service.auth_url, user, "pass", project)
    listed = member.get(keystone_service.auth_url + "/regions").json()["regions"]
    ids = [r["id"] for r in listed]
    assert region in ids and "RegionOne" in ids and ids.count(region) == 1


def test_orchestration_endpoints_per_region(keystone_service, scratch_region):
    one, two = scratch_region("RegionA"), scratch_region("RegionB")
    url_two = "http://127.0.0.1:18004/v1/%(tenant_id)s"
    first = keystone_service.ensure_service_endpoints("orchestration", "heat",
                                                      HEAT_URL, [one])
    keystone_service.ensure_service_endpoints("orchestration", "heat", url_two, [two])
    again = keystone_service.ensure_service_endpoints("orchestration", "heat",
                                                      HEAT_URL, [one])
    assert again == first and set(first["endpoints"][one]) == {
        "public", "internal", "admin"}

    project, user = _unique("proj"), _unique("user")
    ids = keystone_service.ensure_project_user(project, user, "pass")
    member = _session(keystone_service.auth_url, user, "pass", project)
    pid = ids["project_id"]
    assert member.get_endpoint(service_type="orchestration", region_name=one,
                               interface="public") == f"http://127.0.0.1:8004/v1/{pid}"
    assert member.get_endpoint(service_type="orchestration", region_name=two,
                               interface="internal") == f"http://127.0.0.1:18004/v1/{pid}"

    # A changed URL updates the endpoints in place.
    moved = keystone_service.ensure_service_endpoints(
        "orchestration", "heat", "http://127.0.0.1:28004/v1/%(tenant_id)s", [two])
    member = _session(keystone_service.auth_url, user, "pass", project)
    assert member.get_endpoint(service_type="orchestration", region_name=two,
                               interface="public") == f"http://127.0.0.1:28004/v1/{pid}"
    admin = keystone_service.admin_session()
    endpoints = admin.get(keystone_service.auth_url + "/endpoints?service_id="
                          + moved["service_id"]).json()["endpoints"]
    assert sum(e["region_id"] == two for e in endpoints) == 3


def _identity_url(service: KeystoneService) -> str:
    return service.admin_session().get_endpoint(
        service_type="identity", interface="public", region_name="RegionOne")


def test_busy_port_stop_and_moved_restart(keystone_service, tmp_path):
    busy = keystone_service.port
    second = KeystoneService(tmp_path / "second", keystone_service.cache_dir, port=busy)
    try:
        status = second.start()
        assert status["port"] != busy and status["running"]
        assert _get_json(second.auth_url)["version"]["id"].startswith("v3")
        assert _identity_url(second) == second.auth_url

        pid = status["pid"]
        assert second.stop() is True
        assert not process.pid_alive(pid)
        assert process.read_pid(second.pid_file) is None
        assert second.status()["running"] is False
        assert second.stop() is False

        # Its own port is taken while it is down: it moves and re-bootstraps.
        with socket.socket() as squatter:
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.1", status["port"]))
            squatter.listen()
            second.preferred_port = None
            moved = second.start()
        assert moved["port"] not in (busy, status["port"])
        assert _identity_url(second) == second.auth_url
    finally:
        second.stop()
