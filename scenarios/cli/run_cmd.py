"""`fksim run` and `fksim check` (contract: spec/scenarios-and-cli.md §1).

`fksim run PATH...` reads every scenario file (a folder: every `*.yaml` below it, in sorted order),
validates all of them and checks every (scenario, model) pair before running anything: bad input is
listed as `file:line: field: problem` and exits 2 with nothing run. Then each pair runs, serially or
in a process pool (`--jobs N`); results are reported in the same deterministic order either way
(files in order, models in profile order), so `--jobs` never changes an output file. Exit status 0
when every expectation held, 1 otherwise.

`--model NAME|all` replaces the models the files name. A pair the model cannot run at all (the file
sets internal telephony and the model has no such setting, or it asks for more DECT managers than the
model runs) is skipped, and listed as skipped, when the model was asked for by `--model` but is not
named by the file; when the file itself names the model it is bad input.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, replace
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from models.errors import ConfigError
from models.profiles import load_profiles
from scenarios.preflight import check as preflight
from scenarios.results import (
    RunResult,
    Skipped,
    count_line,
    print_matrix,
    print_summary,
    write_json,
    write_junit,
)
from scenarios.runner import Job, pcap_stem, run_job
from scenarios.spec import Scenario
from scenarios.validate import load_scenario
from scenarios.yamlsrc import ScenarioError, bounded_problems

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
#: The largest seed, as in a scenario file (`seed:` is 0 to 2**63 - 1).
MAX_SEED = 2**63 - 1
#: The most worker processes `--jobs` may ask for. **choice**
MAX_JOBS = 256


class BadInput(Exception):
    """Problems found before anything ran; one `file:line: field: problem` per entry."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Plan:
    jobs: list[Job]
    skipped: list[tuple[Scenario, str, str]]   # scenario, model, why
    files: int


def scenario_files(paths: Sequence[Path]) -> list[Path]:
    """The files named, folders expanded to every `*.yaml` below them (sorted), each once."""
    out: list[Path] = []
    problems: list[str] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.rglob("*.yaml") if p.is_file())
            if not found:
                problems.append(f"{path}: no scenario files (*.yaml) in this folder")
            out += found
        elif path.is_file():
            out.append(path)
        elif path.exists():
            problems.append(f"{path}: is not a regular file (a device, a pipe or a socket)")
        else:
            problems.append(f"{path}: no such file or folder")
    if problems:
        raise BadInput(problems)
    return list(dict.fromkeys(out))


def load_all(paths: Sequence[Path]) -> tuple[list[Scenario], list[str]]:
    """Every file that validates, and every problem of the others (all of them, in file order)."""
    known = load_profiles().ids
    scenarios: list[Scenario] = []
    problems: list[str] = []
    for path in scenario_files(paths):
        try:
            scenarios.append(load_scenario(path, known))
        except ScenarioError as err:
            problems += err.problems
    return scenarios, problems


def plan_all(paths: Sequence[Path], override: tuple[str, ...] | None, seed: int | None,
             pcap_dir: Path | None) -> Plan:
    """Validate every file and check every pair it would run; raises BadInput with every problem of
    every file in one list (the files that validate are still checked against their models)."""
    scenarios, problems = load_all(paths)
    try:
        plan = make_plan(scenarios, override, seed, pcap_dir)
    except BadInput as err:
        problems += err.problems
    if problems:
        raise BadInput(problems)
    return plan


def model_override(name: str | None) -> tuple[str, ...] | None:
    if name is None:
        return None
    profiles = load_profiles()
    if name.strip().lower() == "all":
        return profiles.ids
    try:
        return (profiles.get(name).id,)
    except ConfigError as err:
        raise BadInput([f"--model: {err}"]) from None


