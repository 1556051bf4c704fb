"""Checked by mypy (tests/test_typing.py), never run: each backend class is
assignable to its protocol in nfvlib.backends, so local and remote offer the
same calls with compatible signatures."""

from __future__ import annotations

from nfvlib.backends import (LcmBackend, PackageBackend, SubscriptionBackend, VimRegistry,
                             VnfBackend)
from nfvlib.lcm.catalog import LocalPackages, LocalVnfs
from nfvlib.lcm.local import LocalLcm
from nfvlib.lcm.notify import LocalSubscriptions
from nfvlib.remote.lcm import RemoteLcm, RemotePackages, RemoteVnfs
from nfvlib.remote.subscriptions import RemoteSubscriptions
from nfvlib.remote.vims import RemoteVimRegistry
from nfvlib.vim.registry import LocalVimRegistry


def local(vims: LocalVimRegistry, packages: LocalPackages, vnfs: LocalVnfs,
          lcm: LocalLcm, subscriptions: LocalSubscriptions) -> None:
    a: VimRegistry = vims
    b: PackageBackend = packages
    c: VnfBackend = vnfs
    d: LcmBackend = lcm
    e: SubscriptionBackend = subscriptions
    del a, b, c, d, e


def remote(vims: RemoteVimRegistry, packages: RemotePackages, vnfs: RemoteVnfs,
           lcm: RemoteLcm, subscriptions: RemoteSubscriptions) -> None:
    a: VimRegistry = vims
    b: PackageBackend = packages
    c: VnfBackend = vnfs
    d: LcmBackend = lcm
    e: SubscriptionBackend = subscriptions
    del a, b, c, d, e
