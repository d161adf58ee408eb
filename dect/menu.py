"""Menu navigation of an emulated handset: keys in, display lines and menu actions out (no I/O, no air).

One responsibility: walk a `models.handset_types` menu tree with the keys of spec/scenarios-and-cli.md §2
(`MENU UP DOWN LEFT RIGHT OK BACK END TALK 0-9 * #`) and compile a scenario's menu path into those keys.
Menu navigation is local to the handset (dect-nwk.md §3); only a completed operation (`FeatureChosen`,
`DialRequested`) leaves this module, and `dect.handset` turns it into NWK messages.

Key behaviour (this project's model of a professional handset, a **choice**):

- idle: digits, `*`, `#` type a number, LEFT deletes the last one, TALK dials it, END clears it, MENU opens
  the menu;
- a list: UP/DOWN move the cursor (wrapping), OK or RIGHT opens the entry, BACK or LEFT goes up, END goes
  to idle; opening a list puts the cursor on its first entry; choosing an option completes the operation;
- a form: UP/DOWN move between fields; LEFT/RIGHT step a Status or choice field through its values; digits
  type into a number field and LEFT deletes its last character; OK saves; BACK cancels;
- an info screen: BACK, LEFT or OK go back.

Theory of operation: `Navigator` is one state machine; `_TRANSITIONS` maps (screen, key class) to the
handler, and a missing entry means the key does nothing on that screen (as on the real handset).
"""

from __future__ import annotations

import difflib
import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from dect.errors import DectError
from models.handset_types import FieldKind, Form, HandsetType, InfoScreen, MenuNode, OptionList, Submenu

KEYS = ("MENU", "UP", "DOWN", "LEFT", "RIGHT", "OK", "BACK", "END", "TALK", *"0123456789", "*", "#")
DIAL_CHARS = "0123456789*#"


class MenuError(DectError, ValueError):
    """A key or menu path that the handset's menu does not have."""


def check_key(key: str) -> str:
    """A valid key name (case-insensitive for the named keys)."""
    name = key.upper() if isinstance(key, str) else key
    if name not in KEYS:
        raise MenuError(f'unknown key "{key}"{_suggest(str(key), KEYS)}')
    return name


def _suggest(wrong: str, valid: Sequence[str]) -> str:
    close = difflib.get_close_matches(wrong, list(valid), n=3, cutoff=0.5)
    if close:
        return " (did you mean " + " or ".join(f'"{c}"' for c in close) + "?)"
    return " (valid: " + ", ".join(f'"{v}"' for v in valid) + ")"


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureChosen:
    """The user completed a feature operation in the menu (an option or a saved form)."""

    feature: str  # dnd, cfa, cfb, cfna
    active: bool
    target: str = ""
    rings: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DialRequested:
    """TALK pressed with digits typed on the idle screen."""

    digits: str


MenuAction = FeatureChosen | DialRequested


class Screen(enum.Enum):
    IDLE = "idle"
    LIST = "list"
    FORM = "form"
    INFO = "info"


class KeyClass(enum.Enum):
    MENU = "MENU"
    UP = "UP"
    DOWN = "DOWN"
    LEFT = "LEFT"
    RIGHT = "RIGHT"
    OK = "OK"
    BACK = "BACK"
    END = "END"
    TALK = "TALK"
    DIGIT = "DIGIT"


def _key_class(key: str) -> KeyClass:
    return KeyClass.DIGIT if key in DIAL_CHARS else KeyClass(key)


#: Form values as shown: field name -> text ("On", "3000", "3").
FormValues = dict[str, str]


