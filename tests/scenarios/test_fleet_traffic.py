"""The fleet study's figures are the simulated traffic (issue 16, "What it must show").

For each event kind, 1,000 handsets for 2 h: `fksim fleet` counts as it goes and keeps no message; the
same world with the message log on (same seed, same events) is decoded with the strict SIP parser and
counted independently. The two must agree bin by bin, and the log must show what the event means:
after a reboot every handset re-registers and re-subscribes exactly once, after a server restart every
subscription refresh is refused once (481) and re-made once, an outage loses datagrams and every
handset is back afterwards, a portal burst sends one NOTIFY per chosen user. The plot is a valid PNG
and SVG.
"""

from __future__ import annotations

import json
from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from scenarios.cli import cli
from scenarios.fleet.part import build_world, schedule_events
from scenarios.fleet.spec import FleetSpec, burst_users, check_spec, handset_user, parse_event
from scenarios.world.world import SERVER_ADDRESS, World
from sip.auth import parse_challenge
from sip.message import Request, parse_message

HANDSETS = 1000
DURATION = 7200.0
RESOLUTION = 60.0
EVENTS = {
    "reboot": "30m:reboot",
    "server-restart": "30m:server-restart",
    # Over the first registration and subscription refreshes (about 59 min after the start).
    "outage": "58m:outage=10m",
    "portal-burst": "30m:portal-burst=5%",
}

pytestmark = pytest.mark.slow   # 8 simulations of 1,000 handsets x 2 h: about a minute here


def _spec(kind: str) -> FleetSpec:
    return FleetSpec(model="virtual-integrator", handsets=HANDSETS, duration=DURATION, seed=7,
                     events=(parse_event(EVENTS[kind]),), resolution=RESOLUTION)


def _args(kind: str) -> list[str]:
    return ["fleet", "--handsets", str(HANDSETS), "--duration", "2h", "--seed", "7", "--event", EVENTS[kind],
            "--resolution", "1m", "--quiet"]


