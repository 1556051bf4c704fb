"""A real Keystone (keystone 30.0.0 from PyPI) served on 127.0.0.1.

Keystone lives in its own pinned virtualenv under the cache directory and
keeps everything else in one state directory::

    keystone.conf  keystone.sqlite  fernet-keys/  credential-keys/
    keystone.log   install.log      keystone.pid  state.json (0600)

``state.json`` records the port, the generated admin password, the installed
version and which setup steps are done, so a restart only repeats what
changed (``bootstrap`` is re-run when the port moves, because the identity
endpoint URLs in the catalog carry it).

A new state directory costs one ``keystone-manage bootstrap`` run while the
server loads: the Fernet and credential key repositories are written directly
(two random keys each, the layout ``fernet_setup`` makes), and the database is
copied from an empty, already synced one kept in the cache (made by the first
``db_sync``). Each ``keystone-manage`` run spends ~2 s of CPU importing
Keystone, which is most of a start on a small machine.

The admin helpers talk to Keystone's REST API through a keystoneauth1
session and are idempotent: calling them twice leaves the same state.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import subprocess
import time
import urllib.parse
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict, cast

from nfvlib.exceptions import (AuthFailed, BackendError, NotFound, SandboxError,
                               Unreachable, WaitTimeout)
from nfvlib.files import (PRIVATE_UMASK, open_private, private_dir, private_file,
                          write_private)
from nfvlib.sandbox import process
from nfvlib.sandbox.venv import MARKER, ensure_venv, venv_python

if TYPE_CHECKING:
    from keystoneauth1.session import Session


class PasswordCredentials(TypedDict):
    """Keystone v3 password credentials, as keystoneauth1's ``v3.Password`` takes them."""

    auth_url: str
    username: str
    password: str
    project_name: str
    user_domain_name: str
    project_domain_name: str

KEYSTONE_VERSION = "30.0.0"
REQUIREMENTS = [f"keystone=={KEYSTONE_VERSION}", "Werkzeug"]
CONSTRAINTS = Path(__file__).with_name("constraints") / "keystone.txt"
SERVE_SCRIPT = Path(__file__).with_name("_keystone_serve.py")
DEFAULT_PORT = 5000
DEFAULT_REGION = "RegionOne"
START_TIMEOUT = 90.0
MANAGE_TIMEOUT = 180.0
LOCK_TIMEOUT = 300.0
INTERFACES = ("public", "internal", "admin")

_CONF = """\
[DEFAULT]
# Log lines go to stdout, which is appended to keystone.log.

[database]
connection = sqlite:///{db}

[token]
provider = fernet

[fernet_tokens]
key_repository = {fernet}

[fernet_receipts]
# MFA receipts default to /etc/keystone/fernet-keys/: share the token keys.
key_repository = {fernet}

[credential]
key_repository = {credential}

[identity]
# Cheap hashes: this Keystone is for tests and demos.
password_hash_rounds = 4

[cache]
enabled = true
backend = dogpile.cache.memory
"""


