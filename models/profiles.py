"""Model profiles: what each Gigaset base model is and can hold, loaded once from `models/profiles/*.yaml`.

One YAML file per model (spec/base-models.md §1). Every number, and every other stated property,
is written ``{value: ..., source: fact|likely|choice}`` so that a user sees which limits are
documented and which are estimates; the loader keeps that mark next to the value (`Marked`).

The loader is strict: an unknown key, a missing field, a value of the wrong type or a source other
than fact / likely / choice is a `ConfigError` naming the file, the line and the field, e.g.
``n610.yaml:14: capacities.per_base.parallel_calls.g711.value: expected a positive integer``.

Profiles are frozen dataclasses built once per directory (`load_profiles` is cached) and passed
around explicitly; there is no global configuration object (conventions point 9). Integrator
profiles name the model of the DECT managers and bases under them (`member_model`, N870) and take
their per-base and per-DECT-manager capacities from it.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from models.errors import ConfigError

T = TypeVar("T")

#: Where the shipped profiles live.
PROFILE_DIR = Path(__file__).with_name("profiles")


class Source(enum.Enum):
    """Where a number comes from (the marks of spec/base-models.md)."""

    FACT = "fact"
    LIKELY = "likely"
    CHOICE = "choice"


class SystemType(enum.Enum):
    SINGLE_CELL = "single-cell"
    SMALL_MULTICELL = "small-multicell"
    MULTICELL = "multicell"
    INTEGRATOR = "integrator"


class FksFeature(enum.Enum):
    """The four features FKS keeps in sync (feature-key-sync.md §1)."""

    DND = "dnd"
    CFA = "cfa"
    CFB = "cfb"
    CFNA = "cfna"


@dataclass(frozen=True, slots=True)
class Marked(Generic[T]):
    """A value with the mark of where it comes from."""

    value: T
    source: Source

    def __str__(self) -> str:
        return f"{self.value} ({self.source.value})"


@dataclass(frozen=True, slots=True, kw_only=True)
class CodecCalls:
    """Parallel calls by codec set: G.711 only / with G.729 / with G.722."""

    g711: Marked[int]
    g729: Marked[int]
    g722: Marked[int]


@dataclass(frozen=True, slots=True, kw_only=True)
class PerBase:
    parallel_calls: CodecCalls
    #: None where no base of the model acts as DECT manager besides the all-in-one case.
    parallel_calls_as_dect_manager: CodecCalls | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PerDectManager:
    bases: Marked[int]
    handsets: Marked[int]
    parallel_channels: Marked[int] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PerSystem:
    dect_managers: Marked[int]
    bases: Marked[int]
    handsets: Marked[int]
    parallel_calls: Marked[int] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Capacities:
    per_base: PerBase
    per_dect_manager: PerDectManager
    per_system: PerSystem


@dataclass(frozen=True, slots=True, kw_only=True)
class ModelProfile:
    """One base model. `id` is the canonical model id (`N610`, `embedded-integrator`, ...)."""

    id: str
    name: str
    description: str
    system_type: Marked[SystemType]
    radio: Marked[bool]
    roles: Marked[tuple[str, ...]]
    has_internal_telephony_setting: Marked[bool]
    fks_features: Marked[frozenset[FksFeature]]
    firmware_version: Marked[str]
    capacities: Capacities
    #: For integrators: the model id of the DECT managers and bases under it.
    member_model: str | None = None
    #: The file it was loaded from, for messages.
    path: Path | None = None

    @property
    def is_integrator(self) -> bool:
        return self.member_model is not None

    @property
    def multicell(self) -> bool:
        return self.system_type.value is not SystemType.SINGLE_CELL

    def syncs(self, feature: FksFeature) -> bool:
        return feature in self.fks_features.value


@dataclass(frozen=True, slots=True)
class ProfileSet:
    """All profiles of one directory, in a stable order; look-ups are case-insensitive."""

    profiles: tuple[ModelProfile, ...]

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(profile.id for profile in self.profiles)

    def __iter__(self) -> Iterator[ModelProfile]:
        return iter(self.profiles)

    def __len__(self) -> int:
        return len(self.profiles)

    def get(self, model_id: str) -> ModelProfile:
        """The profile for `model_id` (any case); an unknown id is a ConfigError listing the valid ones."""
        wanted = str(model_id).strip().casefold()
        for profile in self.profiles:
            if profile.id.casefold() == wanted:
                return profile
        raise ConfigError(f'unknown model "{model_id}"; valid models: {", ".join(self.ids)}')


#: The order models are listed in (spec/base-models.md §1); others follow alphabetically.
_ORDER = ("n610", "n670", "n870", "n870e", "embedded-integrator", "virtual-integrator")


@functools.lru_cache(maxsize=8)
def load_profiles(directory: Path | None = None) -> ProfileSet:
    """Load and validate every `*.yaml` in `directory` (default: the shipped profiles), once."""
    folder = Path(directory) if directory is not None else PROFILE_DIR
    if not folder.is_dir():
        raise ConfigError("profile directory not found", where=str(folder))
    files = sorted(
        folder.glob("*.yaml"),
        key=lambda p: (_ORDER.index(p.stem.lower()) if p.stem.lower() in _ORDER else len(_ORDER), p.stem),
    )
    if not files:
        raise ConfigError("no model profiles (*.yaml) found", where=str(folder))
    documents = {path: _read_yaml(path) for path in files}
    by_id: dict[str, ModelProfile] = {}
    # Base models first: an integrator takes its member model's per-base and per-DECT-manager figures.
    for path in sorted(files, key=lambda p: "member_model" in documents[p]):
        profile = _build(path, documents[path], by_id)
        key = profile.id.casefold()
        if key in by_id:
            other = by_id[key].path
            raise ConfigError(f'model id "{profile.id}" is also defined in {other}', where=str(path))
        by_id[key] = profile
    return ProfileSet(tuple(by_id[_id_of(documents[path], path)] for path in files))


def _id_of(document: CommentedMap, path: Path) -> str:
    return str(document.get("id", path.stem)).casefold()


def get_profile(model_id: str, directory: Path | None = None) -> ModelProfile:
    """The shipped (or `directory`'s) profile for `model_id`, case-insensitive."""
    return load_profiles(directory).get(model_id)


# --- loading ------------------------------------------------------------------------------------


class _Node:
    """A YAML mapping being read, remembering its file and dotted field path for error messages."""

    def __init__(self, data: CommentedMap, path: Path, field: str) -> None:
        self.data = data
        self.path = path
        self.field = field
        self.seen: set[str] = set()

    def _line(self, key: str | None = None) -> int:
        try:
            if key is not None and key in self.data:
                return int(self.data.lc.key(key)[0]) + 1
            return int(self.data.lc.line) + 1
        except (AttributeError, KeyError, TypeError):
            return 1

    def error(self, key: str | None, message: str) -> ConfigError:
        name = f"{self.field}.{key}" if self.field and key else (key or self.field or "(top level)")
        return ConfigError(f"{name}: {message}", where=f"{self.path}:{self._line(key)}")

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str) -> Any:
        self.seen.add(key)
        if key not in self.data:
            raise self.error(key, "missing")
        return self.data[key]

    def child(self, key: str) -> _Node:
        value = self.raw(key)
        if not isinstance(value, CommentedMap):
            raise self.error(key, "expected a mapping")
        return _Node(value, self.path, f"{self.field}.{key}" if self.field else key)

    def text(self, key: str) -> str:
        value = self.raw(key)
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, "expected non-empty text")
        return str(value)

    def marked(self, key: str, convert: Any) -> Marked[Any]:
        """Read ``key: {value: ..., source: ...}``, converting the value with `convert(node, value)`."""
        node = self.child(key)
        source_text = node.raw("source")
        try:
            source = Source(source_text)
        except ValueError:
            valid = ", ".join(s.value for s in Source)
            raise node.error("source", f'"{source_text}" is not one of {valid}') from None
        value = convert(node, node.raw("value"))
        node.finish()
        return Marked(value, source)

    def finish(self) -> None:
        """Unknown keys are errors: a typo must not silently fall back to a default."""
        for key in self.data:
            if key not in self.seen:
                raise self.error(str(key), "unknown key")


