"""`fksim run --html`: one self-contained report. Structure and escaping are checked here in Python; the
page itself in Debian's chromium through Playwright (skipped without them on a developer machine,
failing under CI=true): load, open a run, click arrows, read the details panel, a screenshot kept in
artifacts/ (a CI artefact), and a run of more than 1,000 messages drawn and clickable in seconds."""

from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from live.kit import ARTIFACTS, in_ci, require_tool

from scenarios.cli import cli
from scenarios.html_report import render
from scenarios.results import ExpectationResult, RunResult

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = ROOT / "scenarios" / "library"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"]
DATA = re.compile(r'<script type="application/json" id="fksim-data">(.*?)</script>', re.S)


def _data(text: str) -> dict:  # type: ignore[type-arg]
    [payload] = DATA.findall(text)
    return json.loads(payload)


def _report(tmp_path: Path, *files: str, model: str = "N870") -> tuple[Path, dict]:  # type: ignore[type-arg]
    html, out = tmp_path / "report.html", tmp_path / "result.json"
    result = CliRunner().invoke(cli, ["run", *files, "--model", model, "--html", str(html), "--json", str(out),
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    return html, json.loads(out.read_text())


def test_report_holds_every_run_message_and_its_bytes(tmp_path: Path) -> None:
    html, result = _report(tmp_path, str(LIBRARY / "n870" / "roaming.yaml"),
                           str(LIBRARY / "all-models" / "loss-20-percent.yaml"))
    data = _data(html.read_text())
    assert [(r["file"], r["model"]) for r in data["runs"]] == [(r["file"], r["model"]) for r in result["runs"]]
    for page_run, run in zip(data["runs"], result["runs"], strict=True):
        assert [m["decoded"] for m in page_run["messages"]] == run["messages"]
        assert page_run["expectations"] == run["expectations"]
        for message in page_run["messages"]:
            raw = base64.b64decode(message["bytes"])
            if message["layer"] == "dect":
                assert raw.hex(" ").upper() == message["decoded"]["hex"]
            else:
                assert raw.split(b" ", 1)[0].decode() in (message["decoded"]["method"], "SIP/2.0")
    assert any(m["lost"] for m in data["runs"][1]["messages"])


def test_report_is_self_contained() -> None:
    run = RunResult(scenario="x", file="x.yaml", model="N870", seed=1, passed=True, sim_time=1.0, wall_time=0.1)
    text = render([run])
    assert "Content-Security-Policy" in text and "default-src 'none'" in text
    assert not re.search(r"<(link|img|iframe|object|embed)\b", text)
    assert not re.search(r"\b(src|href)\s*=", text)
    assert not re.search(r"url\((?!#)", text) and "@import" not in text


def test_message_text_cannot_end_the_data_element() -> None:
    hostile = "</script><script>alert(1)</script>"
    run = RunResult(scenario=hostile, file="x.yaml", model="N870", seed=1, passed=False, sim_time=1.0,
                    wall_time=0.1, expectations=(ExpectationResult(index=0, at=None, passed=False, message=hostile),),
                    messages=({"t": 0.0, "layer": "sip", "from": "base", "to": "server", "name": hostile},),
                    wire=(hostile.encode(),))
    text = render([run])
    assert text.count("</script>") == 2    # the data element's and the script's own
    assert _data(text)["runs"][0]["title"] == hostile


# ------------------------------------------------------------------------------ in a browser


def _sync_playwright():  # type: ignore[no-untyped-def]
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if in_ci():
            pytest.fail("playwright is not installed (pyproject's test extra has it)")
        pytest.skip("playwright is not installed")
    return sync_playwright


def _browse(html: Path, check) -> None:  # type: ignore[no-untyped-def]
    chromium = require_tool("chromium")
    sync_playwright = _sync_playwright()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS, headless=True, timeout=30_000)
        try:
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.set_default_timeout(15_000)
            requests: list[str] = []
            errors: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(html.as_uri())
            page.wait_for_selector("body[data-ready=true]")
            check(page)
            assert requests == [html.as_uri()], "the report loaded something besides itself"
            assert errors == []
        finally:
            browser.close()


def _open(page, index: int) -> None:  # type: ignore[no-untyped-def]
    page.eval_on_selector(f"#run-{index}", "d => { d.open = true; }")
    page.wait_for_selector(f"#run-{index}[data-drawn=true] g.arrow")


@pytest.mark.slow
def test_ladder_click_shows_the_decoded_message_and_its_bytes(tmp_path: Path) -> None:
    html, result = _report(tmp_path, str(LIBRARY / "n870" / "roaming.yaml"),
                           str(LIBRARY / "all-models" / "dnd-menu.yaml"))
    messages = result["runs"][1]["messages"]
    subscribe = next(i for i, m in enumerate(messages) if m["name"] == "SUBSCRIBE" and m.get("body"))
    request = next(i for i, m in enumerate(messages) if m["name"] == "CISS-REGISTER")

    def check(page) -> None:  # type: ignore[no-untyped-def]
        assert page.locator("details.run[open]").count() == 0   # every run passed: all closed, none drawn
        _open(page, 0)
        lanes = page.locator("#run-0 .lanes span").all_inner_texts()
        assert lanes == ["handset:029e74a599", "handset:029e74a5a0", "dm1", "dm2", "server"]
        _open(page, 1)
        assert page.locator("#run-1 g.arrow").count() == len(messages)
        assert page.locator("#run-1 g.expect.pass").count() == len(result["runs"][1]["expectations"])
        page.click(f"#run-1 g.arrow[data-index='{subscribe}']")
        panel = page.locator("#details")
        assert panel.locator("h2").inner_text() == "SUBSCRIBE"
        assert "base → server" in panel.inner_text()
        assert panel.locator("pre.sip-text").inner_text().startswith("SUBSCRIBE sip:198.51.100.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP ")
        assert "SetDoNotDisturb" in panel.locator("pre.sip-text").inner_text()
        assert panel.locator("pre.hexdump").inner_text().startswith("0000  53 55 42 53 43 52 49 42 45 20")
        page.click(f"#run-1 g.arrow[data-index='{request}']")
        assert panel.locator("h2").inner_text() == "CISS-REGISTER"
        assert "handset:029e74a599 → base" in panel.inner_text()
        assert "7B ESCAPE-TO-PROPRIETARY" in panel.inner_text()
        assert '"pie":"feature-request","feature":"dnd","active":true' in panel.inner_text()
        assert panel.locator("pre.hexdump").inner_text().startswith("0000  04 64 05 07 80 a8 02 9e 74 a5 99")
        assert page.locator("#run-1 g.arrow.selected").count() == 1
        page.click("#run-1 g.expect >> nth=1")
        assert panel.locator("h2").inner_text() == "PASS expectation [1]"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "html-report-ladder.png"))

    _browse(html, check)


