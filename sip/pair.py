"""A tiny deterministic network for tests: cores wired together without simpy.

One responsibility: deliver `SendDatagram`s between cores by address, fire their timers on a fake
clock, and collect their other events. Chosen datagrams can be dropped or duplicated; `run(until)`
processes everything up to a time, `settle()` runs until no datagram is in flight.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from sip.events import Address, Output, SendDatagram, SetRequestReceived, SubscribeReceived
from sip.feature_event import (
    DoNotDisturbEvent,
    FeatureEvent,
    FeatureSet,
    ForwardingEvent,
    ForwardingType,
    SetDoNotDisturb,
)
from sip.notifier import Notifier


class SipCore(Protocol):
    def receive(self, now: float, data: bytes, source: Address) -> list[Output]: ...
    def handle_timer(self, now: float) -> list[Output]: ...
    def next_deadline(self) -> float | None: ...


#: (datagram octets, source, destination) -> True to act on it.
Match = Callable[[bytes, Address, Address], bool]


@dataclass
class _Rule:
    match: Match
    count: int
    hits: int = 0


@dataclass
class Wire:
    """Cores by address, a fake clock, a queue of datagrams in flight and a log of all traffic."""

    cores: dict[Address, SipCore]
    now: float = 0.0
    latency: float = 0.01
    events: dict[Address, list[Output]] = field(default_factory=dict)
    #: address -> application reacting at once to that core's events (returns the core's outputs)
    apps: dict[Address, Callable[[float, Output], list[Output]]] = field(default_factory=dict)
    log: list[tuple[float, Address, Address, bytes]] = field(default_factory=list)
    dropped: list[bytes] = field(default_factory=list)
    _flight: deque[tuple[float, Address, Address, bytes]] = field(default_factory=deque)
    _drops: list[_Rule] = field(default_factory=list)
    _dups: list[_Rule] = field(default_factory=list)

    def drop(self, match: Match, count: int = 1) -> None:
        """Drop the next `count` datagrams that match."""
        self._drops.append(_Rule(match, count))

    def duplicate(self, match: Match, count: int = 1) -> None:
        """Deliver the next `count` matching datagrams twice."""
        self._dups.append(_Rule(match, count))

    def feed(self, source: Address, outputs: list[Output]) -> None:
        """Take a core's outputs: datagrams go in flight, the rest into `events[source]` and, when an
        application is attached at `source`, to it (its answers are fed back in turn)."""
        for item in outputs:
            if isinstance(item, SendDatagram):
                self._send(source, item)
            else:
                self.events.setdefault(source, []).append(item)
                app = self.apps.get(source)
                if app is not None:
                    self.feed(source, app(self.now, item))

    def _send(self, source: Address, item: SendDatagram) -> None:
        self.log.append((self.now, source, item.destination, item.data))
        if self._hit(self._drops, item.data, source, item.destination):
            self.dropped.append(item.data)
            return
        copies = 2 if self._hit(self._dups, item.data, source, item.destination) else 1
        for _ in range(copies):
            self._flight.append((self.now + self.latency, source, item.destination, item.data))

    @staticmethod
    def _hit(rules: list[_Rule], data: bytes, source: Address, destination: Address) -> bool:
        for rule in rules:
            if rule.hits < rule.count and rule.match(data, source, destination):
                rule.hits += 1
                return True
        return False

    def _next_timer(self) -> tuple[float, Address] | None:
        best: tuple[float, Address] | None = None
        for address, core in self.cores.items():
            d = core.next_deadline()
            if d is not None and (best is None or d < best[0]):
                best = (d, address)
        return best

    def step(self, until: float) -> bool:
        """Process the earliest datagram or timer at or before `until`; False when there is none."""
        timer = self._next_timer()
        arrival = self._flight[0][0] if self._flight else None
        if arrival is not None and arrival <= until and (timer is None or arrival <= timer[0]):
            when, source, destination, data = self._flight.popleft()
            self.now = max(self.now, when)
            core = self.cores.get(destination)
            if core is not None:
                self.feed(destination, core.receive(self.now, data, source))
            return True
        if timer is not None and timer[0] <= until:
            self.now = max(self.now, timer[0])
            self.feed(timer[1], self.cores[timer[1]].handle_timer(self.now))
            return True
        return False

    def run(self, until: float, max_steps: int = 100_000) -> None:
        """Run everything due up to `until` (absolute time), then set the clock to `until`."""
        for _ in range(max_steps):
            if not self.step(until):
                self.now = max(self.now, until)
                return
        raise RuntimeError("network did not quiesce")  # pragma: no cover - a livelock in a test

    def settle(self, horizon: float = 0.0) -> None:
        """Run until nothing is in flight and no timer is due within `horizon` seconds of the clock."""
        for _ in range(100_000):
            if self._flight:
                self.step(max(self._flight[0][0], self.now + horizon))
                continue
            timer = self._next_timer()
            if timer is None or timer[0] > self.now + horizon:
                return
            self.step(self.now + horizon)
        raise RuntimeError("network did not quiesce")  # pragma: no cover

    def take(self, address: Address) -> list[Output]:
        """Return and clear the events collected from the core at `address`."""
        return self.events.pop(address, [])


class FeatureServer:
    """A minimal application for a `Notifier` in tests: answers every SUBSCRIBE with the user's full
    state (or with `reject_status`), applies Set requests and notifies every subscription of the user
    (feature-key-sync.md §2 steps 2-4). The real application server is built on the same calls."""

    def __init__(self, notifier: Notifier, *, device: str = "device") -> None:
        self.notifier = notifier
        self.device = device
        self.dnd: dict[str, bool] = {}
        self.forwarding: dict[tuple[str, ForwardingType], ForwardingEvent] = {}
        self.reject_status: int | None = None
        self.retry_after: int | None = None
        self.sets: list[FeatureSet] = []

    def state(self, user: str) -> list[FeatureEvent]:
        items: list[FeatureEvent] = [DoNotDisturbEvent(device=self.device, on=self.dnd.get(user, False))]
        for ftype in ForwardingType:
            items.append(
                self.forwarding.get((user, ftype))
                or ForwardingEvent(device=self.device, forwarding_type=ftype, status=False)
            )
        return items

    def __call__(self, now: float, event: Output) -> list[Output]:
        if isinstance(event, SubscribeReceived):
            if self.reject_status is not None:
                return self.notifier.reject(
                    now, event.request_id, self.reject_status, retry_after=self.retry_after
                )
            return self.notifier.accept(now, event.request_id, self.state(event.user))
        if isinstance(event, SetRequestReceived):
            self.sets.append(event.item)
            out = self.notifier.accept(now, event.request_id)
            changed = self.apply(event.user, event.item)
            for sid in self.notifier.subscriptions_of(event.user):
                out += self.notifier.notify(now, sid, [changed])
            return out
        return []

    def apply(self, user: str, item: FeatureSet) -> FeatureEvent:
        if isinstance(item, SetDoNotDisturb):
            self.dnd[user] = item.on
            return DoNotDisturbEvent(device=self.device, on=item.on)
        event = ForwardingEvent(
            device=self.device, forwarding_type=item.forwarding_type, status=item.activate,
            forward_to=item.forward_dn, ring_count=item.ring_count,
        )  # fmt: skip
        self.forwarding[(user, item.forwarding_type)] = event
        return event


__all__ = ["FeatureServer", "Match", "SipCore", "Wire"]
