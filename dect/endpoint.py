"""The base's DECT NWK endpoint (fixed part), sans I/O: handset bytes in, events and base bytes out.

Theory of operation. `receive(link, data, now)` decodes what a handset sent (sender PP) and:

- answers MM requests at once from the `AccessPolicy` the firmware passes in (the firmware owns the
  registration table): LOCATE-REQUEST -> LOCATE-ACCEPT / -REJECT (IPUI unknown); ACCESS-RIGHTS-REQUEST
  (PIN in this project's escape, dect.proprietary) -> ACCESS-RIGHTS-ACCEPT / -REJECT (wrong PIN, full);
- opens a transaction for a CISS-REGISTER carrying a feature request (event `FeatureRequested`) or a
  CC-SETUP with dialled digits (CC-CALL-PROC sent, event `FacDialled`); the firmware decides and calls
  `accept_feature` / `reject_feature` / `complete_call`;
- answers bytes that do not decode with the RELEASE-REASON the error carries (EN 300 175-5 §17: 04
  invalid contents, 03 mandatory IE missing, 01 unexpected message) where a reply exists, reports
  `ProtocolErrorReceived`, and keeps running.

Transactions (EN 300 175-5 §7.3): a handset-initiated transaction is named by the link, the protocol
discriminator and the handset's transaction value; the base replies with the TI flag set. Each one is
a row in `_TRANSITIONS`, `(kind, state, input) -> (action, next state)`; an input with no row is an
unexpected message, answered with RELEASE-REASON 01. A transaction waiting for the firmware carries a
deadline of CC.03 (20 s; dect-nwk.md §4 uses CC.03 for CISS too, a choice); a connected FAC call one of
CC.04 (100 s). `next_deadline()` reports the earliest, `handle_timer(now)` releases expired ones with
RELEASE-REASON 0D.

Indications go from the base to the handset in a base-initiated CISS FACILITY (one message, TI flag 0,
the base's own rotating transaction value): `indicate_feature_state` puts the feature state (this
project's PIE 3F), the display text and SIGNAL 05 (confirm) or 09 (negative acknowledgement).
Everything to send is queued; the driver collects it with `take_outgoing()`.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from dect.codec import MessageType, NwkMessage, ProtocolDiscriminator, Side, decode, encode, message
from dect.errors import DectError, ProtocolError, RemoteProtocolError
from dect.events import (
    BaseEvent,
    CallReleased,
    FacDialled,
    FeatureRequested,
    IndicationDelivered,
    Link,
    ProtocolErrorReceived,
    TransactionRef,
    TransactionTimedOut,
    Transmission,
)
from dect.fp_calls import IncomingCalls
from dect.fp_mm import MobilityManagement, counter_random
from dect.identity import Ipui
from dect.ies import (
    FeatureCode,
    FeatureStatus,
    InformationElement,
    RejectReasonCode,
    ReleaseReason,
    ReleaseReasonCode,
    Signal,
    SignalValue,
)
from dect.ies_var import (
    CalledPartyNumber,
    EscapeToProprietary,
    FeatureIndicate,
    FixedIdentity,
    LocationArea,
    MultiDisplay,
    MultiKeypad,
    PortableIdentity,
    RejectReason,
)
from dect.paging import Pager
from dect.proprietary import (
    DiversionSetting,
    FeatureAck,
    FeatureId,
    FeatureRequest,
    FeatureSetting,
    FeatureState,
    decode_pies,
    encode_pies,
)

#: Supervision timers, seconds (dect-nwk.md §4).
CC_03 = 20.0
CC_04 = 100.0
_RELEASE_COM = 0x5A  # CC-RELEASE-COM and CISS-RELEASE-COM share the code: never answer one
_MM_REQUESTS = {0x54: MessageType.LOCATE_REJECT, 0x44: MessageType.ACCESS_RIGHTS_REJECT}
#: How a protocol error's RELEASE-REASON reads as an MM REJECT-REASON (EN 300 175-5 §7.7.34).
_REJECT_FOR_RELEASE = {
    0x01: RejectReasonCode.INVALID_MESSAGE,
    0x03: RejectReasonCode.INFORMATION_ELEMENT_ERROR,
    0x04: RejectReasonCode.INVALID_INFORMATION_ELEMENT_CONTENTS,
}


#: The messages of a feature indication (the base's CISS transaction).
_INDICATION = frozenset({"CISS-REGISTER", "FACILITY"})


class AccessPolicy(Protocol):
    """The firmware's registration decisions and keys, asked synchronously by the endpoint."""

    def is_registered(self, ipui: Ipui) -> bool: ...

    def grant_access(self, ipui: Ipui, pin: str | None) -> RejectReasonCode | None:
        """None to accept (and record) the handset, or the reject reason."""
        ...

    def authentication_code(self, ipui: Ipui) -> str | None:
        """The PIN a handset must prove it knows to register (None: it cannot register now)."""
        ...

    def uak(self, ipui: Ipui) -> bytes | None:
        """The handset's user authentication key, when key allocation gave it one."""
        ...

    def store_uak(self, ipui: Ipui, uak: bytes) -> None: ...


