"""multipart/mixed bodies (RFC 2046 §5.1, RFC 5621 for SIP): build and parse.

One responsibility: framing of body parts. Input is tolerant (any boundary, bare LF instead of
CRLF around delimiters and part headers, feature-key-sync.md §5); output is always CRLF. Anything
that cannot be framed raises `RemoteProtocolError` (400).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from sip.errors import LocalProtocolError, RemoteProtocolError
from sip.headers import MediaType, parse_media_type
from sip.uri import TOKEN_RE

# RFC 2046 §5.1.1: boundary := 0*69<bchars> bcharsnospace (1 to 70 characters).
_BOUNDARY_RE = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]")


@dataclass(frozen=True, kw_only=True)
class BodyPart:
    """One part: its Content-Type (None when the part had none) and its octets."""

    content_type: MediaType | None
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


def build_multipart(parts: Sequence[BodyPart], boundary: str) -> tuple[MediaType, bytes]:
    """Return (the Content-Type to send, the body) for `parts` delimited by `boundary`."""
    if _BOUNDARY_RE.fullmatch(boundary) is None:
        raise LocalProtocolError(f"Invalid multipart boundary {boundary!r}")
    delimiter = b"--" + boundary.encode("ascii")
    chunks: list[bytes] = []
    for part in parts:
        if delimiter in part.body:
            raise LocalProtocolError("Multipart boundary occurs inside a part")
        head = b""
        if part.content_type is not None:
            head += f"Content-Type: {part.content_type}\r\n".encode("ascii")
        for name, value in part.headers:
            head += f"{name}: {value}\r\n".encode()
        chunks.append(delimiter + b"\r\n" + head + b"\r\n" + part.body + b"\r\n")
    body = b"".join(chunks) + delimiter + b"--\r\n"
    return MediaType(type="multipart", subtype="mixed", params=(("boundary", boundary),)), body


def parse_multipart(content_type: MediaType, body: bytes) -> list[BodyPart]:
    """Split a multipart body into parts (RFC 2046 §5.1.1: delimiter = CRLF "--" boundary; the CRLF
    before a delimiter belongs to it, so a part's octets end before it; bare LF tolerated)."""
    boundary = content_type.param("boundary")
    if not boundary:
        raise RemoteProtocolError("Multipart body without boundary")
    delimiter = b"--" + boundary.encode("utf-8", "replace")
    # Delimiters are only recognised at the start of the body or of a line.
    starts: list[int] = []
    at = body.find(delimiter)
    while at >= 0:
        if at == 0 or body[at - 1] == 0x0A:
            starts.append(at)
            at = body.find(delimiter, at + len(delimiter))
        else:
            at = body.find(delimiter, at + 1)
    if not starts:
        raise RemoteProtocolError("Multipart body without its boundary")
    parts: list[BodyPart] = []
    closed = False
    for index, start in enumerate(starts):
        after = start + len(delimiter)
        if body[after : after + 2] == b"--":
            closed = True
            break
        line_end = body.find(b"\n", after)
        if line_end < 0 or body[after:line_end].strip(b" \t\r"):
            raise RemoteProtocolError("Malformed multipart delimiter line")
        if index + 1 >= len(starts):
            break
        end = starts[index + 1] - 1  # drop the LF that starts the next delimiter...
        if end > 0 and body[end - 1 : end] == b"\r":
            end -= 1  # ...and its CR when there is one
        parts.append(_parse_part(body[line_end + 1 : max(end, line_end + 1)]))
    if not closed:
        raise RemoteProtocolError("Multipart body without closing delimiter")
    if not parts:
        raise RemoteProtocolError("Multipart body without parts")
    return parts


_EMPTY_LINE_RE = re.compile(b"\r?\n\r?\n")
_LINE_END_RE = re.compile(r"\r?\n")


def _parse_part(raw: bytes) -> BodyPart:
    # RFC 2046 §5.1.1: body-part := MIME-part-headers [CRLF *OCTET]; the empty line separates them.
    if raw.startswith(b"\r\n") or raw.startswith(b"\n"):
        head, body = b"", raw[2:] if raw.startswith(b"\r\n") else raw[1:]
    else:
        m = _EMPTY_LINE_RE.search(raw)
        if m is None:
            head, body = raw, b""
        else:
            head, body = raw[: m.start()], raw[m.end() :]
    headers: list[tuple[str, str]] = []
    content_type: MediaType | None = None
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise RemoteProtocolError("Multipart part headers are not valid UTF-8") from None
    for line in _LINE_END_RE.split(text) if text else []:
        name, sep, value = line.partition(":")
        name = name.strip()
        if not sep or TOKEN_RE.fullmatch(name) is None:
            raise RemoteProtocolError("Malformed multipart part header")
        if name.lower() == "content-type":
            content_type = parse_media_type(value.strip())
        else:
            headers.append((name, value.strip()))
    return BodyPart(content_type=content_type, body=body, headers=tuple(headers))


__all__ = ["BodyPart", "build_multipart", "parse_multipart"]
