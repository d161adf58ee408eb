"""The identity IEs of the NWK layer (EN 300 175-5 §7.7.30, §7.7.18, §7.7.25): PORTABLE-IDENTITY,
FIXED-IDENTITY and LOCATION-AREA, as typed values declared with construct.

Same contract as `dect.ies` and `dect.ies_var` (content octets <-> frozen dataclass, one construct
declaration each, unknown values refused with RELEASE-REASON 04). Split from `dect.ies_var`, which
re-exports these names, along the seam between who a message is about and what it carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from construct import Construct, GreedyBytes, Int8ub, Struct, Terminated

from dect.identity import Ipui
from dect.ies import (
    _EXT,
    _LOW7,
    FixedIdentityType,
    InformationElement,
    PortableIdentityType,
    _code,
    _declare,
    _ext_set,
    _invalid,
)

_IPEI_BITS = 36
_TPUI_BITS = 20
# The inherited from_content, for the shapes the fast paths below leave to it: zero-argument super()
# does not work in these classes (dataclass(slots=True) makes a new class; the methods' __class__ cell
# still names the old one).
_generic_from_content = InformationElement.from_content.__func__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True, kw_only=True)
class PortableIdentity(InformationElement):
    """PORTABLE-IDENTITY `05`: IPUI-N, IPEI or TPUI, value left-aligned, zero padded (EN 300 175-5 §7.7.30).

    For type IPUI and IPEI `ipui` holds the identity (an IPEI is an IPUI-N's value without its PUT);
    for TPUI, `tpui` holds the 20-bit value.
    """

    IE_ID: ClassVar[int] = 0x05
    NAME: ClassVar[str] = "PORTABLE-IDENTITY"
    DECL: ClassVar[Construct] = _declare(
        Struct("type" / Int8ub, "bits" / Int8ub, "value" / GreedyBytes),
        "EN 300 175-5 §7.7.30 PORTABLE-IDENTITY: 1|type, 1|length in bits, value left-aligned",
    )
    STRUCT: ClassVar[Construct] = DECL.compile()
    identity_type: PortableIdentityType = PortableIdentityType.IPUI
    ipui: Ipui | None = None
    tpui: int | None = None

    def __post_init__(self) -> None:
        if self.identity_type is PortableIdentityType.TPUI:
            if self.tpui is None or not 0 <= self.tpui < 1 << _TPUI_BITS or self.ipui is not None:
                raise ValueError("a TPUI PORTABLE-IDENTITY needs a 20-bit tpui and no ipui")
        elif self.ipui is None or self.tpui is not None:
            raise ValueError(f"a {self.identity_type.name} PORTABLE-IDENTITY needs an ipui and no tpui")

    @classmethod
    def of(cls, ipui: Ipui) -> PortableIdentity:
        return cls(identity_type=PortableIdentityType.IPUI, ipui=ipui)

    @classmethod
    def from_content(cls, content: bytes) -> InformationElement:
        """The usual case, an IPUI (octets 3 and 4 with their extension bits set), read without the
        generic parser, with the same checks; anything else takes the declared path."""
        if len(content) >= 2 and content[0] == _EXT | PortableIdentityType.IPUI and content[1] & _EXT:
            try:
                return cls(identity_type=PortableIdentityType.IPUI, ipui=Ipui.from_portable_identity(content))
            except ValueError as err:   # IdentityError is one
                raise _invalid(cls.NAME, str(err)) from None
        return _generic_from_content(cls, content)

    def content(self) -> bytes:
        if self.identity_type is PortableIdentityType.IPUI and self.ipui is not None:
            return self.ipui.portable_identity_content()
        return InformationElement.content(self)

    @classmethod
    def _from_parsed(cls, parsed: Any) -> PortableIdentity:
        kind = _code(PortableIdentityType, _ext_set(cls.NAME, parsed.type, "type"), cls.NAME, "identity type")
        bits = _ext_set(cls.NAME, parsed.bits, "length")
        raw: bytes = parsed.value
        if kind is PortableIdentityType.IPUI:
            content = bytes((parsed.type, parsed.bits)) + raw
            return cls(identity_type=kind, ipui=Ipui.from_portable_identity(content))
        width = _IPEI_BITS if kind is PortableIdentityType.IPEI else _TPUI_BITS
        if bits != width or len(raw) != (width + 7) // 8:
            raise _invalid(
                cls.NAME, f"{kind.name} value must be {width} bits, got {bits} bits in {len(raw)} octets"
            )
        value = int.from_bytes(raw, "big")
        if value & ((1 << (len(raw) * 8 - width)) - 1):
            raise _invalid(cls.NAME, f"{kind.name} padding bits are not zero")
        value >>= len(raw) * 8 - width
        if kind is PortableIdentityType.IPEI:
            return cls(identity_type=kind, ipui=Ipui.from_ipei(value))
        return cls(identity_type=kind, tpui=value)

    def _to_build(self) -> dict[str, Any]:
        if self.identity_type is PortableIdentityType.IPUI:
            assert self.ipui is not None
            content = self.ipui.portable_identity_content()
            return {"type": content[0], "bits": content[1], "value": content[2:]}
        if self.identity_type is PortableIdentityType.IPEI:
            assert self.ipui is not None
            value = (self.ipui.ipei << 4).to_bytes(5, "big")
            return {"type": _EXT | self.identity_type, "bits": _EXT | _IPEI_BITS, "value": value}
        assert self.tpui is not None
        return {
            "type": _EXT | self.identity_type,
            "bits": _EXT | _TPUI_BITS,
            "value": (self.tpui << 4).to_bytes(3, "big"),
        }

    def fields(self) -> dict[str, Any]:
        if self.tpui is not None:
            return {"type": "TPUI", "tpui": f"{self.tpui:05x}"}
        assert self.ipui is not None
        out: dict[str, Any] = {"type": self.identity_type.name}
        if self.identity_type is PortableIdentityType.IPUI:
            out["ipui"] = str(self.ipui)
        out["ipei"] = self.ipui.printed_ipei
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class FixedIdentity(InformationElement):
    """FIXED-IDENTITY `06`: ARI, ARI+RPN or PARK of the fixed part, left-aligned (EN 300 175-5 §7.7.18)."""

    IE_ID: ClassVar[int] = 0x06
    NAME: ClassVar[str] = "FIXED-IDENTITY"
    DECL: ClassVar[Construct] = _declare(
        Struct("type" / Int8ub, "bits" / Int8ub, "value" / GreedyBytes),
        "EN 300 175-5 §7.7.18 FIXED-IDENTITY: 1|type, 1|length in bits, value left-aligned",
    )
    STRUCT: ClassVar[Construct] = DECL.compile()
    identity_type: FixedIdentityType = FixedIdentityType.PARK
    bits: int
    value: int

    def __post_init__(self) -> None:
        if not 1 <= self.bits <= _LOW7 or not 0 <= self.value < 1 << self.bits:
            raise ValueError(
                f"FIXED-IDENTITY value {self.value:#x} does not fit in {self.bits} bits (1..127)"
            )

    @classmethod
    def _from_parsed(cls, parsed: Any) -> FixedIdentity:
        kind = _code(FixedIdentityType, _ext_set(cls.NAME, parsed.type, "type"), cls.NAME, "identity type")
        bits = _ext_set(cls.NAME, parsed.bits, "length")
        raw: bytes = parsed.value
        if bits == 0 or len(raw) != (bits + 7) // 8:
            raise _invalid(cls.NAME, f"{bits} bits need {(bits + 7) // 8} octets, got {len(raw)}")
        value = int.from_bytes(raw, "big")
        pad = len(raw) * 8 - bits
        if value & ((1 << pad) - 1):
            raise _invalid(cls.NAME, "padding bits are not zero")
        return cls(identity_type=kind, bits=bits, value=value >> pad)

    def _to_build(self) -> dict[str, Any]:
        size = (self.bits + 7) // 8
        raw = (self.value << (size * 8 - self.bits)).to_bytes(size, "big")
        return {"type": _EXT | self.identity_type, "bits": _EXT | self.bits, "value": raw}

    def fields(self) -> dict[str, Any]:
        return {"type": self.identity_type.name, "bits": self.bits, "value": f"{self.value:x}"}


_LA_LEVEL_ONLY = 0x40  # LI type: extended LI not included (bit 8 = 0), LA level included (bit 7 = 1)


@dataclass(frozen=True, slots=True, kw_only=True)
class LocationArea(InformationElement):
    """LOCATION-AREA `07`: location area level only (EN 300 175-5 §7.7.25).

    Octet 3: bit 8 = extended location information included (not modelled: 0), bit 7 = location area
    level included (1), bits 6-1 = the level. Wireshark 4.4's dect_nwk reads the bits the same way.
    """

    IE_ID: ClassVar[int] = 0x07
    NAME: ClassVar[str] = "LOCATION-AREA"
    DECL: ClassVar[Construct] = _declare(
        Struct("octet" / Int8ub, Terminated),
        "EN 300 175-5 §7.7.25 LOCATION-AREA: ELI included, LA level included, LA level (6 bits)",
    )
    STRUCT: ClassVar[Construct] = DECL.compile()
    level: int

    def __post_init__(self) -> None:
        if not 0 <= self.level <= 0x3F:
            raise ValueError(f"LOCATION-AREA level {self.level} is out of range 0..63")

    @classmethod
    def _from_parsed(cls, parsed: Any) -> LocationArea:
        if parsed.octet & 0xC0 != _LA_LEVEL_ONLY:
            raise _invalid(cls.NAME, f"LI type {parsed.octet >> 6:#x} is not 'LA level included only' (1)")
        return cls(level=parsed.octet & 0x3F)

    def _to_build(self) -> dict[str, Any]:
        return {"octet": _LA_LEVEL_ONLY | self.level}

    def fields(self) -> dict[str, Any]:
        return {"level": self.level}


__all__ = ["FixedIdentity", "LocationArea", "PortableIdentity"]
