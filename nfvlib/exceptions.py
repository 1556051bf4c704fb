"""The nfvlib exception tree.

Every error nfvlib raises derives from :class:`NfvError`; its ``str()`` is one
line saying what is wrong and, where there is one, how to fix it::

    NfvError
     +-- InvalidInput        bad config file, request or option value
     |    +-- PackageError   a VNF package is broken (.file, .detail)
     +-- NotFound            the named object does not exist
     |    +-- VimNotFound, PackageNotFound, VnfNotFound, OpOccNotFound,
     |        SubscriptionNotFound, RestorationPointNotFound,
     |        StackNotFound, ServerNotFound
     +-- Conflict            duplicate name, second default VIM, wrong state
     +-- AuthFailed          Keystone refused the credentials
     +-- Unreachable         VimUnreachable: a VIM or server did not answer
     +-- VaultError          key missing, unsafe key permissions, decrypt failed
     +-- StoreError          store schema too new, database locked too long
     +-- BackendError        a service answered with an unexpected error
     |    +-- HeatError      Heat refused, or a stack failed (.stack_status, .reason)
     |    |    +-- StackStalled  a stack made no progress (.last_status, .stalled_for)
     |    +-- NovaError      Nova refused, or a server ended in the wrong state
     +-- SandboxError        a sandbox service failed to install or start
     +-- WaitTimeout         a bounded wait ran out
     +-- Unsupported         the operation does not exist in this mode
     +-- ScriptFailed        a lifecycle script failed (.exit_code, .output)
     +-- TesterFailed        the Tester found an upgraded VNF not working

Third-party errors are translated where they enter nfvlib and chained with
``raise ... from exc`` so ``--debug`` still shows the original cause.
"""

from __future__ import annotations

from typing import Any


class NfvError(Exception):
    """Root of every error raised by nfvlib."""

    #: A hint telling the user how to fix the problem; appended to ``str()``.
    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if hint is not None:
            self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}; {self.hint}"
        return self.message


class InvalidInput(NfvError):
    """A request, option or file is malformed or incomplete."""


class NotFound(NfvError):
    """The named object does not exist."""


class VimNotFound(NotFound):
    """No VIM has the given name or id."""


class Conflict(NfvError):
    """The request conflicts with the current state."""


class AuthFailed(NfvError):
    """Keystone refused the credentials."""


class Unreachable(NfvError):
    """A service did not answer."""


class VimUnreachable(Unreachable):
    """A VIM's Keystone or Heat did not answer."""


class VaultError(NfvError):
    """A vault key is missing, unsafe or does not decrypt."""


class StoreError(NfvError):
    """The store cannot be used (schema too new, locked too long, corrupt)."""


class BackendError(NfvError):
    """A service answered with an error nfvlib cannot map to anything better."""


class SandboxError(NfvError):
    """A sandbox service failed to install, start or stop."""

    def __init__(self, message: str, *, hint: str | None = None,
                 log_path: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.log_path = log_path


class WaitTimeout(NfvError):
    """A bounded wait ran out before the awaited state was reached."""

    def __init__(self, message: str, *, hint: str | None = None,
                 last_seen: object = None, timeout: float | None = None) -> None:
        super().__init__(message, hint=hint)
        self.last_seen = last_seen
        self.timeout = timeout


class Unsupported(NfvError):
    """The operation does not exist in the chosen mode (local or remote)."""


# -- not found ------------------------------------------------------------------
class PackageNotFound(NotFound):
    """No VNF package has this id."""


class VnfNotFound(NotFound):
    """No VNF instance has this id or name."""


class OpOccNotFound(NotFound):
    """No operation occurrence has this id."""


class SubscriptionNotFound(NotFound):
    """No subscription has this id."""


class RestorationPointNotFound(NotFound):
    """No restoration point has this id (or name)."""


class StackNotFound(NotFound):
    """No stack has this name or id."""


class ServerNotFound(NotFound):
    """No server has this id."""


# -- packages -------------------------------------------------------------------
#: Longest detail a PackageError shows: names and values taken from the
#: package are cut there, whatever the package holds.
MAX_DETAIL = 300


def _one_line(text: str) -> str:
    """``text`` on one line, control characters escaped, at most :data:`MAX_DETAIL`."""
    text = " ".join(str(text).split())
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= MAX_DETAIL else text[:MAX_DETAIL] + "..."


class PackageError(InvalidInput):
    """A VNF package is broken; ``file`` is the package-relative file at fault."""

    def __init__(self, file: str, detail: str, *, hint: str | None = None) -> None:
        super().__init__(f"{file}: {_one_line(detail)}", hint=hint)
        self.file = file
        self.detail = detail


# -- services -------------------------------------------------------------------
class HeatError(BackendError):
    """Heat refused a request, or a stack ended in a failed state.

    ``stack``: the stack as Heat showed it in that state, when one was read.
    """

    def __init__(self, message: str, *, stack_status: str | None = None,
                 reason: str | None = None, hint: str | None = None,
                 stack: dict[str, Any] | None = None) -> None:
        super().__init__(message, hint=hint)
        self.stack_status = stack_status
        self.reason = reason
        self.stack = stack


class StackExists(HeatError):
    """Heat already has a stack of the name a create asked for."""


class StackStalled(HeatError):
    """A stack stayed in progress with no sign of work for the stall limit.

    No new event (nested stacks included), no resource status change and no
    answer at all count the same: Heat's convergence engine does not take
    over a stack whose engine died, so such a stack stays ``X_IN_PROGRESS``
    forever. ``stack_status`` is None: the stack did not end.
    """

    def __init__(self, message: str, *, last_status: str | None = None,
                 stalled_for: float = 0.0, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.last_status = last_status
        self.stalled_for = stalled_for


class NovaError(BackendError):
    """Nova refused a request, or a server ended in a state other than wanted."""


# -- lifecycle ------------------------------------------------------------------
class ScriptFailed(NfvError):
    """A lifecycle script exited non-zero or ran too long.

    ``exit_code`` is None when it was stopped for running too long;
    ``output`` is the tail of what it wrote (stdout then stderr).
    """

    def __init__(self, message: str, *, hint: str | None = None,
                 exit_code: int | None = None, output: str = "") -> None:
        super().__init__(message, hint=hint)
        self.exit_code = exit_code
        self.output = output


class TesterFailed(NfvError):
    """The Tester found the upgraded VNF not working."""
