"""A poll in a room: a question with 2-6 choices, or a question answered with a number in a range.

Everything a person types here (a free question, its choices, a nickname, an answer) is plain text:
`plain` keeps printable characters only and bounds the length; it is escaped wherever it is shown and
never evaluated. An answer is read against its poll (`read_answer`: a choice's index, or a number in the
poll's range); `tally` turns the answers into the bars of the class's histogram (the numbers in
`NUMBER_BINS` equal bins).
"""
from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass

MAX_QUESTION = 200  # characters
MAX_CHOICE = 60
MIN_CHOICES, MAX_CHOICES = 2, 6
NUMBER_BINS = 10


class Refused(ValueError):
    """A request the classroom does not carry out; the message says why, in plain words."""


def plain(text, limit: int) -> str:
    """`text` as plain text: printable characters only, runs of space made one, at most `limit` characters."""
    kept = "".join(ch if ch.isprintable() else " " for ch in str(text or ""))
    return " ".join(kept.split())[:limit]


@dataclass(frozen=True)
class Poll:
    question: str
    choices: tuple[str, ...] = ()  # empty: the answer is a number in [low, high]
    low: float = 0.0
    high: float = 0.0
    whole: bool = False  # a number poll whose answers are whole numbers (a timestep)
    lesson: str = ""  # the lesson's key; "" for the teacher's own question
    after_reveal: str = ""  # what the class sees after Reveal

    @property
    def numeric(self) -> bool:
        return not self.choices

    def checked(self) -> "Poll":
        """This poll, or `Refused` when it is not one a room can hold."""
        if not self.question or len(self.question) > MAX_QUESTION:
            raise Refused(f"A question needs 1 to {MAX_QUESTION} characters.")
        if self.numeric:
            if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
                raise Refused("A number question needs a range (low < high).")
        elif not MIN_CHOICES <= len(self.choices) <= MAX_CHOICES or not all(0 < len(c) <= MAX_CHOICE for c in self.choices):
            raise Refused(f"A question needs {MIN_CHOICES} to {MAX_CHOICES} choices of 1 to {MAX_CHOICE} characters.")
        elif len(set(self.choices)) != len(self.choices):
            raise Refused("Two choices are the same: make each one different.")
        return self

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @staticmethod
    def from_json(text: str) -> "Poll":
        d = json.loads(text)
        return Poll(**{**d, "choices": tuple(d.get("choices", ()))})

    def range_text(self) -> str:
        return f"{number_text(self.low, self.whole)} to {number_text(self.high, self.whole)}"


def number_text(x: float, whole: bool = False) -> str:
    return f"{int(round(x))}" if whole else f"{x:g}"


def free_poll(question, choices_text) -> Poll:
    """The teacher's own question: `choices_text` holds one choice per line (blank lines ignored)."""
    lines = [plain(line, MAX_CHOICE + 1) for line in str(choices_text or "").splitlines()]
    return Poll(question=plain(question, MAX_QUESTION + 1), choices=tuple(c for c in lines if c)).checked()


def read_answer(poll: Poll, raw) -> float:
    """The stored value of an answer: a choice's index (given as the index or the choice's text), or a number
    within the poll's range (rounded when the poll wants whole numbers)."""
    if raw is None or str(raw).strip() == "":
        raise Refused("Pick an answer first.")
    if not poll.numeric:
        if raw in poll.choices:
            return float(poll.choices.index(raw))
        if isinstance(raw, (int, float)) and not isinstance(raw, bool) and float(raw).is_integer() \
                and 0 <= raw < len(poll.choices):
            return float(raw)
        raise Refused("That is not one of this question's choices.")
    try:
        value = float(str(raw)[:40])
    except ValueError:
        raise Refused(f"Give a number from {poll.range_text()}.") from None
    if not math.isfinite(value) or not poll.low <= value <= poll.high:
        raise Refused(f"Give a number from {poll.range_text()}.")
    return float(round(value)) if poll.whole else value


@dataclass(frozen=True)
class Tally:
    labels: tuple[str, ...]
    counts: tuple[int, ...]
    total: int
    median: float | None = None  # number polls


def bin_labels(poll: Poll) -> tuple[str, ...]:
    edges = [poll.low + k * (poll.high - poll.low) / NUMBER_BINS for k in range(NUMBER_BINS + 1)]
    if poll.whole:
        starts = [math.ceil(e) for e in edges[:-1]]
        ends = [s - 1 for s in starts[1:]] + [int(poll.high)]
        return tuple(f"{a}–{b}" for a, b in zip(starts, ends))
    return tuple(f"{a:g}–{b:g}" for a, b in zip(edges[:-1], edges[1:]))


def bin_of(poll: Poll, value: float) -> int:
    k = int((value - poll.low) / (poll.high - poll.low) * NUMBER_BINS)
    return min(max(k, 0), NUMBER_BINS - 1)


def tally(poll: Poll, values) -> Tally:
    """The class's answers (stored values) as histogram bars: one per choice, or `NUMBER_BINS` equal bins."""
    values = list(values)
    if not poll.numeric:
        counts = [0] * len(poll.choices)
        for v in values:
            if 0 <= int(v) < len(counts):
                counts[int(v)] += 1
        return Tally(poll.choices, tuple(counts), sum(counts))
    counts = [0] * NUMBER_BINS
    for v in values:
        counts[bin_of(poll, v)] += 1
    return Tally(bin_labels(poll), tuple(counts), len(values), statistics.median(values) if values else None)
