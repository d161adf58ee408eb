"""A whole base system, sans-I/O: the NVM, the gating, and its DECT managers (docs/architecture.md).

One responsibility: what is decided for the system as a whole. It boots and powers off the DECT
managers, answers their questions (`SystemContext`: the FKS verdict of a handset, where an account
talks SIP, a handset located somewhere), moves a handset's account when it roams to another DECT
manager (base-models.md §1: REGISTER moves, the old DECT manager de-registers; the subscription is
re-created from the new one [likely]; Gigaset's order: REGISTER at the new DECT manager first, the
old binding removed once that REGISTER is answered), enforces the profile's capacities at
registration, and carries runtime configuration changes (FKS per handset, internal telephony,
provisioning) to the DECT managers at once.

A driver talks to the system only: `receive_sip(now, dm, data, source)`, `receive_dect(now, dm, link,
data)`, `handle_timer(now)`, `next_deadline()`, and sends each `SipOut` / `AirOut` from the DECT manager
it names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from dect.endpoint import AccessPolicy
from dect.events import Link
from dect.identity import Ipui
from dect.ies import RejectReasonCode
from dect.ies_var import FixedIdentity
from firmware.account_rules import account_problem
from firmware.dect_manager import DectManager, FirmwareOut, Line, SipSettings
from firmware.gating import FksVerdict, fks_verdict, set_internal_telephony
from firmware.nvm import Account, Handset, NvmStore, RegStatus, SipProvider
from firmware.provisioning import Diagnostic, apply, parse_provisioning
from firmware.timers import DeadlineHeap
from models.errors import ConfigError
from models.profiles import ModelProfile
from sip.core import NextHop
from sip.events import Address
from sip.ids import SequentialIds
from sip.state import Feature
from sip.transaction import TimerConfig
from sip.uri import SipUri

#: The registration PIN when neither the handset slot nor the system sets one (the vendor default).
DEFAULT_PIN = "0000"
#: The system's registration PIN parameter (its real name is not published: this project's choice).
SYSTEM_PIN_PARAM = "DmGlobal.0.RegistrationPin"


@dataclass(frozen=True, slots=True, kw_only=True)
class SystemAddresses:
    """Where each DECT manager's SIP stack lives, and the server's address by default."""

    dect_managers: tuple[Address, ...]
    server: Address


def next_hops(provider: SipProvider, started_against: Address) -> tuple[Address, Address, NextHop]:
    """The SIP provider's servers: (registrar, proxy, next hop) (docs/sip.md, "Transports and next
    hops"). REGISTER goes to `RegServerAddress:Port`, other requests to `ProxyServerAddress:Port`
    [choice: an empty registrar means the proxy server, an empty proxy the server the system was
    started against]; `OutboundProxyMode` 1 (always) or 2 (automatic, taken as always: the model has
    no NAT to detect) [choice] with an `OutboundProxyAddress` sends every request through the
    outbound proxy; `TransportProtocol` 1/2/3 is UDP/TCP/TLS (base-models.md §3)."""
    proxy = ((provider.proxy_server_address, provider.proxy_server_port) if provider.proxy_server_address
             else started_against)
    registrar = ((provider.reg_server_address, provider.reg_server_port) if provider.reg_server_address
                 else proxy)
    outbound = ((provider.outbound_proxy_address, provider.outbound_proxy_port)
                if provider.outbound_proxy_mode in (1, 2) and provider.outbound_proxy_address else None)
    return registrar, proxy, NextHop(transport=provider.transport_protocol.name, outbound_proxy=outbound)


class _Policy(AccessPolicy):
    """Registration decisions of one DECT manager, from the NVM and the profile's capacities."""

    def __init__(self, system: BaseSystem, dm: int) -> None:
        self.system = system
        self.dm = dm

    def is_registered(self, ipui: Ipui) -> bool:
        handset = self.system.store.handset(ipui)
        return handset is not None and handset.reg_status is RegStatus.REGISTERED

    def _slot(self, ipui: Ipui) -> Handset | None:
        """The handset's slot, or a slot opened by index (`add_hs value="00003"`) that waits for
        whichever handset registers."""
        store = self.system.store
        handset = store.handset(ipui)
        return handset if handset is not None else next((h for h in store.handsets() if h.ipui is None), None)

    def authentication_code(self, ipui: Ipui) -> str | None:
        """The slot's `DECT_AC`, else the system PIN (`DmGlobal.0.RegistrationPin`), else 0000."""
        handset = self._slot(ipui)
        store = self.system.store
        return (handset.dect_ac if handset is not None else None) or store.system_param(SYSTEM_PIN_PARAM) \
            or DEFAULT_PIN

    def uak(self, ipui: Ipui) -> bytes | None:
        return self.system.store.uak(ipui)

    def store_uak(self, ipui: Ipui, uak: bytes) -> None:
        self.system.store.set_uak(ipui, uak)

    def grant_access(self, ipui: Ipui, pin: str | None) -> RejectReasonCode | None:
        store = self.system.store
        handset = store.handset(ipui)
        if handset is not None and handset.reg_status is RegStatus.REGISTERED:
            return None
        handset = self._slot(ipui)
        if pin != self.authentication_code(ipui):
            return RejectReasonCode.AUTHENTICATION_FAILED
        if not self.system.has_room(self.dm):
            return RejectReasonCode.INSUFFICIENT_MEMORY
        with store.transaction():
            if handset is None:
                store.add_handset(ipui=ipui, reg_status=RegStatus.REGISTERED, dect_manager=self.dm)
            else:
                if handset.ipui is None:
                    store.bind_ipui(handset.index, ipui)
                store.set_reg_status(handset.index, RegStatus.REGISTERED)
                store.set_dect_manager(handset.index, self.dm)
        return None


