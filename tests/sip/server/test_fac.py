"""Feature access codes (feature-key-sync.md §4): the code table, FAC calls from the base's real
`FeatureCodeCaller` core, and the INVITE server's retransmission rules (RFC 3261 §13.3.1.4, §17.2.1) with
raw INVITE/ACK/BYE datagrams."""

from __future__ import annotations

import pytest

from sip.errors import LocalProtocolError, RemoteProtocolError
from sip.events import FeatureCodeAnswered, FeatureStateReceived, SendDatagram
from sip.feature_event import DoNotDisturbEvent, ForwardingEvent, ForwardingType
from sip.message import Request, Response, parse_message
from sip.server import Faults
from sip.server.codes import FacAction, FacTable
from sip.state import Feature, Forwarding

AS = ("192.0.2.1", 5060)
BASE = ("192.0.2.10", 5060)
PHONE = ("192.0.2.10", 5062)
DESK = ("192.0.2.11", 5060)
RAW = ("192.0.2.30", 5060)

SDP = b"v=0\r\no=- 1 1 IN IP4 192.0.2.30\r\ns=-\r\nc=IN IP4 192.0.2.30\r\nt=0 0\r\nm=audio 4002 RTP/AVP 8 0\r\n"


# --- the code table ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dialled", "feature", "action", "number", "rings"),
    [
        ("*78", Feature.DND, FacAction.ACTIVATE, None, None),
        ("*79", Feature.DND, FacAction.DEACTIVATE, None, None),
        ("*723000", Feature.CFA, FacAction.ACTIVATE, "3000", None),
        ("*73", Feature.CFA, FacAction.DEACTIVATE, None, None),
        ("*21*", Feature.CFA, FacAction.INTERROGATE, None, None),
        ("*90+4930123", Feature.CFB, FacAction.ACTIVATE, "+4930123", None),
        ("*91", Feature.CFB, FacAction.DEACTIVATE, None, None),
        ("*67*", Feature.CFB, FacAction.INTERROGATE, None, None),
        ("*923002", Feature.CFNA, FacAction.ACTIVATE, "3002", None),
        ("*923002*4", Feature.CFNA, FacAction.ACTIVATE, "3002", 4),
        ("*923002*0%23", Feature.CFNA, FacAction.ACTIVATE, "3002", 0),
        ("*93", Feature.CFNA, FacAction.DEACTIVATE, None, None),
        ("*61*", Feature.CFNA, FacAction.INTERROGATE, None, None),
        ("%2A78", Feature.DND, FacAction.ACTIVATE, None, None),
    ],
)
def test_codes_parse(dialled: str, feature: Feature, action: FacAction, number: str | None, rings: int | None) -> None:
    command = FacTable().parse(dialled)
    assert (command.code.feature, command.code.action, command.number, command.rings) == (feature, action, number, rings)


@pytest.mark.parametrize(
    ("dialled", "status"),
    [("*72", 484), ("*92", 484), ("*92300*1", 484), ("*92300*21", 484), ("*72abc", 484), ("*723000*4", 484),
     ("*99", 404), ("3000", 404), ("*7812", 404), ("", 404)],
)  # fmt: skip
def test_bad_codes_carry_their_status(dialled: str, status: int) -> None:
    with pytest.raises(RemoteProtocolError) as err:
        FacTable().parse(dialled)
    assert err.value.status == status


def test_the_table_is_configurable() -> None:
    from sip.server.codes import FacCode

    table = FacTable((FacCode(prefix="#31#", feature=Feature.DND, action=FacAction.ACTIVATE),))
    assert table.parse("%2331%23").code.feature is Feature.DND
    with pytest.raises(RemoteProtocolError):
        table.parse("*78")
    with pytest.raises(ValueError):
        FacTable((table.codes[0], table.codes[0]))


# --- FAC calls from the base's FeatureCodeCaller ------------------------------------------------


def fac_world(make_world, **kw):  # type: ignore[no-untyped-def]
    world = make_world(**kw)
    subs = []
    for address in (BASE, DESK):
        sub = world.subscriber(address)
        world.go(address, sub.start(world.now))
        world.wire.take(address)
        subs.append(sub)
    return world, world.caller(PHONE)


def dial(world, caller, digits):  # type: ignore[no-untyped-def]
    world.go(PHONE, caller.dial(world.now, digits))
    return world.wire.take(PHONE)


