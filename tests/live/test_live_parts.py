"""The live twin's small parts: addresses, the rule for external tools, junk on the SIP socket."""

from __future__ import annotations

import socket

import pytest
from live.kit import WebClient, handset, provisioning, require_tool, wait_for

from models.errors import ConfigError
from scenarios.live.udp import UdpEndpoint, format_address, parse_address


@pytest.mark.parametrize(("text", "address"), [
    ("127.0.0.1:5060", ("127.0.0.1", 5060)),
    ("localhost:0", ("127.0.0.1", 0)),
    ("[::1]:5062", ("::1", 5062)),
    ("10.0.0.1", ("10.0.0.1", 5060)),
])
def test_addresses_parse(text, address):
    assert parse_address(text, default_port=5060) == address


@pytest.mark.parametrize(("text", "message"), [
    ("127.0.0.1", "expected HOST:PORT"),
    ("127.0.0.1:sip", 'port "sip" is not a number'),
    ("127.0.0.1:70000", "out of range"),
    ("::1:5060", "in brackets"),
    (":5060", "no host"),
])
def test_bad_addresses_say_what_is_wrong(text, message):
    with pytest.raises(ConfigError, match=message):
        parse_address(text, what="--sip-bind")


def test_format_address_brackets_ipv6():
    assert format_address(("::1", 5060)) == "[::1]:5060"
    assert format_address(("127.0.0.1", 5060)) == "127.0.0.1:5060"


def test_a_port_in_use_is_a_config_error():
    first = UdpEndpoint(("127.0.0.1", 0), name="first")
    try:
        with pytest.raises(ConfigError, match=r"first again: cannot bind UDP 127\.0\.0\.1:"):
            UdpEndpoint(first.address, name="first again")
    finally:
        first.close()


def test_missing_tools_skip_on_a_developer_machine_and_fail_in_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        require_tool("fksim-no-such-tool")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="fksim-no-such-tool is not installed"):
        require_tool("fksim-no-such-tool")


def test_junk_on_the_sip_socket_does_not_stop_the_twin(tmp_path, serve):
    base = serve("--model", "N670", "--provision", str(provisioning(tmp_path / "prov.xml")))
    web = WebClient(base.url)
    web.login()
    wait_for(lambda: handset(web.status(), "029e74a599")["sip"]["subscription"] == "active", what="subscription")
    host, port = base.sip.rsplit(":", 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2)
        for junk in (b"\x00\xff garbage", b"NOTIFY sip:x SIP/2.0\r\nVia: nonsense\r\n\r\n",
                     b"SIP/2.0 200 OK\r\nCall-ID: nobody\r\n\r\n",
                     b"NOTIFY sip:2001@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK1\r\n"
                     b"From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: unknown\r\nCSeq: 1 NOTIFY\r\n"
                     b"Event: as-feature-event\r\nContent-Length: 0\r\n\r\n"):
            s.sendto(junk, (host, int(port)))
        # A NOTIFY for no subscription is answered 481 (RFC 6665 §4.1.3), whatever came before it.
        answer, _ = s.recvfrom(65535)
    assert answer.startswith(b"SIP/2.0 481"), answer
    assert base.process.poll() is None
    row = handset(web.status(), "029e74a599")
    assert row["sip"] == {"registration": "registered", "subscription": "active"}
    assert base.stop() == 0


def test_a_handset_that_may_not_register_has_no_keypad_but_the_others_do(tmp_path, serve):
    prov = tmp_path / "prov.xml"
    text = provisioning(prov).read_text().replace(
        "  </nvm>", '    <oper name="add_hs" value="029e74a5aa"/>\n  </nvm>')  # no ToReg: NotReg
    prov.write_text(text)
    base = serve("--model", "N870", "--provision", str(prov))
    assert "warning" in wait_for(lambda: "".join(base.lines), what="output")  # the NotReg warning
    web = WebClient(base.url)
    web.login()
    status, page = web.get("/handsets")
    assert status == 200
    assert "needs the running twin" not in page
    assert 'id="hs-029e74a599"' in page and 'id="hs-029e74a5aa"' in page
    status, screen = web.get_json("/api/handsets/029e74a5aa/screen")
    assert status == 200 and screen["lines"] == ["Not registered to the base"]
    status, body = web.post_json("/api/handsets/029e74a5aa/keys", {"key": "MENU"})
    assert status == 400 and "not registered to the base (NotReg)" in body["error"]
    status, screen = web.post_json("/api/handsets/029e74a599/keys", {"key": "MENU"})
    assert status == 200 and screen["lines"][0] == "Menu"
    status, body = web.get_json("/api/handsets/029e74a5bb/screen")
    assert status == 400 and "no handset 029e74a5bb" in body["error"]
    assert base.stop() == 0
