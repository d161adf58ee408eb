"""`fksim new`: the starting scenario passes `fksim check` and runs, with every expectation held, on every
model and for every handset type; an existing file is never overwritten without `--force`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from models.handset_types import load_handset_types
from models.profiles import load_profiles
from scenarios.cli import cli

FKSIM = Path(sys.executable).with_name("fksim")


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args))


def _new_check_run(path: Path, *options: str) -> dict:  # type: ignore[type-arg]
    created = invoke("new", str(path), *options)
    assert created.exit_code == 0, created.output
    checked = invoke("check", str(path))
    assert checked.exit_code == 0, checked.output
    out = path.with_suffix(".json")
    ran = invoke("run", str(path), "--json", str(out), "--quiet")
    assert ran.exit_code == 0, ran.output
    return json.loads(out.read_text())


@pytest.mark.parametrize("model", load_profiles().ids)
def test_new_check_run_on_every_model(tmp_path: Path, model: str) -> None:
    result = _new_check_run(tmp_path / "first.yaml", "--model", model.lower())
    [run] = result["runs"]
    assert run["model"] == model and run["passed"]
    assert len(run["expectations"]) == 6 and all(e["passed"] for e in run["expectations"])
    assert f"models: [{model}]" in (tmp_path / "first.yaml").read_text()


@pytest.mark.parametrize("handset_type", load_handset_types().names)
def test_new_check_run_for_every_handset_type_on_all_models(tmp_path: Path, handset_type: str) -> None:
    result = _new_check_run(tmp_path / "first.yaml", "--handset-type", handset_type)
    assert [r["model"] for r in result["runs"]] == list(load_profiles().ids)
    assert result["failed"] == 0 and result["passed"] == 6
    assert f"    type: {handset_type}" in (tmp_path / "first.yaml").read_text()


def test_the_file_is_commented_and_names_the_tools(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "first.yaml"
    result = invoke("new", str(path))
    assert result.exit_code == 0 and path.exists()
    text = path.read_text()
    assert "docs/scenarios.md" in text and "fksim menu" in text and "fksim check" in text
    assert "models: all" in text and "    # type: R650H PRO" in text
    assert 'menu: [Menu, Select services, Do not disturb, "On"]' in text
    code_lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    commented = [line for line in code_lines if " # " in line]
    assert len(commented) >= 15


def test_never_overwrites_without_force(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("scenario: my own work\n")
    result = invoke("new", str(path))
    assert result.exit_code == 2
    assert f"fksim: {path}: already exists; give --force to overwrite it" in result.output
    assert path.read_text() == "scenario: my own work\n"
    result = invoke("new", str(path), "--force", "--model", "N870")
    assert result.exit_code == 0 and "models: [N870]" in path.read_text()


@pytest.mark.parametrize(
    ("option", "needle"),
    [(["--model", "N999"], 'fksim: --model: unknown model "N999"; valid models: N610'),
     (["--handset-type", "S999"], 'fksim: --handset-type: unknown handset type "S999"; valid types: fksim PRO')],
)
def test_bad_options_exit_2_and_write_nothing(tmp_path: Path, option: list[str], needle: str) -> None:
    path = tmp_path / "x.yaml"
    result = invoke("new", str(path), *option)
    assert result.exit_code == 2 and needle in result.output
    assert not path.exists() and "Traceback" not in result.output


@pytest.mark.skipif(not FKSIM.exists(), reason="console script not installed")
def test_the_installed_commands_chain(tmp_path: Path) -> None:
    path = tmp_path / "first.yaml"
    for args in (["new", str(path), "--model", "N670"], ["check", str(path)], ["run", str(path), "--quiet"]):
        proc = subprocess.run([str(FKSIM), *args], capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    again = subprocess.run([str(FKSIM), "new", str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 2 and "already exists" in again.stderr
