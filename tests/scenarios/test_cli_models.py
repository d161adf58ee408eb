"""`fksim models`: the profile table and its JSON form (scenarios-and-cli.md §1)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from click.testing import CliRunner

from scenarios.cli import cli

FKSIM = Path(__file__).resolve().parents[2] / ".venv" / "bin" / "fksim"
ALL_IDS = ["N610", "N670", "N870", "N870E", "embedded-integrator", "virtual-integrator"]


def test_table_lists_every_model_and_column():
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0, result.output
    for model_id in ALL_IDS:
        assert model_id in result.output
    for heading in ("System", "Roles", "Capacities", "Internal", "FKS features"):
        assert heading in result.output
    assert "dnd, cfa, cfb, cfna" in result.output
    assert "250f handsets" in result.output  # the N870's documented DECT-manager capacity, marked fact
    assert "f = fact, l = likely, c = choice" in result.output


def test_json_has_marks_and_all_fields():
    result = CliRunner().invoke(cli, ["models", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert [p["id"] for p in data] == ALL_IDS
    n610 = data[0]
    assert n610["has_internal_telephony_setting"] == {"value": True, "source": "fact"}
    assert n610["capacities"]["per_system"]["handsets"] == {"value": 20, "source": "likely"}
    assert n610["fks_features"] == {"value": ["dnd", "cfa", "cfb", "cfna"], "source": "choice"}
    vi = data[-1]
    assert vi["member_model"] == "N870" and vi["has_internal_telephony_setting"]["value"] is False
    assert vi["capacities"]["per_dect_manager"]["handsets"] == {"value": 250, "source": "fact"}
    assert "path" not in vi


def test_installed_console_script():
    done = subprocess.run([str(FKSIM), "models"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    assert "virtual-integrator" in done.stdout and "Traceback" not in done.stdout + done.stderr
    done = subprocess.run([str(FKSIM), "models", "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and len(json.loads(done.stdout)) == 6
