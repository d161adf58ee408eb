"""End to end, in process: the application server delivers an outside caller's call (`place_call`) to a
user whose contacts are the base's `CallAnswerer` cores, registered with a real `RegistrationClient`.

Datagrams are routed by destination address with no latency; time moves only when a test says so
(`Net.advance`), firing every core's timers in order (sip/server/calls.py, sip/call.py)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from sip.call import CallAnswerer, CallAnswererConfig
from sip.events import (
    Address,
    CallCancelled,
    CallCleared,
    CallConfirmed,
    CallEnded,
    CallOffered,
    CallOutcome,
    CallRinging,
    Output,
    Registered,
    SendDatagram,
)
from sip.ids import SequentialIds
from sip.message import Request, Response, parse_message
from sip.pair import SipCore
from sip.registration import RegistrationClient, RegistrationConfig
from sip.sdp import MEDIA_TYPE, parse_sdp
from sip.server import ApplicationServer, ServerConfig, User
from sip.server.calls import NO_ANSWER_TIMEOUT, RING_INTERVAL
from sip.state import FeatureState, Forwarding
from sip.uri import SipUri

AS: Address = ("192.0.2.1", 5060)
DOMAIN = "as.example.com"
BASE1: Address = ("192.0.2.11", 5060)
BASE2: Address = ("192.0.2.12", 5060)
CONTACT1 = "sip:2001@192.0.2.11:5060"
CONTACT2 = "sip:2001@192.0.2.12:5060"
T1 = 0.5

#: (source, destination, octets) -> True to drop that datagram
Drop = Callable[[Address, Address, bytes], bool]


@dataclass
class Net:
    """Cores by address; datagrams delivered by destination at once; events collected per address."""

    cores: dict[Address, SipCore]
    now: float = 0.0
    events: dict[Address, list[Output]] = field(default_factory=dict)
    log: list[tuple[float, Address, Address, bytes]] = field(default_factory=list)
    drops: list[Drop] = field(default_factory=list)
    dropped: list[bytes] = field(default_factory=list)
    _flight: deque[tuple[Address, SendDatagram]] = field(default_factory=deque)

    def feed(self, source: Address, outputs: list[Output]) -> None:
        for item in outputs:
            if isinstance(item, SendDatagram):
                self._flight.append((source, item))
            else:
                self.events.setdefault(source, []).append(item)

    def pump(self, source: Address, outputs: list[Output]) -> None:
        """Take a core's outputs and deliver datagrams until none is in flight."""
        self.feed(source, outputs)
        for _ in range(10_000):
            if not self._flight:
                return
            src, item = self._flight.popleft()
            self.log.append((self.now, src, item.destination, item.data))
            rule = next((d for d in self.drops if d(src, item.destination, item.data)), None)
            if rule is not None:
                self.drops.remove(rule)   # each rule drops one datagram
                self.dropped.append(item.data)
                continue
            core = self.cores.get(item.destination)
            if core is not None:
                self.feed(item.destination, core.receive(self.now, item.data, src))
        raise AssertionError("the network did not become quiet")

    def advance(self, until: float) -> None:
        """Fire every timer due up to `until`, in order, letting the network settle after each."""
        for _ in range(10_000):
            due = [(d, a) for a, c in self.cores.items() if (d := c.next_deadline()) is not None and d <= until]
            if not due:
                self.now = max(self.now, until)
                return
            when, address = min(due)
            self.now = max(self.now, when)
            self.pump(address, self.cores[address].handle_timer(self.now))
        raise AssertionError("timers did not quiesce")

    def messages(self, *, src: Address | None = None, dst: Address | None = None) -> list[Request | Response]:
        return [parse_message(data) for _, s, d, data in self.log
                if (src is None or s == src) and (dst is None or d == dst)]

    def requests(self, method: str, *, src: Address | None = None, dst: Address | None = None) -> list[Request]:
        return [m for m in self.messages(src=src, dst=dst) if isinstance(m, Request) and m.method == method]

    def responses(self, status: int | None = None, method: str | None = None, *,
                  src: Address | None = None, dst: Address | None = None) -> list[Response]:
        return [m for m in self.messages(src=src, dst=dst) if isinstance(m, Response)
                and (status is None or m.status == status) and (method is None or m.cseq.method == method)]

    def of(self, address: Address) -> list[Output]:
        return self.events.get(address, [])


