"""Helpers for end-to-end tests on the simulated world: build a world, query its message log."""

from __future__ import annotations

from typing import Any

from dect.identity import Ipui
from scenarios.world.decode import message_json
from scenarios.world.world import World
from sip.state import FeatureState

IPUI = Ipui.parse("029e74a599")
IPUI2 = Ipui.parse("029e74a5a0")
MODELS = ("N610", "N670", "N870", "N870E", "embedded-integrator", "virtual-integrator")
DND_ON = ["Menu", "Select services", "Do not disturb", "On"]
DND_OFF = ["Menu", "Select services", "Do not disturb", "Off"]
DIVERT = ["Menu", "Select services", "Call divert"]


def world(model: str = "N870", *, fks: bool = True, server_state: FeatureState | None = None,
          users: tuple[str, ...] = ("2001",), handsets: tuple[tuple[Ipui, str], ...] = ((IPUI, "2001"),),
          start: bool = True, **kwargs: Any) -> World:
    w = World(model, **kwargs)
    for user in users:
        w.add_user(user, state=server_state)
    for ipui, user in handsets:
        w.add_handset(ipui, user, feature_key_sync=fks)
    if start:
        w.start()
    return w


def messages(w: World, layer: str | None = None, **match: Any) -> list[dict[str, Any]]:
    """Decoded log entries whose fields equal every `match` item (`from_`/`to` for endpoints)."""
    out = []
    for entry in w.log.entries:
        if layer is not None and entry.layer != layer:
            continue
        m = message_json(entry)
        fields = {**m, "from_": m["from"]}
        if all(fields.get(k) == v for k, v in match.items()):
            out.append(m)
    return out


def sip(w: World, **match: Any) -> list[dict[str, Any]]:
    return messages(w, "sip", **match)


def dect(w: World, **match: Any) -> list[dict[str, Any]]:
    return messages(w, "dect", **match)


def fks_traffic(w: World) -> list[dict[str, Any]]:
    """Every SIP message of the as-feature-event package (requests and their responses)."""
    return [m for m in sip(w) if m["event"] == "as-feature-event"
            or (m["status"] is not None and m["method"] in ("SUBSCRIBE", "NOTIFY"))]
