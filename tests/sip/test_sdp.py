"""Issue 12 §4: FAC calls carry media. The SDP codec (RFC 4566) and the RFC 3264 offer/answer rules,
the base's offer, the server's answer, and the call's end: ACK, then the server's BYE."""

from __future__ import annotations

import pytest

from sip.core import Core
from sip.errors import RemoteProtocolError
from sip.events import Address, FeatureCodeAnswered, Output
from sip.fac import HANGUP_AFTER, CallPhase, FeatureCodeCaller, FeatureCodeConfig
from sip.ids import SequentialIds
from sip.message import Request, Response, parse_message
from sip.pair import Wire
from sip.sdp import (
    GIGASET_CODECS,
    GIGASET_RTP_PORT,
    build_answer,
    build_offer,
    check_answer,
    parse_sdp,
)
from sip.server import ApplicationServer, ServerConfig, User
from sip.uri import NameAddr, SipUri

BASE: Address = ("192.0.2.10", 5060)
AS: Address = ("192.0.2.1", 5060)
AOR = SipUri(user="2001", host="as.example.com")

OFFER = build_offer(address="192.0.2.10", session_id=7, version=1)


def test_the_base_offers_what_a_gigaset_offers() -> None:
    assert OFFER == (
        b"v=0\r\no=- 7 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\n"
        b"m=audio 5004 RTP/AVP 9 8 0 18 101\r\n"
        b"a=rtpmap:9 G722/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:18 G729/8000\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=ptime:20\r\na=sendrecv\r\n"
    )
    session = parse_sdp(OFFER)
    (audio,) = session.media
    assert (audio.kind, audio.port, audio.proto, audio.address) == ("audio", GIGASET_RTP_PORT, "RTP/AVP", "192.0.2.10")
    assert audio.formats == tuple(str(c) for c in GIGASET_CODECS)
    assert b"IN IP6 2001:db8::1" in build_offer(address="2001:db8::1", session_id=1, version=1)


@pytest.mark.parametrize(
    ("supported", "expected"),
    [((8, 0, 101), b"m=audio 4000 RTP/AVP 8 101\r\n"),    # the first offered one the answerer plays
     ((0,), b"m=audio 4000 RTP/AVP 0\r\n"),               # no telephone-event when it does not play it
     ((18, 9), b"m=audio 4000 RTP/AVP 9\r\n")],           # the offer's order decides
)
def test_the_answer_keeps_rfc3264_section_6(supported: tuple[int, ...], expected: bytes) -> None:
    answer = build_answer(parse_sdp(OFFER), address="192.0.2.1", port=4000, session_id=3, supported=supported)
    assert answer is not None and expected in answer
    check_answer(parse_sdp(OFFER), parse_sdp(answer))   # same m-lines, offered formats only


def test_a_stream_that_cannot_be_accepted_gets_port_0_and_none_at_all_gets_no_answer() -> None:
    offer = OFFER + b"m=video 5006 RTP/AVP 96\r\n"
    answer = build_answer(parse_sdp(offer), address="192.0.2.1", port=4000, session_id=3, supported=(8,))
    assert answer is not None and answer.endswith(b"m=video 0 RTP/AVP 96\r\n")
    assert build_answer(parse_sdp(OFFER), address="192.0.2.1", port=4000, session_id=3, supported=(3,)) is None


@pytest.mark.parametrize(
    "answer",
    [b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 3\r\n",
     b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 8\r\n"
     b"m=audio 4002 RTP/AVP 8\r\n"],
)
def test_an_answer_that_breaks_the_rules_is_refused(answer: bytes) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        check_answer(parse_sdp(OFFER), parse_sdp(answer))
    assert info.value.status == 488


@pytest.mark.parametrize(
    "body",
    [b"", b"v=1\r\n", b"v=0\r\ns=-\r\n", b"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio x RTP/AVP 0\r\n",
     b"v=0\r\no=- 1 1 IN IP4 a\r\nm=audio 4000 RTP/AVP 0\r\n", b"v=0\r\nnonsense\r\n", b"\xff\xfe"],
)
def test_malformed_sdp_raises_488(body: bytes) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_sdp(body)
    assert info.value.status == 488


def _call(server: object) -> tuple[Wire, FeatureCodeCaller]:
    caller = FeatureCodeCaller(FeatureCodeConfig(aor=AOR, server=AS, local=BASE, username="2001", password="pw"),
                               ids=SequentialIds("b"))
    return Wire({BASE: caller, AS: server}), caller  # type: ignore[dict-item]


def _messages(wire: Wire) -> list[tuple[Address, Request | Response]]:
    return [(src, parse_message(data)) for _, src, _, data in wire.log]


