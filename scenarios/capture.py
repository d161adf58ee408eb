"""Captures of a run's messages that Wireshark decodes, and reading them back.

Writing: one pcapng file per run, `<stem>.pcapng` (spec/scenarios-and-cli.md §3 and §5: "one pcapng
per run holding both SIP and DECT NWK frames"), with one interface per kind of link:

- interface 0, `sip`, linktype 1 (Ethernet): each SIP datagram in a real IPv4/UDP frame with correct
  IPv4 header and UDP checksums, so Wireshark's SIP dissector takes port 5060 and checksum validation
  passes. MAC addresses are derived from the IPv4 address (locally administered 02:00:…).
- one interface per DECT manager (`dect-base` on a single-cell base, `dect-dm1`, `dect-dm2`, … on a
  multicell system), linktype 252 (Wireshark "exported PDU"): each NWK message preceded by the tag
  EXP_PDU_TAG_DISSECTOR_NAME (12) = "dect_nwk", which Wireshark 4.2 and later dissect directly.

Every frame carries a pcapng comment (`opt_comment`) naming its sender and receiver as the trace does
(`handset:029e74a599 -> dm1`), so a DECT frame says which handset and which DECT manager it belongs to;
a datagram the simulated network lost is still written (it was sent) and its comment says so. Frames
are interleaved in time order, stamped with simulated time after a fixed epoch; the file is built
from raw bytes (conventions point 10), so the same run gives a byte-identical capture.

Reading (`read_capture`, `dect_frames`): classic pcap (either byte order, micro- or nanosecond
stamps) and pcapng (any section byte order; EPB, SPB and obsolete PB blocks), so `fksim dect decode`
can show the NWK frames of fksim's own captures, or anyone's exported-PDU `dect_nwk` or DLT_USER0
(147) captures, without Wireshark 4.4. A file that is not a capture, is cut short or holds no DECT
frame is a `CaptureError` naming the file and the offset.
"""

from __future__ import annotations

import ipaddress
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from models.errors import FksimError
from scenarios.world.log import Address, LogEntry

#: Simulated time 0 is 2026-01-01T00:00:00Z in the captures (a fixed epoch keeps them reproducible).
EPOCH = 1767225600
LINKTYPE_ETHERNET = 1
LINKTYPE_USER0 = 147   # spec/dect-nwk.md §5: the other way to hand NWK bytes to dect_nwk
LINKTYPE_WIRESHARK_UPPER_PDU = 252
EXP_PDU_TAG_END_OF_OPT = 0
EXP_PDU_TAG_DISSECTOR_NAME = 12
ETHERTYPE_IPV4 = 0x0800
IPPROTO_UDP = 17
SNAPLEN = 262144

# pcapng (draft-ietf-opsawg-pcapng): block types and option codes used here.
SHB = 0x0A0D0D0A
IDB = 0x00000001
PB = 0x00000002    # obsolete Packet Block, still read
SPB = 0x00000003
EPB = 0x00000006
BYTE_ORDER_MAGIC = 0x1A2B3C4D
OPT_END = 0
OPT_COMMENT = 1
SHB_USERAPPL = 4
IF_NAME = 2
IF_DESCRIPTION = 3
IF_TSRESOL = 9


class CaptureError(FksimError):
    """A file that cannot be read as a capture of DECT NWK frames; the message names file and offset."""


