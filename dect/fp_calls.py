"""Incoming calls at the base's DECT endpoint: the CC transactions the fixed part starts, sans I/O.

One responsibility: the FP side of a call the base delivers to a handset (EN 300 175-5 §9.3,
"FT-initiated call establishment"; EN 300 444 GAP §8.12 "incoming call"):

    FP  CC-SETUP (PORTABLE-IDENTITY, FIXED-IDENTITY, BASIC-SERVICE, CALLING-PARTY-NUMBER,
        SIGNAL alerting on)                                          TI flag 0, the FP's own TV
    PP  CC-ALERTING                       -> `IncomingCallAlerting`  (the SIP side sends 180)
    PP  CC-CONNECT (the user pressed TALK) -> `IncomingCallAnswered`; FP CC-CONNECT-ACK
    PP  CC-INFO (MULTI-KEYPAD: digits the user presses in the call, DTMF)  taken, the call goes on
    ... either side ends it: CC-RELEASE, answered by CC-RELEASE-COM (§9.3.3; EN 300 175-5 §9.4)

The base starts a call with `offer`, cancels or hangs up with `release`; its messages go through the
endpoint's pager (`dect.paging`): a handset without a link is paged first. A transaction the base
starts is named by the link, CC and the base's transaction value, with TI flag 0 on the base's
messages and 1 on the handset's (§7.3). The base's values are 0..5 per link, lowest free first:
value 6 is left for connectionless use, as libdect keeps it, and 7 is the escape to an extended TI.
Supervision [choice, as dect-nwk.md §4 uses CC.03 for the other direction]: a CC-SETUP the handset
does not answer with CC-ALERTING or CC-CONNECT within `CC_03` is released (0D timer expiry, not
reached); a CC-RELEASE the handset does not complete within `CC_02` is forgotten.

A CC-INFO from the handset belongs in a call: a GAP handset sends the keys pressed during a call as
MULTI-KEYPAD in CC-INFO (EN 300 444; libdect's CC-INFO table admits KEYPAD from the PP). It is taken
in every phase and changes nothing: media, and so the DTMF it would become, is not modelled [choice].
Before, the base answered it with CC-RELEASE-COM and so dropped the call at a key press.

Each call's phase moves only through `TABLE`, `(phase, input) -> (action, next phase)`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from dect.codec import MessageType, NwkMessage, ProtocolDiscriminator, Side, encode, message
from dect.errors import DectError, RemoteProtocolError
from dect.events import (
    BaseEvent,
    IncomingCallAlerting,
    IncomingCallAnswered,
    IncomingCallEnded,
    Link,
    Transmission,
)
from dect.identity import Ipui
from dect.ies import BasicService, ReleaseReason, ReleaseReasonCode, Signal, SignalValue
from dect.ies_var import CallingPartyNumber, FixedIdentity, MultiDisplay, PortableIdentity

#: Seconds the base waits for the handset to answer its CC-SETUP (EN 300 175-5 Annex A <CC.03>).
CC_03 = 20.0
#: Seconds the base waits for the CC-RELEASE-COM of its CC-RELEASE (Annex A <CC.02>).
CC_02 = 36.0
#: The most caller-number octets the CC-SETUP carries: an IE's content is at most 255 octets (one length
#: octet of a variable-length IE, dect.codec) and CALLING-PARTY-NUMBER spends one on type and plan.
NUMBER_OCTETS = 254
#: The base's transaction values for the calls it starts (6 kept for connectionless use, 7 escape).
FP_VALUES = range(6)


class Phase(enum.Enum):
    SETUP_SENT = "setup sent"
    ALERTING = "alerting"
    CONNECTED = "connected"
    RELEASING = "releasing"  # our CC-RELEASE sent
    ENDED = "ended"


class Input(enum.Enum):
    ALERTING = "CC-ALERTING"
    CONNECT = "CC-CONNECT"
    PEER_RELEASE = "CC-RELEASE from the handset"
    PEER_RELEASE_COM = "CC-RELEASE-COM from the handset"
    INFO = "CC-INFO from the handset"
    RELEASE = "the base releases"
    TIMER = "timer"


class Action(enum.Enum):
    NONE = "none"
    REPORT_ALERTING = "report alerting"
    CONNECT_ACK = "send CC-CONNECT-ACK, report answered"
    RELEASE_COM = "send CC-RELEASE-COM, report ended by the handset"
    ENDED_BY_HANDSET = "report ended by the handset"
    SEND_RELEASE = "send CC-RELEASE"
    RELEASE_DONE = "report ended by the base"


_P, _I, _A = Phase, Input, Action
TABLE: dict[tuple[Phase, Input], tuple[Action, Phase]] = {
    (_P.SETUP_SENT, _I.ALERTING): (_A.REPORT_ALERTING, _P.ALERTING),
    (_P.SETUP_SENT, _I.CONNECT): (_A.CONNECT_ACK, _P.CONNECTED),
    (_P.SETUP_SENT, _I.PEER_RELEASE): (_A.RELEASE_COM, _P.ENDED),
    (_P.SETUP_SENT, _I.PEER_RELEASE_COM): (_A.ENDED_BY_HANDSET, _P.ENDED),
    (_P.SETUP_SENT, _I.RELEASE): (_A.SEND_RELEASE, _P.RELEASING),
    (_P.SETUP_SENT, _I.TIMER): (_A.SEND_RELEASE, _P.RELEASING),
    (_P.ALERTING, _I.CONNECT): (_A.CONNECT_ACK, _P.CONNECTED),
    (_P.ALERTING, _I.PEER_RELEASE): (_A.RELEASE_COM, _P.ENDED),
    (_P.ALERTING, _I.PEER_RELEASE_COM): (_A.ENDED_BY_HANDSET, _P.ENDED),
    (_P.ALERTING, _I.RELEASE): (_A.SEND_RELEASE, _P.RELEASING),
    (_P.CONNECTED, _I.PEER_RELEASE): (_A.RELEASE_COM, _P.ENDED),
    (_P.CONNECTED, _I.PEER_RELEASE_COM): (_A.ENDED_BY_HANDSET, _P.ENDED),
    (_P.CONNECTED, _I.RELEASE): (_A.SEND_RELEASE, _P.RELEASING),
    (_P.RELEASING, _I.PEER_RELEASE): (_A.RELEASE_DONE, _P.ENDED),     # release collision (§9.4.3)
    (_P.RELEASING, _I.PEER_RELEASE_COM): (_A.RELEASE_DONE, _P.ENDED),
    (_P.RELEASING, _I.TIMER): (_A.RELEASE_DONE, _P.ENDED),
    (_P.RELEASING, _I.ALERTING): (_A.NONE, _P.RELEASING),             # crossed on the air
    (_P.RELEASING, _I.CONNECT): (_A.NONE, _P.RELEASING),
    # The keypad in a call (DTMF) or overlap digits: taken, nothing changes (media is not modelled).
    (_P.SETUP_SENT, _I.INFO): (_A.NONE, _P.SETUP_SENT),
    (_P.ALERTING, _I.INFO): (_A.NONE, _P.ALERTING),
    (_P.CONNECTED, _I.INFO): (_A.NONE, _P.CONNECTED),
    (_P.RELEASING, _I.INFO): (_A.NONE, _P.RELEASING),
}

_INPUTS = {
    MessageType.CC_ALERTING: Input.ALERTING,
    MessageType.CC_CONNECT: Input.CONNECT,
    MessageType.CC_RELEASE: Input.PEER_RELEASE,
    MessageType.CC_RELEASE_COM: Input.PEER_RELEASE_COM,
    MessageType.CC_INFO: Input.INFO,
}


@dataclass
class FpCall:
    key: str
    link: Link
    ipui: Ipui
    tv: int
    phase: Phase
    deadline: float | None
    reached: bool = False
    reason: ReleaseReasonCode = ReleaseReasonCode.NORMAL


class IncomingCalls:
    """The base-initiated CC transactions of one DECT manager, by call key and by (link, TV)."""

    def __init__(self, fixed_identity: FixedIdentity,
                 submit: Callable[[Transmission, Ipui, float], None]) -> None:
        self.fixed_identity = fixed_identity
        self.calls: dict[str, FpCall] = {}
        self._by_tv: dict[tuple[Link, int], FpCall] = {}
        self._submit = submit  # the endpoint's pager: over the link, or after paging the handset

    def busy(self, ipui: Ipui) -> bool:
        """The handset has a call of the base's in progress (ringing or connected)."""
        return any(call.ipui == ipui and call.phase is not Phase.RELEASING for call in self.calls.values())

    def _send(self, call: FpCall, now: float, kind: MessageType, *ies: object) -> None:
        msg = message(kind, *ies, tv=call.tv, ti_flag=False)  # type: ignore[arg-type]
        self._submit(Transmission(link=call.link, data=encode(msg, sender=Side.FP), name=msg.name), call.ipui,
                     now)

    def offer(self, link: Link, ipui: Ipui, *, key: str, caller: str, now: float) -> bool:
        """Send CC-SETUP for call `key` from `caller`; False when the link has no free value."""
        if key in self.calls:
            raise DectError(f"call {key!r} is already offered")
        used = {tv for (lk, tv) in self._by_tv if lk == link}
        free = [tv for tv in FP_VALUES if tv not in used]
        if not free:
            return False
        call = FpCall(key=key, link=link, ipui=ipui, tv=free[0], phase=Phase.SETUP_SENT,
                      deadline=now + CC_03)
        self.calls[key] = call
        self._by_tv[(link, call.tv)] = call
        # DECT IA5 only, and no longer than an IE holds: the caller's number comes from the SIP From
        # header, which any length of user part may fill (an IE that does not encode would raise).
        number = "".join(ch for ch in caller if ord(ch) <= 0x7F)[:NUMBER_OCTETS]
        self._send(call, now, MessageType.CC_SETUP, PortableIdentity.of(ipui), self.fixed_identity,
                   BasicService(), MultiDisplay(text=number or " "),
                   Signal(value=SignalValue.ALERTING_PATTERN_0), CallingPartyNumber(number=number))
        return True

    def release(self, key: str, now: float,
                reason: ReleaseReasonCode = ReleaseReasonCode.NORMAL) -> list[BaseEvent]:
        """The base ends call `key` (the caller gave up, the SIP side cancelled or hung up)."""
        call = self.calls.get(key)
        if call is None or call.phase in (Phase.RELEASING, Phase.ENDED):
            return []
        call.reason = reason
        return self._step(call, Input.RELEASE, now)

    def abort(self, link: Link, tv: int, reason: ReleaseReasonCode) -> list[BaseEvent]:
        """The endpoint answered a handset's message in the base's call (link, `tv`) with CC-RELEASE-COM
        (a message that fits no phase, or does not decode): for the handset the transaction is over,
        so it is over here too. A call that was not already being released is reported ended by the
        handset, so the firmware ends the SIP side; nothing is reported for a value with no call."""
        call = self._by_tv.pop((link, tv), None)
        if call is None:
            return []
        del self.calls[call.key]
        if call.phase in (Phase.RELEASING, Phase.ENDED):
            return []   # reported ended when the base released it
        call.phase = Phase.ENDED
        return [IncomingCallEnded(key=call.key, ipui=call.ipui, by_handset=True, reason=reason,
                                  reached=call.reached)]

    def receive(self, link: Link, msg: NwkMessage, now: float) -> list[BaseEvent] | None:
        """A handset's message with TI flag 1 in a CC transaction; None when it is not one of ours."""
        if msg.pd is not ProtocolDiscriminator.CC:
            return None
        call = self._by_tv.get((link, msg.tv))
        if call is None:
            return None
        event = _INPUTS.get(msg.message_type)
        if event is None:
            raise RemoteProtocolError(f"{msg.name} in an incoming call", reason=0x01, offset=1)
        if event in (Input.PEER_RELEASE, Input.PEER_RELEASE_COM):
            reason = msg.get(ReleaseReason)
            call.reason = reason.reason if reason else ReleaseReasonCode.NORMAL
        return self._step(call, event, now)

    def _step(self, call: FpCall, event: Input, now: float) -> list[BaseEvent]:
        row = TABLE.get((call.phase, event))
        if row is None:
            raise RemoteProtocolError(f"{event.value} while the incoming call is {call.phase.value}",
                                      reason=0x01, offset=1)
        action, phase = row
        call.phase = phase
        events: list[BaseEvent] = []
        if action is Action.REPORT_ALERTING:
            call.reached, call.deadline = True, None
            events.append(IncomingCallAlerting(key=call.key, ipui=call.ipui))
        elif action is Action.CONNECT_ACK:
            call.reached, call.deadline = True, None
            self._send(call, now, MessageType.CC_CONNECT_ACK)
            events.append(IncomingCallAnswered(key=call.key, ipui=call.ipui))
        elif action is Action.RELEASE_COM:
            self._send(call, now, MessageType.CC_RELEASE_COM, ReleaseReason(reason=ReleaseReasonCode.NORMAL))
        elif action is Action.SEND_RELEASE:
            if event is Input.TIMER:
                call.reason = ReleaseReasonCode.TIMER_EXPIRY
            self._send(call, now, MessageType.CC_RELEASE, ReleaseReason(reason=call.reason))
            call.deadline = now + CC_02
        if action in (Action.RELEASE_COM, Action.ENDED_BY_HANDSET):
            events.append(IncomingCallEnded(key=call.key, ipui=call.ipui, by_handset=True,
                                            reason=call.reason, reached=True))
        elif action is Action.SEND_RELEASE:
            events.append(IncomingCallEnded(key=call.key, ipui=call.ipui, by_handset=False,
                                            reason=call.reason, reached=call.reached))
        if phase is Phase.ENDED:
            del self.calls[call.key]
            del self._by_tv[(call.link, call.tv)]
        return events

    def next_deadline(self) -> float | None:
        deadlines = [call.deadline for call in self.calls.values() if call.deadline is not None]
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: float) -> list[BaseEvent]:
        events: list[BaseEvent] = []
        due = [call for call in self.calls.values() if call.deadline is not None and call.deadline <= now]
        for call in sorted(due, key=lambda c: (c.deadline or 0.0, c.key)):
            events += self._step(call, Input.TIMER, now)
        return events
