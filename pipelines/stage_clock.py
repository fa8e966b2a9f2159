"""stage_clock: time a run's stages and note its memory peak after each."""

import resource
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

Progress = Callable[[str], None]


@dataclass
class StageClock:
    """Each stage's seconds, and the process's peak memory when it ended.

    The peak is the process's high-water mark so far (what sizes a machine
    for a run): a stage that raised it ends with a higher figure than the
    stage before it.
    """

    timings: dict[str, float] = field(default_factory=dict)
    peak_rss_mib: dict[str, int] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str, progress: Progress) -> Iterator[None]:
        """Announce the stage `name` to `progress`, then time it."""
        progress(name)
        start = time.perf_counter()
        yield
        self.timings[name] = round(time.perf_counter() - start, 3)
        self.peak_rss_mib[name] = _peak_rss_mib()


def _peak_rss_mib() -> int:
    # Linux reports ru_maxrss in KiB, macOS in bytes.
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // (1024 * 1024) if sys.platform == "darwin" else peak // 1024
