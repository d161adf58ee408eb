"""The S-format NWK message codec (EN 300 175-5 §7.2–§7.5): bytes <-> `NwkMessage`, nothing else.

Framing: octet 1 is TI flag (bit 8), transaction value (bits 7-5) and protocol discriminator (bits 4-1),
octet 2 the message type (bit 8 = 0), then the information elements in the order of the message's
table (EN 300 175-5 §6.3 / §6.4). An IE whose first octet has bit 8 = 1 is fixed length: a double-octet
element when bits 7-5 are 110 (`E0`–`EF`), else a single octet (§7.5.2); otherwise octet 2 is the
length of the content (§7.5.4).

The tables in `MESSAGES` list the IEs of each message this project uses, with the presence per sending
side (M mandatory, O optional, absent = not allowed from that side), in table order. The rows follow
EN 300 175-5 §6.3 as libdect's message tables (src/cc.c, ss.c, mm.c, lce.c) carry them; where
libdect admits an IE from a side fksim never sends it from (CALLED-PARTY-NUMBER from the FP in
CC-SETUP, KEYPAD from the FP in CC-INFO, ...), the row admits it too, so a real peer's message decodes.
Decoding checks
them: an unknown protocol discriminator or message type, or a message from the wrong side, is reason 01
(unexpected message); an IE running past the end or a repeated, misplaced or unknown IE is reason 04
(invalid IE contents); a missing mandatory IE is reason 03 (EN 300 175-5 §17.4). Every error is a
`RemoteProtocolError` (decoding) or `LocalProtocolError` (encoding) naming the octet offset and the IE.

Speed: IE content decoding and encoding are pure functions of immutable values, so they are memoised
(`functools.lru_cache`); a base sees the same identities, signals and displays over and over.
`clear_caches()` resets them (the benchmark reports cold and warm figures).
"""

from __future__ import annotations

import enum
import functools
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from construct import BitsInteger, BitStruct, Const, ConstructError, Flag

from dect.errors import (
    REASON_INVALID_IE_CONTENTS,
    REASON_MANDATORY_IE_MISSING,
    REASON_UNEXPECTED_MESSAGE,
    LocalProtocolError,
    RemoteProtocolError,
)
from dect.ies import (
    BasicService,
    InformationElement,
    ReleaseReason,
    SendingComplete,
    Signal,
    SingleDisplay,
    SingleKeypad,
)
from dect.ies_auth import AllocationType, AuthType, Rand, Res, Rs
from dect.ies_var import (
    CalledPartyNumber,
    CallingPartyNumber,
    EscapeToProprietary,
    EventsNotification,
    FeatureActivate,
    FeatureIndicate,
    FixedIdentity,
    InfoType,
    IwuToIwu,
    LocationArea,
    MultiDisplay,
    MultiKeypad,
    PortableIdentity,
    RejectReason,
)


class Side(enum.Enum):
    """Who sends: the portable part (handset) or the fixed part (base)."""

    PP = "PP"
    FP = "FP"


class ProtocolDiscriminator(enum.IntEnum):
    """EN 300 175-5 §7.2: the entity a message belongs to."""

    LCE = 0
    CC = 3
    CISS = 4
    MM = 5
    CLMS = 6
    COMS = 7


