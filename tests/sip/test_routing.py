"""Where requests go (RFC 3261 §8.1.2, §16.12, §18.1.1): the outbound proxy as a preloaded loose
Route, the transport in Via and Contact, the dialog's route set, and the world's stateless proxy."""

from __future__ import annotations

import pytest

from sip.core import NextHop
from sip.events import SendDatagram, SubscriptionActivated
from sip.ids import SequentialIds
from sip.message import Request, Response, make_response, parse_message
from sip.proxy import ProxyConfig, StatelessProxy
from sip.registration import RegistrationClient, RegistrationConfig
from sip.subscriber import Subscriber, SubscriberConfig
from sip.uri import SipUri

BASE = ("192.0.2.10", 5060)
SERVER = ("198.51.100.1", 5060)
PROXY = ("198.51.100.2", 5070)


def _aor() -> SipUri:
    return SipUri(user="4001", host="as.example.com")


def _sent(outputs: list) -> SendDatagram:
    sends = [o for o in outputs if isinstance(o, SendDatagram)]
    assert len(sends) == 1
    return sends[0]


def _register(next_hop: NextHop) -> tuple[SendDatagram, Request]:
    client = RegistrationClient(RegistrationConfig(aor=_aor(), registrar=SERVER, local=BASE, next_hop=next_hop),
                                ids=SequentialIds("r"))
    sent = _sent(client.start(0.0))
    request = parse_message(sent.data)
    assert isinstance(request, Request)
    return sent, request


def test_without_outbound_proxy_register_goes_to_the_registrar_over_udp_with_no_route() -> None:
    sent, request = _register(NextHop())
    assert sent.destination == SERVER and sent.transport == "UDP"
    assert request.headers.get("Route") is None
    assert request.top_via.transport == "UDP"
    assert str(request.contacts[0].uri) == "sip:4001@192.0.2.10:5060"


@pytest.mark.parametrize(("transport", "route", "contact"), [
    ("UDP", "<sip:198.51.100.2:5070;lr>", "sip:4001@192.0.2.10:5060"),
    ("TCP", "<sip:198.51.100.2:5070;transport=tcp;lr>", "sip:4001@192.0.2.10:5060;transport=tcp"),
    ("TLS", "<sip:198.51.100.2:5070;transport=tls;lr>", "sips:4001@192.0.2.10:5060"),
])
def test_outbound_proxy_gets_the_register_with_its_loose_route_on_top(transport: str, route: str,
                                                                       contact: str) -> None:
    sent, request = _register(NextHop(transport=transport, outbound_proxy=PROXY))
    assert sent.destination == PROXY and sent.transport == transport
    assert request.headers.get_all("Route") == [route]
    assert str(request.uri) == "sip:as.example.com"          # the Request-URI stays the registrar's
    assert request.top_via.transport == transport             # §18.1.1
    assert str(request.contacts[0].uri) == contact            # §19.1.1 transport=, §26.2.2 sips:


def test_an_unknown_transport_is_refused() -> None:
    with pytest.raises(ValueError, match="SCTP"):
        NextHop(transport="SCTP")


def _subscriber(next_hop: NextHop) -> Subscriber:
    return Subscriber(SubscriberConfig(aor=_aor(), server=SERVER, local=BASE, next_hop=next_hop),
                      ids=SequentialIds("s"))


def _accept(sub: Subscriber, request: Request, record_route: str | None) -> None:
    headers = [("Contact", "<sip:as@198.51.100.1:5060>"), ("Expires", 3600)]
    if record_route is not None:
        headers.append(("Record-Route", record_route))
    response = make_response(request, 200, to_tag="as1", headers=headers)
    events = sub.receive(0.1, response.to_bytes(), PROXY)
    assert any(isinstance(e, SubscriptionActivated) for e in events)


def test_a_proxy_that_record_routed_itself_is_not_named_twice_in_the_dialog() -> None:
    sub = _subscriber(NextHop(outbound_proxy=PROXY))
    first = parse_message(_sent(sub.start(0.0)).data)
    assert isinstance(first, Request)
    assert first.headers.get_all("Route") == ["<sip:198.51.100.2:5070;lr>"]
    _accept(sub, first, "<sip:198.51.100.2:5070;lr>")
    sent = _sent(sub.stop(1.0))
    unsubscribe = parse_message(sent.data)
    assert isinstance(unsubscribe, Request)
    assert unsubscribe.headers.values("Route") == ["<sip:198.51.100.2:5070;lr>"]
    assert str(unsubscribe.uri) == "sip:as@198.51.100.1:5060"   # the remote target (§12.2.1.1)
    assert sent.destination == PROXY


def test_the_outbound_proxy_goes_on_top_of_a_route_set_that_starts_elsewhere() -> None:
    sub = _subscriber(NextHop(outbound_proxy=PROXY))
    first = parse_message(_sent(sub.start(0.0)).data)
    assert isinstance(first, Request)
    _accept(sub, first, "<sip:203.0.113.9;lr>")
    unsubscribe = parse_message(_sent(sub.stop(1.0)).data)
    assert isinstance(unsubscribe, Request)
    assert unsubscribe.headers.values("Route") == ["<sip:198.51.100.2:5070;lr>", "<sip:203.0.113.9;lr>"]


