"""The NWK-layer information elements (EN 300 175-5 §7.5–§7.7) as typed values, declared once with construct.

One responsibility: turn the *content* octets of one IE into a frozen dataclass and back. Framing
(identifier, length octet, order inside a message) belongs to `dect.codec`.

Each IE class carries one construct declaration of its content (`DECL`, with the clause in its
docstring) and a compiled copy (`STRUCT`). construct's `Enum` lets unknown values through as plain
integers; `_enum` turns them into a `RemoteProtocolError` with RELEASE-REASON 04 (invalid IE contents),
as EN 300 175-5 §17.3.3 asks for "non-recognised values". `ConstructError` never leaves this module.

Only the variants this project puts on the air are modelled; anything else in an IE the project knows
is refused with reason 04 rather than silently kept, so every decoded value encodes back to the same
octets (round trip).
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from construct import (
    Bytes,
    Construct,
    ConstructError,
    Enum,
    EnumIntegerString,
    Int8ub,
    Struct,
    Terminated,
)

from dect.errors import REASON_INVALID_IE_CONTENTS, IdentityError, RemoteProtocolError

# --------------------------------------------------------------------------------------------- values


class CallClass(enum.IntEnum):
    """BASIC-SERVICE call class, high nibble (EN 300 175-5 §7.6.4)."""

    LIST_ACCESS = 0x2
    MESSAGE = 0x4
    DECT_ISDN_IIP = 0x7
    NORMAL = 0x8
    INTERNAL = 0x9
    EMERGENCY = 0xA
    SERVICE = 0xB
    EXTERNAL_HANDOVER = 0xC
    SUPPLEMENTARY_SERVICE = 0xD
    OAM = 0xE


class Service(enum.IntEnum):
    """BASIC-SERVICE basic service, low nibble (EN 300 175-5 §7.6.4)."""

    SPEECH = 0x0
    GSM_IWP = 0x4
    LRMS = 0x5
    UMTS_GSM_SMS = 0x6
    WIDEBAND_SPEECH = 0x8
    LIGHT_DATA_CLASS4 = 0x9
    LIGHT_DATA_CLASS3 = 0xA
    DTAM_WIDEBAND_SPEECH = 0xB
    OTHER = 0xF


class ReleaseReasonCode(enum.IntEnum):
    """RELEASE-REASON values (EN 300 175-5 §7.6.7)."""

    NORMAL = 0x00
    UNEXPECTED_MESSAGE = 0x01
    UNKNOWN_TRANSACTION_IDENTIFIER = 0x02
    MANDATORY_IE_MISSING = 0x03
    INVALID_IE_CONTENTS = 0x04
    INCOMPATIBLE_SERVICE = 0x05
    SERVICE_NOT_IMPLEMENTED = 0x06
    NEGOTIATION_NOT_SUPPORTED = 0x07
    INVALID_IDENTITY = 0x08
    AUTHENTICATION_FAILED = 0x09
    UNKNOWN_IDENTITY = 0x0A
    NEGOTIATION_FAILED = 0x0B
    COLLISION = 0x0C
    TIMER_EXPIRY = 0x0D
    PARTIAL_RELEASE = 0x0E
    UNKNOWN = 0x0F
    USER_DETACHED = 0x10
    USER_NOT_IN_RANGE = 0x11
    USER_UNKNOWN = 0x12
    USER_ALREADY_ACTIVE = 0x13
    USER_BUSY = 0x14
    USER_REJECTION = 0x15
    USER_CALL_MODIFY = 0x16
    EXTERNAL_HANDOVER_NOT_SUPPORTED = 0x21
    NETWORK_PARAMETERS_MISSING = 0x22
    EXTERNAL_HANDOVER_RELEASE = 0x23
    OVERLOAD = 0x31
    INSUFFICIENT_RESOURCES = 0x32
    INSUFFICIENT_BEARERS_AVAILABLE = 0x33
    IWU_CONGESTION = 0x34


class SignalValue(enum.IntEnum):
    """SIGNAL values (EN 300 175-5 §7.6.8)."""

    DIAL_TONE_ON = 0x00
    RING_BACK_TONE_ON = 0x01
    INTERCEPT_TONE_ON = 0x02
    NETWORK_CONGESTION_TONE_ON = 0x03
    BUSY_TONE_ON = 0x04
    CONFIRM_TONE_ON = 0x05
    ANSWER_TONE_ON = 0x06
    CALL_WAITING_TONE_ON = 0x07
    OFF_HOOK_WARNING_TONE_ON = 0x08
    NEGATIVE_ACKNOWLEDGEMENT_TONE = 0x09
    TONES_OFF = 0x3F
    ALERTING_PATTERN_0 = 0x40
    ALERTING_PATTERN_1 = 0x41
    ALERTING_PATTERN_2 = 0x42
    ALERTING_PATTERN_3 = 0x43
    ALERTING_PATTERN_4 = 0x44
    ALERTING_PATTERN_5 = 0x45
    ALERTING_PATTERN_6 = 0x46
    ALERTING_PATTERN_7 = 0x47
    ALERTING_CONTINUOUS = 0x48
    ALERTING_OFF = 0x4F


class PortableIdentityType(enum.IntEnum):
    """PORTABLE-IDENTITY type of identity, octet 3 without the extension bit (EN 300 175-5 §7.7.30)."""

    IPUI = 0x00
    IPEI = 0x10
    TPUI = 0x20


class FixedIdentityType(enum.IntEnum):
    """FIXED-IDENTITY type of identity, octet 3 without the extension bit (EN 300 175-5 §7.7.18)."""

    ARI = 0x00
    ARI_RPN = 0x01
    ARI_RPN_WRS = 0x02
    PARK = 0x20


class FeatureCode(enum.IntEnum):
    """FEATURE-ACTIVATE / FEATURE-INDICATE feature (EN 300 175-5 §7.7.16). No DND or diversion code."""

    REGISTER_RECALL = 0x01
    EXTERNAL_HANDOVER_SWITCH = 0x0F
    QUEUE_ENTRY_REQUEST = 0x20
    INDICATION_OF_SUBSCRIBER_NUMBER = 0x30
    FEATURE_KEY = 0x42
    SPECIFIC_LINE_SELECTION = 0x44
    SPECIFIC_TRUNK_CARRIER_SELECTION = 0x47
    CONTROL_OF_ECHO_CONTROL_FUNCTIONS = 0x48
    COST_INFORMATION = 0x60


class FeatureStatus(enum.IntEnum):
    """FEATURE-INDICATE status indicator (EN 300 175-5 §7.7.17)."""

    REJECTED = 0x00
    ACCEPTED = 0x01
    PENDING = 0x03
    BUSY = 0x04
    UNOBTAINABLE = 0x06


class RejectReasonCode(enum.IntEnum):
    """REJECT-REASON values of the MM rejects (EN 300 175-5 §7.7.34; libdect agrees)."""

    TPUI_UNKNOWN = 0x01
    IPUI_UNKNOWN = 0x02
    NETWORK_ASSIGNED_IDENTITY_UNKNOWN = 0x03
    IPEI_NOT_ACCEPTED = 0x05
    IPUI_NOT_ACCEPTED = 0x06
    AUTHENTICATION_FAILED = 0x10
    NO_AUTHENTICATION_ALGORITHM = 0x11
    AUTHENTICATION_ALGORITHM_NOT_SUPPORTED = 0x12
    AUTHENTICATION_KEY_NOT_SUPPORTED = 0x13
    UPI_NOT_ENTERED = 0x14
    NO_CIPHER_ALGORITHM = 0x17
    CIPHER_ALGORITHM_NOT_SUPPORTED = 0x18
    CIPHER_KEY_NOT_SUPPORTED = 0x19
    INCOMPATIBLE_SERVICE = 0x20
    FALSE_LCE_REPLY = 0x21
    LATE_LCE_REPLY = 0x22
    INVALID_TPUI = 0x23
    TPUI_ASSIGNMENT_LIMITS_UNACCEPTABLE = 0x24
    INSUFFICIENT_MEMORY = 0x2F
    OVERLOAD = 0x30
    INVALID_MESSAGE = 0x5F
    INFORMATION_ELEMENT_ERROR = 0x60
    INVALID_INFORMATION_ELEMENT_CONTENTS = 0x64
    TIMER_EXPIRY = 0x70
    PLMN_NOT_ALLOWED = 0x76
    LOCATION_AREA_NOT_ALLOWED = 0x80
    NATIONAL_ROAMING_NOT_ALLOWED = 0x81


class NumberType(enum.IntEnum):
    """CALLED-PARTY-NUMBER type of number (EN 300 175-5 §7.7.7)."""

    UNKNOWN = 0x0
    INTERNATIONAL = 0x1
    NATIONAL = 0x2
    NETWORK_SPECIFIC = 0x3
    SUBSCRIBER = 0x4
    ABBREVIATED = 0x6


class NumberingPlan(enum.IntEnum):
    """CALLED-PARTY-NUMBER numbering plan identification (EN 300 175-5 §7.7.7)."""

    UNKNOWN = 0x0
    ISDN_TELEPHONY = 0x1
    DATA = 0x3
    TCP_IP = 0x7
    NATIONAL_STANDARD = 0x8
    PRIVATE = 0x9
    SIP = 0xA
    INTERNET_CHARACTER_FORMAT = 0xB
    LAN_MAC = 0xC
    X400 = 0xD
    PROFILE_SERVICE_SPECIFIC = 0xE


class IwuProtocol(enum.IntEnum):
    """IWU-TO-IWU protocol discriminator, 6 bits (EN 300 175-5 §7.7.23)."""

    USER_SPECIFIC = 0x00
    OSI_HIGH_LAYER = 0x01
    X263 = 0x02
    LIST_ACCESS = 0x03
    IA5_CHARACTERS = 0x04
    SUOTA = 0x06
    V120 = 0x07
    Q931_MESSAGE = 0x08
    Q931_IE = 0x09
    Q931_PARTIAL_MESSAGE = 0x0A
    DTAM = 0x0F
    GSM_MESSAGE = 0x10
    GSM_IE = 0x11
    UMTS_GPRS_IE = 0x12
    UMTS_GPRS_MESSAGE = 0x13
    LRMS = 0x14
    RLL_ACCESS_PROFILE = 0x15
    WRS = 0x16
    DECT_ISDN_C_PLANE = 0x20
    DECT_ISDN_U_PLANE = 0x21
    DECT_ISDN_OAM = 0x22
    TERMINAL_DATA = 0x23
    DECT_IP_NETWORKS = 0x24
    MPEG4_ER_AAC_LD = 0x25
    UNKNOWN = 0x2F


class EventType(enum.IntEnum):
    """EVENTS-NOTIFICATION event type (EN 300 175-5 §7.7.55)."""

    MESSAGE_WAITING = 0x00
    MISSED_CALL = 0x01
    WEB_CONTENT = 0x02
    LIST_CHANGE = 0x03
    SOFTWARE_UPGRADE = 0x04


class InfoParameter(enum.IntEnum):
    """INFO-TYPE parameter type, the two this project uses (EN 300 175-5 §7.7.20)."""

    LOCATE_SUGGEST = 0x00
    ACCESS_RIGHTS_MODIFY_SUGGEST = 0x01


# ------------------------------------------------------------------------------------------- helpers

_EXT = 0x80  # octet group extension bit 8 = 1: "last octet" (EN 300 175-5 §7.7.1 coding convention)
#: DECT IA5 (EN 300 175-5 Annex D.2): 7-bit characters; multi-display may also carry control codes.
_KEYPAD_CHARS = frozenset("0123456789*#\x15\x1c")


def _invalid(ie: str, message: str) -> RemoteProtocolError:
    return RemoteProtocolError(message, reason=REASON_INVALID_IE_CONTENTS, ie=ie)


_E = TypeVar("_E", bound=enum.IntEnum)


def _enum(kind: type[_E], value: Any, ie: str, field: str) -> _E:
    """construct's Enum hands unknown values back as plain integers: refuse them (reason 04)."""
    if isinstance(value, EnumIntegerString):
        return kind[str(value)]
    raise _invalid(ie, f"{field} {int(value):#04x} is not a known {kind.__name__} value")


