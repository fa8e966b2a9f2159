"""Wall time of ingestion's stages per batch, without a profiler.

cProfile inflates Python-heavy stages (validation, transform) several-fold
against those spent in C (the driver, AES-GCM), so its shares mislead; and
py-spy over-weights system calls. This clock wraps a few named functions
with `perf_counter` where ingestion looks them up, for the batches it is
entered around, and reports each stage's median per batch. A wrapper costs
about half a microsecond a call (validate_record: 500 calls a batch).

It also shows where a request waits: "linkage columns" is mostly the time
the request waits for the helper process's encodings.
"""

import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from importlib import import_module
from types import TracebackType
from typing import Any

SERVICE = "gateway.ingest.service"
ROWS = "gateway.ingest.rows"
VAULT = "gateway.vault.entries"
# (label, module, attribute, class or None): the function where its caller
# looks it up.
STAGES: list[tuple[str, str, str, str | None]] = [
    ("ingest()", SERVICE, "ingest", None),
    ("  validate, pseudonymize (_validated)", SERVICE, "_validated", None),
    ("    validate_record", SERVICE, "validate_record", None),
    ("    transform", SERVICE, "transform", None),
    ("  decide_many (consent)", SERVICE, "decide_many", None),
    ("  store", SERVICE, "store", None),
    ("    VaultWriter.load (keys)", VAULT, "load", "VaultWriter"),
    ("    VaultWriter.entry (AES-GCM)", VAULT, "entry", "VaultWriter"),
    ("    linkage columns (waits for the helper)", ROWS, "_add_linkage", None),
    ("    inserts (_write)", ROWS, "_write", None),
    ("  append_events (audit)", SERVICE, "append_events", None),
]


class StageClock:
    """Per-batch wall time of `STAGES` while entered; `mark()` ends a batch."""

    def __init__(self) -> None:
        self._total: dict[str, float] = defaultdict(float)
        self._batches: list[dict[str, float]] = []
        self._last: dict[str, float] = {}
        self._restore: list[tuple[Any, str, Any]] = []

    def _wrap(self, label: str, function: Callable[..., Any]) -> Callable[..., Any]:
        total = self._total

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                total[label] += time.perf_counter() - start

        return timed

    def __enter__(self) -> "StageClock":
        for label, module, name, owner in STAGES:
            holder = import_module(module)
            if owner is not None:
                holder = getattr(holder, owner)
            original = getattr(holder, name)
            self._restore.append((holder, name, original))
            setattr(holder, name, self._wrap(label, original))
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _traceback: TracebackType | None,
    ) -> None:
        for holder, name, original in reversed(self._restore):
            setattr(holder, name, original)
        self._restore.clear()

    def mark(self) -> None:
        """End a batch: what each stage took since the last mark."""
        now = dict(self._total)
        self._batches.append({k: v - self._last.get(k, 0.0) for k, v in now.items()})
        self._last = now

    def table(self) -> list[str]:
        """One line per stage: median ms per batch and share of ingest()."""
        if not self._batches:
            return []
        medians = {
            label: statistics.median(b.get(label, 0.0) for b in self._batches)
            for label, *_ in STAGES
        }
        whole = medians[STAGES[0][0]] or 1.0
        return [
            f"  {label:<44} {ms * 1000:7.1f} ms {100 * ms / whole:5.1f}%"
            for label, ms in medians.items()
        ]
