"""Run a complete Heat (engine, convergence worker, v1 REST API) in one process.

This script is run with the interpreter of the Heat virtualenv and imports
nothing from nfvlib. Usage::

    python _heat_launcher.py --config-file heat.conf --db-sync
    python _heat_launcher.py --config-file heat.conf --host 127.0.0.1 --port 8004
    python _heat_launcher.py --config-file heat.conf --port 8004 --init-db

Heat 27 ships no all-in-one command, and ``heat-engine`` always forks a worker
that an in-memory (``fake://``) message transport cannot reach. So the
engine service is started here directly, next to the API paste application
served by a threaded WSGI server, both sharing the one ``fake://`` transport.

Three changes make SQLite behave like the databases Heat is written for:

1. every connection uses WAL and a long busy timeout, and every transaction
   starts with ``BEGIN IMMEDIATE`` (deferred transactions deadlock Heat's
   concurrent writer threads with "database is locked");
2. ``--db-sync`` (or ``--init-db``) rebuilds the tables with an integer primary key so that it
   is ``AUTOINCREMENT``: SQLite otherwise reuses the id of a deleted max row
   and Heat then deletes rows that belong to live resources;
3. the convergence engine's one-second pause after triggering each leaf
   resource is skipped (it spreads load over remote workers; here there are
   none).

Heat parses ``yaql`` expressions with one shared ply parser, which is not
thread-safe; with real threads instead of green threads concurrent parses
fail at random ("'Lexer' object has no attribute 'lexmatch'", "Parse error").
Parsing is serialised here, and parsed expressions are cached.

The in-memory message transport's listeners wake when a message is
delivered, instead of looking every 50 ms.

Resource tasks (a parent waiting for its nested stack, for one) poll every
``--poll-interval`` seconds instead of every second; each level of nesting
otherwise adds up to a second to every create, update and delete.

SIGTERM or SIGINT stops the API, gives the engine a few seconds to stop its
threads, then ends the process with ``os._exit``.
"""

from __future__ import annotations

import os
import sys
import warnings

# This file sits next to a module named "heat"; its directory must not shadow
# the real heat package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

# eventlet is imported by some of Heat's libraries (and unused): keep its
# deprecation notice out of the log.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

# The oslo.service backend must be chosen before anything imports
# oslo_service.service (the engine module does).
from oslo_service import backend as _oslo_backend  # noqa: E402

_oslo_backend.init_backend(_oslo_backend.BackendType.THREADING)

import argparse  # noqa: E402
import logging as _pylogging  # noqa: E402
import re  # noqa: E402
import signal  # noqa: E402
import socketserver  # noqa: E402
import sqlite3  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from types import ModuleType  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402
from wsgiref import simple_server  # noqa: E402

if TYPE_CHECKING:
    from oslo_config import cfg

BUSY_TIMEOUT_MS = 120_000
STOP_GRACE_SECONDS = 5.0
DEFAULT_POLL_INTERVAL = 0.2

LOG = _pylogging.getLogger("heat.sandbox.launcher")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Run Heat's engine and API in one process.")
    parser.add_argument("--config-file", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8004)
    parser.add_argument("--poll-interval", type=float,
                        default=DEFAULT_POLL_INTERVAL,
                        help="seconds between polls of a running resource "
                             "task (Heat's own value is 1)")
    parser.add_argument("--db-sync", action="store_true",
                        help="create or upgrade the database, then exit")
    parser.add_argument("--init-db", action="store_true",
                        help="create or upgrade the database, then serve")
    return parser.parse_args(argv)


def load_config(config_file: str, prog: str) -> cfg.ConfigOpts:
    """Parse heat.conf into oslo.config's global CONF and set up logging."""
    from oslo_config import cfg
    from oslo_log import log as logging

    from heat import version

    conf = cfg.CONF
    logging.register_options(conf)
    conf(args=[], default_config_files=[config_file], project="heat",
         prog=prog, version=version.version_info.version_string())
    logging.setup(conf, "heat")
    return conf


