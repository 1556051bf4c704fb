"""A real Tacker server on this machine, driving the sandbox's Heat.

Tacker (API and conductor in one process, started by ``_tacker_launcher.py``
from its own pinned virtualenv) keeps its records in a MariaDB server run
as a plain process (:mod:`nfvlib.sandbox.mariadb`) with Tacker's own
migrations, and authenticates through the sandbox's Keystone. Everything it
keeps is in ``state_dir``:

==================  ==========================================================
``tacker.conf``     written on every start (mode 0600: holds passwords)
``tacker.log``      install and migration steps and the service's log
``tacker.pid``      pid and start time of the running service
``tacker.json``     port, version, schema version, service password (0600)
``mariadb/``        the database server (see :mod:`nfvlib.sandbox.mariadb`)
``vim_keys/``       one fernet key file per registered VIM
``csar/``           onboarded packages
==================  ==========================================================
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
from pathlib import Path
from typing import Any

from nfvlib.exceptions import SandboxError, WaitTimeout
from nfvlib.files import PRIVATE_UMASK, open_private, private_dir
from nfvlib.sandbox import process
from nfvlib.sandbox.mariadb import MariaDBService

TACKER_VERSION = "16.0.0"
REQUIREMENTS = [f"tacker=={TACKER_VERSION}"]
VENV_NAME = "tacker"
DEFAULT_PORT = 9890
SERVICE_USER = "tacker"
SERVICE_PROJECT = "service"

CONSTRAINTS_FILE = Path(__file__).resolve().parent / "constraints" / "tacker.txt"
LAUNCHER = Path(__file__).resolve().parent / "_tacker_launcher.py"

START_TIMEOUT = 120.0
#: Tacker's own graceful shutdown is set to 5 s; SIGKILL follows after this.
STOP_TIMEOUT = 12.0
MIGRATE_TIMEOUT = 300.0
LOCK_TIMEOUT = 600.0


class TackerService:
    """One Tacker server with its state directory.

    ``state_dir`` holds its configuration, database server, log and pid
    file; ``cache_dir`` the shared virtualenvs (``<cache_dir>/venvs/tacker``).
    """

    def __init__(self, state_dir: Path, cache_dir: Path,
                 host: str = "127.0.0.1") -> None:
        self.state_dir = Path(state_dir)
        self.cache_dir = Path(cache_dir)
        self.host = host
        self.conf_file = self.state_dir / "tacker.conf"
        self.log_file = self.state_dir / "tacker.log"
        self.pid_file = self.state_dir / "tacker.pid"
        self.state_file = self.state_dir / "tacker.json"
        self.mariadb = MariaDBService(self.state_dir / "mariadb", host=host)
        self._lock = self.state_dir / ".tacker.start.lock"

    # --- state ---------------------------------------------------------------

    def _read_state(self) -> dict[str, Any]:
        return process.read_json(self.state_file) if self.state_dir.exists() else {}

    def _write_state(self, state: dict[str, Any]) -> None:
        private_dir(self.state_dir)
        process.write_atomic(self.state_file,
                             json.dumps(state, indent=2, sort_keys=True) + "\n",
                             mode=0o600)

    def service_password(self) -> str:
        """The Keystone password of Tacker's service user (made once)."""
        state = self._read_state()
        if not isinstance(state.get("service_password"), str):
            state["service_password"] = secrets.token_urlsafe(18)
            self._write_state(state)
        password: str = state["service_password"]
        return password

    @property
    def port(self) -> int | None:
        """The API port of the last start."""
        port = self._read_state().get("port")
        return port if isinstance(port, int) else None

    @property
    def url(self) -> str:
        """The endpoint to register as ``nfv-orchestration``."""
        return f"http://{self.host}:{self.port or DEFAULT_PORT}/"

    @property
    def configured(self) -> bool:
        """True once Tacker was started in this state directory."""
        return self.state_file.exists()

    # --- install -------------------------------------------------------------

    def install(self) -> Path:
        """Install Tacker into its pinned virtualenv (once per cache); return it."""
        from nfvlib.sandbox.venv import ensure_venv

        private_dir(self.state_dir)
        return ensure_venv(self.cache_dir, VENV_NAME, REQUIREMENTS,
                           CONSTRAINTS_FILE, self.log_file)

    # --- start / stop --------------------------------------------------------

    def start(self, auth_url: str) -> dict[str, Any]:
        """Start MariaDB and Tacker unless Tacker runs and answers; return status.

        ``auth_url`` is the sandbox Keystone's; the service user must exist
        there with :meth:`service_password`. The database is created and
        migrated (``tacker-db-manage upgrade head``) when new or when
        Tacker's version changed.
        """
        private_dir(self.state_dir)
        with process.file_lock(self._lock, LOCK_TIMEOUT,
                               "another start or stop of this Tacker is running"):
            pid = process.read_pid(self.pid_file)
            state = self._read_state()
            if (pid is not None and state.get("auth_url") == auth_url
                    and self.port and process.http_answers(self.url, timeout=2.0)):
                self.mariadb.start()
                return self.status()
            if pid is not None:
                process.stop(self.pid_file, timeout=STOP_TIMEOUT)
            venv = self.install()
            self.mariadb.start()
            connection = self.mariadb.ensure_database("tacker", "tacker")
            port = self._choose_port(state)
            password = self.service_password()
            state = self._read_state()
            state.update(port=port, version=TACKER_VERSION, auth_url=auth_url)
            self._write_state(state)
            self._write_conf(venv, port, connection, auth_url, password)
            if state.get("db_version") != TACKER_VERSION:
                self._migrate(venv)
                state["db_version"] = TACKER_VERSION
                self._write_state(state)
            self._launch(venv)
        return self.status()

    def _choose_port(self, state: dict[str, Any]) -> int:
        preferred = state.get("port") if isinstance(state.get("port"), int) else DEFAULT_PORT
        # Tacker listens with SO_REUSEPORT: a second server would share a port
        # with a stale one without error. Never start on a port that answers.
        if process.http_answers(f"http://{self.host}:{preferred}/", timeout=1.0):
            preferred = None
        return process.free_port(preferred, host=self.host)

    def _write_conf(self, venv: Path, port: int, connection: str, auth_url: str,
                    password: str) -> None:
        state = self.state_dir.resolve()
        for sub in ("vim_keys", "csar", "csar_files", "lock"):
            private_dir(state / sub)
        text = "\n".join([
            "# Written by nfvlib on every start; changes are overwritten.",
            "[DEFAULT]",
            f"state_path = {state}",
            "transport_url = fake://",
            f"bind_host = {self.host}",
            f"bind_port = {port}",
            "auth_strategy = keystone",
            f"api_paste_config = {venv / 'etc' / 'tacker' / 'api-paste.ini'}",
            "graceful_shutdown_timeout = 5",
            "api_workers = 0",
            "",
            "[database]",
            f"connection = {connection}",
            "",
            "[keystone_authtoken]",
            f"www_authenticate_uri = {auth_url}",
            f"auth_url = {auth_url}",
            "auth_type = password",
            f"username = {SERVICE_USER}",
            f"password = {password}",
            f"project_name = {SERVICE_PROJECT}",
            "user_domain_name = Default",
            "project_domain_name = Default",
            "",
            "[vim_keys]",
            f"openstack = {state / 'vim_keys'}",
            "use_barbican = false",
            "",
            "[vnf_package]",
            f"vnf_package_csar_path = {state / 'csar'}",
            "",
            "[glance_store]",
            f"filesystem_store_datadir = {state / 'csar_files'}",
            "default_backend = file",
            "",
            "[oslo_concurrency]",
            f"lock_path = {state / 'lock'}",
            "",
            "[v2_vnfm]",
            # No 10 s pause before every graceful terminate.
            "default_graceful_termination_timeout = 0",
            "",
        ])
        process.write_atomic(self.conf_file, text, mode=0o600)

    def _service_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("PYTHON", "VIRTUAL_ENV", "OS_"))}
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _migrate(self, venv: Path) -> None:
        argv = [str(venv / "bin" / "tacker-db-manage"), "--config-file",
                str(self.conf_file), "upgrade", "head"]
        with open_private(self.log_file) as log:
            log.write(b"\n$ tacker-db-manage upgrade head\n")
            log.flush()
            try:
                done = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=log,
                                      stderr=subprocess.STDOUT, env=self._service_env(),
                                      cwd=self.state_dir, timeout=MIGRATE_TIMEOUT,
                                      umask=PRIVATE_UMASK)
            except (OSError, subprocess.TimeoutExpired) as exc:
                raise SandboxError(f"tacker-db-manage upgrade head failed: {exc}",
                                   hint=f"see {self.log_file}") from exc
        if done.returncode != 0:
            raise SandboxError(f"tacker-db-manage upgrade head failed "
                               f"(exit {done.returncode})", hint=f"see {self.log_file}",
                               log_path=str(self.log_file))

    def _launch(self, venv: Path) -> None:
        from nfvlib.sandbox.venv import venv_python

        argv = [str(venv_python(venv)), str(LAUNCHER), "--config-file",
                str(self.conf_file)]
        pid = process.start_detached(argv, self._service_env(), self.state_dir,
                                     self.log_file, self.pid_file)
        try:
            process.wait_http(self.url, START_TIMEOUT, proc_pid=pid)
        except (SandboxError, WaitTimeout) as exc:
            process.stop(self.pid_file, timeout=STOP_TIMEOUT)
            raise SandboxError(f"Tacker did not start on {self.url}: {exc.message}",
                               hint=f"see {self.log_file}",
                               log_path=str(self.log_file)) from exc

    def stop(self) -> dict[str, bool]:
        """Stop Tacker, then its MariaDB (by recorded pid); report which ran."""
        if not self.state_dir.exists():
            return {"tacker": False, "mariadb": False}
        with process.file_lock(self._lock, LOCK_TIMEOUT,
                               "another start or stop of this Tacker is running"):
            tacker = process.stop(self.pid_file, timeout=STOP_TIMEOUT)
            return {"tacker": tacker, "mariadb": self.mariadb.stop()}

    def status(self) -> dict[str, Any]:
        """``running``, ``answering``, ``pid``, ``port``, ``url``, ``version``, ..."""
        state = self._read_state()
        pid = process.read_pid(self.pid_file) if self.state_dir.exists() else None
        port = state.get("port")
        running = pid is not None
        return {
            "running": running,
            "answering": bool(running and port and process.http_answers(
                self.url, timeout=1.0)),
            "pid": pid, "port": port, "url": self.url if port else None,
            "version": state.get("version"),
            "rss_kb": process.rss_kb(pid) if pid is not None else None,
            "mariadb": self.mariadb.status(),
            "state_dir": str(self.state_dir), "log": str(self.log_file),
        }


__all__ = ["TackerService", "TACKER_VERSION", "DEFAULT_PORT"]
