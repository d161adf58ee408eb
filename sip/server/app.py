"""The BroadWorks-like application server (issue 5 point 1) on one UDP address.

One responsibility: the server as one sans-I/O core. Each datagram is parsed once and dispatched:
REGISTER -> `Registrar`; SUBSCRIBE and the answers to our NOTIFYs -> `Notifier`; INVITE/ACK/BYE/
CANCEL -> `FacServer` (except the requests of the server's own call legs, which `CallDelivery` owns by
Call-ID: `place_call` delivers an outside caller's call to a user, docs/appserver.md "Calls");
anything else -> 405. This module is also the notifier's application
(feature-key-sync.md §2): a new SUBSCRIBE is refused for an unknown user (404), a user without FKS
(403) or by the fault knob, else accepted with the multipart full state (step 2); a refresh gets the
full state again (step 3); a Set is applied to the user's `FeatureState` and confirmed by a
single-part NOTIFY to every subscription of the user (step 4); portal and FAC changes NOTIFY only
the changed features (step 5). `restart()` replaces every core (dialogs, subscriptions,
registrations and transactions are lost) and keeps the users. `Faults.delay` holds every outgoing
datagram; the held ones are part of `next_deadline()`.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace

from sip.auth import DigestServer
from sip.core import Core
from sip.errors import LocalProtocolError, ProtocolError, RemoteProtocolError
from sip.events import (
    Address,
    CallCleared,
    CallOutcome,
    CallRinging,
    Output,
    SendDatagram,
    SetRequestReceived,
    SubscribeReceived,
)
from sip.feature_event import (
    CONTENT_TYPE,
    FeatureEvent,
    FeatureSet,
    ForwardingType,
    SetDoNotDisturb,
    build_body,
)
from sip.message import Request, Response, parse_message
from sip.multipart import BodyPart
from sip.notifier import Notifier, NotifierConfig, NotifierSubscription
from sip.numbers import read_uint
from sip.readback import error_response_bytes
from sip.server.calls import CallDelivery
from sip.server.codes import FacTable
from sip.server.fac import FacServer, apply_code
from sip.server.faults import Faults
from sip.server.guard import Guard
from sip.server.registrar import Binding, Registrar, RegistrarConfig
from sip.server.users import Directory, User
from sip.state import FORWARDING_FEATURE, Feature, FeatureState, Forwarding
from sip.transaction import TimerConfig

#: A portal forwarding change: a whole `Forwarding`, or some of {"active", "to", "rings"}.
ForwardingChange = Forwarding | Mapping[str, object]


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """The server's address and policy. `authenticate` names the methods that are digest-checked
    (all three by default, as BroadWorks does) [choice]."""

    local: Address
    domain: str = "as.example.com"
    secret: bytes = b"fksim-application-server"
    nonce_lifetime: float = 300.0
    algorithm: str = "MD5"
    authenticate: frozenset[str] = frozenset({"REGISTER", "SUBSCRIBE", "INVITE"})
    registrar: RegistrarConfig = field(default_factory=RegistrarConfig)
    min_expires: int = 60
    max_expires: int = 3600
    fac: FacTable = field(default_factory=FacTable)
    timers: TimerConfig | None = None
    user_agent: str | None = "fksim-as"


#: The methods this server answers (RFC 3261 §20.5).
ALLOW = "REGISTER, SUBSCRIBE, INVITE, ACK, BYE, CANCEL"


class _Refuser(Core):
    """Answers what no other core takes: other methods (405)."""

    def _on_request(self, now: float, request: Request, source: Address) -> list[Output]:
        # RFC 3261 §8.2.1: a 405 MUST list the supported methods in Allow.
        return self._answer(now, request, 405, headers=[("Allow", ALLOW)])


class ApplicationServer:
    """Registrar, `as-feature-event` notifier and FAC server behind one address."""

    def __init__(
        self, config: ServerConfig, users: Iterable[User] | Directory = (), *, ids: Callable[[], str],
        faults: Faults | None = None,
    ) -> None:  # fmt: skip
        self.config = config
        self.ids = ids
        self.directory = users if isinstance(users, Directory) else Directory(users)
        self.faults = faults or Faults()
        self.digest = DigestServer(
            config.domain, secret=config.secret, nonce_lifetime=config.nonce_lifetime,
            algorithm=config.algorithm,
        )  # fmt: skip
        self.now = 0.0
        self._held: list[tuple[float, int, SendDatagram]] = []
        self._held_count = 0
        self._start()

    def _start(self) -> None:
        c = self.config
        passwords = self.directory.passwords

        def guard(method: str) -> Guard:
            return Guard(digest=self.digest if method in c.authenticate else None, passwords=passwords)

        subscribe_auth = "SUBSCRIBE" in c.authenticate
        self.notifier = Notifier(
            NotifierConfig(
                local=c.local, domain=c.domain, min_expires=c.min_expires, max_expires=c.max_expires,
                default_expires=c.max_expires, passwords=passwords if subscribe_auth else None,
                digest=self.digest if subscribe_auth else None, user_agent=c.user_agent,
            ),
            ids=self.ids, timers=c.timers,
        )  # fmt: skip
        self.registrar = Registrar(
            local=c.local, ids=self.ids, timers=c.timers, directory=self.directory, guard=guard("REGISTER"),
            faults=self.faults, config=c.registrar, user_agent=c.user_agent,
        )  # fmt: skip
        self.fac = FacServer(
            local=c.local, ids=self.ids, timers=c.timers, directory=self.directory, guard=guard("INVITE"),
            faults=self.faults, on_change=self._notify_changed, table=c.fac, user_agent=c.user_agent,
        )  # fmt: skip
        self.calls = CallDelivery(
            local=c.local, domain=c.domain, ids=self.ids, directory=self.directory,
            bindings=self.registrar.bindings, timers=c.timers, user_agent=c.user_agent,
        )  # fmt: skip
        self.refuser = _Refuser(local=c.local, ids=self.ids, timers=c.timers, user_agent=c.user_agent)
        self._cores: tuple[Core, ...] = (self.notifier, self.fac, self.registrar, self.calls, self.refuser)

    # --- driver API ---------------------------------------------------------------------------------

    def receive(self, now: float, data: bytes, source: Address) -> list[Output]:
        """One datagram in; datagrams out. A request that does not parse gets its 4xx/5xx."""
        self.now = max(self.now, now)
        try:
            message = parse_message(data)
        except RemoteProtocolError as err:
            answer = error_response_bytes(data, err)
            return self._emit(now, [] if answer is None else [SendDatagram(data=answer, destination=source)])
        return self.receive_message(now, message, source)

    def receive_message(self, now: float, message: Request | Response, source: Address) -> list[Output]:
        self.now = max(self.now, now)
        try:
            if isinstance(message, Response):
                owner = next((core for core in self._cores if core.owns(message)), None)
                out = owner.receive_message(now, message, source) if owner is not None else []
            else:
                out = self._route(message).receive_message(now, message, source)
            out = self._react(now, out)
        except ProtocolError as err:
            # Never crash on input: a request that breaks a rule found late is answered statelessly.
            if isinstance(message, Response):
                return []
            error = RemoteProtocolError(err.reason, status=err.status)
            answer = error_response_bytes(message.to_bytes(), error)
            out = [] if answer is None else [SendDatagram(data=answer, destination=source)]
        return self._emit(now, out)

    def next_deadline(self) -> float | None:
        # Asked after every datagram: a loop over the few cores, no list.
        first = self._held[0][0] if self._held else None
        for core in self._cores:
            deadline = core.next_deadline()
            if deadline is not None and (first is None or deadline < first):
                first = deadline
        return first

    def handle_timer(self, now: float) -> list[Output]:
        self.now = max(self.now, now)
        out: list[Output] = []
        for core in self._cores:
            deadline = core.next_deadline()
            if deadline is not None and deadline <= now:
                out += core.handle_timer(now)
        result = self._emit(now, self._react(now, out))
        while self._held and self._held[0][0] <= now:
            result.append(heapq.heappop(self._held)[2])
        return result

    # --- application API ----------------------------------------------------------------------------

    def restart(self, now: float) -> list[Output]:
        """Lose every dialog, subscription, registration, transaction and held datagram; keep users."""
        self.now = max(self.now, now)
        self._held.clear()
        self._start()
        return []

    def add_user(self, user: User) -> None:
        self.directory.add(user)

    def set_fks(self, now: float, name: str, allowed: bool) -> list[Output]:
        """Allow or forbid feature synchronization for a user. Forbidding ends the user's
        subscriptions with `terminated;reason=rejected` (RFC 6665 §4.1.3: authorization changed)."""
        self.directory.set_fks(name, allowed)
        out: list[Output] = []
        if not allowed:
            for sid in self.notifier.subscriptions_of(name):
                out += self.notifier.terminate(now, sid, "rejected")
        return self._emit(now, self._react(now, out))

    def portal_change(
        self, now: float, user: str, *, dnd: bool | None = None, cfa: ForwardingChange | None = None,
        cfb: ForwardingChange | None = None, cfna: ForwardingChange | None = None,
    ) -> list[Output]:  # fmt: skip
        """A change on the web portal: apply, then NOTIFY only the changed features (§2 step 5)."""
        account = self.directory.require(user)
        state = account.state
        if dnd is not None:
            state = replace(state, dnd=dnd)
        changes = {ForwardingType.CFA: cfa, ForwardingType.CFB: cfb, ForwardingType.CFNA: cfna}
        for ftype, change in changes.items():
            if change is not None:
                state = _forwarding(state, ftype, change)
        changed = account.state.changed(state)
        account.state = state
        return self._emit(now, self._notify_changed(now, user, changed))

    def feature_code(self, now: float, user: str, digits: str) -> list[Output]:
        """A FAC dialled from a device of `user` that is not simulated (no call traffic): apply it
        and NOTIFY the changed features. A code the server would refuse raises LocalProtocolError
        carrying the status the call would have got (404, 484)."""
        account = self.directory.require(user)
        try:
            command = self.config.fac.parse(digits)
        except RemoteProtocolError as err:
            raise LocalProtocolError(err.reason, status=err.status) from None
        new, _ = apply_code(account.state, command)
        changed = account.state.changed(new)
        account.state = new
        return self._emit(now, self._notify_changed(now, user, changed))

    # --- read-only state ----------------------------------------------------------------------------

    def place_call(self, now: float, *, caller: str, user: str, label: str) -> list[Output]:
        """An outside caller (`caller`, a number) calls `user`; `label` names the call in the events
        (`CallRinging`, one `CallOutcome`, `CallCleared`). See `sip.server.calls` for the rules."""
        self.now = max(self.now, now)
        return self._emit(now, self.calls.place(now, caller=caller, user=user, label=label))

    def hang_up_call(self, now: float, label: str) -> list[Output]:
        """The outside caller of call `label` hangs up: CANCEL while it rings, BYE once answered."""
        self.now = max(self.now, now)
        return self._emit(now, self.calls.hang_up(now, label))

    def call_outcome(self, label: str) -> CallOutcome | None:
        return self.calls.outcome(label)

    def user_state(self, user: str) -> FeatureState:
        return self.directory.require(user).state

    def subscriptions(self, user: str) -> list[NotifierSubscription]:
        return [self.notifier.subscriptions[sid] for sid in self.notifier.subscriptions_of(user)]

    def registrations(self, user: str, now: float | None = None) -> list[Binding]:
        return self.registrar.bindings(user, self.now if now is None else now)

    # --- dispatch and the notifier application --------------------------------------------------------

    def _route(self, request: Request) -> Core:
        if self.calls.owns_call_id(request.call_id):
            return self.calls   # a request in one of the server's own call legs (the device's BYE)
        method = request.method
        if method == "REGISTER":
            return self.registrar
        if method == "SUBSCRIBE":
            # An unknown user gets 404 from the notifier core (before any challenge) or, when
            # SUBSCRIBE is not authenticated, from the application (`_refusal`).
            return self.notifier
        if method in ("INVITE", "ACK", "BYE", "CANCEL"):
            return self.fac
        return self.refuser

    def _react(self, now: float, outputs: list[Output]) -> list[Output]:
        """Datagrams pass; the notifier's requests are answered here; other events are dropped."""
        out: list[Output] = []
        pending = list(outputs)
        while pending:
            item = pending.pop(0)
            if isinstance(item, SendDatagram | CallRinging | CallOutcome | CallCleared):
                out.append(item)   # datagrams, and what became of the calls the server delivers
            elif isinstance(item, SubscribeReceived):
                pending[:0] = self._on_subscribe(now, item)
            elif isinstance(item, SetRequestReceived):
                pending[:0] = self._on_set(now, item)
        return out

    def _refusal(self, user: User | None) -> tuple[int, list[tuple[str, object]]] | None:
        """(status, extra headers) when a SUBSCRIBE or Set is to be refused."""
        if user is None:
            return 404, []
        if not user.fks:
            # feature-key-sync.md §2: FKS not enabled for the user on the server -> 403 [likely].
            return 403, []
        # The knob's headers: Retry-After when set, Allow-Events with a 489 (RFC 6665 §8.3.1).
        return self.faults.rejection("SUBSCRIBE")

    def _on_subscribe(self, now: float, event: SubscribeReceived) -> list[Output]:
        user = self.directory.get(event.user)
        refusal = self._refusal(user)
        if refusal is not None or user is None:
            status, headers = refusal or (404, [])
            return self.notifier.reject(now, event.request_id, status, headers=headers)
        # §2 steps 2 and 3: 200, then the full state of every assigned feature (multipart).
        state, extra = self._bodies(user, user.assigned())
        return self.notifier.accept(now, event.request_id, state, extra=extra)

    def _on_set(self, now: float, event: SetRequestReceived) -> list[Output]:
        user = self.directory.get(event.user)
        refusal = self._refusal(user)
        if refusal is not None or user is None:
            status, headers = refusal or (404, [])
            return self.notifier.reject(now, event.request_id, status, headers=headers)
        if _set_feature(event.item) not in user.services:
            # A Set for a service not assigned to the user is refused [choice: 403, as for FKS off].
            return self.notifier.reject(now, event.request_id, 403)
        try:
            state, feature = user.state.with_set(event.item)
        except LocalProtocolError:
            # Activation without a number and none kept from before: the Set is refused, nothing changes.
            return self.notifier.reject(now, event.request_id, 400)
        out = self.notifier.accept(now, event.request_id)
        user.state = state
        # §2 step 4: a single-part NOTIFY of the feature to every subscription of the user, even when
        # the value did not change (the phone waits for it to update its display).
        return out + self._notify(now, user.name, (feature,))

    def _notify_changed(self, now: float, user: str, features: tuple[Feature, ...]) -> list[Output]:
        return self._react(now, self._notify(now, user, features)) if features else []

    def _notify(self, now: float, user: str, features: tuple[Feature, ...]) -> list[Output]:
        account = self.directory.require(user)
        assigned = account.assigned(features)
        if not assigned:
            return []  # BroadWorks reports only assigned services
        state, extra = self._bodies(account, assigned)
        out: list[Output] = []
        for sid in self.notifier.subscriptions_of(user):
            out += self.notifier.notify(now, sid, state, extra=extra)
        return out

    @staticmethod
    def _bodies(user: User, features: tuple[Feature, ...]) -> tuple[list[FeatureEvent], list[BodyPart]]:
        """(feature bodies, extra parts) of a NOTIFY of `features`: with the user's extra elements,
        every feature part is built here, patched, and sent as a raw part."""
        items = user.state.events(user.name, features)
        if not user.extra_elements:
            return items, list(user.extra_parts)
        inserted = "".join(user.extra_elements).encode("iso-8859-1", "xmlcharrefreplace")
        parts = []
        for item in items:
            body = build_body(item)
            closing = body.rindex(b"</")
            parts.append(BodyPart(content_type=CONTENT_TYPE, body=body[:closing] + inserted + body[closing:]))
        return [], parts + list(user.extra_parts)

    # --- the server's knobs (issue 12 §1) -------------------------------------------------------------

    def set_services(self, now: float, name: str, services: Iterable[Feature]) -> list[Output]:
        """Assign exactly `services` to a user; the user's subscriptions get the new full state at
        once [choice: BroadWorks is not documented to notify an assignment change]."""
        user = self.directory.require(name)
        user.services = frozenset(services)
        out: list[Output] = []
        state, extra = self._bodies(user, user.assigned())
        if state or extra:
            for sid in self.notifier.subscriptions_of(name):
                out += self.notifier.notify(now, sid, state, extra=extra)
        return self._emit(now, self._react(now, out))

    def set_extra_parts(self, name: str, parts: Iterable[BodyPart]) -> None:
        """Parts added after the features to every NOTIFY with a body sent to the user."""
        self.directory.require(name).extra_parts = tuple(parts)

    def set_extra_elements(self, name: str, elements: Iterable[str]) -> None:
        """XML elements added inside every feature part sent to the user (written as given)."""
        self.directory.require(name).extra_elements = tuple(elements)

    def _emit(self, now: float, outputs: list[Output]) -> list[Output]:
        if self.faults.delay <= 0:
            return outputs
        for item in outputs:
            if isinstance(item, SendDatagram):
                self._held_count += 1
                heapq.heappush(self._held, (now + self.faults.delay, self._held_count, item))
        return [item for item in outputs if not isinstance(item, SendDatagram)]


