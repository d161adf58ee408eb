"""RFC 3261 §17 transactions on a fake clock: retransmission schedule, timeouts, absorption."""

from __future__ import annotations

import pytest

from sip.errors import LocalProtocolError
from sip.events import RequestReceived, ResponseReceived, SendDatagram, TransactionTimedOut
from sip.headers import CSeq, Via
from sip.ids import SequentialIds
from sip.message import Headers, Request, make_response, parse_message
from sip.transaction import INVITE_CLIENT, NON_INVITE_CLIENT, NON_INVITE_SERVER, State, TransactionLayer
from sip.uri import NameAddr, SipUri

DEST = ("192.0.2.1", 5060)


def _request(layer: TransactionLayer, method: str = "SUBSCRIBE") -> Request:
    headers = Headers([
        ("Via", Via(host="192.0.2.2", port=5060, params=(("branch", layer.new_branch()),))),
        ("From", NameAddr(uri=SipUri(user="a", host="h")).with_tag("f1")),
        ("To", NameAddr(uri=SipUri(user="*72", host="h"))),
        ("Call-ID", "c1"), ("CSeq", CSeq(seq=1, method=method)), ("Max-Forwards", 70),
    ])  # fmt: skip
    return Request(method=method, uri=SipUri(user="*72", host="h"), headers=headers)


def _drive(layer: TransactionLayer, until: float) -> list[tuple[float, object]]:
    seen: list[tuple[float, object]] = []
    while (d := layer.next_deadline()) is not None and d <= until:
        seen.extend((d, o) for o in layer.handle_timer(d))
    return seen


def test_non_invite_retransmits_500ms_doubling_to_4s_and_times_out_at_32s() -> None:
    layer = TransactionLayer(branch_source=SequentialIds("t"))
    out = layer.send(_request(layer), DEST, 0.0)
    assert isinstance(out[0], SendDatagram)
    seen = _drive(layer, 100.0)
    sends = [t for t, o in seen if isinstance(o, SendDatagram)]
    assert sends[:7] == [0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5]
    gaps = [b - a for a, b in zip([0.0, *sends], sends, strict=False)]
    assert gaps[:5] == [0.5, 1.0, 2.0, 4.0, 4.0] and max(gaps) == 4.0
    timeouts = [t for t, o in seen if isinstance(o, TransactionTimedOut)]
    assert timeouts == [32.0]
    assert all(t < 32.0 for t in sends)
    assert layer.next_deadline() is None and not layer.clients


def test_provisional_moves_to_t2_and_final_is_delivered_once_then_timer_k() -> None:
    layer = TransactionLayer(branch_source=SequentialIds("t"))
    request = _request(layer)
    layer.send(request, DEST, 0.0)
    trying = make_response(request, 100)
    assert isinstance(layer.receive_response(trying, 0.2)[0], ResponseReceived)
    seen = _drive(layer, 10.0)
    assert [t for t, o in seen if isinstance(o, SendDatagram)] == [0.5, 4.5, 8.5]
    final = make_response(request, 200, to_tag="x")
    assert len(layer.receive_response(final, 10.0)) == 1
    assert layer.receive_response(final, 10.1) == []  # retransmission absorbed
    assert layer.next_deadline() == 15.0  # Timer K = T4
    layer.handle_timer(15.0)
    assert not layer.clients


def test_invite_client_timer_a_unbounded_b_and_ack_for_non_2xx() -> None:
    layer = TransactionLayer(branch_source=SequentialIds("t"))
    request = _request(layer, "INVITE")
    layer.send(request, DEST, 0.0)
    seen = _drive(layer, 100.0)
    sends = [t for t, o in seen if isinstance(o, SendDatagram)]
    assert sends == [0.5, 1.5, 3.5, 7.5, 15.5, 31.5]  # Timer A doubles without a cap
    assert [t for t, o in seen if isinstance(o, TransactionTimedOut)] == [32.0]

    layer = TransactionLayer(branch_source=SequentialIds("u"))
    request = _request(layer, "INVITE")
    layer.send(request, DEST, 0.0)
    busy = make_response(request, 484, to_tag="t9")
    out = layer.receive_response(busy, 0.1)
    assert isinstance(out[1], ResponseReceived)
    ack = parse_message(out[0].data)  # type: ignore[union-attr]
    assert ack.cseq == CSeq(seq=1, method="ACK") and ack.to.tag == "t9"
    assert ack.top_via.branch == request.top_via.branch  # §17.1.1.3: same branch as the INVITE
    again = layer.receive_response(busy, 0.3)
    assert len(again) == 1 and isinstance(again[0], SendDatagram)  # ACK re-sent, not delivered twice
    assert layer.next_deadline() == pytest.approx(32.1)  # Timer D


