"""`nfv vnflcm ...` and `nfv vnflcm op ...` in-process against a fake nfvlib client.

The fake is autospecced from the library's call signatures, so a wrong
argument name fails the test; it returns real model objects.
"""

from __future__ import annotations

import io
import json
from types import SimpleNamespace
from unittest import mock

import pytest
import yaml

from nfvcli import shell
from nfvcli.vnflcm import Progress
from nfvlib.exceptions import Conflict, InvalidInput, NotFound, WaitTimeout
from nfvlib.models import (InstantiationState, Operation, OpOcc, OpState, OpStep,
                           VnfcInfo, VnfInstance)

VNF_ID = "6f1e0a7c-vnf"
OP_ID = "b7c0d2e4-op"
T0 = "2024-05-01T10:00:00Z"
STEPS = tuple(OpStep(name) for name in ("validate", "instantiate_start", "create stack",
                                        "wait for stack", "instantiate_end", "record"))


class _Vnfs:
    def create_vnf(self, vnfd_id, name=None, description=None, *, metadata=None): ...
    def list_vnfs(self, filter=None): ...
    def update_vnf(self, vnf_id, request): ...
    def get_vnf(self, vnf_id): ...
    def delete_vnf(self, vnf_id): ...


class _Lcm:
    def instantiate(self, vnf_id, request, *, on_failure=None): ...
    def create_and_instantiate(self, vnfd_id, request, *, name=None, description=None,
                               metadata=None, on_failure=None): ...
    def scale(self, vnf_id, scale_type, aspect_id, number_of_steps=1,
              additional_params=None, *, restoration_point=False, on_failure=None): ...
    def heal(self, vnf_id, vnfc_instance_ids=None, cause=None, additional_params=None, *,
             restoration_point=False, on_failure=None): ...
    def terminate(self, vnf_id, termination_type="GRACEFUL",
                  graceful_termination_timeout=None, *, on_failure=None): ...
    def change_vnfpkg(self, vnf_id, request, *, on_failure=None): ...
    def suspend(self, op_id): ...
    def resume(self, op_id): ...
    def list_op_occs(self, filters=None, *, filter=None): ...
    def change_ext_conn(self, vnf_id, request): ...
    def versions(self, major_version=None): ...
    def get_op_occ(self, op_id): ...
    def rollback(self, op_id): ...
    def retry(self, op_id): ...
    def fail(self, op_id): ...
    def cancel(self, op_id, cancel_mode="GRACEFUL"): ...
    def wait(self, op_id, timeout=None, progress=None): ...


def make_vnf(**changes):
    values = dict(id=VNF_ID, vnfd_id="vnfd-1", package_id="pkg-1", name="web",
                  description="front end", vnf_provider="ACME", vnf_product_name="Web",
                  vnf_software_version="1.0", vnfd_version="2.0")
    values.update(changes)
    return VnfInstance(**values)


def instantiated_vnf():
    vnfc = (VnfcInfo(id="srv-1", vdu_id="VDU1", resource_name="VDU1",
                     resource_type="OS::Nova::Server", status="ACTIVE",
                     member="m-abc", parent_stack="vnf-x-VDU1"),
            VnfcInfo(id="srv-2", vdu_id="VDU2", resource_name="VDU2",
                     resource_type="OS::Nova::Server", status="ACTIVE"))
    return make_vnf(instantiation_state=InstantiationState.INSTANTIATED, vim_id="vim-1",
                    region="RegionOne", flavour_id="simple", stack_id="stack-1",
                    scale_status={"VDU1_scale": 1}, vnfc=vnfc)


def make_op(state=OpState.STARTING, operation=Operation.INSTANTIATE, step=0, **changes):
    values = dict(id=OP_ID, vnf_instance_id=VNF_ID, operation=operation, state=state,
                  start_time=T0, state_entered_time=T0, steps=STEPS, current_step=step)
    values.update(changes)
    return OpOcc(**values)


@pytest.fixture
def nfv(nfv_home, monkeypatch):
    """The app's nfvlib client, replaced by autospecced fakes."""
    fake = SimpleNamespace(vnfs=mock.create_autospec(_Vnfs, instance=True),
                           lcm=mock.create_autospec(_Lcm, instance=True))
    for name in ("instantiate", "scale", "heal", "terminate", "rollback", "retry",
                 "cancel", "change_vnfpkg", "suspend", "resume"):
        getattr(fake.lcm, name).return_value = make_op()
    monkeypatch.setattr(shell.ClientManager, "nfv", property(lambda self: fake))
    return fake


def follow(nfv, *seen):
    """Make ``lcm.wait`` report ``seen`` to the progress callback, return the last."""
    def wait(op_id, timeout=None, progress=None):
        for op in seen:
            progress(op)
        return seen[-1]
    nfv.lcm.wait.side_effect = wait


def run(capsys, *argv):
    try:
        code = shell.main(list(argv))
    except SystemExit as exc:  # argparse rejects an option value
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def request_file(tmp_path):
    def write(content, name="req.json"):
        path = tmp_path / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return str(path)
    return write


# -- create, list, show, delete ----------------------------------------------

def test_create_passes_options_and_shows_the_instance(nfv, capsys):
    nfv.vnfs.create_vnf.return_value = make_vnf()
    code, out, err = run(capsys, "vnflcm", "create", "vnfd-1", "--name", "web",
                         "--description", "front end", "-f", "json")
    assert code == 0, err
    nfv.vnfs.create_vnf.assert_called_once_with("vnfd-1", name="web",
                                                description="front end", metadata=None)
    nfv.lcm.instantiate.assert_not_called()
    nfv.lcm.create_and_instantiate.assert_not_called()
    shown = json.loads(out)
    # python-tackerclient's columns sorted, then nfvkit's VNF Package ID
    names = list(shown)
    assert names[:-1] == sorted(names[:-1]) and names[-1] == "VNF Package ID"
    assert shown["ID"] == VNF_ID and shown["VNF Instance Name"] == "web"
    assert shown["Instantiation State"] == "NOT_INSTANTIATED"
    assert shown["VNF Instance Description"] == "front end"
    # as python-tackerclient's create: no VIM Connection Info column
    assert "VIM Connection Info" not in shown and shown["VNF Configurable Properties"] == ""
    assert shown["Links"]["instantiate"] == {
        "href": f"/vnflcm/v2/vnf_instances/{VNF_ID}/instantiate"}
    assert "Instantiated Vnf Info" not in shown and "VNFC Instances" not in shown


