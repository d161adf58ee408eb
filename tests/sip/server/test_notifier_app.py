"""feature-key-sync.md §2 against the application server, with real subscriber cores on the wire:
subscribe, full state, refresh, Set from one device to every device, portal changes, the refusals
(404, 403, fault knobs), restart, FKS switched off, unsubscribe, the delay knob."""

from __future__ import annotations

import pytest

from sip.events import FeatureStateReceived, SetRequestAnswered, SubscriptionActivated, SubscriptionFailed
from sip.feature_event import (
    DoNotDisturbEvent,
    ForwardingEvent,
    ForwardingType,
    SetDoNotDisturb,
    SetForwarding,
)
from sip.multipart import parse_multipart
from sip.server import Faults, User
from sip.state import Forwarding
from sip.subscriber import SubState

BASE = ("192.0.2.10", 5060)
DESK = ("192.0.2.11", 5060)
OTHER = ("192.0.2.12", 5060)


def subscribed(world, address=BASE, user="2001"):  # type: ignore[no-untyped-def]
    sub = world.subscriber(address, user)
    world.go(address, sub.start(world.now))
    return sub


def states(events):  # type: ignore[no-untyped-def]
    return [e.items for e in events if isinstance(e, FeatureStateReceived)]


def test_subscribe_gets_200_and_multipart_full_state_of_four_features(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(users=[User(name="2001", password="s3cret")])
    world.server.portal_change(0.0, "2001", dnd=True, cfna={"active": True, "to": "3002", "rings": 4})
    sub = subscribed(world)
    assert sub.state is SubState.ACTIVE
    assert [r.status for r in world.responses(method="SUBSCRIBE")] == [401, 200]
    ok = world.responses(200, "SUBSCRIBE")[0]
    assert ok.expires == 3600 and ok.to.tag is not None and ok.contacts
    notify = world.sent("NOTIFY")[0]
    assert notify.content_type is not None and notify.content_type.mime == "multipart/mixed"
    parts = parse_multipart(notify.content_type, notify.body)
    assert len(parts) == 4
    assert all(p.content_type is not None and p.content_type.mime == "application/x-as-feature-event+xml" for p in parts)
    assert notify.subscription_state is not None and notify.subscription_state.state == "active"
    assert notify.subscription_state.expires == 3600
    events = world.wire.take(BASE)
    assert [type(e) for e in events if type(e) in (SubscriptionActivated, SubscriptionFailed)] == [SubscriptionActivated]
    (items,) = states(events)
    assert items[0] == DoNotDisturbEvent(device="2001", on=True)
    assert ForwardingEvent(device="2001", forwarding_type=ForwardingType.CFNA, status=True, forward_to="3002", ring_count=4) in items
    assert [s.peer for s in world.server.subscriptions("2001")] == [BASE]


def test_refresh_gets_the_full_state_again(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    subscribed(world)
    world.wire.take(BASE)
    world.wire.run(3541.0)
    refreshes = [s for s in world.sent("SUBSCRIBE", BASE) if s.to.tag is not None]
    assert refreshes and not refreshes[0].body
    (items,) = states(world.wire.take(BASE))
    assert len(items) == 4
    assert len(world.sent("NOTIFY")) == 2


def test_set_from_one_device_notifies_every_subscription_of_the_user(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    handset = subscribed(world, BASE)
    subscribed(world, DESK)
    subscribed(world, OTHER, user="2002")  # another user: must hear nothing
    for a in (BASE, DESK, OTHER):
        world.wire.take(a)
    item = SetForwarding(device="2001", forwarding_type=ForwardingType.CFA, activate=True, forward_dn="3000")
    before = len(world.sent("NOTIFY"))
    world.go(BASE, handset.set(world.now, item))
    change = ForwardingEvent(device="2001", forwarding_type=ForwardingType.CFA, status=True, forward_to="3000")
    mine = world.wire.take(BASE)
    assert SetRequestAnswered(item=item, status=200) in mine
    assert FeatureStateReceived(items=(change,)) in mine
    assert world.wire.take(DESK) == [FeatureStateReceived(items=(change,))]
    assert world.wire.take(OTHER) == []
    notifies = world.sent("NOTIFY")[before:]
    assert len(notifies) == 2
    assert all(n.content_type is not None and n.content_type.mime == "application/x-as-feature-event+xml" for n in notifies)
    assert world.server.user_state("2001").cfa == Forwarding(active=True, to="3000")


def test_set_confirms_even_an_unchanged_value(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    handset = subscribed(world)
    world.wire.take(BASE)
    world.go(BASE, handset.set(world.now, SetDoNotDisturb(device="x", on=False)))
    assert FeatureStateReceived(items=(DoNotDisturbEvent(device="2001", on=False),)) in world.wire.take(BASE)


def test_activation_without_number_uses_the_kept_one_or_is_refused_400(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    handset = subscribed(world)
    no_number = SetForwarding(device="2001", forwarding_type=ForwardingType.CFB, activate=True)
    world.go(BASE, handset.set(world.now, no_number))
    assert SetRequestAnswered(item=no_number, status=400) in world.wire.take(BASE)
    assert world.server.user_state("2001").cfb == Forwarding()
    world.server.portal_change(world.now, "2001", cfb={"active": False, "to": "3001"})
    world.go(BASE, handset.set(world.now, no_number))
    assert SetRequestAnswered(item=no_number, status=200) in world.wire.take(BASE)
    assert world.server.user_state("2001").cfb == Forwarding(active=True, to="3001")


def test_portal_change_notifies_only_the_changed_feature(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    subscribed(world)
    subscribed(world, DESK)
    world.wire.take(BASE), world.wire.take(DESK)
    world.go(("192.0.2.1", 5060), world.server.portal_change(world.now, "2001", cfa={"active": True, "to": "3000"}))
    change = ForwardingEvent(device="2001", forwarding_type=ForwardingType.CFA, status=True, forward_to="3000")
    assert world.wire.take(BASE) == [FeatureStateReceived(items=(change,))]
    assert world.wire.take(DESK) == [FeatureStateReceived(items=(change,))]
    # Two features at once: one NOTIFY each with exactly those two (multipart).
    out = world.server.portal_change(world.now, "2001", dnd=True, cfna=Forwarding(active=True, to="3002", rings=5))
    world.go(("192.0.2.1", 5060), out)
    (items,) = states(world.wire.take(BASE))
    assert {type(i) for i in items} == {DoNotDisturbEvent, ForwardingEvent} and len(items) == 2
    # Nothing changed: nothing is sent.
    assert world.server.portal_change(world.now, "2001", dnd=True) == []


def test_portal_refuses_bad_values(make_world) -> None:  # type: ignore[no-untyped-def]
    from sip.errors import LocalProtocolError

    world = make_world()
    with pytest.raises(LocalProtocolError):
        world.server.portal_change(0.0, "2001", cfa={"active": True})  # no target known
    with pytest.raises(LocalProtocolError):
        world.server.portal_change(0.0, "2001", cfna={"rings": 1})
    with pytest.raises(LocalProtocolError):
        world.server.portal_change(0.0, "nobody", dnd=True)
    assert world.server.user_state("2001").cfa == Forwarding()


def test_fks_not_allowed_for_the_user_gets_403(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    sub = subscribed(world, BASE, user="2003")
    failed = [e for e in world.wire.take(BASE) if isinstance(e, SubscriptionFailed)]
    assert failed and failed[0].status == 403
    assert sub.state is SubState.WAITING and world.server.subscriptions("2003") == []


def test_unknown_user_gets_404_without_a_challenge(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    subscribed(world, BASE, user="9999")
    assert [r.status for r in world.responses(method="SUBSCRIBE")] == [404]


@pytest.mark.parametrize(("status", "retry_after"), [(489, None), (503, 120), (403, None)])
def test_reject_knob_answers_every_subscribe(make_world, status: int, retry_after: int | None) -> None:  # type: ignore[no-untyped-def]
    world = make_world(faults=Faults(reject={"SUBSCRIBE": status}, retry_after=retry_after))
    sub = subscribed(world)
    rejected = world.responses(status, "SUBSCRIBE")
    assert rejected and sub.state is SubState.WAITING
    # RFC 6665 §8.3.1: a 489 names the packages the server does support.
    expected = "as-feature-event" if status == 489 else None
    assert all(r.headers.get("Allow-Events") == expected for r in rejected)
    if retry_after is None:
        assert rejected[0].retry_after is None
    else:
        assert rejected[0].retry_after is not None and rejected[0].retry_after.seconds == retry_after
        failed = [e for e in world.wire.take(BASE) if isinstance(e, SubscriptionFailed)]
        assert failed[0].retry_at == pytest.approx(world.now + retry_after, abs=0.1)
    world.server.faults.reject.clear()  # the knob is live: the base's retry now succeeds
    world.wire.run(world.now + 3601.0)
    assert sub.state is SubState.ACTIVE


def test_restart_loses_subscriptions_keeps_state_and_a_refresh_gets_481(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    sub = subscribed(world)
    world.server.portal_change(world.now, "2001", dnd=True)
    world.server.restart(world.now)
    assert world.server.subscriptions("2001") == [] and world.server.registrations("2001") == []
    assert world.server.user_state("2001").dnd is True
    world.wire.take(BASE)
    world.wire.run(3541.0)  # the refresh in the old dialog
    assert world.responses(481, "SUBSCRIBE")
    assert sub.state is SubState.ACTIVE  # it subscribed anew at once
    (items,) = states(world.wire.take(BASE))
    assert DoNotDisturbEvent(device="2001", on=True) in items
    assert len(world.server.subscriptions("2001")) == 1


def test_switching_fks_off_terminates_the_subscriptions(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    sub = subscribed(world)
    world.go(("192.0.2.1", 5060), world.server.set_fks(world.now, "2001", False))
    final = world.sent("NOTIFY")[-1]
    assert final.subscription_state is not None and final.subscription_state.state == "terminated"
    assert final.subscription_state.reason == "rejected"
    assert world.server.subscriptions("2001") == [] and sub.state is SubState.STOPPED


def test_unsubscribe_ends_with_a_terminated_notify(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world()
    sub = subscribed(world)
    world.go(BASE, sub.stop(world.now))
    assert sub.state is SubState.STOPPED and world.server.subscriptions("2001") == []
    assert world.sent("NOTIFY")[-1].subscription_state.state == "terminated"  # type: ignore[union-attr]


def test_delay_knob_holds_every_outgoing_datagram(make_world) -> None:  # type: ignore[no-untyped-def]
    world = make_world(faults=Faults(delay=0.2))
    sub = world.subscriber(BASE)
    world.wire.feed(BASE, sub.start(0.0))
    world.wire.run(0.05)
    assert world.server.next_deadline() == pytest.approx(0.21)
    world.wire.run(1.0)
    assert sub.state is SubState.ACTIVE
    # 401 at 0.01+0.2, second SUBSCRIBE 0.22, 200 and NOTIFY at 0.23+0.2, arriving 0.44
    answers = [(t, d[:12]) for t, src, _, d in world.wire.log if src == ("192.0.2.1", 5060)]
    assert answers[0][0] == pytest.approx(0.21)
    assert [round(t, 2) for t, _ in answers[1:3]] == [0.43, 0.43]
    # a server restart drops what it held
    world.wire.feed(BASE, sub.set(world.now, SetDoNotDisturb(device="x", on=True)))
    world.wire.run(world.now + 0.05)
    assert world.server.next_deadline() is not None
    world.server.restart(world.now)
    assert world.server._held == []


def test_same_seeds_give_the_same_wire_log_byte_for_byte(make_world) -> None:  # type: ignore[no-untyped-def]
    def run() -> list[tuple[float, tuple[str, int], tuple[str, int], bytes]]:
        world = make_world()
        handset = subscribed(world)
        subscribed(world, DESK)
        world.go(BASE, handset.set(world.now, SetDoNotDisturb(device="x", on=True)))
        world.go(("192.0.2.1", 5060), world.server.portal_change(world.now, "2001", cfb={"active": True, "to": "9"}))
        caller = world.caller(("192.0.2.10", 5062))
        world.go(("192.0.2.10", 5062), caller.dial(world.now, "*923002*4"))
        world.wire.run(4000.0)
        return world.wire.log

    first, second = run(), run()
    assert first == second and len(first) > 30
