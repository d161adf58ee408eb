"""Every IE codec on its own: golden whole-IE vectors, round trip, truncation, trailing junk, unknown values.

Vectors (EN 300 175-5 §7.6/§7.7, worked by hand):

- PORTABLE-IDENTITY IPUI-N 029e74a599: `05 07 80 A8 02 9E 74 A5 99` (base-models.md §4);
  IPEI 029E74A599 (36 bits, shifted left 4): `05 07 90 A4 29 E7 4A 59 90`; TPUI EA599: `05 05 A0 94 EA 59 90`.
- FIXED-IDENTITY ARI 36 bits 0x123456789: `06 07 80 A4 12 34 56 78 90`.
- CALLED-PARTY-NUMBER unknown/unknown "*78": `70 04 80 2A 37 38`.
- CALLING-PARTY-NUMBER unknown/unknown "3005" (§7.7.9, no octet 3a): `6C 05 80 33 30 30 35`.
- IWU-TO-IWU List Access (03), S/R = 1: `77 03 C3 01 02`.
- FEATURE-INDICATE register recall pending: `39 02 81 83`.
"""

from __future__ import annotations

import pytest

from dect.codec import decode_ie, encode_ie
from dect.errors import RemoteProtocolError
from dect.identity import Ipui
from dect.ies import (
    BasicService,
    CallClass,
    FeatureCode,
    FeatureStatus,
    InfoParameter,
    InformationElement,
    IwuProtocol,
    PortableIdentityType,
    RejectReasonCode,
    ReleaseReason,
    ReleaseReasonCode,
    SendingComplete,
    Service,
    Signal,
    SignalValue,
    SingleDisplay,
    SingleKeypad,
)
from dect.ies_auth import AllocationType, AuthKeyType, AuthType, Rand, Res, Rs
from dect.ies_var import (
    CalledPartyNumber,
    CallingPartyNumber,
    EscapeToProprietary,
    Event,
    EventsNotification,
    EventType,
    FeatureActivate,
    FeatureIndicate,
    FixedIdentity,
    FixedIdentityType,
    InfoType,
    IwuToIwu,
    LocationArea,
    MultiDisplay,
    MultiKeypad,
    PortableIdentity,
    RejectReason,
)

IPUI = Ipui.parse("029e74a599")

IE_GOLDEN: list[tuple[str, InformationElement]] = [
    ("A1", SendingComplete()),
    ("E0 80", BasicService()),
    ("E0 20", BasicService(call_class=CallClass.LIST_ACCESS, service=Service.SPEECH)),
    ("E0 88", BasicService(service=Service.WIDEBAND_SPEECH)),
    ("E2 15", ReleaseReason(reason=ReleaseReasonCode.USER_REJECTION)),
    ("E4 09", Signal(value=SignalValue.NEGATIVE_ACKNOWLEDGEMENT_TONE)),
    ("E4 3F", Signal(value=SignalValue.TONES_OFF)),
    ("E8 41", SingleDisplay(char="A")),
    ("E9 23", SingleKeypad(key="#")),
    ("05 07 80 A8 02 9E 74 A5 99", PortableIdentity.of(IPUI)),
    ("05 07 90 A4 29 E7 4A 59 90", PortableIdentity(identity_type=PortableIdentityType.IPEI, ipui=IPUI)),
    ("05 05 A0 94 EA 59 90", PortableIdentity(identity_type=PortableIdentityType.TPUI, tpui=IPUI.default_tpui)),
    ("06 07 80 A4 12 34 56 78 90", FixedIdentity(identity_type=FixedIdentityType.ARI, bits=36, value=0x123456789)),
    ("07 01 45", LocationArea(level=5)),
    ("28 03 0C 48 69", MultiDisplay(text="\x0cHi")),
    ("2C 02 15 31", MultiKeypad(keys="\x151")),
    ("38 01 81", FeatureActivate(feature=FeatureCode.REGISTER_RECALL)),
    ("39 02 81 83", FeatureIndicate(feature=FeatureCode.REGISTER_RECALL, status=FeatureStatus.PENDING)),
    ("39 03 42 83 81", FeatureIndicate(feature=FeatureCode.FEATURE_KEY, parameter=3, status=FeatureStatus.ACCEPTED)),
    ("60 01 2F", RejectReason(reason=RejectReasonCode.INSUFFICIENT_MEMORY)),
    ("70 04 80 2A 37 38", CalledPartyNumber(number="*78")),
    ("6C 05 80 33 30 30 35", CallingPartyNumber(number="3005")),
    ("77 03 C3 01 02", IwuToIwu(protocol=IwuProtocol.LIST_ACCESS, data=b"\x01\x02")),
    ("77 02 80 00", IwuToIwu(protocol=IwuProtocol.USER_SPECIFIC, data=b"\x00", send=False)),
    ("7B 03 81 00 02", EscapeToProprietary()),
    ("7B 05 81 12 34 AB CD", EscapeToProprietary(emc=0x1234, data=b"\xab\xcd")),
    ("7D 06 00 80 83 01 80 81", EventsNotification(events=(
        Event(event_type=EventType.MESSAGE_WAITING, multiplicity=3), Event(event_type=EventType.MISSED_CALL)))),
    ("01 02 00 81", InfoType(parameters=(InfoParameter.LOCATE_SUGGEST, InfoParameter.ACCESS_RIGHTS_MODIFY_SUGGEST))),
    # EN 300 175-7 Annex K's key allocation values (AC "9124", RS 0).
    ("0B 02 01 00", AllocationType()),
    ("0A 03 01 10 00", AuthType()),
    ("0A 03 01 40 00", AuthType(key_type=AuthKeyType.AUTHENTICATION_CODE)),
    ("0C 08 D0 1F F9 E2 11 68 04 21", Rand(value=bytes.fromhex("d01ff9e211680421"))),
    ("0E 08 00 00 00 00 00 00 00 00", Rs(value=bytes(8))),
    ("0D 04 F2 8C F9 11", Res(value=bytes.fromhex("f28cf911"))),
]  # fmt: skip
IDS = [f"{ie.NAME} {hex_}" for hex_, ie in IE_GOLDEN]


