"""`nfv vnflcm subsc ...` in-process against an autospecced fake client."""

from __future__ import annotations

import json
from types import SimpleNamespace
from unittest import mock

import pytest

from nfvcli import shell
from nfvlib.exceptions import InvalidInput, NotFound, Unreachable
from nfvlib.lcm.notify import LocalSubscriptions
from nfvlib.models import NotificationDelivery, Subscription

SUB = Subscription(
    id="sub-1", callback_uri="http://127.0.0.1:9/cb",
    filter={"vnfInstanceSubscriptionFilter": {"vnfInstanceIds": ["v1"]}},
    authentication={"authType": ["BASIC"],
                    "paramsBasic": {"userName": "u", "password": "***"}},
    links={"self": {"href": "/vnflcm/v2/subscriptions/sub-1"}})


@pytest.fixture
def nfv(nfv_home, monkeypatch):
    fake = SimpleNamespace(subscriptions=mock.create_autospec(LocalSubscriptions,
                                                              instance=True))
    monkeypatch.setattr(shell.ClientManager, "nfv", property(lambda self: fake))
    return fake


def run(capsys, *argv):
    try:
        code = shell.main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_create_reads_the_request_file_and_shows_tackerclients_columns(
        nfv, capsys, tmp_path):
    body = {"callbackUri": SUB.callback_uri, "authentication": {
        "authType": ["BASIC"], "paramsBasic": {"userName": "u", "password": "pw-1234"}}}
    path = tmp_path / "subsc.json"
    path.write_text(json.dumps(body))
    nfv.subscriptions.create_subscription.return_value = SUB

    code, out, err = run(capsys, "vnflcm", "subsc", "create", str(path), "-f", "json")

    assert code == 0, err
    nfv.subscriptions.create_subscription.assert_called_once_with(body)
    shown = json.loads(out)
    assert list(shown) == ["Callback URI", "Filter", "ID", "Links", "verbosity",
                           "Authentication"]
    assert shown["ID"] == "sub-1" and shown["Links"]["self"]["href"].endswith("sub-1")
    assert shown["Authentication"]["paramsBasic"]["password"] == "***"
    assert "pw-1234" not in out + err


@pytest.mark.parametrize("error, code", [
    (InvalidInput("the callback http://x answered the test GET with HTTP 500, not 204"), 2),
    (Unreachable("the callback http://x did not answer the test GET"), 6)])
def test_a_refused_callback_is_one_line_and_its_exit_code(nfv, capsys, tmp_path,
                                                           error, code):
    path = tmp_path / "subsc.json"
    path.write_text('{"callbackUri": "http://x"}')
    nfv.subscriptions.create_subscription.side_effect = error
    got, out, err = run(capsys, "vnflcm", "subsc", "create", str(path))
    assert got == code and out == ""
    assert err.count("\n") == 1 and "test GET" in err and "Traceback" not in err


def test_a_bad_request_file_is_refused_before_the_library(nfv, capsys, tmp_path):
    path = tmp_path / "subsc.json"
    path.write_text("[1]")
    code, _, err = run(capsys, "vnflcm", "subsc", "create", str(path))
    assert code == 2 and "JSON object" in err
    nfv.subscriptions.create_subscription.assert_not_called()


def test_list_show_and_delete(nfv, capsys):
    nfv.subscriptions.list_subscriptions.return_value = [SUB]
    code, out, _ = run(capsys, "vnflcm", "subsc", "list", "-f", "json")
    assert code == 0 and json.loads(out) == [{"ID": "sub-1",
                                              "Callback URI": SUB.callback_uri}]
    code, _, _ = run(capsys, "vnflcm", "subsc", "list", "--filter", "(eq,id,sub-1)")
    assert code == 0
    nfv.subscriptions.list_subscriptions.assert_called_with(filter="(eq,id,sub-1)")

    nfv.subscriptions.get_subscription.return_value = SUB
    code, out, _ = run(capsys, "vnflcm", "subsc", "show", "sub-1", "-f", "json")
    assert code == 0 and json.loads(out)["Filter"] == SUB.filter

    nfv.subscriptions.delete_subscription.side_effect = [SUB, NotFound("no subscription "
                                                                       "with id x")]
    code, out, err = run(capsys, "vnflcm", "subsc", "delete", "sub-1", "x")
    assert code == 3
    assert "Failed to delete Lccn Subscription with ID 'x': no subscription" in err
    assert "Failed to delete 1 of 2 Lccn Subscriptions" in err


def test_deliveries_and_deliver(nfv, capsys):
    nfv.subscriptions.list_deliveries.return_value = [NotificationDelivery(
        id="n1", subscription_id="sub-1", notification_type="VnfLcmOperation"
        "OccurrenceNotification", status="FAILED", attempts=5,
        last_error="http://x answered HTTP 503, not 204", op_occ_id="op1",
        operation_state="COMPLETED")]
    code, out, _ = run(capsys, "vnflcm", "subsc", "deliveries", "--status", "FAILED",
                       "-f", "json")
    assert code == 0
    nfv.subscriptions.list_deliveries.assert_called_once_with(
        subscription_id=None, status="FAILED")
    assert json.loads(out)[0]["Last Error"].endswith("not 204")

    nfv.subscriptions.deliver.return_value = {"delivered": 3, "pending": 1}
    code, out, _ = run(capsys, "vnflcm", "subsc", "deliver", "-f", "json")
    assert code == 0 and json.loads(out) == {"Delivered": 3, "Pending": 1}
