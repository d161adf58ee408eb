"""The handset's feature settings and the base's feature changes/state, both ways."""

from dect.proprietary import DiversionSetting, DiversionType, DndSetting
from firmware.bridge import change_from_setting, setting_for
from firmware.fks import FeatureChange
from sip.state import Feature, FeatureState, Forwarding


def test_dnd_both_ways():
    assert change_from_setting(DndSetting(active=True)) == FeatureChange(feature=Feature.DND, active=True)
    assert setting_for(FeatureState(dnd=True), Feature.DND) == DndSetting(active=True)


def test_diversions_both_ways():
    cfna = DiversionSetting(diversion=DiversionType.NO_ANSWER, active=True, target="3002", rings=4)
    assert change_from_setting(cfna) == FeatureChange(feature=Feature.CFNA, active=True, to="3002", rings=4)
    off = DiversionSetting(diversion=DiversionType.BUSY, active=False)
    assert change_from_setting(off) == FeatureChange(feature=Feature.CFB, active=False, to=None, rings=None)
    state = FeatureState(cfa=Forwarding(active=True, to="3000"), cfna=Forwarding(to="3002", rings=None))
    assert setting_for(state, Feature.CFA) == DiversionSetting(diversion=DiversionType.ALL, active=True,
                                                               target="3000")
    assert setting_for(state, Feature.CFNA).rings == 3  # the default when the server never said


def test_zero_rings_means_not_given():
    cfna = DiversionSetting(diversion=DiversionType.NO_ANSWER, active=True, target="3002", rings=0)
    assert change_from_setting(cfna).rings is None
