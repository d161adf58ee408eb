"""Review of the incoming-call cores against RFC 3261 and odd input: each test is a defect that was found
(sip/call.py `CallAnswerer`, sip/sdp.py, sip/server/calls.py `CallDelivery`). The everyday behaviour is
in test_call_answerer.py and test_server_calls.py."""

from __future__ import annotations

import pytest

from sip.call import CallAnswerer, Phase
from sip.errors import RemoteProtocolError
from sip.events import CallConfirmed, CallEnded, CallOffered, Output, SendDatagram
from sip.ids import SequentialIds
from sip.message import Request, Response, parse_message
from sip.sdp import parse_sdp
from sip.uri import SipUri
from support.calls import BASE, DOMAIN, OFFER, SERVER, T1, answerer, invite, request, sent

SDP_HEAD = b"v=0\r\no=- 1 1 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"


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


# --- RFC 3261 §15: no BYE before the ACK of our 2xx ---------------------------------------------------


def test_hang_up_before_the_ack_waits_for_the_ack_then_sends_bye() -> None:
    # §15: "The callee's UA MUST NOT send a BYE on a confirmed dialog until it has received an ACK for
    # its 2xx response or until the server transaction times out."
    core = answerer()
    offered(core)
    tag = to_tag_of(core.answer(2.0, "call-1"))
    assert methods(core.hang_up(2.1, "call-1")) == []
    assert core.hang_up(2.2, "call-1") == []    # asked twice: still one BYE later
    out = core.receive(2.3, request("ACK", branch="z9hG4bKack1", to_tag=tag), SERVER)
    assert methods(out) == ["BYE"]
    assert CallConfirmed(call_id="call-1") not in out   # the application already hung up
    assert core.calls["call-1"].phase is Phase.HANGING_UP


def test_hang_up_before_the_ack_sends_bye_at_timer_l_when_no_ack_comes() -> None:
    core = answerer()
    offered(core)
    core.answer(2.0, "call-1")
    assert methods(core.hang_up(2.1, "call-1")) == []
    fired = run_timers(core, 2.0 + 64 * T1)
    byes = [t for t, o in fired if isinstance(o, SendDatagram)
            for m in [parse_message(o.data)] if isinstance(m, Request) and m.method == "BYE"]
    assert byes == [2.0 + 64 * T1]
    fired = run_timers(core, 200.0)
    assert [o for _, o in fired if isinstance(o, CallEnded)] == [CallEnded(call_id="call-1", by="local")]


def test_the_callers_bye_while_our_hang_up_waits_for_the_ack_ends_the_call() -> None:
    core = answerer()
    offered(core)
    tag = to_tag_of(core.answer(2.0, "call-1"))
    core.hang_up(2.1, "call-1")
    out = core.receive(2.2, request("BYE", branch="z9hG4bKbye1", cseq=2, to_tag=tag), SERVER)
    assert statuses(out) == [200] and events(out) == [CallEnded(call_id="call-1", by="remote")]
    assert core.calls == {}
    assert methods([o for _, o in run_timers(core, 200.0)]) == []   # and no BYE of ours after it


# --- RFC 3261 §9.2: a CANCEL that matches a transaction gets 200 ---------------------------------------


@pytest.mark.parametrize("decide", ["reject", "redirect"])
def test_a_cancel_crossing_our_final_answer_gets_200(decide: str) -> None:
    # §9.2: "as long as the CANCEL matched an existing transaction, the UAS answers the CANCEL request
    # itself with a 200 (OK) response" -- also once the INVITE has its final response.
    core = answerer()
    offered(core)
    if decide == "reject":
        core.reject(2.0, "call-1", 486)
    else:
        core.redirect(2.0, "call-1", "3000")
    out = core.receive(2.1, request("CANCEL"), SERVER)
    assert statuses(out) == [200] and events(out) == []


def test_a_cancel_of_an_invite_refused_at_once_gets_200() -> None:
    core = answerer()
    assert statuses(core.receive(1.0, invite(body=b"<x/>", content_type="application/xml"), SERVER)) == [415]
    assert statuses(core.receive(1.1, request("CANCEL"), SERVER)) == [200]


def test_the_200_to_a_cancel_carries_the_to_tag_of_the_invites_response() -> None:
    # §9.2: "The To tag of the response to the CANCEL and the To tag in the response to the original
    # request SHOULD be the same."
    core = answerer()
    offered(core)
    tag = to_tag_of(core.ringing(2.0, "call-1"))
    out = core.receive(2.1, request("CANCEL"), SERVER)
    assert sorted((m.status, m.to.tag) for m in responses(out)) == [(200, tag), (487, tag)]


# --- a second INVITE for a known Call-ID -----------------------------------------------------------------


def test_a_merged_invite_gets_482_and_no_second_call() -> None:
    # §8.2.2.2: no To tag, same From tag, Call-ID and CSeq as an ongoing transaction, another branch
    # (it came by two paths): 482 Loop Detected.
    core = answerer()
    offered(core)
    out = core.receive(1.1, invite(branch="z9hG4bKother"), SERVER)
    assert statuses(out) == [482] and events(out) == []
    assert list(core.calls) == ["call-1"] and core.calls["call-1"].phase is Phase.OFFERED


