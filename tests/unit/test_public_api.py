"""The public surface of nfvlib: exports, the exception tree, import cost, paths."""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import nfvlib
import nfvlib.exceptions
from nfvlib.config import Paths

REPO_ROOT = Path(nfvlib.__file__).resolve().parent.parent


def test_every_exported_name_exists():
    assert len(nfvlib.__all__) == len(set(nfvlib.__all__))
    for name in nfvlib.__all__:
        assert getattr(nfvlib, name, None) is not None, name


def test_star_import_gives_exactly_all():
    namespace: dict = {}
    exec("from nfvlib import *", namespace)
    namespace.pop("__builtins__")
    assert set(namespace) == set(nfvlib.__all__)


def _exception_classes():
    return [cls for name, cls in inspect.getmembers(nfvlib.exceptions, inspect.isclass)
            if cls.__module__ == "nfvlib.exceptions" and not name.startswith("_")]


#: Modules that need packages nfvlib does not depend on (run inside a sandbox).
_OPTIONAL_MODULES = {"nfvlib.sandbox._heat_launcher", "nfvlib.sandbox._tacker_launcher"}


def _import_all_nfvlib_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(nfvlib.__path__, "nfvlib."):
        if info.name in _OPTIONAL_MODULES or info.name.startswith("nfvlib.samples"):
            continue
        importlib.import_module(info.name)
        names.append(info.name)
    return names


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_nfv_error_subclass_lives_in_exceptions_and_is_exported():
    modules = _import_all_nfvlib_modules()
    assert "nfvlib.lcm.engine" in modules and "nfvlib.remote.lcm" in modules
    found = {cls for cls in _subclasses(nfvlib.NfvError)
             if cls.__module__.startswith("nfvlib.")}
    assert len(found) >= 26
    for cls in found:
        assert cls.__module__ == "nfvlib.exceptions", cls
        assert getattr(nfvlib, cls.__name__, None) is cls, cls
        assert cls.__name__ in nfvlib.__all__, cls


@pytest.mark.parametrize("old_home, names", [
    ("nfvlib.heat", ["HeatError", "StackNotFound", "StackStalled"]),
    ("nfvlib.nova", ["NovaError", "ServerNotFound"]),
    ("nfvlib.packages.csar", ["PackageError"]),
    ("nfvlib.lcm.catalog", ["PackageNotFound", "VnfNotFound"]),
    ("nfvlib.lcm.local", ["OpOccNotFound"]),
    ("nfvlib.lcm.scripts", ["ScriptFailed"]),
    ("nfvlib.lcm.change_pkg", ["TesterFailed"]),
    ("nfvlib.lcm.restoration", ["RestorationPointNotFound"]),
    ("nfvlib.remote.subscriptions", ["SubscriptionNotFound"]),
])
def test_old_import_paths_still_give_the_same_classes(old_home, names):
    module = importlib.import_module(old_home)
    for name in names:
        assert getattr(module, name) is getattr(nfvlib.exceptions, name)


def test_every_exported_name_imports():
    for name in nfvlib.__all__:
        namespace: dict = {}
        exec(f"from nfvlib import {name}", namespace)
        assert namespace[name] is getattr(nfvlib, name)


def test_every_public_exception_derives_from_nfv_error_and_is_exported():
    classes = _exception_classes()
    assert len(classes) >= 14
    for cls in classes:
        assert issubclass(cls, nfvlib.NfvError), cls
        assert issubclass(cls, Exception), cls
        assert cls.__name__ in nfvlib.__all__, cls
        assert getattr(nfvlib, cls.__name__) is cls


def test_exception_hierarchy():
    assert issubclass(nfvlib.VimNotFound, nfvlib.NotFound)
    for cls in (nfvlib.PackageNotFound, nfvlib.VnfNotFound, nfvlib.OpOccNotFound,
                nfvlib.SubscriptionNotFound, nfvlib.RestorationPointNotFound,
                nfvlib.StackNotFound, nfvlib.ServerNotFound):
        assert cls.__bases__ == (nfvlib.NotFound,), cls
    assert issubclass(nfvlib.StackStalled, nfvlib.HeatError)
    assert nfvlib.HeatError.__bases__ == (nfvlib.BackendError,)
    assert nfvlib.NovaError.__bases__ == (nfvlib.BackendError,)
    assert nfvlib.PackageError.__bases__ == (nfvlib.InvalidInput,)
    assert issubclass(nfvlib.VimUnreachable, nfvlib.Unreachable)
    for cls in (nfvlib.InvalidInput, nfvlib.Conflict, nfvlib.AuthFailed,
                nfvlib.VaultError, nfvlib.StoreError, nfvlib.BackendError,
                nfvlib.SandboxError, nfvlib.WaitTimeout, nfvlib.Unsupported):
        assert cls.__bases__ == (nfvlib.NfvError,), cls


