"""Events that the sans-I/O SIP cores return (conventions point 4).

One responsibility: the vocabulary between the cores and their drivers/applications. Every event
is a frozen, keyword-only dataclass; things received from the peer are named in the past tense.
`SendDatagram` is the one instruction to the driver: put these octets on the wire, over its
`transport` (RFC 3261 §18: UDP, or a TCP/TLS connection the driver opens or reuses).
"""

from __future__ import annotations

from dataclasses import dataclass

from sip.feature_event import FeatureEvent, FeatureSet
from sip.message import Request, Response

#: (host, port) of a peer: a UDP socket address, or the far end of a TCP/TLS connection.
Address = tuple[str, int]

#: RFC 3261 §18 / §20.42 transports, spelled as in a Via's sent-protocol.
TRANSPORTS = ("UDP", "TCP", "TLS")


def is_reliable(transport: str) -> bool:
    """RFC 3261 §17.1.1.2: TCP and TLS are reliable transports (no retransmission timers)."""
    return transport != "UDP"


@dataclass(frozen=True, kw_only=True)
class SendDatagram:
    """Driver: send `data` to `destination` over `transport`. Over UDP one datagram; over TCP or TLS
    the octets go on the connection to `destination` (opened when there is none, RFC 3261 §18.1.1;
    a response goes on the connection its request came on, §18.2.2)."""

    data: bytes
    destination: Address
    transport: str = "UDP"


@dataclass(frozen=True, kw_only=True)
class ForeignRequestRefused:
    """A request came from an address that is not this core's peer (a NOTIFY or BYE that only the
    server, or the proxy in front of it, may send): it was answered 403 (an ACK: dropped) and changed
    nothing. For the log; `source` is where it came from."""

    method: str
    call_id: str
    source: Address


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
    """A NOTIFY brought feature states (full state or only the changed features). `full`: it is the
    first NOTIFY with a body after a (re)subscribe, so it holds every feature assigned to the user
    (feature-key-sync.md §2 steps 2-3; BroadWorks leaves unassigned services out)."""

    items: tuple[FeatureEvent, ...]
    full: bool = False


@dataclass(frozen=True, kw_only=True)
class NotifyPartIgnored:
    """A NOTIFY was answered 200, but one of its parts or elements was not understood and left out
    (or refused: a DTD or entities, never expanded). `reason` names it (issue 12 §1: be liberal)."""

    reason: str


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


# --- incoming calls (RFC 3261 §13.3, §15; docs/appserver.md "Calls") ------------------------------


@dataclass(frozen=True, kw_only=True)
class CallOffered:
    """The base's call core got a new INVITE (100 Trying sent): `caller` is the From URI's user part,
    `offer` the SDP body (None: an offerless INVITE, the offer goes in the 2xx)."""

    call_id: str
    caller: str
    offer: bytes | None = None


@dataclass(frozen=True, kw_only=True)
class CallConfirmed:
    """The ACK of our 2xx arrived: the call is established."""

    call_id: str


@dataclass(frozen=True, kw_only=True)
class CallCancelled:
    """The caller CANCELled a call not yet answered (200 to the CANCEL, 487 to the INVITE sent)."""

    call_id: str


@dataclass(frozen=True, kw_only=True)
class CallEnded:
    """An established call ended: `by` "remote" (their BYE, answered 200) or "local" (our BYE answered
    or timed out, or a 2xx never ACKed)."""

    call_id: str
    by: str


@dataclass(frozen=True, kw_only=True)
class CallRinging:
    """The server's call `label`: a contact answered 180 Ringing (the first one does)."""

    label: str
    contact: str


@dataclass(frozen=True, kw_only=True)
class CallOutcome:
    """What became of the server's call `label` (one per call): "answered" (by the contact URI that
    took it), "forwarded" (`by` "server" when the server's CFA/CFB/CFNA applied, "base" when a contact
    answered 302; `to` the target), "rejected" (`status` the final status the caller got) or
    "unanswered" (the caller gave up, or nobody answered within the server's no-answer time).
    `leg` is the Call-ID of the winning leg towards the contact, where there was one."""

    label: str
    outcome: str
    by: str
    to: str | None = None
    status: int | None = None
    contact: str | None = None
    leg: str | None = None


@dataclass(frozen=True, kw_only=True)
class CallCleared:
    """An answered call of the server's ended: `by` "caller" (the outside caller hung up) or "callee"."""

    label: str
    by: str


Output = (
    SendDatagram
    | ForeignRequestRefused
    | RequestReceived
    | ResponseReceived
    | TransactionTimedOut
    | SubscriptionActivated
    | FeatureStateReceived
    | NotifyPartIgnored
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
    | CallOffered
    | CallConfirmed
    | CallCancelled
    | CallEnded
    | CallRinging
    | CallOutcome
    | CallCleared
)
