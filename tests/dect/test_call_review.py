"""Review of the base's incoming-call CC transaction (dect/fp_calls.py): a caller number from SIP longer
than a DECT information element holds is cut to fit, never raised out of `offer`; a message the base
answers with CC-RELEASE-COM ends the base's call as well."""

from __future__ import annotations

import pytest

from dect.codec import MessageType, Side, decode, encode, message
from dect.endpoint import DectEndpoint, RegistrationTable
from dect.events import CallAlerted, IncomingCallAnswered, IncomingCallEnded, ProtocolErrorReceived
from dect.handset import Handset
from dect.identity import Ipui
from dect.ies import ReleaseReasonCode
from dect.ies_var import CallingPartyNumber, FixedIdentity, MultiDisplay, MultiKeypad

IPUI = Ipui.parse("029e74a599")
LINK = "029e74a599"
PARK = FixedIdentity(bits=36, value=0x123456789)


def test_a_caller_number_longer_than_an_ie_is_cut_to_fit() -> None:
    ep = DectEndpoint(policy=RegistrationTable(registered={IPUI}), fixed_identity=PARK)
    handset = Handset(IPUI, fixed_identity=PARK)
    handset.power_on(0.0)
    caller = "1234567890" * 30   # 300 digits: MULTI-DISPLAY and CALLING-PARTY-NUMBER hold 255 octets
    assert ep.calls.offer(LINK, IPUI, key="c1", caller=caller, now=1.0)
    (setup,) = ep.take_outgoing()
    msg = decode(setup.data, sender=Side.FP)
    assert msg.get(CallingPartyNumber) == CallingPartyNumber(number=caller[:254])
    shown = msg.get(MultiDisplay)
    assert shown is not None and shown.text == caller[:254]
    assert handset.receive(setup.data, 1.0) == [CallAlerted(caller=caller[:254])]


def _answered_call() -> tuple[DectEndpoint, Handset]:
    ep = DectEndpoint(policy=RegistrationTable(registered={IPUI}), fixed_identity=PARK)
    handset = Handset(IPUI, fixed_identity=PARK)
    handset.power_on(0.0)
    for t in ep.take_outgoing():
        handset.receive(t.data, 0.0)
    for data in handset.take_outgoing():
        ep.receive(LINK, data, 0.0)
    ep.take_outgoing()
    assert ep.calls.offer(LINK, IPUI, key="c1", caller="3005", now=1.0)
    (setup,) = ep.take_outgoing()
    handset.receive(setup.data, 1.0)
    handset.press("TALK", 2.0)
    events = [e for data in handset.take_outgoing() for e in ep.receive(LINK, data, 2.0)]
    assert events[-1] == IncomingCallAnswered(key="c1", ipui=IPUI)
    ep.take_outgoing()
    return ep, handset


@pytest.mark.parametrize("kind", [MessageType.CC_CONNECT, MessageType.CC_ALERTING])
def test_a_message_the_base_answers_with_release_com_ends_its_call_too(kind: MessageType) -> None:
    # The endpoint answers a message that does not fit the base's call with CC-RELEASE-COM (EN 300
    # 175-5 §17: the transaction is over for the handset). The base's own call record stayed CONNECTED:
    # the handset counted as busy for ever and nobody told the firmware, so the SIP call stayed up
    # with no handset in it.
    ep, _handset = _answered_call()
    stray = encode(message(kind, tv=0, ti_flag=True), sender=Side.PP)
    events = ep.receive(LINK, stray, 3.0)
    assert isinstance(events[0], ProtocolErrorReceived) and events[0].answered
    (release_com,) = ep.take_outgoing()
    assert decode(release_com.data, sender=Side.FP).message_type is MessageType.CC_RELEASE_COM
    assert events[1:] == [IncomingCallEnded(key="c1", ipui=IPUI, by_handset=True,
                                            reason=ReleaseReasonCode.UNEXPECTED_MESSAGE)]
    assert not ep.calls.busy(IPUI) and ep.calls.calls == {}
    assert ep.calls.offer(LINK, IPUI, key="c2", caller="3005", now=4.0)   # its value is free again


def test_a_stray_message_for_no_call_of_the_base_reports_no_call_ended() -> None:
    ep, _handset = _answered_call()
    stray = encode(message(MessageType.CC_CONNECT, tv=3, ti_flag=True), sender=Side.PP)
    events = ep.receive(LINK, stray, 3.0)
    assert not any(isinstance(e, IncomingCallEnded) for e in events)
    assert ep.calls.busy(IPUI)


@pytest.mark.parametrize("digits", ["5", "*21#"])
def test_keys_pressed_in_a_call_are_taken_and_the_call_goes_on(digits: str) -> None:
    # A GAP handset sends the keys pressed during a call as CC-INFO with MULTI-KEYPAD (DTMF): the base
    # takes them. It used to answer CC-RELEASE-COM 01 and so drop the call at a key press.
    ep, _handset = _answered_call()
    info = encode(message(MessageType.CC_INFO, MultiKeypad(keys=digits), tv=0, ti_flag=True), sender=Side.PP)
    assert ep.receive(LINK, info, 3.0) == []
    assert ep.take_outgoing() == []
    assert ep.calls.busy(IPUI) and len(ep.calls.calls) == 1


def test_a_cc_info_while_the_handset_rings_changes_nothing() -> None:
    ep = DectEndpoint(policy=RegistrationTable(registered={IPUI}), fixed_identity=PARK)
    assert ep.calls.offer(LINK, IPUI, key="c", caller="1", now=0.0)
    ep.take_outgoing()
    info = encode(message(MessageType.CC_INFO, MultiKeypad(keys="1"), tv=0, ti_flag=True), sender=Side.PP)
    assert ep.receive(LINK, info, 1.0) == []
    assert ep.take_outgoing() == [] and ep.calls.busy(IPUI)
