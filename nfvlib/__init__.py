"""nfvlib: manage VNFs on OpenStack, with or without a Tacker server.

>>> import nfvlib
>>> client = nfvlib.Client()                      # local mode
>>> vim = client.vims.register_vim("site1", {"auth_url": ..., ...})
>>> pkg = client.packages.upload_package(client.packages.create_package().id, "pkg/")
>>> vnf = client.vnfs.create_vnf(pkg.vnfd_id, name="vnf1")
>>> op = client.lcm.instantiate(vnf.id, {"flavourId": "simple"})
>>> client.lcm.wait(op.id).state
<OpState.COMPLETED: 'COMPLETED'>
"""

from nfvlib.client import Client
from nfvlib.config import Paths
from nfvlib.exceptions import (AuthFailed, BackendError, Conflict, InvalidInput,
                               NfvError, NotFound, SandboxError, StoreError,
                               Unreachable, Unsupported, VaultError, VimNotFound,
                               VimUnreachable, WaitTimeout)
from nfvlib.models import (MASK, InstantiationState, OnboardingState, Operation, OpOcc,
                           OpState, OpStep, PackageInfo, Vim, VimCredentials, VimHealth,
                           VimStatus, VnfcInfo, VnfInstance)
from nfvlib.vim.config_file import load_config_file

__all__ = [
    "AuthFailed", "BackendError", "Client", "Conflict", "InstantiationState",
    "InvalidInput", "MASK", "NfvError", "NotFound", "OnboardingState", "OpOcc",
    "OpState", "OpStep", "Operation", "PackageInfo", "Paths", "SandboxError",
    "StoreError", "Unreachable", "Unsupported", "VaultError", "Vim", "VimCredentials",
    "VimHealth", "VimNotFound", "VimStatus", "VimUnreachable", "VnfInstance",
    "VnfcInfo", "WaitTimeout", "load_config_file",
]
