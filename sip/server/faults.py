"""Fault knobs of the application server (spec/scenarios-and-cli.md §2 `server.reject`).

One responsibility: the knobs that make the server misbehave on purpose, shared (mutable, so a
scenario step can change them while running) by the registrar, the notifier application and the
FAC core. `reject` answers every request of a method that passed authentication with that status
(with `Retry-After: retry_after` when set); `delay` holds every outgoing datagram that many seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Faults:
    reject: dict[str, int] = field(default_factory=dict)
    retry_after: int | None = None
    delay: float = 0.0

    def rejection(self, method: str) -> tuple[int, list[tuple[str, object]]] | None:
        """(status, extra headers) when `method` is to be refused, else None."""
        status = self.reject.get(method.upper())
        if status is None:
            return None
        headers: list[tuple[str, object]] = []
        if self.retry_after is not None:
            # RFC 3261 §20.33: Retry-After in 503 (and others) says when to try again.
            headers.append(("Retry-After", self.retry_after))
        if status == 489:
            headers.append(("Allow-Events", "as-feature-event"))
        return status, headers


__all__ = ["Faults"]
