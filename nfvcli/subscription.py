"""`vnflcm subsc` commands: create, list, show, delete (python-tackerclient's),
and nfvkit's own ``deliveries`` and ``deliver`` over the local notification outbox.
"""

from __future__ import annotations

from typing import Any

from cliff import command, lister, show

from nfvcli.common import DictColumn, NfvCommandMixin, delete_each

_SUBSCRIPTION_ID_HELP = "Lccn Subscription ID"
#: python-tackerclient's show columns, in its (sorted) order, then nfvkit's own
_SHOW = (("callback_uri", "Callback URI"), ("filter", "Filter"), ("id", "ID"),
         ("links", "Links"), ("verbosity", "verbosity"))
_EXTRA = (("authentication", "Authentication"),)
_DICTS = ("filter", "links", "authentication")
_DELIVERY_COLUMNS = (("id", "ID"), ("subscription_id", "Subscription ID"),
                     ("op_occ_id", "VNF LCM Op Occ ID"),
                     ("operation_state", "Operation State"), ("status", "Status"),
                     ("attempts", "Attempts"), ("last_error", "Last Error"))


def _show(sub: Any) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    fields = _SHOW + _EXTRA
    values = []
    for field, _ in fields:
        value = getattr(sub, field)
        if field in _DICTS:
            value = None if value is None else DictColumn(value)
        values.append(value)
    return tuple(h for _, h in fields), tuple(values)


class CreateLccnSubscription(NfvCommandMixin, show.ShowOne):
    _description = ("Create a new Lccn Subscription (the callback must answer a test "
                    "GET with 204)")

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("create_request_file", metavar="<param-file>",
                            help="Specify create request parameters in a json file "
                                 "(SOL003 LccnSubscriptionRequest).")
        return parser

    def take_action(self, parsed_args):
        from nfvcli.requests_file import load_request_file

        body = load_request_file(parsed_args.create_request_file)
        return _show(self.nfv.subscriptions.create_subscription(body))


class DeleteLccnSubscription(NfvCommandMixin, command.Command):
    _description = "Delete Lccn Subscription(s)"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("subscription_id", metavar="<subscription-id>", nargs="+",
                            help="Lccn Subscription ID(s) to delete")
        return parser

    def take_action(self, parsed_args):
        ids = parsed_args.subscription_id
        delete_each(self, ids, self.nfv.subscriptions.delete_subscription,
                    failure="Failed to delete Lccn Subscription with ID '{name}': "
                            "{error}",
                    summary="Failed to delete {failed} of {total} Lccn Subscriptions.",
                    success="All specified Lccn Subscriptions are deleted successfully"
                    if len(ids) > 1 else
                    f"Lccn Subscription '{ids[0]}' is deleted successfully")


class ListLccnSubscription(NfvCommandMixin, lister.Lister):
    _description = "List Lccn Subscriptions"

    def get_parser(self, prog_name):
        from nfvcli.common import add_filter_option

        parser = super().get_parser(prog_name)
        add_filter_option(parser)
        return parser

    def take_action(self, parsed_args):
        subs = self.nfv.subscriptions.list_subscriptions(filter=parsed_args.filter)
        return ("ID", "Callback URI"), ((s.id, s.callback_uri) for s in subs)


class ShowLccnSubscription(NfvCommandMixin, show.ShowOne):
    _description = "Display Lccn Subscription details"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("subscription_id", metavar="<subscription-id>",
                            help=f"{_SUBSCRIPTION_ID_HELP} to display")
        return parser

    def take_action(self, parsed_args):
        return _show(self.nfv.subscriptions.get_subscription(parsed_args.subscription_id))


class ListLccnDeliveries(NfvCommandMixin, lister.Lister):
    _description = ("List notifications in the outbox and their delivery: PENDING, "
                    "DELIVERED, or FAILED with the last error (local mode)")

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--subscription", metavar="<subscription-id>",
                            help=f"Only this {_SUBSCRIPTION_ID_HELP}'s notifications")
        parser.add_argument("--status", choices=("PENDING", "DELIVERED", "FAILED"),
                            help="Only notifications in this delivery status")
        return parser

    def take_action(self, parsed_args):
        rows = self.nfv.subscriptions.list_deliveries(
            subscription_id=parsed_args.subscription, status=parsed_args.status)
        return (tuple(h for _, h in _DELIVERY_COLUMNS),
                (tuple(getattr(r, f) for f, _ in _DELIVERY_COLUMNS) for r in rows))


class DeliverLccnNotifications(NfvCommandMixin, show.ShowOne):
    _description = ("Send every undelivered notification now, in order per "
                    "subscription, retry delays ignored (local mode)")

    def take_action(self, parsed_args):
        result = self.nfv.subscriptions.deliver()
        return ("Delivered", "Pending"), (result["delivered"], result["pending"])
