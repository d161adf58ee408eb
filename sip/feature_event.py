"""The `as-feature-event` bodies (feature-key-sync.md §3): typed values, XML build and parse, and the
whole-body reader that accepts a single XML body or a multipart/mixed of them.

One responsibility: application/x-as-feature-event+xml. XML is parsed with defusedxml (no DTDs, no
entity expansion); the namespace is the ECMA-323 ed3 one, the misspelled `ecmainternational` variant
is accepted on input and never emitted.

Two readers over one implementation. `read_feature_body` is liberal, for what a server sends (issue
12 §1, RFC 6665 §4.2.2: a failure answer to a NOTIFY removes the subscription): every part and
element it understands is kept, every other one is left out and named in `BodyReading.ignored`; a
part with a DTD or entities is refused (never expanded) and named too; only broken framing raises
`RemoteProtocolError` (400). `parse_feature_body` / `parse_body` are strict, for the Set requests
the server reads: anything the liberal reader would leave out raises `RemoteProtocolError` (400).
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


#: The largest ring count a ForwardingEvent carries: three digits [choice].
MAX_EVENT_RINGS = 999


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
        # A server's ring count is taken as sent (issue 12 §1; BroadSoft's own examples go up to
        # 100): only what three digits carry, the most `ringCount` is read with [choice].
        if self.ring_count is not None and not 0 <= self.ring_count <= MAX_EVENT_RINGS:
            raise LocalProtocolError(f"ringCount {self.ring_count} outside 0-{MAX_EVENT_RINGS}")


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

#: Most ignored-part reasons one body reports (a hostile body must not make an unbounded list) [choice].
MAX_REPORTS = 16


class RefusedMarkup(Exception):
    """A document with a DTD or an entity declaration: refused, never expanded."""


def _parse_xml(data: bytes) -> Element:
    """defusedxml for any document with a markup declaration (`<!`: DOCTYPE, ENTITY, also comments
    and CDATA), refusing DTDs and entities. A document without one can neither declare nor fetch
    an entity, so the standard library's C parser reads it the same way, twice as fast (defusedxml
    hooks the pure-Python parser). A NUL octet means a UTF-16/32 text, where "<!" would not show as
    those two octets: always defusedxml."""
    if b"<!" in data or b"\x00" in data:
        try:
            root: Element = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
        except DefusedXmlException:
            raise RefusedMarkup from None
        return root
    parser = XMLParser()
    parser.feed(data)
    return parser.close()


@dataclass(frozen=True, kw_only=True)
class BodyReading:
    """What a liberal read of a feature body found: the items it understood, in order, and a reason
    for every part or element it did not (ignored, or refused for a DTD/entity), in order."""

    items: tuple[FeatureBody, ...]
    ignored: tuple[str, ...]


class _Reader:
    """Reads one body, liberal: whatever is understood is kept, the rest is named in `ignored`."""

    def __init__(self) -> None:
        self.ignored: list[str] = []

    def report(self, reason: str) -> None:
        if len(self.ignored) < MAX_REPORTS:
            self.ignored.append(reason)

    def body(self, data: bytes, where: str = "body") -> FeatureBody | None:
        try:
            root = _parse_xml(data)
        except RefusedMarkup:
            self.report(f"{where} refused: DTD or entity declaration")
            return None
        except (ParseError, ValueError, UnicodeError, LookupError):
            # LookupError: an XML declaration naming an unknown encoding.
            self.report(f"{where} ignored: not well-formed XML")
            return None
        if not root.tag.startswith("{"):
            # feature-key-sync.md §5: a body without xmlns must be refused cleanly.
            self.report(f"{where} ignored: {root.tag[:40]} without namespace")
            return None
        namespace, _, name = root.tag[1:].partition("}")
        if namespace not in _NAMESPACES:
            self.report(f"{where} ignored: {name[:40]} in unknown namespace {namespace[:80]}")
            return None
        if name not in _FIELDS:
            self.report(f"{where} ignored: unknown element {name[:40]}")
            return None
        values = self._children(root, namespace, name)
        mandatory, _optional = _FIELDS[name]
        missing = sorted(mandatory - values.keys() - {"device"})
        if missing:
            self.report(f"{where} ignored: {name} without {missing[0]}")
            return None
        if "device" not in values:
            # <device> is mandatory but its value is used by neither side (feature-key-sync.md §3).
            self.report(f"{name}: missing device (value not used)")
        try:
            return self._item(name, values)
        except RemoteProtocolError as err:
            self.report(f"{where} ignored: {err.reason}")
            return None

    def _children(self, root: Element, namespace: str, name: str) -> dict[str, str]:
        mandatory, optional = _FIELDS[name]
        values: dict[str, str] = {}
        for child in root:
            if not isinstance(child.tag, str):
                continue  # a comment or processing instruction
            if not child.tag.startswith("{" + namespace + "}"):
                self.report(f"{name}: element {child.tag[:80]} in another namespace ignored")
                continue
            local = child.tag.split("}", 1)[1]
            if local not in mandatory and local not in optional:
                self.report(f"{name}: unknown element {local[:40]} ignored")
                continue
            if local in values:
                self.report(f"{name}: repeated {local} ignored (the first one counts)")
                continue
            if len(child):
                self.report(f"{name}: elements nested in {local} ignored")
            values[local] = (child.text or "").strip()
        return values

    def _item(self, name: str, values: dict[str, str]) -> FeatureBody:
        device = values.get("device", "")
        if name in ("SetDoNotDisturb", "DoNotDisturbEvent"):
            on = _bool(values["doNotDisturbOn"], "doNotDisturbOn")
            return (
                SetDoNotDisturb(device=device, on=on)
                if name == "SetDoNotDisturb"
                else DoNotDisturbEvent(device=device, on=on)
            )
        ftype = _forwarding_type(values["forwardingType"])
        ring_count = self._ring_count(values.get("ringCount"), name)
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

    def _ring_count(self, text: str | None, name: str) -> int | None:
        if not text:
            return None  # feature-key-sync.md §3: ringCount may be absent or empty
        if not text.isdigit() or not text.isascii() or len(text) > 3:
            self.report(f"{name}: ringCount {text[:10]!r} is not a number, ignored")
            return None
        count = int(text)
        if name == "SetForwarding":
            # A phone's request is held to what BroadWorks accepts (feature-key-sync.md §3).
            _check_ring_count(count, RemoteProtocolError)
        return count

    def whole(self, content_type: MediaType | None, body: bytes) -> list[FeatureBody]:
        if content_type is None:
            raise RemoteProtocolError("Feature body without Content-Type")
        if content_type.mime == "multipart/mixed":
            # Framing errors (boundary, delimiters) raise: only those make the whole body bad.
            parts = parse_multipart(content_type, body)
            items: list[FeatureBody] = []
            for number, part in enumerate(parts, start=1):
                where = f"part {number}"
                if part.content_type is not None and part.content_type.mime != CONTENT_TYPE.mime:
                    self.report(f"{where} ignored: {part.content_type.mime}")
                    continue
                item = self.body(part.body, where)
                if item is not None:
                    items.append(item)
            return items
        if content_type.mime != CONTENT_TYPE.mime:
            self.report(f"body ignored: {content_type.mime}")
            return []
        item = self.body(body)
        return [item] if item is not None else []


def read_body(data: bytes) -> BodyReading:
    """Read one XML feature body liberally: (the item, if understood) and why anything was ignored."""
    reader = _Reader()
    item = reader.body(data)
    return BodyReading(items=(item,) if item is not None else (), ignored=tuple(reader.ignored))


def read_feature_body(content_type: MediaType | None, body: bytes) -> BodyReading:
    """Read a NOTIFY body liberally (issue 12 §1): plain XML or multipart/mixed. Every part and
    element understood is kept; every one that is not (unknown part type, unknown root or child,
    repeated or nested element, DTD or entities) is left out and named in `ignored`. Only broken
    framing raises `RemoteProtocolError` (400): no Content-Type, boundary, delimiters."""
    reader = _Reader()
    items = reader.whole(content_type, body)
    return BodyReading(items=tuple(items), ignored=tuple(reader.ignored))


def _strict(reading: BodyReading) -> None:
    if reading.ignored:
        reason = reading.ignored[0]
        if " ignored: " in reason or " refused: " in reason:
            reason = reason.split(": ", 1)[1]  # "part 2 ignored: X" -> "X"
        raise RemoteProtocolError(reason)


def parse_body(data: bytes) -> FeatureBody:
    """Parse one XML feature body strictly (root element decides the type): anything the liberal
    reader would leave out raises `RemoteProtocolError` (400). The server reads Set requests so."""
    reading = read_body(data)
    _strict(reading)
    return reading.items[0]


def _bool(text: str, what: str) -> bool:
    # XML Schema boolean: "true" / "false" / "1" / "0"; other capitalisations (`True`) are
    # accepted on input (issue 12 §1: be liberal) [choice].
    lowered = text.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise RemoteProtocolError(f"Invalid boolean in {what}")


def _forwarding_type(text: str) -> ForwardingType:
    try:
        return ForwardingType(text)
    except ValueError:
        raise RemoteProtocolError(f"Unknown forwardingType {text[:40]}") from None


def build_feature_body(
    items: Sequence[FeatureBody], *, boundary: str = "as-feature-event",
    extra: Sequence[BodyPart] = (),
) -> tuple[MediaType, bytes]:  # fmt: skip
    """One item -> a plain XML body; several, or any `extra` parts (a server adding other parts of
    the package, e.g. a call-center agent state) -> multipart/mixed, one part per feature first
    (§2 step 2), then the extra parts as given."""
    if not items and not extra:
        raise LocalProtocolError("A feature body needs at least one item")
    if len(items) == 1 and not extra:
        return CONTENT_TYPE, build_body(items[0])
    parts = [BodyPart(content_type=CONTENT_TYPE, body=build_body(i)) for i in items]
    return build_multipart([*parts, *extra], boundary)


def parse_feature_body(content_type: MediaType | None, body: bytes) -> list[FeatureBody]:
    """Parse a SUBSCRIBE/NOTIFY body strictly: plain XML or multipart/mixed of XML parts, in order.
    Anything the liberal `read_feature_body` would leave out raises `RemoteProtocolError` (400)."""
    reading = read_feature_body(content_type, body)
    _strict(reading)
    if not reading.items:
        raise RemoteProtocolError("Feature body without a feature")
    return list(reading.items)


__all__ = [
    "CONTENT_TYPE",
    "EVENT_PACKAGE",
    "MAX_REPORTS",
    "MISSPELLED_NAMESPACE",
    "NAMESPACE",
    "BodyReading",
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
    "read_body",
    "read_feature_body",
]
