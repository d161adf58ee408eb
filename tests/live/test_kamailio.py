"""The live twin against a real Kamailio as outbound proxy and registrar, over UDP, TCP and TLS.

`fksim serve` is provisioned with Kamailio as its outbound proxy (`OutboundProxyMode` 1) and the
transport under test; Kamailio registers the base (usrloc in memory) and relays SUBSCRIBE, INVITE
and the in-dialog requests to the project's application server (a `ThreadedServer` of the test),
record-routing the dialogs, so the whole FKS flow goes through it: registration, subscription,
a Set from the handset menu, a NOTIFY from a portal change, and the unsubscribe at shutdown. For
TLS a CA is made in the test; a base given another CA refuses Kamailio's certificate, says so on
/api/status, and sends nothing in plain text.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from live.kamailio import make_ca, start_kamailio
from live.kit import ROOT, ThreadedServer, WebClient, handset, press_menu, wait_for

IPUI = "029e74a599"
DND_ON = ["Menu", "Select services", "Do not disturb", "On"]
PROTOCOL = {"UDP": 1, "TCP": 2, "TLS": 3}

PROVISIONING = """<?xml version="1.0" encoding="UTF-8"?>
<provisioning version="1.1" productID="e2">
  <nvm>
    <param name="SipProvider.1.Domain" value="as.example.com"/>
    <param name="SipProvider.1.OutboundProxyMode" value="1"/>
    <param name="SipProvider.1.OutboundProxyAddress" value="127.0.0.1"/>
    <param name="SipProvider.1.OutboundProxyPort" value="{proxy_port}"/>
    <param name="SipProvider.1.TransportProtocol" value="{protocol}"/>
    <oper name="add_hs" value="{ipui}">
      <param name="hs.RegStatus" value="ToReg"/>
    </oper>
    <param name="SipAccount.{ipui}.UserName" value="2001"/>
    <param name="SipAccount.{ipui}.AuthName" value="2001"/>
    <param name="SipAccount.{ipui}.AuthPassword" value="pw-2001"/>
    <param name="SipAccount.{ipui}.FeatureKeySyncActive" value="1"/>
  </nvm>
