"""Running one scenario on one model: build the world, schedule the steps and the expectations, run to
the scenario's duration, and describe what happened as a `RunResult` (spec/scenarios-and-cli.md §3).

One responsibility: the scenario file's meaning in terms of `scenarios.world.World`. The checks a
model or a handset's menu tree must make before anything runs live in `scenarios.preflight`; the
expectations are evaluated by `scenarios.expect`.

Choices (docs/scenarios.md):
- At the start the base is set up in this order: handsets and their accounts, `base.provisioning`,
  `base.params`, `base.internal_telephony`; then everything is powered on at t=0.
- A server user named only by a handset starts with the default state; a user's password is the one
  the first of its handsets gives, so digest authentication succeeds.
- Steps run in time order, those at the same time in file order. An expectation at the same time as a
  step sees the state right after the step; one at `end` sees the state at `duration`.
- A step that raises, or a failure inside the world, does not end the program: the run is failed, its
  `error` names the step (file and line) and the exception, and the messages logged so far are kept.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware.nvm import INTERNAL_TELEPHONY_PARAM
from firmware.provisioning import Diagnostic
from scenarios.capture import write_capture
from scenarios.expect import check_count, check_now, not_evaluated
from scenarios.results import ExpectationResult, RunResult
from scenarios.server_knobs import KNOB_KEYS
from scenarios.spec import FEATURES, Expectation, FeatureState, Forward, Scenario, Step
from scenarios.trace import format_trace
from scenarios.world.collector import collector_for_bounded_run
from scenarios.world.decode import message_json
from scenarios.world.links import NetworkSettings
from scenarios.world.world import World
from sip.state import DEFAULT_RINGS, Forwarding
from sip.state import FeatureState as ServerFeatureState


@dataclass(frozen=True, slots=True, kw_only=True)
class Job:
    """One run to carry out: what a worker process needs (all of it picklable)."""

    scenario: Scenario
    model: str
    seed: int
    pcap_dir: str | None = None
    pcap_stem: str | None = None
    #: keep every message's bytes in the result (`RunResult.wire`) for the HTML report
    keep_wire: bool = False


# ------------------------------------------------------------------------------ building the world


def _forwarding(value: Forward | None, *, rings: bool) -> Forwarding:
    if value is None:
        return Forwarding(rings=DEFAULT_RINGS) if rings else Forwarding()
    return Forwarding(active=bool(value.active), to=value.to or "",
                      rings=(value.rings if value.rings is not None else DEFAULT_RINGS) if rings else None)


def server_state(state: FeatureState) -> ServerFeatureState:
    """A user's initial state on the server: what the file gives, the server's defaults for the rest."""
    return ServerFeatureState(
        dnd=bool(state.dnd), cfa=_forwarding(state.cfa, rings=False), cfb=_forwarding(state.cfb, rings=False),
        cfna=_forwarding(state.cfna, rings=True))


def portal_change(state: FeatureState) -> dict[str, Any]:
    """A portal step's changes as `World.portal` takes them; forwarding fields not given are kept."""
    out: dict[str, Any] = {}
    for feature in FEATURES:
        value = getattr(state, feature)
        if isinstance(value, Forward):
            out[feature] = {k: getattr(value, k) for k in ("active", "to", "rings")
                            if getattr(value, k) is not None}
        elif value is not None:
            out[feature] = value
    return out


def build_world(scenario: Scenario, model: str, seed: int, *,
                keep_log: bool = True) -> tuple[World, list[Diagnostic]]:
    """The world of `scenario` on `model`, set up for t=0 but not started; with the provisioning findings."""
    base = scenario.base
    world = World(model, seed=seed, dect_managers=base.dect_managers or 1,
                  network=NetworkSettings(**scenario.network), keep_log=keep_log)
    passwords: dict[str, str] = {}
    for handset in scenario.handsets:
        if handset.password is not None:
            passwords.setdefault(handset.user, handset.password)
    users = {u.user: u.state for u in scenario.server.users}
    for handset in scenario.handsets:
        users.setdefault(handset.user, FeatureState())
    for user, state in users.items():
        world.add_user(user, password=passwords.get(user), state=server_state(state), fks=scenario.server.fks)
    world.configure_server(reject=scenario.server.reject, delay=scenario.server.delay,
                           knobs=scenario.server.knobs)
    for handset in scenario.handsets:
        world.add_handset(handset.ipui, handset.user, password=passwords.get(handset.user),
                          feature_key_sync=handset.feature_key_sync, dect_manager=handset.dect_manager,
                          handset_type=handset.type, registered=handset.registered)
    diagnostics: list[Diagnostic] = []
    if base.provisioning is not None:
        diagnostics += world.provision(base.provisioning, base.provisioning_source or scenario.file)
    if base.params:
        diagnostics += world.set_params(base.params, base.where_of("params"))
    if base.internal_telephony is not None:
        diagnostics += world.set_params({INTERNAL_TELEPHONY_PARAM: "1" if base.internal_telephony else "0"},
                                        base.where_of("internal_telephony"))
    return world, diagnostics


