"""The `nfv` command through a whole lifecycle on the sandbox, exit codes included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import nfvlib

SAMPLE = Path(nfvlib.__file__).parent / "samples" / "sample_vnf"


def nfv(sandbox, *argv, env=None):
    proc = subprocess.run(
        [sys.executable, "-m", "nfvcli.shell", "--data-dir", str(sandbox.paths.data_dir),
         *argv], capture_output=True, text=True, timeout=300,
        env=dict(os.environ, **(env or {})))
    return proc.returncode, proc.stdout, proc.stderr


def test_lifecycle_with_a_failed_scale_out_and_its_rollback(sandbox, tmp_path):
    code, pkg, err = nfv(sandbox, "vnf", "package", "create", "-f", "value", "-c", "ID")
    assert code == 0, err
    pkg = pkg.strip()
    code, _, err = nfv(sandbox, "vnf", "package", "upload", pkg, "--path", str(SAMPLE))
    assert code == 0, err
    code, out, _ = nfv(sandbox, "vnf", "package", "show", pkg, "-f", "json")
    vnfd = json.loads(out)["VNFD ID"]
    code, vnf, err = nfv(sandbox, "vnflcm", "create", vnfd, "--name", "cli-vnf",
                         "-f", "value", "-c", "ID")
    assert code == 0, err
    vnf = vnf.strip()
    request = tmp_path / "instantiate.json"
    request.write_text(json.dumps({"flavourId": "simple"}))
    fail_at_scale_end = tmp_path / "fail.json"
    fail_at_scale_end.write_text(json.dumps(
        {"additionalParams": {"sample_fail_event": "scale_end"}}))
    try:
        code, out, err = nfv(sandbox, "vnflcm", "instantiate", vnf, str(request), "--wait")
        assert code == 0, (out, err)
        assert "has been accepted" in out and "COMPLETED" in out
        assert "wait for stack" in err  # progress goes to stderr
        code, out, _ = nfv(sandbox, "vnflcm", "show", vnf, "-f", "json")
        original = [c["id"] for c in json.loads(out)["VNFC Instances"]
                    if c["vdu_id"] == "VDU1"]

        code, out, err = nfv(sandbox, "vnflcm", "scale", vnf, "--type", "SCALE_OUT",
                             "--aspect-id", "VDU1_scale", "--wait",
                             "--additional-param-file", str(fail_at_scale_end))
        assert code == 20, (out, err)
        assert "FAILED_TEMP" in out and "scale_end" in out
        op = out.split("VNF LCM operation occurrence ID: ")[1].split()[0]

        code, out, err = nfv(sandbox, "vnflcm", "op", "show", op, "-f", "json")
        shown = json.loads(out)
        assert shown["Operation State"] == "FAILED_TEMP"
        assert shown["Current Step"].endswith("run scale_end script")

        code, out, err = nfv(sandbox, "vnflcm", "op", "rollback", op, "--wait")
        assert code == 0, (out, err)
        assert "ROLLED_BACK" in out
        code, out, _ = nfv(sandbox, "vnflcm", "show", vnf, "-f", "json")
        vnfcs = json.loads(out)["VNFC Instances"]
        assert [c["id"] for c in vnfcs if c["vdu_id"] == "VDU1"] == original

        code, out, err = nfv(sandbox, "vnflcm", "op", "rollback", op)
        assert code == 4 and "ROLLED_BACK" in err and "Traceback" not in err
    finally:
        code, out, err = nfv(sandbox, "vnflcm", "terminate", vnf, "--termination-type",
                             "FORCEFUL", "--wait", "--D")
        assert code == 0, (out, err)
    code, out, _ = nfv(sandbox, "vnflcm", "list", "-f", "json")
    assert vnf not in out
    code, out, err = nfv(sandbox, "vnf", "package", "delete", pkg)
    assert code == 0, err
