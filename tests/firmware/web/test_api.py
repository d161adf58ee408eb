"""`/api/status` (scenarios-and-cli.md §1) and the virtual-handset page and endpoints.

The virtual handsets need a running base: against a `StoreBackend` they answer "not running"; a
`LiveLike` backend below drives real `dect.menu` navigators, as the live runtime drives its emulated
handsets, to check that the page and the endpoints carry keys and displays both ways.
"""

from __future__ import annotations

import html
from typing import Any

import pytest
from ruamel.yaml import YAML

from dect.identity import Ipui
from dect.menu import Navigator
from firmware.web import HandsetRuntime, RuntimeView, StoreBackend
from models.handset_types import get_handset_type

FEATURES = {
    "dnd": True,
    "cfa": {"active": False, "to": ""},
    "cfb": {"active": True, "to": "3001"},
    "cfna": {"active": False, "to": "", "rings": 3},
}


def test_api_status_shape_when_not_running(make_base, kit):
    base = make_base("N670")
    base.add_handset(kit.ipui_a, fks=True)
    data = base.admin().client.get("/api/status").get_json()
    assert data["version"] == 1
    assert data["model"] == {
        "id": "N670",
        "name": base.backend.profile.name,
        "system_type": base.backend.profile.system_type.value.value,
        "firmware_version": base.backend.profile.firmware_version.value,
        "roles": list(base.backend.profile.roles.value),
        "has_internal_telephony_setting": True,
        "fks_features": ["dnd", "cfa", "cfb", "cfna"],
        "max_handsets": base.backend.profile.capacities.per_system.handsets.value,
    }
    assert data["running"] is False
    assert data["server"] is None
    assert data["internal_telephony"] is False
    assert data["fks"] == {"supported": True, "reason": None}
    assert data["counts"] == {"handsets": 1, "registered": 1, "fks_active": 1}
    assert data["handsets"] == [
        {
            "index": 1,
            "ipui": "029e74a599",
            "user_name": "2001",
            "display_name": "User 2001",
            "dect_manager": 1,
            "reg_status": "Registered",
            "dect": "not running",
            "fks": {"supported": True, "active": True, "reason": None},
            "sip": {"registration": "not running", "subscription": "not running"},
            "features": None,
            "handset_type": None,
            "handset_firmware": None,
        }
    ]


def test_api_status_carries_the_runtime_state(make_base, kit):
    runtime = RuntimeView(
        running=True,
        server="127.0.0.1:5070 (embedded)",
        handsets={
            kit.ipui_a: HandsetRuntime(
                dect="attached to DECT manager 1",
                sip_registration="registered",
                subscription="active",
                features=FEATURES,
                handset_type="S650H PRO",
            )
        },
    )
    base = make_base("N870", runtime=lambda: runtime)
    base.add_handset(kit.ipui_a, fks=True)
    base.add_handset(kit.ipui_b, fks=False, user="2002")
    data = base.admin().client.get("/api/status").get_json()
    assert data["running"] is True
    assert data["server"] == "127.0.0.1:5070 (embedded)"
    assert data["internal_telephony"] is None  # N870 has no such setting
    first, second = data["handsets"]
    assert first["sip"] == {"registration": "registered", "subscription": "active"}
    assert first["features"] == FEATURES
    assert first["dect"] == "attached to DECT manager 1"
    assert first["handset_type"] == "S650H PRO"
    assert second["fks"] == {"supported": True, "active": False, "reason": "FeatureKeySyncActive=0"}
    assert second["features"] is None
    assert data["counts"]["fks_active"] == 1


def test_api_status_shows_the_gated_verdict(make_base, kit):
    base = make_base("N610")
    base.add_handset(kit.ipui_a, fks=True)
    base.store.set_internal_telephony(True)
    data = base.admin().client.get("/api/status").get_json()
    assert data["fks"] == {"supported": False, "reason": "internal telephony enabled"}
    assert data["handsets"][0]["fks"] == {
        "supported": False,
        "active": False,
        "reason": "internal telephony enabled",
    }


def test_status_page_shows_model_counts_and_fks(make_base, kit):
    base = make_base("N610")
    base.add_handset(kit.ipui_a, fks=True)
    text = html.unescape(base.admin().get("/status").get_data(as_text=True))
    assert base.backend.profile.name in text
    assert base.backend.profile.firmware_version.value in text
    assert "single-cell" in text
    assert "1 of 20" in text
    assert "supported" in text
    assert "DND, CFA, CFB, CFNA" in text


# --- virtual handsets ------------------------------------------------------------------------------


def test_virtual_handsets_say_not_running_on_a_store_backend(base, kit):
    base.add_handset(kit.ipui_a)
    browser = base.admin()
    text = html.unescape(browser.get("/handsets").get_data(as_text=True))
    assert "needs the running twin: start the base with `fksim serve --model N870`" in text
    assert 'class="keypad"' not in text
    response = browser.client.get("/api/handsets/029e74a599/screen")
    assert response.status_code == 503
    assert "needs the running twin" in response.get_json()["error"]
    response = browser.client.post(
        "/api/handsets/029e74a599/keys", json={"key": "MENU"}, headers={"X-CSRFToken": browser.token}
    )
    assert response.status_code == 503
    response = browser.submit("/handsets/recording/start", {}, page="/handsets")
    assert response.status_code == 503
    assert "Recording a scenario needs the running twin" in response.get_data(as_text=True)


