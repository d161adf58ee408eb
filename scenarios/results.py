"""The outcome of scenario runs and the files it is written to: the result JSON (spec §3), JUnit XML,
and the summary table printed after `fksim run`.

JSON keys are written in a fixed order with no wall-clock time except each run's `wall_time`; the
`--json` file is therefore identical between two runs of the same seed except for those fields, and
`result_json(..., wall_times=False)` leaves them out for determinism tests.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from rich.console import Console
from rich.markup import escape
from rich.table import Table

RESULT_VERSION = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class ExpectationResult:
    index: int
    at: float | None
    passed: bool
    message: str

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "at": self.at, "passed": self.passed, "message": self.message}


@dataclass(frozen=True, slots=True, kw_only=True)
class RunResult:
    """One scenario on one model. `error` is set when the run could not be carried out for this model
    (e.g. the scenario asks for internal telephony on a model without that setting)."""

    scenario: str
    file: str
    model: str
    seed: int
    passed: bool
    sim_time: float
    wall_time: float
    expectations: tuple[ExpectationResult, ...] = ()
    messages: tuple[dict[str, Any], ...] = ()
    fks: dict[str, dict[str, Any]] = field(default_factory=dict)
    final: dict[str, Any] = field(default_factory=dict)
    trace: str = ""
    error: str | None = None
    #: the base's system-log lines ({"t", "from", "text"}): requests it refused, parts it left out
    notices: tuple[dict[str, Any], ...] = ()
    #: the bytes of each message of `messages`, in the same order; kept only when a job asks for them
    #: (`fksim run --html`), never written to the result JSON
    wire: tuple[bytes, ...] = ()

    def as_json(self, *, wall_time: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "scenario": self.scenario, "file": self.file, "model": self.model, "seed": self.seed,
            "passed": self.passed, "sim_time": round(self.sim_time, 6),
        }
        if wall_time:
            out["wall_time"] = round(self.wall_time, 3)
        if self.error is not None:
            out["error"] = self.error
        out.update({
            "expectations": [e.as_json() for e in self.expectations],
            "messages": list(self.messages),
            "fks": self.fks,
            "final": self.final,
        })
        if self.notices:
            out["notices"] = list(self.notices)  # an extension: present only when the base logged any
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Skipped:
    """A scenario x model pair that does not apply (asked for by `--model`, impossible on that model)."""

    scenario: str
    file: str
    model: str
    why: str

    def as_json(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "file": self.file, "model": self.model, "why": self.why}


def result_json(runs: Sequence[RunResult], *, wall_times: bool = True,
                skipped: Sequence[Skipped] = ()) -> dict[str, Any]:
    """The contract's result document; `skipped` (an extension) is present only when there are some."""
    passed = sum(1 for r in runs if r.passed)
    out: dict[str, Any] = {"version": RESULT_VERSION, "passed": passed, "failed": len(runs) - passed,
                           "runs": [r.as_json(wall_time=wall_times) for r in runs]}
    if skipped:
        out["skipped"] = [s.as_json() for s in skipped]
    return out


def write_json(runs: Sequence[RunResult], path: Path, *, skipped: Sequence[Skipped] = ()) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    document = result_json(runs, skipped=skipped)
    path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def write_junit(runs: Sequence[RunResult], path: Path, *, skipped: Sequence[Skipped] = ()) -> None:
    """One <testcase> per run: classname = scenario file, name = "scenario title [model]"; pairs
    that do not apply to their model are test cases with <skipped>, as CI systems expect."""
    failures = sum(1 for r in runs if not r.passed and r.error is None)
    errors = sum(1 for r in runs if r.error is not None)
    suite = ET.Element("testsuite", name="fksim", tests=str(len(runs) + len(skipped)), failures=str(failures),
                       errors=str(errors), skipped=str(len(skipped)),
                       time=f"{sum(r.wall_time for r in runs):.3f}")
    for run in runs:
        case = ET.SubElement(suite, "testcase", classname=run.file, name=f"{run.scenario} [{run.model}]",
                             time=f"{run.wall_time:.3f}")
        if run.error is not None:
            ET.SubElement(case, "error", message=run.error).text = run.error
        elif not run.passed:
            failed = [e for e in run.expectations if not e.passed]
            text = "\n".join(f"[{e.index}] at {'end' if e.at is None else f'{e.at:g}s'}: {e.message}"
                             for e in failed)
            ET.SubElement(case, "failure", message=f"{len(failed)} expectation(s) failed").text = text
        if run.trace:
            ET.SubElement(case, "system-out").text = run.trace
    for pair in skipped:
        case = ET.SubElement(suite, "testcase", classname=pair.file, name=f"{pair.scenario} [{pair.model}]",
                             time="0.000")
        ET.SubElement(case, "skipped", message=pair.why)
    path.parent.mkdir(parents=True, exist_ok=True)
    root = ET.Element("testsuites", tests=suite.get("tests", "0"), failures=str(failures), errors=str(errors),
                      skipped=str(len(skipped)))
    root.append(suite)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _file_label(file: str) -> str:
    """`folder/name` of a scenario file: short, and unique within a library organised by folder."""
    path = Path(file)
    return f"{path.parent.name}/{path.stem}" if path.parent.name else path.stem