@pytest.mark.parametrize("cls", [cls for cls in _exception_classes()
                                 if cls is not nfvlib.PackageError])
def test_exception_str_is_message_then_hint(cls):
    plain = cls("what went wrong")
    assert str(plain) == "what went wrong"
    assert plain.message == "what went wrong"
    hinted = cls("what went wrong", hint="how to fix it")
    assert str(hinted) == "what went wrong; how to fix it"
    assert hinted.hint == "how to fix it"


def test_extra_exception_fields():
    err = nfvlib.PackageError("Definitions/a.yaml", "bad\nvalue", hint="fix it")
    assert (err.file, err.detail) == ("Definitions/a.yaml", "bad\nvalue")
    assert str(err) == "Definitions/a.yaml: bad value; fix it"
    stalled = nfvlib.StackStalled("stuck", last_status="CREATE_IN_PROGRESS",
                                  stalled_for=60.0)
    assert (stalled.last_status, stalled.stalled_for, stalled.stack_status) == (
        "CREATE_IN_PROGRESS", 60.0, None)
    failed = nfvlib.ScriptFailed("script failed", exit_code=3, output="boom")
    assert (failed.exit_code, failed.output) == (3, "boom")
    err = nfvlib.SandboxError("failed", log_path="/tmp/x.log")
    assert err.log_path == "/tmp/x.log"
    timeout = nfvlib.WaitTimeout("too slow", last_seen="PENDING", timeout=3.0)
    assert (timeout.last_seen, timeout.timeout) == ("PENDING", 3.0)


