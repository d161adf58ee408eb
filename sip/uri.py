"""SIP URIs, generic parameters and name-addr/addr-spec values (RFC 3261 §19.1, §20.10, §25.1).

One responsibility: turn the address-shaped texts of SIP (Request-URI, From, To, Contact, Route)
into frozen values and back. Every malformed text raises `RemoteProtocolError` (400 + the defect).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, TypeVar, cast

from sip.errors import LocalProtocolError, RemoteProtocolError
from sip.numbers import PORT_MAX, read_uint

#: RFC 3261 §25.1: token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~")
TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
TOKEN_RE = re.compile(TOKEN)
# quoted-string = DQUOTE *(qdtext / quoted-pair) DQUOTE, written as an unrolled loop (runs of
# plain characters between quoted-pairs): the same language as the alternation, without one
# alternation per character.
QUOTED = r'"[^"\\]*(?:\\[\x00-\x09\x0b\x0c\x0e-\x7f][^"\\]*)*"'

Params = tuple[tuple[str, str | None], ...]

# RFC 3261 §19.1.1 / §25.1: user = 1*( unreserved / escaped / user-unreserved ), user-unreserved
# adds "&" "=" "+" "$" "," ";" "?" "/"; password drops ";" "?" "/"; hostport = host [ ":" port ].
_USER = r"[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+"
_PASSWORD = r"[A-Za-z0-9\-_.!~*'()&=+$,%]*"
_HOST = r"[A-Za-z0-9][A-Za-z0-9\-.]*|\[[0-9A-Fa-f:.]+\]"
_PARAMCHARS = r"[A-Za-z0-9\-_.!~*'()\[\]/:&+$%]"
_HEADERCHARS = r"[A-Za-z0-9\-_.!~*'()\[\]/?:+$%&=]"
_SIP_URI_RE = re.compile(
    rf"(sips?):(?:({_USER})(?::({_PASSWORD}))?@)?({_HOST})(?::([0-9]+))?"
    rf"((?:;{_PARAMCHARS}+(?:={_PARAMCHARS}*)?)*)(?:\?({_HEADERCHARS}*))?",
    re.IGNORECASE,
)
_URI_PARAM_RE = re.compile(rf";({_PARAMCHARS}+)(?:=({_PARAMCHARS}*))?")
# RFC 3261 §25.1: absoluteURI = scheme ":" ( hier-part / opaque-part ); no whitespace, no <> or quotes.
_ABSOLUTE_URI_RE = re.compile(r"[A-Za-z][A-Za-z0-9+\-.]*:[^\s<>\"]+")

# Generic header parameters: *( SEMI generic-param ), generic-param = token [ EQUAL gen-value ],
# gen-value = token / host / quoted-string; SEMI and EQUAL allow LWS on both sides (§25.1). A host
# may be an IPv6reference `[...]`, and Via's `received` an IPv6address without brackets
# (via-received = "received" EQUAL (IPv4address / IPv6address)): tried before token, which stops
# at the first colon.
_IPV6_ADDRESS = r"[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*"
_GEN_PARAM_RE = re.compile(
    rf"\s*;\s*({TOKEN})(?:\s*=\s*({QUOTED}|{_IPV6_ADDRESS}|{TOKEN}|\[[0-9A-Fa-f:.]+\]))?\s*")


_SIMPLE_PARAMS_RE = re.compile(rf"(?:;{TOKEN}(?:={TOKEN})?)+")


def parse_params(text: str, what: str) -> Params:
    """Parse `;name=value;flag` (LWS tolerated) into ordered pairs; names are lower-cased."""
    if not text or text.isspace():
        return ()
    if _SIMPLE_PARAMS_RE.fullmatch(text) is not None:
        # Fast path for the usual ";tag=x;lr" form (no LWS, no quoted strings).
        simple: list[tuple[str, str | None]] = []
        for part in text[1:].split(";"):
            name, sep, value = part.partition("=")
            simple.append((name.lower(), value if sep else None))
        return tuple(simple)
    out: list[tuple[str, str | None]] = []
    pos, end = 0, len(text)
    match = _GEN_PARAM_RE.match
    while pos < end:
        m = match(text, pos)
        if m is None or m.end() == pos:
            raise RemoteProtocolError(f"Malformed parameters in {what} header")
        out.append((m.group(1).lower(), m.group(2)))
        pos = m.end()
    return tuple(out)


def format_params(params: Params) -> str:
    if not params:
        return ""
    return "".join([";" + k if v is None else f";{k}={v}" for k, v in params])


def param(params: Params, name: str) -> str | None:
    """Value of parameter `name` ('' for a flag without value), or None when absent."""
    for k, v in params:
        if k == name:
            return "" if v is None else v
    return None


def unquote(value: str) -> str:
    """RFC 3261 §25.1 quoted-string -> its text (quoted-pair resolved)."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        inner = value[1:-1]
        return _QUOTED_PAIR_RE.sub(r"\1", inner) if "\\" in inner else inner
    return value


