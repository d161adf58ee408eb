"""The FKS application of one handset account: what the base does with a handset's feature request and
with the server's feature state. Sans-I/O: events go in, commands come out.

Theory of operation. The account is in one of four states:

- LOCAL: FKS is not active for this handset (gated off, or FeatureKeySyncActive=0). The base keeps
  DND and forwarding itself: a request is applied and confirmed at once, persisted, and no
  as-feature-event traffic is sent (feature-key-sync.md §1: off by default, per handset).
- CONNECTING: FKS is active and the subscription is being set up (or set up again: a 481, an
  expired dialog, a registration regained), or waits for the account's registration. Requests are
  refused: the base must not change the handset's state without the server (never optimistic).
- SYNCED: a subscription is active. A request becomes an in-dialog SUBSCRIBE with a Set body
  (feature-key-sync.md §2 step 4); the handset shows it as pending until a NOTIFY reports the
  feature. Every NOTIFY, partial or full, updates the handset; a full state settles every pending
  request (a NOTIFY is never turned into a new Set request: §5, no loops).
  Features the server leaves out of a full state are not assigned to the user (BroadWorks reports
  only assigned services): the handset is told they are not available, and a request for one is
  refused by the base without a Set [choice]; a later NOTIFY that reports it makes it available
  again.
- UNAVAILABLE: the subscription failed or ended (server unreachable, 489, 403, 5xx, terminated);
  the SIP subscriber core retries on its own schedule. Requests are refused with a display message
  and the handset keeps its state.

The SIP subscriber core is the one source of truth for whether a subscription is there: this
application moves between CONNECTING, SYNCED and UNAVAILABLE only on SUBSCRIPTION_CONNECTING /
SUBSCRIPTION_UP / SUBSCRIPTION_DOWN, which the DECT manager feeds it from every state change the
core reports (`SubscriptionStateChanged`: subscribing / active / anything else). SYNCED therefore
holds exactly while the core is ACTIVE, and a Set is only ever handed to a core that can carry it
(issue 18); a NOTIFY's state alone never makes the account SYNCED.

Transitions are one table `(state, input) -> (action, next state)` (conventions point 3). It is
total: every input that can arrive in a state (late answers included) has its row, and a test
checks that; a lookup that still misses is a local protocol error, never silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from sip.errors import LocalProtocolError
from sip.feature_event import (
    DoNotDisturbEvent,
    FeatureEvent,
    FeatureSet,
    ForwardingType,
    SetDoNotDisturb,
    SetForwarding,
)
from sip.fsm import MachineEnum
from sip.state import ALL_FEATURES, FEATURE_FORWARDING, FORWARDING_FEATURE, Feature, FeatureState

#: Texts the base puts on the handset display (this project's wording), in rows of at most 16
#: characters separated by DECT IA5 0A ("next row"), so that every professional handset shows them.
TEXT_UNAVAILABLE = "Service\nunavailable"
TEXT_REFUSED = "Not accepted\nby server"
TEXT_INVALID = "Number required"
TEXT_RINGS = "Rings: 0 or 2-20"
TEXT_NOT_ASSIGNED = "not available"
FEATURE_TITLES = {Feature.DND: "Do not disturb", Feature.CFA: "Call divert all",
                  Feature.CFB: "Divert when busy", Feature.CFNA: "Divert no answer"}


class Signal(MachineEnum):
    """SIGNAL IE values the base sends with a feature indication (dect-nwk.md §2); SILENT sends none
    (a resynchronisation nobody asked for makes no tone)."""

    CONFIRM = 0x05
    NEGATIVE = 0x09
    SILENT = 0x00


class FksState(MachineEnum):
    LOCAL = "local"
    CONNECTING = "connecting"
    SYNCED = "synced"
    UNAVAILABLE = "unavailable"


class FksInput(MachineEnum):
    ENABLED = "enabled"
    DISABLED = "disabled"
    HANDSET_REQUEST = "handset request"
    SUBSCRIPTION_CONNECTING = "subscription connecting"
    SUBSCRIPTION_UP = "subscription up"
    SUBSCRIPTION_DOWN = "subscription down"
    STATE_RECEIVED = "state received"
    SET_ACCEPTED = "set accepted"
    SET_REFUSED = "set refused"


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureChange:
    """What a handset asked for: one feature on or off, with target and rings for forwarding."""

    feature: Feature
    active: bool
    to: str | None = None
    rings: int | None = None

    def as_set(self, device: str) -> FeatureSet:
        if self.feature is Feature.DND:
            return SetDoNotDisturb(device=device, on=self.active)
        ftype = FEATURE_FORWARDING[self.feature]
        return SetForwarding(device=device, forwarding_type=ftype, activate=self.active,
                             forward_dn=self.to or "",
                             ring_count=self.rings if ftype is ForwardingType.CFNA else None)


# -- commands out -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscribe:
    """Start (or restart) the as-feature-event subscription."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Unsubscribe:
    """End the subscription (Expires: 0)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SendSet:
    """Send `item` in an in-dialog SUBSCRIBE."""

    item: FeatureSet


@dataclass(frozen=True, slots=True, kw_only=True)
class Indicate:
    """Tell the handset the state of `features`, with a display text and a signal."""

    state: FeatureState
    features: tuple[Feature, ...]
    text: str
    signal: Signal


@dataclass(frozen=True, slots=True, kw_only=True)
class Persist:
    """Store the account's feature state in the NVM: the state the base keeps itself (LOCAL), or the
    last state the server confirmed (SYNCED), shown again after a reboot until the server says
    otherwise (issue 12 §5)."""

    state: FeatureState


Command = Subscribe | Unsubscribe | SendSet | Indicate | Persist


def describe_feature(state: FeatureState, feature: Feature) -> str:
    """The two display rows for a feature's state: its title, then On/Off with the target."""
    if feature is Feature.DND:
        return f"{FEATURE_TITLES[feature]}\n{'On' if state.dnd else 'Off'}"
    fwd = getattr(state, feature.value)
    return f"{FEATURE_TITLES[feature]}\n{'On ' + fwd.to if fwd.active else 'Off'}"


