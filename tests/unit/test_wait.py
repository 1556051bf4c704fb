"""The one backoff every nfvlib wait uses, on a fake clock."""

from __future__ import annotations

import pytest

from nfvlib._wait import Backoff
from tests.unit.conftest import FakeClock


def test_pauses_grow_to_the_cap_and_reset():
    clock = FakeClock(100.0)
    backoff = Backoff(first=0.1, cap=0.25, clock=clock, sleep=clock.sleep)
    for _ in range(4):
        backoff.pause()
    assert clock.sleeps == pytest.approx([0.1, 0.15, 0.225, 0.25])
    backoff.reset()
    backoff.pause()
    assert clock.sleeps[-1] == 0.1
    assert not backoff.expired() and backoff.remaining() is None


def test_never_sleeps_past_the_deadline():
    clock = FakeClock(100.0)
    backoff = Backoff(first=1.0, cap=1.0, timeout=2.5, clock=clock, sleep=clock.sleep)
    while not backoff.expired():
        backoff.pause()
    assert clock.sleeps == [1.0, 1.0, 0.5]
    assert clock.now == 102.5
