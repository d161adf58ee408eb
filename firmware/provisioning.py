"""Provisioning: check a parsed provisioning file against a model, and apply it to the NVM in one transaction.

The file format and its rules are spec/base-models.md §3. Reading the XML is
`firmware.provisioning_xml`; names, types and ranges are `firmware.provisioning_params`. This module
walks the document in order, the way the base does, and turns it into a list of store actions plus
diagnostics (``file:line: level: message``):

- ``DeleteNotProvisionedHS`` must come first when present [fact]; it removes every handset the file
  does not add (``add_hs``).
- ``add_hs`` opens a handset slot, by IPUI (the vendor's examples) or by zero-padded index
  (``00001``, some provisioning systems) [fact]; a handset added by IPUI takes the lowest free index,
  which is how later index-keyed parameters find it. A handset already on the base keeps its slot.
- ``hs.<id>.RegStatus`` = ``ToReg`` opens registration; ``ToDeReg`` de-registers the handset and
  deletes its account settings [fact]. ToReg on a handset that is already registered leaves it
  registered [choice: provisioning runs at every boot, and must not force re-registration].
- A parameter for a handset that was never added, an unknown name or a value out of range is an error
  at its line; ``FeatureKeySyncActive=1`` that the gating rule (`firmware.gating`) will not let take
  effect is a warning.

`lint` only reports. `apply` reports too, skips the items in error [choice: like a base that ignores
what it does not understand; `strict=True` applies nothing when there is any error] and performs the
rest inside one `NvmStore.transaction()`, so a crash mid-apply leaves the old state or the new one.
"""

from __future__ import annotations

import contextlib
import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from dect.errors import IdentityError
from dect.identity import Ipui
from firmware.gating import check_internal_telephony, fks_verdict
from firmware.nvm import Account, Handset, NvmStore, RegStatus, SipProvider, TrunkDirection
from firmware.provisioning_params import (
    HANDSET_PARAMS,
    ParamName,
    UnknownParameter,
    parse_name,
    parse_trunk,
    transport,
)
from firmware.provisioning_xml import (
    Diagnostic,
    Level,
    Oper,
    Param,
    ProvisioningDoc,
    ProvisioningSyntaxError,
    parse_provisioning,
)
from models.errors import ConfigError
from models.profiles import ModelProfile

__all__ = [
    "Action",
    "Diagnostic",
    "Level",
    "ProvisioningDoc",
    "ProvisioningError",
    "ProvisioningSyntaxError",
    "apply",
    "doc_from_params",
    "has_errors",
    "lint",
    "parse_provisioning",
    "plan",
]

OPERS = ("DeleteNotProvisionedHS", "add_hs", "assign_handsets_to_trunk", "unassign_hs_from_trunk")
#: A zero-padded handset index as some provisioning systems write it (``00001``) [fact].
_INDEX_RE = re.compile(r"[0-9]{1,5}")


