"""SIP over simulated TCP/TLS connections: set-up delay, no loss/duplication/reordering inside a
connection, and the connection-loss fault (scenarios/world/links.py)."""

from __future__ import annotations

import random

import pytest
import simpy

from scenarios.world.links import SETUP_ROUND_TRIPS, IpNetwork, NetworkSettings
from scenarios.world.log import MessageLog

BASE = ("10.0.0.2", 5060)
SERVER = ("10.0.0.1", 5060)


def _network(**settings: float):
    env = simpy.Environment()
    log = MessageLog()
    net = IpNetwork(env, random.Random(7), log, NetworkSettings(**settings))
    got: dict[tuple[str, int], list[tuple[float, bytes]]] = {SERVER: [], BASE: []}
    net.attach(SERVER, lambda data, src: got[SERVER].append((env.now, data)), "server")
    net.attach(BASE, lambda data, src: got[BASE].append((env.now, data)), "base")
    return env, net, log, got


def _at(env: simpy.Environment, t: float, action) -> None:
    env.timeout(t).callbacks.append(lambda _e: action())


@pytest.mark.parametrize("transport", ["TCP", "TLS"])
def test_the_first_message_waits_for_the_set_up_then_the_connection_is_reused(transport: str) -> None:
    env, net, _log, got = _network(latency=0.02)
    net.send(BASE, SERVER, b"first", transport)
    _at(env, 1.0, lambda: net.send(BASE, SERVER, b"second", transport))
    _at(env, 2.0, lambda: net.send(SERVER, BASE, b"answer", transport))   # the same connection, back
    env.run()
    setup = SETUP_ROUND_TRIPS[transport] * 0.04
    assert got[SERVER] == [(pytest.approx(0.02 + setup), b"first"), (pytest.approx(1.02), b"second")]
    assert got[BASE] == [(pytest.approx(2.02), b"answer")]
    assert net.connections_opened == 1


def test_udp_impairments_do_not_touch_a_connection_and_order_holds() -> None:
    env, net, log, got = _network(latency=0.02, jitter=0.05, loss=1.0, duplicate=1.0, reorder=1.0)
    for i in range(50):
        net.send(BASE, SERVER, bytes([i]), "TCP")
    env.run()
    assert [data for _, data in got[SERVER]] == [bytes([i]) for i in range(50)]
    times = [t for t, _ in got[SERVER]]
    assert times == sorted(times)
    assert not any(e.lost for e in log.entries)


def test_dropping_the_connections_loses_what_is_in_flight_and_the_next_message_reconnects() -> None:
    env, net, log, got = _network(latency=0.02)
    net.send(BASE, SERVER, b"early", "TCP")                 # delivered at 0.06
    _at(env, 1.0, lambda: net.send(BASE, SERVER, b"in flight", "TCP"))
    _at(env, 1.01, net.drop_connections)
    _at(env, 2.0, lambda: net.send(BASE, SERVER, b"after", "TCP"))
    env.run()
    assert [data for _, data in got[SERVER]] == [b"early", b"after"]
    assert got[SERVER][1][0] == pytest.approx(2.06)          # a new connection: set-up again
    assert [(e.data, e.lost) for e in log.entries] == [(b"early", False), (b"in flight", True), (b"after", False)]
    assert net.connections_opened == 2 and net.connections_dropped == 1


def test_udp_is_unchanged_by_the_connection_fault() -> None:
    env, net, _log, got = _network(latency=0.02)
    net.send(BASE, SERVER, b"datagram")
    _at(env, 0.01, net.drop_connections)
    env.run()
    assert got[SERVER] == [(pytest.approx(0.02), b"datagram")]


SCENARIO = """scenario: x
models: [N870]
duration: 5s
{network}
handsets:
  - ipui: "029e74a599"
    user: "2001"
steps:
  - at: 1s
    network: {{drop_connections: {value}}}
"""


def _problems(network: str = "", value: str = "true") -> list[str]:
    from models.profiles import load_profiles
    from scenarios.validate import ScenarioError, load_scenario

    try:
        load_scenario("s.yaml", load_profiles().ids, text=SCENARIO.format(network=network, value=value))
    except ScenarioError as err:
        return [str(p) for p in err.problems]
    return []


def test_drop_connections_is_a_step_with_a_boolean_and_not_a_starting_setting() -> None:
    assert _problems() == []
    assert any("must be true or false" in p for p in _problems(value="3"))
    assert any("drop_connections is a fault step" in p
               for p in _problems(network="network: {drop_connections: true}"))
