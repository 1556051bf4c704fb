"""The Nova driver and the OPERATE plan on a VIM whose catalog has a compute service.

Nova is requests-mock built from the compute API reference (v2.1): server
actions answer 202 with no body; ``GET /servers/{id}`` answers the server
with its ``status``; an action the server's state does not allow answers
409 ``conflictingRequest``; an unknown server 404 ``itemNotFound``.
"""

from __future__ import annotations

import pytest
from keystoneauth1 import fixture, session

from nfvlib.exceptions import Conflict, WaitTimeout
from nfvlib.models import OpState
from nfvlib.nova import NovaClient, NovaError, ServerNotFound
from tests.unit.conftest import AUTH_URL, HEAT

NOVA = "http://nova.test:8774/v2.1"
SERVER = "8f3cf1b2-0e6a-4b9e-9c41-4e5b7d3a2c11"


def server_body(server_id: str, status: str) -> dict:
    vm_state = {"ACTIVE": "active", "SHUTOFF": "stopped", "REBOOT": "active",
                "HARD_REBOOT": "active", "ERROR": "error"}[status]
    return {"server": {"id": server_id, "name": "vdu", "status": status,
                       "OS-EXT-STS:vm_state": vm_state, "OS-EXT-STS:task_state": None,
                       "tenant_id": "p1", "addresses": {}}}


class FakeNova:
    """Servers whose status moves one poll after an action, as Nova's would."""

    def __init__(self, mocker, url: str = NOVA) -> None:
        self.status: dict[str, str] = {}
        self.next: dict[str, list[str]] = {}
        self.actions: list[tuple[str, dict]] = []
        mocker.get(requests_re(url, r"/servers/([^/]+)$"), json=self._show,
                   headers={"Content-Type": "application/json"})
        mocker.post(requests_re(url, r"/servers/([^/]+)/action$"), text=self._act)

    def add(self, server_id: str, status: str = "ACTIVE") -> None:
        self.status[server_id] = status

    def _id(self, request) -> str:
        return request.path.split("/servers/")[1].split("/")[0]

    def _show(self, request, context):
        server_id = self._id(request)
        if server_id not in self.status:
            context.status_code = 404
            return {"itemNotFound": {"code": 404, "message":
                                     f"Instance {server_id} could not be found."}}
        queue = self.next.get(server_id)
        if queue:
            self.status[server_id] = queue.pop(0)
        return server_body(server_id, self.status[server_id])

    def _act(self, request, context):
        server_id = self._id(request)
        body = request.json()
        self.actions.append((server_id, body))
        status = self.status.get(server_id)
        verb = next(iter(body))
        allowed = {"os-start": "SHUTOFF", "os-stop": "ACTIVE"}.get(verb)
        if allowed is not None and status != allowed:
            context.status_code = 409
            context.headers["Content-Type"] = "application/json"
            word = verb.split("-")[1]
            return ('{"conflictingRequest": {"code": 409, "message": "Cannot \'%s\' '
                    'instance %s while it is in vm_state %s"}}'
                    % (word, server_id, server_body(server_id, status)["server"][
                        "OS-EXT-STS:vm_state"]))
        if verb == "os-start":
            self.next[server_id] = ["SHUTOFF", "ACTIVE"]
        elif verb == "os-stop":
            self.next[server_id] = ["ACTIVE", "SHUTOFF"]
        else:
            kind = body["reboot"]["type"]
            self.status[server_id] = "HARD_REBOOT" if kind == "HARD" else "REBOOT"
            self.next[server_id] = ["ACTIVE"]
        context.status_code = 202
        return ""


def requests_re(url: str, tail: str):
    import re

    return re.compile(re.escape(url) + tail)


@pytest.fixture
def nova(requests_mock):
    fake = FakeNova(requests_mock)
    fake.add(SERVER)
    sleeps = []
    client = NovaClient(session.Session(), endpoint_override=NOVA,
                        sleep=sleeps.append, clock=lambda: float(len(sleeps)))
    return fake, client, sleeps


