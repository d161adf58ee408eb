"""The live twin's stream transports on loopback: framing by Content-Length (RFC 3261 §18.3),
connection reuse both ways, back-off after a failed connect, and TLS verification."""

from __future__ import annotations

import socket
import ssl
import time

import pytest

from models.errors import ConfigError
from scenarios.live.transport import (
    BACKOFF_FIRST,
    FramingError,
    SipTransport,
    StreamFramer,
    open_transport,
    tls_context,
)
from scenarios.live.udp import UdpEndpoint

MESSAGE = (b"OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKx\r\n"
           b"Content-Length: 5\r\n\r\nhello")
COMPACT = b"SIP/2.0 200 OK\r\nv: SIP/2.0/TCP 127.0.0.1:5060;branch=z9hG4bKx\r\nl: 0\r\n\r\n"


def test_framing_whole_byte_by_byte_and_with_keepalives() -> None:
    stream = b"\r\n\r\n" + MESSAGE + COMPACT + b"\r\n" + MESSAGE
    assert StreamFramer().feed(stream) == [MESSAGE, COMPACT, MESSAGE]
    framer = StreamFramer()
    out: list[bytes] = []
    for i in range(len(stream)):
        out += framer.feed(stream[i:i + 1])
    assert out == [MESSAGE, COMPACT, MESSAGE] and not framer.buffer


def test_every_prefix_waits_for_more() -> None:
    for cut in range(len(MESSAGE)):
        framer = StreamFramer()
        assert framer.feed(MESSAGE[:cut]) == []
        assert framer.feed(MESSAGE[cut:]) == [MESSAGE]


@pytest.mark.parametrize(("stream", "why"), [
    (b"OPTIONS sip:a SIP/2.0\r\nVia: x\r\n\r\n", "without Content-Length"),
    (b"OPTIONS sip:a SIP/2.0\r\nContent-Length: ten\r\n\r\n", "not a number"),
    (b"OPTIONS sip:a SIP/2.0\r\nContent-Length: " + b"9" * 5000 + b"\r\n\r\n", "not a number up to 65535"),
    (b"OPTIONS sip:a SIP/2.0\r\nContent-Length: 99999\r\n\r\n", "more than"),
    (b"X" * 70000, "no end of header"),
])
def test_framing_errors_name_the_problem(stream: bytes, why: str) -> None:
    with pytest.raises(FramingError, match=why):
        StreamFramer().feed(stream)


def _collect(transport: SipTransport, count: int, timeout: float = 5.0) -> list[tuple[bytes, tuple[str, int], str]]:
    got: list[tuple[bytes, tuple[str, int], str]] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        got += list(transport.receive_all())
        time.sleep(0.005)
    return got


def test_tcp_connection_is_opened_once_reused_and_answered_on() -> None:
    logs: list[str] = []
    server = open_transport(("127.0.0.1", 0), "server", True, log=logs.append)
    client = SipTransport(UdpEndpoint(("127.0.0.1", 0), name="client"), log=logs.append)
    try:
        assert client.send(MESSAGE, server.address, "TCP")
        assert client.send(MESSAGE, server.address, "TCP")
        got = _collect(server, 2) if not list(client.receive_all()) else []
        assert [(d, t) for d, _, t in got] == [(MESSAGE, "TCP"), (MESSAGE, "TCP")]
        assert len(client.connections) == 1 and len(server.connections) == 1
        peer = got[0][1]
        assert server.send(COMPACT, peer, "TCP")   # the response goes back on the accepted connection
        back = _collect(client, 1)
        assert back == [(COMPACT, server.address, "TCP")]
        assert len(client.connections) == 1 and len(server.connections) == 1
    finally:
        client.close()
        server.close()


def test_a_refused_connect_backs_off_and_drops_until_then() -> None:
    now = [100.0]
    logs: list[str] = []
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    client = SipTransport(UdpEndpoint(("127.0.0.1", 0), name="client"), clock=lambda: now[0], log=logs.append)
    try:
        target = ("127.0.0.1", closed_port)
        client.send(MESSAGE, target, "TCP")
        deadline = time.monotonic() + 5
        while client.connections and time.monotonic() < deadline:
            list(client.receive_all())
            time.sleep(0.005)
        assert not client.connections and ("TCP", target) in client.backoff
        assert client.send(MESSAGE, target, "TCP") is False     # within the back-off: lost
        now[0] += BACKOFF_FIRST
        client.send(MESSAGE, target, "TCP")                      # after it: a new attempt
        assert ("TCP", target) in client.connections
        assert any("next attempt in 1 s" in line for line in logs), logs
    finally:
        client.close()


def test_tls_context_with_a_missing_ca_file_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="--tls-ca"):
        tls_context(str(tmp_path / "missing.pem"))


def test_tls_context_verifies_by_default() -> None:
    context = tls_context(None)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname


def test_a_peer_given_by_name_is_resolved_and_reached() -> None:
    first = str(socket.getaddrinfo("localhost", 0, type=socket.SOCK_STREAM)[0][4][0])  # 127.0.0.1 or ::1
    server = open_transport((first, 0), "server", True, log=lambda _m: None)
    client = SipTransport(UdpEndpoint(("127.0.0.1", 0), name="client"), log=lambda _m: None)
    try:
        assert client.send(MESSAGE, ("localhost", server.address[1]), "TCP")
        got = []
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            list(client.receive_all())
            got = list(server.receive_all())
            time.sleep(0.005)
        assert [(d, t) for d, _, t in got] == [(MESSAGE, "TCP")]
    finally:
        client.close()
        server.close()


def test_serve_over_tcp_with_the_embedded_server(tmp_path, serve) -> None:
    from live.kit import WebClient, handset, provisioning, wait_for

    path = provisioning(tmp_path / "prov.xml")
    text = path.read_text().replace(
        "<nvm>", '<nvm>\n    <param name="SipProvider.1.Domain" value="as.example.com"/>\n'
                 '    <param name="SipProvider.1.TransportProtocol" value="2"/>')
    path.write_text(text)
    base = serve("--model", "N870", "--provision", str(path))
    web = WebClient(base.url)
    web.login()
    row = wait_for(lambda: (r := handset(web.status(), "029e74a599"))["sip"] == {
        "registration": "registered", "subscription": "active"} and r, what="registration and subscription over TCP")
    assert row["features"] is not None
    status = web.status()
    assert status["server"].endswith("(embedded) over TCP") and status["sip_errors"] == []
    assert base.stop() == 0
    assert "stopped: 2 of 2 requests of the shutdown answered" in base.output, base.output
