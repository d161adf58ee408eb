"""The live twin: the same `BaseSystem`, handset emulators and application server as the simulated
world, driven by simpy's real-time clock and real UDP sockets instead of simulated links.

One responsibility: assemble and drive (conventions point 2: a second thin driver around the same
sans-I/O cores). One thread owns every core and the NVM store: the thread that calls `run()`. It
runs a `simpy.rt.RealtimeEnvironment`; `Pacer` (the world's generic timer driver) calls each core's
`handle_timer` when its deadline passes, and a poll process every `TICK` seconds reads the sockets
and carries out calls handed in from other threads (`call`, used by the web interface's backend).

- SIP: one endpoint per DECT manager (the first at `--sip-bind`): a UDP socket, TCP and TLS
  connections as the provider's `TransportProtocol` asks (`SipTransport`; a TCP listener on the same
  port for TCP), to an external server or outbound proxy, or to the embedded `ApplicationServer` on
  its own loopback UDP socket, with one demo user per handset account.
- DECT: in-process, as in the world (`DectAir`, `HandsetDriver`): an emulated handset for every
  handset of the NVM with an IPUI, powered on at start; one still waiting to register (`ToReg`)
  registers itself with its PIN, as a user would.
- Stop (`request_stop`, safe from a signal handler): the system unsubscribes and un-REGISTERs every
  account (`BaseSystem.shutdown`), the twin waits until every request sent then is answered (at most
  `shutdown_wait` seconds), then powers off.
"""

from __future__ import annotations

import concurrent.futures
import logging
import queue
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import simpy
import simpy.rt

from dect.handset import Handset
from dect.identity import Ipui
from dect.paging import PAGE_NAME
from firmware.dect_manager import AirOut, CallNote, FirmwareOut, Notice, SipOut
from firmware.fks import FksState
from firmware.nvm import NvmStore, RegStatus, SipProvider
from firmware.provisioning import Diagnostic, apply, parse_provisioning
from firmware.system import DEFAULT_PIN, SYSTEM_PIN_PARAM, BaseSystem, SystemAddresses
from firmware.web.backend import HandsetRuntime, RuntimeView
from models.errors import FksimError
from models.handset_types import get_handset_type
from models.profiles import ModelProfile, get_profile
from scenarios.live.eventlog import EventLog, log
from scenarios.live.ratelog import RateLimitedLog
from scenarios.live.recorder import RecordedHandset, Recording
from scenarios.live.transport import SipTransport, open_transport, tls_context
from scenarios.live.udp import format_address
from scenarios.world.drivers import HandsetDriver, Pacer
from scenarios.world.links import DectAir
from scenarios.world.log import MessageLog
from sip.events import Address, SendDatagram
from sip.ids import SequentialIds, random_seed
from sip.server.app import ApplicationServer, ServerConfig
from sip.server.users import User
from sip.state import FeatureState

#: Seconds between two looks at the sockets and the queue of calls from other threads [choice].
TICK = 0.005
#: One DECT frame's way through the air, as in the simulated world.
DECT_LATENCY = 0.010
DEFAULT_DOMAIN = "as.example.com"

T = TypeVar("T")


class NotRunning(FksimError):
    """The twin has stopped (or is stopping): nothing more is carried out."""


@dataclass(frozen=True, kw_only=True)
class LiveConfig:
    model: str
    state: str
    sip_bind: Address = ("127.0.0.1", 5060)
    #: The SIP server; None: the embedded application server, bound at `embedded_bind`.
    server: Address | None = None
    embedded_bind: Address = ("127.0.0.1", 5070)
    provision: tuple[str, bytes] | None = None  # (source name, file contents)
    dect_managers: int = 1
    domain: str = DEFAULT_DOMAIN
    shutdown_wait: float = 3.0
    #: PEM file of the CAs a TLS server's certificate must chain to; None: the system's trust store.
    tls_ca: str | None = None
    #: Start even when the provisioning file has errors (the items in error are skipped); else a
    #: file with errors stops the start with `ProvisioningError` and nothing is applied.
    keep_going: bool = False


