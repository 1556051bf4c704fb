"""Wall time of local-mode LCM operations next to Heat's own time for them.

Run: python benchmarks/lcm_wait.py [--runs N]

Brings up a sandbox (Keystone and Heat) in a temporary data directory, with
the virtualenvs of the nfvkit cache, onboards the sample VNF and, in each
run, measures these operations, each from the library call to ``wait()``
returning (``wait``'s default polling):

  a   instantiate (instantiation_level_1)
  b   scale out VDU1_scale by one step
  c1  instantiate on a VIM whose Heat environment makes VDU2 fail (FAILED_TEMP)
  c2  rollback of c1 (Heat deletes the stack)
  d   terminate the VNF of a and b

Next to each wall time it prints Heat's own time for the same stack action,
their ratio and difference, PASS/FAIL against wall <= 1.10 x heat + 0.3 s,
the number of HTTP requests Heat served, and where the overhead went. The
sandbox is brought down at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from nfvlib import heat as heat_driver

RATIO_TARGET = 1.10
SLACK_TARGET = 0.3
LEVEL_1 = {"flavourId": "simple", "instantiationLevelId": "instantiation_level_1"}
FAULTY_VIM = "bench-faulty"

#: Schedules of a stack poll loop, (first pause, cap, factor): the library's
#: (heat_driver.POLL_FIRST, heat_driver.POLL_CAP, 1.5) and alternatives, for the model.
SCHEDULES = {"now": (heat_driver.POLL_FIRST, heat_driver.POLL_CAP, 1.5), "0.1/0.5": (0.1, 0.5, 1.5),
             "0.1/0.25": (0.1, 0.25, 1.5), "0.2 flat": (0.2, 0.2, 1.0)}

# oslo.log lines of heat.log: "2026-01-01 10:00:00.123 PID LEVEL logger [ctx] message"
_HEAT_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{3}) \d+ \w+ (\S+) "
                        r"\[([^\]]*)\] (.*)$")
# logging lines of a worker: "2026-01-01 10:00:00,123 PID LEVEL logger: message"
_WORKER_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d{3}) \d+ \w+ \S+: (.*)$")
_ACCESS = re.compile(r'"(\w+) (\S+) HTTP/[\d.]+" (\d{3})')
_PROCESSING = re.compile(r"^Processing request: (\w+) (\S+)")
_STACK_PATH = re.compile(r"/stacks/[^/?]+(?:/[^/?]+)?(?:\?.*)?$")

#: The request that starts each stack action.
_STARTS = {"CREATE": ("POST", re.compile(r"/stacks$")),
           "UPDATE": ("PATCH", _STACK_PATH),
           "DELETE": ("DELETE", _STACK_PATH)}


def local_ts(date: str, millis: str) -> float:
    """A local-time log timestamp as seconds since the epoch."""
    return time.mktime(time.strptime(date, "%Y-%m-%d %H:%M:%S")) + int(millis) / 1000


def size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def new_lines(path: Path, offset: int) -> list[str]:
    """The complete lines appended to ``path`` since byte ``offset``."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return []
    text = data.decode("utf-8", "replace")
    return text[:text.rfind("\n") + 1].splitlines()


@dataclass
class Record:
    ts: float
    logger: str
    context: str
    message: str


def heat_records(path: Path, offset: int) -> list[Record]:
    records = []
    for line in new_lines(path, offset):
        m = _HEAT_LINE.match(line)
        if m:
            records.append(Record(local_ts(m[1], m[2]), m[3], m[4], m[5]))
    return records


def worker_end(log: Path, offset: int, timeout: float = 15.0) -> float | None:
    """When the worker logged that the occurrence ended (it may lag wait())."""
    deadline = time.monotonic() + timeout
    while True:
        for line in new_lines(log, offset):
            m = _WORKER_LINE.match(line)
            if m and m[3].startswith("occurrence ") and " ended " in m[3]:
                return local_ts(m[1], m[2])
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.05)


@dataclass
class Request:
    """One HTTP request Heat served: method, path, status, start and end."""

    method: str
    path: str
    status: int
    start: float
    end: float


