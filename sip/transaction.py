"""RFC 3261 §17 transactions: non-INVITE client and server, INVITE client and server.

One responsibility: retransmission, absorption of duplicates and transaction timeouts.

A transaction's transport is the one its top Via names (`SIP/2.0/UDP`, `TCP` or `TLS`): the client's
own Via says how the request goes, a request received says how it came (RFC 3261 §18.2.2 sends the
response back the same way). Over a reliable transport nothing is retransmitted (Timers A, E and G
are not armed, §17.1.1.2, §17.1.2.2, §17.2.1), the timeouts (Timers B, F, H) still run, and the
Completed/Confirmed waits (Timers D, K, I, J) are zero.

Theory of operation. Each transaction is a small state machine whose transitions are a table
`(state, input) -> (action, next state)`; an input with no entry is a `LocalProtocolError` (for
things we asked) or is silently absorbed (for stray network input, listed explicitly). Timers are
absolute deadlines; the `TransactionLayer` reports the earliest with `next_deadline()` and fires
the due ones in `handle_timer(now)`, from a heap, so both cost O(log n) however many transactions
are alive (a server holds thousands). Nothing here reads a clock or touches a socket: datagrams come
out as `SendDatagram`, responses and timeouts as events for the transaction user.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass

from sip.errors import LocalProtocolError
from sip.events import (
    Address,
    Output,
    RequestReceived,
    ResponseReceived,
    SendDatagram,
    TransactionTimedOut,
    is_reliable,
)
from sip.headers import Via
from sip.message import Headers, Request, Response
from sip.transaction_tables import (
    INVITE_CLIENT,
    INVITE_SERVER,
    NON_INVITE_CLIENT,
    NON_INVITE_SERVER,
    A,
    Action,
    In,
    Input,
    S,
    State,
)
from sip.uri import split_commas

#: RFC 3261 §17.1.1.1 magic cookie that marks an RFC 3261 branch.
MAGIC_COOKIE = "z9hG4bK"


@dataclass(frozen=True, kw_only=True)
class TimerConfig:
    """RFC 3261 §17.1.1.1 timer values: T1 = 500 ms RTT estimate, T2 = 4 s, T4 = 5 s."""

    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0


#: RFC 3261 §17.2.3 server transaction key: (branch, sent-by, method).
ServerKey = tuple[str, str, str]


class ClientTransaction:
    """A client transaction (INVITE or not) for one request sent over UDP.

    Once Completed it only absorbs retransmitted responses (and re-sends an INVITE's ACK, already
    built), so the request and its bytes are let go for Timer K/D: after a base's boot, thousands
    of completed REGISTER and SUBSCRIBE transactions wait out their timer at the same time."""

    __slots__ = ("ack", "data", "deadlines", "destination", "interval", "invite", "key", "reliable",
                 "request", "scheduled", "state", "table", "timers", "transport")

    def __init__(self, request: Request, destination: Address, now: float, timers: TimerConfig) -> None:
        self.request: Request | None = request
        self.key = (request.top_via.branch or "", request.method)
        self.destination = destination
        self.timers = timers
        self.scheduled: float | None = None  # the deadline the layer's heap holds for it
        self.invite = request.method == "INVITE"
        self.table = INVITE_CLIENT if self.invite else NON_INVITE_CLIENT
        self.state = S.CALLING if self.invite else S.TRYING
        self.data = request.to_bytes()
        self.ack: bytes | None = None
        self.interval = timers.t1
        self.transport = _transport_of(request)
        self.reliable = is_reliable(self.transport)
        # Timer F/B = 64*T1; Timer E/A starts at T1, "if an unreliable transport is in use" only
        # (RFC 3261 §17.1.1.2, §17.1.2.2).
        self.deadlines: dict[Input, float] = {In.TIMER_TIMEOUT: now + 64 * timers.t1}
        if not self.reliable:
            self.deadlines[In.TIMER_RETRANSMIT] = now + timers.t1

    def next_deadline(self) -> float | None:
        return min(self.deadlines.values()) if self.deadlines else None

    def _step(self, event: Input) -> Action:
        try:
            action, self.state = self.table[(self.state, event)]
        except KeyError:
            raise LocalProtocolError(f"{event.value} in state {self.state.value}", status=500) from None
        return action

    def on_response(self, response: Response, now: float) -> list[Output]:
        status = response.status
        event = In.PROVISIONAL if status < 200 else In.FINAL_2XX if status < 300 else In.FINAL_ERROR
        if (self.state, event) not in self.table:
            return []  # e.g. a 2xx in a non-INVITE Completed state is listed; nothing else reaches here
        before = self.state
        action = self._step(event)
        out: list[Output] = []
        request = self.request
        if action in (A.DELIVER_AND_ACK, A.ACK):
            if self.ack is None:
                assert request is not None   # the first final response: not Completed before it
                self.ack = build_ack(request, response).to_bytes()
            out.append(SendDatagram(data=self.ack, destination=self.destination, transport=self.transport))
        if action in (A.DELIVER, A.DELIVER_AND_ACK):
            assert request is not None   # delivered only before Completed, or in Accepted
            out.append(ResponseReceived(request=request, response=response))
        if self.state is before:
            return out  # timers run on from the state's entry
        if self.state is S.PROCEEDING and not self.invite:
            # §17.1.2.2: in Proceeding, Timer E fires at T2 intervals from now on.
            self.interval = self.timers.t2
        if self.state is S.PROCEEDING and self.invite:
            # §17.1.1.2: a provisional response stops retransmissions (and Timer B).
            self.deadlines.clear()
        elif self.state is S.COMPLETED:
            # Timer K = T4 (non-INVITE), Timer D >= 32 s (INVITE) over UDP; both zero over a reliable
            # transport (§17.1.1.2, §17.1.2.2): no retransmitted response can follow.
            wait = 0.0 if self.reliable else 32.0 if self.invite else self.timers.t4
            self.deadlines = {In.TIMER_WAIT: now + wait}
            self.request, self.data = None, b""
        elif self.state is S.ACCEPTED:
            self.deadlines = {In.TIMER_WAIT: now + 64 * self.timers.t1}  # Timer M (RFC 6026 §8.4)
        elif self.state is S.TERMINATED:
            self.deadlines.clear()
        return out

    def on_timer(self, now: float) -> list[Output]:
        out: list[Output] = []
        for timer, when in sorted(self.deadlines.items(), key=_when):
            if when > now or self.state is S.TERMINATED or timer not in self.deadlines:
                continue
            action = self._step(timer)
            if action is A.RETRANSMIT:
                out.append(SendDatagram(data=self.data, destination=self.destination,
                                        transport=self.transport))
                # Timer A doubles without bound; Timer E doubles up to T2 (§17.1.2.2: MIN(2*T1, T2)...).
                self.interval = self.interval * 2 if self.invite else min(self.interval * 2, self.timers.t2)
                self.deadlines[In.TIMER_RETRANSMIT] = when + self.interval
            elif action is A.TIMEOUT:
                self.deadlines.clear()
                assert self.request is not None   # times out only before Completed
                out.append(TransactionTimedOut(request=self.request))
            else:
                self.deadlines.pop(timer, None)
        return out


def _when(entry: tuple[Input, float]) -> float:
    return entry[1]


def _transport_of(request: Request) -> str:
    """The transport the top Via names (RFC 3261 §18.1.1 writes it there), upper case."""
    return request.top_via.transport.upper()


class ServerTransaction:
    """A non-INVITE server transaction: answers retransmissions with the last response."""

    __slots__ = ("deadline", "key", "last", "reliable", "request", "scheduled", "source", "state", "timers",
                 "transport")

    def __init__(self, request: Request, source: Address, timers: TimerConfig, key: ServerKey) -> None:
        #: The request, until the final response is sent; then only its key and the response's bytes
        #: are needed (a retransmission gets `last` again, §17.2.2). A busy server would otherwise hold
        #: every parsed request for Timer J's 32 s.
        self.request: Request | None = request
        self.key = key  # RFC 3261 §17.2.3 (computed before `received` was stamped on the Via)
        self.source = source
        self.timers = timers
        self.scheduled: float | None = None  # the deadline the layer's heap holds for it
        self.state = S.TRYING
        self.last: bytes | None = None
        self.deadline: float | None = None
        self.transport = _transport_of(request)
        self.reliable = is_reliable(self.transport)

    def _step(self, event: Input) -> Action:
        try:
            action, self.state = NON_INVITE_SERVER[(self.state, event)]
        except KeyError:
            raise LocalProtocolError(
                f"cannot {event.value} in state {self.state.value}", status=500
            ) from None
        return action

    def respond(self, response: Response, now: float) -> list[Output]:
        action = self._step(In.SEND_PROVISIONAL if response.status < 200 else In.SEND_FINAL)
        assert action is A.SEND
        self.last = response.to_bytes()
        if self.state is S.COMPLETED:
            # Timer J = 64*T1 for UDP (§17.2.2): absorb request retransmissions that long; zero for
            # reliable transports, where the client retransmits nothing.
            self.deadline = now + (0.0 if self.reliable else 64 * self.timers.t1)
            self.request = None
        return [SendDatagram(data=self.last, destination=self.source, transport=self.transport)]

    def on_request(self) -> list[Output]:
        action = self._step(In.REQUEST)
        if action is A.RESEND and self.last is not None:
            return [SendDatagram(data=self.last, destination=self.source, transport=self.transport)]
        return []

    def on_timer(self, now: float) -> list[Output]:
        if self.deadline is not None and self.deadline <= now:
            self._step(In.TIMER_WAIT)
            self.deadline = None
        return []

    def next_deadline(self) -> float | None:
        return self.deadline

    def on_ack(self, ack: Request) -> list[Output]:
        return []


class InviteServerTransaction:
    """An INVITE server transaction (RFC 3261 §17.2.1, RFC 6026): Timers G, H, I and L."""

    def __init__(self, request: Request, source: Address, timers: TimerConfig, key: ServerKey) -> None:
        self.request = request
        self.key = key  # RFC 3261 §17.2.3 (computed before `received` was stamped on the Via)
        self.source = source
        self.timers = timers
        self.scheduled: float | None = None  # the deadline the layer's heap holds for it
        self.state = S.PROCEEDING
        self.last: bytes | None = None
        self.interval = timers.t1
        self.deadlines: dict[Input, float] = {}
        self.transport = _transport_of(request)
        self.reliable = is_reliable(self.transport)

    def _step(self, event: Input) -> Action:
        try:
            action, self.state = INVITE_SERVER[(self.state, event)]
        except KeyError:
            raise LocalProtocolError(
                f"cannot {event.value} in INVITE state {self.state.value}", status=500
            ) from None
        return action

    def next_deadline(self) -> float | None:
        return min(self.deadlines.values()) if self.deadlines else None

    def respond(self, response: Response, now: float) -> list[Output]:
        status = response.status
        event = In.SEND_PROVISIONAL if status < 200 else In.SEND_2XX if status < 300 else In.SEND_FINAL
        before = self.state
        self._step(event)
        self.last = response.to_bytes()
        if self.state is not before:
            # Timer G (or the 2xx retransmission) starts at T1; Timer H / L = 64*T1. Timer G is armed
            # only over an unreliable transport (§17.2.1); the 2xx is retransmitted over every
            # transport, as the UAS core does it end to end (§13.3.1.4).
            self.interval = self.timers.t1
            self.deadlines = {In.TIMER_TIMEOUT: now + 64 * self.timers.t1}
            if not self.reliable or self.state is S.ACCEPTED:
                self.deadlines[In.TIMER_RETRANSMIT] = now + self.timers.t1
        return [SendDatagram(data=self.last, destination=self.source, transport=self.transport)]

    def on_request(self) -> list[Output]:
        action = self._step(In.REQUEST)
        if action is A.RESEND and self.last is not None:
            return [SendDatagram(data=self.last, destination=self.source, transport=self.transport)]
        return []

    def on_ack(self, ack: Request, now: float = 0.0) -> list[Output]:
        before = self.state
        action = self._step(In.ACK)
        self.deadlines.pop(In.TIMER_RETRANSMIT, None)  # the ACK stops retransmissions
        if before is S.COMPLETED:
            # Timer I = T4, zero over a reliable transport (§17.2.1).
            self.deadlines = {In.TIMER_WAIT: now + (0.0 if self.reliable else self.timers.t4)}
        elif before is S.ACCEPTED:
            self.deadlines = {In.TIMER_WAIT: self.deadlines.get(In.TIMER_TIMEOUT, now)}  # rest of Timer L
        if action is A.DELIVER:
            return [RequestReceived(request=ack, source=self.source)]
        return []

    def on_timer(self, now: float) -> list[Output]:
        out: list[Output] = []
        for timer, when in sorted(self.deadlines.items(), key=_when):
            if when > now or timer not in self.deadlines or self.state is S.TERMINATED:
                continue
            action = self._step(timer)
            if action is A.RESEND and self.last is not None:
                out.append(SendDatagram(data=self.last, destination=self.source, transport=self.transport))
                # Timer G: MIN(2*previous, T2) (§17.2.1); the same schedule for the 2xx (§13.3.1.4).
                self.interval = min(self.interval * 2, self.timers.t2)
                self.deadlines[timer] = when + self.interval
            else:
                if action is A.TIMEOUT:
                    out.append(TransactionTimedOut(request=self.request))
                self.deadlines.pop(timer, None)
                if self.terminated:
                    self.deadlines.clear()
        return out

    @property
    def terminated(self) -> bool:
        return self.state is S.TERMINATED


def build_ack(request: Request, response: Response) -> Request:
    """ACK for a non-2xx final response (RFC 3261 §17.1.1.3): same Request-URI, Call-ID, From, top
    Via and CSeq number as the INVITE, To from the response, CSeq method ACK, Route copied."""
    headers = Headers()
    headers.add("Via", request.headers.get("Via") or "")
    for route in request.headers.get_all("Route"):
        headers.add("Route", route)
    headers.add("Max-Forwards", "70")
    headers.add("From", request.headers.get("From") or "")
    headers.add("To", response.headers.get("To") or "")
    headers.add("Call-ID", request.call_id)
    headers.add("CSeq", f"{request.cseq.seq} ACK")
    return Request(method="ACK", uri=request.uri, headers=headers)


def stamp_received(request: Request, source: Address) -> None:
    """RFC 3261 §18.2.1: add `received` when the sent-by host differs from the packet's source;
    RFC 3581 §4: when the top Via has an empty `rport`, fill it with the source port and always add
    `received`. The responses copy this Via, so they find their way back through NAT."""
    via = request.top_via
    rport = via.rport == ""
    if not rport and via.host == source[0]:
        return
    params = [(k, v) for k, v in via.params if k not in ("received", "rport")]
    params.append(("received", source[0]))
    if rport:
        params.append(("rport", str(source[1])))
    elif via.rport is not None:
        params.append(("rport", via.rport))
    stamped = Via(transport=via.transport, host=via.host, port=via.port, params=tuple(params))
    # Only the top Via value changes; the others (on the same line or below) stay as received.
    items = request.headers._items
    index = next(i for i, (n, _) in enumerate(items) if n == "Via")
    values = split_commas(items[index][1])
    values[0] = str(stamped)
    items[index] = ("Via", ", ".join(values))
    # Only the typed Via list is out of date; the other typed values stay valid.
    cache = request.headers._cache
    vias = cache.get("Via*")
    if vias is not None:
        cache["Via*"] = [stamped, *vias[1:]]


def server_key(request: Request) -> ServerKey:
    """RFC 3261 §17.2.3: branch + sent-by + method (ACK matches the INVITE's transaction)."""
    via = request.top_via
    method = "INVITE" if request.method == "ACK" else request.method
    return (via.branch or "", f"{via.host}:{via.port or 5060}", method)


Transaction = ClientTransaction | ServerTransaction | InviteServerTransaction


class TransactionLayer:
    """All transactions of one SIP endpoint (one local address, whatever the transports).
    `branch_source()` gives unique branch suffixes.

    Deadlines live in a heap of (deadline, sequence, transaction); after every input a transaction's
    current deadline is pushed when it changed (`_schedule`), and entries that no longer match
    (the transaction ended, or its deadline moved) are skipped when they reach the top."""

    def __init__(self, *, branch_source: Callable[[], str], timers: TimerConfig | None = None) -> None:
        self.timers = timers or TimerConfig()
        self.branch_source = branch_source
        self.clients: dict[tuple[str, str], ClientTransaction] = {}
        self.servers: dict[ServerKey, ServerTransaction | InviteServerTransaction] = {}
        #: (Call-ID, CSeq number) of INVITEs answered 2xx -> their transaction, to match the ACK
        self.accepted: dict[tuple[str, int], ServerKey] = {}
        self._heap: list[tuple[float, int, Transaction]] = []
        self._pushed = 0

    def new_branch(self) -> str:
        return MAGIC_COOKIE + self.branch_source()

    def send(self, request: Request, destination: Address, now: float) -> list[Output]:
        """Start a client transaction; the request's top Via must carry a fresh branch."""
        branch = request.top_via.branch
        if not branch or not branch.startswith(MAGIC_COOKIE):
            raise LocalProtocolError("Request without an RFC 3261 branch")
        txn = ClientTransaction(request, destination, now, self.timers)
        self.clients[txn.key] = txn
        self._schedule(txn)
        out: list[Output] = [SendDatagram(data=txn.data, destination=destination, transport=txn.transport)]
        return out

    def send_stateless(self, request: Request, destination: Address) -> list[Output]:
        """ACK for a 2xx is sent by the TU outside any transaction (RFC 3261 §13.2.2.4)."""
        return [SendDatagram(data=request.to_bytes(), destination=destination,
                             transport=_transport_of(request))]

    def send_stateless_bytes(self, data: bytes, destination: Address, transport: str = "UDP") -> list[Output]:
        return [SendDatagram(data=data, destination=destination, transport=transport)]

    def receive_response(self, response: Response, now: float) -> list[Output]:
        """§17.1.3: match by top Via branch and CSeq method; unmatched responses are dropped."""
        key = (response.top_via.branch or "", response.cseq.method)
        txn = self.clients.get(key)
        if txn is None:
            return []
        out = txn.on_response(response, now)
        if txn.state is S.TERMINATED:
            del self.clients[key]
        else:
            self._schedule(txn)
        return out

    def owns_response(self, response: Response) -> bool:
        return (response.top_via.branch or "", response.cseq.method) in self.clients

    def receive_request(self, request: Request, source: Address, now: float = 0.0) -> list[Output]:
        """New request -> RequestReceived; a retransmission -> the last response again (§17.2.2);
        an ACK goes to its INVITE transaction (non-2xx: same branch; 2xx: same Call-ID and CSeq)."""
        key = server_key(request)
        txn = self.servers.get(key)
        if request.method == "ACK":
            if txn is None:
                accepted = self.accepted.get((request.call_id, request.cseq.seq))
                txn = self.servers.get(accepted) if accepted is not None else None
            if txn is None:
                return [RequestReceived(request=request, source=source)]  # stray ACK: the TU ignores it
            if not isinstance(txn, InviteServerTransaction):
                return []
            out = txn.on_ack(request, now)
            self._schedule(txn)
            return out
        if txn is not None:
            return txn.on_request()
        stamp_received(request, source)
        if request.method == "INVITE":
            self.servers[key] = InviteServerTransaction(request, source, self.timers, key)
        else:
            self.servers[key] = ServerTransaction(request, source, self.timers, key)
        return [RequestReceived(request=request, source=source)]

    def respond(self, request: Request, response: Response, now: float) -> list[Output]:
        key = server_key(request)
        txn = self.servers.get(key)
        if txn is None:
            raise LocalProtocolError("No server transaction for this request", status=500)
        if isinstance(txn, InviteServerTransaction) and 200 <= response.status < 300:
            self.accepted[(request.call_id, request.cseq.seq)] = key
        out = txn.respond(response, now)
        self._schedule(txn)
        return out

    def next_deadline(self) -> float | None:
        heap = self._heap
        while heap:
            when, _, txn = heap[0]
            if txn.scheduled == when and self._alive(txn):
                return when
            heapq.heappop(heap)  # the transaction ended or its deadline moved
        return None

    def handle_timer(self, now: float) -> list[Output]:
        # Each due transaction fires once per call, like a driver's single wake-up at its deadline.
        due: list[Transaction] = []
        while self._heap and self._heap[0][0] <= now:
            when, _, txn = heapq.heappop(self._heap)
            if txn.scheduled == when and self._alive(txn):
                txn.scheduled = None
                due.append(txn)
        out: list[Output] = []
        for txn in due:
            out.extend(txn.on_timer(now))
            if txn.state is not S.TERMINATED:
                self._schedule(txn)
            elif isinstance(txn, ClientTransaction):
                self.clients.pop(txn.key, None)
            else:
                self.servers.pop(txn.key, None)
                if isinstance(txn, InviteServerTransaction):
                    self.accepted.pop((txn.request.call_id, txn.request.cseq.seq), None)
        return out

    def _schedule(self, txn: Transaction) -> None:
        when = txn.next_deadline()
        if when != txn.scheduled:
            txn.scheduled = when
            if when is not None:
                self._pushed += 1
                heapq.heappush(self._heap, (when, self._pushed, txn))

    def _alive(self, txn: Transaction) -> bool:
        if isinstance(txn, ClientTransaction):
            return self.clients.get(txn.key) is txn
        return self.servers.get(txn.key) is txn


__all__ = [
    "INVITE_CLIENT",
    "INVITE_SERVER",
    "MAGIC_COOKIE",
    "NON_INVITE_CLIENT",
    "NON_INVITE_SERVER",
    "Action",
    "ClientTransaction",
    "Input",
    "InviteServerTransaction",
    "ServerTransaction",
    "State",
    "TimerConfig",
    "TransactionLayer",
    "build_ack",
    "server_key",
]