class MessageType(enum.Enum):
    """The messages of dect-nwk.md §1: (protocol discriminator, message type code, name)."""

    CC_SETUP = (ProtocolDiscriminator.CC, 0x05, "CC-SETUP")
    CC_CALL_PROC = (ProtocolDiscriminator.CC, 0x02, "CC-CALL-PROC")
    CC_ALERTING = (ProtocolDiscriminator.CC, 0x01, "CC-ALERTING")
    CC_CONNECT = (ProtocolDiscriminator.CC, 0x07, "CC-CONNECT")
    CC_CONNECT_ACK = (ProtocolDiscriminator.CC, 0x0F, "CC-CONNECT-ACK")
    CC_INFO = (ProtocolDiscriminator.CC, 0x7B, "CC-INFO")
    CC_IWU_INFO = (ProtocolDiscriminator.CC, 0x60, "CC-IWU-INFO")
    CC_RELEASE = (ProtocolDiscriminator.CC, 0x4D, "CC-RELEASE")
    CC_RELEASE_COM = (ProtocolDiscriminator.CC, 0x5A, "CC-RELEASE-COM")
    CISS_REGISTER = (ProtocolDiscriminator.CISS, 0x64, "CISS-REGISTER")
    FACILITY = (ProtocolDiscriminator.CISS, 0x62, "FACILITY")
    CISS_RELEASE_COM = (ProtocolDiscriminator.CISS, 0x5A, "CISS-RELEASE-COM")
    LCE_PAGE_RESPONSE = (ProtocolDiscriminator.LCE, 0x71, "LCE-PAGE-RESPONSE")
    LCE_PAGE_REJECT = (ProtocolDiscriminator.LCE, 0x72, "LCE-PAGE-REJECT")
    AUTHENTICATION_REQUEST = (ProtocolDiscriminator.MM, 0x40, "AUTHENTICATION-REQUEST")
    AUTHENTICATION_REPLY = (ProtocolDiscriminator.MM, 0x41, "AUTHENTICATION-REPLY")
    KEY_ALLOCATE = (ProtocolDiscriminator.MM, 0x42, "KEY-ALLOCATE")
    AUTHENTICATION_REJECT = (ProtocolDiscriminator.MM, 0x43, "AUTHENTICATION-REJECT")
    ACCESS_RIGHTS_REQUEST = (ProtocolDiscriminator.MM, 0x44, "ACCESS-RIGHTS-REQUEST")
    ACCESS_RIGHTS_ACCEPT = (ProtocolDiscriminator.MM, 0x45, "ACCESS-RIGHTS-ACCEPT")
    ACCESS_RIGHTS_REJECT = (ProtocolDiscriminator.MM, 0x47, "ACCESS-RIGHTS-REJECT")
    LOCATE_REQUEST = (ProtocolDiscriminator.MM, 0x54, "LOCATE-REQUEST")
    LOCATE_ACCEPT = (ProtocolDiscriminator.MM, 0x55, "LOCATE-ACCEPT")
    LOCATE_REJECT = (ProtocolDiscriminator.MM, 0x57, "LOCATE-REJECT")
    INFO_SUGGEST = (ProtocolDiscriminator.MM, 0x52, "INFO-SUGGEST")

    @property
    def pd(self) -> ProtocolDiscriminator:
        return self.value[0]

    @property
    def code(self) -> int:
        return self.value[1]

    @property
    def label(self) -> str:
        """The name as dect-nwk.md §1 and the result format spell it (`CC-SETUP`)."""
        return self.value[2]


_BY_CODE: dict[tuple[int, int], MessageType] = {(m.pd, m.code): m for m in MessageType}

M, O = "M", "O"  # noqa: E741 - the presence letters of the standard's message tables
_IE = type[InformationElement]
# (IE, presence when the PP sends, presence when the FP sends); None = not allowed from that side.
_Row = tuple[_IE, str | None, str | None]
_TRAILER: tuple[_Row, ...] = ((IwuToIwu, O, O), (EscapeToProprietary, O, O))


@dataclass(frozen=True, slots=True)
class MessageSpec:
    """One message table: who may send it and its IEs in order.

    `clause` names the part of EN 300 175-5 §6.3 holding the message's table; the IE rows list only the
    IEs this project models, in the standard's order, with the presence the project uses (PORTABLE-
    IDENTITY is mandatory in a handset's CISS-REGISTER here, so the base knows who asks).
    """

    clause: str
    senders: frozenset[Side]
    rows: tuple[_Row, ...]


_BOTH = frozenset({Side.PP, Side.FP})
_PP = frozenset({Side.PP})
_FP = frozenset({Side.FP})