def test_stop_then_start_waits_for_the_status(nova):
    fake, client, _ = nova
    client.stop(SERVER)
    assert client.wait_for_status(SERVER, "SHUTOFF")["status"] == "SHUTOFF"
    client.start(SERVER)
    assert client.wait_for_status(SERVER, "ACTIVE")["status"] == "ACTIVE"
    assert [body for _, body in fake.actions] == [{"os-stop": None}, {"os-start": None}]


@pytest.mark.parametrize("hard, kind", [(False, "SOFT"), (True, "HARD")])
def test_reboot_sends_its_type_and_waits_for_active(nova, hard, kind):
    fake, client, _ = nova
    client.reboot(SERVER, hard=hard)
    assert fake.status[SERVER] == ("HARD_REBOOT" if hard else "REBOOT")
    assert client.wait_for_status(SERVER, "ACTIVE")["status"] == "ACTIVE"
    assert fake.actions == [(SERVER, {"reboot": {"type": kind}})]


def test_an_action_the_state_does_not_allow_is_a_conflict_with_novas_words(nova):
    _, client, _ = nova
    with pytest.raises(Conflict, match="Cannot 'start' instance .* vm_state active"):
        client.start(SERVER)


def test_an_unknown_server_is_not_found(nova):
    _, client, _ = nova
    with pytest.raises(ServerNotFound, match="could not be found"):
        client.get_server("nope")


def test_error_status_fails_the_wait_at_once(nova):
    fake, client, sleeps = nova
    fake.status[SERVER] = "ERROR"
    with pytest.raises(NovaError, match="is ERROR, not ACTIVE"):
        client.wait_for_status(SERVER, "ACTIVE")
    assert sleeps == []


def test_the_wait_is_bounded(nova):
    fake, client, _ = nova
    fake.status[SERVER] = "REBOOT"
    with pytest.raises(WaitTimeout, match="still REBOOT"):
        client.wait_for_status(SERVER, "ACTIVE", timeout=5)


# -- the OPERATE plan on a VIM with Nova ---------------------------------------------
@pytest.fixture
def compute_world(nfv_home, keystone, requests_mock, monkeypatch):
    """The in-process LCM world, with a compute service in the VIM's catalog."""
    from tests.unit.lcm.test_operate import OperateWorld
    from tests.unit.lcm.world import make_world

    token = fixture.V3Token(project_id="p1", project_name="demo", user_id="u1",
                            user_name="alice")
    heat = token.add_service("orchestration", name="heat")
    for region, url in HEAT.items():
        heat.add_standard_endpoints(public=url, region=region)
    token.add_service("compute", name="nova").add_standard_endpoints(
        public=NOVA, region="RegionOne")
    requests_mock.post(AUTH_URL + "/auth/tokens", json=token,
                       headers={"X-Subject-Token": "tok"}, status_code=201)
    monkeypatch.setattr("nfvlib.nova.POLL_FIRST", 0.001)
    monkeypatch.setattr("nfvlib.nova.POLL_CAP", 0.001)
    world = make_world(requests_mock, monkeypatch, world=OperateWorld)
    yield world, FakeNova(requests_mock)
    world.services.close()


def test_a_vnf_on_a_vim_with_nova_stops_and_starts_each_server(compute_world):
    world, fake = compute_world
    vnf = world.instantiated()
    servers = {c.id: c.vdu_id for c in vnf.vnfc}
    for server_id in servers:
        fake.add(server_id)
    stop = world.done(world.lcm.operate(vnf.id, "STOPPED"))
    assert stop.state is OpState.COMPLETED, stop.error
    assert set(fake.status.values()) == {"SHUTOFF"}
    # Reverse order: VDU2's server before VDU1's.
    assert [servers[s] for s, _ in fake.actions] == ["VDU2", "VDU1"]
    # Heat was not asked to suspend anything.
    assert world.actions() == []
    assert world.services.vnfs.get_vnf(vnf.id).operational_state.value == "STOPPED"

    vdu1 = next(s for s, v in servers.items() if v == "VDU1")
    start_one = world.done(world.lcm.operate(vnf.id, "STARTED", vnfc_instance_ids=[vdu1]))
    assert start_one.state is OpState.COMPLETED, start_one.error
    assert fake.status[vdu1] == "ACTIVE"
    assert fake.actions[-1] == (vdu1, {"os-start": None})
