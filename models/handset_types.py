"""Handset types and their menu trees, loaded once from `models/handsets/*.yaml`.

One file describes one or more handset types that share a menu tree (`types: [S650H PRO, ...]`), their
display size and the tree itself. The menu wording is this project's own model of a professional
handset (spec/base-models.md §6: not published, a **choice**), kept as data a user can edit.

A menu node is exactly one of:

- a submenu: ``{label, items: [...]}``;
- an option list: ``{label, options: [{label, feature, active}]}`` — choosing an option asks the base to
  switch a feature (``dnd``) on or off;
- a form: ``{label, form: {feature, fields: [{name, kind, values?}]}}`` — a call diversion
  (``cfa``/``cfb``/``cfna``) with fields of kind ``switch`` (Status On/Off), ``number`` (digits) or
  ``choice`` (one of ``values``, e.g. Rings);
- an info screen: ``{label, info: identity}`` — shows the IPUI and printed IPEI (what `*#06#` shows).

The loader is strict: unknown keys, missing fields, wrong kinds and duplicate labels are a
`ConfigError` naming the file, the line and the field (``professional.yaml:14: menu[0].items[1].label``).
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from models.errors import ConfigError

#: Where the shipped handset types live.
HANDSET_DIR = Path(__file__).with_name("handsets")
#: Features a menu may change (the four FKS features, feature-key-sync.md §1).
FEATURES = ("dnd", "cfa", "cfb", "cfna")
DIVERSIONS = ("cfa", "cfb", "cfna")


class FieldKind(enum.Enum):
    SWITCH = "switch"  # Status: "On" / "Off"
    NUMBER = "number"  # a target number, typed with the digit keys
    CHOICE = "choice"  # one of a fixed list (Rings: 1..9)


SWITCH_VALUES = ("On", "Off")


@dataclass(frozen=True, slots=True, kw_only=True)
class FormField:
    name: str
    kind: FieldKind
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Form:
    """A call-diversion form: its fields are filled and saved with OK."""

    label: str
    feature: str
    fields: tuple[FormField, ...]

    def field(self, name: str) -> FormField | None:
        return next((f for f in self.fields if f.name == name), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class Option:
    label: str
    feature: str
    active: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class OptionList:
    """Options that switch a feature on or off (Do not disturb: On / Off)."""

    label: str
    options: tuple[Option, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class InfoScreen:
    label: str
    info: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Submenu:
    label: str
    items: tuple[MenuNode, ...]


MenuNode = Submenu | OptionList | Form | InfoScreen


@dataclass(frozen=True, slots=True, kw_only=True)
class HandsetType:
    """One handset model: name, display size and menu tree (the root is the list MENU opens)."""

    name: str
    display_lines: int
    display_columns: int
    menu: Submenu
    source: str  # file the type came from


@dataclass(frozen=True, slots=True)
class HandsetTypes:
    """Every loaded handset type, by lower-case name, and the default one."""

    types: dict[str, HandsetType]
    default: HandsetType

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.types.values())

    def get(self, name: str | None) -> HandsetType:
        """The named type (any case), or the default for None; unknown names list the valid ones."""
        if name is None:
            return self.default
        found = self.types.get(name.strip().lower())
        if found is None:
            raise ConfigError(f'unknown handset type "{name}"; valid types: {", ".join(self.names)}')
        return found


class _Reader:
    """Walks one YAML document, raising ConfigErrors that name file, line and field."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def error(self, node: Any, field: str, message: str, key: Any = None) -> ConfigError:
        line = None
        try:
            if key is not None and isinstance(node, CommentedMap):
                line = node.lc.key(key)[0] + 1
            elif key is not None and isinstance(node, CommentedSeq):
                line = node.lc.item(key)[0] + 1
            elif isinstance(node, CommentedMap | CommentedSeq):
                line = node.lc.line + 1
        except (KeyError, IndexError, TypeError, AttributeError):
            line = None
        where = f"{self.path.name}:{line}: {field}" if line else f"{self.path.name}: {field}"
        return ConfigError(message, where=where)

    def mapping(self, node: Any, field: str, required: set[str], optional: set[str]) -> CommentedMap:
        if not isinstance(node, CommentedMap):
            raise self.error(node, field, "expected a mapping")
        for key in node:
            if key not in required | optional:
                raise self.error(
                    node,
                    f"{field}.{key}",
                    f"unknown key (expected: {', '.join(sorted(required | optional))})",
                    key,
                )
        for key in sorted(required):
            if key not in node:
                raise self.error(node, field, f"missing key {key!r}")
        return node

    def text(self, parent: CommentedMap, key: str, field: str) -> str:
        value = parent[key]
        if not isinstance(value, str) or not value.strip():
            raise self.error(parent, f"{field}.{key}", "expected non-empty text", key)
        return value

    def number(self, parent: CommentedMap, key: str, field: str, low: int, high: int) -> int:
        value = parent[key]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.error(parent, f"{field}.{key}", f"expected an integer {low}..{high}", key)
        return value

    def nodes(self, seq: Any, field: str) -> tuple[MenuNode, ...]:
        if not isinstance(seq, CommentedSeq) or not seq:
            raise self.error(seq, field, "expected a non-empty list of menu entries")
        out: list[MenuNode] = []
        seen: set[str] = set()
        for index, item in enumerate(seq):
            node = self.node(item, f"{field}[{index}]")
            if node.label in seen:
                raise self.error(seq, f"{field}[{index}].label", f'duplicate label "{node.label}"', index)
            seen.add(node.label)
            out.append(node)
        return tuple(out)

    def node(self, item: Any, field: str) -> MenuNode:
        kinds = {"items", "options", "form", "info"}
        raw = self.mapping(item, field, {"label"}, kinds)
        present = [k for k in kinds if k in raw]
        if len(present) != 1:
            raise self.error(raw, field, "a menu entry has exactly one of items, options, form, info")
        label = self.text(raw, "label", field)
        kind = present[0]
        if kind == "items":
            return Submenu(label=label, items=self.nodes(raw["items"], f"{field}.items"))
        if kind == "options":
            return OptionList(label=label, options=self.options(raw["options"], f"{field}.options"))
        if kind == "form":
            return self.form(label, raw["form"], f"{field}.form")
        info = self.text(raw, "info", field)
        if info != "identity":
            raise self.error(raw, f"{field}.info", 'the only info screen is "identity"', "info")
        return InfoScreen(label=label, info=info)

    def options(self, seq: Any, field: str) -> tuple[Option, ...]:
        if not isinstance(seq, CommentedSeq) or not seq:
            raise self.error(seq, field, "expected a non-empty list of options")
        out = []
        for index, item in enumerate(seq):
            sub = f"{field}[{index}]"
            raw = self.mapping(item, sub, {"label", "feature", "active"}, set())
            feature = self.text(raw, "feature", sub)
            if feature != "dnd":
                raise self.error(
                    raw, f"{sub}.feature", "options switch dnd (diversions use a form)", "feature"
                )
            if not isinstance(raw["active"], bool):
                raise self.error(raw, f"{sub}.active", "expected true or false", "active")
            out.append(Option(label=self.text(raw, "label", sub), feature=feature, active=raw["active"]))
        return tuple(out)

    def form(self, label: str, item: Any, field: str) -> Form:
        raw = self.mapping(item, field, {"feature", "fields"}, set())
        feature = self.text(raw, "feature", field)
        if feature not in DIVERSIONS:
            raise self.error(raw, f"{field}.feature", f"expected one of {', '.join(DIVERSIONS)}", "feature")
        seq = raw["fields"]
        if not isinstance(seq, CommentedSeq) or not seq:
            raise self.error(raw, f"{field}.fields", "expected a non-empty list of fields", "fields")
        fields = []
        for index, entry in enumerate(seq):
            sub = f"{field}.fields[{index}]"
            spec = self.mapping(entry, sub, {"name", "kind"}, {"values"})
            try:
                kind = FieldKind(spec["kind"])
            except ValueError:
                raise self.error(spec, f"{sub}.kind", "expected switch, number or choice", "kind") from None
            values: tuple[str, ...] = SWITCH_VALUES if kind is FieldKind.SWITCH else ()
            if kind is FieldKind.CHOICE:
                if not isinstance(spec.get("values"), CommentedSeq) or not spec["values"]:
                    raise self.error(spec, f"{sub}.values", "a choice field needs a list of values", "kind")
                values = tuple(str(v) for v in spec["values"])
            elif "values" in spec:
                raise self.error(spec, f"{sub}.values", "only choice fields have values", "values")
            fields.append(FormField(name=self.text(spec, "name", sub), kind=kind, values=values))
        names = [f.name for f in fields]
        if "Status" not in names:
            raise self.error(raw, f"{field}.fields", "a diversion form needs a Status field", "fields")
        return Form(label=label, feature=feature, fields=tuple(fields))


