"""SETTINGS → Mobile devices → Administration: the handset list and the edit page (base-models.md §5),
with FKS gating (feature-key-sync.md §1) shown and enforced."""

from __future__ import annotations

import html

import pytest

from dect.identity import Ipui
from firmware.nvm import RegStatus
from firmware.web import ChangeKind, HandsetRuntime, RuntimeView

LIST = "/settings/mobile-devices/administration"
EDIT = "/settings/mobile-devices/administration/029e74a599"


def _text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_list_shows_every_handset_with_its_columns(make_base, kit):
    running = {
        kit.ipui_a: HandsetRuntime(
            dect="attached to DECT manager 1",
            sip_registration="registered",
            subscription="active",
            handset_type="S650H PRO",
            handset_firmware="1.2.3",
        )
    }
    base = make_base("N870", runtime=lambda: RuntimeView(running=True, handsets=running))
    base.add_handset(kit.ipui_a, fks=True, user="2001")
    base.add_handset(kit.ipui_b, fks=False, user="2002")
    base.store.set_dect_manager(kit.ipui_b, 2)
    text = _text(base.admin().get(LIST))
    for header in (
        "IPUI",
        "User name",
        "Display name",
        "Location",
        "DECT state",
        "SIP status",
        "Feature key sync",
    ):
        assert f"<th>{header}</th>" in text
    row_a = text[text.index("029e74a599") : text.index("029e74a5aa")]
    assert "User 2001" in row_a
    assert "DECT manager 1" in row_a
    assert "Registered" in row_a
    assert "attached to DECT manager 1" in row_a
    assert "registered" in row_a
    assert "active" in row_a and "subscription: active" in row_a
    assert "S650H PRO" in row_a and "1.2.3" in row_a
    row_b = text[text.index("029e74a5aa") :]
    assert "DECT manager 2" in row_b
    assert "off" in row_b and "(FeatureKeySyncActive=0)" in row_b
    assert "not running" in row_b  # no runtime entry for it
    assert f'href="{EDIT}"' in text


def test_list_shows_the_gating_reason(make_base, kit):
    base = make_base("N610")
    base.add_handset(kit.ipui_a, fks=True)
    base.store.set_internal_telephony(True)
    text = _text(base.admin().get(LIST))
    assert "not supported" in text
    assert "(internal telephony enabled)" in text


def test_list_pages_through_a_big_system(make_base):
    base = make_base("virtual-integrator")
    for n in range(1, 251):
        base.store.add_handset(ipui=Ipui(emc=1, psn=n))
    browser = base.admin()
    first = _text(browser.get(LIST))
    assert "250 handsets" in first
    assert "Page 1 of 3" in first
    assert str(Ipui(emc=1, psn=1)) in first and str(Ipui(emc=1, psn=101)) not in first
    third = _text(browser.get(LIST + "?page=3"))
    assert str(Ipui(emc=1, psn=250)) in third and str(Ipui(emc=1, psn=1)) not in third
    assert "Page 1 of 3" in _text(browser.get(LIST + "?page=nonsense"))


def test_edit_page_shows_the_fields_of_the_vendor_page(base, kit):
    base.add_handset(kit.ipui_a)
    base.store.set_dect_ac(kit.ipui_a, "1234")
    text = _text(base.admin().get(EDIT))
    for label in (
        "IPUI",
        "Registration status",
        "Authentication code (PIN)",
        "VoIP provider",
        "Authentication name",
        "Authentication password",
        "User name",
        "Display name",
        "Network mailbox",
        "Feature key synchronization",
    ):
        assert label in text, label
    assert 'name="ipui" value="029e74a599" readonly' in text
    assert 'name="dect_ac" value="1234"' in text
    assert 'name="auth_name" value="2001" maxlength="74"' in text
    assert "s3cret" not in text  # the SIP password is never sent back to the browser
    assert '<fieldset id="fks" >' in text or '<fieldset id="fks">' in text  # not disabled


