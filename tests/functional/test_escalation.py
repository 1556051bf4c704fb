"""Retries on the sandbox's real Heat, and JSON-lines progress of the real CLI.

Heat's process is stopped (SIGSTOP) while an instantiate starts: its API
then accepts connections and answers nothing, so the worker's request times
out (the VIM session's timeout) as on a Heat that hangs. The step is retried
with backoff; once Heat runs again (SIGCONT) the operation completes, and
Heat holds the stack.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid

import pytest

from nfvlib.models import InstantiationState, OpState
from nfvlib.sandbox import process
from tests.functional.lcm import LEVEL_1, WAIT



@pytest.fixture
def heat_pid(sandbox):
    pid = process.read_pid(sandbox.heat.pid_file)
    assert pid is not None, "the sandbox's Heat is not running"
    yield pid
    os.kill(pid, signal.SIGCONT)  # whatever happened, Heat runs again


def new_vnf(client, package):
    return client.vnfs.create_vnf(package.vnfd_id, name=f"esc-{uuid.uuid4().hex[:8]}")


def test_heat_not_answering_for_a_while_is_retried_and_the_instantiate_completes(
        client, package, heat, heat_pid):
    vnf = new_vnf(client, package)
    os.kill(heat_pid, signal.SIGSTOP)
    stopped_at = time.monotonic()
    op = client.lcm.instantiate(vnf.id, LEVEL_1)
    # Wait until the first attempt of "create stack" has failed and the
    # second one has started: only then let Heat run again.
    deadline = time.monotonic() + 60
    while True:
        seen = client.lcm.get_op_occ(op.id)
        create = next(s for s in seen.steps if s.name == "create stack")
        if create.attempts >= 2:
            break
        assert seen.state is not OpState.FAILED_TEMP, seen.error
        assert time.monotonic() < deadline, f"no retry after 60 s: {seen.steps}"
        time.sleep(0.2)
    os.kill(heat_pid, signal.SIGCONT)
    resumed_after = time.monotonic() - stopped_at

    done = client.lcm.wait(op.id, timeout=WAIT)

    assert done.state is OpState.COMPLETED, done.error
    create = next(s for s in done.steps if s.name == "create stack")
    assert create.status == "DONE" and create.attempts == 2
    assert create.detail.startswith("attempt 1 failed: Heat in region ")
    assert "did not answer" in create.detail
    # Heat's truth: the stack exists once, complete, with the instance's members
    stacks = [s for s in heat.list_stacks() if s["stack_name"] == vnf.stack_name]
    assert [s["stack_status"] for s in stacks] == ["CREATE_COMPLETE"]
    rows = heat.list_resources(heat.get_stack(vnf.stack_name), nested_depth=5)
    servers = {r["physical_resource_id"] for r in rows
               if r["resource_name"] in ("VDU1", "VDU2")
               and r["resource_type"] != "OS::Heat::AutoScalingGroup"}
    after = client.vnfs.get_vnf(vnf.id)
    assert after.instantiation_state is InstantiationState.INSTANTIATED
    assert {c.id for c in after.vnfc} == servers != set()
    print(f"\nHeat stopped for {resumed_after:.1f} s; the instantiate completed "
          f"{time.monotonic() - stopped_at:.1f} s after the stop")


def nfv(sandbox, *argv):
    proc = subprocess.run(
        [sys.executable, "-m", "nfvcli.shell", "--data-dir", str(sandbox.paths.data_dir),
         *argv], capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def test_wait_json_lines_on_the_sandbox(sandbox, client, package, heat, tmp_path):
    vnf = new_vnf(client, package)
    request = tmp_path / "instantiate.json"
    request.write_text(json.dumps(LEVEL_1))

    code, out, err = nfv(sandbox, "vnflcm", "instantiate", vnf.id, str(request),
                         "--wait", "-f", "json", "--on-failure", "retry:1,rollback")

    assert code == 0, (out, err)
    events = [json.loads(line) for line in out.splitlines()]  # every line is JSON
    assert events[0]["event"] == "accepted" and events[-1]["event"] == "result"
    assert {e["event"] for e in events[1:-1]} == {"progress"}
    op_id = events[0]["id"]
    assert all(e["id"] == op_id for e in events)
    result = events[-1]
    assert result["operationState"] == "COMPLETED"
    assert result["onFailure"] == "retry:1,rollback" and result["escalations"] == []
    names = [s["name"] for s in result["steps"]]
    # progress reports the steps in plan order, each with its number
    reported = [e["stepName"] for e in events[1:-1] if e["state"] == "PROCESSING"]
    # one step may give several events (its journal entry changes while it runs)
    runs = [n for i, n in enumerate(reported) if i == 0 or reported[i - 1] != n]
    assert runs == sorted(set(reported), key=names.index)
    assert all(e["steps"] == len(names) for e in events[1:-1])
    assert all(s["status"] == "DONE" and s["attempts"] == 1 for s in result["steps"])
    assert heat.get_stack(vnf.stack_name)["stack_status"] == "CREATE_COMPLETE"
    assert result["resourceChanges"]["affectedVnfcs"]

    code, out, err = nfv(sandbox, "vnflcm", "op", "show", op_id, "-f", "json")
    shown = json.loads(out)
    assert [s["name"] for s in shown["Steps"]] == names
    assert shown["On Failure"] == "retry:1,rollback" and shown["Is Suspended"] is False


def test_suspend_resume_and_rollback_of_a_suspended_instantiate(client, package, heat):
    vnf = new_vnf(client, package)
    op = client.lcm.instantiate(vnf.id, LEVEL_1)
    client.lcm.suspend(op.id)  # the detached worker has not reached a boundary yet
    stopped = client.lcm.wait(op.id, timeout=WAIT)
    assert stopped.state is OpState.FAILED_TEMP and stopped.is_suspended, stopped.error
    assert stopped.error["title"] == "Operation suspended"
    assert stopped.steps[stopped.current_step].status == "PENDING"
    done_before = {s.name for s in stopped.steps if s.status == "DONE"}
    assert "wait for stack" not in done_before

    done = client.lcm.wait(client.lcm.resume(op.id).id, timeout=WAIT)
    assert done.state is OpState.COMPLETED, done.error
    assert heat.get_stack(vnf.stack_name)["stack_status"] == "CREATE_COMPLETE"

    # a suspended scale-out is rolled back from where it stopped: Heat keeps
    # the capacity and the one member the instance had
    out = client.lcm.scale(vnf.id, "SCALE_OUT", "VDU1_scale")
    client.lcm.suspend(out.id)
    stopped = client.lcm.wait(out.id, timeout=WAIT)
    assert stopped.is_suspended, stopped.error
    rolled = client.lcm.wait(client.lcm.rollback(out.id).id, timeout=WAIT)
    assert rolled.state is OpState.ROLLED_BACK, rolled.error
    stack = heat.get_stack(vnf.stack_name)
    assert json.loads(stack["parameters"]["nfv"])["VDU"]["VDU1"]["desired_capacity"] == 1
    rows = heat.list_resources(stack, nested_depth=5)
    members = [r for r in rows if r.get("parent_resource") == "VDU1_scale_group"]
    assert len(members) == 1


def test_a_failing_instantiate_is_rolled_back_by_its_policy(sandbox, client, package,
                                                           heat, tmp_path):
    vnf = new_vnf(client, package)
    request = tmp_path / "instantiate.json"
    request.write_text(json.dumps(dict(LEVEL_1, additionalParams={
        "sample_fail_event": "instantiate_end"})))

    code, out, err = nfv(sandbox, "vnflcm", "instantiate", vnf.id, str(request),
                         "--wait", "--on-failure", "retry:2,rollback")

    assert code == 22, (out, err)  # ROLLED_BACK
    op_id = out.split("VNF LCM operation occurrence ID: ")[1].split()[0]
    code, out, err = nfv(sandbox, "vnflcm", "op", "show", op_id, "-f", "json")
    shown = json.loads(out)
    assert shown["Operation State"] == "ROLLED_BACK"
    assert [(e["procedure"], e["outcome"]) for e in shown["Escalations"]] == [
        ("retry", "skipped: step run instantiate_end script is not idempotent"),
        ("rollback", "started")]
    assert "instantiate_end" in shown["Error"]["detail"]
    steps = {s["name"]: s["status"] for s in shown["Steps"]}
    assert steps["create stack"] == "UNDONE"  # the stack was made, then deleted
    # Heat's truth: the stack the operation created is gone
    assert all(s["stack_name"] != vnf.stack_name or s["stack_status"] == "DELETE_COMPLETE"
               for s in heat.list_stacks())
    assert client.vnfs.get_vnf(vnf.id).instantiation_state is \
        InstantiationState.NOT_INSTANTIATED
