"""Naming the messages of a run: one log entry -> the message object of the result format (spec §3).

SIP entries are parsed with the same strict parser the cores use; DECT entries are described by the
NWK codec. A datagram that does not parse (a fuzz test may send one) is still listed, named
`malformed` with the parser's reason, so the log never loses a message.
"""

from __future__ import annotations

from typing import Any

from dect.codec import describe
from dect.errors import DectError
from dect.paging import describe_page
from scenarios.world.log import LogEntry
from sip.errors import SipError
from sip.feature_event import CONTENT_TYPE, read_feature_body
from sip.message import Message, Request, parse_message


def body_elements(message: Message) -> str | None:
    """The XML element names an as-feature-event body carries, joined by ", " (None: no body), then
    what a liberal reader leaves out of it (issue 12 §1), in brackets."""
    if not message.body:
        return None
    content_type = message.content_type
    if content_type is None:
        return "body without Content-Type"
    if content_type.mime not in (CONTENT_TYPE.mime, "multipart/mixed"):
        return content_type.mime
    try:
        reading = read_feature_body(content_type, message.body)
    except SipError as err:
        return f"invalid body ({err})"
    names = ", ".join(type(item).__name__ for item in reading.items) or "nothing understood"
    return names + "".join(f" [{reason}]" for reason in reading.ignored)


def sip_fields(data: bytes) -> dict[str, Any]:
    try:
        message = parse_message(data)
    except SipError as err:
        return {"name": "malformed", "status": None, "method": None, "event": None, "call_id": None,
                "cseq": None, "body": None, "error": str(err)}
    cseq = message.cseq
    event = message.event
    fields: dict[str, Any] = {
        "name": message.method if isinstance(message, Request) else f"{message.status} {message.reason}",
        "status": None if isinstance(message, Request) else message.status,
        "method": cseq.method,
        "event": event.package if event is not None else None,
        "call_id": message.call_id,
        "cseq": cseq.seq,
        "body": body_elements(message),
    }
    state = message.subscription_state
    if state is not None:
        fields["subscription_state"] = str(state)
    if message.expires is not None:
        fields["expires"] = message.expires
    routes = message.headers.values("Route") if isinstance(message, Request) else []
    if routes:
        fields["route"] = ", ".join(routes)   # where a proxy sends it on (RFC 3261 §16.12)
    return fields


def dect_fields(data: bytes, bformat: bool = False) -> dict[str, Any]:
    try:
        described = describe_page(data) if bformat else describe(data)
    except DectError as err:
        return {"name": "malformed", "hex": data.hex(" ").upper(), "error": str(err)}
    return {"name": described["message"], "hex": described["hex"], "ies": described["ies"]}


def message_json(entry: LogEntry) -> dict[str, Any]:
    """The result-file object for one entry (`t`, `layer`, `from`, `to`, `name`, and per-layer fields)."""
    out: dict[str, Any] = {"t": round(entry.t, 6), "layer": entry.layer, "from": entry.src, "to": entry.dst}
    out.update(sip_fields(entry.data) if entry.layer == "sip" else dect_fields(entry.data, entry.bformat))
    if entry.lost:
        out["lost"] = True
    return out