def _big_scenario(path: Path, handsets: int = 5, toggles: int = 32) -> Path:
    lines = ["scenario: Five handsets switch DND on and off, more than a thousand messages", "models: [N870]",
             "seed: 5", f"duration: {toggles * 4 + 10}s", "handsets:"]
    lines += [f'  - {{ipui: "029e74a5{i:02x}", user: "{2010 + i}", feature_key_sync: true}}' for i in range(handsets)]
    lines.append("steps:")
    for k in range(toggles):
        value = '"On"' if k % 2 == 0 else '"Off"'
        lines += [f'  - {{at: {4 + k * 4 + i * 0.5}s, handset: "029e74a5{i:02x}", '
                  f"menu: [Menu, Select services, Do not disturb, {value}]}}" for i in range(handsets)]
    lines += ["expect:", "  - at: end", '    server: {user: "2010", state: {dnd: false}}']
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.slow
def test_a_run_of_more_than_1000_messages_stays_usable(tmp_path: Path) -> None:
    html, result = _report(tmp_path, str(_big_scenario(tmp_path / "big.yaml")))
    count = len(result["runs"][0]["messages"])
    assert count > 1000

    def check(page) -> None:  # type: ignore[no-untyped-def]
        started = time.monotonic()
        page.wait_for_selector("#run-0[data-drawn=true] g.arrow")   # a single run opens by itself
        drawn = time.monotonic() - started
        assert page.locator("#run-0 g.arrow").count() == count
        started = time.monotonic()
        page.click(f"#run-0 g.arrow[data-index='{count - 1}']")
        page.wait_for_selector(f"#details[data-index='{count - 1}']")
        clicked = time.monotonic() - started
        assert drawn < 10 and clicked < 5, (drawn, clicked)
        assert page.evaluate("() => new Promise(r => requestAnimationFrame(() => r(true)))")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "html-report-1000-messages.png"))

    _browse(html, check)
