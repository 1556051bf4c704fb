"""`vnf restoration-point` commands: create, list, show, delete (local mode).

A restoration point is a Heat stack snapshot plus a copy of the VNF
instance record; ``vnflcm fallback`` restores one.
"""

from __future__ import annotations

from cliff import command, lister, show

from nfvcli.common import NfvCommandMixin, delete_each

_LIST_COLUMNS = (("id", "ID"), ("name", "Name"), ("vnf_instance_id", "VNF Instance ID"),
                 ("created_at", "Created At"), ("size", "Size (bytes)"),
                 ("vnfd_id", "VNFD ID"))
_SHOW_COLUMNS = _LIST_COLUMNS + (
    ("package_id", "VNF Package ID"), ("stack_name", "Stack Name"),
    ("stack_id", "Stack ID"), ("snapshot_id", "Snapshot ID"),
    ("op_occ_id", "Taken By Operation Occurrence"), ("status", "Status"))
_STATUS_TEXT = {"AVAILABLE": "AVAILABLE",
                "STACK_GONE": "STACK_GONE (the stack is gone; it cannot be restored)",
                "SNAPSHOT_GONE": "SNAPSHOT_GONE (Heat no longer has the snapshot)"}


def _show(point) -> tuple[tuple[str, ...], tuple]:
    values = []
    for field, _ in _SHOW_COLUMNS:
        value = getattr(point, field)
        if field == "status":
            value = _STATUS_TEXT.get(value, value or "")
        values.append("" if value is None else value)
    return tuple(h for _, h in _SHOW_COLUMNS), tuple(values)


class CreateRestorationPoint(NfvCommandMixin, show.ShowOne):
    _description = ("Take a restoration point of a VNF instance: a Heat stack snapshot "
                    "and a copy of the instance record")

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("vnf_instance", metavar="<vnf-instance>",
                            help="VNF instance ID (or name)")
        parser.add_argument("--name", metavar="<name>",
                            help="A name for the point (for 'vnflcm fallback --to')")
        return parser

    def take_action(self, parsed_args):
        point = self.nfv.restoration_points.create_point(parsed_args.vnf_instance,
                                                         name=parsed_args.name)
        return _show(point)


class ListRestorationPoint(NfvCommandMixin, lister.Lister):
    _description = "List the restoration points of a VNF instance (of all without one)"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("vnf_instance", metavar="<vnf-instance>", nargs="?",
                            help="VNF instance ID (or name)")
        return parser

    def take_action(self, parsed_args):
        points = self.nfv.restoration_points.list_points(parsed_args.vnf_instance)
        return (tuple(h for _, h in _LIST_COLUMNS),
                (tuple(getattr(p, f) for f, _ in _LIST_COLUMNS) for p in points))


class ShowRestorationPoint(NfvCommandMixin, show.ShowOne):
    _description = ("Show a restoration point and whether Heat still has its stack and "
                    "snapshot")

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("point", metavar="<restoration-point>",
                            help="Restoration point ID (or name)")
        return parser

    def take_action(self, parsed_args):
        return _show(self.nfv.restoration_points.get_point(parsed_args.point))


class DeleteRestorationPoint(NfvCommandMixin, command.Command):
    _description = "Delete restoration point(s) and their Heat snapshots"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("points", metavar="<restoration-point>", nargs="+",
                            help="Restoration point ID(s) (or names) to delete")
        return parser

    def take_action(self, parsed_args):
        names = parsed_args.points
        delete_each(self, names, self.nfv.restoration_points.delete_point,
                    failure="Failed to delete restoration point '{name}': {error}",
                    summary="Failed to delete {failed} of {total} restoration points.",
                    success="All specified restoration points are deleted successfully"
                    if len(names) > 1
                    else f"Restoration point '{names[0]}' deleted successfully")
