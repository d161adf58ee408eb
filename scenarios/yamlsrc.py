"""Reading YAML with the file and line of every node, and the small value grammars of scenario files.

Scenario errors must name `file:line: field` (spec/scenarios-and-cli.md §1); ruamel.yaml's round-trip
loader keeps the position of every mapping key and sequence item, which `Node` carries along while a
validator walks the document. Times (`250ms`, `5s`, `2m`, `1h`, a number of seconds) and counts
(`3`, `">=1"`, `"<=2"`) are parsed here too.

A scenario file is input from anyone, so reading it has limits (docs/scenarios.md, "Limits"; each
number a **choice**): the file is a regular file of at most `MAX_FILE_BYTES`; the document nests at
most `MAX_DEPTH` levels; aliases add at most `MAX_ALIAS_NODES` nodes (a "billion laughs" file is
refused at the alias that crosses the budget, before anything walks the expanded structure); merge
keys (`<<`), tags (`!!int`, `!!python/...`, `!local`) and lists or mappings as keys are refused; a
number is at most `MAX_NUMBER_CHARS` characters before it is converted; a time is finite, not
negative and at most `MAX_TIME`; a count at most `MAX_COUNT`. Every refusal names file and line, and
what an error message shows of a value is cut to `SHOW_CHARS` characters (`show`).
"""

from __future__ import annotations

import difflib
import math
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.composer import Composer
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.events import AliasEvent, MappingStartEvent, SequenceStartEvent
from ruamel.yaml.nodes import MappingNode, ScalarNode

from models.errors import ConfigError

#: The largest scenario file, and the largest file a scenario names (provisioning): 1 MiB.
MAX_FILE_BYTES = 1024 * 1024
#: How deep lists and mappings may nest, the document's own mapping the first level (a real
#: scenario file nests about 6).
MAX_DEPTH = 32
#: How many nodes aliases (`*name`) may add to the document in all, counting what they expand to.
MAX_ALIAS_NODES = 10_000
#: The longest number (in characters, as written) the reader converts.
MAX_NUMBER_CHARS = 32
#: The latest time and the longest duration a scenario may give: 30 days of simulated time.
MAX_TIME = 30 * 24 * 3600.0
#: The largest count an expectation may give.
MAX_COUNT = 1_000_000
#: At most this many problems are printed (then how many more there are).
MAX_PROBLEMS = 100
#: What an error message shows of a value, and the longest problem line printed.
SHOW_CHARS = 60
MAX_PROBLEM_CHARS = 400

_NUMBER_TAGS = frozenset({"tag:yaml.org,2002:int", "tag:yaml.org,2002:float"})
_MERGE_TAG = "tag:yaml.org,2002:merge"


def clip(text: str, limit: int = SHOW_CHARS) -> str:
    """`text`, cut to `limit` characters with what was left out said."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text)} characters)"


def show(value: Any) -> str:
    """A value as an error message shows it: its repr, cut to `SHOW_CHARS` characters."""
    if isinstance(value, list | dict):
        # Never repr a whole structure: it may be large, or (through aliases) share itself.
        return f"a {'list' if isinstance(value, list) else 'mapping'} of {len(value)} item(s)"
    return clip(repr(value))


def bounded_problems(problems: list[str], limit: int = MAX_PROBLEMS) -> list[str]:
    """Problem lines as printed: each cut to `MAX_PROBLEM_CHARS`, at most `limit` of them plus a count."""
    out = [clip(p, MAX_PROBLEM_CHARS) for p in problems[:limit]]
    if len(problems) > limit:
        out.append(f"... and {len(problems) - limit} more problem(s)")
    return out


class ScenarioError(ConfigError):
    """One or more problems in a scenario file; the message has one `file:line: field: problem` per line.

    `problems` lists them all; the message is bounded (`bounded_problems`) whatever the file holds."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(bounded_problems(problems)))


