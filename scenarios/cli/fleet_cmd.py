"""`fksim fleet`: a capacity study of a whole fleet over hours (docs/fleet.md).

Builds a fleet of handsets on one base system (`--model`, `--handsets`, `--dect-managers`), runs it for
`--duration` with the events a provider worries about (`--event 2h:reboot`, `6h:server-restart`,
`9h:outage=10m`, `12h:portal-burst=5%`), and prints a summary table; `--json` writes the figures and
the time series, `--plot` a picture of them. `--workers N` cuts the fleet into N parts run by a local
Dask cluster, `--scheduler tcp://HOST:PORT` runs the parts on an existing Dask cluster; the figures are
the same for any number of parts and workers. Bad input is one `fksim: ...` line and exit 2.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from models.errors import ConfigError, FksimError
from scenarios.fleet.plot import FORMATS, write_plot
from scenarios.fleet.spec import FleetSpec, check_spec, parse_event
from scenarios.yamlsrc import parse_time

EXIT_BAD_INPUT = 2


def _time(value: str, option: str) -> float:
    try:
        return parse_time(value)
    except ValueError as err:
        raise ConfigError(str(err), where=option) from None


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "not within the study"
    if seconds >= 3600:
        return f"{seconds / 3600:.2f} h"
    return f"{seconds / 60:.1f} min" if seconds >= 120 else f"{seconds:g} s"


def summary_tables(study: dict[str, Any], console: Console) -> None:
    summary = study["summary"]
    info = study["study"]
    columns = sorted({c for row in summary["messages"].values() for c in row if c != "requests"})
    table = Table(title=f"SIP messages: {info['handsets']:,} handsets, {info['model']}, "
                        f"{_fmt_time(info['duration'])}, seed {info['seed']}")
    table.add_column("method")
    table.add_column("requests", justify="right")
    for column in columns:
        table.add_column(column, justify="right")
    for method, row in summary["messages"].items():
        table.add_row(method, f"{row.get('requests', 0):,}", *[f"{row.get(c, 0):,}" for c in columns])
    console.print(table)
    figures = Table(show_header=False, title="At the application server")
    figures.add_column("figure")
    figures.add_column("value", justify="right")
    figures.add_row("SIP messages at the AS", f"{summary['as_messages']:,}")
    peak_at = _fmt_time(summary["peak_at"])
    figures.add_row("peak SIP messages/s", f"{summary['peak_as_msgs_per_s']:,} (at {peak_at})")
    figures.add_row("mean SIP messages/s", f"{summary['mean_as_msgs_per_s']:,}")
    figures.add_row("requests answered 401", f"{summary['challenged_share']:.1%}")
    figures.add_row("requests answered 401 stale nonce", f"{summary['stale_nonce_share']:.1%}")
    figures.add_row("datagrams lost (outages)", f"{summary['lost']:,}")
    figures.add_row("subscriptions active at the end", f"{summary['subscriptions_at_end']:,}")
    figures.add_row("subscriptions active at most", f"{summary['subscriptions_peak']:,}")
    console.print(figures)
    if summary["events"]:
        events = Table(title="Events: every handset back in sync (registered, subscribed, showing the "
                             "server's state)")
        events.add_column("at", justify="right")
        events.add_column("event")
        events.add_column("re-converged after it ended", justify="right")
        events.add_column("handsets not back", justify="right")
        for event in summary["events"]:
            what = event["kind"]
            if event["kind"] == "outage":
                what += f" {_fmt_time(event['value'])}"
            elif event["kind"] == "portal-burst":
                what += f" {event['value']:.0%}"
            events.add_row(_fmt_time(event["at"]), what, _fmt_time(event["reconverged_after"]),
                           f"{event['handsets_not_reconverged']:,}")
        console.print(events)


def _prepare_output(path: Path | None, where: str) -> None:
    """Before the run, not after hours of it: the file's folder is made as `fksim run` makes its
    output folders, and must be writable."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ConfigError(f"cannot write {path}: {path.parent} is not a folder", where=where) from None
    except OSError as err:
        raise ConfigError(f"cannot write {path}: {err.strerror or err}", where=where) from None
    if not os.access(path.parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ConfigError(f"cannot write {path}: permission denied", where=where)


def _run(spec: FleetSpec, parts: int | None, workers: int, scheduler: str | None,
         progress: Progress, pcap_dir: Path | None) -> dict[str, Any]:
    from scenarios.fleet.part import run_part
    from scenarios.fleet.study import run_study

    if pcap_dir is not None and (scheduler is not None or workers > 1):
        raise ConfigError("captures are written by a run in one part (no --workers or --scheduler)",
                          where="--pcap")
    if scheduler is None and workers <= 1:
        count = parts or 1
        task = progress.add_task("simulating", total=round(count * spec.duration))
        pcap = None if pcap_dir is None else (pcap_dir, f"fleet-{spec.model}-{spec.handsets}-seed{spec.seed}")
        return run_study(spec, count, progress=lambda t: progress.update(task, completed=round(t)), pcap=pcap)
    from scenarios.fleet.cluster import dask_client, run_on, worker_count

    with dask_client(workers=workers, scheduler=scheduler) as client:
        count = parts or max(1, worker_count(client) if scheduler is not None else workers)
        layout = check_spec(spec)
        count = min(count, layout.managers) if parts is None else count
        task = progress.add_task(f"parts on {'the cluster' if scheduler else f'{workers} workers'}",
                                 total=count)
        return run_study(spec, count, runner=lambda jobs: run_on(
            client, run_part, jobs, done=lambda _i, _r: progress.advance(task)))


@click.command("fleet")
@click.option("--model", "model", default="virtual-integrator", show_default=True, help="The base model.")
@click.option("--handsets", type=int, required=True, help="Handsets in the fleet, each with its own user.")
@click.option("--duration", required=True, help="Simulated time: 2h, 24h, 90m, ...")
@click.option("--seed", type=click.IntRange(min=0), default=1, show_default=True)
@click.option("--event", "events", multiple=True, metavar="TIME:KIND[=VALUE]",
              help="Repeatable: TIME:reboot, TIME:server-restart, TIME:outage=LENGTH, "
                   "TIME:portal-burst=SHARE%.")
@click.option("--dect-managers", "dect_managers", type=int,
              help="DECT managers (default: as few as the profile's handsets per DECT manager allow).")
@click.option("--resolution", default="10s", show_default=True, help="Time step of the time series.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Run the parts on a local Dask cluster of this many worker processes.")
@click.option("--scheduler", metavar="tcp://HOST:PORT",
              help="Run the parts on this Dask scheduler's cluster.")
@click.option("--parts", type=click.IntRange(min=1),
              help="Cut the fleet into this many parts (default: one per worker).")
@click.option("--json", "json_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Write the figures and the time series to this file.")
@click.option("--plot", "plot_file", type=click.Path(path_type=Path, dir_okay=False),
              help="Draw messages/s and subscriptions over time, events marked (.png or .svg).")
@click.option("--pcap", "pcap_dir", type=click.Path(path_type=Path, file_okay=False),
              help="A small fleet (at most 1,000 handsets, one part): also write its SIP and DECT captures.")
@click.option("--quiet", is_flag=True, help="No progress bar and no tables.")
def fleet(model: str, handsets: int, duration: str, seed: int, events: tuple[str, ...],
          dect_managers: int | None, resolution: str, workers: int, scheduler: str | None,
          parts: int | None, json_file: Path | None, plot_file: Path | None, pcap_dir: Path | None,
          quiet: bool) -> None:
    """A fleet capacity study: load on the application server over time, and recovery from events."""
    try:
        spec = FleetSpec(model=model, handsets=handsets, duration=_time(duration, "--duration"), seed=seed,
                         events=tuple(sorted((parse_event(e) for e in events), key=lambda e: e.at)),
                         dect_managers=dect_managers, resolution=_time(resolution, "--resolution"))
        check_spec(spec)
        if plot_file is not None and plot_file.suffix.lower() not in FORMATS:
            raise ConfigError(f"the plot is a .png or .svg file, not {plot_file.name!r}", where="--plot")
        _prepare_output(json_file, "--json")
        _prepare_output(plot_file, "--plot")
        err_console = Console(stderr=True)
        with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(),
                      MofNCompleteColumn(), TimeElapsedColumn(), console=err_console, transient=True,
                      disable=quiet) as progress:
            study = _run(spec, parts, workers, scheduler, progress, pcap_dir)
        if json_file is not None:
            try:
                json_file.write_text(json.dumps(study, indent=1) + "\n")
            except OSError as err:
                raise ConfigError(f"cannot write {json_file}: {err.strerror or err}",
                                  where="--json") from None
        if plot_file is not None:
            write_plot(study, plot_file)
    except FksimError as err:
        click.echo(f"fksim: {err}", err=True)
        sys.exit(EXIT_BAD_INPUT)
    if not quiet:
        out = Console(highlight=False)
        if not out.is_terminal:
            out.width = max(out.width, 120)
        summary_tables(study, out)


__all__ = ["fleet", "summary_tables"]
