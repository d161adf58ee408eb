"""RFC 4475 torture messages: every `valid` one is accepted, every `invalid` one is refused with a
4xx/5xx reason (505 for badvers), and nothing else ever escapes the parser."""

from __future__ import annotations

import csv
import os

import pytest

from sip.errors import ProtocolError
from sip.message import Request, Response, parse_message
from support.shared import SHARED

DATA = SHARED / "data" / "rfc4475"


def _rows() -> list[dict[str, str]]:
    table = DATA / "expected.tsv"
    if not table.exists():
        if os.environ.get("CI") == "true":
            raise FileNotFoundError(f"{table} is missing: CI must have ../shared")
        return []
    with table.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


ROWS = _rows()
needs_shared = pytest.mark.skipif(not ROWS, reason="../shared/data/rfc4475 not present")


@needs_shared
def test_table_is_complete() -> None:
    assert len(ROWS) == 49
    assert {r["verdict"] for r in ROWS} == {"valid", "invalid", "semantic", "other"}


@needs_shared
@pytest.mark.parametrize("row", [r for r in ROWS if r["verdict"] == "valid"], ids=lambda r: r["file"])
def test_valid_messages_are_accepted(row: dict[str, str]) -> None:
    message = parse_message((DATA / row["file"]).read_bytes())
    assert isinstance(message, Request | Response)
    message.to_bytes()


@needs_shared
@pytest.mark.parametrize("row", [r for r in ROWS if r["verdict"] == "invalid"], ids=lambda r: r["file"])
def test_invalid_messages_are_refused(row: dict[str, str]) -> None:
    with pytest.raises(ProtocolError) as info:
        parse_message((DATA / row["file"]).read_bytes())
    expected = 505 if row["file"] == "badvers.dat" else 400
    assert info.value.status == expected
    assert info.value.reason


@needs_shared
@pytest.mark.parametrize(
    "row", [r for r in ROWS if r["verdict"] in ("semantic", "other")], ids=lambda r: r["file"]
)
def test_other_messages_parse_or_fail_cleanly(row: dict[str, str]) -> None:
    try:
        parse_message((DATA / row["file"]).read_bytes())
    except ProtocolError as err:
        assert err.status == 400
        assert row["file"] in {"insuf.dat", "multi01.dat", "mcl01.dat"}


@needs_shared
def test_specific_readings() -> None:
    esc02 = parse_message((DATA / "esc02.dat").read_bytes())
    assert isinstance(esc02, Request) and esc02.method == "RE%47IST%45R"
    assert len(esc02.contacts) == 2 and esc02.headers.get("C%6Fntact") is not None
    dblreq = parse_message((DATA / "dblreq.dat").read_bytes())
    assert isinstance(dblreq, Request) and dblreq.method == "REGISTER" and dblreq.body == b""
    noreason = parse_message((DATA / "noreason.dat").read_bytes())
    assert isinstance(noreason, Response) and noreason.status == 100 and noreason.reason == ""
    semiuri = parse_message((DATA / "semiuri.dat").read_bytes())
    assert isinstance(semiuri, Request) and getattr(semiuri.uri, "user", None) == "user;par=u%40example.net"
    mpart = parse_message((DATA / "mpart01.dat").read_bytes())
    assert b"\x00" in mpart.body
    wsinv = parse_message((DATA / "wsinv.dat").read_bytes())
    assert wsinv.cseq.seq == 9 and wsinv.max_forwards == 68 and len(wsinv.vias) == 3
