"""Start, find and stop the detached server processes of the sandbox.

A pid file holds two numbers: the pid and the process start time (field 22 of
``/proc/<pid>/stat``, in clock ticks since boot). A pid is only taken as ours
while both still match, so a pid recycled by an unrelated process is never
signalled. Processes are stopped through their process group (each one is
started in a session of its own) and never looked up by name.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from nfvlib.exceptions import SandboxError, WaitTimeout
from nfvlib.files import PRIVATE_UMASK, open_private, private_dir

_POLL_FIRST = 0.02
_POLL_MAX = 0.25
_KILL_WAIT = 5.0


def free_port(preferred: int | None = None, host: str = "127.0.0.1") -> int:
    """Return ``preferred`` if it can be bound on ``host``, else a free ephemeral port.

    The check binds with ``SO_REUSEADDR`` like the servers do, so a port that
    only has connections in TIME_WAIT still counts as free while a port with
    a listener (on ``host`` or on the wildcard address) does not.
    """
    if preferred:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, preferred))
                return preferred
            except OSError:
                pass
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name, or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name is in parentheses and may itself contain spaces or ')'.
    return raw[raw.rindex(")") + 2:].split()


def process_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot, or None if it is gone."""
    fields = _stat_fields(pid)
    # fields[0] is field 3 (state); the start time is field 22.
    return int(fields[19]) if fields else None


def _alive(pid: int, start_time: int | None = None) -> bool:
    """True if ``pid`` runs (not a zombie) and, if given, started at ``start_time``."""
    fields = _stat_fields(pid)
    if not fields or fields[0] in ("Z", "X", "x"):
        return False
    return start_time is None or int(fields[19]) == start_time


def _reap(pid: int, start_time: int | None = None) -> None:
    """Collect ``pid`` if it is a zombie child of this process (started at ``start_time``)."""
    fields = _stat_fields(pid)
    if not fields or fields[0] != "Z":
        return
    if start_time is not None and int(fields[19]) != start_time:
        return
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def write_atomic(path: Path, text: str, mode: int = 0o600) -> None:
    """Write ``text`` to ``path`` through a temporary file, fsynced, then renamed.

    Private (0600) unless ``mode`` says otherwise (see :mod:`nfvlib.files`).
    """
    from nfvlib.files import write_private

    write_private(path, text, mode)


def read_json(path: Path) -> dict[str, Any]:
    """A JSON state file as a dict ({} when absent); SandboxError when corrupt."""
    import json

    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise SandboxError(f"cannot read {path}: {exc}",
                           hint="delete the file to start afresh") from exc
    return data if isinstance(data, dict) else {}


