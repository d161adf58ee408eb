"""The common frame of every sans-I/O SIP core (subscriber, notifier, registration client).

One responsibility: the driver-facing API and the plumbing under it. A driver calls
`receive(now, data, source)` for each datagram, `handle_timer(now)` when `next_deadline()` has
passed, and sends every `SendDatagram` it gets back; all other outputs are events for the
application. Subclasses implement `_on_request`, `_on_response`, `_on_timeout` and their own timers.

Where a request goes is data too (`NextHop`): the transport written into Via and Contact, and the
outbound proxy every request is sent through (RFC 3261 §8.1.2), with its URI as a loose route
(`;lr`, §16.12) on top of the route set. `_send_request` picks the destination: the outbound proxy when
there is one, else the first Route when it is a loose router at a numeric address, else the
address the subclass was configured with (registrar or proxy).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass

from sip.errors import ProtocolError, RemoteProtocolError
from sip.events import (
    TRANSPORTS,
    Address,
    ForeignRequestRefused,
    Output,
    RequestReceived,
    ResponseReceived,
    SendDatagram,
    TransactionTimedOut,
)
from sip.headers import Via
from sip.message import Headers, Request, Response, make_response, parse_message
from sip.readback import answer_unparsable
from sip.transaction import TimerConfig, TransactionLayer
from sip.uri import NameAddr, SipUri, Uri, host_of, is_ip_literal, parse_name_addr


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
    if not is_ip_literal(uri.host):
        return None
    return uri.host.strip("[]"), _port(uri)


@dataclass(frozen=True, kw_only=True)
class NextHop:
    """How a core's requests leave: over `transport` (UDP, TCP or TLS; RFC 3261 §18.1.1), and through
    `outbound_proxy` when set (§8.1.2: every request, with the proxy's URI as a preloaded loose
    Route). The registrar or proxy the request is meant for stays the subclass's own setting."""

    transport: str = "UDP"
    outbound_proxy: Address | None = None

    def __post_init__(self) -> None:
        if self.transport not in TRANSPORTS:
            raise ValueError(f"transport {self.transport!r} is not one of {', '.join(TRANSPORTS)}")

    @property
    def route(self) -> NameAddr | None:
        """The outbound proxy as a Route value: `<sip:host:port;transport=tcp;lr>` (§19.1.1: the
        transport parameter names how to reach it; `lr` marks a loose router, §16.12)."""
        if self.outbound_proxy is None:
            return None
        host, port = self.outbound_proxy
        params: tuple[tuple[str, str | None], ...] = (("lr", None),)
        if self.transport != "UDP":
            params = (("transport", self.transport.lower()), *params)
        return NameAddr(uri=SipUri(host=host_of(host), port=port, params=params))


#: Requests go over UDP, straight to the configured server, unless told otherwise.
DIRECT_UDP = NextHop()


