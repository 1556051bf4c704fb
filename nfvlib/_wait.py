"""Bounded waiting with backoff: the one place nfvlib sleeps between polls.

Every wait polls fast at first, backs off to a cap, never sleeps past its
deadline, and takes its clock and sleep as arguments so tests run instantly.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from nfvlib.exceptions import WaitTimeout


class Backoff:
    """Pauses growing from ``first`` to ``cap`` (× ``factor``), within a deadline."""

    def __init__(self, *, first: float, cap: float, timeout: float | None = None,
                 factor: float = 1.5, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.first, self.cap, self.factor = first, cap, factor
        self._clock, self._sleep = clock, sleep
        self.deadline = None if timeout is None else clock() + timeout
        self._pause = first

    def remaining(self) -> float | None:
        """Seconds left before the deadline (None: no deadline)."""
        return None if self.deadline is None else self.deadline - self._clock()

    def expired(self) -> bool:
        """Whether the deadline has passed."""
        remaining = self.remaining()
        return remaining is not None and remaining <= 0

    def reset(self) -> None:
        """Poll fast again (something changed)."""
        self._pause = self.first

    def pause(self) -> None:
        """Sleep the current pause (never past the deadline), then grow it."""
        remaining = self.remaining()
        step = self._pause if remaining is None else min(self._pause, max(remaining, 0))
        self._sleep(step)
        self._pause = min(self._pause * self.factor, self.cap)


def follow_occurrence(read: Callable[[], Any], *, timeout: float | None,
                      progress: Callable[[Any], None] | None, first: float,
                      cap: float, clock: Callable[[], float],
                      sleep: Callable[[float], None]) -> Any:
    """Poll an operation occurrence until it is final or FAILED_TEMP.

    ``read`` returns the occurrence; ``progress`` is called once per change of
    its state, step or cancel flag, and polling starts fast again after each
    change. Raises :class:`WaitTimeout` after ``timeout`` seconds.
    """
    from nfvlib.models import OpState

    backoff = Backoff(first=first, cap=cap, timeout=timeout, clock=clock, sleep=sleep)
    seen = None
    while True:
        op = read()
        key = (op.state, op.current_step, tuple(s.status for s in op.steps),
               op.is_cancel_pending)
        if key != seen:
            seen = key
            backoff.reset()
            if progress is not None:
                progress(op)
        if op.state.is_final or op.state is OpState.FAILED_TEMP:
            return op
        if backoff.expired():
            where = f" ({op.step_summary})" if op.step_summary else ""
            raise WaitTimeout(
                f"operation occurrence {op.id} is still {op.state.value}{where} "
                f"after {timeout:g} s",
                hint=f"follow it with 'vnflcm op show {op.id}'",
                last_seen=op.state.value, timeout=timeout)
        backoff.pause()
