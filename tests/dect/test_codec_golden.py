"""Golden NWK messages worked out by hand from EN 300 175-5, one (at least) per message type.

How each vector is built (octet by octet):

- octet 1 = TI flag (bit 8) | TV (bits 7-5) | PD (bits 4-1): CC 3, CISS 4, MM 5. The initiator sends flag 0
  (`03`, `04`, `05` for TV 0), the responder flag 1 (`83`, `84`, `85`).
- octet 2 = message type (dect-nwk.md §1).
- PORTABLE-IDENTITY of IPUI-N 029e74a599: `05 07 | 80 (1|type IPUI 00) | A8 (1|40 bits) | 02 9E 74 A5 99`.
- FIXED-IDENTITY PARK, 36 bits, value 0x123456789: `06 07 | A0 (1|PARK 20) | A4 (1|36) | 12 34 56 78 90`
  (the 36-bit value shifted left by 4 to be left-aligned in 5 octets).
- BASIC-SERVICE `E0 80`: call class 1000 normal, service 0000 speech. SENDING-COMPLETE `A1`.
- MULTI-KEYPAD "*78": `2C 03 2A 37 38`. MULTI-DISPLAY "OK": `28 02 4F 4B`. SIGNAL confirm `E4 05`.
- RELEASE-REASON `E2 xx`; REJECT-REASON `60 01 xx` (02 IPUI unknown, 10 authentication failed).
- LOCATION-AREA level 0: `07 01 40` (bit 8: no extended LI; bit 7: LA level included).
- ESCAPE-TO-PROPRIETARY: `7B len 81 00 02` + this project's PIEs (docs/dect-proprietary.md).
"""

from __future__ import annotations

import pytest

from dect.codec import MessageType, NwkMessage, Side, decode, encode, message, split_ies
from dect.errors import RemoteProtocolError
from dect.identity import Ipui
from dect.ies import (
    BasicService,
    FeatureCode,
    FeatureStatus,
    InfoParameter,
    IwuProtocol,
    NumberingPlan,
    NumberType,
    RejectReasonCode,
    ReleaseReason,
    ReleaseReasonCode,
    SendingComplete,
    Signal,
    SignalValue,
)
from dect.ies_auth import AllocationType, AuthKeyType, AuthType, Rand, Res, Rs
from dect.ies_var import (
    CalledPartyNumber,
    Event,
    EventsNotification,
    EventType,
    FeatureActivate,
    FeatureIndicate,
    FixedIdentity,
    InfoType,
    IwuToIwu,
    LocationArea,
    MultiDisplay,
    MultiKeypad,
    PortableIdentity,
    RejectReason,
)
from dect.proprietary import DndSetting, FeatureAck, FeatureId, FeatureRequest, FeatureState, Pin, encode_pies

PI = PortableIdentity.of(Ipui.parse("029e74a599"))
FI = FixedIdentity(bits=36, value=0x123456789)
PI_HEX = "05 07 80 A8 02 9E 74 A5 99"
FI_HEX = "06 07 A0 A4 12 34 56 78 90"