#: Below this console width the table leaves out the scenario titles (the file names them).
WIDE = 130


def summary_table(runs: Sequence[RunResult], width: int = WIDE,
                  foreign: frozenset[tuple[str, str]] = frozenset()) -> Table:
    """One row per run: the scenario's file (and title on a wide console), the model, the outcome and
    the simulated and wall-clock times. A run on a model the file does not name (`--model` chose it:
    `foreign` holds those (file, model) pairs) has its model marked `*`."""
    table = Table(title="fksim run", show_lines=False)
    titles = width >= WIDE
    columns: list[tuple[str, str]] = [("scenario", "left")] if titles else []
    columns += [("file", "left"), ("model", "left"), ("result", "left"), ("held", "right"),
                ("sim time", "right"), ("wall time", "right")]
    for column, justify in columns:
        table.add_column(column, justify=justify, no_wrap=column != "scenario",  # type: ignore[arg-type]
                         overflow="ellipsis" if column == "scenario" else "fold")
    for run in runs:
        held = sum(1 for e in run.expectations if e.passed)
        result = "[green]pass[/]" if run.passed else ("[red]error[/]" if run.error else "[red]FAIL[/]")
        cells = [escape(run.scenario)] if titles else []
        model = f"{run.model}*" if (run.file, run.model) in foreign else run.model
        cells += [escape(_file_label(run.file)), model, result, f"{held}/{len(run.expectations)}",
                  f"{run.sim_time:.1f} s", f"{run.wall_time:.2f} s"]
        table.add_row(*cells)
    return table


def print_summary(runs: Sequence[RunResult], console: Console,
                  foreign: frozenset[tuple[str, str]] = frozenset()) -> None:
    """The full table: one row per run (`fksim run --verbose`)."""
    console.print(summary_table(runs, console.width, foreign))
    if foreign:
        console.print(FOREIGN_NOTE, markup=False)


#: Under the summary when some run was on a model its file does not name.
FOREIGN_NOTE = ("* run on a model the file does not name (--model chose it): the scenario's title and "
                "expectations were written for its own models")


#: Matrix cells: passed, failed, error, not run (UTF-8 consoles; ASCII ones get the second set).
MARKS = {"pass": "✓", "fail": "✗", "error": "E", "none": "–"}
ASCII_MARKS = {"pass": "ok", "fail": "FAIL", "error": "ERR", "none": "-"}


def matrix_table(runs: Sequence[RunResult], models: Sequence[str], *, unicode: bool = True,
                 foreign: frozenset[tuple[str, str]] = frozenset()) -> Table:
    """The compact summary: one row per scenario file, one column per model, a mark per run (`*`: a
    model the file does not name)."""
    marks = MARKS if unicode else ASCII_MARKS
    table = Table(title="fksim run", show_lines=False)
    table.add_column("scenario file", justify="left", no_wrap=True)
    order = [m for m in models if any(r.model == m for r in runs)]
    for model in order:
        table.add_column(model, justify="center", no_wrap=True)
    cells: dict[str, dict[str, str]] = {}
    for run in runs:
        kind = "pass" if run.passed else "error" if run.error else "fail"
        colour = "green" if kind == "pass" else "red"
        star = "*" if (run.file, run.model) in foreign else ""
        cells.setdefault(run.file, {})[run.model] = f"[{colour}]{marks[kind]}{star}[/]"
    for file, row in cells.items():
        table.add_row(escape(_file_label(file)), *[row.get(m, marks["none"]) for m in order])
    return table


def print_matrix(runs: Sequence[RunResult], models: Sequence[str], console: Console,
                 foreign: frozenset[tuple[str, str]] = frozenset()) -> None:
    encoding = (getattr(console.file, "encoding", None) or "").lower().replace("-", "")
    console.print(matrix_table(runs, models, unicode=encoding == "utf8", foreign=foreign))
    if foreign:
        console.print(FOREIGN_NOTE, markup=False)


def count_line(runs: Sequence[RunResult], skipped: int = 0) -> str:
    passed = sum(1 for r in runs if r.passed)
    return f"{passed} passed, {len(runs) - passed} failed" + (f", {skipped} skipped" if skipped else "")
