"""Fuzz targets over every parser that reads untrusted input (issue 11), shared by the short run in
the test suite (tests/fuzz/test_fuzz.py: few examples, derandomized) and the long run on demand
(`make fuzz`, tests/fuzz/run.py: minutes, random seeds).

The property of every target: any input either is accepted or raises the project's own error
(`FksimError` and its subclasses: `RemoteProtocolError` of sip and dect, `ConfigError`,
`ScenarioError`...), never another exception, and never hangs (a watchdog turns a call that does
not return in `HANG_SECONDS` into a failure). The SIP core targets also check that every datagram
a core sends in answer is itself a well-formed SIP message.

Inputs are seeds from `corpus` (real traffic, golden vectors, library files, hostile documents)
put through a few mutations: a value slot replaced by a hostile fragment, bytes inserted, deleted,
repeated or flipped.
"""

from __future__ import annotations

import contextlib
import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from fuzz import corpus, world_air, world_calls
from fuzz.guard import Hang, finishes_within
from models.errors import FksimError

#: A call that has not returned after this long is a hang (the work takes milliseconds).
HANG_SECONDS = 10.0


@dataclass(frozen=True)
class Seed:
    """One seed; `short=False` marks a known failure in code another part of the project owns
    (reported): out of the short run and of the long run's "known excluded" batches, in the rest
    of the long run."""

    value: Any
    short: bool = True


@dataclass(frozen=True)
class Target:
    name: str
    #: short -> the strategy of inputs (short=True leaves out the known failures: seeds marked
    #: short=False and the fragments that reproduce them)
    inputs: Callable[[bool], st.SearchStrategy[Any]]
    #: runs one input; raises only on a broken property
    check: Callable[[Any], None]
    #: short -> the seeds themselves as inputs, each run once unchanged by the short run
    examples: Callable[[bool], list[Any]]
    #: examples in the short run (the whole short run stays under about 30 s)
    short_examples: int
    #: True when the target has known failures (then `inputs(True)` differs from `inputs(False)`)
    has_known_failures: bool = False


def run_guarded(target: Target, value: Any) -> None:
    """One input through the target, under the watchdog; FksimError is an accepted outcome."""
    try:
        with finishes_within(HANG_SECONDS, f"{target.name} target"):
            target.check(value)
    except FksimError:
        pass
    except Hang as hang:
        raise AssertionError(str(hang)) from None


# --- mutations -------------------------------------------------------------------------------------

_WORD = re.compile(rb"[^\s:;,<>=\"/@]+")
_HEADER_VALUE = re.compile(rb"(?<=:)[^\r\n]*")
_XML_SLOTS = (re.compile(rb'"[^"<>]*"'), re.compile(rb">[^<]*<"))
_YAML_VALUE = re.compile(rb"(?<=: )[^\n]*")
_DIGITS = re.compile(rb"[0-9]+")  # numbers inside words too: "SipProvider.1.Name", "tag=1"
SIP_SLOTS = (_WORD, _HEADER_VALUE, _DIGITS)
XML_SLOTS = (_WORD, *_XML_SLOTS, _DIGITS)
YAML_SLOTS = (_WORD, _YAML_VALUE, _DIGITS)


def fragments(exclude: frozenset[str] = frozenset()) -> st.SearchStrategy[bytes]:
    """A hostile fragment, a few random octets or a little random text."""
    return st.one_of(
        st.sampled_from([f.encode("utf-8") for f in corpus.HOSTILE_FRAGMENTS if f not in exclude]),
        st.binary(max_size=16),
        st.text(max_size=16).map(lambda t: t.encode("utf-8", "surrogatepass")),
    )


_ALL_FRAGMENTS = fragments()


