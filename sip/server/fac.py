"""The FAC call server: INVITE server transactions, the short dialog of a feature-access-code call,
and what a code does to the caller's features (feature-key-sync.md §4).

One responsibility: answer FAC calls. `sip.transaction` has no INVITE server transaction, so this
core keeps its own (RFC 3261 §17.2.1 with the RFC 6026 Accepted state): each INVITE (keyed by its
§17.2.3 branch/sent-by) gets one `_Call` whose state moves only through `TABLE`:

- a non-2xx final (401, 403, 404, 484...) is retransmitted by Timer G (T1 doubling to T2) until the
  ACK (same branch), Timer H gives up at 64*T1; after the ACK Timer I (T4) absorbs stragglers;
- a 2xx is retransmitted by the core (§13.3.1.4: T1 doubling to T2) until the ACK (new branch, matched
  by the dialog); after 64*T1 without one the call is ended with a BYE;
- a retransmitted INVITE gets the final response again; BYE in the dialog gets 200 (no dialog: 481).

Who dials: the From user (digest-checked by `Guard` when enabled). What: the Request-URI user part,
parsed by `FacTable`. Accepted codes change the user's `FeatureState` in the `Directory` and the
`on_change` callback (the application server) returns the NOTIFYs for the changed features.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from sip.core import Core
from sip.errors import LocalProtocolError, RemoteProtocolError
from sip.events import Address, Output, SendDatagram
from sip.message import Request, Response, make_response
from sip.server.codes import FacAction, FacCommand, FacTable
from sip.server.faults import Faults
from sip.server.guard import AuthResult, Guard
from sip.server.users import Directory
from sip.state import FEATURE_FORWARDING, Feature, FeatureState
from sip.transaction import ServerKey, TimerConfig, server_key
from sip.uri import NameAddr, SipUri

#: After the ACK of a 2xx, hang up a FAC call the caller leaves open this long (s) [choice].
HANGUP_AFTER = 32.0


class CallState(enum.Enum):
    COMPLETED = "completed"  # non-2xx sent, waiting for its ACK (Timer G/H)
    CONFIRMED = "confirmed"  # ACK of the non-2xx received (Timer I)
    ACCEPTED = "accepted"  # 2xx sent, retransmitted until the ACK (RFC 6026 §7.1)
    ESTABLISHED = "established"  # 2xx ACKed: the dialog waits for the caller's BYE
    ENDED = "ended"  # kept a while to absorb late retransmissions, then forgotten


class CallInput(enum.Enum):
    INVITE_AGAIN = "INVITE retransmission"
    ACK = "ACK"
    BYE = "BYE in the dialog"
    RETRANSMIT = "Timer G / 2xx retransmission timer"
    TIMEOUT = "Timer H / 2xx give-up / hang-up timer"
    WAIT = "Timer I / linger timer"


class CallAction(enum.Enum):
    RESEND = "resend the final response"
    RETRANSMIT = "resend and double the interval"
    CONFIRM = "stop retransmitting"
    HANG_UP = "send BYE and end"
    END = "end the dialog"
    FORGET = "remove the call"
    NOTHING = "absorb"


C, CI, CA = CallState, CallInput, CallAction
TABLE: dict[tuple[CallState, CallInput], tuple[CallAction, CallState]] = {
    # RFC 3261 §17.2.1: "while in the Completed state, if a request retransmission is received, the
    # server SHOULD pass the response to the transport for retransmission"; ACK -> Confirmed.
    (C.COMPLETED, CI.INVITE_AGAIN): (CA.RESEND, C.COMPLETED),
    (C.COMPLETED, CI.ACK): (CA.CONFIRM, C.CONFIRMED),
    (C.COMPLETED, CI.RETRANSMIT): (CA.RETRANSMIT, C.COMPLETED),
    (C.COMPLETED, CI.TIMEOUT): (CA.FORGET, C.ENDED),  # Timer H: no ACK, give up
    (C.CONFIRMED, CI.INVITE_AGAIN): (CA.NOTHING, C.CONFIRMED),
    (C.CONFIRMED, CI.ACK): (CA.NOTHING, C.CONFIRMED),
    (C.CONFIRMED, CI.WAIT): (CA.FORGET, C.ENDED),  # Timer I
    # RFC 3261 §13.3.1.4: the 2xx is retransmitted until the ACK; RFC 6026 §7.1 Accepted state.
    (C.ACCEPTED, CI.INVITE_AGAIN): (CA.RESEND, C.ACCEPTED),
    (C.ACCEPTED, CI.ACK): (CA.CONFIRM, C.ESTABLISHED),
    (C.ACCEPTED, CI.RETRANSMIT): (CA.RETRANSMIT, C.ACCEPTED),
    # §13.3.1.4: "If the server retransmits the 2xx response for 64*T1 seconds without receiving an
    # ACK, the dialog is confirmed, but the session SHOULD be terminated ... with a BYE".
    (C.ACCEPTED, CI.TIMEOUT): (CA.HANG_UP, C.ENDED),
    (C.ACCEPTED, CI.BYE): (CA.END, C.ENDED),
    (C.ESTABLISHED, CI.INVITE_AGAIN): (CA.NOTHING, C.ESTABLISHED),
    (C.ESTABLISHED, CI.ACK): (CA.NOTHING, C.ESTABLISHED),
    (C.ESTABLISHED, CI.BYE): (CA.END, C.ENDED),
    (C.ESTABLISHED, CI.TIMEOUT): (CA.HANG_UP, C.ENDED),
    (C.ENDED, CI.INVITE_AGAIN): (CA.NOTHING, C.ENDED),
    (C.ENDED, CI.ACK): (CA.NOTHING, C.ENDED),
    (C.ENDED, CI.WAIT): (CA.FORGET, C.ENDED),
}

DialogKey = tuple[str, str, str]  # Call-ID, local (To) tag, remote (From) tag


@dataclass
class _Call:
    """One INVITE server transaction and, after a 2xx, its dialog."""

    key: ServerKey
    invite: Request
    source: Address
    response: bytes
    state: CallState
    local_tag: str
    interval: float
    timers: dict[CallInput, float] = field(default_factory=dict)
    dialog: DialogKey | None = None


ChangeHook = Callable[[float, str, tuple[Feature, ...]], list[Output]]


class FacServer(Core):
    """INVITE/ACK/BYE/CANCEL of FAC calls on the server's endpoint."""

    def __init__(
        self, *, local: Address, ids: Callable[[], str], directory: Directory, guard: Guard, faults: Faults,
        on_change: ChangeHook, table: FacTable | None = None, timers: TimerConfig | None = None,
        user_agent: str | None = None,
    ) -> None:  # fmt: skip
        super().__init__(local=local, ids=ids, timers=timers, user_agent=user_agent)
        self.directory = directory
        self.guard = guard
        self.faults = faults
        self.on_change = on_change
        self.table = table or FacTable()
        self.calls: dict[ServerKey, _Call] = {}
        self.dialogs: dict[DialogKey, _Call] = {}
        self._sdp_version = 0

    # --- driver API (INVITE and ACK bypass the non-INVITE transaction layer) ----------------------

    def receive_message(self, now: float, message: Request | Response, source: Address) -> list[Output]:
        if isinstance(message, Request) and message.method == "INVITE":
            call = self.calls.get(server_key(message))
            if call is not None:
                return self._fire(now, call, CI.INVITE_AGAIN)
            return self._new_invite(now, message, source)
        if isinstance(message, Request) and message.method == "ACK":
            call = self.calls.get(server_key(message))
            if call is None or call.state not in (C.COMPLETED, C.CONFIRMED):
                call = self.dialogs.get(_dialog_key(message))
            # RFC 3261 §17.2.3 / §13.3.1.4: an ACK matching nothing is dropped silently.
            return self._fire(now, call, CI.ACK) if call is not None else []
        return super().receive_message(now, message, source)

    # --- new INVITE -------------------------------------------------------------------------------

    def _new_invite(self, now: float, invite: Request, source: Address) -> list[Output]:
        changes: list[Output] = []
        try:
            status, reason, headers, body, changed, user = self._decide(now, invite)
        except RemoteProtocolError as err:
            status, reason, headers, body, changed, user = err.status, err.reason, [], b"", (), ""
        tag = self.ids()
        response = make_response(invite, status, reason, to_tag=tag, headers=headers, body=body)
        accepted = 200 <= status < 300
        call = _Call(
            key=server_key(invite), invite=invite, source=source, response=response.to_bytes(),
            state=C.ACCEPTED if accepted else C.COMPLETED, local_tag=tag,
            interval=self.transactions.timers.t1,
        )  # fmt: skip
        t1 = self.transactions.timers.t1
        # Timer G / 2xx retransmission start at T1; Timer H / the 2xx give-up at 64*T1.
        call.timers = {CI.RETRANSMIT: now + t1, CI.TIMEOUT: now + 64 * t1}
        self.calls[call.key] = call
        if accepted:
            call.dialog = (invite.call_id, tag, invite.from_.tag or "")
            self.dialogs[call.dialog] = call
        if changed:
            changes = self.on_change(now, user, changed)
        return [SendDatagram(data=call.response, destination=source), *changes]

    def _decide(
        self, now: float, invite: Request
    ) -> tuple[int, str | None, list[tuple[str, object]], bytes, tuple[Feature, ...], str]:
        """(status, reason, headers, body, changed features, user) for a new INVITE."""
        user = invite.from_.uri.user if isinstance(invite.from_.uri, SipUri) else None
        if invite.to.tag is not None:
            # A re-INVITE in a FAC dialog (or for an unknown one): nothing to renegotiate here.
            status = 488 if _dialog_key(invite) in self.dialogs else 481
            return status, None, [], b"", (), ""
        if not isinstance(invite.uri, SipUri):
            return 416, None, [], b"", (), ""  # RFC 3261 §21.4.16 Unsupported URI Scheme
        account = self.directory.get(user)
        if user is None or account is None:
            return 403, "Unknown caller", [], b"", (), ""
        verdict = self.guard.check(invite, user, now)
        if verdict in (AuthResult.CHALLENGE, AuthResult.STALE):
            challenge = self.guard.challenge_header(now, stale=verdict is AuthResult.STALE)
            return 401, None, [challenge], b"", (), ""
        if verdict is AuthResult.FAILED:
            return 403, None, [], b"", (), ""
        refusal = self.faults.rejection("INVITE")
        if refusal is not None:
            return refusal[0], None, refusal[1], b"", (), ""
        command = self.table.parse(invite.uri.user or "")
        contact = NameAddr(uri=SipUri(host=self.local[0], port=self.local[1]))
        headers: list[tuple[str, object]] = [("Contact", contact)]
        body = b""
        if invite.body:
            content_type = invite.content_type
            if content_type is None or content_type.mime != "application/sdp":
                return 415, None, [("Accept", "application/sdp")], b"", (), ""
            answer = self._sdp_answer(invite.body)
            if answer is None:
                return 488, None, [], b"", (), ""
            headers.append(("Content-Type", "application/sdp"))
            body = answer
        try:
            new, reason = apply_code(account.state, command)
        except LocalProtocolError as err:
            # e.g. *72 without a kept target: cannot be activated.
            return 484, err.reason, [], b"", (), ""
        changed = account.state.changed(new)
        account.state = new
        return 200, reason, headers, body, changed, user

    def _sdp_answer(self, offer: bytes) -> bytes | None:
        """A minimal RFC 3264 answer: the first payload type offered on the first audio line."""
        for line in offer.decode("utf-8", "replace").splitlines():
            parts = line.split()
            if line.startswith("m=audio ") and len(parts) >= 4:
                payload = parts[3]
                self._sdp_version += 1
                host = self.local[0]
                return (
                    f"v=0\r\no=fksim-as {self._sdp_version} 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\n"
                    f"t=0 0\r\nm=audio 4000 {parts[2]} {payload}\r\na=sendrecv\r\n"
                ).encode()
        return None

    # --- state machine -----------------------------------------------------------------------------

    def _fire(self, now: float, call: _Call, event: CallInput) -> list[Output]:
        try:
            action, call.state = TABLE[(call.state, event)]
        except KeyError:
            raise LocalProtocolError(f"{event.value} in call state {call.state.value}", status=500) from None
        timers = self.transactions.timers
        if action in (CA.RESEND, CA.RETRANSMIT):
            if action is CA.RETRANSMIT:
                # Timer G and the 2xx timer: "MIN(2*T1, T2)", then doubling up to T2 (§17.2.1, §13.3.1.4).
                call.interval = min(call.interval * 2, timers.t2)
                call.timers[CI.RETRANSMIT] = now + call.interval
            return [SendDatagram(data=call.response, destination=call.source)]
        if action is CA.CONFIRM:
            call.timers.clear()
            if call.state is C.CONFIRMED:
                call.timers[CI.WAIT] = now + timers.t4  # Timer I = T4 over UDP
            else:
                call.timers[CI.TIMEOUT] = now + HANGUP_AFTER
            return []
        if action in (CA.END, CA.HANG_UP):
            out = self._bye(now, call) if action is CA.HANG_UP else []
            self._linger(now, call)
            return out
        if action is CA.FORGET:
            # Timer H, Timer I or the end of the linger time: the transaction and dialog are gone.
            call.timers.clear()
            self.calls.pop(call.key, None)
            if call.dialog is not None:
                self.dialogs.pop(call.dialog, None)
        return []

    def _linger(self, now: float, call: _Call) -> None:
        # Keep an ended call 64*T1 to absorb late INVITE/ACK retransmissions (RFC 6026 Timer L) [choice].
        call.timers = {CI.WAIT: now + 64 * self.transactions.timers.t1}

    def _bye(self, now: float, call: _Call) -> list[Output]:
        invite = call.invite
        target = invite.contacts[0].uri if invite.contacts else invite.from_.uri
        fields: list[tuple[str, object]] = [
            ("From", invite.to.with_tag(call.local_tag)), ("To", invite.from_), ("Call-ID", invite.call_id),
            ("CSeq", "1 BYE"),
        ]  # fmt: skip
        return self.transactions.send(self._build("BYE", target, fields), call.source, now)

    # --- other requests through the non-INVITE transaction layer ------------------------------------

    def _on_request(self, now: float, request: Request, source: Address) -> list[Output]:
        if request.method == "BYE":
            call = self.dialogs.get(_dialog_key(request))
            if call is None or call.state not in (C.ACCEPTED, C.ESTABLISHED):
                # RFC 3261 §15.1.2: a BYE that matches no dialog gets 481.
                return self._answer(now, request, 481)
            out = self._answer(now, request, 200)
            return out + self._fire(now, call, CI.BYE)
        if request.method == "CANCEL":
            # RFC 3261 §9.2: every FAC INVITE is answered at once, so a CANCEL changes nothing; it
            # is answered 200 when it matches an INVITE transaction, else 481.
            key = server_key(replace(request, method="INVITE"))
            return self._answer(now, request, 200 if key in self.calls else 481)
        return self._answer(now, request, 405, headers=[("Allow", "INVITE, ACK, BYE, CANCEL")])

    # --- timers -------------------------------------------------------------------------------------

    def _own_deadline(self) -> float | None:
        times = [t for call in self.calls.values() for t in call.timers.values()]
        return min(times) if times else None

    def _on_own_timer(self, now: float) -> list[Output]:
        out: list[Output] = []
        for call in list(self.calls.values()):
            for timer, when in sorted(call.timers.items(), key=lambda kv: kv[1]):
                if when <= now and call.timers.get(timer) == when:
                    call.timers.pop(timer)
                    out += self._fire(now, call, timer)
        return out


def _dialog_key(request: Request) -> DialogKey:
    return (request.call_id, request.to.tag or "", request.from_.tag or "")


def apply_code(state: FeatureState, command: FacCommand) -> tuple[FeatureState, str]:
    """The state after a FAC, and the reason phrase to answer with (interrogation: the status)."""
    code = command.code
    feature = code.feature
    if code.action is FacAction.INTERROGATE:
        if feature is Feature.DND:
            return state, "DND " + ("on" if state.dnd else "off")
        fwd = state.forwarding(FEATURE_FORWARDING[feature])
        status = f"active to {fwd.to}" if fwd.active else "inactive"
        return state, f"{feature.name} {status}"
    on = code.action is FacAction.ACTIVATE
    if feature is Feature.DND:
        return replace(state, dnd=on), "DND " + ("on" if on else "off")
    ftype = FEATURE_FORWARDING[feature]
    new, _ = state.with_forwarding(ftype, active=on, to=command.number, rings=command.rings)
    return new, f"{feature.name} " + ("on" if on else "off")


__all__ = ["HANGUP_AFTER", "TABLE", "CallInput", "CallState", "FacServer", "apply_code"]
