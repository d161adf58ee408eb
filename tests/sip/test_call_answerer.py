"""The base's UAS for incoming calls (sip/call.py `CallAnswerer`), driven with hand-written requests
from the server's address: ringing/answer/reject/redirect/hang_up, CANCEL and BYE from the caller,
2xx retransmission until the ACK, Timer L, and hostile or malformed input (never raised out of
`receive`). The server side end to end is in test_server_calls.py."""

from __future__ import annotations

import pytest

from sip.call import TABLE, CallAnswerer, Input, Phase
from sip.errors import LocalProtocolError
from sip.events import (
    Address,
    CallCancelled,
    CallConfirmed,
    CallEnded,
    CallOffered,
    ForeignRequestRefused,
    Output,
    SendDatagram,
)
from sip.message import Request, Response, parse_message
from sip.sdp import GIGASET_RTP_PORT, MEDIA_TYPE, build_offer, parse_sdp
from sip.uri import SipUri
from support.calls import BASE, OFFER, SERVER, T1, answerer, invite, request, sent

STRANGER: Address = ("198.51.100.7", 5060)


def statuses(outputs: list[Output]) -> list[int]:
    return [m.status for m in sent(outputs) if isinstance(m, Response)]


def events(outputs: list[Output]) -> list[Output]:
    return [o for o in outputs if not isinstance(o, SendDatagram)]


def offered(core: CallAnswerer, now: float = 1.0, **kw: object) -> list[Output]:
    out = core.receive(now, invite(**kw), SERVER)
    assert statuses(out) == [100]
    return out


def to_tag_of(outputs: list[Output]) -> str:
    tags = {m.to.tag for m in sent(outputs) if isinstance(m, Response) and m.status > 100}
    assert len(tags) == 1
    tag = tags.pop()
    assert tag is not None
    return tag


def ack(to_tag: str, call_id: str = "call-1") -> bytes:
    return request("ACK", call_id=call_id, branch="z9hG4bKack1", to_tag=to_tag)


def phase(core: CallAnswerer, call_id: str = "call-1") -> Phase:
    return core.calls[call_id].phase


def run_timers(core: CallAnswerer, until: float) -> list[tuple[float, Output]]:
    out: list[tuple[float, Output]] = []
    for _ in range(1000):
        deadline = core.next_deadline()
        if deadline is None or deadline > until:
            return out
        out += [(deadline, o) for o in core.handle_timer(deadline)]
    raise AssertionError("timers did not quiesce")


# --- the application's decisions ---------------------------------------------------------------------


def test_offer_ring_answer_ack() -> None:
    core = answerer()
    out = offered(core)
    assert events(out) == [CallOffered(call_id="call-1", caller="0301234", offer=OFFER)]
    ringing = core.ringing(2.0, "call-1")
    assert statuses(ringing) == [180]
    (r180,) = sent(ringing)
    assert isinstance(r180, Response) and r180.to.tag
    assert [c.uri for c in r180.contacts] == [SipUri(user="2001", host=BASE[0], port=BASE[1])]
    answered = core.answer(3.0, "call-1")
    (ok,) = sent(answered)
    assert isinstance(ok, Response) and ok.status == 200
    assert ok.to.tag == r180.to.tag   # the early dialog's tag (RFC 3261 §13.3.1.1)
    assert ok.content_type is not None and ok.content_type.mime == MEDIA_TYPE
    answer = parse_sdp(ok.body)
    assert len(answer.media) == 1
    assert answer.media[0].address == BASE[0] and answer.media[0].port == GIGASET_RTP_PORT
    assert answer.media[0].formats == ("8", "101")   # the first offered codec the base has, and DTMF
    assert phase(core) is Phase.ANSWERED
    confirmed = core.receive(3.1, ack(r180.to.tag), SERVER)
    assert confirmed == [CallConfirmed(call_id="call-1")]
    assert core.receive(3.2, ack(r180.to.tag), SERVER) == []   # a second ACK is absorbed
    assert phase(core) is Phase.CONFIRMED


