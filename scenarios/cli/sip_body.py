"""What `fksim sip parse` adds to the strict parser for files engineers have: line ends and feature bodies.

One responsibility: (1) a file saved by an editor or copied from a terminal has bare LF line ends; the
simulation's parser on the wire requires CRLF (RFC 3261 §7: "CRLF" ends every line), so this tool
converts them, says so, and sets a Content-Length that no longer fits the converted body to the
body's length, saying that too; (2) an `as-feature-event` body (one XML document or multipart/mixed)
is decoded part by part: its content type, the XML pretty-printed (defusedxml: a DTD or an entity is
refused, never expanded), and the feature state it means as the base would read it.
"""

from __future__ import annotations

import re
from typing import Any
from xml.parsers.expat import ExpatError

from defusedxml import minidom
from defusedxml.common import DefusedXmlException

from sip.errors import ProtocolError
from sip.feature_event import (
    CONTENT_TYPE,
    EVENT_PACKAGE,
    DoNotDisturbEvent,
    FeatureBody,
    ForwardingEvent,
    SetDoNotDisturb,
    SetForwarding,
    read_body,
)
from sip.headers import MediaType
from sip.message import Request, Response
from sip.multipart import BodyPart, parse_multipart

_BARE_LF = re.compile(rb"(?<!\r)\n")
_CONTENT_LENGTH = re.compile(rb"^(content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*\r?$",
                             re.IGNORECASE | re.MULTILINE)


def normalise_line_ends(data: bytes) -> tuple[bytes, str, list[str]]:
    """(the message with CRLF line ends, "CRLF" / "LF" / "mixed" as found, notes on what changed)."""
    bare = len(_BARE_LF.findall(data))
    if not bare:
        return data, "CRLF", []
    kind = "mixed" if b"\r\n" in data else "LF"
    fixed = _BARE_LF.sub(b"\r\n", data)
    notes = [f"line ends: {kind}, converted to CRLF to parse (the wire takes only CRLF, RFC 3261 §7)"]
    split = fixed.find(b"\r\n\r\n")
    if split < 0:
        return fixed, kind, notes
    head, body = fixed[:split + 2], fixed[split + 4:]
    match = _CONTENT_LENGTH.search(head)
    if match is not None and int(match.group(2)) != len(body):
        declared = int(match.group(2))
        head = head[:match.start(2)] + str(len(body)).encode() + head[match.end(2):]
        notes.append(f"Content-Length {declared} does not fit the converted body: set to {len(body)}")
        fixed = head + b"\r\n" + body
    return fixed, kind, notes


def meaning(item: FeatureBody) -> str:
    """One feature body in words: "DoNotDisturbEvent: DND on", "SetForwarding: CFNA on to 3002 after 4
    rings"."""
    name = type(item).__name__
    if isinstance(item, DoNotDisturbEvent | SetDoNotDisturb):
        return f"{name}: DND {'on' if item.on else 'off'}"
    if isinstance(item, ForwardingEvent):
        on, target, rings = item.status, item.forward_to, item.ring_count
    else:
        assert isinstance(item, SetForwarding)
        on, target, rings = item.activate, item.forward_dn or None, item.ring_count
    text = f"{name}: {item.forwarding_type.name} {'on' if on else 'off'}"
    if target:
        text += f" to {target}"
    if rings is not None:
        text += f" after {rings} rings"
    return text


def _pretty(xml: bytes) -> str:
    """The part's XML indented; as received when it does not parse or declares a DTD or entities."""
    try:
        return str(minidom.parseString(xml, forbid_dtd=True).toprettyxml(indent="  ")).strip()
    except (DefusedXmlException, ExpatError, ValueError):
        return xml.decode("utf-8", "replace")


def feature_parts(message: Request | Response) -> list[dict[str, Any]] | None:
    """The body's parts decoded, or None when the message carries no feature body."""
    content_type = message.content_type
    event = message.headers.get("Event") or ""
    is_feature = content_type is not None and (content_type.mime == CONTENT_TYPE.mime
                                               or content_type.type == "multipart")
    if not message.body or not (is_feature or event.split(";", 1)[0].strip().lower() == EVENT_PACKAGE):
        return None
    if content_type is not None and content_type.type == "multipart":
        try:
            parts = parse_multipart(content_type, message.body)
        except ProtocolError as err:
            return [{"index": 1, "content_type": str(content_type), "error": err.reason}]
    else:
        parts = [BodyPart(content_type=content_type, body=message.body)]
    return [_part(index, part) for index, part in enumerate(parts, start=1)]


def _part(index: int, part: BodyPart) -> dict[str, Any]:
    kind: MediaType | None = part.content_type
    out: dict[str, Any] = {"index": index, "content_type": str(kind) if kind is not None else None}
    if kind is None or kind.mime != CONTENT_TYPE.mime:
        out["ignored"] = [f"not an as-feature-event part ({kind.mime if kind else 'no Content-Type'})"]
        out["text"] = part.body.decode("utf-8", "replace")
        return out
    reading = read_body(part.body)
    out["xml"] = _pretty(part.body)
    out["meaning"] = [meaning(item) for item in reading.items]
    if reading.ignored:
        out["ignored"] = list(reading.ignored)
    return out
