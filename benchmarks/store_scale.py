"""The store at scale: VIM lookups with 100k rows.

Run: python benchmarks/store_scale.py [--rows N]
Prints the time to insert N rows in one transaction and the median time of
get by id, find by name and the default-VIM lookup.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from uuid import uuid4

from nfvlib.models import Vim, VimCredentials
from nfvlib.store import Store
from nfvlib.store.vims import VimTable
from nfvlib.vault import Vault
from nfvlib.vim.registry import LocalVimRegistry


def timed(fn, runs: int = 200) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "nfv.sqlite")
        table = VimTable(store)
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        ids = []
        start = time.perf_counter()
        with store.transaction() as conn:
            for i in range(args.rows):
                vim = Vim(id=str(uuid4()), name=f"site{i}", tenant_id=f"t{i % 100}",
                          credentials=VimCredentials(auth_url="http://k:5000/v3",
                                                     username="u", project_name="p"),
                          is_default=i < 100, created_at=now)
                table.insert(conn, vim, "k", "token")
                ids.append(vim.id)
        insert_s = time.perf_counter() - start
        registry = LocalVimRegistry(store, Vault(Path(tmp) / "keys"), tenant_id="t7")
        mid = args.rows // 2
        print(f"{args.rows} VIM rows: insert {insert_s:.2f} s in one transaction, "
              f"file {Path(tmp, 'nfv.sqlite').stat().st_size / 1e6:.1f} MB")
        print(f"  get_vim by id        {timed(lambda: registry.get_vim(ids[mid])):.3f} ms")
        print(f"  find_vim by name     {timed(lambda: registry.find_vim(f'site{mid}')):.3f} ms")
        print(f"  default_vim          {timed(lambda: registry.default_vim()):.3f} ms")
        print(f"  list_vims (all rows) {timed(registry.list_vims, runs=3):.0f} ms")
        store.close()


if __name__ == "__main__":
    main()
