"""A MariaDB server run as a plain process in a sandbox data directory.

Tacker's migrations do not run on SQLite, so the sandbox's Tacker keeps its
records in MariaDB from the system's packages (Debian's ``mariadb-server``).
No init system is involved: ``mariadb-install-db`` creates the data
directory once and ``mariadbd`` runs detached, listening on 127.0.0.1 and on
a socket in ``state_dir``. Everything it keeps is in ``state_dir``:

=================  =========================================================
``data/``          the database files
``mysqld.sock``    the server's socket (root logs in over it, no password)
``mariadb.log``    the server's error log
``mariadb.pid``    pid and start time of the running server
``mariadb.json``   port, and the passwords of the databases' users (0600)
=================  =========================================================
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from nfvlib.exceptions import SandboxError
from nfvlib.files import PRIVATE_UMASK, open_private, private_dir
from nfvlib.sandbox import process

DEFAULT_PORT = 3307
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
CLIENT_TIMEOUT = 60.0
APT_TIMEOUT = 900.0
_SBIN = ("/usr/sbin", "/usr/bin", "/sbin", "/bin")


def find_program(name: str) -> str | None:
    """``name`` on PATH or in the system's sbin directories, or None."""
    found = shutil.which(name)
    if found:
        return found
    for directory in _SBIN:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def ensure_installed(log_path: Path) -> None:
    """Make sure ``mariadbd`` is installed, installing Debian's package as root.

    Raises SandboxError with the command to run when it is missing and this
    process may not install packages.
    """
    if find_program("mariadbd") and find_program("mariadb-install-db"):
        return
    hint = "install it with 'apt-get install -y mariadb-server' (as root)"
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise SandboxError("the sandbox's Tacker needs MariaDB and mariadbd is not "
                           "installed", hint=hint)
    private_dir(log_path.parent)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    with open_private(log_path) as log:
        for argv in (["apt-get", "install", "-y", "-q", "mariadb-server"],
                     ["apt-get", "update", "-q"],
                     ["apt-get", "install", "-y", "-q", "mariadb-server"]):
            log.write(f"\n$ {' '.join(argv)}\n".encode())
            log.flush()
            try:
                done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=subprocess.STDOUT, env=env,
                                      timeout=APT_TIMEOUT)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise SandboxError(f"installing mariadb-server failed: {exc}",
                                   hint=f"see {log_path}") from exc
            if done.returncode == 0 and argv[1] == "install":
                break
    if not find_program("mariadbd"):
        raise SandboxError("installing mariadb-server did not provide mariadbd",
                           hint=f"see {log_path}; {hint}")


