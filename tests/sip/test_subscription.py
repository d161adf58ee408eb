"""Subscriber (base) and notifier (server) wired together: every flow and every error of
feature-key-sync.md §2, on a fake clock with chosen datagrams dropped or duplicated."""

from __future__ import annotations

import itertools
import random
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sip.auth import DigestServer
from sip.errors import LocalProtocolError
from sip.events import (
    FeatureStateReceived,
    NotifyPartIgnored,
    SendDatagram,
    SetRequestAnswered,
    SubscriptionActivated,
    SubscriptionEnded,
    SubscriptionFailed,
    SubscriptionStateChanged,
    SubscriptionTerminated,
)
from sip.feature_event import (
    DoNotDisturbEvent,
    ForwardingEvent,
    ForwardingType,
    SetDoNotDisturb,
    SetForwarding,
)
from sip.ids import SequentialIds
from sip.message import Request, Response, make_response, parse_message
from sip.notifier import Notifier, NotifierConfig
from sip.pair import FeatureServer, Wire
from sip.subscriber import TABLE, SubInput, Subscriber, SubscriberConfig, SubState
from sip.uri import SipUri

BASE = ("192.0.2.10", 5060)
BASE2 = ("192.0.2.11", 5060)
AS = ("192.0.2.1", 5060)
AOR = SipUri(user="4001", host="as.example.com")


def world(
    *, auth: bool = False, algorithm: str = "MD5", sub_cfg: dict[str, object] | None = None,
    max_expires: int = 3600, second: bool = False,
) -> tuple[Wire, Subscriber, Notifier, FeatureServer]:  # fmt: skip
    config = SubscriberConfig(aor=AOR, server=AS, local=BASE, username="4001", password="secret")
    if sub_cfg:
        config = replace(config, **sub_cfg)  # type: ignore[arg-type]
    subscriber = Subscriber(config, ids=SequentialIds("base"))
    notifier = Notifier(
        NotifierConfig(
            local=AS, domain="as.example.com", max_expires=max_expires,
            passwords={"4001": "secret"} if auth else None,
            digest=DigestServer("as.example.com", secret=b"k", algorithm=algorithm) if auth else None,
        ),
        ids=SequentialIds("as"),
    )  # fmt: skip
    server = FeatureServer(notifier, device="4001")
    cores: dict[tuple[str, int], object] = {BASE: subscriber, AS: notifier}
    wire = Wire(cores, apps={AS: server})  # type: ignore[arg-type]
    return wire, subscriber, notifier, server


def sent(wire: Wire, method: str, source: tuple[str, int] | None = None) -> list[Request]:
    out = []
    for _, src, _, data in wire.log:
        m = parse_message(data)
        if isinstance(m, Request) and m.method == method and (source is None or src == source):
            out.append(m)
    return out


def responses(wire: Wire, status: int) -> list[Response]:
    return [
        m for _, _, _, d in wire.log if isinstance(m := parse_message(d), Response) and m.status == status
    ]


def is_method(method: str):  # type: ignore[no-untyped-def]
    return lambda data, src, dst: data.startswith(method.encode() + b" ")


def is_status(status: int):  # type: ignore[no-untyped-def]
    return lambda data, src, dst: data.startswith(b"SIP/2.0 %d " % status)


def take(wire: Wire, address: tuple[str, int]) -> list[object]:
    """The core's events without its state reports (`SubscriptionStateChanged`, tested on their own)."""
    return [e for e in wire.take(address) if not isinstance(e, SubscriptionStateChanged)]


def start(wire: Wire, sub: Subscriber) -> None:
    wire.feed(BASE, sub.start(wire.now))
    wire.settle()


def test_subscribe_200_full_state_in_four_parts() -> None:
    wire, sub, notifier, _ = world()
    start(wire, sub)
    events = take(wire, BASE)
    assert isinstance(events[0], SubscriptionActivated)
    state = events[1]
    assert isinstance(state, FeatureStateReceived) and len(state.items) == 4
    assert {type(i) for i in state.items} == {DoNotDisturbEvent, ForwardingEvent}
    first = sent(wire, "SUBSCRIBE")[0]
    assert first.event is not None and first.event.package == "as-feature-event"
    assert first.headers.get("Accept") == "application/x-as-feature-event+xml"
    assert first.expires == 3600 and not first.body
    notify = sent(wire, "NOTIFY")[0]
    assert notify.content_type is not None and notify.content_type.mime == "multipart/mixed"
    assert notify.subscription_state is not None and notify.subscription_state.state == "active"
    assert sub.state is SubState.ACTIVE and notifier.subscriptions_of("4001") == [1]


