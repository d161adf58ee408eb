"""Issue 17: no import circles, and imports point down only (scenarios -> firmware -> sip, dect ->
models), checked on the real import graph with grimp (the engine of import-linter)."""

from __future__ import annotations

import grimp

PACKAGES = ("models", "dect", "sip", "firmware", "scenarios")
#: what each package may import of the others
ALLOWED = {
    "models": set(),
    "dect": {"models"},
    "sip": {"models"},
    "firmware": {"models", "dect", "sip"},
    "scenarios": {"models", "dect", "sip", "firmware"},
}


def _graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES)


def test_imports_point_down_only() -> None:
    graph = _graph()
    wrong = []
    for importer in PACKAGES:
        for imported in PACKAGES:
            if imported == importer or imported in ALLOWED[importer]:
                continue
            if graph.chain_exists(importer=importer, imported=imported, as_packages=True):
                wrong.append(f"{importer} -> {imported}: {graph.find_shortest_chain(importer, imported)}")
    assert wrong == []


def test_no_module_imports_itself_through_others() -> None:
    graph = _graph()
    circles = []
    for module in sorted(graph.modules):
        for imported in graph.find_modules_directly_imported_by(module):
            if graph.chain_exists(importer=imported, imported=module):
                circles.append(f"{module} <-> {imported}")
    assert circles == []


def test_no_module_runs_past_600_lines() -> None:
    """The house rule (conventions): a module that grows past 600 lines is split along its seams."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    long = {str(p.relative_to(root)): n for package in PACKAGES for p in sorted((root / package).rglob("*.py"))
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert long == {}