def test_create_with_instantiate_file_keeps_json_clean(nfv, capsys, request_file):
    nfv.lcm.create_and_instantiate.return_value = (make_vnf(), make_op())
    body = {"flavourId": "simple", "vimConnectionInfo": [
        {"id": "vim1", "vimId": "v1", "vimType": "ETSINFV.OPENSTACK_KEYSTONE.V_3"}]}
    code, out, err = run(capsys, "vnflcm", "create", "vnfd-1", "--I", request_file(body),
                         "-f", "json")
    assert code == 0, err
    # one library call checks both requests before creating anything
    nfv.lcm.create_and_instantiate.assert_called_once_with(
        "vnfd-1", body, name=None, description=None, metadata=None)
    nfv.vnfs.create_vnf.assert_not_called()
    nfv.lcm.instantiate.assert_not_called()
    assert json.loads(out)["ID"] == VNF_ID
    assert (f"VNF Instance {VNF_ID} is created and instantiation request has been "
            "accepted.") in err
    assert OP_ID in err


def test_create_with_bad_instantiate_file_creates_nothing(nfv, capsys, request_file):
    code, _, err = run(capsys, "vnflcm", "create", "vnfd-1", "--I", request_file("[1]"))
    assert code == 2 and "must hold a JSON object, not an array" in err
    nfv.vnfs.create_vnf.assert_not_called()
    nfv.lcm.create_and_instantiate.assert_not_called()


def test_create_refused_by_the_library_is_one_line(nfv, capsys, request_file):
    nfv.lcm.create_and_instantiate.side_effect = InvalidInput(
        "vimConnectionInfo.v.vimId: no VIM has the id or name 'nowhere'",
        hint="see the VIMs with 'vim list'")
    code, out, err = run(capsys, "vnflcm", "create", "vnfd-1", "--I",
                         request_file({"flavourId": "simple"}))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "no VIM has the id or name 'nowhere'" in err
    nfv.vnfs.create_vnf.assert_not_called()
    nfv.vnfs.delete_vnf.assert_not_called()


def test_create_passes_a_metadata_file(nfv, capsys, request_file):
    nfv.vnfs.create_vnf.return_value = make_vnf(metadata={"team": "core"})
    path = request_file({"team": "core"}, name="meta.json")
    code, out, err = run(capsys, "vnflcm", "create", "vnfd-1", "--metadata-file", path,
                         "-f", "json")
    assert code == 0, err
    nfv.vnfs.create_vnf.assert_called_once_with("vnfd-1", name=None, description=None,
                                                metadata={"team": "core"})
    assert json.loads(out)["metadata"] == {"team": "core"}


def test_list_columns(nfv, capsys):
    nfv.vnfs.list_vnfs.return_value = [make_vnf(), instantiated_vnf()]
    code, out, _ = run(capsys, "vnflcm", "list", "-f", "json")
    assert code == 0
    rows = json.loads(out)
    assert list(rows[0]) == ["ID", "VNF Instance Name", "Instantiation State",
                             "VNF Provider", "VNF Software Version", "VNF Product Name",
                             "VNFD ID"]
    assert [r["Instantiation State"] for r in rows] == ["NOT_INSTANTIATED",
                                                         "INSTANTIATED"]
    code, out, _ = run(capsys, "vnflcm", "list")
    assert code == 0 and "INSTANTIATED" in out and "VNFD ID" in out


def test_show_includes_vnfc_instances(nfv, capsys):
    nfv.vnfs.get_vnf.return_value = instantiated_vnf()
    code, out, err = run(capsys, "vnflcm", "show", VNF_ID, "-f", "json")
    assert code == 0, err
    nfv.vnfs.get_vnf.assert_called_once_with(VNF_ID)
    shown = json.loads(out)
    assert shown["VIM Connection Info"] == {"default": {
        "vimId": "vim-1", "vimType": "ETSINFV.OPENSTACK_KEYSTONE.V_3",
        "accessInfo": {"region": "RegionOne"}}}
    info = shown["Instantiated Vnf Info"]
    assert info["flavourId"] == "simple"
    assert info["scaleStatus"] == [{"aspectId": "VDU1_scale", "scaleLevel": 1}]
    assert info["metadata"]["stack_id"] == "stack-1"
    assert [r["computeResource"]["resourceId"] for r in info["vnfcResourceInfo"]] == [
        "srv-1", "srv-2"]
    assert [v["id"] for v in shown["VNFC Instances"]] == ["srv-1", "srv-2"]
    assert shown["VNFC Instances"][0]["member"] == "m-abc"
    for fmt in ("table", "yaml", "value", "shell"):
        code, out, _ = run(capsys, "vnflcm", "show", VNF_ID, "-f", fmt)
        assert code == 0 and "srv-2" in out
    code, out, _ = run(capsys, "vnflcm", "show", VNF_ID)
    assert "VDU1: srv-1 OS::Nova::Server m-abc ACTIVE" in out


def test_show_of_a_v2_record_finds_the_package_by_its_vnfd_id(nfv, capsys):
    """A Tacker v2 instance names no package: the one with its vnfdId is it,
    when there is exactly one; the instance is shown whatever the look-up says."""
    from nfvlib.exceptions import Unreachable

    nfv.vnfs.get_vnf.return_value = make_vnf(package_id="")
    nfv.packages = mock.Mock()
    for answer, expected in (([SimpleNamespace(id="pkg-9")], "pkg-9"), ([], None),
                             ([SimpleNamespace(id="a"), SimpleNamespace(id="b")], None),
                             (Unreachable("Tacker did not answer"), None)):
        if isinstance(answer, Exception):
            nfv.packages.list_packages.side_effect = answer
        else:
            nfv.packages.list_packages.return_value = answer
        code, out, err = run(capsys, "vnflcm", "show", VNF_ID, "-f", "json")
        assert code == 0, err
        assert json.loads(out)["VNF Package ID"] == expected
        nfv.packages.list_packages.assert_called_with(filter="(eq,vnfdId,vnfd-1)")
    # a local instance knows its package: nothing is looked up
    nfv.packages.list_packages.reset_mock()
    nfv.vnfs.get_vnf.return_value = make_vnf()
    code, out, _ = run(capsys, "vnflcm", "show", VNF_ID, "-f", "json")
    assert json.loads(out)["VNF Package ID"] == "pkg-1"
    nfv.packages.list_packages.assert_not_called()


def test_show_unknown_instance_is_one_line_exit_3(nfv, capsys):
    nfv.vnfs.get_vnf.side_effect = NotFound("VNF instance nope not found")
    code, out, err = run(capsys, "vnflcm", "show", "nope")
    assert code == 3 and out == ""
    assert err == "nfv: error: VNF instance nope not found\n"


