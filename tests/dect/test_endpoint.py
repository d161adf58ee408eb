"""The base-side DECT endpoint: location, access rights, feature requests, FAC, malformed input, timers."""

from __future__ import annotations

import pytest

from dect.codec import MessageType, Side, decode, encode, message
from dect.endpoint import CC_03, CC_04, DectEndpoint, RegistrationTable
from dect.errors import DectError
from dect.events import (
    AccessRightsGranted,
    AccessRightsRejected,
    CallReleased,
    FacDialled,
    FeatureRequested,
    HandsetLocated,
    IndicationDelivered,
    LocationRejected,
    PagingFailed,
    ProtocolErrorReceived,
    TransactionTimedOut,
)
from dect.handset import Handset
from dect.identity import Ipui
from dect.ies import (
    FeatureCode,
    FeatureStatus,
    RejectReasonCode,
    ReleaseReason,
    ReleaseReasonCode,
    Signal,
)
from dect.ies_var import (
    EscapeToProprietary,
    FeatureIndicate,
    FixedIdentity,
    MultiDisplay,
    MultiKeypad,
    PortableIdentity,
    RejectReason,
)
from dect.proprietary import (
    DiversionSetting,
    DiversionType,
    DndSetting,
    FeatureAck,
    FeatureId,
    FeatureRequest,
    FeatureState,
    decode_pies,
)

KNOWN = Ipui.parse("029e74a599")
STRANGER = Ipui.parse("0123456789")
LINK = "029e74a599"
PARK = FixedIdentity(bits=36, value=0x123456789)
PI_HEX = "05 07 80 A8 02 9E 74 A5 99"


def endpoint(**table: object) -> DectEndpoint:
    return DectEndpoint(policy=RegistrationTable(registered={KNOWN}, **table), fixed_identity=PARK)  # type: ignore[arg-type]


def sent(ep: DectEndpoint) -> list[str]:
    return [t.data.hex(" ").upper() for t in ep.take_outgoing()]


def test_locate_request_of_a_known_handset_is_accepted() -> None:
    ep = endpoint()
    events = ep.receive(LINK, bytes.fromhex(f"05 54 {PI_HEX}"), 0.0)
    assert events == [HandsetLocated(link=LINK, ipui=KNOWN)]
    assert sent(ep) == [f"85 55 {PI_HEX} 07 01 40"]  # TI flag 1, same TV; LOCATION-AREA level 0


def test_locate_request_of_an_unknown_handset_is_rejected() -> None:
    ep = endpoint()
    data = encode(message(MessageType.LOCATE_REQUEST, PortableIdentity.of(STRANGER), tv=2))
    assert ep.receive("other", data, 0.0) == [
        LocationRejected(link="other", ipui=STRANGER, reason=RejectReasonCode.IPUI_UNKNOWN)
    ]
    assert sent(ep) == ["A5 57 60 01 02"]  # 1|010|0101: reply in TV 2


def access_request(ipui: Ipui, pin: str) -> bytes:
    from dect.proprietary import Pin, encode_pies

    return encode(
        message(MessageType.ACCESS_RIGHTS_REQUEST, PortableIdentity.of(ipui), encode_pies(Pin(pin=pin)))
    )


def _register(ep: DectEndpoint, pin: str) -> tuple[list[object], list[str], Handset]:
    """A handset registers with `pin`: the base's events and every message name, both ways."""
    handset = Handset(STRANGER, fixed_identity=PARK, registered=False)
    handset.power_on(0.0)
    handset.register(pin, 0.0)
    events: list[object] = []
    names: list[str] = []
    for _ in range(10):
        up = handset.take_outgoing()
        for data in up:
            names.append("PP " + decode(data).name)
            events += ep.receive("new", data, 0.0)
        down = ep.take_outgoing()
        for t in down:
            names.append("FP " + t.name)
            handset.receive(t.data, 0.0)
        if not up and not down:
            break
    return events, names, handset


def test_access_rights_with_the_right_pin_allocate_a_key_and_later_locates_authenticate() -> None:
    table = RegistrationTable(registered={KNOWN}, pin="1234")
    ep = DectEndpoint(policy=table, fixed_identity=PARK)
    events, names, handset = _register(ep, "1234")
    # Key allocation (EN 300 175-5 §13.6): the PIN never travels; RES1 proves it.
    assert names[:5] == ["PP ACCESS-RIGHTS-REQUEST", "FP KEY-ALLOCATE", "PP AUTHENTICATION-REQUEST",
                         "FP AUTHENTICATION-REPLY", "FP ACCESS-RIGHTS-ACCEPT"]
    assert events[0] == AccessRightsGranted(link="new", ipui=STRANGER)
    assert STRANGER in table.registered and table.uaks[STRANGER] == handset.keys.uak is not None
    # The locate that follows is authenticated with the UAK.
    assert names[5:] == ["PP LOCATE-REQUEST", "FP AUTHENTICATION-REQUEST", "PP AUTHENTICATION-REPLY",
                         "FP LOCATE-ACCEPT"]
    assert handset.located


