"""Local mode against a real Tacker (through remote mode), on the same Heat.

Run: python benchmarks/remote_vs_local.py [--runs N]

Brings up a sandbox with Tacker (``Sandbox.up(tacker=True)``) in a
temporary data directory, onboards Tacker's basic_lcms_min sample and a
variant of it with a resource that always fails into both backends, and in
each run measures, from the library call to ``wait()`` returning:

  instantiate           instantiation_level_1 (VDU1 x1, VDU2)
  scale out             VDU1_scale by one step
  terminate             FORCEFUL
  failing instantiate   the variant: CREATE_FAILED -> FAILED_TEMP
  rollback              of that occurrence -> ROLLED_BACK

Next to each wall time it prints Heat's own time for the same stack action,
read from heat.log: from the first line of the request that started the
action to ``Stack <ACTION> COMPLETE|FAILED (<stack>)``. Each operation starts
after a second of quiet (:data:`SETTLE`). The sandbox is brought down at the
end, whatever happens.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LEVEL_1 = {"flavourId": "simple", "instantiationLevelId": "instantiation_level_1"}
SAMPLE_VNFD = "b1bb0ce7-ebca-4fa7-95ed-4840d7000000"
TIMEOUT = 300.0
#: Seconds of quiet before each timed operation, for either backend: the two
#: share one machine, and Tacker's conductor goes on working (and Heat with
#: it) for a moment after an operation has ended.
SETTLE = 1.0
_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+) \d+ \w+ (\S+) "
                   r"\[(\S+ )?(req-[0-9a-f-]+)")


def failing_variant(workdir: Path, sample: Path) -> Path:
    """The sample with its own vnfdId and a resource that always fails."""
    vnfd_id = str(uuid.uuid4())
    root = workdir / f"failing-{vnfd_id[:8]}"
    shutil.copytree(sample, root)
    for path in (root / "Definitions").glob("*.yaml"):
        path.write_text(path.read_text().replace(SAMPLE_VNFD, vnfd_id))
    hot = root / "BaseHOT" / "simple" / "sample2.yaml"
    hot.write_text(hot.read_text().replace(
        "\nresources:\n", "\nresources:\n  always_fails:\n    type: OS::Heat::TestResource\n"
        "    properties:\n      fail: true\n"))
    return root


def heat_time(log: Path, offset: int, action: str, stack_name: str) -> float | None:
    """Heat's own time for ``action`` on ``stack_name`` in the log after ``offset``."""
    with open(log, errors="replace") as f:
        f.seek(offset)
        lines = f.read().splitlines()
    final = re.compile(rf"Stack {action} (COMPLETE|FAILED) \({re.escape(stack_name)}\)")
    first_seen: dict[str, float] = {}
    for line in lines:
        match = _LINE.match(line)
        if not match:
            continue
        when = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S.%f").timestamp()
        request = match.group(4)
        first_seen.setdefault(request, when)
        if final.search(line):
            return when - first_seen[request]
    return None


