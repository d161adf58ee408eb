"""Events of the DECT side: what the base-side endpoint and the handset emulator report upward.

Frozen, keyword-only dataclasses; received things are named in the past tense (conventions point 4).
`Link` is the driver's opaque name for one handset's air link (the MAC/DLC connection, which on the real
air identifies the handset before any NWK message names it); the simulation uses the IPUI text.
"""

from __future__ import annotations

from dataclasses import dataclass

from dect.identity import Ipui
from dect.ies import RejectReasonCode, ReleaseReasonCode
from dect.proprietary import FeatureSetting

Link = str


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionRef:
    """Names one NWK transaction at the base: the link, the protocol (CC / CISS) and the PP's TV."""

    link: Link
    pd: int
    tv: int


# ------------------------------------------------------------------------------- base endpoint


@dataclass(frozen=True, slots=True, kw_only=True)
class HandsetLocated:
    """A known handset sent LOCATE-REQUEST (power on, back in range, roamed here) and was accepted."""

    link: Link
    ipui: Ipui


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationRejected:
    """An unknown handset sent LOCATE-REQUEST; LOCATE-REJECT was sent."""

    link: Link
    ipui: Ipui
    reason: RejectReasonCode


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessRightsGranted:
    """ACCESS-RIGHTS-REQUEST accepted: the handset is now registered (the policy recorded it)."""

    link: Link
    ipui: Ipui


@dataclass(frozen=True, slots=True, kw_only=True)
class AccessRightsRejected:
    """ACCESS-RIGHTS-REQUEST refused (unknown handset, wrong PIN, DECT manager full)."""

    link: Link
    ipui: Ipui
    reason: RejectReasonCode


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureRequested:
    """A handset asked to change a feature from its menu (CISS-REGISTER with a proprietary feature request).

    Answer with `DectEndpoint.accept_feature(ref)` or `reject_feature(ref, ...)` before the CC.03-style
    deadline (20 s), else the endpoint releases the transaction with reason 0D (timer expiry).
    """

    ref: TransactionRef
    ipui: Ipui
    setting: FeatureSetting


@dataclass(frozen=True, slots=True, kw_only=True)
class FacDialled:
    """A handset dialled a code (CC-SETUP with MULTI-KEYPAD); CC-CALL-PROC was sent.

    Answer with `DectEndpoint.complete_call(ref, accepted=..., display=...)` before the deadline.
    """

    ref: TransactionRef
    ipui: Ipui
    digits: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallReleased:
    """A call transaction ended (the handset released it, or the base completed it)."""

    ref: TransactionRef
    reason: ReleaseReasonCode


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionTimedOut:
    """Nobody answered a transaction in time; it was released with RELEASE-REASON 0D."""

    ref: TransactionRef
    message: str  # the message type name the transaction started with


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolErrorReceived:
    """Bytes from a handset that break EN 300 175-5; `answered` tells whether a reply was sent."""

    link: Link
    data: bytes
    reason: int
    detail: str
    answered: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class IncomingCallAlerting:
    """The handset answered the base's CC-SETUP with CC-ALERTING: it rings (`key` names the call)."""

    key: str
    ipui: Ipui


@dataclass(frozen=True, slots=True, kw_only=True)
class IncomingCallAnswered:
    """The user took the call (CC-CONNECT); the base sent CC-CONNECT-ACK."""

    key: str
    ipui: Ipui


@dataclass(frozen=True, slots=True, kw_only=True)
class IncomingCallEnded:
    """A base-initiated call transaction ended. `by_handset`: the handset released it (END, a refusal,
    busy) rather than the base; `reached`: it had ever answered the CC-SETUP."""

    key: str
    ipui: Ipui
    by_handset: bool
    reason: ReleaseReasonCode
    reached: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class IndicationDelivered:
    """The handset closed a feature indication's CISS transaction (CISS-RELEASE-COM): it got it."""

    link: Link
    ipui: Ipui


@dataclass(frozen=True, slots=True, kw_only=True)
class PagingFailed:
    """A handset did not answer its pages: the messages waiting for it were dropped (`dropped`)."""

    link: Link
    ipui: Ipui
    dropped: tuple[str, ...]


BaseEvent = (
    HandsetLocated
    | LocationRejected
    | AccessRightsGranted
    | AccessRightsRejected
    | FeatureRequested
    | FacDialled
    | CallReleased
    | TransactionTimedOut
    | ProtocolErrorReceived
    | IncomingCallAlerting
    | IncomingCallAnswered
    | IncomingCallEnded
    | IndicationDelivered
    | PagingFailed
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Transmission:
    """Bytes to put on the air towards (base → handset) or from (handset → base) a link."""

    link: Link
    data: bytes
    name: str  # the message type, for logs


# ------------------------------------------------------------------------------ handset emulator


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationAnswered:
    """The base answered the handset's LOCATE-REQUEST."""

    accepted: bool
    reason: RejectReasonCode | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrationAnswered:
    """The base answered the handset's ACCESS-RIGHTS-REQUEST."""

    accepted: bool
    reason: RejectReasonCode | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureStateIndicated:
    """The base indicated a feature's state (FACILITY); `refused` when it came with SIGNAL 09."""

    setting: FeatureSetting
    refused: bool
    display: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureRequestRefused:
    """The base refused a feature request (or did not answer it): the handset reverted the feature."""

    feature: str
    reason: ReleaseReasonCode
    display: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FacCompleted:
    """The outcome of a dialled code: CC-CONNECT (accepted) or CC-RELEASE-COM."""

    digits: str
    accepted: bool
    reason: ReleaseReasonCode | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestNotSent:
    """The user asked for something the handset could not send (out of range, no free transaction)."""

    operation: str
    why: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseMessageMalformed:
    """Bytes from the base that do not decode (the handset ignores them)."""

    data: bytes
    reason: int
    detail: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAlerted:
    """A call came in (the base's CC-SETUP): the handset rings and shows the caller."""

    caller: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded:
    """The handset's call ended (released by either side); `answered` if it had been taken."""

    answered: bool
    reason: ReleaseReasonCode


HandsetEvent = (
    LocationAnswered
    | RegistrationAnswered
    | FeatureStateIndicated
    | FeatureRequestRefused
    | FacCompleted
    | RequestNotSent
    | BaseMessageMalformed
    | CallAlerted
    | CallEnded
)