class Core:
    """Base of the SIP cores: one SIP endpoint's transactions plus the TU hooks."""

    def __init__(
        self, *, local: Address, ids: Callable[[], str], timers: TimerConfig | None = None,
        user_agent: str | None = None, next_hop: NextHop = DIRECT_UDP,
    ) -> None:  # fmt: skip
        self.local = local
        self.ids = ids
        self.transactions = TransactionLayer(branch_source=ids, timers=timers)
        self.user_agent = user_agent
        self.next_hop = next_hop
        self._local_uri: SipUri | None = None
        self._outbound_route = next_hop.route

    # --- driver API -----------------------------------------------------------------------------

    def receive(self, now: float, data: bytes, source: Address, transport: str = "UDP") -> list[Output]:
        """One message in (a datagram, or one framed off a connection); messages and events out.
        Malformed requests get their 4xx/5xx, back over the `transport` they came on."""
        try:
            message = parse_message(data)
        except RemoteProtocolError as err:
            return list(answer_unparsable(data, err, source, transport))
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

    def _client_peers(self, server: Address, route_set: Iterable[str] = ()) -> list[Address]:
        """`trusted_peers` of a client core whose requests go to `server`: that server, the outbound
        proxy when there is one, and the route set's first hop when it is an IP literal."""
        peers = [server]
        if self.next_hop.outbound_proxy is not None:
            peers.append(self.next_hop.outbound_proxy)
        for route in route_set:
            first = route_peer(route)
            if first is not None:
                peers.append(first)
            break
        return peers

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
            # Back the way it came (RFC 3261 §18.2.2): over the transport its top Via names.
            transport = request.vias[0].transport if request.vias else "UDP"
            out.append(SendDatagram(data=response.to_bytes(), destination=source, transport=transport))
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
        Over TCP it carries `;transport=tcp` (§19.1.1: how to reach it; a UDP URI needs none); over
        TLS it is a `sips:` URI (§26.2.2: "transport=tls" is deprecated, the scheme says TLS).
        Kept once built: a core asks for it with every request it sends."""
        uri = self._local_uri
        if uri is None or uri.user != user:
            transport = self.next_hop.transport
            scheme = "sips" if transport == "TLS" else "sip"
            params: tuple[tuple[str, str | None], ...] = (("transport", "tcp"),) if transport == "TCP" else ()
            uri = self._local_uri = SipUri(scheme=scheme, user=user, host=host_of(self.local[0]),
                                           port=self.local[1], params=params)
        return uri

    def _via(self) -> Via:
        # RFC 3261 §8.1.1.7 branch with magic cookie; RFC 3581 rport asks for symmetric responses;
        # §18.1.1: the sent-protocol names the transport the request goes over.
        return Via(
            transport=self.next_hop.transport, host=host_of(self.local[0]), port=self.local[1],
            params=(("branch", self.transactions.new_branch()), ("rport", None)),
        )  # fmt: skip

    def _send_request(self, request: Request, server: Address, now: float) -> list[Output]:
        """Start a client transaction for `request` towards its next hop (see the module docstring)."""
        return self.transactions.send(request, self._destination(request, server), now)

    def _destination(self, request: Request, server: Address) -> Address:
        outbound = self.next_hop.outbound_proxy
        if outbound is not None:
            return outbound
        routes = request.routes
        if routes:
            # RFC 3261 §8.1.2 / §16.12: a loose router on top of the route set gets the request
            # (the Request-URI stays the remote target). A name would need DNS (RFC 3263), which a
            # sans-I/O core cannot do: then the configured server is the next hop [choice].
            top = routes[0].uri
            if isinstance(top, SipUri) and top.param("lr") is not None and is_ip_literal(top.host):
                return top.host.strip("[]"), _port(top)
        return server

    def _build(
        self, method: str, uri: Uri, fields: Iterable[tuple[str, object]], body: bytes = b""
    ) -> Request:
        via = self._via()
        fields = list(fields)
        outbound = self._outbound_route
        if outbound is not None:
            # §8.1.2: the outbound proxy is a preloaded loose Route on top of the route set, unless
            # the route set already starts there (the proxy record-routed itself) [choice].
            first = next((value for name, value in fields if name == "Route"), None)
            if first is None or not _same_hop(str(first), outbound):
                fields.insert(0, ("Route", outbound))
        items = [("Via", via), ("Max-Forwards", 70), *fields]
        if self.user_agent:
            items.append(("User-Agent", self.user_agent))
        headers = Headers(items)
        headers.know("Via*", [via])   # the transaction layer reads the branch back
        return Request(method=method, uri=uri, headers=headers, body=body)



def _same_hop(route: str, outbound: NameAddr) -> bool:
    """True when a Route value points at the outbound proxy's host and port."""
    try:
        uri = parse_name_addr(route, "Route").uri
    except RemoteProtocolError:
        return False
    target = outbound.uri
    assert isinstance(target, SipUri)
    return isinstance(uri, SipUri) and uri.host == target.host and _port(uri) == _port(target)


def _port(uri: SipUri) -> int:
    """The URI's port; §19.1.2: by default 5061 for TLS (a sips: URI or transport=tls), else 5060."""
    if uri.port is not None:
        return uri.port
    return 5061 if uri.scheme == "sips" or (uri.param("transport") or "").lower() == "tls" else 5060


__all__ = ["DIRECT_UDP", "Core", "NextHop", "route_peer", "same_address"]
