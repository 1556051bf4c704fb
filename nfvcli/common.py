"""What every nfvcli command shares: client access, error handling, columns."""

from __future__ import annotations

import os
import sys
import traceback
from typing import Any

from cliff import columns

from nfvcli import errors


def nfv_mode(app: Any) -> str:
    """The mode chosen by ``--os-nfv-mode`` / ``OS_NFV_MODE``."""
    mode = getattr(getattr(app, "options", None), "os_nfv_mode", None)
    if mode:
        return mode
    from nfvlib.config import nfv_mode as env_nfv_mode

    return env_nfv_mode(default=getattr(app, "DEFAULT_NFV_MODE", "remote"))


_FORMATTERS = {
    "cliff.formatter.list": {
        "csv": "cliff.formatters.commaseparated:CSVLister",
        "json": "cliff.formatters.json_format:JSONFormatter",
        # prettytable is slow on long lists: see nfvcli.table
        "table": "nfvcli.table:TableFormatter",
        "value": "cliff.formatters.value:ValueFormatter",
        "yaml": "cliff.formatters.yaml_format:YAMLFormatter",
    },
    "cliff.formatter.show": {
        "json": "cliff.formatters.json_format:JSONFormatter",
        "shell": "cliff.formatters.shell:ShellFormatter",
        "table": "cliff.formatters.table:TableFormatter",
        "value": "cliff.formatters.value:ValueFormatter",
        "yaml": "cliff.formatters.yaml_format:YAMLFormatter",
    },
}


def _static_formatters(namespace: str):
    """cliff's own formatters without an entry-point scan of every package."""
    import importlib

    from stevedore import extension

    found = []
    for name, target in _FORMATTERS[namespace].items():
        module, _, attr = target.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        found.append(extension.Extension(name, None, cls, cls()))
    return extension.ExtensionManager.make_test_instance(found)


class NfvCommandMixin:
    """Mixed into every command: thin ``take_action``, errors mapped once.

    An nfvlib error becomes one line on stderr and its exit code; with
    ``--debug`` the traceback is shown too. Under the standalone ``nfv``
    (``app.FAST_START``) the command skips cliff's entry-point scans for
    hooks, formatters and its epilog, which cost most of the start-up time.
    """

    app: Any

    def _load_hooks(self) -> None:
        if getattr(self.app, "FAST_START", False):
            self._hooks = []
            return
        super()._load_hooks()  # type: ignore[misc]

    def _load_formatter_plugins(self):
        if getattr(self.app, "FAST_START", False):
            return _static_formatters(self.formatter_namespace)  # type: ignore[attr-defined]
        return super()._load_formatter_plugins()  # type: ignore[misc]

    def get_epilog(self) -> str:
        if getattr(self.app, "FAST_START", False):
            return getattr(self, "_epilog", None) or ""
        return super().get_epilog()  # type: ignore[misc]

    def get_description(self) -> str:
        """The description; under ``openstack``, it names nfvkit as the plugin serving it.

        python-tackerclient's plugin has commands of the same names; ``openstack
        help vim list`` then tells which one answers (nfvkit's, see
        :func:`nfvcli.plugin.build_option_parser`).
        """
        text = super().get_description()  # type: ignore[misc]
        if self.app is None or getattr(self.app, "FAST_START", False):
            return text
        return f"{text} (nfvkit)"

    @property
    def auth_required(self) -> bool:  # read by osc-lib before running
        return nfv_mode(self.app) == "remote"

    @property
    def nfv(self):
        """The nfvlib client of the running app."""
        return self.app.client_manager.nfv

    def run(self, parsed_args: Any) -> int:
        from nfvlib.exceptions import NfvError

        try:
            result = super().run(parsed_args)  # type: ignore[misc]
        except NfvError as exc:
            return self._report(exc)
        except BrokenPipeError:
            return reader_gone()
        except (OSError, ValueError, MemoryError, RecursionError) as exc:
            return self._report(exc)
        return getattr(self, "exit_code", None) or result or 0

    def _report(self, exc: BaseException, line: str | None = None) -> int:
        """Write ``line`` (default: the error's) as the one error line."""
        if getattr(self.app.options, "debug", False):
            traceback.print_exception(exc, file=sys.stderr)
        name = getattr(self.app, "NAME", "nfv")
        self.app.stderr.write(f"{name}: error: {line or errors.one_line(exc)}\n")
        return errors.exit_code(exc)


