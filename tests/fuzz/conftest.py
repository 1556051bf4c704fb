"""Fuzz fixtures: Hypothesis profiles, one world per module, the properties checked."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

#: Exit codes the README documents (section "Exit codes").
DOCUMENTED_EXIT_CODES = frozenset(range(1, 12)) | {20, 21, 22}
PREFIX = "nfv: error: "
SECONDS = 2.0
MEMORY_BYTES = 200 * 1024 * 1024
#: Total examples per test: a share of the profile's budget.
_SLOW = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
         HealthCheck.data_too_large, HealthCheck.large_base_example,
         HealthCheck.filter_too_much]

# "ci": a fixed, seeded run with no example database, so every CI run tries the
# same inputs and a failure replays with the same command. "long": on demand.
settings.register_profile("ci", max_examples=80, derandomize=True, database=None,
                          deadline=None, suppress_health_check=_SLOW, print_blob=True)
settings.register_profile("long", max_examples=5000, derandomize=False, database=None,
                          deadline=None, suppress_health_check=_SLOW, print_blob=True)
PROFILE = os.environ.get("NFV_FUZZ_PROFILE", "ci")
settings.load_profile(PROFILE)
#: Record violations and go on rather than fail on the first (before/after figures).
COUNT_ONLY = os.environ.get("NFV_FUZZ_COUNT") == "1"


def pytest_report_header(config):
    current = settings.default
    seed = config.getoption("hypothesis_seed", None)
    if current.derandomize:
        seed = "derived from each test's name"
    elif seed is None:
        seed = "random"
    return (f"nfv fuzz: profile {PROFILE!r} (NFV_FUZZ_PROFILE), max_examples "
            f"{current.max_examples}, derandomize={current.derandomize}, seed {seed}"
            " (--hypothesis-seed), no database; replay a failure with the same profile "
            "and seed, or the printed @reproduce_failure")


@dataclass
class Stats:
    """What the suite saw, printed at the end of the session."""

    inputs: int = 0
    tracebacks: int = 0
    exit0_on_bad: int = 0
    partial_writes: int = 0
    not_one_line: int = 0
    undocumented_exit: int = 0
    too_slow: int = 0
    too_big: int = 0
    undone_writes: int = 0
    slowest: tuple[float, str] = (0.0, "")
    largest: tuple[int, str] = (0, "")
    failures: list[str] = field(default_factory=list)


STATS = Stats()


def pytest_terminal_summary(terminalreporter):
    if not STATS.inputs:
        return
    s = STATS
    write = terminalreporter.write_line
    write(f"nfv fuzz ({PROFILE}): {s.inputs} inputs tried; {s.tracebacks} tracebacks, "
          f"{s.exit0_on_bad} exit 0 on bad input, {s.partial_writes} partial writes, "
          f"{s.not_one_line} not one error line, {s.undocumented_exit} undocumented or "
          f"raw exit codes, {s.too_slow} over {SECONDS:.0f} s, {s.too_big} over 200 MB, "
          f"{s.undone_writes} writes undone by the same command")
    write(f"nfv fuzz: slowest input {s.slowest[0]:.3f} s ({s.slowest[1]}); largest "
          f"memory {s.largest[0] / 2**20:.1f} MiB ({s.largest[1]})")
    for line in s.failures if COUNT_ONLY else s.failures[:40]:
        write(f"nfv fuzz violation: {line}")


@dataclass
class Outcome:
    """One run of the CLI on one input."""

    code: int | None
    out: str
    err: str
    seconds: float
    peak_bytes: int = 0
    crashed: BaseException | None = None


def run_cli(argv: list[str]) -> Outcome:
    """``nfvcli.shell.main(argv)`` in-process, its output captured and timed."""
    from nfvcli.shell import main

    out, err = io.StringIO(), io.StringIO()
    crashed = None
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse refusing an option value
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:  # noqa: BLE001 - an escaped exception is a finding
            code, crashed = None, exc
    seconds = time.perf_counter() - started
    # Memory is measured per process in test_resources.py: in-process, the
    # generator's own allocations would be counted too.
    return Outcome(code, out.getvalue(), err.getvalue(), seconds, 0, crashed)


def tree_digest(*roots: Path) -> dict[str, str]:
    """SHA-256 of every file under ``roots`` (SQLite's -wal/-shm excepted)."""
    digests = {}
    for root in roots:
        if not root.exists():
            continue
        for path in sorted(root.rglob("*")):
            if path.name.endswith(("-wal", "-shm")) or path.is_dir():
                continue
            key = str(path.relative_to(root.parent))
            if path.is_symlink() or not path.is_file():
                digests[key] = "special"
                continue
            digests[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


class World:
    """An nfvkit home whose store and keys must not change under bad input."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.key_dir = root / "keys"
        self._before: dict[str, str] | None = None

    def digest(self) -> dict[str, str]:
        return tree_digest(self.data_dir, self.key_dir)

    def rows(self) -> list[str]:
        """The store's content as SQL, whatever its pages look like."""
        import sqlite3

        conn = sqlite3.connect(self.data_dir / "nfv.sqlite")
        try:
            return list(conn.iterdump())
        finally:
            conn.close()

    def snapshot(self) -> None:
        self._before = self.digest()
        self._rows = self.rows()

    def changed(self, *, same_rows_allowed: bool = False) -> list[str]:
        after = self.digest()
        before = self._before or {}
        changed = sorted(k for k in set(before) | set(after)
                         if before.get(k) != after.get(k))
        if same_rows_allowed and changed == ["data/nfv.sqlite"] and \
                self.rows() == self._rows:
            STATS.undone_writes += 1
            self.snapshot()
            return []
        return changed

    def check_refused(self, outcome: Outcome, label: str, *, bad: bool = True,
                      same_rows_allowed: bool = False) -> None:
        """The properties for a bad input (``bad``), else exit 0 or a refusal.

        ``same_rows_allowed``: a write undone in the same command (the store's
        rows the same, its pages not) is counted apart, not as a partial write.
        """
        STATS.inputs += 1
        if outcome.seconds > STATS.slowest[0]:
            STATS.slowest = (outcome.seconds, label[:120])
        grown = outcome.peak_bytes
        if grown > STATS.largest[0]:
            STATS.largest = (grown, label[:120])
        problems = []
        if outcome.crashed is not None or "Traceback" in outcome.err:
            STATS.tracebacks += 1
            problems.append(f"traceback or escaped {type(outcome.crashed).__name__}")
        changed = self.changed(same_rows_allowed=same_rows_allowed)
        if outcome.code == 0 and not bad:
            self.snapshot()  # a valid input may well change the store
            changed = []
        elif outcome.code == 0:
            STATS.exit0_on_bad += 1
            problems.append("exit 0 on bad input")
        elif outcome.code not in DOCUMENTED_EXIT_CODES or outcome.code == 1:
            STATS.undocumented_exit += 1
            problems.append(f"exit {outcome.code} (undocumented, or 1: not a named error)")
        if outcome.code != 0:
            lines = outcome.err.splitlines()
            if (len(lines) != 1 or not outcome.err.endswith("\n")
                    or not lines[0].startswith(PREFIX)
                    or len(lines[0].strip()) <= len(PREFIX) + 5
                    or len(lines[0]) > 600):
                STATS.not_one_line += 1
                problems.append(f"stderr is not one error line: {outcome.err[:300]!r}")
        if changed:
            STATS.partial_writes += 1
            problems.append(f"store or keys changed: {changed[:5]}")
            self.snapshot()
        if outcome.seconds > SECONDS:
            STATS.too_slow += 1
            problems.append(f"took {outcome.seconds:.2f} s")
        if grown > MEMORY_BYTES:
            STATS.too_big += 1
            problems.append(f"peak memory grew {grown / 2**20:.0f} MiB")
        if problems:
            message = f"{label[:200]}: {'; '.join(problems)}"
            STATS.failures.append(message)
            if not COUNT_ONLY:
                raise AssertionError(message) from outcome.crashed


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A store with a default VIM 'site1', an onboarded sample package, a
    NOT_INSTANTIATED VNF instance and a CREATED package; Keystone over
    requests-mock; LCM workers and deliverers recorded, never started."""
    import requests_mock

    import nfvlib
    from nfvlib.lcm import local
    from tests.unit.conftest import FakeKeystone, vim_config

    root = tmp_path_factory.mktemp("fuzz")
    w = World(root)
    with pytest.MonkeyPatch.context() as mp, requests_mock.Mocker() as mocker:
        for var in ("NFV_STORE", "NFV_CACHE_DIR", "OS_NFV_MODE", "NFV_ON_FAILURE"):
            mp.delenv(var, raising=False)
        mp.setenv("NFV_DATA_DIR", str(w.data_dir))
        mp.setenv("NFV_KEY_DIR", str(w.key_dir))
        w.spawned = []

        class Spawner:
            """Records the occurrences a worker would be started for."""

            def __call__(self, op_id):
                w.spawned.append(op_id)

            def close(self):
                pass

        mp.setattr(local, "detached_spawner", lambda *a, **k: Spawner())
        try:
            from nfvlib.lcm import notify
            mp.setattr(notify, "deliverer_spawner", lambda *a, **k: (lambda *b: None))
        except (ImportError, AttributeError):
            pass
        w.keystone = FakeKeystone(mocker)
        client = nfvlib.Client()
        try:
            w.vim = client.vims.register_vim("site1", vim_config(), is_default=True)
            sample = Path(nfvlib.__file__).parent / "samples" / "sample_vnf"
            pkg = client.packages.create_package()
            w.package = client.packages.upload_package(pkg.id, str(sample))
            w.vnf = client.vnfs.create_vnf(w.package.vnfd_id)
            w.created_package = client.packages.create_package()
        finally:
            client.close()
        w.work = root / "inputs"
        w.work.mkdir()
        run_cli(["vim", "list"])  # first CLI run: imports and lazy set-up done
        w.snapshot()
        yield w


@pytest.fixture(scope="session")
def zip_bomb(tmp_path_factory):
    """The sample package (under a vnfdId of its own, so that only the bomb can be
    what is refused) plus 900 MiB of zeros: under the 1 GiB bound, about 1 MiB on
    disk (built once per session, in a few seconds)."""
    import uuid
    import zipfile

    import nfvlib

    sample = Path(nfvlib.__file__).resolve().parent / "samples" / "sample_vnf"
    archive = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    chunk = bytes(1 << 20)
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for path in sorted(sample.rglob("*")):
            if path.name == "sample_vnf_top.vnfd.yaml":
                zf.writestr(path.relative_to(sample).as_posix(), path.read_text().replace(
                    "a0370897-134e-47e4-bf6f-6946b01b0cd1", str(uuid.uuid4())))
            elif path.is_file():
                zf.write(path, path.relative_to(sample).as_posix())
        with zf.open("Files/zeros.bin", "w", force_zip64=True) as member:
            for _ in range(900):
                member.write(chunk)
    assert archive.stat().st_size < 2 * 2**20
    return archive
