"""Issue 12 §1 on the embedded server: the notifier drops a subscription whose NOTIFY fails (RFC 6665
§4.2.2), and the per-user knobs a scenario sets: assigned services, extra parts, extra elements."""

from __future__ import annotations

from sip.events import FeatureCodeAnswered, FeatureStateReceived, NotifyPartIgnored, SetRequestAnswered
from sip.feature_event import DoNotDisturbEvent, ForwardingType, SetForwarding
from sip.message import Request, make_response, parse_message
from sip.multipart import parse_multipart
from sip.server import User
from sip.server.users import preset_part
from sip.state import Feature
from sip.subscriber import SubState

AS = ("192.0.2.1", 5060)
BASE = ("192.0.2.10", 5060)
PHONE = ("192.0.2.30", 5060)


def subscribed(world, address=BASE, user="2001"):  # type: ignore[no-untyped-def]
    sub = world.subscriber(address, user)
    world.go(address, sub.start(world.now))
    return sub


def test_a_400_to_a_notify_costs_the_subscription(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(authenticate=frozenset())
    subscribed(world)
    (subscription,) = world.server.subscriptions("2001")
    notify = world.server.portal_change(world.now, "2001", dnd=True)
    (datagram,) = notify
    sent = parse_message(datagram.data)  # type: ignore[attr-defined]
    assert isinstance(sent, Request) and sent.method == "NOTIFY"
    answer = make_response(sent, 400, "Unknown element", to_tag=sent.to.tag).to_bytes()
    world.server.receive(world.now, answer, BASE)
    assert world.server.subscriptions("2001") == []   # RFC 6665 §4.2.2: removed
    assert subscription.phase.value == "ended"


def test_a_failure_with_retry_after_keeps_the_subscription(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(authenticate=frozenset())
    subscribed(world)
    (datagram,) = world.server.portal_change(world.now, "2001", dnd=True)
    sent = parse_message(datagram.data)  # type: ignore[attr-defined]
    assert isinstance(sent, Request)
    answer = make_response(sent, 503, to_tag=sent.to.tag, headers=[("Retry-After", 30)]).to_bytes()
    world.server.receive(world.now, answer, BASE)
    assert len(world.server.subscriptions("2001")) == 1   # not a failed NOTIFY (RFC 6665 §4.2.2)


def test_a_notify_timeout_costs_the_subscription(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(authenticate=frozenset())
    subscribed(world)
    world.wire.drop(lambda d, s, t: t == BASE, count=100)   # the base is gone
    world.wire.feed(AS, world.server.portal_change(world.now, "2001", dnd=True))
    world.wire.run(world.now + 40.0)                          # Timer F: 64*T1
    assert world.server.subscriptions("2001") == []


def test_unassigned_services_are_left_out_of_every_notify(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(users=[User(name="2001", password="s3cret", services=frozenset({Feature.DND, Feature.CFA}))])
    subscribed(world)
    notify = world.sent("NOTIFY")[0]
    assert notify.content_type is not None
    assert len(parse_multipart(notify.content_type, notify.body)) == 2
    (full,) = [e for e in world.wire.take(BASE) if isinstance(e, FeatureStateReceived)]
    assert full.full and [type(i).__name__ for i in full.items] == ["DoNotDisturbEvent", "ForwardingEvent"]
    # A portal change of an unassigned service: nothing to notify.
    assert world.server.portal_change(world.now, "2001", cfb={"active": True, "to": "3001"}) == []


def test_a_set_for_an_unassigned_service_is_refused_403(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(users=[User(name="2001", password="s3cret", services=frozenset({Feature.DND}))])
    sub = subscribed(world)
    world.wire.take(BASE)
    item = SetForwarding(device="2001", forwarding_type=ForwardingType.CFB, activate=True, forward_dn="3001")
    world.go(BASE, sub.set(world.now, item))
    assert SetRequestAnswered(item=item, status=403) in world.wire.take(BASE)
    assert sub.state is SubState.ACTIVE and not world.server.user_state("2001").cfb.active


def test_a_code_for_an_unassigned_service_is_refused_403(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(users=[User(name="2001", password="s3cret", services=frozenset({Feature.CFA}))],
                       authenticate=frozenset())
    caller = world.caller(PHONE)
    world.go(PHONE, caller.dial(world.now, "*78"))
    assert world.wire.take(PHONE) == [FeatureCodeAnswered(code="*78", status=403, reason="Service not assigned")]
    assert world.server.user_state("2001").dnd is False


def test_assigning_services_sends_the_new_full_state(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(users=[User(name="2001", password="s3cret", services=frozenset({Feature.DND}))])
    subscribed(world)
    world.wire.take(BASE)
    world.go(AS, world.server.set_services(world.now, "2001", [Feature.DND, Feature.CFNA]))
    (state,) = [e for e in world.wire.take(BASE) if isinstance(e, FeatureStateReceived)]
    assert [type(i).__name__ for i in state.items] == ["DoNotDisturbEvent", "ForwardingEvent"]


def test_extra_parts_and_elements_go_into_every_notify_and_the_base_applies_the_rest(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(users=[User(name="2001", password="s3cret")])
    world.server.set_extra_parts("2001", [preset_part("call-center", "2001")])
    world.server.set_extra_elements("2001", ["<featureVersion>2</featureVersion>"])
    subscribed(world)
    full = world.sent("NOTIFY")[0]
    assert full.content_type is not None
    parts = parse_multipart(full.content_type, full.body)
    assert len(parts) == 5 and b"AgentStateEvent" in parts[4].body
    assert all(b"<featureVersion>2</featureVersion>" in p.body for p in parts[:4])
    world.wire.take(BASE)
    world.go(AS, world.server.portal_change(world.now, "2001", dnd=True))
    events = world.wire.take(BASE)
    assert NotifyPartIgnored(reason="part 2 ignored: unknown element AgentStateEvent") in events
    assert FeatureStateReceived(items=(DoNotDisturbEvent(device="2001", on=True),)) in events
    assert [r.status for r in world.responses(method="NOTIFY")] == [200, 200]
    assert len(world.server.subscriptions("2001")) == 1


def test_a_strict_subscriber_would_lose_its_subscription(make_world) -> None:  # type: ignore[no-untyped-def]
    # What a strict base costs: the same NOTIFY answered 400 removes the subscription on the server.
    world = make_world(users=[User(name="2001", password="s3cret")])
    world.server.set_extra_parts("2001", [preset_part("call-center", "2001")])
    subscribed(world)
    (datagram,) = world.server.portal_change(world.now, "2001", dnd=True)
    sent = parse_message(datagram.data)  # type: ignore[attr-defined]
    assert isinstance(sent, Request)
    world.server.receive(world.now, make_response(sent, 400, to_tag=sent.to.tag).to_bytes(), BASE)
    assert world.server.subscriptions("2001") == []