@dataclass
class World:
    net: Net
    server: ApplicationServer
    answerers: dict[Address, CallAnswerer]

    def place(self, now: float, caller: str = "0301234", user: str = "2001", label: str = "c1") -> None:
        self.net.now = max(self.net.now, now)
        self.net.pump(AS, self.server.place_call(self.net.now, caller=caller, user=user, label=label))

    def hang_up_call(self, label: str = "c1") -> None:
        self.net.pump(AS, self.server.hang_up_call(self.net.now, label))

    def call_id(self, base: Address) -> str:
        offered = [e for e in self.net.of(base) if isinstance(e, CallOffered)]
        assert len(offered) == 1, offered
        return offered[0].call_id

    def act(self, base: Address, what: str, *args: object) -> None:
        """Call the answerer's `what(now, call_id, *args)` and deliver what it sends."""
        answerer = self.answerers[base]
        method = getattr(answerer, what)
        self.net.pump(base, method(self.net.now, self.call_id(base), *args))

    def outcomes(self) -> list[CallOutcome]:
        return [e for e in self.net.of(AS) if isinstance(e, CallOutcome)]

    def outcome(self) -> CallOutcome:
        """The one outcome of the call (exactly one `CallOutcome` event, and `call_outcome` agrees)."""
        outcomes = self.outcomes()
        assert len(outcomes) == 1, outcomes
        assert self.server.call_outcome(outcomes[0].label) == outcomes[0]
        return outcomes[0]


def make_world(bases: tuple[Address, ...] = (BASE1,), state: FeatureState | None = None) -> World:
    users = [User(name="2001", password="pw2001", state=state or FeatureState()),
             User(name="2002", password="pw2002")]
    server = ApplicationServer(ServerConfig(local=AS, domain=DOMAIN), users, ids=SequentialIds("as"))
    net = Net(cores={AS: server})
    aor = SipUri(user="2001", host=DOMAIN)
    answerers: dict[Address, CallAnswerer] = {}
    for base in bases:
        registration = RegistrationClient(
            RegistrationConfig(aor=aor, registrar=AS, local=base, username="2001", password="pw2001"),
            ids=SequentialIds(f"reg-{base}"))
        net.cores[base] = registration
        net.pump(base, registration.start(net.now))
        assert any(isinstance(e, Registered) for e in net.events.pop(base, []))
        # The registration is done (refresh in an hour): the base's call core takes the address over.
        answerers[base] = net.cores[base] = CallAnswerer(
            CallAnswererConfig(aor=aor, server=AS, local=base), ids=SequentialIds(f"call-{base}"))
    assert [b.contact.uri for b in server.registrations("2001")] == [
        SipUri(user="2001", host=b[0], port=b[1]) for b in bases]
    net.log.clear()
    return World(net=net, server=server, answerers=answerers)


def kinds(outputs: list[Output], *types: type) -> list[Output]:
    return [e for e in outputs if isinstance(e, types)]


def is_status(status: int, method: str = "INVITE") -> Drop:
    def match(src: Address, dst: Address, data: bytes) -> bool:
        m = parse_message(data)
        return isinstance(m, Response) and m.status == status and m.cseq.method == method
    return match


def is_request(method: str) -> Drop:
    def match(src: Address, dst: Address, data: bytes) -> bool:
        m = parse_message(data)
        return isinstance(m, Request) and m.method == method
    return match


# --- an answered call ------------------------------------------------------------------------------------