def test_without_outbound_proxy_an_in_dialog_request_goes_to_the_first_loose_route() -> None:
    sub = _subscriber(NextHop())
    first = parse_message(_sent(sub.start(0.0)).data)
    assert isinstance(first, Request)
    _accept(sub, first, "<sip:203.0.113.9:5080;lr>")
    sent = _sent(sub.stop(1.0))
    assert sent.destination == ("203.0.113.9", 5080)


def test_a_route_by_name_leaves_the_configured_server_as_next_hop() -> None:
    # No DNS in a sans-I/O core (RFC 3263 would resolve the name): the configured server it is.
    sub = _subscriber(NextHop())
    first = parse_message(_sent(sub.start(0.0)).data)
    assert isinstance(first, Request)
    _accept(sub, first, "<sip:proxy.example.com;lr>")
    assert _sent(sub.stop(1.0)).destination == SERVER


# --- the simulated world's stateless proxy ----------------------------------------------------------


def _proxy() -> StatelessProxy:
    return StatelessProxy(ProxyConfig(local=PROXY, upstream=SERVER))


def test_proxy_removes_its_route_adds_its_via_and_record_route_and_forwards_upstream() -> None:
    sub = _subscriber(NextHop(outbound_proxy=PROXY))
    subscribe = _sent(sub.start(0.0))
    out = _proxy().receive(0.0, subscribe.data, BASE)
    assert len(out) == 1 and out[0].destination == SERVER
    forwarded = parse_message(out[0].data)
    assert isinstance(forwarded, Request)
    assert forwarded.headers.get("Route") is None
    assert forwarded.headers.get("Max-Forwards") == "69"
    assert forwarded.record_routes and str(forwarded.record_routes[0]) == "<sip:198.51.100.2:5070;lr>"
    vias = forwarded.vias
    assert len(vias) == 2 and vias[0].host == "198.51.100.2" and vias[0].branch.startswith("z9hG4bK")
    again = _proxy().receive(0.0, subscribe.data, BASE)
    assert again[0].data == out[0].data   # §16.11: a retransmission is forwarded with the same branch


def test_proxy_sends_the_response_back_along_the_vias() -> None:
    proxy = _proxy()
    sub = _subscriber(NextHop(outbound_proxy=PROXY))
    forwarded = parse_message(proxy.receive(0.0, _sent(sub.start(0.0)).data, BASE)[0].data)
    assert isinstance(forwarded, Request)
    response = make_response(forwarded, 401, to_tag="t")
    back = proxy.receive(0.1, response.to_bytes(), SERVER)
    assert len(back) == 1 and back[0].destination == BASE
    answer = parse_message(back[0].data)
    assert isinstance(answer, Response) and len(answer.vias) == 1 and answer.vias[0].host == "192.0.2.10"


def test_proxy_answers_483_when_max_forwards_is_exhausted() -> None:
    sub = _subscriber(NextHop(outbound_proxy=PROXY))
    data = _sent(sub.start(0.0)).data.replace(b"Max-Forwards: 70", b"Max-Forwards: 0")
    out = _proxy().receive(0.0, data, BASE)
    assert len(out) == 1 and out[0].destination == BASE and out[0].data.startswith(b"SIP/2.0 483 ")


def test_proxy_drops_a_response_that_is_not_for_it() -> None:
    sub = _subscriber(NextHop())
    request = parse_message(_sent(sub.start(0.0)).data)
    assert isinstance(request, Request)
    assert _proxy().receive(0.0, make_response(request, 200, to_tag="x").to_bytes(), SERVER) == []


@pytest.mark.parametrize(("contact", "transport", "port"), [
    ("sip:4001@192.0.2.10:5062;transport=tcp", "TCP", 5062),
    ("sips:4001@192.0.2.10", "TLS", 5061),
    ("sip:4001@192.0.2.10", "UDP", 5060),
])
def test_proxy_reaches_a_contact_over_the_transport_its_uri_names(contact: str, transport: str, port: int) -> None:
    notify = (f"NOTIFY {contact} SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bKn1\r\n"
              "Route: <sip:198.51.100.2:5070;lr>\r\nFrom: <sip:4001@as.example.com>;tag=a\r\n"
              "To: <sip:4001@as.example.com>;tag=b\r\nCall-ID: c\r\nCSeq: 1 NOTIFY\r\nMax-Forwards: 70\r\n"
              "Event: as-feature-event\r\nSubscription-State: active\r\nContent-Length: 0\r\n\r\n").encode()
    out = _proxy().receive(0.0, notify, SERVER)
    assert len(out) == 1 and out[0].destination == ("192.0.2.10", port) and out[0].transport == transport
    forwarded = parse_message(out[0].data)
    assert isinstance(forwarded, Request) and forwarded.top_via.transport == transport
    assert forwarded.headers.get("Route") is None
