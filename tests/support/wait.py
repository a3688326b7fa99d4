"""One way to wait for something in a test: poll a check until it holds, or fail saying what."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(check: Callable[[], T], what: str = "the condition", timeout: float = 30.0,
               every: float = 0.02, *, error: type[Exception] = AssertionError) -> T:
    """Call `check` until it returns something truthy and return that; `error` (AssertionError
    unless told otherwise) naming `what` if it has not within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise error(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def wait_quiet(check: Callable[[], bool], what: str, timeout: float = 60.0, looks: int = 3,
               every: float = 0.2, *, error: type[Exception] = AssertionError) -> float:
    """Wait until `check` holds `looks` times in a row (a network is quiet, not just between two
    messages); returns the seconds it took."""
    began = time.monotonic()
    seen = 0
    while seen < looks:
        if time.monotonic() - began >= timeout:
            raise error(f"timed out after {timeout:.0f} s waiting for {what}")
        seen = seen + 1 if check() else 0
        if seen < looks:
            time.sleep(every)
    return time.monotonic() - began
