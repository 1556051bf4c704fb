"""The embedded store: one SQLite file shared safely by several processes."""

from nfvlib.store.sqlite import Store

__all__ = ["Store"]
