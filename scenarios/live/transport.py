"""Real SIP transports for the live twin: UDP, TCP and TLS behind one endpoint (RFC 3261 §18).

One responsibility: move whole SIP messages between one local address and its peers. Nothing here
knows SIP beyond the framing of a stream (§18.3: the header up to the empty line, then
Content-Length octets of body). The cores name the transport and the peer (`SendDatagram`); this
module finds the connection to that peer or opens one (connection reuse, §18.1.1 and RFC 5923's
spirit: one connection per peer, used both ways), and sends a response on the connection its request
came on (§18.2.2: the peer's address is the connection's key).

Everything is non-blocking and polled from the twin's thread (`receive_all` every tick also moves
connects, TLS handshakes and pending writes along). A failed connect or a dropped connection puts the
peer in back-off: messages for it are dropped (the transaction layer's Timer B/F reports the loss)
until `BACKOFF_FIRST` seconds have passed, doubling up to `BACKOFF_MAX` [choice]. A TLS server whose
certificate does not verify against the trust anchors is an error in `errors` (and the log), never
a fall-back to plain text.
"""

from __future__ import annotations

import contextlib
import errno
import select
import socket
import ssl
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from models.errors import ConfigError
from scenarios.live.udp import UdpEndpoint, address_family, format_address
from sip.events import Address

#: First wait before reconnecting to a peer after a failure, doubled per failure up to the max [choice].
BACKOFF_FIRST = 1.0
BACKOFF_MAX = 30.0
#: A connect (with its TLS handshake) that takes longer is a failure [choice].
CONNECT_TIMEOUT = 5.0
#: The largest message framed off a stream; a peer that sends more is cut off [choice: UDP's limit].
MAX_MESSAGE = 65535
#: At most this many octets read from one connection per poll, so one peer cannot starve the rest.
READ_CHUNK = 65536


class FramingError(Exception):
    """The stream does not carry SIP messages framed as §18.3 requires; the connection is closed."""


