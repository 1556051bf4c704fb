"""The nfvlib facade: one object giving the registry of either mode."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, cast

from nfvlib.config import Paths, env_timeout, environment, parse_timeout
from nfvlib.config import tenant_id as env_tenant_id
from nfvlib.exceptions import InvalidInput

if TYPE_CHECKING:
    from nfvlib.backends import (LcmBackend, PackageBackend, SubscriptionBackend,
                                 VimRegistry, VnfBackend)
    from nfvlib.lcm.restoration import LocalRestorationPoints
    from nfvlib.remote.http import TackerApi
    from nfvlib.store import Store

MODES = ("local", "remote")


class Client:
    """Entry point of nfvlib.

    ``Client()`` works in local mode with the store and vault found by
    :meth:`nfvlib.config.Paths.from_env`. ``Client(mode="remote",
    session=...)`` speaks to a Tacker server through a keystoneauth1 session;
    without ``session`` it is built from ``OS_CLOUD`` or ``OS_AUTH_URL`` and
    friends (:func:`nfvlib.remote.auth.settings_from_env`), which also give the
    region, interface and ``OS_TACKER_URL`` unless passed here. Every remote
    request is bounded by ``timeout`` seconds (else ``OS_NFV_TIMEOUT``, else
    60). ``lcm_api_version`` (1 or 2) picks Tacker's VNF LCM API in remote
    mode; local mode ignores it. Backends are built on first use, so creating a client costs nothing
    (in remote mode without ``session``, reading clouds.yaml is the cost).
    """

    def __init__(self, mode: str = "local", *, paths: Paths | None = None,
                 session: Any = None, endpoint_override: str | None = None,
                 region_name: str | None = None, tenant_id: str | None = None,
                 env: Mapping[str, str] | None = None,
                 timeout: float | None = None, lcm_api_version: int = 2,
                 standby_worker: bool = True) -> None:
        if mode not in MODES:
            raise InvalidInput(f"unknown mode {mode!r}", hint="use 'local' or 'remote'")
        env = environment(env)
        self._interface = "public"
        if timeout is not None:
            timeout = parse_timeout(timeout)
        if mode == "remote" and session is None:
            from nfvlib.remote.auth import settings_from_env

            settings = settings_from_env(env, timeout=timeout)
            session, timeout = settings.session, settings.timeout
            endpoint_override = endpoint_override or settings.endpoint_override
            region_name = region_name or settings.region_name
            self._interface = settings.interface
        self._timeout = timeout if timeout is not None else env_timeout(env)
        if lcm_api_version not in (1, 2):
            raise InvalidInput(f"Tacker API version {lcm_api_version!r} is not supported",
                               hint="use 1 or 2")
        self.lcm_api_version = lcm_api_version
        self.mode = mode
        self.paths = paths or Paths.from_env(env)
        self.tenant_id = tenant_id or env_tenant_id(env)
        self._session = session
        self._endpoint_override = endpoint_override
        self._region_name = region_name
        self._store: Store | None = None
        self._vims: VimRegistry | None = None
        self._packages: PackageBackend | None = None
        self._vnfs: VnfBackend | None = None
        self._lcm: LcmBackend | None = None
        self._subscriptions: SubscriptionBackend | None = None
        self._restoration_points: LocalRestorationPoints | None = None
        self._api: TackerApi | None = None
        self._standby_worker = standby_worker
        self._spawner: Any = None

    @property
    def store(self) -> Store:
        """The local store (local mode)."""
        if self._store is None:
            from nfvlib.store import Store

            self._store = Store(self.paths.store_file)
        return self._store

    @property
    def vims(self) -> VimRegistry:
        """The VIM registry: register, list, find, update, delete, check."""
        if self._vims is None:
            if self.mode == "local":
                from nfvlib.vault import Vault
                from nfvlib.vim.registry import LocalVimRegistry

                self._vims = LocalVimRegistry(self.store, Vault(self.paths.key_dir),
                                              tenant_id=self.tenant_id)
            else:
                from nfvlib.remote.vims import RemoteVimRegistry

                self._vims = RemoteVimRegistry(self._tacker())
        return self._vims

    def _tacker(self) -> TackerApi:
        """A Tacker API transport (remote mode), shared by the remote registries."""
        if self._api is None:
            from nfvlib.remote.http import TackerApi

            self._api = TackerApi(self._session, endpoint_override=self._endpoint_override,
                                  region_name=self._region_name,
                                  interface=self._interface, timeout=self._timeout)
        return self._api

    def _lcm_api(self) -> Any:
        """The transport of the VNF LCM API: v2 as is, or rewritten for v1."""
        if self.lcm_api_version == 1:
            from nfvlib.remote.lcm import V1LcmApi

            return V1LcmApi(self._tacker())
        return self._tacker()

    @property
    def packages(self) -> PackageBackend:
        """VNF packages: create, upload (onboard), list, get, delete."""
        if self._packages is None:
            if self.mode == "local":
                from nfvlib.lcm.catalog import LocalPackages

                self._packages = LocalPackages(self.store,
                                               self.paths.data_dir / "packages")
            else:
                from nfvlib.remote.lcm import RemotePackages

                self._packages = RemotePackages(self._tacker())
        return self._packages

    @property
    def vnfs(self) -> VnfBackend:
        """VNF instances: create, list, get, delete."""
        if self._vnfs is None:
            if self.mode == "local":
                from nfvlib.lcm.catalog import LocalVnfs

                def deliver() -> None:
                    # Imported when a create, update or delete has notified:
                    # listing and showing instances stay as fast to start.
                    from nfvlib.lcm.notify import deliverer_spawner

                    deliverer_spawner(self.store, self.paths.store_file,
                                      self.paths.key_dir, self.paths.data_dir / "workers")()

                # The local backends are built on each other, not on the protocols.
                self._vnfs = LocalVnfs(self.store, cast(Any, self.packages),
                                       deliver=deliver)
            else:
                from nfvlib.remote.lcm import RemoteVnfs

                self._vnfs = RemoteVnfs(self._lcm_api())
        return self._vnfs

    @property
    def lcm(self) -> LcmBackend:
        """LCM operations and their occurrences (SOL003)."""
        if self._lcm is None:
            if self.mode == "local":
                from nfvlib.lcm.local import LocalLcm, detached_spawner

                from nfvlib.lcm.notify import deliverer_spawner

                spawn = detached_spawner(self.paths.store_file, self.paths.key_dir,
                                         self.paths.data_dir / "workers",
                                         standby=self._standby_worker)
                self._spawner = spawn
                # Whoever opens the LCM next delivers what is due.
                deliver = deliverer_spawner(self.store, self.paths.store_file,
                                            self.paths.key_dir,
                                            self.paths.data_dir / "workers")
                self._lcm = LocalLcm(self.store, self.vims, cast(Any, self.packages),
                                     cast(Any, self.vnfs),
                                     spawn=spawn, deliver=deliver)
                deliver()
            else:
                from nfvlib.remote.lcm import RemoteLcm

                self._lcm = RemoteLcm(self._lcm_api(), vnfs=cast(Any, self.vnfs))
        return self._lcm

    @property
    def subscriptions(self) -> SubscriptionBackend:
        """SOL003 LCCN subscriptions: create, list, get, delete; deliveries."""
        if self._subscriptions is None:
            if self.mode == "local":
                from nfvlib.lcm.notify import LocalSubscriptions

                self._subscriptions = LocalSubscriptions(self.store,
                                                         cast(Any, self.vims).vault)
            else:
                from nfvlib.remote.subscriptions import RemoteSubscriptions

                self._subscriptions = RemoteSubscriptions(self._tacker())
        return self._subscriptions

    @property
    def restoration_points(self) -> LocalRestorationPoints:
        """Restoration points of VNF instances: create, list, get, delete (local mode)."""
        if self._restoration_points is None:
            if self.mode != "local":
                from nfvlib.exceptions import Unsupported

                raise Unsupported("restoration points are a local-mode feature (Tacker "
                                  "has none)", hint="use --os-nfv-mode local")
            from nfvlib.lcm.restoration import LocalRestorationPoints

            self._restoration_points = LocalRestorationPoints(self.store, self.vims,
                                                              self.vnfs)
        return self._restoration_points

    def close(self) -> None:
        """Release the store connection (and the standby worker, if any)."""
        if self._spawner is not None:
            self._spawner.close()
        if self._store is not None:
            self._store.close()