MESSAGES: dict[MessageType, MessageSpec] = {
    MessageType.CC_SETUP: MessageSpec("§6.3 CC messages", _BOTH, (
        (PortableIdentity, M, M), (FixedIdentity, M, M), (BasicService, M, M),
        (SingleDisplay, None, O), (MultiDisplay, None, O), (SingleKeypad, O, None), (MultiKeypad, O, None),
        (Signal, None, O), (FeatureActivate, O, None), (FeatureIndicate, None, O),
        (CallingPartyNumber, O, O), (CalledPartyNumber, O, O), (SendingComplete, O, O), *_TRAILER)),
    MessageType.CC_INFO: MessageSpec("§6.3 CC messages", _BOTH, (
        (SingleDisplay, None, O), (MultiDisplay, None, O), (SingleKeypad, O, O), (MultiKeypad, O, O),
        (Signal, None, O), (FeatureActivate, O, None), (FeatureIndicate, None, O),
        (EventsNotification, None, O), (CalledPartyNumber, O, O), (SendingComplete, O, O), *_TRAILER)),
    MessageType.CC_CALL_PROC: MessageSpec("§6.3 CC messages", _FP, (
        (MultiDisplay, None, O), (Signal, None, O), (FeatureIndicate, None, O), *_TRAILER)),
    MessageType.CC_ALERTING: MessageSpec("§6.3 CC messages", _BOTH, (
        (MultiDisplay, None, O), (Signal, None, O), (FeatureIndicate, None, O), *_TRAILER)),
    MessageType.CC_CONNECT: MessageSpec("§6.3 CC messages", _BOTH, (
        (MultiDisplay, None, O), (Signal, None, O), (FeatureIndicate, None, O), *_TRAILER)),
    MessageType.CC_CONNECT_ACK: MessageSpec("§6.3 CC messages", _BOTH, (
        (MultiDisplay, None, O), (FeatureIndicate, None, O), *_TRAILER)),
    MessageType.CC_RELEASE: MessageSpec("§6.3 CC messages", _BOTH, (
        (ReleaseReason, O, O), (MultiDisplay, None, O), (FeatureIndicate, None, O), *_TRAILER)),
    MessageType.CC_RELEASE_COM: MessageSpec("§6.3 CC messages", _BOTH, (
        (ReleaseReason, O, O), (MultiDisplay, None, O), (FeatureIndicate, None, O), *_TRAILER)),
    MessageType.CC_IWU_INFO: MessageSpec("§6.3 CC messages", _BOTH, (
        (PortableIdentity, O, O), (CalledPartyNumber, O, O), *_TRAILER)),
    MessageType.CISS_REGISTER: MessageSpec("§6.3 CISS messages", _BOTH, (
        (PortableIdentity, M, O), (MultiDisplay, None, O), (MultiKeypad, O, None),
        (FeatureActivate, O, None), (FeatureIndicate, None, O), *_TRAILER)),
    # No SIGNAL in a CISS FACILITY (EN 300 175-5 §6.3.3; libdect's ciss_facility table agrees), and
    # EVENTS-NOTIFICATION after IWU-TO-IWU and ESCAPE-TO-PROPRIETARY, from either side, as there.
    MessageType.FACILITY: MessageSpec("§6.3 CISS messages", _BOTH, (
        (MultiDisplay, None, O), (MultiKeypad, O, None), (FeatureActivate, O, None),
        (FeatureIndicate, None, O), *_TRAILER, (EventsNotification, O, O))),
    MessageType.CISS_RELEASE_COM: MessageSpec("§6.3 CISS messages", _BOTH, (
        (ReleaseReason, O, O), (MultiDisplay, None, O), (FeatureIndicate, None, O), *_TRAILER)),
    MessageType.LCE_PAGE_RESPONSE: MessageSpec("§6.3 LCE messages", _PP, (
        (PortableIdentity, M, None), (FixedIdentity, O, None), *_TRAILER)),
    MessageType.LCE_PAGE_REJECT: MessageSpec("§6.3 LCE messages", _FP, (
        (PortableIdentity, None, O), (RejectReason, None, O), *_TRAILER)),
    # Authentication and key allocation (EN 300 175-5 §6.3.6; libdect's mm.c tables).
    MessageType.AUTHENTICATION_REQUEST: MessageSpec("§6.3 MM messages", _BOTH, (
        (AuthType, M, M), (Rand, M, M), (Res, O, None), (Rs, None, O), *_TRAILER)),
    MessageType.AUTHENTICATION_REPLY: MessageSpec("§6.3 MM messages", _BOTH, (
        (Res, M, M), (Rs, None, O), *_TRAILER)),
    MessageType.KEY_ALLOCATE: MessageSpec("§6.3 MM messages", _FP, (
        (AllocationType, None, M), (Rand, None, M), (Rs, None, M), *_TRAILER)),
    MessageType.AUTHENTICATION_REJECT: MessageSpec("§6.3 MM messages", _BOTH, (
        (AuthType, O, O), (RejectReason, O, O), *_TRAILER)),
    MessageType.ACCESS_RIGHTS_REQUEST: MessageSpec("§6.3 MM messages", _PP, (
        (PortableIdentity, M, None), *_TRAILER)),
    MessageType.ACCESS_RIGHTS_ACCEPT: MessageSpec("§6.3 MM messages", _FP, (
        (PortableIdentity, None, M), (FixedIdentity, None, M), *_TRAILER)),
    MessageType.ACCESS_RIGHTS_REJECT: MessageSpec("§6.3 MM messages", _FP, (
        (RejectReason, None, O), *_TRAILER)),
    MessageType.LOCATE_REQUEST: MessageSpec("§6.3 MM messages", _PP, (
        (PortableIdentity, M, None), (FixedIdentity, O, None), (LocationArea, O, None), *_TRAILER)),
    MessageType.LOCATE_ACCEPT: MessageSpec("§6.3 MM messages", _FP, (
        (PortableIdentity, None, M), (LocationArea, None, M), *_TRAILER)),
    MessageType.LOCATE_REJECT: MessageSpec("§6.3 MM messages", _FP, (
        (RejectReason, None, O), *_TRAILER)),
    MessageType.INFO_SUGGEST: MessageSpec("§6.3 MM messages", _FP, (
        (InfoType, None, M), (FixedIdentity, None, O), (LocationArea, None, O), *_TRAILER)),
}  # fmt: skip