class LiveLike(StoreBackend):
    """A backend with running handsets: one `dect.menu.Navigator` per registered handset."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.navigators: dict[Ipui, Navigator] = {}
        self.recorded: list[tuple[Ipui, str]] | None = None

    def _navigator(self, ipui: Ipui) -> Navigator:
        if self.store.handset(ipui) is None:
            raise KeyError(ipui)
        if ipui not in self.navigators:
            self.navigators[ipui] = Navigator(
                get_handset_type(), form_values=lambda form: {}, info_lines=list
            )
        return self.navigators[ipui]

    def handset_screen(self, ipui: Ipui) -> dict[str, Any]:
        navigator = self._navigator(ipui)
        return {"lines": navigator.lines() or ["Idle", navigator.dial_buffer]}

    def press_key(self, ipui: Ipui, key: str) -> dict[str, Any]:
        self._navigator(ipui).press(key)
        if self.recorded is not None:
            self.recorded.append((ipui, key))
        return self.handset_screen(ipui)

    def recording(self) -> bool:
        return self.recorded is not None

    def start_recording(self) -> None:
        self.recorded = []

    def stop_recording(self) -> str:
        import io

        keys = self.recorded or []
        self.recorded = None
        doc = {
            "scenario": "recorded in the web interface",
            "models": [self.profile.id],
            "steps": [
                {"at": f"{n}s", "handset": str(ipui), "keys": [key]} for n, (ipui, key) in enumerate(keys, 1)
            ],
        }
        out = io.StringIO()
        YAML().dump(doc, out)
        return out.getvalue()


@pytest.fixture
def live(make_base, kit):
    base = make_base("N870", backend_class=LiveLike)
    base.add_handset(kit.ipui_a)
    return base


def test_virtual_handset_page_shows_display_and_every_key(live):
    text = html.unescape(live.admin().get("/handsets").get_data(as_text=True))
    assert 'id="hs-029e74a599"' in text
    assert "Idle" in text
    for key in ("MENU", "UP", "DOWN", "LEFT", "RIGHT", "OK", "BACK", "END", "TALK", "0", "9", "*", "#"):
        assert f'name="key" value="{key}"' in text
    assert "handset.js" in text
    assert "● Record a scenario" in text


def test_pressing_keys_through_the_json_endpoint_moves_the_menu(live):
    browser = live.admin()
    browser.get("/handsets")
    headers = {"X-CSRFToken": browser.token}
    response = browser.client.post("/api/handsets/029e74a599/keys", json={"key": "MENU"}, headers=headers)
    assert response.status_code == 200
    assert response.get_json()["lines"][0] == "Menu"
    response = browser.client.post("/api/handsets/029e74a599/keys", json={"key": "ok"}, headers=headers)
    assert response.get_json()["lines"][:2] == ["Select services", "> Do not disturb"]
    screen = browser.client.get("/api/handsets/029e74a599/screen").get_json()
    assert screen["lines"][0] == "Select services"


def test_pressing_a_key_with_the_plain_form_works_without_javascript(live):
    browser = live.admin()
    response = browser.submit("/handsets/029e74a599/keys", {"key": "MENU"}, page="/handsets")
    assert response.status_code == 302
    assert response.headers["Location"] == "/handsets#hs-029e74a599"
    assert "&gt; Select services" in browser.get("/handsets").get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        ("/api/handsets/029e74a599/keys", {"key": "SELF-DESTRUCT"}, 400, 'unknown key "SELF-DESTRUCT"'),
        ("/api/handsets/029e74a599/keys", {"keys": "OK"}, 400, 'expected a JSON body {"key": "OK"}'),
        ("/api/handsets/029e74a599/keys", ["OK"], 400, 'expected a JSON body {"key": "OK"}'),
        ("/api/handsets/nonsense/keys", {"key": "OK"}, 400, "is not an IPUI"),
    ],
)
def test_bad_key_requests_get_a_json_error(live, path, body, status, message):
    browser = live.admin()
    browser.get("/handsets")
    response = browser.client.post(path, json=body, headers={"X-CSRFToken": browser.token})
    assert response.status_code == status
    assert message in response.get_json()["error"]
    assert all(n.lines() is None for n in live.backend.navigators.values())  # no key reached a handset


def test_recording_saves_the_pressed_keys_as_a_scenario_file(live):
    browser = live.admin()
    browser.submit("/handsets/recording/start", {}, page="/handsets")
    assert "● recording" in browser.get("/handsets").get_data(as_text=True)
    headers = {"X-CSRFToken": browser.token}
    for key in ("MENU", "OK", "OK"):
        browser.client.post("/api/handsets/029e74a599/keys", json={"key": key}, headers=headers)
    response = browser.submit("/handsets/recording/stop", {}, page="/handsets")
    assert response.status_code == 200
    assert response.mimetype == "application/yaml"
    assert response.headers["Content-Disposition"] == 'attachment; filename="recorded-scenario.yaml"'
    scenario = YAML(typ="safe").load(response.get_data(as_text=True))
    assert scenario["models"] == ["N870"]
    assert [s["keys"] for s in scenario["steps"]] == [["MENU"], ["OK"], ["OK"]]
    assert {s["handset"] for s in scenario["steps"]} == {"029e74a599"}
    assert "● Record a scenario" in browser.get("/handsets").get_data(as_text=True)