def reader_gone() -> int:
    """The reader of stdout went away (``nfv vnflcm list | head``): stop
    quietly as a writer killed by SIGPIPE does, with nothing more on stdout
    (which would fail again at exit) and no error line."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return errors.EXIT_READER_GONE


def delete_each(command: Any, names: list[str], delete: Any, *,
                failure: str, summary: str, success: str) -> None:
    """Delete every named object; any failure is ONE error line on stderr.

    ``failure`` is formatted with ``name`` and ``error``, ``summary`` with
    ``failed`` and ``total``. With one name, its failure is the error line.
    With several, stdout lists each outcome (``Deleted NAME`` or the failure)
    and the error line is the "N of M" summary with the first failure. The
    command's exit code is the first failure's.
    """
    from nfvlib.exceptions import NfvError

    failed: list[tuple[NfvError, str]] = []
    outcomes: list[str] = []
    for name in names:
        shown = errors.printable(name, 200)
        try:
            delete(name)
        except NfvError as exc:
            line = failure.format(name=shown, error=errors.one_line(exc))
            failed.append((exc, line))
            outcomes.append(line)
        else:
            outcomes.append(f"Deleted {shown}")
    if not failed:
        command.app.stdout.write(success + "\n")
        return
    first, line = failed[0]
    if len(names) > 1:
        command.app.stdout.write("".join(o + "\n" for o in outcomes))
        line = (f"{summary.format(failed=len(failed), total=len(names)).rstrip('.')}"
                f"; first: {line}")
    command.exit_code = command._report(first, line)


class DictColumn(columns.FormattableColumn):
    """A mapping: ``k='v', ...`` in tables, the mapping itself in json/yaml."""

    def human_readable(self) -> str:
        return ", ".join(f"{k}='{v}'" for k, v in sorted((self._value or {}).items()))

    def machine_readable(self) -> Any:
        return dict(self._value or {})


class ListColumn(columns.FormattableColumn):
    """A sequence: comma-separated in tables, a list in json/yaml."""

    def human_readable(self) -> str:
        return ", ".join(str(v) for v in self._value or ())

    def machine_readable(self) -> Any:
        return list(self._value or ())


class ComplexColumn(columns.FormattableColumn):
    """A nested SOL003 record: indented JSON in tables, the record in json/yaml."""

    def human_readable(self) -> str:
        import json

        if self._value in (None, "", {}, []):
            return ""
        return json.dumps(self._value, indent=2, sort_keys=True)

    def machine_readable(self) -> Any:
        return self._value


def sol003_show(record: dict[str, Any], column_map: dict[str, str],
                extra: dict[str, Any] | None = None
                ) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """Columns and values of a SOL003 ``record``, as python-tackerclient shows them.

    Every key of the record is a column, named by ``column_map`` where it has
    a name and by the key itself elsewhere; every column of ``column_map`` is
    shown even when the record lacks it (empty); all sorted by name. Nested
    values are :class:`ComplexColumn`. ``extra`` (nfvkit's own columns) come
    after, in their order.
    """
    by_header = {column_map.get(key, key): key for key in record}
    for key, header in column_map.items():
        by_header.setdefault(header, key)
    names = tuple(sorted(by_header))
    values = []
    for name in names:
        value = record.get(by_header[name], "")
        values.append(ComplexColumn(value) if isinstance(value, (dict, list)) else value)
    extra = extra or {}
    return names + tuple(extra), tuple(values) + tuple(extra.values())


def sol003_row(record: dict[str, Any], keys: tuple[str, ...]) -> tuple[Any, ...]:
    """One list row: the record's ``keys`` (nested ones as :class:`ComplexColumn`)."""
    return tuple(ComplexColumn(v) if isinstance(v := record.get(k, ""), (dict, list))
                 else v for k in keys)


def read_config_file(path: str | None, *, partial: bool = False) -> dict | None:
    """Load a VIM config file given on the command line (None if not given)."""
    if path is None:
        return None
    from nfvlib.vim.config_file import load_config_file

    return load_config_file(path, partial=partial)


def bool_value(text: str) -> bool:
    """Parse True/False for options such as ``--is-default``."""
    lowered = text.strip().lower()
    if lowered in ("true", "yes", "1", "on"):
        return True
    if lowered in ("false", "no", "0", "off"):
        return False
    import argparse

    raise argparse.ArgumentTypeError(
        f"expected True or False, not {errors.printable(repr(text[:40]))}")


# -- list options: SOL013 filters and attribute selectors ------------------------

def add_filter_option(parser: Any) -> None:
    """``--filter`` in the SOL013 grammar (see :mod:`nfvlib.filters`)."""
    parser.add_argument(
        "--filter", metavar="<filter>",
        help="Attribute-based-filtering parameters (SOL013): (op,attribute,value[,value..]) "
             "terms joined by ';', op one of eq, neq, gt, gte, lt, lte, in, nin, cont, "
             "ncont; nested attributes as a/b/c, e.g. "
             "'(eq,operationState,FAILED_TEMP);(in,operation,SCALE,HEAL)'")


def add_fields_options(parser: Any) -> None:
    """``--fields`` / ``--exclude-fields``, mutually exclusive, as tackerclient's op list."""
    group = parser.add_mutually_exclusive_group(required=False)
    group.add_argument("--fields", metavar="<fields>",
                       help="Complex attributes to be included into the response "
                            "(comma-separated; shown as extra columns)")
    group.add_argument("--exclude-fields", metavar="<exclude-fields>",
                       help="Complex attributes to be excluded from the response "
                            "(comma-separated column or attribute names)")


def select_columns(base: tuple[tuple[str, str], ...], fields: str | None,
                   exclude: str | None) -> tuple[tuple[str, str], ...]:
    """(attribute, header) pairs after ``--fields`` / ``--exclude-fields``.

    ``--fields`` appends the named top-level attributes (of ``a/b`` paths)
    as columns headed by the attribute name; ``--exclude-fields`` drops
    columns named by header (as tackerclient does) or by attribute.
    """
    from nfvlib.filters import split_names

    chosen = list(base)
    for name in split_names(fields):
        top = name.split("/")[0]
        if all(top != attr for attr, _ in chosen):
            chosen.append((top, top))
    dropped = set(split_names(exclude))
    return tuple((a, h) for a, h in chosen if a not in dropped and h not in dropped)


def record_value(record: dict, attribute: str) -> Any:
    """A record's attribute for a list cell: complex values as ComplexColumn."""
    value = record.get(attribute)
    if isinstance(value, dict | list):
        return ComplexColumn(value)
    return value


def merge_param_file(path: str | None, body: dict[str, Any],
                     allowed: tuple[str, ...]) -> dict[str, Any]:
    """``body`` updated with the JSON object of ``--additional-param-file``.

    python-tackerclient merges the file's top-level keys into the request
    body (``body.update(file)``), so a file holds ``{"additionalParams":
    {...}}`` and may also set other fields of the request. Keys that are not
    fields of the request (``allowed``) are refused, naming them.
    """
    if path is None:
        return body
    from nfvcli.requests_file import load_request_file
    from nfvlib.exceptions import InvalidInput
    from nfvlib.inputs import short

    given = load_request_file(path)
    unknown = sorted(set(given) - set(allowed))
    if unknown:
        raise InvalidInput(f"request file {short(path, 200)} has key(s) "
                           f"{', '.join(short(k) for k in unknown[:3])} that the request "
                           "does not take", hint="use " + ", ".join(allowed))
    params = given.get("additionalParams", {})
    if not isinstance(params, dict):
        raise InvalidInput(f'"additionalParams" in request file {short(path, 200)} must '
                           "be a JSON object")
    merged = dict(body)
    merged.update(given)
    return merged


def write_output(command: Any, data: bytes | str, path: str | None) -> None:
    """Write downloaded ``data`` to ``path``, or to stdout when it is not a terminal.

    A file is written whole or not at all (a temporary file renamed into
    place). Binary data is refused on a terminal, as python-tackerclient
    refuses it: the error names ``--file`` and redirection.
    """
    if path is None:
        stream = command.app.stdout
        if isinstance(data, str):
            stream.write(data if data.endswith("\n") else data + "\n")
            return
        if getattr(stream, "isatty", lambda: False)():
            from nfvlib.exceptions import InvalidInput

            raise InvalidInput("no local file given for the downloaded data and stdout "
                               "is a terminal",
                               hint="give --file <FILE> or redirect the output")
        stream.flush()
        getattr(stream, "buffer", stream).write(data)
        return
    import contextlib
    import tempfile

    target = os.path.abspath(path)
    raw = data.encode() if isinstance(data, str) else data
    fd, temporary = tempfile.mkstemp(prefix=".nfv-download-", dir=os.path.dirname(target))
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(raw)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
