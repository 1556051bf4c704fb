"""The sandbox VIM: a real Keystone and a real Heat on 127.0.0.1, as one VIM.

``Sandbox(paths).up()`` installs both services once (pinned virtualenvs under
the cache directory), starts them, registers Heat as the ``orchestration``
service of two regions in that Keystone, creates a project and a user for
the VIM, and registers the pair as the VIM ``sandbox`` through the normal
registry (Keystone validation included). The VIM carries the Heat
environment that maps Nova/Neutron/Cinder types to provider templates, so
real VNF templates run unchanged.
"""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

from nfvlib.config import Paths
from nfvlib.exceptions import InvalidInput, SandboxError, VimNotFound

VIM_NAME = "sandbox"
PROJECT = "nfv"
USER = "nfv"
REGIONS = ("RegionOne", "RegionTwo")

Progress = Callable[[str], None]


class Sandbox:
    """The sandbox services of one data directory."""

    def __init__(self, paths: Paths, *, vims: Any = None) -> None:
        from nfvlib.sandbox.heat import HeatService
        from nfvlib.sandbox.keystone import KeystoneService

        self.paths = paths
        self.dir = paths.sandbox_dir
        self.keystone = KeystoneService(self.dir / "keystone", paths.cache_dir)
        self.heat = HeatService(self.dir / "heat", paths.cache_dir)
        self._vims = vims

    # -- lifecycle -------------------------------------------------------------
    def up(self, progress: Progress | None = None) -> dict[str, Any]:
        """Install (once), start and register the sandbox; idempotent."""
        say = progress or (lambda _msg: None)
        timings: dict[str, float] = {}

        def step(name: str, fn: Callable[[], Any]) -> Any:
            start = time.monotonic()
            say(f"{name} ...")
            try:
                return fn()
            finally:
                timings[name] = round(time.monotonic() - start, 2)
                say(f"{name}: {timings[name]:.1f} s")

        # The two installs are network- and disk-bound: run them side by side.
        def install_both() -> None:
            with ThreadPoolExecutor(max_workers=2) as pool:
                jobs = [pool.submit(self.keystone.install), pool.submit(self.heat.install)]
                for job in jobs:
                    job.result()

        step("install Keystone and Heat", install_both)
        with ThreadPoolExecutor(max_workers=2) as pool:
            jobs = [pool.submit(step, "start Keystone", self.keystone.start),
                    pool.submit(step, "start Heat", self.heat.start)]
            for job in jobs:
                job.result()
        step("configure Keystone", self._configure_keystone)
        vim = step("register VIM 'sandbox'", self._register_vim)
        status = self.status()
        status["timings"] = timings
        status["vim"] = {"id": vim.id, "name": vim.name, "status": vim.status.value,
                         "regions": list(vim.regions)}
        return status

    def down(self) -> dict[str, bool]:
        """Stop both services (by recorded pid); report which were running."""
        return {"heat": self.heat.stop(), "keystone": self.keystone.stop()}

    def status(self) -> dict[str, Any]:
        """Processes, ports, versions and the VIM's last known health."""
        result: dict[str, Any] = {"keystone": self.keystone.status(),
                                  "heat": self.heat.status(),
                                  "data_dir": str(self.dir)}
        try:
            vim = self._registry().find_vim(VIM_NAME)
        except VimNotFound:
            result["vim"] = None
        else:
            result["vim"] = {"id": vim.id, "name": vim.name, "status": vim.status.value,
                             "regions": list(vim.regions),
                             "status_reason": vim.status_reason}
        return result

    def log_files(self) -> dict[str, Path]:
        """The log file of each service."""
        return {"keystone": self.dir / "keystone" / "keystone.log",
                "heat": self.dir / "heat" / "heat.log"}

    def vim_config(self) -> dict[str, Any]:
        """The VIM config (as a config file holds it) for the sandbox's user."""
        return {"auth_url": self.keystone.auth_url, "username": USER,
                "password": self._vim_password(), "project_name": PROJECT,
                "project_domain_name": "Default", "user_domain_name": "Default",
                "cert_verify": False, "type": "openstack"}

    def inject(self, stack: str | None, group: str, member: str, mode: str, *,
               vnf: str | None = None, delay: int = 0, region: str | None = None,
               timeout: float = 300) -> dict[str, Any]:
        """Make one member of a resource group fail, slow down, or behave again.

        The target is a stack (name or id) or a VNF instance (its stack, in its
        VIM and region). The override is PATCHed into the stack's environment;
        Heat keeps it (PATCH merges environments) until ``mode="clear"``.
        Returns the stack once Heat has applied the change.
        """
        from nfvlib.heat import HeatClient
        from nfvlib.sandbox.heat_env import injection_environment

        self._require_running()
        registry = self._registry()
        vim = registry.find_vim(VIM_NAME)
        if vnf is not None:
            from nfvlib.client import Client

            instance = Client("local", paths=self.paths).vnfs.get_vnf(vnf)
            stack = instance.stack_name
            if instance.vim_id:
                vim = registry.get_vim(instance.vim_id)
                region = region or instance.region
        if not stack:
            raise InvalidInput("name a stack or a VNF instance to inject into")
        heat = HeatClient(registry.session(vim),
                          region_name=region or (vim.regions[0] if vim.regions else None))
        target = heat.get_stack(stack)
        environment, files = injection_environment(group, member, mode, delay)
        heat.update_stack(target, environment=environment, files=files)
        return heat.wait_for_stack(target["id"], "UPDATE", timeout=timeout)

    # -- steps -------------------------------------------------------------------
    def _configure_keystone(self) -> None:
        for region in REGIONS:
            self.keystone.ensure_region(region)
        self.keystone.ensure_project_user(PROJECT, USER, self._vim_password())
        self.keystone.ensure_service_endpoints(
            "orchestration", "heat", self.heat.endpoint_url, list(REGIONS))

    def _register_vim(self):
        from nfvlib.sandbox.heat_env import sandbox_environment

        registry = self._registry()
        environment, files = sandbox_environment()
        extra = {"heat_environment": environment, "heat_files": files, "sandbox": True}
        try:
            vim = registry.find_vim(VIM_NAME)
        except VimNotFound:
            try:
                registry.default_vim()
                is_default = False
            except VimNotFound:
                is_default = True
            return registry.register_vim(
                VIM_NAME, self.vim_config(), is_default=is_default, extra=extra,
                description="Keystone and Heat on this machine (nfv sandbox)")
        if vim.auth_url != self.keystone.auth_url or vim.extra != extra:
            # The port moved (busy port) or the templates changed: refresh.
            return registry.update_vim(VIM_NAME, config=self.vim_config(), extra=extra)
        [checked] = registry.check_vims([vim.id])
        return checked

    def _registry(self):
        if self._vims is None:
            from nfvlib.client import Client

            self._vims = Client("local", paths=self.paths).vims
        return self._vims

    def _vim_password(self) -> str:
        path = self.dir / "vim-password"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            pass
        from nfvlib.sandbox.process import write_atomic

        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        password = secrets.token_urlsafe(18)
        write_atomic(path, password, mode=0o600)
        return password

    def _require_running(self) -> None:
        down = [name for name, svc in (("Keystone", self.keystone), ("Heat", self.heat))
                if not svc.status().get("running")]
        if down:
            verb = "is" if len(down) == 1 else "are"
            raise SandboxError(f"the sandbox's {' and '.join(down)} {verb} not running "
                               f"(data directory {self.paths.data_dir})",
                               hint="start it with 'nfv sandbox up'")