def _checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071): one's complement of the one's complement sum of 16-bit words."""
    if len(data) % 2:
        data += b"\x00"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _mac(ip: bytes) -> bytes:
    return b"\x02\x00" + ip


def udp_frame(src: Address, dst: Address, payload: bytes, ident: int) -> bytes:
    """An Ethernet II frame holding IPv4/UDP with `payload`, both checksums computed."""
    src_ip = ipaddress.IPv4Address(src[0]).packed
    dst_ip = ipaddress.IPv4Address(dst[0]).packed
    udp_length = 8 + len(payload)
    pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, IPPROTO_UDP, udp_length)
    udp_header = struct.pack("!HHHH", src[1], dst[1], udp_length, 0)
    udp_sum = _checksum(pseudo + udp_header + payload) or 0xFFFF   # RFC 768: 0 is sent as all ones
    udp = struct.pack("!HHHH", src[1], dst[1], udp_length, udp_sum) + payload
    ip_header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), ident & 0xFFFF, 0, 64, IPPROTO_UDP, 0,
                            src_ip, dst_ip)
    ip_header = ip_header[:10] + struct.pack("!H", _checksum(ip_header)) + ip_header[12:]
    return _mac(dst_ip) + _mac(src_ip) + struct.pack("!H", ETHERTYPE_IPV4) + ip_header + udp


def _exported_pdu_header(dissector: str) -> bytes:
    name = dissector.encode("ascii")
    padded = name + b"\x00" * (-len(name) % 4)
    return (struct.pack("!HH", EXP_PDU_TAG_DISSECTOR_NAME, len(padded)) + padded
            + struct.pack("!HH", EXP_PDU_TAG_END_OF_OPT, 0))


DECT_NWK_HEADER = _exported_pdu_header("dect_nwk")
DATA_HEADER = _exported_pdu_header("data")


# ------------------------------------------------------------------------------ writing pcapng


def _pad(data: bytes) -> bytes:
    return data + b"\x00" * (-len(data) % 4)


def _options(options: Iterable[tuple[int, bytes]]) -> bytes:
    out = b"".join(struct.pack("<HH", code, len(value)) + _pad(value) for code, value in options)
    return out + struct.pack("<HH", OPT_END, 0) if out else b""


def _block(block_type: int, body: bytes) -> bytes:
    length = 12 + len(body)
    return struct.pack("<II", block_type, length) + body + struct.pack("<I", length)


def _section_header() -> bytes:
    return _block(SHB, struct.pack("<IHHq", BYTE_ORDER_MAGIC, 1, 0, -1)
                  + _options([(SHB_USERAPPL, b"fksim")]))


def _interface(linktype: int, name: str, description: str) -> bytes:
    return _block(IDB, struct.pack("<HHI", linktype, 0, SNAPLEN)
                  + _options([(IF_NAME, name.encode()), (IF_DESCRIPTION, description.encode())]))


def _packet(interface: int, t: float, data: bytes, comment: str) -> bytes:
    stamp = EPOCH * 1_000_000 + round(t * 1_000_000)   # if_tsresol left at its default, microseconds
    return _block(EPB, struct.pack("<IIIII", interface, stamp >> 32, stamp & 0xFFFFFFFF, len(data), len(data))
                  + _pad(data) + _options([(OPT_COMMENT, comment.encode())]))


def _dect_manager(entry: LogEntry) -> str:
    """The base side of a DECT frame: `base` (one DECT manager) or `dm1`, `dm2`, …"""
    return entry.dst if entry.src.startswith("handset:") else entry.src


def _manager_order(name: str) -> tuple[int, str]:
    found = re.fullmatch(r"dm(\d+)", name)
    return (int(found.group(1)), name) if found else (0, name)


def capture_bytes(entries: Iterable[LogEntry]) -> bytes:
    """The pcapng of a run: SIP on interface 0, DECT NWK on one interface per DECT manager."""
    entries = list(entries)
    managers = sorted({_dect_manager(e) for e in entries if e.layer == "dect"}, key=_manager_order)
    interface = {name: index for index, name in enumerate(managers, start=1)}
    blocks = [_section_header(),
              _interface(LINKTYPE_ETHERNET, "sip", "SIP over Ethernet/IPv4/UDP, base and server")]
    blocks += [_interface(LINKTYPE_WIRESHARK_UPPER_PDU, f"dect-{name}",
                          f"DECT NWK of {name} (exported PDU, dect_nwk)") for name in managers]
    for ident, entry in enumerate(entries):
        comment = f"{entry.src} -> {entry.dst}" + (" (lost in the simulated network)" if entry.lost else "")
        if entry.layer == "sip":
            assert entry.src_addr is not None and entry.dst_addr is not None
            frame = udp_frame(entry.src_addr, entry.dst_addr, entry.data, ident)
            blocks.append(_packet(0, entry.t, frame, comment))
        elif entry.bformat:
            # A page on the paging channel is no S-format NWK message: Wireshark's dect_nwk does not
            # dissect B-format, so it goes as plain data with its name in the comment.
            blocks.append(_packet(interface[_dect_manager(entry)], entry.t, DATA_HEADER + entry.data,
                                  f"{comment}: LCE-REQUEST-PAGE (B-format short page, EN 300 175-5 §8.2)"))
        else:
            blocks.append(_packet(interface[_dect_manager(entry)], entry.t, DECT_NWK_HEADER + entry.data,
                                  comment))
    return b"".join(blocks)


def capture_name(stem: str) -> str:
    """The file name `--pcap DIR` gives a run's capture."""
    return f"{stem}.pcapng"


