"""Subscriptions and notifications against a real HTTP receiver.

The receiver is an ``http.server`` on 127.0.0.1 started by each test; the
occurrences run in this process with the plan runner and the stateful fake
Heat (see test_plans.py). Assertions are on what the receiver got.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from nfvlib.exceptions import InvalidInput, NotFound, Unreachable
from nfvlib.lcm import engine, notify
from nfvlib.lcm.notify import LocalSubscriptions
from nfvlib.models import OpState
from tests.unit.lcm.test_plans import FAIL_SCALE_END, LEVEL_1, Crash, world  # noqa: F401

USER, PASSWORD = "nfvo", "cb-pass-Secret1"
#: A filter for the occurrence notifications alone (not the instances' creation)
OP_OCC_ONLY = {"notificationTypes": ["VnfLcmOperationOccurrenceNotification"]}


class Receiver:
    """A notification receiver: GET answers 204, POST answers ``status``."""

    def __init__(self, port: int = 0, auth: tuple[str, str] | None = None) -> None:
        self.received: list[dict] = []
        self.gets: list[dict] = []
        self.status = 204
        self.auth = auth
        self.port = port
        self.server = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/callback"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def _authorized(self) -> bool:
                if receiver.auth is None:
                    return True
                token = base64.b64encode(":".join(receiver.auth).encode()).decode()
                return self.headers.get("Authorization") == f"Basic {token}"

            def do_GET(self):  # noqa: N802
                receiver.gets.append({"path": self.path,
                                      "auth": self.headers.get("Authorization")})
                self.send_response(204 if self._authorized() else 401)
                self.end_headers()

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if not self._authorized():
                    self.send_response(401)
                elif receiver.status == 204:
                    receiver.received.append(body)
                    self.send_response(204)
                else:
                    self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def states(self, op_id: str | None = None) -> list[tuple[str, str]]:
        return [(b["operationState"], b["notificationStatus"]) for b in self.received
                if b["notificationType"] == "VnfLcmOperationOccurrenceNotification"
                and (op_id is None or b["vnfLcmOpOccId"] == op_id)]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        end = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < end:
            time.sleep(0.01)
        return self.received


@pytest.fixture
def receiver():
    r = Receiver(auth=(USER, PASSWORD))
    yield r
    r.stop()


@pytest.fixture
def subs(world, requests_mock, monkeypatch):  # noqa: F811
    """The world's subscriptions; HTTP to 127.0.0.1 goes to the real receiver.

    A run that ends waits for its deliveries only briefly here.
    """
    requests_mock.real_http = True
    monkeypatch.setattr(notify, "DRAIN_SECONDS", 1.0)
    return LocalSubscriptions(world.services.store, world.services.vims.vault)


def _request(url, **extra):
    return {"callbackUri": url, "authentication": {
        "authType": ["BASIC"], "paramsBasic": {"userName": USER, "password": PASSWORD}},
        **extra}


# -- subscriptions -----------------------------------------------------------------------
def test_create_tests_the_callback_with_get_and_keeps_the_password_sealed(
        subs, receiver, world):  # noqa: F811
    sub = subs.create_subscription(_request(receiver.url))

    token = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    assert receiver.gets == [{"path": "/callback", "auth": f"Basic {token}"}]
    assert sub.authentication["paramsBasic"] == {"userName": USER, "password": "***"}
    assert subs.get_subscription(sub.id).authentication["paramsBasic"]["password"] == "***"
    assert [s.id for s in subs.list_subscriptions()] == [sub.id]
    raw = sqlite3.connect(world.services.store.path).execute(
        "SELECT authentication FROM subscriptions").fetchone()[0]
    assert PASSWORD not in raw and "sealed:v1:" in raw
    assert PASSWORD not in world.services.store.path.read_bytes().decode("latin-1")


def test_list_filters_in_the_sol013_grammar(subs, receiver):
    scale = subs.create_subscription(_request(receiver.url, filter={
        "operationTypes": ["SCALE"]}))
    heal = subs.create_subscription(_request(receiver.url, filter={
        "operationTypes": ["HEAL"]}, verbosity="SHORT"))

    def ids(text):
        return [s.id for s in subs.list_subscriptions(filter=text)]

    assert ids("(cont,filter/operationTypes,SCALE)") == [scale.id]
    assert ids("(eq,verbosity,SHORT)") == [heal.id]
    assert ids(f"(neq,id,{scale.id});(eq,callbackUri,{receiver.url})") == [heal.id]
    assert sorted(ids(None)) == sorted([scale.id, heal.id])
    with pytest.raises(InvalidInput, match="authentication"):
        ids("(eq,authentication/paramsBasic/password,x)")


def test_a_callback_that_does_not_answer_204_is_refused_and_nothing_stored(
        subs, receiver):
    with pytest.raises(InvalidInput, match="answered the test GET with HTTP 401, not 204"):
        subs.create_subscription(_request(receiver.url) | {"authentication": {
            "authType": ["BASIC"], "paramsBasic": {"userName": USER,
                                                   "password": "wrong"}}})
    receiver.stop()
    with pytest.raises(Unreachable, match="did not answer the test GET"):
        subs.create_subscription(_request(receiver.url))
    receiver.start()
    assert subs.list_subscriptions() == []


@pytest.mark.parametrize("request_body, field", [
    ({}, "the request: 'callbackUri' is a required property"),
    ({"callbackUri": "ftp://x"}, "callbackUri"),
    ({"callbackUri": "http://x", "filter": {"operationTypes": ["FLY"]}},
     "filter.operationTypes[0]"),
    ({"callbackUri": "http://x", "authentication": {"authType": ["OAUTH2_CLIENT_"
                                                                 "CREDENTIALS"]}},
     "only BASIC is"),
])
def test_a_bad_request_names_the_field(subs, request_body, field):
    with pytest.raises(InvalidInput) as err:
        subs.create_subscription(request_body)
    assert field in str(err.value) and "\n" not in str(err.value)


def test_delete_removes_the_subscription_and_its_undelivered_notifications(
        subs, receiver, world):  # noqa: F811
    sub = subs.create_subscription(_request(receiver.url))
    receiver.status = 500
    world.done(world.lcm.instantiate(world.new_vnf().id, LEVEL_1))
    assert subs.list_deliveries(sub.id)
    subs.delete_subscription(sub.id)
    assert subs.list_deliveries() == []
    with pytest.raises(NotFound):
        subs.get_subscription(sub.id)


# -- notification sequences ------------------------------------------------------------
def test_a_successful_instantiate_notifies_start_processing_and_result(
        subs, receiver, world):  # noqa: F811
    sub = subs.create_subscription(_request(receiver.url, filter=OP_OCC_ONLY))
    vnf = world.new_vnf()
    op = world.done(world.lcm.instantiate(vnf.id, LEVEL_1))
    assert op.state is OpState.COMPLETED

    got = receiver.wait_for(3)
    assert receiver.states() == [("STARTING", "START"), ("PROCESSING", "START"),
                                 ("COMPLETED", "RESULT")]
    for body in got:
        assert body["notificationType"] == "VnfLcmOperationOccurrenceNotification"
        assert body["subscriptionId"] == sub.id
        assert body["vnfInstanceId"] == vnf.id and body["vnfLcmOpOccId"] == op.id
        assert body["operation"] == "INSTANTIATE"
        assert body["isAutomaticInvocation"] is False
        assert body["verbosity"] == "FULL"
        assert body["timeStamp"].endswith("+00:00")
        assert body["_links"] == {
            "vnfInstance": {"href": f"/vnflcm/v2/vnf_instances/{vnf.id}"},
            "subscription": {"href": f"/vnflcm/v2/subscriptions/{sub.id}"},
            "vnfLcmOpOcc": {"href": f"/vnflcm/v2/vnf_lcm_op_occs/{op.id}"}}
        assert "error" not in body
    assert len({b["id"] for b in got}) == 3
    assert "affectedVnfcs" not in got[0] and "affectedVnfcs" not in got[1]
    added = world.vnfs.get_vnf(vnf.id).vnfc
    assert sorted(c["id"] for c in got[2]["affectedVnfcs"]) == sorted(c.id for c in added)
    assert {c["changeType"] for c in got[2]["affectedVnfcs"]} == {"ADDED"}
    # the instance's networks, each with the ports of the new VNFCs on it
    links = got[2]["affectedVirtualLinks"]
    assert {(c["vnfVirtualLinkDescId"], c["changeType"]) for c in links} == {
        ("internalVL1", "ADDED"), ("internalVL2", "ADDED")}
    assert sorted(p for c in links for p in c["vnfLinkPortIds"]) == sorted(
        cp.port_id for c in added for cp in c.cps)
    assert [d.status for d in subs.list_deliveries(sub.id)] == ["DELIVERED"] * 3


def test_a_failure_and_its_rollback_notify_failed_temp_rolling_back_rolled_back(
        subs, receiver, world):  # noqa: F811
    vnf = world.instantiated()
    subs.create_subscription(_request(receiver.url))
    failed = world.done(world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale",
                                        additional_params=FAIL_SCALE_END))
    assert failed.state is OpState.FAILED_TEMP
    rolled = world.run(world.lcm.rollback(failed.id).id)
    assert rolled.state is OpState.ROLLED_BACK

    got = receiver.wait_for(5)
    assert receiver.states() == [
        ("STARTING", "START"), ("PROCESSING", "START"), ("FAILED_TEMP", "RESULT"),
        ("ROLLING_BACK", "START"), ("ROLLED_BACK", "RESULT")]
    assert {b["operation"] for b in got} == {"SCALE"}
    assert "scale_end" in got[2]["error"]["detail"]
    assert got[3]["error"] == got[2]["error"]
    assert "scale_end" in got[4]["error"]["detail"]
    assert [c["changeType"] for c in got[4]["affectedVnfcs"]] in ([], ["REMOVED"] * len(
        got[4]["affectedVnfcs"]))


def test_fail_and_cancel_are_notified(subs, receiver, world):  # noqa: F811
    subs.create_subscription(_request(receiver.url))
    vnf = world.new_vnf()
    op = world.lcm.instantiate(vnf.id, LEVEL_1)
    world.lcm.cancel(op.id)  # before any worker: STARTING -> ROLLED_BACK
    subs.deliver()
    assert receiver.states(op.id) == [("STARTING", "START"), ("ROLLED_BACK", "RESULT")]
    assert receiver.received[-1]["error"]["title"] == "Operation cancelled"


def test_filters_select_by_instance_operation_and_state(subs, receiver, world):  # noqa: F811
    other = Receiver()
    try:
        vnf, elsewhere = world.new_vnf(), world.new_vnf()
        mine = subs.create_subscription({"callbackUri": other.url, "filter": {
            "vnfInstanceSubscriptionFilter": {"vnfInstanceIds": [elsewhere.id]}}})
        results = subs.create_subscription({"callbackUri": receiver.url.replace(
            "/callback", "/results"), "filter": {
                "operationTypes": ["INSTANTIATE"],
                "operationStates": ["COMPLETED", "FAILED_TEMP"],
                "vnfInstanceSubscriptionFilter": {"vnfdIds": [world.vnfd_id]}},
            "authentication": _request("")["authentication"]})
        op = world.done(world.lcm.instantiate(vnf.id, LEVEL_1))
        subs.deliver()

        assert other.received == []
        assert [b["subscriptionId"] for b in receiver.received] == [results.id]
        assert receiver.states() == [("COMPLETED", "RESULT")]
        assert subs.list_deliveries(mine.id) == []
        assert op.state is OpState.COMPLETED
    finally:
        other.stop()


# -- never lost -----------------------------------------------------------------------------
def test_a_receiver_down_during_the_operation_gets_everything_later_in_order_once(
        subs, receiver, world, monkeypatch):  # noqa: F811
    monkeypatch.setattr(notify, "DRAIN_SECONDS", 0.3)
    monkeypatch.setattr(notify, "BACKOFF_FIRST", 0.05)
    sub = subs.create_subscription(_request(receiver.url, filter=OP_OCC_ONLY))
    receiver.stop()
    vnf = world.instantiated()
    out = world.done(world.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale"))
    assert out.state is OpState.COMPLETED  # delivery failures do not fail it

    waiting = subs.list_deliveries(sub.id)
    assert len(waiting) == 6 and {d.status for d in waiting} <= {"PENDING", "FAILED"}
    assert waiting[0].attempts >= 1 and "did not answer" in waiting[0].last_error
    assert all(d.attempts == 0 for d in waiting[1:])  # held back: order

    receiver.start()
    # This process's delivery thread is retrying too: together, each once.
    subs.deliver()
    receiver.wait_for(6)
    time.sleep(0.2)  # a late duplicate would show here
    assert {d.status for d in subs.list_deliveries(sub.id)} == {"DELIVERED"}
    assert receiver.states() == [("STARTING", "START"), ("PROCESSING", "START"),
                                 ("COMPLETED", "RESULT")] * 2
    assert [b["operation"] for b in receiver.received] == ["INSTANTIATE"] * 3 + [
        "SCALE"] * 3
    assert len({b["id"] for b in receiver.received}) == 6


def test_a_callback_failing_is_retried_with_backoff_then_shown_failed(
        subs, receiver, world):  # noqa: F811
    sub = subs.create_subscription(_request(receiver.url, filter=OP_OCC_ONLY))
    receiver.status = 503
    deliverer = notify.Deliverer(world.services.store, world.services.vims.vault)
    clock = [time.time() + 3600]
    deliverer.clock = lambda: clock[0]
    op = world.lcm.instantiate(world.new_vnf().id, LEVEL_1)  # STARTING only
    nexts = []
    for _ in range(notify.MAX_ATTEMPTS):
        assert deliverer.run_once() == 0
        nexts.append(notify.OutboxTable(world.services.store).next_due() - clock[0])
        assert deliverer.run_once() == 0  # not due yet: no attempt
        clock[0] += nexts[-1]
    deliverer.close()
    assert nexts == [notify.BACKOFF_FIRST * 2 ** i for i in range(notify.MAX_ATTEMPTS)]
    (first,) = subs.list_deliveries(sub.id)
    assert first.status == "FAILED" and first.attempts == notify.MAX_ATTEMPTS
    assert first.last_error.endswith("answered HTTP 503, not 204")
    assert first.op_occ_id == op.id
    receiver.status = 204
    assert subs.deliver()["delivered"] == 1
    assert receiver.states() == [("STARTING", "START")]


def test_a_worker_killed_after_a_state_change_leaves_it_to_be_delivered_later(
        subs, receiver, world, monkeypatch):  # noqa: F811
    sub = subs.create_subscription(_request(receiver.url, filter=OP_OCC_ONLY))
    # The state change commits with its notification; the process dies before
    # any delivery: no delivery thread ever runs here.
    monkeypatch.setattr(notify, "kick", lambda *a, **k: None)
    vnf = world.new_vnf()
    world.crash_at = ("create stack", "after")
    op = world.lcm.instantiate(vnf.id, LEVEL_1)
    with pytest.raises(Crash):
        world.run(op.id)
    world.expire_lease(op.id)  # the reaper: PROCESSING -> FAILED_TEMP, notified too
    assert receiver.received == []
    assert [d.operation_state for d in subs.list_deliveries(sub.id)] == [
        "STARTING", "PROCESSING", "FAILED_TEMP"]

    monkeypatch.undo()
    assert subs.deliver()["delivered"] == 3
    assert receiver.states() == [("STARTING", "START"), ("PROCESSING", "START"),
                                 ("FAILED_TEMP", "RESULT")]
    assert "lease expired" in receiver.received[-1]["error"]["detail"]


def test_two_deliverers_never_send_one_subscription_twice(subs, receiver, world):  # noqa: F811
    subs.create_subscription(_request(receiver.url))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(notify, "kick", lambda *a, **k: None)
        world.done(world.lcm.instantiate(world.new_vnf().id, LEVEL_1))
    deliverers = [notify.Deliverer(world.services.store, world.services.vims.vault)
                  for _ in range(4)]

    def run(d):
        try:
            d.run_once()
        finally:
            d.close()
    threads = [threading.Thread(target=run, args=(d,)) for d in deliverers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    subs.deliver()
    assert receiver.states() == [("STARTING", "START"), ("PROCESSING", "START"),
                                 ("COMPLETED", "RESULT")]


def test_no_subscription_no_outbox_rows_and_no_thread(world):  # noqa: F811
    before = set(notify._THREADS)
    op = world.done(world.lcm.instantiate(world.new_vnf().id, LEVEL_1))
    assert op.state is OpState.COMPLETED
    assert world.services.store.conn.execute(
        "SELECT COUNT(*) FROM notifications").fetchone()[0] == 0
    assert set(notify._THREADS) == before
    assert engine  # the runner module is the one that records


def test_the_next_command_that_opens_the_lcm_delivers_what_is_due(
        subs, receiver, world, monkeypatch):  # noqa: F811
    import nfvlib

    sub = subs.create_subscription(_request(receiver.url, filter=OP_OCC_ONLY))
    monkeypatch.setattr(notify, "kick", lambda *a, **k: None)  # the worker died
    world.done(world.lcm.instantiate(world.new_vnf().id, LEVEL_1))
    assert receiver.received == [] and notify.pending(world.services.store)

    client = nfvlib.Client()
    try:
        assert client.lcm is not None  # opening it starts python -m nfvlib.lcm.notify
        receiver.wait_for(3, timeout=20)
    finally:
        client.close()
    assert receiver.states() == [("STARTING", "START"), ("PROCESSING", "START"),
                                 ("COMPLETED", "RESULT")]
    end = time.monotonic() + 5
    while time.monotonic() < end and not all(
            d.status == "DELIVERED" for d in subs.list_deliveries(sub.id)):
        time.sleep(0.05)
    assert not notify.pending(world.services.store)


def test_remote_subscriptions_speak_tackers_api(requests_mock):
    from keystoneauth1 import session
    from keystoneauth1.fixture import plugin

    from nfvlib.remote.http import TackerApi
    from nfvlib.remote.subscriptions import RemoteSubscriptions, SubscriptionNotFound

    url = "http://tacker.test:9890"
    api = TackerApi(session.Session(auth=plugin.TestPlugin()), endpoint_override=url)
    wire = {"id": "s1", "callbackUri": "http://nfvo/cb", "verbosity": "FULL",
            "filter": {"operationTypes": ["SCALE"]},
            "_links": {"self": {"href": f"{url}/vnflcm/v2/subscriptions/s1"}}}
    requests_mock.post(f"{url}/vnflcm/v2/subscriptions", json=wire, status_code=201)
    requests_mock.get(f"{url}/vnflcm/v2/subscriptions", json=[wire])
    requests_mock.get(f"{url}/vnflcm/v2/subscriptions/s1", json=wire)
    requests_mock.get(f"{url}/vnflcm/v2/subscriptions/nope", status_code=404,
                      json={"detail": "subscription nope not found"})
    requests_mock.delete(f"{url}/vnflcm/v2/subscriptions/s1", status_code=204)
    remote = RemoteSubscriptions(api)

    created = remote.create_subscription(_request("http://nfvo/cb"))
    sent = requests_mock.request_history[0]
    assert sent.headers["Version"] == "2.0.0"
    assert sent.json()["authentication"]["paramsBasic"]["password"] == PASSWORD
    assert created.authentication["paramsBasic"]["password"] == "***"
    assert created.links == wire["_links"] and created.filter == wire["filter"]
    assert [s.id for s in remote.list_subscriptions()] == ["s1"]
    assert [s.id for s in remote.list_subscriptions(
        filter="(cont,filter/operationTypes,SCALE)")] == ["s1"]
    assert requests_mock.last_request.qs["filter"] == [
        "(cont,filter/operationtypes,scale)"]
    with pytest.raises(InvalidInput, match="authentication"):
        remote.list_subscriptions(filter="(eq,authentication,x)")
    assert remote.delete_subscription("s1").callback_uri == "http://nfvo/cb"
    assert requests_mock.request_history[-1].method == "DELETE"
    with pytest.raises(SubscriptionNotFound, match="nope"):
        remote.get_subscription("nope")
