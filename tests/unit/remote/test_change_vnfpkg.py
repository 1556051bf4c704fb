"""Remote change-vnfpkg (Tacker v2) and the local-only restoration features."""

from __future__ import annotations

import pytest

from nfvlib.exceptions import InvalidInput, Unsupported
from tests.unit.remote.test_lcm import (OCC, OCCS, VNF, VNFS, accept, api, calls,  # noqa: F401
                                        clock, lcm, occ_wire, vnfs)


def test_change_vnfpkg_posts_the_request_to_tacker_v2(lcm, requests_mock):  # noqa: F811
    accept(requests_mock, "change_vnfpkg")
    requests_mock.get(f"{OCCS}/{OCC}", json=occ_wire(operation="CHANGE_VNFPKG"))
    body = {"vnfdId": "vnfd-2", "additionalParams": {"upgrade_type": "RollingUpdate"}}
    op = lcm.change_vnfpkg(VNF, body)
    assert calls(requests_mock)[0] == ("POST",
                                       f"/vnflcm/v2/vnf_instances/{VNF}/change_vnfpkg")
    assert requests_mock.request_history[0].json() == body
    assert requests_mock.request_history[0].headers["Version"] == "2.0.0"
    assert op.operation.value == "CHANGE_VNFPKG"


def test_change_vnfpkg_without_vnfd_id_sends_nothing(lcm, requests_mock):  # noqa: F811
    with pytest.raises(InvalidInput, match="needs a vnfdId"):
        lcm.change_vnfpkg(VNF, {"additionalParams": {}})
    assert requests_mock.request_history == []


def test_restoration_points_and_fallback_are_local_only(lcm, requests_mock):  # noqa: F811
    with pytest.raises(Unsupported, match="local-mode"):
        lcm.fallback(VNF)
    with pytest.raises(Unsupported, match="local-mode"):
        lcm.heal(VNF, restoration_point=True)
    assert requests_mock.request_history == []