def test_editing_a_handset_persists_and_calls_on_change(base, kit):
    base.add_handset(kit.ipui_a)
    browser = base.admin()
    response = browser.submit(
        EDIT,
        {
            "ipui": "029e74a599",
            "reg_action": "",
            "dect_ac": "4321",
            "provider_id": "2",
            "auth_name": "a" * 74,
            "auth_password": "n3w",
            "user_name": "3001",
            "display_name": "Front desk",
            "voicemail_mailbox": "*86",
            "voicemail_active": "1",
            "feature_key_sync": "1",
        },
    )
    assert response.status_code == 200
    assert "Saved." in _text(response)
    account = base.store.account(kit.ipui_a)
    assert account.auth_name == "a" * 74
    assert account.auth_password == "n3w"
    assert account.user_name == "3001"
    assert account.display_name == "Front desk"
    assert account.provider_id == 2
    assert account.voicemail_mailbox == "*86"
    assert account.voicemail_active is True
    assert account.feature_key_sync_active is True
    assert base.store.handset(kit.ipui_a).dect_ac == "4321"
    kinds = [c.kind for c in base.changes]
    assert kinds == [ChangeKind.HANDSET, ChangeKind.FEATURE_KEY_SYNC]
    handset_change, fks_change = base.changes
    assert handset_change.ipui == kit.ipui_a and handset_change.index == 1
    assert set(handset_change.fields) == {
        "dect_ac",
        "auth_name",
        "auth_password",
        "user_name",
        "display_name",
        "provider_id",
        "voicemail_mailbox",
        "voicemail_active",
    }
    assert fks_change.value is True and fks_change.ipui == kit.ipui_a
    # The page now shows the stored values and the new FKS state.
    page = _text(browser.get(EDIT))
    assert 'value="Front desk"' in page
    assert "active" in page


def test_a_blank_password_keeps_the_stored_one_and_no_change_reports_nothing(base, kit):
    base.add_handset(kit.ipui_a)
    response = base.admin().submit(
        EDIT, {"auth_password": "", "display_name": "User 2001", "feature_key_sync": "0"}
    )
    assert response.status_code == 200
    assert base.store.account(kit.ipui_a).auth_password == "s3cret"
    assert base.changes == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("auth_name", "a" * 75, "75 characters, at most 74 allowed"),
        ("display_name", "d" * 33, "33 characters, at most 32 allowed"),
        ("dect_ac", "12a4", 'authentication code: "12a4" is not 4 digits'),
        ("provider_id", "11", "11 is out of range 1..10"),
        ("provider_id", "x", '"x" is not an integer 1..10'),
        ("voicemail_active", "yes", '"yes" is not 0 or 1'),
        ("feature_key_sync", "maybe", "must be Yes (1) or No (0)"),
        ("reg_action", "Reboot", '"Reboot" is not one of ToReg, ToDeReg'),
        ("reg_action", "ToReg", "already Registered; de-register it first"),
        ("ipui", "029e74a5ff", "the IPUI is read-only once set"),
    ],
)
def test_bad_values_are_refused_with_a_message_and_nothing_is_saved(base, kit, field, value, message):
    base.add_handset(kit.ipui_a)
    before = base.store.snapshot()
    # A valid change rides along: all or nothing.
    response = base.admin().submit(EDIT, {"user_name": "9999", field: value})
    assert response.status_code == 400
    text = _text(response)
    assert "Not saved: please correct the fields marked below." in text
    assert message in text
    assert "Traceback" not in text
    assert base.store.snapshot() == before
    assert base.changes == []


def test_an_ipui_can_be_set_once_on_a_slot_opened_by_index(base, kit):
    index = base.add_handset(None)
    base.add_handset(kit.ipui_b, user="2002")
    browser = base.admin()
    path = f"{LIST}/{index}"
    assert 'name="ipui" value="" maxlength="10"' in _text(browser.get(path))
    response = browser.submit(path, {"ipui": "029e74a5aa"})
    assert "is already handset 2" in _text(response)
    response = browser.submit(path, {"ipui": "nonsense"})
    assert "is not an IPUI" in _text(response)
    response = browser.submit(path, {"ipui": "029e74a599"})
    assert response.status_code == 200
    assert base.store.handset(index).ipui == kit.ipui_a
    assert base.changes[-1].kind is ChangeKind.HANDSET and base.changes[-1].fields == ("ipui",)
    assert "readonly" in _text(browser.get(EDIT))


def test_de_registering_removes_the_handset_and_its_account(base, kit):
    base.add_handset(kit.ipui_a)
    browser = base.admin()
    response = browser.submit(EDIT, {"reg_action": "ToDeReg"})
    assert response.status_code == 302
    assert response.headers["Location"].startswith(LIST)
    assert base.store.handset(kit.ipui_a) is None
    assert base.changes[-1].kind is ChangeKind.HANDSET_REMOVED
    assert base.changes[-1].ipui == kit.ipui_a
    assert "was de-registered" in _text(browser.get(response.headers["Location"]))


def test_to_reg_reopens_registration_of_a_handset_not_registered(base, kit):
    base.add_handset(kit.ipui_a)
    base.store.set_reg_status(kit.ipui_a, RegStatus.NOT_REG)
    base.admin().submit(EDIT, {"reg_action": "ToReg"})
    assert base.store.handset(kit.ipui_a).reg_status is RegStatus.TO_REG
    assert base.changes[-1].fields == ("reg_status",)


