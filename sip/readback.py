"""What the parser makes of a message, and the answer to one it could not parse.

`understood_headers` shows a parsed message's headers as this stack reads them (canonical names,
typed values in canonical form), for `fksim sip parse`. `error_response_bytes` salvages a 4xx/5xx
for a request that failed to parse, from its raw Via, From, To, Call-ID and CSeq lines (RFC 3261
§8.2.6). Split from `sip.message`, which keeps the codec itself.
"""

from __future__ import annotations

from typing import Any

from sip.errors import RemoteProtocolError
from sip.events import Address, SendDatagram
from sip.header_checks import LIST_PARSERS
from sip.headers import CANONICAL
from sip.message import _FOLD_RE, Message, parse_message
from sip.uri import split_commas

_SINGLE_TYPED: dict[str, Any] = {
    "From": lambda m: m.from_, "To": lambda m: m.to, "CSeq": lambda m: m.cseq, "Expires": lambda m: m.expires,
    "Min-Expires": lambda m: m.min_expires, "Max-Forwards": lambda m: m.max_forwards,
    "Event": lambda m: m.event, "Subscription-State": lambda m: m.subscription_state,
    "Content-Type": lambda m: m.content_type, "Retry-After": lambda m: m.retry_after,
}  # fmt: skip


def understood_headers(message: Message) -> list[tuple[str, str]]:
    """The headers as this parser understands them: canonical names, typed values in canonical form,
    list headers one value per line, unknown headers as received (unfolded)."""
    out: list[tuple[str, str]] = []
    for name, value in message.headers:
        if name in _SINGLE_TYPED:
            out.append((name, str(_SINGLE_TYPED[name](message))))
        elif name in LIST_PARSERS:
            out.extend((name, str(LIST_PARSERS[name](v))) for v in split_commas(value))
        else:
            out.append((name, value))
    return out


def error_response_bytes(data: bytes, error: RemoteProtocolError) -> bytes | None:
    """Best-effort answer to a request that failed to parse (RFC 3261 §8.2.6 asks for the same Via,
    From, To, Call-ID and CSeq): copy those raw lines. None if `data` is a response or has no Via."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    lines = _FOLD_RE.sub(" ", head).split("\r\n")
    if not lines or lines[0][:4].upper() == "SIP/":
        return None  # responses are never answered (RFC 4475 §3.1.2.5)
    kept: list[str] = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        canon = CANONICAL.get(name.strip().lower())
        if sep and canon in ("Via", "From", "To", "Call-ID", "CSeq") and "\r" not in value:
            kept.append(f"{canon}: {value.strip()}")
    if not any(k.startswith("Via:") for k in kept):
        return None
    reason = error.reason.replace("\r", " ").replace("\n", " ")
    answer = (
        "\r\n".join([f"SIP/2.0 {error.status} {reason}", *kept, "Content-Length: 0"]) + "\r\n\r\n"
    ).encode()
    try:
        # Never send a malformed answer: if the copied lines themselves are broken, drop instead.
        parse_message(answer)
    except RemoteProtocolError:
        return None
    return answer


def answer_unparsable(data: bytes, error: RemoteProtocolError, source: Address,
                      transport: str = "UDP") -> list[SendDatagram]:
    """What an endpoint sends back for `data` that did not parse: the salvaged error response, over
    the transport it came on, to where it came from; nothing when none can be made."""
    answer = error_response_bytes(data, error)
    return [] if answer is None else [SendDatagram(data=answer, destination=source, transport=transport)]


__all__ = ["answer_unparsable", "error_response_bytes", "understood_headers"]
