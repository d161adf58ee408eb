"""The base as a system, end to end: gating and local mode, runtime changes, provisioning, capacities,
roaming between DECT managers, reboot and power, out of range."""

import pytest

from dect.identity import Ipui
from firmware.nvm import RegStatus
from scenarios.world.world import World
from sip.state import FeatureState
from support.worldkit import DND_OFF, DND_ON, IPUI, MODELS, dect, fks_traffic, sip, world

PROVISIONING = """<?xml version="1.0" encoding="UTF-8"?>
<provisioning version="1.1" productID="e2">
  <nvm>
    <param name="SipAccount.029e74a599.FeatureKeySyncActive" value="1"/>
  </nvm>
</provisioning>
"""


@pytest.mark.parametrize("model", ["N610", "N670"])
def test_internal_telephony_gates_fks_off_and_the_base_keeps_features_itself(model):
    w = world(model, start=False)
    w.set_params({"Telephony.0.InternalTelephony": "1"}, "test")
    w.start()
    w.at(5, lambda: w.menu(IPUI, DND_ON))
    w.run(60)
    verdict = w.verdict(IPUI)
    assert (verdict.supported, verdict.active, verdict.reason) == (False, False, "internal telephony enabled")
    assert fks_traffic(w) == [], "no as-feature-event traffic while gated"
    assert w.handset_state(IPUI)["dnd"] is True, "kept locally by the base"
    assert w.server_state("2001")["dnd"] is False
    assert w.store.local_features(IPUI) == FeatureState(dnd=True)


@pytest.mark.parametrize("model", MODELS)
def test_fks_off_by_default_means_local_mode_and_no_fks_traffic(model):
    w = world(model, fks=False)
    w.at(5, lambda: w.menu(IPUI, DND_ON))
    w.at(7, lambda: w.portal("2001", {"cfa": {"active": True, "to": "3000"}}))
    w.run(30)
    assert w.verdict(IPUI).reason == "FeatureKeySyncActive=0"
    assert fks_traffic(w) == []
    assert sip(w, name="REGISTER"), "the account is still registered"
    assert w.handset_state(IPUI)["dnd"] is True and w.handset_state(IPUI)["cfa"]["active"] is False


@pytest.mark.parametrize("model", ["N610", "N670"])
def test_internal_telephony_switched_while_running(model):
    w = world(model)
    w.at(10, lambda: w.set_internal_telephony(True))
    w.at(20, lambda: w.set_internal_telephony(False))
    w.at(30, lambda: w.menu(IPUI, DND_ON))
    w.run(40)
    unsubscribes = [m for m in sip(w, name="SUBSCRIBE") if m.get("expires") == 0]
    assert unsubscribes and 10 <= unsubscribes[0]["t"] < 11
    resubscribes = [m for m in sip(w, name="SUBSCRIBE") if 20 <= m["t"] < 21 and m["body"] is None]
    assert resubscribes and resubscribes[0]["expires"] == 3600
    assert w.server_state("2001")["dnd"] is True and w.handset_state(IPUI)["dnd"] is True


@pytest.mark.parametrize("model", ["N870", "N870E", "embedded-integrator", "virtual-integrator"])
def test_internal_telephony_on_a_model_without_it_is_a_configuration_error(model):
    from models.errors import ConfigError

    w = world(model)
    with pytest.raises(ConfigError, match="Internal telephony"):
        w.set_internal_telephony(True)


def test_fks_enabled_by_provisioning_while_running():
    w = world(fks=False, server_state=FeatureState(dnd=True))
    w.at(10, lambda: w.provision(PROVISIONING, "provisioning.xml"))
    w.run(20)
    assert w.verdict(IPUI).active
    assert [m for m in sip(w, name="SUBSCRIBE") if m["t"] >= 10]
    assert w.handset_state(IPUI)["dnd"] is True, "the server's state reaches the handset"


def test_fks_enabled_by_the_web_interface_at_runtime():
    w = world(fks=False)
    w.at(10, lambda: w.set_feature_key_sync(IPUI, True))
    w.at(15, lambda: w.menu(IPUI, DND_ON))
    w.run(20)
    assert sip(w, name="SUBSCRIBE", body="SetDoNotDisturb") and w.server_state("2001")["dnd"] is True