@dataclass
class Navigator:
    """Where the user is in the menu. `press` returns the completed action, if the key completed one."""

    handset_type: HandsetType
    form_values: Callable[[Form], FormValues]
    info_lines: Callable[[], list[str]]
    screen: Screen = Screen.IDLE
    stack: list[tuple[Submenu | OptionList, int]] = field(default_factory=list)
    form: Form | None = None
    form_cursor: int = 0
    values: FormValues = field(default_factory=dict)
    info_title: str = ""
    dial_buffer: str = ""

    # ----------------------------------------------------------------------------------- keys

    def press(self, key: str) -> MenuAction | None:
        key = check_key(key)
        handler = _TRANSITIONS.get((self.screen, _key_class(key)))
        return handler(self, key) if handler else None

    def _to_idle(self, _key: str = "") -> None:
        self.screen, self.stack, self.form, self.values = Screen.IDLE, [], None, {}

    def _open_menu(self, _key: str) -> None:
        self.screen, self.stack = Screen.LIST, [(self.handset_type.menu, 0)]

    def _idle_digit(self, key: str) -> None:
        self.dial_buffer += key

    def _idle_delete(self, _key: str) -> None:
        self.dial_buffer = self.dial_buffer[:-1]

    def _idle_clear(self, _key: str) -> None:
        self.dial_buffer = ""

    def _idle_talk(self, _key: str) -> MenuAction | None:
        digits, self.dial_buffer = self.dial_buffer, ""
        return DialRequested(digits=digits) if digits else None

    def _entries(self) -> Sequence[MenuNode] | Sequence[object]:
        node, _ = self.stack[-1]
        return node.items if isinstance(node, Submenu) else node.options

    def _move(self, step: int) -> None:
        node, cursor = self.stack[-1]
        self.stack[-1] = (node, (cursor + step) % len(self._entries()))

    def _list_up(self, _key: str) -> None:
        self._move(-1)

    def _list_down(self, _key: str) -> None:
        self._move(1)

    def _list_back(self, _key: str) -> None:
        self.stack.pop()
        if not self.stack:
            self._to_idle()

    def _list_open(self, _key: str) -> MenuAction | None:
        node, cursor = self.stack[-1]
        if isinstance(node, OptionList):
            option = node.options[cursor]
            self._to_idle()
            return FeatureChosen(feature=option.feature, active=option.active)
        entry = node.items[cursor]
        if isinstance(entry, Submenu | OptionList):
            self.stack.append((entry, 0))
        elif isinstance(entry, Form):
            self.screen, self.form, self.form_cursor = Screen.FORM, entry, 0
            self.values = dict(self.form_values(entry))
        else:
            self.screen, self.info_title = Screen.INFO, entry.label
        return None

    def _form_field(self) -> tuple[Form, str, FieldKind, tuple[str, ...]]:
        assert self.form is not None
        spec = self.form.fields[self.form_cursor]
        return self.form, spec.name, spec.kind, spec.values

    def _form_up(self, _key: str) -> None:
        assert self.form is not None
        self.form_cursor = (self.form_cursor - 1) % len(self.form.fields)

    def _form_down(self, _key: str) -> None:
        assert self.form is not None
        self.form_cursor = (self.form_cursor + 1) % len(self.form.fields)

    def _form_step(self, key: str) -> None:
        _, name, kind, values = self._form_field()
        if kind is FieldKind.NUMBER:
            if key == "LEFT":
                self.values[name] = self.values.get(name, "")[:-1]
            return
        current = self.values.get(name, values[0])
        # A value that is none of the options (a feature shown "n/a") steps to the first or last one.
        index = values.index(current) if current in values else (-1 if key == "RIGHT" else 0)
        self.values[name] = values[(index + (1 if key == "RIGHT" else -1)) % len(values)]

    def _form_digit(self, key: str) -> None:
        _, name, kind, _ = self._form_field()
        if kind is FieldKind.NUMBER:
            self.values[name] = self.values.get(name, "") + key

    def _form_save(self, _key: str) -> MenuAction:
        assert self.form is not None
        form, values = self.form, self.values
        self._to_idle()
        rings = int(values["Rings"]) if "Rings" in values and form.field("Rings") else None
        return FeatureChosen(
            feature=form.feature,
            active=values.get("Status") == "On",
            target=values.get("Number", ""),
            rings=rings,
        )

    def _form_cancel(self, _key: str) -> None:
        self.screen, self.form, self.values = Screen.LIST, None, {}

    def _info_back(self, _key: str) -> None:
        self.screen = Screen.LIST

    # -------------------------------------------------------------------------------- display

    def lines(self) -> list[str] | None:
        """The menu's display lines, or None on the idle screen (the handset draws that)."""
        rows = self.handset_type.display_lines
        if self.screen is Screen.IDLE:
            return None
        if self.screen is Screen.INFO:
            return [self.info_title, *self.info_lines()][:rows]
        if self.screen is Screen.FORM:
            assert self.form is not None
            items = [f"{f.name}: {self.values.get(f.name, '')}" for f in self.form.fields]
            return [self.form.label, *_window(items, self.form_cursor, rows - 1)]
        node, cursor = self.stack[-1]
        labels = [entry.label for entry in self._entries()]  # type: ignore[attr-defined]
        return [node.label, *_window(labels, cursor, rows - 1)]


def _window(items: list[str], cursor: int, height: int) -> list[str]:
    """Marked entries (`> ` at the cursor), scrolled so the cursor is visible."""
    top = max(0, min(cursor - height + 1, len(items) - height)) if cursor >= height else 0
    return [("> " if i == cursor else "  ") + text for i, text in enumerate(items)][top : top + height]


