"""The readers of a scenario file's values: each checks one node (a time, a count, an IPUI, a feature
state, network impairments ...) and, instead of stopping, records a problem that names the file and
line and returns None. `scenarios.validate` builds the whole scenario on top of them.
"""

from __future__ import annotations

from dect.errors import IdentityError
from dect.identity import Ipui
from scenarios.spec import FEATURES, NETWORK_KEYS, TIME_KEYS, FeatureState, Forward
from scenarios.yamlsrc import Count, Node, clip, parse_count, parse_time, show, suggest


class Checker:
    """Walks the document, collecting problems instead of stopping at the first."""

    def __init__(self, known_models: tuple[str, ...]) -> None:
        self.problems: list[str] = []
        self.known_models = known_models

    def fail(self, node: Node, message: str) -> None:
        self.problems.append(node.error(message))

    def mapping(self, node: Node, allowed: tuple[str, ...],
                required: tuple[str, ...] = ()) -> dict[str, Node]:
        if not node.is_map():
            self.fail(node, f"must be a mapping with keys {', '.join(allowed)}")
            return {}
        out: dict[str, Node] = {}
        for key, child in node.items():
            if key not in allowed:
                self.fail(child, f'unknown key "{clip(key)}"{suggest(key, allowed)}')
            else:
                out[key] = child
        for key in required:
            if key not in out:
                self.fail(node, f'missing required key "{key}"')
        return out

    def any_mapping(self, node: Node) -> dict[str, Node]:
        """A mapping whose keys are names chosen by the user (user names, IPUIs)."""
        if not node.is_map():
            self.fail(node, "must be a mapping")
            return {}
        return dict(node.items())

    def boolean(self, node: Node) -> bool | None:
        if isinstance(node.value, bool):
            return node.value
        self.fail(node, f"must be true or false, not {show(node.value)}")
        return None

    def integer(self, node: Node, low: int, high: int) -> int | None:
        value = node.value
        if isinstance(value, int) and not isinstance(value, bool) and low <= value <= high:
            return value
        self.fail(node, f"must be a whole number from {low} to {high}, not {show(value)}")
        return None

    def text(self, node: Node) -> str | None:
        value = node.value
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)   # `user: 2001` means the user "2001"
        self.fail(node, f"must be text, not {show(value)}")
        return None

    def time(self, node: Node) -> float | None:
        try:
            return parse_time(node.value)
        except ValueError as err:
            self.fail(node, str(err))
            return None

    def count(self, node: Node) -> Count | None:
        try:
            return parse_count(node.value)
        except ValueError as err:
            self.fail(node, str(err))
            return None

    def ipui(self, node: Node) -> Ipui | None:
        text = self.text(node)
        if text is None:
            return None
        try:
            return Ipui.parse(text)
        except IdentityError as err:
            self.fail(node, str(err))
            return None

    # -- feature state -------------------------------------------------------------------------

    def forward(self, node: Node, with_rings: bool) -> Forward | None:
        allowed = ("active", "to", "rings") if with_rings else ("active", "to")
        m = self.mapping(node, allowed)
        active = self.boolean(m["active"]) if "active" in m else None
        to = self.text(m["to"]) if "to" in m else None
        rings = None
        if "rings" in m:
            rings = self.integer(m["rings"], 0, 20)
            if rings == 1:
                self.fail(m["rings"], "rings must be 0 or 2..20 (BroadWorks accepts no 1)")
        return Forward(active=active, to=to, rings=rings)

    def feature_state(self, node: Node, extra: tuple[str, ...] = ()) -> FeatureState:
        m = self.mapping(node, FEATURES + extra)
        return FeatureState(
            dnd=self.boolean(m["dnd"]) if "dnd" in m else None,
            cfa=self.forward(m["cfa"], False) if "cfa" in m else None,
            cfb=self.forward(m["cfb"], False) if "cfb" in m else None,
            cfna=self.forward(m["cfna"], True) if "cfna" in m else None,
        )

    def network(self, node: Node) -> dict[str, float]:
        out: dict[str, float] = {}
        for key, child in self.mapping(node, NETWORK_KEYS).items():
            if key in TIME_KEYS:
                value = self.time(child)
            elif key == "drop_connections":   # a fault step: every TCP/TLS connection breaks now
                value = 1.0 if self.boolean(child) else None
            elif isinstance(child.value, int | float) and not isinstance(child.value, bool) \
                    and 0.0 <= child.value <= 1.0:
                value = float(child.value)
            else:
                self.fail(child, f"must be a probability from 0.0 to 1.0, not {show(child.value)}")
                value = None
            if value is not None:
                out[key] = value
        return out


__all__ = ["Checker"]
