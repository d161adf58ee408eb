"""The DECT Standard Authentication Algorithm (DSAA) and the processes built on it, sans I/O.

One responsibility: the authentication arithmetic of EN 300 175-7 §4.5 (processes A11, A12, A21, A22
and the key derivations B1) with DSAA as its algorithm: what a GAP handset and base compute from the
authentication code (the PIN) or the user authentication key (UAK), given the random values that
travel in MM-KEY-ALLOCATE, MM-AUTHENTICATION-REQUEST and -REPLY. No randomness here: the random
values come in.

DSAA itself follows the public description of the algorithm (reverse-engineered by the deDECTed
project; libdect's `src/dsaa.c` implements the same): an 8-octet state run through a bit permutation,
an S-box substitution and three mixing steps, twice per "cassable" round, two rounds per step. Byte
orders are libdect's: random values and results in the octet order they have on the air; the key's
octets reversed inside the algorithm. The result is checked against the key allocation example of
EN 300 175-7 Annex K (authentication code "9124") in `tests/dect/test_dsaa.py`.
"""

from __future__ import annotations

#: The DSAA substitution box (the public description of the algorithm).
SBOX = bytes((
    176, 104, 111, 246, 125, 232, 22, 133, 57, 124, 127, 222, 67, 240, 89, 169,
    251, 128, 50, 174, 95, 37, 140, 245, 148, 107, 216, 234, 136, 152, 194, 41,
    207, 58, 80, 150, 28, 8, 149, 244, 130, 55, 10, 86, 44, 255, 79, 196,
    96, 165, 131, 33, 48, 248, 243, 40, 250, 147, 73, 52, 66, 120, 191, 252,
    97, 198, 241, 167, 26, 83, 3, 77, 134, 211, 4, 135, 126, 143, 160, 183,
    49, 179, 231, 14, 47, 204, 105, 195, 192, 217, 200, 19, 220, 139, 1, 82,
    193, 72, 239, 175, 115, 221, 92, 46, 25, 145, 223, 34, 213, 61, 13, 163,
    88, 129, 62, 253, 98, 68, 36, 45, 182, 141, 90, 5, 23, 190, 39, 84,
    93, 157, 214, 173, 108, 237, 100, 206, 242, 114, 63, 212, 70, 164, 16, 162,
    59, 137, 151, 76, 110, 116, 153, 228, 227, 187, 238, 112, 0, 189, 101, 32,
    15, 122, 233, 158, 155, 199, 181, 99, 230, 170, 225, 138, 197, 7, 6, 30,
    94, 29, 53, 56, 119, 20, 17, 226, 185, 132, 24, 159, 42, 203, 218, 247,
    166, 178, 102, 123, 177, 156, 109, 106, 249, 254, 202, 201, 168, 65, 188, 121,
    219, 184, 103, 186, 172, 54, 171, 146, 75, 215, 229, 154, 118, 205, 21, 31,
    78, 74, 87, 113, 27, 85, 9, 81, 51, 12, 180, 142, 43, 224, 208, 91,
    71, 117, 69, 64, 2, 209, 60, 236, 35, 235, 11, 210, 161, 144, 38, 18,
))
KEY_LEN, RAND_LEN, RES_LEN, DCK_LEN = 16, 8, 4, 8


def _permutation(start: int, step: int) -> tuple[int, ...]:
    """Where bit i (bit i % 8 of octet i // 8) of the 64-bit block goes."""
    out = []
    for _ in range(64):
        out.append(start)
        start = (start + step) % 64
    return tuple(out)


def _octet_tables(targets: tuple[int, ...]) -> tuple[tuple[int, ...], ...]:
    """Per octet of the block and per value of that octet, its bits already moved to their places:
    a permutation is then eight lookups OR-ed together (the block as a little-endian integer)."""
    return tuple(
        tuple(sum(1 << targets[8 * octet + bit] for bit in range(8) if value >> bit & 1)
              for value in range(256))
        for octet in range(8))


_PAIRS = ((46, 35), (25, 47), (60, 27), (55, 39))
_PERMUTATIONS = {pair: _octet_tables(_permutation(*pair)) for pair in _PAIRS}


def _bitperm(tables: tuple[tuple[int, ...], ...], block: int) -> int:
    return (tables[0][block & 0xFF] | tables[1][block >> 8 & 0xFF] | tables[2][block >> 16 & 0xFF]
            | tables[3][block >> 24 & 0xFF] | tables[4][block >> 32 & 0xFF] | tables[5][block >> 40 & 0xFF]
            | tables[6][block >> 48 & 0xFF] | tables[7][block >> 56])


