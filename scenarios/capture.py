"""Writing a run's messages as captures that Wireshark decodes: SIP over Ethernet/IPv4/UDP, DECT NWK as
exported PDUs.

One run gives two classic pcap files (spec/scenarios-and-cli.md §3 allows one pcapng or two files):

- `<stem>-sip.pcap`, linktype 1 (Ethernet): each SIP datagram in a real IPv4/UDP frame with correct
  IPv4 header and UDP checksums, so Wireshark's SIP dissector takes port 5060 and checksum
  validation passes. MAC addresses are derived from the IPv4 address (locally administered 02:00:…).
- `<stem>-dect.pcap`, linktype 252 (Wireshark "exported PDU"): each NWK message preceded by the tag
  EXP_PDU_TAG_DISSECTOR_NAME (12) = "dect_nwk", which Wireshark 4.2 and later dissect directly.

Every packet is stamped with simulated time after a fixed epoch, and the files are built from raw
bytes with scapy's raw writer (conventions point 10), so the same run gives byte-identical captures.
The captures show what each side sent, including datagrams the simulated network then lost.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable
from pathlib import Path

from scapy.utils import RawPcapWriter

from scenarios.world.log import Address, LogEntry

#: Simulated time 0 is 2026-01-01T00:00:00Z in the captures (a fixed epoch keeps them reproducible).
EPOCH = 1767225600
LINKTYPE_ETHERNET = 1
LINKTYPE_WIRESHARK_UPPER_PDU = 252
EXP_PDU_TAG_END_OF_OPT = 0
EXP_PDU_TAG_DISSECTOR_NAME = 12
ETHERTYPE_IPV4 = 0x0800
IPPROTO_UDP = 17


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


def _stamp(t: float) -> tuple[int, int]:
    micros = round(t * 1_000_000)
    return EPOCH + micros // 1_000_000, micros % 1_000_000


def write_captures(entries: Iterable[LogEntry], directory: Path, stem: str) -> tuple[Path, Path]:
    """Write `<stem>-sip.pcap` and `<stem>-dect.pcap` under `directory`; return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    sip_path = directory / f"{stem}-sip.pcap"
    dect_path = directory / f"{stem}-dect.pcap"
    sip_writer = RawPcapWriter(str(sip_path), linktype=LINKTYPE_ETHERNET, sync=False)
    dect_writer = RawPcapWriter(str(dect_path), linktype=LINKTYPE_WIRESHARK_UPPER_PDU, sync=False)
    try:
        sip_writer.write_header(None)
        dect_writer.write_header(None)
        for ident, entry in enumerate(entries):
            sec, usec = _stamp(entry.t)
            if entry.layer == "sip":
                assert entry.src_addr is not None and entry.dst_addr is not None
                frame = udp_frame(entry.src_addr, entry.dst_addr, entry.data, ident)
                sip_writer.write_packet(frame, sec=sec, usec=usec)
            else:
                dect_writer.write_packet(DECT_NWK_HEADER + entry.data, sec=sec, usec=usec)
    finally:
        sip_writer.close()
        dect_writer.close()
    return sip_path, dect_path
