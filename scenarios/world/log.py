"""The time-ordered record of every DECT frame and SIP datagram put on a simulated link.

Entries keep the raw bytes and who sent them to whom; naming and decoding (SIP method, status,
event, DECT message name) is done on demand by `scenarios.world.decode`, so that a large fleet run
pays only for an append per message. `keep=False` counts messages without keeping them (benchmarks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Address = tuple[str, int]
Layer = Literal["sip", "dect"]


@dataclass(frozen=True, slots=True)
class LogEntry:
    """One message as sent: simulated time, layer, endpoint names, raw bytes, addresses for SIP."""

    seq: int
    t: float
    layer: Layer
    src: str
    dst: str
    data: bytes
    src_addr: Address | None = None
    dst_addr: Address | None = None
    lost: bool = False
    #: A B-format message of the paging channel (LCE-REQUEST-PAGE, dect.paging), not an S-format NWK frame.
    bformat: bool = False


class MessageLog:
    """Append-only, in send order (which is time order: simulated time never goes back)."""

    def __init__(self, *, keep: bool = True) -> None:
        self.keep = keep
        self.entries: list[LogEntry] = []
        self.counts: dict[Layer, int] = {"sip": 0, "dect": 0}

    def _add(self, entry: LogEntry) -> None:
        self.counts[entry.layer] += 1
        if self.keep:
            self.entries.append(entry)

    def record_sip(self, t: float, src: str, dst: str, src_addr: Address, dst_addr: Address, data: bytes,
                   *, lost: bool = False) -> None:
        if not self.keep:
            self.counts["sip"] += 1
            return
        self._add(LogEntry(self.counts["sip"] + self.counts["dect"], t, "sip", src, dst, data,
                           src_addr, dst_addr, lost))

    def record_dect(self, t: float, src: str, dst: str, data: bytes, *, bformat: bool = False) -> None:
        if not self.keep:
            self.counts["dect"] += 1
            return
        self._add(LogEntry(self.counts["sip"] + self.counts["dect"], t, "dect", src, dst, data,
                           bformat=bformat))

    def __len__(self) -> int:
        return len(self.entries)