@dataclass
class _Shutdown:
    deadline: float
    requests: int = 0
    answers: int = 0
    last: float = 0.0


@dataclass
class _Ticket:
    fn: Callable[[], Any]
    future: concurrent.futures.Future[Any] = field(default_factory=concurrent.futures.Future)


class LiveTwin:
    """A running base. Build it, then `start()` and `run()` in the thread that built it."""

    def __init__(self, config: LiveConfig) -> None:
        self.config = config
        self.profile: ModelProfile = get_profile(config.model)
        self.store = NvmStore(config.state)
        self.diagnostics: list[Diagnostic] = []
        self.sockets: list[SipTransport] = []
        #: The syslog-like event log (scenarios.live.eventlog): state changes, requests, outcomes.
        self.events = EventLog()
        try:
            self._prepare_store()
            self._open(config)
        except BaseException:
            self.close()
            raise
        self.env = simpy.rt.RealtimeEnvironment(factor=1.0, strict=False)
        self.started_at = time.time()
        self.air = DectAir(self.env, MessageLog(keep=False), latency=DECT_LATENCY)
        self.system_pacer = Pacer(self.env, self.system, self.send)
        self.server_pacer = Pacer(self.env, self.server, self._server_send) if self.server else None
        self.handsets: dict[Ipui, HandsetDriver] = {}
        self.recording: Recording | None = None
        self.on_stop: list[Callable[[], None]] = []
        self._calls: queue.Queue[_Ticket] = queue.Queue()
        self._stop_requested = False
        self._shutdown: _Shutdown | None = None
        self.running = False
        self.stopped = False
        self.dropped = 0
        #: requests the base refused (a NOTIFY or BYE from an address that is not the account's peer)
        self.refused = 0
        self.netlog = RateLimitedLog(write=lambda text: log(logging.WARNING, "network", text))

    # --- assembly ------------------------------------------------------------------------------

    def _prepare_store(self) -> None:
        if self.config.provision is not None:
            source, data = self.config.provision
            self.diagnostics = apply(parse_provisioning(data, source=source), self.store, self.profile,
                                     strict=not self.config.keep_going)
            errors = sum(1 for d in self.diagnostics if d.is_error)
            self.events.provisioning(source, errors, len(self.diagnostics) - errors)
        if self.store.provider(1) is None:
            self.store.put_provider(SipProvider(provider_id=1, name="BroadWorks", domain=self.config.domain))

    def _open(self, config: LiveConfig) -> None:
        # Call-IDs, tags and branches: 64 unpredictable bits each, from a seed of the OS (issue 11).
        run_id = random_seed()
        tls = tls_context(config.tls_ca)
        provider = self.store.provider(1)
        self.transport = provider.transport_protocol.name if provider is not None else "UDP"
        listen = self.transport == "TCP"   # a TCP peer may open its own connection to our Contact
        self.sockets.append(open_transport(config.sip_bind, "DECT manager 1", listen, tls))
        host = config.sip_bind[0]
        for dm in range(2, config.dect_managers + 1):
            self.sockets.append(open_transport((host, 0), f"DECT manager {dm}", listen, tls))
        self.server: ApplicationServer | None = None
        self.server_socket: SipTransport | None = None
        if config.server is None:
            # Over UDP, and over TCP when the base speaks TCP (no TLS: it has no certificate) [choice].
            self.server_socket = open_transport(config.embedded_bind, "embedded application server", listen)
            provider = self.store.provider(1)
            domain = provider.domain if provider is not None and provider.domain else config.domain
            self.server = ApplicationServer(ServerConfig(local=self.server_socket.address, domain=domain),
                                            ids=SequentialIds(f"fksim-live-as-{run_id}"))
            self._add_demo_users()
            server_address = self.server_socket.address
        else:
            server_address = config.server
        self.server_address = server_address
        self.system = BaseSystem(self.profile, self.store, seed=f"fksim-live-{run_id}",
                                 addresses=SystemAddresses(
                                     dect_managers=tuple(s.address for s in self.sockets),
                                     server=server_address))

    def _add_demo_users(self) -> None:
        """The embedded server knows one user per handset account (its password, all features off)."""
        if self.server is None:
            return
        known = {user.name for user in self.server.directory}
        for handset in self.store.handsets():
            account = self.store.account(handset.index)
            if account is None or not account.user_name or account.user_name in known:
                continue
            name = account.auth_name or account.user_name
            if name != account.user_name:
                continue  # the digest user must be the user: give it no demo user rather than a wrong one
            self.server.add_user(User(name=account.user_name, password=account.auth_password,
                                      state=FeatureState()))
            known.add(account.user_name)

    @property
    def server_text(self) -> str:
        where = format_address(self.server_address)
        text = f"{where} (embedded)" if self.server is not None else where
        provider = self.store.provider(1)
        if provider is not None and provider.outbound_proxy_mode in (1, 2) \
                and provider.outbound_proxy_address:
            proxy = format_address((provider.outbound_proxy_address, provider.outbound_proxy_port))
            text += f" via outbound proxy {proxy}"
        return text if self.transport == "UDP" else f"{text} over {self.transport}"

    @property
    def now(self) -> float:
        return float(self.env.now)

    # --- handsets ------------------------------------------------------------------------------

    def _sync_handsets(self) -> None:
        """An emulated handset for every handset of the NVM with an IPUI; forget the removed ones."""
        wanted: dict[Ipui, Any] = {}
        for handset in self.store.handsets():
            if handset.ipui is not None and handset.reg_status in (RegStatus.REGISTERED, RegStatus.TO_REG,
                                                                   RegStatus.IN_REG):
                wanted[handset.ipui] = handset
        for ipui in [i for i in self.handsets if i not in wanted]:
            self.handsets.pop(ipui).handset.power_off()
        for ipui, handset in wanted.items():
            if ipui in self.handsets:
                continue
            registered = handset.reg_status is RegStatus.REGISTERED
            # It keeps the UAK the key allocation gave it, as the base's NVM does.
            emulator = Handset(ipui, get_handset_type(),
                               fixed_identity=self.system.fixed_identity(handset.dect_manager),
                               registered=registered, uak=self.store.uak(ipui))
            driver = HandsetDriver(self.env, emulator, self.air, handset.dect_manager, self._to_base,
                                   self._base_name)
            self.handsets[ipui] = driver
            if self.running:
                self._power_on(driver, handset)

    def _power_on(self, driver: HandsetDriver, handset: Any) -> None:
        driver.handset.power_on(self.now)
        if not driver.handset.registered:
            pin = handset.dect_ac or self.store.system_param(SYSTEM_PIN_PARAM) or DEFAULT_PIN
            driver.handset.register(pin, self.now)
        driver.flush()

    def _base_name(self, dm: int) -> str:
        return f"dm{dm}" if len(self.sockets) > 1 else "base"

    def _to_base(self, dm: int, link: str, data: bytes) -> None:
        driver = self.handsets.get(Ipui.parse(link))
        if driver is not None and self.system.powered and driver.dect_manager == dm:
            self.events.handset_sent(driver.ipui, data)
            self.send(self.system.receive_dect(self.now, dm, link, data))

    def _to_handset(self, item: AirOut) -> None:
        driver = self.handsets.get(Ipui.parse(item.link))
        if driver is None:
            return
        self.events.base_sent(driver.ipui, item.data)
        dm = item.dm
        page = item.name == PAGE_NAME
        deliver = driver.paged if page else driver.from_base
        self.air.send(self._base_name(dm), driver.name, item.data,
                      lambda frame: deliver(frame) if driver.dect_manager == dm else None, bformat=page)

    def press(self, ipui: Ipui, key: str) -> None:
        driver = self.handsets[ipui]
        driver.handset.press(key, self.now)
        driver.flush()
        if self.recording is not None:
            self.recording.key(self.now, ipui, key)

    # --- SIP -----------------------------------------------------------------------------------

    def send(self, outputs: Iterable[FirmwareOut]) -> None:
        for item in outputs:
            if isinstance(item, SipOut):
                self.sockets[item.dm - 1].send(item.data, item.destination, item.transport)
                self.events.sent(item.dm, item.data)
                if self._shutdown is not None and not item.data.startswith(b"SIP/2.0"):
                    self._shutdown.requests += 1
                    self._shutdown.last = self.now
            elif isinstance(item, AirOut):
                self._to_handset(item)
            elif isinstance(item, Notice) and item.user is not None:
                # A NOTIFY part left out: one line per account and reason in a window.
                self.netlog.log(time.monotonic(), ("report", item.user, item.text),
                                f"fksim serve: {item.user}: {item.text}")
            elif isinstance(item, Notice):
                self.refused += 1
                self.netlog.log(time.monotonic(), ("notice", item.source),
                                f"fksim serve: dm{item.dm}: {item.text}")
            elif isinstance(item, CallNote):
                log(logging.INFO, "call", _call_line(item), call_id=item.call_id, user=item.user,
                    outcome=item.what, handset=str(item.ipui) if item.ipui else None, status=item.status)
        self.events.watch(self.system)
        self.system_pacer.rearm()

    def _server_send(self, outputs: Iterable[Any]) -> None:
        assert self.server_socket is not None and self.server_pacer is not None
        for item in outputs:
            if isinstance(item, SendDatagram):
                self.server_socket.send(item.data, item.destination, item.transport)
        self.server_pacer.rearm()

    def _receive_sip(self, dm: int, data: bytes, source: Address, transport: str = "UDP") -> None:
        if self._shutdown is not None and data.startswith(b"SIP/2.0"):
            status = data[8:11]
            if status.isdigit() and int(status) >= 200:
                self._shutdown.answers += 1
            self._shutdown.last = self.now
        before = self._feature_snapshot() if self.recording is not None else None
        self.send(self.system.receive_sip(self.now, dm, data, source, transport))
        if before is not None:
            self._record_server_changes(before)

    def _feature_snapshot(self) -> dict[Ipui, tuple[FksState, FeatureState, set[Any]]]:
        out = {}
        for ipui in self.handsets:
            line = self.system.line_of(ipui)
            if line is not None:
                out[ipui] = (line.fks.fks, line.fks.state, set(line.fks.pending))
        return out

    def _record_server_changes(self, before: dict[Ipui, tuple[FksState, FeatureState, set[Any]]]) -> None:
        """Features that changed in a NOTIFY of an established subscription while the handset had asked
        for no change of them: the server changed them (portal, FAC from another device)."""
        assert self.recording is not None
        for ipui, (fks, state, pending) in before.items():
            line = self.system.line_of(ipui)
            if line is None or fks is not FksState.SYNCED or line.fks.state == state:
                continue
            now_json = line.fks.state.as_json()
            changed = {f.value: now_json[f.value] for f in line.fks.state.changed(state) if f not in pending}
            if changed:
                self.recording.server_change(self.now, line.account.user_name, changed)

    def _poll_sockets(self) -> None:
        for dm, endpoint in enumerate(self.sockets, start=1):
            for data, source, transport in endpoint.receive_all():
                self._guarded(endpoint.name, source, self._receive_sip, dm, data, source, transport)
        if self.server is not None and self.server_socket is not None:
            for data, source, _transport in self.server_socket.receive_all():
                self._guarded(self.server_socket.name, source, self._server_receive, data, source)

    def _server_receive(self, data: bytes, source: Address) -> None:
        assert self.server is not None
        self._server_send(self.server.receive(self.now, data, source))

    def _guarded(self, endpoint: str, source: Address, deliver: Callable[..., None], *args: Any) -> None:
        """A real network delivers anything. A message a core refuses with a protocol error is
        reported and dropped; so is one that trips anything else (an error of ours that the message
        provoked): the twin logs it, at most once per source in a window, and goes on serving."""
        try:
            deliver(*args)
        except FksimError as err:
            self._dropped(endpoint, source, str(err))
        except Exception as err:  # one message must never stop the base
            self._dropped(endpoint, source, f"internal error {type(err).__name__}: {err}"[:300])

    def _dropped(self, endpoint: str, source: Address, why: str) -> None:
        self.dropped += 1
        self.netlog.log(time.monotonic(), ("dropped", endpoint, source),
                        f"fksim serve: {endpoint}: message from {format_address(source)} dropped: {why}")

    # --- runtime changes (from the web interface, on this thread) -------------------------------

    def reconcile(self) -> None:
        """After the NVM changed (a handset edited or removed, a provisioning file applied): the
        embedded server learns new users, emulated handsets follow the NVM, and the system serves
        the accounts as they are now (`BaseSystem.accounts_changed`)."""
        self._add_demo_users()
        self._sync_handsets()
        self.send(self.system.accounts_changed(self.now))
        self.events.accounts(self.system)

    def feature_key_sync_changed(self, ipui: Ipui, active: bool) -> None:
        self.send(self.system.set_feature_key_sync(ipui, active, self.now))
        if self.recording is not None:
            self.recording.base_change(self.now, {"feature_key_sync": {str(ipui): active}})

    def internal_telephony_changed(self, enabled: bool) -> None:
        self.send(self.system.set_internal_telephony(enabled, self.now))
        if self.recording is not None:
            self.recording.base_change(self.now, {"internal_telephony": enabled})

    # --- status ------------------------------------------------------------------------------------

    def runtime_view(self) -> RuntimeView:
        handsets: dict[Ipui, HandsetRuntime] = {}
        for ipui, driver in self.handsets.items():
            emulator = driver.handset
            line = self.system.line_of(ipui)
            if line is not None:
                registration, subscription = line.sip_status, line.subscription_status
                features: dict[str, Any] | None = line.fks.state.as_json()
            else:
                account = self.store.account(ipui)
                registration = "not registered" if account and account.user_name else "no SIP account"
                subscription, features = "none", None
            handsets[ipui] = HandsetRuntime(dect=self._dect_text(driver), sip_registration=registration,
                                            subscription=subscription, features=features,
                                            handset_type=emulator.type.name, handset_firmware=None)
        errors = tuple(error for endpoint in self.sockets for error in endpoint.errors)
        return RuntimeView(running=self.running and self.system.powered, handsets=handsets,
                           server=self.server_text, sip_errors=errors)

    def _dect_text(self, driver: HandsetDriver) -> str:
        emulator = driver.handset
        if not self.system.powered:
            return "base not running"
        if not emulator.powered:
            return "powered off"
        if not emulator.registered:
            return "registering"
        if emulator.located:
            return f"attached to DECT manager {driver.dect_manager}"
        return "searching"

    # --- recording -----------------------------------------------------------------------------

    def start_recording(self) -> None:
        handsets: list[RecordedHandset] = []
        users: dict[str, dict[str, Any]] = {}
        default_type = get_handset_type().name
        for ipui, driver in self.handsets.items():
            handset = self.store.handset(ipui)
            account = self.store.account(ipui)
            if handset is None or account is None or not account.user_name:
                continue
            handsets.append(RecordedHandset(
                ipui=ipui, user=account.user_name, feature_key_sync=account.feature_key_sync_active,
                dect_manager=handset.dect_manager,
                type=None if driver.handset.type.name == default_type else driver.handset.type.name))
            line = self.system.line_of(ipui)
            if account.user_name not in users:
                state = line.fks.state if line is not None else FeatureState()
                users[account.user_name] = state.as_json()
        has_setting = self.profile.has_internal_telephony_setting.value
        internal = self.store.internal_telephony if has_setting else None
        self.recording = Recording(profile=self.profile, started=self.now, handsets=handsets, users=users,
                                   internal_telephony=internal, dect_managers=len(self.sockets))

    def stop_recording(self) -> str:
        recording, self.recording = self.recording, None
        if recording is None:
            raise NotRunning("no recording is running")
        final = {ipui: driver.handset.state() for ipui, driver in self.handsets.items()}
        active = {ipui for ipui in self.handsets if self.system.verdict(ipui).active}
        return recording.to_yaml(final, active)

    # --- the loop --------------------------------------------------------------------------------

    def start(self) -> None:
        """Power on: the system boots, every handset powers on (and registers if it must)."""
        self.running = True
        if self.server_pacer is not None:
            self.server_pacer.rearm()
        self.send(self.system.boot(self.now))
        self.events.accounts(self.system)
        self._sync_handsets()
        for ipui, driver in self.handsets.items():
            if not driver.handset.powered:   # those `_sync_handsets` added just now are on already
                self._power_on(driver, self.store.handset(ipui))

    def call(self, fn: Callable[[], T], timeout: float = 10.0) -> T:
        """Run `fn` on the twin's thread and return its result (or raise its exception). For other threads."""
        if self.stopped or self._shutdown is not None:
            raise NotRunning("the base is shutting down")
        ticket = _Ticket(fn)
        self._calls.put(ticket)
        result: T = ticket.future.result(timeout=timeout)
        return result

    def _drain_calls(self) -> None:
        while True:
            try:
                ticket = self._calls.get_nowait()
            except queue.Empty:
                return
            if not ticket.future.set_running_or_notify_cancel():
                continue
            try:
                ticket.future.set_result(ticket.fn())
            except BaseException as err:  # handed to the caller's thread, which raises it
                ticket.future.set_exception(err)

    def request_stop(self) -> None:
        """Ask the loop to shut down cleanly (safe from a signal handler and from any thread)."""
        self._stop_requested = True

    def _poll(self) -> Generator[simpy.Event, Any, None]:
        while True:
            self._drain_calls()
            self._poll_sockets()
            if self._stop_requested and self._shutdown is None:
                self._begin_shutdown()
            if self._shutdown is not None and self._shutdown_done():
                return
            yield self.env.timeout(TICK)

    def _begin_shutdown(self) -> None:
        self._shutdown = _Shutdown(deadline=self.now + self.config.shutdown_wait, last=self.now)
        for hook in self.on_stop:
            hook()
        self.send(self.system.shutdown(self.now))

    def _shutdown_done(self) -> bool:
        s = self._shutdown
        assert s is not None
        if self.now >= s.deadline:
            return True
        # Every request answered, and a moment of quiet for NOTIFYs that end the subscriptions.
        return s.answers >= s.requests and self.now - s.last >= 0.3

    def run(self, until: float | None = None) -> None:
        """Run until stopped (`request_stop`), or until `until` seconds have passed, then shut down."""
        process = self.env.process(self._poll())
        if until is not None:
            self.env.timeout(until).callbacks.append(lambda _event: self.request_stop())
        try:
            self.env.run(until=process)
        finally:
            self.system.power_off()
            self.running = False
            self.stopped = True
            self._fail_waiting_calls()

    def _fail_waiting_calls(self) -> None:
        while True:
            try:
                ticket = self._calls.get_nowait()
            except queue.Empty:
                return
            if ticket.future.set_running_or_notify_cancel():
                ticket.future.set_exception(NotRunning("the base has stopped"))

    @property
    def shutdown_summary(self) -> str:
        s = self._shutdown
        if s is None:
            return "stopped"
        return f"stopped: {s.answers} of {s.requests} requests of the shutdown answered"

    def close(self) -> None:
        for endpoint in self.sockets:
            endpoint.close()
        if getattr(self, "server_socket", None) is not None:
            self.server_socket.close()  # type: ignore[union-attr]
        self.store.close()


def _call_line(note: CallNote) -> str:
    """One log line for what became of an incoming call at the base."""
    parts = [f"dm{note.dm}: call from {note.caller or '?'} to {note.user}: {note.what}"]
    if note.ipui is not None:
        parts.append(f"on handset {note.ipui}")
    if note.status is not None:
        parts.append(f"({note.status}{' to ' + note.target if note.target else ''})")
    if note.why:
        parts.append(f"- {note.why}")
    return " ".join(parts)
