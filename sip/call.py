"""The base's side of an incoming call (the UAS, RFC 3261 §13.3), for one account.

One responsibility: answer INVITEs the server sends to the account's Contact, as the application
above (firmware.calls) decides. A new INVITE gets 100 Trying at once and is reported as `CallOffered`;
then the application calls

- `ringing(call_id)`: 180 Ringing (with the To tag of the early dialog, RFC 3261 §13.3.1.1);
- `answer(call_id)`: 200 OK with Contact and the SDP answer to the INVITE's offer (RFC 3264 §6.1), or
  an offer when the INVITE had none (§13.3.1.4; the ACK then carries the answer). The INVITE server
  transaction retransmits the 2xx until the ACK (T1 doubling to T2); the ACK confirms the call
  (`CallConfirmed`); no ACK within 64*T1 (Timer L): a BYE ends it (§13.3.1.4);
- `reject(call_id, status)`: a final 4xx-6xx (486 Busy Here, 480 Temporarily Unavailable, ...);
- `redirect(call_id, target)`: 302 Moved Temporarily with `Contact: <sip:TARGET@domain>` (§21.3.3,
  the domain of the account's AOR);
- `hang_up(call_id)`: BYE in the dialog; its answer (or Timer F) reports `CallEnded(by="local")`. Asked
  between our 2xx and its ACK, the BYE waits for the ACK (or Timer L): "The callee's UA MUST NOT send
  a BYE on a confirmed dialog until it has received an ACK for its 2xx response or until the server
  transaction times out" (§15).

From the caller's side: a CANCEL of a call not yet answered gets 200 and the INVITE 487 Request
Terminated (§9.2) -> `CallCancelled`; a CANCEL after the final answer (also one crossing a rejection,
while the INVITE's transaction lasts) gets 200 and changes nothing; the 200 carries the To tag of the
INVITE's responses (§9.2);
a BYE in the dialog gets 200 -> `CallEnded(by="remote")`, one in the early dialog (after our 180) 200 and
487 to the INVITE -> `CallCancelled`; a request for no call gets 481 (§12.2.2).
An INVITE whose offer is not SDP (415 with Accept) or shares no codec with the base (488, §21.4.26)
is refused at once, without `CallOffered`. A re-INVITE in a call is refused with 488 (this model
renegotiates nothing) [choice]; one before our final answer, or with a CSeq not above the INVITE's,
gets 500 (§14.2 with Retry-After, §12.2.2); an INVITE with a To tag that is not ours gets 481; the
same INVITE again by another path (no To tag, same From tag and CSeq, another branch) gets 482 Loop
Detected (§8.2.2.2). An ACK confirms the call only with the INVITE's CSeq number (§13.2.2.4).
Requests are taken only from the server or outbound proxy the account uses (`trusted_peers`; others
get 403 statelessly, docs/security.md).

Each call's phase moves only through `TABLE`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from sip.core import DIRECT_UDP, Core, NextHop
from sip.errors import LocalProtocolError, RemoteProtocolError
from sip.events import (
    Address,
    CallCancelled,
    CallConfirmed,
    CallEnded,
    CallOffered,
    Output,
)
from sip.fsm import MachineEnum
from sip.message import Request, Response
from sip.sdp import GIGASET_CODECS, GIGASET_RTP_PORT, MEDIA_TYPE, build_answer, build_offer, parse_sdp
from sip.transaction import TimerConfig, server_key
from sip.uri import NameAddr, SipUri


@dataclass(frozen=True, kw_only=True)
class CallAnswererConfig:
    """One account: its AOR, the server (or outbound proxy's) address its calls come from, the local
    address of the DECT manager."""

    aor: SipUri
    server: Address
    local: Address
    user_agent: str | None = None
    next_hop: NextHop = DIRECT_UDP


class Phase(MachineEnum):
    OFFERED = "offered"          # 100 Trying sent, the application decides
    RINGING = "ringing"          # 180 sent
    ANSWERED = "answered"        # 200 sent, waiting for the ACK
    ANSWERED_HUNG_UP = "answered, hung up"   # hang_up() before the ACK: the BYE waits for it (§15)
    CONFIRMED = "confirmed"      # ACK received
    HANGING_UP = "hanging up"    # our BYE sent
    ENDED = "ended"


class Input(MachineEnum):
    RING = "ringing()"
    ANSWER = "answer()"
    REFUSE = "reject() / redirect()"
    CANCEL = "CANCEL"
    ACK = "ACK"
    NO_ACK = "Timer L: the 2xx was never ACKed"
    BYE_RECEIVED = "BYE from the caller"
    HANG_UP = "hang_up()"
    BYE_DONE = "our BYE answered or timed out"


class Action(MachineEnum):
    SEND_180 = "send 180 Ringing"
    SEND_200 = "send 200 OK with SDP"
    SEND_FINAL = "send the final response"
    SEND_487 = "send 200 to the CANCEL and 487 to the INVITE"
    CONFIRM = "report confirmed"
    SEND_BYE = "send BYE"
    WAIT_FOR_ACK = "send BYE once the ACK is in (RFC 3261 §15)"
    ENDED_REMOTE = "send 200 to the BYE, report ended"
    ENDED_LOCAL = "report ended"


_P, _I, _A = Phase, Input, Action
TABLE: dict[tuple[Phase, Input], tuple[Action, Phase]] = {
    (_P.OFFERED, _I.RING): (_A.SEND_180, _P.RINGING),
    (_P.OFFERED, _I.ANSWER): (_A.SEND_200, _P.ANSWERED),
    (_P.OFFERED, _I.REFUSE): (_A.SEND_FINAL, _P.ENDED),
    (_P.OFFERED, _I.CANCEL): (_A.SEND_487, _P.ENDED),
    (_P.RINGING, _I.ANSWER): (_A.SEND_200, _P.ANSWERED),
    (_P.RINGING, _I.REFUSE): (_A.SEND_FINAL, _P.ENDED),
    (_P.RINGING, _I.CANCEL): (_A.SEND_487, _P.ENDED),
    (_P.ANSWERED, _I.ACK): (_A.CONFIRM, _P.CONFIRMED),
    (_P.ANSWERED, _I.NO_ACK): (_A.SEND_BYE, _P.HANGING_UP),
    (_P.ANSWERED, _I.BYE_RECEIVED): (_A.ENDED_REMOTE, _P.ENDED),
    (_P.ANSWERED, _I.HANG_UP): (_A.WAIT_FOR_ACK, _P.ANSWERED_HUNG_UP),
    (_P.ANSWERED_HUNG_UP, _I.ACK): (_A.SEND_BYE, _P.HANGING_UP),
    (_P.ANSWERED_HUNG_UP, _I.NO_ACK): (_A.SEND_BYE, _P.HANGING_UP),
    (_P.ANSWERED_HUNG_UP, _I.BYE_RECEIVED): (_A.ENDED_REMOTE, _P.ENDED),
    (_P.CONFIRMED, _I.BYE_RECEIVED): (_A.ENDED_REMOTE, _P.ENDED),
    (_P.CONFIRMED, _I.HANG_UP): (_A.SEND_BYE, _P.HANGING_UP),
    (_P.HANGING_UP, _I.BYE_DONE): (_A.ENDED_LOCAL, _P.ENDED),
    (_P.HANGING_UP, _I.BYE_RECEIVED): (_A.ENDED_REMOTE, _P.ENDED),   # BYEs crossed
}


@dataclass
class _Call:
    invite: Request
    source: Address
    local_tag: str
    phase: Phase = Phase.OFFERED
    status: int | None = None
    redirect_to: str | None = None


class CallAnswerer(Core):
    def __init__(self, config: CallAnswererConfig, ids: Callable[[], str],
                 timers: TimerConfig | None = None) -> None:
        super().__init__(local=config.local, ids=ids, timers=timers, user_agent=config.user_agent,
                         next_hop=config.next_hop)
        self.config = config
        #: The calls by Call-ID (the DECT manager routes by it); an ended call is forgotten.
        self.calls: dict[str, _Call] = {}
        self._sdp_version = 0

    def trusted_peers(self) -> list[Address]:
        return self._client_peers(self.config.server)

    # --- the application's decisions ------------------------------------------------------------

    def ringing(self, now: float, call_id: str) -> list[Output]:
        return self._fire(now, self._call(call_id), Input.RING)

    def answer(self, now: float, call_id: str) -> list[Output]:
        return self._fire(now, self._call(call_id), Input.ANSWER)

    def reject(self, now: float, call_id: str, status: int) -> list[Output]:
        if not 400 <= status <= 699:
            raise LocalProtocolError(f"{status} is not a status that rejects a call (400-699)")
        call = self._call(call_id)
        call.status = status
        return self._fire(now, call, Input.REFUSE)

    def redirect(self, now: float, call_id: str, target: str) -> list[Output]:
        call = self._call(call_id)
        call.status, call.redirect_to = 302, target
        return self._fire(now, call, Input.REFUSE)

    def hang_up(self, now: float, call_id: str) -> list[Output]:
        """BYE for an answered call; nothing for a call that is gone, not answered or already ending."""
        call = self.calls.get(call_id)
        if call is None or call.phase not in (Phase.ANSWERED, Phase.CONFIRMED):
            return []   # (ANSWERED_HUNG_UP: asked already, the BYE follows the ACK)
        return self._fire(now, call, Input.HANG_UP)

    def _call(self, call_id: str) -> _Call:
        call = self.calls.get(call_id)
        if call is None:
            raise LocalProtocolError(f"no call {call_id!r} here")
        return call

    # --- the caller's requests --------------------------------------------------------------------

    def _on_request(self, now: float, request: Request, source: Address) -> list[Output]:
        method = request.method
        call = self.calls.get(request.call_id)
        if method == "INVITE":
            if call is None and request.to.tag is None:
                return self._new_invite(now, request, source)
            return self._second_invite(now, request, call)
        if method == "CANCEL":
            invite_key = server_key(replace(request, method="INVITE"))
            if invite_key not in self.transactions.servers:
                return self._answer(now, request, 481)   # RFC 3261 §9.2: no matching transaction
            # §9.2: a CANCEL that matches a transaction gets 200, whatever became of the INVITE (it may
            # have crossed our final answer), with the To tag of the INVITE's responses.
            if call is None or server_key(call.invite) != invite_key:
                return self._answer(now, request, 200)
            out = self._answer(now, request, 200, to_tag=call.local_tag)
            if call.phase in (Phase.OFFERED, Phase.RINGING):
                out += self._fire(now, call, Input.CANCEL)
            return out
        if method == "BYE":
            if call is None or request.to.tag != call.local_tag:
                return self._answer(now, request, 481)   # RFC 3261 §15.1.2: no such dialog
            if call.phase is Phase.RINGING:
                # A BYE in the early dialog (after our 180): 200 to it, and the INVITE is terminated
                # with 487 as for a CANCEL (RFC 3261 §15.1.2: pending requests are answered, 487).
                return self._answer(now, request, 200) + self._fire(now, call, Input.CANCEL)
            if call.phase not in (Phase.ANSWERED, Phase.ANSWERED_HUNG_UP, Phase.CONFIRMED, Phase.HANGING_UP):
                return self._answer(now, request, 481)
            return self._answer(now, request, 200) + self._fire(now, call, Input.BYE_RECEIVED)
        return self._answer(now, request, 405, headers=[("Allow", "INVITE, ACK, BYE, CANCEL")])

    def _second_invite(self, now: float, invite: Request, call: _Call | None) -> list[Output]:
        """An INVITE for a Call-ID we hold, or with a To tag: never a second call."""
        tag = invite.to.tag
        if tag is None:
            assert call is not None
            first = call.invite
            if invite.from_.tag == first.from_.tag and invite.cseq.seq == first.cseq.seq:
                return self._answer(now, invite, 482)   # RFC 3261 §8.2.2.2: a merged request
            return self._answer(now, invite, 488)   # another INVITE reusing a live Call-ID [choice]
        if call is None or tag != call.local_tag or call.phase is Phase.OFFERED:
            return self._answer(now, invite, 481)   # §12.2.2: no such dialog
        if invite.cseq.seq <= call.invite.cseq.seq:
            return self._answer(now, invite, 500, "Out of order")   # §12.2.2: a lower CSeq
        if call.phase is Phase.RINGING:
            # §14.2: our final answer to the first INVITE is still to come: 500 with Retry-After.
            return self._answer(now, invite, 500, headers=[("Retry-After", "5")])
        return self._answer(now, invite, 488)   # a re-INVITE: nothing is renegotiated [choice]

    def _new_invite(self, now: float, invite: Request, source: Address) -> list[Output]:
        offer: bytes | None = None
        if invite.body:
            content_type = invite.content_type
            if content_type is None or content_type.mime != MEDIA_TYPE:
                return self._answer(now, invite, 415, headers=[("Accept", MEDIA_TYPE)])
            if self._sdp_answer(invite, self._sdp_version + 1) is None:
                return self._answer(now, invite, 488)   # RFC 3261 §21.4.26: no acceptable media
            offer = invite.body
        call = _Call(invite=invite, source=source, local_tag=self.ids())
        self.calls[invite.call_id] = call
        caller = invite.from_.uri.user if isinstance(invite.from_.uri, SipUri) else None
        out = self._answer(now, invite, 100)
        out.append(CallOffered(call_id=invite.call_id, caller=caller or "", offer=offer))
        return out

    def _sdp_answer(self, invite: Request, session_id: int) -> bytes | None:
        try:
            return build_answer(parse_sdp(invite.body), address=self.local[0], port=GIGASET_RTP_PORT,
                                session_id=session_id, supported=GIGASET_CODECS)
        except RemoteProtocolError:   # a malformed offer
            return None

    def _on_ack(self, now: float, ack: Request) -> list[Output]:
        call = self.calls.get(ack.call_id)
        if (call is None or call.phase not in (Phase.ANSWERED, Phase.ANSWERED_HUNG_UP)
                or ack.to.tag != call.local_tag or ack.cseq.seq != call.invite.cseq.seq):
            return []   # a stray ACK is dropped (RFC 3261 §17.2.3); §13.2.2.4: the INVITE's CSeq number
        return self._fire(now, call, Input.ACK)

    def _on_response(self, now: float, request: Request, response: Response) -> list[Output]:
        call = self.calls.get(request.call_id)
        if request.method == "BYE" and response.status >= 200 and call is not None:
            return self._fire(now, call, Input.BYE_DONE)
        return []

    def _on_timeout(self, now: float, request: Request) -> list[Output]:
        call = self.calls.get(request.call_id)
        if call is None:
            return []
        if request.method == "BYE":
            return self._fire(now, call, Input.BYE_DONE)
        if request.method == "INVITE" and call.phase in (Phase.ANSWERED, Phase.ANSWERED_HUNG_UP) \
                and server_key(request) == server_key(call.invite):
            return self._fire(now, call, Input.NO_ACK)   # Timer L without the ACK
        return []

    # --- the phase machine --------------------------------------------------------------------------

    def _fire(self, now: float, call: _Call, event: Input) -> list[Output]:
        row = TABLE.get((call.phase, event))
        if row is None:
            raise LocalProtocolError(
                f"call {call.invite.call_id}: cannot {event.value} while {call.phase.value}")
        action, call.phase = row
        out = self._act(now, call, action)
        if call.phase is Phase.ENDED:
            self.calls.pop(call.invite.call_id, None)
        return out

    def _act(self, now: float, call: _Call, action: Action) -> list[Output]:
        invite = call.invite
        contact = ("Contact", NameAddr(uri=self.local_uri(self.config.aor.user)))
        if action is Action.SEND_180:
            return self._answer(now, invite, 180, to_tag=call.local_tag, headers=[contact])
        if action is Action.SEND_200:
            self._sdp_version += 1
            body = self._sdp_answer(invite, self._sdp_version) if invite.body else build_offer(
                address=self.local[0], session_id=self._sdp_version, version=1)
            headers = [contact, *(("Record-Route", rr) for rr in invite.record_routes),
                       ("Content-Type", MEDIA_TYPE)]
            return self._answer(now, invite, 200, to_tag=call.local_tag, headers=headers, body=body or b"")
        if action is Action.SEND_FINAL:
            assert call.status is not None
            headers = []
            if call.redirect_to is not None:
                target = SipUri(user=call.redirect_to, host=self.config.aor.host)
                headers.append(("Contact", NameAddr(uri=target)))
            return self._answer(now, invite, call.status, to_tag=call.local_tag, headers=headers)
        if action is Action.SEND_487:
            out = self._answer(now, invite, 487, to_tag=call.local_tag)
            return [*out, CallCancelled(call_id=invite.call_id)]
        if action is Action.CONFIRM:
            return [CallConfirmed(call_id=invite.call_id)]
        if action is Action.SEND_BYE:
            return self._bye(now, call)
        if action is Action.WAIT_FOR_ACK:
            return []
        if action is Action.ENDED_REMOTE:
            return [CallEnded(call_id=invite.call_id, by="remote")]
        return [CallEnded(call_id=invite.call_id, by="local")]

    def _bye(self, now: float, call: _Call) -> list[Output]:
        invite = call.invite
        target = invite.contacts[0].uri if invite.contacts else invite.from_.uri
        # RFC 3261 §12.1.1: the UAS's route set is the INVITE's Record-Route, in order.
        fields: list[tuple[str, object]] = [("Route", rr) for rr in invite.record_routes]
        fields += [("From", invite.to.with_tag(call.local_tag)), ("To", invite.from_),
                   ("Call-ID", invite.call_id), ("CSeq", "1 BYE")]
        return self._send_request(self._build("BYE", target, fields), call.source, now)
