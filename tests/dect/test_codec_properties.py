"""Hypothesis: every message type round-trips from either side; random bytes only ever raise the protocol error."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dect.codec import IE_TYPES, MESSAGES, MessageType, NwkMessage, Side, _presence, decode, encode
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
    NumberingPlan,
    NumberType,
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
from dect.proprietary import (
    DiversionSetting,
    DiversionType,
    DndSetting,
    FeatureAck,
    FeatureId,
    FeatureRequest,
    FeatureState,
    Pin,
    decode_pies,
    encode_pies,
)

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ia5 = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F), min_size=1, max_size=30)
keys = st.text(alphabet="0123456789*#\x15\x1c", min_size=1, max_size=20)
digits = st.text(alphabet="0123456789*#", max_size=12)
seven = st.integers(0, 0x7F)
ipuis = st.builds(Ipui, emc=st.integers(0, 0xFFFF), psn=st.integers(0, 0xFFFFF))


@st.composite
def portable_identities(draw: st.DrawFn) -> PortableIdentity:
    kind = draw(st.sampled_from(PortableIdentityType))
    if kind is PortableIdentityType.TPUI:
        return PortableIdentity(identity_type=kind, tpui=draw(st.integers(0, 0xFFFFF)))
    return PortableIdentity(identity_type=kind, ipui=draw(ipuis))


@st.composite
def fixed_identities(draw: st.DrawFn) -> FixedIdentity:
    bits = draw(st.integers(1, 0x7F))
    return FixedIdentity(
        identity_type=draw(st.sampled_from(FixedIdentityType)),
        bits=bits,
        value=draw(st.integers(0, (1 << bits) - 1)),
    )


settings_strategy = st.one_of(
    st.builds(DndSetting, active=st.booleans()),
    st.builds(
        lambda d, a, t, r: DiversionSetting(diversion=d, active=a, target=t, rings=r if d is DiversionType.NO_ANSWER else 0),
        st.sampled_from(DiversionType), st.booleans(), digits, st.integers(0, 30),
    ),
)  # fmt: skip
pies = st.one_of(
    st.builds(FeatureRequest, setting=settings_strategy),
    st.builds(FeatureState, setting=settings_strategy),
    st.just(FeatureAck(feature=FeatureId.DND)),
    st.builds(
        lambda d: FeatureAck(feature=FeatureId.CALL_DIVERSION, diversion=d), st.sampled_from(DiversionType)
    ),
    st.builds(Pin, pin=st.text(alphabet="0123456789", min_size=4, max_size=8)),
)
escapes = st.one_of(
    st.lists(pies, min_size=1, max_size=3).map(lambda items: encode_pies(*items)),
    st.builds(EscapeToProprietary, emc=st.integers(0, 0xFFFF), data=st.binary(max_size=20)),
)

STRATEGIES: dict[type[InformationElement], st.SearchStrategy[InformationElement]] = {
    SendingComplete: st.just(SendingComplete()),
    BasicService: st.builds(
        BasicService, call_class=st.sampled_from(CallClass), service=st.sampled_from(Service)
    ),
    ReleaseReason: st.builds(ReleaseReason, reason=st.sampled_from(ReleaseReasonCode)),
    Signal: st.builds(Signal, value=st.sampled_from(SignalValue)),
    SingleDisplay: st.builds(SingleDisplay, char=st.characters(min_codepoint=0, max_codepoint=0x7F)),
    SingleKeypad: st.builds(SingleKeypad, key=st.sampled_from("0123456789*#\x15\x1c")),
    PortableIdentity: portable_identities(),
    FixedIdentity: fixed_identities(),
    LocationArea: st.builds(LocationArea, level=st.integers(0, 63)),
    MultiDisplay: st.builds(MultiDisplay, text=ia5),
    MultiKeypad: st.builds(MultiKeypad, keys=keys),
    FeatureActivate: st.builds(
        FeatureActivate, feature=st.sampled_from(FeatureCode), parameter=st.none() | seven
    ),
    FeatureIndicate: st.builds(
        FeatureIndicate,
        feature=st.sampled_from(FeatureCode),
        status=st.sampled_from(FeatureStatus),
        parameter=st.none() | seven,
    ),
    RejectReason: st.builds(RejectReason, reason=st.sampled_from(RejectReasonCode)),
    CalledPartyNumber: st.builds(
        CalledPartyNumber,
        number=st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=20),
        number_type=st.sampled_from(NumberType),
        plan=st.sampled_from(NumberingPlan),
    ),
    CallingPartyNumber: st.builds(
        CallingPartyNumber,
        number=st.text(alphabet=st.characters(max_codepoint=0x7F), max_size=20),
        number_type=st.sampled_from(NumberType),
        plan=st.sampled_from(NumberingPlan),
    ),
    AllocationType: st.builds(AllocationType, uak_number=st.integers(0, 15), ac_number=st.integers(0, 15)),
    AuthType: st.builds(AuthType, key_type=st.sampled_from(AuthKeyType), key_number=st.integers(0, 15),
                        flags=st.sampled_from([0x00, 0x80, 0x20, 0x10, 0xB0]),
                        cipher_key_number=st.integers(0, 15)),
    Rand: st.builds(Rand, value=st.binary(min_size=8, max_size=8)),
    Rs: st.builds(Rs, value=st.binary(min_size=8, max_size=8)),
    Res: st.builds(Res, value=st.binary(min_size=4, max_size=4)),
    IwuToIwu: st.builds(
        IwuToIwu,
        protocol=st.sampled_from(IwuProtocol),
        data=st.binary(min_size=1, max_size=20),
        send=st.booleans(),
    ),
    EscapeToProprietary: escapes,
    EventsNotification: st.builds(
        EventsNotification,
        events=st.lists(
            st.builds(Event, event_type=st.sampled_from(EventType), subtype=seven, multiplicity=seven),
            min_size=1,
            max_size=4,
        ).map(tuple),
    ),
    InfoType: st.builds(
        InfoType, parameters=st.lists(st.sampled_from(InfoParameter), min_size=1, max_size=3).map(tuple)
    ),
}


def test_every_ie_type_has_a_strategy() -> None:
    assert set(STRATEGIES) == set(IE_TYPES.values())


@st.composite
def messages(draw: st.DrawFn, kind: MessageType) -> tuple[Side, NwkMessage]:
    spec = MESSAGES[kind]
    sender = draw(st.sampled_from(sorted(spec.senders, key=lambda s: s.value)))
    ies = []
    for row in spec.rows:
        presence = _presence(row, sender)
        if presence == "M" or (presence == "O" and draw(st.booleans())):
            ies.append(draw(STRATEGIES[row[0]]))
    msg = NwkMessage(
        message_type=kind, tv=draw(st.integers(0, 6)), ti_flag=draw(st.booleans()), ies=tuple(ies)
    )
    return sender, msg


@pytest.mark.parametrize("kind", list(MessageType), ids=[k.label for k in MessageType])
@SETTINGS
@given(data=st.data())
def test_every_message_round_trips(kind: MessageType, data: st.DataObject) -> None:
    sender, msg = data.draw(messages(kind))
    wire = encode(msg, sender=sender)
    assert decode(wire, sender=sender) == msg
    assert decode(wire) == msg


@SETTINGS
@given(items=st.lists(pies, min_size=1, max_size=4))
def test_proprietary_round_trip(items: list[object]) -> None:
    assert decode_pies(encode_pies(*items)) == tuple(items)  # type: ignore[arg-type]


def _decode_or_protocol_error(data: bytes, sender: Side | None) -> None:
    try:
        msg = decode(data, sender=sender)
    except RemoteProtocolError as err:
        assert err.reason in (0x01, 0x02, 0x03, 0x04)
        return
    assert encode(msg) == data  # whatever decodes, encodes back to the same octets


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=40), sender=st.none() | st.sampled_from(Side))
def test_random_bytes_only_raise_the_protocol_error(data: bytes, sender: Side | None) -> None:
    _decode_or_protocol_error(data, sender)


HEADERS = sorted(
    {bytes((tv << 4 | kind.pd, kind.code)) for kind in MessageType for tv in (0, 1)} | {b"\x83\x5a"}
)


@settings(max_examples=300, deadline=None)
@given(header=st.sampled_from(HEADERS), body=st.binary(max_size=40), sender=st.none() | st.sampled_from(Side))
def test_random_bodies_behind_valid_headers_only_raise_the_protocol_error(
    header: bytes, body: bytes, sender: Side | None
) -> None:
    _decode_or_protocol_error(header + body, sender)


@settings(max_examples=200, deadline=None)
@given(
    header=st.sampled_from(HEADERS), ie_id=st.sampled_from(sorted(IE_TYPES)), content=st.binary(max_size=12)
)
def test_random_ie_contents_only_raise_the_protocol_error(header: bytes, ie_id: int, content: bytes) -> None:
    body = bytes((ie_id,)) + (content[:1] if ie_id & 0x80 else bytes((len(content),)) + content)
    _decode_or_protocol_error(header + body, None)


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=16))
def test_random_proprietary_contents_only_raise_the_protocol_error(content: bytes) -> None:
    try:
        items = decode_pies(EscapeToProprietary(data=content))
    except RemoteProtocolError as err:
        assert err.reason == 0x04
    else:
        assert encode_pies(*items).data == content
