"""The provisioning parameters fksim understands: their names, types and ranges.

One table per family (spec/base-models.md §3): per-handset account (`SipAccount.<id>.*`), handset
(`hs.<id>.*`), provider (`SipProvider.<n>.*`), system (`DmGlobal.0.*`, `Telephony.0.*`) and the web
admin password (`WebUIAccounts.1.Password`). Names are case-sensitive, as on the base; a near miss gets
a "did you mean" hint. Limits the vendor documents are marked [fact]; the others are this project's
choice and are listed in docs/provisioning.md.

`parse_name` classifies a parameter name; `ValueSpec.convert` turns its text into a typed value or
raises `ValueError` with a sentence that names the allowed range. What a value may contain is judged
as what it becomes on the wire, by `firmware.account_rules` (a user name as the user part of a SIP
URI, a host as an RFC 3261 host, ...), so provisioning, `lint` and the web edit form share one rule.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import Any

from firmware import account_rules
from firmware.nvm import INTERNAL_TELEPHONY_PARAM, TransportProtocol

#: Providers a base offers [choice]: SipProvider.1 .. SipProvider.10.
MAX_PROVIDERS = 10
#: Internal telephony's shared lines trunk_0000 .. trunk_0007 [fact, base-models.md §2].
TRUNKS = 8


@dataclass(frozen=True, slots=True)
class ValueSpec:
    """How one parameter's text value reads.

    `kind` is bool, int, text, host, pin, choice, user (the user part of a SIP URI), display (a SIP
    display name) or secret (a password). Text kinds are at most `high` characters (`low`: at least).
    """

    kind: str
    low: int = 0
    high: int = 0
    choices: tuple[str, ...] = ()

    def describe(self) -> str:
        match self.kind:
            case "bool":
                return "0 or 1"
            case "int":
                return f"an integer {self.low}..{self.high}"
            case "text":
                return f"text of at most {self.high} characters" + (" (not empty)" if self.low else "")
            case "host":
                return f"a host name, IPv4 address or [IPv6 address], at most {self.high} characters"
            case "user":
                return f"the user part of a SIP URI, at most {self.high} characters"
            case "display":
                return f"a display name without control characters, at most {self.high} characters"
            case "secret":
                return f"a password without control characters, at most {self.high} characters"
            case "pin":
                return f"{self.high} digits"
            case _:
                return " or ".join(self.choices)

    def convert(self, text: str) -> Any:
        """The typed value of `text`; ValueError with a sentence when it does not fit."""
        value = text.strip() if self.kind in ("bool", "int", "pin", "choice") else text
        match self.kind:
            case "bool":
                # Only the vendor's 0 / 1: "true" or "yes" would be silently misread by some bases.
                if value not in ("0", "1"):
                    raise ValueError(f'"{text}" is not {self.describe()}')
                return value == "1"
            case "int":
                # Bounded before it is read: thousands of digits are a sentence, not a traceback.
                return account_rules.read_number(value, self.low, self.high)
            case "text" | "host" | "user" | "display" | "secret":
                if len(text) > self.high:
                    raise ValueError(f"{len(text)} characters, at most {self.high} allowed")
                if len(text) < self.low:
                    raise ValueError("must not be empty")
                return _TEXT_RULES[self.kind](text)
            case "pin":
                if not re.fullmatch(rf"[0-9]{{{self.high}}}", value):
                    raise ValueError(f'"{text}" is not {self.describe()}')
                return value
            case _:
                if value not in self.choices:
                    raise ValueError(f'"{text}" is not {self.describe()}')
                return value


_TEXT_RULES = {
    "text": account_rules.check_text,
    "host": account_rules.check_host,
    "user": account_rules.check_user,
    "display": account_rules.check_display_name,
    "secret": account_rules.check_secret,
}

BOOL = ValueSpec("bool")
PORT = ValueSpec("int", 1, 65535)
HOST = ValueSpec("host", high=253)


def text(max_len: int, min_len: int = 0) -> ValueSpec:
    return ValueSpec("text", min_len, max_len)


#: SipAccount.<id>.<Name> -> (Account field, spec).
ACCOUNT_PARAMS: dict[str, tuple[str, ValueSpec]] = {
    "AuthName": ("auth_name", ValueSpec("user", high=74)),  # web interface: max 74 characters [fact]
    "AuthPassword": ("auth_password", ValueSpec("secret", high=74)),
    "UserName": ("user_name", ValueSpec("user", high=74)),
    "DisplayName": ("display_name", ValueSpec("display", high=32)),
    "ProviderId": ("provider_id", ValueSpec("int", 1, MAX_PROVIDERS)),
    "VoiceMailMailbox": ("voicemail_mailbox", ValueSpec("user", high=32)),
    "VoiceMailActive": ("voicemail_active", BOOL),
    "FeatureKeySyncActive": ("feature_key_sync_active", BOOL),  # 0 default, 1 enabled [fact]
}

#: SipProvider.<n>.<Name> -> (SipProvider field, spec).
PROVIDER_PARAMS: dict[str, tuple[str, ValueSpec]] = {
    "Name": ("name", text(32)),
    "Domain": ("domain", HOST),
    # Every request but REGISTER goes here; empty: the server the base was started against [choice].
    "ProxyServerAddress": ("proxy_server_address", HOST),
    "ProxyServerPort": ("proxy_server_port", PORT),
    # REGISTER goes here; empty: the proxy server [choice] (firmware/system.py `next_hops`).
    "RegServerAddress": ("reg_server_address", HOST),
    "RegServerPort": ("reg_server_port", PORT),
    # Registration refresh in seconds [choice: 60 s .. 1 day].
    "RegServerRefreshTimer": ("reg_server_refresh_timer", ValueSpec("int", 60, 86400)),
    # 1 UDP, 2 TCP, 3 TLS [fact]: Via `SIP/2.0/<transport>`, Contact `;transport=tcp` or `sips:`.
    "TransportProtocol": ("transport_protocol", ValueSpec("int", 1, 3)),
    # 0 never, 1 always, 2 automatic [choice: the values are not published]; 1 and 2 send every
    # request to OutboundProxyAddress:Port with its loose Route on top (RFC 3261 §8.1.2) [choice:
    # automatic = always, no NAT is modelled].
    "OutboundProxyMode": ("outbound_proxy_mode", ValueSpec("int", 0, 2)),
    "OutboundProxyAddress": ("outbound_proxy_address", HOST),
    "OutboundProxyPort": ("outbound_proxy_port", PORT),
    "MWISubscription": ("mwi_subscription", BOOL),
}

#: hs.<id>.<Name> (or hs.<Name> inside add_hs).
REG_STATUS = ValueSpec("choice", choices=("ToReg", "ToDeReg"))
DECT_AC = ValueSpec("pin", high=4)  # the registration PIN: 4 digits [choice]
HANDSET_PARAMS: dict[str, ValueSpec] = {"RegStatus": REG_STATUS, "DECT_AC": DECT_AC}

ADMIN_PASSWORD_PARAM = "WebUIAccounts.1.Password"
ADMIN_PASSWORD = ValueSpec("secret", 1, 74)
#: DmGlobal.0.* and Telephony.0.* are open families: their members are not published, so any
#: well-formed name is stored as text [choice].
SYSTEM_FAMILIES = ("DmGlobal.0.", "Telephony.0.")
SYSTEM_TEXT = text(255)

_ID = r"(?P<id>[^.]+)"
_FIELD = r"(?P<field>[A-Za-z_][A-Za-z0-9_]*)"
_ACCOUNT_RE = re.compile(rf"SipAccount\.{_ID}\.{_FIELD}")
_HANDSET_RE = re.compile(rf"hs\.{_ID}\.{_FIELD}")
_PROVIDER_RE = re.compile(rf"SipProvider\.(?P<n>[0-9]+)\.{_FIELD}")
_SYSTEM_RE = re.compile(rf"(?:DmGlobal|Telephony)\.0\.{_FIELD}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ParamName:
    """A classified parameter name. `family`: account, handset, provider, system, admin, internal."""

    family: str
    field: str
    spec: ValueSpec
    handset_id: str | None = None
    provider: int | None = None


class UnknownParameter(ValueError):
    """The name is not one fksim knows; the message may carry a "did you mean" hint."""


def _hint(word: str, known: list[str]) -> str:
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    if not close:
        lowered = {k.lower(): k for k in known}
        close = [lowered[word.lower()]] if word.lower() in lowered else []
    return f' (did you mean "{close[0]}"?)' if close else ""


def parse_name(name: str) -> ParamName:
    """Classify a top-level parameter name, or raise UnknownParameter."""
    if name == INTERNAL_TELEPHONY_PARAM:
        return ParamName(family="internal", field="internal_telephony", spec=BOOL)
    if name == ADMIN_PASSWORD_PARAM:
        return ParamName(family="admin", field="password", spec=ADMIN_PASSWORD)
    if match := _ACCOUNT_RE.fullmatch(name):
        entry = ACCOUNT_PARAMS.get(match["field"])
        if entry is None:
            hint = _hint(match["field"], list(ACCOUNT_PARAMS))
            raise UnknownParameter(f'unknown parameter "{name}": SipAccount has no "{match["field"]}"{hint}')
        return ParamName(family="account", field=entry[0], spec=entry[1], handset_id=match["id"])
    if match := _HANDSET_RE.fullmatch(name):
        spec = HANDSET_PARAMS.get(match["field"])
        if spec is None:
            hint = _hint(match["field"], list(HANDSET_PARAMS))
            raise UnknownParameter(f'unknown parameter "{name}": hs has no "{match["field"]}"{hint}')
        return ParamName(family="handset", field=match["field"], spec=spec, handset_id=match["id"])
    if match := _PROVIDER_RE.fullmatch(name):
        # At most 3 digits are read: a provider "number" of thousands of digits is no provider.
        if len(match["n"]) > 3 or not 1 <= int(match["n"]) <= MAX_PROVIDERS:
            raise UnknownParameter(f'unknown parameter "{name}": providers are numbered 1..{MAX_PROVIDERS}')
        entry = PROVIDER_PARAMS.get(match["field"])
        if entry is None:
            hint = _hint(match["field"], list(PROVIDER_PARAMS))
            raise UnknownParameter(f'unknown parameter "{name}": SipProvider has no "{match["field"]}"{hint}')
        return ParamName(family="provider", field=entry[0], spec=entry[1], provider=int(match["n"]))
    if _SYSTEM_RE.fullmatch(name):
        return ParamName(family="system", field=name, spec=SYSTEM_TEXT)
    families = ["SipAccount", "hs", "SipProvider", "DmGlobal", "Telephony", "WebUIAccounts"]
    hint = _hint(name.split(".", 1)[0], families)
    raise UnknownParameter(f'unknown parameter "{name}"{hint}')


def parse_trunk(text: str) -> int:
    """A trunk number from ``3`` or ``trunk_0003``; ValueError outside trunk_0000..trunk_0007."""
    value = text.strip()
    match = re.fullmatch(r"(?:trunk_)?([0-9]{1,4})", value)
    if not match or int(match[1]) >= TRUNKS:
        raise ValueError(
            f'"{text}" is not a trunk (trunk_0000 .. trunk_{TRUNKS - 1:04d}, or 0 .. {TRUNKS - 1})'
        )
    return int(match[1])


def transport(value: int) -> TransportProtocol:
    return TransportProtocol(value)
