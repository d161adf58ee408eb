"""The IPUI-N value type against the vendor's worked example (spec/base-models.md §4)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dect.errors import IdentityError
from dect.identity import Ipui

EXAMPLE = "029e74a599"


def test_vendor_example_fields():
    ipui = Ipui.parse(EXAMPLE)
    assert (ipui.emc, ipui.psn) == (10727, 304537)
    assert ipui.ipei == 0x29E74A599
    assert str(ipui) == EXAMPLE


def test_printed_ipei_with_check_digit():
    ipui = Ipui.parse(EXAMPLE)
    assert ipui.printed_ipei == "10727 0304537 3"
    assert Ipui.from_printed_ipei("10727 0304537 3") == ipui


def test_check_digit_ten_prints_as_star():
    # EMC 1, PSN 1: digits 000010000001 give 5*1 + 12*1 = 17 -> 6; search for a PSN whose sum is 10.
    ipui = next(Ipui(emc=1, psn=p) for p in range(100) if Ipui(emc=1, psn=p).check_digit == "*")
    assert ipui.printed_ipei.endswith(" *")
    assert Ipui.from_printed_ipei(ipui.printed_ipei) == ipui


def test_default_tpui():
    assert Ipui.parse(EXAMPLE).default_tpui == 0xEA599


def test_portable_identity_content():
    content = Ipui.parse(EXAMPLE).portable_identity_content()
    assert content == bytes.fromhex("80 A8 02 9E 74 A5 99")
    assert Ipui.from_portable_identity(content) == Ipui.parse(EXAMPLE)


def test_parse_accepts_upper_case():
    assert Ipui.parse("029E74A599") == Ipui.parse(EXAMPLE)


@pytest.mark.parametrize(
    "text",
    ["", "029e74a59", "029e74a5999", "029e74a59g", "129e74a599", " ", "0x9e74a599"],
)
def test_parse_rejects(text):
    with pytest.raises(IdentityError):
        Ipui.parse(text)


@pytest.mark.parametrize("text", ["10727 0304537 4", "1072 0304537 3", "abcde 0304537 3"])
def test_printed_ipei_rejects(text):
    with pytest.raises(IdentityError):
        Ipui.from_printed_ipei(text)


@pytest.mark.parametrize(
    "content",
    ["80 A8 02 9E 74 A5", "90 A8 02 9E 74 A5 99", "80 A0 02 9E 74 A5 99", "80 A8 12 9E 74 A5 99"],
)
def test_portable_identity_rejects(content):
    with pytest.raises(IdentityError):
        Ipui.from_portable_identity(bytes.fromhex(content))


def test_field_ranges():
    with pytest.raises(IdentityError):
        Ipui(emc=0x10000, psn=0)
    with pytest.raises(IdentityError):
        Ipui(emc=0, psn=0x100000)


@given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFFF))
def test_round_trips(emc, psn):
    ipui = Ipui(emc=emc, psn=psn)
    assert Ipui.parse(str(ipui)) == ipui
    assert Ipui.from_printed_ipei(ipui.printed_ipei) == ipui
    assert Ipui.from_portable_identity(ipui.portable_identity_content()) == ipui
