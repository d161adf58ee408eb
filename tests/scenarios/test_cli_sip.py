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


NOTIFY_HEAD = (
    "NOTIFY sip:2001@192.0.2.11:5060 SIP/2.0\n"
    "Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK1\nFrom: <sip:2001@as.example.com>;tag=a\n"
    "To: <sip:2001@as.example.com>;tag=b\nCall-ID: n1\nCSeq: 1 NOTIFY\nMax-Forwards: 70\n"
    "Event: as-feature-event\nSubscription-State: active;expires=3600\n"
)
NS = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"
DND_XML = f'<?xml version="1.0"?>\n<DoNotDisturbEvent xmlns="{NS}"><device>2001</device><doNotDisturbOn>true</doNotDisturbOn></DoNotDisturbEvent>'
CFNA_XML = (f'<ForwardingEvent xmlns="{NS}"><device>2001</device><forwardingType>forwardNoAns</forwardingType>'
            "<forwardStatus>true</forwardStatus><forwardTo>3002</forwardTo><ringCount>4</ringCount></ForwardingEvent>")


def _multipart_lf(eol: str = "\n") -> bytes:
    body = (f"--b1\nContent-Type: application/x-as-feature-event+xml\n\n{DND_XML}\n"
            f"--b1\nContent-Type: application/x-as-feature-event+xml\n\n{CFNA_XML}\n"
            "--b1\nContent-Type: application/x-callcenter+xml\n\n<AgentState/>\n--b1--\n").replace("\n", eol)
    head = NOTIFY_HEAD + f"Content-Type: multipart/mixed;boundary=b1\nContent-Length: {len(body)}\n\n"
    return (head.replace("\n", eol) + body).encode()


def test_an_editor_saved_file_with_lf_line_ends_is_read_and_said_so(tmp_path: Path) -> None:
    path = tmp_path / "notify.sip"
    path.write_bytes(_multipart_lf())
    result = run([str(path)])
    assert result.exit_code == 0, result.output
    assert "(line ends: LF)" in result.output
    assert "converted to CRLF" in result.output
    # The body grew by one octet per line end: the Content-Length is set to fit, and that is said.
    assert "does not fit the converted body: set to" in result.output
    assert "means: DoNotDisturbEvent: DND on" in result.output
    assert "means: ForwardingEvent: CFNA on to 3002 after 4 rings" in result.output
    assert "ignored: not an as-feature-event part (application/x-callcenter+xml)" in result.output
    assert "|   <doNotDisturbOn>true</doNotDisturbOn>" in result.output   # pretty-printed XML


def test_json_gives_line_ends_and_every_part(tmp_path: Path) -> None:
    path = tmp_path / "notify.sip"
    path.write_bytes(_multipart_lf("\r\n"))
    doc = json.loads(run(["--json", str(path)]).output)
    assert doc["line_ends"] == "CRLF" and "notes" not in doc
    assert [p["content_type"] for p in doc["parts"]] == [
        "application/x-as-feature-event+xml", "application/x-as-feature-event+xml",
        "application/x-callcenter+xml"]
    assert doc["parts"][0]["meaning"] == ["DoNotDisturbEvent: DND on"]
    assert doc["parts"][1]["meaning"] == ["ForwardingEvent: CFNA on to 3002 after 4 rings"]
    assert "<forwardTo>3002</forwardTo>" in doc["parts"][1]["xml"]


def test_mixed_line_ends_are_reported_as_mixed() -> None:
    mixed = GOOD.replace(b"\r\nCSeq", b"\nCSeq", 1)
    doc = json.loads(run(["--json", "-"], stdin=mixed).output)
    assert doc["line_ends"] == "mixed" and doc["ok"]


def test_a_single_set_body_and_a_part_with_a_dtd(tmp_path: Path) -> None:
    set_body = (f'<SetForwarding xmlns="{NS}"><device>2001</device><forwardingType>forwardImmediate'
                "</forwardingType><activateForward>true</activateForward><forwardDN>3000</forwardDN></SetForwarding>")
    message = (NOTIFY_HEAD.replace("NOTIFY sip", "SUBSCRIBE sip").replace("1 NOTIFY", "1 SUBSCRIBE")
               + f"Content-Type: application/x-as-feature-event+xml\nContent-Length: {len(set_body)}\n\n"
               + set_body)
    doc = json.loads(run(["--json", "-"], stdin=message.encode()).output)
    assert doc["parts"][0]["meaning"] == ["SetForwarding: CFA on to 3000"]
    bomb = f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "x">]><DoNotDisturbEvent xmlns="{NS}"><device>&a;</device></DoNotDisturbEvent>'
    message = NOTIFY_HEAD + f"Content-Type: application/x-as-feature-event+xml\nContent-Length: {len(bomb)}\n\n{bomb}"
    result = run(["--json", "-"], stdin=message.encode())
    doc = json.loads(result.output)
    assert result.exit_code == 0 and doc["parts"][0]["meaning"] == []
    assert doc["parts"][0]["ignored"] and "<!ENTITY" in doc["parts"][0]["xml"]   # shown as received, not expanded
