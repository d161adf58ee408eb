"""Scenario files written to hang or crash the tools (issue 11, finding 6), through the installed command.

Each hostile file must be refused by both `fksim check` and `fksim run` with exit status 2, `file:line`
on stderr, a message saying what is wrong, no traceback, nothing run, a bounded stderr, and quickly:
every process runs under a timeout, so a hang fails the test instead of stalling the suite.
"""

from __future__ import annotations

import dataclasses
import math
import os
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from models.profiles import load_profiles
from scenarios.cli import run_cmd
from scenarios.cli.run_cmd import BadInput, make_plan
from scenarios.preflight import check as preflight
from scenarios.validate import load_scenario
from scenarios.yamlsrc import MAX_FILE_BYTES, MAX_PROBLEM_CHARS, MAX_PROBLEMS

ROOT = Path(__file__).resolve().parents[2]
FKSIM = ROOT / ".venv" / "bin" / "fksim"
#: Seconds a refusal may take, start-up included; the machine running the suite may be busy.
QUICK = 30.0

HEAD = 'scenario: hostile\nmodels: [N870]\nhandsets: [{ipui: "029e74a599", user: "2001"}]\n'  # 3 lines


def _text(body: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_text(body, encoding="utf-8")
    return write


def _billion_laughs() -> str:
    lines = ['a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]")
    # The root is a mapping with the bomb inside `server` so it stays a scenario file in shape.
    return "scenario: hostile\nmodels: [N870]\nserver:\n  users:\n" + "".join(f"    {x}\n" for x in lines)


def _deep_block_mapping(levels: int) -> str:
    return HEAD + "steps:\n" + "".join(" " * (i + 1) + "a:\n" for i in range(levels))


def _sparse(size: int, head: str = HEAD) -> Callable[[Path], None]:
    """A file of `size` bytes that takes no disk space: the head, then a hole of zero bytes."""
    def write(path: Path) -> None:
        path.write_text(head, encoding="utf-8")
        os.truncate(path, size)
    return write


def _provisioning(target: Callable[[Path], str], *, in_step: bool = False) -> Callable[[Path], None]:
    """A scenario naming `target(folder)` as its provisioning file, at the start (line 4) or in a step."""
    def write(path: Path) -> None:
        name = target(path.parent)
        if in_step:
            body = HEAD + f"steps:\n  - at: 1s\n    base: {{provisioning: {name}}}\n"
        else:
            body = HEAD + f"base: {{provisioning: {name}}}\n"
        path.write_text(body, encoding="utf-8")
    return write


def _fifo(folder: Path) -> str:
    os.mkfifo(folder / "p.fifo")
    return "p.fifo"


def _folder(folder: Path) -> str:
    (folder / "p.xml").mkdir()
    return "p.xml"


def _big_file(folder: Path) -> str:
    with open(folder / "big.xml", "wb") as handle:
        handle.write(b"<provisioning>")
        handle.truncate(50 * 1024 * 1024)
    return "big.xml"


HOSTILE: dict[str, tuple[Callable[[Path], None], int | None, str]] = {
    # name: (how to write the scenario file, the line named, what the message says)
    "billion laughs": (_text(_billion_laughs()), 9, "aliases expand to more than 10000 nodes"),
    "alias inside its own anchor": (_text(HEAD + "steps: &s [*s]\n"), 4, "used inside its own anchor"),
    "10000-deep flow nesting": (_text(HEAD + "steps: " + "[" * 10_000 + "]" * 10_000 + "\n"), 4,
                                "nested more than 32 levels deep"),
    "10000-deep block sequences": (_text(HEAD + "steps:\n" + "- " * 10_000 + "x\n"), 5,
                                   "nested more than 32 levels deep"),
    "1000-deep block mappings": (_text(_deep_block_mapping(1000)), 36, "nested more than 32 levels deep"),
    "merge key": (_text(HEAD + "server:\n  users:\n    \"2001\": &u {dnd: true}\n    \"2002\":\n"
                        "      <<: *u\n"), 8, "merge keys (<<) are not supported"),
    "python tag": (_text(HEAD + "seed: !!python/object/apply:os.system [echo]\n"), 4, "the tag !!python"),
    "list as a key": (_text(HEAD + "? [a, b]\n: 1\n"), 4, "a mapping key must be a plain value"),
    "5000-digit integer": (_text(HEAD + "seed: " + "9" * 5000 + "\n"), 4,
                           "a number of 5000 characters is longer than the limit"),
    "5000-digit quoted time": (_text(HEAD + 'duration: "' + "9" * 5000 + 's"\n'), 4, "is not a time"),
    "duration .inf": (_text(HEAD + "duration: .inf\n"), 4, "duration: time inf is not a finite number"),
    "duration .nan": (_text(HEAD + "duration: .nan\n"), 4, "duration: time nan is not a finite number"),
    "duration 1e12": (_text(HEAD + "duration: 1e12\n"), 4, "is more than the limit of 30 days"),
    "duration 10^12 s as an integer": (_text(HEAD + "duration: 1000000000000\n"), 4,
                                       "is more than the limit of 30 days"),
    "negative duration": (_text(HEAD + "duration: -5\n"), 4, "duration: time -5 is negative"),
    "at beyond the maximum": (_text(HEAD + "steps:\n  - at: 721h\n    server: restart\n"), 5,
                              "steps[0].at: time '721h' is more than the limit of 30 days"),
    "expectation at .inf": (_text(HEAD + "expect:\n  - at: .inf\n    server: {user: \"2001\", "
                                  "state: {dnd: true}}\n"), 5, "is not a finite number"),
    "latency .inf": (_text(HEAD + "network: {latency: .inf}\n"), 4, "network.latency: time inf"),
    "huge count": (_text(HEAD + 'expect:\n  - at: end\n    sip: {method: INVITE, count: ">=999999999999"}\n'),
                   6, "is more than the limit of 1000000"),
    "a month of 28 handsets": (lambda p: p.write_text(_handsets(28, "[N870]") + "duration: 720h\n"), 32,
                               "28 handsets for 720 h of simulated time are 20,160 handset-hours, more than"),
    "more handsets than the model holds": (lambda p: p.write_text(_handsets(300)), 254,
                                           "N670 holds at most 250 handsets"),
    "provisioning /dev/zero": (_provisioning(lambda _: "/dev/zero"), 4,
                               "base.provisioning: cannot read provisioning file /dev/zero: is not a"),
    "provisioning /dev/zero in a step": (_provisioning(lambda _: "/dev/zero", in_step=True), 6,
                                         "steps[0].base.provisioning: cannot read provisioning file"),
    "provisioning FIFO": (_provisioning(_fifo), 4, "is not a regular file"),
    "provisioning folder": (_provisioning(_folder), 4, "is a folder, not a file"),
    "provisioning 50 MB file": (_provisioning(_big_file), 4, "is 52428800 bytes, more than the limit"),
    "50 MB scenario file": (_sparse(50 * 1024 * 1024), None, "is 52428800 bytes, more than the limit"),
    "scenario file one byte over the limit": (_sparse(MAX_FILE_BYTES + 1), None, "more than the limit"),
    "not UTF-8": (lambda p: p.write_bytes(HEAD.encode() + b"seed: \xff\n"), 4, "is not UTF-8 text"),
    "a value of a million characters": (_text(HEAD + "seed: " + "x" * 1_000_000 + "\n"), 4,
                                        "must be a whole number from 0 to"),
}


#: Files refused per model (preflight) rather than while reading: `fksim run` stops at the first kind.
PER_MODEL = {"more handsets than the model holds"}


def _fksim(*args: str, timeout: float = QUICK) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(FKSIM), *args], capture_output=True, text=True, timeout=timeout)


