"""`fksim serve` talks (issue 15): a syslog-like event log in text or JSON, the ready line with the login,
a warning for a handset whose account cannot register, and a provisioning file with errors stops it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from live.kit import WebClient, handset, press_menu, provisioning, wait_for

ENV_ARGS = ["--http", "127.0.0.1:0", "--sip-bind", "127.0.0.1:0", "--embedded-bind", "127.0.0.1:0"]
NO_ACCOUNT = """<?xml version="1.0" encoding="UTF-8"?>
<provisioning version="1.1" productID="e2">
  <nvm>
    <oper name="add_hs" value="029e74a599">
      <param name="hs.RegStatus" value="ToReg"/>
    </oper>
    <param name="SipAccount.029e74a599.FeatureKeySyncActive" value="1"/>
  </nvm>
</provisioning>
"""
WITH_ERRORS = NO_ACCOUNT.replace('<param name="SipAccount', '<param name="SipAccount.029e74a599.NoSuchThing" '
                                 'value="1"/>\n    <param name="SipAccount', 1)


def _serve(tmp_path: Path, *args: str, run_for: float = 3.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from scenarios.cli import main; main()", "serve", "--model", "N870",
         "--state", str(tmp_path / "x.sqlite"), *ENV_ARGS, "--run-for", str(run_for), *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=60)


def test_the_ready_line_says_where_to_log_in_and_that_the_first_login_changes_the_password(tmp_path):
    result = _serve(tmp_path, run_for=1.0)
    assert result.returncode == 0, result.stderr
    line = next(text for text in result.stdout.splitlines() if "log in at" in text)
    assert "http://127.0.0.1:" in line and "admin / admin" in line and "first login asks for a new one" in line


def test_a_handset_with_fks_but_no_account_is_warned_about(tmp_path):
    (tmp_path / "p.xml").write_text(NO_ACCOUNT)
    result = _serve(tmp_path, "--provision", str(tmp_path / "p.xml"), run_for=1.0)
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if " warning " in line and "account:" in line]
    assert warning and "029e74a599" in warning[0] and "FeatureKeySyncActive=1 but no SIP account" in warning[0]
    assert "provisioning: p.xml applied" in result.stderr


def test_a_provisioning_file_with_errors_stops_the_start_unless_keep_going(tmp_path):
    (tmp_path / "p.xml").write_text(WITH_ERRORS)
    result = _serve(tmp_path, "--provision", str(tmp_path / "p.xml"))
    assert result.returncode == 2
    assert "p.xml:7: error:" in result.stderr and "nothing applied" in result.stderr
    assert "Traceback" not in result.stderr and "running" not in result.stdout
    kept = _serve(tmp_path, "--provision", str(tmp_path / "p.xml"), "--keep-going", run_for=1.0)
    assert kept.returncode == 0, kept.stderr
    assert "running" in kept.stdout and "1 error(s) skipped" in kept.stderr


def test_json_events_tell_registration_subscription_requests_and_features(tmp_path, serve):
    base = serve("--model", "N870", "--provision", str(provisioning(tmp_path / "prov.xml")),
                 "--log-format", "json", "--log-level", "debug")
    web = WebClient(base.url)
    web.login()
    wait_for(lambda: handset(web.status(), "029e74a599")["sip"]["subscription"] == "active", what="subscription")
    press_menu(web, "029e74a599", ["Menu", "Select services", "Do not disturb", "On"])
    wait_for(lambda: handset(web.status(), "029e74a599")["features"]["dnd"] is True, what="DND confirmed")
    wait_for(lambda: '"event": "features"' in base.output, what="the features event")
    assert base.stop() == 0
    events = [json.loads(line) for line in base.output.splitlines() if line.startswith("{")]
    assert all({"time", "level", "event", "message"} <= set(e) for e in events)
    kinds = {(e["event"], e.get("status") or e.get("outcome") or e.get("request") or e.get("method"))
             for e in events}
    assert ("registration", "registered") in kinds
    assert ("subscription", "active") in kinds
    assert ("sip-sent", "SUBSCRIBE") in kinds
    assert ("handset-request", "DND on") in kinds
    assert ("handset-request", "accepted") in kinds
    features = [e for e in events if e["event"] == "features"]
    assert features[-1]["features"]["dnd"] is True and features[-1]["source"] == "from the server"


def test_info_level_leaves_out_the_debug_lines(tmp_path):
    (tmp_path / "p.xml").write_text(NO_ACCOUNT)
    result = _serve(tmp_path, "--provision", str(provisioning(tmp_path / "prov.xml")), "--log-level", "warning",
                    run_for=1.5)
    assert result.returncode == 0
    assert " info " not in result.stderr and " debug " not in result.stderr