class ProvisioningError(ConfigError):
    """`apply(strict=True)` found errors: nothing was applied. `diagnostics` holds all findings."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        errors = [d for d in self.diagnostics if d.is_error]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{errors[0]}{more}; nothing applied" if errors else "provisioning failed")


# --- actions: what applying does to the store, in order ------------------------------------------


@dataclass(frozen=True, slots=True)
class DeleteHandsets:
    indices: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class AddHandset:
    index: int
    ipui: Ipui | None


@dataclass(frozen=True, slots=True)
class SetRegStatus:
    index: int
    status: RegStatus


@dataclass(frozen=True, slots=True)
class RemoveHandset:
    index: int


@dataclass(frozen=True, slots=True)
class SetDectAc:
    index: int
    pin: str


@dataclass(frozen=True, slots=True)
class SetAccountField:
    index: int
    field: str
    value: Any


@dataclass(frozen=True, slots=True)
class SetProviderField:
    provider: int
    field: str
    value: Any


@dataclass(frozen=True, slots=True)
class SetSystemParam:
    name: str
    value: str


@dataclass(frozen=True, slots=True)
class SetInternalTelephony:
    enabled: bool


@dataclass(frozen=True, slots=True)
class SetAdminPassword:
    password: str


@dataclass(frozen=True, slots=True)
class Trunk:
    index: int
    trunk: int
    direction: TrunkDirection
    assign: bool


Action = (
    DeleteHandsets
    | AddHandset
    | SetRegStatus
    | RemoveHandset
    | SetDectAc
    | SetAccountField
    | SetProviderField
    | SetSystemParam
    | SetInternalTelephony
    | SetAdminPassword
    | Trunk
)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    actions: tuple[Action, ...]
    diagnostics: tuple[Diagnostic, ...]


def doc_from_params(params: Mapping[str, str], *, source: str, line: int = 0) -> ProvisioningDoc:
    """A document of plain `<param>`s, e.g. a scenario's raw `base.params` applied after provisioning.

    `line` is reported for every parameter (the caller's line for the mapping, 0 when unknown).
    """
    items = tuple(Param(name=str(name), value=str(value), line=line) for name, value in params.items())
    return ProvisioningDoc(source=source, version=None, product_id=None, items=items)


def has_errors(diagnostics: Sequence[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)


# --- planning -----------------------------------------------------------------------------------


@dataclass(slots=True)
class _Slot:
    ipui: Ipui | None
    status: RegStatus


class _Planner:
    """Walks a document in file order against a model and a starting set of handsets."""

    def __init__(
        self,
        doc: ProvisioningDoc,
        profile: ModelProfile,
        internal_telephony: bool,
        handsets: Sequence[Handset],
    ) -> None:
        self.doc = doc
        self.profile = profile
        self.capacity = profile.capacities.per_system.handsets.value
        self.slots = {h.index: _Slot(h.ipui, h.reg_status) for h in handsets}
        self.by_ipui = {h.ipui: h.index for h in handsets if h.ipui is not None}
        #: No index below this one is free (keeps "lowest free index" O(1) amortised for big systems).
        self.free_hint = 1
        self.on_base = {h.index for h in handsets}
        self.gone: dict[Ipui | int, str] = {}
        self.internal_telephony = internal_telephony
        self.internal_telephony_line: int | None = None
        self.fks: dict[int, tuple[int, bool]] = {}
        self.trunk_lines: list[int] = []
        #: (provider, field) -> (line, value) of the SipProvider parameters this file sets
        self.provider_values: dict[tuple[int, str], tuple[int, Any]] = {}
        self.actions: list[Action] = []
        self.diagnostics: list[Diagnostic] = list(doc.problems)

    # diagnostics

    def report(self, line: int, message: str, level: Level = Level.ERROR) -> None:
        self.diagnostics.append(Diagnostic(source=self.doc.source, line=line, level=level, message=message))

    # handsets

    def _occupy(self, index: int, slot: _Slot) -> None:
        self.slots[index] = slot
        if slot.ipui is not None:
            self.by_ipui[slot.ipui] = index

    def _vacate(self, index: int, reason: str) -> None:
        slot = self.slots.pop(index)
        self.gone[index] = reason
        if slot.ipui is not None:
            del self.by_ipui[slot.ipui]
            self.gone[slot.ipui] = reason
        self.fks.pop(index, None)
        self.free_hint = min(self.free_hint, index)

    def _free_index(self) -> int | None:
        while self.free_hint in self.slots:
            self.free_hint += 1
        return self.free_hint if self.free_hint <= self.capacity else None

    def parse_id(self, text: str, line: int) -> Ipui | int | None:
        """A handset id: 10 hex digits (IPUI) or a zero-padded index such as 00001 [fact]."""
        value = text.strip()
        if _INDEX_RE.fullmatch(value):
            index = int(value)
            if not 1 <= index <= self.capacity:
                self.report(
                    line, f"handset index {value} is out of range 1..{self.capacity} on {self.profile.id}"
                )
                return None
            return index
        try:
            return Ipui.parse(value)
        except IdentityError as err:
            self.report(line, f"handset id {err} (or a zero-padded index such as 00001)")
            return None

    def resolve(self, text: str, line: int) -> int | None:
        """The slot index of an existing handset, or an error saying why there is none."""
        ref = self.parse_id(text, line)
        if ref is None:
            return None
        index = self.by_ipui.get(ref) if isinstance(ref, Ipui) else (ref if ref in self.slots else None)
        if index is not None:
            return index
        if ref in self.gone:
            self.report(line, f"handset {text.strip()} {self.gone[ref]}")
        else:
            elsewhere = ", nor on the base" if self.on_base else ""
            self.report(
                line,
                f"handset {text.strip()} was never added (no add_hs for it earlier in the file{elsewhere})",
            )
        return None

    # items

    def run(self) -> Plan:
        for position, item in enumerate(self.doc.items):
            if isinstance(item, Param):
                self.param(item)
            elif item.name == "DeleteNotProvisionedHS":
                self.delete_not_provisioned(item, first=position == 0)
            elif item.name == "add_hs":
                self.add_hs(item)
            elif item.name in ("assign_handsets_to_trunk", "unassign_hs_from_trunk"):
                self.trunk(item)
            else:
                close = difflib.get_close_matches(item.name, OPERS, n=1)
                hint = f' (did you mean "{close[0]}"?)' if close else ""
                self.report(item.line, f'unknown oper "{item.name}"{hint}')
        self.final_checks()
        ordered = sorted(self.diagnostics, key=lambda d: d.line)
        return Plan(actions=tuple(self.actions), diagnostics=tuple(ordered))

    def delete_not_provisioned(self, oper: Oper, *, first: bool) -> None:
        if not first:
            # base-models.md §3: "<oper name="DeleteNotProvisionedHS"/> must come first when present" [fact]
            self.report(oper.line, "DeleteNotProvisionedHS must be the first element of <nvm>; skipped")
            return
        keep: set[Ipui | int] = set()
        for item in self.doc.items:
            if isinstance(item, Oper) and item.name == "add_hs" and item.value is not None:
                value = item.value.strip()
                # An id that does not parse is reported where the add_hs itself is planned.
                with contextlib.suppress(IdentityError):
                    keep.add(int(value) if _INDEX_RE.fullmatch(value) else Ipui.parse(value))
        doomed = tuple(
            index for index, slot in sorted(self.slots.items()) if index not in keep and slot.ipui not in keep
        )
        for index in doomed:
            self._vacate(index, f"was removed by DeleteNotProvisionedHS at line {oper.line}")
        if doomed:
            self.actions.append(DeleteHandsets(doomed))

    def add_hs(self, oper: Oper) -> None:
        if oper.value is None:
            self.report(oper.line, 'add_hs has no "value" (the handset IPUI or index)')
            return
        ref = self.parse_id(oper.value, oper.line)
        if ref is None:
            return
        index = self.by_ipui.get(ref) if isinstance(ref, Ipui) else (ref if ref in self.slots else None)
        if index is None:
            index = self._free_index() if isinstance(ref, Ipui) else ref
            if index is None:
                self.report(
                    oper.line, f"no free handset slot: {self.profile.id} holds at most {self.capacity}"
                )
                return
            self._occupy(index, _Slot(ref if isinstance(ref, Ipui) else None, RegStatus.NOT_REG))
            self.gone.pop(ref, None)
            self.gone.pop(index, None)
            self.actions.append(AddHandset(index, ref if isinstance(ref, Ipui) else None))
        if (
            not any(p.name == "hs.RegStatus" for p in oper.params)
            and self.slots[index].status is RegStatus.NOT_REG
        ):
            self.report(
                oper.line,
                f"handset {oper.value} is added without hs.RegStatus=ToReg: it cannot register",
                Level.WARNING,
            )
        for param in oper.params:
            field = param.name.removeprefix("hs.")
            if not param.name.startswith("hs.") or field not in HANDSET_PARAMS:
                self.report(
                    param.line,
                    f'unexpected parameter "{param.name}" inside add_hs '
                    "(expected hs.RegStatus or hs.DECT_AC)",
                )
                continue
            self.handset_param(index, field, param)

    def handset_param(self, index: int, field: str, param: Param) -> None:
        try:
            value = HANDSET_PARAMS[field].convert(param.value)
        except ValueError as err:
            self.report(param.line, f"{param.name}: {err}")
            return
        if field == "DECT_AC":
            self.actions.append(SetDectAc(index, value))
        elif value == "ToDeReg":
            # "de-registering also deletes the handset's account settings" (base-models.md §3) [fact]
            self._vacate(index, f"was de-registered (ToDeReg) at line {param.line}")
            self.actions.append(RemoveHandset(index))
        elif self.slots[index].status is RegStatus.NOT_REG:
            self.slots[index].status = RegStatus.TO_REG
            self.actions.append(SetRegStatus(index, RegStatus.TO_REG))

    def param(self, param: Param) -> None:
        try:
            name = parse_name(param.name)
        except UnknownParameter as err:
            self.report(param.line, str(err))
            return
        try:
            value = name.spec.convert(param.value)
        except ValueError as err:
            self.report(param.line, f"{param.name}: {err}")
            return
        match name.family:
            case "account":
                self.account_param(name, value, param)
            case "handset":
                assert name.handset_id is not None
                index = self.resolve(name.handset_id, param.line)
                if index is not None:
                    self.handset_param(index, name.field, param)
            case "provider":
                assert name.provider is not None
                typed = transport(value) if name.field == "transport_protocol" else value
                self.provider_values[(name.provider, name.field)] = (param.line, value)
                self.actions.append(SetProviderField(name.provider, name.field, typed))
            case "system":
                self.actions.append(SetSystemParam(name.field, value))
            case "admin":
                self.actions.append(SetAdminPassword(value))
            case _:
                self.internal_telephony_param(bool(value), param)

    def account_param(self, name: ParamName, value: Any, param: Param) -> None:
        assert name.handset_id is not None
        index = self.resolve(name.handset_id, param.line)
        if index is None:
            return
        if name.field == "feature_key_sync_active":
            self.fks[index] = (param.line, bool(value))
        self.actions.append(SetAccountField(index, name.field, value))

    def internal_telephony_param(self, enabled: bool, param: Param) -> None:
        try:
            check_internal_telephony(self.profile, enabled)
        except ConfigError as err:
            self.report(param.line, f"{param.name}: {err}")
            return
        if not self.profile.has_internal_telephony_setting.value:
            self.report(
                param.line,
                f"{param.name}=0 has no effect: {self.profile.id} has no internal telephony setting",
                Level.WARNING,
            )
            return
        self.internal_telephony = enabled
        self.internal_telephony_line = param.line
        self.actions.append(SetInternalTelephony(enabled))

    def trunk(self, oper: Oper) -> None:
        if not self.profile.has_internal_telephony_setting.value:
            self.report(oper.line, f"{oper.name}: {self.profile.id} has no internal telephony, so no trunks")
            return
        try:
            trunk = parse_trunk(oper.value or "")
        except ValueError as err:
            self.report(oper.line, f"{oper.name}: {err}")
            return
        assign = oper.name == "assign_handsets_to_trunk"
        if not oper.params:
            self.report(oper.line, f"{oper.name} names no handsets (params receive, send)", Level.WARNING)
        for param in oper.params:
            if param.name not in ("receive", "send"):
                self.report(
                    param.line,
                    f'unexpected parameter "{param.name}" inside {oper.name} (expected receive or send)',
                )
                continue
            direction = TrunkDirection(param.name)
            for handset_id in filter(None, re.split(r"[,\s]+", param.value)):
                index = self.resolve(handset_id, param.line)
                if index is not None:
                    self.actions.append(Trunk(index, trunk, direction, assign))
        self.trunk_lines.append(oper.line)

    def final_checks(self) -> None:
        """Findings that depend on the whole file: FKS gating and trunks without internal telephony."""
        where = f" (enabled at line {self.internal_telephony_line})" if self.internal_telephony_line else ""
        for index, (line, enabled) in self.fks.items():
            if not enabled or index not in self.slots:
                continue
            verdict = fks_verdict(
                self.profile, internal_telephony=self.internal_telephony, feature_key_sync_active=True
            )
            if not verdict.active:
                self.report(
                    line,
                    f"FeatureKeySyncActive=1 will not take effect on {self.profile.id}: "
                    f"{verdict.reason}{where}",
                    Level.WARNING,
                )
        for (provider, field), (line, mode) in self.provider_values.items():
            # docs/sip.md "Transports and next hops": modes 1 and 2 send every request to the outbound
            # proxy, which needs an address.
            if field == "outbound_proxy_mode" and mode in (1, 2) and \
                    not self.provider_values.get((provider, "outbound_proxy_address"), (0, ""))[1]:
                self.report(
                    line,
                    f"SipProvider.{provider}.OutboundProxyMode={mode} takes effect only with a "
                    f"SipProvider.{provider}.OutboundProxyAddress (this file sets none)",
                    Level.WARNING,
                )
        if not self.internal_telephony:
            for line in self.trunk_lines:
                self.report(
                    line,
                    "trunk assignments take effect only while internal telephony is enabled",
                    Level.WARNING,
                )


def plan(
    doc: ProvisioningDoc,
    profile: ModelProfile,
    *,
    internal_telephony: bool = False,
    handsets: Sequence[Handset] = (),
) -> Plan:
    """The actions `doc` performs on a base of `profile` that has `handsets`, with all diagnostics.

    Enabling `internal_telephony` on a model without that setting is a ConfigError.
    """
    check_internal_telephony(profile, internal_telephony)
    return _Planner(doc, profile, internal_telephony, handsets).run()


def lint(
    doc: ProvisioningDoc,
    profile: ModelProfile,
    internal_telephony: bool = False,
    *,
    handsets: Sequence[Handset] = (),
) -> list[Diagnostic]:
    """Every error and warning `doc` gives on a base of `profile` (fresh, unless `handsets` are given)."""
    return list(plan(doc, profile, internal_telephony=internal_telephony, handsets=handsets).diagnostics)


# --- applying -----------------------------------------------------------------------------------


def apply(
    doc: ProvisioningDoc, store: NvmStore, profile: ModelProfile, *, strict: bool = False
) -> list[Diagnostic]:
    """Apply `doc` to `store` in one transaction; items in error are skipped (or, if `strict`, all)."""
    result = plan(doc, profile, internal_telephony=store.internal_telephony, handsets=store.handsets())
    if strict and has_errors(result.diagnostics):
        raise ProvisioningError(result.diagnostics)
    with store.transaction():
        for action in result.actions:
            _execute(store, action)
    return list(result.diagnostics)


def _execute(store: NvmStore, action: Action) -> None:
    match action:
        case DeleteHandsets(indices):
            for index in indices:
                store.remove_handset(index)
        case AddHandset(index, ipui):
            store.add_handset(ipui=ipui, index=index, reg_status=RegStatus.NOT_REG)
        case SetRegStatus(index, status):
            store.set_reg_status(index, status)
        case RemoveHandset(index):
            store.remove_handset(index)
        case SetDectAc(index, pin):
            store.set_dect_ac(index, pin)
        case SetAccountField(index, field, value):
            account = store.account(index) or Account()
            store.put_account(index, replace(account, **{field: value}))
        case SetProviderField(provider_id, field, value):
            provider = store.provider(provider_id) or SipProvider(provider_id=provider_id)
            store.put_provider(replace(provider, **{field: value}))
        case SetSystemParam(name, value):
            store.set_system_param(name, value)
        case SetInternalTelephony(enabled):
            store.set_internal_telephony(enabled)
        case SetAdminPassword(password):
            # A provisioned password is deliberate: no forced change at the next login.
            store.set_admin_password(password, must_change=False)
        case Trunk(index, trunk, direction, assign):
            if assign:
                store.assign_trunk(index, trunk, direction)
            else:
                store.unassign_trunk(index, trunk, direction)
