"""`vnflcm` commands: create, instantiate, scale, heal, terminate, operate, reboot,
delete, list, show.

Names, positional arguments, options, columns and messages follow
python-tackerclient. Our addition on every operation request is ``--wait``
(follow the operation occurrence to its end, progress on stderr) with
``--timeout``; the exit code then tells the final state of the occurrence:

======  =================================================================
code    final state
======  =================================================================
0       COMPLETED (or ROLLED_BACK when a rollback was requested)
20      FAILED_TEMP: fix the cause, then ``vnflcm op retry`` or ``rollback``
21      FAILED
22      ROLLED_BACK
11      ``--timeout`` ran out before the occurrence ended
======  =================================================================

``-f json`` makes stdout JSON lines for scripts: an ``accepted`` event, then
with ``--wait`` one ``progress`` event per change of state or step, then a
``result`` event holding the whole occurrence (:func:`op_record`). Local
mode adds ``--on-failure <policy>`` to instantiate, scale, heal, terminate
and change-vnfpkg: the escalation policy (:mod:`nfvlib.lcm.policy`).
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from cliff import columns, command, lister, show

from nfvcli import errors
from nfvcli.common import (NfvCommandMixin, delete_each, nfv_mode, sol003_row,
                            sol003_show)
from nfvcli.errors import EXIT_FAILED, EXIT_FAILED_TEMP, EXIT_ROLLED_BACK
from nfvcli.requests_file import load_additional_params, load_request_file

_STATE_EXIT_CODES = {"COMPLETED": errors.EXIT_OK, "FAILED_TEMP": EXIT_FAILED_TEMP,
                     "FAILED": EXIT_FAILED, "ROLLED_BACK": EXIT_ROLLED_BACK}

#: (SOL003 attribute, python-tackerclient's column) of vnflcm list
_LIST_COLUMNS = (
    ("id", "ID"), ("vnfInstanceName", "VNF Instance Name"),
    ("instantiationState", "Instantiation State"), ("vnfProvider", "VNF Provider"),
    ("vnfSoftwareVersion", "VNF Software Version"),
    ("vnfProductName", "VNF Product Name"), ("vnfdId", "VNFD ID"),
)


# -- arguments ---------------------------------------------------------------

def positive_int(text: str) -> int:
    """Parse a whole number of at least 1."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, not {text!r}")
    return value


def non_negative_int(text: str) -> int:
    """Parse a whole number of at least 0."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, not {text!r}")
    return value


def seconds(text: str) -> float:
    """Parse a positive number of seconds."""
    value = _number(text, float)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected seconds > 0, not {text!r}")
    return value


def _number(text: str, kind: type) -> Any:
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None


def add_wait_options(parser: argparse.ArgumentParser) -> None:
    """``--wait`` and ``--timeout``, shared by every operation request."""
    parser.add_argument("--wait", action="store_true",
                        help="Follow the operation occurrence to its end, with progress "
                             "on stderr; the exit code tells the final state (0 "
                             "COMPLETED, 20 FAILED_TEMP, 21 FAILED, 22 ROLLED_BACK, "
                             "11 timed out)")
    parser.add_argument("--timeout", metavar="<seconds>", type=seconds,
                        help="Give up waiting after this many seconds (the operation "
                             "goes on); needs --wait")
    parser.add_argument("-f", "--format", dest="output_format", default="text",
                        choices=("text", "json"),
                        help="json: JSON lines on stdout (accepted, then with --wait "
                             "one progress event per state or step change, then the "
                             "result); text (default): tackerclient's messages")


def add_on_failure_option(parser: argparse.ArgumentParser) -> None:
    """``--on-failure``: the request's escalation policy (local mode)."""
    parser.add_argument("--on-failure", metavar="<policy>",
                        help="What to do when the operation fails (local mode): "
                             "retry:N (run the failed step again, idempotent steps "
                             "only), rollback, fallback (to the restoration point), "
                             "in this order, e.g. 'retry:2,rollback,fallback'; 'none' "
                             "stops FAILED_TEMP. Default: $NFV_ON_FAILURE, else none")


