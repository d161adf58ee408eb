"""Deterministic identifiers for tags, Call-IDs, branches and cnonces.

One responsibility: unique strings without global randomness. Runs are reproducible: the same
seed gives the same identifiers; the simulation passes a seed per endpoint, a live driver may pass
`secrets.token_hex` based sources instead (anything `Callable[[], str]`).
"""

from __future__ import annotations

import hashlib


class SequentialIds:
    """`SequentialIds("base-1")()` -> "b7c1...-1", "...-2": a hash of the seed plus a counter."""

    def __init__(self, seed: str) -> None:
        self._prefix = hashlib.sha256(seed.encode()).hexdigest()[:10]
        self._count = 0

    def __call__(self) -> str:
        self._count += 1
        return f"{self._prefix}{self._count:x}"


__all__ = ["SequentialIds"]
