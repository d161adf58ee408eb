"""The notifier side of RFC 6665 for `as-feature-event` (the application server, feature-key-sync.md §2).

One responsibility: the server's subscriptions and their dialogs. The application decides (it
knows the users' features); the core does the protocol.

Theory of operation. A SUBSCRIBE is first checked by the core: wrong package -> 489, a user missing
from the password lookup (when configured) -> 404, missing or bad credentials -> 401, unknown dialog
-> 481, too short Expires -> 423, Expires: 0 -> 200 + final NOTIFY (terminated) automatically.
Otherwise the application gets `SubscribeReceived` or `SetRequestReceived` with a `request_id` and
answers with `accept()` (2xx, and optionally a NOTIFY with the given state) or `reject()`.
`notify()` sends state to one subscription, `terminate()` ends it. Each subscription's state is
`SubscriptionPhase`, changed only through `PHASES`. A failed NOTIFY (a timeout, or a non-2xx final
answer without Retry-After) removes the subscription (RFC 6665 §4.2.2), so a strict subscriber
that answers 400 to a body it does not understand silently loses its subscription.
"""

from __future__ import annotations

import functools
import heapq
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sip.auth import DigestServer, Verdict, parse_credentials
from sip.core import Core
from sip.errors import LocalProtocolError, RemoteProtocolError
from sip.events import Address, Output, SetRequestReceived, SubscribeReceived, SubscriptionEnded
from sip.feature_event import (
    EVENT_PACKAGE,
    FeatureEvent,
    SetDoNotDisturb,
    SetForwarding,
    build_feature_body,
    parse_feature_body,
)
from sip.fsm import MachineEnum
from sip.message import Request, Response
from sip.multipart import BodyPart
from sip.transaction import TimerConfig
from sip.uri import NameAddr, SipUri, Uri


@dataclass(frozen=True, kw_only=True)
class NotifierConfig:
    """Server-side limits; `passwords(user)` enables digest checks of SUBSCRIBE."""

    local: Address
    domain: str
    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600
    boundary: str = "as-feature-event-boundary"
    passwords: Mapping[str, str] | None = None
    digest: DigestServer | None = None
    user_agent: str | None = None


class SubscriptionPhase(MachineEnum):
    OFFERED = "offered"  # SUBSCRIBE received, the application has not accepted yet
    ACTIVE = "active"
    ENDED = "ended"


