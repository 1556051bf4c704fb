"""SOL003 subscriptions and the delivery of their notifications.

Never lost: every state change of an operation occurrence writes one
``VnfLcmOperationOccurrenceNotification`` per matching subscription into the
store's outbox, in the same transaction as the state change (:func:`record`);
the creation and the deletion of a VNF instance write a
``VnfIdentifierCreationNotification`` or ``VnfIdentifierDeletionNotification``
in the transaction that creates or deletes it (:func:`record_identifier`).
A crash after that commit loses nothing; a crash before it loses the change
too.

Who delivers, in local mode (there is no server):

- the worker running the occurrence: after each state change it wakes a
  delivery thread of its own (:func:`kick`), so the plan never waits for a
  callback; when the run ends it gives that thread up to
  :data:`DRAIN_SECONDS` to finish before the process exits;
- whoever runs next: any ``nfv`` command that opens the LCM starts a
  detached deliverer (``python -m nfvlib.lcm.notify``) when notifications are
  due, and ``vnflcm subsc deliver`` delivers at once, in the foreground.

Delivery is a POST of the JSON body (BASIC auth where the subscription has
it); only 204 counts. A failure is recorded on the notification (attempts,
last error) and retried with exponential backoff (:data:`BACKOFF_FIRST`
doubling up to :data:`BACKOFF_CAP`); after :data:`MAX_ATTEMPTS` it is FAILED,
is shown as such, and is still retried. A subscription's notifications go
out in the order they were written: one that fails holds back the later
ones of the same subscription (not of others). A deliverer first *claims*
the subscription, so two processes never send its notifications at once.

At least once: a notification is marked delivered after its 204; a process
killed between the two sends it again later. Each notification has a stable
``id`` so that a receiver can drop the duplicate.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping

from nfvlib.exceptions import InvalidInput, NotFound, StoreError, Unreachable
from nfvlib.lcm import secrets
from nfvlib.models import NotificationDelivery, OpOcc, OpState, Subscription
from nfvlib.store import Store
from nfvlib.store.subscriptions import (DELIVERED, FAILED, PENDING, OutboxTable,
                                        SubscriptionTable)

log = logging.getLogger(__name__)

OP_OCC_NOTIFICATION = "VnfLcmOperationOccurrenceNotification"
CREATION_NOTIFICATION = "VnfIdentifierCreationNotification"
DELETION_NOTIFICATION = "VnfIdentifierDeletionNotification"
NOTIFICATION_TYPES = (OP_OCC_NOTIFICATION, CREATION_NOTIFICATION, DELETION_NOTIFICATION)
#: States whose notification has notificationStatus START (as Tacker v2).
_START_STATES = frozenset({OpState.STARTING, OpState.PROCESSING, OpState.ROLLING_BACK})
#: States after which a worker's run ends.
_RUN_ENDS = frozenset({OpState.COMPLETED, OpState.FAILED_TEMP, OpState.FAILED,
                       OpState.ROLLED_BACK})

#: Seconds a callback may take to connect, and then to answer.
CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 10.0
#: First retry delay in seconds; doubles per attempt up to BACKOFF_CAP.
BACKOFF_FIRST = 0.5
BACKOFF_CAP = 300.0
#: Failed attempts after which a notification shows as FAILED.
MAX_ATTEMPTS = 5
#: How long a worker whose run ended keeps delivering before it exits.
DRAIN_SECONDS = 10.0
#: How long a deliverer's claim on a subscription lasts unrenewed.
CLAIM_SECONDS = 30.0

API = "/vnflcm/v2"

SUBSCRIPTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["callbackUri"],
    "additionalProperties": False,
    "properties": {
        "callbackUri": {"type": "string", "pattern": "^https?://[^\\s]+$"},
        "verbosity": {"enum": ["FULL", "SHORT"]},
        "filter": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "vnfInstanceSubscriptionFilter": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "vnfdIds": {"type": "array", "items": {"type": "string"}},
                        "vnfInstanceIds": {"type": "array", "items": {"type": "string"}},
                        "vnfInstanceNames": {"type": "array",
                                             "items": {"type": "string"}},
                        "vnfProductsFromProviders": {
                            "type": "array",
                            "items": {
                                "type": "object", "required": ["vnfProvider"],
                                "properties": {
                                    "vnfProvider": {"type": "string"},
                                    "vnfProducts": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["vnfProductName"],
                                            "properties": {
                                                "vnfProductName": {"type": "string"},
                                                "versions": {"type": "array"}}}}}}},
                    },
                },
                "notificationTypes": {"type": "array",
                                      "items": {"enum": list(NOTIFICATION_TYPES)}},
                "operationTypes": {"type": "array", "items": {"enum": [
                    "INSTANTIATE", "SCALE", "SCALE_TO_LEVEL", "CHANGE_FLAVOUR",
                    "TERMINATE", "HEAL", "OPERATE", "CHANGE_EXT_CONN", "MODIFY_INFO",
                    "CHANGE_VNFPKG"]}},
                "operationStates": {"type": "array",
                                    "items": {"enum": [s.value for s in OpState]}},
            },
        },
        "authentication": {
            "type": "object",
            "required": ["authType"],
            "properties": {
                "authType": {"type": "array", "minItems": 1,
                             "items": {"enum": ["BASIC"]}},
                "paramsBasic": {
                    "type": "object", "required": ["userName", "password"],
                    "additionalProperties": False,
                    "properties": {"userName": {"type": "string", "minLength": 1},
                                   "password": {"type": "string", "minLength": 1}}},
            },
        },
    },
}


def validate_request(request: Any) -> None:
    """Raise :class:`InvalidInput` naming the first wrong field of an LccnSubscriptionRequest."""
    # jsonschema has no type hints of its own (types-jsonschema is not installed).
    import jsonschema

    validator = jsonschema.Draft7Validator(SUBSCRIPTION_SCHEMA)
    error = jsonschema.exceptions.best_match(validator.iter_errors(request))
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}"
                        for p in error.absolute_path).lstrip(".") or "the request"
        message = error.message
        if error.validator == "enum" and where.startswith("authentication"):
            message = f"{error.instance!r} is not supported; only BASIC is"
        raise InvalidInput(f"LccnSubscriptionRequest {where}: {message}",
                           hint="see SOL003 LccnSubscriptionRequest")
    auth = request.get("authentication")
    if auth and "paramsBasic" not in auth:
        raise InvalidInput("LccnSubscriptionRequest authentication: BASIC needs "
                           "paramsBasic with userName and password")


def _now_iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


def _basic(sub: Subscription, vault: Any) -> tuple[str, str] | None:
    """``(user, password)`` for the subscription, the password unsealed."""
    params = (sub.authentication or {}).get("paramsBasic")
    if not params:
        return None
    params = secrets.unseal(params, vault)
    return params["userName"], params["password"]


def _http() -> Any:
    import requests

    return requests.Session()


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__


# -- subscriptions (local mode) ---------------------------------------------------------
class LocalSubscriptions:
    """Create, list, show and delete subscriptions; look at and drive deliveries."""

    def __init__(self, store: Store, vault: Any, *,
                 clock: Callable[[], float] = time.time,
                 http: Callable[[], Any] = _http) -> None:
        self._store = store
        self._vault = vault
        self._table = SubscriptionTable(store)
        self._outbox = OutboxTable(store)
        self._clock = clock
        self._http = http
        use_vault(store, vault)

    def create_subscription(self, request: Mapping[str, Any]) -> Subscription:
        """Test the callback (GET must answer 204), then store the subscription.

        The BASIC password is sealed in the store. Raises InvalidInput for a
        bad request or a callback that answers anything but 204, Unreachable
        when it does not answer; nothing is stored then.
        """
        validate_request(request)
        sub = Subscription(id=str(uuid.uuid4()), callback_uri=request["callbackUri"],
                           filter=dict(request.get("filter") or {}),
                           verbosity=request.get("verbosity", "FULL"),
                           authentication=dict(request["authentication"])
                           if request.get("authentication") else None,
                           created_at=_now_iso(self._clock()))
        self._test_callback(sub, _basic(sub, self._vault))
        if sub.authentication:
            key = self._vault.key_for(secrets.REQUEST_KEY_PURPOSE)
            sub = dataclasses.replace(
                sub, authentication=secrets.seal(sub.authentication, self._vault, key))
        with self._store.transaction() as conn:
            self._table.insert(conn, sub)
        return _shown(sub)

    def list_subscriptions(self, filter: str | None = None) -> list[Subscription]:
        """Every subscription, oldest first (matching a SOL013 ``filter`` on the
        LccnSubscription, see nfvlib.filters)."""
        from nfvlib.filters import (SUBSCRIPTION_ATTRIBUTES, parse_filter,
                                    subscription_record)

        expression = parse_filter(filter, attributes=SUBSCRIPTION_ATTRIBUTES)
        subs = [_shown(s) for s in self._table.all()]
        if expression is None:
            return subs
        return [s for s in subs if expression.matches(subscription_record(s))]

    def get_subscription(self, sub_id: str) -> Subscription:
        """The subscription with this id."""
        sub = self._table.get(sub_id)
        if sub is None:
            raise NotFound(f"no subscription with id {sub_id}",
                           hint="list them with 'vnflcm subsc list'")
        return _shown(sub)

    def delete_subscription(self, sub_id: str) -> Subscription:
        """Delete a subscription and its undelivered notifications."""
        with self._store.transaction() as conn:
            sub = self._table.get(sub_id, conn)
            if sub is None or not self._table.delete(conn, sub_id):
                raise NotFound(f"no subscription with id {sub_id}",
                               hint="list them with 'vnflcm subsc list'")
        return _shown(sub)

    def list_deliveries(self, subscription_id: str | None = None,
                        status: str | None = None) -> list[NotificationDelivery]:
        """The outbox: every notification and how its delivery went."""
        if status is not None and status not in (PENDING, DELIVERED, FAILED):
            raise InvalidInput(f"delivery status {status!r} is not PENDING, DELIVERED "
                               "or FAILED")
        return self._outbox.deliveries(subscription_id, status)

    def deliver(self) -> dict[str, int]:
        """Send every undelivered notification now, retry delays ignored.

        Returns counts: ``delivered`` now, and ``pending`` (still undelivered,
        e.g. a callback that is down, or held by another deliverer).
        """
        deliverer = Deliverer(self._store, self._vault, clock=self._clock,
                              http=self._http)
        try:
            delivered = deliverer.run_once(force=True)
        finally:
            deliverer.close()
        pending = len(self._outbox.deliveries(status=PENDING)) + len(
            self._outbox.deliveries(status=FAILED))
        return {"delivered": delivered, "pending": pending}

    def _test_callback(self, sub: Subscription, auth: tuple[str, str] | None) -> None:
        import requests

        try:
            resp = self._http().get(sub.callback_uri, auth=auth,
                                    timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
        except requests.RequestException as exc:
            raise Unreachable(f"the callback {sub.callback_uri} did not answer the "
                              f"test GET: {_one_line(exc)}",
                              hint="start the receiver, or fix callbackUri") from exc
        if resp.status_code != 204:
            raise InvalidInput(f"the callback {sub.callback_uri} answered the test GET "
                               f"with HTTP {resp.status_code}, not 204",
                               hint="make the receiver answer GET with 204 No Content")


def _shown(sub: Subscription) -> Subscription:
    return dataclasses.replace(
        sub, authentication=secrets.mask(sub.authentication) if sub.authentication
        else None, links={"self": {"href": f"{API}/subscriptions/{sub.id}"}})


# -- the outbox ---------------------------------------------------------------------------
def record(conn: sqlite3.Connection, op: OpOcc) -> int:
    """Write the notifications of ``op``'s new state; call it inside its transaction.

    Returns how many were written (one per matching subscription).
    """
    subs = conn.execute("SELECT * FROM subscriptions").fetchall()
    if not subs:
        return 0
    from nfvlib.store.subscriptions import subscription_from_row

    vnf = _vnf_row(conn, op.vnf_instance_id)
    outbox = OutboxTable(None)  # type: ignore[arg-type]
    written = 0
    for row in subs:
        sub = subscription_from_row(row)
        if not matches(sub.filter, op, vnf):
            continue
        body = op_occ_notification(sub, op, str(uuid.uuid4()))
        outbox.add(conn, notification_id=body["id"], subscription_id=sub.id, body=body,
                   created_at=op.state_entered_time)
        written += 1
    return written


def record_identifier(conn: sqlite3.Connection, notification_type: str, vnf_id: str,
                      time_stamp: str) -> int:
    """Write the VnfIdentifierCreationNotification or
    VnfIdentifierDeletionNotification of the instance ``vnf_id``.

    Call it inside the transaction that creates the instance (after its
    insert) or deletes it (before its delete): the subscriptions' filters
    read its record. Returns how many were written (one per matching
    subscription).
    """
    if notification_type not in (CREATION_NOTIFICATION, DELETION_NOTIFICATION):
        raise ValueError(f"not a VNF identifier notification: {notification_type}")
    subs = conn.execute("SELECT * FROM subscriptions").fetchall()
    if not subs:
        return 0
    from nfvlib.store.subscriptions import subscription_from_row

    vnf = _vnf_row(conn, vnf_id)
    outbox = OutboxTable(None)  # type: ignore[arg-type]
    written = 0
    for row in subs:
        sub = subscription_from_row(row)
        types = sub.filter.get("notificationTypes")
        if types and notification_type not in types:
            continue
        if not _instance_matches(sub.filter, vnf_id, vnf):
            continue
        body = identifier_notification(sub, notification_type, vnf_id, time_stamp,
                                       str(uuid.uuid4()))
        outbox.add(conn, notification_id=body["id"], subscription_id=sub.id, body=body,
                   created_at=time_stamp)
        written += 1
    return written


def _vnf_row(conn: sqlite3.Connection, vnf_id: str) -> Mapping[str, Any] | None:
    """What a subscription filter reads of an instance and its package."""
    row: Mapping[str, Any] | None = conn.execute(
        "SELECT v.vnfd_id, v.name, p.vnf_provider, p.vnf_product_name, "
        "p.vnf_software_version, p.vnfd_version FROM vnf_instances v "
        "LEFT JOIN vnf_packages p ON p.id = v.package_id WHERE v.id = ?",
        (vnf_id,)).fetchone()
    return row


def matches(filter_: Mapping[str, Any], op: OpOcc, vnf: Mapping[str, Any] | None) -> bool:
    """Whether a subscription's filter selects this occurrence's notification."""
    types = filter_.get("notificationTypes")
    if types and OP_OCC_NOTIFICATION not in types:
        return False
    if filter_.get("operationTypes") and op.operation.value not in filter_[
            "operationTypes"]:
        return False
    if filter_.get("operationStates") and op.state.value not in filter_[
            "operationStates"]:
        return False
    return _instance_matches(filter_, op.vnf_instance_id, vnf)


def _instance_matches(filter_: Mapping[str, Any], vnf_id: str,
                      vnf: Mapping[str, Any] | None) -> bool:
    """Whether the filter's vnfInstanceSubscriptionFilter selects the instance."""
    inst = filter_.get("vnfInstanceSubscriptionFilter") or {}
    if inst.get("vnfInstanceIds") and vnf_id not in inst["vnfInstanceIds"]:
        return False
    if inst.get("vnfdIds") and (vnf is None or vnf["vnfd_id"] not in inst["vnfdIds"]):
        return False
    if inst.get("vnfInstanceNames") and (vnf is None
                                         or vnf["name"] not in inst["vnfInstanceNames"]):
        return False
    if inst.get("vnfProductsFromProviders"):
        return vnf is not None and any(
            _product_matches(p, vnf) for p in inst["vnfProductsFromProviders"])
    return True


