"""Captures: one pcapng per run, checked here block by block and read back; independent decoding by
tshark and Wireshark 4.4's dect_nwk through the shared checkers (skipped only off CI when the tool or
../shared is missing); the reader on classic pcap, pcapng and broken files."""

import json
import os
import shutil
import struct
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path

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


# ------------------------------------------------------------------------------ the Wireshark Lua dissector

LUA = Path(__file__).resolve().parents[2] / "tools" / "wireshark" / "fksim.lua"
LIBRARY = Path(__file__).resolve().parents[2] / "scenarios" / "library" / "all-models"
DIVERSIONS = {"all": "cfa", "busy": "cfb", "no_answer": "cfna"}


def _summary(pie: dict) -> str:
    """What fksim.lua's `fksim_emc.summary` must say for one PIE as fksim's own decoder gives it."""
    if pie["pie"] == "pin":
        return "pin ****"
    if pie["pie"] == "ack":
        return "ack " + ("dnd" if pie["feature"] == "dnd" else DIVERSIONS[pie["diversion"]])
    text = f"{pie['pie']} {pie['feature']} {'on' if pie['active'] else 'off'}"
    text += f" {pie['target']}" if pie.get("target") else ""
    return text + (f" rings {pie['rings']}" if pie["feature"] == "cfna" else "")


@pytest.fixture(scope="module")
def lua_capture(tmp_path_factory) -> tuple[Path, dict, list]:
    """One library run's capture with every kind of PIE (request, state, ack, PIN), what fksim decoded
    in each DECT frame (frame number -> summaries) and the DECT message names in order."""
    from click.testing import CliRunner

    from scenarios.cli import cli

    folder = tmp_path_factory.mktemp("lua")
    files = [str(LIBRARY / "pin-registration.yaml"), str(LIBRARY / "cfna-menu.yaml")]
    result = CliRunner().invoke(cli, ["run", *files, "--model", "N670", "--pcap", str(folder), "--json",
                                      str(folder / "r.json"), "--quiet"])
    assert result.exit_code == 0, result.output
    run = json.loads((folder / "r.json").read_text())["runs"][1]   # cfna-menu (files run in sorted order)
    assert run["file"].endswith("cfna-menu.yaml")
    pin_run = json.loads((folder / "r.json").read_text())["runs"][0]
    path = folder / "all-models_cfna-menu-N670.pcapng"
    expected: dict[int, list[str]] = {}
    for number, message in enumerate(run["messages"], start=1):
        pies = [p for ie in message.get("ies", []) for p in ie.get("proprietary", [])]
        if pies:
            expected[number] = [_summary(p) for p in pies]
    assert {s.split()[0] for v in expected.values() for s in v} == {"feature-request", "feature-state", "ack"}
    # Registration proves the PIN by key allocation: no PIN travels any more (EN 300 175-5 §13.6).
    assert not any(p["pie"] == "pin" for m in pin_run["messages"] for ie in m.get("ies", [])
                   for p in ie.get("proprietary", []))
    assert "KEY-ALLOCATE" in [m["name"] for m in pin_run["messages"]]
    names = [m["name"] for m in run["messages"] if m["layer"] == "dect" and m["name"] != "LCE-REQUEST-PAGE"]
    return path, expected, names


def _fields(output: str) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for line in output.splitlines():
        number, _, summaries = line.partition("\t")
        out[int(number)] = summaries.split(",")
    return out


