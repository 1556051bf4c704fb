"""Notifications from real worker processes to a real HTTP receiver, on the sandbox.

The receiver (an ``http.server`` on 127.0.0.1) checks BASIC auth and answers
204; assertions are on what it received and on Heat's stacks.
"""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from nfvlib.models import OpState
from nfvlib.store.lcm import OpOccTable
from nfvlib.sandbox.heat_env import slow_template
from tests.functional.lcm import LEVEL_1, WAIT, faulty_vim, new_vnf, on_vim, stack_gone
from tests.functional.test_cli_lcm import nfv
from tests.unit.lcm.test_notify import OP_OCC_ONLY, PASSWORD, USER, Receiver, _request


@pytest.fixture
def receiver():
    r = Receiver(auth=(USER, PASSWORD))
    yield r
    r.stop()


@pytest.fixture
def subscription(client, receiver):
    sub = client.subscriptions.create_subscription(_request(receiver.url,
                                                            filter=OP_OCC_ONLY))
    yield sub
    client.subscriptions.delete_subscription(sub.id)


def test_a_worker_notifies_every_state_change_with_basic_auth(
        client, package, heat, receiver, subscription):
    assert len(receiver.gets) == 1  # the callback test at creation
    vnf = new_vnf(client, package)
    op = client.lcm.wait(client.lcm.instantiate(vnf.id, LEVEL_1).id, timeout=WAIT)
    assert op.state is OpState.COMPLETED, op.error
    assert heat.get_stack(vnf.stack_name)["stack_status"] == "CREATE_COMPLETE"

    got = receiver.wait_for(3, timeout=15)
    assert receiver.states(op.id) == [("STARTING", "START"), ("PROCESSING", "START"),
                                      ("COMPLETED", "RESULT")]
    assert {b["subscriptionId"] for b in got} == {subscription.id}
    assert len(got[2]["affectedVnfcs"]) == len(client.vnfs.get_vnf(vnf.id).vnfc) > 0

    done = client.lcm.wait(client.lcm.terminate(vnf.id).id, timeout=WAIT)
    assert done.state is OpState.COMPLETED and stack_gone(heat, vnf.stack_name)
    receiver.wait_for(6, timeout=15)
    assert receiver.states(done.id) == [("STARTING", "START"), ("PROCESSING", "START"),
                                        ("COMPLETED", "RESULT")]
    client.vnfs.delete_vnf(vnf.id)


def test_a_killed_worker_and_a_receiver_down_lose_nothing(
        client, package, heat, sandbox, receiver, subscription):
    name, text = slow_template(40)
    vim = faulty_vim(client, sandbox, "slow-notify", "VDU2", name, text)
    receiver.stop()
    vnf = new_vnf(client, package)
    op = client.lcm.instantiate(vnf.id, on_vim(vim))
    deadline = time.monotonic() + 60
    while True:
        current = client.lcm.get_op_occ(op.id)
        pid = OpOccTable(client.store).get(current.id).worker_pid  # the lease is internal
        if current.step_summary.endswith("wait for stack") and pid:
            break
        assert time.monotonic() < deadline, current
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    reaped = client.lcm.wait(op.id, timeout=60)
    assert reaped.state is OpState.FAILED_TEMP

    waiting = client.subscriptions.list_deliveries(subscription.id)
    assert [d.operation_state for d in waiting] == ["STARTING", "PROCESSING",
                                                     "FAILED_TEMP"]
    assert {d.status for d in waiting} <= {"PENDING", "FAILED"}

    receiver.start()
    client.subscriptions.deliver()
    receiver.wait_for(3, timeout=15)
    assert receiver.states(op.id) == [("STARTING", "START"), ("PROCESSING", "START"),
                                      ("FAILED_TEMP", "RESULT")]
    assert "lease expired" in receiver.received[2]["error"]["detail"]

    rolled = client.lcm.wait(client.lcm.rollback(op.id).id, timeout=WAIT)
    assert rolled.state is OpState.ROLLED_BACK, rolled.error
    assert stack_gone(heat, vnf.stack_name)
    receiver.wait_for(5, timeout=15)
    assert receiver.states(op.id)[3:] == [("ROLLING_BACK", "START"),
                                          ("ROLLED_BACK", "RESULT")]
    assert len({b["id"] for b in receiver.received}) == len(receiver.received) == 5
    client.vnfs.delete_vnf(vnf.id)


def test_the_nfv_command_notifies_instances_created_and_deleted_not_refused(
        client, package, sandbox, receiver, tmp_path):
    """Each ``nfv`` process leaves its notification to a detached deliverer."""
    sub = client.subscriptions.create_subscription(_request(receiver.url, filter={
        "notificationTypes": ["VnfIdentifierCreationNotification",
                              "VnfIdentifierDeletionNotification"],
        "vnfInstanceSubscriptionFilter": {"vnfdIds": [package.vnfd_id]}}))
    try:
        meta = tmp_path / "meta.json"
        meta.write_text('{"tier": "web"}')
        code, out, err = nfv(sandbox, "vnflcm", "create", package.vnfd_id, "--name",
                             "notified", "--metadata-file", str(meta), "-f", "json")
        assert code == 0, err
        shown = json.loads(out)
        vnf_id = shown["ID"]
        assert shown["metadata"] == {"tier": "web"}
        (created,) = receiver.wait_for(1, timeout=15)
        assert (created["notificationType"], created["vnfInstanceId"]) == (
            "VnfIdentifierCreationNotification", vnf_id)

        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"flavourId": "simple", "vimConnectionInfo": {
            "v": {"vimId": "nowhere", "vimType": "ETSINFV.OPENSTACK_KEYSTONE.V_3"}}}))
        code, out, err = nfv(sandbox, "vnflcm", "create", package.vnfd_id, "--I", str(bad))
        assert code == 2 and out == "" and err.count("\n") == 1, err
        assert "no VIM has the id or name 'nowhere'" in err
        assert [v.id for v in client.vnfs.list_vnfs()
                if v.vnfd_id == package.vnfd_id] == [vnf_id]

        code, _, err = nfv(sandbox, "vnflcm", "delete", vnf_id)
        assert code == 0, err
        receiver.wait_for(2, timeout=15)
        time.sleep(0.5)  # a notification of the refused create would show here
        assert [(b["notificationType"], b["vnfInstanceId"]) for b in receiver.received] == [
            ("VnfIdentifierCreationNotification", vnf_id),
            ("VnfIdentifierDeletionNotification", vnf_id)]
    finally:
        client.subscriptions.delete_subscription(sub.id)
