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
from typing import TYPE_CHECKING, Any, Callable, cast

from nfvlib.config import Paths
from nfvlib.exceptions import InvalidInput, NfvError, SandboxError, VimNotFound
from nfvlib.files import private_dir

if TYPE_CHECKING:
    from nfvlib.client import Client
    from nfvlib.models import Vim
    from nfvlib.sandbox.heat_env import Mode
    from nfvlib.sandbox.image_stub import ImageStubService
    from nfvlib.sandbox.tacker import TackerService
    from nfvlib.vim.registry import LocalVimRegistry

VIM_NAME = "sandbox"
PROJECT = "nfv"
USER = "nfv"
REGIONS = ("RegionOne", "RegionTwo")

Progress = Callable[[str], None]


class Sandbox:
    """The sandbox services of one data directory."""

    def __init__(self, paths: Paths, *, vims: LocalVimRegistry | None = None) -> None:
        from nfvlib.sandbox.heat import HeatService
        from nfvlib.sandbox.keystone import KeystoneService

        self.paths = paths
        self.dir = paths.sandbox_dir
        self.keystone = KeystoneService(self.dir / "keystone", paths.cache_dir)
        self.heat = HeatService(self.dir / "heat", paths.cache_dir)
        self._vims = vims
        self._tacker: TackerService | None = None
        self._image: ImageStubService | None = None

    @property
    def tacker(self) -> TackerService:
        """The sandbox's Tacker server (:class:`~nfvlib.sandbox.tacker.TackerService`)."""
        if self._tacker is None:
            from nfvlib.sandbox.tacker import TackerService

            self._tacker = TackerService(self.dir / "tacker", self.paths.cache_dir)
        return self._tacker

    @property
    def image(self) -> ImageStubService:
        """The image-service stand-in that Tacker asks for images."""
        if self._image is None:
            from nfvlib.sandbox.image_stub import ImageStubService

            self._image = ImageStubService(self.dir / "image")
        return self._image

    # -- lifecycle -------------------------------------------------------------
    def up(self, progress: Progress | None = None, *, tacker: bool = False
           ) -> dict[str, Any]:
        """Install (once), start and register the sandbox; idempotent.

        ``tacker``: also start a Tacker server (with its MariaDB and an
        image-service stand-in), registered in the sandbox's Keystone as
        ``nfv-orchestration`` and holding the sandbox VIM as its default VIM.
        """
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
        def install_all() -> None:
            with ThreadPoolExecutor(max_workers=3) as pool:
                jobs = [pool.submit(self.keystone.install), pool.submit(self.heat.install)]
                if tacker:
                    jobs.append(pool.submit(self.tacker.install))
                for job in jobs:
                    job.result()

        # Everything the sandbox keeps is private (see nfvlib.files).
        private_dir(self.paths.data_dir)
        private_dir(self.dir)
        step("install Keystone, Heat and Tacker" if tacker
             else "install Keystone and Heat", install_all)
        with ThreadPoolExecutor(max_workers=2) as pool:
            jobs = [pool.submit(step, "start Keystone", self.keystone.start),
                    pool.submit(step, "start Heat", self.heat.start)]
            for job in jobs:
                job.result()
        step("configure Keystone", self._configure_keystone)
        vim = step("register VIM 'sandbox'", self._register_vim)
        if tacker:
            if not self.heat.has_global_environment:
                step("restart Heat with the global environment", self._restart_heat)
            step("start the image service stand-in", self.image.start)
            step("start Tacker", self._start_tacker)
            step("register VIM 'sandbox' in Tacker", self._register_tacker_vim)
        status = self.status()
        status["timings"] = timings
        status["vim"] = {"id": vim.id, "name": vim.name, "status": vim.status.value,
                         "regions": list(vim.regions)}
        return status

    def down(self) -> dict[str, bool]:
        """Stop every service (by recorded pid); report which were running."""
        stopped: dict[str, bool] = {}
        if self.tacker.state_dir.exists():
            stopped.update(self.tacker.stop())
        if self.image.state_dir.exists():
            stopped["image"] = self.image.stop()
        stopped.update(heat=self.heat.stop(), keystone=self.keystone.stop())
        return stopped

    def status(self) -> dict[str, Any]:
        """Processes, ports, versions and the VIM's last known health."""
        result: dict[str, Any] = {"keystone": self.keystone.status(),
                                  "heat": self.heat.status(),
                                  "data_dir": str(self.dir)}
        if self.tacker.configured:
            result["tacker"] = self.tacker.status()
            result["image"] = self.image.status()
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
        files = {"keystone": self.dir / "keystone" / "keystone.log",
                 "heat": self.dir / "heat" / "heat.log"}
        if self.tacker.configured:
            files["tacker"] = self.tacker.log_file
        return files

    def vim_config(self) -> dict[str, Any]:
        """The VIM config (as a config file holds it) for the sandbox's user."""
        return {"auth_url": self.keystone.auth_url, "username": USER,
                "password": self._vim_password(), "project_name": PROJECT,
                "project_domain_name": "Default", "user_domain_name": "Default",
                "cert_verify": False, "type": "openstack"}

    def inject(self, stack: str | None, group: str, member: str, mode: Mode, *,
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

    def openrc(self) -> dict[str, str]:
        """``OS_*`` variables pointing OpenStackClient and ``nfv`` at the sandbox's
        Tacker (remote mode), as the sandbox VIM's user."""
        if not self.tacker.configured:
            raise SandboxError("the sandbox has no Tacker",
                               hint="start it with 'nfv sandbox up --tacker'")
        return {"OS_AUTH_URL": self.keystone.auth_url, "OS_USERNAME": USER,
                "OS_PASSWORD": self._vim_password(), "OS_PROJECT_NAME": PROJECT,
                "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_NAME": "Default",
                "OS_REGION_NAME": REGIONS[0], "OS_IDENTITY_API_VERSION": "3",
                "OS_INTERFACE": "public", "OS_NFV_MODE": "remote",
                # python-tackerclient's option defaults to v1; the sandbox's Tacker
                # serves v2, the API nfvkit speaks by default
                "OS_TACKER_API_VERSION": "2"}

    def tacker_client(self) -> Client:
        """An :class:`nfvlib.Client` in remote mode on the sandbox's Tacker."""
        from nfvlib.client import Client

        return Client("remote", env=self.openrc(), paths=self.paths)

    # -- steps -------------------------------------------------------------------
    def _restart_heat(self) -> None:
        self.heat.stop()
        self.heat.start()

    def _start_tacker(self) -> None:
        from nfvlib.sandbox.tacker import SERVICE_PROJECT, SERVICE_USER

        password = self.tacker.service_password()
        for role in ("admin", "service"):
            self.keystone.ensure_project_user(SERVICE_PROJECT, SERVICE_USER, password,
                                              role=role)
        self.keystone.ensure_service_endpoints("image", "glance", self.image.url,
                                               list(REGIONS))
        self.tacker.start(self.keystone.auth_url)
        self.keystone.ensure_service_endpoints("nfv-orchestration", "tacker",
                                               self.tacker.url, list(REGIONS))

    def _register_tacker_vim(self) -> Vim:
        vims = self.tacker_client().vims
        for vim in vims.list_vims():
            if vim.name == VIM_NAME:
                if vim.auth_url == self.keystone.auth_url:
                    return vim
                vims.delete_vim(vim.id)  # the Keystone port moved
        return vims.register_vim(VIM_NAME, self.vim_config(), is_default=True,
                                 description="Keystone and Heat on this machine "
                                             "(nfv sandbox)")

    def _configure_keystone(self) -> None:
        for region in REGIONS:
            self.keystone.ensure_region(region)
        self.keystone.ensure_project_user(PROJECT, USER, self._user_password())
        self.keystone.ensure_service_endpoints(
            "orchestration", "heat", self.heat.endpoint_url, list(REGIONS))

    def _register_vim(self) -> Vim:
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
        heat_root = self.heat.endpoint_url.split("/v1/")[0]
        heat_moved = any(url.split("/v1/")[0] != heat_root
                         for url in (vim.orchestration_endpoints or {}).values())
        if (vim.auth_url != self.keystone.auth_url or vim.extra != extra or heat_moved
                or self._stored_vim_password() != self._vim_password()):
            # Keystone's or Heat's port moved (busy port), the templates changed,
            # or the user's password was reset: refresh.
            return registry.update_vim(VIM_NAME, config=self.vim_config(), extra=extra)
        [checked] = registry.check_vims([vim.id])
        return checked

    def _registry(self) -> LocalVimRegistry:
        if self._vims is None:
            from nfvlib.client import Client

            # A local-mode client's registry is the LocalVimRegistry.
            self._vims = cast("LocalVimRegistry", Client("local", paths=self.paths).vims)
        return self._vims

    def _user_password(self) -> str:
        """The password the sandbox's Keystone user is to have.

        The registered VIM's own when Keystone still takes it (it may have
        been changed with 'vim set'): resetting the user to the sandbox's
        file would lock that VIM out. The file then follows. Otherwise the
        file's, which :meth:`_register_vim` then gives the VIM.
        """
        password = self._vim_password()
        stored = self._stored_vim_password()
        if stored and stored != password and self.keystone.password_works(USER, stored):
            from nfvlib.files import write_private

            write_private(self.dir / "vim-password", stored)
            return stored
        return password

    def _stored_vim_password(self) -> str | None:
        """The password the registered VIM 'sandbox' holds for the sandbox's user."""
        registry = self._registry()
        try:
            vim = registry.find_vim(VIM_NAME)
            if vim.credentials.username != USER:
                return None
            return registry.credentials(vim).password
        except NfvError:  # not registered, or its password cannot be read
            return None

    def _vim_password(self) -> str:
        path = self.dir / "vim-password"
        try:
            return path.read_text().strip()
        except FileNotFoundError:
            pass
        from nfvlib.sandbox.process import write_atomic

        private_dir(self.dir)
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