def test_offerless_invite_gets_an_offer_in_the_200() -> None:
    core = answerer()
    out = core.receive(1.0, request("INVITE"), SERVER)
    assert events(out) == [CallOffered(call_id="call-1", caller="0301234", offer=None)]
    (ok,) = sent(core.answer(2.0, "call-1"))
    assert isinstance(ok, Response) and ok.status == 200
    assert parse_sdp(ok.body).media[0].address == BASE[0]


def test_ack_with_a_wrong_to_tag_confirms_nothing() -> None:
    core = answerer()
    offered(core)
    core.answer(2.0, "call-1")
    assert core.receive(2.1, ack("not-ours"), SERVER) == []
    assert phase(core) is Phase.ANSWERED


def test_reject_sends_the_final_and_forgets_the_call() -> None:
    core = answerer()
    offered(core)
    core.ringing(2.0, "call-1")
    out = core.reject(3.0, "call-1", 486)
    assert statuses(out) == [486] and events(out) == []
    assert core.calls == {}
    with pytest.raises(LocalProtocolError):
        core.answer(4.0, "call-1")


def test_redirect_sends_302_with_the_target_at_the_aor_domain() -> None:
    core = answerer()
    offered(core)
    out = core.redirect(2.0, "call-1", "3300")
    (moved,) = sent(out)
    assert isinstance(moved, Response) and moved.status == 302
    assert moved.headers.get("Contact") == "<sip:3300@as.example.com>"
    assert core.calls == {}


@pytest.mark.parametrize("status", [100, 180, 200, 302, 399, 700, 0, -1])
def test_reject_with_a_status_that_does_not_reject_raises(status: int) -> None:
    core = answerer()
    offered(core)
    with pytest.raises(LocalProtocolError):
        core.reject(2.0, "call-1", status)
    assert phase(core) is Phase.OFFERED   # nothing changed, nothing sent
    assert statuses(core.answer(3.0, "call-1")) == [200]


def test_decisions_for_an_unknown_call_or_out_of_order() -> None:
    core = answerer()
    with pytest.raises(LocalProtocolError):
        core.ringing(1.0, "nope")
    with pytest.raises(LocalProtocolError):
        core.answer(1.0, "nope")
    with pytest.raises(LocalProtocolError):
        core.reject(1.0, "nope", 486)
    with pytest.raises(LocalProtocolError):
        core.redirect(1.0, "nope", "3300")
    assert core.hang_up(1.0, "nope") == []
    offered(core)
    core.answer(2.0, "call-1")
    with pytest.raises(LocalProtocolError):
        core.ringing(2.1, "call-1")
    with pytest.raises(LocalProtocolError):
        core.answer(2.1, "call-1")


def test_every_table_row_starts_from_a_live_phase() -> None:
    assert all(phase is not Phase.ENDED for phase, _ in TABLE)
    assert {next_phase for _, next_phase in TABLE.values()} <= set(Phase)
    assert (Phase.RINGING, Input.CANCEL) in TABLE and (Phase.CONFIRMED, Input.CANCEL) not in TABLE


# --- the caller's requests -----------------------------------------------------------------------------


def test_cancel_while_ringing() -> None:
    core = answerer()
    offered(core)
    tag = to_tag_of(core.ringing(2.0, "call-1"))
    out = core.receive(3.0, request("CANCEL"), SERVER)
    msgs = sent(out)
    assert [(m.status, m.cseq.method) for m in msgs if isinstance(m, Response)] == [(200, "CANCEL"), (487, "INVITE")]
    assert msgs[1].to.tag == tag
    assert events(out) == [CallCancelled(call_id="call-1")]
    assert core.calls == {}
    # the ACK of the 487 is absorbed by the INVITE transaction, and a repeated CANCEL is harmless
    assert events(core.receive(3.1, request("ACK", to_tag=tag), SERVER)) == []
    assert events(core.receive(3.2, request("CANCEL"), SERVER)) == []