@st.composite
def _mutate(
    draw: st.DrawFn, data: bytes, slots: Sequence[re.Pattern[bytes]], pieces: st.SearchStrategy[bytes]
) -> bytes:
    op = draw(st.sampled_from(("slot", "slot", "insert", "delete", "repeat", "flip", "truncate")))
    if op == "slot" and slots:
        spans = [m.span() for m in draw(st.sampled_from(slots)).finditer(data)]
        if spans:
            start, end = draw(st.sampled_from(spans))
            return data[:start] + draw(pieces) + data[end:]
    size = len(data)
    at = draw(st.integers(0, size))
    if op == "insert" or size == 0:
        return data[:at] + draw(pieces) + data[at:]
    end = draw(st.integers(at, min(size, at + 64)))
    if op == "delete":
        return data[:at] + data[end:]
    if op == "repeat":
        return data[:at] + data[at:end] * draw(st.integers(2, 200)) + data[end:]
    if op == "flip" and at < size:
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    return data[:at]


@st.composite
def mutated(
    draw: st.DrawFn, seed: bytes, slots: Sequence[re.Pattern[bytes]], max_ops: int = 3,
    pieces: st.SearchStrategy[bytes] = _ALL_FRAGMENTS,
) -> bytes:  # fmt: skip
    data = seed
    for _ in range(draw(st.integers(0, max_ops))):
        data = draw(_mutate(data, slots, pieces))
    return data


def _seeds(seeds: Sequence[Seed], short: bool) -> st.SearchStrategy[Any]:
    return st.sampled_from([s.value for s in seeds if s.short or not short])


# --- (a) the SIP parser ------------------------------------------------------------------------------


def _sip_parse_inputs(short: bool) -> st.SearchStrategy[bytes]:
    seeds = [Seed(m) for m in corpus.sip_messages()]
    return st.one_of(
        _seeds(seeds, short).flatmap(lambda s: mutated(s, SIP_SLOTS)),
        st.binary(max_size=512),
    )


def check_sip_parse(data: bytes) -> None:
    from sip.message import parse_message
    from sip.readback import understood_headers

    message = parse_message(data)
    understood_headers(message)  # what `fksim sip parse` prints
    again = parse_message(message.to_bytes())  # what we would forward parses again
    assert type(again) is type(message)


# --- (a) Core.receive: the embedded server and the base-side cores ----------------------------------


def _steps_to(addresses: Sequence[tuple[str, int]]) -> list[tuple[float, tuple[str, int], tuple[str, int], bytes]]:
    wanted = set(addresses)
    return [
        (when, source, destination, data)
        for when, source, destination, data in corpus.recorded_log()
        if destination in wanted
    ]


@st.composite
def _exchange(draw: st.DrawFn, addresses: tuple[tuple[str, int], ...]) -> list[Any]:
    """A prefix of the recorded traffic into `addresses`, some datagrams mutated, sometimes one of
    the other seeds (torture messages, hostile messages) put in."""
    steps = _steps_to(addresses)
    count = draw(st.integers(1, len(steps)))
    out: list[Any] = []
    for when, source, destination, data in steps[:count]:
        if draw(st.integers(0, 3)) == 0:
            data = draw(mutated(data, SIP_SLOTS))
        out.append((when, source, destination, data))
        if draw(st.integers(0, 7)) == 0:
            other = draw(st.sampled_from(corpus.sip_messages()))
            out.append((when, source, destination, draw(mutated(other, SIP_SLOTS, max_ops=1))))
    return out


def _check_outputs(outputs: Sequence[object]) -> list[bytes]:
    """The datagrams among a core's outputs, each checked to be a well-formed SIP message."""
    from sip.errors import RemoteProtocolError
    from sip.events import SendDatagram
    from sip.message import parse_message

    sent: list[bytes] = []
    for item in outputs:
        if isinstance(item, SendDatagram):
            try:
                parse_message(item.data)
            except RemoteProtocolError as err:
                raise AssertionError(f"a core sent a malformed message ({err}): {item.data!r}") from None
            sent.append(item.data)
    return sent