@pytest.mark.parametrize("ref", ["029e74a5ff", "42", "not-an-ipui"])
def test_an_unknown_handset_is_a_clear_400_page(base, kit, ref):
    base.add_handset(kit.ipui_a)
    response = base.admin().get(f"{LIST}/{ref}")
    assert response.status_code == 400
    text = _text(response)
    assert f"no handset {ref}" in text or f"no handset '{ref}'" in text
    assert "Traceback" not in text


# --- FKS gating -----------------------------------------------------------------------------------


def test_fks_field_is_disabled_with_the_reason_when_gated(make_base, kit):
    base = make_base("N610")
    base.add_handset(kit.ipui_a)
    base.store.set_internal_telephony(True)
    text = _text(base.admin().get(EDIT))
    assert '<fieldset id="fks" disabled aria-describedby="fks-reason">' in text
    assert "Not available: internal telephony enabled." in text
    assert "not supported while internal telephony is on" in text


def test_a_forged_fks_enable_on_a_gated_handset_is_refused(make_base, kit):
    base = make_base("N610")
    base.add_handset(kit.ipui_a)
    base.store.set_internal_telephony(True)
    before = base.store.snapshot()
    response = base.admin().submit(EDIT, {"feature_key_sync": "1", "display_name": "Forged"})
    assert response.status_code == 400
    text = _text(response)
    assert (
        "Feature key synchronization cannot be enabled: not supported while internal telephony enabled"
        in text
    )
    assert base.store.snapshot() == before
    assert base.store.account(kit.ipui_a).feature_key_sync_active is False
    assert base.changes == []


def test_a_gated_form_without_the_disabled_field_saves_the_rest(make_base, kit):
    # A browser does not send a disabled field: the other fields save, FKS stays as it was.
    base = make_base("N670")
    base.add_handset(kit.ipui_a, fks=True)
    base.store.set_internal_telephony(True)
    response = base.admin().submit(EDIT, {"display_name": "Reception"})
    assert response.status_code == 200
    account = base.store.account(kit.ipui_a)
    assert account.display_name == "Reception"
    assert account.feature_key_sync_active is True


def test_switching_fks_off_is_allowed_even_when_gated(make_base, kit):
    base = make_base("N610")
    base.add_handset(kit.ipui_a, fks=True)
    base.store.set_internal_telephony(True)
    response = base.admin().submit(EDIT, {"feature_key_sync": "0"})
    assert response.status_code == 200
    assert base.store.account(kit.ipui_a).feature_key_sync_active is False
    assert base.changes[-1].kind is ChangeKind.FEATURE_KEY_SYNC and base.changes[-1].value is False


@pytest.mark.parametrize(
    "model", ["N610", "N670", "N870", "N870E", "embedded-integrator", "virtual-integrator"]
)
def test_fks_can_be_enabled_on_every_model_when_not_gated(make_base, kit, model):
    base = make_base(model)
    base.add_handset(kit.ipui_a)
    response = base.admin().submit(EDIT, {"feature_key_sync": "1"})
    assert response.status_code == 200
    assert base.store.account(kit.ipui_a).feature_key_sync_active is True


def test_set_feature_key_sync_applies_the_gating_rule(make_base, kit):
    from firmware.web import WebInputError

    base = make_base("N610")
    base.add_handset(kit.ipui_a)
    base.backend.set_feature_key_sync("029e74a599", True)
    assert base.store.account(kit.ipui_a).feature_key_sync_active is True
    assert base.changes[-1].kind is ChangeKind.FEATURE_KEY_SYNC
    base.backend.set_feature_key_sync("1", False)
    base.store.set_internal_telephony(True)
    with pytest.raises(WebInputError, match="not supported while internal telephony enabled"):
        base.backend.set_feature_key_sync("029e74a599", True)
    assert base.store.account(kit.ipui_a).feature_key_sync_active is False


@pytest.mark.parametrize(
    ("model", "internal"), [("N610", True), ("N610", False), ("N670", True), ("N870", False)]
)
def test_row_verdicts_are_the_gating_rules_verdicts(make_base, kit, model, internal):
    from firmware.gating import handset_verdict

    base = make_base(model)
    base.add_handset(kit.ipui_a, fks=True)
    base.add_handset(kit.ipui_b, fks=False, user="2002")
    base.store.add_handset(ipui=None)  # a slot without account: the firmware default, FKS off
    base.store.set_internal_telephony(internal)
    rows = base.backend.handset_rows()
    assert len(rows) == 3
    for row in rows:
        assert row.verdict == handset_verdict(base.backend.profile, base.store, row.handset.index)
    assert base.backend.handset_row("3").verdict == handset_verdict(base.backend.profile, base.store, 3)
