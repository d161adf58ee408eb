"""What a fleet study is: the model, the fleet's size and layout, the simulated span, the events, and
how the fleet is cut into parts.

One responsibility: turn the command line's words into a checked `FleetSpec` and a `Layout`, with an
error naming the option for anything wrong. Nothing here runs a simulation.

Choices (docs/fleet.md):
- Handset `n` (0-based) has IPUI `0A00x:n`, user `100000+n`, its own account (no user is shared),
  Feature Key Synchronization on, and sits on DECT manager `1 + n * managers // handsets`: the DECT
  managers get contiguous, balanced blocks.
- Without `--dect-managers`, as few DECT managers as the profile's handsets per DECT manager allow.
- A part is a contiguous block of DECT managers; parts are as even as the DECT managers allow.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from dect.identity import Ipui
from models.errors import ConfigError
from models.profiles import ModelProfile, get_profile
from scenarios.yamlsrc import parse_time

EVENT_KINDS = ("reboot", "server-restart", "outage", "portal-burst")
_EVENT = re.compile(r"\s*([^:]+?)\s*:\s*([a-z-]+)\s*(?:=\s*(\S+))?\s*")


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetEvent:
    """Something that happens to the whole fleet at `at` seconds: `value` is the outage's length in
    seconds or the portal burst's share of users (0-1); None for the others."""

    at: float
    kind: str
    value: float | None = None
    text: str = ""

    @property
    def end(self) -> float:
        """When the event is over: an outage lasts `value` seconds, the others are instants."""
        return self.at + (self.value or 0.0) if self.kind == "outage" else self.at

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {"at": self.at, "kind": self.kind}
        if self.value is not None:
            out["value"] = self.value
        return out


def parse_event(text: str) -> FleetEvent:
    """`2h:reboot`, `6h:server-restart`, `9h:outage=10m`, `12h:portal-burst=5%`."""
    where = f"--event {text}"
    match = _EVENT.fullmatch(text)
    if match is None:
        raise ConfigError("expected TIME:KIND[=VALUE], e.g. 2h:reboot, 9h:outage=10m, 12h:portal-burst=5%",
                          where=where)
    when, kind, value = match.groups()
    try:
        at = parse_time(when)
    except ValueError as err:
        raise ConfigError(str(err), where=where) from None
    if kind not in EVENT_KINDS:
        raise ConfigError(f"unknown event {kind!r}; known: {', '.join(EVENT_KINDS)}", where=where)
    if kind in ("reboot", "server-restart"):
        if value is not None:
            raise ConfigError(f"{kind} takes no value", where=where)
        return FleetEvent(at=at, kind=kind, text=text)
    if value is None:
        example = "outage=10m" if kind == "outage" else "portal-burst=5%"
        raise ConfigError(f"{kind} needs a value, e.g. {example}", where=where)
    if kind == "outage":
        try:
            length = parse_time(value)
        except ValueError as err:
            raise ConfigError(str(err), where=where) from None
        if length <= 0:
            raise ConfigError("an outage lasts more than 0 s", where=where)
        return FleetEvent(at=at, kind=kind, value=length, text=text)
    share = value[:-1] if value.endswith("%") else None
    try:
        number = float(share) / 100.0 if share is not None else float(value)
    except ValueError:
        number = -1.0
    if not 0.0 < number <= 1.0:
        raise ConfigError(f"the share of users is a percentage above 0 and up to 100 (5%) or a fraction "
                          f"(0.05), got {value!r}", where=where)
    return FleetEvent(at=at, kind=kind, value=number, text=text)


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetSpec:
    model: str
    handsets: int
    duration: float
    seed: int = 1
    events: tuple[FleetEvent, ...] = ()
    dect_managers: int | None = None
    resolution: float = 10.0

    def as_json(self, layout: Layout) -> dict[str, object]:
        return {"model": self.model, "handsets": self.handsets, "dect_managers": layout.managers,
                "duration": self.duration, "seed": self.seed, "resolution": self.resolution,
                "events": [e.as_json() for e in self.events]}


@dataclass(frozen=True, slots=True)
class Layout:
    """Where every handset is: `dm_of[n]` is handset n's DECT manager (1-based)."""

    profile: ModelProfile
    managers: int
    dm_of: tuple[int, ...]

    @property
    def handsets(self) -> int:
        return len(self.dm_of)

    def handsets_of(self, dms: Sequence[int]) -> list[int]:
        wanted = set(dms)
        return [n for n, dm in enumerate(self.dm_of) if dm in wanted]