def check_server(steps: list[Any]) -> None:
    server = corpus.recorded_server()
    for when, source, _, data in steps:
        _check_outputs(server.receive(when, data, source))
    deadline = server.next_deadline()
    if deadline is not None:
        _check_outputs(server.handle_timer(deadline))


def check_clients(steps: list[Any]) -> None:
    sub, reg, caller = corpus.recorded_cores()
    cores = {corpus.SUBSCRIBER: sub, corpus.REGISTRAR_CLIENT: reg, corpus.CALLER: caller}
    sub.start(0.0)
    reg.start(0.0)
    dialled = False
    for when, source, destination, data in steps:
        if destination == corpus.CALLER and not dialled:
            caller.dial(when, "*723001")
            dialled = True
        _check_outputs(cores[destination].receive(when, data, source))
    for core in cores.values():
        deadline = core.next_deadline()
        if deadline is not None:
            _check_outputs(core.handle_timer(deadline))


# --- (a') calls: the base's call core and the server's call legs -----------------------------------


@st.composite
def _call_exchange(draw: st.DrawFn, destination: tuple[str, int]) -> list[Any]:
    """A prefix of the recorded call exchange: its actions and the datagrams into `destination`, some
    mutated, sometimes another seed put in (an INVITE from the torture set, a hostile message)."""
    steps = [s for s in corpus.recorded_call_log() if isinstance(s, corpus.CallAction) or s[2] == destination]
    count = draw(st.integers(1, len(steps)))
    out: list[Any] = []
    for step in steps[:count]:
        if isinstance(step, corpus.CallAction):
            out.append(step)
            continue
        when, source, _, data = step
        if draw(st.integers(0, 3)) == 0:
            data = draw(mutated(data, SIP_SLOTS))
        out.append((when, source, destination, data))
        if draw(st.integers(0, 7)) == 0:
            other = draw(st.sampled_from(corpus.sip_messages()))
            out.append((when, source, destination, draw(mutated(other, SIP_SLOTS, max_ops=1))))
    return out


def _call_exchange_seed(destination: tuple[str, int]) -> list[Any]:
    return [[s for s in corpus.recorded_call_log() if isinstance(s, corpus.CallAction) or s[2] == destination]]


def _timers_until(core: Any, when: float) -> list[bytes]:
    """Fire every timer of `core` due by `when`, in order; what it sends, checked."""
    sent: list[bytes] = []
    for _ in range(10_000):
        deadline = core.next_deadline()
        if deadline is None or deadline > when:
            return sent
        sent += _check_outputs(core.handle_timer(deadline))
    raise AssertionError(f"{type(core).__name__}: its timers keep firing at {core.next_deadline()}")


#: After the last step, time enough for every timer of a call to run out (Timer L, 64*T1; BYE, 64*T1;
#: the server's no-answer timeout, 60 s).
_CALL_TAIL = 120.0


def _when(step: Any) -> float:
    return float(step.when if isinstance(step, corpus.CallAction) else step[0])


def replay_call_answerer(steps: list[Any]) -> list[bytes]:
    """The base's call core gets the exchange's datagrams; its application rings every call offered
    and answers, rejects, redirects and hangs up as the recording did. What the core sent, in order."""
    answerer = corpus.recorded_call_answerer()
    app = corpus.CallApp(answerer)
    now, sent = 0.0, []
    for step in steps:
        now = max(now, _when(step))
        sent += _timers_until(answerer, now)
        if isinstance(step, corpus.CallAction):
            if step.kind.startswith("base-"):
                sent += _check_outputs(app.act(step))
            continue
        outputs = answerer.receive(now, step[3], step[1])
        sent += _check_outputs(outputs)
        for event in outputs:
            sent += _check_outputs(app.react(now, event))
    return sent + _timers_until(answerer, now + _CALL_TAIL)