def on_failure_kwargs(cmd: Any, parsed_args: Any) -> dict[str, Any]:
    """``{"on_failure": ...}`` when given; Unsupported in remote mode."""
    if getattr(parsed_args, "on_failure", None) is None:
        return {}
    if nfv_mode(cmd.app) == "remote":
        from nfvlib.exceptions import Unsupported

        raise Unsupported("--on-failure is a local-mode feature: a Tacker server "
                          "applies no escalation policy",
                          hint="drop --on-failure, or use --os-nfv-mode local")
    return {"on_failure": parsed_args.on_failure}


def point_and_policy_kwargs(cmd: Any, parsed_args: Any) -> dict[str, Any]:
    """``restoration_point`` (when asked for) and ``on_failure`` (when given)."""
    kwargs = {"restoration_point": True} if parsed_args.restoration_point else {}
    return {**kwargs, **on_failure_kwargs(cmd, parsed_args)}


# -- following an operation occurrence ---------------------------------------

class Progress:
    """Progress callback: one line per change of state or step of an occurrence.

    On a terminal the line is rewritten in place; otherwise each change is a
    line of its own, e.g. ``PROCESSING step 3 of 6: wait for stack``.
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._live = bool(getattr(stream, "isatty", lambda: False)())
        self._last: str | None = None

    def __call__(self, op: Any) -> None:
        line = f"{_state(op)} {op.step_summary}".rstrip()
        if line == self._last:
            return
        self._last = line
        self._stream.write(f"\r\x1b[K{line}" if self._live else f"{line}\n")
        self._stream.flush()

    def close(self) -> None:
        """End the live line, if any."""
        if self._live and self._last is not None:
            self._stream.write("\n")
            self._stream.flush()


class JsonLines:
    """Progress callback writing one JSON object per change to ``stream``.

    Events: ``{"event": "progress", "id", "operation", "state", "step", "steps",
    "stepName", "stepStatus", "attempts", "isCancelPending", "isSuspended"}``
    (``step`` counts from 1; None when the plan has no steps).
    """

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def __call__(self, op: Any) -> None:
        event: dict[str, Any] = {"event": "progress", "id": op.id,
                                 "operation": _state(op, "operation"),
                                 "state": _state(op),
                                 "step": None, "steps": len(op.steps), "stepName": None,
                                 "stepStatus": None, "attempts": None,
                                 "isCancelPending": op.is_cancel_pending,
                                 "isSuspended": getattr(op, "is_suspended", False)}
        if op.steps:
            index = min(op.current_step, len(op.steps) - 1)
            step = op.steps[index]
            event.update(step=index + 1, stepName=step.name, stepStatus=step.status,
                         attempts=getattr(step, "attempts", None))
        self.write(event)

    def write(self, event: dict[str, Any]) -> None:
        """One event as one line, flushed (a script reads it at once)."""
        import json

        self._stream.write(json.dumps(event) + "\n")
        self._stream.flush()

    def close(self) -> None:
        """Nothing to end (the live line of :class:`Progress` has no JSON twin)."""


def op_record(op: Any) -> dict[str, Any]:
    """An occurrence as a JSON-ready mapping: the SOL003 VnfLcmOpOcc
    (:func:`nfvlib.sol003.op_occ`), nfvkit's fields after."""
    from nfvlib import sol003

    return {**sol003.op_occ(op),
            "currentStep": op.step_summary or None,
            "steps": [dataclasses.asdict(s) for s in op.steps],
            "onFailure": getattr(op, "on_failure", None),
            "escalations": [dict(e) for e in getattr(op, "escalations", ())],
            "isSuspendPending": getattr(op, "is_suspend_pending", False),
            "isSuspended": getattr(op, "is_suspended", False)}


