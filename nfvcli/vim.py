"""`vim` commands: register, list, show, set, delete, check, rotate-keys.

Names, positional arguments, options and columns follow python-tackerclient.
"""

from __future__ import annotations

import logging
from typing import Any

from cliff import command, lister, show

from nfvcli import errors
from nfvcli.common import (DictColumn, NfvCommandMixin, bool_value, delete_each,
                            read_config_file)

LOG = logging.getLogger(__name__)

_LIST_COLUMNS = (
    ("id", "ID"), ("name", "Name"), ("tenant_id", "Tenant_id"), ("type", "Type"),
    ("is_default", "Is Default"), ("status", "Status"),
)
_LONG_COLUMNS = (
    ("id", "ID"), ("name", "Name"), ("tenant_id", "Tenant_id"), ("type", "Type"),
    ("is_default", "Is Default"), ("placement_attr", "Placement attribution"),
    ("status", "Status"), ("status_checked_at", "Checked At"),
    ("status_reason", "Status Reason"),
)
_DICT_FIELDS = ("auth_cred", "placement_attr", "vim_project", "extra",
                "orchestration_endpoints")


#: nfvkit's own VIM attributes (a Tacker VIM record has none of them): shown
#: after python-tackerclient's columns
_EXTRA_FIELDS = ("orchestration_endpoints", "status_checked_at", "status_reason")


def _show(vim: Any) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """Columns and values of one VIM, as tackerclient shows them.

    The attributes of a Tacker VIM record come first, sorted, ``tenant_id``
    named ``project_id``; nfvkit's own (:data:`_EXTRA_FIELDS`) follow.
    """
    data = vim.to_dict()
    data["project_id"] = data.pop("tenant_id")
    names = tuple(sorted(n for n in data if n not in _EXTRA_FIELDS))
    names += tuple(n for n in _EXTRA_FIELDS if n in data)
    return names, tuple(DictColumn(data[n]) if n in _DICT_FIELDS else data[n]
                        for n in names)


def _row(vim: Any, fields: tuple[tuple[str, str], ...]) -> tuple[Any, ...]:
    data = vim.to_dict()
    return tuple(DictColumn(data[f]) if f in _DICT_FIELDS else data[f]
                 for f, _ in fields)


class RegisterVim(NfvCommandMixin, show.ShowOne):
    _description = "Register a new VIM"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("name", metavar="NAME", help="Set a name for the VIM")
        parser.add_argument("--tenant-id", metavar="TENANT_ID",
                            help="The owner tenant ID or project ID")
        parser.add_argument("--config-file", required=True, metavar="CONFIG_FILE",
                            help="YAML file with VIM configuration parameters "
                                 "(auth_url, username, password, project_name, "
                                 "project_domain_name, user_domain_name, "
                                 "cert_verify)")
        parser.add_argument("--description", help="Set a description for the VIM")
        parser.add_argument("--is-default", action="store_true", default=False,
                            help="Set as default VIM")
        return parser

    def take_action(self, parsed_args):
        config = read_config_file(parsed_args.config_file)
        vim = self.nfv.vims.register_vim(
            parsed_args.name, config, description=parsed_args.description or "",
            is_default=parsed_args.is_default, tenant_id=parsed_args.tenant_id)
        return _show(vim)


class ListVim(NfvCommandMixin, lister.Lister):
    _description = "List VIMs that belong to a given tenant."

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("--long", action="store_true",
                            help="List additional fields in output")
        return parser

    def take_action(self, parsed_args):
        fields = _LONG_COLUMNS if parsed_args.long else _LIST_COLUMNS
        vims = self.nfv.vims.list_vims()
        return (tuple(h for _, h in fields), (_row(v, fields) for v in vims))


class ShowVim(NfvCommandMixin, show.ShowOne):
    _description = "Display VIM details"

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("vim", metavar="<VIM>", help="VIM to display (name or ID)")
        return parser

    def take_action(self, parsed_args):
        return _show(self.nfv.vims.find_vim(parsed_args.vim))


class SetVim(NfvCommandMixin, show.ShowOne):
    _description = "Update VIM."

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("id", metavar="VIM", help="ID or name of vim to update")
        parser.add_argument("--config-file", metavar="CONFIG_FILE",
                            help="YAML file with VIM configuration parameters "
                                 "to change (any subset of the register keys)")
        parser.add_argument("--name", help="New name for the VIM")
        parser.add_argument("--description", help="New description for the VIM")
        parser.add_argument("--is-default", type=bool_value, metavar="{True,False}",
                            help="Indicate whether the VIM is used as default")
        return parser

    def take_action(self, parsed_args):
        config = read_config_file(parsed_args.config_file, partial=True)
        vim = self.nfv.vims.update_vim(
            parsed_args.id, config=config, name=parsed_args.name,
            description=parsed_args.description, is_default=parsed_args.is_default)
        return _show(vim)


class DeleteVim(NfvCommandMixin, command.Command):
    _description = "Delete VIM(s)."

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("vim", metavar="<VIM>", nargs="+",
                            help="VIM(s) to delete (name or ID)")
        return parser

    def take_action(self, parsed_args):
        delete_each(self, parsed_args.vim, self.nfv.vims.delete_vim,
                    failure="Cannot delete {name}: {error}",
                    summary="{failed} of {total} VIMs failed to delete.",
                    success="All specified vim(s) deleted successfully")


class CheckVim(NfvCommandMixin, lister.Lister):
    _description = ("Check VIM health: re-authenticate and probe Heat in every "
                    "region; exit 6 if any VIM is unreachable, 7 if the stored "
                    "password of any cannot be decrypted (status ERROR)")

    def get_parser(self, prog_name):
        parser = super().get_parser(prog_name)
        parser.add_argument("vim", metavar="<VIM>", nargs="*",
                            help="VIM(s) to check (name or ID); all when omitted")
        return parser

    def take_action(self, parsed_args):
        vims = self.nfv.vims.check_vims(parsed_args.vim)
        if any(v.status.value == "ERROR" for v in vims):
            self.exit_code = errors.EXIT_VAULT
        elif any(v.status.value == "UNREACHABLE" for v in vims):
            self.exit_code = errors.EXIT_UNREACHABLE
        return (("ID", "Name", "Status", "Checked At", "Status Reason"),
                ((v.id, v.name, v.status.value, v.status_checked_at, v.status_reason)
                 for v in vims))


class RotateVimKeys(NfvCommandMixin, command.Command):
    _description = ("Re-encrypt every VIM password with a fresh fernet key, verify, "
                    "then retire the old keys; a VIM whose password cannot be "
                    "decrypted is named and does not stop the others (exit 7)")

    def take_action(self, parsed_args):
        count = self.nfv.vims.rotate_keys()
        self.app.stdout.write(f"Rotated the keys of {count} VIM(s)\n")
