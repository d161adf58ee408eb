"""The account value rules (firmware.account_rules): each value judged as what it becomes on the wire."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.account_rules import (
    MAX_DIGITS,
    account_problem,
    check_display_name,
    check_host,
    check_secret,
    check_user,
    read_number,
)
from firmware.nvm import Account, SipProvider
from sip.uri import parse_uri

USER_CHARS = "abcXYZ019-_.!~*'()&=+$,;?/"


@pytest.mark.parametrize("value", ["", "2001", "alice.smith", "+4930123", "a%40b", "*86", "user;x=1", "%7e"])
def test_user_parts_that_are_accepted(value):
    assert check_user(value) == value


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("2001\r\nX-Injected: 1", "control character (CR) at position 5"),
        ("2001\n", "control character (LF) at position 5"),
        ("a\x00b", "control character (NUL) at position 2"),
        ("al ice", "' ' at position 3 is not allowed in the user part of a SIP URI"),
        ("<sip:x@y>", "'<' at position 1"),
        ("a@b", "'@' at position 2"),
        ("a:b", "':' at position 2"),
        ("#98", "'#' at position 1"),
        ('a"b', "'\"' at position 2"),
        ("a%4", "a % that does not start an escape %HH"),
        ("a%zz", "a % that does not start an escape %HH"),
        ("a%0d%0a", "the escape %0d at position 2 encodes a control character"),
    ],
)
def test_user_parts_that_are_refused_say_why(value, why):
    with pytest.raises(ValueError) as caught:
        check_user(value)
    assert why in str(caught.value)
    assert "\r" not in str(caught.value) and "\n" not in str(caught.value)  # shown escaped


@given(st.text(alphabet=st.sampled_from(USER_CHARS), min_size=1, max_size=30))
def test_every_accepted_user_part_reads_back_from_a_sip_uri(user):
    check_user(user)
    uri = parse_uri(f"sip:{user}@as.example.com")
    assert uri.user == user and uri.host == "as.example.com"


@given(st.text(max_size=20))
def test_no_accepted_user_part_can_break_a_header_line(text):
    try:
        check_user(text)
    except ValueError:
        return
    assert not any(c in text for c in "\r\n\x00 <>\"@:")


@pytest.mark.parametrize("value", ["Reception", 'Dr. "Who"', "back\\slash", "Zürich Empfang", ""])
def test_display_names_that_fit_a_quoted_string(value):
    assert check_display_name(value) == value


@pytest.mark.parametrize("value", ["Reception\r\nX-Evil: 1", "a\x00", "tab\there", "del\x7f"])
def test_display_names_with_control_characters_are_refused(value):
    with pytest.raises(ValueError, match="control character"):
        check_display_name(value)


@pytest.mark.parametrize("value", ["s3cret", "p a s s", "ä€ 'x' <y>"])
def test_passwords_may_hold_anything_printable(value):
    assert check_secret(value) == value


@pytest.mark.parametrize("value", ["pw\r\n", "pw\x00", "pw\n"])
def test_passwords_with_cr_lf_nul_are_refused_without_echoing_them(value):
    with pytest.raises(ValueError, match="the password contains a control character") as caught:
        check_secret(value)
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize(
    "value", ["", "as.example.com", "as.example.com.", "localhost", "sbc-1.example.com", "127.0.0.1",
              "[::1]", "[2001:db8::1]", "a1.b2.c3"],
)
def test_hosts_that_are_rfc3261_hosts(value):
    assert check_host(value) == value


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("as example.com", "not a host name"),
        ("as.example.com\r\nVia: x", "not a host name"),
        ("<as.example.com>", "not a host name"),
        ("-bad.example.com", "not a host name"),
        ("example.123", "not a host name"),  # the top label starts with a letter
        ("1.2.3.999", "not an IPv4 address"),
        ("::1", "an IPv6 address is written in brackets here: [::1]"),
        ("[::g]", "not an IPv6 address in brackets"),
        ("a" * 64 + ".com", "not a host name"),
        ("user@host", "not a host name"),
    ],
)
def test_hosts_that_are_refused_say_why(value, why):
    with pytest.raises(ValueError) as caught:
        check_host(value)
    assert why in str(caught.value)


def test_numbers_are_bounded_before_they_are_read():
    assert read_number(" 5060 ", 1, 65535) == 5060
    assert read_number("0" * MAX_DIGITS, 0, 3) == 0
    with pytest.raises(ValueError, match=r"a number of 5000 digits is out of range 1\.\.65535"):
        read_number("9" * 5000, 1, 65535)
    with pytest.raises(ValueError, match=r"70000 is out of range 1\.\.65535"):
        read_number("70000", 1, 65535)
    with pytest.raises(ValueError, match=r"\"-1\" is not an integer 1\.\.65535"):
        read_number("-1", 1, 65535)


def test_account_problem_names_the_field_as_provisioning_does():
    provider = SipProvider(provider_id=1, domain="as.example.com")
    assert account_problem(Account(user_name="2001", display_name="Reception"), provider, "029e74a599") is None
    assert account_problem(Account(user_name="2001\r\nX: 1"), provider, "029e74a599").startswith(
        "SipAccount.029e74a599.UserName: ")
    assert account_problem(Account(user_name="2001", auth_name="a b"), provider, "7").startswith(
        "SipAccount.7.AuthName: ")
    assert account_problem(Account(user_name="2001", display_name="x\n"), provider, "7").startswith(
        "SipAccount.7.DisplayName: ")
    assert account_problem(Account(user_name="2001", auth_password="p\r"), provider, "7").startswith(
        "SipAccount.7.AuthPassword: ")
    bad_domain = SipProvider(provider_id=2, domain="as example.com")
    assert account_problem(Account(user_name="2001"), bad_domain, "7").startswith("SipProvider.2.Domain: ")
    bad_port = SipProvider(provider_id=1, domain="as.example.com", reg_server_port=0)
    assert account_problem(Account(user_name="2001"), bad_port, "7") == (
        "SipProvider.1.RegServerPort: 0 is out of range 1..65535")
