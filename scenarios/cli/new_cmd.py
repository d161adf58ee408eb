"""`fksim new FILE.yaml [--model M] [--handset-type T] [--force]`: write a commented starting scenario
(spec/scenarios-and-cli.md §5).

The file is a working example of every part of the format a first scenario needs (models, seed,
duration, a handset with FKS on, a server user with its initial state, a menu step, a portal step,
and each kind of expectation), with a comment on each key pointing to docs/scenarios.md. Its menu
paths are taken from the chosen handset type's own menu tree (`models/handsets/*.yaml`), so the file
passes `fksim check` and runs on every model and handset type. An existing file is never overwritten
unless `--force` is given (exit 2 otherwise).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import click

from models.errors import ConfigError, FksimError
from models.handset_types import Form, HandsetType, MenuNode, OptionList, Submenu, get_handset_type
from models.profiles import load_profiles
from scenarios.cli import EXIT_BAD_INPUT

IPUI = "029e74a599"
USER = "2001"
TARGET = "3000"


def _walk(node: MenuNode, path: list[str]) -> Iterator[tuple[list[str], MenuNode]]:
    yield path, node
    if isinstance(node, Submenu):
        for child in node.items:
            yield from _walk(child, [*path, child.label])


def flow(value: object) -> str:
    """A YAML flow scalar, quoted where a YAML 1.1 reader would take it for something else."""
    text = str(value)
    plain = text.replace(" ", "").replace("-", "").replace(".", "").isalnum() and not text[:1].isdigit()
    if plain and text.lower() not in ("on", "off", "yes", "no", "true", "false", "y", "n", "null"):
        return text
    return json.dumps(text, ensure_ascii=False)


def flow_path(path: list[object]) -> str:
    """A menu path as a scenario writes it: `[Menu, Select services, Do not disturb, "On"]`."""
    items = []
    for element in path:
        if isinstance(element, dict):
            items.append("{" + ", ".join(f"{flow(k)}: {flow(v)}" for k, v in element.items()) + "}")
        else:
            items.append(flow(element))
    return "[" + ", ".join(items) + "]"


def dnd_path(handset_type: HandsetType, active: bool) -> list[object]:
    """The menu path that switches DND on (or off) on this handset type."""
    for path, node in _walk(handset_type.menu, ["Menu"]):
        if isinstance(node, OptionList):
            for option in node.options:
                if option.feature == "dnd" and option.active is active:
                    return [*path, option.label]
    raise FksimError(f'handset type "{handset_type.name}" ({handset_type.source}) has no menu option that '
                     f"switches Do not disturb {'on' if active else 'off'}")


def form_path(handset_type: HandsetType, feature: str, values: dict[str, str]) -> list[object]:
    """The menu path that fills and saves the diversion form of `feature` with `values`."""
    for path, node in _walk(handset_type.menu, ["Menu"]):
        if isinstance(node, Form) and node.feature == feature:
            return [*path, {k: v for k, v in values.items() if node.field(k) is not None}]
    raise FksimError(f'handset type "{handset_type.name}" ({handset_type.source}) has no {feature} form')


def template(model: str | None, handset_type: HandsetType, type_named: bool) -> str:
    """The text of the starting scenario."""
    models = f"[{model}]" if model else "all"
    dnd_on = flow_path(dnd_path(handset_type, True))
    cfa_off = flow_path(form_path(handset_type, "cfa", {"Status": "Off"}))
    if type_named:
        type_line = f"    type: {flow(handset_type.name)}  # `fksim menu --handset-type T` shows its menus\n"
    else:
        type_line = "    # type: R650H PRO  # a handset type (default: the first one `fksim menu` lists)\n"
    return _align(f"""\
# A starting fksim scenario, written by `fksim new`. Change it, then:
#   fksim check THIS-FILE            validate (every problem as file:line: field: problem)
#   fksim run THIS-FILE --trace      run it and print every DECT and SIP message
# The format is described in docs/scenarios.md; `fksim menu` lists the menu paths of each handset type.

