"""Hostile clients and files against a real `fksim serve` (issue 11): idle and slow-loris connections,
a session cookie replayed after logout, hostile provisioning files and NVM files, an injected account
value in an older NVM file."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from live.kit import WebClient, handset, provisioning, upload_provisioning, wait_for

from dect.identity import Ipui
from firmware.nvm import SCHEMA_VERSION, Account, NvmStore, RegStatus, SipProvider

IPUI = "029e74a599"
IPUI_B = "029e74a5aa"
#: How long a normal request may take while hostile connections are open (issue 11: bounded, 5 s).
PROMPT = 5.0


def _host_port(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _serve_fails(tmp_path: Path, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", "from scenarios.cli import main; main()", "serve", "--http", "127.0.0.1:0",
         "--sip-bind", "127.0.0.1:0", "--embedded-bind", "127.0.0.1:0", "--run-for", "5", *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.strip()




def test_idle_and_slow_loris_connections_do_not_block_the_web_interface(tmp_path, serve):
    base = serve("--model", "N870", "--provision", str(provisioning(tmp_path / "prov.xml")))
    address = _host_port(base.url)
    idle = socket.create_connection(address, timeout=5)  # connects, then sends nothing
    loris = socket.create_connection(address, timeout=5)  # a request that never ends
    loris.sendall(b"GET /login HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    try:
        started = time.monotonic()
        web = WebClient(base.url)
        web.login()
        doc = web.status()
        elapsed = time.monotonic() - started
        assert elapsed < PROMPT, f"login and status took {elapsed:.1f} s with two hostile connections open"
        assert doc["running"] is True
        loris.sendall(b"a")  # still trickling: the others are still served at once
        started = time.monotonic()
        assert web.get("/status")[0] == 200
        assert time.monotonic() - started < PROMPT
        # The server does not wait for ever: the silent connection is closed after its timeout.
        idle.settimeout(30)
        assert idle.recv(1024) == b""
    finally:
        idle.close()
        loris.close()
    assert base.stop() == 0


def test_a_session_cookie_replayed_after_logout_is_refused(tmp_path, serve):
    base = serve("--model", "N870")
    web = WebClient(base.url)
    web.login()
    cookies = [c for c in web.jar if c.name == "fksim_session"]
    assert len(cookies) == 1
    saved = cookies[0].value
    status, _ = web.post_form("/logout", {}, page="/status")
    assert status == 200  # redirected to the login page
    replay = WebClient(base.url)
    status, text = replay.request("GET", "/api/status", headers={"Cookie": f"fksim_session={saved}"})
    assert status == 401, text
    assert "authentication required" in text
    assert base.stop() == 0


def test_a_hostile_upload_is_a_page_with_errors_not_a_500(tmp_path, serve):
    base = serve("--model", "N870")
    web = WebClient(base.url)
    web.login()
    huge = (f'<provisioning version="1.1"><nvm><param name="SipProvider.{"1" * 5000}.Domain" '
            'value="as.example.com"/></nvm></provisioning>').encode()
    status, text = upload_provisioning(web, "huge.xml", huge, "check")
    assert status == 200, text
    assert "providers are numbered 1..10" in text
    injected = (f'<provisioning version="1.1"><nvm><oper name="add_hs" value="{IPUI}">'
                '<param name="hs.RegStatus" value="ToReg"/></oper>'
                f'<param name="SipAccount.{IPUI}.UserName" value="2001&#13;&#10;X-Injected: yes"/>'
                "</nvm></provisioning>").encode()
    status, text = upload_provisioning(web, "injected.xml", injected, "apply")
    assert status == 200, text
    assert f"SipAccount.{IPUI}.UserName: " in text
    assert handset(web.status(), IPUI)["user_name"] == ""
    doctype = b'<!DOCTYPE provisioning [<!ATTLIST param value CDATA "1">]>\n<provisioning/>'
    status, text = upload_provisioning(web, "dtd.xml", doctype, "apply")
    assert status == 200 and "document type declaration" in text
    assert base.stop() == 0


def test_an_injected_value_in_an_older_nvm_never_starts_that_account(tmp_path, serve):
    state = tmp_path / "old.sqlite"
    with NvmStore(state) as store:  # written past the rules, as an older fksim or another tool could
        store.set_admin_password("live-twin-2026")
        store.put_provider(SipProvider(provider_id=1, domain="as.example.com"))
        for ipui, user in ((IPUI, "2001\r\nX-Injected: yes"), (IPUI_B, "2002")):
            store.add_handset(ipui=Ipui.parse(ipui), reg_status=RegStatus.REGISTERED)
            store.put_account(Ipui.parse(ipui), Account(user_name=user, auth_password=f"pw-{ipui}"))
    base = serve("--model", "N870", "--state", str(state))
    web = WebClient(base.url)
    web.login()
    wait_for(lambda: handset(web.status(), IPUI_B)["sip"]["registration"] == "registered",
             what="the valid account's registration")
    assert handset(web.status(), IPUI)["sip"]["registration"] != "registered"
    status, text = web.get("/settings/mobile-devices/administration")
    assert status == 200
    assert f"not started: SipAccount.{IPUI}.UserName: " in text
    assert base.process.poll() is None  # running, not crashed
    assert base.stop() == 0


def test_bad_state_and_provisioning_files_are_one_line_and_exit_2(tmp_path):
    empty = tmp_path / "empty.sqlite"
    with sqlite3.connect(empty) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    assert _serve_fails(tmp_path, "--model", "N870", "--state", str(empty)) == (
        f"fksim: {empty}: not a usable NVM store (schema version {SCHEMA_VERSION}): "
        "table system_params is missing")
    state = ("--state", str(tmp_path / "x.sqlite"))
    assert _serve_fails(tmp_path, "--model", "N870", *state, "--provision", "/dev/zero") == (
        "fksim: cannot read /dev/zero: a device, not a regular file")
    fifo = tmp_path / "fifo.xml"
    os.mkfifo(fifo)
    assert _serve_fails(tmp_path, "--model", "N870", *state, "--provision", str(fifo)) == (
        f"fksim: cannot read {fifo}: a FIFO, not a regular file")
    dtd = tmp_path / "dtd.xml"
    dtd.write_text('<?xml version="1.0"?>\n<!DOCTYPE provisioning [<!ATTLIST param value CDATA "1">]>\n'
                   '<provisioning version="1.1"><nvm/></provisioning>\n')
    assert _serve_fails(tmp_path, "--model", "N870", *state, "--provision", str(dtd)).startswith(
        "fksim: dtd.xml:2: error: document type declaration <!DOCTYPE provisioning> refused")