def sqlite_path(conf: cfg.ConfigOpts) -> str | None:
    """The file of a ``sqlite:///`` database URL, or None for other databases."""
    url = conf.database.connection or ""
    match = re.match(r"sqlite:///(.+)$", url)
    return match.group(1).split("?")[0] if match else None


# --- fix 1: WAL, busy timeout, BEGIN IMMEDIATE --------------------------------

def install_sqlite_listeners() -> None:
    """Make SQLite writers queue instead of failing (see _sqlite_writers.py)."""
    load_sibling("_sqlite_writers").install(BUSY_TIMEOUT_MS)


def load_sibling(name: str) -> ModuleType:
    """A module next to this file, loaded by path (this directory is not on sys.path)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, os.path.join(_HERE, name + ".py"))
    # A path ending in .py always gets a spec with a loader.
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


# --- fix 2: AUTOINCREMENT primary keys ----------------------------------------

def _quote(name: str) -> str:
    return '"%s"' % name.replace('"', '""')


def autoincrement_sql(create_sql: str, table: str, pk: str) -> str | None:
    """``create_sql`` rewritten so that column ``pk`` is AUTOINCREMENT, or None."""
    col = r'"?%s"?' % re.escape(pk)
    without_constraint, n = re.subn(
        r",\s*(?:CONSTRAINT\s+\S+\s+)?PRIMARY KEY\s*\(\s*%s\s*\)" % col, "",
        create_sql, count=1, flags=re.IGNORECASE)
    if n != 1:
        return None
    rewritten, n = re.subn(
        r"([(,]\s*)(%s\s+INTEGER)(\s+NOT\s+NULL)?" % col,
        r"\1\2 NOT NULL PRIMARY KEY AUTOINCREMENT", without_constraint,
        count=1, flags=re.IGNORECASE)
    if n != 1:
        return None
    rewritten, n = re.subn(
        r"^\s*CREATE\s+TABLE\s+(?:\"[^\"]+\"|\S+)",
        "CREATE TABLE %s" % _quote("_autoinc_" + table), rewritten, count=1,
        flags=re.IGNORECASE)
    return rewritten if n == 1 else None


def make_autoincrement(db_file: str) -> list[str]:
    """Rebuild every table whose single INTEGER primary key lacks AUTOINCREMENT.

    Idempotent: tables already rebuilt are left alone. Returns the names of
    the tables rebuilt.
    """
    con = sqlite3.connect(db_file, isolation_level=None,
                          timeout=BUSY_TIMEOUT_MS / 1000)
    rebuilt: list[str] = []
    try:
        con.execute("PRAGMA journal_mode = WAL")
        con.execute("PRAGMA foreign_keys = OFF")
        con.execute("PRAGMA legacy_alter_table = ON")
        tables = con.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'alembic_%'"
        ).fetchall()
        for table, create_sql in tables:
            if "AUTOINCREMENT" in create_sql.upper():
                continue
            info = con.execute("PRAGMA table_info(%s)" % _quote(table)).fetchall()
            pks = [row for row in info if row[5]]
            if len(pks) != 1 or pks[0][2].upper() != "INTEGER":
                continue
            new_sql = autoincrement_sql(create_sql, table, pks[0][1])
            if new_sql is None:
                raise RuntimeError(
                    "cannot add AUTOINCREMENT to table %s: %s" % (table, create_sql))
            indexes = [row[0] for row in con.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'index' "
                "AND tbl_name = ? AND sql IS NOT NULL", (table,))]
            columns = ", ".join(_quote(row[1]) for row in info)
            tmp = _quote("_autoinc_" + table)
            con.execute("BEGIN IMMEDIATE")
            try:
                con.execute(new_sql)
                con.execute("INSERT INTO %s (%s) SELECT %s FROM %s"
                            % (tmp, columns, columns, _quote(table)))
                con.execute("DROP TABLE %s" % _quote(table))
                con.execute("ALTER TABLE %s RENAME TO %s" % (tmp, _quote(table)))
                for index_sql in indexes:
                    con.execute(index_sql)
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
            rebuilt.append(table)
        if rebuilt:
            problems = con.execute("PRAGMA foreign_key_check").fetchall()
            if problems:
                # Heat does not enforce foreign keys on SQLite either.
                LOG.warning("foreign key check after the rebuild: %r", problems[:5])
    finally:
        con.close()
    return rebuilt


def db_sync(conf: cfg.ConfigOpts) -> None:
    """Create or upgrade Heat's schema, then apply the AUTOINCREMENT fix."""
    from heat.db import migration

    started = time.monotonic()
    migration.db_sync()
    db_file = sqlite_path(conf)
    rebuilt = make_autoincrement(db_file) if db_file else []
    LOG.info("database ready in %.2f s (tables made AUTOINCREMENT: %s)",
             time.monotonic() - started, ", ".join(rebuilt) or "none")