def _product_matches(provider: Mapping[str, Any], vnf: Mapping[str, Any]) -> bool:
    if provider.get("vnfProvider") != vnf["vnf_provider"]:
        return False
    products = provider.get("vnfProducts")
    if not products:
        return True
    for product in products:
        if product.get("vnfProductName") != vnf["vnf_product_name"]:
            continue
        versions = product.get("versions")
        if not versions:
            return True
        for version in versions:
            if version.get("vnfSoftwareVersion") != vnf["vnf_software_version"]:
                continue
            if not version.get("vnfdVersions") or vnf["vnfd_version"] in version[
                    "vnfdVersions"]:
                return True
    return False


def op_occ_notification(sub: Subscription, op: OpOcc, notification_id: str
                        ) -> dict[str, Any]:
    """The SOL003 VnfLcmOperationOccurrenceNotification of ``op``'s current state."""
    start = op.state in _START_STATES
    body: dict[str, Any] = {
        "id": notification_id,
        "notificationType": OP_OCC_NOTIFICATION,
        "subscriptionId": sub.id,
        "timeStamp": op.state_entered_time,
        "notificationStatus": "START" if start else "RESULT",
        "operationState": op.state.value,
        "vnfInstanceId": op.vnf_instance_id,
        "operation": op.operation.value,
        "isAutomaticInvocation": op.is_automatic_invocation,
        "verbosity": sub.verbosity,
        "vnfLcmOpOccId": op.id,
        "_links": {
            "vnfInstance": {"href": f"{API}/vnf_instances/{op.vnf_instance_id}"},
            "subscription": {"href": f"{API}/subscriptions/{sub.id}"},
            "vnfLcmOpOcc": {"href": f"{API}/vnf_lcm_op_occs/{op.id}"},
        },
    }
    if not start and sub.verbosity == "FULL":
        changes = op.resource_changes or {}
        body["affectedVnfcs"] = list(changes.get("affectedVnfcs") or [])
        if changes.get("affectedVirtualLinks"):  # Tacker v2 sends them when set
            body["affectedVirtualLinks"] = list(changes["affectedVirtualLinks"])
    if op.error and op.state in (OpState.FAILED_TEMP, OpState.FAILED,
                                 OpState.ROLLING_BACK, OpState.ROLLED_BACK):
        body["error"] = dict(op.error)
    return body


