"""Lists at scale: `nfv vnflcm list` over 10,000 VNF instances and `nfv vnflcm
op list --filter` over 100,000 operation occurrences, in local mode.

Run: python benchmarks/lcm_lists.py [--vnfs N] [--op-occs N] [--runs N]
Seeds a temporary store (half the instances INSTANTIATED with two VNFCs each,
occurrences with a six-step journal), then prints the median wall time of
each command (a process from start to exit, bytecode compiled as an installed
package has it) and of the library call under it. Goals: 0.5 s for the VNF
list, 0.3 s for the filtered occurrence list; exits 1 when one is missed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from cli_startup import median_times  # the same interleaved wall-time medians

FILTER = "(eq,operationState,FAILED_TEMP);(eq,operation,SCALE)"
GOALS = {"vnflcm list": 0.5, "vnflcm op list --filter": 0.3}


def seed(data_dir: Path, vnfs: int, op_occs: int) -> None:
    """Store the package, instances and occurrences directly, in one transaction."""
    from nfvlib.models import (InstantiationState, OnboardingState, Operation, OpOccRecord,
                               OpState, OpStep, PackageInfo, VnfcInfo, VnfInstance)
    from nfvlib.store import Store
    from nfvlib.store.lcm import OpOccTable, PackageTable, VnfTable

    store = Store(data_dir / "nfv.sqlite")
    now = "2026-01-01T00:00:00+00:00"
    package = PackageInfo(id=str(uuid.uuid4()), onboarding_state=OnboardingState.ONBOARDED,
                          operational_state="ENABLED", usage_state="IN_USE",
                          vnfd_id=str(uuid.uuid4()), vnf_provider="Company",
                          vnf_product_name="Sample VNF", vnf_software_version="1.0",
                          vnfd_version="1.0", created_at=now)
    operations = [Operation.INSTANTIATE, Operation.SCALE, Operation.HEAL,
                  Operation.TERMINATE]
    states = [OpState.COMPLETED, OpState.COMPLETED, OpState.FAILED_TEMP,
              OpState.ROLLED_BACK, OpState.PROCESSING]
    final = [OpState.COMPLETED, OpState.FAILED, OpState.ROLLED_BACK]
    steps = tuple(OpStep(name=name, status="DONE", started_at=now, ended_at=now,
                         attempts=1)
                  for name in ("validate", "lock", "create stack", "wait for stack",
                               "read VNFCs", "finish"))
    ids = []
    with store.transaction() as conn:
        PackageTable(store).insert(conn, package)
        table = VnfTable(store)
        for i in range(vnfs):
            instantiated = i % 2 == 0
            vnf = VnfInstance(
                id=str(uuid.uuid4()), vnfd_id=package.vnfd_id, package_id=package.id,
                instantiation_state=(InstantiationState.INSTANTIATED if instantiated
                                     else InstantiationState.NOT_INSTANTIATED),
                name=f"vnf{i}", description="benchmark instance",
                vim_id=str(uuid.uuid4()) if instantiated else None,
                region="RegionOne" if instantiated else None,
                flavour_id="simple" if instantiated else None,
                instantiation_level_id="instantiation_level_1" if instantiated else None,
                stack_id=str(uuid.uuid4()) if instantiated else None,
                scale_status={"VDU1_scale": 0} if instantiated else {},
                vnfc=tuple(VnfcInfo(id=str(uuid.uuid4()), vdu_id=f"VDU{n}",
                                    resource_name=f"VDU{n}",
                                    resource_type="OS::Nova::Server",
                                    status="CREATE_COMPLETE")
                           for n in (1, 2)) if instantiated else (),
                created_at=now, updated_at=now)
            table.insert(conn, vnf)
            ids.append(vnf.id)
        table = OpOccTable(store)
        for i in range(op_occs):
            table.insert(conn, OpOccRecord(
                id=str(uuid.uuid4()), vnf_instance_id=ids[i % len(ids)],
                operation=operations[i % len(operations)],
                # At most one occurrence of an instance is not final.
                state=states[i % len(states)] if i < len(ids) else final[i % len(final)],
                start_time=now, state_entered_time=now,
                request={"flavourId": "simple"}, steps=steps, current_step=5))
    store.close()


def library_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vnfs", type=int, default=10_000)
    parser.add_argument("--op-occs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    nfv = shutil.which("nfv", path=str(bindir)) or shutil.which("nfv")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        start = time.perf_counter()
        seed(data_dir, args.vnfs, args.op_occs)
        print(f"seeded {args.vnfs} VNFs and {args.op_occs} occurrences in "
              f"{time.perf_counter() - start:.1f} s")
        env = dict(os.environ, NFV_DATA_DIR=str(data_dir),
                   PYTHONPYCACHEPREFIX=str(data_dir / "pycache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        listed = subprocess.run([nfv, "vnflcm", "list", "-f", "value", "-c", "ID"],
                                env=env, capture_output=True, text=True, check=True)
        assert len(listed.stdout.splitlines()) == args.vnfs, "vnflcm list lost rows"
        filtered = subprocess.run([nfv, "vnflcm", "op", "list", "--filter", FILTER,
                                   "-f", "value", "-c", "ID"],
                                  env=env, capture_output=True, text=True, check=True)
        matches = len(filtered.stdout.splitlines())
        assert 0 < matches < args.op_occs, f"the filter matched {matches}"
        rows = [("vnflcm list", [nfv, "vnflcm", "list"]),
                ("vnflcm list -f json", [nfv, "vnflcm", "list", "-f", "json"]),
                ("vnflcm op list --filter", [nfv, "vnflcm", "op", "list",
                                             "--filter", FILTER]),
                ("vnflcm op list --filter -f json", [nfv, "vnflcm", "op", "list",
                                                     "--filter", FILTER, "-f", "json"])]
        medians = dict(zip([label for label, _ in rows],
                           median_times([argv for _, argv in rows], args.runs, env)))

        import nfvlib

        client = nfvlib.Client(paths=nfvlib.Paths.from_env({"HOME": tmp},
                                                           data_dir=data_dir))
        lib_vnfs = library_time(client.vnfs.list_vnfs, args.runs)
        lib_ops = library_time(lambda: client.lcm.list_op_occs(filter=FILTER), args.runs)
        from nfvlib.paging import encode_marker

        last = client.lcm.list_op_occs()[-(args.op_occs // 100) - 1]
        deep = encode_marker((last.start_time, last.id))
        lib_first = library_time(client.lcm.page_op_occs, args.runs)
        lib_deep = library_time(lambda: client.lcm.page_op_occs(marker=deep), args.runs)
        client.close()

        print(f"median of {args.runs} runs, seconds ({matches} occurrences match "
              f"{FILTER})")
        for label, median in medians.items():
            goal = GOALS.get(label)
            verdict = "" if goal is None else (f"  goal <= {goal}: "
                                               + ("ok" if median <= goal else "MISSED"))
            print(f"  nfv {label:<34} {median:.3f}{verdict}")
        print(f"  library list_vnfs()                    {lib_vnfs:.3f}")
        print(f"  library list_op_occs(filter=...)       {lib_ops:.3f}")
        print(f"  library page_op_occs() first page     {lib_first:.3f}")
        print(f"  library page_op_occs() page at 99%    {lib_deep:.3f}")
        if any(medians[label] > goal for label, goal in GOALS.items()):
            sys.exit(1)


if __name__ == "__main__":
    main()
