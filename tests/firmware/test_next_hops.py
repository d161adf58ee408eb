"""The SIP provider's servers and transport as the DECT managers' SIP settings (docs/sip.md,
"Transports and next hops")."""

from __future__ import annotations

import pytest

from firmware.nvm import SipProvider, TransportProtocol
from firmware.system import next_hops

STARTED = ("198.51.100.1", 5060)


def test_nothing_provisioned_means_the_server_the_system_was_started_against_over_udp() -> None:
    registrar, proxy, hop = next_hops(SipProvider(provider_id=1, domain="d"), STARTED)
    assert registrar == proxy == STARTED
    assert hop.transport == "UDP" and hop.outbound_proxy is None


def test_register_goes_to_the_registrar_and_the_rest_to_the_proxy() -> None:
    provider = SipProvider(provider_id=1, domain="d", proxy_server_address="10.0.0.1", proxy_server_port=5062,
                           reg_server_address="10.0.0.2", reg_server_port=5064)
    assert next_hops(provider, STARTED)[:2] == (("10.0.0.2", 5064), ("10.0.0.1", 5062))


def test_an_empty_registrar_is_the_proxy_server() -> None:
    provider = SipProvider(provider_id=1, domain="d", proxy_server_address="10.0.0.1")
    assert next_hops(provider, STARTED)[:2] == (("10.0.0.1", 5060), ("10.0.0.1", 5060))


@pytest.mark.parametrize(("mode", "address", "expected"), [
    (0, "10.0.0.9", None),            # never
    (1, "10.0.0.9", ("10.0.0.9", 5070)),  # always
    (2, "10.0.0.9", ("10.0.0.9", 5070)),  # automatic: taken as always [choice]
    (1, "", None),                    # always, but no address: nothing to send to
])
def test_outbound_proxy_mode(mode: int, address: str, expected: tuple[str, int] | None) -> None:
    provider = SipProvider(provider_id=1, domain="d", outbound_proxy_mode=mode, outbound_proxy_address=address,
                           outbound_proxy_port=5070)
    assert next_hops(provider, STARTED)[2].outbound_proxy == expected


@pytest.mark.parametrize("protocol", list(TransportProtocol))
def test_transport_protocol(protocol: TransportProtocol) -> None:
    provider = SipProvider(provider_id=1, domain="d", transport_protocol=protocol)
    assert next_hops(provider, STARTED)[2].transport == protocol.name


def _lint(params: str) -> list[str]:
    from firmware.provisioning import lint, parse_provisioning
    from models.profiles import get_profile

    xml = f'<?xml version="1.0"?><provisioning version="1.1" productID="e2"><nvm>{params}</nvm></provisioning>'
    return [str(d) for d in lint(parse_provisioning(xml, source="p.xml"), get_profile("N870"))]


def test_lint_is_silent_on_a_complete_outbound_proxy_and_transport() -> None:
    assert _lint('<param name="SipProvider.1.OutboundProxyMode" value="1"/>'
                 '<param name="SipProvider.1.OutboundProxyAddress" value="192.0.2.5"/>'
                 '<param name="SipProvider.1.OutboundProxyPort" value="5061"/>'
                 '<param name="SipProvider.1.TransportProtocol" value="3"/>'
                 '<param name="SipProvider.1.ProxyServerAddress" value="192.0.2.6"/>'
                 '<param name="SipProvider.1.RegServerAddress" value="192.0.2.7"/>') == []


def test_lint_warns_of_an_outbound_proxy_mode_without_address() -> None:
    found = _lint('<param name="SipProvider.2.OutboundProxyMode" value="2"/>')
    assert len(found) == 1 and "warning" in found[0]
    assert "SipProvider.2.OutboundProxyMode=2 takes effect only with a SipProvider.2.OutboundProxyAddress" in found[0]
    assert _lint('<param name="SipProvider.1.OutboundProxyMode" value="0"/>') == []
