"""The fleet study's picture (`--plot FILE`): SIP messages per second at the AS by method, and the
server's active subscriptions, over the study's time, with every event marked.

One responsibility: draw the study's JSON with matplotlib (the non-interactive Agg backend, so it
needs no display). The format follows the file's suffix: `.png` or `.svg`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from models.errors import ConfigError

FORMATS = (".png", ".svg")


def _hours(seconds: list[float], duration: float) -> tuple[list[float], str]:
    if duration >= 4 * 3600:
        return [t / 3600 for t in seconds], "hours"
    if duration >= 600:
        return [t / 60 for t in seconds], "minutes"
    return list(seconds), "seconds"


def write_plot(study: dict[str, Any], path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ConfigError(f"the plot is a .png or .svg file, not {path.name!r}", where="--plot")
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    info, series = study["study"], study["series"]
    res, duration = info["resolution"], info["duration"]
    x, unit = _hours(series["t"], duration)
    scale = x[1] / series["t"][1] if len(x) > 1 and series["t"][1] else 1.0
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True,
                                      gridspec_kw={"height_ratios": [3, 2]})
    methods: dict[str, list[float]] = {}
    for kind in ("requests", "responses"):
        for method, counts in series[kind].items():
            row = methods.setdefault(method, [0.0] * len(x))
            for k, n in enumerate(counts):
                row[k] += n
    for method, counts in methods.items():
        top.step(x, [n / res for n in counts], where="post", label=f"{method} (requests + responses)",
                 linewidth=1.0)
    top.step(x, series["as_msgs_per_s"], where="post", label="all, at the AS", color="black", linewidth=0.8,
             alpha=0.6)
    top.set_ylabel("SIP messages/s")
    top.set_title(f"{info['handsets']:,} handsets on {info['model']} "
                  f"({info['dect_managers']} DECT managers), seed {info['seed']}, {res:g} s bins")
    top.legend(loc="upper right", fontsize=8)
    bottom.step(x, series["subscriptions_active"], where="post", color="tab:green")
    bottom.set_ylabel("subscriptions at the AS")
    bottom.set_xlabel(f"simulated time ({unit})")
    bottom.set_ylim(bottom=0)
    for event in info["events"]:
        start = event["at"] * scale
        for axis in (top, bottom):
            if event["kind"] == "outage":
                axis.axvspan(start, (event["at"] + event["value"]) * scale, color="tab:red", alpha=0.15)
            else:
                axis.axvline(start, color="tab:red", linestyle="--", linewidth=0.9)
        label = event["kind"] + (f" {event['value']:.0%}" if event["kind"] == "portal-burst" else "")
        top.annotate(label, (start, 1.0), xycoords=("data", "axes fraction"), xytext=(3, -12),
                     textcoords="offset points", fontsize=8, color="tab:red")
    fig.tight_layout()
    try:
        fig.savefig(path, format=suffix[1:])
    except OSError as err:
        raise ConfigError(f"cannot write {path}: {err.strerror or err}", where="--plot") from None
    finally:
        plt.close(fig)


__all__ = ["FORMATS", "write_plot"]