IE_TYPES: dict[int, _IE] = {
    cls.IE_ID: cls
    for cls in (
        SendingComplete, BasicService, ReleaseReason, Signal, SingleDisplay, SingleKeypad, InfoType,
        PortableIdentity, FixedIdentity, LocationArea, MultiDisplay, MultiKeypad, FeatureActivate,
        FeatureIndicate, RejectReason, CalledPartyNumber, CallingPartyNumber, IwuToIwu, EscapeToProprietary,
        EventsNotification, AllocationType, AuthType, Rand, Res, Rs,
    )
}  # fmt: skip


def ie_name(ie_id: int) -> str:
    cls = IE_TYPES.get(ie_id)
    return cls.NAME if cls else f"IE {ie_id:02X}"


_I = TypeVar("_I", bound=InformationElement)


@dataclass(frozen=True, slots=True, kw_only=True)
class NwkMessage:
    """One S-format NWK message: transaction identifier, message type and its IEs in table order."""

    message_type: MessageType
    tv: int = 0
    ti_flag: bool = False  # False: sent by the side that started the transaction (EN 300 175-5 §7.3)
    ies: tuple[InformationElement, ...] = field(default=())

    @property
    def pd(self) -> ProtocolDiscriminator:
        return self.message_type.pd

    @property
    def name(self) -> str:
        return self.message_type.label

    def get(self, kind: type[_I]) -> _I | None:
        """The IE of that type, or None."""
        for ie in self.ies:
            if type(ie) is kind:
                return ie
        return None


@functools.cache   # one entry per message type
def _ie_order(message_type: MessageType) -> dict[type[InformationElement], int]:
    """Where each IE type stands in the message's table (EN 300 175-5 §6.3)."""
    return {row[0]: index for index, row in enumerate(MESSAGES[message_type].rows)}


def message(
    message_type: MessageType, *ies: InformationElement | None, tv: int = 0, ti_flag: bool = False
) -> NwkMessage:
    """Build a message from IEs given in any order (None skipped); they are put in table order."""
    order = _ie_order(message_type)
    present = [ie for ie in ies if ie is not None]
    present.sort(key=lambda ie: order.get(type(ie), len(order)))
    return NwkMessage(message_type=message_type, tv=tv, ti_flag=ti_flag, ies=tuple(present))


# ------------------------------------------------------------------------------------------- header

