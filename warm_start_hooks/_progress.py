"""Progress of long reads and copies, logged through absl logging.

Do not import this module directly; use `import warm_start_hooks` instead.

A warm start of hundreds of megabytes takes a while; `Progress` logs how far
it got, at most every `min_interval_s` seconds and only when another tenth is
done or `max_interval_s` seconds have passed. Work that finishes within
`min_interval_s` logs nothing at all.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from absl import logging


class Progress:
    """Counts bytes done out of a total and logs the fraction now and then.

    Thread-safe: parts of one variable may be computed in parallel.

    Example:
      >>> p = Progress(512 << 20, 'remap of embedding')
      >>> for block in blocks:
      ...     p.advance(block.nbytes)
    """

    def __init__(
        self,
        total_bytes: int,
        what: str,
        *,
        min_interval_s: float = 2.0,
        max_interval_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[..., None] = logging.info,
    ):
        """Starts counting.

        Args:
          total_bytes: Bytes to be done in all.
          what: What is done, for the log lines (e.g. `'remap of emb'`).
          min_interval_s: Fewest seconds between two lines. Defaults to `2.0`.
          max_interval_s: A line is logged after this many seconds even if
            less than another tenth was done. Defaults to `30.0`.
          clock: Seconds, monotonic. Defaults to `time.monotonic`.
          log: Called like `absl.logging.info(fmt, *args)`. Defaults to
            `absl.logging.info`.
        """
        self.total = max(0, int(total_bytes))
        self.what = what
        self.done = 0
        self.lines = 0
        self._min = min_interval_s
        self._max = max_interval_s
        self._clock = clock
        self._log = log
        self._start = self._last = clock()
        self._last_tenth = 0
        self._lock = threading.Lock()

    def advance(self, n: int) -> None:
        """Records `n` more bytes done; logs if it is time to."""
        with self._lock:
            self.done = min(self.total, self.done + max(0, int(n)))
            now = self._clock()
            finished = self.done >= self.total
            tenth = 10 * self.done // self.total if self.total else 10
            since = now - self._last
            if finished:
                # A final line only closes progress that was shown.
                if self.lines and self._last_tenth < 10:
                    self._emit(now, 10)
                return
            if since >= self._min and (tenth > self._last_tenth or since >= self._max):
                self._emit(now, tenth)

    def _emit(self, now: float, tenth: int) -> None:
        pct = 100.0 * self.done / self.total if self.total else 100.0
        self._log(
            '%s: %.0f%% (%s of %s, %.1fs)',
            self.what,
            pct,
            human_bytes(self.done),
            human_bytes(self.total),
            now - self._start,
        )
        self._last = now
        self._last_tenth = tenth
        self.lines += 1


def human_bytes(n: float) -> str:
    """`n` bytes as '512 B', '1.5 KiB', '3.0 MiB' or '2.0 GiB'."""
    for unit in ('B', 'KiB', 'MiB', 'GiB'):
        if n < 1024 or unit == 'GiB':
            return f'{n:.0f} {unit}' if unit == 'B' else f'{n:.1f} {unit}'
        n /= 1024
    return f'{n} B'
