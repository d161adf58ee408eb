"""The registrar of RFC 3261 §10.3: REGISTER with digest authentication, bindings per contact.

One responsibility: the bindings of every user's devices. A REGISTER is checked in the order of
§10.3 (the AOR in To must exist: 404; credentials: 401 challenge / 401 stale / 403; the fault knob;
Contact "*" rules; 423 Interval Too Brief), then its contacts are added, refreshed or removed
(Expires 0) and the 200 lists every binding of the user with its remaining `expires`. Bindings are
purged lazily: a binding whose time has passed is dropped whenever the user's bindings are read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sip.core import Core
from sip.errors import RemoteProtocolError
from sip.events import Address, Output
from sip.message import Request
from sip.numbers import read_uint
from sip.server.faults import Faults
from sip.server.guard import AuthResult, Guard
from sip.server.users import Directory
from sip.transaction import TimerConfig
from sip.uri import NameAddr, SipUri


@dataclass(frozen=True, kw_only=True)
class Binding:
    """One contact of one user (RFC 3261 §10.3 step 7 keeps Call-ID and CSeq with it)."""

    user: str
    contact: NameAddr
    expires_at: float
    call_id: str
    cseq: int
    source: Address

    def remaining(self, now: float) -> int:
        return max(int(self.expires_at - now + 0.5), 0)


@dataclass(frozen=True, kw_only=True)
class RegistrarConfig:
    """Limits (choices): 60 s minimum (423 below it), 3600 s default and maximum."""

    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600


class Registrar(Core):
    """All users' bindings behind one UDP endpoint."""

    def __init__(
        self, *, local: Address, ids: Callable[[], str], directory: Directory, guard: Guard, faults: Faults,
        config: RegistrarConfig | None = None, timers: TimerConfig | None = None,
        user_agent: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(local=local, ids=ids, timers=timers, user_agent=user_agent)
        self.directory = directory
        self.guard = guard
        self.faults = faults
        self.config = config or RegistrarConfig()
        self._bindings: dict[str, dict[str, Binding]] = {}

    def bindings(self, user: str, now: float) -> list[Binding]:
        """The user's live bindings (expired ones are dropped here)."""
        found = self._bindings.get(user)
        if not found:
            return []
        for key in [k for k, b in found.items() if b.expires_at <= now]:
            del found[key]
        return list(found.values())

    def _on_request(self, now: float, request: Request, source: Address) -> list[Output]:
        if request.method != "REGISTER":
            return self._answer(now, request, 405, headers=[("Allow", "REGISTER")])
        user = request.to.uri.user if isinstance(request.to.uri, SipUri) else None
        if user is None or user not in self.directory:
            # RFC 3261 §10.3 step 3: an AOR that is not valid for the domain gets 404.
            return self._answer(now, request, 404)
        verdict = self.guard.check(request, user, now)
        if verdict is AuthResult.CHALLENGE or verdict is AuthResult.STALE:
            header = self.guard.challenge_header(now, stale=verdict is AuthResult.STALE)
            return self._answer(now, request, 401, headers=[header])
        if verdict is AuthResult.FAILED:
            # RFC 3261 §10.3 step 3/4: credentials that do not prove the identity -> 403.
            return self._answer(now, request, 403)
        refusal = self.faults.rejection("REGISTER")
        if refusal is not None:
            return self._answer(now, request, refusal[0], headers=refusal[1])
        contacts = request.contacts
        if any(c.param("star") is not None for c in contacts):
            return self._remove_all(now, request, user, len(contacts))
        expiries: list[int] = []
        for contact in contacts:
            expires = self._expires(request, contact)
            if 0 < expires < self.config.min_expires:
                # RFC 3261 §10.3 step 7: too brief -> 423 with Min-Expires, nothing is changed.
                return self._answer(now, request, 423, headers=[("Min-Expires", self.config.min_expires)])
            expiries.append(min(expires, self.config.max_expires))
        found = self._bindings.setdefault(user, {})
        self.bindings(user, now)
        for contact, expires in zip(contacts, expiries, strict=True):
            key = str(contact.uri)
            old = found.get(key)
            if old is not None and old.call_id == request.call_id and old.cseq >= request.cseq.seq:
                # RFC 3261 §10.3 step 7: same Call-ID and a CSeq not higher -> the update fails.
                return self._answer(now, request, 500, "CSeq out of order")
            if expires == 0:
                found.pop(key, None)
                continue
            found[key] = Binding(
                user=user, contact=NameAddr(uri=contact.uri), expires_at=now + expires,
                call_id=request.call_id, cseq=request.cseq.seq, source=source,
            )  # fmt: skip
        return self._ok(now, request, user)

    def _remove_all(self, now: float, request: Request, user: str, count: int) -> list[Output]:
        # RFC 3261 §10.3 step 6: "*" only alone and only with Expires: 0, else 400.
        if count != 1 or request.expires != 0:
            raise RemoteProtocolError('Contact "*" needs Expires: 0 and no other Contact')
        self._bindings.pop(user, None)
        return self._ok(now, request, user)

    def _expires(self, request: Request, contact: NameAddr) -> int:
        # RFC 3261 §10.2.1.1: the contact's expires parameter, else the Expires header, else default.
        value = contact.param("expires")
        if value is not None:
            # RFC 3261 §20.19: delta-seconds, a value too large taken as 2**32-1.
            return read_uint(value, "expires parameter in Contact", clamp=True)
        return request.expires if request.expires is not None else self.config.default_expires

    def _ok(self, now: float, request: Request, user: str) -> list[Output]:
        # RFC 3261 §10.3 step 8: the 200 lists all current bindings, each with its expires.
        headers: list[tuple[str, object]] = [
            ("Contact", NameAddr(uri=b.contact.uri, params=(("expires", str(b.remaining(now))),)))
            for b in self.bindings(user, now)
        ]
        return self._answer(now, request, 200, headers=headers)


__all__ = ["Binding", "Registrar", "RegistrarConfig"]
