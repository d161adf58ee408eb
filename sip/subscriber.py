"""The subscriber side of RFC 6665 for `as-feature-event` (the base station, feature-key-sync.md §2).

One responsibility: keep one subscription alive and carry Set requests in its dialog.

Theory of operation. One state machine, `TABLE`, maps `(SubState, SubInput)` to an action method
and the next state. `start()` sends the initial SUBSCRIBE; the dialog is created by its 2xx or by
a NOTIFY that arrives first (RFC 6665 §4.1.2.4); refreshes go in-dialog before expiry; `set()`
sends an in-dialog SUBSCRIBE with one Set body; `stop()` unsubscribes (Expires: 0) and waits for
the final NOTIFY. Failures are turned into a retry time by `_failure_input` and `_backoff` (values
in `SubscriberConfig`, documented as choices in docs/sip.md). A received NOTIFY never causes a Set.

Every transition into another state is reported, after that transition's other outputs, as
`SubscriptionStateChanged`: the application learns from it alone whether a Set can go out (only in
ACTIVE), so it never believes a dialog exists while this core is subscribing again (issue 18: a 481
to a Set, an expired dialog). The API inputs START and STOP have a row in every state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sip.auth import Challenge, DigestClient, best_challenge
from sip.core import DIRECT_UDP, Core, NextHop
from sip.errors import LocalProtocolError
from sip.events import (
    Address,
    FeatureStateReceived,
    NotifyPartIgnored,
    Output,
    SetRequestAnswered,
    SubscriptionActivated,
    SubscriptionFailed,
    SubscriptionStateChanged,
    SubscriptionTerminated,
)
from sip.feature_event import (
    CONTENT_TYPE,
    EVENT_PACKAGE,
    FeatureEvent,
    FeatureSet,
    SetDoNotDisturb,
    SetForwarding,
    build_body,
    read_feature_body,
)
from sip.fsm import MachineEnum
from sip.message import Request, Response
from sip.transaction import TimerConfig
from sip.uri import NameAddr, SipUri, Uri


@dataclass(frozen=True, kw_only=True)
class SubscriberConfig:
    """One account's subscription. Retry values marked [choice] in docs/sip.md."""

    aor: SipUri
    server: Address
    local: Address
    expires: int = 3600
    username: str | None = None
    password: str | None = None
    #: refresh this long before expiry (at most half the interval) [choice]
    refresh_margin: float = 60.0
    #: 489 Bad Event: real phones retry about every 60 s [fact]
    retry_bad_event: float = 60.0
    #: 401/403/407 that credentials cannot answer: first retry after this many seconds, doubling per
    #: consecutive failure up to `retry_max`; None = stop until start() (a configuration change)
    #: [choice: FKS may be switched on for the user on the server at any time]
    retry_forbidden: float | None = 60.0
    #: timeouts and other failures: base doubling per failure up to max [choice]
    retry_base: float = 30.0
    retry_max: float = 1800.0
    user_agent: str | None = None
    #: transport and outbound proxy (RFC 3261 §8.1.2, §18)
    next_hop: NextHop = DIRECT_UDP


class SubState(MachineEnum):
    IDLE = "idle"
    SUBSCRIBING = "subscribing"
    ACTIVE = "active"
    WAITING = "waiting to retry"
    UNSUBSCRIBING = "unsubscribing"
    STOPPED = "stopped"


class SubInput(MachineEnum):
    START = "start"
    ACCEPTED = "2xx"
    CHALLENGED = "401/407"
    REJECTED = "failure, retry later"
    REJECTED_FINAL = "failure, do not retry"
    GONE = "481"
    NOTIFY_ACTIVE = "NOTIFY active/pending"
    TERMINATED_NOW = "NOTIFY terminated, resubscribe at once"
    TERMINATED_LATER = "NOTIFY terminated, resubscribe later"
    TERMINATED_FINAL = "NOTIFY terminated, do not resubscribe"
    REFRESH_DUE = "refresh timer"
    RETRY_DUE = "retry timer"
    EXPIRED = "expiry timer"
    STOP = "stop"