class MariaDBService:
    """One MariaDB server with its state directory."""

    def __init__(self, state_dir: Path, host: str = "127.0.0.1") -> None:
        self.state_dir = Path(state_dir)
        self.host = host
        self.data_dir = self.state_dir / "data"
        self.socket = self.state_dir / "mysqld.sock"
        self.log_file = self.state_dir / "mariadb.log"
        self.pid_file = self.state_dir / "mariadb.pid"
        self.state_file = self.state_dir / "mariadb.json"
        self._lock = self.state_dir / ".mariadb.lock"

    def _read_state(self) -> dict[str, Any]:
        return process.read_json(self.state_file)

    def _write_state(self, state: dict[str, Any]) -> None:
        process.write_atomic(self.state_file,
                             json.dumps(state, indent=2, sort_keys=True) + "\n",
                             mode=0o600)

    @property
    def port(self) -> int | None:
        """The TCP port of the last start."""
        port = self._read_state().get("port") if self.state_dir.exists() else None
        return port if isinstance(port, int) else None

    def start(self) -> dict[str, Any]:
        """Start the server unless it runs; create the data directory first."""
        private_dir(self.state_dir)
        with process.file_lock(self._lock, START_TIMEOUT * 2,
                               "another start or stop of this MariaDB is running"):
            pid = process.read_pid(self.pid_file)
            if pid is not None and self._answers():
                return self.status()
            if pid is not None:
                process.stop(self.pid_file, timeout=STOP_TIMEOUT)
            ensure_installed(self.log_file)
            user = getpass.getuser()
            if not (self.data_dir / "mysql").is_dir():
                shutil.rmtree(self.data_dir, ignore_errors=True)
                self._run([find_program("mariadb-install-db") or "mariadb-install-db",
                           "--no-defaults", f"--datadir={self.data_dir}",
                           f"--user={user}", "--auth-root-authentication-method=normal",
                           "--skip-test-db"], "mariadb-install-db")
            state = self._read_state()
            port = process.free_port(state.get("port") or DEFAULT_PORT, self.host)
            state["port"] = port
            self._write_state(state)
            argv = [find_program("mariadbd") or "mariadbd", "--no-defaults",
                    f"--datadir={self.data_dir}", f"--socket={self.socket}",
                    f"--port={port}", f"--bind-address={self.host}",
                    f"--pid-file={self.state_dir / 'mariadbd.pid'}", f"--user={user}",
                    f"--log-error={self.log_file}", "--skip-name-resolve",
                    "--innodb-buffer-pool-size=64M"]
            pid = process.start_detached(argv, None, self.state_dir, self.log_file,
                                         self.pid_file)
            deadline = time.monotonic() + START_TIMEOUT
            while not self._answers():
                if not process.pid_alive(pid):
                    raise SandboxError("MariaDB exited while starting",
                                       hint=f"see {self.log_file}",
                                       log_path=str(self.log_file))
                if time.monotonic() > deadline:
                    process.stop(self.pid_file, timeout=STOP_TIMEOUT)
                    raise SandboxError(f"MariaDB did not answer within {START_TIMEOUT:g} s",
                                       hint=f"see {self.log_file}",
                                       log_path=str(self.log_file))
                time.sleep(0.1)
        return self.status()

    def _answers(self) -> bool:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            try:
                sock.connect(str(self.socket))
                return bool(sock.recv(1))  # the server's greeting
            except OSError:
                return False

    def _run(self, argv: list[str], step: str, stdin: str | None = None) -> None:
        with open_private(self.log_file) as log:
            try:
                done = subprocess.run(argv, input=(stdin or "").encode(), stdout=log,
                                      stderr=subprocess.STDOUT, timeout=CLIENT_TIMEOUT,
                                      umask=PRIVATE_UMASK)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise SandboxError(f"{step} failed: {exc}",
                                   hint=f"see {self.log_file}") from exc
        if done.returncode != 0:
            raise SandboxError(f"{step} failed (exit {done.returncode})",
                               hint=f"see {self.log_file}", log_path=str(self.log_file))

    def ensure_database(self, name: str, user: str) -> str:
        """Create database ``name`` and ``user`` owning it; return its SQLAlchemy URL.

        The user's password is made once and kept in ``mariadb.json``.
        """
        state = self._read_state()
        passwords = state.setdefault("passwords", {})
        password = passwords.get(user) or secrets.token_hex(16)
        if passwords.get(user) != password:
            passwords[user] = password
            self._write_state(state)
        # Identifiers come from this module's callers; the password is hex.
        sql = (f"CREATE DATABASE IF NOT EXISTS `{name}` CHARACTER SET utf8mb4;\n"
               f"CREATE USER IF NOT EXISTS '{user}'@'localhost' IDENTIFIED BY '{password}';\n"
               f"CREATE USER IF NOT EXISTS '{user}'@'127.0.0.1' IDENTIFIED BY '{password}';\n"
               f"ALTER USER '{user}'@'localhost' IDENTIFIED BY '{password}';\n"
               f"ALTER USER '{user}'@'127.0.0.1' IDENTIFIED BY '{password}';\n"
               f"GRANT ALL ON `{name}`.* TO '{user}'@'localhost';\n"
               f"GRANT ALL ON `{name}`.* TO '{user}'@'127.0.0.1';\n")
        client = find_program("mariadb") or find_program("mysql") or "mariadb"
        self._run([client, "--no-defaults", f"--socket={self.socket}", "-u", "root"],
                  f"creating database {name}", stdin=sql)
        return (f"mysql+pymysql://{user}:{password}@{self.host}:{self.port}/{name}"
                "?charset=utf8mb4")

    def stop(self) -> bool:
        """Stop the server (by recorded pid); True if one was running."""
        if not self.state_dir.exists():
            return False
        with process.file_lock(self._lock, START_TIMEOUT * 2,
                               "another start or stop of this MariaDB is running"):
            return process.stop(self.pid_file, timeout=STOP_TIMEOUT)

    def status(self) -> dict[str, Any]:
        """``running``, ``pid``, ``port``, ``rss_kb``."""
        pid = process.read_pid(self.pid_file) if self.state_dir.exists() else None
        return {"running": pid is not None, "pid": pid, "port": self.port,
                "rss_kb": process.rss_kb(pid) if pid is not None else None,
                "state_dir": str(self.state_dir), "log": str(self.log_file)}


__all__ = ["MariaDBService", "ensure_installed", "find_program"]