def test_server_absorbs_retransmissions_and_replays_the_final() -> None:
    layer = TransactionLayer(branch_source=SequentialIds("s"))
    client = TransactionLayer(branch_source=SequentialIds("c"))
    request = _request(client)
    first = layer.receive_request(request, DEST)
    assert isinstance(first[0], RequestReceived)
    assert layer.receive_request(request, DEST) == []  # Trying: absorbed
    sent = layer.respond(request, make_response(request, 200, to_tag="z"), 1.0)
    replay = layer.receive_request(request, DEST)
    assert replay == sent
    with pytest.raises(LocalProtocolError):
        layer.respond(request, make_response(request, 200, to_tag="z"), 1.0)
    assert layer.next_deadline() == 33.0  # Timer J = 64*T1
    layer.handle_timer(33.0)
    assert not layer.servers
    assert isinstance(layer.receive_request(request, DEST)[0], RequestReceived)  # a new transaction now


def test_unmatched_response_is_dropped_and_branch_is_required() -> None:
    layer = TransactionLayer(branch_source=SequentialIds("t"))
    request = _request(layer)
    assert layer.receive_response(make_response(request, 200), 0.0) == []
    request.headers.set("Via", Via(host="h", params=(("branch", "old-style"),)))
    with pytest.raises(LocalProtocolError):
        layer.send(request, DEST, 0.0)


def test_tables_are_complete_for_the_rfc_states() -> None:
    assert {s for s, _ in NON_INVITE_CLIENT} == {State.TRYING, State.PROCEEDING, State.COMPLETED}
    assert {s for s, _ in INVITE_CLIENT} == {State.CALLING, State.PROCEEDING, State.COMPLETED, State.ACCEPTED}
    assert {s for s, _ in NON_INVITE_SERVER} == {State.TRYING, State.PROCEEDING, State.COMPLETED}


def test_received_and_rport_are_stamped_on_the_top_via() -> None:
    layer = TransactionLayer(branch_source=SequentialIds("s"))
    client = TransactionLayer(branch_source=SequentialIds("c"))
    request = _request(client)
    request.headers.set(
        "Via",
        "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKnat;rport, SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp",
    )
    layer.receive_request(request, ("203.0.113.7", 40000))
    response = parse_message(layer.respond(request, make_response(request, 200, to_tag="t"), 0.0)[0].data)  # type: ignore[union-attr]
    top, second = response.vias
    assert top.received == "203.0.113.7" and top.rport == "40000"  # RFC 3581 §4
    assert second.host == "proxy.example.com" and second.received is None
    plain = _request(client)
    layer.receive_request(plain, ("192.0.2.2", 5060))  # same host as sent-by, no rport: untouched
    assert plain.top_via.received is None


def _ack_for(invite: Request, to_tag: str, branch: str) -> Request:
    headers = Headers([
        ("Via", Via(host="192.0.2.2", port=5060, params=(("branch", branch),))),
        ("From", invite.headers.get("From")), ("To", f"<sip:*72@h>;tag={to_tag}"), ("Call-ID", invite.call_id),
        ("CSeq", CSeq(seq=invite.cseq.seq, method="ACK")), ("Max-Forwards", 70),
    ])  # fmt: skip
    return Request(method="ACK", uri=invite.uri, headers=headers)


