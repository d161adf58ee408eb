"""Feature access codes (feature-key-sync.md §4): the table and the parser of dialled strings.

One responsibility: turn the Request-URI user part of a FAC call (`*723000`) into a command, or into
the status to refuse it with: an unknown code -> 404, a code that needs a number and has none ->
484. The table is data (`FacTable`), BroadWorks defaults in `DEFAULT_CODES`, configurable per system.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from urllib.parse import unquote

from sip.errors import RemoteProtocolError
from sip.numbers import read_uint
from sip.state import Feature


class FacAction(enum.Enum):
    ACTIVATE = "activate"
    DEACTIVATE = "deactivate"
    INTERROGATE = "interrogate"


@dataclass(frozen=True, kw_only=True)
class FacCode:
    """One code: `prefix` dialled, what it does; `number` True when a target number must follow."""

    prefix: str
    feature: Feature
    action: FacAction
    number: bool = False


@dataclass(frozen=True, kw_only=True)
class FacCommand:
    """A parsed dialled string: `number` for forwarding activations, `rings` for CFNA [choice]."""

    code: FacCode
    number: str | None = None
    rings: int | None = None


_A, _D, _I = FacAction.ACTIVATE, FacAction.DEACTIVATE, FacAction.INTERROGATE
#: feature-key-sync.md §4, BroadWorks defaults [fact].
DEFAULT_CODES: tuple[FacCode, ...] = (
    FacCode(prefix="*78", feature=Feature.DND, action=_A),
    FacCode(prefix="*79", feature=Feature.DND, action=_D),
    FacCode(prefix="*72", feature=Feature.CFA, action=_A, number=True),
    FacCode(prefix="*73", feature=Feature.CFA, action=_D),
    FacCode(prefix="*21*", feature=Feature.CFA, action=_I),
    FacCode(prefix="*90", feature=Feature.CFB, action=_A, number=True),
    FacCode(prefix="*91", feature=Feature.CFB, action=_D),
    FacCode(prefix="*67*", feature=Feature.CFB, action=_I),
    FacCode(prefix="*92", feature=Feature.CFNA, action=_A, number=True),
    FacCode(prefix="*93", feature=Feature.CFNA, action=_D),
    FacCode(prefix="*61*", feature=Feature.CFNA, action=_I),
)

#: A target: digits with an optional leading "+" [choice].
_NUMBER_RE = re.compile(r"\+?[0-9]{1,32}")


@dataclass(frozen=True)
class FacTable:
    """The system's codes; the longest matching prefix wins."""

    codes: tuple[FacCode, ...] = DEFAULT_CODES

    def __post_init__(self) -> None:
        prefixes = [c.prefix for c in self.codes]
        if len(set(prefixes)) != len(prefixes):
            raise ValueError("Duplicate feature access code")

    def parse(self, dialled: str) -> FacCommand:
        """`*78` -> DND on; `*723000` -> CFA on to 3000; `*923002*4` -> CFNA on to 3002 after 4
        rings [choice: `*<rings>` after the number]. A trailing `#` (sent as %23) is ignored."""
        text = unquote(dialled)
        for code in sorted(self.codes, key=lambda c: -len(c.prefix)):
            if text.startswith(code.prefix):
                rest = text[len(code.prefix) :]
                return self._command(code, rest[:-1] if rest.endswith("#") else rest)
        raise RemoteProtocolError(f"Unknown feature access code {text[:20]}", status=404)

    @staticmethod
    def _command(code: FacCode, rest: str) -> FacCommand:
        if not code.number:
            if rest:
                raise RemoteProtocolError(f"{code.prefix} takes no number", status=404)
            return FacCommand(code=code)
        number, _, rings_text = rest.partition("*")
        if not number:
            # RFC 3261 §21.4.22: 484 Address Incomplete; the activation needs a target number.
            raise RemoteProtocolError(f"{code.prefix} needs a number", status=484)
        if _NUMBER_RE.fullmatch(number) is None:
            raise RemoteProtocolError(f"Invalid number after {code.prefix}", status=484)
        rings: int | None = None
        if rings_text or rest.endswith("*"):
            if code.feature is not Feature.CFNA:
                raise RemoteProtocolError("Invalid ring count", status=484)
            # ASCII digits only: the user part is percent-decoded, and "%C2%B2" ("²") passes isdigit().
            rings = read_uint(rings_text, "ring count", limit=99, status=484)
            if not (rings == 0 or 2 <= rings <= 20):
                # feature-key-sync.md §3: BroadWorks accepts 0 or 2-20 rings.
                raise RemoteProtocolError("Ring count outside 0 or 2-20", status=484)
        return FacCommand(code=code, number=number, rings=rings)


__all__ = ["DEFAULT_CODES", "FacAction", "FacCode", "FacCommand", "FacTable"]