# (name, sender, hex, message)
GOLDEN: list[tuple[str, Side, str, NwkMessage]] = [
    ("CC-SETUP dialling *78 (dect-nwk.md §3)", Side.PP,
     f"03 05 {PI_HEX} {FI_HEX} E0 80 2C 03 2A 37 38 A1",
     message(MessageType.CC_SETUP, PI, FI, BasicService(), MultiKeypad(keys="*78"), SendingComplete())),
    ("CC-SETUP with FEATURE-ACTIVATE feature key 1 (38 02: 0|42, 1|01) and CALLED-PARTY-NUMBER "
     "(70 05: 1|000|0001 = 81, '3000')", Side.PP,
     f"03 05 {PI_HEX} {FI_HEX} E0 80 38 02 42 81 70 05 81 33 30 30 30",
     message(MessageType.CC_SETUP, PI, FI, BasicService(), FeatureActivate(feature=FeatureCode.FEATURE_KEY, parameter=1),
             CalledPartyNumber(number="3000", plan=NumberingPlan.ISDN_TELEPHONY))),
    ("CC-CALL-PROC, the base's answer in TV 0", Side.FP, "83 02", message(MessageType.CC_CALL_PROC, ti_flag=True)),
    ("CC-ALERTING with SIGNAL ring-back tone on (E4 01)", Side.FP, "83 01 E4 01",
     message(MessageType.CC_ALERTING, Signal(value=SignalValue.RING_BACK_TONE_ON), ti_flag=True)),
    ("CC-CONNECT with display 'OK' and the confirm tone", Side.FP, "83 07 28 02 4F 4B E4 05",
     message(MessageType.CC_CONNECT, MultiDisplay(text="OK"), Signal(value=SignalValue.CONFIRM_TONE_ON), ti_flag=True)),
    ("CC-CONNECT-ACK from the base that started the call (flag 0)", Side.FP, "03 0F",
     message(MessageType.CC_CONNECT_ACK)),
    ("CC-INFO with one more key '5'", Side.PP, "03 7B 2C 01 35", message(MessageType.CC_INFO, MultiKeypad(keys="5"))),
    ("CC-INFO from the base: FEATURE-INDICATE feature key accepted (39 02: 1|42 = C2, 1|01 = 81)", Side.FP,
     "83 7B 39 02 C2 81",
     message(MessageType.CC_INFO, FeatureIndicate(feature=FeatureCode.FEATURE_KEY, status=FeatureStatus.ACCEPTED),
             ti_flag=True)),
    ("CC-IWU-INFO with IWU-TO-IWU user specific (77 03: 1|S/R 1|000000 = C0, 12 34)", Side.PP, "03 60 77 03 C0 12 34",
     message(MessageType.CC_IWU_INFO, IwuToIwu(protocol=IwuProtocol.USER_SPECIFIC, data=b"\x12\x34"))),
    ("CC-RELEASE, normal (E2 00)", Side.PP, "03 4D E2 00",
     message(MessageType.CC_RELEASE, ReleaseReason(reason=ReleaseReasonCode.NORMAL))),
    ("CC-RELEASE-COM, timer expiry (E2 0D)", Side.FP, "83 5A E2 0D",
     message(MessageType.CC_RELEASE_COM, ReleaseReason(reason=ReleaseReasonCode.TIMER_EXPIRY), ti_flag=True)),
    ("CISS-REGISTER with the DND-on feature request (PIE 3E 02 30 01)", Side.PP,
     f"04 64 {PI_HEX} 7B 07 81 00 02 3E 02 30 01",
     message(MessageType.CISS_REGISTER, PI, encode_pies(FeatureRequest(setting=DndSetting(active=True))))),
    ("FACILITY indication: display 'On', feature state DND on (PIE 3F); no SIGNAL in CISS", Side.FP,
     "04 62 28 02 4F 6E 7B 07 81 00 02 3F 02 30 01",
     message(MessageType.FACILITY, MultiDisplay(text="On"),
             encode_pies(FeatureState(setting=DndSetting(active=True))))),
    ("FACILITY refusing: FEATURE-INDICATE feature key (42), rejected (1|00 = 80)", Side.FP,
     "04 62 28 02 4F 6E 39 02 C2 80",
     message(MessageType.FACILITY, MultiDisplay(text="On"),
             FeatureIndicate(feature=FeatureCode.FEATURE_KEY, status=FeatureStatus.REJECTED))),
    ("CISS-REGISTER from the base opening an indication (its own TV 0, TI flag 0)", Side.FP,
     f"04 64 {PI_HEX}", message(MessageType.CISS_REGISTER, PI)),
    ("CISS-RELEASE-COM from the handset closing the base's indication (TI flag 1)", Side.PP,
     "84 5A", message(MessageType.CISS_RELEASE_COM, ti_flag=True)),
    ("KEY-ALLOCATE: DSAA, UAK 0 / AC 0, RAND-F and RS of EN 300 175-7 Annex K", Side.FP,
     "05 42 0B 02 01 00 0C 08 D0 1F F9 E2 11 68 04 21 0E 08 00 00 00 00 00 00 00 00",
     message(MessageType.KEY_ALLOCATE, AllocationType(), Rand(value=bytes.fromhex("d01ff9e211680421")),
             Rs(value=bytes(8)))),
    ("AUTHENTICATION-REQUEST from the handset in the base's transaction: AC key, RAND-P, RES1", Side.PP,
     "85 40 0A 03 01 40 00 0C 08 A0 3F F2 C5 23 D0 08 42 0D 04 F2 8C F9 11",
     message(MessageType.AUTHENTICATION_REQUEST, AuthType(key_type=AuthKeyType.AUTHENTICATION_CODE),
             Rand(value=bytes.fromhex("a03ff2c523d00842")), Res(value=bytes.fromhex("f28cf911")), ti_flag=True)),
    ("AUTHENTICATION-REPLY from the base: RES2", Side.FP, "05 41 0D 04 EE BA 4D B9",
     message(MessageType.AUTHENTICATION_REPLY, Res(value=bytes.fromhex("eeba4db9")))),
    ("AUTHENTICATION-REJECT: authentication failed (REJECT-REASON 10)", Side.FP, "05 43 60 01 10",
     message(MessageType.AUTHENTICATION_REJECT, RejectReason(reason=RejectReasonCode.AUTHENTICATION_FAILED))),
    ("LCE-PAGE-RESPONSE with the handset's IPUI and the base's PARK", Side.PP, f"00 71 {PI_HEX} {FI_HEX}",
     message(MessageType.LCE_PAGE_RESPONSE, PI, FI)),
    ("LCE-PAGE-REJECT: IPUI unknown (REJECT-REASON 01)", Side.FP, "80 72 60 01 02",
     message(MessageType.LCE_PAGE_REJECT, RejectReason(reason=RejectReasonCode.IPUI_UNKNOWN), ti_flag=True)),
    ("FACILITY with EVENTS-NOTIFICATION: one message waiting (7D 03: 00, 1|0 = 80, 1|1 = 81)", Side.FP,
     "04 62 7D 03 00 80 81",
     message(MessageType.FACILITY, EventsNotification(events=(Event(event_type=EventType.MESSAGE_WAITING),)))),
    ("CISS-RELEASE-COM accepting the DND request (PIE 59 01 30)", Side.FP, "84 5A 7B 06 81 00 02 59 01 30",
     message(MessageType.CISS_RELEASE_COM, encode_pies(FeatureAck(feature=FeatureId.DND)), ti_flag=True)),
    ("ACCESS-RIGHTS-REQUEST with PIN 0000 (PIE 50 04 30 30 30 30)", Side.PP,
     f"05 44 {PI_HEX} 7B 09 81 00 02 50 04 30 30 30 30",
     message(MessageType.ACCESS_RIGHTS_REQUEST, PI, encode_pies(Pin(pin="0000")))),
    ("ACCESS-RIGHTS-ACCEPT with the base's PARK", Side.FP, f"85 45 {PI_HEX} {FI_HEX}",
     message(MessageType.ACCESS_RIGHTS_ACCEPT, PI, FI, ti_flag=True)),
    ("ACCESS-RIGHTS-REJECT, authentication failed (wrong PIN)", Side.FP, "85 47 60 01 10",
     message(MessageType.ACCESS_RIGHTS_REJECT, RejectReason(reason=RejectReasonCode.AUTHENTICATION_FAILED),
             ti_flag=True)),
    ("LOCATE-REQUEST (power on)", Side.PP, f"05 54 {PI_HEX}", message(MessageType.LOCATE_REQUEST, PI)),
    ("LOCATE-ACCEPT, location area level 0", Side.FP, f"85 55 {PI_HEX} 07 01 40",
     message(MessageType.LOCATE_ACCEPT, PI, LocationArea(level=0), ti_flag=True)),
    ("LOCATE-REJECT, IPUI unknown", Side.FP, "85 57 60 01 02",
     message(MessageType.LOCATE_REJECT, RejectReason(reason=RejectReasonCode.IPUI_UNKNOWN), ti_flag=True)),
    ("INFO-SUGGEST: locate suggest (INFO-TYPE 01 01 80)", Side.FP, "05 52 01 01 80",
     message(MessageType.INFO_SUGGEST, InfoType(parameters=(InfoParameter.LOCATE_SUGGEST,)))),
    ("CC-SETUP with TV 3: octet 1 = 0|011|0011 = 33", Side.PP, f"33 05 {PI_HEX} {FI_HEX} E0 80",
     message(MessageType.CC_SETUP, PI, FI, BasicService(), tv=3)),
    ("CALLED-PARTY-NUMBER national/private (1|010|1001 = A9)", Side.PP, f"03 05 {PI_HEX} {FI_HEX} E0 80 70 03 A9 31 32",
     message(MessageType.CC_SETUP, PI, FI, BasicService(),
             CalledPartyNumber(number="12", number_type=NumberType.NATIONAL, plan=NumberingPlan.PRIVATE))),
]  # fmt: skip

