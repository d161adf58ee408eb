"""Every flow of feature-key-sync.md §2 end to end on every model, through the handset's menu and display.

Each test drives the emulated handset with menu paths (or the server through its portal and a desk
phone dialling codes), then reads what the handset shows, what the server holds, and what went over
the air and the network.
"""

import pytest

from sip.state import FeatureState, Forwarding
from support.worldkit import DIVERT, DND_ON, IPUI, IPUI2, MODELS, dect, sip, world

pytestmark = pytest.mark.parametrize("model", MODELS)


def test_subscribe_brings_the_full_state_to_the_handset(model):
    server = FeatureState(dnd=True, cfb=Forwarding(active=True, to="3001"))
    w = world(model, server_state=server)
    w.run(5)
    subscribes = sip(w, method="SUBSCRIBE", status=None, event="as-feature-event")
    assert subscribes and subscribes[0]["expires"] == 3600
    (notify,) = sip(w, name="NOTIFY")
    assert notify["body"] == "DoNotDisturbEvent, ForwardingEvent, ForwardingEvent, ForwardingEvent"
    assert notify["subscription_state"].startswith("active;expires=")
    assert w.handset_state(IPUI) == server.as_json()


def test_refresh_in_the_same_dialog_brings_the_full_state_again(model):
    w = world(model)
    w.run(3700)
    subscribes = sip(w, name="SUBSCRIBE")
    accepted = [m for m in subscribes if m["body"] is None]
    assert len({m["call_id"] for m in accepted}) == 1, "the refresh stays in the dialog"
    refresh_time = accepted[-1]["t"]
    assert 3000 < refresh_time < 3600
    full = [m for m in sip(w, name="NOTIFY") if m["body"].count(",") == 3]
    assert len(full) == 2 and full[1]["t"] > refresh_time


def test_dnd_from_the_handset_menu_reaches_the_server_and_comes_back(model):
    w = world(model)
    w.at(5, lambda: w.menu(IPUI, DND_ON))
    w.run(5.005)
    assert "pending" in w.handset_display(IPUI).lower() or w.handset(IPUI).pending
    assert w.handset_state(IPUI)["dnd"] is False, "never optimistic"
    w.run(10)
    sets = sip(w, name="SUBSCRIBE", body="SetDoNotDisturb")
    assert sets and all(m["call_id"] == sets[0]["call_id"] for m in sets)
    assert sip(w, name="NOTIFY", body="DoNotDisturbEvent")
    assert w.server_state("2001")["dnd"] is True
    assert w.handset_state(IPUI)["dnd"] is True
    assert w.handset_display(IPUI).endswith("Do not disturb\nOn")
    assert dect(w, name="CISS-REGISTER", from_=f"handset:{IPUI}")


@pytest.mark.parametrize(
    ("entry", "form", "feature", "expected"),
    [
        ("All calls", {"Status": "On", "Number": "3000"}, "cfa", {"active": True, "to": "3000"}),
        ("When busy", {"Status": "On", "Number": "3001"}, "cfb", {"active": True, "to": "3001"}),
        ("No answer", {"Status": "On", "Number": "3002", "Rings": 4}, "cfna",
         {"active": True, "to": "3002", "rings": 4}),
    ],
)
def test_call_divert_forms_reach_the_server(model, entry, form, feature, expected):
    w = world(model)
    w.at(5, lambda: w.menu(IPUI, [*DIVERT, entry], form))
    w.run(10)
    assert sip(w, name="SUBSCRIBE", body="SetForwarding")
    assert w.server_state("2001")[feature] == expected
    assert w.handset_state(IPUI)[feature] == expected


def test_cfna_off_keeps_the_number(model):
    w = world(model, server_state=FeatureState(cfna=Forwarding(active=True, to="3002", rings=4)))
    w.at(5, lambda: w.menu(IPUI, [*DIVERT, "No answer"], {"Status": "Off"}))
    w.run(10)
    assert w.server_state("2001")["cfna"] == {"active": False, "to": "3002", "rings": 4}
    assert w.handset_state(IPUI)["cfna"]["active"] is False


