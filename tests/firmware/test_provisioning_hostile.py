"""Hostile provisioning files: header injection through account fields, numbers of thousands of
digits, DTD attribute defaults, and paths that are not regular files (issue 11)."""

from __future__ import annotations

import os

import pytest

from firmware import provisioning_xml
from firmware.nvm import NvmStore
from firmware.provisioning import ProvisioningSyntaxError, apply, lint, parse_provisioning
from firmware.provisioning_xml import read_provisioning_file
from models.errors import ConfigError
from models.profiles import get_profile

N870 = get_profile("N870")
IPUI = "029e74a599"
HANDSET = f'<oper name="add_hs" value="{IPUI}"><param name="hs.RegStatus" value="ToReg"/></oper>'


def xml(*body: str, doctype: str = "") -> bytes:
    inner = "\n".join(body)
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n{doctype}<provisioning version="1.1">\n<nvm>\n'
            f"{HANDSET}\n{inner}\n</nvm>\n</provisioning>\n").encode()


def errors_of(data: bytes) -> list[str]:
    return [str(d) for d in lint(parse_provisioning(data, source="p.xml"), N870) if d.is_error]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (f"SipAccount.{IPUI}.UserName", "2001&#13;&#10;X-Injected: yes"),
        (f"SipAccount.{IPUI}.UserName", "20 01"),
        (f"SipAccount.{IPUI}.UserName", "&lt;sip:evil@x&gt;"),
        (f"SipAccount.{IPUI}.AuthName", "2001&#10;Via: x"),
        (f"SipAccount.{IPUI}.AuthPassword", "pw&#13;&#10;"),
        (f"SipAccount.{IPUI}.DisplayName", "Reception&#13;&#10;X-Injected: yes"),
        (f"SipAccount.{IPUI}.VoiceMailMailbox", "*86&#10;"),
        ("SipProvider.1.Domain", "as.example.com&#13;&#10;X-Injected: yes"),
        ("SipProvider.1.ProxyServerAddress", "sbc example.com"),
        ("SipProvider.1.RegServerAddress", "&lt;reg.example.com&gt;"),
        ("SipProvider.1.OutboundProxyAddress", "::1"),
        ("SipProvider.1.RegServerPort", "0"),
        ("SipProvider.1.ProxyServerPort", "65536"),
        ("SipProvider.1.Name", "ACME&#10;"),
        ("WebUIAccounts.1.Password", "admin&#13;&#10;"),
    ],
)
def test_a_value_that_would_break_the_wire_is_an_error_naming_the_field(name, value):
    errors = errors_of(xml(f'<param name="{name}" value="{value}"/>'))
    assert len(errors) == 1, errors
    assert errors[0].startswith(f"p.xml:5: error: {name}: ")


def test_the_refused_value_is_not_applied_and_the_rest_is(tmp_path):
    data = xml(f'<param name="SipAccount.{IPUI}.UserName" value="2001&#13;&#10;X-Injected: yes"/>',
               f'<param name="SipAccount.{IPUI}.DisplayName" value="Reception"/>')
    with NvmStore() as store:
        found = apply(parse_provisioning(data, source="p.xml"), store, N870)
        assert [d.message.split(":")[0] for d in found if d.is_error] == [f"SipAccount.{IPUI}.UserName"]
        account = store.account(1)
        assert account is not None and account.user_name == "" and account.display_name == "Reception"


def test_a_provider_index_of_thousands_of_digits_is_an_error_not_a_traceback():
    errors = errors_of(xml(f'<param name="SipProvider.{"1" * 5000}.Domain" value="as.example.com"/>'))
    assert len(errors) == 1 and "providers are numbered 1..10" in errors[0]


@pytest.mark.parametrize("name", ["SipProvider.1.RegServerPort", "SipProvider.1.RegServerRefreshTimer",
                                  f"SipAccount.{IPUI}.ProviderId"])
def test_a_number_of_thousands_of_digits_is_an_error(name):
    errors = errors_of(xml(f'<param name="{name}" value="{"9" * 5000}"/>'))
    assert len(errors) == 1 and "a number of 5000 digits is out of range" in errors[0]


def test_a_handset_index_of_thousands_of_digits_is_an_error():
    data = xml(f'<param name="hs.{"1" * 5000}.RegStatus" value="ToReg"/>')
    errors = errors_of(data)
    assert len(errors) == 1 and "handset id" in errors[0]


def test_a_dtd_attribute_default_cannot_fill_in_a_value():
    """`<!ATTLIST param value CDATA "1">` would give the value-less FKS parameter the value 1."""
    data = xml(f'<param name="SipAccount.{IPUI}.FeatureKeySyncActive"/>',
               doctype='<!DOCTYPE provisioning [<!ATTLIST param value CDATA "1">]>\n')
    with pytest.raises(ProvisioningSyntaxError) as caught:
        parse_provisioning(data, source="p.xml")
    assert str(caught.value.diagnostic) == (
        "p.xml:2: error: document type declaration <!DOCTYPE provisioning> refused: a DTD may declare "
        "entities or attribute defaults that change the file's values; nothing applied")
    with NvmStore() as store:
        before = store.snapshot()
        with pytest.raises(ProvisioningSyntaxError):
            apply(parse_provisioning(data, source="p.xml"), store, N870)
        assert store.snapshot() == before


def test_any_doctype_is_refused_naming_its_line():
    data = xml("", doctype="\n\n<!DOCTYPE provisioning>\n")
    with pytest.raises(ProvisioningSyntaxError) as caught:
        parse_provisioning(data, source="p.xml")
    assert caught.value.diagnostic.line == 4


def test_an_entity_in_a_doctype_is_still_reported_as_the_entity():
    data = xml("", doctype='<!DOCTYPE provisioning [<!ENTITY a "x">]>\n')
    with pytest.raises(ProvisioningSyntaxError, match='entity declaration "a" refused'):
        parse_provisioning(data, source="p.xml")


# --- reading the file ---------------------------------------------------------------------------


def test_a_regular_file_is_read(tmp_path):
    path = tmp_path / "p.xml"
    path.write_bytes(xml(""))
    assert read_provisioning_file(str(path)) == xml("")


def test_dev_zero_is_refused():
    with pytest.raises(ConfigError, match="cannot read /dev/zero: a device, not a regular file"):
        read_provisioning_file("/dev/zero")


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "p.xml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="a FIFO, not a regular file"):
        read_provisioning_file(str(fifo))


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="a directory, not a regular file"):
        read_provisioning_file(str(tmp_path))


def test_a_file_larger_than_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(provisioning_xml, "MAX_FILE_BYTES", 1024 * 1024)
    path = tmp_path / "big.xml"
    path.write_bytes(b" " * (1024 * 1024 + 1))
    with pytest.raises(ConfigError, match="larger than 1 MB"):
        read_provisioning_file(str(path))


def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="No such file or directory"):
        read_provisioning_file(str(tmp_path / "none.xml"))
