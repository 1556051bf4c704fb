"""Heat crashing during an operation, on the sandbox's real Heat.

The sandbox's Heat is killed while a worker waits for a stack; ``sandbox up``
starts it again. Heat's convergence engine does not take over a stack whose
engine died, so the stack stays CREATE_IN_PROGRESS: the wait must notice
within the stall limit, and a retry must re-drive the stack to completion.
Then ``sandbox up`` must leave the VIM usable after its password changed,
and everything under the data directory must be private.
"""

from __future__ import annotations

import os
import re
import secrets
import signal
import time
import uuid
from pathlib import Path

from keystoneauth1 import exceptions as ks_exc

from nfvlib import files
from nfvlib.store.lcm import OpOccTable
from nfvlib.heat import HeatClient, StackNotFound
from nfvlib.models import InstantiationState, OpState, VimStatus
from nfvlib.sandbox import process
from nfvlib.sandbox.heat_env import slow_template
from nfvlib.sandbox.manager import USER, VIM_NAME
from tests.functional.lcm import LEVEL_1, WAIT, faulty_vim

#: The stall limit the workers get here; the slow VDU takes less than it.
STALL = 25
SLOW = 10


def heat_of(client) -> HeatClient:
    vim = client.vims.find_vim(VIM_NAME)
    return HeatClient(client.vims.session(vim), region_name=vim.regions[0])


def slow_vim(client, sandbox, name: str) -> str:
    """A VIM on the sandbox whose VDU2 takes SLOW seconds to create."""
    return faulty_vim(client, sandbox, name, "VDU2", *slow_template(SLOW))


