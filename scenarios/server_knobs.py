"""The embedded server's per-user knobs in a scenario file (issue 12 §1): `services`, `extra_parts`,
`extra_elements`, under `server:` and in a `server:` step. One responsibility: read and check them.

    server:
      services: {"4001": [dnd, cfa]}          # assigned services (default: all four)
      extra_parts: {"4001": [call-center]}    # a preset name, or {type: MEDIA-TYPE, body: TEXT}
      extra_elements: {"4001": ["<featureVersion>2</featureVersion>"]}

The values are normalised to plain dicts keyed by user (`Knobs`); `scenarios.world.World` applies them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring

from scenarios.spec import FEATURES
from scenarios.yamlsrc import Node, suggest

KNOB_KEYS = ("services", "extra_parts", "extra_elements")
#: Named extra parts; each is built for the user by `sip.server.users.preset_part`.
PRESETS = ("call-center",)

#: {"services": {user: (feature, ...)}, "extra_parts": {user: ((type, body) | (preset, ""), ...)},
#: "extra_elements": {user: (xml, ...)}}, each key present only when the file gives it.
Knobs = dict[str, dict[str, tuple[Any, ...]]]


class Checker(Protocol):
    users: set[str]

    def fail(self, node: Node, message: str) -> None: ...

    def any_mapping(self, node: Node) -> dict[str, Node]: ...

    def mapping(self, node: Node, allowed: tuple[str, ...],
                required: tuple[str, ...] = ()) -> dict[str, Node]: ...

    def text(self, node: Node) -> str | None: ...


def read_knobs(checker: Checker, m: dict[str, Node], users: set[str]) -> Knobs:
    """The knobs among the keys of a `server:` mapping `m`; `users` are the users known so far."""
    readers: dict[str, Callable[[Checker, Node], Any]] = {
        "services": _service, "extra_parts": _part, "extra_elements": _element}
    out: Knobs = {}
    for key in KNOB_KEYS:
        if key not in m:
            continue
        per_user: dict[str, tuple[Any, ...]] = {}
        for user, child in checker.any_mapping(m[key]).items():
            if user not in users:
                checker.fail(child, f'unknown user "{user}"{suggest(user, tuple(sorted(users)))}')
                continue
            if not child.is_seq():
                checker.fail(child, "must be a list")
                continue
            values = [readers[key](checker, element) for element in child.elements()]
            per_user[user] = tuple(v for v in values if v is not None)
        out[key] = per_user
    return out


def _service(checker: Checker, node: Node) -> str | None:
    text = checker.text(node)
    if text is not None and text not in FEATURES:
        valid = ", ".join(FEATURES)
        checker.fail(node, f'unknown service "{text}"{suggest(text, FEATURES)} (valid: {valid})')
        return None
    return text


def _part(checker: Checker, node: Node) -> tuple[str, str] | None:
    if not node.is_map():
        text = checker.text(node)
        if text is not None and text not in PRESETS:
            checker.fail(node, f'unknown part "{text}"{suggest(text, PRESETS)} (valid: {", ".join(PRESETS)} '
                               "or a mapping with type and body)")
            return None
        return (text, "") if text is not None else None
    m = checker.mapping(node, ("type", "body"), required=("type", "body"))
    kind = checker.text(m["type"]) if "type" in m else None
    body = checker.text(m["body"]) if "body" in m else None
    if kind is None or body is None:
        return None
    if kind.count("/") != 1 or not all(kind.split("/")):
        checker.fail(m["type"], f'must be a media type such as "application/xml", not "{kind}"')
        return None
    return kind, body


def _element(checker: Checker, node: Node) -> str | None:
    text = checker.text(node)
    if text is None:
        return None
    try:
        fromstring(text, forbid_dtd=True)
    except (ParseError, DefusedXmlException) as err:
        checker.fail(node, f"must be one well-formed XML element: {err}")
        return None
    return text


__all__ = ["KNOB_KEYS", "PRESETS", "Knobs", "read_knobs"]