def test_the_251st_handset_on_one_dect_manager_is_refused():
    w = World("N870")
    w.add_user("2001")
    with w.store.transaction():
        for n in range(250):
            w.store.add_handset(ipui=Ipui(emc=0x1234, psn=n), reg_status=RegStatus.REGISTERED)
    newcomer = Ipui(emc=0x1234, psn=999)
    w.add_handset(newcomer, "2001", registered=False)
    w.start()
    w.at(1, lambda: w.register(newcomer, "0000"))
    w.run(5)
    (reject,) = dect(w, name="ACCESS-RIGHTS-REJECT")
    assert "insufficient" in str(reject["ies"]).lower() or "memory" in str(reject["ies"]).lower()
    assert w.store.handset(newcomer) is None


def test_a_handset_registers_with_the_pin_and_a_wrong_pin_is_refused():
    w = World("N610")
    w.add_user("2001")
    a, b = Ipui.parse("0123456789"), Ipui.parse("0123456788")
    w.add_handset(a, "2001", registered=False)
    w.add_handset(b, "2001", registered=False)
    w.start()
    w.at(1, lambda: w.register(a, "0000"))
    w.at(1, lambda: w.register(b, "1234"))
    w.run(5)
    assert w.store.handset(a).reg_status is RegStatus.REGISTERED and w.store.handset(b) is None
    assert len(dect(w, name="ACCESS-RIGHTS-ACCEPT")) == 1 and len(dect(w, name="ACCESS-RIGHTS-REJECT")) == 1


@pytest.mark.parametrize("model", ["N870", "N870E", "embedded-integrator", "virtual-integrator"])
def test_roaming_moves_register_and_subscription_to_the_new_dect_manager(model):
    w = world(model, dect_managers=2, server_state=FeatureState(dnd=True))
    w.at(10, lambda: w.roam(IPUI, 2))
    w.at(20, lambda: w.menu(IPUI, DND_OFF))
    w.run(30)
    assert dect(w, name="LOCATE-REQUEST", to="dm2")
    assert sip(w, name="REGISTER", from_="dm2") and [m for m in sip(w, name="REGISTER", from_="dm1")
                                                     if m.get("expires") == 0]
    dm2_subscribes = sip(w, name="SUBSCRIBE", from_="dm2")
    assert dm2_subscribes and [m for m in sip(w, name="SUBSCRIBE", from_="dm1") if m.get("expires") == 0]
    assert sip(w, body="SetDoNotDisturb", from_="dm2")
    assert w.server_state("2001")["dnd"] is False and w.handset_state(IPUI)["dnd"] is False
    assert w.store.handset(IPUI).dect_manager == 2


def test_reboot_keeps_everything_persisted_and_resubscribes():
    w = world("N670", handsets=((IPUI, "2001"),), fks=False)
    w.at(5, lambda: w.menu(IPUI, DND_ON))           # kept locally by the base
    w.at(10, w.reboot)
    w.at(15, lambda: w.menu(IPUI, DND_OFF))         # base down: the handset cannot reach it
    w.run(15.5)
    assert "not available" in w.handset_display(IPUI).lower()
    w.run(60)
    assert w.handset_state(IPUI)["dnd"] is True
    registers = [m["t"] for m in sip(w, name="REGISTER")]
    assert any(t >= 40 for t in registers), "registered again after the boot time"
    assert w.store.local_features(IPUI) == FeatureState(dnd=True)


def test_power_off_and_on():
    w = world()
    w.at(5, w.power_off)
    w.at(100, w.power_on)
    w.at(110, lambda: w.menu(IPUI, DND_ON))
    w.run(120)
    assert not [m for m in sip(w) if 5 < m["t"] < 100]
    assert w.handset_state(IPUI)["dnd"] is True


def test_out_of_range_fails_locally_and_resynchronises_on_return():
    w = world()
    w.at(5, lambda: w.set_out_of_range(IPUI, True))
    w.at(6, lambda: w.menu(IPUI, DND_ON))
    w.at(7, lambda: w.portal("2001", {"dnd": True}))
    w.at(20, lambda: w.set_out_of_range(IPUI, False))
    w.run(6.5)
    assert "not available" in w.handset_display(IPUI).lower()
    assert not [m for m in dect(w) if m["t"] >= 6 and m["from"].startswith("handset")]
    w.run(30)
    assert w.handset_state(IPUI)["dnd"] is True, "the missed NOTIFY is made up for on return"


