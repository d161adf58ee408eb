"""SDP (RFC 4566) for the audio of feature-access-code calls, and the RFC 3264 offer/answer rules.

One responsibility: write the base's offer, read an offer or answer, and write an answer to an offer.
A FAC call carries media like any call (RFC 3261 §13.3.1.4: an INVITE without an offer gets one in
the 2xx, and the ACK must answer it; BroadWorks plays a confirmation announcement), so the base's
INVITE carries an offer and the server answers it.

Facts: the payload types are RFC 3551's static ones (PCMU 0, PCMA 8, G722 9 with the RTP clock
of 8000 written in its rtpmap, RFC 3551 §4.5.2; G729 18), telephone-event is RFC 4733. The answer
follows RFC 3264 §6.1: one m-line per offered m-line in the same order, formats a subset of the
offered ones, the same payload type numbers, port 0 for a stream it rejects. Choices (docs/sip.md):
which codecs the base offers and in what order (as a Gigaset N870 offers them), its RTP port, ptime.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sip.errors import RemoteProtocolError

#: payload type -> rtpmap value (RFC 3551 §6 static types; RFC 4733 telephone-event, dynamic 101).
RTPMAP = {0: "PCMU/8000", 8: "PCMA/8000", 9: "G722/8000", 18: "G729/8000", 101: "telephone-event/8000"}
#: What a Gigaset N870 offers, in its order [choice: the vendor's default codec list, G.722 first].
GIGASET_CODECS = (9, 8, 0, 18, 101)
#: The base's first RTP port [choice: the start of Gigaset's default RTP port range 5004-5020].
GIGASET_RTP_PORT = 5004
#: Packetisation time written in the offer, ms [choice: 20 ms, the RFC 3551 default for G.711].
PTIME = 20
MEDIA_TYPE = "application/sdp"


@dataclass(frozen=True, kw_only=True)
class Media:
    """One m-line: media type, port (0: rejected), protocol, payload types, and its connection address
    (the session's when the m-line has none)."""

    kind: str
    port: int
    proto: str
    formats: tuple[str, ...]
    address: str


@dataclass(frozen=True, kw_only=True)
class Session:
    origin: str
    media: tuple[Media, ...]


def _family(host: str) -> str:
    return "IP6" if ":" in host else "IP4"  # RFC 4566 §5.7 addrtype


def build_offer(*, address: str, session_id: int, version: int, port: int = GIGASET_RTP_PORT,
                codecs: Sequence[int] = GIGASET_CODECS, user: str = "-") -> bytes:
    """The base's offer: one sendrecv audio stream with `codecs` (RFC 3264 §5)."""
    family = _family(address)
    lines = [
        "v=0", f"o={user} {session_id} {version} IN {family} {address}", "s=-",
        f"c=IN {family} {address}", "t=0 0",
        f"m=audio {port} RTP/AVP {' '.join(str(c) for c in codecs)}",
    ]  # fmt: skip
    lines += [f"a=rtpmap:{c} {RTPMAP[c]}" for c in codecs if c in RTPMAP]
    if 101 in codecs:
        lines.append("a=fmtp:101 0-15")  # RFC 4733 §2.4.1: the DTMF events 0-15
    lines += [f"a=ptime:{PTIME}", "a=sendrecv"]
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def parse_sdp(body: bytes) -> Session:
    """Read the lines this project needs (v, o, c, m); anything else is skipped. A description
    without v=0, o= or an m-line, or with an m-line that has no connection address, raises
    `RemoteProtocolError` with 488 (RFC 3261 §21.4.26 Not Acceptable Here)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise RemoteProtocolError("SDP is not UTF-8", status=488) from None
    origin = ""
    session_address = ""
    media: list[dict[str, object]] = []
    lines = [line for line in text.replace("\r\n", "\n").split("\n") if line]
    if not lines or lines[0] != "v=0":
        raise RemoteProtocolError("SDP without v=0", status=488)
    for line in lines:
        kind, sep, value = line.partition("=")
        if not sep or len(kind) != 1:
            raise RemoteProtocolError("Malformed SDP line", status=488)
        if kind == "o":
            origin = value
        elif kind == "c":
            parts = value.split()
            if len(parts) != 3:
                raise RemoteProtocolError("Malformed SDP c= line", status=488)
            if media:
                media[-1]["address"] = parts[2].split("/")[0]
            else:
                session_address = parts[2].split("/")[0]
        elif kind == "m":
            parts = value.split()
            # RFC 4566 §9: media, port, proto and fmt are ASCII tokens and digits; anything else (a
            # "²" passes str.isdigit() and fails int(); a non-ASCII token cannot be echoed in an
            # ASCII answer) is a malformed line, not an exception.
            if len(parts) < 4 or not value.isascii() or not parts[1].split("/")[0].isdigit():
                raise RemoteProtocolError("Malformed SDP m= line", status=488)
            media.append({"kind": parts[0], "port": int(parts[1].split("/")[0]), "proto": parts[2],
                          "formats": tuple(parts[3:]), "address": ""})
    if not origin or not media:
        raise RemoteProtocolError("SDP without o= or m= line", status=488)
    out = []
    for m in media:
        address = str(m["address"]) or session_address
        if not address:
            raise RemoteProtocolError("SDP m= line without a connection address", status=488)
        out.append(Media(kind=str(m["kind"]), port=int(str(m["port"])), proto=str(m["proto"]),
                         formats=tuple(str(f) for f in m["formats"]),  # type: ignore[attr-defined]
                         address=address))
    return Session(origin=origin, media=tuple(out))


def build_answer(offer: Session, *, address: str, port: int, session_id: int, supported: Sequence[int],
                 user: str = "-") -> bytes | None:
    """The RFC 3264 §6.1 answer to `offer`: every audio m-line gets the first offered format in
    `supported` (and telephone-event when offered); a stream with none, or not audio, is rejected
    with port 0. None when no stream can be accepted (the INVITE then gets 488)."""
    family = _family(address)
    lines = ["v=0", f"o={user} {session_id} 1 IN {family} {address}", "s=-", f"c=IN {family} {address}",
             "t=0 0"]
    accepted = False
    for media in offer.media:
        chosen = [f for f in media.formats if f.isdigit() and int(f) in supported and int(f) != 101]
        if media.kind != "audio" or media.port == 0 or media.proto != "RTP/AVP" or not chosen:
            lines.append(f"m={media.kind} 0 {media.proto} {media.formats[0]}")
            continue
        formats = [chosen[0]] + (["101"] if "101" in media.formats and 101 in supported else [])
        lines.append(f"m=audio {port} RTP/AVP {' '.join(formats)}")
        lines += [f"a=rtpmap:{f} {RTPMAP[int(f)]}" for f in formats if int(f) in RTPMAP]
        if "101" in formats:
            lines.append("a=fmtp:101 0-15")
        lines.append("a=sendrecv")
        accepted = True
    if not accepted:
        return None
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


def check_answer(offer: Session, answer: Session) -> None:
    """RFC 3264 §6: as many m-lines as offered, and every accepted one uses offered formats.
    Raises `RemoteProtocolError` (488) when the answer breaks that."""
    if len(answer.media) != len(offer.media):
        raise RemoteProtocolError("SDP answer with another number of m= lines", status=488)
    for sent, got in zip(offer.media, answer.media, strict=True):
        if got.port and not set(got.formats) <= set(sent.formats):
            raise RemoteProtocolError("SDP answer with a format not offered", status=488)


__all__ = [
    "GIGASET_CODECS",
    "GIGASET_RTP_PORT",
    "MEDIA_TYPE",
    "RTPMAP",
    "Media",
    "Session",
    "build_answer",
    "build_offer",
    "check_answer",
    "parse_sdp",
]
