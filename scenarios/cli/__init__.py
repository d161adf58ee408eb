"""The `fksim` command line (contract: spec/scenarios-and-cli.md §1).

Each subcommand lives in its own module and is imported only when it is used, so `fksim dect decode`
does not pay for the simulation's imports. Every deliberate error is an `FksimError` whose message
names the place; it is printed on stderr with exit status 2, never as a traceback.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from models.errors import FksimError

#: command name -> "module:attribute" of its click command.
COMMANDS: dict[str, str] = {
    "models": "scenarios.cli.models_cmd:models",
    "provision": "scenarios.cli.provision_cmd:provision",
    "sip": "scenarios.cli.sip_cmd:sip",
    "dect": "scenarios.cli.dect_cmd:dect",
    "run": "scenarios.cli.run_cmd:run",
    "check": "scenarios.cli.run_cmd:check",
    "serve": "scenarios.cli.serve_cmd:serve",
    "new": "scenarios.cli.new_cmd:new",
    "menu": "scenarios.cli.menu_cmd:menu",
    "fleet": "scenarios.cli.fleet_cmd:fleet",
}

#: exit status for bad input, as the contract fixes it for every command.
EXIT_BAD_INPUT = 2


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when that subcommand is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fksim")
def cli() -> None:
    """fksim: a digital twin of Gigaset DECT IP bases for BroadWorks Feature Key Synchronization."""


def main(argv: list[str] | None = None) -> Any:
    """Console entry point: run the group, turning deliberate errors into one line and exit 2."""
    try:
        return cli.main(args=argv, prog_name="fksim", standalone_mode=True)
    except FksimError as err:
        click.echo(f"fksim: {err}", err=True)
        sys.exit(EXIT_BAD_INPUT)


if __name__ == "__main__":
    main()
