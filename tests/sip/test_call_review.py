"""Review of the incoming-call cores against RFC 3261 and odd input: each test is a defect that was found
(sip/call.py `CallAnswerer`, sip/sdp.py, sip/server/calls.py `CallDelivery`). The everyday behaviour is
in test_call_answerer.py and test_server_calls.py."""

from __future__ import annotations

import pytest

from sip.call import CallAnswerer, CallAnswererConfig
from sip.errors import RemoteProtocolError
from sip.events import Address, Output, SendDatagram
from sip.ids import SequentialIds
from sip.message import Request, Response, parse_message
from sip.sdp import MEDIA_TYPE, build_offer, parse_sdp
from sip.uri import SipUri

SERVER: Address = ("192.0.2.1", 5060)
BASE: Address = ("192.0.2.11", 5060)
DOMAIN = "as.example.com"
T1 = 0.5
OFFER = build_offer(address=SERVER[0], session_id=1, version=1, port=4002, codecs=(8, 0, 9, 101))
SDP_HEAD = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"


def answerer() -> CallAnswerer:
    config = CallAnswererConfig(aor=SipUri(user="2001", host=DOMAIN), server=SERVER, local=BASE)
    return CallAnswerer(config, ids=SequentialIds("base"))


def request(method: str, *, call_id: str = "call-1", branch: str = "z9hG4bKinv1", cseq: int = 1,
            to_tag: str | None = None, body: bytes = b"", content_type: str | None = None) -> bytes:
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
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def invite(**kw: object) -> bytes:
    kw.setdefault("body", OFFER)
    kw.setdefault("content_type", MEDIA_TYPE)
    return request("INVITE", **kw)  # type: ignore[arg-type]


def sent(outputs: list[Output]) -> list[Request | Response]:
    return [parse_message(o.data) for o in outputs if isinstance(o, SendDatagram)]


def responses(outputs: list[Output]) -> list[Response]:
    return [m for m in sent(outputs) if isinstance(m, Response)]


def statuses(outputs: list[Output]) -> list[int]:
    return [m.status for m in responses(outputs)]


def methods(outputs: list[Output]) -> list[str]:
    return [m.method for m in sent(outputs) if isinstance(m, Request)]


def events(outputs: list[Output]) -> list[Output]:
    return [o for o in outputs if not isinstance(o, SendDatagram)]


def offered(core: CallAnswerer, now: float = 1.0) -> None:
    assert statuses(core.receive(now, invite(), SERVER)) == [100]


def to_tag_of(outputs: list[Output]) -> str:
    tags = {m.to.tag for m in responses(outputs) if m.status > 100}
    assert len(tags) == 1
    tag = tags.pop()
    assert tag is not None
    return tag


def run_timers(core: CallAnswerer, until: float) -> list[tuple[float, Output]]:
    out: list[tuple[float, Output]] = []
    for _ in range(1000):
        deadline = core.next_deadline()
        if deadline is None or deadline > until:
            return out
        out += [(deadline, o) for o in core.handle_timer(deadline)]
    raise AssertionError("timers did not quiesce")


# --- SDP: nothing raises out of the core but RemoteProtocolError, which becomes 488 -----------------


@pytest.mark.parametrize("media", [
    "m=audio 5000 RTP/AVP \u00b2\r\n",                            # a superscript two: str.isdigit() but no int
    "m=audio \u00b2 RTP/AVP 8\r\n",
    "m=vid\u00e9o 5000 RTP/AVP 31\r\nm=audio 5000 RTP/AVP 8\r\n",  # a rejected stream echoed in the answer
    "m=audio 5000 RTP/AVP 8\r\nm=video 5000 RTP/AVP \u0663\r\n",   # an Arabic-Indic digit
], ids=["unicode-digit-format", "unicode-digit-port", "non-ascii-media", "arabic-digit"])
def test_an_offer_with_non_ascii_tokens_gets_488_not_an_exception(media: str) -> None:
    body = SDP_HEAD + media.encode()
    with pytest.raises(RemoteProtocolError) as info:
        parse_sdp(body)
    assert info.value.status == 488
    core = answerer()
    out = core.receive(1.0, invite(body=body), SERVER)
    assert statuses(out) == [488] and events(out) == [] and core.calls == {}
