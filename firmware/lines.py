"""What a DECT manager serves and what it puts out: the account `Line` it keeps per handset, the SIP
settings it starts one with, what it needs of the system it belongs to (`SystemContext`), and its
outputs (`SipOut`, `AirOut`, `Notice`). Split from `firmware.dect_manager`, which re-exports them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from dect.events import Link, TransactionRef
from dect.identity import Ipui
from firmware.fks import Command, FksApplication
from firmware.gating import FksVerdict
from firmware.nvm import Account, NvmStore
from sip.call import CallAnswerer
from sip.core import DIRECT_UDP, Core, NextHop
from sip.events import Address
from sip.fac import FeatureCodeCaller
from sip.registration import RegistrationClient
from sip.state import Feature, FeatureState
from sip.subscriber import Subscriber
from sip.uri import SipUri


@dataclass(frozen=True, slots=True, kw_only=True)
class SipOut:
    """Send `data` from DECT manager `dm` to `destination` over `transport` (UDP, TCP or TLS)."""

    dm: int
    data: bytes
    destination: Address
    transport: str = "UDP"


@dataclass(frozen=True, slots=True, kw_only=True)
class AirOut:
    """Send `data` from DECT manager `dm` to the handset on `link`."""

    dm: int
    link: Link
    data: bytes
    name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """A line for the base's system log: something the network sent that the base refused (a request
    from an address that is not the account's peer: `source`) or left out (a NOTIFY part it did not
    understand: `user`, issue 12 §1). Nothing is sent. The live twin prints it, rate-limited per
    source; the simulation writes it into the trace and the result."""

    dm: int
    text: str
    source: Address | None = None
    user: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallNote:
    """What became of an incoming call at the base (`firmware.calls`): offered to the handsets, ringing,
    answered (`ipui`: which handset), rejected (`status`), forwarded (`target`), hung up. Nothing is
    sent; drivers log it (the server only sees the DECT manager's Contact, not the handset)."""

    dm: int
    call_id: str
    user: str
    what: str
    caller: str = ""
    ipui: Ipui | None = None
    status: int | None = None
    target: str | None = None
    why: str = ""


FirmwareOut = SipOut | AirOut | Notice | CallNote


class SystemContext(Protocol):
    """What a DECT manager needs from the system it belongs to (the integrator or the single base)."""

    store: NvmStore

    def verdict(self, ipui: Ipui) -> FksVerdict: ...

    def sip_settings(self, account: Account) -> SipSettings: ...

    def handset_located(self, dm: int, ipui: Ipui, now: float) -> list[FirmwareOut]: ...

    def synced_features(self) -> frozenset[Feature]: ...

    def registration_answered(self, dm: int, ipui: Ipui, now: float) -> list[FirmwareOut]: ...


@dataclass(frozen=True, slots=True, kw_only=True)
class SipSettings:
    """Where and how an account talks SIP (from the SIP provider of the NVM): REGISTER goes to the
    registrar `server`, every other request to `proxy`, each through the outbound proxy of
    `next_hop` when it has one (docs/sip.md, "Transports and next hops")."""

    aor: SipUri
    server: Address
    expires: int
    subscribe_expires: int = 3600
    proxy: Address | None = None   # None: the registrar's address
    next_hop: NextHop = DIRECT_UDP

    @property
    def request_server(self) -> Address:
        """Where SUBSCRIBEs and calls are meant to go (the provider's proxy server)."""
        return self.proxy if self.proxy is not None else self.server


@dataclass(eq=False)
class Line:
    """One handset account served by this DECT manager."""

    ipui: Ipui
    index: int
    account: Account
    registration: RegistrationClient
    fks: FksApplication
    #: The SIP settings the line was started with: its registration, subscription and FAC calls
    #: use the same AOR and server for as long as the line lives.
    settings: SipSettings
    subscriber: Subscriber | None = None
    caller: FeatureCodeCaller | None = None
    #: The account's side of incoming calls (created with the first INVITE, `firmware.calls`).
    answerer: CallAnswerer | None = None
    #: DECT call transactions waiting for the server's answer to a dialled code, per code, in order.
    fac_calls: dict[str, list[TransactionRef]] = field(default_factory=dict)
    sip_status: str = "registering"
    subscription_status: str = "none"
    #: A REGISTER got a 2xx and no refresh or retry has failed since: only then may it subscribe.
    registered: bool = False
    #: Whether the REGISTER has had a final answer yet (the first one ends a roaming hand-over).
    answered: bool = False
    cores: list[Core] = field(default_factory=list)
    #: FKS commands held until the account's turn to start (see `DectManager.add_line`).
    deferred: list[Command] = field(default_factory=list)
    #: What the handset shows, as far as the base knows: what it last indicated (at the start, the
    #: state in the NVM, which the handset kept over the base's reboot).
    shown: FeatureState = field(default_factory=FeatureState)
    #: Features indicated that the handset has not confirmed (by closing the indication's CISS
    #: transaction, or sending a request since): a locate sends them again.
    unconfirmed: set[Feature] = field(default_factory=set)


__all__ = ["AirOut", "CallNote", "FirmwareOut", "Line", "Notice", "SipOut", "SipSettings", "SystemContext"]