class Backend:
    """One backend (local or remote) with its package and variant onboarded."""

    def __init__(self, label: str, client: Any, sandbox: Any, sample: Path,
                 variant: Path, stack_name: Callable[[Any], str]) -> None:
        self.label = label
        self.client = client
        self.log = sandbox.log_files()["heat"]
        self.stack_name = stack_name
        packages = client.packages
        self.package = packages.upload_package(packages.create_package().id, str(sample))
        self.variant = packages.upload_package(packages.create_package().id, str(variant))

    def timed(self, action: str, name: str, call: Callable[[], Any]) -> tuple[dict, Any]:
        time.sleep(SETTLE)
        offset = self.log.stat().st_size
        began = time.monotonic()
        op = call()
        done = self.client.lcm.wait(op.id, timeout=TIMEOUT)
        wall = time.monotonic() - began
        time.sleep(0.2)
        return {"wall": wall, "heat": heat_time(self.log, offset, action, name),
                "state": done.state.value}, done

    def run(self) -> dict[str, dict]:
        lcm, vnfs = self.client.lcm, self.client.vnfs
        out: dict[str, dict] = {}
        vnf = vnfs.create_vnf(self.package.vnfd_id, name=f"bench-{uuid.uuid4().hex[:6]}")
        name = self.stack_name(vnf)
        out["instantiate"], _ = self.timed("CREATE", name,
                                           lambda: lcm.instantiate(vnf.id, LEVEL_1))
        name = self.stack_name(vnfs.get_vnf(vnf.id))
        out["scale out"], _ = self.timed(
            "UPDATE", name, lambda: lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale", 1))
        out["terminate"], _ = self.timed("DELETE", name,
                                         lambda: lcm.terminate(vnf.id, "FORCEFUL"))
        vnfs.delete_vnf(vnf.id)
        bad = vnfs.create_vnf(self.variant.vnfd_id, name=f"bench-f-{uuid.uuid4().hex[:6]}")
        name = self.stack_name(bad)
        out["failing instantiate"], failed = self.timed(
            "CREATE", name, lambda: lcm.instantiate(bad.id, LEVEL_1))
        out["rollback"], _ = self.timed("DELETE", name, lambda: lcm.rollback(failed.id))
        vnfs.delete_vnf(bad.id)
        return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1, help="runs per backend")
    parser.add_argument("--local-only", action="store_true",
                        help="measure local mode alone (no Tacker: a quicker look "
                             "at local mode's overhead over Heat)")
    args = parser.parse_args()

    from nfvlib import Client
    from nfvlib.config import Paths
    from nfvlib.sandbox.manager import Sandbox
    from tests.data import TACKER_SAMPLE

    work = Path(tempfile.mkdtemp(prefix="nfv-bench-"))
    sandbox = Sandbox(Paths.from_env(data_dir=work / "data"))
    try:
        began = time.monotonic()
        sandbox.up(tacker=not args.local_only)
        print(f"sandbox up in {time.monotonic() - began:.1f} s", flush=True)
        variant = failing_variant(work, TACKER_SAMPLE)
        local = Client("local", paths=sandbox.paths)
        backends = [
            Backend("local", local, sandbox, TACKER_SAMPLE, variant,
                    lambda vnf: vnf.stack_name or f"vnf-{vnf.id}")]
        if not args.local_only:
            backends.append(Backend("tacker", sandbox.tacker_client(), sandbox,
                                    TACKER_SAMPLE, failing_variant(work, TACKER_SAMPLE),
                                    lambda vnf: f"vnf-{vnf.id}"))
        results: dict[str, list[dict]] = {b.label: [] for b in backends}
        for _ in range(args.runs):
            for backend in backends:
                results[backend.label].append(backend.run())
    finally:
        sandbox.down()
        shutil.rmtree(work, ignore_errors=True)

    def med(values: list) -> float | None:
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None

    def fmt(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    ops = ["instantiate", "scale out", "terminate", "failing instantiate", "rollback"]
    print(f"\nmedian of {args.runs} run(s), seconds; overhead = wall - Heat; "
          "bound = 1.10 x local Heat + 0.3\n")
    print(f"| {'operation':<20}| local wall | local Heat | local overhead | bound "
          f"| Tacker wall | Tacker Heat | Tacker overhead | local/Tacker overhead |")
    print("|" + "|".join("-" * w for w in (21, 12, 12, 16, 7, 13, 13, 17, 22)) + "|")
    for op in ops:
        row = []
        overheads = []
        bound = "-"
        for label in ("local", "tacker"):
            if label not in results:
                row += ["-", "-", "-"]
                overheads.append(None)
                continue
            wall = med([r[op]["wall"] for r in results[label]])
            heat = med([r[op]["heat"] for r in results[label]])
            over = wall - heat if wall is not None and heat is not None else None
            overheads.append(over)
            row += [fmt(wall), fmt(heat), fmt(over)]
            if label == "local" and wall is not None and heat is not None:
                limit = 1.10 * heat + 0.3
                bound = f"{limit:.2f} {'met' if wall <= limit else 'missed'}"
        ratio = (f"{overheads[0] / overheads[1]:.2f}"
                 if None not in overheads and overheads[1] > 0 else "-")
        print(f"| {op:<20}| {row[0]:>10} | {row[1]:>10} | {row[2]:>14} | {bound} "
              f"| {row[3]:>11} | {row[4]:>11} | {row[5]:>15} | {ratio:>20} |")
    print("\neach run's overhead (wall - Heat), in order:")
    for label, runs in results.items():
        for op in ops:
            each = ["-" if r[op]["heat"] is None else f"{r[op]['wall'] - r[op]['heat']:.2f}"
                    for r in runs]
            print(f"  {label:<7}{op:<21}{' '.join(each)}")
    states = {label: {op: sorted({r[op]["state"] for r in runs}) for op in ops}
              for label, runs in results.items()}
    print(f"\nend states: {states}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
