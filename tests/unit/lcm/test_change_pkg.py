"""CHANGE_VNFPKG as an execution plan, against the stateful fake Heat.

The world is test_plans' (real store, vault, packages and plan runner in
this process); Heat is :class:`tests.unit.fake_heat.FakeHeat`, plus its
template-validate API and ``GET .../template``, added here. Assertions are
about what Heat holds: its template, its ``nfv`` parameter, its snapshots.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path

import pytest
import yaml

import nfvlib
from nfvlib.exceptions import InvalidInput
from nfvlib.models import OpState
from nfvlib.store.restoration import RestorationPointTable
from tests.unit.conftest import HEAT
from tests.unit.fake_heat import FakeHeat
from tests.unit.lcm.world import SAMPLE, Crash, World, make_world

V2_IMAGE = "cirros-0.6.2-x86_64-disk"
V2_DESCRIPTION = "Base HOT of the nfvkit sample VNF, flavour simple, release 2"
FAIL_TEST = {"sample_fail_event": "change_current_package_test"}


def make_v2(where: Path, vnfd_id: str | None = None) -> tuple[Path, str]:
    """A second version of the sample package: another vnfdId, template and image.

    The top template has another description and an output ``release``;
    VDU1's image (so the ``nfv`` parameter) changes; the VNF declares a
    ``change_current_package_test`` script (the sample's lifecycle script,
    which fails when additionalParams.sample_fail_event names the event).
    """
    vnfd_id = vnfd_id or str(uuid.uuid4())
    target = where / "sample_vnf_v2"
    shutil.copytree(SAMPLE, target)
    top = target / "Definitions" / "sample_vnf_top.vnfd.yaml"
    text = top.read_text().replace("a0370897-134e-47e4-bf6f-6946b01b0cd1", vnfd_id)
    top.write_text(text.replace("software_version: '1.0'", "software_version: '2.0'"))
    flavour = target / "Definitions" / "sample_vnf_df_simple.yaml"
    text = flavour.read_text()
    text = text.replace("          terminate_end:\n            implementation: "
                        "lifecycle_script\n",
                        "          terminate_end:\n            implementation: "
                        "lifecycle_script\n          change_current_package_test:\n"
                        "            implementation: lifecycle_script\n", 1)
    text = text.replace("name: cirros-0.5.2-x86_64-disk", f"name: {V2_IMAGE}", 1)
    flavour.write_text(text)
    hot = target / "BaseHOT" / "simple" / "sample_vnf.yaml"
    text = hot.read_text().replace(
        "description: 'Base HOT of the nfvkit sample VNF, flavour simple'",
        f"description: '{V2_DESCRIPTION}'")
    hot.write_text(text + "  release:\n    description: Package release\n"
                          "    value: '2.0'\n")
    return target, vnfd_id


class ChangeWorld(World):
    @property
    def v2_vnfd_id(self) -> str:
        return self.vnfd_ids[1]

    def change(self, vnf, **params):
        return self.lcm.change_vnfpkg(vnf.id, {"vnfdId": self.v2_vnfd_id,
                                               "additionalParams": params})

    # -- what Heat holds
    def stack(self, vnf):
        return self.heat._get(vnf.stack_name)

    def template(self, vnf) -> dict:
        return json.loads(json.dumps(self.stack(vnf).template, default=str))

    def nfv(self, vnf) -> dict:
        return json.loads(self.heat.stack(vnf.stack_name)["parameters"]["nfv"])

    def snapshots(self, vnf) -> list:
        return list(self.stack(vnf).snapshots.values())


def add_heat_extras(mocker, heat: FakeHeat, url: str) -> list:
    """Heat's ``POST /validate`` and ``GET .../template`` on the fake Heat.

    Returns the templates validate received (a template without resources
    is refused, as Heat refuses it).
    """
    validated = []

    def validate(request, context):
        body = request.json()
        template = body["template"]
        template = yaml.safe_load(template) if isinstance(template, str) else template
        validated.append(template)
        context.headers["Content-Type"] = "application/json"
        if not (template or {}).get("resources"):
            context.status_code = 400
            return {"error": {"message": "The template section is invalid: resources",
                              "type": "StackValidationFailed"}}
        return {"Description": template.get("description", ""),
                "Parameters": {k: {"Type": v.get("type")} for k, v in
                               (template.get("parameters") or {}).items()}}

    def template(request, context):
        context.headers["Content-Type"] = "application/json"
        stack_id = request.path.rstrip("/").split("/")[-2]
        # As JSON, as Heat answers (PyYAML reads the version as a date).
        return json.loads(json.dumps(heat._get(stack_id).template, default=str))

    mocker.post(url + "/validate", json=validate)
    mocker.get(re.compile(re.escape(url) + r"/stacks/[^/]+/[^/]+/template$"),
               json=template)
    return validated


@pytest.fixture
def world(nfv_home, keystone, requests_mock, monkeypatch, tmp_path):
    v2_dir, _ = make_v2(tmp_path)
    w = make_world(requests_mock, monkeypatch, SAMPLE, v2_dir, world=ChangeWorld)
    add_heat_extras(requests_mock, w.heat, HEAT["RegionOne"])
    yield w
    w.services.close()


# -- success and commit ---------------------------------------------------
def test_upgrade_commits_the_new_package_and_heat_runs_its_template(world):
    vnf = world.instantiated()
    members = world.heat.members(vnf.stack_name, "VDU1_scale_group")
    assert world.nfv(vnf)["VDU"]["VDU1"]["vcImageId"] == "cirros-0.5.2-x86_64-disk"

    op = world.done(world.change(vnf))

    assert op.state is OpState.COMPLETED, op.error
    assert [s.name for s in op.steps] == [
        "validate request", "validate template", "estimate resources",
        "collect rollback data", "create restoration point", "update stack",
        "wait for stack", "test", "commit"]
    assert world.template(vnf)["description"] == V2_DESCRIPTION
    assert "release" in world.template(vnf)["outputs"]
    assert world.nfv(vnf)["VDU"]["VDU1"]["vcImageId"] == V2_IMAGE
    assert world.nfv(vnf)["VDU"]["VDU1"]["desired_capacity"] == 1
    assert world.heat.members(vnf.stack_name, "VDU1_scale_group") == members
    after = world.vnfs.get_vnf(vnf.id)
    assert after.vnfd_id == world.v2_vnfd_id
    assert after.vnf_software_version == "2.0"
    # The point taken before deploying is released at commit (Smm.009).
    assert world.snapshots(vnf) == []
    assert RestorationPointTable(world.services.store).for_vnf(vnf.id) == []
    journal = {s.name: s.detail for s in op.steps}
    assert "estimated members per VDU: VDU1 1->1, VDU2 1->1" in journal[
        "estimate resources"]
    assert "tester passed" in journal["test"]
    assert "released" in journal["commit"]


def test_a_kept_restoration_point_stays_after_commit(world):
    vnf = world.instantiated()
    op = world.done(world.change(vnf, keep_restoration_point=True))
    assert op.state is OpState.COMPLETED, op.error
    (snap,) = world.snapshots(vnf)
    (point,) = RestorationPointTable(world.services.store).for_vnf(vnf.id)
    assert point.snapshot_id == snap["id"] and point.vnfd_id == world.vnfd_id
    assert point.size > 0


# -- a failing tester rolls back at once ----------------------------------
def test_a_failing_test_rolls_back_to_the_old_template_and_parameter(world):
    vnf = world.instantiated()
    old_template = world.template(vnf)
    old_nfv = world.nfv(vnf)

    op = world.done(world.change(vnf, **FAIL_TEST))

    assert op.state is OpState.ROLLED_BACK, op.error
    assert "tester failed" in op.error["detail"]
    assert world.template(vnf) == old_template
    assert world.nfv(vnf) == old_nfv
    assert world.stack(vnf).status == "UPDATE_COMPLETE"
    steps = {s.name: s.status for s in op.steps}
    assert steps["test"] == "FAILED"
    assert steps["update stack"] == steps["create restoration point"] == "UNDONE"
    assert world.snapshots(vnf) == []
    assert world.vnfs.get_vnf(vnf.id).vnfd_id == world.vnfd_id


def test_a_template_heat_refuses_fails_before_anything_changes(world, tmp_path):
    vnf = world.instantiated()
    bad_dir, _ = make_v2(tmp_path / "bad")
    hot = bad_dir / "BaseHOT" / "simple" / "sample_vnf.yaml"
    hot.write_text(hot.read_text().replace("resources:\n", "resources_typo:\n", 1)
                   .replace("outputs:", "resources: {}\noutputs:", 1))
    packages = world.services.packages
    # The package check passes it: only Heat's template-validate refuses it.
    bad = packages.upload_package(packages.create_package().id, str(bad_dir))
    op = world.done(world.lcm.change_vnfpkg(vnf.id, {"vnfdId": bad.vnfd_id}))
    assert op.state is OpState.FAILED_TEMP
    assert op.steps[1].status == "FAILED"
    assert world.template(vnf)["description"] != V2_DESCRIPTION
    assert world.snapshots(vnf) == []


# -- bad requests ---------------------------------------------------------
@pytest.mark.parametrize("request_body, message", [
    ({}, "vnfdId"),
    ({"vnfdId": "no-such-vnfd"}, "no onboarded VNF package has vnfdId no-such-vnfd"),
    ({"vnfdId": "X", "bogus": 1}, "no field bogus"),
    ({"vnfdId": "X", "additionalParams": {"upgrade_type": "BlueGreen"}}, "BlueGreen"),
])
def test_bad_requests_are_one_line_and_start_nothing(world, request_body, message):
    vnf = world.instantiated()
    before = len(world.lcm.list_op_occs())
    with pytest.raises(nfvlib.exceptions.NfvError) as err:
        world.lcm.change_vnfpkg(vnf.id, request_body)
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert len(world.lcm.list_op_occs()) == before


def test_the_same_package_is_refused(world):
    vnf = world.instantiated()
    with pytest.raises(InvalidInput, match="already uses vnfdId"):
        world.lcm.change_vnfpkg(vnf.id, {"vnfdId": world.vnfd_id})


# -- rolling update -------------------------------------------------------
def test_a_rolling_update_updates_vdu_by_vdu(world):
    vnf = world.instantiated()
    op = world.done(world.change(vnf, upgrade_type="RollingUpdate",
                                 vdu_params=[{"vdu_id": "VDU1"}]))
    assert op.state is OpState.COMPLETED, op.error
    names = [s.name for s in op.steps]
    assert names[5:9] == ["update stack", "wait for stack", "update stack VDU1",
                          "wait for stack VDU1"]
    puts = [r for r in world.heat.requests if r.method == "PUT"]
    (put,) = puts  # the template first, with VDU1 still on its old image
    assert json.loads(put.json["parameters"]["nfv"])["VDU"]["VDU1"]["vcImageId"] == \
        "cirros-0.5.2-x86_64-disk"
    assert world.nfv(vnf)["VDU"]["VDU1"]["vcImageId"] == V2_IMAGE


# -- a worker killed at every step boundary -------------------------------
STEPS = ["validate request", "validate template", "estimate resources",
         "collect rollback data", "create restoration point", "update stack",
         "wait for stack", "test", "commit"]


# Every boundary twice: "after X" is recovered by retry and "before X" (the
# same boundary seen from the next step) by rollback; and a crash right
# after the commit is rolled back too (the old package comes back).
BOUNDARIES = ([(s, "after", "retry") for s in STEPS]
              + [(s, "before", "rollback") for s in STEPS]
              + [("commit", "after", "rollback")])


@pytest.mark.parametrize("step, when, recovery", BOUNDARIES)
def test_a_killed_worker_leaves_a_recoverable_occurrence_and_no_snapshot(
        world, step, when, recovery):
    vnf = world.instantiated()
    old_template = world.template(vnf)
    old_nfv = world.nfv(vnf)
    requested = world.change(vnf)
    world.crash_at = (step, when)
    with pytest.raises(Crash):
        world.run(requested.id)
    world.expire_lease(requested.id)
    op = world.lcm.get_op_occ(requested.id)
    assert op.state is OpState.FAILED_TEMP, op.state
    world.crash_at = None

    if recovery == "retry":
        final = world.run(world.lcm.retry(op.id).id)
        assert final.state is OpState.COMPLETED, final.error
        assert world.template(vnf)["description"] == V2_DESCRIPTION
        assert world.vnfs.get_vnf(vnf.id).vnfd_id == world.v2_vnfd_id
    else:
        final = world.run(world.lcm.rollback(op.id).id)
        assert final.state is OpState.ROLLED_BACK, final.error
        assert world.template(vnf) == old_template
        assert world.nfv(vnf) == old_nfv
        assert world.vnfs.get_vnf(vnf.id).vnfd_id == world.vnfd_id
    assert world.snapshots(vnf) == []
    assert RestorationPointTable(world.services.store).for_vnf(vnf.id) == []
    assert world.stack(vnf).status.endswith("_COMPLETE")


# -- a failed rollback escalates to a fallback to the occurrence's own poin
def test_a_failed_rollback_escalates_to_the_restoration_point(world, monkeypatch):
    from nfvlib.lcm import change_pkg

    vnf = world.instantiated()
    old_template, old_nfv = world.template(vnf), world.nfv(vnf)
    old_members = world.heat.members(vnf.stack_name, "VDU1_scale_group")
    undeploy = change_pkg._undeploy

    def failing_undeploy(ctx, env):
        world.heat.fail_next_update("injected rollback failure")
        undeploy(ctx, env)

    monkeypatch.setattr(change_pkg, "_undeploy", failing_undeploy)
    requested = world.lcm.change_vnfpkg(
        vnf.id, {"vnfdId": world.v2_vnfd_id, "additionalParams": FAIL_TEST},
        on_failure="rollback,fallback")
    op = world.done(requested)

    assert op.state is OpState.ROLLED_BACK, op.error
    assert "fell back to the restoration point" in op.error["detail"]
    assert world.stack(vnf).status == "RESTORE_COMPLETE"
    assert world.template(vnf) == old_template
    assert world.nfv(vnf) == old_nfv
    assert world.heat.members(vnf.stack_name, "VDU1_scale_group") == old_members
    assert world.vnfs.get_vnf(vnf.id).vnfd_id == world.vnfd_id


# -- an HTTP probe as the tester ----------------------------------------------------
def test_an_http_probe_tester_passes_once_the_service_answers(world, requests_mock):
    requests_mock.get("http://vnf.test/health", [{"status_code": 503},
                                                 {"status_code": 200}])
    vnf = world.instantiated()
    op = world.done(world.change(vnf, tester={"http": "http://vnf.test/health",
                                              "interval": 0.01, "timeout": 5}))
    assert op.state is OpState.COMPLETED, op.error
    assert "HTTP probe http://vnf.test/health" in op.steps[-2].detail
    assert op.steps[-2].progress.startswith("passed in")
    assert world.lcm.get_op_occ(op.id).steps[-2].status == "DONE"


def test_an_http_probe_that_never_answers_rolls_back(world, requests_mock):
    requests_mock.get("http://vnf.test/health", status_code=503)
    vnf = world.instantiated()
    old_template = world.template(vnf)
    op = world.done(world.change(vnf, tester={"http": "http://vnf.test/health",
                                              "interval": 0.01, "timeout": 0.2}))
    assert op.state is OpState.ROLLED_BACK, op.error
    assert "did not answer HTTP 200 within 0.2 s (last: HTTP 503" in op.error["detail"]
    test = next(s for s in op.steps if s.name == "test")
    assert test.progress.startswith("probe ") and test.progress.endswith(": HTTP 503")
    assert world.template(vnf) == old_template


# -- the VIM's limits ------------------------------------------------------------------
def test_an_upgrade_that_does_not_fit_the_vims_limits_is_refused(world, monkeypatch):
    from nfvlib.lcm import change_pkg

    monkeypatch.setattr(change_pkg, "_free_instances", lambda env, data: 0)
    vnf = world.instantiated()
    old_template = world.template(vnf)
    op = world.done(world.change(vnf, nfv={"VDU": {"VDU1": {"desired_capacity": 2}}}))
    assert op.state is OpState.FAILED_TEMP
    assert op.steps[2].name == "estimate resources" and op.steps[2].status == "FAILED"
    assert "needs 1 more server(s) (VDU1 1->2, VDU2 1->1)" in op.error["detail"]
    assert world.template(vnf) == old_template
    assert world.snapshots(vnf) == []
