"""`fksim sip parse`: exit codes, text and JSON output, stdin, and no traceback on any input."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from scenarios.cli import cli
from support.shared import SHARED

RFC4475 = SHARED / "data" / "rfc4475"
GOOD = (
    b"SUBSCRIBE sip:4001@as.example.com SIP/2.0\r\n"
    b"v: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1\r\nf: <sip:4001@as.example.com>;tag=1\r\n"
    b"t: <sip:4001@as.example.com>\r\ni: c1\r\nCSeq: 1 SUBSCRIBE\r\no: as-feature-event\r\nl: 0\r\n\r\n"
)


def run(args: list[str], stdin: bytes | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, ["sip", "parse", *args], input=stdin)


def test_parse_good_file_text(tmp_path: Path) -> None:
    path = tmp_path / "sub.sip"
    path.write_bytes(GOOD)
    result = run([str(path)])
    assert result.exit_code == 0, result.output
    assert "SUBSCRIBE sip:4001@as.example.com SIP/2.0" in result.output
    assert "Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1" in result.output  # compact name understood
    assert "Event: as-feature-event" in result.output


def test_parse_json_from_stdin() -> None:
    result = run(["--json", "-"], stdin=GOOD)
    assert result.exit_code == 0
    doc = json.loads(result.output)
    assert doc["ok"] and doc["kind"] == "request" and doc["file"] == "<stdin>"
    assert ["Call-ID", "c1"] in doc["headers"]


def test_bad_file_names_file_and_reason_exit_2(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.sip", tmp_path / "bad.sip"
    good.write_bytes(GOOD)
    bad.write_bytes(GOOD.replace(b"CSeq: 1 SUBSCRIBE", b"CSeq: one SUBSCRIBE"))
    result = run([str(good), str(bad)])
    assert result.exit_code == 2
    assert f"{bad}: 400 Malformed CSeq header" in result.output
    assert "Traceback" not in result.output
    doc = json.loads(run(["--json", str(good), str(bad)]).output)
    assert [d["ok"] for d in doc] == [True, False]
    assert doc[1]["error"] == {"status": 400, "reason": "Malformed CSeq header"}


def test_missing_file_and_garbage_never_trace(tmp_path: Path) -> None:
    junk = tmp_path / "junk"
    junk.write_bytes(bytes(range(256)) * 3)
    result = run([str(junk), str(tmp_path / "absent")])
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    assert "junk: 400" in result.output and "absent" in result.output


@pytest.mark.skipif(not RFC4475.exists() and os.environ.get("CI") != "true", reason="../shared not present")
def test_rfc4475_verdicts_through_the_cli() -> None:
    rows = [line.split("\t") for line in (RFC4475 / "expected.tsv").read_text().splitlines()[1:]]
    valid = [str(RFC4475 / r[0]) for r in rows if r[2] == "valid"]
    invalid = [str(RFC4475 / r[0]) for r in rows if r[2] == "invalid"]
    assert run(valid).exit_code == 0
    for path in invalid:
        result = run([path])
        assert result.exit_code == 2, path
        assert path in result.output
