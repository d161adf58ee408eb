"""Interop over TCP with a second real SIP implementation: SIPp plays the BroadWorks server
(scenarios/sipp/broadworks-fks-dnd.xml) with `-t t1`, `fksim serve` is provisioned for TCP
(`SipProvider.1.TransportProtocol` 2) and talks to it directly, without an outbound proxy. SIPp's
exit status is the verdict: its calls only pass when every message was framed and answered as the
scenario says. (Debian's SIPp is built without TLS; TLS is tested against Kamailio.)
"""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pytest
from live.kit import ROOT, WebClient, handset, provisioning, require_tool, stop_process, wait_for

from dect.handset import Handset
from dect.identity import Ipui

SCENARIO = ROOT / "scenarios" / "sipp" / "broadworks-fks-dnd.xml"
IPUI = "029e74a599"
DND_ON = ["Menu", "Select services", "Do not disturb", "On"]


def _free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _tcp_provisioning(path: Path) -> Path:
    provisioning(path)
    path.write_text(path.read_text().replace(
        "<nvm>", '<nvm>\n    <param name="SipProvider.1.Domain" value="as.example.com"/>\n'
                 '    <param name="SipProvider.1.TransportProtocol" value="2"/>'))
    return path


@pytest.mark.slow
def test_sipp_as_broadworks_server_over_tcp(tmp_path, serve):
    sipp = require_tool("sipp")
    port = _free_tcp_port()
    server = subprocess.Popen(
        [sipp, "-sf", str(SCENARIO), "-t", "t1", "-i", "127.0.0.1", "-p", str(port), "-m", "2",
         "-timeout", "90", "-timeout_error", "-recv_timeout", "60000", "-nostdin", "-trace_err"],
        cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: server.poll() is not None or _listening(port), timeout=10, what="SIPp to listen on TCP")
        assert server.poll() is None, server.stderr.read() if server.stderr else ""
        base = serve("--model", "N670", "--provision", str(_tcp_provisioning(tmp_path / "prov.xml")),
                     "--server", f"127.0.0.1:{port}")
        web = WebClient(base.url)
        web.login()

        def synced():
            row = handset(web.status(), IPUI)
            ok = row["sip"] == {"registration": "registered", "subscription": "active"} \
                and row["features"] is not None and row["features"]["cfa"] == {"active": True, "to": "3000"}
            return row if ok else None

        wait_for(synced, timeout=20, what=f"registration, subscription and SIPp's state over TCP\n{base.output}")
        assert web.status()["server"] == f"127.0.0.1:{port} over TCP"
        web.get("/handsets")
        for key in Handset(Ipui.parse(IPUI)).compile_menu(DND_ON):
            status, screen = web.post_json(f"/api/handsets/{IPUI}/keys", {"key": key})
            assert status == 200, screen
        wait_for(lambda: handset(web.status(), IPUI)["features"]["dnd"] is True, timeout=15,
                 what="SIPp's confirming NOTIFY over TCP")
        assert base.stop() == 0
        assert "stopped: 2 of 2 requests of the shutdown answered" in base.output, base.output
        verdict = server.wait(timeout=60)
        errors = "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("*errors.log"))
        assert verdict == 0, f"SIPp exit status {verdict}\n{errors}"
    finally:
        if server.poll() is None:
            stop_process(server)
