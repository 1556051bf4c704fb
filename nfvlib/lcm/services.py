"""Everything a plan needs, wired once: store, vault, VIMs, packages, Heat."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from nfvlib.lcm.catalog import LocalPackages, LocalVnfs
from nfvlib.store import Store
from nfvlib.vault import Vault
from nfvlib.vim.registry import LocalVimRegistry

if TYPE_CHECKING:
    from nfvlib.heat import HeatClient
    from nfvlib.lcm.engine import PlanRunner


@dataclass
class Services:
    """The collaborators of local-mode LCM, built from the store and key paths."""

    store: Store
    vims: LocalVimRegistry
    packages: LocalPackages
    vnfs: LocalVnfs
    clock: Callable[[], float] = time.time
    _sessions: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_files(cls, store_file: str | Path, key_dir: str | Path, *,
                   package_dir: str | Path | None = None) -> Services:
        """Services over a store file and vault key directory."""
        store = Store(store_file)
        vims = LocalVimRegistry(store, Vault(key_dir))
        packages = LocalPackages(store, Path(package_dir or Path(store_file).parent
                                             / "packages"))
        return cls(store=store, vims=vims, packages=packages,
                   vnfs=LocalVnfs(store, packages))

    def heat(self, vim_id: str, region: str | None) -> HeatClient:
        """A Heat client for a VIM's region (one Keystone session per VIM)."""
        from nfvlib.heat import HeatClient

        if vim_id not in self._sessions:
            self._sessions[vim_id] = self.vims.session(self.vims.get_vim(vim_id))
        return HeatClient(self._sessions[vim_id], region_name=region)

    def runner(self) -> PlanRunner:
        """A plan runner whose plans are built by :mod:`nfvlib.lcm.plans`."""
        from nfvlib.lcm import plans
        from nfvlib.lcm.engine import PlanRunner

        return PlanRunner(self.store, lambda op: plans.build(op, self), clock=self.clock)

    def close(self) -> None:
        """Close the store connection."""
        self.store.close()
