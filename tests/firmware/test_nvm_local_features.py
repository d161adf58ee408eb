"""Feature state the base keeps itself for handsets whose FKS is inactive: persisted, removed with them."""

from dect.identity import Ipui
from firmware.nvm import NvmStore
from sip.state import FeatureState, Forwarding

IPUI = Ipui.parse("029e74a599")


def test_kept_across_reopen_and_deleted_with_the_handset(tmp_path):
    path = tmp_path / "nvm.sqlite"
    state = FeatureState(dnd=True, cfna=Forwarding(active=True, to="3002", rings=4))
    with NvmStore(path) as store:
        store.add_handset(ipui=IPUI)
        assert store.local_features(IPUI) is None
        store.set_local_features(IPUI, state)
    with NvmStore(path) as store:
        assert store.local_features(IPUI) == state
        assert store.snapshot()["handsets"][0]["local_features"]["cfna"] == {"active": True, "to": "3002",
                                                                            "rings": 4}
        store.remove_handset(IPUI)
        store.add_handset(ipui=IPUI)
        assert store.local_features(IPUI) is None


def test_json_round_trip_of_feature_state():
    state = FeatureState(cfa=Forwarding(active=True, to="3000"), cfb=Forwarding(to="3001"))
    assert FeatureState.from_json(state.as_json()) == state
