"""The SOL003 operation-occurrence state machine, as one transition table.

::

    STARTING ──> PROCESSING ──> COMPLETED
       │             │
       │             └──> FAILED_TEMP ──> PROCESSING   (retry)
       │                      │      └──> ROLLING_BACK (rollback) ──> ROLLED_BACK
       │                      │                          └──> FAILED_TEMP
       │                      └──> FAILED              (fail)
       └──> ROLLED_BACK  (cancel before processing)

Cancel moves PROCESSING or ROLLING_BACK to FAILED_TEMP. A suspended
occurrence is FAILED_TEMP with ``is_suspended`` (SOL003 has no SUSPENDED
state): resume is a retry, and it can be rolled back from where it stopped.
An escalation to fallback (:mod:`nfvlib.lcm.policy`) moves FAILED_TEMP to
ROLLING_BACK like a rollback, and ends ROLLED_BACK or FAILED_TEMP.
"""

from __future__ import annotations

from nfvlib.exceptions import Conflict
from nfvlib.models import OpState

S = OpState

#: request -> (states it is allowed from, state it leads to)
REQUESTS: dict[str, tuple[frozenset[OpState], OpState | None]] = {
    "start": (frozenset({S.STARTING}), S.PROCESSING),
    "complete": (frozenset({S.PROCESSING}), S.COMPLETED),
    "fail_temp": (frozenset({S.PROCESSING, S.ROLLING_BACK}), S.FAILED_TEMP),
    "retry": (frozenset({S.FAILED_TEMP}), S.PROCESSING),
    "resume": (frozenset({S.FAILED_TEMP}), S.PROCESSING),
    "fallback": (frozenset({S.FAILED_TEMP}), S.ROLLING_BACK),
    # suspend leaves the state alone: the run stops FAILED_TEMP at a boundary
    "suspend": (frozenset({S.STARTING, S.PROCESSING}), None),
    "rollback": (frozenset({S.FAILED_TEMP}), S.ROLLING_BACK),
    "rolled_back": (frozenset({S.ROLLING_BACK, S.STARTING}), S.ROLLED_BACK),
    "fail": (frozenset({S.FAILED_TEMP}), S.FAILED),
    # cancel's target depends on where it starts: see cancel_target()
    "cancel": (frozenset({S.STARTING, S.PROCESSING, S.ROLLING_BACK}), None),
}

#: states a worker may be running in (its lease matters there)
ACTIVE = frozenset({S.STARTING, S.PROCESSING, S.ROLLING_BACK})


def check(request: str, current: OpState, op_id: str = "") -> OpState | None:
    """Return the state ``request`` leads to from ``current``, or raise Conflict.

    The Conflict names the current state and the states the request needs.
    """
    allowed, target = REQUESTS[request]
    if current not in allowed:
        expected = " or ".join(sorted(s.value for s in allowed))
        subject = f"operation occurrence {op_id}" if op_id else "the operation occurrence"
        raise Conflict(f"cannot {request.replace('_', ' ')} {subject}: it is "
                       f"{current.value}, and {request.replace('_', ' ')} needs "
                       f"{expected}")
    return target


def check_move(request: str, current: OpState, op_id: str = "") -> OpState:
    """:func:`check` for a request that leads to one state (all but suspend, cancel)."""
    target = check(request, current, op_id)
    if target is None:
        raise ValueError(f"{request} does not lead to one state")
    return target


def cancel_target(current: OpState) -> OpState:
    """Where a cancel lands: STARTING -> ROLLED_BACK, otherwise FAILED_TEMP."""
    check("cancel", current)
    return S.ROLLED_BACK if current is S.STARTING else S.FAILED_TEMP
