"""nfvlib's exception tree mapped once to exit codes.

======  ===========================================================
code    meaning
======  ===========================================================
0       success
1       any other error
2       invalid input (bad option, config file or request)
3       not found
4       conflict (duplicate name, second default VIM, wrong state)
5       authentication failed
6       a VIM or server is unreachable (also: ``vim check`` found one)
7       vault problem (missing or unsafe key, a password that cannot be
        decrypted; also: ``vim check`` found such a VIM, status ERROR)
8       store problem
9       not supported in this mode
10      sandbox service failed
11      timed out waiting
20      ``--wait``: the operation stopped in FAILED_TEMP
21      ``--wait``: the operation ended FAILED
22      ``--wait``: the operation ended ROLLED_BACK (0 for ``op rollback``)
141     the reader of the output went away (``nfv vnflcm list | head``):
        nothing more is written, as for a writer killed by SIGPIPE
======  ===========================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_ERROR = 1

_CODES = (
    ("InvalidInput", 2),
    ("NotFound", 3),
    ("Conflict", 4),
    ("AuthFailed", 5),
    ("Unreachable", 6),
    ("VaultError", 7),
    ("StoreError", 8),
    ("Unsupported", 9),
    ("SandboxError", 10),
    ("WaitTimeout", 11),
)
EXIT_UNREACHABLE = 6
EXIT_VAULT = 7
EXIT_FAILED_TEMP = 20
EXIT_FAILED = 21
EXIT_ROLLED_BACK = 22
EXIT_READER_GONE = 141


def exit_code(exc: BaseException) -> int:
    """The exit code for an exception (walks the class hierarchy)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    for name, code in _CODES:
        if name in names:
            return code
    return EXIT_ERROR


#: Longest error line written; the rest of a longer message is cut.
MAX_LINE = 1000


def one_line(exc: BaseException) -> str:
    """The exception as one bounded line of printable text."""
    if isinstance(exc, MemoryError):
        return ("ran out of memory; the input is too large (or the machine too "
                "busy) for this command")
    text = " ".join(str(exc).split()) or type(exc).__name__
    sandbox_log = getattr(exc, "log_path", None)
    if sandbox_log:
        text += f" (log: {sandbox_log})"
    return printable(text)


def printable(text: str, limit: int = MAX_LINE) -> str:
    """``text`` with control and format characters escaped, cut to ``limit``.

    An error line goes to a terminal: an escape sequence in a user's value
    must not reach it as such.
    """
    if not text.isprintable():
        text = "".join(c if c.isprintable() else c.encode("unicode_escape",
                                                         "backslashreplace").decode()
                       for c in text)
    if len(text) > limit:
        text = text[:limit] + "..."
    return text
