"""Incoming calls over DECT: the base's CC transaction (dect.fp_calls) against the handset emulator
(dect.handset_calls), message by message, with the TI flag and transaction values of EN 300 175-5 §7.3."""

from __future__ import annotations

import pytest

from dect.codec import MessageType, Side, decode, encode, message
from dect.endpoint import DectEndpoint, RegistrationTable
from dect.errors import DectError
from dect.events import (
    CallAlerted,
    CallEnded,
    IncomingCallAlerting,
    IncomingCallAnswered,
    IncomingCallEnded,
    ProtocolErrorReceived,
)
from dect.fp_calls import CC_02, CC_03, FP_VALUES, TABLE, Input, Phase
from dect.handset import Handset
from dect.identity import Ipui
from dect.ies import ReleaseReason, ReleaseReasonCode, Signal, SignalValue
from dect.ies_var import CallingPartyNumber, FixedIdentity, PortableIdentity

IPUI = Ipui.parse("029e74a599")
LINK = "029e74a599"
PARK = FixedIdentity(bits=36, value=0x123456789)


def pair() -> tuple[DectEndpoint, Handset]:
    ep = DectEndpoint(policy=RegistrationTable(registered={IPUI}), fixed_identity=PARK)
    handset = Handset(IPUI, fixed_identity=PARK)
    handset.power_on(0.0)
    deliver(ep, handset, 0.0)
    return ep, handset


def deliver(ep: DectEndpoint, handset: Handset, now: float) -> tuple[list[object], list[object], list[str]]:
    """Carry messages both ways until the air is quiet; the base's events, the handset's, and names."""
    base_events: list[object] = []
    handset_events: list[object] = []
    names: list[str] = []
    for _ in range(20):
        up = handset.take_outgoing()
        for data in up:
            names.append("PP " + decode(data, sender=Side.PP).name)
            base_events += ep.receive(LINK, data, now)
        down = ep.take_outgoing()
        for t in down:
            names.append("FP " + t.name)
            handset_events += handset.receive(t.data, now)
        if not up and not down:
            break
    return base_events, handset_events, names


def test_the_base_calls_the_handset_and_the_user_answers_then_hangs_up() -> None:
    ep, handset = pair()
    assert ep.calls.offer(LINK, IPUI, key="c1", caller="3005", now=1.0)
    setup = decode(ep.take_outgoing()[0].data, sender=Side.FP)
    assert setup.message_type is MessageType.CC_SETUP and not setup.ti_flag and setup.tv == 0
    assert setup.get(CallingPartyNumber) == CallingPartyNumber(number="3005")
    assert setup.get(Signal) == Signal(value=SignalValue.ALERTING_PATTERN_0)
    assert setup.get(PortableIdentity) == PortableIdentity.of(IPUI)
    assert handset.receive(encode(setup, sender=Side.FP), 1.0) == [CallAlerted(caller="3005")]
    base, pp, names = deliver(ep, handset, 1.0)
    assert names == ["PP CC-ALERTING"]
    assert base == [IncomingCallAlerting(key="c1", ipui=IPUI)]
    assert "Call from" in handset.display and "3005" in handset.display
    assert ep.calls.busy(IPUI)
    handset.press("TALK", 2.0)
    base, pp, names = deliver(ep, handset, 2.0)
    assert names == ["PP CC-CONNECT", "FP CC-CONNECT-ACK"]
    assert base == [IncomingCallAnswered(key="c1", ipui=IPUI)]
    assert handset.calls.in_call()
    handset.press("END", 3.0)
    base, pp, names = deliver(ep, handset, 3.0)
    assert names == ["PP CC-RELEASE", "FP CC-RELEASE-COM"]
    assert base == [IncomingCallEnded(key="c1", ipui=IPUI, by_handset=True, reason=ReleaseReasonCode.NORMAL)]
    assert pp == [CallEnded(answered=True, reason=ReleaseReasonCode.NORMAL)]
    assert not ep.calls.calls and not ep.calls.busy(IPUI) and handset.calls.call is None