scenario: Do not disturb from the handset menu reaches the server; a portal change comes back
models: {models}                   # `all`, or a list of model ids (`fksim models`): [N670, N870]
seed: 1                        # every random choice (loss, ...) follows it: same seed, same run
duration: 40s                  # simulated time of the run: 250ms, 5s, 2m, 1h or a number of seconds

# base:                        # optional: the base's settings at the start
#   internal_telephony: false  # N610 and N670 only: FKS is not supported while it is on
#   provisioning: base.xml     # a provisioning file next to this one, or inline XML starting with <

handsets:
  - ipui: "{IPUI}"             # quote IPUIs: YAML would read some as numbers
    user: "{USER}"                 # the BroadWorks user (SIP account) of this handset
    feature_key_sync: true     # FKS for this handset; off by default, as on the base
{type_line}
server:
  users:                       # each user's state on the server at the start
    "{USER}": {{dnd: false, cfa: {{active: false, to: ""}}}}

steps:
  - at: 5s                     # the user switches DND on in the handset menu
    handset: "{IPUI}"
    menu: {dnd_on}
  - at: 15s                    # someone switches call forwarding always on at the server's portal
    portal: {{user: "{USER}", cfa: {{active: true, to: "{TARGET}"}}}}
  - at: 25s                    # the user switches it off again in the handset menu (a form: fields, then OK)
    handset: "{IPUI}"
    menu: {cfa_off}

expect:
  - at: 1s                     # the gating verdict: FKS supported and active for this handset
    fks: {{handset: "{IPUI}", supported: true, active: true}}
  - at: 10s                    # the menu change reached the server...
    server: {{user: "{USER}", state: {{dnd: true}}}}
  - at: 10s                    # ...in one SUBSCRIBE carrying SetDoNotDisturb
    sip: {{method: SUBSCRIBE, body: SetDoNotDisturb, from: 5s, count: 1}}
  - at: 10s                    # ...and the base confirmed it to the handset
    handset: "{IPUI}"
    state: {{dnd: true}}
  - at: 20s                    # the portal change came back to the handset
    handset: "{IPUI}"
    state: {{cfa: {{active: true, to: "{TARGET}"}}}}
  - at: end                    # at the end of the run
    server: {{user: "{USER}", state: {{dnd: true, cfa: {{active: false}}}}}}
""")


#: The column end-of-line comments start at.
COMMENT_COLUMN = 31


def _align(text: str) -> str:
    """Line up the end-of-line comments (`  # ...`) at one column, where the code leaves room."""
    out = []
    for line in text.splitlines():
        code, sep, comment = line.partition("  # ")
        if sep and code.strip():   # also a commented-out key (`# base:`) with its own comment
            line = f"{code.rstrip():<{COMMENT_COLUMN - 1}} # {comment.strip()}"
        out.append(line)
    return "\n".join(out) + "\n"


def _fail(message: str) -> NoReturn:
    click.echo(f"fksim: {message}", err=True)
    sys.exit(EXIT_BAD_INPUT)


@click.command()
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--model", metavar="NAME", help="The model the scenario names (default: all models).")
@click.option("--handset-type", "handset_type", metavar="TYPE",
              help="The handset's type (default: the default type, see `fksim menu`).")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
def new(file: Path, model: str | None, handset_type: str | None, force: bool) -> None:
    """Write a commented starting scenario to FILE that passes `fksim check` and runs."""
    try:
        model_id = load_profiles().get(model).id if model is not None else None
    except ConfigError as err:
        _fail(f"--model: {err}")
    try:
        chosen = get_handset_type(handset_type)
        text = template(model_id, chosen, handset_type is not None)
    except ConfigError as err:
        _fail(f"--handset-type: {err}")
    except FksimError as err:
        _fail(str(err))
    if file.exists() and not force:
        _fail(f"{file}: already exists; give --force to overwrite it")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(text, encoding="utf-8")
    except OSError as err:
        _fail(f"{file}: cannot write: {err.strerror or err}")
    click.echo(f"wrote {file}: check it with `fksim check {file}`, run it with `fksim run {file} --trace`")
