"""Golden messages, framing rules, round trips and fuzzing of the SIP message codec."""

from __future__ import annotations

import contextlib
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sip.errors import ProtocolError, RemoteProtocolError
from sip.headers import CSeq, MediaType, SubscriptionState, Via, parse_subscription_state
from sip.message import Headers, Request, Response, make_response, parse_message
from sip.readback import error_response_bytes
from sip.uri import AbsoluteUri, NameAddr, SipUri, parse_name_addr, parse_uri

SUBSCRIBE = (
    b"SUBSCRIBE sip:4001@as.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'From: "Handset 1" <sip:4001@as.example.com>;tag=1928301774\r\n'
    b"To: <sip:4001@as.example.com>\r\n"
    b"Call-ID: a84b4c76e66710@192.0.2.10\r\n"
    b"CSeq: 314159 SUBSCRIBE\r\n"
    b"Contact: <sip:4001@192.0.2.10:5060>\r\n"
    b"Event: as-feature-event\r\n"
    b"Accept: application/x-as-feature-event+xml\r\n"
    b"Expires: 3600\r\n"
    b"Content-Length: 0\r\n\r\n"
)

OK_200 = (
    b"SIP/2.0 200 OK\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport=5060;received=192.0.2.10\r\n"
    b'From: "Handset 1" <sip:4001@as.example.com>;tag=1928301774\r\n'
    b"To: <sip:4001@as.example.com>;tag=as7f3e\r\n"
    b"Call-ID: a84b4c76e66710@192.0.2.10\r\n"
    b"CSeq: 314159 SUBSCRIBE\r\n"
    b"Expires: 1800\r\n"
    b"Contact: <sip:as.example.com:5060>\r\n"
    b"Content-Length: 0\r\n\r\n"
)

# feature-key-sync.md §5: "active, 3600" and compact header names from a real server.
NOTIFY_QUIRKY = (
    b"NOTIFY sip:4001@192.0.2.10:5060 SIP/2.0\r\n"
    b"v: SIP/2.0/UDP as.example.com;branch=z9hG4bKnashds8\r\n"
    b"f: <sip:4001@as.example.com>;tag=as7f3e\r\n"
    b"t: <sip:4001@as.example.com>;tag=1928301774\r\n"
    b"i: a84b4c76e66710@192.0.2.10\r\n"
    b"CSEQ: 2 NOTIFY\r\n"
    b"o: as-feature-event\r\n"
    b"subscription-state: active, 3600\r\n"
    b"u: as-feature-event, presence\r\n"
    b"l: 0\r\n\r\n"
)


def test_golden_subscribe() -> None:
    m = parse_message(SUBSCRIBE)
    assert isinstance(m, Request)
    assert m.method == "SUBSCRIBE"
    assert m.uri == SipUri(user="4001", host="as.example.com")
    assert m.top_via == Via(
        transport="UDP",
        host="192.0.2.10",
        port=5060,
        params=(("branch", "z9hG4bK776asdhds"), ("rport", None)),
    )
    assert m.top_via.rport == ""
    assert m.from_.display == "Handset 1"
    assert m.from_.tag == "1928301774"
    assert m.to.tag is None
    assert m.cseq == CSeq(seq=314159, method="SUBSCRIBE")
    assert m.expires == 3600
    assert m.event is not None and m.event.package == "as-feature-event"
    assert m.headers.get("accept") == "application/x-as-feature-event+xml"
    assert m.to_bytes() == SUBSCRIBE


def test_golden_200() -> None:
    m = parse_message(OK_200)
    assert isinstance(m, Response)
    assert (m.status, m.reason) == (200, "OK")
    assert m.top_via.received == "192.0.2.10"
    assert m.top_via.rport == "5060"
    assert m.to.tag == "as7f3e"
    assert m.expires == 1800
    assert m.contacts[0].uri == SipUri(host="as.example.com", port=5060)
    assert m.to_bytes() == OK_200


def test_real_world_notify_forms() -> None:
    m = parse_message(NOTIFY_QUIRKY)
    assert m.subscription_state == SubscriptionState(state="active", expires=3600)
    assert m.allow_events == ("as-feature-event", "presence")
    assert m.call_id == "a84b4c76e66710@192.0.2.10"
    assert [n for n, _ in m.headers][:6] == ["Via", "From", "To", "Call-ID", "CSeq", "Event"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("active;expires=3600", SubscriptionState(state="active", expires=3600)),
        ("active, 3600", SubscriptionState(state="active", expires=3600)),
        ("Pending ; expires = 60", SubscriptionState(state="pending", expires=60)),
        (
            "terminated;reason=probation;retry-after=30",
            SubscriptionState(state="terminated", reason="probation", retry_after=30),
        ),
        ("terminated;reason=noresource", SubscriptionState(state="terminated", reason="noresource")),
    ],
)
def test_subscription_state(text: str, expected: SubscriptionState) -> None:
    assert parse_subscription_state(text) == expected
    assert parse_subscription_state(str(expected)) == expected