def heat_requests(records: list[Record]) -> list[Request]:
    """The requests that began in the window, with their start and end.

    A 'Processing request' line and an access line belong together when
    they carry the same request context.
    """
    started: dict[str, tuple[float, str, str]] = {}
    done = []
    for r in records:
        if r.logger == "heat.common.wsgi":
            m = _PROCESSING.match(r.message)
            if m:
                started[r.context] = (r.ts, m[1], m[2])
        elif r.logger == "heat.sandbox.access":
            m = _ACCESS.search(r.message)
            # Skip "GET /" version probes, and requests that began before the
            # window: an access line is written after the answer is sent, so
            # the caller's last request may be logged after the window opened.
            if m and m[2].startswith("/v1/") and r.context in started:
                done.append(Request(m[1], m[2], int(m[3]), started.pop(r.context)[0], r.ts))
    return done


@dataclass
class Sample:
    """One operation of one run."""

    op: str
    state: str
    wall: float
    heat: float | None = None
    heat_events: float | None = None
    requests: int = 0
    redirects: int = 0
    polls: int = 0
    auths: int = 0
    segments: dict[str, float] = field(default_factory=dict)
    model: dict[str, tuple[float, float]] = field(default_factory=dict)
    poll_rtt: float | None = None


SEGMENTS = [("request", "library call returns (checks, store, spawn)"),
            ("boot", "call returned -> worker's first Heat request arrives"),
            ("pre", "first Heat request -> the action's request arrives"),
            ("heat", "the action's request arrives -> Heat logs it COMPLETE/FAILED"),
            ("poll", "Heat done -> the worker's stack poll that sees it returns"),
            ("post", "that poll returns -> worker logs the occurrence ended"),
            ("wait", "worker ended -> wait() returns")]


def simulate(first_poll: float, heat_end: float, rtt: float,
             schedule: tuple[float, float, float]) -> tuple[float, int]:
    """(detection lag, polls) of a poll loop with ``schedule`` (model)."""
    first, cap, factor = schedule
    t, pause, polls = first_poll, first, 0
    while True:
        polls += 1
        if t >= heat_end:
            return t + rtt - heat_end, polls
        t += rtt + pause
        pause = min(pause * factor, cap)


def expected(first_poll: float, heat_end: float, rtt: float,
             schedule: tuple[float, float, float], spread: float = 0.5,
             points: int = 41) -> tuple[float, float]:
    """:func:`simulate` averaged over Heat ending up to ``spread`` s earlier or later.

    One run's lag depends on where the end falls between two polls; the
    average over that phase is what a schedule costs for actions this long.
    """
    lags, polls = [], []
    for i in range(points):
        end = max(first_poll, heat_end + spread * (2 * i / (points - 1) - 1))
        lag, count = simulate(first_poll, end, rtt, schedule)
        lags.append(lag)
        polls.append(count)
    return statistics.fmean(lags), statistics.fmean(polls)


