"""The live twin's log of what the network sent it that it refused: at most one line per source and
kind in each window, with the count of the lines held back, so a flood of hostile datagrams cannot
flood the log (or the terminal) in turn.

One responsibility: decide which lines to print. The caller passes the time (conventions point 2).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TextIO

#: Seconds during which a second line of the same kind from the same source is held back [choice].
WINDOW = 10.0
#: Sources remembered at once; the oldest are forgotten first, so memory stays bounded under a
#: flood from many forged addresses [choice].
MAX_SOURCES = 1024


class RateLimitedLog:
    """`log(now, key, text)` prints `text` unless a line of the same `key` was printed less than
    `window` seconds ago; the next line printed for that key says how many were held back."""

    def __init__(self, *, window: float = WINDOW, max_sources: int = MAX_SOURCES,
                 write: Callable[[str], None] | None = None, stream: TextIO | None = None) -> None:
        self.window = window
        self.max_sources = max_sources
        self._write = write or (lambda line: print(line, file=stream or sys.stderr, flush=True))
        #: key -> (time of the last printed line, lines held back since)
        self._last: dict[object, tuple[float, int]] = {}
        self.printed = 0
        self.held = 0

    def log(self, now: float, key: object, text: str) -> bool:
        """Print (True) or hold back (False) one line."""
        last = self._last.get(key)
        if last is not None and now - last[0] < self.window:
            self._last[key] = (last[0], last[1] + 1)
            self.held += 1
            return False
        held = last[1] if last is not None else 0
        if last is None and len(self._last) >= self.max_sources:
            del self._last[next(iter(self._last))]   # dicts keep insertion order: the oldest key
        self._last.pop(key, None)
        self._last[key] = (now, 0)
        suffix = f" ({held} more like it held back)" if held else ""
        self._write(text + suffix)
        self.printed += 1
        return True


__all__ = ["MAX_SOURCES", "WINDOW", "RateLimitedLog"]