def make_plan(scenarios: Sequence[Scenario], override: tuple[str, ...] | None, seed: int | None,
              pcap_dir: Path | None) -> Plan:
    """Every (scenario, model) pair to run, checked; raises BadInput listing every problem."""
    all_ids = load_profiles().ids
    jobs: list[Job] = []
    skipped: list[tuple[Scenario, str, str]] = []
    problems: list[str] = []
    seen: set[str] = set()   # the same problem found on several models is listed once
    for scenario in scenarios:
        named = scenario.models if scenario.models is not None else all_ids
        for model in override if override is not None else named:
            found = preflight(scenario, model)
            if found.not_applicable and override is not None and model not in named:
                skipped.append((scenario, model, found.not_applicable[0]))
                continue
            fresh = [p for p in found.problems if p not in seen]
            seen.update(fresh)
            problems += fresh
            jobs.append(Job(scenario=scenario, model=model, seed=scenario.seed if seed is None else seed,
                            pcap_dir=None if pcap_dir is None else str(pcap_dir),
                            pcap_stem=pcap_stem(scenario.file, model)))
    if not problems and not jobs and skipped:
        problems = [f"{scenario.file}: does not apply to {model}: {why}" for scenario, model, why in skipped]
        problems.append("--model: no scenario applies to the model(s) asked for")
    if problems:
        raise BadInput(problems)
    return Plan(jobs=jobs, skipped=skipped, files=len(scenarios))


def execute(jobs: Sequence[Job], workers: int, progress: Progress | None = None,
            scheduler: str | None = None) -> list[RunResult]:
    """Run the jobs, in a process pool when `workers` > 1, on a Dask cluster when a `scheduler` is
    named; results in the order of `jobs` either way."""
    task = progress.add_task("running", total=len(jobs)) if progress is not None else None
    results: list[RunResult | None] = [None] * len(jobs)
    if scheduler is not None:
        from scenarios.fleet.cluster import dask_client, run_on

        def done(_index: int, _result: RunResult) -> None:
            if progress is not None and task is not None:
                progress.advance(task)

        with dask_client(scheduler=scheduler) as client:
            return run_on(client, run_job, jobs, done)
    if workers <= 1 or len(jobs) <= 1:
        for index, job in enumerate(jobs):
            results[index] = run_job(job)
            if progress is not None and task is not None:
                progress.advance(task)
    else:
        # Never more processes than runs: on Linux the pool forks all of its workers at the start.
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs))) as pool:
            futures = {pool.submit(run_job, job): index for index, job in enumerate(jobs)}
            for future in as_completed(futures):
                results[futures[future]] = future.result()
                if progress is not None and task is not None:
                    progress.advance(task)
    return [r for r in results if r is not None]


def _bad_input(problems: list[str]) -> None:
    for problem in bounded_problems(problems):   # each line cut, and at most MAX_PROBLEMS of them
        click.echo(problem, err=True)
    click.echo(f"fksim: {len(problems)} problem(s); nothing run", err=True)
    sys.exit(EXIT_BAD_INPUT)


def _progress(console: Console, enabled: bool) -> Progress:
    return Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=True, disable=not enabled)


def _report_skipped(skipped: Sequence[tuple[Scenario, str, str]], console: Console) -> None:
    """One line per file: the models asked for by --model that it cannot run on, and why."""
    by_file: dict[str, tuple[list[str], str]] = {}
    for scenario, model, why in skipped:
        models, _ = by_file.setdefault(scenario.file, ([], why))
        models.append(model)
    if by_file:
        console.print(f"skipped {len(skipped)} run(s) that do not apply to the model:", markup=False)
    for file, (models, why) in by_file.items():
        console.print(f"  {file} on {', '.join(models)}: {why}", markup=False)


def _report_failures(results: Sequence[RunResult], console: Console) -> None:
    for result in results:
        if result.passed:
            continue
        console.print(f"[red]FAILED[/] {escape(f'{result.file} [{result.model}]: {result.scenario}')}",
                      highlight=False)
        if result.error:
            for line in result.error.splitlines():
                console.print(f"  error: {line}", highlight=False, markup=False)
        for e in result.expectations:
            if not e.passed:
                at = "end" if e.at is None else f"{e.at:g}s"
                console.print(f"  [{e.index}] at {at}: {e.message}", highlight=False, markup=False)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--model", "model", metavar="NAME|all",
              help="Run on this model (or every model) instead of the file's models.")
@click.option("--seed", type=click.IntRange(min=0, max=MAX_SEED),
              help="Seed for every run instead of the file's seed.")