class Bench:
    """The sandbox, the library client and what each measurement needs."""

    def __init__(self, sandbox: Any, client: Any, package: Any, timeout: float) -> None:
        from nfvlib.heat import HeatClient

        self.sandbox = sandbox
        self.client = client
        self.package = package
        self.timeout = timeout
        self.heat_log = sandbox.log_files()["heat"]
        self.keystone_log = sandbox.log_files()["keystone"]
        self.workers = sandbox.paths.data_dir / "workers"
        vim = client.vims.find_vim("sandbox")
        self.heat = HeatClient(client.vims.session(vim), region_name=vim.regions[0])

    def measure(self, label: str, action: str, stack_name: str,
                call: Callable[[], Any], op_id: str | None = None) -> tuple[Sample, Any]:
        """Run ``call`` (a library request), wait, and take the figures apart."""
        heat_off, ks_off = size(self.heat_log), size(self.keystone_log)
        worker_off = size(self.workers / f"{op_id}.log") if op_id else 0
        t0 = time.time()
        op = call()
        t1 = time.time()
        done = self.client.lcm.wait(op.id, timeout=self.timeout)
        t2 = time.time()
        ended = worker_end(self.workers / f"{op.id}.log", worker_off)
        time.sleep(0.2)  # Heat writes an access line just after its answer
        records = heat_records(self.heat_log, heat_off)
        requests = heat_requests(records)
        sample = Sample(label, done.state.value, t2 - t0)
        sample.requests = len(requests)
        sample.redirects = sum(1 for r in requests if r.status == 302)
        sample.auths = sum(1 for line in new_lines(self.keystone_log, ks_off)
                           if "password_hashing" in line)

        method, path_re = _STARTS[action]
        start = next((r.start for r in requests
                      if r.method == method and path_re.search(r.path)), None)
        final = re.compile(rf"^Stack {action} (COMPLETE|FAILED) \({re.escape(stack_name)}\)")
        end = next((r.ts for r in records if r.logger == "heat.engine.stack"
                    and final.match(r.message) and (start is None or r.ts >= start)), None)
        polls = [r for r in requests if r.method == "GET" and _STACK_PATH.search(r.path)
                 and r.status != 302 and start is not None and r.start >= start]
        sample.polls = len(polls)
        if start is None or end is None or not requests or ended is None:
            return sample, done
        sample.heat = end - start
        # The poll that saw the end: the first to answer after Heat logged it (a
        # delete is stored before it is logged, so its poll may start a bit earlier).
        seen = next((r.end for r in polls if r.end >= end), None)
        if seen is None:
            return sample, done
        # a poll's time: from its first request (a 302 when polled by id) to its answer
        starts = [r for r in requests if r.method == "GET" and _STACK_PATH.search(r.path)
                  and r.start >= start]
        rtts = [p.end - max((s.start for s in starts if s.start <= p.start), default=p.start)
                for p in polls]
        sample.poll_rtt = statistics.median(rtts) if rtts else None
        first = min((s.start for s in starts), default=None)
        arrived = min(r.start for r in requests)
        sample.segments = {"request": t1 - t0, "boot": arrived - t1,
                           "pre": start - arrived, "heat": end - start,
                           "poll": seen - end, "post": ended - seen, "wait": t2 - ended}
        if first is not None and sample.poll_rtt is not None:
            sample.model = {name: expected(first, end, sample.poll_rtt, schedule)
                            for name, schedule in SCHEDULES.items()}
        return sample, done

    def event_time(self, stack: dict[str, Any], action: str) -> float | None:
        """Heat's stack-level events: last X_IN_PROGRESS -> X_COMPLETE/FAILED (1 s)."""
        from nfvlib.exceptions import NfvError

        try:
            events = self.heat.list_events(stack)
        except NfvError:
            return None
        own = [e for e in events if e.get("resource_name") == stack["stack_name"]]
        began = result = None
        for e in own:
            status = e.get("resource_status", "")
            when = datetime.strptime(e["event_time"], "%Y-%m-%dT%H:%M:%SZ").timestamp()
            if status == f"{action}_IN_PROGRESS":
                began, result = when, None
            elif began is not None and status in (f"{action}_COMPLETE",
                                                  f"{action}_FAILED"):
                result = when - began
        return result


def faulty_vim(client: Any, sandbox: Any) -> str:
    """A second VIM on the sandbox whose Heat environment makes VDU2 fail."""
    import nfvlib
    from nfvlib.sandbox.heat_env import (FAIL_TEMPLATE, SERVER_BODY, SERVER_BODY_TYPE,
                                         _template_text)

    vim = client.vims.find_vim("sandbox")
    environment = dict(vim.extra["heat_environment"])
    environment["resource_registry"] = dict(
        environment["resource_registry"],
        resources={"VDU2": {SERVER_BODY: {SERVER_BODY_TYPE: FAIL_TEMPLATE}}})
    extra = dict(vim.extra, heat_environment=environment,
                 heat_files=dict(vim.extra["heat_files"],
                                 **{FAIL_TEMPLATE: _template_text(FAIL_TEMPLATE)}))
    try:
        client.vims.delete_vim(FAULTY_VIM)
    except nfvlib.NotFound:
        pass
    client.vims.register_vim(FAULTY_VIM, sandbox.vim_config(), extra=extra)
    return FAULTY_VIM