def test_portal_change_notifies_only_that_feature(model):
    w = world(model)
    w.at(5, lambda: w.portal("2001", {"cfa": {"active": True, "to": "3000"}}))
    w.run(10)
    notifies = sip(w, name="NOTIFY")
    assert notifies[-1]["body"] == "ForwardingEvent" and notifies[-1]["t"] >= 5
    assert w.handset_state(IPUI)["cfa"] == {"active": True, "to": "3000"}
    assert "3000" in w.handset_display(IPUI)


def test_fac_from_another_device_reaches_the_handset(model):
    w = world(model)
    w.at(5, lambda: w.fac("2001", "*78"))
    w.at(10, lambda: w.fac("2001", "*723000"))
    w.run(15)
    assert w.server_state("2001")["dnd"] is True
    assert w.handset_state(IPUI)["dnd"] is True
    assert w.handset_state(IPUI)["cfa"] == {"active": True, "to": "3000"}
    assert not sip(w, name="SUBSCRIBE", body="SetDoNotDisturb"), "a NOTIFY never becomes a Set request"


def test_fac_dialled_on_the_handset_is_a_call_to_the_server(model):
    w = world(model)
    w.at(5, lambda: w.dial(IPUI, "*78"))
    w.run(10)
    invites = sip(w, name="INVITE", from_="base")
    assert invites and invites[-1]["t"] >= 5
    assert dect(w, name="CC-SETUP") and dect(w, name="CC-CONNECT")
    assert w.server_state("2001")["dnd"] is True and w.handset_state(IPUI)["dnd"] is True


def test_two_handsets_of_the_same_user_both_follow(model):
    w = world(model, handsets=((IPUI, "2001"), (IPUI2, "2001")))
    w.at(5, lambda: w.menu(IPUI, DND_ON))
    w.run(10)
    assert w.handset_state(IPUI)["dnd"] is True and w.handset_state(IPUI2)["dnd"] is True
    (set_request,) = [m for m in sip(w, name="SUBSCRIBE", body="SetDoNotDisturb") if m.get("status") is None][-1:]
    notifies = [m for m in sip(w, name="NOTIFY", body="DoNotDisturbEvent") if m["t"] >= 5]
    assert len({m["call_id"] for m in notifies}) == 2, "one NOTIFY per subscription of the user"
    assert set_request


def test_switching_fks_off_unsubscribes_and_the_base_keeps_the_state(model):
    w = world(model, server_state=FeatureState(dnd=True))
    w.at(5, lambda: w.set_feature_key_sync(IPUI, False))
    w.at(10, lambda: w.menu(IPUI, ["Menu", "Select services", "Do not disturb", "Off"]))
    w.run(15)
    unsubscribe = [m for m in sip(w, name="SUBSCRIBE") if m.get("expires") == 0]
    assert unsubscribe
    terminated = [m for m in sip(w, name="NOTIFY") if m["subscription_state"].startswith("terminated")]
    assert terminated
    # Local mode: the request is applied by the base at once and no Set goes to the server.
    assert w.handset_state(IPUI)["dnd"] is False
    assert not sip(w, name="SUBSCRIBE", body="SetDoNotDisturb")
    assert w.server_state("2001")["dnd"] is True


def test_interrogating_a_forwarding_shows_the_answer(model):
    w = world(model, server_state=FeatureState(cfa=Forwarding(active=True, to="3000")))
    w.at(5, lambda: w.dial(IPUI, "*21*"))
    w.run(10)
    assert dect(w, name="CC-CONNECT") and "3000" in w.handset_display(IPUI)


def test_keys_a_request_uri_cannot_carry_are_refused_without_a_call(model):
    from dect.codec import MessageType, Side, encode, message
    from dect.ies import BasicService, SendingComplete
    from dect.ies_var import MultiKeypad, PortableIdentity

    w = world(model)
    w.run(5)
    setup = message(MessageType.CC_SETUP, PortableIdentity.of(IPUI), w.system.fixed_identity(1), BasicService(),
                    MultiKeypad(keys="*7\x15"), SendingComplete(), tv=3)
    w.at(6, lambda: w.send(w.system.receive_dect(w.now, 1, str(IPUI), encode(setup, sender=Side.PP))))
    w.run(8)
    assert dect(w, name="CC-RELEASE-COM") and not [m for m in sip(w, name="INVITE") if m["t"] >= 6]