@click.option("--jobs", type=click.IntRange(min=1, max=MAX_JOBS), default=1, show_default=True,
              help="Runs in parallel (a process pool); results are the same as a serial run.")
@click.option("--scheduler", metavar="tcp://HOST:PORT",
              help="Run on this Dask scheduler's cluster instead (docs/fleet.md); results as a serial run.")
@click.option("--json", "json_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the result (spec §3) to this file.")
@click.option("--junit", "junit_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write JUnit XML, one test case per scenario and model.")
@click.option("--pcap", "pcap_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Write one capture per run into this folder: <folder>_<file>-<model>.pcapng "
                   "(<file>-<model>.pcapng for a file named without a folder), the SIP (Ethernet/IPv4/UDP) "
                   "and DECT NWK frames (one interface per DECT manager) in time order.")
@click.option("--html", "html_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write one self-contained HTML report to this file: per run a ladder of every DECT and "
                   "SIP message with the expectations marked; a click on an arrow shows the message decoded "
                   "and its bytes.")
@click.option("--trace", is_flag=True, help="Print the readable ladder of every run.")
@click.option("--quiet", is_flag=True, help="No progress bar and no table: failures and the count only.")
@click.option("--verbose", is_flag=True,
              help="The full table, one row per run, instead of the scenario x model matrix.")
def run(paths: tuple[Path, ...], model: str | None, seed: int | None, jobs: int, scheduler: str | None,
        json_file: Path | None, junit_file: Path | None, pcap_dir: Path | None, html_file: Path | None,
        trace: bool, quiet: bool, verbose: bool) -> None:
    """Run scenario files (a folder: every *.yaml below it), each on the models it names."""
    if scheduler is not None and pcap_dir is not None:
        pcap_dir = pcap_dir.resolve()   # the workers write the captures, from their own working directory
    try:
        plan = plan_all(paths, model_override(model), seed, pcap_dir)
    except BadInput as err:
        _bad_input(err.problems)
        return
    if html_file is not None:   # the report shows each message's bytes: the runs keep them
        plan = replace(plan, jobs=[replace(job, keep_wire=True) for job in plan.jobs])
    out = Console(highlight=False)
    if not out.is_terminal:
        out.width = max(out.width, 160)   # a log file or a pipe: keep one row per run
    err_console = Console(stderr=True)
    with _progress(err_console, not quiet and len(plan.jobs) > 1) as progress:
        try:
            results = execute(plan.jobs, jobs, progress, scheduler)
        except ConfigError as err:
            _bad_input([str(err)])
            return
    if trace:
        for result in results:
            # soft_wrap: a ladder line is never broken by the console (a pipe or file keeps it whole).
            out.print(result.trace, markup=False, end="", soft_wrap=True)
            out.print()
    skipped = [Skipped(scenario=scenario.title, file=scenario.file, model=model, why=why)
               for scenario, model, why in plan.skipped]
    if json_file is not None:
        write_json(results, json_file, skipped=skipped)
    if junit_file is not None:
        write_junit(results, junit_file, skipped=skipped)
    if html_file is not None:
        from scenarios.html_report import write_html
        write_html(results, html_file, skipped=skipped)
    all_ids = load_profiles().ids
    foreign = frozenset((job.scenario.file, job.model) for job in plan.jobs
                        if job.model not in (job.scenario.models or all_ids))
    if not quiet:
        if verbose:
            print_summary(results, out, foreign)
        else:
            print_matrix(results, all_ids, out, foreign)
        _report_skipped(plan.skipped, out)
    _report_failures(results, out)
    out.print(count_line(results, len(plan.skipped)))
    sys.exit(0 if all(r.passed for r in results) else EXIT_FAILED)


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
def check(paths: tuple[Path, ...]) -> None:
    """Validate scenario files without running them (each against every model it names)."""
    try:
        plan = plan_all(paths, None, None, None)
    except BadInput as err:
        _bad_input(err.problems)
        return
    click.echo(f"{plan.files} scenario file(s) valid: {len(plan.jobs)} run(s) of scenario and model")
