"""Polling with a deadline, for tests that wait on asynchronous effects (never sleep-and-hope)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    predicate: Callable[[], T],
    timeout: float = 30.0,
    interval: float = 0.05,
    message: str | Callable[[], str] = "condition not met",
) -> T:
    """Call ``predicate`` until it returns a truthy value, and return that value.

    An AssertionError raised by the predicate counts as "not yet", so it may use ``assert``; any other exception
    propagates at once. After ``timeout`` seconds raises AssertionError with ``message`` (a string, or a callable
    evaluated then, to describe the state at the deadline) and the predicate's last assertion as the cause.
    """
    deadline = time.monotonic() + timeout
    last_failure: AssertionError | None = None
    while True:
        try:
            result = predicate()
        except AssertionError as failure:
            last_failure, result = failure, None
        if result:
            return result
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise AssertionError(f"{text} (waited {timeout:g}s)") from last_failure
        time.sleep(interval)