def _ia5(ie: str, raw: bytes) -> str:
    if any(octet > 0x7F for octet in raw):
        raise _invalid(ie, "not DECT IA5 (an octet has bit 8 set)")
    return raw.decode("ascii")


class InformationElement:
    """Base of every IE value: `IE_ID`, `NAME`, a construct declaration `DECL` and its compiled `STRUCT`."""

    __slots__ = ()
    IE_ID: ClassVar[int]
    NAME: ClassVar[str]
    DECL: ClassVar[Construct]
    STRUCT: ClassVar[Construct]

    @classmethod
    def from_content(cls, content: bytes) -> InformationElement:
        """Decode the content octets (after identifier and length); raises `RemoteProtocolError`."""
        try:
            parsed = cls.STRUCT.parse(content)
        except (ConstructError, struct.error) as err:  # compiled structs raise struct.error on short input
            raise _invalid(
                cls.NAME, f"content {content.hex(' ')} does not decode ({type(err).__name__})"
            ) from None
        try:
            return cls._from_parsed(parsed)
        except (IdentityError, UnicodeDecodeError, ValueError) as err:
            raise _invalid(cls.NAME, str(err)) from None

    def content(self) -> bytes:
        """Encode the content octets; the inverse of `from_content`."""
        try:
            return bytes(self.STRUCT.build(self._to_build()))
        except ConstructError as err:
            raise ValueError(f"{self.NAME}: cannot encode {self!r}: {err}") from None

    def fields(self) -> dict[str, Any]:
        """The decoded fields as plain JSON values (for `fksim dect decode`)."""
        raise NotImplementedError

    @classmethod
    def _from_parsed(cls, parsed: Any) -> InformationElement:
        raise NotImplementedError

    def _to_build(self) -> dict[str, Any]:
        raise NotImplementedError