# --- fix 3: no pause per convergence leaf -------------------------------------

class _NoLeafPause:
    """Stands in for heat.engine.scheduler inside heat.engine.stack.

    Only ``ENABLE_SLEEP`` differs, so the one-second pause after each leaf
    resource is skipped while task polling elsewhere keeps its sleeps.
    """

    ENABLE_SLEEP = False

    def __init__(self, module: ModuleType) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def disable_leaf_pause() -> None:
    """Skip the one-second pauses after triggering leaf resources (and the
    same pause after triggering snapshot deletions)."""
    from heat.engine import scheduler
    from heat.engine import snapshots
    from heat.engine import stack

    for module in (stack, snapshots):
        if not isinstance(module.scheduler, _NoLeafPause):
            module.scheduler = _NoLeafPause(scheduler)


# --- real threads instead of green threads ------------------------------------

def serialise_yaql_parsing(cache_size: int = 512) -> None:
    """Put Heat's shared yaql parser behind a lock and cache its results."""
    from heat.engine.hot import functions

    original = functions.Yaql._parse
    if getattr(original, "_serialised", False):
        return
    lock = threading.Lock()
    cache: dict[str, Any] = {}

    def _parse(self: Any, expression: Any) -> Any:
        if not isinstance(expression, str):
            return original(self, expression)
        with lock:
            statement = cache.get(expression)
            if statement is None:
                statement = original(self, expression)
                if len(cache) >= cache_size:
                    cache.clear()
                cache[expression] = statement
        return statement

    _parse._serialised = True  # type: ignore[attr-defined]  # a marker on the function
    functions.Yaql._parse = _parse


def shorten_task_polls(interval: float) -> None:
    """Make resource tasks sleep at most ``interval`` seconds between steps."""
    from heat.engine import scheduler

    if interval >= 1:
        return
    original = scheduler.TaskRunner._sleep
    if getattr(original, "_capped", False):
        return

    def _sleep(self: Any, wait_time: float | None) -> None:
        if scheduler.ENABLE_SLEEP and wait_time:
            time.sleep(min(wait_time, interval))

    _sleep._capped = True  # type: ignore[attr-defined]  # a marker on the function
    scheduler.TaskRunner._sleep = _sleep


def wake_rpc_listeners() -> None:
    """Hand ``fake://`` messages over at once, not at the listener's next look.

    oslo.messaging's in-memory transport has each listener look for a
    message, then sleep 50 ms: every call from the API to the engine, and
    every convergence step the engine casts to its workers, waited up to that
    long (a message broker hands a message over in about a millisecond). A
    delivery now wakes the listeners that saw none; a listener that looked
    before a delivery it missed is not put to sleep.
    """
    from types import SimpleNamespace

    from oslo_messaging._drivers import impl_fake

    exchange = impl_fake.FakeExchange
    if getattr(exchange.deliver_message, "_wakes", False):
        return
    if getattr(impl_fake, "time", None) is not time or not hasattr(exchange, "poll"):
        LOG.warning("oslo.messaging's fake driver changed: its listeners keep "
                    "looking every 50 ms")
        return
    delivered = threading.Condition()
    count = [0]
    looked = threading.local()  # the count when this listener's round of looks began
    deliver, poll = exchange.deliver_message, exchange.poll

    def deliver_message(self: Any, *args: Any, **kwargs: Any) -> None:
        deliver(self, *args, **kwargs)
        with delivered:
            count[0] += 1
            delivered.notify_all()

    def poll_once(self: Any, target: Any, pool: Any) -> Any:
        if getattr(looked, "count", None) is None:
            looked.count = count[0]
        return poll(self, target, pool)

    def sleep(pause: float) -> None:
        with delivered:
            delivered.wait_for(lambda: count[0] != looked.count, timeout=pause)
        looked.count = None

    deliver_message._wakes = True  # type: ignore[attr-defined]  # a marker on the function
    exchange.deliver_message = deliver_message
    exchange.poll = poll_once
    impl_fake.time = SimpleNamespace(time=time.time, sleep=sleep)