def test_delete_several_reports_n_of_m(nfv, capsys):
    nfv.vnfs.delete_vnf.side_effect = [make_vnf(), NotFound("no VNF b"),
                                       Conflict("c is INSTANTIATED")]
    code, out, err = run(capsys, "vnflcm", "delete", "a", "b", "c")
    assert code == 3
    assert [c.args for c in nfv.vnfs.delete_vnf.call_args_list] == [("a",), ("b",),
                                                                     ("c",)]
    assert out.splitlines() == [
        "Deleted a", "Failed to delete vnf instance with ID 'b': no VNF b",
        "Failed to delete vnf instance with ID 'c': c is INSTANTIATED"]
    assert err.splitlines() == ["nfv: error: Failed to delete 2 of 3 vnf instances; "
                                "first: Failed to delete vnf instance with ID 'b': "
                                "no VNF b"]

    nfv.vnfs.delete_vnf.side_effect = None
    code, out, _ = run(capsys, "vnflcm", "delete", "a")
    assert code == 0 and out == "Vnf instance 'a' deleted successfully\n"
    code, out, _ = run(capsys, "vnflcm", "delete", "a", "b")
    assert code == 0 and out == "All specified vnf instances are deleted successfully\n"


# -- operation requests -------------------------------------------------------

def test_instantiate_prints_accepted_and_the_occurrence(nfv, capsys, request_file):
    body = {"flavourId": "simple", "additionalParams": {"k": "v"}}
    code, out, err = run(capsys, "vnflcm", "instantiate", VNF_ID, request_file(body))
    assert code == 0, err
    nfv.lcm.instantiate.assert_called_once_with(VNF_ID, body)
    nfv.lcm.wait.assert_not_called()
    assert out == (f"Instantiate request for VNF Instance {VNF_ID} has been accepted.\n"
                   f"VNF LCM operation occurrence ID: {OP_ID}\n")
    assert err == ""


@pytest.mark.parametrize("content, words", [
    ('{"flavourId": "simple",\n  "x": }', "is not valid JSON at line 2, column 8: "
                                          "Expecting value"),
    ("", "is not valid JSON at line 1, column 1: Expecting value"),
    ('"simple"', "must hold a JSON object, not a string"),
    ("[]", "must hold a JSON object, not an array"),
    (b"\xff\xfe{}", "is not UTF-8 text"),
])
def test_request_file_errors_are_one_line(nfv, capsys, tmp_path, content, words):
    path = tmp_path / "req.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    code, out, err = run(capsys, "vnflcm", "instantiate", VNF_ID, str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and f"request file {path} " in err and words in err
    nfv.lcm.instantiate.assert_not_called()


def test_missing_request_file(nfv, capsys, tmp_path):
    missing = tmp_path / "nope.json"
    code, _, err = run(capsys, "vnflcm", "instantiate", VNF_ID, str(missing))
    assert code == 2
    assert err.startswith(f"nfv: error: cannot read request file {missing}: No such file "
                          "or directory")
    assert err.count("\n") == 1


def test_scale_options_reach_the_library(nfv, capsys, request_file):
    params = request_file({"additionalParams": {"key1": "value1"}})
    code, out, err = run(capsys, "vnflcm", "scale", VNF_ID, "--type", "SCALE_OUT",
                         "--aspect-id", "VDU1_scale", "--number-of-steps", "2",
                         "--additional-param-file", params)
    assert code == 0, err
    nfv.lcm.scale.assert_called_once_with(VNF_ID, "SCALE_OUT", "VDU1_scale",
                                          number_of_steps=2,
                                          additional_params={"key1": "value1"})
    assert out.startswith(f"Scale request for VNF Instance {VNF_ID} has been accepted.\n")

    nfv.lcm.scale.reset_mock()
    assert run(capsys, "vnflcm", "scale", VNF_ID, "--type", "SCALE_IN",
               "--aspect-id", "A")[0] == 0
    nfv.lcm.scale.assert_called_once_with(VNF_ID, "SCALE_IN", "A", number_of_steps=1,
                                          additional_params=None)


@pytest.mark.parametrize("argv, words", [
    (("--aspect-id", "A"), "the following arguments are required: --type"),
    (("--type", "SCALE_UP", "--aspect-id", "A"), "invalid choice: 'SCALE_UP'"),
    (("--type", "SCALE_IN", "--aspect-id", "A", "--number-of-steps", "0"),
     "expected a whole number >= 1, not '0'"),
    (("--type", "SCALE_IN", "--aspect-id", "A", "--number-of-steps", "two"),
     "expected a number, not 'two'"),
])
def test_scale_rejects_bad_options(nfv, capsys, argv, words):
    code, _, err = run(capsys, "vnflcm", "scale", VNF_ID, *argv)
    assert code == 2 and words in err
    nfv.lcm.scale.assert_not_called()


def test_additional_param_file_is_merged_into_the_request_as_tackerclient_does(
        nfv, capsys, request_file):
    # python-tackerclient: body.update(json of the file); the file's fields win.
    params = request_file({"additionalParams": {"a": 1}, "numberOfSteps": 3})
    code, _, err = run(capsys, "vnflcm", "scale", VNF_ID, "--type", "SCALE_IN",
                       "--aspect-id", "A", "--number-of-steps", "1",
                       "--additional-param-file", params)
    assert code == 0, err
    nfv.lcm.scale.assert_called_once_with(VNF_ID, "SCALE_IN", "A", number_of_steps=3,
                                          additional_params={"a": 1})
    params = request_file({"cause": "from file", "additionalParams": {"b": 2}})
    code, _, err = run(capsys, "vnflcm", "heal", VNF_ID, "--cause", "cli",
                       "--additional-param-file", params)
    assert code == 0, err
    nfv.lcm.heal.assert_called_once_with(VNF_ID, vnfc_instance_ids=None,
                                         cause="from file", additional_params={"b": 2})


@pytest.mark.parametrize("content, words", [
    ({"additionalParams": {"a": 1}, "colour": 3},
     "has key(s) 'colour' that the request does not take; use type, aspectId, "
     "numberOfSteps, additionalParams"),
    ({"additionalParams": [1]}, '"additionalParams" in request file'),
])
def test_additional_param_file_errors(nfv, capsys, request_file, content, words):
    code, _, err = run(capsys, "vnflcm", "scale", VNF_ID, "--type", "SCALE_IN",
                       "--aspect-id", "A", "--additional-param-file",
                       request_file(content))
    assert code == 2 and words in err and err.count("\n") == 1
    nfv.lcm.scale.assert_not_called()


