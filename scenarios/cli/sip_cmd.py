"""`fksim sip parse FILE... [--json]`: the strict SIP parser as an engineer's tool
(contract: spec/scenarios-and-cli.md §1).

Each file holds one SIP message (`-` reads standard input). For each, the start line and the
headers as understood are printed (canonical names, one line per value), then an `as-feature-event`
body part by part (`scenarios.cli.sip_body`); exit 0 when all are well-formed, 2 when any is not,
naming the file and the 400 (or 505/513) reason phrase. A file with bare LF line ends (saved by an
editor) is converted to CRLF first and the output says so; the wire parser stays strict. No input
gives a traceback: a file is read up to one octet past the largest datagram, and control characters
of received text are printed escaped, so a hostile message cannot drive the terminal.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import click

from models.errors import FksimError
from scenarios.cli.sip_body import feature_parts, normalise_line_ends
from sip.errors import ProtocolError
from sip.message import MAX_MESSAGE_SIZE, Request, Response, parse_message
from sip.readback import understood_headers

EXIT_BAD_INPUT = 2


@click.group()
def sip() -> None:
    """SIP tools: parse messages with the simulation's strict parser."""


def _describe(message: Request | Response) -> dict[str, Any]:
    if isinstance(message, Request):
        start = f"{message.method} {message.uri} SIP/2.0"
        kind = "request"
    else:
        start = f"SIP/2.0 {message.status} {message.reason}"
        kind = "response"
    headers = [[name, value] for name, value in understood_headers(message)]
    return {"kind": kind, "start_line": start, "headers": headers, "body_length": len(message.body)}


def _read(path: str) -> bytes:
    # One octet more than a datagram can hold is enough for the parser to answer 513; a huge file
    # (or /dev/zero) is never read whole.
    if path == "-":
        return sys.stdin.buffer.read(MAX_MESSAGE_SIZE + 1)
    with open(path, "rb") as handle:
        return handle.read(MAX_MESSAGE_SIZE + 1)


#: C0 controls but TAB, DEL and C1 controls: printed as \xNN in text output.
_CONTROL_RE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")


def _printable(text: str) -> str:
    return _CONTROL_RE.sub(lambda m: f"\\x{ord(m.group(0)):02x}", text)


def _print_text(result: dict[str, Any]) -> None:
    click.echo(f"{result['file']}: {_printable(result['start_line'])}")
    click.echo(f"  (line ends: {result['line_ends']})")
    for note in result.get("notes", []):
        click.echo(f"  note: {note}")
    for header, value in result["headers"]:
        click.echo(f"  {header}: {_printable(value)}")
    click.echo(f"  ({result['body_length']} body octets)")
    for part in result.get("parts", []):
        click.echo(f"  part {part['index']}: {_printable(str(part['content_type']))}")
        for text in part.get("meaning", []):
            click.echo(f"    means: {_printable(text)}")
        for reason in part.get("ignored", []):
            click.echo(f"    ignored: {_printable(reason)}")
        if "error" in part:
            click.echo(f"    error: {_printable(part['error'])}")
        for line in part.get("xml", "").splitlines():
            click.echo(f"    | {_printable(line)}")


@sip.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="print one JSON document instead of text")
def parse(files: tuple[str, ...], as_json: bool) -> None:
    """Parse each FILE as one SIP message ("-" = standard input) and print what was understood."""
    results: list[dict[str, Any]] = []
    failed = False
    for path in files:
        name = "<stdin>" if path == "-" else path
        try:
            data = _read(path)
        except OSError as err:
            results.append({"file": name, "ok": False, "error": {"status": None, "reason": err.strerror}})
            failed = True
            continue
        data, line_ends, notes = normalise_line_ends(data)
        try:
            message = parse_message(data)
            described = _describe(message)
            described["line_ends"] = line_ends
            if notes:
                described["notes"] = notes
            parts = feature_parts(message)
            if parts is not None:
                described["parts"] = parts
        except ProtocolError as err:
            results.append({"file": name, "ok": False, "error": {"status": err.status, "reason": err.reason}})
            failed = True
            continue
        except FksimError as err:
            results.append({"file": name, "ok": False, "error": {"status": None, "reason": str(err)}})
            failed = True
            continue
        results.append({"file": name, "ok": True, **described})
    if as_json:
        click.echo(json.dumps(results if len(results) > 1 else results[0], indent=2, ensure_ascii=False))
    else:
        for index, result in enumerate(results):
            if index:
                click.echo("")
            if result["ok"]:
                _print_text(result)
            else:
                error = result["error"]
                status = f"{error['status']} " if error["status"] is not None else ""
                click.echo(f"{result['file']}: {status}{_printable(error['reason'])}", err=True)
    if failed:
        sys.exit(EXIT_BAD_INPUT)
