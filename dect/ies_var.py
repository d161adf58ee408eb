"""The variable-length NWK information elements (EN 300 175-5 §7.7) as typed values, declared with construct.

Same contract as `dect.ies` (content octets <-> frozen dataclass, one construct declaration each, unknown
values refused with RELEASE-REASON 04); this module holds the variable-length ones, whose octet 2 is the
length of the content (EN 300 175-5 §7.5.4). Octets that combine an extension bit (bit 8) with a code
are parsed as plain octets and split with the masks named below, because construct's bit-level structs
are an order of magnitude slower than byte structs, even compiled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from construct import (
    Const,
    Construct,
    Enum,
    GreedyBytes,
    GreedyRange,
    Int8ub,
    Int16ub,
    RepeatUntil,
    Struct,
    Terminated,
    obj_,
)

from dect.identity import IPUI_N_BITS
from dect.ies import (
    _EXT,
    _KEYPAD_CHARS,
    _LOW7,
    EventType,
    FeatureCode,
    FeatureStatus,
    FixedIdentityType,
    InfoParameter,
    InformationElement,
    IwuProtocol,
    NumberingPlan,
    NumberType,
    PortableIdentityType,
    RejectReasonCode,
    _code,
    _declare,
    _enum,
    _ext_set,
    _ia5,
    _invalid,
)
from dect.ies_identity import FixedIdentity, LocationArea, PortableIdentity

# The inherited from_content, for the shapes the fast paths below leave to it: zero-argument super()
# does not work in these classes (dataclass(slots=True) makes a new class; the methods' __class__ cell
# still names the old one).
_generic_from_content = InformationElement.from_content.__func__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True, kw_only=True)
class MultiDisplay(InformationElement):
    """MULTI-DISPLAY `28`: DECT IA5 text; 0C clears, 0A starts the next row (EN 300 175-5 §7.7.26)."""

    IE_ID: ClassVar[int] = 0x28
    NAME: ClassVar[str] = "MULTI-DISPLAY"
    DECL: ClassVar[Construct] = _declare(Struct("text" / GreedyBytes), "EN 300 175-5 §7.7.26 MULTI-DISPLAY")
    STRUCT: ClassVar[Construct] = DECL.compile()
    text: str

    def __post_init__(self) -> None:
        if not self.text or any(ord(ch) > _LOW7 for ch in self.text):
            raise ValueError(f"MULTI-DISPLAY needs 1+ DECT IA5 characters, not {self.text!r}")

    @classmethod
    def _from_parsed(cls, parsed: Any) -> MultiDisplay:
        return cls(text=_ia5(cls.NAME, parsed.text))

    def _to_build(self) -> dict[str, Any]:
        return {"text": self.text.encode("ascii")}

    def fields(self) -> dict[str, Any]:
        return {"text": self.text}


@dataclass(frozen=True, slots=True, kw_only=True)
class MultiKeypad(InformationElement):
    """MULTI-KEYPAD `2C`: keys as DECT IA5 (digits, `*`, `#`, 15 recall, 1C SS) (EN 300 175-5 §7.7.27)."""

    IE_ID: ClassVar[int] = 0x2C
    NAME: ClassVar[str] = "MULTI-KEYPAD"
    DECL: ClassVar[Construct] = _declare(
        Struct("key_octets" / GreedyBytes), "EN 300 175-5 §7.7.27 MULTI-KEYPAD"
    )
    STRUCT: ClassVar[Construct] = DECL.compile()
    keys: str

    def __post_init__(self) -> None:
        if not self.keys or any(key not in _KEYPAD_CHARS for key in self.keys):
            raise ValueError(f"MULTI-KEYPAD needs 1+ keys of 0-9 * # 15 1C, not {self.keys!r}")

    @classmethod
    def _from_parsed(cls, parsed: Any) -> MultiKeypad:
        return cls(keys=_ia5(cls.NAME, parsed.key_octets))

    def _to_build(self) -> dict[str, Any]:
        return {"key_octets": self.keys.encode("ascii")}

    def fields(self) -> dict[str, Any]:
        return {"keys": self.keys}


def _feature_octets(feature: FeatureCode, parameter: int | None) -> bytes:
    if parameter is None:
        return bytes((_EXT | feature,))
    return bytes((feature, _EXT | parameter))


def _split_feature(ie: str, raw: bytes) -> tuple[FeatureCode, int | None, bytes]:
    """Octet 3 (1|feature) or octets 3, 3a (0|feature, 1|parameter) (EN 300 175-5 §7.7.16/17)."""
    if not raw:
        raise _invalid(ie, "the feature octet is missing")
    feature = _code(FeatureCode, raw[0] & _LOW7, ie, "feature")
    if raw[0] & _EXT:
        return feature, None, raw[1:]
    if len(raw) < 2:
        raise _invalid(ie, "the feature parameter octet 3a is missing")
    return feature, _ext_set(ie, raw[1], "parameter"), raw[2:]


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureActivate(InformationElement):
    """FEATURE-ACTIVATE `38`: a feature the PP asks for, with an optional parameter (EN 300 175-5 §7.7.16)."""

    IE_ID: ClassVar[int] = 0x38
    NAME: ClassVar[str] = "FEATURE-ACTIVATE"
    DECL: ClassVar[Construct] = _declare(
        Struct("octets" / GreedyBytes), "EN 300 175-5 §7.7.16 FEATURE-ACTIVATE: ext|feature [, 1|parameter]"
    )
    STRUCT: ClassVar[Construct] = DECL.compile()
    feature: FeatureCode
    parameter: int | None = None

    def __post_init__(self) -> None:
        if self.parameter is not None and not 0 <= self.parameter <= _LOW7:
            raise ValueError(f"feature parameter {self.parameter} is out of range 0..127")

    @classmethod
    def _from_parsed(cls, parsed: Any) -> FeatureActivate:
        feature, parameter, rest = _split_feature(cls.NAME, parsed.octets)
        if rest:
            raise _invalid(cls.NAME, f"{len(rest)} octet(s) after the feature")
        return cls(feature=feature, parameter=parameter)

    def _to_build(self) -> dict[str, Any]:
        return {"octets": _feature_octets(self.feature, self.parameter)}

    def fields(self) -> dict[str, Any]:
        return {"feature": self.feature.name.lower(), "parameter": self.parameter}


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureIndicate(InformationElement):
    """FEATURE-INDICATE `39`: a feature's status as the FP reports it (EN 300 175-5 §7.7.17)."""

    IE_ID: ClassVar[int] = 0x39
    NAME: ClassVar[str] = "FEATURE-INDICATE"
    DECL: ClassVar[Construct] = _declare(
        Struct("octets" / GreedyBytes),
        "EN 300 175-5 §7.7.17 FEATURE-INDICATE: ext|feature [, 1|parameter], 1|status indicator",
    )
    STRUCT: ClassVar[Construct] = DECL.compile()
    feature: FeatureCode
    status: FeatureStatus
    parameter: int | None = None

    def __post_init__(self) -> None:
        if self.parameter is not None and not 0 <= self.parameter <= _LOW7:
            raise ValueError(f"feature parameter {self.parameter} is out of range 0..127")

    @classmethod
    def _from_parsed(cls, parsed: Any) -> FeatureIndicate:
        feature, parameter, rest = _split_feature(cls.NAME, parsed.octets)
        if len(rest) != 1:
            raise _invalid(cls.NAME, f"expected one status octet after the feature, got {len(rest)}")
        status = _code(FeatureStatus, _ext_set(cls.NAME, rest[0], "status"), cls.NAME, "status")
        return cls(feature=feature, status=status, parameter=parameter)

    def _to_build(self) -> dict[str, Any]:
        return {"octets": _feature_octets(self.feature, self.parameter) + bytes((_EXT | self.status,))}

    def fields(self) -> dict[str, Any]:
        return {
            "feature": self.feature.name.lower(),
            "parameter": self.parameter,
            "status": self.status.name.lower(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class RejectReason(InformationElement):
    """REJECT-REASON `60`: why an MM procedure was refused (EN 300 175-5 §7.7.34)."""

    IE_ID: ClassVar[int] = 0x60
    NAME: ClassVar[str] = "REJECT-REASON"
    DECL: ClassVar[Construct] = _declare(
        Struct("reason" / Enum(Int8ub, RejectReasonCode), Terminated), "EN 300 175-5 §7.7.34 REJECT-REASON"
    )
    STRUCT: ClassVar[Construct] = DECL.compile()
    reason: RejectReasonCode

    @classmethod
    def _from_parsed(cls, parsed: Any) -> RejectReason:
        return cls(reason=_enum(RejectReasonCode, parsed.reason, cls.NAME, "reject reason"))

    def _to_build(self) -> dict[str, Any]:
        return {"reason": int(self.reason)}

    def fields(self) -> dict[str, Any]:
        return {"reason": self.reason.name.lower(), "code": f"{self.reason:02X}"}


@dataclass(frozen=True, slots=True, kw_only=True)
class _PartyNumber(InformationElement):
    """A party number: octet 3 is 1|type (3 bits)|plan (4 bits) (extension bit set: no octet 3a), then
    DECT IA5 digits. CALLED- and CALLING-PARTY-NUMBER share this layout (EN 300 175-5 §7.7.7, §7.7.9)."""

    number: str
    number_type: NumberType = NumberType.UNKNOWN
    plan: NumberingPlan = NumberingPlan.UNKNOWN

    def __post_init__(self) -> None:
        if any(ord(ch) > _LOW7 for ch in self.number):
            raise ValueError(f"{self.NAME} digits must be DECT IA5, not {self.number!r}")

    @classmethod
    def _from_parsed(cls, parsed: Any) -> _PartyNumber:
        octet = _ext_set(cls.NAME, parsed.octet3, "type/plan")
        return cls(
            number=_ia5(cls.NAME, parsed.digits),
            number_type=_code(NumberType, octet >> 4, cls.NAME, "number type"),
            plan=_code(NumberingPlan, octet & 0x0F, cls.NAME, "numbering plan"),
        )

    def _to_build(self) -> dict[str, Any]:
        return {"octet3": _EXT | self.number_type << 4 | self.plan, "digits": self.number.encode("ascii")}

    def fields(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "number_type": self.number_type.name.lower(),
            "plan": self.plan.name.lower(),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class CalledPartyNumber(_PartyNumber):
    """CALLED-PARTY-NUMBER `70`: the number a handset dials en bloc (EN 300 175-5 §7.7.7)."""

    IE_ID: ClassVar[int] = 0x70
    NAME: ClassVar[str] = "CALLED-PARTY-NUMBER"
    DECL: ClassVar[Construct] = _declare(
        Struct("octet3" / Int8ub, "digits" / GreedyBytes), "EN 300 175-5 §7.7.7 CALLED-PARTY-NUMBER"
    )
    STRUCT: ClassVar[Construct] = DECL.compile()


@dataclass(frozen=True, slots=True, kw_only=True)
class CallingPartyNumber(_PartyNumber):
    """CALLING-PARTY-NUMBER `6C`: who calls, in the base's CC-SETUP of an incoming call (EN 300 175-5
    §7.7.9; octet 3a, presentation and screening, is left out: the extension bit ends octet 3)."""

    IE_ID: ClassVar[int] = 0x6C
    NAME: ClassVar[str] = "CALLING-PARTY-NUMBER"
    DECL: ClassVar[Construct] = _declare(
        Struct("octet3" / Int8ub, "digits" / GreedyBytes), "EN 300 175-5 §7.7.9 CALLING-PARTY-NUMBER"
    )
    STRUCT: ClassVar[Construct] = DECL.compile()


@dataclass(frozen=True, slots=True, kw_only=True)
class IwuToIwu(InformationElement):
    """IWU-TO-IWU `77`: 1|S/R|6-bit protocol discriminator, then IWU information (EN 300 175-5 §7.7.23)."""

    IE_ID: ClassVar[int] = 0x77
    NAME: ClassVar[str] = "IWU-TO-IWU"
    DECL: ClassVar[Construct] = _declare(
        Struct("octet3" / Int8ub, "data" / GreedyBytes), "EN 300 175-5 §7.7.23 IWU-TO-IWU"
    )
    STRUCT: ClassVar[Construct] = DECL.compile()
    protocol: IwuProtocol
    data: bytes = b""
    send: bool = True  # S/R bit: 1 = transmission of information, 0 = rejection of a received IWU-TO-IWU

    def __post_init__(self) -> None:
        if not self.data:
            raise ValueError("IWU-TO-IWU carries at least one octet of IWU information")

    @classmethod
    def _from_parsed(cls, parsed: Any) -> IwuToIwu:
        octet = _ext_set(cls.NAME, parsed.octet3, "S/R and discriminator")
        protocol = _code(IwuProtocol, octet & 0x3F, cls.NAME, "protocol discriminator")
        if not parsed.data:
            raise _invalid(cls.NAME, "no IWU information after the protocol discriminator")
        return cls(protocol=protocol, data=bytes(parsed.data), send=bool(octet & 0x40))

    def _to_build(self) -> dict[str, Any]:
        return {"octet3": _EXT | (0x40 if self.send else 0) | self.protocol, "data": self.data}

    def fields(self) -> dict[str, Any]:
        return {"protocol": self.protocol.name.lower(), "send": self.send, "data": self.data.hex(" ").upper()}


#: EN 300 175-5 §7.7.45 octet 3: extension 1, spare 00, discriminator type 00001 = EMC follows.
EMC_DISCRIMINATOR = 0x81
#: The equipment manufacturer code of Gigaset (formerly Siemens).
EMC_GIGASET = 0x0002


@dataclass(frozen=True, slots=True, kw_only=True)
class EscapeToProprietary(InformationElement):
    """ESCAPE-TO-PROPRIETARY `7B`: `81`, 2-octet EMC, proprietary content (EN 300 175-5 §7.7.45).

    The content is opaque here; `dect.proprietary` decodes the content this project puts under EMC 0002.
    """

    IE_ID: ClassVar[int] = 0x7B
    NAME: ClassVar[str] = "ESCAPE-TO-PROPRIETARY"
    DECL: ClassVar[Construct] = _declare(
        Struct(Const(bytes((EMC_DISCRIMINATOR,))), "emc" / Int16ub, "data" / GreedyBytes),
        "EN 300 175-5 §7.7.45 ESCAPE-TO-PROPRIETARY: discriminator type EMC, EMC, content",
    )
    STRUCT: ClassVar[Construct] = DECL.compile()
    emc: int = EMC_GIGASET
    data: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.emc <= 0xFFFF:
            raise ValueError(f"EMC {self.emc} does not fit in 16 bits")

    @classmethod
    def from_content(cls, content: bytes) -> InformationElement:
        """The declared layout read by slicing (every feature message carries one, each with its own
        target number: no memo helps); anything else takes the declared path and its error."""
        if len(content) >= 3 and content[0] == EMC_DISCRIMINATOR:
            return cls(emc=content[1] << 8 | content[2], data=bytes(content[3:]))
        return _generic_from_content(cls, content)

    def content(self) -> bytes:
        return bytes((EMC_DISCRIMINATOR, self.emc >> 8, self.emc & 0xFF)) + self.data

    @classmethod
    def _from_parsed(cls, parsed: Any) -> EscapeToProprietary:
        return cls(emc=parsed.emc, data=bytes(parsed.data))

    def _to_build(self) -> dict[str, Any]:
        return {"emc": self.emc, "data": self.data}

    def fields(self) -> dict[str, Any]:
        return {"emc": f"{self.emc:04X}", "data": self.data.hex(" ").upper()}


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """One EVENTS-NOTIFICATION triple."""

    event_type: EventType
    subtype: int = 0
    multiplicity: int = 1

    def __post_init__(self) -> None:
        if not (0 <= self.subtype <= _LOW7 and 0 <= self.multiplicity <= _LOW7):
            raise ValueError("event subtype and multiplicity are 7-bit values")


_EVENT = Struct("type" / Enum(Int8ub, EventType), "subtype" / Int8ub, "multiplicity" / Int8ub)


@dataclass(frozen=True, slots=True, kw_only=True)
class EventsNotification(InformationElement):
    """EVENTS-NOTIFICATION `7D`: triples event type, 1|subtype, 1|multiplicity (EN 300 175-5 §7.7.55)."""

    IE_ID: ClassVar[int] = 0x7D
    NAME: ClassVar[str] = "EVENTS-NOTIFICATION"
    DECL: ClassVar[Construct] = _declare(
        Struct("events" / GreedyRange(_EVENT), Terminated), "EN 300 175-5 §7.7.55 EVENTS-NOTIFICATION"
    )
    STRUCT: ClassVar[Construct] = DECL.compile()
    events: tuple[Event, ...]

    def __post_init__(self) -> None:
        if not self.events:
            raise ValueError("EVENTS-NOTIFICATION needs at least one event")

    @classmethod
    def _from_parsed(cls, parsed: Any) -> EventsNotification:
        events = tuple(
            Event(
                event_type=_enum(EventType, item.type, cls.NAME, "event type"),
                subtype=_ext_set(cls.NAME, item.subtype, "subtype"),
                multiplicity=_ext_set(cls.NAME, item.multiplicity, "multiplicity"),
            )
            for item in parsed.events
        )
        if not events:
            raise _invalid(cls.NAME, "no event")
        return cls(events=events)

    def _to_build(self) -> dict[str, Any]:
        return {
            "events": [
                {
                    "type": int(e.event_type),
                    "subtype": _EXT | e.subtype,
                    "multiplicity": _EXT | e.multiplicity,
                }
                for e in self.events
            ]
        }

    def fields(self) -> dict[str, Any]:
        return {
            "events": [
                {"type": e.event_type.name.lower(), "subtype": e.subtype, "multiplicity": e.multiplicity}
                for e in self.events
            ]
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class InfoType(InformationElement):
    """INFO-TYPE `01`: parameter types, bit 8 = 1 on the last octet only (EN 300 175-5 §7.7.20)."""

    IE_ID: ClassVar[int] = 0x01
    NAME: ClassVar[str] = "INFO-TYPE"
    DECL: ClassVar[Construct] = _declare(
        Struct("octets" / RepeatUntil(obj_ & _EXT, Int8ub), Terminated),
        "EN 300 175-5 §7.7.20 INFO-TYPE: 0|type ... 1|type",
    )
    STRUCT: ClassVar[Construct] = DECL.compile()
    parameters: tuple[InfoParameter, ...]

    def __post_init__(self) -> None:
        if not self.parameters:
            raise ValueError("INFO-TYPE needs at least one parameter type")

    @classmethod
    def _from_parsed(cls, parsed: Any) -> InfoType:
        octets = list(parsed.octets)
        return cls(
            parameters=tuple(_code(InfoParameter, o & _LOW7, cls.NAME, "parameter type") for o in octets)
        )

    def _to_build(self) -> dict[str, Any]:
        octets = [int(p) for p in self.parameters]
        octets[-1] |= _EXT
        return {"octets": octets}

    def fields(self) -> dict[str, Any]:
        return {"parameters": [p.name.lower() for p in self.parameters]}


__all__ = [
    "EMC_DISCRIMINATOR",
    "EMC_GIGASET",
    "IPUI_N_BITS",
    "CalledPartyNumber",
    "EscapeToProprietary",
    "Event",
    "EventsNotification",
    "FeatureActivate",
    "FeatureIndicate",
    "FixedIdentity",
    "FixedIdentityType",
    "InfoType",
    "IwuToIwu",
    "LocationArea",
    "MultiDisplay",
    "MultiKeypad",
    "PortableIdentity",
    "PortableIdentityType",
    "RejectReason",
]
