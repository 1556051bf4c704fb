"""SQL for restoration points (see :mod:`nfvlib.lcm.restoration`)."""

from __future__ import annotations

from nfvlib.models import RestorationPoint
from nfvlib.store.lcm import _Table


class RestorationPointTable(_Table[RestorationPoint]):
    """Rows of ``restoration_points`` <-> :class:`RestorationPoint`."""

    table = "restoration_points"
    model = RestorationPoint
    json_fields = ("instance",)
    skip = ("status",)

    def for_vnf(self, vnf_id: str) -> list[RestorationPoint]:
        """The instance's points, oldest first."""
        return self.select("vnf_instance_id = ?", (vnf_id,), order="created_at, id")

    def latest_for(self, vnf_id: str) -> RestorationPoint | None:
        """The instance's newest point, or None."""
        found = self.select("vnf_instance_id = ?", (vnf_id,),
                            order="created_at DESC, rowid DESC")
        return found[0] if found else None

    def by_op(self, op_id: str) -> RestorationPoint | None:
        """The point an occurrence took, or None."""
        found = self.select("op_occ_id = ?", (op_id,))
        return found[0] if found else None
