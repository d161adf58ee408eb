"""Helpers for the live twin's tests: `fksim serve` as a real process, a browser-like HTTP client that
logs in and carries the CSRF tokens, free loopback ports, and the rule for external tools.

External tools (sipp, tshark, chromium, playwright): a test that needs one is skipped when it is
missing on a developer machine, and FAILS when the environment says CI=true (CI installs them:
.ci/run). Every process started here is bounded in time and killed at the end of its test.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"
FACTORY_PASSWORD = "admin"
NEW_PASSWORD = "live-twin-2026"
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
_READY = re.compile(r"web (http://\S+/) ; SIP (\S+?)[ ,]")

PROVISIONING = """<?xml version="1.0" encoding="UTF-8"?>
<provisioning version="1.1" productID="e2">
  <nvm>
    <oper name="add_hs" value="{ipui}">
      <param name="hs.RegStatus" value="ToReg"/>
    </oper>
    <param name="SipAccount.{ipui}.UserName" value="{user}"/>
    <param name="SipAccount.{ipui}.AuthName" value="{user}"/>
    <param name="SipAccount.{ipui}.AuthPassword" value="pw-{user}"/>
    <param name="SipAccount.{ipui}.DisplayName" value="Reception"/>
    <param name="SipAccount.{ipui}.FeatureKeySyncActive" value="{fks}"/>
  </nvm>
</provisioning>
"""


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def require_tool(name: str) -> str:
    """The path of an external program; skip without it, but fail in CI."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed (CI installs it: .ci/run)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def provisioning(path: Path, *, ipui: str = "029e74a599", user: str = "2001", fks: bool = True) -> Path:
    path.write_text(PROVISIONING.format(ipui=ipui, user=user, fks=int(fks)))
    return path


def stop_process(process: subprocess.Popen[Any], *, grace: float = 10.0) -> int:
    """SIGTERM, wait up to `grace` seconds, then SIGKILL. Returns the exit status."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
            raise
    return int(process.returncode)


@dataclass
class Serve:
    """A running `fksim serve` process."""

    process: subprocess.Popen[str]
    url: str
    sip: str
    lines: list[str] = field(default_factory=list)

    def stop(self) -> int:
        rc = stop_process(self.process)
        return rc

    @property
    def output(self) -> str:
        return "".join(self.lines)


def start_serve(tmp_path: Path, *args: str, timeout: float = 20.0) -> Serve:
    """Start `fksim serve` with the given options (its web and SIP on free loopback ports unless given)."""
    argv = [sys.executable, "-c", "from scenarios.cli import main; main()", "serve", "--state", str(tmp_path / "base.sqlite")]
    if "--http" not in args:
        argv += ["--http", "127.0.0.1:0"]
    if "--sip-bind" not in args:
        argv += ["--sip-bind", "127.0.0.1:0"]
    if "--embedded-bind" not in args:
        argv += ["--embedded-bind", "127.0.0.1:0"]
    argv += list(args)
    process = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    lines: list[str] = []
    ready = threading.Event()
    found: dict[str, str] = {}

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            match = _READY.search(line)
            if match and not ready.is_set():
                found["url"], found["sip"] = match.group(1), match.group(2)
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    if not ready.wait(timeout) or "url" not in found:
        stop_process(process)
        raise AssertionError("fksim serve did not start:\n" + "".join(lines))
    return Serve(process=process, url=found["url"], sip=found["sip"], lines=lines)


class WebClient:
    """A browser-like client: a cookie jar, the CSRF token of each served form, no JavaScript."""

    def __init__(self, base_url: str) -> None:
        self.base = base_url.rstrip("/")
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.token = ""

    def request(self, method: str, path: str, *, data: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, str]:
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=15) as response:
                status, text = response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            status, text = err.code, err.read().decode()
        found = _TOKEN.search(text) or _META.search(text)
        if found:
            self.token = found.group(1)
        return status, text

    def get(self, path: str) -> tuple[int, str]:
        return self.request("GET", path)

    def post_form(self, path: str, fields: dict[str, str], *, page: str | None = None) -> tuple[int, str]:
        self.get(page or path)
        body = urllib.parse.urlencode({**fields, "csrf_token": self.token}).encode()
        return self.request("POST", path, data=body,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})

    def post_json(self, path: str, payload: Any) -> tuple[int, Any]:
        status, text = self.request("POST", path, data=json.dumps(payload).encode(),
                                    headers={"Content-Type": "application/json", "X-CSRFToken": self.token})
        return status, json.loads(text)

    def get_json(self, path: str) -> tuple[int, Any]:
        status, text = self.get(path)
        return status, json.loads(text)

    def login(self) -> None:
        """Log in: with the factory password, then the forced change to `NEW_PASSWORD`; or, on a base
        whose NVM already has that password, with it."""
        status, text = self.post_form("/login", {"password": FACTORY_PASSWORD})
        if 'name="current"' in text:
            status, text = self.post_form("/password", {"current": FACTORY_PASSWORD, "new": NEW_PASSWORD,
                                                          "confirm": NEW_PASSWORD})
            assert status == 200 and "The password was changed." in text, text
        else:
            status, text = self.post_form("/login", {"password": NEW_PASSWORD})
            assert status == 200, text
        status, _ = self.get("/status")
        assert status == 200

    def status(self) -> dict[str, Any]:
        status, doc = self.get_json("/api/status")
        assert status == 200, doc
        assert isinstance(doc, dict)
        return doc


def press_menu(web: WebClient, ipui: str, path: list[str]) -> None:
    """Walk a handset's menu `path` key by key through the web interface's virtual handset."""
    from dect.handset import Handset
    from dect.identity import Ipui

    web.get("/handsets")
    for key in Handset(Ipui.parse(ipui)).compile_menu(path):
        status, screen = web.post_json(f"/api/handsets/{ipui}/keys", {"key": key})
        assert status == 200, screen


def upload_provisioning(web: WebClient, name: str, data: bytes, action: str) -> tuple[int, str]:
    """Upload a provisioning file on SETTINGS -> System -> Provisioning (`action`: check or apply)."""
    web.get("/settings/system/provisioning")
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{web.token}\r\n'.encode(),
        f'--{boundary}\r\nContent-Disposition: form-data; name="action"\r\n\r\n{action}\r\n'.encode(),
        (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
         "Content-Type: text/xml\r\n\r\n").encode() + data + b"\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    return web.request("POST", "/settings/system/provisioning", data=b"".join(parts),
                       headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


def wait_for(predicate: Any, *, timeout: float = 15.0, interval: float = 0.1, what: str = "condition") -> Any:
    """Poll `predicate()` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}; last: {last!r}")


