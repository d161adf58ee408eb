"""Calls to feature access codes (feature-key-sync.md §4): INVITE to `*78@domain` with an SDP offer,
ACK, the server's announcement, BYE.

One responsibility: the caller side of FAC calls for one account. `dial(now, "*78")` sends an
INVITE with the code as the Request-URI user part and an SDP offer (`sip.sdp`: a FAC call is a call
with media, RFC 3261 §13.3.1.4 / RFC 3264; BroadWorks plays a confirmation announcement) through the
INVITE client transaction (Timers A, B, D; the ACK of a non-2xx is the transaction's, RFC 3261
§17.1.1.3). A 401/407 is answered with digest credentials (once; again only for `stale=true`, RFC
7616 §3.3). A 2xx is ACKed by this core in a new request outside the transaction (§13.2.2.4: new
branch, CSeq number of the INVITE, To tag of the 2xx, same credentials), ACKed again for every
retransmitted 2xx the transaction passes up (its RFC 6026 Accepted state, 64*T1, also after the
hang-up). The server ends the call after its announcement with a BYE, answered 200; a server that
does not is hung up on after `HANGUP_AFTER` [choice]; an answer that breaks RFC 3264 (formats not
offered, another number of m-lines) is ACKed and hung up on at once (§13.2.2.4). The outcome is one
`FeatureCodeAnswered(code, status, reason)` per `dial()` (status 0: no answer, Timer B; the reason
phrase of a 2xx may carry an interrogation result). Each call's phase moves only through `TABLE`;
several calls may be in progress, each under its own Call-ID (`calls`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from sip.auth import DigestClient, best_challenge
from sip.core import DIRECT_UDP, Core, NextHop
from sip.errors import LocalProtocolError, RemoteProtocolError
from sip.events import Address, FeatureCodeAnswered, Output
from sip.fsm import MachineEnum
from sip.message import Request, Response
from sip.sdp import MEDIA_TYPE, build_offer, check_answer, parse_sdp
from sip.transaction import TimerConfig
from sip.uri import NameAddr, SipUri, Uri

#: What may be dialled: digits, *, # and + (# goes on the wire as %23, RFC 3261 §25.1).
DIALLABLE = frozenset("0123456789*#+")

#: Consecutive `stale=true` challenges answered in one call, so an always-stale server can't loop [choice].
MAX_STALE_ANSWERS = 2

#: After the ACK, hang up a FAC call the server has not ended (with its BYE) for this long, s [choice].
HANGUP_AFTER = 32.0


@dataclass(frozen=True, kw_only=True)
class FeatureCodeConfig:
    """One account: its AOR, the server all requests go to, the local address, credentials."""

    aor: SipUri
    server: Address
    local: Address
    username: str | None = None
    password: str | None = None
    user_agent: str | None = None
    #: transport and outbound proxy (RFC 3261 §8.1.2, §18)
    next_hop: NextHop = DIRECT_UDP


class CallPhase(MachineEnum):
    CALLING = "calling"
    CONNECTED = "connected"  # 2xx ACKed, the server plays its announcement
    HANGING_UP = "hanging up"  # our BYE sent
    HUNG_UP = "hung up"  # BYE done; kept 64*T1 to ACK late 2xx retransmissions
    ENDED = "ended"


class CallInput(MachineEnum):
    ANSWERED = "2xx"
    ANSWERED_AGAIN = "2xx retransmission"
    CHALLENGED = "401/407"
    REFUSED = "300-699"
    TIMED_OUT = "Timer B"
    BYE_DONE = "BYE answered or timed out"
    BYE_RECEIVED = "the server's BYE"
    HANG_UP_DUE = "hang-up timer"
    BAD_ANSWER = "2xx with an SDP answer that breaks RFC 3264"
    LINGER_OVER = "64*T1 after the hang-up"


P, CI = CallPhase, CallInput
#: (phase, input) -> (action method, next phase); a missing entry is a LocalProtocolError.
TABLE: dict[tuple[CallPhase, CallInput], tuple[str, CallPhase]] = {
    (P.CALLING, CI.ANSWERED): ("_ack", P.CONNECTED),
    (P.CALLING, CI.BAD_ANSWER): ("_ack_and_hang_up", P.HANGING_UP),
    (P.CALLING, CI.CHALLENGED): ("_invite_with_credentials", P.CALLING),
    (P.CALLING, CI.REFUSED): ("_refused", P.ENDED),
    (P.CALLING, CI.TIMED_OUT): ("_unanswered", P.ENDED),
    # RFC 3261 §13.2.2.4: "The UAC core MUST generate an ACK request for each 2xx received".
    (P.CONNECTED, CI.ANSWERED_AGAIN): ("_ack_again", P.CONNECTED),
    (P.CONNECTED, CI.BYE_RECEIVED): ("_linger", P.HUNG_UP),
    (P.CONNECTED, CI.HANG_UP_DUE): ("_hang_up", P.HANGING_UP),
    (P.HANGING_UP, CI.ANSWERED_AGAIN): ("_ack_again", P.HANGING_UP),
    # Both sides hung up at once (RFC 3261 §15.1.2): the server's BYE is answered, ours ends as it may.
    (P.HANGING_UP, CI.BYE_RECEIVED): ("_nothing", P.HANGING_UP),
    (P.HANGING_UP, CI.BYE_DONE): ("_linger", P.HUNG_UP),
    (P.HUNG_UP, CI.ANSWERED_AGAIN): ("_ack_again", P.HUNG_UP),
    (P.HUNG_UP, CI.LINGER_OVER): ("_nothing", P.ENDED),
}


@dataclass
class _Call:
    code: str
    uri: SipUri
    call_id: str
    local_tag: str
    cseq: int = 1
    phase: CallPhase = CallPhase.CALLING
    stale_answers: int = 0
    invite: Request | None = None
    response: Response | None = None
    ack: bytes | None = None
    offer: bytes = b""
    hang_up_at: float | None = None
    dialog: list[tuple[str, object]] | None = None
    target: Uri | None = None
    ack_to: tuple[str, int] | None = None


class FeatureCodeCaller(Core):
    """Dials feature access codes for one account, one call per `dial()`."""

    def __init__(
        self, config: FeatureCodeConfig, *, ids: Callable[[], str], timers: TimerConfig | None = None
    ) -> None:
        super().__init__(local=config.local, ids=ids, timers=timers, user_agent=config.user_agent,
                         next_hop=config.next_hop)
        self.config = config
        self.auth = (
            DigestClient(config.username, config.password, cnonce_source=ids)
            if config.username is not None and config.password is not None else None
        )  # fmt: skip
        #: Call-ID -> call in progress or lingering (drivers that dispatch by Call-ID read the keys)
        self.calls: dict[str, _Call] = {}
        #: (time, Call-ID) of hung-up calls to forget; in time order, as every linger is 64*T1
        self._lingering: deque[tuple[float, str]] = deque()
        self._sessions = 0  # SDP session ids (RFC 4566 §5.2: numeric), one per call

    # --- application API ------------------------------------------------------------------------

    @property
    def contact(self) -> SipUri:
        return self.local_uri(self.config.aor.user)

    def trusted_peers(self) -> list[Address]:
        """Only the server (or outbound proxy) the INVITEs go to may send a BYE (docs/security.md)."""
        return self._client_peers(self.config.server)

    @property
    def busy(self) -> bool:
        """A call is waiting for its answer or its hang-up."""
        return any(call.phase is not P.HUNG_UP for call in self.calls.values())

    def dial(self, now: float, code: str) -> list[Output]:
        """INVITE sip:<code>@<domain> (feature-key-sync.md §4: the code is the Request-URI user)."""
        if not code or not set(code) <= DIALLABLE:
            raise LocalProtocolError(f"Cannot dial {code!r}")
        uri = SipUri(user=code.replace("#", "%23"), host=self.config.aor.host, port=self.config.aor.port)
        call = _Call(code=code, uri=uri, call_id=self.ids(), local_tag=self.ids())
        self._sessions += 1
        call.offer = build_offer(address=self.config.local[0], session_id=self._sessions, version=1)
        self.calls[call.call_id] = call
        return self._send_invite(now, call, None)

    # --- state machine ------------------------------------------------------------------------------

    def _fire(self, now: float, call: _Call, event: CallInput) -> list[Output]:
        try:
            action, call.phase = TABLE[(call.phase, event)]
        except KeyError:
            raise LocalProtocolError(f"{event.value} in call phase {call.phase.value}", status=500) from None
        out: list[Output] = getattr(self, action)(now, call)
        if call.phase is P.ENDED:
            self.calls.pop(call.call_id, None)
        return out

    def _nothing(self, now: float, call: _Call) -> list[Output]:
        return []

    def _send_invite(self, now: float, call: _Call, authorization: tuple[str, str] | None) -> list[Output]:
        fields: list[tuple[str, object]] = [
            ("From", NameAddr(uri=self.config.aor).with_tag(call.local_tag)), ("To", NameAddr(uri=call.uri)),
            ("Call-ID", call.call_id), ("CSeq", f"{call.cseq} INVITE"),
            ("Contact", NameAddr(uri=self.contact)),
        ]  # fmt: skip
        if authorization is not None:
            fields.append(authorization)
        # The same offer again after a challenge: a new transaction, not a new offer (RFC 3264 §8).
        fields.append(("Content-Type", MEDIA_TYPE))
        call.invite = self._build("INVITE", call.uri, fields, call.offer)
        return self._send_request(call.invite, self.config.server, now)

    def _invite_with_credentials(self, now: float, call: _Call) -> list[Output]:
        response = call.response
        assert response is not None and self.auth is not None
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        challenge = best_challenge(response.headers.get_all(header))
        assert challenge is not None
        credentials = self.auth.authorize("INVITE", str(call.uri), challenge)
        name = "Authorization" if response.status == 401 else "Proxy-Authorization"
        # RFC 3261 §22.2: the new request has the same Call-ID and From tag, and a higher CSeq.
        call.cseq += 1
        return self._send_invite(now, call, (name, str(credentials)))

    def _ack(self, now: float, call: _Call) -> list[Output]:
        invite, response = call.invite, call.response
        assert invite is not None and response is not None
        # RFC 3261 §12.1.2: the remote target is the 2xx's Contact, the route set its Record-Route
        # reversed.
        call.target = response.contacts[0].uri if response.contacts else call.uri
        call.dialog = [("Route", str(r)) for r in reversed(response.record_routes)]
        call.dialog += [
            ("From", invite.headers.get("From")), ("To", response.headers.get("To")),
            ("Call-ID", call.call_id),
        ]  # fmt: skip
        ack_fields = [*call.dialog, ("CSeq", f"{call.cseq} ACK")]
        for name in ("Authorization", "Proxy-Authorization"):
            value = invite.headers.get(name)
            if value is not None:
                # RFC 3261 §13.2.2.4: the ACK carries the same credentials as the INVITE.
                ack_fields.append((name, value))
        ack = self._build("ACK", call.target, ack_fields)
        call.ack, call.ack_to = ack.to_bytes(), self._destination(ack, self.config.server)
        out = self.transactions.send_stateless(ack, call.ack_to)
        out.append(FeatureCodeAnswered(code=call.code, status=response.status, reason=response.reason))
        call.hang_up_at = now + HANGUP_AFTER
        return out

    def _ack_and_hang_up(self, now: float, call: _Call) -> list[Output]:
        # RFC 3261 §13.2.2.4: a 2xx whose answer is not acceptable is still ACKed, then ended by a BYE.
        return self._ack(now, call) + self._hang_up(now, call)

    def _hang_up(self, now: float, call: _Call) -> list[Output]:
        assert call.dialog is not None and call.target is not None
        call.hang_up_at = None
        bye = self._build("BYE", call.target, [*call.dialog, ("CSeq", f"{call.cseq + 1} BYE")])
        return self._send_request(bye, self.config.server, now)

    def _linger(self, now: float, call: _Call) -> list[Output]:
        call.hang_up_at = None
        self._lingering.append((now + 64 * self.transactions.timers.t1, call.call_id))
        return []

    def _ack_again(self, now: float, call: _Call) -> list[Output]:
        assert call.ack is not None and call.ack_to is not None
        return self.transactions.send_stateless_bytes(call.ack, call.ack_to, self.next_hop.transport)

    def _refused(self, now: float, call: _Call) -> list[Output]:
        response = call.response
        assert response is not None
        # The transaction layer has already ACKed the non-2xx (RFC 3261 §17.1.1.3).
        return [FeatureCodeAnswered(code=call.code, status=response.status, reason=response.reason)]

    def _unanswered(self, now: float, call: _Call) -> list[Output]:
        return [FeatureCodeAnswered(code=call.code, status=0, reason="timeout")]

    # --- network input ------------------------------------------------------------------------------

    def _on_response(self, now: float, request: Request, response: Response) -> list[Output]:
        call = self.calls.get(request.call_id)
        if call is None or response.status < 200:
            return []
        if request.method == "BYE":
            return self._fire(now, call, CI.BYE_DONE) if call.phase is P.HANGING_UP else []
        if request.method != "INVITE" or request.cseq.seq != call.cseq:
            return []  # an answer to an INVITE we already replaced with an authorized one
        if call.phase is not P.CALLING:
            # The INVITE transaction passes up every 2xx for 64*T1 (RFC 6026 Accepted state).
            return self._fire(now, call, CI.ANSWERED_AGAIN) if response.status < 300 else []
        call.response = response
        if response.status < 300:
            return self._fire(now, call, CI.ANSWERED if self._answer_ok(call, response) else CI.BAD_ANSWER)
        if response.status in (401, 407) and self._answer_challenge(call, request, response):
            return self._fire(now, call, CI.CHALLENGED)
        return self._fire(now, call, CI.REFUSED)

    @staticmethod
    def _answer_ok(call: _Call, response: Response) -> bool:
        """The 2xx carries an answer to our offer that keeps RFC 3264 §6's rules."""
        content_type = response.content_type
        if not response.body or content_type is None or content_type.mime != MEDIA_TYPE:
            return False
        try:
            check_answer(parse_sdp(call.offer), parse_sdp(response.body))
        except RemoteProtocolError:
            return False
        return True

    def _answer_challenge(self, call: _Call, request: Request, response: Response) -> bool:
        # RFC 3261 §22.2: answer a challenge once; again only if the nonce was stale (RFC 7616 §3.3),
        # at most MAX_STALE_ANSWERS times in a row [choice].
        if self.auth is None:
            return False
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        challenge = best_challenge(response.headers.get_all(header))
        if challenge is None:
            return False
        sent = request.headers.get("Authorization") or request.headers.get("Proxy-Authorization")
        if sent is None:
            return True
        if challenge.stale and call.stale_answers < MAX_STALE_ANSWERS:
            call.stale_answers += 1
            return True
        return False

    def _on_timeout(self, now: float, request: Request) -> list[Output]:
        call = self.calls.get(request.call_id)
        if call is None:
            return []
        if request.method == "BYE" and call.phase is P.HANGING_UP:
            return self._fire(now, call, CI.BYE_DONE)
        if request.method == "INVITE" and request.cseq.seq == call.cseq and call.phase is P.CALLING:
            return self._fire(now, call, CI.TIMED_OUT)
        return []

    def _on_request(self, now: float, request: Request, source: Address) -> list[Output]:
        if request.method == "BYE":
            call = self.calls.get(request.call_id)
            if (call is not None and call.phase in (P.CONNECTED, P.HANGING_UP)
                    and request.to.tag == call.local_tag):
                # The server ends the call after its announcement (RFC 3261 §15.1.2: 200 to the BYE).
                return self._answer(now, request, 200) + self._fire(now, call, CI.BYE_RECEIVED)
            if call is not None and call.phase is P.CALLING and request.to.tag == call.local_tag:
                # A BYE before the 2xx reached us (it was lost): answered; the 2xx still gets its ACK.
                return self._answer(now, request, 200)
            # RFC 3261 §15.1.2: a BYE for no dialog gets 481.
            return self._answer(now, request, 481)
        return self._answer(now, request, 405, headers=[("Allow", "ACK, BYE")])

    # --- timers -------------------------------------------------------------------------------------

    def _own_deadline(self) -> float | None:
        first = self._lingering[0][0] if self._lingering else None
        for call in self.calls.values():
            if call.hang_up_at is not None and (first is None or call.hang_up_at < first):
                first = call.hang_up_at
        return first

    def _on_own_timer(self, now: float) -> list[Output]:
        out: list[Output] = []
        for call in list(self.calls.values()):
            if call.hang_up_at is not None and call.hang_up_at <= now and call.phase is P.CONNECTED:
                out += self._fire(now, call, CI.HANG_UP_DUE)
        while self._lingering and self._lingering[0][0] <= now:
            lingering = self.calls.get(self._lingering.popleft()[1])
            if lingering is not None:
                out += self._fire(now, lingering, CI.LINGER_OVER)
        return out


__all__ = [
    "DIALLABLE", "HANGUP_AFTER", "TABLE", "CallInput", "CallPhase", "FeatureCodeCaller", "FeatureCodeConfig",
]
