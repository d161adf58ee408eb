"""The FAC call server: the short dialog of a feature-access-code call and what a code does to the
caller's features (feature-key-sync.md §4).

One responsibility: answer FAC calls. INVITEs run in the transaction layer's INVITE server
transaction (`sip.transaction.INVITE_SERVER`: RFC 3261 §17.2.1 with the RFC 6026 Accepted state):

- a non-2xx final (401, 403, 404, 484...) is retransmitted by Timer G (T1 doubling to T2) until the
  ACK (same branch), Timer H gives up at 64*T1; after the ACK Timer I (T4) absorbs stragglers;
- a 2xx is retransmitted (§13.3.1.4: T1 doubling to T2) until the ACK (new branch, matched by Call-ID
  and CSeq); an INVITE retransmission gets the final response again until the ACK and is absorbed
  after it, until Timer L (64*T1), so a code is never applied twice; Timer L without an ACK is
  reported and this core ends the call with a BYE (§13.3.1.4).

This core keeps only the dialog of an accepted call, whose state moves through `TABLE`: the ACK
confirms it, the announcement is played (`HANGUP_AFTER` seconds) and the server ends the call with a
BYE, as BroadWorks ends a FAC call after its confirmation announcement; a caller's BYE before that
ends it too (200; no dialog: 481). Media (`sip.sdp`): the INVITE's offer is answered in the 2xx
(RFC 3264 §6.1: one of the offered codecs the server plays, telephone-event when offered); an
INVITE without an offer gets an offer in the 2xx (RFC 3261 §13.3.1.4), answered by the ACK.
Who dials: the From user (digest-checked by `Guard` when enabled). What:
the Request-URI user part, parsed by `FacTable`. Accepted codes change the user's `FeatureState` in
the `Directory` and the `on_change` callback (the application server) returns the NOTIFYs for the
changed features.
"""

from __future__ import annotations

import enum
import heapq
from collections.abc import Callable
from dataclasses import dataclass, replace

from sip.core import Core
from sip.errors import LocalProtocolError, RemoteProtocolError
from sip.events import Address, Output
from sip.message import Request
from sip.sdp import MEDIA_TYPE, build_answer, build_offer, parse_sdp
from sip.server.codes import FacAction, FacCommand, FacTable
from sip.server.faults import Faults
from sip.server.guard import AuthResult, Guard
from sip.server.users import Directory
from sip.state import FEATURE_FORWARDING, Feature, FeatureState
from sip.transaction import ServerKey, TimerConfig, server_key
from sip.uri import NameAddr, SipUri

#: The confirmation announcement: after the ACK, the server hangs up the FAC call this long later (s)
#: [choice: its length is not published].
HANGUP_AFTER = 3.0
#: The codecs the server's announcement can be played in, by RFC 3551 payload type [choice].
SERVER_CODECS = (8, 0, 9, 18, 101)
#: The server's RTP port for announcements [choice].
MEDIA_PORT = 4000


class DialogState(enum.Enum):
    ACCEPTED = "accepted"  # 2xx sent; the transaction retransmits it until the ACK
    ESTABLISHED = "established"  # 2xx ACKed: the dialog waits for the caller's BYE
    ENDED = "ended"


class DialogInput(enum.Enum):
    ACK = "ACK"
    BYE = "BYE in the dialog"
    NO_ACK = "Timer L: the 2xx was never ACKed"
    HANG_UP_DUE = "hang-up timer"


class DialogAction(enum.Enum):
    WAIT_FOR_BYE = "start the hang-up timer"
    HANG_UP = "send BYE and end"
    END = "end the dialog"
    NOTHING = "absorb"


D, DI, DA = DialogState, DialogInput, DialogAction
TABLE: dict[tuple[DialogState, DialogInput], tuple[DialogAction, DialogState]] = {
    (D.ACCEPTED, DI.ACK): (DA.WAIT_FOR_BYE, D.ESTABLISHED),
    (D.ACCEPTED, DI.BYE): (DA.END, D.ENDED),
    # §13.3.1.4: "If the server retransmits the 2xx response for 64*T1 seconds without receiving an
    # ACK, the dialog is confirmed, but the session SHOULD be terminated ... with a BYE".
    (D.ACCEPTED, DI.NO_ACK): (DA.HANG_UP, D.ENDED),
    (D.ESTABLISHED, DI.ACK): (DA.NOTHING, D.ESTABLISHED),
    (D.ESTABLISHED, DI.BYE): (DA.END, D.ENDED),
    (D.ESTABLISHED, DI.HANG_UP_DUE): (DA.HANG_UP, D.ENDED),
}

