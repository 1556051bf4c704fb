"""Unit-test fixtures: an isolated nfvkit home and a Keystone over requests-mock."""

from __future__ import annotations

import pytest

AUTH_URL = "http://keystone.test:5000/v3"
HEAT = {"RegionOne": "http://heat1.test:8004/v1/p1",
        "RegionTwo": "http://heat2.test:8004/v1/p1"}


class FakeClock:
    """A clock and a sleep that only move time forward on paper."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture(autouse=True)
def _root_logging_restored():
    """Undo the handlers a CLI run adds to the root logger.

    cliff and OpenStackClient attach handlers bound to the stderr of the
    moment; a later test would log into that closed, captured stream.
    """
    import logging

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


@pytest.fixture
def nfv_home(tmp_path, monkeypatch):
    """Point every nfvkit path at a fresh temporary directory."""
    for var in ("NFV_STORE", "NFV_KEY_DIR", "NFV_CACHE_DIR", "OS_NFV_MODE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NFV_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


class FakeKeystone:
    """Registers a Keystone v3 (and Heat) on requests-mock; knobs per test."""

    def __init__(self, mocker, auth_url=AUTH_URL, heat=None, password="s3cret"):
        from keystoneauth1 import fixture

        self.mocker = mocker
        self.auth_url = auth_url
        self.password = password
        self.heat = dict(HEAT if heat is None else heat)
        token = fixture.V3Token(project_id="p1", project_name="demo",
                                user_id="u1", user_name="alice")
        if self.heat:
            service = token.add_service("orchestration", name="heat")
            for region, url in self.heat.items():
                service.add_standard_endpoints(public=url, region=region)
        mocker.get(auth_url, json={"version": {"id": "v3.14", "status": "stable"}})
        mocker.post(auth_url + "/auth/tokens", json=self._token_callback(token),
                    headers={"X-Subject-Token": "tok"}, status_code=201)
        mocker.get(auth_url + "/regions", json={"regions": [
            {"id": r} for r in sorted(self.heat) or ["RegionOne"]]})
        for url in self.heat.values():
            mocker.get(url + "/stacks", json={"stacks": []})

    def _token_callback(self, token):
        def answer(request, context):
            body = request.json()
            given = body["auth"]["identity"]["password"]["user"]["password"]
            if given != self.password:
                context.status_code = 401
                return {"error": {"code": 401, "message": "The request you have "
                                  "made requires authentication.",
                                  "title": "Unauthorized"}}
            return token
        return answer


@pytest.fixture
def keystone(requests_mock):
    """A Keystone with two regions, each with a Heat endpoint."""
    return FakeKeystone(requests_mock)


def vim_config(**overrides):
    """A VIM config mapping for :data:`AUTH_URL`."""
    config = {"auth_url": AUTH_URL, "username": "alice", "password": "s3cret",
              "project_name": "demo", "project_domain_name": "Default",
              "user_domain_name": "Default", "cert_verify": True}
    config.update(overrides)
    return config
