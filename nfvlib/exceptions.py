"""The nfvlib exception tree.

Every error nfvlib raises derives from :class:`NfvError`; its ``str()`` is one
line saying what is wrong and, where there is one, how to fix it::

    NfvError
     +-- InvalidInput        bad config file, request or option value
     +-- NotFound            VimNotFound
     +-- Conflict            duplicate name, second default VIM, wrong state
     +-- AuthFailed          Keystone refused the credentials
     +-- Unreachable         VimUnreachable: a VIM or server did not answer
     +-- VaultError          key missing, unsafe key permissions, decrypt failed
     +-- StoreError          store schema too new, database locked too long
     +-- BackendError        a service answered with an unexpected error
     +-- SandboxError        a sandbox service failed to install or start
     +-- WaitTimeout         a bounded wait ran out
     +-- Unsupported         the operation does not exist in this mode

Third-party errors are translated where they enter nfvlib and chained with
``raise ... from exc`` so ``--debug`` still shows the original cause.
"""

from __future__ import annotations


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