def test_star78_switches_dnd_on_and_notifies_every_device(make_world) -> None:  # type: ignore[no-untyped-def]
    world, caller = fac_world(make_world)
    assert dial(world, caller, "*78") == [FeatureCodeAnswered(code="*78", status=200, reason="DND on")]
    assert world.server.user_state("2001").dnd is True
    change = FeatureStateReceived(items=(DoNotDisturbEvent(device="2001", on=True),))
    assert world.wire.take(BASE) == [change] and world.wire.take(DESK) == [change]
    invites = world.sent("INVITE", PHONE)
    assert [r.status for r in world.responses(method="INVITE")] == [401, 200]
    assert invites[1].headers.get("Authorization") and invites[1].cseq.seq == 2
    assert len(world.sent("ACK", PHONE)) == 2  # the 401's (transaction) and the 2xx's (TU)
    # issue 12 §4: the INVITE carries an offer, the 2xx its answer; the server ends the call with a
    # BYE after its announcement.
    assert invites[1].content_type is not None and invites[1].content_type.mime == "application/sdp"
    assert b"m=audio 5004 RTP/AVP 9 8 0 18 101" in invites[1].body
    ok = world.responses(200, "INVITE")[0]
    assert ok.content_type is not None and b"m=audio 4000 RTP/AVP 9 101" in ok.body
    world.wire.run(world.now + 5.0)
    assert [b.uri.user for b in world.sent("BYE")] == ["2001"] and not world.sent("BYE", PHONE)
    assert [r.status for r in world.responses(method="BYE")] == [200]
    assert not caller.busy and world.server.fac.dialogs == {}  # the server's BYE ended the dialog


def test_star72_with_number_and_star92_with_rings(make_world) -> None:  # type: ignore[no-untyped-def]
    world, caller = fac_world(make_world)
    dial(world, caller, "*723000")
    assert world.server.user_state("2001").cfa == Forwarding(active=True, to="3000")
    assert world.wire.take(DESK) == [
        FeatureStateReceived(items=(ForwardingEvent(device="2001", forwarding_type=ForwardingType.CFA, status=True, forward_to="3000"),))
    ]
    dial(world, caller, "*923002*5")
    assert world.server.user_state("2001").cfna == Forwarding(active=True, to="3002", rings=5)
    (event,) = world.wire.take(BASE)[-1].items  # type: ignore[union-attr]
    assert event == ForwardingEvent(device="2001", forwarding_type=ForwardingType.CFNA, status=True, forward_to="3002", ring_count=5)
    dial(world, caller, "*73")
    assert world.server.user_state("2001").cfa == Forwarding(active=False, to="3000")


def test_interrogation_answers_the_status_and_changes_nothing(make_world) -> None:  # type: ignore[no-untyped-def]
    world, caller = fac_world(make_world)
    dial(world, caller, "*723000")
    world.wire.take(BASE)
    assert dial(world, caller, "*21*") == [FeatureCodeAnswered(code="*21*", status=200, reason="CFA active to 3000")]
    assert dial(world, caller, "*61*") == [FeatureCodeAnswered(code="*61*", status=200, reason="CFNA inactive")]
    assert world.wire.take(BASE) == []


def test_same_state_again_sends_no_notify(make_world) -> None:  # type: ignore[no-untyped-def]
    world, caller = fac_world(make_world)
    dial(world, caller, "*79")
    assert world.wire.take(BASE) == []


@pytest.mark.parametrize(("digits", "status"), [("*72", 484), ("*55", 404)])
def test_refused_codes_fail_the_call_and_change_nothing(make_world, digits: str, status: int) -> None:  # type: ignore[no-untyped-def]
    world, caller = fac_world(make_world)
    (failed,) = dial(world, caller, digits)
    assert isinstance(failed, FeatureCodeAnswered) and failed.status == status and failed.code == digits
    assert world.server.user_state("2001").cfa == Forwarding() and world.wire.take(BASE) == []
    assert len(world.sent("ACK", PHONE)) == 2 and not caller.busy