def _positive_int(node: _Node, value: Any) -> int:
    # bool is an int subclass in Python; `yes` must not read as 1.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise node.error("value", f"expected a positive integer, got {value!r}")
    return int(value)


def _bool(node: _Node, value: Any) -> bool:
    if not isinstance(value, bool):
        raise node.error("value", f"expected true or false, got {value!r}")
    return value


def _text(node: _Node, value: Any) -> str:
    if not isinstance(value, str | int | float) or isinstance(value, bool) or not str(value).strip():
        raise node.error("value", f"expected non-empty text, got {value!r}")
    return str(value)


def _system_type(node: _Node, value: Any) -> SystemType:
    try:
        return SystemType(value)
    except ValueError:
        valid = ", ".join(t.value for t in SystemType)
        raise node.error("value", f'"{value}" is not one of {valid}') from None


def _roles(node: _Node, value: Any) -> tuple[str, ...]:
    if not isinstance(value, CommentedSeq) or not value or not all(isinstance(r, str) and r for r in value):
        raise node.error("value", "expected a non-empty list of role names")
    return tuple(str(role) for role in value)


def _features(node: _Node, value: Any) -> frozenset[FksFeature]:
    if not isinstance(value, CommentedSeq):
        raise node.error("value", "expected a list of features (dnd, cfa, cfb, cfna)")
    features = set()
    for item in value:
        try:
            features.add(FksFeature(str(item).lower()))
        except ValueError:
            valid = ", ".join(f.value for f in FksFeature)
            raise node.error("value", f'"{item}" is not an FKS feature; valid: {valid}') from None
    return frozenset(features)