def _answered(world: World) -> None:
    world.place(1.0)
    net = world.net
    invites = net.requests("INVITE", src=AS, dst=BASE1)
    assert len(invites) == 1
    invite = invites[0]
    assert invite.content_type is not None and invite.content_type.mime == MEDIA_TYPE
    offer = parse_sdp(invite.body)
    assert offer.media[0].kind == "audio" and offer.media[0].address == AS[0]
    assert invite.from_.uri == SipUri(user="0301234", host=DOMAIN)
    assert [r.status for r in net.responses(src=BASE1)] == [100]
    offered = kinds(net.of(BASE1), CallOffered)
    assert offered == [CallOffered(call_id=invite.call_id, caller="0301234", offer=invite.body)]
    assert kinds(net.of(AS), CallRinging) == []

    world.act(BASE1, "ringing")
    assert [r.status for r in net.responses(src=BASE1)] == [100, 180]
    assert kinds(net.of(AS), CallRinging) == [CallRinging(label="c1", contact=CONTACT1)]
    assert world.outcomes() == []
    assert world.server.call_outcome("c1") is None

    net.now = 5.0
    world.act(BASE1, "answer")
    ok = net.responses(200, "INVITE", src=BASE1)
    assert len(ok) == 1
    assert ok[0].content_type is not None and ok[0].content_type.mime == MEDIA_TYPE
    answer = parse_sdp(ok[0].body)
    assert answer.media[0].address == BASE1[0] and answer.media[0].port != 0
    assert answer.media[0].formats[0] in offer.media[0].formats   # RFC 3264 §6.1: a subset of the offer
    assert [c.uri for c in ok[0].contacts] == [SipUri(user="2001", host=BASE1[0], port=BASE1[1])]
    acks = net.requests("ACK", src=AS, dst=BASE1)
    assert len(acks) == 1 and acks[0].to.tag == ok[0].to.tag
    assert kinds(net.of(BASE1), CallConfirmed) == [CallConfirmed(call_id=invite.call_id)]
    assert world.outcome() == CallOutcome(label="c1", outcome="answered", by=CONTACT1, contact=CONTACT1,
                                          leg=invite.call_id)


def test_answered_call_then_the_caller_hangs_up() -> None:
    world = make_world()
    _answered(world)
    net = world.net
    call_id = world.call_id(BASE1)
    world.hang_up_call()
    byes = net.requests("BYE", src=AS, dst=BASE1)
    assert len(byes) == 1 and byes[0].call_id == call_id
    assert [r.status for r in net.responses(method="BYE", src=BASE1)] == [200]
    assert kinds(net.of(BASE1), CallEnded) == [CallEnded(call_id=call_id, by="remote")]
    assert kinds(net.of(AS), CallCleared) == [CallCleared(label="c1", by="caller")]
    assert world.answerers[BASE1].calls == {}
    net.advance(100.0)   # every timer runs out: nothing more happens
    world.outcome()
    assert len(kinds(net.of(AS), CallCleared)) == 1
    assert len(kinds(net.of(BASE1), CallEnded)) == 1
    assert net.requests("BYE") == byes


def test_answered_call_then_the_callee_hangs_up() -> None:
    world = make_world()
    _answered(world)
    net = world.net
    call_id = world.call_id(BASE1)
    world.act(BASE1, "hang_up")
    byes = net.requests("BYE", src=BASE1, dst=AS)
    assert len(byes) == 1 and byes[0].call_id == call_id
    assert [r.status for r in net.responses(method="BYE", src=AS)] == [200]
    assert kinds(net.of(AS), CallCleared) == [CallCleared(label="c1", by="callee")]
    assert kinds(net.of(BASE1), CallEnded) == [CallEnded(call_id=call_id, by="local")]
    # The caller hanging up afterwards changes nothing.
    world.hang_up_call()
    net.advance(100.0)
    assert len(net.requests("BYE")) == 1
    assert len(kinds(net.of(AS), CallCleared)) == 1
    world.outcome()


def test_cancel_while_ringing() -> None:
    world = make_world()
    net = world.net
    world.place(1.0)
    world.act(BASE1, "ringing")
    call_id = world.call_id(BASE1)
    net.now = 3.0
    world.hang_up_call()
    cancels = net.requests("CANCEL", src=AS, dst=BASE1)
    assert len(cancels) == 1 and cancels[0].call_id == call_id
    assert [r.status for r in net.responses(method="CANCEL", src=BASE1)] == [200]
    assert [r.status for r in net.responses(method="INVITE", src=BASE1)] == [100, 180, 487]
    assert len(net.requests("ACK", src=AS)) == 1   # the 487 is ACKed (RFC 3261 §17.1.1.3)
    assert kinds(net.of(BASE1), CallCancelled) == [CallCancelled(call_id=call_id)]
    assert world.outcome() == CallOutcome(label="c1", outcome="unanswered", by="server")
    net.advance(100.0)
    world.outcome()
    assert world.answerers[BASE1].calls == {}
    assert kinds(net.of(AS), CallCleared) == []


# --- the server's own decisions ------------------------------------------------------------------------


