"""Notification delivery to 100 subscribers of one occurrence.

Run: python benchmarks/notifications.py [--subscribers N] [--runs N]

Runs one operation occurrence through the real plan runner and store (a
plan of five steps of 0.2 s each standing for Heat's waits), watched from
another thread as ``vnflcm ... --wait`` watches it (store reads every
millisecond), first with no subscription and then with N subscriptions whose
callbacks are a real HTTP server on 127.0.0.1. It prints:

- the time from the COMPLETED state change (its commit) to the last 204 of
  its notifications (target: all within 1 s);
- the operation's wall time, from the request to the observed COMPLETED,
  without and with the subscribers (target: not more than 5 % slower).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from nfvlib.lcm import engine, notify
from nfvlib.lcm.notify import LocalSubscriptions
from nfvlib.models import Operation, OpOcc, OpState, OpStep
from nfvlib.store import Store
from nfvlib.store.lcm import OpOccTable
from nfvlib.vault import Vault

STEPS = 5
STEP_SECONDS = 0.2
DELIVERY_TARGET = 1.0
SLOWDOWN_TARGET = 0.05


class Receiver:
    """Answers GET and POST with 204 and notes when each COMPLETED body came."""

    def __init__(self) -> None:
        self.completed: list[float] = []
        self.count = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802
                self.send_response(204)
                self.end_headers()

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver.count += 1
                if body["operationState"] == "COMPLETED":
                    receiver.completed.append(time.perf_counter())
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def _plan(op):
    def wait(ctx):
        time.sleep(STEP_SECONDS)
    return [engine.Step(f"step {i}", wait) for i in range(STEPS)]


def run_once(store: Store) -> tuple[float, float]:
    """(wall time to observed COMPLETED, perf_counter of the COMPLETED commit)."""
    table = OpOccTable(store)
    now = time.time()
    op = OpOcc(id=str(uuid.uuid4()), vnf_instance_id=str(uuid.uuid4()),
               operation=Operation.INSTANTIATE, state=OpState.STARTING,
               start_time=engine.iso(now), state_entered_time=engine.iso(now),
               steps=tuple(OpStep(f"step {i}") for i in range(STEPS)))
    committed: list[float] = []
    real_kick = notify.kick

    def kick(store_, changed=None):
        if changed is not None and changed.state is OpState.COMPLETED:
            committed.append(time.perf_counter())
        real_kick(store_, changed)

    notify.kick = kick
    start = time.perf_counter()
    with store.transaction() as conn:
        table.insert(conn, op)
        notify.record(conn, op)
    seen: list[float] = []

    def watch():
        watcher = Store(store.path)
        while watcher.conn.execute("SELECT state FROM op_occs WHERE id = ?",
                                   (op.id,)).fetchone()[0] != "COMPLETED":
            time.sleep(0.001)
        seen.append(time.perf_counter())
        watcher.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        engine.PlanRunner(store, _plan, renew=False).run(op.id)
    finally:
        notify.kick = real_kick
    watcher.join()
    return seen[0] - start, committed[0] if committed else seen[0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "nfv.sqlite")
        vault = Vault(Path(tmp) / "keys")
        plain = [run_once(store)[0] for _ in range(args.runs)]
        receiver = Receiver()
        subs = LocalSubscriptions(store, vault)
        for i in range(args.subscribers):
            subs.create_subscription({"callbackUri": f"{receiver.url}/cb{i}"})
        walls, deliveries = [], []
        for _ in range(args.runs):
            receiver.completed.clear()
            wall, committed = run_once(store)
            end = time.monotonic() + 10
            while len(receiver.completed) < args.subscribers and time.monotonic() < end:
                time.sleep(0.001)
            walls.append(wall)
            deliveries.append(max(receiver.completed) - committed
                              if len(receiver.completed) == args.subscribers
                              else float("inf"))
        store.close()
    base, loaded = statistics.median(plain), statistics.median(walls)
    slowdown = loaded / base - 1
    delivery = max(deliveries)
    print(f"operation wall time, no subscribers:   {base:.3f} s (median of {args.runs})")
    print(f"operation wall time, {args.subscribers} subscribers: {loaded:.3f} s "
          f"({slowdown:+.1%}; target <= +{SLOWDOWN_TARGET:.0%}) "
          f"{'PASS' if slowdown <= SLOWDOWN_TARGET else 'FAIL'}")
    print(f"COMPLETED committed -> last of {args.subscribers} 204s: "
          f"{', '.join(f'{d:.3f}' for d in deliveries)} s (target <= "
          f"{DELIVERY_TARGET:.1f} s) {'PASS' if delivery <= DELIVERY_TARGET else 'FAIL'}")
    print(f"notifications received: {receiver.count}")
    return 0 if delivery <= DELIVERY_TARGET and slowdown <= SLOWDOWN_TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
