"""`fksim run` and `fksim check` end to end (spec/scenarios-and-cli.md §1, §3): bad input names file and
line with exit 2 and nothing run; every output format; determinism; `--jobs 2` equal to serial."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from junitparser import Failure, JUnitXml

from scenarios.cli import cli
from support.shared import shared_tool

ROOT = Path(__file__).resolve().parents[2]
FKSIM = ROOT / ".venv" / "bin" / "fksim"
LIBRARY = ROOT / "scenarios" / "library"

GOOD = """\
scenario: DND from the menu
models: [N670, N870]
seed: 3
duration: 20s
handsets:
  - ipui: "029e74a599"
    user: "2001"
    feature_key_sync: true
steps:
  - at: 5s
    handset: "029e74a599"
    menu: [Menu, Select services, Do not disturb, "On"]
expect:
  - at: 10s
    handset: "029e74a599"
    state: {dnd: true}
  - at: end
    sip: {method: SUBSCRIBE, body: SetDoNotDisturb, count: ">=1"}
"""


def _write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


# ------------------------------------------------------------------------------ bad input


BAD = [
    # (replace this, with that, line, expected text)
    ("models: [N670, N870]", "models: [N67O]", 2, 'models[0]: unknown model "N67O" (did you mean "N670"?)'),
    ("duration: 20s", "duration: soon", 4, "duration: 'soon' is not a time"),
    ("    feature_key_sync: true", "    feature_key_sync: true\n    colour: red", 9, 'unknown key "colour"'),
    ('    handset: "029e74a599"\n    menu', '    handset: "029e74a5a9"\n    menu', 11, 'unknown handset "029e74a5a9"'),
    ("count: \">=1\"", "count: \"~1\"", 18, "is not a count"),
    ("  - at: 10s\n    handset", "  - handset", 14, 'missing required key "at"'),
    ('Do not disturb, "On"]', 'Do not disturbb, "On"]', 12,
     'steps[0].menu: unknown menu entry "Do not disturbb" (did you mean "Do not disturb"?)'),
    ("seed: 3", "seed: 3\nbase: {internal_telephony: true}", 4,
     "base.internal_telephony: N870 has no internal telephony setting"),
    ("seed: 3", "seed: 3\nbase: {dect_managers: 2}", 4, "base.dect_managers: N670 runs at most 1 DECT manager"),
    ("    feature_key_sync: true", "    feature_key_sync: true\n    type: S999", 6, 'handsets[0].type: unknown handset type "S999"'),
    ("  - at: 10s\n    handset", "  - at: 30s\n    handset", 14, "30s is after the end of the run (20s)"),
    ("steps:", "steps: [", 10, "YAML syntax error"),
]


@pytest.mark.parametrize(("old", "new", "line", "expected"), BAD, ids=[b[3][:40] for b in BAD])
@pytest.mark.parametrize("command", ["run", "check"])
def test_bad_input_names_file_and_line_and_exits_2_with_nothing_run(tmp_path, command, old, new, line, expected):
    assert old in GOOD
    path = _write(tmp_path, GOOD.replace(old, new))
    result = _invoke(command, str(path), "--json", str(tmp_path / "r.json")) if command == "run" \
        else _invoke(command, str(path))
    assert result.exit_code == 2, result.output
    assert f"{path}:{line}: " in result.stderr, result.stderr
    assert expected in result.stderr, result.stderr
    assert "nothing run" in result.stderr
    assert not (tmp_path / "r.json").exists()


def test_bad_input_through_the_installed_command_has_no_traceback(tmp_path):
    path = _write(tmp_path, GOOD.replace('"On"]', '"Onn"]'))
    proc = subprocess.run([str(FKSIM), "run", str(path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert f"{path}:12: steps[0].menu: " in proc.stderr and 'did you mean "On"' in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_missing_path_and_empty_folder_and_bad_model_option(tmp_path):
    result = _invoke("run", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2 and "no such file or folder" in result.stderr
    (tmp_path / "empty").mkdir()
    result = _invoke("check", str(tmp_path / "empty"))
    assert result.exit_code == 2 and "no scenario files" in result.stderr
    result = _invoke("run", str(_write(tmp_path, GOOD)), "--model", "N680")
    assert result.exit_code == 2 and "--model:" in result.stderr


def test_every_problem_of_every_file_is_listed(tmp_path):
    a = _write(tmp_path, GOOD.replace("[N670, N870]", "[N999]"), "a.yaml")
    b = _write(tmp_path, GOOD.replace("duration: 20s", "duration: -"), "b.yaml")
    result = _invoke("check", str(tmp_path))
    assert result.exit_code == 2
    assert f"{a}:2:" in result.stderr and f"{b}:4:" in result.stderr


def test_check_accepts_the_whole_library():
    result = _invoke("check", str(LIBRARY))
    assert result.exit_code == 0, result.stderr
    assert "valid" in result.output


# ------------------------------------------------------------------------------ running and outputs


def test_run_passes_prints_the_summary_and_exits_0(tmp_path):
    result = _invoke("run", str(_write(tmp_path, GOOD)))
    assert result.exit_code == 0, result.output
    # The compact summary: the file's row, a column per model with its mark, then the counts.
    assert "N670" in result.output and "N870" in result.output
    assert result.output.count("✓") == 2 or result.output.count(" ok ") == 2
    assert "2 passed, 0 failed" in result.output
    verbose = _invoke("run", str(_write(tmp_path, GOOD)), "--verbose")
    assert "DND from the menu" in verbose.output and "2 passed, 0 failed" in verbose.output


def test_a_failed_expectation_exits_1_and_says_what_was_found(tmp_path):
    path = _write(tmp_path, GOOD.replace("state: {dnd: true}", "state: {dnd: false}"))
    result = _invoke("run", str(path), "--model", "N870")
    assert result.exit_code == 1
    assert "FAILED" in result.output and "dnd is true, expected false" in result.output


def test_model_option_overrides_and_all_runs_every_applicable_model(tmp_path):
    path = _write(tmp_path, GOOD)
    result = _invoke("run", str(path), "--model", "n610", "--quiet")
    assert result.exit_code == 0 and "1 passed, 0 failed" in result.output
    result = _invoke("run", str(path), "--model", "all", "--quiet")
    assert result.exit_code == 0 and "6 passed, 0 failed" in result.output
    roaming = LIBRARY / "n870" / "roaming.yaml"
    result = _invoke("run", str(roaming), "--model", "all")
    assert result.exit_code == 0, result.output
    assert "4 passed, 0 failed" in result.output
    assert "N610, N670: fewer than 2 DECT managers" in result.output
    result = _invoke("run", str(roaming), "--model", "N610")
    assert result.exit_code == 2 and "does not apply to N610: fewer than 2 DECT managers" in result.stderr
    result = _invoke("run", str(LIBRARY / "n670" / "internal-telephony-on.yaml"), "--model", "N870")
    assert result.exit_code == 2 and "no internal telephony setting" in result.stderr


def test_json_follows_the_contract(tmp_path):
    out = tmp_path / "r.json"
    result = _invoke("run", str(_write(tmp_path, GOOD)), "--json", str(out), "--quiet")
    assert result.exit_code == 0
    data = json.loads(out.read_text())
    assert (data["version"], data["passed"], data["failed"]) == (1, 2, 0)
    run = data["runs"][0]
    assert set(run) == {"scenario", "file", "model", "seed", "passed", "sim_time", "wall_time", "expectations",
                        "messages", "fks", "final"}
    assert (run["scenario"], run["model"], run["seed"], run["passed"], run["sim_time"]) == \
        ("DND from the menu", "N670", 3, True, 20.0)
    assert run["expectations"][0] == {"index": 0, "at": 10.0, "passed": True,
                                      "message": "handset 029e74a599 dnd=true"}
    assert run["expectations"][1]["at"] is None
    times = [m["t"] for m in run["messages"]]
    assert times == sorted(times)
    dect = next(m for m in run["messages"] if m["layer"] == "dect" and m["name"] == "CISS-REGISTER")
    assert dect["from"] == "handset:029e74a599" and dect["to"] == "base" and dect["hex"].startswith("04 ")
    sets = [m for m in run["messages"] if m["layer"] == "sip" and m["body"] == "SetDoNotDisturb"]
    assert sets and {"status", "event", "call_id", "cseq"} <= set(sets[0])
    assert sets[0]["status"] is None and sets[0]["event"] == "as-feature-event"
    assert run["fks"] == {"029e74a599": {"supported": True, "active": True, "reason": None}}
    full = {"dnd": True, "cfa": {"active": False, "to": ""}, "cfb": {"active": False, "to": ""},
            "cfna": {"active": False, "to": "", "rings": 3}}
    assert run["final"] == {"handsets": {"029e74a599": full}, "server": {"2001": full}}


def test_junit_has_one_case_per_run_with_failures(tmp_path):
    out = tmp_path / "j.xml"
    path = _write(tmp_path, GOOD.replace("state: {dnd: true}", "state: {dnd: false}"))
    result = _invoke("run", str(path), "--junit", str(out), "--quiet")
    assert result.exit_code == 1
    cases = [case for suite in JUnitXml.fromfile(str(out)) for case in suite]
    assert [c.name for c in cases] == ["DND from the menu [N670]", "DND from the menu [N870]"]
    assert all(isinstance(c.result[0], Failure) and "dnd is true, expected false" in c.result[0].text
               for c in cases)


def test_trace_prints_the_ladder(tmp_path):
    result = _invoke("run", str(_write(tmp_path, GOOD)), "--trace", "--model", "N870")
    assert result.exit_code == 0
    assert "# DND from the menu" in result.output and "# model N870, seed 3" in result.output
    assert "handset:029e74a599 -> base" in result.output and "CISS-REGISTER" in result.output
    assert "body=SetDoNotDisturb" in result.output and "PASS  [0] at 10s" in result.output


def test_seed_option_changes_the_seed(tmp_path):
    out = tmp_path / "r.json"
    _invoke("run", str(_write(tmp_path, GOOD)), "--seed", "99", "--json", str(out), "--quiet")
    assert {r["seed"] for r in json.loads(out.read_text())["runs"]} == {99}


def _run_json(tmp_path: Path, name: str, *args: str) -> tuple[dict, dict[str, bytes]]:
    out = tmp_path / f"{name}.json"
    pcap = tmp_path / f"{name}-pcap"
    result = _invoke("run", *args, "--json", str(out), "--pcap", str(pcap), "--quiet")
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    for run in data["runs"]:
        run.pop("wall_time")
    return data, {p.name: p.read_bytes() for p in sorted(pcap.iterdir())}


LOSSY = [str(LIBRARY / "all-models" / "loss-20-percent.yaml"), str(LIBRARY / "n870" / "roaming.yaml"),
         str(LIBRARY / "all-models" / "fac-to-handset.yaml")]


def test_same_seed_gives_identical_json_and_capture_bytes(tmp_path):
    a, a_pcap = _run_json(tmp_path, "a", *LOSSY, "--model", "N870")
    b, b_pcap = _run_json(tmp_path, "b", *LOSSY, "--model", "N870")
    assert a == b
    assert a_pcap == b_pcap and len(a_pcap) == 3   # one pcapng per run
    assert "all-models_loss-20-percent-N870.pcapng" in a_pcap
    assert any(m.get("lost") for m in a["runs"][0]["messages"]), "20 % loss loses something"


def test_jobs_2_gives_the_same_results_in_the_same_order_as_serial(tmp_path):
    serial, serial_pcap = _run_json(tmp_path, "serial", *LOSSY)
    pooled, pooled_pcap = _run_json(tmp_path, "pooled", *LOSSY, "--jobs", "2")
    assert [(r["file"], r["model"]) for r in serial["runs"]] == [(r["file"], r["model"]) for r in pooled["runs"]]
    assert serial == pooled and serial_pcap == pooled_pcap


# ------------------------------------------------------------------------------ captures


@pytest.fixture(scope="module")
def captures(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("pcap")
    files = [str(LIBRARY / "all-models" / "fac-to-handset.yaml"), str(LIBRARY / "n870" / "roaming.yaml")]
    result = CliRunner().invoke(cli, ["run", *files, "--model", "N870", "--pcap", str(folder), "--quiet"])
    assert result.exit_code == 0, result.output
    return sorted(folder.iterdir())


def test_runner_writes_one_pcapng_per_run(captures):
    assert [p.name for p in captures] == ["all-models_fac-to-handset-N870.pcapng", "n870_roaming-N870.pcapng"]


def test_runner_captures_pass_the_sip_checker(captures):
    tool = shared_tool("check-sip-pcap")
    for path in captures:
        proc = subprocess.run([str(tool), "--checksums", str(path)], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_runner_captures_decode_as_dect_nwk(captures):
    tool = shared_tool("check-dect-pcap")
    for path in captures:
        proc = subprocess.run([str(tool), str(path)], capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_runs_on_models_a_file_does_not_name_are_marked_in_the_summary(tmp_path):
    path = _write(tmp_path, GOOD)
    result = _invoke("run", str(path), "--model", "all")
    assert result.exit_code == 0
    # N670 and N870 are the file's own models; the other four are --model's, marked and explained.
    rows = [line for line in result.output.splitlines() if "s" in line and "│" in line and "scenario" not in line]
    assert rows and rows[0].count("*") == 4, result.output
    assert "run on a model the file does not name (--model chose it)" in result.output
    own = _invoke("run", str(path))
    assert "*" not in own.output and "does not name" not in own.output
    verbose = _invoke("run", str(path), "--model", "N610", "--verbose")
    assert "N610*" in verbose.output


def test_trace_lines_are_never_wrapped_when_the_output_is_not_a_terminal(tmp_path):
    result = _invoke("run", str(_write(tmp_path, GOOD)), "--model", "N870", "--trace")
    long_lines = [line for line in result.output.splitlines() if "PORTABLE-IDENTITY" in line]
    assert long_lines and any(len(line) > 200 for line in long_lines)
    # A wrapped ladder line would leave a continuation line that does not start with a time.
    assert not any(line.startswith("LOCATION-AREA") for line in result.output.splitlines())


def test_the_help_names_the_capture_files_as_they_are_written(tmp_path):
    help_text = " ".join(_invoke("run", "--help").output.split())
    assert "<folder>_<file>-<model>.pcapng" in help_text
    folder = tmp_path / "lib"
    folder.mkdir()
    path = _write(folder, GOOD)
    _invoke("run", str(path), "--model", "N870", "--pcap", str(tmp_path / "pcap"), "--quiet")
    assert [p.name for p in (tmp_path / "pcap").iterdir()] == ["lib_s-N870.pcapng"]


def test_check_lists_every_problem_of_every_file_in_one_pass(tmp_path):
    bad = _write(tmp_path, GOOD.replace("Select services", "Select servics").replace("[N670, N870]", "[N999]")
                 .replace('user: "2001"', 'user: "2001"\n    type: S650H PRO'), "a.yaml")
    menu = _write(tmp_path, GOOD.replace("Do not disturb", "Do not disturbb"), "b.yaml")
    # Valid as a file, but it sets internal telephony on a model without the setting (a model check).
    model = _write(tmp_path, GOOD.replace("models: [N670, N870]", "models: [N870]\nbase:\n  internal_telephony: true"),
                   "c.yaml")
    result = CliRunner().invoke(cli, ["check", str(bad), str(menu), str(model)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines() if hasattr(result, "stderr") else result.output.splitlines()
    text = "\n".join(lines)
    assert 'a.yaml:2: models[0]: unknown model "N999"' in text
    assert 'a.yaml:13: steps[0].menu: unknown menu entry "Select servics" (did you mean "Select services"?)' in text
    assert 'b.yaml:12: steps[0].menu: unknown menu entry "Do not disturbb"' in text
    assert "c.yaml" in text and "internal telephony" in text
    assert "4 problem(s); nothing run" in text
