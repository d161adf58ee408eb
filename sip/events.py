"""Events that the sans-I/O SIP cores return (conventions point 4).

One responsibility: the vocabulary between the cores and their drivers/applications. Every event
is a frozen, keyword-only dataclass; things received from the peer are named in the past tense.
`SendDatagram` is the one instruction to the driver: put these octets on the wire.
"""

from __future__ import annotations

from dataclasses import dataclass

from sip.feature_event import FeatureEvent, FeatureSet
from sip.message import Request, Response

#: (host, port) of a UDP peer.
Address = tuple[str, int]


@dataclass(frozen=True, kw_only=True)
class SendDatagram:
    """Driver: send `data` to `destination` over UDP."""

    data: bytes
    destination: Address


# --- transaction layer (RFC 3261 §17) -----------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class RequestReceived:
    """A new request (not a retransmission) arrived; a server transaction now waits for an answer."""

    request: Request
    source: Address


@dataclass(frozen=True, kw_only=True)
class ResponseReceived:
    """A response to one of our client transactions (retransmissions of finals are absorbed)."""

    request: Request
    response: Response


@dataclass(frozen=True, kw_only=True)
class TransactionTimedOut:
    """Timer F or B fired: no final response (RFC 3261 §17.1.1.2, §17.1.2.2); treat as 408."""

    request: Request


# --- subscriber (the base, RFC 6665 §4.1) -------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SubscriptionActivated:
    """The subscription's dialog exists and is active (or pending) until `expires_at`."""

    expires_at: float
    state: str


@dataclass(frozen=True, kw_only=True)
class FeatureStateReceived:
    """A NOTIFY brought feature states (full state or only the changed features)."""

    items: tuple[FeatureEvent, ...]


@dataclass(frozen=True, kw_only=True)
class SubscriptionFailed:
    """The subscription is not active; `retry_at` is when the core tries again (None: never, until
    `start()` is called again, e.g. after a configuration change)."""

    status: int
    reason: str
    retry_at: float | None


@dataclass(frozen=True, kw_only=True)
class SubscriptionTerminated:
    """The notifier ended the subscription (Subscription-State: terminated) or we unsubscribed."""

    reason: str | None
    retry_at: float | None


@dataclass(frozen=True, kw_only=True)
class SubscriptionStateChanged:
    """The subscriber core moved to another state (a `sip.subscriber.SubState` value), reported after
    that transition's other outputs. The one source of truth for "can a Set go out now": only while
    `state` is "active"; an application mirrors it and never keeps its own guess."""

    state: str


@dataclass(frozen=True, kw_only=True)
class SetRequestAnswered:
    """The server answered an in-dialog Set request; status 0 = no answer (the transaction timed out
    or the subscription ended before the answer came)."""

    item: FeatureSet
    status: int


# --- notifier (the server, RFC 6665 §4.2) -------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SubscribeReceived:
    """A SUBSCRIBE (new or refresh) waits for `accept()`/`reject()` under `request_id`."""

    request_id: int
    subscription_id: int
    user: str
    expires: int
    initial: bool


@dataclass(frozen=True, kw_only=True)
class SetRequestReceived:
    """An in-dialog SUBSCRIBE carried a Set body; waits for `accept()`/`reject()` under `request_id`."""

    request_id: int
    subscription_id: int
    user: str
    item: FeatureSet


@dataclass(frozen=True, kw_only=True)
class SubscriptionEnded:
    """A notifier-side subscription is gone (unsubscribed, expired, 481 or timeout to a NOTIFY)."""

    subscription_id: int
    user: str
    reason: str


# --- registration client (RFC 3261 §10) ---------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Registered:
    """The registrar accepted the binding until `expires_at`."""

    expires_at: float


@dataclass(frozen=True, kw_only=True)
class RegistrationFailed:
    """Registration failed with `status` (0 = timeout); the core retries at `retry_at` (None: never)."""

    status: int
    reason: str
    retry_at: float | None


# --- feature access code caller (RFC 3261 §13, §17.1.1) -----------------------------------------


@dataclass(frozen=True, kw_only=True)
class FeatureCodeAnswered:
    """The server answered the call to a feature access code (status 0: no answer, timeout). `reason`
    is the response's reason phrase: for an interrogation code (e.g. `*21*`) it carries the status,
    e.g. "CFA active to 3000"."""

    code: str
    status: int
    reason: str = ""


Output = (
    SendDatagram
    | RequestReceived
    | ResponseReceived
    | TransactionTimedOut
    | SubscriptionActivated
    | FeatureStateReceived
    | SubscriptionFailed
    | SubscriptionTerminated
    | SubscriptionStateChanged
    | SetRequestAnswered
    | SubscribeReceived
    | SetRequestReceived
    | SubscriptionEnded
    | Registered
    | RegistrationFailed
    | FeatureCodeAnswered
)
