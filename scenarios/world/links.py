"""Simulated transports: the IP network between bases and the server, and the DECT air per handset.

All randomness comes from one `random.Random` passed in (conventions point 8), and every random draw
happens in a fixed order for a given sequence of sends, so the same seed gives the same deliveries.
Links only move bytes and record them in the `MessageLog`; they know nothing of SIP or DECT.

SIP over TCP or TLS is modelled as a connection between the two addresses (RFC 3261 §18): nothing is
lost, duplicated or reordered inside it (the impairments of `NetworkSettings` apply to UDP only),
messages arrive in the order sent, and the first message on a new connection waits for its set-up
(`SETUP_ROUND_TRIPS`). `drop_connections()` is the fault: every connection breaks at once, what is in
flight on them is lost (marked `[lost]` in the log), and the next message opens a new connection.
The endpoints are not told [choice]: a request lost with a connection times out (Timer B/F), as
when a middlebox silently forgets a connection.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

import simpy

from models.errors import ConfigError
from scenarios.world.log import MessageLog

Address = tuple[str, int]
Receiver = Callable[[bytes, Address], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class NetworkSettings:
    """Impairments of the base <-> server network, applied per datagram and per direction.

    latency and jitter are seconds: each datagram takes latency + uniform(0, jitter). `reorder` is
    the probability that a datagram is held back by an extra 2 x latency + 10 ms, so that later
    ones overtake it; `duplicate` the probability that a second copy follows 1 ms after the first.
    """

    latency: float = 0.020
    jitter: float = 0.0
    loss: float = 0.0
    duplicate: float = 0.0
    reorder: float = 0.0

    def __post_init__(self) -> None:
        for name in ("latency", "jitter"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative, got {getattr(self, name)}", where="network")
        for name in ("loss", "duplicate", "reorder"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} is a probability between 0 and 1, got {value}", where="network")

    def updated(self, **changes: Any) -> NetworkSettings:
        known = {f.name for f in fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(f"unknown setting {unknown[0]!r}; known: {', '.join(sorted(known))}",
                              where="network")
        return replace(self, **changes)


#: Round trips (2 x latency) before the first message on a new connection: TCP's handshake, and one
#: more for TLS 1.3's [choice].
SETUP_ROUND_TRIPS = {"TCP": 1, "TLS": 2}

#: Extra delay of a reordered datagram beyond 2 x latency, seconds.
REORDER_EXTRA = 0.010
#: Gap between a datagram and its duplicate, seconds.
DUPLICATE_GAP = 0.001


@dataclass
class _Connection:
    """One simulated TCP/TLS connection: when the last message queued each way arrives."""

    number: int
    last: dict[tuple[Address, Address], float] = field(default_factory=dict)
    #: log entries of messages still in flight on it, by delivery time (marked lost if it breaks)
    in_flight: dict[int, float] = field(default_factory=dict)


class IpNetwork:
    """A UDP-like datagram network between named hosts, with the impairments of `NetworkSettings`,
    and TCP/TLS connections over it (see the module docstring).

    Hosts attach with `attach(address, receiver, name)`; `send` logs the datagram at send time and
    schedules its delivery (or drops it). A datagram to an address nobody is attached to at delivery
    time is lost silently, as UDP to a host that is down.
    """

    def __init__(self, env: simpy.Environment, rng: random.Random, log: MessageLog,
                 settings: NetworkSettings | None = None) -> None:
        self.env = env
        self.rng = rng
        self.log = log
        self.settings = settings or NetworkSettings()
        self._receivers: dict[Address, Receiver] = {}
        self._names: dict[Address, str] = {}
        self.connections: dict[tuple[Address, Address, str], _Connection] = {}
        self.connections_opened = 0
        self.connections_dropped = 0

    def attach(self, address: Address, receiver: Receiver, name: str) -> None:
        self._receivers[address] = receiver
        self._names[address] = name

    def detach(self, address: Address) -> None:
        self._receivers.pop(address, None)

    def name_of(self, address: Address) -> str:
        return self._names.get(address, f"{address[0]}:{address[1]}")

    def configure(self, **changes: Any) -> None:
        self.settings = self.settings.updated(**changes)

    def send(self, src: Address, dst: Address, data: bytes, transport: str = "UDP") -> None:
        if transport != "UDP":
            self._send_stream(src, dst, data, transport)
            return
        s = self.settings
        # Draw every random number for this datagram in one fixed order, whatever the outcome.
        lost = self.rng.random() < s.loss
        delay = s.latency + (self.rng.uniform(0.0, s.jitter) if s.jitter else 0.0)
        reordered = self.rng.random() < s.reorder
        duplicated = self.rng.random() < s.duplicate
        log = self.log
        if log.keep:
            log.record_sip(self.env.now, self._names.get(src, str(src)), self.name_of(dst), src, dst, data,
                           lost=lost)
        else:
            log.counts["sip"] += 1   # a log that keeps nothing (benchmarks) needs no names
        if lost:
            return
        if reordered:
            delay += 2 * s.latency + REORDER_EXTRA
        self._deliver_later(delay, src, dst, data)
        if duplicated:
            self._deliver_later(delay + DUPLICATE_GAP, src, dst, data)

    def _send_stream(self, src: Address, dst: Address, data: bytes, transport: str) -> None:
        s = self.settings
        now = self.env.now
        delay = s.latency + (self.rng.uniform(0.0, s.jitter) if s.jitter else 0.0)
        key = (min(src, dst), max(src, dst), transport)
        conn = self.connections.get(key)
        if conn is None:
            self.connections_opened += 1
            conn = self.connections[key] = _Connection(number=self.connections_opened)
            delay += SETUP_ROUND_TRIPS.get(transport, 1) * 2 * s.latency
        # In order: never before the message sent ahead of it on this connection, this way.
        when = max(now + delay, conn.last.get((src, dst), 0.0))
        conn.last[(src, dst)] = when
        log = self.log
        entry = -1
        if log.keep:
            log.record_sip(now, self._names.get(src, str(src)), self.name_of(dst), src, dst, data)
            entry = len(log.entries) - 1
        else:
            log.counts["sip"] += 1
        number = conn.number
        conn.in_flight[entry] = when
        event = self.env.timeout(when - now)
        event.callbacks.append(lambda _event: self._deliver_stream(key, number, entry, src, dst, data))

    def _deliver_stream(self, key: tuple[Address, Address, str], number: int, entry: int, src: Address,
                        dst: Address, data: bytes) -> None:
        conn = self.connections.get(key)
        if conn is None or conn.number != number:
            return   # the connection broke while this was in flight (already marked lost)
        conn.in_flight.pop(entry, None)
        self._deliver(src, dst, data)

    def drop_connections(self) -> None:
        """The fault step: every connection breaks now; what is in flight on them is lost."""
        log = self.log
        for conn in self.connections.values():
            for entry in conn.in_flight:
                if entry >= 0 and log.keep:
                    log.entries[entry] = replace(log.entries[entry], lost=True)
        self.connections_dropped += len(self.connections)
        self.connections.clear()

    def _deliver_later(self, delay: float, src: Address, dst: Address, data: bytes) -> None:
        event = self.env.timeout(delay)
        event.callbacks.append(lambda _event: self._deliver(src, dst, data))

    def _deliver(self, src: Address, dst: Address, data: bytes) -> None:
        receiver = self._receivers.get(dst)
        if receiver is not None:
            receiver(data, src)


class DectAir:
    """The radio link between one handset and the base (or DECT manager) it is locked to.

    Frames take `latency` seconds. Out of range, nothing crosses in either direction; the handset
    emulator knows it is out of range and refuses requests itself, so no frame is sent then.
    """

    def __init__(self, env: simpy.Environment, log: MessageLog, *, latency: float = 0.010) -> None:
        self.env = env
        self.log = log
        self.latency = latency

    def send(self, src: str, dst: str, data: bytes, deliver: Callable[[bytes], None], *,
             bformat: bool = False) -> None:
        """`bformat`: a page on the paging channel (LCE-REQUEST-PAGE) rather than an NWK frame."""
        self.log.record_dect(self.env.now, src, dst, data, bformat=bformat)
        event = self.env.timeout(self.latency)
        event.callbacks.append(lambda _event: deliver(data))
