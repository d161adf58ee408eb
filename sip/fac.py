"""Calls to feature access codes (feature-key-sync.md §4): INVITE to `*78@domain`, then hang up.

One responsibility: the caller side of a FAC call. The INVITE runs in an INVITE client transaction
(Timers A, B, D; the ACK for a non-2xx is the transaction's, RFC 3261 §17.1.1.3). A 2xx is ACKed by
this core in a new transaction-less request (§13.2.2.4) and the call is ended at once with a BYE;
a 401/407 is answered once with digest credentials. The outcome is `FeatureCodeAnswered`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sip.auth import DigestClient, best_challenge
from sip.core import Core
from sip.events import Address, FeatureCodeAnswered, Output
from sip.message import Headers, Request, Response
from sip.transaction import TimerConfig
from sip.uri import NameAddr, SipUri


@dataclass(frozen=True, kw_only=True)
class FeatureCodeConfig:
    aor: SipUri
    server: Address
    local: Address
    username: str | None = None
    password: str | None = None
    user_agent: str | None = None


@dataclass
class _Call:
    code: str
    call_id: str
    from_tag: str
    cseq: int
    authorized: bool = False


class FeatureCodeCaller(Core):
    """Dials feature access codes for one account, one call per `dial()`."""

    def __init__(
        self, config: FeatureCodeConfig, *, ids: Callable[[], str], timers: TimerConfig | None = None
    ) -> None:
        super().__init__(local=config.local, ids=ids, timers=timers, user_agent=config.user_agent)
        self.config = config
        self.auth = (
            DigestClient(config.username, config.password, cnonce_source=ids)
            if config.username is not None and config.password is not None else None
        )  # fmt: skip
        self.calls: dict[str, _Call] = {}
        #: Call-ID -> the ACK sent for its 2xx, re-sent when the 2xx is retransmitted (§13.2.2.4)
        self.acks: dict[str, bytes] = {}

    @property
    def contact(self) -> SipUri:
        return SipUri(user=self.config.aor.user, host=self.local[0], port=self.local[1])

    def dial(self, now: float, code: str) -> list[Output]:
        """INVITE sip:<code>@<domain> (feature-key-sync.md §4: the code is the Request-URI user)."""
        call = _Call(code=code, call_id=self.ids(), from_tag=self.ids(), cseq=1)
        self.calls[call.call_id] = call
        return self._invite(now, call, None)

    def _target(self, code: str) -> SipUri:
        return SipUri(user=code, host=self.config.aor.host, port=self.config.aor.port)

    def _invite(self, now: float, call: _Call, authorization: tuple[str, str] | None) -> list[Output]:
        fields: list[tuple[str, object]] = [
            ("From", NameAddr(uri=self.config.aor).with_tag(call.from_tag)),
            ("To", NameAddr(uri=self._target(call.code))), ("Call-ID", call.call_id),
            ("CSeq", f"{call.cseq} INVITE"),
            ("Contact", NameAddr(uri=self.contact)),
        ]  # fmt: skip
        if authorization is not None:
            fields.append(authorization)
        request = self._build("INVITE", self._target(call.code), fields)
        return self.transactions.send(request, self.config.server, now)

    def _in_dialog(self, method: str, call: _Call, response: Response, seq: int) -> Request:
        headers = Headers([
            ("Via", self._via()), ("Max-Forwards", 70),
            ("From", NameAddr(uri=self.config.aor).with_tag(call.from_tag)),
            ("To", response.headers.get("To") or ""), ("Call-ID", call.call_id), ("CSeq", f"{seq} {method}"),
        ])  # fmt: skip
        target = response.contacts[0].uri if response.contacts else self._target(call.code)
        return Request(method=method, uri=target, headers=headers)

    def _on_response(self, now: float, request: Request, response: Response) -> list[Output]:
        call = self.calls.get(request.call_id)
        if call is None or response.status < 200 or request.method != "INVITE":
            return []
        status = response.status
        if status < 300:
            # RFC 3261 §13.2.2.4: the UAC ACKs a 2xx itself (same CSeq number), then hangs up.
            ack = self._in_dialog("ACK", call, response, call.cseq)
            self.acks[call.call_id] = ack.to_bytes()
            bye = self._in_dialog("BYE", call, response, call.cseq + 1)
            del self.calls[call.call_id]
            out = self.transactions.send_stateless(ack, self.config.server)
            out += self.transactions.send(bye, self.config.server, now)
            return [*out, FeatureCodeAnswered(code=call.code, status=status)]
        if status in (401, 407) and self.auth is not None and not call.authorized:
            header = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
            challenge = best_challenge(response.headers.get_all(header))
            if challenge is not None:
                call.authorized, call.cseq = True, call.cseq + 1
                credentials = self.auth.authorize("INVITE", str(request.uri), challenge)
                name = "Authorization" if status == 401 else "Proxy-Authorization"
                return self._invite(now, call, (name, str(credentials)))
        del self.calls[call.call_id]
        return [FeatureCodeAnswered(code=call.code, status=status)]

    def receive_message(self, now: float, message: Request | Response, source: Address) -> list[Output]:
        # A retransmitted 2xx arrives after the INVITE transaction ended: re-send our ACK (§13.2.2.4).
        if isinstance(message, Response) and message.cseq.method == "INVITE" and 200 <= message.status < 300:
            ack = self.acks.get(message.call_id)
            if ack is not None and not self.transactions.owns_response(message):
                return self.transactions.send_stateless_bytes(ack, self.config.server)
        return super().receive_message(now, message, source)

    def _on_timeout(self, now: float, request: Request) -> list[Output]:
        call = self.calls.pop(request.call_id, None)
        if call is None or request.method != "INVITE":
            return []
        return [FeatureCodeAnswered(code=call.code, status=0)]


__all__ = ["FeatureCodeCaller", "FeatureCodeConfig"]
