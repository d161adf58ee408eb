"""State diagrams drawn from the machines' own tables, and the picture of the layers.

One responsibility: turn each `(state, input) -> (action, next state)` table of the protocol cores
into a Graphviz graph, so that a reader sees a machine before reading it (as python-hyper/h2 renders
its stream machine). Nothing here is drawn by hand except the layer picture: every edge of a
machine's diagram is a row of its table, and `tests/docs/test_diagrams.py` fails when a table changed
and its committed diagram was not regenerated (`make diagrams`).

Each diagram is committed twice under `docs/diagrams/`: `NAME.dot`, the Graphviz source made here,
and `NAME.svg`, what Graphviz's `dot` draws of it. The SVG carries the SHA-256 of its source in a
comment, so the drift test needs Graphviz only to regenerate, not to compare.

    python -m scenarios.diagrams [--check] [--out docs/diagrams]
"""

from __future__ import annotations

import argparse
import enum
import hashlib
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "docs" / "diagrams"


@dataclass(frozen=True, kw_only=True)
class Diagram:
    #: the file name under docs/diagrams, without .dot / .svg
    name: str
    make: Callable[[], str]

    def dot(self) -> str:
        return self.make()


def _label(value: Any) -> str:
    if isinstance(value, enum.Enum):
        return str(value.value)
    if callable(value):
        return str(getattr(value, "__name__", value)).lstrip("_")
    return str(value).lstrip("_")


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _graph(title: str, source: str, body: Iterable[str], *, rankdir: str = "LR") -> str:
    lines = [
        "digraph G {",
        f"  graph [rankdir={rankdir}, fontname=Helvetica, fontsize=12, labelloc=t, "
        f"label={_quote(title + chr(10) + source)}];",
        "  node [shape=box, style=rounded, fontname=Helvetica, fontsize=11];",
        "  edge [fontname=Helvetica, fontsize=9];",
        *body,
        "}",
    ]
    return "\n".join(lines) + "\n"


def _machine(title: str, source: str, table: Mapping[tuple[Any, Any], Any], *,
             states: Iterable[Any] = (), start: Any = None) -> str:
    """One machine: a node per state, an edge per row, labelled `input / action`. Rows with the same
    ends are drawn as one edge with one line per row, so the picture stays readable."""
    edges: dict[tuple[str, str], list[str]] = {}
    names: list[str] = [_label(s) for s in states]
    for (state, event), result in table.items():
        if isinstance(result, tuple):
            action, target = result
            text = f"{_label(event)} / {_label(action)}"
        else:
            target, text = result, _label(event)
        a, b = _label(state), _label(target)
        for n in (a, b):
            if n not in names:
                names.append(n)
        edges.setdefault((a, b), []).append(text)
    body = []
    if start is not None:
        body += ['  "__start" [shape=point, width=0.12];', f"  \"__start\" -> {_quote(_label(start))};"]
    body += [f"  {_quote(n)};" for n in names]
    for (a, b), texts in edges.items():
        body.append(f"  {_quote(a)} -> {_quote(b)} [label={_quote(chr(10).join(sorted(texts)))}];")
    return _graph(title, source, body)


def _by_kind(title: str, source: str, table: Mapping[tuple[Any, Any, Any], Any]) -> str:
    """A table keyed (kind, state, input): one cluster per kind."""
    body: list[str] = []
    kinds: list[Any] = []
    for kind, _state, _event in table:
        if kind not in kinds:
            kinds.append(kind)
    for number, kind in enumerate(kinds):
        body.append(f"  subgraph cluster_{number} {{")
        body.append(f"    label={_quote(_label(kind))};")
        edges: dict[tuple[str, str], list[str]] = {}
        for (k, state, event), (action, target) in table.items():
            if k is kind:
                edges.setdefault((_label(state), _label(target)), []).append(
                    f"{_label(event)} / {_label(action)}")
        for (a, b), texts in edges.items():
            body.append(f"    {_quote(f'{number}:{a}')} [label={_quote(a)}];")
            body.append(f"    {_quote(f'{number}:{b}')} [label={_quote(b)}];")
            body.append(f"    {_quote(f'{number}:{a}')} -> {_quote(f'{number}:{b}')} "
                        f"[label={_quote(chr(10).join(sorted(texts)))}];")
        body.append("  }")
    return _graph(title, source, body)


