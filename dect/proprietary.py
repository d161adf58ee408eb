"""This project's proprietary content in ESCAPE-TO-PROPRIETARY under EMC 0002 — **a choice, not a standard**.

DECT has no standard message for "set DND" or "set call forwarding on the network" (dect-nwk.md §3); the
vendor's own encoding is not public. This module is the one place that defines the project's encoding,
declared once with construct, and turns it into typed values. docs/dect-proprietary.md repeats it with
golden byte vectors.

After the ESCAPE-TO-PROPRIETARY header `7B len 81 00 02` (EN 300 175-5 §7.7.45: discriminator type EMC,
EMC 0002 = Gigaset) the content is a list of proprietary information elements (PIEs)::

    PIE id (1 octet) | length of data (1 octet) | data

PIE ids: `3E` feature request (PP → FP), `3F` feature state (FP → PP), `59` positive acknowledgement
(FP → PP), `50` registration PIN (PP → FP, in ACCESS-RIGHTS-REQUEST).

Feature data (in 3E and 3F): feature id, then per feature

- `22` call diversion: type (0 all calls = CFA, 1 busy = CFB, 2 no answer = CFNA), state (0 off, 1 on),
  ring count (CFNA; 0 for the others), target number (DECT IA5 digits, may be empty);
- `30` do not disturb: state (0 off, 1 on).

Acknowledgement data (59): the feature id, and for `22` the diversion type.
PIN data (50): 4 to 8 IA5 digits.

Golden vectors (whole IEs)::

    DND on request        7B 07 81 00 02 3E 02 30 01
    CFA on to 3000        7B 0D 81 00 02 3F 08 22 00 01 00 33 30 30 30
    CFNA on, 4 rings      7B 0D 81 00 02 3E 08 22 02 01 04 33 30 30 32
    ack of DND            7B 06 81 00 02 59 01 30
    PIN 0000              7B 09 81 00 02 50 04 30 30 30 30
"""

from __future__ import annotations

import enum
import functools
import struct
from dataclasses import dataclass
from typing import Any

from construct import (
    Construct,
    ConstructError,
    Enum,
    Error,
    GreedyBytes,
    GreedyRange,
    Int8ub,
    Prefixed,
    Struct,
    Switch,
    Terminated,
    this,
)

from dect.errors import REASON_INVALID_IE_CONTENTS, RemoteProtocolError
from dect.ies_var import EMC_GIGASET, EscapeToProprietary


class PieId(enum.IntEnum):
    """Proprietary IE ids of this project (choice)."""

    FEATURE_REQUEST = 0x3E
    FEATURE_STATE = 0x3F
    PIN = 0x50
    ACK = 0x59


class FeatureId(enum.IntEnum):
    """Feature ids: 22 is the vendor's "call diversion" FP feature id; 30 (DND) is this project's choice."""

    CALL_DIVERSION = 0x22
    DND = 0x30


class DiversionType(enum.IntEnum):
    ALL = 0  # CFA
    BUSY = 1  # CFB
    NO_ANSWER = 2  # CFNA


_FEATURE_BODIES: dict[FeatureId, Construct] = {
    FeatureId.CALL_DIVERSION: Struct(
        "type" / Enum(Int8ub, DiversionType), "state" / Int8ub, "rings" / Int8ub, "target" / GreedyBytes
    ),
    FeatureId.DND: Struct("state" / Int8ub),
}
_ACK_BODIES: dict[FeatureId, Construct] = {
    FeatureId.CALL_DIVERSION: Struct("type" / Enum(Int8ub, DiversionType))
}


def _by_name_and_value(cases: dict[FeatureId, Construct]) -> dict[Any, Construct]:
    """Switch keys: parsing yields the Enum's name, building the integer; both select the same case."""
    keyed: dict[Any, Construct] = {}
    for feature, body in cases.items():
        keyed[feature.name] = body
        keyed[int(feature)] = body
    return keyed


PIE = Struct("id" / Enum(Int8ub, PieId), "data" / Prefixed(Int8ub, GreedyBytes)) * (
    "fksim choice: proprietary IE inside ESCAPE-TO-PROPRIETARY (EN 300 175-5 §7.7.45) with EMC 0002"
)
PIE_LIST: Construct = (
    Struct("pies" / GreedyRange(PIE), Terminated) * "fksim choice: PIEs back to back"
).compile()
FEATURE: Construct = (
    Struct(
        "feature" / Enum(Int8ub, FeatureId),
        "body" / Switch(this.feature, _by_name_and_value(_FEATURE_BODIES), default=Error),
        Terminated,
    )
    * "fksim choice: feature data of PIE 3E / 3F"
).compile()
ACK: Construct = (
    Struct(
        "feature" / Enum(Int8ub, FeatureId),
        "body" / Switch(this.feature, _by_name_and_value(_ACK_BODIES), default=Struct()),
        Terminated,
    )
    * "fksim choice: data of PIE 59, the feature (and diversion type) acknowledged"
).compile()