def test_heal_options_reach_the_library(nfv, capsys, request_file):
    params = request_file({"additionalParams": {"all": True}})
    code, out, err = run(capsys, "vnflcm", "heal", "--cause", "disk full",
                         "--vnfc-instance", "srv-1", "srv-2", "--vnfc-instance", "srv-3",
                         "--additional-param-file", params, "--", VNF_ID)
    assert code == 0, err
    nfv.lcm.heal.assert_called_once_with(VNF_ID, vnfc_instance_ids=["srv-1", "srv-2",
                                                                    "srv-3"],
                                         cause="disk full",
                                         additional_params={"all": True})
    assert out.startswith(f"Heal request for VNF Instance {VNF_ID} has been accepted.\n")

    nfv.lcm.heal.reset_mock()
    assert run(capsys, "vnflcm", "heal", VNF_ID)[0] == 0
    nfv.lcm.heal.assert_called_once_with(VNF_ID, vnfc_instance_ids=None, cause=None,
                                         additional_params=None)


def test_terminate_options_reach_the_library(nfv, capsys):
    code, out, err = run(capsys, "vnflcm", "terminate", VNF_ID,
                         "--graceful-termination-timeout", "30")
    assert code == 0, err
    nfv.lcm.terminate.assert_called_once_with(VNF_ID, termination_type="GRACEFUL",
                                              graceful_termination_timeout=30)
    assert out.startswith(f"Terminate request for VNF Instance '{VNF_ID}' has been "
                          "accepted.\n")
    nfv.lcm.terminate.reset_mock()
    assert run(capsys, "vnflcm", "terminate", VNF_ID, "--termination-type",
               "FORCEFUL")[0] == 0
    nfv.lcm.terminate.assert_called_once_with(VNF_ID, termination_type="FORCEFUL",
                                              graceful_termination_timeout=None)
    nfv.vnfs.delete_vnf.assert_not_called()


def test_terminate_forceful_with_graceful_timeout_is_refused(nfv, capsys):
    code, _, err = run(capsys, "vnflcm", "terminate", VNF_ID, "--termination-type",
                       "FORCEFUL", "--graceful-termination-timeout", "10")
    assert code == 2 and "invalid for 'FORCEFUL' termination" in err
    nfv.lcm.terminate.assert_not_called()


def test_terminate_and_delete_waits_for_completion(nfv, capsys):
    follow(nfv, make_op(OpState.PROCESSING, Operation.TERMINATE, step=1),
           make_op(OpState.COMPLETED, Operation.TERMINATE, step=5))
    code, out, err = run(capsys, "vnflcm", "terminate", VNF_ID, "--D", "--timeout", "60")
    assert code == 0, err
    nfv.lcm.wait.assert_called_once_with(OP_ID, timeout=60.0, progress=mock.ANY)
    nfv.vnfs.delete_vnf.assert_called_once_with(VNF_ID)
    assert out.splitlines() == [
        f"Terminate request for VNF Instance '{VNF_ID}' has been accepted.",
        f"VNF LCM operation occurrence ID: {OP_ID}",
        "Waiting for vnf instance to be terminated before deleting",
        f"TERMINATE {OP_ID}: COMPLETED",
        f"VNF Instance '{VNF_ID}' deleted successfully",
    ]


def test_terminate_and_delete_keeps_the_instance_when_termination_fails(nfv, capsys):
    error = {"title": "Stack delete failed", "detail": "Resource DELETE failed:\n boom"}
    follow(nfv, make_op(OpState.FAILED_TEMP, Operation.TERMINATE, step=3, error=error))
    code, out, err = run(capsys, "vnflcm", "terminate", VNF_ID, "--D")
    assert code == 20
    nfv.vnfs.delete_vnf.assert_not_called()
    assert f"TERMINATE {OP_ID}: FAILED_TEMP: Resource DELETE failed: boom\n" in out
    assert f"VNF Instance '{VNF_ID}' is not deleted: termination ended FAILED_TEMP" in err


# -- --wait ------------------------------------------------------------------

@pytest.mark.parametrize("state, code", [
    (OpState.COMPLETED, 0), (OpState.FAILED_TEMP, 20), (OpState.FAILED, 21),
    (OpState.ROLLED_BACK, 22),
])
def test_wait_exit_code_per_final_state(nfv, capsys, request_file, state, code):
    follow(nfv, make_op(state, step=5))
    got, out, err = run(capsys, "vnflcm", "instantiate", VNF_ID, request_file({}),
                        "--wait")
    assert got == code, err
    assert out.splitlines()[-1] == f"INSTANTIATE {OP_ID}: {state.value}"
    assert ("vnflcm op retry" in err) == (state is OpState.FAILED_TEMP)


def test_wait_progress_one_line_per_change_on_stderr(nfv, capsys):
    follow(nfv, make_op(OpState.STARTING, Operation.SCALE),
           make_op(OpState.PROCESSING, Operation.SCALE, step=2),
           make_op(OpState.PROCESSING, Operation.SCALE, step=2),
           make_op(OpState.PROCESSING, Operation.SCALE, step=3),
           make_op(OpState.COMPLETED, Operation.SCALE, step=5))
    code, out, err = run(capsys, "vnflcm", "scale", VNF_ID, "--type", "SCALE_OUT",
                         "--aspect-id", "A", "--wait", "--timeout", "2.5")
    assert code == 0
    nfv.lcm.wait.assert_called_once_with(OP_ID, timeout=2.5, progress=mock.ANY)
    assert err.splitlines() == ["STARTING step 1 of 6: validate",
                                "PROCESSING step 3 of 6: create stack",
                                "PROCESSING step 4 of 6: wait for stack",
                                "COMPLETED step 6 of 6: record"]
    assert out.splitlines()[-1] == f"SCALE {OP_ID}: COMPLETED"


def test_wait_timeout_exits_11(nfv, capsys):
    nfv.lcm.wait.side_effect = WaitTimeout(f"{OP_ID} still PROCESSING after 5s",
                                           timeout=5)
    code, out, err = run(capsys, "vnflcm", "heal", VNF_ID, "--wait", "--timeout", "5")
    assert code == 11
    assert err == f"nfv: error: {OP_ID} still PROCESSING after 5s\n"
    assert out.startswith("Heal request")


@pytest.mark.parametrize("argv, words", [
    (("--timeout", "5"), "--timeout needs --wait"),
    (("--wait", "--timeout", "0"), "expected seconds > 0, not '0'"),
    (("--wait", "--timeout", "soon"), "expected a number, not 'soon'"),
])
def test_timeout_option_errors(nfv, capsys, argv, words):
    code, _, err = run(capsys, "vnflcm", "heal", VNF_ID, *argv)
    assert code == 2 and words in err
    nfv.lcm.heal.assert_not_called()


def test_progress_rewrites_one_line_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    progress = Progress(stream)
    progress(make_op(OpState.PROCESSING, step=0))
    progress(make_op(OpState.PROCESSING, step=0))
    progress(make_op(OpState.COMPLETED, step=5, steps=()))
    progress.close()
    assert stream.getvalue() == ("\r\x1b[KPROCESSING step 1 of 6: validate"
                                 "\r\x1b[KCOMPLETED\n")