def exit_code_for(op: Any, *, rollback: bool = False) -> int:
    """The exit code for the state an awaited occurrence ended in."""
    state = _state(op)
    if rollback and state == "ROLLED_BACK":
        return errors.EXIT_OK
    return _STATE_EXIT_CODES.get(state, errors.EXIT_ERROR)


def outcome(op: Any) -> str:
    """One line: operation, occurrence id, state and, if any, the error."""
    line = f"{_state(op, 'operation')} {op.id}: {_state(op)}"
    problem = op.error or {}
    detail = problem.get("detail") or problem.get("title")
    return f"{line}: {' '.join(str(detail).split())}" if detail else line


def _state(op: Any, field: str = "state") -> str:
    value = getattr(op, field)
    return getattr(value, "value", value)


class OperationCommand(NfvCommandMixin, command.Command):
    """An LCM request: print that it was accepted, or with ``--wait`` follow it.

    Subclasses add their arguments in :meth:`add_arguments`, make the one
    library call in :meth:`request` and word the message in :meth:`accepted`.
    """

    #: True for ``op rollback``, where ROLLED_BACK is success.
    rollback_request = False

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        self.add_arguments(parser)
        add_wait_options(parser)
        return parser

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add the command's own arguments."""

    def request(self, parsed_args: Any) -> Any:
        """Make the request; return the operation occurrence."""
        raise NotImplementedError

    def accepted(self, parsed_args: Any) -> str:
        """tackerclient's message once the request is accepted."""
        raise NotImplementedError

    def waits(self, parsed_args: Any) -> bool:
        """Whether to follow the occurrence to its end."""
        return parsed_args.wait

    def finished(self, parsed_args: Any, op: Any) -> None:
        """Act on the awaited occurrence's final state (nothing by default)."""

    #: Set by take_action: stdout carries JSON lines only.
    json_lines = False

    def take_action(self, parsed_args):
        waiting = self.waits(parsed_args)
        if parsed_args.timeout is not None and not waiting:
            from nfvlib.exceptions import InvalidInput

            raise InvalidInput("--timeout needs --wait")
        self.json_lines = parsed_args.output_format == "json"
        op = self.request(parsed_args)
        if self.json_lines:
            JsonLines(self.app.stdout).write({"event": "accepted", **op_record(op)})
        else:
            self.announce(parsed_args, op)
        if waiting:
            op = self.follow(op, parsed_args.timeout)
            self.exit_code = exit_code_for(op, rollback=self.rollback_request)
            self.finished(parsed_args, op)

    def say(self, text: str) -> None:
        """A message line: stdout, or stderr when stdout carries JSON lines."""
        (self.app.stderr if self.json_lines else self.app.stdout).write(f"{text}\n")

    def announce(self, parsed_args: Any, op: Any) -> None:
        """Print the accepted message and the occurrence id."""
        self.app.stdout.write(f"{self.accepted(parsed_args)}\n")
        self.app.stdout.write(f"VNF LCM operation occurrence ID: {op.id}\n")

    def follow(self, op: Any, timeout: float | None) -> Any:
        """Wait for ``op`` to end; print its outcome; return the final occurrence."""
        progress: Any = (JsonLines(self.app.stdout) if self.json_lines
                         else Progress(self.app.stderr))
        try:
            final = self.nfv.lcm.wait(op.id, timeout=timeout, progress=progress)
        finally:
            progress.close()
        if self.json_lines:
            progress.write({"event": "result", **op_record(final)})
        else:
            self.app.stdout.write(f"{outcome(final)}\n")
        if getattr(final, "is_suspended", False):
            self.app.stderr.write(f"Suspended: 'vnflcm op resume {final.id}' goes on, "
                                  f"'vnflcm op rollback {final.id}' undoes it\n")
        elif _state(final) == "FAILED_TEMP":
            self.app.stderr.write(f"Fix the cause, then 'vnflcm op retry {final.id}' or "
                                  f"'vnflcm op rollback {final.id}'\n")
        return final


# -- VNF instance output -----------------------------------------------------

