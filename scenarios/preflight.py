"""The checks a scenario needs per model before it runs: what the validator cannot know without a
model profile, a handset's menu tree or the base's provisioning rules.

One responsibility: find every problem of one (scenario, model) pair as `file:line: field: problem`,
so that `fksim run` can refuse bad input with exit status 2 before running anything:

- `base.internal_telephony` (or a step changing it) on a model without that setting;
- `base.dect_managers` beyond what the model runs, handsets or `roam_to` on a DECT manager that is
  not there;
- an unknown handset `type`; a `menu` path the handset's menu tree does not have (compiled with the
  handset's own `compile_menu`, so the message suggests the closest entry);
- provisioning (at the start or in a step) that does not parse or has errors for this model;
- a step or an expectation after the end of the run.

Problems of the first kind (the model lacks the setting, or runs fewer DECT managers) also make the
pair *not applicable*: when `--model` asks for models the file does not name, such pairs are skipped
rather than refused (docs/scenarios.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dect.errors import DectError
from firmware.provisioning import lint, parse_provisioning
from models.errors import ConfigError
from models.handset_types import get_handset_type
from models.profiles import ModelProfile, get_profile
from scenarios.runner import build_world
from scenarios.spec import Scenario, Step


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