class PhaseInput(MachineEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    END = "end"


Ph, PI = SubscriptionPhase, PhaseInput
PHASES: dict[tuple[SubscriptionPhase, PhaseInput], SubscriptionPhase] = {
    (Ph.OFFERED, PI.ACCEPT): Ph.ACTIVE,
    (Ph.OFFERED, PI.REJECT): Ph.ENDED,
    (Ph.ACTIVE, PI.ACCEPT): Ph.ACTIVE,  # refresh or Set accepted
    (Ph.ACTIVE, PI.REJECT): Ph.ACTIVE,  # a refused refresh/Set leaves the subscription as it was
    (Ph.ACTIVE, PI.END): Ph.ENDED,
    (Ph.OFFERED, PI.END): Ph.ENDED,
}


@dataclass
class NotifierSubscription:
    """One subscription's dialog as the notifier holds it."""

    id: int
    user: str
    call_id: str
    remote_tag: str
    local_tag: str
    remote_target: Uri
    peer: Address
    subscriber: NameAddr
    resource: NameAddr
    phase: SubscriptionPhase = SubscriptionPhase.OFFERED
    local_cseq: int = 0
    remote_cseq: int = 0
    expires_at: float = 0.0
    route_set: list[str] = field(default_factory=list)

    @functools.cached_property
    def notify_from(self) -> NameAddr:
        """The From of this dialog's NOTIFYs: the subscribed resource with our tag (made once)."""
        return self.resource.with_tag(self.local_tag)

    def step(self, event: PhaseInput) -> None:
        try:
            self.phase = PHASES[(self.phase, event)]
        except KeyError:
            raise LocalProtocolError(f"{event.value} on a subscription that is {self.phase.value}") from None


@dataclass
class _Pending:
    request: Request
    subscription: NotifierSubscription
    expires: int
    initial: bool


class Notifier(Core):
    """All `as-feature-event` subscriptions held by one server endpoint."""

    def __init__(
        self, config: NotifierConfig, *, ids: Callable[[], str], timers: TimerConfig | None = None,
    ) -> None:  # fmt: skip
        super().__init__(local=config.local, ids=ids, timers=timers, user_agent=config.user_agent)
        self.config = config
        self.subscriptions: dict[int, NotifierSubscription] = {}
        # Indexes so that each message costs the same with 20,000 subscriptions as with one:
        #: user -> ids of their active subscriptions (a dict keeps them in the order they began)
        self._by_user: dict[str, dict[int, None]] = {}
        #: (Call-ID, local tag, remote tag) -> subscription id
        self._by_dialog: dict[tuple[str, str, str], int] = {}
        #: (expires_at, id) heap; entries whose subscription ended or was refreshed are skipped
        self._expiries: list[tuple[float, int]] = []
        self._pending: dict[int, _Pending] = {}
        self._next_id = 0
        self._notifies: dict[str, int] = {}  # NOTIFY branch -> subscription id

    # --- application API ------------------------------------------------------------------------

    def subscriptions_of(self, user: str) -> list[int]:
        return list(self._by_user.get(user, ()))

    def accept(
        self, now: float, request_id: int, state: Sequence[FeatureEvent] | None = None, *, status: int = 200,
        extra: Sequence[BodyPart] = (),
    ) -> list[Output]:  # fmt: skip
        """Answer the SUBSCRIBE `request_id` with 2xx; with `state`, also NOTIFY it (full state after
        a new subscription or a refresh, RFC 6665 §4.2.1.2)."""
        pending = self._take(request_id)
        sub = pending.subscription
        if sub.phase is Ph.ENDED:
            # The subscription ended while the application decided (expiry, 481, timeout): 481.
            return self._answer(now, pending.request, 481)
        sub.step(PI.ACCEPT)
        if sub.id not in self.subscriptions:
            self.subscriptions[sub.id] = sub
            self._by_user.setdefault(sub.user, {})[sub.id] = None
            self._by_dialog[(sub.call_id, sub.local_tag, sub.remote_tag)] = sub.id
        sub.expires_at = now + pending.expires
        heapq.heappush(self._expiries, (sub.expires_at, sub.id))
        # RFC 3261 §12.1.1: the 2xx that creates the dialog copies the SUBSCRIBE's Record-Route.
        request = pending.request
        record_routes = [("Record-Route", rr) for rr in request.record_routes] if pending.initial else []
        out = self._answer(
            now, pending.request, status, to_tag=sub.local_tag,
            headers=[("Expires", pending.expires), ("Contact", self._contact_address), *record_routes],
        )  # fmt: skip
        if state is not None or pending.initial:
            out += self.notify(now, sub.id, state or (), extra=extra)
        return out

    def reject(
        self, now: float, request_id: int, status: int, *, retry_after: int | None = None,
        headers: Iterable[tuple[str, object]] = (),
    ) -> list[Output]:  # fmt: skip
        """Refuse the SUBSCRIBE/Set `request_id` (403, 489, 503 with Retry-After...) with `headers`
        added. A 489 always carries `Allow-Events` (RFC 6665 §8.3.1: "A 489 response ... MUST
        include an Allow-Events header field")."""
        if status < 300:
            raise LocalProtocolError("reject() needs a failure status")
        pending = self._take(request_id)
        pending.subscription.step(PI.REJECT)
        fields = list(headers)
        names = {name.lower() for name, _ in fields}
        if retry_after is not None and "retry-after" not in names:
            fields.append(("Retry-After", retry_after))
        if status == 489 and "allow-events" not in names:
            fields.append(("Allow-Events", EVENT_PACKAGE))
        return self._answer(now, pending.request, status, headers=fields)

    def notify(
        self, now: float, subscription_id: int, state: Sequence[FeatureEvent], *,
        extra: Sequence[BodyPart] = (),
    ) -> list[Output]:  # fmt: skip
        """NOTIFY `state` (one body or multipart, with `extra` parts after the features) with
        Subscription-State active;expires=remaining."""
        sub = self._active(subscription_id)
        remaining = max(int(sub.expires_at - now), 0)
        return self._send_notify(now, sub, f"active;expires={remaining}", state, extra)

    def terminate(
        self, now: float, subscription_id: int, reason: str, *, retry_after: int | None = None,
    ) -> list[Output]:  # fmt: skip
        """End a subscription with a final NOTIFY `terminated;reason=...` (RFC 6665 §4.2.2)."""
        sub = self._active(subscription_id)
        value = f"terminated;reason={reason}" + (
            f";retry-after={retry_after}" if retry_after is not None else ""
        )
        out = self._send_notify(now, sub, value, ())
        return out + self._end(sub, reason)

    # --- protocol -------------------------------------------------------------------------------

    def _on_request(self, now: float, request: Request, source: Address) -> list[Output]:
        if request.method != "SUBSCRIBE":
            return self._answer(now, request, 405, headers=[("Allow", "SUBSCRIBE, NOTIFY")])
        event = request.event
        if event is None or event.package != EVENT_PACKAGE:
            # RFC 6665 §4.2.1.1: an unsupported package is answered 489 with Allow-Events.
            return self._answer(now, request, 489, headers=[("Allow-Events", EVENT_PACKAGE)])
        user = request.to.uri.user if isinstance(request.to.uri, SipUri) else None
        if not user or (self.config.passwords is not None and user not in self.config.passwords):
            # RFC 3261 §8.2.2.1: a resource this server does not serve gets 404, before any challenge:
            # credentials are checked against the subscribed user's password, so a challenge for a
            # user without one could never be answered and the subscriber would get 401 forever.
            return self._answer(now, request, 404)
        challenge = self._check_auth(now, request, user)
        if challenge is not None:
            return challenge
        expires = request.expires if request.expires is not None else self.config.default_expires
        if 0 < expires < self.config.min_expires:
            # RFC 6665 §4.2.1.1: too short a subscription is answered 423 with Min-Expires.
            return self._answer(now, request, 423, headers=[("Min-Expires", self.config.min_expires)])
        expires = min(expires, self.config.max_expires)
        if request.to.tag is not None:
            return self._in_dialog(now, request, expires)
        if request.body:
            raise RemoteProtocolError("Set request outside a subscription dialog")
        if expires == 0:
            # RFC 6665 §4.2.1.1 allows a fetch; this server keeps no state for it: 200, no NOTIFY.
            return self._answer(now, request, 200, headers=[("Expires", 0)])
        self._next_id += 1
        sub = NotifierSubscription(
            id=self._next_id, user=user, call_id=request.call_id, remote_tag=request.from_.tag or "",
            local_tag=self.ids(),
            remote_target=request.contacts[0].uri if request.contacts else request.from_.uri,
            peer=source, subscriber=request.from_, resource=request.to, remote_cseq=request.cseq.seq,
            route_set=[str(r) for r in request.record_routes],
        )  # fmt: skip
        return self._offer(request, sub, expires, initial=True)

    def _in_dialog(self, now: float, request: Request, expires: int) -> list[Output]:
        sub = self._find(request)
        if sub is None:
            # RFC 6665 §4.2.1.1 / RFC 3261 §12.2.2: no such dialog -> 481.
            return self._answer(now, request, 481)
        if request.cseq.seq <= sub.remote_cseq:
            return self._answer(now, request, 500, "CSeq out of order")
        sub.remote_cseq = request.cseq.seq
        if expires == 0:
            # RFC 6665 §4.2.1.4: unsubscribe -> 2xx, then a NOTIFY with Subscription-State terminated.
            out = self._answer(now, request, 200, headers=[("Expires", 0)])
            out += self._send_notify(now, sub, "terminated;reason=timeout", ())
            return out + self._end(sub, "unsubscribed")
        if request.body:
            items = parse_feature_body(request.content_type, request.body)
            if len(items) != 1 or not isinstance(items[0], SetDoNotDisturb | SetForwarding):
                raise RemoteProtocolError(
                    "A Set request carries exactly one SetDoNotDisturb or SetForwarding"
                )
            request_id = self._remember(request, sub, expires, initial=False)
            return [
                SetRequestReceived(
                    request_id=request_id, subscription_id=sub.id, user=sub.user, item=items[0]
                )
            ]
        return self._offer(request, sub, expires, initial=False)

    def _offer(
        self, request: Request, sub: NotifierSubscription, expires: int, *, initial: bool
    ) -> list[Output]:
        request_id = self._remember(request, sub, expires, initial=initial)
        received = SubscribeReceived(
            request_id=request_id, subscription_id=sub.id, user=sub.user, expires=expires, initial=initial
        )
        return [received]

    def _check_auth(self, now: float, request: Request, user: str) -> list[Output] | None:
        if self.config.passwords is None or self.config.digest is None:
            return None
        digest = self.config.digest
        raw = request.headers.get("Authorization")
        stale = False
        if raw is not None:
            credentials = parse_credentials(raw)
            verdict = digest.verify(
                request, credentials, self.config.passwords.get(credentials.username), now
            )
            if verdict is Verdict.OK and credentials.username == user:
                return None
            stale = verdict is Verdict.STALE
        # RFC 3261 §22.1 / RFC 7616 §3.3: challenge; stale=true when only the nonce had expired.
        challenge = digest.challenge(now, stale=stale)
        return self._answer(now, request, 401, headers=[("WWW-Authenticate", challenge)])

    def _send_notify(
        self, now: float, sub: NotifierSubscription, substate: str, state: Sequence[FeatureEvent],
        extra: Sequence[BodyPart] = (),
    ) -> list[Output]:  # fmt: skip
        sub.local_cseq += 1
        fields: list[tuple[str, object]] = [("Route", r) for r in sub.route_set]
        fields += [
            ("From", sub.notify_from), ("To", sub.subscriber), ("Call-ID", sub.call_id),
            ("CSeq", f"{sub.local_cseq} NOTIFY"), ("Contact", self._contact_address),
            ("Event", EVENT_PACKAGE), ("Subscription-State", substate),
        ]  # fmt: skip
        body = b""
        if state or extra:
            content_type, body = build_feature_body(list(state), boundary=self.config.boundary, extra=extra)
            fields.append(("Content-Type", content_type))
        request = self._build("NOTIFY", sub.remote_target, fields, body)
        self._notifies[request.top_via.branch or ""] = sub.id
        return self.transactions.send(request, sub.peer, now)

    def _on_response(self, now: float, request: Request, response: Response) -> list[Output]:
        sub_id = self._notifies.pop(request.top_via.branch or "", None)
        if response.status < 200 or sub_id is None:
            return []
        sub = self.subscriptions.get(sub_id)
        if sub is not None and response.status >= 300 and response.retry_after is None:
            # RFC 6665 §4.2.2: "A NOTIFY request is considered failed if the response times out, or
            # a non-200-class response code is received which has no Retry-After header field", and
            # "If the NOTIFY request fails due to an error response ... the notifier MUST remove the
            # corresponding subscription." (a 481: the subscriber has no such subscription).
            return self._end(sub, str(response.status))
        return []

    def _on_timeout(self, now: float, request: Request) -> list[Output]:
        sub_id = self._notifies.pop(request.top_via.branch or "", None)
        sub = self.subscriptions.get(sub_id) if sub_id is not None else None
        # RFC 6665 §4.2.2: a NOTIFY that times out removes the subscription.
        return self._end(sub, "timeout") if sub is not None else []

    def _own_deadline(self) -> float | None:
        expiries = self._expiries
        while expiries and self._expiring(expiries[0]) is None:
            heapq.heappop(expiries)  # ended or refreshed since
        return expiries[0][0] if expiries else None

    def _expiring(self, entry: tuple[float, int]) -> NotifierSubscription | None:
        sub = self.subscriptions.get(entry[1])
        return sub if sub is not None and sub.phase is Ph.ACTIVE and sub.expires_at == entry[0] else None

    def _on_own_timer(self, now: float) -> list[Output]:
        out: list[Output] = []
        while self._expiries and self._expiries[0][0] <= now:
            sub = self._expiring(heapq.heappop(self._expiries))
            if sub is not None:
                # RFC 6665 §4.2.2: at expiry the notifier sends terminated;reason=timeout.
                out += self._send_notify(now, sub, "terminated;reason=timeout", ())
                out += self._end(sub, "expired")
        return out

    # --- bookkeeping ----------------------------------------------------------------------------

    def _contact(self) -> SipUri:
        return self.local_uri()

    @functools.cached_property
    def _contact_address(self) -> NameAddr:
        return NameAddr(uri=self._contact())

    def _find(self, request: Request) -> NotifierSubscription | None:
        sub_id = self._by_dialog.get((request.call_id, request.to.tag or "", request.from_.tag or ""))
        sub = self.subscriptions.get(sub_id) if sub_id is not None else None
        return sub if sub is not None and sub.phase is Ph.ACTIVE else None

    def _remember(self, request: Request, sub: NotifierSubscription, expires: int, *, initial: bool) -> int:
        self._next_id += 1
        self._pending[self._next_id] = _Pending(
            request=request, subscription=sub, expires=expires, initial=initial
        )
        return self._next_id

    def _take(self, request_id: int) -> _Pending:
        try:
            return self._pending.pop(request_id)
        except KeyError:
            raise LocalProtocolError(f"No pending SUBSCRIBE {request_id}") from None

    def _active(self, subscription_id: int) -> NotifierSubscription:
        sub = self.subscriptions.get(subscription_id)
        if sub is None or sub.phase is not Ph.ACTIVE:
            raise LocalProtocolError(f"No active subscription {subscription_id}")
        return sub

    def _end(self, sub: NotifierSubscription, reason: str) -> list[Output]:
        sub.step(PI.END)
        if self.subscriptions.pop(sub.id, None) is not None:
            mine = self._by_user.get(sub.user)
            if mine is not None:
                mine.pop(sub.id, None)
                if not mine:
                    del self._by_user[sub.user]
            self._by_dialog.pop((sub.call_id, sub.local_tag, sub.remote_tag), None)
        return [SubscriptionEnded(subscription_id=sub.id, user=sub.user, reason=reason)]


__all__ = ["PHASES", "Notifier", "NotifierConfig", "NotifierSubscription", "SubscriptionPhase"]