def test_import_is_light():
    heavy = ["cliff", "osc_lib", "nfvcli", "keystoneauth1", "cryptography"]
    script = (
        "import json, sys\n"
        "import nfvlib\n"
        f"heavy = {heavy!r}\n"
        "print(json.dumps(sorted(m for m in sys.modules\n"
        "                        if m.split('.')[0] in heavy)))\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def _environment_reads(path: Path) -> list[str]:
    """``os.environ.get("X")``, ``os.environ["X"]`` and ``os.getenv(...)`` in a file
    (copying the environment for a child process is not a read of a setting)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        target = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr == "getenv":
                target = node.func.value
            elif node.func.attr == "get" and node.args \
                    and isinstance(node.args[0], ast.Constant):
                target = node.func.value
                if not (isinstance(target, ast.Attribute) and target.attr == "environ"):
                    target = None
        elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) \
                and isinstance(node.slice, ast.Constant) \
                and isinstance(node.value, ast.Attribute) and node.value.attr == "environ":
            target = node.value
        if target is not None:
            found.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno}")
    return found


def test_the_environment_is_read_in_nfvlib_config_only():
    reads = []
    for package in ("nfvlib", "nfvcli"):
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            if path == REPO_ROOT / "nfvlib" / "config.py" or "samples" in path.parts:
                continue
            reads += _environment_reads(path)
    assert reads == []


def test_config_reads_modes_and_versions_from_the_given_environment():
    from nfvlib import config

    assert config.nfv_mode({}, default="remote") == "remote"
    assert config.nfv_mode({"OS_NFV_MODE": "local"}, default="remote") == "local"
    assert config.tacker_api_version({}) == "2"
    assert config.tacker_api_version({"OS_TACKER_API_VERSION": "1"}) == "1"
    assert config.tenant_id({}) == "local"
    assert config.tenant_id({"NFV_TENANT_ID": "t1"}) == "t1"
    assert config.heat_stall_seconds(300.0, {}) == 300.0
    assert config.heat_stall_seconds(300.0, {"NFV_HEAT_STALL_SECONDS": "5"}) == 5.0
    with pytest.raises(nfvlib.InvalidInput):
        config.heat_stall_seconds(300.0, {"NFV_HEAT_STALL_SECONDS": "soon"})


LEASE_FIELDS = {"worker_pid", "lease_expires_at", "lease_token", "lease_boot_id"}


def test_public_op_occ_has_no_lease_fields():
    import dataclasses

    from nfvlib.models import OpOccRecord

    public = {f.name for f in dataclasses.fields(nfvlib.OpOcc)}
    assert not LEASE_FIELDS & public
    assert LEASE_FIELDS <= {f.name for f in dataclasses.fields(OpOccRecord)}
    assert "OpOccRecord" not in nfvlib.__all__


def test_local_lcm_shows_occurrences_without_their_lease():
    from nfvlib.lcm.local import _shown
    from nfvlib.models import OpOccRecord

    record = OpOccRecord(id="o", vnf_instance_id="v", operation=nfvlib.Operation.SCALE,
                         state=nfvlib.OpState.PROCESSING, start_time="t",
                         state_entered_time="t", request={"password": "secret"},
                         worker_pid=42, lease_token="tok", lease_expires_at=1.0,
                         lease_boot_id="boot")
    shown = _shown(record)
    assert type(shown) is nfvlib.OpOcc
    assert not any(hasattr(shown, name) for name in (*LEASE_FIELDS, "direction"))
    assert shown.request == {"password": nfvlib.MASK}
    assert (shown.id, shown.state) == ("o", nfvlib.OpState.PROCESSING)


# -- paths -------------------------------------------------------------------

HOME = "/home/alice"


def test_paths_default_to_xdg_fallbacks_under_home():
    paths = Paths.from_env({"HOME": HOME})
    assert paths.data_dir == Path(HOME, ".local/share/nfvkit")
    assert paths.store_file == Path(HOME, ".local/share/nfvkit/nfv.sqlite")
    assert paths.key_dir == Path(HOME, ".config/nfvkit/keys")
    assert paths.cache_dir == Path(HOME, ".cache/nfvkit")
    assert paths.sandbox_dir == Path(HOME, ".local/share/nfvkit/sandbox")


def test_paths_honour_xdg_variables():
    paths = Paths.from_env({"HOME": HOME, "XDG_DATA_HOME": "/xdg/data",
                            "XDG_CONFIG_HOME": "/xdg/config",
                            "XDG_CACHE_HOME": "/xdg/cache"})
    assert paths.data_dir == Path("/xdg/data/nfvkit")
    assert paths.store_file == Path("/xdg/data/nfvkit/nfv.sqlite")
    assert paths.key_dir == Path("/xdg/config/nfvkit/keys")
    assert paths.cache_dir == Path("/xdg/cache/nfvkit")


def test_relative_or_empty_xdg_variables_are_ignored():
    paths = Paths.from_env({"HOME": HOME, "XDG_DATA_HOME": "relative/data",
                            "XDG_CONFIG_HOME": "", "XDG_CACHE_HOME": "cache"})
    assert paths.data_dir == Path(HOME, ".local/share/nfvkit")
    assert paths.key_dir == Path(HOME, ".config/nfvkit/keys")
    assert paths.cache_dir == Path(HOME, ".cache/nfvkit")


def test_single_path_overrides():
    paths = Paths.from_env({"HOME": HOME, "NFV_STORE": "/srv/nfv.db",
                            "NFV_KEY_DIR": "/srv/keys", "NFV_CACHE_DIR": "/srv/cache"})
    assert paths.store_file == Path("/srv/nfv.db")
    assert paths.key_dir == Path("/srv/keys")
    assert paths.cache_dir == Path("/srv/cache")
    assert paths.data_dir == Path(HOME, ".local/share/nfvkit")  # unchanged


def test_data_dir_moves_store_sandbox_and_keys_together():
    paths = Paths.from_env({"HOME": HOME, "XDG_CONFIG_HOME": "/xdg/config",
                            "NFV_DATA_DIR": "/data"})
    assert paths.data_dir == Path("/data")
    assert paths.store_file == Path("/data/nfv.sqlite")
    assert paths.key_dir == Path("/data/keys")
    assert paths.sandbox_dir == Path("/data/sandbox")
    assert paths.cache_dir == Path(HOME, ".cache/nfvkit")


def test_single_overrides_beat_the_data_dir():
    paths = Paths.from_env({"HOME": HOME, "NFV_DATA_DIR": "/data",
                            "NFV_STORE": "/other/s.sqlite", "NFV_KEY_DIR": "/other/k"})
    assert paths.store_file == Path("/other/s.sqlite")
    assert paths.key_dir == Path("/other/k")
    assert paths.data_dir == Path("/data")


def test_explicit_arguments_beat_the_environment(tmp_path):
    env = {"HOME": HOME, "NFV_DATA_DIR": "/data", "NFV_STORE": "/env/s.sqlite",
           "NFV_KEY_DIR": "/env/keys"}
    paths = Paths.from_env(env, store_file=tmp_path / "s.sqlite",
                           key_dir=tmp_path / "k")
    assert paths.store_file == tmp_path / "s.sqlite"
    assert paths.key_dir == tmp_path / "k"
    paths = Paths.from_env({"HOME": HOME}, data_dir=tmp_path / "d")
    assert paths.store_file == tmp_path / "d" / "nfv.sqlite"
    assert paths.key_dir == tmp_path / "d" / "keys"


def test_from_env_reads_os_environ_by_default(monkeypatch, tmp_path):
    for var in ("NFV_STORE", "NFV_KEY_DIR", "NFV_CACHE_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NFV_DATA_DIR", str(tmp_path / "d"))
    paths = Paths.from_env()
    assert paths.store_file == tmp_path / "d" / "nfv.sqlite"
    assert paths.key_dir == tmp_path / "d" / "keys"


def test_paths_are_frozen():
    paths = Paths.from_env({"HOME": HOME})
    with pytest.raises(AttributeError):
        paths.store_file = Path("/elsewhere")  # type: ignore[misc]