class BaseSystem:
    def __init__(self, profile: ModelProfile, store: NvmStore, *, addresses: SystemAddresses,
                 seed: str = "fksim", timers: TimerConfig | None = None,
                 fixed_identity: Callable[[int], FixedIdentity] | None = None) -> None:
        managers = len(addresses.dect_managers)
        maximum = profile.capacities.per_system.dect_managers.value
        if not 1 <= managers <= maximum:
            raise ConfigError(f"{profile.id} has 1 to {maximum} DECT manager(s), not {managers}")
        self.profile = profile
        self.store = store
        self.addresses = addresses
        self.seed = seed
        self.timers = timers
        self.fixed_identity = fixed_identity or (lambda dm: FixedIdentity(bits=36, value=0x100000000 + dm))
        self.dms: dict[int, DectManager] = {}
        self._deadlines = DeadlineHeap()   # over the DECT managers: one deadline for the driver
        self.boots = 0
        #: Accounts kept down because a stored value fails `firmware.account_rules`: IPUI -> reason.
        self.not_started: dict[Ipui, str] = {}
        self.user_agent = f"Gigaset {profile.name}/{profile.firmware_version.value} (fksim)"

    # --- power ---------------------------------------------------------------------------------

    @property
    def powered(self) -> bool:
        return bool(self.dms)

    def boot(self, now: float) -> list[FirmwareOut]:
        """Power on: every DECT manager starts and brings up the accounts of the handsets located there."""
        self.boots += 1
        out: list[FirmwareOut] = []
        for number, address in enumerate(self.addresses.dect_managers, start=1):
            self.dms[number] = DectManager(
                system=self, number=number, address=address, policy=_Policy(self, number),
                fixed_identity=self.fixed_identity(number),
                ids=SequentialIds(f"{self.seed}/dm{number}/boot{self.boots}"), timers=self.timers,
                user_agent=self.user_agent)
        out += self._bring_up(now)
        self._touch_all()
        return out

    def _bring_up(self, now: float) -> list[FirmwareOut]:
        """Serve every usable account not served yet: a registered handset with a SIP user name, at
        the DECT manager where it was last located."""
        out: list[FirmwareOut] = []
        for handset in self.store.handsets():
            home = self.dms.get(handset.dect_manager)
            account = self.store.account(handset.index)
            if (handset.ipui is not None and handset.reg_status is RegStatus.REGISTERED and home is not None
                    and account is not None and account.user_name and self.line_of(handset.ipui) is None
                    and self._startable(handset.ipui, account)):
                out += home.add_line(handset.ipui, handset.index, account, now)
        return out

    def _touch_all(self) -> None:
        for manager in self.dms.values():
            self._deadlines.touch(manager)

    def power_off(self) -> None:
        """Power loss: everything volatile is gone at once, nothing more is sent."""
        for manager in self.dms.values():
            self._deadlines.forget(manager)
        self.dms.clear()

    def shutdown(self, now: float) -> list[FirmwareOut]:
        """A clean stop: unsubscribe and un-REGISTER everything (the DECT managers stay until the
        driver has sent that and drops them with `power_off`)."""
        out: list[FirmwareOut] = []
        for dm in self.dms.values():
            out += dm.shutdown(now)
        self._touch_all()
        return out

    # --- driver API ----------------------------------------------------------------------------

    def receive_sip(self, now: float, dm: int, data: bytes, source: Address,
                    transport: str = "UDP") -> list[FirmwareOut]:
        manager = self.dms.get(dm)
        if manager is None:
            return []
        out = manager.receive_sip(now, data, source, transport)
        self._deadlines.touch(manager)
        return out

    def receive_dect(self, now: float, dm: int, link: Link, data: bytes) -> list[FirmwareOut]:
        manager = self.dms.get(dm)
        if manager is None:
            return []
        out = manager.receive_dect(now, link, data)
        self._deadlines.touch(manager)
        return out

    def next_deadline(self) -> float | None:
        return self._deadlines.next_deadline()

    def handle_timer(self, now: float) -> list[FirmwareOut]:
        out: list[FirmwareOut] = []
        for manager in list(self._deadlines.due(now)):
            assert isinstance(manager, DectManager)
            out += manager.handle_timer(now)
            self._deadlines.touch(manager)
        return out

    # --- SystemContext -------------------------------------------------------------------------

    def verdict(self, ipui: Ipui) -> FksVerdict:
        account = self.store.account(ipui)
        return fks_verdict(self.profile, internal_telephony=self.store.internal_telephony,
                           feature_key_sync_active=account is not None and account.feature_key_sync_active)

    def sip_settings(self, account: Account) -> SipSettings:
        provider = self.store.provider(account.provider_id) or self.store.provider(1)
        if provider is None or not provider.domain:
            raise ConfigError(f"SIP provider {account.provider_id} has no domain (SipProvider.<n>.Domain)")
        registrar, proxy, next_hop = next_hops(provider, self.addresses.server)
        return SipSettings(aor=SipUri(user=account.user_name, host=provider.domain), server=registrar,
                           proxy=proxy, next_hop=next_hop, expires=provider.reg_server_refresh_timer)

    def _startable(self, ipui: Ipui, account: Account) -> bool:
        """Whether the account may start. Defence in depth: a stored value that `account_rules` refuses
        (an NVM written before the rules, or by another tool) keeps the account down, with the reason
        in `not_started`, and never reaches the wire."""
        provider = self.store.provider(account.provider_id) or self.store.provider(1)
        problem = account_problem(account, provider, str(ipui))
        if problem is None and (provider is None or not provider.domain):
            problem = f"SIP provider {account.provider_id} has no domain (SipProvider.<n>.Domain)"
        if problem is not None:
            self.not_started[ipui] = problem
            return False
        self.not_started.pop(ipui, None)
        return True

    def synced_features(self) -> frozenset[Feature]:
        """The features this model's profile keeps in sync (the others stay with the base)."""
        return frozenset(Feature(f.value) for f in self.profile.fks_features.value)

    def has_room(self, dm: int) -> bool:
        """The profile's capacities (base-models.md §1): handsets per DECT manager and per system."""
        handsets = [h for h in self.store.handsets() if h.reg_status is RegStatus.REGISTERED]
        caps = self.profile.capacities
        if sum(1 for h in handsets if h.dect_manager == dm) >= caps.per_dect_manager.handsets.value:
            return False
        return len(handsets) < caps.per_system.handsets.value

    def handset_located(self, dm: int, ipui: Ipui, now: float) -> list[FirmwareOut]:
        handset = self.store.handset(ipui)
        if handset is None:
            return []
        out: list[FirmwareOut] = []
        old = self.dms.get(handset.dect_manager) if handset.dect_manager != dm else None
        if handset.dect_manager != dm:
            self.store.set_dect_manager(handset.index, dm)
        manager = self.dms[dm]
        account = self.store.account(handset.index)
        if (ipui not in manager.lines and account is not None and account.user_name
                and self._startable(ipui, account)):
            # Roaming: the new DECT manager REGISTERs first; the old one stops serving the handset
            # (unsubscribes) at once and removes its binding when that REGISTER is answered
            # (`registration_answered`): Gigaset's documented order, some platforms refuse a
            # second contact otherwise.
            out += manager.add_line(ipui, handset.index, account, now)
            if old is not None:
                out += old.hand_over(ipui, now)
                self._deadlines.touch(old)
        elif old is not None:
            out += old.remove_line(ipui, now)
            self._deadlines.touch(old)
        return out + manager.resynchronise(ipui, now)

    def registration_answered(self, dm: int, ipui: Ipui, now: float) -> list[FirmwareOut]:
        """An account's REGISTER at DECT manager `dm` had its first final answer: every other DECT
        manager still keeping a binding for it (a roaming hand-over) removes that binding now."""
        out: list[FirmwareOut] = []
        for number, manager in self.dms.items():
            if number != dm:
                released = manager.release(ipui, now)
                if released:
                    out += released
                    self._deadlines.touch(manager)
        return out

    # --- runtime configuration (web interface, provisioning, scenario steps) -------------------

    def config_changed(self, now: float) -> list[FirmwareOut]:
        """Gating may have changed: every DECT manager subscribes or unsubscribes at once."""
        out: list[FirmwareOut] = []
        for manager in self.dms.values():
            out += manager.reevaluate(now)
        self._touch_all()
        return out

    def set_internal_telephony(self, enabled: bool, now: float) -> list[FirmwareOut]:
        set_internal_telephony(self.profile, self.store, enabled)
        return self.config_changed(now)

    def set_feature_key_sync(self, ipui: Ipui, active: bool, now: float) -> list[FirmwareOut]:
        account = self.store.account(ipui)
        if account is None:
            raise ConfigError(f"handset {ipui} has no SIP account")
        self.store.put_account(ipui, replace(account, feature_key_sync_active=active))
        return self.config_changed(now)

    def apply_provisioning(self, text: str | bytes, source: str, now: float
                           ) -> tuple[list[Diagnostic], list[FirmwareOut]]:
        """Apply a provisioning file while running (one transaction), then carry the changes out."""
        diagnostics = apply(parse_provisioning(text, source=source), self.store, self.profile)
        return diagnostics, self.accounts_changed(now)

    def accounts_changed(self, now: float) -> list[FirmwareOut]:
        """The NVM's handsets or accounts changed (provisioning, the web interface): serve the accounts
        as they are now. A de-registered handset or a deleted account loses its line (un-REGISTER,
        unsubscribe); a changed account is brought up again with its new settings; a newly usable one
        is brought up where its handset is; then gating is re-evaluated."""
        out: list[FirmwareOut] = []
        for number, manager in self.dms.items():
            for ipui, line in list(manager.lines.items()):
                handset = self.store.handset(ipui)
                account = self.store.account(ipui) if handset is not None else None
                if (handset is None or handset.reg_status is not RegStatus.REGISTERED or account is None
                        or not account.user_name or handset.dect_manager != number
                        or not self._startable(ipui, account)):
                    out += manager.remove_line(ipui, now)
                elif _sip_identity(account) != _sip_identity(line.account):
                    # A new SIP identity registers anew; the FKS flag alone is gating's business.
                    out += manager.remove_line(ipui, now)
                    out += manager.add_line(ipui, handset.index, account, now)
                else:
                    line.account = account
        return out + self._bring_up(now) + self.config_changed(now)

    # --- status --------------------------------------------------------------------------------

    def line_of(self, ipui: Ipui) -> Line | None:
        """The account line serving a handset, wherever it is (None: not served right now)."""
        for manager in self.dms.values():
            line = manager.lines.get(ipui)
            if line is not None:
                return line
        return None


def _sip_identity(account: Account) -> tuple[str, str, str, int]:
    """What an account registers with: changing any of it means a new registration."""
    return (account.auth_name, account.auth_password, account.user_name, account.provider_id)
