"""Same scenario and seed, byte-identical message log; another seed, another run (under impairments)."""

from scenarios.world.links import NetworkSettings
from support.worldkit import DIVERT, DND_ON, IPUI, IPUI2, world


def _run(seed):
    w = world("N870", seed=seed, handsets=((IPUI, "2001"), (IPUI2, "2001")),
              network=NetworkSettings(latency=0.02, jitter=0.01, loss=0.2, duplicate=0.1, reorder=0.1))
    w.at(5, lambda: w.menu(IPUI, DND_ON))
    w.at(9, lambda: w.menu(IPUI2, [*DIVERT, "All calls"], {"Status": "On", "Number": "3000"}))
    w.at(12, lambda: w.portal("2001", {"cfb": {"active": True, "to": "3001"}}))
    w.at(15, lambda: w.fac("2001", "*79"))
    w.at(20, w.server_restart)
    w.at(30, w.reboot)
    w.run(400)
    return [(e.t, e.layer, e.src, e.dst, e.data, e.src_addr, e.dst_addr, e.lost) for e in w.log.entries]


def test_same_seed_same_bytes():
    first, second = _run(7), _run(7)
    assert len(first) > 100
    assert first == second


def test_another_seed_differs():
    assert _run(7) != _run(8)