HEADER = (
    BitStruct(
        "ti_flag" / Flag,
        "tv" / BitsInteger(3),
        "pd" / BitsInteger(4),
        Const(0, BitsInteger(1)),
        "message_type" / BitsInteger(7),
    )
    * "EN 300 175-5 §7.2/§7.3/§7.4: TI flag, TV, protocol discriminator, 0, message type"
)
_HEADER = HEADER.compile()
#: Transaction value 7 announces a TI extension octet (EN 300 175-5 §7.3), not used by GAP equipment.
TV_EXTENSION = 7
# Single-octet elements with bits 7-5 = 110 are double-octet elements (EN 300 175-5 §7.5.2).
_DOUBLE_MASK, _DOUBLE_BITS = 0xF0, 0xE0
_FIXED = 0x80


@functools.lru_cache(maxsize=1024)
def _decode_header(octet1: int, octet2: int) -> tuple[bool, int, MessageType]:
    try:
        parsed = _HEADER.parse(bytes((octet1, octet2)))
    except (ConstructError, struct.error):
        raise RemoteProtocolError(
            f"message type octet {octet2:#04x} has bit 8 set", reason=REASON_UNEXPECTED_MESSAGE, offset=1
        ) from None
    if parsed.tv == TV_EXTENSION:
        raise RemoteProtocolError(
            "transaction value 7 (TI extension) is not supported", reason=REASON_INVALID_IE_CONTENTS, offset=0
        )
    kind = _BY_CODE.get((parsed.pd, parsed.message_type))
    if kind is None:
        pd = parsed.pd
        pd_name = (
            ProtocolDiscriminator(pd).name if pd in ProtocolDiscriminator._value2member_map_ else f"{pd}"
        )
        raise RemoteProtocolError(
            f"unknown message type {parsed.message_type:#04x} for protocol discriminator {pd_name}",
            reason=REASON_UNEXPECTED_MESSAGE,
            offset=1,
        )
    return bool(parsed.ti_flag), parsed.tv, kind


@functools.lru_cache(maxsize=1024)
def _encode_header(ti_flag: bool, tv: int, kind: MessageType) -> bytes:
    return bytes(_HEADER.build({"ti_flag": ti_flag, "tv": tv, "pd": kind.pd, "message_type": kind.code}))


@functools.lru_cache(maxsize=4096)
def _decode_ie(ie_id: int, content: bytes) -> InformationElement:
    cls = IE_TYPES.get(ie_id)
    if cls is None:
        raise RemoteProtocolError(
            f"unknown information element {ie_id:#04x}", reason=REASON_INVALID_IE_CONTENTS
        )
    return cls.from_content(content)


@functools.lru_cache(maxsize=4096)
def _encode_ie(ie: InformationElement) -> bytes:
    content = ie.content()
    if ie.IE_ID & _FIXED:
        return bytes((ie.IE_ID,)) + content
    if len(content) > 0xFF:
        raise ValueError(f"{ie.NAME} content is {len(content)} octets, more than 255")
    return bytes((ie.IE_ID, len(content))) + content


def encode_ie(ie: InformationElement) -> bytes:
    """One whole IE (identifier, length where variable, content)."""
    try:
        return _encode_ie(ie)
    except ValueError as err:
        raise LocalProtocolError(str(err), reason=REASON_INVALID_IE_CONTENTS, ie=ie.NAME) from None


def decode_ie(data: bytes) -> InformationElement:
    """Exactly one whole IE; `RemoteProtocolError` if it is cut short, unknown or followed by more octets."""
    parts = list(split_ies(bytes(data), 0))
    if len(parts) != 1:
        raise RemoteProtocolError(
            f"expected one information element, found {len(parts)}",
            reason=REASON_INVALID_IE_CONTENTS,
            offset=0,
        )
    offset, ie_id, content = parts[0]
    try:
        return _decode_ie(ie_id, content)
    except RemoteProtocolError as err:
        raise RemoteProtocolError(err.detail, reason=err.reason, offset=offset, ie=ie_name(ie_id)) from None


def clear_caches() -> None:
    """Forget memoised IE and header codings (for cold-path benchmarks and tests)."""
    for cached in (_decode_header, _encode_header, _decode_ie, _encode_ie):
        cached.cache_clear()