St, In = SubState, SubInput
#: (state, input) -> (action method name, next state). A missing entry is a LocalProtocolError.
TABLE: dict[tuple[SubState, SubInput], tuple[str, SubState]] = {
    (St.IDLE, In.START): ("_send_initial", St.SUBSCRIBING),
    (St.STOPPED, In.START): ("_send_initial", St.SUBSCRIBING),
    (St.WAITING, In.START): ("_send_initial", St.SUBSCRIBING),
    (St.WAITING, In.RETRY_DUE): ("_send_initial", St.SUBSCRIBING),
    (St.WAITING, In.STOP): ("_forget", St.STOPPED),
    # start() while a subscription is being set up or is active changes nothing [choice]; while an
    # unsubscribe waits for its final NOTIFY it abandons that dialog and subscribes anew (FKS
    # switched off and on again, a registration regained).
    (St.SUBSCRIBING, In.START): ("_nothing", St.SUBSCRIBING),
    (St.ACTIVE, In.START): ("_nothing", St.ACTIVE),
    (St.UNSUBSCRIBING, In.START): ("_send_initial", St.SUBSCRIBING),
    (St.SUBSCRIBING, In.ACCEPTED): ("_established", St.ACTIVE),
    (St.SUBSCRIBING, In.NOTIFY_ACTIVE): ("_established", St.ACTIVE),
    (St.SUBSCRIBING, In.CHALLENGED): ("_resend_with_auth", St.SUBSCRIBING),
    (St.SUBSCRIBING, In.REJECTED): ("_schedule_retry", St.WAITING),
    (St.SUBSCRIBING, In.REJECTED_FINAL): ("_give_up", St.STOPPED),
    (St.SUBSCRIBING, In.GONE): ("_schedule_retry", St.WAITING),
    (St.SUBSCRIBING, In.TERMINATED_NOW): ("_send_initial", St.SUBSCRIBING),
    (St.SUBSCRIBING, In.TERMINATED_LATER): ("_schedule_retry", St.WAITING),
    (St.SUBSCRIBING, In.TERMINATED_FINAL): ("_give_up", St.STOPPED),
    (St.SUBSCRIBING, In.STOP): ("_forget", St.STOPPED),
    (St.ACTIVE, In.ACCEPTED): ("_refreshed", St.ACTIVE),
    (St.ACTIVE, In.NOTIFY_ACTIVE): ("_refreshed", St.ACTIVE),
    (St.ACTIVE, In.CHALLENGED): ("_resend_with_auth", St.ACTIVE),
    (St.ACTIVE, In.REFRESH_DUE): ("_send_refresh", St.ACTIVE),
    # feature-key-sync.md §2: 481 to a refresh or Set: the dialog is gone, start a new subscription.
    (St.ACTIVE, In.GONE): ("_send_initial", St.SUBSCRIBING),
    (St.ACTIVE, In.EXPIRED): ("_send_initial", St.SUBSCRIBING),
    (St.ACTIVE, In.REJECTED): ("_schedule_retry", St.WAITING),
    (St.ACTIVE, In.REJECTED_FINAL): ("_give_up", St.STOPPED),
    (St.ACTIVE, In.TERMINATED_NOW): ("_send_initial", St.SUBSCRIBING),
    (St.ACTIVE, In.TERMINATED_LATER): ("_schedule_retry", St.WAITING),
    (St.ACTIVE, In.TERMINATED_FINAL): ("_give_up", St.STOPPED),
    (St.ACTIVE, In.STOP): ("_send_unsubscribe", St.UNSUBSCRIBING),
    (St.UNSUBSCRIBING, In.ACCEPTED): ("_nothing", St.UNSUBSCRIBING),
    (St.UNSUBSCRIBING, In.NOTIFY_ACTIVE): ("_nothing", St.UNSUBSCRIBING),
    (St.UNSUBSCRIBING, In.CHALLENGED): ("_resend_with_auth", St.UNSUBSCRIBING),
    (St.UNSUBSCRIBING, In.TERMINATED_NOW): ("_unsubscribed", St.STOPPED),
    (St.UNSUBSCRIBING, In.TERMINATED_LATER): ("_unsubscribed", St.STOPPED),
    (St.UNSUBSCRIBING, In.TERMINATED_FINAL): ("_unsubscribed", St.STOPPED),
    (St.UNSUBSCRIBING, In.REJECTED): ("_unsubscribed", St.STOPPED),
    (St.UNSUBSCRIBING, In.REJECTED_FINAL): ("_unsubscribed", St.STOPPED),
    (St.UNSUBSCRIBING, In.GONE): ("_unsubscribed", St.STOPPED),
    (St.UNSUBSCRIBING, In.EXPIRED): ("_unsubscribed", St.STOPPED),
    (St.UNSUBSCRIBING, In.STOP): ("_nothing", St.UNSUBSCRIBING),
    (St.STOPPED, In.STOP): ("_nothing", St.STOPPED),
    (St.IDLE, In.STOP): ("_nothing", St.STOPPED),
}