def test_a_handset_with_another_uak_is_refused_its_location() -> None:
    table = RegistrationTable(registered={KNOWN}, uaks={KNOWN: bytes(16)})
    ep = DectEndpoint(policy=table, fixed_identity=PARK)
    handset = Handset(KNOWN, fixed_identity=PARK, uak=bytes([1] * 16))
    handset.power_on(0.0)
    for _ in range(4):
        for data in handset.take_outgoing():
            events = ep.receive(LINK, data, 0.0)
        for t in ep.take_outgoing():
            handset.receive(t.data, 0.0)
    assert events == [LocationRejected(link=LINK, ipui=KNOWN, reason=RejectReasonCode.AUTHENTICATION_FAILED)]
    assert not handset.located


@pytest.mark.parametrize(
    ("table", "pin", "reason"),
    [
        ({"pin": "1234"}, "0000", RejectReasonCode.AUTHENTICATION_FAILED),
        ({"pin": "0000", "capacity": 1}, "0000", RejectReasonCode.INSUFFICIENT_MEMORY),
        ({"registration_open": False}, "0000", RejectReasonCode.IPUI_NOT_ACCEPTED),
    ],
    ids=["wrong PIN", "DECT manager full", "unknown handset, registration closed"],
)
def test_access_rights_rejections(table: dict[str, object], pin: str, reason: RejectReasonCode) -> None:
    ep = endpoint(**table)
    events, names, handset = _register(ep, pin)
    assert events == [AccessRightsRejected(link="new", ipui=STRANGER, reason=reason)]
    assert names[-1] == "FP ACCESS-RIGHTS-REJECT" and not handset.registered
    if reason is RejectReasonCode.AUTHENTICATION_FAILED:   # a wrong RES1: the authentication fails first
        assert names[-2] == "FP AUTHENTICATION-REJECT"


def feature_request(setting: DndSetting | DiversionSetting, tv: int = 0) -> bytes:
    from dect.proprietary import encode_pies

    escape = encode_pies(FeatureRequest(setting=setting))
    return encode(
        message(MessageType.CISS_REGISTER, PortableIdentity.of(KNOWN), escape, tv=tv), sender=Side.PP
    )


def test_feature_request_becomes_an_event_and_is_accepted_with_an_ack() -> None:
    ep = endpoint()
    [event] = ep.receive(LINK, feature_request(DndSetting(active=True), tv=1), 5.0)
    assert isinstance(event, FeatureRequested)
    assert (event.ipui, event.setting, event.ref.tv) == (KNOWN, DndSetting(active=True), 1)
    assert sent(ep) == []  # the firmware decides
    assert ep.next_deadline() == 5.0 + CC_03
    assert ep.accept_feature(event.ref, 5.5) == []
    assert sent(ep) == ["94 5A 7B 06 81 00 02 59 01 30"]  # CISS-RELEASE-COM, TV 1, ack of feature 30
    assert ep.transactions == {} and ep.next_deadline() is None


def test_feature_request_refused_by_the_firmware() -> None:
    ep = endpoint()
    setting = DiversionSetting(diversion=DiversionType.NO_ANSWER, active=True, target="3002", rings=4)
    [event] = ep.receive(LINK, feature_request(setting), 0.0)
    assert isinstance(event, FeatureRequested) and event.setting == setting
    ep.reject_feature(event.ref, 1.0, display="Not available")
    reply = decode(ep.take_outgoing()[0].data, sender=Side.FP)
    assert reply.message_type is MessageType.CISS_RELEASE_COM and reply.ti_flag
    assert reply.get(ReleaseReason) == ReleaseReason(reason=ReleaseReasonCode.SERVICE_NOT_IMPLEMENTED)
    assert reply.get(MultiDisplay) == MultiDisplay(text="Not available")
    assert ep.accept_feature(event.ref, 2.0) == []  # already answered: a late decision is ignored
    assert sent(ep) == []
    [live] = ep.receive(LINK, feature_request(DndSetting(active=True)), 3.0)
    assert isinstance(live, FeatureRequested)
    with pytest.raises(DectError, match="is a feature request, not a FAC call"):
        ep.complete_call(live.ref, 3.0, accepted=True)  # a feature request is no call: the caller's bug