def replay_server_calls(steps: list[Any]) -> list[bytes]:
    """The server places and hangs up the recorded calls and gets the base's datagrams; what it sent."""
    server = corpus.recorded_server()
    now, sent = 0.0, []
    for step in steps:
        now = max(now, _when(step))
        sent += _timers_until(server, now)
        if isinstance(step, corpus.CallAction):
            if step.kind == "place":
                sent += _check_outputs(server.place_call(now, caller="0301234", user="2002", label=step.label))
            elif step.kind == "hang-up":
                sent += _check_outputs(server.hang_up_call(now, step.label))
            continue
        sent += _check_outputs(server.receive(now, step[3], step[1]))
    return sent + _timers_until(server, now + _CALL_TAIL)


def check_call_answerer(steps: list[Any]) -> None:
    replay_call_answerer(steps)


def check_server_calls(steps: list[Any]) -> None:
    replay_server_calls(steps)


# --- (b) feature bodies ------------------------------------------------------------------------------


@st.composite
def _feature_body(draw: st.DrawFn, short: bool) -> tuple[bytes, bytes]:
    content_type, body = draw(_seeds([Seed(b) for b in corpus.feature_bodies()], short))
    ctype = content_type.encode()
    if draw(st.integers(0, 4)) == 0:
        ctype = draw(mutated(ctype, (_WORD,), max_ops=1))
    return ctype, draw(mutated(body, XML_SLOTS))


def check_feature_body(value: tuple[bytes, bytes]) -> None:
    from sip.feature_event import parse_feature_body
    from sip.headers import parse_media_type

    ctype, body = value
    text = ctype.decode("utf-8", "replace")
    parse_feature_body(parse_media_type(text), body)


# --- (c) the DECT codec ------------------------------------------------------------------------------


def _dect_inputs(short: bool) -> st.SearchStrategy[tuple[bytes, int]]:
    seeds = [Seed(m) for m in corpus.dect_messages()]
    return st.tuples(
        st.one_of(_seeds(seeds, short).flatmap(lambda s: mutated(s, ())), st.binary(max_size=64)),
        st.integers(0, 2),
    )


def check_dect(value: tuple[bytes, int]) -> None:
    from dect.codec import Side, decode, describe, encode

    data, who = value
    sender = (None, Side.PP, Side.FP)[who]
    describe(data, sender=sender)
    message = decode(data, sender=sender)
    encode(message, sender=sender)  # what decoded encodes again


# --- (d) provisioning ----------------------------------------------------------------------------------


@functools.cache
def _model_ids() -> tuple[str, ...]:
    from models.profiles import load_profiles

    return tuple(load_profiles().ids)


def _provisioning_inputs(short: bool) -> st.SearchStrategy[tuple[bytes, str, bool]]:
    seeds = [Seed(d, short=d not in corpus.PROVISIONING_KNOWN_FAILURES) for d in corpus.provisioning_documents()]
    pieces = fragments(corpus.PROVISIONING_KNOWN_FRAGMENTS) if short else _ALL_FRAGMENTS
    return st.tuples(
        _seeds(seeds, short).flatmap(lambda s: mutated(s, XML_SLOTS, pieces=pieces)),
        st.sampled_from(_model_ids()),
        st.booleans(),
    )


def check_provisioning(value: tuple[bytes, str, bool]) -> None:
    from firmware.provisioning import lint, parse_provisioning
    from models.profiles import get_profile

    data, model, internal_telephony = value
    doc = parse_provisioning(data, source="fuzz.xml")
    lint(doc, get_profile(model), internal_telephony)


# --- (e) scenario loading (`fksim check`) -------------------------------------------------------------