class VnfcColumn(columns.FormattableColumn):
    """VNFC instances: one line each in tables, a list of mappings in json/yaml."""

    def human_readable(self) -> str:
        return "\n".join(
            f"{v.vdu_id}: {v.id} {v.resource_type} {v.member or v.resource_name} "
            f"{v.status}" for v in self._value or ())

    def machine_readable(self) -> Any:
        return [dataclasses.asdict(v) for v in self._value or ()]


def _value(vnf: Any, field: str) -> Any:
    value = getattr(vnf, field)
    return getattr(value, "value", value)


#: python-tackerclient's names of VnfInstance attributes (vnflcm show)
_SHOW_COLUMN_MAP = {
    "id": "ID", "vnfInstanceName": "VNF Instance Name",
    "vnfInstanceDescription": "VNF Instance Description",
    "vnfdId": "VNFD ID", "vnfProvider": "VNF Provider",
    "vnfProductName": "VNF Product Name", "vnfSoftwareVersion": "VNF Software Version",
    "vnfdVersion": "VNFD Version", "instantiationState": "Instantiation State",
    "_links": "Links", "vnfConfigurableProperties": "VNF Configurable Properties",
    "vimConnectionInfo": "VIM Connection Info",
}


def _show(vnf: Any, package_id: str | None = None, *, created: bool = False
          ) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """Columns and values of one VNF instance, as python-tackerclient shows them.

    The values are the SOL003 VnfInstance (:func:`nfvlib.sol003.vnf_instance`)
    under tackerclient's column names, sorted; nfvkit's own columns follow:
    the VNF package id (v2 records have no ``vnfPkgId``: ``package_id``, as
    :func:`_package_id` found it) and the VNFC instances with their Heat
    resources. ``created``: the columns of ``vnflcm create``, which names
    neither the VIM connection info nor the instantiated info (a record that
    has them shows them under their SOL003 keys).
    """
    from nfvlib import sol003

    record = sol003.vnf_instance(vnf)
    column_map = dict(_SHOW_COLUMN_MAP)
    if created:
        del column_map["vimConnectionInfo"]
    elif "instantiatedVnfInfo" in record:
        column_map["instantiatedVnfInfo"] = "Instantiated Vnf Info"
    extra: dict[str, Any] = {}
    if "vnfPkgId" in record:  # a v1 record: tackerclient shows it among its columns
        column_map["vnfPkgId"] = "VNF Package ID"
    else:
        extra["VNF Package ID"] = vnf.package_id or package_id or None
    if "instantiatedVnfInfo" in record:
        extra["VNFC Instances"] = VnfcColumn(vnf.vnfc)
    return sol003_show(record, column_map, extra)


def _package_id(nfv: Any, vnf: Any) -> str | None:
    """The id of the instance's package, which a Tacker v2 record does not give.

    A Tacker server onboards one package per vnfdId and finds an instance's
    package by its vnfdId: so does this (one more request, remote mode only).
    """
    if vnf.package_id or not vnf.vnfd_id:
        return vnf.package_id or None
    from nfvlib.exceptions import NfvError

    try:
        found = nfv.packages.list_packages(filter=f"(eq,vnfdId,{vnf.vnfd_id})")
    except NfvError:
        return None  # the instance is still shown, without it
    return found[0].id if len(found) == 1 else None


# -- commands ----------------------------------------------------------------

