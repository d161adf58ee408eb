"""docs/scenarios.md is the complete reference of the scenario format (issue 15): every key the validator
accepts is named there, taken from the validator's own source (each key tuple a `mapping` call allows,
and the key constants), and every whole scenario the page shows passes `fksim check`."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from scenarios.cli import cli

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "scenarios.md"
#: The modules whose `mapping(node, (...))` calls and key constants make up the validator's schema.
SCHEMA = ["scenarios/validate.py", "scenarios/call_checks.py", "scenarios/server_knobs.py",
          "scenarios/readers.py", "scenarios/spec.py"]
#: Constants that are not keys of the file (keypad keys are listed in the steps table as a group).
NOT_KEYS = {"KEYS", "TIME_KEYS"}


def _strings(node: ast.AST) -> set[str]:
    return {n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def schema_keys() -> set[str]:
    keys: set[str] = set()
    for name in SCHEMA:
        tree = ast.parse((ROOT / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "mapping" and len(node.args) > 1:
                keys |= _strings(node.args[1])
                for keyword in node.keywords:
                    keys |= _strings(keyword.value)
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
                target = node.targets[0]
                if isinstance(target, ast.Name) and target.id.isupper() and target.id not in NOT_KEYS \
                        and target.id.endswith(("KEYS", "KINDS", "ACTIONS", "EVENTS", "FEATURES", "OUTCOMES")):
                    keys |= _strings(node.value)
    return keys


def test_the_schema_is_found() -> None:
    keys = schema_keys()
    # A sample from each level, so a change that hid the schema from this test fails it.
    assert {"scenario", "handsets", "menu", "portal", "call", "hangup", "outcome", "latency", "services",
            "internal_telephony", "count", "dnd", "cfna", "reboot", "answered"} <= keys


def test_every_key_the_validator_accepts_is_in_the_reference() -> None:
    text = DOC.read_text()
    missing = sorted(key for key in schema_keys() if f"`{key}" not in text and f"{key}:" not in text)
    assert not missing, f"docs/scenarios.md does not name: {', '.join(missing)}"


def _whole_scenarios() -> list[str]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), flags=re.S)
    return [block for block in blocks if re.search(r"^scenario:", block, flags=re.M)]


@pytest.mark.parametrize("block", _whole_scenarios())
def test_every_whole_scenario_the_page_shows_passes_check(tmp_path: Path, block: str) -> None:
    path = tmp_path / "example.yaml"
    path.write_text(block)
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 0, result.output


def test_the_page_shows_at_least_one_whole_scenario() -> None:
    assert _whole_scenarios()
