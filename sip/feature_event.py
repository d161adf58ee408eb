"""The `as-feature-event` bodies (feature-key-sync.md §3): typed values, XML build and parse, and the
whole-body reader that accepts a single XML body or a multipart/mixed of them.

One responsibility: application/x-as-feature-event+xml. XML is parsed with defusedxml (no DTDs, no
entity expansion); the namespace is the ECMA-323 ed3 one, the misspelled `ecmainternational` variant
is accepted on input and never emitted. Any invalid body raises `RemoteProtocolError` (400).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from xml.etree.ElementTree import Element, XMLParser
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from sip.errors import LocalProtocolError, RemoteProtocolError
from sip.headers import MediaType
from sip.multipart import BodyPart, build_multipart, parse_multipart

EVENT_PACKAGE = "as-feature-event"
CONTENT_TYPE = MediaType(type="application", subtype="x-as-feature-event+xml")
NAMESPACE = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
#: Sent by some servers (feature-key-sync.md §3): accepted on input, never emitted.
MISSPELLED_NAMESPACE = "http://www.ecmainternational.org/standards/ecma-323/csta/ed3"
_NAMESPACES = (NAMESPACE, MISSPELLED_NAMESPACE)


class ForwardingType(enum.Enum):
    """forwardingType values: CFA, CFB, CFNA (feature-key-sync.md §3)."""

    CFA = "forwardImmediate"
    CFB = "forwardBusy"
    CFNA = "forwardNoAns"


def _check_ring_count(ring_count: int | None, error: type[Exception]) -> None:
    # feature-key-sync.md §3: BroadWorks accepts 0 or 2-20 rings for CFNA.
    if ring_count is not None and not (ring_count == 0 or 2 <= ring_count <= 20):
        raise error(f"ringCount {ring_count} outside 0 or 2-20")


@dataclass(frozen=True, kw_only=True)
class SetDoNotDisturb:
    """Phone -> server: switch DND."""

    device: str
    on: bool


@dataclass(frozen=True, kw_only=True)
class SetForwarding:
    """Phone -> server: switch one forwarding type (ring_count for CFNA only)."""

    device: str
    forwarding_type: ForwardingType
    activate: bool
    forward_dn: str = ""
    ring_count: int | None = None

    def __post_init__(self) -> None:
        _check_ring_count(self.ring_count, LocalProtocolError)


@dataclass(frozen=True, kw_only=True)
class DoNotDisturbEvent:
    """Server -> phone: DND state."""

    device: str
    on: bool


@dataclass(frozen=True, kw_only=True)
class ForwardingEvent:
    """Server -> phone: one forwarding type's state."""

    device: str
    forwarding_type: ForwardingType
    status: bool
    forward_to: str | None = None
    ring_count: int | None = None

    def __post_init__(self) -> None:
        _check_ring_count(self.ring_count, LocalProtocolError)


FeatureBody = SetDoNotDisturb | SetForwarding | DoNotDisturbEvent | ForwardingEvent
FeatureEvent = DoNotDisturbEvent | ForwardingEvent
FeatureSet = SetDoNotDisturb | SetForwarding


def _b(value: bool) -> str:
    return "true" if value else "false"


def _el(name: str, value: str | None) -> str:
    return f"<{name}/>" if value == "" else f"<{name}>{escape(value or '')}</{name}>"


def build_body(item: FeatureBody) -> bytes:
    """One feature body as ISO-8859-1 XML with the correct namespace."""
    if isinstance(item, SetDoNotDisturb | DoNotDisturbEvent):
        inner = _el("device", item.device) + _el("doNotDisturbOn", _b(item.on))
    elif isinstance(item, SetForwarding):
        inner = (
            _el("device", item.device)
            + _el("forwardingType", item.forwarding_type.value)
            + _el("activateForward", _b(item.activate))
            + _el("forwardDN", item.forward_dn)
        )
        if item.ring_count is not None:
            inner += _el("ringCount", str(item.ring_count))
    else:
        inner = (
            _el("device", item.device)
            + _el("forwardingType", item.forwarding_type.value)
            + _el("forwardStatus", _b(item.status))
        )
        if item.forward_to is not None:
            inner += _el("forwardTo", item.forward_to)
        if item.ring_count is not None:
            inner += _el("ringCount", str(item.ring_count))
    root = type(item).__name__
    xml = f'<?xml version="1.0" encoding="ISO-8859-1"?>\n<{root} xmlns="{NAMESPACE}">{inner}</{root}>'
    try:
        return xml.encode("iso-8859-1")
    except UnicodeEncodeError:
        return xml.encode("iso-8859-1", "xmlcharrefreplace")


_FIELDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # element: (mandatory children, optional children)
    "SetDoNotDisturb": (frozenset({"device", "doNotDisturbOn"}), frozenset()),
    "DoNotDisturbEvent": (frozenset({"device", "doNotDisturbOn"}), frozenset()),
    "SetForwarding": (
        frozenset({"device", "forwardingType", "activateForward"}),
        frozenset({"forwardDN", "ringCount"}),
    ),
    "ForwardingEvent": (
        frozenset({"device", "forwardingType", "forwardStatus"}),
        frozenset({"forwardTo", "ringCount"}),
    ),
}