def step_action(world: World, step: Step) -> Callable[[], None]:
    """What a step does, as a call on the world."""
    args = step.args
    ipui = step.handset
    if step.kind == "menu":
        assert ipui is not None
        return lambda: world.menu(ipui, args["path"], args["form"])
    if step.kind == "keys":
        assert ipui is not None
        return lambda: world.keys(ipui, args["keys"])
    if step.kind == "dial":
        assert ipui is not None
        return lambda: world.dial(ipui, args["digits"])
    if step.kind == "out_of_range":
        assert ipui is not None
        return lambda: world.set_out_of_range(ipui, args["out_of_range"])
    if step.kind == "register":
        assert ipui is not None
        return lambda: world.register(ipui, args["pin"])
    if step.kind == "roam_to":
        assert ipui is not None
        return lambda: world.roam(ipui, args["dect_manager"])
    if step.kind == "portal":
        return lambda: world.portal(args["user"], portal_change(args["state"]))
    if step.kind == "fac":
        return lambda: world.fac(args["user"], args["code"])
    if step.kind == "call":
        return lambda: world.call(args["id"], args["caller"], args["user"])
    if step.kind == "hangup":
        return lambda: world.hangup(args["id"])
    if step.kind == "network":
        return lambda: world.configure_network(**args["settings"])
    if step.kind == "base":
        return _base_action(world, args)
    if step.kind == "server":
        if args.get("event") == "restart":
            return world.server_restart
        change = args["change"]
        knobs = {key: change[key] for key in KNOB_KEYS if key in change}
        return lambda: world.configure_server(fks=change.get("fks"), reject=change.get("reject"),
                                              delay=change.get("delay"), knobs=knobs)
    raise ValueError(f"unknown step kind {step.kind!r}")


def _base_action(world: World, args: dict[str, Any]) -> Callable[[], None]:
    event = args.get("event")
    if event is not None:
        return {"reboot": world.reboot, "power_off": world.power_off, "power_on": world.power_on}[event]
    change = args["change"]

    def apply() -> None:
        if change.get("provisioning") is not None:
            world.provision(change["provisioning"], change["provisioning_source"])
        if change.get("params"):
            world.set_params(change["params"], "web interface")
        if change.get("internal_telephony") is not None:
            world.set_internal_telephony(change["internal_telephony"])
        for ipui, active in change.get("feature_key_sync", {}).items():
            world.set_feature_key_sync(ipui, active)

    return apply


# ------------------------------------------------------------------------------ running