def _refused(proc: subprocess.CompletedProcess[str], path: Path, name: str) -> None:
    _, line, expected = HOSTILE[name]
    assert proc.returncode == 2, proc.stdout + proc.stderr[:2000]
    where = f"{path}:{line}: " if line is not None else f"{path}: "
    problem = next((p for p in proc.stderr.splitlines() if p.startswith(where)), None)
    assert problem is not None and expected in problem, (name, proc.stderr[:3000])
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "nothing run" in proc.stderr


CASES = [(name, "check") for name in HOSTILE] + [(name, "run") for name in sorted(PER_MODEL)]


@pytest.mark.parametrize(("name", "command"), CASES)
def test_hostile_file_is_refused_with_file_and_line_quickly(tmp_path, name, command):
    write, _, _ = HOSTILE[name]
    path = tmp_path / "s.yaml"
    write(path)
    args = [command, str(path)] + (["--json", str(tmp_path / "r.json")] if command == "run" else [])
    started = time.monotonic()
    proc = _fksim(*args)
    assert time.monotonic() - started < QUICK
    _refused(proc, path, name)
    assert not (tmp_path / "r.json").exists()
    # Bounded output: never the expanded structure or the whole value.
    assert len(proc.stderr) < (MAX_PROBLEMS + 2) * (MAX_PROBLEM_CHARS + 1)