def _codec_calls(node: _Node) -> CodecCalls:
    calls = CodecCalls(
        g711=node.marked("g711", _positive_int),
        g729=node.marked("g729", _positive_int),
        g722=node.marked("g722", _positive_int),
    )
    node.finish()
    return calls


def _optional_marked(node: _Node, key: str) -> Marked[int] | None:
    return node.marked(key, _positive_int) if node.has(key) else None


def _read_yaml(path: Path) -> CommentedMap:
    try:
        data = YAML(typ="rt").load(path.read_text(encoding="utf-8"))
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise ConfigError(f"not valid YAML: {err.problem or err.context}", where=f"{path}:{line}") from None
    except YAMLError as err:
        raise ConfigError(f"not valid YAML: {err}", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read: {err}", where=str(path)) from None
    if not isinstance(data, CommentedMap):
        raise ConfigError("a profile must be a mapping of fields", where=f"{path}:1")
    return data


def _build(path: Path, data: CommentedMap, known: dict[str, ModelProfile]) -> ModelProfile:
    """Validate one profile document; `known` holds the base models loaded so far (for integrators)."""
    top = _Node(data, path, "")
    profile_id = top.text("id")
    if profile_id.casefold() != path.stem.casefold():
        raise top.error("id", f'"{profile_id}" does not match the file name "{path.name}"')
    member: ModelProfile | None = None
    if top.has("member_model"):
        member_id = top.text("member_model")
        member = known.get(member_id.casefold())
        if member is None:
            raise top.error("member_model", f'names unknown model "{member_id}" (not in {path.parent})')
        if member.member_model is not None:
            raise top.error("member_model", f'"{member.id}" is itself an integrator; name a base model')

    caps = top.child("capacities")
    if member is not None:
        for key in ("per_base", "per_dect_manager"):
            if caps.has(key):
                raise caps.error(key, f"comes from the member model {member.id}; do not repeat it here")
        per_base, per_dm = member.capacities.per_base, member.capacities.per_dect_manager
    else:
        per_base = _per_base(caps.child("per_base"))
        per_dm = _per_dect_manager(caps.child("per_dect_manager"))
    node = caps.child("per_system")
    per_system = PerSystem(
        dect_managers=node.marked("dect_managers", _positive_int),
        bases=node.marked("bases", _positive_int),
        handsets=node.marked("handsets", _positive_int),
        parallel_calls=_optional_marked(node, "parallel_calls"),
    )
    node.finish()
    caps.finish()

    profile = ModelProfile(
        id=profile_id,
        name=top.text("name"),
        description=top.text("description"),
        system_type=top.marked("system_type", _system_type),
        radio=top.marked("radio", _bool),
        roles=top.marked("roles", _roles),
        has_internal_telephony_setting=top.marked("has_internal_telephony_setting", _bool),
        fks_features=top.marked("fks_features", _features),
        firmware_version=top.marked("firmware_version", _text),
        capacities=Capacities(per_base=per_base, per_dect_manager=per_dm, per_system=per_system),
        member_model=member.id if member is not None else None,
        path=path,
    )
    top.finish()
    _check_consistency(profile, top, caps)
    return profile


def _per_base(node: _Node) -> PerBase:
    dm_key = "parallel_calls_as_dect_manager"
    as_dm = node.child(dm_key) if node.has(dm_key) else None
    per_base = PerBase(
        parallel_calls=_codec_calls(node.child("parallel_calls")),
        parallel_calls_as_dect_manager=_codec_calls(as_dm) if as_dm is not None else None,
    )
    node.finish()
    return per_base


def _per_dect_manager(node: _Node) -> PerDectManager:
    per_dm = PerDectManager(
        bases=node.marked("bases", _positive_int),
        handsets=node.marked("handsets", _positive_int),
        parallel_channels=_optional_marked(node, "parallel_channels"),
    )
    node.finish()
    return per_dm


def _check_consistency(profile: ModelProfile, top: _Node, caps: _Node) -> None:
    system = profile.capacities.per_system
    if profile.system_type.value is SystemType.SINGLE_CELL and system.bases.value != 1:
        raise caps.error("per_system.bases", "a single-cell model has exactly one base")
    if profile.member_model is None:
        dm = profile.capacities.per_dect_manager
        if system.handsets.value > dm.handsets.value * system.dect_managers.value:
            raise caps.error(
                "per_system.handsets",
                f"{system.handsets.value} exceeds {system.dect_managers.value} DECT manager(s) "
                f"x {dm.handsets.value} handsets",
            )
    if profile.has_internal_telephony_setting.value and profile.member_model is not None:
        raise top.error("has_internal_telephony_setting", "integrators have no internal-telephony setting")


def profile_as_dict(profile: ModelProfile) -> dict[str, Any]:
    """Plain JSON-ready data: every marked value as ``{"value": ..., "source": ...}`` as in the file."""
    data = _plain(profile)
    data.pop("path", None)
    assert isinstance(data, dict)
    return data


def _plain(item: Any) -> Any:
    if isinstance(item, Marked):
        return {"value": _plain(item.value), "source": item.source.value}
    if isinstance(item, enum.Enum):
        return item.value
    if isinstance(item, frozenset):
        # The only sets in a profile are FKS feature sets: list them in documented order, not hash order.
        return [f.value for f in FksFeature if f in item]
    if isinstance(item, tuple | list):
        return [_plain(i) for i in item]
    if isinstance(item, Path):
        return str(item)
    if hasattr(item, "__dataclass_fields__"):
        return {name: _plain(getattr(item, name)) for name in item.__dataclass_fields__}
    return item
