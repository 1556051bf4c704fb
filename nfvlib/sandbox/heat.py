"""A real OpenStack Heat running on this machine, as the sandbox VIM's orchestrator.

Heat (engine, convergence worker and v1 REST API) runs in one detached
process started from its own pinned virtualenv by ``_heat_launcher.py``:
in-memory messaging, SQLite, no Keystone (the ``noauth`` API pipeline, where
every caller is ``admin``). Everything it keeps is in ``state_dir``:

==================  ==========================================================
``heat.conf``       written on every start (mode 0600: holds the encryption key)
``heat.sqlite``     the database
``heat.log``        install steps, database sync and the service's log
``heat.pid``        pid and start time of the running service
``heat.json``       port, Heat version, ``auth_encryption_key`` (mode 0600)
``lock/``           oslo.concurrency lock files
==================  ==========================================================

The port chosen first (8004 if free) is kept for later starts, so the URL a
Keystone catalog holds stays valid.
"""

from __future__ import annotations

import json
import os
import secrets
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from nfvlib.exceptions import SandboxError, WaitTimeout
from nfvlib.files import private_dir
from nfvlib.sandbox import process

HEAT_VERSION = "27.0.1"
HEAT_REQUIREMENT = f"openstack-heat=={HEAT_VERSION}"
VENV_NAME = "heat"
DEFAULT_PORT = 8004

CONSTRAINTS_FILE = Path(__file__).resolve().parent / "constraints" / "heat.txt"
LAUNCHER = Path(__file__).resolve().parent / "_heat_launcher.py"

START_TIMEOUT = 90.0
STOP_TIMEOUT = 10.0
LOCK_TIMEOUT = 300.0