</provisioning>
"""


def _provision(path: Path, proxy_port: int, transport: str) -> Path:
    path.write_text(PROVISIONING.format(proxy_port=proxy_port, protocol=PROTOCOL[transport], ipui=IPUI))
    return path


def _sip(web: WebClient) -> dict:
    return dict(handset(web.status(), IPUI)["sip"])




@pytest.mark.parametrize("transport", ["UDP", "TCP", "TLS"])
def test_the_whole_fks_flow_goes_through_kamailio_as_outbound_proxy(tmp_path, serve, transport):
    server = ThreadedServer({"2001": "pw-2001"})
    ca = make_ca(tmp_path / "ca") if transport == "TLS" else None
    kamailio = start_kamailio(tmp_path, application_server=server.address, tls=ca)
    try:
        proxy_port = kamailio.tls_port if transport == "TLS" else kamailio.port
        assert proxy_port is not None
        args = ["--model", "N870", "--provision", str(_provision(tmp_path / "prov.xml", proxy_port, transport)),
                "--server", f"127.0.0.1:{server.address[1]}"]
        if ca is not None:
            args += ["--tls-ca", str(ca.ca)]
        base = serve(*args)
        web = WebClient(base.url)
        web.login()
        wait_for(lambda: _sip(web).get("registration") == "registered", timeout=20,
                 what=f"registration at Kamailio over {transport}\n{kamailio.output[-3000:]}\n{base.output}")
        wait_for(lambda: _sip(web).get("subscription") == "active", timeout=20,
                 what=f"the subscription through Kamailio\n{kamailio.output[-3000:]}\n{base.output}")
        status = web.status()
        assert status["sip_errors"] == []
        assert f"via outbound proxy 127.0.0.1:{proxy_port}" in status["server"]

        # A Set from the handset menu reaches the server through Kamailio, and its NOTIFY comes back.
        press_menu(web, IPUI, DND_ON)
        wait_for(lambda: server.state("2001")["dnd"] is True, what="DND on the server")
        wait_for(lambda: handset(web.status(), IPUI)["features"]["dnd"] is True, what="DND confirmed")
        # A portal change: NOTIFY from the server, routed by Kamailio over the base's transport.
        server.portal("2001", cfa={"active": True, "to": "3001"})
        wait_for(lambda: handset(web.status(), IPUI)["features"]["cfa"] == {"active": True, "to": "3001"},
                 what="the portal change on the twin")
        # A feature access code dialled on the handset: INVITE, ACK and BYE through Kamailio.
        for key in ["*", "7", "9", "TALK"]:
            status_code, screen = web.post_json(f"/api/handsets/{IPUI}/keys", {"key": key})
            assert status_code == 200, screen
        wait_for(lambda: server.state("2001")["dnd"] is False, what="DND off by *79 on the server")
        wait_for(lambda: handset(web.status(), IPUI)["features"]["dnd"] is False, what="DND off on the twin")
        # The server ends the FAC call after its announcement (a few seconds): its BYE comes back
        # through Kamailio along the route set the INVITE's Record-Route made (RFC 3261 §12.1.1).
        wait_for(lambda: any(line.startswith("FKSIM-ROUTE in BYE") for line in kamailio.routed()),
                 timeout=20, what="the server's BYE through Kamailio")
        assert base.stop() == 0
    finally:
        kamailio.stop()
        server.close()

    lower = transport.lower()
    scheme = "sips" if transport == "TLS" else "sip"
    routed = kamailio.routed()
    # The base sent every request to the outbound proxy over the provisioned transport, with the
    # proxy's loose Route preloaded (RFC 3261 §8.1.2) on the initial requests.
    registers = [line for line in routed if line.startswith("FKSIM-ROUTE in REGISTER")]
    assert registers, "\n".join(routed)
    route = f"<sip:127.0.0.1:{proxy_port};transport={lower};lr>" if transport != "UDP" \
        else f"<sip:127.0.0.1:{proxy_port};lr>"
    assert all(f"proto={lower}" in line and f"route=[{route}]" in line for line in registers), registers
    assert all(f"SIP/2.0/{transport} 127.0.0.1:" in line for line in registers), registers
    contact = [line for line in routed if line.startswith("FKSIM-ROUTE registered")]
    assert contact and f"<{scheme}:2001@127.0.0.1:" in contact[0], contact
    if transport == "TCP":
        assert ";transport=tcp>" in contact[0]
    subscribes = [line for line in routed if line.startswith("FKSIM-ROUTE in SUBSCRIBE")]
    assert len(subscribes) >= 3 and all(f"proto={lower}" in line for line in subscribes), subscribes
    assert all("route=[<sip:127.0.0.1:" in line for line in subscribes), subscribes
    # The server got the requests from Kamailio, record-routed, with the base's Via below Kamailio's.
    subscribe = next(m for m in server.received if m.startswith(b"SUBSCRIBE ") and b"Record-Route" in m)
    assert f"SIP/2.0/{transport} 127.0.0.1:".encode() in subscribe
    notifies = [line for line in routed if line.startswith("FKSIM-ROUTE in NOTIFY")]
    assert notifies and all("proto=udp" in line for line in notifies)   # server -> Kamailio
    # ... and Kamailio -> base over the base's transport: the base's 200 OKs come back on it.
    assert [line for line in routed if line.startswith(f"FKSIM-ROUTE reply 200 OK proto={lower}")]
    for method in ("INVITE", "ACK"):
        calls = [line for line in routed if line.startswith(f"FKSIM-ROUTE in {method}")]
        assert calls and all(f"proto={lower}" in line for line in calls), (method, routed)
    # The BYE comes from the server (over UDP), loose-routed by Kamailio to the base.
    byes = [line for line in routed if line.startswith("FKSIM-ROUTE in BYE")]
    assert byes and all("proto=udp" in line for line in byes), routed
    # The shutdown's un-REGISTER went through Kamailio too.
    assert len(registers) >= 2


def test_a_tls_proxy_whose_certificate_does_not_verify_is_an_error_never_plain_text(tmp_path, serve):
    server = ThreadedServer({"2001": "pw-2001"})
    ca = make_ca(tmp_path / "ca")
    other = make_ca(tmp_path / "other-ca", name="not the proxy's CA")
    kamailio = start_kamailio(tmp_path, application_server=server.address, tls=ca)
    try:
        assert kamailio.tls_port is not None
        base = serve("--model", "N870", "--provision", str(_provision(tmp_path / "prov.xml", kamailio.tls_port,
                                                                         "TLS")),
                     "--server", f"127.0.0.1:{server.address[1]}", "--tls-ca", str(other.ca))
        web = WebClient(base.url)
        web.login()
        errors = wait_for(lambda: web.status()["sip_errors"], timeout=20, what="the TLS error on /api/status")
        assert any("does not verify" in e and f"127.0.0.1:{kamailio.tls_port}" in e for e in errors), errors
        assert _sip(web)["registration"] != "registered"
        assert base.stop() == 0
    finally:
        kamailio.stop()
        server.close()
    assert "does not verify" in base.output
    assert not [line for line in kamailio.routed() if " in " in line], kamailio.routed()
    assert server.received == []


def test_an_unreadable_tls_ca_file_is_one_line_and_exit_2(tmp_path):
    missing = tmp_path / "missing.pem"
    result = subprocess.run(
        [sys.executable, "-c", "from scenarios.cli import main; main()", "serve", "--model", "N870",
         "--state", str(tmp_path / "b.sqlite"), "--http", "127.0.0.1:0", "--sip-bind", "127.0.0.1:0",
         "--embedded-bind", "127.0.0.1:0", "--tls-ca", str(missing), "--run-for", "1"],
        capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("fksim: --tls-ca ") and "Traceback" not in result.stderr
