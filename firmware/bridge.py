"""Translating between the handset's words (dect.proprietary feature settings) and the base's
(firmware.fks changes, sip.state feature state). One responsibility: these two mappings.

A handset's CFNA ring count of 0 means "not given" (the form left it empty): the server keeps its
own. Everything else is carried over as the handset sent it; whether it is valid for BroadWorks
(rings 0 or 2-20, feature-key-sync.md §3) is decided where the Set body is built.
"""

from __future__ import annotations

from dect.proprietary import DiversionSetting, DiversionType, DndSetting, FeatureSetting
from firmware.fks import FeatureChange
from sip.state import DEFAULT_RINGS, Feature, FeatureState

DIVERSION_FEATURE = {DiversionType.ALL: Feature.CFA, DiversionType.BUSY: Feature.CFB,
                     DiversionType.NO_ANSWER: Feature.CFNA}
FEATURE_DIVERSION = {feature: kind for kind, feature in DIVERSION_FEATURE.items()}


def change_from_setting(setting: FeatureSetting) -> FeatureChange:
    """What the handset asked for, as the FKS application's input."""
    if isinstance(setting, DndSetting):
        return FeatureChange(feature=Feature.DND, active=setting.active)
    feature = DIVERSION_FEATURE[setting.diversion]
    rings = setting.rings if feature is Feature.CFNA and setting.rings else None
    return FeatureChange(feature=feature, active=setting.active, to=setting.target or None, rings=rings)


def setting_for(state: FeatureState, feature: Feature) -> FeatureSetting:
    """The handset's view of one feature of `state`, for a feature indication."""
    if feature is Feature.DND:
        return DndSetting(active=state.dnd)
    fwd = getattr(state, feature.value)
    rings = (fwd.rings if fwd.rings is not None else DEFAULT_RINGS) if feature is Feature.CFNA else 0
    return DiversionSetting(diversion=FEATURE_DIVERSION[feature], active=fwd.active, target=fwd.to,
                            rings=rings)
