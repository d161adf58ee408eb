"""Digest authentication: published vectors, client answers, server verification and staleness."""

from __future__ import annotations

import pytest

from sip.auth import (
    Challenge,
    DigestClient,
    DigestServer,
    Verdict,
    best_challenge,
    digest_response,
    parse_challenge,
    parse_credentials,
)
from sip.errors import RemoteProtocolError
from sip.ids import SequentialIds
from sip.message import Headers, Request
from sip.uri import SipUri


def test_rfc2617_section_3_5_vector() -> None:
    assert digest_response(
        algorithm="MD5", username="Mufasa", realm="testrealm@host.com", password="Circle Of Life",
        method="GET", uri="/dir/index.html", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093",
        qop="auth", nc="00000001", cnonce="0a4f113b",
    ) == "6629fae49393a05397450978507c4ef1"  # fmt: skip


def test_rfc7616_section_3_9_1_sha256_vector() -> None:
    assert digest_response(
        algorithm="SHA-256", username="Mufasa", realm="http-auth@example.org", password="Circle of Life",
        method="GET", uri="/dir/index.html", nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
        qop="auth", nc="00000001", cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    ) == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"  # fmt: skip


def test_challenge_parse_and_preference() -> None:
    md5 = 'Digest realm="as", nonce="n1", qop="auth,auth-int", opaque="o", algorithm=MD5'
    sha = 'Digest realm="as", nonce="n2", algorithm=SHA-256, qop="auth", stale=TRUE'
    c = parse_challenge(md5)
    assert c == Challenge(realm="as", nonce="n1", algorithm="MD5", qop=("auth", "auth-int"), opaque="o")
    assert parse_challenge(str(c)) == c
    best = best_challenge([md5, sha, "Basic realm=x"])
    assert best is not None and best.algorithm == "SHA-256" and best.stale
    with pytest.raises(RemoteProtocolError):
        parse_challenge('Digest realm="as"')
    with pytest.raises(RemoteProtocolError):
        parse_challenge("Digest realm=")


def _request() -> Request:
    return Request(method="SUBSCRIBE", uri=SipUri(user="4001", host="as.example.com"), headers=Headers())


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_client_server_round_trip(algorithm: str) -> None:
    server = DigestServer("as.example.com", secret=b"k", nonce_lifetime=300, algorithm=algorithm)
    client = DigestClient("4001", "pw", cnonce_source=SequentialIds("c"))
    challenge = server.challenge(10.0)
    creds = client.authorize("SUBSCRIBE", "sip:4001@as.example.com", challenge)
    assert creds.nc == "00000001" and creds.qop == "auth" and creds.algorithm == algorithm
    again = parse_credentials(str(creds))
    assert again == creds
    assert server.verify(_request(), again, "pw", 20.0) is Verdict.OK
    assert server.verify(_request(), again, "wrong", 20.0) is Verdict.FAILED
    assert server.verify(_request(), again, None, 20.0) is Verdict.FAILED
    # RFC 7616 §3.3: a correct answer with an old nonce is stale, not failed.
    assert server.verify(_request(), again, "pw", 10.0 + 301) is Verdict.STALE
    # a nonce made by another secret is refused
    forged = DigestServer("as.example.com", secret=b"other").challenge(10.0)
    assert (
        server.verify(_request(), client.authorize("SUBSCRIBE", "sip:4001@as.example.com", forged), "pw", 11)
        is Verdict.FAILED
    )
    # nc counts per nonce
    assert client.authorize("SUBSCRIBE", "sip:4001@as.example.com", challenge).nc == "00000002"


def test_deterministic_cnonce() -> None:
    a = DigestClient("u", "p", cnonce_source=SequentialIds("seed"))
    b = DigestClient("u", "p", cnonce_source=SequentialIds("seed"))
    ch = Challenge(realm="r", nonce="n", qop=("auth",))
    assert a.authorize("REGISTER", "sip:r", ch) == b.authorize("REGISTER", "sip:r", ch)


def test_challenge_without_qop_uses_rfc2069_form() -> None:
    creds = DigestClient("u", "p", cnonce_source=SequentialIds("s")).authorize(
        "REGISTER", "sip:r", Challenge(realm="r", nonce="n")
    )
    assert creds.qop is None and creds.cnonce is None and "qop" not in str(creds)
