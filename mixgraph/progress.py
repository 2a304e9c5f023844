"""A small text progress bar on standard error (no extra dependency)."""

from __future__ import annotations

import sys
import time

__all__ = ["ProgressBar"]


class ProgressBar:
    """Print ``label [#####.....] done/total  elapsed`` in place.

    Parameters
    ----------
    total : int
        Number of steps.
    label : str
    enabled : bool
        When False (or when standard error is not a terminal, as in CI logs)
        every method does nothing.
    """

    def __init__(self, total: int, label: str, enabled: bool = True, width: int = 30) -> None:
        self.total = max(int(total), 1)
        self.label = label
        self.enabled = enabled and sys.stderr.isatty()
        self.width = width
        self.start = time.perf_counter()
        self._last_print = 0.0

    def update(self, done: int, note: str = "") -> None:
        """Show ``done`` steps of ``total`` (redrawn at most ten times a second)."""
        if not self.enabled:
            return
        now = time.perf_counter()
        if done < self.total and now - self._last_print < 0.1:
            return
        self._last_print = now
        filled = int(self.width * min(done, self.total) / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        sys.stderr.write(f"\r{self.label} [{bar}] {done}/{self.total} {now - self.start:5.1f}s {note}")
        sys.stderr.flush()

    def close(self) -> None:
        """End the line."""
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()