def test_202_is_accepted_too() -> None:
    wire, sub, notifier, server = world()
    wire.apps[AS] = lambda now, ev: notifier.accept(now, ev.request_id, server.state(ev.user), status=202)  # type: ignore[attr-defined]
    start(wire, sub)
    assert responses(wire, 202) and sub.state is SubState.ACTIVE


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_digest_challenge_is_answered_once(algorithm: str) -> None:
    wire, sub, _, _ = world(auth=True, algorithm=algorithm)
    start(wire, sub)
    subs = sent(wire, "SUBSCRIBE")
    assert len(subs) == 2 and responses(wire, 401)
    auth = subs[1].headers.get("Authorization") or ""
    assert f"algorithm={algorithm}" in auth and "qop=auth" in auth and "nc=00000001" in auth
    assert subs[1].call_id == subs[0].call_id and subs[1].cseq.seq == subs[0].cseq.seq + 1
    assert sub.state is SubState.ACTIVE


def test_unknown_user_gets_404_not_a_challenge_it_could_never_answer() -> None:
    wire, sub, _, _ = world(auth=True, sub_cfg={"aor": SipUri(user="4999", host="as.example.com")})
    start(wire, sub)
    assert [r.status for r in (parse_message(d) for *_, d in wire.log) if isinstance(r, Response)] == [404]
    failed = [e for e in take(wire, BASE) if isinstance(e, SubscriptionFailed)]
    assert failed and failed[0].status == 404


def test_wrong_password_is_not_retried_in_a_loop() -> None:
    wire, sub, _, _ = world(auth=True, sub_cfg={"password": "wrong"})
    start(wire, sub)
    assert len(sent(wire, "SUBSCRIBE")) == 2  # one answer to the challenge, then give up for now
    failed = [e for e in take(wire, BASE) if isinstance(e, SubscriptionFailed)]
    assert failed and failed[0].status == 401 and failed[0].retry_at == pytest.approx(wire.now + 60, abs=1)


def test_notify_before_200_creates_the_dialog() -> None:
    wire, sub, _, _ = world()
    wire.drop(is_status(200), count=1)  # the 200 to the SUBSCRIBE is lost; NOTIFY arrives first
    start(wire, sub)
    events = take(wire, BASE)
    assert isinstance(events[0], SubscriptionActivated) and isinstance(events[1], FeatureStateReceived)
    assert sub.state is SubState.ACTIVE and sub.remote_tag is not None
    wire.run(wire.now + 1.0)  # SUBSCRIBE retransmission -> the server repeats its 200
    assert len(sent(wire, "SUBSCRIBE")) == 2 and sub.state is SubState.ACTIVE
    assert sub.expires_at is not None


def test_refresh_before_expiry_in_dialog_with_full_state() -> None:
    wire, sub, _, _ = world()
    start(wire, sub)
    take(wire, BASE)
    wire.run(3539.0)
    assert len(sent(wire, "SUBSCRIBE")) == 1
    wire.run(3541.0)
    first, refresh = sent(wire, "SUBSCRIBE")
    assert refresh.call_id == first.call_id and refresh.to.tag is not None and not refresh.body
    assert refresh.cseq.seq == first.cseq.seq + 1
    assert [type(e) for e in take(wire, BASE)] == [FeatureStateReceived]
    wire.run(3 * 3600.0)
    assert len(sent(wire, "SUBSCRIBE")) == 4 and sub.state is SubState.ACTIVE


def test_expires_negotiated_down_by_the_server() -> None:
    wire, sub, _, _ = world(max_expires=600)
    start(wire, sub)
    assert sub.expires == 600
    wire.run(541.0)
    assert len(sent(wire, "SUBSCRIBE")) == 2


def test_too_short_expires_gets_423_and_min_expires() -> None:
    wire, sub, _, _ = world(sub_cfg={"expires": 10})
    start(wire, sub)
    first, second = sent(wire, "SUBSCRIBE")
    assert responses(wire, 423)[0].min_expires == 60
    assert first.expires == 10 and second.expires == 60 and sub.state is SubState.ACTIVE


