"""HTTP Digest authentication for SIP (RFC 3261 §22, RFC 7616, RFC 2617, RFC 8760).

One responsibility: challenges and credentials. The client side answers 401/407 (MD5 or SHA-256,
qop=auth with nc/cnonce; the cnonce comes from an injected source so runs are deterministic); the
server side issues nonces bound to the time they were made (`now` is passed in), verifies answers
and reports a stale nonce so the client can retry without asking the user (`stale=true`).
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

from sip.errors import RemoteProtocolError
from sip.message import Request
from sip.uri import QUOTED, TOKEN, unquote

_PARAM_RE = re.compile(rf"\s*({TOKEN})\s*=\s*({QUOTED}|{TOKEN})\s*(?:,|$)")
# The same, repeated over the whole list and without groups: checked at once, then read with findall.
_PARAMS_RE = re.compile(rf"(?:\s*{TOKEN}\s*=\s*(?:{QUOTED}|{TOKEN})\s*(?:,|$))+")
_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def _parse_auth_params(value: str, what: str) -> tuple[str, dict[str, str]]:
    scheme, _, rest = value.strip().partition(" ")
    if not scheme or not rest.strip():
        raise RemoteProtocolError(f"Malformed {what} header")
    text = rest.strip()
    if _PARAMS_RE.fullmatch(text) is None:
        raise RemoteProtocolError(f"Malformed {what} header")
    return scheme, {
        # A quoted value without quoted-pairs is its inside (unquote() for the rest).
        name.lower(): raw[1:-1] if raw[0] == '"' and "\\" not in raw else unquote(raw)
        for name, raw in _PARAM_RE.findall(text)
    }


def _h(algorithm: str, text: str) -> str:
    return _HASHES[algorithm](text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, kw_only=True)
class Challenge:
    """A WWW-Authenticate / Proxy-Authenticate Digest challenge (RFC 7616 §3.3)."""

    realm: str
    nonce: str
    algorithm: str = "MD5"
    qop: tuple[str, ...] = ()
    opaque: str | None = None
    stale: bool = False

    def __str__(self) -> str:
        out = f'Digest realm="{self.realm}", nonce="{self.nonce}", algorithm={self.algorithm}'
        if self.qop:
            out += f', qop="{",".join(self.qop)}"'
        if self.opaque is not None:
            out += f', opaque="{self.opaque}"'
        if self.stale:
            out += ", stale=true"
        return out


def parse_challenge(value: str) -> Challenge:
    scheme, p = _parse_auth_params(value, "WWW-Authenticate")
    if scheme.lower() != "digest":
        raise RemoteProtocolError(f"Unsupported authentication scheme {scheme[:20]}")
    if "realm" not in p or "nonce" not in p:
        raise RemoteProtocolError("Digest challenge without realm or nonce")
    algorithm = p.get("algorithm", "MD5").upper()
    return Challenge(
        realm=p["realm"], nonce=p["nonce"], algorithm=algorithm,
        qop=tuple(q.strip().lower() for q in p["qop"].split(",")) if "qop" in p else (),
        opaque=p.get("opaque"), stale=p.get("stale", "").lower() == "true",
    )  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class Credentials:
    """An Authorization / Proxy-Authorization Digest answer (RFC 7616 §3.4)."""

    username: str
    realm: str
    nonce: str
    uri: str
    response: str
    algorithm: str = "MD5"
    qop: str | None = None
    nc: str | None = None
    cnonce: str | None = None
    opaque: str | None = None

    def __str__(self) -> str:
        out = (
            f'Digest username="{self.username}", realm="{self.realm}", nonce="{self.nonce}", '
            f'uri="{self.uri}", response="{self.response}", algorithm={self.algorithm}'
        )
        if self.qop is not None:
            out += f', qop={self.qop}, nc={self.nc}, cnonce="{self.cnonce}"'
        if self.opaque is not None:
            out += f', opaque="{self.opaque}"'
        return out


def parse_credentials(value: str) -> Credentials:
    scheme, p = _parse_auth_params(value, "Authorization")
    if scheme.lower() != "digest":
        raise RemoteProtocolError(f"Unsupported authentication scheme {scheme[:20]}")
    missing = [k for k in ("username", "realm", "nonce", "uri", "response") if k not in p]
    if missing:
        raise RemoteProtocolError(f"Digest credentials without {missing[0]}")
    return Credentials(
        username=p["username"], realm=p["realm"], nonce=p["nonce"], uri=p["uri"], response=p["response"],
        algorithm=p.get("algorithm", "MD5").upper(), qop=p.get("qop"), nc=p.get("nc"),
        cnonce=p.get("cnonce"), opaque=p.get("opaque"),
    )  # fmt: skip


def digest_response(
    *, algorithm: str, username: str, realm: str, password: str, method: str, uri: str, nonce: str,
    qop: str | None, nc: str | None, cnonce: str | None,
) -> str:  # fmt: skip
    """RFC 7616 §3.4.1: response = H(H(A1):nonce[:nc:cnonce:qop]:H(A2)), A1 = user:realm:password,
    A2 = method:uri (qop=auth or none)."""
    ha1 = _h(algorithm, f"{username}:{realm}:{password}")
    ha2 = _h(algorithm, f"{method}:{uri}")
    if qop:
        return _h(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _h(algorithm, f"{ha1}:{nonce}:{ha2}")


class DigestClient:
    """Answers challenges for one account. `cnonce_source()` must return a fresh string each call."""

    def __init__(self, username: str, password: str, *, cnonce_source: Callable[[], str]) -> None:
        self.username = username
        self.password = password
        self.cnonce_source = cnonce_source
        self._nc: dict[str, int] = {}

    def authorize(self, method: str, uri: str, challenge: Challenge) -> Credentials:
        """Credentials for a request with this method and Request-URI against `challenge`."""
        if challenge.algorithm not in _HASHES:
            raise RemoteProtocolError(f"Unsupported digest algorithm {challenge.algorithm[:20]}")
        qop = "auth" if "auth" in challenge.qop else None
        nc = cnonce = None
        if qop is not None:
            # RFC 7616 §3.4: nc counts the requests sent with this nonce, 8 hex digits.
            count = self._nc.get(challenge.nonce, 0) + 1
            self._nc[challenge.nonce] = count
            nc, cnonce = f"{count:08x}", self.cnonce_source()
        response = digest_response(
            algorithm=challenge.algorithm, username=self.username, realm=challenge.realm,
            password=self.password, method=method, uri=uri, nonce=challenge.nonce,
            qop=qop, nc=nc, cnonce=cnonce,
        )  # fmt: skip
        return Credentials(
            username=self.username, realm=challenge.realm, nonce=challenge.nonce, uri=uri, response=response,
            algorithm=challenge.algorithm, qop=qop, nc=nc, cnonce=cnonce, opaque=challenge.opaque,
        )  # fmt: skip


def best_challenge(values: list[str]) -> Challenge | None:
    """Of several challenges, prefer SHA-256 over MD5 (RFC 7616 §3.7); ignore unknown ones."""
    found: list[Challenge] = []
    for value in values:
        try:
            found.append(parse_challenge(value))
        except RemoteProtocolError:
            continue
    found = [c for c in found if c.algorithm in _HASHES]
    found.sort(key=lambda c: c.algorithm != "SHA-256")
    return found[0] if found else None


class Verdict(enum.Enum):
    OK = "ok"
    STALE = "stale nonce"
    FAILED = "failed"


class DigestServer:
    """Issues and checks nonces for one realm. A nonce is `<time>.<counter>.<hmac>`, so it needs no
    storage and its age is judged from the `now` passed in (RFC 7616 §5.5)."""

    def __init__(
        self, realm: str, *, secret: bytes, nonce_lifetime: float = 300.0, algorithm: str = "MD5",
    ) -> None:  # fmt: skip
        self.realm = realm
        self.secret = secret
        self.nonce_lifetime = nonce_lifetime
        self.algorithm = algorithm
        self._counter = 0

    def _mac(self, stamp: str) -> str:
        return hmac.digest(self.secret, stamp.encode(), "sha256").hex()[:24]

    def challenge(self, now: float, *, stale: bool = False) -> Challenge:
        self._counter += 1
        stamp = f"{now:.3f}.{self._counter}"
        return Challenge(
            realm=self.realm, nonce=f"{stamp}.{self._mac(stamp)}", algorithm=self.algorithm, qop=("auth",),
            stale=stale,
        )  # fmt: skip

    def verify(self, request: Request, credentials: Credentials, password: str | None, now: float) -> Verdict:
        """OK, STALE (right password, expired nonce: challenge again with stale=true) or FAILED."""
        if password is None or credentials.realm != self.realm or credentials.algorithm not in _HASHES:
            return Verdict.FAILED
        stamp, _, mac = credentials.nonce.rpartition(".")
        # compare_digest refuses str with non-ASCII characters (TypeError): compare the octets, as a
        # received nonce or response may hold any UTF-8 the header grammar lets through.
        if not stamp or not hmac.compare_digest(mac.encode(), self._mac(stamp).encode()):
            return Verdict.FAILED
        expected = digest_response(
            algorithm=credentials.algorithm, username=credentials.username, realm=self.realm,
            password=password, method=request.method, uri=credentials.uri, nonce=credentials.nonce,
            qop=credentials.qop, nc=credentials.nc, cnonce=credentials.cnonce,
        )  # fmt: skip
        if not hmac.compare_digest(expected.encode(), credentials.response.encode()):
            return Verdict.FAILED
        issued = float(stamp.split(".", 2)[0] + "." + stamp.split(".", 2)[1])
        if now - issued > self.nonce_lifetime:
            return Verdict.STALE
        return Verdict.OK


__all__ = [
    "Challenge",
    "Credentials",
    "DigestClient",
    "DigestServer",
    "Verdict",
    "best_challenge",
    "digest_response",
    "parse_challenge",
    "parse_credentials",
]