def test_lua_dissector_in_debian_12_tshark(lua_capture) -> None:
    """Wireshark 4.0 has no dect_nwk: fksim.lua decodes the escapes and names every message itself; it
    also hands the as-feature-event bodies to the XML dissector, which 4.0 does not do by itself."""
    tshark = require_tool("tshark")
    path, expected, names = lua_capture
    base = [tshark, "-X", f"lua_script:{LUA}", "-r", str(path)]
    proc = subprocess.run([*base, "-Y", "fksim_emc", "-T", "fields", "-e", "frame.number", "-e",
                           "fksim_emc.summary"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert _fields(proc.stdout) == expected
    proc = subprocess.run([*base, "-Y", "dect_nwk", "-T", "fields", "-e", "_ws.col.Info"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert [line.split(" [fksim")[0] for line in proc.stdout.splitlines()] == names
    proc = subprocess.run([*base, "-Y", "fksim_emc.feature == 0x22 && fksim_emc.state == 1", "-T", "fields",
                           "-e", "fksim_emc.target", "-e", "fksim_emc.rings"], capture_output=True, text=True,
                          timeout=120)
    assert "3002\t4" in proc.stdout.splitlines(), proc.stdout
    xml = "sip.Method == NOTIFY && xml.tag contains ForwardingEvent"
    without = subprocess.run([tshark, "-r", str(path), "-Y", xml], capture_output=True, text=True, timeout=120)
    with_lua = subprocess.run([*base, "-Y", xml, "-T", "fields", "-e", "frame.number"], capture_output=True,
                              text=True, timeout=120)
    assert without.stdout == "" and len(with_lua.stdout.splitlines()) >= 2, with_lua.stdout + with_lua.stderr
    registration = subprocess.run([*base[:3], "-r", str(path.parent / "all-models_pin-registration-N670.pcapng"),
                                   "-Y", "dect_nwk", "-T", "fields", "-e", "_ws.col.Info"],
                                  capture_output=True, text=True, timeout=120)
    assert "KEY-ALLOCATE" in registration.stdout and "AUTHENTICATION-REQUEST" in registration.stdout
    assert "fksim pin" not in registration.stdout   # the PIN is never on the air


def test_lua_dissector_beside_wireshark_44_dect_nwk(lua_capture) -> None:
    """Wireshark 4.4 (the Debian 13 root of ../shared/tools/dect-tshark) keeps its own dect_nwk and gets
    the PIEs from fksim.lua. Wireshark 4.2 and later run no user Lua script as root, so tshark runs
    inside that root as `nobody`."""
    tool = shared_tool("dect-tshark")
    path, expected, names = lua_capture
    assert lua_in_wireshark_44(tool, path) == (expected, len(names))


def lua_in_wireshark_44(tool: Path, path: Path) -> tuple[dict[int, list[str]], int]:
    """fksim.lua's summaries per frame, and the number of frames 4.4's own dect_nwk decoded."""
    setup = subprocess.run([str(tool), "--setup"], capture_output=True, text=True, timeout=900)
    assert setup.returncode == 0, setup.stdout + setup.stderr
    root = Path(os.environ.get("DECT_TSHARK_ROOT") or Path.home() / ".cache" / "dect-tshark" / "root")
    work = Path(tempfile.mkdtemp(prefix="fksim-lua-", dir=root / "tmp"))
    try:
        shutil.copy(LUA, work / "fksim.lua")
        shutil.copy(path, work / "run.pcapng")
        for item in (work, *work.iterdir()):
            item.chmod(0o755 if item.is_dir() else 0o644)
        inside = f"/tmp/{work.name}"
        base = ["chroot", "--userspec=65534:65534", str(root), "env", f"HOME={inside}", "/usr/bin/tshark",
                "-X", f"lua_script:{inside}/fksim.lua", "-r", f"{inside}/run.pcapng"]
        proc = subprocess.run([*base, "-Y", "fksim_emc", "-T", "fields", "-e", "frame.number", "-e",
                               "fksim_emc.summary"], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        own = subprocess.run([*base, "-Y", "dect_nwk && !_ws.malformed", "-T", "fields", "-e", "frame.number"],
                             capture_output=True, text=True, timeout=300)
        assert own.returncode == 0, own.stderr
        return _fields(proc.stdout), len(own.stdout.splitlines())
    finally:
        shutil.rmtree(work, ignore_errors=True)