class CreateVnfLcm(NfvCommandMixin, show.ShowOne):
    _description = "Create a new VNF Instance"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("vnfd_id", metavar="<vnfd-id>",
                            help="Identifier that identifies the VNFD which defines the "
                                 "VNF instance to be created.")
        parser.add_argument("--name", metavar="<vnf-instance-name>",
                            help="Name of the VNF instance to be created.")
        parser.add_argument("--description", metavar="<vnf-instance-description>",
                            help="Description of the VNF instance to be created.")
        parser.add_argument("--I", metavar="<param-file>",
                            help="Instantiate VNF subsequently after it's creation. "
                                 "Specify instantiate request parameters in a json file.")
        parser.add_argument("--metadata-file", metavar="<param-file>",
                            help="The VNF instance's metadata: a json file holding one "
                                 "object (SOL003 CreateVnfRequest metadata)")
        return parser

    def take_action(self, parsed_args):
        request = None if parsed_args.I is None else load_request_file(parsed_args.I)
        metadata = (None if parsed_args.metadata_file is None
                    else load_request_file(parsed_args.metadata_file))
        names = {"name": parsed_args.name, "description": parsed_args.description,
                 "metadata": metadata}
        if request is None:
            return _show(self.nfv.vnfs.create_vnf(parsed_args.vnfd_id, **names),
                         created=True)
        # Both requests are checked before the instance exists: a refused one
        # creates nothing.
        vnf, op = self.nfv.lcm.create_and_instantiate(parsed_args.vnfd_id, request,
                                                      **names)
        self.app.stderr.write(f"VNF Instance {vnf.id} is created and instantiation "
                              "request has been accepted.\n"
                              f"VNF LCM operation occurrence ID: {op.id}\n")
        return _show(vnf, created=True)


class ShowVnfLcm(NfvCommandMixin, show.ShowOne):
    _description = "Display VNF instance details, with its VNFC instances"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("vnf_instance", metavar="<vnf-instance>",
                            help="VNF instance ID to display")
        return parser

    def take_action(self, parsed_args):
        vnf = self.nfv.vnfs.get_vnf(parsed_args.vnf_instance)
        return _show(vnf, _package_id(self.nfv, vnf))


class ListVnfLcm(NfvCommandMixin, lister.Lister):
    _description = "List VNF Instance"

    def get_parser(self, prog_name):
        from nfvcli.common import add_fields_options, add_filter_option

        parser = super().get_parser(prog_name)
        add_filter_option(parser)
        add_fields_options(parser)
        return parser

    def take_action(self, parsed_args):
        from nfvcli.common import select_columns
        from nfvlib.filters import vnf_record

        vnfs = self.nfv.vnfs.list_vnfs(filter=parsed_args.filter)
        columns = select_columns(_LIST_COLUMNS, parsed_args.fields,
                                 parsed_args.exclude_fields)
        keys = tuple(k for k, _ in columns)
        # The SOL003 record, its nested parts built only for a column that needs them
        return (tuple(h for _, h in columns),
                (sol003_row(vnf_record(v), keys) for v in vnfs))


class InstantiateVnfLcm(OperationCommand):
    _description = "Instantiate a VNF Instance"

    def add_arguments(self, parser):
        parser.add_argument("vnf_instance", metavar="<vnf-instance>",
                            help="VNF instance ID to instantiate")
        parser.add_argument("instantiation_request_file", metavar="<param-file>",
                            help="Specify instantiate request parameters in a json file.")
        add_on_failure_option(parser)

    def request(self, parsed_args):
        body = load_request_file(parsed_args.instantiation_request_file)
        return self.nfv.lcm.instantiate(parsed_args.vnf_instance, body,
                                        **on_failure_kwargs(self, parsed_args))

    def accepted(self, parsed_args):
        return (f"Instantiate request for VNF Instance {parsed_args.vnf_instance} has "
                "been accepted.")


