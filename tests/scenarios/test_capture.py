"""Captures: one pcapng per run, checked here block by block and read back; independent decoding by
tshark and Wireshark 4.4's dect_nwk through the shared checkers (skipped only off CI when the tool or
../shared is missing); the reader on classic pcap, pcapng and broken files."""

import struct
import subprocess
from fractions import Fraction

import pytest
from live.kit import require_tool

from scenarios.capture import (
    EPOCH,
    CaptureError,
    _checksum,
    capture_bytes,
    dect_frames,
    read_capture,
    udp_frame,
    write_capture,
)
from scenarios.world.log import LogEntry
from support.golden import BASE, CC_SETUP, LOCATE, NOTIFY, OK, SERVER, SUBSCRIBE
from support.shared import shared_tool

EXPORTED = bytes.fromhex("000c0008") + b"dect_nwk" + bytes(4)


def _entries():
    return [
        LogEntry(0, 0.5, "dect", "handset:029e74a599", "base", LOCATE),
        LogEntry(1, 1.0, "sip", "base", "server", SUBSCRIBE, BASE, SERVER),
        LogEntry(2, 1.02, "sip", "server", "base", OK, SERVER, BASE),
        LogEntry(3, 1.03, "sip", "server", "base", NOTIFY, SERVER, BASE, lost=True),
        LogEntry(4, 2.25, "dect", "handset:029e74a599", "base", CC_SETUP),
    ]


def _multicell():
    return [
        LogEntry(0, 0.0, "sip", "dm2", "server", SUBSCRIBE, BASE, SERVER),
        LogEntry(1, 0.1, "dect", "handset:029e74a5a0", "dm2", LOCATE),
        LogEntry(2, 0.2, "dect", "dm1", "handset:029e74a599", CC_SETUP),
        LogEntry(3, 0.3, "dect", "handset:029e74a599", "dm1", LOCATE),
    ]


def _blocks(data: bytes):
    """(type, body) of every pcapng block, checking that both length fields agree."""
    out, offset = [], 0
    while offset < len(data):
        kind, length = struct.unpack("<II", data[offset:offset + 8])
        assert length % 4 == 0 and data[offset + length - 4:offset + length] == struct.pack("<I", length)
        out.append((kind, data[offset + 8:offset + length - 4]))
        offset += length
    return out


def test_checksum_matches_rfc1071_example():
    # RFC 1071 §3 worked example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, checksum 220d.
    assert _checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_udp_frame_fields_and_checksums_verify():
    frame = udp_frame(BASE, SERVER, b"hello", 7)
    assert frame[12:14] == b"\x08\x00"
    ip = frame[14:34]
    assert _checksum(ip) == 0  # a correct header checksums to zero
    udp = frame[34:]
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 17, len(udp))
    assert _checksum(pseudo + udp) == 0
    assert struct.unpack("!HHH", udp[:6]) == (5060, 5060, 13) and udp[8:] == b"hello"


def test_one_pcapng_with_a_sip_and_a_dect_interface_in_time_order(tmp_path):
    path = write_capture(_entries(), tmp_path, "dnd-N670")
    assert path.name == "dnd-N670.pcapng" and [p.name for p in tmp_path.iterdir()] == [path.name]
    blocks = _blocks(path.read_bytes())
    assert [kind for kind, _ in blocks] == [0x0A0D0D0A, 1, 1, 6, 6, 6, 6, 6]
    assert struct.unpack("<H", blocks[1][1][:2])[0] == 1      # interface 0: Ethernet
    assert struct.unpack("<H", blocks[2][1][:2])[0] == 252    # interface 1: exported PDU
    interfaces = [struct.unpack("<I", body[:4])[0] for kind, body in blocks if kind == 6]
    assert interfaces == [1, 0, 0, 0, 1]
    stamps = [(struct.unpack("<II", body[4:12])) for kind, body in blocks if kind == 6]
    micros = [(high << 32 | low) - EPOCH * 1_000_000 for high, low in stamps]
    assert micros == [500_000, 1_000_000, 1_020_000, 1_030_000, 2_250_000]


def test_read_back_every_frame_with_interface_comment_and_time(tmp_path):
    frames = read_capture(write_capture(_entries(), tmp_path, "x"))
    assert [(f.number, f.linktype, f.interface) for f in frames] == [
        (1, 252, "dect-base"), (2, 1, "sip"), (3, 1, "sip"), (4, 1, "sip"), (5, 252, "dect-base")]
    assert [float(f.time - EPOCH) for f in frames] == [0.5, 1.0, 1.02, 1.03, 2.25]
    assert frames[0].data == EXPORTED + LOCATE
    assert frames[1].data.endswith(SUBSCRIBE)
    assert frames[0].comment == "handset:029e74a599 -> base"
    assert frames[3].comment == "server -> base (lost in the simulated network)"
    assert [d.nwk for d in dect_frames(tmp_path / "x.pcapng")] == [LOCATE, CC_SETUP]


