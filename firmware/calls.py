"""Incoming calls at one DECT manager: a SIP INVITE for an account becomes a DECT call to its handsets.

One responsibility: tie the account's SIP call core (`sip.call.CallAnswerer`, the base's UAS) to the
DECT endpoint's incoming calls (`dect.fp_calls`), and apply the features the base keeps itself.

- The INVITE goes to every handset of the DECT manager whose account is the Request-URI's user (two
  handsets of one user on one DECT manager share one Contact, so the base, not the server, rings both):
  CC-SETUP to each; the first CC-ALERTING sends 180 Ringing; the first CC-CONNECT (TALK) takes the
  call: 200 OK with the SDP answer, and the other handsets are released. END sends BYE; the caller's
  BYE or CANCEL releases the handsets (CC-RELEASE; a CANCEL gets 487 from the SIP core).
- A handset in a call is busy: a second call to it gets **486 Busy Here** (no call waiting
  [choice]: the CC layer here carries one call per handset, as a GAP handset without the call-waiting
  supplementary service; EN 300 444 has call waiting only as an optional feature).
- **The base applies DND and forwarding itself** when they are kept by the base: FKS off or gated
  off for the handset (FKS state LOCAL), or a feature the model does not synchronise. With FKS
  active the server applies them (feature-key-sync.md §1) and the base only rings or says busy.
  DND: **486 Busy Here** [choice, as the server's busy treatment]; CFA: **302 Moved Temporarily**
  to the target at once, no ringing; CFB: 302 when every handset of the user is busy (else 486);
  CFNA: the handsets ring for `rings` × `RING_INTERVAL`, then are released and the caller gets 302.
- A handset that does not answer the CC-SETUP (out of range, off): after CC.03 the base gives up on
  it; when no handset was reached the caller gets **480 Temporarily Unavailable** (RFC 3261 §21.4.18:
  the callee's end system was contacted but the callee is currently unavailable). A user who
  rejects the call with END while it rings gives 486 as well [choice].

Everything is reported upward as `CallNote`s so a driver (the simulated world, the live twin's log)
can tell which handset answered: the SIP server only sees the DECT manager's Contact.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Protocol

from dect.endpoint import DectEndpoint
from dect.events import BaseEvent, IncomingCallAlerting, IncomingCallAnswered, IncomingCallEnded, Link
from dect.identity import Ipui
from dect.ies import ReleaseReasonCode
from firmware.fks import FksState
from firmware.lines import CallNote, FirmwareOut, Line
from sip.call import CallAnswerer, CallAnswererConfig
from sip.core import Core
from sip.events import Address, CallCancelled, CallEnded, CallOffered, Output
from sip.message import Request
from sip.state import DEFAULT_RINGS, Feature, FeatureState
from sip.transaction import TimerConfig, server_key

#: One ring cycle, seconds: CFNA's ring count times this is how long the handsets ring before the
#: base forwards [choice: the same 6 s the server uses, docs/firmware.md "Calls"].
RING_INTERVAL = 6.0
BUSY = 486
UNAVAILABLE = 480


@dataclass(eq=False)
class BaseCall:
    """One SIP call the base received, and the DECT calls it put out for it."""

    call_id: str
    line: Line
    core: CallAnswerer
    caller: str
    legs: dict[str, Ipui] = field(default_factory=dict)   # DECT call key -> handset
    rang: bool = False
    answered_by: Ipui | None = None
    cfna: tuple[float, str] | None = None                 # (deadline, target)
    rejected_by_user: bool = False
    over: bool = False


def kept_by_base(line: Line, feature: Feature) -> bool:
    """The base applies this feature to calls itself (FKS off/gated, or a feature not synchronised)."""
    fks = line.fks
    return fks.fks is FksState.LOCAL or feature not in fks.synced


class Manager(Protocol):
    """What the desk uses of its DECT manager (firmware.dect_manager.DectManager)."""

    number: int
    address: Address
    ids: Callable[[], str]
    timers: TimerConfig | None
    user_agent: str | None
    endpoint: DectEndpoint
    lines: dict[Ipui, Line]

    def link_of(self, ipui: Ipui) -> Link: ...

    def air(self) -> list[FirmwareOut]: ...

    def core_outputs(self, line: Line | None, core: Core, outputs: Iterable[Output],
                     now: float) -> list[FirmwareOut]: ...


class CallDesk:
    """The incoming calls of one DECT manager."""

    def __init__(self, dm: Manager) -> None:
        self.dm = dm
        self.calls: dict[str, BaseCall] = {}

    # --- SIP in --------------------------------------------------------------------------------

    def answerer(self, line: Line) -> CallAnswerer:
        if line.answerer is None:
            settings = line.settings
            line.answerer = CallAnswerer(
                CallAnswererConfig(aor=settings.aor, server=settings.request_server, local=self.dm.address,
                                   next_hop=settings.next_hop, user_agent=self.dm.user_agent),
                ids=self.dm.ids, timers=self.dm.timers)
            line.cores.append(line.answerer)
        return line.answerer

    def line_for(self, request: Request) -> Line | None:
        """The account a new INVITE is for: the Request-URI's user part is the account's user name
        (it is the user part of the Contact the account registered)."""
        if request.method != "INVITE":
            return None
        user = getattr(request.uri, "user", None)
        for line in self.dm.lines.values():
            if line.settings.aor.user == user and line.registered:
                return line
        return None

    def refused_invite_owner(self, request: Request) -> tuple[CallAnswerer, Line] | None:
        """The account whose call core holds the INVITE server transaction an ACK or CANCEL is for,
        when no call routes its Call-ID: an INVITE the core refused at once (415, 488) never became a
        call, yet its ACK must reach the transaction (RFC 3261 §17.2.1: else the final response goes
        out again until Timer H) and its CANCEL gets 200 (§9.2)."""
        if request.method not in ("ACK", "CANCEL"):
            return None
        key = server_key(replace(request, method="INVITE"))
        for line in self.dm.lines.values():
            answerer = line.answerer
            if answerer is not None and key in answerer.transactions.servers:
                return answerer, line
        return None

    def sip_event(self, line: Line, event: Output, now: float) -> list[FirmwareOut]:
        if isinstance(event, CallOffered):
            return self._offered(line, event, now)
        call = self.calls.get(getattr(event, "call_id", ""))
        if call is None:
            return []
        if isinstance(event, CallCancelled):
            return self._release_all(call, now) + self._end(call, "cancelled")
        if isinstance(event, CallEnded):
            out = self._release_all(call, now)
            return out + self._end(call, "hung up by the caller" if event.by == "remote" else "hung up")
        return []   # CallConfirmed: the ACK of our 200, nothing to do on the air

    def _handsets(self, line: Line) -> list[Line]:
        user = line.settings.aor.user
        return [other for other in self.dm.lines.values() if other.settings.aor.user == user]

    def _offered(self, line: Line, event: CallOffered, now: float) -> list[FirmwareOut]:
        core = self.answerer(line)
        call = BaseCall(call_id=event.call_id, line=line, core=core, caller=event.caller)
        self.calls[call.call_id] = call
        state: FeatureState = line.fks.state
        if kept_by_base(line, Feature.DND) and state.dnd:
            return self._reject(call, BUSY, now, "do not disturb")
        if kept_by_base(line, Feature.CFA) and state.cfa.active and state.cfa.to:
            return self._forward(call, state.cfa.to, now, "call forwarding always")
        targets = self._handsets(line)
        free = [other for other in targets if not self.busy(other.ipui)]
        if not free:
            if kept_by_base(line, Feature.CFB) and state.cfb.active and state.cfb.to:
                return self._forward(call, state.cfb.to, now, "call forwarding busy")
            return self._reject(call, BUSY, now, "busy")
        endpoint = self.dm.endpoint
        for other in free:
            key = f"{call.call_id}|{other.ipui}"
            link = self.dm.link_of(other.ipui)
            if endpoint.calls.offer(link, other.ipui, key=key, caller=call.caller, now=now):
                call.legs[key] = other.ipui
        if not call.legs:
            return self._reject(call, BUSY, now, "no free DECT transaction")
        if kept_by_base(line, Feature.CFNA) and state.cfna.active and state.cfna.to:
            rings = state.cfna.rings if state.cfna.rings is not None else DEFAULT_RINGS
            call.cfna = (now + rings * RING_INTERVAL, state.cfna.to)
        return [self._note(call, "offered"), *self.dm.air()]

    def busy(self, ipui: Ipui) -> bool:
        if self.dm.endpoint.calls.busy(ipui):
            return True
        return any(call.answered_by == ipui for call in self.calls.values())

    # --- DECT in -------------------------------------------------------------------------------

    def dect_event(self, event: BaseEvent, now: float) -> list[FirmwareOut]:
        if not isinstance(event, IncomingCallAlerting | IncomingCallAnswered | IncomingCallEnded):
            return []
        call_id = event.key.split("|", 1)[0]
        call = self.calls.get(call_id)
        if call is None:
            return []
        if isinstance(event, IncomingCallAlerting):
            if call.rang or call.over:
                return []
            call.rang = True
            return [*self._sip(call, call.core.ringing(now, call.call_id), now), self._note(call, "ringing")]
        if isinstance(event, IncomingCallAnswered):
            if call.answered_by is not None or call.over:
                self.dm.endpoint.calls.release(event.key, now)
                return self.dm.air()
            call.answered_by = event.ipui
            call.cfna = None
            out: list[FirmwareOut] = [self._note(call, "answered", ipui=event.ipui)]
            for key in [k for k in call.legs if k != event.key]:
                self.dm.endpoint.calls.release(key, now)
                del call.legs[key]
            return out + self._sip(call, call.core.answer(now, call.call_id), now) + self.dm.air()
        call.legs.pop(event.key, None)
        if event.reason is ReleaseReasonCode.USER_REJECTION:
            call.rejected_by_user = True
        if call.over:
            return self._forget(call)
        if call.answered_by == event.ipui and event.by_handset:
            out = self._sip(call, call.core.hang_up(now, call.call_id), now)
            return out + self._end(call, "hung up", ipui=event.ipui)
        if call.answered_by is None and not call.legs:
            if call.rejected_by_user:
                return self._reject(call, BUSY, now, "rejected on the handset")
            if event.reason is ReleaseReasonCode.USER_BUSY:
                return self._reject(call, BUSY, now, "busy")
            return self._reject(call, UNAVAILABLE, now, "no handset reached")
        return []

    # --- outcomes ------------------------------------------------------------------------------

    def _note(self, call: BaseCall, what: str, *, ipui: Ipui | None = None, status: int | None = None,
              target: str | None = None, why: str = "") -> CallNote:
        return CallNote(dm=self.dm.number, call_id=call.call_id, user=call.line.account.user_name,
                        what=what, ipui=ipui, status=status, target=target, caller=call.caller, why=why)

    def _sip(self, call: BaseCall, outputs: list[Output], now: float) -> list[FirmwareOut]:
        return self.dm.core_outputs(call.line, call.core, outputs, now)

    def _reject(self, call: BaseCall, status: int, now: float, why: str) -> list[FirmwareOut]:
        out = self._release_all(call, now)
        out += self._sip(call, call.core.reject(now, call.call_id, status), now)
        return out + self._end(call, "rejected", status=status, why=why)

    def _forward(self, call: BaseCall, target: str, now: float, why: str) -> list[FirmwareOut]:
        out = self._release_all(call, now)
        out += self._sip(call, call.core.redirect(now, call.call_id, target), now)
        return out + self._end(call, "forwarded", status=302, target=target, why=why)

    def _release_all(self, call: BaseCall, now: float) -> list[FirmwareOut]:
        """CC-RELEASE to every handset still offered the call; their RELEASE-COM needs no answer."""
        for key in list(call.legs):
            self.dm.endpoint.calls.release(key, now)
        call.legs.clear()
        return self.dm.air()

    def _end(self, call: BaseCall, what: str, *, ipui: Ipui | None = None, status: int | None = None,
             target: str | None = None, why: str = "") -> list[FirmwareOut]:
        call.over = True
        note = self._note(call, what, ipui=ipui, status=status, target=target, why=why)
        return [note, *self._forget(call)]

    def _forget(self, call: BaseCall) -> list[FirmwareOut]:
        if call.over and not call.legs:
            self.calls.pop(call.call_id, None)
        return []

    # --- timers --------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        deadlines = [call.cfna[0] for call in self.calls.values() if call.cfna is not None]
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: float) -> list[FirmwareOut]:
        out: list[FirmwareOut] = []
        due = [call for call in self.calls.values() if call.cfna is not None and call.cfna[0] <= now]
        for call in sorted(due, key=lambda c: (c.cfna or (0.0, ""), c.call_id)):
            assert call.cfna is not None
            target = call.cfna[1]
            call.cfna = None
            out += self._forward(call, target, now, "call forwarding on no answer")
        return out