def test_library_error_on_request_maps_to_exit_code(nfv, capsys, request_file):
    nfv.lcm.instantiate.side_effect = Conflict(
        f"VNF {VNF_ID} is INSTANTIATED", hint="terminate it first")
    code, out, err = run(capsys, "vnflcm", "instantiate", VNF_ID, request_file({}))
    assert code == 4 and out == ""
    assert err == f"nfv: error: VNF {VNF_ID} is INSTANTIATED; terminate it first\n"


# -- vnflcm op ---------------------------------------------------------------

def test_op_list_columns_and_filter(nfv, capsys):
    nfv.lcm.list_op_occs.return_value = [
        make_op(OpState.FAILED_TEMP), make_op(OpState.COMPLETED, Operation.SCALE,
                                              id="op-2")]
    code, out, err = run(capsys, "vnflcm", "op", "list", "--filter",
                         "(eq,operationState,FAILED_TEMP)", "-f", "json")
    assert code == 0, err
    nfv.lcm.list_op_occs.assert_called_once_with(filter="(eq,operationState,FAILED_TEMP)")
    rows = json.loads(out)
    assert rows[0] == {"ID": OP_ID, "Operation State": "FAILED_TEMP",
                       "VNF Instance ID": VNF_ID, "Operation": "INSTANTIATE"}
    assert rows[1]["Operation"] == "SCALE"

    nfv.lcm.list_op_occs.reset_mock()
    code, out, _ = run(capsys, "vnflcm", "op", "list")
    assert code == 0 and "Operation State" in out
    nfv.lcm.list_op_occs.assert_called_once_with(filter=None)


def test_op_show_columns(nfv, capsys):
    error = {"title": "Stack create failed", "status": 422, "detail": "quota"}
    nfv.lcm.get_op_occ.return_value = make_op(
        OpState.FAILED_TEMP, step=3, error=error, request={"flavourId": "simple"},
        resource_changes={"affectedVnfcs": [{"id": "srv-1"}]}, cancel_mode="GRACEFUL")
    code, out, err = run(capsys, "vnflcm", "op", "show", OP_ID, "-f", "json")
    assert code == 0, err
    nfv.lcm.get_op_occ.assert_called_once_with(OP_ID)
    shown = json.loads(out)
    tacker = ["Cancel Mode", "Changed External Connectivity", "Changed Info", "Error",
              "Grant ID", "ID", "Is Automatic Invocation", "Is Cancel Pending", "Links",
              "Operation", "Operation Parameters", "Operation State", "Resource Changes",
              "Start Time", "State Entered Time", "VNF Instance ID"]
    # python-tackerclient's columns, sorted as it sorts them, then nfvkit's own
    assert list(shown) == tacker + ["Current Step", "VNF Instance Deleted", "On Failure",
                                    "Is Suspend Pending", "Is Suspended", "Steps",
                                    "Escalations"]
    base = f"/vnflcm/v2/vnf_lcm_op_occs/{OP_ID}"
    assert shown == {
        "On Failure": None, "Is Suspend Pending": False, "Is Suspended": False,
        "Steps": [dict(name=s.name, status="PENDING", started_at=None, ended_at=None,
                       error=None, detail=None, attempts=0, progress=None) for s in STEPS],
        "Escalations": [],
        "Cancel Mode": "GRACEFUL", "Current Step": "step 4 of 6: wait for stack",
        "Changed External Connectivity": "", "Changed Info": "", "Grant ID": "",
        "Error": error, "ID": OP_ID, "Is Automatic Invocation": False,
        "Is Cancel Pending": False, "Operation": "INSTANTIATE",
        "Operation Parameters": {"flavourId": "simple"}, "Operation State": "FAILED_TEMP",
        "Resource Changes": {"affectedVnfcs": [{"id": "srv-1", "computeResource": {
            "vimConnectionId": "default", "resourceId": "srv-1"}}]},
        "Links": {"self": {"href": base},
                  "vnfInstance": {"href": f"/vnflcm/v2/vnf_instances/{VNF_ID}"},
                  "retry": {"href": f"{base}/retry"},
                  "rollback": {"href": f"{base}/rollback"},
                  "fail": {"href": f"{base}/fail"}},
        "Start Time": T0, "State Entered Time": T0, "VNF Instance ID": VNF_ID,
        "VNF Instance Deleted": False,
    }
    nfv.lcm.get_op_occ.return_value = make_op(OpState.STARTING, steps=())
    code, out, _ = run(capsys, "vnflcm", "op", "show", OP_ID, "-f", "yaml")
    shown = yaml.safe_load(out)
    assert shown["Error"] == "" and shown["Current Step"] is None
    code, out, _ = run(capsys, "vnflcm", "op", "show", OP_ID)
    assert code == 0 and "Operation Parameters" in out