def handset_ipui(n: int) -> Ipui:
    return Ipui(emc=0x0A00 + n // 0x100000, psn=n % 0x100000)


def handset_user(n: int) -> str:
    return f"{100000 + n}"


def check_spec(spec: FleetSpec) -> Layout:
    """The fleet's layout on its model; ConfigError naming the option for anything it cannot be."""
    try:
        profile = get_profile(spec.model)
    except ConfigError as err:
        raise ConfigError(err.detail, where="--model") from None
    caps = profile.capacities
    per_dm = caps.per_dect_manager.handsets.value
    max_dms = caps.per_system.dect_managers.value
    max_handsets = caps.per_system.handsets.value
    if spec.handsets < 1:
        raise ConfigError("a fleet has at least one handset", where="--handsets")
    if spec.handsets > max_handsets:
        raise ConfigError(f"{profile.id} holds at most {max_handsets} handsets, not {spec.handsets}",
                          where="--handsets")
    managers = spec.dect_managers if spec.dect_managers is not None else -(-spec.handsets // per_dm)
    if not 1 <= managers <= max_dms:
        raise ConfigError(f"{profile.id} runs 1 to {max_dms} DECT manager(s), not {managers}",
                          where="--dect-managers")
    if managers > spec.handsets:
        raise ConfigError(f"{managers} DECT managers for {spec.handsets} handset(s) leave some empty",
                          where="--dect-managers")
    if -(-spec.handsets // managers) > per_dm:
        raise ConfigError(f"{spec.handsets} handsets on {managers} DECT manager(s) put more than {per_dm} "
                          f"(the most a {profile.id} DECT manager holds) on one", where="--dect-managers")
    if spec.duration <= 0:
        raise ConfigError("the study lasts more than 0 s", where="--duration")
    if spec.resolution <= 0 or spec.resolution > spec.duration:
        raise ConfigError(f"the resolution is above 0 and at most the duration ({spec.duration:g} s), "
                          f"got {spec.resolution:g} s", where="--resolution")
    if spec.duration / spec.resolution > 200_000:
        raise ConfigError("more than 200,000 time steps: choose a coarser resolution", where="--resolution")
    for event in spec.events:
        if not 0 < event.at < spec.duration or event.end >= spec.duration:
            raise ConfigError(f"the event must begin and end within the study (0 to {spec.duration:g} s)",
                              where=f"--event {event.text}")
    dm_of = tuple(1 + n * managers // spec.handsets for n in range(spec.handsets))
    return Layout(profile=profile, managers=managers, dm_of=dm_of)


def partition(layout: Layout, parts: int, users_of: Sequence[str] | None = None) -> list[tuple[int, ...]]:
    """The DECT managers of each part: contiguous blocks, as even as they go. `users_of[n]` is handset n's
    user (default: every handset its own); a user whose handsets sit in two parts cannot be split."""
    if parts < 1:
        raise ConfigError("at least one part", where="--parts")
    if parts > layout.managers:
        raise ConfigError(f"{layout.managers} DECT manager(s) cannot be cut into {parts} parts: a part is at "
                          f"least one DECT manager", where="--parts")
    groups = [tuple(range(1 + k * layout.managers // parts, 1 + (k + 1) * layout.managers // parts))
              for k in range(parts)]
    if users_of is not None:
        part_of_dm = {dm: k for k, group in enumerate(groups) for dm in group}
        seen: dict[str, int] = {}
        for n, user in enumerate(users_of):
            part = part_of_dm[layout.dm_of[n]]
            if seen.setdefault(user, part) != part:
                raise ConfigError(
                    f"user {user} has handsets on DECT managers in two parts; a user's subscriptions and "
                    f"feature state live in one server share, so the parts would not be independent "
                    f"(run with fewer parts, or keep each user's handsets in one block of DECT managers)",
                    where="--parts")
    return groups


def burst_users(seed: int, index: int, handsets: int, share: float) -> frozenset[int]:
    """The handsets whose users change a feature in the `index`-th event, a portal burst of `share`:
    the `round(share * handsets)` with the lowest keyed hash of (seed, event, handset). Derived from the
    seed and the handset only, so every part picks the same ones whatever the partition."""
    count = max(1, round(share * handsets))

    def rank(n: int) -> bytes:
        return hashlib.blake2b(f"{seed}/{index}/{n}".encode(), digest_size=8).digest()

    return frozenset(sorted(range(handsets), key=rank)[:count])


__all__ = ["EVENT_KINDS", "FleetEvent", "FleetSpec", "Layout", "burst_users", "check_spec", "handset_ipui",
           "handset_user", "parse_event", "partition"]
