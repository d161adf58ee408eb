"""The handset's side of an incoming call (portable part), sans I/O.

One responsibility: answer the base's call transaction as a GAP handset does (EN 300 444 §8.12,
EN 300 175-5 §9.3): a CC-SETUP from the base (TI flag 0) makes the handset ring and show the caller,
and it answers CC-ALERTING at once; TALK while it rings takes the call (CC-CONNECT; the base's
CC-CONNECT-ACK confirms it); END ends it (CC-RELEASE, "normal" in a call, "user rejection" while it
rings; the base's CC-RELEASE-COM closes it); a CC-RELEASE from the base (the caller gave up, the call
went elsewhere, the far end hung up) is completed with CC-RELEASE-COM. A handset already in a call
refuses a second CC-SETUP with CC-RELEASE-COM "user busy" (the base normally knows and never sends
one). Messages go out through the handset's queue; the replies carry TI flag 1 and the base's value.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dect.codec import MessageType, NwkMessage, Side, encode, message
from dect.events import CallAlerted, CallEnded, HandsetEvent
from dect.ies import ReleaseReason, ReleaseReasonCode
from dect.ies_var import CallingPartyNumber, MultiDisplay

_NORMAL = ReleaseReason(reason=ReleaseReasonCode.NORMAL)
_BUSY = ReleaseReason(reason=ReleaseReasonCode.USER_BUSY)


def _reason(msg: NwkMessage) -> ReleaseReasonCode:
    reason = msg.get(ReleaseReason)
    return reason.reason if reason else ReleaseReasonCode.NORMAL


class CallPhase(enum.Enum):
    RINGING = "ringing"
    CONNECTING = "connecting"   # CC-CONNECT sent, waiting for CC-CONNECT-ACK
    IN_CALL = "in call"
    RELEASING = "releasing"     # our CC-RELEASE sent


@dataclass
class IncomingCall:
    tv: int
    caller: str
    phase: CallPhase


class HandsetCalls:
    """At most one call of the base's at a time, as on a GAP handset without call waiting."""

    def __init__(self, outgoing: list[bytes]) -> None:
        self.call: IncomingCall | None = None
        self._outgoing = outgoing

    @property
    def message(self) -> str | None:
        """What the call puts on the display, or None without a call."""
        call = self.call
        if call is None:
            return None
        if call.phase is CallPhase.RINGING:
            return f"Call from\n{call.caller}"
        return f"In call\n{call.caller}"

    def ringing(self) -> bool:
        return self.call is not None and self.call.phase is CallPhase.RINGING

    def in_call(self) -> bool:
        return self.call is not None and self.call.phase in (CallPhase.CONNECTING, CallPhase.IN_CALL)

    def _reply(self, tv: int, kind: MessageType, *ies: ReleaseReason) -> None:
        self._outgoing.append(encode(message(kind, *ies, tv=tv, ti_flag=True), sender=Side.PP))

    def receive(self, msg: NwkMessage) -> list[HandsetEvent] | None:
        """A CC message of a base-initiated transaction; None when it is not one (TI flag 1)."""
        if msg.ti_flag:
            return None
        kind = msg.message_type
        call = self.call
        if kind is MessageType.CC_SETUP:
            if call is not None and call.tv != msg.tv:
                self._reply(msg.tv, MessageType.CC_RELEASE_COM, _BUSY)
                return []
            number = msg.get(CallingPartyNumber)
            shown = msg.get(MultiDisplay)
            caller = number.number if number else shown.text if shown else ""
            self.call = IncomingCall(tv=msg.tv, caller=caller, phase=CallPhase.RINGING)
            self._reply(msg.tv, MessageType.CC_ALERTING)
            return [CallAlerted(caller=caller)]
        if call is None or call.tv != msg.tv:
            if kind is MessageType.CC_RELEASE:  # EN 300 175-5 §9.4: a release is always completed
                self._reply(msg.tv, MessageType.CC_RELEASE_COM, _NORMAL)
            return []
        if kind is MessageType.CC_CONNECT_ACK and call.phase is CallPhase.CONNECTING:
            call.phase = CallPhase.IN_CALL
            return []
        if kind is MessageType.CC_RELEASE:
            answered = call.phase is not CallPhase.RINGING
            if call.phase is not CallPhase.RELEASING:
                self._reply(msg.tv, MessageType.CC_RELEASE_COM, _NORMAL)
            self.call = None
            return [CallEnded(answered=answered, reason=_reason(msg))]
        if kind is MessageType.CC_RELEASE_COM:
            self.call = None
            return [CallEnded(answered=call.phase is not CallPhase.RINGING, reason=_reason(msg))]
        return []

    def key(self, key: str) -> list[HandsetEvent] | None:
        """TALK or END while a call is there; None when the key is not the call's."""
        call = self.call
        if call is None or key not in ("TALK", "END"):
            return None
        if key == "TALK":
            if call.phase is CallPhase.RINGING:
                call.phase = CallPhase.CONNECTING
                self._reply(call.tv, MessageType.CC_CONNECT)
            return []
        if call.phase is CallPhase.RELEASING:
            return []
        ringing = call.phase is CallPhase.RINGING
        reason = ReleaseReasonCode.USER_REJECTION if ringing else ReleaseReasonCode.NORMAL
        call.phase = CallPhase.RELEASING
        self._reply(call.tv, MessageType.CC_RELEASE, ReleaseReason(reason=reason))
        return []

    def lost(self) -> None:
        """Out of range or switched off: the call is gone (the base's timers end its side)."""
        self.call = None
