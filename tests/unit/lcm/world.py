"""Local LCM run in this process against the stateful fake Heat.

A :class:`World` has the real store, vault, packages and plan runner of a
fresh data directory, one default VIM whose Heat is
:class:`tests.unit.fake_heat.FakeHeat`, and the packages given onboarded.
Its occurrences are run here by :meth:`World.run`, as the detached worker
would run them, optionally dying (:class:`Crash`) before or after a step.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import nfvlib
from nfvlib.lcm import engine, plans
from nfvlib.lcm.local import LocalLcm
from nfvlib.lcm.services import Services
from nfvlib.models import OpState
from tests.unit.conftest import HEAT, vim_config
from tests.unit.fake_heat import FakeHeat

SAMPLE = Path(nfvlib.__file__).parent / "samples" / "sample_vnf"
LEVEL_1 = {"flavourId": "simple", "instantiationLevelId": "instantiation_level_1"}


class Crash(BaseException):
    """Stands for the worker process dying between two instructions."""


def crashing(do, when: str):
    """``do`` made to die ``"before"`` or ``"after"`` it runs."""
    def step(ctx):
        if when == "before":
            raise Crash()
        do(ctx)
        raise Crash()
    return step


@dataclasses.dataclass
class World:
    lcm: LocalLcm
    services: Services
    heat: FakeHeat
    #: The vnfdId of each package given, in order.
    vnfd_ids: list[str]
    #: (step name, "before" | "after"): where the next runs die.
    crash_at: tuple[str, str] | None = None

    @property
    def vnfs(self):
        return self.services.vnfs

    @property
    def vnfd_id(self) -> str:
        return self.vnfd_ids[0]

    def run(self, op_id: str):
        """Run the occurrence's worker here, as the detached worker would."""
        return engine.PlanRunner(self.services.store, self._plans, renew=False).run(op_id)

    def done(self, op):
        """Run a just requested occurrence to its end."""
        return self.run(op.id)

    def new_vnf(self):
        return self.vnfs.create_vnf(self.vnfd_id, name="v")

    def instantiated(self):
        vnf = self.new_vnf()
        op = self.done(self.lcm.instantiate(vnf.id, LEVEL_1))
        assert op.state is OpState.COMPLETED, op.error
        return self.vnfs.get_vnf(vnf.id)

    def expire_lease(self, op_id: str) -> None:
        """What a killed worker leaves: a lease nobody renews, then the reaper."""
        with self.services.store.transaction() as conn:
            conn.execute("UPDATE op_occs SET worker_pid = 999999, lease_expires_at = 0 "
                         "WHERE id = ?", (op_id,))
        engine.reap_expired(self.services.store)

    def _plans(self, op):
        steps = plans.build(op, self.services)
        if self.crash_at is not None:
            name, when = self.crash_at
            for step in steps:
                if step.name == name:
                    step.do = crashing(step.do, when)
        return steps


def make_world(requests_mock: Any, monkeypatch: Any, *packages: Path,
               world: type[World] = World) -> World:
    """A :class:`World` (or subclass) with ``packages`` onboarded (the
    sample by default); close its ``services`` after use. Needs the
    ``nfv_home`` and ``keystone`` fixtures."""
    monkeypatch.setattr("nfvlib.heat.POLL_FIRST", 0.001)
    monkeypatch.setattr("nfvlib.heat.POLL_CAP", 0.001)
    heat = FakeHeat(requests_mock, HEAT["RegionOne"])
    client = nfvlib.Client()
    client.vims.register_vim("site", vim_config(), is_default=True)
    client.close()
    paths = client.paths
    services = Services.from_files(paths.store_file, paths.key_dir,
                                   package_dir=paths.data_dir / "packages")
    store = services.packages
    vnfd_ids = [store.upload_package(store.create_package().id, str(package)).vnfd_id
                for package in packages or (SAMPLE,)]
    lcm = LocalLcm(services.store, services.vims, services.packages, services.vnfs,
                   spawn=lambda op_id: None)
    return world(lcm, services, heat, vnfd_ids)
