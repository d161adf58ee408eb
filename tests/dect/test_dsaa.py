"""DSAA and the authentication processes (issue 14 point 4): the key allocation example of EN 300 175-7
Annex K, and 64 vectors computed by libdect's own C (compiled with gcc; see tests/dect/data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dect.dsaa import a11, a12, a21, a22, authentication_code, b1, dsaa

VECTORS = Path(__file__).with_name("data") / "dsaa_libdect_vectors.txt"


def test_the_key_allocation_example_of_en_300_175_7_annex_k() -> None:
    # Authentication code "9124", RS 0 (the values libdect's own self-test takes from Annex K).
    k = b1(authentication_code("9124"))
    ks = a11(k, bytes(8))
    _dck, res1 = a12(ks, bytes.fromhex("d01ff9e211680421"))
    assert res1.hex() == "f28cf911"                        # the base authenticates the handset
    uak = a21(k, bytes(8))
    assert a22(uak, bytes.fromhex("a03ff2c523d00842")).hex() == "eeba4db9"   # and the handset the base
    dck, res3 = a12(a11(uak, bytes(8)), bytes.fromhex("9b114f2554518859"))
    assert res3.hex() == "961b3a9f" and dck.hex() == "8560dc324ea49f37"   # later, with the UAK


def _vectors() -> list[tuple[str, str, str]]:
    lines = [line.split() for line in VECTORS.read_text().splitlines() if line and not line.startswith("#")]
    return [(k, r, e) for k, r, e in lines]


def test_the_vectors_of_libdects_c_are_there() -> None:
    assert len(_vectors()) == 64


@pytest.mark.parametrize(("key", "rand", "expected"), _vectors())
def test_dsaa_equals_libdects_c(key: str, rand: str, expected: str) -> None:
    assert dsaa(bytes.fromhex(key), bytes.fromhex(rand)).hex() == expected


def test_the_authentication_code_of_a_pin() -> None:
    assert authentication_code("9124") == bytes.fromhex("FFFF9124")
    assert authentication_code("0000") == bytes.fromhex("FFFF0000")
    assert authentication_code("123") == bytes.fromhex("FFFFF123")
    assert b1(bytes.fromhex("FFFF9124")) == bytes.fromhex("FFFF9124") * 4
    for bad in ("", "12a4", "123456789"):
        with pytest.raises(ValueError):
            authentication_code(bad)


def test_wrong_lengths_are_refused() -> None:
    with pytest.raises(ValueError):
        dsaa(bytes(15), bytes(8))
    with pytest.raises(ValueError):
        dsaa(bytes(16), bytes(7))


def test_a_wrong_pin_gives_another_response() -> None:
    rand = bytes.fromhex("d01ff9e211680421")
    right = a12(a11(b1(authentication_code("9124")), bytes(8)), rand)[1]
    wrong = a12(a11(b1(authentication_code("9125")), bytes(8)), rand)[1]
    assert right != wrong
