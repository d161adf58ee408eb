"""Typed SIP header values: names and compact forms, Via, CSeq, media types, Event,
Subscription-State, Retry-After, delta-seconds, Date (RFC 3261 §7.3, §20, §25; RFC 6665 §8.2).

One responsibility: the grammar of individual header values. Each `parse_*` raises
`RemoteProtocolError` (400, reason naming the header) on malformed text; each value's `str()` is
its canonical wire form, so `parse_x(str(v)) == v`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sip.errors import RemoteProtocolError
from sip.numbers import PORT_MAX, UINT32_MAX, read_uint
from sip.uri import QUOTED, TOKEN, Params, format_params, param, parse_params, unquote, wire_text

#: RFC 3261 §7.3.3 and RFC 6665 §8.2.1 compact forms -> canonical names.
COMPACT = {
    "i": "Call-ID",
    "m": "Contact",
    "e": "Content-Encoding",
    "l": "Content-Length",
    "c": "Content-Type",
    "f": "From",
    "s": "Subject",
    "k": "Supported",
    "t": "To",
    "v": "Via",
    "o": "Event",
    "u": "Allow-Events",
    "r": "Refer-To",
    "b": "Referred-By",
}
_KNOWN = [
    "Accept",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow",
    "Allow-Events",
    "Authentication-Info",
    "Authorization",
    "Call-ID",
    "Call-Info",
    "Contact",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Content-Length",
    "Content-Type",
    "CSeq",
    "Date",
    "Error-Info",
    "Event",
    "Expires",
    "From",
    "In-Reply-To",
    "Max-Forwards",
    "Min-Expires",
    "MIME-Version",
    "Organization",
    "Priority",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Proxy-Require",
    "Record-Route",
    "Reply-To",
    "Require",
    "Retry-After",
    "Route",
    "Server",
    "Subject",
    "Subscription-State",
    "Supported",
    "Timestamp",
    "To",
    "Unsupported",
    "User-Agent",
    "Via",
    "Warning",
    "WWW-Authenticate",
]
#: lower-cased name (long or compact) -> canonical spelling.
CANONICAL: dict[str, str] = {n.lower(): n for n in _KNOWN}
CANONICAL.update(COMPACT)

#: Headers whose value may be a comma-separated list (RFC 3261 §7.3.1); others are single-valued.
LIST_HEADERS = frozenset(
    {
        "Accept",
        "Accept-Encoding",
        "Accept-Language",
        "Allow",
        "Allow-Events",
        "Contact",
        "Route",
        "Record-Route",
        "Via",
        "Supported",
        "Require",
        "Proxy-Require",
        "Unsupported",
        "In-Reply-To",
        "Warning",
        "Alert-Info",
        "Call-Info",
        "Error-Info",
        "Content-Encoding",
        "Content-Language",
    }
)
#: Headers that must appear at most once (RFC 3261 §7.3.1, RFC 4475 §3.3.8).
SINGLE_HEADERS = frozenset(
    {
        "Call-ID",
        "CSeq",
        "From",
        "To",
        "Max-Forwards",
        "Content-Length",
        "Content-Type",
        "Expires",
        "Min-Expires",
        "Event",
        "Subscription-State",
        "Retry-After",
        "Date",
    }
)

def canonical_name(name: str) -> str:
    return CANONICAL.get(name.lower(), name)


def parse_uint(value: str, what: str, *, limit: int = UINT32_MAX, clamp: bool = False) -> int:
    """1*DIGIT of header `what` (leading zeros allowed, RFC 4475 §3.1.1.1), through the bounded reader
    `sip.numbers.read_uint`; above `limit` is an error unless clamped."""
    return read_uint(value, f"{what} header", limit=limit, clamp=clamp)


@dataclass(frozen=True, kw_only=True)
class Via:
    """One Via value (RFC 3261 §20.42, §18.2.1 received/rport, RFC 3581)."""

    transport: str = "UDP"
    host: str
    port: int | None = None
    params: Params = ()

    @property
    def branch(self) -> str | None:
        return param(self.params, "branch")

    @property
    def received(self) -> str | None:
        return param(self.params, "received")

    @property
    def rport(self) -> str | None:
        """'' when present without value (request asks for it), the port text when filled in."""
        return param(self.params, "rport")

    @wire_text
    def __str__(self) -> str:
        port = f":{self.port}" if self.port is not None else ""
        return f"SIP/2.0/{self.transport} {self.host}{port}{format_params(self.params)}"


# via-parm = sent-protocol LWS sent-by *( SEMI via-params ); sent-protocol = "SIP" SLASH "2.0" SLASH
# transport, SLASH = SWS "/" SWS (so LWS around the slashes is legal, RFC 4475 §3.1.1.1).
_VIA_RE = re.compile(
    rf"\s*SIP\s*/\s*2\.0\s*/\s*({TOKEN})\s+([A-Za-z0-9][A-Za-z0-9\-.]*|\[[0-9A-Fa-f:.]+\])"
    rf"(?:\s*:\s*([0-9]+))?(.*)",
    re.DOTALL,
)


# The Via a stack writes: no LWS, plain `;name=value` / `;flag` parameters (a subset of `_VIA_RE`
# followed by `sip.uri.parse_params`, taken in one match; anything else goes the general way).
_PLAIN_VIA_RE = re.compile(
    rf"SIP/2\.0/({TOKEN}) ([A-Za-z0-9][A-Za-z0-9\-.]*|\[[0-9A-Fa-f:.]+\])(?::([0-9]+))?"
    rf"((?:;{TOKEN}(?:={TOKEN})?)*)"
)
_new = object.__new__


def parse_via(value: str) -> Via:
    m = _PLAIN_VIA_RE.fullmatch(value)
    if m is not None:
        transport, host, port, rest = m.groups()
        if rest:
            # What parse_params' own fast path gives for this form.
            pairs: list[tuple[str, str | None]] = []
            for part in rest[1:].split(";"):
                name, sep, text = part.partition("=")
                pairs.append((name.lower(), text if sep else None))
            params: Params = tuple(pairs)
        else:
            params = ()
    else:
        m = _VIA_RE.fullmatch(value)
        if m is None:
            raise RemoteProtocolError("Malformed Via header")
        transport, host, port, rest = m.groups()
        params = parse_params(rest, "Via")
    # Built without the frozen __init__ (see sip.uri._new), every field given.
    via = _new(Via)
    d = via.__dict__
    d["transport"] = transport.upper()
    d["host"] = host
    # 1 to 4 digits ([0-9]+ by both expressions) are a port without the bounded reader's checks.
    if not port:
        d["port"] = None
    elif len(port) < 5:
        d["port"] = int(port)
    else:
        d["port"] = read_uint(port, "port in Via header", limit=PORT_MAX)
    d["params"] = params
    return via


@dataclass(frozen=True, kw_only=True)
class CSeq:
    """RFC 3261 §20.16: sequence number (< 2**32) and method."""

    seq: int
    method: str

    def __str__(self) -> str:
        return f"{self.seq} {self.method}"


_CSEQ_RE = re.compile(rf"\s*([0-9]+)\s+({TOKEN})\s*")


#: RFC 3261 §7.1, RFC 3265/6665, RFC 3311, RFC 3428, RFC 3515, RFC 3903: the methods a CSeq holds in
#: practice (each a token), for the CSeq and Request-Line fast paths.
METHODS = frozenset(
    ("INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "SUBSCRIBE", "NOTIFY", "PRACK", "UPDATE",
     "INFO", "MESSAGE", "REFER", "PUBLISH")
)  # fmt: skip


def parse_cseq(value: str) -> CSeq:
    seq, space, method = value.partition(" ")
    if space and method in METHODS and seq.isdigit() and seq.isascii() and len(seq) < 10:
        # "<digits> <known method>", as stacks write it: what the general way gives, without a regex
        # (str.isdigit and isascii together are exactly [0-9]+; 9 digits stay below 2**32).
        number = int(seq)
    else:
        m = _CSEQ_RE.fullmatch(value)
        if m is None:
            raise RemoteProtocolError("Malformed CSeq header")
        # RFC 3261 §8.1.1.5: the sequence number MUST be expressible as a 32-bit unsigned integer.
        number, method = parse_uint(m.group(1), "CSeq"), m.group(2)
    cseq = _new(CSeq)   # without the frozen __init__ (sip.uri._new), every field given
    d = cseq.__dict__
    d["seq"] = number
    d["method"] = method
    return cseq


@dataclass(frozen=True, kw_only=True)
class MediaType:
    """Content-Type / Accept value (RFC 3261 §20.15: m-type SLASH m-subtype *(SEMI m-parameter))."""

    type: str
    subtype: str
    params: Params = ()

    @property
    def mime(self) -> str:
        return f"{self.type}/{self.subtype}"

    def param(self, name: str) -> str | None:
        value = param(self.params, name)
        return unquote(value) if value else value

    def __str__(self) -> str:
        return f"{self.type}/{self.subtype}{format_params(self.params)}"


_MEDIA_RE = re.compile(rf"\s*({TOKEN})\s*/\s*({TOKEN})(.*)", re.DOTALL)


def parse_media_type(value: str, what: str = "Content-Type") -> MediaType:
    m = _MEDIA_RE.fullmatch(value)
    if m is None:
        raise RemoteProtocolError(f"Malformed {what} header")
    return MediaType(
        type=m.group(1).lower(), subtype=m.group(2).lower(), params=parse_params(m.group(3), what)
    )


@dataclass(frozen=True, kw_only=True)
class EventHeader:
    """RFC 6665 §8.2.1 Event: event-type *( SEMI event-param ), e.g. `as-feature-event;id=3`."""

    package: str
    params: Params = ()

    @property
    def id(self) -> str | None:
        return param(self.params, "id")

    def __str__(self) -> str:
        return f"{self.package}{format_params(self.params)}"


_EVENT_RE = re.compile(rf"\s*({TOKEN})(.*)", re.DOTALL)


def parse_event(value: str) -> EventHeader:
    m = _EVENT_RE.fullmatch(value)
    if m is None:
        raise RemoteProtocolError("Malformed Event header")
    return EventHeader(package=m.group(1).lower(), params=parse_params(m.group(2), "Event"))


@dataclass(frozen=True, kw_only=True)
class SubscriptionState:
    """RFC 6665 §8.2.3: substate-value *( SEMI subexp-params ): expires, reason, retry-after."""

    state: str
    expires: int | None = None
    reason: str | None = None
    retry_after: int | None = None

    def __str__(self) -> str:
        out = self.state
        if self.reason is not None:
            out += f";reason={self.reason}"
        if self.expires is not None:
            out += f";expires={self.expires}"
        if self.retry_after is not None:
            out += f";retry-after={self.retry_after}"
        return out


_SUBSTATE_RE = re.compile(rf"\s*({TOKEN})(.*)", re.DOTALL)
# feature-key-sync.md §5: some servers send "active, 3600" for "active;expires=3600".
_SUBSTATE_COMMA_RE = re.compile(r"\s*,\s*([0-9]+)\s*")


def parse_subscription_state(value: str) -> SubscriptionState:
    m = _SUBSTATE_RE.fullmatch(value)
    if m is None:
        raise RemoteProtocolError("Malformed Subscription-State header")
    state, rest = m.group(1).lower(), m.group(2)
    comma = _SUBSTATE_COMMA_RE.fullmatch(rest)
    if comma is not None:
        return SubscriptionState(
            state=state, expires=parse_uint(comma.group(1), "Subscription-State", clamp=True)
        )
    params = parse_params(rest, "Subscription-State")
    expires = param(params, "expires")
    retry = param(params, "retry-after")
    reason = param(params, "reason")
    return SubscriptionState(
        state=state,
        expires=parse_uint(expires, "Subscription-State", clamp=True) if expires is not None else None,
        reason=reason.lower() if reason else None,
        retry_after=parse_uint(retry, "Subscription-State", clamp=True) if retry is not None else None,
    )


@dataclass(frozen=True, kw_only=True)
class RetryAfter:
    """RFC 3261 §20.33: delta-seconds [ comment ] *( SEMI retry-param ) (duration)."""

    seconds: int
    comment: str | None = None
    params: Params = ()

    def __str__(self) -> str:
        comment = f" ({self.comment})" if self.comment is not None else ""
        return f"{self.seconds}{comment}{format_params(self.params)}"


_RETRY_RE = re.compile(r"\s*([0-9]+)\s*(?:\(([^()]*)\))?(.*)", re.DOTALL)


def parse_retry_after(value: str) -> RetryAfter:
    m = _RETRY_RE.fullmatch(value)
    if m is None:
        raise RemoteProtocolError("Malformed Retry-After header")
    return RetryAfter(
        seconds=parse_uint(m.group(1), "Retry-After"),
        comment=m.group(2),
        params=parse_params(m.group(3), "Retry-After"),
    )


def parse_token_list(value: str, what: str) -> tuple[str, ...]:
    """Allow, Allow-Events, Supported, Require: comma-separated tokens (may be empty)."""
    if not value.strip():
        return ()
    items = [v.strip() for v in value.split(",")]
    for item in items:
        if re.fullmatch(TOKEN, item) is None:
            raise RemoteProtocolError(f"Malformed {what} header")
    return tuple(items)


# RFC 3261 §20.17 / §25.1: SIP-date = rfc1123-date, and the zone MUST be "GMT" (RFC 4475 §3.1.2.12).
_DATE_RE = re.compile(
    r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
    r"[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT"
)


def check_date(value: str) -> str:
    if _DATE_RE.fullmatch(value.strip()) is None:
        raise RemoteProtocolError("Malformed Date header")
    return value


__all__ = [
    "CANONICAL",
    "COMPACT",
    "LIST_HEADERS",
    "METHODS",
    "QUOTED",
    "SINGLE_HEADERS",
    "CSeq",
    "EventHeader",
    "MediaType",
    "RetryAfter",
    "SubscriptionState",
    "Via",
    "canonical_name",
    "check_date",
    "parse_cseq",
    "parse_event",
    "parse_media_type",
    "parse_retry_after",
    "parse_subscription_state",
    "parse_token_list",
    "parse_uint",
    "parse_via",
]