def test_content_type_params_and_retry_after() -> None:
    raw = OK_200.replace(b"Expires: 1800\r\n", b"Retry-After: 120 (maintenance);duration=60\r\n")
    m = parse_message(raw.replace(b"SIP/2.0 200 OK", b"SIP/2.0 503 Service Unavailable"))
    assert m.retry_after is not None and m.retry_after.seconds == 120
    assert m.retry_after.comment == "maintenance"
    body = b"--b1\r\n\r\nx\r\n--b1--\r\n"
    raw = SUBSCRIBE.replace(b"Content-Length: 0\r\n\r\n", b"")
    raw += b'Content-Type: multipart/mixed; boundary="b1"\r\nContent-Length: %d\r\n\r\n' % len(body) + body
    m = parse_message(raw)
    assert m.content_type == MediaType(type="multipart", subtype="mixed", params=(("boundary", '"b1"'),))
    assert m.content_type.param("boundary") == "b1"
    assert m.body == body


def test_multi_valued_headers_across_lines_and_commas() -> None:
    raw = SUBSCRIBE.replace(
        b"Max-Forwards: 70\r\n",
        b"Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKa, SIP/2.0/TCP p2.example.com:5070;branch=z9hG4bKb\r\n"
        b"Max-Forwards: 70\r\nRecord-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\n",
    )
    m = parse_message(raw)
    assert [v.host for v in m.vias] == ["192.0.2.10", "proxy.example.com", "p2.example.com"]
    assert m.vias[2].port == 5070
    assert [str(r.uri) for r in m.record_routes] == ["sip:p1.example.com;lr", "sip:p2.example.com;lr"]


def test_name_addr_forms() -> None:
    a = parse_name_addr('"A \\"B\\"" <sip:u@h;transport=udp>;tag=x;expires=5', "To")
    assert a.display == 'A "B"'
    assert isinstance(a.uri, SipUri) and a.uri.param("transport") == "udp"
    assert a.tag == "x" and a.param("expires") == "5"
    assert parse_name_addr(str(a), "To") == a
    b = parse_name_addr("sip:u@h;tag=y", "To")  # addr-spec: ;tag is a header parameter (§20.10)
    assert b.tag == "y" and b.uri == SipUri(user="u", host="h")
    assert isinstance(parse_uri("tel:+4930123"), AbsoluteUri)


@pytest.mark.parametrize(
    ("mutation", "reason"),
    [
        ((b"Content-Length: 0", b"Content-Length: 5"), "Content-Length larger than the body"),
        ((b"Content-Length: 0", b"Content-Length: -1"), "Malformed Content-Length header"),
        (
            (b"CSeq: 314159 SUBSCRIBE", b"CSeq: 314159 NOTIFY"),
            "CSeq method does not match the request method",
        ),
        ((b"CSeq: 314159", b"CSeq: 99999999999"), "CSeq header out of range"),
        ((b"Call-ID: a84b4c76e66710@192.0.2.10\r\n", b""), "Missing Call-ID header"),
        ((b"Via: SIP/2.0/UDP", b"Via: SIP/3.0/UDP"), "Malformed Via header"),
        ((b"Expires: 3600", b"Expires: soon"), "Malformed Expires header"),
        ((b"To: <sip:4001@as.example.com>", b"To: <sip:4001@as.example.com"), "Malformed To header"),
        ((b"SIP/2.0\r\n", b"SIP/2.1\r\n"), "Version Not Supported"),
        ((b"SUBSCRIBE sip", b"SUBSCRIBE  sip"), "Malformed Request-Line"),
        ((b"Expires: 3600\r\n", b"Expires: 3600\r\nExpires: 60\r\n"), "Multiple Expires headers"),
        ((b"Event: as-feature-event", b"Event: ;id=1"), "Malformed Event header"),
        ((b"Max-Forwards: 70", b"Max-Forwards: 256"), "Max-Forwards header out of range"),
        ((b"Max-Forwards: 70\r\n", b"Bad Header: x\r\n"), "Malformed header name"),
        ((b"Max-Forwards: 70\r\n", b"NoColon\r\n"), "Malformed header line"),
    ],
)
def test_malformed_messages_name_the_defect(mutation: tuple[bytes, bytes], reason: str) -> None:
    old, new = mutation
    assert old in SUBSCRIBE
    with pytest.raises(RemoteProtocolError) as info:
        parse_message(SUBSCRIBE.replace(old, new, 1))
    assert info.value.reason == reason
    assert info.value.status == (505 if "Version" in reason else 400)


def test_bounds() -> None:
    many = SUBSCRIBE.replace(b"Expires: 3600\r\n", b"X-Pad: 1\r\n" * 200 + b"Expires: 3600\r\n")
    with pytest.raises(RemoteProtocolError, match="Too many header lines"):
        parse_message(many)
    with pytest.raises(RemoteProtocolError) as info:
        parse_message(SUBSCRIBE + b"x" * 70000)
    assert info.value.status == 513


def test_every_truncated_prefix_is_a_clean_error() -> None:
    for data in (SUBSCRIBE, OK_200, NOTIFY_QUIRKY):
        for cut in range(len(data) - 1):
            with pytest.raises(RemoteProtocolError):
                parse_message(data[:cut])


