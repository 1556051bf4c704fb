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
from nfvlib.exceptions import (AuthFailed, BackendError, Conflict, HeatError,
                               InvalidInput, NfvError, NotFound, NovaError,
                               OpOccNotFound, PackageError, PackageNotFound,
                               RestorationPointNotFound, SandboxError, ScriptFailed,
                               ServerNotFound, StackExists, StackNotFound, StackStalled,
                               StoreError,
                               SubscriptionNotFound, TesterFailed, Unreachable,
                               Unsupported, VaultError, VimNotFound, VimUnreachable,
                               VnfNotFound, WaitTimeout)
from nfvlib.models import (MASK, InstantiationState, OnboardingState, Operation, OpOcc,
                           OpState, OpStep, PackageInfo, Page, Vim, VimCredentials, VimHealth,
                           VimStatus, VnfcInfo, VnfInstance)
from nfvlib.vim.config_file import load_config_file

__all__ = [
    "AuthFailed", "BackendError", "Client", "Conflict", "HeatError",
    "InstantiationState", "InvalidInput", "MASK", "NfvError", "NotFound", "NovaError",
    "OnboardingState", "OpOcc", "OpOccNotFound", "OpState", "OpStep", "Operation",
    "PackageError", "PackageInfo", "PackageNotFound", "Page", "Paths",
    "RestorationPointNotFound", "SandboxError", "ScriptFailed", "ServerNotFound",
    "StackExists", "StackNotFound", "StackStalled", "StoreError", "SubscriptionNotFound",
    "TesterFailed", "Unreachable", "Unsupported", "VaultError", "Vim",
    "VimCredentials", "VimHealth", "VimNotFound", "VimStatus", "VimUnreachable",
    "VnfInstance", "VnfNotFound", "VnfcInfo", "WaitTimeout", "load_config_file",
]
