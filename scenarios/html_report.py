"""`fksim run ... --html FILE`: one self-contained HTML report of the runs (spec/scenarios-and-cli.md §5).

One responsibility: turn `RunResult`s into a single HTML file that needs nothing else (no external
script, style, font or image; a Content-Security-Policy forbids loading any). Per run a ladder
diagram: a lane for each handset, each DECT manager (or the base) and the server (and any other SIP
party, such as a phone dialling a feature access code), DECT and SIP arrows in time order, lost
datagrams dashed, the expectations as pass/fail bands at their times; a click on an arrow shows the
decoded message (the result format's fields, spec §3) and its bytes (the SIP text, and a hex dump).

The runs' data is embedded once as JSON (`<script type="application/json">`, with `<` escaped so no
message text can end the element) and the ladder of a run is drawn by the embedded script only when
its section is opened, so a report of a whole library run, or of a run with thousands of messages,
opens at once. Text from the messages only ever reaches the page as text (`textContent`), never as
markup.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from scenarios.results import RunResult, Skipped
from scenarios.trace import dect_details, sip_details

ASSETS = Path(__file__).with_name("report")
CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; "
       "base-uri 'none'; form-action 'none'")


def _message(message: dict[str, Any], data: bytes | None) -> dict[str, Any]:
    summary = sip_details(message) if message["layer"] == "sip" else dect_details(message)
    out: dict[str, Any] = {"t": message["t"], "layer": message["layer"], "from": message["from"],
                           "to": message["to"], "name": message["name"], "summary": summary,
                           "lost": bool(message.get("lost")), "decoded": message}
    if data is not None:
        out["bytes"] = base64.b64encode(data).decode("ascii")
    return out


def run_data(run: RunResult) -> dict[str, Any]:
    """What the page needs of one run; bytes only when the run kept them (`RunResult.wire`)."""
    kept = len(run.wire) == len(run.messages)
    wire: Sequence[bytes | None] = run.wire if kept else [None] * len(run.messages)
    return {
        "title": run.scenario, "file": run.file, "model": run.model, "seed": run.seed, "passed": run.passed,
        "error": run.error, "sim_time": run.sim_time,
        "messages": [_message(m, d) for m, d in zip(run.messages, wire, strict=True)],
        "expectations": [{"index": e.index, "at": e.at, "passed": e.passed, "message": e.message}
                         for e in run.expectations],
        "notices": list(run.notices),
    }


def _json_for_script(document: Any) -> str:
    """JSON safe inside a <script> element: `<`, `>` and `&` escaped, so `</script>` cannot appear."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def render(runs: Sequence[RunResult], *, skipped: Sequence[Skipped] = (), title: str = "fksim run") -> str:
    """The whole report as one HTML document."""
    passed = sum(1 for r in runs if r.passed)
    document = {"runs": [run_data(r) for r in runs], "skipped": [s.as_json() for s in skipped]}
    summary = f"{passed} passed, {len(runs) - passed} failed"
    summary += f", {len(skipped)} skipped" if skipped else ""
    css = (ASSETS / "report.css").read_text(encoding="utf-8")
    script = (ASSETS / "report.js").read_text(encoding="utf-8")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}: {html.escape(summary)}</title>
<style>
{css}</style>
</head>
<body>
<header>
<h1>{html.escape(title)}</h1>
<p id="summary" class="{'pass' if passed == len(runs) else 'fail'}">{html.escape(summary)}</p>
<p class="hint">Open a run to see its ladder; click an arrow for the decoded message and its bytes.</p>
</header>
<div id="layout">
<main id="runs"></main>
<aside id="details" aria-live="polite"><p class="hint">Nothing selected.</p></aside>
</div>
<script type="application/json" id="fksim-data">{_json_for_script(document)}</script>
<script>
{script}</script>
</body>
</html>
"""


def write_html(runs: Sequence[RunResult], path: Path, *, skipped: Sequence[Skipped] = ()) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(runs, skipped=skipped), encoding="utf-8")
