"""The simulated world as a Python API: a base system of one model, its handsets, the application server
and the links between them, on one simpy clock with one seeded random generator.

One responsibility: assemble and schedule. `World(model)` builds the system; `add_user` and
`add_handset` describe the start; `start()` powers everything on at t=0; the step methods
(`menu`, `keys`, `dial`, `portal`, `fac`, `call`, `hangup`, `reboot`, `server_restart`, `roam`,
`network`, ...) act now,
and `at(t, fn)` schedules any of them; `run(until)` advances the clock. State is read back with
`handset_state`, `handset_display`, `server_state`, `verdict`, and `log` (every DECT frame and SIP
datagram in time order). The scenario runner only wraps this.

Choices (docs/firmware.md, "The simulated world"): a reboot keeps the base down for `BOOT_TIME`
seconds; DECT frames take `DECT_LATENCY`; addresses come from the documentation ranges (RFC 5737),
since nothing leaves the process.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import simpy

from dect.dsaa import a21, authentication_code, b1
from dect.handset import Handset
from dect.identity import Ipui
from dect.paging import PAGE_NAME
from firmware.dect_manager import AirOut, FirmwareOut
from firmware.gating import FksVerdict
from firmware.nvm import Account, NvmStore, RegStatus, SipProvider
from firmware.provisioning import Diagnostic, doc_from_params, parse_provisioning
from firmware.provisioning import apply as apply_provisioning
from firmware.system import DEFAULT_PIN, BaseSystem, SystemAddresses
from models.handset_types import get_handset_type
from models.profiles import ModelProfile, get_profile
from scenarios.world.calls import CallBook
from scenarios.world.drivers import HandsetDriver, PhoneDriver, ServerDriver, SystemDriver
from scenarios.world.links import Address, DectAir, IpNetwork, NetworkSettings
from scenarios.world.log import MessageLog
from sip.fac import FeatureCodeCaller, FeatureCodeConfig
from sip.headers import parse_media_type
from sip.ids import SequentialIds
from sip.multipart import BodyPart
from sip.proxy import ProxyConfig, StatelessProxy
from sip.server.app import ApplicationServer, ServerConfig
from sip.server.users import User, preset_part
from sip.state import Feature, FeatureState
from sip.uri import SipUri

#: Seconds a rebooting base stays down before it is up again [choice].
BOOT_TIME = 30.0
#: One DECT frame's way through the air, seconds (a TDMA frame is 10 ms) [choice].
DECT_LATENCY = 0.010
DOMAIN = "as.example.com"
SERVER_ADDRESS: Address = ("198.51.100.1", 5060)
#: A stateless outbound proxy in front of the server; the base uses it when provisioned to
#: (`SipProvider.1.OutboundProxyMode`/`Address`/`Port`), else it carries nothing.
PROXY_ADDRESS: Address = ("198.51.100.2", 5060)


def dm_address(dm: int) -> Address:
    return (f"192.0.2.{10 + dm}", 5060)


def phone_address(index: int) -> Address:
    return (f"203.0.113.{10 + index}", 5060)


@dataclass(frozen=True, slots=True, kw_only=True)
class HandsetInfo:
    ipui: Ipui
    user: str
    dect_manager: int


class World:
    def __init__(self, model: str | ModelProfile, *, seed: int = 0, dect_managers: int = 1,
                 network: NetworkSettings | None = None, keep_log: bool = True,
                 store: NvmStore | None = None, log: MessageLog | None = None) -> None:
        self.profile = model if isinstance(model, ModelProfile) else get_profile(model)
        self.seed = seed
        self.env = simpy.Environment()
        self.rng = random.Random(seed)
        # `log`: a record of the traffic other than the message list (the fleet study counts as it goes).
        self.log = log if log is not None else MessageLog(keep=keep_log)
        self.net = IpNetwork(self.env, self.rng, self.log, network or NetworkSettings())
        self.air = DectAir(self.env, self.log, latency=DECT_LATENCY)
        self.store = store or NvmStore(":memory:")
        if self.store.provider(1) is None:
            self.store.put_provider(SipProvider(provider_id=1, name="BroadWorks", domain=DOMAIN))
        self.system = BaseSystem(self.profile, self.store, seed=f"fksim-{seed}", addresses=SystemAddresses(
            dect_managers=tuple(dm_address(n) for n in range(1, dect_managers + 1)), server=SERVER_ADDRESS))
        self.multicell = dect_managers > 1
        self.server = ApplicationServer(ServerConfig(local=SERVER_ADDRESS, domain=DOMAIN),
                                        ids=SequentialIds(f"server-{seed}"))
        self.handsets: dict[Ipui, HandsetDriver] = {}
        self._by_link: dict[str, HandsetDriver] = {}   # the same drivers, by DECT link name
        self.phones: dict[str, PhoneDriver] = {}
        self.out_of_range: set[Ipui] = set()
        self.errors: list[str] = []
        self._server_driver = ServerDriver(self.env, self.server, SERVER_ADDRESS, self.net)
        self.proxy = StatelessProxy(ProxyConfig(local=PROXY_ADDRESS, upstream=SERVER_ADDRESS))
        self._proxy_driver = ServerDriver(self.env, self.proxy, PROXY_ADDRESS, self.net, name="proxy")
        self._system_driver = SystemDriver(self.env, self.system, self.net, self._to_handset, self.base_name)
        #: The outside caller's calls (`call`, `hangup`) and what became of them.
        self.calls = CallBook()
        self._server_driver.on_event = self.calls.server_event
        self._system_driver.on_call_note = self.calls.base_note
        #: (time, user, text) of what the base reported (e.g. NOTIFY parts it left out), in order.
        self.started = False

    # --- names ---------------------------------------------------------------------------------

    def base_name(self, dm: int) -> str:
        return f"dm{dm}" if self.multicell else "base"

    @property
    def notices(self) -> list[dict[str, object]]:
        """The base's system-log lines so far, as the result JSON shows them (`user` for a line about
        one account's NOTIFY, which the trace shows on the NOTIFY's own line)."""
        out: list[dict[str, object]] = []
        for t, n in self._system_driver.notices:
            line: dict[str, object] = {"t": round(t, 6), "from": self.base_name(n.dm), "text": n.text}
            if n.user is not None:
                line["user"] = n.user
            out.append(line)
        return out

    @property
    def reports(self) -> list[tuple[float, str, str]]:
        """(time, user, text) of the lines about one account's NOTIFYs (parts left out)."""
        return [(t, n.user, n.text) for t, n in self._system_driver.notices if n.user is not None]

    # --- the start -----------------------------------------------------------------------------

    def add_user(self, user: str, *, password: str | None = None, state: FeatureState | None = None,
                 fks: bool = True) -> None:
        self.server.add_user(User(name=user, password=password or _default_password(user), fks=fks,
                                  state=state or FeatureState()))

    def add_handset(self, ipui: Ipui, user: str, *, password: str | None = None,
                    feature_key_sync: bool = False, dect_manager: int = 1, handset_type: str | None = None,
                    registered: bool = True) -> None:
        """A handset registered to the base (unless `registered=False`) with its SIP account."""
        uak = None
        if registered:
            # Registered before the run: as if by key allocation with the system PIN (EN 300 175-7
            # A21), so the handset and the base hold the same UAK and every locate authenticates.
            seed = hashlib.sha256(f"{self.seed}-{ipui}".encode()).digest()[:8]
            uak = a21(b1(authentication_code(DEFAULT_PIN)), seed)
            with self.store.transaction():
                self.store.add_handset(ipui=ipui, reg_status=RegStatus.REGISTERED, dect_manager=dect_manager)
                self.store.put_account(ipui, Account(
                    auth_name=user, auth_password=password or _default_password(user), user_name=user,
                    display_name=user, feature_key_sync_active=feature_key_sync))
                self.store.set_uak(ipui, uak)
        handset = Handset(ipui, get_handset_type(handset_type) if handset_type else None,
                          fixed_identity=self.system.fixed_identity(dect_manager), registered=registered,
                          uak=uak)
        self.handsets[ipui] = self._by_link[str(ipui)] = HandsetDriver(
            self.env, handset, self.air, dect_manager, self._to_base, self.base_name)

    def provision(self, xml: str, source: str) -> list[Diagnostic]:
        """Apply a provisioning file (at the start, or while running: then carried out at once)."""
        if not self.started:
            return apply_provisioning(parse_provisioning(xml, source=source), self.store, self.profile)
        diagnostics, out = self.system.apply_provisioning(xml, source, self.env.now)
        self._system_driver.send(out)
        return diagnostics

    def set_params(self, params: Mapping[str, str], source: str) -> list[Diagnostic]:
        diagnostics = apply_provisioning(doc_from_params(params, source=source), self.store, self.profile)
        if self.started:
            self._system_driver.send(self.system.config_changed(self.env.now))
        return diagnostics

    def start(self) -> None:
        """Power everything on at the current time (t=0 for a fresh world)."""
        self.started = True
        self._server_driver.pacer.rearm()
        self._system_driver.send(self.system.boot(self.env.now))
        for driver in self.handsets.values():
            driver.handset.power_on(self.env.now)
            driver.flush()

    # --- scheduling ----------------------------------------------------------------------------

    def at(self, t: float, action: Callable[[], Any]) -> None:
        """Run `action` at simulated time `t` (after whatever is already scheduled for that time)."""
        event = self.env.timeout(max(t - self.env.now, 0.0))
        event.callbacks.append(lambda _event: action())

    def run(self, until: float) -> None:
        if until > self.env.now:
            self.env.run(until=until)

    @property
    def now(self) -> float:
        return float(self.env.now)

    # --- the air -------------------------------------------------------------------------------

    def _reachable(self, driver: HandsetDriver) -> bool:
        return self.system.powered and driver.ipui not in self.out_of_range

    def _driver_on(self, link: str) -> HandsetDriver | None:
        """The handset on a DECT link (links are named by the handset's IPUI)."""
        driver = self._by_link.get(link)
        return driver if driver is not None else self.handsets.get(Ipui.parse(link))

    def _to_base(self, dm: int, link: str, data: bytes) -> None:
        driver = self._driver_on(link)
        if driver is not None and self._reachable(driver) and driver.dect_manager == dm:
            self._system_driver.from_air(dm, link, data)

    def _to_handset(self, item: AirOut) -> None:
        driver = self._driver_on(item.link)
        if driver is None:
            return
        dm = item.dm

        def arrive(frame: bytes) -> None:
            if self._reachable(driver) and driver.dect_manager == dm:
                (driver.paged if page else driver.from_base)(frame)

        page = item.name == PAGE_NAME
        self.air.send(self.base_name(dm), driver.name, item.data, arrive, bformat=page)

    def _update_range(self, driver: HandsetDriver) -> None:
        driver.handset.set_in_range(self._reachable(driver), self.env.now)
        driver.flush()

    # --- steps: handsets -----------------------------------------------------------------------

    def handset(self, ipui: Ipui) -> Handset:
        return self.handsets[ipui].handset

    def menu(self, ipui: Ipui, path: Sequence[str], form: Mapping[str, object] | None = None) -> None:
        driver = self.handsets[ipui]
        driver.handset.run_menu([*path, form] if form is not None else list(path), self.env.now)
        driver.flush()

    def keys(self, ipui: Ipui, keys: Sequence[str]) -> None:
        driver = self.handsets[ipui]
        driver.handset.press_keys(keys, self.env.now)
        driver.flush()

    def dial(self, ipui: Ipui, digits: str) -> None:
        driver = self.handsets[ipui]
        driver.handset.dial(digits, self.env.now)
        driver.flush()

    def register(self, ipui: Ipui, pin: str) -> None:
        """The user registers the handset to the base with the PIN (ACCESS-RIGHTS-REQUEST)."""
        driver = self.handsets[ipui]
        driver.handset.register(pin, self.env.now)
        driver.flush()

    def set_out_of_range(self, ipui: Ipui, out: bool) -> None:
        (self.out_of_range.add if out else self.out_of_range.discard)(ipui)
        self._update_range(self.handsets[ipui])

    def roam(self, ipui: Ipui, dect_manager: int) -> None:
        """The handset leaves its DECT manager's cell for another one's and locates itself there."""
        if dect_manager not in self.system.dms and self.system.powered:
            raise ValueError(f"there is no DECT manager {dect_manager}")
        driver = self.handsets[ipui]
        driver.handset.set_in_range(False, self.env.now)
        driver.dect_manager = dect_manager
        self._update_range(driver)

    # --- steps: the base -----------------------------------------------------------------------

    def power_off(self) -> None:
        self.system.power_off()
        self._system_driver.pacer.rearm()
        for driver in self.handsets.values():
            self._update_range(driver)

    def power_on(self) -> None:
        if self.system.powered:
            return
        self._system_driver.send(self.system.boot(self.env.now))
        for driver in self.handsets.values():
            self._update_range(driver)

    def reboot(self) -> None:
        self.power_off()
        self.at(self.env.now + BOOT_TIME, self.power_on)

    def set_internal_telephony(self, enabled: bool) -> None:
        self._system_driver.send(self.system.set_internal_telephony(enabled, self.env.now))

    def set_feature_key_sync(self, ipui: Ipui, active: bool) -> None:
        self._system_driver.send(self.system.set_feature_key_sync(ipui, active, self.env.now))

    # --- steps: the server and the network -----------------------------------------------------

    def portal(self, user: str, state: Mapping[str, Any]) -> None:
        """A change on the server's web portal: `state` maps dnd/cfa/cfb/cfna to their new values."""
        self._server_driver.send(self.server.portal_change(self.env.now, user, **state))

    def fac(self, user: str, code: str) -> None:
        """The user dials a code on another device of theirs (a desk phone on the network)."""
        phone = self.phones.get(user)
        if phone is None:
            address = phone_address(len(self.phones) + 1)
            caller = FeatureCodeCaller(FeatureCodeConfig(
                aor=SipUri(user=user, host=DOMAIN), server=SERVER_ADDRESS, local=address,
                username=user, password=self.server.directory.require(user).password),
                ids=SequentialIds(f"phone-{user}-{self.seed}"))
            phone = self.phones[user] = PhoneDriver(self.env, caller, address, self.net, f"phone:{user}")
        phone.send(phone.core.dial(self.env.now, code))

    def call(self, label: str, caller: str, user: str) -> None:
        """An outside caller (`caller`, a number) calls `user` through the server; `label` names the call."""
        self.calls.placed(label, caller, user, self.env.now)
        self._server_driver.send(self.server.place_call(self.env.now, caller=caller, user=user, label=label))

    def hangup(self, label: str) -> None:
        """The outside caller of call `label` hangs up (CANCEL while it rings, BYE once answered)."""
        if label not in self.calls.calls:
            raise ValueError(f"there is no call {label!r}")
        self._server_driver.send(self.server.hang_up_call(self.env.now, label))

    def call_state(self, label: str) -> dict[str, Any]:
        return self.calls.state(label, self.env.now)

    def server_restart(self) -> None:
        self._server_driver.send(self.server.restart(self.env.now))

    def configure_server(self, *, fks: bool | None = None, reject: Mapping[str, int] | None = None,
                         retry_after: int | None = None, delay: float | None = None,
                         knobs: Mapping[str, Mapping[str, Sequence[Any]]] | None = None) -> None:
        """The server's fault knobs, the per-user FKS switch (spec §2 `server:`), and the per-user
        knobs of `scenarios.server_knobs` (services, extra parts, extra elements)."""
        if knobs:
            self._server_knobs(knobs)
        faults = self.server.faults
        if reject is not None:
            faults.reject = dict(reject)
        if retry_after is not None:
            faults.retry_after = retry_after
        if delay is not None:
            faults.delay = delay
        if fks is not None:
            for name in [user.name for user in self.server.directory]:
                self._server_driver.send(self.server.set_fks(self.env.now, name, fks))

    def _server_knobs(self, knobs: Mapping[str, Mapping[str, Sequence[Any]]]) -> None:
        server = self.server
        for user, parts in knobs.get("extra_parts", {}).items():
            server.set_extra_parts(user, [
                preset_part(kind, user) if not body
                else BodyPart(content_type=parse_media_type(kind), body=str(body).encode("utf-8"))
                for kind, body in parts])  # fmt: skip
        for user, elements in knobs.get("extra_elements", {}).items():
            server.set_extra_elements(user, [str(e) for e in elements])
        for user, services in knobs.get("services", {}).items():
            self._server_driver.send(server.set_services(self.env.now, user, [Feature(s) for s in services]))

    def configure_network(self, **settings: float) -> None:
        """Change the network's impairments; `drop_connections=True` is the fault that breaks every
        TCP/TLS connection now (scenarios/world/links.py)."""
        if settings.pop("drop_connections", False):
            self.net.drop_connections()
        if settings:
            self.net.configure(**settings)

    # --- state ---------------------------------------------------------------------------------

    def handset_state(self, ipui: Ipui) -> dict[str, Any]:
        """The features as the handset shows them confirmed by the base (result format of spec §3)."""
        return self.handset(ipui).state()

    def handset_display(self, ipui: Ipui) -> str:
        return "\n".join(self.handset(ipui).display)

    def server_state(self, user: str) -> dict[str, Any]:
        return self.server.user_state(user).as_json()

    def verdict(self, ipui: Ipui) -> FksVerdict:
        return self.system.verdict(ipui)

    def send(self, outputs: list[FirmwareOut]) -> None:
        self._system_driver.send(outputs)


def _default_password(user: str) -> str:
    """The password of a user whose scenario gives none: derived from the user (spec §2)."""
    return f"pw-{user}"