DialogKey = tuple[str, str, str]  # Call-ID, local (To) tag, remote (From) tag


@dataclass
class _Dialog:
    """The dialog of one accepted FAC call."""

    key: DialogKey
    invite: Request
    source: Address
    local_tag: str
    state: DialogState = DialogState.ACCEPTED
    hang_up_at: float | None = None


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
        self.dialogs: dict[DialogKey, _Dialog] = {}
        #: INVITE transaction -> the dialog its 2xx created (to find it when Timer L reports no ACK)
        self._by_invite: dict[ServerKey, DialogKey] = {}
        #: (hang-up time, dialog key) of established dialogs; stale entries are skipped
        self._hang_ups: list[tuple[float, DialogKey]] = []
        self._sdp_version = 0

    # --- requests -----------------------------------------------------------------------------------

    def _on_request(self, now: float, request: Request, source: Address) -> list[Output]:
        if request.method == "INVITE":
            return self._new_invite(now, request, source)
        if request.method == "BYE":
            dialog = self.dialogs.get(_dialog_key(request))
            if dialog is None:
                # RFC 3261 §15.1.2: a BYE that matches no dialog gets 481.
                return self._answer(now, request, 481)
            return self._answer(now, request, 200) + self._fire(now, dialog, DI.BYE)
        if request.method == "CANCEL":
            # RFC 3261 §9.2: every FAC INVITE is answered at once, so a CANCEL changes nothing; it
            # is answered 200 when it matches an INVITE transaction, else 481.
            key = server_key(replace(request, method="INVITE"))
            return self._answer(now, request, 200 if key in self.transactions.servers else 481)
        return self._answer(now, request, 405, headers=[("Allow", "INVITE, ACK, BYE, CANCEL")])

    def _on_ack(self, now: float, ack: Request) -> list[Output]:
        # The transaction passes up the first ACK of a 2xx; an ACK that matches nothing is dropped
        # silently (RFC 3261 §17.2.3, §13.3.1.4).
        dialog = self.dialogs.get(_dialog_key(ack))
        return self._fire(now, dialog, DI.ACK) if dialog is not None else []

    def _on_timeout(self, now: float, request: Request) -> list[Output]:
        if request.method != "INVITE":
            return []  # our BYE got no answer: the dialog is already over
        # Timer H (a non-2xx never ACKed: nothing to do) or Timer L (a 2xx never ACKed).
        key = self._by_invite.get(server_key(request))
        dialog = self.dialogs.get(key) if key is not None else None
        return self._fire(now, dialog, DI.NO_ACK) if dialog is not None else []

    def _new_invite(self, now: float, invite: Request, source: Address) -> list[Output]:
        try:
            status, reason, headers, body, changed, user = self._decide(now, invite)
        except RemoteProtocolError as err:
            status, reason, headers, body, changed, user = err.status, err.reason, [], b"", (), ""
        tag = self.ids()
        if 200 <= status < 300:
            # RFC 3261 §12.1.1: a response that creates a dialog copies the request's Record-Route.
            headers = [*headers, *(("Record-Route", rr) for rr in invite.record_routes)]
        out = self._answer(now, invite, status, reason, to_tag=tag, headers=headers, body=body)
        if 200 <= status < 300:
            dialog = _Dialog(
                key=(invite.call_id, tag, invite.from_.tag or ""), invite=invite, source=source, local_tag=tag
            )
            self.dialogs[dialog.key] = dialog
            self._by_invite[server_key(invite)] = dialog.key
        if changed:
            out += self.on_change(now, user, changed)
        return out

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
        if command.code.feature not in account.services:
            # A code for a service not assigned to the user [choice: 403 with this reason].
            return 403, "Service not assigned", [], b"", (), ""
        contact = NameAddr(uri=self.local_uri())
        headers: list[tuple[str, object]] = [("Contact", contact), ("Content-Type", MEDIA_TYPE)]
        self._sdp_version += 1
        if invite.body:
            content_type = invite.content_type
            if content_type is None or content_type.mime != MEDIA_TYPE:
                return 415, None, [("Accept", MEDIA_TYPE)], b"", (), ""
            try:
                answer = build_answer(parse_sdp(invite.body), address=self.local[0], port=MEDIA_PORT,
                                      session_id=self._sdp_version, supported=SERVER_CODECS)
            except RemoteProtocolError:
                answer = None
            if answer is None:
                return 488, None, [], b"", (), ""  # RFC 3261 §21.4.26: no acceptable media
            body = answer
        else:
            # RFC 3261 §13.3.1.4: an INVITE without an offer gets an offer in the 2xx.
            body = build_offer(address=self.local[0], session_id=self._sdp_version, version=1,
                               port=MEDIA_PORT, codecs=SERVER_CODECS)
        try:
            new, reason = apply_code(account.state, command)
        except LocalProtocolError as err:
            # e.g. *72 without a kept target: cannot be activated.
            return 484, err.reason, [], b"", (), ""
        changed = account.state.changed(new)
        account.state = new
        return 200, reason, headers, body, changed, user

    # --- the dialog's state machine ----------------------------------------------------------------

    def _fire(self, now: float, dialog: _Dialog, event: DialogInput) -> list[Output]:
        try:
            action, dialog.state = TABLE[(dialog.state, event)]
        except KeyError:
            problem = f"{event.value} in dialog state {dialog.state.value}"
            raise LocalProtocolError(problem, status=500) from None
        out: list[Output] = []
        if action is DA.WAIT_FOR_BYE:
            dialog.hang_up_at = now + HANGUP_AFTER
            heapq.heappush(self._hang_ups, (dialog.hang_up_at, dialog.key))
        elif action is DA.HANG_UP:
            out = self._bye(now, dialog)
        if dialog.state is D.ENDED:
            # The INVITE transaction (alive until Timer L/H/I) still absorbs late retransmissions.
            self.dialogs.pop(dialog.key, None)
            self._by_invite.pop(server_key(dialog.invite), None)
        return out

    def _bye(self, now: float, dialog: _Dialog) -> list[Output]:
        invite = dialog.invite
        target = invite.contacts[0].uri if invite.contacts else invite.from_.uri
        # RFC 3261 §12.1.1: the UAS's route set is the INVITE's Record-Route, in order; its requests
        # carry it as Route and go where the INVITE came from (the proxy that record-routed).
        fields: list[tuple[str, object]] = [("Route", rr) for rr in invite.record_routes]
        fields += [
            ("From", invite.to.with_tag(dialog.local_tag)), ("To", invite.from_), ("Call-ID", invite.call_id),
            ("CSeq", "1 BYE"),
        ]  # fmt: skip
        return self.transactions.send(self._build("BYE", target, fields), dialog.source, now)

    # --- timers -------------------------------------------------------------------------------------

    def _own_deadline(self) -> float | None:
        while self._hang_ups and not self._due_entry(self._hang_ups[0]):
            heapq.heappop(self._hang_ups)  # the dialog ended before its hang-up time
        return self._hang_ups[0][0] if self._hang_ups else None

    def _due_entry(self, entry: tuple[float, DialogKey]) -> bool:
        dialog = self.dialogs.get(entry[1])
        return dialog is not None and dialog.hang_up_at == entry[0] and dialog.state is D.ESTABLISHED

    def _on_own_timer(self, now: float) -> list[Output]:
        out: list[Output] = []
        while self._hang_ups and self._hang_ups[0][0] <= now:
            entry = heapq.heappop(self._hang_ups)
            if self._due_entry(entry):
                out += self._fire(now, self.dialogs[entry[1]], DI.HANG_UP_DUE)
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


__all__ = ["HANGUP_AFTER", "TABLE", "DialogInput", "DialogState", "FacServer", "apply_code"]
