"""The common frame of every sans-I/O SIP core (subscriber, notifier, registration client).

One responsibility: the driver-facing API and the plumbing under it. A driver calls
`receive(now, data, source)` for each datagram, `handle_timer(now)` when `next_deadline()` has
passed, and sends every `SendDatagram` it gets back; all other outputs are events for the
application. Subclasses implement `_on_request`, `_on_response`, `_on_timeout` and their own timers.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Collection, Iterable

from sip.errors import ProtocolError, RemoteProtocolError
from sip.events import (
    Address,
    ForeignRequestRefused,
    Output,
    RequestReceived,
    ResponseReceived,
    SendDatagram,
    TransactionTimedOut,
)
from sip.headers import Via
from sip.message import Headers, Request, Response, error_response_bytes, make_response, parse_message
from sip.transaction import TimerConfig, TransactionLayer
from sip.uri import SipUri, Uri, host_of, parse_name_addr


def same_address(a: Address, b: Address) -> bool:
    """Two (host, port) pairs name the same endpoint: IP literals compared as addresses (so
    "::1" equals "0:0::1"), names compared without case."""
    if a[1] != b[1]:
        return False
    if a[0] == b[0]:
        return True
    try:
        return ipaddress.ip_address(a[0]) == ipaddress.ip_address(b[0])
    except ValueError:
        return a[0].lower() == b[0].lower()


def route_peer(route: str) -> Address | None:
    """The (host, port) of a route-set entry (`<sip:host:port;lr>`), when its host is an IP literal:
    a sans-I/O core resolves no names (RFC 3263 is the driver's business)."""
    try:
        uri = parse_name_addr(route, "Route").uri
    except RemoteProtocolError:
        return None
    if not isinstance(uri, SipUri):
        return None
    host = uri.host[1:-1] if uri.host.startswith("[") else uri.host
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return None
    return (host, uri.port if uri.port is not None else (5061 if uri.scheme == "sips" else 5060))


class Core:
    """Base of the SIP cores: one UDP endpoint's transactions plus the TU hooks."""

    def __init__(
        self, *, local: Address, ids: Callable[[], str], timers: TimerConfig | None = None,
        user_agent: str | None = None,
    ) -> None:  # fmt: skip
        self.local = local
        self.ids = ids
        self.transactions = TransactionLayer(branch_source=ids, timers=timers)
        self.user_agent = user_agent
        self._local_uri: SipUri | None = None

    # --- driver API -----------------------------------------------------------------------------

    def receive(self, now: float, data: bytes, source: Address) -> list[Output]:
        """One datagram in; datagrams and events out. Malformed requests get their 4xx/5xx."""
        try:
            message = parse_message(data)
        except RemoteProtocolError as err:
            answer = error_response_bytes(data, err)
            return [] if answer is None else [SendDatagram(data=answer, destination=source)]
        return self.receive_message(now, message, source)

    def receive_message(self, now: float, message: Request | Response, source: Address) -> list[Output]:
        """Same as `receive` for an already parsed message (a driver that dispatches parses once)."""
        if isinstance(message, Response):
            return self._dispatch(now, self.transactions.receive_response(message, now))
        peers = self.trusted_peers()
        if peers is not None and not any(same_address(source, peer) for peer in peers):
            return self._refuse_foreign(message, source)
        return self._dispatch(now, self.transactions.receive_request(message, source, now))

    def next_deadline(self) -> float | None:
        # Drivers ask after every call: no list, no min() over it.
        first, second = self.transactions.next_deadline(), self._own_deadline()
        if first is None or (second is not None and second < first):
            return second
        return first

    def handle_timer(self, now: float) -> list[Output]:
        out = self._dispatch(now, self.transactions.handle_timer(now))
        out.extend(self._on_own_timer(now))
        return out

    def owns(self, message: Request | Response) -> bool:
        """True when a response belongs to one of our client transactions (for drivers that share
        one port between cores)."""
        return isinstance(message, Response) and self.transactions.owns_response(message)

    def trusted_peers(self) -> Collection[Address] | None:
        """The addresses whose requests this core accepts; None: anyone's (a server's cores).

        A client core (the base's subscriber, FAC caller, registration client) only takes requests
        from the address its own requests go to -- the server, or the outbound proxy in front of it --
        and from the next hop of its dialog's route set (docs/security.md). Anything else is refused
        before dialog matching, so a stranger learns nothing of which dialogs exist."""
        return None

    # --- hooks for subclasses -------------------------------------------------------------------

    def _on_request(self, now: float, request: Request, source: Address) -> list[Output]:
        return self._answer(now, request, 405)

    def _on_response(self, now: float, request: Request, response: Response) -> list[Output]:
        return []

    def _on_ack(self, now: float, ack: Request) -> list[Output]:
        return []

    def _on_timeout(self, now: float, request: Request) -> list[Output]:
        return []

    def _own_deadline(self) -> float | None:
        return None

    def _on_own_timer(self, now: float) -> list[Output]:
        return []

    # --- helpers --------------------------------------------------------------------------------

    def _refuse_foreign(self, request: Request, source: Address) -> list[Output]:
        """RFC 3261 §21.4.4 403 Forbidden, answered statelessly (no transaction is created for a
        stranger); an ACK is never answered (§17), only reported."""
        out: list[Output] = [ForeignRequestRefused(method=request.method, call_id=request.call_id,
                                                   source=source)]
        if request.method != "ACK":
            response = make_response(request, 403, to_tag=request.to.tag or self.ids())
            out.append(SendDatagram(data=response.to_bytes(), destination=source))
        return out

    def _dispatch(self, now: float, outputs: Iterable[Output]) -> list[Output]:
        out: list[Output] = []
        for item in outputs:
            if isinstance(item, RequestReceived) and item.request.method == "ACK":
                out.extend(self._on_ack(now, item.request))  # an ACK is never answered (§17)
            elif isinstance(item, RequestReceived):
                try:
                    out.extend(self._on_request(now, item.request, item.source))
                except ProtocolError as err:
                    # A request that parses but breaks a rule of its own (e.g. a bad body): answer it.
                    out.extend(self._answer(now, item.request, err.status, err.reason))
            elif isinstance(item, ResponseReceived):
                out.extend(self._on_response(now, item.request, item.response))
            elif isinstance(item, TransactionTimedOut):
                out.extend(self._on_timeout(now, item.request))
            else:
                out.append(item)
        return out

    def _answer(
        self, now: float, request: Request, status: int, reason: str | None = None, *,
        to_tag: str | None = None, headers: Iterable[tuple[str, object]] = (), body: bytes = b"",
    ) -> list[Output]:  # fmt: skip
        if status >= 200 and to_tag is None and request.to.tag is None:
            to_tag = self.ids()  # RFC 3261 §8.2.6.2: a final response to a request without To tag adds one
        response = make_response(request, status, reason, to_tag=to_tag, headers=headers, body=body)
        return self.transactions.respond(request, response, now)

    def local_uri(self, user: str | None = None) -> SipUri:
        """This endpoint as a SIP URI (Contact, Via's sent-by): an IPv6 host as a reference, §25.1.
        Kept once built: a core asks for it with every request it sends."""
        uri = self._local_uri
        if uri is None or uri.user != user:
            uri = self._local_uri = SipUri(user=user, host=host_of(self.local[0]), port=self.local[1])
        return uri

    def _via(self) -> Via:
        # RFC 3261 §8.1.1.7 branch with magic cookie; RFC 3581 rport asks for symmetric responses.
        return Via(
            transport="UDP", host=host_of(self.local[0]), port=self.local[1],
            params=(("branch", self.transactions.new_branch()), ("rport", None)),
        )  # fmt: skip

    def _build(
        self, method: str, uri: Uri, fields: Iterable[tuple[str, object]], body: bytes = b""
    ) -> Request:
        via = self._via()
        items = [("Via", via), ("Max-Forwards", 70), *fields]
        if self.user_agent:
            items.append(("User-Agent", self.user_agent))
        headers = Headers(items)
        headers.know("Via*", [via])   # the transaction layer reads the branch back
        return Request(method=method, uri=uri, headers=headers, body=body)


__all__ = ["Core", "route_peer", "same_address"]