def identifier_notification(sub: Subscription, notification_type: str, vnf_id: str,
                            time_stamp: str, notification_id: str) -> dict[str, Any]:
    """The SOL003 VnfIdentifierCreationNotification or
    VnfIdentifierDeletionNotification (5.5.2.18, 5.5.2.19) of ``vnf_id``."""
    return {
        "id": notification_id,
        "notificationType": notification_type,
        "subscriptionId": sub.id,
        "timeStamp": time_stamp,
        "vnfInstanceId": vnf_id,
        "_links": {
            "vnfInstance": {"href": f"{API}/vnf_instances/{vnf_id}"},
            "subscription": {"href": f"{API}/subscriptions/{sub.id}"},
        },
    }


# -- delivery -----------------------------------------------------------------------------
class Deliverer:
    """Sends due notifications from the outbox, in order per subscription.

    It opens its own store connection (so it may run in a thread of its
    own); :meth:`close` closes it.
    """

    def __init__(self, store: Store, vault: Any, *, clock: Callable[[], float] = time.time,
                 http: Callable[[], Any] = _http, pid: int | None = None) -> None:
        self.store = Store(store.path)
        self.vault = vault
        self.clock = clock
        self.pid = pid or os.getpid()
        self.token = uuid.uuid4().hex
        self._session = http()
        self._subs = SubscriptionTable(self.store)
        self._outbox = OutboxTable(self.store)

    def close(self) -> None:
        """Close the store connection and the HTTP session."""
        self.store.close()
        self._session.close()

    def run_once(self, *, force: bool = False) -> int:
        """One pass over every subscription with due notifications.

        ``force`` ignores retry delays. Returns how many were delivered.
        """
        delivered = 0
        for sub_id in self._outbox.due_subscriptions(None if force else self.clock()):
            if self._claim(sub_id):
                try:
                    delivered += self._deliver_subscription(sub_id, force)
                finally:
                    with self.store.transaction() as conn:
                        self._subs.release(conn, sub_id, self.token)
        return delivered

    def next_due(self) -> float | None:
        """When the earliest undelivered notification is next due (None: none)."""
        return self._outbox.next_due()

    def _claim(self, sub_id: str) -> bool:
        now = self.clock()
        with self.store.transaction() as conn:
            claim = self._subs.claim_of(conn, sub_id)
            if claim is None:
                return False  # deleted meanwhile
            token, pid, expires_at = claim
            if (token is not None and token != self.token and expires_at is not None
                    and expires_at > now and pid is not None and _alive(pid)):
                return False
            self._subs.claim(conn, sub_id, self.token, self.pid, now + CLAIM_SECONDS)
        return True

    def _deliver_subscription(self, sub_id: str, force: bool) -> int:
        sub = self._subs.get(sub_id)
        if sub is None:
            return 0
        auth: tuple[str, str] | None | Exception
        try:
            auth = _basic(sub, self.vault)
        except Exception as exc:  # noqa: BLE001 - e.g. the vault key is not here
            auth = exc
        delivered = 0
        while True:
            row = self._outbox.head(sub_id)
            if row is None or (not force and row["next_attempt_at"] > self.clock()):
                return delivered
            attempts = row["attempts"] + 1
            error = (f"cannot unseal the BASIC password: {_one_line(auth)}"
                     if isinstance(auth, BaseException)
                     else self._post(sub, json.loads(row["body"]), auth))
            with self.store.transaction() as conn:
                ours = self._subs.claim_of(conn, sub_id)
                if error is None:
                    self._outbox.mark_delivered(conn, row["seq"], attempts,
                                                _now_iso(self.clock()))
                else:
                    delay = min(BACKOFF_FIRST * 2 ** (attempts - 1), BACKOFF_CAP)
                    self._outbox.mark_failed(
                        conn, row["seq"], attempts, error, self.clock() + delay,
                        FAILED if attempts >= MAX_ATTEMPTS else PENDING)
                if ours is None or ours[0] != self.token:
                    return delivered + (error is None)
                self._subs.claim(conn, sub_id, self.token, self.pid,
                                 self.clock() + CLAIM_SECONDS)
            if error is not None:
                log.warning("notification %s to %s failed (attempt %d): %s", row["id"],
                            sub.callback_uri, attempts, error)
                return delivered
            delivered += 1

    def _post(self, sub: Subscription, body: dict[str, Any],
              auth: tuple[str, str] | None) -> str | None:
        """POST one notification; None on 204, else the error, one line."""
        import requests

        try:
            resp = self._session.post(sub.callback_uri, json=body, auth=auth,
                                      timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
        except requests.RequestException as exc:
            return f"{sub.callback_uri} did not answer: {_one_line(exc)}"
        if resp.status_code == 204:
            return None
        return f"{sub.callback_uri} answered HTTP {resp.status_code}, not 204"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- in-process delivery thread ---------------------------------------------------------
_VAULTS: dict[Path, Any] = {}
_THREADS: dict[Path, _Background] = {}
_LOCK = threading.Lock()


def use_vault(store: Store, vault: Any) -> None:
    """Tell this process's deliverers which vault unseals ``store``'s passwords."""
    _VAULTS[Path(store.path).resolve()] = vault


def _vault_for(path: Path) -> Any:
    vault = _VAULTS.get(path)
    if vault is None:
        from nfvlib.config import Paths
        from nfvlib.vault import Vault

        vault = Vault(Paths.from_env().key_dir)
    return vault


class _Background:
    """A daemon thread delivering one store's due notifications in this process."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.wake = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True,
                                       name="nfv-notify")
        self.thread.start()

    def _loop(self) -> None:
        deliverer = None
        try:
            deliverer = Deliverer(Store(self.path), _vault_for(self.path))
            while True:
                self.wake.clear()
                try:
                    sent = deliverer.run_once()
                    due = deliverer.next_due()
                except (StoreError, sqlite3.Error) as exc:
                    log.warning("notification delivery paused: %s", exc)
                    sent, due = 0, time.time() + 1.0
                # Due but not sent: another process holds the subscription.
                pause = None if due is None else max(0.0 if sent else 0.05,
                                                     due - time.time())
                self.wake.wait(pause)
        except Exception:  # noqa: BLE001 - delivery never breaks the operation
            log.exception("notification delivery stopped")
        finally:
            if deliverer is not None:
                deliverer.close()


def kick(store: Store, op: OpOcc | None = None) -> None:
    """Wake this process's delivery thread for ``store`` (start it if needed).

    When ``op`` has just reached a state that ends a worker's run, wait up
    to :data:`DRAIN_SECONDS` for due notifications to go out, so that a
    worker about to exit leaves as little as possible to the next process.
    Never raises.
    """
    try:
        path = Path(store.path).resolve()
        with _LOCK:
            bg = _THREADS.get(path)
            if bg is None or not bg.thread.is_alive():
                bg = _THREADS[path] = _Background(path)
            else:
                bg.wake.set()
        if op is not None and op.state in _RUN_ENDS:
            drain(store, DRAIN_SECONDS)
    except Exception:  # noqa: BLE001
        log.exception("could not start notification delivery")


def drain(store: Store, timeout: float) -> bool:
    """Wait until the outbox has nothing undelivered; False when ``timeout`` ran out.

    Returns early (False) when the next retry is due after the timeout.
    """
    end = time.monotonic() + timeout
    outbox = OutboxTable(store)
    while True:
        due = outbox.next_due()
        if due is None:
            return True
        left = end - time.monotonic()
        if left <= 0 or due - time.time() > left:
            return False
        time.sleep(0.005)


# -- whoever runs next ----------------------------------------------------------------------
def pending(store: Store) -> bool:
    """Whether a notification is due now that no live process is delivering."""
    now = time.time()
    try:
        due = OutboxTable(store).due_subscriptions(now)
        if not due:
            return False
        claims = {r[0]: (r[1], r[2]) for r in store.conn.execute(
            "SELECT id, claim_pid, claim_expires_at FROM subscriptions "
            "WHERE claim_token IS NOT NULL")}
    except (StoreError, sqlite3.Error):
        return False
    return any(sub_id not in claims or claims[sub_id][1] is None
               or claims[sub_id][1] <= now or not _alive(claims[sub_id][0])
               for sub_id in due)


def deliverer_spawner(store: Store, store_file: Path, key_dir: Path,
                      log_dir: Path) -> Callable[[], None]:
    """A callable that starts a detached deliverer when notifications are due."""
    def deliver() -> None:
        if pending(store):
            spawn_deliverer(store_file, key_dir, log_dir)
    return deliver


def spawn_deliverer(store_file: Path, key_dir: Path, log_dir: Path) -> None:
    """Start ``python -m nfvlib.lcm.notify`` detached, to deliver what is due."""
    log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(log_dir / "notify.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with open(fd, "ab") as out:
        subprocess.Popen([sys.executable, "-m", "nfvlib.lcm.notify", "--store",
                          str(store_file), "--key-dir", str(key_dir)],
                         stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                         start_new_session=True, close_fds=True)


def main(argv: list[str] | None = None) -> int:
    """Deliver due notifications, retrying for up to DRAIN_SECONDS, then exit."""
    parser = argparse.ArgumentParser(prog="python -m nfvlib.lcm.notify")
    parser.add_argument("--store", required=True)
    parser.add_argument("--key-dir", required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    from nfvlib.vault import Vault

    store = Store(args.store)
    deliverer = Deliverer(store, Vault(args.key_dir))
    end = time.time() + DRAIN_SECONDS
    try:
        while True:
            sent = deliverer.run_once()
            due = deliverer.next_due()
            if due is None or due > end or time.time() > end:
                break
            # Due but not sent: another process holds the subscription.
            time.sleep(max(0.0 if sent else 0.05, due - time.time()))
    finally:
        deliverer.close()
        store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