def test_every_ie_type_has_a_vector() -> None:
    from dect.codec import IE_TYPES

    assert {type(ie) for _, ie in IE_GOLDEN} == set(IE_TYPES.values())


@pytest.mark.parametrize(("hex_", "ie"), IE_GOLDEN, ids=IDS)
def test_ie_round_trip(hex_: str, ie: InformationElement) -> None:
    data = bytes.fromhex(hex_)
    assert encode_ie(ie) == data
    assert decode_ie(data) == ie
    assert type(ie).from_content(ie.content()) == ie


@pytest.mark.parametrize(("hex_", "ie"), IE_GOLDEN, ids=IDS)
def test_ie_truncated_fails_cleanly(hex_: str, ie: InformationElement) -> None:
    data = bytes.fromhex(hex_)
    for end in range(len(data)):
        if end == 0:
            continue  # nothing at all is no IE; decode_ie reports "found 0"
        with pytest.raises(RemoteProtocolError):
            decode_ie(data[:end])


@pytest.mark.parametrize(("hex_", "ie"), IE_GOLDEN, ids=IDS)
def test_ie_trailing_junk_fails_cleanly(hex_: str, ie: InformationElement) -> None:
    with pytest.raises(RemoteProtocolError):
        decode_ie(bytes.fromhex(hex_) + b"\x00")


@pytest.mark.parametrize(
    "hex_",
    [
        "E0 10",  # call class 0001 is not defined
        "E0 83",  # basic service 0011 is not defined
        "E2 7F",  # release reason 7F
        "E4 50",  # signal 50
        "E8 80",  # not IA5
        "E9 41",  # 'A' is no key
        "05 07 30 A8 02 9E 74 A5 99",  # identity type without extension bit
        "05 07 B0 A8 02 9E 74 A5 99",  # identity type 30 is not defined
        "05 05 A0 94 EA 59 91",  # TPUI padding bits not zero
        "06 07 80 A4 12 34 56 78 91",  # padding bits not zero
        "06 03 80 A4 12",  # 36 bits need 5 octets
        "06 07 C0 A4 12 34 56 78 90",  # fixed identity type 40
        "07 01 85",  # extended LI included (not modelled)
        "07 01 05",  # no LA level included
        "07 02 40 00",  # extra octet
        "28 00",  # empty display
        "2C 01 41",  # 'A' is no key
        "38 01 85",  # feature 05
        "38 01 42",  # parameter octet missing
        "38 02 42 01",  # parameter without extension bit
        "39 01 81",  # status missing
        "39 02 81 85",  # status 05
        "60 01 04",  # reject reason 04
        "70 02 00 31",  # type/plan octet without extension bit
        "70 02 F1 31",  # number type 111 (reserved)
        "77 02 BF 00",  # protocol discriminator 3F
        "77 01 C0",  # no IWU information
        "7B 03 82 00 02",  # discriminator type 02
        "7B 02 81 00",  # EMC cut
        "7D 02 00 80",  # incomplete triple
        "7D 03 09 80 81",  # event type 09
        "7D 03 00 00 81",  # subtype without extension bit
        "01 01 00",  # INFO-TYPE without a last octet
        "01 01 85",  # parameter 05
    ],
)
def test_bad_contents_are_reason_04(hex_: str) -> None:
    with pytest.raises(RemoteProtocolError) as caught:
        decode_ie(bytes.fromhex(hex_))
    assert caught.value.reason == 0x04
    assert caught.value.offset == 0
    assert caught.value.ie is not None


def test_values_are_validated_on_construction() -> None:
    with pytest.raises(ValueError):
        MultiKeypad(keys="12a")
    with pytest.raises(ValueError):
        FixedIdentity(bits=8, value=0x100)
    with pytest.raises(ValueError):
        PortableIdentity(identity_type=PortableIdentityType.TPUI, ipui=IPUI)
    with pytest.raises(ValueError):
        LocationArea(level=64)