def test_every_reply_of_the_handset_carries_ti_flag_1_and_the_base_value() -> None:
    ep, handset = pair()
    ep.calls.offer(LINK, IPUI, key="a", caller="1", now=0.0)
    ep.calls.offer(LINK, IPUI, key="b", caller="2", now=0.0)   # a second call on the same link: TV 1
    first, second = ep.take_outgoing()
    assert (decode(first.data).tv, decode(second.data).tv) == (0, 1)
    handset.receive(first.data, 0.0)
    (alerting,) = handset.take_outgoing()
    reply = decode(alerting, sender=Side.PP)
    assert reply.ti_flag and reply.tv == 0
    handset.receive(second.data, 0.0)   # already ringing: busy
    (busy,) = handset.take_outgoing()
    refused = decode(busy, sender=Side.PP)
    assert refused.message_type is MessageType.CC_RELEASE_COM and refused.tv == 1 and refused.ti_flag
    assert refused.get(ReleaseReason) == ReleaseReason(reason=ReleaseReasonCode.USER_BUSY)
    events = ep.receive(LINK, busy, 0.0)
    assert events == [IncomingCallEnded(key="b", ipui=IPUI, by_handset=True, reason=ReleaseReasonCode.USER_BUSY)]


def test_the_base_cancels_a_ringing_call() -> None:
    ep, handset = pair()
    ep.calls.offer(LINK, IPUI, key="c", caller="3005", now=0.0)
    deliver(ep, handset, 0.0)
    events = ep.calls.release("c", 5.0)
    assert events == [IncomingCallEnded(key="c", ipui=IPUI, by_handset=False, reason=ReleaseReasonCode.NORMAL)]
    base, pp, names = deliver(ep, handset, 5.0)
    assert names == ["FP CC-RELEASE", "PP CC-RELEASE-COM"]
    assert pp == [CallEnded(answered=False, reason=ReleaseReasonCode.NORMAL)]
    assert base == [] and not ep.calls.calls and handset.calls.call is None
    assert ep.calls.release("c", 6.0) == []   # already gone


def test_end_while_ringing_rejects_the_call() -> None:
    ep, handset = pair()
    ep.calls.offer(LINK, IPUI, key="c", caller="3005", now=0.0)
    deliver(ep, handset, 0.0)
    handset.press("END", 1.0)
    base, _, names = deliver(ep, handset, 1.0)
    assert names == ["PP CC-RELEASE", "FP CC-RELEASE-COM"]
    assert base == [IncomingCallEnded(key="c", ipui=IPUI, by_handset=True,
                                      reason=ReleaseReasonCode.USER_REJECTION)]


def test_a_handset_out_of_range_is_not_reached_and_the_base_gives_up_after_cc03() -> None:
    ep, handset = pair()
    handset.set_in_range(False, 0.0)
    ep.calls.offer(LINK, IPUI, key="c", caller="3005", now=0.0)
    ep.take_outgoing()   # lost on the air
    assert ep.next_deadline() == pytest.approx(CC_03)
    events = ep.handle_timer(CC_03)
    assert events == [IncomingCallEnded(key="c", ipui=IPUI, by_handset=False,
                                        reason=ReleaseReasonCode.TIMER_EXPIRY, reached=False)]
    (release,) = ep.take_outgoing()
    assert decode(release.data).message_type is MessageType.CC_RELEASE
    assert ep.next_deadline() == pytest.approx(CC_03 + CC_02)
    assert ep.handle_timer(CC_03 + CC_02) == [] and not ep.calls.calls


def test_the_base_has_six_values_per_link_for_its_calls() -> None:
    ep, _ = pair()
    for n in FP_VALUES:
        assert ep.calls.offer(LINK, IPUI, key=f"k{n}", caller="1", now=0.0)
    assert not ep.calls.offer(LINK, IPUI, key="full", caller="1", now=0.0)
    with pytest.raises(DectError):
        ep.calls.offer(LINK, IPUI, key="k0", caller="1", now=0.0)


def test_an_unexpected_message_in_an_incoming_call_is_answered_not_raised() -> None:
    ep, _ = pair()
    ep.calls.offer(LINK, IPUI, key="c", caller="1", now=0.0)
    ep.take_outgoing()
    # A CC-CONNECT-ACK from the handset in the base's call: not in the table, answered with RELEASE-COM 01.
    stray = encode(message(MessageType.CC_CONNECT_ACK, tv=0, ti_flag=True), sender=Side.PP)
    events = ep.receive(LINK, stray, 0.0)
    assert isinstance(events[0], ProtocolErrorReceived) and events[0].answered


def test_the_phase_table_covers_the_inputs_of_every_live_phase() -> None:
    for phase in (Phase.SETUP_SENT, Phase.ALERTING, Phase.CONNECTED, Phase.RELEASING):
        assert (phase, Input.PEER_RELEASE) in TABLE and (phase, Input.PEER_RELEASE_COM) in TABLE
