"""Lifecycle scripts the VNFD names (Vnflcm interface), run on this machine.

A script gets the event as its first argument and the operation's parameters
as environment variables (``NFV_*``); its output is kept (last lines) in the
operation's record; a non-zero exit or running past the timeout fails the
step.

Its environment is clean: the ``NFV_*`` variables plus only
:data:`INHERITED` from the caller (``PATH``, ``HOME``, ``LANG``, and
``LC_ALL`` and ``TMPDIR`` when set). Nothing else the caller has, such as
``OS_PASSWORD`` or a cloud token, reaches a package's script.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

from nfvlib.exceptions import NfvError

#: Seconds a lifecycle script may run.
SCRIPT_TIMEOUT = 300
#: The caller's variables a script sees (when set).
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
_KEEP_CHARS = 4000


class ScriptFailed(NfvError):
    """A lifecycle script exited non-zero or ran too long."""


def script_env(params: Mapping[str, Any]) -> dict[str, str]:
    """``NFV_*`` variables: plain values as text, structures as JSON."""
    env = {}
    for key, value in params.items():
        name = "NFV_" + "".join(c if c.isalnum() else "_" for c in key).upper()
        env[name] = value if isinstance(value, str) else json.dumps(value)
    return env


def run_script(package_dir: str | Path, script: Any, event: str,
               params: Mapping[str, Any], *, timeout: float = SCRIPT_TIMEOUT) -> str:
    """Run ``script`` (a LifecycleScript) for ``event``; return its output tail."""
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
    try:
        proc = subprocess.run(argv, cwd=path.parent, env=env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise ScriptFailed(f"lifecycle script {script.file} ({event}) ran longer than "
                           f"{timeout:g} s and was stopped") from exc
    output = (proc.stdout + proc.stderr)[-_KEEP_CHARS:]
    if proc.returncode != 0:
        last = (proc.stderr.strip() or proc.stdout.strip()).splitlines()[-1:] or [""]
        raise ScriptFailed(f"lifecycle script {script.file} ({event}) exited "
                           f"{proc.returncode}: {last[0][:300]}")
    return output