def _load_file(path: Path) -> tuple[list[HandsetType], bool]:
    reader = _Reader(path)
    try:
        doc = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except MarkedYAMLError as err:
        mark = err.problem_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"not valid YAML: {err.problem}", where=f"{path.name}{line}") from None
    except (YAMLError, OSError) as err:
        raise ConfigError(f"cannot read: {err}", where=path.name) from None
    raw = reader.mapping(doc, "(top)", {"types", "display", "menu"}, {"default"})
    names = raw["types"]
    if not isinstance(names, CommentedSeq) or not names or not all(isinstance(n, str) and n for n in names):
        raise reader.error(raw, "types", "expected a non-empty list of type names", "types")
    display = reader.mapping(raw["display"], "display", {"lines", "columns"}, set())
    lines = reader.number(display, "lines", "display", 2, 12)
    columns = reader.number(display, "columns", "display", 12, 40)
    menu = Submenu(label="Menu", items=reader.nodes(raw["menu"], "menu"))
    default = raw.get("default", False)
    if not isinstance(default, bool):
        raise reader.error(raw, "default", "expected true or false", "default")
    return [
        HandsetType(name=str(n), display_lines=lines, display_columns=columns, menu=menu, source=path.name)
        for n in names
    ], default


@functools.cache
def load_handset_types(directory: Path | None = None) -> HandsetTypes:
    """Load and validate every `*.yaml` below `directory` (default: the shipped `models/handsets`)."""
    folder = directory or HANDSET_DIR
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise ConfigError("no handset types (*.yaml) found", where=str(folder))
    types: dict[str, HandsetType] = {}
    default: HandsetType | None = None
    for path in files:
        loaded, is_default = _load_file(path)
        for handset_type in loaded:
            key = handset_type.name.lower()
            if key in types:
                raise ConfigError(
                    f'handset type "{handset_type.name}" is also defined in {types[key].source}',
                    where=path.name,
                )
            types[key] = handset_type
        if is_default:
            if default is not None:
                raise ConfigError(
                    f"a second default handset file (the first is {default.source})", where=path.name
                )
            default = loaded[0]
    if default is None:
        raise ConfigError("no handset file is marked `default: true`", where=str(folder))
    return HandsetTypes(types=types, default=default)


def get_handset_type(name: str | None = None) -> HandsetType:
    """The shipped handset type of that name (any case), or the project's default professional handset."""
    return load_handset_types().get(name)