def test_cancel_after_the_answer_changes_nothing() -> None:
    core = answerer()
    offered(core)
    tag = to_tag_of(core.answer(2.0, "call-1"))
    out = core.receive(2.1, request("CANCEL"), SERVER)
    assert [(m.status, m.cseq.method) for m in sent(out) if isinstance(m, Response)] == [(200, "CANCEL")]
    assert events(out) == []
    assert core.receive(2.2, ack(tag), SERVER) == [CallConfirmed(call_id="call-1")]


def test_bye_from_the_caller_ends_the_call() -> None:
    core = answerer()
    offered(core)
    tag = to_tag_of(core.answer(2.0, "call-1"))
    core.receive(2.1, ack(tag), SERVER)
    out = core.receive(5.0, request("BYE", branch="z9hG4bKbye1", cseq=2, to_tag=tag), SERVER)
    assert statuses(out) == [200]
    assert events(out) == [CallEnded(call_id="call-1", by="remote")]
    assert core.calls == {}


def test_a_bye_with_a_wrong_tag_gets_481() -> None:
    core = answerer()
    offered(core)
    core.answer(2.2, "call-1")
    out = core.receive(2.3, request("BYE", branch="z9hG4bKbye2", cseq=3, to_tag="other"), SERVER)
    assert statuses(out) == [481] and events(out) == []
    assert phase(core) is Phase.ANSWERED


def test_a_bye_in_the_early_dialog_terminates_the_invite() -> None:
    # RFC 3261 §15.1.2: a BYE for the early dialog (our 180's tag) gets 200, the INVITE 487.
    core = answerer()
    offered(core)
    tag = to_tag_of(core.ringing(2.0, "call-1"))
    out = core.receive(2.1, request("BYE", branch="z9hG4bKbye1", cseq=2, to_tag=tag), SERVER)
    assert sorted(statuses(out)) == [200, 487] and events(out) == [CallCancelled(call_id="call-1")]
    assert core.calls == {}


def test_hang_up_sends_bye_to_the_server_and_its_answer_ends_the_call() -> None:
    core = answerer()
    offered(core)
    tag = to_tag_of(core.answer(2.0, "call-1"))
    core.receive(2.1, ack(tag), SERVER)
    out = core.hang_up(5.0, "call-1")
    (bye,) = sent(out)
    datagrams = [o for o in out if isinstance(o, SendDatagram)]
    assert datagrams[0].destination == SERVER
    assert isinstance(bye, Request) and bye.method == "BYE"
    assert bye.uri == SipUri(user="0301234", host="192.0.2.1", port=5060)   # the INVITE's Contact
    assert bye.from_.tag == tag and bye.to.tag == "caller-tag" and bye.call_id == "call-1"
    assert core.hang_up(5.1, "call-1") == []   # a second hang_up while ours is pending does nothing
    ok = (f"SIP/2.0 200 OK\r\nVia: {bye.headers.get('Via')}\r\nFrom: {bye.headers.get('From')}\r\n"
          f"To: {bye.headers.get('To')}\r\nCall-ID: call-1\r\nCSeq: {bye.headers.get('CSeq')}\r\n"
          "Content-Length: 0\r\n\r\n").encode()
    assert core.receive(5.2, ok, SERVER) == [CallEnded(call_id="call-1", by="local")]
    assert core.calls == {}


def test_bye_that_is_never_answered_ends_the_call_at_timer_f() -> None:
    core = answerer()
    offered(core)
    tag = to_tag_of(core.answer(2.0, "call-1"))
    core.receive(2.1, ack(tag), SERVER)
    core.hang_up(5.0, "call-1")
    fired = run_timers(core, 5.0 + 64 * T1)
    ended = [(t, o) for t, o in fired if isinstance(o, CallEnded)]
    assert ended == [(5.0 + 64 * T1, CallEnded(call_id="call-1", by="local"))]
    assert core.calls == {}


def test_crossed_byes() -> None:
    core = answerer()
    offered(core)
    tag = to_tag_of(core.answer(2.0, "call-1"))
    core.receive(2.1, ack(tag), SERVER)
    core.hang_up(5.0, "call-1")
    out = core.receive(5.01, request("BYE", branch="z9hG4bKbye1", cseq=2, to_tag=tag), SERVER)
    assert statuses(out) == [200]
    assert events(out) == [CallEnded(call_id="call-1", by="remote")]
    assert [o for _, o in run_timers(core, 100.0) if isinstance(o, CallEnded)] == []   # reported once


