"""The REGISTER client of RFC 3261 §10.2 (the base registering a handset's account).

One responsibility: keep one binding registered: digest answers (RFC 3261 §22), refresh before
expiry, 423 Min-Expires, and a retry policy after failures. One state machine, `TABLE`, of
`(RegState, RegInput) -> (action, next state)`. The Call-ID stays the same for all REGISTERs of
this client and CSeq increases (RFC 3261 §10.2.4).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from sip.auth import Challenge, DigestClient, best_challenge
from sip.core import DIRECT_UDP, Core, NextHop
from sip.errors import LocalProtocolError, RemoteProtocolError
from sip.events import Address, Output, Registered, RegistrationFailed
from sip.fsm import MachineEnum
from sip.message import Request, Response
from sip.numbers import read_uint
from sip.transaction import TimerConfig
from sip.uri import NameAddr, SipUri


@dataclass(frozen=True, kw_only=True)
class RegistrationConfig:
    """One account's registration; retry values are [choice]s documented in docs/sip.md."""

    aor: SipUri
    registrar: Address
    local: Address
    expires: int = 3600
    username: str | None = None
    password: str | None = None
    refresh_margin: float = 60.0
    retry_forbidden: float | None = 3600.0
    retry_base: float = 30.0
    retry_max: float = 1800.0
    user_agent: str | None = None
    #: transport and outbound proxy (RFC 3261 §8.1.2, §18)
    next_hop: NextHop = DIRECT_UDP


class RegState(MachineEnum):
    IDLE = "idle"
    REGISTERING = "registering"
    REGISTERED = "registered"
    WAITING = "waiting to retry"
    UNREGISTERING = "unregistering"
    STOPPED = "stopped"


class RegInput(MachineEnum):
    START = "start"
    ACCEPTED = "2xx"
    CHALLENGED = "401/407"
    REJECTED = "failure, retry later"
    REJECTED_FINAL = "failure, do not retry"
    REFRESH_DUE = "refresh timer"
    RETRY_DUE = "retry timer"
    STOP = "stop"


S, I = RegState, RegInput  # noqa: E741
TABLE: dict[tuple[RegState, RegInput], tuple[str, RegState]] = {
    (S.IDLE, I.START): ("_send_register", S.REGISTERING),
    (S.STOPPED, I.START): ("_send_register", S.REGISTERING),
    (S.WAITING, I.START): ("_send_register", S.REGISTERING),
    (S.WAITING, I.RETRY_DUE): ("_send_register", S.REGISTERING),
    (S.WAITING, I.STOP): ("_stopped", S.STOPPED),
    (S.REGISTERING, I.ACCEPTED): ("_registered", S.REGISTERED),
    (S.REGISTERING, I.CHALLENGED): ("_send_register", S.REGISTERING),
    (S.REGISTERING, I.REJECTED): ("_schedule_retry", S.WAITING),
    (S.REGISTERING, I.REJECTED_FINAL): ("_give_up", S.STOPPED),
    (S.REGISTERING, I.STOP): ("_send_unregister", S.UNREGISTERING),
    (S.REGISTERED, I.REFRESH_DUE): ("_send_register", S.REGISTERING),
    (S.REGISTERED, I.STOP): ("_send_unregister", S.UNREGISTERING),
    (S.UNREGISTERING, I.CHALLENGED): ("_send_unregister", S.UNREGISTERING),
    (S.UNREGISTERING, I.ACCEPTED): ("_stopped", S.STOPPED),
    (S.UNREGISTERING, I.REJECTED): ("_stopped", S.STOPPED),
    (S.UNREGISTERING, I.REJECTED_FINAL): ("_stopped", S.STOPPED),
    (S.UNREGISTERING, I.STOP): ("_nothing", S.UNREGISTERING),
    (S.STOPPED, I.STOP): ("_nothing", S.STOPPED),
    (S.IDLE, I.STOP): ("_nothing", S.STOPPED),
}


