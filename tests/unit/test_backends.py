"""Local and remote backends offer the calls of nfvlib.backends' protocols, and
the remote backend imports nothing of the local one."""

from __future__ import annotations

import ast
import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

import nfvlib
from nfvlib import backends
from nfvlib.lcm.catalog import LocalPackages, LocalVnfs
from nfvlib.lcm.local import LocalLcm
from nfvlib.lcm.notify import LocalSubscriptions
from nfvlib.remote.lcm import RemoteLcm, RemotePackages, RemoteVnfs
from nfvlib.remote.subscriptions import RemoteSubscriptions
from nfvlib.remote.vims import RemoteVimRegistry
from nfvlib.vim.registry import LocalVimRegistry

REPO_ROOT = Path(nfvlib.__file__).resolve().parent.parent

IMPLEMENTATIONS = [
    (backends.VimRegistry, LocalVimRegistry, RemoteVimRegistry),
    (backends.PackageBackend, LocalPackages, RemotePackages),
    (backends.VnfBackend, LocalVnfs, RemoteVnfs),
    (backends.LcmBackend, LocalLcm, RemoteLcm),
    (backends.SubscriptionBackend, LocalSubscriptions, RemoteSubscriptions),
]

#: Modules of the local backend (Heat, Nova, store, vault, engine, workers).
LOCAL_ONLY = ("nfvlib.store", "nfvlib.vault", "nfvlib.heat", "nfvlib.nova",
              "nfvlib.vim.registry", "nfvlib.vim.keystone", "nfvlib.lcm.local",
              "nfvlib.lcm.catalog", "nfvlib.lcm.engine", "nfvlib.lcm.plans",
              "nfvlib.lcm.worker", "nfvlib.lcm.notify", "nfvlib.lcm.restoration",
              "nfvlib.lcm.change_pkg", "nfvlib.lcm.operate", "nfvlib.lcm.scripts",
              "nfvlib.sandbox")


def _protocol_methods(protocol: type) -> list[str]:
    return sorted(name for name, value in vars(protocol).items()
                  if not name.startswith("_") and callable(value))


def test_protocols_cover_their_interfaces():
    assert _protocol_methods(backends.LcmBackend) == sorted([
        "instantiate", "create_and_instantiate", "terminate", "scale", "heal",
        "operate", "reboot", "change_vnfpkg", "change_ext_conn", "fallback", "rollback",
        "retry", "fail", "cancel", "get_op_occ", "list_op_occs", "page_op_occs", "wait",
        "versions"])
    assert len(_protocol_methods(backends.VimRegistry)) == 8


@pytest.mark.parametrize("protocol, local, remote", IMPLEMENTATIONS,
                         ids=[p.__name__ for p, _, _ in IMPLEMENTATIONS])
def test_local_and_remote_accept_every_call_of_the_protocol(protocol, local, remote):
    for name in _protocol_methods(protocol):
        wanted = inspect.signature(getattr(protocol, name))
        for impl in (local, remote):
            method = getattr(impl, name, None)
            assert callable(method), f"{impl.__name__}.{name} is missing"
            got = inspect.signature(method)
            takes_any_keyword = any(p.kind is p.VAR_KEYWORD for p in got.parameters.values())
            for param in wanted.parameters.values():
                if param.name == "self":
                    continue
                where = f"{impl.__name__}.{name}({param.name})"
                if param.name not in got.parameters:
                    assert takes_any_keyword and param.kind is param.KEYWORD_ONLY, where
                    continue
                mine = got.parameters[param.name]
                assert mine.kind == param.kind, where
                assert mine.default == param.default, where
            # What the implementation adds must not be required.
            for extra in set(got.parameters) - set(wanted.parameters):
                assert got.parameters[extra].default is not inspect.Parameter.empty \
                    or got.parameters[extra].kind in (inspect.Parameter.VAR_KEYWORD,
                                                      inspect.Parameter.VAR_POSITIONAL), \
                    f"{impl.__name__}.{name} requires {extra}"


def _imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _is_local(module: str) -> bool:
    return any(module == m or module.startswith(m + ".") for m in LOCAL_ONLY)


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "nfvlib" / "remote").glob("*.py")),
                         ids=lambda p: p.name)
def test_remote_modules_import_nothing_of_the_local_backend(path):
    local = sorted(m for m in _imports_of(path) if _is_local(m))
    assert local == [], f"{path.name} imports {local}"


def test_remote_backend_loads_no_local_module():
    script = ("import json, sys\n"
              "import nfvlib.remote.auth, nfvlib.remote.http, nfvlib.remote.lcm\n"
              "import nfvlib.remote.subscriptions, nfvlib.remote.vims\n"
              "print(json.dumps(sorted(sys.modules)))\n")
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    loaded = json.loads(proc.stdout)
    assert "nfvlib.remote.lcm" in loaded
    assert [m for m in loaded if _is_local(m)] == []
