"""A fleet study as a whole: run its parts (in this process, or on Dask), add up what they counted, and
describe the result: the summary figures and the time series (the `--json` file).

One responsibility: the study's figures from the parts' counts. Every figure is a sum over parts or is
computed from such sums, so it does not depend on how the fleet was cut (tests/scenarios/
test_fleet_parts.py), and every figure comes from the simulated traffic: counted datagrams, the
server's subscriptions, the handsets' and the base's state at each bin end.

Definitions (docs/fleet.md):
- "at the AS": datagrams the server received (sent to it and not lost) plus datagrams it sent.
- peak SIP messages/s: the busiest bin's messages at the AS divided by the bin's length; mean: all
  messages at the AS divided by the duration.
- challenged share: 401 answers (stale or not) per request the server received; stale share: the
  stale-nonce 401s among them, per request received.
- re-converged after: for each event, the time from the event's end to the end of the first bin by
  which every handset had been back in sync at a bin end (see `part._Sync`); None when some handset
  was not by the end of the study.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from models.errors import ConfigError
from scenarios.capture import write_capture
from scenarios.fleet.part import PartJob, PartResult, bin_end, bins_of, run_part
from scenarios.fleet.spec import FleetSpec, Layout, check_spec, partition
from scenarios.fleet.traffic import Key

#: Methods in the order the table and the plot list them; others follow alphabetically.
METHOD_ORDER = ("REGISTER", "SUBSCRIBE", "NOTIFY", "INVITE", "ACK", "BYE")


def merge(results: Iterable[PartResult]) -> PartResult:
    traffic: Counter[tuple[int, Key]] = Counter()
    total: PartResult | None = None
    for result in results:
        traffic.update(result.traffic)
        if total is None:
            total = PartResult(handsets=0, traffic={}, dect_frames=0,
                               subscriptions=[0] * len(result.subscriptions),
                               reconverged=[{} for _ in result.reconverged],
                               not_reconverged=[0] * len(result.not_reconverged))
        total.handsets += result.handsets
        total.dect_frames += result.dect_frames
        total.subscriptions = [a + b for a, b in zip(total.subscriptions, result.subscriptions, strict=True)]
        for mine, theirs in zip(total.reconverged, result.reconverged, strict=True):
            for k, n in theirs.items():
                mine[k] = mine.get(k, 0) + n
        total.not_reconverged = [a + b for a, b in zip(total.not_reconverged, result.not_reconverged,
                                                       strict=True)]
    if total is None:
        raise ValueError("a study has at least one part")
    total.traffic = dict(traffic)
    return total


def _method_key(method: str) -> tuple[int, str]:
    return (METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER), method)


def _status_key(status: str) -> tuple[int, str]:
    return (0, "") if status == "" else (1, status)


def describe(spec: FleetSpec, layout: Layout, total: PartResult) -> dict[str, Any]:
    """The study's JSON: what was studied, the summary figures and the time series."""
    nbins = bins_of(spec)
    res = spec.resolution
    lengths = [bin_end(spec, k) - k * res for k in range(nbins)]
    messages: dict[str, dict[str, int]] = {}
    lost = 0
    at_as = [0] * nbins
    requests: dict[str, list[int]] = {}
    responses: dict[str, list[int]] = {}
    lost_series = [0] * nbins
    received = challenged = stale = 0
    for (k, (direction, method, status, was_lost)), n in sorted(total.traffic.items()):
        row = messages.setdefault(method, {})
        column = "requests" if status == "" else status
        row[column] = row.get(column, 0) + n
        counts = (requests if status == "" else responses).setdefault(method, [0] * nbins)
        counts[k] += n
        if was_lost:
            lost += n
            lost_series[k] += n
        if direction == "from-as" or not was_lost:
            at_as[k] += n
        if direction == "to-as" and not was_lost and status == "":
            received += n
        if direction == "from-as" and status.startswith("401"):
            challenged += n
            stale += n if status == "401 stale" else 0
    rates = [round(n / length, 3) for n, length in zip(at_as, lengths, strict=True)]
    peak_bin = max(range(nbins), key=lambda k: (rates[k], -k))
    events = []
    for index, event in enumerate(spec.events):
        done = total.reconverged[index]
        missing = total.not_reconverged[index]
        after = None if missing or not done else round(bin_end(spec, max(done)) - event.end, 3)
        events.append({**event.as_json(), "reconverged_after": after, "handsets_not_reconverged": missing})
    ordered = {m: dict(sorted(messages[m].items(), key=lambda kv: _status_key("" if kv[0] == "requests"
                                                                               else kv[0])))
               for m in sorted(messages, key=_method_key)}
    summary = {
        "sip_messages": sum(total.traffic.values()),
        "dect_frames": total.dect_frames,
        "lost": lost,
        "messages": ordered,
        "as_messages": sum(at_as),
        "peak_as_msgs_per_s": rates[peak_bin],
        "peak_at": round(peak_bin * res, 6),
        "mean_as_msgs_per_s": round(sum(at_as) / spec.duration, 3),
        "challenged_share": round(challenged / received, 6) if received else 0.0,
        "stale_nonce_share": round(stale / received, 6) if received else 0.0,
        "subscriptions_at_end": total.subscriptions[-1],
        "subscriptions_peak": max(total.subscriptions),
        "events": events,
    }
    series: dict[str, Any] = {
        "t": [round(k * res, 6) for k in range(nbins)],
        "as_msgs_per_s": rates,
        "requests": {m: requests[m] for m in sorted(requests, key=_method_key)},
        "responses": {m: responses[m] for m in sorted(responses, key=_method_key)},
        "lost": lost_series,
        "subscriptions_active": total.subscriptions,
    }
    return {"study": spec.as_json(layout), "summary": summary, "series": series}


Runner = Callable[[Sequence[PartJob]], Iterable[PartResult]]


#: The largest fleet whose messages are kept for captures (`--pcap`) [choice]: about 35,000 messages
#: per simulated hour.
PCAP_MAX_HANDSETS = 1000


def run_study(spec: FleetSpec, parts: int = 1, runner: Runner | None = None,
              progress: Callable[[float], None] | None = None,
              pcap: tuple[Path, str] | None = None) -> dict[str, Any]:
    """Run the study cut into `parts` (in this process one after the other unless a `runner`, such as
    `scenarios.fleet.cluster.run_on`, runs them elsewhere) and describe it. `pcap` (folder, stem): a
    small fleet, in one part, also writes its captures."""
    layout = check_spec(spec)
    if pcap is not None and (parts != 1 or runner is not None or spec.handsets > PCAP_MAX_HANDSETS):
        raise ConfigError(f"captures keep every message: at most {PCAP_MAX_HANDSETS} handsets, in one part "
                          f"(no --workers, --scheduler or --parts)", where="--pcap")
    jobs = [PartJob(spec=spec, dms=dms, keep_messages=pcap is not None) for dms in partition(layout, parts)]
    if runner is not None:
        results = list(runner(jobs))
    else:
        results = []
        for index, job in enumerate(jobs):
            def report(t: float, index: int = index) -> None:
                if progress is not None:
                    progress(index * spec.duration + t)
            results.append(run_part(job, report))
    if pcap is not None:
        write_capture(results[0].entries, pcap[0], pcap[1])
    return describe(spec, layout, merge(results))


__all__ = ["METHOD_ORDER", "PCAP_MAX_HANDSETS", "describe", "merge", "run_study"]