@cache
def _fleet(kind: str, folder: str) -> dict[str, Any]:
    out = Path(folder) / f"{kind}.json"
    plot = Path(folder) / f"{kind}.{'svg' if kind == 'outage' else 'png'}"
    result = CliRunner().invoke(cli, [*_args(kind), "--json", str(out), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


@cache
def _logged(kind: str) -> World:
    spec = _spec(kind)
    layout = check_spec(spec)
    world = build_world(spec, layout, range(HANDSETS))   # the ordinary message log, keeping every message
    schedule_events(world, spec, range(HANDSETS))
    world.start()
    world.run(DURATION)
    return world


def _decoded(world: World) -> list[tuple[float, str, Any, bool]]:
    """(time, direction, parsed message, lost) of every SIP datagram."""
    out = []
    for entry in world.log.entries:
        if entry.layer == "sip":
            direction = "to-as" if entry.dst_addr == SERVER_ADDRESS else "from-as"
            out.append((entry.t, direction, parse_message(entry.data), entry.lost))
    return out


def _status(message: Any) -> str:
    if isinstance(message, Request):
        return ""
    if message.status == 401:
        challenge = parse_challenge(message.headers.get("WWW-Authenticate"))
        return "401 stale" if challenge.stale else "401"
    return str(message.status)


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("fleet"))


@pytest.mark.parametrize("kind", list(EVENTS))
def test_fleet_figures_equal_the_logged_traffic_bin_by_bin(kind, folder):
    study = _fleet(kind, folder)
    world = _logged(kind)
    nbins = int(DURATION // RESOLUTION)
    table: dict[str, Counter[str]] = {}
    requests: dict[str, list[int]] = {}
    responses: dict[str, list[int]] = {}
    lost = [0] * nbins
    for t, _direction, message, was_lost in _decoded(world):
        method, status, k = message.cseq.method, _status(message), int(round(t, 6) // RESOLUTION)
        table.setdefault(method, Counter())["requests" if status == "" else status] += 1
        (requests if status == "" else responses).setdefault(method, [0] * nbins)[k] += 1
        lost[k] += was_lost
    assert study["summary"]["messages"] == {m: dict(c) for m, c in table.items()}
    assert study["series"]["requests"] == requests
    assert study["series"]["responses"] == responses
    assert study["series"]["lost"] == lost
    assert study["summary"]["lost"] == sum(lost)
    assert study["summary"]["sip_messages"] == world.log.counts["sip"]
    assert study["summary"]["dect_frames"] == world.log.counts["dect"]
    assert study["summary"]["subscriptions_at_end"] == len(world.server.notifier.subscriptions)
    assert list(study["summary"]["messages"]) [:2] == ["REGISTER", "SUBSCRIBE"]


def _per_user(world: World, method: str, status: str, start: float, end: float) -> Counter[str]:
    """Answers `status` to `method` the server sent each user between `start` and `end`."""
    return Counter(message.to.uri.user for t, direction, message, _lost in _decoded(world)
                   if start <= t < end and direction == "from-as" and message.cseq.method == method
                   and _status(message) == status)


EVERY_USER_ONCE = Counter({handset_user(n): 1 for n in range(HANDSETS)})


def test_after_a_reboot_every_handset_registers_and_subscribes_once(folder):
    world, study = _logged("reboot"), _fleet("reboot", folder)
    assert _per_user(world, "REGISTER", "200", 1800, 2400) == EVERY_USER_ONCE
    assert _per_user(world, "SUBSCRIBE", "200", 1800, 2400) == EVERY_USER_ONCE
    event = study["summary"]["events"][0]
    assert event["handsets_not_reconverged"] == 0
    # Down for 30 s, then 250 accounts per DECT manager at 20 ms each: back within two minutes.
    assert 30 < event["reconverged_after"] <= 120
    # The old subscriptions live on at the server until they expire: twice as many for a while.
    assert study["summary"]["subscriptions_peak"] == 2 * HANDSETS


def test_after_a_server_restart_every_subscription_is_refused_once_and_made_again(folder):
    world, study = _logged("server-restart"), _fleet("server-restart", folder)
    assert _per_user(world, "SUBSCRIBE", "481", 1800, DURATION) == EVERY_USER_ONCE
    # Each made again once after the 481, and refreshed again only an interval later (59 min on).
    assert _per_user(world, "SUBSCRIBE", "200", 1800, 6900) == EVERY_USER_ONCE
    subscriptions = study["series"]["subscriptions_active"]
    assert subscriptions[int(1800 // RESOLUTION)] == 0   # the bin after the restart: none left
    assert subscriptions[-1] == HANDSETS
    event = study["summary"]["events"][0]
    assert event["handsets_not_reconverged"] == 0 and event["reconverged_after"] is not None


def test_an_outage_loses_the_refreshes_and_every_handset_comes_back(folder):
    world, study = _logged("outage"), _fleet("outage", folder)
    lost = [(t, message) for t, _d, message, was_lost in _decoded(world) if was_lost]
    assert lost and all(3480 <= t < 4080 for t, _ in lost)
    assert study["summary"]["lost"] == len(lost)
    event = study["summary"]["events"][0]
    assert event["handsets_not_reconverged"] == 0 and event["reconverged_after"] is not None
    assert study["summary"]["subscriptions_at_end"] == HANDSETS


def test_a_portal_burst_notifies_each_chosen_user_once(folder):
    world, study = _logged("portal-burst"), _fleet("portal-burst", folder)
    chosen = burst_users(7, 0, HANDSETS, 0.05)
    assert len(chosen) == 50
    notifies = Counter(message.to.uri.user for t, direction, message, _lost in _decoded(world)
                       if 1800 <= t < 1860 and direction == "from-as" and isinstance(message, Request)
                       and message.method == "NOTIFY")
    assert notifies == Counter({handset_user(n): 1 for n in chosen})
    for n in chosen:
        assert world.server_state(handset_user(n))["dnd"] is True
    event = study["summary"]["events"][0]
    assert event["handsets_not_reconverged"] == 0 and event["reconverged_after"] == RESOLUTION


def test_the_plots_are_valid_png_and_svg(folder):
    _fleet("reboot", folder)
    _fleet("outage", folder)
    png = (Path(folder) / "reboot.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR" and png.endswith(b"IEND\xaeB`\x82")
    import xml.etree.ElementTree as ET

    root = ET.fromstring((Path(folder) / "outage.svg").read_bytes())
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert "outage" in (Path(folder) / "outage.svg").read_text()
