"""Issue 12 §1, be liberal: a NOTIFY whose framing is valid SIP is answered 200; every part and element
the base understands is applied, every other one is left out and reported (`NotifyPartIgnored`); a
part with a DTD or entities is refused and reported, never expanded; only broken framing gets 400."""

from __future__ import annotations

import pytest

from sip.errors import RemoteProtocolError
from sip.events import FeatureStateReceived, NotifyPartIgnored
from sip.feature_event import (
    CONTENT_TYPE,
    NAMESPACE,
    DoNotDisturbEvent,
    ForwardingEvent,
    ForwardingType,
    SetDoNotDisturb,
    build_body,
    read_body,
    read_feature_body,
)
from sip.headers import parse_media_type
from sip.message import Request, Response, parse_message
from sip.multipart import BodyPart, build_multipart
from sip.subscriber import SubState
from tests.sip.test_subscription import AS, BASE, _notify_like, start, world

NS = NAMESPACE.encode()
DND_TRUE = (b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<DoNotDisturbEvent xmlns="' + NS + b'">'
            b"<device>4001</device><doNotDisturbOn>true</doNotDisturbOn></DoNotDisturbEvent>")
CFNA = (b'<ForwardingEvent xmlns="' + NS + b'"><device>4001</device><forwardingType>forwardNoAns'
        b"</forwardingType><forwardStatus>true</forwardStatus><forwardTo>3002</forwardTo>"
        b"<ringCount>RINGS</ringCount></ForwardingEvent>")
AGENT = (b'<AgentStateEvent xmlns="' + NS + b'"><device>4001</device><agentState>agentReady</agentState>'
         b"</AgentStateEvent>")
DTD = (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>'
       b'<DoNotDisturbEvent xmlns="' + NS + b'"><device>&b;</device><doNotDisturbOn>false</doNotDisturbOn>'
       b"</DoNotDisturbEvent>")
MULTIPART = "multipart/mixed;boundary=b1"


def multipart(*parts: tuple[str, bytes]) -> bytes:
    _, body = build_multipart([BodyPart(content_type=parse_media_type(t), body=b) for t, b in parts], "b1")
    return body


def test_true_with_a_capital_is_read() -> None:
    assert read_body(DND_TRUE.replace(b">true<", b">True<")).items == (DoNotDisturbEvent(device="4001", on=True),)
    assert read_body(DND_TRUE.replace(b">true<", b"> FALSE <")).items == (DoNotDisturbEvent(device="4001", on=False),)


@pytest.mark.parametrize("rings", [1, 100, 0, 20])
def test_a_ring_count_is_taken_as_sent(rings: int) -> None:
    reading = read_body(CFNA.replace(b"RINGS", str(rings).encode()))
    assert reading.ignored == ()
    assert reading.items == (ForwardingEvent(device="4001", forwarding_type=ForwardingType.CFNA, status=True,
                                             forward_to="3002", ring_count=rings),)


def test_a_ring_count_that_is_no_number_is_left_out_and_the_rest_applied() -> None:
    reading = read_body(CFNA.replace(b"RINGS", b"many"))
    assert reading.items[0] == ForwardingEvent(device="4001", forwarding_type=ForwardingType.CFNA, status=True,
                                               forward_to="3002", ring_count=None)
    assert reading.ignored == ("ForwardingEvent: ringCount 'many' is not a number, ignored",)


def test_unknown_repeated_and_nested_elements_are_left_out_and_named() -> None:
    body = DND_TRUE.replace(
        b"</doNotDisturbOn>",
        b"</doNotDisturbOn><doNotDisturbOn>false</doNotDisturbOn><ringSplash>on</ringSplash>"
        b'<x:note xmlns:x="urn:other">n</x:note>',
    ).replace(b"<device>4001</device>", b"<device>4001<extension>12</extension></device>")
    reading = read_body(body)
    assert reading.items == (DoNotDisturbEvent(device="4001", on=True),)   # the first one counts
    assert reading.ignored == (
        "DoNotDisturbEvent: elements nested in device ignored",
        "DoNotDisturbEvent: repeated doNotDisturbOn ignored (the first one counts)",
        "DoNotDisturbEvent: unknown element ringSplash ignored",
        "DoNotDisturbEvent: element {urn:other}note in another namespace ignored",
    )


