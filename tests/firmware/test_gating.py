"""The FKS gating matrix: every model x internal telephony on/off x the per-handset flag."""

from __future__ import annotations

import itertools

import pytest

from dect.identity import Ipui
from firmware.gating import (
    REASON_FLAG_OFF,
    REASON_INTERNAL_TELEPHONY,
    FksVerdict,
    base_verdict,
    check_internal_telephony,
    fks_verdict,
    handset_verdict,
    set_internal_telephony,
)
from firmware.nvm import Account, NvmError, NvmStore
from models.errors import ConfigError
from models.profiles import get_profile, load_profiles

ALL_IDS = ("N610", "N670", "N870", "N870E", "embedded-integrator", "virtual-integrator")
WITH_SETTING = {"N610", "N670"}

SUPPORTED_ACTIVE = FksVerdict(supported=True, active=True, reason=None)
SUPPORTED_OFF = FksVerdict(supported=True, active=False, reason="FeatureKeySyncActive=0")
GATED = FksVerdict(supported=False, active=False, reason="internal telephony enabled")


def _expected(model_id: str, internal_telephony: bool, flag: bool) -> FksVerdict | type[ConfigError]:
    if internal_telephony and model_id not in WITH_SETTING:
        return ConfigError
    if internal_telephony:
        return GATED
    return SUPPORTED_ACTIVE if flag else SUPPORTED_OFF


@pytest.mark.parametrize(
    ("model_id", "internal_telephony", "flag"), list(itertools.product(ALL_IDS, (False, True), (False, True)))
)
def test_matrix(model_id, internal_telephony, flag):
    profile = get_profile(model_id)
    expected = _expected(model_id, internal_telephony, flag)
    if expected is ConfigError:
        with pytest.raises(ConfigError, match=rf'{model_id} has no "Internal telephony" setting'):
            fks_verdict(profile, internal_telephony=internal_telephony, feature_key_sync_active=flag)
    else:
        assert fks_verdict(profile, internal_telephony=internal_telephony, feature_key_sync_active=flag) == expected


def test_matrix_covers_all_shipped_models():
    assert load_profiles().ids == ALL_IDS


def test_reason_texts_are_the_documented_ones():
    assert REASON_INTERNAL_TELEPHONY == "internal telephony enabled"
    assert REASON_FLAG_OFF == "FeatureKeySyncActive=0"


@pytest.mark.parametrize("model_id", ALL_IDS)
def test_disabling_internal_telephony_is_always_allowed(model_id):
    check_internal_telephony(get_profile(model_id), False)
    assert base_verdict(get_profile(model_id), internal_telephony=False).supported


def test_base_verdict_ignores_handset_flag():
    assert base_verdict(get_profile("N670"), internal_telephony=True) == GATED


def test_verdict_invariants():
    with pytest.raises(ValueError):
        FksVerdict(supported=False, active=True, reason=None)
    with pytest.raises(ValueError):
        FksVerdict(supported=True, active=False, reason=None)
    with pytest.raises(ValueError):
        FksVerdict(supported=True, active=True, reason="why")


def test_handset_verdict_reads_the_store():
    ipui = Ipui.parse("029e74a599")
    n670 = get_profile("N670")
    with NvmStore() as store:
        with pytest.raises(NvmError, match="no handset 029e74a599"):
            handset_verdict(n670, store, ipui)
        store.add_handset(ipui=ipui)
        assert handset_verdict(n670, store, ipui) == SUPPORTED_OFF  # no account: the default, 0
        store.put_account(ipui, Account(feature_key_sync_active=True))
        assert handset_verdict(n670, store, 1) == SUPPORTED_ACTIVE
        store.set_internal_telephony(True)
        assert handset_verdict(n670, store, ipui) == GATED
        # A store that claims internal telephony on a model without the setting is a config error.
        with pytest.raises(ConfigError):
            handset_verdict(get_profile("N870"), store, ipui)


def test_set_internal_telephony_refuses_models_without_the_setting():
    with NvmStore() as store:
        set_internal_telephony(get_profile("N610"), store, True)
        assert store.internal_telephony
        set_internal_telephony(get_profile("N870"), store, False)
        assert not store.internal_telephony
        with pytest.raises(ConfigError, match='embedded-integrator has no "Internal telephony" setting'):
            set_internal_telephony(get_profile("embedded-integrator"), store, True)
        assert not store.internal_telephony
