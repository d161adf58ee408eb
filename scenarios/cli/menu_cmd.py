"""`fksim menu [--handset-type T] [--json]`: a handset type's menu tree, every path a scenario's `menu`
step can name, and the keys it compiles to (spec/scenarios-and-cli.md §5).

The tree is the handset type's own (`models/handsets/*.yaml`, a **choice** of this project: the real
menu wording is not published). Keys come from the handset emulator's `compile_menu`, the very function
a run replays a `menu` step with, for a handset in the factory state (every feature off, CFNA rings at
the base's default); a form's keys depend on the values it opens with, so they are shown for that
state. For each form the example path fills every field, and the fields are listed with the values
they take.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

import click

from dect.errors import DectError
from dect.handset import Handset
from dect.identity import Ipui
from models.errors import ConfigError
from models.handset_types import (
    FieldKind,
    Form,
    HandsetType,
    InfoScreen,
    MenuNode,
    OptionList,
    Submenu,
    get_handset_type,
    load_handset_types,
)
from scenarios.cli import EXIT_BAD_INPUT
from scenarios.cli.new_cmd import flow_path

#: Example values a form path is shown with (what `fksim new` and the library use).
EXAMPLE = {FieldKind.SWITCH: "On", FieldKind.NUMBER: "3000"}


@dataclass(frozen=True, slots=True)
class MenuPath:
    """One path a scenario can name, what it reaches and the keys it compiles to."""

    path: list[object]
    kind: str                      # submenu, options, option, form, info
    keys: list[str]
    depth: int
    label: str
    feature: str | None = None
    active: bool | None = None
    fields: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "kind": self.kind, "keys": self.keys}
        if self.feature is not None:
            out["feature"] = self.feature
        if self.active is not None:
            out["active"] = self.active
        if self.fields:
            out["fields"] = self.fields
        return out


def _form_example(form: Form) -> dict[str, str]:
    values: dict[str, str] = {}
    for spec in form.fields:
        if spec.kind is FieldKind.CHOICE:
            values[spec.name] = spec.values[min(2, len(spec.values) - 1)]
        else:
            values[spec.name] = EXAMPLE[spec.kind]
    return values


def _field_json(form: Form) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for spec in form.fields:
        entry: dict[str, Any] = {"name": spec.name, "kind": spec.kind.value}
        if spec.kind is FieldKind.NUMBER:
            entry["values"] = "digits, * and #"
        else:
            entry["values"] = list(spec.values)
        out.append(entry)
    return out


def menu_paths(handset_type: HandsetType) -> list[MenuPath]:
    """Every nameable path of the type's tree, depth first, with the keys `compile_menu` gives."""
    handset = Handset(Ipui.parse("029e74a599"), handset_type)
    out: list[MenuPath] = []

    def keys(path: list[object]) -> list[str]:
        return handset.compile_menu(path)  # type: ignore[arg-type]

    def walk(node: MenuNode, path: list[object]) -> None:
        depth = len(path) - 1
        if isinstance(node, Submenu):
            out.append(MenuPath(path, "submenu", keys(path), depth, node.label))
            for child in node.items:
                walk(child, [*path, child.label])
        elif isinstance(node, OptionList):
            out.append(MenuPath(path, "options", keys(path), depth, node.label))
            for option in node.options:
                chosen = [*path, option.label]
                out.append(MenuPath(chosen, "option", keys(chosen), depth + 1, option.label,
                                    feature=option.feature, active=option.active))
        elif isinstance(node, Form):
            filled = [*path, _form_example(node)]
            out.append(MenuPath(filled, "form", keys(filled), depth, node.label, feature=node.feature,
                                fields=_field_json(node)))
        else:
            assert isinstance(node, InfoScreen)
            out.append(MenuPath(path, "info", keys(path), depth, node.label))

    walk(handset_type.menu, ["Menu"])
    return out


def _siblings(handset_type: HandsetType) -> list[str]:
    return [t.name for t in load_handset_types().types.values()
            if t.source == handset_type.source and t.name != handset_type.name]


def _describe(entry: MenuPath) -> str:
    if entry.kind == "option":
        return f"switches {entry.feature} {'on' if entry.active else 'off'}"
    if entry.kind == "form":
        fields = "; ".join(
            f"{f['name']}: {f['values'] if isinstance(f['values'], str) else '/'.join(f['values'])}"
            for f in entry.fields)
        return f"{entry.feature} form, fill any of its fields then OK ({fields})"
    plain = {"submenu": "opens the list", "options": "opens the options", "info": "shows IPUI and IPEI"}
    return plain[entry.kind]


def render_text(handset_type: HandsetType, paths: list[MenuPath]) -> str:
    also = _siblings(handset_type)
    lines = [f"Handset type {handset_type.name}"
             + (f" (same menus: {', '.join(also)})" if also else "")
             + f"; display {handset_type.display_lines} lines x {handset_type.display_columns} columns; "
             f"from models/handsets/{handset_type.source}",
             "",
             "Menu tree:"]
    for entry in paths:
        kind = {"submenu": "", "options": "  (options)", "option": f"  -> {entry.feature} "
                f"{'on' if entry.active else 'off'}", "info": "  (info screen)",
                "form": f"  ({entry.feature} form: {', '.join(f['name'] for f in entry.fields)})"}[entry.kind]
        lines.append(f"  {'  ' * entry.depth}{entry.label}{kind}")
    lines += ["", "Paths a scenario's `menu:` step can name, and the keys each compiles to "
              "(from the idle screen, factory state):"]
    for entry in paths:
        lines.append(f"  menu: {flow_path(entry.path)}")
        lines.append(f"      {_describe(entry)}")
        lines.append(f"      keys: {' '.join(entry.keys)}")
    return "\n".join(lines)


@click.command()
@click.option("--handset-type", "handset_type", metavar="TYPE",
              help="The handset type (any case; default: the default type).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: the type and every path.")
def menu(handset_type: str | None, as_json: bool) -> None:
    """Print a handset type's menu tree, every path a scenario can name, and the keys it compiles to."""
    try:
        chosen = get_handset_type(handset_type)
        paths = menu_paths(chosen)
    except (ConfigError, DectError) as err:
        click.echo(f"fksim: --handset-type: {err}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    if as_json:
        document = {"handset_type": chosen.name, "same_menus": _siblings(chosen), "source": chosen.source,
                    "display": {"lines": chosen.display_lines, "columns": chosen.display_columns},
                    "types": list(load_handset_types().names), "paths": [p.as_json() for p in paths]}
        click.echo(json.dumps(document, indent=1, ensure_ascii=False))
    else:
        click.echo(render_text(chosen, paths))