@dataclass
class RegistrationTable:
    """A small `AccessPolicy`: registered IPUIs, the system PIN and the DECT manager's capacity."""

    pin: str = "0000"
    capacity: int = 250
    registered: set[Ipui] = field(default_factory=set)
    registration_open: bool = True
    uaks: dict[Ipui, bytes] = field(default_factory=dict)

    def is_registered(self, ipui: Ipui) -> bool:
        return ipui in self.registered

    def authentication_code(self, ipui: Ipui) -> str | None:
        return self.pin if self.registration_open or ipui in self.registered else None

    def uak(self, ipui: Ipui) -> bytes | None:
        return self.uaks.get(ipui)

    def store_uak(self, ipui: Ipui, uak: bytes) -> None:
        self.uaks[ipui] = uak

    def grant_access(self, ipui: Ipui, pin: str | None) -> RejectReasonCode | None:
        if ipui in self.registered:
            return None
        if not self.registration_open:
            return RejectReasonCode.IPUI_NOT_ACCEPTED
        if pin != self.pin:
            return RejectReasonCode.AUTHENTICATION_FAILED
        if len(self.registered) >= self.capacity:
            return RejectReasonCode.INSUFFICIENT_MEMORY
        self.registered.add(ipui)
        return None


class TxKind(enum.Enum):
    FEATURE_REQUEST = "feature request"
    FAC_CALL = "FAC call"


class TxState(enum.Enum):
    AWAITING_DECISION = "awaiting decision"
    CONNECTED = "connected"
    RELEASED = "released"


class TxInput(enum.Enum):
    ACCEPT = "accept"
    REJECT = "reject"
    TIMER = "timer"
    PEER_RELEASE = "peer release"
    PEER_RELEASE_COM = "peer release-com"
    PEER_OTHER = "other message"


class Action(enum.Enum):
    NONE = "none"
    SEND_CONNECT = "send CC-CONNECT"
    SEND_CC_RELEASE_COM = "send CC-RELEASE-COM"
    SEND_CISS_ACCEPT = "send CISS-RELEASE-COM with acknowledgement"
    SEND_CISS_RELEASE_COM = "send CISS-RELEASE-COM with reason"


_K, _S, _I, _A = TxKind, TxState, TxInput, Action
_TRANSITIONS: dict[tuple[TxKind, TxState, TxInput], tuple[Action, TxState]] = {
    (_K.FEATURE_REQUEST, _S.AWAITING_DECISION, _I.ACCEPT): (_A.SEND_CISS_ACCEPT, _S.RELEASED),
    (_K.FEATURE_REQUEST, _S.AWAITING_DECISION, _I.REJECT): (_A.SEND_CISS_RELEASE_COM, _S.RELEASED),
    (_K.FEATURE_REQUEST, _S.AWAITING_DECISION, _I.TIMER): (_A.SEND_CISS_RELEASE_COM, _S.RELEASED),
    (_K.FEATURE_REQUEST, _S.AWAITING_DECISION, _I.PEER_RELEASE_COM): (_A.NONE, _S.RELEASED),
    (_K.FAC_CALL, _S.AWAITING_DECISION, _I.ACCEPT): (_A.SEND_CONNECT, _S.CONNECTED),
    (_K.FAC_CALL, _S.AWAITING_DECISION, _I.REJECT): (_A.SEND_CC_RELEASE_COM, _S.RELEASED),
    (_K.FAC_CALL, _S.AWAITING_DECISION, _I.TIMER): (_A.SEND_CC_RELEASE_COM, _S.RELEASED),
    (_K.FAC_CALL, _S.AWAITING_DECISION, _I.PEER_RELEASE): (_A.SEND_CC_RELEASE_COM, _S.RELEASED),
    (_K.FAC_CALL, _S.AWAITING_DECISION, _I.PEER_RELEASE_COM): (_A.NONE, _S.RELEASED),
    (_K.FAC_CALL, _S.CONNECTED, _I.PEER_RELEASE): (_A.SEND_CC_RELEASE_COM, _S.RELEASED),
    (_K.FAC_CALL, _S.CONNECTED, _I.PEER_RELEASE_COM): (_A.NONE, _S.RELEASED),
    (_K.FAC_CALL, _S.CONNECTED, _I.TIMER): (_A.SEND_CC_RELEASE_COM, _S.RELEASED),
}