def test_run_refuses_every_hostile_file_listing_each(tmp_path):
    """`fksim run` reads files exactly as `fksim check` does; one run over all of them (each in its own
    folder) lists every file's refusal, runs nothing and writes nothing."""
    paths: dict[str, Path] = {}
    for index, name in enumerate(n for n in HOSTILE if n not in PER_MODEL):
        folder = tmp_path / f"f{index:02d}"
        folder.mkdir()
        paths[name] = folder / "s.yaml"
        HOSTILE[name][0](paths[name])
    started = time.monotonic()
    proc = _fksim("run", *map(str, paths.values()), "--json", str(tmp_path / "r.json"), timeout=4 * QUICK)
    assert time.monotonic() - started < 4 * QUICK
    for name, path in paths.items():
        _refused(proc, path, name)
    assert f"fksim: {len(paths)} problem(s); nothing run" in proc.stderr
    assert not (tmp_path / "r.json").exists()


def test_many_problems_are_listed_up_to_a_bound_with_the_count(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(HEAD + "steps:\n" + "".join(f"  - at: {i}s\n    server: restartt\n" for i in range(500)))
    proc = _fksim("check", str(path))
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert len(lines) == MAX_PROBLEMS + 2
    assert lines[-2] == "... and 400 more problem(s)"
    assert f"{path}:6: steps[0].server: unknown server event" in lines[0]


def test_device_fifo_and_folder_as_the_scenario_path(tmp_path):
    os.mkfifo(tmp_path / "f.yaml")
    for target, expected in (("/dev/zero", "is not a regular file"), (str(tmp_path / "f.yaml"),
                                                                      "is not a regular file")):
        proc = _fksim("check", target)
        assert proc.returncode == 2 and f"{target}: {expected}" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr
    # A folder whose only *.yaml is a FIFO has no scenario files (the FIFO is never opened).
    proc = _fksim("run", str(tmp_path))
    assert proc.returncode == 2 and "no scenario files" in proc.stderr, proc.stderr


def _handsets(count: int, models: str = "[N670]") -> str:
    return f"scenario: many\nmodels: {models}\nhandsets:\n" + "".join(
        f'  - {{ipui: "{0x029E740000 + i:010x}", user: "{i}"}}\n' for i in range(count))


def test_too_many_handsets_for_a_model_asked_for_by_model_option_is_skipped(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(_handsets(30))   # the N670 holds 250 handsets, the N610 20
    ids = load_profiles().ids
    plan = make_plan([load_scenario(path, ids)], ids, None, None)
    assert [(model, why) for _, model, why in plan.skipped] == [("N610", "fewer than 30 handsets")]
    assert "N670" in [job.model for job in plan.jobs]
    # Named by the file itself, the same model is bad input, named at the first handset with no room.
    path.write_text(_handsets(30, "[N610]"))
    with pytest.raises(BadInput) as info:
        make_plan([load_scenario(path, ids)], None, None, None)
    assert info.value.problems == [f"{path}:24: handsets[20]: N610 holds at most 20 handsets, and this file "
                                   "registers 30"]


def test_handsets_that_register_by_pin_later_do_not_count_at_the_start(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text(_handsets(30, "[N610]").replace('"}\n', '", registered: false}\n', 25))
    ids = load_profiles().ids
    assert preflight(load_scenario(path, ids), "N610").problems == []


@pytest.mark.parametrize("duration", [math.inf, math.nan, -1.0, 1e12])
def test_preflight_refuses_a_duration_the_validator_would_have(tmp_path, duration):
    """A Scenario built in Python, not read from a file, still never runs forever."""
    path = tmp_path / "s.yaml"
    path.write_text(HEAD)
    scenario = dataclasses.replace(load_scenario(path, load_profiles().ids), duration=duration)
    (problem,) = preflight(scenario, "N870").problems
    assert problem.startswith(f"{path}: duration ") and "the limit of 2592000s (30 days)" in problem


def test_command_line_numbers_are_bounded(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("scenario: t\nmodels: [N670, N870]\nduration: 5s\n")
    for option, value in (("--seed", str(2**63)), ("--seed", "9" * 5000), ("--jobs", "257")):
        proc = _fksim("run", str(path), option, value)
        assert proc.returncode == 2 and f"Invalid value for '{option}'" in proc.stderr, proc.stderr[:500]
        assert "Traceback" not in proc.stderr


def test_the_pool_never_outnumbers_the_runs(tmp_path, monkeypatch):
    """On Linux a process pool forks all its workers at the start: --jobs 256 for two runs forks two."""
    sizes: list[int | None] = []

    class Pool(ProcessPoolExecutor):
        def __init__(self, max_workers: int | None = None) -> None:
            sizes.append(max_workers)
            super().__init__(max_workers=max_workers)

    monkeypatch.setattr(run_cmd, "ProcessPoolExecutor", Pool)
    path = tmp_path / "s.yaml"
    path.write_text("scenario: t\nmodels: [N670, N870]\nduration: 5s\n")
    plan = make_plan([load_scenario(path, load_profiles().ids)], None, 2**63 - 1, None)
    results = run_cmd.execute(plan.jobs, 256)
    assert sizes == [2] and [r.passed for r in results] == [True, True]
