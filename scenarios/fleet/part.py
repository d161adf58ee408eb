"""One part of a fleet study, run in one process: some DECT managers, their handsets and users, and the
share of the server those users talk to.

One responsibility: build the part's world, schedule the study's events on it, advance it bin by bin,
and return what was counted (`PartResult`, plain data, picklable for Dask). A part knows nothing of
the other parts: its world has every DECT manager of the fleet (so numbering, addresses and each DECT
manager's identifier seed are those of the whole fleet) but only its own handsets, and every random
choice is derived from the seed and the handset or DECT manager, so that the sum of the parts is the
same study whatever the partition (docs/fleet.md, "Parts").

Why the parts are independent: a DECT manager paces and identifies its own accounts
(`firmware.dect_manager.START_PACE`, ids seeded per DECT manager and boot); the server keeps each
user's registrations, subscriptions and features apart and has no capacity model that would make one
user's traffic delay another's; the study's network has no random impairment (an outage drops every
datagram, deterministically).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from scenarios.fleet.spec import FleetSpec, Layout, burst_users, check_spec, handset_ipui, handset_user
from scenarios.fleet.traffic import Key, TrafficCounter
from scenarios.world.collector import collector_for_bounded_run
from scenarios.world.log import LogEntry, MessageLog
from scenarios.world.world import SERVER_ADDRESS, World

Progress = Callable[[float], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class PartJob:
    """What a worker needs to run one part (picklable)."""

    spec: FleetSpec
    dms: tuple[int, ...]
    #: keep every message too (a small fleet's captures, one part only)
    keep_messages: bool = False


@dataclass(slots=True, kw_only=True)
class PartResult:
    """What one part counted. Every field adds up over parts (`merge`)."""

    handsets: int
    traffic: dict[tuple[int, Key], int]
    dect_frames: int
    #: active subscriptions at the server at the end of each bin
    subscriptions: list[int]
    #: per event: bin index -> handsets that were first back in sync at the end of that bin
    reconverged: list[dict[int, int]] = field(default_factory=list)
    #: per event: handsets not back in sync by the end of the study
    not_reconverged: list[int] = field(default_factory=list)
    #: every message, in send order, when the job asked to keep them
    entries: list[LogEntry] = field(default_factory=list)


def bins_of(spec: FleetSpec) -> int:
    return math.ceil(round(spec.duration / spec.resolution, 9))


def bin_end(spec: FleetSpec, k: int) -> float:
    return min((k + 1) * spec.resolution, spec.duration)


def build_world(spec: FleetSpec, layout: Layout, handsets: Sequence[int],
                log: MessageLog | None = None) -> World:
    """The part's world at t=0, not started: every DECT manager, only `handsets` and their users."""
    world = World(layout.profile, seed=spec.seed, dect_managers=layout.managers, log=log)
    with world.store.transaction():
        for n in handsets:
            user = handset_user(n)
            world.add_user(user)
            world.add_handset(handset_ipui(n), user, feature_key_sync=True, dect_manager=layout.dm_of[n])
    return world


def schedule_events(world: World, spec: FleetSpec, handsets: Sequence[int]) -> None:
    """Every event of the study, as calls on the part's world at their times."""
    mine = set(handsets)
    for index, event in enumerate(spec.events):
        if event.kind == "reboot":
            world.at(event.at, world.reboot)
        elif event.kind == "server-restart":
            world.at(event.at, world.server_restart)
        elif event.kind == "outage":
            # The server is unreachable: every datagram to or from it is lost, both ways.
            world.at(event.at, lambda: world.configure_network(loss=1.0))
            world.at(event.end, lambda: world.configure_network(loss=0.0))
        elif event.kind == "portal-burst":
            assert event.value is not None
            chosen = sorted(burst_users(spec.seed, index, spec.handsets, event.value) & mine)
            world.at(event.at, functools.partial(_portal_burst, world, chosen))
        else:
            raise ValueError(f"unknown event kind {event.kind!r}")


def _portal_burst(world: World, handsets: Sequence[int]) -> None:
    """Each chosen user switches Do Not Disturb on the portal (on if it was off, off if it was on)."""
    for n in handsets:
        user = handset_user(n)
        world.portal(user, {"dnd": not world.server.user_state(user).dnd})


class _Sync:
    """Whether a handset is in sync: its account registered and (FKS active) subscribed at the base,
    registered and subscribed at the server, and the handset showing the server's feature state."""

    def __init__(self, world: World, layout: Layout, handsets: Sequence[int]) -> None:
        self.world = world
        self.layout = layout
        self.ipui = {n: handset_ipui(n) for n in handsets}
        self.fks = {n: world.verdict(self.ipui[n]).active for n in handsets}

    def __call__(self, n: int) -> bool:
        world = self.world
        manager = world.system.dms.get(self.layout.dm_of[n])
        line = manager.lines.get(self.ipui[n]) if manager is not None else None
        if line is None or not line.registration.registered:
            return False
        user = handset_user(n)
        server = world.server
        if not server.registrations(user, world.now):
            return False
        if not self.fks[n]:
            return True
        if line.subscription_status != "active" or not server.notifier.subscriptions_of(user):
            return False
        return world.handset(self.ipui[n]).state() == server.user_state(user).as_json()


def run_part(job: PartJob, progress: Progress | None = None) -> PartResult:
    """Run one part of the study from t=0 to its duration (a Dask task: no progress callback there)."""
    spec = job.spec
    layout = check_spec(spec)
    handsets = layout.handsets_of(job.dms)
    counter = TrafficCounter(server=SERVER_ADDRESS, resolution=spec.resolution,
                             keep_messages=job.keep_messages)
    with collector_for_bounded_run():   # a run with an end: see scenarios/world/collector.py
        world = build_world(spec, layout, handsets, counter)
        schedule_events(world, spec, handsets)
        in_sync = _Sync(world, layout, handsets)
        pending = [list(handsets) for _ in spec.events]
        reconverged: list[dict[int, int]] = [{} for _ in spec.events]
        subscriptions: list[int] = []
        world.start()
        for k in range(bins_of(spec)):
            t = bin_end(spec, k)
            world.run(t)
            subscriptions.append(len(world.server.notifier.subscriptions))
            for index, event in enumerate(spec.events):
                # A handset is back in sync at the first bin end after the event is over.
                if pending[index] and t > event.end:
                    still = [n for n in pending[index] if not in_sync(n)]
                    if len(still) < len(pending[index]):
                        reconverged[index][k] = len(pending[index]) - len(still)
                    pending[index] = still
            if progress is not None:
                progress(t)
    return PartResult(handsets=len(handsets), traffic=dict(counter.bins), dect_frames=counter.counts["dect"],
                      subscriptions=subscriptions, reconverged=reconverged,
                      not_reconverged=[len(p) for p in pending], entries=counter.entries)


__all__ = ["PartJob", "PartResult", "bin_end", "bins_of", "build_world", "run_part", "schedule_events"]