def _handlers(title: str, source: str, table: Mapping[tuple[Any, Any], Any]) -> str:
    """A table (screen, key class) -> handler: which handler each key reaches on each screen."""
    edges: dict[tuple[str, str], list[str]] = {}
    for (screen, key), handler in table.items():
        edges.setdefault((_label(screen), _label(handler)), []).append(_label(key))
    body = ['  node [shape=box];']
    for (screen, handler), keys in edges.items():
        body.append(f"  {_quote(screen)} [style=\"rounded,bold\"];")
        body.append(f"  {_quote('h:' + handler)} [label={_quote(handler)}, shape=plain];")
        keys_text = _quote(", ".join(sorted(keys)))
        body.append(f"  {_quote(screen)} -> {_quote('h:' + handler)} [label={keys_text}];")
    return _graph(title, source, body)


def _layers() -> str:
    """The layers, and the path of a DND request from the handset's menu to the server and back."""
    body = [
        '  node [shape=box, style="rounded,filled", fillcolor="#f4f4f4"];',
        '  subgraph cluster_scenarios {',
        '    label="scenarios: world (simpy links), live twin (sockets), runner, CLI";',
        '    world [label="scenarios.world.links\\nDectAir / IpNetwork"]; }',
        '  subgraph cluster_firmware { label="firmware: the base";',
        '    dm [label="firmware.dect_manager\\nDectManager (routes)"];',
        '    fks [label="firmware.fks\\nFksApplication (decides)"]; }',
        '  subgraph cluster_dect { label="dect";',
        '    handset [label="dect.handset + dect.menu\\nthe handset emulator"];',
        '    endpoint [label="dect.endpoint + dect.codec\\nthe base side of the air"]; }',
        '  subgraph cluster_sip { label="sip";',
        '    sub [label="sip.subscriber\\nSubscriber core"];',
        '    server [label="sip.server.app + sip.notifier\\nthe application server"]; }',
        '  subgraph cluster_models {',
        '    label="models: profiles, menus, the root error"; models [label="models"]; }',
        '  handset -> world [label="1 menu keys -> CISS-REGISTER"];',
        '  world -> endpoint [label="2 NWK bytes"];',
        '  endpoint -> dm [label="3 FeatureRequested"];',
        '  dm -> fks [label="4 request()"];',
        '  fks -> dm [label="5 SendSet"];',
        '  dm -> sub [label="6 set()"];',
        '  sub -> server [label="7 SUBSCRIBE with SetDoNotDisturb\\n(over IpNetwork)"];',
        '  server -> sub [label="8 200 OK, NOTIFY DoNotDisturbEvent"];',
        '  sub -> dm [label="9 FeatureStateReceived"];',
        '  dm -> fks [label="10 state_received()"];',
        '  fks -> dm [label="11 Persist, Indicate"];',
        '  dm -> endpoint [label="12 indicate_feature_state()"];',
        '  endpoint -> handset [label="13 FACILITY (over DectAir)"];',
        '  endpoint -> models [style=dotted, arrowhead=none];',
        '  sub -> models [style=dotted, arrowhead=none];',
    ]
    return _graph("fksim: the layers (imports point down) and one DND request, hop by hop",
                  "scenarios -> firmware -> sip, dect -> models", body, rankdir="TB")


