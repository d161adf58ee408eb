"""DECT portable identities: the IPUI type N (the handset's IPEI with a PUT of 0) and what derives from it.

The vendor shows a handset's IPUI as 10 hex digits, e.g. ``029e74a599``: a 4-bit portable user
identity type (PUT; 0 = IPUI-N, EN 300 175-6 §6.2) followed by the 36-bit IPEI, which is a 16-bit
equipment manufacturer code (EMC, ``0x29E7`` = 10727) and a 20-bit portable serial number (PSN,
``0x4A599`` = 304537). Everything else is derived:

- the printed IPEI ``10727 0304537 3`` (5-digit EMC, 7-digit PSN, check digit = Σ(position × digit)
  over those 12 digits mod 11, where 10 is printed as ``*``);
- the default individual TPUI ``0xE0000 | (IPEI & 0xFFFF)`` = ``0xEA599`` (EN 300 175-6 §6.3.1);
- the PORTABLE-IDENTITY IE content ``80 A8 02 9E 74 A5 99`` (EN 300 175-5 §7.7.30: type IPUI,
  length 40 bits, PUT and IPEI left-aligned).

Only IPUI-N is modelled: every handset of a Gigaset N-series base is registered with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dect.errors import IdentityError

_HEX_IPUI = re.compile(r"[0-9a-fA-F]{10}")
_PRINTED_IPEI = re.compile(r"([0-9]{5})\s*([0-9]{7})\s*([0-9*])")

EMC_MAX = 0xFFFF
PSN_MAX = 0xFFFFF
#: EN 300 175-5 §7.7.30, octet 3: identity type IPUI with the extension bit set.
PI_TYPE_IPUI = 0x80
#: The IPUI-N value is 40 bits long: 4-bit PUT + 36-bit IPEI.
IPUI_N_BITS = 40


def _check_digit(emc: int, psn: int) -> str:
    digits = f"{emc:05d}{psn:07d}"
    total = sum(position * int(digit) for position, digit in enumerate(digits, start=1)) % 11
    return "*" if total == 10 else str(total)


@dataclass(frozen=True, slots=True, order=True)
class Ipui:
    """An IPUI type N. Create it with `Ipui.parse`, `Ipui.from_printed_ipei` or the two fields."""

    emc: int
    psn: int

    def __post_init__(self) -> None:
        if not 0 <= self.emc <= EMC_MAX:
            raise IdentityError(f"EMC {self.emc} is out of range 0..{EMC_MAX}")
        if not 0 <= self.psn <= PSN_MAX:
            raise IdentityError(f"PSN {self.psn} is out of range 0..{PSN_MAX}")

    @classmethod
    def parse(cls, text: str) -> Ipui:
        """Parse the vendor's 10-hex-digit form (``029e74a599``), any case, PUT 0 only."""
        if not isinstance(text, str):
            raise IdentityError(f"IPUI must be text of 10 hex digits, not {type(text).__name__}")
        value = text.strip()
        if not _HEX_IPUI.fullmatch(value):
            raise IdentityError(f'"{text}" is not an IPUI: expected 10 hex digits such as 029e74a599')
        if value[0] != "0":
            raise IdentityError(
                f'"{text}" is not an IPUI type N: the first digit (PUT) is {value[0]}, only 0 is supported'
            )
        ipei = int(value[1:], 16)
        return cls(emc=ipei >> 20, psn=ipei & PSN_MAX)

    @classmethod
    def from_printed_ipei(cls, text: str) -> Ipui:
        """Parse the printed IPEI (``10727 0304537 3``) and verify its check digit."""
        match = _PRINTED_IPEI.fullmatch(text.strip())
        if not match:
            raise IdentityError(f'"{text}" is not a printed IPEI: expected "EEEEE PPPPPPP C"')
        emc, psn, check = int(match[1]), int(match[2]), match[3]
        ipui = cls(emc=emc, psn=psn)
        expected = _check_digit(emc, psn)
        if check != expected:
            raise IdentityError(f'"{text}": check digit is {check}, the IPEI gives {expected}')
        return ipui

    @classmethod
    def from_ipei(cls, ipei: int) -> Ipui:
        if not 0 <= ipei < 1 << 36:
            raise IdentityError(f"IPEI {ipei:#x} does not fit in 36 bits")
        return cls(emc=ipei >> 20, psn=ipei & PSN_MAX)

    @classmethod
    def from_portable_identity(cls, content: bytes) -> Ipui:
        """Decode the content octets of a PORTABLE-IDENTITY IE that carries an IPUI-N."""
        if len(content) != 7:
            raise IdentityError(f"PORTABLE-IDENTITY IPUI-N content is 7 octets, got {len(content)}")
        if content[0] != PI_TYPE_IPUI:
            raise IdentityError(f"PORTABLE-IDENTITY type octet {content[0]:#04x} is not IPUI (0x80)")
        if content[1] != 0x80 | IPUI_N_BITS:
            raise IdentityError(f"PORTABLE-IDENTITY length octet {content[1]:#04x} is not 40 bits (0xa8)")
        value = int.from_bytes(content[2:], "big")
        if value >> 36 != 0:
            raise IdentityError(f"PORTABLE-IDENTITY PUT {value >> 36} is not IPUI-N (0)")
        return cls.from_ipei(value)

    @property
    def ipei(self) -> int:
        return (self.emc << 20) | self.psn

    @property
    def check_digit(self) -> str:
        return _check_digit(self.emc, self.psn)

    @property
    def printed_ipei(self) -> str:
        return f"{self.emc:05d} {self.psn:07d} {self.check_digit}"

    @property
    def default_tpui(self) -> int:
        """The default individual TPUI, 20 bits (EN 300 175-6 §6.3.1)."""
        return 0xE0000 | (self.ipei & 0xFFFF)

    def portable_identity_content(self) -> bytes:
        """The content octets of the PORTABLE-IDENTITY IE (type, length in bits, left-aligned value)."""
        return bytes((PI_TYPE_IPUI, 0x80 | IPUI_N_BITS)) + self.ipei.to_bytes(5, "big")

    def __str__(self) -> str:
        return f"0{self.ipei:09x}"