class FksApplication:
    """One handset account's FKS logic. Create it with the state the base knows (NVM or server)."""

    def __init__(self, device: str, state: FeatureState | None = None, *,
                 synced: frozenset[Feature] = frozenset(ALL_FEATURES)) -> None:
        self.device = device
        self.state = state or FeatureState()
        #: The features the model's profile synchronises (feature-key-sync.md §1: a per-profile set);
        #: the others stay with the base even while FKS is active.
        self.synced = synced
        self.fks = FksState.LOCAL
        #: The synced features the server offers: all until a full state says otherwise.
        self.offered: frozenset[Feature] = frozenset(ALL_FEATURES)
        #: Requests sent to the server and not yet reported back in a NOTIFY, by feature.
        self.pending: dict[Feature, FeatureChange] = {}
        #: The transition table, shared by every account (built once: a fleet has 20,000 of them).
        self._table = TRANSITIONS

    def handle(self, event: FksInput, payload: object = None) -> list[Command]:
        try:
            action, next_state = self._table[(self.fks, event)]
        except KeyError:
            raise LocalProtocolError(
                f"FKS: no transition for {event.value} in state {self.fks.value}") from None
        self.fks = next_state
        result: list[Command] = getattr(self, action)(payload)
        return result

    # -- convenience entry points, named for what happened -------------------------------------

    def enable(self) -> list[Command]:
        return self.handle(FksInput.ENABLED)

    def disable(self) -> list[Command]:
        return self.handle(FksInput.DISABLED)

    def request(self, change: FeatureChange) -> list[Command]:
        if change.feature not in self.synced:
            return self._apply_locally(change)
        return self.handle(FksInput.HANDSET_REQUEST, change)

    def subscription_up(self) -> list[Command]:
        return self.handle(FksInput.SUBSCRIPTION_UP)

    def subscription_down(self) -> list[Command]:
        return self.handle(FksInput.SUBSCRIPTION_DOWN)

    def subscription_connecting(self) -> list[Command]:
        return self.handle(FksInput.SUBSCRIPTION_CONNECTING)

    def state_received(self, items: tuple[FeatureEvent, ...], *, full: bool = False) -> list[Command]:
        """A NOTIFY's feature states; `full`: a full state, which names every feature the server
        offers (the others are not assigned to the user)."""
        kept = tuple(item for item in items if _feature_of(item) in self.synced)
        commands = self.handle(FksInput.STATE_RECEIVED, kept)
        if self.fks is not FksState.LOCAL:
            # The server reports assigned services only: a feature it reports is offered; a full
            # state names all of them.
            reported = frozenset(_feature_of(item) for item in items)
            commands += self._offered(reported if full else self.offered | reported)
        return commands

    def indication(self, feature: Feature) -> Indicate:
        """What the handset is told about one feature: its state, or that it is not available."""
        if feature in self.synced and feature not in self.offered and self.fks is not FksState.LOCAL:
            return self._indicate(feature, Signal.NEGATIVE, _not_assigned(feature))
        return self._indicate(feature, Signal.CONFIRM)

    def _offered(self, offered: frozenset[Feature]) -> list[Command]:
        before, self.offered = self.offered, offered
        commands: list[Command] = []
        for feature in ALL_FEATURES:
            if feature not in self.synced or (feature in before) == (feature in offered):
                continue
            if feature not in offered:
                self.pending.pop(feature, None)
            commands.append(self.indication(feature))
        return commands

    def set_answered(self, item: FeatureSet, status: int) -> list[Command]:
        if 200 <= status < 300:
            return self.handle(FksInput.SET_ACCEPTED, item)
        return self.handle(FksInput.SET_REFUSED, item)

    # -- actions --------------------------------------------------------------------------------

    def _nothing(self, _payload: object) -> list[Command]:
        return []

    def _subscribe(self, _payload: object) -> list[Command]:
        return [Subscribe()]

    def _unsubscribe(self, _payload: object) -> list[Command]:
        # The last state the server reported becomes the locally kept state; every feature is the
        # base's own again.
        regained = [f for f in ALL_FEATURES if f in self.synced and f not in self.offered]
        self.offered = frozenset(ALL_FEATURES)
        indications = [self._indicate(change.feature, Signal.NEGATIVE, TEXT_UNAVAILABLE)
                       for change in self.pending.values()]
        self.pending.clear()
        return [Unsubscribe(), Persist(state=self.state), *indications,
                *(self._indicate(f, Signal.CONFIRM) for f in regained)]

    def _indicate(self, feature: Feature, signal: Signal, text: str | None = None) -> Indicate:
        shown = text or describe_feature(self.state, feature)
        return Indicate(state=self.state, features=(feature,), text=shown, signal=signal)

    def _apply_locally(self, payload: object) -> list[Command]:
        change = _change(payload)
        try:
            self.state, feature = self.state.with_set(change.as_set(self.device))
        except LocalProtocolError as err:
            return [self._indicate(change.feature, Signal.NEGATIVE, _invalid_text(err))]
        return [Persist(state=self.state), self._indicate(feature, Signal.CONFIRM)]

    def _refuse_unavailable(self, payload: object) -> list[Command]:
        return [self._indicate(_change(payload).feature, Signal.NEGATIVE, TEXT_UNAVAILABLE)]

    def _send_set(self, payload: object) -> list[Command]:
        change = _change(payload)
        if change.feature not in self.offered:
            # Not assigned to the user on the server: nothing to send [choice].
            return [self._indicate(change.feature, Signal.NEGATIVE, _not_assigned(change.feature))]
        if change.active and change.feature is not Feature.DND and not (
                change.to or getattr(self.state, change.feature.value).to):
            return [self._indicate(change.feature, Signal.NEGATIVE, TEXT_INVALID)]
        try:
            item = change.as_set(self.device)
        except LocalProtocolError as err:
            return [self._indicate(change.feature, Signal.NEGATIVE, _invalid_text(err))]
        self.pending[change.feature] = change
        return [SendSet(item=item)]

    def _take_state(self, payload: object) -> list[Command]:
        assert isinstance(payload, tuple)
        items: tuple[FeatureEvent, ...] = payload
        before = self.state
        reported: list[Feature] = []
        for item in items:
            self.state = self.state.with_event(item)
            feature = _feature_of(item)
            if feature not in reported:
                reported.append(feature)
        commands: list[Command] = []
        for feature in reported:
            change = self.pending.pop(feature, None)
            if change is not None:
                settled = _matches(self.state, change)
                commands.append(self._indicate(feature, Signal.CONFIRM if settled else Signal.NEGATIVE,
                                               None if settled else TEXT_REFUSED))
            elif feature in self.state.changed(before):
                commands.append(self._indicate(feature, Signal.CONFIRM))
        if self.state != before:
            # The server's state survives a reboot of the base (shown until the server says otherwise).
            commands.insert(0, Persist(state=self.state))
        return commands

    def _refuse_pending(self, payload: object) -> list[Command]:
        assert isinstance(payload, SetDoNotDisturb | SetForwarding)
        feature = _feature_of(payload)
        if self.pending.pop(feature, None) is None:
            return []
        return [self._indicate(feature, Signal.NEGATIVE, TEXT_REFUSED)]

    def _fail_all_pending(self, _payload: object) -> list[Command]:
        commands: list[Command] = [self._indicate(f, Signal.NEGATIVE, TEXT_UNAVAILABLE) for f in self.pending]
        self.pending.clear()
        return commands


