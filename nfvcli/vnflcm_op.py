"""`vnflcm op` commands: list, show, rollback, retry, fail, cancel, suspend, resume.

Names, positional arguments, options, columns and messages follow
python-tackerclient; ``--wait``/``--timeout`` and their exit codes are
described in :mod:`nfvcli.vnflcm`. ``show`` adds nfvkit's columns: the
current step, every step of the plan with its status, attempts, timings,
detail and progress, the escalation policy and what it did, and whether the
occurrence is suspended. ``suspend`` and ``resume`` are local-mode only.
"""

from __future__ import annotations

from typing import Any

from cliff import columns, lister, show

from nfvcli.common import (NfvCommandMixin, add_fields_options, add_filter_option,
                           nfv_mode, select_columns, sol003_row, sol003_show)
from nfvcli.vnflcm import OperationCommand

#: (SOL003 attribute, python-tackerclient's column) of vnflcm op list
_LIST_COLUMNS = (("id", "ID"), ("operationState", "Operation State"),
                 ("vnfInstanceId", "VNF Instance ID"), ("operation", "Operation"))
#: python-tackerclient's names of VnfLcmOpOcc attributes (vnflcm op show)
_SHOW_COLUMN_MAP = {
    "id": "ID", "operationState": "Operation State",
    "stateEnteredTime": "State Entered Time", "startTime": "Start Time",
    "vnfInstanceId": "VNF Instance ID", "operation": "Operation",
    "isAutomaticInvocation": "Is Automatic Invocation",
    "isCancelPending": "Is Cancel Pending", "error": "Error", "_links": "Links",
    "operationParams": "Operation Parameters", "grantId": "Grant ID",
    "resourceChanges": "Resource Changes", "changedInfo": "Changed Info",
    "cancelMode": "Cancel Mode",
    "changedExtConnectivity": "Changed External Connectivity",
}
#: nfvkit's own columns, shown after python-tackerclient's
_EXTRA_COLUMNS = (("step_summary", "Current Step"),
                  ("vnf_instance_deleted", "VNF Instance Deleted"),
                  ("on_failure", "On Failure"),
                  ("is_suspend_pending", "Is Suspend Pending"),
                  ("is_suspended", "Is Suspended"))
_OP_ID_HELP = "VNF lifecycle management operation occurrence ID."

def _value(op: Any, field: str) -> Any:
    value = getattr(op, field, None)
    return getattr(value, "value", value)


def _clock(stamp: str | None) -> str:
    """The time of day of an ISO timestamp (the date is the occurrence's)."""
    if not stamp:
        return "-"
    return stamp.split("T", 1)[-1].split("+", 1)[0].rstrip("Z")


class StepsColumn(columns.FormattableColumn):
    """The plan, one line per step in tables; a list of mappings in json/yaml."""

    def human_readable(self) -> str:
        lines = []
        for number, step in enumerate(self._value or (), 1):
            line = (f"{number}. {step.name}: {step.status}, attempts "
                    f"{getattr(step, 'attempts', 0)}, {_clock(step.started_at)}"
                    f"..{_clock(step.ended_at)}")
            for label, text in (("progress", getattr(step, "progress", None)),
                                ("detail", step.detail), ("error", step.error)):
                if text:
                    line += f"; {label}: {text}"
            lines.append(line)
        return "\n".join(lines)

    def machine_readable(self) -> Any:
        import dataclasses

        return [dataclasses.asdict(s) for s in self._value or ()]


class EscalationsColumn(columns.FormattableColumn):
    """What the escalation policy did, one line per entry in tables."""

    def human_readable(self) -> str:
        return "\n".join(
            f"{_clock(e.get('at'))} {e.get('procedure')} {e.get('outcome')}"
            + (f" (step {e['step']})" if e.get("step") else "")
            for e in self._value or ())

    def machine_readable(self) -> Any:
        return [dict(e) for e in self._value or ()]


def _show(op: Any) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """Columns and values of one occurrence.

    python-tackerclient's columns come first, sorted by name as it sorts
    them, holding the SOL003 VnfLcmOpOcc (:func:`nfvlib.sol003.op_occ`);
    nfvkit's own follow: the current step, whether the VNF instance has been
    deleted since (its occurrences are kept), the steps and escalations.
    """
    from nfvlib import sol003

    extra = {header: _value(op, field) for field, header in _EXTRA_COLUMNS}
    extra["Current Step"] = extra["Current Step"] or None
    extra["Steps"] = StepsColumn(op.steps)
    extra["Escalations"] = EscalationsColumn(getattr(op, "escalations", ()))
    return sol003_show(sol003.op_occ(op), _SHOW_COLUMN_MAP, extra)


