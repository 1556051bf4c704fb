"""The detached worker: ``python -m nfvlib.lcm.worker --store F --key-dir D OP_ID``.

It runs one occurrence's plan while holding its lease, then exits. It is
started in a session of its own, so it outlives the command that started it.
With ``--standby --log-dir DIR`` instead of an id, it imports what a run
needs, then reads the id from stdin (nothing: it exits) and logs to
``DIR/<id>.log`` (see :class:`nfvlib.lcm.local.DetachedSpawner`).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys


def main(argv: list[str] | None = None) -> int:
    """Run the worker; the exit code tells nothing about the operation itself."""
    parser = argparse.ArgumentParser(prog="python -m nfvlib.lcm.worker")
    parser.add_argument("op_id", nargs="?")
    parser.add_argument("--store", required=True)
    parser.add_argument("--key-dir", required=True)
    parser.add_argument("--standby", action="store_true")
    parser.add_argument("--log-dir")
    args = parser.parse_args(argv)
    if args.standby:
        args.op_id = _wait_for_an_occurrence(args.log_dir)
        if args.op_id is None:
            return 0
    elif not args.op_id:
        parser.error("an occurrence id is needed without --standby")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s")
    from nfvlib.lcm.services import Services

    services = Services.from_files(args.store, args.key_dir)
    try:
        op = services.runner().run(args.op_id)
        logging.getLogger(__name__).info("occurrence %s ended %s", args.op_id,
                                         op.state.value if op else "?")
    finally:
        services.close()
    return 0


def _wait_for_an_occurrence(log_dir: str | None) -> str | None:
    """Import what a run needs, then read the occurrence id from stdin and
    send the output to its log file; None when stdin ends first."""
    import cryptography.fernet  # noqa: F401
    import keystoneauth1.identity.v3  # noqa: F401
    import keystoneauth1.session  # noqa: F401
    import nfvlib.heat  # noqa: F401
    import nfvlib.lcm.engine  # noqa: F401
    import nfvlib.lcm.notify  # noqa: F401
    import nfvlib.lcm.plans  # noqa: F401
    import nfvlib.lcm.services  # noqa: F401
    import nfvlib.packages.csar  # noqa: F401
    import nfvlib.packages.vnfd  # noqa: F401
    import yaml  # noqa: F401

    op_id = sys.stdin.readline().strip()
    if not op_id or not log_dir or os.path.basename(op_id) != op_id:
        return None
    log = os.open(os.path.join(log_dir, f"{op_id}.log"),
                  os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, sys.stdout.fileno())
    os.dup2(log, sys.stderr.fileno())
    os.close(log)
    return op_id


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
