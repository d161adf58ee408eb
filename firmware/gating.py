"""FKS gating: the one place that decides whether Feature Key Synchronization works for a handset.

The rule (spec/feature-key-sync.md §1, base-models.md §1-2):

- FKS is valid for every model of the family, but N610 and N670 have a system setting "Internal
  telephony"; while it is enabled FKS is **not supported** on that base [fact] (the SIP accounts
  become shared trunk lines, and FKS is per handset account [likely]).
- N870, N870E and the integrators have no such setting; enabling it there is a configuration error,
  never a silent no-op (issue 2, point 3).
- FKS is off by default and enabled **per handset** with ``SipAccount.<id>.FeatureKeySyncActive=1``.

`fks_verdict` answers for one handset: `supported` (the base, as configured, can do FKS) and
`active` (supported and switched on for this handset), with the reason when either is false.
`handset_verdict` asks the same for a handset as stored in the base's NVM. Everything else that
needs the answer (provisioning lint, the FKS application, the web interface, scenario expectations)
asks here.
"""

from __future__ import annotations

from dataclasses import dataclass

from dect.identity import Ipui
from firmware.nvm import NvmError, NvmStore
from models.errors import ConfigError
from models.profiles import ModelProfile

#: Reasons, worded as scenario files match them (`fks: {reason: internal telephony}`).
REASON_INTERNAL_TELEPHONY = "internal telephony enabled"
REASON_FLAG_OFF = "FeatureKeySyncActive=0"
REASON_NO_FEATURES = "model syncs no FKS features"


@dataclass(frozen=True, slots=True, kw_only=True)
class FksVerdict:
    """Whether FKS is supported on the base and active for the handset; `reason` says why not."""

    supported: bool
    active: bool
    reason: str | None

    def __post_init__(self) -> None:
        # Active implies supported, and a reason is given exactly when something is off.
        if self.active and not self.supported:
            raise ValueError("an FKS verdict cannot be active without being supported")
        if (self.reason is None) != self.active:
            raise ValueError("an FKS verdict has a reason exactly when it is not active")


def check_internal_telephony(profile: ModelProfile, enabled: bool) -> None:
    """Refuse enabling internal telephony on a model that has no such setting.

    Disabling it is always allowed: it is the only state such a model has.
    """
    if enabled and not profile.has_internal_telephony_setting.value:
        raise ConfigError(
            f'{profile.id} has no "Internal telephony" setting (only models that have it, '
            f"such as N610 and N670, can enable it)"
        )


def base_verdict(profile: ModelProfile, *, internal_telephony: bool) -> FksVerdict:
    """Whether the base, so configured, supports FKS at all (ignoring any handset flag)."""
    check_internal_telephony(profile, internal_telephony)
    if not profile.fks_features.value:
        return FksVerdict(supported=False, active=False, reason=REASON_NO_FEATURES)
    if internal_telephony:
        # feature-key-sync.md §1: "While it is enabled, FKS is not supported on that base." [fact]
        return FksVerdict(supported=False, active=False, reason=REASON_INTERNAL_TELEPHONY)
    return FksVerdict(supported=True, active=True, reason=None)


def fks_verdict(
    profile: ModelProfile, *, internal_telephony: bool, feature_key_sync_active: bool
) -> FksVerdict:
    """The verdict for one handset account on a base of `profile` with that configuration."""
    base = base_verdict(profile, internal_telephony=internal_telephony)
    if not base.supported:
        return base
    if not feature_key_sync_active:
        # FKS is off by default and enabled per handset (feature-key-sync.md §1) [fact].
        return FksVerdict(supported=True, active=False, reason=REASON_FLAG_OFF)
    return base


def handset_verdict(profile: ModelProfile, store: NvmStore, handset: Ipui | int) -> FksVerdict:
    """The verdict for a handset as the base's NVM has it: its internal-telephony setting and the
    handset account's FeatureKeySyncActive flag (no account yet: the firmware default, 0)."""
    if store.handset(handset) is None:
        raise NvmError(f"{store.path}: no handset {handset}")
    account = store.account(handset)
    return fks_verdict(
        profile,
        internal_telephony=store.internal_telephony,
        feature_key_sync_active=account is not None and account.feature_key_sync_active,
    )


def set_internal_telephony(profile: ModelProfile, store: NvmStore, enabled: bool) -> None:
    """Change the setting in the NVM (web interface, scenario step), refusing it where the model has none."""
    check_internal_telephony(profile, enabled)
    store.set_internal_telephony(enabled)
