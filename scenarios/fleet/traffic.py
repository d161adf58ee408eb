"""Counting a fleet's SIP traffic as it is sent, into time bins, without keeping any message.

One responsibility: name each datagram cheaply (request method; response status and the method its
CSeq names; a 401 whose challenge says `stale=true`) and add one to its bin. The memory this takes is
bounded by the number of bins and the kinds of message, never by how many messages there were, so a
24-hour study of 20,000 handsets costs no more memory than one hour (docs/fleet.md).

The names agree with the strict parser's (`scenarios.world.decode`): a test counts the same run both
ways (tests/scenarios/test_fleet_traffic.py).
"""

from __future__ import annotations

from collections import Counter

from scenarios.world.log import Address, MessageLog

#: A counted kind of datagram: (direction, method, status, lost). direction is "to-as" or "from-as";
#: status is "" for a request, "401 stale" for a stale-nonce challenge, else the three digits.
Key = tuple[str, str, str, bool]

_CSEQ = b"\r\nCSeq:"


def classify(data: bytes) -> tuple[str, str]:
    """(method, status) of one datagram: status "" for a request; "?" for what does not look like SIP."""
    head_end = data.find(b"\r\n")
    first = data[:head_end] if head_end >= 0 else data
    if first.startswith(b"SIP/2.0 "):
        status = first[8:11].decode("ascii", "replace")
        at = data.find(_CSEQ)
        if at < 0:
            return "?", status
        end = data.find(b"\r\n", at + len(_CSEQ))
        parts = data[at + len(_CSEQ):end].split()
        method = parts[-1].decode("ascii", "replace") if parts else "?"
        if status == "401":
            header_end = data.find(b"\r\n\r\n")
            if b"stale=true" in data[:header_end if header_end >= 0 else len(data)].lower():
                status = "401 stale"
        return method, status
    space = first.find(b" ")
    return (first[:space].decode("ascii", "replace") if space > 0 else "?"), ""


class TrafficCounter(MessageLog):
    """A message log that counts SIP datagrams per (bin, kind) and DECT frames in total.

    It says `keep=True` so that the network hands it every datagram with its addresses, and keeps
    nothing but counts, unless `keep_messages` (a small fleet's captures: `fksim fleet --pcap`)."""

    def __init__(self, *, server: Address, resolution: float, keep_messages: bool = False) -> None:
        super().__init__(keep=True)
        self.server = server
        self.resolution = resolution
        self.keep_messages = keep_messages
        self.bins: Counter[tuple[int, Key]] = Counter()

    def bin_of(self, t: float) -> int:
        # Rounded to the microsecond first, so that a time computed along another path (another
        # partition's timer order) to within a rounding error lands in the same bin.
        return int(round(t, 6) // self.resolution)

    def record_sip(self, t: float, src: str, dst: str, src_addr: Address, dst_addr: Address, data: bytes,
                   *, lost: bool = False) -> None:
        if self.keep_messages:
            super().record_sip(t, src, dst, src_addr, dst_addr, data, lost=lost)
        else:
            self.counts["sip"] += 1
        method, status = classify(data)
        direction = "to-as" if dst_addr == self.server else "from-as"
        self.bins[(self.bin_of(t), (direction, method, status, lost))] += 1

    def record_dect(self, t: float, src: str, dst: str, data: bytes, *, bformat: bool = False) -> None:
        if self.keep_messages:
            super().record_dect(t, src, dst, data, bformat=bformat)
        else:
            self.counts["dect"] += 1


__all__ = ["Key", "TrafficCounter", "classify"]
