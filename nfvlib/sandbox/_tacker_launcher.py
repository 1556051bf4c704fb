"""Run Tacker's API and conductor in one process.

This script is run with the interpreter of the Tacker virtualenv and imports
nothing from nfvlib. Usage::

    python _tacker_launcher.py --config-file tacker.conf

Tacker 16's ``tacker-conductor`` forks a worker, so with the in-memory
(``fake://``) message transport the stock ``tacker-server`` and
``tacker-conductor`` never reach each other. Here both services run in one
oslo.service launcher without forking, on eventlet as ``tacker-server``
does: casts from the API (package upload, the start of an LCM operation,
rollback, retry) reach the conductor in the same process.

Importing the conductor registers plain ``auth_url``/``username``/...
options in ``[keystone_authtoken]``; keystonemiddleware then registers its
own ``auth-url`` there and oslo.config raises DuplicateOptError, which would
leave the process running without an API. That duplicate is tolerated for
that group only.
"""

from __future__ import annotations

import os
import sys

# This file sits next to modules that must not shadow installed packages.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import tacker.cmd.eventlet  # noqa: E402,F401  (eventlet monkey-patching first)

import argparse  # noqa: E402
from typing import Any  # noqa: E402

from oslo_config import cfg  # noqa: E402

_TOLERATED_GROUP = "keystone_authtoken"


def tolerate_authtoken_duplicates() -> None:
    """Let ``[keystone_authtoken]`` options be registered twice under other names."""
    original = cfg.ConfigOpts.register_opt

    def register_opt(self: cfg.ConfigOpts, opt: cfg.Opt,
                     group: str | cfg.OptGroup | None = None,
                     *args: Any, **kwargs: Any) -> bool:
        try:
            registered: bool = original(self, opt, group, *args, **kwargs)
            return registered
        except cfg.DuplicateOptError:
            name = getattr(group, "name", group)
            if name != _TOLERATED_GROUP:
                raise
            return False

    cfg.ConfigOpts.register_opt = register_opt  # type: ignore[method-assign]  # the point


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run Tacker's API and conductor "
                                                 "in one process.")
    parser.add_argument("--config-file", required=True)
    args = parser.parse_args(argv)

    tolerate_authtoken_duplicates()

    import oslo_messaging
    from oslo_service import service as oslo_service

    from tacker.common import config
    from tacker.common import crypt_utils
    from tacker.common import topics
    from tacker.conductor import conductor_server  # noqa: F401  (its options)
    from tacker import objects
    from tacker import service
    from tacker.sol_refactored import objects as sol_objects

    oslo_messaging.set_transport_defaults(control_exchange="tacker")
    config.init(["--config-file", args.config_file])
    objects.register_all()
    sol_objects.register_all()
    config.setup_logging(cfg.CONF)

    conductor = service.Service.create(
        binary="tacker-conductor", topic=topics.TOPIC_CONDUCTOR,
        manager="tacker.conductor.conductor_server.Conductor")
    crypt_utils.CryptUtil()
    api = service.serve_wsgi(service.TackerApiService)
    launcher = oslo_service.ServiceLauncher(cfg.CONF, restart_method="mutate")
    launcher.launch_service(conductor)
    launcher.launch_service(api)
    launcher.wait()


if __name__ == "__main__":
    main()
