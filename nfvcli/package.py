"""`vnf package` commands: create, upload, list, show, delete.

Names, positional arguments, options and columns follow python-tackerclient.
Onboarding is synchronous: when ``upload`` returns, the package is ONBOARDED
(or the command failed with the reason).
"""

from __future__ import annotations

import argparse
from typing import Any

from cliff import command, lister, show

from nfvcli.common import (NfvCommandMixin, add_filter_option, delete_each, nfv_mode,
                           sol003_row, sol003_show)

#: python-tackerclient's names of VnfPkgInfo attributes (vnf package show)
_SHOW_COLUMN_MAP = {
    "_links": "Links", "onboardingState": "Onboarding State",
    "operationalState": "Operational State", "usageState": "Usage State",
    "userDefinedData": "User Defined Data", "id": "ID",
}
#: Named too once the package is onboarded, as tackerclient does.
_ONBOARDED_COLUMN_MAP = {
    "softwareImages": "Software Images", "vnfProvider": "VNF Provider",
    "vnfSoftwareVersion": "VNF Software Version", "vnfProductName": "VNF Product Name",
    "vnfdId": "VNFD ID", "vnfdVersion": "VNFD Version", "checksum": "Checksum",
    "additionalArtifacts": "Additional Artifacts",
}
_LIST_FIELDS = ("id", "vnfProductName", "onboardingState", "usageState",
                "operationalState", "_links")
_COMPLEX_FIELDS = ("checksum", "softwareImages", "userDefinedData", "additionalArtifacts")
_SIMPLE_FIELDS = ("vnfdVersion", "vnfProvider", "vnfSoftwareVersion", "vnfdId")


def list_columns(fields: list[str] | None = None, all_fields: bool = False,
                 exclude_fields: list[str] | None = None,
                 exclude_default: bool = False) -> tuple[tuple[str, str], ...]:
    """(attribute, column) of ``vnf package list``, as python-tackerclient picks them.

    The default columns, then those named by ``--fields``, the complex ones
    not named by ``--exclude_fields``, all of them with ``--all_fields`` and
    the simple ones with ``--exclude_default``; each column is the attribute
    in title case ("Vnf Product Name"), ``_links`` is "Links".
    """
    chosen = list(_LIST_FIELDS) + list(fields or ())
    if exclude_fields:
        chosen += [f for f in _COMPLEX_FIELDS if f not in exclude_fields]
    if all_fields:
        chosen += list(_COMPLEX_FIELDS) + list(_SIMPLE_FIELDS)
    if exclude_default:
        chosen += list(_SIMPLE_FIELDS)
    return tuple((f, "Links" if f == "_links" else _title(f)) for f in chosen)


def _title(field: str) -> str:
    """``vnfProductName`` -> ``Vnf Product Name`` (python-tackerclient's case_modify)."""
    return "".join(" " + c if c.isupper() else c for c in field).strip().title()


def _show(package: Any) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """Columns and values of one package: the SOL005 VnfPkgInfo
    (:func:`nfvlib.sol003.vnf_package`) under tackerclient's column names."""
    from nfvlib import sol003

    record = sol003.vnf_package(package)
    column_map = dict(_SHOW_COLUMN_MAP)
    if record["onboardingState"] == "ONBOARDED":
        column_map.update(_ONBOARDED_COLUMN_MAP)
    return sol003_show(record, column_map)


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
        state = getattr(package.onboarding_state, "value", package.onboarding_state)
        self.app.stdout.write(f"Onboarding State: {state}, "
                              f"VNFD ID: {package.vnfd_id}\n")


class ListVnfPackage(NfvCommandMixin, lister.Lister):
    _description = "List VNF Package"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        add_filter_option(parser)
        group = parser.add_mutually_exclusive_group(required=False)
        group.add_argument("--all_fields", action="store_true", default=False,
                           help="Include all complex attributes in the response")
        group.add_argument("--fields", metavar="fields",
                           help="Complex attributes to be included into the response")
        group.add_argument("--exclude_fields", metavar="exclude-fields",
                           help="Complex attributes to be excluded from the response")
        parser.add_argument("--exclude_default", action="store_true", default=False,
                            help="Indicates to exclude all complex attributes from the "
                                 "response. This argument can be used alone or with "
                                 "--fields and --filter.")
        return parser

    def take_action(self, parsed_args):
        from nfvlib import sol003
        from nfvlib.filters import split_names

        packages = self.nfv.packages.list_packages(filter=parsed_args.filter)
        columns = list_columns(
            fields=[f.split("/")[0] for f in split_names(parsed_args.fields)],
            all_fields=parsed_args.all_fields,
            exclude_fields=split_names(parsed_args.exclude_fields),
            exclude_default=parsed_args.exclude_default)
        keys = tuple(f for f, _ in columns)
        return (tuple(h for _, h in columns),
                (sol003_row(sol003.vnf_package(p), keys) for p in packages))


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