#: RFC 6665 §4.1.3 reason -> what the subscriber does (feature-key-sync.md §2).
TERMINATED_REASONS = {
    "deactivated": In.TERMINATED_NOW,
    "timeout": In.TERMINATED_NOW,
    "probation": In.TERMINATED_LATER,
    "giveup": In.TERMINATED_LATER,
    "rejected": In.TERMINATED_FINAL,
    "noresource": In.TERMINATED_FINAL,
    "invariant": In.TERMINATED_FINAL,
}

#: Consecutive `stale=true` challenges answered before giving up [choice].
MAX_STALE_ANSWERS = 2

#: How long to wait for the final NOTIFY after an unsubscribe was answered (64*T1) [choice].
UNSUBSCRIBE_GUARD = 32.0


class Subscriber(Core):
    """One `as-feature-event` subscription of one account, both its dialog and its retry policy."""

    def __init__(
        self, config: SubscriberConfig, *, ids: Callable[[], str], timers: TimerConfig | None = None,
    ) -> None:  # fmt: skip
        super().__init__(local=config.local, ids=ids, timers=timers, user_agent=config.user_agent,
                         next_hop=config.next_hop)
        self.config = config
        self.state = SubState.IDLE
        self.auth = (
            DigestClient(config.username, config.password, cnonce_source=ids)
            if config.username is not None and config.password is not None else None
        )  # fmt: skip
        self.expires = config.expires
        self.failures = 0
        self.call_id = ""
        self.local_tag = ""
        self._made: tuple[tuple[str, str | None], tuple[NameAddr, NameAddr, NameAddr]] | None = None
        self.remote_tag: str | None = None
        self.remote_target: Uri = config.aor
        self.route_set: list[str] = []
        self.cseq = 0
        self.remote_cseq: int | None = None
        self.expires_at: float | None = None
        self.refresh_at: float | None = None
        self.retry_at: float | None = None
        self.last_status = 0
        #: branch -> (purpose, Set item); purposes: initial, refresh, set, unsubscribe
        self.pending: dict[str, tuple[str, FeatureSet | None]] = {}
        self._min_expires = 0
        self._stale_answers = 0
        self._substate = "active"
        #: (header name, last challenge) used for the credentials of every later request
        self._challenge: tuple[str, Challenge] | None = None
        self._answering = False
        #: branch -> whether that request's credentials answered the challenge just received
        self._answers: dict[str, bool] = {}
        self._notify_reason: str | None = None
        self._input_delay: float | None = None
        #: the next NOTIFY with a body answers a (re)subscribe: it carries the full state (§2 step 2)
        self._full_due = False

    # --- application API ------------------------------------------------------------------------

    @property
    def contact_uri(self) -> SipUri:
        return self.local_uri(self.config.aor.user)

    @property
    def active(self) -> bool:
        return self.state is SubState.ACTIVE

    def trusted_peers(self) -> list[Address]:
        """The server (or outbound proxy) SUBSCRIBEs go to, and the route set's next hop."""
        return self._client_peers(self.config.server, self.route_set)

    def start(self, now: float) -> list[Output]:
        """Subscribe (again): also the way to resume after a 403 stop or a configuration change."""
        self.failures = 0
        return self._fire(now, In.START)

    def stop(self, now: float) -> list[Output]:
        """Unsubscribe (Expires: 0) and wait for the final NOTIFY (feature-key-sync.md §2 step 6)."""
        return self._fire(now, In.STOP)

    def set(self, now: float, item: FeatureSet) -> list[Output]:
        """Send one Set request in the dialog (an in-dialog SUBSCRIBE with a body, §2 step 4)."""
        if self.state is not SubState.ACTIVE:
            raise LocalProtocolError(f"No active subscription to carry a Set request ({self.state.value})")
        if not isinstance(item, SetDoNotDisturb | SetForwarding):
            raise LocalProtocolError("Only SetDoNotDisturb/SetForwarding go from the phone")
        return self._send_in_dialog(now, "set", item, self.expires)

    # --- state machine ----------------------------------------------------------------------------

    def _fire(self, now: float, event: SubInput) -> list[Output]:
        try:
            action, next_state = TABLE[(self.state, event)]
        except KeyError:
            raise LocalProtocolError(
                f"{event.value} in subscriber state {self.state.value}", status=500
            ) from None
        previous, self.state = self.state, next_state
        out: list[Output] = getattr(self, action)(now)
        if next_state is not previous:
            out.append(SubscriptionStateChanged(state=next_state.value))
        return out

    def _nothing(self, now: float) -> list[Output]:
        return []

    def _reset_dialog(self) -> None:
        self.call_id, self.local_tag, self.remote_tag = self.ids(), self.ids(), None
        self.remote_target, self.route_set, self.remote_cseq = self.config.aor, [], None
        self.expires_at = self.refresh_at = self.retry_at = None
        self.pending.clear()
        self._answers.clear()

    def _send_initial(self, now: float) -> list[Output]:
        self._notify_reason = None
        self._reset_dialog()
        self.expires = max(self.config.expires, self._min_expires)
        return self._send_subscribe(now, "initial", None, self.expires)

    def _send_refresh(self, now: float) -> list[Output]:
        self.refresh_at = None
        return self._send_in_dialog(now, "refresh", None, self.expires)

    def _send_unsubscribe(self, now: float) -> list[Output]:
        self.refresh_at = None
        # Guard: stop waiting for the final NOTIFY after UNSUBSCRIBE_GUARD seconds [choice].
        self.expires_at = now + UNSUBSCRIBE_GUARD
        return self._send_in_dialog(now, "unsubscribe", None, 0)

    def _send_in_dialog(
        self, now: float, purpose: str, item: FeatureSet | None, expires: int
    ) -> list[Output]:
        return self._send_subscribe(now, purpose, item, expires)

    def _send_subscribe(
        self, now: float, purpose: str, item: FeatureSet | None, expires: int
    ) -> list[Output]:
        self.cseq += 1
        from_, to, contact = self._addresses()
        fields: list[tuple[str, object]] = [
            (name, route) for name, route in (("Route", r) for r in self.route_set)
        ]
        fields += [
            ("From", from_), ("To", to),
            ("Call-ID", self.call_id), ("CSeq", f"{self.cseq} SUBSCRIBE"),
            ("Contact", contact),
            ("Event", EVENT_PACKAGE), ("Accept", CONTENT_TYPE.mime), ("Expires", expires),
        ]  # fmt: skip
        uri = self.remote_target if self.remote_tag is not None else self.config.aor
        if self._challenge is not None and self.auth is not None:
            # Every request after a challenge carries credentials computed from it (RFC 7616 §3.4:
            # nc counts up, a new cnonce each time); a stale nonce is then answered by the server.
            name, challenge = self._challenge
            fields.append((name, str(self.auth.authorize("SUBSCRIBE", str(uri), challenge))))
        body = b""
        if item is not None:
            fields.append(("Content-Type", CONTENT_TYPE))
            body = build_body(item)
        request = self._build("SUBSCRIBE", uri, fields, body)
        branch = request.top_via.branch or ""
        self._full_due = self._full_due or purpose in ("initial", "refresh")
        self.pending[branch] = (purpose, item)
        self._answers[branch] = self._answering
        self._answering = False
        return self._send_request(request, self.config.server, now)

    def _addresses(self) -> tuple[NameAddr, NameAddr, NameAddr]:
        """From, To and Contact of this dialog's SUBSCRIBEs: made (and their text written) once per
        pair of tags, not for each request."""
        key = (self.local_tag, self.remote_tag)
        if self._made is None or self._made[0] != key:
            aor = self.config.aor
            to = NameAddr(uri=aor)
            self._made = (key, (NameAddr(uri=aor).with_tag(self.local_tag),
                                to if self.remote_tag is None else to.with_tag(self.remote_tag),
                                NameAddr(uri=self.contact_uri)))
        return self._made[1]

    def _resend_with_auth(self, now: float) -> list[Output]:
        purpose, item = self._last_purpose
        expires = 0 if purpose == "unsubscribe" else self.expires
        self._answering = True
        return self._send_subscribe(now, purpose, item, expires)

    def _established(self, now: float) -> list[Output]:
        self.failures = 0
        out: list[Output] = [
            SubscriptionActivated(expires_at=self.expires_at or now + self.expires, state=self._substate)
        ]
        return out + self._schedule_refresh(now)

    def _refreshed(self, now: float) -> list[Output]:
        self.failures = 0
        return self._schedule_refresh(now)

    def _schedule_refresh(self, now: float) -> list[Output]:
        if self.expires_at is None:
            self.expires_at = now + self.expires
        remaining = self.expires_at - now
        # Refresh `refresh_margin` before expiry, but never later than half-way [choice].
        self.refresh_at = self.expires_at - min(self.config.refresh_margin, remaining / 2)
        return []

    def _schedule_retry(self, now: float) -> list[Output]:
        delay = self._input_delay if self._input_delay is not None else self._backoff()
        self.retry_at = now + delay
        self.refresh_at = self.expires_at = None
        self.remote_tag = None
        return [*self._abandon_pending(), self._failure_event(self.retry_at)]

    def _failure_event(self, retry_at: float | None) -> Output:
        """What the application is told: terminated by the notifier, or a failed request."""
        reason, self._notify_reason = self._notify_reason, None
        if reason is not None:
            return SubscriptionTerminated(reason=reason, retry_at=retry_at)
        return SubscriptionFailed(status=self.last_status, reason=self._reason_text(), retry_at=retry_at)

    def _backoff(self) -> float:
        # Exponential back-off for timeouts and unexplained failures: base * 2**(n-1), capped [choice].
        self.failures += 1
        return min(self.config.retry_base * 2 ** (self.failures - 1), self.config.retry_max)

    def _give_up(self, now: float) -> list[Output]:
        self.retry_at = self.refresh_at = self.expires_at = None
        self.remote_tag = None
        return [*self._abandon_pending(), self._failure_event(None)]

    def _abandon_pending(self) -> list[Output]:
        """Answers to requests of the abandoned dialog (a refresh or Set in flight) will be ignored;
        a Set still waiting is reported now as unanswered (status 0)."""
        out: list[Output] = [
            SetRequestAnswered(item=item, status=0) for purpose, item in self.pending.values()
            if purpose == "set" and item is not None
        ]  # fmt: skip
        self.pending.clear()
        return out

    def _forget(self, now: float) -> list[Output]:
        self.retry_at = self.refresh_at = self.expires_at = None
        self.pending.clear()
        return [SubscriptionTerminated(reason="stopped", retry_at=None)]

    def _unsubscribed(self, now: float) -> list[Output]:
        self.retry_at = self.refresh_at = self.expires_at = None
        self.pending.clear()
        return [SubscriptionTerminated(reason="unsubscribed", retry_at=None)]

    def _reason_text(self) -> str:
        return self._reason or (str(self.last_status) if self.last_status else "timeout")

    _reason: str = ""
    _last_purpose: tuple[str, FeatureSet | None] = ("initial", None)

    # --- network input --------------------------------------------------------------------------

    def _on_response(self, now: float, request: Request, response: Response) -> list[Output]:
        branch = request.top_via.branch or ""
        if response.status < 200 or request.call_id != self.call_id:
            return []  # provisional, or an answer to an abandoned subscription attempt
        purpose, item = self.pending.pop(branch, ("stale", None))
        if purpose == "stale":
            return []
        self._last_purpose = (purpose, item)
        self.last_status, self._reason = response.status, response.reason
        self._input_delay = None
        status = response.status
        answered = self._answers.pop(branch, False)
        if status in (401, 407) and self.auth is not None and self._answer_challenge(response, answered):
            return self._fire(now, In.CHALLENGED)
        out: list[Output] = []
        if purpose == "set":
            assert item is not None
            out.append(SetRequestAnswered(item=item, status=status))
        if status < 300:
            if purpose == "unsubscribe":
                return out + self._fire(now, In.ACCEPTED)
            if self.remote_tag is None:
                # RFC 6665 §4.1.2.1: the 2xx creates the dialog (its To tag, Contact, Record-Route).
                self.remote_tag = response.to.tag
                if response.contacts:
                    self.remote_target = response.contacts[0].uri
                self.route_set = [str(r) for r in reversed(response.record_routes)]
            granted = response.expires
            # RFC 6665 §4.2.1.1: the 2xx Expires may be shorter than asked, never longer.
            if granted:
                self.expires = min(granted, self.expires)
            self.expires_at = now + self.expires
            return out + self._fire(now, In.ACCEPTED)
        if purpose == "set" and status != 481:
            return out  # a refused Set changes nothing in the subscription
        return out + self._fire(now, self._failure_input(response))

    def _answer_challenge(self, response: Response, answered: bool) -> bool:
        """RFC 3261 §22.2: a challenge to a request without credentials, or with credentials from an
        earlier challenge, is answered; a second 401 to our answer is final unless the nonce was
        merely stale (RFC 7616 §3.3), at most MAX_STALE_ANSWERS times in a row [choice]."""
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        challenge = best_challenge(response.headers.get_all(header))
        if challenge is None:
            return False
        name = "Authorization" if response.status == 401 else "Proxy-Authorization"
        if not answered:
            self._stale_answers = 0
        elif challenge.stale and self._stale_answers < MAX_STALE_ANSWERS:
            self._stale_answers += 1
        else:
            self._challenge = None
            return False
        self._challenge = (name, challenge)
        return True

    def _failure_input(self, response: Response) -> SubInput:
        status = response.status
        if status == 481:
            return In.GONE
        if status == 423 and response.min_expires:
            # RFC 3261 §10.2.8 / RFC 6665 §4.1.2.1: retry at once with at least Min-Expires.
            self._min_expires = response.min_expires
            self._input_delay = 0.0
            return In.REJECTED
        if status == 489:
            self._input_delay = self.config.retry_bad_event
            return In.REJECTED
        if status in (401, 403, 407):
            if self.config.retry_forbidden is None:
                return In.REJECTED_FINAL
            # Not parked for an hour: 60 s, 120 s, ... up to retry_max (docs/sip.md) [choice].
            self.failures += 1
            self._input_delay = min(self.config.retry_forbidden * 2 ** (self.failures - 1),
                                    self.config.retry_max)
            return In.REJECTED
        retry_after = response.retry_after
        if retry_after is not None and (status >= 500 or status in (404, 408, 480, 486, 600, 603)):
            # RFC 3261 §20.33: Retry-After says when the service is expected to be back.
            self._input_delay = float(retry_after.seconds)
        return In.REJECTED

    def _on_timeout(self, now: float, request: Request) -> list[Output]:
        branch = request.top_via.branch or ""
        self._answers.pop(branch, None)
        purpose, item = self.pending.pop(branch, ("stale", None))
        if purpose == "stale" or request.call_id != self.call_id:
            return []
        self.last_status, self._reason, self._input_delay = 0, "timeout", None
        if purpose == "set":
            assert item is not None
            return [SetRequestAnswered(item=item, status=0)]
        return self._fire(now, In.REJECTED)

    def _on_request(self, now: float, request: Request, source: Address) -> list[Output]:
        if request.method != "NOTIFY":
            return self._answer(now, request, 405, headers=[("Allow", "NOTIFY")])
        event = request.event
        if event is None or event.package != EVENT_PACKAGE:
            return self._answer(now, request, 489, headers=[("Allow-Events", EVENT_PACKAGE)])
        # RFC 6665 §4.1.2.4: a NOTIFY matches the subscription by Call-ID, To tag = our From tag,
        # and (once known) From tag = the dialog's remote tag; anything else gets 481.
        in_attempt = self.state in (St.SUBSCRIBING, St.ACTIVE, St.UNSUBSCRIBING)
        if (
            not in_attempt or request.call_id != self.call_id or request.to.tag != self.local_tag
            or (self.remote_tag is not None and request.from_.tag != self.remote_tag)
        ):  # fmt: skip
            return self._answer(now, request, 481)
        substate = request.subscription_state
        if substate is None:
            return self._answer(now, request, 400, "Missing Subscription-State header")
        if self.remote_cseq is not None and request.cseq.seq <= self.remote_cseq:
            # RFC 3261 §12.2.2: a lower CSeq in the dialog is out of order: 500.
            return self._answer(now, request, 500, "CSeq out of order")
        items: list[FeatureEvent] = []
        ignored: list[Output] = []
        if request.body:
            # Issue 12 §1: a NOTIFY whose framing is valid is answered 200 (a failure answer makes
            # the notifier remove the subscription, RFC 6665 §4.2.2); what is understood is applied,
            # every other part or element is left out and reported. Broken framing raises (400).
            reading = read_feature_body(request.content_type, request.body)
            for entry in reading.items:
                if isinstance(entry, SetDoNotDisturb | SetForwarding):
                    ignored.append(NotifyPartIgnored(reason=f"{type(entry).__name__} in a NOTIFY ignored"))
                else:
                    items.append(entry)
            ignored[:0] = [NotifyPartIgnored(reason=reason) for reason in reading.ignored]
        self.remote_cseq = request.cseq.seq
        out = self._answer(now, request, 200)
        if self.remote_tag is None:
            # RFC 6665 §4.1.2.4: a NOTIFY arriving before the 2xx creates the dialog.
            self.remote_tag = request.from_.tag
            if request.contacts:
                self.remote_target = request.contacts[0].uri
            self.route_set = [str(r) for r in request.record_routes]
        full = False
        if request.body:
            full, self._full_due = self._full_due, False
        state_events: list[Output] = ignored + (
            [FeatureStateReceived(items=tuple(items), full=full)] if items or full else []
        )
        if substate.state == "terminated":
            out += state_events
            self._input_delay = float(substate.retry_after) if substate.retry_after is not None else None
            self.last_status, self._reason = 0, substate.reason or "terminated"
            event_in = TERMINATED_REASONS.get(substate.reason or "", In.TERMINATED_LATER)
            if self.state is not St.UNSUBSCRIBING:
                self._notify_reason = substate.reason or "terminated"
                if event_in is In.TERMINATED_NOW:
                    out.append(SubscriptionTerminated(reason=substate.reason, retry_at=now))
            return out + self._fire(now, event_in)
        if substate.expires is not None and self.state is not St.UNSUBSCRIBING:
            # RFC 6665 §4.1.2.3: the NOTIFY's expires updates the subscription's duration.
            new_end = now + substate.expires
            if self.expires_at is None or new_end < self.expires_at:
                self.expires_at = new_end
        # RFC 6665 §4.1.3: "pending" means accepted but not yet authorized; reported as such.
        self._substate = substate.state if substate.state in ("active", "pending") else "active"
        out += self._fire(now, In.NOTIFY_ACTIVE)
        self._substate = "active"
        return out + state_events

    # --- timers ---------------------------------------------------------------------------------

    def _own_deadline(self) -> float | None:
        # Asked after every message (drivers re-arm their timer): no list, no min().
        first = None
        for t in (self.refresh_at, self.retry_at, self.expires_at):
            if t is not None and (first is None or t < first):
                first = t
        return first

    def _on_own_timer(self, now: float) -> list[Output]:
        if self.retry_at is not None and self.retry_at <= now and self.state is St.WAITING:
            self.retry_at = None
            return self._fire(now, In.RETRY_DUE)
        if self.expires_at is not None and self.expires_at <= now:
            self.expires_at = None
            if (self.state, In.EXPIRED) in TABLE:
                return self._fire(now, In.EXPIRED)
        if self.refresh_at is not None and self.refresh_at <= now and self.state is St.ACTIVE:
            self.refresh_at = None
            return self._fire(now, In.REFRESH_DUE)
        return []