@pytest.mark.parametrize(("state", "user", "expected"), [
    (FeatureState(dnd=True), "2001", CallOutcome(label="c1", outcome="rejected", by="server", status=486)),
    (FeatureState(cfa=Forwarding(active=True, to="3000")), "2001",
     CallOutcome(label="c1", outcome="forwarded", by="server", to="3000", status=302)),
    (FeatureState(), "2999", CallOutcome(label="c1", outcome="rejected", by="server", status=404)),
    (FeatureState(), "2002", CallOutcome(label="c1", outcome="rejected", by="server", status=480)),
], ids=["dnd-486", "cfa-forwarded", "unknown-user-404", "no-contact-480"])
def test_decided_by_the_server_without_an_invite(state: FeatureState, user: str, expected: CallOutcome) -> None:
    world = make_world(state=state)
    world.place(1.0, user=user)
    assert world.net.log == []   # no device is offered the call
    assert world.outcome() == expected
    world.net.advance(100.0)
    assert world.net.log == []
    world.outcome()
    assert world.net.of(BASE1) == []


def test_dnd_and_cfa_together_dnd_wins() -> None:
    world = make_world(state=FeatureState(dnd=True, cfa=Forwarding(active=True, to="3000")))
    world.place(1.0)
    assert world.outcome().status == 486 and world.outcome().outcome == "rejected"


def test_busy_contact_is_forwarded_to_cfb() -> None:
    world = make_world(state=FeatureState(cfb=Forwarding(active=True, to="3100")))
    world.place(1.0)
    world.act(BASE1, "reject", 486)
    net = world.net
    assert [r.status for r in net.responses(method="INVITE", src=BASE1)] == [100, 486]
    assert len(net.requests("ACK", src=AS)) == 1
    assert world.outcome() == CallOutcome(label="c1", outcome="forwarded", by="server", to="3100", status=302)
    assert world.answerers[BASE1].calls == {}
    net.advance(100.0)
    world.outcome()


def test_busy_contact_without_cfb_is_rejected_486() -> None:
    world = make_world(state=FeatureState(cfb=Forwarding(active=False, to="3100")))
    world.place(1.0)
    world.act(BASE1, "reject", 486)
    assert world.outcome() == CallOutcome(label="c1", outcome="rejected", by="server", status=486)
    world.net.advance(100.0)
    world.outcome()


def test_other_rejection_is_passed_on() -> None:
    world = make_world(state=FeatureState(cfb=Forwarding(active=True, to="3100")))
    world.place(1.0)
    world.act(BASE1, "reject", 480)   # not busy: CFB does not apply
    assert world.outcome() == CallOutcome(label="c1", outcome="rejected", by="server", status=480)


def test_cfna_cancels_the_legs_and_forwards_after_the_rings() -> None:
    world = make_world(state=FeatureState(cfna=Forwarding(active=True, to="3200", rings=4)))
    net = world.net
    world.place(1.0)
    world.act(BASE1, "ringing")
    assert 4 * RING_INTERVAL == 24.0
    net.advance(1.0 + 24.0 - 0.001)
    assert world.outcomes() == []
    assert net.requests("CANCEL") == []
    net.advance(1.0 + 24.0)
    assert world.outcome() == CallOutcome(label="c1", outcome="forwarded", by="server", to="3200", status=302)
    cancels = [(t, d) for t, s, d, data in net.log if data.startswith(b"CANCEL ")]
    assert cancels == [(25.0, BASE1)]
    assert [r.status for r in net.responses(method="INVITE", src=BASE1)] == [100, 180, 487]
    assert kinds(net.of(BASE1), CallCancelled) == [CallCancelled(call_id=world.call_id(BASE1))]
    net.advance(200.0)
    world.outcome()


def test_without_cfna_the_caller_gives_up_after_60_s() -> None:
    world = make_world(state=FeatureState(cfna=Forwarding(active=False, to="3200", rings=4)))
    net = world.net
    world.place(1.0)
    world.act(BASE1, "ringing")
    assert NO_ANSWER_TIMEOUT == 60.0
    net.advance(60.999)
    assert world.outcomes() == []
    net.advance(61.0)
    assert world.outcome() == CallOutcome(label="c1", outcome="unanswered", by="server")
    assert [t for t, _, _, data in net.log if data.startswith(b"CANCEL ")] == [61.0]
    assert kinds(net.of(BASE1), CallCancelled) == [CallCancelled(call_id=world.call_id(BASE1))]
    net.advance(200.0)
    world.outcome()