def test_wrong_password_is_403_and_not_retried(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    caller = world.caller(PHONE, password="nope")
    (failed,) = dial(world, caller, "*78")
    assert failed == FeatureCodeAnswered(code="*78", status=403, reason="Forbidden")
    assert len(world.sent("INVITE")) == 2 and world.server.user_state("2001").dnd is False


def test_reject_knob_for_invite(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(faults=Faults(reject={"INVITE": 503}, retry_after=10))
    caller = world.caller(PHONE)
    (failed,) = dial(world, caller, "*78")
    assert isinstance(failed, FeatureCodeAnswered) and failed.status == 503
    assert world.responses(503)[0].retry_after.seconds == 10  # type: ignore[union-attr]


def test_no_answer_times_out_with_timer_b(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    caller = world.caller(PHONE)
    world.wire.drop(lambda d, s, t: t == AS, count=1000)
    world.wire.feed(PHONE, caller.dial(0.0, "*78"))
    world.wire.run(31.0)
    assert world.wire.take(PHONE) == [] and caller.busy
    world.wire.run(33.0)
    assert world.wire.take(PHONE) == [FeatureCodeAnswered(code="*78", status=0, reason="timeout")]
    assert not caller.busy
    # Timer A: 0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 -> 7 INVITEs
    assert len(world.sent("INVITE")) == 7


def test_lost_200_is_retransmitted_and_the_code_applied_once(make_world) -> None:  # type: ignore[no-untyped-def]
    world, caller = fac_world(make_world)
    world.wire.drop(lambda d, s, t: d.startswith(b"SIP/2.0 200 DND"), count=1)
    assert dial(world, caller, "*78") == []  # the 200 was lost; the network settled before T1
    world.wire.run(world.now + 2.0)
    assert world.wire.take(PHONE) == [FeatureCodeAnswered(code="*78", status=200, reason="DND on")]
    assert world.wire.take(DESK) == [FeatureStateReceived(items=(DoNotDisturbEvent(device="2001", on=True),))]
    oks = world.responses(200, "INVITE")
    assert len(oks) >= 2 and len({o.to.tag for o in oks}) == 1


def test_lost_ack_makes_the_2xx_repeat_and_every_repeat_is_acked(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(authenticate=frozenset())
    caller = world.caller(PHONE)
    world.wire.drop(lambda d, s, t: d.startswith(b"ACK "), count=1)
    world.wire.feed(PHONE, caller.dial(0.0, "*78"))
    world.wire.run(10.0)
    acks = world.sent("ACK", PHONE)
    oks = world.responses(200, "INVITE")
    assert len(oks) == 2 and len(acks) == 2  # the 2xx repeated at T1, the repeat ACKed, then quiet
    assert acks[0].to_bytes() == acks[1].to_bytes()
    assert world.responses(200, "BYE")  # the server's BYE after the announcement, answered


# --- the INVITE server with raw datagrams ---------------------------------------------------------


def invite(digits: str = "*78", *, branch: str = "z9hG4bK-i1", cseq: int = 1, body: bytes = SDP, user: str = "2001",
           to_tag: str | None = None) -> bytes:  # fmt: skip
    to = f"<sip:{digits}@as.example.com>" + (f";tag={to_tag}" if to_tag else "")
    head = [
        f"INVITE sip:{digits}@as.example.com SIP/2.0", f"Via: SIP/2.0/UDP 192.0.2.30:5060;branch={branch}",
        "Max-Forwards: 70", f"From: <sip:{user}@as.example.com>;tag=caller", f"To: {to}", "Call-ID: fac-1",
        f"CSeq: {cseq} INVITE", f"Contact: <sip:{user}@192.0.2.30:5060>",
    ]  # fmt: skip
    if body:
        head.append("Content-Type: application/sdp")
    return ("\r\n".join(head) + f"\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body


def in_dialog(method: str, to_tag: str, *, branch: str, cseq: int, to_user: str = "*78") -> bytes:
    head = [
        f"{method} sip:192.0.2.1:5060 SIP/2.0", f"Via: SIP/2.0/UDP 192.0.2.30:5060;branch={branch}",
        "Max-Forwards: 70", "From: <sip:2001@as.example.com>;tag=caller",
        f"To: <sip:{to_user}@as.example.com>;tag={to_tag}", "Call-ID: fac-1", f"CSeq: {cseq} {method}",
    ]  # fmt: skip
    return ("\r\n".join(head) + "\r\nContent-Length: 0\r\n\r\n").encode()


def responses(outputs) -> list[Response]:  # type: ignore[no-untyped-def]
    out = []
    for o in outputs:
        assert isinstance(o, SendDatagram)
        m = parse_message(o.data)
        if isinstance(m, Response):
            out.append(m)
    return out


def fire_until(server, until: float) -> list[tuple[float, bytes]]:  # type: ignore[no-untyped-def]
    sent = []
    while (d := server.next_deadline()) is not None and d <= until:
        sent += [(d, o.data) for o in server.handle_timer(d) if isinstance(o, SendDatagram)]
    return sent


def test_200_carries_an_sdp_answer_and_contact(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(authenticate=frozenset())
    (ok,) = responses(world.server.receive(0.0, invite(), RAW))
    assert ok.status == 200 and ok.to.tag and ok.contacts
    assert ok.content_type is not None and ok.content_type.mime == "application/sdp"
    # RFC 3264 §6.1: the first offered codec the server plays (PCMA), same payload type number.
    assert b"m=audio 4000 RTP/AVP 8\r\n" in ok.body and b"c=IN IP4 192.0.2.1" in ok.body
    # RFC 3261 §13.3.1.4: an INVITE without an offer gets an offer in the 2xx.
    (no_sdp,) = responses(world.server.receive(0.0, invite("*79", branch="z9hG4bK-i2", body=b""), RAW))
    assert no_sdp.status == 200 and b"m=audio 4000 RTP/AVP 8 0 9 18 101" in no_sdp.body


def test_2xx_is_retransmitted_t1_doubling_to_t2_until_64_t1_then_bye(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(authenticate=frozenset())
    server = world.server
    (ok,) = responses(server.receive(0.0, invite(), RAW))
    again = fire_until(server, 40.0)
    times = [t for t, d in again if d.startswith(b"SIP/2.0 200")]
    assert times[:6] == pytest.approx([0.5, 1.5, 3.5, 7.5, 11.5, 15.5])
    assert times[-1] < 32.0 and all(d == ok.to_bytes() for _, d in again if d.startswith(b"SIP/2.0 200"))
    byes = [(t, d) for t, d in again if d.startswith(b"BYE ")]
    assert byes and byes[0][0] == pytest.approx(32.0)
    bye = parse_message(byes[0][1])
    assert isinstance(bye, Request) and bye.to.tag == "caller" and bye.from_.tag == ok.to.tag
    assert str(bye.uri) == "sip:2001@192.0.2.30:5060"


def test_ack_stops_2xx_retransmission_and_bye_gets_200(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(authenticate=frozenset())
    server = world.server
    (ok,) = responses(server.receive(0.0, invite(), RAW))
    tag = ok.to.tag or ""
    assert server.receive(0.2, in_dialog("ACK", tag, branch="z9hG4bK-a1", cseq=1), RAW) == []
    assert fire_until(server, 2.0) == []
    # an INVITE retransmission after the ACK is absorbed
    assert server.receive(2.0, invite(), RAW) == []
    # the caller hangs up before the announcement is over
    (bye_ok,) = responses(server.receive(2.5, in_dialog("BYE", tag, branch="z9hG4bK-b1", cseq=2), RAW))
    assert bye_ok.status == 200
    (again,) = responses(server.receive(2.8, in_dialog("BYE", tag, branch="z9hG4bK-b2", cseq=3), RAW))
    assert again.status == 481  # the dialog is over
    fire_until(server, 100.0)
    assert server.fac.transactions.servers == {} and server.fac.dialogs == {}


def test_the_server_hangs_up_after_its_announcement(make_world) -> None:  # type: ignore[no-untyped-def]
    from sip.server.fac import HANGUP_AFTER

    world = make_world(authenticate=frozenset())
    server = world.server
    (ok,) = responses(server.receive(0.0, invite(), RAW))
    server.receive(0.1, in_dialog("ACK", ok.to.tag or "", branch="z9hG4bK-a1", cseq=1), RAW)
    sent = fire_until(server, 60.0)
    byes = [(t, d) for t, d in sent if d.startswith(b"BYE ")]
    assert byes[0][0] == pytest.approx(0.1 + HANGUP_AFTER)
    assert len({d for _, d in byes}) == 1  # one BYE, retransmitted by its transaction (Timer E)


def test_invite_retransmission_gets_the_same_final_response(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(authenticate=frozenset())
    server = world.server
    first = server.receive(0.0, invite("*723000"), RAW)
    second = server.receive(0.1, invite("*723000"), RAW)
    assert [o.data for o in first] == [o.data for o in second]  # type: ignore[union-attr]
    assert server.user_state("2001").cfa == Forwarding(active=True, to="3000")
    (refused,) = responses(server.receive(0.2, invite("*72", branch="z9hG4bK-i9"), RAW))
    (refused_again,) = responses(server.receive(0.3, invite("*72", branch="z9hG4bK-i9"), RAW))
    assert refused.status == refused_again.status == 484 and refused.to.tag == refused_again.to.tag


def test_non_2xx_timer_g_until_ack_then_timer_i(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(authenticate=frozenset())
    server = world.server
    (refused,) = responses(server.receive(0.0, invite("*55"), RAW))
    assert refused.status == 404
    sent = fire_until(server, 3.0)
    assert [t for t, _ in sent] == pytest.approx([0.5, 1.5])  # Timer G: T1, then 2*T1
    ack = in_dialog("ACK", refused.to.tag or "", branch="z9hG4bK-i1", cseq=1, to_user="*55")
    assert server.receive(3.0, ack, RAW) == []
    assert fire_until(server, 100.0) == [] and server.fac.transactions.servers == {}


def test_timer_h_gives_up_without_ack(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(authenticate=frozenset())
    server = world.server
    server.receive(0.0, invite("*55"), RAW)
    sent = fire_until(server, 100.0)
    times = [t for t, _ in sent]
    assert times[:5] == pytest.approx([0.5, 1.5, 3.5, 7.5, 11.5]) and times[-1] < 32.0
    assert server.fac.transactions.servers == {} and server.next_deadline() is None


def test_bye_and_cancel_without_a_call_get_481(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(authenticate=frozenset())
    server = world.server
    (bye,) = responses(server.receive(0.0, in_dialog("BYE", "nope", branch="z9hG4bK-b1", cseq=2), RAW))
    assert bye.status == 481
    cancel = invite(branch="z9hG4bK-c1").replace(b"INVITE sip", b"CANCEL sip").replace(b"1 INVITE", b"1 CANCEL")
    cancel = cancel.split(b"Content-Type")[0] + b"Content-Length: 0\r\n\r\n"
    (no_call,) = responses(server.receive(0.0, cancel, RAW))
    assert no_call.status == 481
    server.receive(0.0, invite(branch="z9hG4bK-c2"), RAW)
    (late,) = responses(server.receive(0.1, cancel.replace(b"z9hG4bK-c1", b"z9hG4bK-c2"), RAW))
    assert late.status == 200  # RFC 3261 §9.2: the INVITE was already answered; CANCEL changes nothing
    assert server.user_state("2001").dnd is True
    assert server.receive(0.2, in_dialog("ACK", "unknown", branch="z9hG4bK-zz", cseq=1), RAW) == []


def test_reinvite_and_unknown_caller(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(authenticate=frozenset())
    server = world.server
    (reinvite,) = responses(server.receive(0.0, invite(to_tag="x", branch="z9hG4bK-r1"), RAW))
    assert reinvite.status == 481
    (stranger,) = responses(server.receive(0.0, invite(user="9999", branch="z9hG4bK-r2"), RAW))
    assert stranger.status == 403 and server.user_state("2001").dnd is False


def test_feature_code_api_without_a_call(make_world) -> None:  # type: ignore[no-untyped-def]
    world, _ = fac_world(make_world)
    world.go(AS, world.server.feature_code(world.now, "2001", "*90+3001"))
    assert world.server.user_state("2001").cfb == Forwarding(active=True, to="+3001")
    assert len(world.wire.take(BASE)) == 1 and len(world.wire.take(DESK)) == 1
    with pytest.raises(LocalProtocolError) as err:
        world.server.feature_code(world.now, "2001", "*90")
    assert err.value.status == 484


def test_dial_refuses_undiallable_strings(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    caller = world.caller(PHONE)
    with pytest.raises(LocalProtocolError):
        caller.dial(0.0, "*7a")
    with pytest.raises(LocalProtocolError):
        caller.dial(0.0, "")


def test_caller_answers_a_stray_bye_481_and_other_requests_405(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    caller = world.caller(PHONE)
    stray = in_dialog("BYE", "t", branch="z9hG4bK-sb", cseq=5)
    (answer,) = responses(caller.receive(0.0, stray, AS))
    assert answer.status == 481
    options = stray.replace(b"BYE", b"OPTIONS").replace(b"z9hG4bK-sb", b"z9hG4bK-so")
    (answer,) = responses(caller.receive(0.0, options, AS))
    assert answer.status == 405
