"""Issue 11, finding 3: a NOTIFY (or BYE) is believed only from the account's peer, and the ids a
forger would need cannot be guessed from the ones it has seen."""

from __future__ import annotations

import re

from sip.core import route_peer, same_address
from sip.events import FeatureStateReceived, ForeignRequestRefused, SendDatagram
from sip.fac import FeatureCodeCaller, FeatureCodeConfig
from sip.ids import ID_BYTES, SequentialIds, random_seed
from sip.message import Request, Response, parse_message
from sip.notifier import Notifier, NotifierConfig
from sip.pair import FeatureServer, Wire
from sip.subscriber import Subscriber, SubscriberConfig, SubState
from sip.uri import SipUri

BASE = ("192.0.2.10", 5060)
AS = ("192.0.2.1", 5060)
ATTACKER = ("192.0.2.66", 5060)
AOR = SipUri(user="4001", host="as.example.com")


def world() -> tuple[Wire, Subscriber]:
    subscriber = Subscriber(SubscriberConfig(aor=AOR, server=AS, local=BASE), ids=SequentialIds("base"))
    notifier = Notifier(NotifierConfig(local=AS, domain="as.example.com"), ids=SequentialIds("as"))
    wire = Wire({BASE: subscriber, AS: notifier},  # type: ignore[dict-item]
                apps={AS: FeatureServer(notifier, device="4001")})
    wire.feed(BASE, subscriber.start(wire.now))
    wire.settle()
    wire.take(BASE)
    return wire, subscriber


def last_notify(wire: Wire) -> Request:
    notifies = [m for _, _, _, d in wire.log if isinstance(m := parse_message(d), Request) and m.method == "NOTIFY"]
    return notifies[-1]


def _forged(notify: Request, cseq: int) -> bytes:
    """The server's own NOTIFY, replayed with a later CSeq: everything a forger could wish for."""
    data = re.sub(rb"CSeq: *\d+ NOTIFY", b"CSeq: %d NOTIFY" % cseq, notify.to_bytes())
    return re.sub(rb"branch=z9hG4bK[^;\r]*", b"branch=z9hG4bKforged%d" % cseq, data)  # a new transaction


def test_notify_from_a_stranger_is_refused_403_and_changes_nothing() -> None:
    wire, sub = world()
    notify = last_notify(wire)
    before = (sub.remote_cseq, sub.state)
    out = sub.receive(wire.now, _forged(notify, 50), ATTACKER)
    refused = [o for o in out if isinstance(o, ForeignRequestRefused)]
    assert refused == [ForeignRequestRefused(method="NOTIFY", call_id=sub.call_id, source=ATTACKER)]
    assert not [o for o in out if isinstance(o, FeatureStateReceived)]
    answers = [parse_message(o.data) for o in out if isinstance(o, SendDatagram)]
    assert [(a.status, o.destination) for a, o in zip(answers, [o for o in out if isinstance(o, SendDatagram)],
                                                       strict=True) if isinstance(a, Response)] == [(403, ATTACKER)]
    assert (sub.remote_cseq, sub.state) == before and sub.state is SubState.ACTIVE


def test_the_same_notify_from_the_server_is_applied() -> None:
    wire, sub = world()
    notify = last_notify(wire)
    out = sub.receive(wire.now, _forged(notify, 50), AS)
    assert [o for o in out if isinstance(o, FeatureStateReceived)]
    assert not [o for o in out if isinstance(o, ForeignRequestRefused)]
    assert sub.remote_cseq == 50


def test_the_route_sets_next_hop_is_a_peer_too() -> None:
    wire, sub = world()
    sub.route_set = ["<sip:198.51.100.7:5080;lr>"]
    assert any(same_address(p, ("198.51.100.7", 5080)) for p in sub.trusted_peers())
    notify = last_notify(wire)
    out = sub.receive(wire.now, _forged(notify, 60), ("198.51.100.7", 5080))
    assert not [o for o in out if isinstance(o, ForeignRequestRefused)]


def test_a_forged_ack_is_dropped_without_an_answer() -> None:
    wire, sub = world()
    ack = (b"ACK sip:4001@192.0.2.10 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.66;branch=z9hG4bKx\r\n"
           b"From: <sip:x@y>;tag=1\r\nTo: <sip:4001@as.example.com>;tag=2\r\nCall-ID: " + sub.call_id.encode()
           + b"\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
    out = sub.receive(wire.now, ack, ATTACKER)
    assert [type(o) for o in out] == [ForeignRequestRefused]


def test_a_bye_from_a_stranger_does_not_end_a_feature_code_call() -> None:
    config = FeatureCodeConfig(aor=SipUri(user="4001", host="as.example.com"), server=AS, local=BASE)
    caller = FeatureCodeCaller(config, ids=SequentialIds("fac"))
    caller.dial(0.0, "*78")
    call_id = next(iter(caller.calls))
    bye = (b"BYE sip:4001@192.0.2.10 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.66;branch=z9hG4bKy\r\n"
           b"From: <sip:*78@as.example.com>;tag=9\r\nTo: <sip:4001@as.example.com>;tag="
           + caller.calls[call_id].local_tag.encode() + b"\r\nCall-ID: " + call_id.encode()
           + b"\r\nCSeq: 5 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
    out = caller.receive(1.0, bye, ATTACKER)
    assert any(isinstance(o, ForeignRequestRefused) for o in out)
    answer = parse_message(next(o for o in out if isinstance(o, SendDatagram)).data)
    assert isinstance(answer, Response) and answer.status == 403


def test_addresses_compare_as_addresses() -> None:
    assert same_address(("::1", 5060), ("0:0::1", 5060))
    assert same_address(("AS.example.com", 5060), ("as.example.com", 5060))
    assert not same_address(("192.0.2.1", 5060), ("192.0.2.1", 5061))
    assert route_peer("<sip:[2001:db8::1];lr>") == ("2001:db8::1", 5060)
    assert route_peer("<sips:192.0.2.9;lr>") == ("192.0.2.9", 5061)
    assert route_peer("<sip:proxy.example.com;lr>") is None   # names are the driver's to resolve
    assert route_peer("not a route") is None


def test_ids_carry_64_bits_and_share_no_prefix() -> None:
    ids = SequentialIds("base-1")
    made = [ids() for _ in range(1000)]
    assert all(len(i) == ID_BYTES * 2 and int(i, 16) >= 0 for i in made)
    assert len(set(made)) == len(made)
    # No fixed prefix a 481 could reveal: the first four hex digits spread over many values.
    assert len({i[:4] for i in made}) > 900
    # Deterministic for a seed (simulated runs stay byte-identical), different across seeds.
    assert SequentialIds("base-1")() == made[0] and SequentialIds("base-2")() != made[0]
    assert random_seed() != random_seed() and len(random_seed()) == 32
