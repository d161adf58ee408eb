"""The common frame of every sans-I/O SIP core (subscriber, notifier, registration client).

One responsibility: the driver-facing API and the plumbing under it. A driver calls
`receive(now, data, source)` for each datagram, `handle_timer(now)` when `next_deadline()` has
passed, and sends every `SendDatagram` it gets back; all other outputs are events for the
application. Subclasses implement `_on_request`, `_on_response`, `_on_timeout` and their own timers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sip.errors import ProtocolError, RemoteProtocolError
from sip.events import (
    Address,
    Output,
    RequestReceived,
    ResponseReceived,
    SendDatagram,
    TransactionTimedOut,
)
from sip.headers import Via
from sip.message import Headers, Request, Response, error_response_bytes, make_response, parse_message
from sip.transaction import TimerConfig, TransactionLayer
from sip.uri import SipUri, Uri, host_of


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


__all__ = ["Core"]
