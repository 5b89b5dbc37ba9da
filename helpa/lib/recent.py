"""A tiny per-process cache for settings rows that hot paths read on every call."""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class RecentlyRead:
    """Values at most `SECONDS` old. Other processes (the web server where an admin saves) are
    seen within that time; a save in this process calls `forget` and is seen at once."""

    SECONDS = 5.0

    def __init__(self) -> None:
        self._values: dict[Hashable, tuple[float, object]] = {}

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        now = time.monotonic()
        hit = self._values.get(key)
        if hit is not None and now - hit[0] < self.SECONDS:
            return hit[1]  # type: ignore[return-value]
        value = load()
        self._values[key] = (now, value)
        return value

    def forget(self) -> None:
        self._values.clear()