def test_set_from_handset_notifies_every_subscription_of_the_user() -> None:
    wire, sub, notifier, server = world()
    other = Subscriber(replace(sub.config, local=BASE2), ids=SequentialIds("desk-phone"))
    wire.cores[BASE2] = other
    start(wire, sub)
    wire.feed(BASE2, other.start(wire.now))
    wire.settle()
    take(wire, BASE), wire.take(BASE2)
    item = SetForwarding(device="4001", forwarding_type=ForwardingType.CFNA, activate=True, forward_dn="200",
                         ring_count=3)  # fmt: skip
    wire.feed(BASE, sub.set(wire.now, item))
    wire.settle()
    set_request = sent(wire, "SUBSCRIBE", BASE)[-1]
    assert set_request.to.tag is not None and set_request.content_type is not None
    assert set_request.content_type.mime == "application/x-as-feature-event+xml"
    assert server.sets == [item]
    mine = take(wire, BASE)
    assert SetRequestAnswered(item=item, status=200) in mine
    change = ForwardingEvent(device="4001", forwarding_type=ForwardingType.CFNA, status=True, forward_to="200",
                             ring_count=3)  # fmt: skip
    assert FeatureStateReceived(items=(change,)) in mine
    assert wire.take(BASE2) == [FeatureStateReceived(items=(change,))]
    # feature-key-sync.md §5: the base never turns a received NOTIFY into a Set request.
    assert len([r for r in sent(wire, "SUBSCRIBE") if r.body]) == 1
    assert len(notifier.subscriptions_of("4001")) == 2


def test_change_on_the_server_is_notified() -> None:
    wire, sub, notifier, _ = world()
    start(wire, sub)
    take(wire, BASE)
    for sid in notifier.subscriptions_of("4001"):
        wire.feed(AS, notifier.notify(wire.now, sid, [DoNotDisturbEvent(device="4001", on=True)]))
    wire.settle()
    assert take(wire, BASE) == [FeatureStateReceived(items=(DoNotDisturbEvent(device="4001", on=True),))]


def test_set_needs_an_active_subscription() -> None:
    _, sub, _, _ = world()
    with pytest.raises(LocalProtocolError):
        sub.set(0.0, SetDoNotDisturb(device="4001", on=True))


def test_unsubscribe_with_final_notify() -> None:
    wire, sub, _, _ = world()
    start(wire, sub)
    take(wire, BASE)
    wire.feed(BASE, sub.stop(wire.now))
    wire.settle()
    unsubscribe = sent(wire, "SUBSCRIBE")[-1]
    assert unsubscribe.expires == 0
    final = sent(wire, "NOTIFY")[-1]
    assert final.subscription_state is not None and final.subscription_state.state == "terminated"
    assert take(wire, BASE) == [SubscriptionTerminated(reason="unsubscribed", retry_at=None)]
    assert [type(e) for e in wire.take(AS)][-1] is SubscriptionEnded
    assert sub.state is SubState.STOPPED
    wire.run(wire.now + 10000)
    assert len(sent(wire, "SUBSCRIBE")) == 2  # stays stopped


def test_489_retries_every_60s_and_never_floods() -> None:
    wire, sub, _, server = world()
    server.reject_status = 489
    start(wire, sub)
    failed = take(wire, BASE)[0]
    assert isinstance(failed, SubscriptionFailed) and failed.status == 489
    assert failed.retry_at == pytest.approx(wire.now + 60, abs=0.1)
    (refusal,) = [m for m in (parse_message(d) for *_, d in wire.log) if isinstance(m, Response)]
    assert refusal.headers.get("Allow-Events") == "as-feature-event"  # reject() adds it to a 489
    wire.run(600.0)
    times = [t for t, src, _, d in wire.log if src == BASE and d.startswith(b"SUBSCRIBE")]
    assert 9 <= len(times) <= 11
    assert all(b - a >= 59.9 for a, b in itertools.pairwise(times))


def test_403_backs_off_from_60_s_doubling_to_30_min_or_stops_until_start() -> None:
    """Issue 12: a 403 is retried on a documented back-off (60 s, doubling, at most retry_max), not
    parked for an hour; the first 2xx resets it."""
    wire, sub, _, server = world()
    server.reject_status = 403
    start(wire, sub)
    delays, sent_at = [], 0.0
    for _ in range(8):
        (failed,) = [e for e in take(wire, BASE) if isinstance(e, SubscriptionFailed)]
        assert failed.status == 403 and failed.retry_at is not None
        delays.append(round(failed.retry_at - sent_at))   # the 403 comes one round trip after sending
        sent_at = failed.retry_at
        wire.run(failed.retry_at + 1.0)
    assert delays == [60, 120, 240, 480, 960, 1800, 1800, 1800]
    server.reject_status = None
    wire.run(wire.now + 1800.0)
    assert sub.state is SubState.ACTIVE and sub.failures == 0
    wire, sub, _, server = world(sub_cfg={"retry_forbidden": None})
    server.reject_status = 403
    start(wire, sub)
    assert take(wire, BASE) == [SubscriptionFailed(status=403, reason="Forbidden", retry_at=None)]
    wire.run(100000.0)
    assert len(sent(wire, "SUBSCRIBE")) == 1 and sub.state is SubState.STOPPED
    server.reject_status = None  # the configuration changed: the application starts again
    start(wire, sub)
    assert sub.state is SubState.ACTIVE


