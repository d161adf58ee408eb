"""Transactions over reliable transports (RFC 3261 §17 with §18): no retransmission timers, the
timeouts still run, the wait states are zero, and every message names the transport of its Via."""

from __future__ import annotations

import pytest

from sip.events import RequestReceived, ResponseReceived, SendDatagram, TransactionTimedOut, is_reliable
from sip.headers import CSeq, Via
from sip.ids import SequentialIds
from sip.message import Headers, Request, make_response
from sip.transaction import TransactionLayer
from sip.uri import NameAddr, SipUri

DEST = ("192.0.2.1", 5060)
PEER = ("192.0.2.2", 40123)


def _request(branch: str, method: str = "SUBSCRIBE", transport: str = "TCP") -> Request:
    headers = Headers([
        ("Via", Via(transport=transport, host="192.0.2.2", port=5060, params=(("branch", branch),))),
        ("From", NameAddr(uri=SipUri(user="a", host="h")).with_tag("f1")),
        ("To", NameAddr(uri=SipUri(user="b", host="h"))),
        ("Call-ID", "c1"), ("CSeq", CSeq(seq=1, method=method)), ("Max-Forwards", 70),
    ])  # fmt: skip
    return Request(method=method, uri=SipUri(user="b", host="h"), headers=headers)


def _drive(layer: TransactionLayer, until: float) -> list[tuple[float, object]]:
    seen: list[tuple[float, object]] = []
    while (d := layer.next_deadline()) is not None and d <= until:
        seen.extend((d, o) for o in layer.handle_timer(d))
    return seen


def test_reliable_is_tcp_and_tls_only() -> None:
    assert not is_reliable("UDP") and is_reliable("TCP") and is_reliable("TLS")


@pytest.mark.parametrize("transport", ["TCP", "TLS"])
@pytest.mark.parametrize("method", ["SUBSCRIBE", "INVITE"])
def test_client_sends_once_over_a_reliable_transport_and_times_out_at_64_t1(method: str, transport: str) -> None:
    # §17.1.1.2 / §17.1.2.2: Timer A/E only "if an unreliable transport is in use"; Timer B/F = 64*T1.
    layer = TransactionLayer(branch_source=SequentialIds("t"))
    out = layer.send(_request(layer.new_branch(), method, transport), DEST, 0.0)
    assert out == [SendDatagram(data=out[0].data, destination=DEST, transport=transport)]   # type: ignore[union-attr]
    seen = _drive(layer, 100.0)
    assert [t for t, o in seen if isinstance(o, SendDatagram)] == []
    assert [t for t, o in seen if isinstance(o, TransactionTimedOut)] == [32.0]
    assert not layer.clients


def test_udp_still_retransmits() -> None:
    layer = TransactionLayer(branch_source=SequentialIds("t"))
    layer.send(_request(layer.new_branch(), transport="UDP"), DEST, 0.0)
    sends = [t for t, o in _drive(layer, 2.0) if isinstance(o, SendDatagram)]
    assert sends == [0.5, 1.5]


def test_timer_k_is_zero_over_tcp() -> None:
    # §17.1.2.2: Timer K is T4 for unreliable transports and zero for reliable ones.
    layer = TransactionLayer(branch_source=SequentialIds("t"))
    request = _request(layer.new_branch())
    layer.send(request, DEST, 0.0)
    outputs = layer.receive_response(make_response(request, 200, to_tag="x"), 1.0)
    assert [type(o) for o in outputs] == [ResponseReceived]
    assert layer.next_deadline() == 1.0
    assert layer.handle_timer(1.0) == [] and not layer.clients


def test_invite_error_is_acked_on_the_same_transport_and_timer_d_is_zero() -> None:
    layer = TransactionLayer(branch_source=SequentialIds("t"))
    request = _request(layer.new_branch(), "INVITE", "TLS")
    layer.send(request, DEST, 0.0)
    outputs = layer.receive_response(make_response(request, 486, to_tag="x"), 0.3)
    ack = next(o for o in outputs if isinstance(o, SendDatagram))
    assert ack.transport == "TLS" and ack.data.startswith(b"ACK ")
    assert layer.next_deadline() == 0.3   # Timer D: zero for reliable transports (§17.1.1.2)
    layer.handle_timer(0.3)
    assert not layer.clients


def test_server_answers_over_the_transport_the_request_came_on_and_timer_j_is_zero() -> None:
    # §18.2.2: the response goes back over the connection of the request; §17.2.2: Timer J zero.
    layer = TransactionLayer(branch_source=SequentialIds("s"))
    request = _request("z9hG4bKin1", "NOTIFY", "TCP")
    assert isinstance(layer.receive_request(request, PEER, 0.0)[0], RequestReceived)
    sent = layer.respond(request, make_response(request, 200, to_tag="y"), 0.1)
    assert sent == [SendDatagram(data=sent[0].data, destination=PEER, transport="TCP")]   # type: ignore[union-attr]
    assert layer.next_deadline() == 0.1
    layer.handle_timer(0.1)
    assert not layer.servers


def test_invite_server_final_error_is_not_retransmitted_over_tcp_but_timer_h_runs() -> None:
    # §17.2.1: Timer G only for unreliable transports; Timer H = 64*T1 in any case; Timer I zero.
    layer = TransactionLayer(branch_source=SequentialIds("s"))
    request = _request("z9hG4bKinv", "INVITE", "TCP")
    layer.receive_request(request, PEER, 0.0)
    layer.respond(request, make_response(request, 486, to_tag="y"), 0.0)
    seen = _drive(layer, 100.0)
    assert [t for t, o in seen if isinstance(o, SendDatagram)] == []
    assert [t for t, o in seen if isinstance(o, TransactionTimedOut)] == [32.0]


def test_invite_server_2xx_is_still_retransmitted_over_tcp_until_the_ack() -> None:
    # §13.3.1.4: the UAS core retransmits a 2xx end to end whatever the transport of the first hop.
    layer = TransactionLayer(branch_source=SequentialIds("s"))
    request = _request("z9hG4bKinv2", "INVITE", "TCP")
    layer.receive_request(request, PEER, 0.0)
    layer.respond(request, make_response(request, 200, to_tag="y"), 0.0)
    sends = [(t, o.transport) for t, o in _drive(layer, 2.0) if isinstance(o, SendDatagram)]
    assert sends == [(0.5, "TCP"), (1.5, "TCP")]
