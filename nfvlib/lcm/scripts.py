"""Lifecycle scripts the VNFD names (Vnflcm interface), run on this machine.

A script gets the event as its first argument and the operation's parameters
as environment variables (``NFV_*``); its output is kept (last lines) in the
operation's record; a non-zero exit or running past the timeout fails the
step.

The variables (JSON for lists and objects; every one always set):

=================================  =============================================
``NFV_LCM_EVENT``                  the event, e.g. ``scale_end``
``NFV_VNF_INSTANCE_ID``, ``_NAME``  the VNF instance
``NFV_OPERATION``, ``NFV_OP_OCC_ID``  e.g. ``SCALE`` and the occurrence's id
``NFV_VIM_ID``, ``NFV_REGION``     where the VNF runs
``NFV_FLAVOUR_ID``                 its deployment flavour
``NFV_INSTANTIATION_LEVEL_ID``     its instantiation level
``NFV_STACK_ID``                   its Heat stack (empty before it exists)
``NFV_STACK_OUTPUTS``              the stack's outputs, e.g. VM addresses
``NFV_VNFCS``                      the VNFCs Heat has now: ``[{"id", "vduId",
                                   "status", "member"?}]``
``NFV_VNFCS_ADDED``                VNFCs this operation added (``*_end``)
``NFV_VNFCS_REMOVED``              VNFCs it removes (scale-in/heal ``*_start``),
                                   removed (``*_end``), or a rollback removes
                                   (``*_rollback_start``/``_end``)
``NFV_ADDITIONAL_PARAMS``          the request's additionalParams
``NFV_PARAM_<KEY>``                each additionalParams key
``NFV_SCALE_TYPE``, ``NFV_ASPECT_ID``, ``NFV_NUMBER_OF_STEPS``  scale only
``NFV_CHANGE_STATE_TO``            operate only: STARTED, STOPPED or REBOOT
=================================  =============================================

Its environment is clean: the ``NFV_*`` variables plus only
:data:`INHERITED` from the caller (``PATH``, ``HOME``, ``LANG``, and
``LC_ALL`` and ``TMPDIR`` when set). Nothing else the caller has, such as
``OS_PASSWORD`` or a cloud token, reaches a package's script.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

from nfvlib.exceptions import ScriptFailed

#: Seconds a lifecycle script may run.
SCRIPT_TIMEOUT = 300
#: The caller's variables a script sees (when set).
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
_KEEP_CHARS = 4000


def tail(text: str, lines: int = 5, chars: int = 600) -> str:
    """The last ``lines`` non-empty lines of ``text``, at most ``chars`` long."""
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(kept)[-chars:]


def script_env(params: Mapping[str, Any]) -> dict[str, str]:
    """``NFV_*`` variables: plain values as text, structures as JSON."""
    env = {}
    for key, value in params.items():
        name = "NFV_" + "".join(c if c.isalnum() else "_" for c in key).upper()
        env[name] = value if isinstance(value, str) else json.dumps(value)
    return env


def run_script(package_dir: str | Path, script: Any, event: str,
               params: Mapping[str, Any], *, timeout: float | None = None) -> str:
    """Run ``script`` (a LifecycleScript) for ``event``; return its output tail.

    ``timeout`` defaults to :data:`SCRIPT_TIMEOUT`.
    """
    timeout = SCRIPT_TIMEOUT if timeout is None else timeout
    path = Path(package_dir) / script.file
    if not path.is_file():
        raise ScriptFailed(f"lifecycle script {script.file} for {event} is missing "
                           "from the package")
    kind = (script.artifact_type or "").lower()
    if path.suffix == ".py" or "python" in kind:
        argv = [sys.executable, str(path), event]
    elif os.access(path, os.X_OK) and "bash" not in kind:
        argv = [str(path), event]
    else:
        argv = [shutil.which("bash") or "/bin/sh", str(path), event]
    env = {name: os.environ[name] for name in INHERITED if name in os.environ}
    env.update(script_env(params), NFV_LCM_EVENT=event)
    # A session of its own, so that a script that hangs is stopped with
    # everything it started (a child holding the pipes open would block us).
    proc = subprocess.Popen(argv, cwd=path.parent, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        stdout, stderr = proc.communicate()
        partial = _text(stdout) + _text(stderr)
        raise ScriptFailed(f"lifecycle script {script.file} ({event}) ran longer than "
                           f"{timeout:g} s and was stopped; output: "
                           f"{tail(partial) or '(none)'}",
                           output=partial[-_KEEP_CHARS:]) from exc
    output = (stdout + stderr)[-_KEEP_CHARS:]
    if proc.returncode != 0:
        raise ScriptFailed(f"lifecycle script {script.file} ({event}) exited "
                           f"{proc.returncode}; output: {tail(output) or '(none)'}",
                           exit_code=proc.returncode, output=output)
    return output


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode(errors="replace") if isinstance(value, bytes) else value
