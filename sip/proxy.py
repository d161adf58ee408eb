"""A stateless loose-routing SIP proxy (RFC 3261 §16.11): the outbound proxy of the simulated world.

One responsibility: forward requests and responses between the base and the application server, the
way an outbound proxy (an SBC, Kamailio) does, so that a scenario's trace shows the base's requests
going to the proxy with its Route on top. Sans-I/O like the other cores: `receive` returns the
`SendDatagram`s to put on the wire; there are no timers (a stateless proxy keeps no transactions).

Requests (§16.4 - §16.6): a Route naming this proxy is removed (the base preloads it, §8.1.2);
Max-Forwards is decremented (0: 483 Too Many Hops); a dialog-creating SUBSCRIBE or INVITE gets a
`Record-Route: <sip:proxy;lr>` so the dialog's later requests (NOTIFYs, refreshes) come through here
too; the proxy's Via is pushed with a branch computed from the incoming one (§16.11: the same for a
retransmission). The next hop is the next Route, else the Request-URI when it is a numeric address
(a Contact), else `upstream` (the domain's server: the registrar and application server).
Responses (§16.7 step 9, §18.2.2): the proxy's own top Via is popped and the response goes to the
next Via's `received`/`rport` address, else its sent-by.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sip.errors import RemoteProtocolError
from sip.events import Address, SendDatagram
from sip.headers import Via
from sip.message import Headers, Request, Response, make_response, parse_message
from sip.readback import answer_unparsable
from sip.transaction import MAGIC_COOKIE, stamp_received
from sip.uri import NameAddr, SipUri, host_of, is_ip_literal, parse_name_addr, split_commas

#: Requests whose out-of-dialog form creates a dialog that later requests must route through us.
DIALOG_CREATING = frozenset({"SUBSCRIBE", "INVITE"})


@dataclass(frozen=True, kw_only=True)
class ProxyConfig:
    """Where the proxy listens, and the server that gets requests for the domain."""

    local: Address
    upstream: Address


class StatelessProxy:
    """Forwards every message it can; answers only what it must refuse (483, malformed requests)."""

    def __init__(self, config: ProxyConfig) -> None:
        self.config = config
        host, port = config.local
        self._host = host_of(host)
        self._record_route = NameAddr(uri=SipUri(host=self._host, port=port, params=(("lr", None),)))
        self.forwarded = 0

    # --- driver API (the same shape as the other cores') ----------------------------------------

    def next_deadline(self) -> float | None:
        return None

    def handle_timer(self, now: float) -> list[SendDatagram]:
        return []

    def receive(self, now: float, data: bytes, source: Address, transport: str = "UDP") -> list[SendDatagram]:
        try:
            message = parse_message(data)
        except RemoteProtocolError as err:
            return list(answer_unparsable(data, err, source, transport))
        if isinstance(message, Response):
            return self._response(message)
        return self._request(message, source, transport)

    # --- requests -------------------------------------------------------------------------------

    def _request(self, request: Request, source: Address, transport: str) -> list[SendDatagram]:
        max_forwards = request.headers.get("Max-Forwards")
        hops = int(max_forwards) if max_forwards is not None and max_forwards.strip().isdigit() else 70
        if hops <= 0:
            if request.method == "ACK":
                return []
            # §16.3 step 3: "the proxy MUST NOT forward the request ... 483 (Too many hops)".
            answer = make_response(request, 483, to_tag="proxy483")
            return [SendDatagram(data=answer.to_bytes(), destination=source, transport=transport)]
        stamp_received(request, source)
        incoming = request.top_via
        routes = request.headers.values("Route")
        if routes and self._is_me(routes[0]):
            routes = routes[1:]   # §16.4: our own loose route is removed before forwarding
        destination, transport = self._next_hop(request, routes)
        items: list[tuple[str, object]] = [("Via", self._via(incoming, transport))]
        record = request.method in DIALOG_CREATING and request.to.tag is None
        for name, value in request.headers:
            if name == "Route":
                continue
            if name == "Max-Forwards":
                value = str(hops - 1)
            items.append((name, value))
        if record:
            items.insert(1, ("Record-Route", self._record_route))
        if routes:
            items.insert(1, ("Route", ", ".join(routes)))
        forwarded = Request(method=request.method, uri=request.uri, headers=Headers(items), body=request.body)
        self.forwarded += 1
        return [SendDatagram(data=forwarded.to_bytes(), destination=destination, transport=transport)]

    def _next_hop(self, request: Request, routes: list[str]) -> tuple[Address, str]:
        """The next hop's address and transport: the URI's `transport` parameter, TLS for a `sips:`
        URI (RFC 3261 §19.1.2, §26.2.2), else UDP; the upstream server is reached over UDP."""
        target = parse_name_addr(routes[0], "Route").uri if routes else request.uri
        if isinstance(target, SipUri) and is_ip_literal(target.host):
            named = (target.param("transport") or "").upper()
            transport = "TLS" if target.scheme == "sips" else named if named in ("TCP", "TLS") else "UDP"
            return (target.host.strip("[]"), target.port or (5061 if transport == "TLS" else 5060)), transport
        return self.config.upstream, "UDP"

    def _via(self, incoming: Via, transport: str) -> Via:
        # §16.11: a stateless proxy's branch is a function of the incoming request's, so that a
        # retransmission is forwarded with the same branch.
        seed = f"{incoming.branch}|{incoming.host}|{incoming.port}".encode()
        branch = MAGIC_COOKIE + hashlib.blake2b(seed, digest_size=8).hexdigest()
        return Via(transport=transport, host=self._host, port=self.config.local[1],
                   params=(("branch", branch),))

    def _is_me(self, route: str) -> bool:
        try:
            uri = parse_name_addr(route, "Route").uri
        except RemoteProtocolError:
            return False
        return (isinstance(uri, SipUri) and uri.host == self._host
                and (uri.port or 5060) == self.config.local[1])

    # --- responses ------------------------------------------------------------------------------

    def _response(self, response: Response) -> list[SendDatagram]:
        vias = response.headers.values("Via")
        if len(vias) < 2 or not self._via_is_me(response.top_via):
            return []   # §16.7: a response whose top Via is not ours, or with no Via below, is dropped
        items: list[tuple[str, object]] = []
        popped = False
        for name, value in response.headers:
            if name == "Via" and not popped:
                popped = True
                rest = split_commas(value)[1:]
                if rest:
                    items.append((name, ", ".join(rest)))
                continue
            items.append((name, value))
        forwarded = Response(status=response.status, reason=response.reason, headers=Headers(items),
                             body=response.body)
        following = forwarded.top_via
        host = following.received or following.host.strip("[]")
        port = int(following.rport) if following.rport else following.port or 5060
        self.forwarded += 1
        return [SendDatagram(data=forwarded.to_bytes(), destination=(host, port),
                             transport=following.transport.upper())]

    def _via_is_me(self, via: Via) -> bool:
        return via.host == self._host and (via.port or 5060) == self.config.local[1]



__all__ = ["ProxyConfig", "StatelessProxy"]
