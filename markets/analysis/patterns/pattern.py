"""What the detector reports: the pattern kinds and one finding."""

from __future__ import annotations

from dataclasses import asdict, dataclass

PATTERN_KINDS: tuple[str, ...] = (
    "bull_flag",
    "bear_flag",
    "head_and_shoulders",
    "inverse_head_and_shoulders",
    "double_top",
    "double_bottom",
    "pennant",
    "ascending_triangle",
    "descending_triangle",
    "symmetrical_triangle",
)


@dataclass(frozen=True)
class Pattern:
    """A chart pattern live at the last bar.

    ``points`` are the key points for drawing, ``(time, price, label)``; ``breakout`` is the level whose
    crossing confirms the pattern, at the last bar; ``target`` is the measured move from it.
    """

    kind: str
    direction: str  # "bullish", "bearish" or "neutral"
    confidence: float  # 0..1: how well the swings fit the pattern's geometry
    start_time: int
    end_time: int
    points: list[tuple[int, float, str]]
    breakout: float
    target: float

    def as_dict(self) -> dict:
        data = asdict(self)
        data["points"] = [list(point) for point in self.points]
        return data
