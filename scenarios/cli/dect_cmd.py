"""`fksim dect decode HEX...|FILE.pcap[ng]... [--json]`: decode DECT NWK messages (spec/scenarios-and-cli.md
§1, §4, §5).

Each argument is one S-format message in hex, with or without spaces inside (quote it: `"03 05 ..."`),
or a capture file: an argument that is not hex and names a file (or ends in `.pcap`/`.pcapng`) is read
as a pcap or pcapng, and each of its DECT NWK frames (exported PDUs for `dect_nwk`, as `fksim run
--pcap` writes them, or DLT_USER0) is decoded, headed by its frame number, time from the first frame,
interface and comment (fksim's captures name the handset and DECT manager there). So fksim's captures
are readable without Wireshark 4.4. Several arguments may be given; `-` reads hex messages from
standard input, one per line. The same codec the simulation uses decodes them (`dect.codec.describe`,
sender unknown). A message that does not decode is reported with the octet offset and the IE
concerned, a file that is not a capture, is cut short or holds no DECT frame is reported with its name,
and the exit status is 2; never a traceback.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from dect.codec import decode as decode_message
from dect.codec import describe, missing_mandatory
from dect.errors import DectError
from models.errors import FksimError
from scenarios.cli import EXIT_BAD_INPUT

_HEX = re.compile(r"[0-9a-fA-F]*")
_CAPTURE_SUFFIXES = (".pcap", ".pcapng", ".cap")


@dataclass(frozen=True, slots=True)
class _Item:
    """One message to decode: its bytes (or the error that stopped reading them) and where it came from."""

    label: str                      # "message 3" or "FILE frame 12"
    data: bytes | None = None
    error: str | None = None        # the whole message, naming the argument or the file
    origin: dict[str, Any] | None = None   # frame, t, interface, comment for a frame of a capture


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


def _is_capture(item: str) -> bool:
    compact = re.sub(r"[\s:]", "", item)
    if compact and _HEX.fullmatch(compact):
        return False
    return item.lower().endswith(_CAPTURE_SUFFIXES) or Path(item).is_file()


def _items(arguments: list[str]) -> list[_Item]:
    """Hex arguments as they are; capture files expanded to their DECT NWK frames."""
    from scenarios.capture import CaptureError, dect_frames

    out: list[_Item] = []
    for index, item in enumerate(arguments, start=1):
        if not _is_capture(item):
            try:
                out.append(_Item(f"message {index}", data=_parse_hex(item)))
            except FksimError as err:
                out.append(_Item(f"message {index}", error=f"message {index}: {err}"))
            continue
        try:
            frames = dect_frames(Path(item))
        except CaptureError as err:
            out.append(_Item(item, error=str(err)))
            continue
        for frame in frames:
            origin = {"file": item, "frame": frame.frame.number, "t": float(frame.t),
                      "interface": frame.frame.interface, "comment": frame.frame.comment}
            out.append(_Item(f"{item} frame {frame.frame.number}", data=frame.nwk, origin=origin))
    return out


def _heading(origin: dict[str, Any]) -> str:
    where = "  ".join(str(origin[k]) for k in ("interface", "comment") if origin[k])
    return f"frame {origin['frame']}  t={origin['t']:.6f}" + (f"  {where}" if where else "")


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
@click.argument("hex_messages", nargs=-1, required=True, metavar="HEX...|FILE.pcap[ng]...")
@click.option("--json", "as_json", is_flag=True, help="print a JSON list, one object per message")
def decode(hex_messages: tuple[str, ...], as_json: bool) -> None:
    """Decode DECT NWK messages (S-format octets in hex, or the DECT NWK frames of a pcap/pcapng
    capture such as `fksim run --pcap` writes) into their message type and IEs."""
    results: list[dict[str, Any]] = []
    texts: list[str] = []
    failures: list[str] = []
    for item in _items(_arguments(hex_messages)):
        if item.data is None:
            failures.append(str(item.error))
            continue
        try:
            described = describe(item.data)
            missing = missing_mandatory(decode_message(item.data, require_mandatory=False))
        except DectError as err:
            failures.append(f"{item.label}: {err}")
            continue
        if item.origin is not None:
            described = {**item.origin, **described}
        results.append(described)
        text = _text(described, missing)
        texts.append(text if item.origin is None else f"{_heading(item.origin)}\n{text}")
    if as_json:
        click.echo(json.dumps(results, indent=2))
    elif texts:
        click.echo("\n\n".join(texts))
    for failure in failures:
        click.echo(f"fksim: {failure}", err=True)
    if failures:
        sys.exit(EXIT_BAD_INPUT)
