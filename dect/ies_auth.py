"""The authentication IEs of the NWK layer (EN 300 175-5 §7.7.4, §7.7.5, §7.7.37, §7.7.38, §7.7.40):
ALLOCATION-TYPE, AUTH-TYPE, RAND, RES and RS, as typed values declared with construct.

Same contract as `dect.ies` (content octets <-> frozen dataclass, one construct declaration each,
unknown values refused with RELEASE-REASON 04). The codings are the ones libdect builds: the algorithm
identifier (01: DSAA) in octet 3; in ALLOCATION-TYPE the UAK number and the authentication code number
as the two nibbles of octet 4; in AUTH-TYPE the key type (1: UAK, 4: authentication code) and key
number, then the INC/DEF/TXC/UPC flags and the cipher key number; RAND and RS 8 octets, RES 4, in
their order on the air.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar

from construct import Bytes, Construct, Int8ub, Struct, Terminated

from dect.ies import InformationElement, _code, _declare, _invalid


class AuthAlgorithm(enum.IntEnum):
    """Authentication algorithm identifier (EN 300 175-5 §7.7.4): DSAA."""

    DSAA = 0x01


class AuthKeyType(enum.IntEnum):
    """AUTH-TYPE authentication key type (EN 300 175-5 §7.7.4)."""

    USER_AUTHENTICATION_KEY = 0x1
    USER_PERSONAL_IDENTITY = 0x3
    AUTHENTICATION_CODE = 0x4


def _nibbles(octet: int) -> tuple[int, int]:
    return octet >> 4, octet & 0x0F


@dataclass(frozen=True, slots=True, kw_only=True)
class AllocationType(InformationElement):
    """ALLOCATION-TYPE `0B`: the algorithm, UAK number and authentication code number of a key
    allocation (EN 300 175-5 §7.7.5)."""

    IE_ID: ClassVar[int] = 0x0B
    NAME: ClassVar[str] = "ALLOCATION-TYPE"
    DECL: ClassVar[Construct] = _declare(
        Struct("algorithm" / Int8ub, "numbers" / Int8ub, Terminated),
        "EN 300 175-5 §7.7.5 ALLOCATION-TYPE: algorithm, UAK number | AC number",
    )
    STRUCT: ClassVar[Construct] = DECL.compile()
    algorithm: AuthAlgorithm = AuthAlgorithm.DSAA
    uak_number: int = 0
    ac_number: int = 0

    @classmethod
    def _from_parsed(cls, parsed: Any) -> AllocationType:
        uak, ac = _nibbles(parsed.numbers)
        return cls(algorithm=_code(AuthAlgorithm, parsed.algorithm, cls.NAME, "algorithm"), uak_number=uak,
                   ac_number=ac)

    def _to_build(self) -> dict[str, Any]:
        numbers = (self.uak_number & 0x0F) << 4 | self.ac_number & 0x0F
        return {"algorithm": int(self.algorithm), "numbers": numbers}

    def fields(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm.name.lower(), "uak_number": self.uak_number,
                "ac_number": self.ac_number}


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthType(InformationElement):
    """AUTH-TYPE `0A`: which algorithm and key an authentication uses (EN 300 175-5 §7.7.4); without the
    DEF flag there are no octets 5a/5b."""

    IE_ID: ClassVar[int] = 0x0A
    NAME: ClassVar[str] = "AUTH-TYPE"
    DECL: ClassVar[Construct] = _declare(
        Struct("algorithm" / Int8ub, "key" / Int8ub, "flags" / Int8ub, Terminated),
        "EN 300 175-5 §7.7.4 AUTH-TYPE: algorithm, key type | key number, INC DEF TXC UPC | cipher key",
    )
    STRUCT: ClassVar[Construct] = DECL.compile()
    algorithm: AuthAlgorithm = AuthAlgorithm.DSAA
    key_type: AuthKeyType = AuthKeyType.USER_AUTHENTICATION_KEY
    key_number: int = 0
    flags: int = 0           # INC 80, TXC 20, UPC 10 (DEF 40 is not used here)
    cipher_key_number: int = 0

    @classmethod
    def _from_parsed(cls, parsed: Any) -> AuthType:
        key_type, key_number = _nibbles(parsed.key)
        flags, cipher = parsed.flags & 0xF0, parsed.flags & 0x0F
        if flags & 0x40:
            raise _invalid(cls.NAME, "the DEF flag announces octets 5a/5b, which this base does not use")
        return cls(algorithm=_code(AuthAlgorithm, parsed.algorithm, cls.NAME, "algorithm"),
                   key_type=_code(AuthKeyType, key_type, cls.NAME, "key type"), key_number=key_number,
                   flags=flags, cipher_key_number=cipher)

    def _to_build(self) -> dict[str, Any]:
        return {"algorithm": int(self.algorithm), "key": int(self.key_type) << 4 | self.key_number & 0x0F,
                "flags": self.flags & 0xB0 | self.cipher_key_number & 0x0F}

    def fields(self) -> dict[str, Any]:
        return {"algorithm": self.algorithm.name.lower(), "key_type": self.key_type.name.lower(),
                "key_number": self.key_number, "flags": f"{self.flags:02X}",
                "cipher_key_number": self.cipher_key_number}


class _Octets(InformationElement):
    """A fixed number of octets carried as they are (RAND, RS, RES)."""

    __slots__ = ()
    SIZE: ClassVar[int]
    value: bytes

    @classmethod
    def from_content(cls, content: bytes) -> InformationElement:
        """The octets as they are, their number checked: no parser needed (random values never repeat,
        so no memo helps either)."""
        if len(content) != cls.SIZE:
            raise _invalid(cls.NAME, f"{cls.SIZE} octets expected, got {len(content)}")
        return cls(value=bytes(content))  # type: ignore[call-arg]

    @classmethod
    def _from_parsed(cls, parsed: Any) -> InformationElement:
        return cls.from_content(bytes(parsed.value))

    def content(self) -> bytes:
        if len(self.value) != self.SIZE:
            raise ValueError(f"{self.NAME} is {self.SIZE} octets, not {len(self.value)}")
        return self.value

    def _to_build(self) -> dict[str, Any]:
        if len(self.value) != self.SIZE:
            raise ValueError(f"{self.NAME} is {self.SIZE} octets, not {len(self.value)}")
        return {"value": self.value}

    def fields(self) -> dict[str, Any]:
        return {"value": self.value.hex(" ").upper()}


@dataclass(frozen=True, slots=True, kw_only=True)
class Rand(_Octets):
    """RAND `0C`: a random value of 8 octets, RAND-F from the base or RAND-P from the handset (§7.7.37)."""

    IE_ID: ClassVar[int] = 0x0C
    NAME: ClassVar[str] = "RAND"
    SIZE: ClassVar[int] = 8
    DECL: ClassVar[Construct] = _declare(Struct("value" / Bytes(8), Terminated), "EN 300 175-5 §7.7.37 RAND")
    STRUCT: ClassVar[Construct] = DECL.compile()
    value: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Rs(_Octets):
    """RS `0E`: the random seed of 8 octets the session keys are derived with (§7.7.40)."""

    IE_ID: ClassVar[int] = 0x0E
    NAME: ClassVar[str] = "RS"
    SIZE: ClassVar[int] = 8
    DECL: ClassVar[Construct] = _declare(Struct("value" / Bytes(8), Terminated), "EN 300 175-5 §7.7.40 RS")
    STRUCT: ClassVar[Construct] = DECL.compile()
    value: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Res(_Octets):
    """RES `0D`: an authentication response of 4 octets, RES1 or RES2 (§7.7.38)."""

    IE_ID: ClassVar[int] = 0x0D
    NAME: ClassVar[str] = "RES"
    SIZE: ClassVar[int] = 4
    DECL: ClassVar[Construct] = _declare(Struct("value" / Bytes(4), Terminated), "EN 300 175-5 §7.7.38 RES")
    STRUCT: ClassVar[Construct] = DECL.compile()
    value: bytes


__all__ = ["AllocationType", "AuthAlgorithm", "AuthKeyType", "AuthType", "Rand", "Res", "Rs"]