def _scenario_inputs(short: bool) -> st.SearchStrategy[bytes]:
    seeds = [Seed(t.encode()) for t in corpus.scenario_texts()]
    seeds += [
        Seed(text.encode(), short=name not in corpus.SCENARIO_KNOWN_FAILURES)
        for name, text in corpus.hostile_scenarios()
    ]
    pieces = fragments(corpus.SCENARIO_KNOWN_FRAGMENTS) if short else _ALL_FRAGMENTS
    return _seeds(seeds, short).flatmap(lambda s: mutated(s, YAML_SLOTS, max_ops=2, pieces=pieces))


def check_scenario(data: bytes) -> None:
    from scenarios.cli.run_cmd import BadInput, make_plan
    from scenarios.validate import load_scenario

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return  # load_yaml reads files as UTF-8 and reports the decoding error itself
    scenario = load_scenario("fuzz.yaml", _model_ids(), text=text)
    with contextlib.suppress(BadInput):  # `fksim check` prints the problems and exits 2
        make_plan([scenario], None, None, None)


def _exchange_seed(addresses: tuple[tuple[str, int], ...]) -> list[Any]:
    return [_steps_to(addresses)]


def _scenario_seeds(short: bool) -> list[bytes]:
    # Loading and planning takes about 0.3 s a file: the short run loads a few library files.
    library = corpus.scenario_texts()
    out = [t.encode() for t in (library[::9] if short else library)]
    return out + [
        text.encode() for name, text in corpus.hostile_scenarios()
        if not short or name not in corpus.SCENARIO_KNOWN_FAILURES
    ]  # fmt: skip


_CLIENTS = (corpus.SUBSCRIBER, corpus.REGISTRAR_CLIENT, corpus.CALLER)
TARGETS: tuple[Target, ...] = (
    Target("sip-parse", _sip_parse_inputs, check_sip_parse, lambda short: list(corpus.sip_messages()),
           short_examples=150),
    Target("sip-server", lambda short: _exchange((corpus.AS,)), check_server,
           lambda short: _exchange_seed((corpus.AS,)), short_examples=60),
    Target("sip-clients", lambda short: _exchange(_CLIENTS), check_clients,
           lambda short: _exchange_seed(_CLIENTS), short_examples=60),
    Target("sip-call-answerer", lambda short: _call_exchange(corpus.ANSWERER), check_call_answerer,
           lambda short: _call_exchange_seed(corpus.ANSWERER), short_examples=60),
    Target("sip-server-calls", lambda short: _call_exchange(corpus.AS), check_server_calls,
           lambda short: _call_exchange_seed(corpus.AS), short_examples=60),
    Target("base-calls", lambda short: world_calls.plans(lambda d: mutated(d, SIP_SLOTS, max_ops=1),
                                                         st.sampled_from(corpus.sip_messages())),
           world_calls.check_base_calls, lambda short: [(mode, {}) for mode in world_calls.MODES],
           short_examples=20),
    Target("base-air", lambda short: world_air.plans(lambda d: mutated(d, (), max_ops=2),
                                                     st.sampled_from(corpus.dect_messages())),
           world_air.check_base_air, lambda short: [{}], short_examples=30),
    Target("feature-body", _feature_body, check_feature_body,
           lambda short: [(c.encode(), b) for c, b in corpus.feature_bodies()], short_examples=100),
    Target("dect-codec", _dect_inputs, check_dect,
           lambda short: [(m, who) for m in corpus.dect_messages() for who in range(3)], short_examples=150),
    Target("provisioning", _provisioning_inputs, check_provisioning,
           lambda short: [(d, m, it) for d in corpus.provisioning_documents()
                          if not short or d not in corpus.PROVISIONING_KNOWN_FAILURES
                          for m in _model_ids() for it in (False, True)], short_examples=100,
           has_known_failures=bool(corpus.PROVISIONING_KNOWN_FAILURES)),
    Target("scenario", _scenario_inputs, check_scenario, _scenario_seeds, short_examples=15,
           has_known_failures=bool(corpus.SCENARIO_KNOWN_FAILURES)),
)  # fmt: skip
BY_NAME = {t.name: t for t in TARGETS}
