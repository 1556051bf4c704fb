"""nfvlib: manage VNFs on OpenStack, with or without a Tacker server.

>>> import nfvlib
>>> client = nfvlib.Client()                      # local mode
>>> vim = client.vims.register_vim("site1", {"auth_url": ..., ...})
"""

from nfvlib.client import Client
from nfvlib.config import Paths
from nfvlib.exceptions import (AuthFailed, BackendError, Conflict, InvalidInput,
                               NfvError, NotFound, SandboxError, StoreError,
                               Unreachable, Unsupported, VaultError, VimNotFound,
                               VimUnreachable, WaitTimeout)
from nfvlib.models import MASK, Vim, VimCredentials, VimHealth, VimStatus
from nfvlib.vim.config_file import load_config_file

__all__ = [
    "AuthFailed", "BackendError", "Client", "Conflict", "InvalidInput", "MASK",
    "NfvError", "NotFound", "Paths", "SandboxError", "StoreError", "Unreachable",
    "Unsupported", "VaultError", "Vim", "VimCredentials", "VimHealth",
    "VimNotFound", "VimStatus", "VimUnreachable", "WaitTimeout",
    "load_config_file",
]
