"""`nfv sandbox` commands: a real Keystone and Heat on this machine as a VIM."""

from __future__ import annotations

from cliff import command, show

from nfvcli.common import NfvCommandMixin


def _sandbox(app):
    """The sandbox of this machine's store, whatever the mode: the sandbox's
    VIM lives in the local registry even when ``sandbox openrc`` has set
    ``OS_NFV_MODE=remote`` for the other commands."""
    from nfvlib.sandbox.manager import Sandbox

    return Sandbox(app.client_manager.paths)


def _status_rows(status: dict) -> tuple[tuple[str, ...], tuple]:
    rows = {}
    for name in ("keystone", "heat"):
        svc = status[name]
        rows[f"{name}_running"] = bool(svc.get("running"))
        rows[f"{name}_pid"] = svc.get("pid")
        rows[f"{name}_url"] = svc.get("url")
        rows[f"{name}_version"] = svc.get("version")
        rows[f"{name}_rss_mb"] = (round(svc["rss_kb"] / 1024, 1)
                                  if svc.get("rss_kb") else None)
    vim = status.get("vim") or {}
    rows["vim"] = vim.get("name")
    rows["vim_status"] = vim.get("status")
    rows["vim_regions"] = ", ".join(vim.get("regions") or ())
    tacker = status.get("tacker")
    if tacker:
        rows["tacker_running"] = bool(tacker.get("running"))
        rows["tacker_pid"] = tacker.get("pid")
        rows["tacker_url"] = tacker.get("url")
        rows["tacker_version"] = tacker.get("version")
        rows["tacker_rss_mb"] = (round(tacker["rss_kb"] / 1024, 1)
                                 if tacker.get("rss_kb") else None)
        mariadb = tacker.get("mariadb") or {}
        rows["mariadb_running"] = bool(mariadb.get("running"))
        rows["mariadb_pid"] = mariadb.get("pid")
        image = status.get("image") or {}
        rows["image_stub_running"] = bool(image.get("running"))
        rows["image_stub_url"] = image.get("url")
    rows["data_dir"] = status.get("data_dir")
    for step, seconds in (status.get("timings") or {}).items():
        rows[f"time: {step}"] = seconds
    return tuple(rows), tuple(rows.values())


class SandboxUp(NfvCommandMixin, show.ShowOne):
    _description = ("Install (once) and start a real Keystone and Heat on 127.0.0.1 "
                    "and register them as the VIM 'sandbox'")

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--tacker", action="store_true",
                            help="Also start a Tacker server (with MariaDB) that "
                                 "drives the sandbox's Heat; see 'nfv sandbox openrc'")
        return parser

    def take_action(self, parsed_args):
        def progress(message: str) -> None:
            self.app.stderr.write(f"sandbox: {message}\n")
            self.app.stderr.flush()

        return _status_rows(_sandbox(self.app).up(progress=progress,
                                                  tacker=parsed_args.tacker))


class SandboxStatus(NfvCommandMixin, show.ShowOne):
    _description = "Show the sandbox's processes, ports, versions and VIM status"

    def take_action(self, parsed_args):
        return _status_rows(_sandbox(self.app).status())


class SandboxOpenrc(NfvCommandMixin, command.Command):
    _description = ("Print 'export OS_*' lines that point OpenStackClient and nfv "
                    "(remote mode) at the sandbox's Tacker")

    def take_action(self, parsed_args):
        import shlex

        for key, value in _sandbox(self.app).openrc().items():
            self.app.stdout.write(f"export {key}={shlex.quote(value)}\n")


class SandboxDown(NfvCommandMixin, command.Command):
    _description = ("Stop the sandbox's services: Keystone, Heat and, if started, "
                    "Tacker, its MariaDB and the image stand-in (by recorded pid)")

    def take_action(self, parsed_args):
        stopped = _sandbox(self.app).down()
        for name, was_running in stopped.items():
            state = "stopped" if was_running else "was not running"
            self.app.stdout.write(f"{name}: {state}\n")


class SandboxLogs(NfvCommandMixin, command.Command):
    _description = "Print the end of the sandbox services' logs"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--service", choices=("keystone", "heat", "tacker"),
                            help="Only this service's log")
        parser.add_argument("--lines", type=int, default=40, metavar="N",
                            help="Lines from the end of each log (default 40)")
        return parser

    def take_action(self, parsed_args):
        from collections import deque

        files = _sandbox(self.app).log_files()
        for name, path in files.items():
            if parsed_args.service and name != parsed_args.service:
                continue
            self.app.stdout.write(f"==> {path} <==\n")
            try:
                with open(path, errors="replace") as f:
                    tail = deque(f, maxlen=max(parsed_args.lines, 0))
            except FileNotFoundError:
                self.app.stdout.write("(no log yet)\n")
                continue
            self.app.stdout.writelines(tail)


class SandboxInject(NfvCommandMixin, show.ShowOne):
    _description = ("Make one member of a stack's resource group fail, slow down, "
                    "or clear that (fault injection on the sandbox's Heat)")

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--stack", metavar="STACK", help="Stack name or id")
        target.add_argument("--vnf", metavar="VNF_INSTANCE",
                            help="VNF instance (id or name) whose stack to affect")
        parser.add_argument("--vdu", required=True, metavar="GROUP",
                            help="Resource group (VDU) whose member to affect")
        parser.add_argument("--member", required=True, metavar="N",
                            help="Member name or index inside the group")
        mode = parser.add_mutually_exclusive_group(required=True)
        mode.add_argument("--fail", action="store_const", dest="mode", const="fail",
                          help="Make the member's create and update fail")
        mode.add_argument("--slow", type=int, metavar="SECONDS",
                          help="Delay the member's create and update")
        mode.add_argument("--clear", action="store_const", dest="mode",
                          const="clear", help="Remove the injection")
        parser.add_argument("--region", help="Region of the stack (default: first)")
        return parser

    def take_action(self, parsed_args):
        mode = "slow" if parsed_args.slow is not None else parsed_args.mode
        stack = _sandbox(self.app).inject(
            parsed_args.stack, parsed_args.vdu, parsed_args.member, mode,
            vnf=parsed_args.vnf, delay=parsed_args.slow or 0, region=parsed_args.region)
        keys = ("id", "stack_name", "stack_status", "stack_status_reason")
        return keys, tuple(stack.get(k) for k in keys)