class Unreadable(Exception):
    """A file that cannot be read as bounded UTF-8 text; `line` is set when the problem has one."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


def read_text(path: Path, limit: int = MAX_FILE_BYTES) -> str:
    """The UTF-8 text of `path`, which must be a regular file of at most `limit` bytes.

    Opened without blocking and checked with fstat before reading, so a FIFO, a device that never
    ends (/dev/zero) or a folder is refused at once, and at most `limit` + 1 bytes are ever read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as err:
        raise Unreadable(f"cannot read: {err.strerror or err}") from None
    try:
        mode = os.fstat(fd)
        if stat.S_ISDIR(mode.st_mode):
            raise Unreadable("is a folder, not a file")
        if not stat.S_ISREG(mode.st_mode):
            raise Unreadable("is not a regular file (a device, a pipe or a socket)")
        if mode.st_size > limit:
            raise Unreadable(f"is {mode.st_size} bytes, more than the limit of {limit} bytes")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:   # a file that grows while read is cut at limit + 1 bytes
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as err:
        raise Unreadable(f"cannot read: {err.strerror or err}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > limit:
        raise Unreadable(f"is more than the limit of {limit} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        raise Unreadable(f"is not UTF-8 text (byte {data[err.start]:#04x})", line) from None


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
            shown = clip(str(key))   # the path is printed; the key itself stays whole for the validator
            child_path = f"{self.path}.{shown}" if self.path else shown
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


class _Refused(Exception):
    """A limit the document broke, at a 1-based line."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line = line
        self.problem = problem


class _BoundedComposer(Composer):
    """ruamel.yaml's composer with the limits of a scenario file, checked while the nodes are built.

    The stock composer recurses once per nesting level (10,000 levels end in RecursionError), shares
    one node for every use of an alias (harmless to it, exponential to anything that walks the result),
    and hands merge keys to a constructor that crashes on some of them (KeyError, AttributeError in
    ruamel.yaml 0.19). So: depth is counted before descending; every alias adds the size of what it
    stands for, with the aliases inside that counted too, to one budget; an alias used inside its own
    anchor is refused; keys must be scalars and not `<<`; numbers are measured before conversion; explicit
    tags are refused (the round-trip loader turns even `!!str 5` into a TaggedScalar, not text)."""

    def __init__(self, loader: Any = None) -> None:
        super().__init__(loader)
        self.warn_double_anchors = False   # a redefined anchor is valid YAML; the later one counts
        self._nodes = 0                   # nodes so far, each alias counted as what it expands to
        self._from_aliases = 0            # of those, the nodes aliases added
        self._sizes: dict[str, int] = {}  # anchor -> expanded size of its node, once the node is complete

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.parser.peek_event()
        line = event.start_mark.line + 1
        is_key = isinstance(parent, MappingNode) and index is None
        if isinstance(event, AliasEvent):
            self._count_alias(event.anchor, line)
            node = super().compose_node(parent, index)
        else:
            if self.depth >= MAX_DEPTH and isinstance(event, MappingStartEvent | SequenceStartEvent):
                raise _Refused(line, f"lists and mappings nested more than {MAX_DEPTH} levels deep")
            tag = event.tag
            if tag is not None:
                shown = tag.replace("tag:yaml.org,2002:", "!!")
                raise _Refused(line, f"the tag {clip(shown)} is not supported in scenario files "
                                     "(quote the value to make it text)")
            if is_key and isinstance(event, MappingStartEvent | SequenceStartEvent):
                raise _Refused(line, "a mapping key must be a plain value, not a list or a mapping")
            start = self._nodes
            node = super().compose_node(parent, index)
            self._nodes += 1
            if event.anchor is not None:
                self._sizes[event.anchor] = self._nodes - start
        if isinstance(node, ScalarNode):
            self._check_scalar(node, line, is_key)
        elif is_key:
            raise _Refused(line, "a mapping key must be a plain value, not a list or a mapping")
        return node

    def _count_alias(self, anchor: str, line: int) -> None:
        size = self._sizes.get(anchor)
        if size is None:
            if anchor in self.anchors:
                raise _Refused(line, f"the alias *{clip(anchor)} is used inside its own anchor "
                                     "(a structure that contains itself)")
            return   # an undefined alias: the stock composer reports it with its line
        self._nodes += size
        self._from_aliases += size
        if self._from_aliases > MAX_ALIAS_NODES:
            raise _Refused(line, f"aliases expand to more than {MAX_ALIAS_NODES} nodes in all "
                                 f"(*{clip(anchor)} alone stands for {size}); write the values out")

    @staticmethod
    def _check_scalar(node: ScalarNode, line: int, is_key: bool) -> None:
        tag = str(node.tag)
        if is_key and tag == _MERGE_TAG:
            raise _Refused(line, "merge keys (<<) are not supported in scenario files; write the keys out")
        if tag in _NUMBER_TAGS and len(node.value) > MAX_NUMBER_CHARS:
            raise _Refused(line, f"a number of {len(node.value)} characters is longer than the limit "
                                 f"of {MAX_NUMBER_CHARS}")


def load_yaml(path: Path, text: str | None = None) -> Node:
    """Parse a YAML file into a `Node` within the limits above; every problem is a ScenarioError with
    the file and, where there is one, the line."""
    name = str(path)
    if text is None:
        try:
            text = read_text(path)
        except Unreadable as err:
            where = f"{name}:{err.line}" if err.line is not None else name
            raise ScenarioError([f"{where}: {err.problem}"]) from None
    elif len(text) > MAX_FILE_BYTES or len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise ScenarioError([f"{name}: is more than the limit of {MAX_FILE_BYTES} bytes"])
    yaml = YAML(typ="rt", pure=True)
    yaml.Composer = _BoundedComposer
    yaml.allow_duplicate_keys = False
    try:
        document = yaml.load(text)
    except _Refused as err:
        raise ScenarioError([f"{name}:{err.line}: {err.problem}"]) from None
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = err.problem or err.context or "YAML syntax error"
        raise ScenarioError([f"{name}:{line}: YAML syntax error: {clip(problem, 200)}"]) from None
    except YAMLError as err:
        raise ScenarioError([f"{name}: YAML error: {clip(str(err), 200)}"]) from None
    except Exception as err:  # what the limits above did not foresee is still bad input, never a traceback
        raise ScenarioError([f"{name}: YAML the reader cannot take: {type(err).__name__}: "
                             f"{clip(str(err), 200)}"]) from None
    return Node(document, name, 1, "")


def suggest(word: str, choices: list[str] | tuple[str, ...]) -> str:
    """' (did you mean "x"?)' for the closest choice, or a list of the valid ones."""
    if len(word) > SHOW_CHARS:   # nothing valid is that long; and difflib's time grows with the length
        return f" (valid: {', '.join(choices)})" if len(choices) <= 12 else ""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    if close:
        return f' (did you mean "{close[0]}"?)'
    return f" (valid: {', '.join(choices)})" if len(choices) <= 12 else ""


# At most 12 digits either side of the point: more is beyond MAX_TIME or below a nanosecond anyway.
_TIME = re.compile(r"\s*(\d{1,12}(?:\.\d{1,12})?)\s*(ms|s|m|h)?\s*")
_UNITS = {None: 1.0, "ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_time(value: Any) -> float:
    """Seconds from `250ms`, `5s`, `2m`, `1h` or a plain number; ValueError on anything else, and on a
    time that is not finite (`.nan`, `.inf`), negative or more than `MAX_TIME`."""
    seconds: float | None = None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            seconds = float(value)
        except OverflowError:   # an int too large for a float
            seconds = math.inf
    elif isinstance(value, str):
        match = _TIME.fullmatch(value)
        if match:
            seconds = float(match[1]) * _UNITS[match[2]]
    if seconds is None:
        raise ValueError(f"{show(value)} is not a time (use 250ms, 5s, 2m, 1h or a number of seconds)")
    if not math.isfinite(seconds):
        raise ValueError(f"time {show(value)} is not a finite number of seconds")
    if seconds < 0:
        raise ValueError(f"time {show(value)} is negative")
    if seconds > MAX_TIME:
        raise ValueError(f"time {show(value)} is more than the limit of 30 days ({MAX_TIME:.0f}s)")
    return seconds


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


_COUNT = re.compile(r"\s*(>=|<=)?\s*(\d{1,12})\s*")


def parse_count(value: Any) -> Count:
    """An expected count; ValueError on anything else, and on a count above `MAX_COUNT`."""
    count: Count | None = None
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        count = Count("==", value)
    elif isinstance(value, str):
        match = _COUNT.fullmatch(value)
        if match:
            count = Count(match[1] or "==", int(match[2]))
    if count is None:
        raise ValueError(f'{show(value)} is not a count (use 3, ">=1" or "<=2")')
    if count.n > MAX_COUNT:
        raise ValueError(f"count {show(value)} is more than the limit of {MAX_COUNT}")
    return count
