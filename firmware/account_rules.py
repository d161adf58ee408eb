"""What account and provider values may be, judged as what each one becomes on the wire.

One responsibility: the rules for every text the base later writes into a SIP message, in one place.
Provisioning (`firmware.provisioning_params.ValueSpec`, so `apply`, `lint` and `fksim provision
lint`), the web interface's edit form (which uses the same specs) and the firmware when it starts an
account from the NVM (`account_problem`) all ask this module; each caller names the field in its
message (``SipAccount.029e74a599.UserName: ...``).

The rules (docs/provisioning.md "What values may be"):

- a user name, an authentication name and a voice-mail number become the user part of a SIP URI:
  RFC 3261 §25.1 ``user = 1*( unreserved / escaped / user-unreserved )``. A value with any other
  character (space, ``<``, ``>``, ``"``, ``@``, ``:``, ``#``, CR, LF ...) is refused, not
  percent-escaped [choice: escaping would silently change the identity the server knows; an admin
  who means such a character writes its escape, ``%23`` for ``#``, which is accepted as written];
  an escape must be ``%`` and two hex digits, and never encode a control character [choice];
- a display name must be representable as a ``quoted-string`` (§25.1): no control character at all
  (CR, LF, NUL, TAB ...) [choice: TAB is legal LWS inside a quoted-string, but no display needs it];
  ``"`` and ``\\`` are fine, they are written as quoted-pairs;
- a password never goes on the wire (only its digest), but it must not carry CR, LF, NUL or another
  control character [choice: they cannot be typed on a handset or a web form either];
- a host is RFC 3261 §25.1 ``host = hostname / IPv4address / IPv6reference``: a host name of labels
  (letters, digits, inner ``-``, at most 63 characters each, the last starting with a letter), a
  dotted-quad IPv4 address, or an IPv6 address in brackets (``[2001:db8::1]``); a bare IPv6 address
  is refused with that hint [choice: a host is written into URIs, where it needs the brackets];
- a number is at most `MAX_DIGITS` digits before it is read, then checked against its range, so a
  value of thousands of digits is a sentence, not a traceback; a port is 1..65535;
- any other text (a provider's name, open system parameters) carries no control character.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import re
from typing import NoReturn

from firmware.nvm import Account, SipProvider

#: No number fksim reads has more digits than this [choice]: enough for any port, timer or index.
MAX_DIGITS = 10
PORT_RANGE = (1, 65535)

# RFC 3261 §25.1: unreserved = alphanum / mark; mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")";
# user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/"; escaped = "%" HEXDIG HEXDIG.
_USER_CHARS = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,;?/]|%[0-9A-Fa-f]{2}")
#: The common case in one match: unreserved and user-unreserved characters only, no escapes.
_PLAIN_USER = re.compile(r"[A-Za-z0-9\-_.!~*'()&=+$,;?/]*")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# RFC 3261 §25.1: domainlabel = alphanum / alphanum *( alphanum / "-" ) alphanum;
# toplabel = ALPHA / ALPHA *( alphanum / "-" ) alphanum; hostname = *( domainlabel "." ) toplabel [ "." ].
_DOMAINLABEL = r"[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_TOPLABEL = r"[A-Za-z](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?:{_DOMAINLABEL}\.)*{_TOPLABEL}\.?")
_IPV4 = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}")
_NUMBER = re.compile(r"[0-9]+")


def _shown(text: str, limit: int = 40) -> str:
    """`text` in double quotes for a message: control characters visible (JSON escapes), long values cut."""
    shown = text if len(text) <= limit else text[:limit] + "..."
    return json.dumps(shown, ensure_ascii=False)


def _control_problem(text: str) -> str | None:
    found = _CONTROL.search(text)
    if found is None:
        return None
    names = {"\r": "CR", "\n": "LF", "\x00": "NUL", "\t": "TAB"}
    char = found.group()
    name = names.get(char, f"0x{ord(char):02x}")
    return f"contains a control character ({name}) at position {found.start() + 1}"


def read_number(text: str, low: int, high: int) -> int:
    """A decimal number in low..high; at most `MAX_DIGITS` digits are read (ValueError otherwise)."""
    value = text.strip()
    if not _NUMBER.fullmatch(value):
        raise ValueError(f"{_shown(text)} is not an integer {low}..{high}")
    if len(value) > MAX_DIGITS:
        raise ValueError(f"a number of {len(value)} digits is out of range {low}..{high}")
    number = int(value)
    if not low <= number <= high:
        raise ValueError(f"{number} is out of range {low}..{high}")
    return number


def check_user(text: str) -> str:
    """`text` as the user part of a SIP URI (RFC 3261 §25.1 ``user``); empty is allowed (not set)."""
    if _PLAIN_USER.fullmatch(text):
        return text
    pos = 0
    while pos < len(text):
        found = _USER_CHARS.match(text, pos)
        if found is None:
            char = text[pos]
            if char == "%":
                why = "a % that does not start an escape %HH"
            elif _CONTROL.fullmatch(char):
                # Every character before `pos` matched, so this is the first control character.
                return _raise(text, _control_problem(text) or "")
            else:
                why = f"{char!r} at position {pos + 1}"
            return _raise(text, f"{why} is not allowed in the user part of a SIP URI "
                                "(RFC 3261 §25.1: letters, digits, -_.!~*'()&=+$,;?/ and %HH escapes)")
        escape = found.group()
        if escape.startswith("%") and int(escape[1:], 16) in (*range(0x20), 0x7F):
            return _raise(text, f"the escape {escape} at position {pos + 1} encodes a control character")
        pos = found.end()
    return text


def _raise(text: str, why: str) -> NoReturn:
    raise ValueError(f"{_shown(text)}: {why}")


def check_display_name(text: str) -> str:
    """`text` as a SIP display name, which is written as a quoted-string (RFC 3261 §25.1)."""
    problem = _control_problem(text)
    if problem:
        _raise(text, f"{problem}: a display name must fit a SIP quoted-string")
    return text


def check_secret(text: str) -> str:
    """A password: anything but control characters (CR, LF, NUL ...)."""
    problem = _control_problem(text)
    if problem:
        raise ValueError(f"the password {problem}")  # the value itself is never echoed
    return text


def check_text(text: str) -> str:
    """Plain text (a provider's name, an open system parameter): no control characters."""
    problem = _control_problem(text)
    if problem:
        _raise(text, problem)
    return text


def check_host(text: str) -> str:
    """`text` as RFC 3261 §25.1 ``host``; empty is allowed (not set)."""
    if text == "" or (len(text) <= 253 and _HOSTNAME.fullmatch(text)):
        return text
    if text.startswith("[") and text.endswith("]"):
        try:
            ipaddress.IPv6Address(text[1:-1])
        except ValueError:
            _raise(text, "not an IPv6 address in brackets")
        return text
    if _IPV4.fullmatch(text):
        try:
            ipaddress.IPv4Address(text)
        except ValueError:
            _raise(text, "not an IPv4 address (four numbers 0..255)")
        return text
    if ":" in text:
        try:
            ipaddress.IPv6Address(text)
        except ValueError:
            pass
        else:
            _raise(text, f"an IPv6 address is written in brackets here: [{text}]")
    if len(text) > 253 or not _HOSTNAME.fullmatch(text):
        _raise(text, "not a host name, IPv4 address or [IPv6 address] (RFC 3261 §25.1 host: "
                     "labels of letters, digits and inner -, the last one starting with a letter)")
    return text


def check_port(value: int) -> int:
    if not PORT_RANGE[0] <= value <= PORT_RANGE[1]:
        raise ValueError(f"{value} is out of range {PORT_RANGE[0]}..{PORT_RANGE[1]}")
    return value


#: Account field -> (provisioning name, rule): what the firmware re-checks before an account starts.
ACCOUNT_RULES = {
    "user_name": ("UserName", check_user),
    "auth_name": ("AuthName", check_user),
    "auth_password": ("AuthPassword", check_secret),
    "display_name": ("DisplayName", check_display_name),
    "voicemail_mailbox": ("VoiceMailMailbox", check_user),
}
#: SipProvider field -> (provisioning name, rule).
PROVIDER_RULES = {
    "name": ("Name", check_text),
    "domain": ("Domain", check_host),
    "proxy_server_address": ("ProxyServerAddress", check_host),
    "reg_server_address": ("RegServerAddress", check_host),
    "outbound_proxy_address": ("OutboundProxyAddress", check_host),
}
PROVIDER_PORTS = {
    "proxy_server_port": "ProxyServerPort",
    "reg_server_port": "RegServerPort",
    "outbound_proxy_port": "OutboundProxyPort",
}


def account_problem(account: Account, provider: SipProvider | None, account_id: str) -> str | None:
    """Why this account, as stored, must not start (a value no rule above accepts), or None.

    Defence in depth for an NVM written before these rules, or by another tool: the values are
    judged again where the firmware turns them into SIP. `account_id` names the account as
    provisioning does (its IPUI or index).
    """
    for attr, (name, rule) in ACCOUNT_RULES.items():
        try:
            rule(getattr(account, attr))
        except ValueError as err:
            return f"SipAccount.{account_id}.{name}: {err}"
    return None if provider is None else provider_problem(provider)


@functools.lru_cache(maxsize=64)
def provider_problem(provider: SipProvider) -> str | None:
    """Why accounts of this provider, as stored, must not start, or None (cached: a frozen value
    shared by thousands of accounts)."""
    where = f"SipProvider.{provider.provider_id}"
    for attr, (name, rule) in PROVIDER_RULES.items():
        try:
            rule(getattr(provider, attr))
        except ValueError as err:
            return f"{where}.{name}: {err}"
    for attr, name in PROVIDER_PORTS.items():
        try:
            check_port(int(getattr(provider, attr)))
        except ValueError as err:
            return f"{where}.{name}: {err}"
    return None
