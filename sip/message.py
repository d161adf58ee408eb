"""SIP message framing: parse one datagram into a Request or Response, serialize it back
(RFC 3261 §7, §8.2.6, §18.3, §20).

One responsibility: the message as a whole (start line, header list, body, Content-Length) and its
typed header accessors; the grammar of single header values lives in `sip.headers` / `sip.uri`.
Parsing is strict: anything malformed raises `RemoteProtocolError` carrying the status to answer
(400 + the defect, 505 for another SIP version, 513 for an oversized message).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sip.errors import LocalProtocolError, RemoteProtocolError
from sip.header_checks import (
    CHECKED,
    LINE_KINDS,
    MANDATORY,
    NAME_CACHE,
    TYPED,
    TYPED_LIST,
    UNKNOWN,
    VALIDATORS,
    Irregular,
    header_name,
    line_kind,
    parse_call_id,
    parse_contact,
    parse_expires,
    parse_from,
    parse_max_forwards,
    parse_route,
    parse_to,
)
from sip.headers import (
    CANONICAL,
    LIST_HEADERS,
    METHODS,
    SINGLE_HEADERS,
    CSeq,
    EventHeader,
    MediaType,
    RetryAfter,
    SubscriptionState,
    Via,
    parse_cseq,
    parse_event,
    parse_media_type,
    parse_retry_after,
    parse_subscription_state,
    parse_token_list,
    parse_uint,
    parse_via,
)
from sip.uri import (
    CACHED_TEXT_MAX,
    TOKEN_RE,
    NameAddr,
    Uri,
    parse_uri,
    split_commas,
)

#: Bounds (choices): a UDP datagram is at most 65535 octets; 128 header lines; 16 KiB per line.
MAX_MESSAGE_SIZE = 65535
MAX_HEADERS = 128
MAX_LINE = 16384

REASONS = {
    100: "Trying", 180: "Ringing", 183: "Session Progress", 200: "OK", 202: "Accepted",
    301: "Moved Permanently", 302: "Moved Temporarily",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 407: "Proxy Authentication Required", 408: "Request Timeout",
    415: "Unsupported Media Type", 423: "Interval Too Brief", 481: "Call/Transaction Does Not Exist",
    480: "Temporarily Unavailable", 484: "Address Incomplete", 486: "Busy Here", 487: "Request Terminated",
    488: "Not Acceptable Here", 489: "Bad Event", 500: "Server Internal Error",
    501: "Not Implemented", 503: "Service Unavailable", 505: "Version Not Supported",
    513: "Message Too Large", 600: "Busy Everywhere", 603: "Decline",
}  # fmt: skip

_VERSION_RE = re.compile(r"SIP/[0-9]+\.[0-9]+", re.IGNORECASE)
_FOLD_RE = re.compile(r"\r\n[ \t]+")
_MISSING = object()


class Headers:
    """An ordered list of (canonical name, raw value); names compared case-insensitively via
    canonicalisation at insertion. Typed values are parsed on demand and cached."""

    __slots__ = ("_cache", "_items")

    def __init__(self, items: Iterable[tuple[str, object]] = ()) -> None:
        known = _CANON_CACHE.get
        self._items: list[tuple[str, str]] = [
            (known(n) or _canon(n), v if type(v) is str else str(v)) for n, v in items
        ]
        self._cache: dict[str, Any] = {}

    def __iter__(self) -> Any:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._items == other._items

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"

    def get(self, name: str) -> str | None:
        name = _canon(name)
        for n, v in self._items:
            if n == name:
                return v
        return None

    def get_all(self, name: str) -> list[str]:
        name = _canon(name)
        return [v for n, v in self._items if n == name]

    def values(self, name: str) -> list[str]:
        """All comma-separated values of a list header across its header lines (RFC 3261 §7.3.1)."""
        out: list[str] = []
        for raw in self.get_all(name):
            out.extend(split_commas(raw))
        return out

    def add(self, name: str, value: object) -> None:
        self._items.append((_canon(name), str(value)))
        self._cache.clear()

    def set(self, name: str, value: object) -> None:
        """Replace every line of `name` by one (kept at the place of the first)."""
        name, text = _canon(name), str(value)
        out: list[tuple[str, str]] = []
        done = False
        for n, v in self._items:
            if n == name:
                if not done:
                    out.append((n, text))
                    done = True
            else:
                out.append((n, v))
        if not done:
            out.append((name, text))
        self._items = out
        self._cache.clear()

    def remove(self, name: str) -> None:
        name = _canon(name)
        self._items = [(n, v) for n, v in self._items if n != name]
        self._cache.clear()

    def know(self, name: str, typed: Any) -> None:
        """Record the typed value of a header this code wrote itself (`typed` is what its text was
        made from), so that reading it back does not parse our own text. `name` as in the typed
        cache: "Via*" for the list of Vias."""
        self._cache[name] = typed

    def copy(self) -> Headers:
        new = Headers()
        new._items = list(self._items)
        return new


def _canon(name: str) -> str:
    canonical = _CANON_CACHE.get(name)
    if canonical is None:
        canonical = CANONICAL.get(name.lower(), name)
        if len(_CANON_CACHE) < 1024:
            _CANON_CACHE[name] = canonical
    return canonical


#: spelling -> canonical name, for the names this code writes itself (bounded).
_CANON_CACHE: dict[str, str] = {}


class Message:
    """Common part of requests and responses: headers, body and typed accessors."""

    __slots__ = ()
    headers: Headers
    body: bytes

    def _typed(self, name: str, parse: Any) -> Any:
        cache = self.headers._cache
        value = cache.get(name, _MISSING)
        if value is _MISSING:
            value = None
            for n, raw in self.headers._items:
                if n == name:
                    value = parse(raw)
                    break
            cache[name] = value
        return value

    def _required(self, name: str, parse: Any) -> Any:
        value = self._typed(name, parse)
        if value is None:
            raise RemoteProtocolError(f"Missing {name} header")
        return value

    def _list(self, name: str, parse: Any) -> list[Any]:
        cache = self.headers._cache
        key = name + "*"
        value = cache.get(key)
        if value is None:
            value = [parse(v) for v in self.headers.values(name)]
            cache[key] = value
        return value

    @property
    def vias(self) -> list[Via]:
        value = self.headers._cache.get("Via*")   # filled by parse_message: the one lookup
        return value if value is not None else self._list("Via", parse_via)

    @property
    def top_via(self) -> Via:
        vias = self.vias
        if not vias:
            raise RemoteProtocolError("Missing Via header")
        return vias[0]

    @property
    def from_(self) -> NameAddr:
        value = self.headers._cache.get("From")   # filled by parse_message: the one lookup
        return value if value is not None else self._required("From", parse_from)

    @property
    def to(self) -> NameAddr:
        value = self.headers._cache.get("To")   # filled by parse_message: the one lookup
        return value if value is not None else self._required("To", parse_to)

    @property
    def call_id(self) -> str:
        value = self.headers._cache.get("Call-ID")   # filled by parse_message: the one lookup
        return value if value is not None else self._required("Call-ID", parse_call_id)

    @property
    def cseq(self) -> CSeq:
        value = self.headers._cache.get("CSeq")   # filled by parse_message: the one lookup
        return value if value is not None else self._required("CSeq", parse_cseq)

    @property
    def contacts(self) -> list[NameAddr]:
        return self._list("Contact", parse_contact)

    @property
    def record_routes(self) -> list[NameAddr]:
        return self._list("Record-Route", parse_route)

    @property
    def routes(self) -> list[NameAddr]:
        return self._list("Route", parse_route)

    @property
    def expires(self) -> int | None:
        return self._typed("Expires", parse_expires)

    @property
    def min_expires(self) -> int | None:
        return self._typed("Min-Expires", parse_expires)

    @property
    def max_forwards(self) -> int | None:
        return self._typed("Max-Forwards", parse_max_forwards)

    @property
    def event(self) -> EventHeader | None:
        return self._typed("Event", parse_event)

    @property
    def subscription_state(self) -> SubscriptionState | None:
        return self._typed("Subscription-State", parse_subscription_state)

    @property
    def allow_events(self) -> tuple[str, ...]:
        return tuple(
            t for raw in self.headers.get_all("Allow-Events") for t in parse_token_list(raw, "Allow-Events")
        )

    @property
    def content_type(self) -> MediaType | None:
        value = self.headers._cache.get("Content-Type", _MISSING)   # filled by parse_message
        return value if value is not _MISSING else self._typed("Content-Type", parse_media_type)

    @property
    def retry_after(self) -> RetryAfter | None:
        return self._typed("Retry-After", parse_retry_after)

    def validate(self) -> None:
        """Parse every header this stack understands, so a malformed one fails now (400); the typed
        values are cached for the accessors. One pass over the header list."""
        cache = self.headers._cache
        cache.clear()
        lists: dict[str, list[Any]] = {}
        seen: set[str] = set()
        validators = VALIDATORS
        for name, value in self.headers._items:
            kind, parse = validators.get(name, UNKNOWN)
            if kind == TYPED:
                if name in cache:
                    # RFC 3261 §7.3.1 / RFC 4475 §3.3.8: single-valued headers must not repeat.
                    raise RemoteProtocolError(f"Multiple {name} headers")
                cache[name] = parse(value)
                continue
            if kind == TYPED_LIST:
                found = lists.get(name)
                if found is None:
                    found = lists[name] = []
                if '"' in value or "<" in value or "," in value:
                    found.extend(parse(v) for v in split_commas(value))
                else:
                    found.append(parse(value))
                continue
            if kind == CHECKED:
                parse(value)
            if name in SINGLE_HEADERS:
                if name in seen:
                    raise RemoteProtocolError(f"Multiple {name} headers")
                seen.add(name)
        for name, found in lists.items():
            cache[name + "*"] = found
        for name in MANDATORY:
            if name not in cache:
                # RFC 3261 §8.1.1: To, From, CSeq, Call-ID, Max-Forwards(*) and Via are mandatory.
                raise RemoteProtocolError(f"Missing {name.rstrip('*')} header")
        if self.body and "Content-Type" not in cache:
            # RFC 3261 §20.15: Content-Type MUST be present if the body is not empty.
            raise RemoteProtocolError("Body without Content-Type")

    def to_bytes(self) -> bytes:
        raise NotImplementedError  # pragma: no cover - overridden

    def _head(self, start: str) -> bytes:
        lines = [start]
        have_length = False
        for name, value in self.headers:
            if name == "Content-Length":
                if have_length:
                    continue
                value = str(len(self.body))
                have_length = True
            lines.append(f"{name}: {value}")
        if not have_length:
            # RFC 3261 §20.14: we always send Content-Length, even over UDP.
            lines.append(f"Content-Length: {len(self.body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + self.body


@dataclass(eq=True, slots=True)
class Request(Message):
    """A SIP request (RFC 3261 §7.1)."""

    method: str
    uri: Uri
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def to_bytes(self) -> bytes:
        return self._head(f"{self.method} {self.uri} SIP/2.0")


@dataclass(eq=True, slots=True)
class Response(Message):
    """A SIP response (RFC 3261 §7.2)."""

    status: int
    reason: str = ""
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    def to_bytes(self) -> bytes:
        return self._head(f"SIP/2.0 {self.status} {self.reason}")


def _read_and_check(lines: list[str], headers: Headers) -> str | None:
    """Read the header lines into `headers` and check their values as `Message.validate` does, in
    one pass; the text of the first Content-Length. The checks are those of the two passes
    (`_read_lines`, `Message.validate`), only their order differs: whatever one rejects, the
    caller hands to the two passes, so the error raised is theirs."""
    items = headers._items
    cache = headers._cache
    kinds = LINE_KINDS
    seen: set[str] = set()
    length_text: str | None = None
    for line in lines[1:]:
        raw, colon, value = line.partition(":")
        if not colon or not raw:
            raise Irregular
        known = kinds.get(raw)
        if known is None:
            known = line_kind(raw)
        name, kind, parse, key, single = known
        value = value.strip(" \t")
        items.append((name, value))
        if kind == TYPED:
            if key in cache or len(value) > CACHED_TEXT_MAX:
                raise Irregular   # repeated; or too long for a memo (the two passes take it)
            cache[key] = parse(value)
        elif kind == TYPED_LIST:
            if len(value) > CACHED_TEXT_MAX:
                raise Irregular
            found = cache.get(key)
            if found is None:
                found = cache[key] = []
            if "," in value:
                found.extend(parse(v) for v in split_commas(value))
            elif '"' in value or "<" in value:
                found.append(parse(value.strip()))   # split_commas' one value
            else:
                found.append(parse(value))
        else:
            if kind == CHECKED:
                parse(value)
            if single:
                if name in seen:
                    raise Irregular
                seen.add(name)
                if name == "Content-Length":
                    length_text = value
    return length_text


def _read_lines(lines: list[str], items: list[tuple[str, str]]) -> str | None:
    """Read the header lines into `items`, the first malformed one raising its error; the text of
    the first Content-Length."""
    names = NAME_CACHE
    length_text: str | None = None
    for line in lines[1:]:
        raw, colon, value = line.partition(":")
        if not colon or not raw:
            raise RemoteProtocolError("Malformed header line")
        name = names.get(raw)
        if name is None:
            name = header_name(raw)
        value = value.strip(" \t")
        if name == "Content-Length" and length_text is None:
            length_text = value
        items.append((name, value))
    return length_text


def _framed_body(body: bytes, length_text: str | None) -> bytes:
    """The body as Content-Length frames it (RFC 3261 §18.3, §20.14)."""
    if length_text is None:
        return body
    if length_text.isdigit() and length_text.isascii() and len(length_text) < 5:
        length = int(length_text)   # [0-9]{1,4}: what the bounded reader gives, below its limit
    else:
        length = parse_uint(length_text.strip(), "Content-Length", limit=MAX_MESSAGE_SIZE)
    if length > len(body):
        # RFC 3261 §18.3: over UDP, a Content-Length larger than the datagram's body is an error.
        raise RemoteProtocolError("Content-Length larger than the body")
    return body[:length]


def parse_message(data: bytes) -> Request | Response:
    """Parse one UDP datagram holding one SIP message; octets after Content-Length are ignored
    (RFC 3261 §18.3, RFC 4475 §3.1.1.8)."""
    if len(data) > MAX_MESSAGE_SIZE:
        raise RemoteProtocolError("Message Too Large", status=513)
    # RFC 3261 §7.5: implementations SHOULD ignore CRLFs that appear before the start line.
    if data[:2] == b"\r\n":
        data = data.lstrip(b"\r\n")
    end = data.find(b"\r\n\r\n")
    if end < 0:
        raise RemoteProtocolError("Header section not terminated by an empty line")
    try:
        head = data[:end].decode("utf-8")
    except UnicodeDecodeError:
        raise RemoteProtocolError("Header section is not valid UTF-8") from None
    if "\r\n " in head or "\r\n\t" in head:
        # RFC 3261 §7.3.1: a header may be folded onto lines starting with SP/HTAB; unfold to one SP.
        head = _FOLD_RE.sub(" ", head)
    lines = head.split("\r\n")
    if len(lines) > MAX_HEADERS + 1:
        raise RemoteProtocolError("Too many header lines")
    start = lines[0]
    message: Request | Response
    message = _parse_status_line(start) if start[:4].upper() == "SIP/" else _parse_request_line(start)
    if head.count("\n") != len(lines) - 1 or head.count("\r") != len(lines) - 1:
        # RFC 3261 §7: lines end with CRLF; a bare CR or LF is not a line end.
        raise RemoteProtocolError("Bare CR or LF in header section")
    if len(head) > MAX_LINE and max(map(len, lines)) > MAX_LINE:
        raise RemoteProtocolError("Header line too long")
    body = data[end + 4 :]
    try:
        length_text = _read_and_check(lines, message.headers)
    except (RemoteProtocolError, Irregular):
        # Something is wrong or unusual: the two passes below raise the error the first defect
        # gives (line shapes and names, then Content-Length, then values), or accept it.
        message.headers._items.clear()
        length_text = _read_lines(lines, message.headers._items)
        message.body = _framed_body(body, length_text)
        message.validate()
    else:
        message.body = _framed_body(body, length_text)
        cache = message.headers._cache
        for name in MANDATORY:
            if name not in cache:
                # RFC 3261 §8.1.1: To, From, CSeq, Call-ID, Max-Forwards(*) and Via are mandatory.
                raise RemoteProtocolError(f"Missing {name.rstrip('*')} header")
        if message.body and "Content-Type" not in cache:
            # RFC 3261 §20.15: Content-Type MUST be present if the body is not empty.
            raise RemoteProtocolError("Body without Content-Type")
    # Both ways above leave the parsed CSeq in the cache (a mandatory header).
    if isinstance(message, Request) and message.headers._cache["CSeq"].method != message.method:
        # RFC 3261 §8.1.1.5: the CSeq method MUST match the request method (RFC 4475 §3.1.2.17).
        raise RemoteProtocolError("CSeq method does not match the request method")
    return message


def _check_version(version: str) -> None:
    if version != "SIP/2.0":
        if _VERSION_RE.fullmatch(version):
            # RFC 3261 §8.2.2 / RFC 4475 §3.1.2.16: another SIP version is answered with 505.
            raise RemoteProtocolError("Version Not Supported", status=505)
        raise RemoteProtocolError("Malformed SIP version")


def _parse_request_line(line: str) -> Request:
    # RFC 3261 §7.1: Request-Line = Method SP Request-URI SP SIP-Version CRLF (exactly one SP each).
    parts = line.split(" ")
    if len(parts) != 3:
        raise RemoteProtocolError("Malformed Request-Line")
    method, uri, version = parts
    if method not in METHODS and TOKEN_RE.fullmatch(method) is None:
        raise RemoteProtocolError("Malformed method in Request-Line")
    _check_version(version)
    return Request(method=method, uri=parse_uri(uri, what="Request-URI", request_uri=True))


def _parse_status_line(line: str) -> Response:
    # RFC 3261 §7.2: Status-Line = SIP-Version SP Status-Code SP Reason-Phrase CRLF.
    parts = line.split(" ", 2)
    if len(parts) != 3:
        raise RemoteProtocolError("Malformed Status-Line")
    version, code, reason = parts
    _check_version(version)
    if len(code) != 3 or not code.isdigit() or not code.isascii() or not "100" <= code <= "699":
        raise RemoteProtocolError("Malformed status code")
    return Response(status=int(code), reason=reason)


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, object]] = (),
    body: bytes = b"",
) -> Response:
    """Build a response to `request` per RFC 3261 §8.2.6.2: Via (all, in order), From, Call-ID and
    CSeq copied; To copied and given `to_tag` if it has none."""
    if not 100 <= status <= 699:
        raise LocalProtocolError(f"Status {status} out of range")
    h = Headers()
    items = h._items
    from_text = to_text = ""
    for name, value in request.headers._items:   # one pass: every Via, the first From and To
        if name == "Via":
            items.append((name, value))
        elif name == "From" and not from_text:
            from_text = value
        elif name == "To" and not to_text:
            to_text = value
    to = request.to
    items.append(("From", from_text))
    items.append(("To", str(to.with_tag(to_tag)) if to_tag is not None and to.tag is None else to_text))
    items.append(("Call-ID", request.call_id))
    items.append(("CSeq", str(request.cseq)))
    for extra, extra_value in headers:
        h.add(extra, extra_value)
    return Response(
        status=status, reason=reason if reason is not None else REASONS.get(status, ""), headers=h, body=body
    )


__all__ = [
    "LIST_HEADERS",
    "MAX_HEADERS",
    "MAX_MESSAGE_SIZE",
    "REASONS",
    "Headers",
    "Message",
    "Request",
    "Response",
    "make_response",
    "parse_message",
]