def test_feature_request_timer_expiry_releases_with_reason_0d() -> None:
    ep = endpoint()
    [event] = ep.receive(LINK, feature_request(DndSetting(active=False)), 10.0)
    assert isinstance(event, FeatureRequested)
    assert ep.handle_timer(10.0 + CC_03 - 0.001) == []
    assert ep.handle_timer(10.0 + CC_03) == [TransactionTimedOut(ref=event.ref, message="CISS-REGISTER")]
    assert sent(ep) == ["84 5A E2 0D"]
    assert ep.next_deadline() is None
    assert ep.accept_feature(event.ref, 31.0) == [] and sent(ep) == []  # the SIP answer came too late


def test_a_reused_transaction_value_replaces_the_abandoned_transaction() -> None:
    ep = endpoint()
    [old] = ep.receive(LINK, feature_request(DndSetting(active=True)), 0.0)
    [new] = ep.receive(LINK, feature_request(DndSetting(active=False)), 25.0)  # the handset gave up on TV 0
    assert isinstance(old, FeatureRequested) and isinstance(new, FeatureRequested)
    assert old.ref == new.ref and new.setting == DndSetting(active=False)
    assert ep.transactions[new.ref].setting == DndSetting(active=False)
    assert ep.next_deadline() == 25.0 + CC_03


def test_feature_state_indication_pages_then_runs_a_complete_ciss_transaction() -> None:
    ep = endpoint()
    setting = DiversionSetting(diversion=DiversionType.ALL, active=True, target="3000")
    ep.indicate_feature_state(LINK, setting, display="Call divert\nOn 3000", ipui=KNOWN, now=1.0)
    ep.indicate_feature_state(LINK, DndSetting(active=False), display="Refused", refused=True, ipui=KNOWN,
                              now=1.0)
    # No link to the handset: a page (EN 300 175-5 §8.2), and nothing else until it answers.
    [page] = ep.take_outgoing()
    assert page.name == "LCE-REQUEST-PAGE" and page.data == bytes.fromhex("04 A5 99")
    response = encode(message(MessageType.LCE_PAGE_RESPONSE, PortableIdentity.of(KNOWN), PARK), sender=Side.PP)
    assert ep.receive(LINK, response, 1.1) == []
    register0, facility0, register1, facility1 = (decode(t.data, sender=Side.FP) for t in ep.take_outgoing())
    assert [m.message_type for m in (register0, facility0, register1, facility1)] == [
        MessageType.CISS_REGISTER, MessageType.FACILITY, MessageType.CISS_REGISTER, MessageType.FACILITY]
    assert not facility0.ti_flag and (register0.tv, facility0.tv, register1.tv, facility1.tv) == (0, 0, 1, 1)
    assert facility0.get(Signal) is None and facility0.get(FeatureIndicate) is None   # no SIGNAL in CISS
    escape = facility0.get(EscapeToProprietary)
    assert escape is not None and decode_pies(escape) == (FeatureState(setting=setting),)
    assert facility1.get(FeatureIndicate) == FeatureIndicate(feature=FeatureCode.FEATURE_KEY,
                                                             status=FeatureStatus.REJECTED)
    # The handset closes each transaction; the base learns it got the indication.
    done = encode(message(MessageType.CISS_RELEASE_COM, tv=0, ti_flag=True), sender=Side.PP)
    assert ep.receive(LINK, done, 1.2) == [IndicationDelivered(link=LINK, ipui=KNOWN)]