class _Run:
    """The state of one run while the simulation advances."""

    def __init__(self, scenario: Scenario, world: World) -> None:
        self.scenario = scenario
        self.world = world
        self.errors: list[str] = []
        self.results: dict[int, ExpectationResult] = {}

    def guarded(self, where: str, action: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                action()
            except Exception as err:  # a scenario's failure is reported, never raised
                self.errors.append(f"{where}: at {self.world.now:g}s: {type(err).__name__}: {err}")
        return run

    def evaluate(self, e: Expectation) -> Callable[[], None]:
        def run() -> None:
            try:
                self.results[e.index] = check_now(e, self.world)
            except Exception as err:  # reported as this expectation's failure
                self.results[e.index] = not_evaluated(e, f"{type(err).__name__}: {err}")
        return run

    def schedule(self) -> None:
        duration = self.scenario.duration
        for step in self.scenario.steps:
            self.world.at(step.at, self.guarded(step.where, step_action(self.world, step)))
        for e in self.scenario.expectations:
            if e.kind in ("handset", "server", "fks", "call") and e.at is not None and e.at < duration:
                self.world.at(e.at, self.evaluate(e))

    def run(self) -> None:
        world = self.world
        duration = self.scenario.duration
        try:
            world.start()
            world.run(duration)
            # Events due exactly at `duration` (simpy's `until` stops before them) belong to the run.
            while world.env.peek() <= duration:
                world.env.step()
        except Exception as err:  # a failure inside the world fails this run only
            self.errors.append(f"{self.scenario.file}: at {world.now:g}s: the simulation failed: "
                               f"{type(err).__name__}: {err}")

    def finish(self, messages: list[dict[str, Any]]) -> tuple[ExpectationResult, ...]:
        stopped = bool(self.errors) and self.world.now < self.scenario.duration
        out: list[ExpectationResult] = []
        for e in self.scenario.expectations:
            at = self.scenario.duration if e.at is None else e.at
            if stopped and at > self.world.now:
                out.append(not_evaluated(e, f"the run stopped at {self.world.now:g}s"))
            elif e.kind in ("sip", "dect"):
                out.append(check_count(e, at, messages))
            elif e.index in self.results:
                out.append(self.results[e.index])
            else:
                out.append(self.evaluate_late(e))
        return tuple(out)

    def evaluate_late(self, e: Expectation) -> ExpectationResult:
        self.evaluate(e)()
        return self.results[e.index]


def run_scenario(scenario: Scenario, model: str, *, seed: int | None = None) -> tuple[RunResult, World]:
    """Run `scenario` on `model` (seed: the file's unless given). Never raises for what the scenario
    does; `preflight.check` must have passed for this pair."""
    seed = scenario.seed if seed is None else seed
    started = time.perf_counter()
    world, _diagnostics = build_world(scenario, model, seed)
    run = _Run(scenario, world)
    run.schedule()
    run.run()
    messages = [message_json(entry) for entry in world.log.entries]
    expectations = run.finish(messages)
    error = "\n".join(run.errors) if run.errors else None
    passed = error is None and all(e.passed for e in expectations)
    handsets = [h.ipui for h in scenario.handsets]
    # The gating verdict exists for handsets the base has registered (not for one still to register).
    fks = {str(ipui): _verdict(world, ipui) for ipui in handsets if world.store.handset(ipui) is not None}
    final = {"handsets": {str(ipui): world.handset_state(ipui) for ipui in handsets},
             "server": {user.name: world.server_state(user.name) for user in world.server.directory}}
    if world.calls.calls:
        final["calls"] = world.calls.as_json(world.now)
    notices = world.notices
    trace = format_trace(scenario.title, world.profile.id, seed, messages,
                         [e.as_json() for e in expectations], passed, error=error,
                         notices=[n for n in notices if "user" not in n])
    result = RunResult(
        scenario=scenario.title, file=scenario.file, model=world.profile.id, seed=seed, passed=passed,
        sim_time=world.now, wall_time=time.perf_counter() - started, expectations=expectations,
        messages=tuple(messages), fks=fks, final=final, trace=trace, error=error,
        notices=tuple(notices),
    )
    return result, world


def _verdict(world: World, ipui: Any) -> dict[str, Any]:
    verdict = world.verdict(ipui)
    return {"supported": verdict.supported, "active": verdict.active, "reason": verdict.reason}


def run_job(job: Job) -> RunResult:
    """A worker's entry point: run one job, write its captures if asked; picklable in and out."""
    started = time.perf_counter()
    try:
        with collector_for_bounded_run():   # a job is a run with an end: see scenarios/world/collector.py
            result, world = run_scenario(job.scenario, job.model, seed=job.seed)
    except Exception as err:  # building the world or describing the run failed: still one failed run
        error = f"{job.scenario.file}: the run could not be carried out: {type(err).__name__}: {err}"
        expectations = tuple(not_evaluated(e, "the run could not be carried out")
                             for e in job.scenario.expectations)
        trace = format_trace(job.scenario.title, job.model, job.seed, [], [e.as_json() for e in expectations],
                             False, error=error)
        return RunResult(scenario=job.scenario.title, file=job.scenario.file, model=job.model, seed=job.seed,
                         passed=False, sim_time=0.0, wall_time=time.perf_counter() - started,
                         expectations=expectations, trace=trace, error=error)
    if job.pcap_dir is not None:
        stem = job.pcap_stem or pcap_stem(job.scenario.file, job.model)
        write_capture(world.log.entries, Path(job.pcap_dir), stem)
    if job.keep_wire:
        result = dataclasses.replace(result, wire=tuple(entry.data for entry in world.log.entries))
    return result


def pcap_stem(file: str, model: str) -> str:
    """Capture names come from the scenario file (with its folder, so library files of the same name in
    different model folders do not collide) and the model: `n670_dnd-menu-N670`."""
    path = Path(file)
    folder = path.parent.name
    return f"{folder}_{path.stem}-{model}" if folder else f"{path.stem}-{model}"