def test_a_profile_that_syncs_only_dnd_keeps_forwarding_on_the_base():
    from dataclasses import replace

    from models.profiles import FksFeature, Marked, Source, get_profile

    base = get_profile("N870")
    profile = replace(base, fks_features=Marked(frozenset({FksFeature.DND}), Source.CHOICE))
    w = World(profile)
    w.add_user("2001")
    w.add_handset(IPUI, "2001", feature_key_sync=True)
    w.start()
    w.at(5, lambda: w.menu(IPUI, DND_ON))
    w.at(10, lambda: w.menu(IPUI, ["Menu", "Select services", "Call divert", "All calls"],
                            {"Status": "On", "Number": "3000"}))
    w.run(20)
    assert sip(w, name="SUBSCRIBE", body="SetDoNotDisturb")
    assert not sip(w, name="SUBSCRIBE", body="SetForwarding")
    assert w.server_state("2001")["dnd"] is True and w.server_state("2001")["cfa"]["active"] is False
    assert w.handset_state(IPUI)["cfa"] == {"active": True, "to": "3000"}


DEREGISTER = """<?xml version="1.0" encoding="UTF-8"?>
<provisioning version="1.1" productID="e2">
  <nvm>
    <param name="hs.029e74a599.RegStatus" value="ToDeReg"/>
  </nvm>
</provisioning>
"""
NEW_PASSWORD = """<?xml version="1.0" encoding="UTF-8"?>
<provisioning version="1.1" productID="e2">
  <nvm>
    <param name="SipAccount.029e74a599.AuthPassword" value="changed"/>
    <param name="SipAccount.029e74a599.DisplayName" value="Front desk"/>
  </nvm>
</provisioning>
"""


def test_provisioning_a_deregistration_while_running_ends_registration_and_subscription():
    w = world()
    w.at(10, lambda: w.provision(DEREGISTER, "dereg.xml"))
    w.run(20)
    assert [m for m in sip(w, name="REGISTER") if m["t"] >= 10 and m.get("expires") == 0]
    assert [m for m in sip(w, name="SUBSCRIBE") if m["t"] >= 10 and m.get("expires") == 0]
    assert w.system.line_of(IPUI) is None and w.store.handset(IPUI) is None


def test_a_changed_password_registers_anew_and_fks_toggles_do_not():
    w = world()
    w.at(10, lambda: w.set_feature_key_sync(IPUI, False))
    w.at(15, lambda: w.set_feature_key_sync(IPUI, True))
    w.run(20)
    assert not [m for m in sip(w, name="REGISTER") if m["t"] >= 10], "FKS on/off does not re-register"
    w.at(21, lambda: w.provision(NEW_PASSWORD, "password.xml"))
    w.run(30)
    new_registers = [m for m in sip(w, name="REGISTER") if m["t"] >= 21]
    assert len({m["call_id"] for m in new_registers}) == 2, "the old binding removed, a new one made"
    assert w.system.line_of(IPUI).account.display_name == "Front desk"


def test_a_virtual_integrator_with_100_dect_managers_serves_a_handset_on_the_last():
    w = World("virtual-integrator", dect_managers=100)
    w.add_user("2001")
    w.add_handset(IPUI, "2001", feature_key_sync=True, dect_manager=100)
    w.start()
    w.at(5, lambda: w.menu(IPUI, DND_ON))
    w.run(10)
    assert sip(w, name="REGISTER", from_="dm100") and w.handset_state(IPUI)["dnd"] is True


def test_a_dect_manager_forgets_an_account_that_roamed_away_once_its_last_transaction_is_over():
    w = world("N870", dect_managers=2)
    w.at(10, lambda: w.roam(IPUI, 2))
    w.run(12)
    old = w.system.dms[1]
    assert old._retired, "the un-REGISTER and unsubscribe are still under way"
    w.run(200)
    assert old._retired == [] and old._by_call_id == {}
    # A late NOTIFY in the old dialog now finds no dialog there: 481, as for any stray request.
    assert w.handset_state(IPUI) == w.server_state("2001")
