"""Interop with a real SIP implementation: SIPp plays the BroadWorks server (scenarios/sipp/), `fksim
serve` runs against it over loopback UDP, and SIPp's exit status is the verdict. The loopback traffic
is captured with tshark and checked by ../shared/tools/check-sip-pcap.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from live.kit import (
    ROOT,
    WebClient,
    free_udp_port,
    handset,
    in_ci,
    provisioning,
    require_tool,
    stop_process,
    wait_for,
)

from dect.handset import Handset
from dect.identity import Ipui

SCENARIO = ROOT / "scenarios" / "sipp" / "broadworks-fks-dnd.xml"
CHECK_SIP_PCAP = Path("/work/shared/tools/check-sip-pcap")
IPUI = "029e74a599"
DND_ON = ["Menu", "Select services", "Do not disturb", "On"]


def _checker() -> Path:
    for candidate in (CHECK_SIP_PCAP, ROOT.parent / "shared" / "tools" / "check-sip-pcap"):
        if candidate.exists():
            return candidate
    message = "../shared/tools/check-sip-pcap is not there"
    if in_ci():
        pytest.fail(message)
    pytest.skip(message)


def _start_capture(tmp_path: Path, ports: tuple[int, ...]) -> tuple[subprocess.Popen[str], Path]:
    tshark = require_tool("tshark")
    pcap = tmp_path / "loopback.pcapng"
    bpf = "udp and (" + " or ".join(f"port {p}" for p in ports) + ")"
    process = subprocess.Popen([tshark, "-n", "-i", "lo", "-f", bpf, "-w", str(pcap), "-a", "duration:150"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    deadline = time.monotonic() + 20
    seen = ""
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        seen += line
        if "Capturing on" in line:
            return process, pcap
        if not line and process.poll() is not None:
            break
    stop_process(process)
    raise AssertionError(f"tshark did not start capturing on loopback: {seen}")


def _udp_port_taken(port: int) -> bool:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _start_sipp(sipp: str, cwd: Path, port: int) -> subprocess.Popen[str]:
    """SIPp as the server, bounded: 90 s in all, 60 s per message awaited."""
    server = subprocess.Popen(
        [sipp, "-sf", str(SCENARIO), "-i", "127.0.0.1", "-p", str(port), "-m", "2",
         "-timeout", "90", "-timeout_error", "-recv_timeout", "60000", "-nostdin",
         "-trace_err", "-trace_msg", "-trace_logs"],
        cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: _udp_port_taken(port) or server.poll() is not None, timeout=10, what="SIPp to listen")
    assert server.poll() is None, server.stderr.read() if server.stderr else ""
    return server


@pytest.mark.slow
def test_sipp_as_broadworks_server(tmp_path, serve):
    sipp = require_tool("sipp")
    checker = _checker()
    sipp_port, base_port = free_udp_port(), free_udp_port()
    capture, pcap = _start_capture(tmp_path, (sipp_port, base_port))
    server = None
    try:
        server = _start_sipp(sipp, tmp_path, sipp_port)

        base = serve("--model", "N670", "--provision", str(provisioning(tmp_path / "prov.xml")),
                     "--server", f"127.0.0.1:{sipp_port}", "--sip-bind", f"127.0.0.1:{base_port}")
        web = WebClient(base.url)
        web.login()

        # The twin shows the server's state: SIPp's full-state NOTIFY has call forwarding always to 3000.
        def synced():
            doc = web.status()
            row = handset(doc, IPUI)
            ok = row["sip"] == {"registration": "registered", "subscription": "active"} \
                and row["features"] is not None and row["features"]["cfa"] == {"active": True, "to": "3000"}
            return row if ok else None

        row = wait_for(synced, timeout=20, what="registration, subscription and SIPp's state")
        assert row["fks"] == {"supported": True, "active": True, "reason": None}
        assert row["features"]["dnd"] is False
        assert web.status()["server"] == f"127.0.0.1:{sipp_port}"

        # A menu change replayed through the virtual handset's keys: DND on, as a user presses them.
        keys = Handset(Ipui.parse(IPUI)).compile_menu(DND_ON)
        web.get("/handsets")
        for key in keys:
            status, screen = web.post_json(f"/api/handsets/{IPUI}/keys", {"key": key})
            assert status == 200, screen
        assert screen["pending"] == ["dnd"]

        def confirmed():
            status, screen = web.get_json(f"/api/handsets/{IPUI}/screen")
            return screen if status == 200 and not screen["pending"] and screen["state"]["dnd"] else None

        screen = wait_for(confirmed, timeout=15, what="SIPp's confirming NOTIFY on the handset")
        assert "Do not disturb" in "\n".join(screen["lines"])
        assert handset(web.status(), IPUI)["features"]["dnd"] is True

        # A clean stop unsubscribes and un-REGISTERs; SIPp's scenario waits for both.
        assert base.stop() == 0
        assert "stopped: 2 of 2 requests of the shutdown answered" in base.output, base.output
        verdict = server.wait(timeout=60)
        errors = "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("*errors.log"))
        assert verdict == 0, f"SIPp exit status {verdict}\n{errors}"
    finally:
        if server is not None and server.poll() is None:
            stop_process(server)
        time.sleep(0.5)  # the last datagrams reach the capture
        stop_process(capture)

    result = subprocess.run([str(checker), str(pcap)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    methods = subprocess.run(["tshark", "-n", "-r", str(pcap), "-Y", "sip.Method", "-T", "fields",
                              "-e", "sip.Method"], capture_output=True, text=True, timeout=60).stdout.split()
    assert methods.count("NOTIFY") == 3
    assert methods.count("SUBSCRIBE") == 3
    assert methods.count("REGISTER") == 2


@pytest.mark.slow
def test_sipp_fails_the_run_when_the_base_asks_for_something_else(tmp_path, serve):
    """The verdict means something: a Set for DND off where the scenario wants DND on fails SIPp, and the
    base tells the user that the server did not do what was asked (its NOTIFY says otherwise)."""
    sipp = require_tool("sipp")
    sipp_port = free_udp_port()
    server = _start_sipp(sipp, tmp_path, sipp_port)
    try:
        base = serve("--model", "N670", "--provision", str(provisioning(tmp_path / "prov.xml")),
                     "--server", f"127.0.0.1:{sipp_port}")
        web = WebClient(base.url)
        web.login()
        wait_for(lambda: handset(web.status(), IPUI)["sip"]["subscription"] == "active", what="subscription")
        web.get("/handsets")
        for key in Handset(Ipui.parse(IPUI)).compile_menu(["Menu", "Select services", "Do not disturb", "Off"]):
            web.post_json(f"/api/handsets/{IPUI}/keys", {"key": key})
        wait_for(lambda: not web.get_json(f"/api/handsets/{IPUI}/screen")[1]["pending"],
                 what="the base to settle the request")
        assert base.stop() == 0
        assert server.wait(timeout=60) != 0
    finally:
        if server.poll() is None:
            stop_process(server)
    errors = "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("*errors.log"))
    assert "Failed regexp match" in errors and "<doNotDisturbOn>false</doNotDisturbOn>" in errors
