"""Both commands on a real Dask cluster (issue 16): a `dask scheduler` and two `dask worker` processes on
127.0.0.1, started here, bounded in time and killed at the end. `fksim fleet --scheduler` gives the same
JSON as a serial run, `fksim run --scheduler` the same results and capture bytes as a serial run;
`--workers 2` (a local cluster) is the same study too; an unreachable scheduler is one line, exit 2.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from scenarios.cli import cli
from scenarios.fleet import cluster

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "scenarios" / "library"
DASK = Path(sys.executable).parent / "dask"
#: Seconds the cluster may take to come up (two workers registered) on a busy machine.
STARTUP = 120.0
# The outage begins as the rebooted base comes back up: its registrations are lost and retried.
FLEET = ["fleet", "--handsets", "300", "--duration", "30m", "--seed", "5", "--event", "2m:reboot",
         "--event", "150s:outage=1m", "--event", "15m:portal-burst=10%", "--resolution", "30s", "--quiet"]
SCENARIOS = [str(LIBRARY / "all-models" / "loss-20-percent.yaml"), str(LIBRARY / "n870" / "roaming.yaml"),
             str(LIBRARY / "all-models" / "fac-to-handset.yaml")]

pytestmark = pytest.mark.slow


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group we started (a worker's nanny and its worker), then SIGKILL."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory) -> Iterator[str]:
    assert DASK.exists(), f"{DASK}: the dask command comes with dask[distributed] (pyproject.toml)"
    logs = tmp_path_factory.mktemp("dask")
    port = _free_tcp_port()
    address = f"tcp://127.0.0.1:{port}"
    processes: list[subprocess.Popen[bytes]] = []

    def start(name: str, *args: str) -> None:
        log = (logs / f"{name}.log").open("wb")
        processes.append(subprocess.Popen([str(DASK), *args], stdout=log, stderr=subprocess.STDOUT,
                                          cwd=logs, start_new_session=True))

    try:
        start("scheduler", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard")
        for n in (1, 2):
            start(f"worker{n}", "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--nworkers", "1",
                  "--no-dashboard", "--memory-limit", "0", "--death-timeout", "60")
        from distributed import Client

        deadline = time.monotonic() + STARTUP
        while True:
            try:
                with Client(address, timeout=10) as client:
                    client.wait_for_workers(2, timeout=max(1.0, deadline - time.monotonic()))
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline or any(p.poll() is not None for p in processes):
                    text = "\n".join(p.read_text()[-2000:] for p in sorted(logs.iterdir()))
                    pytest.fail(f"the Dask cluster did not come up within {STARTUP:g} s:\n{text}")
                time.sleep(1)
        yield address
    finally:
        for process in reversed(processes):
            _stop(process)


def _fleet_json(tmp_path: Path, name: str, *args: str) -> str:
    out = tmp_path / f"{name}.json"
    result = CliRunner().invoke(cli, [*FLEET, *args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    return out.read_text()


def test_fleet_on_the_cluster_equals_a_serial_run(scheduler, tmp_path):
    serial = _fleet_json(tmp_path, "serial")
    assert _fleet_json(tmp_path, "cluster", "--scheduler", scheduler) == serial   # one part per worker
    assert _fleet_json(tmp_path, "cluster2", "--scheduler", scheduler, "--parts", "2") == serial
    summary = json.loads(serial)["summary"]
    assert summary["lost"] > 0   # the outage covered traffic
    assert [e["handsets_not_reconverged"] for e in summary["events"]] == [0, 0, 0]


def _run_json(tmp_path: Path, name: str, *args: str) -> tuple[dict, dict[str, bytes]]:
    out = tmp_path / f"{name}.json"
    pcap = tmp_path / f"{name}-pcap"
    result = CliRunner().invoke(cli, ["run", *SCENARIOS, *args, "--json", str(out), "--pcap", str(pcap),
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    for run in data["runs"]:
        run.pop("wall_time")   # the only wall-clock figure of the result
    return data, {p.name: p.read_bytes() for p in sorted(pcap.iterdir())}


def test_scenario_jobs_on_the_cluster_equal_a_serial_run(scheduler, tmp_path):
    serial, serial_pcap = _run_json(tmp_path, "serial")
    remote, remote_pcap = _run_json(tmp_path, "cluster", "--scheduler", scheduler)
    assert [(r["file"], r["model"]) for r in remote["runs"]] == [(r["file"], r["model"]) for r in serial["runs"]]
    assert remote == serial
    assert remote_pcap == serial_pcap and len(serial_pcap) >= 6


def test_a_local_cluster_of_two_workers_gives_the_serial_study(tmp_path):
    serial = _fleet_json(tmp_path, "serial")
    assert _fleet_json(tmp_path, "workers", "--workers", "2") == serial


def test_an_unreachable_scheduler_is_one_line_and_exit_2(monkeypatch, tmp_path):
    monkeypatch.setattr(cluster, "CONNECT_TIMEOUT", 2)
    address = f"tcp://127.0.0.1:{_free_tcp_port()}"
    fleet = CliRunner().invoke(cli, [*FLEET, "--scheduler", address])
    assert fleet.exit_code == 2
    assert f"--scheduler: cannot reach the Dask scheduler at {address}" in fleet.output
    run = CliRunner().invoke(cli, ["run", SCENARIOS[0], "--scheduler", address, "--quiet"])
    assert run.exit_code == 2
    assert f"--scheduler: cannot reach the Dask scheduler at {address}" in run.output
    assert "Traceback" not in fleet.output + run.output
