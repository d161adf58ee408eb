"""The application server delivers calls to its users, applying their features as BroadWorks does.

One responsibility: an outside caller's call to a user, from `place` to one `CallOutcome`. The server
acts as the user's terminating side (a B2BUA towards the user's devices, as BroadWorks is): the
caller's side is not modelled as SIP, only its decisions (`place`, `hang_up`).

Rules, in order, from the user's `FeatureState` on the server (docs/appserver.md "Calls"):

1. unknown user: rejected 404; Do Not Disturb: rejected **486 Busy Here**, no device is offered the
   call [choice: BroadWorks sends a DND user's callers to busy treatment, or to voice mail, which is
   not modelled]; CFA: forwarded to its target at once, no device rings;
2. no registered contact: rejected **480 Temporarily Unavailable** (RFC 3261 §21.4.18);
3. else an INVITE with an SDP offer to every registered contact (forking, one leg and one Call-ID
   per contact, B2BUA style), From the caller's number at the server's domain. The first 2xx takes
   the call (ACKed, RFC 3261 §13.2.2.4) and every other leg is CANCELled (§9.1; a later 2xx of
   another leg is ACKed and then ended with BYE, §13.2.2.4). A 302 from a device means the device
   forwarded the call: the server follows it (forwarded by "base", to the Contact's user part).
4. every leg answered busy (486, 600): CFB active ? forwarded to its target : rejected 486; every leg
   failed otherwise: rejected with the first leg's status (408 for a leg that never answered, Timer B);
5. CFNA active: after `rings` × `RING_INTERVAL` of ringing the legs are CANCELled and the call is
   forwarded to the CFNA target; without CFNA the caller gives up after `NO_ANSWER_TIMEOUT`
   (outcome unanswered).

CANCEL is sent only on a leg that has had a provisional response (§9.1); before that it is sent as
soon as one arrives (or the final response makes it moot). Once answered, `hang_up` sends BYE to the
device; the device's BYE is answered 200 (`CallCleared`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field

from sip.core import Core
from sip.events import Address, CallCleared, CallOutcome, CallRinging, Output
from sip.message import Headers, Request, Response
from sip.sdp import MEDIA_TYPE, build_offer
from sip.server.registrar import Binding
from sip.server.users import Directory
from sip.state import DEFAULT_RINGS, FeatureState
from sip.transaction import TimerConfig
from sip.uri import NameAddr, SipUri, is_ip_literal

#: One ring cycle, seconds: CFNA forwards after its ring count times this [choice: the usual 6 s
#: ring cadence (1 s on, 4-5 s off plus set-up); BroadWorks counts rings of about 6 s].
RING_INTERVAL = 6.0
#: How long the outside caller lets a call ring without CFNA before giving up, seconds [choice].
NO_ANSWER_TIMEOUT = 60.0
#: The codecs the server offers towards devices (RFC 3551 payload types: PCMA, PCMU, G722, events).
CALL_CODECS = (8, 0, 9, 101)
#: The server's RTP port for delivered calls [choice].
CALL_MEDIA_PORT = 4002
_BUSY = (486, 600)


class LegState(enum.Enum):
    CALLING = "calling"        # INVITE sent, nothing back
    PROCEEDING = "proceeding"  # a provisional response came
    ANSWERED = "answered"      # 2xx, ACKed
    FAILED = "failed"          # a final non-2xx or Timer B
    ENDED = "ended"            # BYE sent or received, or cancelled


@dataclass(eq=False)
class _Leg:
    call_id: str
    contact: str
    destination: Address
    invite: Request
    state: LegState = LegState.CALLING
    status: int | None = None
    cancel_wanted: bool = False
    remote: Response | None = None   # the 2xx, for the ACK and BYE


@dataclass(eq=False)
class _Call:
    label: str
    caller: str
    user: str
    legs: list[_Leg] = field(default_factory=list)
    outcome: CallOutcome | None = None
    winner: _Leg | None = None
    deadline: float | None = None
    forward_to: str | None = None   # the CFNA target when `deadline` is the CFNA time


class CallDelivery(Core):
    """The server's call legs towards its users' devices, under one server address."""

    def __init__(self, *, local: Address, domain: str, ids: Callable[[], str], directory: Directory,
                 bindings: Callable[[str, float], list[Binding]], timers: TimerConfig | None = None,
                 user_agent: str | None = None) -> None:
        super().__init__(local=local, ids=ids, timers=timers, user_agent=user_agent)
        self.domain = domain
        self.directory = directory
        self.bindings = bindings
        self.calls: dict[str, _Call] = {}
        self._legs: dict[str, tuple[_Call, _Leg]] = {}   # by the leg's Call-ID
        self._sdp_version = 0

    def owns_call_id(self, call_id: str) -> bool:
        return call_id in self._legs

    def outcome(self, label: str) -> CallOutcome | None:
        call = self.calls.get(label)
        return call.outcome if call is not None else None

    # --- the caller's side ------------------------------------------------------------------------------

    def place(self, now: float, *, caller: str, user: str, label: str) -> list[Output]:
        if label in self.calls:
            raise ValueError(f"call {label!r} was already placed")
        call = self.calls[label] = _Call(label=label, caller=caller, user=user)
        account = self.directory.get(user)
        if account is None:
            return self._decide(call, "rejected", "server", status=404)
        state: FeatureState = account.state
        if state.dnd:
            return self._decide(call, "rejected", "server", status=486)
        if state.cfa.active and state.cfa.to:
            return self._decide(call, "forwarded", "server", to=state.cfa.to, status=302)
        bindings = self.bindings(user, now)
        if not bindings:
            return self._decide(call, "rejected", "server", status=480)
        out: list[Output] = []
        for binding in bindings:
            out += self._invite(now, call, binding)
        if state.cfna.active and state.cfna.to:
            rings = state.cfna.rings if state.cfna.rings is not None else DEFAULT_RINGS
            call.deadline, call.forward_to = now + rings * RING_INTERVAL, state.cfna.to
        else:
            call.deadline = now + NO_ANSWER_TIMEOUT
        return out

    def hang_up(self, now: float, label: str) -> list[Output]:
        """The outside caller hangs up: CANCEL while ringing (outcome unanswered), BYE once answered."""
        call = self.calls.get(label)
        if call is None:
            raise ValueError(f"there is no call {label!r}")
        if call.outcome is None:
            return self._cancel_all(now, call) + self._decide(call, "unanswered", "server")
        leg = call.winner
        if leg is None or leg.state is not LegState.ANSWERED:
            return []
        leg.state = LegState.ENDED
        return [*self._bye(now, leg), CallCleared(label=label, by="caller")]

    def _invite(self, now: float, call: _Call, binding: Binding) -> list[Output]:
        contact = binding.contact.uri
        destination = binding.source
        if isinstance(contact, SipUri) and is_ip_literal(contact.host):
            destination = (contact.host.strip("[]"), contact.port or 5060)
        self._sdp_version += 1
        body = build_offer(address=self.local[0], session_id=self._sdp_version, version=1,
                           port=CALL_MEDIA_PORT, codecs=CALL_CODECS)
        call_id = self.ids()
        fields: list[tuple[str, object]] = [
            ("From", NameAddr(uri=SipUri(user=call.caller, host=self.domain), params=(("tag", self.ids()),))),
            ("To", NameAddr(uri=SipUri(user=call.user, host=self.domain))),
            ("Call-ID", call_id), ("CSeq", "1 INVITE"),
            ("Contact", NameAddr(uri=self.local_uri(call.caller))),
            ("Content-Type", MEDIA_TYPE),
        ]
        invite = self._build("INVITE", contact, fields, body)
        leg = _Leg(call_id=call_id, contact=str(contact), destination=destination, invite=invite)
        call.legs.append(leg)
        self._legs[call_id] = (call, leg)
        return self._send_request(invite, destination, now)

    # --- the devices' answers ----------------------------------------------------------------------------

    def _on_response(self, now: float, request: Request, response: Response) -> list[Output]:
        found = self._legs.get(request.call_id)
        if found is None or request.method != "INVITE":
            return []
        call, leg = found
        status = response.status
        if status < 200:
            return self._provisional(now, call, leg, status)
        if status < 300:
            return self._answered(now, call, leg, response)
        if leg.state in (LegState.CALLING, LegState.PROCEEDING):
            leg.state, leg.status = LegState.FAILED, status
        if call.outcome is not None:
            return []
        if status in (301, 302) and response.contacts:
            uri = response.contacts[0].uri
            target = uri.user if isinstance(uri, SipUri) and uri.user else str(uri)
            out = self._cancel_all(now, call)
            return out + self._decide(call, "forwarded", "base", to=target, status=status,
                                      contact=leg.contact, leg=leg.call_id)
        return self._all_failed(now, call)

    def _provisional(self, now: float, call: _Call, leg: _Leg, status: int) -> list[Output]:
        out: list[Output] = []
        if leg.state is LegState.CALLING:
            leg.state = LegState.PROCEEDING
            if leg.cancel_wanted:
                out += self._cancel(now, leg)
        if status == 180 and call.outcome is None and not any(
                other.status == 180 for other in call.legs):
            leg.status = 180
            out.append(CallRinging(label=call.label, contact=leg.contact))
        return out

    def _answered(self, now: float, call: _Call, leg: _Leg, response: Response) -> list[Output]:
        out = self._ack(now, leg, response)
        if leg.remote is not None:
            return out   # a retransmitted 2xx: ACKed again (RFC 3261 §13.2.2.4)
        cancelled = leg.state is LegState.ENDED   # our CANCEL crossed the device's 200 (RFC 3261 §9.1)
        leg.remote, leg.state = response, LegState.ANSWERED
        if cancelled:
            leg.state = LegState.ENDED
            return out + self._bye(now, leg)
        if call.outcome is not None:
            # Another leg won, or the caller gave up meanwhile: this device's answer is ended at once.
            leg.state = LegState.ENDED
            return out + self._bye(now, leg)
        call.winner = leg
        out += self._cancel_all(now, call)
        return out + self._decide(call, "answered", leg.contact, contact=leg.contact, leg=leg.call_id)

    def _all_failed(self, now: float, call: _Call) -> list[Output]:
        if any(leg.state in (LegState.CALLING, LegState.PROCEEDING) for leg in call.legs):
            return []
        statuses = [leg.status or 408 for leg in call.legs]
        account = self.directory.get(call.user)
        if all(status in _BUSY for status in statuses):
            cfb = account.state.cfb if account is not None else None
            if cfb is not None and cfb.active and cfb.to:
                return self._decide(call, "forwarded", "server", to=cfb.to, status=302)
            return self._decide(call, "rejected", "server", status=486)
        return self._decide(call, "rejected", "server", status=statuses[0])

    def _on_timeout(self, now: float, request: Request) -> list[Output]:
        found = self._legs.get(request.call_id)
        if found is None or request.method != "INVITE":
            return []
        call, leg = found
        if leg.state in (LegState.CALLING, LegState.PROCEEDING):
            leg.state, leg.status = LegState.FAILED, 408
        return [] if call.outcome is not None else self._all_failed(now, call)

    def _on_request(self, now: float, request: Request, source: Address) -> list[Output]:
        found = self._legs.get(request.call_id)
        if request.method != "BYE":
            if found is None:
                return self._answer(now, request, 481)
            # RFC 3261 §21.4.6: a 405 MUST list the methods allowed (a re-INVITE is not: nothing is
            # renegotiated on a delivered call [choice]).
            return self._answer(now, request, 405, headers=[("Allow", "ACK, BYE")])
        if found is None or found[1].state is not LegState.ANSWERED:
            return self._answer(now, request, 481)   # RFC 3261 §15.1.2
        call, leg = found
        leg.state = LegState.ENDED
        return [*self._answer(now, request, 200), CallCleared(label=call.label, by="callee")]

    # --- requests the server sends --------------------------------------------------------------------

    def _ack(self, now: float, leg: _Leg, response: Response) -> list[Output]:
        """The ACK of a 2xx: a new request outside the transaction, to the device's Contact (§13.2.2.4)."""
        target = response.contacts[0].uri if response.contacts else leg.invite.uri
        fields: list[tuple[str, object]] = [
            ("From", leg.invite.headers.get("From") or ""), ("To", response.headers.get("To") or ""),
            ("Call-ID", leg.call_id), ("CSeq", "1 ACK"),
        ]
        return self.transactions.send_stateless(self._build("ACK", target, fields), leg.destination)

    def _bye(self, now: float, leg: _Leg) -> list[Output]:
        response = leg.remote
        assert response is not None
        target = response.contacts[0].uri if response.contacts else leg.invite.uri
        fields: list[tuple[str, object]] = [
            ("From", leg.invite.headers.get("From") or ""), ("To", response.headers.get("To") or ""),
            ("Call-ID", leg.call_id), ("CSeq", "2 BYE"),
        ]
        return self._send_request(self._build("BYE", target, fields), leg.destination, now)

    def _cancel(self, now: float, leg: _Leg) -> list[Output]:
        """CANCEL (RFC 3261 §9.1): the INVITE's Request-URI, Call-ID, From, To, CSeq number and top
        Via, method CANCEL, as a non-INVITE client transaction of its own."""
        invite = leg.invite
        headers = Headers()
        headers.add("Via", invite.headers.get("Via") or "")
        headers.add("Max-Forwards", "70")
        for name in ("From", "To", "Call-ID"):
            headers.add(name, invite.headers.get(name) or "")
        headers.add("CSeq", f"{invite.cseq.seq} CANCEL")
        return self.transactions.send(Request(method="CANCEL", uri=invite.uri, headers=headers),
                                      leg.destination, now)

    def _cancel_all(self, now: float, call: _Call) -> list[Output]:
        out: list[Output] = []
        for leg in call.legs:
            if leg is call.winner:
                continue
            if leg.state is LegState.PROCEEDING:
                leg.state = LegState.ENDED
                out += self._cancel(now, leg)
            elif leg.state is LegState.CALLING:
                leg.cancel_wanted = True
        return out

    def _decide(self, call: _Call, outcome: str, by: str, *, to: str | None = None,
                status: int | None = None, contact: str | None = None,
                leg: str | None = None) -> list[Output]:
        call.deadline = None
        call.outcome = CallOutcome(label=call.label, outcome=outcome, by=by, to=to, status=status,
                                   contact=contact, leg=leg)
        return [call.outcome]

    # --- timers -------------------------------------------------------------------------------------------

    def _own_deadline(self) -> float | None:
        deadlines = [call.deadline for call in self.calls.values() if call.deadline is not None]
        return min(deadlines) if deadlines else None

    def _on_own_timer(self, now: float) -> list[Output]:
        out: list[Output] = []
        due = [call for call in self.calls.values() if call.deadline is not None and call.deadline <= now]
        for call in sorted(due, key=lambda c: (c.deadline or 0.0, c.label)):
            target = call.forward_to
            out += self._cancel_all(now, call)
            if target is not None:
                out += self._decide(call, "forwarded", "server", to=target, status=302)
            else:
                out += self._decide(call, "unanswered", "server")
        return out