class StreamFramer:
    """Cuts a byte stream into SIP messages (RFC 3261 §18.3). CRLFs between messages are keep-alive
    pings (RFC 5626 §4.4.1) and skipped; a message without Content-Length is a framing error, as
    "the Content-Length header field MUST be used with stream oriented transports"."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        self.buffer += data
        out: list[bytes] = []
        while True:
            while self.buffer[:2] == b"\r\n":
                del self.buffer[:2]
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_MESSAGE:
                    raise FramingError(f"no end of header within {MAX_MESSAGE} octets")
                return out
            length = _content_length(bytes(self.buffer[:end]))
            total = end + 4 + length
            if total > MAX_MESSAGE:
                raise FramingError(f"a message of {total} octets is more than {MAX_MESSAGE}")
            if len(self.buffer) < total:
                return out
            out.append(bytes(self.buffer[:total]))
            del self.buffer[:total]


def _content_length(head: bytes) -> int:
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() in (b"content-length", b"l"):
            text = value.strip()
            digits = text.lstrip(b"0") or b"0"
            if not text.isdigit() or len(digits) > 5:
                # At most 65535 octets in a message (sip.message.MAX_MESSAGE_SIZE): 5 digits, checked
                # before int() so that no number of digits can raise anything but a framing error.
                shown = text[:20].decode(errors="replace")
                raise FramingError(f"Content-Length {shown!r} is not a number up to 65535")
            return int(digits)
    raise FramingError("a message without Content-Length on a stream (RFC 3261 §18.3)")


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """A client context that verifies the server: certificate chain to `ca_file` (None: the system's
    trust anchors) and the name or address dialled (RFC 5922 §7.3 matches the SIP domain or host)."""
    try:
        context = ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as err:
        why = getattr(err, "strerror", None) or err
        raise ConfigError(f"--tls-ca {ca_file}: cannot load the trust anchors: {why}") from None
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


@dataclass(eq=False)
class Connection:
    """One TCP (or TLS over TCP) connection to `peer`."""

    peer: Address
    transport: str
    sock: socket.socket
    state: str                      # connecting, handshaking, open, closed
    started: float
    outgoing: bool
    pending: bytearray = field(default_factory=bytearray)
    framer: StreamFramer = field(default_factory=StreamFramer)


@dataclass
class _Backoff:
    retry_at: float
    delay: float


class SipTransport:
    """One SIP endpoint of the twin: its UDP socket, optionally a TCP listener on the same port, and
    the TCP/TLS connections to its peers."""

    def __init__(self, udp: UdpEndpoint, *, tcp_listen: bool = False, tls: ssl.SSLContext | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 log: Callable[[str], None] | None = None) -> None:
        self.udp = udp
        self.name = udp.name
        self.address = udp.address
        self.tls = tls
        self.clock = clock
        self.log = log or _stderr
        self.connections: dict[tuple[str, Address], Connection] = {}
        self.backoff: dict[tuple[str, Address], _Backoff] = {}
        #: Errors worth showing on /api/status (a TLS certificate that does not verify), newest last.
        self.errors: list[str] = []
        self.dropped = 0
        self.listener: socket.socket | None = None
        if tcp_listen:
            self.listener = self._listen(udp.address)

    def _listen(self, address: Address) -> socket.socket:
        sock = socket.socket(address_family(address[0]), socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(address)
            sock.listen(16)
        except OSError as err:
            sock.close()
            why = err.strerror or err
            raise ConfigError(f"{self.name}: cannot listen on TCP {format_address(address)}: {why}") from None
        sock.setblocking(False)
        return sock

    # --- sending ----------------------------------------------------------------------------------

    def send(self, data: bytes, destination: Address, transport: str = "UDP") -> bool:
        """Send one message; False when it is lost (UDP refused, or the peer is in back-off)."""
        if transport == "UDP":
            return self.udp.send(data, destination)
        key = (transport, destination)
        conn = self.connections.get(key)
        if conn is None:
            conn = self._connect(transport, destination)
            if conn is None:
                self.dropped += 1
                return False
        conn.pending += data
        if conn.state == "open":
            self._flush(conn)
        return conn.state != "closed"

    def _connect(self, transport: str, destination: Address) -> Connection | None:
        key = (transport, destination)
        now = self.clock()
        wait = self.backoff.get(key)
        if wait is not None and now < wait.retry_at:
            return None
        if transport == "TLS" and self.tls is None:
            self._error(f"{self.name}: no TLS trust anchors to reach {format_address(destination)}")
            return None
        try:
            family, target = _resolve(destination)
            sock = socket.socket(family, socket.SOCK_STREAM)
        except OSError as err:
            self._failed(key, f"cannot open a connection: {err.strerror or err}")
            return None
        sock.setblocking(False)
        code = sock.connect_ex(target)
        if code not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
            sock.close()
            self._failed(key, f"connect: {errno.errorcode.get(code, code)}")
            return None
        conn = Connection(peer=destination, transport=transport, sock=sock, state="connecting",
                          started=now, outgoing=True)
        self.connections[key] = conn
        return conn

    def _flush(self, conn: Connection) -> None:
        while conn.pending:
            try:
                sent = conn.sock.send(conn.pending)
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                return
            except OSError as err:
                self._close(conn, f"send: {err}")
                return
            del conn.pending[:sent]

    # --- receiving and progress -------------------------------------------------------------------

    def receive_all(self) -> Iterator[tuple[bytes, Address, str]]:
        """Every message waiting now, as (octets, peer, transport); also accepts connections and
        moves connects, handshakes and writes along."""
        for data, source in self.udp.receive_all():
            yield data, source, "UDP"
        self._accept()
        self._progress()
        for conn in list(self.connections.values()):
            if conn.state == "open":
                yield from self._read(conn)
                if conn.state == "open" and conn.pending:
                    self._flush(conn)

    def _accept(self) -> None:
        if self.listener is None:
            return
        while True:
            try:
                sock, peer = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:
                self.log(f"fksim serve: {self.name}: accept: {err}")
                return
            sock.setblocking(False)
            address = (peer[0], peer[1])
            old = self.connections.pop(("TCP", address), None)
            if old is not None:
                self._close(old, "replaced")
            self.connections[("TCP", address)] = Connection(
                peer=address, transport="TCP", sock=sock, state="open", started=self.clock(), outgoing=False)

    def _progress(self) -> None:
        connecting = [c for c in self.connections.values() if c.state == "connecting"]
        if connecting:
            _, writable, _ = select.select([], [c.sock for c in connecting], [], 0)
            ready = set(writable)
            for conn in connecting:
                if conn.sock in ready:
                    code = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if code:
                        self._close(conn, f"connect: {errno.errorcode.get(code, code)}", failed=True)
                    elif conn.transport == "TLS":
                        self._start_tls(conn)
                    else:
                        self._opened(conn)
        now = self.clock()
        for conn in [c for c in self.connections.values() if c.state == "handshaking"]:
            self._handshake(conn)
        for conn in [c for c in self.connections.values() if c.state in ("connecting", "handshaking")]:
            if now - conn.started > CONNECT_TIMEOUT:
                self._close(conn, f"no connection within {CONNECT_TIMEOUT:g} s", failed=True)

    def _start_tls(self, conn: Connection) -> None:
        assert self.tls is not None
        try:
            conn.sock = self.tls.wrap_socket(conn.sock, server_hostname=conn.peer[0],
                                             do_handshake_on_connect=False)
        except (OSError, ValueError) as err:
            self._close(conn, f"TLS: {err}", failed=True)
            return
        conn.state = "handshaking"
        self._handshake(conn)

    def _handshake(self, conn: Connection) -> None:
        sock = conn.sock
        assert isinstance(sock, ssl.SSLSocket)
        try:
            sock.do_handshake()
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        except ssl.SSLCertVerificationError as err:
            reason = err.verify_message or err.reason or str(err)
            self._close(conn, f"TLS: the server certificate of {format_address(conn.peer)} does not verify: "
                              f"{reason}; nothing is sent to it", failed=True, report=True)
            return
        except (ssl.SSLError, OSError) as err:
            self._close(conn, f"TLS handshake with {format_address(conn.peer)} failed: {err}", failed=True,
                        report=True)
            return
        self._opened(conn)

    def _opened(self, conn: Connection) -> None:
        conn.state = "open"
        self.backoff.pop((conn.transport, conn.peer), None)
        self._flush(conn)

    def _read(self, conn: Connection) -> Iterator[tuple[bytes, Address, str]]:
        chunks: list[bytes] = []
        total = 0
        while total < READ_CHUNK:
            try:
                chunk = conn.sock.recv(READ_CHUNK)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                break
            except OSError as err:
                self._close(conn, f"receive: {err}")
                break
            if not chunk:
                self._close(conn, "closed by the peer")
                break
            chunks.append(chunk)
            total += len(chunk)
        if not chunks:
            return
        try:
            messages = conn.framer.feed(b"".join(chunks))
        except FramingError as err:
            self._close(conn, f"framing: {err}")
            return
        for message in messages:
            yield message, conn.peer, conn.transport

    # --- failures ------------------------------------------------------------------------------------

    def _close(self, conn: Connection, why: str, *, failed: bool = False, report: bool = False) -> None:
        key = (conn.transport, conn.peer)
        if self.connections.get(key) is conn:
            del self.connections[key]
        if conn.pending:
            self.dropped += 1
        conn.state = "closed"
        with contextlib.suppress(OSError):
            conn.sock.close()
        where = f"{self.name}: {conn.transport} {format_address(conn.peer)}"
        if failed or conn.outgoing:
            why += f"; next attempt in {self._back_off(key):g} s"
        if report:
            self._error(f"{where}: {why}")
        else:
            self.log(f"fksim serve: {where}: {why}")

    def _failed(self, key: tuple[str, Address], why: str) -> None:
        delay = self._back_off(key)
        self.log(f"fksim serve: {self.name}: {key[0]} {format_address(key[1])}: {why}; "
                 f"next attempt in {delay:g} s")

    def _back_off(self, key: tuple[str, Address]) -> float:
        previous = self.backoff.get(key)
        delay = BACKOFF_FIRST if previous is None else min(previous.delay * 2, BACKOFF_MAX)
        self.backoff[key] = _Backoff(retry_at=self.clock() + delay, delay=delay)
        return delay

    def _error(self, message: str) -> None:
        self.errors.append(message)
        del self.errors[:-10]
        self.log(f"fksim serve: ERROR {message}")

    def close(self) -> None:
        for conn in list(self.connections.values()):
            conn.pending.clear()
            with contextlib.suppress(OSError):
                conn.sock.close()
        self.connections.clear()
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.close()
        self.udp.close()


def _resolve(destination: Address) -> tuple[socket.AddressFamily, tuple[str, int]]:
    """A numeric address as it is; a name through the resolver (blocking, once per connection: a
    proxy is usually provisioned by name). TLS then checks the certificate against the name."""
    host, port = destination
    try:
        return address_family(host), (host, port)
    except ConfigError:
        pass
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    if not found:
        raise OSError(f"{host} has no address")
    family, _, _, _, sockaddr = found[0]
    return family, (str(sockaddr[0]), int(sockaddr[1]))


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


#: Tries to find a port free for both UDP and TCP when the port is left to the system [choice].
PORT_TRIES = 20


def open_transport(address: Address, name: str, listen: bool, tls: ssl.SSLContext | None = None,
                   log: Callable[[str], None] | None = None) -> SipTransport:
    """A SIP endpoint on `address`: UDP, and a TCP listener on the same port when `listen`. Port 0
    lets the system pick the UDP port; that number may be taken for TCP, so another is tried."""
    tries = PORT_TRIES if listen and address[1] == 0 else 1
    for attempt in range(tries):
        udp = UdpEndpoint(address, name=name)
        try:
            return SipTransport(udp, tcp_listen=listen, tls=tls, log=log)
        except ConfigError:
            udp.close()
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises



__all__ = ["PORT_TRIES", "FramingError", "SipTransport", "StreamFramer", "open_transport", "tls_context"]