def split_ies(data: bytes, start: int = 2) -> Iterable[tuple[int, int, bytes]]:
    """Yield (offset, identifier, content) for each IE from `start`; raises if one runs past the end."""
    end = len(data)
    i = start
    while i < end:
        ie_id = data[i]
        if ie_id & _FIXED:
            if ie_id & _DOUBLE_MASK == _DOUBLE_BITS:
                if i + 2 > end:
                    raise RemoteProtocolError(
                        "double-octet element runs past the end", reason=REASON_INVALID_IE_CONTENTS,
                        offset=i, ie=ie_name(ie_id),
                    )  # fmt: skip
                yield i, ie_id, data[i + 1 : i + 2]
                i += 2
            else:
                yield i, ie_id, b""
                i += 1
            continue
        if i + 2 > end:
            raise RemoteProtocolError(
                "length octet missing", reason=REASON_INVALID_IE_CONTENTS, offset=i, ie=ie_name(ie_id)
            )
        length = data[i + 1]
        if i + 2 + length > end:
            raise RemoteProtocolError(
                f"length {length} runs past the end of the message ({end - i - 2} octets left)",
                reason=REASON_INVALID_IE_CONTENTS, offset=i, ie=ie_name(ie_id),
            )  # fmt: skip
        yield i, ie_id, data[i + 2 : i + 2 + length]
        i += 2 + length


def _presence(row: _Row, sender: Side | None) -> str | None:
    if sender is Side.PP:
        return row[1]
    if sender is Side.FP:
        return row[2]
    # Side unknown (an engineer's capture): allowed if either side may send it, mandatory if both must.
    if row[1] is None and row[2] is None:
        return None
    return M if row[1] == M and row[2] == M else O


@functools.cache   # one entry per message type and sender
def _presences(kind: MessageType, sender: Side | None) -> tuple[str | None, ...]:
    """Each row's presence for that sender, in table order (computed once, not per IE)."""
    return tuple(_presence(row, sender) for row in MESSAGES[kind].rows)


@functools.cache
def _mandatory(kind: MessageType, sender: Side | None) -> tuple[frozenset[_IE], tuple[_IE, ...]]:
    """The IE types mandatory for that sender: as a set (the check) and in table order (the error)."""
    pairs = zip(MESSAGES[kind].rows, _presences(kind, sender), strict=True)
    ordered = tuple(row[0] for row, presence in pairs if presence == M)
    return frozenset(ordered), ordered


def decode(data: bytes, *, sender: Side | None = None, require_mandatory: bool = True) -> NwkMessage:
    """Decode one S-format message. Raises `RemoteProtocolError` (with reason, offset, IE) on bad bytes.

    `require_mandatory=False` lets a message without a mandatory IE through (for looking at captured
    bytes, `describe`); protocol endpoints keep the default and answer such a message with reason 03.
    """
    data = bytes(data)
    if len(data) < 2:
        raise RemoteProtocolError(
            f"a message needs at least 2 octets (TI/PD, message type), got {len(data)}",
            reason=REASON_UNEXPECTED_MESSAGE, offset=len(data),
        )  # fmt: skip
    ti_flag, tv, kind = _decode_header(data[0], data[1])
    spec = MESSAGES[kind]
    if sender is not None and sender not in spec.senders:
        raise RemoteProtocolError(
            f"{kind.label} is not sent by the {sender.value}", reason=REASON_UNEXPECTED_MESSAGE, offset=1
        )
    rows = spec.rows
    presences = _presences(kind, sender)
    position = 0
    ies: list[InformationElement] = []
    for offset, ie_id, content in split_ies(data):
        cls = IE_TYPES.get(ie_id)
        # IEs appear in table order, each at most once (EN 300 175-5 §7.5.1, §17.4.2).
        while position < len(rows) and rows[position][0] is not cls:
            position += 1
        if position == len(rows) or presences[position] is None:
            raise RemoteProtocolError(
                f"not expected here in {kind.label} (unknown, repeated, out of order or from the wrong side)",
                reason=REASON_INVALID_IE_CONTENTS, offset=offset, ie=ie_name(ie_id),
            )  # fmt: skip
        try:
            ies.append(_decode_ie(ie_id, content))
        except RemoteProtocolError as err:
            raise RemoteProtocolError(
                err.detail, reason=err.reason, offset=offset, ie=ie_name(ie_id)
            ) from None
        position += 1
    if require_mandatory:
        _check_mandatory(kind, ies, sender, len(data), RemoteProtocolError)
    return NwkMessage(message_type=kind, tv=tv, ti_flag=ti_flag, ies=tuple(ies))