class ListVnfLcmOp(NfvCommandMixin, lister.Lister):
    _description = "List LCM Operation Occurrences"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        add_filter_option(parser)
        add_fields_options(parser)
        return parser

    def take_action(self, parsed_args):
        from nfvlib import sol003

        ops = self.nfv.lcm.list_op_occs(filter=parsed_args.filter)
        columns = select_columns(_LIST_COLUMNS, parsed_args.fields,
                                 parsed_args.exclude_fields)
        keys = tuple(k for k, _ in columns)
        return (tuple(h for _, h in columns),
                (sol003_row(sol003.op_occ(o, keys), keys) for o in ops))


class _OneOpCommand(NfvCommandMixin, show.ShowOne):
    """A command on one operation occurrence that shows it afterwards."""

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("vnf_lcm_op_occ_id", metavar="<vnf-lcm-op-occ-id>",
                            help=_OP_ID_HELP)
        return parser


class ShowVnfLcmOp(_OneOpCommand):
    _description = "Display Operation Occurrence details, with its current step"

    def take_action(self, parsed_args):
        return _show(self.nfv.lcm.get_op_occ(parsed_args.vnf_lcm_op_occ_id))


class FailVnfLcmOp(_OneOpCommand):
    _description = "Fail VNF Instance (mark a FAILED_TEMP operation as FAILED)"

    def take_action(self, parsed_args):
        return _show(self.nfv.lcm.fail(parsed_args.vnf_lcm_op_occ_id))


class _OpOccCommand(OperationCommand):
    """A request on an existing occurrence, named by its id."""

    verb = ""

    def add_arguments(self, parser):
        parser.add_argument("vnf_lcm_op_occ_id", metavar="<vnf-lcm-op-occ-id>",
                            help=_OP_ID_HELP)

    def accepted(self, parsed_args):
        return (f"{self.verb} request for LCM operation {parsed_args.vnf_lcm_op_occ_id} "
                "has been accepted")


class RollbackVnfLcmOp(_OpOccCommand):
    _description = ("Rollback VNF Instance (undo a FAILED_TEMP operation; with --wait "
                    "exit 0 once ROLLED_BACK)")
    verb = "Rollback"
    rollback_request = True

    def request(self, parsed_args):
        return self.nfv.lcm.rollback(parsed_args.vnf_lcm_op_occ_id)


class RetryVnfLcmOp(_OpOccCommand):
    _description = "Retry VNF Instance (resume a FAILED_TEMP operation at its failed step)"
    verb = "Retry"

    def request(self, parsed_args):
        return self.nfv.lcm.retry(parsed_args.vnf_lcm_op_occ_id)


class CancelVnfLcmOp(_OpOccCommand):
    _description = "Cancel VNF Instance (stop a STARTING, PROCESSING or ROLLING_BACK operation)"
    verb = "Cancel"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--cancel-mode", default="GRACEFUL", metavar="<cancel-mode>",
                            choices=("GRACEFUL", "FORCEFUL"),
                            help="Cancel mode can be 'GRACEFUL' or 'FORCEFUL'. "
                                 "Default is 'GRACEFUL'")

    def request(self, parsed_args):
        return self.nfv.lcm.cancel(parsed_args.vnf_lcm_op_occ_id,
                                   cancel_mode=parsed_args.cancel_mode)


def _local_only(cmd: Any, what: str) -> None:
    """Unsupported in remote mode: Tacker's LCM API cannot ``what``."""
    if nfv_mode(cmd.app) == "remote":
        from nfvlib.exceptions import Unsupported

        raise Unsupported(f"{what} is a local-mode feature: a Tacker server's LCM API "
                          "cannot suspend or resume an operation",
                          hint="cancel it with 'vnflcm op cancel' instead")


class SuspendVnfLcmOp(_OpOccCommand):
    _description = ("Suspend an operation at its next step boundary (local mode; with "
                    "--wait exit 0 once suspended)")
    verb = "Suspend"

    def request(self, parsed_args):
        _local_only(self, "suspend")
        return self.nfv.lcm.suspend(parsed_args.vnf_lcm_op_occ_id)

    def finished(self, parsed_args, op):
        if getattr(op, "is_suspended", False):
            self.exit_code = 0


class ResumeVnfLcmOp(_OpOccCommand):
    _description = "Resume a suspended operation from the step where it stopped (local mode)"
    verb = "Resume"

    def request(self, parsed_args):
        _local_only(self, "resume")
        return self.nfv.lcm.resume(parsed_args.vnf_lcm_op_occ_id)