def test_503_retry_after_is_honoured() -> None:
    wire, sub, _, server = world()
    server.reject_status, server.retry_after = 503, 120
    start(wire, sub)
    failed = take(wire, BASE)[0]
    assert isinstance(failed, SubscriptionFailed) and failed.status == 503
    assert failed.retry_at == pytest.approx(120.02, abs=0.1)
    server.reject_status = None
    wire.run(119.0)
    assert len(sent(wire, "SUBSCRIBE")) == 1
    wire.run(121.0)
    assert sub.state is SubState.ACTIVE


def test_timeouts_back_off_exponentially() -> None:
    wire, sub, _, _ = world(sub_cfg={"retry_base": 30.0, "retry_max": 120.0})
    wire.drop(lambda d, s, t: t == AS, count=10_000)  # the server is unreachable
    wire.feed(BASE, sub.start(0.0))
    wire.run(1000.0)
    failures = [e for e in take(wire, BASE) if isinstance(e, SubscriptionFailed)]
    assert all(f.status == 0 for f in failures)
    starts = [0.0] + [f.retry_at for f in failures[:-1]]
    gaps = [f.retry_at - s for f, s in zip(failures, starts, strict=False)]  # type: ignore[operator]
    assert gaps[:5] == pytest.approx([32 + 30, 32 + 60, 32 + 120, 32 + 120, 32 + 120])
    # each attempt retransmits 500 ms doubling to 4 s (11 datagrams in 32 s)
    first_attempt = [t for t, src, _, d in wire.log if d.startswith(b"SUBSCRIBE") and t < 32]
    assert len(first_attempt) == 11


def test_481_to_refresh_starts_a_new_subscription() -> None:
    wire, sub, _, _ = world()
    start(wire, sub)
    old_call = sub.call_id
    _, _, fresh, server2 = world()  # the server restarted and lost its dialogs
    wire.cores[AS], wire.apps[AS] = fresh, server2
    wire.run(3541.0)
    assert responses(wire, 481)
    last = sent(wire, "SUBSCRIBE")[-1]
    assert last.call_id != old_call and last.to.tag is None
    assert sub.state is SubState.ACTIVE and fresh.subscriptions_of("4001")


def test_481_to_set_starts_a_new_subscription() -> None:
    wire, sub, _, _ = world()
    start(wire, sub)
    _, _, fresh, server2 = world()
    wire.cores[AS], wire.apps[AS] = fresh, server2
    item = SetDoNotDisturb(device="4001", on=True)
    wire.feed(BASE, sub.set(wire.now, item))
    wire.settle()
    assert SetRequestAnswered(item=item, status=481) in take(wire, BASE)
    assert sub.state is SubState.ACTIVE and fresh.subscriptions_of("4001")


@pytest.mark.parametrize(
    ("reason", "retry_after", "resubscribe_after"),
    [("deactivated", None, 0.0), ("timeout", None, 0.0), ("probation", 90, 90.0), ("giveup", 45, 45.0),
     ("giveup", None, 30.0), ("rejected", None, None), ("noresource", None, None)],
)  # fmt: skip
def test_terminated_reasons_follow_rfc6665(
    reason: str, retry_after: int | None, resubscribe_after: float | None
) -> None:
    wire, sub, notifier, _ = world()
    start(wire, sub)
    take(wire, BASE)
    t0 = wire.now
    wire.feed(AS, notifier.terminate(wire.now, 1, reason, retry_after=retry_after))
    wire.run(t0 + 1000.0)
    resubscribes = [t for t, src, _, d in wire.log if src == BASE and d.startswith(b"SUBSCRIBE") and t > t0]
    if resubscribe_after is None:
        assert resubscribes == [] and sub.state is SubState.STOPPED
    else:
        assert resubscribes and resubscribes[0] - t0 == pytest.approx(resubscribe_after, abs=0.1)
        assert sub.state is SubState.ACTIVE
    terminated = [e for e in take(wire, BASE) if isinstance(e, SubscriptionTerminated)]
    assert terminated and terminated[0].reason == reason