_Handler = Callable[[Navigator, str], MenuAction | None]
_TRANSITIONS: dict[tuple[Screen, KeyClass], _Handler] = {
    (Screen.IDLE, KeyClass.MENU): Navigator._open_menu,
    (Screen.IDLE, KeyClass.DIGIT): Navigator._idle_digit,
    (Screen.IDLE, KeyClass.LEFT): Navigator._idle_delete,
    (Screen.IDLE, KeyClass.END): Navigator._idle_clear,
    (Screen.IDLE, KeyClass.BACK): Navigator._idle_clear,
    (Screen.IDLE, KeyClass.TALK): Navigator._idle_talk,
    (Screen.LIST, KeyClass.UP): Navigator._list_up,
    (Screen.LIST, KeyClass.DOWN): Navigator._list_down,
    (Screen.LIST, KeyClass.OK): Navigator._list_open,
    (Screen.LIST, KeyClass.RIGHT): Navigator._list_open,
    (Screen.LIST, KeyClass.BACK): Navigator._list_back,
    (Screen.LIST, KeyClass.LEFT): Navigator._list_back,
    (Screen.LIST, KeyClass.END): Navigator._to_idle,
    (Screen.FORM, KeyClass.UP): Navigator._form_up,
    (Screen.FORM, KeyClass.DOWN): Navigator._form_down,
    (Screen.FORM, KeyClass.LEFT): Navigator._form_step,
    (Screen.FORM, KeyClass.RIGHT): Navigator._form_step,
    (Screen.FORM, KeyClass.DIGIT): Navigator._form_digit,
    (Screen.FORM, KeyClass.OK): Navigator._form_save,
    (Screen.FORM, KeyClass.BACK): Navigator._form_cancel,
    (Screen.FORM, KeyClass.END): Navigator._to_idle,
    (Screen.INFO, KeyClass.OK): Navigator._info_back,
    (Screen.INFO, KeyClass.BACK): Navigator._info_back,
    (Screen.INFO, KeyClass.LEFT): Navigator._info_back,
    (Screen.INFO, KeyClass.END): Navigator._to_idle,
}


# ------------------------------------------------------------------------------ path compiling

PathStep = str | Mapping[str, object]


def _index(labels: Sequence[str], wanted: object) -> int:
    if isinstance(wanted, str) and wanted in labels:
        return labels.index(wanted)
    raise MenuError(f'unknown menu entry "{wanted}"{_suggest(str(wanted), labels)}')


def _field_value(form: Form, name: str, value: object) -> str:
    spec = form.field(name)
    assert spec is not None
    if spec.kind is FieldKind.SWITCH and isinstance(value, bool):
        value = "On" if value else "Off"
    text = str(value)
    if spec.kind is FieldKind.NUMBER:
        if isinstance(value, bool) or any(ch not in DIAL_CHARS for ch in text):
            raise MenuError(f'{form.label}: {name} "{text}" is not a number (digits, * and # only)')
        return text
    if text not in spec.values:
        raise MenuError(f'{form.label}: unknown {name} value "{text}"{_suggest(text, spec.values)}')
    return text


def _form_keys(form: Form, wanted: Mapping[str, object], current: FormValues) -> list[str]:
    names = [f.name for f in form.fields]
    for name in wanted:
        if name not in names:
            raise MenuError(f'{form.label}: unknown field "{name}"{_suggest(str(name), names)}')
    keys: list[str] = []
    cursor = 0
    for index, spec in enumerate(form.fields):
        if spec.name not in wanted:
            continue
        value = _field_value(form, spec.name, wanted[spec.name])
        keys += ["DOWN"] * (index - cursor)
        cursor = index
        now = current.get(spec.name, "")
        if spec.kind is FieldKind.NUMBER:
            keys += ["LEFT"] * len(now) + list(value)
        else:
            start = spec.values.index(now) if now in spec.values else -1   # see Navigator._form_step
            keys += ["RIGHT"] * ((spec.values.index(value) - start) % len(spec.values))
    return [*keys, "OK"]


def compile_path(
    handset_type: HandsetType, path: Sequence[PathStep], form_values: Callable[[Form], FormValues]
) -> list[str]:
    """The key presses that replay `path` from the idle screen (spec/scenarios-and-cli.md §2).

    The first element is the menu key ("Menu"); each further one names an entry to open; the last may
    be an option ("On") or a mapping that fills a form's fields and saves it. `form_values` gives the
    values a form opens with (the handset's current feature state), which fixes how many steps a
    field needs.
    """
    if not path or path[0] != "Menu":
        first = path[0] if path else ""
        raise MenuError(f'unknown menu entry "{first}" (a menu path starts with "Menu")')
    keys = ["MENU"]
    node: MenuNode = handset_type.menu
    for position, step in enumerate(path[1:], start=1):
        last = position == len(path) - 1
        if isinstance(node, Submenu | OptionList):
            labels = [entry.label for entry in (node.items if isinstance(node, Submenu) else node.options)]
            if not isinstance(step, str):
                raise MenuError(f'"{node.label}" is a menu: expected an entry name, not a mapping')
            index = _index(labels, step)
            keys += ["DOWN"] * index + ["OK"]
            if isinstance(node, OptionList):
                if not last:
                    raise MenuError(f'"{step}" is an option: nothing can follow it in the path')
                return keys
            node = node.items[index]
        elif isinstance(node, Form):
            if isinstance(step, str) or not last:
                raise MenuError(f'"{node.label}" is a form: the path ends with a mapping of its fields')
            return keys + _form_keys(node, step, form_values(node))
        else:
            assert isinstance(node, InfoScreen)
            raise MenuError(f'"{node.label}" is an info screen: nothing can follow it in the path')
    return keys