MAX_RINGS = 30


@dataclass(frozen=True, slots=True, kw_only=True)
class DndSetting:
    """Do not disturb on or off."""

    active: bool

    @property
    def feature(self) -> str:
        return "dnd"


@dataclass(frozen=True, slots=True, kw_only=True)
class DiversionSetting:
    """One call diversion (CFA, CFB or CFNA) with its target and, for CFNA, its ring count."""

    diversion: DiversionType
    active: bool
    target: str = ""
    rings: int = 0

    def __post_init__(self) -> None:
        if any(ord(ch) > 0x7F for ch in self.target) or len(self.target) > 200:
            raise ValueError(f"diversion target must be up to 200 DECT IA5 characters, not {self.target!r}")
        if not 0 <= self.rings <= MAX_RINGS:
            raise ValueError(f"ring count {self.rings} is out of range 0..{MAX_RINGS}")
        if self.diversion is not DiversionType.NO_ANSWER and self.rings:
            raise ValueError("only the no-answer diversion has a ring count")

    @property
    def feature(self) -> str:
        return {DiversionType.ALL: "cfa", DiversionType.BUSY: "cfb", DiversionType.NO_ANSWER: "cfna"}[
            self.diversion
        ]


FeatureSetting = DndSetting | DiversionSetting


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureRequest:
    """PIE 3E: the handset asks to change a feature (PP → FP)."""

    setting: FeatureSetting


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureState:
    """PIE 3F: the state the server holds for a feature (FP → PP)."""

    setting: FeatureSetting


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureAck:
    """PIE 59: the base took the request on (positive acknowledgement)."""

    feature: FeatureId
    diversion: DiversionType | None = None

    def __post_init__(self) -> None:
        if (self.feature is FeatureId.CALL_DIVERSION) != (self.diversion is not None):
            raise ValueError("an acknowledgement names a diversion type exactly for feature 22")


@dataclass(frozen=True, slots=True, kw_only=True)
class Pin:
    """PIE 50: the registration PIN typed on the handset (PP → FP)."""

    pin: str

    def __post_init__(self) -> None:
        if not (4 <= len(self.pin) <= 8 and self.pin.isascii() and self.pin.isdigit()):
            raise ValueError(f"a PIN is 4 to 8 digits, not {self.pin!r}")


Pie = FeatureRequest | FeatureState | FeatureAck | Pin


def _invalid(message: str) -> RemoteProtocolError:
    return RemoteProtocolError(message, reason=REASON_INVALID_IE_CONTENTS, ie="ESCAPE-TO-PROPRIETARY")


def _state(value: int) -> bool:
    if value not in (0, 1):
        raise _invalid(f"feature state {value:#04x} is neither 0 (off) nor 1 (on)")
    return value == 1


def _known(value: Any, what: str) -> str:
    if isinstance(value, int) and not isinstance(value, str):
        raise _invalid(f"unknown {what} {int(value):#04x}")
    return str(value)


def _setting_from(data: bytes) -> FeatureSetting:
    if data and data[0] not in FeatureId._value2member_map_:
        raise _invalid(f"unknown feature id {data[0]:#04x}")  # before construct's Switch reports a bare Error
    parsed = FEATURE.parse(data)
    feature = _known(parsed.feature, "feature id")
    if feature == "DND":
        return DndSetting(active=_state(parsed.body.state))
    diversion = DiversionType[_known(parsed.body.type, "diversion type")]
    target = bytes(parsed.body.target)
    if any(octet > 0x7F for octet in target):
        raise _invalid("diversion target is not DECT IA5")
    try:
        return DiversionSetting(
            diversion=diversion,
            active=_state(parsed.body.state),
            target=target.decode("ascii"),
            rings=parsed.body.rings,
        )
    except ValueError as err:
        raise _invalid(str(err)) from None


def _setting_data(setting: FeatureSetting) -> bytes:
    if isinstance(setting, DndSetting):
        return bytes(FEATURE.build({"feature": "DND", "body": {"state": int(setting.active)}}))
    body = {
        "type": int(setting.diversion),
        "state": int(setting.active),
        "rings": setting.rings,
        "target": setting.target.encode("ascii"),
    }
    return bytes(FEATURE.build({"feature": "CALL_DIVERSION", "body": body}))


