"""The scenario library as golden tests (conventions point 11): every scenario of
`scenarios/library/` runs on every model it names, every expectation must hold, and its text trace
must equal the one checked in under `tests/scenarios/golden/<folder>/<file>.<model>.trace`.

A change in behaviour shows up as a diff of the ladder. To accept it, regenerate the files and review
the diff before committing:

    FKSIM_REGEN_GOLDEN=1 .venv/bin/pytest tests/scenarios/test_runner_library.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from models.profiles import load_profiles
from scenarios.preflight import check
from scenarios.runner import run_scenario
from scenarios.validate import load_scenario

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "scenarios" / "library"
GOLDEN = Path(__file__).with_name("golden")
REGEN = os.environ.get("FKSIM_REGEN_GOLDEN") == "1"


def _pairs() -> list[tuple[Path, str]]:
    ids = load_profiles().ids
    out = []
    for path in sorted(LIBRARY.rglob("*.yaml")):
        scenario = load_scenario(path.relative_to(ROOT), ids)
        out += [(path, model) for model in (scenario.models or ids)]
    return out


PAIRS = _pairs()


def golden_path(path: Path, model: str) -> Path:
    return GOLDEN / path.parent.name / f"{path.stem}.{model}.trace"


def test_the_library_covers_every_model_and_the_required_cases():
    models = {model for _, model in PAIRS}
    assert models == set(load_profiles().ids)
    folders = {path.parent.name for path, _ in PAIRS}
    assert {"n610", "n670", "n870", "n870e", "embedded-integrator", "virtual-integrator"} <= folders
    assert len(PAIRS) >= 100


@pytest.mark.parametrize(("path", "model"), PAIRS, ids=[f"{p.parent.name}/{p.stem}-{m}" for p, m in PAIRS])
def test_library_scenario_passes_and_matches_its_golden_trace(path, model, monkeypatch):
    monkeypatch.chdir(ROOT)
    scenario = load_scenario(path.relative_to(ROOT), load_profiles().ids)
    assert check(scenario, model).problems == []
    result, _world = run_scenario(scenario, model)
    failed = [f"[{e.index}] {e.message}" for e in result.expectations if not e.passed]
    assert result.passed, f"{result.error or ''}\n" + "\n".join(failed)
    golden = golden_path(path, model)
    if REGEN:
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(result.trace, encoding="utf-8")
    assert golden.exists(), f"no golden trace {golden}; run with FKSIM_REGEN_GOLDEN=1 to create it"
    assert result.trace == golden.read_text(encoding="utf-8")


def test_no_stale_golden_files():
    expected = {golden_path(p, m) for p, m in PAIRS}
    present = set(GOLDEN.rglob("*.trace"))
    assert present <= expected, f"golden traces of scenarios no longer in the library: {sorted(present - expected)}"