def test_an_indication_the_handset_never_closes_is_released_and_a_page_never_answered_is_given_up() -> None:
    ep = endpoint()
    ep.indicate_feature_state(LINK, DndSetting(active=True), display="DND", ipui=KNOWN, now=0.0)
    pages = [t.name for t in ep.take_outgoing()]
    for t in (5.0, 10.0, 15.0):
        assert ep.next_deadline() == pytest.approx(t)
        assert ep.handle_timer(t) == []
        pages += [t.name for t in ep.take_outgoing()]
    assert pages == ["LCE-REQUEST-PAGE"] * 4   # the first page and 3 repetitions (N.300)
    [failed] = ep.handle_timer(20.0)
    assert failed == PagingFailed(link=LINK, ipui=KNOWN, dropped=("CISS-REGISTER", "FACILITY"))
    assert ep.take_outgoing() == [] and ep.next_deadline() is None   # nothing sent blindly
    # Over a link, an indication never closed by the handset is released after CC.03.
    ep.pager.heard(LINK, 30.0)
    ep.indicate_feature_state(LINK, DndSetting(active=True), display="DND", ipui=KNOWN, now=30.0)
    assert [t.name for t in ep.take_outgoing()] == ["CISS-REGISTER", "FACILITY"]
    ep.pager.heard(LINK, 49.0)
    assert ep.handle_timer(30.0 + CC_03) == []
    [release] = ep.take_outgoing()
    assert decode(release.data).get(ReleaseReason) == ReleaseReason(reason=ReleaseReasonCode.TIMER_EXPIRY)


def fac_setup(code: str, tv: int = 0) -> bytes:
    from dect.ies import BasicService, SendingComplete

    return encode(
        message(
            MessageType.CC_SETUP, PortableIdentity.of(KNOWN), PARK, BasicService(), MultiKeypad(keys=code),
            SendingComplete(), tv=tv,
        )
    )  # fmt: skip


def test_fac_dialled_then_connected_then_released_by_the_handset() -> None:
    ep = endpoint()
    [event] = ep.receive(LINK, fac_setup("*78"), 0.0)
    assert isinstance(event, FacDialled) and event.digits == "*78"
    assert sent(ep) == ["83 02"]  # CC-CALL-PROC
    ep.complete_call(event.ref, 0.5, accepted=True, display="DND on")
    assert sent(ep) == ["83 07 28 06 44 4E 44 20 6F 6E E4 05"]  # CONNECT, display, confirm tone
    assert ep.next_deadline() == 0.5 + CC_04
    assert ep.receive(LINK, bytes.fromhex("03 4D E2 00"), 1.0) == [
        CallReleased(ref=event.ref, reason=ReleaseReasonCode.NORMAL)
    ]
    assert sent(ep) == ["83 5A E2 00"]


def test_fac_refused() -> None:
    ep = endpoint()
    [event] = ep.receive(LINK, fac_setup("*79", tv=2), 0.0)
    ep.take_outgoing()
    assert isinstance(event, FacDialled)
    ep.complete_call(event.ref, 0.2, accepted=False, reason=ReleaseReasonCode.USER_REJECTION)
    assert sent(ep) == ["A3 5A E2 15"]


def test_fac_timer_expiry() -> None:
    ep = endpoint()
    [event] = ep.receive(LINK, fac_setup("*78"), 0.0)
    ep.take_outgoing()
    assert isinstance(event, FacDialled)
    events = ep.handle_timer(CC_03)
    assert events == [
        TransactionTimedOut(ref=event.ref, message="CC-SETUP"),
        CallReleased(ref=event.ref, reason=ReleaseReasonCode.TIMER_EXPIRY),
    ]
    assert sent(ep) == ["83 5A E2 0D"]


@pytest.mark.parametrize(
    ("hex_", "reply", "reason"),
    [
        ("03 05 05 07 80 A8 02 9E", "83 5A E2 04", 0x04),  # IE runs past the end -> CC-RELEASE-COM 04
        (f"03 05 {PI_HEX} E0 80", "83 5A E2 03", 0x03),  # FIXED-IDENTITY missing -> 03
        ("03 77", "83 5A E2 01", 0x01),  # unknown CC message type -> 01
        (f"04 64 {PI_HEX} 7B 05 81 00 02 3E 09", "84 5A E2 04", 0x04),  # broken proprietary content
        ("04 64", "84 5A E2 03", 0x03),  # CISS-REGISTER without the identity
        ("05 54 05 03 80 A8", "85 57 60 01 64", 0x04),  # LOCATE-REQUEST cut -> LOCATE-REJECT 64
        ("05 44", "85 47 60 01 60", 0x03),  # ACCESS-RIGHTS-REQUEST without identity -> 60
        ("03 4E", "83 5A E2 01", 0x01),
    ],
)
def test_malformed_input_is_answered_logged_and_survived(hex_: str, reply: str, reason: int) -> None:
    ep = endpoint()
    [event] = ep.receive(LINK, bytes.fromhex(hex_), 0.0)
    assert isinstance(event, ProtocolErrorReceived)
    assert (event.reason, event.answered, event.data) == (reason, True, bytes.fromhex(hex_))
    assert sent(ep) == [reply]
    # ... and the endpoint keeps working
    assert ep.receive(LINK, bytes.fromhex(f"05 54 {PI_HEX}"), 1.0) == [HandsetLocated(link=LINK, ipui=KNOWN)]


