"""Golden wire messages used by several tests: a SUBSCRIBE / 200 OK / multipart NOTIFY exchange of the
as-feature-event package (feature-key-sync.md §2) and two DECT NWK messages from dect-nwk.md."""

BASE = ("192.0.2.10", 5060)
SERVER = ("198.51.100.1", 5060)
NS = "http://www.ecma-international.org/standards/ecma-323/csta/ed3"


def _sip(start: str, headers: list[str], body: bytes = b"") -> bytes:
    head = "\r\n".join([start, *headers, f"Content-Length: {len(body)}"]) + "\r\n\r\n"
    return head.encode() + body


def _dnd_part(on: bool) -> bytes:
    return (f'<?xml version="1.0" encoding="ISO-8859-1"?>\r\n<DoNotDisturbEvent xmlns="{NS}">'
            f"<device>2001</device><doNotDisturbOn>{str(on).lower()}</doNotDisturbOn></DoNotDisturbEvent>").encode()


COMMON = ["Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK-1", "Max-Forwards: 70",
          "From: <sip:2001@as.example.com>;tag=a1", "To: <sip:2001@as.example.com>",
          "Call-ID: c1@192.0.2.10", "Event: as-feature-event"]
SUBSCRIBE = _sip("SUBSCRIBE sip:2001@as.example.com SIP/2.0",
                 [*COMMON, "CSeq: 1 SUBSCRIBE", "Contact: <sip:2001@192.0.2.10:5060>",
                  "Accept: application/x-as-feature-event+xml", "Expires: 3600"])
OK = _sip("SIP/2.0 200 OK", [*COMMON[:3], "To: <sip:2001@as.example.com>;tag=s1", *COMMON[4:], "CSeq: 1 SUBSCRIBE",
                             "Expires: 3600", "Contact: <sip:198.51.100.1:5060>"])
MULTIPART = (b"--b1\r\nContent-Type: application/x-as-feature-event+xml\r\n\r\n" + _dnd_part(True)
             + b"\r\n--b1--\r\n")
NOTIFY = _sip("NOTIFY sip:2001@192.0.2.10:5060 SIP/2.0",
              ["Via: SIP/2.0/UDP 198.51.100.1:5060;branch=z9hG4bK-n1", "Max-Forwards: 70",
               "From: <sip:2001@as.example.com>;tag=s1", "To: <sip:2001@as.example.com>;tag=a1",
               "Call-ID: c1@192.0.2.10", "CSeq: 1 NOTIFY", "Event: as-feature-event",
               "Subscription-State: active;expires=3600", "Contact: <sip:198.51.100.1:5060>",
               "Content-Type: multipart/mixed;boundary=b1"], MULTIPART)
# CC-SETUP from the spec's worked example: PORTABLE-IDENTITY IPUI-N 029e74a599, BASIC-SERVICE E0 80.
CC_SETUP = bytes.fromhex("03 05 05 07 80 A8 02 9E 74 A5 99 E0 80")
# MM LOCATE-REQUEST with the same PORTABLE-IDENTITY.
LOCATE = bytes.fromhex("05 54 05 07 80 A8 02 9E 74 A5 99")