# The mixing steps on the block as one little-endian integer, eight octet lanes at a time: octet i
# becomes x[index[i]] + factor[i] * x[i] (mod 256). The partner octets are the block with its 32-bit
# halves, 16-bit pairs or octets swapped (index i ^ 4, i ^ 2, i ^ 1); the octets whose factor is 3
# are those under the mask; lane-wise addition keeps each octet's carry out of its neighbour.
_LOW7, _HIGH = 0x7F7F7F7F7F7F7F7F, 0x8080808080808080
_HI32, _HI16, _HI8 = 0xFFFFFFFF00000000, 0xFFFF0000FFFF0000, 0xFF00FF00FF00FF00


def _lane_add(a: int, b: int) -> int:
    return ((a & _LOW7) + (b & _LOW7)) ^ ((a ^ b) & _HIGH)


def _cassable(pair: tuple[int, int], t: int, s: int) -> tuple[int, int]:
    """Two rounds over the block `s` keyed by `t` (each permutes `t` again before it is used); (t, s)
    after, both as little-endian integers."""
    tables = _PERMUTATIONS[pair]
    for _round in range(2):
        # index i ^ 4, factors 2 2 2 2 3 3 3 3
        t = _bitperm(tables, t)
        x = int.from_bytes((s ^ t).to_bytes(8, "little").translate(SBOX), "little")
        s = _lane_add((x >> 32) | (x << 32 & _HI32), _lane_add((x & _LOW7) << 1, x & _HI32))
        # index i ^ 2, factors 2 2 3 3 2 2 3 3
        t = _bitperm(tables, t)
        x = int.from_bytes((s ^ t).to_bytes(8, "little").translate(SBOX), "little")
        s = _lane_add((x & _HI16) >> 16 | (x << 16 & _HI16), _lane_add((x & _LOW7) << 1, x & _HI16))
        # index i ^ 1, factors 2 3 2 3 2 3 2 3
        t = _bitperm(tables, t)
        x = int.from_bytes((s ^ t).to_bytes(8, "little").translate(SBOX), "little")
        s = _lane_add((x & _HI8) >> 8 | (x << 8 & _HI8), _lane_add((x & _LOW7) << 1, x & _HI8))
    return t, s


def _step(first: tuple[int, int], second: tuple[int, int], rand: bytes, key: bytes) -> bytes:
    """One step: the key keyed by the random value, then the random value keyed by that; the result."""
    _t, k = _cassable(first, int.from_bytes(rand, "little"), int.from_bytes(key, "little"))
    _t, r = _cassable(second, k, int.from_bytes(rand, "little"))
    return r.to_bytes(8, "little")


def dsaa(key: bytes, rand: bytes) -> bytes:
    """DSAA: 16 octets of key (D1) and 8 of random value (D2) -> 16 octets (E)."""
    if len(key) != KEY_LEN or len(rand) != RAND_LEN:
        raise ValueError(f"DSAA takes a {KEY_LEN}-octet key and an {RAND_LEN}-octet value")
    r = bytes(reversed(rand))
    k = bytes(reversed(key))
    a = _step((46, 35), (25, 47), r, k[4:12])
    low = _step((60, 27), (55, 39), a, k[0:4] + k[12:16])
    return low[7:3:-1] + a[::-1] + low[3::-1]


def authentication_code(pin: str) -> bytes:
    """The authentication code of a PIN: its digits in BCD, right-aligned in 4 octets, padded with F
    (EN 300 175-7 §4.5.2; "9124" -> FF FF 91 24)."""
    if not pin or len(pin) > 8 or not pin.isdigit():
        raise ValueError(f"a PIN is 1 to 8 digits, not {pin!r}")
    nibbles = [0xF] * (8 - len(pin)) + [int(digit) for digit in pin]
    return bytes(nibbles[i] << 4 | nibbles[i + 1] for i in range(0, 8, 2))


def b1(value: bytes) -> bytes:
    """Process B1: the authentication key K from an AC or a UAK, repeated to 16 octets."""
    if not value:
        raise ValueError("B1 needs an AC or a UAK")
    return bytes(value[i % len(value)] for i in range(KEY_LEN))


def a11(k: bytes, rs: bytes) -> bytes:
    """A11: the session authentication key KS from K and the random seed RS."""
    return dsaa(k, rs)


def a12(ks: bytes, rand_f: bytes) -> tuple[bytes, bytes]:
    """A12: (the derived cipher key DCK, the response RES1) from KS and the base's RAND-F."""
    e = dsaa(ks, rand_f)
    return e[4:12], e[12:16]


def a21(k: bytes, rs: bytes) -> bytes:
    """A21: KS' (the UAK after key allocation) from K and RS: A11 with every octet XOR AA."""
    return bytes(octet ^ 0xAA for octet in dsaa(k, rs))


def a22(ks_prime: bytes, rand_p: bytes) -> bytes:
    """A22: the response RES2 from KS' and the handset's RAND-P."""
    return dsaa(ks_prime, rand_p)[12:16]


__all__ = ["a11", "a12", "a21", "a22", "authentication_code", "b1", "dsaa"]
