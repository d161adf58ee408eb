"""Digest authentication of REGISTER and INVITE at the application server (RFC 3261 §22.1, §22.4).

One responsibility: decide whether a request is from the user it claims to be, and build the
challenge to answer otherwise. The notifier checks SUBSCRIBE itself (`NotifierConfig.passwords`);
the registrar and the FAC core call `check()` here so all three use one `DigestServer` (one realm,
one nonce lifetime).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from sip.auth import DigestServer, Verdict, parse_credentials
from sip.errors import RemoteProtocolError
from sip.message import Request


class AuthResult(enum.Enum):
    OK = "ok"
    CHALLENGE = "no credentials: 401"
    STALE = "stale nonce: 401 stale=true"
    FAILED = "wrong credentials"


@dataclass(frozen=True, kw_only=True)
class Guard:
    """Checks `Authorization` against `passwords` with `digest`; `digest=None` lets everything in."""

    digest: DigestServer | None
    passwords: Mapping[str, str]

    def check(self, request: Request, user: str, now: float) -> AuthResult:
        if self.digest is None:
            return AuthResult.OK
        raw = request.headers.get("Authorization") or request.headers.get("Proxy-Authorization")
        if raw is None:
            return AuthResult.CHALLENGE
        try:
            credentials = parse_credentials(raw)
        except RemoteProtocolError:
            return AuthResult.FAILED
        if credentials.username != user or credentials.realm != self.digest.realm:
            # RFC 3261 §22.4: the credentials must be those of the identity in the request.
            return AuthResult.FAILED
        verdict = self.digest.verify(request, credentials, self.passwords.get(user), now)
        if verdict is Verdict.STALE:
            return AuthResult.STALE
        return AuthResult.OK if verdict is Verdict.OK else AuthResult.FAILED

    def challenge_header(self, now: float, *, stale: bool) -> tuple[str, object]:
        # RFC 3261 §22.1: a UAS answers 401 with a WWW-Authenticate challenge; RFC 7616 §3.3:
        # stale=true tells the client that only the nonce is too old (no new password prompt).
        assert self.digest is not None
        return ("WWW-Authenticate", self.digest.challenge(now, stale=stale))


__all__ = ["AuthResult", "Guard"]