class ScaleVnfLcm(OperationCommand):
    _description = "Scale a VNF Instance"

    def add_arguments(self, parser):
        parser.add_argument("vnf_instance", metavar="<vnf-instance>",
                            help="VNF instance ID to scale")
        parser.add_argument("--number-of-steps", metavar="<number-of-steps>",
                            type=positive_int, default=1,
                            help="Number of scaling steps to be executed as part of "
                                 "this Scale VNF operation (default 1).")
        parser.add_argument("--additional-param-file", metavar="<additional-param-file>",
                            help="Additional parameters passed by the NFVO as input to "
                                 'the scaling process (a json file: {"additionalParams": '
                                 "{...}}).")
        required = parser.add_argument_group("require arguments")
        required.add_argument("--type", metavar="<type>", required=True,
                              choices=("SCALE_OUT", "SCALE_IN"),
                              help="SCALE_OUT or SCALE_IN for type of scale operation.")
        required.add_argument("--aspect-id", metavar="<aspect-id>", required=True,
                              help="Identifier of the scaling aspect.")
        add_restoration_point_option(parser, "scaling")
        add_on_failure_option(parser)

    def request(self, parsed_args):
        from nfvcli.common import merge_param_file

        # The file's keys are merged into the request, as python-tackerclient does.
        body = merge_param_file(parsed_args.additional_param_file,
                                {"type": parsed_args.type, "aspectId": parsed_args.aspect_id,
                                 "numberOfSteps": parsed_args.number_of_steps},
                                ("type", "aspectId", "numberOfSteps", "additionalParams"))
        extra = point_and_policy_kwargs(self, parsed_args)
        return self.nfv.lcm.scale(parsed_args.vnf_instance, body["type"], body["aspectId"],
                                  number_of_steps=body["numberOfSteps"],
                                  additional_params=body.get("additionalParams"), **extra)

    def accepted(self, parsed_args):
        return f"Scale request for VNF Instance {parsed_args.vnf_instance} has been accepted."


class HealVnfLcm(OperationCommand):
    _description = "Heal VNF Instance"

    def add_arguments(self, parser):
        parser.add_argument("vnf_instance", metavar="<vnf-instance>",
                            help="VNF instance ID to heal")
        parser.add_argument("--cause",
                            help="Specify the reason why a healing procedure is required.")
        parser.add_argument("--vnfc-instance", metavar="<vnfc-instance-id>", nargs="+",
                            action="extend",
                            help="List of VNFC instances requiring a healing action "
                                 "(IDs as 'vnflcm show' lists them); when <vnf-instance> "
                                 "comes after this option, put '--' before it.")
        parser.add_argument("--additional-param-file", metavar="<additional-param-file>",
                            help="Additional parameters passed by the NFVO as input to "
                                 'the healing process (a json file: {"additionalParams": '
                                 "{...}}).")
        add_restoration_point_option(parser, "healing")
        add_on_failure_option(parser)

    def request(self, parsed_args):
        from nfvcli.common import merge_param_file

        # The file's keys are merged into the request, as python-tackerclient does.
        body = merge_param_file(parsed_args.additional_param_file,
                                {"cause": parsed_args.cause,
                                 "vnfcInstanceId": parsed_args.vnfc_instance},
                                ("cause", "vnfcInstanceId", "additionalParams"))
        extra = point_and_policy_kwargs(self, parsed_args)
        return self.nfv.lcm.heal(parsed_args.vnf_instance,
                                 vnfc_instance_ids=body["vnfcInstanceId"],
                                 cause=body["cause"],
                                 additional_params=body.get("additionalParams"), **extra)

    def accepted(self, parsed_args):
        return f"Heal request for VNF Instance {parsed_args.vnf_instance} has been accepted."


