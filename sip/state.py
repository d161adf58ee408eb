"""The state of the four synchronised features of one user or handset account, as one value.

DND, CFA, CFB and CFNA (feature-key-sync.md §1) with forwarding targets and the CFNA ring count. The
application server holds one per user, the base one per handset account; both move it only through
the `as-feature-event` bodies of feature-key-sync.md §3 (`with_set` on the server, `with_event` on the
base), and build their NOTIFY bodies from it (`events`), so the two sides cannot disagree on how a
body changes the state.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sip.errors import LocalProtocolError, SipError
from sip.feature_event import (
    DoNotDisturbEvent,
    FeatureEvent,
    FeatureSet,
    ForwardingEvent,
    ForwardingType,
    SetDoNotDisturb,
)
from sip.fsm import MachineEnum

#: CFNA rings before forwarding when nothing else is known (the contract's example default).
DEFAULT_RINGS = 3


class Feature(MachineEnum):
    DND = "dnd"
    CFA = "cfa"
    CFB = "cfb"
    CFNA = "cfna"


FORWARDING_FEATURE = {
    ForwardingType.CFA: Feature.CFA,
    ForwardingType.CFB: Feature.CFB,
    ForwardingType.CFNA: Feature.CFNA,
}
FEATURE_FORWARDING = {feature: ftype for ftype, feature in FORWARDING_FEATURE.items()}
ALL_FEATURES = tuple(Feature)


def _stored_rings(value: Any) -> int:
    # The stored JSON holds what as_json wrote: an int. Anything else (a string, a bool, a number no
    # handset can ring) is a damaged store, named as such rather than left to int().
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 99:
        raise SipError(f"stored feature state: rings is not a ring count 0-99 ({type(value).__name__})")
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Forwarding:
    """One forwarding type: on or off, the target (kept while off, as BroadWorks does), CFNA rings."""

    active: bool = False
    to: str = ""
    rings: int | None = None

    def as_json(self, with_rings: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"active": self.active, "to": self.to}
        if with_rings:
            out["rings"] = self.rings if self.rings is not None else DEFAULT_RINGS
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureState:
    dnd: bool = False
    cfa: Forwarding = Forwarding()
    cfb: Forwarding = Forwarding()
    cfna: Forwarding = Forwarding(rings=DEFAULT_RINGS)

    def forwarding(self, ftype: ForwardingType) -> Forwarding:
        value: Forwarding = getattr(self, FORWARDING_FEATURE[ftype].value)
        return value

    def event(self, feature: Feature, device: str) -> FeatureEvent:
        """The server's body reporting one feature (feature-key-sync.md §3)."""
        if feature is Feature.DND:
            return DoNotDisturbEvent(device=device, on=self.dnd)
        ftype = FEATURE_FORWARDING[feature]
        fwd = self.forwarding(ftype)
        return ForwardingEvent(
            device=device,
            forwarding_type=ftype,
            status=fwd.active,
            forward_to=fwd.to,
            ring_count=fwd.rings if ftype is ForwardingType.CFNA else None,
        )

    def events(self, device: str, features: tuple[Feature, ...] = ALL_FEATURES) -> list[FeatureEvent]:
        """The full state, one body per feature, for the NOTIFY after a (re)subscribe (§2 step 2)."""
        return [self.event(feature, device) for feature in features]

    def with_event(self, item: FeatureEvent) -> FeatureState:
        """The base's view after the server reported `item`. A missing forwardTo keeps the target."""
        if isinstance(item, DoNotDisturbEvent):
            return replace(self, dnd=item.on)
        old = self.forwarding(item.forwarding_type)
        new = Forwarding(
            active=item.status,
            to=item.forward_to if item.forward_to is not None else old.to,
            rings=item.ring_count if item.ring_count is not None else old.rings,
        )
        return self._with_forwarding(FORWARDING_FEATURE[item.forwarding_type], new)

    def with_set(self, item: FeatureSet) -> tuple[FeatureState, Feature]:
        """The server's state after applying a phone's Set request, and the feature it changed.

        Activating forwarding needs a target: the one in the request, else the one kept from before.
        """
        if isinstance(item, SetDoNotDisturb):
            return replace(self, dnd=item.on), Feature.DND
        return self.with_forwarding(
            item.forwarding_type, active=item.activate, to=item.forward_dn or None, rings=item.ring_count
        )

    def with_forwarding(
        self, ftype: ForwardingType, *, active: bool, to: str | None = None, rings: int | None = None
    ) -> tuple[FeatureState, Feature]:
        old = self.forwarding(ftype)
        target = to if to else old.to
        if active and not target:
            raise LocalProtocolError(f"{ftype.name} cannot be activated without a target number")
        new = Forwarding(
            active=active,
            to=target,
            rings=(rings if rings is not None else old.rings) if ftype is ForwardingType.CFNA else None,
        )
        feature = FORWARDING_FEATURE[ftype]
        return self._with_forwarding(feature, new), feature

    def _with_forwarding(self, feature: Feature, value: Forwarding) -> FeatureState:
        if feature is Feature.CFA:
            return replace(self, cfa=value)
        if feature is Feature.CFB:
            return replace(self, cfb=value)
        return replace(self, cfna=value)

    def changed(self, other: FeatureState) -> tuple[Feature, ...]:
        return tuple(f for f in ALL_FEATURES if getattr(self, f.value) != getattr(other, f.value))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FeatureState:
        """The inverse of `as_json` (for state kept in the base's NVM)."""

        def fwd(item: dict[str, Any], with_rings: bool) -> Forwarding:
            return Forwarding(active=bool(item["active"]), to=str(item["to"]),
                              rings=_stored_rings(item["rings"]) if with_rings else None)

        return cls(dnd=bool(data["dnd"]), cfa=fwd(data["cfa"], False), cfb=fwd(data["cfb"], False),
                   cfna=fwd(data["cfna"], True))

    def as_json(self) -> dict[str, Any]:
        """The result-file shape of spec/scenarios-and-cli.md §3."""
        return {
            "dnd": self.dnd,
            "cfa": self.cfa.as_json(False),
            "cfb": self.cfb.as_json(False),
            "cfna": self.cfna.as_json(True),
        }
