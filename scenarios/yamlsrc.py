"""Reading YAML with the file and line of every node, and the small value grammars of scenario files.

Scenario errors must name `file:line: field` (spec/scenarios-and-cli.md §1); ruamel.yaml's round-trip
loader keeps the position of every mapping key and sequence item, which `Node` carries along while a
validator walks the document. Times (`250ms`, `5s`, `2m`, `1h`, a number of seconds) and counts
(`3`, `">=1"`, `"<=2"`) are parsed here too.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from models.errors import ConfigError


class ScenarioError(ConfigError):
    """One or more problems in a scenario file; the message has one `file:line: field: problem` per line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True, slots=True)
class Node:
    """A YAML value with where it stands: the file, its 1-based line and its path in the document."""

    value: Any
    file: str
    line: int
    path: str

    def where(self) -> str:
        return f"{self.file}:{self.line}: {self.path}" if self.path else f"{self.file}:{self.line}"

    def error(self, message: str) -> str:
        return f"{self.where()}: {message}"

    def is_map(self) -> bool:
        return isinstance(self.value, dict)

    def is_seq(self) -> bool:
        return isinstance(self.value, list)

    def items(self) -> Iterator[tuple[str, Node]]:
        """(key, child) pairs of a mapping, each child with the line of its key."""
        mapping = self.value
        for key in mapping:
            line = self.line
            if isinstance(mapping, CommentedMap):
                position = mapping.lc.key(key)
                if position is not None:
                    line = position[0] + 1
            child_path = f"{self.path}.{key}" if self.path else str(key)
            yield str(key), Node(mapping[key], self.file, line, child_path)

    def elements(self) -> Iterator[Node]:
        seq = self.value
        for index, item in enumerate(seq):
            line = self.line
            if isinstance(seq, CommentedSeq):
                position = seq.lc.item(index)
                if position is not None:
                    line = position[0] + 1
            yield Node(item, self.file, line, f"{self.path}[{index}]")


def load_yaml(path: Path, text: str | None = None) -> Node:
    """Parse a YAML file into a `Node`; syntax errors become a ScenarioError with the line."""
    name = str(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise ScenarioError([f"{name}: cannot read: {err}"]) from None
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        document = yaml.load(text)
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = err.problem or err.context or "YAML syntax error"
        raise ScenarioError([f"{name}:{line}: YAML syntax error: {problem}"]) from None
    except YAMLError as err:
        raise ScenarioError([f"{name}: YAML error: {err}"]) from None
    return Node(document, name, 1, "")


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """' (did you mean "x"?)' for the closest choice, or a list of the valid ones."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if close:
        return f' (did you mean "{close[0]}"?)'
    return f" (valid: {', '.join(choices)})" if len(choices) <= 12 else ""


_TIME = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*")
_UNITS = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_time(value: Any) -> float:
    """Seconds from `250ms`, `5s`, `2m`, `1h` or a plain number; ValueError on anything else."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a time")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError(f"time {value} is negative")
        return float(value)
    if isinstance(value, str):
        match = _TIME.fullmatch(value)
        if match:
            return float(match[1]) * _UNITS[match[2]]
    raise ValueError(f"{value!r} is not a time (use 250ms, 5s, 2m, 1h or a number of seconds)")


@dataclass(frozen=True, slots=True)
class Count:
    """An expected count: exactly `n`, at least (`>=`) or at most (`<=`)."""

    op: str
    n: int

    def holds(self, actual: int) -> bool:
        if self.op == ">=":
            return actual >= self.n
        if self.op == "<=":
            return actual <= self.n
        return actual == self.n

    def __str__(self) -> str:
        return f"{self.op}{self.n}" if self.op != "==" else str(self.n)


_COUNT = re.compile(r"\s*(>=|<=)?\s*(\d+)\s*")


def parse_count(value: Any) -> Count:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return Count("==", value)
    if isinstance(value, str):
        match = _COUNT.fullmatch(value)
        if match:
            return Count(match[1] or "==", int(match[2]))
    raise ValueError(f'{value!r} is not a count (use 3, ">=1" or "<=2")')
