"""Random sessions: any interleaving of application calls, server decisions, losses, duplicates,
server restarts and time never makes either core raise, and a healthy server is always reached
again (the subscriber recovers from everything but an explicit stop or a final rejection)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st

from sip.errors import LocalProtocolError
from sip.feature_event import DoNotDisturbEvent, ForwardingType, SetDoNotDisturb, SetForwarding
from sip.ids import SequentialIds
from sip.notifier import Notifier, NotifierConfig
from sip.pair import FeatureServer, Wire
from sip.subscriber import Subscriber, SubscriberConfig, SubState
from sip.uri import SipUri

BASE = ("192.0.2.10", 5060)
AS = ("192.0.2.1", 5060)

ops = st.lists(
    st.one_of(
        st.tuples(st.just("wait"), st.floats(0.0, 4000.0)),
        st.tuples(st.just("to_refresh"), st.none()),
        st.tuples(st.just("drop_to_as"), st.integers(1, 15)),
        st.tuples(st.just("drop_to_base"), st.integers(1, 15)),
        st.tuples(st.just("duplicate"), st.integers(1, 5)),
        st.tuples(st.just("terminate"), st.sampled_from(["deactivated", "timeout", "probation", "giveup",
                                                          "noresource", "rejected", "bogus"])),
        st.tuples(st.just("notify"), st.booleans()),
        st.tuples(st.just("set"), st.booleans()),
        st.tuples(st.just("stop"), st.none()),
        st.tuples(st.just("start"), st.none()),
        st.tuples(st.just("restart_server"), st.none()),
        st.tuples(st.just("reject"), st.sampled_from([None, 489, 403, 503, 500, 404])),
    ),
    max_size=25,
)  # fmt: skip


def make_server(seed: int) -> tuple[Notifier, FeatureServer]:
    notifier = Notifier(NotifierConfig(local=AS, domain="as.example.com", max_expires=900),
                        ids=SequentialIds(f"as{seed}"))  # fmt: skip
    return notifier, FeatureServer(notifier, device="4001")


@settings(max_examples=150, deadline=None)
@given(ops)
def test_random_sessions_never_raise_and_recover(steps: list[tuple[str, object]]) -> None:
    config = SubscriberConfig(aor=SipUri(user="4001", host="as.example.com"), server=AS, local=BASE,
                              retry_forbidden=600.0, retry_max=600.0)  # fmt: skip
    sub = Subscriber(config, ids=SequentialIds("base"))
    notifier, server = make_server(0)
    wire = Wire({BASE: sub, AS: notifier}, apps={AS: server})  # type: ignore[dict-item]
    wire.feed(BASE, sub.start(0.0))
    restarts = 0
    for op, arg in steps:
        if op == "wait":
            wire.run(wire.now + float(arg))  # type: ignore[arg-type]
        elif op == "to_refresh":
            if sub.refresh_at is not None:
                wire.run(sub.refresh_at)  # leave the refresh in flight, to race it
        elif op == "drop_to_as":
            wire.drop(lambda d, s, t: t == AS, count=int(arg))  # type: ignore[call-overload]
        elif op == "drop_to_base":
            wire.drop(lambda d, s, t: t == BASE, count=int(arg))  # type: ignore[call-overload]
        elif op == "duplicate":
            wire.duplicate(lambda d, s, t: True, count=int(arg))  # type: ignore[call-overload]
        elif op == "terminate":
            for sid in notifier.subscriptions_of("4001"):
                wire.feed(AS, notifier.terminate(wire.now, sid, str(arg), retry_after=30))
        elif op == "notify":
            for sid in notifier.subscriptions_of("4001"):
                wire.feed(
                    AS, notifier.notify(wire.now, sid, [DoNotDisturbEvent(device="4001", on=bool(arg))])
                )
        elif op == "set":
            item = (
                SetDoNotDisturb(device="4001", on=True)
                if arg
                else SetForwarding(
                    device="4001", forwarding_type=ForwardingType.CFA, activate=True, forward_dn="9"
                )
            )
            if sub.active:
                wire.feed(BASE, sub.set(wire.now, item))
            else:
                try:
                    sub.set(wire.now, item)
                except LocalProtocolError:
                    pass
                else:  # pragma: no cover - set() must refuse without a subscription
                    raise AssertionError("set() accepted without an active subscription")
        elif op == "stop":
            wire.feed(BASE, sub.stop(wire.now))
        elif op == "start":
            if sub.state in (SubState.IDLE, SubState.STOPPED, SubState.WAITING):
                wire.feed(BASE, sub.start(wire.now))
        elif op == "restart_server":
            restarts += 1
            notifier, fresh = make_server(restarts)
            fresh.reject_status = server.reject_status
            server = fresh
            wire.cores[AS], wire.apps[AS] = notifier, server
        elif op == "reject":
            server.reject_status = arg  # type: ignore[assignment]
    # Heal the world: a healthy server, no more losses; the base comes back unless stopped.
    server.reject_status = None
    wire = replace(wire)  # keep cores, clock and apps; forget pending drop/duplicate rules
    wire._drops.clear()
    wire._dups.clear()
    wire.run(wire.now + 3000.0)
    if sub.state is SubState.STOPPED:
        wire.feed(BASE, sub.start(wire.now))
        wire.run(wire.now + 100.0)
    if sub.state is SubState.UNSUBSCRIBING:
        wire.run(wire.now + 100.0)
        wire.feed(BASE, sub.start(wire.now))
        wire.run(wire.now + 100.0)
    assert sub.state is SubState.ACTIVE
    assert notifier.subscriptions_of("4001")
