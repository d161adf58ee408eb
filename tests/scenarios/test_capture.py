"""Captures: structure checked here byte by byte; independent decoding by tshark and Wireshark 4.4's
dect_nwk through the shared checkers (skipped only off CI when the tool or ../shared is missing)."""

import struct
import subprocess
from pathlib import Path

from scenarios.capture import EPOCH, _checksum, udp_frame, write_captures
from scenarios.world.log import LogEntry
from support.golden import BASE, CC_SETUP, LOCATE, NOTIFY, OK, SERVER, SUBSCRIBE
from support.shared import shared_tool


def _entries():
    return [
        LogEntry(0, 0.5, "dect", "handset:029e74a599", "base", LOCATE),
        LogEntry(1, 1.0, "sip", "base", "server", SUBSCRIBE, BASE, SERVER),
        LogEntry(2, 1.02, "sip", "server", "base", OK, SERVER, BASE),
        LogEntry(3, 1.03, "sip", "server", "base", NOTIFY, SERVER, BASE, lost=True),
        LogEntry(4, 2.25, "dect", "handset:029e74a599", "base", CC_SETUP),
    ]


def _records(path: Path):
    data = path.read_bytes()
    magic, _vmaj, _vmin, _tz, _sig, _snap, linktype = struct.unpack("<IHHiIII", data[:24])
    assert magic == 0xA1B2C3D4
    records, offset = [], 24
    while offset < len(data):
        sec, usec, caplen, _wirelen = struct.unpack("<IIII", data[offset:offset + 16])
        records.append((sec, usec, data[offset + 16:offset + 16 + caplen]))
        offset += 16 + caplen
    return linktype, records


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


def test_files_hold_every_message_in_order_with_simulated_time(tmp_path):
    sip_path, dect_path = write_captures(_entries(), tmp_path, "dnd-N670")
    linktype, sip_records = _records(sip_path)
    assert linktype == 1 and len(sip_records) == 3
    assert [(s - EPOCH, u) for s, u, _ in sip_records] == [(1, 0), (1, 20000), (1, 30000)]
    assert sip_records[0][2].endswith(SUBSCRIBE)
    linktype, dect_records = _records(dect_path)
    assert linktype == 252 and [r[2][-len(CC_SETUP):] for r in dect_records[1:]] == [CC_SETUP]
    assert dect_records[0][2] == bytes.fromhex("000c0008") + b"dect_nwk" + bytes(4) + LOCATE
    assert (dect_records[1][0] - EPOCH, dect_records[1][1]) == (2, 250000)


def test_same_entries_same_bytes(tmp_path):
    a = write_captures(_entries(), tmp_path / "a", "x")
    b = write_captures(_entries(), tmp_path / "b", "x")
    assert [p.read_bytes() for p in a] == [p.read_bytes() for p in b]


def test_sip_capture_passes_the_independent_checker(tmp_path):
    sip_path, _ = write_captures(_entries(), tmp_path, "run")
    result = subprocess.run([str(shared_tool("check-sip-pcap")), "--checksums", str(sip_path)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dect_capture_decodes_in_wireshark_dect_nwk(tmp_path):
    _, dect_path = write_captures(_entries(), tmp_path, "run")
    result = subprocess.run([str(shared_tool("check-dect-pcap")), str(dect_path)],
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout + result.stderr