def test_op_show_and_list_an_occurrence_of_a_deleted_instance(nfv, capsys):
    nfv.lcm.get_op_occ.return_value = make_op(OpState.COMPLETED, Operation.TERMINATE,
                                              step=6, vnf_instance_deleted=True)
    code, out, err = run(capsys, "vnflcm", "op", "show", OP_ID, "-f", "json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["VNF Instance Deleted"] is True and shown["VNF Instance ID"] == VNF_ID
    code, out, _ = run(capsys, "vnflcm", "op", "show", OP_ID)
    assert code == 0
    assert [line for line in out.splitlines() if "VNF Instance Deleted" in line][0] \
        .replace(" ", "") == "|VNFInstanceDeleted|True|"
    nfv.lcm.list_op_occs.return_value = [make_op(OpState.COMPLETED,
                                                 vnf_instance_deleted=True)]
    code, out, _ = run(capsys, "vnflcm", "op", "list", "-f", "json")
    assert code == 0 and json.loads(out)[0]["VNF Instance ID"] == VNF_ID


def test_op_fail_shows_the_occurrence(nfv, capsys):
    nfv.lcm.fail.return_value = make_op(OpState.FAILED)
    code, out, err = run(capsys, "vnflcm", "op", "fail", OP_ID, "-f", "json")
    assert code == 0, err
    nfv.lcm.fail.assert_called_once_with(OP_ID)
    assert json.loads(out)["Operation State"] == "FAILED"


@pytest.mark.parametrize("verb, method, kwargs", [
    ("rollback", "rollback", {}),
    ("retry", "retry", {}),
    ("cancel", "cancel", {"cancel_mode": "GRACEFUL"}),
])
def test_op_requests_print_accepted(nfv, capsys, verb, method, kwargs):
    code, out, err = run(capsys, "vnflcm", "op", verb, OP_ID)
    assert code == 0, err
    getattr(nfv.lcm, method).assert_called_once_with(OP_ID, **kwargs)
    assert out.splitlines()[0] == (f"{verb.capitalize()} request for LCM operation "
                                   f"{OP_ID} has been accepted")
    nfv.lcm.wait.assert_not_called()


def test_op_cancel_mode(nfv, capsys):
    assert run(capsys, "vnflcm", "op", "cancel", OP_ID, "--cancel-mode", "FORCEFUL")[0] == 0
    nfv.lcm.cancel.assert_called_once_with(OP_ID, cancel_mode="FORCEFUL")
    code, _, err = run(capsys, "vnflcm", "op", "cancel", OP_ID, "--cancel-mode", "NOW")
    assert code == 2 and "invalid choice" in err


@pytest.mark.parametrize("verb, state, code", [
    ("rollback", OpState.ROLLED_BACK, 0),
    ("rollback", OpState.FAILED_TEMP, 20),
    ("retry", OpState.COMPLETED, 0),
    ("retry", OpState.FAILED_TEMP, 20),
    ("retry", OpState.ROLLED_BACK, 22),
    ("cancel", OpState.FAILED_TEMP, 20),
    ("cancel", OpState.ROLLED_BACK, 22),
])
def test_op_requests_wait_exit_codes(nfv, capsys, verb, state, code):
    follow(nfv, make_op(OpState.ROLLING_BACK, step=2), make_op(state, step=0))
    got, out, err = run(capsys, "vnflcm", "op", verb, OP_ID, "--wait")
    assert got == code, err
    assert err.splitlines()[0] == "ROLLING_BACK step 3 of 6: undoing create stack"
    assert out.splitlines()[-1] == f"INSTANTIATE {OP_ID}: {state.value}"


def test_op_request_on_unknown_occurrence(nfv, capsys):
    nfv.lcm.retry.side_effect = NotFound("no operation occurrence nope")
    code, out, err = run(capsys, "vnflcm", "op", "retry", "nope", "--wait")
    assert code == 3 and out == "" and err.count("\n") == 1
    nfv.lcm.wait.assert_not_called()


# -- hostile request files ----------------------------------------------------

def _bounded_file(tmp_path, kind):
    if kind == "/dev/zero":
        return "/dev/zero"
    path = tmp_path / f"{kind}.json"
    path.write_text({"nested": "[" * 3000 + "]" * 3000,
                     "nan": '{"flavourId": "simple", "extensions": {"x": NaN}}',
                     "infinity": '{"additionalParams": {"x": -Infinity}}',
                     "huge": '{"flavourId": "' + "x" * (5 * 1024 * 1024) + '"}'}[kind])
    return str(path)


@pytest.mark.parametrize("kind, words", [
    ("/dev/zero", "request file /dev/zero is larger than 4 MiB"),
    ("huge", "is larger than 4 MiB"),
    ("nested", "is nested deeper than 32 levels"),
    ("nan", "NaN is not a JSON number"),
    ("infinity", "-Infinity is not a JSON number"),
])
@pytest.mark.parametrize("argv", [
    ("vnflcm", "instantiate", VNF_ID, "{file}"),
    ("vnflcm", "create", "vnfd-1", "--I", "{file}"),
    ("vnflcm", "scale", VNF_ID, "--type", "SCALE_OUT", "--aspect-id", "A",
     "--additional-param-file", "{file}"),
    ("vnflcm", "heal", VNF_ID, "--additional-param-file", "{file}"),
])
def test_hostile_request_files_fail_fast_in_one_line(nfv, capsys, tmp_path, kind, words,
                                                     argv):
    import time

    path = _bounded_file(tmp_path, kind)
    started = time.monotonic()
    code, out, err = run(capsys, *(a.format(file=path) for a in argv))
    assert time.monotonic() - started < 2
    assert code == 2 and out == "" and err.count("\n") == 1 and words in err, err
    assert "Traceback" not in err
    nfv.vnfs.create_vnf.assert_not_called()
    for call in (nfv.lcm.instantiate, nfv.lcm.scale, nfv.lcm.heal):
        call.assert_not_called()


# -- refused requests against the real local library --------------------------

@pytest.fixture
def local_vnf(nfv_home, keystone):
    """A VIM, the sample package and a NOT_INSTANTIATED instance in a real store."""
    from pathlib import Path

    import nfvlib
    from tests.unit.conftest import vim_config

    client = nfvlib.Client()
    try:
        client.vims.register_vim("site", vim_config(), is_default=True)
        package = client.packages.create_package()
        sample = Path(nfvlib.__file__).parent / "samples" / "sample_vnf"
        package = client.packages.upload_package(package.id, str(sample))
        vnf = client.vnfs.create_vnf(package.vnfd_id, name="v")
    finally:
        client.close()
    return vnf


def _store_and_files(data_dir):
    import sqlite3

    conn = sqlite3.connect(data_dir / "nfv.sqlite")
    try:
        rows = list(conn.iterdump())
    finally:
        conn.close()
    files = sorted((str(p.relative_to(data_dir)), p.stat().st_size)
                   for p in data_dir.rglob("*")
                   if p.is_file() and not p.name.startswith("nfv.sqlite"))
    return rows, files


V3 = "ETSINFV.OPENSTACK_KEYSTONE.V_3"


@pytest.mark.parametrize("body, words", [
    ({"flavourId": "simple", "vimConnectionInfo": {"v": {"vimType": V3}}},
     "$.vimConnectionInfo.v.vimId is missing"),
    ({"flavourId": "simple", "vimConnectionInfo": {"v": "site"}},
     "$.vimConnectionInfo.v must be an object, not a string"),
    ({"flavourId": "simple", "vimConnectionInfo": {
        "a": {"vimId": "site", "vimType": V3}, "b": {"vimId": "elsewhere", "vimType": V3}}},
     "vimConnectionInfo.b.vimId: no VIM has the id or name 'elsewhere'"),
    ({"flavourId": "simple", "vimConnectionInfo": {
        "v": {"vimId": "site", "vimType": "kubernetes"}}}, "vimType is 'kubernetes'"),
    ({"flavourId": "simple", "vimConnectionInfo": {
        "v": {"vimId": "site", "vimType": V3, "accessInfo": "RegionOne"}}},
     "$.vimConnectionInfo.v.accessInfo must be an object, not a string"),
    ({"flavourId": "simple", "vimConnectionInfo": {
        "v": {"vimId": ["site"], "vimType": V3}}},
     "$.vimConnectionInfo.v.vimId must be a string, not an array"),
    ({"flavourId": "simple", "localizationLanguage": 5},
     "$.localizationLanguage must be a string, not an integer"),
    ({"flavourId": "simple", "extensions": "x"}, "$.extensions must be an object"),
    ({"flavourId": "simple", "vnfConfigurableProperties": [1]},
     "$.vnfConfigurableProperties must be an object, not an array"),
    ({"flavourId": "simple", "colour": "red"}, "$ has unknown field(s) 'colour'"),
])
def test_refused_instantiate_requests_exit_2_and_change_nothing(local_vnf, nfv_home,
                                                                capsys, tmp_path, body,
                                                                words, monkeypatch):
    from nfvlib.store.lcm import VnfTable

    path = tmp_path / "req.json"
    path.write_text(json.dumps(body))
    before = _store_and_files(nfv_home)
    code, out, err = run(capsys, "vnflcm", "instantiate", local_vnf.id, str(path))
    assert code == 2 and out == "" and err.count("\n") == 1 and words in err, err
    assert _store_and_files(nfv_home) == before
    inserted = []
    real_insert = VnfTable.insert
    monkeypatch.setattr(VnfTable, "insert", lambda self, conn, vnf: (
        inserted.append(vnf), real_insert(self, conn, vnf)))
    code, out, err = run(capsys, "vnflcm", "create", local_vnf.vnfd_id, "--I", str(path))
    assert code == 2 and out == "" and err.count("\n") == 1 and words in err, err
    assert inserted == []  # checked before anything is created, not created and deleted
    assert _store_and_files(nfv_home) == before


# -- escalation policy, suspend and resume, status -------------------------------

@pytest.mark.parametrize("argv, method, args", [
    (["instantiate", VNF_ID, "REQ"], "instantiate", (VNF_ID, {"flavourId": "simple"})),
    (["scale", VNF_ID, "--type", "SCALE_OUT", "--aspect-id", "a"], "scale",
     (VNF_ID, "SCALE_OUT", "a")),
    (["heal", VNF_ID], "heal", (VNF_ID,)),
    (["terminate", VNF_ID], "terminate", (VNF_ID,)),
    (["change-vnfpkg", VNF_ID, "REQ"], "change_vnfpkg", (VNF_ID, {"flavourId": "simple"})),
])
def test_on_failure_goes_with_every_operation_request(nfv, capsys, request_file, argv,
                                                      method, args):
    path = request_file({"flavourId": "simple"})
    argv = [path if a == "REQ" else a for a in argv]
    code, out, err = run(capsys, "vnflcm", *argv, "--on-failure", "retry:2,rollback")
    assert code == 0, err
    call = getattr(nfv.lcm, method).call_args
    assert call.args[:len(args)] == args
    assert call.kwargs["on_failure"] == "retry:2,rollback"
    getattr(nfv.lcm, method).reset_mock()
    code, out, err = run(capsys, "vnflcm", *argv)
    assert code == 0, err
    assert "on_failure" not in getattr(nfv.lcm, method).call_args.kwargs


def test_on_failure_and_suspend_are_refused_in_remote_mode(nfv, capsys, monkeypatch,
                                                           request_file):
    for k, v in {"OS_AUTH_URL": "http://keystone.test/v3", "OS_USERNAME": "u",
                 "OS_PASSWORD": "p", "OS_PROJECT_NAME": "demo"}.items():
        monkeypatch.setenv(k, v)
    path = request_file({"flavourId": "simple"})
    code, out, err = run(capsys, "--os-nfv-mode", "remote", "vnflcm", "instantiate",
                         VNF_ID, path, "--on-failure", "rollback")
    assert code == 9 and out == "" and err.count("\n") == 1
    assert "--on-failure is a local-mode feature" in err and "Traceback" not in err
    nfv.lcm.instantiate.assert_not_called()
    for verb in ("suspend", "resume"):
        code, out, err = run(capsys, "--os-nfv-mode", "remote", "vnflcm", "op", verb,
                             OP_ID)
        assert code == 9 and f"{verb} is a local-mode feature" in err, err
        getattr(nfv.lcm, verb).assert_not_called()


def test_a_bad_policy_is_one_line_exit_2(nfv, capsys, request_file):
    nfv.lcm.instantiate.side_effect = InvalidInput(
        "--on-failure: unknown procedure 'retyr'",
        hint="use retry[:N], rollback and fallback, in this order")
    code, out, err = run(capsys, "vnflcm", "instantiate", VNF_ID,
                         request_file({"flavourId": "simple"}), "--on-failure", "retyr")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "unknown procedure 'retyr'" in err


def test_suspend_then_resume(nfv, capsys):
    suspended = make_op(OpState.FAILED_TEMP, step=2, is_suspended=True, error={
        "title": "Operation suspended", "status": 409,
        "detail": "suspended before step 3 of 6 (create stack)"})
    nfv.lcm.suspend.return_value = make_op(OpState.PROCESSING, step=2,
                                           is_suspend_pending=True)
    follow(nfv, make_op(OpState.PROCESSING, step=2, is_suspend_pending=True), suspended)
    code, out, err = run(capsys, "vnflcm", "op", "suspend", OP_ID, "--wait")
    assert code == 0, err  # suspended is what was asked for
    nfv.lcm.suspend.assert_called_once_with(OP_ID)
    assert f"Suspend request for LCM operation {OP_ID} has been accepted" in out
    assert "FAILED_TEMP: suspended before step 3 of 6 (create stack)" in out
    assert f"'vnflcm op resume {OP_ID}'" in err

    follow(nfv, make_op(OpState.PROCESSING, step=2), make_op(OpState.COMPLETED, step=6))
    code, out, err = run(capsys, "vnflcm", "op", "resume", OP_ID, "--wait")
    assert code == 0, err
    nfv.lcm.resume.assert_called_once_with(OP_ID)
    assert f"Resume request for LCM operation {OP_ID} has been accepted" in out
    nfv.lcm.resume.side_effect = Conflict(
        f"operation occurrence {OP_ID} is FAILED_TEMP but was not suspended")
    code, out, err = run(capsys, "vnflcm", "op", "resume", OP_ID)
    assert code == 4 and "was not suspended" in err and out == ""


def test_op_show_lists_steps_attempts_timings_and_escalations(nfv, capsys):
    steps = (OpStep("validate", "DONE", "2026-01-01T10:00:00+00:00",
                    "2026-01-01T10:00:01+00:00", attempts=1),
             OpStep("create stack", "DONE", "2026-01-01T10:00:01+00:00",
                    "2026-01-01T10:00:09+00:00", attempts=2,
                    detail="attempt 1 failed: Heat in region RegionOne did not answer; "
                           "retrying (1 of 3)"),
             OpStep("test", "RUNNING", "2026-01-01T10:00:09+00:00", attempts=1,
                    progress="3 of 5 probes"))
    escalations = ({"at": "2026-01-01T10:00:05+00:00", "procedure": "retry",
                    "step": "create stack", "reason": "boom",
                    "outcome": "attempt 1 of 2"},)
    nfv.lcm.get_op_occ.return_value = make_op(
        OpState.PROCESSING, step=2, steps=steps, escalations=escalations,
        on_failure="retry:2,rollback")
    code, out, err = run(capsys, "vnflcm", "op", "show", OP_ID)
    assert code == 0, err
    text = " ".join(out.split())
    assert "step 3 of 3: test" in text
    assert "1. validate: DONE, attempts 1, 10:00:00..10:00:01" in text
    assert ("2. create stack: DONE, attempts 2, 10:00:01..10:00:09; detail: attempt 1 "
            "failed: Heat in region RegionOne did not answer") in text
    assert "3. test: RUNNING, attempts 1, 10:00:09..-; progress: 3 of 5 probes" in text
    assert "10:00:05 retry attempt 1 of 2 (step create stack)" in text
    assert "retry:2,rollback" in text
    code, out, _ = run(capsys, "vnflcm", "op", "show", OP_ID, "-f", "json")
    shown = json.loads(out)
    assert [s["attempts"] for s in shown["Steps"]] == [1, 2, 1]
    assert shown["Steps"][2]["progress"] == "3 of 5 probes"
    assert shown["Escalations"] == [dict(escalations[0])]


def test_wait_json_lines_are_events_then_the_result(nfv, capsys, request_file):
    nfv.lcm.instantiate.return_value = make_op()
    running = make_op(OpState.PROCESSING, step=2,
                      steps=STEPS[:2] + (OpStep("create stack", "RUNNING", attempts=2),)
                      + STEPS[3:])
    done = make_op(OpState.COMPLETED, step=6)
    follow(nfv, make_op(OpState.PROCESSING, step=0), running, done)
    code, out, err = run(capsys, "vnflcm", "instantiate", VNF_ID,
                         request_file({"flavourId": "simple"}), "--wait", "-f", "json")
    assert code == 0, err
    events = [json.loads(line) for line in out.splitlines()]
    assert [e["event"] for e in events] == ["accepted", "progress", "progress",
                                            "progress", "result"]
    assert events[0]["id"] == OP_ID and events[0]["operationState"] == "STARTING"
    assert events[2] == {"event": "progress", "id": OP_ID, "operation": "INSTANTIATE",
                         "state": "PROCESSING", "step": 3,
                         "steps": 6, "stepName": "create stack", "stepStatus": "RUNNING",
                         "attempts": 2, "isCancelPending": False, "isSuspended": False}
    assert events[-1]["operationState"] == "COMPLETED"
    assert len(events[-1]["steps"]) == 6 and events[-1]["escalations"] == []
    assert "has been accepted" not in out  # stdout is JSON lines only
    # without -f json the output is what it always was
    follow(nfv, done)
    code, out, err = run(capsys, "vnflcm", "instantiate", VNF_ID,
                         request_file({"flavourId": "simple"}), "--wait")
    assert code == 0 and "has been accepted" in out and not out.startswith("{")


# -- vnflcm update, change-ext-conn, versions; list filters and fields -------------

def test_update_sends_the_request_file(nfv, capsys, request_file):
    nfv.vnfs.update_vnf.return_value = make_vnf(name="new")
    body = {"vnfInstanceName": "new", "vnfdId": "vnfd-2"}
    code, out, err = run(capsys, "vnflcm", "update", VNF_ID, "--I", request_file(body))
    assert code == 0, err
    nfv.vnfs.update_vnf.assert_called_once_with(VNF_ID, body)
    assert out == f"Update vnf:{VNF_ID} \n"
    code, out, err = run(capsys, "vnflcm", "update", VNF_ID)
    assert code == 2 and "--I" in err and out == ""


def test_change_ext_conn_is_an_lcm_request(nfv, capsys, request_file):
    nfv.lcm.change_ext_conn.return_value = make_op(operation=Operation.CHANGE_EXT_CONN)
    body = {"extVirtualLinks": [{"id": "ext1", "resourceId": "net-2"}]}
    code, out, err = run(capsys, "vnflcm", "change-ext-conn", VNF_ID, request_file(body))
    assert code == 0, err
    nfv.lcm.change_ext_conn.assert_called_once_with(VNF_ID, body)
    assert out.splitlines() == [
        f"Change External VNF Connectivity for VNF Instance {VNF_ID} has been accepted.",
        f"VNF LCM operation occurrence ID: {OP_ID}"]
    from nfvlib.exceptions import Unsupported

    nfv.lcm.change_ext_conn.side_effect = Unsupported(
        "change-ext-conn is not implemented in local mode")
    code, out, err = run(capsys, "vnflcm", "change-ext-conn", VNF_ID, request_file(body))
    assert code != 0 and out == "" and err.count("\n") == 1


def test_versions_shows_tackers_shape(nfv, capsys):
    nfv.lcm.versions.return_value = {"uriPrefix": "/vnflcm/v2", "apiVersions": [
        {"version": "2.0.0", "isDeprecated": False}]}
    code, out, err = run(capsys, "vnflcm", "versions", "--major-version", "2", "-f", "json")
    assert code == 0, err
    nfv.lcm.versions.assert_called_once_with(2)
    assert json.loads(out) == nfv.lcm.versions.return_value


def test_list_filter_fields_and_exclude_fields(nfv, capsys):
    nfv.vnfs.list_vnfs.return_value = [make_vnf()]
    code, out, err = run(capsys, "vnflcm", "list", "--filter",
                         "(eq,vimConnectionInfo/*/vimId,v1)", "--fields", "_links",
                         "-f", "json")
    assert code == 0, err
    nfv.vnfs.list_vnfs.assert_called_once_with(filter="(eq,vimConnectionInfo/*/vimId,v1)")
    row = json.loads(out)[0]
    assert list(row)[-1] == "_links" and row["_links"]["self"]["href"].endswith(VNF_ID)
    code, out, err = run(capsys, "vnflcm", "list", "--exclude-fields", "VNF Provider",
                         "-f", "json")
    assert code == 0 and "VNF Provider" not in json.loads(out)[0]
    nfv.lcm.list_op_occs.return_value = [make_op()]
    code, out, err = run(capsys, "vnflcm", "op", "list", "--exclude-fields",
                         "VNF Instance ID,Operation", "-f", "json")
    assert code == 0 and list(json.loads(out)[0]) == ["ID", "Operation State"]


def test_os_tacker_api_version_is_accepted_and_ignored_in_local_mode(nfv, capsys):
    nfv.vnfs.list_vnfs.return_value = []
    for version in ("1", "2"):
        code, _, err = run(capsys, "--os-tacker-api-version", version, "vnflcm", "list")
        assert code == 0, err
    code, _, err = run(capsys, "--os-tacker-api-version", "3", "vnflcm", "list")
    assert code == 2 and "invalid choice: '3'" in err
