"""Cold start of `nfv vim list` with 100 VIMs in the store.

Run: python benchmarks/cli_startup.py [--runs N]
Prints the median wall time of `nfv vim list`, next to `python -c pass` and
`openstack vim list --help` (when python-openstackclient is installed).
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


def median_time(argv: list[str], runs: int, env: dict[str, str]) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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
        env = dict(os.environ, NFV_DATA_DIR=str(data_dir))
        out = subprocess.run([nfv, "vim", "list", "-f", "value"], env=env,
                             capture_output=True, text=True, check=True).stdout
        assert len(out.splitlines()) == args.vims, "nfv vim list lost rows"
        rows = [("python -c pass", [sys.executable, "-c", "pass"]),
                (f"nfv vim list ({args.vims} VIMs)", [nfv, "vim", "list"]),
                (f"nfv vim list -f json ({args.vims} VIMs)",
                 [nfv, "vim", "list", "-f", "json"])]
        openstack = shutil.which("openstack", path=str(bindir)) or shutil.which("openstack")
        if openstack:
            rows.append(("openstack vim list --help",
                         [openstack, "vim", "list", "--help"]))
        print(f"median of {args.runs} runs, seconds")
        for label, argv in rows:
            print(f"  {label:<36} {median_time(argv, args.runs, env):.3f}")
        if not openstack:
            print("  (openstack not installed: pip install python-openstackclient)")


if __name__ == "__main__":
    main()