def _set_feature(item: FeatureSet) -> Feature:
    return Feature.DND if isinstance(item, SetDoNotDisturb) else FORWARDING_FEATURE[item.forwarding_type]


def _forwarding(state: FeatureState, ftype: ForwardingType, change: ForwardingChange) -> FeatureState:
    if isinstance(change, Forwarding):
        active, to, rings = change.active, change.to, change.rings
    else:
        unknown = set(change) - {"active", "to", "rings"}
        if unknown:
            raise LocalProtocolError(f"Unknown forwarding field {sorted(unknown)[0]}")
        old = state.forwarding(ftype)
        active = bool(change.get("active", old.active))
        to = str(change.get("to", old.to) or "")
        raw = change.get("rings")
        rings = None
        if isinstance(raw, int) and not isinstance(raw, bool) and 0 <= raw <= 999:
            rings = raw
        elif isinstance(raw, str):
            try:
                rings = read_uint(raw, "rings", limit=999)
            except RemoteProtocolError:
                rings = None
        if raw is not None and rings is None:
            raise LocalProtocolError("rings must be a number")
    if rings is not None and not (rings == 0 or 2 <= rings <= 20):
        raise LocalProtocolError("CFNA rings must be 0 or 2-20")
    new, _ = state.with_forwarding(ftype, active=active, to=to or None, rings=rings)
    return new


__all__ = ["ApplicationServer", "ForwardingChange", "ServerConfig"]
