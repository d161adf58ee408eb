"""Hand-written requests from the server's address to the base's call core (sip/call.py
`CallAnswerer`), shared by tests/sip/test_call_answerer.py and tests/sip/test_call_review.py."""

from __future__ import annotations

from sip.call import CallAnswerer, CallAnswererConfig
from sip.events import Address, Output, SendDatagram
from sip.ids import SequentialIds
from sip.message import Request, Response, parse_message
from sip.sdp import MEDIA_TYPE, build_offer
from sip.uri import SipUri

SERVER: Address = ("192.0.2.1", 5060)
BASE: Address = ("192.0.2.11", 5060)
DOMAIN = "as.example.com"
T1 = 0.5
OFFER = build_offer(address=SERVER[0], session_id=1, version=1, port=4002, codecs=(8, 0, 9, 101))


def answerer() -> CallAnswerer:
    config = CallAnswererConfig(aor=SipUri(user="2001", host=DOMAIN), server=SERVER, local=BASE)
    return CallAnswerer(config, ids=SequentialIds("base"))


def request(method: str, *, call_id: str = "call-1", branch: str = "z9hG4bKinv1", cseq: int = 1,
            to_tag: str | None = None, body: bytes = b"", content_type: str | None = None,
            extra: str = "") -> bytes:
    to = "<sip:2001@as.example.com>" + (f";tag={to_tag}" if to_tag else "")
    lines = [
        f"{method} sip:2001@192.0.2.11:5060 SIP/2.0",
        f"Via: SIP/2.0/UDP 192.0.2.1:5060;branch={branch};rport",
        "Max-Forwards: 70",
        "From: <sip:0301234@as.example.com>;tag=caller-tag",
        f"To: {to}",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} {method}",
        "Contact: <sip:0301234@192.0.2.1:5060>",
    ]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    if extra:
        lines.append(extra)
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def invite(**kw: object) -> bytes:
    kw.setdefault("body", OFFER)
    kw.setdefault("content_type", MEDIA_TYPE)
    return request("INVITE", **kw)  # type: ignore[arg-type]


def sent(outputs: list[Output]) -> list[Request | Response]:
    return [parse_message(o.data) for o in outputs if isinstance(o, SendDatagram)]
