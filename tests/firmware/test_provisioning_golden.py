"""Provisioning golden files: each file in data/ linted against a model gives exactly the diagnostics in
its `.out` file (``file:line: level: message``). Regenerate after a deliberate change with
``FKSIM_REGEN_GOLDEN=1 pytest tests/firmware/test_provisioning_golden.py`` and review the diff."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from firmware.provisioning import ProvisioningSyntaxError, lint, parse_provisioning
from models.profiles import get_profile

DATA = Path(__file__).with_name("data")

#: (file, model, internal telephony on)
CASES = [
    ("good.xml", "N870", False),
    ("good.xml", "N670", False),
    ("good.xml", "N610", True),
    ("malformed.xml", "N870", False),
    ("entity-bomb.xml", "N870", False),
    ("external-entity.xml", "N870", False),
    ("unknown-params.xml", "N870", False),
    ("unknown-handset.xml", "N870", False),
    ("delete-not-first.xml", "N870", False),
    ("index-keyed.xml", "N870", False),
    ("out-of-range.xml", "N870", False),
    ("internal-telephony.xml", "N670", False),
    ("internal-telephony.xml", "N870", False),
]


def diagnostics_for(name: str, model: str, internal_telephony: bool) -> list[str]:
    data = (DATA / name).read_bytes()
    try:
        doc = parse_provisioning(data, source=name)
    except ProvisioningSyntaxError as err:
        return [str(err.diagnostic)]
    return [str(d) for d in lint(doc, get_profile(model), internal_telephony)]


@pytest.mark.parametrize(("name", "model", "internal_telephony"), CASES)
def test_golden(name, model, internal_telephony):
    suffix = ".it-on" if internal_telephony else ""
    golden = DATA / f"{Path(name).stem}.{model}{suffix}.out"
    got = diagnostics_for(name, model, internal_telephony)
    if os.environ.get("FKSIM_REGEN_GOLDEN"):
        golden.write_text("".join(f"{line}\n" for line in got))
    assert golden.exists(), f"missing golden file {golden.name}"
    assert got == golden.read_text().splitlines()


def test_every_data_file_has_a_case():
    assert {p.name for p in DATA.glob("*.xml")} == {name for name, _, _ in CASES}


def test_golden_files_cover_the_required_kinds():
    # The list: each of these must produce at least one error line with its line number.
    required = {
        "malformed.xml": "not well-formed XML",
        "entity-bomb.xml": "entity declaration",
        "external-entity.xml": "external entity",
        "unknown-params.xml": "unknown parameter",
        "unknown-handset.xml": "was never added",
        "delete-not-first.xml": "DeleteNotProvisionedHS must be the first",
    }
    for name, phrase in required.items():
        lines = diagnostics_for(name, "N870", False)
        assert any(phrase in line and line.startswith(f"{name}:") and ": error: " in line for line in lines)
    assert diagnostics_for("good.xml", "N870", False) == []
    assert diagnostics_for("index-keyed.xml", "N870", False) == []