def test_one_interface_per_dect_manager(tmp_path):
    frames = read_capture(write_capture(_multicell(), tmp_path, "roam"))
    assert [(f.interface, f.comment) for f in frames] == [
        ("sip", "dm2 -> server"), ("dect-dm2", "handset:029e74a5a0 -> dm2"),
        ("dect-dm1", "dm1 -> handset:029e74a599"), ("dect-dm1", "handset:029e74a599 -> dm1")]


def test_same_entries_same_bytes():
    assert capture_bytes(_entries()) == capture_bytes(_entries())


def test_tshark_reads_interfaces_and_comments(tmp_path):
    tshark = require_tool("tshark")
    path = write_capture(_multicell(), tmp_path, "roam")
    proc = subprocess.run([tshark, "-r", str(path), "-T", "fields", "-e", "frame.interface_name",
                           "-e", "frame.comment"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["sip\tdm2 -> server", "dect-dm2\thandset:029e74a5a0 -> dm2",
                                        "dect-dm1\tdm1 -> handset:029e74a599",
                                        "dect-dm1\thandset:029e74a599 -> dm1"]


def test_one_capture_passes_the_independent_sip_checker(tmp_path):
    path = write_capture(_entries(), tmp_path, "run")
    result = subprocess.run([str(shared_tool("check-sip-pcap")), "--checksums", str(path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_same_capture_decodes_in_wireshark_dect_nwk(tmp_path):
    path = write_capture(_entries(), tmp_path, "run")
    result = subprocess.run([str(shared_tool("check-dect-pcap")), str(path)],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr


# ------------------------------------------------------------------------------ reading other files


def _classic(order: str, magic: int, linktype: int, records: list[tuple[int, int, bytes]]) -> bytes:
    out = struct.pack(f"{order}IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for sec, frac, data in records:
        out += struct.pack(f"{order}IIII", sec, frac, len(data), len(data)) + data
    return out


@pytest.mark.parametrize("order", ["<", ">"])
def test_classic_pcap_exported_pdu_either_byte_order(tmp_path, order):
    path = tmp_path / "old.pcap"
    path.write_bytes(_classic(order, 0xA1B2C3D4, 252, [(EPOCH, 250_000, EXPORTED + LOCATE)]))
    [frame] = dect_frames(path)
    assert frame.nwk == LOCATE and frame.frame.time == EPOCH + 0.25


def test_classic_pcap_dlt_user0_with_nanoseconds(tmp_path):
    path = tmp_path / "user0.pcap"
    path.write_bytes(_classic("<", 0xA1B23C4D, 147, [(EPOCH, 5, CC_SETUP)]))
    [frame] = dect_frames(path)
    assert frame.nwk == CC_SETUP and frame.frame.time == EPOCH + Fraction(5, 10**9)


def test_every_truncated_prefix_is_a_clean_error(tmp_path):
    whole = capture_bytes(_entries())
    path = tmp_path / "cut.pcapng"
    boundaries = set()
    offset = 0
    while offset < len(whole):
        boundaries.add(offset)
        offset += struct.unpack("<I", whole[offset + 4:offset + 8])[0]
    for size in range(len(whole)):
        path.write_bytes(whole[:size])
        if size in boundaries and size > 0:   # whole blocks: a shorter capture, valid if it has a DECT frame
            try:
                assert dect_frames(path)
            except CaptureError as err:
                assert "no DECT NWK frame" in str(err)
            continue
        with pytest.raises(CaptureError) as err:
            dect_frames(path)
        assert str(err.value).startswith(f"{path}: cut short at offset "), str(err.value)


def test_not_a_capture_and_a_capture_without_dect(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("INVITE sip:x SIP/2.0\r\n")
    with pytest.raises(CaptureError, match="not a pcap or pcapng file"):
        read_capture(text)
    sip_only = tmp_path / "sip.pcapng"
    sip_only.write_bytes(capture_bytes([e for e in _entries() if e.layer == "sip"]))
    with pytest.raises(CaptureError, match="no DECT NWK frame among its 3 frame"):
        dect_frames(sip_only)
    with pytest.raises(CaptureError, match="cannot read"):
        read_capture(tmp_path / "missing.pcap")