# --- WSGI server --------------------------------------------------------------

class _ThreadingWSGIServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


class _QuietHandler(simple_server.WSGIRequestHandler):
    """Request handler that logs one line per request through logging."""

    access_log = _pylogging.getLogger("heat.sandbox.access")

    def log_message(self, fmt: str, *args: Any) -> None:  # noqa: D102 - wsgiref hook
        self.access_log.info("%s %s", self.address_string(), fmt % args)

    def address_string(self) -> str:
        host: str = self.client_address[0]
        return host


def make_api_server(host: str, port: int) -> simple_server.WSGIServer:
    from heat.common import config

    app = config.load_paste_app("heat-api")
    server = simple_server.make_server(host, port, app,
                                       server_class=_ThreadingWSGIServer,
                                       handler_class=_QuietHandler)
    return server


# --- main ---------------------------------------------------------------------

def serve(conf: cfg.ConfigOpts, host: str, port: int,
          poll_interval: float = DEFAULT_POLL_INTERVAL) -> int:
    from heat.common import config
    from heat.common import messaging
    from heat.engine import template
    from heat.rpc import api as rpc_api

    config.set_config_defaults()
    messaging.setup()
    config.startup_sanity_check()
    install_sqlite_listeners()
    disable_leaf_pause()
    shorten_task_polls(poll_interval)
    serialise_yaql_parsing()
    wake_rpc_listeners()
    if not template._get_template_extension_manager().names():
        LOG.critical("no template format plugins registered")
        return 1

    from heat.engine import service as engine_service

    stop_event = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        LOG.info("signal %d received, stopping", signum)
        stop_event.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    started = time.monotonic()
    try:
        # Bind first: a busy port must fail before engine threads exist
        # (they would keep a failed process alive).
        server = make_api_server(host, port)
        engine = engine_service.EngineService(conf.host, rpc_api.ENGINE_TOPIC)
        engine.start()
    except BaseException:  # noqa: BLE001 - report, then exit hard
        LOG.exception("Heat failed to start")
        for handler in _pylogging.getLogger().handlers:
            handler.flush()
        os._exit(1)
    api_thread = threading.Thread(target=server.serve_forever,
                                  kwargs={"poll_interval": 0.5},
                                  name="heat-api", daemon=True)
    api_thread.start()
    LOG.info("Heat API listening on http://%s:%d (pid %d), ready in %.2f s",
             host, port, os.getpid(), time.monotonic() - started)

    while not stop_event.wait(1.0):
        pass

    def shutdown() -> None:
        try:
            server.shutdown()
            server.server_close()
            engine.stop()
        except Exception:  # noqa: BLE001 - exiting anyway
            LOG.exception("error while stopping")

    stopper = threading.Thread(target=shutdown, name="heat-stop", daemon=True)
    stopper.start()
    stopper.join(STOP_GRACE_SECONDS)
    if stopper.is_alive():
        LOG.warning("engine still busy after %.0f s, exiting anyway",
                    STOP_GRACE_SECONDS)
    else:
        LOG.info("stopped")
    for handler in _pylogging.getLogger().handlers:
        try:
            handler.flush()
        except Exception:  # noqa: BLE001
            pass
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not os.path.exists(args.config_file):
        sys.stderr.write("config file not found: %s\n" % args.config_file)
        return 2
    if args.db_sync:
        conf = load_config(args.config_file, "heat-manage")
        db_sync(conf)
        return 0
    conf = load_config(args.config_file, "heat-api")
    if args.init_db:
        db_sync(conf)
    return serve(conf, args.host, args.port, args.poll_interval)


if __name__ == "__main__":
    sys.exit(main())
