"""`vnflcm change-vnfpkg`, `vnflcm fallback` and `vnf restoration-point ...` in-process.

The app's nfvlib client is replaced by autospecced fakes returning real model
objects, so a wrong argument name fails the test.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from unittest import mock

import pytest

from nfvcli import shell
from nfvlib.exceptions import Conflict
from nfvlib.models import Operation, OpOcc, OpState, OpStep, RestorationPoint

VNF_ID = "6f1e0a7c-vnf"
OP_ID = "b7c0d2e4-op"
T0 = "2026-11-30T05:00:00+00:00"


class _Lcm:
    def change_vnfpkg(self, vnf_id, request, *, on_failure=None): ...
    def fallback(self, vnf_id, to=None): ...
    def wait(self, op_id, timeout=None, progress=None): ...


class _Points:
    def create_point(self, vnf_id, name=None): ...
    def list_points(self, vnf_id=None): ...
    def get_point(self, point_id, *, check=True): ...
    def delete_point(self, point_id): ...


def make_point(**changes):
    values = dict(id="rp-1", vnf_instance_id=VNF_ID, stack_name=f"vnf-{VNF_ID}",
                  stack_id="stack-1", snapshot_id="snap-1", package_id="pkg-1",
                  vnfd_id="vnfd-1", name="before", size=2048, created_at=T0,
                  status="AVAILABLE")
    values.update(changes)
    return RestorationPoint(**values)


def make_op(operation=Operation.CHANGE_VNFPKG, state=OpState.STARTING, **changes):
    return OpOcc(id=OP_ID, vnf_instance_id=VNF_ID, operation=operation, state=state,
                 start_time=T0, state_entered_time=T0,
                 steps=(OpStep("validate request"),), **changes)


@pytest.fixture
def nfv(nfv_home, monkeypatch):
    fake = SimpleNamespace(lcm=mock.create_autospec(_Lcm, instance=True),
                           restoration_points=mock.create_autospec(_Points,
                                                                   instance=True))
    monkeypatch.setattr(shell.ClientManager, "nfv", property(lambda self: fake))
    return fake


def run(capsys, *argv):
    try:
        code = shell.main(list(argv))
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


def test_change_vnfpkg_sends_the_request_file(nfv, capsys, tmp_path):
    body = {"vnfdId": "vnfd-2", "additionalParams": {"tester": {"script": "t.sh"}}}
    path = tmp_path / "req.json"
    path.write_text(json.dumps(body))
    nfv.lcm.change_vnfpkg.return_value = make_op()
    code, out, err = run(capsys, "vnflcm", "change-vnfpkg", VNF_ID, str(path))
    assert code == 0, err
    nfv.lcm.change_vnfpkg.assert_called_once_with(VNF_ID, body)
    assert out == (f"Change Current VNF Package for VNF Instance {VNF_ID} has been "
                   f"accepted.\nVNF LCM operation occurrence ID: {OP_ID}\n")


def test_fallback_says_changes_are_lost(nfv, capsys):
    nfv.lcm.fallback.return_value = make_op(Operation.FALLBACK)
    nfv.lcm.wait.return_value = make_op(
        Operation.FALLBACK, OpState.COMPLETED,
        resource_changes={"restorationPoint": {"id": "rp-1", "createdAt": T0}})
    code, out, err = run(capsys, "vnflcm", "fallback", VNF_ID, "--to", "before", "--wait")
    assert code == 0, err
    nfv.lcm.fallback.assert_called_once_with(VNF_ID, to="before")
    assert "changes made after the restoration point will be lost" in out
    assert f"Restored restoration point rp-1 of {T0}: changes made after it are lost" in out


def test_fallback_while_an_operation_runs_is_one_line(nfv, capsys):
    nfv.lcm.fallback.side_effect = Conflict("VNF instance x has operation SCALE in "
                                            "state PROCESSING")
    code, out, err = run(capsys, "vnflcm", "fallback", VNF_ID)
    assert code != 0
    assert err.strip().count("\n") == 0 and "PROCESSING" in err
    assert "Traceback" not in err


def test_restoration_point_create_list_show_delete(nfv, capsys):
    points = nfv.restoration_points
    points.create_point.return_value = make_point()
    code, out, err = run(capsys, "vnf", "restoration-point", "create", VNF_ID,
                         "--name", "before", "-f", "json")
    assert code == 0, err
    points.create_point.assert_called_once_with(VNF_ID, name="before")
    shown = json.loads(out)
    assert shown["Snapshot ID"] == "snap-1" and shown["Size (bytes)"] == 2048

    points.list_points.return_value = [make_point()]
    code, out, err = run(capsys, "vnf", "restoration-point", "list", VNF_ID, "-f", "json")
    assert code == 0, err
    assert [p["ID"] for p in json.loads(out)] == ["rp-1"]

    points.get_point.return_value = make_point(status="STACK_GONE")
    code, out, err = run(capsys, "vnf", "restoration-point", "show", "rp-1", "-f", "json")
    assert code == 0, err
    assert json.loads(out)["Status"].startswith("STACK_GONE (the stack is gone")

    points.delete_point.return_value = make_point()
    code, out, err = run(capsys, "vnf", "restoration-point", "delete", "rp-1")
    assert code == 0, err
    points.delete_point.assert_called_once_with("rp-1")
    assert out == "Restoration point 'rp-1' deleted successfully\n"
