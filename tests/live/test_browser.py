"""The base's web interface in a real browser: Playwright drives Debian's chromium headless against
`fksim serve` (embedded server). Log in, change the forced password, open the handset list, switch
FKS on for a handset, and see its subscription come up. A screenshot is kept in artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from live.kit import ARTIFACTS, FACTORY_PASSWORD, NEW_PASSWORD, in_ci, provisioning, require_tool

IPUI = "029e74a599"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _sync_playwright():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if in_ci():
            pytest.fail("playwright is not installed (pyproject's test extra has it)")
        pytest.skip("playwright is not installed")
    return sync_playwright


@pytest.mark.slow
def test_login_password_handset_list_and_fks_in_chromium(tmp_path: Path, serve):
    chromium = require_tool("chromium")
    sync_playwright = _sync_playwright()
    base = serve("--model", "N670", "--provision", str(provisioning(tmp_path / "prov.xml", fks=False)))
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "live-browser-handset-list.png"

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS, headless=True,
                                    timeout=30_000)
        try:
            page = browser.new_page()
            page.set_default_timeout(15_000)

            # Log in with the factory password: only the password page is shown until it is changed.
            page.goto(base.url + "status")
            assert "/login" in page.url
            page.fill("input[name=password]", FACTORY_PASSWORD)
            page.click("form[action^='/login'] button[type=submit]")
            page.wait_for_selector("input[name=current]")
            assert page.url.endswith("/password")
            page.fill("input[name=current]", FACTORY_PASSWORD)
            page.fill("input[name=new]", NEW_PASSWORD)
            page.fill("input[name=confirm]", NEW_PASSWORD)
            page.click("form[action='/password'] button[type=submit]")
            page.wait_for_selector("text=The password was changed.")
            assert "/status" in page.url

            # The handset list: registered, SIP registered, FKS off.
            page.goto(base.url + "settings/mobile-devices/administration")
            row = page.locator("tr", has_text=IPUI)
            row.wait_for()
            assert "Registered" in row.inner_text()
            page.wait_for_function(
                "ipui => [...document.querySelectorAll('tr')].some("
                "r => r.textContent.includes(ipui) && r.textContent.includes('registered') "
                "&& !r.textContent.includes('not registered'))", arg=IPUI, timeout=15_000)
            assert "active" not in page.locator("tr", has_text=IPUI).inner_text()

            # Edit the handset: Feature key synchronization Yes, Set.
            row.locator("a", has_text="Edit").click()
            page.wait_for_selector("#handset-form")
            assert page.url.endswith(f"/administration/{IPUI}")
            page.check("input[name=feature_key_sync][value='1']")
            page.click("#handset-form button[type=submit]")
            page.wait_for_selector("text=Saved.")

            # Back to the list: the subscription comes up against the embedded server.
            for _ in range(50):
                page.goto(base.url + "settings/mobile-devices/administration")
                text = page.locator("tr", has_text=IPUI).inner_text()
                if "subscription: active" in text:
                    break
                page.wait_for_timeout(200)
            assert "subscription: active" in text, text
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()

    assert shot.stat().st_size > 1000
    assert base.stop() == 0