def _not_assigned(feature: Feature) -> str:
    return f"{FEATURE_TITLES[feature]}\n{TEXT_NOT_ASSIGNED}"


def _invalid_text(err: LocalProtocolError) -> str:
    return TEXT_RINGS if "ringCount" in str(err) else TEXT_INVALID


def _change(payload: object) -> FeatureChange:
    assert isinstance(payload, FeatureChange)
    return payload


def _feature_of(item: FeatureEvent | FeatureSet) -> Feature:
    if isinstance(item, DoNotDisturbEvent | SetDoNotDisturb):
        return Feature.DND
    return FORWARDING_FEATURE[item.forwarding_type]


def _matches(state: FeatureState, change: FeatureChange) -> bool:
    if change.feature is Feature.DND:
        return state.dnd == change.active
    fwd = getattr(state, change.feature.value)
    if fwd.active != change.active:
        return False
    return not (change.active and change.to and fwd.to != change.to)


def _transitions() -> dict[tuple[FksState, FksInput], tuple[str, FksState]]:
    """(state, input) -> (name of the FksApplication action, next state)."""
    S, I = FksState, FksInput  # noqa: E741 - the table reads as a table
    table = {
        (S.LOCAL, I.ENABLED): ("_subscribe", S.CONNECTING),
        (S.LOCAL, I.DISABLED): ("_nothing", S.LOCAL),
        (S.LOCAL, I.HANDSET_REQUEST): ("_apply_locally", S.LOCAL),
        # Late news of a subscription being wound down after FKS was switched off: the base
        # keeps its own state now and ignores it.
        (S.LOCAL, I.SUBSCRIPTION_UP): ("_nothing", S.LOCAL),
        (S.LOCAL, I.SUBSCRIPTION_CONNECTING): ("_nothing", S.LOCAL),
        (S.LOCAL, I.SUBSCRIPTION_DOWN): ("_nothing", S.LOCAL),
        (S.LOCAL, I.STATE_RECEIVED): ("_nothing", S.LOCAL),
        (S.LOCAL, I.SET_ACCEPTED): ("_nothing", S.LOCAL),
        (S.LOCAL, I.SET_REFUSED): ("_nothing", S.LOCAL),
        (S.CONNECTING, I.HANDSET_REQUEST): ("_refuse_unavailable", S.CONNECTING),
        (S.CONNECTING, I.SUBSCRIPTION_UP): ("_nothing", S.SYNCED),
        (S.CONNECTING, I.SUBSCRIPTION_CONNECTING): ("_nothing", S.CONNECTING),
        # A NOTIFY's state is shown, but only the core says whether a Set can go out (issue 18).
        (S.CONNECTING, I.STATE_RECEIVED): ("_take_state", S.CONNECTING),
        (S.CONNECTING, I.SUBSCRIPTION_DOWN): ("_nothing", S.UNAVAILABLE),
        # The answer to a Set sent before FKS was switched off and on again: nothing is pending.
        (S.CONNECTING, I.SET_ACCEPTED): ("_nothing", S.CONNECTING),
        (S.CONNECTING, I.SET_REFUSED): ("_nothing", S.CONNECTING),
        (S.SYNCED, I.HANDSET_REQUEST): ("_send_set", S.SYNCED),
        (S.SYNCED, I.SUBSCRIPTION_UP): ("_nothing", S.SYNCED),
        (S.SYNCED, I.STATE_RECEIVED): ("_take_state", S.SYNCED),
        (S.SYNCED, I.SET_ACCEPTED): ("_nothing", S.SYNCED),
        (S.SYNCED, I.SET_REFUSED): ("_refuse_pending", S.SYNCED),
        (S.SYNCED, I.SUBSCRIPTION_DOWN): ("_fail_all_pending", S.UNAVAILABLE),
        # The core subscribes again (481 to a refresh or Set, dialog expired, terminated NOTIFY):
        # no dialog carries a Set until it is active again; what was sent is reported unavailable.
        (S.SYNCED, I.SUBSCRIPTION_CONNECTING): ("_fail_all_pending", S.CONNECTING),
        (S.UNAVAILABLE, I.HANDSET_REQUEST): ("_refuse_unavailable", S.UNAVAILABLE),
        (S.UNAVAILABLE, I.SUBSCRIPTION_UP): ("_nothing", S.SYNCED),
        (S.UNAVAILABLE, I.SUBSCRIPTION_CONNECTING): ("_nothing", S.CONNECTING),
        (S.UNAVAILABLE, I.STATE_RECEIVED): ("_take_state", S.UNAVAILABLE),
        (S.UNAVAILABLE, I.SUBSCRIPTION_DOWN): ("_nothing", S.UNAVAILABLE),
        # A Set answer that arrives after the subscription went down settles nothing new.
        (S.UNAVAILABLE, I.SET_ACCEPTED): ("_nothing", S.UNAVAILABLE),
        (S.UNAVAILABLE, I.SET_REFUSED): ("_nothing", S.UNAVAILABLE),
    }
    for active in (S.CONNECTING, S.SYNCED, S.UNAVAILABLE):
        table[(active, I.DISABLED)] = ("_unsubscribe", S.LOCAL)
        table[(active, I.ENABLED)] = ("_nothing", active)
    return table


TRANSITIONS = _transitions()
