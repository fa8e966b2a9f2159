"""Linkage encodings made beside the request, in a helper process.

Encoding a customer record (four keyed Bloom filters of about 40 bigrams,
fifteen keyed hashes) costs as much CPU as the rest of its privacy work. A
request starts its batch's encodings in a helper process as soon as the
records are validated, goes on with consent, vault and rows meanwhile, and
collects them just before the insert: on a machine with a spare core the
encodings cost the request next to nothing. With no helper process (workers
= 0), or if one dies, the encodings are made in the request's own thread:
slower, never wrong.
"""

import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import Any

from gateway.crypto.keyring import Key
from gateway.linkage.encoder import LinkageEncoder

Fields = Sequence[Mapping[str, str | None]]
Packed = list[bytes | None]
Pending = Callable[[], Packed]

_ENCODER: LinkageEncoder | None = None


def _exit_with(parent: int) -> None:
    # The helper holds both ends of its queues, so it never sees its parent
    # die (a server killed with SIGKILL): it watches for that itself.
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _start_worker(key: Key, parent: int) -> None:
    global _ENCODER  # noqa: PLW0603 - one encoder per helper process, built once
    _ENCODER = LinkageEncoder(key)
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _encode(records: Fields) -> Packed:
    if _ENCODER is None:  # pragma: no cover - the initializer always ran
        raise RuntimeError("encoding worker not started")
    return _ENCODER.encode_many(records)


class EncodingPool:
    """`LinkageEncoder` work handed to helper processes, started on first use."""

    def __init__(self, key: Key, workers: int) -> None:
        self._key = key
        self._workers = workers
        self._local = LinkageEncoder(key)
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    @property
    def kid(self) -> str:
        """The id of the linkage key the encodings are made under."""
        return self._local.kid

    def _pool(self) -> ProcessPoolExecutor | None:
        if self._workers < 1:
            return None
        with self._lock:
            if self._executor is None:
                # spawn, not fork: the server has threads and open connections
                # that a forked child must not inherit.
                self._executor = ProcessPoolExecutor(
                    max_workers=self._workers,
                    mp_context=get_context("spawn"),
                    initializer=_start_worker,
                    initargs=(self._key, os.getpid()),
                )
            return self._executor

    def start(self, records: Fields) -> Pending:
        """Begin encoding `records`; call the result to wait for the encodings."""
        if not records:
            return list
        pool = self._pool()
        if pool is None:
            return lambda: self._local.encode_many(records)
        try:
            future: Future[Packed] = pool.submit(_encode, list(records))
        except (BrokenProcessPool, RuntimeError):
            self._reset()
            return lambda: self._local.encode_many(records)

        def wait() -> Packed:
            try:
                return future.result()
            except BrokenProcessPool:
                # The helper died (killed, out of memory): encode here, and
                # let the next request start a fresh helper.
                self._reset()
                return self._local.encode_many(records)

        return wait

    def encode_many(self, records: Fields) -> Packed:
        """Encode now, in this thread (CLI commands, backfills)."""
        return self._local.encode_many(records)

    def columns(self, record_id: str, packed: bytes | None) -> dict[str, Any]:
        """A record row's linkage columns: its encodings sealed, and the key id."""
        return self._local.columns(record_id, packed)

    def _reset(self) -> None:
        with self._lock:
            broken, self._executor = self._executor, None
        if broken is not None:
            broken.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        """Stop the helper processes."""
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
