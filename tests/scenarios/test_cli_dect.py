"""`fksim dect decode`: text and JSON output per spec §4, exit codes, hex forms, and never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from scenarios.cli import cli

FKSIM = Path(sys.executable).with_name("fksim")
SETUP = "03 05 05 07 80 A8 02 9E 74 A5 99 06 07 A0 A4 12 34 56 78 90 E0 80 2C 03 2A 37 38 A1"


def run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["dect", "decode", *args], input=stdin)


def test_json_matches_the_contract() -> None:
    result = run("--json", SETUP)
    assert result.exit_code == 0, result.output
    [doc] = json.loads(result.output)
    assert {k: doc[k] for k in ("hex", "pd", "ti_flag", "tv", "message")} == {
        "hex": SETUP, "pd": "CC", "ti_flag": 0, "tv": 0, "message": "CC-SETUP",
    }  # fmt: skip
    assert doc["ies"][0] == {
        "name": "PORTABLE-IDENTITY", "id": "05", "type": "IPUI", "ipui": "029e74a599", "ipei": "10727 0304537 3",
    }  # fmt: skip
    assert doc["ies"][2] == {"name": "BASIC-SERVICE", "id": "E0", "call_class": "normal", "service": "speech"}
    assert doc["ies"][3] == {"name": "MULTI-KEYPAD", "id": "2C", "keys": "*78"}
    assert [ie["id"] for ie in doc["ies"]] == ["05", "06", "E0", "2C", "A1"]


def test_proprietary_content_is_decoded() -> None:
    result = run("--json", "04 64 05 07 80 A8 02 9E 74 A5 99 7B 07 81 00 02 3E 02 30 01")
    [doc] = json.loads(result.output)
    assert doc["ies"][1]["proprietary"] == [{"pie": "feature-request", "feature": "dnd", "active": True}]
    assert doc["ies"][1]["emc"] == "0002"


def test_text_output_and_hex_forms() -> None:
    compact = SETUP.replace(" ", "")
    for args in ([SETUP], [compact], SETUP.split(), [compact.lower()]):
        result = run(*args)
        assert result.exit_code == 0, result.output
        assert result.output.startswith("CC-SETUP  pd=CC ti_flag=0 tv=0\n")
        assert "05 PORTABLE-IDENTITY: type=IPUI, ipui=029e74a599, ipei=10727 0304537 3" in result.output


def test_several_messages_and_stdin() -> None:
    result = run("--json", "-", stdin="83 02\n85 57 60 01 02\n")
    assert result.exit_code == 0
    assert [d["message"] for d in json.loads(result.output)] == ["CC-CALL-PROC", "LOCATE-REJECT"]


@pytest.mark.parametrize(
    ("hex_", "needle"),
    [
        ("03 05 05 07 80 A8 02 9E", "offset 2, PORTABLE-IDENTITY: length 7 runs past the end"),
        ("83 5A E2 99", "offset 2, RELEASE-REASON: reason 0x99 is not a known ReleaseReasonCode value"),
        ("03 77", "offset 1: unknown message type 0x77 for protocol discriminator CC"),
        ("zz", '"zz" is not hex octets'),
        ("0", '"0" is not hex octets'),
    ],
)
def test_bad_bytes_exit_2_naming_offset_and_ie(hex_: str, needle: str) -> None:
    result = run(hex_)
    assert result.exit_code == 2
    assert needle in result.output
    assert "Traceback" not in result.output


def test_good_and_bad_together_exit_2_but_print_the_good_one() -> None:
    result = run("--json", "83 02", "83 5A E2 99")
    assert result.exit_code == 2
    assert "message 2: offset 2, RELEASE-REASON" in result.output


@pytest.mark.skipif(not FKSIM.exists(), reason="console script not installed")
def test_the_installed_command() -> None:
    good = subprocess.run(
        [str(FKSIM), "dect", "decode", "--json", SETUP], capture_output=True, text=True, check=False
    )
    assert good.returncode == 0 and json.loads(good.stdout)[0]["message"] == "CC-SETUP"
    bad = subprocess.run(
        [str(FKSIM), "dect", "decode", "05 54 05"], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 2
    assert "fksim: message 1: offset 2, PORTABLE-IDENTITY: length octet missing" in bad.stderr
    assert "Traceback" not in bad.stderr + bad.stdout
    usage = subprocess.run([str(FKSIM), "dect", "decode"], capture_output=True, text=True, check=False)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr


def test_bad_proprietary_content_names_the_escape_ie() -> None:
    result = run("04 64 05 07 80 A8 02 9E 74 A5 99 7B 07 81 00 02 3E 02 31 01")
    assert result.exit_code == 2
    assert "offset 11, ESCAPE-TO-PROPRIETARY: unknown feature id 0x31" in result.output


def test_the_contract_example_decodes_exactly() -> None:
    """spec/scenarios-and-cli.md §4, verbatim (a CC-SETUP whose FIXED-IDENTITY is left out)."""
    result = run("--json", "03 05 05 07 80 A8 02 9E 74 A5 99 E0 80")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [
        {"hex": "03 05 05 07 80 A8 02 9E 74 A5 99 E0 80", "pd": "CC", "ti_flag": 0, "tv": 0, "message": "CC-SETUP",
         "ies": [{"name": "PORTABLE-IDENTITY", "id": "05", "type": "IPUI", "ipui": "029e74a599", "ipei": "10727 0304537 3"},
                 {"name": "BASIC-SERVICE", "id": "E0", "call_class": "normal", "service": "speech"}]}
    ]  # fmt: skip
    text = run("03 05 05 07 80 A8 02 9E 74 A5 99 E0 80")
    assert text.exit_code == 0
    assert "note: mandatory FIXED-IDENTITY missing" in text.output


# ------------------------------------------------------------------------------ captures


LIBRARY = Path(__file__).resolve().parents[2] / "scenarios" / "library"


@pytest.fixture(scope="module")
def library_capture(tmp_path_factory) -> tuple[Path, dict]:  # type: ignore[type-arg]
    """A capture and result JSON written by `fksim run --pcap` of a library scenario (two DECT managers)."""
    folder = tmp_path_factory.mktemp("dect-pcap")
    result = CliRunner().invoke(cli, ["run", str(LIBRARY / "n870" / "roaming.yaml"), "--pcap", str(folder),
                                      "--json", str(folder / "r.json"), "--quiet"])
    assert result.exit_code == 0, result.output
    return folder / "n870_roaming-N870.pcapng", json.loads((folder / "r.json").read_text())["runs"][0]


def test_a_run_capture_decodes_frame_by_frame(library_capture) -> None:  # type: ignore[no-untyped-def]
    path, run_json = library_capture
    result = run("--json", str(path))
    assert result.exit_code == 0, result.output
    decoded = json.loads(result.output)
    # The NWK frames; a page (B-format, not NWK) is in the capture as plain data and left out here.
    sent = [m for m in run_json["messages"] if m["layer"] == "dect" and m["name"] != "LCE-REQUEST-PAGE"]
    assert len(decoded) == len(sent) > 8
    assert [d["message"] for d in decoded] == [m["name"] for m in sent]
    assert [d["hex"] for d in decoded] == [m["hex"] for m in sent]
    assert [d["t"] for d in decoded] == [m["t"] for m in sent]
    assert [d["comment"] for d in decoded] == [f"{m['from']} -> {m['to']}" for m in sent]
    assert {d["interface"] for d in decoded} == {"dect-dm1", "dect-dm2"}
    proprietary = [ie for d in decoded for ie in d["ies"] if ie["name"] == "ESCAPE-TO-PROPRIETARY"]
    assert proprietary and all(ie["emc"] == "0002" for ie in proprietary)


def test_a_run_capture_as_text(library_capture) -> None:  # type: ignore[no-untyped-def]
    path, _ = library_capture
    result = run(str(path))
    assert result.exit_code == 0, result.output
    assert result.output.startswith("frame 3  t=0.000000  dect-dm1  handset:029e74a599 -> dm1\nLOCATE-REQUEST")
    assert "proprietary=" in result.output


def test_a_capture_and_hex_together(library_capture) -> None:  # type: ignore[no-untyped-def]
    path, _ = library_capture
    result = run("--json", "83 02", str(path))
    assert result.exit_code == 0
    decoded = json.loads(result.output)
    assert decoded[0]["message"] == "CC-CALL-PROC" and "frame" not in decoded[0] and decoded[1]["frame"] == 3


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"not a capture at all\n", "not a pcap or pcapng file (it starts with 6e 6f 74 20)"),
        (b"\xd4\xc3\xb2\xa1\x02\x00", "cut short at offset 0: the pcap file header needs 24 bytes, 6 left"),
        (b"", "cut short at offset 0: the file's magic number needs 4 bytes, 0 left"),
    ],
)
def test_bad_files_exit_2_naming_the_file(tmp_path, content: bytes, needle: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "x.pcap"
    path.write_bytes(content)
    result = run(str(path))
    assert result.exit_code == 2
    assert f"fksim: {path}: {needle}" in result.output
    assert "Traceback" not in result.output


def test_truncated_run_capture_and_one_without_dect(tmp_path, library_capture) -> None:  # type: ignore[no-untyped-def]
    path, _ = library_capture
    cut = tmp_path / "cut.pcapng"
    cut.write_bytes(path.read_bytes()[:-10])
    result = run(str(cut))
    assert result.exit_code == 2 and f"fksim: {cut}: cut short at offset" in result.output
    sip_only = tmp_path / "sip.pcap"
    sip_only.write_bytes(bytes.fromhex("d4c3b2a1 0200 0400 00000000 00000000 ffff0000 01000000")
                         + bytes.fromhex("00000000 00000000 04000000 04000000") + b"\x00" * 4)
    result = run(str(sip_only))
    assert result.exit_code == 2
    assert f"fksim: {sip_only}: no DECT NWK frame among its 1 frame(s)" in result.output


def test_a_frame_that_does_not_decode_names_file_frame_and_offset(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "user0.pcap"
    records = [bytes.fromhex("83 02"), bytes.fromhex("83 5A E2 99")]
    path.write_bytes(bytes.fromhex("d4c3b2a1 0200 0400 00000000 00000000 ffff0000 93000000")
                     + b"".join(bytes(8) + len(r).to_bytes(4, "little") * 2 + r for r in records))
    result = run(str(path))
    assert result.exit_code == 2
    assert "frame 1  t=0.000000\nCC-CALL-PROC" in result.output
    assert f"fksim: {path} frame 2: offset 2, RELEASE-REASON" in result.output


def test_a_missing_capture_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = run(str(tmp_path / "gone.pcapng"))
    assert result.exit_code == 2 and "gone.pcapng: cannot read" in result.output