class UpdateVnfPackage(NfvCommandMixin, show.ShowOne):
    _description = ("Update information about an individual VNF package: enable or "
                    "disable it (a DISABLED package takes no new VNF instances), merge "
                    "user defined data")

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("vnf_package", metavar="<vnf-package>", help="VNF package ID")
        parser.add_argument("--operational-state", metavar="<operational-state>",
                            choices=("ENABLED", "DISABLED"),
                            help="Change the operational state of VNF Package, Valid "
                                 "values are 'ENABLED' or 'DISABLED'.")
        parser.add_argument("--user-data", metavar="<key=value>", type=key_value,
                            action="append", default=[],
                            help="User defined data for the VNF package (repeat option "
                                 "to set multiple user defined data)")
        return parser

    def take_action(self, parsed_args):
        user_data = dict(parsed_args.user_data) or None
        if user_data is None and parsed_args.operational_state is None:
            from nfvlib.exceptions import InvalidInput

            raise InvalidInput('Provide at least one of the argument from "--user-data" '
                               'or "--operational-state"')
        self.nfv.packages.update_package(parsed_args.vnf_package,
                                         operational_state=parsed_args.operational_state,
                                         user_defined_data=user_data)
        # tackerclient shows the modifications Tacker answers with.
        shown = {}
        if parsed_args.operational_state is not None:
            shown["Operational State"] = parsed_args.operational_state
        if user_data is not None:
            from nfvcli.common import ComplexColumn

            shown["User Defined Data"] = ComplexColumn(user_data)
        names = tuple(sorted(shown))
        return names, tuple(shown[n] for n in names)


class DownloadVnfPackage(NfvCommandMixin, command.Command):
    _description = "Download VNF package contents or VNFD of an on-boarded VNF package."

    def get_parser(self, prog_name):
        from nfvlib.packages import VNFD_TYPES

        parser = super().get_parser(prog_name)
        parser.add_argument("vnf_package", metavar="<vnf-package>", help="VNF package ID")
        parser.add_argument("--file", metavar="<FILE>",
                            help="Local file to save downloaded VNF Package or VNFD data. "
                                 "If this is not specified and there is no redirection "
                                 "then data will not be saved.")
        parser.add_argument("--vnfd", action="store_true", default=False,
                            help="Download VNFD of an on-boarded vnf package.")
        parser.add_argument("--type", default="application/zip", metavar="<type>",
                            choices=VNFD_TYPES,
                            help="Provide text/plain when VNFD is implemented as a single "
                                 "YAML file otherwise use application/zip. If you are not "
                                 "aware whether VNFD is a single or multiple yaml files, "
                                 "then you can specify 'both' option value. Provide this "
                                 "option only when --vnfd is set.")
        return parser

    def take_action(self, parsed_args):
        packages = self.nfv.packages
        if parsed_args.vnfd:
            data = packages.download_vnfd(parsed_args.vnf_package, parsed_args.type)
        else:
            data = packages.download_package(parsed_args.vnf_package)
        from nfvcli.common import write_output

        write_output(self, data, parsed_args.file)


class DownloadVnfPackageArtifact(NfvCommandMixin, command.Command):
    _description = "Download VNF package artifact of an on-boarded VNF package."

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("vnf_package", metavar="<vnf-package>", help="VNF package ID")
        parser.add_argument("artifact_path", metavar="<artifact-path>",
                            help="The artifact file's path")
        parser.add_argument("--file", metavar="<FILE>",
                            help="Local file to save downloaded VNF Package artifact file "
                                 "data. If this is not specified and there is no "
                                 "redirection then data will not be saved.")
        return parser

    def take_action(self, parsed_args):
        from nfvcli.common import write_output

        data = self.nfv.packages.download_artifact(parsed_args.vnf_package,
                                                   parsed_args.artifact_path)
        write_output(self, data, parsed_args.file)
