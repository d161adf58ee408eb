"""Issue 12 §5: the base keeps the state the server confirmed in its NVM, shows it after a reboot
until the server says otherwise, and re-sends a feature indication only when what the handset shows
changes; a resynchronisation is silent (no SIGNAL IE, no tone)."""

from __future__ import annotations

from sip.state import FeatureState, Forwarding
from support.worldkit import IPUI, dect, world

ON = FeatureState(dnd=True, cfa=Forwarding(active=True, to="3000"))


def _facilities(w, since: float) -> list[dict]:  # type: ignore[no-untyped-def]
    return [m for m in dect(w, name="FACILITY") if m["t"] >= since]


def test_the_server_state_is_in_the_nvm_and_survives_a_reboot_in_an_outage() -> None:
    w = world("N870", server_state=ON)
    w.run(until=5.0)
    index = w.store.handset(IPUI).index
    assert w.store.local_features(index) == ON   # what the server confirmed, persisted
    w.net.configure(loss=1.0)
    w.reboot()
    w.run(until=60.0)
    line = w.system.line_of(IPUI)
    assert line is not None and line.fks.state == ON
    assert w.handset_state(IPUI)["dnd"] is True
    resent = _facilities(w, since=5.0)
    # The handset closed both indications' CISS transactions before the reboot: nothing is sent again.
    assert resent == []


def test_a_locate_resends_only_what_the_handset_may_have_missed_and_silently() -> None:
    w = world("N870")
    w.run(until=3.0)
    assert _facilities(w, since=0.0) == []       # a first locate with nothing to tell sends nothing
    w.set_out_of_range(IPUI, True)
    w.run(until=4.0)
    w.portal("2001", {"dnd": True})
    w.run(until=6.0)
    missed = _facilities(w, since=4.0)
    # The link of the locate is still up (5 s): the indication goes out, into the void (the handset
    # left the range), and is never closed by it. No SIGNAL: a CISS message carries none.
    assert len(missed) == 1 and all(ie["name"] != "SIGNAL" for ie in missed[0]["ies"])
    w.set_out_of_range(IPUI, False)
    w.run(until=8.0)
    resent = _facilities(w, since=6.0)
    assert len(resent) == 1                      # DND only, not all four features
    assert all(ie["name"] != "SIGNAL" for ie in resent[0]["ies"])
    assert w.handset_state(IPUI)["dnd"] is True