# --- retransmissions -----------------------------------------------------------------------------------


def test_a_retransmitted_invite_is_absorbed() -> None:
    core = answerer()
    first = core.receive(1.0, invite(), SERVER)
    again = core.receive(1.5, invite(), SERVER)
    assert len([e for e in first + again if isinstance(e, CallOffered)]) == 1
    assert statuses(again) == [100]   # the last provisional response again (RFC 3261 §17.2.1)
    core.ringing(2.0, "call-1")
    assert statuses(core.receive(2.5, invite(), SERVER)) == [180]
    assert list(core.calls) == ["call-1"]


def test_lost_200_is_retransmitted_t1_doubling_to_t2_until_the_ack() -> None:
    core = answerer()
    offered(core)
    answered = core.answer(10.0, "call-1")
    first = next(o.data for o in answered if isinstance(o, SendDatagram))
    fired = run_timers(core, 10.0 + 16.0)
    copies = [t for t, o in fired if isinstance(o, SendDatagram)]
    assert all(o.data == first for _, o in fired if isinstance(o, SendDatagram))
    # T1, 2*T1, 4*T1, then capped at T2 = 4 s (RFC 3261 §13.3.1.4)
    assert copies == [10.5, 11.5, 13.5, 17.5, 21.5, 25.5]
    assert core.receive(26.0, ack(to_tag_of(answered)), SERVER) == [CallConfirmed(call_id="call-1")]
    assert [o for _, o in run_timers(core, 200.0) if isinstance(o, SendDatagram)] == []


def test_no_ack_within_timer_l_ends_the_call_with_bye() -> None:
    core = answerer()
    offered(core)
    core.answer(10.0, "call-1")
    fired = run_timers(core, 10.0 + 64 * T1)
    byes = [(t, m) for t, o in fired if isinstance(o, SendDatagram)
            for m in [parse_message(o.data)] if isinstance(m, Request) and m.method == "BYE"]
    assert [t for t, _ in byes] == [10.0 + 64 * T1]
    assert phase(core) is Phase.HANGING_UP
    fired = run_timers(core, 200.0)
    assert [o for _, o in fired if isinstance(o, CallEnded)] == [CallEnded(call_id="call-1", by="local")]
    assert core.calls == {}


# --- hostile and malformed input ------------------------------------------------------------------------


def test_invite_with_a_body_that_is_not_sdp_gets_415() -> None:
    core = answerer()
    out = core.receive(1.0, invite(body=b"<xml/>", content_type="application/xml"), SERVER)
    (refusal,) = sent(out)
    assert isinstance(refusal, Response) and refusal.status == 415
    assert refusal.headers.get("Accept") == MEDIA_TYPE
    assert events(out) == [] and core.calls == {}


def test_invite_with_a_body_without_content_type_gets_400() -> None:
    core = answerer()
    out = core.receive(1.0, invite(content_type=None), SERVER)   # RFC 3261 §20.15: Content-Type is required
    assert statuses(out) == [400] and events(out) == [] and core.calls == {}


@pytest.mark.parametrize("body", [
    build_offer(address="192.0.2.1", session_id=1, version=1, codecs=(3, 97)),   # GSM and a dynamic type
    build_offer(address="192.0.2.1", session_id=1, version=1, codecs=(101,)),    # only DTMF
    b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\nm=video 5000 RTP/AVP 8\r\n",
    b"v=0\r\ngarbage\r\n",
    b"not sdp at all",
    b"\xff\xfe\x00",
], ids=["no-common-codec", "only-dtmf", "video-only", "malformed-line", "no-v", "not-utf8"])
def test_invite_with_an_unacceptable_offer_gets_488(body: bytes) -> None:
    core = answerer()
    out = core.receive(1.0, invite(body=body), SERVER)
    assert statuses(out) == [488]
    assert events(out) == [] and core.calls == {}