def _notify_like(wire: Wire, *, call_id: str | None = None, body: bytes | None = None) -> bytes:
    raw = next(d for _, s, _, d in wire.log if d.startswith(b"NOTIFY"))
    msg = parse_message(raw)
    assert isinstance(msg, Request)
    msg.headers.set("CSeq", "99 NOTIFY")
    msg.headers.set("Via", "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKforged" + str(len(wire.log)))
    if call_id is not None:
        msg.headers.set("Call-ID", call_id)
    if body is not None:
        msg.headers.set("Content-Type", "application/x-as-feature-event+xml")
        msg.body = body
    return msg.to_bytes()


def test_notify_matching_no_dialog_gets_481_and_notifier_drops_on_481() -> None:
    wire, sub, notifier, _ = world()
    start(wire, sub)
    take(wire, BASE)
    out = sub.receive(wire.now, _notify_like(wire, call_id="nobody"), AS)
    answer = parse_message(out[0].data)  # type: ignore[union-attr]
    assert isinstance(answer, Response) and answer.status == 481
    # the other way: the base forgot the dialog, the server's next NOTIFY gets 481 and it drops it
    wire.cores[BASE] = Subscriber(sub.config, ids=SequentialIds("rebooted"))
    wire.feed(AS, notifier.notify(wire.now, 1, [DoNotDisturbEvent(device="4001", on=True)]))
    wire.settle()
    assert SubscriptionEnded(subscription_id=1, user="4001", reason="481") in wire.take(AS)
    assert notifier.subscriptions_of("4001") == []


@pytest.mark.parametrize(
    "body",
    [b"<not-xml", b"<DoNotDisturbEvent><device>x</device><doNotDisturbOn>true</doNotDisturbOn></DoNotDisturbEvent>",
     b'<Unknown xmlns="http://www.ecma-international.org/standards/ecma-323/csta/ed3"/>'],
)  # fmt: skip
def test_unreadable_notify_body_gets_200_is_reported_and_changes_nothing(body: bytes) -> None:
    # Issue 12 §1: a 400 would make the notifier drop the subscription (RFC 6665 §4.2.2); the part
    # that is not understood is left out and reported instead.
    wire, sub, _, _ = world()
    start(wire, sub)
    take(wire, BASE)
    before = sub.state
    out = sub.receive(wire.now, _notify_like(wire, body=body), AS)
    answer = parse_message(out[0].data)  # type: ignore[union-attr]
    assert isinstance(answer, Response) and answer.status == 200
    events = [o for o in out if not hasattr(o, "data")]
    assert events and all(isinstance(e, NotifyPartIgnored) and e.reason for e in events)
    assert sub.state is before


def test_duplicated_notify_is_delivered_once() -> None:
    wire, sub, _, _ = world()
    wire.duplicate(is_method("NOTIFY"))
    start(wire, sub)
    assert [type(e) for e in take(wire, BASE)] == [SubscriptionActivated, FeatureStateReceived]


def test_wrong_event_package_gets_489() -> None:
    wire, sub, notifier, _ = world()
    start(wire, sub)
    raw = sent(wire, "SUBSCRIBE")[0]
    raw.headers.set("Event", "presence")
    raw.headers.set("Via", "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKother")
    out = notifier.receive(wire.now, raw.to_bytes(), BASE)
    answer = parse_message(out[0].data)  # type: ignore[union-attr]
    assert isinstance(answer, Response) and answer.status == 489
    assert answer.allow_events == ("as-feature-event",)


def test_notifier_expires_unrefreshed_subscription_and_base_resubscribes() -> None:
    wire, sub, notifier, _ = world(max_expires=600)
    start(wire, sub)
    wire.drop(lambda d, s, t: t == AS and d.startswith(b"SUBSCRIBE"), count=11)  # the refresh is lost
    wire.run(700.0)
    ended = [e for e in wire.take(AS) if isinstance(e, SubscriptionEnded)]
    assert ended and ended[0].reason in ("expired", "timeout")
    wire.run(2000.0)
    assert sub.state is SubState.ACTIVE and notifier.subscriptions_of("4001")