def diagrams() -> list[Diagram]:
    """Every diagram, its tables imported when drawn."""
    def transactions(name: str) -> Callable[[], str]:
        def make() -> str:
            from sip import transaction_tables as transaction
            return _machine(f"SIP {name.lower().replace('_', ' ')} transaction (RFC 3261 §17)",
                            f"sip/transaction_tables.py {name}", getattr(transaction, name))
        return make

    def subscriber() -> str:
        from sip.subscriber import TABLE, SubState
        return _machine("as-feature-event subscriber (the base, RFC 6665 §4.1)", "sip/subscriber.py TABLE",
                        TABLE, start=SubState.IDLE)

    def notifier() -> str:
        from sip.notifier import PHASES, SubscriptionPhase
        return _machine("Notifier subscription phases (the server, RFC 6665 §4.2)", "sip/notifier.py PHASES",
                        PHASES, start=SubscriptionPhase.OFFERED)

    def registration() -> str:
        from sip.registration import TABLE
        return _machine("Registration client (RFC 3261 §10.2)", "sip/registration.py TABLE", TABLE)

    def fac_caller() -> str:
        from sip.fac import TABLE
        return _machine("Feature access code call (the base's caller)", "sip/fac.py TABLE", TABLE)

    def fac_server() -> str:
        from sip.server.fac import TABLE
        return _machine("Feature access code call (the server's dialog)", "sip/server/fac.py TABLE", TABLE)

    def call_answerer() -> str:
        from sip.call import TABLE, Phase
        return _machine("Incoming call (the base's UAS, RFC 3261 §13.3)", "sip/call.py TABLE", TABLE,
                        start=Phase.OFFERED)

    def dect_incoming() -> str:
        from dect.fp_calls import TABLE, Phase
        return _machine("Incoming call over DECT (the base's CC transaction, EN 300 175-5 §9.3)",
                        "dect/fp_calls.py TABLE", TABLE, start=Phase.SETUP_SENT)

    def fks() -> str:
        from firmware.fks import TRANSITIONS, FksState
        return _machine("FKS application of one handset account", "firmware/fks.py TRANSITIONS",
                        TRANSITIONS, start=FksState.LOCAL)

    def endpoint() -> str:
        from dect import endpoint as ep
        return _by_kind("DECT endpoint transactions (base side)", "dect/endpoint.py _TRANSITIONS",
                        ep._TRANSITIONS)

    def menu() -> str:
        from dect import menu as m
        return _handlers("Handset menu navigator: screen and key -> handler", "dect/menu.py _TRANSITIONS",
                         m._TRANSITIONS)

    return [
        Diagram(name="layers", make=_layers),
        *[Diagram(name=f"sip-{n.lower().replace('_', '-')}", make=transactions(n))
          for n in ("NON_INVITE_CLIENT", "INVITE_CLIENT", "NON_INVITE_SERVER", "INVITE_SERVER")],
        Diagram(name="sip-subscriber", make=subscriber),
        Diagram(name="sip-notifier", make=notifier),
        Diagram(name="sip-registration", make=registration),
        Diagram(name="sip-fac-caller", make=fac_caller),
        Diagram(name="sip-server-fac", make=fac_server),
        Diagram(name="sip-call", make=call_answerer),
        Diagram(name="dect-incoming-call", make=dect_incoming),
        Diagram(name="firmware-fks", make=fks),
        Diagram(name="dect-endpoint", make=endpoint),
        Diagram(name="dect-menu", make=menu),
    ]


def digest(dot: str) -> str:
    return hashlib.sha256(dot.encode()).hexdigest()


def render(dot: str) -> str:
    """The SVG Graphviz draws of `dot`, with the source's digest in a comment after the XML prolog."""
    svg = subprocess.run(["dot", "-Tsvg"], input=dot, capture_output=True, text=True, check=True,
                         timeout=60).stdout
    marker = f"<!-- fksim diagram source sha256:{digest(dot)} -->\n"
    head, sep, rest = svg.partition("?>\n")
    return head + sep + marker + rest if sep else marker + svg


def stale(out: Path = OUT) -> list[str]:
    """The diagrams whose committed source or SVG does not match the tables as they are now."""
    found = []
    for d in diagrams():
        dot = d.dot()
        dot_file, svg_file = out / f"{d.name}.dot", out / f"{d.name}.svg"
        if not dot_file.exists() or dot_file.read_text() != dot:
            found.append(_shown(dot_file))
        if not svg_file.exists() or f"sha256:{digest(dot)}" not in svg_file.read_text():
            found.append(_shown(svg_file))
    return found


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Draw the state machines from their tables.")
    parser.add_argument("--check", action="store_true", help="only say which diagrams are stale (exit 1)")
    parser.add_argument("--out", type=Path, default=OUT, help="where the diagrams go (default docs/diagrams)")
    args = parser.parse_args(argv)
    if args.check:
        old = stale(args.out)
        for name in old:
            print(f"stale: {name} (run make diagrams)")
        return 1 if old else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for d in diagrams():
        dot = d.dot()
        (args.out / f"{d.name}.dot").write_text(dot)
        (args.out / f"{d.name}.svg").write_text(render(dot))
        print(f"wrote docs/diagrams/{d.name}.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
