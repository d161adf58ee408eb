"""Recording what happens on the live twin as a scenario file that `fksim run` replays.

One responsibility: turn what the admin did in the web interface (keys pressed on virtual handsets,
FKS and internal-telephony switches) and what the server changed meanwhile (features that changed in
a NOTIFY with no request of the handset pending: a portal change or a code dialled on another device)
into the scenario format of spec/scenarios-and-cli.md §2.

Choices (docs/live.md): the recording starts the replay at `LEAD_IN` seconds, so the replayed base has
registered and subscribed before the first key; times are kept to the millisecond; a server-side
change becomes a `portal:` step (the spec's way to change a user's state on the server; a FAC dialled
elsewhere has the same effect on the state); the handsets' confirmed state at the end becomes an
`expect:` for every handset whose FKS is active, since only that state is decided by the server,
whose start state the file carries.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ruamel.yaml import YAML

from dect.identity import Ipui
from models.profiles import ModelProfile

#: Seconds of the replay before the first recorded step [choice].
LEAD_IN = 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedHandset:
    ipui: Ipui
    user: str
    feature_key_sync: bool
    dect_manager: int = 1
    type: str | None = None


@dataclass
class Recording:
    """One recording: the start (handsets, server users' state, base settings) and the steps since."""

    profile: ModelProfile
    started: float
    handsets: list[RecordedHandset]
    users: dict[str, dict[str, Any]]
    internal_telephony: bool | None
    dect_managers: int = 1
    steps: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    skipped: int = 0

    def _known(self, ipui: Ipui) -> bool:
        return any(h.ipui == ipui for h in self.handsets)

    def key(self, now: float, ipui: Ipui, key: str) -> None:
        if not self._known(ipui):
            self.skipped += 1  # a handset without a SIP account cannot be in a scenario file
            return
        previous = self.steps[-1] if self.steps else None
        if previous and previous[1].get("handset") == str(ipui) and "keys" in previous[1] \
                and now - previous[0] < 0.001:
            previous[1]["keys"].append(key)
            return
        self.steps.append((now, {"handset": str(ipui), "keys": [key]}))

    def server_change(self, now: float, user: str, changes: dict[str, Any]) -> None:
        if user in self.users:
            self.steps.append((now, {"portal": {"user": user, **changes}}))

    def base_change(self, now: float, change: dict[str, Any]) -> None:
        if "feature_key_sync" in change:
            flags = {ipui: flag for ipui, flag in change["feature_key_sync"].items()
                     if self._known(Ipui.parse(ipui))}
            if not flags:
                return
            change = {"feature_key_sync": flags}
        if "internal_telephony" in change and self.internal_telephony is None:
            return
        self.steps.append((now, {"base": change}))

    def to_yaml(self, final: dict[Ipui, dict[str, Any]], fks_active: set[Ipui]) -> str:
        """The scenario file. `final` is each handset's confirmed state at the end of the recording."""
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        doc: dict[str, Any] = {
            "scenario": f"Recorded on the live {self.profile.id} twin ({stamp})",
            "models": [self.profile.id],
            "seed": 0,
        }
        base: dict[str, Any] = {}
        if self.internal_telephony is not None:
            base["internal_telephony"] = self.internal_telephony
        if self.dect_managers > 1:
            base["dect_managers"] = self.dect_managers
        if base:
            doc["base"] = base
        handsets = []
        for h in self.handsets:
            entry: dict[str, Any] = {"ipui": str(h.ipui), "user": h.user,
                                     "feature_key_sync": h.feature_key_sync}
            if h.type:
                entry["type"] = h.type
            if self.dect_managers > 1:
                entry["dect_manager"] = h.dect_manager
            handsets.append(entry)
        if handsets:
            doc["handsets"] = handsets
        if self.users:
            doc["server"] = {"users": self.users}
        steps = [{"at": _time(LEAD_IN + t - self.started), **step} for t, step in self.steps]
        if steps:
            doc["steps"] = steps
        expect = [{"at": "end", "handset": str(ipui), "state": state}
                  for ipui, state in final.items() if ipui in fks_active and self._known(ipui)]
        if expect:
            doc["expect"] = expect
        out = io.StringIO()
        if self.skipped:
            out.write(f"# {self.skipped} key press(es) on handsets without a SIP account were left out\n")
        yaml = YAML()
        yaml.default_flow_style = None
        yaml.dump(doc, out)
        return out.getvalue()


def _time(seconds: float) -> str:
    return f"{max(seconds, 0.0):.3f}".rstrip("0").rstrip(".") + "s"