def test_invite_server_2xx_repeats_until_the_ack_then_confirmed_absorbs_the_rest_of_timer_l() -> None:
    layer = TransactionLayer(branch_source=SequentialIds("t"))
    invite = _request(layer, "INVITE")
    src = ("192.0.2.2", 5060)
    assert isinstance(layer.receive_request(invite, src, 0.0)[0], RequestReceived)
    ok = make_response(invite, 200, to_tag="as1")
    (sent,) = layer.respond(invite, ok, 0.0)
    assert [t for t, _ in _drive(layer, 2.0)] == [0.5, 1.5]  # the 2xx repeats at T1, 2*T1 ...
    (again,) = layer.receive_request(invite, src, 2.0)  # an INVITE repeat before the ACK: the 2xx again
    assert isinstance(again, SendDatagram) and isinstance(sent, SendDatagram) and again.data == sent.data
    (ack,) = layer.receive_request(_ack_for(invite, "as1", "z9hG4bK-ack1"), src, 2.1)
    assert isinstance(ack, RequestReceived) and ack.request.method == "ACK"  # the first ACK goes up
    assert layer.receive_request(_ack_for(invite, "as1", "z9hG4bK-ack2"), src, 2.2) == []
    assert layer.receive_request(invite, src, 2.3) == []  # Confirmed: INVITE repeats absorbed
    assert layer.next_deadline() == 32.0 and _drive(layer, 40.0) == []  # the rest of Timer L, quietly
    assert not layer.servers and not layer.accepted


def test_invite_server_timer_l_without_ack_is_reported() -> None:
    layer = TransactionLayer(branch_source=SequentialIds("t"))
    invite = _request(layer, "INVITE")
    layer.receive_request(invite, ("192.0.2.2", 5060), 0.0)
    layer.respond(invite, make_response(invite, 200, to_tag="as1"), 0.0)
    seen = _drive(layer, 40.0)
    timeouts = [(t, o) for t, o in seen if isinstance(o, TransactionTimedOut)]
    assert [t for t, _ in timeouts] == [32.0]  # RFC 3261 §13.3.1.4: the TU may now send a BYE
    assert all(t < 32.0 for t, o in seen if isinstance(o, SendDatagram)) and not layer.servers


def test_invite_client_passes_up_every_2xx_for_timer_m() -> None:
    # RFC 3261 §13.2.2.4 / RFC 6026 §8.4: the TU must see (and ACK) each 2xx, not only the first.
    layer = TransactionLayer(branch_source=SequentialIds("t"))
    invite = _request(layer, "INVITE")
    layer.send(invite, DEST, 0.0)
    ok = make_response(invite, 200, to_tag="as1")
    for when in (0.1, 0.6, 1.6):
        (event,) = layer.receive_response(ok, when)
        assert isinstance(event, ResponseReceived) and event.response.status == 200
    assert layer.owns_response(ok)  # a driver that dispatches by owns() still finds the caller
    assert layer.receive_response(make_response(invite, 100), 2.0) == []
    assert _drive(layer, 40.0) == [] and not layer.clients  # Timer M = 64*T1 after the first 2xx
    assert layer.receive_response(ok, 40.0) == []


def test_deadline_heap_agrees_with_a_scan_of_every_transaction() -> None:
    # The layer keeps deadlines in a heap (O(log n)); check it against the plain definition.
    import random

    rng = random.Random(7)
    layer = TransactionLayer(branch_source=SequentialIds("h"))
    live: list[Request] = []
    now = 0.0
    for _ in range(400):
        now += rng.uniform(0.0, 0.3)
        roll = rng.random()
        if roll < 0.5:
            request = _request(layer, rng.choice(["SUBSCRIBE", "NOTIFY", "INVITE"]))
            layer.send(request, DEST, now)
            live.append(request)
        elif roll < 0.8 and live:
            request = live.pop(rng.randrange(len(live)))
            status = rng.choice([100, 200, 404])
            layer.receive_response(make_response(request, status, to_tag="x"), now)
        else:
            due = layer.next_deadline()
            if due is not None:
                now = max(now, due)
                layer.handle_timer(now)
        scan = [d for t in [*layer.clients.values(), *layer.servers.values()] if (d := t.next_deadline()) is not None]
        assert layer.next_deadline() == (min(scan) if scan else None)


def test_a_completed_server_transaction_keeps_bytes_not_the_parsed_request() -> None:
    """After the final response only the key and the response bytes are needed (§17.2.2): a busy
    server must not hold every parsed request for Timer J's 32 s."""
    layer = TransactionLayer(branch_source=SequentialIds("s"))
    request = _request(TransactionLayer(branch_source=SequentialIds("c")))
    layer.receive_request(request, DEST)
    (txn,) = layer.servers.values()
    assert txn.request is request
    sent = layer.respond(request, make_response(request, 200, to_tag="z"), 1.0)
    assert txn.request is None
    assert layer.receive_request(request, DEST) == sent  # a retransmission still gets the final again