def _declare(decl: Construct, doc: str) -> Construct:
    """Attach the clause to the declaration (construct's `*` docs operator)."""
    return decl * doc


# ------------------------------------------------------------------------------- fixed-length (§7.6)


@dataclass(frozen=True, slots=True)
class SendingComplete(InformationElement):
    """SENDING-COMPLETE `A1`: single-octet control element, no content (EN 300 175-5 §7.6.2)."""

    IE_ID: ClassVar[int] = 0xA1
    NAME: ClassVar[str] = "SENDING-COMPLETE"
    DECL: ClassVar[Construct] = _declare(
        Terminated, "EN 300 175-5 §7.6.2 SENDING-COMPLETE: no content octets"
    )
    STRUCT: ClassVar[Construct] = DECL.compile()

    @classmethod
    def _from_parsed(cls, parsed: Any) -> SendingComplete:
        return cls()

    def _to_build(self) -> dict[str, Any]:
        return {}

    def fields(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class BasicService(InformationElement):
    """BASIC-SERVICE `E0`: call class (high nibble) and basic service (low nibble) (EN 300 175-5 §7.6.4)."""

    IE_ID: ClassVar[int] = 0xE0
    NAME: ClassVar[str] = "BASIC-SERVICE"
    DECL: ClassVar[Construct] = _declare(
        Struct("octet" / Int8ub, Terminated),
        "EN 300 175-5 §7.6.4 BASIC-SERVICE: call class << 4 | basic service",
    )
    STRUCT: ClassVar[Construct] = DECL.compile()
    call_class: CallClass = CallClass.NORMAL
    service: Service = Service.SPEECH

    @classmethod
    def _from_parsed(cls, parsed: Any) -> BasicService:
        octet = parsed.octet
        if octet >> 4 not in CallClass._value2member_map_:
            raise _invalid(cls.NAME, f"call class {octet >> 4:#x} is not known")
        if octet & 0x0F not in Service._value2member_map_:
            raise _invalid(cls.NAME, f"basic service {octet & 0x0F:#x} is not known")
        return cls(call_class=CallClass(octet >> 4), service=Service(octet & 0x0F))

    def _to_build(self) -> dict[str, Any]:
        return {"octet": (self.call_class << 4) | self.service}

    def fields(self) -> dict[str, Any]:
        return {"call_class": self.call_class.name.lower(), "service": self.service.name.lower()}


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseReason(InformationElement):
    """RELEASE-REASON `E2`: why a transaction ends (EN 300 175-5 §7.6.7)."""

    IE_ID: ClassVar[int] = 0xE2
    NAME: ClassVar[str] = "RELEASE-REASON"
    DECL: ClassVar[Construct] = _declare(
        Struct("reason" / Enum(Int8ub, ReleaseReasonCode), Terminated), "EN 300 175-5 §7.6.7 RELEASE-REASON"
    )
    STRUCT: ClassVar[Construct] = DECL.compile()
    reason: ReleaseReasonCode

    @classmethod
    def _from_parsed(cls, parsed: Any) -> ReleaseReason:
        return cls(reason=_enum(ReleaseReasonCode, parsed.reason, cls.NAME, "reason"))

    def _to_build(self) -> dict[str, Any]:
        return {"reason": int(self.reason)}

    def fields(self) -> dict[str, Any]:
        return {"reason": self.reason.name.lower(), "code": f"{self.reason:02X}"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal(InformationElement):
    """SIGNAL `E4`: a tone or alerting pattern for the portable part (EN 300 175-5 §7.6.8)."""

    IE_ID: ClassVar[int] = 0xE4
    NAME: ClassVar[str] = "SIGNAL"
    DECL: ClassVar[Construct] = _declare(
        Struct("value" / Enum(Int8ub, SignalValue), Terminated), "EN 300 175-5 §7.6.8 SIGNAL"
    )
    STRUCT: ClassVar[Construct] = DECL.compile()
    value: SignalValue

    @classmethod
    def _from_parsed(cls, parsed: Any) -> Signal:
        return cls(value=_enum(SignalValue, parsed.value, cls.NAME, "signal value"))

    def _to_build(self) -> dict[str, Any]:
        return {"value": int(self.value)}

    def fields(self) -> dict[str, Any]:
        return {"signal": self.value.name.lower(), "code": f"{self.value:02X}"}


@dataclass(frozen=True, slots=True, kw_only=True)
class SingleDisplay(InformationElement):
    """SINGLE-DISPLAY `E8`: one DECT IA5 character (EN 300 175-5 §7.6.5)."""

    IE_ID: ClassVar[int] = 0xE8
    NAME: ClassVar[str] = "SINGLE-DISPLAY"
    DECL: ClassVar[Construct] = _declare(
        Struct("char" / Bytes(1), Terminated), "EN 300 175-5 §7.6.5 SINGLE-DISPLAY"
    )
    STRUCT: ClassVar[Construct] = DECL.compile()
    char: str

    def __post_init__(self) -> None:
        if len(self.char) != 1 or ord(self.char) > 0x7F:
            raise ValueError(f"SINGLE-DISPLAY holds one DECT IA5 character, not {self.char!r}")

    @classmethod
    def _from_parsed(cls, parsed: Any) -> SingleDisplay:
        return cls(char=_ia5(cls.NAME, parsed.char))

    def _to_build(self) -> dict[str, Any]:
        return {"char": self.char.encode("ascii")}

    def fields(self) -> dict[str, Any]:
        return {"char": self.char}


@dataclass(frozen=True, slots=True, kw_only=True)
class SingleKeypad(InformationElement):
    """SINGLE-KEYPAD `E9`: one DECT IA5 key (EN 300 175-5 §7.6.6)."""

    IE_ID: ClassVar[int] = 0xE9
    NAME: ClassVar[str] = "SINGLE-KEYPAD"
    DECL: ClassVar[Construct] = _declare(
        Struct("key" / Bytes(1), Terminated), "EN 300 175-5 §7.6.6 SINGLE-KEYPAD"
    )
    STRUCT: ClassVar[Construct] = DECL.compile()
    key: str

    def __post_init__(self) -> None:
        if len(self.key) != 1 or self.key not in _KEYPAD_CHARS:
            raise ValueError(f"SINGLE-KEYPAD holds one key (0-9 * # 15 1C), not {self.key!r}")

    @classmethod
    def _from_parsed(cls, parsed: Any) -> SingleKeypad:
        return cls(key=_ia5(cls.NAME, parsed.key))

    def _to_build(self) -> dict[str, Any]:
        return {"key": self.key.encode("ascii")}

    def fields(self) -> dict[str, Any]:
        return {"key": self.key}
#: The seven bits beside the extension bit of an octet group (EN 300 175-5 §7.7.1).
_LOW7 = 0x7F


def _code(kind: type[_E], value: int, ie: str, field: str) -> _E:
    if value not in kind._value2member_map_:
        raise _invalid(ie, f"{field} {value:#04x} is not a known {kind.__name__} value")
    return kind(value)


def _ext_set(ie: str, octet: int, field: str) -> int:
    """Octet groups of one octet must have bit 8 (extension) = 1 (EN 300 175-5 §7.7.1)."""
    if not octet & _EXT:
        raise _invalid(ie, f"{field} octet {octet:#04x} has the extension bit clear")
    return octet & _LOW7