def _parse_xml(data: bytes) -> Element:
    """defusedxml for any document with a markup declaration (`<!`: DOCTYPE, ENTITY, also comments
    and CDATA), refusing DTDs and entities. A document without one can neither declare nor fetch
    an entity, so the standard library's C parser reads it the same way, twice as fast (defusedxml
    hooks the pure-Python parser). A NUL octet means a UTF-16/32 text, where "<!" would not show as
    those two octets: always defusedxml."""
    if b"<!" in data or b"\x00" in data:
        root: Element = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        return root
    parser = XMLParser()
    parser.feed(data)
    return parser.close()


def parse_body(data: bytes) -> FeatureBody:
    """Parse one XML feature body (root element decides the type)."""
    try:
        root = _parse_xml(data)
    except (ParseError, DefusedXmlException, ValueError, UnicodeError, LookupError):
        # LookupError: an XML declaration naming an unknown encoding.
        raise RemoteProtocolError("Body is not well-formed XML") from None
    if not root.tag.startswith("{"):
        # feature-key-sync.md §5: a body without xmlns must be refused cleanly.
        raise RemoteProtocolError("Feature body without namespace")
    namespace, _, name = root.tag[1:].partition("}")
    if namespace not in _NAMESPACES:
        raise RemoteProtocolError(f"Feature body in unknown namespace {namespace}")
    if name not in _FIELDS:
        raise RemoteProtocolError(f"Unknown feature element {name}")
    mandatory, optional = _FIELDS[name]
    values: dict[str, str] = {}
    for child in root:
        if not isinstance(child.tag, str) or not child.tag.startswith("{" + namespace + "}"):
            raise RemoteProtocolError(f"Element in wrong namespace in {name}")
        local = child.tag.split("}", 1)[1]
        if local not in mandatory and local not in optional:
            raise RemoteProtocolError(f"Unknown element {local} in {name}")
        if local in values:
            raise RemoteProtocolError(f"Repeated element {local} in {name}")
        if len(child):
            raise RemoteProtocolError(f"Element {local} in {name} is not flat")
        values[local] = (child.text or "").strip()
    missing = sorted(mandatory - values.keys())
    if missing:
        raise RemoteProtocolError(f"Missing element {missing[0]} in {name}")
    device = values["device"]
    if name in ("SetDoNotDisturb", "DoNotDisturbEvent"):
        on = _bool(values["doNotDisturbOn"], "doNotDisturbOn")
        return (
            SetDoNotDisturb(device=device, on=on)
            if name == "SetDoNotDisturb"
            else DoNotDisturbEvent(device=device, on=on)
        )
    ftype = _forwarding_type(values["forwardingType"])
    ring_count = _ring_count(values.get("ringCount"))
    if name == "SetForwarding":
        return SetForwarding(
            device=device,
            forwarding_type=ftype,
            activate=_bool(values["activateForward"], "activateForward"),
            forward_dn=values.get("forwardDN", ""),
            ring_count=ring_count,
        )
    return ForwardingEvent(
        device=device,
        forwarding_type=ftype,
        status=_bool(values["forwardStatus"], "forwardStatus"),
        forward_to=values.get("forwardTo"),
        ring_count=ring_count,
    )


def _bool(text: str, what: str) -> bool:
    # XML Schema boolean: "true" / "false" / "1" / "0".
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise RemoteProtocolError(f"Invalid boolean in {what}")


def _forwarding_type(text: str) -> ForwardingType:
    try:
        return ForwardingType(text)
    except ValueError:
        raise RemoteProtocolError(f"Unknown forwardingType {text[:40]}") from None


def _ring_count(text: str | None) -> int | None:
    if not text:
        return None  # feature-key-sync.md §3: ringCount may be absent or empty
    if not text.isdigit() or not text.isascii() or len(text) > 3:
        raise RemoteProtocolError("Invalid ringCount")
    count = int(text)
    _check_ring_count(count, RemoteProtocolError)
    return count


def build_feature_body(
    items: Sequence[FeatureBody], *, boundary: str = "as-feature-event"
) -> tuple[MediaType, bytes]:
    """One item -> a plain XML body; several -> multipart/mixed, one part per feature (§2 step 2)."""
    if not items:
        raise LocalProtocolError("A feature body needs at least one item")
    if len(items) == 1:
        return CONTENT_TYPE, build_body(items[0])
    parts = [BodyPart(content_type=CONTENT_TYPE, body=build_body(i)) for i in items]
    return build_multipart(parts, boundary)


def parse_feature_body(content_type: MediaType | None, body: bytes) -> list[FeatureBody]:
    """Parse a NOTIFY/SUBSCRIBE body: plain XML or multipart/mixed of XML parts, in order."""
    if content_type is None:
        raise RemoteProtocolError("Feature body without Content-Type")
    if content_type.mime == "multipart/mixed":
        items: list[FeatureBody] = []
        for part in parse_multipart(content_type, body):
            if part.content_type is not None and part.content_type.mime != CONTENT_TYPE.mime:
                raise RemoteProtocolError(f"Unsupported part type {part.content_type.mime}")
            items.append(parse_body(part.body))
        return items
    if content_type.mime != CONTENT_TYPE.mime:
        raise RemoteProtocolError(f"Unsupported body type {content_type.mime}")
    return [parse_body(body)]


__all__ = [
    "CONTENT_TYPE",
    "EVENT_PACKAGE",
    "MISSPELLED_NAMESPACE",
    "NAMESPACE",
    "DoNotDisturbEvent",
    "FeatureBody",
    "FeatureEvent",
    "FeatureSet",
    "ForwardingEvent",
    "ForwardingType",
    "SetDoNotDisturb",
    "SetForwarding",
    "build_body",
    "build_feature_body",
    "parse_body",
    "parse_feature_body",
]
