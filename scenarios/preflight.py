"""The checks a scenario needs per model before it runs: what the validator cannot know without a
model profile, a handset's menu tree or the base's provisioning rules.

One responsibility: find every problem of one (scenario, model) pair as `file:line: field: problem`,
so that `fksim run` can refuse bad input with exit status 2 before running anything:

- `base.internal_telephony` (or a step changing it) on a model without that setting;
- `base.dect_managers` beyond what the model runs, handsets or `roam_to` on a DECT manager that is
  not there;
- an unknown handset `type`; a `menu` path the handset's menu tree does not have (compiled with the
  handset's own `compile_menu`, so the message suggests the closest entry);
- more handsets registered at the start than the model holds (per system, per DECT manager);
- provisioning (at the start or in a step) that does not parse or has errors for this model;
- a step or an expectation after the end of the run, and a run longer than the limit of simulated
  time (a `Scenario` built without the validator, which refuses such times itself).

Problems of the first kind (the model lacks the setting, runs fewer DECT managers or holds fewer
handsets) also make the pair *not applicable*: when `--model` asks for models the file does not
name, such pairs are skipped rather than refused (docs/scenarios.md).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from dect.errors import DectError
from firmware.provisioning import lint, parse_provisioning
from models.errors import ConfigError
from models.handset_types import get_handset_type
from models.profiles import ModelProfile, get_profile
from scenarios.runner import build_world
from scenarios.spec import DEFAULT_TAIL, Scenario, Step
from scenarios.yamlsrc import MAX_TIME


@dataclass(slots=True)
class Preflight:
    problems: list[str] = field(default_factory=list)
    #: Why the model cannot run this scenario at all (a missing setting, too few DECT managers).
    not_applicable: list[str] = field(default_factory=list)

    def model_problem(self, message: str, why: str) -> None:
        self.problems.append(message)
        self.not_applicable.append(why)


def _managers(profile: ModelProfile) -> int:
    return profile.capacities.per_system.dect_managers.value


def check(scenario: Scenario, model: str) -> Preflight:
    profile = get_profile(model)
    out = Preflight()
    base = scenario.base
    has_it = profile.has_internal_telephony_setting.value
    if base.internal_telephony is not None and not has_it:
        out.model_problem(f"{base.where_of('internal_telephony')}: {profile.id} has no internal telephony "
                          "setting (only N610 and N670 have it)", "no internal telephony setting")
    managers = base.dect_managers or 1
    if managers > _managers(profile):
        out.model_problem(f"{base.where_of('dect_managers')}: {profile.id} runs at most {_managers(profile)} "
                          f"DECT manager(s), not {managers}", f"fewer than {managers} DECT managers")
    _check_capacity(scenario, profile, out)
    for handset in scenario.handsets:
        if handset.dect_manager > managers:
            out.problems.append(f"{handset.where}.dect_manager: there is no DECT manager "
                                f"{handset.dect_manager} (base.dect_managers is {managers})")
        if handset.type is not None:
            try:
                get_handset_type(handset.type)
            except ConfigError as err:
                out.problems.append(f"{handset.where}.type: {err}")
    for step in scenario.steps:
        _check_step(step, profile, managers, out)
    _check_times(scenario, out)
    if not out.problems:
        _check_world(scenario, profile, out)
    return out


def _check_capacity(scenario: Scenario, profile: ModelProfile, out: Preflight) -> None:
    """Handsets registered at the start within the profile's capacities (base-models.md §1), named at
    the first handset with no room; a handset that registers by PIN while running is refused by the
    firmware itself when there is no room."""
    registered = [h for h in scenario.handsets if h.registered]
    caps = profile.capacities
    system = caps.per_system.handsets.value
    if len(registered) > system:
        out.model_problem(f"{registered[system].where}: {profile.id} holds at most {system} handsets, and "
                          f"this file registers {len(registered)}", f"fewer than {len(registered)} handsets")
        return   # the per-DECT-manager count would only say it again
    per_dm = caps.per_dect_manager.handsets.value
    seen: Counter[int] = Counter()
    for handset in registered:
        seen[handset.dect_manager] += 1
        if seen[handset.dect_manager] == per_dm + 1:
            total = sum(1 for h in registered if h.dect_manager == handset.dect_manager)
            out.model_problem(f"{handset.where}: {profile.id} holds at most {per_dm} handsets per DECT "
                              f"manager, and this file registers {total} on DECT manager "
                              f"{handset.dect_manager}", f"fewer than {total} handsets per DECT manager")


def _check_step(step: Step, profile: ModelProfile, managers: int, out: Preflight) -> None:
    if step.kind == "roam_to" and step.args["dect_manager"] > managers:
        out.problems.append(f"{step.where}.roam_to: there is no DECT manager {step.args['dect_manager']} "
                            f"(base.dect_managers is {managers})")
    if step.kind == "base" and step.args.get("change", {}).get("internal_telephony") is not None \
            and not profile.has_internal_telephony_setting.value:
        out.model_problem(f"{step.where}.base.internal_telephony: {profile.id} has no internal telephony "
                          "setting (only N610 and N670 have it)", "no internal telephony setting")


def _check_times(scenario: Scenario, out: Preflight) -> None:
    end = scenario.duration
    if not math.isfinite(end) or not 0 <= end <= MAX_TIME + DEFAULT_TAIL:
        out.problems.append(f"{scenario.file}: duration {end:g}s is not from 0 to the limit of "
                            f"{MAX_TIME:.0f}s (30 days)")
        return
    for step in scenario.steps:
        if step.at > end:
            out.problems.append(f"{step.where}.at: {step.at:g}s is after the end of the run ({end:g}s)")
    for e in scenario.expectations:
        if e.at is not None and e.at > end:
            out.problems.append(f"{e.where}.at: {e.at:g}s is after the end of the run ({end:g}s)")


def _check_world(scenario: Scenario, profile: ModelProfile, out: Preflight) -> None:
    """Build the world as the run will, then compile every menu path and lint every provisioning."""
    try:
        world, diagnostics = build_world(scenario, profile.id, scenario.seed, keep_log=False)
    except ConfigError as err:
        where = scenario.base.where if scenario.base.where else scenario.file
        out.problems.append(f"{where}: {err}")
        return
    out.problems += [f"{scenario.base.where_of('provisioning')}: {d}" for d in diagnostics if d.is_error]
    for step in scenario.steps:
        if step.kind == "menu":
            assert step.handset is not None
            form = step.args["form"]
            path = [*step.args["path"], form] if form is not None else step.args["path"]
            try:
                world.handset(step.handset).compile_menu(path)
            except DectError as err:
                out.problems.append(f"{step.args['where']}: {err}")
        elif step.kind == "base" and step.args.get("change", {}).get("provisioning") is not None:
            change = step.args["change"]
            try:
                doc = parse_provisioning(change["provisioning"], source=change["provisioning_source"])
            except ConfigError as err:
                out.problems.append(f"{step.where}.base.provisioning: {err}")
                continue
            findings = lint(doc, profile, world.store.internal_telephony, handsets=world.store.handsets())
            out.problems += [f"{step.where}.base.provisioning: {d}" for d in findings if d.is_error]
