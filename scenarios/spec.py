"""The scenario file (spec/scenarios-and-cli.md §2) as typed values; `scenarios.validate` builds them.

Extensions beyond the contract, kept compatible with it:
- step `base: {feature_key_sync: {"<ipui>": true}}`: the web-interface change of one handset's flag;
- step `base: {provisioning: FILE-or-XML}` and `base: {params: {...}}`: provisioning while running;
- step `handset: IPUI, register: "0000"`: the handset registers to the base with the PIN (for handsets
  listed with `registered: false`);
- step `server: {fks: false, reject: {SUBSCRIBE: 503}, delay: 2s}`: change the server's fault knobs;
- `server:` and a `server:` step: per-user `services`, `extra_parts`, `extra_elements`
  (`scenarios.server_knobs`: what a real BroadWorks varies, issue 12 §1);
- in `dect` expectations `from:` names the sender (a handset IPUI or `base`) and `since:` the start of
  the counted window; in `sip` expectations `from:` is the window start, as the contract says.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dect.identity import Ipui

KEYS = ("MENU", "UP", "DOWN", "LEFT", "RIGHT", "OK", "BACK", "END", "TALK",
        "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#")
FEATURES = ("dnd", "cfa", "cfb", "cfna")
NETWORK_KEYS = ("latency", "jitter", "loss", "duplicate", "reorder", "drop_connections")
TIME_KEYS = ("latency", "jitter")
#: Default extra simulated time after the last step or expectation (contract §2: "+ 60s").
DEFAULT_TAIL = 60.0
#: The most simulated work one run may ask for, in handsets x hours of simulated time: the size of
#: benchmarks/fleet.py (20,000 handsets for an hour), or 27 handsets for the 30 days a time may reach.
#: A run costs a few ms and some 25 KB per handset-hour (docs/scenarios.md, "Limits"). **choice**
MAX_HANDSET_HOURS = 20_000


@dataclass(frozen=True, slots=True, kw_only=True)
class Forward:
    """One forwarding type as written; None means "not given" (kept on a portal change, not checked in
    an expectation, the server's default for a user's initial state)."""

    active: bool | None = None
    to: str | None = None
    rings: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FeatureState:
    """A subset of the feature state: None means "not given" (expectations, portal changes)."""

    dnd: bool | None = None
    cfa: Forward | None = None
    cfb: Forward | None = None
    cfna: Forward | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class HandsetSpec:
    ipui: Ipui
    type: str | None
    user: str
    password: str | None
    feature_key_sync: bool
    dect_manager: int
    registered: bool
    where: str


@dataclass(frozen=True, slots=True, kw_only=True)
class UserSpec:
    user: str
    state: FeatureState
    where: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerSpec:
    fks: bool = True
    reject: dict[str, int] = field(default_factory=dict)
    delay: float = 0.0
    users: tuple[UserSpec, ...] = ()
    #: per-user knobs, `scenarios.server_knobs.Knobs`
    knobs: dict[str, dict[str, tuple[Any, ...]]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class BaseSpec:
    internal_telephony: bool | None = None
    dect_managers: int | None = None
    provisioning: str | None = None   # inline XML text, already read from the file when a path was given
    provisioning_source: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    where: str = ""
    #: `file:line: base.<key>` of each key given, for problems found per model.
    key_where: dict[str, str] = field(default_factory=dict)

    def where_of(self, key: str) -> str:
        return self.key_where.get(key, f"{self.where}.{key}")


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One scheduled action. `kind` is the action; `handset` is set for handset actions."""

    at: float
    kind: str
    args: dict[str, Any]
    where: str
    handset: Ipui | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Expectation:
    """One check; `at` is None for `at: end`."""

    index: int
    at: float | None
    kind: str
    args: dict[str, Any]
    where: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    title: str
    file: str
    models: tuple[str, ...] | None   # None for "all"
    seed: int
    duration: float
    base: BaseSpec
    handsets: tuple[HandsetSpec, ...]
    server: ServerSpec
    network: dict[str, float]
    steps: tuple[Step, ...]
    expectations: tuple[Expectation, ...]
