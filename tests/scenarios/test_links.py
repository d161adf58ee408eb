"""The simulated links: timing, impairments, determinism for a seed."""

import random

import pytest
import simpy

from models.errors import ConfigError
from scenarios.world.links import DectAir, IpNetwork, NetworkSettings
from scenarios.world.log import MessageLog

BASE = ("10.0.0.2", 5060)
SERVER = ("10.0.0.1", 5060)


def _network(seed=1, **settings):
    env = simpy.Environment()
    log = MessageLog()
    net = IpNetwork(env, random.Random(seed), log, NetworkSettings(**settings))
    received = []
    net.attach(SERVER, lambda data, src: received.append((env.now, data, src)), "server")
    net.attach(BASE, lambda data, src: None, "base")
    return env, net, log, received


def test_delivers_after_latency_and_logs_at_send_time():
    env, net, log, received = _network(latency=0.05)
    env.process(_send_at(env, net, 1.0, b"hello"))
    env.run()
    assert received == [(pytest.approx(1.05), b"hello", BASE)]
    entries = [(e.t, e.layer, e.src, e.dst, e.data) for e in log.entries]
    assert entries == [(1.0, "sip", "base", "server", b"hello")]


def _send_at(env, net, t, data, src=BASE, dst=SERVER):
    yield env.timeout(t)
    net.send(src, dst, data)


def test_loss_one_drops_everything_but_logs_it_as_lost():
    env, net, log, received = _network(loss=1.0)
    for i in range(10):
        net.send(BASE, SERVER, bytes([i]))
    env.run()
    assert received == []
    assert len(log.entries) == 10 and all(e.lost for e in log.entries)


def test_duplicate_one_delivers_two_copies():
    env, net, _log, received = _network(duplicate=1.0, latency=0.02)
    net.send(BASE, SERVER, b"x")
    env.run()
    assert [d for _, d, _ in received] == [b"x", b"x"]
    assert received[1][0] - received[0][0] == pytest.approx(0.001)


def test_reorder_lets_a_later_datagram_overtake():
    env, net, _log, received = _network(latency=0.02)
    net.configure(reorder=1.0)
    net.send(BASE, SERVER, b"first")
    net.configure(reorder=0.0)
    net.send(BASE, SERVER, b"second")
    env.run()
    assert [d for _, d, _ in received] == [b"second", b"first"]


def test_jitter_stays_within_bounds():
    env, net, _log, received = _network(latency=0.02, jitter=0.01)
    for _ in range(50):
        net.send(BASE, SERVER, b"j")
    env.run()
    assert all(0.02 <= t <= 0.03 for t, _, _ in received)


def test_unattached_destination_is_silently_lost():
    env, net, log, received = _network()
    net.detach(SERVER)
    net.send(BASE, SERVER, b"x")
    env.run()
    assert received == [] and len(log.entries) == 1


def test_same_seed_same_outcome_other_seed_differs():
    def run(seed):
        env, net, _log, received = _network(seed, loss=0.3, duplicate=0.2, reorder=0.2, jitter=0.005)
        for i in range(200):
            net.send(BASE, SERVER, i.to_bytes(2, "big"))
        env.run()
        return received

    assert run(5) == run(5)
    assert run(5) != run(6)


@pytest.mark.parametrize("bad", [{"loss": 1.5}, {"duplicate": -0.1}, {"latency": -1}, {"jitter": -0.5}])
def test_settings_are_validated(bad):
    with pytest.raises(ConfigError):
        NetworkSettings(**bad)


def test_unknown_setting_is_named():
    with pytest.raises(ConfigError, match="unknown setting 'lost'"):
        NetworkSettings().updated(lost=0.1)


def test_keep_false_counts_without_keeping():
    env = simpy.Environment()
    log = MessageLog(keep=False)
    net = IpNetwork(env, random.Random(0), log)
    net.send(BASE, SERVER, b"x")
    assert log.counts["sip"] == 1 and log.entries == []


def test_dect_air_latency_and_log():
    env = simpy.Environment()
    log = MessageLog()
    air = DectAir(env, log, latency=0.01)
    got = []
    air.send("handset:029e74a599", "base", b"\x05\x54", lambda data: got.append((env.now, data)))
    env.run()
    assert got == [(pytest.approx(0.01), b"\x05\x54")]
    assert log.entries[0].layer == "dect" and log.entries[0].src == "handset:029e74a599"