def handset(doc: dict[str, Any], ipui: str) -> dict[str, Any]:
    found = [h for h in doc["handsets"] if h["ipui"] == ipui]
    assert found, doc
    return found[0]


class ThreadedServer:
    """The project's application server on its own loopback UDP socket, driven by a thread of the
    test: an external server as far as `fksim serve --server` can tell, with a portal to change a
    user's features (`portal`). Every call into the server core happens under one lock."""

    def __init__(self, users: dict[str, str]) -> None:
        from sip.ids import SequentialIds
        from sip.server.app import ApplicationServer, ServerConfig
        from sip.server.users import User

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.02)
        self.address = ("127.0.0.1", int(self.sock.getsockname()[1]))
        self.server = ApplicationServer(ServerConfig(local=self.address, domain="as.example.com"),
                                        [User(name=u, password=pw) for u, pw in users.items()],
                                        ids=SequentialIds("test-server"))
        self.lock = threading.Lock()
        self.t0 = time.monotonic()
        self.stopping = threading.Event()
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _now(self) -> float:
        return time.monotonic() - self.t0

    def _send(self, outputs: Any) -> None:
        from sip.events import SendDatagram

        for item in outputs:
            if isinstance(item, SendDatagram):
                self.sock.sendto(item.data, item.destination)

    def _loop(self) -> None:
        deadline = time.monotonic() + 300  # bounded, whatever the test does
        while not self.stopping.is_set() and time.monotonic() < deadline:
            try:
                data, source = self.sock.recvfrom(65535)
            except (TimeoutError, BlockingIOError):
                data = b""
            except OSError:
                continue
            with self.lock:
                if data:
                    self.received.append(data)
                    self._send(self.server.receive(self._now(), data, (source[0], source[1])))
                due = self.server.next_deadline()
                if due is not None and due <= self._now():
                    self._send(self.server.handle_timer(self._now()))

    def portal(self, user: str, **state: Any) -> None:
        with self.lock:
            self._send(self.server.portal_change(self._now(), user, **state))

    def state(self, user: str) -> dict[str, Any]:
        with self.lock:
            return dict(self.server.user_state(user).as_json())

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.sock.close()
