"""`fksim dect decode HEX... [--json]`: decode DECT NWK messages (spec/scenarios-and-cli.md §1, §4).

Each argument is one S-format message in hex, with or without spaces inside (quote it: `"03 05 ..."`).
Several messages may be given; `-` reads them from standard input, one per line. The same codec the
simulation uses decodes them (`dect.codec.describe`, sender unknown). A message that does not decode is
reported with the octet offset and the IE concerned, and the exit status is 2; never a traceback.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import click

from dect.codec import decode as decode_message
from dect.codec import describe, missing_mandatory
from dect.errors import DectError
from models.errors import FksimError
from scenarios.cli import EXIT_BAD_INPUT

_HEX = re.compile(r"[0-9a-fA-F]*")


def _parse_hex(text: str) -> bytes:
    compact = re.sub(r"[\s:]", "", text)
    if not compact or not _HEX.fullmatch(compact) or len(compact) % 2:
        raise FksimError(f'"{text}" is not hex octets (pairs of hex digits, spaces allowed)')
    return bytes.fromhex(compact)


def _arguments(hex_messages: tuple[str, ...]) -> list[str]:
    """Arguments as given; `-` stands for standard input, one message per non-empty line.

    Arguments that are lone octets (`03 05 05 ...` passed unquoted) are joined into one message.
    """
    out: list[str] = []
    for item in hex_messages:
        if item == "-":
            out += [line for line in sys.stdin.read().splitlines() if line.strip()]
        else:
            out.append(item)
    if out and all(len(item.strip()) == 2 for item in out) and len(out) > 1:
        return [" ".join(out)]
    return out


def _text(decoded: dict[str, Any], missing: list[str]) -> str:
    lines = [
        f"{decoded['message']}  pd={decoded['pd']} ti_flag={decoded['ti_flag']} tv={decoded['tv']}",
        f"  hex: {decoded['hex']}",
    ]
    for ie in decoded["ies"]:
        fields = {k: v for k, v in ie.items() if k not in ("name", "id")}
        rendered = ", ".join(
            f"{k}={json.dumps(v) if not isinstance(v, str) else v}" for k, v in fields.items()
        )
        lines.append(f"  {ie['id']} {ie['name']}" + (f": {rendered}" if rendered else ""))
    lines += [f"  note: mandatory {name} missing (a receiver answers RELEASE-REASON 03)" for name in missing]
    return "\n".join(lines)


@click.group()
def dect() -> None:
    """DECT NWK tools."""


@dect.command()
@click.argument("hex_messages", nargs=-1, required=True, metavar="HEX...")
@click.option("--json", "as_json", is_flag=True, help="print a JSON list, one object per message")
def decode(hex_messages: tuple[str, ...], as_json: bool) -> None:
    """Decode DECT NWK messages (S-format octets in hex) into their message type and IEs."""
    results: list[dict[str, Any]] = []
    missing: list[list[str]] = []
    failures: list[str] = []
    for index, item in enumerate(_arguments(hex_messages), start=1):
        try:
            data = _parse_hex(item)
            results.append(describe(data))
            missing.append(missing_mandatory(decode_message(data, require_mandatory=False)))
        except DectError as err:
            failures.append(f"message {index}: {err}")
        except FksimError as err:
            failures.append(f"message {index}: {err}")
    if as_json:
        click.echo(json.dumps(results, indent=2))
    elif results:
        click.echo("\n\n".join(_text(r, m) for r, m in zip(results, missing, strict=True)))
    for failure in failures:
        click.echo(f"fksim: {failure}", err=True)
    if failures:
        sys.exit(EXIT_BAD_INPUT)