IDS = [name for name, *_ in GOLDEN]


def test_every_message_type_has_a_golden_vector() -> None:
    assert {msg.message_type for *_, msg in GOLDEN} == set(MessageType)


def test_the_spec_examples() -> None:
    """dect-nwk.md: a handset's CC-SETUP with TV 0 starts `03 05`; the base's reply starts `83`."""
    assert encode(GOLDEN[0][3]).startswith(bytes.fromhex("03 05 05 07 80 A8 02 9E 74 A5 99"))
    assert encode(message(MessageType.CC_CALL_PROC, ti_flag=True))[0] == 0x83


@pytest.mark.parametrize(("name", "sender", "hex_", "msg"), GOLDEN, ids=IDS)
def test_golden_encode_and_decode(name: str, sender: Side, hex_: str, msg: NwkMessage) -> None:
    data = bytes.fromhex(hex_)
    assert encode(msg, sender=sender) == data
    assert decode(data, sender=sender) == msg
    assert decode(data) == msg  # sender unknown (an engineer's capture)


def _boundaries(data: bytes) -> set[int]:
    ends = {2}
    for offset, ie_id, content in split_ies(data):
        ends.add(
            offset + (1 if ie_id & 0x80 and ie_id & 0xF0 != 0xE0 else 2 if ie_id & 0x80 else 2 + len(content))
        )
    return ends


