"""A fleet cut into parts is the same study (issue 16): 1, 2 and 4 parts give the same JSON, byte for
byte, with every event kind in the run; and the options' bad input is one line naming the option."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from models.errors import ConfigError
from scenarios.cli import cli
from scenarios.fleet.spec import FleetSpec, burst_users, check_spec, parse_event, partition
from scenarios.fleet.study import run_study
from scenarios.fleet.traffic import classify

EVENTS = ("10m:reboot", "20m:portal-burst=10%", "30m:outage=5m", "40m:server-restart")


def test_one_two_and_four_parts_give_the_same_json():
    spec = FleetSpec(model="virtual-integrator", handsets=400, duration=3600.0, seed=3, dect_managers=4,
                     events=tuple(parse_event(e) for e in EVENTS), resolution=10.0)
    texts = {parts: json.dumps(run_study(spec, parts), sort_keys=True) for parts in (1, 2, 4)}
    assert texts[1] == texts[2] == texts[4]
    study = json.loads(texts[1])
    assert study["study"]["dect_managers"] == 4
    assert study["summary"]["messages"]["REGISTER"]["200"] >= 800   # start and reboot, 400 each
    assert [e["kind"] for e in study["summary"]["events"]] == ["reboot", "portal-burst", "outage",
                                                               "server-restart"]


def test_handsets_spread_in_contiguous_blocks_and_parts_are_blocks_of_dect_managers():
    layout = check_spec(FleetSpec(model="virtual-integrator", handsets=1000, duration=60.0))
    assert layout.managers == 4   # 250 handsets per DECT manager (N870 member profile)
    assert layout.dm_of[0] == 1 and layout.dm_of[249] == 1 and layout.dm_of[250] == 2 and layout.dm_of[-1] == 4
    assert partition(layout, 3) == [(1,), (2,), (3, 4)]
    assert partition(layout, 1) == [(1, 2, 3, 4)]


def test_a_user_on_two_parts_is_not_split():
    layout = check_spec(FleetSpec(model="virtual-integrator", handsets=500, duration=60.0))
    users = [f"u{n}" for n in range(500)]
    users[0] = users[499] = "shared"   # DECT managers 1 and 2
    assert partition(layout, 1, users)
    with pytest.raises(ConfigError, match="user shared has handsets on DECT managers in two parts"):
        partition(layout, 2, users)


def test_burst_choice_depends_on_seed_and_event_not_on_the_partition():
    assert burst_users(1, 0, 1000, 0.05) == burst_users(1, 0, 1000, 0.05)
    assert len(burst_users(1, 0, 1000, 0.05)) == 50
    assert burst_users(1, 0, 1000, 0.05) != burst_users(2, 0, 1000, 0.05)
    assert burst_users(1, 0, 1000, 0.05) != burst_users(1, 1, 1000, 0.05)


def test_classify_names_requests_responses_and_stale_challenges():
    assert classify(b"REGISTER sip:as.example.com SIP/2.0\r\nCSeq: 1 REGISTER\r\n\r\n") == ("REGISTER", "")
    assert classify(b"SIP/2.0 200 OK\r\nCSeq: 2 SUBSCRIBE\r\n\r\n") == ("SUBSCRIBE", "200")
    stale = b'SIP/2.0 401 Unauthorized\r\nCSeq: 3 REGISTER\r\nWWW-Authenticate: Digest realm="x", stale=true\r\n\r\n'
    assert classify(stale) == ("REGISTER", "401 stale")
    assert classify(b"SIP/2.0 401 Unauthorized\r\nCSeq: 3 REGISTER\r\n\r\nstale=true") == ("REGISTER", "401")


@pytest.mark.parametrize(("args", "message"), [
    (["--event", "2h:reboot"], "--event 2h:reboot: the event must begin and end within the study"),
    (["--event", "10m:explode"], "unknown event 'explode'"),
    (["--event", "10m:outage"], "outage needs a value, e.g. outage=10m"),
    (["--event", "10m:portal-burst=150%"], "the share of users is a percentage above 0 and up to 100"),
    (["--event", "10m:reboot=3"], "reboot takes no value"),
    (["--event", "soon:reboot"], "--event soon:reboot: 'soon' is not a time"),
    (["--handsets", "20001"], "--handsets: virtual-integrator holds at most 20000 handsets"),
    (["--dect-managers", "101"], "--dect-managers: virtual-integrator runs 1 to 100 DECT manager(s)"),
    (["--dect-managers", "1"], "put more than 250"),
    (["--model", "N999"], "--model:"),
    (["--resolution", "2h"], "--resolution: the resolution is above 0 and at most the duration"),
    (["--duration", "forever"], "--duration: 'forever' is not a time"),
    (["--parts", "9"], "--parts: 4 DECT manager(s) cannot be cut into 9 parts"),
    (["--plot", "out.pdf"], "--plot: the plot is a .png or .svg file"),
    (["--scheduler", "localhost:8786"], "--scheduler: expected an address such as tcp://HOST:8786"),
    # Output files are checked before the run, not after hours of it (a file cannot hold a folder).
    (["--json", "/dev/null/study.json"], "--json: cannot write /dev/null/study.json: /dev/null is not a folder"),
    (["--plot", "/dev/null/x/study.png"], "--plot: cannot write /dev/null/x/study.png: Not a directory"),
])
def test_bad_options_are_one_line_naming_the_option_and_exit_2(args, message):
    base = {"--handsets": "1000", "--duration": "1h"}
    for name in args[::2]:
        base.pop(name, None)
    flat = [item for pair in base.items() for item in pair]
    result = CliRunner().invoke(cli, ["fleet", *flat, *args, "--quiet"])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_a_small_fleet_writes_captures_of_every_counted_message(tmp_path):
    from scenarios.capture import read_capture

    out, pcap = tmp_path / "f.json", tmp_path / "pcap"
    result = CliRunner().invoke(cli, ["fleet", "--handsets", "20", "--duration", "10m", "--event", "2m:reboot",
                                      "--pcap", str(pcap), "--json", str(out), "--quiet"])
    assert result.exit_code == 0, result.output
    summary = json.loads(out.read_text())["summary"]
    frames = read_capture(pcap / "fleet-virtual-integrator-20-seed1.pcapng")   # SIP and DECT in one file
    assert sum(1 for f in frames if f.interface == "sip") == summary["sip_messages"] > 0
    assert sum(1 for f in frames if f.interface.startswith("dect")) == summary["dect_frames"] > 0


@pytest.mark.parametrize("args", [["--handsets", "1001"], ["--parts", "2"], ["--workers", "2"]])
def test_captures_only_for_a_small_fleet_in_one_part(args, tmp_path):
    base = {"--handsets": "500", "--duration": "1h"}
    base.pop(args[0], None)
    flat = [item for pair in base.items() for item in pair]
    result = CliRunner().invoke(cli, ["fleet", *flat, *args, "--pcap", str(tmp_path / "p"), "--quiet"])
    assert result.exit_code == 2, result.output
    assert "--pcap: captures" in result.output