# --- two contacts: forking ------------------------------------------------------------------------------


def test_two_contacts_first_answer_wins_the_other_is_cancelled() -> None:
    world = make_world((BASE1, BASE2))
    net = world.net
    world.place(1.0)
    first, second = net.requests("INVITE", dst=BASE1), net.requests("INVITE", dst=BASE2)
    assert len(first) == len(second) == 1
    assert first[0].call_id != second[0].call_id
    assert first[0].from_.tag != second[0].from_.tag
    world.act(BASE1, "ringing")
    world.act(BASE2, "ringing")
    assert kinds(net.of(AS), CallRinging) == [CallRinging(label="c1", contact=CONTACT1)]   # the first one
    world.act(BASE2, "answer")
    assert world.outcome() == CallOutcome(label="c1", outcome="answered", by=CONTACT2, contact=CONTACT2,
                                          leg=second[0].call_id)
    assert len(net.requests("CANCEL", dst=BASE1)) == 1
    assert net.requests("CANCEL", dst=BASE2) == []
    assert [r.status for r in net.responses(method="INVITE", src=BASE1)] == [100, 180, 487]
    assert kinds(net.of(BASE1), CallCancelled) == [CallCancelled(call_id=first[0].call_id)]
    assert kinds(net.of(BASE2), CallConfirmed) == [CallConfirmed(call_id=second[0].call_id)]
    world.hang_up_call()
    assert [m.call_id for m in net.requests("BYE")] == [second[0].call_id]
    assert kinds(net.of(AS), CallCleared) == [CallCleared(label="c1", by="caller")]
    net.advance(200.0)
    world.outcome()


def test_two_contacts_late_200_of_a_leg_not_yet_provisional_is_acked_and_ended() -> None:
    # The second contact's 100 Trying is lost, so the server cannot CANCEL it yet (RFC 3261 §9.1);
    # when that contact answers after the first one won, its 200 is ACKed and ended with BYE.
    world = make_world((BASE1, BASE2))
    net = world.net
    net.drops.append(lambda src, dst, data: src == BASE2 and data.startswith(b"SIP/2.0 100"))
    world.place(1.0)
    world.act(BASE1, "answer")
    assert world.outcome().contact == CONTACT1
    assert net.requests("CANCEL") == []   # the second leg had no provisional response
    world.act(BASE2, "answer")
    second = world.call_id(BASE2)
    assert [a.call_id for a in net.requests("ACK", dst=BASE2)] == [second]
    assert [b.call_id for b in net.requests("BYE", src=AS)] == [second]
    assert kinds(net.of(BASE2), CallConfirmed, CallEnded) == [
        CallConfirmed(call_id=second), CallEnded(call_id=second, by="remote")]
    assert world.answerers[BASE2].calls == {}
    assert world.outcome().contact == CONTACT1   # still the one outcome
    assert kinds(net.of(AS), CallCleared) == []
    net.advance(200.0)
    world.outcome()


def test_two_contacts_200_crossing_the_cancel_is_acked_and_ended() -> None:
    """Regression: a 2xx on a leg already CANCELled (state ENDED) was taken for a retransmission and
    only ACKed, leaving the device in a confirmed call the server had forgotten (RFC 3261 §13.2.2.4)."""
    world = make_world((BASE1, BASE2))
    net = world.net
    world.place(1.0)
    world.act(BASE1, "ringing")
    world.act(BASE2, "ringing")
    # Both devices answer at the same moment: the second 200 is on its way when the CANCEL is sent.
    both = world.answerers[BASE1].answer(net.now, world.call_id(BASE1))
    both_second = world.answerers[BASE2].answer(net.now, world.call_id(BASE2))
    net.feed(BASE1, both)
    net.pump(BASE2, both_second)
    second = world.call_id(BASE2)
    assert world.outcome().contact == CONTACT1
    assert [c.call_id for c in net.requests("CANCEL", dst=BASE2)] == [second]
    assert [r.status for r in net.responses(method="CANCEL", src=BASE2)] == [200]   # too late: changes nothing
    assert [a.call_id for a in net.requests("ACK", dst=BASE2)] == [second]
    net.advance(200.0)
    assert [b.call_id for b in net.requests("BYE", src=AS)] == [second]
    assert kinds(net.of(BASE2), CallEnded) == [CallEnded(call_id=second, by="remote")]
    assert world.answerers[BASE2].calls == {}


