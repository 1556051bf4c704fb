"""The bombs, each in its own ``nfv`` process: wall time and peak memory measured.

In-process runs cannot tell the command's memory from the test's, so these
cases run the CLI entry point (``nfvcli.shell.main``) in a child process with
a 1 GiB address-space cap as a safety net; the child writes its own peak RSS
(VmHWM) at exit. Each must fail in one line within 2 s and 200 MB.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

import nfvlib
from tests.fuzz.conftest import Outcome
from tests.fuzz.strategies import ALIAS_BOMB, NESTED
from tests.unit.conftest import vim_config

SAMPLE = Path(nfvlib.__file__).resolve().parent / "samples" / "sample_vnf"
DF = "Definitions/sample_vnf_df_simple.yaml"
SAFETY_CAP = 1 << 30


#: ``nfv`` that writes its own peak RSS (VmHWM, which exec resets; the wait4
#: figure would include the forking test process's) to NFV_FUZZ_HWM at exit.
CHILD = """
import os, sys
from nfvcli.shell import main
try:
    code = main(sys.argv[1:])
finally:
    with open('/proc/self/status') as status, open(os.environ['NFV_FUZZ_HWM'], 'w') as out:
        out.write(next(line for line in status if line.startswith('VmHWM')).split()[1])
sys.exit(code)
"""


def run_measured(world, argv: list) -> Outcome:
    hwm = world.work / "child.hwm"
    hwm.unlink(missing_ok=True)
    env = dict(os.environ, NFV_DATA_DIR=str(world.data_dir), NFV_KEY_DIR=str(world.key_dir),
               PYTHONPATH=os.pathsep.join(sys.path), NFV_FUZZ_HWM=str(hwm))

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (SAFETY_CAP, SAFETY_CAP))

    out_path, err_path = world.work / "child.out", world.work / "child.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        started = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", CHILD, *argv], env=env,
                                 stdout=out, stderr=err, preexec_fn=cap)
        _, status, _ = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return Outcome(child.returncode, out_path.read_text(errors="replace"),
                   err_path.read_text(errors="replace"), seconds,
                   int(hwm.read_text()) * 1024 if hwm.exists() else SAFETY_CAP)


def _config(world, text: str) -> list:
    path = world.work / "config.yaml"
    path.write_text(text)
    return ["vim", "register", "bomb", "--config-file", str(path)]


def _request(world, text: str) -> list:
    path = world.work / "request.json"
    path.write_text(text)
    return ["vnflcm", "instantiate", world.vnf.id, str(path)]


def _package(world, change) -> list:
    target = world.work / "bomb-pkg"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(SAMPLE, target)
    change(target)
    return ["vnf", "package", "upload", world.created_package.id, "--path", str(target)]


def _bomb_in_df(package: Path) -> None:
    path = package / DF
    path.write_text(path.read_text().replace(
        "flavour_description: One scalable VDU and one single VDU on two internal "
        "networks", f"flavour_description: {ALIAS_BOMB}"))


BASE = "".join(f"{k}: {v}\n" for k, v in vim_config().items() if k != "cert_verify")
CASES = {
    "alias bomb in cert_verify": lambda w: _config(w, BASE + f"cert_verify: {ALIAS_BOMB}\n"),
    "alias bomb in type": lambda w: _config(w, BASE + f"type: {ALIAS_BOMB}\n"),
    "/dev/zero as config file": lambda w: ["vim", "register", "z", "--config-file",
                                           "/dev/zero"],
    "3000 nested brackets in a config": lambda w: _config(w, BASE + f"x: {NESTED}\n"),
    "2 MB field in a config": lambda w: _config(
        w, BASE.replace("username: alice", "username: " + "x" * (2 << 20))),
    "/dev/zero as request file": lambda w: ["vnflcm", "instantiate", w.vnf.id,
                                            "/dev/zero"],
    "3000 nested brackets in a request": lambda w: _request(
        w, json.dumps({"flavourId": "simple"})[:-1] + f', "x": {NESTED}}}'),
    "2 MB field in a request": lambda w: _request(
        w, json.dumps({"flavourId": "simple", "localizationLanguage": "x" * (2 << 20)})),
    "alias bomb in flavour_description": lambda w: _package(w, _bomb_in_df),
    "zip bomb of 900 MiB": lambda w: ["vnf", "package", "upload", w.created_package.id,
                                      "--path", str(w.zip_bomb)],
    "/dev/zero as package": lambda w: ["vnf", "package", "upload",
                                       w.created_package.id, "--path", "/dev/zero"],
    "non-UTF-8 argument": lambda w: ["vim", "show", b"caf\xe9"],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bomb_in_its_own_process(world, zip_bomb, name):
    world.zip_bomb = zip_bomb
    argv = CASES[name](world)
    outcome = run_measured(world, argv)
    world.check_refused(outcome, f"[process] {name}")
