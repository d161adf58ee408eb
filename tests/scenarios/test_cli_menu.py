"""`fksim menu`: every path a scenario can name, per handset type, and the keys it compiles to; the keys
are checked by replaying them on the handset emulator's navigator, and every path by `fksim check`."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from dect.handset import Handset
from dect.identity import Ipui
from dect.menu import FeatureChosen
from models.handset_types import load_handset_types
from scenarios.cli import cli

TYPES = load_handset_types().names


def menu(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["menu", *args])


@pytest.mark.parametrize("handset_type", TYPES)
def test_json_keys_replay_to_the_feature_each_path_names(handset_type: str) -> None:
    result = menu("--json", "--handset-type", handset_type)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["handset_type"] == handset_type and doc["types"] == list(TYPES)
    kinds = [p["kind"] for p in doc["paths"]]
    assert kinds.count("option") == 2 and kinds.count("form") == 3 and kinds.count("info") == 1
    for entry in doc["paths"]:
        handset = Handset(Ipui.parse("029e74a599"), load_handset_types().get(handset_type))
        actions = [handset.navigator.press(key) for key in entry["keys"]]
        done = [a for a in actions if a is not None]
        if entry["kind"] == "option":
            assert done == [FeatureChosen(feature="dnd", active=entry["active"])], entry
        elif entry["kind"] == "form":
            fields = entry["path"][-1]
            [chosen] = done
            assert isinstance(chosen, FeatureChosen) and chosen.feature == entry["feature"]
            assert chosen.active is (fields["Status"] == "On") and chosen.target == fields["Number"]
            if "Rings" in fields:
                assert chosen.rings == int(fields["Rings"])
        else:
            assert done == [], entry
            assert handset.navigator.lines()[0] == entry["path"][-1]   # the screen opened is the one named


def test_text_lists_the_tree_and_every_path_with_its_keys() -> None:
    result = menu()
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.startswith("Handset type fksim PRO (same menus: S650H PRO, SL750H PRO, S700H PRO); "
                          "display 4 lines x 20 columns")
    assert "      Do not disturb  (options)\n        On  -> dnd on\n" in out
    assert "        No answer  (cfna form: Status, Number, Rings)\n" in out
    assert ('  menu: [Menu, Select services, Do not disturb, "Off"]\n      switches dnd off\n'
            "      keys: MENU OK OK DOWN OK\n") in out
    assert "  menu: [Menu, Select services, Call divert, All calls, {Status: \"On\", Number: \"3000\"}]\n" in out
    assert "      keys: MENU OK DOWN OK OK RIGHT DOWN 3 0 0 0 OK\n" in out


def test_every_listed_path_passes_fksim_check(tmp_path: Path) -> None:
    """The text a user copies from `fksim menu` into a `menu:` step is accepted as it is."""
    for handset_type in TYPES:
        lines = [line.strip()[len("menu: "):] for line in menu("--handset-type", handset_type).output.splitlines()
                 if line.strip().startswith("menu: ")]
        assert len(lines) == 10
        steps = "".join(f'  - {{at: {i + 1}s, handset: "029e74a599", menu: {path}}}\n'
                        for i, path in enumerate(lines))
        scenario = tmp_path / f"{handset_type.replace(' ', '_')}.yaml"
        scenario.write_text(textwrap.dedent(f"""\
            scenario: every path of {handset_type}
            models: [N870]
            handsets:
              - {{ipui: "029e74a599", user: "2001", feature_key_sync: true, type: "{handset_type}"}}
            steps:
            """) + steps)
        result = CliRunner().invoke(cli, ["check", str(scenario)])
        assert result.exit_code == 0, result.output


def test_unknown_handset_type_exit_2_lists_the_valid_ones() -> None:
    result = menu("--handset-type", "S650")
    assert result.exit_code == 2
    assert 'fksim: --handset-type: unknown handset type "S650"; valid types: fksim PRO, S650H PRO' in result.output
    assert "Traceback" not in result.output