def test_caller_hangs_up_while_the_200_is_on_its_way() -> None:
    """Regression: as above, when the caller's hang-up CANCEL crosses the device's 200."""
    world = make_world()
    net = world.net
    world.place(1.0)
    world.act(BASE1, "ringing")
    call_id = world.call_id(BASE1)
    net.feed(BASE1, world.answerers[BASE1].answer(net.now, call_id))   # the 200 is in flight ...
    world.hang_up_call()                                                # ... when the caller gives up
    assert world.outcome() == CallOutcome(label="c1", outcome="unanswered", by="server")
    assert [c.call_id for c in net.requests("CANCEL")] == [call_id]
    assert len(net.requests("ACK", dst=BASE1)) == 1
    net.advance(200.0)
    assert [b.call_id for b in net.requests("BYE", src=AS)] == [call_id]
    assert kinds(net.of(BASE1), CallEnded) == [CallEnded(call_id=call_id, by="remote")]
    world.outcome()


def test_two_contacts_one_busy_the_other_answers() -> None:
    world = make_world((BASE1, BASE2), state=FeatureState(cfb=Forwarding(active=True, to="3100")))
    world.place(1.0)
    world.act(BASE1, "reject", 486)
    assert world.outcomes() == []   # the other leg still rings
    world.act(BASE2, "answer")
    assert world.outcome().outcome == "answered" and world.outcome().contact == CONTACT2


def test_two_contacts_both_busy_forwarded_to_cfb() -> None:
    world = make_world((BASE1, BASE2), state=FeatureState(cfb=Forwarding(active=True, to="3100")))
    world.place(1.0)
    world.act(BASE1, "reject", 486)
    world.act(BASE2, "reject", 600)
    assert world.outcome() == CallOutcome(label="c1", outcome="forwarded", by="server", to="3100", status=302)


# --- the base forwards: 302 ----------------------------------------------------------------------------


def test_redirect_from_a_contact_is_forwarded_by_the_base() -> None:
    world = make_world((BASE1, BASE2))
    net = world.net
    world.place(1.0)
    world.act(BASE1, "ringing")
    world.act(BASE2, "ringing")
    world.act(BASE1, "redirect", "3300")
    moved = net.responses(302, "INVITE", src=BASE1)
    assert len(moved) == 1
    assert moved[0].headers.get("Contact") == "<sip:3300@as.example.com>"
    assert [c.uri for c in moved[0].contacts] == [SipUri(user="3300", host=DOMAIN)]
    assert world.outcome() == CallOutcome(label="c1", outcome="forwarded", by="base", to="3300", status=302,
                                          contact=CONTACT1, leg=world.call_id(BASE1))
    assert [c.call_id for c in net.requests("CANCEL")] == [world.call_id(BASE2)]
    assert kinds(net.of(BASE2), CallCancelled) == [CallCancelled(call_id=world.call_id(BASE2))]
    assert world.answerers[BASE1].calls == {} and world.answerers[BASE2].calls == {}
    net.advance(200.0)
    world.outcome()


# --- loss and retransmission --------------------------------------------------------------------------------


def test_lost_200_is_retransmitted_until_the_ack() -> None:
    world = make_world()
    net = world.net
    world.place(1.0)
    net.now = 2.0
    net.drops.append(is_status(200))
    world.act(BASE1, "answer")
    assert len(net.dropped) == 1
    assert net.requests("ACK") == []
    assert world.outcomes() == []
    assert kinds(net.of(BASE1), CallConfirmed) == []
    net.advance(2.0 + T1 - 0.001)
    assert len(net.responses(200, "INVITE", src=BASE1)) == 1
    net.advance(2.0 + T1)   # Timer G's schedule for the 2xx (RFC 3261 §13.3.1.4)
    oks = [(t, data) for t, s, _, data in net.log if s == BASE1 and data.startswith(b"SIP/2.0 200")]
    assert [t for t, _ in oks] == [2.0, 2.5]
    assert oks[0][1] == oks[1][1]   # the very same response
    assert len(net.requests("ACK", dst=BASE1)) == 1
    assert kinds(net.of(BASE1), CallConfirmed) == [CallConfirmed(call_id=world.call_id(BASE1))]
    assert world.outcome().outcome == "answered"
    net.advance(60.0)   # the ACK stopped the retransmissions
    assert len(net.responses(200, "INVITE", src=BASE1)) == 2
    assert kinds(net.of(BASE1), CallEnded) == []
    world.outcome()


