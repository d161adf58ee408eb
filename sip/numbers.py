"""The one bounded reader of unsigned decimal numbers in received text (RFC 3261 §25.1 1*DIGIT).

One responsibility: every number `sip` reads from the wire (Content-Length, CSeq, Expires,
Max-Forwards, Retry-After, Subscription-State expires and retry-after, ports, Contact expires,
ring counts of dialled codes) goes through `read_uint`, so no input reaches Python's `int()`
unchecked. `int()` raises `ValueError` on more than 4300 digits (`sys.set_int_max_str_digits`) and
accepts non-ASCII digits ("٣"); both would escape a parser whose errors must be `RemoteProtocolError`.

The length is checked before the conversion: leading zeros are dropped first (RFC 4475 §3.1.1.1
asks to accept "0009"), then a number with more digits than `limit` is out of range without being
converted. The range is checked after.
"""

from __future__ import annotations

from sip.errors import RemoteProtocolError

#: RFC 3261 §8.1.1.5, §20.19, §25.1: CSeq numbers and delta-seconds are 32-bit unsigned.
UINT32_MAX = 2**32 - 1
#: RFC 3261 §25.1 port = 1*DIGIT, a UDP/TCP port.
PORT_MAX = 65535


def read_uint(
    text: str, what: str, *, limit: int = UINT32_MAX, clamp: bool = False, status: int = 400
) -> int:
    """`text` (ASCII digits only, leading zeros allowed) as an int in 0..`limit`.

    `what` names the place ("CSeq header", "port in Via header"): a text that is not 1*DIGIT raises
    `RemoteProtocolError(status, "Malformed <what>")`; a number above `limit` raises
    "<what> out of range", or is taken as `limit` when `clamp` (RFC 3261 §20.19 and RFC 6665 §8.2.3:
    a delta-seconds too large is taken as 2**32-1).
    """
    # str.isdigit() alone accepts "²" and "٣"; ASCII and isdigit() together are exactly [0-9]+.
    if not text.isascii() or not text.isdigit():
        raise RemoteProtocolError(f"Malformed {what}", status=status)
    digits = text.lstrip("0") or "0"
    if len(digits) > len(str(limit)):
        # More digits than the limit has: above it, and never handed to int().
        if clamp:
            return limit
        raise RemoteProtocolError(f"{what} out of range", status=status)
    number = int(digits)
    if number > limit:
        if clamp:
            return limit
        raise RemoteProtocolError(f"{what} out of range", status=status)
    return number


__all__ = ["PORT_MAX", "UINT32_MAX", "read_uint"]