class KeystoneService:
    """One Keystone server with its own state directory."""

    def __init__(self, state_dir: Path, cache_dir: Path, host: str = "127.0.0.1",
                 port: int | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.cache_dir = Path(cache_dir)
        self.host = host
        self.preferred_port = port
        self.conf_file = self.state_dir / "keystone.conf"
        self.db_file = self.state_dir / "keystone.sqlite"
        self.fernet_dir = self.state_dir / "fernet-keys"
        self.credential_dir = self.state_dir / "credential-keys"
        self.log_file = self.state_dir / "keystone.log"
        self.install_log = self.state_dir / "install.log"
        self.pid_file = self.state_dir / "keystone.pid"
        self.state_file = self.state_dir / "state.json"
        self._session: tuple[str, Session] | None = None

    # -- state ---------------------------------------------------------------

    def _load_state(self) -> dict[str, Any]:
        return process.read_json(self.state_file)

    def _save_state(self, state: dict[str, Any]) -> None:
        private_dir(self.state_dir)
        process.write_atomic(self.state_file,
                             json.dumps(state, indent=1, sort_keys=True), mode=0o600)

    def _locked(self) -> AbstractContextManager[None]:
        return process.file_lock(self.state_dir / ".lock", LOCK_TIMEOUT,
                                 "another start or stop of this Keystone is running")

    # -- public properties ---------------------------------------------------

    @property
    def port(self) -> int | None:
        """The port of the last start, or None before the first one."""
        return self._load_state().get("port")

    @property
    def auth_url(self) -> str:
        """The identity v3 URL, ``http://127.0.0.1:PORT/v3``."""
        port = self.port
        if port is None:
            raise SandboxError("Keystone has not been started",
                               hint=f"start it first (state in {self.state_dir})")
        return f"http://{self.host}:{port}/v3"

    @property
    def admin_credentials(self) -> PasswordCredentials:
        """Password credentials of the bootstrap admin, scoped to the admin project."""
        state = self._load_state()
        if "admin_password" not in state:
            raise SandboxError("Keystone has not been started",
                               hint=f"start it first (state in {self.state_dir})")
        return {"auth_url": self.auth_url, "username": "admin",
                "password": state["admin_password"], "project_name": "admin",
                "user_domain_name": "Default", "project_domain_name": "Default"}

    # -- lifecycle -----------------------------------------------------------

    def install(self) -> Path:
        """Install the pinned Keystone virtualenv (once per cache) and return it."""
        private_dir(self.state_dir)
        return ensure_venv(self.cache_dir, "keystone", REQUIREMENTS, CONSTRAINTS,
                           self.install_log)

    def start(self) -> dict[str, Any]:
        """Start Keystone unless it already runs and answers; return :meth:`status`."""
        with self._locked():
            state = self._load_state()
            pid = process.read_pid(self.pid_file)
            if pid is not None:
                url = f"http://{self.host}:{state.get('port')}/v3"
                ready = state.get("bootstrapped_url") == url
                if ready and self._answers_soon(url, pid):
                    return self.status()
                process.stop(self.pid_file)
            self._start(state)
        return self.status()

    def _answers_soon(self, url: str, pid: int) -> bool:
        if process.http_answers(url):
            return True
        try:  # Possibly still starting after an interrupted start().
            process.wait_http(url, START_TIMEOUT, proc_pid=pid)
            return True
        except (SandboxError, WaitTimeout):
            return False

    def _start(self, state: dict[str, Any]) -> None:
        venv = self.install()
        version = _installed_version(venv)
        if "admin_password" not in state:
            state["admin_password"] = secrets.token_urlsafe(24)
            state.pop("bootstrapped_url", None)
        port = process.free_port(self.preferred_port or state.get("port")
                                 or DEFAULT_PORT, self.host)
        url = f"http://{self.host}:{port}/v3"
        state.update(port=port, version=version)
        self._save_state(state)
        write_private(self.conf_file, _CONF.format(
            db=self.db_file.resolve(), fernet=self.fernet_dir.resolve(),
            credential=self.credential_dir.resolve()))
        self._session = None

        for key_dir in (self.fernet_dir, self.credential_dir):
            if not _has_files(key_dir):
                _write_key_repository(key_dir)
        manage = str(venv / "bin" / "keystone-manage")
        base = [manage, "--config-file", str(self.conf_file)]
        children: list[subprocess.Popen[bytes]] = []
        try:
            self._ensure_database(venv, version, state, base, children)
            bootstrap = None
            if state.get("bootstrapped_url") != url:
                bootstrap = self._spawn(base + [
                    "bootstrap", "--bootstrap-region-id", DEFAULT_REGION,
                    "--bootstrap-admin-url", url, "--bootstrap-internal-url", url,
                    "--bootstrap-public-url", url], children,
                    extra_env={"OS_BOOTSTRAP_PASSWORD": state["admin_password"]})
            # The server reads the database only when a request comes, so it
            # can load while bootstrap writes; start() returns after both.
            pid = process.start_detached(
                [str(venv_python(venv)), "-I", "-u", str(SERVE_SCRIPT),
                 "--host", self.host, "--port", str(port),
                 "--config-file", str(self.conf_file)],
                env=self._env(), cwd=self.state_dir, log_path=self.log_file,
                pid_file=self.pid_file)
            if bootstrap is not None:
                self._finish("bootstrap", bootstrap)
        except BaseException:
            for proc in children:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)
            process.stop(self.pid_file, timeout=2.0)
            raise
        state["bootstrapped_url"] = url
        self._save_state(state)
        try:
            process.wait_http(url, START_TIMEOUT, proc_pid=pid)
        except (SandboxError, WaitTimeout) as exc:
            process.stop(self.pid_file, timeout=2.0)
            raise SandboxError(f"Keystone did not start on port {port}: {exc.message}",
                               hint=f"see {self.log_file}",
                               log_path=str(self.log_file)) from exc

    def _ensure_database(self, venv: Path, version: str, state: dict[str, Any],
                         base: list[str], children: list[subprocess.Popen[bytes]]) -> None:
        """Create or upgrade keystone.sqlite; a new one needs a new bootstrap."""
        template = self._db_template(venv)
        fresh = not self.db_file.exists()
        if fresh:
            state.pop("bootstrapped_url", None)
            if template.exists():
                _copy_atomic(template, self.db_file)
                state["db_version"] = version
        if state.get("db_version") != version or not self.db_file.exists():
            self._finish("db_sync", self._spawn(base + ["db_sync"], children))
            state["db_version"] = version
            if fresh and not template.exists():
                _copy_atomic(self.db_file, template)
        self._save_state(state)

    def _db_template(self, venv: Path) -> Path:
        """A freshly synced, still empty database kept in the cache.

        Copying it saves a ``keystone-manage db_sync`` (~2 s) per new state
        directory; it is named after the venv's digest, so another Keystone
        version or pin set never uses it.
        """
        digest = (venv / MARKER).read_text().strip()[:16]
        return self.cache_dir / "templates" / f"keystone-{digest}.sqlite"

    def _env(self, extra_env: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("OS_", "PYTHON"))}
        env.update(extra_env or {})
        return env

    def _spawn(self, argv: list[str], children: list[subprocess.Popen[bytes]],
               extra_env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
        """Start one ``keystone-manage`` command with output to the log."""
        with open_private(self.log_file) as log:
            log.write(f"\n$ keystone-manage {' '.join(argv[3:])}\n".encode())
            log.flush()
            proc = subprocess.Popen(argv, env=self._env(extra_env), cwd=self.state_dir,
                                    stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, umask=PRIVATE_UMASK)
        children.append(proc)
        return proc

    def _finish(self, step: str, proc: subprocess.Popen[bytes]) -> None:
        try:
            code = proc.wait(timeout=MANAGE_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            proc.kill()
            proc.wait(timeout=10)
            raise SandboxError(f"keystone-manage {step} timed out",
                               hint=f"see {self.log_file}",
                               log_path=str(self.log_file)) from exc
        if code != 0:
            raise SandboxError(f"keystone-manage {step} failed (exit {code})",
                               hint=f"see {self.log_file}",
                               log_path=str(self.log_file))

    def stop(self) -> bool:
        """Stop the server; True if one was running."""
        with self._locked():
            self._session = None
            return process.stop(self.pid_file)

    def status(self) -> dict[str, Any]:
        """Whether the server runs, with its pid, port, URL, version and RSS."""
        state = self._load_state()
        pid = process.read_pid(self.pid_file)
        port = state.get("port")
        return {"running": pid is not None, "pid": pid, "port": port,
                "url": f"http://{self.host}:{port}/v3" if port else None,
                "version": state.get("version"),
                "rss_kb": process.rss_kb(pid) if pid is not None else None,
                "state_dir": str(self.state_dir), "log_file": str(self.log_file)}

    # -- admin helpers -------------------------------------------------------

    def admin_session(self) -> Session:
        """A keystoneauth1 Session authenticated as the bootstrap admin."""
        creds = self.admin_credentials
        if self._session is None or self._session[0] != creds["auth_url"]:
            self._session = (creds["auth_url"], _password_session(creds))
        return self._session[1]

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              missing_ok: bool = False) -> Any:
        """One admin REST call; the decoded body, ``{}`` if empty, None if 404 allowed."""
        from keystoneauth1 import exceptions as ks_exc

        url = self.auth_url + path
        try:
            resp = self.admin_session().request(
                url, method, json=body, raise_exc=False)
        except ks_exc.Unauthorized as exc:
            raise AuthFailed("Keystone refused the admin credentials",
                             hint=f"check {self.state_file}") from exc
        except ks_exc.ConnectionError as exc:
            raise Unreachable(f"Keystone at {self.auth_url} did not answer",
                              hint="start it first") from exc
        if resp.status_code == 404 and missing_ok:
            return None
        if resp.status_code >= 400:
            raise BackendError(f"Keystone {method} {path} answered "
                               f"{resp.status_code}: {resp.text[:200]}")
        return resp.json() if resp.content else {}

    def _find(self, collection: str, **filters: str) -> dict[str, Any] | None:
        query = urllib.parse.urlencode(filters)
        found = self._call("GET", f"/{collection}?{query}")[collection]
        return cast(dict[str, Any], found[0]) if found else None

    def ensure_region(self, region_id: str) -> dict[str, Any]:
        """Create region ``region_id`` unless it exists; return it."""
        path = f"/regions/{urllib.parse.quote(region_id, safe='')}"
        found = self._call("GET", path, missing_ok=True)
        if found is None:
            found = self._call("POST", "/regions", {"region": {"id": region_id}})
        return cast(dict[str, Any], found["region"])

    def ensure_project_user(self, project: str, user: str, password: str,
                            role: str = "member") -> dict[str, str]:
        """Ensure a project, a user with ``password`` and a role on the project.

        All in the Default domain. An existing user gets ``password`` if it
        differs (see :meth:`set_user_password`). The role is created if it
        is missing. Returns the ids: project_id, user_id, role_id.
        """
        proj = self._find("projects", name=project, domain_id="default") or self._call(
            "POST", "/projects", {"project": {"name": project, "domain_id": "default",
                                              "enabled": True}})["project"]
        usr = self._find("users", name=user, domain_id="default")
        if usr is None:
            usr = self._call("POST", "/users", {"user": {
                "name": user, "domain_id": "default", "password": password,
                "default_project_id": proj["id"], "enabled": True}})["user"]
        else:
            if not usr.get("enabled", True):
                self._call("PATCH", f"/users/{usr['id']}", {"user": {"enabled": True}})
            if not self._password_works(usr["id"], password):
                self._set_password(usr["id"], password)
        rol = self._find("roles", name=role) or self._call(
            "POST", "/roles", {"role": {"name": role}})["role"]
        self._call("PUT", f"/projects/{proj['id']}/users/{usr['id']}/roles/{rol['id']}")
        return {"project_id": proj["id"], "user_id": usr["id"], "role_id": rol["id"]}

    def password_works(self, user: str, password: str) -> bool:
        """Whether Keystone accepts ``password`` for ``user`` (Default domain)."""
        usr = self._find("users", name=user, domain_id="default")
        return usr is not None and self._password_works(usr["id"], password)

    def _password_works(self, user_id: str, password: str) -> bool:
        from keystoneauth1 import exceptions as ks_exc

        body = {"auth": {"identity": {"methods": ["password"], "password": {
            "user": {"id": user_id, "password": password}}}}}
        try:
            resp = self.admin_session().post(self.auth_url + "/auth/tokens", json=body,
                                             authenticated=False, raise_exc=False)
        except ks_exc.ConnectionError as exc:
            raise Unreachable(f"Keystone at {self.auth_url} did not answer") from exc
        return resp.status_code == 201

    def set_user_password(self, user: str, password: str) -> None:
        """Set the password of ``user`` (Default domain).

        Returns once tokens for the new password are accepted: Keystone
        revokes the user's tokens with one-second granularity, so this waits
        for the next whole second after the change.
        """
        usr = self._find("users", name=user, domain_id="default")
        if usr is None:
            raise NotFound(f"no Keystone user named {user!r}")
        self._set_password(usr["id"], password)

    def _set_password(self, user_id: str, password: str) -> None:
        self._call("PATCH", f"/users/{user_id}", {"user": {"password": password}})
        now = time.time()
        time.sleep(int(now) + 1.05 - now)

    def ensure_service_endpoints(self, service_type: str, name: str, url: str,
                                 regions: list[str]) -> dict[str, Any]:
        """Ensure a service and its public/internal/admin endpoints in each region.

        Missing regions are created; an endpoint with another URL is updated.
        Returns ``{"service_id": ..., "endpoints": {region: {interface: id}}}``.
        """
        svc = self._find("services", type=service_type, name=name) or self._call(
            "POST", "/services", {"service": {"type": service_type, "name": name,
                                              "enabled": True}})["service"]
        existing = self._call("GET", f"/endpoints?service_id={svc['id']}")["endpoints"]
        result: dict[str, dict[str, str]] = {}
        for region in regions:
            self.ensure_region(region)
            result[region] = {}
            for interface in INTERFACES:
                matches = [e for e in existing if e["interface"] == interface
                           and e.get("region_id") == region]
                for extra in matches[1:]:
                    self._call("DELETE", f"/endpoints/{extra['id']}")
                if not matches:
                    ep = self._call("POST", "/endpoints", {"endpoint": {
                        "service_id": svc["id"], "interface": interface,
                        "region_id": region, "url": url, "enabled": True}})["endpoint"]
                else:
                    ep = matches[0]
                    if ep["url"] != url or not ep.get("enabled", True):
                        self._call("PATCH", f"/endpoints/{ep['id']}", {
                            "endpoint": {"url": url, "enabled": True}})
                result[region][interface] = ep["id"]
        return {"service_id": svc["id"], "endpoints": result}


def _password_session(creds: PasswordCredentials) -> Session:
    """A keystoneauth1 Session for ``creds`` that never uses proxy settings."""
    import requests
    from keystoneauth1 import session as ks_session
    from keystoneauth1.identity import v3

    http = requests.Session()
    http.trust_env = False  # 127.0.0.1 only: ignore *_proxy variables
    return ks_session.Session(auth=v3.Password(**creds), session=http)


def _installed_version(venv: Path) -> str:
    for dist in venv.glob("lib/python3*/site-packages/keystone-*.dist-info"):
        return dist.name[len("keystone-"):-len(".dist-info")]
    raise SandboxError(f"keystone is not installed in {venv}",
                       hint="delete that directory to reinstall")


def _write_key_repository(path: Path) -> None:
    """Write a fresh Fernet key repository as ``keystone-manage fernet_setup`` does.

    Two keys: ``0`` (staged) and ``1`` (primary), each a url-safe base64
    encoding of 32 random bytes, in a 0700 directory of 0600 files. Written
    here because each ``keystone-manage`` run spends ~2 s of CPU importing
    Keystone; built aside and renamed into place so it is never half-made.
    """
    tmp = path.with_name(f".{path.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(mode=0o700)
    for index in ("0", "1"):
        fd = os.open(tmp / index, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(base64.urlsafe_b64encode(os.urandom(32)).decode())
    if path.exists():
        path.rmdir()  # empty, or _has_files() would have been true
    os.replace(tmp, path)


def _copy_atomic(source: Path, target: Path) -> None:
    """Copy a database (it holds password hashes) privately, renamed into place."""
    private_dir(target.parent)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    private_file(tmp)
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def _has_files(path: Path) -> bool:
    return path.is_dir() and any(path.iterdir())


__all__ = ["KeystoneService", "KEYSTONE_VERSION"]
