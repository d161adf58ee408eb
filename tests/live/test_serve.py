"""`fksim serve` as a real process: real time, real UDP, the web interface wired to the running firmware.

Nothing external is needed here: the server is the embedded application server (over loopback UDP),
or the project's application server on its own socket in a thread of the test, which plays an
external server with a portal.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from live.kit import (
    PROVISIONING,
    ROOT,
    ThreadedServer,
    WebClient,
    handset,
    press_menu,
    provisioning,
    upload_provisioning,
    wait_for,
)
from ruamel.yaml import YAML

from dect.handset import Handset
from dect.identity import Ipui
from models.profiles import load_profiles
from scenarios.validate import load_scenario

IPUI = "029e74a599"
IPUI_B = "029e74a5aa"
DND_ON = ["Menu", "Select services", "Do not disturb", "On"]


def _subscription(web: WebClient, ipui: str = IPUI) -> str:
    return str(handset(web.status(), ipui)["sip"]["subscription"])






def test_status_shows_the_running_base_and_web_changes_apply_at_once(tmp_path, serve):
    base = serve("--model", "N670", "--provision", str(provisioning(tmp_path / "prov.xml")))
    web = WebClient(base.url)
    status, body = web.get_json("/api/status")
    assert status == 401 and "authentication required" in body["error"]
    web.login()
    wait_for(lambda: _subscription(web) == "active", what="the subscription")
    doc = web.status()
    assert doc["running"] is True
    assert doc["server"].endswith("(embedded)")
    assert doc["internal_telephony"] is False
    row = handset(doc, IPUI)
    assert row["reg_status"] == "Registered"
    assert row["dect"] == "attached to DECT manager 1"
    assert row["sip"]["registration"] == "registered"
    assert row["features"] == {"dnd": False, "cfa": {"active": False, "to": ""},
                               "cfb": {"active": False, "to": ""}, "cfna": {"active": False, "to": "", "rings": 3}}
    assert row["handset_type"]

    # Internal telephony on (N670): FKS is gated off and the base unsubscribes at once.
    status, text = web.post_form("/telephony", {"internal_telephony": "1"})
    assert status == 200 and "Internal telephony is now on." in text
    wait_for(lambda: _subscription(web) != "active", what="the unsubscribe")
    row = handset(web.status(), IPUI)
    assert row["fks"] == {"supported": False, "active": False, "reason": "internal telephony enabled"}
    # ... and off again: subscribed again.
    web.post_form("/telephony", {"internal_telephony": "0"})
    wait_for(lambda: _subscription(web) == "active", what="the new subscription")

    # FKS off on the edit page: unsubscribed; the DND the handset sets now stays on the base.
    page = f"/settings/mobile-devices/administration/{IPUI}"
    status, text = web.post_form(page, {"feature_key_sync": "0"})
    assert status == 200 and "Saved." in text
    wait_for(lambda: _subscription(web) != "active", what="the unsubscribe")
    assert handset(web.status(), IPUI)["fks"]["reason"] == "FeatureKeySyncActive=0"
    press_menu(web, IPUI, DND_ON)
    wait_for(lambda: handset(web.status(), IPUI)["features"]["dnd"] is True, what="DND kept locally")
    assert base.stop() == 0


def test_provisioning_upload_adds_a_handset_that_registers_and_subscribes(tmp_path, serve):
    base = serve("--model", "N870", "--provision", str(provisioning(tmp_path / "prov.xml", fks=False)))
    web = WebClient(base.url)
    web.login()
    wait_for(lambda: handset(web.status(), IPUI)["sip"]["registration"] == "registered",
             what="the first handset's registration")
    upload = PROVISIONING.format(ipui=IPUI_B, user="2002", fks=1).encode()
    status, text = upload_provisioning(web, "second.xml", upload, "apply")
    assert status == 200, text
    row = wait_for(lambda: (r := handset(web.status(), IPUI_B))["sip"]["subscription"] == "active" and r,
                   what="the uploaded handset to register and subscribe")
    assert row["reg_status"] == "Registered"
    assert row["user_name"] == "2002"
    assert row["fks"]["active"] is True
    assert web.status()["counts"] == {"handsets": 2, "registered": 2, "fks_active": 1}
    assert base.stop() == 0


def test_state_persists_and_an_interrupt_unsubscribes_cleanly(tmp_path, serve):
    base = serve("--model", "N870", "--provision", str(provisioning(tmp_path / "prov.xml", fks=False)))
    web = WebClient(base.url)
    web.login()
    wait_for(lambda: handset(web.status(), IPUI)["sip"]["registration"] == "registered", what="registration")
    status, text = web.post_form(f"/settings/mobile-devices/administration/{IPUI}", {"feature_key_sync": "1"})
    assert status == 200 and "Saved." in text
    wait_for(lambda: _subscription(web) == "active", what="the subscription")

    base.process.send_signal(signal.SIGINT)  # Ctrl-C
    assert base.process.wait(timeout=15) == 0
    assert "stopped: 2 of 2 requests of the shutdown answered" in base.output, base.output

    # The same NVM file without provisioning: the handset, its account and FKS are still there.
    again = serve("--model", "N870")
    web = WebClient(again.url)
    status, text = web.post_form("/login", {"password": "admin"})
    assert status != 200 or 'name="current"' not in text  # the changed admin password persisted too
    web.login()
    wait_for(lambda: _subscription(web) == "active", what="the subscription after the restart")
    row = handset(web.status(), IPUI)
    assert row["fks"]["active"] is True and row["user_name"] == "2001"
    assert again.stop() == 0


def test_recording_keys_and_server_changes_gives_a_scenario_fksim_run_replays(tmp_path, serve):
    server = ThreadedServer({"2001": "pw-2001"})
    try:
        base = serve("--model", "N670", "--provision", str(provisioning(tmp_path / "prov.xml")),
                     "--server", f"127.0.0.1:{server.address[1]}")
        web = WebClient(base.url)
        web.login()
        wait_for(lambda: _subscription(web) == "active", what="the subscription")

        web.post_form("/handsets/recording/start", {}, page="/handsets")
        _, page = web.get("/handsets")
        assert "● recording" in page
        press_menu(web, IPUI, DND_ON)
        wait_for(lambda: handset(web.status(), IPUI)["features"]["dnd"] is True, what="DND confirmed")
        assert server.state("2001")["dnd"] is True
        # A change on the server's portal reaches the twin in a NOTIFY, and the recording.
        server.portal("2001", cfa={"active": True, "to": "3001"})
        wait_for(lambda: handset(web.status(), IPUI)["features"]["cfa"] == {"active": True, "to": "3001"},
                 what="the portal change on the twin")
        status, text = web.post_form("/handsets/recording/stop", {}, page="/handsets")
        assert status == 200
        assert base.stop() == 0
    finally:
        server.close()

    recorded = YAML(typ="safe").load(text)
    assert recorded["models"] == ["N670"]
    assert recorded["handsets"] == [{"ipui": IPUI, "user": "2001", "feature_key_sync": True}]
    keys = [k for step in recorded["steps"] if "keys" in step for k in step["keys"]]
    assert keys == Handset(Ipui.parse(IPUI)).compile_menu(DND_ON)
    portal = [step["portal"] for step in recorded["steps"] if "portal" in step]
    assert portal == [{"user": "2001", "cfa": {"active": True, "to": "3001"}}]
    assert recorded["expect"][0]["state"]["dnd"] is True

    path = tmp_path / "recorded.yaml"
    path.write_text(text)
    scenario = load_scenario(path, load_profiles().ids)
    assert scenario.models == ("N670",)
    assert [s.kind for s in scenario.steps] == ["keys"] * len(keys) + ["portal"]
    run = subprocess.run([sys.executable, "-c", "from scenarios.cli import main; main()", "run", str(path),
                          "--quiet"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr


def _serve_fails(tmp_path: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "from scenarios.cli import main; main()", "serve", "--state",
         str(tmp_path / "x.sqlite"), "--http", "127.0.0.1:0", "--sip-bind", "127.0.0.1:0",
         "--embedded-bind", "127.0.0.1:0", "--run-for", "5", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr


def test_bad_input_is_one_line_and_exit_status_2(tmp_path):
    assert "N999" in _serve_fails(tmp_path, "--model", "N999")
    bad = tmp_path / "bad.xml"
    bad.write_text("<provisioning><nvm>")
    assert "bad.xml:" in _serve_fails(tmp_path, "--model", "N670", "--provision", str(bad))
    assert "missing.xml" in _serve_fails(tmp_path, "--model", "N670", "--provision", str(tmp_path / "missing.xml"))
    assert "--server" in _serve_fails(tmp_path, "--model", "N670", "--server", "127.0.0.1:port")


def test_the_twin_runs_over_ipv6(tmp_path, serve):
    """SIP and the web interface on [::1]: IPv6 hosts are written as references (RFC 3261 §25.1)."""
    base = serve("--model", "N870", "--provision", str(provisioning(tmp_path / "prov.xml")),
                 "--http", "[::1]:0", "--sip-bind", "[::1]:0", "--embedded-bind", "[::1]:0")
    assert "[::1]" in base.url
    web = WebClient(base.url)
    web.login()
    wait_for(lambda: _subscription(web) == "active", what="the subscription over IPv6")
    press_menu(web, IPUI, DND_ON)
    wait_for(lambda: handset(web.status(), IPUI)["features"]["dnd"] is True, what="DND over IPv6")
    assert base.stop() == 0
