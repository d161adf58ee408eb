"""Calls in the simulated world: the outside caller's calls by scenario id, and what became of each.

One responsibility: keep, per call id, what the server reported (`CallRinging`, `CallOutcome`) and what
the base reported (`CallNote`: which handset answered, what the base applied), and read the outcome as
a scenario expectation names it at a given time: `ringing` until the call has a final outcome, then
`answered` (by the handset that took it), `forwarded` (by the server or the base, to a target),
`rejected` (by the server or the base, with the status the caller got) or `unanswered`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from firmware.lines import CallNote
from sip.events import CallOutcome, CallRinging


@dataclass
class CallRecord:
    label: str
    caller: str
    user: str
    placed: float
    ringing_at: float | None = None
    outcome: CallOutcome | None = None
    outcome_at: float | None = None
    #: The base's notes about its call legs (the SIP Call-IDs the server used towards the base).
    notes: list[tuple[float, CallNote]] = field(default_factory=list)
    cleared_at: float | None = None


class CallBook:
    def __init__(self) -> None:
        self.calls: dict[str, CallRecord] = {}
        self._notes: list[tuple[float, CallNote]] = []

    def placed(self, label: str, caller: str, user: str, now: float) -> None:
        if label in self.calls:
            raise ValueError(f"call {label!r} was already placed")
        self.calls[label] = CallRecord(label=label, caller=caller, user=user, placed=now)

    def server_event(self, event: object, now: float) -> None:
        label = getattr(event, "label", None)
        record = self.calls.get(label) if isinstance(label, str) else None
        if record is None:
            return
        if isinstance(event, CallRinging) and record.ringing_at is None:
            record.ringing_at = now
        elif isinstance(event, CallOutcome) and record.outcome is None:
            record.outcome, record.outcome_at = event, now

    def base_note(self, note: CallNote, now: float) -> None:
        self._notes.append((now, note))

    def _base_notes(self, record: CallRecord, until: float) -> list[CallNote]:
        """The base's notes about this call: those for its user from the time it was placed."""
        return [note for t, note in self._notes
                if note.user == record.user and record.placed <= t <= until]

    def state(self, label: str, at: float) -> dict[str, Any]:
        """The call as a scenario reads it at time `at` (the result format of `final.calls`)."""
        record = self.calls[label]
        outcome = record.outcome
        if outcome is None or record.outcome_at is None or record.outcome_at > at:
            ringing = record.ringing_at is not None and record.ringing_at <= at
            return {"outcome": "ringing" if ringing else "calling", "from": record.caller,
                    "to_user": record.user}
        after = round(record.outcome_at - record.placed, 6)
        out: dict[str, Any] = {"outcome": outcome.outcome, "after": after}
        notes = self._base_notes(record, record.outcome_at)
        if outcome.outcome == "answered":
            who = next((note.ipui for note in reversed(notes) if note.what == "answered"), None)
            out["by"] = str(who) if who is not None else outcome.by
        elif outcome.outcome in ("forwarded", "rejected"):
            by_base = any(note.what == outcome.outcome for note in notes)
            out["by"] = "base" if by_base or outcome.by == "base" else "server"
        if outcome.to:
            out["to"] = outcome.to
        if outcome.status is not None:
            out["status"] = outcome.status
        return out

    def as_json(self, at: float) -> dict[str, Any]:
        return {label: self.state(label, at) for label in self.calls}
