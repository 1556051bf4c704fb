"""SQL for SOL003 subscriptions and the notification outbox.

The outbox holds every notification until its callback answered 204. Rows
are written in the transaction of the state change they tell about (see
:mod:`nfvlib.lcm.notify`); ``seq`` orders them per subscription. A deliverer
*claims* a subscription (token, pid, expiry) before sending its
notifications, so two processes never send the same subscription's
notifications at once, and so never out of order.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from nfvlib.models import NotificationDelivery, Subscription
from nfvlib.store.sqlite import Store

PENDING = "PENDING"
DELIVERED = "DELIVERED"
FAILED = "FAILED"


def subscription_from_row(row: sqlite3.Row) -> Subscription:
    """A stored subscription (its authentication still sealed)."""
    auth = row["authentication"]
    return Subscription(id=row["id"], callback_uri=row["callback_uri"],
                        filter=json.loads(row["filter"]), verbosity=row["verbosity"],
                        authentication=json.loads(auth) if auth else None,
                        created_at=row["created_at"])


class SubscriptionTable:
    """Rows of ``subscriptions``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def insert(self, conn: sqlite3.Connection, sub: Subscription) -> None:
        conn.execute(
            "INSERT INTO subscriptions (id, callback_uri, filter, verbosity, "
            "authentication, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (sub.id, sub.callback_uri, json.dumps(sub.filter), sub.verbosity,
             json.dumps(sub.authentication) if sub.authentication else None,
             sub.created_at))

    def get(self, sub_id: str, conn: sqlite3.Connection | None = None
            ) -> Subscription | None:
        row = (conn or self.store.conn).execute(
            "SELECT * FROM subscriptions WHERE id = ?", (sub_id,)).fetchone()
        return subscription_from_row(row) if row else None

    def all(self, conn: sqlite3.Connection | None = None) -> list[Subscription]:
        rows = (conn or self.store.conn).execute(
            "SELECT * FROM subscriptions ORDER BY created_at, id")
        return [subscription_from_row(r) for r in rows]

    def delete(self, conn: sqlite3.Connection, sub_id: str) -> bool:
        # Its undelivered notifications go with it (ON DELETE CASCADE).
        return conn.execute("DELETE FROM subscriptions WHERE id = ?",
                            (sub_id,)).rowcount == 1

    # -- claims ---------------------------------------------------------------
    def claim(self, conn: sqlite3.Connection, sub_id: str, token: str, pid: int,
              expires_at: float) -> None:
        conn.execute("UPDATE subscriptions SET claim_token = ?, claim_pid = ?, "
                     "claim_expires_at = ? WHERE id = ?",
                     (token, pid, expires_at, sub_id))

    def claim_of(self, conn: sqlite3.Connection, sub_id: str
                 ) -> tuple[str | None, int | None, float | None] | None:
        row = conn.execute("SELECT claim_token, claim_pid, claim_expires_at "
                           "FROM subscriptions WHERE id = ?", (sub_id,)).fetchone()
        return None if row is None else (row[0], row[1], row[2])

    def release(self, conn: sqlite3.Connection, sub_id: str, token: str) -> None:
        conn.execute("UPDATE subscriptions SET claim_token = NULL, claim_pid = NULL, "
                     "claim_expires_at = NULL WHERE id = ? AND claim_token = ?",
                     (sub_id, token))


class OutboxTable:
    """Rows of ``notifications``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, conn: sqlite3.Connection, *, notification_id: str,
            subscription_id: str, body: dict[str, Any], created_at: str) -> None:
        conn.execute(
            "INSERT INTO notifications (id, subscription_id, notification_type, "
            "op_occ_id, operation_state, body, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (notification_id, subscription_id, body["notificationType"],
             body.get("vnfLcmOpOccId"), body.get("operationState"), json.dumps(body),
             created_at))

    def due_subscriptions(self, now: float | None) -> list[str]:
        """Subscriptions whose oldest undelivered notification is due (any if None)."""
        rows = self.store.conn.execute(
            "SELECT subscription_id, next_attempt_at FROM notifications n "
            "WHERE status != 'DELIVERED' AND seq = (SELECT MIN(seq) FROM notifications "
            "m WHERE m.subscription_id = n.subscription_id AND m.status != 'DELIVERED') "
            "ORDER BY seq")
        return [r[0] for r in rows if now is None or r[1] <= now]

    def next_due(self) -> float | None:
        """When the earliest undelivered notification is next due, if any."""
        row = self.store.conn.execute(
            "SELECT MIN(next_attempt_at) FROM notifications "
            "WHERE status != 'DELIVERED'").fetchone()
        due: float | None = row[0]
        return due

    def head(self, sub_id: str) -> sqlite3.Row | None:
        """The subscription's oldest undelivered notification."""
        row: sqlite3.Row | None = self.store.conn.execute(
            "SELECT * FROM notifications WHERE subscription_id = ? AND "
            "status != 'DELIVERED' ORDER BY seq LIMIT 1", (sub_id,)).fetchone()
        return row

    def mark_delivered(self, conn: sqlite3.Connection, seq: int, attempts: int,
                       at: str) -> None:
        conn.execute("UPDATE notifications SET status = 'DELIVERED', attempts = ?, "
                     "last_error = NULL, delivered_at = ? WHERE seq = ?",
                     (attempts, at, seq))

    def mark_failed(self, conn: sqlite3.Connection, seq: int, attempts: int,
                    error: str, next_attempt_at: float, status: str) -> None:
        conn.execute("UPDATE notifications SET status = ?, attempts = ?, "
                     "last_error = ?, next_attempt_at = ? WHERE seq = ?",
                     (status, attempts, error, next_attempt_at, seq))

    def deliveries(self, subscription_id: str | None = None,
                   status: str | None = None) -> list[NotificationDelivery]:
        where, params = [], []
        if subscription_id:
            where.append("subscription_id = ?")
            params.append(subscription_id)
        if status:
            where.append("status = ?")
            params.append(status)
        sql = "SELECT * FROM notifications"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.store.conn.execute(sql + " ORDER BY seq", params)
        return [NotificationDelivery(
            id=r["id"], subscription_id=r["subscription_id"],
            notification_type=r["notification_type"], status=r["status"],
            attempts=r["attempts"], last_error=r["last_error"],
            op_occ_id=r["op_occ_id"], operation_state=r["operation_state"],
            created_at=r["created_at"], delivered_at=r["delivered_at"]) for r in rows]
