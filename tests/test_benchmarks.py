"""The benchmarks still run (they are run on demand, not timed here): a small
list benchmark, which seeds the store through its tables as they are now."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def test_the_list_benchmark_runs_on_a_small_store():
    proc = subprocess.run([sys.executable, str(BENCHMARKS / "lcm_lists.py"), "--vnfs", "20",
                           "--op-occs", "200", "--runs", "1"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "library page_op_occs() page at 99%" in proc.stdout
