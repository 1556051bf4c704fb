"""Retry and escalation policies of local-mode operations (seed 001, 4.1.3 and 5.8).

Two levels of recovery, both recorded in the occurrence's journal:

- **Automatic step retry.** A step that declares itself idempotent
  (:attr:`nfvlib.lcm.engine.Step.idempotent`) and fails with a transient
  error (:func:`is_transient`: Heat or Keystone did not answer, Heat answered
  HTTP 5xx, a Heat wait timed out or stalled) is run again, up to
  :data:`STEP_RETRIES` times with a growing pause (:data:`RETRY_FIRST` ×
  :data:`RETRY_FACTOR` up to :data:`RETRY_CAP` seconds). The occurrence stays
  PROCESSING; each attempt counts in the step's ``attempts`` and leaves a
  line in its ``detail``. Any other error, or any error of a step that is
  not idempotent (a lifecycle script), fails the step at once.

- **Escalation policy.** ``--on-failure retry:N,rollback,fallback`` (or
  ``NFV_ON_FAILURE``) says which procedures to apply, in order, when the
  operation still fails: ``retry:N`` runs the failed step again up to N
  times (only an idempotent step: anything else skips to the next
  procedure), ``rollback`` undoes the executed steps in reverse, and
  ``fallback`` restores the restoration point the operation's plan names
  when the rollback fails or is impossible (clause 5.3.3: "starts by
  applying the retry procedure first, and if that fails, then escalates to
  a software rollback, and if that also fails, then to a fallback"). Each
  escalation is an occurrence state change, so it is journaled and notified
  like one made by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping

from nfvlib.exceptions import InvalidInput

#: Automatic retries of an idempotent step after a transient error.
STEP_RETRIES = 3
#: First pause before a retry, growth factor and largest pause (seconds).
RETRY_FIRST = 1.0
RETRY_FACTOR = 2.0
RETRY_CAP = 10.0
#: Most policy retries one occurrence may ask for.
MAX_RETRIES = 10

PROCEDURES = ("retry", "rollback", "fallback")
_HTTP_5XX = re.compile(r"\bHTTP 5\d\d\b")


@dataclass(frozen=True)
class Policy:
    """An escalation policy: how often to retry, then whether to roll back and fall back."""

    retries: int = 0
    rollback: bool = False
    fallback: bool = False

    def __str__(self) -> str:
        parts = ([f"retry:{self.retries}"] if self.retries else []) + (
            ["rollback"] if self.rollback else []) + (["fallback"] if self.fallback else [])
        return ",".join(parts)

    @property
    def empty(self) -> bool:
        """No procedure at all: a failure stays FAILED_TEMP."""
        return not (self.retries or self.rollback or self.fallback)


def parse(text: str | None, *, source: str = "--on-failure") -> Policy:
    """``retry:N,rollback,fallback`` (any subset, in this order) as a :class:`Policy`.

    ``retry`` alone means ``retry:1``; ``none`` or an empty text is the empty
    policy. Anything else is one :class:`InvalidInput` line naming the bad part.
    """
    if text is None or not str(text).strip() or str(text).strip().lower() == "none":
        return Policy()
    retries = 0
    seen: list[str] = []
    for raw in str(text).split(","):
        part = raw.strip().lower()
        name, _, count = part.partition(":")
        if name not in PROCEDURES:
            raise InvalidInput(f"{source}: unknown procedure {raw.strip()!r}",
                               hint="use retry[:N], rollback and fallback, in this "
                                    "order, e.g. retry:2,rollback,fallback")
        if name in seen:
            raise InvalidInput(f"{source} names {name} twice")
        if seen and PROCEDURES.index(name) < PROCEDURES.index(seen[-1]):
            raise InvalidInput(f"{source}: {name} cannot come after {seen[-1]}",
                               hint="the order is retry, rollback, fallback")
        if name == "retry":
            try:
                retries = int(count) if count else 1
            except ValueError:
                retries = -1
            if not 1 <= retries <= MAX_RETRIES:
                raise InvalidInput(f"{source}: retry count {count!r} is not a whole "
                                   f"number from 1 to {MAX_RETRIES}", hint="e.g. retry:2")
        elif count:
            raise InvalidInput(f"{source}: {name} takes no count ({raw.strip()!r})")
        seen.append(name)
    return Policy(retries=retries, rollback="rollback" in seen,
                  fallback="fallback" in seen)


def normalized(text: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """The policy to store with a new occurrence: ``text``, else the default.

    The default is ``NFV_ON_FAILURE`` from ``env`` (the process environment
    when None). Returns the canonical text, or None for the empty policy.
    """
    from nfvlib.config import ON_FAILURE_ENV, default_on_failure

    if text is None:
        policy = parse(default_on_failure(env), source=ON_FAILURE_ENV)
    else:
        policy = parse(text)
    return None if policy.empty else str(policy)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` says the VIM may answer if asked again.

    Transient: no answer from Heat or Keystone (a connection error or
    timeout), an HTTP 5xx from either, and a Heat wait that timed out or
    found the stack stalled (the retry re-drives the stack). Not transient:
    a stack that ended ``*_FAILED``, a 4xx, a lifecycle script's failure,
    anything of nfvkit's own.
    """
    from nfvlib.exceptions import Unreachable, WaitTimeout
    from nfvlib.exceptions import HeatError, StackStalled

    if isinstance(exc, (Unreachable, StackStalled, WaitTimeout)):
        return True
    if isinstance(exc, HeatError):
        return exc.stack_status is None and bool(_HTTP_5XX.search(exc.message))
    try:
        from keystoneauth1 import exceptions as ks_exc
    except ImportError:  # pragma: no cover - keystoneauth1 is a dependency
        return False
    if isinstance(exc, ks_exc.ConnectionError):
        return True
    if isinstance(exc, ks_exc.HttpError):
        return 500 <= (exc.http_status or 0) < 600
    return False
