"""A small world for the application-server tests: the server and real base-side cores (subscriber,
registration client, FAC caller) on `sip.pair.Wire`, with helpers to read the traffic."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from sip.events import Address
from sip.fac import FeatureCodeCaller, FeatureCodeConfig
from sip.ids import SequentialIds
from sip.message import Request, Response, parse_message
from sip.pair import Wire
from sip.registration import RegistrationClient, RegistrationConfig
from sip.server import ApplicationServer, Faults, ServerConfig, User
from sip.subscriber import Subscriber, SubscriberConfig
from sip.uri import SipUri

AS: Address = ("192.0.2.1", 5060)
DOMAIN = "as.example.com"


@dataclass
class World:
    wire: Wire
    server: ApplicationServer
    passwords: dict[str, str] = field(default_factory=dict)

    @property
    def now(self) -> float:
        return self.wire.now

    def aor(self, user: str) -> SipUri:
        return SipUri(user=user, host=DOMAIN)

    def subscriber(self, address: Address, user: str = "2001", password: str | None = None, **cfg: Any) -> Subscriber:
        config = SubscriberConfig(
            aor=self.aor(user), server=AS, local=address, username=user,
            password=password if password is not None else self.passwords.get(user, "x"), **cfg,
        )  # fmt: skip
        core = Subscriber(config, ids=SequentialIds(f"sub-{address}"))
        self.wire.cores[address] = core
        return core

    def caller(self, address: Address, user: str = "2001", password: str | None = None) -> FeatureCodeCaller:
        config = FeatureCodeConfig(
            aor=self.aor(user), server=AS, local=address, username=user,
            password=password if password is not None else self.passwords.get(user, "x"),
        )  # fmt: skip
        core = FeatureCodeCaller(config, ids=SequentialIds(f"call-{address}"))
        self.wire.cores[address] = core
        return core

    def registration(self, address: Address, user: str = "2001", password: str | None = None, **cfg: Any) -> RegistrationClient:
        config = RegistrationConfig(
            aor=self.aor(user), registrar=AS, local=address, username=user,
            password=password if password is not None else self.passwords.get(user, "x"), **cfg,
        )  # fmt: skip
        core = RegistrationClient(config, ids=SequentialIds(f"reg-{address}"))
        self.wire.cores[address] = core
        return core

    def go(self, address: Address, outputs: list[Any]) -> None:
        """Feed a core's outputs (from start/dial/set...) and let the network settle."""
        self.wire.feed(address, outputs)
        self.wire.settle()

    def sent(self, method: str, source: Address | None = None) -> list[Request]:
        out = []
        for _, src, _, data in self.wire.log:
            m = parse_message(data)
            if isinstance(m, Request) and m.method == method and (source is None or src == source):
                out.append(m)
        return out

    def responses(self, status: int | None = None, method: str | None = None, source: Address | None = None) -> list[Response]:
        out = []
        for _, src, _, data in self.wire.log:
            m = parse_message(data)
            if (
                isinstance(m, Response) and (status is None or m.status == status)
                and (method is None or m.cseq.method == method) and (source is None or src == source)
            ):  # fmt: skip
                out.append(m)
        return out


def default_users() -> list[User]:
    return [User(name="2001", password="s3cret"), User(name="2002", password="pw2002"), User(name="2003", password="pw", fks=False)]


@pytest.fixture
def make_world() -> Callable[..., World]:
    def make(users: list[User] | None = None, faults: Faults | None = None, seed: str = "as", **config: Any) -> World:
        users = default_users() if users is None else users
        server = ApplicationServer(
            ServerConfig(local=AS, domain=DOMAIN, **config), users, ids=SequentialIds(seed), faults=faults
        )
        wire = Wire({AS: server})
        return World(wire=wire, server=server, passwords={u.name: u.password for u in users})

    return make
