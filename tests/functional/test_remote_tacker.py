"""The sandbox's real Tacker 16: running, and reachable with its openrc.

VIMs, packages and the lifecycle against it are the contract suite's
``tacker`` backend (tests/functional/contract/).
"""

from __future__ import annotations

import subprocess
import sys

from nfvlib.sandbox import process


# -- the sandbox itself ------------------------------------------------------------

def test_status_and_openrc_point_at_a_running_tacker(tacker_sandbox):
    sb = tacker_sandbox
    status = sb.status()
    for service in (status["tacker"], status["tacker"]["mariadb"], status["image"]):
        assert service["running"] and process.pid_alive(service["pid"])
    assert status["tacker"]["answering"] and status["tacker"]["version"] == "16.0.0"
    proc = subprocess.run(
        [sys.executable, "-m", "nfvcli.shell", "--data-dir", str(sb.paths.data_dir),
         "sandbox", "openrc"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.removeprefix("export ").split("=", 1)
                 for line in proc.stdout.splitlines())
    assert lines["OS_NFV_MODE"] == "remote"
    assert lines["OS_AUTH_URL"] == sb.keystone.auth_url
    # Keystone's catalog holds Tacker in both regions, and the image stand-in.
    catalog = sb.keystone._call("GET", "/services?type=nfv-orchestration")["services"]
    assert len(catalog) == 1
    endpoints = sb.keystone._call(
        "GET", f"/endpoints?service_id={catalog[0]['id']}")["endpoints"]
    assert {e["region_id"] for e in endpoints} == {"RegionOne", "RegionTwo"}
    assert {e["url"] for e in endpoints} == {sb.tacker.url}