def write_capture(entries: Iterable[LogEntry], directory: Path, stem: str) -> Path:
    """Write `<stem>.pcapng` under `directory` and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / capture_name(stem)
    path.write_bytes(capture_bytes(entries))
    return path


# ------------------------------------------------------------------------------ reading


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """One captured frame: its number (from 1), exact absolute time (seconds), link type, interface and
    comment."""

    number: int
    time: Fraction
    linktype: int
    interface: str
    comment: str
    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class DectFrame:
    """The NWK message of one frame, with where it came from; `t` counts from the capture's first frame
    (in fksim's captures, the simulated time of the run when the run's first message was at 0)."""

    frame: Frame
    nwk: bytes
    t: Fraction


class _Reader:
    def __init__(self, path: Path, data: bytes) -> None:
        self.path = path
        self.data = data

    def need(self, offset: int, size: int, what: str) -> bytes:
        if offset + size > len(self.data):
            raise CaptureError(f"{self.path}: cut short at offset {offset}: {what} needs {size} bytes, "
                               f"{max(0, len(self.data) - offset)} left")
        return self.data[offset:offset + size]


def read_capture(path: Path) -> list[Frame]:
    """Every frame of a pcap or pcapng file, in file order."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise CaptureError(f"{path}: cannot read: {err.strerror or err}") from None
    reader = _Reader(path, data)
    magic = reader.need(0, 4, "the file's magic number")
    if struct.unpack("<I", magic)[0] == SHB:
        return _read_pcapng(reader)
    for order in ("<", ">"):
        value = struct.unpack(f"{order}I", magic)[0]
        if value in (0xA1B2C3D4, 0xA1B23C4D):
            return _read_pcap(reader, order, 10**6 if value == 0xA1B2C3D4 else 10**9)
    raise CaptureError(f"{path}: not a pcap or pcapng file (it starts with {magic.hex(' ')})")


def _read_pcap(reader: _Reader, order: str, per_second: int) -> list[Frame]:
    header = reader.need(0, 24, "the pcap file header")
    linktype = struct.unpack(f"{order}I", header[20:24])[0] & 0x0FFFFFFF
    frames: list[Frame] = []
    offset = 24
    while offset < len(reader.data):
        sec, frac, caplen, _orig = struct.unpack(f"{order}IIII", reader.need(offset, 16, "a record header"))
        data = reader.need(offset + 16, caplen, f"frame {len(frames) + 1}")
        frames.append(Frame(number=len(frames) + 1, time=sec + Fraction(frac, per_second), linktype=linktype,
                            interface="", comment="", data=data))
        offset += 16 + caplen
    return frames


@dataclass(slots=True)
class _Interface:
    linktype: int
    name: str
    per_second: int


def _pcapng_options(body: bytes, order: str) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    offset = 0
    while offset + 4 <= len(body):
        code, length = struct.unpack(f"{order}HH", body[offset:offset + 4])
        if code == OPT_END:
            break
        out.append((code, body[offset + 4:offset + 4 + length]))
        offset += 4 + length + (-length % 4)
    return out


def _tsresol(value: bytes) -> int:
    """Ticks per second of an interface (if_tsresol: a power of ten, or of two with the top bit set)."""
    if not value:
        return 10**6
    exponent: int = value[0] & 0x7F
    return int(2**exponent) if value[0] & 0x80 else int(10**exponent)


