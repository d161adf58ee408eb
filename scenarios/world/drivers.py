"""simpy drivers around the sans-I/O objects: thin, one per object (conventions point 8).

A driver does three things: feed what arrives on a link into its object with `now`, put what the
object returns on the links, and call `handle_timer(now)` when the object's `next_deadline()` passes
(`Pacer`). Nothing here decides anything about SIP, DECT or FKS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import simpy

from dect.handset import Handset
from dect.identity import Ipui
from firmware.dect_manager import AirOut, CallNote, FirmwareOut, Notice, SipOut
from firmware.system import BaseSystem
from scenarios.world.links import Address, DectAir, IpNetwork
from sip.events import SendDatagram


class Timed(Protocol):
    def next_deadline(self) -> float | None: ...

    def handle_timer(self, now: float) -> Any: ...


class Pacer:
    """Calls `target.handle_timer` when its deadline passes; `rearm()` after every other call into it.

    Each re-arm schedules a simpy timeout carrying a token; a timeout whose token is no longer the
    newest is ignored, so a moved deadline needs no cancelling. The time handed to `handle_timer` is
    never before the deadline, whatever floating-point rounding made of `now + (deadline - now)`.
    """

    def __init__(self, env: simpy.Environment, target: Timed, on_outputs: Callable[[Any], None]) -> None:
        self.env = env
        self.target = target
        self.on_outputs = on_outputs
        self._armed: float | None = None
        self._token = 0
        self.enabled = True

    def rearm(self) -> None:
        deadline = self.target.next_deadline() if self.enabled else None
        if deadline == self._armed:
            return
        self._armed = deadline
        self._token += 1
        if deadline is None:
            return
        token = self._token
        event = self.env.timeout(max(deadline - self.env.now, 0.0))
        event.callbacks.append(lambda _event: self._fire(token, deadline))

    def _fire(self, token: int, deadline: float) -> None:
        if token != self._token:
            return
        self._armed = None
        self.on_outputs(self.target.handle_timer(max(self.env.now, deadline)))
        self.rearm()


class SystemDriver:
    """The base system on the network (one address per DECT manager) and on the air."""

    def __init__(self, env: simpy.Environment, system: BaseSystem, net: IpNetwork,
                 deliver_air: Callable[[AirOut], None], names: Callable[[int], str]) -> None:
        self.env = env
        self.system = system
        self.net = net
        self.deliver_air = deliver_air
        self.pacer = Pacer(env, system, self.send)
        #: (time, line) of every line the base wrote to its system log (`Notice`: a request it
        #: refused, a NOTIFY part it left out)
        self.notices: list[tuple[float, Notice]] = []
        #: Where the base's notes about incoming calls go (the world's call book), if anywhere.
        self.on_call_note: Callable[[CallNote, float], None] | None = None
        for dm, address in enumerate(system.addresses.dect_managers, start=1):
            net.attach(address, self._receiver(dm), names(dm))

    def _receiver(self, dm: int) -> Callable[[bytes, Address], None]:
        def receive(data: bytes, source: Address) -> None:
            self.send(self.system.receive_sip(self.env.now, dm, data, source))

        return receive

    def send(self, outputs: list[FirmwareOut]) -> None:
        for item in outputs:
            if isinstance(item, SipOut):
                self.net.send(self.system.addresses.dect_managers[item.dm - 1], item.destination, item.data,
                              item.transport)
            elif isinstance(item, AirOut):
                self.deliver_air(item)
            elif isinstance(item, Notice):
                self.notices.append((self.env.now, item))
            elif isinstance(item, CallNote) and self.on_call_note is not None:
                self.on_call_note(item, self.env.now)
        self.pacer.rearm()

    def from_air(self, dm: int, link: str, data: bytes) -> None:
        self.send(self.system.receive_dect(self.env.now, dm, link, data))


class HandsetDriver:
    """One emulated handset and where it is: which DECT manager's cell, in range or not."""

    def __init__(self, env: simpy.Environment, handset: Handset, air: DectAir, dect_manager: int,
                 to_base: Callable[[int, str, bytes], None], base_name: Callable[[int], str]) -> None:
        self.env = env
        self.handset = handset
        self.air = air
        self.dect_manager = dect_manager
        self.to_base = to_base
        self.base_name = base_name
        self.name = f"handset:{handset.ipui}"
        self.pacer = Pacer(env, handset, lambda _events: self.flush())

    @property
    def ipui(self) -> Ipui:
        return self.handset.ipui

    def flush(self) -> None:
        """Put what the handset queued on the air, towards the DECT manager whose cell it is in."""
        dm = self.dect_manager
        link = str(self.ipui)

        def arrive(frame: bytes) -> None:
            self.to_base(dm, link, frame)

        for data in self.handset.take_outgoing():
            self.air.send(self.name, self.base_name(dm), data, arrive)
        self.pacer.rearm()

    def from_base(self, data: bytes) -> None:
        self.handset.receive(data, self.env.now)
        self.flush()

    def paged(self, data: bytes) -> None:
        """A page heard on the paging channel: the handset answers it if it names it."""
        self.handset.paged(data, self.env.now)
        self.flush()


class PhoneDriver:
    """Another device of a user (a desk phone) on the network, dialling feature access codes."""

    def __init__(self, env: simpy.Environment, core: Any, address: Address, net: IpNetwork,
                 name: str) -> None:
        self.env = env
        self.core = core
        self.address = address
        self.net = net
        self.pacer = Pacer(env, core, self.send)
        net.attach(address, self._receive, name)

    def _receive(self, data: bytes, source: Address) -> None:
        self.send(self.core.receive(self.env.now, data, source))

    def send(self, outputs: list[Any]) -> None:
        for item in outputs:
            if isinstance(item, SendDatagram):
                self.net.send(self.address, item.destination, item.data, item.transport)
        self.pacer.rearm()


class ServerDriver:
    """The application server (or the outbound proxy, under another name) on the network."""

    def __init__(self, env: simpy.Environment, server: Any, address: Address, net: IpNetwork,
                 name: str = "server") -> None:
        self.env = env
        self.server = server
        self.address = address
        self.net = net
        self.pacer = Pacer(env, server, self.send)
        #: Where the server's other outputs (events such as a call's outcome) go, if anywhere.
        self.on_event: Callable[[Any, float], None] | None = None
        net.attach(address, self._receive, name)

    def _receive(self, data: bytes, source: Address) -> None:
        self.send(self.server.receive(self.env.now, data, source))

    def send(self, outputs: list[Any]) -> None:
        for item in outputs:
            if isinstance(item, SendDatagram):
                self.net.send(self.address, item.destination, item.data, item.transport)
            elif self.on_event is not None:
                self.on_event(item, self.env.now)
        self.pacer.rearm()
