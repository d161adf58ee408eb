"""What the SIP parser checks in each header of a received message, and with what (RFC 3261 §7.3.1,
§8.1.1, §20; RFC 6665 §8.2).

One responsibility: the table `sip.message` applies to header lines: the parser of each header
this stack understands (memoised where values repeat across a fleet), the checks of others, the
mandatory and single-valued headers, and what a header name (as written) stands for. Split from
`sip.message`, which keeps the framing and the message values.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from sip.errors import RemoteProtocolError
from sip.headers import (
    CANONICAL,
    SINGLE_HEADERS,
    check_date,
    parse_cseq,
    parse_event,
    parse_media_type,
    parse_retry_after,
    parse_subscription_state,
    parse_token_list,
    parse_uint,
    parse_via,
)
from sip.uri import CACHED_TEXT_MAX, TOKEN_RE, NameAddr, name_addr_memo, parse_name_addr, parse_uri


def parse_from(v: str) -> NameAddr:
    return parse_name_addr(v, "From")


def parse_to(v: str) -> NameAddr:
    return parse_name_addr(v, "To")


def parse_contact(v: str) -> NameAddr:
    if v == "*":
        # RFC 3261 §10.2.2: "Contact: *" (remove all bindings) is legal in REGISTER.
        return NameAddr(uri=parse_uri("sip:*@invalid"), params=(("star", None),), brackets=False)
    return parse_name_addr(v, "Contact")


def parse_route(v: str) -> NameAddr:
    return parse_name_addr(v, "Route")


# RFC 3261 §25.1: callid = word [ "@" word ], word = 1*(alphanum / "-" "." "!" "%" "*" "_" "+" "`" "'"
# "~" "(" ")" "<" ">" ":" "\" DQUOTE "/" "[" "]" "?" "{" "}").
_CALLID_RE = re.compile(
    r"[A-Za-z0-9\-.!%*_+`'~()<>:\\\"/\[\]?{}]+(?:@[A-Za-z0-9\-.!%*_+`'~()<>:\\\"/\[\]?{}]+)?"
)


def parse_call_id(v: str) -> str:
    if _CALLID_RE.fullmatch(v) is None:
        raise RemoteProtocolError("Malformed Call-ID header")
    return v


def parse_expires(v: str) -> int:
    return parse_uint(v.strip(), "Expires", clamp=True)


def parse_max_forwards(v: str) -> int:
    # RFC 3261 §20.22: Max-Forwards is an integer in the range 0-255.
    return parse_uint(v.strip(), "Max-Forwards", limit=255)


def _memo(parse: Any) -> Any:
    # These values repeat across messages and users ("as-feature-event", "70",
    # "active;expires=3600", the Content-Type); their parsed forms are immutable. Failures raise
    # and are not cached. From and To are cached in parse_name_addr; Call-IDs do not repeat, nor do
    # CSeq numbers across dialogs [choice]: CSeq is parsed without a memo, its fast path costing
    # less than a memo miss. Long texts are not kept (sip.uri.CACHED_TEXT_MAX).
    cached = lru_cache(maxsize=1024)(parse)

    def call(text: str) -> Any:   # one argument: cheaper than sip.uri.short_text_cache's wrapper
        return cached(text) if len(text) <= CACHED_TEXT_MAX else parse(text)

    _LRU_OF[call] = cached
    return call


#: memoised parser -> its lru_cache, which the one-pass reader calls itself (it keeps values
#: longer than CACHED_TEXT_MAX from it).
_LRU_OF: dict[Any, Any] = {}
_SINGLE_PARSERS: dict[str, Any] = {
    "From": parse_from, "To": parse_to, "Call-ID": parse_call_id, "CSeq": parse_cseq,
    "Expires": _memo(parse_expires), "Min-Expires": _memo(parse_expires),
    "Max-Forwards": _memo(parse_max_forwards), "Event": _memo(parse_event),
    "Subscription-State": _memo(parse_subscription_state), "Content-Type": _memo(parse_media_type),
    "Retry-After": _memo(parse_retry_after),
}  # fmt: skip
LIST_PARSERS: dict[str, Any] = {
    "Via": parse_via,
    "Contact": parse_contact,
    "Route": parse_route,
    "Record-Route": parse_route,
}
_CHECKS: dict[str, Any] = {
    "Allow-Events": lambda v: parse_token_list(v, "Allow-Events"),
    "Allow": lambda v: parse_token_list(v, "Allow"),
    "Date": check_date,
}
MANDATORY = ("Via*", "From", "To", "Call-ID", "CSeq")
# One lookup per header line in validate(): how the header is checked, and with what.
TYPED, TYPED_LIST, CHECKED = 1, 2, 3
UNKNOWN: tuple[int, Any] = (0, None)
VALIDATORS: dict[str, tuple[int, Any]] = {
    **{name: (TYPED, parse) for name, parse in _SINGLE_PARSERS.items()},
    **{name: (TYPED_LIST, parse) for name, parse in LIST_PARSERS.items()},
    **{name: (CHECKED, check) for name, check in _CHECKS.items()},
}


#: raw header-name spelling -> canonical name, filled as names are met (bounded).
NAME_CACHE: dict[str, str] = {}


def header_name(raw: str) -> str:
    # RFC 3261 §7.3.1: header-name = token, then HCOLON = *( SP / HTAB ) ":" SWS.
    name = raw.rstrip(" \t")
    if TOKEN_RE.fullmatch(name) is None:
        raise RemoteProtocolError("Malformed header name")
    canonical = CANONICAL.get(name.lower(), name)
    if len(NAME_CACHE) < 1024:
        NAME_CACHE[raw] = canonical
    return canonical


class Irregular(Exception):
    """A header section the one-pass reader leaves to the two passes (a single header repeated, a
    value longer than CACHED_TEXT_MAX)."""


#: raw header-name spelling -> (canonical name, how `validate` checks it, with what, cache key,
#: single-valued), filled as names are met (bounded). The one-pass reader calls the name-addr memo
#: itself: its errors name the place less well, but any error sends the message to the two passes,
#: which raise the parser's own; so do values longer than a memo keeps (CACHED_TEXT_MAX).
LINE_KINDS: dict[str, tuple[str, int, Any, str, bool]] = {}
_MEMOS: dict[str, Any] = {
    **{name: name_addr_memo for name in ("From", "To", "Contact", "Route", "Record-Route")},
}


def line_kind(raw: str) -> tuple[str, int, Any, str, bool]:
    name = header_name(raw)
    kind, parse = VALIDATORS.get(name, UNKNOWN)
    parse = _MEMOS.get(name) or _LRU_OF.get(parse, parse)
    known = (name, kind, parse, name + "*" if kind == TYPED_LIST else name, name in SINGLE_HEADERS)
    if len(LINE_KINDS) < 1024:
        LINE_KINDS[raw] = known
    return known