def test_a_reinvite_in_the_early_dialog_gets_500_with_retry_after() -> None:
    # §14.2: "A UAS that receives a second INVITE before it sends the final response to a first INVITE
    # with a lower CSeq sequence number on the same dialog MUST return a 500 (Server Internal Error)
    # response to the second INVITE and MUST include a Retry-After header field".
    core = answerer()
    offered(core)
    tag = to_tag_of(core.ringing(2.0, "call-1"))
    out = core.receive(2.1, invite(branch="z9hG4bKre", cseq=2, to_tag=tag), SERVER)
    (refusal,) = responses(out)
    assert refusal.status == 500 and refusal.headers.get("Retry-After") is not None
    assert events(out) == [] and core.calls["call-1"].phase is Phase.RINGING


def test_a_reinvite_with_a_cseq_not_above_the_invites_gets_500() -> None:
    # §12.2.2: a request in the dialog with a CSeq lower than the remote sequence number is out of
    # order and MUST be rejected with 500.
    core = answerer()
    offered(core)
    tag = to_tag_of(core.answer(2.0, "call-1"))
    core.receive(2.1, request("ACK", branch="z9hG4bKack1", to_tag=tag), SERVER)
    out = core.receive(3.0, invite(branch="z9hG4bKre", cseq=1, to_tag=tag), SERVER)
    assert statuses(out) == [500]
    assert core.calls["call-1"].phase is Phase.CONFIRMED


def test_an_invite_with_another_to_tag_for_a_known_call_id_gets_481() -> None:
    # §12.2.2: a request whose To tag names no dialog of ours: 481 (not 488, which says the dialog is
    # there and its offer is unacceptable).
    core = answerer()
    offered(core)
    tag = to_tag_of(core.answer(2.0, "call-1"))
    core.receive(2.1, request("ACK", branch="z9hG4bKack1", to_tag=tag), SERVER)
    out = core.receive(3.0, invite(branch="z9hG4bKre", cseq=2, to_tag="not-ours"), SERVER)
    assert statuses(out) == [481]
    assert core.calls["call-1"].phase is Phase.CONFIRMED


# --- RFC 3261 §13.2.2.4: the ACK of a 2xx has the INVITE's CSeq number --------------------------------


def test_an_ack_with_another_cseq_number_does_not_confirm_the_call() -> None:
    core = answerer()
    offered(core)
    tag = to_tag_of(core.answer(2.0, "call-1"))
    assert core.receive(2.1, request("ACK", branch="z9hG4bKack1", cseq=7, to_tag=tag), SERVER) == []
    assert core.calls["call-1"].phase is Phase.ANSWERED
    out = core.receive(2.2, request("ACK", branch="z9hG4bKack2", cseq=1, to_tag=tag), SERVER)
    assert out == [CallConfirmed(call_id="call-1")]


def test_a_second_call_is_still_offered_after_all_this() -> None:
    core = answerer()
    offered(core)
    out = core.receive(1.5, invite(call_id="call-2", branch="z9hG4bKinv2"), SERVER)
    assert [e for e in out if isinstance(e, CallOffered)] == [CallOffered(call_id="call-2", caller="0301234",
                                                                          offer=OFFER)]


# --- the server's legs (sip/server/calls.py) ------------------------------------------------------------


def test_the_servers_405_in_a_call_leg_lists_what_it_allows() -> None:
    # §21.4.6: a 405 "MUST include an Allow header field containing a list of valid methods".
    from sip.server.calls import CallDelivery
    from sip.server.registrar import Binding
    from sip.server.users import Directory, User
    from sip.uri import NameAddr

    contact = NameAddr(uri=SipUri(user="2001", host=BASE[0], port=BASE[1]))
    binding = Binding(user="2001", contact=contact, expires_at=3600.0, call_id="reg", cseq=1, source=BASE)
    server = CallDelivery(local=SERVER, domain=DOMAIN, ids=SequentialIds("as"),
                          directory=Directory([User(name="2001", password="pw")]),
                          bindings=lambda user, now: [binding])
    (leg_invite,) = sent(server.place(1.0, caller="0301234", user="2001", label="c1"))
    assert isinstance(leg_invite, Request)
    info = (f"INFO sip:0301234@192.0.2.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.11:5060;branch=z9hG4bKinfo\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:2001@as.example.com>;tag=b\r\n"
            f"To: <sip:0301234@as.example.com>;tag={leg_invite.from_.tag}\r\nCall-ID: {leg_invite.call_id}\r\n"
            "CSeq: 5 INFO\r\nContent-Length: 0\r\n\r\n").encode()
    (refusal,) = responses(server.receive(1.1, info, BASE))
    assert refusal.status == 405 and refusal.headers.get("Allow")