@pytest.mark.parametrize("method", ["CANCEL", "BYE"])
def test_cancel_or_bye_for_an_unknown_call_gets_481(method: str) -> None:
    core = answerer()
    out = core.receive(1.0, request(method, call_id="nobody", to_tag="x" if method == "BYE" else None), SERVER)
    assert statuses(out) == [481] and events(out) == []


def test_cancel_for_another_transaction_of_a_known_call_gets_481() -> None:
    core = answerer()
    offered(core)
    out = core.receive(1.1, request("CANCEL", branch="z9hG4bKother"), SERVER)
    assert statuses(out) == [481] and events(out) == []
    assert phase(core) is Phase.OFFERED


def test_invite_with_a_to_tag_for_no_call_gets_481_and_a_reinvite_488() -> None:
    core = answerer()
    assert statuses(core.receive(1.0, invite(call_id="old", branch="z9hG4bKold", to_tag="stale"), SERVER)) == [481]
    offered(core)
    tag = to_tag_of(core.answer(2.0, "call-1"))
    core.receive(2.1, ack(tag), SERVER)
    out = core.receive(3.0, invite(branch="z9hG4bKre", cseq=2, to_tag=tag), SERVER)
    assert statuses(out) == [488] and events(out) == []
    assert phase(core) is Phase.CONFIRMED


def test_other_methods_get_405_with_allow() -> None:
    core = answerer()
    out = core.receive(1.0, request("OPTIONS", branch="z9hG4bKopt"), SERVER)
    (refusal,) = sent(out)
    assert isinstance(refusal, Response) and refusal.status == 405
    assert refusal.headers.get("Allow") == "INVITE, ACK, BYE, CANCEL"


@pytest.mark.parametrize("method", ["INVITE", "CANCEL", "BYE"])
def test_requests_from_a_stranger_get_403(method: str) -> None:
    core = answerer()
    data = invite() if method == "INVITE" else request(method, to_tag="x" if method == "BYE" else None)
    out = core.receive(1.0, data, STRANGER)
    assert statuses(out) == [403]
    assert [o.destination for o in out if isinstance(o, SendDatagram)] == [STRANGER]
    assert events(out) == [ForeignRequestRefused(method=method, call_id="call-1", source=STRANGER)]
    assert core.calls == {} and core.next_deadline() is None


def test_a_stranger_cannot_end_or_cancel_a_call() -> None:
    core = answerer()
    offered(core)
    tag = to_tag_of(core.ringing(2.0, "call-1"))
    assert statuses(core.receive(2.1, request("CANCEL"), STRANGER)) == [403]
    assert core.receive(2.2, ack(tag), STRANGER) == [
        ForeignRequestRefused(method="ACK", call_id="call-1", source=STRANGER)]   # never answered
    assert phase(core) is Phase.RINGING


@pytest.mark.parametrize("data", [
    b"",
    b"\x00\x01\x02",
    b"INVITE sip:2001@192.0.2.11 SIP/2.0\r\n\r\n",
    b"INVITE sip:2001@192.0.2.11:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKx\r\n"
    b"Content-Length: 0\r\n\r\n",
    b"SIP/2.0 200 OK\r\n\r\n",
    b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 192.0.2.11:5060;branch=z9hG4bKnothing\r\nFrom: <sip:a@b>;tag=1\r\n"
    b"To: <sip:c@d>;tag=2\r\nCall-ID: zz\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n",
], ids=["empty", "binary", "no-headers", "missing-headers", "bare-response", "stray-response"])
def test_garbage_never_raises(data: bytes) -> None:
    core = answerer()
    out = core.receive(1.0, data, SERVER)
    assert [e for e in out if isinstance(e, CallOffered)] == []
    assert core.calls == {}


def test_invite_content_length_larger_than_the_body_is_refused() -> None:
    core = answerer()
    data = invite().replace(f"Content-Length: {len(OFFER)}".encode(), f"Content-Length: {len(OFFER) + 50}".encode())
    out = core.receive(1.0, data, SERVER)
    assert events(out) == [] and core.calls == {}
    assert all(s >= 400 for s in statuses(out))