class TerminateVnfLcm(OperationCommand):
    _description = "Terminate a VNF instance"

    def add_arguments(self, parser):
        parser.add_argument("vnf_instance", metavar="<vnf-instance>",
                            help="VNF instance ID to terminate")
        parser.add_argument("--termination-type", default="GRACEFUL",
                            metavar="<termination-type>", choices=("GRACEFUL", "FORCEFUL"),
                            help="Termination type can be 'GRACEFUL' or 'FORCEFUL'. "
                                 "Default is 'GRACEFUL'")
        parser.add_argument("--graceful-termination-timeout",
                            metavar="<graceful-termination-timeout>", type=non_negative_int,
                            help="This attribute is only applicable in case of graceful "
                                 "termination. It defines the time to wait for the VNF to "
                                 "be taken out of service before shutting down the VNF and "
                                 "releasing the resources. The unit is seconds.")
        parser.add_argument("--D", action="store_true", default=False,
                            help="Delete VNF Instance subsequently after it's termination "
                                 "(waits for the termination to complete)")
        add_on_failure_option(parser)

    def request(self, parsed_args):
        if (parsed_args.graceful_termination_timeout is not None
                and parsed_args.termination_type == "FORCEFUL"):
            from nfvlib.exceptions import InvalidInput

            raise InvalidInput("--graceful-termination-timeout argument is invalid for "
                               "'FORCEFUL' termination")
        return self.nfv.lcm.terminate(
            parsed_args.vnf_instance, termination_type=parsed_args.termination_type,
            graceful_termination_timeout=parsed_args.graceful_termination_timeout,
            **on_failure_kwargs(self, parsed_args))

    def accepted(self, parsed_args):
        return (f"Terminate request for VNF Instance '{parsed_args.vnf_instance}' has been "
                "accepted.")

    def waits(self, parsed_args):
        return parsed_args.wait or parsed_args.D

    def announce(self, parsed_args, op):
        super().announce(parsed_args, op)
        if parsed_args.D:
            self.app.stdout.write("Waiting for vnf instance to be terminated before "
                                  "deleting\n")

    def finished(self, parsed_args, op):
        if not parsed_args.D:
            return
        if _state(op) != "COMPLETED":
            self.app.stderr.write(f"VNF Instance '{parsed_args.vnf_instance}' is not "
                                  f"deleted: termination ended {_state(op)}\n")
            return
        self.nfv.vnfs.delete_vnf(parsed_args.vnf_instance)
        self.say(f"VNF Instance '{parsed_args.vnf_instance}' deleted successfully")


class OperateVnfLcm(OperationCommand):
    _description = "Start or stop a VNF instance, or some of its VNFC instances"

    def add_arguments(self, parser):
        parser.add_argument("vnf_instance", metavar="<vnf-instance>",
                            help="VNF instance ID to operate")
        parser.add_argument("--change-to-state", metavar="<change-to-state>",
                            required=True, choices=("STARTED", "STOPPED"),
                            help="The desired operational state: STARTED or STOPPED. VDUs "
                                 "start in dependency order and stop in reverse.")
        parser.add_argument("--stop-type", metavar="<stop-type>",
                            choices=("GRACEFUL", "FORCEFUL"),
                            help="GRACEFUL (default) or FORCEFUL, when stopping")
        parser.add_argument("--graceful-stop-timeout", metavar="<graceful-stop-timeout>",
                            type=non_negative_int,
                            help="Seconds to wait for the VNF to be taken out of service "
                                 "before a GRACEFUL stop")
        add_vnfc_options(parser, "operate")

    def request(self, parsed_args):
        params = load_additional_params(parsed_args.additional_param_file)
        return self.nfv.lcm.operate(
            parsed_args.vnf_instance, parsed_args.change_to_state,
            stop_type=parsed_args.stop_type,
            graceful_stop_timeout=parsed_args.graceful_stop_timeout,
            vnfc_instance_ids=parsed_args.vnfc_instance, force=parsed_args.force,
            additional_params=params)

    def accepted(self, parsed_args):
        return (f"Operate request for VNF Instance {parsed_args.vnf_instance} has been "
                "accepted.")


class RebootVnfLcm(OperationCommand):
    _description = "Reboot a VNF instance, or some of its VNFC instances"

    def add_arguments(self, parser):
        parser.add_argument("vnf_instance", metavar="<vnf-instance>",
                            help="VNF instance ID to reboot")
        parser.add_argument("--hard", action="store_true",
                            help="A HARD reboot (Nova); the default is SOFT. On a VIM "
                                 "with Heat only, a reboot is a suspend then a resume.")
        add_vnfc_options(parser, "reboot", force=False)

    def request(self, parsed_args):
        params = load_additional_params(parsed_args.additional_param_file)
        return self.nfv.lcm.reboot(parsed_args.vnf_instance, hard=parsed_args.hard,
                                   vnfc_instance_ids=parsed_args.vnfc_instance,
                                   additional_params=params)

    def accepted(self, parsed_args):
        return (f"Reboot request for VNF Instance {parsed_args.vnf_instance} has been "
                "accepted.")


