"""One DECT manager's firmware, sans-I/O: its DECT endpoint, and per handset account located here a SIP
registration, an `as-feature-event` subscription, a FAC caller and the FKS application that ties them.

One responsibility: route. DECT events from the endpoint and SIP events from the cores go to the
account's `FksApplication` (firmware.fks), whose commands come back here to be carried out on the
SIP cores, the endpoint or the NVM.

An account's life cycle (docs/firmware.md "Registration first"): the REGISTER goes out when the
account starts; its subscription is started only once a REGISTER got a 2xx, and ended (unsubscribe)
when the registration is lost (a refresh or retry failed: 403, no answer, 5xx), to be created anew
after the next 2xx. The FKS application learns every state change of the subscriber core
(`SubscriptionStateChanged`), so it never hands a Set to a core that has no active dialog.

Everything it must send is returned as `SipOut` / `AirOut`, tagged with this DECT manager's number
so a driver knows which address or radio sends it.

A SIP datagram is parsed once and routed by Call-ID to the core that owns the dialog or transaction
(every core keeps its own Call-ID). A request for no known Call-ID is answered 481 (RFC 6665 §4.1.3:
a NOTIFY that matches no subscription), a stray response is dropped (RFC 3261 §18.1.2).
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace

from dect.endpoint import AccessPolicy, DectEndpoint
from dect.errors import DectError
from dect.events import FacDialled, FeatureRequested, HandsetLocated, IndicationDelivered, Link, Transmission
from dect.fp_mm import counter_random
from dect.identity import Ipui
from dect.ies import ReleaseReasonCode
from dect.ies_var import FixedIdentity
from firmware.bridge import change_from_setting, setting_for
from firmware.calls import CallDesk
from firmware.fks import (
    TEXT_NOT_ASSIGNED,
    Command,
    FksApplication,
    FksState,
    Indicate,
    Persist,
    SendSet,
    Signal,
    Subscribe,
    Unsubscribe,
)
from firmware.lines import AirOut, CallNote, FirmwareOut, Line, Notice, SipOut, SipSettings, SystemContext
from firmware.nvm import Account
from firmware.timers import DeadlineHeap
from sip.call import CallAnswerer
from sip.core import Core
from sip.errors import LocalProtocolError, RemoteProtocolError
from sip.events import (
    Address,
    CallCancelled,
    CallConfirmed,
    CallEnded,
    CallOffered,
    FeatureCodeAnswered,
    FeatureStateReceived,
    ForeignRequestRefused,
    NotifyPartIgnored,
    Output,
    Registered,
    RegistrationFailed,
    SendDatagram,
    SetRequestAnswered,
    SubscriptionActivated,
    SubscriptionFailed,
    SubscriptionStateChanged,
    SubscriptionTerminated,
)
from sip.fac import FeatureCodeCaller, FeatureCodeConfig
from sip.message import Request, make_response, parse_message
from sip.readback import error_response_bytes
from sip.registration import RegistrationClient, RegistrationConfig
from sip.state import ALL_FEATURES, Feature, FeatureState
from sip.subscriber import Subscriber, SubscriberConfig, SubState
from sip.transaction import TimerConfig

#: Seconds between two accounts a DECT manager starts (REGISTER, subscribe): 250 accounts take 5 s
#: after a boot instead of one burst [choice].
START_PACE = 0.02

#: LOCATION-AREA level (EN 300 175-5 §7.7.25): how many bits of the PARK name the location area. Each
#: DECT manager has its own 36-bit PARK, so all 36 make each one its own area: a handset moving to
#: another DECT manager's cell updates its location there [choice].
LOCATION_AREA_LEVEL = 36


class DectManager:
    def __init__(self, *, system: SystemContext, number: int, address: Address, policy: AccessPolicy,
                 fixed_identity: FixedIdentity, ids: Callable[[], str],
                 timers: TimerConfig | None = None, user_agent: str | None = None) -> None:
        self.system = system
        self.number = number
        self.address = address
        self.ids = ids
        self.timers = timers
        self.user_agent = user_agent
        # RAND-F and RS of authentication: from the DECT manager's own deterministic stream (its ids
        # are seeded per run and boot; the live twin's are random).
        self.endpoint = DectEndpoint(policy=policy, fixed_identity=fixed_identity,
                                     location_area=LOCATION_AREA_LEVEL, random=counter_random(ids()))
        self.lines: dict[Ipui, Line] = {}
        self._retired: list[Core] = []        # cores winding down (un-REGISTER, unsubscribe)
        self._by_call_id: dict[str, tuple[Core, Line | None]] = {}
        self._heap = DeadlineHeap()
        self._links: dict[Ipui, Link] = {}
        self._starts: deque[tuple[float, Line]] = deque()   # accounts waiting for their turn, in order
        self._next_start = 0.0
        #: Accounts that roamed away: their REGISTER binding stays until the new DECT manager's
        #: REGISTER is answered (`release`).
        self._handed_over: dict[Ipui, Line] = {}
        self.desk = CallDesk(self)

    # --- accounts ----------------------------------------------------------------------------

    def add_line(self, ipui: Ipui, index: int, account: Account, now: float) -> list[FirmwareOut]:
        """Start serving an account here: REGISTER it, and subscribe where FKS is active.

        A DECT manager starts at most one account every `START_PACE` seconds [choice]: after a boot
        its accounts register one after another instead of in one burst. An account waiting for its
        turn is already CONNECTING, so its handset's requests are refused, never kept locally."""
        settings = self.system.sip_settings(account)
        registration = RegistrationClient(
            RegistrationConfig(aor=settings.aor, registrar=settings.server, local=self.address,
                               next_hop=settings.next_hop, expires=settings.expires,
                               username=account.auth_name or account.user_name,
                               password=account.auth_password, user_agent=self.user_agent),
            ids=self.ids, timers=self.timers)
        stale = self._handed_over.pop(ipui, None)
        if stale is not None:
            # Back before the hand-over ended: the new REGISTER (same Contact) replaces this binding,
            # so it is dropped without an un-REGISTER that would remove the new one.
            self._drop(stale.registration)
        kept = self.system.store.local_features(index)
        line = Line(ipui=ipui, index=index, account=account, registration=registration,
                    fks=FksApplication(account.user_name, kept or FeatureState(),
                                       synced=self.system.synced_features()),
                    settings=settings)
        line.shown = line.fks.state
        # What was indicated before a reboot and never confirmed (the NVM keeps it): sent again.
        line.unconfirmed = set(self.system.store.unconfirmed_features(index))
        line.cores.append(registration)
        self.lines[ipui] = line
        if self.system.verdict(ipui).active:
            line.deferred = line.fks.enable()
        slot = max(now, self._next_start)
        self._next_start = slot + START_PACE
        if slot > now:
            self._starts.append((slot, line))
            return []
        return self._start_line(line, now)

    def _start_line(self, line: Line, now: float) -> list[FirmwareOut]:
        deferred, line.deferred = line.deferred, []
        out = self._core_outputs(line, line.registration, line.registration.start(now), now)
        return out + self._commands(line, deferred, now)

    def remove_line(self, ipui: Ipui, now: float) -> list[FirmwareOut]:
        """Stop serving an account here (roamed away, de-registered): un-REGISTER and unsubscribe."""
        line = self.lines.pop(ipui, None)
        if line is None:
            return []
        out: list[FirmwareOut] = []
        if line.fks.fks is not FksState.LOCAL:
            out += self._commands(line, line.fks.disable(), now)
        out += self._core_outputs(None, line.registration, line.registration.stop(now), now)
        self._retired.extend(line.cores)
        return out

    def hand_over(self, ipui: Ipui, now: float) -> list[FirmwareOut]:
        """The handset roamed to another DECT manager: stop serving it here (unsubscribe at once) but
        keep its REGISTER binding until the new DECT manager's REGISTER is answered (`release`).
        Gigaset's documented order: register at the new DECT manager first, then remove the old
        binding (some platforms refuse a second contact otherwise)."""
        line = self.lines.pop(ipui, None)
        if line is None:
            return []
        out: list[FirmwareOut] = []
        if line.fks.fks is not FksState.LOCAL:
            out += self._commands(line, line.fks.disable(), now)
        self._retired.extend(core for core in line.cores if core is not line.registration)
        self._handed_over[ipui] = line
        return out

    def release(self, ipui: Ipui, now: float) -> list[FirmwareOut]:
        """The end of a hand-over: remove the binding this DECT manager kept (Expires: 0)."""
        line = self._handed_over.pop(ipui, None)
        if line is None:
            return []
        out = self._core_outputs(None, line.registration, line.registration.stop(now), now)
        self._retired.append(line.registration)
        return out

    def _drop(self, core: Core) -> None:
        """Forget a core at once, without anything more on the wire."""
        self._heap.forget(core)
        for call_id in _call_ids(core):
            if self._by_call_id.get(call_id, (None, None))[0] is core:
                del self._by_call_id[call_id]

    def _forget_idle_retired(self) -> None:
        """A retired core whose last transaction is over (no deadline left) is dropped, with the
        Call-IDs that routed to it: a base that runs for days must not keep every account it gave up.
        A call core with a call still going is not idle, deadline or not (an INVITE that rings has
        none): the caller's CANCEL or BYE must still find it."""
        idle = [core for core in self._retired if _idle(core)]
        if not idle:
            return
        self._retired = [core for core in self._retired if not _idle(core)]
        for core in idle:
            for call_id in _call_ids(core):
                if self._by_call_id.get(call_id, (None, None))[0] is core:
                    del self._by_call_id[call_id]

    def reevaluate(self, now: float) -> list[FirmwareOut]:
        """Gating may have changed (FKS flag, internal telephony): subscribe or unsubscribe."""
        out: list[FirmwareOut] = []
        for line in list(self.lines.values()):
            active = self.system.verdict(line.ipui).active
            if active and line.fks.fks is FksState.LOCAL:
                out += self._commands(line, line.fks.enable(), now)
            elif not active and line.fks.fks is not FksState.LOCAL:
                out += self._commands(line, line.fks.disable(), now)
        return out

    def shutdown(self, now: float) -> list[FirmwareOut]:
        """A clean stop (the live twin's Ctrl-C): unsubscribe and un-REGISTER every account."""
        out: list[FirmwareOut] = []
        for ipui in list(self.lines):
            out += self.remove_line(ipui, now)
        for ipui in list(self._handed_over):
            out += self.release(ipui, now)
        return out

    # --- SIP ---------------------------------------------------------------------------------

    def receive_sip(self, now: float, data: bytes, source: Address,
                    transport: str = "UDP") -> list[FirmwareOut]:
        try:
            message = parse_message(data)
        except RemoteProtocolError as err:
            answer = error_response_bytes(data, err)
            return [] if answer is None else [SipOut(dm=self.number, data=answer, destination=source,
                                                     transport=transport)]
        owner = self._by_call_id.get(message.call_id)
        if owner is None and isinstance(message, Request):
            called = self.desk.line_for(message)   # a new INVITE: an incoming call for an account
            if called is not None:
                owner = (self.desk.answerer(called), called)
            else:
                owner = self.desk.refused_invite_owner(message)
        if owner is None:
            if isinstance(message, Request) and message.method == "INVITE" and message.to.tag is None:
                # RFC 3261 §8.2.2.1: a new INVITE for no account of this DECT manager: 404.
                response = make_response(message, 404, to_tag=self.ids())
                return [SipOut(dm=self.number, data=response.to_bytes(), destination=source,
                               transport=message.top_via.transport.upper())]
            if isinstance(message, Request) and message.method != "ACK":
                # RFC 6665 §4.1.3 / RFC 3261 §12.2.2: no dialog for this request.
                response = make_response(message, 481, to_tag=self.ids())
                # §18.2.2: back the way the request came, which its top Via names.
                return [SipOut(dm=self.number, data=response.to_bytes(), destination=source,
                               transport=message.top_via.transport.upper())]
            return []
        core, line = owner
        return self._core_outputs(line, core, core.receive_message(now, message, source), now)

    def _core_outputs(self, line: Line | None, core: Core, outputs: Iterable[Output],
                      now: float) -> list[FirmwareOut]:
        """Carry out what a core returned; index its Call-ID and re-arm its deadline."""
        routes = self._by_call_id
        for call_id in _call_ids(core):
            route = routes.get(call_id)
            if route is None or route[0] is not core or route[1] is not line:
                routes[call_id] = (core, line)
        self._heap.touch(core)
        out: list[FirmwareOut] = []
        for item in outputs:
            if isinstance(item, SendDatagram):
                out.append(SipOut(dm=self.number, data=item.data, destination=item.destination,
                                  transport=item.transport))
            elif isinstance(item, ForeignRequestRefused):
                host, port = item.source
                out.append(Notice(dm=self.number, source=item.source,
                                  text=f"{item.method} from {host}:{port} refused (403): not this "
                                       f"account's server or proxy"))
            elif line is not None and self.lines.get(line.ipui) is line:
                out += self._sip_event(line, item, now)
            elif (line is not None and isinstance(item, CallCancelled | CallEnded)
                  and item.call_id in self.desk.calls):
                # The account was given up (roamed away, removed) while one of its calls rang or went
                # on: the caller's CANCEL or BYE still releases the handsets that call holds.
                out += self.desk.sip_event(line, item, now)
        if self._retired and core in self._retired and _idle(core):
            self._forget_idle_retired()   # its last answer came in: nothing more will
        elif isinstance(getattr(core, "calls", None), dict) and core.next_deadline() is None:
            self._forget_finished_calls(core)
        return out

    def _forget_finished_calls(self, core: Core) -> None:
        """A call core of a live account with every transaction over: its finished calls' Call-IDs stop
        routing to it (a base taking calls for days keeps no route per call; later requests get 481)."""
        live = set(_call_ids(core))
        for call_id in [c for c, (owner, _) in self._by_call_id.items() if owner is core and c not in live]:
            del self._by_call_id[call_id]

    def _sip_event(self, line: Line, event: Output, now: float) -> list[FirmwareOut]:
        fks = line.fks
        if isinstance(event, SubscriptionStateChanged):
            # The subscriber core is the one source of truth for "can a Set go out now" (issue 18).
            state = SubState(event.state)
            if state is SubState.ACTIVE:
                return self._commands(line, fks.subscription_up(), now)
            if state is SubState.SUBSCRIBING:
                return self._commands(line, fks.subscription_connecting(), now)
            return self._commands(line, fks.subscription_down(), now)
        if isinstance(event, Registered | RegistrationFailed):
            return self._registration_event(line, event, now)
        if isinstance(event, CallOffered | CallCancelled | CallConfirmed | CallEnded):
            return self.desk.sip_event(line, event, now)
        if isinstance(event, SubscriptionActivated):
            line.subscription_status = event.state
        elif isinstance(event, FeatureStateReceived):
            return self._commands(line, fks.state_received(event.items, full=event.full), now)
        elif isinstance(event, NotifyPartIgnored):
            return [Notice(dm=self.number, user=line.account.user_name, text=f"NOTIFY: {event.reason}")]
        elif isinstance(event, SubscriptionFailed):
            line.subscription_status = f"failed ({event.status} {event.reason})"
        elif isinstance(event, SubscriptionTerminated):
            line.subscription_status = f"terminated ({event.reason})" if event.reason else "terminated"
        elif isinstance(event, SetRequestAnswered):
            return self._commands(line, fks.set_answered(event.item, event.status), now)
        elif isinstance(event, FeatureCodeAnswered):
            return self._fac_answered(line, event, now)
        return []

    def _registration_event(self, line: Line, event: Registered | RegistrationFailed,
                            now: float) -> list[FirmwareOut]:
        """Registration first: a 2xx (after none, or after a loss) lets the account subscribe; a failed
        refresh or retry ends its subscription until the next 2xx [choice: docs/firmware.md]."""
        out: list[FirmwareOut] = []
        if not line.answered:
            line.answered = True
            # The first answer at this DECT manager ends a roaming hand-over elsewhere.
            out += self.system.registration_answered(self.number, line.ipui, now)
        if isinstance(event, Registered):
            line.sip_status = "registered"
            if not line.registered:
                line.registered = True
                if line.fks.fks is not FksState.LOCAL:
                    out += self._subscribe(line, now) + self._air()
            return out
        line.sip_status = f"failed ({event.status} {event.reason})"
        line.registered = False
        sub = line.subscriber
        if sub is not None and sub.state not in (SubState.IDLE, SubState.STOPPED, SubState.UNSUBSCRIBING):
            line.subscription_status = "unsubscribing (registration lost)"
            out += self._core_outputs(line, sub, sub.stop(now), now) + self._air()
        return out

    def _subscribe(self, line: Line, now: float) -> list[FirmwareOut]:
        """Start the subscription if the account is registered and it is not already under way."""
        if not line.registered:
            line.subscription_status = "waiting for registration"
            return []
        sub = self._subscriber(line)
        if sub.state in (SubState.SUBSCRIBING, SubState.ACTIVE):
            return []
        line.subscription_status = "subscribing"
        return self._core_outputs(line, sub, sub.start(now), now)

    # --- FKS commands ------------------------------------------------------------------------

    def _subscriber(self, line: Line) -> Subscriber:
        if line.subscriber is None:
            settings = line.settings
            line.subscriber = Subscriber(
                SubscriberConfig(aor=settings.aor, server=settings.request_server, local=self.address,
                                 next_hop=settings.next_hop,
                                 expires=settings.subscribe_expires,
                                 username=line.account.auth_name or line.account.user_name,
                                 password=line.account.auth_password, user_agent=self.user_agent),
                ids=self.ids, timers=self.timers)
            line.cores.append(line.subscriber)
        return line.subscriber

    def _commands(self, line: Line, commands: list[Command], now: float) -> list[FirmwareOut]:
        out: list[FirmwareOut] = []
        for command in commands:
            if isinstance(command, Subscribe):
                out += self._subscribe(line, now)
            elif isinstance(command, Unsubscribe):
                if line.subscriber is not None:
                    line.subscription_status = "unsubscribing"
                    out += self._core_outputs(line, line.subscriber, line.subscriber.stop(now), now)
            elif isinstance(command, SendSet):
                sub = self._subscriber(line)
                out += self._core_outputs(line, sub, sub.set(now, command.item), now)
            elif isinstance(command, Persist):
                # A de-registered handset's slot is gone, and with it the state to keep.
                if self.system.store.handset(line.index) is not None:
                    self.system.store.set_local_features(line.index, command.state)
            elif isinstance(command, Indicate):
                self._indicate(line.ipui, command, now)
        return out + self._air()

    def _indicate(self, ipui: Ipui, command: Indicate, now: float) -> None:
        link = self.link_of(ipui)
        line = self.lines.get(ipui)
        for feature in command.features:
            self.endpoint.indicate_feature_state(link, setting_for(command.state, feature),
                                                 display=command.text,
                                                 refused=command.signal is Signal.NEGATIVE,
                                                 silent=command.signal is Signal.SILENT, ipui=ipui, now=now)
            if line is not None:
                line.shown = replace(line.shown, **{feature.value: getattr(command.state, feature.value)})
        if line is not None and not set(command.features) <= line.unconfirmed:
            self._unconfirmed(line, line.unconfirmed | set(command.features))

    # --- DECT --------------------------------------------------------------------------------

    def link_of(self, ipui: Ipui) -> Link:
        """The air link a handset was last located on (its IPUI text before that)."""
        return self._links.get(ipui, str(ipui))

    def air(self) -> list[FirmwareOut]:
        """What the DECT endpoint queued, as `AirOut`s of this DECT manager."""
        return self._air()

    def core_outputs(self, line: Line | None, core: Core, outputs: Iterable[Output],
                     now: float) -> list[FirmwareOut]:
        """Carry out what a SIP core returned (for `firmware.calls`)."""
        return self._core_outputs(line, core, outputs, now)

    def _air(self) -> list[FirmwareOut]:
        sent: list[Transmission] = self.endpoint.take_outgoing()
        return [AirOut(dm=self.number, link=t.link, data=t.data, name=t.name) for t in sent]

    def receive_dect(self, now: float, link: Link, data: bytes) -> list[FirmwareOut]:
        out: list[FirmwareOut] = []
        for event in self.endpoint.receive(link, data, now):
            if isinstance(event, HandsetLocated):
                self._links[event.ipui] = event.link
                out += self._air()
                out += self.system.handset_located(self.number, event.ipui, now)
            elif isinstance(event, FeatureRequested):
                self._heard_from(event.ipui)
                out += self._feature_requested(event, now)
            elif isinstance(event, FacDialled):
                self._heard_from(event.ipui)
                out += self._fac_dialled(event, now)
            elif isinstance(event, IndicationDelivered):
                self._heard_from(event.ipui)   # it closed the indication's transaction: it has it
            else:
                out += self.desk.dect_event(event, now)
        return out + self._air()

    def _heard_from(self, ipui: Ipui) -> None:
        """The handset sent a request: it is in range, and got what was indicated before."""
        line = self.lines.get(ipui)
        if line is not None and line.unconfirmed:
            self._unconfirmed(line, set())

    def _unconfirmed(self, line: Line, features: set[Feature]) -> None:
        """Features indicated and not yet confirmed, kept in the NVM too: an indication in flight
        when the base powers off is lost, and after the reboot only the NVM remembers it."""
        line.unconfirmed = features
        if self.system.store.handset(line.index) is not None:
            self.system.store.set_unconfirmed_features(line.index, frozenset(features))

    def resynchronise(self, ipui: Ipui, now: float) -> list[FirmwareOut]:
        """A handset located here (power-on, back in range, roamed, or the base rebooted): tell it,
        silently, the features it does not show as the base holds them, and those indicated since it
        was last heard from, which it may have missed out of range. Nothing else (issue 12 §5)."""
        line = self.lines.get(ipui)
        if line is None:
            return []
        state = line.fks.state
        stale = set(state.changed(line.shown)) | line.unconfirmed
        line.unconfirmed = set()   # what is sent now is unconfirmed again (`_indicate`)
        for feature in ALL_FEATURES:
            if feature in stale:
                shown = line.fks.indication(feature)
                # A resynchronisation makes no tone; "not available" keeps its negative signal, which
                # is how the handset tells it from a state.
                signal = Signal.SILENT if shown.signal is Signal.CONFIRM else shown.signal
                self._indicate(ipui, replace(shown, signal=signal), now)
        return self._air()

    def _feature_requested(self, event: FeatureRequested, now: float) -> list[FirmwareOut]:
        line = self.lines.get(event.ipui)
        if line is None:
            self.endpoint.reject_feature(event.ref, now, display="No SIP account")
            return self._air()
        commands = line.fks.request(change_from_setting(event.setting))
        if any(isinstance(c, SendSet | Persist) for c in commands):
            # Taken on: the handset shows the feature pending until the state is indicated.
            self.endpoint.accept_feature(event.ref, now)
            return self._commands(line, commands, now)
        refusal = next((c for c in commands if isinstance(c, Indicate)), None)
        # A feature the server does not offer: "service not implemented" (EN 300 175-5 §7.6.7).
        reason = (ReleaseReasonCode.SERVICE_NOT_IMPLEMENTED
                  if refusal is not None and refusal.text.endswith("\n" + TEXT_NOT_ASSIGNED)
                  else ReleaseReasonCode.USER_REJECTION)
        self.endpoint.reject_feature(event.ref, now, reason=reason,
                                     display=refusal.text if refusal else "Not possible")
        return self._air()

    def _fac_dialled(self, event: FacDialled, now: float) -> list[FirmwareOut]:
        """A dialled code becomes a call to the server (feature-key-sync.md §4); the handset's call is
        completed when the server answers it. The base never interprets the code itself."""
        line = self.lines.get(event.ipui)
        if line is None:
            self.endpoint.complete_call(event.ref, now, accepted=False, display="No SIP account")
            return self._air()
        if line.caller is None:
            settings = line.settings
            line.caller = FeatureCodeCaller(
                FeatureCodeConfig(aor=settings.aor, server=settings.request_server, local=self.address,
                                  next_hop=settings.next_hop,
                                  username=line.account.auth_name or line.account.user_name,
                                  password=line.account.auth_password, user_agent=self.user_agent),
                ids=self.ids, timers=self.timers)
            line.cores.append(line.caller)
        try:
            outputs = line.caller.dial(now, event.digits)
        except LocalProtocolError:
            # A keypad sends more than a request-URI may carry (recall, other IA5 keys): no call.
            self.endpoint.complete_call(event.ref, now, accepted=False, display="Invalid code")
            return self._air()
        line.fac_calls.setdefault(event.digits, []).append(event.ref)
        return self._core_outputs(line, line.caller, outputs, now)

    def _fac_answered(self, line: Line, event: FeatureCodeAnswered, now: float) -> list[FirmwareOut]:
        waiting = line.fac_calls.get(event.code)
        if not waiting:
            return []
        ref = waiting.pop(0)
        accepted = 200 <= event.status < 300
        text = f"{event.code}: {'done' if accepted else 'refused' if event.status else 'no answer'}"
        if accepted and event.reason not in ("", "OK"):
            text = f"{event.code}\n{event.reason}"   # an interrogation's answer, e.g. "CFA active to 3000"
        # The handset may have given up on the call first (CC.03); the server's change still counts.
        with contextlib.suppress(DectError):
            self.endpoint.complete_call(ref, now, accepted=accepted, display=text)
        return self._air()

    # --- timers ------------------------------------------------------------------------------

    def next_deadline(self) -> float | None:
        candidates = [d for d in (self._heap.next_deadline(), self.endpoint.next_deadline(),
                                  self.desk.next_deadline(),
                                  self._starts[0][0] if self._starts else None) if d is not None]
        return min(candidates) if candidates else None

    def handle_timer(self, now: float) -> list[FirmwareOut]:
        out: list[FirmwareOut] = []
        while self._starts and self._starts[0][0] <= now:
            _slot, line = self._starts.popleft()
            if self.lines.get(line.ipui) is line:   # not removed while it waited
                out += self._start_line(line, now)
        for event in self.endpoint.handle_timer(now):
            out += self.desk.dect_event(event, now)
        out += self.desk.handle_timer(now)
        self._forget_idle_retired()
        for core in list(self._heap.due(now)):
            assert isinstance(core, Core)
            out += self._core_outputs(self._line_of(core), core, core.handle_timer(now), now)
        return out + self._air()

    def _line_of(self, core: Core) -> Line | None:
        """The account of a core, as its Call-IDs route (a call core's timers outlive its calls)."""
        for call_id in _call_ids(core):
            if (route := self._by_call_id.get(call_id)) is not None and route[0] is core and route[1]:
                return route[1]
        answerers = (line for line in self.lines.values() if line.answerer is core)
        return next(answerers, None) if isinstance(core, CallAnswerer) else None


def _idle(core: Core) -> bool:
    """Nothing more can come for a core: no deadline, and (a call core) no call going on."""
    return core.next_deadline() is None and not (isinstance(core, CallAnswerer) and core.calls)


def _call_ids(core: Core) -> list[str]:
    """Every Call-ID a core answers for: its dialog's, or one per call for the FAC caller."""
    call_id = getattr(core, "call_id", None)
    ids = [call_id] if isinstance(call_id, str) and call_id else []
    calls = getattr(core, "calls", None)
    return ids + list(calls) if isinstance(calls, dict) else ids


__all__ = ["AirOut", "CallNote", "DectManager", "FirmwareOut", "Line", "Notice", "SipOut", "SipSettings",
           "SystemContext"]
