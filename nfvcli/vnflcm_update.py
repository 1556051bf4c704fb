"""`vnflcm update`, `vnflcm change-ext-conn` and `vnflcm versions`.

Names, positional arguments, options and messages follow python-tackerclient
2.6.0 (``UpdateVnfLcm``, ``ChangeExtConnVnfLcm``, ``VnfLcmVersions``).
"""

from __future__ import annotations

from cliff import command, show

from nfvcli.common import NfvCommandMixin
from nfvcli.requests_file import load_request_file
from nfvcli.vnflcm import OperationCommand


class UpdateVnfLcm(NfvCommandMixin, command.Command):
    _description = ("Update VNF Instance (a VnfInfoModificationRequest: name, "
                    "description, vnfdId, metadata, extensions and "
                    "vnfConfigurableProperties as JSON merge patches; local mode "
                    "takes vimConnectionInfo only when it names the instance's VIM)")

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("vnf_instance", metavar="<vnf-instance>",
                            help="VNF instance ID to update.")
        parser.add_argument("--I", metavar="<param-file>",
                            help="Specify update request parameters in a json file.")
        return parser

    def take_action(self, parsed_args):
        if parsed_args.I is None:
            from nfvlib.exceptions import InvalidInput

            raise InvalidInput("no update request given",
                               hint="give a VnfInfoModificationRequest json file with --I")
        vnf = self.nfv.vnfs.update_vnf(parsed_args.vnf_instance,
                                       load_request_file(parsed_args.I))
        self.app.stdout.write(f"Update vnf:{vnf.id} \n")


class ChangeExtConnVnfLcm(OperationCommand):
    _description = ("Change External VNF Connectivity (a ChangeExtVnfConnectivityRequest; "
                    "remote mode)")

    def add_arguments(self, parser):
        parser.add_argument("vnf_instance", metavar="<vnf-instance>",
                            help="VNF instance ID to Change External VNF Connectivity")
        parser.add_argument("request_file", metavar="<param-file>",
                            help="Specify change-ext-conn request parameters in a json "
                                 "file.")

    def request(self, parsed_args):
        return self.nfv.lcm.change_ext_conn(parsed_args.vnf_instance,
                                            load_request_file(parsed_args.request_file))

    def accepted(self, parsed_args):
        return (f"Change External VNF Connectivity for VNF Instance "
                f"{parsed_args.vnf_instance} has been accepted.")


class VnfLcmVersions(NfvCommandMixin, show.ShowOne):
    _description = ("Show VnfLcm Api versions (local mode: the versions nfvkit "
                    "implements)")

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--major-version", metavar="<major-version>", type=int,
                            help="Show only specify major version.")
        return parser

    def take_action(self, parsed_args):
        from nfvcli.common import ComplexColumn

        data = self.nfv.lcm.versions(parsed_args.major_version)
        return (tuple(data), tuple(ComplexColumn(v) if isinstance(v, dict | list) else v
                                   for v in data.values()))