def test_notify_timeout_removes_the_subscription() -> None:
    wire, sub, notifier, _ = world()
    start(wire, sub)
    wire.drop(lambda d, s, t: t == BASE, count=100)
    wire.feed(AS, notifier.notify(wire.now, 1, [DoNotDisturbEvent(device="4001", on=True)]))
    wire.run(wire.now + 40.0)
    assert SubscriptionEnded(subscription_id=1, user="4001", reason="timeout") in wire.take(AS)


def test_expired_nonce_is_answered_stale_and_the_base_reauthenticates() -> None:
    wire, sub, notifier, _ = world(auth=True)
    start(wire, sub)
    authorized = sent(wire, "SUBSCRIBE")[1]
    replay = parse_message(authorized.to_bytes())
    assert isinstance(replay, Request)
    replay.headers.set("Via", "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKreplay")
    replay.headers.set("CSeq", "50 SUBSCRIBE")
    out = notifier.receive(wire.now + 1000.0, replay.to_bytes(), BASE)  # nonce older than 300 s
    answer = parse_message(out[0].data)  # type: ignore[union-attr]
    assert isinstance(answer, Response) and answer.status == 401
    assert "stale=true" in (answer.headers.get("WWW-Authenticate") or "")


def test_subscriber_answers_stale_challenges_but_not_a_plain_second_401() -> None:
    _, sub, _, _ = world()
    digest = DigestServer("as.example.com", secret=b"k")

    def challenge(datagram: bytes, *, stale: bool) -> bytes:
        request = parse_message(datagram)
        assert isinstance(request, Request)
        answer = make_response(
            request, 401, headers=[("WWW-Authenticate", digest.challenge(0.0, stale=stale))]
        )
        return answer.to_bytes()

    first = sub.start(0.0)[0].data  # type: ignore[union-attr]
    second = sub.receive(0.1, challenge(first, stale=False), AS)[0].data  # type: ignore[union-attr]
    assert b"Authorization: Digest" in second
    third = sub.receive(0.2, challenge(second, stale=True), AS)[0].data  # type: ignore[union-attr]
    assert b"Authorization: Digest" in third and parse_message(third).cseq.seq == 3
    out = sub.receive(0.3, challenge(third, stale=False), AS)
    assert [type(o) for o in out] == [SubscriptionFailed, SubscriptionStateChanged]
    assert out[0].status == 401 and out[1] == SubscriptionStateChanged(state="waiting to retry")  # type: ignore[union-attr]


def test_unparseable_request_gets_400_naming_the_defect() -> None:
    wire, sub, notifier, _ = world()
    start(wire, sub)
    bad = sent(wire, "SUBSCRIBE")[0].to_bytes().replace(b"Expires: 3600", b"Expires: never")
    out = notifier.receive(wire.now, bad, BASE)
    answer = parse_message(out[0].data)  # type: ignore[union-attr]
    assert isinstance(answer, Response) and (answer.status, answer.reason) == (
        400,
        "Malformed Expires header",
    )
    assert notifier.receive(wire.now, b"\x00garbage", BASE) == []  # nothing to answer to


def test_always_stale_server_does_not_cause_a_loop() -> None:
    _, sub, _, _ = world()
    digest = DigestServer("as.example.com", secret=b"k")
    datagram = sub.start(0.0)[0].data  # type: ignore[union-attr]
    answers = 0
    for step in range(10):
        request = parse_message(datagram)
        assert isinstance(request, Request)
        stale = request.headers.get("Authorization") is not None
        challenge = digest.challenge(0.0, stale=stale)
        out = sub.receive(
            step, make_response(request, 401, headers=[("WWW-Authenticate", challenge)]).to_bytes(), AS
        )
        if not out or not hasattr(out[0], "data"):
            break
        answers += 1
        datagram = out[0].data  # type: ignore[union-attr]
    assert answers == 3  # the first challenge, then two stale ones
    assert sub.state is SubState.WAITING


@settings(max_examples=120, deadline=None)
@given(st.integers(0, 2**32), st.integers(1, 6))
def test_corrupted_traffic_never_breaks_the_cores(seed: int, flips: int) -> None:
    """Every datagram of a full session, corrupted, fed to both cores: they answer or drop it, and
    never raise (feature-key-sync.md §5: reject bad input cleanly, never crash)."""
    rng = random.Random(seed)
    wire, sub, notifier, _ = world(auth=True)
    start(wire, sub)
    wire.feed(BASE, sub.set(wire.now, SetDoNotDisturb(device="4001", on=True)))
    wire.settle()
    for _, _, destination, data in list(wire.log):
        mutated = bytearray(data)
        for _ in range(flips):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        core = sub if destination == BASE else notifier
        source = AS if destination == BASE else BASE
        for item in core.receive(wire.now, bytes(mutated), source):
            if isinstance(item, SendDatagram):
                parse_message(item.data)  # whatever a core sends is well-formed


