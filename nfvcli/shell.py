"""The standalone ``nfv`` command: a cliff App, local mode by default.

Commands are listed here by import path and imported only when run, so that
``nfv vim list`` loads neither keystoneauth1 nor any other command module.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

try:
    from cliff import app, commandmanager
except ImportError as exc:  # nfvkit installed without its command-line stack
    sys.stderr.write(f"nfv: error: the command line needs {exc.name or 'cliff'}, which is "
                     "not installed; install it with: pip install 'nfvkit[cli]'\n")
    raise SystemExit(1) from None

#: command name -> "module:Class"
COMMANDS = {
    "vim register": "nfvcli.vim:RegisterVim",
    "vim list": "nfvcli.vim:ListVim",
    "vim show": "nfvcli.vim:ShowVim",
    "vim set": "nfvcli.vim:SetVim",
    "vim delete": "nfvcli.vim:DeleteVim",
    "vim check": "nfvcli.vim:CheckVim",
    "vim rotate-keys": "nfvcli.vim:RotateVimKeys",
    "sandbox up": "nfvcli.sandbox:SandboxUp",
    "sandbox down": "nfvcli.sandbox:SandboxDown",
    "sandbox status": "nfvcli.sandbox:SandboxStatus",
    "sandbox logs": "nfvcli.sandbox:SandboxLogs",
    "sandbox inject": "nfvcli.sandbox:SandboxInject",
    "sandbox openrc": "nfvcli.sandbox:SandboxOpenrc",
    "vnf package create": "nfvcli.package:CreateVnfPackage",
    "vnf package upload": "nfvcli.package:UploadVnfPackage",
    "vnf package list": "nfvcli.package:ListVnfPackage",
    "vnf package show": "nfvcli.package:ShowVnfPackage",
    "vnf package delete": "nfvcli.package:DeleteVnfPackage",
    "vnf package update": "nfvcli.package:UpdateVnfPackage",
    "vnf package download": "nfvcli.package:DownloadVnfPackage",
    "vnf package artifact download": "nfvcli.package:DownloadVnfPackageArtifact",
    "vnf restoration-point create": "nfvcli.restoration:CreateRestorationPoint",
    "vnf restoration-point list": "nfvcli.restoration:ListRestorationPoint",
    "vnf restoration-point show": "nfvcli.restoration:ShowRestorationPoint",
    "vnf restoration-point delete": "nfvcli.restoration:DeleteRestorationPoint",
    "vnflcm create": "nfvcli.vnflcm:CreateVnfLcm",
    "vnflcm instantiate": "nfvcli.vnflcm:InstantiateVnfLcm",
    "vnflcm scale": "nfvcli.vnflcm:ScaleVnfLcm",
    "vnflcm heal": "nfvcli.vnflcm:HealVnfLcm",
    "vnflcm terminate": "nfvcli.vnflcm:TerminateVnfLcm",
    "vnflcm operate": "nfvcli.vnflcm:OperateVnfLcm",
    "vnflcm reboot": "nfvcli.vnflcm:RebootVnfLcm",
    "vnflcm change-vnfpkg": "nfvcli.vnflcm:ChangeVnfPkgVnfLcm",
    "vnflcm fallback": "nfvcli.vnflcm:FallbackVnfLcm",
    "vnflcm delete": "nfvcli.vnflcm:DeleteVnfLcm",
    "vnflcm list": "nfvcli.vnflcm:ListVnfLcm",
    "vnflcm show": "nfvcli.vnflcm:ShowVnfLcm",
    "vnflcm update": "nfvcli.vnflcm_update:UpdateVnfLcm",
    "vnflcm change-ext-conn": "nfvcli.vnflcm_update:ChangeExtConnVnfLcm",
    "vnflcm versions": "nfvcli.vnflcm_update:VnfLcmVersions",
    "vnflcm op list": "nfvcli.vnflcm_op:ListVnfLcmOp",
    "vnflcm op show": "nfvcli.vnflcm_op:ShowVnfLcmOp",
    "vnflcm op rollback": "nfvcli.vnflcm_op:RollbackVnfLcmOp",
    "vnflcm op retry": "nfvcli.vnflcm_op:RetryVnfLcmOp",
    "vnflcm op fail": "nfvcli.vnflcm_op:FailVnfLcmOp",
    "vnflcm op cancel": "nfvcli.vnflcm_op:CancelVnfLcmOp",
    "vnflcm op suspend": "nfvcli.vnflcm_op:SuspendVnfLcmOp",
    "vnflcm op resume": "nfvcli.vnflcm_op:ResumeVnfLcmOp",
    "vnflcm subsc create": "nfvcli.subscription:CreateLccnSubscription",
    "vnflcm subsc list": "nfvcli.subscription:ListLccnSubscription",
    "vnflcm subsc show": "nfvcli.subscription:ShowLccnSubscription",
    "vnflcm subsc delete": "nfvcli.subscription:DeleteLccnSubscription",
    "vnflcm subsc deliveries": "nfvcli.subscription:ListLccnDeliveries",
    "vnflcm subsc deliver": "nfvcli.subscription:DeliverLccnNotifications",
}


class _LazyCommand:
    """Looks like an entry point to cliff; imports the command when loaded."""

    def __init__(self, name: str, target: str) -> None:
        self.name = name
        self.value = target

    def load(self) -> Any:
        module, _, attr = self.value.partition(":")
        return getattr(importlib.import_module(module), attr)


class LazyCommandManager(commandmanager.CommandManager):
    """A command manager filled from :data:`COMMANDS`, without entry-point scans."""

    def __init__(self, commands: dict[str, str]) -> None:
        self._table = commands
        super().__init__(namespace="")

    def _load_commands(self) -> None:
        for name, target in self._table.items():
            self.commands[name] = _LazyCommand(name, target)


class ClientManager:
    """Builds the nfvlib client from the global options on first use."""

    def __init__(self, options: Any) -> None:
        self._options = options
        self._client = None

    @property
    def paths(self):
        """The store, vault and sandbox paths the global options name."""
        from nfvlib import Paths

        opts = self._options
        return Paths.from_env(data_dir=opts.data_dir, store_file=opts.store,
                              key_dir=opts.key_dir)

    @property
    def nfv(self):
        if self._client is None:
            from nfvlib import Client

            opts = self._options
            paths = self.paths
            mode = opts.os_nfv_mode or "local"
            if mode == "remote":  # OS_CLOUD or OS_AUTH_URL..., OS_TACKER_URL
                self._client = Client("remote", paths=paths,
                                      lcm_api_version=int(opts.os_tacker_api_version))
            else:
                # one operation per process: no worker started ahead
                self._client = Client("local", paths=paths, standby_worker=False)
        return self._client


class NfvApp(app.App):
    """The ``nfv`` application."""

    NAME = "nfv"
    DEFAULT_NFV_MODE = "local"
    #: Commands skip cliff's entry-point scans (see NfvCommandMixin).
    FAST_START = True

    def __init__(self) -> None:
        super().__init__(
            description="Manage VNFs on OpenStack, with or without a Tacker server.",
            version=_version(), command_manager=LazyCommandManager(COMMANDS),
            deferred_help=True)
        self.client_manager: ClientManager | None = None

    def build_option_parser(self, description, version, argparse_kwargs=None):
        from nfvlib import config

        parser = super().build_option_parser(description, version, argparse_kwargs)
        parser.add_argument(
            "--os-nfv-mode", choices=("local", "remote"),
            default=config.nfv_mode(default="local"),
            help="local: nfvkit is the VNFM, state in a local store (default); "
                 "remote: talk to a Tacker server (env OS_NFV_MODE)")
        parser.add_argument(
            "--data-dir", metavar="DIR", default=None,
            help="Directory of the store, vault keys and sandbox state "
                 "(env NFV_DATA_DIR; default $XDG_DATA_HOME/nfvkit)")
        parser.add_argument("--store", metavar="FILE", default=None,
                            help="Store file (env NFV_STORE)")
        parser.add_argument(
            "--os-tacker-api-version", metavar="<tacker-api-version>", choices=("1", "2"),
            default=config.tacker_api_version(),
            help="VNF LCM API major version of the Tacker server in remote mode, 1 or "
                 "2 (env OS_TACKER_API_VERSION, default 2); local mode accepts and "
                 "ignores it")
        parser.add_argument("--key-dir", metavar="DIR", default=None,
                            help="Vault key directory (env NFV_KEY_DIR; default "
                                 "$XDG_CONFIG_HOME/nfvkit/keys)")
        return parser

    def initialize_app(self, argv):
        self.client_manager = ClientManager(self.options)

    def clean_up(self, cmd, result, err):
        if self.client_manager is not None and self.client_manager._client is not None:
            self.client_manager._client.close()


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("nfvkit")
    except Exception:  # not installed as a distribution
        return "0+unknown"


def main(argv: list[str] | None = None) -> int:
    """Run ``nfv`` with ``argv`` (default: the process arguments)."""
    args = sys.argv[1:] if argv is None else argv
    problem = _undecodable(args)
    if problem is not None:
        from nfvcli import errors

        sys.stderr.write(f"{NfvApp.NAME}: error: {errors.one_line(problem)}\n")
        return errors.exit_code(problem)
    try:
        status = NfvApp().run(args)
        sys.stdout.flush()
    except BrokenPipeError:
        from nfvcli.common import reader_gone

        return reader_gone()
    return status


def _undecodable(args: list[str]) -> Exception | None:
    """An InvalidInput naming the first argument that is not UTF-8 text.

    Python hands such bytes over as lone surrogates, which fail much later
    (in the store, in a request, on output) with a codec error.
    """
    for number, arg in enumerate(args, 1):
        bad = next((i for i, c in enumerate(arg) if "\ud800" <= c <= "\udfff"), None)
        if bad is not None:
            from nfvlib.exceptions import InvalidInput

            raw = os.fsencode(arg[bad]) if "\udc80" <= arg[bad] <= "\udcff" else b"?"
            return InvalidInput(
                f"command-line argument {number} is not valid UTF-8 text (byte "
                f"0x{raw[0]:02x} at character {bad + 1})",
                hint="give names, ids and paths as UTF-8 text")
    return None


if __name__ == "__main__":
    sys.exit(main())
