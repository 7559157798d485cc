"""Rain events of the Dutch stress test for pluvial flooding (STOWA/RIONED 2018), plus a custom depth.

The Deltaprogramma Ruimtelijke Adaptatie stress test uses short intense cloudbursts for urban pluvial flooding:
70 mm in 1 hour (return period about 100 years), 90 mm in 1 hour (about 250 years) and 160 mm in 2 hours (about
1000 years). A bathtub screening has no time: only the depth counts; duration and return period are kept for the
record and for the labels. qgis-free: the pygeoapi process uses the same table.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RainEvent:
    key: str
    rain_mm: float | None  # None: the user gives the depth
    duration_h: float | None
    return_period_years: int | None
    label: str  # English; the Processing algorithm shows a translated label


EVENTS: tuple[RainEvent, ...] = (
    RainEvent("T100", 70.0, 1.0, 100, "70 mm in 1 hour (T=100 years, stress test)"),
    RainEvent("T250", 90.0, 1.0, 250, "90 mm in 1 hour (T=250 years, stress test)"),
    RainEvent("T1000", 160.0, 2.0, 1000, "160 mm in 2 hours (T=1000 years, stress test)"),
    RainEvent("custom", None, None, None, "Custom rain depth (RAIN_MM)"),
)

CUSTOM_INDEX = 3


def event_by_key(key: str) -> RainEvent:
    for event in EVENTS:
        if event.key.lower() == str(key).lower():
            return event
    raise KeyError(key)


def rain_depth(index: int, custom_mm: float | None) -> float:
    """The rain depth (mm) for the event at ``index`` of :data:`EVENTS` (custom: ``custom_mm``)."""
    event = EVENTS[index]
    if event.rain_mm is not None:
        return event.rain_mm
    if custom_mm is None or custom_mm < 0:
        raise ValueError("a custom event needs a rain depth of 0 mm or more")
    return float(custom_mm)
