"""The admission rate a line has shown lately, for `eta_seconds`. Both backends keep the same
three figures: when the current window opened, how many were admitted in it, and the rate of
the last closed window. The Redis backend does the same arithmetic in its Lua script."""

from __future__ import annotations

from dataclasses import dataclass

WINDOW_SECONDS = 30.0
# A window this young says little; the last closed one speaks for it while there is one.
YOUNG_WINDOW_SECONDS = 5.0


@dataclass
class AdmissionRate:
    window_age_seconds: float | None
    window_count: int
    last_rate: float | None

    def per_second(self) -> float | None:
        age = self.window_age_seconds
        if age is None or self.window_count == 0:
            return self.last_rate
        if age < YOUNG_WINDOW_SECONDS and self.last_rate:
            return self.last_rate
        return self.window_count / max(age, 1.0)

    def after_admitting(self, count: int) -> AdmissionRate:
        """The figures once `count` more were admitted now (the window age is now's)."""
        age = self.window_age_seconds
        if age is None:
            return AdmissionRate(0.0, count, self.last_rate)
        if age >= WINDOW_SECONDS:
            return AdmissionRate(0.0, count, self.window_count / age)
        return AdmissionRate(age, self.window_count + count, self.last_rate)