def _pie_from(pie_id: str, data: bytes) -> Pie:
    if pie_id == "FEATURE_REQUEST":
        return FeatureRequest(setting=_setting_from(data))
    if pie_id == "FEATURE_STATE":
        return FeatureState(setting=_setting_from(data))
    if pie_id == "ACK":
        parsed = ACK.parse(data)
        feature = FeatureId[_known(parsed.feature, "feature id")]
        diversion = (
            DiversionType[_known(parsed.body.type, "diversion type")] if "type" in parsed.body else None
        )
        return FeatureAck(feature=feature, diversion=diversion)
    try:
        return Pin(pin=data.decode("ascii"))
    except (UnicodeDecodeError, ValueError) as err:
        raise _invalid(str(err)) from None


def decode_pies(escape: EscapeToProprietary) -> tuple[Pie, ...]:
    """The PIEs of an escape under EMC 0002; `RemoteProtocolError` (reason 04) if they do not decode."""
    if escape.emc != EMC_GIGASET:
        raise _invalid(f"EMC {escape.emc:04X} is not this project's proprietary encoding (0002)")
    return _decode_pie_list(escape.data)


# Like the IE codings in dect.codec, PIE codings are pure functions of immutable values and repeat
# across handsets (every handset is told "DND off" after it powers on): memoised. Failures raise
# and are not cached.
@functools.lru_cache(maxsize=1024)
def _decode_pie_list(data: bytes) -> tuple[Pie, ...]:
    try:
        parsed = PIE_LIST.parse(data)
        pies = tuple(_pie_from(_known(item.id, "PIE id"), bytes(item.data)) for item in parsed.pies)
    except (ConstructError, struct.error) as err:
        raise _invalid(
            f"proprietary content {data.hex(' ')} does not decode ({type(err).__name__})"
        ) from None
    if not pies:
        raise _invalid("no proprietary element under EMC 0002")
    return pies


def _pie_octets(pie: Pie) -> tuple[str, bytes]:
    if isinstance(pie, FeatureRequest):
        return "FEATURE_REQUEST", _setting_data(pie.setting)
    if isinstance(pie, FeatureState):
        return "FEATURE_STATE", _setting_data(pie.setting)
    if isinstance(pie, FeatureAck):
        body = {"type": int(pie.diversion)} if pie.diversion is not None else {}
        return "ACK", bytes(ACK.build({"feature": pie.feature.name, "body": body}))
    return "PIN", pie.pin.encode("ascii")


def encode_pies(*pies: Pie) -> EscapeToProprietary:
    """The ESCAPE-TO-PROPRIETARY IE (EMC 0002) carrying these PIEs."""
    return _encode_pie_list(pies)


@functools.lru_cache(maxsize=1024)
def _encode_pie_list(pies: tuple[Pie, ...]) -> EscapeToProprietary:
    items = []
    for pie in pies:
        pie_id, data = _pie_octets(pie)
        items.append({"id": pie_id, "data": data})
    return EscapeToProprietary(emc=EMC_GIGASET, data=bytes(PIE_LIST.build({"pies": items})))


def clear_caches() -> None:
    """Forget memoised PIE codings (for cold-path benchmarks and tests)."""
    _decode_pie_list.cache_clear()
    _encode_pie_list.cache_clear()


def _setting_fields(setting: FeatureSetting) -> dict[str, Any]:
    if isinstance(setting, DndSetting):
        return {"feature": "dnd", "active": setting.active}
    out: dict[str, Any] = {"feature": setting.feature, "active": setting.active, "target": setting.target}
    if setting.diversion is DiversionType.NO_ANSWER:
        out["rings"] = setting.rings
    return out


def describe_escape(escape: EscapeToProprietary) -> dict[str, Any]:
    """JSON fields for `fksim dect decode`: the project's PIEs when the EMC is 0002."""
    if escape.emc != EMC_GIGASET:
        return {}
    out: list[dict[str, Any]] = []
    for pie in decode_pies(escape):
        if isinstance(pie, FeatureRequest):
            out.append({"pie": "feature-request", **_setting_fields(pie.setting)})
        elif isinstance(pie, FeatureState):
            out.append({"pie": "feature-state", **_setting_fields(pie.setting)})
        elif isinstance(pie, FeatureAck):
            ack: dict[str, Any] = {"pie": "ack", "feature": pie.feature.name.lower()}
            if pie.diversion is not None:
                ack["diversion"] = pie.diversion.name.lower()
            out.append(ack)
        else:
            out.append({"pie": "pin", "pin": pie.pin})
    return {"proprietary": out}