def missing_mandatory(msg: NwkMessage, sender: Side | None = None) -> list[str]:
    """Names of the IEs the message's table makes mandatory (for that sender) that `msg` lacks."""
    present = {type(ie) for ie in msg.ies}
    rows = MESSAGES[msg.message_type].rows
    return [row[0].NAME for row in rows if _presence(row, sender) == M and row[0] not in present]


def _check_mandatory(
    kind: MessageType, ies: list[InformationElement] | tuple[InformationElement, ...], sender: Side | None,
    offset: int | None, error: type[RemoteProtocolError] | type[LocalProtocolError],
) -> None:  # fmt: skip
    required, ordered = _mandatory(kind, sender)
    if not required:
        return
    present = {type(ie) for ie in ies}
    if required <= present:
        return
    missing = next(cls for cls in ordered if cls not in present)
    raise error(
        f"mandatory {missing.NAME} missing from {kind.label}",
        reason=REASON_MANDATORY_IE_MISSING, offset=offset, ie=missing.NAME,
    )  # fmt: skip


def encode(msg: NwkMessage, *, sender: Side | None = None) -> bytes:
    """Encode one message; raises `LocalProtocolError` if it breaks its table (order, presence, side)."""
    kind = msg.message_type
    spec = MESSAGES[kind]
    if sender is not None and sender not in spec.senders:
        raise LocalProtocolError(
            f"{kind.label} is not sent by the {sender.value}", reason=REASON_UNEXPECTED_MESSAGE
        )
    if not 0 <= msg.tv < TV_EXTENSION:
        raise LocalProtocolError(
            f"transaction value {msg.tv} is out of range 0..6", reason=REASON_INVALID_IE_CONTENTS
        )
    rows = spec.rows
    presences = _presences(kind, sender)
    position = 0
    parts = [_encode_header(msg.ti_flag, msg.tv, kind)]
    for ie in msg.ies:
        while position < len(rows) and rows[position][0] is not type(ie):
            position += 1
        if position == len(rows) or presences[position] is None:
            raise LocalProtocolError(
                f"{ie.NAME} is not allowed here in {kind.label} (repeated, out of order or wrong side)",
                reason=REASON_INVALID_IE_CONTENTS, ie=ie.NAME,
            )  # fmt: skip
        try:
            parts.append(_encode_ie(ie))
        except ValueError as err:
            raise LocalProtocolError(str(err), reason=REASON_INVALID_IE_CONTENTS, ie=ie.NAME) from None
        position += 1
    _check_mandatory(kind, msg.ies, sender, None, LocalProtocolError)
    return b"".join(parts)


def describe(data: bytes, *, sender: Side | None = None) -> dict[str, Any]:
    """The decoded message as the JSON of scenarios-and-cli.md §4 (hex, pd, ti_flag, tv, message, ies).

    An engineer's view of captured bytes: a missing mandatory IE does not stop it (the contract's own
    example is a CC-SETUP without FIXED-IDENTITY); `missing_mandatory` tells which ones are missing.
    """
    from dect.proprietary import describe_escape

    data = bytes(data)
    msg = decode(data, sender=sender, require_mandatory=False)
    offsets = [offset for offset, _, _ in split_ies(data)]
    ies: list[dict[str, Any]] = []
    for offset, ie in zip(offsets, msg.ies, strict=True):
        entry: dict[str, Any] = {"name": ie.NAME, "id": f"{ie.IE_ID:02X}", **ie.fields()}
        if isinstance(ie, EscapeToProprietary):
            try:
                entry.update(describe_escape(ie))
            except RemoteProtocolError as err:
                raise RemoteProtocolError(err.detail, reason=err.reason, offset=offset, ie=ie.NAME) from None
        ies.append(entry)
    return {
        "hex": data.hex(" ").upper(),
        "pd": msg.pd.name,
        "ti_flag": int(msg.ti_flag),
        "tv": msg.tv,
        "message": msg.name,
        "ies": ies,
    }
