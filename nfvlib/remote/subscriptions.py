"""SOL003 LCCN subscriptions of a Tacker server (``/vnflcm/v2/subscriptions``).

Tacker tests the callback itself and sends the notifications; its outbox is
not visible through the API, so :meth:`RemoteSubscriptions.list_deliveries`
and :meth:`RemoteSubscriptions.deliver` are local-mode only.
"""

from __future__ import annotations

from typing import Any, Mapping

from nfvlib.exceptions import SubscriptionNotFound, Unsupported
from nfvlib.lcm import secrets
from nfvlib.models import Subscription
from nfvlib.remote.http import TackerApi
from nfvlib.remote.lcm import V2_HEADERS, _Pager

SUBSCRIPTIONS = "/vnflcm/v2/subscriptions"


class RemoteSubscriptions:
    """Subscriptions on a Tacker server; same methods as the local ones."""

    def __init__(self, api: TackerApi) -> None:
        self._api = api
        self._pager = _Pager(api)

    def create_subscription(self, request: Mapping[str, Any]) -> Subscription:
        """POST an LccnSubscriptionRequest; Tacker tests the callback with GET."""
        resp = self._api.send("POST", SUBSCRIPTIONS, json=dict(request),
                              headers=V2_HEADERS)
        return subscription_from_wire(resp.json(), request.get("authentication"))

    def list_subscriptions(self, filter: str | None = None) -> list[Subscription]:
        """Every subscription the server shows (matching a SOL013 ``filter``)."""
        from nfvlib.filters import SUBSCRIPTION_ATTRIBUTES, parse_filter

        expression = parse_filter(filter, attributes=SUBSCRIPTION_ATTRIBUTES)
        params = None if expression is None else {"filter": str(expression)}
        return [subscription_from_wire(s)
                for s in self._pager.get_all(SUBSCRIPTIONS, headers=V2_HEADERS,
                                             params=params)]

    def get_subscription(self, sub_id: str) -> Subscription:
        """The subscription with this id."""
        resp = self._api.send("GET", f"{SUBSCRIPTIONS}/{sub_id}", headers=V2_HEADERS,
                              not_found=SubscriptionNotFound)
        return subscription_from_wire(resp.json())

    def delete_subscription(self, sub_id: str) -> Subscription:
        """Delete a subscription."""
        sub = self.get_subscription(sub_id)
        self._api.send("DELETE", f"{SUBSCRIPTIONS}/{sub_id}", headers=V2_HEADERS,
                       not_found=SubscriptionNotFound)
        return sub

    def list_deliveries(self, subscription_id: str | None = None,
                        status: str | None = None) -> list[Any]:
        """Not available: a Tacker server does not show its notification outbox."""
        raise Unsupported("a Tacker server does not show its notification deliveries",
                          hint="use --os-nfv-mode local")

    def deliver(self) -> dict[str, int]:
        """Not available: a Tacker server delivers its notifications itself."""
        raise Unsupported("a Tacker server delivers its notifications itself",
                          hint="use --os-nfv-mode local")


def subscription_from_wire(body: Mapping[str, Any],
                           authentication: Mapping[str, Any] | None = None
                           ) -> Subscription:
    """A :class:`Subscription` from SOL003 LccnSubscription JSON.

    Tacker does not return ``authentication``; the request's, masked, is
    shown where it is known.
    """
    return Subscription(id=body["id"], callback_uri=body.get("callbackUri", ""),
                        filter=dict(body.get("filter") or {}),
                        verbosity=body.get("verbosity", "FULL"),
                        authentication=secrets.mask(dict(authentication))
                        if authentication else None,
                        links=dict(body.get("_links") or {}))
