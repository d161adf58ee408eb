"""Paging and the data link at the base (EN 300 175-5 §8.2, §14.4; libdect's lce.c), sans I/O.

One responsibility: a message the base starts towards a handset goes out only over a link. A link is
up while the handset has sent something in the last `LINK_RELEASE` seconds (its LOCATE, a request, a
reply) or since it answered a page, and while a transaction is open on it (a call ringing or
connected keeps its link). Otherwise the base pages it: an LCE-REQUEST-PAGE, a B-format
short page on the paging channel (3 octets: the header, W flag 0 and the code "general purpose for
voice service", then the low 16 bits of the handset's default individual TPUI: the format libdect
sends), and waits for the handset's LCE-PAGE-RESPONSE. The messages wait, in order, meanwhile.
Unanswered, the page is repeated every `PAGE_TIMEOUT` seconds, `PAGE_RETRIES` times (libdect:
DECT_DDL_PAGE_TIMEOUT 5 s, DECT_DDL_PAGE_RETRANS_MAX 3, "N.300"); then the waiting messages are
dropped and `PagingFailed` is reported: nothing is ever sent to a handset that did not answer. What
the base then does (the feature state is sent again at the handset's next LOCATE) is the firmware's
[choice: docs/firmware.md]. A message that only ends something (a RELEASE) is never a reason to
page: without a link it is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dect.errors import RemoteProtocolError
from dect.events import Link, PagingFailed, Transmission
from dect.identity import Ipui

#: Seconds a link stays up after the last message on it (libdect DECT_DDL_RELEASE_TIMEOUT) [likely].
LINK_RELEASE = 5.0
#: Seconds between two pages of a handset that does not answer (libdect DECT_DDL_PAGE_TIMEOUT).
PAGE_TIMEOUT = 5.0
#: Pages repeated after the first before the base gives up (libdect DECT_DDL_PAGE_RETRANS_MAX, N.300).
PAGE_RETRIES = 3
#: The LCE-REQUEST-PAGE header code "general purpose code for voice service" (EN 300 175-5 §8.2.1).
GENERAL_VOICE = 0x04
W_FLAG = 0x08
PAGE_NAME = "LCE-REQUEST-PAGE"
#: Messages that only end a transaction: never a reason to page.
_ENDINGS = frozenset({"CC-RELEASE", "CC-RELEASE-COM", "CISS-RELEASE-COM"})


def short_page(ipui: Ipui) -> bytes:
    """The B-format short page for a handset's default individual TPUI (W = 0)."""
    return bytes((GENERAL_VOICE,)) + (ipui.default_tpui & 0xFFFF).to_bytes(2, "big")


def read_short_page(data: bytes) -> tuple[bool, int, int]:
    """(W flag, header code, 16-bit information) of a short page; RemoteProtocolError otherwise."""
    if len(data) != 3:
        raise RemoteProtocolError(f"a short page is 3 octets, not {len(data)}", reason=0x04, offset=0)
    return bool(data[0] & W_FLAG), data[0] & 0x07, int.from_bytes(data[1:3], "big")


def describe_page(data: bytes) -> dict[str, object]:
    """A short page as the result format shows a message (name, hex, its fields)."""
    w, code, info = read_short_page(data)
    return {"message": PAGE_NAME, "hex": data.hex(" ").upper(),
            "ies": [{"name": "SHORT-PAGE", "w": int(w), "header": code, "tpui_low16": f"{info:04X}"}]}


@dataclass
class _Paging:
    ipui: Ipui
    deadline: float
    pages: int = 1
    waiting: list[Transmission] = field(default_factory=list)


class Pager:
    """The base's links to its handsets: which are up, which are being paged, and what waits."""

    def __init__(self, outgoing: list[Transmission],
                 busy: Callable[[Link], bool] = lambda _link: False) -> None:
        self._outgoing = outgoing
        #: Whether a link carries an open transaction (a call rings or is connected): it stays up.
        self._busy = busy
        self._up_until: dict[Link, float] = {}
        self._paging: dict[Link, _Paging] = {}

    def heard(self, link: Link, now: float) -> None:
        """The handset sent something on `link`: the link is up (what waited goes out with `flush`)."""
        self._up_until[link] = now + LINK_RELEASE

    def flush(self, link: Link,
              keep: Callable[[Transmission], bool] = lambda _sent: True) -> list[Transmission]:
        """After the handset's message was answered: what waited for the link goes out, in order, but
        for what `keep` refuses (superseded meanwhile), which is returned."""
        paging = self._paging.pop(link, None)
        if paging is None:
            return []
        self._outgoing.extend(sent for sent in paging.waiting if keep(sent))
        return [sent for sent in paging.waiting if not keep(sent)]

    def linked(self, link: Link, now: float) -> bool:
        return self._up_until.get(link, -1.0) > now or self._busy(link)

    def submit(self, sent: Transmission, ipui: Ipui, now: float) -> None:
        """Send a message the base starts: at once over a link, else after a page is answered."""
        paging = self._paging.get(sent.link)
        if paging is None and self.linked(sent.link, now):
            self._up_until[sent.link] = now + LINK_RELEASE
            self._outgoing.append(sent)
            return
        if paging is None:
            if sent.name in _ENDINGS:
                return   # nothing to end over a link that is down
            paging = self._paging[sent.link] = _Paging(ipui=ipui, deadline=now + PAGE_TIMEOUT)
            self._outgoing.append(Transmission(link=sent.link, data=short_page(ipui), name=PAGE_NAME))
        paging.waiting.append(sent)

    def paging(self, link: Link) -> bool:
        return link in self._paging

    def next_deadline(self) -> float | None:
        return min((p.deadline for p in self._paging.values()), default=None)

    def handle_timer(self, now: float) -> list[PagingFailed]:
        failed: list[PagingFailed] = []
        for link, paging in sorted(self._paging.items()):
            if paging.deadline > now:
                continue
            if paging.pages > PAGE_RETRIES:
                del self._paging[link]
                failed.append(PagingFailed(link=link, ipui=paging.ipui,
                                           dropped=tuple(t.name for t in paging.waiting)))
                continue
            paging.pages += 1
            paging.deadline = now + PAGE_TIMEOUT
            self._outgoing.append(Transmission(link=link, data=short_page(paging.ipui), name=PAGE_NAME))
        return failed
