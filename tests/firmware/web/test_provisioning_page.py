"""SETTINGS → System → Provisioning and configuration: upload a file, see its diagnostics, apply it."""

from __future__ import annotations

import html
import io

import pytest

from firmware.web import ChangeKind

PAGE = "/settings/system/provisioning"

GOOD = b"""<?xml version="1.0" encoding="UTF-8"?>
<provisioning version="1.1" productID="e2">
  <nvm>
    <oper name="add_hs" value="029e74a599">
      <param name="hs.RegStatus" value="ToReg"/>
    </oper>
    <param name="SipAccount.029e74a599.UserName" value="2001"/>
    <param name="SipAccount.029e74a599.DisplayName" value="Reception"/>
    <param name="SipAccount.029e74a599.FeatureKeySyncActive" value="1"/>
    <param name="SipAccount.029e74a599.AutName" value="2001"/>
    <param name="SipAccount.0000000bad.UserName" value="x"/>
  </nvm>
</provisioning>
"""

MALFORMED = b"""<?xml version="1.0"?>
<provisioning version="1.1">
  <nvm>
    <param name="SipAccount.029e74a599.UserName" value="2001">
  </nvm>
</provisioning>
"""

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE provisioning [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<provisioning version="1.1"><nvm><param name="DmGlobal.0.X" value="&b;"/></nvm></provisioning>
"""

PASSWORD_FILE = b"""<?xml version="1.0"?>
<provisioning version="1.1"><nvm><param name="WebUIAccounts.1.Password" value="provisioned-pw"/></nvm></provisioning>
"""


def _upload(browser, data: bytes, action: str, name: str = "base.xml"):
    return browser.submit(
        PAGE,
        {"file": (io.BytesIO(data), name), "action": action},
        content_type="multipart/form-data",
    )


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_the_page_has_an_upload_form(base):
    text = _text(base.admin().get(PAGE))
    assert 'enctype="multipart/form-data"' in text
    assert 'type="file" name="file"' in text
    assert 'value="check"' in text and 'value="apply"' in text


def test_check_shows_diagnostics_with_line_numbers_and_applies_nothing(base):
    response = _upload(base.admin(), GOOD, "check")
    assert response.status_code == 200
    text = _text(response)
    assert 'base.xml:10: error: unknown parameter "SipAccount.029e74a599.AutName"' in text
    assert "base.xml:11: error: handset 0000000bad was never added" in text
    assert "2 errors, 0 warnings." in text
    assert "Checked only: nothing was applied." in text
    assert base.store.handsets() == []
    assert base.changes == []


def test_apply_applies_and_shows_the_diagnostics(base, kit):
    browser = base.admin()
    response = _upload(browser, GOOD, "apply")
    assert response.status_code == 200
    text = _text(response)
    assert "Applied; 2 items in error skipped." in text
    assert "base.xml:10: error:" in text
    handset = base.store.handset(kit.ipui_a)
    assert handset is not None
    account = base.store.account(kit.ipui_a)
    assert account.display_name == "Reception"
    assert account.feature_key_sync_active is True
    assert [c.kind for c in base.changes] == [ChangeKind.PROVISIONING]
    assert base.changes[0].value == "base.xml"
    # At once on the other pages.
    assert "Reception" in _text(browser.get("/settings/mobile-devices/administration"))


def test_a_gated_fks_flag_is_a_warning_with_its_line(make_base):
    base = make_base("N610")
    base.store.set_internal_telephony(True)
    text = _text(_upload(base.admin(), GOOD, "check"))
    assert "base.xml:9: warning: FeatureKeySyncActive=1 will not take effect on N610" in text
    assert "1 warning." in text


def test_a_malformed_file_shows_the_line_and_applies_nothing(base):
    response = _upload(base.admin(), MALFORMED, "apply")
    assert response.status_code == 200
    text = _text(response)
    assert "base.xml:5: error:" in text
    assert "Nothing was applied: the file was refused as a whole." in text
    assert base.store.handsets() == []
    assert base.changes == []


def test_an_entity_bomb_is_refused(base):
    text = _text(_upload(base.admin(), BOMB, "apply"))
    assert "base.xml:2: error:" in text
    assert "entit" in text
    assert base.store.system_params() == {}


def test_an_empty_upload_and_a_bad_action_get_a_message(base):
    browser = base.admin()
    response = _upload(browser, b"", "apply")
    assert response.status_code == 400
    assert "Choose a provisioning file" in _text(response)
    response = _upload(browser, GOOD, "format-disk")
    assert response.status_code == 400
    assert 'unknown action "format-disk"' in _text(response)
    assert base.store.handsets() == []


@pytest.mark.parametrize(
    ("name", "shown"), [("../../etc/passwd.xml", "etc_passwd.xml"), ("..", "upload.xml")]
)
def test_the_upload_name_is_sanitised(base, name, shown):
    text = _text(_upload(base.admin(), MALFORMED, "check", name=name))
    diagnostics = text.split('id="diagnostics"')[1]
    assert f"{shown}:5: error:" in diagnostics
    assert "../" not in diagnostics


def test_a_provisioned_admin_password_ends_other_sessions(base):
    browser = base.admin()
    other = base.admin()
    text = _text(_upload(browser, PASSWORD_FILE, "apply"))
    assert "Applied." in text
    assert base.store.verify_admin_password("provisioned-pw")
    assert not base.store.admin_must_change_password
    assert browser.client.get("/status").status_code == 200
    assert other.client.get("/status").status_code == 302
    assert [c.kind for c in base.changes] == [ChangeKind.PROVISIONING, ChangeKind.ADMIN_PASSWORD]


def test_an_upload_over_the_limit_is_a_413_page(base, monkeypatch):
    base.app.config["MAX_CONTENT_LENGTH"] = 1024
    response = _upload(base.admin(), GOOD + b"<!--" + b"x" * 2048 + b"-->", "check")
    assert response.status_code == 413
    assert "larger than" in _text(response)
