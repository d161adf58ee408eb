"""as-feature-event bodies and multipart/mixed: golden forms, tolerance, rejection, round trips."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sip.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from sip.feature_event import (
    CONTENT_TYPE,
    MISSPELLED_NAMESPACE,
    NAMESPACE,
    DoNotDisturbEvent,
    ForwardingEvent,
    ForwardingType,
    SetDoNotDisturb,
    SetForwarding,
    build_body,
    build_feature_body,
    parse_body,
    parse_feature_body,
)
from sip.headers import parse_media_type
from sip.multipart import BodyPart, build_multipart

BROADWORKS_DND = (
    b'<?xml version="1.0" encoding="ISO-8859-1"?>\n'
    b'<DoNotDisturbEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
    b"<device>4001</device><doNotDisturbOn>true</doNotDisturbOn></DoNotDisturbEvent>"
)
BROADWORKS_CFNA = (
    b'<?xml version="1.0" encoding="ISO-8859-1"?>\n'
    b'<ForwardingEvent xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">\n'
    b"  <device>4001</device>\n  <forwardingType>forwardNoAns</forwardingType>\n"
    b"  <forwardStatus>true</forwardStatus>\n  <forwardTo>+4930123</forwardTo>\n  <ringCount>4</ringCount>\n"
    b"</ForwardingEvent>"
)
PHONE_SET_FWD = (
    b'<?xml version="1.0" encoding="ISO-8859-1"?>'
    b'<SetForwarding xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3">'
    b"<device>4001</device><forwardingType>forwardBusy</forwardingType><activateForward>false</activateForward>"
    b"<forwardDN></forwardDN><ringCount></ringCount></SetForwarding>"
)


def test_golden_bodies() -> None:
    assert parse_body(BROADWORKS_DND) == DoNotDisturbEvent(device="4001", on=True)
    assert parse_body(BROADWORKS_CFNA) == ForwardingEvent(
        device="4001", forwarding_type=ForwardingType.CFNA, status=True, forward_to="+4930123", ring_count=4
    )
    assert parse_body(PHONE_SET_FWD) == SetForwarding(
        device="4001", forwarding_type=ForwardingType.CFB, activate=False, forward_dn="", ring_count=None
    )
    assert build_body(DoNotDisturbEvent(device="4001", on=True)) == BROADWORKS_DND


def test_misspelled_namespace_accepted_never_emitted() -> None:
    body = BROADWORKS_DND.replace(NAMESPACE.encode(), MISSPELLED_NAMESPACE.encode())
    item = parse_body(body)
    assert item == DoNotDisturbEvent(device="4001", on=True)
    assert MISSPELLED_NAMESPACE.encode() not in build_body(item)
    assert NAMESPACE.encode() in build_body(item)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"<DoNotDisturbEvent><device>x</device><doNotDisturbOn>true</doNotDisturbOn></DoNotDisturbEvent>",
         "DoNotDisturbEvent without namespace"),
        (b"<DoNotDisturbEvent", "not well-formed XML"),
        (b"", "not well-formed XML"),
        (BROADWORKS_DND.replace(b"ecma-323", b"ecma-999"), "unknown namespace"),
        (BROADWORKS_DND.replace(b"DoNotDisturbEvent", b"CallCompletion"), "unknown element CallCompletion"),
        (BROADWORKS_DND.replace(b"true", b"yes"), "Invalid boolean in doNotDisturbOn"),
        (BROADWORKS_DND.replace(b"<device>4001</device>", b""), "missing device"),
        (PHONE_SET_FWD.replace(b"<ringCount>", b"<ringCount>1"), "ringCount 1 outside 0 or 2-20"),
        (PHONE_SET_FWD.replace(b"<ringCount>", b"<ringCount>21"), "ringCount 21 outside 0 or 2-20"),
        (BROADWORKS_CFNA.replace(b"forwardNoAns", b"forwardSometimes"), "Unknown forwardingType"),
        (BROADWORKS_CFNA.replace(b"<device>", b"<color>red</color><device>"), "unknown element color"),
        (BROADWORKS_DND.replace(b"</device>", b"</device><device>2</device>"), "repeated device"),
        (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
         b'<DoNotDisturbEvent xmlns="' + NAMESPACE.encode() + b'"><device>&b;</device>'
         b"<doNotDisturbOn>true</doNotDisturbOn></DoNotDisturbEvent>", "DTD or entity declaration"),
    ],
)  # fmt: skip
def test_the_strict_reader_refuses_with_400(body: bytes, reason: str) -> None:
    # The strict reader (the server's, for Set requests) refuses what the liberal one leaves out.
    with pytest.raises(RemoteProtocolError) as info:
        parse_body(body)
    assert info.value.status == 400
    assert reason in info.value.reason


_ENTITY_BOMB_DND = (
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
    b'<DoNotDisturbEvent xmlns="' + NAMESPACE.encode() + b'"><device>&b;</device>'
    b"<doNotDisturbOn>true</doNotDisturbOn></DoNotDisturbEvent>"
)


@pytest.mark.parametrize(
    "body",
    [
        # A DTD written in UTF-16: "<!" is not two octets there, so the NUL octets send it to defusedxml.
        _ENTITY_BOMB_DND.replace(b'<?xml version="1.0"?>', b"").decode().encode("utf-16"),
        # No DTD, so the C parser reads it: an entity nobody declared is still an error.
        BROADWORKS_DND.replace(b"<device>4001</device>", b"<device>&xxe;</device>"),
    ],
)
def test_entities_are_refused_on_both_parser_paths(body: bytes) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_body(body)
    assert info.value.reason in ("DTD or entity declaration", "not well-formed XML")


@pytest.mark.parametrize("body", [BROADWORKS_DND, BROADWORKS_CFNA])
def test_both_parser_paths_read_a_body_alike(body: bytes) -> None:
    # A comment is a markup declaration ("<!--"): the same document then goes through defusedxml.
    with_comment = body.replace(b"<device>", b"<!-- portal --><device>", 1)
    assert b"<!" not in body
    assert parse_body(with_comment) == parse_body(body)


def test_ring_count_bounds_on_build() -> None:
    SetForwarding(
        device="d", forwarding_type=ForwardingType.CFNA, activate=True, forward_dn="1", ring_count=0
    )
    SetForwarding(
        device="d", forwarding_type=ForwardingType.CFNA, activate=True, forward_dn="1", ring_count=20
    )
    with pytest.raises(LocalProtocolError):
        SetForwarding(device="d", forwarding_type=ForwardingType.CFNA, activate=True, ring_count=1)


FOUR = [
    DoNotDisturbEvent(device="d", on=False),
    ForwardingEvent(device="d", forwarding_type=ForwardingType.CFA, status=True, forward_to="200"),
    ForwardingEvent(device="d", forwarding_type=ForwardingType.CFB, status=False, forward_to=""),
    ForwardingEvent(
        device="d", forwarding_type=ForwardingType.CFNA, status=True, forward_to="300", ring_count=2
    ),
]


def test_multipart_four_parts_round_trip_and_bare_lf() -> None:
    content_type, body = build_feature_body(FOUR, boundary="simple boundary")
    assert content_type.mime == "multipart/mixed"
    assert parse_feature_body(content_type, body) == FOUR
    # feature-key-sync.md §5: bare LF before the boundary (and everywhere) must be tolerated.
    assert parse_feature_body(content_type, body.replace(b"\r\n", b"\n")) == FOUR
    # any part order, any boundary, a preamble and an epilogue
    reordered = build_multipart(
        [BodyPart(content_type=CONTENT_TYPE, body=build_body(i)) for i in reversed(FOUR)],
        "UniqueBroadWorksBoundary",
    )
    framed = b"preamble\r\n" + reordered[1] + b"epilogue"
    quoted = parse_media_type('multipart/mixed;boundary="UniqueBroadWorksBoundary"')
    assert parse_feature_body(quoted, framed) == list(reversed(FOUR))


def test_single_plain_body() -> None:
    content_type, body = build_feature_body([FOUR[0]])
    assert content_type == CONTENT_TYPE
    assert parse_feature_body(content_type, body) == [FOUR[0]]


@pytest.mark.parametrize(
    ("content_type", "body", "reason"),
    [
        ("multipart/mixed", b"--x\r\n\r\n<a/>\r\n--x--", "without boundary"),
        ("multipart/mixed;boundary=x", b"no delimiter", "without its boundary"),
        ("multipart/mixed;boundary=x", b"--x\r\n\r\n" + BROADWORKS_DND, "without closing delimiter"),
        ("multipart/mixed;boundary=x", b"--x--\r\n", "without parts"),
        ("text/plain", BROADWORKS_DND, "text/plain"),
        (
            "multipart/mixed;boundary=x",
            b"--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--",
            "text/plain",
        ),
    ],
)
def test_bad_multipart(content_type: str, body: bytes, reason: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        parse_feature_body(parse_media_type(content_type), body)
    assert reason in info.value.reason


_text = st.text(alphabet=st.characters(codec="latin-1", categories=["L", "N", "P", "S", "Zs"]), max_size=15)
_items = st.one_of(
    st.builds(SetDoNotDisturb, device=_text.filter(str.strip), on=st.booleans()),
    st.builds(DoNotDisturbEvent, device=_text.filter(str.strip), on=st.booleans()),
    st.builds(
        SetForwarding, device=_text.filter(str.strip), forwarding_type=st.sampled_from(ForwardingType),
        activate=st.booleans(), forward_dn=st.from_regex(r"\+?[0-9]{0,12}", fullmatch=True),
        ring_count=st.none() | st.sampled_from([0, *range(2, 21)]),
    ),
    st.builds(
        ForwardingEvent, device=_text.filter(str.strip), forwarding_type=st.sampled_from(ForwardingType),
        status=st.booleans(), forward_to=st.none() | st.from_regex(r"[0-9]{1,12}", fullmatch=True),
        ring_count=st.none() | st.sampled_from([0, *range(2, 21)]),
    ),
)  # fmt: skip


@settings(max_examples=100, deadline=None)
@given(st.lists(_items.filter(lambda i: i.device == i.device.strip()), min_size=1, max_size=5),
       st.from_regex(r"[A-Za-z0-9'()+_,\-./:=?]{1,40}", fullmatch=True))  # fmt: skip
def test_body_round_trip(items: list, boundary: str) -> None:  # type: ignore[type-arg]
    content_type, body = build_feature_body(items, boundary=boundary)
    assert parse_feature_body(content_type, body) == items


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_random_bodies_raise_only_protocol_errors(data: bytes) -> None:
    for content_type in (CONTENT_TYPE, parse_media_type("multipart/mixed;boundary=as-feature-event")):
        with contextlib.suppress(ProtocolError):
            parse_feature_body(content_type, data)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(BROADWORKS_CFNA) - 1), st.integers(0, 255))
def test_corrupted_bodies_raise_only_protocol_errors(position: int, value: int) -> None:
    data = bytearray(BROADWORKS_CFNA)
    data[position] = value
    with contextlib.suppress(ProtocolError):
        parse_body(bytes(data))
