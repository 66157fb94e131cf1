"""The one "same error three times in a row, stop" rule, shared by the scoring engine's per-row
fallback and the request engine (a bad key or an unknown model is not worth a request per row).

    >>> stop = RepeatedError(limit=3)
    >>> [stop.failed("HTTP 401") for _ in range(3)], stop.stopped
    ([False, False, True], 'HTTP 401')
    >>> stop.succeeded(); stop.stopped is None
    True
"""

from __future__ import annotations


class RepeatedError:
    """Counts identical error texts in a row; any success in between starts the count again."""

    def __init__(self, limit: int = 3) -> None:
        self.limit = limit
        self.last: str | None = None
        self.count = 0

    def failed(self, text: str) -> bool:
        """Note one failure; True once the same text came ``limit`` times in a row."""
        self.count = self.count + 1 if text == self.last else 1
        self.last = text
        return self.count >= self.limit

    def succeeded(self) -> None:
        self.last, self.count = None, 0

    @property
    def stopped(self) -> str | None:
        """The repeated error once the limit is reached, else None."""
        return self.last if self.count >= self.limit else None
