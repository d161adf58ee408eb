"""One deadline for many sans-I/O cores: a lazy heap of (deadline, core).

A DECT manager drives hundreds of SIP cores (a registration and a subscription per handset account)
but presents one `next_deadline()` to its driver (conventions point 2). Recomputing the minimum over
every core after each message would cost O(cores) per message; instead each core is pushed with its
deadline whenever it was touched, and stale entries (the core's deadline moved since) are dropped
when they reach the top.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from typing import Protocol


class Timed(Protocol):
    def next_deadline(self) -> float | None: ...


class DeadlineHeap:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timed]] = []
        self._counter = itertools.count()   # ties break by push order: deterministic
        self._armed: dict[int, float] = {}  # id(core) -> the deadline its newest entry carries

    def touch(self, core: Timed) -> None:
        """Record `core`'s current deadline (call after every call into the core)."""
        deadline = core.next_deadline()
        key = id(core)
        if deadline is None:
            self._armed.pop(key, None)
            return
        if self._armed.get(key) == deadline:
            return
        self._armed[key] = deadline
        heapq.heappush(self._heap, (deadline, next(self._counter), core))

    def forget(self, core: Timed) -> None:
        self._armed.pop(id(core), None)

    def _drop_stale(self) -> None:
        while self._heap:
            deadline, _, core = self._heap[0]
            if self._armed.get(id(core)) == deadline:
                return
            heapq.heappop(self._heap)

    def next_deadline(self) -> float | None:
        self._drop_stale()
        return self._heap[0][0] if self._heap else None

    def due(self, now: float) -> Iterator[Timed]:
        """Pop and yield every core whose deadline is <= now, earliest first. The caller handles the
        timer and touches the core again."""
        while True:
            self._drop_stale()
            if not self._heap or self._heap[0][0] > now:
                return
            _, _, core = heapq.heappop(self._heap)
            self._armed.pop(id(core), None)
            yield core