@dataclass
class Transaction:
    ref: TransactionRef
    kind: TxKind
    ipui: Ipui
    state: TxState
    deadline: float | None
    first: str
    setting: FeatureSetting | None = None


#: MULTI-DISPLAY carries DECT IA5 (7-bit) characters; longer texts are cut to the IE's 255 octets.
_MAX_DISPLAY = 255


@functools.lru_cache(maxsize=256)   # a firmware has a few dozen texts; MultiDisplay is immutable
def _display(text: str) -> MultiDisplay:
    """Firmware text as a MULTI-DISPLAY: characters outside DECT IA5 become "?" (EN 300 175-5 Annex D)."""
    ia5 = "".join(ch if ord(ch) <= 0x7F else "?" for ch in text)[:_MAX_DISPLAY]
    return MultiDisplay(text=ia5 or " ")


def _ack_for(setting: FeatureSetting) -> FeatureAck:
    if isinstance(setting, DiversionSetting):
        return FeatureAck(feature=FeatureId.CALL_DIVERSION, diversion=setting.diversion)
    return FeatureAck(feature=FeatureId.DND)


class DectEndpoint:
    """The fixed part's NWK endpoint for every handset link of one DECT manager."""

    def __init__(
        self, *, policy: AccessPolicy, fixed_identity: FixedIdentity, location_area: int = 0,
        random: Callable[[int], bytes] | None = None,
    ) -> None:
        self.policy = policy
        self.fixed_identity = fixed_identity
        self.location_area = LocationArea(level=location_area)
        self.transactions: dict[TransactionRef, Transaction] = {}
        self._outgoing: list[Transmission] = []
        #: Links and paging (dect.paging): everything the base starts goes out through it.
        self.pager = Pager(self._outgoing, self._link_busy)
        #: The base's open CISS transactions of feature indications: (link, TV) -> (handset, deadline).
        self._ciss: dict[tuple[Link, int], tuple[Ipui, float]] = {}
        #: The calls the base delivers to handsets (dect.fp_calls), sent through the pager.
        self.calls = IncomingCalls(fixed_identity, self.pager.submit)
        #: Location registration, access rights and authentication (dect.fp_mm).
        self.mm = MobilityManagement(self, random or counter_random("fksim-fp"))

    # ------------------------------------------------------------------------------ sending

    def _link_busy(self, link: Link) -> bool:
        """A transaction is open on the link (a call, a request waiting for the firmware, an
        authentication)."""
        return self.mm.auth.busy(link) or any(call.link == link for call in self.calls.calls.values()) or any(
            tx.ref.link == link for tx in self.transactions.values())

    def take_outgoing(self) -> list[Transmission]:
        """Everything queued for the air since the last call, in order."""
        out = list(self._outgoing)
        self._outgoing.clear()
        return out

    def send(self, link: Link, msg: NwkMessage) -> None:
        """Send a message over the link the handset just used (for `dect.fp_mm`)."""
        self._send(link, msg)

    def reply(self, link: Link, tv: int, kind: MessageType, *ies: InformationElement | None) -> None:
        """Answer in the handset's transaction `tv` (TI flag 1; for `dect.fp_mm`)."""
        self._reply(link, tv, kind, *ies)

    def _send(self, link: Link, msg: NwkMessage) -> None:
        self._outgoing.append(Transmission(link=link, data=encode(msg, sender=Side.FP), name=msg.name))

    def _reply(self, link: Link, tv: int, kind: MessageType, *ies: InformationElement | None) -> None:
        self._send(link, message(kind, *ies, tv=tv, ti_flag=True))

    # ------------------------------------------------------------------------------ receiving

    def receive(self, link: Link, data: bytes, now: float) -> list[BaseEvent]:
        """Handle one message a handset sent on `link`; returns what the firmware should know."""
        self.pager.heard(link, now)   # whatever it sent, the handset is there: the link is up
        try:
            msg = decode(data, sender=Side.PP)
            events = self._dispatch(link, msg, bytes(data), now)
            if msg.message_type is MessageType.LOCATE_REQUEST:
                # A handset that locates is sent the state again (the firmware resynchronises it):
                # indications that waited for the page are superseded; a call's CC-SETUP goes out.
                for dropped in self.pager.flush(link, keep=lambda sent: sent.name not in _INDICATION):
                    self._ciss.pop((link, dropped.data[0] >> 4 & 0x07), None)
            else:
                self.pager.flush(link)
            return events
        except RemoteProtocolError as err:
            answered = self._answer_error(link, data, err)
            self.pager.flush(link)
            reported: list[BaseEvent] = [
                ProtocolErrorReceived(
                    link=link, data=bytes(data), reason=err.reason, detail=str(err), answered=answered
                )
            ]
            if answered and data[0] & 0x0F == ProtocolDiscriminator.CC and data[0] & 0x80:
                # A CC-RELEASE-COM went back in one of the base's own calls (TI flag 1 from the
                # handset): that call is over on both sides, the firmware must hear of it.
                reported += self.calls.abort(link, data[0] >> 4 & 0x07, ReleaseReasonCode(err.reason))
            return reported

    def _answer_error(self, link: Link, data: bytes, err: ProtocolError) -> bool:
        """Reply with the error's reason where the message type has a reply (never to a RELEASE-COM)."""
        if len(data) < 2:
            return False  # without a message type there is nothing to answer
        pd, tv, flag = data[0] & 0x0F, (data[0] >> 4) & 0x07, bool(data[0] & 0x80)
        code = data[1] & 0x7F
        if tv == 7 or code == _RELEASE_COM:
            return False
        if pd in (ProtocolDiscriminator.CC, ProtocolDiscriminator.CISS):
            self.transactions.pop(TransactionRef(link=link, pd=pd, tv=tv), None)
            kind = (
                MessageType.CC_RELEASE_COM if pd == ProtocolDiscriminator.CC else MessageType.CISS_RELEASE_COM
            )
            reason = ReleaseReason(reason=ReleaseReasonCode(err.reason))
            self._send(link, message(kind, reason, tv=tv, ti_flag=not flag))
            return True
        if pd == ProtocolDiscriminator.MM and code in _MM_REQUESTS and not flag:
            reject = _REJECT_FOR_RELEASE.get(err.reason, RejectReasonCode.INVALID_MESSAGE)
            self._reply(link, tv, _MM_REQUESTS[code], RejectReason(reason=reject))
            return True
        return False

    def _dispatch(self, link: Link, msg: NwkMessage, data: bytes, now: float) -> list[BaseEvent]:
        kind = msg.message_type
        if kind is MessageType.LCE_PAGE_RESPONSE:
            return []   # the link is up (`receive`); what waited for it has gone out
        if kind is MessageType.LOCATE_REQUEST:
            return self.mm.locate(link, msg, now)
        if kind is MessageType.ACCESS_RIGHTS_REQUEST:
            return self.mm.access_rights(link, msg, now)
        ref = TransactionRef(link=link, pd=int(msg.pd), tv=msg.tv)
        if msg.ti_flag:
            answered = self.calls.receive(link, msg, now)
            if answered is None and msg.pd is ProtocolDiscriminator.MM:
                answered = self.mm.answered(link, msg)
            if answered is not None:
                return answered
            if kind is MessageType.CISS_RELEASE_COM and (link, msg.tv) in self._ciss:
                ipui, _deadline = self._ciss.pop((link, msg.tv))
                return [IndicationDelivered(link=link, ipui=ipui)]
            # A reply inside a base-initiated transaction other than a call: the FACILITY
            # indications expect no reply; a RELEASE-COM closing one is harmless.
            if kind in (MessageType.CISS_RELEASE_COM, MessageType.CC_RELEASE_COM):
                return []
            raise RemoteProtocolError(f"{msg.name} in no transaction the base started", reason=0x01, offset=0)
        existing = self.transactions.get(ref)
        if kind in (MessageType.CISS_REGISTER, MessageType.CC_SETUP) and existing is not None:
            # The handset only reuses a free transaction value (EN 300 175-5 §7.3): it has given up on
            # the old transaction (its own timer ran out first), so the base forgets it too.
            del self.transactions[ref]
            existing = None
        if kind is MessageType.CISS_REGISTER and existing is None:
            return self._feature_request(ref, msg, data, now)
        if kind is MessageType.CC_SETUP and existing is None:
            return self._setup(ref, msg, now)
        if existing is None:
            if kind in (MessageType.CC_RELEASE_COM, MessageType.CISS_RELEASE_COM):
                return []
            if kind is MessageType.CC_RELEASE:  # EN 300 175-5 §9.3.3: a release is always completed
                self._reply(
                    link, msg.tv, MessageType.CC_RELEASE_COM, ReleaseReason(reason=ReleaseReasonCode.NORMAL)
                )
                return []
            raise RemoteProtocolError(
                f"{msg.name} for transaction value {msg.tv}, which is not in use", reason=0x02, offset=0
            )
        tx_input = {
            MessageType.CC_RELEASE: TxInput.PEER_RELEASE,
            MessageType.CC_RELEASE_COM: TxInput.PEER_RELEASE_COM,
            MessageType.CISS_RELEASE_COM: TxInput.PEER_RELEASE_COM,
        }.get(kind, TxInput.PEER_OTHER)
        reason = msg.get(ReleaseReason)
        return self._step(
            existing, tx_input, now, reason=reason.reason if reason else ReleaseReasonCode.NORMAL
        )

    def _identity(self, msg: NwkMessage) -> Ipui:
        identity = msg.get(PortableIdentity)
        if identity is None or identity.ipui is None:
            raise RemoteProtocolError(
                f"{msg.name} needs the handset's IPUI", reason=0x03, ie="PORTABLE-IDENTITY", offset=2
            )
        return identity.ipui

    def _feature_request(
        self, ref: TransactionRef, msg: NwkMessage, data: bytes, now: float
    ) -> list[BaseEvent]:
        ipui = self._identity(msg)
        escape = msg.get(EscapeToProprietary)
        requests = [pie for pie in decode_pies(escape) if isinstance(pie, FeatureRequest)] if escape else []
        if len(requests) != 1:
            reason = ReleaseReasonCode.SERVICE_NOT_IMPLEMENTED
            self._reply(ref.link, ref.tv, MessageType.CISS_RELEASE_COM, ReleaseReason(reason=reason))
            detail = f"CISS-REGISTER with {len(requests)} feature requests (this base handles exactly one)"
            return [
                ProtocolErrorReceived(link=ref.link, data=data, reason=reason, detail=detail, answered=True)
            ]
        setting = requests[0].setting
        self.transactions[ref] = Transaction(
            ref=ref, kind=TxKind.FEATURE_REQUEST, ipui=ipui, state=TxState.AWAITING_DECISION,
            deadline=now + CC_03, first=msg.name, setting=setting,
        )  # fmt: skip
        return [FeatureRequested(ref=ref, ipui=ipui, setting=setting)]

    def _setup(self, ref: TransactionRef, msg: NwkMessage, now: float) -> list[BaseEvent]:
        ipui = self._identity(msg)
        keypad = msg.get(MultiKeypad)
        number = msg.get(CalledPartyNumber)
        digits = keypad.keys if keypad else number.number if number else ""
        if not digits:
            # Voice calls are not modelled: only a dialled code (en bloc) makes sense to this base.
            reason = ReleaseReasonCode.SERVICE_NOT_IMPLEMENTED
            self._reply(ref.link, ref.tv, MessageType.CC_RELEASE_COM, ReleaseReason(reason=reason))
            return [CallReleased(ref=ref, reason=reason)]
        self.transactions[ref] = Transaction(
            ref=ref, kind=TxKind.FAC_CALL, ipui=ipui, state=TxState.AWAITING_DECISION, deadline=now + CC_03,
            first=msg.name,
        )  # fmt: skip
        self._reply(ref.link, ref.tv, MessageType.CC_CALL_PROC)
        return [FacDialled(ref=ref, ipui=ipui, digits=digits)]

    # --------------------------------------------------------------------- the state machine

    def _step(
        self, tx: Transaction, tx_input: TxInput, now: float, *, display: str | None = None,
        reason: ReleaseReasonCode = ReleaseReasonCode.NORMAL,
    ) -> list[BaseEvent]:  # fmt: skip
        row = _TRANSITIONS.get((tx.kind, tx.state, tx_input))
        if row is None:
            if tx_input in (TxInput.ACCEPT, TxInput.REJECT):
                raise DectError(
                    f"{tx.kind.value} {tx.ref.tv} on {tx.ref.link} is {tx.state.value}: "
                    f"cannot {tx_input.value}"
                )
            raise RemoteProtocolError(
                f"unexpected message in a {tx.state.value} {tx.kind.value}", reason=0x01
            )
        action, next_state = row
        tx.state = next_state
        events: list[BaseEvent] = []
        text = _display(display) if display else None
        ref = tx.ref
        if action is Action.SEND_CONNECT:
            self._reply(
                ref.link, ref.tv, MessageType.CC_CONNECT, text, Signal(value=SignalValue.CONFIRM_TONE_ON)
            )
        elif action is Action.SEND_CC_RELEASE_COM:
            self._reply(ref.link, ref.tv, MessageType.CC_RELEASE_COM, ReleaseReason(reason=reason), text)
        elif action is Action.SEND_CISS_ACCEPT:
            assert tx.setting is not None
            self._reply(
                ref.link, ref.tv, MessageType.CISS_RELEASE_COM, text, encode_pies(_ack_for(tx.setting))
            )
        elif action is Action.SEND_CISS_RELEASE_COM:
            self._reply(ref.link, ref.tv, MessageType.CISS_RELEASE_COM, ReleaseReason(reason=reason), text)
        if tx_input is TxInput.TIMER:
            events.append(TransactionTimedOut(ref=ref, message=tx.first))
        if next_state is TxState.RELEASED:
            del self.transactions[ref]
            if tx.kind is TxKind.FAC_CALL:
                events.append(CallReleased(ref=ref, reason=reason))
        else:
            tx.deadline = now + CC_04
        return events

    def _transaction(self, ref: TransactionRef, kind: TxKind) -> Transaction | None:
        """The open transaction `ref` names, or None when it is gone (timer expired, handset released).

        A decision arriving after that is normal (the SIP round trip can outlast CC.03) and is ignored;
        asking the wrong kind of transaction is a bug on the caller's side.
        """
        tx = self.transactions.get(ref)
        if tx is not None and tx.kind is not kind:
            raise DectError(
                f"transaction value {ref.tv} on {ref.link} is a {tx.kind.value}, not a {kind.value}"
            )
        return tx

    # ----------------------------------------------------------------- firmware decisions

    def accept_feature(
        self, ref: TransactionRef, now: float, *, display: str | None = None
    ) -> list[BaseEvent]:
        """The firmware took the feature request on: CISS-RELEASE-COM with the acknowledgement (PIE 59).

        Ignored (returns []) if the transaction has already ended.
        """
        tx = self._transaction(ref, TxKind.FEATURE_REQUEST)
        return self._step(tx, TxInput.ACCEPT, now, display=display) if tx else []

    def reject_feature(
        self, ref: TransactionRef, now: float, *,
        reason: ReleaseReasonCode = ReleaseReasonCode.SERVICE_NOT_IMPLEMENTED, display: str | None = None,
    ) -> list[BaseEvent]:  # fmt: skip
        """The firmware refused (e.g. FKS not active): CISS-RELEASE-COM with the reason and display text."""
        tx = self._transaction(ref, TxKind.FEATURE_REQUEST)
        return self._step(tx, TxInput.REJECT, now, display=display, reason=reason) if tx else []

    def complete_call(
        self, ref: TransactionRef, now: float, *, accepted: bool, display: str | None = None,
        reason: ReleaseReasonCode = ReleaseReasonCode.USER_REJECTION,
    ) -> list[BaseEvent]:  # fmt: skip
        """The outcome of a dialled code: CC-CONNECT (+ confirm tone) or CC-RELEASE-COM with `reason`."""
        tx = self._transaction(ref, TxKind.FAC_CALL)
        if tx is None:
            return []
        if accepted:
            return self._step(tx, TxInput.ACCEPT, now, display=display)
        return self._step(tx, TxInput.REJECT, now, display=display, reason=reason)

    def indicate_feature_state(
        self, link: Link, setting: FeatureSetting, *, display: str, refused: bool = False,
        silent: bool = False, ipui: Ipui | None = None, now: float = 0.0,
    ) -> None:
        """Tell a handset the state the server holds, as one complete CISS transaction the base starts
        (EN 300 175-5 §10, libdect's ss.c): CISS-REGISTER (TI flag 0, the base's own value 0..5 on
        the link), FACILITY with MULTI-DISPLAY and the feature state (this project's PIE 3F), and a
        refusal as FEATURE-INDICATE "feature key, rejected"; the handset closes it with
        CISS-RELEASE-COM (`IndicationDelivered`). No SIGNAL: a CISS message carries none (§6.3.3);
        the handset plays its own tone. Over a link, or after paging (`dect.paging`); `silent` (a
        resynchronisation) sends the same messages."""
        del silent   # the tone is the handset's own: nothing on the air tells the two apart
        handset = ipui if ipui is not None else Ipui.parse(link)
        used = {tv for (lk, tv) in self._ciss if lk == link}
        free = [tv for tv in range(6) if tv not in used]
        if not free:   # six indications in flight on one link: the oldest is given up
            oldest = min((key for key in self._ciss if key[0] == link), key=lambda k: self._ciss[k][1])
            del self._ciss[oldest]
            free = [oldest[1]]
        tv = free[0]
        self._ciss[(link, tv)] = (handset, now + CC_03)
        state = encode_pies(FeatureState(setting=setting))
        indicate = FeatureIndicate(feature=FeatureCode.FEATURE_KEY, status=FeatureStatus.REJECTED) \
            if refused else None
        for msg in (message(MessageType.CISS_REGISTER, PortableIdentity.of(handset), tv=tv),
                    message(MessageType.FACILITY, _display(display), indicate, state, tv=tv)):
            self.pager.submit(Transmission(link=link, data=encode(msg, sender=Side.FP), name=msg.name),
                              handset, now)

    # ----------------------------------------------------------------------------- timers

    def next_deadline(self) -> float | None:
        deadlines = [tx.deadline for tx in self.transactions.values() if tx.deadline is not None]
        deadlines += [d for d in (self.calls.next_deadline(), self.pager.next_deadline(),
                                  self.mm.auth.next_deadline()) if d is not None]
        deadlines += [deadline for _ipui, deadline in self._ciss.values()]
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: float) -> list[BaseEvent]:
        """Release every transaction whose deadline has passed (RELEASE-REASON 0D, timer expiry)."""
        events: list[BaseEvent] = []
        expired = [tx for tx in self.transactions.values() if tx.deadline is not None and tx.deadline <= now]
        for tx in sorted(expired, key=lambda t: (t.deadline or 0.0, t.ref.link, t.ref.pd, t.ref.tv)):
            events += self._step(tx, TxInput.TIMER, now, reason=ReleaseReasonCode.TIMER_EXPIRY)
        for failed in self.pager.handle_timer(now):
            # Nothing went out to that handset: its indications are over (the firmware sends the state
            # again when it locates); its calls end on their own timer (CC.03).
            for key in [k for k in self._ciss if k[0] == failed.link]:
                del self._ciss[key]
            events.append(failed)
        for (link, tv), (handset, deadline) in sorted(self._ciss.items()):
            if deadline <= now:   # never closed by the handset: released, and reported undelivered
                del self._ciss[(link, tv)]
                reason = ReleaseReason(reason=ReleaseReasonCode.TIMER_EXPIRY)
                msg = message(MessageType.CISS_RELEASE_COM, reason, tv=tv)
                self.pager.submit(Transmission(link=link, data=encode(msg, sender=Side.FP), name=msg.name),
                                  handset, now)
        return events + self.calls.handle_timer(now) + self.mm.handle_timer(now)