def test_answer_to_a_refresh_after_the_notifier_terminated_is_ignored() -> None:
    """Race: the refresh crosses a NOTIFY terminated;reason=probation; the server's 481 to the
    refresh then arrives while the base waits to retry; it must not disturb the retry plan."""
    wire, sub, notifier, _ = world()
    start(wire, sub)
    assert sub.refresh_at is not None
    wire.run(sub.refresh_at)  # the refresh is in flight now
    wire.feed(AS, notifier.terminate(wire.now, 1, "probation", retry_after=30))
    wire.settle()
    assert responses(wire, 481)
    assert sub.state is SubState.WAITING and sub.retry_at == pytest.approx(wire.now + 30, abs=0.1)
    wire.run(wire.now + 31)
    assert sub.state is SubState.ACTIVE


def test_accept_after_the_subscription_ended_answers_481() -> None:
    wire, sub, notifier, _ = world()
    start(wire, sub)
    wire.apps.pop(AS)  # the application decides later
    wire.feed(BASE, sub.set(wire.now, SetDoNotDisturb(device="4001", on=True)))
    wire.settle()
    pending = next(e for e in wire.take(AS) if type(e).__name__ == "SetRequestReceived")
    wire.feed(AS, notifier.terminate(wire.now, 1, "noresource"))
    wire.feed(AS, notifier.accept(wire.now, pending.request_id))  # type: ignore[attr-defined]
    wire.settle()
    assert responses(wire, 481)
    # the base gave the subscription up on the NOTIFY and reported the Set as unanswered
    assert SetRequestAnswered(item=SetDoNotDisturb(device="4001", on=True), status=0) in take(wire, BASE)


def test_refresh_carries_credentials_and_a_stale_nonce_is_answered() -> None:
    wire, sub, notifier, _ = world(auth=True)
    start(wire, sub)
    wire.run(3541.0)  # the refresh reuses the 3540 s old nonce (lifetime 300 s): stale=true, answered
    subs = sent(wire, "SUBSCRIBE")
    assert len(subs) == 4
    refresh, answer = subs[2], subs[3]
    assert "nc=00000002" in (refresh.headers.get("Authorization") or "")  # nc counts up per nonce
    stale = responses(wire, 401)[-1].headers.get("WWW-Authenticate") or ""
    assert "stale=true" in stale and "nc=00000001" in (answer.headers.get("Authorization") or "")
    assert sub.state is SubState.ACTIVE and notifier.subscriptions_of("4001")


def test_credentials_from_an_old_challenge_are_not_a_final_refusal() -> None:
    """A server restarted with a new secret: the preemptive credentials fail without stale=true; the
    base answers the new challenge once instead of backing off for an hour."""
    wire, sub, _, _ = world(auth=True)
    start(wire, sub)
    _, _, fresh, server2 = world(auth=True)
    fresh.config.digest.secret = b"another secret"  # type: ignore[union-attr]
    wire.cores[AS], wire.apps[AS] = fresh, server2
    wire.run(3541.0)
    assert sub.state is SubState.ACTIVE and fresh.subscriptions_of("4001")


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"<SetDoNotDisturb><device>x</device><doNotDisturbOn>true</doNotDisturbOn></SetDoNotDisturb>",
      "SetDoNotDisturb without namespace"),
     (b"<broken", "not well-formed XML")],
)  # fmt: skip
def test_bad_set_body_gets_400_and_changes_nothing_on_the_server(body: bytes, reason: str) -> None:
    wire, sub, notifier, server = world()
    start(wire, sub)
    wire.feed(BASE, sub.set(wire.now, SetDoNotDisturb(device="4001", on=True)))
    wire.settle()
    good = sent(wire, "SUBSCRIBE")[-1]
    good.headers.set("Via", "SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKbadset")
    good.headers.set("CSeq", f"{good.cseq.seq + 1} SUBSCRIBE")
    good.body = body
    wire.take(AS)
    out = notifier.receive(wire.now, good.to_bytes(), BASE)
    answer = parse_message(out[0].data)  # type: ignore[union-attr]
    assert isinstance(answer, Response) and (answer.status, answer.reason) == (400, reason)
    assert server.sets == [SetDoNotDisturb(device="4001", on=True)]  # only the good one
    assert wire.take(AS) == [] and notifier.subscriptions_of("4001") == [1]


