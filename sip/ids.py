"""Identifiers for tags, Call-IDs, branches and cnonces that an attacker cannot guess.

One responsibility: unique, unpredictable strings without global randomness. Each identifier is 64
bits of a keyed hash (BLAKE2b, RFC 7693) of a counter, keyed with the source's seed: the same seed
gives the same identifiers, so simulated runs stay byte-identical, while a peer that has seen any
number of them learns nothing of the next (RFC 3261 §19.3 asks for at least 32 random bits in a tag
and a globally unique Call-ID; fksim gives 64 to every identifier). The simulation passes a seed per
endpoint, derived from the scenario's seed; the live twin passes a seed from the operating system
(`random_seed`), so no two runs of `fksim serve` share identifiers.
"""

from __future__ import annotations

import hashlib
import secrets

#: Bytes of hash per identifier: 64 bits, written as 16 hexadecimal digits.
ID_BYTES = 8


def random_seed() -> str:
    """A seed of 128 bits from the operating system's random source, for live endpoints."""
    return secrets.token_hex(16)


class SequentialIds:
    """`SequentialIds("base-1")()` -> 16 hex digits: BLAKE2b keyed with the seed, of a counter."""

    def __init__(self, seed: str) -> None:
        # A key of at most 64 bytes (BLAKE2b's limit): the SHA-256 of the seed, whatever its length.
        self._key = hashlib.sha256(seed.encode()).digest()
        self._count = 0

    def __call__(self) -> str:
        self._count += 1
        digest = hashlib.blake2b(self._count.to_bytes(8, "big"), key=self._key, digest_size=ID_BYTES)
        return digest.hexdigest()


__all__ = ["ID_BYTES", "SequentialIds", "random_seed"]
