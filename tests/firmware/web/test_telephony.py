"""Telephony: the "Internal telephony" switch, on N610/N670 only (base-models.md §1-2)."""

from __future__ import annotations

import html

import pytest

from firmware.web import ChangeKind

WITH_SETTING = ["N610", "N670"]
WITHOUT_SETTING = ["N870", "N870E", "embedded-integrator", "virtual-integrator"]


@pytest.mark.parametrize("model", WITH_SETTING)
def test_the_switch_is_shown_and_persists_on_models_that_have_it(make_base, model):
    base = make_base(model)
    browser = base.admin()
    page = html.unescape(browser.get("/telephony").get_data(as_text=True))
    assert 'name="internal_telephony" value="1"' in page
    assert "Feature key synchronization is not supported while it is on" in page
    response = browser.submit("/telephony", {"internal_telephony": "1"})
    assert response.status_code == 200
    assert "Internal telephony is now on." in response.get_data(as_text=True)
    assert base.store.internal_telephony is True
    assert base.changes[-1].kind is ChangeKind.INTERNAL_TELEPHONY and base.changes[-1].value is True
    browser.submit("/telephony", {"internal_telephony": "0"})
    assert base.store.internal_telephony is False
    assert base.changes[-1].value is False
    # The status page and /api/status follow.
    assert browser.client.get("/api/status").get_json()["internal_telephony"] is False


@pytest.mark.parametrize("model", WITHOUT_SETTING)
def test_the_switch_is_absent_elsewhere_and_a_forged_post_is_refused(make_base, model):
    base = make_base(model)
    browser = base.admin()
    page = html.unescape(browser.get("/telephony").get_data(as_text=True))
    assert 'name="internal_telephony"' not in page
    assert 'has no "Internal telephony" setting' in page
    for value in ("1", "0"):
        response = browser.submit("/telephony", {"internal_telephony": value})
        assert response.status_code == 400
        text = html.unescape(response.get_data(as_text=True))
        assert f'{base.backend.profile.id} has no "Internal telephony" setting' in text
    assert base.store.system_params() == {}
    assert base.changes == []
    assert browser.client.get("/api/status").get_json()["internal_telephony"] is None


def test_a_bad_switch_value_is_refused(make_base):
    base = make_base("N610")
    response = base.admin().submit("/telephony", {"internal_telephony": "maybe"})
    assert response.status_code == 400
    assert "must be on (1) or off (0)" in html.unescape(response.get_data(as_text=True))
    assert base.store.internal_telephony is False


def test_turning_internal_telephony_on_gates_fks_on_the_handset_pages(make_base, kit):
    base = make_base("N670")
    base.add_handset(kit.ipui_a, fks=True)
    browser = base.admin()
    edit = "/settings/mobile-devices/administration/029e74a599"
    assert "disabled" not in browser.get(edit).get_data(as_text=True).split('id="fks"')[1][:20]
    browser.submit("/telephony", {"internal_telephony": "1"})
    assert 'id="fks" disabled' in browser.get(edit).get_data(as_text=True)
    handset = browser.client.get("/api/status").get_json()["handsets"][0]
    assert handset["fks"] == {"supported": False, "active": False, "reason": "internal telephony enabled"}
