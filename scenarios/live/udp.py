"""Real UDP for the live twin: `HOST:PORT` addresses and one non-blocking datagram socket per endpoint.

One responsibility: the socket side of the live driver. Parsing and binding happen here; nothing here
knows SIP. IPv6 addresses are written in brackets (`[::1]:5060`), as in a SIP URI.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterator

from models.errors import ConfigError
from sip.events import Address

#: Largest datagram read at once (a full-state NOTIFY is about 1.5 kB; UDP allows 64 kB).
MAX_DATAGRAM = 65535


def parse_address(text: str, *, what: str = "address", default_port: int | None = None) -> Address:
    """``127.0.0.1:5060``, ``[::1]:5060``, ``localhost:0`` -> (host, port). The port may be 0 (any free)."""
    text = text.strip()
    host, sep, port_text = text.rpartition(":")
    if text.startswith("[") and "]" in text:
        closing = text.index("]")
        host, rest = text[1:closing], text[closing + 1 :]
        if rest and not rest.startswith(":"):
            raise ConfigError(f'{what} "{text}": expected [IPv6]:PORT')
        port_text, sep = rest[1:], ":" if rest else ""
    elif text.count(":") > 1:
        raise ConfigError(f'{what} "{text}": write an IPv6 address in brackets, e.g. [::1]:5060')
    if not sep:
        if default_port is None:
            raise ConfigError(f'{what} "{text}": expected HOST:PORT')
        host, port_text = text.strip("[]"), str(default_port)
    if not host:
        raise ConfigError(f'{what} "{text}": no host')
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f'{what} "{text}": port "{port_text}" is not a number') from None
    if not 0 <= port <= 65535:
        raise ConfigError(f'{what} "{text}": port {port} is out of range 0..65535')
    if host == "localhost":
        host = "127.0.0.1"
    return host, port


def format_address(address: Address) -> str:
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def address_family(host: str) -> socket.AddressFamily:
    try:
        return socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
    except ValueError:
        raise ConfigError(f'"{host}" is not an IP address (give a numeric address, e.g. 127.0.0.1)') from None


class UdpEndpoint:
    """One bound, non-blocking UDP socket. `address` is where it really listens (port 0 resolved)."""

    def __init__(self, bind: Address, *, name: str) -> None:
        self.name = name
        self.sock = socket.socket(address_family(bind[0]), socket.SOCK_DGRAM)
        try:
            self.sock.bind(bind)
        except OSError as err:
            self.sock.close()
            why = err.strerror or err
            raise ConfigError(f"{name}: cannot bind UDP {format_address(bind)}: {why}") from None
        self.sock.setblocking(False)
        host, port = self.sock.getsockname()[:2]
        self.address: Address = (host, port)

    def send(self, data: bytes, destination: Address) -> bool:
        """Send one datagram; False when the operating system refused it (it is lost, as UDP may be)."""
        try:
            self.sock.sendto(data, destination)
        except OSError:
            return False
        return True

    def receive_all(self) -> Iterator[tuple[bytes, Address]]:
        """Every datagram waiting now. ICMP errors of earlier sends (port unreachable) are skipped."""
        while True:
            try:
                data, source = self.sock.recvfrom(MAX_DATAGRAM)
            except BlockingIOError:
                return
            except OSError:
                continue  # ConnectionRefusedError & co: a previous datagram found no listener
            yield data, (source[0], source[1])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()
