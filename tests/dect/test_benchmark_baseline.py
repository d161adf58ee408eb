"""The benchmark's hand-written struct codec handles the same bytes as dect.codec (no timing here)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from dect.codec import decode, encode

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "dect_codec.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dect_codec_benchmark", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_struct_baseline_matches_the_construct_codec() -> None:
    bench = load()
    mix = bench.realistic_mix(handsets=5)
    assert len({m.message_type for m in mix}) == 13  # location, authentication, paging, CISS, FAC call messages
    for msg in mix:
        wire = encode(msg)
        assert bench.struct_encode(msg) == wire
        assert bench.struct_decode(wire) == decode(wire) == msg