@contextlib.contextmanager
def file_lock(path: Path, timeout: float, busy_hint: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (bounded wait, polled every 0.1 s)."""
    try:
        private_dir(path.parent)
        handle = open_private(path)
    except OSError as exc:
        raise SandboxError(f"cannot use {path.parent}: {exc.strerror}") from exc
    with handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise SandboxError(f"{path} stayed locked for {timeout:g} s",
                                       hint=busy_hint) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def start_detached(argv: Sequence[str], env: Mapping[str, str] | None,
                   cwd: str | os.PathLike[str] | None, log_path: Path,
                   pid_file: Path) -> int:
    """Start ``argv`` in a new session with its output appended to ``log_path``.

    stdin is ``/dev/null``. The pid and the start time are written atomically
    to ``pid_file``. Returns the pid. The log and the pid file are private,
    and the process runs with a private umask, so what it writes (its
    database, keys, locks) is private too.
    """
    private_dir(log_path.parent)
    private_dir(pid_file.parent)
    with open_private(log_path) as log:
        try:
            proc = subprocess.Popen(
                list(argv), env=dict(env) if env is not None else None,
                cwd=cwd, stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
                close_fds=True, umask=PRIVATE_UMASK)
        except OSError as exc:
            raise SandboxError(f"cannot start {argv[0]}: {exc.strerror}",
                               log_path=str(log_path)) from exc
    # Not yet reaped, so /proc/<pid> exists even if the process already exited.
    start = process_start_time(proc.pid)
    write_atomic(pid_file, f"{proc.pid} {start}\n")
    # The process outlives this object on purpose; drop the handle without
    # Popen's "still running" bookkeeping. stop() reaps it if it is our child.
    proc.returncode = 0
    return proc.pid


def _read_record(pid_file: Path) -> tuple[int, int] | None:
    try:
        pid_text, start_text = pid_file.read_text().split()[:2]
        return int(pid_text), int(start_text)
    except (FileNotFoundError, ValueError):
        return None


def read_pid(pid_file: Path) -> int | None:
    """The pid recorded in ``pid_file`` if that very process still runs, else None."""
    record = _read_record(pid_file)
    if record is None:
        return None
    pid, start = record
    if not _alive(pid, start):
        _reap(pid, start)
        return None
    return pid


def pid_alive(pid: int) -> bool:
    """True if ``pid`` exists and is not a zombie."""
    alive = _alive(pid)
    if not alive:
        _reap(pid)
    return alive


def _wait_gone(pid: int, start: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    delay = _POLL_FIRST
    while True:
        _reap(pid, start)
        if not _alive(pid, start):
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(delay, remaining))
        delay = min(delay * 1.5, _POLL_MAX)


def _signal_group(pid: int, sig: int) -> None:
    try:
        # Started with start_new_session: the process leads its own group.
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass


def stop(pid_file: Path, timeout: float = 10.0) -> bool:
    """Stop the process recorded in ``pid_file`` and remove the file.

    Sends SIGTERM to its process group, waits up to ``timeout`` seconds, then
    sends SIGKILL and waits up to 5 more seconds. Returns True if a process
    was stopped, False if none was running. Raises SandboxError if the
    process survives SIGKILL.
    """
    record = _read_record(pid_file)
    stopped = False
    if record is not None and _alive(*record):
        pid, start = record
        _signal_group(pid, signal.SIGTERM)
        if not _wait_gone(pid, start, timeout):
            _signal_group(pid, signal.SIGKILL)
            if not _wait_gone(pid, start, _KILL_WAIT):
                raise SandboxError(f"process {pid} survived SIGKILL",
                                   hint=f"pid file kept at {pid_file}")
        stopped = True
    elif record is not None:
        _reap(*record)
    try:
        pid_file.unlink()
    except FileNotFoundError:
        pass
    return stopped


def http_answers(url: str, timeout: float = 2.0) -> bool:
    """True if ``url`` gives any HTTP answer (error statuses included)."""
    import urllib.error
    import urllib.request  # ~20 ms: loaded only when a service is waited for

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=timeout):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def wait_http(url: str, timeout: float, proc_pid: int | None = None) -> float:
    """Poll ``url`` until it gives any HTTP answer; return the seconds waited.

    Intervals grow from 20 ms to 250 ms. Raises SandboxError as soon as
    ``proc_pid`` (the server expected to answer) is no longer running, and
    WaitTimeout after ``timeout`` seconds.
    """
    began = time.monotonic()
    deadline = began + timeout
    delay = _POLL_FIRST
    while True:
        remaining = deadline - time.monotonic()
        if http_answers(url, timeout=max(0.1, min(2.0, remaining))):
            return time.monotonic() - began
        if proc_pid is not None and not pid_alive(proc_pid):
            raise SandboxError(f"process {proc_pid} exited before {url} answered")
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise WaitTimeout(f"{url} did not answer within {timeout:g} s",
                              timeout=timeout)
        time.sleep(min(delay, remaining))
        delay = min(delay * 1.5, _POLL_MAX)


def rss_kb(pid: int) -> int | None:
    """Resident set size of ``pid`` in KiB, or None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


__all__ = ["free_port", "start_detached", "read_pid", "stop", "wait_http",
           "rss_kb", "http_answers", "pid_alive", "process_start_time"]