def test_lost_acks_keep_the_200_coming_and_every_copy_is_acked() -> None:
    world = make_world()
    net = world.net
    world.place(1.0)
    net.now = 2.0
    net.drops += [is_request("ACK"), is_request("ACK")]
    world.act(BASE1, "answer")
    net.advance(2.0 + T1 + 2 * T1)
    oks = [t for t, s, _, data in net.log if s == BASE1 and data.startswith(b"SIP/2.0 200")]
    assert oks == [2.0, 2.5, 3.5]   # T1, then 2*T1
    assert len(net.requests("ACK")) == 3
    assert kinds(net.of(BASE1), CallConfirmed) == [CallConfirmed(call_id=world.call_id(BASE1))]
    net.advance(60.0)
    assert len(net.responses(200, "INVITE", src=BASE1)) == 3
    world.outcome()


def test_a_retransmitted_invite_is_absorbed() -> None:
    world = make_world()
    net = world.net
    world.place(1.0)
    world.act(BASE1, "ringing")
    invite = next(data for _, _, d, data in net.log if d == BASE1 and data.startswith(b"INVITE "))
    net.pump(BASE1, world.answerers[BASE1].receive(net.now, invite, AS))
    assert len(kinds(net.of(BASE1), CallOffered)) == 1
    # the answer to the retransmission is the last provisional response again (RFC 3261 §17.2.1)
    assert [r.status for r in net.responses(method="INVITE", src=BASE1)] == [100, 180, 180]
    assert len(kinds(net.of(AS), CallRinging)) == 1
    world.act(BASE1, "answer")
    assert world.outcome().outcome == "answered"


def test_server_invite_retransmissions_until_the_100() -> None:
    world = make_world()
    net = world.net
    net.drops.append(is_request("INVITE"))
    world.place(1.0)
    assert net.of(BASE1) == []
    net.advance(1.0 + T1)   # Timer A
    assert len(net.requests("INVITE", dst=BASE1)) == 2
    assert len(kinds(net.of(BASE1), CallOffered)) == 1
    net.advance(30.0)
    assert len(net.requests("INVITE", dst=BASE1)) == 2   # the 100 stopped them


def test_a_silent_contact_fails_with_408() -> None:
    world = make_world()
    net = world.net
    net.cores.pop(BASE1)   # the base is gone but its registration is still there
    world.place(1.0)
    net.advance(1.0 + 64 * T1)   # Timer B
    assert world.outcome() == CallOutcome(label="c1", outcome="rejected", by="server", status=408)
    net.advance(200.0)
    world.outcome()


def test_outcome_once_when_the_caller_hangs_up_after_a_decision() -> None:
    world = make_world(state=FeatureState(dnd=True))
    world.place(1.0)
    world.hang_up_call()   # already decided: nothing to cancel, nothing to end
    world.outcome()
    assert world.net.log == []
    with pytest.raises(ValueError, match="already placed"):
        world.place(2.0)
    with pytest.raises(ValueError, match="no call"):
        world.hang_up_call("nope")


def test_several_calls_each_get_their_own_outcome() -> None:
    world = make_world((BASE1,), state=FeatureState(cfna=Forwarding(active=True, to="3200", rings=2)))
    net = world.net
    world.place(1.0, label="a")
    world.place(2.0, label="b", caller="0307777")
    offered = kinds(net.of(BASE1), CallOffered)
    assert [o.caller for o in offered if isinstance(o, CallOffered)] == ["0301234", "0307777"]
    first = offered[0]
    assert isinstance(first, CallOffered)
    net.pump(BASE1, world.answerers[BASE1].answer(net.now, first.call_id))
    net.advance(100.0)
    outcomes = world.outcomes()
    assert [(o.label, o.outcome) for o in outcomes] == [("a", "answered"), ("b", "forwarded")]
    assert world.server.call_outcome("b") == CallOutcome(label="b", outcome="forwarded", by="server",
                                                         to="3200", status=302)