@pytest.mark.parametrize("hex_", ["", "03", "83 5A E2 99", "73 05", "55 99", "00 00"])
def test_malformed_input_without_a_reply(hex_: str) -> None:
    ep = endpoint()
    [event] = ep.receive(LINK, bytes.fromhex(hex_), 0.0)
    assert isinstance(event, ProtocolErrorReceived) and not event.answered
    assert sent(ep) == []


def test_unexpected_message_inside_a_transaction_is_answered_with_01() -> None:
    ep = endpoint()
    ep.receive(LINK, fac_setup("*78"), 0.0)
    ep.take_outgoing()
    [event] = ep.receive(LINK, bytes.fromhex("03 07"), 0.1)  # CC-CONNECT from the handset: not in this call
    assert isinstance(event, ProtocolErrorReceived) and event.reason == 0x01
    assert sent(ep) == ["83 5A E2 01"]
    assert ep.transactions == {}


def test_unknown_transaction_and_stray_releases() -> None:
    ep = endpoint()
    [event] = ep.receive(LINK, bytes.fromhex("03 7B 2C 01 35"), 0.0)  # CC-INFO in no call
    assert isinstance(event, ProtocolErrorReceived) and event.reason == 0x02
    assert sent(ep) == ["83 5A E2 02"]
    assert ep.receive(LINK, bytes.fromhex("03 4D E2 00"), 0.0) == []  # a release is always completed
    assert sent(ep) == ["83 5A E2 00"]
    assert ep.receive(LINK, bytes.fromhex("03 5A E2 00"), 0.0) == []  # a stray RELEASE-COM is ignored
    assert sent(ep) == []


def test_cciss_register_without_feature_request_is_service_not_implemented() -> None:
    ep = endpoint()
    data = encode(message(MessageType.CISS_REGISTER, PortableIdentity.of(KNOWN), MultiKeypad(keys="*21#")))
    [event] = ep.receive(LINK, data, 0.0)
    assert (
        isinstance(event, ProtocolErrorReceived) and event.reason == ReleaseReasonCode.SERVICE_NOT_IMPLEMENTED
    )
    assert sent(ep) == ["84 5A E2 06"]


def test_two_transactions_at_once_are_kept_apart() -> None:
    ep = endpoint()
    [first] = ep.receive(LINK, feature_request(DndSetting(active=True), tv=0), 0.0)
    [second] = ep.receive(LINK, fac_setup("*78", tv=0), 0.0)  # same TV, other protocol: another transaction
    assert isinstance(first, FeatureRequested) and isinstance(second, FacDialled)
    assert first.ref != second.ref
    ep.take_outgoing()
    ep.accept_feature(first.ref, 1.0)
    assert [decode(t.data).message_type for t in ep.take_outgoing()] == [MessageType.CISS_RELEASE_COM]
    assert list(ep.transactions) == [second.ref]


def test_ack_names_the_diversion() -> None:
    ep = endpoint()
    [event] = ep.receive(
        LINK, feature_request(DiversionSetting(diversion=DiversionType.BUSY, active=False)), 0.0
    )
    assert isinstance(event, FeatureRequested)
    ep.accept_feature(event.ref, 0.0)
    escape = decode(ep.take_outgoing()[0].data).get(EscapeToProprietary)
    assert escape is not None
    assert decode_pies(escape) == (
        FeatureAck(feature=FeatureId.CALL_DIVERSION, diversion=DiversionType.BUSY),
    )


def test_reject_reason_ie_in_location_reject() -> None:
    ep = endpoint()
    ep.receive(LINK, encode(message(MessageType.LOCATE_REQUEST, PortableIdentity.of(STRANGER))), 0.0)
    assert decode(ep.take_outgoing()[0].data).get(RejectReason) == RejectReason(
        reason=RejectReasonCode.IPUI_UNKNOWN
    )


def test_display_text_is_made_dect_ia5() -> None:
    ep = endpoint()
    ep.pager.heard(LINK, 0.0)
    ep.indicate_feature_state(
        LINK, DndSetting(active=True), display="Rufumleitung \u00fcber 3000" + "x" * 300
    )
    shown = decode(ep.take_outgoing()[1].data).get(MultiDisplay)
    assert shown is not None and shown.text.startswith("Rufumleitung ?ber 3000") and len(shown.text) == 255