def _read_pcapng(reader: _Reader) -> list[Frame]:
    frames: list[Frame] = []
    interfaces: list[_Interface] = []
    order = "<"
    offset = 0
    while offset < len(reader.data):
        head = reader.need(offset, 8, "a block header")
        if struct.unpack("<I", head[:4])[0] == SHB:   # a new section: its own byte order and interfaces
            magic = reader.need(offset + 8, 4, "the byte-order magic")
            order = "<" if struct.unpack("<I", magic)[0] == BYTE_ORDER_MAGIC else ">"
            if struct.unpack(f"{order}I", magic)[0] != BYTE_ORDER_MAGIC:
                raise CaptureError(f"{reader.path}: offset {offset + 8}: bad pcapng byte-order magic")
            interfaces = []
        block_type, length = struct.unpack(f"{order}II", head)
        if length < 12 or length % 4:
            raise CaptureError(f"{reader.path}: offset {offset}: pcapng block length {length} is not valid")
        body = reader.need(offset + 8, length - 12, f"a pcapng block of {length} bytes")
        reader.need(offset + length - 4, 4, "the block's trailing length")
        if block_type == IDB:
            linktype = struct.unpack(f"{order}H", body[:2])[0]
            options = dict(_pcapng_options(body[8:], order))
            interfaces.append(_Interface(linktype, options.get(IF_NAME, b"").decode("utf-8", "replace"),
                                         _tsresol(options.get(IF_TSRESOL, b""))))
        elif block_type in (EPB, PB, SPB):
            frames.append(_packet_block(reader, offset, block_type, body, order, interfaces, len(frames) + 1))
        offset += length
    return frames


def _packet_block(reader: _Reader, offset: int, block_type: int, body: bytes, order: str,
                  interfaces: list[_Interface], number: int) -> Frame:
    if block_type == SPB:
        index, high, low, caplen, start = 0, 0, 0, min(struct.unpack(f"{order}I", body[:4])[0],
                                                       len(body) - 4), 4
    elif block_type == EPB:
        index, high, low, caplen = struct.unpack(f"{order}IIII", body[:16])
        start = 20
    else:
        index, high, low, caplen = struct.unpack(f"{order}HxxIII", body[:16])
        start = 20
    if index >= len(interfaces):
        raise CaptureError(f"{reader.path}: offset {offset}: frame {number} names interface {index}, "
                           f"which the file does not describe")
    if start + caplen > len(body):
        raise CaptureError(f"{reader.path}: offset {offset}: frame {number} claims {caplen} bytes, "
                           "more than its block holds")
    interface = interfaces[index]
    options = _pcapng_options(body[start + caplen + (-caplen % 4):], order) if block_type != SPB else []
    comment = next((v.decode("utf-8", "replace") for code, v in options if code == OPT_COMMENT), "")
    return Frame(number=number, time=Fraction((high << 32) | low, interface.per_second),
                 linktype=interface.linktype,
                 interface=interface.name, comment=comment, data=body[start:start + caplen])


def exported_pdu(frame: Frame, path: Path) -> tuple[str, bytes]:
    """The dissector an exported-PDU frame names and the PDU after the tags."""
    offset = 0
    name = ""
    data = frame.data
    while True:
        if offset + 4 > len(data):
            raise CaptureError(f"{path}: frame {frame.number}: exported-PDU tags cut short "
                               f"at offset {offset}")
        tag, length = struct.unpack("!HH", data[offset:offset + 4])
        offset += 4
        if tag == EXP_PDU_TAG_END_OF_OPT:
            return name, data[offset:]
        if offset + length > len(data):
            raise CaptureError(f"{path}: frame {frame.number}: exported-PDU tag {tag} runs past the end")
        if tag == EXP_PDU_TAG_DISSECTOR_NAME:
            name = data[offset:offset + length].rstrip(b"\x00").decode("ascii", "replace")
        offset += length


def dect_frames(path: Path) -> list[DectFrame]:
    """The DECT NWK frames of a capture: exported PDUs for `dect_nwk`, or DLT_USER0 (147) frames."""
    frames = read_capture(path)
    out: list[DectFrame] = []
    first = frames[0].time if frames else Fraction(0)
    for frame in frames:
        if frame.linktype == LINKTYPE_USER0:
            out.append(DectFrame(frame=frame, nwk=frame.data, t=frame.time - first))
        elif frame.linktype == LINKTYPE_WIRESHARK_UPPER_PDU:
            name, pdu = exported_pdu(frame, path)
            if name == "dect_nwk":
                out.append(DectFrame(frame=frame, nwk=pdu, t=frame.time - first))
    if not out:
        raise CaptureError(f"{path}: no DECT NWK frame among its {len(frames)} frame(s) (expected exported "
                           "PDUs for dect_nwk, linktype 252, or DLT_USER0, linktype 147)")
    return out
