"""What the recipe core needs from QgsFeedback / QgsTask (percent, cancel, messages), without depending on either."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass
class Progress:
    """What the core needs from QgsFeedback / QgsTask, without depending on either."""

    set_percent: Callable[[float], None] = lambda p: None
    is_cancelled: Callable[[], bool] = lambda: False
    info: Callable[[str], None] = lambda m: None

    @classmethod
    def from_feedback(cls, feedback) -> Progress:
        if feedback is None:
            return cls()
        return cls(feedback.setProgress, feedback.isCanceled, getattr(feedback, "pushInfo", lambda m: None))
