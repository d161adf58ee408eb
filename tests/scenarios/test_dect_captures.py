"""The library's DECT captures hold up in Wireshark 4.4 (issue 14): every NWK frame decodes, no frame
carries an expert warning or note, and the base pages a handset out of range instead of sending to it.

Every library file runs once (on the first model it names, N870 for `models: all`) with `--pcap`; the
captures are merged with Debian's `mergecap` so that Wireshark 4.4 (../shared/tools/dect-tshark, a
Debian 13 root) starts once."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from models.profiles import load_profiles
from scenarios.cli import cli
from scenarios.validate import load_scenario
from support.shared import shared_tool

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "scenarios" / "library"


@pytest.fixture(scope="module")
def merged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from live.kit import require_tool  # tests/live is on the path (conftest); CI must not skip

    out = tmp_path_factory.mktemp("captures")
    ids = load_profiles().ids
    for path in sorted(LIBRARY.rglob("*.yaml")):
        scenario = load_scenario(path, ids)
        model = (scenario.models or ("N870",))[0]
        result = CliRunner().invoke(cli, ["run", str(path), "--model", model, "--pcap", str(out / "pcap"),
                                          "--quiet"])
        assert result.exit_code == 0, result.output
    files = sorted((out / "pcap").glob("*.pcapng"))
    assert len(files) == len(list(LIBRARY.rglob("*.yaml")))
    merged = out / "library.pcapng"
    subprocess.run([require_tool("mergecap"), "-w", str(merged), *map(str, files)], check=True,
                   capture_output=True, timeout=300)
    return merged


def _tshark(path: Path, *args: str) -> list[str]:
    tool = shared_tool("dect-tshark")
    result = subprocess.run([str(tool), str(path), *args], capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
    return [line for line in result.stdout.splitlines() if line.strip()]


def test_every_dect_frame_of_the_library_decodes(merged: Path) -> None:
    proc = subprocess.run([str(shared_tool("check-dect-pcap")), str(merged)], capture_output=True, text=True,
                          timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_dect_frame_of_the_library_has_an_expert_warning_or_note(merged: Path) -> None:
    # Expert severities (epan/proto.h): note 0x00400000, warning 0x00600000, error 0x00800000.
    flagged = _tshark(merged, "-Y", "dect_nwk && _ws.expert.severity >= 0x00400000", "-T", "fields",
                      "-e", "frame.number", "-e", "_ws.expert.message")
    assert flagged == []
    decoded = _tshark(merged, "-Y", "dect_nwk", "-T", "fields", "-e", "frame.number")
    assert len(decoded) > 500   # the check above looked at the library's frames, not at nothing


def test_pages_are_on_the_air_as_b_format_and_never_as_nwk_frames(merged: Path) -> None:
    pages = _tshark(merged, "-Y", 'frame.comment contains "LCE-REQUEST-PAGE"', "-T", "fields",
                    "-e", "frame.protocols")
    assert pages and all("dect_nwk" not in line for line in pages)
