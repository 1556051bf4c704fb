"""A real Keystone for functional tests, started once per test run.

The virtualenv lives in the nfvkit cache directory (``NFV_CACHE_DIR`` or the
XDG default), so it is installed once and reused by later runs; the data
directory is a fresh temporary one.
"""

from __future__ import annotations

import pytest

__all__ = ["keystone_service"]


@pytest.fixture(scope="session")
def keystone_service(tmp_path_factory):
    """A started :class:`~nfvlib.sandbox.keystone.KeystoneService`, stopped at the end."""
    from nfvlib.config import Paths
    from nfvlib.sandbox import process
    from nfvlib.sandbox.keystone import KeystoneService

    service = KeystoneService(tmp_path_factory.mktemp("keystone"),
                              Paths.from_env().cache_dir)
    pid = service.start()["pid"]
    try:
        yield service
    finally:
        service.stop()
        assert process.read_pid(service.pid_file) is None
        assert not process.pid_alive(pid), f"Keystone pid {pid} still runs"
