"""The handset emulator (portable part), sans I/O: key presses and base bytes in, NWK bytes and display out.

One responsibility: behave like a professional DECT handset towards the base, as dect-nwk.md §3 lays
out. Menu navigation is local (`dect.menu`); only completed operations reach the air, as NWK messages
encoded by `dect.codec` (sender PP):

- power on / back in range: MM LOCATE-REQUEST with the IPUI (and, when the base asks, authentication
  with its UAK); registration with a PIN: ACCESS-RIGHTS-REQUEST and the base's key allocation, which
  proves the PIN without sending it and gives the UAK (dect.handset_auth), then LOCATE-REQUEST;
- a page naming it (LCE-REQUEST-PAGE): LCE-PAGE-RESPONSE, the link the base then uses;
- a feature operation from the menu: CISS-REGISTER with PORTABLE-IDENTITY and the proprietary feature
  request (PIE 3E). The feature is shown *pending* until the base indicates the state it holds (its own
  CISS transaction: CISS-REGISTER, FACILITY with PIE 3F, closed by the handset's CISS-RELEASE-COM); a
  refusal (CISS-RELEASE-COM with a RELEASE-REASON, or no answer within CC.03) reverts it.
  A feature the base cannot offer (the server does not assign it: a refusal with RELEASE-REASON
  "service not implemented", or a negative indication the handset did not ask for) is shown
  "Status: n/a" in its menu form until the base indicates its state again;
- an incoming call (the base's CC-SETUP): ring, TALK answers, END hangs up (`dect.handset_calls`);
- dialling a code: CC-SETUP with PORTABLE-IDENTITY, FIXED-IDENTITY, BASIC-SERVICE normal speech,
  MULTI-KEYPAD and SENDING-COMPLETE; after CC-CONNECT (the base's confirmation) the handset hangs up
  with CC-RELEASE.

Out of range (or powered off) nothing is sent: the request fails with a display message. The handset
allocates its own transaction values (TI flag 0, lowest free value 0..6 per protocol discriminator,
EN 300 175-5 §7.3) and keeps a deadline per open transaction (`next_deadline`, `handle_timer`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from dect.codec import MessageType, NwkMessage, ProtocolDiscriminator, Side, decode, encode, message
from dect.endpoint import CC_03, CC_04
from dect.errors import RemoteProtocolError
from dect.events import (
    BaseMessageMalformed,
    CallEnded,
    FacCompleted,
    FeatureRequestRefused,
    FeatureStateIndicated,
    HandsetEvent,
    LocationAnswered,
    RegistrationAnswered,
    RequestNotSent,
)
from dect.handset_auth import HandsetKeys
from dect.handset_calls import HandsetCalls
from dect.identity import Ipui
from dect.ies import (
    BasicService,
    FeatureStatus,
    InformationElement,
    ReleaseReason,
    ReleaseReasonCode,
    SendingComplete,
)
from dect.ies_var import (
    EscapeToProprietary,
    FeatureIndicate,
    FixedIdentity,
    MultiDisplay,
    MultiKeypad,
    PortableIdentity,
    RejectReason,
)
from dect.menu import FeatureChosen, FormValues, Navigator, PathStep, check_key, compile_path
from dect.paging import read_short_page
from dect.proprietary import (
    DiversionSetting,
    DiversionType,
    DndSetting,
    FeatureRequest,
    FeatureSetting,
    FeatureState,
    decode_pies,
    encode_pies,
)
from models.handset_types import Form, HandsetType, get_handset_type

#: MM timers on the PP side, seconds (dect-nwk.md §4); CC.02 release timer.
MM_LOCATE = 20.0
MM_ACCESS_RIGHTS = 60.0
CC_02 = 36.0
DEFAULT_RINGS = 3
_DIVERSIONS = {"cfa": DiversionType.ALL, "cfb": DiversionType.BUSY, "cfna": DiversionType.NO_ANSWER}
TITLES = {
    "dnd": "Do not disturb",
    "cfa": "Call divert all",
    "cfb": "Divert when busy",
    "cfna": "Divert no answer",
}
OUT_OF_RANGE = "Base not available"
SEARCHING = "Searching base"


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureView:
    """One feature as the handset shows it."""

    active: bool = False
    target: str = ""
    rings: int = DEFAULT_RINGS

    def as_json(self, feature: str) -> object:
        if feature == "dnd":
            return self.active
        out: dict[str, object] = {"active": self.active, "to": self.target}
        if feature == "cfna":
            out["rings"] = self.rings
        return out


def view_of(setting: FeatureSetting, previous: FeatureView) -> FeatureView:
    if isinstance(setting, DndSetting):
        return FeatureView(active=setting.active)
    rings = setting.rings if setting.diversion is DiversionType.NO_ANSWER else previous.rings
    return FeatureView(active=setting.active, target=setting.target, rings=rings)


@dataclass
class _Tx:
    """One transaction the handset started."""

    kind: str  # locate, access, feature, fac, release
    deadline: float
    feature: str = ""
    digits: str = ""


class Handset:
    """One emulated handset. Drive it with keys (`press`, `run_menu`, `dial`) and base bytes (`receive`)."""

    def __init__(
        self,
        ipui: Ipui,
        handset_type: HandsetType | None = None,
        *,
        fixed_identity: FixedIdentity | None = None,
        registered: bool = True,
        uak: bytes | None = None,
    ) -> None:
        self.ipui = ipui
        self.type = handset_type or get_handset_type()
        self.fixed_identity = fixed_identity or FixedIdentity(bits=36, value=0)
        self.registered = registered
        self.powered = False
        self.in_range = True
        self.located = False
        self.confirmed: dict[str, FeatureView] = {f: FeatureView() for f in ("dnd", "cfa", "cfb", "cfna")}
        self.pending: dict[str, FeatureView] = {}
        #: Features the base says it cannot offer (the server does not assign them to the user).
        self.unavailable: set[str] = set()
        self.message = ""
        self.navigator = Navigator(self.type, form_values=self._form_values, info_lines=self._info_lines)
        self.display: list[str] = []
        self._tx: dict[tuple[int, int], _Tx] = {}
        self._outgoing: list[bytes] = []
        self._pending_deadline: dict[str, float] = {}
        #: The base's calls to this handset (dect.handset_calls), sent through the same queue.
        self.calls = HandsetCalls(self._outgoing)
        #: Its user authentication key and the key allocation of a registration (dect.handset_auth).
        self.keys = HandsetKeys(uak, f"pp-{ipui}")
        self._refresh()

    # ------------------------------------------------------------------------------ state

    def shown(self, feature: str) -> FeatureView:
        """What the handset shows for a feature: the pending request, else the base's last state."""
        return self.pending.get(feature, self.confirmed[feature])

    def state(self) -> dict[str, object]:
        """The features as the base last confirmed them, in the result format (spec §3 `final.handsets`)."""
        return {feature: view.as_json(feature) for feature, view in self.confirmed.items()}

    def take_outgoing(self) -> list[bytes]:
        out = list(self._outgoing)
        self._outgoing.clear()
        return out

    def _identity(self) -> PortableIdentity:
        return PortableIdentity.of(self.ipui)

    def _form_values(self, form: Form) -> FormValues:
        view = self.shown(form.feature)
        # A feature the base cannot offer shows as such ("n/a"); stepping the field still offers On/Off.
        status = "n/a" if form.feature in self.unavailable else "On" if view.active else "Off"
        values = {"Status": status, "Number": view.target}
        if form.field("Rings"):
            values["Rings"] = str(view.rings)
        return {name: value for name, value in values.items() if form.field(name)}

    def _info_lines(self) -> list[str]:
        return [f"IPUI {self.ipui}", f"IPEI {self.ipui.printed_ipei}", self.type.name]

    def _refresh(self) -> None:
        """Redraw the display (after every key and every message from the base)."""
        lines = self.navigator.lines()
        if lines is None:
            if not self.powered:
                lines = []
            else:
                status = OUT_OF_RANGE if not self.in_range else "Base" if self.located else SEARCHING
                shown = self.calls.message or self.message
                lines = [status, *[row for row in shown.split("\n") if row]]
                if self.navigator.dial_buffer:
                    lines.append(self.navigator.dial_buffer)
        columns, rows = self.type.display_columns, self.type.display_lines
        self.display = [line[:columns] for line in lines][:rows]

    def _can_send(self, operation: str) -> RequestNotSent | None:
        if self.powered and self.in_range:
            return None
        self.message = OUT_OF_RANGE
        return RequestNotSent(operation=operation, why="out of range" if self.powered else "powered off")

    def _start(
        self, pd: ProtocolDiscriminator, tx: _Tx, msg_type: MessageType, *ies: InformationElement
    ) -> bool:
        used = {tv for (p, tv) in self._tx if p == pd}
        free = [tv for tv in range(7) if tv not in used]
        if not free:
            return False
        self._tx[(int(pd), free[0])] = tx
        msg = message(msg_type, *ies, tv=free[0])
        self._outgoing.append(encode(msg, sender=Side.PP))
        return True

    # ------------------------------------------------------------------------- power / range

    def power_on(self, now: float) -> None:
        self.powered = True
        self._locate(now)

    def power_off(self) -> None:
        self.powered, self.located = False, False
        self._tx.clear()
        self.calls.lost()
        self.navigator._to_idle()
        self._refresh()

    def set_in_range(self, in_range: bool, now: float) -> None:
        """Out of range: requests fail locally. Back in range: the handset locates itself again."""
        was = self.in_range
        self.in_range = in_range
        if not in_range:
            self.located = False
            self.calls.lost()
        elif not was and self.powered:
            self._locate(now)
        self._refresh()

    def _locate(self, now: float) -> None:
        if self.powered and self.in_range and self.registered:
            self._start(
                ProtocolDiscriminator.MM,
                _Tx("locate", now + MM_LOCATE),
                MessageType.LOCATE_REQUEST,
                self._identity(),
            )
        self._refresh()

    def register(self, pin: str, now: float) -> list[HandsetEvent]:
        """Register to the base with its PIN: ACCESS-RIGHTS-REQUEST; the PIN never travels, the handset
        proves it in the key allocation the base runs (dect.handset_auth)."""
        refused = self._can_send("register")
        if refused:
            self._refresh()
            return [refused]
        if any(tx.kind == "access" for tx in self._tx.values()):
            return []   # one registration at a time: the one under way goes on
        self.keys.pin = pin
        tx = _Tx("access", now + MM_ACCESS_RIGHTS)
        self._start(ProtocolDiscriminator.MM, tx, MessageType.ACCESS_RIGHTS_REQUEST, self._identity())
        self._refresh()
        return []

    # ----------------------------------------------------------------------------- keys

    def press(self, key: str, now: float) -> list[HandsetEvent]:
        """One key press; the display is updated; a completed operation may put a message on the air.

        A handset that is switched off ignores its keys (the key name is still checked).
        """
        if not self.powered:
            check_key(key)
            return []
        answered = self.calls.key(key)
        if answered is not None:
            self._refresh()
            return answered
        action = self.navigator.press(key)
        events: list[HandsetEvent] = []
        if isinstance(action, FeatureChosen):
            events += self._request_feature(action, now)
        elif action is not None:
            events += self._dial(action.digits, now)
        self._refresh()
        return events

    def press_keys(self, keys: Sequence[str], now: float) -> list[HandsetEvent]:
        events: list[HandsetEvent] = []
        for key in keys:
            events += self.press(key, now)
        return events

    def compile_menu(self, path: Sequence[PathStep]) -> list[str]:
        """The keys that replay a menu path from the idle screen, for the current feature state."""
        return compile_path(self.type, path, self._form_values)

    def run_menu(self, path: Sequence[PathStep], now: float) -> list[HandsetEvent]:
        """Replay a scenario's menu path (`[Menu, Select services, Do not disturb, "On"]`) key by key."""
        keys = self.compile_menu(path)
        self.navigator._to_idle()
        return self.press_keys(keys, now)

    def dial(self, code: str, now: float) -> list[HandsetEvent]:
        """Type a code on the idle screen and press TALK."""
        self.navigator._to_idle()
        return self.press_keys([*code, "TALK"], now)

    def _request_feature(self, chosen: FeatureChosen, now: float) -> list[HandsetEvent]:
        feature = chosen.feature
        refused = self._can_send(f"set {feature}")
        if refused:
            return [refused]
        setting: FeatureSetting
        previous = self.shown(feature)
        if feature == "dnd":
            setting = DndSetting(active=chosen.active)
        else:
            diversion = _DIVERSIONS[feature]
            rings = (chosen.rings if chosen.rings is not None else previous.rings) if feature == "cfna" else 0
            setting = DiversionSetting(
                diversion=diversion, active=chosen.active, target=chosen.target, rings=rings
            )
        escape = encode_pies(FeatureRequest(setting=setting))
        tx = _Tx("feature", now + CC_03, feature=feature)
        if not self._start(
            ProtocolDiscriminator.CISS, tx, MessageType.CISS_REGISTER, self._identity(), escape
        ):
            self.message = "Busy, try later"
            return [RequestNotSent(operation=f"set {feature}", why="no free transaction")]
        self.pending[feature] = view_of(setting, previous)
        self._pending_deadline[feature] = now + CC_03
        self.message = f"{TITLES[feature]}\npending"
        return []

    def _dial(self, digits: str, now: float) -> list[HandsetEvent]:
        refused = self._can_send(f"dial {digits}")
        if refused:
            return [refused]
        ies = (
            self._identity(),
            self.fixed_identity,
            BasicService(),
            MultiKeypad(keys=digits),
            SendingComplete(),
        )
        if not self._start(
            ProtocolDiscriminator.CC, _Tx("fac", now + CC_03, digits=digits), MessageType.CC_SETUP, *ies
        ):
            self.message = "Busy, try later"
            return [RequestNotSent(operation=f"dial {digits}", why="no free transaction")]
        self.message = f"Dialling {digits}"
        return []

    # ----------------------------------------------------------------------- from the base

    def receive(self, data: bytes, now: float) -> list[HandsetEvent]:
        """One message from the base; malformed bytes are reported and otherwise ignored."""
        try:
            msg = decode(data, sender=Side.FP)
            events = self._handle(msg, now)
        except RemoteProtocolError as err:
            events = [BaseMessageMalformed(data=bytes(data), reason=err.reason, detail=str(err))]
        self._refresh()
        return events

    def _display_text(self, msg: NwkMessage) -> str:
        shown = msg.get(MultiDisplay)
        return shown.text.replace("\x0c", "") if shown else ""

    def paged(self, data: bytes, now: float) -> list[HandsetEvent]:
        """An LCE-REQUEST-PAGE heard on the paging channel (dect.paging): when it names this handset's
        default individual TPUI (W flag 0), it answers LCE-PAGE-RESPONSE and the base has a link."""
        try:
            w, _code, info = read_short_page(data)
        except RemoteProtocolError:
            return []
        listening = self.powered and self.in_range and self.registered
        if w or info != self.ipui.default_tpui & 0xFFFF or not listening:
            return []
        msg = message(MessageType.LCE_PAGE_RESPONSE, self._identity(), self.fixed_identity, tv=0)
        self._outgoing.append(encode(msg, sender=Side.PP))
        return []

    def _handle(self, msg: NwkMessage, now: float) -> list[HandsetEvent]:
        if msg.pd is ProtocolDiscriminator.CISS and not msg.ti_flag:
            return self._base_ciss(msg, now)
        if msg.pd is ProtocolDiscriminator.MM and not msg.ti_flag:
            reply = self.keys.answer(msg)   # key allocation, authentication: the base's MM transaction
            if reply is not None:
                self._outgoing.append(encode(reply, sender=Side.PP))
            return []
        if msg.pd is ProtocolDiscriminator.CC and not msg.ti_flag:
            call_events = self.calls.receive(msg) or []
            if any(isinstance(event, CallEnded) for event in call_events):
                self.message = "Call ended"
            return call_events
        tx = self._tx.get((int(msg.pd), msg.tv)) if msg.ti_flag else None
        if tx is None:
            return []  # EN 300 175-5 §17.3.1: messages for an unknown transaction are ignored here
        kind = msg.message_type
        text = self._display_text(msg)
        reject = msg.get(RejectReason)
        if tx.kind == "locate" and kind in (MessageType.LOCATE_ACCEPT, MessageType.LOCATE_REJECT):
            del self._tx[(int(msg.pd), msg.tv)]
            self.located = kind is MessageType.LOCATE_ACCEPT
            self.message = "" if self.located else "Not registered"
            return [LocationAnswered(accepted=self.located, reason=reject.reason if reject else None)]
        if tx.kind == "access" and kind in (
            MessageType.ACCESS_RIGHTS_ACCEPT,
            MessageType.ACCESS_RIGHTS_REJECT,
        ):
            del self._tx[(int(msg.pd), msg.tv)]
            accepted = kind is MessageType.ACCESS_RIGHTS_ACCEPT
            if accepted:
                self.registered = True
                self.keys.registered()
                self.fixed_identity = msg.get(FixedIdentity) or self.fixed_identity
                self.message = "Registered"
                self._locate(now)
            else:
                self.message = "Registration failed"
            return [RegistrationAnswered(accepted=accepted, reason=reject.reason if reject else None)]
        if tx.kind == "feature" and kind is MessageType.CISS_RELEASE_COM:
            return self._feature_answer(msg, tx, now, text)
        if tx.kind in ("fac", "release"):
            return self._call_answer(msg, tx, now, text)
        return []

    def _feature_answer(self, msg: NwkMessage, tx: _Tx, now: float, text: str) -> list[HandsetEvent]:
        del self._tx[(int(msg.pd), msg.tv)]
        reason = msg.get(ReleaseReason)
        escape = msg.get(EscapeToProprietary)
        if reason is None and escape is not None:
            # Accepted: stay pending until the base indicates the state the server holds.
            self._pending_deadline[tx.feature] = now + CC_04
            self.message = text or f"{TITLES[tx.feature]}\npending"
            return []
        code = reason.reason if reason else ReleaseReasonCode.NORMAL
        if code is ReleaseReasonCode.SERVICE_NOT_IMPLEMENTED:
            self.unavailable.add(tx.feature)
        self.pending.pop(tx.feature, None)
        self._pending_deadline.pop(tx.feature, None)
        self.message = text or f"{TITLES[tx.feature]}\nrefused"
        return [FeatureRequestRefused(feature=tx.feature, reason=code, display=self.message)]

    def _call_answer(self, msg: NwkMessage, tx: _Tx, now: float, text: str) -> list[HandsetEvent]:
        key = (int(msg.pd), msg.tv)
        kind = msg.message_type
        if kind is MessageType.CC_CALL_PROC:
            return []
        if kind is MessageType.CC_CONNECT and tx.kind == "fac":
            # The base confirmed the code; the user hangs up (CC-RELEASE, then CC.02 for RELEASE-COM).
            self.message = text or f"{tx.digits}: done"
            self._tx[key] = _Tx("release", now + CC_02, digits=tx.digits)
            normal = ReleaseReason(reason=ReleaseReasonCode.NORMAL)
            self._outgoing.append(encode(message(MessageType.CC_RELEASE, normal, tv=msg.tv), sender=Side.PP))
            return [FacCompleted(digits=tx.digits, accepted=True)]
        if kind in (MessageType.CC_RELEASE_COM, MessageType.CC_RELEASE):
            del self._tx[key]
            if kind is MessageType.CC_RELEASE:
                normal = ReleaseReason(reason=ReleaseReasonCode.NORMAL)
                self._outgoing.append(
                    encode(message(MessageType.CC_RELEASE_COM, normal, tv=msg.tv), sender=Side.PP)
                )
            if tx.kind == "release":
                return []
            reason = msg.get(ReleaseReason)
            self.message = text or f"{tx.digits}: refused"
            return [FacCompleted(digits=tx.digits, accepted=False, reason=reason.reason if reason else None)]
        return []

    def _base_ciss(self, msg: NwkMessage, now: float) -> list[HandsetEvent]:
        """A CISS transaction the base started (a feature indication): CISS-REGISTER opens it, the
        FACILITY carries the state, and the handset closes it with CISS-RELEASE-COM, so the base knows
        it arrived (EN 300 175-5 §10; libdect's ss.c)."""
        if msg.message_type is not MessageType.FACILITY:
            return []   # CISS-REGISTER opens it; a CISS-RELEASE-COM from the base closes it (no reply)
        events = self._indication(msg, now)
        done = message(MessageType.CISS_RELEASE_COM, tv=msg.tv, ti_flag=True)
        self._outgoing.append(encode(done, sender=Side.PP))
        return events

    def _indication(self, msg: NwkMessage, now: float) -> list[HandsetEvent]:
        escape = msg.get(EscapeToProprietary)
        indicate = msg.get(FeatureIndicate)
        refused = indicate is not None and indicate.status is FeatureStatus.REJECTED
        text = self._display_text(msg)
        events: list[HandsetEvent] = []
        states = [pie for pie in decode_pies(escape) if isinstance(pie, FeatureState)] if escape else []
        for state in states:
            feature = state.setting.feature if isinstance(state.setting, DiversionSetting) else "dnd"
            # A negative indication of a feature nobody asked for: the base cannot offer it; a
            # confirming one: it can (again).
            if refused and feature not in self.pending:
                self.unavailable.add(feature)
            elif not refused:
                self.unavailable.discard(feature)
            self.confirmed[feature] = view_of(state.setting, self.confirmed[feature])
            self.pending.pop(feature, None)
            self._pending_deadline.pop(feature, None)
            events.append(FeatureStateIndicated(setting=state.setting, refused=refused, display=text))
        if text:
            self.message = text
        return events

    # ----------------------------------------------------------------------------- timers

    def next_deadline(self) -> float | None:
        deadlines = [tx.deadline for tx in self._tx.values()] + list(self._pending_deadline.values())
        return min(deadlines) if deadlines else None

    def handle_timer(self, now: float) -> list[HandsetEvent]:
        """Give up on transactions and pending features whose deadline passed (reverting the feature)."""
        events: list[HandsetEvent] = []
        for key, tx in sorted(self._tx.items()):
            if tx.deadline > now:
                continue
            del self._tx[key]
            if tx.kind == "locate":
                self.located = False
                events.append(LocationAnswered(accepted=False, reason=None))
            elif tx.kind == "access":
                events.append(RegistrationAnswered(accepted=False, reason=None))
            elif tx.kind == "fac":
                events.append(
                    FacCompleted(digits=tx.digits, accepted=False, reason=ReleaseReasonCode.TIMER_EXPIRY)
                )
            self.message = "No response from base" if tx.kind != "release" else self.message
        for feature, deadline in sorted(self._pending_deadline.items()):
            if deadline <= now:
                del self._pending_deadline[feature]
                self.pending.pop(feature, None)
                self.message = f"{TITLES[feature]}\nno response"
                events.append(
                    FeatureRequestRefused(
                        feature=feature, reason=ReleaseReasonCode.TIMER_EXPIRY, display=self.message
                    )
                )
        self._refresh()
        return events


def apply_confirmed(handset: Handset, states: Mapping[str, FeatureView]) -> None:
    """Set the features a handset starts a scenario with (as if the base had indicated them)."""
    for feature, view in states.items():
        handset.confirmed[feature] = replace(view)
    handset._refresh()