def kill_heat(sandbox) -> int:
    """SIGKILL the sandbox's Heat (its whole process group), as a crash would."""
    pid = sandbox.heat.status()["pid"]
    assert pid is not None
    os.killpg(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while process.pid_alive(pid):
        assert time.monotonic() < deadline, f"Heat (pid {pid}) survived SIGKILL"
        time.sleep(0.05)
    return pid


def test_heat_killed_during_a_wait_stalls_the_step_and_retry_completes(
        sandbox, client, package, monkeypatch):
    monkeypatch.setenv("NFV_HEAT_STALL_SECONDS", str(STALL))  # workers inherit it
    vim = slow_vim(client, sandbox, "slow-crash")
    vnf = client.vnfs.create_vnf(package.vnfd_id, name=f"crash-{uuid.uuid4().hex[:8]}")
    op = client.lcm.instantiate(vnf.id, dict(LEVEL_1, vimConnectionInfo={"vim1": {
        "vimId": vim, "vimType": "ETSINFV.OPENSTACK_KEYSTONE.V_2"}}))
    deadline = time.monotonic() + 60
    while True:
        current = client.lcm.get_op_occ(op.id)
        pid = OpOccTable(client.store).get(current.id).worker_pid  # the lease is internal
        if current.step_summary.endswith("wait for stack") and pid:
            break
        assert current.state in (OpState.STARTING, OpState.PROCESSING), current.error
        assert time.monotonic() < deadline, current
        time.sleep(0.2)
    time.sleep(2)  # VDU2 is being created now
    old_pid = kill_heat(sandbox)
    killed_at = time.monotonic()
    status = sandbox.up()
    assert status["heat"]["pid"] != old_pid and status["heat"]["answering"]

    heat = heat_of(client)
    ended = client.lcm.wait(op.id, timeout=3 * STALL + WAIT)
    took = time.monotonic() - killed_at
    stalled = (f"Heat has not progressed stack {vnf.stack_name} (CREATE_IN_PROGRESS) "
               "for ")
    if ended.state is OpState.FAILED_TEMP:
        assert ended.step_summary.endswith("wait for stack")
        detail = ended.error["detail"]
        assert detail.startswith(stalled), detail
        assert detail.endswith("its engine may have restarted; retry re-drives it")
        assert STALL - 3 <= took <= STALL + 20, took  # the stall limit, not 1800 s
        # What the real Heat holds: the create, stuck with nobody working on it.
        stack = heat.get_stack(vnf.stack_name)
        assert stack["stack_status"] == "CREATE_IN_PROGRESS"
        assert [r for r in heat.list_resources(stack, nested_depth=5)
                if r["resource_status"] == "CREATE_IN_PROGRESS"]
        ended = client.lcm.wait(client.lcm.retry(ended.id).id, timeout=WAIT)
    else:
        # The engine retried the wait by itself (a stall is a transient error):
        # the stall, within the limit, is in the step's journal.
        detail = next(s for s in ended.steps if s.name == "wait for stack").detail
        found = re.search(re.escape(stalled) + r"(\d+) s: its engine may have "
                          "restarted; retry re-drives it", detail or "")
        assert found, detail
        assert STALL <= int(found.group(1)) <= STALL + 10, detail
    assert ended.state is OpState.COMPLETED, ended.error
    wait_step = next(s for s in ended.steps if s.name == "wait for stack")
    assert f"re-drove stack {vnf.stack_name}, which had stalled CREATE_IN_PROGRESS, " \
        "with an update" in wait_step.detail, wait_step
    stack = heat.get_stack(vnf.stack_name)
    assert stack["stack_status"] == "UPDATE_COMPLETE"
    rows = heat.list_resources(stack, nested_depth=5)
    assert all(r["resource_status"].endswith("_COMPLETE") for r in rows), rows
    instance = client.vnfs.get_vnf(vnf.id)
    assert instance.instantiation_state is InstantiationState.INSTANTIATED
    assert instance.stack_id == stack["id"]
    assert sorted(c.vdu_id for c in instance.vnfc) == ["VDU1", "VDU2"]

    end = client.lcm.wait(client.lcm.terminate(vnf.id, "FORCEFUL").id, timeout=WAIT)
    assert end.state is OpState.COMPLETED, end.error
    try:
        assert heat.get_stack(stack["id"])["stack_status"] == "DELETE_COMPLETE"
    except StackNotFound:
        pass
    client.vims.delete_vim(vim)


def keystone_takes(sandbox, password: str) -> bool:
    from keystoneauth1 import session
    from keystoneauth1.identity import v3

    auth = v3.Password(auth_url=sandbox.keystone.auth_url, username=USER,
                       password=password, project_name="nfv",
                       user_domain_name="Default", project_domain_name="Default")
    try:
        auth.get_token(session.Session())
    except ks_exc.Unauthorized:
        return False
    return True


def test_sandbox_up_keeps_a_vim_whose_password_was_changed_usable(sandbox, client):
    new = secrets.token_urlsafe(16)
    sandbox.keystone.set_user_password(USER, new)
    client.vims.update_vim(VIM_NAME, config=dict(sandbox.vim_config(), password=new))
    kill_heat(sandbox)  # a crash, then the restart an operator would run

    sandbox.up()

    assert keystone_takes(sandbox, new)  # Keystone still has the VIM's password
    [checked] = client.vims.check_vims([VIM_NAME])
    assert checked.status is VimStatus.REACHABLE, checked.status_reason
    assert sandbox.vim_config()["password"] == new
    assert heat_of(client).list_stacks() is not None


def test_a_reset_user_password_is_given_to_the_vim(sandbox, client):
    # The VIM's password no longer works (changed in Keystone behind its back):
    # 'up' resets the user to the sandbox's own and updates the VIM with it.
    sandbox.keystone.set_user_password(USER, secrets.token_urlsafe(16))

    sandbox.up()

    [checked] = client.vims.check_vims([VIM_NAME])
    assert checked.status is VimStatus.REACHABLE, checked.status_reason
    assert keystone_takes(sandbox, sandbox.vim_config()["password"])


def test_everything_under_the_data_directory_is_private(sandbox, client, package):
    # After the sandbox's starts, an operation and its worker, packages, VIMs.
    data = sandbox.paths.data_dir
    assert (data / "sandbox" / "heat" / "heat.log").exists()
    assert any(data.rglob("keystone.conf")) and any(data.rglob("heat.sqlite"))
    assert any(data.rglob("*.pid")) and any(Path(package.path).rglob("*"))
    assert files.exposed(data) == []