_QUOTED_PAIR_RE = re.compile(r"\\(.)", re.DOTALL)


_NEEDS_PAIR_RE = re.compile(r'[\x00-\x09\x0b\x0c\x0e-\x1f\x7f"\\]')


def quote(text: str) -> str:
    """Text -> quoted-string; control characters become quoted-pairs (RFC 3261 §25.1)."""
    if "\r" in text or "\n" in text:
        raise LocalProtocolError("CR or LF cannot be sent in a quoted string")
    return '"' + _NEEDS_PAIR_RE.sub(lambda m: "\\" + m.group(0), text) + '"'


def host_of(address_host: str) -> str:
    """The host part for a socket address: an IPv6 literal in brackets (RFC 3261 §25.1 IPv6reference),
    anything else as it is."""
    return f"[{address_host}]" if ":" in address_host and not address_host.startswith("[") else address_host


def is_ip_literal(host: str) -> bool:
    """True for an IPv4 or IPv6 address (with or without the brackets of an IPv6reference): a
    sans-I/O core can send to it without resolving a name (RFC 3263 is a driver's business)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def wire_text(render: Callable[[Any], str]) -> Callable[[Any], str]:
    """`__str__` for a frozen value, written once and kept on it: a dialog's From, To, Contact,
    Request-URI and a transaction's Via go into every message they appear in, and never change.
    The text is no field, so equality, hashing and repr ignore it."""

    @functools.wraps(render)
    def __str__(self: Any) -> str:
        text: str | None = self.__dict__.get("_text")
        if text is None:
            text = render(self)
            object.__setattr__(self, "_text", text)
        return text

    return __str__


@dataclass(frozen=True, kw_only=True)
class SipUri:
    """A sip: or sips: URI (RFC 3261 §19.1.1). `params` keep their order; `headers` is the raw ?-part."""

    scheme: str = "sip"
    user: str | None = None
    password: str | None = None
    host: str
    port: int | None = None
    params: Params = ()
    headers: str | None = None

    @wire_text
    def __str__(self) -> str:
        userinfo = ""
        if self.user is not None:
            userinfo = self.user + (f":{self.password}" if self.password is not None else "") + "@"
        port = f":{self.port}" if self.port is not None else ""
        hdrs = f"?{self.headers}" if self.headers is not None else ""
        return f"{self.scheme}:{userinfo}{self.host}{port}{format_params(self.params)}{hdrs}"

    def param(self, name: str) -> str | None:
        return param(self.params, name)

    def with_params(self, params: Params) -> SipUri:
        return replace(self, params=params)


@dataclass(frozen=True, kw_only=True)
class AbsoluteUri:
    """A URI of another scheme (tel:, unknown schemes), kept opaque (RFC 3261 §19.1.6, RFC 4475 §3.3.2)."""

    text: str

    @property
    def scheme(self) -> str:
        return self.text.split(":", 1)[0].lower()

    def __str__(self) -> str:
        return self.text


Uri = SipUri | AbsoluteUri


#: Texts longer than this are parsed without the cache [choice]: a peer sending distinct long values
#: would otherwise keep 16384 of them (16 KiB a line: some 270 MB) alive in each cache.
CACHED_TEXT_MAX = 512

_Parse = TypeVar("_Parse", bound=Callable[..., Any])


def short_text_cache(maxsize: int) -> Callable[[_Parse], _Parse]:
    """`lru_cache` for parsers of frozen values keyed by text, for texts up to `CACHED_TEXT_MAX`."""

    def wrap(parse: _Parse) -> _Parse:
        cached = lru_cache(maxsize=maxsize)(parse)

        @functools.wraps(parse)
        def call(text: str, *args: Any, **kwargs: Any) -> Any:
            if len(text) <= CACHED_TEXT_MAX:
                return cached(text, *args, **kwargs)
            return parse(text, *args, **kwargs)

        return cast(_Parse, call)

    return wrap


#: A frozen dataclass instance filled without its generated `__init__` [choice]: that `__init__` sets
#: each field through `object.__setattr__` (frozen), some 0.4 us per value, 0.15 us this way; the
#: hot parsers below build several values per message. Every field is given, as `__init__` would.
_new = object.__new__


def parse_uri(text: str, *, what: str = "URI", request_uri: bool = False) -> Uri:
    """Parse a URI; sip/sips are fully parsed, other schemes kept opaque but checked for shape."""
    if len(text) <= CACHED_TEXT_MAX:
        try:
            uri = _uri_memo(text)
        except RemoteProtocolError:
            return _parse_uri(text, what, request_uri)   # raises again, naming `what`
        if not request_uri or type(uri) is not SipUri or uri.headers is None:
            return uri
    return _parse_uri(text, what, request_uri)


def _parse_uri(text: str, what: str = "URI", request_uri: bool = False) -> Uri:
    m = _SIP_URI_RE.fullmatch(text)
    if m is not None:
        scheme, user, password, host, port, params, headers = m.groups()
        if request_uri and headers is not None:
            # RFC 3261 §19.1.1 table: header components are not allowed in a Request-URI.
            raise RemoteProtocolError("Request-URI carries escaped headers")
        uri = _new(SipUri)
        d = uri.__dict__
        d["scheme"] = scheme.lower()
        d["user"] = user
        d["password"] = password
        d["host"] = host
        d["port"] = read_uint(port, f"port in {what}", limit=PORT_MAX) if port is not None else None
        d["params"] = (
            tuple((p.group(1).lower(), p.group(2)) for p in _URI_PARAM_RE.finditer(params)) if params else ()
        )
        d["headers"] = headers
        return uri
    if text[:4].lower() == "sip:" or text[:5].lower() == "sips:":
        raise RemoteProtocolError(f"Malformed SIP URI in {what}")
    if _ABSOLUTE_URI_RE.fullmatch(text) is None:
        raise RemoteProtocolError(f"Malformed URI in {what}")
    return AbsoluteUri(text=text)


# The parsed values are frozen, so the same text (a dialog's From, To, Contact, Request-URI: every
# message of a dialog repeats them) is parsed once; failures raise and are not cached. Keyed by the
# text alone: `what` only names the place in an error, so a URI met as Request-URI, From and To is
# one entry; a failure is parsed again with the caller's `what` to raise its error.
_uri_memo = lru_cache(maxsize=16384)(_parse_uri)


def _uri(text: str, what: str) -> Uri:
    """`parse_uri(text, what=what)` without its keyword arguments (the name-addr parser's path)."""
    if len(text) <= CACHED_TEXT_MAX:
        try:
            return _uri_memo(text)
        except RemoteProtocolError:
            pass
    return _parse_uri(text, what)


# RFC 3261 §25.1: name-addr = [ display-name ] LAQUOT addr-spec RAQUOT,
# display-name = *(token LWS) / quoted-string. RFC 4475 §3.1.1.6 asks to accept "caller<sip:...>".
# Written so that every character has one way to match (tokens are separated by at least one
# whitespace, no two adjacent repeats share a character): `(?:{TOKEN}\s*)*` would let a run of
# token characters without "<" be split in 2**n ways, each tried before the match fails.
_NAME_ADDR_RE = re.compile(
    rf"\s*(?:({QUOTED})\s*|({TOKEN}(?:\s+{TOKEN})*)\s*)?<([^<>\s]+)>(.*)", re.DOTALL
)
_ADDR_SPEC_RE = re.compile(r"\s*([^\s;<>\"]+)(.*)", re.DOTALL)


@dataclass(frozen=True, kw_only=True)
class NameAddr:
    """A From/To/Contact/Route value: optional display name, URI, header parameters (tag, expires, q)."""

    uri: Uri
    display: str | None = None
    params: Params = ()
    #: True when the value was (or is to be) written with <>; forced for URIs with ; , or ? (§20).
    brackets: bool = True

    @property
    def tag(self) -> str | None:
        return param(self.params, "tag")

    def param(self, name: str) -> str | None:
        return param(self.params, name)

    def with_tag(self, tag: str) -> NameAddr:
        params = (*[p for p in self.params if p[0] != "tag"], ("tag", tag))
        # Built directly rather than by dataclasses.replace() or __init__, both slower: every final
        # response to a dialog-creating request adds a To tag.
        value = _new(NameAddr)
        d = value.__dict__
        d["uri"] = self.uri
        d["display"] = self.display
        d["params"] = params
        d["brackets"] = self.brackets
        return value

    @wire_text
    def __str__(self) -> str:
        uri = str(self.uri)
        if self.display is None and not self.brackets and not any(c in uri for c in ";,?"):
            return uri + format_params(self.params)
        name = f"{quote(self.display)} " if self.display is not None else ""
        return f"{name}<{uri}>{format_params(self.params)}"


def parse_name_addr(text: str, what: str) -> NameAddr:
    """Parse one name-addr or addr-spec with its header parameters (RFC 3261 §20.10 rule on ';')."""
    if len(text) <= CACHED_TEXT_MAX:
        try:
            return name_addr_memo(text)
        except RemoteProtocolError:
            pass   # parsed again below, so that the error names `what`
    return _parse_name_addr(text, what)


def _parse_name_addr(text: str, what: str = "address") -> NameAddr:
    if text[:1] == "<":
        end = text.find(">")
        uri_text = text[1:end]
        if end > 1 and "<" not in uri_text:
            value = _new(NameAddr)
            d = value.__dict__
            d["uri"] = _uri(uri_text, what)
            d["display"] = None
            rest = text[end + 1 :]
            if not rest:
                d["params"] = ()
            elif rest[:5] == ";tag=" and TOKEN_RE.fullmatch(rest, 5) is not None:
                d["params"] = (("tag", rest[5:]),)   # what parse_params gives for ";tag=token"
            else:
                d["params"] = parse_params(rest, what)
            d["brackets"] = True
            return value
    m = _NAME_ADDR_RE.fullmatch(text)
    if m is not None:
        quoted, tokens, uri_text, rest = m.groups()
        display = unquote(quoted) if quoted is not None else tokens
        return NameAddr(
            uri=_uri(uri_text, what),
            display=display,
            params=parse_params(rest, what),
            brackets=True,
        )
    if "<" in text or '"' in text:
        raise RemoteProtocolError(f"Malformed {what} header")
    m = _ADDR_SPEC_RE.fullmatch(text)
    if m is None:
        raise RemoteProtocolError(f"Malformed {what} header")
    uri_text, rest = m.groups()
    # RFC 3261 §20: an addr-spec holding "," "?" or ";" MUST be written as a name-addr; without <>
    # every ";" starts a header parameter, so the URI itself can't contain "?" (RFC 4475 §3.1.2.13).
    if "?" in uri_text or "," in uri_text:
        raise RemoteProtocolError(f"URI with headers not enclosed in <> in {what} header")
    return NameAddr(uri=_uri(uri_text, what), params=parse_params(rest, what), brackets=False)


#: A dialog's From and To repeat in each of its messages (and one's From is the other's To): keyed by
#: the text alone, as `_uri_memo`. Its errors name the place "address": a caller that calls it
#: directly parses a failure again with `parse_name_addr` (as `sip.message` does).
name_addr_memo = lru_cache(maxsize=16384)(_parse_name_addr)


def split_commas(value: str) -> list[str]:
    """Split a multi-valued header at commas outside quoted strings and <> (RFC 3261 §7.3.1)."""
    if "," not in value:
        return [value.strip()]
    if '"' not in value and "<" not in value:
        return [v.strip() for v in value.split(",")]
    out: list[str] = []
    start, i, n = 0, 0, len(value)
    in_quote = in_angle = False
    while i < n:
        c = value[i]
        if in_quote:
            if c == "\\":
                i += 1
            elif c == '"':
                in_quote = False
        elif c == '"':
            in_quote = True
        elif c == "<":
            in_angle = True
        elif c == ">":
            in_angle = False
        elif c == "," and not in_angle:
            out.append(value[start:i].strip())
            start = i + 1
        i += 1
    if in_quote:
        raise RemoteProtocolError("Unterminated quoted string")
    out.append(value[start:].strip())
    return out


__all__ = [
    "TOKEN_RE",
    "AbsoluteUri",
    "NameAddr",
    "Params",
    "SipUri",
    "Uri",
    "format_params",
    "param",
    "parse_name_addr",
    "parse_params",
    "parse_uri",
    "quote",
    "split_commas",
    "unquote",
    "wire_text",
]