#: Environment variables not passed to the service: interpreter overrides
#: and oslo.config's ``OS_<GROUP>__<OPTION>`` overrides.
_DROPPED_ENV_PREFIXES = ("PYTHON", "VIRTUAL_ENV", "OS_")


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, readable by the owner only."""
    process.write_atomic(path, text, mode=0o600)


class HeatService:
    """One Heat service with its state directory.

    ``state_dir`` holds this service's configuration, database, log and pid
    file; ``cache_dir`` the shared virtualenvs (``<cache_dir>/venvs/heat``).
    ``port`` forces the API port; by default the port of the previous start
    is reused, else 8004, else any free port.
    """

    def __init__(self, state_dir: Path, cache_dir: Path, host: str = "127.0.0.1",
                 port: int | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.cache_dir = Path(cache_dir)
        self.host = host
        self.requested_port = port
        self.conf_file = self.state_dir / "heat.conf"
        self.db_file = self.state_dir / "heat.sqlite"
        self.log_file = self.state_dir / "heat.log"
        self.pid_file = self.state_dir / "heat.pid"
        self.state_file = self.state_dir / "heat.json"
        self.lock_dir = self.state_dir / "lock"
        self._start_lock = self.state_dir / ".heat.start.lock"

    # --- state ---------------------------------------------------------------

    def _read_state(self) -> dict[str, Any]:
        return process.read_json(self.state_file)

    def _write_state(self, state: dict[str, Any]) -> None:
        private_dir(self.state_dir)
        _write_private(self.state_file, json.dumps(state, indent=2, sort_keys=True) + "\n")

    def _ensure_state(self) -> dict[str, Any]:
        state = self._read_state()
        key = state.get("auth_encryption_key")
        if not isinstance(key, str) or len(key) != 32:
            state["auth_encryption_key"] = secrets.token_hex(16)
            self._write_state(state)
        return state

    @property
    def port(self) -> int | None:
        """The API port of the last start, or None if never started."""
        port = self._read_state().get("port")
        return port if isinstance(port, int) else None

    @property
    def endpoint_url(self) -> str:
        """The orchestration endpoint to register in a Keystone catalog."""
        return f"http://{self.host}:{self._port_or_default()}/v1/%(tenant_id)s"

    @property
    def api_url(self) -> str:
        """The v1 API root for direct calls (the project segment is ``admin``)."""
        return f"http://{self.host}:{self._port_or_default()}/v1/admin"

    def _port_or_default(self) -> int:
        return self.port or self.requested_port or DEFAULT_PORT

    # --- install -------------------------------------------------------------

    def install(self) -> Path:
        """Install Heat into its pinned virtualenv (once per cache); return the venv."""
        from nfvlib.sandbox.venv import ensure_venv

        constraints = CONSTRAINTS_FILE if CONSTRAINTS_FILE.exists() else None
        private_dir(self.state_dir)
        return ensure_venv(self.cache_dir, VENV_NAME, [HEAT_REQUIREMENT],
                           constraints, self.log_file)

    # --- start / stop --------------------------------------------------------

    def _locked(self) -> AbstractContextManager[None]:
        return process.file_lock(self._start_lock, LOCK_TIMEOUT,
                                 "another start or stop of this Heat is running")

    def start(self) -> dict[str, Any]:
        """Start Heat unless it already runs; return :meth:`status`.

        Installs the virtualenv if needed, writes ``heat.conf``, launches the
        service detached (it creates or upgrades the database first when
        needed) and waits until its API answers. Raises SandboxError (with
        the log path) if it does not come up.
        """

        with self._locked():
            pid = process.read_pid(self.pid_file)
            if pid is not None:
                port = self.port
                if port is not None:
                    root = f"http://{self.host}:{port}/"
                    if process.http_answers(root, timeout=2.0):
                        return self.status()
                    try:
                        # Still starting up?
                        process.wait_http(root, START_TIMEOUT, proc_pid=pid)
                        return self.status()
                    except (SandboxError, WaitTimeout):
                        pass
                # Running but not answering (or its port is unknown): replace it.
                process.stop(self.pid_file, timeout=STOP_TIMEOUT)

            venv = self.install()
            state = self._ensure_state()
            port = self._choose_port(state)
            private_dir(self.lock_dir)
            self._write_conf(venv, state["auth_encryption_key"])
            state.update(port=port, version=HEAT_VERSION, global_environment=True)
            self._write_state(state)
            init_db = not (self.db_file.exists()
                           and state.get("db_version") == HEAT_VERSION)
            self._launch(venv, port, init_db)
            if init_db:
                state["db_version"] = HEAT_VERSION
                self._write_state(state)
        return self.status()

    def _choose_port(self, state: dict[str, Any]) -> int:

        if self.requested_port:
            port = process.free_port(self.requested_port, host=self.host)
            if port != self.requested_port:
                raise SandboxError(f"port {self.requested_port} on {self.host} is in use",
                                   hint="choose another port or stop what uses it")
            return port
        preferred = state.get("port") if isinstance(state.get("port"), int) else DEFAULT_PORT
        return process.free_port(preferred, host=self.host)

    def _write_conf(self, venv: Path, auth_key: str) -> None:
        etc = venv / "etc" / "heat"
        text = "\n".join([
            "# Written by nfvlib on every start; changes are overwritten.",
            "[DEFAULT]",
            "transport_url = fake://",
            f"auth_encryption_key = {auth_key}",
            "deferred_auth_method = password",
            "convergence_engine = true",
            # Heat's defaults plus the stand-in types, for stacks (Tacker's)
            # that carry no environment of their own.
            f"environment_dir = {self._write_global_environment(etc)}",
            f"template_dir = {etc / 'templates'}",
            # The stand-ins for Nova/Neutron/Cinder add a level or two of nesting.
            "max_nested_stack_depth = 10",
            "",
            "[database]",
            f"connection = sqlite:///{self.db_file.resolve()}",
            "",
            "[paste_deploy]",
            "flavor = noauth",
            f"api_paste_config = {etc / 'api-paste.ini'}",
            "",
            "[oslo_policy]",
            "enforce_new_defaults = false",
            "enforce_scope = false",
            "",
            "[oslo_concurrency]",
            f"lock_path = {self.lock_dir.resolve()}",
            "",
        ])
        _write_private(self.conf_file, text)

    def _write_global_environment(self, etc: Path) -> Path:
        """Write Heat's default environment and the sandbox's stand-in mapping
        (``file://`` templates, allowed in a global environment) to a
        directory of this service; return it."""
        from nfvlib.sandbox.heat_env import RESOURCE_REGISTRY, TEMPLATES_DIR

        env_dir = self.state_dir.resolve() / "environment.d"
        private_dir(env_dir)
        for default in sorted((etc / "environment.d").glob("*.yaml")):
            process.write_atomic(env_dir / default.name, default.read_text())
        registry = {kind: (TEMPLATES_DIR / name).as_uri()
                    for kind, name in sorted(RESOURCE_REGISTRY.items())}
        process.write_atomic(env_dir / "zz-sandbox.yaml",
                             json.dumps({"resource_registry": registry}, indent=2) + "\n")
        return env_dir

    @property
    def has_global_environment(self) -> bool:
        """True if the running Heat was started with the stand-in mapping."""
        return (self.state_dir / "environment.d" / "zz-sandbox.yaml").exists() and (
            self._read_state().get("global_environment") is True)

    def _service_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(_DROPPED_ENV_PREFIXES)}
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _launch(self, venv: Path, port: int, init_db: bool) -> None:
        """Start the service (creating or upgrading the database first if
        ``init_db``) and wait until its API answers."""
        from nfvlib.sandbox.venv import venv_python

        argv = [str(venv_python(venv)), str(LAUNCHER),
                "--config-file", str(self.conf_file),
                "--host", self.host, "--port", str(port)]
        if init_db:
            argv.append("--init-db")
        pid = process.start_detached(argv, self._service_env(), self.state_dir,
                                     self.log_file, self.pid_file)
        root = f"http://{self.host}:{port}/"
        try:
            process.wait_http(root, START_TIMEOUT, proc_pid=pid)
        except (SandboxError, WaitTimeout) as exc:
            process.stop(self.pid_file, timeout=STOP_TIMEOUT)
            raise SandboxError(f"Heat did not start on {root}: {exc.message}",
                               hint=f"see {self.log_file}",
                               log_path=str(self.log_file)) from exc

    def stop(self) -> bool:
        """Stop the service; True if one was running. Bounded: SIGTERM, then SIGKILL."""

        if not self.state_dir.exists():
            return False
        with self._locked():
            return process.stop(self.pid_file, timeout=STOP_TIMEOUT)

    def status(self) -> dict[str, Any]:
        """What runs: ``running``, ``pid``, ``port``, ``url``, ``version``, ``rss_kb``, ...

        ``running`` is True when the recorded process is alive;
        ``answering`` when its API also answered within a second.
        """

        state = self._read_state() if self.state_dir.exists() else {}
        pid = process.read_pid(self.pid_file)
        port = state.get("port")
        running = pid is not None
        answering = bool(running and port and process.http_answers(
            f"http://{self.host}:{port}/", timeout=1.0))
        return {
            "running": running,
            "answering": answering,
            "pid": pid,
            "port": port,
            "url": self.api_url if port else None,
            "endpoint_url": self.endpoint_url if port else None,
            "version": state.get("version"),
            "rss_kb": process.rss_kb(pid) if pid is not None else None,
            "state_dir": str(self.state_dir),
            "log": str(self.log_file),
        }


__all__ = ["HeatService", "HEAT_VERSION", "DEFAULT_PORT"]
