"""SOL013 paging (5.4.2) of local listings: pages of a fixed size, each but
the last with an opaque marker to ask for the next one.

A marker is the sort key of the last item shown (keyset paging), so a page
costs the same wherever it is in a listing of 100,000 rows, and rows added
meanwhile are neither skipped nor shown twice.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Callable, Sequence, TypeVar

from nfvlib.exceptions import InvalidInput
from nfvlib.models import Page

T = TypeVar("T")
#: Items per page of a local listing.
PAGE_SIZE = 100
SortKey = tuple[str, str]


def encode_marker(key: SortKey) -> str:
    """The opaque marker of the page after the item of sort ``key``."""
    return base64.urlsafe_b64encode(json.dumps(list(key)).encode()).decode().rstrip("=")


def decode_marker(marker: str | None) -> SortKey | None:
    """The sort key a marker from :func:`encode_marker` holds (None: first page)."""
    if marker is None:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        key = None
    if (not isinstance(key, list) or len(key) != 2
            or not all(isinstance(part, str) for part in key)):
        raise InvalidInput(f"nextpage_opaque_marker {marker[:40]!r} is not one this "
                           "listing gave", hint="start again from the first page")
    return key[0], key[1]


def page(fetch: Callable[[SortKey | None, int], Sequence[T]], keep: Callable[[T], bool],
         key: Callable[[T], SortKey], *, marker: str | None,
         size: int = PAGE_SIZE) -> Page[T]:
    """One page of the items ``fetch`` returns in sort order after a key.

    ``fetch(after, limit)`` returns at most ``limit`` items following the sort
    key ``after`` (None: from the start); ``keep`` tests each (a filter).
    The page holds up to ``size`` kept items; its marker is set only when a
    kept item follows them.
    """
    after = decode_marker(marker)
    items: list[T] = []
    while True:
        batch = fetch(after, size + 1)
        for item in batch:
            if not keep(item):
                continue
            if len(items) == size:
                return Page(tuple(items), encode_marker(key(items[-1])))
            items.append(item)
        if len(batch) < size + 1:
            return Page(tuple(items))
        after = key(batch[-1])
