"""`vnf package` commands: create, upload, list, show, delete.

Names, positional arguments, options and columns follow python-tackerclient.
Onboarding is synchronous: when ``upload`` returns, the package is ONBOARDED
(or the command failed with the reason).
"""

from __future__ import annotations

import argparse
from typing import Any

from cliff import command, lister, show

from nfvcli.common import DictColumn, NfvCommandMixin, delete_each, nfv_mode

_LIST_COLUMNS = (
    ("id", "ID"), ("vnf_product_name", "VNF Product Name"),
    ("onboarding_state", "Onboarding State"), ("usage_state", "Usage State"),
    ("operational_state", "Operational State"),
    ("user_defined_data", "User Defined Data"),
)
_SHOW_COLUMNS = (
    ("id", "ID"), ("onboarding_state", "Onboarding State"),
    ("operational_state", "Operational State"), ("usage_state", "Usage State"),
    ("user_defined_data", "User Defined Data"),
)
#: Shown once the package is onboarded, as tackerclient does.
_ONBOARDED_COLUMNS = (
    ("vnf_provider", "VNF Provider"), ("vnf_product_name", "VNF Product Name"),
    ("vnf_software_version", "VNF Software Version"), ("vnfd_id", "VNFD ID"),
    ("vnfd_version", "VNFD Version"),
)


def _value(package: Any, field: str) -> Any:
    value = getattr(package, field)
    if field == "user_defined_data":
        return DictColumn(value)
    return getattr(value, "value", value)


def _show(package: Any) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """Columns (sorted by name, as tackerclient) and values of one package."""
    fields = _SHOW_COLUMNS
    if getattr(package.onboarding_state, "value", None) == "ONBOARDED":
        fields += _ONBOARDED_COLUMNS
    shown = sorted(fields, key=lambda pair: pair[1])
    return (tuple(h for _, h in shown), tuple(_value(package, f) for f, _ in shown))


def key_value(text: str) -> tuple[str, str]:
    """Parse ``KEY=VALUE`` for ``--user-data``."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        from nfvlib.inputs import short

        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, not {short(text)}")
    return key, value


class CreateVnfPackage(NfvCommandMixin, show.ShowOne):
    _description = "Create a new VNF Package"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--user-data", metavar="<key=value>", type=key_value,
                            action="append", default=[],
                            help="User defined data for the VNF package (repeat option "
                                 "to set multiple user defined data)")
        return parser

    def take_action(self, parsed_args):
        package = self.nfv.packages.create_package(
            user_defined_data=dict(parsed_args.user_data) or None)
        return _show(package)


class UploadVnfPackage(NfvCommandMixin, command.Command):
    _description = ("Upload VNF Package (a CSAR zip file or directory); onboarding "
                    "is finished when the command returns")

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("vnf_package", metavar="<vnf-package>", help="VNF package ID")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--path", metavar="<file>",
                            help="Upload VNF CSAR package from local file (a zip file "
                                 "or an extracted package directory)")
        source.add_argument("--url", metavar="<Uri>",
                            help="Uri of the VNF package content (not supported: "
                                 "download the package and use --path)")
        parser.add_argument("--user-name", metavar="<user-name>",
                            help="User name for authentication (only with --url)")
        parser.add_argument("--password", metavar="<password>",
                            help="Password for authentication (only with --url)")
        return parser

    def take_action(self, parsed_args):
        if parsed_args.url is not None:
            from nfvlib.exceptions import Unsupported

            raise Unsupported(
                f"upload from a URL is not supported in {nfv_mode(self.app)} mode",
                hint="download the package and upload it with --path")
        package = self.nfv.packages.upload_package(parsed_args.vnf_package,
                                                   parsed_args.path)
        self.app.stdout.write(f"Upload request for VNF package {package.id} has been "
                              "accepted.\n")
        self.app.stdout.write(f"Onboarding State: {_value(package, 'onboarding_state')}, "
                              f"VNFD ID: {package.vnfd_id}\n")


class ListVnfPackage(NfvCommandMixin, lister.Lister):
    _description = "List VNF Package"

    def take_action(self, parsed_args):
        packages = self.nfv.packages.list_packages()
        return (tuple(h for _, h in _LIST_COLUMNS),
                (tuple(_value(p, f) for f, _ in _LIST_COLUMNS) for p in packages))


class ShowVnfPackage(NfvCommandMixin, show.ShowOne):
    _description = "Show VNF Package Details"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("vnf_package", metavar="<vnf-package>", help="VNF package ID")
        return parser

    def take_action(self, parsed_args):
        return _show(self.nfv.packages.get_package(parsed_args.vnf_package))


class DeleteVnfPackage(NfvCommandMixin, command.Command):
    _description = "Delete VNF Package"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("vnf_package", metavar="<vnf-package>", nargs="+",
                            help="Vnf package(s) ID to delete")
        return parser

    def take_action(self, parsed_args):
        delete_each(self, parsed_args.vnf_package, self.nfv.packages.delete_package,
                    failure="Cannot delete {name}: {error}",
                    summary="{failed} of {total} VNF packages failed to delete.",
                    success="All specified vnf-package(s) deleted successfully")