def test_offer_from_the_base_answer_from_the_server_ack_and_the_servers_bye() -> None:
    server = ApplicationServer(ServerConfig(local=AS, authenticate=frozenset()), [User(name="2001", password="pw")],
                               ids=SequentialIds("as"))
    wire, caller = _call(server)
    wire.feed(BASE, caller.dial(0.0, "*78"))
    wire.run(10.0)
    flow = [(src, m.method if isinstance(m, Request) else f"{m.status} {m.cseq.method}") for src, m in _messages(wire)]
    assert flow == [(BASE, "INVITE"), (AS, "200 INVITE"), (BASE, "ACK"), (AS, "BYE"), (BASE, "200 BYE")]
    invite, ok, ack, bye = (m for _, m in _messages(wire)[:4])
    assert invite.content_type is not None and invite.content_type.mime == "application/sdp" and invite.body == (
        build_offer(address=BASE[0], session_id=1, version=1))
    assert ok.content_type is not None and ok.content_type.mime == "application/sdp"
    check_answer(parse_sdp(invite.body), parse_sdp(ok.body))
    assert not ack.body   # the offer was in the INVITE: the ACK carries nothing (RFC 3264 §4)
    assert bye.method == "BYE" and bye.to.tag == invite.from_.tag   # the server ends the call
    assert wire.take(BASE) == [FeatureCodeAnswered(code="*78", status=200, reason="DND on")]
    assert not caller.busy and server.user_state("2001").dnd is True


class _SilentServer(Core):
    """Answers the offer with a good or bad answer and never hangs up."""

    def __init__(self, answer: bytes | None) -> None:
        super().__init__(local=AS, ids=SequentialIds("s"))
        self.answer = answer

    def _on_request(self, now: float, request: Request, source: Address) -> list[Output]:
        if request.method == "BYE":
            return self._answer(now, request, 200)
        headers: list[tuple[str, object]] = [("Contact", NameAddr(uri=SipUri(host=AS[0], port=AS[1])))]
        if self.answer is not None:
            headers.append(("Content-Type", "application/sdp"))
        return self._answer(now, request, 200, headers=headers, body=self.answer or b"")


def test_the_base_hangs_up_a_call_the_server_leaves_open() -> None:
    good = build_answer(parse_sdp(OFFER), address=AS[0], port=4000, session_id=1, supported=(8,))
    wire, caller = _call(_SilentServer(good))
    wire.feed(BASE, caller.dial(0.0, "*79"))
    wire.run(HANGUP_AFTER - 1.0)
    assert caller.busy and [c.phase for c in caller.calls.values()] == [CallPhase.CONNECTED]
    wire.run(HANGUP_AFTER + 5.0)
    byes = [(src, m) for src, m in _messages(wire) if isinstance(m, Request) and m.method == "BYE"]
    assert [src for src, _ in byes] == [BASE] and not caller.busy


@pytest.mark.parametrize("answer", [None, b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\n"
                                          b"t=0 0\r\nm=audio 4000 RTP/AVP 3\r\n"])
def test_a_2xx_without_a_valid_answer_is_acked_and_hung_up_at_once(answer: bytes | None) -> None:
    wire, caller = _call(_SilentServer(answer))
    wire.feed(BASE, caller.dial(0.0, "*79"))
    wire.run(1.0)
    methods = [m.method for src, m in _messages(wire) if src == BASE and isinstance(m, Request)]
    assert methods == ["INVITE", "ACK", "BYE"]   # RFC 3261 §13.2.2.4: ACK the 2xx, then end the session
    assert wire.take(BASE) == [FeatureCodeAnswered(code="*79", status=200, reason="OK")]


def test_the_server_refuses_an_offer_it_cannot_play_with_488() -> None:
    server = ApplicationServer(ServerConfig(local=AS, authenticate=frozenset()), [User(name="2001", password="pw")],
                               ids=SequentialIds("as"))
    caller = FeatureCodeCaller(FeatureCodeConfig(aor=AOR, server=AS, local=BASE), ids=SequentialIds("b"))
    invite = parse_message(caller.dial(0.0, "*78")[0].data)  # type: ignore[union-attr]
    assert isinstance(invite, Request)
    invite.body = invite.body.replace(b"RTP/AVP 9 8 0 18 101", b"RTP/AVP 3")
    (out,) = server.receive(0.0, invite.to_bytes(), BASE)
    answer = parse_message(out.data)  # type: ignore[union-attr]
    assert isinstance(answer, Response) and answer.status == 488
    assert server.user_state("2001").dnd is False   # nothing applied
