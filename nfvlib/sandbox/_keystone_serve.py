"""Serve Keystone's WSGI application on one host and port, threaded.

Run with the Keystone virtualenv's interpreter in isolated mode (``-I``, so
this file's directory, which holds modules named ``keystone`` and ``venv``,
is not put on ``sys.path``)::

    python -I -u _keystone_serve.py --host 127.0.0.1 --port 5000 --config-file /abs/keystone.conf

It imports only the standard library, werkzeug, SQLAlchemy and keystone.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from types import ModuleType


def _load_sibling(name: str) -> ModuleType:
    """A module next to this file, loaded by path (this directory is not on sys.path)."""
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location(name, os.path.join(here, name + ".py"))
    # A path ending in .py always gets a spec with a loader.
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--config-file", required=True)
    args = parser.parse_args()

    # oslo.config parses sys.argv when Keystone configures itself: leave it
    # nothing of ours to choke on.
    del sys.argv[1:]
    conf = os.path.abspath(args.config_file)
    os.environ["OS_KEYSTONE_CONFIG_DIR"] = os.path.dirname(conf)
    os.environ["OS_KEYSTONE_CONFIG_FILES"] = os.path.basename(conf)

    # Concurrent requests write to SQLite (failed-auth counters, last-active
    # times): make writers queue instead of failing with "database is locked".
    _load_sibling("_sqlite_writers").install()

    # Only in Keystone's virtualenv.
    from keystone.wsgi.api import application
    from werkzeug.serving import run_simple

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    run_simple(args.host, args.port, application, threaded=True,
               use_reloader=False, use_debugger=False)


if __name__ == "__main__":
    main()
