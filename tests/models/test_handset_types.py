"""Handset types: the shipped files load; bad files are errors naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.errors import ConfigError
from models.handset_types import FieldKind, Form, OptionList, Submenu, get_handset_type, load_handset_types

GOOD = """\
default: true
types: [Test PRO]
display: {lines: 4, columns: 20}
menu:
  - label: Select services
    items:
      - label: Do not disturb
        options:
          - {label: "On", feature: dnd, active: true}
          - {label: "Off", feature: dnd, active: false}
      - label: All calls
        form:
          feature: cfa
          fields:
            - {name: Status, kind: switch}
            - {name: Number, kind: number}
"""


def test_shipped_types() -> None:
    types = load_handset_types()
    assert types.default.name == "fksim PRO"
    assert {"S650H PRO", "SL750H PRO", "R650H PRO", "S700H PRO", "R700H PRO"} <= set(types.names)
    assert get_handset_type("s650h pro").name == "S650H PRO"
    assert get_handset_type(None) is types.default
    services = types.default.menu.items[0]
    assert isinstance(services, Submenu) and services.label == "Select services"
    dnd, divert = services.items
    assert isinstance(dnd, OptionList) and [o.label for o in dnd.options] == ["On", "Off"]
    assert isinstance(divert, Submenu)
    forms = divert.items
    assert all(isinstance(f, Form) for f in forms)
    assert [(f.label, f.feature) for f in forms] == [
        ("All calls", "cfa"),
        ("When busy", "cfb"),
        ("No answer", "cfna"),
    ]  # type: ignore[union-attr]
    rings = forms[2].field("Rings")  # type: ignore[union-attr]
    assert rings is not None and rings.kind is FieldKind.CHOICE and rings.values[:3] == ("2", "3", "4")
    # BroadWorks accepts 0 or 2-20 rings (feature-key-sync.md §3): the menu offers none it would refuse.
    assert all(2 <= int(v) <= 20 for v in rings.values)


def test_unknown_type_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match='unknown handset type "S999"; valid types: fksim PRO, '):
        get_handset_type("S999")


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "h.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_a_good_file_loads(tmp_path: Path) -> None:
    types = load_handset_types(write(tmp_path, GOOD))
    assert types.default.name == "Test PRO" and types.default.display_columns == 20


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("feature: cfa", "feature: cfx"), "h.yaml:13: menu[0].items[1].form.feature: expected one of cfa, cfb, cfna"),
        (("kind: number", "kind: digits"), "h.yaml:16: menu[0].items[1].form.fields[1].kind: expected switch, number or choice"),
        (("label: All calls", "label: Do not disturb"), 'h.yaml:11: menu[0].items[1].label: duplicate label "Do not disturb"'),
        (("display: {lines: 4, columns: 20}", "display: {lines: 4, colums: 20}"), "h.yaml:3: display.colums: unknown key"),
        (("active: true}", "active: yes}"), "h.yaml:9: menu[0].items[0].options[0].active: expected true or false"),
        (("    items:", "    itemz:"), "h.yaml:6: menu[0].itemz: unknown key"),
        (("columns: 20", "columns: 200"), "h.yaml:3: display.columns: expected an integer 12..40"),
        (("types: [Test PRO]", "types: []"), "h.yaml:2: types: expected a non-empty list of type names"),
        (("- {name: Status, kind: switch}", "- {name: State, kind: switch}"), "h.yaml:14: menu[0].items[1].form.fields: a diversion form needs a Status field"),
        (("menu:", "menu: ["), "h.yaml:"),
    ],
)  # fmt: skip
def test_bad_files_name_file_line_and_field(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_handset_types(write(tmp_path, GOOD.replace(*change, 1)))
    assert str(caught.value).startswith(message)


def test_a_default_is_required(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no handset file is marked `default: true`"):
        load_handset_types(write(tmp_path, GOOD.replace("default: true\n", "")))
