"""Cold start of `nfv vim list` with 100 VIMs in the store, against cliff's floor.

Run: python benchmarks/cli_startup.py [--runs N]
Prints the median wall time of `nfv vim list`, side by side with
`python -c 'import cliff.app'` (the start of any cliff command line), their
ratio (the goal: at most 1.5), `python -c pass` and `openstack vim list
--help` (when python-openstackclient is installed). The runs alternate between
the commands so that a busy machine slows them alike. Exits 1 when the ratio
is over the goal.
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
from pathlib import Path


def seed(data_dir: Path, count: int) -> None:
    """Store ``count`` VIMs with real vault keys, without contacting Keystone."""
    from datetime import datetime, timezone
    from uuid import uuid4

    from nfvlib.models import Vim, VimCredentials, VimStatus
    from nfvlib.store import Store
    from nfvlib.store.vims import VimTable
    from nfvlib.vault import Vault

    store, vault = Store(data_dir / "nfv.sqlite"), Vault(data_dir / "keys")
    table = VimTable(store)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with store.transaction() as conn:
        for i in range(count):
            key_id = vault.new_key()
            vim = Vim(id=str(uuid4()), name=f"site{i}", tenant_id="local",
                      credentials=VimCredentials(
                          auth_url=f"http://10.0.{i // 250}.{i % 250}:5000/v3",
                          username="admin", project_name="admin"),
                      regions=("RegionOne", "RegionTwo"),
                      status=VimStatus.REACHABLE, created_at=now)
            table.insert(conn, vim, key_id, vault.encrypt(key_id, "pw"))
    store.close()


def median_times(commands: list[list[str]], runs: int,
                 env: dict[str, str]) -> list[float]:
    """Median wall time of each command, the runs interleaved."""
    samples: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for argv, times in zip(commands, samples):
            start = time.perf_counter()
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, check=True)
            times.append(time.perf_counter() - start)
    return [statistics.median(times) for times in samples]


#: nfv may take this many times cliff's floor to start.
GOAL = 1.5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--vims", type=int, default=100)
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    nfv = shutil.which("nfv", path=str(bindir)) or shutil.which("nfv")
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        seed(data_dir, args.vims)
        # Bytecode as an installed package has it (pip compiles it at install
        # time), kept out of the source tree.
        env = dict(os.environ, NFV_DATA_DIR=str(data_dir),
                   PYTHONPYCACHEPREFIX=str(data_dir / "pycache"))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        out = subprocess.run([nfv, "vim", "list", "-f", "value"], env=env,
                             capture_output=True, text=True, check=True).stdout
        assert len(out.splitlines()) == args.vims, "nfv vim list lost rows"
        floor = ("python -c 'import cliff.app'", [sys.executable, "-c", "import cliff.app"])
        rows = [("python -c pass", [sys.executable, "-c", "pass"]), floor,
                (f"nfv vim list ({args.vims} VIMs)", [nfv, "vim", "list"]),
                (f"nfv vim list -f json ({args.vims} VIMs)",
                 [nfv, "vim", "list", "-f", "json"]),
                ("nfv --version", [nfv, "--version"])]
        openstack = shutil.which("openstack", path=str(bindir)) or shutil.which("openstack")
        if openstack:
            rows.append(("openstack vim list --help",
                         [openstack, "vim", "list", "--help"]))
        medians = median_times([argv for _, argv in rows], args.runs, env)
        base = medians[1]
        print(f"median of {args.runs} interleaved runs, seconds (x: times cliff's floor)")
        for (label, _), median in zip(rows, medians):
            print(f"  {label:<36} {median:.3f}  {median / base:4.2f}x")
        if not openstack:
            print("  (openstack not installed: pip install python-openstackclient)")
        ratio = medians[2] / base
        print(f"nfv vim list / import cliff.app = {ratio:.2f} (goal <= {GOAL})")
        if ratio > GOAL:
            sys.exit(1)


if __name__ == "__main__":
    main()