def test_unknown_parts_are_left_out_and_the_known_ones_applied() -> None:
    body = multipart((CONTENT_TYPE.mime, DND_TRUE), (CONTENT_TYPE.mime, AGENT),
                     ("application/x-broadworks-call-center+xml", b"<agent/>"), (CONTENT_TYPE.mime, DTD),
                     (CONTENT_TYPE.mime, b"<not-xml"), (CONTENT_TYPE.mime, build_body(SetDoNotDisturb(device="d", on=True))))
    reading = read_feature_body(parse_media_type(MULTIPART), body)
    assert reading.items == (DoNotDisturbEvent(device="4001", on=True), SetDoNotDisturb(device="d", on=True))
    assert reading.ignored == (
        "part 2 ignored: unknown element AgentStateEvent",
        "part 3 ignored: application/x-broadworks-call-center+xml",
        "part 4 refused: DTD or entity declaration",
        "part 5 ignored: not well-formed XML",
    )


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (MULTIPART, b"--b1\r\nContent-Type: application/x-as-feature-event+xml\r\n\r\n<a/>\r\n"),  # no closing
        ("multipart/mixed", b"--b1\r\n\r\n<a/>\r\n--b1--\r\n"),                                    # no boundary
        (MULTIPART, b"no delimiter at all"),
        (MULTIPART, b"--b1 junk\r\n\r\n<a/>\r\n--b1--\r\n"),                                        # bad delimiter line
    ],
)
def test_broken_framing_still_raises_400(content_type: str, body: bytes) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        read_feature_body(parse_media_type(content_type), body)
    assert info.value.status == 400
    with pytest.raises(RemoteProtocolError):
        read_feature_body(None, DND_TRUE)   # a body without Content-Type is broken framing


def _receive(body: bytes, content_type: str) -> tuple[Response, list[object], object]:
    wire, sub, _, _ = world()
    start(wire, sub)
    wire.take(BASE)
    raw = parse_message(_notify_like(wire, body=body))
    assert isinstance(raw, Request)
    raw.headers.set("Content-Type", content_type)
    out = sub.receive(wire.now, raw.to_bytes(), AS)
    answer = parse_message(out[0].data)  # type: ignore[attr-defined]
    assert isinstance(answer, Response)
    return answer, [o for o in out if not hasattr(o, "data")], sub


def test_the_subscriber_answers_200_applies_dnd_and_reports_the_rest() -> None:
    body = multipart((CONTENT_TYPE.mime, DND_TRUE.replace(b"</device>", b"</device><unknownThing/>")),
                     (CONTENT_TYPE.mime, AGENT), (CONTENT_TYPE.mime, DTD))
    answer, events, sub = _receive(body, MULTIPART)
    assert answer.status == 200
    assert events == [
        NotifyPartIgnored(reason="DoNotDisturbEvent: unknown element unknownThing ignored"),
        NotifyPartIgnored(reason="part 2 ignored: unknown element AgentStateEvent"),
        NotifyPartIgnored(reason="part 3 refused: DTD or entity declaration"),
        FeatureStateReceived(items=(DoNotDisturbEvent(device="4001", on=True),)),
    ]
    assert sub.state is SubState.ACTIVE  # type: ignore[attr-defined]


def test_a_set_request_in_a_notify_is_left_out_and_reported() -> None:
    answer, events, _ = _receive(build_body(SetDoNotDisturb(device="4001", on=True)), CONTENT_TYPE.mime)
    assert answer.status == 200
    assert events == [NotifyPartIgnored(reason="SetDoNotDisturb in a NOTIFY ignored")]


def test_the_subscriber_answers_broken_framing_400() -> None:
    answer, events, _ = _receive(b"--b1\r\n\r\n" + DND_TRUE, MULTIPART)
    assert answer.status == 400 and answer.reason and events == []


def test_the_first_notify_after_a_subscribe_is_the_full_state() -> None:
    wire, sub, notifier, _ = world()
    start(wire, sub)
    (full,) = [e for e in wire.take(BASE) if isinstance(e, FeatureStateReceived)]
    assert full.full and len(full.items) == 4
    wire.feed(AS, notifier.notify(wire.now, 1, [DoNotDisturbEvent(device="4001", on=True)]))
    wire.settle()
    (change,) = [e for e in wire.take(BASE) if isinstance(e, FeatureStateReceived)]
    assert not change.full