def test_pending_notify_first_is_reported_pending() -> None:
    wire, sub, notifier, server = world()
    wire.apps[AS] = lambda now, ev: notifier.accept(now, ev.request_id, server.state(ev.user), status=202)  # type: ignore[attr-defined]
    wire.drop(is_status(202), count=1)
    wire.feed(BASE, sub.start(0.0))
    wire.run(0.015)  # the SUBSCRIBE reached the server; its 202 is lost, the NOTIFY is in flight
    raw = wire._flight[0][3]
    assert raw.startswith(b"NOTIFY")
    wire._flight.clear()
    pending = raw.replace(b"Subscription-State: active;", b"Subscription-State: pending;")
    events = sub.receive(wire.now, pending, AS)
    activated = [e for e in events if isinstance(e, SubscriptionActivated)]
    assert activated and activated[0].state == "pending"


def test_notifier_indexes_follow_subscriptions_through_refresh_and_end() -> None:
    wire, sub, notifier, _ = world()
    start(wire, sub)
    other = Subscriber(
        SubscriberConfig(aor=AOR, server=AS, local=BASE2, username="4001", password="secret", expires=600),
        ids=SequentialIds("base2"),
    )
    wire.cores[BASE2] = other
    wire.feed(BASE2, other.start(wire.now))
    wire.settle()
    first, second = notifier.subscriptions_of("4001")
    assert notifier.subscriptions[first].peer == BASE and notifier.subscriptions[second].peer == BASE2
    assert notifier._own_deadline() == pytest.approx(notifier.subscriptions[second].expires_at)
    wire.feed(BASE2, other.stop(wire.now))
    wire.settle()
    assert notifier.subscriptions_of("4001") == [first] and notifier.subscriptions_of("nobody") == []
    assert notifier._own_deadline() == pytest.approx(notifier.subscriptions[first].expires_at)
    wire.run(wire.now + 7200.0)  # refreshed in time: the old expiry entries never end it
    assert notifier.subscriptions_of("4001") == [first] and sub.active


def test_start_and_stop_have_a_row_in_every_state() -> None:
    """The application's calls are total: start() and stop() may come in any state (issue 18)."""
    assert {(s, i) for s in SubState for i in (SubInput.START, SubInput.STOP)} <= set(TABLE)


def test_every_transition_into_another_state_is_reported_last() -> None:
    wire, sub, _, _ = world()
    start(wire, sub)
    changes = [e for e in wire.take(BASE) if isinstance(e, SubscriptionStateChanged)]
    assert changes == [SubscriptionStateChanged(state="subscribing"), SubscriptionStateChanged(state="active")]


def test_start_while_unsubscribing_abandons_that_dialog_and_subscribes_anew() -> None:
    """FKS switched off and on again, or a registration regained, before the final NOTIFY."""
    wire, sub, _, _ = world()
    start(wire, sub)
    old = sub.call_id
    wire.feed(BASE, sub.stop(wire.now))
    assert sub.state is SubState.UNSUBSCRIBING
    out = sub.start(wire.now)
    assert sub.state is SubState.SUBSCRIBING and sub.call_id != old
    assert out[-1] == SubscriptionStateChanged(state="subscribing")
    wire.feed(BASE, out)
    wire.settle()
    assert sub.state is SubState.ACTIVE


def test_a_481_to_a_set_reports_subscribing_before_any_new_set() -> None:
    """Issue 18: after a server restart the core subscribes again on its own; the application learns
    it from the events (in this order) and set() in that window is a local error, never sent."""
    wire, sub, _, _ = world()
    start(wire, sub)
    wire.take(BASE)
    _, _, fresh, server2 = world()
    wire.cores[AS], wire.apps[AS] = fresh, server2
    item = SetDoNotDisturb(device="4001", on=True)
    wire.feed(BASE, sub.set(wire.now, item))
    wire.run(wire.now + 0.03)      # the 481 is in, the new SUBSCRIBE not yet answered
    events = [e for e in wire.take(BASE) if not isinstance(e, SendDatagram)]
    assert events == [SetRequestAnswered(item=item, status=481), SubscriptionStateChanged(state="subscribing")]
    assert sub.state is SubState.SUBSCRIBING
    with pytest.raises(LocalProtocolError, match="subscribing"):
        sub.set(wire.now, item)
    wire.settle()
    assert wire.take(BASE)[-1] == SubscriptionStateChanged(state="active")
