"""A watchdog for hostile-input tests: a call that does not return within its time is a hang.

Not a timing assertion: the limit is tens of times what the work needs, and exists only so that a
catastrophic case (exponential regex backtracking, an endless loop) fails with the input named
instead of stalling the run. SIGALRM interrupts pure-Python code and the `re` engine alike (SRE
checks for signals while it backtracks).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Hang(BaseException):
    """The guarded call did not return in time. A BaseException, so that no `except Exception` in
    the code under test can swallow it."""


@contextmanager
def finishes_within(seconds: float, what: str = "the call") -> Iterator[None]:
    def on_alarm(_signum: int, _frame: FrameType | None) -> None:
        raise Hang(f"{what} did not finish within {seconds} s")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
