"""Daily and weekly time windows as RDS and ElastiCache write them, and their overlap.

Pure helpers shared by ``scaleplan:database`` and ``scaleplan:cache``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

DAILY_WINDOW_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$"
WEEKLY_WINDOW_PATTERN = (
    r"^(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d-(mon|tue|wed|thu|fri|sat|sun):([01]\d|2[0-3]):[0-5]\d$"
)

DailyWindow = Annotated[str, Field(pattern=DAILY_WINDOW_PATTERN)]
"""``hh24:mi-hh24:mi`` in UTC, e.g. ``03:00-04:00``."""
WeeklyWindow = Annotated[str, Field(pattern=WEEKLY_WINDOW_PATTERN)]
"""``ddd:hh24:mi-ddd:hh24:mi`` in UTC, e.g. ``sun:04:30-sun:05:30``."""

_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_MINUTES_PER_DAY = 24 * 60
_MINUTES_PER_WEEK = 7 * _MINUTES_PER_DAY


def _minute_of_day(text: str) -> int:
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def daily_minutes(window: str) -> int:
    """Length of a daily window in minutes (a window may run past midnight)."""
    start, end = (_minute_of_day(part) for part in window.split("-"))
    return (end - start) % _MINUTES_PER_DAY


def _weekly_intervals(window: str) -> list[tuple[int, int]]:
    start_text, end_text = window.split("-")

    def minute_of_week(text: str) -> int:
        day, rest = text.split(":", 1)
        return _DAYS.index(day) * _MINUTES_PER_DAY + _minute_of_day(rest)

    start, end = minute_of_week(start_text), minute_of_week(end_text)
    if end <= start:  # wraps past Sunday midnight
        return [(start, _MINUTES_PER_WEEK), (0, end)]
    return [(start, end)]


def _daily_intervals(window: str) -> list[tuple[int, int]]:
    start, end = (_minute_of_day(part) for part in window.split("-"))
    intervals: list[tuple[int, int]] = []
    for day in range(7):
        offset = day * _MINUTES_PER_DAY
        if end > start:
            intervals.append((offset + start, offset + end))
        else:
            intervals.append((offset + start, offset + _MINUTES_PER_DAY))
            intervals.append((offset, offset + end))
    return intervals


def windows_overlap(daily: str, weekly: str) -> bool:
    """True when the daily window and the weekly window share any minute."""
    return any(
        a_start < b_end and b_start < a_end
        for a_start, a_end in _daily_intervals(daily)
        for b_start, b_end in _weekly_intervals(weekly)
    )


def daily_windows_overlap(first: str, second: str) -> bool:
    """True when two daily windows share any minute."""
    return any(
        a_start < b_end and b_start < a_end
        for a_start, a_end in _daily_intervals(first)
        for b_start, b_end in _daily_intervals(second)
    )


def hour_window(start_hour: int, hours: int = 1) -> str:
    """``hour_window(5)`` -> ``05:00-06:00``: a daily window starting on the hour."""
    return f"{start_hour:02d}:00-{(start_hour + hours) % 24:02d}:00"