class RegistrationClient(Core):
    """Registers `config.aor` with the local contact and keeps it registered."""

    def __init__(
        self, config: RegistrationConfig, *, ids: Callable[[], str], timers: TimerConfig | None = None,
    ) -> None:  # fmt: skip
        super().__init__(local=config.local, ids=ids, timers=timers, user_agent=config.user_agent,
                         next_hop=config.next_hop)
        self.config = config
        self.state = RegState.IDLE
        self.auth = (
            DigestClient(config.username, config.password, cnonce_source=ids)
            if config.username is not None and config.password is not None else None
        )  # fmt: skip
        self.call_id = ids()
        self.from_tag = ids()
        self.cseq = 0
        self.expires = config.expires
        self.failures = 0
        self.expires_at: float | None = None
        self.refresh_at: float | None = None
        self.retry_at: float | None = None
        #: (header name, last challenge): credentials for every later REGISTER are computed from it
        self._challenge: tuple[str, Challenge] | None = None
        self._answering = False
        self._sent_answer = False
        #: Status and reason of the last final response (kept as values: a fleet holds thousands).
        self._last: tuple[int, str] | None = None
        self._delay: float | None = None
        self._current = ""
        self._stale_answers = 0

    @functools.cached_property
    def _addresses(self) -> tuple[SipUri, NameAddr, NameAddr, NameAddr]:
        """Request-URI, From, To and Contact of every REGISTER of this binding: made (and their
        text written) once, not for each refresh."""
        aor = self.config.aor
        return (SipUri(host=aor.host, port=aor.port), NameAddr(uri=aor).with_tag(self.from_tag),
                NameAddr(uri=aor), NameAddr(uri=self.contact))

    @property
    def contact(self) -> SipUri:
        return self.local_uri(self.config.aor.user)

    def trusted_peers(self) -> list[Address]:
        """Only the registrar (or the outbound proxy) may send this core a request (it answers 405)."""
        return self._client_peers(self.config.registrar)

    @property
    def registered(self) -> bool:
        return self.state is RegState.REGISTERED

    def start(self, now: float) -> list[Output]:
        self.failures = 0
        return self._fire(now, I.START)

    def stop(self, now: float) -> list[Output]:
        """Remove the binding (Expires: 0, RFC 3261 §10.2.2)."""
        return self._fire(now, I.STOP)

    def _fire(self, now: float, event: RegInput) -> list[Output]:
        try:
            action, self.state = TABLE[(self.state, event)]
        except KeyError:
            raise LocalProtocolError(
                f"{event.value} in registration state {self.state.value}", status=500
            ) from None
        out: list[Output] = getattr(self, action)(now)
        return out

    def _nothing(self, now: float) -> list[Output]:
        return []

    def _send(self, now: float, expires: int) -> list[Output]:
        self.cseq += 1
        registrar, from_, to, contact = self._addresses
        fields: list[tuple[str, object]] = [
            ("From", from_), ("To", to), ("Call-ID", self.call_id),
            ("CSeq", f"{self.cseq} REGISTER"), ("Contact", contact), ("Expires", expires),
        ]  # fmt: skip
        if self._challenge is not None and self.auth is not None:
            # Every REGISTER after a challenge carries credentials computed from it (RFC 7616 §3.4:
            # nc counts up); a refresh with an old nonce is answered stale=true by the registrar.
            name, challenge = self._challenge
            fields.append((name, str(self.auth.authorize("REGISTER", str(registrar), challenge))))
        request = self._build("REGISTER", registrar, fields)
        self._current = request.top_via.branch or ""
        self._sent_answer, self._answering = self._answering, False
        return self._send_request(request, self.config.registrar, now)

    def _send_register(self, now: float) -> list[Output]:
        self.refresh_at = self.retry_at = None
        return self._send(now, self.expires)

    def _send_unregister(self, now: float) -> list[Output]:
        self.refresh_at = self.retry_at = None
        return self._send(now, 0)

    def _registered(self, now: float) -> list[Output]:
        self.failures = 0
        self.expires_at = now + self.expires
        # Refresh `refresh_margin` before expiry, at most half-way [choice].
        self.refresh_at = self.expires_at - min(self.config.refresh_margin, self.expires / 2)
        return [Registered(expires_at=self.expires_at)]

    def _schedule_retry(self, now: float) -> list[Output]:
        if self._delay is None:
            self.failures += 1
            self._delay = min(self.config.retry_base * 2 ** (self.failures - 1), self.config.retry_max)
        self.retry_at = now + self._delay
        self.expires_at = None
        return [RegistrationFailed(status=self._status(), reason=self._reason(), retry_at=self.retry_at)]

    def _give_up(self, now: float) -> list[Output]:
        self.expires_at = self.retry_at = None
        return [RegistrationFailed(status=self._status(), reason=self._reason(), retry_at=None)]

    def _stopped(self, now: float) -> list[Output]:
        self.expires_at = self.refresh_at = self.retry_at = None
        return []

    def _status(self) -> int:
        return self._last[0] if self._last is not None else 0

    def _reason(self) -> str:
        return self._last[1] if self._last is not None else "timeout"

    # --- network input --------------------------------------------------------------------------

    def _on_response(self, now: float, request: Request, response: Response) -> list[Output]:
        if response.status < 200 or request.top_via.branch != self._current:
            return []
        self._last, self._delay = (response.status, response.reason), None
        status = response.status
        if status < 300:
            granted = self._granted(response)
            if granted is not None and granted > 0:
                self.expires = granted
            return self._fire(now, I.ACCEPTED)
        if status in (401, 407) and self.auth is not None:
            header = "WWW-Authenticate" if status == 401 else "Proxy-Authenticate"
            challenge = best_challenge(response.headers.get_all(header))
            # RFC 3261 §22.2: answer a challenge to a request without credentials or with credentials
            # from an earlier challenge; a 401 to our answer is final unless the nonce was only stale,
            # and at most 2 stale answers in a row, so an always-stale server can't make us loop [choice].
            if not self._sent_answer:
                self._stale_answers = 0
                retry = challenge is not None
            else:
                retry = challenge is not None and challenge.stale and self._stale_answers < 2
                self._stale_answers += 1
            if retry and challenge is not None:
                self._challenge = ("Authorization" if status == 401 else "Proxy-Authorization", challenge)
                self._answering = True
                return self._fire(now, I.CHALLENGED)
        self._challenge = None
        if status == 423 and response.min_expires:
            # RFC 3261 §10.2.8: retry at once with an interval of at least Min-Expires.
            self.expires, self._delay = max(self.expires, response.min_expires), 0.0
            return self._fire(now, I.REJECTED)
        if status in (401, 403, 407):
            if self.config.retry_forbidden is None:
                return self._fire(now, I.REJECTED_FINAL)
            self._delay = self.config.retry_forbidden
        elif response.retry_after is not None:
            self._delay = float(response.retry_after.seconds)
        return self._fire(now, I.REJECTED)

    def _granted(self, response: Response) -> int | None:
        # RFC 3261 §10.2.4: the expiry is the Contact's expires parameter for our binding, else Expires.
        for contact in response.contacts:
            if isinstance(contact.uri, SipUri) and (contact.uri.host, contact.uri.port) == self.local[:2]:
                value = contact.param("expires")
                if value:
                    try:
                        # RFC 3261 §20.19: delta-seconds, a value too large taken as 2**32-1.
                        return read_uint(value, "expires parameter in Contact", clamp=True)
                    except RemoteProtocolError:
                        pass  # [choice] a malformed parameter is ignored: the Expires header decides
        return response.expires

    def _on_timeout(self, now: float, request: Request) -> list[Output]:
        if request.top_via.branch != self._current:
            return []
        self._last, self._delay = None, None
        return self._fire(now, I.REJECTED)

    # --- timers ---------------------------------------------------------------------------------

    def _own_deadline(self) -> float | None:
        # Asked after every message (drivers re-arm their timer): no list, no min().
        refresh, retry = self.refresh_at, self.retry_at
        if refresh is None:
            return retry
        return refresh if retry is None or refresh <= retry else retry

    def _on_own_timer(self, now: float) -> list[Output]:
        if self.retry_at is not None and self.retry_at <= now:
            self.retry_at = None
            return self._fire(now, I.RETRY_DUE) if self.state is S.WAITING else []
        if self.refresh_at is not None and self.refresh_at <= now:
            self.refresh_at = None
            return self._fire(now, I.REFRESH_DUE) if self.state is S.REGISTERED else []
        return []


__all__ = ["TABLE", "RegInput", "RegState", "RegistrationClient", "RegistrationConfig"]
