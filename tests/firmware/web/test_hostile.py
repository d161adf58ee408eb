"""Hostile input to the web interface (issue 11): header injection through the edit form, an old
session cookie replayed after logout, a stored value the firmware will not start."""

from __future__ import annotations

import html

import pytest

from firmware.nvm import Account
from firmware.web.auth import MAX_SESSIONS

EDIT = "/settings/mobile-devices/administration/029e74a599"
LIST = "/settings/mobile-devices/administration"


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("user_name", "2001\r\nX-Injected: yes", "control character (CR) at position 5"),
        ("user_name", "20 01", "' ' at position 3 is not allowed in the user part of a SIP URI"),
        ("user_name", "<sip:evil@x>", "'<' at position 1 is not allowed"),
        ("auth_name", "2001\nVia: x", "control character (LF) at position 5"),
        ("display_name", "Reception\r\nX-Injected: yes", "a display name must fit a SIP quoted-string"),
        ("auth_password", "pw\r\nX: 1", "the password contains a control character (CR)"),
        ("voicemail_mailbox", "#98", "'#' at position 1 is not allowed"),
    ],
)
def test_a_value_that_would_break_the_wire_is_refused_next_to_its_field(base, kit, field, value, message):
    base.add_handset(kit.ipui_a)
    before = base.store.snapshot()
    response = base.admin().submit(EDIT, {field: value})
    assert response.status_code == 400
    text = _text(response)
    assert message in text
    assert "X-Injected: yes\n" not in text
    assert base.store.snapshot() == before
    assert base.changes == []


def test_a_percent_escape_is_accepted_as_written(base, kit):
    base.add_handset(kit.ipui_a)
    response = base.admin().submit(EDIT, {"user_name": "alice%40home", "voicemail_mailbox": "%2398"})
    assert response.status_code == 200, _text(response)
    account = base.store.account(kit.ipui_a)
    assert (account.user_name, account.voicemail_mailbox) == ("alice%40home", "%2398")


def test_a_stored_value_the_firmware_refuses_is_shown_with_its_reason(base, kit):
    base.add_handset(kit.ipui_a)
    # Written past the rules, as an older NVM file could hold it.
    base.store.put_account(kit.ipui_a, Account(user_name="2001\r\nX-Injected: yes"))
    browser = base.admin()
    expected = f"SipAccount.{kit.ipui_a}.UserName: "
    assert f"not started: {expected}" in _text(browser.get(LIST))
    assert f"This account does not start: {expected}" in _text(browser.get(EDIT))
    response = browser.submit(EDIT, {"user_name": "2001"})
    assert response.status_code == 200
    assert "does not start" not in _text(response)


# --- sessions end on the server ------------------------------------------------------------------


def _cookie(browser) -> str:
    cookie = browser.client.get_cookie("fksim_session")
    assert cookie is not None
    return str(cookie.value)


def test_a_cookie_replayed_after_logout_is_refused(base):
    browser = base.admin()
    saved = _cookie(browser)
    assert browser.client.get("/status").status_code == 200
    assert browser.submit("/logout", {}, page="/status").status_code == 302
    # An attacker (or the same browser) presents the old cookie again.
    replay = base.browser()
    replay.client.set_cookie("fksim_session", saved)
    response = replay.client.get("/status")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert replay.client.get("/api/status").status_code == 401


def test_a_cookie_of_a_session_ended_by_a_password_change_stays_refused(base, kit):
    browser = base.admin()
    other = base.admin()
    saved = _cookie(other)
    browser.submit("/password", {"current": kit.password, "new": "an0ther-pass", "confirm": "an0ther-pass"})
    replay = base.browser()
    replay.client.set_cookie("fksim_session", saved)
    assert replay.client.get("/api/status").status_code == 401
    assert browser.client.get("/api/status").status_code == 200


def test_a_cookie_from_before_a_new_login_is_refused(base, kit):
    browser = base.admin()
    saved = _cookie(browser)
    assert browser.login(kit.password).status_code == 302  # a new login ends the old session
    replay = base.browser()
    replay.client.set_cookie("fksim_session", saved)
    assert replay.client.get("/api/status").status_code == 401
    assert browser.client.get("/api/status").status_code == 200


def test_open_sessions_are_bounded(base):
    first = base.admin()
    others = [base.admin() for _ in range(MAX_SESSIONS)]
    assert first.client.get("/api/status").status_code == 401  # the longest-idle one made room
    assert all(b.client.get("/api/status").status_code == 200 for b in others[-3:])
