"""`fksim models`: the table of model profiles (contract: spec/scenarios-and-cli.md §1).

Shows, per model, its name, system type, roles, capacities (per base, per DECT manager, per system),
whether it has the internal-telephony setting, and the FKS features it syncs. Every number keeps its
source mark: f = fact, l = likely, c = choice (the legend is printed under the table). `--json`
prints the same profiles as JSON, marks spelled out.
"""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.table import Table

from models.errors import FksimError
from models.profiles import CodecCalls, FksFeature, Marked, ModelProfile, load_profiles, profile_as_dict

_MARK = {"fact": "f", "likely": "l", "choice": "c"}


def _m(marked: Marked[int] | None) -> str:
    if marked is None:
        return "-"
    return f"{marked.value:,}{_MARK[marked.source.value]}"


def _calls(calls: CodecCalls | None) -> str:
    if calls is None:
        return "-"
    return "/".join(_m(c) for c in (calls.g711, calls.g729, calls.g722))


def _capacities(profile: ModelProfile) -> str:
    caps = profile.capacities
    base, dm, system = caps.per_base, caps.per_dect_manager, caps.per_system
    lines = [
        f"system: {_m(system.dect_managers)} DM, {_m(system.bases)} bases, {_m(system.handsets)} handsets"
        + (f", {_m(system.parallel_calls)} calls" if system.parallel_calls else ""),
        f"per DM: {_m(dm.bases)} bases, {_m(dm.handsets)} handsets"
        + (f", {_m(dm.parallel_channels)} channels" if dm.parallel_channels else ""),
        f"per base calls G.711/G.729/G.722: {_calls(base.parallel_calls)}",
    ]
    if base.parallel_calls_as_dect_manager is not None:
        lines.append(f"  as DM: {_calls(base.parallel_calls_as_dect_manager)}")
    if profile.member_model:
        lines.append(f"DMs and bases: {profile.member_model}")
    return "\n".join(lines)


def _table(profiles: list[ModelProfile]) -> Table:
    table = Table(title="fksim model profiles", show_lines=True)
    table.add_column("Model / name", no_wrap=True)
    table.add_column("System", max_width=22)
    table.add_column("Roles", max_width=24)
    table.add_column("Capacities", min_width=52)
    table.add_column("Internal\ntelephony", no_wrap=True)
    table.add_column("FKS features", no_wrap=True)
    table.add_column("Firmware", no_wrap=True)
    for profile in profiles:
        features = ", ".join(f.value for f in FksFeature if profile.syncs(f))
        table.add_row(
            f"[bold]{profile.id}[/bold]\n{profile.name}",
            f"{profile.system_type.value.value}\n{profile.description}",
            "\n".join(profile.roles.value),
            _capacities(profile),
            "yes" if profile.has_internal_telephony_setting.value else "no",
            features or "none",
            profile.firmware_version.value,
        )
    table.caption = "f = fact, l = likely, c = choice (spec/base-models.md); DM = DECT manager"
    return table


@click.command("models")
@click.option("--json", "as_json", is_flag=True, help="Print the profiles as JSON.")
@click.pass_context
def models(ctx: click.Context, as_json: bool) -> None:
    """Show the model profiles: system type, roles, capacities, internal telephony, FKS features."""
    try:
        profiles = list(load_profiles())
    except FksimError as err:
        click.echo(f"fksim: {err}", err=True)
        ctx.exit(2)
    if as_json:
        click.echo(json.dumps([profile_as_dict(p) for p in profiles], indent=2))
        return
    console = Console()
    if not console.is_terminal:
        # Piped or captured: rich would assume 80 columns; give the table room instead of folding it.
        console = Console(width=180)
    console.print(_table(profiles))
