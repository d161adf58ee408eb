"""Result formats: the JSON of spec §3, JUnit read back by a JUnit parser, the summary table."""

import io
import json
from dataclasses import replace

from junitparser import Error, Failure, JUnitXml
from rich.console import Console

from scenarios.results import (
    ExpectationResult,
    RunResult,
    Skipped,
    count_line,
    matrix_table,
    print_matrix,
    print_summary,
    result_json,
    write_json,
    write_junit,
)


def _run(passed=True, error=None, model="N670"):
    return RunResult(
        scenario="DND from the handset menu reaches the server", file="scenarios/library/n670/dnd.yaml",
        model=model, seed=7, passed=passed, sim_time=68.0, wall_time=0.21,
        expectations=(ExpectationResult(index=0, at=8.0, passed=passed, message="handset 029e74a599 dnd=true"),),
        messages=({"t": 5.004, "layer": "dect", "from": "handset:029e74a599", "to": "base",
                   "name": "CISS-REGISTER", "hex": "04 64"},),
        fks={"029e74a599": {"supported": True, "active": True, "reason": None}},
        final={"handsets": {}, "server": {}}, trace="trace text", error=error,
    )


def test_json_matches_the_contract_shape(tmp_path):
    path = tmp_path / "out" / "r.json"
    write_json([_run(), _run(passed=False, model="N870")], path)
    data = json.loads(path.read_text())
    assert (data["version"], data["passed"], data["failed"]) == (1, 1, 1)
    run = data["runs"][0]
    assert list(run) == ["scenario", "file", "model", "seed", "passed", "sim_time", "wall_time", "expectations",
                         "messages", "fks", "final"]
    assert run["expectations"] == [{"index": 0, "at": 8.0, "passed": True,
                                    "message": "handset 029e74a599 dnd=true"}]
    assert run["fks"]["029e74a599"] == {"supported": True, "active": True, "reason": None}


def test_json_without_wall_times_is_deterministic():
    a = result_json([_run()], wall_times=False)
    assert "wall_time" not in a["runs"][0]
    assert a == result_json([_run()], wall_times=False)


def test_junit_one_case_per_run_read_by_a_junit_parser(tmp_path):
    path = tmp_path / "j.xml"
    write_junit([_run(), _run(passed=False, model="N870"), _run(passed=False, error="bad", model="N610")], path)
    xml = JUnitXml.fromfile(str(path))
    cases = [case for suite in xml for case in suite]
    assert [c.name for c in cases] == ["DND from the handset menu reaches the server [N670]",
                                       "DND from the handset menu reaches the server [N870]",
                                       "DND from the handset menu reaches the server [N610]"]
    assert cases[0].is_passed
    assert isinstance(cases[1].result[0], Failure) and "[0] at 8s" in cases[1].result[0].text
    assert isinstance(cases[2].result[0], Error)
    assert xml.tests == 3 and xml.failures == 1 and xml.errors == 1


def test_the_full_table_has_a_row_per_run_and_the_counts_say_how_many_passed():
    out = io.StringIO()
    runs = [_run(), _run(passed=False)]
    print_summary(runs, Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    assert "DND from the handset menu" in text and "FAIL" in text
    assert count_line(runs) == "1 passed, 1 failed" and count_line(runs, 3) == "1 passed, 1 failed, 3 skipped"


def test_the_matrix_has_a_row_per_file_a_column_per_model_and_ascii_marks_off_utf8():
    runs = [_run(), replace(_run(passed=False), model="N610")]
    out = io.StringIO()
    print_matrix(runs, ("N610", "N670", "N870"), Console(file=out, width=200, color_system=None))
    text = out.getvalue()
    # Columns only for the models that ran, in the profiles' order; one row for the file.
    assert "N610" in text and "N670" in text and "N870" not in text
    table = matrix_table(runs, ("N610", "N670"), unicode=False)
    assert [c.header for c in table.columns] == ["scenario file", "N610", "N670"]
    cells = [list(c.cells) for c in table.columns]
    assert cells[1] == ["[red]FAIL[/]"] and cells[2] == ["[green]ok[/]"]
    starred = matrix_table(runs, ("N610", "N670"), foreign=frozenset({(runs[1].file, "N610")}))
    assert list(starred.columns[1].cells) == ["[red]✗*[/]"]


def test_summary_on_a_narrow_console_names_the_file_not_the_title():
    out = io.StringIO()
    print_summary([_run()], Console(file=out, width=80, color_system=None))
    text = out.getvalue()
    assert "n670/dnd" in text and "DND from the handset menu" not in text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_pairs_that_do_not_apply_are_skipped_test_cases(tmp_path):
    skipped = [Skipped(scenario="Internal telephony on", file="lib/n610/it.yaml", model="N870",
                       why="no internal telephony setting")]
    write_junit([_run()], tmp_path / "j.xml", skipped=skipped)
    xml = JUnitXml.fromfile(str(tmp_path / "j.xml"))
    cases = [case for suite in xml for case in suite]
    assert [c.is_skipped for c in cases] == [False, True]
    assert cases[1].result[0].message == "no internal telephony setting" and xml.skipped == 1
    document = result_json([_run()], skipped=skipped)
    assert document["skipped"] == [{"scenario": "Internal telephony on", "file": "lib/n610/it.yaml",
                                    "model": "N870", "why": "no internal telephony setting"}]
    assert "skipped" not in result_json([_run()])
