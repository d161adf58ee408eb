"""The base's side of a feature-access-code call (feature-key-sync.md §4): dial, ACK, hang up.

One responsibility: one account's FAC calls. `dial(now, "*78")` sends an INVITE to the code as the
Request-URI user part, with a minimal SDP offer, through the INVITE client transaction. A 401/407 is
answered once with digest credentials (again only for a stale nonce, RFC 3261 §22.2); a 2xx is
ACKed by this core outside the transaction (RFC 3261 §13.2.2.4: new branch, CSeq number of the
INVITE, To tag of the 2xx, sent again for every retransmitted 2xx) and the call is hung up at once
with a BYE. What happened is reported as `CallAnswered` or `CallFailed` (status 0: no answer,
Timer B). Each call's state moves only through `TABLE`; several calls may be in progress.

Typing note: the SIP cores return `sip.events.Output`; this core adds its own two events, so its
driver methods return `CallOutput` (a wider union) and override `Core`'s with `type: ignore[override]`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from sip.auth import DigestClient, best_challenge
from sip.core import Core
from sip.errors import LocalProtocolError
from sip.events import Address, Output
from sip.message import Request, Response
from sip.transaction import TimerConfig
from sip.uri import NameAddr, SipUri, Uri

#: What may be dialled: digits, *, # and a leading + (# goes on the wire as %23, RFC 3261 §25.1).
_DIALLABLE = frozenset("0123456789*#+")


@dataclass(frozen=True, kw_only=True)
class CallConfig:
    """One account: its AOR, the server all requests go to, the local address, credentials."""

    aor: SipUri
    server: Address
    local: Address
    username: str | None = None
    password: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, kw_only=True)
class CallAnswered:
    """The server answered the FAC call with a 2xx (`reason` may carry an interrogation result)."""

    code: str
    status: int
    reason: str


@dataclass(frozen=True, kw_only=True)
class CallFailed:
    """The FAC call was refused (`status` >= 300, e.g. 403, 404, 484) or not answered (0)."""

    code: str
    status: int
    reason: str


CallEvent = CallAnswered | CallFailed
CallOutput = Output | CallAnswered | CallFailed


class CallPhase(enum.Enum):
    CALLING = "calling"
    HANGING_UP = "hanging up"  # 2xx ACKed, our BYE sent
    ENDED = "ended"


class CallInput(enum.Enum):
    ANSWERED = "2xx"
    ANSWERED_AGAIN = "2xx retransmission"
    CHALLENGED = "401/407"
    REFUSED = "300-699"
    TIMED_OUT = "Timer B"
    BYE_DONE = "BYE answered or timed out"


P, CI = CallPhase, CallInput
#: (phase, input) -> (action method, next phase); a missing entry is a LocalProtocolError.
TABLE: dict[tuple[CallPhase, CallInput], tuple[str, CallPhase]] = {
    (P.CALLING, CI.ANSWERED): ("_ack_and_hang_up", P.HANGING_UP),
    (P.CALLING, CI.CHALLENGED): ("_invite_with_credentials", P.CALLING),
    (P.CALLING, CI.REFUSED): ("_refused", P.ENDED),
    (P.CALLING, CI.TIMED_OUT): ("_unanswered", P.ENDED),
    # RFC 3261 §13.2.2.4: "The UAC core MUST generate an ACK request for each 2xx received".
    (P.HANGING_UP, CI.ANSWERED_AGAIN): ("_ack_again", P.HANGING_UP),
    (P.HANGING_UP, CI.BYE_DONE): ("_nothing", P.ENDED),
}


@dataclass
class _Call:
    code: str
    uri: SipUri
    call_id: str
    local_tag: str
    cseq: int = 1
    phase: CallPhase = CallPhase.CALLING
    invite: Request | None = None
    response: Response | None = None
    ack: Request | None = None


class CodeCall(Core):
    """FAC calls of one account."""

    def __init__(
        self, config: CallConfig, *, ids: Callable[[], str], timers: TimerConfig | None = None,
    ) -> None:  # fmt: skip
        super().__init__(local=config.local, ids=ids, timers=timers, user_agent=config.user_agent)
        self.config = config
        self.auth = (
            DigestClient(config.username, config.password, cnonce_source=ids)
            if config.username is not None and config.password is not None else None
        )  # fmt: skip
        self.calls: dict[str, _Call] = {}
        self._events: list[CallEvent] = []
        self._sdp_version = 0

    # --- application API ------------------------------------------------------------------------

    @property
    def busy(self) -> bool:
        return bool(self.calls)

    def dial(self, now: float, digits: str) -> list[CallOutput]:
        """Start a FAC call to `digits` (e.g. "*78", "*723000")."""
        if not digits or not set(digits) <= _DIALLABLE:
            raise LocalProtocolError(f"Cannot dial {digits!r}")
        uri = SipUri(user=digits.replace("#", "%23"), host=self.config.aor.host, port=self.config.aor.port)
        call = _Call(code=digits, uri=uri, call_id=self.ids(), local_tag=self.ids())
        self.calls[call.call_id] = call
        return list(self._send_invite(now, call, None))

    # --- driver API (wider event type, see the module docstring) -------------------------------------

    def receive(self, now: float, data: bytes, source: Address) -> list[CallOutput]:  # type: ignore[override]
        out: list[CallOutput] = list(super().receive(now, data, source))
        return out + self._drain()

    def receive_message(  # type: ignore[override]
        self, now: float, message: Request | Response, source: Address
    ) -> list[CallOutput]:
        call = self._retransmitted_2xx(message)
        out: list[CallOutput] = []
        if call is not None:
            out += self._fire(now, call, CI.ANSWERED_AGAIN)
        else:
            out += super().receive_message(now, message, source)
        return out + self._drain()

    def handle_timer(self, now: float) -> list[CallOutput]:  # type: ignore[override]
        out: list[CallOutput] = list(super().handle_timer(now))
        return out + self._drain()

    def _drain(self) -> list[CallOutput]:
        events: list[CallOutput] = list(self._events)
        self._events.clear()
        return events

    def _retransmitted_2xx(self, message: Request | Response) -> _Call | None:
        # The INVITE client transaction ends with the first 2xx and absorbs the rest (sip.transaction),
        # so 2xx retransmissions are recognised here, by Call-ID and the INVITE's CSeq.
        if not isinstance(message, Response) or not 200 <= message.status < 300:
            return None
        if message.cseq.method != "INVITE":
            return None
        call = self.calls.get(message.call_id)
        if call is None or call.phase is not P.HANGING_UP or message.cseq.seq != call.cseq:
            return None
        return call

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
        self._sdp_version += 1
        host, port = self.local
        offer = (
            f"v=0\r\no=fksim {self._sdp_version} 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
            f"m=audio {port + 2} RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
            "a=sendrecv\r\n"
        ).encode()
        fields: list[tuple[str, object]] = [
            ("From", NameAddr(uri=self.config.aor).with_tag(call.local_tag)), ("To", NameAddr(uri=call.uri)),
            ("Call-ID", call.call_id), ("CSeq", f"{call.cseq} INVITE"),
            ("Contact", NameAddr(uri=SipUri(user=self.config.aor.user, host=host, port=port))),
            ("Content-Type", "application/sdp"),
        ]  # fmt: skip
        if authorization is not None:
            fields.append(authorization)
        call.invite = self._build("INVITE", call.uri, fields, offer)
        return self.transactions.send(call.invite, self.config.server, now)

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

    def _ack_and_hang_up(self, now: float, call: _Call) -> list[Output]:
        invite, response = call.invite, call.response
        assert invite is not None and response is not None
        # RFC 3261 §12.1.2: the remote target is the 2xx's Contact; the route set its Record-Route,
        # reversed.
        target: Uri = response.contacts[0].uri if response.contacts else call.uri
        routes = [str(r) for r in reversed(response.record_routes)]
        dialog: list[tuple[str, object]] = [("Route", r) for r in routes]
        dialog += [
            ("From", invite.headers.get("From")), ("To", response.headers.get("To")),
            ("Call-ID", call.call_id),
        ]  # fmt: skip
        ack_fields = [*dialog, ("CSeq", f"{call.cseq} ACK")]
        for name in ("Authorization", "Proxy-Authorization"):
            value = invite.headers.get(name)
            if value is not None:
                # RFC 3261 §13.2.2.4: the ACK carries the same credentials as the INVITE.
                ack_fields.append((name, value))
        call.ack = self._build("ACK", target, ack_fields)
        out = self.transactions.send_stateless(call.ack, self.config.server)
        self._events.append(CallAnswered(code=call.code, status=response.status, reason=response.reason))
        # A FAC call carries no media: hang up at once (RFC 3261 §15.1.1, CSeq one higher).
        bye = self._build("BYE", target, [*dialog, ("CSeq", f"{call.cseq + 1} BYE")])
        return out + self.transactions.send(bye, self.config.server, now)

    def _ack_again(self, now: float, call: _Call) -> list[Output]:
        assert call.ack is not None
        return self.transactions.send_stateless(call.ack, self.config.server)

    def _refused(self, now: float, call: _Call) -> list[Output]:
        response = call.response
        assert response is not None
        # The transaction layer has already ACKed the non-2xx (RFC 3261 §17.1.1.3).
        self._events.append(CallFailed(code=call.code, status=response.status, reason=response.reason))
        return []

    def _unanswered(self, now: float, call: _Call) -> list[Output]:
        self._events.append(CallFailed(code=call.code, status=0, reason="timeout"))
        return []

    # --- network input ------------------------------------------------------------------------------

    def _on_response(self, now: float, request: Request, response: Response) -> list[Output]:
        call = self.calls.get(request.call_id)
        if call is None or response.status < 200:
            return []
        if request.method == "BYE":
            return self._fire(now, call, CI.BYE_DONE) if call.phase is P.HANGING_UP else []
        if request.method != "INVITE" or request.cseq.seq != call.cseq or call.phase is not P.CALLING:
            return []  # an answer to an INVITE we already replaced with an authorized one
        call.response = response
        if response.status < 300:
            return self._fire(now, call, CI.ANSWERED)
        if response.status in (401, 407) and self._answer_challenge(request, response):
            return self._fire(now, call, CI.CHALLENGED)
        return self._fire(now, call, CI.REFUSED)

    def _answer_challenge(self, request: Request, response: Response) -> bool:
        # RFC 3261 §22.2: answer a challenge once; again only if the nonce was stale (RFC 7616 §3.3).
        if self.auth is None:
            return False
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        challenge = best_challenge(response.headers.get_all(header))
        if challenge is None:
            return False
        sent = request.headers.get("Authorization") or request.headers.get("Proxy-Authorization")
        return sent is None or challenge.stale

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
            if call is not None and request.to.tag == call.local_tag:
                # The server hung up first (e.g. it never got our ACK): our own BYE ends the call.
                return self._answer(now, request, 200)
            # RFC 3261 §15.1.2: a BYE for no dialog gets 481.
            return self._answer(now, request, 481)
        return self._answer(now, request, 405, headers=[("Allow", "ACK, BYE")])


__all__ = [
    "TABLE",
    "CallAnswered",
    "CallConfig",
    "CallEvent",
    "CallFailed",
    "CallInput",
    "CallOutput",
    "CallPhase",
    "CodeCall",
]
