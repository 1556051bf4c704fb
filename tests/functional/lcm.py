"""What the functional LCM tests share: the sample package, requests and Heat reads."""

from __future__ import annotations

import uuid
from pathlib import Path

import nfvlib
from nfvlib.heat import StackNotFound
from nfvlib.sandbox.heat_env import SERVER_BODY, SERVER_BODY_TYPE
from nfvlib.models import InstantiationState

SAMPLE = Path(nfvlib.__file__).parent / "samples" / "sample_vnf"
LEVEL_1 = {"flavourId": "simple", "instantiationLevelId": "instantiation_level_1"}
#: Seconds a test waits for one operation to settle.
WAIT = 240


def remove_package(client, package_id: str) -> None:
    """Delete a package with the instances tests left of it (terminated first)."""
    for vnf in client.vnfs.list_vnfs():
        if vnf.package_id != package_id:
            continue
        if vnf.instantiation_state is InstantiationState.INSTANTIATED:
            client.lcm.wait(client.lcm.terminate(vnf.id, "FORCEFUL").id, timeout=WAIT)
        client.vnfs.delete_vnf(vnf.id)
    client.packages.delete_package(package_id)


def new_vnf(client, package, prefix: str = "t"):
    return client.vnfs.create_vnf(package.vnfd_id,
                                  name=f"{prefix}-{uuid.uuid4().hex[:8]}")


def stack_gone(heat, name: str) -> bool:
    try:
        return heat.get_stack(name)["stack_status"] == "DELETE_COMPLETE"
    except StackNotFound:
        return True


def faulty_vim(client, sandbox, name: str, resource: str, template: str,
               text: str) -> str:
    """A second VIM on the sandbox whose Heat environment swaps one VDU's body."""
    vim = client.vims.find_vim("sandbox")
    environment = dict(vim.extra["heat_environment"])
    environment["resource_registry"] = dict(
        environment["resource_registry"],
        resources={resource: {SERVER_BODY: {SERVER_BODY_TYPE: template}}})
    extra = dict(vim.extra, heat_environment=environment,
                 heat_files=dict(vim.extra["heat_files"], **{template: text}))
    try:
        client.vims.delete_vim(name)
    except nfvlib.NotFound:
        pass
    client.vims.register_vim(name, sandbox.vim_config(), extra=extra)
    return name


def on_vim(vim_name: str) -> dict:
    return dict(LEVEL_1, vimConnectionInfo={"vim1": {
        "vimId": vim_name, "vimType": "ETSINFV.OPENSTACK_KEYSTONE.V_2"}})
