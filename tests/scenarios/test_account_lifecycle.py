"""An account's life cycle end to end (issue 12 §2): registration first, the subscription follows the
registration, roaming registers at the new DECT manager before the old binding goes."""

from dect.identity import Ipui
from scenarios.world.world import dm_address
from support.worldkit import DND_ON, IPUI, sip, world


def _requests(w, method, **match):  # type: ignore[no-untyped-def]
    return [m for m in sip(w, method=method, status=None, **match)]


def test_no_register_success_no_subscribe():
    w = world(start=False)
    w.configure_server(reject={"REGISTER": 403})
    w.start()
    w.at(10, lambda: w.menu(IPUI, DND_ON))
    w.run(300)
    assert [m["status"] for m in sip(w, method="REGISTER") if m["status"]] == [401, 403]
    assert not sip(w, method="SUBSCRIBE")
    assert "unavailable" in w.handset_display(IPUI) and w.handset_state(IPUI)["dnd"] is False


def test_every_subscribe_follows_a_register_2xx():
    w = world()
    w.run(5)
    first_ok = min(m["t"] for m in sip(w, method="REGISTER", status=200))
    assert min(m["t"] for m in _requests(w, "SUBSCRIBE")) > first_ok


def test_registration_lost_ends_the_subscription_and_regained_recreates_it():
    w = world(start=False)
    w.set_params({"SipProvider.1.RegServerRefreshTimer": "120"}, "test")
    w.start()
    w.at(30, lambda: w.configure_server(reject={"REGISTER": 403}))
    w.run(100)
    line = w.system.line_of(IPUI)
    assert line is not None and not line.registered and line.fks.fks.value == "unavailable"
    unsubscribes = [m for m in _requests(w, "SUBSCRIBE") if m["expires"] == 0]
    assert len(unsubscribes) == 1 and 60 < unsubscribes[0]["t"] < 61
    # Regained: the REGISTER after the 403 back-off (3600 s) gets 200 and a new subscription follows.
    w.at(200, lambda: w.configure_server(reject={}))
    w.run(3800)
    assert line.registered and line.fks.fks.value == "synced"
    call_ids = {m["call_id"] for m in _requests(w, "SUBSCRIBE")}
    assert len(call_ids) == 2, "the subscription is a new dialog"
    w.at(3801, lambda: w.menu(IPUI, DND_ON))
    w.run(3810)
    assert w.handset_state(IPUI)["dnd"] is True and w.server_state("2001")["dnd"] is True


def test_roaming_registers_at_the_new_dect_manager_before_removing_the_old_binding():
    w = world(dect_managers=2)
    w.run(5)
    w.at(10, lambda: w.roam(IPUI, 2))
    w.run(20)
    later = [m for m in sip(w, method="REGISTER") if m["t"] >= 10]
    new_register = [m for m in later if m["from"] == "dm2" and m["status"] is None]
    new_ok = [m for m in later if m["to"] == "dm2" and m["status"] == 200]
    old_removal = [m for m in later if m["from"] == "dm1" and m["status"] is None]
    assert new_register and new_ok and len(old_removal) == 1 and old_removal[0]["expires"] == 0
    assert new_register[0]["t"] < new_ok[0]["t"] < old_removal[0]["t"]
    new_subscribe = [m for m in _requests(w, "SUBSCRIBE") if m["from"] == "dm2"]
    assert new_subscribe and new_subscribe[0]["t"] > new_ok[0]["t"]
    assert [m["expires"] for m in _requests(w, "SUBSCRIBE", from_="dm1") if m["t"] >= 10] == [0]


def test_roaming_back_before_the_hand_over_ended_keeps_one_binding():
    w = world(dect_managers=2, handsets=((IPUI, "2001"), (Ipui.parse("029e74a5a0"), "2002")),
              users=("2001", "2002"))
    w.run(5)
    w.at(10, lambda: w.roam(IPUI, 2))
    w.at(10.02, lambda: w.roam(IPUI, 1))
    w.run(30)
    line = w.system.line_of(IPUI)
    assert line is not None and line.registered and line.fks.fks.value == "synced"
    (binding,) = w.server.registrar.bindings("2001", w.now)
    assert binding.source == dm_address(1)
