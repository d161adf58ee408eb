"""Model profiles: the shipped files load, carry their source marks, and broken files fail clearly."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.errors import ConfigError
from models.profiles import PROFILE_DIR, FksFeature, Marked, Source, SystemType, get_profile, load_profiles

ALL_IDS = ("N610", "N670", "N870", "N870E", "embedded-integrator", "virtual-integrator")


def test_all_six_models_load_in_spec_order():
    assert load_profiles().ids == ALL_IDS


def test_load_is_cached():
    assert load_profiles() is load_profiles()


@pytest.mark.parametrize("model_id", [*ALL_IDS, "n610", "N870e", "Virtual-Integrator", " n670 "])
def test_ids_are_case_insensitive(model_id):
    assert get_profile(model_id).id.casefold() == model_id.strip().casefold()


def test_unknown_model_lists_valid_ids():
    with pytest.raises(ConfigError) as err:
        get_profile("N720")
    assert '"N720"' in str(err.value)
    for model_id in ALL_IDS:
        assert model_id in str(err.value)


def test_documented_facts_keep_their_marks():
    n870 = get_profile("N870")
    dm = n870.capacities.per_dect_manager
    assert (dm.bases.value, dm.handsets.value) == (60, 250)
    assert dm.parallel_channels is not None and dm.parallel_channels.value == 60
    assert {dm.bases.source, dm.handsets.source} == {Source.FACT}
    calls = n870.capacities.per_base.parallel_calls
    assert (calls.g711.value, calls.g729.value, calls.g722.value) == (10, 8, 5)
    as_dm = n870.capacities.per_base.parallel_calls_as_dect_manager
    assert as_dm is not None and (as_dm.g711.value, as_dm.g729.value, as_dm.g722.value) == (8, 5, 5)


def test_estimates_are_marked_as_such():
    assert get_profile("N610").capacities.per_system.handsets == Marked(20, Source.LIKELY)
    vi = get_profile("virtual-integrator").capacities.per_system
    assert (vi.dect_managers.value, vi.bases.value, vi.handsets.value) == (100, 6000, 20000)
    assert vi.handsets.source is Source.LIKELY and vi.bases.source is Source.FACT
    ei = get_profile("embedded-integrator").capacities.per_system
    assert (ei.dect_managers.value, ei.handsets.value) == (10, 1000)
    assert ei.dect_managers.source is Source.CHOICE and ei.handsets.source is Source.CHOICE


def test_internal_telephony_setting_only_on_n610_and_n670():
    having = {p.id for p in load_profiles() if p.has_internal_telephony_setting.value}
    assert having == {"N610", "N670"}


def test_every_model_syncs_all_four_features_by_default():
    for profile in load_profiles():
        assert profile.fks_features.value == frozenset(FksFeature)
        assert profile.firmware_version.value


def test_integrators_take_member_capacities_from_n870():
    n870 = get_profile("N870")
    for model_id in ("embedded-integrator", "virtual-integrator"):
        profile = get_profile(model_id)
        assert profile.is_integrator and profile.member_model == "N870"
        assert profile.system_type.value is SystemType.INTEGRATOR
        assert profile.capacities.per_dect_manager == n870.capacities.per_dect_manager
        assert profile.capacities.per_base == n870.capacities.per_base
    assert get_profile("virtual-integrator").radio.value is False


def test_single_cell_is_not_multicell():
    assert not get_profile("N610").multicell
    assert all(get_profile(m).multicell for m in ALL_IDS[1:])


def test_profiles_are_frozen():
    profile = get_profile("N610")
    with pytest.raises(AttributeError):
        profile.name = "x"  # type: ignore[misc]


# --- broken files -------------------------------------------------------------------------------


def _copy_profiles(tmp_path: Path, only: tuple[str, ...] = ("n870",)) -> Path:
    for stem in only:
        (tmp_path / f"{stem}.yaml").write_text((PROFILE_DIR / f"{stem}.yaml").read_text())
    return tmp_path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def _break(tmp_path: Path, old: str, new: str, stem: str = "n870") -> Path:
    folder = _copy_profiles(tmp_path, (stem,))
    path = folder / f"{stem}.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


def test_wrong_type_names_file_line_and_field(tmp_path):
    path = _break(tmp_path, "g711: {value: 10, source: fact}", "g711: {value: ten, source: fact}")
    with pytest.raises(ConfigError) as err:
        load_profiles(tmp_path)
    message = str(err.value)
    assert f"{path}:{_line_of(path, 'value: ten')}:" in message
    assert "capacities.per_base.parallel_calls.g711.value" in message
    assert "positive integer" in message


def test_bad_source_mark(tmp_path):
    path = _break(tmp_path, "bases: {value: 60, source: fact}", "bases: {value: 60, source: rumour}")
    with pytest.raises(ConfigError) as err:
        load_profiles(tmp_path)
    assert f"{path}:{_line_of(path, 'rumour')}:" in str(err.value)
    assert 'per_dect_manager.bases.source: "rumour" is not one of fact' in str(err.value)


def test_number_without_source_is_refused(tmp_path):
    _break(tmp_path, "handsets: {value: 250, source: fact}", "handsets: 250")
    with pytest.raises(ConfigError, match=r"per_dect_manager\.handsets: expected a mapping"):
        load_profiles(tmp_path)


def test_missing_field(tmp_path):
    _break(tmp_path, "firmware_version:", "firmware_versio:")
    with pytest.raises(ConfigError, match="firmware_version: missing"):
        load_profiles(tmp_path)


def test_unknown_key(tmp_path):
    path = _break(tmp_path, "radio:", "colour: blue\nradio:")
    with pytest.raises(ConfigError) as err:
        load_profiles(tmp_path)
    assert f"{path}:{_line_of(path, 'colour')}: colour: unknown key" in str(err.value)


def test_unknown_feature(tmp_path):
    _break(tmp_path, "[dnd, cfa, cfb, cfna]", "[dnd, cfx]")
    with pytest.raises(ConfigError, match=r'fks_features.value: "cfx" is not an FKS feature'):
        load_profiles(tmp_path)


def test_yaml_syntax_error_names_line(tmp_path):
    path = _break(tmp_path, "name: N870 IP PRO", "name: [N870 IP PRO")
    with pytest.raises(ConfigError, match=rf"{path}:\d+: not valid YAML"):
        load_profiles(tmp_path)


def test_id_must_match_file_name(tmp_path):
    _break(tmp_path, "id: N870", "id: N871")
    with pytest.raises(ConfigError, match=r'id: "N871" does not match the file name "n870.yaml"'):
        load_profiles(tmp_path)


def test_inconsistent_capacities(tmp_path):
    _break(tmp_path, "handsets: {value: 1000, source: choice}\n    parallel_calls",
           "handsets: {value: 2600, source: choice}\n    parallel_calls")
    with pytest.raises(ConfigError, match=r"per_system.handsets: 2600 exceeds 10 DECT manager"):
        load_profiles(tmp_path)


def test_integrator_with_unknown_member(tmp_path):
    _copy_profiles(tmp_path, ("virtual-integrator",))
    with pytest.raises(ConfigError, match=r"virtual-integrator.yaml:\d+: member_model: names unknown model \"N870\""):
        load_profiles(tmp_path)


def test_integrator_resolves_within_directory(tmp_path):
    profiles = load_profiles(_copy_profiles(tmp_path, ("n870", "virtual-integrator")))
    assert profiles.ids == ("N870", "virtual-integrator")


def test_not_a_mapping(tmp_path):
    (tmp_path / "n610.yaml").write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match=r"n610.yaml:1: a profile must be a mapping"):
        load_profiles(tmp_path)


def test_empty_directory(tmp_path):
    with pytest.raises(ConfigError, match="no model profiles"):
        load_profiles(tmp_path)


def test_integrator_must_not_repeat_member_capacities(tmp_path):
    _copy_profiles(tmp_path, ("n870", "virtual-integrator"))
    path = tmp_path / "virtual-integrator.yaml"
    path.write_text(path.read_text().replace(
        "capacities:\n", "capacities:\n  per_dect_manager:\n    bases: {value: 1, source: choice}\n", 1))
    with pytest.raises(ConfigError, match=r"capacities.per_dect_manager: comes from the member model N870"):
        load_profiles(tmp_path)


def test_base_model_needs_its_own_capacities(tmp_path):
    _break(tmp_path, "  per_dect_manager:\n", "  per_dect_managers:\n")
    with pytest.raises(ConfigError, match=r"capacities.per_dect_manager: missing"):
        load_profiles(tmp_path)


def test_duplicate_model_ids(tmp_path):
    _copy_profiles(tmp_path, ("n870",))
    (tmp_path / "N870.yaml").write_text((tmp_path / "n870.yaml").read_text())
    with pytest.raises(ConfigError, match=r'model id "N870" is also defined in'):
        load_profiles(tmp_path)
