"""The detached worker: ``python -m nfvlib.lcm.worker --store F --key-dir D OP_ID``.

It runs one occurrence's plan while holding its lease, then exits. It is
started in a session of its own, so it outlives the command that started it.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys


def main(argv: list[str] | None = None) -> int:
    """Run the worker; the exit code tells nothing about the operation itself."""
    parser = argparse.ArgumentParser(prog="python -m nfvlib.lcm.worker")
    parser.add_argument("op_id")
    parser.add_argument("--store", required=True)
    parser.add_argument("--key-dir", required=True)
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