def test_trailing_junk_is_ignored_when_framed_by_content_length() -> None:
    m = parse_message(SUBSCRIBE + b"INVITE sip:junk SIP/2.0\r\n")
    assert m.to_bytes() == SUBSCRIBE
    # RFC 3261 §7.5: CRLFs before the start line are ignored.
    assert parse_message(b"\r\n\r\n" + SUBSCRIBE).to_bytes() == SUBSCRIBE


def test_no_content_length_takes_the_rest_of_the_datagram() -> None:
    raw = SUBSCRIBE.replace(b"Content-Length: 0\r\n", b"Content-Type: text/plain\r\n") + b"hello"
    m = parse_message(raw)
    assert m.body == b"hello"
    assert m.to_bytes().endswith(b"Content-Length: 5\r\n\r\nhello")


def test_make_response_copies_per_rfc3261_8_2_6_2() -> None:
    req = parse_message(SUBSCRIBE)
    assert isinstance(req, Request)
    resp = make_response(req, 202, to_tag="t1", headers=[("Expires", 600)])
    again = parse_message(resp.to_bytes())
    assert isinstance(again, Response)
    assert again.status == 202 and again.reason == "Accepted"
    assert again.to.tag == "t1" and again.from_.tag == "1928301774"
    assert again.vias == req.vias and again.call_id == req.call_id and again.cseq == req.cseq


def test_error_response_for_unparseable_request() -> None:
    bad = SUBSCRIBE.replace(b"Expires: 3600", b"Expires: soon")
    with pytest.raises(RemoteProtocolError) as info:
        parse_message(bad)
    answer = error_response_bytes(bad, info.value)
    assert answer is not None
    parsed = parse_message(answer)
    assert isinstance(parsed, Response)
    assert (parsed.status, parsed.reason) == (400, "Malformed Expires header")
    assert parsed.call_id == "a84b4c76e66710@192.0.2.10"
    assert error_response_bytes(OK_200, info.value) is None


# --- property tests -------------------------------------------------------------------------------

_token = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-.!%*_+`'~", min_size=1, max_size=12)
_host = st.from_regex(r"[a-z][a-z0-9]{0,8}(\.[a-z][a-z0-9]{0,8}){0,2}", fullmatch=True)
_uri = st.builds(
    lambda user, host, port: SipUri(user=user, host=host, port=port),
    st.none() | st.from_regex(r"[a-z0-9]{1,10}", fullmatch=True),
    _host,
    st.none() | st.integers(1, 65535),
)
_display = st.none() | st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=12)


@st.composite
def messages(draw: st.DrawFn) -> Request | Response:
    headers = Headers()
    branch = "z9hG4bK" + draw(_token)
    headers.add(
        "Via",
        Via(host=draw(_host), port=draw(st.none() | st.integers(1, 65535)), params=(("branch", branch),)),
    )
    headers.add("From", NameAddr(uri=draw(_uri), display=draw(_display), params=(("tag", draw(_token)),)))
    headers.add("To", NameAddr(uri=draw(_uri), display=draw(_display)))
    headers.add("Call-ID", draw(_token) + "@" + draw(_host))
    method = draw(st.sampled_from(["SUBSCRIBE", "NOTIFY", "REGISTER", "INVITE", "X-" + draw(_token)]))
    headers.add("CSeq", CSeq(seq=draw(st.integers(0, 2**32 - 1)), method=method))
    if draw(st.booleans()):
        headers.add("Expires", draw(st.integers(0, 2**32 - 1)))
    if draw(st.booleans()):
        headers.add(
            "Subscription-State", SubscriptionState(state="active", expires=draw(st.integers(0, 9999)))
        )
    for _ in range(draw(st.integers(0, 3))):
        headers.add("X-" + draw(_token), draw(st.text(alphabet='abc xyz;=,<>"', max_size=10)).strip())
    body = draw(st.binary(max_size=40))
    if body:
        headers.add("Content-Type", "application/octet-stream")
    if draw(st.booleans()):
        return Request(method=method, uri=draw(_uri), headers=headers, body=body)
    return Response(status=draw(st.integers(100, 699)), reason=draw(_token), headers=headers, body=body)


@settings(max_examples=150, deadline=None)
@given(messages())
def test_round_trip(message: Request | Response) -> None:
    data = message.to_bytes()
    parsed = parse_message(data)
    assert parsed.to_bytes() == data
    assert type(parsed) is type(message)
    assert parsed.body == message.body
    assert parsed.vias == parse_message(data).vias
    assert parsed.from_ == parse_name_addr(message.headers.get("From") or "", "From")


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_protocol_errors(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        parse_message(data)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 8))
def test_mutated_messages_raise_only_protocol_errors(seed: int, flips: int) -> None:
    rng = random.Random(seed)
    for original in (SUBSCRIBE, OK_200, NOTIFY_QUIRKY):
        data = bytearray(original)
        for _ in range(flips):
            data[rng.randrange(len(data))] = rng.randrange(256)
        try:
            m = parse_message(bytes(data))
        except ProtocolError:
            continue
        m.to_bytes()  # whatever parses also serializes