def one_run(bench: Bench, faulty: str, extras: dict[str, list[float]] | None) -> list[Sample]:
    """a, b, d on one VNF; c1, c2 on another. ``extras`` gets the GET costs."""
    client, lcm = bench.client, bench.client.lcm
    samples = []

    def check(sample: Sample, expected: str) -> None:
        if sample.state != expected:
            raise SystemExit(f"{sample.op} ended {sample.state}, not {expected}")
        samples.append(sample)

    vnf = client.vnfs.create_vnf(bench.package.vnfd_id, name=f"b-{uuid.uuid4().hex[:8]}")
    name = vnf.stack_name
    sample, done = bench.measure("a instantiate", "CREATE", name,
                                 lambda: lcm.instantiate(vnf.id, LEVEL_1))
    check(sample, "COMPLETED")
    if extras is not None:
        for _ in range(20):
            start = time.perf_counter()
            lcm.get_op_occ(done.id)
            extras.setdefault("one wait() read (get_op_occ)", []).append(
                time.perf_counter() - start)
    stack = {"stack_name": name, "id": client.vnfs.get_vnf(vnf.id).stack_id}
    sample.heat_events = bench.event_time(stack, "CREATE")

    sample, _ = bench.measure("b scale out", "UPDATE", name,
                              lambda: lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale"))
    check(sample, "COMPLETED")
    sample.heat_events = bench.event_time(stack, "UPDATE")
    if extras is not None:  # an idle, complete stack: what one poll costs
        for key, target in (("Heat GET by id (302 + 200), idle stack", stack["id"]),
                            ("Heat GET by name/id (200), idle stack",
                             f"{name}/{stack['id']}")):
            for _ in range(10):
                start = time.perf_counter()
                bench.heat.get_stack(target)
                extras.setdefault(key, []).append(time.perf_counter() - start)

    sample, _ = bench.measure("d terminate", "DELETE", name,
                              lambda: lcm.terminate(vnf.id, "FORCEFUL"))
    check(sample, "COMPLETED")
    sample.heat_events = bench.event_time(stack, "DELETE")
    client.vnfs.delete_vnf(vnf.id)

    vnf = client.vnfs.create_vnf(bench.package.vnfd_id, name=f"b-{uuid.uuid4().hex[:8]}")
    name = vnf.stack_name
    request = dict(LEVEL_1, vimConnectionInfo={"vim1": {
        "vimId": faulty, "vimType": "ETSINFV.OPENSTACK_KEYSTONE.V_2"}})
    sample, failed = bench.measure("c1 failing instantiate", "CREATE", name,
                                   lambda: lcm.instantiate(vnf.id, request))
    check(sample, "FAILED_TEMP")
    stack = {"stack_name": name, "id": bench.heat.get_stack(name)["id"]}
    sample.heat_events = bench.event_time(stack, "CREATE")
    sample, _ = bench.measure("c2 rollback", "DELETE", name,
                              lambda: lcm.rollback(failed.id), op_id=failed.id)
    check(sample, "ROLLED_BACK")
    sample.heat_events = bench.event_time(stack, "DELETE")
    client.vnfs.delete_vnf(vnf.id)
    # samples in the order of the table
    return sorted(samples, key=lambda s: s.op)


def timed(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       check=True, timeout=60)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def components(bench: Bench, runs: int = 5) -> dict[str, float]:
    """What the worker pays before it reaches Heat, one part at a time."""
    from nfvlib.lcm.scripts import run_script
    from nfvlib.packages import load_package

    client = bench.client
    bare = timed([sys.executable, "-c", "pass"], runs)
    spawn = timed([sys.executable, "-m", "nfvlib.lcm.worker", "--help"], runs)
    imports = timed([sys.executable, "-c",
                     "import nfvlib.lcm.worker, nfvlib.lcm.services, nfvlib.lcm.plans, "
                     "nfvlib.lcm.heat_params, nfvlib.heat, keystoneauth1.session, "
                     "keystoneauth1.adapter"], runs)
    vim = client.vims.find_vim("sandbox")
    auth = []
    for _ in range(runs):
        start = time.perf_counter()
        client.vims.session(vim).get_token()
        auth.append(time.perf_counter() - start)
    info = client.packages.get_package(bench.package.id)
    loads = []
    for _ in range(runs):
        start = time.perf_counter()
        load_package(info.path)
        loads.append(time.perf_counter() - start)
    package = client.packages.load(info)
    script = package.flavours["simple"].lifecycle["instantiate_start"]
    scripts = []
    for _ in range(runs):
        start = time.perf_counter()
        run_script(package.path, script, "instantiate_start", {"vnf_instance_id": "x"})
        scripts.append(time.perf_counter() - start)
    return {"python -c pass": bare,
            "spawn: python -m nfvlib.lcm.worker --help": spawn,
            "worker imports (python + nfvlib + keystoneauth1)": imports,
            "Keystone session + token (in process)": statistics.median(auth),
            "one lifecycle script (sample_vnf)": statistics.median(scripts),
            "package load, VNFD parse (once per worker)": statistics.median(loads)}


def med(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def fmt(value: float | None, spec: str = ".2f") -> str:
    return "n/a" if value is None else format(value, spec)


def report(samples: list[Sample], parts: dict[str, float],
           extras: dict[str, list[float]], runs: int) -> None:
    ops = sorted({s.op for s in samples})
    by_op = {op: [s for s in samples if s.op == op] for op in ops}
    print(f"\nmedians of {runs} run(s); times in seconds; target: wall <= "
          f"{RATIO_TARGET:.2f} x heat + {SLACK_TARGET} s")
    print("(ratio, over and target are medians of each run's own values; the verdict")
    print(" is on the median margin, 'ok' counts the runs within the target)")
    head = (f"{'operation':<24}{'wall':>7}{'heat':>7}{'heat(ev)':>9}{'ratio':>7}"
            f"{'over':>7}{'target':>8}  {'':<5}{'ok':>4}{'HTTP':>6}{'302s':>5}"
            f"{'polls':>6}{'auths':>6}  walls")
    print(head)
    print("-" * len(head))
    for op, group in by_op.items():
        timed_runs = [s for s in group if s.heat]
        targets = [RATIO_TARGET * s.heat + SLACK_TARGET for s in timed_runs]
        margin = med([s.wall - t for s, t in zip(timed_runs, targets)])
        verdict = "n/a" if margin is None else ("PASS" if margin <= 0 else "FAIL")
        within = sum(1 for s, t in zip(timed_runs, targets) if s.wall <= t)
        events = fmt(med([s.heat_events for s in group]), ".0f")
        print(f"{op:<24}{med([s.wall for s in group]):>7.2f}"
              f"{fmt(med([s.heat for s in group])):>7}{events:>9}"
              f"{fmt(med([s.wall / s.heat for s in timed_runs])):>7}"
              f"{fmt(med([s.wall - s.heat for s in timed_runs])):>7}"
              f"{fmt(med(targets)):>8}  {verdict:<5}{f'{within}/{len(group)}':>4}"
              f"{med([s.requests for s in group]):>6.0f}"
              f"{med([s.redirects for s in group]):>5.0f}"
              f"{med([s.polls for s in group]):>6.0f}{med([s.auths for s in group]):>6.0f}"
              f"  {' '.join(f'{s.wall:.2f}' for s in group)}")

    print("\nwhere the wall time goes (medians; in each run the columns add up to its wall)")
    print(f"{'operation':<24}" + "".join(f"{name:>8}" for name, _ in SEGMENTS)
          + f"{'poll rtt':>10}")
    for op, group in by_op.items():
        row = [med([s.segments.get(name) for s in group]) for name, _ in SEGMENTS]
        print(f"{op:<24}" + "".join(f"{fmt(v):>8}" for v in row)
              + f"{fmt(med([s.poll_rtt for s in group])):>10}")
    for name, text in SEGMENTS:
        print(f"  {name:<8} {text}")

    print("\nstack poll loop: detection lag (s) / stack polls, measured and, modelled, "
          "with (first pause/cap) x1.5:")
    print(f"{'operation':<24}{'measured':>16}" + "".join(f"{name:>16}" for name in SCHEDULES))
    for op, group in by_op.items():
        cells = [f"{fmt(med([s.segments.get('poll') for s in group]))} / "
                 f"{fmt(med([s.polls for s in group]), '.0f')}"]
        for name in SCHEDULES:
            lag = med([s.model[name][0] if name in s.model else None for s in group])
            polls = med([s.model[name][1] if name in s.model else None for s in group])
            cells.append(f"{fmt(lag)} / {fmt(polls, '.1f')}")
        print(f"{op:<24}" + "".join(f"{c:>16}" for c in cells))
    print("  model: polls from the worker's first one, each taking the median poll rtt,")
    print("  averaged over Heat ending +-0.5 s around when it did; measured polls also")
    print("  count the stack GETs after the wait (record, failure reason). Heat's own")
    print("  slow-down from more polls is not modelled.")

    print("\nparts, measured alone (median, ms)")
    for name, value in parts.items():
        print(f"  {name:<52} {value * 1000:8.2f}")
    for name, values in extras.items():
        print(f"  {name:<52} {statistics.median(values) * 1000:8.2f}")

    print("\nmethod")
    print("  wall: time.time() before the library call to wait() returning.")
    print("  heat: from heat.log (ms): the 'Processing request' line of the POST /stacks,")
    print("    PATCH or DELETE that starts the action, to the engine's line 'Stack ACTION")
    print("    COMPLETE|FAILED (<stack name>)'. Heat's API gives event_time and")
    print("    creation/updated_time in whole seconds only, so the stack-level events")
    print("    (resource_name == stack name, last ACTION_IN_PROGRESS -> ACTION_COMPLETE|")
    print("    FAILED) are shown as heat(ev), a cross-check good to +-1 s.")
    print("  HTTP: heat.log access lines (heat.sandbox.access) written between the call")
    print("    and wait() returning; this Heat serves nobody else meanwhile. 302s: the")
    print("    redirects among them (a stack looked up by id or name); polls: stack GETs")
    print("    from the action's request on. auths: Keystone password checks (its")
    print("    'password_hashing' log line) in the same window.")
    print("  segments: timestamps of Heat's log, the worker's log and this process;")
    print("    all on this machine's clock.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=300,
                        help="seconds one operation may take (default 300)")
    args = parser.parse_args()

    import nfvlib
    from nfvlib.config import Paths
    from nfvlib.sandbox.manager import Sandbox

    with tempfile.TemporaryDirectory(prefix="nfv-lcm-wait-") as tmp:
        sandbox = Sandbox(Paths.from_env(data_dir=tmp))
        client = None
        try:
            started = time.perf_counter()
            sandbox.up()
            print(f"sandbox up in {time.perf_counter() - started:.1f} s "
                  f"(data directory {tmp})", flush=True)
            client = nfvlib.Client(paths=sandbox.paths)
            info = client.packages.create_package({"benchmark": "lcm_wait"})
            package = client.packages.upload_package(
                info.id, str(Path(nfvlib.__file__).parent / "samples" / "sample_vnf"))
            bench = Bench(sandbox, client, package, args.timeout)
            faulty = faulty_vim(client, sandbox)
            samples: list[Sample] = []
            extras: dict[str, list[float]] = {}
            for run in range(args.runs):
                got = one_run(bench, faulty, extras if run == 0 else None)
                samples += got
                print(f"run {run + 1}: " + ", ".join(f"{s.op.split()[0]} {s.wall:.2f} s"
                                                     for s in got), flush=True)
            parts = components(bench)
            report(samples, parts, extras, args.runs)
        finally:
            if client is not None:
                client.close()
            print(f"sandbox down: {sandbox.down()}")


if __name__ == "__main__":
    main()