@pytest.mark.parametrize(("name", "sender", "hex_", "msg"), GOLDEN, ids=IDS)
def test_every_truncated_prefix_fails_cleanly(name: str, sender: Side, hex_: str, msg: NwkMessage) -> None:
    """A prefix cut inside an IE raises; one cut between IEs is a shorter valid message or lacks a mandatory IE."""
    data = bytes.fromhex(hex_)
    boundaries = _boundaries(data)
    for end in range(len(data)):
        prefix = data[:end]
        if end not in boundaries:
            with pytest.raises(RemoteProtocolError) as caught:
                decode(prefix, sender=sender)
            assert caught.value.reason in (0x01, 0x03, 0x04)
            continue
        try:
            shorter = decode(prefix, sender=sender)
        except RemoteProtocolError as err:
            assert err.reason == 0x03  # only a mandatory IE can be missing at an IE boundary
        else:
            assert encode(shorter, sender=sender) == prefix
            assert shorter.ies == msg.ies[: len(shorter.ies)]


@pytest.mark.parametrize("junk", ["00", "FF", "28 05 41", "A1 A1", "E4"])
@pytest.mark.parametrize(("name", "sender", "hex_", "msg"), GOLDEN, ids=IDS)
def test_trailing_junk_fails_cleanly(name: str, sender: Side, hex_: str, msg: NwkMessage, junk: str) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        decode(bytes.fromhex(hex_) + bytes.fromhex(junk), sender=sender)
    assert caught.value.reason == 0x04
    assert caught.value.offset is not None and caught.value.offset >= len(bytes.fromhex(hex_))


@pytest.mark.parametrize(
    ("hex_", "reason", "offset", "ie"),
    [
        ("03", 0x01, 1, None),  # no message type
        ("03 99", 0x01, 1, None),  # message type with bit 8 set
        ("03 77", 0x01, 1, None),  # unknown CC message type
        ("00 05", 0x01, 1, None),  # LCE: no message of this project
        ("73 05", 0x04, 0, None),  # TV 7: TI extension
        ("03 05 05 07 80 A8 02 9E 74", 0x04, 2, "PORTABLE-IDENTITY"),  # runs past the end
        (f"03 05 {PI_HEX} E0 80", 0x03, 13, "FIXED-IDENTITY"),  # mandatory IE missing
        (f"03 05 {FI_HEX} {PI_HEX} E0 80", 0x04, 11, "PORTABLE-IDENTITY"),  # out of table order
        ("83 5A E2 99", 0x04, 2, "RELEASE-REASON"),  # unknown enum value
        ("83 07 E4 33", 0x04, 2, "SIGNAL"),  # unknown signal value
        ("85 57 60 01 99", 0x04, 2, "REJECT-REASON"),
        ("83 07 E4", 0x04, 2, "SIGNAL"),  # double-octet element cut
        ("83 07 28 01 C1", 0x04, 2, "MULTI-DISPLAY"),  # not IA5
        ("05 54 05 07 80 A8 12 9E 74 A5 99", 0x04, 2, "PORTABLE-IDENTITY"),  # PUT 1 is not IPUI-N
        ("05 54 05 03 80 A8 02", 0x04, 2, "PORTABLE-IDENTITY"),
        ("04 64 05 07 80 A8 02 9E 74 A5 99 E0 80", 0x04, 11, "BASIC-SERVICE"),  # not in CISS-REGISTER
        ("83 02 42 00", 0x04, 2, "IE 42"),  # unknown IE
    ],
)
def test_protocol_errors_carry_reason_offset_and_ie(
    hex_: str, reason: int, offset: int, ie: str | None
) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        decode(bytes.fromhex(hex_))
    assert (caught.value.reason, caught.value.offset, caught.value.ie) == (reason, offset, ie)


def test_wrong_sender_is_an_unexpected_message() -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        decode(bytes.fromhex("83 02"), sender=Side.PP)  # CC-CALL-PROC only comes from the base
    assert caught.value.reason == 0x01
    with pytest.raises(RemoteProtocolError) as caught:
        decode(bytes.fromhex(f"05 54 {PI_HEX}"), sender=Side.FP)
    assert caught.value.reason == 0x01


def test_byte_by_byte_input_equals_whole_input() -> None:
    """Feeding a message in pieces and joining them gives the same result as the whole message."""
    for _name, sender, hex_, msg in GOLDEN:
        data = bytes.fromhex(hex_)
        assert decode(b"".join(data[i : i + 1] for i in range(len(data))), sender=sender) == msg
