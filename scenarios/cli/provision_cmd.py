"""`fksim provision lint`: check a provisioning file against a model (contract: scenarios-and-cli.md §1).

Prints every finding as ``file:line: level: message`` on standard output and exits 0 when the file is
clean, 1 when it has warnings only (for example ``FeatureKeySyncActive=1`` that internal telephony
will gate off), 2 when it has errors. Bad input to the command itself (unknown model, unreadable
file, a path that is not a regular file of at most 32 MB, internal telephony on a model without that
setting) is one ``fksim: ...`` line and exit 2, never a traceback or a hang.
"""

from __future__ import annotations

import click

from firmware.provisioning import ProvisioningSyntaxError, lint, parse_provisioning
from firmware.provisioning_xml import read_provisioning_file
from models.errors import FksimError
from models.profiles import get_profile

EXIT_CLEAN, EXIT_WARNINGS, EXIT_ERRORS = 0, 1, 2


@click.group("provision")
def provision() -> None:
    """Check provisioning files (the base's auto-provisioning XML)."""


@provision.command("lint")
@click.argument("file", type=click.Path(dir_okay=False, path_type=str))
@click.option("--model", "model_id", required=True, help="Model id, e.g. N670 or virtual-integrator.")
@click.option(
    "--internal-telephony",
    type=click.Choice(["on", "off"], case_sensitive=False),
    default="off",
    show_default=True,
    help="The base's internal-telephony setting before the file is applied (N610/N670 only).",
)
@click.pass_context
def lint_cmd(ctx: click.Context, file: str, model_id: str, internal_telephony: str) -> None:
    """Check FILE against a model: syntax, unknown parameters and handsets, ranges, FKS gating."""
    try:
        profile = get_profile(model_id)
        data = read_provisioning_file(file)
        try:
            doc = parse_provisioning(data, source=file)
        except ProvisioningSyntaxError as err:
            click.echo(str(err.diagnostic))
            ctx.exit(EXIT_ERRORS)
        diagnostics = lint(doc, profile, internal_telephony.lower() == "on")
    except FksimError as err:
        click.echo(f"fksim: {err}", err=True)
        ctx.exit(EXIT_ERRORS)
    for diagnostic in diagnostics:
        click.echo(str(diagnostic))
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    click.echo(f"{file}: {errors} error(s), {warnings} warning(s) for {profile.id}", err=True)
    ctx.exit(EXIT_ERRORS if errors else EXIT_WARNINGS if warnings else EXIT_CLEAN)