def add_vnfc_options(parser: argparse.ArgumentParser, verb: str, *,
                     force: bool = True) -> None:
    """``--vnfc-instance``, ``--additional-param-file`` (and ``--force``)."""
    parser.add_argument("--vnfc-instance", metavar="<vnfc-instance-id>", nargs="+",
                        action="extend",
                        help=f"Only {verb} these VNFC instances (IDs as 'vnflcm show' "
                             "lists them); when <vnf-instance> comes after this option, "
                             "put '--' before it.")
    if force:
        parser.add_argument("--force", action="store_true",
                            help="Skip the graceful stop and its wait (a FORCEFUL stop)")
    parser.add_argument("--additional-param-file", metavar="<additional-param-file>",
                        help="Additional parameters for the lifecycle scripts (a json "
                             'file: {"additionalParams": {...}}).')


def add_restoration_point_option(parser: argparse.ArgumentParser, verb: str) -> None:
    """``--restoration-point``: take one before the operation (local mode)."""
    parser.add_argument("--restoration-point", action="store_true",
                        help=f"Take a restoration point (a Heat stack snapshot and a copy "
                             f"of the instance record) before {verb}, so that 'vnflcm "
                             "fallback' can bring the VNF back to it (local mode)")


class ChangeVnfPkgVnfLcm(OperationCommand):
    _description = "Change Current VNF Package"

    def add_arguments(self, parser):
        parser.add_argument("vnf_instance", metavar="<vnf-instance>",
                            help="VNF instance ID to Change Current VNF Package")
        parser.add_argument("request_file", metavar="<param-file>",
                            help="Specify change-vnfpkg request parameters in a json "
                                 "file.")
        add_on_failure_option(parser)

    def request(self, parsed_args):
        body = load_request_file(parsed_args.request_file)
        return self.nfv.lcm.change_vnfpkg(parsed_args.vnf_instance, body,
                                          **on_failure_kwargs(self, parsed_args))

    def accepted(self, parsed_args):
        return (f"Change Current VNF Package for VNF Instance "
                f"{parsed_args.vnf_instance} has been accepted.")


class FallbackVnfLcm(OperationCommand):
    _description = ("Restore a restoration point of a VNF instance, forcefully "
                    "(changes made after it are lost)")

    def add_arguments(self, parser):
        parser.add_argument("vnf_instance", metavar="<vnf-instance>",
                            help="VNF instance ID to fall back")
        parser.add_argument("--to", metavar="<restoration-point>",
                            help="ID or name of the restoration point (default: the "
                                 "newest)")

    def request(self, parsed_args):
        return self.nfv.lcm.fallback(parsed_args.vnf_instance, to=parsed_args.to)

    def accepted(self, parsed_args):
        return (f"Fallback request for VNF Instance {parsed_args.vnf_instance} has been "
                "accepted; changes made after the restoration point will be lost.")

    def finished(self, parsed_args, op):
        point = (op.resource_changes or {}).get("restorationPoint")
        if point:
            self.say(f"Restored restoration point {point.get('id')} of "
                     f"{point.get('createdAt')}: changes made after it are lost.")


class DeleteVnfLcm(NfvCommandMixin, command.Command):
    _description = "Delete VNF Instance(s)"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("vnf_instances", metavar="<vnf-instance>", nargs="+",
                            help="VNF instance ID(s) to delete")
        return parser

    def take_action(self, parsed_args):
        names = parsed_args.vnf_instances
        delete_each(self, names, self.nfv.vnfs.delete_vnf,
                    failure="Failed to delete vnf instance with ID '{name}': {error}",
                    summary="Failed to delete {failed} of {total} vnf instances.",
                    success="All specified vnf instances are deleted successfully"
                    if len(names) > 1 else f"Vnf instance '{names[0]}' deleted successfully")
