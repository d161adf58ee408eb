"""The web interface's security: login required everywhere, CSRF on every form, lockout, the forced
password change, sessions (cookie flags, logout, idle end, end on password change), safe redirects,
and error pages without tracebacks."""

from __future__ import annotations

import pytest

from firmware.web.auth import IDLE_SECONDS, LOCK_SECONDS, MAX_FAILURES

#: Every page behind the login (GET).
PAGES = [
    "/",
    "/status",
    "/telephony",
    "/settings/mobile-devices/administration",
    "/settings/mobile-devices/administration/029e74a599",
    "/settings/mobile-devices/administration/1",
    "/settings/system/provisioning",
    "/password",
    "/handsets",
]
#: Every JSON endpoint (method, path).
API = [
    ("GET", "/api/status"),
    ("GET", "/api/handsets/029e74a599/screen"),
    ("POST", "/api/handsets/029e74a599/keys"),
]
#: Every form (POST path, the page that serves its token, data that would change something).
FORMS = [
    ("/telephony", "/telephony", {"internal_telephony": "1"}),
    (
        "/settings/mobile-devices/administration/029e74a599",
        "/settings/mobile-devices/administration/029e74a599",
        {"display_name": "Forged", "feature_key_sync": "1"},
    ),
    ("/settings/system/provisioning", "/settings/system/provisioning", {"action": "apply"}),
    ("/password", "/password", {"current": "correct-horse", "new": "forged-pass", "confirm": "forged-pass"}),
    ("/handsets/029e74a599/keys", "/handsets", {"key": "OK"}),
    ("/handsets/recording/start", "/handsets", {}),
    ("/handsets/recording/stop", "/handsets", {}),
    ("/logout", "/status", {}),
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_redirect_an_unauthenticated_request_to_the_login(make_base, kit, path):
    base = make_base("N610")
    base.add_handset(kit.ipui_a)
    response = base.browser().client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


@pytest.mark.parametrize("path", PAGES[1:])
def test_the_login_link_brings_the_admin_back_to_the_page(base, kit, path):
    base.add_handset(kit.ipui_a)
    browser = base.browser()
    location = browser.client.get(path).headers["Location"]
    response = browser.submit(location, {"password": kit.password}, page=location)
    assert response.status_code == 302
    assert response.headers["Location"] == path


@pytest.mark.parametrize(("path", "page", "data"), FORMS)
def test_form_posts_without_login_are_refused(base, kit, path, page, data):
    base.add_handset(kit.ipui_a)
    browser = base.browser()
    browser.get("/login")  # a valid token of an anonymous session: still not logged in
    response = browser.client.post(path, data={**data, "csrf_token": browser.token})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert base.store.account(kit.ipui_a).display_name == "User 2001"
    assert base.changes == []


@pytest.mark.parametrize(("method", "path"), API)
def test_api_refuses_an_unauthenticated_request_with_401_json(base, method, path):
    client = base.browser().client
    response = client.open(path, method=method, json={"key": "OK"})
    assert response.status_code == 401
    assert response.is_json
    assert "authentication required" in response.get_json()["error"]


@pytest.mark.parametrize(("path", "page", "data"), FORMS)
def test_a_form_without_the_csrf_token_is_refused(make_base, kit, path, page, data):
    base = make_base("N610")
    base.add_handset(kit.ipui_a)
    browser = base.admin()
    browser.get(page)
    before = base.store.snapshot()
    response = browser.client.post(path, data=data)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "Security token missing or invalid" in text
    assert "The CSRF token is missing." in text
    assert "Traceback" not in text
    assert base.store.snapshot() == before
    assert base.changes == []
    assert browser.client.get("/status").status_code == 200  # still logged in: nothing was done


def test_a_form_with_a_wrong_csrf_token_is_refused(base, kit):
    base.add_handset(kit.ipui_a)
    browser = base.admin()
    browser.get("/settings/mobile-devices/administration/1")
    response = browser.client.post(
        "/settings/mobile-devices/administration/1",
        data={"display_name": "Forged", "csrf_token": "not-the-token"},
    )
    assert response.status_code == 400
    assert "The CSRF token is invalid." in response.get_data(as_text=True)
    assert base.store.account(1).display_name == "User 2001"


def test_a_token_from_another_session_is_refused(base, kit):
    base.add_handset(kit.ipui_a)
    victim = base.admin()
    attacker = base.admin()
    attacker.get("/settings/mobile-devices/administration/1")
    response = victim.client.post(
        "/settings/mobile-devices/administration/1",
        data={"display_name": "Forged", "csrf_token": attacker.token},
    )
    assert response.status_code == 400
    assert base.store.account(1).display_name == "User 2001"


def test_the_login_form_itself_needs_the_csrf_token(base, kit):
    client = base.browser().client
    response = client.post("/login", data={"password": kit.password})
    assert response.status_code == 400
    assert client.get("/status").status_code == 302


def test_the_json_key_endpoint_needs_the_csrf_header(base, kit):
    base.add_handset(kit.ipui_a)
    browser = base.admin()
    response = browser.client.post("/api/handsets/029e74a599/keys", json={"key": "OK"})
    assert response.status_code == 400
    assert response.is_json
    assert "CSRF" in response.get_json()["error"]


# --- lockout -----------------------------------------------------------------------------------------


def test_a_wrong_password_is_refused(base, kit):
    browser = base.browser()
    response = browser.login("wrong")
    assert response.status_code == 401
    assert "Wrong password." in response.get_data(as_text=True)
    assert browser.client.get("/status").status_code == 302


def test_lockout_after_repeated_failures_and_its_expiry(base, kit):
    browser = base.browser()
    for attempt in range(1, MAX_FAILURES):
        assert browser.login(f"wrong-{attempt}").status_code == 401
    response = browser.login("wrong-last")
    assert response.status_code == 429
    assert f"locked for {int(LOCK_SECONDS)} s" in response.get_data(as_text=True)
    # While locked even the right password is refused, from any browser.
    base.clock.advance(LOCK_SECONDS - 1)
    for client in (browser, base.browser()):
        response = client.login(kit.password)
        assert response.status_code == 429
        assert "locked for 1 s" in response.get_data(as_text=True)
        assert client.client.get("/status").status_code == 302
    # After the lock the right password works; the count starts afresh.
    base.clock.advance(1)
    response = browser.login(kit.password)
    assert response.status_code == 302
    assert browser.client.get("/status").status_code == 200


def test_an_expired_lock_gives_a_fresh_count(base, kit):
    browser = base.browser()
    for _ in range(MAX_FAILURES):
        browser.login("wrong")
    base.clock.advance(LOCK_SECONDS)
    for _ in range(MAX_FAILURES - 1):
        assert browser.login("wrong").status_code == 401
    assert browser.login("wrong").status_code == 429


def test_a_successful_login_resets_the_failure_count(base, kit):
    browser = base.browser()
    for _ in range(MAX_FAILURES - 1):
        browser.login("wrong")
    assert browser.login(kit.password).status_code == 302
    other = base.browser()
    for _ in range(MAX_FAILURES - 1):
        assert other.login("wrong").status_code == 401


# --- first login: the factory password ---------------------------------------------------------------


def test_first_login_forces_a_password_change(make_base, kit):
    base = make_base("N670", factory_password=True)
    browser = base.browser()
    response = browser.login("admin")
    assert response.status_code == 302
    assert response.headers["Location"] == "/password"
    page = browser.get("/password").get_data(as_text=True)
    assert "The factory password is still set" in page
    # Nothing else is shown until it is changed.
    for path in ("/status", "/settings/mobile-devices/administration", "/telephony"):
        response = browser.client.get(path)
        assert response.status_code == 302
        assert response.headers["Location"] == "/password"
    api = browser.client.get("/api/status")
    assert api.status_code == 403
    assert "factory admin password" in api.get_json()["error"]
    # The factory password itself cannot be kept, a short one is refused, both entries must agree.
    for new, confirm, message in (
        ("admin", "admin", "the factory password cannot be kept"),
        ("short", "short", "at least 8 characters"),
        ("long-enough-1", "long-enough-2", "confirmation differ"),
    ):
        response = browser.submit("/password", {"current": "admin", "new": new, "confirm": confirm})
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
        assert base.store.admin_must_change_password
    response = browser.submit(
        "/password", {"current": "wrong", "new": "n3w-password", "confirm": "n3w-password"}
    )
    assert "The current password is wrong." in response.get_data(as_text=True)
    response = browser.submit(
        "/password", {"current": "admin", "new": "n3w-password", "confirm": "n3w-password"}
    )
    assert response.status_code == 302
    assert not base.store.admin_must_change_password
    assert base.store.verify_admin_password("n3w-password")
    assert not base.store.verify_admin_password("admin")
    assert browser.client.get("/status").status_code == 200
    assert "The password was changed." in browser.get("/status?changed=password").get_data(as_text=True)


def test_a_password_change_ends_the_other_sessions(base, kit):
    browser = base.admin()
    other = base.admin()
    response = browser.submit(
        "/password", {"current": kit.password, "new": "an0ther-pass", "confirm": "an0ther-pass"}
    )
    assert response.status_code == 302
    assert browser.client.get("/status").status_code == 200
    response = other.client.get("/status")
    assert response.status_code == 302
    assert "expired=1" in response.headers["Location"]
    assert other.login(kit.password).status_code == 401
    assert other.login("an0ther-pass").status_code == 302


# --- sessions ----------------------------------------------------------------------------------------


def test_session_cookie_is_httponly_and_samesite_strict(base, kit):
    browser = base.browser()
    browser.get("/login")
    response = browser.client.post("/login", data={"password": kit.password, "csrf_token": browser.token})
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("fksim_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie


def test_logout_ends_the_session(base):
    browser = base.admin()
    response = browser.submit("/logout", {}, page="/status")
    assert response.status_code == 302
    assert browser.client.get("/status").status_code == 302
    assert browser.client.get("/api/status").status_code == 401


def test_an_idle_session_ends(base):
    browser = base.admin()
    base.clock.advance(IDLE_SECONDS - 1)
    assert browser.client.get("/status").status_code == 200  # use renews it
    base.clock.advance(IDLE_SECONDS - 1)
    assert browser.client.get("/status").status_code == 200
    base.clock.advance(IDLE_SECONDS + 1)
    response = browser.client.get("/status")
    assert response.status_code == 302
    assert "expired=1" in response.headers["Location"]
    assert "Your session has ended" in browser.get(response.headers["Location"]).get_data(as_text=True)


def test_a_tampered_session_cookie_is_not_a_login(base):
    browser = base.browser()
    browser.client.set_cookie("fksim_session", '{"admin": true, "epoch": 0, "seen": 1000.0}')
    assert browser.client.get("/status").status_code == 302


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_login_never_redirects_off_site(base, kit, target):
    browser = base.browser()
    response = browser.submit(f"/login?next={target}", {"password": kit.password}, page="/login")
    assert response.status_code == 302
    assert response.headers["Location"] == "/status"


def test_pages_carry_security_headers(base):
    browser = base.admin()
    response = browser.client.get("/status")
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'self': no inline
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"


def test_login_page_and_static_files_need_no_login(base):
    client = base.browser().client
    assert client.get("/login").status_code == 200
    assert client.get("/static/base.css").status_code == 200
    assert client.get("/static/handset.js").status_code == 200


# --- error pages -------------------------------------------------------------------------------------


def test_an_unknown_page_is_a_404_page_without_traceback(base):
    browser = base.admin()
    response = browser.client.get("/no/such/page")
    assert response.status_code == 404
    text = response.get_data(as_text=True)
    assert "Not Found" in text
    assert "Traceback" not in text


def test_a_wrong_method_is_a_405_page(base):
    browser = base.admin()
    assert browser.client.get("/logout").status_code == 405


def test_an_unexpected_error_is_a_500_page_without_traceback(make_base):
    class Broken(Exception):
        pass

    def runtime():
        raise Broken("the runtime provider failed")

    base = make_base("N870", runtime=runtime)
    browser = base.admin()
    response = browser.client.get("/status")
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "Internal error" in text
    assert "Traceback" not in text
    assert "the runtime provider failed" not in text  # no internals to the browser
    api = browser.client.get("/api/status")
    assert api.status_code == 500
    assert api.get_json() == {"error": "The base could not do this (Broken)."}


def test_create_app_refuses_a_weak_secret_key(base):
    from firmware.web import create_app

    with pytest.raises(ValueError, match="at least 16 random bytes"):
        create_app(base.backend, secret_key=b"short")
